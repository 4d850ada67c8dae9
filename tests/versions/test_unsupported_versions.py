"""Contract section 1: building for an unsupported version, or with a pg_config that cannot
run, stops with a message naming what was found and what is supported, before anything
is built, installed or started.

The scripts a user runs to build (scripts/package.sh) and to serve (scripts/run.sh) are
called with fake pg_config programs: one that reports PostgreSQL 14, one that reports
something else, one that cannot run, one that does not exist; and with AGNO_PG naming a
version the scripts do not know.
"""

import os
import pathlib
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
SUPPORTED = "agno_learnings supports PostgreSQL 15 16 17 18"


def fake_pg_config(directory, body):
    path = directory / "pg_config"
    path.write_text(body)
    path.chmod(0o755)
    return path


def run_script(script, env_extra, args=()):
    env = {k: v for k, v in os.environ.items() if k not in ("AGNO_PG", "AGNO_PG_CONFIG")}
    env.update(env_extra)
    return subprocess.run(["bash", str(REPO / "scripts" / script), *args], env=env, capture_output=True,
                          text=True, timeout=120, cwd=REPO)


@pytest.fixture
def run_dir(tmp_path):
    """A run directory that must stay empty: nothing may be started."""
    path = tmp_path / "run"
    yield path
    assert not (path / "PG_VERSION").exists(), "a cluster was created"


@pytest.mark.parametrize("script", ["package.sh", "run.sh"])
def test_a_pg_config_of_postgresql_14_is_refused_naming_both(tmp_path, run_dir, script):
    config = fake_pg_config(tmp_path, '#!/bin/sh\n[ "$1" = --version ] && echo "PostgreSQL 14.12"\n')
    result = run_script(script, {"AGNO_PG_CONFIG": str(config), "AGNO_RUN_DIR": str(run_dir)})
    assert result.returncode != 0
    assert f'{config} reports "PostgreSQL 14.12", not a supported PostgreSQL: {SUPPORTED}' in result.stderr, \
        result.stderr
    assert "cargo" not in result.stderr, "it went on to build"


def test_a_program_that_is_no_pg_config_is_refused(tmp_path, run_dir):
    config = fake_pg_config(tmp_path, "#!/bin/sh\necho 'true (GNU coreutils) 9.1'\n")
    result = run_script("package.sh", {"AGNO_RUN_DIR": str(run_dir)}, [str(config)])
    assert result.returncode != 0
    assert f'{config} reports "true (GNU coreutils) 9.1", not a supported PostgreSQL: {SUPPORTED}' in result.stderr


def test_a_pg_config_that_cannot_run_is_refused(tmp_path, run_dir):
    config = fake_pg_config(tmp_path, "#!/nonexistent/interpreter\n")
    result = run_script("run.sh", {"AGNO_PG_CONFIG": str(config), "AGNO_RUN_DIR": str(run_dir)})
    assert result.returncode != 0
    assert f"pg_config {config} cannot run:" in result.stderr, result.stderr


def test_a_missing_pg_config_is_refused(tmp_path, run_dir):
    config = tmp_path / "nowhere" / "pg_config"
    result = run_script("package.sh", {"AGNO_RUN_DIR": str(run_dir)}, [str(config)])
    assert result.returncode != 0
    assert f"pg_config not found: {config}" in result.stderr, result.stderr


def test_an_unknown_version_is_refused(run_dir):
    result = run_script("run.sh", {"AGNO_PG": "14", "AGNO_RUN_DIR": str(run_dir)})
    assert result.returncode != 0
    assert "PostgreSQL '14' is not supported: agno_learnings supports 15 16 17 18" in result.stderr, result.stderr


def test_the_package_installer_refuses_a_server_of_another_major(tmp_path):
    """packaging/install.sh checks the server's major before it copies anything."""
    package = tmp_path / "package"
    (package / "lib").mkdir(parents=True)
    (package / "extension").mkdir()
    (package / "lib" / "agno_learnings.so").write_text("not a library")
    (package / "PG_MAJOR").write_text("16\n")
    (package / "VERSION").write_text("0.0.0\n")
    (package / "install.sh").write_text((REPO / "packaging" / "install.sh").read_text())
    libdir, sharedir = tmp_path / "lib", tmp_path / "share"
    (sharedir / "extension").mkdir(parents=True)
    libdir.mkdir()
    config = fake_pg_config(tmp_path, f'#!/bin/sh\ncase "$1" in --version) echo "PostgreSQL 17.11" ;; '
                                      f'--pkglibdir) echo {libdir} ;; --sharedir) echo {sharedir} ;; esac\n')
    result = subprocess.run(["sh", str(package / "install.sh"), str(config)], capture_output=True, text=True)
    assert result.returncode != 0
    assert (f"this package is built for PostgreSQL 16, and {config} is PostgreSQL 17.11: "
            "use the package built for PostgreSQL 17") in result.stderr, result.stderr
    assert list(libdir.iterdir()) == [], "it copied the library"

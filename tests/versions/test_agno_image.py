"""Contract section 1, on AgentOS's own kind of server: PostgreSQL 16 with pgvector
(agno's image is `agnohq/pgvector:16`), here PyPI's pgserver 0.1.4 (PostgreSQL 16.2 with
pgvector), a build that never saw ours: copied fresh for the module, the extension's
binary package (target/package/pg16, built against 16.14) installed into it with the
package's own install.sh, a cluster made with its initdb.

On it, a database as agno's image leaves it: pgvector, a runtime role owning the database
and the schema `ai`, agno's PostgresDb having made and written agno_sessions,
agno_memories and agno_learnings, and a table with a vector column beside them. Then:
CREATE EXTENSION adopts the learnings table and touches nothing else; agno's client and
the SQL API both work; reinstalling the package under load never leaves a new backend
without its library; install.sh refuses another major's server; and PostgreSQL itself
refuses a library built for another major.
"""

import pathlib
import threading
import time
import types

import psycopg
import pytest
from agno.db.base import SessionType
from agno.db.schemas.memory import UserMemory
from agno.session.agent import AgentSession

from agnotest import (RUNTIME_ROLE, agno_db, api, close_agno, create_database, ensure_role, error_text, fingerprint,
                      insert_raw_rows, one, owner_of, policies, registry_rows_for, rls_enabled, run_sql,
                      write_through_agno)
from versiontest import (bindir_of, env_path, event_trigger_rows, fresh_pgserver_copy, md5_of, pg_config, run,
                         servers, table_fingerprint)

AGNO_TABLES = ["ai.agno_sessions", "ai.agno_memories", "ai.agno_schema_versions", "ai.embeddings"]
VECTOR_QUERY = "SELECT id, round((embedding <-> '[1,1,1]')::numeric, 6)::text FROM ai.embeddings ORDER BY 2, 1"


def package():
    return env_path("AGNO_PACKAGE_PG16")


def package_files(directory):
    """{file name: md5} of the extension's files in a library or extension directory."""
    return {p.name: md5_of(p) for p in sorted(directory.glob("*agno_learnings*")) if p.is_file()}


@pytest.fixture(scope="module")
def image():
    with servers("agno-image-") as make:
        config = fresh_pgserver_copy(make.root / "site-packages")
        libdir = pg_config(config, "--pkglibdir")
        sharedir = pg_config(config, "--sharedir")
        found = types.SimpleNamespace(
            config=config, libdir=libdir, sharedir=sharedir, version=pg_config(config, "--version"),
            before=(package_files(pathlib.Path(libdir)), package_files(pathlib.Path(sharedir, "extension"))),
            vector=sorted(p.name for p in pathlib.Path(sharedir, "extension").glob("vector.control")))
        found.install = run(["sh", package() / "install.sh", config])
        found.server = make(bindir_of(config)).initdb().start()
        yield found


def agent_session(i):
    return AgentSession(session_id=f"sess-{i}", agent_id="agent-1", user_id=f"user-{i % 3}",
                        session_data={"turn": i, "text": "ünï😀"}, created_at=1_790_000_000 + i)


def other_tables_state(dbname):
    """agno's other tables as CREATE EXTENSION must leave them."""
    return {
        "rows": {t: table_fingerprint(dbname, t) for t in AGNO_TABLES},
        "owners": {t: owner_of(dbname, t) for t in AGNO_TABLES},
        "security": run_sql(dbname, "SELECT c.oid::regclass::text, c.relrowsecurity, c.relfilenode, "
                                    "(SELECT count(*) FROM pg_policy WHERE polrelid = c.oid), "
                                    "(SELECT count(*) FROM pg_trigger WHERE tgrelid = c.oid) "
                                    "FROM pg_class c WHERE c.oid = ANY(%s::regclass[]) ORDER BY 1", (AGNO_TABLES,)),
        "indexes": run_sql(dbname, "SELECT indexrelid::regclass::text FROM pg_index "
                                   "WHERE indrelid = ANY(%s::regclass[]) ORDER BY 1", (AGNO_TABLES,)),
        "vector": run_sql(dbname, VECTOR_QUERY),
    }


@pytest.fixture(scope="module")
def deployment(image):
    """A database as agno's image leaves it, then CREATE EXTENSION agno_learnings SCHEMA ai."""
    with image.server.targeted():
        ensure_role(RUNTIME_ROLE)
        dbname = create_database("agno", owner=RUNTIME_ROLE)
        run_sql(dbname, "CREATE EXTENSION vector")  # as the image's init script, a superuser
        agno = agno_db(dbname, RUNTIME_ROLE)
        try:
            for i in range(6):
                agno.upsert_session(agent_session(i))
                agno.upsert_user_memory(UserMemory(memory=f"likes tea #{i} ☕", user_id=f"user-{i % 3}",
                                                   topics=["food"], memory_id=f"mem-{i}"))
            ids = write_through_agno(agno, 60)
        finally:
            close_agno(agno)
        insert_raw_rows(dbname, 240, user=RUNTIME_ROLE)
        run_sql(dbname, "CREATE TABLE ai.embeddings (id text PRIMARY KEY, content text, embedding vector(3))",
                user=RUNTIME_ROLE)
        run_sql(dbname, "INSERT INTO ai.embeddings VALUES ('a', 'tea', '[1,2,3]'), ('b', 'coffee', '[0,1,1]'), "
                        "('c', 'water', '[1,1,1]')", user=RUNTIME_ROLE)
        made = {t: one(dbname, "SELECT to_regclass(%s) IS NOT NULL", (t,)) for t in
                ("ai.agno_sessions", "ai.agno_memories", "ai.agno_learnings")}
        assert all(made.values()), f"agno did not create its tables: {made}"
        assert one(dbname, "SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'ai'") == RUNTIME_ROLE
        # agno swallows its write errors: count what it wrote.
        assert [one(dbname, f"SELECT count(*) FROM {t}") for t in
                ("ai.agno_sessions", "ai.agno_memories", "ai.agno_learnings")] == [6, 6, 300]
        assert one(dbname, "SELECT count(*) FROM pg_extension WHERE extname = 'agno_learnings'") == 0

        before = {"learnings": fingerprint(dbname), "owner": owner_of(dbname), "others": other_tables_state(dbname)}
        run_sql(dbname, "CREATE EXTENSION agno_learnings SCHEMA ai")
    return types.SimpleNamespace(server=image.server, dbname=dbname, before=before, agno_ids=ids)


# ---------------------------------------------------------------------------------------

def test_the_package_installs_into_a_postgresql_16_that_never_saw_the_build(image):
    version = (package() / "VERSION").read_text().strip()
    assert image.version == "PostgreSQL 16.2", image.version
    assert image.before == ({}, {}), f"the fresh server already holds the extension: {image.before}"
    assert image.vector == ["vector.control"], "pgserver 0.1.4 ships pgvector"
    assert image.install.returncode == 0, f"install.sh failed:\n{image.install.stderr}"
    assert image.install.stdout == (f"installed agno_learnings {version} for PostgreSQL 16: "
                                    f"{image.libdir}/agno_learnings.so, {image.sharedir}/extension/agno_learnings*\n")
    assert image.libdir.startswith(str(image.server.root)), "the copy's pg_config must name its own directories"
    assert package_files(pathlib.Path(image.libdir)) == package_files(package() / "lib")
    assert package_files(pathlib.Path(image.sharedir, "extension")) == package_files(package() / "extension")
    with image.server.targeted():
        assert one("postgres", "SHOW server_version") == "16.2"
        assert one("postgres", "SELECT default_version FROM pg_available_extensions WHERE name = 'agno_learnings'") \
            == version


def test_create_extension_adopts_agnos_table_and_leaves_everything_else(deployment):
    dbname, before = deployment.dbname, deployment.before
    with deployment.server.targeted():
        assert fingerprint(dbname) == before["learnings"], "CREATE EXTENSION changed agno's learnings"
        assert before["learnings"][0] == 300
        assert owner_of(dbname) == before["owner"] == RUNTIME_ROLE
        assert rls_enabled(dbname) and policies(dbname) == {"r": 1, "a": 1, "w": 1, "d": 1}
        assert len(registry_rows_for(dbname, "ai", "agno_learnings")) == 1
        assert one(dbname, "SELECT extversion FROM pg_extension WHERE extname = 'agno_learnings'") == \
            (package() / "VERSION").read_text().strip()
        assert other_tables_state(dbname) == before["others"], "CREATE EXTENSION touched agno's other tables"
        # pgvector still works, next to the extension.
        assert run_sql(dbname, VECTOR_QUERY) == [("c", "0.000000"), ("b", "1.000000"), ("a", "2.236068")]
        assert one(dbname, "SELECT '[1,2,3]'::vector <-> '[1,2,4]'::vector") == 1.0
        assert {r[0] for r in event_trigger_rows(dbname)} == {"learnings_guard_drop", "learnings_record_owner"}


def test_agnos_client_and_the_sql_api_after_adoption(deployment):
    dbname = deployment.dbname
    with deployment.server.targeted():
        rows = one(dbname, "SELECT count(*) FROM ai.agno_learnings")
        agno = agno_db(dbname, RUNTIME_ROLE)
        try:
            # What agno wrote before the extension, read by agno and by the SQL API.
            profile_id = next(i for i in deployment.agno_ids if i.startswith("user_profile_"))
            user = one(dbname, "SELECT user_id FROM ai.agno_learnings WHERE learning_id = %s", (profile_id,))
            by_agno = agno.get_learning(learning_type="user_profile", user_id=user)
            record = api(dbname, "learnings_get", learning_id=profile_id)
            assert by_agno is not None and by_agno["content"] == record["content"]
            assert record["learning_id"] == profile_id and record["user_id"] == user
            listed = api(dbname, "learnings_list", user_id=user, limit=1000)
            assert profile_id in {r["learning_id"] for r in listed["data"]}
            assert listed["meta"]["total_count"] == one(dbname, "SELECT count(*) FROM ai.agno_learnings "
                                                                "WHERE user_id = %s", (user,))
            records, total = agno.list_learnings(limit=1000)
            assert total == rows == len(records) == api(dbname, "learnings_list", limit=1)["meta"]["total_count"]

            # agno writes (insert and update in place); the API reads.
            agno.upsert_learning(id="user_profile_after-adoption", learning_type="user_profile",
                                 user_id="after-adoption", content={"name": "new"})
            agno.upsert_learning(id=profile_id, learning_type="user_profile", user_id=user, content={"name": "v2"})
            assert api(dbname, "learnings_get", learning_id="user_profile_after-adoption")["content"] == {"name": "new"}
            assert api(dbname, "learnings_get", learning_id=profile_id)["content"] == {"name": "v2"}

            # The API creates; agno reads.
            created = api(dbname, "learnings_create", learning_type="user_memory", user_id="api-user",
                          content={"memories": [{"id": "m1", "content": "from the API"}]})
            assert created["learning_id"] == "memories_api-user"
            assert agno.get_learning(learning_type="user_memory", user_id="api-user")["content"] == created["content"]
            assert agno.list_learnings(limit=1)[1] == rows + 2
            # agno's other stores are untouched by all this.
            assert agno.get_session("sess-1", session_type=SessionType.AGENT).session_data["turn"] == 1
            assert len(agno.get_user_memories(user_id="user-1")) == 2
        finally:
            close_agno(agno)
        assert api(dbname, "learnings_list", limit=1)["meta"]["total_count"] == rows + 2


def test_installing_into_the_running_server_never_leaves_it_without_the_library(image, deployment):
    """install.sh replaces files by rename(2): a backend starting meanwhile (each new
    connection loads the library for its first API call) finds the old file or the new
    one, never none and never half a file; a backend that had it keeps working."""
    server, dbname = deployment.server, deployment.dbname
    learning_id = next(i for i in deployment.agno_ids if i.startswith("memories_"))
    connections, installs = 300, 10
    done, failures, windows = [], [], []
    opened = threading.Event()

    def connect_loop():
        for _ in range(connections):
            start = time.monotonic()
            try:
                with psycopg.connect(server.conninfo(dbname), autocommit=True) as conn:
                    value = conn.execute("SELECT ai.learnings_get(%s)", (learning_id,)).fetchone()[0]
                    assert value["learning_id"] == learning_id, value
                done.append((start, time.monotonic()))
            except Exception as e:  # noqa: BLE001 - counted and reported
                failures.append(f"{type(e).__name__}: {e}")
            opened.set()

    long_lived = psycopg.connect(server.conninfo(dbname), autocommit=True)
    try:
        assert long_lived.execute("SELECT ai.learnings_get(%s)", (learning_id,)).fetchone()[0]
        loop = threading.Thread(target=connect_loop)
        loop.start()
        opened.wait(30)
        results = []
        for k in range(installs):
            # Spread the installs over the loop's connections.
            while loop.is_alive() and len(done) + len(failures) < k * connections // (installs + 1):
                time.sleep(0.005)
            start = time.monotonic()
            results.append(run(["sh", package() / "install.sh", image.config]))
            windows.append((start, time.monotonic()))
        loop.join(300)
        assert not loop.is_alive(), "the connection loop did not finish"
        # The backend that loaded the library before the installs still answers.
        assert long_lived.execute("SELECT ai.learnings_get(%s)", (learning_id,)).fetchone()[0]["learning_id"] \
            == learning_id
    finally:
        long_lived.close()

    during = sum(1 for (s, e) in done if any(s < we and e > ws for ws, we in windows))
    print(f"{len(done)} of {connections} new connections succeeded, {len(failures)} failed; "
          f"{during} of them overlapped one of {installs} installs "
          f"({sum(e - s for s, e in windows):.1f} s of installing)")
    assert [r.returncode for r in results] == [0] * installs, [r.stderr for r in results if r.returncode]
    assert failures == [], failures[:5]
    assert len(done) == connections
    assert during > 0, "no connection ran while an install did: the test proved nothing"
    assert package_files(pathlib.Path(image.libdir)) == package_files(package() / "lib")
    leftovers = [p.name for p in pathlib.Path(image.libdir).glob(".*agno-install*")]
    leftovers += [p.name for p in pathlib.Path(image.sharedir, "extension").glob(".*agno-install*")]
    assert leftovers == [], f"install.sh left temporary files: {leftovers}"


@pytest.mark.parametrize("major", ["18", "15"])
def test_install_refuses_the_pg_config_of_another_major(major):
    config = env_path(f"AGNO_PG{major}_CONFIG")
    libdir = pg_config(config, "--pkglibdir")
    sharedir = pg_config(config, "--sharedir")
    found = pg_config(config, "--version")
    library = f"{libdir}/agno_learnings.so"
    before = (md5_of(library), package_files(pathlib.Path(libdir)), package_files(pathlib.Path(sharedir, "extension")))
    refused = run(["sh", package() / "install.sh", config])
    print(refused.stderr.strip())
    assert refused.returncode != 0
    assert refused.stdout == ""
    message = refused.stderr
    assert "built for PostgreSQL 16" in message and found in message, message
    assert f"use the package built for PostgreSQL {major}" in message, message
    after = (md5_of(library), package_files(pathlib.Path(libdir)), package_files(pathlib.Path(sharedir, "extension")))
    assert after == before, "install.sh changed the other server's files while refusing"
    assert md5_of(library) != md5_of(package() / "lib" / "agno_learnings.so"), \
        f"{library} is the 16 build: the refusal cannot be checked against it"


@pytest.fixture(scope="module")
def server18():
    with servers("agno-load18-") as make:
        yield make(bindir_of(env_path("AGNO_PG18_CONFIG"))).initdb("--no-data-checksums").start()


def test_postgresql_18_refuses_the_library_built_for_16(server18):
    """PostgreSQL's own check (the magic block every module carries): on 18.4,

        LOAD '<repo>/target/package/pg16/lib/agno_learnings.so'

    fails with

        ERROR:  incompatible library "<repo>/target/package/pg16/lib/agno_learnings.so": version mismatch
        DETAIL:  Server is version 18, library is version 16.

    so a package installed into the wrong server by hand (not by install.sh, which
    refuses) fails loudly at CREATE EXTENSION or first use, and loads nothing."""
    library = str(package() / "lib" / "agno_learnings.so")
    with pytest.raises(psycopg.Error) as error:
        with server18.connect() as conn:
            conn.execute(f"LOAD '{library}'")
    print(error_text(error.value))
    assert error.value.diag.message_primary == f'incompatible library "{library}": version mismatch'
    assert error.value.diag.message_detail == "Server is version 18, library is version 16."
    assert error.value.sqlstate == "XX000"
    # The server is fine afterwards, and its own build of the extension loads.
    with server18.connect() as conn:
        assert conn.execute("SHOW server_version_num").fetchone()[0].startswith("18")
        conn.execute("LOAD 'agno_learnings'")


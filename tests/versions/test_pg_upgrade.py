"""Contract section 1: moving to a later PostgreSQL keeps rows, rules, totals and settings.

- 16 -> 18 with pg_upgrade (16.14 and 18.4 of scripts/lib.sh, both with pgvector and the
  extension installed): a cluster with two databases, two registered learnings tables,
  rows written by agno's client (as the runtime role, the owner) and through the SQL API,
  per-database and per-role settings. Everything recorded before is equal after, and
  agno and the API go on writing with exact totals.
- Debian's 15 -> 16 by dump and restore (15's pg_dumpall --roles-only and pg_dump -Fc,
  16's psql and pg_restore): rows, policies, totals, the owner given back to the runtime
  role, agno working right after, no manual step.
- Why not pg_upgrade from Debian's 15: that build writes a column option `pg_attver` that
  16 refuses.
"""

import json
import os
import shlex

import psycopg
import pytest

from agnotest import (RUNTIME_ROLE, agno_url, api, close_agno, connect, create_database, ensure_role, error_text,
                      fingerprint, insert_raw_rows, make_deployment, one, owner_of, registry, run_sql,
                      write_through_agno)
from versiontest import (as_pg_user_in, bindir_of, env_path, event_trigger_rows, kept_totals,
                         policy_rows, run, scoped_list, servers, totals_are_exact, trigger_rows)

TENANT = "tenant.learnings"
DEFAULT = "ai.agno_learnings"
VECTOR_QUERY = "SELECT id, round((embedding <-> '[1,1,1]')::numeric, 6)::text FROM ai.embeddings ORDER BY 2, 1"


def agno_store(dbname, schema="ai", table=None):
    """agno's PostgresDb as the runtime role, on the cluster agnotest's helpers point at."""
    from agno.db.postgres import PostgresDb

    return PostgresDb(db_url=agno_url(dbname, RUNTIME_ROLE), db_schema=schema, learnings_table=table)


def with_agno(dbname, work, **where):
    agno = agno_store(dbname, **where)
    try:
        return work(agno)
    finally:
        close_agno(agno)


def reads(tenant_name):
    """SQL API calls whose answers must not change across the upgrade."""
    other = f"db_id => current_database(), \"table\" => '{tenant_name}'"
    return [
        "SELECT ai.learnings_list()",
        "SELECT ai.learnings_list(user_id => 'alice', sort_order => 'asc')",
        "SELECT ai.learnings_list(learning_type => 'user_profile', sort_by => 'created_at', \"limit\" => 7, page => 2)",
        "SELECT ai.learnings_list(namespace => 'global', \"limit\" => 1000)",
        "SELECT ai.learnings_list(\"limit\" => 50, page => 3, sort_order => 'asc')",
        "SELECT ai.learnings_list(agent_id => 'agent-x', \"limit\" => 5, page => 2)",
        "SELECT ai.learnings_get('user_profile_alice')",
        "SELECT ai.learnings_list_users()",
        "SELECT ai.learnings_list_users(sort_by => 'user_id', sort_order => 'asc', \"limit\" => 5, page => 2)",
        "SELECT ai.learnings_list_users(learning_type => 'user_profile', \"limit\" => 1000)",
        f"SELECT ai.learnings_list({other}, \"limit\" => 1000)",
        f"SELECT ai.learnings_list({other}, user_id => 'bob', sort_by => 'created_at')",
        f"SELECT ai.learnings_list({other}, learning_type => 'decision_log', \"limit\" => 3, page => 2)",
        f"SELECT ai.learnings_list_users({other})",
        f"SELECT ai.learnings_get('user_profile_tenant-alice', {other})",
    ]


def db_settings(dbname):
    return run_sql(dbname, """
        SELECT coalesce(s.setrole::regrole::text, '(all roles)'), s.setconfig
          FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
         WHERE d.datname = current_database() ORDER BY 1""")


def oversized_create(dbname):
    """A create of 6 kB of content, rolled back: PT422 where the role's
    agno_learnings.max_document_bytes in this database is below it, else "accepted"."""
    with connect(dbname, autocommit=False) as conn:
        try:
            conn.execute("SELECT ai.learnings_create(learning_type => 'decision_log', content => %s::jsonb)",
                         (json.dumps({"big": "x" * 6000}),))
            return "accepted"
        except psycopg.Error as e:
            return e.sqlstate
        finally:
            conn.rollback()


def state(dbname, tenant_name, scoped):
    tables = [DEFAULT, TENANT]
    return {
        "rows": {t: fingerprint(dbname, t) for t in tables},
        "owners": {t: owner_of(dbname, t) for t in tables},
        "security": run_sql(dbname, "SELECT oid::regclass::text, relrowsecurity, relforcerowsecurity "
                                    "FROM pg_class WHERE oid = ANY(%s::regclass[]) ORDER BY 1", (tables,)),
        # Grants, without MAINTAIN: PostgreSQL 17 added it to what an owner holds.
        "grants": run_sql(dbname, "SELECT c.oid::regclass::text, a.grantor::regrole::text, a.grantee::regrole::text, "
                                  "a.privilege_type, a.is_grantable FROM pg_class c, aclexplode(c.relacl) a "
                                  "WHERE c.oid = ANY(%s::regclass[]) AND a.privilege_type <> 'MAINTAIN' "
                                  "ORDER BY 1, 2, 3, 4", (tables,)),
        "policies": policy_rows(dbname, tables),
        "triggers": trigger_rows(dbname, tables),
        "event triggers": event_trigger_rows(dbname),
        "indexes": run_sql(dbname, "SELECT schemaname, tablename, indexname, indexdef FROM pg_indexes "
                                   "WHERE schemaname IN ('ai', 'tenant') ORDER BY 1, 2, 3"),
        "totals": kept_totals(dbname),
        "registry": sorted(map(str, registry(dbname))),
        "settings": db_settings(dbname),
        "extension": one(dbname, "SELECT extversion FROM pg_extension WHERE extname = 'agno_learnings'"),
        "table owner record": one(dbname, "SELECT owner::text FROM agno_learnings_internal.learnings_table_owner"),
        "answers": [one(dbname, s) for s in reads(tenant_name)],
        "scoped": {name: scoped_list(dbname, user, scopes, limit=3)
                   for name, (user, scopes) in scoped.items()},
        "oversized": oversized_create(dbname),
        "vector": run_sql(dbname, VECTOR_QUERY),
    }


def populate(dbname):
    """agno's deployment (agno makes its table, the extension adopts it), a second
    registered table, rows from agno and from the API. Returns the tenant table's name."""
    run_sql(dbname, "CREATE EXTENSION vector")
    with_agno(dbname, lambda agno: write_through_agno(agno, 60))
    insert_raw_rows(dbname, 300, user=RUNTIME_ROLE)
    run_sql(dbname, "CREATE TABLE ai.embeddings (id text PRIMARY KEY, embedding vector(3))", user=RUNTIME_ROLE)
    run_sql(dbname, "INSERT INTO ai.embeddings VALUES ('a', '[1,2,3]'), ('b', '[0,1,1]')", user=RUNTIME_ROLE)
    run_sql(dbname, "CREATE EXTENSION agno_learnings SCHEMA ai")

    run_sql(dbname, f"CREATE SCHEMA tenant AUTHORIZATION {RUNTIME_ROLE}")
    run_sql(dbname, f"CREATE TABLE {TENANT} (LIKE {DEFAULT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)",
            user=RUNTIME_ROLE)
    run_sql(dbname, f"ALTER TABLE {TENANT} ADD PRIMARY KEY (learning_id)", user=RUNTIME_ROLE)
    run_sql(dbname, f"INSERT INTO {TENANT} SELECT * FROM {DEFAULT} WHERE learning_type = 'decision_log'",
            user=RUNTIME_ROLE)
    tenant_name = one(dbname, f"SELECT ai.learnings_register_table('{TENANT}')")
    with_agno(dbname, lambda agno: write_through_agno(agno, 30, prefix="tenant"), schema="tenant", table="learnings")
    run_sql(dbname, "DO $$ BEGIN CREATE ROLE learnings_reader NOLOGIN; EXCEPTION WHEN duplicate_object THEN END $$")
    run_sql(dbname, "GRANT USAGE ON SCHEMA tenant TO learnings_reader")
    run_sql(dbname, f"GRANT SELECT ON {TENANT} TO learnings_reader")

    # Through the SQL API: creates, an update, a delete, a user's deletion, on both tables.
    other = {"db_id": dbname, "table": tenant_name}
    for extra in ({}, other):
        prefix = "tenant-" if extra else ""
        for user in ("alice", "bob", "carol", "ünï😀"):
            api(dbname, "learnings_create", learning_type="user_profile", user_id=prefix + user,
                content={"name": user}, **extra)
            api(dbname, "learnings_create", learning_type="decision_log", user_id=user,
                content={"decision": f"{user} picked tea"}, **extra)
        api(dbname, "learnings_create", learning_type="entity_memory", entity_id="acme", entity_type="company",
            content={"name": "Acme"}, metadata={"k": "v"}, **extra)
        api(dbname, "learnings_update", learning_id=f"user_profile_{prefix}alice",
            changes={"content": {"name": "Alice A."}}, **extra)
        api(dbname, "learnings_delete", learning_id=f"user_profile_{prefix}carol", **extra)
        api(dbname, "learnings_delete_user", user_id="carol", **extra)
    api(dbname, "learnings_create", learning_type="user_memory", user_id="alice", content={"memories": []})
    return tenant_name


def exact_totals(dbname, tenant_name):
    """Every list total the API reports against count(*), on both tables."""
    wrong = []
    for table, extra in ((DEFAULT, {}), (TENANT, {"db_id": dbname, "table": tenant_name})):
        for user in (None, "alice", "bob", "tenant-alice", "nobody"):
            for learning_type in (None, "user_profile", "decision_log"):
                listed = api(dbname, "learnings_list", user_id=user, learning_type=learning_type, limit=1, **extra)
                counted = one(dbname, f"SELECT count(*) FROM {table} WHERE (%(u)s::text IS NULL OR user_id = %(u)s) "
                                      "AND (%(t)s::text IS NULL OR learning_type = %(t)s)",
                              {"u": user, "t": learning_type})
                if listed["meta"]["total_count"] != counted:
                    wrong.append((table, user, learning_type, listed["meta"]["total_count"], counted))
    return wrong


def pg_upgrade_commands(output):
    """The commands pg_upgrade's closing text says to run on the new server (vacuumdb
    with its options): its indented lines naming vacuumdb."""
    return [shlex.split(line.strip()) for line in output.splitlines()
            if line.startswith(" ") and "vacuumdb" in line]


# ---------------------------------------------------------------------------------------

def test_pg_upgrade_16_to_18_keeps_rows_rules_totals_and_settings():
    bin16 = bindir_of(env_path("AGNO_PG16_CONFIG"))
    bin18 = bindir_of(env_path("AGNO_PG18_CONFIG"))
    with servers("agno-upgrade-") as make:
        old = make(bin16, "data16").initdb().start()
        with old.targeted():
            ensure_role(RUNTIME_ROLE)
            main = create_database("agno_main", owner=RUNTIME_ROLE)
            second = create_database("agno_second", owner=RUNTIME_ROLE)
            names = {main: populate(main), second: populate(second)}
            # Per-database settings: isolation off in one, another admin scope in both, a
            # smaller document cap for one role in one.
            run_sql("postgres", f"ALTER DATABASE {main} SET agno_learnings.user_isolation = off")
            run_sql("postgres", f"ALTER DATABASE {main} SET agno_learnings.admin_scope = 'ops:admin'")
            run_sql("postgres", f"ALTER DATABASE {second} SET agno_learnings.admin_scope = 'ops:admin'")
            run_sql("postgres", f"ALTER ROLE postgres IN DATABASE {main} SET agno_learnings.max_document_bytes = 4096")
            scoped = {"alice reads": ("alice", "learnings:read"), "alice admin": ("alice", "ops:admin")}
            before = {db: state(db, names[db], scoped) for db in names}
            old_version = one("postgres", "SHOW server_version")

        # The settings are in force (else comparing them proves little): isolation off in
        # main (a scoped caller sees every row), on in second, the admin scope, the cap.
        for db in names:
            all_rows = before[db]["rows"][DEFAULT][0]
            assert before[db]["scoped"]["alice admin"]["meta"]["total_count"] == all_rows
        assert before[main]["scoped"]["alice reads"]["meta"]["total_count"] == before[main]["rows"][DEFAULT][0]
        with old.targeted():
            assert before[second]["scoped"]["alice reads"]["meta"]["total_count"] == \
                one(second, f"SELECT count(*) FROM {DEFAULT} WHERE user_id = 'alice' OR user_id IS NULL") \
                < before[second]["rows"][DEFAULT][0]
        assert before[main]["oversized"] == "PT422" and before[second]["oversized"] == "accepted"
        for db in names:
            assert before[db]["totals"][1] == sorted([DEFAULT, TENANT]), before[db]["totals"]
            assert len(before[db]["policies"]) == 8 and before[db]["rows"][TENANT][0] > 30
            assert before[db]["totals"][0] and all(answer is not None for answer in before[db]["answers"])
            print(f"{db}: rows {before[db]['rows']}, {len(before[db]['totals'][0])} kept totals, "
                  f"settings {before[db]['settings']}")
        old.stop()

        new = make(bin18, "data18").initdb("--no-data-checksums")
        work = make.root / "upgrade"
        assert as_pg_user_in(make.root, ["mkdir", work]).returncode == 0
        upgrade = [new.tool("pg_upgrade"), "-b", bin16, "-B", bin18, "-d", old.data, "-D", new.data,
                   "-p", old.port, "-P", new.port, "-U", "postgres", "--no-sync"]
        check = as_pg_user_in(work, upgrade + ["--check"])
        print(check.stdout)
        assert check.returncode == 0, f"pg_upgrade --check failed:\n{check.stdout}\n{check.stderr}"
        assert "*Clusters are compatible*" in check.stdout
        done = as_pg_user_in(work, upgrade)
        print(done.stdout)
        assert done.returncode == 0, f"pg_upgrade failed:\n{done.stdout}\n{done.stderr}"
        assert "Upgrade Complete" in done.stdout

        new.start()
        # What pg_upgrade says to run: extension updates (if any) and vacuumdb.
        extensions_script = work / "update_extensions.sql"
        if as_pg_user_in(work, ["test", "-f", extensions_script]).returncode == 0:
            script = as_pg_user_in(work, ["cat", extensions_script]).stdout
            print(script)
            assert "agno_learnings" not in script, "pg_upgrade wants agno_learnings updated: same version on both"
            updated = run([new.tool("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", *new.client_args(), "-d",
                           "postgres", "-f", "-"], input=script)
            assert updated.returncode == 0, updated.stderr
        commands = pg_upgrade_commands(done.stdout)
        assert commands, f"pg_upgrade named no vacuumdb to run:\n{done.stdout}"
        for command in commands:
            analyzed = run([*command, *new.client_args()])
            assert analyzed.returncode == 0, f"{command}: {analyzed.stderr}"

        with new.targeted():
            assert one("postgres", "SHOW server_version") == "18.4" and old_version == "16.14"
            after = {db: state(db, names[db], scoped) for db in names}
            for db in names:
                for key in before[db]:
                    assert after[db][key] == before[db][key], f"{db}: {key} changed across pg_upgrade"

            # agno's runtime and the SQL API write on, with exact totals.
            for db in names:
                rows = one(db, f"SELECT count(*) FROM {DEFAULT}")

                def agno_round(agno, rows=rows):
                    assert agno.get_learning(learning_type="user_profile", user_id="alice")["content"] == \
                        {"name": "Alice A."}
                    assert agno.list_learnings(limit=1)[1] == rows
                    agno.upsert_learning(id="user_profile_upgraded", learning_type="user_profile",
                                         user_id="upgraded", content={"on": "18"})
                    agno.upsert_learning(id="user_profile_alice", learning_type="user_profile", user_id="alice",
                                         content={"name": "Alice on 18"})

                with_agno(db, agno_round)
                with_agno(db, lambda agno: agno.upsert_learning(
                    id="user_profile_tenant-upgraded", learning_type="user_profile", user_id="tenant-upgraded",
                    content={"on": "18"}), schema="tenant", table="learnings")
                assert api(db, "learnings_get", learning_id="user_profile_alice")["content"] == {"name": "Alice on 18"}
                created = api(db, "learnings_create", learning_type="user_profile", user_id="after-upgrade",
                              content={"a": 1})
                assert created["learning_id"] == "user_profile_after-upgrade"
                api(db, "learnings_create", learning_type="decision_log", user_id="bob", content={"t": 1},
                    db_id=db, table=names[db])
                api(db, "learnings_delete", learning_id="user_profile_tenant-bob", db_id=db, table=names[db])
                with pytest.raises(psycopg.Error) as conflict:
                    api(db, "learnings_create", learning_type="user_profile", user_id="upgraded", content={})
                assert conflict.value.sqlstate == "23505", error_text(conflict.value)
                assert one(db, f"SELECT count(*) FROM {DEFAULT}") == rows + 2
                assert exact_totals(db, names[db]) == []
                exact, detail = totals_are_exact(db, [DEFAULT, TENANT])
                assert exact, detail
                assert run_sql(db, VECTOR_QUERY) == [("b", "1.000000"), ("a", "2.236068")]


def test_debian_15_to_16_by_dump_and_restore(databases, runtime_role):
    """The way from Debian's 15 (see the next test for why not pg_upgrade): roles first
    (15's pg_dumpall --roles-only, into 16 with psql), then 15's pg_dump -Fc restored by
    16's pg_restore into a new database. No step after pg_restore: agno's runtime reads
    and writes at once."""
    bin15 = bindir_of(env_path("AGNO_PG15_CONFIG"))
    bin16 = bindir_of(env_path("AGNO_PG16_CONFIG"))
    source = make_deployment(databases, "agno", rows=500)
    run_sql(source, "CREATE EXTENSION agno_learnings SCHEMA ai")
    for user in ("alice", "bob"):
        api(source, "learnings_create", learning_type="user_profile", user_id=user, content={"u": user})
        api(source, "learnings_create", learning_type="decision_log", user_id=user, content={"d": user})
    with_agno(source, lambda agno: write_through_agno(agno, 24, prefix="after"))
    tables = [DEFAULT]
    before = {
        "rows": fingerprint(source),
        "policies": policy_rows(source, tables),
        "triggers": trigger_rows(source, tables),
        "extension": one(source, "SELECT extversion FROM pg_extension WHERE extname = 'agno_learnings'"),
        "answers": [one(source, s) for s in reads("agno_learnings")[:10]],
    }
    assert owner_of(source) == RUNTIME_ROLE
    conn15 = ["-h", os.environ["PGHOST"], "-p", os.environ["PGPORT"], "-U", "postgres"]

    with servers("agno-dump16-") as make:
        roles, dump = make.root / "roles.sql", make.root / "agno.dump"
        done = run([bin15 / "pg_dumpall", *conn15, "--roles-only", "-f", roles])
        assert done.returncode == 0, done.stderr
        done = run([bin15 / "pg_dump", *conn15, "-Fc", "-f", dump, source])
        assert done.returncode == 0, done.stderr

        new = make(bin16).initdb().start()
        restored_roles = run([new.tool("psql"), "-X", "-q", *new.client_args(), "-d", "postgres", "-f", roles])
        # The one error: the bootstrap superuser, which every cluster has.
        errors = [line for line in restored_roles.stderr.splitlines() if "ERROR" in line]
        assert len(errors) <= 1 and all('role "postgres" already exists' in e for e in errors), \
            restored_roles.stderr
        with new.targeted():
            target = create_database("agno_restored", owner=RUNTIME_ROLE)
            restore = run([new.tool("pg_restore"), *new.client_args(), "-d", target, dump])
            assert restore.returncode == 0 and "error" not in restore.stderr.lower(), restore.stderr

            assert one("postgres", "SHOW server_version") == "16.14"
            assert one("postgres", "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = %s",
                       (RUNTIME_ROLE,)) is False
            assert fingerprint(target) == before["rows"]
            assert owner_of(target) == RUNTIME_ROLE
            assert policy_rows(target, tables) == before["policies"]
            assert trigger_rows(target, tables) == before["triggers"]
            assert one(target, "SELECT extversion FROM pg_extension WHERE extname = 'agno_learnings'") == \
                before["extension"]
            assert [one(target, s) for s in reads("agno_learnings")[:10]] == before["answers"]
            # Totals: kept from CREATE EXTENSION on, so the restore's rows are counted.
            exact, detail = totals_are_exact(target, tables)
            assert exact, detail
            # 15's pg_dump left out its pg_attver column options (16 would refuse them).
            assert one(target, "SELECT count(*) FROM pg_attribute "
                               "WHERE array_to_string(attoptions, ',') LIKE '%%pg_attver%%'") == 0

            rows = before["rows"][0]

            def agno_round(agno):
                records, total = agno.list_learnings(limit=rows + 10)
                assert total == rows and len(records) == rows
                assert agno.get_learning(learning_type="user_profile", user_id="alice")["content"] == \
                    {"u": "alice"}
                agno.upsert_learning(id="user_profile_on-16", learning_type="user_profile", user_id="on-16",
                                     content={"r": 16})

            with_agno(target, agno_round)
            assert api(target, "learnings_get", learning_id="user_profile_on-16")["content"] == {"r": 16}
            created = api(target, "learnings_create", learning_type="user_memory", user_id="on-16",
                          content={"memories": []})
            assert with_agno(target, lambda agno: agno.get_learning(learning_type="user_memory", user_id="on-16")) \
                == {"content": created["content"]}
            exact, detail = totals_are_exact(target, tables)
            assert exact, detail
            assert api(target, "learnings_list", limit=1)["meta"]["total_count"] == rows + 2


def test_pg_upgrade_from_debian_15_fails_on_its_pg_attver_column_option():
    """Debian 12's PostgreSQL 15.20 writes a column option `pg_attver` on every column
    (SELECT attoptions FROM pg_attribute); 16 does not know it, so pg_upgrade's restore of
    the schema fails for the first table, even a one-column table of nothing else:

        pg_restore: error: could not execute query: ERROR:  unrecognized parameter "pg_attver"

    in pg_upgrade_output.d/*/log/pg_upgrade_dump_<db oid>.log ("Restoring database schemas in
    the new cluster ... *failure*"). `pg_upgrade --check` passes (it restores nothing). The
    path from that 15 is dump and restore, with 15's pg_dump (which leaves the option out)."""
    bin15 = bindir_of(env_path("AGNO_PG15_CONFIG"))
    bin16 = bindir_of(env_path("AGNO_PG16_CONFIG"))
    with servers("agno-attver-") as make:
        old = make(bin15, "data15").initdb().start()
        with old.connect() as conn:
            conn.execute("CREATE TABLE plain (a int)")
            conn.execute("INSERT INTO plain VALUES (1)")
            options = conn.execute("SELECT attoptions::text FROM pg_attribute "
                                   "WHERE attrelid = 'plain'::regclass AND attnum = 1").fetchone()[0]
        if not options or "pg_attver" not in options:
            pytest.skip(f"this PostgreSQL 15 writes no pg_attver column option (attoptions: {options}): "
                        "pg_upgrade may well work from it")
        old.stop()
        new = make(bin16, "data16").initdb()
        work = make.root / "upgrade"
        assert as_pg_user_in(make.root, ["mkdir", work]).returncode == 0
        upgrade = [new.tool("pg_upgrade"), "-b", bin15, "-B", bin16, "-d", old.data, "-D", new.data,
                   "-p", old.port, "-P", new.port, "-U", "postgres", "--no-sync"]
        check = as_pg_user_in(work, upgrade + ["--check"])
        attempt = check if check.returncode != 0 else as_pg_user_in(work, upgrade)
        logs = as_pg_user_in(new.data, ["sh", "-c", "cat pg_upgrade_output.d/*/log/*.log 2>/dev/null || true"]).stdout
        print(f"--check: exit {check.returncode}; run: exit {attempt.returncode}\n{attempt.stdout[-600:]}")
        assert attempt.returncode != 0, "pg_upgrade from this 15 worked: this test and README need updating"
        assert 'unrecognized parameter "pg_attver"' in attempt.stdout + attempt.stderr + logs, \
            f"pg_upgrade failed for another reason:\n{attempt.stdout}\n{attempt.stderr}\n{logs[-3000:]}"
        print(next((line for line in logs.splitlines() if "pg_attver" in line), ""))

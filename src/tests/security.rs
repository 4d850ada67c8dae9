//! Contract section 5: who may do what, through the functions and through plain SQL on
//! the table, as a role that is neither the table's owner nor a superuser.

#[pgrx::pg_schema]
mod tests {
    use crate::tests::support::*;
    use pgrx::prelude::*;

    const ALICE: &str =
        r#"{"sub": "alice", "scopes": "learnings:read learnings:write learnings:delete"}"#;
    const ADMIN: &str = r#"{"sub": "root", "scopes": ["agent_os:admin"]}"#;
    const ANON: &str = r#"{"role": "web_anon"}"#;

    /// alice's and bob's profiles and a shared (ownerless) entity record.
    fn seed() {
        insert_row("p_alice", "user_profile", Some("alice"), 1, Some(1));
        insert_row("p_bob", "user_profile", Some("bob"), 2, Some(2));
        insert_row("shared", "entity_memory", None, 3, Some(3));
        client_role("app");
    }

    fn listed(sql: &str) -> Vec<String> {
        ids(&json(sql))
    }

    #[pg_test]
    fn scoped_user_through_the_functions() {
        seed();
        as_role("app", Some(ALICE), || {
            // list: bound to the caller, with shared rows; another user → 403
            assert_eq!(listed("SELECT learnings_list()"), ["shared", "p_alice"]);
            assert_eq!(
                listed("SELECT learnings_list(user_id => 'alice')"),
                ["shared", "p_alice"]
            );
            assert_fails("SELECT learnings_list(user_id => 'bob')", "42501");
            // list users: bound to the caller
            let users = json("SELECT learnings_list_users()");
            assert_eq!(users["data"].as_array().unwrap().len(), 1);
            assert_eq!(users["data"][0]["user_id"], "alice");
            assert_fails("SELECT learnings_list_users(user_id => 'bob')", "42501");
            // get: another user's row is not found; shared rows are readable
            json("SELECT learnings_get('p_alice')");
            json("SELECT learnings_get('shared')");
            assert_fails("SELECT learnings_get('p_bob')", "PT404");
            // update / delete: another user's → 404, shared → 403
            assert_fails(
                "SELECT learnings_update('p_bob', '{\"content\": {\"x\": 1}}')",
                "PT404",
            );
            assert_fails(
                "SELECT learnings_update('shared', '{\"content\": {\"x\": 1}}')",
                "42501",
            );
            assert_fails("SELECT learnings_delete('p_bob')", "PT404");
            assert_fails("SELECT learnings_delete('shared')", "42501");
            let updated = json("SELECT learnings_update('p_alice', '{\"content\": {\"x\": 1}}')");
            assert_eq!(updated["content"]["x"], 1);
            // create: pinned to the caller; another user → 403
            let created =
                json("SELECT learnings_create(learning_type => 'decision_log', content => '{}')");
            assert_eq!(created["user_id"], "alice");
            assert_fails(
                "SELECT learnings_create(learning_type => 'decision_log', user_id => 'bob', content => '{}')",
                "42501",
            );
            // delete user: only the caller's own
            assert_fails("SELECT learnings_delete_user('bob')", "42501");
        });
        // Nothing of bob's or the shared row changed.
        assert_eq!(
            int("SELECT count(*) FROM agno_learnings WHERE learning_id IN ('p_bob', 'shared') AND content = '{}'"),
            2
        );
        as_role("app", Some(ALICE), || {
            run("SELECT learnings_delete('p_alice')");
            run("SELECT learnings_delete_user('alice')");
        });
        assert_eq!(visible_ids(), ["p_bob", "shared"]);
    }

    #[pg_test]
    fn scoped_create_conflicts_never_confirm_hidden_rows() {
        seed();
        run("INSERT INTO agno_learnings (learning_id, learning_type, namespace, user_id, entity_id, entity_type, content, created_at) \
             VALUES ('entity_global_person_carol', 'entity_memory', 'global', 'bob', 'carol', 'person', '{}', 1), \
                    ('entity_global_person_dave', 'entity_memory', 'global', NULL, 'dave', 'person', '{}', 1)");
        as_role("app", Some(ALICE), || {
            // bob's record of the same identity is hidden: 404, not 409
            assert_fails(
                "SELECT learnings_create(learning_type => 'entity_memory', entity_id => 'carol', \
                 entity_type => 'person', content => '{}')",
                "PT404",
            );
            // a shared record is visible: 409
            assert_fails(
                "SELECT learnings_create(learning_type => 'entity_memory', entity_id => 'dave', \
                 entity_type => 'person', content => '{}')",
                "23505",
            );
            // the caller's own record: 409
            run("SELECT learnings_create(learning_type => 'user_profile', content => '{}')");
            assert_fails(
                "SELECT learnings_create(learning_type => 'user_profile', content => '{}')",
                "23505",
            );
        });
        assert_eq!(int("SELECT count(*) FROM agno_learnings"), 6);
    }

    #[pg_test]
    fn admin_and_unscoped_callers_see_and_change_everything() {
        seed();
        as_role("app", Some(ADMIN), || {
            assert_eq!(
                listed("SELECT learnings_list()"),
                ["shared", "p_bob", "p_alice"]
            );
            assert_eq!(listed("SELECT learnings_list(user_id => 'bob')"), ["p_bob"]);
            json("SELECT learnings_get('p_bob')");
            json("SELECT learnings_update('shared', '{\"content\": {\"by\": \"admin\"}}')");
            assert_eq!(visible_ids(), ["p_alice", "p_bob", "shared"]);
            run("UPDATE agno_learnings SET metadata = '{\"seen\": true}'");
            json("SELECT learnings_create(learning_type => 'decision_log', user_id => 'bob', content => '{}')");
            run("SELECT learnings_delete('shared')");
        });
        assert_eq!(
            int("SELECT count(*) FROM agno_learnings WHERE metadata IS NOT NULL"),
            2
        );

        // User isolation off: an authenticated user is unscoped, scopes still apply.
        run("SET LOCAL agno_learnings.user_isolation = off");
        as_role("app", Some(ALICE), || {
            assert_eq!(listed("SELECT learnings_list()").len(), 3);
            run("SELECT learnings_delete('p_bob')");
        });
        as_role("app", Some(r#"{"sub": "alice", "scopes": []}"#), || {
            assert_fails("SELECT learnings_list()", "42501");
            assert_eq!(visible_ids(), Vec::<String>::new());
        });
        run("RESET agno_learnings.user_isolation");

        // A direct connection without claims must present a token…
        as_role("app", None, || {
            assert_eq!(visible_ids(), Vec::<String>::new());
            assert_fails("SELECT learnings_list()", "PT401");
        });
        // …unless an administrator marks its role a trusted backend (members included).
        run("SET LOCAL agno_learnings.trusted_roles = 'nobody_here, app'");
        as_role("app", None, || {
            assert_eq!(visible_ids().len(), 2);
            assert_eq!(listed("SELECT learnings_list()").len(), 2);
        });
        run("SET LOCAL agno_learnings.require_token = off");
        run("RESET agno_learnings.trusted_roles");
        as_role("app", None, || assert_eq!(visible_ids().len(), 2));
    }

    #[pg_test]
    fn scoped_user_through_plain_sql() {
        seed();
        as_role("app", Some(ALICE), || {
            assert_eq!(visible_ids(), ["p_alice", "shared"]);
            // Inserts only rows it owns.
            run("INSERT INTO agno_learnings (learning_id, learning_type, user_id, content, created_at) \
                 VALUES ('00000000-0000-4000-8000-000000000001', 'decision_log', 'alice', '{}', 1)");
            for owner in ["'bob'", "NULL"] {
                assert_fails(
                    &format!(
                        "INSERT INTO agno_learnings (learning_id, learning_type, user_id, content, created_at) \
                         VALUES ('x', 'decision_log', {owner}, '{{}}', 1)"
                    ),
                    "42501",
                );
            }
            // Updates and deletes only its own rows; others are simply not matched.
            assert_eq!(int("WITH u AS (UPDATE agno_learnings SET content = '{\"n\": 1}' RETURNING 1) SELECT count(*) FROM u"), 2);
            // Cannot give its row away.
            assert_fails(
                "UPDATE agno_learnings SET user_id = 'bob' \
                 WHERE learning_id = '00000000-0000-4000-8000-000000000001'",
                "PT422",
            );
            assert_eq!(
                int("WITH d AS (DELETE FROM agno_learnings RETURNING 1) SELECT count(*) FROM d"),
                2
            );
            assert_eq!(visible_ids(), ["shared"]);
        });
        assert_eq!(visible_ids(), ["p_bob", "shared"]);
        assert_eq!(
            int("SELECT count(*) FROM agno_learnings WHERE content <> '{}'"),
            0
        );
    }

    #[pg_test]
    fn scopes_gate_each_command() {
        seed();
        let read_only = r#"{"sub": "alice", "scopes": "learnings:read"}"#;
        let write_only = r#"{"sub": "alice", "scopes": ["learnings:*:write"]}"#;
        as_role("app", Some(read_only), || {
            assert_eq!(listed("SELECT learnings_list()").len(), 2);
            assert_fails(
                "SELECT learnings_create(learning_type => 'decision_log', content => '{}')",
                "42501",
            );
            assert_fails("SELECT learnings_update('p_alice', '{}')", "42501");
            assert_fails("SELECT learnings_delete('p_alice')", "42501");
            assert_fails("SELECT learnings_delete_user('alice')", "42501");
            assert_eq!(
                int("WITH d AS (DELETE FROM agno_learnings RETURNING 1) SELECT count(*) FROM d"),
                0
            );
            assert_fails(
                "INSERT INTO agno_learnings (learning_id, learning_type, user_id, content, created_at) \
                 VALUES ('x', 'decision_log', 'alice', '{}', 1)",
                "42501",
            );
        });
        as_role("app", Some(write_only), || {
            // The API's own writes work with the write scope alone, as in AgentOS…
            let created =
                json("SELECT learnings_create(learning_type => 'user_memory', content => '{}')");
            assert_eq!(created["learning_id"], "memories_alice");
            json("SELECT learnings_update('memories_alice', '{\"content\": {\"m\": 1}}')");
            // …but reading needs the read scope, through the API and plain SQL alike.
            assert_fails("SELECT learnings_list()", "42501");
            assert_fails("SELECT learnings_get('memories_alice')", "42501");
            assert_eq!(visible_ids(), Vec::<String>::new());
            assert_fails("SELECT learnings_delete('memories_alice')", "42501");
        });
        run("SET LOCAL agno_learnings.enforce_scopes = off");
        as_role("app", Some(r#"{"sub": "alice"}"#), || {
            assert_eq!(visible_ids(), ["memories_alice", "p_alice", "shared"]);
            run("SELECT learnings_delete('memories_alice')");
        });
    }

    #[pg_test]
    fn refused_callers_get_nothing() {
        seed();
        // An anonymous PostgREST request: 401, and no rows, whatever the settings.
        run("SET LOCAL agno_learnings.user_isolation = off");
        run("SET LOCAL agno_learnings.enforce_scopes = off");
        as_role("app", Some(ANON), || {
            assert_fails("SELECT learnings_list()", "PT401");
            assert_fails("SELECT learnings_get('shared')", "PT401");
            assert_eq!(visible_ids(), Vec::<String>::new());
        });
        run("RESET agno_learnings.user_isolation");
        run("RESET agno_learnings.enforce_scopes");
        // Authenticated without a user identity: 403 (agno 3.1.10's wording).
        as_role("app", Some(r#"{"scopes": "learnings:read"}"#), || {
            assert_fails("SELECT learnings_list()", "42501");
            assert_eq!(visible_ids(), Vec::<String>::new());
        });
        // A subject PostgreSQL text cannot hold (a verified token may carry "\u0000"): 401.
        as_role(
            "app",
            Some(r#"{"sub": "a\u0000b", "scopes": "learnings:read"}"#),
            || {
                assert_fails("SELECT learnings_list()", "PT401");
                assert_eq!(visible_ids(), Vec::<String>::new());
            },
        );
        // Malformed claims: 401.
        as_role("app", Some("not json"), || {
            assert_fails("SELECT learnings_list()", "PT401");
            assert_eq!(visible_ids(), Vec::<String>::new());
        });
        // A role that must present a token, and has none.
        run("SET LOCAL agno_learnings.require_token = on");
        as_role("app", None, || {
            assert_fails("SELECT learnings_list()", "PT401");
            assert_eq!(visible_ids(), Vec::<String>::new());
            assert_fails(
                "INSERT INTO agno_learnings (learning_id, learning_type, content, created_at) \
                 VALUES ('x', 'decision_log', '{}', 1)",
                "PT401",
            );
        });
        assert_eq!(int("SELECT count(*) FROM agno_learnings"), 3);
    }

    #[pg_test]
    fn trusted_claims_must_name_the_configured_audience_and_issuer() {
        seed();
        run("SET LOCAL agno_learnings.jwt_audience = 'agent-os'");
        run("SET LOCAL agno_learnings.jwt_issuer = 'https://issuer.example'");
        for claims in [
            r#"{"sub": "alice", "scopes": "learnings:read"}"#,
            r#"{"sub": "alice", "scopes": "learnings:read", "aud": "other", "iss": "https://issuer.example"}"#,
            r#"{"sub": "alice", "scopes": "learnings:read", "aud": "agent-os"}"#,
        ] {
            as_role("app", Some(claims), || {
                assert_fails("SELECT learnings_list()", "PT401");
                assert_eq!(visible_ids(), Vec::<String>::new());
            });
        }
        let good = r#"{"sub": "alice", "scopes": "learnings:read", "aud": ["x", "agent-os"], "iss": "https://issuer.example"}"#;
        as_role("app", Some(good), || {
            assert_eq!(visible_ids(), ["p_alice", "shared"])
        });
    }

    #[pg_test]
    fn untrusted_claims_cannot_widen_access() {
        seed();
        run("SET LOCAL agno_learnings.trust_request_claims = off");
        as_role("app", Some(ADMIN), || {
            assert_fails("SELECT learnings_list()", "PT401");
            assert_eq!(visible_ids(), Vec::<String>::new());
        });
    }

    #[pg_test]
    fn owners_and_bypassrls_roles_are_unaffected() {
        seed();
        // The superuser running the tests owns the table; even with claims it sees all.
        run("SELECT set_config('agno_learnings.claims_login_roles', session_user, true)");
        Spi::run_with_args(
            "SELECT set_config('request.jwt.claims', $1, true)",
            &[ALICE.into()],
        )
        .unwrap();
        assert_eq!(visible_ids(), ["p_alice", "p_bob", "shared"]);
        // The functions still apply the caller's scope for an owner.
        assert_eq!(listed("SELECT learnings_list()"), ["shared", "p_alice"]);
        assert_fails("SELECT learnings_get('p_bob')", "PT404");
    }

    #[pg_test]
    fn security_settings_are_superuser_only() {
        seed();
        as_role("app", Some(ALICE), || {
            for setting in [
                "user_isolation",
                "enforce_scopes",
                "trust_request_claims",
                "require_token",
                "claims_login_roles",
                "trusted_roles",
                "user_id_claim",
                "scopes_claim",
                "admin_scope",
                "jwt_secret_file",
                "jwt_public_key",
                "jwt_jwks",
                "jwt_algorithms",
                "jwt_audience",
                "jwt_issuer",
                "jwt_leeway",
            ] {
                assert_fails(&format!("SET agno_learnings.{setting} = '1'"), "42501");
                assert_fails(
                    &format!("SELECT set_config('agno_learnings.{setting}', '1', true)"),
                    "42501",
                );
            }
            // The prefix is reserved: no new placeholders either.
            assert_fails("SET agno_learnings.made_up = 'x'", "42602");
            assert_eq!(visible_ids(), ["p_alice", "shared"]);
        });
    }

    #[pg_test]
    fn planted_objects_in_the_callers_schema_change_nothing() {
        seed();
        run("CREATE SCHEMA evil");
        run("GRANT USAGE, CREATE ON SCHEMA evil TO app");
        as_role("app", Some(ALICE), || {
            run(
                "CREATE TABLE evil.learnings_tables (name text, schema_name name, table_name name)",
            );
            run("CREATE TABLE evil.agno_learnings (LIKE public.agno_learnings)");
            run("CREATE FUNCTION evil.jsonb_build_object(VARIADIC text[]) RETURNS jsonb LANGUAGE sql AS $$ SELECT '{\"pwned\": true}'::jsonb $$");
            run("CREATE FUNCTION evil.coalesce_text(text, text) RETURNS boolean LANGUAGE sql AS 'SELECT true'");
            run("CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.coalesce_text)");
            run("CREATE FUNCTION evil.learnings_policy_access(text) RETURNS text LANGUAGE sql AS $$ SELECT 'all' $$");
            run("SET LOCAL search_path = evil, public");
            assert_eq!(
                listed("SELECT public.learnings_list()"),
                ["shared", "p_alice"]
            );
            assert_fails("SELECT public.learnings_get('p_bob')", "PT404");
            assert_eq!(
                int("SELECT count(*) FROM public.agno_learnings WHERE learning_id IN ('p_alice', 'shared')"),
                2
            );
            assert_eq!(int("SELECT count(*) FROM public.agno_learnings"), 2);
            run("RESET search_path");
        });
    }

    #[pg_test]
    fn operators_planted_by_the_schema_owner_never_run() {
        seed();
        // agno creates the extension's schema as its runtime role, which can then add
        // operators there; ours must never resolve to them (as a superuser least of all).
        run("CREATE ROLE runtime");
        run("ALTER SCHEMA public OWNER TO runtime");
        run("SET LOCAL ROLE runtime");
        for (args, name) in [
            ("varchar, text", "vt"),
            ("oid, regclass", "or"),
            ("text, text", "tt"),
        ] {
            run(&format!(
                "CREATE FUNCTION public.planted_{name}({args}) RETURNS boolean LANGUAGE plpgsql \
                 AS $$ BEGIN RAISE EXCEPTION 'planted operator ran as %', current_user; END $$"
            ));
            let (left, right) = args.split_once(", ").unwrap();
            run(&format!(
                "CREATE OPERATOR public.= (LEFTARG = {left}, RIGHTARG = {right}, FUNCTION = public.planted_{name})"
            ));
        }
        run("RESET ROLE");
        json("SELECT learnings_get('p_alice')");
        json("SELECT learnings_update('p_alice', '{\"content\": {\"n\": 1}}')");
        json("SELECT learnings_list(user_id => 'alice')");
        json("SELECT learnings_list_users(user_id => 'alice')");
        json("SELECT learnings_create(learning_type => 'user_memory', user_id => 'alice', content => '{}')");
        run("SELECT learnings_delete('memories_alice')");
        run("SELECT learnings_delete_user('bob')");
        as_role("app", Some(ALICE), || {
            json("SELECT learnings_get('p_alice')");
            json("SELECT learnings_list()");
        });
        // The DROP guard, run as the superuser who drops, still only refuses.
        assert_fails("DROP EXTENSION agno_learnings", "2BP01");
        assert_eq!(
            Spi::get_one::<bool>("SELECT rolsuper FROM pg_roles WHERE rolname = 'runtime'")
                .unwrap(),
            Some(false)
        );
    }

    #[pg_test]
    fn claims_count_only_in_the_authenticators_sessions() {
        seed();
        // By default only learnings_authenticator's sessions are PostgREST's: a role that
        // sets request.jwt.claims itself gains nothing, the admin scope included.
        for claims in [ADMIN, ALICE] {
            Spi::run_with_args(
                "SELECT set_config('request.jwt.claims', $1, true)",
                &[claims.into()],
            )
            .unwrap();
            run("SET LOCAL ROLE app");
            assert_fails("SELECT learnings_list()", "PT401");
            assert_eq!(visible_ids(), Vec::<String>::new());
            run("RESET ROLE");
        }
    }

    #[pg_test]
    fn row_estimates_do_not_tell_a_users_row_count() {
        for i in 0..500 {
            insert_row(&format!("c{i}"), "note", Some("carol"), i, None);
        }
        insert_row("d", "note", Some("dave"), 1, None);
        run("ANALYZE agno_learnings");
        client_role("app");
        as_role("app", Some(ALICE), || {
            let estimate = |user: &str| {
                json(&format!(
                    "SELECT tests.explain_json('SELECT * FROM agno_learnings WHERE user_id = ''{user}''') \
                       -> 0 -> 'Plan' -> 'Plan Rows'"
                ))
            };
            assert_eq!(estimate("carol"), estimate("nobody"));
        });
        assert_eq!(
            int("SELECT count(*) FROM pg_statistic WHERE starelid = 'agno_learnings'::regclass \
                 AND staattnum = (SELECT attnum FROM pg_attribute \
                                   WHERE attrelid = 'agno_learnings'::regclass AND attname = 'user_id')"),
            0
        );
    }
}

//! Contract sections 3–4: create, get, update and delete of single records, and the bad
//! input each rejects without changing anything.

#[pgrx::pg_schema]
mod tests {
    use crate::tests::support::*;
    use pgrx::prelude::*;
    use serde_json::json as j;

    fn alice() {
        run(
            "SELECT learnings_create(learning_type => 'user_profile', user_id => 'alice', \
             content => '{\"name\": \"Alice\"}', metadata => '{\"source\": \"test\"}')",
        );
    }

    #[pg_test]
    fn create_returns_the_record() {
        let record = json(
            "SELECT learnings_create('user_memory', '{\"memories\": []}', NULL, 'alice', 'ag', 'tm', 'ss', \
             NULL, NULL, '{\"m\": 1}')",
        );
        assert_eq!(record["learning_id"], "memories_alice");
        assert_eq!(record["learning_type"], "user_memory");
        assert_eq!(record["user_id"], "alice");
        assert_eq!(record["agent_id"], "ag");
        assert_eq!(record["team_id"], "tm");
        assert_eq!(record["session_id"], "ss");
        assert_eq!(record["namespace"], j!(null));
        assert_eq!(record["content"], j!({"memories": []}));
        assert_eq!(record["metadata"], j!({"m": 1}));
        assert_eq!(json("SELECT learnings_get('memories_alice')"), record);
    }

    #[pg_test]
    fn content_is_stored_exactly() {
        // Numbers beyond f64 and deep structures survive byte for byte.
        let content = r#"{"big": 1e400, "precise": 0.1000000000000000000000000001, "n": [1, {"x": null}], "s": "\u00e9"}"#;
        let expected =
            Spi::get_one_with_args::<String>("SELECT $1::jsonb::text", &[content.into()]).unwrap();
        let stored = Spi::get_one_with_args::<String>(
            "SELECT (learnings_create(learning_type => 'decision_log', content => $1::jsonb) -> 'content')::text",
            &[content.into()],
        )
        .unwrap();
        assert_eq!(stored, expected);
        assert_eq!(
            Spi::get_one::<String>("SELECT content::text FROM agno_learnings").unwrap(),
            expected
        );
    }

    #[pg_test]
    fn bad_create_input_is_422_and_changes_nothing() {
        alice();
        let before = snapshot();
        let long = "x".repeat(10_000);
        for args in [
            "content => '{}'".to_string(),
            "learning_type => '', content => '{}'".to_string(),
            "learning_type => 'decision_log'".to_string(),
            "learning_type => 'decision_log', content => NULL".to_string(),
            "learning_type => 'decision_log', content => '[1, 2]'".to_string(),
            "learning_type => 'decision_log', content => '\"text\"'".to_string(),
            "learning_type => 'decision_log', content => 'null'".to_string(),
            "learning_type => 'decision_log', content => '42'".to_string(),
            "learning_type => 'decision_log', content => '{}', metadata => '[]'".to_string(),
            "learning_type => 'decision_log', content => '{}', metadata => '\"m\"'".to_string(),
            "learning_type => 'decision_log', content => '{}', user_id => ''".to_string(),
            "learning_type => 'decision_log', content => '{}', agent_id => ''".to_string(),
            "learning_type => 'user_profile', content => '{}', user_id => ''".to_string(),
            format!("learning_type => 'user_profile', content => '{{}}', user_id => '{long}'"),
            format!("learning_type => 'decision_log', content => '{{}}', agent_id => '{long}'"),
            format!("learning_type => '{long}', content => '{{}}'"),
            // Each field fits, but the derived id would not fit the primary key index.
            format!(
                "learning_type => 'entity_memory', content => '{{}}', namespace => '{0}', \
                 entity_type => '{0}', entity_id => '{0}'",
                "y".repeat(500)
            ),
        ] {
            assert_fails(&format!("SELECT learnings_create({args})"), "PT422");
        }
        assert_eq!(snapshot(), before);
    }

    #[pg_test]
    fn odd_unicode_ids_work() {
        for user in [
            "😀",
            "עברית",
            "e\u{301}",
            "a b\tc",
            "x'y\"z",
            "\u{202e}rtl",
            "%_\\",
        ] {
            let record = Spi::get_one_with_args::<pgrx::JsonB>(
                "SELECT learnings_create(learning_type => 'user_profile', user_id => $1, content => '{}')",
                &[user.into()],
            )
            .unwrap()
            .unwrap()
            .0;
            let id = format!("user_profile_{user}");
            assert_eq!(record["learning_id"], id.as_str());
            let fetched = Spi::get_one_with_args::<pgrx::JsonB>(
                "SELECT learnings_get($1)",
                &[id.as_str().into()],
            )
            .unwrap()
            .unwrap()
            .0;
            assert_eq!(fetched["user_id"], user);
        }
    }

    #[pg_test]
    fn get_missing_is_404() {
        alice();
        assert_fails("SELECT learnings_get('nope')", "PT404");
        assert_fails("SELECT learnings_get(NULL)", "PT422");
        assert_fails(
            &format!("SELECT learnings_get('{}')", "z".repeat(10_000)),
            "PT404",
        );
    }

    #[pg_test]
    fn update_replaces_present_keys_only() {
        alice();
        run("UPDATE agno_learnings SET updated_at = 5");
        let updated = json(
            "SELECT learnings_update('user_profile_alice', '{\"content\": {\"name\": \"A.\"}}')",
        );
        assert_eq!(updated["content"], j!({"name": "A."}));
        assert_eq!(updated["metadata"], j!({"source": "test"}));
        assert!(updated["updated_at"].as_i64().unwrap() > 5);

        let updated =
            json("SELECT learnings_update('user_profile_alice', '{\"metadata\": {\"k\": 2}}')");
        assert_eq!(updated["content"], j!({"name": "A."}));
        assert_eq!(updated["metadata"], j!({"k": 2}));

        let updated = json("SELECT learnings_update('user_profile_alice', '{\"metadata\": null}')");
        assert_eq!(updated["metadata"], j!(null));
        assert_eq!(json("SELECT learnings_get('user_profile_alice')"), updated);
    }

    #[pg_test]
    fn empty_changes_return_the_record_unchanged() {
        alice();
        run("UPDATE agno_learnings SET updated_at = 5");
        let before = snapshot();
        let record = json("SELECT learnings_update('user_profile_alice', '{}')");
        assert_eq!(record["updated_at"], 5);
        assert_eq!(snapshot(), before);
        assert_fails("SELECT learnings_update('nope', '{}')", "PT404");
    }

    #[pg_test]
    fn bad_changes_are_422_and_change_nothing() {
        alice();
        let before = snapshot();
        for changes in [
            "'{\"content\": null}'",
            "'{\"user_id\": \"mallory\"}'",
            "'{\"content\": {}, \"learning_id\": \"x\"}'",
            "'{\"unknown\": 1}'",
            "'{\"content\": [1]}'",
            "'{\"content\": \"s\"}'",
            "'{\"metadata\": [1]}'",
            "'[]'",
            "'\"content\"'",
            "'null'",
            "NULL",
        ] {
            assert_fails(
                &format!("SELECT learnings_update('user_profile_alice', {changes})"),
                "PT422",
            );
        }
        assert_eq!(snapshot(), before);
    }

    #[pg_test]
    fn update_never_inserts() {
        assert_fails(
            "SELECT learnings_update('user_profile_ghost', '{\"content\": {}}')",
            "PT404",
        );
        assert_eq!(rows(), 0);
    }

    #[pg_test]
    fn delete_then_get_is_404() {
        alice();
        assert_eq!(
            Spi::get_one::<String>("SELECT learnings_delete('user_profile_alice')::text").unwrap(),
            Some(String::new())
        );
        assert_fails("SELECT learnings_get('user_profile_alice')", "PT404");
        assert_fails("SELECT learnings_delete('user_profile_alice')", "PT404");
        assert_fails("SELECT learnings_delete(NULL)", "PT422");
        assert_eq!(rows(), 0);
    }

    #[pg_test]
    fn functions_pin_search_path_and_run_as_invoker() {
        // Every function of the extension, in either schema, runs as its caller and
        // searches pg_catalog alone: nothing planted in the extension's schema (which
        // may belong to agno's runtime) can stand in for an operator or function.
        let members = "FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass \
             AND d.objid = p.oid AND d.deptype = 'e' \
             AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'agno_learnings') \
             AND p.pronamespace::regnamespace::text IN ('public', 'agno_learnings_internal')";
        let unpinned = Spi::get_one::<String>(&format!(
            "SELECT string_agg(p.oid::regprocedure::text, ', ') {members} \
              WHERE NOT 'search_path=pg_catalog, pg_temp' = ANY (p.proconfig)"
        ))
        .unwrap();
        assert_eq!(unpinned, None);
        // One SECURITY DEFINER function: the counting trigger, which every writer runs to
        // add to totals no client may write; it is callable by nobody, only as a trigger.
        let definers = Spi::get_one::<String>(&format!(
            "SELECT string_agg(p.oid::regprocedure::text, ', ') {members} WHERE p.prosecdef"
        ))
        .unwrap();
        assert_eq!(
            definers.as_deref(),
            Some("agno_learnings_internal.learnings_count_rows()")
        );
        assert_fails(
            "SELECT agno_learnings_internal.learnings_count_rows()",
            "0A000",
        );
        let per_schema = Spi::get_one::<String>(&format!(
            "SELECT string_agg(n || ' ' || c, ', ' ORDER BY n) FROM \
               (SELECT p.pronamespace::regnamespace::text AS n, count(*) AS c {members} GROUP BY 1) AS s"
        ))
        .unwrap();
        assert_eq!(
            per_schema.as_deref(),
            Some("agno_learnings_internal 15, public 11")
        );
    }

    #[pg_test]
    fn documents_over_the_size_cap_are_422_and_change_nothing() {
        insert_row("user_profile_alice", "user_profile", Some("alice"), 1, None);
        let before = snapshot();
        // The default cap (1 MiB): a 2 MB content, and metadata with 100,000 keys.
        let big = "(SELECT jsonb_build_object('text', repeat('x', 2000000)))";
        let many_keys = "(SELECT jsonb_object_agg('k' || g, g) FROM generate_series(1, 100000) g)";
        for call in [
            format!("SELECT learnings_create(learning_type => 'decision_log', content => {big})"),
            format!(
                "SELECT learnings_create(learning_type => 'decision_log', content => '{{}}', metadata => {many_keys})"
            ),
            format!("SELECT learnings_update('user_profile_alice', jsonb_build_object('content', {big}))"),
        ] {
            assert_fails(&call, "PT422");
        }
        assert_eq!(snapshot(), before);
        // An administrator can change the cap.
        run("SET LOCAL agno_learnings.max_document_bytes = 2048");
        assert_fails(
            "SELECT learnings_update('user_profile_alice', jsonb_build_object('content', \
             jsonb_build_object('text', repeat('x', 3000))))",
            "PT422",
        );
        json(
            "SELECT learnings_update('user_profile_alice', '{\"content\": {\"text\": \"short\"}}')",
        );
        // And the table's door keeps it for clients under row-level security.
        client_role("app");
        as_role(
            "app",
            Some(r#"{"sub": "alice", "scopes": "learnings:read learnings:write"}"#),
            || {
                assert_fails(
                    "UPDATE agno_learnings SET content = jsonb_build_object('text', repeat('x', 3000)) \
                     WHERE learning_id = 'user_profile_alice'",
                    "PT422",
                );
            },
        );
        assert_eq!(
            json("SELECT content FROM agno_learnings"),
            serde_json::json!({"text": "short"})
        );
    }
}

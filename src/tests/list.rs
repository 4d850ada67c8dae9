//! Contract section 3: `learnings_list` envelopes, pagination, sorting and filters.

#[pgrx::pg_schema]
mod tests {
    use crate::tests::support::*;
    use pgrx::prelude::*;
    use serde_json::json as j;

    #[pg_test]
    fn empty_list_envelope() {
        assert_eq!(
            json("SELECT learnings_list()"),
            j!({"data": [], "meta": {"page": 1, "limit": 100, "total_pages": 0, "total_count": 0}})
        );
    }

    #[pg_test]
    fn record_shape_is_agentos_learning_response() {
        run("SELECT learnings_create(learning_type => 'user_profile', user_id => 'alice', \
             agent_id => 'ag', team_id => 'tm', session_id => 'ss', content => '{\"name\": \"Alice\"}')");
        let record = &json("SELECT learnings_list()")["data"][0];
        let mut keys: Vec<_> = record.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "agent_id",
                "content",
                "created_at",
                "entity_id",
                "entity_type",
                "learning_id",
                "learning_type",
                "metadata",
                "namespace",
                "session_id",
                "team_id",
                "updated_at",
                "user_id"
            ]
        );
        assert_eq!(record["metadata"], j!(null));
        assert_eq!(record["content"], j!({"name": "Alice"}));
        assert!(record["created_at"].as_i64().unwrap() > 1_700_000_000);
        assert_eq!(record["created_at"], record["updated_at"]);
    }

    #[pg_test]
    fn json_null_metadata_written_by_agno_reads_as_null() {
        run("INSERT INTO agno_learnings (learning_id, learning_type, content, metadata, created_at) \
             VALUES ('a', 'decision_log', '{}', 'null'::jsonb, 1)");
        assert_eq!(json("SELECT learnings_get('a')")["metadata"], j!(null));
    }

    #[pg_test]
    fn pagination_meta() {
        for i in 0..7 {
            insert_row(&format!("r{i}"), "decision_log", None, 100 + i, None);
        }
        let page = json("SELECT learnings_list(\"limit\" => 3, page => 3)");
        assert_eq!(
            page["meta"],
            j!({"page": 3, "limit": 3, "total_pages": 3, "total_count": 7})
        );
        assert_eq!(ids(&page), ["r0"]);
        let beyond = json("SELECT learnings_list(\"limit\" => 3, page => 9)");
        assert_eq!(beyond["data"], j!([]));
        assert_eq!(beyond["meta"]["total_count"], 7);
        assert_eq!(
            json("SELECT learnings_list(\"limit\" => 7)")["meta"]["total_pages"],
            1
        );
        assert_eq!(
            json("SELECT learnings_list(\"limit\" => 1000)")["meta"]["limit"],
            1000
        );
        // A page far beyond the end must not overflow the offset.
        assert_eq!(
            json("SELECT learnings_list(\"limit\" => 1000, page => 2147483647)")["data"],
            j!([])
        );
    }

    #[pg_test]
    fn limit_page_and_sort_order_are_validated() {
        run("SELECT learnings_create(learning_type => 'decision_log', content => '{}')");
        for args in [
            "\"limit\" => 0",
            "\"limit\" => 1001",
            "\"limit\" => -1",
            "page => 0",
            "page => -3",
            "sort_order => 'sideways'",
            "sort_order => 'DESC'",
        ] {
            assert_fails(&format!("SELECT learnings_list({args})"), "PT422");
            assert_fails(&format!("SELECT learnings_list_users({args})"), "PT422");
        }
        // NULL means the default.
        assert_eq!(
            json("SELECT learnings_list(\"limit\" => NULL, page => NULL, sort_order => NULL)")
                ["meta"]["limit"],
            100
        );
    }

    #[pg_test]
    fn default_sort_is_recency_with_created_at_fallback() {
        insert_row("old", "decision_log", None, 100, Some(100));
        insert_row("touched", "decision_log", None, 50, Some(300));
        insert_row("never_updated", "decision_log", None, 200, None);
        assert_eq!(
            ids(&json("SELECT learnings_list()")),
            ["touched", "never_updated", "old"]
        );
        assert_eq!(
            ids(&json("SELECT learnings_list(sort_order => 'asc')")),
            ["old", "never_updated", "touched"]
        );
        assert_eq!(
            ids(&json("SELECT learnings_list(sort_by => 'created_at')")),
            ["never_updated", "old", "touched"]
        );
        assert_eq!(
            ids(&json(
                "SELECT learnings_list(sort_by => 'created_at', sort_order => 'asc')"
            )),
            ["touched", "old", "never_updated"]
        );
        // Any other sort_by is ignored, never interpolated.
        for sort_by in [
            "updated_at",
            "learning_id",
            "1; DROP TABLE agno_learnings",
            "content->>'x'",
        ] {
            assert_eq!(
                ids(&json(&format!(
                    "SELECT learnings_list(sort_by => {})",
                    pgrx::spi::quote_literal(sort_by)
                ))),
                ["touched", "never_updated", "old"]
            );
        }
        assert_eq!(rows(), 3);
    }

    #[pg_test]
    fn ties_are_broken_by_learning_id_so_pages_never_repeat_or_skip() {
        // 23 rows over three timestamps, inserted out of order.
        let mut rows: Vec<(i64, String)> = Vec::new();
        for i in 0..23 {
            let id = format!("t{:02}", (i * 7) % 23);
            let updated_at = 1000 + (i % 3);
            insert_row(&id, "decision_log", None, 1000, Some(updated_at));
            rows.push((updated_at, id));
        }
        // desc: newest first, equal timestamps by learning_id; asc: the exact reverse.
        rows.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let desc: Vec<String> = rows.into_iter().map(|(_, id)| id).collect();
        let mut asc = desc.clone();
        asc.reverse();
        for (order, expected) in [("desc", desc), ("asc", asc)] {
            let mut seen = Vec::new();
            for page in 1..=5 {
                let envelope = json(&format!(
                    "SELECT learnings_list(\"limit\" => 5, page => {page}, sort_order => '{order}')"
                ));
                seen.extend(ids(&envelope));
            }
            assert_eq!(seen, expected, "{order}");
        }
    }

    #[pg_test]
    fn every_filter_narrows_the_list() {
        run("INSERT INTO agno_learnings (learning_id, learning_type, namespace, user_id, agent_id, team_id, \
             session_id, entity_id, entity_type, content, created_at) VALUES \
             ('a', 'entity_memory', 'global', 'u1', 'ag1', 'tm1', 's1', 'e1', 'person', '{}', 1), \
             ('b', 'entity_memory', 'acme', 'u2', 'ag2', 'tm2', 's2', 'e2', 'company', '{}', 2), \
             ('c', 'user_profile', NULL, NULL, 'ag1', 'tm2', 's1', NULL, NULL, '{}', 3)");
        for (args, expected) in [
            ("learning_type => 'user_profile'", vec!["c"]),
            ("user_id => 'u1'", vec!["a"]),
            ("agent_id => 'ag1'", vec!["c", "a"]),
            ("team_id => 'tm2'", vec!["c", "b"]),
            ("session_id => 's1'", vec!["c", "a"]),
            ("namespace => 'acme'", vec!["b"]),
            ("entity_id => 'e1'", vec!["a"]),
            ("entity_type => 'company'", vec!["b"]),
            ("agent_id => 'ag1', team_id => 'tm2'", vec!["c"]),
            ("user_id => 'nobody'", vec![]),
            ("user_id => ''", vec![]),
        ] {
            let envelope = json(&format!("SELECT learnings_list({args})"));
            assert_eq!(ids(&envelope), expected, "{args}");
            assert_eq!(envelope["meta"]["total_count"], expected.len(), "{args}");
        }
    }

    #[pg_test]
    fn list_is_stable_and_read_only() {
        assert_eq!(
            Spi::get_one::<String>(
                "SELECT provolatile::text FROM pg_proc WHERE proname = 'learnings_list'"
            )
            .unwrap()
            .as_deref(),
            Some("s")
        );
        run("SET LOCAL transaction_read_only = on");
        json("SELECT learnings_list()");
        json("SELECT learnings_list_users()");
        // Writes say so with PostgreSQL's own code (as on a hot standby).
        assert_fails(
            "SELECT learnings_create(learning_type => 'decision_log', content => '{}')",
            "25006",
        );
        assert_fails("SELECT learnings_delete_user('alice')", "25006");
    }
}

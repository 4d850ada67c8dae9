//! Contract section 3: `learnings_list_users` and `learnings_delete_user`.

#[pgrx::pg_schema]
mod tests {
    use crate::tests::support::*;
    use pgrx::prelude::*;
    use serde_json::json as j;

    fn seed() {
        insert_row("p_alice", "user_profile", Some("alice"), 10, Some(50));
        insert_row("m_alice", "user_memory", Some("alice"), 10, Some(20));
        insert_row("p_bob", "user_profile", Some("bob"), 10, Some(40));
        insert_row("m_carol", "user_memory", Some("carol"), 60, None);
        insert_row("shared", "entity_memory", None, 10, Some(99));
    }

    fn users(envelope: &serde_json::Value) -> Vec<(String, i64)> {
        envelope["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| {
                (
                    u["user_id"].as_str().unwrap().to_string(),
                    u["last_learning_updated_at"].as_i64().unwrap(),
                )
            })
            .collect()
    }

    fn pairs(expected: &[(&str, i64)]) -> Vec<(String, i64)> {
        expected.iter().map(|(u, t)| (u.to_string(), *t)).collect()
    }

    #[pg_test]
    fn users_are_grouped_owners_by_last_activity() {
        seed();
        let envelope = json("SELECT learnings_list_users()");
        assert_eq!(
            users(&envelope),
            pairs(&[("carol", 60), ("alice", 50), ("bob", 40)])
        );
        assert_eq!(
            envelope["meta"],
            j!({"page": 1, "limit": 20, "total_pages": 1, "total_count": 3})
        );
        assert_eq!(
            users(&json("SELECT learnings_list_users(sort_order => 'asc')")),
            pairs(&[("bob", 40), ("alice", 50), ("carol", 60)])
        );
        assert_eq!(
            users(&json(
                "SELECT learnings_list_users(sort_by => 'user_id', sort_order => 'asc')"
            )),
            pairs(&[("alice", 50), ("bob", 40), ("carol", 60)])
        );
        assert_eq!(
            users(&json(
                "SELECT learnings_list_users(sort_by => 'nonsense; --')"
            )),
            pairs(&[("carol", 60), ("alice", 50), ("bob", 40)])
        );
    }

    #[pg_test]
    fn users_filters_and_pages() {
        seed();
        assert_eq!(
            users(&json(
                "SELECT learnings_list_users(learning_type => 'user_memory')"
            )),
            pairs(&[("carol", 60), ("alice", 20)])
        );
        assert_eq!(
            users(&json("SELECT learnings_list_users(user_id => 'bob')")),
            pairs(&[("bob", 40)])
        );
        let page = json("SELECT learnings_list_users(\"limit\" => 2, page => 2)");
        assert_eq!(users(&page), pairs(&[("bob", 40)]));
        assert_eq!(
            page["meta"],
            j!({"page": 2, "limit": 2, "total_pages": 2, "total_count": 3})
        );
        assert_eq!(
            json("SELECT learnings_list_users(user_id => 'nobody')"),
            j!({"data": [], "meta": {"page": 1, "limit": 20, "total_pages": 0, "total_count": 0}})
        );
    }

    #[pg_test]
    fn delete_user_removes_only_that_users_rows() {
        seed();
        run("SELECT learnings_delete_user('alice', learning_type => 'user_memory')");
        assert_eq!(
            int("SELECT count(*) FROM agno_learnings WHERE user_id = 'alice'"),
            1
        );
        run("SELECT learnings_delete_user('alice')");
        assert_eq!(
            int("SELECT count(*) FROM agno_learnings WHERE user_id = 'alice'"),
            0
        );
        assert_eq!(rows(), 3);
        assert_eq!(
            int("SELECT count(*) FROM agno_learnings WHERE user_id IS NULL"),
            1
        );
        // No rows is still success.
        run("SELECT learnings_delete_user('alice')");
        run("SELECT learnings_delete_user('nobody', learning_type => 'user_profile')");
        run(&format!(
            "SELECT learnings_delete_user('{}')",
            "x".repeat(10_240)
        ));
        assert_eq!(rows(), 3);
    }

    #[pg_test]
    fn delete_user_needs_a_user() {
        seed();
        let before = snapshot();
        assert_fails("SELECT learnings_delete_user(NULL)", "PT422");
        assert_fails("SELECT learnings_delete_user('')", "PT422");
        assert_eq!(snapshot(), before);
    }
}

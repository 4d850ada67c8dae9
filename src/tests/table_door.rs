//! Contract section 2 at the table's own door (PostgREST's table endpoint, plain SQL):
//! for a role subject to row-level security, rows keep the API's id rules, a hidden row
//! is never confirmed by a conflict, and a learning's identity never changes.

#[pgrx::pg_schema]
mod tests {
    use crate::tests::support::*;
    use pgrx::prelude::*;

    const ALICE: &str =
        r#"{"sub": "alice", "scopes": "learnings:read learnings:write learnings:delete"}"#;

    fn insert(id: &str, learning_type: &str, extra_columns: &str, extra_values: &str) -> String {
        format!(
            "INSERT INTO agno_learnings (learning_id, learning_type, user_id, content, created_at{extra_columns}) \
             VALUES ('{id}', '{learning_type}', 'alice', '{{}}', 1{extra_values})"
        )
    }

    #[pg_test]
    fn another_users_identity_cannot_be_squatted() {
        client_role("app");
        insert_row("user_profile_bob_old", "note", Some("bob"), 1, None);
        let before = snapshot();
        as_role("app", Some(ALICE), || {
            // Ids derived from someone else's identity, or not derived at all.
            assert_fails(&insert("user_profile_bob", "user_profile", "", ""), "PT422");
            assert_fails(&insert("memories_bob", "user_memory", "", ""), "PT422");
            assert_fails(
                &insert(
                    "entity_user_81b637d8fcd2c6da_person_x",
                    "entity_memory",
                    ", namespace, entity_type, entity_id",
                    ", 'user', 'person', 'x'",
                ),
                "PT422",
            );
            assert_fails(
                &insert("session_context_s9", "session_context", "", ""),
                "PT422",
            );
            // A type that is not identity-keyed takes a UUID, never an identity's id.
            assert_fails(&insert("user_profile_bob", "decision_log", "", ""), "PT422");
            assert_fails(&insert("memories_bob", "note", "", ""), "PT422");
            // Missing identity fields and reserved namespaces, as the API answers them.
            assert_fails(&insert("entity_global__", "entity_memory", "", ""), "PT422");
            assert_fails(
                &insert(
                    "entity_user_0123456789abcdef_person_x",
                    "entity_memory",
                    ", namespace, entity_type, entity_id",
                    ", 'user_0123456789abcdef', 'person', 'x'",
                ),
                "PT422",
            );
        });
        assert_eq!(snapshot(), before);
        as_role("app", Some(ALICE), || {
            // Its own identities, derived as agno derives them, are fine.
            run(&insert("user_profile_alice", "user_profile", "", ""));
            run(&insert(
                "entity_user_2bd806c97f0e00af_person_x",
                "entity_memory",
                ", namespace, entity_type, entity_id",
                ", 'user', 'person', 'x'",
            ));
            run(&insert(
                "9b2d3c1e-5f6a-4b7c-8d9e-0f1a2b3c4d5e",
                "decision_log",
                "",
                "",
            ));
        });
        assert_eq!(rows(), 4);
    }

    #[pg_test]
    fn a_learnings_identity_never_changes() {
        client_role("app");
        as_role("app", Some(ALICE), || {
            run(&insert("user_profile_alice", "user_profile", "", ""));
            let before = snapshot();
            for change in [
                "learning_id = 'user_profile_bob'",
                "learning_type = 'user_memory'",
                "user_id = 'bob'",
                "namespace = 'x'",
                "session_id = 's'",
                "agent_id = 'a'",
                "created_at = 2",
            ] {
                assert_fails(
                    &format!("UPDATE agno_learnings SET {change} WHERE learning_id = 'user_profile_alice'"),
                    "PT422",
                );
            }
            assert_eq!(snapshot(), before);
            // content, metadata and updated_at change; the same value written again is no change.
            run("UPDATE agno_learnings SET content = '{\"a\": 1}', metadata = '{}', updated_at = 5, \
                 user_id = 'alice' WHERE learning_id = 'user_profile_alice'");
        });
        assert_eq!(int("SELECT updated_at FROM agno_learnings"), 5);
    }

    #[pg_test]
    fn a_hidden_row_is_never_confirmed_by_a_conflict() {
        client_role("app");
        insert_row(
            "session_context_s1",
            "session_context",
            Some("carol"),
            1,
            None,
        );
        Spi::run("UPDATE agno_learnings SET session_id = 's1'").unwrap();
        insert_row("entity_global_person_x", "entity_memory", None, 1, None);
        Spi::run(
            "UPDATE agno_learnings SET namespace = 'global', entity_type = 'person', entity_id = 'x' \
             WHERE learning_id = 'entity_global_person_x'",
        )
        .unwrap();
        let before = snapshot();
        let hidden = insert(
            "session_context_s1",
            "session_context",
            ", session_id",
            ", 's1'",
        );
        as_role("app", Some(ALICE), || {
            // carol's row: 404, with or without ON CONFLICT, as learnings_create answers.
            assert_fails(&hidden, "PT404");
            assert_fails(&format!("{hidden} ON CONFLICT DO NOTHING"), "PT404");
            assert_fails(
                &format!(
                    "{hidden} ON CONFLICT (learning_id) DO UPDATE SET content = EXCLUDED.content"
                ),
                "PT404",
            );
            // A shared row alice can read: an ordinary conflict.
            let shared = insert(
                "entity_global_person_x",
                "entity_memory",
                ", namespace, entity_type, entity_id",
                ", 'global', 'person', 'x'",
            );
            assert_fails(&shared, "23505");
            assert_eq!(
                int(&format!(
                    "WITH i AS ({shared} ON CONFLICT DO NOTHING RETURNING 1) SELECT count(*) FROM i"
                )),
                0
            );
        });
        assert_eq!(snapshot(), before);
    }

    #[pg_test]
    fn the_owner_is_not_restricted() {
        // The superuser running the tests owns the table, as agno's runtime owns its own.
        insert_row("anything", "user_profile", Some("bob"), 1, None);
        Spi::run("UPDATE agno_learnings SET learning_id = 'renamed', user_id = 'carol'").unwrap();
        assert_eq!(
            int("SELECT count(*) FROM agno_learnings WHERE learning_id = 'renamed'"),
            1
        );
    }
}

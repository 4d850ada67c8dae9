//! Contract section 2: identity-keyed ids, through `learnings_create`.

#[pgrx::pg_schema]
mod tests {
    use crate::tests::support::*;
    use pgrx::prelude::*;

    fn created_id(args: &str) -> String {
        let record = json(&format!("SELECT learnings_create({args})"));
        record["learning_id"]
            .as_str()
            .expect("learning_id")
            .to_string()
    }

    #[pg_test]
    fn user_profile_and_memory_ids() {
        assert_eq!(
            created_id("learning_type => 'user_profile', user_id => 'alice', content => '{}'"),
            "user_profile_alice"
        );
        assert_eq!(
            created_id("learning_type => 'user_memory', user_id => 'alice', content => '{}'"),
            "memories_alice"
        );
    }

    #[pg_test]
    fn session_context_id() {
        assert_eq!(
            created_id("learning_type => 'session_context', session_id => 's-1', content => '{}'"),
            "session_context_s-1"
        );
    }

    #[pg_test]
    fn entity_memory_global_default_is_stored() {
        let record = json(
            "SELECT learnings_create(learning_type => 'entity_memory', entity_id => 'bob', \
             entity_type => 'person', content => '{}')",
        );
        assert_eq!(record["learning_id"], "entity_global_person_bob");
        assert_eq!(record["namespace"], "global");
        // An empty namespace is the default too, and collides with the record above.
        assert_fails(
            "SELECT learnings_create(learning_type => 'entity_memory', namespace => '', \
             entity_id => 'bob', entity_type => 'person', content => '{}')",
            "23505",
        );
        assert_eq!(
            created_id(
                "learning_type => 'entity_memory', namespace => 'acme', entity_id => 'bob', \
                 entity_type => 'person', content => '{}'"
            ),
            "entity_acme_person_bob"
        );
    }

    #[pg_test]
    fn entity_memory_user_namespace_uses_sha256_digest() {
        // agno 3.1.10: build_learning_id("entity_memory", user_id="alice@example.com",
        //   entity_id="bob", entity_type="person", namespace="user")
        assert_eq!(
            created_id(
                "learning_type => 'entity_memory', namespace => 'user', user_id => 'alice@example.com', \
                 entity_id => 'bob', entity_type => 'person', content => '{}'"
            ),
            "entity_user_ff8d9819fc0e12bf_person_bob"
        );
        // Non-ASCII user ids are hashed as UTF-8, as Python's str.encode() does.
        assert_eq!(
            created_id(
                "learning_type => 'entity_memory', namespace => 'user', user_id => 'ünï😀', \
                 entity_id => 'bob', entity_type => 'person', content => '{}'"
            ),
            "entity_user_89b7b9989d035d35_person_bob"
        );
    }

    #[pg_test]
    fn other_types_get_a_fresh_uuid() {
        let first = created_id("learning_type => 'decision_log', content => '{}'");
        let second = created_id("learning_type => 'decision_log', content => '{}'");
        assert_eq!(first.len(), 36);
        assert_ne!(first, second);
        assert_eq!(
            Spi::get_one_with_args::<bool>("SELECT $1::uuid IS NOT NULL", &[first.as_str().into()])
                .unwrap(),
            Some(true)
        );
    }

    #[pg_test]
    fn missing_identity_fields_are_422_and_change_nothing() {
        let before = snapshot();
        for args in [
            "learning_type => 'user_profile', content => '{}'",
            "learning_type => 'user_memory', content => '{}', agent_id => 'a'",
            "learning_type => 'session_context', user_id => 'alice', content => '{}'",
            "learning_type => 'entity_memory', entity_id => 'bob', content => '{}'",
            "learning_type => 'entity_memory', entity_type => 'person', content => '{}'",
            "learning_type => 'entity_memory', namespace => 'user', entity_id => 'bob', \
             entity_type => 'person', content => '{}'",
        ] {
            assert_fails(&format!("SELECT learnings_create({args})"), "PT422");
        }
        assert_eq!(snapshot(), before);
    }

    #[pg_test]
    fn reserved_entity_namespaces_are_422() {
        for ns in [
            "user_0123456789abcdef",
            "user_0123456789abcdef_person",
            "user_ff8d9819fc0e12bf_x_y",
        ] {
            assert_fails(
                &format!(
                    "SELECT learnings_create(learning_type => 'entity_memory', namespace => '{ns}', \
                     entity_id => 'bob', entity_type => 'person', content => '{{}}')"
                ),
                "PT422",
            );
        }
        assert_eq!(rows(), 0);
        // Near misses are ordinary namespaces.
        created_id(
            "learning_type => 'entity_memory', namespace => 'user_0123456789ABCDEF', \
             entity_id => 'bob', entity_type => 'person', content => '{}'",
        );
    }

    #[pg_test]
    fn existing_identity_is_409_and_never_overwritten() {
        created_id("learning_type => 'user_profile', user_id => 'alice', content => '{\"v\": 1}'");
        assert_fails(
            "SELECT learnings_create(learning_type => 'user_profile', user_id => 'alice', \
             content => '{\"v\": 2}')",
            "23505",
        );
        assert_eq!(
            json("SELECT content FROM agno_learnings"),
            serde_json::json!({"v": 1})
        );
        assert_eq!(rows(), 1);
    }

    #[rustfmt::skip]
    #[pg_test(error = "A 'user_profile' learning already exists for this identity (id 'user_profile_alice'). Use PATCH /learnings/user_profile_alice to update it.")]
    fn conflict_message_names_the_id_and_points_to_update() {
        created_id("learning_type => 'user_profile', user_id => 'alice', content => '{}'");
        created_id("learning_type => 'user_profile', user_id => 'alice', content => '{}'");
    }
}

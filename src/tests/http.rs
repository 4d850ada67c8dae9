//! Contract section 6, from inside the database: what the functions tell PostgREST.

#[pgrx::pg_schema]
mod tests {
    use crate::tests::support::*;
    use pgrx::prelude::*;

    const ALICE: &str =
        r#"{"sub": "alice", "scopes": "learnings:read learnings:write learnings:delete"}"#;

    /// The JSON message and detail of the PGRST error `call` raises.
    fn postgrest_error(call: &str) -> (serde_json::Value, serde_json::Value) {
        let sql = format!("SELECT m, d FROM tests.error_parts({call}) AS e(m, d)");
        let (message, detail) = Spi::connect(|client| {
            client
                .select(&sql, None, &[])
                .unwrap()
                .first()
                .get_two::<pgrx::JsonB, pgrx::JsonB>()
                .unwrap()
        });
        (message.unwrap().0, detail.unwrap().0)
    }

    fn serve_as_postgrest(method: &str) {
        Spi::run_with_args(
            "SELECT set_config('request.method', $1, true)",
            &[method.into()],
        )
        .unwrap();
    }

    #[pg_test]
    fn create_answers_201_under_postgrest_only() {
        run("SELECT learnings_create(learning_type => 'decision_log', content => '{}')");
        assert_eq!(
            Spi::get_one::<String>("SELECT current_setting('response.status', true)").unwrap(),
            None
        );
        serve_as_postgrest("POST");
        run("SELECT learnings_create(learning_type => 'decision_log', content => '{}')");
        assert_eq!(
            Spi::get_one::<String>("SELECT current_setting('response.status', true)")
                .unwrap()
                .as_deref(),
            Some("201")
        );
    }

    #[pg_test]
    fn forbidden_keeps_its_status_under_postgrest() {
        insert_row("shared", "entity_memory", None, 1, None);
        client_role("app");
        as_role("app", Some(ALICE), || {
            assert_fails("SELECT learnings_delete('shared')", "42501");
            serve_as_postgrest("POST");
            // PostgREST's own form: the status is set exactly, the body keeps 42501.
            assert_fails("SELECT learnings_delete('shared')", "PGRST");
            let (message, detail) = postgrest_error("'SELECT learnings_delete(''shared'')'");
            assert_eq!(message["code"], "42501");
            assert_eq!(
                message["message"],
                "Only admins can modify learnings that have no owner (user_id is null)"
            );
            assert_eq!(detail, serde_json::json!({"status": 403, "headers": {}}));
            // Every error takes that form under PostgREST: its message stays in the body,
            // out of the status line (where a caller's CR LF would add headers).
            assert_fails("SELECT learnings_get('nope')", "PGRST");
            let (message, detail) =
                postgrest_error("$$SELECT learnings_list(sort_order => E'x\r\nX-Injected: yes')$$");
            assert_eq!(message["code"], "PT422");
            assert!(message["message"]
                .as_str()
                .unwrap()
                .contains("\r\nX-Injected"));
            assert_eq!(detail, serde_json::json!({"status": 422, "headers": {}}));
        });
    }
}

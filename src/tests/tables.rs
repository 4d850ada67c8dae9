//! Contract section 3: `db_id` / `table`, and registering other learnings tables.

#[pgrx::pg_schema]
mod tests {
    use crate::tests::support::*;
    use pgrx::prelude::*;

    const AGNO_LAYOUT: &str = "(learning_id character varying PRIMARY KEY, \
        learning_type character varying NOT NULL, namespace character varying, user_id character varying, \
        agent_id character varying, team_id character varying, workflow_id character varying, \
        session_id character varying, entity_id character varying, entity_type character varying, \
        content jsonb NOT NULL, metadata jsonb, created_at bigint NOT NULL, updated_at bigint)";

    fn db() -> String {
        Spi::get_one::<String>("SELECT current_database()::text")
            .unwrap()
            .unwrap()
    }

    #[pg_test]
    fn table_without_db_id_is_400() {
        for call in [
            "learnings_list(\"table\" => 'agno_learnings')",
            "learnings_get('x', \"table\" => 'agno_learnings')",
            "learnings_create(learning_type => 'decision_log', content => '{}', \"table\" => 'agno_learnings')",
            "learnings_update('x', '{}', \"table\" => 'agno_learnings')",
            "learnings_delete('x', \"table\" => 'agno_learnings')",
            "learnings_list_users(\"table\" => 'agno_learnings')",
            "learnings_delete_user('u', \"table\" => 'agno_learnings')",
        ] {
            assert_fails(&format!("SELECT {call}"), "22023");
        }
        assert_eq!(rows(), 0);
        // Parameter validation comes first, as FastAPI validates before AgentOS's handler.
        assert_fails(
            "SELECT learnings_list(\"limit\" => 0, \"table\" => 'agno_learnings')",
            "PT422",
        );
    }

    #[pg_test]
    fn db_id_must_name_this_database() {
        let db = db();
        json(&format!("SELECT learnings_list(db_id => '{db}')"));
        json(&format!(
            "SELECT learnings_list(db_id => '{db}', \"table\" => 'agno_learnings')"
        ));
        assert_fails("SELECT learnings_list(db_id => 'elsewhere')", "PT404");
        assert_fails(
            "SELECT learnings_create(learning_type => 'decision_log', content => '{}', db_id => 'elsewhere')",
            "PT404",
        );
        assert_eq!(rows(), 0);
    }

    #[pg_test]
    fn unknown_tables_are_404() {
        let db = db();
        run("CREATE TABLE public.not_registered (x int)");
        for table in [
            "not_registered",
            "pg_class",
            "public.agno_learnings",
            "agno_learnings\"; DROP TABLE agno_learnings; --",
            "nosuchschema.agno_learnings",
            "\"agno_learnings\"",
        ] {
            assert_fails(
                &format!(
                    "SELECT learnings_list(db_id => '{db}', \"table\" => {})",
                    pgrx::spi::quote_literal(table)
                ),
                "PT404",
            );
        }
    }

    #[pg_test]
    fn registered_tables_are_separate_and_indexed() {
        let db = db();
        run("CREATE SCHEMA other");
        run(&format!("CREATE TABLE other.team_learnings {AGNO_LAYOUT}"));
        assert_eq!(
            Spi::get_one::<String>("SELECT learnings_register_table('other.team_learnings')")
                .unwrap()
                .as_deref(),
            Some("team_learnings")
        );
        // Idempotent.
        run("SELECT learnings_register_table('other.team_learnings')");
        let on_team = format!("db_id => '{db}', \"table\" => 'team_learnings'");
        let created = json(&format!(
            "SELECT learnings_create(learning_type => 'user_profile', user_id => 'alice', content => '{{}}', {on_team})"
        ));
        assert_eq!(created["learning_id"], "user_profile_alice");
        assert_eq!(int("SELECT count(*) FROM other.team_learnings"), 1);
        assert_eq!(rows(), 0);
        assert_eq!(
            json(&format!("SELECT learnings_list({on_team})"))["meta"]["total_count"],
            1
        );
        assert_fails("SELECT learnings_get('user_profile_alice')", "PT404");
        json(&format!(
            "SELECT learnings_get('user_profile_alice', {on_team})"
        ));
        run(&format!(
            "SELECT learnings_delete('user_profile_alice', {on_team})"
        ));
        assert_eq!(int("SELECT count(*) FROM other.team_learnings"), 0);
        // The API's sort and per-user indexes were added.
        assert_eq!(
            int("SELECT count(*) FROM pg_indexes WHERE schemaname = 'other' AND tablename = 'team_learnings'"),
            14
        );
    }

    #[pg_test]
    fn registering_a_table_of_another_layout_fails() {
        run("CREATE TABLE public.wrong (learning_id text PRIMARY KEY, content json)");
        assert_fails("SELECT learnings_register_table('public.wrong')", "42P16");
        run(&format!(
            "CREATE TABLE public.no_key {}",
            AGNO_LAYOUT.replace(" PRIMARY KEY", "")
        ));
        assert_fails("SELECT learnings_register_table('public.no_key')", "42P16");
        run(&format!(
            "CREATE TABLE public.extra_required {}",
            AGNO_LAYOUT.replace(
                "updated_at bigint)",
                "updated_at bigint, tenant text NOT NULL)"
            )
        ));
        assert_fails(
            "SELECT learnings_register_table('public.extra_required')",
            "42P16",
        );
        run("CREATE VIEW public.a_view AS SELECT 1 AS x");
        assert_fails("SELECT learnings_register_table('public.a_view')", "42809");
        for (column, bad_type) in [
            ("content", "text"),
            ("metadata", "json"),
            ("created_at", "integer"),
            ("user_id", "uuid"),
        ] {
            run(&format!(
                "CREATE TABLE public.bad_{column} (LIKE public.agno_learnings INCLUDING ALL)"
            ));
            run(&format!(
                "ALTER TABLE public.bad_{column} ALTER {column} TYPE {bad_type} USING NULL"
            ));
            assert_fails(
                &format!("SELECT learnings_register_table('public.bad_{column}')"),
                "42P16",
            );
        }
        assert_fails("SELECT learnings_register_table(NULL)", "22023");
        assert_eq!(
            int("SELECT count(*) FROM agno_learnings_internal.learnings_tables"),
            1
        );
    }

    #[pg_test]
    fn a_name_is_never_repointed() {
        run("CREATE SCHEMA tenant");
        run(&format!("CREATE TABLE tenant.agno_learnings {AGNO_LAYOUT}"));
        // Another schema's agno_learnings cannot take over the default name…
        assert_fails(
            "SELECT learnings_register_table('tenant.agno_learnings')",
            "42710",
        );
        // …nor be registered under a second name once it has one.
        assert_eq!(
            Spi::get_one::<String>(
                "SELECT learnings_register_table('tenant.agno_learnings', 'tenant')"
            )
            .unwrap()
            .as_deref(),
            Some("tenant")
        );
        assert_fails(
            "SELECT learnings_register_table('tenant.agno_learnings', 'other')",
            "42710",
        );
        assert_fails(
            "SELECT learnings_register_table('tenant.agno_learnings', '')",
            "22023",
        );
        assert_eq!(
            Spi::get_one::<String>(
                "SELECT schema_name::text FROM agno_learnings_internal.learnings_tables WHERE name = 'agno_learnings'"
            )
            .unwrap()
            .as_deref(),
            Some("public")
        );
        // Unregistering frees the name and keeps the table.
        assert_eq!(
            Spi::get_one::<bool>("SELECT learnings_unregister_table('tenant')").unwrap(),
            Some(true)
        );
        assert_eq!(
            Spi::get_one::<bool>("SELECT learnings_unregister_table('tenant')").unwrap(),
            Some(false)
        );
        assert_fails(
            &format!(
                "SELECT learnings_list(db_id => '{}', \"table\" => 'tenant')",
                db()
            ),
            "PT404",
        );
        assert_eq!(int("SELECT count(*) FROM tenant.agno_learnings"), 0);
    }

    #[pg_test]
    fn a_table_without_its_security_is_not_served() {
        let db = db();
        run("CREATE SCHEMA tenant");
        run(&format!("CREATE TABLE tenant.t {AGNO_LAYOUT}"));
        run("SELECT learnings_register_table('tenant.t')");
        let on_t = format!("SELECT learnings_list(db_id => '{db}', \"table\" => 't')");
        json(&on_t);
        // Dropped and re-created under the same name: not served until registered again.
        run("DROP TABLE tenant.t");
        run(&format!("CREATE TABLE tenant.t {AGNO_LAYOUT}"));
        assert_fails(&on_t, "PT404");
        run("SELECT learnings_register_table('tenant.t')");
        json(&on_t);
        run("ALTER TABLE tenant.t DISABLE ROW LEVEL SECURITY");
        assert_fails(&on_t, "PT404");
    }

    #[pg_test]
    fn long_table_names_keep_every_index() {
        let name = "a_very_long_learnings_table_name_for_one_of_many_tenants_xyz";
        run(&format!("CREATE TABLE public.{name} {AGNO_LAYOUT}"));
        run(&format!("SELECT learnings_register_table('public.{name}')"));
        assert_eq!(
            int(&format!(
                "SELECT count(*) FROM pg_indexes WHERE tablename = '{name}'"
            )),
            14
        );
    }

    #[pg_test]
    fn only_trusted_owners_tables_are_registered() {
        // The owner of a table, and any role that may add triggers to it, runs code in
        // every client's writes: an app role's table is refused, with the way out.
        run("CREATE ROLE tenant_app");
        run("CREATE SCHEMA tenant_a");
        run(&format!("CREATE TABLE tenant_a.learnings {AGNO_LAYOUT}"));
        run("ALTER TABLE tenant_a.learnings OWNER TO tenant_app");
        assert_fails(
            "SELECT learnings_register_table('tenant_a.learnings')",
            "42501",
        );
        // Given to the runtime (the owner of the extension's table, here the superuser)…
        run("ALTER TABLE tenant_a.learnings OWNER TO CURRENT_USER");
        // …but with TRIGGER granted to another role, still refused.
        run("GRANT TRIGGER ON tenant_a.learnings TO tenant_app");
        assert_fails(
            "SELECT learnings_register_table('tenant_a.learnings')",
            "42501",
        );
        run("REVOKE TRIGGER ON tenant_a.learnings FROM tenant_app");
        assert_eq!(
            Spi::get_one::<String>("SELECT learnings_register_table('tenant_a.learnings')")
                .unwrap()
                .as_deref(),
            Some("learnings")
        );
        // Registration added the row guard and dropped the identifying statistics.
        assert_eq!(
            int(
                "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'tenant_a.learnings'::regclass \
                 AND tgname = 'learnings_guard_row'"
            ),
            1
        );
        assert_eq!(
            Spi::get_one::<String>(
                "SELECT string_agg(attname, ', ') FROM pg_attribute \
                  WHERE attrelid = 'tenant_a.learnings'::regclass AND attnum > 0 AND attstattarget = 0"
            )
            .unwrap()
            .as_deref(),
            Some("user_id")
        );
    }
}

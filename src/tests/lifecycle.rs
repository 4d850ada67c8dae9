//! Contract section 1: DROP EXTENSION never destroys learnings.

#[pgrx::pg_schema]
mod tests {
    use crate::tests::support::*;
    use pgrx::prelude::*;

    #[pg_test]
    fn drop_extension_is_refused_while_learnings_exist() {
        insert_row("p_alice", "user_profile", Some("alice"), 1, None);
        assert_fails("DROP EXTENSION agno_learnings", "2BP01");
        assert_fails("DROP EXTENSION agno_learnings CASCADE", "2BP01");
        assert_fails(
            "DROP EXTENSION IF EXISTS pg_trgm, agno_learnings CASCADE",
            "2BP01",
        );
        assert_fails("DROP SCHEMA public CASCADE", "2BP01");
        assert_eq!(rows(), 1);
        // Other extensions and schemas are dropped as usual: one the server ships (the
        // servers tested have contrib's pg_trgm or pgvector, not always both).
        let other = Spi::get_one::<String>(
            "SELECT name::text FROM pg_available_extensions \
              WHERE name IN ('pg_trgm', 'vector') AND installed_version IS NULL ORDER BY name LIMIT 1",
        )
        .expect("pg_available_extensions")
        .expect("the server ships neither pg_trgm nor pgvector");
        run(&format!("CREATE EXTENSION {other}"));
        run(&format!("DROP EXTENSION {other}"));
        run("CREATE SCHEMA scratch");
        run("DROP SCHEMA scratch CASCADE");
    }

    // Detached, the table is no longer the extension's to drop: the guard lets the drop
    // through, and PostgreSQL itself stops it for the table's policies (CASCADE would
    // drop just those; the table and its rows stay).
    #[pg_test(error = "cannot drop extension agno_learnings because other objects depend on it")]
    fn a_detached_table_is_not_guarded() {
        insert_row("p_alice", "user_profile", Some("alice"), 1, None);
        run("ALTER EXTENSION agno_learnings DROP TABLE public.agno_learnings");
        run("DROP EXTENSION agno_learnings");
    }

    #[pg_test(
        error = "dropping extension agno_learnings would delete the learnings in public.agno_learnings"
    )]
    fn the_refusal_names_the_table() {
        insert_row("p_alice", "user_profile", Some("alice"), 1, None);
        run("DROP EXTENSION agno_learnings");
    }

    #[pg_test]
    fn the_extensions_event_triggers_never_fail_other_roles_ddl() {
        // Event triggers run as whoever runs DDL: a role with no privilege on the
        // extension's schema must still create, alter and drop its own tables.
        run("CREATE ROLE plain");
        run("REVOKE USAGE ON SCHEMA public FROM PUBLIC");
        run("CREATE SCHEMA other AUTHORIZATION plain");
        run("SET LOCAL ROLE plain");
        run("CREATE TABLE other.t (a int)");
        run("ALTER TABLE other.t ADD COLUMN b int");
        run("ALTER TABLE other.t OWNER TO plain");
        run("DROP SCHEMA other CASCADE");
        run("RESET ROLE");
        // The owner of the extension's table altering it changes no recorded owner.
        run("ALTER TABLE agno_learnings OWNER TO plain");
        run("GRANT USAGE ON SCHEMA public TO plain");
        run("SET LOCAL ROLE plain");
        run("ALTER TABLE agno_learnings ALTER COLUMN metadata SET STORAGE EXTENDED");
        run("RESET ROLE");
        assert_eq!(
            Spi::get_one::<String>(
                "SELECT owner::text FROM agno_learnings_internal.learnings_table_owner"
            )
            .unwrap()
            .as_deref(),
            Some("plain")
        );
    }
}

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
        // Other extensions and schemas are dropped as usual.
        run("CREATE EXTENSION pg_trgm");
        run("DROP EXTENSION pg_trgm");
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
}

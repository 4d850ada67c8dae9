//! The caller is resolved once per statement and reused by the API function, its
//! policies and its triggers (src/caller/mod.rs), and never served stale: each change a
//! resolution depends on makes it resolve again, with the answer the change calls for.
//!
//! A `#[pg_test]` runs as one top-level statement, so every call below shares a
//! statement unless the test starts a new one.

#[pgrx::pg_schema]
mod tests {
    use crate::caller::resolutions;
    use crate::identity::forwarded::Decision;
    use crate::identity::Reach;
    use crate::tests::support::*;
    use pgrx::prelude::*;
    use serde_json::json as j;

    const ALICE: &str = r#"{"sub": "alice", "scopes": ["learnings:read", "learnings:write"]}"#;
    const BOB: &str = r#"{"sub": "bob", "scopes": ["learnings:read", "learnings:write"]}"#;

    fn seed() {
        insert_row("p_alice", "user_profile", Some("alice"), 1, Some(1));
        insert_row("p_bob", "user_profile", Some("bob"), 2, Some(2));
        client_role("app");
    }

    fn listed() -> Vec<String> {
        ids(&json("SELECT learnings_list()"))
    }

    /// Resolutions `f` caused.
    fn resolved_by(f: impl FnOnce()) -> u64 {
        let before = resolutions();
        f();
        resolutions() - before
    }

    #[pg_test]
    fn one_resolution_serves_the_function_its_policies_and_triggers() {
        seed();
        as_role("app", Some(ALICE), || {
            // A get (the function, and the SELECT policy's InitPlans of its statement), a
            // list, a plain SELECT, a create (the INSERT policy and the row trigger) and
            // an update: one resolution for all of them, in one statement.
            let count = resolved_by(|| {
                json("SELECT learnings_get('p_alice')");
                assert_eq!(listed(), ["p_alice"]);
                assert_eq!(visible_ids(), ["p_alice"]);
                json("SELECT learnings_create(learning_type => 'decision_log', content => '{}')");
            });
            assert_eq!(count, 1);
        });
    }

    #[pg_test]
    fn a_new_statement_resolves_again() {
        seed();
        as_role("app", Some(ALICE), || {
            assert_eq!(resolved_by(|| assert_eq!(listed(), ["p_alice"])), 1);
            assert_eq!(resolved_by(|| assert_eq!(listed(), ["p_alice"])), 0);
            // What PostgreSQL does when the next statement of a transaction starts.
            std::thread::sleep(std::time::Duration::from_millis(2));
            unsafe { pg_sys::SetCurrentStatementStartTimestamp() };
            assert_eq!(resolved_by(|| assert_eq!(listed(), ["p_alice"])), 1);
        });
    }

    #[pg_test]
    fn set_role_and_reset_role() {
        seed();
        // No claims: the client role must present a token; the superuser is trusted.
        as_role("app", None, || {
            assert_fails("SELECT learnings_list()", "PT401");
            run("RESET ROLE");
            assert_eq!(listed(), ["p_bob", "p_alice"]);
            run("SET LOCAL ROLE app");
            assert_fails("SELECT learnings_list()", "PT401");
        });
    }

    #[pg_test]
    fn new_claims_in_the_same_statement() {
        seed();
        as_role("app", Some(ALICE), || {
            assert_eq!(listed(), ["p_alice"]);
            Spi::run_with_args(
                "SELECT set_config('request.jwt.claims', $1, true)",
                &[BOB.into()],
            )
            .unwrap();
            assert_eq!(listed(), ["p_bob"]);
            assert_eq!(visible_ids(), ["p_bob"]);
        });
    }

    #[pg_test]
    fn a_setting_changed_in_the_same_statement() {
        seed();
        // The claims name a subject under another claim; the resolution reads the setting.
        let claims = r#"{"uid": "bob", "sub": "alice", "scopes": ["learnings:read"]}"#;
        as_role("app", Some(claims), || {
            assert_eq!(listed(), ["p_alice"]);
            run("RESET ROLE");
            set("user_id_claim", "uid");
            run("SET LOCAL ROLE app");
            assert_eq!(listed(), ["p_bob"]);
        });
    }

    #[pg_test]
    fn a_new_token_of_the_same_user() {
        let _secret = configure_keys();
        seed();
        as_role("app", None, || {
            let mut read_only = claims("alice");
            read_only["scopes"] = j!(["learnings:read"]);
            authenticate(&hs256(&read_only));
            assert_fails(
                "SELECT learnings_create(learning_type => 'decision_log', content => '{}')",
                "42501",
            );
            // A fresh token with the write scope counts at once, in the same statement.
            authenticate(&hs256(&claims("alice")));
            json("SELECT learnings_create(learning_type => 'decision_log', content => '{}')");
        });
    }

    #[pg_test]
    fn a_token_verified_in_a_rolled_back_subtransaction_is_forgotten() {
        let _secret = configure_keys();
        seed();
        let token = hs256(&claims("alice"));
        as_role("app", None, || {
            // Verified inside a block that fails: rolled back with it.
            Spi::run_with_args(
                "SELECT set_config('tests.token', $1, true)",
                &[token.as_str().into()],
            )
            .unwrap();
            run("DO $$ BEGIN \
                   BEGIN PERFORM learnings_authenticate(current_setting('tests.token')); \
                         RAISE EXCEPTION 'rolled back'; \
                   EXCEPTION WHEN raise_exception THEN NULL; END; \
                 END $$");
            assert_fails("SELECT learnings_list()", "PT401");
            // Verified in a block that ends well: it stays.
            run("DO $$ BEGIN \
                   BEGIN PERFORM learnings_authenticate(current_setting('tests.token')); \
                   EXCEPTION WHEN raise_exception THEN NULL; END; \
                 END $$");
            assert_eq!(listed(), ["p_alice"]);
            // A later subtransaction that fails takes nothing verified before it.
            run("DO $$ BEGIN \
                   BEGIN RAISE EXCEPTION 'rolled back'; \
                   EXCEPTION WHEN raise_exception THEN NULL; END; \
                 END $$");
            assert_eq!(listed(), ["p_alice"]);
        });
    }

    #[pg_test]
    fn claims_that_expire_within_the_statement() {
        seed();
        set("jwt_leeway", "0");
        let expiring =
            j!({"sub": "alice", "scopes": ["learnings:read"], "exp": epoch_now() + 1}).to_string();
        as_role("app", Some(&expiring), || {
            assert_eq!(listed(), ["p_alice"]);
            std::thread::sleep(std::time::Duration::from_millis(2100));
            // Kept for the statement, and still checked at every use.
            assert_fails("SELECT learnings_list()", "PT401");
            assert_eq!(visible_ids(), Vec::<String>::new());
        });
    }

    /// A cluster key file for one test, removed when it ends.
    struct KeyFile(std::path::PathBuf);

    impl Drop for KeyFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn decision_for(sub: &str) -> String {
        let decision = Decision {
            role: "app".into(),
            db: Spi::get_one::<String>("SELECT current_database()::text")
                .unwrap()
                .unwrap(),
            exp: epoch_now() + 60,
            sub: Some(sub.into()),
            read: Reach::Own,
            write: Reach::None,
            delete: Reach::None,
            api: None,
            http: false,
        };
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &decision,
            &jsonwebtoken::EncodingKey::from_secret(SECRET),
        )
        .unwrap()
    }

    #[pg_test]
    fn a_new_forwarded_decision_in_the_same_statement() {
        seed();
        let path = std::env::temp_dir().join(format!(
            "agno_learnings_test_cluster_{}",
            std::process::id()
        ));
        std::fs::write(&path, SECRET).unwrap();
        let _key = KeyFile(path.clone());
        set("cluster_secret_file", path.to_str().unwrap());
        // This session as one Citus opened on a worker: only a forwarded decision counts.
        run("SET LOCAL application_name = 'citus_internal gpid=10000000001'");
        as_role("app", None, || {
            assert_fails("SELECT learnings_list()", "PT401");
            let forward = |sub: &str| {
                Spi::run_with_args(
                    "SELECT set_config('agno_learnings.forwarded_caller', $1, true)",
                    &[decision_for(sub).as_str().into()],
                )
                .unwrap()
            };
            forward("alice");
            assert_eq!(visible_ids(), ["p_alice"]);
            forward("bob");
            assert_eq!(visible_ids(), ["p_bob"]);
        });
    }
}

//! Contract section 5: tokens verified inside the database by `learnings_authenticate`,
//! and every kind of bad token, each refused with PT401 and changing nothing.

#[pgrx::pg_schema]
mod tests {
    use crate::tests::support::*;
    use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
    use pgrx::prelude::*;
    use serde_json::{json as j, Value};

    const RSA_PRIVATE: &[u8] = include_bytes!("../../tests/keys/rsa_private.pem");
    const RSA_PUBLIC: &str = include_str!("../../tests/keys/rsa_public.pem");
    const RSA_OTHER_PRIVATE: &[u8] = include_bytes!("../../tests/keys/rsa_other_private.pem");
    const EC_PRIVATE: &[u8] = include_bytes!("../../tests/keys/ec_private.pem");
    const EC_PUBLIC: &str = include_str!("../../tests/keys/ec_public.pem");
    const JWKS: &str = include_str!("../../tests/keys/jwks.json");

    /// Base64url without padding, to forge token parts by hand.
    fn b64(value: &Value) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let bytes = value.to_string().into_bytes();
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
            for i in 0..=chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            }
        }
        out
    }

    fn rs256(claims: &Value, key: &[u8], kid: Option<&str>) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = kid.map(str::to_string);
        encode(&header, claims, &EncodingKey::from_rsa_pem(key).unwrap()).unwrap()
    }

    fn refused(token: &str) {
        assert_eq!(
            Spi::get_one_with_args::<String>(
                "SELECT tests.sqlstate_of(format('SELECT learnings_authenticate(%L)', $1::text))",
                &[token.into()],
            )
            .unwrap()
            .as_deref(),
            Some("PT401"),
            "{}",
            &token[..token.len().min(200)]
        );
    }

    fn policy_user() -> Option<String> {
        Spi::get_one::<String>("SELECT agno_learnings_internal.learnings_policy_user()").unwrap()
    }

    #[pg_test]
    fn a_verified_token_is_the_caller_until_the_transaction_ends() {
        let _secret = configure_keys();
        insert_row("p_alice", "user_profile", Some("alice"), 1, None);
        insert_row("p_bob", "user_profile", Some("bob"), 1, None);
        client_role("app");
        // To ask the policy helper by name (policies call it by oid, without this).
        run("GRANT USAGE ON SCHEMA agno_learnings_internal TO app");
        run("SET LOCAL agno_learnings.require_token = on");
        as_role("app", None, || {
            assert_fails("SELECT learnings_list()", "PT401");
            let who = authenticate(&hs256(&claims("alice")));
            assert_eq!(
                who,
                j!({"user_id": "alice", "scopes": ["learnings:read", "learnings:write", "learnings:delete"], "admin": false})
            );
            assert_eq!(visible_ids(), ["p_alice"]);
            assert_eq!(ids(&json("SELECT learnings_list()")), ["p_alice"]);
            // The same user may present a fresh token; another user may not.
            authenticate(&hs256(&claims("alice")));
            refused(&hs256(&claims("bob")));
            assert_eq!(policy_user().as_deref(), Some("alice"));
            // A verified token outranks PostgREST's claims.
            Spi::run("SELECT set_config('request.jwt.claims', '{\"sub\": \"bob\", \"scopes\": \"agent_os:admin\"}', true)").unwrap();
            assert_eq!(visible_ids(), ["p_alice"]);
        });
    }

    #[pg_test]
    fn every_key_kind_verifies() {
        let _secret = configure_keys();
        authenticate(&hs256(&claims("alice")));
        set("jwt_public_key", RSA_PUBLIC);
        authenticate(&rs256(&claims("alice"), RSA_PRIVATE, None));
        let ps256 = encode(
            &Header::new(Algorithm::PS256),
            &claims("alice"),
            &EncodingKey::from_rsa_pem(RSA_PRIVATE).unwrap(),
        )
        .unwrap();
        authenticate(&ps256);
        set("jwt_public_key", EC_PUBLIC);
        let es256 = encode(
            &Header::new(Algorithm::ES256),
            &claims("alice"),
            &EncodingKey::from_ec_pem(EC_PRIVATE).unwrap(),
        )
        .unwrap();
        authenticate(&es256);
        set("jwt_public_key", "");
        set("jwt_jwks", JWKS);
        authenticate(&rs256(&claims("alice"), RSA_PRIVATE, Some("test-rsa-1")));
        // Scopes as OAuth's space-separated string; the admin scope; a numeric subject.
        let who = authenticate(&hs256(
            &j!({"sub": "alice", "scopes": "agent_os:admin learnings:read", "exp": epoch_now() + 60}),
        ));
        assert_eq!(who["admin"], true);
        assert_eq!(who["scopes"], j!(["agent_os:admin", "learnings:read"]));
    }

    #[pg_test]
    fn configured_claim_names_and_admin_scope() {
        let _secret = configure_keys();
        set("user_id_claim", "uid");
        set("scopes_claim", "scope");
        set("admin_scope", "ops:all");
        let who = authenticate(&hs256(
            &j!({"uid": "carol", "scope": "ops:all", "exp": epoch_now() + 60}),
        ));
        assert_eq!(
            who,
            j!({"user_id": "carol", "scopes": ["ops:all"], "admin": true})
        );
    }

    #[pg_test]
    fn bad_tokens_are_401_and_change_nothing() {
        let _secret = configure_keys();
        set("jwt_public_key", RSA_PUBLIC);
        set("jwt_audience", "agent-os");
        set("jwt_issuer", "https://issuer.example");
        let good = |extra: Value| {
            let mut c = claims("alice");
            c["aud"] = j!("agent-os");
            c["iss"] = j!("https://issuer.example");
            for (k, v) in extra.as_object().unwrap() {
                c[k] = v.clone();
            }
            c
        };
        let valid = hs256(&good(j!({})));
        let parts: Vec<&str> = valid.split('.').collect();
        let mut attacks: Vec<(&str, String)> = vec![
            (
                "alg none",
                format!("{}.{}.", b64(&j!({"alg": "none", "typ": "JWT"})), parts[1]),
            ),
            (
                "HS256 signed with the RSA public key",
                encode(
                    &Header::new(Algorithm::HS256),
                    &good(j!({})),
                    &EncodingKey::from_secret(RSA_PUBLIC.as_bytes()),
                )
                .unwrap(),
            ),
            ("wrong key", rs256(&good(j!({})), RSA_OTHER_PRIVATE, None)),
            (
                "tampered payload",
                format!(
                    "{}.{}.{}",
                    parts[0],
                    b64(&good(j!({"sub": "bob"}))),
                    parts[2]
                ),
            ),
            (
                "expired beyond the leeway",
                hs256(&good(j!({"exp": epoch_now() - 30}))),
            ),
            ("not valid yet", hs256(&good(j!({"nbf": epoch_now() + 60})))),
            ("wrong audience", hs256(&good(j!({"aud": "someone-else"})))),
            (
                "no audience",
                hs256(&{
                    let mut c = good(j!({}));
                    c.as_object_mut().unwrap().remove("aud");
                    c
                }),
            ),
            ("audience of the wrong type", hs256(&good(j!({"aud": 123})))),
            (
                "wrong issuer",
                hs256(&good(j!({"iss": "https://evil.example"}))),
            ),
            (
                "no expiry",
                hs256(&{
                    let mut c = good(j!({}));
                    c.as_object_mut().unwrap().remove("exp");
                    c
                }),
            ),
            (
                "expiry as text",
                hs256(&good(j!({"exp": (epoch_now() + 60).to_string()}))),
            ),
            ("malformed base64", "eyJ!!!.e30.c2ln".to_string()),
            ("not a JWT", "hello".to_string()),
            ("empty", String::new()),
            (
                "a megabyte",
                format!("{}.{}.{}", parts[0], "A".repeat(1 << 20), parts[2]),
            ),
            (
                "reserved subject sa:",
                hs256(&good(j!({"sub": "sa:robot"}))),
            ),
            (
                "reserved subject __scheduler__",
                hs256(&good(j!({"sub": "__scheduler__"}))),
            ),
            (
                "reserved subject __oauth__:",
                hs256(&good(j!({"sub": "__oauth__:client"}))),
            ),
            (
                "subject of the wrong type",
                hs256(&good(j!({"sub": {"id": 1}}))),
            ),
            ("critical header", {
                let mut header = Header::new(Algorithm::HS256);
                header.crit = Some(vec!["exp".into()]);
                encode(&header, &good(j!({})), &EncodingKey::from_secret(SECRET)).unwrap()
            }),
        ];
        // An unknown kid when a JWKS is configured.
        attacks.push((
            "unknown kid",
            rs256(&good(j!({})), RSA_PRIVATE, Some("nope")),
        ));
        set("jwt_jwks", JWKS);
        for (what, token) in &attacks {
            assert_eq!(
                Spi::get_one_with_args::<String>(
                    "SELECT tests.sqlstate_of(format('SELECT learnings_authenticate(%L)', $1::text))",
                    &[token.as_str().into()],
                )
                .unwrap()
                .as_deref(),
                Some("PT401"),
                "{what}"
            );
            // Nothing changed: the transaction is still unauthenticated.
            assert_eq!(policy_user(), None, "{what}");
        }
        // The good token passes, so each refusal above was for its one defect.
        authenticate(&hs256(&good(j!({}))));
        // Within the leeway (10 s by default), a just-expired token still passes.
        authenticate(&hs256(&good(j!({"exp": epoch_now() - 5}))));
        // An algorithm that is not allowed.
        set("jwt_algorithms", "RS256");
        refused(&hs256(&good(j!({}))));
        authenticate(&rs256(&good(j!({})), RSA_PRIVATE, None));
    }

    #[pg_test]
    fn a_megabyte_token_is_refused_quickly() {
        let _secret = configure_keys();
        let token = format!("{}.{}.x", "e".repeat(20), "A".repeat(1 << 20));
        let start = std::time::Instant::now();
        refused(&token);
        assert!(start.elapsed() < std::time::Duration::from_secs(1));
    }

    #[pg_test]
    fn no_key_configured_refuses_everything() {
        refused(&hs256(&claims("alice")));
        refused(&rs256(&claims("alice"), RSA_PRIVATE, None));
    }

    #[pg_test]
    fn the_secret_is_not_readable_by_ordinary_roles() {
        let _secret = configure_keys();
        client_role("app");
        // To ask the policy helper by name (policies call it by oid, without this).
        run("GRANT USAGE ON SCHEMA agno_learnings_internal TO app");
        let path =
            Spi::get_one::<String>("SELECT current_setting('agno_learnings.jwt_secret_file')")
                .unwrap()
                .unwrap();
        as_role("app", None, || {
            assert_fails(&format!("SELECT pg_read_file('{path}')"), "42501");
            assert_fails(&format!("SELECT pg_read_binary_file('{path}')"), "42501");
            assert_fails(&format!("COPY (SELECT 1) TO '{path}.copy'"), "42501");
        });
    }

    #[pg_test]
    fn a_verified_token_expires_in_the_middle_of_a_transaction() {
        let _secret = configure_keys();
        insert_row("p_alice", "user_profile", Some("alice"), 1, None);
        client_role("app");
        // To ask the policy helper by name (policies call it by oid, without this).
        run("GRANT USAGE ON SCHEMA agno_learnings_internal TO app");
        as_role("app", None, || {
            // Expired 5 s ago, within the 10 s leeway: accepted…
            let mut c = claims("alice");
            c["exp"] = j!(epoch_now() - 5);
            authenticate(&hs256(&c));
            assert_eq!(visible_ids(), ["p_alice"]);
        });
        // …and checked again at every use, not only at verification: once the leeway is
        // gone (here: set to 0 rather than waiting), the identity is gone.
        set("jwt_leeway", "0");
        as_role("app", None, || {
            assert_eq!(policy_user(), None);
            assert_eq!(visible_ids(), Vec::<String>::new());
            assert_fails("SELECT learnings_list()", "PT401");
        });
    }
}

//! Helpers for the `#[pg_test]`s.

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use pgrx::prelude::*;
use serde_json::{json as j, Value};

#[pg_schema]
mod tests {
    // Runs a statement and returns its SQLSTATE, or NULL when it succeeds. The statement
    // runs in a subtransaction, as an API call from a client would be rolled back.
    pgrx::extension_sql!(
        r#"
GRANT USAGE ON SCHEMA tests TO PUBLIC;
CREATE FUNCTION tests.sqlstate_of(statement text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE statement;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END
$$;

-- EXPLAIN (FORMAT JSON) of a statement, as the caller sees it.
CREATE FUNCTION tests.explain_json(statement text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE plan jsonb;
BEGIN
    EXECUTE 'EXPLAIN (FORMAT JSON) ' || statement INTO plan;
    RETURN plan;
END
$$;

-- The message and detail a failing statement raises, as jsonb (for PGRST errors).
CREATE FUNCTION tests.error_parts(statement text, OUT message jsonb, OUT detail jsonb)
LANGUAGE plpgsql AS $$
DECLARE m text; d text;
BEGIN
    EXECUTE statement;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL;
    message := m::jsonb;
    detail := d::jsonb;
END
$$;
"#,
        name = "tests_support",
    );
}

/// The jsonb a query returns.
pub fn json(sql: &str) -> Value {
    Spi::get_one::<pgrx::JsonB>(sql)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .unwrap_or_else(|| panic!("{sql}: NULL"))
        .0
}

/// The SQLSTATE `sql` fails with, or None when it succeeds.
pub fn sqlstate(sql: &str) -> Option<String> {
    Spi::get_one_with_args::<String>("SELECT tests.sqlstate_of($1)", &[sql.into()]).unwrap()
}

/// Asserts that `sql` fails with `code`.
#[track_caller]
pub fn assert_fails(sql: &str, code: &str) {
    assert_eq!(sqlstate(sql).as_deref(), Some(code), "{sql}");
}

pub fn run(sql: &str) {
    Spi::run(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
}

pub fn int(sql: &str) -> i64 {
    Spi::get_one::<i64>(sql)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .unwrap_or_else(|| panic!("{sql}: NULL"))
}

/// Number of rows in the default learnings table.
pub fn rows() -> i64 {
    int("SELECT count(*) FROM agno_learnings")
}

/// A fingerprint of the whole default table, to show an error changed nothing.
pub fn snapshot() -> String {
    Spi::get_one::<String>(
        "SELECT coalesce(md5(string_agg(t::text, '|' ORDER BY learning_id)), '') FROM agno_learnings t",
    )
    .unwrap()
    .unwrap_or_default()
}

/// Inserts a row directly, with controlled timestamps.
pub fn insert_row(
    id: &str,
    learning_type: &str,
    user_id: Option<&str>,
    created_at: i64,
    updated_at: Option<i64>,
) {
    Spi::run_with_args(
        "INSERT INTO agno_learnings (learning_id, learning_type, user_id, content, created_at, updated_at) \
         VALUES ($1, $2, $3, '{}'::jsonb, $4, $5)",
        &[id.into(), learning_type.into(), user_id.into(), created_at.into(), updated_at.into()],
    )
    .unwrap();
}

/// The learning_ids of a list envelope, in order.
pub fn ids(envelope: &Value) -> Vec<String> {
    envelope["data"]
        .as_array()
        .expect("data is an array")
        .iter()
        .map(|r| r["learning_id"].as_str().expect("learning_id").to_string())
        .collect()
}

/// A role that is neither the table's owner nor a superuser, with the privileges a
/// client role gets on the default table: RLS applies to it.
pub fn client_role(name: &str) {
    run(&format!("CREATE ROLE {name} NOLOGIN"));
    run(&format!(
        "GRANT SELECT, INSERT, UPDATE, DELETE ON agno_learnings TO {name}"
    ));
}

/// Runs `f` as `role` with PostgREST-style `claims` (NULL: none) for this transaction.
/// The test's session stands in for PostgREST's authenticator: its claims are trusted
/// (agno_learnings.claims_login_roles names it) for this transaction.
pub fn as_role<T>(role: &str, claims: Option<&str>, f: impl FnOnce() -> T) -> T {
    run("SELECT set_config('agno_learnings.claims_login_roles', session_user, true)");
    match claims {
        Some(claims) => Spi::run_with_args(
            "SELECT set_config('request.jwt.claims', $1, true)",
            &[claims.into()],
        ),
        None => Spi::run("SELECT set_config('request.jwt.claims', '', true)"),
    }
    .unwrap();
    run(&format!("SET LOCAL ROLE {role}"));
    let result = f();
    run("RESET ROLE");
    result
}

/// The learning_ids a plain `SELECT` returns, in order.
pub fn visible_ids() -> Vec<String> {
    Spi::connect(|client| {
        client
            .select(
                "SELECT learning_id FROM agno_learnings ORDER BY learning_id",
                None,
                &[],
            )
            .unwrap()
            .map(|row| row.get::<String>(1).unwrap().unwrap())
            .collect()
    })
}

// ---------------------------------------------------------------------------------------
// Tokens the tests verify with learnings_authenticate (HS256, a secret file per test).

pub const SECRET: &[u8] = b"a-test-secret-of-at-least-32-bytes!!";

pub fn epoch_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// AgentOS-style claims of `sub` with the three learnings scopes, valid 5 minutes.
pub fn claims(sub: &str) -> Value {
    j!({"sub": sub, "scopes": ["learnings:read", "learnings:write", "learnings:delete"], "exp": epoch_now() + 300})
}

pub fn hs256(claims: &Value) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(SECRET),
    )
    .unwrap()
}

/// The HMAC secret file of one test, removed when the test ends.
pub struct SecretFile(std::path::PathBuf);

impl Drop for SecretFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Writes the secret file (with a trailing newline, as editors leave it) and
/// configures it for this transaction.
pub fn configure_keys() -> SecretFile {
    let path =
        std::env::temp_dir().join(format!("agno_learnings_test_secret_{}", std::process::id()));
    std::fs::write(&path, [SECRET, b"\n"].concat()).unwrap();
    set("jwt_secret_file", path.to_str().unwrap());
    SecretFile(path)
}

/// Sets `agno_learnings.<setting>` for this transaction.
pub fn set(setting: &str, value: &str) {
    Spi::run_with_args(
        "SELECT set_config('agno_learnings.' || $1, $2, true)",
        &[setting.into(), value.into()],
    )
    .unwrap();
}

pub fn authenticate(token: &str) -> Value {
    Spi::get_one_with_args::<pgrx::JsonB>("SELECT learnings_authenticate($1)", &[token.into()])
        .unwrap()
        .unwrap()
        .0
}

//! The security settings (contract section 5), as PostgreSQL settings.
//!
//! Layer: base (uses nothing of the crate). Every setting here is `SUSET`: only a
//! superuser changes it, per database or role with `ALTER DATABASE/ROLE … SET`, or in
//! postgresql.conf (the one other, `forwarded_caller`, is identity/forwarded.rs's). The `agno_learnings.` prefix is
//! reserved once the library is loaded, and a value a non-superuser `SET` before that (a
//! placeholder) is discarded by PostgreSQL when the library defines the setting; the
//! extension only ever reads these values through the library, never through SQL.
//!
//! The HMAC secret is the one value that must stay secret, and values set with
//! `ALTER … SET` are readable by every role in `pg_db_role_setting`, so the settings only
//! name the file that holds it (readable by the server's OS user alone).

use std::ffi::{CStr, CString};

use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};
use pgrx::pg_sys;

pub static USER_ISOLATION: GucSetting<bool> = GucSetting::<bool>::new(true);
pub static ENFORCE_SCOPES: GucSetting<bool> = GucSetting::<bool>::new(true);
pub static TRUST_REQUEST_CLAIMS: GucSetting<bool> = GucSetting::<bool>::new(true);
pub static REQUIRE_TOKEN: GucSetting<bool> = GucSetting::<bool>::new(true);
pub static CLAIMS_LOGIN_ROLES: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(Some(c"learnings_authenticator"));
pub static TRUSTED_ROLES: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
pub static USER_ID_CLAIM: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(Some(c"sub"));
pub static SCOPES_CLAIM: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(Some(c"scopes"));
pub static ADMIN_SCOPE: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(Some(c"agent_os:admin"));
pub static JWT_SECRET_FILE: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
pub static JWT_PUBLIC_KEY: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
pub static JWT_JWKS: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
pub static JWT_ALGORITHMS: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
pub static JWT_AUDIENCE: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
pub static JWT_ISSUER: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
pub static JWT_LEEWAY: GucSetting<i32> = GucSetting::<i32>::new(10);
/// The key a Citus cluster's nodes sign and verify forwarded callers with (base/citus.rs).
pub static CLUSTER_SECRET_FILE: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(None);

/// Largest `content`, `metadata` or PATCH body accepted, in bytes of jsonb: 1 MiB.
pub static MAX_DOCUMENT_BYTES: GucSetting<i32> = GucSetting::<i32>::new(1 << 20);

/// Largest accepted leeway, in seconds: a day of clock skew is already absurd.
pub const MAX_LEEWAY: i32 = 86_400;

/// Defines the settings; called once per backend when the library is loaded.
pub fn init() {
    let switches: [(&'static CStr, &'static CStr, &'static GucSetting<bool>); 4] = [
        (
            c"agno_learnings.user_isolation",
            c"Bind authenticated non-admin callers to their own learnings (and shared rows).",
            &USER_ISOLATION,
        ),
        (
            c"agno_learnings.enforce_scopes",
            c"Require the learnings:read/write/delete scopes of authenticated callers.",
            &ENFORCE_SCOPES,
        ),
        (
            c"agno_learnings.trust_request_claims",
            c"Accept PostgREST's request.jwt.claims as the caller's verified claims.",
            &TRUST_REQUEST_CLAIMS,
        ),
        (
            c"agno_learnings.require_token",
            c"Refuse callers subject to row-level security that present neither a verified token nor trusted claims, unless listed in trusted_roles.",
            &REQUIRE_TOKEN,
        ),
    ];
    for (name, description, setting) in switches {
        GucRegistry::define_bool_guc(
            name,
            description,
            c"",
            setting,
            GucContext::Suset,
            GucFlags::default(),
        );
    }
    let texts: [(&'static CStr, &'static CStr, &'static GucSetting<Option<CString>>); 12] = [
        (c"agno_learnings.claims_login_roles", c"Login roles (comma-separated) whose sessions' request.jwt.claims are PostgREST's: PostgREST's authenticator.", &CLAIMS_LOGIN_ROLES),
        (c"agno_learnings.trusted_roles", c"Roles (comma-separated, members included) that may act without a token as trusted backends.", &TRUSTED_ROLES),
        (c"agno_learnings.user_id_claim", c"Claim holding the caller's user id.", &USER_ID_CLAIM),
        (c"agno_learnings.scopes_claim", c"Claim holding the caller's scopes (a list, or a space-separated string).", &SCOPES_CLAIM),
        (c"agno_learnings.admin_scope", c"Scope that grants full access.", &ADMIN_SCOPE),
        (c"agno_learnings.jwt_secret_file", c"File holding the HMAC secret for HS256/384/512 tokens (read by the server).", &JWT_SECRET_FILE),
        (c"agno_learnings.jwt_public_key", c"PEM public key (RSA, EC or Ed25519) for RS*/PS*/ES*/EdDSA tokens.", &JWT_PUBLIC_KEY),
        (c"agno_learnings.jwt_jwks", c"JWKS (JSON) whose keys are chosen by the token's kid.", &JWT_JWKS),
        (c"agno_learnings.jwt_algorithms", c"Accepted JWT algorithms, comma-separated; empty accepts those of the configured keys.", &JWT_ALGORITHMS),
        (c"agno_learnings.jwt_audience", c"Required aud claim value; empty: not checked.", &JWT_AUDIENCE),
        (c"agno_learnings.jwt_issuer", c"Required iss claim value; empty: not checked.", &JWT_ISSUER),
        (c"agno_learnings.cluster_secret_file", c"File holding the key the nodes of a Citus cluster sign forwarded callers with (the same on every node).", &CLUSTER_SECRET_FILE),
    ];
    for (name, description, setting) in texts {
        GucRegistry::define_string_guc(
            name,
            description,
            c"",
            setting,
            GucContext::Suset,
            GucFlags::default(),
        );
    }
    GucRegistry::define_int_guc(
        c"agno_learnings.jwt_leeway",
        c"Seconds of clock skew allowed when checking exp and nbf.",
        c"",
        &JWT_LEEWAY,
        0,
        MAX_LEEWAY,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"agno_learnings.max_document_bytes",
        c"Largest content, metadata or update body accepted, in bytes of jsonb.",
        c"",
        &MAX_DOCUMENT_BYTES,
        1024,
        i32::MAX,
        GucContext::Suset,
        GucFlags::default(),
    );
}

/// Reserves the `agno_learnings.` prefix: after this, `SET agno_learnings.<anything
/// undefined>` fails instead of creating a placeholder, and placeholders set before the
/// library loaded are dropped. Called once every setting of the library is defined (a
/// placeholder of a setting defined later would be lost: Citus sets the forwarded
/// caller before a worker session loads the library).
pub fn reserve_prefix() {
    // SAFETY: a plain call at library load.
    unsafe {
        pg_sys::MarkGUCPrefixReserved(c"agno_learnings".as_ptr());
    }
}

/// A text setting, with empty meaning unset.
pub fn text(setting: &GucSetting<Option<CString>>) -> Option<String> {
    setting
        .get()
        .and_then(|v| v.into_string().ok())
        .filter(|v| !v.trim().is_empty())
}

/// The roles a comma-separated role-list setting names; unknown names are skipped (a role
/// created later counts from then on).
pub fn roles(setting: &GucSetting<Option<CString>>) -> Vec<pg_sys::Oid> {
    let Some(list) = text(setting) else {
        return Vec::new();
    };
    list.split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .filter_map(|name| CString::new(name).ok())
        // SAFETY: a catalog lookup by name; missing_ok returns InvalidOid.
        .map(|name| unsafe { pg_sys::get_role_oid(name.as_ptr(), true) })
        .filter(|oid| *oid != pg_sys::InvalidOid)
        .collect()
}

/// The document size cap, in bytes.
pub fn max_document_bytes() -> usize {
    usize::try_from(MAX_DOCUMENT_BYTES.get()).unwrap_or(usize::MAX)
}

/// A hash of the current values of `names` (unset and empty alike), read in place: what
/// is kept for the values of settings is checked against it without copying them.
pub fn fingerprint(names: &[&CStr]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for name in names {
        // SAFETY: GetConfigOption returns NULL or the setting's current value, read at once.
        let value = unsafe { pg_sys::GetConfigOption(name.as_ptr(), true, false) };
        if value.is_null() {
            hasher.write_u8(0);
        } else {
            hasher.write_u8(1);
            unsafe { CStr::from_ptr(value) }
                .to_bytes()
                .hash(&mut hasher);
        }
    }
    hasher.finish()
}

/// Any setting by name (for example PostgREST's `request.jwt.claims`), with unset and
/// empty both meaning absent: a pooled connection keeps `''` after an earlier SET LOCAL.
pub fn current(name: &CStr) -> Option<String> {
    // SAFETY: GetConfigOption returns NULL or a pointer to the setting's current value,
    // which is copied before anything can change it.
    let value = unsafe { pg_sys::GetConfigOption(name.as_ptr(), true, false) };
    if value.is_null() {
        return None;
    }
    let value = unsafe { CStr::from_ptr(value) }
        .to_string_lossy()
        .into_owned();
    (!value.is_empty()).then_some(value)
}

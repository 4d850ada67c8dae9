//! Verifying JWTs inside the database with `jsonwebtoken`, against the keys the
//! administrator configured (see [`crate::base::settings`]).
//!
//! The key is chosen by the token's algorithm family (a `kid` selects from the JWKS), so
//! a key of one family can never verify a token of another: an HS256 token "signed" with
//! the RSA public key is checked against the HMAC secret, not the public key. Every
//! `Validation` field is set explicitly; the crate's defaults (60 s leeway, no `nbf`,
//! `aud` rejected when unconfigured) are not AgentOS's.
//!
//! Layer: base (uses settings).

use std::str::FromStr;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, Header, Validation};
use serde_json::{Map, Value};

use crate::base::settings::{
    self, JWT_ALGORITHMS, JWT_AUDIENCE, JWT_ISSUER, JWT_JWKS, JWT_LEEWAY, JWT_PUBLIC_KEY,
};

/// Longest token accepted. Real tokens are a few hundred bytes to a few kB; refusing
/// larger ones before decoding keeps a hostile megabyte from costing anything.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// The claims of a verified token.
pub type Claims = Map<String, Value>;

/// Why a token was refused, in words fit for the caller (never key material).
pub type Refusal = String;

/// Verifies `token` and returns its claims.
pub fn verify(token: &str) -> Result<Claims, Refusal> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(format!("token is longer than {MAX_TOKEN_BYTES} bytes"));
    }
    let header = jsonwebtoken::decode_header(token).map_err(|e| describe(e.kind()))?;
    if header.crit.is_some() {
        return Err("tokens with critical header parameters (crit) are not accepted".into());
    }
    if !allowed_algorithms()?.contains(&header.alg) {
        return Err(format!("algorithm {:?} is not accepted", header.alg));
    }
    let key = key_for(&header)?;
    let data = jsonwebtoken::decode::<Claims>(token, &key, &validation(header.alg)?)
        .map_err(|e| describe(e.kind()))?;
    Ok(data.claims)
}

/// The configured audience and issuer, checked on claims some other verifier accepted
/// (PostgREST's): `aud` (a string or a list) must name the audience, `iss` be the issuer.
pub fn check_required_claims(claims: &Claims) -> Result<(), Refusal> {
    if let Some(audience) = settings::text(&JWT_AUDIENCE) {
        let matches = match claims.get("aud") {
            Some(Value::String(aud)) => *aud == audience,
            Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(&audience)),
            _ => false,
        };
        if !matches {
            return Err("token is for another audience".into());
        }
    }
    if let Some(issuer) = settings::text(&JWT_ISSUER) {
        if claims.get("iss").and_then(Value::as_str) != Some(issuer.as_str()) {
            return Err("token is from another issuer".into());
        }
    }
    Ok(())
}

fn validation(alg: Algorithm) -> Result<Validation, Refusal> {
    let mut validation = Validation::new(alg);
    validation.algorithms = vec![alg];
    validation.leeway = u64::try_from(leeway_seconds()).unwrap_or(0);
    validation.reject_tokens_expiring_in_less_than = 0;
    validation.validate_exp = true;
    validation.validate_nbf = true;
    let mut required = vec!["exp"];
    // A claim that is checked must also be present with the right type: the crate
    // skips a check whose claim is missing or not a string unless it is required.
    match settings::text(&JWT_AUDIENCE) {
        Some(audience) => {
            validation.validate_aud = true;
            validation.set_audience(&[audience]);
            required.push("aud");
        }
        None => validation.validate_aud = false,
    }
    if let Some(issuer) = settings::text(&JWT_ISSUER) {
        validation.set_issuer(&[issuer]);
        required.push("iss");
    }
    validation.set_required_spec_claims(&required);
    Ok(validation)
}

/// The configured algorithms, or all whose key family is configured.
fn allowed_algorithms() -> Result<Vec<Algorithm>, Refusal> {
    match settings::text(&JWT_ALGORITHMS) {
        Some(list) => list
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|name| !name.is_empty())
            .map(|name| {
                Algorithm::from_str(name).map_err(|_| {
                    format!("agno_learnings.jwt_algorithms names an unknown algorithm '{name}'")
                })
            })
            .collect(),
        None => Ok(vec![
            Algorithm::HS256,
            Algorithm::HS384,
            Algorithm::HS512,
            Algorithm::RS256,
            Algorithm::RS384,
            Algorithm::RS512,
            Algorithm::PS256,
            Algorithm::PS384,
            Algorithm::PS512,
            Algorithm::ES256,
            Algorithm::ES384,
            Algorithm::EdDSA,
        ]),
    }
}

/// The configured key for this token: by `kid` from the JWKS, else the secret (HMAC) or
/// the public key (RSA, EC, Ed25519) of the algorithm's family.
fn key_for(header: &Header) -> Result<DecodingKey, Refusal> {
    let family = header.alg.family();
    let jwks = settings::text(&JWT_JWKS);
    let key = match (&header.kid, jwks) {
        (Some(kid), Some(jwks)) => jwks_key(&jwks, kid, header.alg)?,
        (None, Some(_))
            if family != AlgorithmFamily::Hmac && settings::text(&JWT_PUBLIC_KEY).is_none() =>
        {
            return Err("token has no key id (kid)".into());
        }
        _ if family == AlgorithmFamily::Hmac => DecodingKey::from_secret(&secret()?),
        _ => public_key(family)?,
    };
    if key.family() != family {
        return Err("token's algorithm does not match its key".into());
    }
    Ok(key)
}

fn jwks_key(jwks: &str, kid: &str, alg: Algorithm) -> Result<DecodingKey, Refusal> {
    let set: JwkSet = serde_json::from_str(jwks)
        .map_err(|_| "agno_learnings.jwt_jwks is not a valid JWKS".to_string())?;
    let jwk = set
        .find(kid)
        .ok_or_else(|| "token's key id (kid) is not known".to_string())?;
    if let Some(key_alg) = jwk.common.key_algorithm {
        if Algorithm::try_from(key_alg).ok() != Some(alg) {
            return Err("token's algorithm does not match its key".into());
        }
    }
    DecodingKey::from_jwk(jwk).map_err(|_| "token's key (kid) cannot be used".to_string())
}

fn public_key(family: AlgorithmFamily) -> Result<DecodingKey, Refusal> {
    let pem = settings::text(&JWT_PUBLIC_KEY)
        .ok_or_else(|| format!("no public key is configured for {family:?} tokens"))?;
    let parsed = match family {
        AlgorithmFamily::Rsa => DecodingKey::from_rsa_pem(pem.as_bytes()),
        AlgorithmFamily::Ec => DecodingKey::from_ec_pem(pem.as_bytes()),
        AlgorithmFamily::Ed => DecodingKey::from_ed_pem(pem.as_bytes()),
        AlgorithmFamily::Hmac => return Err("HMAC tokens are checked with the secret".into()),
    };
    parsed.map_err(|_| format!("no {family:?} public key is configured"))
}

/// The HMAC secret: the contents of `agno_learnings.jwt_secret_file`, without one
/// trailing newline (as editors leave it).
fn secret() -> Result<Vec<u8>, Refusal> {
    let path = settings::text(&settings::JWT_SECRET_FILE)
        .ok_or_else(|| "no secret is configured for HS256/384/512 tokens".to_string())?;
    let mut secret = std::fs::read(&path)
        .map_err(|_| "the configured JWT secret file cannot be read".to_string())?;
    if secret.ends_with(b"\n") {
        secret.pop();
        if secret.ends_with(b"\r") {
            secret.pop();
        }
    }
    if secret.is_empty() {
        return Err("the configured JWT secret file is empty".into());
    }
    Ok(secret)
}

fn describe(kind: &ErrorKind) -> Refusal {
    match kind {
        ErrorKind::ExpiredSignature => "token has expired".into(),
        ErrorKind::ImmatureSignature => "token is not valid yet (nbf)".into(),
        ErrorKind::InvalidAudience => "token is for another audience".into(),
        ErrorKind::InvalidIssuer => "token is from another issuer".into(),
        ErrorKind::InvalidSignature => "token signature is invalid".into(),
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
            "token algorithm is not accepted".into()
        }
        ErrorKind::MissingRequiredClaim(claim) => format!("token has no valid {claim} claim"),
        ErrorKind::InvalidKeyFormat | ErrorKind::InvalidRsaKey(_) | ErrorKind::InvalidEcdsaKey => {
            "token cannot be checked with the configured key".into()
        }
        _ => "token is malformed".into(),
    }
}

/// Now, in epoch seconds (the unit of `exp`).
pub fn now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Whether `exp` (epoch seconds) has passed, beyond the configured leeway: the rule for
/// an identity kept after its token was verified (a principal, a forwarded decision).
pub fn has_expired(exp: i64) -> bool {
    now_seconds() > exp.saturating_add(i64::from(leeway_seconds()))
}

/// The configured clock-skew allowance for `exp` and `nbf`, in seconds (0–86400).
pub fn leeway_seconds() -> i32 {
    JWT_LEEWAY.get().clamp(0, settings::MAX_LEEWAY)
}

#[cfg(test)]
mod unit_tests {
    use super::*;

    #[test]
    fn oversized_tokens_are_refused_before_decoding() {
        let token = "a".repeat(MAX_TOKEN_BYTES + 1);
        assert!(verify(&token).unwrap_err().contains("longer"));
    }

    #[test]
    fn garbage_is_malformed() {
        for token in [
            "",
            "abc",
            "a.b.c",
            "!!!.???.***",
            "eyJhbGciOiJub25lIn0.e30.",
        ] {
            assert!(verify(token).is_err(), "{token}");
        }
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever a caller sends as a token (garbage, three dot-separated segments of
        /// anything, JSON headers of any shape), verification refuses it with a reason
        /// and never panics: no key is configured here, so nothing can verify.
        #[test]
        fn any_token_is_refused_without_panicking(
            garbage in "\\PC{0,200}",
            segments in proptest::collection::vec("[A-Za-z0-9_=-]{0,80}", 3),
            header in "\\{\"alg\": *\"[A-Za-z0-9]{0,8}\"(, *\"(kid|crit|typ)\": *(\"[^\"]{0,10}\"|\\[\\]|1))?\\}",
        ) {
            prop_assert!(verify(&garbage).is_err());
            prop_assert!(verify(&segments.join(".")).is_err());
            let encoded = base64_url(header.as_bytes());
            let token = format!("{encoded}.{}.{}", segments[1], segments[2]);
            prop_assert!(verify(&token).is_err());
        }
    }

    /// Unpadded base64url, as JWT segments are.
    fn base64_url(bytes: &[u8]) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        bytes
            .chunks(3)
            .flat_map(|chunk| {
                let n = chunk.iter().fold(0u32, |n, b| (n << 8) | u32::from(*b))
                    << (8 * (3 - chunk.len()));
                (0..=chunk.len())
                    .map(move |i| ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char)
            })
            .collect()
    }
}

//! Identity-keyed learning ids, exactly as agno 3.1.10's `build_learning_id` derives them.
//!
//! The agent's learning stores address their records by these ids, so a record created
//! through the API must carry the same id or the agent never sees it (and writes a
//! duplicate next to it). Types outside the identity-keyed set get a random UUID, which
//! the database generates.
//!
//! Layer: base (uses errors).

use sha2::{Digest, Sha256};

use crate::base::errors::{ApiError, ApiResult};

/// agno's default sharing namespace for entity memory.
pub const DEFAULT_NAMESPACE: &str = "global";

/// The identity fields of a record to be created. Empty strings count as missing, as
/// agno's truthiness checks treat them.
#[derive(Clone, Copy, Debug, Default)]
pub struct Identity<'a> {
    pub learning_type: &'a str,
    pub user_id: Option<&'a str>,
    pub session_id: Option<&'a str>,
    pub entity_id: Option<&'a str>,
    pub entity_type: Option<&'a str>,
    pub namespace: Option<&'a str>,
}

/// The id a new record gets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LearningId {
    /// Derived from the identity fields: at most one record per identity.
    Keyed(String),
    /// Any other learning type: a fresh UUID per record.
    Generated,
}

fn present(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty())
}

/// The namespace an entity_memory record is stored under: a missing or empty one is
/// `global`. Other learning types keep what they were given.
pub fn stored_namespace<'a>(identity: &Identity<'a>) -> Option<&'a str> {
    match identity.learning_type {
        "entity_memory" => Some(present(identity.namespace).unwrap_or(DEFAULT_NAMESPACE)),
        _ => present(identity.namespace),
    }
}

/// First 16 hex characters of sha256(user_id): the user segment of a `user`-namespace
/// entity id. Fixed width, so no crafted user id can shift the segments after it.
pub fn user_key_segment(user_id: &str) -> String {
    let digest = Sha256::digest(user_id.as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `namespace` has the shape of a `user`-namespace key segment
/// (`user_[0-9a-f]{16}(_.*)?`). A record stored under it would occupy some user's key.
pub fn is_reserved_entity_namespace(namespace: &str) -> bool {
    let Some(rest) = namespace.strip_prefix("user_") else {
        return false;
    };
    let bytes = rest.as_bytes();
    bytes.len() >= 16
        && bytes[..16]
            .iter()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        && (bytes.len() == 16 || bytes[16] == b'_')
}

/// The id for a new record, or the contract's 422 when the identity is incomplete or
/// uses a reserved namespace.
pub fn learning_id(identity: &Identity) -> ApiResult<LearningId> {
    let Identity { learning_type, .. } = *identity;
    let user_id = present(identity.user_id);
    let keyed = |id: Option<String>| {
        id.map(LearningId::Keyed).ok_or_else(|| {
            ApiError::unprocessable(format!(
                "learning_type '{learning_type}' is keyed by its identity fields; provide the \
                 required field(s) (user_id, session_id, or entity_id + entity_type) so the record \
                 reconciles with the agent's store."
            ))
        })
    };
    match learning_type {
        "user_profile" => keyed(user_id.map(|u| format!("user_profile_{u}"))),
        "user_memory" => keyed(user_id.map(|u| format!("memories_{u}"))),
        "session_context" => {
            keyed(present(identity.session_id).map(|s| format!("session_context_{s}")))
        }
        "entity_memory" => {
            if let Some(ns) = identity
                .namespace
                .filter(|ns| is_reserved_entity_namespace(ns))
            {
                return Err(ApiError::unprocessable(format!(
                    "namespace '{ns}' is reserved: it has the key shape entity_memory uses for \
                     namespace=\"user\" records, so a record stored under it would occupy another \
                     user's key. Choose a different namespace."
                )));
            }
            let (Some(entity_id), Some(entity_type)) =
                (present(identity.entity_id), present(identity.entity_type))
            else {
                return keyed(None);
            };
            match stored_namespace(identity) {
                Some("user") => match user_id {
                    Some(u) => Ok(LearningId::Keyed(format!(
                        "entity_user_{}_{entity_type}_{entity_id}",
                        user_key_segment(u)
                    ))),
                    None => Err(ApiError::unprocessable(
                        "entity_memory under namespace=\"user\" is keyed by the owning user as well \
                         as the entity; provide user_id together with entity_id + entity_type so the \
                         record reconciles with the agent's store.",
                    )),
                },
                ns => Ok(LearningId::Keyed(format!(
                    "entity_{}_{entity_type}_{entity_id}",
                    ns.unwrap_or(DEFAULT_NAMESPACE)
                ))),
            }
        }
        _ => Ok(LearningId::Generated),
    }
}

#[cfg(test)]
mod unit_tests {
    use super::*;

    fn id(identity: Identity) -> LearningId {
        learning_id(&identity).expect("valid identity")
    }

    fn keyed(s: &str) -> LearningId {
        LearningId::Keyed(s.to_string())
    }

    // Expected values computed with agno 3.1.10:
    //   from agno.learn.utils import build_learning_id
    #[test]
    fn user_keyed_types() {
        let alice = Identity {
            user_id: Some("alice"),
            ..Default::default()
        };
        assert_eq!(
            id(Identity {
                learning_type: "user_profile",
                ..alice
            }),
            keyed("user_profile_alice")
        );
        assert_eq!(
            id(Identity {
                learning_type: "user_memory",
                ..alice
            }),
            keyed("memories_alice")
        );
    }

    #[test]
    fn session_context() {
        let identity = Identity {
            learning_type: "session_context",
            session_id: Some("s-42"),
            user_id: Some("alice"),
            ..Default::default()
        };
        assert_eq!(id(identity), keyed("session_context_s-42"));
    }

    #[test]
    fn entity_memory_defaults_to_global() {
        let bob = Identity {
            learning_type: "entity_memory",
            entity_id: Some("bob"),
            entity_type: Some("person"),
            ..Default::default()
        };
        assert_eq!(id(bob), keyed("entity_global_person_bob"));
        assert_eq!(
            id(Identity {
                namespace: Some(""),
                ..bob
            }),
            keyed("entity_global_person_bob")
        );
        assert_eq!(
            stored_namespace(&Identity {
                namespace: Some(""),
                ..bob
            }),
            Some("global")
        );
        assert_eq!(
            id(Identity {
                namespace: Some("acme"),
                ..bob
            }),
            keyed("entity_acme_person_bob")
        );
    }

    #[test]
    fn entity_memory_user_namespace_embeds_user_digest() {
        // build_learning_id("entity_memory", user_id="alice@example.com", entity_id="bob",
        //                   entity_type="person", namespace="user")
        let identity = Identity {
            learning_type: "entity_memory",
            namespace: Some("user"),
            user_id: Some("alice@example.com"),
            entity_id: Some("bob"),
            entity_type: Some("person"),
            ..Default::default()
        };
        assert_eq!(user_key_segment("alice@example.com"), "ff8d9819fc0e12bf");
        assert_eq!(
            id(identity),
            keyed("entity_user_ff8d9819fc0e12bf_person_bob")
        );
        assert_eq!(user_key_segment("alice"), "2bd806c97f0e00af");
    }

    #[test]
    fn other_types_get_generated_ids() {
        let identity = Identity {
            learning_type: "decision_log",
            ..Default::default()
        };
        assert_eq!(id(identity), LearningId::Generated);
        // agno's check is exact: a near-miss of an identity-keyed type is just another type.
        assert_eq!(
            id(Identity {
                learning_type: "User_Profile",
                ..identity
            }),
            LearningId::Generated
        );
    }

    #[test]
    fn missing_identity_fields_are_422() {
        for identity in [
            Identity {
                learning_type: "user_profile",
                ..Default::default()
            },
            Identity {
                learning_type: "user_memory",
                user_id: Some(""),
                ..Default::default()
            },
            Identity {
                learning_type: "session_context",
                user_id: Some("a"),
                ..Default::default()
            },
            Identity {
                learning_type: "entity_memory",
                entity_id: Some("bob"),
                ..Default::default()
            },
            Identity {
                learning_type: "entity_memory",
                namespace: Some("user"),
                entity_id: Some("bob"),
                entity_type: Some("person"),
                ..Default::default()
            },
        ] {
            let err = learning_id(&identity).expect_err("incomplete identity");
            assert_eq!(err.state.code(), "PT422", "{identity:?}");
        }
    }

    #[test]
    fn reserved_namespaces() {
        assert!(is_reserved_entity_namespace("user_0123456789abcdef"));
        assert!(is_reserved_entity_namespace("user_0123456789abcdef_person"));
        assert!(is_reserved_entity_namespace("user_0123456789abcdef_"));
        assert!(!is_reserved_entity_namespace("user"));
        assert!(!is_reserved_entity_namespace("user_0123456789abcde"));
        assert!(!is_reserved_entity_namespace("user_0123456789ABCDEF"));
        assert!(!is_reserved_entity_namespace("user_0123456789abcdefx"));
        assert!(!is_reserved_entity_namespace("users_0123456789abcdef"));

        let identity = Identity {
            learning_type: "entity_memory",
            namespace: Some("user_0123456789abcdef_x"),
            entity_id: Some("bob"),
            entity_type: Some("person"),
            ..Default::default()
        };
        assert_eq!(learning_id(&identity).unwrap_err().state.code(), "PT422");
        // Only entity_memory keys use the namespace; other types may use any.
        let other = Identity {
            learning_type: "decision_log",
            ..identity
        };
        assert_eq!(id(other), LearningId::Generated);
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// agno's formulas, for any non-empty identity fields.
        #[test]
        fn keyed_ids_follow_agnos_formulas(
            user in "\\PC{1,40}", session in "\\PC{1,40}",
            entity in "\\PC{1,40}", kind in "\\PC{1,20}", namespace in "[a-z]{1,12}",
        ) {
            let with = |learning_type| Identity {
                learning_type,
                user_id: Some(&user),
                session_id: Some(&session),
                entity_id: Some(&entity),
                entity_type: Some(&kind),
                namespace: Some(&namespace),
            };
            let keyed = |identity: Identity| match learning_id(&identity) {
                Ok(LearningId::Keyed(id)) => id,
                other => panic!("{other:?}"),
            };
            prop_assert_eq!(keyed(with("user_profile")), format!("user_profile_{user}"));
            prop_assert_eq!(keyed(with("user_memory")), format!("memories_{user}"));
            prop_assert_eq!(keyed(with("session_context")), format!("session_context_{session}"));
            let entity_id = keyed(with("entity_memory"));
            if namespace == "user" {
                let digest = user_key_segment(&user);
                prop_assert_eq!(digest.len(), 16);
                prop_assert_eq!(entity_id, format!("entity_user_{digest}_{kind}_{entity}"));
            } else {
                prop_assert_eq!(entity_id, format!("entity_{namespace}_{kind}_{entity}"));
            }
            prop_assert_eq!(learning_id(&with("decision_log")).unwrap(), LearningId::Generated);
        }

        /// Exactly the namespaces of the shape `user_<16 hex>(_…)?` are reserved.
        #[test]
        fn reserved_namespaces(hex in "[0-9a-f]{16}", rest in "(_\\PC{0,10})?", other in "\\PC{0,30}") {
            let reserved = format!("user_{hex}{rest}");
            prop_assert!(is_reserved_entity_namespace(&reserved));
            let shaped = other.strip_prefix("user_").is_some_and(|r| {
                r.len() >= 16
                    && r.as_bytes()[..16].iter().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
                    && (r.len() == 16 || r.as_bytes()[16] == b'_')
            });
            prop_assert_eq!(is_reserved_entity_namespace(&other), shaped);
        }
    }
}

//! Who is calling: API keys (stored hashed) resolve to a [`Principal`] with a
//! role. The admission middleware stores the outcome in the request's
//! extensions; handlers read it through the [`Caller`] extractor, and the
//! access rules ([`Caller::require`]) are the same for REST and GraphQL.

use axum::{extract::FromRequestParts, http::request::Parts};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{
    error::ApiError,
    settings::{ApiKey, Role},
};

/// An authenticated caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub role: Role,
    /// Set for customers: the only customer whose orders they may see.
    pub customer_id: Option<String>,
    /// Set for restaurant keys: the only restaurant whose orders they see and act on.
    pub restaurant_id: Option<String>,
    /// Set for courier keys: the courier they are (its deliveries and the
    /// unassigned ones, its own shift).
    pub courier_id: Option<String>,
    /// The first characters of the key's hash: names the key in logs and
    /// keys its rate-limit bucket without revealing it.
    pub key_id: String,
}

impl Principal {
    /// The customer a customer key acts as.
    pub fn own_customer(&self) -> Option<&str> {
        match self.role {
            Role::Customer => self.customer_id.as_deref(),
            Role::Restaurant | Role::Courier | Role::Ops => None,
        }
    }

    /// The restaurant a restaurant key acts for.
    pub fn own_restaurant(&self) -> Option<&str> {
        match self.role {
            Role::Restaurant => self.restaurant_id.as_deref(),
            Role::Customer | Role::Courier | Role::Ops => None,
        }
    }

    /// The courier a courier key is.
    pub fn own_courier(&self) -> Option<&str> {
        match self.role {
            Role::Courier => self.courier_id.as_deref(),
            Role::Customer | Role::Restaurant | Role::Ops => None,
        }
    }
}

/// The outcome of reading the `Authorization` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Authentication {
    Anonymous,
    Authenticated(Principal),
    /// A key was presented but is not accepted; the reason is for the client.
    Refused(&'static str),
}

/// Accepted keys by their SHA-256 digest.
///
/// A presented key is hashed and its digest compared with every accepted
/// digest in constant time ([`subtle`]), all of them every time: neither
/// how many bytes of a guess match nor where in the list a key sits shows
/// in how long the answer takes. A hash map keyed by the digest would
/// compare strings with `==`, which stops at the first differing byte.
#[derive(Debug, Default)]
pub struct KeyStore {
    keys: Vec<([u8; 32], Principal)>,
}

impl KeyStore {
    /// Refuses a customer, restaurant or courier key without the id it is
    /// bound to and hashes that are not hex SHA-256, so that a typo in the
    /// config fails at start (naming the key's index).
    pub fn new(keys: &[ApiKey]) -> anyhow::Result<Self> {
        let mut accepted = Vec::with_capacity(keys.len());
        for (i, key) in keys.iter().enumerate() {
            let hash = key.sha256.trim().to_ascii_lowercase();
            let mut digest = [0u8; 32];
            if hash.len() != 64 || hex::decode_to_slice(&hash, &mut digest).is_err() {
                anyhow::bail!("api_keys[{i}].sha256: expected 64 hex digits of a SHA-256 hash");
            }
            let bound = |wanted: Role, id: &Option<String>, field: &str| {
                if key.role != wanted {
                    return Ok(None);
                }
                match id.as_deref().map(str::trim) {
                    Some(id) if !id.is_empty() => Ok(Some(id.to_owned())),
                    _ => Err(anyhow::anyhow!(
                        "api_keys[{i}].{field}: required for a {} key",
                        wanted.as_str()
                    )),
                }
            };
            let principal = Principal {
                role: key.role,
                customer_id: bound(Role::Customer, &key.customer_id, "customer_id")?,
                restaurant_id: bound(Role::Restaurant, &key.restaurant_id, "restaurant_id")?,
                courier_id: bound(Role::Courier, &key.courier_id, "courier_id")?,
                key_id: hash[..12].to_owned(),
            };
            accepted.push((digest, principal));
        }
        Ok(Self { keys: accepted })
    }

    /// Resolves an `Authorization` header value (`Bearer <key>`).
    pub fn authenticate(&self, header: Option<&str>) -> Authentication {
        let Some(header) = header else {
            return Authentication::Anonymous;
        };
        match parse_bearer(header) {
            Some(key) => self.authenticate_key(key),
            None => Authentication::Refused("expected `Authorization: Bearer <key>`"),
        }
    }

    /// Resolves a raw key; see [`KeyStore`] for why every digest is
    /// compared. A digest listed twice resolves to its last entry.
    pub fn authenticate_key(&self, key: &str) -> Authentication {
        let presented: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        let mut found = None;
        for (digest, principal) in &self.keys {
            if bool::from(digest.ct_eq(&presented)) {
                found = Some(principal);
            }
        }
        match found {
            Some(p) => Authentication::Authenticated(p.clone()),
            None => Authentication::Refused("unknown API key"),
        }
    }
}

/// The key of a `Bearer` credential; the scheme is case-insensitive.
pub fn parse_bearer(header: &str) -> Option<&str> {
    let (scheme, key) = header.trim().split_once(' ')?;
    let key = key.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !key.is_empty()).then_some(key)
}

/// The caller of one request: anonymous or a principal. Extracting it fails
/// with 401 when a key was presented and refused.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Caller(pub Option<Principal>);

impl Caller {
    pub fn principal(&self) -> Option<&Principal> {
        self.0.as_ref()
    }

    /// The access rule of one operation: a principal with one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<&Principal, ApiError> {
        let p = self.0.as_ref().ok_or_else(|| {
            ApiError::unauthenticated("this call needs `Authorization: Bearer <key>`")
        })?;
        if roles.contains(&p.role) {
            Ok(p)
        } else {
            Err(ApiError::forbidden(format!(
                "a {} key may not do this",
                p.role.as_str()
            )))
        }
    }

    pub fn from_authentication(auth: Authentication) -> Result<Self, ApiError> {
        match auth {
            Authentication::Anonymous => Ok(Self(None)),
            Authentication::Authenticated(p) => Ok(Self(Some(p))),
            Authentication::Refused(why) => Err(ApiError::unauthenticated(why)),
        }
    }
}

/// The caller of a route that needs a key. Anonymous callers are refused
/// with 401 here, before the route reads its query or its body, so that a
/// call without a key is told so whatever else is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keyed(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for Keyed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        if caller.0.is_none() {
            return Err(ApiError::unauthenticated(
                "this call needs `Authorization: Bearer <key>`",
            ));
        }
        Ok(Self(caller))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let auth = parts
            .extensions
            .get::<Authentication>()
            .cloned()
            .unwrap_or(Authentication::Anonymous);
        Self::from_authentication(auth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use food_api::ErrorCode;

    fn store() -> KeyStore {
        KeyStore::new(&[
            ApiKey::new("cust-a", Role::Customer, Some("alice")),
            ApiKey::new("courier", Role::Courier, Some("courier-1")),
            ApiKey::new("kitchen", Role::Restaurant, Some("maison-tandoor")),
            ApiKey::new("ops", Role::Ops, None),
        ])
        .unwrap()
    }

    #[test]
    fn a_known_key_resolves_to_its_principal() {
        let Authentication::Authenticated(p) = store().authenticate(Some("Bearer cust-a")) else {
            panic!("expected a principal");
        };
        assert_eq!(p.role, Role::Customer);
        assert_eq!(p.own_customer(), Some("alice"));
        assert_eq!(p.key_id.len(), 12);
    }

    #[test]
    fn the_scheme_is_case_insensitive_and_spaces_are_tolerated() {
        assert!(matches!(
            store().authenticate(Some("bearer   ops ")),
            Authentication::Authenticated(_)
        ));
    }

    #[test]
    fn missing_header_is_anonymous_and_bad_keys_are_refused() {
        let s = store();
        assert_eq!(s.authenticate(None), Authentication::Anonymous);
        assert!(matches!(
            s.authenticate(Some("Bearer nope")),
            Authentication::Refused(_)
        ));
        assert!(matches!(
            s.authenticate(Some("Basic b3Bz")),
            Authentication::Refused(_)
        ));
        assert!(matches!(
            s.authenticate(Some("Bearer")),
            Authentication::Refused(_)
        ));
    }

    #[test]
    fn a_customer_key_without_a_customer_id_is_a_config_error() {
        let err = KeyStore::new(&[ApiKey::new("k", Role::Customer, None)]).unwrap_err();
        assert!(err.to_string().contains("customer_id"), "{err}");
    }

    #[test]
    fn courier_and_restaurant_keys_without_their_ids_are_config_errors_naming_the_key() {
        let err = KeyStore::new(&[
            ApiKey::new("ops", Role::Ops, None),
            ApiKey::new("c", Role::Courier, None),
        ])
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "api_keys[1].courier_id: required for a courier key"
        );
        let err = KeyStore::new(&[ApiKey::new("r", Role::Restaurant, Some("  "))]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "api_keys[0].restaurant_id: required for a restaurant key"
        );
    }

    #[test]
    fn scoped_keys_resolve_to_their_restaurant_and_courier() {
        let s = store();
        let Authentication::Authenticated(k) = s.authenticate(Some("Bearer kitchen")) else {
            panic!("expected a principal");
        };
        assert_eq!(k.own_restaurant(), Some("maison-tandoor"));
        assert_eq!((k.own_customer(), k.own_courier()), (None, None));
        let Authentication::Authenticated(c) = s.authenticate(Some("Bearer courier")) else {
            panic!("expected a principal");
        };
        assert_eq!(c.own_courier(), Some("courier-1"));
        assert_eq!(c.own_restaurant(), None);
    }

    #[test]
    fn keys_are_matched_by_their_whole_digest_whatever_their_place() {
        // Arrange: an upper-case stored hash, and guesses that share a
        // prefix with a real key or its digest.
        let ops = ApiKey {
            sha256: crate::settings::hash_key("ops").to_ascii_uppercase(),
            ..ApiKey::new("ops", Role::Ops, None)
        };
        let s =
            KeyStore::new(&[ApiKey::new("cust-a", Role::Customer, Some("alice")), ops]).unwrap();
        // Act + Assert
        assert!(matches!(
            s.authenticate_key("ops"),
            Authentication::Authenticated(Principal {
                role: Role::Ops,
                ..
            })
        ));
        for guess in [
            "op",
            "ops ",
            "cust-",
            "cust-a\0",
            &crate::settings::hash_key("ops"),
        ] {
            assert_eq!(
                s.authenticate_key(guess),
                Authentication::Refused("unknown API key"),
                "{guess:?}"
            );
        }
    }

    #[test]
    fn a_malformed_hash_is_a_config_error() {
        let key = ApiKey {
            sha256: "not-hex".into(),
            ..ApiKey::new("x", Role::Ops, None)
        };
        assert!(KeyStore::new(&[key]).is_err());
    }

    #[test]
    fn anonymous_callers_get_401_and_wrong_roles_403() {
        let anon = Caller(None);
        assert_eq!(
            anon.require(&[Role::Ops]).unwrap_err().code(),
            ErrorCode::Unauthenticated
        );
        let Authentication::Authenticated(courier) = store().authenticate(Some("Bearer courier"))
        else {
            panic!()
        };
        let caller = Caller(Some(courier));
        assert_eq!(
            caller
                .require(&[Role::Customer, Role::Ops])
                .unwrap_err()
                .code(),
            ErrorCode::PermissionDenied
        );
        assert!(caller.require(&[Role::Courier]).is_ok());
    }
}

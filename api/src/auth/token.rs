//! Access tokens: HS256 JWTs this API issues at login, and (optionally) RS256 tokens from an
//! external identity provider. `exp`, `iat`, `sub`, `aud` and `iss` are required and checked;
//! any other algorithm, `none` included, is refused.
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header, encode};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Role;
use crate::config::{AppEnv, AuthConfig, DEVELOPMENT_JWT_SECRET, MIN_JWT_SECRET_BYTES};

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    role: Role,
    iss: String,
    aud: String,
    iat: i64,
    exp: i64,
    /// The sign-in session (refresh-token family); a token without one is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sid: Option<Uuid>,
}

/// What a valid token says about its bearer.
#[derive(Debug, Clone)]
pub enum Verified {
    /// One of our accounts, in a sign-in session; its current role and rights are read from
    /// the database, and the session must still be open.
    Account { id: Uuid, session: Option<Uuid> },
    /// A person known to the external identity provider, with the role its claim maps to,
    /// without an account here; `name` from the token's `name` claim (OpenID Connect), when it
    /// has one.
    External {
        subject: String,
        role: Role,
        name: Option<String>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "JWT_SECRET is not set; set it to a random string of at least {MIN_JWT_SECRET_BYTES} bytes, or run with APP_ENV=development"
    )]
    MissingSecret,
    #[error(
        "JWT_SECRET is the development secret; set a secret of your own, or run with APP_ENV=development"
    )]
    DevelopmentSecret,
    #[error("JWT_SECRET is shorter than {MIN_JWT_SECRET_BYTES} bytes")]
    ShortSecret,
    #[error("EXTERNAL_JWT_PUBLIC_KEY is not an RSA public key in PEM: {0}")]
    ExternalKey(jsonwebtoken::errors::Error),
    #[error("EXTERNAL_JWT_ISSUER must be set when EXTERNAL_JWT_PUBLIC_KEY is")]
    ExternalIssuer,
    #[error("EXTERNAL_JWT_ISSUER or EXTERNAL_JWT_ROLE_MAP is set, but EXTERNAL_JWT_PUBLIC_KEY is not")]
    ExternalWithoutKey,
    #[error("EXTERNAL_JWT_PUBLIC_KEY holds a private key: give the identity provider's public key")]
    ExternalPrivateKey,
    #[error("EXTERNAL_JWT_ROLE_MAP: {0}")]
    RoleMap(String),
}

struct External {
    key: DecodingKey,
    validation: Validation,
    role_claim: String,
    roles: HashMap<String, Role>,
}

pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    pub access_ttl: chrono::Duration,
    pub refresh_ttl: chrono::Duration,
    external: Option<External>,
    /// A key for keyed hashes of identifiers that must not be stored in clear (the clients
    /// of consultation responses), derived from the signing secret.
    hash_key: [u8; 32],
}

/// The clock skew allowed on an external identity provider's tokens.
const EXTERNAL_LEEWAY_SECS: u64 = 30;

/// How tokens are checked. `leeway_secs` is the clock skew allowed on `exp`: none for the
/// server's own tokens (they expire when they say, over HTTP as over WebSocket), 30 s for an
/// external identity provider's, whose clock is not ours.
fn validation(alg: Algorithm, issuer: &str, audience: &str, leeway_secs: u64) -> Validation {
    let mut v = Validation::new(alg);
    v.set_issuer(&[issuer]);
    v.set_audience(&[audience]);
    v.set_required_spec_claims(&["exp", "iat", "sub", "aud", "iss"]);
    v.leeway = leeway_secs;
    // A token not valid before a time to come (`nbf`, when it has one) is not valid yet.
    v.validate_nbf = true;
    v
}

impl Tokens {
    /// Checks the configuration: production needs a secret of its own.
    pub fn new(config: &AuthConfig) -> Result<Self, ConfigError> {
        let secret = match (&config.jwt_secret, config.app_env) {
            (Some(s), AppEnv::Production) if s.expose() == DEVELOPMENT_JWT_SECRET => {
                return Err(ConfigError::DevelopmentSecret);
            }
            (Some(s), AppEnv::Production) if s.expose().trim().len() < MIN_JWT_SECRET_BYTES => {
                return Err(ConfigError::ShortSecret);
            }
            (Some(s), _) => s.expose().to_owned(),
            (None, AppEnv::Production) => return Err(ConfigError::MissingSecret),
            (None, AppEnv::Development) => DEVELOPMENT_JWT_SECRET.to_owned(),
        };
        let external = match &config.external_jwt_public_key {
            None => {
                // Settings of an identity provider without its key would do nothing, silently.
                if config.external_jwt_issuer.is_some() || !config.external_jwt_role_map.trim().is_empty() {
                    return Err(ConfigError::ExternalWithoutKey);
                }
                None
            }
            Some(pem) => {
                if pem.contains("PRIVATE KEY") {
                    // It would verify nothing (and a private key does not belong here).
                    return Err(ConfigError::ExternalPrivateKey);
                }
                let key = DecodingKey::from_rsa_pem(pem.as_bytes()).map_err(ConfigError::ExternalKey)?;
                let issuer = config
                    .external_jwt_issuer
                    .as_deref()
                    .filter(|i| !i.trim().is_empty())
                    .ok_or(ConfigError::ExternalIssuer)?;
                let roles = role_map(&config.external_jwt_role_map)?;
                if roles.is_empty() {
                    return Err(ConfigError::RoleMap(
                        "empty: no external token could carry a role (e.g. `landdistrikt-koordinator=STAFF`)"
                            .into(),
                    ));
                }
                Some(External {
                    key,
                    validation: validation(
                        Algorithm::RS256,
                        issuer,
                        &config.external_jwt_audience,
                        EXTERNAL_LEEWAY_SECS,
                    ),
                    role_claim: config.external_jwt_role_claim.clone(),
                    roles,
                })
            }
        };
        Ok(Tokens {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            validation: validation(Algorithm::HS256, &config.jwt_issuer, &config.jwt_audience, 0),
            issuer: config.jwt_issuer.clone(),
            audience: config.jwt_audience.clone(),
            access_ttl: chrono::Duration::seconds(config.access_token_ttl_secs as i64),
            refresh_ttl: chrono::Duration::seconds(config.refresh_token_ttl_secs as i64),
            external,
            hash_key: crate::auth::secret::hmac_sha256(secret.as_bytes(), b"lup keyed hashes"),
        })
    }

    /// A keyed hash (HMAC-SHA256, hex) of `value` for `purpose`: the same value gives the same
    /// hash on every instance sharing the secret, and nobody without the secret can tell
    /// which value it was, even of a small set such as IP addresses.
    pub fn keyed_hash(&self, purpose: &str, value: &str) -> String {
        let message = format!("{purpose}\0{value}");
        crate::auth::secret::hmac_sha256(&self.hash_key, message.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// A signed access token for an account in the sign-in `session` (its refresh-token
    /// family), and when it expires.
    pub fn issue(
        &self,
        account: Uuid,
        role: Role,
        session: Uuid,
    ) -> Result<(String, DateTime<Utc>), jsonwebtoken::errors::Error> {
        let now = crate::common::now();
        let expires = now + self.access_ttl;
        let claims = Claims {
            sub: account.to_string(),
            role,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now.timestamp(),
            exp: expires.timestamp(),
            sid: Some(session),
        };
        Ok((
            encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?,
            expires,
        ))
    }

    /// Checks signature, algorithm, expiry, issuer and audience. The reason for a refusal is
    /// logged, never told to the client.
    pub fn verify(&self, token: &str) -> Option<Verified> {
        self.verify_until(token).map(|(verified, _)| verified)
    }

    /// Like [`Tokens::verify`], with when the token expires (its `exp`): a subscription ends
    /// then.
    pub fn verify_until(&self, token: &str) -> Option<(Verified, DateTime<Utc>)> {
        let header = decode_header(token)
            .inspect_err(|e| tracing::debug!(error = %e, "unreadable token header"))
            .ok()?;
        match header.alg {
            Algorithm::HS256 => {
                let data = decode::<Claims>(token, &self.decoding, &self.validation)
                    .inspect_err(|e| tracing::debug!(error = %e, "token refused"))
                    .ok()?;
                // Issued in the future: not by this server's clock.
                if data.claims.iat > crate::common::now().timestamp() + 30 {
                    tracing::debug!("token issued in the future");
                    return None;
                }
                // Only what this server issues: a token in a sign-in session (whose end ends it),
                // living no longer than ACCESS_TOKEN_TTL_SECS. A token signed with a leaked
                // secret still needs an open session's ID, and cannot be made to last.
                let Some(session) = data.claims.sid else {
                    tracing::debug!("token without a sign-in session");
                    return None;
                };
                if data.claims.exp - data.claims.iat > self.access_ttl.num_seconds() + 30 {
                    tracing::debug!("token living longer than the server issues them");
                    return None;
                }
                let expires = DateTime::from_timestamp(data.claims.exp, 0)?;
                let session = Some(session);
                Uuid::parse_str(&data.claims.sub)
                    .ok()
                    .map(|id| (Verified::Account { id, session }, expires))
            }
            Algorithm::RS256 => {
                let ext = self.external.as_ref()?;
                let data =
                    decode::<serde_json::Map<String, serde_json::Value>>(token, &ext.key, &ext.validation)
                        .inspect_err(|e| tracing::debug!(error = %e, "external token refused"))
                        .ok()?;
                // Issued in the future, beyond the clock skew allowed: not a token to take yet.
                if data
                    .claims
                    .get("iat")
                    .and_then(serde_json::Value::as_f64)
                    .is_some_and(|iat| {
                        iat > (crate::common::now().timestamp() + EXTERNAL_LEEWAY_SECS as i64) as f64
                    })
                {
                    tracing::debug!("external token issued in the future");
                    return None;
                }
                let subject = data.claims.get("sub")?.as_str()?.to_owned();
                // A person's name, as an account's is: one line of at most MAX_NAME characters,
                // without control or direction characters; an address is no name (some
                // providers put the email there, and a progress note's signature is public).
                let name = data
                    .claims
                    .get("name")
                    .and_then(serde_json::Value::as_str)
                    .map(|n| {
                        n.chars()
                            .filter(|c| !crate::write::refused_char(*c, false))
                            .collect::<String>()
                            .split_whitespace()
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .filter(|n| {
                        !n.is_empty() && !n.contains('@') && n.chars().count() <= crate::write::MAX_NAME
                    });
                let role = *ext.roles.get(data.claims.get(&ext.role_claim)?.as_str()?)?;
                // Required and checked by the validation: a number of seconds.
                let expires = DateTime::from_timestamp(data.claims.get("exp")?.as_f64()? as i64, 0)?;
                Some((Verified::External { subject, role, name }, expires))
            }
            other => {
                tracing::debug!(alg = ?other, "token with an algorithm we do not accept");
                None
            }
        }
    }
}

fn role_map(spec: &str) -> Result<HashMap<String, Role>, ConfigError> {
    let mut out = HashMap::new();
    for pair in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (value, role) = pair
            .split_once('=')
            .ok_or_else(|| ConfigError::RoleMap(format!("`{pair}` is not `claim-value=ROLE`")))?;
        let role = match role.trim() {
            "STAFF" => Role::Staff,
            "ADMIN" => Role::Admin,
            other => {
                return Err(ConfigError::RoleMap(format!(
                    "`{other}` is not a role an external token may carry (STAFF or ADMIN)"
                )));
            }
        };
        if out.insert(value.trim().to_owned(), role).is_some() {
            return Err(ConfigError::RoleMap(format!(
                "`{}` is mapped twice: which role it gives would be a guess",
                value.trim()
            )));
        }
    }
    Ok(out)
}

//! Standard Webhooks signatures (<https://www.standardwebhooks.com>): a secret is `whsec_`
//! and the base64 of random bytes; a message is signed as HMAC-SHA256 of
//! `{webhook-id}.{webhook-timestamp}.{body}` with the secret's bytes, sent as
//! `webhook-signature: v1,<base64 of the MAC>` (several, space-separated, while an old secret
//! still signs after a rotation).
use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;

/// What every secret starts with.
pub const PREFIX: &str = "whsec_";

/// Random bytes in a secret (the specification asks for 24 to 64).
pub const SECRET_BYTES: usize = 32;

/// A new secret: `whsec_` and the base64 of [`SECRET_BYTES`] random bytes.
pub fn new_secret() -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    rand::rng().fill(&mut bytes[..]);
    format!("{PREFIX}{}", STANDARD.encode(bytes))
}

/// `v1,<base64 MAC>` of one message with one secret; `None` when the secret is not one this
/// module made.
pub fn sign(secret: &str, message_id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = STANDARD.decode(secret.strip_prefix(PREFIX)?).ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(message_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    Some(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
}

/// The `webhook-signature` header: a signature with each secret, space-separated.
pub fn header(secrets: &[&str], message_id: &str, timestamp: i64, body: &str) -> Option<String> {
    let signatures: Vec<String> = secrets
        .iter()
        .filter_map(|s| sign(s, message_id, timestamp, body))
        .collect();
    (!signatures.is_empty()).then(|| signatures.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification's reference implementations.
    #[test]
    fn the_specifications_example() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
    }

    #[test]
    fn secrets() {
        let s = new_secret();
        assert!(s.starts_with(PREFIX));
        assert_eq!(STANDARD.decode(&s[PREFIX.len()..]).unwrap().len(), SECRET_BYTES);
        assert_ne!(s, new_secret());
        assert!(sign("not-a-secret", "m", 1, "b").is_none());
        let h = header(&[&s, &new_secret()], "m", 1, "b").unwrap();
        assert_eq!(h.split(' ').count(), 2);
    }
}

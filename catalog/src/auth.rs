//! Credentials: passwords are stored as PostgreSQL-style SCRAM-SHA-256 verifiers (a slow,
//! salted PBKDF2 hash that the pgwire front end can use for SCRAM without ever seeing the
//! password), bearer tokens as SHA-256 digests.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// PBKDF2 iterations, PostgreSQL's default.
pub const SCRAM_ITERATIONS: u32 = 4096;

/// A parsed SCRAM-SHA-256 verifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScramVerifier {
    /// PBKDF2 iterations.
    pub iterations: u32,
    /// Salt.
    pub salt: Vec<u8>,
    /// `H(ClientKey)`.
    pub stored_key: Vec<u8>,
    /// `HMAC(SaltedPassword, "Server Key")`.
    pub server_key: Vec<u8>,
}

fn hmac(key: &[u8], msg: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(msg);
    mac.finalize().into_bytes().to_vec()
}

impl ScramVerifier {
    /// Derives a verifier from a password with a fresh random salt.
    pub fn new(password: &str) -> Self {
        let mut salt = vec![0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        Self::with_salt(password, salt, SCRAM_ITERATIONS)
    }

    /// Derives a verifier with the given salt and iterations.
    ///
    /// The password is normalised with SASLprep (RFC 4013) first, as libpq does before its
    /// PBKDF2, so that `ｐａｓｓ１２３` and `pass123`, or a no-break space and a space, are the
    /// same password; when SASLprep refuses it (prohibited or unassigned characters, or nothing
    /// left after mapping) its raw bytes are used, as PostgreSQL and libpq both fall back to.
    pub fn with_salt(password: &str, salt: Vec<u8>, iterations: u32) -> Self {
        let prepared = stringprep::saslprep(password);
        let password = prepared
            .as_deref()
            .ok()
            .filter(|p| !p.is_empty())
            .unwrap_or(password);
        let mut salted = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), &salt, iterations, &mut salted);
        let client_key = hmac(&salted, b"Client Key");
        let stored_key = Sha256::digest(&client_key).to_vec();
        let server_key = hmac(&salted, b"Server Key");
        ScramVerifier {
            iterations,
            salt,
            stored_key,
            server_key,
        }
    }

    /// Whether `password` matches.
    pub fn verify(&self, password: &str) -> bool {
        let other = Self::with_salt(password, self.salt.clone(), self.iterations);
        // Compare in constant time with respect to the content.
        other.stored_key.len() == self.stored_key.len()
            && other
                .stored_key
                .iter()
                .zip(&self.stored_key)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }

    /// The PostgreSQL text form `SCRAM-SHA-256$iter:salt$StoredKey:ServerKey`.
    pub fn encode(&self) -> String {
        format!(
            "SCRAM-SHA-256${}:{}${}:{}",
            self.iterations,
            B64.encode(&self.salt),
            B64.encode(&self.stored_key),
            B64.encode(&self.server_key)
        )
    }

    /// Parses the text form.
    pub fn decode(text: &str) -> Option<Self> {
        let rest = text.strip_prefix("SCRAM-SHA-256$")?;
        let (params, keys) = rest.split_once('$')?;
        let (iterations, salt) = params.split_once(':')?;
        let (stored, server) = keys.split_once(':')?;
        Some(ScramVerifier {
            iterations: iterations.parse().ok()?,
            salt: B64.decode(salt).ok()?,
            stored_key: B64.decode(stored).ok()?,
            server_key: B64.decode(server).ok()?,
        })
    }
}

/// A new random bearer token, `zs_` followed by 40 hex digits.
pub fn new_token() -> String {
    let mut bytes = [0u8; 20];
    rand::rng().fill_bytes(&mut bytes);
    format!("zs_{}", hex::encode(bytes))
}

/// A new random password of 16 letters and digits.
pub fn new_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

/// The token of an `Authorization` value `Bearer TOKEN`: the scheme in any case (RFC 7235),
/// spaces around the token ignored. Every door that takes bearer tokens reads them with this.
pub fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(char::is_whitespace)?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The digest under which a token is stored.
pub fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_in_any_case() {
        for value in [
            "Bearer zs_abc",
            "bearer zs_abc",
            "BEARER  zs_abc ",
            " Bearer\tzs_abc",
        ] {
            assert_eq!(bearer_token(value), Some("zs_abc"), "{value:?}");
        }
        for value in ["Basic zs_abc", "Bearer", "Bearer   ", "zs_abc", ""] {
            assert_eq!(bearer_token(value), None, "{value:?}");
        }
    }

    #[test]
    fn verifier_round_trip() {
        let v = ScramVerifier::new("秘密-password");
        let text = v.encode();
        assert!(text.starts_with("SCRAM-SHA-256$4096:"));
        let back = ScramVerifier::decode(&text).unwrap();
        assert!(back.verify("秘密-password"));
        assert!(!back.verify("wrong"));
    }

    #[test]
    fn scram_matches_rfc7677_vector() {
        // RFC 7677 example: password "pencil", salt W22ZaJ0SNY7soEsUEjb6gQ==, 4096 iterations.
        let salt = B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let v = ScramVerifier::with_salt("pencil", salt, 4096);
        assert_eq!(
            B64.encode(&v.server_key),
            "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU="
        );
    }

    #[test]
    fn tokens_are_hashed() {
        let t = new_token();
        assert_eq!(t.len(), 43);
        assert_eq!(token_digest(&t).len(), 64);
        assert_ne!(token_digest(&t), t);
    }
}

//! Authentication shared by the doors: bearer tokens (HTTP, Flight SQL) and SCRAM-SHA-256
//! against the catalog's stored verifiers (pgwire), which never need the password itself.
//!
//! The SCRAM exchange must not tell which user names exist. A name without a verifier is
//! answered as PostgreSQL answers it: with a made-up verifier whose salt is an HMAC of the name
//! under a server secret ([`MockVerifiers`]) — as stable as a real salt, of the same length and
//! iteration count — and the exchange then does the same work and fails at the proof with the
//! same error as a wrong password. Secrets are compared in constant time ([`secrets_equal`]).

use crate::GatewayError;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::sync::LazyLock;
use subtle::ConstantTimeEq;
use zhongshu_catalog::Principal;
use zhongshu_catalog::auth::{SCRAM_ITERATIONS, ScramVerifier, bearer_token};
use zhongshu_engine::QueryService;

/// The principal an `Authorization` value (`Bearer TOKEN`, the scheme in any case) names.
pub async fn token_principal(
    service: &QueryService,
    value: &str,
) -> Result<Principal, GatewayError> {
    let token = bearer_token(value)
        .ok_or_else(|| GatewayError::Unauthenticated("send Authorization: Bearer TOKEN".into()))?;
    service
        .store()
        .principal_by_token(token)
        .await?
        .ok_or_else(|| GatewayError::Unauthenticated("unknown or revoked token".into()))
}

fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// Whether two secrets are equal, in time that depends on their lengths only, never on where
/// they first differ.
pub fn secrets_equal(a: &[u8], b: &[u8]) -> bool {
    bool::from(a.ct_eq(b))
}

/// The salt length of a made-up verifier: that of the catalog's real ones.
const MOCK_SALT_LEN: usize = 16;

/// The error of every failed proof, whether the password is wrong or the user unknown.
const PROOF_FAILED: &str = "password authentication failed";

/// Made-up SCRAM verifiers for user names without one (PostgreSQL's `scram_mock_salt`).
///
/// A name's salt is `HMAC-SHA-256(secret, "salt" ‖ 0 ‖ name)`, cut to the length of a real
/// salt, with the real iteration count: the same on every attempt, different between names,
/// and indistinguishable from a real salt without the secret. The secret should stay fixed for
/// the deployment; one made per process ([`MockVerifiers::per_process`]) changes when the
/// server restarts, and a name whose salt changes across a restart is then seen to be unknown.
#[derive(Clone)]
pub struct MockVerifiers {
    secret: Vec<u8>,
}

impl std::fmt::Debug for MockVerifiers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MockVerifiers(..)")
    }
}

impl MockVerifiers {
    /// Made-up verifiers under `secret` (any length; at least 32 random bytes is right).
    pub fn new(secret: &[u8]) -> Self {
        MockVerifiers {
            secret: secret.to_vec(),
        }
    }

    /// Made-up verifiers under a random secret made once per process.
    pub fn per_process() -> Self {
        static SECRET: LazyLock<[u8; 32]> = LazyLock::new(|| {
            let mut secret = [0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rng(), &mut secret);
            secret
        });
        Self::new(SECRET.as_slice())
    }

    fn derive(&self, label: &[u8], user: &str) -> Vec<u8> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(label);
        mac.update(b"\0");
        mac.update(user.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// The made-up verifier of `user`. Its keys are HMACs too, so that nobody can know a
    /// password or proof that matches them.
    pub fn verifier(&self, user: &str) -> ScramVerifier {
        let mut salt = self.derive(b"salt", user);
        salt.truncate(MOCK_SALT_LEN);
        ScramVerifier {
            iterations: SCRAM_ITERATIONS,
            salt,
            stored_key: self.derive(b"stored key", user),
            server_key: self.derive(b"server key", user),
        }
    }
}

/// The server side of one SCRAM-SHA-256 exchange (RFC 5802, RFC 7677), without channel
/// binding, verified against a stored verifier.
#[derive(Debug)]
pub struct ScramExchange {
    verifier: ScramVerifier,
    client_first_bare: String,
    server_first: String,
    nonce: String,
    /// Started with a made-up verifier: the proof is refused whatever it is.
    doomed: bool,
}

impl ScramExchange {
    /// Starts the exchange of `user` from the client-first message, with `stored` (the user's
    /// verifier from the catalog) or, when there is none, with the user's made-up verifier from
    /// `mocks`: the server-first message then looks the same (a stable salt, the same iteration
    /// count), the same work is done (the made-up verifier is derived in both cases), and
    /// [`ScramExchange::finish`] fails exactly as for a wrong password.
    pub fn start_for(
        user: &str,
        stored: Option<ScramVerifier>,
        mocks: &MockVerifiers,
        client_first: &str,
    ) -> Result<(Self, String), String> {
        let mock = mocks.verifier(user);
        let doomed = stored.is_none();
        let verifier = stored.unwrap_or(mock);
        let (mut exchange, server_first) = Self::start(verifier, client_first)?;
        exchange.doomed = doomed;
        Ok((exchange, server_first))
    }

    /// Starts from the client-first message (`n,,n=USER,r=CNONCE`) with a stored verifier and
    /// returns the exchange and the server-first message.
    pub fn start(verifier: ScramVerifier, client_first: &str) -> Result<(Self, String), String> {
        let bare = match client_first.split_once(",,") {
            Some((gs2, bare)) if gs2 == "n" || gs2 == "y" => bare,
            Some((gs2, _)) if gs2.starts_with('p') => {
                return Err("channel binding is not supported; connect with channel_binding=disable or prefer".into());
            }
            _ => return Err("malformed SCRAM client-first message".into()),
        };
        let client_nonce = bare
            .split(',')
            .find_map(|a| a.strip_prefix("r="))
            .ok_or("the SCRAM client-first message has no nonce")?;
        let mut server_nonce = [0u8; 18];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut server_nonce);
        let nonce = format!("{client_nonce}{}", B64.encode(server_nonce));
        let server_first = format!(
            "r={nonce},s={},i={}",
            B64.encode(&verifier.salt),
            verifier.iterations
        );
        Ok((
            ScramExchange {
                verifier,
                client_first_bare: bare.to_owned(),
                server_first: server_first.clone(),
                nonce,
                doomed: false,
            },
            server_first,
        ))
    }

    /// Checks the client-final message (`c=biws,r=NONCE,p=PROOF`); on success returns the
    /// server-final message (`v=SIGNATURE`). Every refused proof, for a wrong password or an
    /// unknown user, gets the same error after the same work.
    pub fn finish(&self, client_final: &str) -> Result<String, String> {
        let (without_proof, proof) = client_final
            .rsplit_once(",p=")
            .ok_or("the SCRAM client-final message has no proof")?;
        let nonce = without_proof
            .split(',')
            .find_map(|a| a.strip_prefix("r="))
            .ok_or("the SCRAM client-final message has no nonce")?;
        if nonce != self.nonce {
            return Err("SCRAM nonce mismatch".into());
        }
        let proof = B64.decode(proof).map_err(|_| "malformed SCRAM proof")?;
        let auth_message = format!(
            "{},{},{}",
            self.client_first_bare, self.server_first, without_proof
        );
        let signature = hmac(&self.verifier.stored_key, auth_message.as_bytes());
        // The length of a proof is public (it is what the client sent), not a secret.
        if proof.len() != signature.len() {
            return Err(PROOF_FAILED.into());
        }
        let client_key: Vec<u8> = proof.iter().zip(&signature).map(|(p, s)| p ^ s).collect();
        let stored = Sha256::digest(&client_key);
        let same = secrets_equal(stored.as_slice(), &self.verifier.stored_key);
        // Signed before the verdict, so that every refusal has done the same work.
        let server_signature = hmac(&self.verifier.server_key, auth_message.as_bytes());
        // `|`, not `||`: no branch on which of the two refused.
        if !same | self.doomed {
            return Err(PROOF_FAILED.into());
        }
        Ok(format!("v={}", B64.encode(server_signature)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    /// The password as libpq hashes it: SASLprep, or the raw password when SASLprep refuses it
    /// or leaves nothing.
    fn libpq_prepare(password: &str) -> Cow<'_, str> {
        match stringprep::saslprep(password) {
            Ok(prepared) if !prepared.is_empty() => prepared,
            _ => Cow::Borrowed(password),
        }
    }

    /// A client side written from RFC 5802 (applying SASLprep like libpq), to check the server
    /// side against: the client-final message and the server-final message it expects.
    fn client_final(
        password: &str,
        client_first_bare: &str,
        server_first: &str,
    ) -> (String, String) {
        let attrs: std::collections::HashMap<&str, &str> = server_first
            .split(',')
            .filter_map(|a| a.split_once('='))
            .collect();
        let salt = B64.decode(attrs["s"]).unwrap();
        let iterations: u32 = attrs["i"].parse().unwrap();
        let password = libpq_prepare(password);
        let mut salted = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), &salt, iterations, &mut salted);
        let client_key = hmac(&salted, b"Client Key");
        let stored_key = Sha256::digest(&client_key);
        let without_proof = format!("c=biws,r={}", attrs["r"]);
        let auth = format!("{client_first_bare},{server_first},{without_proof}");
        let signature = hmac(&stored_key, auth.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(&signature)
            .map(|(a, b)| a ^ b)
            .collect();
        let server_signature = hmac(&hmac(&salted, b"Server Key"), auth.as_bytes());
        (
            format!("{without_proof},p={}", B64.encode(proof)),
            format!("v={}", B64.encode(server_signature)),
        )
    }

    const BARE: &str = "n=,r=abcdefghijkl";

    fn mocks() -> MockVerifiers {
        MockVerifiers::new(b"a test secret for made-up verifiers")
    }

    /// Runs one exchange of `user` (with `stored`, or made up) with `typed` as the password.
    fn authenticate(user: &str, stored: Option<ScramVerifier>, typed: &str) -> Result<(), String> {
        let (exchange, server_first) =
            ScramExchange::start_for(user, stored, &mocks(), &format!("n,,{BARE}"))?;
        let (last, expected) = client_final(typed, BARE, &server_first);
        let server_final = exchange.finish(&last)?;
        assert!(secrets_equal(server_final.as_bytes(), expected.as_bytes()));
        Ok(())
    }

    /// The salt (base64) and iteration count of a server-first message.
    fn salt_and_iterations(server_first: &str) -> (String, String) {
        let attr = |name: &str| {
            server_first
                .split(',')
                .find_map(|a| a.strip_prefix(name))
                .unwrap()
                .to_owned()
        };
        (attr("s="), attr("i="))
    }

    #[test]
    fn scram_accepts_the_password_and_refuses_others() {
        let verifier = ScramVerifier::new("正确的密码");
        assert_eq!(
            authenticate("rsj_user", Some(verifier.clone()), "正确的密码"),
            Ok(())
        );
        assert_eq!(
            authenticate("rsj_user", Some(verifier), "wrong"),
            Err(PROOF_FAILED.to_owned())
        );
    }

    #[test]
    fn unknown_users_get_a_stable_salt_like_a_real_one() {
        let mocks = mocks();
        let first = |user: &str, stored: Option<ScramVerifier>| {
            let (_, server_first) =
                ScramExchange::start_for(user, stored, &mocks, &format!("n,,{BARE}")).unwrap();
            salt_and_iterations(&server_first)
        };
        let (salt, iterations) = first("nobody", None);
        assert_eq!(first("nobody", None), (salt.clone(), iterations.clone()));
        assert_ne!(first("somebody", None).0, salt);
        let real = ScramVerifier::new("正确的密码");
        let (real_salt, real_iterations) = first("rsj_user", Some(real.clone()));
        assert_eq!(real_salt, B64.encode(&real.salt));
        assert_eq!(salt.len(), real_salt.len());
        assert_eq!(B64.decode(&salt).unwrap().len(), real.salt.len());
        assert_eq!(iterations, real_iterations);
        assert_eq!(iterations, SCRAM_ITERATIONS.to_string());
        // The salt depends on the server secret, which is one per process by default.
        assert_ne!(
            MockVerifiers::new(b"another secret")
                .verifier("nobody")
                .salt,
            B64.decode(&salt).unwrap()
        );
        assert_eq!(
            MockVerifiers::per_process().verifier("nobody"),
            MockVerifiers::per_process().verifier("nobody")
        );
    }

    #[test]
    fn unknown_users_fail_at_the_proof_like_a_wrong_password() {
        let wrong = authenticate("rsj_user", Some(ScramVerifier::new("right")), "wrong");
        assert_eq!(wrong, Err(PROOF_FAILED.to_owned()));
        for typed in ["", "anything", "nobody"] {
            assert_eq!(authenticate("nobody", None, typed), wrong);
        }
        // A doomed exchange refuses even a proof that matches its verifier.
        let (mut exchange, server_first) =
            ScramExchange::start(ScramVerifier::new("right"), &format!("n,,{BARE}")).unwrap();
        exchange.doomed = true;
        let (last, _) = client_final("right", BARE, &server_first);
        assert_eq!(exchange.finish(&last), Err(PROOF_FAILED.to_owned()));
    }

    #[test]
    fn passwords_are_saslprepped_like_libpq() {
        for (set, typed) in [
            // Full-width letters and digits normalise (NFKC) to ASCII.
            ("ｐａｓｓ１２３", "ｐａｓｓ１２３"),
            ("ｐａｓｓ１２３", "pass123"),
            ("pass123", "ｐａｓｓ１２３"),
            // A no-break space is a space; a soft hyphen is nothing.
            ("correct\u{a0}horse", "correct\u{a0}horse"),
            ("correct\u{a0}horse", "correct horse"),
            ("密\u{ad}码", "密码"),
            // SASLprep refuses private-use and control characters: the raw bytes are used.
            ("秘密\u{e000}", "秘密\u{e000}"),
            ("bell\u{7}", "bell\u{7}"),
        ] {
            let stored = ScramVerifier::new(set);
            assert!(stored.verify(typed), "{set:?} by {typed:?}");
            assert_eq!(
                authenticate("rsj_user", Some(stored), typed),
                Ok(()),
                "{set:?} by {typed:?}"
            );
        }
        let stored = ScramVerifier::new("ｐａｓｓ１２３");
        assert!(authenticate("rsj_user", Some(stored), "pass124").is_err());
    }

    #[test]
    fn secrets_compare_by_content_and_length() {
        assert!(secrets_equal(b"stored key", b"stored key"));
        assert!(!secrets_equal(b"stored key", b"stored kez"));
        assert!(!secrets_equal(b"stored key", b"stored ke"));
        assert!(secrets_equal(b"", b""));
    }
}

/// The purpose declared in an `x-zhongshu-purpose` header: UTF-8, percent-encoded (as gRPC
/// metadata must be ASCII) or raw; `None` when empty or undecodable.
pub fn purpose_from_header(value: &[u8]) -> Option<String> {
    let mut bytes = Vec::with_capacity(value.len());
    let mut i = 0;
    while i < value.len() {
        let decoded = (value[i] == b'%' && i + 2 < value.len())
            .then(|| std::str::from_utf8(&value[i + 1..i + 3]).ok())
            .flatten()
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match decoded {
            Some(b) => {
                bytes.push(b);
                i += 3;
            }
            None => {
                bytes.push(value[i]);
                i += 1;
            }
        }
    }
    let text = String::from_utf8(bytes).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

#[cfg(test)]
mod purpose_tests {
    use super::purpose_from_header;

    #[test]
    fn purposes_decode_from_percent_encoding_and_raw_utf8() {
        assert_eq!(
            purpose_from_header(b"%E5%B0%B1%E4%B8%9A").as_deref(),
            Some("就业")
        );
        assert_eq!(
            purpose_from_header("就业补贴审核".as_bytes()).as_deref(),
            Some("就业补贴审核")
        );
        assert_eq!(purpose_from_header(b"  ").as_deref(), None);
        assert_eq!(purpose_from_header(b"100%").as_deref(), Some("100%"));
    }
}

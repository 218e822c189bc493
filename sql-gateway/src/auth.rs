//! Authentication shared by the doors: bearer tokens (HTTP, Flight SQL) and SCRAM-SHA-256
//! against the catalog's stored verifiers (pgwire), which never need the password itself.

use crate::GatewayError;
use axum::http::HeaderValue;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use zhongshu_catalog::Principal;
use zhongshu_catalog::auth::ScramVerifier;
use zhongshu_engine::QueryService;

/// The principal named by an `Authorization: Bearer …` header.
pub async fn bearer_principal(
    service: &QueryService,
    header: Option<&HeaderValue>,
) -> Result<Principal, GatewayError> {
    let value = header
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| GatewayError::Unauthenticated("send Authorization: Bearer TOKEN".into()))?;
    token_principal(service, value).await
}

/// The principal an `Authorization` value (`Bearer TOKEN`) names.
pub async fn token_principal(
    service: &QueryService,
    value: &str,
) -> Result<Principal, GatewayError> {
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .ok_or_else(|| GatewayError::Unauthenticated("send Authorization: Bearer TOKEN".into()))?
        .trim();
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

/// The server side of one SCRAM-SHA-256 exchange (RFC 5802, RFC 7677), without channel
/// binding, verified against a stored verifier.
#[derive(Debug)]
pub struct ScramExchange {
    verifier: ScramVerifier,
    client_first_bare: String,
    server_first: String,
    nonce: String,
}

impl ScramExchange {
    /// Starts from the client-first message (`n,,n=USER,r=CNONCE`) and returns the exchange
    /// and the server-first message.
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
            },
            server_first,
        ))
    }

    /// Checks the client-final message (`c=biws,r=NONCE,p=PROOF`); on success returns the
    /// server-final message (`v=SIGNATURE`).
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
        if proof.len() != signature.len() {
            return Err("password authentication failed".into());
        }
        let client_key: Vec<u8> = proof.iter().zip(&signature).map(|(p, s)| p ^ s).collect();
        let stored: Vec<u8> = Sha256::digest(&client_key).to_vec();
        let same = stored
            .iter()
            .zip(&self.verifier.stored_key)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
        if !same {
            return Err("password authentication failed".into());
        }
        let server_signature = hmac(&self.verifier.server_key, auth_message.as_bytes());
        Ok(format!("v={}", B64.encode(server_signature)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client side written from RFC 5802, to check the server side against.
    fn client_final(password: &str, client_first_bare: &str, server_first: &str) -> String {
        let attrs: std::collections::HashMap<&str, &str> = server_first
            .split(',')
            .filter_map(|a| a.split_once('='))
            .collect();
        let salt = B64.decode(attrs["s"]).unwrap();
        let iterations: u32 = attrs["i"].parse().unwrap();
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
        format!("{without_proof},p={}", B64.encode(proof))
    }

    #[test]
    fn scram_accepts_the_password_and_refuses_others() {
        let verifier = ScramVerifier::new("正确的密码");
        let bare = "n=rsj_user,r=abcdefghijkl";
        let (exchange, server_first) =
            ScramExchange::start(verifier.clone(), &format!("n,,{bare}")).unwrap();
        let ok = exchange.finish(&client_final("正确的密码", bare, &server_first));
        assert!(ok.unwrap().starts_with("v="));
        let (exchange, server_first) =
            ScramExchange::start(verifier, &format!("n,,{bare}")).unwrap();
        let wrong = exchange.finish(&client_final("wrong", bare, &server_first));
        assert!(wrong.is_err());
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

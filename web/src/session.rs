//! Signed-in browser sessions for the web doors people use (the console now, the open-data
//! portal and the sharing inboxes later).
//!
//! A person signs in with a catalog principal's password, checked against the same stored
//! SCRAM verifier the pgwire door uses. The server keeps each open session in memory under a
//! random id that the browser holds in a cookie (`HttpOnly`, `SameSite=Strict`, `Secure` when
//! served over TLS), with a form token every form must echo against cross-site requests. A
//! session ends when the person signs out, after 30 idle minutes, after 12 hours in all, or when
//! its principal is gone from the catalog; every request reads the principal again, so a role
//! removed in the catalog holds from the next page (the pages then ask Cedar as every door
//! does). Sessions do not survive a restart of the server: people sign in again.
//!
//! Failed sign-ins are counted per user name, whether or not the name exists, so the answer
//! never tells which names do: five within 15 minutes lock the name for 15 minutes (a right
//! password included), and every failure is answered after a second's delay. An unknown name
//! costs the same PBKDF2 work as a known one. Sign-ins, refusals and sign-outs are in the
//! access audit (door `console`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use rand::RngCore;
use subtle::ConstantTimeEq;
use zhongshu_catalog::auth::ScramVerifier;
use zhongshu_catalog::{AuditOutcome, CatalogStore, NewAuditRecord, Principal, PrincipalId};
use zhongshu_engine::Core;

/// The cookie that holds a session's id.
pub const SESSION_COOKIE: &str = "zs_session";

/// How sessions and sign-in behave.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// A session unused this long ends.
    pub idle: Duration,
    /// A session ends this long after sign-in, used or not.
    pub absolute: Duration,
    /// Failed sign-ins of one name within `lockout` that lock it.
    pub max_failures: u32,
    /// How long failures are counted, and how long a name stays locked.
    pub lockout: Duration,
    /// How long a failed sign-in waits before it is answered.
    pub failure_delay: Duration,
    /// The most sessions open at once (a sign-in past it is refused until some end).
    pub max_sessions: usize,
    /// Cookies carry `Secure` (the door is served over TLS).
    pub secure: bool,
    /// Where a request without a session is sent to sign in (`/console/signin`).
    pub sign_in_path: &'static str,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            idle: Duration::from_secs(30 * 60),
            absolute: Duration::from_secs(12 * 3600),
            max_failures: 5,
            lockout: Duration::from_secs(15 * 60),
            failure_delay: Duration::from_secs(1),
            max_sessions: 10_000,
            secure: false,
            sign_in_path: "/console/signin",
        }
    }
}

struct Open {
    principal: PrincipalId,
    form_token: String,
    created: Instant,
    seen: Instant,
}

struct Failures {
    count: u32,
    first: Instant,
}

/// Why a sign-in was refused. The message never says whether the name exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInRefused {
    /// The name or the password is wrong.
    Wrong,
    /// Too many failures: the name is locked for about this many minutes.
    Locked {
        /// Minutes until the name may try again (at least 1).
        minutes: u64,
    },
    /// The server holds as many sessions as it may.
    Full,
    /// The catalog could not be read.
    Catalog(String),
}

/// A new session: its id (for the cookie) and its form token.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The session id.
    pub id: String,
    /// The token every form of this session carries.
    pub form_token: String,
    /// Who signed in.
    pub principal: Principal,
}

/// The open sessions of one server.
pub struct Sessions {
    config: SessionConfig,
    open: Mutex<HashMap<String, Open>>,
    failures: Mutex<HashMap<String, Failures>>,
    /// Checked against for a name without a verifier, so that it costs the same work.
    unknown: ScramVerifier,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Equal in constant time with respect to the content.
fn same(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

impl Sessions {
    /// No sessions yet.
    pub fn new(config: SessionConfig) -> Self {
        Sessions {
            config,
            open: Mutex::default(),
            failures: Mutex::default(),
            unknown: ScramVerifier::new(&random_hex()),
        }
    }

    /// How sessions behave.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// Signs `user` in with `password` from `client` (recorded in the access audit).
    pub async fn sign_in(
        &self,
        store: &dyn CatalogStore,
        user: &str,
        password: &str,
        client: &str,
    ) -> Result<NewSession, SignInRefused> {
        let result = self.check(store, user, password).await;
        let (outcome, error) = match &result {
            Ok(_) => (AuditOutcome::Ok, None),
            Err(refused) => (AuditOutcome::Denied, Some(format!("{refused:?}"))),
        };
        audit(store, user, client, "sign in", outcome, error).await;
        match result {
            Ok(principal) => self.open(principal),
            Err(refused) => {
                tokio::time::sleep(self.config.failure_delay).await;
                Err(refused)
            }
        }
    }

    async fn check(
        &self,
        store: &dyn CatalogStore,
        user: &str,
        password: &str,
    ) -> Result<Principal, SignInRefused> {
        let name = user.trim().to_lowercase();
        if let Some(minutes) = self.locked(&name) {
            return Err(SignInRefused::Locked { minutes });
        }
        let id = PrincipalId::new(user.trim());
        let stored = store
            .password_verifier(&id)
            .await
            .map_err(|e| SignInRefused::Catalog(e.to_string()))?
            .and_then(|text| ScramVerifier::decode(&text));
        let right = match &stored {
            Some(verifier) => verifier.verify(password),
            None => {
                self.unknown.verify(password);
                false
            }
        };
        let principal = if right {
            store
                .get_principal(&id)
                .await
                .map_err(|e| SignInRefused::Catalog(e.to_string()))?
        } else {
            None
        };
        match principal {
            Some(p) => {
                lock(&self.failures).remove(&name);
                Ok(p)
            }
            None => {
                self.fail(&name);
                Err(SignInRefused::Wrong)
            }
        }
    }

    /// Minutes a locked name has left.
    fn locked(&self, name: &str) -> Option<u64> {
        let failures = lock(&self.failures);
        let f = failures.get(name)?;
        let elapsed = f.first.elapsed();
        (f.count >= self.config.max_failures && elapsed < self.config.lockout).then(|| {
            (self.config.lockout - elapsed)
                .as_secs()
                .div_ceil(60)
                .max(1)
        })
    }

    fn fail(&self, name: &str) {
        let mut failures = lock(&self.failures);
        let lockout = self.config.lockout;
        failures.retain(|_, f| f.first.elapsed() < lockout);
        let f = failures.entry(name.to_owned()).or_insert(Failures {
            count: 0,
            first: Instant::now(),
        });
        f.count += 1;
    }

    fn open(&self, principal: Principal) -> Result<NewSession, SignInRefused> {
        let mut open = lock(&self.open);
        let (idle, absolute) = (self.config.idle, self.config.absolute);
        open.retain(|_, s| s.seen.elapsed() < idle && s.created.elapsed() < absolute);
        if open.len() >= self.config.max_sessions {
            return Err(SignInRefused::Full);
        }
        let session = NewSession {
            id: random_hex(),
            form_token: random_hex(),
            principal,
        };
        let now = Instant::now();
        open.insert(
            session.id.clone(),
            Open {
                principal: session.principal.id.clone(),
                form_token: session.form_token.clone(),
                created: now,
                seen: now,
            },
        );
        Ok(session)
    }

    /// The principal and form token of session `id` while it is open; touches it.
    fn touch(&self, id: &str) -> Option<(PrincipalId, String)> {
        let mut open = lock(&self.open);
        let s = open.get_mut(id)?;
        if s.seen.elapsed() >= self.config.idle || s.created.elapsed() >= self.config.absolute {
            open.remove(id);
            return None;
        }
        s.seen = Instant::now();
        Some((s.principal.clone(), s.form_token.clone()))
    }

    /// Ends session `id` (recorded in the access audit).
    pub async fn sign_out(&self, store: &dyn CatalogStore, id: &str, client: &str) {
        let ended = lock(&self.open).remove(id);
        if let Some(s) = ended {
            audit(
                store,
                s.principal.as_str(),
                client,
                "sign out",
                AuditOutcome::Ok,
                None,
            )
            .await;
        }
    }

    /// The `Set-Cookie` value that gives the browser session `id`.
    pub fn cookie(&self, id: &str) -> String {
        let secure = if self.config.secure { "; Secure" } else { "" };
        format!(
            "{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
            self.config.absolute.as_secs()
        )
    }

    /// The `Set-Cookie` value that removes the session cookie.
    pub fn cleared_cookie(&self) -> String {
        let secure = if self.config.secure { "; Secure" } else { "" };
        format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}")
    }
}

/// Records a sign-in event in the access audit; a failure to write it is logged.
async fn audit(
    store: &dyn CatalogStore,
    user: &str,
    client: &str,
    what: &str,
    outcome: AuditOutcome,
    error: Option<String>,
) {
    let record = NewAuditRecord {
        principal: user.chars().take(200).collect(),
        purpose: None,
        client: client.to_owned(),
        protocol: "console".to_owned(),
        sql: what.to_owned(),
        tables: Vec::new(),
        columns: Vec::new(),
        masks: Vec::new(),
        filters: Vec::new(),
        rows: 0,
        duration_ms: 0,
        outcome,
        error,
        completes: None,
    };
    if let Err(e) = store.append_audit(&record).await {
        tracing::error!("audit append failed: {e}");
    }
}

/// The value of cookie `name` in a request's headers.
pub fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The person signed in to this request's session: its principal as the catalog holds it now,
/// the session id and the form token. Without an open session the request is sent to sign in.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The principal, read from the catalog for this request.
    pub principal: Principal,
    /// The session id.
    pub session: String,
    /// The token this session's forms carry.
    pub form_token: String,
}

impl SignedIn {
    /// Whether `token`, from a submitted form, is this session's.
    pub fn form_token_is(&self, token: &str) -> bool {
        same(&self.form_token, token)
    }
}

/// A request with no open session: sent to sign in, and back afterwards.
#[derive(Debug)]
pub struct SignInFirst {
    to: String,
}

impl IntoResponse for SignInFirst {
    fn into_response(self) -> Response {
        Redirect::to(&self.to).into_response()
    }
}

impl<S> FromRequestParts<S> for SignedIn
where
    S: Send + Sync,
    Core: FromRef<S>,
    Arc<Sessions>: FromRef<S>,
{
    type Rejection = SignInFirst;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let sessions = Arc::<Sessions>::from_ref(state);
        let back = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let rejection = SignInFirst {
            to: format!(
                "{}?next={}",
                sessions.config.sign_in_path,
                url::form_urlencoded::byte_serialize(back.as_bytes()).collect::<String>()
            ),
        };
        let Some(id) = cookie_value(&parts.headers, SESSION_COOKIE) else {
            return Err(rejection);
        };
        let Some((principal, form_token)) = sessions.touch(id) else {
            return Err(rejection);
        };
        let core = Core::from_ref(state);
        match core.store().get_principal(&principal).await {
            Ok(Some(principal)) => Ok(SignedIn {
                principal,
                session: id.to_owned(),
                form_token,
            }),
            Ok(None) => {
                lock(&sessions.open).remove(id);
                Err(rejection)
            }
            Err(e) => {
                tracing::error!("reading the signed-in principal: {e}");
                Err(rejection)
            }
        }
    }
}

impl<S> axum::extract::OptionalFromRequestParts<S> for SignedIn
where
    S: Send + Sync,
    Core: FromRef<S>,
    Arc<Sessions>: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(
            <SignedIn as FromRequestParts<S>>::from_request_parts(parts, state)
                .await
                .ok(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_read_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, "a=1; zs_session=abc; b=2".parse().unwrap());
        assert_eq!(cookie_value(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie_value(&headers, "zs"), None);
    }

    #[test]
    fn form_tokens_compare_whole() {
        assert!(same("abcd", "abcd"));
        assert!(!same("abcd", "abce"));
        assert!(!same("abcd", "abc"));
    }

    #[test]
    fn a_name_locks_after_its_failures_whether_or_not_it_exists() {
        let sessions = Sessions::new(SessionConfig {
            max_failures: 3,
            ..SessionConfig::default()
        });
        for _ in 0..2 {
            sessions.fail("nobody");
        }
        assert_eq!(sessions.locked("nobody"), None);
        sessions.fail("nobody");
        assert_eq!(sessions.locked("nobody"), Some(15));
        assert_eq!(sessions.locked("somebody"), None);
    }
}

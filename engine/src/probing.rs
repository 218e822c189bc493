//! Rate limits on probing: guessing at what a principal cannot see, one refusal at a time.
//!
//! Every refusal about a hidden value or row answers exactly like the refusal for one that does
//! not exist, so no single answer tells anything; what remains is guessing many times (a masked
//! mobile number falls to a few thousand objection lookups, a hidden table name to a dictionary
//! of statements). So the service counts, per principal and client host, the statements that
//! read a table it may not read or named a table or column it cannot see, and the lookups of a
//! record by value that workflows make for it (every lookup, found or not, so the limit itself
//! is no oracle). Past the limit within a minute, that principal at that host is refused until
//! the minute is over, with an error that says so and when to retry; every such refusal is
//! audited, which makes the probing visible in the audit (and the first one in the server log).
//!
//! The key includes the client host so that an attacker probing as a shared principal (the
//! public) locks out only its own address, not every citizen.

use crate::error::{EngineError, Result};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a count lasts.
pub const WINDOW: Duration = Duration::from_secs(60);

/// Keys kept before windows that are over are dropped (bounds the table under a flood of
/// client addresses).
const KEYS_KEPT: usize = 100_000;

/// What counts against a principal's budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Probe {
    /// A statement refused for access, or naming a table or column the principal cannot see.
    Refusal,
    /// A workflow's lookup of a record by a value the principal gave (objection filing).
    Lookup,
}

impl Probe {
    fn describe(self) -> &'static str {
        match self {
            Probe::Refusal => "statements denied or naming what it cannot see",
            Probe::Lookup => "lookups of records by value",
        }
    }
}

/// Counts per principal, client host and kind of probe, in fixed one-minute windows.
#[derive(Debug)]
pub struct ProbeLimiter {
    max: u32,
    counts: Mutex<HashMap<(String, String, Probe), Window>>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    count: u32,
}

impl ProbeLimiter {
    /// A limiter allowing `max` probes of each kind per minute (0: no limit).
    pub fn new(max: u32) -> Self {
        ProbeLimiter {
            max,
            counts: Mutex::new(HashMap::new()),
        }
    }

    /// Refused when `principal` at `client` has used its budget of `probe` this minute.
    pub fn check(&self, principal: &str, client: &str, probe: Probe) -> Result<()> {
        if self.max == 0 {
            return Ok(());
        }
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let key = (principal.to_owned(), host(client).to_owned(), probe);
        match counts.get(&key) {
            Some(w) if w.start.elapsed() < WINDOW && w.count >= self.max => {
                let wait = WINDOW.saturating_sub(w.start.elapsed()).as_secs() + 1;
                Err(EngineError::Limit(format!(
                    "{principal} made {} {} from {} within a minute, more than the {} allowed, \
                     which looks like probing; it is refused for {wait} s and recorded in the \
                     audit",
                    w.count,
                    probe.describe(),
                    host(client),
                    self.max
                )))
            }
            _ => Ok(()),
        }
    }

    /// Counts one `probe` by `principal` at `client`; returns whether this one used up the
    /// budget (for the server log: probing begins).
    pub fn count(&self, principal: &str, client: &str, probe: Probe) -> bool {
        if self.max == 0 {
            return false;
        }
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if counts.len() >= KEYS_KEPT {
            counts.retain(|_, w| w.start.elapsed() < WINDOW);
        }
        let key = (principal.to_owned(), host(client).to_owned(), probe);
        let w = counts.entry(key).or_insert(Window {
            start: Instant::now(),
            count: 0,
        });
        if w.start.elapsed() >= WINDOW {
            *w = Window {
                start: Instant::now(),
                count: 0,
            };
        }
        w.count = w.count.saturating_add(1);
        w.count == self.max
    }
}

/// Whether a refusal is one a guess at something hidden gets: a table the principal may not
/// read, or a table or column that does not exist for it (hidden ones look missing). Syntax
/// errors, limits and statements refused for their form (DDL, settings, EXPLAIN formats) tell
/// nothing about hidden data and do not count.
pub fn asks_about_hidden(error: &EngineError) -> bool {
    use datafusion::error::DataFusionError;
    match error {
        EngineError::UnknownTable { .. } => true,
        EngineError::Refused(_) => false,
        EngineError::Query(e) if matches!(e.find_root(), DataFusionError::SchemaError(..)) => true,
        other => crate::governed::is_denial(other),
    }
}

/// The host of a client address (`10.0.0.7:51234`, `[::1]:5000`), or the address itself.
fn host(address: &str) -> &str {
    match address.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) && !host.is_empty() => {
            host.trim_start_matches('[').trim_end_matches(']')
        }
        _ => address,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_principal_past_its_budget_is_refused_at_its_host_only() {
        let limiter = ProbeLimiter::new(3);
        for port in 1..=3 {
            limiter
                .check("public_user", &format!("10.0.0.7:{port}"), Probe::Lookup)
                .unwrap();
            limiter.count("public_user", &format!("10.0.0.7:{port}"), Probe::Lookup);
        }
        let refused = limiter
            .check("public_user", "10.0.0.7:9", Probe::Lookup)
            .unwrap_err();
        assert!(
            refused.to_string().contains("looks like probing"),
            "{refused}"
        );
        // Another citizen, and the other kind of probe, are still served.
        limiter
            .check("public_user", "10.0.0.8:1", Probe::Lookup)
            .unwrap();
        limiter
            .check("public_user", "10.0.0.7:1", Probe::Refusal)
            .unwrap();
        assert_eq!(host("[::1]:5000"), "::1");
        assert_eq!(host("objection"), "objection");
    }
}

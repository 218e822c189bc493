//! The hash chain behind the change log and the access audit log.
//!
//! Each entry's hash is SHA-256 over its own fields and the previous entry's hash, each field
//! length-prefixed so that no two different entries serialise alike. Editing, deleting or
//! reordering any stored entry breaks the chain at that entry, which [`verify_chain`] reports.

use crate::model::{BrokenLink, ChangeEvent};
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The fields of an entry that the hash covers.
#[derive(Debug, Clone, Copy)]
pub struct EntryFields<'a> {
    /// Position in the chain.
    pub seq: i64,
    /// Time.
    pub at: &'a str,
    /// Actor.
    pub actor: &'a str,
    /// Entity kind.
    pub entity_kind: &'a str,
    /// Entity id.
    pub entity_id: &'a str,
    /// Action.
    pub action: &'a str,
    /// State before.
    pub before: Option<&'a str>,
    /// State after.
    pub after: Option<&'a str>,
}

/// SHA-256 over `prev_hash` and the fields, each length-prefixed (a missing field has its own
/// marker, so `None` and `""` differ). Shared by the change log and the access audit log.
pub fn hash_fields(prev_hash: &str, fields: &[Option<&str>]) -> String {
    let mut h = Sha256::new();
    let mut field = |bytes: Option<&[u8]>| match bytes {
        Some(b) => {
            h.update((b.len() as u64).to_be_bytes());
            h.update(b);
        }
        None => h.update(u64::MAX.to_be_bytes()),
    };
    field(Some(prev_hash.as_bytes()));
    for f in fields {
        field(f.map(str::as_bytes));
    }
    hex::encode(h.finalize())
}

/// Computes an entry's hash from its fields and the previous hash.
pub fn entry_hash(prev_hash: &str, e: &EntryFields<'_>) -> String {
    let seq = e.seq.to_string();
    hash_fields(
        prev_hash,
        &[
            Some(seq.as_str()),
            Some(e.at),
            Some(e.actor),
            Some(e.entity_kind),
            Some(e.entity_id),
            Some(e.action),
            e.before,
            e.after,
        ],
    )
}

impl ChangeEvent {
    /// The fields the hash covers.
    pub fn fields(&self) -> EntryFields<'_> {
        EntryFields {
            seq: self.seq,
            at: &self.at,
            actor: &self.actor,
            entity_kind: &self.entity_kind,
            entity_id: &self.entity_id,
            action: &self.action,
            before: self.before.as_deref(),
            after: self.after.as_deref(),
        }
    }
}

/// An entry of a hash chain: the change log's [`ChangeEvent`] or the audit log's
/// [`crate::AuditRecord`].
pub trait ChainEntry {
    /// Position in the chain, from 1.
    fn seq(&self) -> i64;
    /// The stored previous hash.
    fn prev_hash(&self) -> &str;
    /// The stored hash.
    fn hash(&self) -> &str;
    /// The hash recomputed from the entry's fields and `prev_hash`.
    fn recompute(&self) -> String;
    /// How to name the entry when its content does not match its hash.
    fn describe(&self) -> String;
}

impl ChainEntry for ChangeEvent {
    fn seq(&self) -> i64 {
        self.seq
    }
    fn prev_hash(&self) -> &str {
        &self.prev_hash
    }
    fn hash(&self) -> &str {
        &self.hash
    }
    fn recompute(&self) -> String {
        entry_hash(&self.prev_hash, &self.fields())
    }
    fn describe(&self) -> String {
        format!(
            "entry {} {} {} by {} at {}",
            self.entity_kind, self.entity_id, self.action, self.actor, self.at
        )
    }
}

/// Incremental verifier of either chain: feed entries in sequence order.
#[derive(Debug)]
pub struct ChainVerifier {
    expected_prev: String,
    expected_seq: i64,
    checked: i64,
    broken: Option<BrokenLink>,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        ChainVerifier {
            expected_prev: GENESIS.to_owned(),
            expected_seq: 1,
            checked: 0,
            broken: None,
        }
    }
}

impl ChainVerifier {
    /// Checks the next entry; after the first break, further entries are only counted.
    pub fn feed(&mut self, e: &impl ChainEntry) {
        self.checked += 1;
        if self.broken.is_some() {
            return;
        }
        let reason = if e.seq() != self.expected_seq {
            Some(format!(
                "expected entry {} but found {} (an entry was removed)",
                self.expected_seq,
                e.seq()
            ))
        } else if e.prev_hash() != self.expected_prev {
            Some("prev_hash does not match the previous entry's hash".to_owned())
        } else if e.recompute() != e.hash() {
            Some(format!(
                "content does not match its hash ({} was altered)",
                e.describe()
            ))
        } else {
            None
        };
        if let Some(reason) = reason {
            self.broken = Some(BrokenLink {
                seq: e.seq(),
                reason,
            });
        }
        self.expected_prev = e.hash().to_owned();
        self.expected_seq = e.seq() + 1;
    }

    /// Entries checked so far.
    pub fn checked(&self) -> i64 {
        self.checked
    }

    /// The first break, if any.
    pub fn finish(self) -> (i64, Option<BrokenLink>, Option<String>) {
        let head = (self.checked > 0).then_some(self.expected_prev);
        (self.checked, self.broken, head)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<ChangeEvent> {
        let mut prev = GENESIS.to_owned();
        (1..=n)
            .map(|seq| {
                let mut e = ChangeEvent {
                    seq,
                    at: "2026-01-01T00:00:00Z".into(),
                    actor: "admin".into(),
                    entity_kind: "resource".into(),
                    entity_id: format!("R{seq}"),
                    action: "create".into(),
                    before: None,
                    after: Some(format!("{{\"n\":{seq}}}")),
                    prev_hash: prev.clone(),
                    hash: String::new(),
                };
                e.hash = entry_hash(&prev, &e.fields());
                prev = e.hash.clone();
                e
            })
            .collect()
    }

    fn verify(entries: &[ChangeEvent]) -> Option<BrokenLink> {
        let mut v = ChainVerifier::default();
        entries.iter().for_each(|e| v.feed(e));
        v.finish().1
    }

    #[test]
    fn intact_chain_verifies() {
        assert_eq!(verify(&chain(5)), None);
    }

    #[test]
    fn edits_removals_are_found() {
        let mut c = chain(5);
        c[2].after = Some("{\"n\":99}".into());
        assert_eq!(verify(&c).map(|b| b.seq), Some(3));

        let mut c = chain(5);
        c.remove(1);
        assert_eq!(verify(&c).map(|b| b.seq), Some(3));

        // Recomputing the edited entry's hash moves the break to the next entry.
        let mut c = chain(5);
        c[2].after = None;
        c[2].hash = entry_hash(&c[2].prev_hash, &c[2].fields());
        assert_eq!(verify(&c).map(|b| b.seq), Some(4));
    }

    #[test]
    fn none_and_empty_differ() {
        let mut a = chain(1).remove(0);
        let h1 = entry_hash(GENESIS, &a.fields());
        a.before = Some(String::new());
        assert_ne!(h1, entry_hash(GENESIS, &a.fields()));
    }
}

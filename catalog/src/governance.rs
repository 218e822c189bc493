//! What the governed query path keeps in the catalog: grants (from approved share requests or
//! created directly by an administrator), custom Cedar policies, and the access audit log.
//!
//! The catalog stores these as facts; what they mean for a query (which rows, which columns,
//! which masks) is decided by the policies crate. Masks are kept here as their codes
//! (`resident_id`, `name`, `none`, …) because the catalog sits below the policies crate.

use crate::changelog::hash_fields;
use crate::ids::{OrgId, PrincipalId, ResourceId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Who a grant is for: one principal, or everyone in an organisation unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Grantee {
    /// One principal.
    Principal(PrincipalId),
    /// Every principal of an organisation unit.
    Org(OrgId),
}

impl Grantee {
    /// `principal` or `org`.
    pub fn kind(&self) -> &'static str {
        match self {
            Grantee::Principal(_) => "principal",
            Grantee::Org(_) => "org",
        }
    }

    /// The principal or organisation id.
    pub fn id(&self) -> &str {
        match self {
            Grantee::Principal(p) => p.as_str(),
            Grantee::Org(o) => o.as_str(),
        }
    }
}

impl std::fmt::Display for Grantee {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.kind(), self.id())
    }
}

/// A grant to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewGrant {
    /// The resource shared.
    pub resource: ResourceId,
    /// Who receives it.
    pub grantee: Grantee,
    /// Columns granted; empty grants every column up to L3 (L4 and above must be named).
    #[serde(default)]
    pub columns: Vec<String>,
    /// The purpose the grant is bound to; a session must declare it to use the grant.
    #[serde(default)]
    pub purpose: Option<String>,
    /// SQL predicate over the resource's columns limiting the rows; may use
    /// `principal.jurisdiction`, `principal.org` and `principal.id`.
    #[serde(default)]
    pub row_filter: Option<String>,
    /// Mask per column, as a mask code (`resident_id`, `name`, …, or `none` for unmasked);
    /// columns not named get the default mask of their grade.
    #[serde(default)]
    pub masks: BTreeMap<String, String>,
    /// Expiry, `YYYY-MM-DD` (end of that day, UTC) or RFC 3339.
    #[serde(default)]
    pub expires_at: Option<String>,
}

/// A stored grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// Number.
    pub id: i64,
    /// What was granted.
    #[serde(flatten)]
    pub grant: NewGrant,
    /// Who granted it.
    pub granted_by: String,
    /// When, RFC 3339.
    pub granted_at: String,
    /// Who revoked it.
    pub revoked_by: Option<String>,
    /// When it was revoked.
    pub revoked_at: Option<String>,
}

impl Grant {
    /// Whether the grant is in force at `now` (RFC 3339): not revoked and not expired.
    pub fn is_active(&self, now: &chrono::DateTime<chrono::Utc>) -> bool {
        self.revoked_at.is_none()
            && match &self.grant.expires_at {
                None => true,
                Some(expiry) => expiry_time(expiry).is_some_and(|t| *now < t),
            }
    }
}

/// The instant an expiry written as `YYYY-MM-DD` (end of that day, UTC) or RFC 3339 means.
pub fn expiry_time(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&chrono::Utc));
    }
    let day = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    let next = day.succ_opt()?.and_hms_opt(0, 0, 0)?;
    Some(next.and_utc())
}

/// A custom Cedar policy added by an administrator (validated against the schema before it is
/// stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomPolicy {
    /// Identifier.
    pub id: String,
    /// What it is for.
    pub description: String,
    /// The Cedar text.
    pub policy: String,
    /// Who added it.
    pub created_by: String,
    /// When, RFC 3339.
    pub created_at: String,
}

/// How a governed query ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    /// Answered.
    Ok,
    /// Refused by policy (a table not granted, a statement not allowed).
    Denied,
    /// Failed for another reason (a limit, a syntax error).
    Failed,
    /// Planned and about to answer: written before the first row leaves the server, and
    /// followed by the record that completes it (its `completes` names this one). A `started`
    /// record with no completion is a statement whose server stopped while it ran.
    Started,
}

impl AuditOutcome {
    /// The stored code.
    pub fn as_code(self) -> &'static str {
        match self {
            AuditOutcome::Ok => "ok",
            AuditOutcome::Denied => "denied",
            AuditOutcome::Failed => "failed",
            AuditOutcome::Started => "started",
        }
    }
}

impl std::str::FromStr for AuditOutcome {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "ok" => Ok(AuditOutcome::Ok),
            "denied" => Ok(AuditOutcome::Denied),
            "failed" => Ok(AuditOutcome::Failed),
            "started" => Ok(AuditOutcome::Started),
            other => Err(format!("unknown audit outcome `{other}`")),
        }
    }
}

/// One governed query to record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAuditRecord {
    /// The principal.
    pub principal: String,
    /// The purpose the session declared.
    pub purpose: Option<String>,
    /// Client address, or `cli` for the operator's command line.
    pub client: String,
    /// Door: `pgwire`, `flight-sql`, `http`, `cli`.
    pub protocol: String,
    /// The statement as received.
    pub sql: String,
    /// Tables read, `schema.table`.
    pub tables: Vec<String>,
    /// Columns read, `schema.table.column`.
    pub columns: Vec<String>,
    /// Masks applied, `schema.table.column=mask`.
    pub masks: Vec<String>,
    /// Row filters applied, `schema.table: predicate`.
    pub filters: Vec<String>,
    /// Rows returned.
    pub rows: i64,
    /// Duration in milliseconds.
    pub duration_ms: i64,
    /// Outcome.
    pub outcome: AuditOutcome,
    /// The error, when not answered.
    pub error: Option<String>,
    /// For the record that completes a statement: the `seq` of its `started` record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completes: Option<i64>,
}

/// One entry of the hash-chained access audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// Time, RFC 3339 with microseconds.
    pub at: String,
    /// What was recorded.
    #[serde(flatten)]
    pub record: NewAuditRecord,
    /// Hash of the previous entry.
    pub prev_hash: String,
    /// SHA-256 over this entry's fields and `prev_hash`.
    pub hash: String,
}

impl AuditRecord {
    /// The entry's hash from its fields and `prev_hash`.
    pub fn compute_hash(&self) -> String {
        let r = &self.record;
        let list = |v: &Vec<String>| serde_json::to_string(v).unwrap_or_default();
        let seq = self.seq.to_string();
        let rows = r.rows.to_string();
        let duration = r.duration_ms.to_string();
        let completes = r.completes.map(|seq| seq.to_string());
        let (tables, columns, masks, filters) = (
            list(&r.tables),
            list(&r.columns),
            list(&r.masks),
            list(&r.filters),
        );
        let mut fields = vec![
            Some(seq.as_str()),
            Some(self.at.as_str()),
            Some(r.principal.as_str()),
            r.purpose.as_deref(),
            Some(r.client.as_str()),
            Some(r.protocol.as_str()),
            Some(r.sql.as_str()),
            Some(tables.as_str()),
            Some(columns.as_str()),
            Some(masks.as_str()),
            Some(filters.as_str()),
            Some(rows.as_str()),
            Some(duration.as_str()),
            Some(r.outcome.as_code()),
            r.error.as_deref(),
        ];
        // Hashed only when present, so entries written before completions existed still verify.
        if let Some(completes) = &completes {
            fields.push(Some(completes.as_str()));
        }
        hash_fields(&self.prev_hash, &fields)
    }
}

impl crate::changelog::ChainEntry for AuditRecord {
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
        self.compute_hash()
    }
    fn describe(&self) -> String {
        format!("query by {} at {}", self.record.principal, self.at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::changelog::GENESIS;

    fn record(seq: i64, prev: &str) -> AuditRecord {
        let mut r = AuditRecord {
            seq,
            at: "2026-12-01T00:00:00Z".into(),
            record: NewAuditRecord {
                principal: "rsj_user".into(),
                purpose: Some("就业补贴审核".into()),
                client: "127.0.0.1:5000".into(),
                protocol: "pgwire".into(),
                sql: format!("SELECT {seq}"),
                tables: vec!["base.persons".into()],
                columns: vec!["base.persons.name".into()],
                masks: vec!["base.persons.name=name".into()],
                filters: vec![],
                rows: 1,
                duration_ms: 3,
                outcome: AuditOutcome::Ok,
                error: None,
                completes: None,
            },
            prev_hash: prev.to_owned(),
            hash: String::new(),
        };
        r.hash = r.compute_hash();
        r
    }

    #[test]
    fn audit_chain_finds_an_altered_entry() {
        let a = record(1, GENESIS);
        let b = record(2, &a.hash);
        let mut c = record(3, &b.hash);
        let mut v = crate::changelog::ChainVerifier::default();
        [&a, &b, &c].into_iter().for_each(|e| v.feed(e));
        assert_eq!(v.finish().1, None);
        c.record.rows = 1000;
        let mut v = crate::changelog::ChainVerifier::default();
        [&a, &b, &c].into_iter().for_each(|e| v.feed(e));
        assert_eq!(v.finish().1.map(|b| b.seq), Some(3));
    }

    #[test]
    fn date_expiry_is_the_end_of_that_day() {
        let t = expiry_time("2026-12-31").unwrap();
        assert_eq!(t.to_rfc3339(), "2027-01-01T00:00:00+00:00");
        assert!(expiry_time("soon").is_none());
    }
}

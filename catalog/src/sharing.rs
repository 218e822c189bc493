//! Sharing as the catalog records it: the demand list (需求清单) — what departments need, in
//! their words — share requests (共享申请) and how they were decided, and the sharing negative
//! list (负面清单) of data never shared. Deciding a request to grant creates the grant in the same
//! logged transaction, so a request is granted exactly when its grant exists.

use crate::governance::Grantee;
use crate::ids::{ElementId, OrgId, ResourceId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A department's need for data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewDemand {
    /// The department that needs the data.
    pub org: OrgId,
    /// The data it needs, in its words.
    pub title: String,
    /// The business it serves (事项).
    pub business: String,
    /// The legal basis for the need.
    pub legal_basis: String,
    /// The items it needs, if known.
    #[serde(default)]
    pub items: Vec<String>,
    /// `normal` or `urgent`.
    #[serde(default = "normal")]
    pub urgency: String,
}

fn normal() -> String {
    "normal".into()
}

/// Where a demand stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DemandStatus {
    /// Not yet looked at.
    Open,
    /// Matched to a catalogue resource: requests for it can satisfy the demand.
    Matched,
    /// The data exists but is not catalogued yet.
    ToCatalogue,
    /// Not shareable, with the legal reason.
    NotShareable,
}

impl DemandStatus {
    /// Stable code.
    pub fn as_code(self) -> &'static str {
        match self {
            DemandStatus::Open => "open",
            DemandStatus::Matched => "matched",
            DemandStatus::ToCatalogue => "to_catalogue",
            DemandStatus::NotShareable => "not_shareable",
        }
    }

    /// From its code.
    pub fn from_code(code: &str) -> Option<Self> {
        [
            DemandStatus::Open,
            DemandStatus::Matched,
            DemandStatus::ToCatalogue,
            DemandStatus::NotShareable,
        ]
        .into_iter()
        .find(|s| s.as_code() == code)
    }
}

/// A demand as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Demand {
    /// Number.
    pub id: i64,
    /// What was filed.
    #[serde(flatten)]
    pub demand: NewDemand,
    /// Where it stands.
    pub status: DemandStatus,
    /// The resource it was matched to.
    pub resource: Option<ResourceId>,
    /// Why it is to be catalogued or not shareable.
    pub reason: Option<String>,
    /// Who filed it.
    pub filed_by: String,
    /// When, RFC 3339.
    pub filed_at: String,
    /// Who last decided it.
    pub decided_by: Option<String>,
    /// When.
    pub decided_at: Option<String>,
}

/// What a data officer makes of a demand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum DemandDecision {
    /// It is met by this resource.
    Match {
        /// The resource.
        resource: ResourceId,
    },
    /// The data exists (in a department or the city) but is not catalogued.
    ToCatalogue {
        /// Where it is.
        reason: String,
    },
    /// It may not be shared.
    NotShareable {
        /// The legal reason.
        reason: String,
    },
}

/// A request to read a resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewShareRequest {
    /// The resource.
    pub resource: ResourceId,
    /// Who would read it.
    pub grantee: Grantee,
    /// The columns (empty: all).
    #[serde(default)]
    pub columns: Vec<String>,
    /// The purpose (用途) the grant would be bound to.
    pub purpose: String,
    /// The legal basis.
    pub legal_basis: String,
    /// The rows (a SQL predicate), if not all.
    #[serde(default)]
    pub row_filter: Option<String>,
    /// For how many days.
    pub days: i64,
    /// The demand it answers, if any.
    #[serde(default)]
    pub demand: Option<i64>,
    /// The request it renews, if any.
    #[serde(default)]
    pub renews: Option<i64>,
}

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    /// Waiting for its decision.
    Pending,
    /// Granted (its grant exists).
    Granted,
    /// Rejected, with the reason.
    Rejected,
}

impl RequestStatus {
    /// Stable code.
    pub fn as_code(self) -> &'static str {
        match self {
            RequestStatus::Pending => "pending",
            RequestStatus::Granted => "granted",
            RequestStatus::Rejected => "rejected",
        }
    }

    /// From its code.
    pub fn from_code(code: &str) -> Option<Self> {
        [
            RequestStatus::Pending,
            RequestStatus::Granted,
            RequestStatus::Rejected,
        ]
        .into_iter()
        .find(|s| s.as_code() == code)
    }
}

/// Conditions an approval may put on a grant: fewer columns, masks, a row filter, fewer days.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conditions {
    /// Only these columns (of those asked for).
    #[serde(default)]
    pub columns: Option<Vec<String>>,
    /// Masks by column.
    #[serde(default)]
    pub masks: BTreeMap<String, String>,
    /// A row filter in place of the one asked for.
    #[serde(default)]
    pub row_filter: Option<String>,
    /// Fewer days.
    #[serde(default)]
    pub days: Option<i64>,
}

/// A request as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareRequest {
    /// Number.
    pub id: i64,
    /// What was asked.
    #[serde(flatten)]
    pub request: NewShareRequest,
    /// The resource's owner, whose data officer decides.
    pub owner: OrgId,
    /// Where it stands.
    pub status: RequestStatus,
    /// The conditions of its approval.
    pub conditions: Option<Conditions>,
    /// Why it was rejected.
    pub reason: Option<String>,
    /// The grant its approval created.
    pub grant: Option<i64>,
    /// Who filed it.
    pub filed_by: String,
    /// When, RFC 3339.
    pub filed_at: String,
    /// Who decided it.
    pub decided_by: Option<String>,
    /// When.
    pub decided_at: Option<String>,
}

/// What the deciding officer says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum RequestDecision {
    /// Grant it, under conditions or as asked.
    Approve {
        /// The conditions, if any.
        #[serde(default)]
        conditions: Option<Conditions>,
    },
    /// Refuse it.
    Reject {
        /// Why.
        reason: String,
    },
}

/// An entry of the sharing negative list: a data element (wherever bound) or one column of a
/// resource that is never shared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NegativeEntry {
    /// Identifier.
    pub id: String,
    /// A data element, wherever it is bound.
    #[serde(default)]
    pub element: Option<ElementId>,
    /// A resource (with `column`).
    #[serde(default)]
    pub resource: Option<ResourceId>,
    /// The column of `resource`.
    #[serde(default)]
    pub column: Option<String>,
    /// The legal basis for never sharing it.
    pub legal_basis: String,
}

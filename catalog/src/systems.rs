//! The system inventory (系统清单): each department's information systems and the resources
//! each produces. A system that produces no catalogued resource is a gap in the catalogue
//! (data that exists but is not registered), which the console flags.

use crate::ids::{OrgId, ResourceId};
use serde::{Deserialize, Serialize};

/// An information system as registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewSystem {
    /// Stable identifier, e.g. `rsj-employment`.
    pub id: String,
    /// Name, e.g. 就业创业管理系统.
    pub name: String,
    /// The department that runs it.
    pub org: OrgId,
    /// What it does.
    #[serde(default)]
    pub description: String,
    /// Who operates it (the unit or vendor answering for it).
    #[serde(default)]
    pub operator: String,
    /// The resources whose data it produces (each provided by `org`).
    #[serde(default)]
    pub resources: Vec<ResourceId>,
}

/// An information system with its department's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InformationSystem {
    /// What was registered.
    #[serde(flatten)]
    pub system: NewSystem,
    /// The department's name.
    pub org_name: String,
    /// Who registered or last changed it.
    pub registered_by: String,
    /// When, RFC 3339.
    pub updated_at: String,
}

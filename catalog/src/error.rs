//! Catalog errors. User mistakes (a second authoritative source, an open attribute that the
//! grade forbids, an unknown resource) are separate variants from storage failures so that the
//! edges can answer 4xx for the first and 5xx for the second.

use crate::classification::{Grade, OpenAttr};
use crate::ids::{ElementId, OrgId, ResourceId};

/// Result with [`CatalogError`].
pub type Result<T, E = CatalogError> = std::result::Result<T, E>;

/// A refused second authoritative source: who holds the source today.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "data element {element_name} ({element}) already has an authoritative source: column \
     `{source_column}` of resource {source_resource} ({source_resource_name}) owned by \
     {owner_name} ({owner}); bind this column as a replica, or have the owner release the \
     source first"
)]
pub struct SourceConflict {
    /// The element.
    pub element: ElementId,
    /// Its Chinese name.
    pub element_name: String,
    /// The current source resource.
    pub source_resource: ResourceId,
    /// Its name.
    pub source_resource_name: String,
    /// The current source column.
    pub source_column: String,
    /// The owning department.
    pub owner: OrgId,
    /// Its name.
    pub owner_name: String,
}

/// A source binding refused by the responsibility list: another department is responsible for
/// the element.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "data element {element_name} ({element}) is the responsibility of {org_name} ({org}) by the \
     responsibility list (数据权责清单, {legal_basis}), so only that department may hold its \
     authoritative source; bind this column as a replica, or ask the chief data officer to \
     change the assignment"
)]
pub struct NotResponsible {
    /// The element.
    pub element: ElementId,
    /// Its Chinese name.
    pub element_name: String,
    /// The responsible department.
    pub org: OrgId,
    /// Its name.
    pub org_name: String,
    /// The legal basis of the assignment.
    pub legal_basis: String,
}

/// Everything that can go wrong in the catalog.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// A referenced entity does not exist.
    #[error("{kind} `{id}` does not exist")]
    NotFound {
        /// Entity kind.
        kind: &'static str,
        /// The identifier asked for.
        id: String,
    },
    /// An entity with this identifier already exists.
    #[error("{kind} `{id}` already exists")]
    AlreadyExists {
        /// Entity kind.
        kind: &'static str,
        /// The identifier.
        id: String,
    },
    /// 一数一源: the element already has an authoritative source.
    #[error("{0}")]
    SecondSource(Box<SourceConflict>),
    /// 数据权责清单: another department is responsible for the element.
    #[error("{0}")]
    NotResponsible(Box<NotResponsible>),
    /// 分类分级: a resource graded L3 or above may not be opened unconditionally.
    #[error(
        "resource {resource} is graded {grade} (column `{column}`), so it cannot be {open_attr}; \
         data at L3 敏感 or above may only be 有条件开放 or 不予开放 — lower the column's grade \
         through a reviewed desensitisation or choose another open attribute"
    )]
    OpenAttrForbidden {
        /// The resource.
        resource: ResourceId,
        /// Its grade.
        grade: Grade,
        /// A column carrying that grade.
        column: String,
        /// The refused attribute.
        open_attr: OpenAttr,
    },
    /// Input that breaks a rule of the domain.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// What was invalid.
        what: String,
        /// Why.
        reason: String,
    },
    /// The search index failed.
    #[error("search index: {0}")]
    Search(String),
    /// The metadata database failed.
    #[error("catalog database: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error("catalog migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A catalog write tried to change governed state without a change-log entry; it was
    /// rolled back. This is a defect in zhongshu, not in the caller's input.
    #[error(
        "a catalog change was refused because it wrote no change-log entry; nothing was stored"
    )]
    Unlogged,
    /// Stored data could not be decoded; the database was changed outside the catalog.
    #[error("corrupt catalog row: {0}")]
    Corrupt(String),
}

impl CatalogError {
    /// Whether the error is the caller's mistake (as opposed to a failure of the system).
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            CatalogError::NotFound { .. }
                | CatalogError::AlreadyExists { .. }
                | CatalogError::SecondSource(_)
                | CatalogError::NotResponsible(_)
                | CatalogError::OpenAttrForbidden { .. }
                | CatalogError::Invalid { .. }
        )
    }

    /// `kind` `id` does not exist.
    pub fn not_found(kind: &'static str, id: impl ToString) -> Self {
        CatalogError::NotFound {
            kind,
            id: id.to_string(),
        }
    }

    pub(crate) fn corrupt(what: impl std::fmt::Display) -> Self {
        CatalogError::Corrupt(what.to_string())
    }
}

//! Single decisions for the doors and workflows: may this principal do this action on this
//! resource (or objection)?
//!
//! The governed session ([`crate::decide`]) turns `discover`, `read` and `read_unmasked` into
//! tables, columns and rows. Everything else a door does — list the catalogue, show a quality
//! report, profile a table, file or decide an objection, classify, manage jobs and rules — asks
//! [`Decisions`], which is made from the same authorizer, catalog facts, grants and purpose, so
//! every door answers alike and a custom Cedar policy is obeyed by all of them.
//!
//! Decisions are made on demand and remembered for the request: listing a catalogue of
//! thousands of resources asks one action of each, not every action of each.

use crate::authorizer::{
    Action, Authorizer, ObjectionFacts, PolicyError, RequestContext, ResourceFacts, Scope,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use zhongshu_catalog::{Grant, Grantee, Objection, OrgUnit, Principal, ResourceDetail, ResourceId};

/// What a decision is made for: the principal and the purpose its session declared.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// The principal.
    pub principal: &'a Principal,
    /// The purpose the session declared.
    pub purpose: Option<&'a str>,
    /// The session hands its results out as files (CSV, Arrow, Parquet): reading a table then
    /// also needs `download`.
    pub download: bool,
}

/// The facts Cedar needs of each resource: owner, grade, the categories of its columns,
/// attributes.
pub(crate) fn resource_facts(resources: &[ResourceDetail]) -> Vec<ResourceFacts<'_>> {
    resources
        .iter()
        .map(|r| {
            let mut categories: Vec<&'static str> =
                r.columns.iter().map(|c| c.category.as_code()).collect();
            categories.sort_unstable();
            categories.dedup();
            ResourceFacts::of(&r.resource, categories)
        })
        .collect()
}

/// The grant used for `resource`, if any: the principal's own before its organisation's, one
/// bound to the session's purpose before an unbound one, then the newest. Grants are never
/// merged, so a session never sees more than one grant allows.
pub(crate) fn usable_grant<'g>(
    grants: &'g [Grant],
    resource: &ResourceDetail,
    subject: Subject<'_>,
) -> Option<&'g Grant> {
    grants
        .iter()
        .filter(|g| g.grant.resource == resource.resource.id)
        .filter(|g| g.grant.purpose.is_none() || g.grant.purpose.as_deref() == subject.purpose)
        .max_by_key(|g| {
            (
                matches!(g.grant.grantee, Grantee::Principal(_)),
                g.grant.purpose.is_some(),
                g.id,
            )
        })
}

/// The request context of decisions on `resource`: the purpose, and whether a grant usable
/// under it (or bound to exactly it) exists.
pub(crate) fn request_context(grant: Option<&Grant>, subject: Subject<'_>) -> RequestContext {
    RequestContext {
        purpose: subject.purpose.unwrap_or_default().to_owned(),
        granted: grant.is_some(),
        purpose_granted: grant.is_some_and(|g| {
            g.grant.purpose.is_some() && g.grant.purpose.as_deref() == subject.purpose
        }),
    }
}

/// One principal's decisions for one request; see the module documentation.
pub struct Decisions {
    authorizer: Arc<Authorizer>,
    principal: Principal,
    scope: Scope,
    contexts: HashMap<ResourceId, RequestContext>,
    made: Mutex<HashMap<(String, Action), bool>>,
}

impl std::fmt::Debug for Decisions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decisions")
            .field("principal", &self.principal.id)
            .field("resources", &self.contexts.len())
            .finish()
    }
}

impl Decisions {
    /// Decisions for `subject` over the catalog's `resources`, given its grants in force.
    pub fn new(
        authorizer: Arc<Authorizer>,
        subject: Subject<'_>,
        orgs: &[OrgUnit],
        resources: &[ResourceDetail],
        grants: &[Grant],
    ) -> Result<Self, PolicyError> {
        let scope = authorizer.scope(subject.principal, orgs, &resource_facts(resources))?;
        let contexts = resources
            .iter()
            .map(|r| {
                let grant = usable_grant(grants, r, subject);
                (r.resource.id.clone(), request_context(grant, subject))
            })
            .collect();
        Ok(Decisions {
            authorizer,
            principal: subject.principal.clone(),
            scope,
            contexts,
            made: Mutex::new(HashMap::new()),
        })
    }

    /// The principal decided for.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// Whether the principal may do `action` on `resource`. A resource the catalog does not
    /// hold, and a request Cedar cannot evaluate, are refused.
    pub fn allows(&self, resource: &ResourceId, action: Action) -> bool {
        let Some(context) = self.contexts.get(resource) else {
            return false;
        };
        let key = (resource.as_str().to_owned(), action);
        if let Some(known) = self
            .made
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return *known;
        }
        let allowed = self
            .authorizer
            .is_allowed(
                &self.scope,
                &self.principal,
                action,
                resource.as_str(),
                context,
            )
            .unwrap_or(false);
        self.made
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, allowed);
        allowed
    }

    /// Whether the principal may do `action` (a catalogue action, such as
    /// [`Action::ManageStandards`]) on the catalogue as a whole.
    pub fn allows_on_catalogue(&self, action: Action) -> bool {
        self.authorizer
            .is_allowed_on_catalogue(&self.scope, &self.principal, action)
            .unwrap_or(false)
    }

    /// Whether the principal may do every one of `actions` on `resource`.
    pub fn allows_all(&self, resource: &ResourceId, actions: &[Action]) -> bool {
        actions.iter().all(|a| self.allows(resource, *a))
    }

    /// Makes `objections` decidable with [`Decisions::allows_objection`].
    pub fn add_objections(&mut self, objections: &[Objection]) -> Result<(), PolicyError> {
        let facts: Vec<ObjectionFacts<'_>> = objections
            .iter()
            .filter(|o| self.contexts.contains_key(&o.filed.resource))
            .map(ObjectionFacts::of)
            .collect();
        self.authorizer.add_objections(&mut self.scope, &facts)
    }

    /// Whether the principal may do `action` (an objection action) on `objection`, which
    /// [`Decisions::add_objections`] added. An objection on a resource the catalog no longer
    /// holds is refused.
    pub fn allows_objection(&self, objection: &Objection, action: Action) -> bool {
        if !action.on_objection() || !self.contexts.contains_key(&objection.filed.resource) {
            return false;
        }
        self.authorizer
            .is_allowed_on_objection(&self.scope, &self.principal, action, objection.id)
            .unwrap_or(false)
    }
}

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
//! thousands of resources asks one action of each, not every action of each. And a decision
//! depends on a resource only through its facts (owner, grade, categories, sharing and open
//! attributes, tier) and the request context (purpose, grants), unless a policy names the
//! resource itself: resources alike in all of these are one *class*, decided once, and Cedar
//! is given one entity per class. A catalogue of 100,000 resources has a few hundred classes.

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
    usable_grant_of(grants, &resource.resource.id, subject)
}

/// [`usable_grant`] by the resource's id.
fn usable_grant_of<'g>(
    grants: &'g [Grant],
    resource: &ResourceId,
    subject: Subject<'_>,
) -> Option<&'g Grant> {
    grants
        .iter()
        .filter(|g| g.grant.resource == *resource)
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

/// The entity id of class `n` (no resource id has this form: ids have no `:`).
fn class_id(n: usize) -> String {
    format!("zhongshu-class:{n}")
}

/// A class's facts, owned.
#[derive(Debug, Clone)]
struct ClassFacts {
    id: String,
    owner: String,
    grade: i64,
    categories: Vec<&'static str>,
    share: &'static str,
    open: &'static str,
    tier: &'static str,
}

/// The resources of a catalogue sorted into classes of equal facts (owner, grade, categories,
/// sharing and open attributes, tier): built once per catalogue state and authorizer, shared by
/// every principal's [`Decisions`]. A resource some policy names by id is a class of its own.
#[derive(Debug, Default)]
pub struct Classes {
    of: HashMap<ResourceId, usize>,
    facts: Vec<ClassFacts>,
}

impl Classes {
    /// Sorts `resources` into classes under `authorizer`'s policies.
    pub fn new(authorizer: &Authorizer, resources: &[ResourceDetail]) -> Classes {
        type Key<'f> = (
            &'f str,
            i64,
            &'f [&'static str],
            &'static str,
            &'static str,
            &'static str,
        );
        let facts = resource_facts(resources);
        let mut keyed: HashMap<Key<'_>, usize> = HashMap::new();
        let mut out = Classes {
            of: HashMap::with_capacity(resources.len()),
            facts: Vec::new(),
        };
        for (r, f) in resources.iter().zip(&facts) {
            let own = authorizer.names_resource(f.id);
            let key = (
                f.owner,
                f.grade,
                f.categories.as_slice(),
                f.share,
                f.open,
                f.tier,
            );
            let known = if own { None } else { keyed.get(&key).copied() };
            let class = match known {
                Some(class) => class,
                None => {
                    let n = out.facts.len();
                    out.facts.push(ClassFacts {
                        id: if own { f.id.to_owned() } else { class_id(n) },
                        owner: f.owner.to_owned(),
                        grade: f.grade,
                        categories: f.categories.clone(),
                        share: f.share,
                        open: f.open,
                        tier: f.tier,
                    });
                    if !own {
                        keyed.insert(key, n);
                    }
                    n
                }
            };
            out.of.insert(r.resource.id.clone(), class);
        }
        out
    }

    /// How many classes there are.
    pub fn len(&self) -> usize {
        self.facts.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.facts.is_empty()
    }

    fn entities(&self) -> Vec<ResourceFacts<'_>> {
        self.facts
            .iter()
            .map(|c| ResourceFacts {
                id: &c.id,
                owner: &c.owner,
                grade: c.grade,
                categories: c.categories.clone(),
                share: c.share,
                open: c.open,
                tier: c.tier,
            })
            .collect()
    }
}

/// One principal's decisions for one request; see the module documentation.
pub struct Decisions {
    authorizer: Arc<Authorizer>,
    principal: Principal,
    scope: Scope,
    classes: Arc<Classes>,
    /// The request context of resources with a grant usable under the purpose; every other
    /// resource has `plain`.
    granted: HashMap<ResourceId, RequestContext>,
    plain: RequestContext,
    made: Mutex<HashMap<(usize, Action, bool, bool), bool>>,
}

impl std::fmt::Debug for Decisions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decisions")
            .field("principal", &self.principal.id)
            .field("resources", &self.classes.of.len())
            .field("classes", &self.classes.len())
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
        let classes = Arc::new(Classes::new(&authorizer, resources));
        Self::with_classes(authorizer, classes, subject, orgs, grants)
    }

    /// [`Decisions::new`] over classes already sorted (by the same authorizer, from the
    /// catalogue as it is): what a door does on every request.
    pub fn with_classes(
        authorizer: Arc<Authorizer>,
        classes: Arc<Classes>,
        subject: Subject<'_>,
        orgs: &[OrgUnit],
        grants: &[Grant],
    ) -> Result<Self, PolicyError> {
        let mut granted = HashMap::new();
        for g in grants {
            let resource = &g.grant.resource;
            if !granted.contains_key(resource) {
                let usable = usable_grant_of(grants, resource, subject);
                granted.insert(resource.clone(), request_context(usable, subject));
            }
        }
        let scope = authorizer.scope(subject.principal, orgs, &classes.entities())?;
        Ok(Decisions {
            authorizer,
            principal: subject.principal.clone(),
            scope,
            classes,
            granted,
            plain: request_context(None, subject),
            made: Mutex::new(HashMap::new()),
        })
    }

    /// The class entity a resource is decided as, and its request context.
    fn placed(&self, resource: &ResourceId) -> Option<(usize, &RequestContext)> {
        let class = *self.classes.of.get(resource)?;
        Some((class, self.granted.get(resource).unwrap_or(&self.plain)))
    }

    /// The principal decided for.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// Whether the principal may do `action` on `resource`. A resource the catalog does not
    /// hold, and a request Cedar cannot evaluate, are refused.
    pub fn allows(&self, resource: &ResourceId, action: Action) -> bool {
        let Some((class, context)) = self.placed(resource) else {
            return false;
        };
        let key = (class, action, context.granted, context.purpose_granted);
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
                &self.classes.facts[class].id,
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

    /// Whether the principal may do `action` on the access audit log (`audit.queries`).
    pub fn allows_audit_log(&self, action: Action) -> bool {
        self.authorizer
            .is_allowed(
                &self.scope,
                &self.principal,
                action,
                crate::authorizer::AUDIT_LOG_RESOURCE,
                &RequestContext::default(),
            )
            .unwrap_or(false)
    }

    /// Whether the principal may do every one of `actions` on `resource`.
    pub fn allows_all(&self, resource: &ResourceId, actions: &[Action]) -> bool {
        actions.iter().all(|a| self.allows(resource, *a))
    }

    /// Makes `objections` decidable with [`Decisions::allows_objection`].
    pub fn add_objections(&mut self, objections: &[Objection]) -> Result<(), PolicyError> {
        // An objection's resource is its resource's class, the entity the scope holds.
        let classes = self.classes.clone();
        let facts: Vec<ObjectionFacts<'_>> = objections
            .iter()
            .filter_map(|o| {
                let class = *classes.of.get(&o.filed.resource)?;
                Some(ObjectionFacts {
                    resource: &classes.facts[class].id,
                    ..ObjectionFacts::of(o)
                })
            })
            .collect();
        self.authorizer.add_objections(&mut self.scope, &facts)
    }

    /// Whether the principal may do `action` (an objection action) on `objection`, which
    /// [`Decisions::add_objections`] added. An objection on a resource the catalog no longer
    /// holds is refused.
    pub fn allows_objection(&self, objection: &Objection, action: Action) -> bool {
        if !action.on_objection() || self.placed(&objection.filed.resource).is_none() {
            return false;
        }
        self.authorizer
            .is_allowed_on_objection(&self.scope, &self.principal, action, objection.id)
            .unwrap_or(false)
    }
}

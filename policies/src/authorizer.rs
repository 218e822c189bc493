//! Authorization with Cedar.
//!
//! The schema names what decisions are about: principals (their organisation, kind, roles and
//! jurisdiction), organisation units (a tree, so a policy can say `principal in
//! Zhongshu::Org::"440310-gaj"`), resources (owner, grade, categories, sharing and open
//! attributes, tier) and the actions `discover`, `read`, `read_unmasked`, `download`,
//! `approve`, `publish`, `administer`. The request context carries what the catalog knows about
//! the session: its declared purpose and whether a grant usable under it exists.
//!
//! The base policies turn the catalog's facts into decisions (owners read their own data;
//! 无条件共享 is readable by government principals; 有条件共享 needs a grant; 不予共享 only the
//! owner; 重要/核心 data only with a grant bound to the session's purpose). Administrators add
//! custom policies, which are validated against the schema before they are stored; a policy
//! that names an unknown attribute or action is refused with Cedar's explanation.

use cedar_policy::{
    Authorizer as CedarAuthorizer, Context, Decision, Entities, Entity, EntityId, EntityTypeName,
    EntityUid, Policy, PolicyId, PolicySet, PrincipalConstraint, Request, RestrictedExpression,
    Schema, ValidationMode, Validator,
};
use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use zhongshu_catalog::{CustomPolicy, Grade, OrgUnit, Principal, Resource};

/// The Cedar schema (Cedar schema syntax).
pub const SCHEMA: &str = r#"
namespace Zhongshu {
  entity Org in [Org] = {
    "kind": String,
  };
  entity Principal in [Org] = {
    "org": Org,
    "kind": String,
    "roles": Set<String>,
    "jurisdiction": Set<String>,
  };
  entity Resource = {
    "owner": Org,
    "grade": Long,
    "categories": Set<String>,
    "share": String,
    "open": String,
    "tier": String,
  };
  type Session = {
    "purpose": String,
    "granted": Bool,
    "purpose_granted": Bool,
  };
  entity Objection = {
    "owner": Org,
    "resource": Resource,
    "filed_by": Principal,
  };
  action discover, read, read_unmasked, download, approve, publish, administer,
         report, profile, file_objection, classify, manage_jobs, manage_rules, assess
    appliesTo { principal: [Principal], resource: [Resource], context: Session };
  action read_objection, decide_objection
    appliesTo { principal: [Principal], resource: [Objection], context: Session };
  entity Catalogue;
  action manage_standards, define_standards, register_resources, file_demand, match_demand
    appliesTo { principal: [Principal], resource: [Catalogue], context: Session };
}
"#;

/// The base policies, by id.
pub const BASE_POLICIES: &[(&str, &str)] = &[
    (
        "owner-reads-own-data",
        r#"permit(principal, action in [Zhongshu::Action::"discover", Zhongshu::Action::"read",
              Zhongshu::Action::"read_unmasked", Zhongshu::Action::"download"], resource)
           when { principal.org == resource.owner };"#,
    ),
    (
        "unconditional-sharing",
        r#"permit(principal, action in [Zhongshu::Action::"discover", Zhongshu::Action::"read",
              Zhongshu::Action::"download"], resource)
           when { resource.share == "unconditional" && principal.kind != "public"
                  && principal.kind != "external" };"#,
    ),
    (
        "conditional-sharing-is-discoverable",
        r#"permit(principal, action == Zhongshu::Action::"discover", resource)
           when { resource.share == "conditional" && principal.kind != "public" };"#,
    ),
    (
        "conditional-sharing-through-a-grant",
        r#"permit(principal, action in [Zhongshu::Action::"discover", Zhongshu::Action::"read",
              Zhongshu::Action::"download"], resource)
           when { resource.share == "conditional" && context.granted };"#,
    ),
    (
        "not-shared-owner-only",
        r#"forbid(principal, action in [Zhongshu::Action::"discover", Zhongshu::Action::"read",
              Zhongshu::Action::"read_unmasked", Zhongshu::Action::"download"], resource)
           when { resource.share == "not_shared" } unless { principal.org == resource.owner };"#,
    ),
    (
        "important-and-core-need-a-purpose-grant",
        r#"forbid(principal, action in [Zhongshu::Action::"read", Zhongshu::Action::"read_unmasked",
              Zhongshu::Action::"download"], resource)
           when { resource.grade >= 5 && !context.purpose_granted }
           unless { principal.org == resource.owner };"#,
    ),
    (
        "open-data",
        r#"permit(principal, action in [Zhongshu::Action::"discover", Zhongshu::Action::"read",
              Zhongshu::Action::"download"], resource)
           when { resource.open == "unconditional" && resource.grade <= 2 };"#,
    ),
    (
        "auditors-read-the-audit-log",
        r#"permit(principal, action in [Zhongshu::Action::"discover", Zhongshu::Action::"read"],
              resource == Zhongshu::Resource::"zhongshu-audit-log")
           when { principal.roles.contains("auditor") };"#,
    ),
    (
        "owners-approve-and-publish",
        r#"permit(principal, action in [Zhongshu::Action::"approve", Zhongshu::Action::"publish"],
              resource)
           when { principal.org == resource.owner && principal.roles.contains("data_officer") };"#,
    ),
    (
        "cdo-approves-and-publishes",
        r#"permit(principal, action in [Zhongshu::Action::"approve", Zhongshu::Action::"publish"],
              resource)
           when { principal.roles.contains("cdo") };"#,
    ),
    (
        "admin-administers",
        r#"permit(principal, action == Zhongshu::Action::"administer", resource)
           when { principal.roles.contains("admin") };"#,
    ),
    // Workflow actions that build on a data action: a door asks for both (a report on what the
    // principal may discover, an objection on what it may read), so these permit the workflow
    // and a custom `forbid` can take it away.
    (
        "reports-on-what-is-discoverable",
        r#"permit(principal, action == Zhongshu::Action::"report", resource);"#,
    ),
    (
        "objections-on-what-is-readable",
        r#"permit(principal, action == Zhongshu::Action::"file_objection", resource);"#,
    ),
    (
        "department-cdo-and-admin-profile",
        r#"permit(principal, action == Zhongshu::Action::"profile", resource)
           when { principal.org == resource.owner || principal.roles.contains("cdo")
                  || principal.roles.contains("admin") };"#,
    ),
    (
        "officers-classify-and-manage-their-data",
        r#"permit(principal, action in [Zhongshu::Action::"classify",
              Zhongshu::Action::"manage_jobs", Zhongshu::Action::"manage_rules"], resource)
           when { principal.org == resource.owner && principal.roles.contains("data_officer") };"#,
    ),
    (
        "privacy-officer-classifies",
        r#"permit(principal, action == Zhongshu::Action::"classify", resource)
           when { principal.roles.contains("privacy_officer") };"#,
    ),
    (
        "cdo-manages-rules",
        r#"permit(principal, action == Zhongshu::Action::"manage_rules", resource)
           when { principal.roles.contains("cdo") };"#,
    ),
    (
        "admin-manages-everything",
        r#"permit(principal, action in [Zhongshu::Action::"classify",
              Zhongshu::Action::"manage_jobs", Zhongshu::Action::"manage_rules"], resource)
           when { principal.roles.contains("admin") };"#,
    ),
    // The district's assessment figures (考核: the department ranking, 一数一源 coverage) are
    // aggregates that name no resource; government principals see them over the whole
    // catalogue, anyone else over what it may discover.
    (
        "government-sees-the-assessment",
        r#"permit(principal, action == Zhongshu::Action::"assess", resource)
           when { principal.kind != "public" && principal.kind != "external" };"#,
    ),
    // The district's shared vocabulary — the responsibility list (数据权责清单), data elements,
    // code lists, the system inventory — is the chief data officer's to keep.
    (
        "cdo-and-admin-manage-standards",
        r#"permit(principal, action == Zhongshu::Action::"manage_standards", resource)
           when { principal.roles.contains("cdo") || principal.roles.contains("admin") };"#,
    ),
    // Data officers add to it — data elements, code lists, their department's systems in the
    // inventory — and the chief data officer settles what is already there.
    (
        "officers-define-standards",
        r#"permit(principal, action == Zhongshu::Action::"define_standards", resource)
           when { principal.roles.contains("data_officer") || principal.roles.contains("cdo")
                  || principal.roles.contains("admin") };"#,
    ),
    // Cataloguing: a department's data officers register its resources (the use case keeps
    // them to their own department); the CDO and admins register any department's.
    (
        "officers-register-resources",
        r#"permit(principal, action == Zhongshu::Action::"register_resources", resource)
           when { principal.roles.contains("data_officer") || principal.roles.contains("cdo")
                  || principal.roles.contains("admin") };"#,
    ),
    // The demand list (需求清单): any government principal files its department's needs; data
    // officers, the CDO and admins match them to resources.
    (
        "government-files-demands",
        r#"permit(principal, action == Zhongshu::Action::"file_demand", resource)
           when { principal.kind != "public" && principal.kind != "external" };"#,
    ),
    (
        "officers-match-demands",
        r#"permit(principal, action == Zhongshu::Action::"match_demand", resource)
           when { principal.roles.contains("data_officer") || principal.roles.contains("cdo")
                  || principal.roles.contains("admin") };"#,
    ),
    (
        "inbox-and-filer-read-objections",
        r#"permit(principal, action == Zhongshu::Action::"read_objection", resource)
           when { principal.org == resource.owner || resource.filed_by == principal
                  || principal.roles.contains("admin") || principal.roles.contains("cdo") };"#,
    ),
    (
        "officers-decide-their-inbox",
        r#"permit(principal, action == Zhongshu::Action::"decide_objection", resource)
           when { (principal.org == resource.owner && principal.roles.contains("data_officer"))
                  || principal.roles.contains("admin") };"#,
    ),
];

/// The id of the access audit log as a Cedar resource.
pub const AUDIT_LOG_RESOURCE: &str = "zhongshu-audit-log";

/// An action of the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// See that a resource exists and its columns.
    Discover,
    /// Query it (with masks and filters).
    Read,
    /// See its L3 columns unmasked.
    ReadUnmasked,
    /// Download it whole.
    Download,
    /// Approve share requests for it.
    Approve,
    /// Publish it as open data.
    Publish,
    /// Administer it.
    Administer,
    /// Read its quality results, scores, incidents and report (with `discover`; failing
    /// examples only with `read`).
    Report,
    /// Profile its columns.
    Profile,
    /// File an objection (数据纠错) on one of its records (with `read`).
    FileObjection,
    /// Classify and grade its columns, bind them to data elements, set its attributes.
    Classify,
    /// Create and run the ingest jobs that land it.
    ManageJobs,
    /// Declare and remove its quality rules.
    ManageRules,
    /// Read an objection (the resource of the request is an objection).
    ReadObjection,
    /// Accept or reject an objection (the resource of the request is an objection).
    DecideObjection,
    /// Count it in the district's assessment figures (考核) shown to the principal — the
    /// department ranking and 一数一源 coverage — even where it may not discover it; the
    /// figures are aggregates that name no resource.
    Assess,
    /// Keep the district's shared vocabulary: assign data elements to their responsible
    /// departments (数据权责清单), add elements and code lists, keep the system inventory (the
    /// resource of the request is the catalogue).
    ManageStandards,
    /// Add to the district's shared vocabulary: a new data element or code list, or a system
    /// of the principal's own department in the inventory (the resource is the catalogue).
    DefineStandards,
    /// Register resources in the catalogue (of the principal's own department unless it may
    /// also manage the standards; the resource is the catalogue).
    RegisterResources,
    /// File a demand (需求) for the principal's department (the resource is the catalogue).
    FileDemand,
    /// Match demands to resources, or mark them for cataloguing or not shareable.
    MatchDemand,
}

impl Action {
    /// The Cedar action id.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Discover => "discover",
            Action::Read => "read",
            Action::ReadUnmasked => "read_unmasked",
            Action::Download => "download",
            Action::Approve => "approve",
            Action::Publish => "publish",
            Action::Administer => "administer",
            Action::Report => "report",
            Action::Profile => "profile",
            Action::FileObjection => "file_objection",
            Action::Classify => "classify",
            Action::ManageJobs => "manage_jobs",
            Action::ManageRules => "manage_rules",
            Action::ReadObjection => "read_objection",
            Action::DecideObjection => "decide_objection",
            Action::Assess => "assess",
            Action::ManageStandards => "manage_standards",
            Action::DefineStandards => "define_standards",
            Action::RegisterResources => "register_resources",
            Action::FileDemand => "file_demand",
            Action::MatchDemand => "match_demand",
        }
    }

    /// Every action, in schema order.
    pub const ALL: [Action; 21] = [
        Action::Discover,
        Action::Read,
        Action::ReadUnmasked,
        Action::Download,
        Action::Approve,
        Action::Publish,
        Action::Administer,
        Action::Report,
        Action::Profile,
        Action::FileObjection,
        Action::Classify,
        Action::ManageJobs,
        Action::ManageRules,
        Action::ReadObjection,
        Action::DecideObjection,
        Action::Assess,
        Action::ManageStandards,
        Action::DefineStandards,
        Action::RegisterResources,
        Action::FileDemand,
        Action::MatchDemand,
    ];

    /// Whether the action is about an objection rather than a resource.
    pub fn on_objection(self) -> bool {
        matches!(self, Action::ReadObjection | Action::DecideObjection)
    }

    /// Whether the action is about the catalogue as a whole rather than a resource.
    pub fn on_catalogue(self) -> bool {
        matches!(
            self,
            Action::ManageStandards
                | Action::DefineStandards
                | Action::RegisterResources
                | Action::FileDemand
                | Action::MatchDemand
        )
    }
}

/// Errors of policies and decisions.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// A custom policy does not parse or does not validate against the schema.
    #[error("policy `{id}` is invalid: {reason}")]
    Invalid {
        /// The policy id.
        id: String,
        /// Cedar's explanation.
        reason: String,
    },
    /// A grant's row filter or mask cannot be used.
    #[error("grant {grant}: {reason}")]
    Grant {
        /// The grant id.
        grant: i64,
        /// What is wrong.
        reason: String,
    },
    /// Entities or a request could not be built (a bug or a corrupt catalog).
    #[error("authorization request: {0}")]
    Request(String),
}

/// The request context: the session's purpose and the grants usable under it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct RequestContext {
    /// The declared purpose (empty when none).
    pub purpose: String,
    /// A grant usable under the purpose exists.
    pub granted: bool,
    /// A grant bound to exactly this purpose exists.
    pub purpose_granted: bool,
}

/// The schema, the base policies and the custom ones, validated together.
///
/// Cedar evaluates every policy it is given, so with thousands of custom policies a decision
/// would cost milliseconds. Policies scoped to one principal (`principal == …`) can only apply to
/// that principal, so they are indexed by it: a principal's decisions are made over the shared
/// policies plus its own, which gives the same answers as the whole set.
#[derive(Debug)]
pub struct Authorizer {
    schema: Schema,
    shared: Vec<Policy>,
    by_principal: HashMap<EntityUid, Vec<Policy>>,
    count: usize,
    named_resources: HashSet<String>,
    inner: CedarAuthorizer,
}

/// What one principal's decisions are made over: the entities and the policies that can apply.
#[derive(Debug)]
pub struct Scope {
    entities: Entities,
    policies: PolicySet,
}

fn type_name(name: &str) -> EntityTypeName {
    // The names are constants of this module, checked by the tests.
    EntityTypeName::from_str(name).unwrap_or_else(|_| unreachable!("entity type {name}"))
}

fn uid(kind: &str, id: &str) -> EntityUid {
    EntityUid::from_type_name_and_id(type_name(kind), EntityId::new(id))
}

fn grade_number(grade: Grade) -> i64 {
    match grade {
        Grade::L1 => 1,
        Grade::L2 => 2,
        Grade::L3 => 3,
        Grade::L4 => 4,
        Grade::Important => 5,
        Grade::Core => 6,
    }
}

fn strings<'a>(values: impl IntoIterator<Item = &'a str>) -> RestrictedExpression {
    RestrictedExpression::new_set(
        values
            .into_iter()
            .map(|v| RestrictedExpression::new_string(v.to_owned())),
    )
}

impl Authorizer {
    /// The schema and base policies plus `custom`, all validated.
    pub fn new(custom: &[CustomPolicy]) -> Result<Self, PolicyError> {
        let (schema, _warnings) = Schema::from_cedarschema_str(SCHEMA)
            .map_err(|e| PolicyError::Request(format!("schema: {e}")))?;
        let mut policies = PolicySet::new();
        for (id, text) in BASE_POLICIES {
            add_policy(&mut policies, id, text)?;
        }
        for p in custom {
            add_policy(&mut policies, &p.id, &p.policy)?;
        }
        let result = Validator::new(schema.clone()).validate(&policies, ValidationMode::Strict);
        if !result.validation_passed() {
            let reason = result
                .validation_errors()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("; ");
            return Err(PolicyError::Invalid {
                id: custom
                    .iter()
                    .map(|p| p.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                reason,
            });
        }
        let mut shared = Vec::new();
        let mut by_principal: HashMap<EntityUid, Vec<Policy>> = HashMap::new();
        let count = policies.policies().count();
        for policy in policies.policies() {
            match policy.principal_constraint() {
                PrincipalConstraint::Eq(uid) => {
                    by_principal.entry(uid).or_default().push(policy.clone())
                }
                _ => shared.push(policy.clone()),
            }
        }
        // Resources a policy names by id (`resource == Zhongshu::Resource::"…"`, or in a
        // condition): decisions on those depend on the id, every other one only on its facts.
        let named = regex::Regex::new(r#"Resource::"((?:[^"\\]|\\.)*)""#)
            .map_err(|e| PolicyError::Request(e.to_string()))?;
        let named_resources = policies
            .policies()
            .flat_map(|p| {
                let text = p.to_string();
                named
                    .captures_iter(&text)
                    .map(|c| c[1].to_owned())
                    .collect::<Vec<_>>()
            })
            .collect();
        Ok(Authorizer {
            schema,
            shared,
            by_principal,
            count,
            named_resources,
            inner: CedarAuthorizer::new(),
        })
    }

    /// Whether some policy names the resource `id` itself, so that decisions on it cannot be
    /// shared with other resources of the same facts.
    pub fn names_resource(&self, id: &str) -> bool {
        self.named_resources.contains(id)
    }

    /// Checks one custom policy against the schema (and the base policies) without storing it.
    pub fn validate_custom(id: &str, text: &str) -> Result<(), PolicyError> {
        let (schema, _warnings) = Schema::from_cedarschema_str(SCHEMA)
            .map_err(|e| PolicyError::Request(format!("schema: {e}")))?;
        let mut set = PolicySet::new();
        add_policy(&mut set, id, text)?;
        let result = Validator::new(schema).validate(&set, ValidationMode::Strict);
        if result.validation_passed() {
            Ok(())
        } else {
            Err(PolicyError::Invalid {
                id: id.to_owned(),
                reason: result
                    .validation_errors()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("; "),
            })
        }
    }

    /// Number of policies in force.
    pub fn policy_count(&self) -> usize {
        self.count
    }

    /// What a principal's decisions are made over: the principal, the organisation tree and
    /// the resources as entities, and the policies that can apply to it.
    pub fn scope(
        &self,
        principal: &Principal,
        orgs: &[OrgUnit],
        resources: &[ResourceFacts<'_>],
    ) -> Result<Scope, PolicyError> {
        let own = self
            .by_principal
            .get(&uid("Zhongshu::Principal", principal.id.as_str()))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let policies = PolicySet::from_policies(self.shared.iter().chain(own).cloned())
            .map_err(|e| PolicyError::Request(e.to_string()))?;
        Ok(Scope {
            entities: self.entities(principal, orgs, resources)?,
            policies,
        })
    }

    fn entities(
        &self,
        principal: &Principal,
        orgs: &[OrgUnit],
        resources: &[ResourceFacts<'_>],
    ) -> Result<Entities, PolicyError> {
        let err = |e: &dyn std::fmt::Display| PolicyError::Request(e.to_string());
        let mut all = Vec::with_capacity(orgs.len() + resources.len() + 2);
        let mut known: HashSet<&str> = HashSet::new();
        for org in orgs {
            known.insert(org.id.as_str());
            let parents = org
                .parent
                .iter()
                .map(|p| uid("Zhongshu::Org", p.as_str()))
                .collect();
            let attrs = HashMap::from([(
                "kind".to_owned(),
                RestrictedExpression::new_string(org.kind.as_code().to_owned()),
            )]);
            all.push(
                Entity::new(uid("Zhongshu::Org", org.id.as_str()), attrs, parents)
                    .map_err(|e| err(&e))?,
            );
        }
        for extra in [principal.org.as_str(), AUDIT_OWNER]
            .into_iter()
            .chain(resources.iter().map(|r| r.owner))
        {
            if known.insert(extra) {
                let attrs = HashMap::from([(
                    "kind".to_owned(),
                    RestrictedExpression::new_string("unknown".to_owned()),
                )]);
                all.push(
                    Entity::new(uid("Zhongshu::Org", extra), attrs, HashSet::new())
                        .map_err(|e| err(&e))?,
                );
            }
        }
        let attrs = HashMap::from([
            (
                "org".to_owned(),
                RestrictedExpression::new_entity_uid(uid("Zhongshu::Org", principal.org.as_str())),
            ),
            (
                "kind".to_owned(),
                RestrictedExpression::new_string(principal.kind.as_code().to_owned()),
            ),
            (
                "roles".to_owned(),
                strings(principal.roles.iter().map(|r| r.as_code())),
            ),
            (
                "jurisdiction".to_owned(),
                strings(principal.attributes.jurisdiction.iter().map(String::as_str)),
            ),
        ]);
        all.push(
            Entity::new(
                uid("Zhongshu::Principal", principal.id.as_str()),
                attrs,
                HashSet::from([uid("Zhongshu::Org", principal.org.as_str())]),
            )
            .map_err(|e| err(&e))?,
        );
        for r in resources
            .iter()
            .chain(std::iter::once(&ResourceFacts::audit_log()))
        {
            let attrs = HashMap::from([
                (
                    "owner".to_owned(),
                    RestrictedExpression::new_entity_uid(uid("Zhongshu::Org", r.owner)),
                ),
                ("grade".to_owned(), RestrictedExpression::new_long(r.grade)),
                (
                    "categories".to_owned(),
                    strings(r.categories.iter().copied()),
                ),
                (
                    "share".to_owned(),
                    RestrictedExpression::new_string(r.share.to_owned()),
                ),
                (
                    "open".to_owned(),
                    RestrictedExpression::new_string(r.open.to_owned()),
                ),
                (
                    "tier".to_owned(),
                    RestrictedExpression::new_string(r.tier.to_owned()),
                ),
            ]);
            all.push(
                Entity::new(uid("Zhongshu::Resource", r.id), attrs, HashSet::new())
                    .map_err(|e| err(&e))?,
            );
        }
        Entities::from_entities(all, Some(&self.schema)).map_err(|e| err(&e))
    }

    /// Whether `principal` may do `action` on the resource `resource_id` under `context`.
    pub fn is_allowed(
        &self,
        scope: &Scope,
        principal: &Principal,
        action: Action,
        resource_id: &str,
        context: &RequestContext,
    ) -> Result<bool, PolicyError> {
        let resource = uid("Zhongshu::Resource", resource_id);
        self.decide_request(scope, principal, action, resource, context)
    }

    /// Adds objections to `scope` as entities, for [`Authorizer::is_allowed_on_objection`].
    /// Their resources must be among the scope's resources.
    pub fn add_objections(
        &self,
        scope: &mut Scope,
        objections: &[ObjectionFacts<'_>],
    ) -> Result<(), PolicyError> {
        let err = |e: &dyn std::fmt::Display| PolicyError::Request(e.to_string());
        let mut added = Vec::with_capacity(objections.len());
        for o in objections {
            let attrs = HashMap::from([
                (
                    "owner".to_owned(),
                    RestrictedExpression::new_entity_uid(uid("Zhongshu::Org", o.owner)),
                ),
                (
                    "resource".to_owned(),
                    RestrictedExpression::new_entity_uid(uid("Zhongshu::Resource", o.resource)),
                ),
                (
                    "filed_by".to_owned(),
                    RestrictedExpression::new_entity_uid(uid("Zhongshu::Principal", o.filed_by)),
                ),
            ]);
            added.push(
                Entity::new(
                    uid("Zhongshu::Objection", &o.id.to_string()),
                    attrs,
                    HashSet::new(),
                )
                .map_err(|e| err(&e))?,
            );
        }
        let entities = std::mem::take(&mut scope.entities);
        scope.entities = entities
            .add_entities(added, Some(&self.schema))
            .map_err(|e| err(&e))?;
        Ok(())
    }

    /// Whether `principal` may do `action` (an objection action) on the objection `id`, which
    /// [`Authorizer::add_objections`] put in `scope`.
    pub fn is_allowed_on_objection(
        &self,
        scope: &Scope,
        principal: &Principal,
        action: Action,
        id: i64,
    ) -> Result<bool, PolicyError> {
        let resource = uid("Zhongshu::Objection", &id.to_string());
        self.decide_request(
            scope,
            principal,
            action,
            resource,
            &RequestContext::default(),
        )
    }

    /// Whether `principal` may do `action` (a catalogue action) on the catalogue as a whole.
    pub fn is_allowed_on_catalogue(
        &self,
        scope: &Scope,
        principal: &Principal,
        action: Action,
    ) -> Result<bool, PolicyError> {
        if !action.on_catalogue() {
            return Ok(false);
        }
        let resource = uid("Zhongshu::Catalogue", CATALOGUE);
        self.decide_request(
            scope,
            principal,
            action,
            resource,
            &RequestContext::default(),
        )
    }

    fn decide_request(
        &self,
        scope: &Scope,
        principal: &Principal,
        action: Action,
        resource: EntityUid,
        context: &RequestContext,
    ) -> Result<bool, PolicyError> {
        let context = Context::from_pairs([
            (
                "purpose".to_owned(),
                RestrictedExpression::new_string(context.purpose.clone()),
            ),
            (
                "granted".to_owned(),
                RestrictedExpression::new_bool(context.granted),
            ),
            (
                "purpose_granted".to_owned(),
                RestrictedExpression::new_bool(context.purpose_granted),
            ),
        ])
        .map_err(|e| PolicyError::Request(e.to_string()))?;
        let request = Request::new(
            uid("Zhongshu::Principal", principal.id.as_str()),
            uid("Zhongshu::Action", action.as_str()),
            resource,
            context,
            Some(&self.schema),
        )
        .map_err(|e| PolicyError::Request(e.to_string()))?;
        let response = self
            .inner
            .is_authorized(&request, &scope.policies, &scope.entities);
        Ok(response.decision() == Decision::Allow)
    }
}

const AUDIT_OWNER: &str = "zhongshu-audit";

/// The id of the catalogue as a Cedar resource, for catalogue actions.
pub const CATALOGUE: &str = "zhongshu-catalogue";

fn add_policy(set: &mut PolicySet, id: &str, text: &str) -> Result<(), PolicyError> {
    let invalid = |reason: String| PolicyError::Invalid {
        id: id.to_owned(),
        reason,
    };
    let policy =
        Policy::parse(Some(PolicyId::new(id)), text).map_err(|e| invalid(format!("{e:?}")))?;
    set.add(policy).map_err(|e| invalid(e.to_string()))
}

/// The facts of an objection a decision needs.
#[derive(Debug, Clone, Copy)]
pub struct ObjectionFacts<'a> {
    /// Objection number.
    pub id: i64,
    /// The department whose inbox it is in.
    pub owner: &'a str,
    /// The resource it concerns.
    pub resource: &'a str,
    /// Who filed it.
    pub filed_by: &'a str,
}

impl<'a> ObjectionFacts<'a> {
    /// The facts of a catalog objection.
    pub fn of(objection: &'a zhongshu_catalog::Objection) -> Self {
        ObjectionFacts {
            id: objection.id,
            owner: objection.owner.as_str(),
            resource: objection.filed.resource.as_str(),
            filed_by: objection.filed_by.as_str(),
        }
    }
}

/// The facts of a resource a decision needs.
#[derive(Debug, Clone)]
pub struct ResourceFacts<'a> {
    /// Resource id.
    pub id: &'a str,
    /// Owning organisation.
    pub owner: &'a str,
    /// Grade as a number (L1 = 1 … 核心 = 6).
    pub grade: i64,
    /// Categories of its columns.
    pub categories: Vec<&'static str>,
    /// Sharing attribute code.
    pub share: &'static str,
    /// Open attribute code.
    pub open: &'static str,
    /// Library tier code.
    pub tier: &'static str,
}

impl<'a> ResourceFacts<'a> {
    /// The facts of a catalog resource with its columns' categories.
    pub fn of(resource: &'a Resource, categories: Vec<&'static str>) -> Self {
        ResourceFacts {
            id: resource.id.as_str(),
            owner: resource.provider.as_str(),
            grade: resource.grade.map(grade_number).unwrap_or(1),
            categories,
            share: resource.share_attr.as_code(),
            open: resource.open_attr.as_code(),
            tier: resource.tier.as_code(),
        }
    }

    fn audit_log() -> ResourceFacts<'static> {
        ResourceFacts {
            id: AUDIT_LOG_RESOURCE,
            owner: AUDIT_OWNER,
            grade: 3,
            categories: vec!["personal"],
            share: "audit",
            open: "not_open",
            tier: "audit",
        }
    }
}

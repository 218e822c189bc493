//! The [`CatalogStore`] trait: everything the rest of zhongshu asks of the metadata store.
//!
//! The domain rules live behind this trait so that every door (CLI, HTTP, console, ingest)
//! gets the same checks inside the same transaction as the change: 一数一源 on every binding,
//! the grade recomputed on every column change, the open attribute checked against the grade,
//! and one change-log entry appended for every mutation.

use crate::classification::{BindingRole, Category, Grade, OpenAttr, ShareAttr, SuggestionStatus};
use crate::codes::{CodeListSummary, NewCodeList};
use crate::error::Result;
use crate::governance::{AuditRecord, CustomPolicy, Grant, NewAuditRecord, NewGrant};
use crate::ids::{ElementId, JobId, OrgId, PrincipalId, ResourceId};
use crate::model::{
    ChainReport, ChangeEvent, Column, Coverage, DataElement, ElementBindings, IngestJob, IngestRun,
    NewObjection, NewPrincipal, NewResource, NewResponsibility, NewSuggestion, Objection,
    ObjectionStatus, OrgUnit, Page, Paged, Principal, QualityIncident, QualityMetric,
    QualityResult, QualityRuleRecord, Resource, ResourceDetail, ResourceFilter, Responsibility,
    SearchDocument, Suggestion, TableRecord,
};
use crate::sharing::{
    Demand, DemandDecision, NegativeEntry, NewDemand, NewShareRequest, RequestDecision,
    ShareRequest,
};
use crate::systems::{InformationSystem, NewSystem};
use async_trait::async_trait;

/// Who makes a change; recorded in the change log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor(pub String);

impl Actor {
    /// The actor for changes made by zhongshu itself (migrations, demo set-up).
    pub fn system() -> Self {
        Actor("system".to_owned())
    }

    /// A principal acting.
    pub fn principal(id: &PrincipalId) -> Self {
        Actor(id.as_str().to_owned())
    }
}

/// Changes to a resource's descriptive metadata and its sharing and open attributes. `None`
/// leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttributeChange {
    /// New name (资源名称).
    pub name: Option<String>,
    /// New abstract (资源摘要).
    pub abstract_text: Option<String>,
    /// New update cycle.
    pub update_cycle: Option<crate::classification::UpdateCycle>,
    /// New sharing attribute.
    pub share_attr: Option<ShareAttr>,
    /// New sharing conditions (`Some(None)` clears them).
    pub share_conditions: Option<Option<String>>,
    /// New open attribute.
    pub open_attr: Option<OpenAttr>,
    /// New open conditions.
    pub open_conditions: Option<Option<String>>,
}

/// The metadata store.
#[async_trait]
pub trait CatalogStore: Send + Sync + std::fmt::Debug {
    /// Which backend this is (`sqlite`, `postgres`).
    fn backend_name(&self) -> &'static str;

    // --- organisations -------------------------------------------------------------------
    /// Creates or replaces an organisation unit.
    async fn upsert_org(&self, actor: &Actor, org: &OrgUnit) -> Result<()>;
    /// One organisation unit.
    async fn get_org(&self, id: &OrgId) -> Result<Option<OrgUnit>>;
    /// All organisation units, ordered by id.
    async fn list_orgs(&self) -> Result<Vec<OrgUnit>>;

    // --- principals ----------------------------------------------------------------------
    /// Creates a principal; its password and token are hashed before storage.
    async fn create_principal(&self, actor: &Actor, new: &NewPrincipal) -> Result<Principal>;
    /// One principal.
    async fn get_principal(&self, id: &PrincipalId) -> Result<Option<Principal>>;
    /// All principals, ordered by id.
    async fn list_principals(&self) -> Result<Vec<Principal>>;
    /// The principal a bearer token belongs to.
    async fn principal_by_token(&self, token: &str) -> Result<Option<Principal>>;
    /// The stored SCRAM-SHA-256 verifier of a principal's password.
    async fn password_verifier(&self, id: &PrincipalId) -> Result<Option<String>>;

    // --- data elements -------------------------------------------------------------------
    /// Creates or replaces a data element.
    async fn upsert_element(&self, actor: &Actor, element: &DataElement) -> Result<()>;
    /// A data element by id or by Chinese name.
    async fn get_element(&self, id_or_name: &str) -> Result<Option<DataElement>>;
    /// All data elements, ordered by id.
    async fn list_elements(&self) -> Result<Vec<DataElement>>;
    /// The source and replicas of a data element (by id or name).
    async fn element_bindings(&self, id_or_name: &str) -> Result<ElementBindings>;
    /// 一数一源 coverage.
    async fn coverage(&self) -> Result<Coverage>;

    // --- resources -----------------------------------------------------------------------
    /// Registers a resource with its items, enforcing 一数一源 and the grade rules.
    async fn register_resource(&self, actor: &Actor, new: &NewResource) -> Result<Resource>;
    /// Registers many resources in one transaction (all or none).
    async fn register_resources(&self, actor: &Actor, new: &[NewResource]) -> Result<usize>;
    /// A resource with items and tables.
    async fn get_resource(&self, id: &ResourceId) -> Result<Option<ResourceDetail>>;
    /// Resources matching a filter, one page, ordered by id.
    async fn list_resources(&self, filter: &ResourceFilter, page: Page) -> Result<Paged<Resource>>;
    /// Changes the name, abstract, update cycle and sharing and open attributes; refuses an
    /// empty name and 无条件开放 at L3 or above.
    async fn set_attributes(
        &self,
        actor: &Actor,
        id: &ResourceId,
        change: &AttributeChange,
    ) -> Result<Resource>;
    /// Binds a column to a data element as its source or a replica; refuses a second source.
    async fn bind_column(
        &self,
        actor: &Actor,
        resource: &ResourceId,
        column: &str,
        element: &ElementId,
        role: BindingRole,
    ) -> Result<()>;
    /// Removes a column's binding (releasing a source).
    async fn unbind_column(&self, actor: &Actor, resource: &ResourceId, column: &str)
    -> Result<()>;

    // --- the responsibility list (数据权责清单) ---------------------------------------------
    /// Assigns a data element to the department responsible for it (replacing an earlier
    /// assignment), a logged change; refuses an unknown element or department and an empty
    /// legal basis or update duty.
    async fn assign_responsibility(
        &self,
        actor: &Actor,
        new: &NewResponsibility,
    ) -> Result<Responsibility>;
    /// The responsibility list, by element.
    async fn list_responsibilities(&self) -> Result<Vec<Responsibility>>;
    /// Removes an element's assignment, a logged change.
    async fn remove_responsibility(&self, actor: &Actor, element: &ElementId) -> Result<()>;
    /// Adds a column at the end of a resource (schema evolution by an ingest job) and
    /// recomputes the resource grade; refuses a name the resource already has.
    async fn add_column(&self, actor: &Actor, resource: &ResourceId, column: &Column)
    -> Result<()>;
    /// Sets a column's category and grade and recomputes the resource grade; `reason` (why
    /// the grade changed) is kept in the change log with the new state.
    async fn classify_column(
        &self,
        actor: &Actor,
        resource: &ResourceId,
        column: &str,
        category: Category,
        grade: Grade,
        reason: Option<&str>,
    ) -> Result<()>;

    // --- code lists and the system inventory ---------------------------------------------
    /// Writes a code list with all its codes (replacing an earlier one), a logged change;
    /// refuses a bad id, an empty name, no codes and a repeated code.
    async fn put_code_list(&self, actor: &Actor, list: &NewCodeList) -> Result<CodeListSummary>;
    /// Every code list, by id, without codes.
    async fn list_code_lists(&self) -> Result<Vec<CodeListSummary>>;
    /// A code list with its codes in order.
    async fn get_code_list(&self, id: &str) -> Result<Option<NewCodeList>>;
    /// Removes a code list, a logged change.
    async fn remove_code_list(&self, actor: &Actor, id: &str) -> Result<()>;
    /// Registers (or replaces) an information system with the resources it produces, a logged
    /// change; refuses an unknown department or resource and a resource another department
    /// provides.
    async fn put_system(&self, actor: &Actor, system: &NewSystem) -> Result<InformationSystem>;
    /// The system inventory, by department and id.
    async fn list_systems(&self) -> Result<Vec<InformationSystem>>;
    /// Removes a system from the inventory, a logged change.
    async fn remove_system(&self, actor: &Actor, id: &str) -> Result<()>;

    // --- sharing: demands, requests, the negative list -----------------------------------
    /// Files a demand (需求), a logged change; refuses an empty title, business or legal basis.
    async fn file_demand(&self, actor: &Actor, new: &NewDemand) -> Result<Demand>;
    /// Every demand, by number.
    async fn list_demands(&self) -> Result<Vec<Demand>>;
    /// Matches a demand to a resource, or marks it for cataloguing or not shareable.
    async fn decide_demand(
        &self,
        actor: &Actor,
        id: i64,
        decision: &DemandDecision,
    ) -> Result<Demand>;
    /// Files a share request, a logged change; refuses unknown columns, a request touching the
    /// negative list (naming its legal basis) and days outside 1 to three years.
    async fn file_share_request(
        &self,
        actor: &Actor,
        new: &NewShareRequest,
    ) -> Result<ShareRequest>;
    /// Every share request, by number.
    async fn list_share_requests(&self) -> Result<Vec<ShareRequest>>;
    /// Decides a pending request: approving writes its grant (narrowed by the conditions) in
    /// the same transaction; rejecting needs a reason.
    async fn decide_share_request(
        &self,
        actor: &Actor,
        id: i64,
        decision: &RequestDecision,
    ) -> Result<(ShareRequest, Option<Grant>)>;
    /// Adds (or replaces) a negative-list entry, a logged change.
    async fn put_negative(&self, actor: &Actor, entry: &NegativeEntry) -> Result<NegativeEntry>;
    /// The negative list.
    async fn list_negative(&self) -> Result<Vec<NegativeEntry>>;
    /// Removes a negative-list entry, a logged change.
    async fn remove_negative(&self, actor: &Actor, id: &str) -> Result<()>;

    // --- tables --------------------------------------------------------------------------
    /// Records (or updates) the Delta table behind a resource. A record older than the stored
    /// one (a lower version, from a slower concurrent writer) does not replace it.
    async fn upsert_table(&self, actor: &Actor, table: &TableRecord) -> Result<()>;
    /// Every recorded table, of every resource, by resource and name.
    async fn list_tables(&self) -> Result<Vec<TableRecord>>;

    // --- discovery suggestions -----------------------------------------------------------
    /// Stores suggestions, replacing pending ones for the same columns.
    async fn add_suggestions(
        &self,
        actor: &Actor,
        new: &[NewSuggestion],
    ) -> Result<Vec<Suggestion>>;
    /// Suggestions, optionally for one resource and status.
    async fn list_suggestions(
        &self,
        resource: Option<&ResourceId>,
        status: Option<SuggestionStatus>,
    ) -> Result<Vec<Suggestion>>;
    /// Accepts (classifying and binding the column) or rejects a pending suggestion.
    async fn decide_suggestion(&self, actor: &Actor, id: i64, accept: bool) -> Result<Suggestion>;

    // --- search support ------------------------------------------------------------------
    /// Search documents for resources after `after` in id order.
    async fn search_documents(
        &self,
        after: Option<&ResourceId>,
        limit: i64,
    ) -> Result<Vec<SearchDocument>>;
    /// Search documents for the given resources (missing ones are left out).
    async fn search_documents_for(&self, ids: &[ResourceId]) -> Result<Vec<SearchDocument>>;

    // --- ingest --------------------------------------------------------------------------
    /// Creates or replaces an ingest job.
    async fn upsert_job(&self, actor: &Actor, job: &IngestJob) -> Result<()>;
    /// One job.
    async fn get_job(&self, id: &JobId) -> Result<Option<IngestJob>>;
    /// All jobs, ordered by id.
    async fn list_jobs(&self) -> Result<Vec<IngestJob>>;
    /// Starts a run: resumes the job's unfinished run if there is one (same run number, so its
    /// Delta transaction identifiers stay the same), otherwise allocates the next number.
    async fn begin_run(&self, job: &JobId) -> Result<IngestRun>;
    /// Records a run's outcome; on success also records its files as landed.
    async fn finish_run(&self, run: &IngestRun) -> Result<()>;
    /// Runs of a job, newest first.
    async fn list_runs(&self, job: &JobId, limit: i64) -> Result<Vec<IngestRun>>;
    /// Inputs a job has landed — files, source table versions, watermarks — as (name, size,
    /// checksum), oldest run first.
    async fn landed_files(&self, job: &JobId) -> Result<Vec<(String, i64, String)>>;

    // --- data quality --------------------------------------------------------------------
    /// Creates or replaces a quality rule (a logged change).
    async fn upsert_quality_rule(&self, actor: &Actor, rule: &QualityRuleRecord) -> Result<()>;
    /// All quality rules, by id.
    async fn list_quality_rules(&self) -> Result<Vec<QualityRuleRecord>>;
    /// Removes a quality rule (a logged change); its results stay in the history.
    async fn delete_quality_rule(&self, actor: &Actor, id: &str) -> Result<()>;
    /// Appends results and measured metrics to the history as one evaluation; returns its
    /// number.
    async fn record_quality_results(
        &self,
        results: &[QualityResult],
        metrics: &[QualityMetric],
    ) -> Result<i64>;
    /// A resource's measured metrics, oldest evaluation first.
    async fn quality_metrics(&self, resource: &ResourceId) -> Result<Vec<QualityMetric>>;
    /// Records incidents (their `id` is assigned); returns them.
    async fn open_incidents(&self, new: &[QualityIncident]) -> Result<Vec<QualityIncident>>;
    /// Incidents, newest first: all, or only open ones; for one resource or all.
    async fn list_incidents(
        &self,
        resource: Option<&ResourceId>,
        open_only: bool,
    ) -> Result<Vec<QualityIncident>>;
    /// Marks an incident resolved.
    async fn resolve_incident(&self, actor: &Actor, id: i64) -> Result<QualityIncident>;

    // --- objections (数据纠错) ---------------------------------------------------------------
    /// Files an objection into the inbox of the department owning the resource.
    async fn file_objection(&self, actor: &Actor, new: &NewObjection) -> Result<Objection>;
    /// One objection.
    async fn get_objection(&self, id: i64) -> Result<Option<Objection>>;
    /// Objections, oldest first, optionally of one owning department and one status.
    async fn list_objections(
        &self,
        owner: Option<&OrgId>,
        status: Option<ObjectionStatus>,
    ) -> Result<Vec<Objection>>;
    /// Decides an open objection: accepted (with the table version holding the correction) or
    /// rejected (with a reason).
    async fn decide_objection(
        &self,
        actor: &Actor,
        id: i64,
        status: ObjectionStatus,
        reason: Option<&str>,
        table_version: Option<i64>,
    ) -> Result<Objection>;
    /// Results, oldest first: every evaluation, or (`latest`) only the newest of each rule on
    /// each resource; for one resource or all.
    async fn quality_results(
        &self,
        resource: Option<&ResourceId>,
        latest: bool,
    ) -> Result<Vec<QualityResult>>;

    // --- grants and custom policies ------------------------------------------------------
    /// Creates a grant (a logged change); refuses unknown resources, columns and grantees and
    /// an expiry in the past.
    async fn create_grant(&self, actor: &Actor, new: &NewGrant) -> Result<Grant>;
    /// One grant.
    async fn get_grant(&self, id: i64) -> Result<Option<Grant>>;
    /// Grants, revoked and expired ones included, by id; for one resource or all.
    async fn list_grants(&self, resource: Option<&ResourceId>) -> Result<Vec<Grant>>;
    /// The grants in force for a principal: its own and its organisation's.
    async fn grants_for(&self, principal: &Principal) -> Result<Vec<Grant>>;
    /// Revokes a grant (a logged change).
    async fn revoke_grant(&self, actor: &Actor, id: i64) -> Result<Grant>;
    /// Creates or replaces a custom Cedar policy (a logged change). The caller validates the
    /// text against the schema first.
    async fn upsert_policy(
        &self,
        actor: &Actor,
        id: &str,
        description: &str,
        policy: &str,
    ) -> Result<CustomPolicy>;
    /// Custom policies, by id.
    async fn list_policies(&self) -> Result<Vec<CustomPolicy>>;
    /// Removes a custom policy (a logged change).
    async fn delete_policy(&self, actor: &Actor, id: &str) -> Result<()>;

    // --- access audit log ----------------------------------------------------------------
    /// Appends one governed query to the hash-chained audit log.
    async fn append_audit(&self, record: &NewAuditRecord) -> Result<AuditRecord>;
    /// Audit entries after `after_seq`, at most `limit`, in order.
    async fn audit_records(&self, after_seq: i64, limit: i64) -> Result<Vec<AuditRecord>>;
    /// Recomputes the audit chain and names the first broken entry.
    async fn verify_audit_log(&self) -> Result<ChainReport>;

    // --- change log ----------------------------------------------------------------------
    /// Entries after `after_seq`, at most `limit`, in order.
    async fn changes_since(&self, after_seq: i64, limit: i64) -> Result<Vec<ChangeEvent>>;
    /// Sequence number of the last entry (0 when empty).
    async fn head_seq(&self) -> Result<i64>;
    /// Recomputes the whole chain and names the first broken entry.
    async fn verify_change_log(&self) -> Result<ChainReport>;
}

//! The domain model of the catalog: what data officers register and what the query path reads.

use crate::classification::{
    BindingRole, Category, Grade, LibraryTier, OpenAttr, OrgKind, PrincipalKind, Role, ShareAttr,
    SuggestionStatus, UpdateCycle,
};
use crate::ids::{ElementId, OrgId, PrincipalId, ResourceId};
use crate::validators::Validator;
use serde::{Deserialize, Serialize};

/// An organisation unit: a municipal bureau, a district department, a street, a community or an
/// external recipient. Units form a tree through `parent`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgUnit {
    /// Stable code.
    pub id: OrgId,
    /// Official Chinese name.
    pub name: String,
    /// What kind of unit this is.
    pub kind: OrgKind,
    /// The enclosing unit.
    pub parent: Option<OrgId>,
    /// GB/T 2260 code of territorial units (districts, streets, communities).
    pub division_code: Option<String>,
}

/// Attributes a principal carries into policy decisions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrincipalAttributes {
    /// GB/T 2260 codes of the territory the principal may see rows of (a street office sees its
    /// street); empty means no territorial restriction.
    #[serde(default)]
    pub jurisdiction: Vec<String>,
    /// The highest grade the principal is cleared for.
    #[serde(default)]
    pub clearance: Option<Grade>,
}

/// Who acts: a user, a service account, an external recipient or the public.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// The user name.
    pub id: PrincipalId,
    /// Display name.
    pub display_name: String,
    /// Kind of principal.
    pub kind: PrincipalKind,
    /// The organisation it belongs to.
    pub org: OrgId,
    /// Roles held.
    pub roles: Vec<Role>,
    /// Attributes for attribute-based access control.
    pub attributes: PrincipalAttributes,
}

impl Principal {
    /// Whether the principal holds the role.
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// A principal to create, with its credentials in clear (they are hashed before storage).
#[derive(Debug, Clone)]
pub struct NewPrincipal {
    /// The principal.
    pub principal: Principal,
    /// Password for interactive log-in (pgwire SCRAM, console).
    pub password: Option<String>,
    /// Bearer token for HTTP and Flight SQL.
    pub token: Option<String>,
}

/// A standard data element (数据元).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataElement {
    /// Stable identifier, e.g. `resident_id`.
    pub id: ElementId,
    /// Chinese name, e.g. 公民身份号码.
    pub name: String,
    /// English name.
    pub name_en: String,
    /// The standard defining it, e.g. `GB 11643-1999`.
    pub standard: Option<String>,
    /// Logical type: `string`, `int64`, `float64`, `date`, `timestamp`, `boolean`.
    pub data_type: String,
    /// Validator applied wherever the element is bound.
    pub validator: Option<Validator>,
    /// Category given to columns bound to it unless classified otherwise.
    pub default_category: Category,
    /// Grade given to columns bound to it unless graded otherwise.
    pub default_grade: Grade,
    /// Definition.
    pub description: String,
}

/// A column (信息项) of a resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// Column name in the Delta table (ASCII snake case).
    pub name: String,
    /// Chinese item name (信息项名称).
    pub title: String,
    /// Logical type: `string`, `int64`, `float64`, `date`, `timestamp`, `boolean`.
    pub data_type: String,
    /// Whether values may be missing.
    #[serde(default = "yes")]
    pub nullable: bool,
    /// Whether the column is (part of) the entity key used to join replicas to sources.
    #[serde(default)]
    pub is_key: bool,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Category (分类).
    pub category: Category,
    /// Grade (分级).
    pub grade: Grade,
    /// The data element the column carries, if bound.
    #[serde(default)]
    pub element: Option<ElementId>,
    /// Source or replica, when bound.
    #[serde(default)]
    pub binding: Option<BindingRole>,
}

fn yes() -> bool {
    true
}

/// A resource (数据资源) of the resource catalogue, with the core metadata of GB/T 21063.3.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    /// Resource code (资源代码).
    pub id: ResourceId,
    /// Resource name (资源名称).
    pub name: String,
    /// Provider department (资源提供方).
    pub provider: OrgId,
    /// Abstract (资源摘要).
    pub abstract_text: String,
    /// Format (资源格式), e.g. 数据库表.
    pub format: String,
    /// Sharing attribute (共享属性).
    pub share_attr: ShareAttr,
    /// Sharing conditions (共享条件) when conditional, or the basis when not shared.
    pub share_conditions: Option<String>,
    /// Open attribute (开放属性).
    pub open_attr: OpenAttr,
    /// Open conditions.
    pub open_conditions: Option<String>,
    /// Update cycle (更新周期).
    pub update_cycle: UpdateCycle,
    /// Library tier.
    pub tier: LibraryTier,
    /// Publish date (发布日期), `YYYY-MM-DD`.
    pub publish_date: Option<String>,
    /// The highest grade of its columns, recomputed on every change; `None` without columns.
    pub grade: Option<Grade>,
    /// Creation time, RFC 3339.
    pub created_at: String,
    /// Last change, RFC 3339.
    pub updated_at: String,
}

fn default_format() -> String {
    "数据库表".to_owned()
}

/// A resource to register with its items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewResource {
    /// Resource code.
    pub id: ResourceId,
    /// Name.
    pub name: String,
    /// Provider department.
    pub provider: OrgId,
    /// Abstract.
    #[serde(default)]
    pub abstract_text: String,
    /// Format.
    #[serde(default = "default_format")]
    pub format: String,
    /// Sharing attribute.
    pub share_attr: ShareAttr,
    /// Sharing conditions.
    pub share_conditions: Option<String>,
    /// Open attribute.
    pub open_attr: OpenAttr,
    /// Open conditions.
    pub open_conditions: Option<String>,
    /// Update cycle.
    pub update_cycle: UpdateCycle,
    /// Library tier.
    pub tier: LibraryTier,
    /// Publish date.
    pub publish_date: Option<String>,
    /// Items.
    pub columns: Vec<Column>,
}

/// A Delta table behind a resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableRecord {
    /// The resource it belongs to.
    pub resource: ResourceId,
    /// Table name within the resource (usually `main`).
    pub name: String,
    /// Zone and tier path, e.g. `base/population/persons`.
    pub path: String,
    /// Full location URL.
    pub location: String,
    /// Current Delta version.
    pub version: i64,
    /// Row count at that version.
    pub row_count: i64,
    /// Arrow schema as JSON.
    pub schema_json: String,
    /// Partition columns.
    pub partition_columns: Vec<String>,
    /// Time of the last commit (鲜活度), RFC 3339.
    pub last_update: String,
}

/// A resource with its items and tables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceDetail {
    /// The resource.
    #[serde(flatten)]
    pub resource: Resource,
    /// The provider's name.
    pub provider_name: String,
    /// Items.
    pub columns: Vec<Column>,
    /// Tables.
    pub tables: Vec<TableRecord>,
}

/// One place a data element is bound.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElementBinding {
    /// The resource.
    pub resource: ResourceId,
    /// The resource's name.
    pub resource_name: String,
    /// The column.
    pub column: String,
    /// The owning department.
    pub owner: OrgId,
    /// The owning department's name.
    pub owner_name: String,
    /// Source or replica.
    pub role: BindingRole,
}

/// An entry of the responsibility list (数据权责清单) to record: the department responsible
/// for a data element, on what legal basis, with what duty to keep it up to date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewResponsibility {
    /// The element.
    pub element: ElementId,
    /// The responsible department.
    pub org: OrgId,
    /// The law, regulation or 三定 provision that makes it responsible.
    pub legal_basis: String,
    /// Its duty to keep the data up to date (e.g. 实时更新, 每日更新).
    pub update_duty: String,
}

/// An entry of the responsibility list as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Responsibility {
    /// What was assigned.
    #[serde(flatten)]
    pub assigned: NewResponsibility,
    /// The responsible department's name.
    pub org_name: String,
    /// Who assigned it.
    pub assigned_by: String,
    /// When, RFC 3339.
    pub assigned_at: String,
}

/// Where a data element lives: its one source and its replicas.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElementBindings {
    /// The element.
    pub element: DataElement,
    /// The authoritative source, if declared.
    pub source: Option<ElementBinding>,
    /// Replicas.
    pub replicas: Vec<ElementBinding>,
}

/// 一数一源 coverage: the share of data elements that have an authoritative source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    /// Number of data elements.
    pub elements: i64,
    /// Number with a declared source.
    pub with_source: i64,
    /// `with_source / elements`, 0 when there are no elements.
    pub ratio: f64,
}

impl Coverage {
    /// The coverage of `with_source` elements out of `elements`.
    pub fn of(elements: i64, with_source: i64) -> Self {
        Coverage {
            elements,
            with_source,
            ratio: if elements == 0 {
                0.0
            } else {
                with_source as f64 / elements as f64
            },
        }
    }
}

/// Filter for listing resources.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ResourceFilter {
    /// Only resources of this provider.
    pub provider: Option<OrgId>,
    /// Only resources of this tier.
    pub tier: Option<LibraryTier>,
    /// Only resources with this open attribute.
    pub open_attr: Option<OpenAttr>,
}

/// A page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    /// Zero-based offset.
    pub offset: i64,
    /// Page size.
    pub limit: i64,
}

impl Default for Page {
    fn default() -> Self {
        Page {
            offset: 0,
            limit: 50,
        }
    }
}

/// One page of results and the total count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Paged<T> {
    /// Items of this page.
    pub items: Vec<T>,
    /// Total matching items.
    pub total: i64,
    /// Offset of this page.
    pub offset: i64,
    /// Page size asked for.
    pub limit: i64,
}

/// A sensitive-data discovery suggestion for one column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suggestion {
    /// Sequence number.
    pub id: i64,
    /// The resource.
    pub resource: ResourceId,
    /// The column.
    pub column: String,
    /// Suggested data element.
    pub element: Option<ElementId>,
    /// Suggested category.
    pub category: Category,
    /// Suggested grade.
    pub grade: Grade,
    /// Share of sampled values that matched, 0..1.
    pub confidence: f64,
    /// What matched, e.g. `482/500 values pass GB 11643`.
    pub evidence: String,
    /// Decision.
    pub status: SuggestionStatus,
    /// Who decided.
    pub decided_by: Option<PrincipalId>,
}

/// A suggestion before it is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewSuggestion {
    /// The resource.
    pub resource: ResourceId,
    /// The column.
    pub column: String,
    /// Suggested data element.
    pub element: Option<ElementId>,
    /// Suggested category.
    pub category: Category,
    /// Suggested grade.
    pub grade: Grade,
    /// Confidence 0..1.
    pub confidence: f64,
    /// Evidence.
    pub evidence: String,
}

/// One entry of the hash-chained change log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeEvent {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// Time, RFC 3339 with microseconds.
    pub at: String,
    /// Who made the change.
    pub actor: String,
    /// Entity kind: `org`, `principal`, `element`, `resource`, `column`, `table`, `suggestion`.
    pub entity_kind: String,
    /// Entity identifier.
    pub entity_id: String,
    /// What happened: `create`, `update`, `bind`, `classify`, …
    pub action: String,
    /// State before, as JSON.
    pub before: Option<String>,
    /// State after, as JSON.
    pub after: Option<String>,
    /// Hash of the previous entry (64 zeros for the first).
    pub prev_hash: String,
    /// SHA-256 over this entry's fields and `prev_hash`.
    pub hash: String,
}

/// Outcome of verifying the change log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainReport {
    /// Entries checked.
    pub entries: i64,
    /// The first entry whose hash or link does not verify.
    pub first_broken: Option<BrokenLink>,
    /// Hash of the last entry.
    pub head: Option<String>,
}

/// Where and why the chain breaks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrokenLink {
    /// Sequence number of the broken entry.
    pub seq: i64,
    /// What is wrong.
    pub reason: String,
}

/// The document the search index holds for one resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchDocument {
    /// The resource.
    pub id: ResourceId,
    /// Name.
    pub name: String,
    /// Abstract.
    pub abstract_text: String,
    /// Item titles and names, space separated.
    pub items: String,
    /// Provider department name.
    pub provider_name: String,
}

/// An ingest job as stored: its target and its specification (TOML, parsed by the ingest crate).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestJob {
    /// Job id.
    pub id: crate::ids::JobId,
    /// Target resource.
    pub resource: ResourceId,
    /// Target table of the resource.
    pub table: String,
    /// The job specification, TOML.
    pub spec: String,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
}

/// A quality rule as stored: its scope (a resource, or a data element wherever it is bound)
/// and its specification (JSON, interpreted by the quality crate).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QualityRuleRecord {
    /// Rule id.
    pub id: String,
    /// The resource the rule is declared on.
    pub resource: Option<ResourceId>,
    /// The data element the rule is declared on.
    pub element: Option<crate::ids::ElementId>,
    /// The specification, JSON.
    pub spec: String,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
}

/// One rule evaluated on one resource: an entry of the quality metric history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualityResult {
    /// Evaluation number (all results recorded together share it).
    pub evaluation: i64,
    /// Rule id (`consistency:ELEMENT` for 一数一源 checks).
    pub rule: String,
    /// The resource evaluated.
    pub resource: ResourceId,
    /// The column, for column rules.
    pub column: Option<String>,
    /// Rule kind (`not_null`, `check_digit`, `consistency`, …).
    pub kind: String,
    /// Quality dimension: completeness, validity, uniqueness, consistency, timeliness.
    pub dimension: String,
    /// `error` or `warn`.
    pub severity: String,
    /// What started the evaluation: `manual`, `ingest:JOB#RUN`, `schedule`.
    pub trigger: String,
    /// When.
    pub evaluated_at: String,
    /// Table version evaluated.
    pub table_version: Option<i64>,
    /// Rows (or entities) checked.
    pub rows_checked: i64,
    /// Rows that failed.
    pub rows_failed: i64,
    /// A few failing examples, masked according to their grade.
    pub examples: Vec<serde_json::Value>,
}

impl QualityResult {
    /// Share of checked rows that failed (0 when nothing was checked).
    pub fn failure_rate(&self) -> f64 {
        if self.rows_checked == 0 {
            0.0
        } else {
            self.rows_failed as f64 / self.rows_checked as f64
        }
    }
}

/// Status of an ingest run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Started and not finished (or interrupted: the next run resumes it).
    Running,
    /// Committed.
    Succeeded,
    /// Failed; nothing was committed by it.
    Failed,
}

impl RunStatus {
    /// Stable code.
    pub fn as_code(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
        }
    }
}

impl std::str::FromStr for RunStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "running" => Ok(RunStatus::Running),
            "succeeded" => Ok(RunStatus::Succeeded),
            "failed" => Ok(RunStatus::Failed),
            other => Err(format!("unknown run status `{other}`")),
        }
    }
}

/// One input of a run: a file, a query or a source table version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunInput {
    /// `file`, `query`, `table`.
    pub kind: String,
    /// Path, URL or query text.
    pub name: String,
    /// Bytes read.
    pub size: u64,
    /// SHA-256 of the content (files) or the source version.
    pub checksum: String,
    /// Rows read from it.
    pub rows: u64,
}

/// One run of an ingest job, with its row accounting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestRun {
    /// Job.
    pub job: crate::ids::JobId,
    /// Run number, from 1; also the Delta transaction version of the job's commits.
    pub run: i64,
    /// Status.
    pub status: RunStatus,
    /// Start time.
    pub started_at: String,
    /// End time.
    pub finished_at: Option<String>,
    /// Rows read from the inputs.
    pub rows_read: i64,
    /// Rows written to the target.
    pub rows_written: i64,
    /// Rows written to quarantine.
    pub rows_quarantined: i64,
    /// Bytes read.
    pub bytes: i64,
    /// Duration in milliseconds.
    pub duration_ms: i64,
    /// Target table version committed.
    pub table_version: Option<i64>,
    /// Quarantine table version committed.
    pub quarantine_version: Option<i64>,
    /// Rows landed but flagged by a warn rule.
    #[serde(default)]
    pub rows_flagged: i64,
    /// Flag table version committed.
    #[serde(default)]
    pub flag_version: Option<i64>,
    /// Inputs.
    pub inputs: Vec<RunInput>,
    /// Why it failed.
    pub error: Option<String>,
}

/// Where an objection (数据纠错) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectionStatus {
    /// Filed, waiting for the owning department.
    Open,
    /// The owner corrected the record.
    Accepted,
    /// The owner kept the record, with a reason.
    Rejected,
}

impl ObjectionStatus {
    /// Stable code.
    pub fn as_code(self) -> &'static str {
        match self {
            ObjectionStatus::Open => "open",
            ObjectionStatus::Accepted => "accepted",
            ObjectionStatus::Rejected => "rejected",
        }
    }

    /// Chinese label.
    pub fn label(self) -> &'static str {
        match self {
            ObjectionStatus::Open => "待处理",
            ObjectionStatus::Accepted => "已更正",
            ObjectionStatus::Rejected => "已驳回",
        }
    }
}

impl std::str::FromStr for ObjectionStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "open" => Ok(ObjectionStatus::Open),
            "accepted" => Ok(ObjectionStatus::Accepted),
            "rejected" => Ok(ObjectionStatus::Rejected),
            other => Err(format!(
                "unknown objection status `{other}` (open, accepted, rejected)"
            )),
        }
    }
}

/// An objection to file: a user believes one value of one record is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewObjection {
    /// The resource.
    pub resource: ResourceId,
    /// Its table.
    pub table: String,
    /// The record, by its key columns.
    pub record_key: std::collections::BTreeMap<String, String>,
    /// The column believed wrong.
    pub column: String,
    /// The value the user saw (as shown to them, possibly masked).
    pub current_value: Option<String>,
    /// The value the user believes is right.
    pub proposed_value: String,
    /// Evidence: a document number, a link, a description.
    pub evidence: String,
}

/// A filed objection (数据纠错) and its decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Objection {
    /// Number.
    pub id: i64,
    /// What was filed.
    #[serde(flatten)]
    pub filed: NewObjection,
    /// The department that owns the resource (its inbox).
    pub owner: OrgId,
    /// Who filed it.
    pub filed_by: String,
    /// When.
    pub filed_at: String,
    /// Status.
    pub status: ObjectionStatus,
    /// Who decided.
    pub decided_by: Option<String>,
    /// When.
    pub decided_at: Option<String>,
    /// Why it was rejected (or a note on the correction).
    pub decision_reason: Option<String>,
    /// The table version holding the correction.
    pub table_version: Option<i64>,
}

/// One measured metric of one evaluation (row count, a column's null rate), the series anomaly
/// detection reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualityMetric {
    /// Evaluation number.
    pub evaluation: i64,
    /// Resource.
    pub resource: ResourceId,
    /// `row_count` or `null_rate`.
    pub metric: String,
    /// Column (empty for table metrics).
    pub column: String,
    /// Value.
    pub value: f64,
    /// When.
    pub measured_at: String,
}

/// A quality incident: a metric left the band its trailing history predicts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualityIncident {
    /// Number.
    pub id: i64,
    /// Resource.
    pub resource: ResourceId,
    /// Metric.
    pub metric: String,
    /// Column (empty for table metrics).
    pub column: String,
    /// The value measured.
    pub observed: f64,
    /// The trailing mean.
    pub expected: f64,
    /// Lower edge of the accepted band.
    pub low: f64,
    /// Upper edge of the accepted band.
    pub high: f64,
    /// The evaluation that measured it.
    pub evaluation: i64,
    /// When.
    pub detected_at: String,
    /// `open` or `resolved`.
    pub status: String,
    /// Who resolved it.
    pub resolved_by: Option<String>,
    /// When.
    pub resolved_at: Option<String>,
}

//! The command line, defined once; `--help` text is generated from these definitions.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

mod share;
mod standards;

pub use share::ShareCommand;
pub use standards::StandardsCommand;

/// 中枢 zhongshu — a governed lakehouse for district and municipal governments.
///
/// Departments' data and municipal back-flow (回流) data land in a Delta Lake; a catalog
/// enforces 一数一源 and 分类分级; queries are answered under policy.
#[derive(Debug, Parser)]
#[command(name = "zhongshu", version, propagate_version = true)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
    /// Log filter (error, warn, info, debug, or a tracing filter such as zhongshu=debug).
    #[arg(long, global = true, env = "ZHONGSHU_LOG", default_value = "warn")]
    pub log: String,
}

/// Where the deployment lives.
#[derive(Debug, Clone, Args)]
pub struct DeploymentArgs {
    /// Data directory: catalog, lake, search index, configuration.
    #[arg(
        long,
        global = true,
        env = "ZHONGSHU_DATA_DIR",
        default_value = "./zhongshu-data"
    )]
    pub data_dir: PathBuf,
    /// Configuration file (default: DATA_DIR/zhongshu.toml).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
}

/// Server addresses.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// HTTP listen address (overrides http.addr; port 0 picks a free port).
    #[arg(long)]
    pub http: Option<String>,
    /// PostgreSQL wire listen address (overrides gateway.pgwire_addr; "" turns it off).
    #[arg(long)]
    pub pgwire: Option<String>,
    /// Arrow Flight SQL listen address (overrides gateway.flight_addr; "" turns it off).
    #[arg(long)]
    pub flight: Option<String>,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a data directory: configuration template, catalog with the standard data
    /// elements, lake, and an administrator.
    Init {
        /// Where.
        #[command(flatten)]
        deployment: DeploymentArgs,
        /// User name of the administrator to create.
        #[arg(long, default_value = "admin")]
        admin: String,
    },
    /// Build a demo deployment of Pingshan district from generated data and serve it.
    Demo {
        /// Where.
        #[command(flatten)]
        deployment: DeploymentArgs,
        /// Build only; do not start the servers.
        #[arg(long)]
        no_serve: bool,
        /// Data scale (1 ≈ 50,000 persons).
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        /// Generator seed.
        #[arg(long, default_value_t = crate::demo::generate::DEFAULT_SEED)]
        seed: u64,
        /// Server addresses.
        #[command(flatten)]
        serve: ServeArgs,
    },
    /// Generate the demo departments' files (CSV in UTF-8 and GBK, JSON lines) with planted
    /// defects listed in manifest.json.
    Generate {
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// Data scale (1 ≈ 50,000 persons; rows grow linearly).
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        /// Seed; the same seed and scale give identical files.
        #[arg(long, default_value_t = crate::demo::generate::DEFAULT_SEED)]
        seed: u64,
    },
    /// Serve HTTP (health and the catalog API).
    Serve {
        /// Where.
        #[command(flatten)]
        deployment: DeploymentArgs,
        /// Server addresses.
        #[command(flatten)]
        serve: ServeArgs,
    },
    /// Read and change the catalog.
    Catalog {
        /// Where.
        #[command(flatten)]
        deployment: DeploymentArgs,
        /// Principal recorded as the actor of changes.
        #[arg(long = "as", global = true, default_value = "operator")]
        actor: String,
        /// What to do.
        #[command(subcommand)]
        command: CatalogCommand,
    },
    /// Data standards (数据标准) and the system inventory (系统清单): data elements, code lists,
    /// information systems, the data dictionary.
    Standards {
        /// Where.
        #[command(flatten)]
        deployment: DeploymentArgs,
        /// Act as this principal (decided with Cedar); the host's operator by default.
        #[arg(long = "as", global = true, default_value = "operator")]
        actor: String,
        /// What to do.
        #[command(subcommand)]
        command: StandardsCommand,
    },
    /// Ingest jobs: land departmental and back-flow files in the lake.
    Ingest {
        /// Where.
        #[command(flatten)]
        deployment: DeploymentArgs,
        /// What to do.
        #[command(subcommand)]
        command: IngestCommand,
    },
    /// Data quality: rules, checks, 一数一源 consistency, scores and the department ranking.
    Quality {
        /// Where.
        #[command(flatten)]
        deployment: DeploymentArgs,
        /// What to do.
        #[command(subcommand)]
        command: QualityCommand,
    },
    /// Objections (数据纠错): file a correction, decide it as the owning department.
    Objection {
        /// Where.
        #[command(flatten)]
        deployment: DeploymentArgs,
        /// The principal acting (filing, accepting, rejecting).
        #[arg(long = "as", global = true, default_value = "operator")]
        actor: String,
        /// What to do.
        #[command(subcommand)]
        command: ObjectionCommand,
    },
    /// Delta table maintenance: history, optimize, vacuum, restore.
    Table {
        /// Where.
        #[command(flatten)]
        deployment: DeploymentArgs,
        /// What to do.
        #[command(subcommand)]
        command: TableCommand,
    },
    /// Run SQL through the governed session, as a principal (masks, row filters, audit).
    Sql {
        /// Where.
        #[command(flatten)]
        deployment: DeploymentArgs,
        /// The principal to query as (default: the administrator).
        #[arg(long = "as", default_value = "admin")]
        principal: String,
        /// The purpose declared for grants bound to one.
        #[arg(long)]
        purpose: Option<String>,
        /// Output: table, csv or json.
        #[arg(long, default_value = "table")]
        format: String,
        /// The statement.
        sql: String,
    },
    /// Grants: who may read which columns and rows of a resource.
    Grant {
        /// Where.
        #[command(flatten)]
        deployment: DeploymentArgs,
        /// What to do.
        #[command(subcommand)]
        command: GrantCommand,
    },
    /// Sharing: the demand list, share requests and their decisions, the negative list, the
    /// sharing figures.
    Share {
        /// Where.
        #[command(flatten)]
        deployment: DeploymentArgs,
        /// Act as this principal (decided with Cedar).
        #[arg(long = "as", global = true, default_value = "operator")]
        actor: String,
        /// What to do.
        #[command(subcommand)]
        command: ShareCommand,
    },
    /// Custom Cedar policies, validated against the schema.
    Policy {
        /// Where.
        #[command(flatten)]
        deployment: DeploymentArgs,
        /// What to do.
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// The hash-chained change log and access audit log.
    Audit {
        /// Where.
        #[command(flatten)]
        deployment: DeploymentArgs,
        /// What to do.
        #[command(subcommand)]
        command: AuditCommand,
    },
}

/// `zhongshu catalog …`
#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// The organisation tree.
    Orgs,
    /// Principals and their roles.
    Principals,
    /// List resources.
    Resources {
        /// Only this provider (organisation id).
        #[arg(long)]
        provider: Option<String>,
        /// Only this tier (base/基础库, theme/主题库, special/专题库, department/部门库).
        #[arg(long)]
        tier: Option<String>,
        /// Page, from 1.
        #[arg(long, default_value_t = 1)]
        page: i64,
        /// Page size.
        #[arg(long, default_value_t = 50)]
        page_size: i64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one resource with its items and tables.
    Resource {
        /// Resource code.
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List data elements with their authoritative sources.
    Elements {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show a data element's source and replicas (by id or Chinese name, e.g. 公民身份号码).
    Element {
        /// Element id or name.
        key: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// 一数一源 coverage: the share of data elements with an authoritative source (as `--as`
    /// sees it: a source it may neither discover nor assess does not count).
    Coverage,
    /// Full-text search over resources (Chinese aware: 社保 finds 社会保险参保信息).
    Search {
        /// Query.
        query: String,
        /// Page, from 1.
        #[arg(long, default_value_t = 1)]
        page: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Sample a resource's table and suggest data elements, categories and grades.
    Scan {
        /// Resource code.
        resource: String,
        /// Rows to sample.
        #[arg(long, default_value_t = 1000)]
        sample: usize,
        /// Accept every suggestion at once.
        #[arg(long)]
        accept: bool,
    },
    /// List discovery suggestions.
    Suggestions {
        /// Only this resource.
        #[arg(long)]
        resource: Option<String>,
        /// Only this status (pending, accepted, rejected).
        #[arg(long)]
        status: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Accept suggestions: classify (and bind) their columns.
    Accept {
        /// Suggestion ids.
        #[arg(required = true)]
        ids: Vec<i64>,
    },
    /// Reject suggestions.
    Reject {
        /// Suggestion ids.
        #[arg(required = true)]
        ids: Vec<i64>,
    },
    /// Bind a column to a data element as its authoritative source (default) or a replica.
    Bind {
        /// Resource code.
        resource: String,
        /// Column name.
        column: String,
        /// Data element id or name.
        element: String,
        /// Bind as a replica instead of the source.
        #[arg(long)]
        replica: bool,
    },
    /// Remove a column's binding (releases a source).
    Unbind {
        /// Resource code.
        resource: String,
        /// Column name.
        column: String,
    },
    /// The responsibility list (数据权责清单): each data element's responsible department,
    /// legal basis and update duty, beside where its source is (flagged when another department
    /// holds it).
    Responsibilities {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Assign a data element to the department responsible for it (the chief data officer's).
    Assign {
        /// Data element id or name.
        element: String,
        /// The responsible organisation unit.
        #[arg(long)]
        org: String,
        /// The legal basis (a law, regulation or 三定 provision).
        #[arg(long)]
        basis: String,
        /// The update duty, e.g. 实时更新.
        #[arg(long)]
        duty: String,
    },
    /// Remove a data element's assignment from the responsibility list.
    Unassign {
        /// Data element id or name.
        element: String,
    },
    /// Set a column's category and grade.
    Classify {
        /// Resource code.
        resource: String,
        /// Column name.
        column: String,
        /// Category (public/公共数据, personal/个人信息, personal_sensitive/个人敏感信息, organisation/组织信息, iot/物联感知数据).
        #[arg(long)]
        category: String,
        /// Grade (L1, L2, L3, L4, important/重要数据, core/核心数据).
        #[arg(long)]
        grade: String,
        /// Why (kept in the change log; needed when the grade changes).
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Change a resource's sharing or open attribute.
    Set {
        /// Resource code.
        resource: String,
        /// Sharing attribute (unconditional/无条件共享, conditional/有条件共享, not_shared/不予共享).
        #[arg(long)]
        share_attr: Option<String>,
        /// Sharing conditions.
        #[arg(long)]
        share_conditions: Option<String>,
        /// Open attribute (unconditional/无条件开放, conditional/有条件开放, not_open/不予开放).
        #[arg(long)]
        open_attr: Option<String>,
        /// Open conditions.
        #[arg(long)]
        open_conditions: Option<String>,
    },
    /// Register resources from a TOML or JSON file (one resource, or `[[resources]]`).
    Register {
        /// The file.
        file: PathBuf,
    },
}

/// `zhongshu grant …`
#[derive(Debug, Subcommand)]
pub enum GrantCommand {
    /// Grant a principal or an organisation access to a resource.
    Create {
        /// Resource code.
        resource: String,
        /// The principal receiving it.
        #[arg(long, conflicts_with = "org", required_unless_present = "org")]
        principal: Option<String>,
        /// The organisation receiving it (every principal in it).
        #[arg(long)]
        org: Option<String>,
        /// Columns granted, comma-separated (default: every column up to L3).
        #[arg(long, value_delimiter = ',')]
        columns: Vec<String>,
        /// The purpose the grant is bound to.
        #[arg(long)]
        purpose: Option<String>,
        /// Row filter, a SQL predicate; may use principal.jurisdiction, principal.org,
        /// principal.id (e.g. "street_code IN (principal.jurisdiction)").
        #[arg(long)]
        filter: Option<String>,
        /// A column's mask, COLUMN=MASK (resident_id, name, mobile, address, year, keyed_hash,
        /// partial, nullify, none); repeat.
        #[arg(long = "mask")]
        masks: Vec<String>,
        /// Expiry, YYYY-MM-DD or RFC 3339.
        #[arg(long)]
        expires: Option<String>,
    },
    /// List grants.
    List {
        /// Only this resource.
        #[arg(long)]
        resource: Option<String>,
    },
    /// Revoke a grant.
    Revoke {
        /// Grant number.
        id: i64,
    },
    /// Show what a principal's session holds: tables, columns, masks, row filters.
    Explain {
        /// The principal.
        principal: String,
        /// Under this purpose.
        #[arg(long)]
        purpose: Option<String>,
    },
}

/// `zhongshu policy …`
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Add or replace a custom policy (validated against the schema first).
    Add {
        /// Policy id.
        id: String,
        /// File holding the Cedar policy.
        #[arg(long)]
        file: PathBuf,
        /// What it is for.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List the base and custom policies.
    List,
    /// Remove a custom policy.
    Remove {
        /// Policy id.
        id: String,
    },
    /// Print the Cedar schema policies are written against.
    Schema,
}

/// `zhongshu audit …`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the change log's and the access audit log's hash chains and name the first
    /// broken entry.
    Verify,
    /// Show access audit entries (every governed query).
    Queries {
        /// Entries after this sequence number.
        #[arg(long, default_value_t = 0)]
        after: i64,
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Show change-log entries.
    Log {
        /// Entries after this sequence number.
        #[arg(long, default_value_t = 0)]
        after: i64,
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
}

/// `zhongshu ingest …`
#[derive(Debug, Subcommand)]
pub enum IngestCommand {
    /// Create or replace a job from a TOML specification.
    Create {
        /// The job file.
        file: PathBuf,
        /// Principal recorded as the actor.
        #[arg(long = "as", default_value = "operator")]
        actor: String,
    },
    /// List jobs with their last run.
    List,
    /// Show a job's specification.
    Show {
        /// Job id.
        job: String,
    },
    /// Run a job now (resuming its interrupted run, if any).
    Run {
        /// Job id.
        job: String,
    },
    /// Land corrected rows: run the job on the given files (in its source's format and
    /// encoding) instead of its source directory.
    Resubmit {
        /// Job id.
        job: String,
        /// Files with the corrected rows.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// A job's runs, newest first, with row accounting.
    History {
        /// Job id.
        job: String,
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: i64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Rows a job sent to quarantine, with file, line, column, rule and reason.
    Quarantine {
        /// Job id.
        job: String,
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Show the rows that landed flagged by `warn` quality rules instead.
        #[arg(long)]
        flagged: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `zhongshu quality …`
#[derive(Debug, Subcommand)]
pub enum QualityCommand {
    /// Add (or replace) rules from a TOML file of `[[rules]]`.
    Add {
        /// The file.
        file: PathBuf,
        /// Principal recorded in the change log.
        #[arg(long = "as", default_value = "operator")]
        actor: String,
    },
    /// List the rules.
    Rules {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Remove a rule (its results stay in the history).
    Remove {
        /// Rule id.
        id: String,
        /// Remove as this principal (decided with Cedar: `manage_rules`).
        #[arg(long = "as", default_value = "operator")]
        actor: String,
    },
    /// Evaluate the rules and 一数一源 consistency now (one resource, or all) and record the
    /// results.
    Check {
        /// Resource code (default: every resource).
        resource: Option<String>,
        /// Show failing examples.
        #[arg(long)]
        examples: bool,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Results of the latest evaluation of each rule (or every evaluation, with --history).
    Results {
        /// Resource code (default: every resource).
        resource: Option<String>,
        /// Every evaluation, oldest first.
        #[arg(long)]
        history: bool,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Scores per resource and dimension.
    Score {
        /// Resource code (default: every evaluated resource).
        resource: Option<String>,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Departments ranked by the quality of the data they provide (考核), less a penalty for
    /// open objections.
    Rank {
        /// Rank as this principal sees it (government principals: every department's data;
        /// the public: what is open); `operator`, the default, counts everything.
        #[arg(long = "as", default_value = "operator")]
        actor: String,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Profile a resource's table (nulls, distinct values, min/max, frequent values and
    /// patterns per column) and suggest rules.
    Profile {
        /// Resource code.
        resource: String,
        /// Write the suggested rules to this TOML file (edit it, then `quality add` it).
        #[arg(long)]
        rules: Option<PathBuf>,
        /// Save every suggested rule now.
        #[arg(long)]
        accept: bool,
        /// Profile as this principal reads the table (its masks and row filters), recorded in
        /// the change log when accepting; `operator` reads through the audited system session.
        #[arg(long = "as", default_value = "operator")]
        actor: String,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Quality incidents: metrics that jumped against their trailing history.
    Incidents {
        /// Resource code (default: every resource).
        resource: Option<String>,
        /// Resolved ones too.
        #[arg(long)]
        all: bool,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Mark an incident resolved.
    Resolve {
        /// Incident number.
        id: i64,
        /// Principal recorded in the change log.
        #[arg(long = "as", default_value = "operator")]
        actor: String,
    },
    /// A resource's quality report for its department, in Markdown or HTML.
    Report {
        /// Resource code.
        resource: String,
        /// `md` or `html`.
        #[arg(long, default_value = "md")]
        format: String,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

/// `zhongshu objection …`
#[derive(Debug, Subcommand)]
pub enum ObjectionCommand {
    /// File an objection: one value of one record is wrong.
    File {
        /// Resource code.
        resource: String,
        /// The record's key, `COLUMN=VALUE` (repeat for a composite key).
        #[arg(long = "key", required = true)]
        key: Vec<String>,
        /// The column believed wrong.
        #[arg(long)]
        column: String,
        /// The value believed right.
        #[arg(long)]
        value: String,
        /// Evidence: a document number, a link, a description.
        #[arg(long)]
        evidence: String,
        /// The value seen (optional).
        #[arg(long)]
        current: Option<String>,
        /// Table of the resource.
        #[arg(long, default_value = "main")]
        table: String,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Objections, oldest first (an administrator sees all; others their department's inbox
    /// and what they filed).
    List {
        /// `open`, `accepted` or `rejected`.
        #[arg(long)]
        status: Option<String>,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Accept an objection as the owning department: the correction lands as a new table
    /// version.
    Accept {
        /// Objection number.
        id: i64,
        /// A note on the correction.
        #[arg(long)]
        note: Option<String>,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Reject an objection as the owning department, with a reason.
    Reject {
        /// Objection number.
        id: i64,
        /// Why the record stands.
        #[arg(long)]
        reason: String,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
}

/// `zhongshu table …`; the catalog's table version follows every change.
#[derive(Debug, Subcommand)]
pub enum TableCommand {
    /// A table's commits, newest first.
    History {
        /// Resource code.
        resource: String,
        /// Table of the resource.
        #[arg(long, default_value = "main")]
        table: String,
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Compact small files into larger ones.
    Optimize {
        /// Resource code.
        resource: String,
        /// Table of the resource.
        #[arg(long, default_value = "main")]
        table: String,
    },
    /// Delete files that no version within the retention period refers to.
    Vacuum {
        /// Resource code.
        resource: String,
        /// Table of the resource.
        #[arg(long, default_value = "main")]
        table: String,
        /// Keep files needed by versions of the last HOURS hours.
        #[arg(long, default_value_t = 168)]
        retention_hours: i64,
        /// Only list what would be deleted.
        #[arg(long)]
        dry_run: bool,
    },
    /// Make an earlier version's contents current again (as a new version).
    Restore {
        /// Resource code.
        resource: String,
        /// The version to restore.
        version: u64,
        /// Table of the resource.
        #[arg(long, default_value = "main")]
        table: String,
    },
}

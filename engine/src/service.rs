//! The query service: the one door every front end (pgwire, Flight SQL, HTTP, the CLI) opens
//! governed sessions through.
//!
//! Opening a session decides what the principal may see (the policies crate, from the catalog's
//! resources, grants and custom policies) and builds its [`GovernedSession`]. Every statement is
//! decided on the current facts: a session remembers the change log's head and the first grant
//! expiry its decision rested on, and decides again (rebuilding the governed session only when
//! the decision changed) once either has moved — so a revocation, an expiry or a
//! reclassification holds from the next statement of every open connection, at the price of one
//! indexed read of the change log's head per statement. Running a statement
//! plans it, enforces the per-principal concurrency limit, the timeout and the row cap, and
//! appends one record to the hash-chained audit log when the statement ends — answered, denied
//! or failed. The returned stream does not finish until its audit record is written.

use crate::audited::{AuditedStream, Statement, append_whole, engine_panicked};
use crate::error::{EngineError, Result};
use crate::governed::{GovernedSession, Limits, StatementReads, is_denial, query_error};
use crate::lake::Lake;
use crate::lock;
use crate::probing::{Probe, ProbeLimiter};
use chrono::{DateTime, Utc};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::{DFSchema, ParamValues};
use datafusion::physical_plan::RecordBatchStream;
use datafusion::prelude::DataFrame;
use futures::{FutureExt, StreamExt};
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use zhongshu_catalog::{
    AuditOutcome, CatalogStore, NewAuditRecord, OrgUnit, Page, Principal, ResourceDetail,
    ResourceFilter, expiry_time,
};
use zhongshu_policies::{
    Authorizer, Classes, Decisions, MaskKey, SessionAccess, Subject, decide_with,
};

/// Where a statement comes from, for the audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientInfo {
    /// Client address, or `cli`.
    pub address: String,
    /// Door: `pgwire`, `flight-sql`, `http`, `cli`.
    pub protocol: &'static str,
    /// The door hands results out as files (HTTP `format=csv|arrow|parquet`, the CLI's
    /// `--format csv`): its session reads only tables the principal may `download`.
    pub download: bool,
}

impl ClientInfo {
    /// A door that answers queries (results shown, not handed out as files).
    pub fn answering(address: impl Into<String>, protocol: &'static str) -> Self {
        ClientInfo {
            address: address.into(),
            protocol,
            download: false,
        }
    }
}

/// The catalog facts sessions are decided from, reloaded when the change log moves.
#[derive(Clone)]
struct Facts {
    head_seq: i64,
    authorizer: Arc<Authorizer>,
    orgs: Arc<Vec<OrgUnit>>,
    resources: Arc<Vec<ResourceDetail>>,
    /// The resources sorted into decision classes (`policies::Classes`).
    classes: Arc<Classes>,
}

/// See the module documentation.
pub struct QueryService {
    lake: Lake,
    store: Arc<dyn CatalogStore>,
    key: MaskKey,
    limits: Limits,
    facts: tokio::sync::Mutex<Option<Facts>>,
    running: Mutex<HashMap<String, Arc<Semaphore>>>,
    probes: ProbeLimiter,
    audit: Arc<crate::audit_log::AuditLog>,
}

impl std::fmt::Debug for QueryService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryService")
            .field("limits", &self.limits)
            .finish()
    }
}

impl QueryService {
    /// A service over the lake and catalog.
    pub fn new(lake: Lake, store: Arc<dyn CatalogStore>, key: MaskKey, limits: Limits) -> Self {
        QueryService {
            audit: crate::audit_log::AuditLog::new(store.clone()),
            lake,
            store,
            key,
            limits,
            facts: tokio::sync::Mutex::new(None),
            running: Mutex::new(HashMap::new()),
            probes: ProbeLimiter::new(limits.max_probes_per_minute),
        }
    }

    /// Admits one lookup of a record by a value `principal` gave (`what` says which, for the
    /// audit): counted whether or not the record exists; refused, and audited, once the
    /// principal has made too many from this client within a minute ([`crate::probing`]).
    pub async fn look_up_by_value(
        &self,
        principal: &Principal,
        client: &ClientInfo,
        what: &str,
    ) -> Result<()> {
        let id = principal.id.as_str();
        if let Err(refused) = self.probes.check(id, &client.address, Probe::Lookup) {
            let record = NewAuditRecord {
                outcome: AuditOutcome::Denied,
                error: Some(refused.to_string()),
                ..audit_record(principal, None, client, what, StatementReads::default())
            };
            append_whole(self.store.clone(), record).await?;
            return Err(refused);
        }
        if self.probes.count(id, &client.address, Probe::Lookup) {
            tracing::warn!(principal = id, client = %client.address, "probing: lookups by value over the limit");
        }
        Ok(())
    }

    /// The catalog.
    pub fn store(&self) -> &Arc<dyn CatalogStore> {
        &self.store
    }

    /// The lake.
    pub fn lake(&self) -> &Lake {
        &self.lake
    }

    /// The limits sessions run under.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    async fn facts(&self) -> Result<Facts> {
        let head = self.store.head_seq().await?;
        let mut facts = self.facts.lock().await;
        if let Some(f) = facts.as_ref()
            && f.head_seq == head
        {
            return Ok(f.clone());
        }
        let custom = self.store.list_policies().await?;
        let authorizer =
            Arc::new(Authorizer::new(&custom).map_err(|e| EngineError::Refused(e.to_string()))?);
        let orgs = Arc::new(self.store.list_orgs().await?);
        let mut resources = Vec::new();
        let mut page = Page {
            offset: 0,
            limit: 500,
        };
        loop {
            let listed = self
                .store
                .list_resources(&ResourceFilter::default(), page)
                .await?;
            for r in &listed.items {
                if let Some(detail) = self.store.get_resource(&r.id).await? {
                    resources.push(detail);
                }
            }
            if listed.items.len() < page.limit as usize {
                break;
            }
            page.offset += page.limit;
        }
        let classes = Arc::new(Classes::new(&authorizer, &resources));
        let loaded = Facts {
            head_seq: head,
            authorizer,
            orgs,
            resources: Arc::new(resources),
            classes,
        };
        *facts = Some(loaded.clone());
        Ok(loaded)
    }

    /// Every resource of the catalog with its columns and tables, as sessions are decided
    /// from (reloaded when the change log moves). Doors show a principal only those its
    /// [`Decisions`] allow.
    pub async fn resources(&self) -> Result<Arc<Vec<ResourceDetail>>> {
        Ok(self.facts().await?.resources)
    }

    /// The decisions of `principal` under `purpose` for the doors and workflows (catalogue,
    /// quality, objections, management), from the same facts and grants as its sessions.
    pub async fn decisions(
        &self,
        principal: &Principal,
        purpose: Option<&str>,
    ) -> Result<Decisions> {
        let facts = self.facts().await?;
        let grants = self.store.grants_for(principal).await?;
        Decisions::with_classes(
            facts.authorizer,
            facts.classes,
            Subject {
                principal,
                purpose,
                download: false,
            },
            &facts.orgs,
            &grants,
        )
        .map_err(|e| EngineError::Refused(e.to_string()))
    }

    /// What `principal` may see under `purpose` (through a download door when `download`).
    pub async fn access(
        &self,
        principal: &Principal,
        purpose: Option<&str>,
        download: bool,
    ) -> Result<SessionAccess> {
        Ok(self.decide(principal, purpose, download).await?.access)
    }

    /// [`QueryService::access`], with the facts it rests on.
    async fn decide(
        &self,
        principal: &Principal,
        purpose: Option<&str>,
        download: bool,
    ) -> Result<Decision> {
        let facts = self.facts().await?;
        let grants = self.store.grants_for(principal).await?;
        let access = decide_with(
            &facts.authorizer,
            &facts.classes,
            Subject {
                principal,
                purpose,
                download,
            },
            &facts.orgs,
            &facts.resources,
            &grants,
        )
        .map_err(|e| EngineError::Refused(e.to_string()))?;
        let until = grants
            .iter()
            .filter_map(|g| g.grant.expires_at.as_deref().and_then(expiry_time))
            .min();
        Ok(Decision {
            access,
            head_seq: facts.head_seq,
            until,
        })
    }

    /// Opens a session for `principal` under `purpose`.
    pub async fn open(
        self: &Arc<Self>,
        principal: Principal,
        purpose: Option<String>,
        client: ClientInfo,
    ) -> Result<PrincipalSession> {
        let decision = self
            .decide(&principal, purpose.as_deref(), client.download)
            .await?;
        let session = Arc::new(self.governed_session(&decision.access)?);
        Ok(PrincipalSession {
            service: self.clone(),
            current: Mutex::new(Arc::new(Current {
                session,
                decision,
                generation: 0,
            })),
            extensions: Mutex::new(Vec::new()),
            principal,
            purpose,
            client,
        })
    }

    fn governed_session(&self, access: &SessionAccess) -> Result<GovernedSession> {
        GovernedSession::new(
            &self.lake,
            access,
            &self.key,
            self.limits,
            Some(self.audit.clone()),
        )
    }

    fn permit(&self, principal: &str) -> Result<OwnedSemaphorePermit> {
        let semaphore = {
            let mut running = lock(&self.running);
            running
                .entry(principal.to_owned())
                .or_insert_with(|| Arc::new(Semaphore::new(self.limits.max_concurrent)))
                .clone()
        };
        semaphore.try_acquire_owned().map_err(|_| {
            EngineError::Limit(format!(
                "{principal} already runs {} queries at once, the most allowed; wait for one to \
                 finish",
                self.limits.max_concurrent
            ))
        })
    }
}

/// A decision and the facts it rests on.
struct Decision {
    access: SessionAccess,
    /// The change log's head when it was made.
    head_seq: i64,
    /// The first expiry among the grants it used.
    until: Option<DateTime<Utc>>,
}

impl Decision {
    fn holds(&self, head_seq: i64, now: DateTime<Utc>) -> bool {
        self.head_seq == head_seq && self.until.is_none_or(|until| now < until)
    }
}

/// A session's current governed session and the decision it was built from.
struct Current {
    session: Arc<GovernedSession>,
    decision: Decision,
    /// Counts the governed sessions built; a plan made by an earlier one is made again.
    generation: u64,
}

/// What a front end adds to each governed session of a principal session (system catalogs,
/// functions), again whenever the session is rebuilt.
type Extension = Arc<dyn Fn(&GovernedSession) -> Result<()> + Send + Sync>;

/// A statement planned by [`PrincipalSession::plan`], to run with
/// [`PrincipalSession::execute_planned`].
#[derive(Debug)]
pub struct Planned {
    frame: DataFrame,
    generation: u64,
    /// The text planned: what the audit records when it runs.
    sql: String,
}

impl Planned {
    /// The result's schema.
    pub fn schema(&self) -> &DFSchema {
        self.frame.schema()
    }

    /// The logical plan (for a door that describes its parameters).
    pub fn logical_plan(&self) -> &datafusion::logical_expr::LogicalPlan {
        self.frame.logical_plan()
    }

    /// The statement text that was planned.
    pub fn sql(&self) -> &str {
        &self.sql
    }
}

/// A principal's open session: see the module documentation.
pub struct PrincipalSession {
    service: Arc<QueryService>,
    current: Mutex<Arc<Current>>,
    extensions: Mutex<Vec<Extension>>,
    principal: Principal,
    purpose: Option<String>,
    client: ClientInfo,
}

impl std::fmt::Debug for PrincipalSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrincipalSession")
            .field("principal", &self.principal.id)
            .field("purpose", &self.purpose)
            .finish()
    }
}

impl PrincipalSession {
    /// The principal.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The declared purpose.
    pub fn purpose(&self) -> Option<&str> {
        self.purpose.as_deref()
    }

    /// The governed session as last decided (for a front end that reads its catalog).
    pub fn governed(&self) -> Arc<GovernedSession> {
        lock(&self.current).session.clone()
    }

    /// Adds `extension` (a system catalog, functions) to the governed session, now and each
    /// time the session is decided again.
    pub fn extend(
        &self,
        extension: impl Fn(&GovernedSession) -> Result<()> + Send + Sync + 'static,
    ) -> Result<()> {
        let extension: Extension = Arc::new(extension);
        extension(&self.governed())?;
        lock(&self.extensions).push(extension);
        Ok(())
    }

    /// Makes a scalar function (a validator, a pattern) available to the session's statements,
    /// for a workflow that computes over what the principal reads. A function sees the values
    /// the scans yield, masked and filtered as always.
    pub fn register_udf(&self, udf: datafusion::logical_expr::ScalarUDF) {
        let _ = self.extend(move |session| {
            session.context().register_udf(udf.clone());
            Ok(())
        });
    }

    /// Declares a new purpose: the session is decided again under it.
    pub async fn set_purpose(&mut self, purpose: Option<String>) -> Result<()> {
        let principal = self.current_principal().await?;
        let decision = self
            .service
            .decide(&principal, purpose.as_deref(), self.client.download)
            .await?;
        let generation = lock(&self.current).generation + 1;
        let session = self.build(&decision.access)?;
        *lock(&self.current) = Arc::new(Current {
            session,
            decision,
            generation,
        });
        self.purpose = purpose;
        Ok(())
    }

    /// The signed-in principal as the catalog now has it; refused once it is gone.
    async fn current_principal(&self) -> Result<Principal> {
        self.service
            .store
            .get_principal(&self.principal.id)
            .await?
            .ok_or_else(|| {
                EngineError::Refused(format!(
                    "principal {} no longer exists; sign in again",
                    self.principal.id
                ))
            })
    }

    fn build(&self, access: &SessionAccess) -> Result<Arc<GovernedSession>> {
        let session = self.service.governed_session(access)?;
        let extensions = lock(&self.extensions).clone();
        for extension in extensions {
            extension(&session)?;
        }
        Ok(Arc::new(session))
    }

    /// The governed session a statement runs in now: the current one while the facts its
    /// decision rests on hold, else one decided again (see the module documentation).
    async fn decided(&self) -> Result<Arc<Current>> {
        let head = self.service.store.head_seq().await?;
        let current = lock(&self.current).clone();
        if current.decision.holds(head, Utc::now()) {
            return Ok(current);
        }
        let principal = self.current_principal().await?;
        let decision = self
            .service
            .decide(&principal, self.purpose.as_deref(), self.client.download)
            .await?;
        let (session, generation) = if decision.access == current.decision.access {
            (current.session.clone(), current.generation)
        } else {
            (self.build(&decision.access)?, current.generation + 1)
        };
        let decided = Arc::new(Current {
            session,
            decision,
            generation,
        });
        *lock(&self.current) = decided.clone();
        Ok(decided)
    }

    fn record(&self, sql: &str, reads: StatementReads, started: Instant) -> NewAuditRecord {
        NewAuditRecord {
            duration_ms: started.elapsed().as_millis() as i64,
            ..audit_record(
                &self.principal,
                self.purpose.clone(),
                &self.client,
                sql,
                reads,
            )
        }
    }

    /// Refused while this principal at this client is over its budget of refusals.
    fn unless_probing(&self) -> Result<()> {
        self.service.probes.check(
            self.principal.id.as_str(),
            &self.client.address,
            Probe::Refusal,
        )
    }

    /// Records a statement the door answered itself (a session setting, `SHOW`, a transaction
    /// boundary): it reached a door, so it is in the audit. Fails, and the door refuses the
    /// statement, when the record cannot be written.
    pub async fn audit_session_statement(&self, sql: &str, started: Instant) -> Result<()> {
        let record = self.record(sql, StatementReads::default(), started);
        append_whole(self.service.store.clone(), record).await?;
        Ok(())
    }

    /// Records a statement refused or failed before it ran, and returns the error.
    pub async fn audit_failure(
        &self,
        sql: &str,
        error: EngineError,
        started: Instant,
    ) -> EngineError {
        let mut record = self.record(sql, StatementReads::default(), started);
        record.outcome = if is_denial(&error) {
            AuditOutcome::Denied
        } else {
            AuditOutcome::Failed
        };
        record.error = Some(error.to_string());
        let id = self.principal.id.as_str();
        if crate::probing::asks_about_hidden(&error)
            && self
                .service
                .probes
                .count(id, &self.client.address, Probe::Refusal)
        {
            tracing::warn!(principal = id, client = %self.client.address, "probing: refused statements over the limit");
        }
        if let Err(e) = append_whole(self.service.store.clone(), record).await {
            tracing::error!("audit append failed: {e}");
            return e;
        }
        error
    }

    /// Runs one statement; see the module documentation.
    pub async fn execute(&self, sql: &str) -> Result<AuditedStream> {
        self.execute_with(sql, None).await
    }

    /// Runs one statement with values for its `$n` parameters.
    pub async fn execute_with(
        &self,
        sql: &str,
        params: Option<ParamValues>,
    ) -> Result<AuditedStream> {
        self.run(sql, None, params).await
    }

    /// Plans a statement without running it, for a door that describes a result before it
    /// fetches it; a refusal is audited here, since the statement will not run.
    pub async fn plan(&self, sql: &str) -> Result<Planned> {
        let started = Instant::now();
        let planned = async {
            self.unless_probing()?;
            let current = self.decided().await?;
            Ok(Planned {
                frame: current.session.sql(sql).await?,
                generation: current.generation,
                sql: sql.to_owned(),
            })
        };
        match AssertUnwindSafe(planned)
            .catch_unwind()
            .await
            .unwrap_or_else(stopped)
        {
            Ok(planned) => Ok(planned),
            Err(e) => Err(self.audit_failure(sql, e, started).await),
        }
    }

    /// Runs a statement [`PrincipalSession::plan`] planned, recording the text that was
    /// planned; planned again from that text if the session was decided again since.
    pub async fn execute_planned(&self, planned: Planned) -> Result<AuditedStream> {
        let sql = planned.sql.clone();
        self.run(&sql, Some(planned), None).await
    }

    /// Starts a statement (planning it unless `planned`); a failure to start is audited.
    async fn run(
        &self,
        sql: &str,
        planned: Option<Planned>,
        params: Option<ParamValues>,
    ) -> Result<AuditedStream> {
        let started = Instant::now();
        // The audit records what was asked: a statement with parameters, with their values.
        let recorded = with_values(sql, params.as_ref());
        let start =
            AssertUnwindSafe(self.start(sql, &recorded, planned, params, started)).catch_unwind();
        match start.await.unwrap_or_else(stopped) {
            Ok(stream) => Ok(stream),
            Err(e) => Err(self.audit_failure(&recorded, e, started).await),
        }
    }

    async fn start(
        &self,
        sql: &str,
        recorded: &str,
        planned: Option<Planned>,
        params: Option<ParamValues>,
        started: Instant,
    ) -> Result<AuditedStream> {
        self.unless_probing()?;
        let permit = self.service.permit(self.principal.id.as_str())?;
        let current = self.decided().await?;
        let session = &current.session;
        let frame = match planned {
            Some(planned) if planned.generation == current.generation => planned.frame,
            _ => session.sql(sql).await?,
        };
        let (state, plan) = frame.into_parts();
        let plan = match params {
            Some(values) => plan.replace_params_with_values(&values)?,
            None => plan,
        };
        let optimized = state.optimize(&plan)?;
        let reads = session.reads(&optimized);
        let reads = if reads.tables.is_empty() {
            session.reads(&plan)
        } else {
            reads
        };
        let record = self.record(recorded, reads, started);
        let physical = match state
            .query_planner()
            .create_physical_plan(&optimized, &state)
            .await
        {
            Ok(p) => p,
            Err(e) => return Err(query_error(e)),
        };
        let stream = datafusion::physical_plan::execute_stream(physical, state.task_ctx())?;
        let limits = session.limits();
        // The schema a door described from the plan: the physical plan may know a column to
        // be non-null where the logical plan does not (a folded constant), and clients that
        // compare the two (ADBC Flight SQL) refuse the difference.
        let described: SchemaRef = Arc::new(plan.schema().as_arrow().clone());
        let schema = if described.contains(&stream.schema()) {
            described
        } else {
            stream.schema()
        };
        // On record before the first row leaves: a server that stops mid-stream still leaves
        // the statement, what it read and its masks in the audit.
        let statement = Statement {
            schema,
            inner: stream,
            record,
            started,
            max_rows: limits.max_rows,
            timeout: limits.timeout,
            permit,
        };
        AuditedStream::begin(self.service.store.clone(), statement).await
    }

    /// Runs one statement and collects its result.
    pub async fn query(&self, sql: &str) -> Result<(SchemaRef, Vec<RecordBatch>)> {
        let mut stream = self.execute(sql).await?;
        let schema = stream.schema();
        let mut batches = Vec::new();
        while let Some(batch) = stream.next().await {
            batches.push(batch?);
        }
        Ok((schema, batches))
    }
}

/// `sql` as the audit records it: with the values of its parameters after it, in a comment
/// (`… /* $1 = 'gaj_officer', $2 = '' */`), so that a record says what was asked, not only
/// its shape.
fn with_values(sql: &str, params: Option<&ParamValues>) -> String {
    let values: Vec<String> = match params {
        Some(ParamValues::List(list)) => list
            .iter()
            .enumerate()
            .map(|(i, v)| format!("${} = {}", i + 1, literal_of(&v.value)))
            .collect(),
        Some(ParamValues::Map(map)) => {
            let mut named: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("${k} = {}", literal_of(&v.value)))
                .collect();
            named.sort();
            named
        }
        None => Vec::new(),
    };
    if values.is_empty() {
        sql.to_owned()
    } else {
        // A value cannot end the comment early: `*/` inside one is broken up.
        format!("{sql} /* {} */", values.join(", ").replace("*/", "* /"))
    }
}

/// A parameter's value as SQL would write it.
fn literal_of(value: &datafusion::common::ScalarValue) -> String {
    use datafusion::common::ScalarValue;
    match value {
        v if v.is_null() => "NULL".into(),
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => {
            format!("'{}'", s.replace('\'', "''"))
        }
        other => other.to_string(),
    }
}

/// [`engine_panicked`] as the error of a statement's start.
fn stopped<T>(panic: Box<dyn std::any::Any + Send>) -> Result<T> {
    Err(EngineError::Query(engine_panicked(panic)))
}

/// The longest statement text the audit keeps whole, the longest a door accepts; a longer
/// one (refused for its length) is kept to this length with its size and digest.
const AUDIT_TEXT_MAX: usize = crate::complexity::MAX_BYTES;

/// An answered statement's record, before its rows, duration and outcome are known.
fn audit_record(
    principal: &Principal,
    purpose: Option<String>,
    client: &ClientInfo,
    sql: &str,
    reads: StatementReads,
) -> NewAuditRecord {
    NewAuditRecord {
        principal: principal.id.as_str().to_owned(),
        purpose,
        client: client.address.clone(),
        protocol: client.protocol.to_owned(),
        sql: audit_text(sql),
        tables: reads.tables,
        columns: reads.columns,
        masks: reads.masks,
        filters: reads.filters,
        rows: 0,
        duration_ms: 0,
        outcome: AuditOutcome::Ok,
        error: None,
        completes: None,
    }
}

fn audit_text(sql: &str) -> String {
    if sql.len() <= AUDIT_TEXT_MAX {
        return sql.to_owned();
    }
    let mut end = AUDIT_TEXT_MAX;
    while !sql.is_char_boundary(end) {
        end -= 1;
    }
    let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(sql.as_bytes()));
    format!(
        "{}… [kept {end} of {} bytes; sha256 {digest}]",
        &sql[..end],
        sql.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::common::ScalarValue;

    #[test]
    fn the_audit_text_carries_the_parameters_values() {
        let params = ParamValues::List(vec![
            ScalarValue::Utf8(Some("it's */ here".into())).into(),
            ScalarValue::Int64(Some(7)).into(),
            ScalarValue::Utf8(None).into(),
        ]);
        let text = with_values(
            "SELECT * FROM t WHERE a = $1 AND b = $2 AND c = $3",
            Some(&params),
        );
        assert_eq!(
            text,
            "SELECT * FROM t WHERE a = $1 AND b = $2 AND c = $3 /* $1 = 'it''s * / here', $2 = 7, $3 = NULL */"
        );
        assert_eq!(with_values("SELECT 1", None), "SELECT 1");
        assert_eq!(
            with_values("SELECT 1", Some(&ParamValues::List(vec![]))),
            "SELECT 1"
        );
    }
}

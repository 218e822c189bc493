//! [`SqlCatalogStore`]: the [`CatalogStore`] over sqlx, on SQLite (the embedded default, one
//! file in the data directory) or PostgreSQL (for servers), chosen by the URL.
//!
//! Both backends run the same portable SQL through sqlx's `Any` driver; what differs is kept in
//! one place each: the migrations (`migrations/sqlite`, `migrations/postgres`) and how a write
//! transaction serialises against other writers (SQLite `BEGIN IMMEDIATE`, PostgreSQL an
//! advisory transaction lock), which keeps the change-log chain linear across processes.

use crate::changelog::{ChainVerifier, EntryFields, GENESIS, entry_hash};
use crate::classification::{BindingRole, Category, Grade, PrincipalKind, Role, SuggestionStatus};
use crate::error::{CatalogError, Result, SourceConflict};
use crate::governance::{AuditRecord, CustomPolicy, Grant, NewAuditRecord, NewGrant};
use crate::ids::{ElementId, JobId, OrgId, PrincipalId, ResourceId};
use crate::model::{
    ChainReport, ChangeEvent, Column, Coverage, DataElement, ElementBinding, ElementBindings,
    IngestJob, IngestRun, NewObjection, NewPrincipal, NewResource, NewSuggestion, Objection,
    ObjectionStatus, OrgUnit, Page, Paged, Principal, PrincipalAttributes, QualityIncident,
    QualityMetric, QualityResult, QualityRuleRecord, Resource, ResourceDetail, ResourceFilter,
    RunStatus, SearchDocument, Suggestion, TableRecord,
};
use crate::store::{Actor, AttributeChange, CatalogStore};
use crate::{auth, rules};
use async_trait::async_trait;
use serde::Serialize;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::Migrator;
use sqlx::{Any, AnyPool, AssertSqlSafe, Row, Transaction};
use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

mod governance;
mod quality_loop;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// The database behind a [`SqlCatalogStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite, embedded.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// The catalog store over SQLite or PostgreSQL.
#[derive(Debug, Clone)]
pub struct SqlCatalogStore {
    pool: AnyPool,
    backend: Backend,
}

type Tx = Transaction<'static, Any>;

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn parse<T: FromStr>(text: &str, what: &str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    text.parse::<T>()
        .map_err(|e| CatalogError::corrupt(format!("{what}: {e}")))
}

fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(CatalogError::corrupt)
}

/// The change-log head inside one write transaction.
struct ChainHead {
    seq: i64,
    hash: String,
}

impl SqlCatalogStore {
    /// Connects to `url` (`sqlite://PATH` or `postgres://…`), creating a SQLite file if
    /// missing, and runs the migrations.
    pub async fn connect(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let (backend, url) = if url.starts_with("sqlite:") {
            let url = if url.contains('?') {
                url.to_owned()
            } else {
                format!("{url}?mode=rwc")
            };
            (Backend::Sqlite, url)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Backend::Postgres, url.to_owned())
        } else {
            return Err(CatalogError::Invalid {
                what: "catalog URL".into(),
                reason: format!(
                    "`{url}` is neither sqlite://PATH nor postgres://USER@HOST/DB; set catalog.url \
                     in zhongshu.toml or ZHONGSHU__CATALOG__URL"
                ),
            });
        };
        let mut options =
            AnyPoolOptions::new().max_connections(if backend == Backend::Sqlite { 4 } else { 16 });
        if backend == Backend::Sqlite {
            // Write-ahead logging: a commit (every audited query appends one) is one fsync of
            // the log instead of four with a rollback journal, and readers do not wait for a
            // writer. `synchronous = FULL` keeps every commit durable through a power cut.
            options = options.after_connect(|conn, _| {
                Box::pin(async move {
                    sqlx::query("PRAGMA journal_mode = WAL")
                        .execute(&mut *conn)
                        .await?;
                    sqlx::query("PRAGMA synchronous = FULL")
                        .execute(&mut *conn)
                        .await?;
                    Ok(())
                })
            });
        }
        let pool = options.connect(&url).await?;
        let store = SqlCatalogStore { pool, backend };
        match backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&store.pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&store.pool).await?,
        }
        Ok(store)
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The connection pool, for tests and benchmarks that need to look underneath.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Starts a write transaction that excludes every other writer until it ends.
    async fn begin_write(&self) -> Result<(Tx, ChainHead)> {
        let mut tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => {
                let mut tx = self.pool.begin().await?;
                sqlx::query("SELECT 1 AS locked FROM (SELECT pg_advisory_xact_lock(7331001)) AS l")
                    .execute(&mut *tx)
                    .await?;
                tx
            }
        };
        let head = sqlx::query("SELECT seq, hash FROM change_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *tx)
            .await?;
        let head = match head {
            Some(row) => ChainHead {
                seq: row.try_get("seq")?,
                hash: row.try_get("hash")?,
            },
            None => ChainHead {
                seq: 0,
                hash: GENESIS.to_owned(),
            },
        };
        Ok((tx, head))
    }
}

/// Appends one change-log entry inside the write transaction.
#[allow(clippy::too_many_arguments)] // one argument per logged field reads clearest here
async fn log_change(
    tx: &mut Tx,
    head: &mut ChainHead,
    actor: &Actor,
    entity_kind: &str,
    entity_id: &str,
    action: &str,
    before: Option<String>,
    after: Option<String>,
) -> Result<()> {
    let seq = head.seq + 1;
    let at = now();
    let fields = EntryFields {
        seq,
        at: &at,
        actor: &actor.0,
        entity_kind,
        entity_id,
        action,
        before: before.as_deref(),
        after: after.as_deref(),
    };
    let hash = entry_hash(&head.hash, &fields);
    sqlx::query(
        "INSERT INTO change_log (seq, at, actor, entity_kind, entity_id, action, before_state, \
         after_state, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(seq)
    .bind(&at)
    .bind(&actor.0)
    .bind(entity_kind)
    .bind(entity_id)
    .bind(action)
    .bind(before)
    .bind(after)
    .bind(&head.hash)
    .bind(&hash)
    .execute(&mut **tx)
    .await?;
    head.seq = seq;
    head.hash = hash;
    Ok(())
}

// --- row decoding --------------------------------------------------------------------------

fn org_from_row(row: &AnyRow) -> Result<OrgUnit> {
    Ok(OrgUnit {
        id: OrgId::new(row.try_get::<String, _>("id")?),
        name: row.try_get("name")?,
        kind: parse(&row.try_get::<String, _>("kind")?, "org kind")?,
        parent: row
            .try_get::<Option<String>, _>("parent_id")?
            .map(OrgId::new),
        division_code: row.try_get("division_code")?,
    })
}

fn principal_from_row(row: &AnyRow) -> Result<Principal> {
    let roles: String = row.try_get("roles")?;
    let roles = roles
        .split(',')
        .filter(|r| !r.is_empty())
        .map(|r| parse::<Role>(r, "role"))
        .collect::<Result<Vec<_>>>()?;
    let attributes: String = row.try_get("attributes")?;
    Ok(Principal {
        id: PrincipalId::new(row.try_get::<String, _>("id")?),
        display_name: row.try_get("display_name")?,
        kind: parse::<PrincipalKind>(&row.try_get::<String, _>("kind")?, "principal kind")?,
        org: OrgId::new(row.try_get::<String, _>("org_id")?),
        roles,
        attributes: serde_json::from_str::<PrincipalAttributes>(&attributes)
            .map_err(CatalogError::corrupt)?,
    })
}

fn element_from_row(row: &AnyRow) -> Result<DataElement> {
    Ok(DataElement {
        id: ElementId::new(row.try_get::<String, _>("id")?),
        name: row.try_get("name")?,
        name_en: row.try_get("name_en")?,
        standard: row.try_get("standard")?,
        data_type: row.try_get("data_type")?,
        validator: row
            .try_get::<Option<String>, _>("validator")?
            .map(|v| parse(&v, "validator"))
            .transpose()?,
        default_category: parse(&row.try_get::<String, _>("default_category")?, "category")?,
        default_grade: parse(&row.try_get::<String, _>("default_grade")?, "grade")?,
        description: row.try_get("description")?,
    })
}

fn resource_from_row(row: &AnyRow) -> Result<Resource> {
    Ok(Resource {
        id: ResourceId::new(row.try_get::<String, _>("id")?),
        name: row.try_get("name")?,
        provider: OrgId::new(row.try_get::<String, _>("provider_id")?),
        abstract_text: row.try_get("abstract")?,
        format: row.try_get("format")?,
        share_attr: parse(&row.try_get::<String, _>("share_attr")?, "share attribute")?,
        share_conditions: row.try_get("share_conditions")?,
        open_attr: parse(&row.try_get::<String, _>("open_attr")?, "open attribute")?,
        open_conditions: row.try_get("open_conditions")?,
        update_cycle: parse(&row.try_get::<String, _>("update_cycle")?, "update cycle")?,
        tier: parse(&row.try_get::<String, _>("tier")?, "tier")?,
        publish_date: row.try_get("publish_date")?,
        grade: row
            .try_get::<Option<String>, _>("grade")?
            .map(|g| parse(&g, "grade"))
            .transpose()?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn column_from_row(row: &AnyRow) -> Result<Column> {
    Ok(Column {
        name: row.try_get("name")?,
        title: row.try_get("title")?,
        data_type: row.try_get("data_type")?,
        nullable: row.try_get::<i64, _>("nullable")? != 0,
        is_key: row.try_get::<i64, _>("is_key")? != 0,
        description: row.try_get("description")?,
        category: parse(&row.try_get::<String, _>("category")?, "category")?,
        grade: parse(&row.try_get::<String, _>("grade")?, "grade")?,
        element: row
            .try_get::<Option<String>, _>("element_id")?
            .map(ElementId::new),
        binding: row
            .try_get::<Option<String>, _>("binding")?
            .map(|b| parse(&b, "binding"))
            .transpose()?,
    })
}

fn table_from_row(row: &AnyRow) -> Result<TableRecord> {
    let partitions: String = row.try_get("partition_columns")?;
    Ok(TableRecord {
        resource: ResourceId::new(row.try_get::<String, _>("resource_id")?),
        name: row.try_get("name")?,
        path: row.try_get("path")?,
        location: row.try_get("location")?,
        version: row.try_get("version")?,
        row_count: row.try_get("row_count")?,
        schema_json: row.try_get("schema_json")?,
        partition_columns: serde_json::from_str(&partitions).map_err(CatalogError::corrupt)?,
        last_update: row.try_get("last_update")?,
    })
}

fn suggestion_from_row(row: &AnyRow) -> Result<Suggestion> {
    Ok(Suggestion {
        id: row.try_get("id")?,
        resource: ResourceId::new(row.try_get::<String, _>("resource_id")?),
        column: row.try_get("column_name")?,
        element: row
            .try_get::<Option<String>, _>("element_id")?
            .map(ElementId::new),
        category: parse(&row.try_get::<String, _>("category")?, "category")?,
        grade: parse(&row.try_get::<String, _>("grade")?, "grade")?,
        confidence: row.try_get("confidence")?,
        evidence: row.try_get("evidence")?,
        status: parse(&row.try_get::<String, _>("status")?, "status")?,
        decided_by: row
            .try_get::<Option<String>, _>("decided_by")?
            .map(PrincipalId::new),
    })
}

fn change_from_row(row: &AnyRow) -> Result<ChangeEvent> {
    Ok(ChangeEvent {
        seq: row.try_get("seq")?,
        at: row.try_get("at")?,
        actor: row.try_get("actor")?,
        entity_kind: row.try_get("entity_kind")?,
        entity_id: row.try_get("entity_id")?,
        action: row.try_get("action")?,
        before: row.try_get("before_state")?,
        after: row.try_get("after_state")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

const RUN_COLUMNS: &str = "job_id, run, status, started_at, finished_at, rows_read, rows_written, \
    rows_quarantined, bytes, duration_ms, table_version, quarantine_version, inputs, error, \
    rows_flagged, flag_version";

fn job_from_row(row: &AnyRow) -> Result<IngestJob> {
    Ok(IngestJob {
        id: JobId::new(row.try_get::<String, _>("id")?),
        resource: ResourceId::new(row.try_get::<String, _>("resource_id")?),
        table: row.try_get("table_name")?,
        spec: row.try_get("spec")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn run_from_row(row: &AnyRow) -> Result<IngestRun> {
    let inputs: String = row.try_get("inputs")?;
    Ok(IngestRun {
        job: JobId::new(row.try_get::<String, _>("job_id")?),
        run: row.try_get("run")?,
        status: parse(&row.try_get::<String, _>("status")?, "run status")?,
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
        rows_read: row.try_get("rows_read")?,
        rows_written: row.try_get("rows_written")?,
        rows_quarantined: row.try_get("rows_quarantined")?,
        bytes: row.try_get("bytes")?,
        duration_ms: row.try_get("duration_ms")?,
        table_version: row.try_get("table_version")?,
        quarantine_version: row.try_get("quarantine_version")?,
        rows_flagged: row.try_get("rows_flagged")?,
        flag_version: row.try_get("flag_version")?,
        inputs: serde_json::from_str(&inputs).map_err(CatalogError::corrupt)?,
        error: row.try_get("error")?,
    })
}

const QUALITY_RESULT_COLUMNS: &str = "evaluation, rule_id, resource_id, column_name, kind, \
    dimension, severity, trigger, evaluated_at, table_version, rows_checked, rows_failed, examples";

fn quality_rule_from_row(row: &AnyRow) -> Result<QualityRuleRecord> {
    Ok(QualityRuleRecord {
        id: row.try_get("id")?,
        resource: row
            .try_get::<Option<String>, _>("resource_id")?
            .map(ResourceId::new),
        element: row
            .try_get::<Option<String>, _>("element_id")?
            .map(ElementId::new),
        spec: row.try_get("spec")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn quality_result_from_row(row: &AnyRow) -> Result<QualityResult> {
    let examples: String = row.try_get("examples")?;
    Ok(QualityResult {
        evaluation: row.try_get("evaluation")?,
        rule: row.try_get("rule_id")?,
        resource: ResourceId::new(row.try_get::<String, _>("resource_id")?),
        column: row.try_get("column_name")?,
        kind: row.try_get("kind")?,
        dimension: row.try_get("dimension")?,
        severity: row.try_get("severity")?,
        trigger: row.try_get("trigger")?,
        evaluated_at: row.try_get("evaluated_at")?,
        table_version: row.try_get("table_version")?,
        rows_checked: row.try_get("rows_checked")?,
        rows_failed: row.try_get("rows_failed")?,
        examples: serde_json::from_str(&examples).map_err(CatalogError::corrupt)?,
    })
}

// --- queries used inside transactions --------------------------------------------------------

const RESOURCE_COLUMNS: &str = "id, name, provider_id, abstract, format, share_attr, \
    share_conditions, open_attr, open_conditions, update_cycle, tier, publish_date, grade, \
    created_at, updated_at";

const COLUMN_COLUMNS: &str = "name, title, data_type, nullable, is_key, description, category, \
    grade, element_id, binding";

async fn fetch_resource(tx: &mut Tx, id: &ResourceId) -> Result<Resource> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {RESOURCE_COLUMNS} FROM resources WHERE id = $1"
    )))
    .bind(id.as_str())
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| CatalogError::not_found("resource", id))?;
    resource_from_row(&row)
}

async fn fetch_columns(tx: &mut Tx, id: &ResourceId) -> Result<Vec<Column>> {
    sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMN_COLUMNS} FROM columns WHERE resource_id = $1 ORDER BY position"
    )))
    .bind(id.as_str())
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(column_from_row)
    .collect()
}

async fn fetch_element(tx: &mut Tx, key: &str) -> Result<DataElement> {
    let row = sqlx::query(
        "SELECT id, name, name_en, standard, data_type, validator, default_category, \
         default_grade, description FROM data_elements WHERE id = $1 OR name = $2",
    )
    .bind(key)
    .bind(key)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| CatalogError::not_found("data element", key))?;
    element_from_row(&row)
}

/// The current source of an element, if any.
async fn fetch_source(tx: &mut Tx, element: &ElementId) -> Result<Option<ElementBinding>> {
    let row = sqlx::query(
        "SELECT c.resource_id, r.name AS resource_name, c.name AS column_name, r.provider_id, \
         o.name AS owner_name FROM columns c JOIN resources r ON r.id = c.resource_id \
         JOIN org_units o ON o.id = r.provider_id \
         WHERE c.element_id = $1 AND c.binding = 'source'",
    )
    .bind(element.as_str())
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|row| binding_from_row(&row, BindingRole::Source))
        .transpose()
}

fn binding_from_row(row: &AnyRow, role: BindingRole) -> Result<ElementBinding> {
    Ok(ElementBinding {
        resource: ResourceId::new(row.try_get::<String, _>("resource_id")?),
        resource_name: row.try_get("resource_name")?,
        column: row.try_get("column_name")?,
        owner: OrgId::new(row.try_get::<String, _>("provider_id")?),
        owner_name: row.try_get("owner_name")?,
        role,
    })
}

/// Refuses a source binding when the element already has another source.
async fn ensure_no_other_source(
    tx: &mut Tx,
    element: &DataElement,
    resource: &ResourceId,
    column: &str,
) -> Result<()> {
    if let Some(source) = fetch_source(tx, &element.id).await?
        && !(source.resource == *resource && source.column == column)
    {
        return Err(CatalogError::SecondSource(Box::new(SourceConflict {
            element: element.id.clone(),
            element_name: element.name.clone(),
            source_resource: source.resource,
            source_resource_name: source.resource_name,
            source_column: source.column,
            owner: source.owner,
            owner_name: source.owner_name,
        })));
    }
    Ok(())
}

/// Recomputes a resource's grade from its columns, checks the open attribute against it and
/// stores it.
async fn regrade(tx: &mut Tx, id: &ResourceId) -> Result<Resource> {
    let mut resource = fetch_resource(tx, id).await?;
    let columns = fetch_columns(tx, id).await?;
    resource.grade = rules::resource_grade(&columns);
    rules::check_open_attr(&resource.id, resource.open_attr, &columns)?;
    resource.updated_at = now();
    sqlx::query("UPDATE resources SET grade = $1, updated_at = $2 WHERE id = $3")
        .bind(resource.grade.map(|g| g.as_code()))
        .bind(&resource.updated_at)
        .bind(id.as_str())
        .execute(&mut **tx)
        .await?;
    Ok(resource)
}

async fn insert_resource(
    tx: &mut Tx,
    head: &mut ChainHead,
    actor: &Actor,
    new: &NewResource,
) -> Result<Resource> {
    rules::check_new_resource(new)?;
    let exists = sqlx::query("SELECT id FROM resources WHERE id = $1")
        .bind(new.id.as_str())
        .fetch_optional(&mut **tx)
        .await?;
    if exists.is_some() {
        return Err(CatalogError::AlreadyExists {
            kind: "resource",
            id: new.id.to_string(),
        });
    }
    let provider = sqlx::query("SELECT id FROM org_units WHERE id = $1")
        .bind(new.provider.as_str())
        .fetch_optional(&mut **tx)
        .await?;
    if provider.is_none() {
        return Err(CatalogError::not_found("organisation unit", &new.provider));
    }
    for column in &new.columns {
        if let Some(element_id) = &column.element {
            let element = fetch_element(tx, element_id.as_str()).await?;
            if column.binding == Some(BindingRole::Source) {
                ensure_no_other_source(tx, &element, &new.id, &column.name).await?;
            }
        }
    }
    let at = now();
    let grade = rules::resource_grade(&new.columns);
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO resources ({RESOURCE_COLUMNS}) VALUES \
         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
    )))
    .bind(new.id.as_str())
    .bind(&new.name)
    .bind(new.provider.as_str())
    .bind(&new.abstract_text)
    .bind(&new.format)
    .bind(new.share_attr.as_code())
    .bind(new.share_conditions.clone())
    .bind(new.open_attr.as_code())
    .bind(new.open_conditions.clone())
    .bind(new.update_cycle.as_code())
    .bind(new.tier.as_code())
    .bind(new.publish_date.clone())
    .bind(grade.map(|g| g.as_code()))
    .bind(&at)
    .bind(&at)
    .execute(&mut **tx)
    .await?;
    insert_columns(tx, &new.id, &new.columns).await?;
    log_change(
        tx,
        head,
        actor,
        "resource",
        new.id.as_str(),
        "create",
        None,
        Some(to_json(new)?),
    )
    .await?;
    fetch_resource(tx, &new.id).await
}

/// Inserts columns in multi-row statements (12 parameters per column).
async fn insert_columns(tx: &mut Tx, resource: &ResourceId, columns: &[Column]) -> Result<()> {
    const PER_STATEMENT: usize = 400;
    for (chunk_index, chunk) in columns.chunks(PER_STATEMENT).enumerate() {
        let mut sql = String::from(
            "INSERT INTO columns (resource_id, position, name, title, data_type, nullable, is_key, \
             description, category, grade, element_id, binding) VALUES ",
        );
        for i in 0..chunk.len() {
            let b = i * 12;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            sql.push_str(
                &(1..=12)
                    .map(|k| format!("${}", b + k))
                    .collect::<Vec<_>>()
                    .join(", "),
            );
            sql.push(')');
        }
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (i, c) in chunk.iter().enumerate() {
            query = query
                .bind(resource.as_str())
                .bind((chunk_index * PER_STATEMENT + i) as i64)
                .bind(&c.name)
                .bind(&c.title)
                .bind(&c.data_type)
                .bind(i64::from(c.nullable))
                .bind(i64::from(c.is_key))
                .bind(&c.description)
                .bind(c.category.as_code())
                .bind(c.grade.as_code())
                .bind(c.element.as_ref().map(|e| e.as_str().to_owned()))
                .bind(c.binding.map(|b| b.as_code()));
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

async fn find_column(tx: &mut Tx, resource: &ResourceId, column: &str) -> Result<Column> {
    fetch_resource(tx, resource).await?;
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMN_COLUMNS} FROM columns WHERE resource_id = $1 AND name = $2"
    )))
    .bind(resource.as_str())
    .bind(column)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| CatalogError::not_found("column", format!("{resource}.{column}")))?;
    column_from_row(&row)
}

async fn write_column_classification(
    tx: &mut Tx,
    resource: &ResourceId,
    column: &Column,
) -> Result<()> {
    sqlx::query(
        "UPDATE columns SET category = $1, grade = $2, element_id = $3, binding = $4 \
         WHERE resource_id = $5 AND name = $6",
    )
    .bind(column.category.as_code())
    .bind(column.grade.as_code())
    .bind(column.element.as_ref().map(|e| e.as_str().to_owned()))
    .bind(column.binding.map(|b| b.as_code()))
    .bind(resource.as_str())
    .bind(&column.name)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Binds a column inside a transaction; shared by `bind_column` and accepted suggestions.
async fn bind_in_tx(
    tx: &mut Tx,
    head: &mut ChainHead,
    actor: &Actor,
    resource: &ResourceId,
    column_name: &str,
    element_id: &ElementId,
    role: BindingRole,
) -> Result<()> {
    let before = find_column(tx, resource, column_name).await?;
    let element = fetch_element(tx, element_id.as_str()).await?;
    if role == BindingRole::Source {
        ensure_no_other_source(tx, &element, resource, column_name).await?;
    }
    let mut after = before.clone();
    after.element = Some(element.id.clone());
    after.binding = Some(role);
    // Binding never lowers a column below its element's default grade (就高从严).
    if element.default_grade > after.grade {
        after.grade = element.default_grade;
        after.category = element.default_category;
    }
    write_column_classification(tx, resource, &after).await?;
    regrade(tx, resource).await?;
    log_change(
        tx,
        head,
        actor,
        "column",
        &format!("{resource}.{column_name}"),
        "bind",
        Some(to_json(&before)?),
        Some(to_json(&after)?),
    )
    .await
}

async fn classify_in_tx(
    tx: &mut Tx,
    head: &mut ChainHead,
    actor: &Actor,
    resource: &ResourceId,
    column_name: &str,
    category: Category,
    grade: Grade,
) -> Result<()> {
    let before = find_column(tx, resource, column_name).await?;
    let mut after = before.clone();
    after.category = category;
    after.grade = grade;
    write_column_classification(tx, resource, &after).await?;
    regrade(tx, resource).await?;
    log_change(
        tx,
        head,
        actor,
        "column",
        &format!("{resource}.{column_name}"),
        "classify",
        Some(to_json(&before)?),
        Some(to_json(&after)?),
    )
    .await
}

async fn search_docs_from_rows(pool: &AnyPool, rows: Vec<AnyRow>) -> Result<Vec<SearchDocument>> {
    let mut docs: BTreeMap<String, SearchDocument> = BTreeMap::new();
    for row in &rows {
        let id: String = row.try_get("id")?;
        docs.insert(
            id.clone(),
            SearchDocument {
                id: ResourceId::new(id),
                name: row.try_get("name")?,
                abstract_text: row.try_get("abstract")?,
                items: String::new(),
                provider_name: row.try_get("provider_name")?,
            },
        );
    }
    let (Some(first), Some(last)) = (docs.keys().next(), docs.keys().next_back()) else {
        return Ok(Vec::new());
    };
    let columns = sqlx::query(
        "SELECT resource_id, name, title FROM columns WHERE resource_id >= $1 AND resource_id <= $2 \
         ORDER BY resource_id, position",
    )
    .bind(first.clone())
    .bind(last.clone())
    .fetch_all(pool)
    .await?;
    for row in &columns {
        let id: String = row.try_get("resource_id")?;
        if let Some(doc) = docs.get_mut(&id) {
            let title: String = row.try_get("title")?;
            let name: String = row.try_get("name")?;
            doc.items.push_str(&title);
            doc.items.push(' ');
            doc.items.push_str(&name);
            doc.items.push(' ');
        }
    }
    Ok(docs.into_values().collect())
}

#[async_trait]
impl CatalogStore for SqlCatalogStore {
    fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    async fn upsert_org(&self, actor: &Actor, org: &OrgUnit) -> Result<()> {
        let (mut tx, mut head) = self.begin_write().await?;
        let before = sqlx::query(
            "SELECT id, name, kind, parent_id, division_code FROM org_units WHERE id = $1",
        )
        .bind(org.id.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| org_from_row(&r))
        .transpose()?;
        if let Some(parent) = &org.parent {
            let exists = sqlx::query("SELECT id FROM org_units WHERE id = $1")
                .bind(parent.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            if exists.is_none() {
                return Err(CatalogError::not_found("parent organisation unit", parent));
            }
        }
        if before.as_ref() == Some(org) {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO org_units (id, name, kind, parent_id, division_code) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind, \
             parent_id = excluded.parent_id, division_code = excluded.division_code",
        )
        .bind(org.id.as_str())
        .bind(&org.name)
        .bind(org.kind.as_code())
        .bind(org.parent.as_ref().map(|p| p.as_str().to_owned()))
        .bind(org.division_code.clone())
        .execute(&mut *tx)
        .await?;
        let action = if before.is_some() { "update" } else { "create" };
        let before = before.as_ref().map(to_json).transpose()?;
        log_change(
            &mut tx,
            &mut head,
            actor,
            "org",
            org.id.as_str(),
            action,
            before,
            Some(to_json(org)?),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get_org(&self, id: &OrgId) -> Result<Option<OrgUnit>> {
        sqlx::query("SELECT id, name, kind, parent_id, division_code FROM org_units WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?
            .map(|r| org_from_row(&r))
            .transpose()
    }

    async fn list_orgs(&self) -> Result<Vec<OrgUnit>> {
        sqlx::query("SELECT id, name, kind, parent_id, division_code FROM org_units ORDER BY id")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(org_from_row)
            .collect()
    }

    async fn create_principal(&self, actor: &Actor, new: &NewPrincipal) -> Result<Principal> {
        let p = &new.principal;
        rules::check_identifier("principal id", p.id.as_str())?;
        let (mut tx, mut head) = self.begin_write().await?;
        if sqlx::query("SELECT id FROM principals WHERE id = $1")
            .bind(p.id.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .is_some()
        {
            return Err(CatalogError::AlreadyExists {
                kind: "principal",
                id: p.id.to_string(),
            });
        }
        if sqlx::query("SELECT id FROM org_units WHERE id = $1")
            .bind(p.org.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .is_none()
        {
            return Err(CatalogError::not_found("organisation unit", &p.org));
        }
        let roles = p
            .roles
            .iter()
            .map(|r| r.as_code())
            .collect::<Vec<_>>()
            .join(",");
        let verifier = new
            .password
            .as_deref()
            .map(|pw| auth::ScramVerifier::new(pw).encode());
        let token_hash = new.token.as_deref().map(auth::token_digest);
        sqlx::query(
            "INSERT INTO principals (id, display_name, kind, org_id, roles, attributes, \
             password_verifier, token_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(p.id.as_str())
        .bind(&p.display_name)
        .bind(p.kind.as_code())
        .bind(p.org.as_str())
        .bind(roles)
        .bind(to_json(&p.attributes)?)
        .bind(verifier)
        .bind(token_hash)
        .execute(&mut *tx)
        .await?;
        // Credentials never enter the log; only that they were set.
        let logged = serde_json::json!({
            "principal": p,
            "password_set": new.password.is_some(),
            "token_set": new.token.is_some(),
        });
        log_change(
            &mut tx,
            &mut head,
            actor,
            "principal",
            p.id.as_str(),
            "create",
            None,
            Some(logged.to_string()),
        )
        .await?;
        tx.commit().await?;
        Ok(p.clone())
    }

    async fn get_principal(&self, id: &PrincipalId) -> Result<Option<Principal>> {
        sqlx::query("SELECT id, display_name, kind, org_id, roles, attributes FROM principals WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?
            .map(|r| principal_from_row(&r))
            .transpose()
    }

    async fn list_principals(&self) -> Result<Vec<Principal>> {
        sqlx::query(
            "SELECT id, display_name, kind, org_id, roles, attributes FROM principals ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(principal_from_row)
        .collect()
    }

    async fn principal_by_token(&self, token: &str) -> Result<Option<Principal>> {
        sqlx::query(
            "SELECT id, display_name, kind, org_id, roles, attributes FROM principals WHERE token_hash = $1",
        )
        .bind(auth::token_digest(token))
        .fetch_optional(&self.pool)
        .await?
        .map(|r| principal_from_row(&r))
        .transpose()
    }

    async fn password_verifier(&self, id: &PrincipalId) -> Result<Option<String>> {
        let row = sqlx::query("SELECT password_verifier FROM principals WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => Ok(row.try_get("password_verifier")?),
            None => Ok(None),
        }
    }

    async fn upsert_element(&self, actor: &Actor, element: &DataElement) -> Result<()> {
        rules::check_identifier("data element id", element.id.as_str())?;
        let (mut tx, mut head) = self.begin_write().await?;
        let before = fetch_element(&mut tx, element.id.as_str()).await.ok();
        if before.as_ref() == Some(element) {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO data_elements (id, name, name_en, standard, data_type, validator, \
             default_category, default_grade, description) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, name_en = excluded.name_en, \
             standard = excluded.standard, data_type = excluded.data_type, validator = excluded.validator, \
             default_category = excluded.default_category, default_grade = excluded.default_grade, \
             description = excluded.description",
        )
        .bind(element.id.as_str())
        .bind(&element.name)
        .bind(&element.name_en)
        .bind(element.standard.clone())
        .bind(&element.data_type)
        .bind(element.validator.map(|v| v.as_code()))
        .bind(element.default_category.as_code())
        .bind(element.default_grade.as_code())
        .bind(&element.description)
        .execute(&mut *tx)
        .await?;
        let action = if before.is_some() { "update" } else { "create" };
        let before = before.as_ref().map(to_json).transpose()?;
        log_change(
            &mut tx,
            &mut head,
            actor,
            "element",
            element.id.as_str(),
            action,
            before,
            Some(to_json(element)?),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get_element(&self, id_or_name: &str) -> Result<Option<DataElement>> {
        sqlx::query(
            "SELECT id, name, name_en, standard, data_type, validator, default_category, \
             default_grade, description FROM data_elements WHERE id = $1 OR name = $2",
        )
        .bind(id_or_name)
        .bind(id_or_name)
        .fetch_optional(&self.pool)
        .await?
        .map(|r| element_from_row(&r))
        .transpose()
    }

    async fn list_elements(&self) -> Result<Vec<DataElement>> {
        sqlx::query(
            "SELECT id, name, name_en, standard, data_type, validator, default_category, \
             default_grade, description FROM data_elements ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(element_from_row)
        .collect()
    }

    async fn element_bindings(&self, id_or_name: &str) -> Result<ElementBindings> {
        let element = self
            .get_element(id_or_name)
            .await?
            .ok_or_else(|| CatalogError::not_found("data element", id_or_name))?;
        let rows = sqlx::query(
            "SELECT c.resource_id, r.name AS resource_name, c.name AS column_name, r.provider_id, \
             o.name AS owner_name, c.binding FROM columns c JOIN resources r ON r.id = c.resource_id \
             JOIN org_units o ON o.id = r.provider_id \
             WHERE c.element_id = $1 ORDER BY c.resource_id, c.name",
        )
        .bind(element.id.as_str())
        .fetch_all(&self.pool)
        .await?;
        let mut source = None;
        let mut replicas = Vec::new();
        for row in &rows {
            let role: Option<String> = row.try_get("binding")?;
            match role.as_deref() {
                Some("source") => source = Some(binding_from_row(row, BindingRole::Source)?),
                _ => replicas.push(binding_from_row(row, BindingRole::Replica)?),
            }
        }
        Ok(ElementBindings {
            element,
            source,
            replicas,
        })
    }

    async fn coverage(&self) -> Result<Coverage> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM data_elements) AS elements, \
             (SELECT COUNT(DISTINCT element_id) FROM columns WHERE binding = 'source') AS with_source",
        )
        .fetch_one(&self.pool)
        .await?;
        let elements: i64 = row.try_get("elements")?;
        let with_source: i64 = row.try_get("with_source")?;
        let ratio = if elements == 0 {
            0.0
        } else {
            with_source as f64 / elements as f64
        };
        Ok(Coverage {
            elements,
            with_source,
            ratio,
        })
    }

    async fn register_resource(&self, actor: &Actor, new: &NewResource) -> Result<Resource> {
        let (mut tx, mut head) = self.begin_write().await?;
        let resource = insert_resource(&mut tx, &mut head, actor, new).await?;
        tx.commit().await?;
        Ok(resource)
    }

    async fn register_resources(&self, actor: &Actor, new: &[NewResource]) -> Result<usize> {
        let (mut tx, mut head) = self.begin_write().await?;
        for resource in new {
            insert_resource(&mut tx, &mut head, actor, resource).await?;
        }
        tx.commit().await?;
        Ok(new.len())
    }

    async fn get_resource(&self, id: &ResourceId) -> Result<Option<ResourceDetail>> {
        // Three independent reads on three pooled connections, so the latency is the slowest
        // one rather than the sum.
        let resource_sql = format!(
            "SELECT {RESOURCE_COLUMNS}, (SELECT name FROM org_units o WHERE o.id = provider_id) \
             AS provider_name FROM resources WHERE id = $1"
        );
        let columns_sql = format!(
            "SELECT {COLUMN_COLUMNS} FROM columns WHERE resource_id = $1 ORDER BY position"
        );
        let (row, columns, tables) = tokio::try_join!(
            sqlx::query(AssertSqlSafe(resource_sql))
                .bind(id.as_str())
                .fetch_optional(&self.pool),
            sqlx::query(AssertSqlSafe(columns_sql))
                .bind(id.as_str())
                .fetch_all(&self.pool),
            sqlx::query(
                "SELECT resource_id, name, path, location, version, row_count, schema_json, \
                 partition_columns, last_update FROM tables WHERE resource_id = $1 ORDER BY name",
            )
            .bind(id.as_str())
            .fetch_all(&self.pool),
        )?;
        let Some(row) = row else { return Ok(None) };
        let resource = resource_from_row(&row)?;
        let provider_name: String = row.try_get("provider_name")?;
        let columns = columns
            .iter()
            .map(column_from_row)
            .collect::<Result<Vec<_>>>()?;
        let tables = tables
            .iter()
            .map(table_from_row)
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(ResourceDetail {
            resource,
            provider_name,
            columns,
            tables,
        }))
    }

    async fn list_resources(&self, filter: &ResourceFilter, page: Page) -> Result<Paged<Resource>> {
        let mut conditions = Vec::new();
        let mut args: Vec<String> = Vec::new();
        if let Some(provider) = &filter.provider {
            args.push(provider.to_string());
            conditions.push(format!("provider_id = ${}", args.len()));
        }
        if let Some(tier) = filter.tier {
            args.push(tier.as_code().to_owned());
            conditions.push(format!("tier = ${}", args.len()));
        }
        if let Some(open) = filter.open_attr {
            args.push(open.as_code().to_owned());
            conditions.push(format!("open_attr = ${}", args.len()));
        }
        let where_clause = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        let mut count = sqlx::query(AssertSqlSafe(format!(
            "SELECT COUNT(*) AS n FROM resources{where_clause}"
        )));
        for a in &args {
            count = count.bind(a.clone());
        }
        let total: i64 = count.fetch_one(&self.pool).await?.try_get("n")?;
        let limit = page.limit.clamp(1, 1000);
        let offset = page.offset.max(0);
        let mut query = sqlx::query(AssertSqlSafe(format!(
            "SELECT {RESOURCE_COLUMNS} FROM resources{where_clause} ORDER BY id LIMIT ${} OFFSET ${}",
            args.len() + 1,
            args.len() + 2
        )));
        for a in &args {
            query = query.bind(a.clone());
        }
        let items = query
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(resource_from_row)
            .collect::<Result<Vec<_>>>()?;
        Ok(Paged {
            items,
            total,
            offset,
            limit,
        })
    }

    async fn set_attributes(
        &self,
        actor: &Actor,
        id: &ResourceId,
        change: &AttributeChange,
    ) -> Result<Resource> {
        let (mut tx, mut head) = self.begin_write().await?;
        let before = fetch_resource(&mut tx, id).await?;
        let mut after = before.clone();
        if let Some(a) = change.share_attr {
            after.share_attr = a;
        }
        if let Some(c) = &change.share_conditions {
            after.share_conditions = c.clone();
        }
        if let Some(a) = change.open_attr {
            after.open_attr = a;
        }
        if let Some(c) = &change.open_conditions {
            after.open_conditions = c.clone();
        }
        let columns = fetch_columns(&mut tx, id).await?;
        rules::check_open_attr(id, after.open_attr, &columns)?;
        after.updated_at = now();
        sqlx::query(
            "UPDATE resources SET share_attr = $1, share_conditions = $2, open_attr = $3, \
             open_conditions = $4, updated_at = $5 WHERE id = $6",
        )
        .bind(after.share_attr.as_code())
        .bind(after.share_conditions.clone())
        .bind(after.open_attr.as_code())
        .bind(after.open_conditions.clone())
        .bind(&after.updated_at)
        .bind(id.as_str())
        .execute(&mut *tx)
        .await?;
        log_change(
            &mut tx,
            &mut head,
            actor,
            "resource",
            id.as_str(),
            "set_attributes",
            Some(to_json(&before)?),
            Some(to_json(&after)?),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn bind_column(
        &self,
        actor: &Actor,
        resource: &ResourceId,
        column: &str,
        element: &ElementId,
        role: BindingRole,
    ) -> Result<()> {
        let (mut tx, mut head) = self.begin_write().await?;
        bind_in_tx(&mut tx, &mut head, actor, resource, column, element, role).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn unbind_column(
        &self,
        actor: &Actor,
        resource: &ResourceId,
        column: &str,
    ) -> Result<()> {
        let (mut tx, mut head) = self.begin_write().await?;
        let before = find_column(&mut tx, resource, column).await?;
        let mut after = before.clone();
        after.element = None;
        after.binding = None;
        write_column_classification(&mut tx, resource, &after).await?;
        log_change(
            &mut tx,
            &mut head,
            actor,
            "column",
            &format!("{resource}.{column}"),
            "unbind",
            Some(to_json(&before)?),
            Some(to_json(&after)?),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn add_column(
        &self,
        actor: &Actor,
        resource: &ResourceId,
        column: &Column,
    ) -> Result<()> {
        let (mut tx, mut head) = self.begin_write().await?;
        fetch_resource(&mut tx, resource).await?;
        let exists: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM columns WHERE resource_id = $1 AND name = $2")
                .bind(resource.as_str())
                .bind(&column.name)
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
        if exists > 0 {
            return Err(CatalogError::AlreadyExists {
                kind: "column",
                id: format!("{resource}.{}", column.name),
            });
        }
        let last: i64 = sqlx::query(
            "SELECT COALESCE(MAX(position), -1) AS last FROM columns WHERE resource_id = $1",
        )
        .bind(resource.as_str())
        .fetch_one(&mut *tx)
        .await?
        .try_get("last")?;
        let mut query = sqlx::query(
            "INSERT INTO columns (resource_id, position, name, title, data_type, nullable, is_key, \
             description, category, grade, element_id, binding) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        );
        query = query
            .bind(resource.as_str())
            .bind(last + 1)
            .bind(&column.name)
            .bind(&column.title)
            .bind(&column.data_type)
            .bind(i64::from(column.nullable))
            .bind(i64::from(column.is_key))
            .bind(&column.description)
            .bind(column.category.as_code())
            .bind(column.grade.as_code())
            .bind(Option::<String>::None)
            .bind(Option::<String>::None);
        query.execute(&mut *tx).await?;
        regrade(&mut tx, resource).await?;
        log_change(
            &mut tx,
            &mut head,
            actor,
            "column",
            &format!("{resource}.{}", column.name),
            "add",
            None,
            Some(to_json(column)?),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn classify_column(
        &self,
        actor: &Actor,
        resource: &ResourceId,
        column: &str,
        category: Category,
        grade: Grade,
    ) -> Result<()> {
        let (mut tx, mut head) = self.begin_write().await?;
        classify_in_tx(&mut tx, &mut head, actor, resource, column, category, grade).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn upsert_table(&self, actor: &Actor, table: &TableRecord) -> Result<()> {
        let (mut tx, mut head) = self.begin_write().await?;
        fetch_resource(&mut tx, &table.resource).await?;
        let before = sqlx::query(
            "SELECT resource_id, name, path, location, version, row_count, schema_json, \
             partition_columns, last_update FROM tables WHERE resource_id = $1 AND name = $2",
        )
        .bind(table.resource.as_str())
        .bind(&table.name)
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| table_from_row(&r))
        .transpose()?;
        sqlx::query(
            "INSERT INTO tables (resource_id, name, path, location, version, row_count, schema_json, \
             partition_columns, last_update) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (resource_id, name) DO UPDATE SET path = excluded.path, \
             location = excluded.location, version = excluded.version, row_count = excluded.row_count, \
             schema_json = excluded.schema_json, partition_columns = excluded.partition_columns, \
             last_update = excluded.last_update WHERE excluded.version >= tables.version",
        )
        .bind(table.resource.as_str())
        .bind(&table.name)
        .bind(&table.path)
        .bind(&table.location)
        .bind(table.version)
        .bind(table.row_count)
        .bind(&table.schema_json)
        .bind(to_json(&table.partition_columns)?)
        .bind(&table.last_update)
        .execute(&mut *tx)
        .await?;
        let action = if before.is_some() { "update" } else { "create" };
        // The schema is large and derivable from the table; the log keeps location and version.
        let summary = |t: &TableRecord| {
            serde_json::json!({"location": t.location, "version": t.version, "row_count": t.row_count})
                .to_string()
        };
        log_change(
            &mut tx,
            &mut head,
            actor,
            "table",
            &format!("{}.{}", table.resource, table.name),
            action,
            before.as_ref().map(summary),
            Some(summary(table)),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn add_suggestions(
        &self,
        actor: &Actor,
        new: &[NewSuggestion],
    ) -> Result<Vec<Suggestion>> {
        let (mut tx, mut head) = self.begin_write().await?;
        let mut next: i64 = sqlx::query("SELECT COALESCE(MAX(id), 0) AS m FROM suggestions")
            .fetch_one(&mut *tx)
            .await?
            .try_get("m")?;
        let mut out = Vec::with_capacity(new.len());
        for s in new {
            find_column(&mut tx, &s.resource, &s.column).await?;
            sqlx::query(
                "DELETE FROM suggestions WHERE resource_id = $1 AND column_name = $2 AND status = 'pending'",
            )
            .bind(s.resource.as_str())
            .bind(&s.column)
            .execute(&mut *tx)
            .await?;
            next += 1;
            sqlx::query(
                "INSERT INTO suggestions (id, resource_id, column_name, element_id, category, grade, \
                 confidence, evidence, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending')",
            )
            .bind(next)
            .bind(s.resource.as_str())
            .bind(&s.column)
            .bind(s.element.as_ref().map(|e| e.as_str().to_owned()))
            .bind(s.category.as_code())
            .bind(s.grade.as_code())
            .bind(s.confidence)
            .bind(&s.evidence)
            .execute(&mut *tx)
            .await?;
            log_change(
                &mut tx,
                &mut head,
                actor,
                "suggestion",
                &next.to_string(),
                "create",
                None,
                Some(to_json(s)?),
            )
            .await?;
            out.push(Suggestion {
                id: next,
                resource: s.resource.clone(),
                column: s.column.clone(),
                element: s.element.clone(),
                category: s.category,
                grade: s.grade,
                confidence: s.confidence,
                evidence: s.evidence.clone(),
                status: SuggestionStatus::Pending,
                decided_by: None,
            });
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn list_suggestions(
        &self,
        resource: Option<&ResourceId>,
        status: Option<SuggestionStatus>,
    ) -> Result<Vec<Suggestion>> {
        sqlx::query(
            "SELECT id, resource_id, column_name, element_id, category, grade, confidence, evidence, \
             status, decided_by FROM suggestions WHERE ($1 = '' OR resource_id = $2) \
             AND ($3 = '' OR status = $4) ORDER BY id",
        )
        .bind(resource.map(|r| r.to_string()).unwrap_or_default())
        .bind(resource.map(|r| r.to_string()).unwrap_or_default())
        .bind(status.map(|s| s.as_code()).unwrap_or_default())
        .bind(status.map(|s| s.as_code()).unwrap_or_default())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(suggestion_from_row)
        .collect()
    }

    async fn decide_suggestion(&self, actor: &Actor, id: i64, accept: bool) -> Result<Suggestion> {
        let (mut tx, mut head) = self.begin_write().await?;
        let row = sqlx::query(
            "SELECT id, resource_id, column_name, element_id, category, grade, confidence, evidence, \
             status, decided_by FROM suggestions WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| CatalogError::not_found("suggestion", id))?;
        let mut s = suggestion_from_row(&row)?;
        if s.status != SuggestionStatus::Pending {
            return Err(CatalogError::Invalid {
                what: format!("suggestion {id}"),
                reason: format!("it was already {}", s.status.label()),
            });
        }
        if accept {
            classify_in_tx(
                &mut tx,
                &mut head,
                actor,
                &s.resource,
                &s.column,
                s.category,
                s.grade,
            )
            .await?;
            let column = find_column(&mut tx, &s.resource, &s.column).await?;
            if let (Some(element), None) = (&s.element, &column.element) {
                // The first column to carry an element becomes its source; later ones are
                // replicas (一数一源). A data officer can re-bind explicitly.
                let role = if fetch_source(&mut tx, element).await?.is_some() {
                    BindingRole::Replica
                } else {
                    BindingRole::Source
                };
                bind_in_tx(
                    &mut tx,
                    &mut head,
                    actor,
                    &s.resource,
                    &s.column,
                    element,
                    role,
                )
                .await?;
            }
        }
        s.status = if accept {
            SuggestionStatus::Accepted
        } else {
            SuggestionStatus::Rejected
        };
        s.decided_by = Some(PrincipalId::new(actor.0.clone()));
        sqlx::query("UPDATE suggestions SET status = $1, decided_by = $2 WHERE id = $3")
            .bind(s.status.as_code())
            .bind(&actor.0)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        log_change(
            &mut tx,
            &mut head,
            actor,
            "suggestion",
            &id.to_string(),
            s.status.as_code(),
            None,
            Some(to_json(&s)?),
        )
        .await?;
        tx.commit().await?;
        Ok(s)
    }

    async fn search_documents(
        &self,
        after: Option<&ResourceId>,
        limit: i64,
    ) -> Result<Vec<SearchDocument>> {
        let rows = sqlx::query(
            "SELECT r.id, r.name, r.abstract, o.name AS provider_name FROM resources r \
             JOIN org_units o ON o.id = r.provider_id WHERE r.id > $1 ORDER BY r.id LIMIT $2",
        )
        .bind(after.map(|a| a.to_string()).unwrap_or_default())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        search_docs_from_rows(&self.pool, rows).await
    }

    async fn search_documents_for(&self, ids: &[ResourceId]) -> Result<Vec<SearchDocument>> {
        let unique: BTreeSet<&ResourceId> = ids.iter().collect();
        let mut out = Vec::new();
        for id in unique {
            let rows = sqlx::query(
                "SELECT r.id, r.name, r.abstract, o.name AS provider_name FROM resources r \
                 JOIN org_units o ON o.id = r.provider_id WHERE r.id = $1",
            )
            .bind(id.as_str())
            .fetch_all(&self.pool)
            .await?;
            out.extend(search_docs_from_rows(&self.pool, rows).await?);
        }
        Ok(out)
    }

    async fn upsert_job(&self, actor: &Actor, job: &IngestJob) -> Result<()> {
        rules::check_identifier("job id", job.id.as_str())?;
        let (mut tx, mut head) = self.begin_write().await?;
        fetch_resource(&mut tx, &job.resource).await?;
        let before = sqlx::query("SELECT spec FROM ingest_jobs WHERE id = $1")
            .bind(job.id.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.try_get::<String, _>("spec"))
            .transpose()?;
        let at = now();
        sqlx::query(
            "INSERT INTO ingest_jobs (id, resource_id, table_name, spec, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET \
             resource_id = excluded.resource_id, table_name = excluded.table_name, \
             spec = excluded.spec, updated_at = excluded.updated_at",
        )
        .bind(job.id.as_str())
        .bind(job.resource.as_str())
        .bind(&job.table)
        .bind(&job.spec)
        .bind(&at)
        .bind(&at)
        .execute(&mut *tx)
        .await?;
        let action = if before.is_some() { "update" } else { "create" };
        log_change(
            &mut tx,
            &mut head,
            actor,
            "job",
            job.id.as_str(),
            action,
            before,
            Some(job.spec.clone()),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get_job(&self, id: &JobId) -> Result<Option<IngestJob>> {
        sqlx::query(
            "SELECT id, resource_id, table_name, spec, created_at, updated_at FROM ingest_jobs WHERE id = $1",
        )
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await?
        .map(|r| job_from_row(&r))
        .transpose()
    }

    async fn list_jobs(&self) -> Result<Vec<IngestJob>> {
        sqlx::query(
            "SELECT id, resource_id, table_name, spec, created_at, updated_at FROM ingest_jobs ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(job_from_row)
        .collect()
    }

    async fn begin_run(&self, job: &JobId) -> Result<IngestRun> {
        let (mut tx, _head) = self.begin_write().await?;
        if sqlx::query("SELECT id FROM ingest_jobs WHERE id = $1")
            .bind(job.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .is_none()
        {
            return Err(CatalogError::not_found("ingest job", job));
        }
        let unfinished = sqlx::query(AssertSqlSafe(format!(
            "SELECT {RUN_COLUMNS} FROM ingest_runs WHERE job_id = $1 AND status = 'running' ORDER BY run DESC LIMIT 1"
        )))
        .bind(job.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = unfinished {
            let run = run_from_row(&row)?;
            tx.commit().await?;
            return Ok(run);
        }
        let next: i64 =
            sqlx::query("SELECT COALESCE(MAX(run), 0) + 1 AS n FROM ingest_runs WHERE job_id = $1")
                .bind(job.as_str())
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
        let run = IngestRun {
            job: job.clone(),
            run: next,
            status: RunStatus::Running,
            started_at: now(),
            finished_at: None,
            rows_read: 0,
            rows_written: 0,
            rows_quarantined: 0,
            bytes: 0,
            duration_ms: 0,
            table_version: None,
            quarantine_version: None,
            rows_flagged: 0,
            flag_version: None,
            inputs: Vec::new(),
            error: None,
        };
        sqlx::query(
            "INSERT INTO ingest_runs (job_id, run, status, started_at, rows_read, rows_written, \
             rows_quarantined, bytes, duration_ms, inputs) VALUES ($1, $2, 'running', $3, 0, 0, 0, 0, 0, '[]')",
        )
        .bind(job.as_str())
        .bind(next)
        .bind(&run.started_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(run)
    }

    async fn finish_run(&self, run: &IngestRun) -> Result<()> {
        let (mut tx, _head) = self.begin_write().await?;
        sqlx::query(
            "UPDATE ingest_runs SET status = $1, finished_at = $2, rows_read = $3, rows_written = $4, \
             rows_quarantined = $5, bytes = $6, duration_ms = $7, table_version = $8, \
             quarantine_version = $9, inputs = $10, error = $11, rows_flagged = $12, \
             flag_version = $13 WHERE job_id = $14 AND run = $15",
        )
        .bind(run.status.as_code())
        .bind(run.finished_at.clone().unwrap_or_else(now))
        .bind(run.rows_read)
        .bind(run.rows_written)
        .bind(run.rows_quarantined)
        .bind(run.bytes)
        .bind(run.duration_ms)
        .bind(run.table_version)
        .bind(run.quarantine_version)
        .bind(to_json(&run.inputs)?)
        .bind(run.error.clone())
        .bind(run.rows_flagged)
        .bind(run.flag_version)
        .bind(run.job.as_str())
        .bind(run.run)
        .execute(&mut *tx)
        .await?;
        if run.status == RunStatus::Succeeded {
            // Every landed input: files by checksum, source table versions, watermarks.
            for input in &run.inputs {
                sqlx::query(
                    "INSERT INTO landed_files (job_id, path, size, checksum, run) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (job_id, path, checksum) DO NOTHING",
                )
                .bind(run.job.as_str())
                .bind(&input.name)
                .bind(input.size as i64)
                .bind(&input.checksum)
                .bind(run.run)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn list_runs(&self, job: &JobId, limit: i64) -> Result<Vec<IngestRun>> {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT {RUN_COLUMNS} FROM ingest_runs WHERE job_id = $1 ORDER BY run DESC LIMIT $2"
        )))
        .bind(job.as_str())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(run_from_row)
        .collect()
    }

    async fn upsert_quality_rule(&self, actor: &Actor, rule: &QualityRuleRecord) -> Result<()> {
        rules::check_identifier("rule id", &rule.id)?;
        let (mut tx, mut head) = self.begin_write().await?;
        if let Some(resource) = &rule.resource {
            fetch_resource(&mut tx, resource).await?;
        }
        let before = sqlx::query("SELECT spec FROM quality_rules WHERE id = $1")
            .bind(&rule.id)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.try_get::<String, _>("spec"))
            .transpose()?;
        let at = now();
        sqlx::query(
            "INSERT INTO quality_rules (id, resource_id, element_id, spec, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET \
             resource_id = excluded.resource_id, element_id = excluded.element_id, \
             spec = excluded.spec, updated_at = excluded.updated_at",
        )
        .bind(&rule.id)
        .bind(rule.resource.as_ref().map(|r| r.as_str().to_owned()))
        .bind(rule.element.as_ref().map(|e| e.as_str().to_owned()))
        .bind(&rule.spec)
        .bind(&at)
        .bind(&at)
        .execute(&mut *tx)
        .await?;
        let action = if before.is_some() { "update" } else { "create" };
        log_change(
            &mut tx,
            &mut head,
            actor,
            "quality_rule",
            &rule.id,
            action,
            before,
            Some(rule.spec.clone()),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_quality_rules(&self) -> Result<Vec<QualityRuleRecord>> {
        sqlx::query(
            "SELECT id, resource_id, element_id, spec, created_at, updated_at FROM quality_rules \
             ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(quality_rule_from_row)
        .collect()
    }

    async fn delete_quality_rule(&self, actor: &Actor, id: &str) -> Result<()> {
        let (mut tx, mut head) = self.begin_write().await?;
        let before = sqlx::query("SELECT spec FROM quality_rules WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.try_get::<String, _>("spec"))
            .transpose()?
            .ok_or_else(|| CatalogError::not_found("quality rule", id))?;
        sqlx::query("DELETE FROM quality_rules WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        log_change(
            &mut tx,
            &mut head,
            actor,
            "quality_rule",
            id,
            "delete",
            Some(before),
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn record_quality_results(
        &self,
        results: &[QualityResult],
        metrics: &[QualityMetric],
    ) -> Result<i64> {
        quality_loop::record_evaluation(self, results, metrics).await
    }

    async fn quality_metrics(&self, resource: &ResourceId) -> Result<Vec<QualityMetric>> {
        quality_loop::metrics(self, resource).await
    }

    async fn open_incidents(&self, new: &[QualityIncident]) -> Result<Vec<QualityIncident>> {
        quality_loop::open_incidents(self, new).await
    }

    async fn list_incidents(
        &self,
        resource: Option<&ResourceId>,
        open_only: bool,
    ) -> Result<Vec<QualityIncident>> {
        quality_loop::list_incidents(self, resource, open_only).await
    }

    async fn resolve_incident(&self, actor: &Actor, id: i64) -> Result<QualityIncident> {
        quality_loop::resolve_incident(self, actor, id).await
    }

    async fn file_objection(&self, actor: &Actor, new: &NewObjection) -> Result<Objection> {
        quality_loop::file_objection(self, actor, new).await
    }

    async fn get_objection(&self, id: i64) -> Result<Option<Objection>> {
        quality_loop::get_objection(&self.pool, id).await
    }

    async fn list_objections(
        &self,
        owner: Option<&OrgId>,
        status: Option<ObjectionStatus>,
    ) -> Result<Vec<Objection>> {
        quality_loop::list_objections(self, owner, status).await
    }

    async fn decide_objection(
        &self,
        actor: &Actor,
        id: i64,
        status: ObjectionStatus,
        reason: Option<&str>,
        table_version: Option<i64>,
    ) -> Result<Objection> {
        quality_loop::decide_objection(self, actor, id, status, reason, table_version).await
    }

    async fn quality_results(
        &self,
        resource: Option<&ResourceId>,
        latest: bool,
    ) -> Result<Vec<QualityResult>> {
        let mut sql = format!("SELECT {QUALITY_RESULT_COLUMNS} FROM quality_results r WHERE 1 = 1");
        if resource.is_some() {
            sql.push_str(" AND r.resource_id = $1");
        }
        if latest {
            sql.push_str(
                " AND r.evaluation = (SELECT MAX(l.evaluation) FROM quality_results l \
                 WHERE l.rule_id = r.rule_id AND l.resource_id = r.resource_id)",
            );
        }
        sql.push_str(" ORDER BY r.evaluation, r.resource_id, r.rule_id");
        let mut query = sqlx::query(AssertSqlSafe(sql));
        if let Some(resource) = resource {
            query = query.bind(resource.as_str());
        }
        query
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(quality_result_from_row)
            .collect()
    }

    async fn landed_files(&self, job: &JobId) -> Result<Vec<(String, i64, String)>> {
        sqlx::query(
            "SELECT path, size, checksum FROM landed_files WHERE job_id = $1 ORDER BY run, path",
        )
        .bind(job.as_str())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.try_get("path")?,
                r.try_get("size")?,
                r.try_get("checksum")?,
            ))
        })
        .collect()
    }

    async fn changes_since(&self, after_seq: i64, limit: i64) -> Result<Vec<ChangeEvent>> {
        sqlx::query(
            "SELECT seq, at, actor, entity_kind, entity_id, action, before_state, after_state, \
             prev_hash, hash FROM change_log WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after_seq)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(change_from_row)
        .collect()
    }

    async fn head_seq(&self) -> Result<i64> {
        Ok(
            sqlx::query("SELECT COALESCE(MAX(seq), 0) AS s FROM change_log")
                .fetch_one(&self.pool)
                .await?
                .try_get("s")?,
        )
    }

    async fn create_grant(&self, actor: &Actor, new: &NewGrant) -> Result<Grant> {
        governance::create_grant(self, actor, new).await
    }

    async fn get_grant(&self, id: i64) -> Result<Option<Grant>> {
        governance::get_grant(self, id).await
    }

    async fn list_grants(&self, resource: Option<&ResourceId>) -> Result<Vec<Grant>> {
        governance::list_grants(self, resource).await
    }

    async fn grants_for(&self, principal: &Principal) -> Result<Vec<Grant>> {
        governance::grants_for(self, principal).await
    }

    async fn revoke_grant(&self, actor: &Actor, id: i64) -> Result<Grant> {
        governance::revoke_grant(self, actor, id).await
    }

    async fn upsert_policy(
        &self,
        actor: &Actor,
        id: &str,
        description: &str,
        policy: &str,
    ) -> Result<CustomPolicy> {
        governance::upsert_policy(self, actor, id, description, policy).await
    }

    async fn list_policies(&self) -> Result<Vec<CustomPolicy>> {
        governance::list_policies(self).await
    }

    async fn delete_policy(&self, actor: &Actor, id: &str) -> Result<()> {
        governance::delete_policy(self, actor, id).await
    }

    async fn append_audit(&self, record: &NewAuditRecord) -> Result<AuditRecord> {
        governance::append_audit(self, record).await
    }

    async fn audit_records(&self, after_seq: i64, limit: i64) -> Result<Vec<AuditRecord>> {
        governance::audit_records(self, after_seq, limit).await
    }

    async fn verify_audit_log(&self) -> Result<ChainReport> {
        governance::verify_audit_log(self).await
    }

    async fn verify_change_log(&self) -> Result<ChainReport> {
        let mut verifier = ChainVerifier::default();
        let mut after = 0;
        loop {
            let batch = self.changes_since(after, 5000).await?;
            let Some(last) = batch.last() else { break };
            after = last.seq;
            batch.iter().for_each(|e| verifier.feed(e));
        }
        let (entries, first_broken, head) = verifier.finish();
        Ok(ChainReport {
            entries,
            first_broken,
            head,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn rejects_unknown_url_scheme() {
        let err = SqlCatalogStore::connect("mysql://x").await.unwrap_err();
        assert!(err.to_string().contains("neither sqlite"), "{err}");
    }
}

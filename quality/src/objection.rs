//! Objections (数据纠错): the loop in which users report a wrong value and the owning
//! department corrects it.
//!
//! A user who can see a record files an objection naming the record by its key, the column,
//! the value they believe is right and their evidence; it lands in the inbox of the department
//! that provides the resource. The owner accepts it — the correction is committed to the Delta
//! table as its own version (transaction `zhongshu-objection:ID`, so a retried acceptance never
//! applies twice) and the objection links that version — or rejects it with a reason. Open
//! objections and their age count against the department in the ranking ([`crate::score`]).
//!
//! Who may do what is Cedar's to decide, like every other access ([`zhongshu_policies::Decisions`]):
//! filing needs `read` and `file_objection` on the resource, and the record is looked up
//! through the filer's own governed session, so a record its row filter hides, or a key
//! column it sees masked or not at all, answers exactly like a record that does not exist;
//! a resource it may not discover answers like a missing one. Reading an objection is
//! `read_objection` (the inbox's department, the filer, administrators and CDOs by the base
//! policies), deciding it `decide_objection` (the owner's data officers and administrators).
//! Key columns cannot be corrected this way (a record's identity is the source department's
//! to change). Accepting commits through the lake, after the system session (audited as
//! `system:objection:ID`) checked the record is still there.

use crate::evaluate::{QualityError, literal, quote};
use crate::views::discoverable;
use std::collections::BTreeMap;
use zhongshu_catalog::{
    Actor, CatalogError, NewObjection, Objection, ObjectionStatus, Principal, ResourceDetail,
    ResourceId,
};
use zhongshu_engine::{ClientInfo, Core};
use zhongshu_policies::{Action, Decisions, table_name};

fn refused(what: String) -> QualityError {
    QualityError::Refused(what)
}

fn no_resource(id: &ResourceId) -> QualityError {
    QualityError::Catalog(CatalogError::NotFound {
        kind: "resource",
        id: id.to_string(),
    })
}

fn no_objection(id: i64) -> QualityError {
    QualityError::Catalog(CatalogError::NotFound {
        kind: "objection",
        id: id.to_string(),
    })
}

fn table_path(detail: &ResourceDetail, table: &str) -> Result<String, QualityError> {
    detail
        .tables
        .iter()
        .find(|t| t.name == table)
        .map(|t| t.path.clone())
        .ok_or_else(|| {
            QualityError::Rule(format!(
                "resource {} has no table `{table}`",
                detail.resource.id
            ))
        })
}

fn key_condition(key: &BTreeMap<String, String>) -> String {
    key.iter()
        .map(|(k, v)| format!("CAST({} AS VARCHAR) = {}", quote(k), literal(v)))
        .collect::<Vec<_>>()
        .join(" AND ")
}

fn first_count(batches: &[datafusion::arrow::array::RecordBatch]) -> i64 {
    use datafusion::arrow::array::AsArray;
    batches
        .first()
        .filter(|b| b.num_rows() > 0)
        .map(|b| {
            b.column(0)
                .as_primitive::<datafusion::arrow::datatypes::Int64Type>()
                .value(0)
        })
        .unwrap_or(0)
}

/// Whether `principal` sees a record with `key` in the table at `path`, asked through its own
/// governed session (and so audited like any of its statements). A key column it cannot see,
/// or sees masked, matches nothing; any refusal of the lookup counts as no record.
async fn sees_record(
    core: &Core,
    principal: &Principal,
    client: &ClientInfo,
    path: &str,
    key: &BTreeMap<String, String>,
) -> Result<bool, QualityError> {
    let (schema, name) = table_name(path);
    let session = core
        .query()
        .open(principal.clone(), None, client.clone())
        .await?;
    let sql = format!(
        "SELECT COUNT(*) FROM {}.{} WHERE {}",
        quote(&schema),
        quote(&name),
        key_condition(key)
    );
    Ok(match session.query(&sql).await {
        Ok((_, batches)) => first_count(&batches) > 0,
        Err(zhongshu_engine::EngineError::Catalog(e)) => return Err(e.into()),
        Err(_) => false,
    })
}

/// Files an objection as `principal`, who asks from `client` (an address, or `cli`): it must be
/// able to read the resource and see the record. The record is looked up by the key the filer
/// gives, which counts against its budget of lookups by value ([`zhongshu_engine::probing`]).
pub async fn file(
    core: &Core,
    principal: &Principal,
    client: &str,
    filed: &NewObjection,
) -> Result<Objection, QualityError> {
    let decisions = core.query().decisions(principal, None).await?;
    let detail = discoverable(core, &decisions, &filed.resource).await?;
    if !decisions.allows(&filed.resource, Action::Read) {
        return Err(refused(format!(
            "{} cannot read the records of {}; apply to {} for a grant first",
            principal.id, filed.resource, detail.resource.provider
        )));
    }
    if !decisions.allows(&filed.resource, Action::FileObjection) {
        return Err(refused(format!(
            "a policy does not let {} file objections on {}",
            principal.id, filed.resource
        )));
    }
    let path = table_path(&detail, &filed.table)?;
    let keys: Vec<&str> = detail
        .columns
        .iter()
        .filter(|c| c.is_key)
        .map(|c| c.name.as_str())
        .collect();
    if keys.contains(&filed.column.as_str()) {
        return Err(QualityError::Rule(format!(
            "`{}` is a key column: a record's identity is corrected by its source department, not by an objection",
            filed.column
        )));
    }
    if keys.is_empty() || keys.iter().any(|k| !filed.record_key.contains_key(*k)) {
        return Err(QualityError::Rule(format!(
            "name the record by its key: {}",
            if keys.is_empty() {
                "the resource has no key items, so its records cannot be named".into()
            } else {
                keys.join(", ")
            }
        )));
    }
    let client = ClientInfo::answering(client, "workflow");
    core.query()
        .look_up_by_value(
            principal,
            &client,
            &format!(
                "objection key lookup on {} {}",
                filed.resource,
                serde_json::to_string(&filed.record_key).unwrap_or_default()
            ),
        )
        .await?;
    if !sees_record(core, principal, &client, &path, &filed.record_key).await? {
        return Err(QualityError::Rule(format!(
            "{} has no record with key {} that you can see",
            filed.resource,
            serde_json::to_string(&filed.record_key).unwrap_or_default()
        )));
    }
    Ok(core
        .store()
        .file_objection(&Actor(principal.id.to_string()), filed)
        .await?)
}

/// The objections `principal` may read, newest first, optionally of one status.
pub async fn list(
    core: &Core,
    principal: &Principal,
    status: Option<ObjectionStatus>,
) -> Result<Vec<Objection>, QualityError> {
    let all = core.store().list_objections(None, status).await?;
    let mut decisions = core.query().decisions(principal, None).await?;
    readable(&mut decisions, all)
}

/// Keeps of `objections` those the principal of `decisions` may read.
pub fn readable(
    decisions: &mut Decisions,
    objections: Vec<Objection>,
) -> Result<Vec<Objection>, QualityError> {
    decisions.add_objections(&objections)?;
    Ok(objections
        .into_iter()
        .filter(|o| shown(decisions, o))
        .map(|o| without_unreadable_values(decisions, o))
        .collect())
}

/// Whether the principal of `decisions` may see `objection`: it may read the objection and
/// discover its resource (an objection on a resource hidden from it does not exist for it).
fn shown(decisions: &Decisions, objection: &Objection) -> bool {
    decisions.allows_objection(objection, Action::ReadObjection)
        && decisions.allows(&objection.filed.resource, Action::Discover)
}

/// The objection with the record's key and values hidden unless the principal may read the
/// resource (a CDO supervising an inbox, a filer who has lost the grant).
fn without_unreadable_values(decisions: &Decisions, mut objection: Objection) -> Objection {
    if !decisions.allows(&objection.filed.resource, Action::Read) {
        for value in objection.filed.record_key.values_mut() {
            *value = "****".into();
        }
        objection.filed.current_value = objection.filed.current_value.map(|_| "****".into());
        objection.filed.proposed_value = "****".into();
    }
    objection
}

/// One objection, if `principal` may read it (a hidden one is missing).
pub async fn get(core: &Core, principal: &Principal, id: i64) -> Result<Objection, QualityError> {
    let (objection, decisions) = decidable(core, principal, id).await?;
    Ok(without_unreadable_values(&decisions, objection))
}

/// The objection `id` with `principal`'s decisions over it; missing unless it may read it.
async fn decidable(
    core: &Core,
    principal: &Principal,
    id: i64,
) -> Result<(Objection, Decisions), QualityError> {
    let objection = core
        .store()
        .get_objection(id)
        .await?
        .ok_or_else(|| no_objection(id))?;
    let mut decisions = core.query().decisions(principal, None).await?;
    decisions.add_objections(std::slice::from_ref(&objection))?;
    if !shown(&decisions, &objection) {
        return Err(no_objection(id));
    }
    Ok((objection, decisions))
}

async fn open_objection(
    core: &Core,
    principal: &Principal,
    id: i64,
) -> Result<Objection, QualityError> {
    let (objection, decisions) = decidable(core, principal, id).await?;
    if !decisions.allows_objection(&objection, Action::DecideObjection) {
        return Err(refused(format!(
            "objection {id} belongs to the inbox of {}; {} cannot decide it",
            objection.owner, principal.id
        )));
    }
    if objection.status != ObjectionStatus::Open {
        return Err(QualityError::Rule(format!(
            "objection {id} was already {}",
            objection.status.as_code()
        )));
    }
    Ok(objection)
}

/// Accepts an objection as the owning department: commits the correction as a new table
/// version and links it.
pub async fn accept(
    core: &Core,
    principal: &Principal,
    id: i64,
    note: Option<&str>,
) -> Result<Objection, QualityError> {
    let objection = open_objection(core, principal, id).await?;
    let store = core.store();
    let lake = core.lake();
    let detail = store
        .get_resource(&objection.filed.resource)
        .await?
        .ok_or_else(|| no_resource(&objection.filed.resource))?;
    let path = table_path(&detail, &objection.filed.table)?;
    let key: Vec<(String, String)> = objection
        .filed
        .record_key
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let app = format!("zhongshu-objection:{id}");
    // A history (SCD2) table corrects only the current version of the record.
    let current_only = detail.tables.iter().any(|t| {
        t.name == objection.filed.table
            && t.schema_json
                .contains(&format!("\"{}\"", zhongshu_engine::VALID_TO))
    });
    // A retried acceptance whose correction already committed skips straight to the decision.
    if !lake.holds_transaction(&path, &app, 1).await? {
        let session = lake
            .system_session(&format!("objection:{id}"), &[("t", path.as_str())])
            .await?;
        let current = if current_only {
            format!(" AND {} IS NULL", quote(zhongshu_engine::VALID_TO))
        } else {
            String::new()
        };
        let sql = format!(
            "SELECT COUNT(*) FROM t WHERE {}{current}",
            key_condition(&objection.filed.record_key)
        );
        if first_count(&session.sql(&sql).await?) == 0 {
            return Err(QualityError::Rule(format!(
                "objection {id}: the record is no longer in {}; reject it with a reason",
                objection.filed.resource
            )));
        }
    }
    let version = lake
        .write_to(&path)
        .exactly_once(&app, 1)
        .correct(
            &key,
            &objection.filed.column,
            Some(&objection.filed.proposed_value),
            current_only,
        )
        .await?
        .version;
    let record = lake
        .table_record(&objection.filed.resource, &objection.filed.table, &path)
        .await?;
    let actor = Actor(principal.id.to_string());
    store.upsert_table(&actor, &record).await?;
    Ok(store
        .decide_objection(
            &actor,
            id,
            ObjectionStatus::Accepted,
            note,
            Some(version as i64),
        )
        .await?)
}

/// Rejects an objection as the owning department, with a reason.
pub async fn reject(
    core: &Core,
    principal: &Principal,
    id: i64,
    reason: &str,
) -> Result<Objection, QualityError> {
    open_objection(core, principal, id).await?;
    Ok(core
        .store()
        .decide_objection(
            &Actor(principal.id.to_string()),
            id,
            ObjectionStatus::Rejected,
            Some(reason),
            None,
        )
        .await?)
}

/// Days an objection has been (or was) open.
pub fn age_days(objection: &Objection, now: chrono::DateTime<chrono::Utc>) -> f64 {
    let filed = chrono::DateTime::parse_from_rfc3339(&objection.filed_at)
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or(now);
    let until = objection
        .decided_at
        .as_deref()
        .and_then(|d| chrono::DateTime::parse_from_rfc3339(d).ok())
        .map_or(now, |t| t.with_timezone(&chrono::Utc));
    (until - filed).num_seconds().max(0) as f64 / 86_400.0
}

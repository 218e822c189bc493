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
//! Who can see a record is decided here by catalog facts until governed access (Cedar
//! policies and grants) decides it for every door: the owning department, administrators and
//! CDOs; government principals (users and service accounts) for 无条件共享 resources; the
//! public and external recipients for 无条件开放 ones. Objections are decided by the owning
//! department's data officers or an administrator; key columns cannot be corrected this way
//! (a record's identity is the source department's to change).

use crate::evaluate::{QualityError, literal, quote};
use std::collections::BTreeMap;
use zhongshu_catalog::{
    Actor, CatalogStore, NewObjection, Objection, ObjectionStatus, OpenAttr, Principal,
    PrincipalKind, ResourceDetail, Role, ShareAttr,
};
use zhongshu_engine::Lake;

/// Whether `principal` may see the records of `resource`.
pub fn can_see(principal: &Principal, resource: &ResourceDetail) -> bool {
    let r = &resource.resource;
    if principal.org == r.provider
        || principal.has_role(Role::Admin)
        || principal.has_role(Role::Cdo)
    {
        return true;
    }
    match principal.kind {
        PrincipalKind::Public | PrincipalKind::External => r.open_attr == OpenAttr::Unconditional,
        PrincipalKind::User | PrincipalKind::Service => r.share_attr == ShareAttr::Unconditional,
    }
}

/// Whether `principal` decides objections on resources of `owner`: its data officers, or an
/// administrator.
pub fn decides(principal: &Principal, owner: &zhongshu_catalog::OrgId) -> bool {
    principal.has_role(Role::Admin)
        || (&principal.org == owner && principal.has_role(Role::DataOfficer))
}

/// Whether `principal` may read an objection: administrators and CDOs read all, others their
/// department's inbox and what they filed.
pub fn visible(principal: &Principal, objection: &Objection) -> bool {
    principal.has_role(Role::Admin)
        || principal.has_role(Role::Cdo)
        || objection.owner == principal.org
        || objection.filed_by == principal.id.as_str()
}

fn refused(what: String) -> QualityError {
    QualityError::Refused(what)
}

async fn resource_and_path(
    store: &dyn CatalogStore,
    filed: &NewObjection,
) -> Result<(ResourceDetail, String), QualityError> {
    let detail = store
        .get_resource(&filed.resource)
        .await?
        .ok_or_else(|| QualityError::Rule(format!("no resource {}", filed.resource)))?;
    let path = detail
        .tables
        .iter()
        .find(|t| t.name == filed.table)
        .map(|t| t.path.clone())
        .ok_or_else(|| {
            QualityError::Rule(format!(
                "resource {} has no table `{}`",
                filed.resource, filed.table
            ))
        })?;
    Ok((detail, path))
}

/// Counts the rows of the table at `path` whose key columns equal `key` (as text).
async fn matching_rows(
    lake: &Lake,
    path: &str,
    key: &BTreeMap<String, String>,
) -> Result<i64, QualityError> {
    let ctx = lake.internal_session(&[("t", path)]).await?;
    let condition = key
        .iter()
        .map(|(k, v)| format!("CAST({} AS VARCHAR) = {}", quote(k), literal(v)))
        .collect::<Vec<_>>()
        .join(" AND ");
    let batches = ctx
        .sql(&format!("SELECT COUNT(*) FROM t WHERE {condition}"))
        .await?
        .collect()
        .await?;
    use datafusion::arrow::array::AsArray;
    Ok(batches
        .first()
        .map(|b| {
            b.column(0)
                .as_primitive::<datafusion::arrow::datatypes::Int64Type>()
                .value(0)
        })
        .unwrap_or(0))
}

/// Files an objection as `principal`, after checking that they can see the record and that it
/// exists.
pub async fn file(
    store: &dyn CatalogStore,
    lake: &Lake,
    principal: &Principal,
    filed: &NewObjection,
) -> Result<Objection, QualityError> {
    let (detail, path) = resource_and_path(store, filed).await?;
    if !can_see(principal, &detail) {
        return Err(refused(format!(
            "{} cannot see the records of {}",
            principal.id, filed.resource
        )));
    }
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
    if matching_rows(lake, &path, &filed.record_key).await? == 0 {
        return Err(QualityError::Rule(format!(
            "{} has no record with key {}",
            filed.resource,
            serde_json::to_string(&filed.record_key).unwrap_or_default()
        )));
    }
    Ok(store
        .file_objection(&Actor(principal.id.to_string()), filed)
        .await?)
}

async fn open_objection(
    store: &dyn CatalogStore,
    principal: &Principal,
    id: i64,
) -> Result<Objection, QualityError> {
    let objection = store
        .get_objection(id)
        .await?
        .ok_or_else(|| QualityError::Rule(format!("no objection {id}")))?;
    if !decides(principal, &objection.owner) {
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
    store: &dyn CatalogStore,
    lake: &Lake,
    principal: &Principal,
    id: i64,
    note: Option<&str>,
) -> Result<Objection, QualityError> {
    let objection = open_objection(store, principal, id).await?;
    let (detail, path) = resource_and_path(store, &objection.filed).await?;
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
    if !lake.holds_transaction(&path, &app, 1).await?
        && matching_rows(lake, &path, &objection.filed.record_key).await? == 0
    {
        return Err(QualityError::Rule(format!(
            "objection {id}: the record is no longer in {}; reject it with a reason",
            objection.filed.resource
        )));
    }
    let (version, _) = lake
        .correct_value(
            &path,
            &key,
            &objection.filed.column,
            Some(&objection.filed.proposed_value),
            current_only,
            &app,
            1,
        )
        .await?;
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
    store: &dyn CatalogStore,
    principal: &Principal,
    id: i64,
    reason: &str,
) -> Result<Objection, QualityError> {
    open_objection(store, principal, id).await?;
    Ok(store
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

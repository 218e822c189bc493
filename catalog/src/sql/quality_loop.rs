//! The quality loop's tables: evaluations with their measured metrics, incidents, and
//! objections (数据纠错). Objections are logged changes like every catalog mutation; metrics and
//! incidents are history, appended outside the change log like quality results.

use super::quality::QUALITY_RESULT_COLUMNS;
use super::resources::{fetch_resource, find_column};
use super::{SqlCatalogStore, now, parse, to_json};
use crate::error::{CatalogError, Result};
use crate::ids::{OrgId, ResourceId};
use crate::model::{
    NewObjection, Objection, ObjectionStatus, QualityIncident, QualityMetric, QualityResult,
};
use crate::store::Actor;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, AssertSqlSafe, Row};

/// Appends one evaluation: its results and metrics under one new number.
pub(super) async fn record_evaluation(
    store: &SqlCatalogStore,
    results: &[QualityResult],
    metrics: &[QualityMetric],
) -> Result<i64> {
    let mut tx = store.begin_record().await?;
    // One numbering for both tables: an evaluation may record metrics and no results.
    let evaluation: i64 = sqlx::query(
        "SELECT CASE WHEN a > b THEN a + 1 ELSE b + 1 END AS n FROM (SELECT \
         (SELECT COALESCE(MAX(evaluation), 0) FROM quality_results) AS a, \
         (SELECT COALESCE(MAX(evaluation), 0) FROM quality_metrics) AS b) AS m",
    )
    .fetch_one(&mut *tx)
    .await?
    .try_get("n")?;
    for r in results {
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO quality_results ({}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            QUALITY_RESULT_COLUMNS
        )))
        .bind(evaluation)
        .bind(&r.rule)
        .bind(r.resource.as_str())
        .bind(r.column.clone())
        .bind(&r.kind)
        .bind(&r.dimension)
        .bind(&r.severity)
        .bind(&r.trigger)
        .bind(&r.evaluated_at)
        .bind(r.table_version)
        .bind(r.rows_checked)
        .bind(r.rows_failed)
        .bind(to_json(&r.examples)?)
        .execute(&mut *tx)
        .await?;
    }
    for m in metrics {
        sqlx::query(
            "INSERT INTO quality_metrics (evaluation, resource_id, metric, column_name, value, \
             measured_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(evaluation)
        .bind(m.resource.as_str())
        .bind(&m.metric)
        .bind(&m.column)
        .bind(m.value)
        .bind(&m.measured_at)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(evaluation)
}

pub(super) async fn metrics(
    store: &SqlCatalogStore,
    resource: &ResourceId,
) -> Result<Vec<QualityMetric>> {
    sqlx::query(
        "SELECT evaluation, resource_id, metric, column_name, value, measured_at \
         FROM quality_metrics WHERE resource_id = $1 ORDER BY evaluation, metric, column_name",
    )
    .bind(resource.as_str())
    .fetch_all(&store.pool)
    .await?
    .iter()
    .map(|row| {
        Ok(QualityMetric {
            evaluation: row.try_get("evaluation")?,
            resource: ResourceId::new(row.try_get::<String, _>("resource_id")?),
            metric: row.try_get("metric")?,
            column: row.try_get("column_name")?,
            value: row.try_get("value")?,
            measured_at: row.try_get("measured_at")?,
        })
    })
    .collect()
}

const INCIDENT_COLUMNS: &str = "id, resource_id, metric, column_name, observed, expected, low, \
    high, evaluation, detected_at, status, resolved_by, resolved_at";

fn incident_from_row(row: &AnyRow) -> Result<QualityIncident> {
    Ok(QualityIncident {
        id: row.try_get("id")?,
        resource: ResourceId::new(row.try_get::<String, _>("resource_id")?),
        metric: row.try_get("metric")?,
        column: row.try_get("column_name")?,
        observed: row.try_get("observed")?,
        expected: row.try_get("expected")?,
        low: row.try_get("low")?,
        high: row.try_get("high")?,
        evaluation: row.try_get("evaluation")?,
        detected_at: row.try_get("detected_at")?,
        status: row.try_get("status")?,
        resolved_by: row.try_get("resolved_by")?,
        resolved_at: row.try_get("resolved_at")?,
    })
}

pub(super) async fn open_incidents(
    store: &SqlCatalogStore,
    new: &[QualityIncident],
) -> Result<Vec<QualityIncident>> {
    let mut tx = store.begin_record().await?;
    let mut next: i64 = sqlx::query("SELECT COALESCE(MAX(id), 0) AS m FROM quality_incidents")
        .fetch_one(&mut *tx)
        .await?
        .try_get("m")?;
    let mut out = Vec::with_capacity(new.len());
    for i in new {
        next += 1;
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO quality_incidents ({INCIDENT_COLUMNS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'open', NULL, NULL)"
        )))
        .bind(next)
        .bind(i.resource.as_str())
        .bind(&i.metric)
        .bind(&i.column)
        .bind(i.observed)
        .bind(i.expected)
        .bind(i.low)
        .bind(i.high)
        .bind(i.evaluation)
        .bind(&i.detected_at)
        .execute(&mut *tx)
        .await?;
        out.push(QualityIncident {
            id: next,
            status: "open".into(),
            resolved_by: None,
            resolved_at: None,
            ..i.clone()
        });
    }
    tx.commit().await?;
    Ok(out)
}

pub(super) async fn list_incidents(
    store: &SqlCatalogStore,
    resource: Option<&ResourceId>,
    open_only: bool,
) -> Result<Vec<QualityIncident>> {
    let resource = resource.map(|r| r.to_string()).unwrap_or_default();
    sqlx::query(AssertSqlSafe(format!(
        "SELECT {INCIDENT_COLUMNS} FROM quality_incidents WHERE ($1 = '' OR resource_id = $2) \
         AND ($3 = 0 OR status = 'open') ORDER BY id DESC"
    )))
    .bind(resource.clone())
    .bind(resource)
    .bind(i64::from(open_only))
    .fetch_all(&store.pool)
    .await?
    .iter()
    .map(incident_from_row)
    .collect()
}

pub(super) async fn resolve_incident(
    store: &SqlCatalogStore,
    actor: &Actor,
    id: i64,
) -> Result<QualityIncident> {
    let mut tx = store.begin_logged().await?;
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {INCIDENT_COLUMNS} FROM quality_incidents WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| CatalogError::not_found("quality incident", id))?;
    let mut incident = incident_from_row(&row)?;
    if incident.status != "open" {
        return Err(CatalogError::Invalid {
            what: format!("incident {id}"),
            reason: "it is already resolved".into(),
        });
    }
    let at = now();
    sqlx::query(
        "UPDATE quality_incidents SET status = 'resolved', resolved_by = $1, resolved_at = $2 \
         WHERE id = $3",
    )
    .bind(&actor.0)
    .bind(&at)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    incident.status = "resolved".into();
    incident.resolved_by = Some(actor.0.clone());
    incident.resolved_at = Some(at);
    tx.log(
        actor,
        "quality_incident",
        &id.to_string(),
        "resolve",
        None,
        Some(to_json(&incident)?),
    )
    .await?;
    tx.commit().await?;
    Ok(incident)
}

const OBJECTION_COLUMNS: &str = "id, resource_id, table_name, owner_org, record_key, column_name, \
    current_value, proposed_value, evidence, filed_by, filed_at, status, decided_by, decided_at, \
    decision_reason, table_version";

fn objection_from_row(row: &AnyRow) -> Result<Objection> {
    let key: String = row.try_get("record_key")?;
    Ok(Objection {
        id: row.try_get("id")?,
        filed: NewObjection {
            resource: ResourceId::new(row.try_get::<String, _>("resource_id")?),
            table: row.try_get("table_name")?,
            record_key: serde_json::from_str(&key).map_err(CatalogError::corrupt)?,
            column: row.try_get("column_name")?,
            current_value: row.try_get("current_value")?,
            proposed_value: row.try_get("proposed_value")?,
            evidence: row.try_get("evidence")?,
        },
        owner: OrgId::new(row.try_get::<String, _>("owner_org")?),
        filed_by: row.try_get("filed_by")?,
        filed_at: row.try_get("filed_at")?,
        status: parse(&row.try_get::<String, _>("status")?, "objection status")?,
        decided_by: row.try_get("decided_by")?,
        decided_at: row.try_get("decided_at")?,
        decision_reason: row.try_get("decision_reason")?,
        table_version: row.try_get("table_version")?,
    })
}

pub(super) async fn file_objection(
    store: &SqlCatalogStore,
    actor: &Actor,
    new: &NewObjection,
) -> Result<Objection> {
    let invalid = |reason: &str| CatalogError::Invalid {
        what: "objection".into(),
        reason: reason.into(),
    };
    if new.record_key.is_empty() {
        return Err(invalid("name the record by its key columns"));
    }
    if new.proposed_value.trim().is_empty() {
        return Err(invalid("give the value you believe is right"));
    }
    if new.evidence.trim().is_empty() {
        return Err(invalid(
            "give evidence (a document number, a link or a description)",
        ));
    }
    let mut tx = store.begin_logged().await?;
    let resource = fetch_resource(&mut tx, &new.resource).await?;
    find_column(&mut tx, &new.resource, &new.column).await?;
    for key in new.record_key.keys() {
        let column = find_column(&mut tx, &new.resource, key).await?;
        if !column.is_key {
            return Err(invalid(&format!(
                "`{key}` is not a key column of {}",
                new.resource
            )));
        }
    }
    let id: i64 = sqlx::query("SELECT COALESCE(MAX(id), 0) + 1 AS n FROM objections")
        .fetch_one(&mut *tx)
        .await?
        .try_get("n")?;
    let objection = Objection {
        id,
        filed: new.clone(),
        owner: resource.provider,
        filed_by: actor.0.clone(),
        filed_at: now(),
        status: ObjectionStatus::Open,
        decided_by: None,
        decided_at: None,
        decision_reason: None,
        table_version: None,
    };
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO objections ({OBJECTION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
         $10, $11, 'open', NULL, NULL, NULL, NULL)"
    )))
    .bind(id)
    .bind(new.resource.as_str())
    .bind(&new.table)
    .bind(objection.owner.as_str())
    .bind(to_json(&new.record_key)?)
    .bind(&new.column)
    .bind(new.current_value.clone())
    .bind(&new.proposed_value)
    .bind(&new.evidence)
    .bind(&objection.filed_by)
    .bind(&objection.filed_at)
    .execute(&mut *tx)
    .await?;
    tx.log(
        actor,
        "objection",
        &id.to_string(),
        "file",
        None,
        Some(to_json(&objection)?),
    )
    .await?;
    tx.commit().await?;
    Ok(objection)
}

pub(super) async fn get_objection(pool: &AnyPool, id: i64) -> Result<Option<Objection>> {
    sqlx::query(AssertSqlSafe(format!(
        "SELECT {OBJECTION_COLUMNS} FROM objections WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await?
    .as_ref()
    .map(objection_from_row)
    .transpose()
}

pub(super) async fn list_objections(
    store: &SqlCatalogStore,
    owner: Option<&OrgId>,
    status: Option<ObjectionStatus>,
) -> Result<Vec<Objection>> {
    let owner = owner.map(|o| o.to_string()).unwrap_or_default();
    let status = status.map(|s| s.as_code()).unwrap_or_default();
    sqlx::query(AssertSqlSafe(format!(
        "SELECT {OBJECTION_COLUMNS} FROM objections WHERE ($1 = '' OR owner_org = $2) \
         AND ($3 = '' OR status = $4) ORDER BY id"
    )))
    .bind(owner.clone())
    .bind(owner)
    .bind(status)
    .bind(status)
    .fetch_all(&store.pool)
    .await?
    .iter()
    .map(objection_from_row)
    .collect()
}

pub(super) async fn decide_objection(
    store: &SqlCatalogStore,
    actor: &Actor,
    id: i64,
    status: ObjectionStatus,
    reason: Option<&str>,
    table_version: Option<i64>,
) -> Result<Objection> {
    let invalid = |reason: String| CatalogError::Invalid {
        what: format!("objection {id}"),
        reason,
    };
    match (status, reason, table_version) {
        (ObjectionStatus::Open, ..) => return Err(invalid("a decision accepts or rejects".into())),
        (ObjectionStatus::Accepted, _, None) => {
            return Err(invalid(
                "an accepted objection links the table version holding the correction".into(),
            ));
        }
        (ObjectionStatus::Rejected, None, _) => {
            return Err(invalid("a rejection needs a reason".into()));
        }
        (ObjectionStatus::Rejected, Some(r), _) if r.trim().is_empty() => {
            return Err(invalid("a rejection needs a reason".into()));
        }
        _ => {}
    }
    let mut tx = store.begin_logged().await?;
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {OBJECTION_COLUMNS} FROM objections WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| CatalogError::not_found("objection", id))?;
    let before = objection_from_row(&row)?;
    if before.status != ObjectionStatus::Open {
        return Err(invalid(format!(
            "it was already {}",
            before.status.as_code()
        )));
    }
    let after = Objection {
        status,
        decided_by: Some(actor.0.clone()),
        decided_at: Some(now()),
        decision_reason: reason.map(str::to_owned),
        table_version,
        ..before.clone()
    };
    sqlx::query(
        "UPDATE objections SET status = $1, decided_by = $2, decided_at = $3, \
         decision_reason = $4, table_version = $5 WHERE id = $6",
    )
    .bind(status.as_code())
    .bind(after.decided_by.clone())
    .bind(after.decided_at.clone())
    .bind(after.decision_reason.clone())
    .bind(table_version)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.log(
        actor,
        "objection",
        &id.to_string(),
        status.as_code(),
        Some(to_json(&before)?),
        Some(to_json(&after)?),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

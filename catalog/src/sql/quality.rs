//! Quality rules (change-logged) and the results of their evaluations.

use super::resources::fetch_resource;
use super::{SqlCatalogStore, now};
use crate::error::{CatalogError, Result};
use crate::ids::{ElementId, ResourceId};
use crate::model::{QualityResult, QualityRuleRecord};
use crate::rules;
use crate::store::Actor;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

pub(super) const QUALITY_RESULT_COLUMNS: &str = "evaluation, rule_id, resource_id, column_name, kind, \
    dimension, severity, trigger, evaluated_at, table_version, rows_checked, rows_failed, examples";

pub(super) fn quality_rule_from_row(row: &AnyRow) -> Result<QualityRuleRecord> {
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

pub(super) fn quality_result_from_row(row: &AnyRow) -> Result<QualityResult> {
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

pub(super) async fn upsert_quality_rule(
    store: &SqlCatalogStore,
    actor: &Actor,
    rule: &QualityRuleRecord,
) -> Result<()> {
    rules::check_identifier("rule id", &rule.id)?;
    let mut tx = store.begin_logged().await?;
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
    tx.log(
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

pub(super) async fn list_quality_rules(store: &SqlCatalogStore) -> Result<Vec<QualityRuleRecord>> {
    sqlx::query(
        "SELECT id, resource_id, element_id, spec, created_at, updated_at FROM quality_rules \
         ORDER BY id",
    )
    .fetch_all(&store.pool)
    .await?
    .iter()
    .map(quality_rule_from_row)
    .collect()
}

pub(super) async fn delete_quality_rule(
    store: &SqlCatalogStore,
    actor: &Actor,
    id: &str,
) -> Result<()> {
    let mut tx = store.begin_logged().await?;
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
    tx.log(actor, "quality_rule", id, "delete", Some(before), None)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn quality_results(
    store: &SqlCatalogStore,
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
        .fetch_all(&store.pool)
        .await?
        .iter()
        .map(quality_result_from_row)
        .collect()
}

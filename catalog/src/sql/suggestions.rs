//! Classification suggestions from discovery, and their review: accepting one classifies the
//! column and binds it to the suggested element (the first binding becomes the source).

use super::elements::{bind_in_tx, classify_in_tx, fetch_source};
use super::resources::find_column;
use super::{SqlCatalogStore, parse, to_json};
use crate::classification::{BindingRole, SuggestionStatus};
use crate::error::{CatalogError, Result};
use crate::ids::{ElementId, PrincipalId, ResourceId};
use crate::model::{NewSuggestion, Suggestion};
use crate::store::Actor;
use sqlx::Row;
use sqlx::any::AnyRow;

pub(super) fn suggestion_from_row(row: &AnyRow) -> Result<Suggestion> {
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

pub(super) async fn add_suggestions(
    store: &SqlCatalogStore,
    actor: &Actor,
    new: &[NewSuggestion],
) -> Result<Vec<Suggestion>> {
    if new.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = store.begin_logged().await?;
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
        tx.log(
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

pub(super) async fn list_suggestions(
    store: &SqlCatalogStore,
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
    .fetch_all(&store.pool)
    .await?
    .iter()
    .map(suggestion_from_row)
    .collect()
}

pub(super) async fn decide_suggestion(
    store: &SqlCatalogStore,
    actor: &Actor,
    id: i64,
    accept: bool,
) -> Result<Suggestion> {
    let mut tx = store.begin_logged().await?;
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
            actor,
            &s.resource,
            &s.column,
            s.category,
            s.grade,
            None,
        )
        .await?;
        let column = find_column(&mut tx, &s.resource, &s.column).await?;
        if let (Some(element), None) = (&s.element, &column.element) {
            // The first column to carry an element becomes its source; later ones are
            // replicas (一数一源). A data officer can re-bind explicitly.
            // … unless the responsibility list gives the element to another department.
            let responsible = super::responsibilities::fetch(&mut tx, element).await?;
            let provider = super::elements::provider_of(&mut tx, &s.resource).await?;
            let role = if fetch_source(&mut tx, element).await?.is_some()
                || responsible.is_some_and(|r| r.assigned.org != provider)
            {
                BindingRole::Replica
            } else {
                BindingRole::Source
            };
            bind_in_tx(&mut tx, actor, &s.resource, &s.column, element, role).await?;
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
    tx.log(
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

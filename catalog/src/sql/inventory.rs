//! Code lists and the system inventory: the district's shared vocabulary besides data elements.
//! Each write replaces the whole entity (a list with all its codes, a system with all its
//! resources) in one logged transaction, so a reader never sees half a list.

use super::{SqlCatalogStore, now, to_json};
use crate::codes::{CodeListSummary, CodeValue, NewCodeList};
use crate::error::{CatalogError, Result};
use crate::ids::{OrgId, ResourceId};
use crate::rules::check_identifier;
use crate::store::Actor;
use crate::systems::{InformationSystem, NewSystem};
use sqlx::AnyConnection;
use sqlx::Row;
use sqlx::any::AnyRow;

fn invalid(what: String, reason: &str) -> CatalogError {
    CatalogError::Invalid {
        what,
        reason: reason.to_owned(),
    }
}

const SUMMARY: &str = "SELECT l.id, l.name, l.standard, l.description, l.updated_by, l.updated_at, \
     (SELECT COUNT(*) FROM code_list_values v WHERE v.list_id = l.id) AS codes FROM code_lists l";

fn summary_from_row(row: &AnyRow) -> Result<CodeListSummary> {
    Ok(CodeListSummary {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        standard: row.try_get("standard")?,
        description: row.try_get("description")?,
        codes: row.try_get("codes")?,
        updated_by: row.try_get("updated_by")?,
        updated_at: row.try_get("updated_at")?,
    })
}

async fn fetch_summary(tx: &mut AnyConnection, id: &str) -> Result<Option<CodeListSummary>> {
    sqlx::query(sqlx::AssertSqlSafe(format!("{SUMMARY} WHERE l.id = $1")))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .map(|row| summary_from_row(&row))
        .transpose()
}

pub(super) async fn put_code_list(
    store: &SqlCatalogStore,
    actor: &Actor,
    list: &NewCodeList,
) -> Result<CodeListSummary> {
    check_identifier("code list id", &list.id)?;
    let what = || format!("code list {}", list.id);
    if list.name.trim().is_empty() {
        return Err(invalid(what(), "give the list a name"));
    }
    if list.values.is_empty() {
        return Err(invalid(what(), "a code list needs at least one code"));
    }
    let mut seen = std::collections::HashSet::new();
    for v in &list.values {
        if v.code.trim().is_empty() || !seen.insert(v.code.as_str()) {
            return Err(invalid(
                what(),
                &format!("code `{}` is empty or appears twice", v.code),
            ));
        }
    }
    let mut tx = store.begin_logged().await?;
    let before = fetch_summary(&mut tx, &list.id).await?;
    sqlx::query("DELETE FROM code_list_values WHERE list_id = $1")
        .bind(&list.id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM code_lists WHERE id = $1")
        .bind(&list.id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO code_lists (id, name, standard, description, updated_by, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&list.id)
    .bind(list.name.trim())
    .bind(
        list.standard
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty()),
    )
    .bind(list.description.trim())
    .bind(&actor.0)
    .bind(now())
    .execute(&mut *tx)
    .await?;
    for (position, v) in list.values.iter().enumerate() {
        sqlx::query(
            "INSERT INTO code_list_values (list_id, position, code, label) VALUES ($1, $2, $3, $4)",
        )
        .bind(&list.id)
        .bind(position as i64)
        .bind(v.code.trim())
        .bind(v.label.trim())
        .execute(&mut *tx)
        .await?;
    }
    let after = fetch_summary(&mut tx, &list.id)
        .await?
        .ok_or_else(|| CatalogError::corrupt("a code list vanished as it was written"))?;
    tx.log(
        actor,
        "code_list",
        &list.id,
        if before.is_some() { "reload" } else { "load" },
        before.as_ref().map(to_json).transpose()?,
        Some(to_json(&after)?),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

pub(super) async fn list_code_lists(store: &SqlCatalogStore) -> Result<Vec<CodeListSummary>> {
    sqlx::query(sqlx::AssertSqlSafe(format!("{SUMMARY} ORDER BY l.id")))
        .fetch_all(&store.pool)
        .await?
        .iter()
        .map(summary_from_row)
        .collect()
}

pub(super) async fn get_code_list(
    store: &SqlCatalogStore,
    id: &str,
) -> Result<Option<NewCodeList>> {
    let Some(head) =
        sqlx::query("SELECT id, name, standard, description FROM code_lists WHERE id = $1")
            .bind(id)
            .fetch_optional(&store.pool)
            .await?
    else {
        return Ok(None);
    };
    let values = sqlx::query(
        "SELECT code, label FROM code_list_values WHERE list_id = $1 ORDER BY position",
    )
    .bind(id)
    .fetch_all(&store.pool)
    .await?
    .iter()
    .map(|row| {
        Ok(CodeValue {
            code: row.try_get("code")?,
            label: row.try_get("label")?,
        })
    })
    .collect::<Result<Vec<_>>>()?;
    Ok(Some(NewCodeList {
        id: head.try_get("id")?,
        name: head.try_get("name")?,
        standard: head.try_get("standard")?,
        description: head.try_get("description")?,
        values,
    }))
}

pub(super) async fn remove_code_list(
    store: &SqlCatalogStore,
    actor: &Actor,
    id: &str,
) -> Result<()> {
    let mut tx = store.begin_logged().await?;
    let before = fetch_summary(&mut tx, id)
        .await?
        .ok_or_else(|| CatalogError::not_found("code list", id))?;
    sqlx::query("DELETE FROM code_list_values WHERE list_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM code_lists WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.log(
        actor,
        "code_list",
        id,
        "remove",
        Some(to_json(&before)?),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn fetch_systems(
    tx: &mut AnyConnection,
    only: Option<&str>,
) -> Result<Vec<InformationSystem>> {
    let rows = sqlx::query(
        "SELECT s.id, s.name, s.org_id, o.name AS org_name, s.description, s.operator, \
         s.registered_by, s.updated_at FROM information_systems s \
         JOIN org_units o ON o.id = s.org_id WHERE ($1 IS NULL OR s.id = $1) ORDER BY s.org_id, s.id",
    )
    .bind(only)
    .fetch_all(&mut *tx)
    .await?;
    let produced = sqlx::query(
        "SELECT system_id, resource_id FROM system_resources WHERE ($1 IS NULL OR system_id = $1) \
         ORDER BY system_id, resource_id",
    )
    .bind(only)
    .fetch_all(&mut *tx)
    .await?;
    let mut by_system: std::collections::HashMap<String, Vec<ResourceId>> = Default::default();
    for row in &produced {
        by_system
            .entry(row.try_get("system_id")?)
            .or_default()
            .push(ResourceId::new(row.try_get::<String, _>("resource_id")?));
    }
    rows.iter()
        .map(|row| {
            let id: String = row.try_get("id")?;
            Ok(InformationSystem {
                system: NewSystem {
                    resources: by_system.remove(&id).unwrap_or_default(),
                    id,
                    name: row.try_get("name")?,
                    org: OrgId::new(row.try_get::<String, _>("org_id")?),
                    description: row.try_get("description")?,
                    operator: row.try_get("operator")?,
                },
                org_name: row.try_get("org_name")?,
                registered_by: row.try_get("registered_by")?,
                updated_at: row.try_get("updated_at")?,
            })
        })
        .collect()
}

pub(super) async fn put_system(
    store: &SqlCatalogStore,
    actor: &Actor,
    system: &NewSystem,
) -> Result<InformationSystem> {
    check_identifier("system id", &system.id)?;
    let what = || format!("information system {}", system.id);
    if system.name.trim().is_empty() {
        return Err(invalid(what(), "give the system a name"));
    }
    let mut tx = store.begin_logged().await?;
    if sqlx::query("SELECT id FROM org_units WHERE id = $1")
        .bind(system.org.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .is_none()
    {
        return Err(CatalogError::not_found("organisation unit", &system.org));
    }
    for resource in &system.resources {
        let provider: Option<String> =
            sqlx::query("SELECT provider_id FROM resources WHERE id = $1")
                .bind(resource.as_str())
                .fetch_optional(&mut *tx)
                .await?
                .map(|row| row.try_get("provider_id"))
                .transpose()?;
        match provider {
            None => return Err(CatalogError::not_found("resource", resource)),
            Some(p) if p != system.org.as_str() => {
                return Err(invalid(
                    what(),
                    &format!(
                        "resource {resource} is provided by {p}, not {}: a system produces its own department's resources",
                        system.org
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    let before = fetch_systems(&mut tx, Some(&system.id)).await?.pop();
    sqlx::query("DELETE FROM system_resources WHERE system_id = $1")
        .bind(&system.id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM information_systems WHERE id = $1")
        .bind(&system.id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO information_systems (id, name, org_id, description, operator, registered_by, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&system.id)
    .bind(system.name.trim())
    .bind(system.org.as_str())
    .bind(system.description.trim())
    .bind(system.operator.trim())
    .bind(&actor.0)
    .bind(now())
    .execute(&mut *tx)
    .await?;
    let mut resources: Vec<&ResourceId> = system.resources.iter().collect();
    resources.sort();
    resources.dedup();
    for resource in resources {
        sqlx::query("INSERT INTO system_resources (system_id, resource_id) VALUES ($1, $2)")
            .bind(&system.id)
            .bind(resource.as_str())
            .execute(&mut *tx)
            .await?;
    }
    let after = fetch_systems(&mut tx, Some(&system.id))
        .await?
        .pop()
        .ok_or_else(|| CatalogError::corrupt("a system vanished as it was written"))?;
    tx.log(
        actor,
        "system",
        &system.id,
        if before.is_some() {
            "update"
        } else {
            "register"
        },
        before.as_ref().map(to_json).transpose()?,
        Some(to_json(&after)?),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

pub(super) async fn list_systems(store: &SqlCatalogStore) -> Result<Vec<InformationSystem>> {
    let mut conn = store.pool.acquire().await?;
    fetch_systems(&mut conn, None).await
}

pub(super) async fn remove_system(store: &SqlCatalogStore, actor: &Actor, id: &str) -> Result<()> {
    let mut tx = store.begin_logged().await?;
    let before = fetch_systems(&mut tx, Some(id))
        .await?
        .pop()
        .ok_or_else(|| CatalogError::not_found("information system", id))?;
    sqlx::query("DELETE FROM system_resources WHERE system_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM information_systems WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.log(actor, "system", id, "remove", Some(to_json(&before)?), None)
        .await?;
    tx.commit().await?;
    Ok(())
}

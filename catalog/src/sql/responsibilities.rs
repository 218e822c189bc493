//! The responsibility list (数据权责清单): which department answers for each data element. It is
//! enforced where sources are bound — registering a resource, binding a column, accepting a
//! discovery suggestion — in the same transaction, like 一数一源 itself.

use super::tx::LoggedTx;
use super::{SqlCatalogStore, now, to_json};
use crate::error::{CatalogError, NotResponsible, Result};
use crate::ids::{ElementId, OrgId};
use crate::model::{DataElement, NewResponsibility, Responsibility};
use crate::store::Actor;
use sqlx::AnyConnection;
use sqlx::Row;
use sqlx::any::AnyRow;

/// The list's columns and the department's name, for [`from_row`].
macro_rules! select {
    ($tail:literal) => {
        concat!(
            "SELECT r.element_id, r.org_id, o.name AS org_name, r.legal_basis, r.update_duty, \
             r.assigned_by, r.assigned_at FROM responsibilities r \
             JOIN org_units o ON o.id = r.org_id ",
            $tail
        )
    };
}

fn from_row(row: &AnyRow) -> Result<Responsibility> {
    Ok(Responsibility {
        assigned: NewResponsibility {
            element: ElementId::new(row.try_get::<String, _>("element_id")?),
            org: OrgId::new(row.try_get::<String, _>("org_id")?),
            legal_basis: row.try_get("legal_basis")?,
            update_duty: row.try_get("update_duty")?,
        },
        org_name: row.try_get("org_name")?,
        assigned_by: row.try_get("assigned_by")?,
        assigned_at: row.try_get("assigned_at")?,
    })
}

/// The responsibility for `element`, if the list has one.
pub(super) async fn fetch(
    tx: &mut AnyConnection,
    element: &ElementId,
) -> Result<Option<Responsibility>> {
    sqlx::query(select!("WHERE r.element_id = $1"))
        .bind(element.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .map(|row| from_row(&row))
        .transpose()
}

/// Refuses a source of `element` provided by `provider` when the list makes another department
/// responsible for it.
pub(super) async fn ensure_responsible(
    tx: &mut AnyConnection,
    element: &DataElement,
    provider: &OrgId,
) -> Result<()> {
    match fetch(tx, &element.id).await? {
        Some(r) if r.assigned.org != *provider => {
            Err(CatalogError::NotResponsible(Box::new(NotResponsible {
                element: element.id.clone(),
                element_name: element.name.clone(),
                org: r.assigned.org,
                org_name: r.org_name,
                legal_basis: r.assigned.legal_basis,
            })))
        }
        _ => Ok(()),
    }
}

pub(super) async fn assign(
    store: &SqlCatalogStore,
    actor: &Actor,
    new: &NewResponsibility,
) -> Result<Responsibility> {
    let invalid = |reason: &str| CatalogError::Invalid {
        what: format!("responsibility for {}", new.element),
        reason: reason.to_owned(),
    };
    if new.legal_basis.trim().is_empty() {
        return Err(invalid(
            "name its legal basis (the law, regulation or 三定 provision)",
        ));
    }
    if new.update_duty.trim().is_empty() {
        return Err(invalid("name the update duty (e.g. 实时更新, 每日更新)"));
    }
    let mut tx: LoggedTx = store.begin_logged().await?;
    super::elements::fetch_element(&mut tx, new.element.as_str()).await?;
    if sqlx::query("SELECT id FROM org_units WHERE id = $1")
        .bind(new.org.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .is_none()
    {
        return Err(CatalogError::not_found("organisation unit", &new.org));
    }
    let before = fetch(&mut tx, &new.element).await?;
    sqlx::query("DELETE FROM responsibilities WHERE element_id = $1")
        .bind(new.element.as_str())
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO responsibilities (element_id, org_id, legal_basis, update_duty, \
         assigned_by, assigned_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(new.element.as_str())
    .bind(new.org.as_str())
    .bind(new.legal_basis.trim())
    .bind(new.update_duty.trim())
    .bind(&actor.0)
    .bind(now())
    .execute(&mut *tx)
    .await?;
    let after = fetch(&mut tx, &new.element)
        .await?
        .ok_or_else(|| CatalogError::corrupt("a responsibility vanished as it was written"))?;
    tx.log(
        actor,
        "responsibility",
        new.element.as_str(),
        if before.is_some() {
            "reassign"
        } else {
            "assign"
        },
        before.as_ref().map(to_json).transpose()?,
        Some(to_json(&after)?),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

pub(super) async fn list(store: &SqlCatalogStore) -> Result<Vec<Responsibility>> {
    sqlx::query(select!("ORDER BY r.element_id"))
        .fetch_all(&store.pool)
        .await?
        .iter()
        .map(from_row)
        .collect()
}

pub(super) async fn remove(
    store: &SqlCatalogStore,
    actor: &Actor,
    element: &ElementId,
) -> Result<()> {
    let mut tx = store.begin_logged().await?;
    let before = fetch(&mut tx, element)
        .await?
        .ok_or_else(|| CatalogError::not_found("responsibility", element))?;
    sqlx::query("DELETE FROM responsibilities WHERE element_id = $1")
        .bind(element.as_str())
        .execute(&mut *tx)
        .await?;
    tx.log(
        actor,
        "responsibility",
        element.as_str(),
        "remove",
        Some(to_json(&before)?),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

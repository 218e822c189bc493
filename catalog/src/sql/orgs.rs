//! Organisation units (departments, streets, communities) and principals with their credentials.

use super::{SqlCatalogStore, parse, to_json};
use crate::classification::{PrincipalKind, Role};
use crate::error::{CatalogError, Result};
use crate::ids::{OrgId, PrincipalId};
use crate::model::{NewPrincipal, OrgUnit, Principal, PrincipalAttributes};
use crate::store::Actor;
use crate::{auth, rules};
use sqlx::Row;
use sqlx::any::AnyRow;

pub(super) fn org_from_row(row: &AnyRow) -> Result<OrgUnit> {
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

pub(super) fn principal_from_row(row: &AnyRow) -> Result<Principal> {
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

pub(super) async fn upsert_org(
    store: &SqlCatalogStore,
    actor: &Actor,
    org: &OrgUnit,
) -> Result<()> {
    let mut tx = store.begin_logged().await?;
    let before =
        sqlx::query("SELECT id, name, kind, parent_id, division_code FROM org_units WHERE id = $1")
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
    tx.log(
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

pub(super) async fn get_org(store: &SqlCatalogStore, id: &OrgId) -> Result<Option<OrgUnit>> {
    sqlx::query("SELECT id, name, kind, parent_id, division_code FROM org_units WHERE id = $1")
        .bind(id.as_str())
        .fetch_optional(&store.pool)
        .await?
        .map(|r| org_from_row(&r))
        .transpose()
}

pub(super) async fn list_orgs(store: &SqlCatalogStore) -> Result<Vec<OrgUnit>> {
    sqlx::query("SELECT id, name, kind, parent_id, division_code FROM org_units ORDER BY id")
        .fetch_all(&store.pool)
        .await?
        .iter()
        .map(org_from_row)
        .collect()
}

pub(super) async fn create_principal(
    store: &SqlCatalogStore,
    actor: &Actor,
    new: &NewPrincipal,
) -> Result<Principal> {
    let p = &new.principal;
    rules::check_identifier("principal id", p.id.as_str())?;
    let mut tx = store.begin_logged().await?;
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
    tx.log(
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

pub(super) async fn get_principal(
    store: &SqlCatalogStore,
    id: &PrincipalId,
) -> Result<Option<Principal>> {
    sqlx::query(
        "SELECT id, display_name, kind, org_id, roles, attributes FROM principals WHERE id = $1",
    )
    .bind(id.as_str())
    .fetch_optional(&store.pool)
    .await?
    .map(|r| principal_from_row(&r))
    .transpose()
}

pub(super) async fn list_principals(store: &SqlCatalogStore) -> Result<Vec<Principal>> {
    sqlx::query(
        "SELECT id, display_name, kind, org_id, roles, attributes FROM principals ORDER BY id",
    )
    .fetch_all(&store.pool)
    .await?
    .iter()
    .map(principal_from_row)
    .collect()
}

pub(super) async fn principal_by_token(
    store: &SqlCatalogStore,
    token: &str,
) -> Result<Option<Principal>> {
    sqlx::query(
        "SELECT id, display_name, kind, org_id, roles, attributes FROM principals WHERE token_hash = $1",
    )
    .bind(auth::token_digest(token))
    .fetch_optional(&store.pool)
    .await?
    .map(|r| principal_from_row(&r))
    .transpose()
}

pub(super) async fn password_verifier(
    store: &SqlCatalogStore,
    id: &PrincipalId,
) -> Result<Option<String>> {
    let row = sqlx::query("SELECT password_verifier FROM principals WHERE id = $1")
        .bind(id.as_str())
        .fetch_optional(&store.pool)
        .await?;
    match row {
        Some(row) => Ok(row.try_get("password_verifier")?),
        None => Ok(None),
    }
}

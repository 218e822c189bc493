//! The demand list, share requests and the sharing negative list. A request touching the
//! negative list is refused when it is filed, whatever the door; approving a request writes its
//! grant in the same logged transaction.

use super::governance::insert_grant;
use super::resources::{fetch_columns, fetch_resource};
use super::tx::LoggedTx;
use super::{SqlCatalogStore, now, parse_json, to_json};
use crate::error::{CatalogError, Result};
use crate::governance::{Grant, Grantee, NewGrant};
use crate::ids::{ElementId, OrgId, PrincipalId, ResourceId};
use crate::rules::check_identifier;
use crate::sharing::{
    Conditions, Demand, DemandDecision, DemandStatus, NegativeEntry, NewDemand, NewShareRequest,
    RequestDecision, RequestStatus, ShareRequest,
};
use crate::store::Actor;
use sqlx::Row;
use sqlx::any::AnyRow;

/// The longest a request may ask for, in days (three years).
pub const MAX_DAYS: i64 = 3 * 366;

fn invalid(what: impl Into<String>, reason: impl Into<String>) -> CatalogError {
    CatalogError::Invalid {
        what: what.into(),
        reason: reason.into(),
    }
}

fn required(what: &str, field: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        Err(invalid(what, format!("{field} is empty")))
    } else {
        Ok(())
    }
}

async fn next_id(tx: &mut LoggedTx, table: &str) -> Result<i64> {
    Ok(sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT COALESCE(MAX(id), 0) + 1 AS n FROM {table}"
    )))
    .fetch_one(&mut **tx)
    .await?
    .try_get("n")?)
}

const DEMAND_COLUMNS: &str = "id, org_id, title, business, legal_basis, items, urgency, status, \
     resource_id, reason, filed_by, filed_at, decided_by, decided_at";

fn demand_from_row(row: &AnyRow) -> Result<Demand> {
    let status: String = row.try_get("status")?;
    Ok(Demand {
        id: row.try_get("id")?,
        demand: NewDemand {
            org: OrgId::new(row.try_get::<String, _>("org_id")?),
            title: row.try_get("title")?,
            business: row.try_get("business")?,
            legal_basis: row.try_get("legal_basis")?,
            items: parse_json(&row.try_get::<String, _>("items")?)?,
            urgency: row.try_get("urgency")?,
        },
        status: DemandStatus::from_code(&status)
            .ok_or_else(|| CatalogError::corrupt(format!("demand status `{status}`")))?,
        resource: row
            .try_get::<Option<String>, _>("resource_id")?
            .map(ResourceId::new),
        reason: row.try_get("reason")?,
        filed_by: row.try_get("filed_by")?,
        filed_at: row.try_get("filed_at")?,
        decided_by: row.try_get("decided_by")?,
        decided_at: row.try_get("decided_at")?,
    })
}

async fn fetch_demand(tx: &mut sqlx::AnyConnection, id: i64) -> Result<Demand> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {DEMAND_COLUMNS} FROM share_demands WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| CatalogError::not_found("demand", id))?;
    demand_from_row(&row)
}

pub(super) async fn file_demand(
    store: &SqlCatalogStore,
    actor: &Actor,
    new: &NewDemand,
) -> Result<Demand> {
    let what = "demand";
    required(what, "the data needed (title)", &new.title)?;
    required(what, "the business it serves (事项)", &new.business)?;
    required(what, "the legal basis", &new.legal_basis)?;
    if !matches!(new.urgency.as_str(), "normal" | "urgent") {
        return Err(invalid(
            what,
            format!("urgency `{}` is normal or urgent", new.urgency),
        ));
    }
    let mut tx = store.begin_logged().await?;
    if sqlx::query("SELECT id FROM org_units WHERE id = $1")
        .bind(new.org.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .is_none()
    {
        return Err(CatalogError::not_found("organisation unit", &new.org));
    }
    let id = next_id(&mut tx, "share_demands").await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO share_demands ({DEMAND_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', \
         NULL, NULL, $8, $9, NULL, NULL)"
    )))
    .bind(id)
    .bind(new.org.as_str())
    .bind(new.title.trim())
    .bind(new.business.trim())
    .bind(new.legal_basis.trim())
    .bind(to_json(&new.items)?)
    .bind(&new.urgency)
    .bind(&actor.0)
    .bind(now())
    .execute(&mut *tx)
    .await?;
    let demand = fetch_demand(&mut tx, id).await?;
    tx.log(
        actor,
        "demand",
        &id.to_string(),
        "file",
        None,
        Some(to_json(&demand)?),
    )
    .await?;
    tx.commit().await?;
    Ok(demand)
}

pub(super) async fn list_demands(store: &SqlCatalogStore) -> Result<Vec<Demand>> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {DEMAND_COLUMNS} FROM share_demands ORDER BY id"
    )))
    .fetch_all(&store.pool)
    .await?
    .iter()
    .map(demand_from_row)
    .collect()
}

pub(super) async fn decide_demand(
    store: &SqlCatalogStore,
    actor: &Actor,
    id: i64,
    decision: &DemandDecision,
) -> Result<Demand> {
    let mut tx = store.begin_logged().await?;
    let before = fetch_demand(&mut tx, id).await?;
    let (status, resource, reason) = match decision {
        DemandDecision::Match { resource } => {
            fetch_resource(&mut tx, resource).await?;
            (DemandStatus::Matched, Some(resource.as_str()), None)
        }
        DemandDecision::ToCatalogue { reason } => {
            required("demand decision", "where the data is (reason)", reason)?;
            (DemandStatus::ToCatalogue, None, Some(reason.trim()))
        }
        DemandDecision::NotShareable { reason } => {
            required("demand decision", "the legal reason", reason)?;
            (DemandStatus::NotShareable, None, Some(reason.trim()))
        }
    };
    sqlx::query(
        "UPDATE share_demands SET status = $1, resource_id = $2, reason = $3, decided_by = $4, \
         decided_at = $5 WHERE id = $6",
    )
    .bind(status.as_code())
    .bind(resource)
    .bind(reason)
    .bind(&actor.0)
    .bind(now())
    .bind(id)
    .execute(&mut *tx)
    .await?;
    let after = fetch_demand(&mut tx, id).await?;
    tx.log(
        actor,
        "demand",
        &id.to_string(),
        status.as_code(),
        Some(to_json(&before)?),
        Some(to_json(&after)?),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

const REQUEST_COLUMNS: &str = "id, resource_id, owner_org, grantee_kind, grantee, request_columns, \
     purpose, legal_basis, row_filter, days, demand_id, renews, status, conditions, reason, \
     grant_id, filed_by, filed_at, decided_by, decided_at";

fn request_from_row(row: &AnyRow) -> Result<ShareRequest> {
    let kind: String = row.try_get("grantee_kind")?;
    let grantee: String = row.try_get("grantee")?;
    let status: String = row.try_get("status")?;
    Ok(ShareRequest {
        id: row.try_get("id")?,
        request: NewShareRequest {
            resource: ResourceId::new(row.try_get::<String, _>("resource_id")?),
            grantee: match kind.as_str() {
                "org" => Grantee::Org(OrgId::new(grantee)),
                _ => Grantee::Principal(PrincipalId::new(grantee)),
            },
            columns: parse_json(&row.try_get::<String, _>("request_columns")?)?,
            purpose: row.try_get("purpose")?,
            legal_basis: row.try_get("legal_basis")?,
            row_filter: row.try_get("row_filter")?,
            days: row.try_get("days")?,
            demand: row.try_get("demand_id")?,
            renews: row.try_get("renews")?,
        },
        owner: OrgId::new(row.try_get::<String, _>("owner_org")?),
        status: RequestStatus::from_code(&status)
            .ok_or_else(|| CatalogError::corrupt(format!("request status `{status}`")))?,
        conditions: row
            .try_get::<Option<String>, _>("conditions")?
            .map(|c| parse_json(&c))
            .transpose()?,
        reason: row.try_get("reason")?,
        grant: row.try_get("grant_id")?,
        filed_by: row.try_get("filed_by")?,
        filed_at: row.try_get("filed_at")?,
        decided_by: row.try_get("decided_by")?,
        decided_at: row.try_get("decided_at")?,
    })
}

async fn fetch_request(tx: &mut sqlx::AnyConnection, id: i64) -> Result<ShareRequest> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {REQUEST_COLUMNS} FROM share_requests WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| CatalogError::not_found("share request", id))?;
    request_from_row(&row)
}

/// Refuses `columns` of `resource` (all of them when empty) that the negative list names, by
/// column or by the data element bound to it, with the entry's legal basis.
async fn check_negative_list(
    tx: &mut sqlx::AnyConnection,
    resource: &ResourceId,
    columns: &[String],
) -> Result<()> {
    let all = fetch_columns(tx, resource).await?;
    let entries = fetch_negative(tx).await?;
    for c in all
        .iter()
        .filter(|c| columns.is_empty() || columns.contains(&c.name))
    {
        let listed = entries.iter().find(|e| {
            (e.resource.as_ref() == Some(resource) && e.column.as_deref() == Some(&c.name))
                || (e.element.is_some() && e.element == c.element)
        });
        if let Some(e) = listed {
            return Err(invalid(
                format!("share request for {resource}"),
                format!(
                    "column `{}` is on the sharing negative list ({}): it is never shared; \
                     ask for the other columns",
                    c.name, e.legal_basis
                ),
            ));
        }
    }
    Ok(())
}

pub(super) async fn file_share_request(
    store: &SqlCatalogStore,
    actor: &Actor,
    new: &NewShareRequest,
) -> Result<ShareRequest> {
    let what = format!("share request for {}", new.resource);
    required(&what, "the purpose (用途)", &new.purpose)?;
    required(&what, "the legal basis", &new.legal_basis)?;
    if !(1..=MAX_DAYS).contains(&new.days) {
        return Err(invalid(what, format!("days is between 1 and {MAX_DAYS}")));
    }
    let mut tx = store.begin_logged().await?;
    let resource = fetch_resource(&mut tx, &new.resource).await?;
    let columns = fetch_columns(&mut tx, &new.resource).await?;
    for c in &new.columns {
        if !columns.iter().any(|have| &have.name == c) {
            return Err(CatalogError::not_found(
                "column",
                format!("{}.{c}", new.resource),
            ));
        }
    }
    check_negative_list(&mut tx, &new.resource, &new.columns).await?;
    if let Some(demand) = new.demand {
        fetch_demand(&mut tx, demand).await?;
    }
    if let Some(renews) = new.renews {
        fetch_request(&mut tx, renews).await?;
    }
    let id = next_id(&mut tx, "share_requests").await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO share_requests ({REQUEST_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
         $9, $10, $11, $12, 'pending', NULL, NULL, NULL, $13, $14, NULL, NULL)"
    )))
    .bind(id)
    .bind(new.resource.as_str())
    .bind(resource.provider.as_str())
    .bind(new.grantee.kind())
    .bind(new.grantee.id())
    .bind(to_json(&new.columns)?)
    .bind(new.purpose.trim())
    .bind(new.legal_basis.trim())
    .bind(
        new.row_filter
            .as_deref()
            .map(str::trim)
            .filter(|f| !f.is_empty()),
    )
    .bind(new.days)
    .bind(new.demand)
    .bind(new.renews)
    .bind(&actor.0)
    .bind(now())
    .execute(&mut *tx)
    .await?;
    let request = fetch_request(&mut tx, id).await?;
    tx.log(
        actor,
        "share_request",
        &id.to_string(),
        "file",
        None,
        Some(to_json(&request)?),
    )
    .await?;
    tx.commit().await?;
    Ok(request)
}

pub(super) async fn list_share_requests(store: &SqlCatalogStore) -> Result<Vec<ShareRequest>> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {REQUEST_COLUMNS} FROM share_requests ORDER BY id"
    )))
    .fetch_all(&store.pool)
    .await?
    .iter()
    .map(request_from_row)
    .collect()
}

/// The grant an approval under `conditions` makes of `request`, expiring after its days.
fn grant_of(request: &ShareRequest, conditions: &Conditions) -> Result<NewGrant> {
    let asked = &request.request;
    let columns = match &conditions.columns {
        Some(fewer) => {
            if let Some(extra) = fewer
                .iter()
                .find(|c| !asked.columns.is_empty() && !asked.columns.contains(c))
            {
                return Err(invalid(
                    format!("approval of share request {}", request.id),
                    format!("column `{extra}` was not asked for: conditions only narrow a request"),
                ));
            }
            fewer.clone()
        }
        None => asked.columns.clone(),
    };
    let days = match conditions.days {
        Some(d) if !(1..=asked.days).contains(&d) => {
            return Err(invalid(
                format!("approval of share request {}", request.id),
                format!("days is between 1 and the {} asked for", asked.days),
            ));
        }
        Some(d) => d,
        None => asked.days,
    };
    Ok(NewGrant {
        resource: asked.resource.clone(),
        grantee: asked.grantee.clone(),
        columns,
        purpose: Some(asked.purpose.clone()),
        row_filter: conditions
            .row_filter
            .clone()
            .filter(|f| !f.trim().is_empty())
            .or_else(|| asked.row_filter.clone()),
        masks: conditions.masks.clone(),
        expires_at: Some((chrono::Utc::now() + chrono::Duration::days(days)).to_rfc3339()),
    })
}

pub(super) async fn decide_share_request(
    store: &SqlCatalogStore,
    actor: &Actor,
    id: i64,
    decision: &RequestDecision,
) -> Result<(ShareRequest, Option<Grant>)> {
    let mut tx = store.begin_logged().await?;
    let before = fetch_request(&mut tx, id).await?;
    if before.status != RequestStatus::Pending {
        return Err(invalid(
            format!("share request {id}"),
            format!("it was already {}", before.status.as_code()),
        ));
    }
    let (status, conditions, reason, grant) = match decision {
        RequestDecision::Approve { conditions } => {
            let conditions = conditions.clone().unwrap_or_default();
            let grant = insert_grant(&mut tx, actor, &grant_of(&before, &conditions)?).await?;
            let kept = (conditions != Conditions::default()).then_some(conditions);
            (RequestStatus::Granted, kept, None, Some(grant))
        }
        RequestDecision::Reject { reason } => {
            required(
                &format!("rejection of share request {id}"),
                "the reason",
                reason,
            )?;
            (
                RequestStatus::Rejected,
                None,
                Some(reason.trim().to_owned()),
                None,
            )
        }
    };
    sqlx::query(
        "UPDATE share_requests SET status = $1, conditions = $2, reason = $3, grant_id = $4, \
         decided_by = $5, decided_at = $6 WHERE id = $7",
    )
    .bind(status.as_code())
    .bind(conditions.as_ref().map(to_json).transpose()?)
    .bind(reason)
    .bind(grant.as_ref().map(|g| g.id))
    .bind(&actor.0)
    .bind(now())
    .bind(id)
    .execute(&mut *tx)
    .await?;
    let after = fetch_request(&mut tx, id).await?;
    tx.log(
        actor,
        "share_request",
        &id.to_string(),
        if grant.is_some() { "approve" } else { "reject" },
        Some(to_json(&before)?),
        Some(to_json(&after)?),
    )
    .await?;
    tx.commit().await?;
    Ok((after, grant))
}

async fn fetch_negative(tx: &mut sqlx::AnyConnection) -> Result<Vec<NegativeEntry>> {
    sqlx::query(
        "SELECT id, element_id, resource_id, column_name, legal_basis FROM sharing_negative_list \
         ORDER BY id",
    )
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(|row| {
        Ok(NegativeEntry {
            id: row.try_get("id")?,
            element: row
                .try_get::<Option<String>, _>("element_id")?
                .map(ElementId::new),
            resource: row
                .try_get::<Option<String>, _>("resource_id")?
                .map(ResourceId::new),
            column: row.try_get("column_name")?,
            legal_basis: row.try_get("legal_basis")?,
        })
    })
    .collect()
}

pub(super) async fn put_negative(
    store: &SqlCatalogStore,
    actor: &Actor,
    entry: &NegativeEntry,
) -> Result<NegativeEntry> {
    check_identifier("negative list entry", &entry.id)?;
    let what = format!("negative list entry {}", entry.id);
    required(&what, "the legal basis", &entry.legal_basis)?;
    let mut tx = store.begin_logged().await?;
    match (&entry.element, &entry.resource, &entry.column) {
        (Some(e), None, None) => {
            super::elements::fetch_element(&mut tx, e.as_str()).await?;
        }
        (None, Some(r), Some(c)) => {
            super::resources::find_column(&mut tx, r, c).await?;
        }
        _ => {
            return Err(invalid(
                what,
                "name a data element, or a resource and one of its columns",
            ));
        }
    }
    let before = fetch_negative(&mut tx)
        .await?
        .into_iter()
        .find(|e| e.id == entry.id);
    sqlx::query("DELETE FROM sharing_negative_list WHERE id = $1")
        .bind(&entry.id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO sharing_negative_list (id, element_id, resource_id, column_name, legal_basis, \
         added_by, added_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&entry.id)
    .bind(entry.element.as_ref().map(|e| e.as_str().to_owned()))
    .bind(entry.resource.as_ref().map(|r| r.as_str().to_owned()))
    .bind(entry.column.clone())
    .bind(entry.legal_basis.trim())
    .bind(&actor.0)
    .bind(now())
    .execute(&mut *tx)
    .await?;
    tx.log(
        actor,
        "negative_list",
        &entry.id,
        if before.is_some() { "replace" } else { "add" },
        before.as_ref().map(to_json).transpose()?,
        Some(to_json(entry)?),
    )
    .await?;
    tx.commit().await?;
    Ok(entry.clone())
}

pub(super) async fn list_negative(store: &SqlCatalogStore) -> Result<Vec<NegativeEntry>> {
    let mut conn = store.pool.acquire().await?;
    fetch_negative(&mut conn).await
}

pub(super) async fn remove_negative(
    store: &SqlCatalogStore,
    actor: &Actor,
    id: &str,
) -> Result<()> {
    let mut tx = store.begin_logged().await?;
    let before = fetch_negative(&mut tx)
        .await?
        .into_iter()
        .find(|e| e.id == id)
        .ok_or_else(|| CatalogError::not_found("negative list entry", id))?;
    sqlx::query("DELETE FROM sharing_negative_list WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.log(
        actor,
        "negative_list",
        id,
        "remove",
        Some(to_json(&before)?),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

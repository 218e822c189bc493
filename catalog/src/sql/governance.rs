//! The governed query path's tables: grants and custom policies (logged changes like every
//! catalog mutation) and the access audit log, a hash chain of its own appended under its own
//! lock so that queries never wait for catalog edits.

use super::resources::{fetch_resource, find_column};
use super::tx::WriterLock;
use super::{SqlCatalogStore, now, to_json};
use crate::changelog::GENESIS;
use crate::error::{CatalogError, Result};
use crate::governance::{
    AuditRecord, CustomPolicy, Grant, Grantee, NewAuditRecord, NewGrant, expiry_time,
};
use crate::ids::{OrgId, PrincipalId, ResourceId};
use crate::model::{ChainReport, Principal};
use crate::store::Actor;
use sqlx::AnyConnection;
use sqlx::Row;
use sqlx::any::AnyRow;

const GRANT_COLUMNS: &str = "id, resource_id, grantee_kind, grantee, grant_columns, purpose, \
     row_filter, masks, expires_at, granted_by, granted_at, revoked_by, revoked_at";

const AUDIT_COLUMNS: &str = "seq, at, principal, purpose, client, protocol, sql_text, \
     table_names, column_names, masks_applied, filters_applied, rows_returned, duration_ms, \
     outcome, error, prev_hash, hash, completes";

fn json<T: serde::de::DeserializeOwned>(row: &AnyRow, column: &str) -> Result<T> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text).map_err(CatalogError::corrupt)
}

fn grant_from_row(row: &AnyRow) -> Result<Grant> {
    let kind: String = row.try_get("grantee_kind")?;
    let grantee: String = row.try_get("grantee")?;
    let grantee = match kind.as_str() {
        "principal" => Grantee::Principal(PrincipalId::new(grantee)),
        "org" => Grantee::Org(OrgId::new(grantee)),
        other => return Err(CatalogError::corrupt(format!("grantee kind `{other}`"))),
    };
    Ok(Grant {
        id: row.try_get("id")?,
        grant: NewGrant {
            resource: ResourceId::new(row.try_get::<String, _>("resource_id")?),
            grantee,
            columns: json(row, "grant_columns")?,
            purpose: row.try_get("purpose")?,
            row_filter: row.try_get("row_filter")?,
            masks: json(row, "masks")?,
            expires_at: row.try_get("expires_at")?,
        },
        granted_by: row.try_get("granted_by")?,
        granted_at: row.try_get("granted_at")?,
        revoked_by: row.try_get("revoked_by")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

fn audit_from_row(row: &AnyRow) -> Result<AuditRecord> {
    let outcome: String = row.try_get("outcome")?;
    Ok(AuditRecord {
        seq: row.try_get("seq")?,
        at: row.try_get("at")?,
        record: NewAuditRecord {
            principal: row.try_get("principal")?,
            purpose: row.try_get("purpose")?,
            client: row.try_get("client")?,
            protocol: row.try_get("protocol")?,
            sql: row.try_get("sql_text")?,
            tables: json(row, "table_names")?,
            columns: json(row, "column_names")?,
            masks: json(row, "masks_applied")?,
            filters: json(row, "filters_applied")?,
            rows: row.try_get("rows_returned")?,
            duration_ms: row.try_get("duration_ms")?,
            outcome: outcome.parse().map_err(CatalogError::corrupt)?,
            error: row.try_get("error")?,
            completes: row.try_get("completes")?,
        },
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

fn invalid(reason: impl Into<String>) -> CatalogError {
    CatalogError::Invalid {
        what: "grant".into(),
        reason: reason.into(),
    }
}

pub(super) async fn create_grant(
    store: &SqlCatalogStore,
    actor: &Actor,
    new: &NewGrant,
) -> Result<Grant> {
    let mut tx = store.begin_logged().await?;
    let grant = insert_grant(&mut tx, actor, new).await?;
    tx.commit().await?;
    Ok(grant)
}

/// Checks and writes a grant in `tx` (with its change-log entry).
pub(super) async fn insert_grant(
    tx: &mut super::tx::LoggedTx,
    actor: &Actor,
    new: &NewGrant,
) -> Result<Grant> {
    if let Some(expiry) = &new.expires_at {
        let Some(t) = expiry_time(expiry) else {
            return Err(invalid(format!(
                "expiry `{expiry}` is neither YYYY-MM-DD nor RFC 3339"
            )));
        };
        if t <= chrono::Utc::now() {
            return Err(invalid(format!("expiry {expiry} is in the past")));
        }
    }
    if new.purpose.as_deref().is_some_and(|p| p.trim().is_empty()) {
        return Err(invalid("a purpose, when given, must not be empty"));
    }
    fetch_resource(tx, &new.resource).await?;
    for column in new.columns.iter().chain(new.masks.keys()) {
        find_column(tx, &new.resource, column).await?;
    }
    let (table, key) = match &new.grantee {
        Grantee::Principal(_) => ("principals", "id"),
        Grantee::Org(_) => ("org_units", "id"),
    };
    let exists = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {key} FROM {table} WHERE {key} = $1"
    )))
    .bind(new.grantee.id())
    .fetch_optional(&mut **tx)
    .await?;
    if exists.is_none() {
        return Err(CatalogError::not_found(
            if table == "principals" {
                "principal"
            } else {
                "organisation unit"
            },
            new.grantee.id(),
        ));
    }
    let id: i64 = sqlx::query("SELECT COALESCE(MAX(id), 0) + 1 AS n FROM grants")
        .fetch_one(&mut **tx)
        .await?
        .try_get("n")?;
    let grant = Grant {
        id,
        grant: new.clone(),
        granted_by: actor.0.clone(),
        granted_at: now(),
        revoked_by: None,
        revoked_at: None,
    };
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO grants ({GRANT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
         $11, NULL, NULL)"
    )))
    .bind(id)
    .bind(new.resource.as_str())
    .bind(new.grantee.kind())
    .bind(new.grantee.id())
    .bind(to_json(&new.columns)?)
    .bind(new.purpose.clone())
    .bind(new.row_filter.clone())
    .bind(to_json(&new.masks)?)
    .bind(new.expires_at.clone())
    .bind(&grant.granted_by)
    .bind(&grant.granted_at)
    .execute(&mut **tx)
    .await?;
    tx.log(
        actor,
        "grant",
        &id.to_string(),
        "create",
        None,
        Some(to_json(&grant)?),
    )
    .await?;
    Ok(grant)
}

pub(super) async fn get_grant(store: &SqlCatalogStore, id: i64) -> Result<Option<Grant>> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {GRANT_COLUMNS} FROM grants WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&store.pool)
    .await?
    .map(|r| grant_from_row(&r))
    .transpose()
}

pub(super) async fn list_grants(
    store: &SqlCatalogStore,
    resource: Option<&ResourceId>,
) -> Result<Vec<Grant>> {
    let rows = match resource {
        Some(r) => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {GRANT_COLUMNS} FROM grants WHERE resource_id = $1 ORDER BY id"
            )))
            .bind(r.as_str())
            .fetch_all(&store.pool)
            .await?
        }
        None => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {GRANT_COLUMNS} FROM grants ORDER BY id"
            )))
            .fetch_all(&store.pool)
            .await?
        }
    };
    rows.iter().map(grant_from_row).collect()
}

pub(super) async fn grants_for(
    store: &SqlCatalogStore,
    principal: &Principal,
) -> Result<Vec<Grant>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {GRANT_COLUMNS} FROM grants WHERE revoked_at IS NULL AND \
         ((grantee_kind = 'principal' AND grantee = $1) OR (grantee_kind = 'org' AND grantee = $2)) \
         ORDER BY id"
    )))
    .bind(principal.id.as_str())
    .bind(principal.org.as_str())
    .fetch_all(&store.pool)
    .await?;
    let now = chrono::Utc::now();
    let mut grants = Vec::with_capacity(rows.len());
    for row in &rows {
        let grant = grant_from_row(row)?;
        if grant.is_active(&now) {
            grants.push(grant);
        }
    }
    Ok(grants)
}

pub(super) async fn revoke_grant(store: &SqlCatalogStore, actor: &Actor, id: i64) -> Result<Grant> {
    let mut tx = store.begin_logged().await?;
    let before = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {GRANT_COLUMNS} FROM grants WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?
    .map(|r| grant_from_row(&r))
    .transpose()?
    .ok_or_else(|| CatalogError::not_found("grant", id))?;
    if before.revoked_at.is_some() {
        return Err(invalid(format!("grant {id} is already revoked")));
    }
    let mut after = before.clone();
    after.revoked_by = Some(actor.0.clone());
    after.revoked_at = Some(now());
    sqlx::query("UPDATE grants SET revoked_by = $1, revoked_at = $2 WHERE id = $3")
        .bind(after.revoked_by.clone())
        .bind(after.revoked_at.clone())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.log(
        actor,
        "grant",
        &id.to_string(),
        "revoke",
        Some(to_json(&before)?),
        Some(to_json(&after)?),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

pub(super) async fn upsert_policy(
    store: &SqlCatalogStore,
    actor: &Actor,
    id: &str,
    description: &str,
    policy: &str,
) -> Result<CustomPolicy> {
    crate::rules::check_identifier("policy id", id)?;
    let mut tx = store.begin_logged().await?;
    let before = fetch_policy(&mut tx, id).await?;
    let after = CustomPolicy {
        id: id.to_owned(),
        description: description.to_owned(),
        policy: policy.to_owned(),
        created_by: actor.0.clone(),
        created_at: now(),
    };
    sqlx::query("DELETE FROM custom_policies WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO custom_policies (id, description, policy_text, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(description)
    .bind(policy)
    .bind(&after.created_by)
    .bind(&after.created_at)
    .execute(&mut *tx)
    .await?;
    tx.log(
        actor,
        "policy",
        id,
        if before.is_some() { "update" } else { "create" },
        before.as_ref().map(to_json).transpose()?,
        Some(to_json(&after)?),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

fn policy_from_row(row: &AnyRow) -> Result<CustomPolicy> {
    Ok(CustomPolicy {
        id: row.try_get("id")?,
        description: row.try_get("description")?,
        policy: row.try_get("policy_text")?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
    })
}

async fn fetch_policy(tx: &mut AnyConnection, id: &str) -> Result<Option<CustomPolicy>> {
    sqlx::query(
        "SELECT id, description, policy_text, created_by, created_at FROM custom_policies \
         WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?
    .map(|r| policy_from_row(&r))
    .transpose()
}

pub(super) async fn list_policies(store: &SqlCatalogStore) -> Result<Vec<CustomPolicy>> {
    sqlx::query(
        "SELECT id, description, policy_text, created_by, created_at FROM custom_policies \
         ORDER BY id",
    )
    .fetch_all(&store.pool)
    .await?
    .iter()
    .map(policy_from_row)
    .collect()
}

pub(super) async fn delete_policy(store: &SqlCatalogStore, actor: &Actor, id: &str) -> Result<()> {
    let mut tx = store.begin_logged().await?;
    let before = fetch_policy(&mut tx, id)
        .await?
        .ok_or_else(|| CatalogError::not_found("policy", id))?;
    sqlx::query("DELETE FROM custom_policies WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.log(actor, "policy", id, "delete", Some(to_json(&before)?), None)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn append_audit(
    store: &SqlCatalogStore,
    record: &NewAuditRecord,
) -> Result<AuditRecord> {
    let mut tx = store.begin_serialised(WriterLock::Audit).await?;
    let (seq, prev_hash) =
        match sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *tx)
            .await?
        {
            Some(row) => (row.try_get::<i64, _>("seq")? + 1, row.try_get("hash")?),
            None => (1, GENESIS.to_owned()),
        };
    let mut entry = AuditRecord {
        seq,
        at: now(),
        record: record.clone(),
        prev_hash,
        hash: String::new(),
    };
    entry.hash = entry.compute_hash();
    let r = &entry.record;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
         $11, $12, $13, $14, $15, $16, $17, $18)"
    )))
    .bind(entry.seq)
    .bind(&entry.at)
    .bind(&r.principal)
    .bind(r.purpose.clone())
    .bind(&r.client)
    .bind(&r.protocol)
    .bind(&r.sql)
    .bind(to_json(&r.tables)?)
    .bind(to_json(&r.columns)?)
    .bind(to_json(&r.masks)?)
    .bind(to_json(&r.filters)?)
    .bind(r.rows)
    .bind(r.duration_ms)
    .bind(r.outcome.as_code())
    .bind(r.error.clone())
    .bind(&entry.prev_hash)
    .bind(&entry.hash)
    .bind(r.completes)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(entry)
}

pub(super) async fn audit_records(
    store: &SqlCatalogStore,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<AuditRecord>> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2"
    )))
    .bind(after_seq)
    .bind(limit)
    .fetch_all(&store.pool)
    .await?
    .iter()
    .map(audit_from_row)
    .collect()
}

pub(super) async fn verify_audit_log(store: &SqlCatalogStore) -> Result<ChainReport> {
    let mut verifier = crate::changelog::ChainVerifier::default();
    let mut after = 0;
    loop {
        let batch = audit_records(store, after, 5000).await?;
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

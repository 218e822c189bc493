//! Reading and verifying the hash-chained change log that every governed write appends to.

use super::SqlCatalogStore;
use crate::changelog::ChainVerifier;
use crate::error::Result;
use crate::model::{ChainReport, ChangeEvent};
use crate::store::CatalogStore;
use sqlx::Row;
use sqlx::any::AnyRow;

pub(super) fn change_from_row(row: &AnyRow) -> Result<ChangeEvent> {
    Ok(ChangeEvent {
        seq: row.try_get("seq")?,
        at: row.try_get("at")?,
        actor: row.try_get("actor")?,
        entity_kind: row.try_get("entity_kind")?,
        entity_id: row.try_get("entity_id")?,
        action: row.try_get("action")?,
        before: row.try_get("before_state")?,
        after: row.try_get("after_state")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

pub(super) async fn changes_since(
    store: &SqlCatalogStore,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<ChangeEvent>> {
    sqlx::query(
        "SELECT seq, at, actor, entity_kind, entity_id, action, before_state, after_state, \
         prev_hash, hash FROM change_log WHERE seq > $1 ORDER BY seq LIMIT $2",
    )
    .bind(after_seq)
    .bind(limit)
    .fetch_all(&store.pool)
    .await?
    .iter()
    .map(change_from_row)
    .collect()
}

pub(super) async fn head_seq(store: &SqlCatalogStore) -> Result<i64> {
    Ok(
        sqlx::query("SELECT COALESCE(MAX(seq), 0) AS s FROM change_log")
            .fetch_one(&store.pool)
            .await?
            .try_get("s")?,
    )
}

pub(super) async fn verify_change_log(store: &SqlCatalogStore) -> Result<ChainReport> {
    let mut verifier = ChainVerifier::default();
    let mut after = 0;
    loop {
        let batch = store.changes_since(after, 5000).await?;
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

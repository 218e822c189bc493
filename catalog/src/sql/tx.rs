//! The two kinds of catalog write transaction.
//!
//! Every change to what the catalog *governs by* (organisations, principals, elements,
//! resources, columns, grants, policies, jobs, rules, suggestions, objections) must appear in the
//! hash-chained change log, in the same transaction. [`LoggedTx`] makes that a property of the
//! type: its [`commit`](LoggedTx::commit) refuses, and so rolls the transaction back, unless at
//! least one entry was appended with [`log`](LoggedTx::log). Operational records that are not
//! changes of governance — ingest runs, quality evaluations and the incidents they open — are
//! written with a [`RecordTx`], which says so at the call site.
//!
//! Both serialise against every other catalog writer (SQLite `BEGIN IMMEDIATE`, PostgreSQL an
//! advisory transaction lock), which keeps the change-log chain linear across processes. The
//! access audit log has a lock of its own so that queries never wait for catalog edits.

use super::{Backend, SqlCatalogStore, now};
use crate::changelog::{EntryFields, GENESIS, entry_hash};
use crate::error::{CatalogError, Result};
use crate::store::Actor;
use sqlx::AnyConnection;
use sqlx::{Any, Row, Transaction};
use std::ops::{Deref, DerefMut};

type Tx = Transaction<'static, Any>;

/// Which writers a transaction excludes.
#[derive(Debug, Clone, Copy)]
pub(super) enum WriterLock {
    /// Catalog edits and records (the change log's chain).
    Catalog,
    /// Appends to the access audit log (its own chain).
    Audit,
}

impl WriterLock {
    fn advisory_key(self) -> i64 {
        match self {
            WriterLock::Catalog => 7_331_001,
            WriterLock::Audit => 7_331_002,
        }
    }
}

impl SqlCatalogStore {
    /// Starts a transaction that excludes every other writer holding the same lock.
    pub(super) async fn begin_serialised(&self, lock: WriterLock) -> Result<Tx> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => {
                let mut tx = self.pool.begin().await?;
                sqlx::query("SELECT 1 AS locked FROM (SELECT pg_advisory_xact_lock($1)) AS l")
                    .bind(lock.advisory_key())
                    .execute(&mut *tx)
                    .await?;
                tx
            }
        })
    }

    /// Starts a write of governed state: it commits only with a change-log entry.
    pub(super) async fn begin_logged(&self) -> Result<LoggedTx> {
        let mut tx = self.begin_serialised(WriterLock::Catalog).await?;
        let head = sqlx::query("SELECT seq, hash FROM change_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *tx)
            .await?;
        let (seq, hash) = match head {
            Some(row) => (row.try_get("seq")?, row.try_get("hash")?),
            None => (0, GENESIS.to_owned()),
        };
        Ok(LoggedTx {
            tx,
            seq,
            hash,
            logged: 0,
        })
    }

    /// Starts a write of operational records (runs, evaluations, incidents opened by them),
    /// which are not changes of governance and are not change-logged.
    pub(super) async fn begin_record(&self) -> Result<RecordTx> {
        Ok(RecordTx(self.begin_serialised(WriterLock::Catalog).await?))
    }
}

/// A write transaction of governed state; see the module documentation.
pub(super) struct LoggedTx {
    tx: Tx,
    /// The change log's head as this transaction has extended it.
    seq: i64,
    hash: String,
    logged: usize,
}

impl LoggedTx {
    /// Appends one change-log entry inside the transaction.
    pub(super) async fn log(
        &mut self,
        actor: &Actor,
        entity_kind: &str,
        entity_id: &str,
        action: &str,
        before: Option<String>,
        after: Option<String>,
    ) -> Result<()> {
        let seq = self.seq + 1;
        let at = now();
        let fields = EntryFields {
            seq,
            at: &at,
            actor: &actor.0,
            entity_kind,
            entity_id,
            action,
            before: before.as_deref(),
            after: after.as_deref(),
        };
        let hash = entry_hash(&self.hash, &fields);
        sqlx::query(
            "INSERT INTO change_log (seq, at, actor, entity_kind, entity_id, action, before_state, \
             after_state, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(seq)
        .bind(&at)
        .bind(&actor.0)
        .bind(entity_kind)
        .bind(entity_id)
        .bind(action)
        .bind(before)
        .bind(after)
        .bind(&self.hash)
        .bind(&hash)
        .execute(&mut *self.tx)
        .await?;
        self.seq = seq;
        self.hash = hash;
        self.logged += 1;
        Ok(())
    }

    /// Commits, or refuses and rolls back if nothing was change-logged.
    pub(super) async fn commit(self) -> Result<()> {
        if self.logged == 0 {
            self.tx.rollback().await?;
            return Err(CatalogError::Unlogged);
        }
        self.tx.commit().await?;
        Ok(())
    }
}

impl Deref for LoggedTx {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl DerefMut for LoggedTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

/// A write transaction of operational records; see the module documentation.
pub(super) struct RecordTx(Tx);

impl RecordTx {
    /// Commits.
    pub(super) async fn commit(self) -> Result<()> {
        self.0.commit().await?;
        Ok(())
    }
}

impl Deref for RecordTx {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        &self.0
    }
}

impl DerefMut for RecordTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store() -> (tempfile::TempDir, SqlCatalogStore) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("catalog.db").display());
        (dir, SqlCatalogStore::connect(&url).await.unwrap())
    }

    async fn org_count(store: &SqlCatalogStore) -> i64 {
        sqlx::query("SELECT COUNT(*) AS n FROM org_units")
            .fetch_one(&store.pool)
            .await
            .unwrap()
            .try_get("n")
            .unwrap()
    }

    #[tokio::test]
    async fn a_governed_write_without_a_change_log_entry_is_rolled_back() {
        let (_dir, store) = store().await;
        let mut tx = store.begin_logged().await.unwrap();
        sqlx::query(
            "INSERT INTO org_units (id, name, kind, parent_id, division_code) \
             VALUES ('x', 'x', 'department', NULL, NULL)",
        )
        .execute(&mut *tx)
        .await
        .unwrap();
        let err = tx.commit().await.unwrap_err();
        assert!(matches!(err, CatalogError::Unlogged), "{err}");
        assert_eq!(
            org_count(&store).await,
            0,
            "the unlogged insert must not persist"
        );
    }

    #[tokio::test]
    async fn a_logged_write_commits_and_extends_the_chain() {
        let (_dir, store) = store().await;
        let mut tx = store.begin_logged().await.unwrap();
        sqlx::query(
            "INSERT INTO org_units (id, name, kind, parent_id, division_code) \
             VALUES ('x', 'x', 'department', NULL, NULL)",
        )
        .execute(&mut *tx)
        .await
        .unwrap();
        tx.log(&Actor("test".into()), "org", "x", "create", None, None)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(org_count(&store).await, 1);
        let report = crate::store::CatalogStore::verify_change_log(&store)
            .await
            .unwrap();
        assert_eq!(report.entries, 1);
        assert!(report.first_broken.is_none());
    }
}

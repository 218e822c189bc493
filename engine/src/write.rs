//! Writes to lake tables, built then awaited, and the hooks that see every commit.
//!
//! ```text
//! lake.write_to("base/persons")
//!     .named("persons")
//!     .schema(schema)
//!     .exactly_once("zhongshu-ingest:rsj-monthly", 7)
//!     .merge(rows, &keys)
//!     .await?
//! ```
//!
//! Every write is one Delta commit. With [`TableWrite::exactly_once`] the commit carries the
//! transaction identifier `(app, version)` and is skipped when the table already holds it, so a
//! re-run after a crash lands nothing twice; merges, histories and corrections always need one.
//! After each commit the lake's [`CommitHook`]s are told what was committed — the place where
//! lineage events and the audit attach, instead of every writer remembering to emit them.

use crate::error::{EngineError, Result};
use crate::lake::{Lake, RunData, StreamingAppend, WriteMode};
use arrow::datatypes::SchemaRef;
use std::sync::Arc;

/// What one commit did, as its hooks see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// The table's lake path.
    pub path: String,
    /// The table version the commit made.
    pub version: u64,
    /// `append`, `overwrite`, `merge`, `history` or `correct`.
    pub operation: &'static str,
    /// Rows written (for a merge, inserted plus updated).
    pub rows: u64,
    /// The transaction identifier `(app, version)`, when the write is exactly-once.
    pub transaction: Option<(String, i64)>,
}

/// Told of every commit a lake makes (not of commits skipped because they already happened).
pub trait CommitHook: Send + Sync {
    /// Called after the commit is durable; must not fail the write.
    fn committed(&self, commit: &Commit);
}

/// The result of a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Committed {
    /// The table version holding the write (the current one when it had already happened).
    pub version: u64,
    /// Rows written (0 when it had already happened).
    pub rows: u64,
    /// Rows a merge inserted, or a history opened.
    pub inserted: usize,
    /// Rows a merge updated, a history closed, or a correction changed.
    pub updated: usize,
    /// Whether this call made the commit (false: the table already held it).
    pub made: bool,
}

impl Committed {
    /// The result of a write that left the table at `version`: what it wrote, or nothing when
    /// the version did not move (the table already held the commit, or there was nothing to
    /// change).
    fn of(already: bool, version: u64, rows: u64, inserted: usize, updated: usize) -> Self {
        if already {
            return Committed {
                version,
                rows: 0,
                inserted: 0,
                updated: 0,
                made: false,
            };
        }
        Committed {
            version,
            rows,
            inserted,
            updated,
            made: true,
        }
    }
}

/// A write to one table; see the module documentation.
#[derive(Debug, Clone)]
#[must_use = "a write does nothing until one of its operations is awaited"]
pub struct TableWrite<'a> {
    lake: &'a Lake,
    path: String,
    name: String,
    schema: Option<SchemaRef>,
    once: Option<(String, i64)>,
}

impl Lake {
    /// A write to the table at `path` (created by its first write); see [`TableWrite`].
    pub fn write_to(&self, path: &str) -> TableWrite<'_> {
        TableWrite {
            lake: self,
            path: path.to_owned(),
            name: path.rsplit('/').next().unwrap_or(path).to_owned(),
            schema: None,
            once: None,
        }
    }

    /// The same lake telling `hook` of every commit it makes (and so do its clones made
    /// after this).
    pub fn with_commit_hook(mut self, hook: Arc<dyn CommitHook>) -> Self {
        self.hooks_mut().add(hook);
        self
    }

    pub(crate) fn tell_hooks(&self, commit: &Commit) {
        for hook in self.hooks().all() {
            hook.committed(commit);
        }
    }
}

/// The hooks of a lake, shared by its clones.
#[derive(Clone, Default)]
pub(crate) struct Hooks(Arc<Vec<Arc<dyn CommitHook>>>);

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} commit hook(s)", self.0.len())
    }
}

impl Hooks {
    pub(crate) fn add(&mut self, hook: Arc<dyn CommitHook>) {
        Arc::make_mut(&mut self.0).push(hook);
    }

    pub(crate) fn all(&self) -> &[Arc<dyn CommitHook>] {
        &self.0
    }
}

impl<'a> TableWrite<'a> {
    /// The table's name in its Delta metadata (default: the last part of its path).
    pub fn named(mut self, name: &str) -> Self {
        self.name = name.to_owned();
        self
    }

    /// The schema of the rows (required for spooled Parquet and empty writes; new columns
    /// widen the table).
    pub fn schema(mut self, schema: SchemaRef) -> Self {
        self.schema = Some(schema);
        self
    }

    /// Makes the write the `version`-th commit of application `app`: skipped when the table
    /// already holds it.
    pub fn exactly_once(mut self, app: &str, version: i64) -> Self {
        self.once = Some((app.to_owned(), version));
        self
    }

    fn transaction(&self, operation: &str) -> Result<(&str, i64)> {
        self.once
            .as_ref()
            .map(|(app, version)| (app.as_str(), *version))
            .ok_or_else(|| {
                EngineError::Schema(format!(
                    "a {operation} of {} must be exactly-once: name its transaction",
                    self.path
                ))
            })
    }

    fn schema_of(&self, data: &RunData) -> Result<SchemaRef> {
        match (&self.schema, data) {
            (Some(schema), _) => Ok(schema.clone()),
            (None, RunData::Batches(batches)) if !batches.is_empty() => Ok(batches[0].schema()),
            _ => Err(EngineError::Schema(format!(
                "a write of {} without rows needs their schema",
                self.path
            ))),
        }
    }

    fn done(&self, operation: &'static str, committed: Committed) -> Committed {
        if committed.made {
            self.lake.tell_hooks(&Commit {
                path: self.path.clone(),
                version: committed.version,
                operation,
                rows: committed.rows,
                transaction: self.once.clone(),
            });
        }
        committed
    }

    async fn put(self, data: RunData, mode: WriteMode) -> Result<Committed> {
        let operation = match mode {
            WriteMode::Append => "append",
            WriteMode::Overwrite => "overwrite",
        };
        let committed = match &self.once {
            Some((app, version)) => {
                let schema = self.schema_of(&data)?;
                let (outcome, made) = self
                    .lake
                    .write_once(&self.path, &self.name, schema, data, mode, app, *version)
                    .await?;
                Committed::of(!made, outcome.version, outcome.rows, 0, 0)
            }
            None => {
                let RunData::Batches(batches) = data else {
                    return Err(EngineError::Schema(format!(
                        "spooled rows for {} are written exactly-once",
                        self.path
                    )));
                };
                let outcome = self
                    .lake
                    .write_plain(&self.path, &self.name, batches, mode)
                    .await?;
                Committed::of(false, outcome.version, outcome.rows, 0, 0)
            }
        };
        Ok(self.done(operation, committed))
    }

    /// Adds `data` to the table.
    pub async fn append(self, data: impl Into<RunData>) -> Result<Committed> {
        self.put(data.into(), WriteMode::Append).await
    }

    /// Replaces the table's rows with `data` (earlier versions stay readable by time travel).
    pub async fn overwrite(self, data: impl Into<RunData>) -> Result<Committed> {
        self.put(data.into(), WriteMode::Overwrite).await
    }

    /// Upserts `data` on `keys`: rows whose keys exist are updated, others inserted.
    pub async fn merge(self, data: impl Into<RunData>, keys: &[String]) -> Result<Committed> {
        let (app, version) = self.transaction("merge")?;
        let data = data.into();
        let schema = self.schema_of(&data)?;
        let before = self.lake.current_version(&self.path).await?;
        let (at, inserted, updated) = self
            .lake
            .merge_once(&self.path, &self.name, schema, data, keys, app, version)
            .await?;
        let rows = (inserted + updated) as u64;
        let committed = Committed::of(before == Some(at), at, rows, inserted, updated);
        Ok(self.done("merge", committed))
    }

    /// Lands `data` as the full current state with history (SCD type 2) at `at`; see
    /// [`crate::VALID_FROM`].
    pub async fn history(
        self,
        data: impl Into<RunData>,
        keys: &[String],
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Committed> {
        let (app, version) = self.transaction("history")?;
        let data = data.into();
        let schema = self.schema_of(&data)?;
        let before = self.lake.current_version(&self.path).await?;
        let (to, opened, closed) = self
            .lake
            .history_once(&self.path, &self.name, schema, data, keys, app, version, at)
            .await?;
        let committed = Committed::of(before == Some(to), to, opened as u64, opened, closed);
        Ok(self.done("history", committed))
    }

    /// Sets `column` of the rows matching `key` (compared as text) to `value` (`None`: null);
    /// with `current_only`, only the current versions of a history table's rows.
    pub async fn correct(
        self,
        key: &[(String, String)],
        column: &str,
        value: Option<&str>,
        current_only: bool,
    ) -> Result<Committed> {
        let (app, version) = self.transaction("correction")?;
        let before = self.lake.current_version(&self.path).await?;
        let (at, changed) = self
            .lake
            .correct_value(&self.path, key, column, value, current_only, app, version)
            .await?;
        // A correction that matched no row commits nothing (delta-rs skips an empty update).
        let committed = Committed::of(before == Some(at), at, changed as u64, 0, changed);
        Ok(self.done("correct", committed))
    }

    /// Starts a streaming append of one exactly-once commit ([`StreamingAppend`]); `None` when
    /// the table already holds it. Needs [`TableWrite::schema`].
    pub async fn streaming(self) -> Result<Option<StreamingAppend>> {
        let (app, version) = self.transaction("streaming append")?;
        let schema = self.schema.clone().ok_or_else(|| {
            EngineError::Schema(format!(
                "a streaming append of {} needs a schema",
                self.path
            ))
        })?;
        let append = self
            .lake
            .streaming_append(&self.path, &self.name, schema, app, version)
            .await?;
        Ok(append.map(|a| {
            a.told(
                self.lake.clone(),
                Commit {
                    path: self.path.clone(),
                    version: 0,
                    operation: "append",
                    rows: 0,
                    transaction: self.once.clone(),
                },
            )
        }))
    }
}

//! The application core every door receives.
//!
//! A door — the HTTP catalog API, the SQL doors, the console, later Delta Sharing and the
//! open-data portal — and every workflow it calls work on the same few things: the catalog
//! store, the lake, the query service (which decides access and opens governed sessions), the
//! search index, the lineage sink and the scheduler of recurring work. They are assembled once, by the binary, into a [`Core`]
//! and handed to each door, instead of each door assembling its own and deciding access its own
//! way. Use cases are functions of `(core, principal, input)` in their domain crates; a door's
//! handlers only translate its protocol.

use crate::lake::Lake;
use crate::scheduler::Scheduler;
use crate::service::QueryService;
use std::sync::Arc;
use zhongshu_catalog::{CatalogStore, SearchIndex};

/// Where lineage events go. The lineage crate provides the real sinks (the catalog, an
/// OpenLineage endpoint); a core built without one records nothing.
pub trait LineageSink: Send + Sync {
    /// Records one OpenLineage run event (a JSON object).
    fn emit(&self, event: serde_json::Value);
}

/// A lineage sink that drops every event.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoLineage;

impl LineageSink for NoLineage {
    fn emit(&self, _event: serde_json::Value) {}
}

/// See the module documentation.
#[derive(Clone)]
pub struct Core {
    store: Arc<dyn CatalogStore>,
    lake: Lake,
    query: Arc<QueryService>,
    search: Arc<tokio::sync::Mutex<SearchIndex>>,
    lineage: Arc<dyn LineageSink>,
    scheduler: Arc<Scheduler>,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("catalog", &self.store.backend_name())
            .finish()
    }
}

impl Core {
    /// A core over a query service (which holds the store and the lake) and a search index,
    /// with no lineage sink.
    pub fn new(query: Arc<QueryService>, search: Arc<tokio::sync::Mutex<SearchIndex>>) -> Self {
        Core {
            store: query.store().clone(),
            lake: query.lake().clone(),
            query,
            search,
            lineage: Arc::new(NoLineage),
            scheduler: Arc::default(),
        }
    }

    /// The same core sending lineage events to `sink`.
    pub fn with_lineage(mut self, sink: Arc<dyn LineageSink>) -> Self {
        self.lineage = sink;
        self
    }

    /// The catalog.
    pub fn store(&self) -> &Arc<dyn CatalogStore> {
        &self.store
    }

    /// The lake.
    pub fn lake(&self) -> &Lake {
        &self.lake
    }

    /// The query service: decisions, governed sessions and the system session.
    pub fn query(&self) -> &Arc<QueryService> {
        &self.query
    }

    /// The resource search index.
    pub fn search(&self) -> &Arc<tokio::sync::Mutex<SearchIndex>> {
        &self.search
    }

    /// Where lineage events go.
    pub fn lineage(&self) -> &Arc<dyn LineageSink> {
        &self.lineage
    }

    /// The one scheduler of recurring work (ingest jobs, quality evaluation, later products).
    pub fn scheduler(&self) -> &Arc<Scheduler> {
        &self.scheduler
    }
}

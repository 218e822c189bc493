//! Engine errors.

/// Result with [`EngineError`].
pub type Result<T, E = EngineError> = std::result::Result<T, E>;

/// What can go wrong in storage and query.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The lake URL or its options are wrong.
    #[error("lake configuration: {0}")]
    Config(String),
    /// A table does not exist at the expected location.
    #[error(
        "no Delta table at {location}; land data into it first with an ingest job (`zhongshu ingest run JOB`)"
    )]
    NoTable {
        /// Where it was looked for.
        location: String,
    },
    /// Data does not fit the declared schema.
    #[error("schema: {0}")]
    Schema(String),
    /// Delta Lake failed.
    #[error("delta: {0}")]
    Delta(#[from] deltalake::DeltaTableError),
    /// DataFusion failed.
    #[error("query: {0}")]
    Query(#[from] datafusion::error::DataFusionError),
    /// Arrow failed.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// A governed session refused a statement (DDL, DML, settings).
    #[error("refused: {0}")]
    Refused(String),
    /// A query went over a limit (concurrency; time, memory and rows surface as query errors).
    #[error("limit: {0}")]
    Limit(String),
    /// A statement names a table that does not exist for the principal; a table it may not
    /// discover is reported the same way. The message is DataFusion's planning error.
    #[error("{source}")]
    UnknownTable {
        /// The table as the statement resolves it.
        name: String,
        /// The planning error.
        source: datafusion::error::DataFusionError,
    },
    /// A statement calls a function or table function that does not exist.
    #[error("{source}")]
    UnknownFunction {
        /// The function's name.
        name: String,
        /// The planning error, with DataFusion's suggestion of a similar name.
        source: datafusion::error::DataFusionError,
    },
    /// The catalog failed.
    #[error(transparent)]
    Catalog(#[from] zhongshu_catalog::CatalogError),
}

//! CLI errors and their exit codes: 0 success, 1 the operation failed or was refused, 2 the
//! command could not start (usage, configuration, uninitialised data directory).

use crate::deployment::DeploymentError;
use zhongshu_catalog::CatalogError;
use zhongshu_engine::EngineError;

/// A failed command.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad arguments or configuration.
    #[error("{0}")]
    Usage(String),
    /// The deployment could not be opened or prepared.
    #[error(transparent)]
    Deployment(#[from] DeploymentError),
    /// The catalog refused or failed.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// Storage or query failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// An ingest run failed.
    #[error(transparent)]
    Run(#[from] zhongshu_ingest::RunError),
    /// A quality rule or evaluation failed.
    #[error(transparent)]
    Quality(#[from] zhongshu_quality::QualityError),
    /// Generating demo data failed.
    #[error(transparent)]
    Generate(#[from] crate::demo::generate::GenerateError),
    /// Anything else that failed, with what to do.
    #[error("{0}")]
    Failed(String),
}

impl CliError {
    /// The process exit status for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Deployment(
                DeploymentError::NotInitialised(_) | DeploymentError::Config(_),
            ) => 2,
            _ => 1,
        }
    }
}

/// Result of a command.
pub type CliResult<T = ()> = Result<T, CliError>;

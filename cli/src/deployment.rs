//! A deployment: its data directory, configuration, catalog store, lake and search index,
//! opened once per command.

use crate::config::{CONFIG_FILE, Config, ConfigError};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::Mutex;
use zhongshu_catalog::{
    Actor, CatalogError, CatalogStore, NewPrincipal, OrgId, OrgKind, OrgUnit, Principal,
    PrincipalAttributes, PrincipalId, PrincipalKind, Role, SearchIndex, SqlCatalogStore, auth,
    standards,
};
use zhongshu_engine::{Core, EngineError, Lake, QueryService};
use zhongshu_policies::MaskKey;

/// Opening or preparing a deployment failed.
#[derive(Debug, thiserror::Error)]
pub enum DeploymentError {
    /// The data directory has not been initialised.
    #[error(
        "{0} is not an initialised zhongshu data directory; run `zhongshu init --data-dir {0}` (or `zhongshu demo`) first"
    )]
    NotInitialised(String),
    /// Configuration error.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Catalog error.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// Engine error.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// File system error.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
}

/// Marker file written by `init`.
const MARKER: &str = ".zhongshu";

/// An opened deployment.
pub struct Deployment {
    /// The data directory.
    pub data_dir: PathBuf,
    /// Its configuration.
    pub config: Config,
    /// The catalog.
    pub store: Arc<SqlCatalogStore>,
    /// The lake.
    pub lake: Lake,
    /// The resource search index.
    pub search: Arc<Mutex<SearchIndex>>,
}

impl std::fmt::Debug for Deployment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deployment")
            .field("data_dir", &self.data_dir)
            .finish()
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DeploymentError + '_ {
    move |source| DeploymentError::Io {
        path: path.display().to_string(),
        source,
    }
}

impl Deployment {
    /// Whether `data_dir` was initialised.
    pub fn is_initialised(data_dir: &Path) -> bool {
        data_dir.join(MARKER).exists()
    }

    /// Opens an initialised deployment.
    pub async fn open(
        data_dir: &Path,
        config_file: Option<&Path>,
    ) -> Result<Self, DeploymentError> {
        if !Self::is_initialised(data_dir) {
            return Err(DeploymentError::NotInitialised(
                data_dir.display().to_string(),
            ));
        }
        Self::connect(data_dir, config_file).await
    }

    async fn connect(data_dir: &Path, config_file: Option<&Path>) -> Result<Self, DeploymentError> {
        let config = Config::load(data_dir, config_file)?;
        let store = Arc::new(SqlCatalogStore::connect(&config.catalog_url(data_dir)).await?);
        let lake = Lake::open(&config.lake, data_dir)?.with_audit(store.clone());
        let search = SearchIndex::open(&data_dir.join("search"))?;
        Ok(Deployment {
            data_dir: data_dir.to_path_buf(),
            config,
            store,
            lake,
            search: Arc::new(Mutex::new(search)),
        })
    }

    /// Creates the data directory, the configuration template, the catalog with the standard
    /// data elements and the lake. Safe to run again: existing settings and data are kept.
    pub async fn init(
        data_dir: &Path,
        config_file: Option<&Path>,
    ) -> Result<Self, DeploymentError> {
        std::fs::create_dir_all(data_dir).map_err(io(data_dir))?;
        let config_path = data_dir.join(CONFIG_FILE);
        if config_file.is_none() && !config_path.exists() {
            std::fs::write(&config_path, Config::template()).map_err(io(&config_path))?;
        }
        let deployment = Self::connect(data_dir, config_file).await?;
        for element in standards::standard_elements() {
            deployment
                .store
                .upsert_element(&Actor::system(), &element)
                .await?;
        }
        let marker = data_dir.join(MARKER);
        std::fs::write(&marker, "zhongshu data directory\n").map_err(io(&marker))?;
        Ok(deployment)
    }

    /// The store as the trait object the libraries take.
    pub fn catalog(&self) -> Arc<dyn CatalogStore> {
        self.store.clone()
    }

    /// The deployment's masking key (for keyed-hash masks): `DATA_DIR/mask.key`, 32 random
    /// bytes created on first use, so masked keys stay joinable for the deployment's life.
    pub fn mask_key(&self) -> Result<MaskKey, DeploymentError> {
        let path = self.data_dir.join("mask.key");
        if !path.exists() {
            let mut bytes = [0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
            std::fs::write(&path, hex::encode(bytes)).map_err(io(&path))?;
        }
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
        MaskKey::new(text.trim().as_bytes()).map_err(|e| DeploymentError::Io {
            path: path.display().to_string(),
            source: std::io::Error::other(e),
        })
    }

    /// The query service every door opens governed sessions through. Sets the process's decoded
    /// column cache to the configured size.
    pub fn query_service(&self) -> Result<Arc<QueryService>, DeploymentError> {
        self.lake
            .column_cache()
            .set_budget((self.config.gateway.cache_mb as usize) << 20);
        Ok(Arc::new(QueryService::new(
            self.lake.clone(),
            self.catalog(),
            self.mask_key()?,
            self.config.gateway.limits(),
        )))
    }

    /// The application core every door and workflow receives: the catalog, the lake, the
    /// query service and the search index.
    pub fn core(&self) -> Result<Core, DeploymentError> {
        Ok(Core::new(self.query_service()?, self.search.clone()))
    }

    /// Brings the search index up to date with the catalog.
    pub async fn sync_search(&self) -> Result<usize, DeploymentError> {
        let mut search = self.search.lock().await;
        Ok(search.sync(self.store.as_ref()).await?)
    }

    /// Creates the operator organisation and an administrator with fresh credentials, unless
    /// the administrator exists. Returns `(principal, password, token)` when created.
    pub async fn ensure_admin(
        &self,
        username: &str,
    ) -> Result<Option<(Principal, String, String)>, DeploymentError> {
        let id = PrincipalId::new(username);
        if self.store.get_principal(&id).await?.is_some() {
            return Ok(None);
        }
        let org = OrgUnit {
            id: OrgId::new("root"),
            name: "数据中枢运营单位".into(),
            kind: OrgKind::Government,
            parent: None,
            division_code: None,
        };
        self.store.upsert_org(&Actor::system(), &org).await?;
        let principal = Principal {
            id,
            display_name: "系统管理员".into(),
            kind: PrincipalKind::User,
            org: org.id,
            roles: vec![Role::Admin],
            attributes: PrincipalAttributes::default(),
        };
        let (password, token) = (auth::new_password(), auth::new_token());
        let created = self
            .store
            .create_principal(
                &Actor::system(),
                &NewPrincipal {
                    principal,
                    password: Some(password.clone()),
                    token: Some(token.clone()),
                },
            )
            .await?;
        Ok(Some((created, password, token)))
    }
}

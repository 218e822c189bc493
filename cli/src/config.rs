//! The one typed configuration of a deployment: defaults, then `DATA_DIR/zhongshu.toml` (or
//! `--config FILE`), then `ZHONGSHU__SECTION__KEY` environment variables. Unknown keys in any
//! layer are an error that names them, not silently ignored.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use zhongshu_engine::LakeConfig;

/// The configuration file name inside the data directory.
pub const CONFIG_FILE: &str = "zhongshu.toml";

/// Catalog settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogConfig {
    /// `sqlite://PATH` or `postgres://USER:PASSWORD@HOST:PORT/DB`; empty means
    /// `sqlite://DATA_DIR/catalog.db`.
    #[serde(default)]
    pub url: String,
}

/// HTTP server settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Listen address.
    #[serde(default = "default_http")]
    pub addr: String,
}

fn default_http() -> String {
    "127.0.0.1:8080".into()
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            addr: default_http(),
        }
    }
}

/// Data quality settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QualityConfig {
    /// When `zhongshu serve` evaluates every resource (cron, China Standard Time); empty
    /// turns the schedule off. Each ingest run is evaluated after it commits regardless.
    #[serde(default = "default_quality_schedule")]
    pub schedule: String,
}

fn default_quality_schedule() -> String {
    "0 3 * * *".into()
}

impl Default for QualityConfig {
    fn default() -> Self {
        QualityConfig {
            schedule: default_quality_schedule(),
        }
    }
}

/// The SQL gateway: its listen addresses and the limits every governed query runs under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    #[serde(default = "default_pgwire")]
    /// PostgreSQL wire listen address ("" = off).
    pub pgwire_addr: String,
    #[serde(default = "default_flight")]
    /// Flight SQL listen address ("" = off).
    pub flight_addr: String,
    #[serde(default = "default_timeout")]
    /// Longest a query may run, in seconds.
    pub timeout_secs: u64,
    #[serde(default = "default_memory")]
    /// Memory per session before spilling, in MiB.
    pub memory_mb: u64,
    #[serde(default = "default_max_rows")]
    /// Most rows a result may have.
    pub max_rows: u64,
    #[serde(default = "default_max_concurrent")]
    /// Most queries a principal may run at once.
    pub max_concurrent: usize,
    #[serde(default = "default_max_probes")]
    /// Most statements refused for access (and most lookups by value) per principal and client host in a
    /// minute before it is refused as probing (0 = no limit).
    pub max_probes_per_minute: u32,
    #[serde(default = "default_cache")]
    /// The decoded column cache shared by all sessions, in MiB (0 = off).
    pub cache_mb: u64,
}

fn default_pgwire() -> String {
    "127.0.0.1:5433".into()
}
fn default_flight() -> String {
    "127.0.0.1:50051".into()
}
fn default_timeout() -> u64 {
    300
}
fn default_memory() -> u64 {
    2048
}
fn default_max_rows() -> u64 {
    5_000_000
}
fn default_max_concurrent() -> usize {
    8
}
fn default_max_probes() -> u32 {
    60
}
fn default_cache() -> u64 {
    2048
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            pgwire_addr: default_pgwire(),
            flight_addr: default_flight(),
            timeout_secs: default_timeout(),
            memory_mb: default_memory(),
            max_rows: default_max_rows(),
            max_concurrent: default_max_concurrent(),
            max_probes_per_minute: default_max_probes(),
            cache_mb: default_cache(),
        }
    }
}

impl GatewayConfig {
    /// The limits governed queries run under.
    pub fn limits(&self) -> zhongshu_engine::Limits {
        zhongshu_engine::Limits {
            timeout: std::time::Duration::from_secs(self.timeout_secs),
            memory_bytes: (self.memory_mb as usize) << 20,
            max_rows: self.max_rows,
            max_concurrent: self.max_concurrent,
            max_probes_per_minute: self.max_probes_per_minute,
        }
    }
}

/// The whole configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Metadata catalog.
    #[serde(default)]
    pub catalog: CatalogConfig,
    /// Lake storage.
    #[serde(default)]
    pub lake: LakeConfig,
    /// HTTP server.
    #[serde(default)]
    pub http: HttpConfig,
    /// Data quality.
    #[serde(default)]
    pub quality: QualityConfig,
    /// The SQL gateway.
    #[serde(default)]
    pub gateway: GatewayConfig,
}

/// The configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("configuration ({sources}): {message}")]
pub struct ConfigError {
    /// Where it was loaded from.
    pub sources: String,
    /// What is wrong, naming the key.
    pub message: String,
}

impl Config {
    /// Loads the configuration for `data_dir`, from `file` if given.
    pub fn load(data_dir: &Path, file: Option<&Path>) -> Result<Config, ConfigError> {
        let path: PathBuf = file.map_or_else(|| data_dir.join(CONFIG_FILE), Path::to_path_buf);
        let sources = format!("{} and ZHONGSHU__* environment", path.display());
        if file.is_some() && !path.exists() {
            return Err(ConfigError {
                sources,
                message: format!("{} does not exist", path.display()),
            });
        }
        Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::file(&path))
            .merge(Env::prefixed("ZHONGSHU__").split("__"))
            .extract()
            .map_err(|e| ConfigError {
                sources,
                message: e.to_string(),
            })
    }

    /// The catalog URL, defaulting to the SQLite file in the data directory.
    pub fn catalog_url(&self, data_dir: &Path) -> String {
        if self.catalog.url.is_empty() {
            format!("sqlite://{}", data_dir.join("catalog.db").display())
        } else {
            self.catalog.url.clone()
        }
    }

    /// The commented template `zhongshu init` writes.
    pub fn template() -> &'static str {
        r#"# zhongshu configuration. Every key can also be set in the environment as
# ZHONGSHU__SECTION__KEY, e.g. ZHONGSHU__HTTP__ADDR=0.0.0.0:8080.

[catalog]
# sqlite://PATH (default: DATA_DIR/catalog.db) or postgres://USER:PASSWORD@HOST:PORT/DB
# url = "postgres://zhongshu@localhost:5432/zhongshu"

[lake]
# A directory, file:///PATH or s3://BUCKET/PREFIX (default: DATA_DIR/lake)
# url = "s3://lake/pingshan"
# [lake.options]
# aws_endpoint = "http://127.0.0.1:9000"
# aws_region = "us-east-1"
# aws_allow_http = "true"

[http]
addr = "127.0.0.1:8080"

[gateway]
# The SQL gateway's doors ("" turns one off) and the limits of every governed query.
pgwire_addr = "127.0.0.1:5433"
flight_addr = "127.0.0.1:50051"
timeout_secs = 300
memory_mb = 2048
max_rows = 5000000
max_concurrent = 8
max_probes_per_minute = 60  # refused statements or lookups by value per principal and host
cache_mb = 2048          # decoded lake columns kept in memory for all sessions (0 = off)

[quality]
# When `zhongshu serve` evaluates every resource (cron in China Standard Time; "" = never).
schedule = "0 3 * * *"
"#
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API returns its own large error
    fn defaults_file_and_unknown_keys() {
        figment::Jail::expect_with(|jail| {
            let dir = jail.directory().to_path_buf();
            let c = Config::load(&dir, None).unwrap();
            assert_eq!(c.http.addr, "127.0.0.1:8080");
            assert!(c.catalog_url(&dir).starts_with("sqlite://"));

            jail.create_file(CONFIG_FILE, "[http]\naddr = \"127.0.0.1:9999\"\n")?;
            assert_eq!(
                Config::load(&dir, None).unwrap().http.addr,
                "127.0.0.1:9999"
            );

            jail.set_env("ZHONGSHU__HTTP__ADDR", "127.0.0.1:7777");
            assert_eq!(
                Config::load(&dir, None).unwrap().http.addr,
                "127.0.0.1:7777"
            );

            jail.create_file(CONFIG_FILE, "[http]\nadress = \"x\"\n")?;
            let err = Config::load(&dir, None).unwrap_err();
            assert!(err.to_string().contains("adress"), "{err}");
            Ok(())
        });
    }
}

//! `zhongshu demo` and `zhongshu generate`: a complete demo deployment of Pingshan district
//! built from generated data.

pub mod deliveries;
pub mod generate;
pub mod inventory;
pub mod land;
pub mod spec;

use crate::deployment::Deployment;
use crate::error::{CliError, CliResult};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::path::Path;
use std::time::Instant;
use zhongshu_catalog::{
    Actor, CatalogStore as _, NewPrincipal, OrgId, Principal, PrincipalAttributes, PrincipalId,
    auth,
};

/// The credentials file of a demo deployment.
pub const CREDENTIALS_FILE: &str = "demo-credentials.json";

/// One demo login.
#[derive(Debug, Serialize)]
pub struct Credential {
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
    /// Bearer token.
    pub token: String,
    /// Organisation id.
    pub organisation: String,
    /// Organisation name.
    pub organisation_name: String,
    /// Main role.
    pub role: String,
}

/// What the demo built.
#[derive(Debug)]
pub struct DemoSummary {
    /// Resources registered.
    pub resources: usize,
    /// Rows landed.
    pub rows: u64,
    /// Seconds taken.
    pub seconds: f64,
    /// What the later deliveries left to work on.
    pub later: deliveries::Later,
}

/// The demo's quality rules.
const QUALITY_RULES: &str = include_str!("quality.toml");

fn bar(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template("{prefix:>10} [{bar:30}] {pos}/{len} {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_prefix(what.to_owned());
    pb
}

/// Removes a previous demo from `data_dir` so that the demo can be rebuilt; refuses to touch a
/// directory that holds anything else.
pub fn reset(data_dir: &Path) -> CliResult {
    if !data_dir.exists() {
        return Ok(());
    }
    let is_demo = data_dir.join(CREDENTIALS_FILE).exists();
    let empty = std::fs::read_dir(data_dir)
        .map(|mut d| d.next().is_none())
        .unwrap_or(false);
    if empty {
        return Ok(());
    }
    if !is_demo {
        return Err(CliError::Usage(format!(
            "{} exists and is not a demo deployment; choose another --data-dir (the demo rebuilds its directory from scratch)",
            data_dir.display()
        )));
    }
    for entry in [
        "catalog.db",
        "catalog.db-wal",
        "catalog.db-shm",
        "lake",
        "search",
        "generated",
        CREDENTIALS_FILE,
    ] {
        let path = data_dir.join(entry);
        let result = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else if path.exists() {
            std::fs::remove_file(&path)
        } else {
            Ok(())
        };
        result.map_err(|e| CliError::Failed(format!("cannot remove {}: {e}", path.display())))?;
    }
    Ok(())
}

/// Builds the demo deployment in `data_dir`.
pub async fn build(
    data_dir: &Path,
    config: Option<&Path>,
    scale: f64,
    seed: u64,
) -> CliResult<(Deployment, DemoSummary)> {
    let started = Instant::now();
    reset(data_dir)?;
    let deployment = Deployment::init(data_dir, config).await?;
    if !deployment.config.catalog.url.is_empty()
        && !deployment.config.catalog.url.starts_with("sqlite:")
    {
        let existing = deployment
            .store
            .list_resources(&Default::default(), Default::default())
            .await?;
        if existing.total > 0 {
            return Err(CliError::Usage("the demo needs an empty catalog; the configured PostgreSQL catalog already has resources".into()));
        }
    }
    let store = deployment.store.clone();
    let actor = Actor::system();

    // 1. Generate the departments' files.
    let generated = data_dir.join("generated");
    let resources = spec::resources();
    let pb = bar(resources.len() as u64, "generate");
    let manifest = generate::generate(
        &generated,
        generate::Options { scale, seed },
        |file, rows| {
            pb.set_message(format!("{file} ({rows} rows)"));
            pb.inc(1);
        },
    )?;
    pb.finish_with_message("done");

    // 2. The organisation tree, principals, resources with grades and sources.
    for org in spec::org_units() {
        store.upsert_org(&actor, &org).await?;
    }
    let mut credentials = Vec::new();
    for p in spec::PRINCIPALS {
        let (password, token) = (auth::new_password(), auth::new_token());
        let principal = Principal {
            id: PrincipalId::new(p.username),
            display_name: p.display_name.into(),
            kind: p.kind,
            org: OrgId::new(p.org),
            roles: p.roles.to_vec(),
            attributes: PrincipalAttributes {
                jurisdiction: p.jurisdiction.iter().map(|s| (*s).to_owned()).collect(),
                clearance: None,
            },
        };
        store
            .create_principal(
                &actor,
                &NewPrincipal {
                    principal,
                    password: Some(password.clone()),
                    token: Some(token.clone()),
                },
            )
            .await?;
        let org_name = store
            .get_org(&OrgId::new(p.org))
            .await?
            .map(|o| o.name)
            .unwrap_or_default();
        credentials.push(Credential {
            username: p.username.into(),
            password,
            token,
            organisation: p.org.into(),
            organisation_name: org_name,
            role: p
                .roles
                .first()
                .map(|r| r.as_code().to_owned())
                .unwrap_or_default(),
        });
    }
    let new: Vec<_> = resources.iter().map(|r| r.resource.clone()).collect();
    store.register_resources(&actor, &new).await?;
    for grant in spec::grants() {
        store.create_grant(&actor, &grant).await?;
    }
    for r in spec::responsibilities() {
        store.assign_responsibility(&actor, &r).await?;
    }
    for system in inventory::systems() {
        store.put_system(&actor, &system).await?;
    }
    store
        .put_code_list(&actor, &inventory::industry_sections()?)
        .await?;

    // 3. Land every file in its Delta table.
    let pb = bar(resources.len() as u64, "land");
    let mut rows = 0;
    for r in &resources {
        pb.set_message(r.delivery.file.to_owned());
        rows += land::land(&deployment, &manifest, r).await?.rows_written as u64;
        pb.inc(1);
    }
    pb.finish_with_message("done");
    deployment.sync_search().await?;

    // 4. Declare the quality rules and evaluate them with 一数一源 consistency, so that scores
    //    and the ranking are there from the start.
    let rules = zhongshu_quality::RuleSpec::parse_toml(QUALITY_RULES).map_err(CliError::Failed)?;
    zhongshu_quality::add_rules(store.as_ref(), &actor, &rules).await?;
    zhongshu_quality::check(store.as_ref(), &deployment.lake, None, "demo").await?;

    // 5. The deliveries after the first: daily readings (the last with a gateway fault, which
    //    opens an incident), a late delivery with rows to quarantine, an objection, a scan.
    let later = deliveries::arrive(&deployment, data_dir, &resources).await?;

    let path = data_dir.join(CREDENTIALS_FILE);
    let text = serde_json::to_string_pretty(&serde_json::json!({ "principals": credentials }))
        .map_err(|e| CliError::Failed(e.to_string()))?;
    std::fs::write(&path, text)
        .map_err(|e| CliError::Failed(format!("cannot write {}: {e}", path.display())))?;
    let summary = DemoSummary {
        resources: resources.len(),
        rows,
        seconds: started.elapsed().as_secs_f64(),
        later,
    };
    Ok((deployment, summary))
}

//! The `zhongshu` command as a library: argument definitions, the deployment it opens, and one
//! function per command. `main.rs` only parses, runs and maps errors to exit codes.
#![deny(missing_docs)]

pub mod cli;
pub mod commands;
pub mod config;
pub mod demo;
pub mod deployment;
pub mod error;
pub mod output;
pub mod quality_hooks;
pub mod server;

use cli::{Cli, Command};
use deployment::Deployment;
use error::{CliError, CliResult};

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> CliResult {
    match cli.command {
        Command::Init { deployment, admin } => {
            let d = Deployment::init(&deployment.data_dir, deployment.config.as_deref()).await?;
            println!("initialised {}", d.data_dir.display());
            match d.ensure_admin(&admin).await? {
                Some((p, password, token)) => {
                    let path = d.data_dir.join("admin-credentials.json");
                    let text =
                        serde_json::json!({"username": p.id, "password": password, "token": token})
                            .to_string();
                    std::fs::write(&path, text)
                        .map_err(|e| CliError::Failed(format!("{}: {e}", path.display())))?;
                    println!(
                        "administrator `{}` created; password and token written to {}",
                        p.id,
                        path.display()
                    );
                }
                None => println!("administrator `{admin}` already exists"),
            }
            Ok(())
        }
        Command::Demo {
            deployment,
            no_serve,
            scale,
            seed,
            serve,
        } => {
            let (d, summary) = demo::build(
                &deployment.data_dir,
                deployment.config.as_deref(),
                scale,
                seed,
            )
            .await?;
            println!(
                "demo lake of 坪山区 built in {:.1}s: {} resources, {} rows landed in {}",
                summary.seconds,
                summary.resources,
                summary.rows,
                d.lake.root()
            );
            println!(
                "waiting for the data officers: {} rows in quarantine, {} open quality incidents, {} classification suggestions, 1 objection",
                summary.later.quarantined, summary.later.incidents, summary.later.suggestions
            );
            println!(
                "logins: {}",
                d.data_dir.join(demo::CREDENTIALS_FILE).display()
            );
            if no_serve {
                return Ok(());
            }
            server::serve(&d, &serve).await
        }
        Command::Generate { out, scale, seed } => {
            let manifest = demo::generate::generate(
                &out,
                demo::generate::Options { scale, seed },
                |file, rows| {
                    println!("{file:<40} {rows:>9} rows");
                },
            )?;
            let defects: u64 = manifest.defects.iter().map(|d| d.count).sum();
            println!(
                "wrote {} files and manifest.json to {} ({defects} planted defects)",
                manifest.files.len(),
                out.display()
            );
            Ok(())
        }
        Command::Serve { deployment, serve } => {
            let d = Deployment::open(&deployment.data_dir, deployment.config.as_deref()).await?;
            server::serve(&d, &serve).await
        }
        Command::Catalog {
            deployment,
            actor,
            command,
        } => {
            let d = Deployment::open(&deployment.data_dir, deployment.config.as_deref()).await?;
            commands::catalog::run(&d, &actor, command).await
        }
        Command::Share {
            deployment,
            actor,
            command,
        } => {
            let d = Deployment::open(&deployment.data_dir, deployment.config.as_deref()).await?;
            commands::share::run(&d, &actor, command).await
        }
        Command::Standards {
            deployment,
            actor,
            command,
        } => {
            let d = Deployment::open(&deployment.data_dir, deployment.config.as_deref()).await?;
            commands::standards::run(&d, &actor, command).await
        }
        Command::Ingest {
            deployment,
            command,
        } => {
            let d = Deployment::open(&deployment.data_dir, deployment.config.as_deref()).await?;
            commands::ingest::run(&d, command).await
        }
        Command::Quality {
            deployment,
            command,
        } => {
            let d = Deployment::open(&deployment.data_dir, deployment.config.as_deref()).await?;
            commands::quality::run(&d, command).await
        }
        Command::Objection {
            deployment,
            actor,
            command,
        } => {
            let d = Deployment::open(&deployment.data_dir, deployment.config.as_deref()).await?;
            commands::objection::run(&d, &actor, command).await
        }
        Command::Table {
            deployment,
            command,
        } => {
            let d = Deployment::open(&deployment.data_dir, deployment.config.as_deref()).await?;
            commands::table::run(&d, command).await
        }
        Command::Sql {
            deployment,
            principal,
            purpose,
            format,
            sql,
        } => {
            let d = Deployment::open(&deployment.data_dir, deployment.config.as_deref()).await?;
            commands::sql::run(&d, &principal, purpose, &format, &sql).await
        }
        Command::Grant {
            deployment,
            command,
        } => {
            let d = Deployment::open(&deployment.data_dir, deployment.config.as_deref()).await?;
            commands::grant::run(&d, command).await
        }
        Command::Policy {
            deployment,
            command,
        } => {
            let d = Deployment::open(&deployment.data_dir, deployment.config.as_deref()).await?;
            commands::grant::run_policy(&d, command).await
        }
        Command::Audit {
            deployment,
            command,
        } => {
            let d = Deployment::open(&deployment.data_dir, deployment.config.as_deref()).await?;
            commands::audit::run(&d, command).await
        }
    }
}

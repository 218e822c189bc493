//! `zhongshu quality …`: rules, checks, 一数一源 consistency, scores and the ranking.

use crate::cli::QualityCommand;
use crate::deployment::Deployment;
use crate::error::{CliError, CliResult};
use crate::output;
use zhongshu_catalog::{Actor, CatalogStore as _, QualityResult, ResourceId};
use zhongshu_quality::RuleSpec;
use zhongshu_quality::profile::ProfileReader;

fn result_rows(results: &[QualityResult], examples: bool) -> Vec<Vec<String>> {
    results
        .iter()
        .map(|r| {
            let mut row = vec![
                r.evaluation.to_string(),
                r.rule.clone(),
                r.resource.to_string(),
                r.column.clone().unwrap_or_default(),
                r.dimension.clone(),
                r.severity.clone(),
                r.rows_checked.to_string(),
                r.rows_failed.to_string(),
                format!("{:.2}%", 100.0 * r.failure_rate()),
            ];
            if examples {
                row.push(
                    r.examples
                        .iter()
                        .map(|e| e.to_string())
                        .collect::<Vec<_>>()
                        .join(" "),
                );
            }
            row
        })
        .collect()
}

const RESULT_HEADERS: [&str; 10] = [
    "evaluation",
    "rule",
    "resource",
    "column",
    "dimension",
    "severity",
    "checked",
    "failed",
    "rate",
    "examples",
];

fn print_results(results: &[QualityResult], examples: bool, json: bool) {
    if json {
        output::json(&results);
    } else {
        let n = if examples { 10 } else { 9 };
        output::table(&RESULT_HEADERS[..n], &result_rows(results, examples));
    }
}

/// Runs a quality command.
pub async fn run(d: &Deployment, command: QualityCommand) -> CliResult {
    let store = d.store.as_ref();
    match command {
        QualityCommand::Add { file, actor } => {
            let actor = super::actor(d, &actor).await?;
            let text = std::fs::read_to_string(&file)
                .map_err(|e| CliError::Usage(format!("{}: {e}", file.display())))?;
            let rules = RuleSpec::parse_toml(&text)
                .map_err(|e| CliError::Usage(format!("{}: {e}", file.display())))?;
            // Who declares a rule is decided in `zhongshu_quality::manage` for every door; the
            // host's operator, who holds the data directory, declares any.
            match super::principal(d, &actor.0).await? {
                Some(p) => zhongshu_quality::manage::declare(&d.core()?, &p, &rules).await?,
                None => zhongshu_quality::add_rules(store, &actor, &rules).await?,
            }
            println!(
                "{} rule(s) saved; evaluate them with `zhongshu quality check`",
                rules.len()
            );
        }
        QualityCommand::Rules { json } => {
            let rules: Vec<RuleSpec> = store
                .list_quality_rules()
                .await?
                .iter()
                .map(RuleSpec::from_record)
                .collect::<Result<_, _>>()
                .map_err(CliError::Failed)?;
            if json {
                output::json(&rules);
            } else {
                let rows: Vec<Vec<String>> = rules
                    .iter()
                    .map(|r| {
                        vec![
                            r.id.clone(),
                            r.resource
                                .clone()
                                .or(r.element.as_ref().map(|e| format!("element {e}")))
                                .unwrap_or_default(),
                            r.column.clone().unwrap_or_default(),
                            r.check.kind().into(),
                            r.check.dimension().as_code().into(),
                            r.severity.as_code().into(),
                        ]
                    })
                    .collect();
                output::table(
                    &["rule", "scope", "column", "kind", "dimension", "severity"],
                    &rows,
                );
            }
        }
        QualityCommand::Remove { id, actor } => {
            match super::principal(d, &actor).await? {
                Some(p) => zhongshu_quality::manage::remove(&d.core()?, &p, &id).await?,
                None => store.delete_quality_rule(&Actor(actor), &id).await?,
            }
            println!("rule {id} removed");
        }
        QualityCommand::Check {
            resource,
            examples,
            json,
        } => {
            let only = resource.map(ResourceId::new);
            let evaluation =
                zhongshu_quality::check(store, &d.lake, only.as_ref(), "manual").await?;
            if json {
                output::json(&evaluation);
            } else {
                print_results(&evaluation.results, examples, false);
                let failed: i64 = evaluation.results.iter().map(|r| r.rows_failed).sum();
                println!(
                    "evaluation {}: {} result(s), {failed} failing row(s); scores: `zhongshu quality score`",
                    evaluation.evaluation,
                    evaluation.results.len()
                );
                for i in &evaluation.incidents {
                    println!("incident {}: {}", i.id, incident_text(i));
                }
                for e in &evaluation.errors {
                    eprintln!("not evaluated: {e}");
                }
            }
        }
        QualityCommand::Results {
            resource,
            history,
            json,
        } => {
            let only = resource.map(ResourceId::new);
            let results = store.quality_results(only.as_ref(), !history).await?;
            print_results(&results, true, json);
        }
        QualityCommand::Score { resource, json } => {
            let only = resource.map(ResourceId::new);
            let scores = zhongshu_quality::resource_scores(store, only.as_ref()).await?;
            if json {
                output::json(&scores);
            } else {
                let dims = zhongshu_quality::Dimension::ALL;
                let mut headers = vec!["resource", "score"];
                headers.extend(dims.iter().map(|d| d.title()));
                let rows: Vec<Vec<String>> = scores
                    .iter()
                    .map(|s| {
                        let mut row = vec![s.resource.to_string(), format!("{:.1}", s.score)];
                        row.extend(dims.iter().map(|d| {
                            s.dimensions
                                .get(d.as_code())
                                .map_or("-".into(), |v| format!("{v:.1}"))
                        }));
                        row
                    })
                    .collect();
                output::table(&headers, &rows);
            }
        }
        QualityCommand::Rank { actor, json } => {
            let ranking = match super::principal(d, &actor).await? {
                Some(p) => zhongshu_quality::views::ranking(&d.core()?, &p).await?,
                None => {
                    let catalogue = d.query_service()?.resources().await?;
                    zhongshu_quality::department_ranking(store, &catalogue, &|_| true).await?
                }
            };
            if json {
                output::json(&ranking);
            } else {
                let rows: Vec<Vec<String>> = ranking
                    .iter()
                    .map(|d| {
                        vec![
                            d.rank.to_string(),
                            d.department.clone(),
                            d.name.clone(),
                            format!("{:.1}", d.score),
                            format!("{:.1}", d.data_score),
                            format!("{} (−{:.0})", d.open_objections, d.objection_penalty),
                            format!("{}/{}", d.evaluated, d.resources),
                        ]
                    })
                    .collect();
                output::table(
                    &[
                        "rank",
                        "department",
                        "name",
                        "score",
                        "data",
                        "open objections",
                        "evaluated",
                    ],
                    &rows,
                );
            }
        }
        QualityCommand::Profile {
            resource,
            rules,
            accept,
            actor,
            json,
        } => {
            let id = ResourceId::new(resource.clone());
            super::actor(d, &actor).await?;
            super::permit(d, &actor, &id, zhongshu_policies::Action::Profile).await?;
            super::permit(d, &actor, &id, zhongshu_policies::Action::Read).await?;
            if accept {
                super::permit(d, &actor, &id, zhongshu_policies::Action::ManageRules).await?;
            }
            let detail = store
                .get_resource(&id)
                .await?
                .ok_or_else(|| CliError::Failed(format!("no resource {resource}")))?;
            let reader = match super::principal(d, &actor).await? {
                Some(p) => ProfileReader::governed(&d.core()?, &p, &detail).await?,
                None => ProfileReader::system(&d.lake, &detail, &actor).await?,
            };
            let profile = zhongshu_quality::profile::profile(&reader, &detail).await?;
            if json {
                output::json(&profile);
            } else {
                print_profile(&profile);
            }
            if let Some(path) = rules {
                let text = rules_toml(&profile.suggestions)?;
                std::fs::write(&path, text)
                    .map_err(|e| CliError::Failed(format!("{}: {e}", path.display())))?;
                if !json {
                    println!(
                        "{} suggested rule(s) written to {}; edit them, then `zhongshu quality add {}`",
                        profile.suggestions.len(),
                        path.display(),
                        path.display()
                    );
                }
            }
            if accept {
                let actor = super::actor(d, &actor).await?;
                zhongshu_quality::add_rules(store, &actor, &profile.suggestions).await?;
                if !json {
                    println!("{} suggested rule(s) saved", profile.suggestions.len());
                }
            }
        }
        QualityCommand::Incidents {
            resource,
            all,
            json,
        } => {
            let only = resource.map(ResourceId::new);
            let incidents = store.list_incidents(only.as_ref(), !all).await?;
            if json {
                output::json(&incidents);
            } else if incidents.is_empty() {
                println!("no {}incidents", if all { "" } else { "open " });
            } else {
                for i in &incidents {
                    println!("incident {} [{}]: {}", i.id, i.status, incident_text(i));
                }
            }
        }
        QualityCommand::Resolve { id, actor } => {
            let actor = super::actor(d, &actor).await?;
            let i = store.resolve_incident(&actor, id).await?;
            println!("incident {} resolved by {}", i.id, actor.0);
        }
        QualityCommand::Report {
            resource,
            format,
            output,
        } => {
            let report =
                zhongshu_quality::report::gather(store, &ResourceId::new(resource)).await?;
            let text = match format.as_str() {
                "md" | "markdown" => zhongshu_quality::report::markdown(&report),
                "html" => zhongshu_quality::report::html(&report),
                other => {
                    return Err(CliError::Usage(format!("--format {other}: use md or html")));
                }
            };
            match output {
                Some(path) => {
                    std::fs::write(&path, text)
                        .map_err(|e| CliError::Failed(format!("{}: {e}", path.display())))?;
                    println!("report written to {}", path.display());
                }
                None => print!("{text}"),
            }
        }
    }
    Ok(())
}

/// One line describing an incident.
pub fn incident_text(i: &zhongshu_catalog::QualityIncident) -> String {
    let series = if i.column.is_empty() {
        i.metric.clone()
    } else {
        format!("{} of {}", i.metric, i.column)
    };
    format!(
        "{} {series} = {:.4} outside [{:.4}, {:.4}] (expected {:.4}), evaluation {}",
        i.resource, i.observed, i.low, i.high, i.expected, i.evaluation
    )
}

fn print_profile(p: &zhongshu_quality::profile::Profile) {
    println!(
        "{}: {} rows (table version {})",
        p.resource,
        p.rows,
        p.table_version.map_or("-".into(), |v| v.to_string())
    );
    let freq = |f: &[zhongshu_quality::profile::Frequency]| {
        f.iter()
            .map(|f| format!("{}×{}", f.value, f.count))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let rows: Vec<Vec<String>> = p
        .columns
        .iter()
        .map(|c| {
            vec![
                c.column.clone(),
                c.data_type.clone(),
                format!("{:.2}%", 100.0 * c.null_rate),
                c.distinct.to_string(),
                c.min.clone().unwrap_or_default(),
                c.max.clone().unwrap_or_default(),
                freq(&c.top_values),
                freq(&c.patterns),
            ]
        })
        .collect();
    output::table(
        &[
            "column",
            "type",
            "nulls",
            "distinct",
            "min",
            "max",
            "top values",
            "patterns",
        ],
        &rows,
    );
    println!("suggested rules:");
    for r in &p.suggestions {
        println!(
            "  {} ({} on {}): {}",
            r.id,
            r.check.kind(),
            r.column.as_deref().unwrap_or("table"),
            r.description
        );
    }
}

/// Rules as a TOML file of `[[rules]]`.
fn rules_toml(rules: &[RuleSpec]) -> CliResult<String> {
    #[derive(serde::Serialize)]
    struct File<'a> {
        rules: &'a [RuleSpec],
    }
    toml::to_string(&File { rules }).map_err(|e| CliError::Failed(e.to_string()))
}

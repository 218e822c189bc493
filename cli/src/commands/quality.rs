//! `zhongshu quality …`: rules, checks, 一数一源 consistency, scores and the ranking.

use crate::cli::QualityCommand;
use crate::deployment::Deployment;
use crate::error::{CliError, CliResult};
use crate::output;
use zhongshu_catalog::{Actor, CatalogStore as _, QualityResult, ResourceId};
use zhongshu_quality::RuleSpec;

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
            zhongshu_quality::add_rules(store, &actor, &rules).await?;
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
        QualityCommand::Remove { id } => {
            store
                .delete_quality_rule(&Actor("operator".into()), &id)
                .await?;
            println!("rule {id} removed");
        }
        QualityCommand::Check {
            resource,
            examples,
            json,
        } => {
            let only = resource.map(ResourceId::new);
            let results = zhongshu_quality::check(store, &d.lake, only.as_ref(), "manual").await?;
            print_results(&results, examples, json);
            if !json {
                let failed: i64 = results.iter().map(|r| r.rows_failed).sum();
                println!(
                    "{} result(s), {failed} failing row(s); scores: `zhongshu quality score`",
                    results.len()
                );
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
        QualityCommand::Rank { json } => {
            let ranking = zhongshu_quality::department_ranking(store).await?;
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
                            format!("{}/{}", d.evaluated, d.resources),
                        ]
                    })
                    .collect();
                output::table(&["rank", "department", "name", "score", "evaluated"], &rows);
            }
        }
    }
    Ok(())
}

//! `zhongshu standards`: data elements, code lists, the system inventory and the data
//! dictionary. As a principal (`--as`) every change goes through the same use cases as the
//! console (`zhongshu_engine::standards`, `zhongshu_quality::manage`), decided with Cedar; the
//! host's operator, who holds the data directory, writes to the catalog directly.

use crate::cli::StandardsCommand;
use crate::deployment::Deployment;
use crate::error::{CliError, CliResult};
use crate::output;
use serde::Deserialize;
use zhongshu_catalog::validators::Validator;
use zhongshu_catalog::{
    CatalogStore as _, DataElement, ElementId, NewCodeList, NewSystem, parse_code_file,
};
use zhongshu_quality::manage::{self, ElementCheck};

fn parse<T: std::str::FromStr>(what: &str, text: &str) -> CliResult<T>
where
    T::Err: std::fmt::Display,
{
    text.parse()
        .map_err(|e| CliError::Usage(format!("--{what} {text}: {e}")))
}

#[derive(Deserialize)]
struct SystemFile {
    systems: Vec<NewSystem>,
}

/// Runs a standards command as `actor`.
pub async fn run(d: &Deployment, actor: &str, command: StandardsCommand) -> CliResult {
    let store = d.store.as_ref();
    let as_actor = super::actor(d, actor).await?;
    let principal = super::principal(d, actor).await?;
    let core = d.core()?;
    match command {
        StandardsCommand::ElementAdd {
            id,
            name,
            name_en,
            standard,
            data_type,
            validator,
            pattern,
            category,
            grade,
            description,
        } => {
            let check = match (validator, pattern) {
                (Some(v), _) => ElementCheck::Validator(parse::<Validator>("validator", &v)?),
                (None, Some(p)) => ElementCheck::Pattern(p),
                (None, None) => ElementCheck::None,
            };
            let element = DataElement {
                id: ElementId::new(id),
                name,
                name_en,
                standard,
                data_type,
                validator: None,
                default_category: parse("category", &category)?,
                default_grade: parse("grade", &grade)?,
                description,
            };
            let Some(p) = principal else {
                return Err(CliError::Usage(
                    "adding an element is a data officer's: run it --as a data officer or the CDO"
                        .into(),
                ));
            };
            let added = manage::define_element(&core, &p, element, check).await?;
            println!("data element {} ({}) added", added.id, added.name);
        }
        StandardsCommand::CodeLists { json } => {
            let lists = zhongshu_engine::standards::code_lists(&core).await?;
            if json {
                output::json(&lists);
                return Ok(());
            }
            let rows: Vec<Vec<String>> = lists
                .iter()
                .map(|l| {
                    vec![
                        l.id.clone(),
                        l.name.clone(),
                        l.standard.clone().unwrap_or_default(),
                        l.codes.to_string(),
                        l.updated_by.clone(),
                    ]
                })
                .collect();
            output::table(&["id", "name", "standard", "codes", "loaded by"], &rows);
        }
        StandardsCommand::CodeList { id, json } => {
            let list = zhongshu_engine::standards::code_list(&core, &id).await?;
            if json {
                output::json(&list);
                return Ok(());
            }
            let rows: Vec<Vec<String>> = list
                .values
                .iter()
                .map(|v| vec![v.code.clone(), v.label.clone()])
                .collect();
            output::table(&["code", "label"], &rows);
        }
        StandardsCommand::CodeListLoad {
            file,
            id,
            name,
            standard,
            description,
        } => {
            let bytes = std::fs::read(&file)
                .map_err(|e| CliError::Usage(format!("{}: {e}", file.display())))?;
            let list = NewCodeList {
                id,
                name,
                standard,
                description,
                values: parse_code_file(&file.display().to_string(), &bytes)?,
            };
            let loaded = match &principal {
                Some(p) => zhongshu_engine::standards::load_code_list(&core, p, &list).await?,
                None => store.put_code_list(&as_actor, &list).await?,
            };
            println!("code list {} loaded: {} codes", loaded.id, loaded.codes);
        }
        StandardsCommand::CodeListRemove { id } => {
            let used_by = manage::code_list_users(store, &id).await?;
            match &principal {
                Some(p) => {
                    zhongshu_engine::standards::remove_code_list(&core, p, &id, &used_by).await?
                }
                None if !used_by.is_empty() => {
                    return Err(CliError::Failed(format!(
                        "code list {id}: the rules {} use it; remove them first",
                        used_by.join(", ")
                    )));
                }
                None => store.remove_code_list(&as_actor, &id).await?,
            }
            println!("code list {id} removed");
        }
        StandardsCommand::Systems { json } => {
            let rows: Vec<(zhongshu_catalog::InformationSystem, bool)> = match &principal {
                Some(p) => zhongshu_engine::standards::systems(&core, p)
                    .await?
                    .into_iter()
                    .map(|r| (r.system, r.uncatalogued))
                    .collect(),
                None => store
                    .list_systems()
                    .await?
                    .into_iter()
                    .map(|s| {
                        let uncatalogued = s.system.resources.is_empty();
                        (s, uncatalogued)
                    })
                    .collect(),
            };
            print_systems(rows, json)?;
        }
        StandardsCommand::SystemRegister { file } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| CliError::Usage(format!("{}: {e}", file.display())))?;
            let systems = toml::from_str::<SystemFile>(&text)
                .map_err(|e| CliError::Usage(format!("{}: {e}", file.display())))?
                .systems;
            for system in &systems {
                match &principal {
                    Some(p) => {
                        zhongshu_engine::standards::register_system(&core, p, system).await?
                    }
                    None => store.put_system(&as_actor, system).await?,
                };
            }
            println!("{} system(s) registered", systems.len());
        }
        StandardsCommand::SystemRemove { id } => {
            match &principal {
                Some(p) => zhongshu_engine::standards::remove_system(&core, p, &id).await?,
                None => store.remove_system(&as_actor, &id).await?,
            }
            println!("system {id} removed");
        }
        StandardsCommand::Dictionary { org, format, out } => {
            let org = org.map(zhongshu_catalog::OrgId::new);
            let rows = match &principal {
                Some(p) => zhongshu_engine::standards::dictionary(&core, p, org.as_ref()).await?,
                None => {
                    zhongshu_engine::standards::dictionary_of(&core, org.as_ref(), |_| true).await?
                }
            };
            let bytes = match format.as_str() {
                "csv" => zhongshu_console::dictionary::csv(&rows),
                "xlsx" => zhongshu_console::dictionary::xlsx(&rows),
                other => {
                    return Err(CliError::Usage(format!(
                        "--format {other}: use csv or xlsx"
                    )));
                }
            }
            .map_err(CliError::Failed)?;
            std::fs::write(&out, bytes)
                .map_err(|e| CliError::Failed(format!("cannot write {}: {e}", out.display())))?;
            println!("{} item(s) written to {}", rows.len(), out.display());
        }
    }
    Ok(())
}

/// Systems with whether each produces no catalogued resource at all.
fn print_systems(
    systems: Vec<(zhongshu_catalog::InformationSystem, bool)>,
    json: bool,
) -> CliResult {
    if json {
        let rows: Vec<_> = systems
            .iter()
            .map(|(s, uncatalogued)| serde_json::json!({"system": s, "uncatalogued": uncatalogued}))
            .collect();
        output::json(&rows);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = systems
        .iter()
        .map(|(s, uncatalogued)| {
            vec![
                s.system.id.clone(),
                s.system.name.clone(),
                s.org_name.clone(),
                if *uncatalogued {
                    "⚠ 无已编目资源".into()
                } else {
                    s.system
                        .resources
                        .iter()
                        .map(|r| r.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                },
            ]
        })
        .collect();
    output::table(&["id", "system", "department", "resources"], &rows);
    Ok(())
}

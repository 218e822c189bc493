//! `zhongshu catalog …`: reading the catalog and the data officer's changes to it.

use crate::cli::CatalogCommand;
use crate::deployment::Deployment;
use crate::error::{CliError, CliResult};
use crate::output;
use serde::Deserialize;
use std::str::FromStr;
use zhongshu_catalog::{
    AttributeChange, BindingRole, CatalogError, Category, ElementId, Grade, LibraryTier,
    NewResource, OpenAttr, OrgId, Page, ResourceFilter, ResourceId, ShareAttr, Suggestion,
    SuggestionStatus,
};
use zhongshu_policies::Action;

fn parse<T: FromStr>(text: &str) -> CliResult<T>
where
    T::Err: std::fmt::Display,
{
    text.parse::<T>()
        .map_err(|e| CliError::Usage(e.to_string()))
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref()
        .map(ToString::to_string)
        .unwrap_or_else(|| "-".into())
}

/// Decides the review of suggestion `id` (it classifies its column) with Cedar.
async fn permit_suggestion(d: &Deployment, name: &str, id: i64) -> CliResult {
    use zhongshu_catalog::CatalogStore as _;
    let resource = d
        .store
        .list_suggestions(None, None)
        .await?
        .into_iter()
        .find(|s| s.id == id)
        .map(|s| s.resource)
        .ok_or_else(|| CatalogError::NotFound {
            kind: "suggestion",
            id: id.to_string(),
        })?;
    super::permit_indirect(d, name, &resource, Action::Classify, || {
        CatalogError::NotFound {
            kind: "suggestion",
            id: id.to_string(),
        }
        .into()
    })
    .await
}

/// Runs a catalog command.
pub async fn run(d: &Deployment, actor: &str, command: CatalogCommand) -> CliResult {
    use zhongshu_catalog::CatalogStore as _;
    let store = d.store.as_ref();
    let actor = super::actor(d, actor).await?;
    match command {
        CatalogCommand::Orgs => {
            let orgs = store.list_orgs().await?;
            let rows = orgs
                .iter()
                .map(|o| {
                    vec![
                        o.id.to_string(),
                        o.name.clone(),
                        o.kind.label().into(),
                        opt(&o.parent),
                        opt(&o.division_code),
                    ]
                })
                .collect::<Vec<_>>();
            output::table(&["id", "名称", "类型", "上级", "区划代码"], &rows);
        }
        CatalogCommand::Principals => {
            let rows = store
                .list_principals()
                .await?
                .iter()
                .map(|p| {
                    vec![
                        p.id.to_string(),
                        p.display_name.clone(),
                        p.org.to_string(),
                        p.roles
                            .iter()
                            .map(|r| r.label())
                            .collect::<Vec<_>>()
                            .join("、"),
                        p.attributes.jurisdiction.join(","),
                    ]
                })
                .collect::<Vec<_>>();
            output::table(&["用户", "名称", "单位", "角色", "辖区"], &rows);
        }
        CatalogCommand::Resources {
            provider,
            tier,
            page,
            page_size,
            json,
        } => {
            let filter = ResourceFilter {
                provider: provider.map(OrgId::new),
                tier: tier.map(|t| parse::<LibraryTier>(&t)).transpose()?,
                open_attr: None,
            };
            if page < 1 {
                return Err(CliError::Usage("--page starts at 1".into()));
            }
            let result = store
                .list_resources(
                    &filter,
                    Page {
                        offset: (page - 1) * page_size,
                        limit: page_size,
                    },
                )
                .await?;
            if json {
                output::json(&result);
                return Ok(());
            }
            let rows = result
                .items
                .iter()
                .map(|r| {
                    vec![
                        r.id.to_string(),
                        r.name.clone(),
                        r.provider.to_string(),
                        r.tier.label().into(),
                        r.grade
                            .map(|g| g.label().to_owned())
                            .unwrap_or_else(|| "-".into()),
                        r.share_attr.label().into(),
                        r.open_attr.label().into(),
                    ]
                })
                .collect::<Vec<_>>();
            output::table(
                &[
                    "资源代码",
                    "资源名称",
                    "提供方",
                    "库",
                    "分级",
                    "共享属性",
                    "开放属性",
                ],
                &rows,
            );
            println!(
                "\n第 {page} 页，共 {} 条 (page {page}, {} total)",
                result.total, result.total
            );
        }
        CatalogCommand::Resource { id, json } => {
            let detail = store
                .get_resource(&ResourceId::new(id.clone()))
                .await?
                .ok_or(CatalogError::NotFound {
                    kind: "resource",
                    id,
                })?;
            if json {
                output::json(&detail);
                return Ok(());
            }
            let r = &detail.resource;
            println!("{} {}", r.id, r.name);
            println!(
                "  提供方 provider     {} ({})",
                detail.provider_name, r.provider
            );
            println!("  摘要 abstract       {}", r.abstract_text);
            println!("  库 tier             {}", r.tier.label());
            println!(
                "  分级 grade          {}",
                r.grade.map(|g| g.label()).unwrap_or("-")
            );
            println!(
                "  共享属性 sharing    {} {}",
                r.share_attr.label(),
                r.share_conditions.as_deref().unwrap_or("")
            );
            println!(
                "  开放属性 opening    {} {}",
                r.open_attr.label(),
                r.open_conditions.as_deref().unwrap_or("")
            );
            println!("  更新周期 cycle      {}", r.update_cycle.label());
            println!();
            let rows = detail
                .columns
                .iter()
                .map(|c| {
                    vec![
                        c.name.clone(),
                        c.title.clone(),
                        c.data_type.clone(),
                        c.category.label().into(),
                        c.grade.label().into(),
                        c.element
                            .as_ref()
                            .map(|e| e.to_string())
                            .unwrap_or_default(),
                        c.binding.map(|b| b.label().to_owned()).unwrap_or_default(),
                    ]
                })
                .collect::<Vec<_>>();
            output::table(
                &["字段", "信息项", "类型", "分类", "分级", "数据元", "绑定"],
                &rows,
            );
            for t in &detail.tables {
                println!(
                    "\n  表 table {} → {} (version {}, {} rows, updated {})",
                    t.name, t.location, t.version, t.row_count, t.last_update
                );
            }
        }
        CatalogCommand::Elements { json } => {
            let mut all = Vec::new();
            for e in store.list_elements().await? {
                all.push(store.element_bindings(e.id.as_str()).await?);
            }
            if json {
                output::json(&all);
                return Ok(());
            }
            let rows = all
                .iter()
                .map(|b| {
                    vec![
                        b.element.id.to_string(),
                        b.element.name.clone(),
                        b.element.standard.clone().unwrap_or_default(),
                        b.element.default_grade.label().into(),
                        b.source
                            .as_ref()
                            .map(|s| format!("{}.{} ({})", s.resource, s.column, s.owner_name))
                            .unwrap_or_else(|| "未声明 none".into()),
                        b.replicas.len().to_string(),
                    ]
                })
                .collect::<Vec<_>>();
            output::table(
                &[
                    "id",
                    "数据元",
                    "标准",
                    "默认分级",
                    "权威来源 source",
                    "副本数",
                ],
                &rows,
            );
        }
        CatalogCommand::Element { key, json } => {
            let b = store.element_bindings(&key).await?;
            if json {
                output::json(&b);
                return Ok(());
            }
            let e = &b.element;
            println!("{} {} ({})", e.id, e.name, e.name_en);
            println!("  标准 standard   {}", e.standard.as_deref().unwrap_or("-"));
            println!(
                "  默认 default    {} / {}",
                e.default_category.label(),
                e.default_grade.label()
            );
            match &b.source {
                Some(s) => println!(
                    "  权威来源 source {} {} . {} — {} ({})",
                    s.resource, s.resource_name, s.column, s.owner_name, s.owner
                ),
                None => println!("  权威来源 source 未声明 (none declared)"),
            }
            println!("  副本 replicas   {}", b.replicas.len());
            for r in &b.replicas {
                println!(
                    "    {} {} . {} — {}",
                    r.resource, r.resource_name, r.column, r.owner_name
                );
            }
        }
        CatalogCommand::Coverage => {
            let c = match super::principal(d, &actor.0).await? {
                Some(p) => zhongshu_engine::catalogue::coverage(&d.core()?, &p).await?,
                None => store.coverage().await?,
            };
            println!(
                "一数一源覆盖率 coverage: {:.1}% ({} of {} data elements have an authoritative source)",
                c.ratio * 100.0,
                c.with_source,
                c.elements
            );
        }
        CatalogCommand::Search { query, page, json } => {
            d.sync_search().await?;
            let page = page.max(1);
            let results = d.search.lock().await.search(&query, (page - 1) * 20, 20)?;
            if json {
                output::json(&results);
                return Ok(());
            }
            let rows = results
                .hits
                .iter()
                .map(|h| {
                    vec![
                        h.id.to_string(),
                        h.name.clone(),
                        h.provider_name.clone(),
                        format!("{:.2}", h.score),
                    ]
                })
                .collect::<Vec<_>>();
            output::table(&["资源代码", "资源名称", "提供方", "相关度"], &rows);
            println!("\n共 {} 条 ({} matches)", results.total, results.total);
        }
        CatalogCommand::Scan {
            resource,
            sample,
            accept,
        } => {
            let resource = ResourceId::new(resource);
            super::permit(d, &actor.0, &resource, Action::Classify).await?;
            let suggestions = zhongshu_engine::classification::scan_resource(
                &d.core()?,
                &actor,
                &resource,
                sample,
            )
            .await?;
            print_suggestions(&suggestions);
            if accept {
                for s in &suggestions {
                    store.decide_suggestion(&actor, s.id, true).await?;
                }
                println!("\naccepted {} suggestions", suggestions.len());
            } else if !suggestions.is_empty() {
                println!(
                    "\naccept with `zhongshu catalog accept ID…`, reject with `zhongshu catalog reject ID…`"
                );
            }
        }
        CatalogCommand::Suggestions {
            resource,
            status,
            json,
        } => {
            let status = status.map(|s| parse::<SuggestionStatus>(&s)).transpose()?;
            let list = store
                .list_suggestions(resource.map(ResourceId::new).as_ref(), status)
                .await?;
            if json {
                output::json(&list);
            } else {
                print_suggestions(&list);
            }
        }
        CatalogCommand::Accept { ids } => {
            for id in ids {
                permit_suggestion(d, &actor.0, id).await?;
                let s = store.decide_suggestion(&actor, id, true).await?;
                println!(
                    "accepted {id}: {}.{} → {} {}",
                    s.resource,
                    s.column,
                    s.category.label(),
                    s.grade.label()
                );
            }
        }
        CatalogCommand::Reject { ids } => {
            for id in ids {
                permit_suggestion(d, &actor.0, id).await?;
                store.decide_suggestion(&actor, id, false).await?;
                println!("rejected {id}");
            }
        }
        CatalogCommand::Bind {
            resource,
            column,
            element,
            replica,
        } => {
            let target = ResourceId::new(resource.clone());
            super::permit(d, &actor.0, &target, Action::Classify).await?;
            let e = store
                .get_element(&element)
                .await?
                .ok_or(CatalogError::NotFound {
                    kind: "data element",
                    id: element,
                })?;
            let role = if replica {
                BindingRole::Replica
            } else {
                BindingRole::Source
            };
            store
                .bind_column(&actor, &target, &column, &e.id, role)
                .await?;
            println!(
                "{resource}.{column} is now {} of {} ({})",
                role.label(),
                e.name,
                e.id
            );
        }
        CatalogCommand::Unbind { resource, column } => {
            super::permit(
                d,
                &actor.0,
                &ResourceId::new(resource.clone()),
                Action::Classify,
            )
            .await?;
            store
                .unbind_column(&actor, &ResourceId::new(resource.clone()), &column)
                .await?;
            println!("{resource}.{column} is no longer bound");
        }
        CatalogCommand::Responsibilities { json } => {
            let rows = match super::principal(d, &actor.0).await? {
                Some(p) => zhongshu_engine::responsibility::list(&d.core()?, &p).await?,
                None => zhongshu_engine::responsibility::rows(&d.core()?, |_| true).await?,
            };
            if json {
                output::json(&rows);
                return Ok(());
            }
            let table = rows
                .iter()
                .map(|r| {
                    let assigned = r.responsibility.as_ref();
                    vec![
                        r.element.id.to_string(),
                        r.element.name.clone(),
                        assigned.map(|a| a.org_name.clone()).unwrap_or_default(),
                        assigned
                            .map(|a| a.assigned.legal_basis.clone())
                            .unwrap_or_default(),
                        assigned
                            .map(|a| a.assigned.update_duty.clone())
                            .unwrap_or_default(),
                        r.source
                            .as_ref()
                            .map(|s| format!("{} {}.{}", s.owner_name, s.resource, s.column))
                            .unwrap_or_default(),
                        if r.flagged {
                            "⚠ 来源不在责任部门"
                        } else {
                            ""
                        }
                        .into(),
                    ]
                })
                .collect::<Vec<_>>();
            output::table(
                &[
                    "数据元",
                    "名称",
                    "责任部门",
                    "依据",
                    "更新要求",
                    "权威来源",
                    "",
                ],
                &table,
            );
        }
        CatalogCommand::Assign {
            element,
            org,
            basis,
            duty,
        } => {
            let new = zhongshu_catalog::NewResponsibility {
                element: ElementId::new(element),
                org: OrgId::new(org),
                legal_basis: basis,
                update_duty: duty,
            };
            let r = match super::principal(d, &actor.0).await? {
                Some(p) => zhongshu_engine::responsibility::assign(&d.core()?, &p, &new).await?,
                None => store.assign_responsibility(&actor, &new).await?,
            };
            println!(
                "{} is the responsibility of {} ({})",
                r.assigned.element, r.org_name, r.assigned.legal_basis
            );
        }
        CatalogCommand::Unassign { element } => {
            let id = store
                .get_element(&element)
                .await?
                .ok_or(CatalogError::NotFound {
                    kind: "data element",
                    id: element,
                })?
                .id;
            match super::principal(d, &actor.0).await? {
                Some(p) => zhongshu_engine::responsibility::unassign(&d.core()?, &p, &id).await?,
                None => store.remove_responsibility(&actor, &id).await?,
            }
            println!("{id} is no longer on the responsibility list");
        }
        CatalogCommand::Classify {
            resource,
            column,
            category,
            grade,
            reason,
        } => {
            let (category, grade) = (parse::<Category>(&category)?, parse::<Grade>(&grade)?);
            let id = ResourceId::new(resource.clone());
            match super::principal(d, &actor.0).await? {
                Some(p) => {
                    zhongshu_engine::classification::classify(
                        &d.core()?,
                        &p,
                        &id,
                        &column,
                        (category, grade),
                        &reason,
                    )
                    .await?
                }
                None => {
                    store
                        .classify_column(&actor, &id, &column, category, grade, Some(&reason))
                        .await?
                }
            }
            println!(
                "{resource}.{column}: {} / {}",
                category.label(),
                grade.label()
            );
        }
        CatalogCommand::Set {
            resource,
            share_attr,
            share_conditions,
            open_attr,
            open_conditions,
        } => {
            let change = AttributeChange {
                share_attr: share_attr.map(|a| parse::<ShareAttr>(&a)).transpose()?,
                share_conditions: share_conditions.map(Some),
                open_attr: open_attr.map(|a| parse::<OpenAttr>(&a)).transpose()?,
                open_conditions: open_conditions.map(Some),
                ..AttributeChange::default()
            };
            // The sharing and open attributes decide who reads the data: the owner's data
            // officers and the CDO set them (`publish`), not whoever may classify.
            let resource = ResourceId::new(resource);
            super::permit(d, &actor.0, &resource, Action::Publish).await?;
            let r = store.set_attributes(&actor, &resource, &change).await?;
            println!(
                "{} {}: {} / {}",
                r.id,
                r.name,
                r.share_attr.label(),
                r.open_attr.label()
            );
        }
        CatalogCommand::Register { file } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| CliError::Usage(format!("{}: {e}", file.display())))?;
            let resources = parse_resources(&file, &text)?;
            let n = store.register_resources(&actor, &resources).await?;
            d.sync_search().await?;
            println!("registered {n} resource(s)");
        }
    }
    Ok(())
}

#[derive(Deserialize)]
struct ResourceFile {
    resources: Vec<NewResource>,
}

fn parse_resources(file: &std::path::Path, text: &str) -> CliResult<Vec<NewResource>> {
    let is_json = file.extension().is_some_and(|e| e == "json");
    let bad = |e: String| CliError::Usage(format!("{}: {e}", file.display()));
    if is_json {
        if let Ok(many) = serde_json::from_str::<ResourceFile>(text) {
            return Ok(many.resources);
        }
        serde_json::from_str::<NewResource>(text)
            .map(|r| vec![r])
            .map_err(|e| bad(e.to_string()))
    } else {
        if let Ok(many) = toml::from_str::<ResourceFile>(text) {
            return Ok(many.resources);
        }
        toml::from_str::<NewResource>(text)
            .map(|r| vec![r])
            .map_err(|e| bad(e.to_string()))
    }
}

fn print_suggestions(list: &[Suggestion]) {
    let rows = list
        .iter()
        .map(|s| {
            vec![
                s.id.to_string(),
                format!("{}.{}", s.resource, s.column),
                s.element
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                s.category.label().into(),
                s.grade.label().into(),
                format!("{:.0}%", s.confidence * 100.0),
                s.status.label().into(),
                s.evidence.clone(),
            ]
        })
        .collect::<Vec<_>>();
    output::table(
        &[
            "id",
            "字段",
            "数据元",
            "分类",
            "分级",
            "置信度",
            "状态",
            "依据",
        ],
        &rows,
    );
}

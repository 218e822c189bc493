//! The catalogue: search with facets, sorting and pages, and the resource page.

use super::i18n::{self, Lang};
use super::{ConsoleState, Ctx, Pager, failure};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use zhongshu_catalog::{
    Column, Grade, LibraryTier, OpenAttr, OrgId, Resource, ResourceId, ShareAttr, UpdateCycle,
};
use zhongshu_engine::catalogue::{self, Browse, BrowseOrder, FacetCount};
use zhongshu_quality::QualityError;
use zhongshu_quality::views;
use zhongshu_web::ApiError;
use zhongshu_web::session::SignedIn;

/// Resources per page.
const PAGE_SIZE: usize = 20;

/// The catalogue's query: words, facet values, order and page, as the page's links carry them.
#[derive(Debug, Clone, Default, Deserialize)]
pub(super) struct ListQuery {
    q: Option<String>,
    provider: Option<String>,
    tier: Option<String>,
    share: Option<String>,
    open: Option<String>,
    grade: Option<String>,
    cycle: Option<String>,
    sort: Option<String>,
    page: Option<usize>,
}

/// The facet dimensions: query parameter, text key, and the browse field each sets.
const FACETS: &[(&str, &str)] = &[
    ("provider", "catalogue.provider"),
    ("tier", "catalogue.tier"),
    ("share", "catalogue.share_attr"),
    ("open", "catalogue.open_attr"),
    ("grade", "catalogue.grade"),
    ("cycle", "catalogue.update_cycle"),
];

/// The orders: parameter value, text key, order.
const SORTS: &[(&str, &str, BrowseOrder)] = &[
    (
        "relevance",
        "catalogue.sort_relevance",
        BrowseOrder::Relevance,
    ),
    ("name", "catalogue.sort_name", BrowseOrder::Name),
    ("updated", "catalogue.sort_updated", BrowseOrder::Updated),
    ("code", "catalogue.sort_code", BrowseOrder::Code),
];

impl ListQuery {
    fn get(&self, param: &str) -> Option<&str> {
        match param {
            "q" => self.q.as_deref(),
            "provider" => self.provider.as_deref(),
            "tier" => self.tier.as_deref(),
            "share" => self.share.as_deref(),
            "open" => self.open.as_deref(),
            "grade" => self.grade.as_deref(),
            "cycle" => self.cycle.as_deref(),
            "sort" => self.sort.as_deref(),
            _ => None,
        }
        .filter(|v| !v.is_empty())
    }

    /// This query's link with `param` set to `value` (or removed) and the page reset, or with
    /// only the page changed when `param` is `page`.
    fn link(&self, param: &str, value: Option<&str>) -> String {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for name in [
            "q", "provider", "tier", "share", "open", "grade", "cycle", "sort",
        ] {
            let v = if name == param { value } else { self.get(name) };
            if let Some(v) = v {
                pairs.push((name.to_owned(), v.to_owned()));
            }
        }
        if let (Some(p), "page") = (value, param) {
            pairs.push(("page".into(), p.to_owned()));
        }
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        if query.is_empty() {
            "/console/catalogue".into()
        } else {
            format!("/console/catalogue?{query}")
        }
    }

    fn browse(&self) -> Result<Browse, ApiError> {
        fn parse<T: std::str::FromStr>(v: Option<&str>) -> Result<Option<T>, ApiError>
        where
            T::Err: std::fmt::Display,
        {
            v.map(str::parse::<T>)
                .transpose()
                .map_err(|e| ApiError::bad_request(e.to_string()))
        }
        let sort = match self.get("sort") {
            None => BrowseOrder::Relevance,
            Some(s) => SORTS
                .iter()
                .find(|(v, _, _)| *v == s)
                .map(|(_, _, o)| *o)
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "sort is one of relevance, name, updated, code, not {s}"
                    ))
                })?,
        };
        let page = self.page.unwrap_or(1).max(1);
        Ok(Browse {
            text: self.get("q").map(str::to_owned),
            provider: self.get("provider").map(OrgId::new),
            tier: parse::<LibraryTier>(self.get("tier"))?,
            share_attr: parse::<ShareAttr>(self.get("share"))?,
            open_attr: parse::<OpenAttr>(self.get("open"))?,
            grade: parse::<Grade>(self.get("grade"))?,
            update_cycle: parse::<UpdateCycle>(self.get("cycle"))?,
            sort,
            offset: (page - 1) * PAGE_SIZE,
            limit: PAGE_SIZE,
        })
    }
}

#[derive(Serialize)]
struct FacetValue {
    label: String,
    count: usize,
    href: String,
    selected: bool,
}

#[derive(Serialize)]
struct FacetView {
    key: &'static str,
    selected: bool,
    all_href: String,
    values: Vec<FacetValue>,
}

#[derive(Serialize)]
struct SortView {
    key: &'static str,
    href: String,
    selected: bool,
}

#[derive(Serialize)]
struct Hidden {
    name: &'static str,
    value: String,
}

#[derive(Serialize)]
struct Row {
    id: String,
    name: String,
    #[serde(rename = "abstract")]
    abstract_text: String,
    provider: String,
    share_attr: String,
    grade: Option<String>,
    updated_at: String,
}

#[derive(Serialize)]
struct ListPage {
    q: String,
    hidden: Vec<Hidden>,
    facets: Vec<FacetView>,
    sorts: Vec<SortView>,
    total: usize,
    items: Vec<Row>,
    pager: Pager,
    may_register: bool,
}

/// The label of a facet value in `lang`.
fn label(lang: Lang, param: &str, value: &str, orgs: &HashMap<String, String>) -> String {
    let vocab = match param {
        "provider" => return orgs.get(value).cloned().unwrap_or_else(|| value.to_owned()),
        "share" => "share_attr",
        "open" => "open_attr",
        "cycle" => "update_cycle",
        other => other,
    };
    i18n::vocabulary(lang, vocab, value)
}

pub(super) async fn list(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
    Query(q): Query<ListQuery>,
) -> Response {
    let path = q.link("page", q.page.map(|p| p.to_string()).as_deref());
    let ctx = Ctx::new(&headers, &path, Some("/console/catalogue"), Some(&who));
    let title = ctx.text("catalogue.title");
    let ctx = ctx.crumbs(&[(title, None)]);
    let browse = match q.browse() {
        Ok(b) => b,
        Err(e) => return failure(&state, &ctx, e),
    };
    let (browsed, orgs) = match gathered(&state, &who, &browse).await {
        Ok(found) => found,
        Err(e) => return failure(&state, &ctx, e),
    };
    let facet_counts: [&Vec<FacetCount>; 6] = [
        &browsed.facets.provider,
        &browsed.facets.tier,
        &browsed.facets.share_attr,
        &browsed.facets.open_attr,
        &browsed.facets.grade,
        &browsed.facets.update_cycle,
    ];
    let facets = FACETS
        .iter()
        .zip(facet_counts)
        .map(|((param, key), counts)| {
            let chosen = q.get(param);
            FacetView {
                key,
                selected: chosen.is_some(),
                all_href: q.link(param, None),
                values: counts
                    .iter()
                    .map(|c| FacetValue {
                        label: label(ctx.lang, param, &c.value, &orgs),
                        count: c.count,
                        href: q.link(param, Some(&c.value)),
                        selected: chosen == Some(c.value.as_str()),
                    })
                    .collect(),
            }
        })
        .collect();
    let chosen_sort = q.get("sort").unwrap_or("relevance");
    let sorts = SORTS
        .iter()
        .map(|(value, key, _)| SortView {
            key,
            href: q.link("sort", Some(value)),
            selected: *value == chosen_sort,
        })
        .collect();
    let hidden = FACETS
        .iter()
        .map(|(p, _)| *p)
        .chain(["sort"])
        .filter_map(|name| {
            q.get(name).map(|v| Hidden {
                name,
                value: v.to_owned(),
            })
        })
        .collect();
    let page = ListPage {
        q: q.get("q").unwrap_or_default().to_owned(),
        hidden,
        facets,
        sorts,
        total: browsed.total,
        pager: Pager::new(browsed.total, q.page.unwrap_or(1), PAGE_SIZE, |n| {
            q.link("page", Some(&n.to_string()))
        }),
        items: browsed
            .items
            .iter()
            .map(|d| row(&d.resource, &d.provider_name))
            .collect(),
        may_register: zhongshu_engine::registration::may_register(&state.core, &who.principal)
            .await
            .unwrap_or(false),
    };
    state
        .pages
        .render(StatusCode::OK, "catalogue.html", &ctx.frame, page)
}

fn row(r: &Resource, provider: &str) -> Row {
    Row {
        id: r.id.to_string(),
        name: r.name.clone(),
        abstract_text: r.abstract_text.clone(),
        provider: provider.to_owned(),
        share_attr: r.share_attr.as_code().to_owned(),
        grade: r.grade.map(|g| g.as_code().to_owned()),
        updated_at: r.updated_at.clone(),
    }
}

async fn gathered(
    state: &ConsoleState,
    who: &SignedIn,
    browse: &Browse,
) -> Result<(catalogue::Browsed, HashMap<String, String>), ApiError> {
    let browsed = catalogue::browse(&state.core, &who.principal, browse).await?;
    let orgs = state
        .core
        .store()
        .list_orgs()
        .await?
        .into_iter()
        .map(|o| (o.id.to_string(), o.name))
        .collect();
    Ok((browsed, orgs))
}

#[derive(Serialize)]
struct TableView {
    name: String,
    path: String,
    version: i64,
    last_update: String,
    fresh: bool,
}

#[derive(Serialize)]
struct Dot {
    x: f64,
    y: f64,
    at: String,
    score: f64,
}

#[derive(Serialize)]
pub(super) struct Trend {
    width: u32,
    height: u32,
    points: String,
    dots: Vec<Dot>,
}

#[derive(Serialize)]
struct ResourcePage {
    r: Resource,
    provider_name: String,
    columns: Vec<Column>,
    tables: Vec<TableView>,
    score: Option<f64>,
    trend: Option<Trend>,
    results: Vec<ResultView>,
    /// The reader may edit the metadata (`publish`).
    may_edit: bool,
    /// The reader may grade the columns (`classify`).
    may_classify: bool,
    categories: Vec<&'static str>,
    grades: Vec<&'static str>,
    /// The grants on it, for those who answer for them.
    grants: Vec<GrantLine>,
    /// The latest accesses from the audit, for those who may read the audit.
    accesses: Option<Vec<Vec<String>>>,
    /// Each table's latest commits: table, version, time (RFC 3339), operation.
    history: Vec<(String, i64, String, String)>,
    notice: Option<String>,
}

#[derive(Serialize)]
struct GrantLine {
    id: i64,
    grantee: String,
    purpose: Option<String>,
    expires_at: Option<String>,
    active: bool,
}

/// Accesses the resource page lists.
const ACCESSES_SHOWN: usize = 10;
/// Commits of each table the resource page lists.
const HISTORY_SHOWN: usize = 5;

/// The latest accesses to `tables` (schema.name) from the access audit, read through the
/// reader's own governed session (so only an audit reader gets any, and the look is itself on
/// record, door `console`): time, principal, door, outcome, rows.
async fn recent_accesses(
    state: &ConsoleState,
    who: &SignedIn,
    decisions: &zhongshu_policies::Decisions,
    tables: &[String],
) -> Result<Option<Vec<Vec<String>>>, ApiError> {
    // The decision the reader's SQL sessions get for `audit.queries`.
    if !decisions.allows_audit_log(zhongshu_policies::Action::Read) || tables.is_empty() {
        return Ok(None);
    }
    let session = state
        .core
        .query()
        .open(
            who.principal.clone(),
            None,
            zhongshu_engine::ClientInfo::answering("console", "console"),
        )
        .await?;
    // The audit keeps table names as a JSON list: match each quoted, so `a.b` is not `a.bc`.
    let conditions: Vec<String> = (1..=tables.len())
        .map(|i| format!("strpos(table_names, ${i}) > 0"))
        .collect();
    let sql = format!(
        "SELECT at, principal, protocol, outcome, rows_returned FROM audit.queries \
         WHERE {} ORDER BY seq DESC LIMIT {ACCESSES_SHOWN}",
        conditions.join(" OR ")
    );
    let params = zhongshu_engine::datafusion::common::ParamValues::List(
        tables
            .iter()
            .map(|t| {
                zhongshu_engine::datafusion::common::ScalarValue::Utf8(Some(format!("\"{t}\"")))
                    .into()
            })
            .collect(),
    );
    let mut stream = session.execute_with(&sql, Some(params)).await?;
    let mut rows = Vec::new();
    while let Some(batch) = futures::StreamExt::next(&mut stream).await {
        let batch = batch.map_err(|e| ApiError::internal(&e))?;
        for r in 0..batch.num_rows() {
            rows.push(
                batch
                    .columns()
                    .iter()
                    .map(|c| {
                        zhongshu_engine::arrow::util::display::array_value_to_string(c, r)
                            .unwrap_or_default()
                    })
                    .collect(),
            );
        }
    }
    Ok(Some(rows))
}

/// A rule's latest result; its examples (masked by grade where the reader may read them at
/// all) as JSON text.
#[derive(Serialize)]
struct ResultView {
    rule: String,
    dimension: String,
    severity: String,
    rows_checked: i64,
    rows_failed: i64,
    examples: Vec<String>,
}

impl From<zhongshu_catalog::QualityResult> for ResultView {
    fn from(r: zhongshu_catalog::QualityResult) -> Self {
        ResultView {
            examples: r.examples.iter().map(|e| e.to_string()).collect(),
            rule: r.rule,
            dimension: r.dimension,
            severity: r.severity,
            rows_checked: r.rows_checked,
            rows_failed: r.rows_failed,
        }
    }
}

/// A score line, drawn on the server: 0 at the bottom, 100 at the top.
pub(super) fn trend(points: &[views::ScorePoint]) -> Option<Trend> {
    if points.len() < 2 {
        return None;
    }
    let (width, height) = (480u32, 120u32);
    let step = f64::from(width - 20) / (points.len() - 1) as f64;
    let dots: Vec<Dot> = points
        .iter()
        .enumerate()
        .map(|(i, p)| Dot {
            x: 10.0 + step * i as f64,
            y: f64::from(height - 10) - p.score.clamp(0.0, 100.0) / 100.0 * f64::from(height - 20),
            at: p.evaluated_at.clone(),
            score: p.score,
        })
        .collect();
    let line = dots
        .iter()
        .map(|d| format!("{:.1},{:.1}", d.x, d.y))
        .collect::<Vec<_>>()
        .join(" ");
    Some(Trend {
        width,
        height,
        points: line,
        dots,
    })
}

/// What a principal may see of a resource's quality: nothing (not an error) when it may
/// discover the resource but not report on it.
fn unless_missing<T: Default>(r: Result<T, QualityError>) -> Result<T, ApiError> {
    match r {
        Err(e) => {
            let e = ApiError::from(e);
            if e.status == StatusCode::NOT_FOUND {
                Ok(T::default())
            } else {
                Err(e)
            }
        }
        Ok(v) => Ok(v),
    }
}

async fn resource_page(
    state: &ConsoleState,
    who: &SignedIn,
    id: &ResourceId,
) -> Result<ResourcePage, ApiError> {
    let core = &state.core;
    let principal = &who.principal;
    let decisions = core.query().decisions(principal, None).await?;
    let detail = views::discoverable(core, &decisions, id).await?;
    let now = chrono::Utc::now();
    let allowed = catalogue::within_cycle(detail.resource.update_cycle);
    let tables = detail
        .tables
        .iter()
        .map(|t| {
            let fresh = match (
                allowed,
                chrono::DateTime::parse_from_rfc3339(&t.last_update),
            ) {
                (None, _) => true,
                (Some(a), Ok(u)) => now - u.with_timezone(&chrono::Utc) <= a,
                (Some(_), Err(_)) => false,
            };
            TableView {
                name: t.name.clone(),
                path: t.path.clone(),
                version: t.version,
                last_update: t.last_update.clone(),
                fresh,
            }
        })
        .collect();
    let scores = unless_missing(views::scores(core, principal, Some(id)).await)?;
    let history = unless_missing(views::score_history(core, principal, id).await)?;
    let results = unless_missing(views::results(core, principal, Some(id), true).await)?;
    let now = chrono::Utc::now();
    let grants = zhongshu_engine::grants::list(core, principal)
        .await?
        .into_iter()
        .filter(|g| &g.grant.resource == id)
        .map(|g| GrantLine {
            id: g.id,
            grantee: g.grant.grantee.to_string(),
            purpose: g.grant.purpose.clone(),
            expires_at: g.grant.expires_at.clone(),
            active: g.is_active(&now),
        })
        .collect();
    let sql_tables: Vec<String> = detail
        .tables
        .iter()
        .map(|t| {
            let (schema, name) = zhongshu_policies::table_name(&t.path);
            format!("{schema}.{name}")
        })
        .collect();
    let accesses = recent_accesses(state, who, &decisions, &sql_tables).await?;
    let commits =
        zhongshu_engine::maintenance::resource_history(core, principal, id, HISTORY_SHOWN)
            .await?
            .into_iter()
            .flat_map(|(table, commits)| {
                commits.into_iter().map(move |c| {
                    let at = c
                        .timestamp
                        .and_then(chrono::DateTime::from_timestamp_millis)
                        .map(|t| t.to_rfc3339())
                        .unwrap_or_default();
                    (
                        table.clone(),
                        c.version,
                        at,
                        c.operation.unwrap_or_default(),
                    )
                })
            })
            .collect();
    Ok(ResourcePage {
        may_edit: decisions.allows(id, zhongshu_policies::Action::Publish),
        may_classify: decisions.allows(id, zhongshu_policies::Action::Classify),
        categories: zhongshu_catalog::Category::ALL
            .iter()
            .map(|c| c.as_code())
            .collect(),
        grades: Grade::ALL.iter().map(|g| g.as_code()).collect(),
        grants,
        accesses,
        history: commits,
        notice: None,
        score: scores.first().map(|s| s.score),
        trend: trend(&history),
        results: results.into_iter().map(ResultView::from).collect(),
        provider_name: detail.provider_name,
        columns: detail.columns,
        tables,
        r: detail.resource,
    })
}

#[derive(Deserialize, Default)]
pub(super) struct ResourceQuery {
    done: Option<String>,
}

pub(super) async fn resource(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<ResourceQuery>,
) -> Response {
    let path = format!("/console/resources/{id}");
    let ctx = Ctx::new(&headers, &path, Some("/console/catalogue"), Some(&who));
    let id = ResourceId::new(id);
    match resource_page(&state, &who, &id).await {
        Ok(mut page) => {
            page.notice = q.done.as_deref().and_then(|d| match d {
                "registered" | "edited" | "graded" => Some(ctx.text(&format!("resource.done_{d}"))),
                _ => None,
            });
            let trail = [
                (
                    ctx.text("catalogue.title"),
                    Some("/console/catalogue".to_owned()),
                ),
                (page.r.name.clone(), None),
            ];
            let ctx = ctx.crumbs(&trail);
            state
                .pages
                .render(StatusCode::OK, "resource.html", &ctx.frame, page)
        }
        Err(e) => failure(&state, &ctx, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_keep_the_other_choices_and_start_again_at_page_one() {
        let q = ListQuery {
            q: Some("人口".into()),
            tier: Some("base".into()),
            page: Some(3),
            ..ListQuery::default()
        };
        assert_eq!(
            q.link("grade", Some("L3")),
            "/console/catalogue?q=%E4%BA%BA%E5%8F%A3&tier=base&grade=L3"
        );
        assert_eq!(
            q.link("tier", None),
            "/console/catalogue?q=%E4%BA%BA%E5%8F%A3"
        );
        assert_eq!(
            q.link("page", Some("4")),
            "/console/catalogue?q=%E4%BA%BA%E5%8F%A3&tier=base&page=4"
        );
    }

    #[test]
    fn a_value_outside_a_vocabulary_is_refused_with_the_values_it_may_take() {
        let q = ListQuery {
            grade: Some("L9".into()),
            ..ListQuery::default()
        };
        let e = q.browse().unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert!(e.message.contains("L3"), "{}", e.message);
    }

    #[test]
    fn every_facet_and_order_has_its_text() {
        let keys = FACETS
            .iter()
            .map(|(_, k)| *k)
            .chain(SORTS.iter().map(|(_, k, _)| *k));
        for key in keys {
            for lang in [Lang::Zh, Lang::En] {
                assert_ne!(i18n::text(lang, key), key);
            }
        }
    }
}

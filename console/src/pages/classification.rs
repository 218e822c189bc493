//! The 分类分级 workbench: run a discovery scan, review its suggestions (accept, reject, or
//! accept with another category and grade), and the privacy officer's view of every column at
//! L3 and above by department. Each change asks Cedar (`classify`) through
//! `zhongshu_engine::classification`, as the CLI and the API do.

use super::{ConsoleState, Ctx, Pager, Tab, failure, form_ctx, outcome, resource_names};
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use zhongshu_catalog::{Category, Grade, ResourceId, Suggestion, SuggestionStatus};
use zhongshu_engine::classification::{self, SensitiveColumn};
use zhongshu_web::ApiError;
use zhongshu_web::session::SignedIn;

/// Rows per page.
const PAGE_SIZE: usize = 25;
/// The rows a discovery scan samples from each table.
const SCAN_SAMPLE: usize = 1000;
/// The navigation section of these pages.
const SECTION: &str = "/console/classification";

#[derive(Deserialize, Default)]
pub(super) struct ListQuery {
    status: Option<String>,
    page: Option<usize>,
    done: Option<String>,
    n: Option<usize>,
}

fn link(status: &str, page: usize) -> String {
    format!("/console/classification?status={status}&page={page}")
}

#[derive(Serialize)]
struct SuggestionView {
    id: i64,
    resource: String,
    resource_name: String,
    column: String,
    element: Option<String>,
    category: &'static str,
    grade: &'static str,
    confidence: f64,
    evidence: String,
    status: &'static str,
    decided_by: Option<String>,
}

impl SuggestionView {
    fn of(s: Suggestion, names: &HashMap<String, String>) -> Self {
        SuggestionView {
            resource_name: names.get(s.resource.as_str()).cloned().unwrap_or_default(),
            id: s.id,
            resource: s.resource.to_string(),
            column: s.column,
            element: s.element.map(|e| e.to_string()),
            category: s.category.as_code(),
            grade: s.grade.as_code(),
            confidence: s.confidence,
            evidence: s.evidence,
            status: s.status.as_code(),
            decided_by: s.decided_by.map(|p| p.to_string()),
        }
    }
}

#[derive(Serialize)]
struct ListPage {
    statuses: Vec<Tab>,
    items: Vec<SuggestionView>,
    total: usize,
    pager: Pager,
    notice: Option<String>,
    categories: Vec<&'static str>,
    grades: Vec<&'static str>,
}

pub(super) async fn list(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
    Query(q): Query<ListQuery>,
) -> Response {
    let status = q.status.clone().unwrap_or_else(|| "pending".into());
    let page = q.page.unwrap_or(1).max(1);
    let ctx = Ctx::new(&headers, &link(&status, page), Some(SECTION), Some(&who));
    let title = ctx.text("classification.title");
    let ctx = ctx.crumbs(&[(title, None)]);
    let filter = match status.as_str() {
        "all" => None,
        code => match code.parse::<SuggestionStatus>() {
            Ok(s) => Some(s),
            Err(_) => {
                let e = ApiError::bad_request("status is one of pending, accepted, rejected, all");
                return failure(&state, &ctx, e);
            }
        },
    };
    let found = async {
        let list = classification::suggestions(&state.core, &who.principal, filter).await?;
        let names = resource_names(&state, list.iter().map(|s| s.resource.as_str())).await?;
        Ok::<_, ApiError>((list, names))
    };
    let (list, names) = match found.await {
        Ok(found) => found,
        Err(e) => return failure(&state, &ctx, e),
    };
    let total = list.len();
    let pager = Pager::new(total, page, PAGE_SIZE, |n| link(&status, n));
    let items = list
        .into_iter()
        .skip((pager.page - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
        .map(|s| SuggestionView::of(s, &names))
        .collect();
    let notice = q.done.as_deref().and_then(|d| match d {
        "scanned" => Some(
            ctx.text("classification.scanned")
                .replace("{n}", &q.n.unwrap_or(0).to_string()),
        ),
        "accept" | "reject" | "change" => Some(ctx.text(&format!("classification.done_{d}"))),
        _ => None,
    });
    let statuses = SuggestionStatus::ALL
        .iter()
        .map(|s| s.as_code())
        .chain(["all"])
        .map(|code| Tab {
            key: format!("classification.status_{code}"),
            href: link(code, 1),
            selected: code == status,
        })
        .collect();
    let page = ListPage {
        statuses,
        items,
        total,
        pager,
        notice,
        categories: Category::ALL.iter().map(|c| c.as_code()).collect(),
        grades: Grade::ALL.iter().map(|g| g.as_code()).collect(),
    };
    state
        .pages
        .render(StatusCode::OK, "classification.html", &ctx.frame, page)
}

#[derive(Deserialize)]
pub(super) struct ScanForm {
    form_token: String,
    resource: String,
}

/// Runs a discovery scan of the resource the form names.
pub(super) async fn scan(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
    Form(form): Form<ScanForm>,
) -> Response {
    let ctx = match form_ctx(&state, &headers, &who, &form.form_token, SECTION) {
        Ok(ctx) => ctx,
        Err(refused) => return *refused,
    };
    let resource = ResourceId::new(form.resource.trim());
    let scanned = classification::scan(&state.core, &who.principal, &resource, SCAN_SAMPLE).await;
    outcome(&state, &ctx, scanned, |found| {
        format!("{SECTION}?status=pending&done=scanned&n={}", found.len())
    })
}

#[derive(Deserialize)]
pub(super) struct DecideForm {
    form_token: String,
    decision: String,
    category: Option<String>,
    grade: Option<String>,
}

/// Accepts, rejects or accepts with changes suggestion `id`.
pub(super) async fn decide(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
    Path(id): Path<i64>,
    Form(form): Form<DecideForm>,
) -> Response {
    let ctx = match form_ctx(&state, &headers, &who, &form.form_token, SECTION) {
        Ok(ctx) => ctx,
        Err(refused) => return *refused,
    };
    let (core, principal) = (&state.core, &who.principal);
    let decided = match form.decision.as_str() {
        "accept" => classification::decide(core, principal, id, true).await,
        "reject" => classification::decide(core, principal, id, false).await,
        "change" => {
            let category = form.category.as_deref().unwrap_or("").parse::<Category>();
            let grade = form.grade.as_deref().unwrap_or("").parse::<Grade>();
            match (category, grade) {
                (Ok(c), Ok(g)) => classification::accept_changed(core, principal, id, c, g).await,
                (Err(e), _) | (_, Err(e)) => {
                    return failure(&state, &ctx, ApiError::bad_request(e.to_string()));
                }
            }
        }
        _ => {
            let e = ApiError::bad_request("decision is one of accept, reject, change");
            return failure(&state, &ctx, e);
        }
    };
    outcome(&state, &ctx, decided, |_| {
        format!("{SECTION}?status=pending&done={}", form.decision)
    })
}

#[derive(Deserialize, Default)]
pub(super) struct SensitiveQuery {
    grade: Option<String>,
    provider: Option<String>,
    page: Option<usize>,
}

#[derive(Serialize)]
struct SensitiveView {
    #[serde(flatten)]
    column: SensitiveColumn,
    provider_name: String,
}

#[derive(Serialize)]
struct ByDepartment {
    provider: String,
    provider_name: String,
    columns: usize,
    href: String,
}

#[derive(Serialize)]
struct SensitivePage {
    floor: &'static str,
    floors: Vec<Tab>,
    departments: Vec<ByDepartment>,
    provider: Option<String>,
    items: Vec<SensitiveView>,
    total: usize,
    pager: Pager,
}

/// Every column at the chosen grade or above (L3 by default), counted by department and
/// listed, on the resources the reader may discover.
pub(super) async fn sensitive(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
    Query(q): Query<SensitiveQuery>,
) -> Response {
    let floor = q
        .grade
        .as_deref()
        .and_then(|g| g.parse::<Grade>().ok())
        .unwrap_or(Grade::FIRST_SENSITIVE);
    let provider = q.provider.clone().filter(|p| !p.is_empty());
    let page = q.page.unwrap_or(1).max(1);
    let link = |grade: &str, provider: Option<&str>, page: usize| {
        let mut l = format!("/console/classification/sensitive?grade={grade}&page={page}");
        if let Some(p) = provider {
            l.push_str("&provider=");
            l.push_str(&url::form_urlencoded::byte_serialize(p.as_bytes()).collect::<String>());
        }
        l
    };
    let path = link(floor.as_code(), provider.as_deref(), page);
    let ctx = Ctx::new(&headers, &path, Some(SECTION), Some(&who));
    let trail = [
        (ctx.text("classification.title"), Some(SECTION.to_owned())),
        (ctx.text("classification.sensitive"), None),
    ];
    let ctx = ctx.crumbs(&trail);
    let wanted = provider.as_deref().map(zhongshu_catalog::OrgId::new);
    let window = ((page - 1) * PAGE_SIZE, PAGE_SIZE);
    let found = async {
        let columns = classification::sensitive_columns(
            &state.core,
            &who.principal,
            floor,
            wanted.as_ref(),
            window,
        )
        .await?;
        let orgs: HashMap<String, String> = state
            .core
            .store()
            .list_orgs()
            .await?
            .into_iter()
            .map(|o| (o.id.to_string(), o.name))
            .collect();
        Ok::<_, ApiError>((columns, orgs))
    };
    let (columns, orgs) = match found.await {
        Ok(found) => found,
        Err(e) => return failure(&state, &ctx, e),
    };
    let org_name = |id: &str| orgs.get(id).cloned().unwrap_or_else(|| id.to_owned());
    let departments = columns
        .by_department
        .iter()
        .map(|(org, n)| ByDepartment {
            provider: org.to_string(),
            provider_name: org_name(org.as_str()),
            columns: *n,
            href: link(floor.as_code(), Some(org.as_str()), 1),
        })
        .collect();
    let total = columns.total;
    let pager = Pager::new(total, page, PAGE_SIZE, |n| {
        link(floor.as_code(), provider.as_deref(), n)
    });
    let items = columns
        .items
        .into_iter()
        .map(|column| SensitiveView {
            provider_name: org_name(column.provider.as_str()),
            column,
        })
        .collect();
    let floors = Grade::ALL
        .iter()
        .filter(|g| **g >= Grade::FIRST_SENSITIVE)
        .map(|g| Tab {
            key: format!("vocab.grade.{}", g.as_code()),
            href: link(g.as_code(), provider.as_deref(), 1),
            selected: *g == floor,
        })
        .collect();
    let page = SensitivePage {
        floor: floor.as_code(),
        floors,
        departments,
        provider,
        items,
        total,
        pager,
    };
    state
        .pages
        .render(StatusCode::OK, "sensitive.html", &ctx.frame, page)
}

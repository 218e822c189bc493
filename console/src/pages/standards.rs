//! 数据标准 (standards): adding data elements with their check (a built-in validator or a
//! pattern), code lists loaded from a file (for `code_list` rules), and the data dictionary of
//! a department or the whole catalogue as CSV or XLSX. Adding is decided with Cedar
//! (`define_standards`); the dictionary holds only what the reader may discover.

use super::{ConsoleState, Ctx, Pager, bad_form, confirmed_ctx, failure, form_ctx, outcome};
use axum::extract::{Form, Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use zhongshu_catalog::validators::Validator;
use zhongshu_catalog::{
    Category, CodeListSummary, DataElement, ElementId, Grade, NewCodeList, OrgId, parse_code_file,
};
use zhongshu_engine::standards;
use zhongshu_quality::manage::{self, ElementCheck};
use zhongshu_web::ApiError;
use zhongshu_web::session::SignedIn;

/// The navigation section of these pages.
const SECTION: &str = "/console/standards";
/// Codes per page of a code list.
const PAGE_SIZE: usize = 50;
/// The largest code-list file accepted.
pub const UPLOAD_LIMIT: usize = 8 * 1024 * 1024;
/// The element types offered.
const TYPES: &[&str] = &["string", "int64", "float64", "date", "timestamp", "boolean"];

#[derive(Deserialize, Default)]
pub(super) struct PageQuery {
    done: Option<String>,
}

#[derive(Serialize)]
struct Choice {
    id: String,
    name: String,
}

#[derive(Serialize)]
struct StandardsPage {
    rights: standards::StandardsRights,
    lists: Vec<CodeListSummary>,
    orgs: Vec<Choice>,
    types: &'static [&'static str],
    categories: Vec<&'static str>,
    grades: Vec<&'static str>,
    validators: Vec<&'static str>,
    notice: Option<String>,
}

pub(super) async fn page(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
    Query(q): Query<PageQuery>,
) -> Response {
    let ctx = Ctx::new(&headers, SECTION, Some(SECTION), Some(&who));
    let title = ctx.text("standards.title");
    let ctx = ctx.crumbs(&[(title, None)]);
    let found = async {
        let rights = standards::rights(&state.core, &who.principal).await?;
        let lists = standards::code_lists(&state.core).await?;
        let orgs = state.core.store().list_orgs().await?;
        Ok::<_, ApiError>((rights, lists, orgs))
    };
    let (rights, lists, orgs) = match found.await {
        Ok(found) => found,
        Err(e) => return failure(&state, &ctx, e),
    };
    let notice = q.done.as_deref().and_then(|d| match d {
        "loaded" | "removed" => Some(ctx.text(&format!("standards.done_{d}"))),
        _ => None,
    });
    let page = StandardsPage {
        rights,
        lists,
        orgs: orgs
            .into_iter()
            .map(|o| Choice {
                id: o.id.to_string(),
                name: o.name,
            })
            .collect(),
        types: TYPES,
        categories: Category::ALL.iter().map(|c| c.as_code()).collect(),
        grades: Grade::ALL.iter().map(|g| g.as_code()).collect(),
        validators: Validator::ALL.iter().map(|v| v.as_code()).collect(),
        notice,
    };
    state
        .pages
        .render(StatusCode::OK, "standards.html", &ctx.frame, page)
}

#[derive(Deserialize)]
pub(super) struct ElementForm {
    form_token: String,
    id: String,
    name: String,
    name_en: String,
    standard: String,
    data_type: String,
    check: String,
    validator: String,
    pattern: String,
    category: String,
    grade: String,
    description: String,
}

/// Field `name`'s value parsed, or an error naming the field and what it takes.
fn field<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, ApiError>
where
    T::Err: std::fmt::Display,
{
    value
        .trim()
        .parse()
        .map_err(|e| ApiError::bad_request(format!("{name}: {e}")))
}

/// Adds a data element and its check.
pub(super) async fn add_element(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
    Form(form): Form<ElementForm>,
) -> Response {
    let ctx = match form_ctx(&state, &headers, &who, &form.form_token, SECTION) {
        Ok(ctx) => ctx,
        Err(refused) => return *refused,
    };
    let added = async {
        let check = match form.check.as_str() {
            "validator" => ElementCheck::Validator(field("validator", &form.validator)?),
            "pattern" if form.pattern.trim().is_empty() => {
                return Err(ApiError::bad_request(ctx.text("standards.pattern_needed")));
            }
            "pattern" => ElementCheck::Pattern(form.pattern.trim().to_owned()),
            _ => ElementCheck::None,
        };
        let element = DataElement {
            id: ElementId::new(form.id.trim()),
            name: form.name.trim().to_owned(),
            name_en: form.name_en.trim().to_owned(),
            standard: Some(form.standard.trim().to_owned()).filter(|s| !s.is_empty()),
            data_type: form.data_type.trim().to_owned(),
            validator: None,
            default_category: field("category", &form.category)?,
            default_grade: field("grade", &form.grade)?,
            description: form.description.trim().to_owned(),
        };
        Ok(manage::define_element(&state.core, &who.principal, element, check).await?)
    };
    outcome(&state, &ctx, added.await, |e: DataElement| {
        format!("/console/elements/{}?done=added", e.id)
    })
}

/// Loads a code list from an uploaded file (multipart: token, id, name, standard,
/// description, file).
pub(super) async fn load_list(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
    mut form: Multipart,
) -> Response {
    let ctx = Ctx::new(&headers, SECTION, Some(SECTION), Some(&who));
    let mut fields = std::collections::HashMap::new();
    let mut upload: Option<(String, Vec<u8>)> = None;
    loop {
        match form.next_field().await {
            Ok(Some(f)) => {
                let name = f.name().unwrap_or("").to_owned();
                let file_name = f.file_name().unwrap_or("codes.csv").to_owned();
                match f.bytes().await {
                    Ok(bytes) if name == "file" => upload = Some((file_name, bytes.to_vec())),
                    Ok(bytes) => {
                        fields.insert(name, String::from_utf8_lossy(&bytes).trim().to_owned());
                    }
                    Err(e) => return failure(&state, &ctx, ApiError::bad_request(e.body_text())),
                }
            }
            Ok(None) => break,
            Err(e) => return failure(&state, &ctx, ApiError::bad_request(e.body_text())),
        }
    }
    let value = |k: &str| fields.get(k).cloned().unwrap_or_default();
    if !who.form_token_is(&value("form_token")) {
        return bad_form(&state, &headers, &who);
    }
    let loaded = async {
        let (file, bytes) = upload
            .filter(|(_, b)| !b.is_empty())
            .ok_or_else(|| ApiError::bad_request(ctx.text("standards.file_needed")))?;
        let list = NewCodeList {
            id: value("id"),
            name: value("name"),
            standard: Some(value("standard")).filter(|s| !s.is_empty()),
            description: value("description"),
            values: parse_code_file(&file, &bytes)?,
        };
        Ok::<_, ApiError>(standards::load_code_list(&state.core, &who.principal, &list).await?)
    };
    outcome(&state, &ctx, loaded.await, |l: CodeListSummary| {
        format!("{SECTION}/lists/{}?done=loaded", l.id)
    })
}

#[derive(Deserialize, Default)]
pub(super) struct ListQuery {
    page: Option<usize>,
    done: Option<String>,
}

#[derive(Serialize)]
struct ListPage {
    list: CodeListSummary,
    codes: Vec<zhongshu_catalog::CodeValue>,
    pager: Pager,
    used_by: Vec<String>,
    removable: bool,
    notice: Option<String>,
}

/// One code list: its codes, page by page, the rules that use it, and removing it.
pub(super) async fn list_page(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<ListQuery>,
) -> Response {
    let path = format!("{SECTION}/lists/{id}");
    let ctx = Ctx::new(&headers, &path, Some(SECTION), Some(&who));
    let found = async {
        let list = standards::code_list(&state.core, &id).await?;
        let summary = standards::code_lists(&state.core)
            .await?
            .into_iter()
            .find(|l| l.id == id)
            .ok_or_else(|| {
                ApiError::from(zhongshu_catalog::CatalogError::not_found("code list", &id))
            })?;
        let used_by = manage::code_list_users(state.core.store().as_ref(), &id).await?;
        let rights = standards::rights(&state.core, &who.principal).await?;
        Ok::<_, ApiError>((list, summary, used_by, rights))
    };
    let (list, summary, used_by, rights) = match found.await {
        Ok(found) => found,
        Err(e) => return failure(&state, &ctx, e),
    };
    let title = ctx.text("standards.title");
    let ctx = ctx.crumbs(&[
        (title, Some(SECTION.to_owned())),
        (summary.name.clone(), None),
    ]);
    let page = q.page.unwrap_or(1).max(1);
    let pager = Pager::new(list.values.len(), page, PAGE_SIZE, |n| {
        format!("{path}?page={n}")
    });
    let removable =
        rights.manage || (rights.define && summary.updated_by == who.principal.id.as_str());
    let notice = (q.done.as_deref() == Some("loaded")).then(|| ctx.text("standards.done_loaded"));
    let view = ListPage {
        codes: pager.slice(list.values),
        list: summary,
        pager,
        used_by,
        removable,
        notice,
    };
    state
        .pages
        .render(StatusCode::OK, "codelist.html", &ctx.frame, view)
}

#[derive(Deserialize)]
pub(super) struct RemoveForm {
    form_token: String,
    confirm: Option<String>,
}

/// Removes a code list no rule uses, after a ticked confirmation.
pub(super) async fn remove_list(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<RemoveForm>,
) -> Response {
    let confirm = (form.form_token.as_str(), form.confirm.as_deref());
    let ctx = match confirmed_ctx(&state, &headers, &who, confirm, SECTION) {
        Ok(ctx) => ctx,
        Err(refused) => return *refused,
    };
    let removed = async {
        let used_by = manage::code_list_users(state.core.store().as_ref(), &id).await?;
        Ok::<_, ApiError>(
            standards::remove_code_list(&state.core, &who.principal, &id, &used_by).await?,
        )
    };
    outcome(&state, &ctx, removed.await, |()| {
        format!("{SECTION}?done=removed")
    })
}

#[derive(Deserialize, Default)]
pub(super) struct DictionaryQuery {
    org: Option<String>,
    format: Option<String>,
}

/// The data dictionary of a department (`org`) or of everything the reader may discover, as
/// CSV or XLSX (`format`).
pub(super) async fn dictionary(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
    Query(q): Query<DictionaryQuery>,
) -> Response {
    let ctx = Ctx::new(&headers, SECTION, Some(SECTION), Some(&who));
    let org = q
        .org
        .as_deref()
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(OrgId::new);
    let format = q.format.as_deref().unwrap_or("csv");
    let made = async {
        let rows = standards::dictionary(&state.core, &who.principal, org.as_ref()).await?;
        let file = match format {
            "xlsx" => crate::dictionary::xlsx(&rows),
            "csv" => crate::dictionary::csv(&rows),
            _ => return Err(ApiError::bad_request("format is csv or xlsx")),
        };
        file.map_err(|e| ApiError::internal(&e))
    };
    match made.await {
        Ok(bytes) => {
            let name = match &org {
                Some(o) => format!("zhongshu-dictionary-{o}.{format}"),
                None => format!("zhongshu-dictionary.{format}"),
            };
            let kind = if format == "xlsx" {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            } else {
                "text/csv; charset=utf-8"
            };
            (
                [
                    (header::CONTENT_TYPE, kind.to_owned()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{name}\""),
                    ),
                ],
                bytes,
            )
                .into_response()
        }
        Err(e) => failure(&state, &ctx, e),
    }
}

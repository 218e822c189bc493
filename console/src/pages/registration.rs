//! Registering a resource (编目) and editing it from a form: the descriptive metadata, the
//! sharing and open attributes and, when registering, its items. The use cases
//! (`zhongshu_engine::registration`, `classification::classify`) decide with Cedar; a refusal
//! of the catalog names the field and the rule, and the form comes back with what was typed.
//! Grading a column from the resource page takes a reason, kept in the change log.

use super::{ConsoleState, Ctx, failure, form_ctx, outcome};
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use zhongshu_catalog::{
    AttributeChange, Category, Column, Grade, LibraryTier, NewResource, OpenAttr, OrgId,
    ResourceId, ShareAttr, UpdateCycle,
};
use zhongshu_engine::{classification, registration, standards};
use zhongshu_web::ApiError;
use zhongshu_web::session::SignedIn;

/// The navigation section of these pages.
const SECTION: &str = "/console/catalogue";

/// What the form shows: the vocabularies to choose from and the values typed so far.
#[derive(Serialize)]
struct FormPage {
    editing: bool,
    action: String,
    values: ResourceForm,
    orgs: Vec<(String, String)>,
    share_attrs: Vec<&'static str>,
    open_attrs: Vec<&'static str>,
    cycles: Vec<&'static str>,
    tiers: Vec<&'static str>,
    error: Option<String>,
}

/// The form's fields; `items` holds one item per line: `name,title,type,category,grade[,key]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct ResourceForm {
    #[serde(default)]
    form_token: String,
    #[serde(default)]
    id: String,
    name: String,
    #[serde(default)]
    provider: String,
    #[serde(default)]
    abstract_text: String,
    #[serde(default)]
    format: String,
    share_attr: String,
    #[serde(default)]
    share_conditions: String,
    open_attr: String,
    #[serde(default)]
    open_conditions: String,
    update_cycle: String,
    #[serde(default)]
    tier: String,
    #[serde(default)]
    items: String,
}

fn codes<T: Copy>(all: &[T], code: impl Fn(T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|v| code(*v)).collect()
}

async fn render_form(
    state: &ConsoleState,
    ctx: Ctx,
    who: &SignedIn,
    (editing, action): (bool, String),
    values: ResourceForm,
    error: Option<String>,
) -> Response {
    let rights = match standards::rights(&state.core, &who.principal).await {
        Ok(r) => r,
        Err(e) => return failure(state, &ctx, e.into()),
    };
    let orgs = match state.core.store().list_orgs().await {
        Ok(orgs) => orgs,
        Err(e) => return failure(state, &ctx, e.into()),
    };
    let title = ctx.text(if editing {
        "register.edit_title"
    } else {
        "register.title"
    });
    let catalogue = ctx.text("catalogue.title");
    let ctx = ctx.crumbs(&[(catalogue, Some(SECTION.to_owned())), (title, None)]);
    let page = FormPage {
        editing,
        action,
        values,
        orgs: orgs
            .into_iter()
            .filter(|o| rights.manage || o.id == who.principal.org)
            .map(|o| (o.id.to_string(), o.name))
            .collect(),
        share_attrs: codes(ShareAttr::ALL, ShareAttr::as_code),
        open_attrs: codes(OpenAttr::ALL, OpenAttr::as_code),
        cycles: codes(UpdateCycle::ALL, UpdateCycle::as_code),
        tiers: codes(LibraryTier::ALL, LibraryTier::as_code),
        error,
    };
    let status = if page.error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    state
        .pages
        .render(status, "resource_form.html", &ctx.frame, page)
}

/// Field `name` parsed from `value`, or an error naming the field.
fn field<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    value.trim().parse().map_err(|e| format!("{name}: {e}"))
}

fn optional(text: &str) -> Option<String> {
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

/// The items of the form, one per line: `name,title,type,category,grade[,key]`.
fn items(text: &str) -> Result<Vec<Column>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let at = |e: String| format!("items, line {}: {e}", n + 1);
        let parts: Vec<&str> = line.split([',', '，']).map(str::trim).collect();
        if !(5..=6).contains(&parts.len()) {
            return Err(at(format!(
                "`{line}` has {} fields; write name,title,type,category,grade and optionally key",
                parts.len()
            )));
        }
        let is_key = match parts.get(5) {
            None => false,
            Some(k) if k.eq_ignore_ascii_case("key") || *k == "主键" => true,
            Some(other) => {
                return Err(at(format!(
                    "the sixth field is `key` or empty, not `{other}`"
                )));
            }
        };
        out.push(Column {
            name: parts[0].to_owned(),
            title: parts[1].to_owned(),
            data_type: parts[2].to_owned(),
            nullable: !is_key,
            is_key,
            description: String::new(),
            category: field::<Category>("category", parts[3]).map_err(at)?,
            grade: field::<Grade>("grade", parts[4]).map_err(at)?,
            element: None,
            binding: None,
        });
    }
    Ok(out)
}

fn new_resource(form: &ResourceForm) -> Result<NewResource, String> {
    Ok(NewResource {
        id: ResourceId::new(form.id.trim()),
        name: form.name.trim().to_owned(),
        provider: OrgId::new(form.provider.trim()),
        abstract_text: form.abstract_text.trim().to_owned(),
        format: optional(&form.format).unwrap_or_else(|| "数据库表".into()),
        share_attr: field("share_attr", &form.share_attr)?,
        share_conditions: optional(&form.share_conditions),
        open_attr: field("open_attr", &form.open_attr)?,
        open_conditions: optional(&form.open_conditions),
        update_cycle: field("update_cycle", &form.update_cycle)?,
        tier: field("tier", &form.tier)?,
        publish_date: Some(chrono::Utc::now().date_naive().to_string()),
        columns: items(&form.items)?,
    })
}

/// The empty registration form.
pub(super) async fn new_form(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
) -> Response {
    let ctx = Ctx::new(
        &headers,
        "/console/resources/new",
        Some(SECTION),
        Some(&who),
    );
    match registration::may_register(&state.core, &who.principal).await {
        Ok(true) => {}
        Ok(false) => {
            let e = ApiError::forbidden(ctx.text("register.refused"));
            return failure(&state, &ctx, e);
        }
        Err(e) => return failure(&state, &ctx, e.into()),
    }
    let values = ResourceForm {
        provider: who.principal.org.to_string(),
        share_attr: "conditional".into(),
        open_attr: "not_open".into(),
        update_cycle: "daily".into(),
        tier: "base".into(),
        format: "数据库表".into(),
        ..ResourceForm::default()
    };
    let action = (false, "/console/resources".to_owned());
    render_form(&state, ctx, &who, action, values, None).await
}

/// Registers the resource the form describes; a refusal shows the form again with its reason.
pub(super) async fn register(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
    Form(form): Form<ResourceForm>,
) -> Response {
    let ctx = match form_ctx(&state, &headers, &who, &form.form_token, SECTION) {
        Ok(ctx) => ctx,
        Err(refused) => return *refused,
    };
    let registered = match new_resource(&form) {
        Ok(new) => registration::register(&state.core, &who.principal, &new)
            .await
            .map_err(|e| ApiError::from(e).message),
        Err(e) => Err(e),
    };
    match registered {
        Ok(r) => {
            Redirect::to(&format!("/console/resources/{}?done=registered", r.id)).into_response()
        }
        Err(message) => {
            let action = (false, "/console/resources".to_owned());
            render_form(&state, ctx, &who, action, form, Some(message)).await
        }
    }
}

/// The edit form of a resource, filled with what it is now.
pub(super) async fn edit_form(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
    Path(id): Path<String>,
) -> Response {
    let path = format!("/console/resources/{id}/edit");
    let ctx = Ctx::new(&headers, &path, Some(SECTION), Some(&who));
    let id = ResourceId::new(id);
    let found = async {
        zhongshu_engine::catalogue::require(
            &state.core,
            &who.principal,
            &id,
            zhongshu_policies::Action::Publish,
        )
        .await?;
        state
            .core
            .store()
            .get_resource(&id)
            .await?
            .ok_or_else(|| zhongshu_catalog::CatalogError::not_found("resource", &id).into())
    };
    let detail: zhongshu_catalog::ResourceDetail = match found.await {
        Ok(d) => d,
        Err(e) => {
            let e: zhongshu_engine::EngineError = e;
            return failure(&state, &ctx, e.into());
        }
    };
    let r = detail.resource;
    let values = ResourceForm {
        id: r.id.to_string(),
        name: r.name,
        provider: r.provider.to_string(),
        abstract_text: r.abstract_text,
        format: r.format,
        share_attr: r.share_attr.as_code().into(),
        share_conditions: r.share_conditions.unwrap_or_default(),
        open_attr: r.open_attr.as_code().into(),
        open_conditions: r.open_conditions.unwrap_or_default(),
        update_cycle: r.update_cycle.as_code().into(),
        tier: r.tier.as_code().into(),
        ..ResourceForm::default()
    };
    render_form(&state, ctx, &who, (true, path), values, None).await
}

/// Saves the edit form.
pub(super) async fn edit(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<ResourceForm>,
) -> Response {
    let ctx = match form_ctx(&state, &headers, &who, &form.form_token, SECTION) {
        Ok(ctx) => ctx,
        Err(refused) => return *refused,
    };
    let path = format!("/console/resources/{id}/edit");
    let id = ResourceId::new(id);
    let change = (|| {
        Ok::<_, String>(AttributeChange {
            name: Some(form.name.clone()),
            abstract_text: Some(form.abstract_text.clone()),
            update_cycle: Some(field("update_cycle", &form.update_cycle)?),
            share_attr: Some(field("share_attr", &form.share_attr)?),
            share_conditions: Some(optional(&form.share_conditions)),
            open_attr: Some(field("open_attr", &form.open_attr)?),
            open_conditions: Some(optional(&form.open_conditions)),
        })
    })();
    let edited = match change {
        Ok(change) => registration::edit(&state.core, &who.principal, &id, &change)
            .await
            .map_err(ApiError::from),
        Err(e) => Err(ApiError::bad_request(e)),
    };
    match edited {
        Ok(r) => Redirect::to(&format!("/console/resources/{}?done=edited", r.id)).into_response(),
        Err(e) if e.status == StatusCode::NOT_FOUND => failure(&state, &ctx, e),
        Err(e) => {
            let mut values = form;
            values.id = id.to_string();
            render_form(&state, ctx, &who, (true, path), values, Some(e.message)).await
        }
    }
}

#[derive(Deserialize)]
pub(super) struct ClassifyForm {
    form_token: String,
    column: String,
    category: String,
    grade: String,
    reason: String,
}

/// Grades a column from the resource page, with the reason for the change.
pub(super) async fn classify(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<ClassifyForm>,
) -> Response {
    let ctx = match form_ctx(&state, &headers, &who, &form.form_token, SECTION) {
        Ok(ctx) => ctx,
        Err(refused) => return *refused,
    };
    let resource = ResourceId::new(id);
    let done = async {
        let category: Category =
            field("category", &form.category).map_err(ApiError::bad_request)?;
        let grade: Grade = field("grade", &form.grade).map_err(ApiError::bad_request)?;
        Ok::<_, ApiError>(
            classification::classify(
                &state.core,
                &who.principal,
                &resource,
                form.column.trim(),
                (category, grade),
                &form.reason,
            )
            .await?,
        )
    };
    outcome(&state, &ctx, done.await, |()| {
        format!("/console/resources/{resource}?done=graded")
    })
}

//! The console's web pages at `/console/`: the data officers' door in a browser.
//!
//! Pages are rendered on the server from templates ([`view`]), in Chinese by default and in
//! English ([`i18n`]); they need no script. A person signs in with a catalog principal's
//! password (`zhongshu_web::session`); each page then calls the same use cases as the HTTP
//! API, which decide every access with Cedar, so a page shows exactly what the principal's
//! SQL sessions and API calls would: a resource it may not discover is "not found" here too.
//! Every form carries the session's form token, checked before anything is done.

mod audit;
mod catalogue;
mod classification;
mod elements;
mod grants;
mod home;
pub mod i18n;
mod ingest;
mod objections;
mod quality;
mod registration;
mod responsibilities;
mod sharing;
mod signin;
mod standards;
mod systems;
pub mod view;

use axum::Router;
use axum::extract::{FromRef, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use i18n::{LANG_COOKIE, Lang};
use serde::Deserialize;
use std::sync::Arc;
use view::{Crumb, Frame, NavItem, Pages, UserView};
use zhongshu_catalog::Role;
use zhongshu_engine::Core;
use zhongshu_web::session::{SignedIn, cookie_value};
use zhongshu_web::{ApiError, Sessions};

/// What the pages share: the application core, the open sessions and the templates.
#[derive(Clone)]
pub struct ConsoleState {
    core: Core,
    sessions: Arc<Sessions>,
    pages: Arc<Pages>,
    ingest: ingest::Ingest,
}

impl FromRef<ConsoleState> for Core {
    fn from_ref(s: &ConsoleState) -> Core {
        s.core.clone()
    }
}

impl FromRef<ConsoleState> for Arc<Sessions> {
    fn from_ref(s: &ConsoleState) -> Arc<Sessions> {
        s.sessions.clone()
    }
}

/// Everyone's sections.
const EVERYONE: &[Role] = &[];

/// The sections of the navigation, in order: where, its text, and the roles it is shown to
/// (everyone when empty). The navigation only saves people a click: every page decides its
/// access with Cedar whoever opens it.
const SECTIONS: &[(&str, &str, &[Role])] = &[
    ("/console/", "nav.home", EVERYONE),
    ("/console/catalogue", "nav.catalogue", EVERYONE),
    ("/console/elements", "nav.elements", EVERYONE),
    (
        "/console/standards",
        "nav.standards",
        &[Role::Cdo, Role::DataOfficer, Role::Admin],
    ),
    (
        "/console/systems",
        "nav.systems",
        &[Role::Cdo, Role::DataOfficer, Role::Admin],
    ),
    ("/console/quality", "nav.quality", EVERYONE),
    (
        "/console/responsibilities",
        "nav.responsibilities",
        &[Role::Cdo, Role::DataOfficer, Role::Admin],
    ),
    (
        "/console/classification",
        "nav.classification",
        &[
            Role::DataOfficer,
            Role::PrivacyOfficer,
            Role::Cdo,
            Role::Admin,
        ],
    ),
    (
        "/console/ingest",
        "nav.ingest",
        &[Role::DataOfficer, Role::Admin],
    ),
    ("/console/sharing", "nav.sharing", EVERYONE),
    ("/console/objections", "nav.objections", EVERYONE),
    ("/console/grants", "nav.grants", EVERYONE),
    ("/console/audit", "nav.audit", &[Role::Auditor, Role::Admin]),
];

/// The console's routes, all under `/console/`; jobs started from the pages run with
/// `ingest`.
pub fn router(
    core: Core,
    sessions: Arc<Sessions>,
    ingest: zhongshu_ingest::IngestContext,
) -> Result<Router, minijinja::Error> {
    let state = ConsoleState {
        core,
        sessions,
        pages: Arc::new(Pages::new()?),
        ingest: ingest::Ingest {
            context: Arc::new(ingest),
            live: Arc::default(),
        },
    };
    Ok(Router::new()
        .route(
            "/console",
            get(|| async { Redirect::permanent("/console/") }),
        )
        .route("/console/", get(home::page))
        .route("/console/signin", get(signin::form).post(signin::submit))
        .route("/console/signout", axum::routing::post(signin::sign_out))
        .route("/console/lang", get(switch_language))
        .route("/console/catalogue", get(catalogue::list))
        .route(
            "/console/resources",
            axum::routing::post(registration::register),
        )
        .route("/console/resources/new", get(registration::new_form))
        .route("/console/resources/{id}", get(catalogue::resource))
        .route(
            "/console/resources/{id}/edit",
            get(registration::edit_form).post(registration::edit),
        )
        .route(
            "/console/resources/{id}/classify",
            axum::routing::post(registration::classify),
        )
        .route("/console/objections", get(objections::list))
        .route("/console/objections/{id}", get(objections::detail))
        .route(
            "/console/objections/{id}/accept",
            axum::routing::post(objections::accept),
        )
        .route(
            "/console/objections/{id}/reject",
            axum::routing::post(objections::reject),
        )
        .route("/console/elements", get(elements::list))
        .route("/console/elements/{id}", get(elements::detail))
        .route("/console/bindings", axum::routing::post(elements::bind))
        .route(
            "/console/bindings/unbind",
            axum::routing::post(elements::unbind),
        )
        .route(
            "/console/responsibilities",
            get(responsibilities::list).post(responsibilities::assign),
        )
        .route(
            "/console/responsibilities/remove",
            axum::routing::post(responsibilities::remove),
        )
        .route("/console/classification", get(classification::list))
        .route(
            "/console/classification/scan",
            axum::routing::post(classification::scan),
        )
        .route(
            "/console/classification/sensitive",
            get(classification::sensitive),
        )
        .route(
            "/console/suggestions/{id}",
            axum::routing::post(classification::decide),
        )
        .route("/console/grants", get(grants::list))
        .route(
            "/console/grants/{id}/revoke",
            axum::routing::post(grants::revoke),
        )
        .route("/console/access", get(grants::explain))
        .route("/console/ingest", get(ingest::list))
        .route("/console/ingest/{job}", get(ingest::detail))
        .route(
            "/console/ingest/{job}/run",
            axum::routing::post(ingest::run),
        )
        .route(
            "/console/ingest/{job}/resubmit",
            axum::routing::post(ingest::resubmit)
                .layer(axum::extract::DefaultBodyLimit::max(ingest::UPLOAD_LIMIT)),
        )
        .route("/console/sharing", get(sharing::page))
        .route("/console/sharing/request", get(sharing::request_form))
        .route(
            "/console/sharing/requests",
            axum::routing::post(sharing::file_request),
        )
        .route(
            "/console/sharing/requests/{id}/decision",
            axum::routing::post(sharing::decide_request),
        )
        .route(
            "/console/sharing/requests/{id}/renew",
            axum::routing::post(sharing::renew),
        )
        .route(
            "/console/sharing/demands",
            axum::routing::post(sharing::file_demand),
        )
        .route(
            "/console/sharing/demands/{id}/decision",
            axum::routing::post(sharing::decide_demand),
        )
        .route("/console/standards", get(standards::page))
        .route(
            "/console/standards/elements",
            axum::routing::post(standards::add_element),
        )
        .route(
            "/console/standards/lists",
            axum::routing::post(standards::load_list).layer(axum::extract::DefaultBodyLimit::max(
                standards::UPLOAD_LIMIT,
            )),
        )
        .route("/console/standards/lists/{id}", get(standards::list_page))
        .route(
            "/console/standards/lists/{id}/remove",
            axum::routing::post(standards::remove_list),
        )
        .route("/console/standards/dictionary", get(standards::dictionary))
        .route(
            "/console/systems",
            get(systems::list).post(systems::register),
        )
        .route(
            "/console/systems/remove",
            axum::routing::post(systems::remove),
        )
        .route("/console/quality", get(quality::page))
        .route(
            "/console/quality/incidents/{id}/resolve",
            axum::routing::post(quality::resolve),
        )
        .route(
            "/console/quality/rules",
            axum::routing::post(quality::add_rule),
        )
        .route(
            "/console/quality/rules/remove",
            axum::routing::post(quality::remove_rule),
        )
        .route("/console/quality/report/{id}", get(quality::report))
        .route("/console/audit", get(audit::page))
        .route("/console/audit/export.csv", get(audit::export))
        .route("/console/audit/changes", get(audit::changes))
        .route("/console/static/console.css", get(stylesheet))
        .route("/console/{*rest}", get(not_found))
        .with_state(state))
}

/// The reader's language: the `zs_lang` cookie, else Chinese.
fn language(headers: &HeaderMap) -> Lang {
    cookie_value(headers, LANG_COOKIE)
        .map(Lang::of)
        .unwrap_or_default()
}

/// A page's context: what it renders with.
struct Ctx {
    lang: Lang,
    frame: Frame,
}

impl Ctx {
    /// The frame of a page at `path` in `section` (the href of one of [`SECTIONS`]), for
    /// `who`, whose roles choose the sections shown.
    fn new(headers: &HeaderMap, path: &str, section: Option<&str>, who: Option<&SignedIn>) -> Ctx {
        let lang = language(headers);
        let nav = match who {
            Some(who) => SECTIONS
                .iter()
                .filter(|(_, _, roles)| {
                    roles.is_empty() || roles.iter().any(|r| who.principal.has_role(*r))
                })
                .map(|(href, key, _)| NavItem {
                    href,
                    key,
                    current: section == Some(*href),
                })
                .collect(),
            None => Vec::new(),
        };
        Ctx {
            lang,
            frame: Frame {
                lang: lang.code(),
                other_lang: lang.other().code(),
                user: who.map(|s| UserView {
                    id: s.principal.id.to_string(),
                    name: s.principal.display_name.clone(),
                }),
                form_token: who.map(|s| s.form_token.clone()).unwrap_or_default(),
                nav,
                crumbs: Vec::new(),
                path: path.to_owned(),
            },
        }
    }

    /// Breadcrumbs from the home page to this one (`trail` ends with this page, unlinked).
    fn crumbs(mut self, trail: &[(String, Option<String>)]) -> Ctx {
        let mut crumbs = vec![Crumb {
            label: i18n::text(self.lang, "nav.home"),
            href: Some("/console/".into()),
        }];
        crumbs.extend(trail.iter().map(|(label, href)| Crumb {
            label: label.clone(),
            href: href.clone(),
        }));
        self.frame.crumbs = crumbs;
        self
    }

    fn text(&self, key: &str) -> String {
        i18n::text(self.lang, key)
    }
}

/// A page that failed: "not found" for what is missing or hidden (the same page, so that a
/// hidden resource looks missing), otherwise the error's message.
fn failure(state: &ConsoleState, ctx: &Ctx, error: ApiError) -> Response {
    let (status, title, hint) = match error.status {
        StatusCode::NOT_FOUND => (
            StatusCode::NOT_FOUND,
            ctx.text("error.not_found"),
            ctx.text("error.not_found_hint"),
        ),
        status => (
            status,
            ctx.text("error.failed").replace(
                "{reason}",
                &status.canonical_reason().unwrap_or("").to_lowercase(),
            ),
            error.message.clone(),
        ),
    };
    #[derive(serde::Serialize)]
    struct Failed {
        title: String,
        hint: String,
    }
    state
        .pages
        .render(status, "error.html", &ctx.frame, Failed { title, hint })
}

/// A form whose token is not its session's (a cross-site request, or a form from an ended
/// session): refused, nothing done.
fn bad_form(state: &ConsoleState, headers: &HeaderMap, who: &SignedIn) -> Response {
    let ctx = Ctx::new(headers, "/console/", None, Some(who));
    let refused = ApiError::forbidden(ctx.text("error.bad_form"));
    failure(state, &ctx, refused)
}

/// The page context of a form's result in `section`, once the form's token is the session's (a
/// form from another site or an ended session is refused, and nothing is done).
fn form_ctx(
    state: &ConsoleState,
    headers: &HeaderMap,
    who: &SignedIn,
    token: &str,
    section: &str,
) -> Result<Ctx, Box<Response>> {
    if !who.form_token_is(token) {
        return Err(Box::new(bad_form(state, headers, who)));
    }
    Ok(Ctx::new(headers, section, Some(section), Some(who)))
}

/// [`form_ctx`] for a destructive action, which also needs its confirmation ticked.
fn confirmed_ctx(
    state: &ConsoleState,
    headers: &HeaderMap,
    who: &SignedIn,
    (token, confirm): (&str, Option<&str>),
    section: &str,
) -> Result<Ctx, Box<Response>> {
    let ctx = form_ctx(state, headers, who, token, section)?;
    if confirm != Some("yes") {
        let e = ApiError::bad_request(ctx.text("form.confirm_needed"));
        return Err(Box::new(failure(state, &ctx, e)));
    }
    Ok(ctx)
}

/// What a form's use case came to: on success a redirect to where `to` says, otherwise its
/// error on the page.
fn outcome<T, E: Into<ApiError>>(
    state: &ConsoleState,
    ctx: &Ctx,
    result: Result<T, E>,
    to: impl FnOnce(T) -> String,
) -> Response {
    match result {
        Ok(done) => Redirect::to(&to(done)).into_response(),
        Err(e) => failure(state, ctx, e.into()),
    }
}

/// The names of the resources `ids` names, by id: one pass over the catalogue, copying only
/// the names a page shows.
async fn resource_names<'a>(
    state: &ConsoleState,
    ids: impl IntoIterator<Item = &'a str>,
) -> Result<std::collections::HashMap<String, String>, ApiError> {
    let wanted: std::collections::HashSet<&str> = ids.into_iter().collect();
    Ok(state
        .core
        .query()
        .resources()
        .await?
        .iter()
        .filter(|d| wanted.contains(d.resource.id.as_str()))
        .map(|d| (d.resource.id.to_string(), d.resource.name.clone()))
        .collect())
}

async fn not_found(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: Option<SignedIn>,
) -> Response {
    let ctx = Ctx::new(&headers, "/console/", None, who.as_ref());
    let missing = ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such page");
    failure(&state, &ctx, missing)
}

#[derive(Deserialize)]
struct SwitchTo {
    to: String,
    next: Option<String>,
}

/// Only a path within the console is a place to come back to.
fn within_console(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with("/console/") && !n.starts_with("//") && !n.contains('\\') => n,
        _ => "/console/",
    }
}

async fn switch_language(Query(q): Query<SwitchTo>) -> Response {
    let lang = Lang::of(&q.to);
    let cookie = format!(
        "{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000",
        lang.code()
    );
    (
        [(header::SET_COOKIE, cookie)],
        Redirect::to(within_console(q.next.as_deref())),
    )
        .into_response()
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("../../static/console.css"),
    )
        .into_response()
}

/// A tab of a list (a status, a grade): its text's key, where it goes, whether it is chosen.
#[derive(Debug, serde::Serialize)]
struct Tab {
    key: String,
    href: String,
    selected: bool,
}

/// A page of `size` from `page` (from 1) over `total` items, with links that keep `base`'s
/// other parameters.
#[derive(Debug, serde::Serialize)]
struct Pager {
    page: usize,
    pages: usize,
    prev: Option<String>,
    next: Option<String>,
    #[serde(skip)]
    size: usize,
}

impl Pager {
    fn new(total: usize, page: usize, size: usize, link: impl Fn(usize) -> String) -> Pager {
        let pages = total.div_ceil(size).max(1);
        let page = page.clamp(1, pages);
        Pager {
            page,
            pages,
            prev: (page > 1).then(|| link(page - 1)),
            next: (page < pages).then(|| link(page + 1)),
            size,
        }
    }

    /// The items of this page, out of all of them.
    fn slice<T>(&self, items: impl IntoIterator<Item = T>) -> Vec<T> {
        items
            .into_iter()
            .skip((self.page - 1) * self.size)
            .take(self.size)
            .collect()
    }
}

/// The tabs of a list: each option's parameter value and text key, linked by `link`, the
/// `chosen` one marked.
fn tabs(options: &[(&str, &str)], chosen: &str, link: impl Fn(&str) -> String) -> Vec<Tab> {
    options
        .iter()
        .map(|(value, key)| Tab {
            key: (*key).to_owned(),
            href: link(value),
            selected: *value == chosen,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_console_paths_are_come_back_to() {
        assert_eq!(
            within_console(Some("/console/catalogue?q=1")),
            "/console/catalogue?q=1"
        );
        assert_eq!(within_console(Some("https://evil.example/")), "/console/");
        assert_eq!(within_console(Some("//evil.example/console/")), "/console/");
        assert_eq!(within_console(Some("/console/\\evil")), "/console/");
        assert_eq!(within_console(None), "/console/");
    }

    #[test]
    fn pages_count_from_one_and_link_their_neighbours() {
        let p = Pager::new(45, 2, 20, |n| format!("?page={n}"));
        assert_eq!((p.page, p.pages), (2, 3));
        assert_eq!(p.prev.as_deref(), Some("?page=1"));
        assert_eq!(p.next.as_deref(), Some("?page=3"));
        let p = Pager::new(0, 9, 20, |n| format!("?page={n}"));
        assert_eq!((p.page, p.pages, p.prev, p.next), (1, 1, None, None));
    }

    #[test]
    fn every_section_has_its_text() {
        for (_, key, _) in SECTIONS {
            assert_ne!(i18n::text(Lang::En, key), *key);
            assert_ne!(i18n::text(Lang::Zh, key), *key);
        }
    }
}

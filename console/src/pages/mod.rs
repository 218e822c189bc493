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
mod home;
pub mod i18n;
mod objections;
mod signin;
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
use zhongshu_engine::Core;
use zhongshu_web::session::{SignedIn, cookie_value};
use zhongshu_web::{ApiError, Sessions};

/// What the pages share: the application core, the open sessions and the templates.
#[derive(Clone)]
pub struct ConsoleState {
    core: Core,
    sessions: Arc<Sessions>,
    pages: Arc<Pages>,
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

/// The sections of the navigation, in order.
const SECTIONS: &[(&str, &str)] = &[
    ("/console/", "nav.home"),
    ("/console/catalogue", "nav.catalogue"),
    ("/console/objections", "nav.objections"),
    ("/console/audit", "nav.audit"),
];

/// The console's routes, all under `/console/`.
pub fn router(core: Core, sessions: Arc<Sessions>) -> Result<Router, minijinja::Error> {
    let state = ConsoleState {
        core,
        sessions,
        pages: Arc::new(Pages::new()?),
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
        .route("/console/resources/{id}", get(catalogue::resource))
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
        .route("/console/audit", get(audit::page))
        .route("/console/audit/export.csv", get(audit::export))
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
    /// The frame of a page at `path` in `section` (an index of [`SECTIONS`]), for `who`.
    fn new(headers: &HeaderMap, path: &str, section: Option<usize>, who: Option<&SignedIn>) -> Ctx {
        let lang = language(headers);
        let nav = match who {
            Some(_) => SECTIONS
                .iter()
                .enumerate()
                .map(|(i, (href, key))| NavItem {
                    href,
                    key,
                    current: section == Some(i),
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

/// A page of `size` from `page` (from 1) over `total` items, with links that keep `base`'s
/// other parameters.
#[derive(Debug, serde::Serialize)]
struct Pager {
    page: usize,
    pages: usize,
    prev: Option<String>,
    next: Option<String>,
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
        }
    }
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
        for (_, key) in SECTIONS {
            assert_ne!(i18n::text(Lang::En, key), *key);
            assert_ne!(i18n::text(Lang::Zh, key), *key);
        }
    }
}

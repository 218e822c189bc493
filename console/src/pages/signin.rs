//! Signing in and out.

use super::{ConsoleState, Ctx, within_console};
use axum::extract::{ConnectInfo, Form, Query, State};
use axum::http::{Extensions, HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use zhongshu_web::SignInRefused;
use zhongshu_web::session::{SESSION_COOKIE, SignedIn, cookie_value};

/// The client's address, for the audit.
fn client(extensions: &Extensions) -> String {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.to_string())
        .unwrap_or_else(|| "unknown".into())
}

#[derive(Deserialize)]
pub(super) struct Next {
    next: Option<String>,
    out: Option<String>,
}

#[derive(Serialize, Default)]
struct SignInPage {
    next: String,
    user: String,
    error: Option<String>,
    notice: Option<String>,
}

fn render(state: &ConsoleState, ctx: &Ctx, status: StatusCode, page: SignInPage) -> Response {
    state.pages.render(status, "signin.html", &ctx.frame, page)
}

pub(super) async fn form(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: Option<SignedIn>,
    Query(q): Query<Next>,
) -> Response {
    let next = within_console(q.next.as_deref()).to_owned();
    if who.is_some() {
        return Redirect::to(&next).into_response();
    }
    let ctx = Ctx::new(&headers, "/console/signin", None, None);
    let notice = q.out.map(|_| ctx.text("signin.signed_out"));
    let page = SignInPage {
        next,
        notice,
        ..SignInPage::default()
    };
    render(&state, &ctx, StatusCode::OK, page)
}

#[derive(Deserialize)]
pub(super) struct Credentials {
    user: String,
    password: String,
    next: Option<String>,
}

pub(super) async fn submit(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    extensions: Extensions,
    Form(c): Form<Credentials>,
) -> Response {
    let next = within_console(c.next.as_deref()).to_owned();
    let signed_in = state
        .sessions
        .sign_in(
            state.core.store().as_ref(),
            &c.user,
            &c.password,
            &client(&extensions),
        )
        .await;
    let refused = match signed_in {
        Ok(session) => {
            let cookie = state.sessions.cookie(&session.id);
            return ([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response();
        }
        Err(refused) => refused,
    };
    let ctx = Ctx::new(&headers, "/console/signin", None, None);
    let (status, error) = match refused {
        SignInRefused::Wrong => (StatusCode::UNAUTHORIZED, ctx.text("signin.wrong")),
        SignInRefused::Locked { minutes } => (
            StatusCode::TOO_MANY_REQUESTS,
            ctx.text("signin.locked")
                .replace("{minutes}", &minutes.to_string()),
        ),
        SignInRefused::Full => (StatusCode::SERVICE_UNAVAILABLE, ctx.text("signin.full")),
        SignInRefused::Catalog(reason) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            ctx.text("signin.failed").replace("{reason}", &reason),
        ),
    };
    let page = SignInPage {
        next,
        user: c.user,
        error: Some(error),
        notice: None,
    };
    render(&state, &ctx, status, page)
}

#[derive(Deserialize)]
pub(super) struct SignOut {
    form_token: String,
}

pub(super) async fn sign_out(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    extensions: Extensions,
    who: SignedIn,
    Form(f): Form<SignOut>,
) -> Response {
    if !who.form_token_is(&f.form_token) {
        return super::bad_form(&state, &headers, &who);
    }
    if let Some(id) = cookie_value(&headers, SESSION_COOKIE) {
        state
            .sessions
            .sign_out(state.core.store().as_ref(), id, &client(&extensions))
            .await;
    }
    (
        [(header::SET_COOKIE, state.sessions.cleared_cookie())],
        Redirect::to("/console/signin?out=1"),
    )
        .into_response()
}

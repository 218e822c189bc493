//! Rendering: the templates (minijinja, HTML-escaped, embedded in the binary), the frame every
//! page shares (language, the signed-in person, navigation, breadcrumbs, the form token), and
//! the filters templates use to show values in the reader's language.

use super::i18n::{self, Lang};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use minijinja::value::{Kwargs, Serde, Value};
use minijinja::{Environment, Error, ErrorKind, State};
use serde::Serialize;

/// Each template, by file name, from `console/templates/`.
macro_rules! templates {
    ($($name:literal),+ $(,)?) => {
        &[$(($name, include_str!(concat!("../../templates/", $name)))),+]
    };
}

/// The templates, in the order they may extend or import each other.
const TEMPLATES: &[(&str, &str)] = templates![
    "layout.html",
    "macros.html",
    "signin.html",
    "error.html",
    "home.html",
    "catalogue.html",
    "resource.html",
    "objections.html",
    "objection.html",
    "audit.html",
    "classification.html",
    "sensitive.html",
    "elements.html",
    "element.html",
    "grants.html",
    "access.html",
    "ingest.html",
    "job.html",
    "responsibilities.html",
    "changes.html",
    "standards.html",
    "codelist.html",
    "systems.html",
    "quality.html",
    "report.html",
    "resource_form.html",
    "sharing.html",
    "share_request.html",
];

/// The language of the page being rendered, from the frame.
fn lang_of(state: &State) -> Lang {
    state
        .lookup("f")
        .and_then(|f| f.get_attr("lang").ok())
        .and_then(|l| l.as_str().map(Lang::of))
        .unwrap_or_default()
}

/// `t("key", name=value, …)`: the text of `key` in the page's language, with each `{name}`
/// replaced by its value.
fn translate(state: &State, key: &str, args: Kwargs) -> Result<String, Error> {
    let mut text = i18n::text(lang_of(state), key);
    for name in args.args() {
        let value: Value = args.get(name)?;
        text = text.replace(&format!("{{{name}}}"), &value.to_string());
    }
    args.assert_all_used()?;
    Ok(text)
}

fn vocab(state: &State, code: Value, vocabulary: &str) -> String {
    if code.is_none() || code.is_undefined() {
        return String::new();
    }
    i18n::vocabulary(lang_of(state), vocabulary, &code.to_string())
}

fn num(value: Value) -> Result<String, Error> {
    let n = i64::try_from(value.clone())
        .or_else(|_| f64::try_from(value).map(|f| f.round() as i64))
        .map_err(|_| Error::new(ErrorKind::InvalidOperation, "num: not a number"))?;
    Ok(i18n::number(n))
}

fn pct(value: f64) -> String {
    format!("{:.1}%", value * 100.0)
}

fn when(state: &State, value: String) -> String {
    i18n::time(lang_of(state), &value)
}

/// The compiled templates.
pub struct Pages {
    env: Environment<'static>,
}

impl std::fmt::Debug for Pages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pages")
    }
}

impl Pages {
    /// Compiles the embedded templates (a template that does not compile is a build defect,
    /// caught by the tests).
    pub fn new() -> Result<Self, Error> {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)?;
        }
        env.add_function("t", translate);
        env.add_filter("vocab", vocab);
        env.add_filter("num", num);
        env.add_filter("pct", pct);
        env.add_filter("when", when);
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        Ok(Pages { env })
    }

    /// Renders template `name` with the frame `f` and the page's own values `p`.
    pub fn render(&self, status: StatusCode, name: &str, f: &Frame, p: impl Serialize) -> Response {
        let rendered = self.env.get_template(name).and_then(|t| {
            t.render(minijinja::context! {
                f => Value::from(Serde(f)),
                p => Value::from(Serde(&p)),
            })
        });
        match rendered {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => {
                tracing::error!("console: rendering {name}: {e:#}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the page could not be rendered; the error is logged",
                )
                    .into_response()
            }
        }
    }

    /// The names of every template, and the translation keys their `t("…")` calls name.
    #[cfg(test)]
    pub fn keys_asked() -> Vec<(&'static str, String)> {
        let call = regex::Regex::new(r#"t\(\s*["']([a-z_.]+)["']\s*[,)]"#)
            .unwrap_or_else(|_| unreachable!());
        TEMPLATES
            .iter()
            .flat_map(|(name, source)| {
                call.captures_iter(source)
                    .map(move |c| (*name, c[1].to_owned()))
            })
            .collect()
    }
}

/// A navigation entry.
#[derive(Debug, Clone, Serialize)]
pub struct NavItem {
    /// Where it goes.
    pub href: &'static str,
    /// Its text's key.
    pub key: &'static str,
    /// It is the current section.
    pub current: bool,
}

/// A breadcrumb; the last has no link.
#[derive(Debug, Clone, Serialize)]
pub struct Crumb {
    /// Its text.
    pub label: String,
    /// Where it goes.
    pub href: Option<String>,
}

/// The signed-in person, as the frame shows them.
#[derive(Debug, Clone, Serialize)]
pub struct UserView {
    /// Principal id.
    pub id: String,
    /// Display name.
    pub name: String,
}

/// What every page shows around its content.
#[derive(Debug, Clone, Serialize)]
pub struct Frame {
    /// The page's language tag.
    pub lang: &'static str,
    /// The other language's tag, for the switch.
    pub other_lang: &'static str,
    /// Who is signed in, if anyone.
    pub user: Option<UserView>,
    /// The session's form token.
    pub form_token: String,
    /// Navigation.
    pub nav: Vec<NavItem>,
    /// Breadcrumbs.
    pub crumbs: Vec<Crumb>,
    /// This page's path and query, for the language switch to come back to.
    pub path: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles_and_every_key_it_asks_for_exists() {
        Pages::new().unwrap();
        let asked = Pages::keys_asked();
        assert!(asked.len() > 50, "only {} keys found", asked.len());
        for lang in [Lang::Zh, Lang::En] {
            for (template, key) in &asked {
                assert_ne!(
                    i18n::text(lang, key),
                    *key,
                    "{template} asks for {key}, which {} lacks",
                    lang.code()
                );
            }
        }
    }
}

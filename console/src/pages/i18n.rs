//! The console's two languages: Simplified Chinese by default, English on request.
//!
//! Every visible string is a key in `messages/zh-CN.toml` and `messages/en.toml`, embedded in
//! the binary; a test checks that the two hold the same keys and that every key a template asks
//! for exists. Vocabulary values (grades, attributes, cycles) are shown with the catalogue's
//! own Chinese labels, and in English from the `vocab` table. Dates are shown in China Standard
//! Time, in each language's usual form; numbers with thousands separators.

use std::collections::BTreeMap;
use std::sync::LazyLock;

/// A language the console speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// 简体中文 (the default).
    #[default]
    Zh,
    /// English.
    En,
}

/// The cookie that remembers a reader's language.
pub const LANG_COOKIE: &str = "zs_lang";

impl Lang {
    /// The language's tag (`zh-CN`, `en`), for `<html lang>` and the cookie.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The language of a tag; Chinese for anything else.
    pub fn of(code: &str) -> Lang {
        if code.eq_ignore_ascii_case("en") || code.to_ascii_lowercase().starts_with("en-") {
            Lang::En
        } else {
            Lang::Zh
        }
    }

    /// The other language (the switch offers it).
    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }
}

type Table = BTreeMap<String, String>;

/// Flattens a TOML table into dotted keys.
fn flatten(prefix: &str, table: &toml::Table, out: &mut Table) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => flatten(&key, t, out),
            toml::Value::String(s) => {
                out.insert(key, s.clone());
            }
            other => {
                out.insert(key, other.to_string());
            }
        }
    }
}

fn load(text: &str) -> Table {
    // The files are part of the binary and tested; a parse failure is a build defect.
    let table: toml::Table = toml::from_str(text).unwrap_or_else(|e| panic!("messages: {e}"));
    let mut out = Table::new();
    flatten("", &table, &mut out);
    out
}

static ZH: LazyLock<Table> = LazyLock::new(|| load(include_str!("../../messages/zh-CN.toml")));
static EN: LazyLock<Table> = LazyLock::new(|| load(include_str!("../../messages/en.toml")));

fn table(lang: Lang) -> &'static Table {
    match lang {
        Lang::Zh => &ZH,
        Lang::En => &EN,
    }
}

/// The text of `key` in `lang`; the key itself when missing (the tests keep none missing).
pub fn text(lang: Lang, key: &str) -> String {
    match table(lang).get(key) {
        Some(t) => t.clone(),
        None => {
            tracing::warn!("console: no {} text for {key}", lang.code());
            key.to_owned()
        }
    }
}

/// The label of a vocabulary value (`vocab` is `grade`, `share_attr`, …; `code` its stable
/// code): the catalogue's own label in Chinese, the `vocab` table's in English.
pub fn vocabulary(lang: Lang, vocab: &str, code: &str) -> String {
    use zhongshu_catalog::{
        BindingRole, Category, Grade, LibraryTier, OpenAttr, ShareAttr, UpdateCycle,
    };
    fn zh<T: std::str::FromStr + Copy>(code: &str, label: fn(T) -> &'static str) -> Option<String> {
        code.parse::<T>().ok().map(|v| label(v).to_owned())
    }
    match lang {
        Lang::Zh => match vocab {
            "grade" => zh::<Grade>(code, Grade::label),
            "category" => zh::<Category>(code, Category::label),
            "share_attr" => zh::<ShareAttr>(code, ShareAttr::label),
            "open_attr" => zh::<OpenAttr>(code, OpenAttr::label),
            "tier" => zh::<LibraryTier>(code, LibraryTier::label),
            "update_cycle" => zh::<UpdateCycle>(code, UpdateCycle::label),
            "binding" => zh::<BindingRole>(code, BindingRole::label),
            _ => ZH.get(&format!("vocab.{vocab}.{code}")).cloned(),
        },
        Lang::En => EN.get(&format!("vocab.{vocab}.{code}")).cloned(),
    }
    .unwrap_or_else(|| code.to_owned())
}

/// `n` with thousands separators.
pub fn number(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// An RFC 3339 time in China Standard Time, as each language writes it; the text unchanged
/// when it is not a time.
pub fn time(lang: Lang, rfc3339: &str) -> String {
    let Ok(t) = chrono::DateTime::parse_from_rfc3339(rfc3339) else {
        return rfc3339.to_owned();
    };
    let cst = chrono::FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| unreachable!());
    let t = t.with_timezone(&cst);
    match lang {
        Lang::Zh => t.format("%Y年%-m月%-d日 %H:%M").to_string(),
        Lang::En => t.format("%-d %b %Y, %H:%M").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_hold_the_same_keys() {
        // English has a label for every catalogue vocabulary value too (Chinese takes the
        // catalogue's own), so only the `vocab` entries of Chinese need an English twin.
        let zh: Vec<&String> = ZH.keys().collect();
        let en: Vec<&String> = EN
            .keys()
            .filter(|k| !k.starts_with("vocab.") || ZH.contains_key(*k))
            .collect();
        assert_eq!(zh, en, "zh-CN.toml and en.toml differ in their keys");
    }

    /// The quality dimensions' codes.
    fn zhongshu_quality_dimensions() -> Vec<&'static str> {
        use zhongshu_quality::Dimension;
        [
            Dimension::Completeness,
            Dimension::Validity,
            Dimension::Uniqueness,
            Dimension::Consistency,
            Dimension::Timeliness,
        ]
        .into_iter()
        .map(Dimension::as_code)
        .collect()
    }

    #[test]
    fn every_vocabulary_value_has_an_english_label() {
        use zhongshu_catalog::{
            BindingRole, Category, Grade, LibraryTier, OpenAttr, ShareAttr, UpdateCycle,
        };
        let mut codes: Vec<(&str, &str)> = Vec::new();
        codes.extend(Grade::ALL.iter().map(|v| ("grade", v.as_code())));
        codes.extend(Category::ALL.iter().map(|v| ("category", v.as_code())));
        codes.extend(ShareAttr::ALL.iter().map(|v| ("share_attr", v.as_code())));
        codes.extend(OpenAttr::ALL.iter().map(|v| ("open_attr", v.as_code())));
        codes.extend(LibraryTier::ALL.iter().map(|v| ("tier", v.as_code())));
        codes.extend(
            UpdateCycle::ALL
                .iter()
                .map(|v| ("update_cycle", v.as_code())),
        );
        codes.extend(BindingRole::ALL.iter().map(|v| ("binding", v.as_code())));
        for d in zhongshu_quality_dimensions() {
            codes.push(("dimension", d));
        }
        codes.extend([("severity", "error"), ("severity", "warn")]);
        for (vocab, code) in codes {
            assert!(
                EN.contains_key(&format!("vocab.{vocab}.{code}")),
                "en.toml has no vocab.{vocab}.{code}"
            );
            assert_ne!(vocabulary(Lang::Zh, vocab, code), code, "{vocab}.{code}");
        }
    }

    #[test]
    fn numbers_and_times_read_as_each_language_writes_them() {
        assert_eq!(number(0), "0");
        assert_eq!(number(999), "999");
        assert_eq!(number(1000), "1,000");
        assert_eq!(number(-1234567), "-1,234,567");
        let t = "2026-12-04T04:30:00Z";
        assert_eq!(time(Lang::Zh, t), "2026年12月4日 12:30");
        assert_eq!(time(Lang::En, t), "4 Dec 2026, 12:30");
        assert_eq!(time(Lang::En, "not a time"), "not a time");
    }
}

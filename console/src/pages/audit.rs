//! The audit: the access audit searched through the reader's own governed session — so only a
//! principal whose SQL sessions may read `audit.queries` sees it, and each search is itself on
//! record (door `console`) — with a CSV export of a search; the change log; and verifying both
//! hash chains. For anyone else the pages do not exist.

use super::{ConsoleState, Ctx, Pager, failure};
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{Extensions, HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use zhongshu_catalog::ChainReport;
use zhongshu_engine::ClientInfo;
use zhongshu_engine::arrow::array::RecordBatch;
use zhongshu_engine::arrow::util::display::array_value_to_string;
use zhongshu_engine::datafusion::common::{ParamValues, ScalarValue};
use zhongshu_web::ApiError;
use zhongshu_web::session::SignedIn;

/// Records per page.
const PAGE_SIZE: usize = 50;
/// The most records one CSV export holds.
const EXPORT_MAX: usize = 100_000;

/// The columns shown and exported, in order.
const COLUMNS: &str = "seq, at, principal, protocol, outcome, rows_returned, duration_ms, \
                       completes, sql_text";

/// A search of the access audit.
#[derive(Debug, Clone, Default, Deserialize)]
pub(super) struct Search {
    principal: Option<String>,
    protocol: Option<String>,
    outcome: Option<String>,
    text: Option<String>,
    /// A table (`schema.name`) the statement read.
    table: Option<String>,
    /// From this time (a date or an RFC 3339 time, UTC), inclusive.
    from: Option<String>,
    /// Up to this time, inclusive (a date includes its whole day).
    to: Option<String>,
    page: Option<usize>,
}

impl Search {
    fn value(v: &Option<String>) -> String {
        v.as_deref().map(str::trim).unwrap_or_default().to_owned()
    }

    /// The statement's parameters: principal, door, outcome, text, table, from, to (an empty
    /// one matches all).
    fn params(&self) -> ParamValues {
        ParamValues::List(
            [
                &self.principal,
                &self.protocol,
                &self.outcome,
                &self.text,
                &self.table,
                &self.from,
                &self.to,
            ]
            .into_iter()
            .map(|v| ScalarValue::Utf8(Some(Self::value(v))).into())
            .collect(),
        )
    }

    fn link(&self, path: &str, page: Option<usize>) -> String {
        let mut pairs: Vec<(&str, String)> = [
            ("principal", &self.principal),
            ("protocol", &self.protocol),
            ("outcome", &self.outcome),
            ("text", &self.text),
            ("table", &self.table),
            ("from", &self.from),
            ("to", &self.to),
        ]
        .into_iter()
        .map(|(k, v)| (k, Self::value(v)))
        .filter(|(_, v)| !v.is_empty())
        .collect();
        if let Some(p) = page {
            pairs.push(("page", p.to_string()));
        }
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        if query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{query}")
        }
    }
}

/// The filter every audit statement shares, over its seven parameters. Times are RFC 3339 in
/// UTC, so comparing text compares time; `to` is compared on its own length, so a date takes
/// its whole day. A table is matched quoted, as the record lists it, so `a.b` is not `a.bc`.
const WHERE: &str = "($1 = '' OR principal = $1) AND ($2 = '' OR protocol = $2) \
                     AND ($3 = '' OR outcome = $3) AND ($4 = '' OR strpos(sql_text, $4) > 0) \
                     AND ($5 = '' OR strpos(table_names, concat('\"', $5, '\"')) > 0) \
                     AND ($6 = '' OR at >= $6) \
                     AND ($7 = '' OR substr(at, 1, character_length($7)) <= $7)";

fn client(extensions: &Extensions) -> String {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Missing unless `who` may read the access audit (the decision its SQL sessions get).
async fn require_audit(state: &ConsoleState, who: &SignedIn) -> Result<(), ApiError> {
    let access = state
        .core
        .query()
        .access(&who.principal, None, false)
        .await?;
    if access.audit_log {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such page",
        ))
    }
}

/// Runs `sql` with the search's parameters through `who`'s governed session.
async fn run(
    state: &ConsoleState,
    who: &SignedIn,
    address: String,
    sql: &str,
    search: &Search,
) -> Result<Vec<RecordBatch>, ApiError> {
    let session = state
        .core
        .query()
        .open(
            who.principal.clone(),
            None,
            ClientInfo::answering(address, "console"),
        )
        .await?;
    let mut stream = session.execute_with(sql, Some(search.params())).await?;
    let mut batches = Vec::new();
    while let Some(batch) = stream.next().await {
        batches.push(batch.map_err(|e| ApiError::internal(&e))?);
    }
    Ok(batches)
}

/// Every cell of `batches` as text, row by row.
fn rows(batches: &[RecordBatch]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for b in batches {
        for r in 0..b.num_rows() {
            out.push(
                b.columns()
                    .iter()
                    .map(|c| {
                        if c.is_null(r) {
                            String::new()
                        } else {
                            array_value_to_string(c, r).unwrap_or_default()
                        }
                    })
                    .collect(),
            );
        }
    }
    out
}

#[derive(Serialize)]
struct AuditPage {
    principal: String,
    protocol: String,
    outcome: String,
    text: String,
    table: String,
    from: String,
    to: String,
    total: usize,
    records: Vec<Vec<String>>,
    pager: Pager,
    export: String,
    verified: Option<Verified>,
}

#[derive(Serialize)]
struct Verified {
    audit: ChainView,
    changes: ChainView,
}

#[derive(Serialize)]
struct ChainView {
    entries: i64,
    intact: bool,
    broken_at: Option<i64>,
    reason: Option<String>,
}

impl From<ChainReport> for ChainView {
    fn from(r: ChainReport) -> Self {
        ChainView {
            entries: r.entries,
            intact: r.first_broken.is_none(),
            broken_at: r.first_broken.as_ref().map(|b| b.seq),
            reason: r.first_broken.map(|b| b.reason),
        }
    }
}

#[derive(Deserialize, Default)]
pub(super) struct Verify {
    verify: Option<String>,
}

async fn audit_page(
    state: &ConsoleState,
    who: &SignedIn,
    address: String,
    search: &Search,
    verify: bool,
) -> Result<AuditPage, ApiError> {
    require_audit(state, who).await?;
    let page = search.page.unwrap_or(1).max(1);
    let counted = run(
        state,
        who,
        address.clone(),
        &format!("SELECT count(*) FROM audit.queries WHERE {WHERE}"),
        search,
    )
    .await?;
    let total: usize = rows(&counted)
        .first()
        .and_then(|r| r.first())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let pager = Pager::new(total, page, PAGE_SIZE, |n| {
        search.link("/console/audit", Some(n))
    });
    let sql = format!(
        "SELECT {COLUMNS} FROM audit.queries WHERE {WHERE} ORDER BY seq DESC LIMIT {PAGE_SIZE} \
         OFFSET {}",
        (pager.page - 1) * PAGE_SIZE
    );
    let mut records = rows(&run(state, who, address, &sql, search).await?);
    // Long statements are shown to their first 160 characters (the export has them whole).
    for r in &mut records {
        if let Some(text) = r.last_mut().filter(|t| t.chars().count() > 160) {
            *text = text.chars().take(160).chain(['…']).collect();
        }
    }
    let verified = if verify {
        let store = state.core.store();
        Some(Verified {
            audit: store.verify_audit_log().await?.into(),
            changes: store.verify_change_log().await?.into(),
        })
    } else {
        None
    };
    Ok(AuditPage {
        principal: Search::value(&search.principal),
        protocol: Search::value(&search.protocol),
        outcome: Search::value(&search.outcome),
        text: Search::value(&search.text),
        table: Search::value(&search.table),
        from: Search::value(&search.from),
        to: Search::value(&search.to),
        total,
        records,
        export: search.link("/console/audit/export.csv", None),
        pager,
        verified,
    })
}

pub(super) async fn page(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    extensions: Extensions,
    who: SignedIn,
    Query(search): Query<Search>,
    Query(verify): Query<Verify>,
) -> Response {
    let path = search.link("/console/audit", search.page);
    let ctx = Ctx::new(&headers, &path, Some("/console/audit"), Some(&who));
    let title = ctx.text("audit.title");
    let ctx = ctx.crumbs(&[(title, None)]);
    let verify = verify.verify.is_some();
    match audit_page(&state, &who, client(&extensions), &search, verify).await {
        Ok(page) => state
            .pages
            .render(StatusCode::OK, "audit.html", &ctx.frame, page),
        Err(e) => failure(&state, &ctx, e),
    }
}

/// A search's records as CSV (at most [`EXPORT_MAX`]), newest first.
pub(super) async fn export(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    extensions: Extensions,
    who: SignedIn,
    Query(search): Query<Search>,
) -> Response {
    let ctx = Ctx::new(
        &headers,
        "/console/audit",
        Some("/console/audit"),
        Some(&who),
    );
    let exported = async {
        require_audit(&state, &who).await?;
        let sql = format!(
            "SELECT {COLUMNS} FROM audit.queries WHERE {WHERE} ORDER BY seq DESC LIMIT {EXPORT_MAX}"
        );
        let batches = run(&state, &who, client(&extensions), &sql, &search).await?;
        let mut out = Vec::new();
        {
            let mut writer = zhongshu_engine::arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut out);
            for b in &batches {
                writer.write(b).map_err(|e| ApiError::internal(&e))?;
            }
        }
        Ok::<_, ApiError>(out)
    };
    match exported.await {
        Ok(csv) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"zhongshu-audit.csv\"",
                ),
            ],
            csv,
        )
            .into_response(),
        Err(e) => failure(&state, &ctx, e),
    }
}

#[derive(Deserialize, Default)]
pub(super) struct ChangesQuery {
    actor: Option<String>,
    kind: Option<String>,
    page: Option<usize>,
}

#[derive(Serialize)]
struct ChangeView {
    seq: i64,
    at: String,
    actor: String,
    kind: String,
    id: String,
    action: String,
    before: String,
    after: String,
}

#[derive(Serialize)]
struct ChangesPage {
    actor: String,
    kind: String,
    items: Vec<ChangeView>,
    prev: Option<String>,
    next: Option<String>,
    page: usize,
}

/// Changes per page.
const CHANGES_PAGE: usize = 50;

/// The change log (who changed what in the catalog, before and after), newest first, by actor
/// and entity kind, for those who may read the access audit.
pub(super) async fn changes(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
    Query(q): Query<ChangesQuery>,
) -> Response {
    let page = q.page.unwrap_or(1).max(1);
    let actor = q.actor.clone().filter(|a| !a.trim().is_empty());
    let kind = q.kind.clone().filter(|k| !k.trim().is_empty());
    let link = |n: usize| {
        let mut l = format!("/console/audit/changes?page={n}");
        for (name, value) in [("actor", &actor), ("kind", &kind)] {
            if let Some(v) = value {
                l.push_str(&format!("&{name}="));
                l.extend(url::form_urlencoded::byte_serialize(v.as_bytes()));
            }
        }
        l
    };
    let ctx = Ctx::new(&headers, &link(page), Some("/console/audit"), Some(&who));
    let trail = [
        (ctx.text("audit.title"), Some("/console/audit".to_owned())),
        (ctx.text("audit.changes"), None),
    ];
    let ctx = ctx.crumbs(&trail);
    let filter = zhongshu_engine::catalogue::ChangeFilter {
        actor: actor.clone(),
        kind: kind.clone(),
    };
    let offset = (page - 1) * CHANGES_PAGE;
    let found = zhongshu_engine::catalogue::change_log(
        &state.core,
        &who.principal,
        &filter,
        offset,
        CHANGES_PAGE,
    )
    .await;
    let (entries, more) = match found {
        Ok(found) => found,
        Err(e) => return failure(&state, &ctx, e.into()),
    };
    let items = entries
        .into_iter()
        .map(|e| ChangeView {
            seq: e.seq,
            at: e.at,
            actor: e.actor,
            kind: e.entity_kind,
            id: e.entity_id,
            action: e.action,
            before: e.before.unwrap_or_default(),
            after: e.after.unwrap_or_default(),
        })
        .collect();
    let view = ChangesPage {
        actor: actor.clone().unwrap_or_default(),
        kind: kind.clone().unwrap_or_default(),
        items,
        prev: (page > 1).then(|| link(page - 1)),
        next: more.then(|| link(page + 1)),
        page,
    };
    state
        .pages
        .render(StatusCode::OK, "changes.html", &ctx.frame, view)
}

//! Ingest: the jobs the reader may manage with their schedules and latest runs; a job's page
//! with its runs and their row accounting (read = written + quarantined), the progress of a
//! run started here (the page refreshes itself while it runs, without a script), the
//! quarantine and flagged rows with file, line, column, rule, reason and the original text
//! (for the owning department), running the job now, and uploading corrected rows to
//! re-submit them as an ordinary run.

use super::{ConsoleState, Ctx, Pager, bad_form, failure, resource_names};
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use zhongshu_catalog::{AuditOutcome, IngestRun, JobId, NewAuditRecord, Principal};
use zhongshu_ingest::manage::{self, JobSummary, SetAsideRow};
use zhongshu_ingest::{IngestContext, Progress, RunError};
use zhongshu_web::ApiError;
use zhongshu_web::session::SignedIn;

/// Jobs and set-aside rows per page.
const PAGE_SIZE: usize = 25;
/// Runs a job's page lists.
const RUNS_SHOWN: i64 = 30;
/// The largest file of corrected rows accepted.
pub const UPLOAD_LIMIT: usize = 64 * 1024 * 1024;
/// The navigation section of these pages.
const SECTION: &str = "/console/ingest";

/// A run started from the console, while it runs and after.
#[derive(Debug, Clone, Serialize)]
pub struct LiveRun {
    started_by: String,
    started_at: String,
    rows: u64,
    bytes: u64,
    total_bytes: u64,
    finished: bool,
    /// The finished run, when it succeeded.
    run: Option<RunView>,
    /// Why it failed, when it did.
    error: Option<String>,
}

/// The runs started from the console, by job: one at a time per job.
#[derive(Debug, Default)]
pub struct LiveRuns(Mutex<HashMap<String, LiveRun>>);

impl LiveRuns {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, LiveRun>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a start, unless a run of the job is still going.
    fn start(&self, job: &str, by: &str) -> bool {
        let mut runs = self.lock();
        if runs.get(job).is_some_and(|r| !r.finished) {
            return false;
        }
        runs.insert(
            job.to_owned(),
            LiveRun {
                started_by: by.to_owned(),
                started_at: chrono::Utc::now().to_rfc3339(),
                rows: 0,
                bytes: 0,
                total_bytes: 0,
                finished: false,
                run: None,
                error: None,
            },
        );
        true
    }

    fn progress(&self, job: &str, p: Progress) {
        if let Some(r) = self.lock().get_mut(job) {
            (r.rows, r.bytes, r.total_bytes) = (p.rows, p.bytes, p.total_bytes.max(p.bytes));
        }
    }

    fn finish(&self, job: &str, outcome: Result<RunView, String>) {
        if let Some(r) = self.lock().get_mut(job) {
            r.finished = true;
            (r.run, r.error) = match outcome {
                Ok(run) => (Some(run), None),
                Err(e) => (None, Some(e)),
            };
        }
    }

    fn get(&self, job: &str) -> Option<LiveRun> {
        self.lock().get(job).cloned()
    }
}

/// What running jobs from the console needs: the ingest context and the live runs.
#[derive(Clone)]
pub struct Ingest {
    /// How runs are made.
    pub context: Arc<IngestContext>,
    /// Runs started here.
    pub live: Arc<LiveRuns>,
}

fn api_error(e: RunError) -> ApiError {
    match e {
        RunError::Catalog(e) => e.into(),
        RunError::Engine(e) => e.into(),
        RunError::Job { .. } | RunError::Input(_) => ApiError::bad_request(e.to_string()),
        RunError::Internal(_) => ApiError::internal(&e),
    }
}

#[derive(Debug, Clone, Serialize)]
struct RunView {
    run: i64,
    status: &'static str,
    started_at: String,
    finished_at: Option<String>,
    rows_read: i64,
    rows_written: i64,
    rows_quarantined: i64,
    rows_flagged: i64,
    accounted: bool,
    bytes: i64,
    duration_ms: i64,
    table_version: Option<i64>,
    error: Option<String>,
}

impl RunView {
    fn of(r: IngestRun) -> Self {
        RunView {
            run: r.run,
            status: r.status.as_code(),
            accounted: r.rows_read == r.rows_written + r.rows_quarantined,
            started_at: r.started_at,
            finished_at: r.finished_at,
            rows_read: r.rows_read,
            rows_written: r.rows_written,
            rows_quarantined: r.rows_quarantined,
            rows_flagged: r.rows_flagged,
            bytes: r.bytes,
            duration_ms: r.duration_ms,
            table_version: r.table_version,
            error: r.error,
        }
    }
}

#[derive(Serialize)]
struct JobView {
    id: String,
    resource: String,
    resource_name: String,
    table: String,
    schedule: Option<String>,
    last_run: Option<RunView>,
}

#[derive(Deserialize, Default)]
pub(super) struct ListQuery {
    page: Option<usize>,
}

#[derive(Serialize)]
struct ListPage {
    items: Vec<JobView>,
    total: usize,
    pager: Pager,
}

fn job_view(s: JobSummary, names: &HashMap<String, String>) -> JobView {
    JobView {
        resource_name: names
            .get(s.job.resource.as_str())
            .cloned()
            .unwrap_or_default(),
        id: s.job.id.to_string(),
        resource: s.job.resource.to_string(),
        table: s.job.table,
        schedule: s.schedule,
        last_run: s.last_run.map(RunView::of),
    }
}

pub(super) async fn list(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
    Query(q): Query<ListQuery>,
) -> Response {
    let page = q.page.unwrap_or(1).max(1);
    let link = |n: usize| format!("{SECTION}?page={n}");
    let ctx = Ctx::new(&headers, &link(page), Some(SECTION), Some(&who));
    let title = ctx.text("ingest.title");
    let ctx = ctx.crumbs(&[(title, None)]);
    let found = async {
        let jobs = manage::jobs(&state.core, &who.principal)
            .await
            .map_err(api_error)?;
        let names = resource_names(&state, jobs.iter().map(|j| j.job.resource.as_str())).await?;
        Ok::<_, ApiError>((jobs, names))
    };
    let (jobs, names) = match found.await {
        Ok(found) => found,
        Err(e) => return failure(&state, &ctx, e),
    };
    let total = jobs.len();
    let pager = Pager::new(total, page, PAGE_SIZE, link);
    let items = jobs
        .into_iter()
        .skip((pager.page - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
        .map(|s| job_view(s, &names))
        .collect();
    let page = ListPage {
        items,
        total,
        pager,
    };
    state
        .pages
        .render(StatusCode::OK, "ingest.html", &ctx.frame, page)
}

#[derive(Deserialize, Default)]
pub(super) struct JobQuery {
    view: Option<String>,
    page: Option<usize>,
    done: Option<String>,
}

#[derive(Serialize)]
struct JobPage {
    job: JobView,
    spec: String,
    runs: Vec<RunView>,
    live: Option<LiveRun>,
    view: &'static str,
    rows: Vec<SetAsideRow>,
    rows_total: i64,
    raw_shown: bool,
    pager: Pager,
    notice: Option<String>,
}

async fn job_page(
    state: &ConsoleState,
    principal: &Principal,
    id: &JobId,
    flagged: bool,
    page: usize,
) -> Result<(JobView, String, Vec<RunView>, manage::SetAside), ApiError> {
    let job = manage::job(&state.core, principal, id)
        .await
        .map_err(api_error)?;
    let runs = manage::runs(&state.core, principal, id, RUNS_SHOWN)
        .await
        .map_err(api_error)?;
    let offset = ((page - 1) * PAGE_SIZE) as i64;
    let set_aside = manage::set_aside(
        &state.core,
        principal,
        id,
        flagged,
        offset,
        PAGE_SIZE as i64,
    )
    .await
    .map_err(api_error)?;
    let names = resource_names(state, [job.resource.as_str()]).await?;
    let schedule = zhongshu_ingest::JobSpec::from_toml(&job.spec)
        .ok()
        .and_then(|s| s.schedule);
    let spec = job.spec.clone();
    let summary = JobSummary {
        last_run: runs.first().cloned(),
        job,
        schedule,
    };
    Ok((
        job_view(summary, &names),
        spec,
        runs.into_iter().map(RunView::of).collect(),
        set_aside,
    ))
}

pub(super) async fn detail(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<JobQuery>,
) -> Response {
    let view = match q.view.as_deref() {
        Some("flagged") => "flagged",
        _ => "quarantine",
    };
    let page = q.page.unwrap_or(1).max(1);
    let base = format!(
        "{SECTION}/{}",
        url::form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>()
    );
    let link = |n: usize| format!("{base}?view={view}&page={n}");
    let ctx = Ctx::new(&headers, &link(page), Some(SECTION), Some(&who));
    let job_id = JobId::new(id.clone());
    match job_page(&state, &who.principal, &job_id, view == "flagged", page).await {
        Ok((job, spec, runs, set_aside)) => {
            let trail = [
                (ctx.text("ingest.title"), Some(SECTION.to_owned())),
                (job.id.clone(), None),
            ];
            let ctx = ctx.crumbs(&trail);
            let total = usize::try_from(set_aside.total).unwrap_or(0);
            let notice = q.done.as_deref().and_then(|d| match d {
                "started" | "resubmitted" => Some(ctx.text(&format!("ingest.done_{d}"))),
                _ => None,
            });
            let page = JobPage {
                live: state.ingest.live.get(&id),
                job,
                spec,
                runs,
                view,
                rows: set_aside.rows,
                rows_total: set_aside.total,
                raw_shown: set_aside.raw_shown,
                pager: Pager::new(total, page, PAGE_SIZE, link),
                notice,
            };
            state
                .pages
                .render(StatusCode::OK, "job.html", &ctx.frame, page)
        }
        Err(e) => failure(&state, &ctx, e),
    }
}

#[derive(Deserialize)]
pub(super) struct RunForm {
    form_token: String,
}

/// Starts a run of the job in the background; its page shows the progress.
pub(super) async fn run(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
    Path(id): Path<String>,
    axum::extract::Form(form): axum::extract::Form<RunForm>,
) -> Response {
    if !who.form_token_is(&form.form_token) {
        return bad_form(&state, &headers, &who);
    }
    start(&state, &headers, &who, id, None).await
}

/// Starts a run of job `id` (on `files`, when re-submitting) as `who`, in the background.
async fn start(
    state: &ConsoleState,
    headers: &HeaderMap,
    who: &SignedIn,
    id: String,
    files: Option<Vec<std::path::PathBuf>>,
) -> Response {
    let ctx = Ctx::new(headers, SECTION, Some(SECTION), Some(who));
    let job_id = JobId::new(id.clone());
    if let Err(e) = manage::job(&state.core, &who.principal, &job_id).await {
        return failure(state, &ctx, api_error(e));
    }
    let live = state.ingest.live.clone();
    if !live.start(&id, who.principal.id.as_str()) {
        let e = ApiError::new(
            StatusCode::CONFLICT,
            "running",
            ctx.text("ingest.already_running"),
        );
        return failure(state, &ctx, e);
    }
    let done = if files.is_some() {
        "resubmitted"
    } else {
        "started"
    };
    let (core, ingest, principal) = (
        state.core.clone(),
        state.ingest.context.clone(),
        who.principal.clone(),
    );
    let job = id.clone();
    tokio::spawn(async move {
        let progress = |p: Progress| live.progress(&job, p);
        let ran = match &files {
            Some(files) => {
                manage::resubmit(&ingest, &core, &principal, &job_id, files, progress).await
            }
            None => manage::run_now(&ingest, &core, &principal, &job_id, progress).await,
        };
        let (rows, error) = match &ran {
            Ok(r) => (r.rows_read, None),
            Err(e) => (0, Some(e.to_string())),
        };
        // Who started the run, from where and how it ended, in the access audit.
        let what = match &files {
            Some(files) => format!(
                "ingest resubmit {job} {}",
                files
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            None => format!("ingest run {job}"),
        };
        let record = NewAuditRecord {
            principal: principal.id.to_string(),
            purpose: None,
            client: "console".into(),
            protocol: "console".into(),
            sql: what,
            tables: Vec::new(),
            columns: Vec::new(),
            masks: Vec::new(),
            filters: Vec::new(),
            rows,
            duration_ms: 0,
            outcome: if error.is_none() {
                AuditOutcome::Ok
            } else {
                AuditOutcome::Failed
            },
            error,
            completes: None,
        };
        if let Err(e) = core.store().append_audit(&record).await {
            tracing::error!("audit append failed: {e}");
        }
        live.finish(&job, ran.map(RunView::of).map_err(|e| e.to_string()));
    });
    let path = url::form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>();
    Redirect::to(&format!("{SECTION}/{path}?done={done}")).into_response()
}

/// Takes an upload of corrected rows (form token and one file, in the job's format and
/// encoding), keeps it under the data directory and re-submits it as a run.
pub(super) async fn resubmit(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
    Path(id): Path<String>,
    mut form: Multipart,
) -> Response {
    let ctx = Ctx::new(&headers, SECTION, Some(SECTION), Some(&who));
    let mut token = None;
    let mut upload: Option<(String, Vec<u8>)> = None;
    loop {
        match form.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or("").to_owned();
                let file_name = field.file_name().unwrap_or("rows").to_owned();
                match field.bytes().await {
                    Ok(bytes) if name == "form_token" => {
                        token = Some(String::from_utf8_lossy(&bytes).into_owned());
                    }
                    Ok(bytes) if name == "file" => upload = Some((file_name, bytes.to_vec())),
                    Ok(_) => {}
                    Err(e) => return failure(&state, &ctx, ApiError::bad_request(e.body_text())),
                }
            }
            Ok(None) => break,
            Err(e) => return failure(&state, &ctx, ApiError::bad_request(e.body_text())),
        }
    }
    if !token.is_some_and(|t| who.form_token_is(&t)) {
        return bad_form(&state, &headers, &who);
    }
    let Some((file_name, bytes)) = upload.filter(|(_, b)| !b.is_empty()) else {
        return failure(
            &state,
            &ctx,
            ApiError::bad_request(ctx.text("ingest.no_file")),
        );
    };
    if let Err(e) = manage::job(&state.core, &who.principal, &JobId::new(id.clone())).await {
        return failure(&state, &ctx, api_error(e));
    }
    let path = match keep_upload(&state.ingest.context.data_dir, &id, &file_name, &bytes) {
        Ok(path) => path,
        Err(e) => return failure(&state, &ctx, ApiError::internal(&e)),
    };
    start(&state, &headers, &who, id, Some(vec![path])).await
}

/// Writes an uploaded file to `DATA_DIR/resubmitted/JOB/TIME-NAME`, its name reduced to safe
/// characters.
fn keep_upload(
    data_dir: &std::path::Path,
    job: &str,
    file_name: &str,
    bytes: &[u8],
) -> std::io::Result<std::path::PathBuf> {
    let safe = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                    c
                } else {
                    '_'
                }
            })
            .collect::<String>()
            .replace("..", "_")
            .trim_start_matches('.')
            .to_owned()
    };
    let dir = data_dir.join("resubmitted").join(safe(job));
    std::fs::create_dir_all(&dir)?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    let path = dir.join(format!("{stamp}-{}", safe(file_name)));
    std::fs::write(&path, bytes)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upload_keeps_to_its_job_directory_whatever_its_name() {
        let dir = std::env::temp_dir().join(format!("zs-upload-{}", std::process::id()));
        let path = keep_upload(&dir, "../../etc", "../../passwd", b"x").unwrap();
        assert!(path.starts_with(dir.join("resubmitted")), "{path:?}");
        assert!(!path.to_string_lossy().contains(".."), "{path:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn one_run_at_a_time_per_job() {
        let live = LiveRuns::default();
        assert!(live.start("a", "p"));
        assert!(!live.start("a", "p"));
        assert!(live.start("b", "p"));
        live.finish("a", Err("done".into()));
        assert!(live.start("a", "p"));
    }
}

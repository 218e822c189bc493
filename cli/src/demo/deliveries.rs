//! The deliveries that arrive after the first landing, so that the demo has the day-to-day
//! work a data officer meets, each made by the real mechanism and none written into the
//! catalog by hand:
//!
//! - IoT readings delivered daily for six days; on the sixth a gateway fault leaves most
//!   values empty, the evaluation after the run sees the null rate jump and opens a quality
//!   incident;
//! - a late grid-event delivery with rows that must be quarantined: a malformed timestamp, a
//!   missing event number (a required key) and a status outside the `error` rule's code list;
//! - an objection filed by a street on one of those events, through the filer's governed
//!   session;
//! - a discovery scan of the grid events, its suggestions left for review.
//!
//! `generated/later.json` lists these deliveries (rows held, rows landed) and the defects they
//! carry, as `manifest.json` does for the first ones.

use super::land::job_spec;
use super::spec::DemoResource;
use crate::commands::ingest::run_with_progress;
use crate::deployment::Deployment;
use crate::error::{CliError, CliResult};
use std::collections::BTreeMap;
use std::path::Path;
use zhongshu_catalog::{
    Actor, CatalogStore as _, IngestRun, NewObjection, PrincipalId, ResourceId,
};
use zhongshu_ingest::create_job;
use zhongshu_ingest::spec::SourceSpec;

/// The IoT readings resource and the grid events resource.
const READINGS: &str = "440310-YJ-0002";
const EVENTS: &str = "440310-ZS-0002";
/// Days of daily readings; the last has the gateway fault.
const DAYS: u32 = 6;
/// Readings per device per day (every two hours): each day's delivery is about a quarter of
/// the first, at every scale, so the fault day moves the whole table's null rate.
const READINGS_PER_DAY: u32 = 12;

/// The later deliveries as `generated/later.json` records them beside `manifest.json`: each
/// file with the rows it held and the rows it landed, and the defects they carried.
pub const LATER_FILE: &str = "later.json";

/// One later delivery.
#[derive(Debug, serde::Serialize)]
struct Delivered {
    resource: String,
    file: String,
    rows: i64,
    written: i64,
}

/// A defect a later delivery carried on purpose.
#[derive(Debug, serde::Serialize)]
struct Carried {
    resource: String,
    column: String,
    kind: String,
    count: usize,
    description: String,
}

/// What the later deliveries left for the console to show.
#[derive(Debug, Default)]
pub struct Later {
    /// Rows quarantined by the late grid-event delivery.
    pub quarantined: i64,
    /// Quality incidents open after the daily readings.
    pub incidents: usize,
    /// Discovery suggestions waiting for review.
    pub suggestions: usize,
}

fn io_error(path: &Path, e: impl std::fmt::Display) -> CliError {
    CliError::Failed(format!("{}: {e}", path.display()))
}

/// Writes `rows` under `header` as a UTF-8 CSV file at `path`.
fn write_csv(path: &Path, header: &[&str], rows: &[Vec<String>]) -> CliResult {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| io_error(path, e))?;
    }
    let mut w = csv::Writer::from_path(path).map_err(|e| io_error(path, e))?;
    w.write_record(header).map_err(|e| io_error(path, e))?;
    for row in rows {
        w.write_record(row).map_err(|e| io_error(path, e))?;
    }
    w.flush().map_err(|e| io_error(path, e))
}

/// Creates the job that lands files matching `glob` into `r`'s table, named `suffix`.
async fn job(d: &Deployment, r: &DemoResource, suffix: &str, glob: &str) -> CliResult<String> {
    let entry = super::generate::FileEntry {
        resource: r.resource.id.to_string(),
        file: glob.to_owned(),
        format: r.delivery.format,
        encoding: zhongshu_ingest::Encoding::Utf8,
        rows: 0,
    };
    let mut spec = job_spec(r, &entry);
    spec.id = format!("{}-{suffix}", spec.id);
    if let SourceSpec::Files { encoding, .. } = &mut spec.source {
        *encoding = zhongshu_ingest::Encoding::Utf8;
    }
    let job = create_job(d.store.as_ref(), &Actor::system(), &spec.to_toml()).await?;
    Ok(job.id.to_string())
}

fn resource<'a>(resources: &'a [DemoResource], id: &str) -> CliResult<&'a DemoResource> {
    resources
        .iter()
        .find(|r| r.resource.id.as_str() == id)
        .ok_or_else(|| CliError::Failed(format!("the demo has no resource {id}")))
}

/// The (device, metric, typical value) of every device in the first readings delivery.
fn daily_devices(generated: &Path, file: &str) -> CliResult<Vec<(String, String, f64)>> {
    let path = generated.join(file);
    let mut r = csv::Reader::from_path(&path).map_err(|e| io_error(&path, e))?;
    let mut seen: BTreeMap<String, (String, f64)> = BTreeMap::new();
    for record in r.records() {
        let record = record.map_err(|e| io_error(&path, e))?;
        let (Some(device), Some(metric), Some(value)) =
            (record.get(0), record.get(2), record.get(3))
        else {
            continue;
        };
        if let Ok(v) = value.parse::<f64>() {
            seen.entry(device.to_owned())
                .or_insert_with(|| (metric.to_owned(), v));
        }
    }
    Ok(seen.into_iter().map(|(d, (m, v))| (d, m, v)).collect())
}

/// Six daily deliveries of two-hourly readings; on the sixth nine values in ten are missing.
/// Returns the deliveries and how many values they left empty.
async fn daily_readings(
    d: &Deployment,
    generated: &Path,
    r: &DemoResource,
) -> CliResult<(Vec<Delivered>, usize)> {
    let mut delivered = Vec::new();
    let mut missing = 0;
    let devices = daily_devices(generated, r.delivery.file)?;
    let job_id = job(d, r, "daily", "yjj/daily/readings-*.csv").await?;
    for day in 1..=DAYS {
        let mut rows = Vec::new();
        for (i, (device, metric, typical)) in devices.iter().enumerate() {
            for reading in 0..READINGS_PER_DAY {
                let hour = reading * 24 / READINGS_PER_DAY;
                // A small daily wave around the device's usual value.
                let wave = 1.0 + 0.02 * (f64::from(hour) * 0.26 + i as f64).sin();
                let faulty = day == DAYS && (reading + i as u32) % 10 < 9;
                rows.push(vec![
                    device.clone(),
                    format!("2026-11-{day:02}T{hour:02}:30:00+08:00"),
                    metric.clone(),
                    if faulty {
                        String::new()
                    } else {
                        format!("{:.3}", typical * wave)
                    },
                    "false".into(),
                ]);
            }
        }
        let file = format!("yjj/daily/readings-2026-11-{day:02}.csv");
        write_csv(
            &generated.join(&file),
            &["device_id", "observed_at", "metric", "value", "alarm"],
            &rows,
        )?;
        missing += rows.iter().filter(|row| row[3].is_empty()).count();
        let run = run_with_progress(d, &zhongshu_catalog::JobId::new(&job_id)).await?;
        delivered.push(Delivered {
            resource: READINGS.into(),
            file,
            rows: run.rows_read,
            written: run.rows_written,
        });
    }
    Ok((delivered, missing))
}

/// The event numbers of the late delivery's good rows.
const LATE_EVENTS: [&str; 5] = [
    "WG20261201900001",
    "WG20261201900002",
    "WG20261201900003",
    "WG20261201900004",
    "WG20261201900005",
];

/// A late grid-event delivery: five good rows and three that must be quarantined.
async fn late_events(d: &Deployment, generated: &Path, r: &DemoResource) -> CliResult<IngestRun> {
    let event = |id: &str, community: &str, at: &str, status: &str| {
        vec![
            id.to_owned(),
            "440310001".to_owned(),
            community.to_owned(),
            "市容环境".to_owned(),
            "坪山街道六联社区：占道经营、乱堆乱放，影响通行".to_owned(),
            "13800138000".to_owned(),
            at.to_owned(),
            status.to_owned(),
        ]
    };
    let mut rows: Vec<Vec<String>> = LATE_EVENTS
        .iter()
        .enumerate()
        .map(|(i, id)| {
            event(
                id,
                "440310001001",
                &format!("2026-12-01T{:02}:15:00+08:00", 8 + i),
                "已受理",
            )
        })
        .collect();
    // A malformed timestamp, a missing event number, a status outside the code list.
    rows.push(event(
        "WG20261201900006",
        "440310001001",
        "2026-12-01 25:61",
        "已受理",
    ));
    rows.push(event(
        "",
        "440310001001",
        "2026-12-01T14:00:00+08:00",
        "已受理",
    ));
    rows.push(event(
        "WG20261201900008",
        "440310001001",
        "2026-12-01T15:00:00+08:00",
        "待定",
    ));
    let header: Vec<&str> = r.resource.columns.iter().map(|c| c.name.as_str()).collect();
    write_csv(
        &generated.join("zsj/late/grid_events-2026-12-01.csv"),
        &header,
        &rows,
    )?;
    let job_id = job(d, r, "late", "zsj/late/grid_events-*.csv").await?;
    run_with_progress(d, &zhongshu_catalog::JobId::new(&job_id)).await
}

/// A street files an objection on a late event's status, through its own governed session.
async fn objection(d: &Deployment) -> CliResult {
    let filer = d
        .store
        .get_principal(&PrincipalId::new("pingshan_street"))
        .await?
        .ok_or_else(|| CliError::Failed("the demo has no principal pingshan_street".into()))?;
    let filed = NewObjection {
        resource: ResourceId::new(EVENTS),
        table: "main".into(),
        record_key: BTreeMap::from([("event_id".to_owned(), LATE_EVENTS[0].to_owned())]),
        column: "status".into(),
        current_value: Some("已受理".into()),
        proposed_value: "已办结".into(),
        evidence: "网格员 12 月 2 日现场核实：占道摊点已清理，事件已办结。".into(),
    };
    zhongshu_quality::objection::file(&d.core()?, &filer, "demo", &filed).await?;
    Ok(())
}

/// Lands the later deliveries, files the objection and runs the scan.
pub async fn arrive(
    d: &Deployment,
    data_dir: &Path,
    resources: &[DemoResource],
) -> CliResult<Later> {
    let generated = data_dir.join("generated");
    let (mut delivered, missing) =
        daily_readings(d, &generated, resource(resources, READINGS)?).await?;
    let late = late_events(d, &generated, resource(resources, EVENTS)?).await?;
    delivered.push(Delivered {
        resource: EVENTS.into(),
        file: "zsj/late/grid_events-2026-12-01.csv".into(),
        rows: late.rows_read,
        written: late.rows_written,
    });
    let carried = [Carried {
        resource: READINGS.into(),
        column: "value".into(),
        kind: "missing".into(),
        count: missing,
        description: "gateway fault on the last daily delivery: values left empty".into(),
    }];
    let path = generated.join(LATER_FILE);
    let text = serde_json::to_string_pretty(
        &serde_json::json!({ "files": delivered, "defects": carried }),
    )
    .map_err(|e| CliError::Failed(e.to_string()))?;
    std::fs::write(&path, text).map_err(|e| io_error(&path, e))?;
    objection(d).await?;
    let suggestions = zhongshu_engine::classification::scan_resource(
        &d.core()?,
        &Actor::system(),
        &ResourceId::new(EVENTS),
        1000,
    )
    .await?;
    Ok(Later {
        quarantined: late.rows_quarantined,
        incidents: d.store.list_incidents(None, true).await?.len(),
        suggestions: suggestions.len(),
    })
}

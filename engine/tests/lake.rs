//! The lake writes real Delta tables and reads them back through DataFusion.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use arrow::array::{Int64Array, RecordBatch, StringArray};
use std::sync::Arc;
use zhongshu_catalog::{Category, Column, Grade, ResourceId};
use zhongshu_engine::{Lake, LakeConfig, schema::arrow_schema};

fn columns() -> Vec<Column> {
    let col = |name: &str, title: &str, data_type: &str| Column {
        name: name.into(),
        title: title.into(),
        data_type: data_type.into(),
        nullable: true,
        is_key: false,
        description: String::new(),
        category: Category::Public,
        grade: Grade::L1,
        element: None,
        binding: None,
    };
    vec![col("code", "代码", "string"), col("n", "数量", "int64")]
}

fn batch(codes: &[&str], ns: &[i64]) -> RecordBatch {
    let schema = arrow_schema(&columns()).unwrap();
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from(codes.to_vec())),
            Arc::new(Int64Array::from(ns.to_vec())),
        ],
    )
    .unwrap()
}

#[tokio::test]
async fn write_append_overwrite_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(&LakeConfig::default(), dir.path()).unwrap();
    assert!(lake.root().as_str().starts_with("file://"));
    assert!(!lake.exists("base/test/t").await.unwrap());
    assert!(matches!(
        lake.open_table("base/test/t").await,
        Err(zhongshu_engine::EngineError::NoTable { .. })
    ));

    let v0 = lake
        .write_to("base/test/t")
        .named("t")
        .append(vec![batch(&["440310", "440311"], &[1, 2])])
        .await
        .unwrap();
    assert_eq!((v0.version, v0.rows), (0, 2));
    let v1 = lake
        .write_to("base/test/t")
        .named("t")
        .append(vec![batch(&["440306"], &[3])])
        .await
        .unwrap();
    assert_eq!(v1.version, 1);
    let record = lake
        .table_record(&ResourceId::new("r"), "t", "base/test/t")
        .await
        .unwrap();
    assert_eq!(record.row_count, 3);

    let v2 = lake
        .write_to("base/test/t")
        .named("t")
        .overwrite(vec![batch(&["坪山"], &[9])])
        .await
        .unwrap();
    assert_eq!(v2.version, 2);

    let record = lake
        .table_record(&ResourceId::new("R1"), "main", "base/test/t")
        .await
        .unwrap();
    assert_eq!(record.version, 2);
    assert_eq!(record.row_count, 1);
    assert!(
        record.location.ends_with("/lake/base/test/t")
            || record.location.ends_with("/lake/base/test/t/"),
        "{}",
        record.location
    );
    assert!(record.schema_json.contains("code"));
}

#[tokio::test]
async fn bad_paths_and_schemes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(&LakeConfig::default(), dir.path()).unwrap();
    assert!(lake.table_url("../escape").is_err());
    assert!(lake.table_url("/abs").is_err());
    let err = Lake::open(
        &LakeConfig {
            url: "ftp://x/y".into(),
            options: Default::default(),
        },
        dir.path(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("not supported"), "{err}");
    // An S3 lake is configured by URL and options without touching the network.
    let s3 = Lake::open(
        &LakeConfig {
            url: "s3://lake/pingshan".into(),
            options: Default::default(),
        },
        dir.path(),
    )
    .unwrap();
    assert_eq!(
        s3.table_url("base/x").unwrap().as_str(),
        "s3://lake/pingshan/base/x"
    );
}

/// Rows of `table` read through the provider queries use.
async fn read_all(lake: &Lake, path: &str) -> (String, Vec<RecordBatch>) {
    let (ctx, kind) = session_over(lake, path).await;
    (kind, collect(&ctx, "SELECT * FROM t ORDER BY code").await)
}

/// A session with `path` registered as `t` through the provider queries use, and that
/// provider's kind.
async fn session_over(lake: &Lake, path: &str) -> (datafusion::prelude::SessionContext, String) {
    let ctx = datafusion::prelude::SessionContext::new();
    let table = lake.open_table(path).await.unwrap();
    let provider = zhongshu_engine::table_provider(&table, &ctx.state(), lake.column_cache())
        .await
        .unwrap();
    let kind = format!("{provider:?}");
    ctx.register_table("t", provider).unwrap();
    (ctx, kind)
}

async fn collect(ctx: &datafusion::prelude::SessionContext, sql: &str) -> Vec<RecordBatch> {
    ctx.sql(sql).await.unwrap().collect().await.unwrap()
}

/// Appends, through `lake`, a row of `base/test/t` with a column the table's first files lack.
async fn append_with_street(lake: &Lake) {
    let wider = Arc::new(arrow::datatypes::Schema::new(vec![
        arrow::datatypes::Field::new("code", arrow::datatypes::DataType::Utf8, true),
        arrow::datatypes::Field::new("n", arrow::datatypes::DataType::Int64, true),
        arrow::datatypes::Field::new("street", arrow::datatypes::DataType::Utf8, true),
    ]));
    let added = RecordBatch::try_new(
        wider.clone(),
        vec![
            Arc::new(StringArray::from(vec!["440312"])),
            Arc::new(Int64Array::from(vec![3])),
            Arc::new(StringArray::from(vec!["坪山街道"])),
        ],
    )
    .unwrap();
    lake.write_to("base/test/t")
        .schema(wider)
        .exactly_once("test", 1)
        .append(vec![added])
        .await
        .unwrap();
}

/// `base/test/t` after [`append_with_street`] on rows 440310 and 440311, as a table.
const WITH_STREET: [&str; 7] = [
    "+--------+---+----------+",
    "| code   | n | street   |",
    "+--------+---+----------+",
    "| 440310 | 1 |          |",
    "| 440311 | 2 |          |",
    "| 440312 | 3 | 坪山街道 |",
    "+--------+---+----------+",
];

fn lines(batches: &[RecordBatch]) -> Vec<String> {
    arrow::util::pretty::pretty_format_batches(batches)
        .unwrap()
        .to_string()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn queries_read_the_latest_commit_through_the_parquet_scan() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(&LakeConfig::default(), dir.path()).unwrap();
    lake.write_to("base/test/t")
        .named("t")
        .append(vec![batch(&["440310", "440311"], &[1, 2])])
        .await
        .unwrap();
    let (kind, batches) = read_all(&lake, "base/test/t").await;
    assert!(kind.starts_with("DataFiles"), "{kind}");
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 2);

    // Another process (another Lake on the same root) commits rows with a new column; the
    // table kept open here is brought up to date, and the older file reads the column as null.
    let other = Lake::open(&LakeConfig::default(), dir.path()).unwrap();
    append_with_street(&other).await;
    assert_eq!(
        lake.open_table("base/test/t").await.unwrap().version(),
        Some(1)
    );
    let (_, batches) = read_all(&lake, "base/test/t").await;
    assert_eq!(lines(&batches), WITH_STREET);
}

/// Writes `base/test/p` partitioned by `code`, as a table written outside the lake would be
/// (the lake itself never partitions).
async fn write_partitioned(lake: &Lake, codes: &[&str], ns: &[i64]) {
    let url = lake.table_url("base/test/p").unwrap();
    deltalake::DeltaTableBuilder::from_url(url)
        .unwrap()
        .build()
        .unwrap()
        .write(vec![batch(codes, ns)])
        .with_partition_columns(["code"])
        .await
        .unwrap();
}

#[tokio::test]
async fn partitioned_tables_are_read_through_delta_rs() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(&LakeConfig::default(), dir.path()).unwrap();
    write_partitioned(&lake, &["440310", "440311"], &[1, 2]).await;
    let (kind, batches) = read_all(&lake, "base/test/p").await;
    assert!(!kind.starts_with("DataFiles"), "{kind}");
    let text = arrow::util::pretty::pretty_format_batches(&batches)
        .unwrap()
        .to_string();
    assert!(text.contains("440311"), "{text}");
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 2);
}

#[tokio::test]
async fn row_filters_hold_over_tables_read_through_delta_rs() {
    use zhongshu_engine::governed::{ColumnAccess, SessionAccess, TableAccess};
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(&LakeConfig::default(), dir.path()).unwrap();
    write_partitioned(
        &lake,
        &["440310", "440311", "440311", "440312"],
        &[1, 2, 3, 4],
    )
    .await;
    let access = SessionAccess {
        tables: vec![TableAccess {
            schema: "base".into(),
            name: "p".into(),
            path: "base/test/p".into(),
            columns: ["code", "n"]
                .map(|name| ColumnAccess {
                    name: name.into(),
                    mask: None,
                })
                .into(),
            row_filter: Some("code IN ('440310', '440311') AND n < 3".into()),
        }],
        ..SessionAccess::default()
    };
    let session = zhongshu_engine::GovernedSession::new(
        &lake,
        &access,
        &zhongshu_policies::MaskKey::new(b"lake-test-masking-key").unwrap(),
        zhongshu_engine::Limits::default(),
        None,
    )
    .unwrap();
    let sql = |q: &'static str| {
        let session = &session;
        async move {
            let batches = session
                .sql(q)
                .await?
                .collect()
                .await
                .map_err(zhongshu_engine::governed::query_error)?;
            Ok::<_, zhongshu_engine::EngineError>(
                arrow::util::pretty::pretty_format_batches(&batches)
                    .unwrap()
                    .to_string(),
            )
        }
    };
    let rows = sql("SELECT code, n FROM base.p ORDER BY n").await.unwrap();
    assert!(
        rows.contains("| 440310 | 1 |") && rows.contains("| 440311 | 2 |"),
        "{rows}"
    );
    assert!(
        !rows.contains("| 3 |") && !rows.contains("440312"),
        "{rows}"
    );
    // A column only the row filter reads is read, and left out of the result.
    let codes = sql("SELECT code FROM base.p ORDER BY code").await.unwrap();
    assert_eq!(codes.matches("| 4403").count(), 2, "{codes}");
    // delta-rs evaluates the filters it is given on rows; it is given the row filter alone,
    // and the user's predicate runs above it.
    let probe =
        sql("SELECT count(*) AS c FROM base.p WHERE 1 / (CASE WHEN n >= 3 THEN 0 ELSE 1 END) = 1")
            .await
            .unwrap_or_else(|e| panic!("an oracle on the hidden rows: {e}"));
    assert!(probe.contains("| 2 |"), "{probe}");
}

/// The physical plan of `sql` over `path` registered as `t`.
async fn plan_of(lake: &Lake, path: &str, sql: &str) -> String {
    let (ctx, _) = session_over(lake, path).await;
    let plan = ctx
        .sql(sql)
        .await
        .unwrap()
        .create_physical_plan()
        .await
        .unwrap();
    datafusion::physical_plan::displayable(plan.as_ref())
        .indent(true)
        .to_string()
}

#[tokio::test]
async fn the_column_cache_answers_as_the_files_do() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(&LakeConfig::default(), dir.path()).unwrap();
    lake.column_cache().set_budget(64 << 20);
    lake.write_to("base/test/t")
        .named("t")
        .append(vec![batch(&["440310", "440311"], &[1, 2])])
        .await
        .unwrap();
    // A scan with a row limit does not fill the cache.
    let plan = plan_of(&lake, "base/test/t", "SELECT code FROM t LIMIT 1").await;
    assert!(!plan.contains("CachedScanExec"), "{plan}");
    assert_eq!(lake.column_cache().usage().1, 0);
    let (_, first) = read_all(&lake, "base/test/t").await;
    assert_eq!(first.iter().map(|b| b.num_rows()).sum::<usize>(), 2);
    let held = lake.column_cache().usage().1;
    assert!(held > 0, "the first read fills the cache");
    let plan = plan_of(&lake, "base/test/t", "SELECT code FROM t WHERE n > 1").await;
    assert!(plan.contains("CachedScanExec"), "{plan}");

    // A second file with a column the first lacks: the first file's cached columns are used,
    // and its missing column reads as null, as from Parquet.
    append_with_street(&lake).await;
    let (_, cached) = read_all(&lake, "base/test/t").await;
    assert_eq!(lines(&cached), WITH_STREET);
    assert!(lake.column_cache().usage().1 > held);

    // A join's dynamic filter reaches the cached scan, which drops the rows it rejects.
    let join = "SELECT t.n FROM (VALUES ('440311')) v(c) JOIN t ON t.code = v.c";
    let plan = plan_of(&lake, "base/test/t", join).await;
    assert!(
        plan.contains("CachedScanExec") && plan.contains("filters=[DynamicFilter"),
        "{plan}"
    );
    let (ctx, _) = session_over(&lake, "base/test/t").await;
    let joined = collect(&ctx, join).await;
    assert_eq!(
        lines(&joined),
        ["+---+", "| n |", "+---+", "| 2 |", "+---+"]
    );

    // A budget too small for the table: everything is evicted and Parquet is read again.
    lake.column_cache().set_budget(1);
    assert_eq!(lake.column_cache().usage(), (1, 0));
    let plan = plan_of(&lake, "base/test/t", "SELECT code FROM t").await;
    assert!(!plan.contains("CachedScanExec"), "{plan}");
    let (_, uncached) = read_all(&lake, "base/test/t").await;
    assert_eq!(lines(&uncached), WITH_STREET);
}

/// Records the commits it is told of.
#[derive(Default)]
struct Recorder(std::sync::Mutex<Vec<zhongshu_engine::Commit>>);

impl zhongshu_engine::CommitHook for Recorder {
    fn committed(&self, commit: &zhongshu_engine::Commit) {
        self.0.lock().unwrap().push(commit.clone());
    }
}

#[tokio::test]
async fn commit_hooks_see_every_commit_made_and_none_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let recorder = Arc::new(Recorder::default());
    let lake = Lake::open(&LakeConfig::default(), dir.path())
        .unwrap()
        .with_commit_hook(recorder.clone());
    let first = lake
        .write_to("base/test/t")
        .append(vec![batch(&["440310", "440311"], &[1, 2])])
        .await
        .unwrap();
    assert!(first.made && first.rows == 2);
    for _ in 0..2 {
        lake.write_to("base/test/t")
            .exactly_once("hook-test", 1)
            .append(vec![batch(&["440312"], &[3])])
            .await
            .unwrap();
    }
    let keys = vec!["code".to_owned()];
    let merged = lake
        .write_to("base/test/t")
        .exactly_once("hook-test", 2)
        .merge(vec![batch(&["440312", "440313"], &[30, 4])], &keys)
        .await
        .unwrap();
    assert_eq!((merged.inserted, merged.updated), (1, 1));
    let refused = lake
        .write_to("base/test/t")
        .merge(vec![batch(&["440314"], &[5])], &keys)
        .await;
    assert!(refused.is_err(), "a merge without a transaction is refused");
    let seen: Vec<_> = recorder
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|c| (c.operation, c.version, c.rows, c.transaction.clone()))
        .collect();
    assert_eq!(
        seen,
        [
            ("append", 0, 2, None),
            ("append", 1, 1, Some(("hook-test".to_owned(), 1))),
            ("merge", 2, 2, Some(("hook-test".to_owned(), 2))),
        ]
    );
}

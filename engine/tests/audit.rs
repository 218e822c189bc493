//! A statement's audit record survives whatever its client does: found by the soak
//! (`bench/soak.sh`), where a stream dropped while its completion was being written left the
//! statement on record as started and never completed.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use futures::StreamExt;
use std::sync::Arc;
use zhongshu_catalog::{
    Actor, AuditOutcome, CatalogStore, NewPrincipal, OrgId, OrgKind, OrgUnit, Principal,
    PrincipalAttributes, PrincipalId, PrincipalKind, Role, SqlCatalogStore,
};
use zhongshu_engine::{ClientInfo, Lake, LakeConfig, Limits, QueryService};
use zhongshu_policies::MaskKey;

/// A query service over an empty lake and an analyst `a`.
async fn service(dir: &std::path::Path) -> (Arc<SqlCatalogStore>, Arc<QueryService>, Principal) {
    let url = format!("sqlite://{}", dir.join("catalog.db").display());
    let store = Arc::new(SqlCatalogStore::connect(&url).await.unwrap());
    let actor = Actor::system();
    let org = OrgUnit {
        id: OrgId::new("org"),
        name: "分析部门".into(),
        kind: OrgKind::DistrictDepartment,
        parent: None,
        division_code: None,
    };
    store.upsert_org(&actor, &org).await.unwrap();
    let principal = Principal {
        id: PrincipalId::new("a"),
        display_name: "a".into(),
        kind: PrincipalKind::User,
        org: org.id.clone(),
        roles: vec![Role::Analyst],
        attributes: PrincipalAttributes::default(),
    };
    let new = NewPrincipal {
        principal: principal.clone(),
        password: None,
        token: None,
    };
    store.create_principal(&actor, &new).await.unwrap();
    let service = Arc::new(QueryService::new(
        Lake::open(&LakeConfig::default(), dir).unwrap(),
        store.clone(),
        MaskKey::new(b"audit-test-masking-key").unwrap(),
        Limits::default(),
    ));
    (store, service, principal)
}

#[tokio::test]
async fn a_stream_dropped_while_its_completion_is_written_still_completes_on_record() {
    let dir = tempfile::tempdir().unwrap();
    let (store, service, principal) = service(dir.path()).await;
    let session = service
        .open(principal, None, ClientInfo::answering("test", "cli"))
        .await
        .unwrap();
    let sql = "SELECT 1 AS x";
    let mut stream = session.execute(sql).await.unwrap();
    assert_eq!(stream.next().await.unwrap().unwrap().num_rows(), 1);
    // The end of the rows starts the completion's write; the client goes away during it.
    let polled = futures::poll!(stream.next());
    assert!(
        polled.is_pending(),
        "the completion was written at once, so this test shows nothing: {polled:?}"
    );
    drop(stream);

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let records = store.audit_records(0, 100).await.unwrap();
        let started = records
            .iter()
            .find(|r| r.record.sql == sql && r.record.outcome == AuditOutcome::Started)
            .expect("the statement is on record as started");
        let completion = records
            .iter()
            .find(|r| r.record.completes == Some(started.seq));
        if let Some(completion) = completion {
            assert_eq!(completion.record.outcome, AuditOutcome::Ok);
            assert_eq!(completion.record.rows, 1);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "statement {} is on record as started and never completed",
            started.seq
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Polls `future` until it has returned `Pending` `n` times, then drops it there, as a door
/// drops its handler when the client hangs up; whether it finished first.
async fn abandoned_after<F: std::future::Future>(future: F, n: usize) -> bool {
    let mut future = std::pin::pin!(future);
    let mut pending = 0;
    std::future::poll_fn(|cx| match future.as_mut().poll(cx) {
        std::task::Poll::Ready(_) => std::task::Poll::Ready(true),
        std::task::Poll::Pending => {
            pending += 1;
            if pending >= n {
                std::task::Poll::Ready(false)
            } else {
                std::task::Poll::Pending
            }
        }
    })
    .await
}

#[tokio::test]
async fn a_statement_abandoned_at_any_point_of_its_start_is_on_record_whole() {
    let dir = tempfile::tempdir().unwrap();
    let (store, service, principal) = service(dir.path()).await;
    let session = service
        .open(principal, None, ClientInfo::answering("test", "cli"))
        .await
        .unwrap();
    // Every point at which starting a statement waits (deciding, the started record's
    // transaction and its commit) is a point at which the client may go away.
    let mut points = 0;
    for n in 1..200 {
        let sql = format!("SELECT {n} AS abandoned");
        if abandoned_after(session.execute(&sql), n).await {
            break;
        }
        points += 1;
    }
    // At least the wait for the started record: a statement that never waited could not be
    // abandoned, and the test would show nothing.
    assert!(points >= 1, "starting a statement never waited");

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let records = store.audit_records(0, 10_000).await.unwrap();
        let open: Vec<_> = records
            .iter()
            .filter(|r| r.record.outcome == AuditOutcome::Started)
            .filter(|r| !records.iter().any(|c| c.record.completes == Some(r.seq)))
            .map(|r| r.record.sql.clone())
            .collect();
        if open.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "on record as started and never completed: {open:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

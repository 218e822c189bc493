use crate::fixtures::*;
use crate::on_every_backend;
use sqlx::AssertSqlSafe;
use zhongshu_catalog::*;

#[tokio::test]
async fn organisations_and_principals() {
    on_every_backend(|store: SqlCatalogStore| async move {
        let store = &store;
        seed_orgs(store).await;
        let orgs = store.list_orgs().await.unwrap();
        assert_eq!(orgs.len(), 4);
        assert_eq!(
            store
                .get_org(&OrgId::new("440310001"))
                .await
                .unwrap()
                .unwrap()
                .kind,
            OrgKind::Street
        );

        let bad_parent = OrgUnit {
            id: OrgId::new("x"),
            name: "x".into(),
            kind: OrgKind::Community,
            parent: Some(OrgId::new("nowhere")),
            division_code: None,
        };
        assert!(matches!(
            store.upsert_org(&actor(), &bad_parent).await,
            Err(CatalogError::NotFound { .. })
        ));

        let principal = Principal {
            id: PrincipalId::new("gaj_officer"),
            display_name: "公安分局数据专员".into(),
            kind: PrincipalKind::User,
            org: OrgId::new("440310-gaj"),
            roles: vec![Role::DataOfficer, Role::Analyst],
            attributes: PrincipalAttributes {
                jurisdiction: vec!["440310".into()],
                clearance: Some(Grade::L4),
            },
        };
        let token = auth::new_token();
        store
            .create_principal(
                &actor(),
                &NewPrincipal {
                    principal: principal.clone(),
                    password: Some("s3cret!".into()),
                    token: Some(token.clone()),
                },
            )
            .await
            .unwrap();
        assert_eq!(
            store.principal_by_token(&token).await.unwrap(),
            Some(principal.clone())
        );
        assert_eq!(store.principal_by_token("zs_wrong").await.unwrap(), None);
        let verifier = store
            .password_verifier(&principal.id)
            .await
            .unwrap()
            .unwrap();
        let verifier = auth::ScramVerifier::decode(&verifier).unwrap();
        assert!(verifier.verify("s3cret!"));
        assert!(!verifier.verify("s3cret"));
        let again = store
            .create_principal(
                &actor(),
                &NewPrincipal {
                    principal,
                    password: None,
                    token: None,
                },
            )
            .await;
        assert!(matches!(again, Err(CatalogError::AlreadyExists { .. })));
        // Credentials never reach the change log.
        let log = store.changes_since(0, 1000).await.unwrap();
        assert!(
            log.iter()
                .all(|e| !e.after.as_deref().unwrap_or_default().contains("s3cret"))
        );
        assert!(
            log.iter()
                .all(|e| !e.after.as_deref().unwrap_or_default().contains(&token))
        );
    })
    .await;
}

#[tokio::test]
async fn grades_follow_columns_and_gate_opening() {
    on_every_backend(|store: SqlCatalogStore| async move {
        let store = &store;
        seed_orgs(store).await;
        let mut open = resource(
            "440310-ZS-0009",
            "网格事件统计",
            "440310-rsj",
            vec![
                column("street_code", "街道代码", Grade::L1, None),
                column("events", "事件数", Grade::L2, None),
            ],
        );
        open.open_attr = OpenAttr::Unconditional;
        let r = store.register_resource(&actor(), &open).await.unwrap();
        assert_eq!(r.grade, Some(Grade::L2));

        // Raising a column to L3 on an unconditionally open resource is refused ...
        let id = ResourceId::new("440310-ZS-0009");
        let err = store
            .classify_column(&actor(), &id, "events", Category::Personal, Grade::L3, None)
            .await
            .unwrap_err();
        assert!(
            matches!(err, CatalogError::OpenAttrForbidden { .. }),
            "{err}"
        );
        assert_eq!(
            store
                .get_resource(&id)
                .await
                .unwrap()
                .unwrap()
                .resource
                .grade,
            Some(Grade::L2)
        );

        // ... until the open attribute is conditional; then the grade follows the column.
        store
            .set_attributes(
                &actor(),
                &id,
                &AttributeChange {
                    open_attr: Some(OpenAttr::Conditional),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        store
            .classify_column(&actor(), &id, "events", Category::Personal, Grade::L3, None)
            .await
            .unwrap();
        let detail = store.get_resource(&id).await.unwrap().unwrap();
        assert_eq!(detail.resource.grade, Some(Grade::L3));
        let err = store
            .set_attributes(
                &actor(),
                &id,
                &AttributeChange {
                    open_attr: Some(OpenAttr::Unconditional),
                    ..Default::default()
                },
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("无条件开放"), "{err}");

        // Registering an L4 resource as unconditionally open is refused outright.
        let mut p = persons();
        p.open_attr = OpenAttr::Unconditional;
        assert!(matches!(
            store.register_resource(&actor(), &p).await,
            Err(CatalogError::OpenAttrForbidden { .. })
        ));

        // Binding raises a column to its element's default grade (就高从严).
        store
            .bind_column(
                &actor(),
                &id,
                "street_code",
                &ElementId::new("person_name"),
                BindingRole::Replica,
            )
            .await
            .unwrap();
        let detail = store.get_resource(&id).await.unwrap().unwrap();
        assert_eq!(detail.columns[0].grade, Grade::L3);
    })
    .await;
}

#[tokio::test]
async fn listing_and_paging() {
    on_every_backend(|store: SqlCatalogStore| async move {
        let store = &store;
        seed_orgs(store).await;
        let many: Vec<NewResource> = (0..25)
            .map(|i| {
                resource(
                    &format!("R-{i:03}"),
                    &format!("资源{i}"),
                    if i % 2 == 0 {
                        "440310-gaj"
                    } else {
                        "440310-rsj"
                    },
                    vec![column("a", "甲", Grade::L1, None)],
                )
            })
            .collect();
        assert_eq!(store.register_resources(&actor(), &many).await.unwrap(), 25);
        let page = store
            .list_resources(
                &ResourceFilter::default(),
                Page {
                    offset: 20,
                    limit: 10,
                },
            )
            .await
            .unwrap();
        assert_eq!(page.total, 25);
        assert_eq!(page.items.len(), 5);
        assert_eq!(page.items[0].id.as_str(), "R-020");
        let gaj = store
            .list_resources(
                &ResourceFilter {
                    provider: Some(OrgId::new("440310-gaj")),
                    ..Default::default()
                },
                Page::default(),
            )
            .await
            .unwrap();
        assert_eq!(gaj.total, 13);

        // A bulk registration with one bad resource lands nothing.
        let mut bad = many.clone();
        for r in &mut bad {
            r.id = ResourceId::new(format!("B{}", r.id));
        }
        bad[7].columns[0].name = "Bad Name".into();
        assert!(store.register_resources(&actor(), &bad).await.is_err());
        assert_eq!(
            store
                .list_resources(&ResourceFilter::default(), Page::default())
                .await
                .unwrap()
                .total,
            25
        );
    })
    .await;
}

#[tokio::test]
async fn suggestions_are_accepted_or_rejected() {
    on_every_backend(|store: SqlCatalogStore| async move {
        let store = &store;
        seed_orgs(store).await;
        let mut r = resource(
            "440310-X-0001",
            "未分级数据",
            "440310-rsj",
            vec![
                column("c1", "c1", Grade::L1, None),
                column("c2", "c2", Grade::L1, None),
            ],
        );
        r.open_attr = OpenAttr::NotOpen;
        store.register_resource(&actor(), &r).await.unwrap();
        let id = ResourceId::new("440310-X-0001");
        let new = vec![
            NewSuggestion {
                resource: id.clone(),
                column: "c1".into(),
                element: Some(ElementId::new("resident_id")),
                category: Category::PersonalSensitive,
                grade: Grade::L4,
                confidence: 0.98,
                evidence: "98/100".into(),
            },
            NewSuggestion {
                resource: id.clone(),
                column: "c2".into(),
                element: Some(ElementId::new("mobile")),
                category: Category::Personal,
                grade: Grade::L3,
                confidence: 0.7,
                evidence: "70/100".into(),
            },
        ];
        let stored = store.add_suggestions(&actor(), &new).await.unwrap();
        assert_eq!(stored.len(), 2);
        let accepted = store
            .decide_suggestion(&actor(), stored[0].id, true)
            .await
            .unwrap();
        assert_eq!(accepted.status, SuggestionStatus::Accepted);
        store
            .decide_suggestion(&actor(), stored[1].id, false)
            .await
            .unwrap();
        assert!(
            store
                .decide_suggestion(&actor(), stored[1].id, true)
                .await
                .is_err(),
            "decided twice"
        );

        let detail = store.get_resource(&id).await.unwrap().unwrap();
        assert_eq!(detail.resource.grade, Some(Grade::L4));
        assert_eq!(
            detail.columns[0].element,
            Some(ElementId::new("resident_id"))
        );
        assert_eq!(
            detail.columns[0].binding,
            Some(BindingRole::Source),
            "first carrier becomes the source"
        );
        assert_eq!(
            detail.columns[1].grade,
            Grade::L1,
            "rejected suggestion changed nothing"
        );
        assert_eq!(
            store
                .list_suggestions(Some(&id), Some(SuggestionStatus::Pending))
                .await
                .unwrap()
                .len(),
            0
        );
    })
    .await;
}

#[tokio::test]
async fn change_log_detects_tampering() {
    on_every_backend(|store: SqlCatalogStore| async move {
        let store = &store;
        seed_orgs(store).await;
        store.register_resource(&actor(), &persons()).await.unwrap();
        store
            .classify_column(
                &actor(),
                &ResourceId::new("440310-GA-0001"),
                "street_code",
                Category::Public,
                Grade::L2,
                Some("street codes are published by the civil affairs bureau"),
            )
            .await
            .unwrap();
        let report = store.verify_change_log().await.unwrap();
        assert!(report.first_broken.is_none(), "{report:?}");
        assert!(report.entries > 10);

        // The log refuses edits through SQL ...
        let seq = store
            .changes_since(0, 1000)
            .await
            .unwrap()
            .iter()
            .find(|e| e.entity_kind == "resource")
            .unwrap()
            .seq;
        let edit =
            format!("UPDATE change_log SET after_state = '{{\"forged\":true}}' WHERE seq = {seq}");
        assert!(
            sqlx::query(AssertSqlSafe(edit.clone()))
                .execute(store.pool())
                .await
                .is_err()
        );

        // ... so a tamperer drops the guard first; verify still catches the edit.
        let drop = match store.backend() {
            Backend::Sqlite => "DROP TRIGGER change_log_no_update",
            Backend::Postgres => "DROP TRIGGER change_log_no_update ON change_log",
        };
        sqlx::query(drop).execute(store.pool()).await.unwrap();
        sqlx::query(AssertSqlSafe(edit))
            .execute(store.pool())
            .await
            .unwrap();
        let report = store.verify_change_log().await.unwrap();
        let broken = report.first_broken.expect("tampering must be detected");
        assert_eq!(broken.seq, seq);
        assert!(broken.reason.contains("altered"), "{}", broken.reason);
    })
    .await;
}

#[tokio::test]
async fn concurrent_writers_keep_one_chain() {
    on_every_backend(|store: SqlCatalogStore| async move {
        let store = std::sync::Arc::new(store);
        seed_orgs(store.as_ref()).await;
        let mut tasks = Vec::new();
        for i in 0..8 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                for j in 0..5 {
                    let r = resource(
                        &format!("C-{i}-{j}"),
                        "并发登记",
                        "440310-gaj",
                        vec![column("a", "甲", Grade::L1, None)],
                    );
                    store
                        .register_resource(&Actor(format!("w{i}")), &r)
                        .await
                        .unwrap();
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let report = store.verify_change_log().await.unwrap();
        assert!(report.first_broken.is_none(), "{report:?}");
        assert_eq!(
            store
                .list_resources(&ResourceFilter::default(), Page::default())
                .await
                .unwrap()
                .total,
            40
        );
    })
    .await;
}

#[tokio::test]
async fn search_follows_the_catalog() {
    on_every_backend(|store: SqlCatalogStore| async move {
        let store = &store;
        seed_orgs(store).await;
        store.register_resource(&actor(), &persons()).await.unwrap();
        store
            .register_resource(&actor(), &enrolments(BindingRole::Replica))
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut index = SearchIndex::open(dir.path()).unwrap();
        assert_eq!(index.sync(store).await.unwrap(), 2);
        let hits = index.search("社保", 0, 10).unwrap();
        assert_eq!(
            hits.hits.first().map(|h| h.id.as_str()),
            Some("440310-RS-0001"),
            "{hits:?}"
        );
        assert_eq!(
            index.search("公安", 0, 10).unwrap().hits[0].id.as_str(),
            "440310-GA-0001"
        );

        // New and changed resources are picked up incrementally; reopening keeps the index.
        let r = resource(
            "440310-ZJ-0001",
            "房屋基础信息",
            "440310-gaj",
            vec![column("unit_no", "不动产单元号", Grade::L2, None)],
        );
        store.register_resource(&actor(), &r).await.unwrap();
        drop(index);
        let mut index = SearchIndex::open(dir.path()).unwrap();
        assert_eq!(index.sync(store).await.unwrap(), 1);
        assert_eq!(index.search("不动产", 0, 10).unwrap().total, 1);
        assert_eq!(index.sync(store).await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
async fn ingest_runs_resume_and_record_landed_files() {
    on_every_backend(|store: SqlCatalogStore| async move {
        let store = &store;
        seed_orgs(store).await;
        store.register_resource(&actor(), &persons()).await.unwrap();
        let job = IngestJob {
            id: JobId::new("gaj-persons"),
            resource: ResourceId::new("440310-GA-0001"),
            table: "main".into(),
            spec: "source = 'x'".into(),
            created_at: String::new(),
            updated_at: String::new(),
        };
        store.upsert_job(&actor(), &job).await.unwrap();
        assert_eq!(store.list_jobs().await.unwrap().len(), 1);

        // An interrupted run is resumed with the same number.
        let first = store.begin_run(&job.id).await.unwrap();
        assert_eq!(first.run, 1);
        assert_eq!(store.begin_run(&job.id).await.unwrap().run, 1);

        let mut done = first.clone();
        done.status = RunStatus::Succeeded;
        done.rows_read = 10;
        done.rows_written = 9;
        done.rows_quarantined = 1;
        done.inputs = vec![RunInput {
            kind: "file".into(),
            name: "/in/a.csv".into(),
            size: 100,
            checksum: "abc".into(),
            rows: 10,
        }];
        store.finish_run(&done).await.unwrap();
        assert_eq!(
            store.landed_files(&job.id).await.unwrap(),
            vec![("/in/a.csv".to_owned(), 100, "abc".to_owned())]
        );

        let second = store.begin_run(&job.id).await.unwrap();
        assert_eq!(second.run, 2);
        let mut failed = second.clone();
        failed.status = RunStatus::Failed;
        failed.error = Some("schema drift".into());
        failed.inputs = vec![RunInput {
            kind: "file".into(),
            name: "/in/b.csv".into(),
            size: 5,
            checksum: "def".into(),
            rows: 1,
        }];
        store.finish_run(&failed).await.unwrap();
        assert_eq!(
            store.landed_files(&job.id).await.unwrap().len(),
            1,
            "failed runs land nothing"
        );

        let runs = store.list_runs(&job.id, 10).await.unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].status, RunStatus::Failed);
        assert_eq!(
            runs[1].rows_read,
            runs[1].rows_written + runs[1].rows_quarantined
        );
        assert!(matches!(
            store.begin_run(&JobId::new("nope")).await,
            Err(CatalogError::NotFound { .. })
        ));
    })
    .await;
}

#[tokio::test]
async fn objections_metrics_and_incidents() {
    on_every_backend(|store: SqlCatalogStore| async move {
        let store = &store;
        seed_orgs(store).await;
        let mut r = persons();
        r.columns[0].is_key = true;
        store.register_resource(&actor(), &r).await.unwrap();
        let filed = NewObjection {
            resource: ResourceId::new("440310-GA-0001"),
            table: "main".into(),
            record_key: [("id_no".to_owned(), "440310199001011234".to_owned())].into(),
            column: "name".into(),
            current_value: Some("张*".into()),
            proposed_value: "张三丰".into(),
            evidence: "户籍证明".into(),
        };
        let o = store.file_objection(&actor(), &filed).await.unwrap();
        assert_eq!(
            (o.id, o.owner.as_str(), o.status),
            (1, "440310-gaj", ObjectionStatus::Open)
        );
        // The record is named by key columns only, with a value and evidence.
        let mut bad = filed.clone();
        bad.record_key = [("name".to_owned(), "x".to_owned())].into();
        assert!(matches!(
            store.file_objection(&actor(), &bad).await,
            Err(CatalogError::Invalid { .. })
        ));
        let mut bad = filed.clone();
        bad.evidence = " ".into();
        assert!(matches!(
            store.file_objection(&actor(), &bad).await,
            Err(CatalogError::Invalid { .. })
        ));
        let inbox = store
            .list_objections(Some(&OrgId::new("440310-gaj")), Some(ObjectionStatus::Open))
            .await
            .unwrap();
        assert_eq!(inbox, vec![o.clone()]);
        assert!(
            store
                .list_objections(Some(&OrgId::new("440310-rsj")), None)
                .await
                .unwrap()
                .is_empty()
        );
        // A decision is complete or refused.
        for (status, reason, version) in [
            (ObjectionStatus::Accepted, None, None),
            (ObjectionStatus::Rejected, None, None),
            (ObjectionStatus::Open, Some("x"), Some(1)),
        ] {
            assert!(matches!(
                store
                    .decide_objection(&actor(), 1, status, reason, version)
                    .await,
                Err(CatalogError::Invalid { .. })
            ));
        }
        let done = store
            .decide_objection(
                &actor(),
                1,
                ObjectionStatus::Accepted,
                Some("已核实"),
                Some(3),
            )
            .await
            .unwrap();
        assert_eq!(
            (done.status, done.table_version),
            (ObjectionStatus::Accepted, Some(3))
        );
        assert_eq!(store.get_objection(1).await.unwrap(), Some(done));
        assert!(
            store
                .decide_objection(&actor(), 1, ObjectionStatus::Rejected, Some("x"), None)
                .await
                .is_err()
        );

        // Evaluations number results and metrics together.
        let metric = |value: f64| QualityMetric {
            evaluation: 0,
            resource: ResourceId::new("440310-GA-0001"),
            metric: "row_count".into(),
            column: String::new(),
            value,
            measured_at: "2026-11-22T00:00:00Z".into(),
        };
        assert_eq!(
            store
                .record_quality_results(&[], &[metric(10.0)])
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            store
                .record_quality_results(&[], &[metric(12.5)])
                .await
                .unwrap(),
            2
        );
        let series = store
            .quality_metrics(&ResourceId::new("440310-GA-0001"))
            .await
            .unwrap();
        assert_eq!(
            series
                .iter()
                .map(|m| (m.evaluation, m.value))
                .collect::<Vec<_>>(),
            vec![(1, 10.0), (2, 12.5)]
        );
        let incident = QualityIncident {
            id: 0,
            resource: ResourceId::new("440310-GA-0001"),
            metric: "row_count".into(),
            column: String::new(),
            observed: 12.5,
            expected: 10.0,
            low: 9.5,
            high: 10.5,
            evaluation: 2,
            detected_at: "2026-11-22T00:00:00Z".into(),
            status: "open".into(),
            resolved_by: None,
            resolved_at: None,
        };
        let opened = store.open_incidents(&[incident]).await.unwrap();
        assert_eq!(opened[0].id, 1);
        assert_eq!(store.list_incidents(None, true).await.unwrap().len(), 1);
        let resolved = store.resolve_incident(&actor(), 1).await.unwrap();
        assert_eq!(resolved.status, "resolved");
        assert!(store.list_incidents(None, true).await.unwrap().is_empty());
        assert_eq!(store.list_incidents(None, false).await.unwrap().len(), 1);
        assert!(store.resolve_incident(&actor(), 1).await.is_err());
        assert!(
            store
                .verify_change_log()
                .await
                .unwrap()
                .first_broken
                .is_none()
        );
    })
    .await;
}

#[tokio::test]
async fn grants_policies_and_the_audit_chain() {
    on_every_backend(|store: SqlCatalogStore| async move {
        let store = std::sync::Arc::new(store);
        seed_orgs(store.as_ref()).await;
        store.register_resource(&actor(), &persons()).await.unwrap();
        let principal = Principal {
            id: PrincipalId::new("rsj_user"),
            display_name: "人力资源局业务人员".into(),
            kind: PrincipalKind::User,
            org: OrgId::new("440310-rsj"),
            roles: vec![Role::Analyst],
            attributes: PrincipalAttributes::default(),
        };
        store
            .create_principal(
                &actor(),
                &NewPrincipal {
                    principal: principal.clone(),
                    password: None,
                    token: None,
                },
            )
            .await
            .unwrap();
        let new = NewGrant {
            resource: ResourceId::new("440310-GA-0001"),
            grantee: Grantee::Principal(principal.id.clone()),
            columns: vec!["id_no".into(), "name".into()],
            purpose: Some("就业补贴审核".into()),
            row_filter: Some("street_code IN (principal.jurisdiction)".into()),
            masks: [("id_no".to_owned(), "keyed_hash".to_owned())].into(),
            expires_at: Some("2999-12-31".into()),
        };
        let g = store.create_grant(&actor(), &new).await.unwrap();
        assert_eq!(store.get_grant(g.id).await.unwrap(), Some(g.clone()));
        // The organisation's grants count too; expired and revoked ones do not.
        let org = NewGrant {
            grantee: Grantee::Org(OrgId::new("440310-rsj")),
            purpose: None,
            ..new.clone()
        };
        let g2 = store.create_grant(&actor(), &org).await.unwrap();
        assert_eq!(store.grants_for(&principal).await.unwrap().len(), 2);
        store.revoke_grant(&actor(), g2.id).await.unwrap();
        assert_eq!(store.grants_for(&principal).await.unwrap(), vec![g.clone()]);
        assert!(store.revoke_grant(&actor(), g2.id).await.is_err());
        // Unknown columns, grantees and past expiries are refused.
        let mut bad = new.clone();
        bad.columns = vec!["salary".into()];
        assert!(store.create_grant(&actor(), &bad).await.is_err());
        let mut bad = new.clone();
        bad.grantee = Grantee::Principal(PrincipalId::new("nobody"));
        assert!(matches!(
            store.create_grant(&actor(), &bad).await,
            Err(CatalogError::NotFound { .. })
        ));
        let mut bad = new.clone();
        bad.expires_at = Some("2001-01-01".into());
        assert!(store.create_grant(&actor(), &bad).await.is_err());
        assert_eq!(store.list_grants(None).await.unwrap().len(), 2);

        // Custom policies are logged changes.
        store
            .upsert_policy(
                &actor(),
                "p1",
                "测试",
                "permit(principal, action, resource);",
            )
            .await
            .unwrap();
        assert_eq!(store.list_policies().await.unwrap().len(), 1);
        store.delete_policy(&actor(), "p1").await.unwrap();
        assert!(store.list_policies().await.unwrap().is_empty());
        let log = store.changes_since(0, 1000).await.unwrap();
        assert!(
            log.iter()
                .any(|e| e.entity_kind == "grant" && e.action == "revoke")
        );
        assert!(
            log.iter()
                .any(|e| e.entity_kind == "policy" && e.action == "delete")
        );

        // The audit log is one chain under concurrent appends.
        let mut tasks = Vec::new();
        for i in 0..8 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                for j in 0..5 {
                    let record = NewAuditRecord {
                        principal: format!("u{i}"),
                        purpose: None,
                        client: "127.0.0.1:1".into(),
                        protocol: "pgwire".into(),
                        sql: format!("SELECT {j}"),
                        tables: vec![],
                        columns: vec![],
                        masks: vec![],
                        filters: vec![],
                        rows: 1,
                        duration_ms: 1,
                        outcome: AuditOutcome::Ok,
                        error: None,
                        completes: (j % 2 == 1).then_some(j),
                    };
                    let written = store.append_audit(&record).await.unwrap();
                    assert_eq!(written.record.completes, record.completes);
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let report = store.verify_audit_log().await.unwrap();
        assert_eq!(report.entries, 40);
        assert!(report.first_broken.is_none(), "{report:?}");
        // Editing a stored entry is found.
        sqlx::query("UPDATE audit_log SET rows_returned = 99 WHERE seq = 17")
            .execute(store.pool())
            .await
            .unwrap();
        let report = store.verify_audit_log().await.unwrap();
        assert_eq!(report.first_broken.map(|b| b.seq), Some(17));
    })
    .await;
}

//! Demands, share requests and the negative list: a request touching the list is refused with
//! its basis, an approval writes its grant in the same transaction, narrowed by its conditions,
//! and a decision is made once.

use crate::fixtures::*;
use crate::on_every_backend;
use zhongshu_catalog::*;

fn request(columns: &[&str]) -> NewShareRequest {
    NewShareRequest {
        resource: ResourceId::new("440310-GA-0001"),
        grantee: Grantee::Org(OrgId::new("440310-rsj")),
        columns: columns.iter().map(|c| (*c).to_owned()).collect(),
        purpose: "就业补贴审核".into(),
        legal_basis: "《就业促进法》".into(),
        row_filter: None,
        days: 30,
        demand: None,
        renews: None,
    }
}

#[tokio::test]
async fn an_approval_writes_its_grant_and_the_negative_list_refuses() {
    on_every_backend(|store: SqlCatalogStore| async move {
        let store = &store;
        seed_orgs(store).await;
        store.register_resource(&actor(), &persons()).await.unwrap();
        let demand = store
            .file_demand(
                &actor(),
                &NewDemand {
                    org: OrgId::new("440310-rsj"),
                    title: "就业人员的户籍信息".into(),
                    business: "就业补贴审核".into(),
                    legal_basis: "《就业促进法》".into(),
                    items: vec!["姓名".into()],
                    urgency: "urgent".into(),
                },
            )
            .await
            .unwrap();
        assert_eq!(demand.status, DemandStatus::Open);
        let matched = store
            .decide_demand(
                &actor(),
                demand.id,
                &DemandDecision::Match {
                    resource: ResourceId::new("440310-GA-0001"),
                },
            )
            .await
            .unwrap();
        assert_eq!(matched.status, DemandStatus::Matched);

        // The identity number (公民身份号码) is never shared: asking for all columns, or for it,
        // is refused with the basis; asking for others is not.
        store
            .put_negative(
                &actor(),
                &NegativeEntry {
                    id: "resident-id".into(),
                    element: Some(ElementId::new("resident_id")),
                    resource: None,
                    column: None,
                    legal_basis: "《居民身份证法》第十九条".into(),
                },
            )
            .await
            .unwrap();
        for columns in [&[][..], &["name", "id_no"][..]] {
            let err = store
                .file_share_request(&actor(), &request(columns))
                .await
                .unwrap_err();
            assert!(
                err.to_string().contains("《居民身份证法》第十九条"),
                "{err}"
            );
        }
        let mut asked = request(&["name", "street_code"]);
        asked.demand = Some(demand.id);
        let filed = store.file_share_request(&actor(), &asked).await.unwrap();
        assert_eq!(filed.status, RequestStatus::Pending);
        assert_eq!(filed.owner, OrgId::new("440310-gaj"));
        let grants_before = store.list_grants(None).await.unwrap().len();

        // Conditions only narrow: a column not asked for is refused, and nothing is granted.
        let wider = Conditions {
            columns: Some(vec!["name".into(), "birth_date".into()]),
            ..Conditions::default()
        };
        assert!(
            store
                .decide_share_request(
                    &actor(),
                    filed.id,
                    &RequestDecision::Approve {
                        conditions: Some(wider)
                    }
                )
                .await
                .is_err()
        );
        assert_eq!(store.list_grants(None).await.unwrap().len(), grants_before);

        let narrower = Conditions {
            columns: Some(vec!["name".into()]),
            masks: [("name".to_owned(), "name".to_owned())].into(),
            row_filter: Some("street_code = '440310001'".into()),
            days: Some(7),
        };
        let (granted, grant) = store
            .decide_share_request(
                &actor(),
                filed.id,
                &RequestDecision::Approve {
                    conditions: Some(narrower),
                },
            )
            .await
            .unwrap();
        let grant = grant.unwrap();
        assert_eq!(granted.status, RequestStatus::Granted);
        assert_eq!(granted.grant, Some(grant.id));
        assert_eq!(grant.grant.columns, ["name"]);
        assert_eq!(grant.grant.purpose.as_deref(), Some("就业补贴审核"));
        assert_eq!(
            grant.grant.row_filter.as_deref(),
            Some("street_code = '440310001'")
        );
        let expiry = expiry_time(grant.grant.expires_at.as_deref().unwrap()).unwrap();
        let days = (expiry - chrono::Utc::now()).num_hours();
        assert!((6 * 24..=7 * 24).contains(&days), "{days} hours");
        assert!(store.get_grant(grant.id).await.unwrap().is_some());

        // A decision is made once; a rejection needs its reason.
        let again = store
            .decide_share_request(
                &actor(),
                filed.id,
                &RequestDecision::Reject { reason: "x".into() },
            )
            .await
            .unwrap_err();
        assert!(again.to_string().contains("already granted"), "{again}");
        let other = store
            .file_share_request(&actor(), &request(&["name"]))
            .await
            .unwrap();
        assert!(
            store
                .decide_share_request(
                    &actor(),
                    other.id,
                    &RequestDecision::Reject { reason: " ".into() }
                )
                .await
                .is_err()
        );
        let (rejected, none) = store
            .decide_share_request(
                &actor(),
                other.id,
                &RequestDecision::Reject {
                    reason: "已有更合适的资源".into(),
                },
            )
            .await
            .unwrap();
        assert!(none.is_none() && rejected.status == RequestStatus::Rejected);
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

//! Code lists and the system inventory: whole writes in one logged transaction, refusals that
//! name what is wrong, and the reason of a grade change kept in the change log.

use crate::fixtures::*;
use crate::on_every_backend;
use zhongshu_catalog::*;

fn sections(values: &[(&str, &str)]) -> NewCodeList {
    NewCodeList {
        id: "gb4754-sections".into(),
        name: "国民经济行业分类门类".into(),
        standard: Some("GB/T 4754-2017".into()),
        description: String::new(),
        values: values
            .iter()
            .map(|(code, label)| CodeValue {
                code: (*code).into(),
                label: (*label).into(),
            })
            .collect(),
    }
}

#[tokio::test]
async fn a_code_list_is_replaced_whole_and_logged() {
    on_every_backend(|store: SqlCatalogStore| async move {
        let store = &store;
        let head = store.head_seq().await.unwrap();
        let first = store
            .put_code_list(
                &actor(),
                &sections(&[("A", "农、林、牧、渔业"), ("C", "制造业")]),
            )
            .await
            .unwrap();
        assert_eq!(first.codes, 2);
        let again = store
            .put_code_list(
                &actor(),
                &sections(&[
                    ("C", "制造业"),
                    ("F", "批发和零售业"),
                    ("I", "信息传输、软件和信息技术服务业"),
                ]),
            )
            .await
            .unwrap();
        assert_eq!(again.codes, 3);
        let list = store
            .get_code_list("gb4754-sections")
            .await
            .unwrap()
            .unwrap();
        let codes: Vec<&str> = list.values.iter().map(|v| v.code.as_str()).collect();
        assert_eq!(
            codes,
            ["C", "F", "I"],
            "the file's order, the old codes gone"
        );
        assert_eq!(
            store.head_seq().await.unwrap(),
            head + 2,
            "one change per load"
        );

        // A repeated code or an empty list is refused and changes nothing.
        let err = store
            .put_code_list(&actor(), &sections(&[("C", "制造业"), ("C", "again")]))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("`C`"), "{err}");
        assert!(store.put_code_list(&actor(), &sections(&[])).await.is_err());
        assert_eq!(
            store
                .get_code_list("gb4754-sections")
                .await
                .unwrap()
                .unwrap()
                .values
                .len(),
            3
        );

        store
            .remove_code_list(&actor(), "gb4754-sections")
            .await
            .unwrap();
        assert!(
            store
                .get_code_list("gb4754-sections")
                .await
                .unwrap()
                .is_none()
        );
        assert!(store.list_code_lists().await.unwrap().is_empty());
        assert!(matches!(
            store.remove_code_list(&actor(), "gb4754-sections").await,
            Err(CatalogError::NotFound { .. })
        ));
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
async fn a_system_produces_only_its_own_departments_resources() {
    on_every_backend(|store: SqlCatalogStore| async move {
        let store = &store;
        seed_orgs(store).await;
        store.register_resource(&actor(), &persons()).await.unwrap();
        let system = |org: &str, resources: &[&str]| NewSystem {
            id: "gaj-population".into(),
            name: "人口信息管理系统".into(),
            org: OrgId::new(org),
            description: "户籍登记".into(),
            operator: "科技信息化科".into(),
            resources: resources.iter().map(|r| ResourceId::new(*r)).collect(),
        };
        // Another department's resource, an unknown resource or department are refused.
        let err = store
            .put_system(&actor(), &system("440310-rsj", &["440310-GA-0001"]))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("440310-gaj"), "{err}");
        assert!(matches!(
            store
                .put_system(&actor(), &system("440310-gaj", &["NO-SUCH"]))
                .await,
            Err(CatalogError::NotFound { .. })
        ));
        assert!(matches!(
            store
                .put_system(&actor(), &system("no-such-org", &[]))
                .await,
            Err(CatalogError::NotFound { .. })
        ));
        assert!(store.list_systems().await.unwrap().is_empty());

        let s = store
            .put_system(
                &actor(),
                &system("440310-gaj", &["440310-GA-0001", "440310-GA-0001"]),
            )
            .await
            .unwrap();
        assert_eq!(s.org_name, "深圳市公安局坪山分局");
        assert_eq!(s.system.resources, [ResourceId::new("440310-GA-0001")]);
        // Registering again replaces its resources.
        store
            .put_system(&actor(), &system("440310-gaj", &[]))
            .await
            .unwrap();
        let all = store.list_systems().await.unwrap();
        assert_eq!(all.len(), 1);
        assert!(all[0].system.resources.is_empty());
        store
            .remove_system(&actor(), "gaj-population")
            .await
            .unwrap();
        assert!(store.list_systems().await.unwrap().is_empty());
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
async fn a_grade_change_keeps_its_reason_in_the_change_log() {
    on_every_backend(|store: SqlCatalogStore| async move {
        let store = &store;
        seed_orgs(store).await;
        store.register_resource(&actor(), &persons()).await.unwrap();
        let id = ResourceId::new("440310-GA-0001");
        store
            .classify_column(
                &actor(),
                &id,
                "street_code",
                Category::Public,
                Grade::L1,
                Some("街道代码为公开的行政区划代码"),
            )
            .await
            .unwrap();
        let head = store.head_seq().await.unwrap();
        let last = store.changes_since(head - 1, 1).await.unwrap();
        let after = last[0].after.clone().unwrap_or_default();
        assert!(after.contains("街道代码为公开的行政区划代码"), "{after}");
        assert!(after.contains("\"grade\":\"L1\""), "{after}");
    })
    .await;
}

//! 一数一源 and the responsibility list (数据权责清单): who may hold an element's source.

use crate::fixtures::*;
use crate::on_every_backend;
use zhongshu_catalog::*;

#[tokio::test]
async fn only_the_responsible_department_holds_a_source() {
    on_every_backend(|store: SqlCatalogStore| async move {
        let store = &store;
        seed_orgs(store).await;
        let assign = |org: &str, basis: &str| NewResponsibility {
            element: ElementId::new("resident_id"),
            org: OrgId::new(org),
            legal_basis: basis.into(),
            update_duty: "实时更新".into(),
        };
        // An empty legal basis, an unknown department or element are refused.
        assert!(matches!(
            store
                .assign_responsibility(&actor(), &assign("440310-gaj", " "))
                .await,
            Err(CatalogError::Invalid { .. })
        ));
        assert!(matches!(
            store
                .assign_responsibility(&actor(), &assign("no-such-org", "x"))
                .await,
            Err(CatalogError::NotFound { .. })
        ));
        let r = store
            .assign_responsibility(&actor(), &assign("440310-rsj", "《居民身份证法》"))
            .await
            .unwrap();
        assert_eq!(r.org_name, "坪山区人力资源局");

        // The population register (公安) may not hold the source of an element 人社 answers for.
        let err = store
            .register_resource(&actor(), &persons())
            .await
            .unwrap_err();
        assert!(matches!(err, CatalogError::NotResponsible(_)), "{err}");
        for needle in [
            "公民身份号码",
            "坪山区人力资源局",
            "《居民身份证法》",
            "replica",
        ] {
            assert!(
                err.to_string().contains(needle),
                "missing {needle} in: {err}"
            );
        }
        assert!(
            store
                .get_resource(&ResourceId::new("440310-GA-0001"))
                .await
                .unwrap()
                .is_none()
        );

        // Reassigned to 公安, the registration goes through; a later source elsewhere is refused
        // by the list before 一数一源 is even asked, and a replica is fine.
        store
            .assign_responsibility(&actor(), &assign("440310-gaj", "《居民身份证法》"))
            .await
            .unwrap();
        store.register_resource(&actor(), &persons()).await.unwrap();
        store
            .register_resource(&actor(), &enrolments(BindingRole::Replica))
            .await
            .unwrap();
        store
            .unbind_column(&actor(), &ResourceId::new("440310-GA-0001"), "id_no")
            .await
            .unwrap();
        let refused = store
            .bind_column(
                &actor(),
                &ResourceId::new("440310-RS-0001"),
                "id_no",
                &ElementId::new("resident_id"),
                BindingRole::Source,
            )
            .await;
        assert!(
            matches!(refused, Err(CatalogError::NotResponsible(_))),
            "{refused:?}"
        );

        // Every change is in the change log; removing the entry lifts the rule.
        let log = store.changes_since(0, 10_000).await.unwrap();
        let kinds: Vec<&str> = log
            .iter()
            .filter(|e| e.entity_kind == "responsibility")
            .map(|e| e.action.as_str())
            .collect();
        assert_eq!(kinds, ["assign", "reassign"]);
        store
            .remove_responsibility(&actor(), &ElementId::new("resident_id"))
            .await
            .unwrap();
        assert!(store.list_responsibilities().await.unwrap().is_empty());
        store
            .bind_column(
                &actor(),
                &ResourceId::new("440310-RS-0001"),
                "id_no",
                &ElementId::new("resident_id"),
                BindingRole::Source,
            )
            .await
            .unwrap();
    })
    .await;
}

#[tokio::test]
async fn one_source_per_element() {
    on_every_backend(|store: SqlCatalogStore| async move {
        let store = &store;
        seed_orgs(store).await;
        store.register_resource(&actor(), &persons()).await.unwrap();

        // A second authoritative source is refused, naming element, source and owner.
        let err = store.register_resource(&actor(), &enrolments(BindingRole::Source)).await.unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, CatalogError::SecondSource(_)), "{text}");
        for needle in ["公民身份号码", "440310-GA-0001", "人口基础信息", "深圳市公安局坪山分局", "id_no"] {
            assert!(text.contains(needle), "missing {needle} in: {text}");
        }
        assert!(store.get_resource(&ResourceId::new("440310-RS-0001")).await.unwrap().is_none(), "refused registration left nothing");

        // As a replica it is fine.
        store.register_resource(&actor(), &enrolments(BindingRole::Replica)).await.unwrap();
        let b = store.element_bindings("公民身份号码").await.unwrap();
        assert_eq!(b.source.as_ref().map(|s| s.resource.as_str()), Some("440310-GA-0001"));
        assert_eq!(b.replicas.len(), 1);
        assert_eq!(b.replicas[0].owner_name, "坪山区人力资源局");

        // Re-binding the replica as source is refused too; releasing the source allows it.
        let rs = ResourceId::new("440310-RS-0001");
        let err = store.bind_column(&actor(), &rs, "id_no", &ElementId::new("resident_id"), BindingRole::Source).await;
        assert!(matches!(err, Err(CatalogError::SecondSource(_))));
        store.unbind_column(&actor(), &ResourceId::new("440310-GA-0001"), "id_no").await.unwrap();
        store.bind_column(&actor(), &rs, "id_no", &ElementId::new("resident_id"), BindingRole::Source).await.unwrap();
        assert_eq!(
            store.element_bindings("resident_id").await.unwrap().source.map(|s| s.resource),
            Some(rs)
        );

        let coverage = store.coverage().await.unwrap();
        assert_eq!(coverage.elements, standards::standard_elements().len() as i64);
        assert_eq!(coverage.with_source, 2);

        // The unique index backs the rule even for SQL that bypasses the store.
        let raw = sqlx::query("UPDATE columns SET element_id = 'resident_id', binding = 'source' WHERE name = 'street_code'")
            .execute(store.pool())
            .await;
        assert!(raw.is_err(), "the database must refuse a second source");
    })
    .await;
}

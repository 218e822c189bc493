//! What the catalog cases share: organisations, data elements and two resources that carry the
//! same elements (人口 as the source, 社保 as a replica).

use zhongshu_catalog::*;

pub fn actor() -> Actor {
    Actor("officer".into())
}

pub async fn seed_orgs(store: &dyn CatalogStore) {
    let orgs = [
        ("440310", "深圳市坪山区人民政府", OrgKind::Government, None),
        (
            "440310-gaj",
            "深圳市公安局坪山分局",
            OrgKind::DistrictDepartment,
            Some("440310"),
        ),
        (
            "440310-rsj",
            "坪山区人力资源局",
            OrgKind::DistrictDepartment,
            Some("440310"),
        ),
        (
            "440310001",
            "坪山街道办事处",
            OrgKind::Street,
            Some("440310"),
        ),
    ];
    for (id, name, kind, parent) in orgs {
        let org = OrgUnit {
            id: OrgId::new(id),
            name: name.into(),
            kind,
            parent: parent.map(OrgId::new),
            division_code: None,
        };
        store.upsert_org(&Actor::system(), &org).await.unwrap();
    }
    for e in standards::standard_elements() {
        store.upsert_element(&Actor::system(), &e).await.unwrap();
    }
}

pub fn column(
    name: &str,
    title: &str,
    grade: Grade,
    element: Option<(&str, BindingRole)>,
) -> Column {
    Column {
        name: name.into(),
        title: title.into(),
        data_type: "string".into(),
        nullable: true,
        is_key: false,
        description: String::new(),
        category: if grade >= Grade::L3 {
            Category::Personal
        } else {
            Category::Public
        },
        grade,
        element: element.map(|(e, _)| ElementId::new(e)),
        binding: element.map(|(_, r)| r),
    }
}

pub fn resource(id: &str, name: &str, provider: &str, columns: Vec<Column>) -> NewResource {
    NewResource {
        id: ResourceId::new(id),
        name: name.into(),
        provider: OrgId::new(provider),
        abstract_text: format!("{name}摘要"),
        format: "数据库表".into(),
        share_attr: ShareAttr::Conditional,
        share_conditions: Some("依法履职".into()),
        open_attr: OpenAttr::NotOpen,
        open_conditions: None,
        update_cycle: UpdateCycle::Daily,
        tier: LibraryTier::Base,
        publish_date: None,
        columns,
    }
}

pub fn persons() -> NewResource {
    resource(
        "440310-GA-0001",
        "人口基础信息",
        "440310-gaj",
        vec![
            column(
                "id_no",
                "公民身份号码",
                Grade::L4,
                Some(("resident_id", BindingRole::Source)),
            ),
            column(
                "name",
                "姓名",
                Grade::L3,
                Some(("person_name", BindingRole::Source)),
            ),
            column("street_code", "街道代码", Grade::L1, None),
        ],
    )
}

pub fn enrolments(id_role: BindingRole) -> NewResource {
    resource(
        "440310-RS-0001",
        "社会保险参保信息",
        "440310-rsj",
        vec![
            column(
                "id_no",
                "公民身份号码",
                Grade::L4,
                Some(("resident_id", id_role)),
            ),
            column("insurance_type", "险种", Grade::L2, None),
        ],
    )
}

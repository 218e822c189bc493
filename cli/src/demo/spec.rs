//! The demo deployment's catalogue: the organisation tree of Pingshan district (坪山区,
//! 440310), its demo principals, and every demo resource with its items, grades, bindings and
//! the file it is delivered in.
//!
//! The generator writes files in exactly these column orders and `zhongshu demo` registers
//! exactly these resources, so this module is the one description both sides share.

use zhongshu_catalog::reference::Divisions;
use zhongshu_catalog::{
    BindingRole, Category, Column, ElementId, Grade, Grantee, LibraryTier, NewGrant, NewResource,
    OpenAttr, OrgId, OrgKind, OrgUnit, PrincipalId, PrincipalKind, ResourceId, Role, ShareAttr,
    UpdateCycle,
};
use zhongshu_ingest::{Encoding, FileFormat};

/// The district.
pub const DISTRICT: &str = "440310";
/// The city.
pub const CITY: &str = "4403";

/// District departments and municipal bureaus: (id, name, kind, parent).
const DEPARTMENTS: &[(&str, &str, OrgKind, &str)] = &[
    (
        "440310-gaj",
        "深圳市公安局坪山分局",
        OrgKind::DistrictDepartment,
        DISTRICT,
    ),
    (
        "440310-rsj",
        "坪山区人力资源局",
        OrgKind::DistrictDepartment,
        DISTRICT,
    ),
    (
        "440310-wjj",
        "坪山区卫生健康局",
        OrgKind::DistrictDepartment,
        DISTRICT,
    ),
    (
        "440310-scjg",
        "深圳市市场监督管理局坪山监管局",
        OrgKind::DistrictDepartment,
        DISTRICT,
    ),
    (
        "440310-zjj",
        "坪山区住房和建设局",
        OrgKind::DistrictDepartment,
        DISTRICT,
    ),
    (
        "440310-swj",
        "坪山区水务局",
        OrgKind::DistrictDepartment,
        DISTRICT,
    ),
    (
        "440310-yjj",
        "坪山区应急管理局",
        OrgKind::DistrictDepartment,
        DISTRICT,
    ),
    (
        "440310-fgj",
        "坪山区发展和改革局",
        OrgKind::DistrictDepartment,
        DISTRICT,
    ),
    (
        "440310-zsj",
        "坪山区政务服务数据管理局",
        OrgKind::DistrictDepartment,
        DISTRICT,
    ),
    (
        "4403-rsj",
        "深圳市人力资源和社会保障局",
        OrgKind::MunicipalBureau,
        CITY,
    ),
    (
        "4403-scjgj",
        "深圳市市场监督管理局",
        OrgKind::MunicipalBureau,
        CITY,
    ),
    (
        "4403-zsj",
        "深圳市政务服务数据管理局",
        OrgKind::MunicipalBureau,
        CITY,
    ),
    (
        "ext-bank",
        "坪山区合作银行（外部接收方）",
        OrgKind::External,
        DISTRICT,
    ),
    ("public", "社会公众", OrgKind::External, DISTRICT),
];

/// The organisation tree: the city and district governments, departments and bureaus, and the
/// district's real streets and communities from GB/T 2260.
pub fn org_units() -> Vec<OrgUnit> {
    let divisions = Divisions::get();
    let mut out = vec![
        OrgUnit {
            id: OrgId::new(CITY),
            name: "深圳市人民政府".into(),
            kind: OrgKind::Government,
            parent: None,
            division_code: Some(CITY.into()),
        },
        OrgUnit {
            id: OrgId::new(DISTRICT),
            name: "深圳市坪山区人民政府".into(),
            kind: OrgKind::Government,
            parent: Some(OrgId::new(CITY)),
            division_code: Some(DISTRICT.into()),
        },
    ];
    for (id, name, kind, parent) in DEPARTMENTS {
        out.push(OrgUnit {
            id: OrgId::new(*id),
            name: (*name).into(),
            kind: *kind,
            parent: Some(OrgId::new(*parent)),
            division_code: None,
        });
    }
    for street in streets() {
        out.push(OrgUnit {
            id: OrgId::new(street.code.clone()),
            name: format!("坪山区{}办事处", street.name),
            kind: OrgKind::Street,
            parent: Some(OrgId::new(DISTRICT)),
            division_code: Some(street.code.clone()),
        });
        for community in divisions.children(&street.code) {
            out.push(OrgUnit {
                id: OrgId::new(community.code.clone()),
                name: community.name.clone(),
                kind: OrgKind::Community,
                parent: Some(OrgId::new(street.code.clone())),
                division_code: Some(community.code.clone()),
            });
        }
    }
    out
}

/// A street with its communities.
#[derive(Debug, Clone)]
pub struct Street {
    /// 9-digit code.
    pub code: String,
    /// Name, e.g. 坪山街道.
    pub name: String,
    /// (12-digit code, name) of its communities.
    pub communities: Vec<(String, String)>,
}

/// The six streets of Pingshan (the bonded zone, which has no residents, is left out).
pub fn streets() -> Vec<Street> {
    let divisions = Divisions::get();
    divisions
        .children(DISTRICT)
        .into_iter()
        .filter(|d| d.name.ends_with("街道"))
        .map(|d| Street {
            code: d.code.clone(),
            name: d.name.clone(),
            communities: divisions
                .children(&d.code)
                .into_iter()
                .map(|c| {
                    (
                        c.code.clone(),
                        c.name.trim_end_matches("居民委员会").to_owned(),
                    )
                })
                .collect(),
        })
        .collect()
}

/// A demo principal: (username, display name, organisation, roles, jurisdiction).
pub struct DemoPrincipal {
    /// User name.
    pub username: &'static str,
    /// Display name.
    pub display_name: &'static str,
    /// Organisation.
    pub org: &'static str,
    /// Roles.
    pub roles: &'static [Role],
    /// Jurisdiction codes (a street office sees its street).
    pub jurisdiction: &'static [&'static str],
    /// Kind of principal.
    pub kind: PrincipalKind,
}

/// The demo principals written to `demo-credentials.json`.
pub const PRINCIPALS: &[DemoPrincipal] = &[
    DemoPrincipal {
        username: "admin",
        display_name: "系统管理员",
        org: "440310-zsj",
        roles: &[Role::Admin],
        jurisdiction: &[],
        kind: PrincipalKind::User,
    },
    DemoPrincipal {
        username: "cdo",
        display_name: "区首席数据官",
        org: "440310-zsj",
        roles: &[Role::Cdo],
        jurisdiction: &[],
        kind: PrincipalKind::User,
    },
    DemoPrincipal {
        username: "privacy",
        display_name: "区首席隐私官",
        org: "440310-zsj",
        roles: &[Role::PrivacyOfficer],
        jurisdiction: &[],
        kind: PrincipalKind::User,
    },
    DemoPrincipal {
        username: "gaj_officer",
        display_name: "公安分局数据专员",
        org: "440310-gaj",
        roles: &[Role::DataOfficer],
        jurisdiction: &[],
        kind: PrincipalKind::User,
    },
    DemoPrincipal {
        username: "rsj_user",
        display_name: "人力资源局业务人员",
        org: "440310-rsj",
        roles: &[Role::Analyst],
        jurisdiction: &[],
        kind: PrincipalKind::User,
    },
    DemoPrincipal {
        username: "rsj_officer",
        display_name: "人力资源局数据专员",
        org: "440310-rsj",
        roles: &[Role::DataOfficer],
        jurisdiction: &[],
        kind: PrincipalKind::User,
    },
    DemoPrincipal {
        username: "scjg_officer",
        display_name: "市场监管局数据专员",
        org: "440310-scjg",
        roles: &[Role::DataOfficer],
        jurisdiction: &[],
        kind: PrincipalKind::User,
    },
    DemoPrincipal {
        username: "pingshan_street",
        display_name: "坪山街道网格员",
        org: "440310001",
        roles: &[Role::Analyst],
        jurisdiction: &["440310001"],
        kind: PrincipalKind::User,
    },
    DemoPrincipal {
        username: "public_user",
        display_name: "公众用户",
        org: "public",
        roles: &[],
        jurisdiction: &[],
        kind: PrincipalKind::Public,
    },
    DemoPrincipal {
        username: "auditor",
        display_name: "安全审计员",
        org: "440310-zsj",
        roles: &[Role::Auditor],
        jurisdiction: &[],
        kind: PrincipalKind::User,
    },
];

/// The purpose the demo's purpose-bound grant is for.
pub const EMPLOYMENT_PURPOSE: &str = "就业补贴审核";

/// The demo's grants, as the sharing workflow would have created them from approved requests:
/// 人力资源局 reads named population columns for one purpose; 坪山街道 reads its own street's
/// residents, mobile numbers masked.
pub fn grants() -> Vec<NewGrant> {
    let masks = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(c, m)| ((*c).to_owned(), (*m).to_owned()))
            .collect()
    };
    vec![
        NewGrant {
            resource: ResourceId::new("440310-GA-0001"),
            grantee: Grantee::Principal(PrincipalId::new("rsj_user")),
            columns: ["id_no", "name", "sex", "birth_date", "street_code"]
                .map(str::to_owned)
                .to_vec(),
            purpose: Some(EMPLOYMENT_PURPOSE.into()),
            row_filter: None,
            masks: masks(&[("id_no", "keyed_hash")]),
            expires_at: None,
        },
        NewGrant {
            resource: ResourceId::new("440310-GA-0001"),
            grantee: Grantee::Org(OrgId::new("440310001")),
            columns: [
                "name",
                "sex",
                "mobile",
                "household_address",
                "street_code",
                "community_code",
            ]
            .map(str::to_owned)
            .to_vec(),
            purpose: None,
            row_filter: Some("street_code IN (principal.jurisdiction)".into()),
            masks: masks(&[("name", "none")]),
            expires_at: None,
        },
    ]
}

/// How a demo file is delivered.
#[derive(Debug, Clone, Copy)]
pub struct Delivery {
    /// File name under the generated directory.
    pub file: &'static str,
    /// Format.
    pub format: FileFormat,
    /// Encoding.
    pub encoding: Encoding,
}

/// One demo resource, its table and its file.
#[derive(Debug, Clone)]
pub struct DemoResource {
    /// What is registered.
    pub resource: NewResource,
    /// Table path in the lake.
    pub table_path: &'static str,
    /// How its data arrives.
    pub delivery: Delivery,
}

struct Col {
    name: &'static str,
    title: &'static str,
    data_type: &'static str,
    category: Category,
    grade: Grade,
    element: Option<(&'static str, BindingRole)>,
    is_key: bool,
}

const fn col(
    name: &'static str,
    title: &'static str,
    data_type: &'static str,
    category: Category,
    grade: Grade,
) -> Col {
    Col {
        name,
        title,
        data_type,
        category,
        grade,
        element: None,
        is_key: false,
    }
}

impl Col {
    const fn source(mut self, element: &'static str) -> Col {
        self.element = Some((element, BindingRole::Source));
        self
    }
    const fn replica(mut self, element: &'static str) -> Col {
        self.element = Some((element, BindingRole::Replica));
        self
    }
    const fn key(mut self) -> Col {
        self.is_key = true;
        self
    }
}

#[allow(clippy::too_many_arguments)] // a catalogue entry reads best as one call
fn resource(
    id: &str,
    name: &str,
    provider: &str,
    tier: LibraryTier,
    cycle: UpdateCycle,
    share: (ShareAttr, Option<&str>),
    open: (OpenAttr, Option<&str>),
    abstract_text: &str,
    columns: Vec<Col>,
) -> NewResource {
    NewResource {
        id: ResourceId::new(id),
        name: name.into(),
        provider: OrgId::new(provider),
        abstract_text: abstract_text.into(),
        format: "数据库表".into(),
        share_attr: share.0,
        share_conditions: share.1.map(Into::into),
        open_attr: open.0,
        open_conditions: open.1.map(Into::into),
        update_cycle: cycle,
        tier,
        publish_date: Some("2026-01-01".into()),
        columns: columns
            .into_iter()
            .map(|c| Column {
                name: c.name.into(),
                title: c.title.into(),
                data_type: c.data_type.into(),
                nullable: !c.is_key,
                is_key: c.is_key,
                description: String::new(),
                category: c.category,
                grade: c.grade,
                element: c.element.map(|(e, _)| ElementId::new(e)),
                binding: c.element.map(|(_, r)| r),
            })
            .collect(),
    }
}

const CONDITIONAL: Option<&str> = Some("依法履职需要，按最小必要原则申请，经提供方审核后共享");
const MASKED_OPEN: Option<&str> = Some("个人信息脱敏后开放，需实名申请并签署数据利用协议");

/// Every demo resource.
pub fn resources() -> Vec<DemoResource> {
    use Category::*;
    use Grade::*;
    let csv = |file, encoding| Delivery {
        file,
        format: FileFormat::Csv,
        encoding,
    };
    vec![
        DemoResource {
            resource: resource(
                "440310-ZS-0003",
                "坪山区行政区划代码",
                "440310-zsj",
                LibraryTier::Base,
                UpdateCycle::Yearly,
                (ShareAttr::Unconditional, None),
                (OpenAttr::Unconditional, None),
                "坪山区区、街道、社区三级行政区划代码及名称（GB/T 2260 扩展），自然资源和空间地理基础库的基准代码表。",
                vec![
                    col("code", "行政区划代码", "string", Public, L1)
                        .source("division_code")
                        .key(),
                    col("name", "行政区划名称", "string", Public, L1),
                    col("level", "层级", "string", Public, L1),
                    col("parent_code", "上级区划代码", "string", Public, L1),
                ],
            ),
            table_path: "base/spatial/divisions",
            delivery: csv("zsj/divisions.csv", Encoding::Utf8),
        },
        DemoResource {
            resource: resource(
                "440310-GA-0001",
                "人口基础信息",
                "440310-gaj",
                LibraryTier::Base,
                UpdateCycle::Daily,
                (ShareAttr::Conditional, CONDITIONAL),
                (OpenAttr::NotOpen, None),
                "坪山区户籍及居住登记人口的身份、出生、联系方式和居住地址信息，人口基础库的权威来源。",
                vec![
                    col("id_no", "公民身份号码", "string", PersonalSensitive, L4)
                        .source("resident_id")
                        .key(),
                    col("name", "姓名", "string", Personal, L3).source("person_name"),
                    col("sex", "性别", "string", Personal, L2).source("sex"),
                    col("birth_date", "出生日期", "date", Personal, L3).source("birth_date"),
                    col(
                        "native_division",
                        "户籍地行政区划代码",
                        "string",
                        Personal,
                        L2,
                    )
                    .replica("division_code"),
                    col("mobile", "手机号码", "string", Personal, L3).source("mobile"),
                    col("household_address", "居住地址", "string", Personal, L3).source("address"),
                    col("street_code", "街道代码", "string", Public, L1).replica("division_code"),
                    col("community_code", "社区代码", "string", Public, L1)
                        .replica("division_code"),
                    col("registered_on", "登记日期", "date", Public, L2),
                ],
            ),
            table_path: "base/population/persons",
            delivery: csv("gaj/persons.csv", Encoding::Utf8),
        },
        DemoResource {
            resource: resource(
                "440310-SC-0001",
                "法人基础信息",
                "440310-scjg",
                LibraryTier::Base,
                UpdateCycle::Daily,
                (ShareAttr::Unconditional, None),
                (OpenAttr::Conditional, MASKED_OPEN),
                "在坪山区登记的企业和个体工商户的统一社会信用代码、名称、法定代表人、注册资本和登记状态。",
                vec![
                    col("uscc", "统一社会信用代码", "string", Organisation, L1)
                        .source("uscc")
                        .key(),
                    col("org_name", "企业名称", "string", Organisation, L1).source("org_name"),
                    col("legal_rep_name", "法定代表人姓名", "string", Personal, L3)
                        .replica("person_name"),
                    col(
                        "legal_rep_id",
                        "法定代表人身份号码",
                        "string",
                        PersonalSensitive,
                        L4,
                    )
                    .replica("resident_id"),
                    col("industry", "行业门类", "string", Public, L1),
                    col(
                        "registered_capital",
                        "注册资本（万元）",
                        "float64",
                        Organisation,
                        L1,
                    ),
                    col("established_on", "成立日期", "date", Organisation, L1),
                    col("street_code", "所在街道代码", "string", Public, L1)
                        .replica("division_code"),
                    col("status", "登记状态", "string", Organisation, L1),
                ],
            ),
            table_path: "base/legal_persons/enterprises",
            delivery: csv("scjg/enterprises.csv", Encoding::Utf8),
        },
        DemoResource {
            resource: resource(
                "440310-ZJ-0001",
                "房屋基础信息",
                "440310-zjj",
                LibraryTier::Base,
                UpdateCycle::Monthly,
                (ShareAttr::Conditional, CONDITIONAL),
                (OpenAttr::NotOpen, None),
                "坪山区房屋的不动产单元号、坐落、用途、面积和权利人信息，房屋及建筑物基础库。",
                vec![
                    col("unit_no", "不动产单元号", "string", Public, L2)
                        .source("real_estate_unit")
                        .key(),
                    col("address", "房屋坐落", "string", Public, L2),
                    col("street_code", "街道代码", "string", Public, L1).replica("division_code"),
                    col("community_code", "社区代码", "string", Public, L1)
                        .replica("division_code"),
                    col("use_type", "房屋用途", "string", Public, L1),
                    col("floor_area", "建筑面积（平方米）", "float64", Public, L2),
                    col(
                        "owner_id",
                        "权利人身份号码",
                        "string",
                        PersonalSensitive,
                        L4,
                    )
                    .replica("resident_id"),
                    col("built_year", "建成年份", "int64", Public, L1),
                ],
            ),
            table_path: "base/housing/houses",
            delivery: csv("zjj/fangwu.csv", Encoding::Gbk),
        },
        DemoResource {
            resource: resource(
                "440310-ZS-0001",
                "电子证照信息",
                "440310-zsj",
                LibraryTier::Base,
                UpdateCycle::Realtime,
                (ShareAttr::Conditional, CONDITIONAL),
                (OpenAttr::NotOpen, None),
                "区级签发和市级汇聚的电子证照目录：证照编号、类型、持证人、签发机关、有效期。",
                vec![
                    col("licence_no", "证照编号", "string", Public, L2)
                        .source("licence_no")
                        .key(),
                    col("licence_type", "证照类型", "string", Public, L1),
                    col(
                        "holder_id",
                        "持证人身份号码",
                        "string",
                        PersonalSensitive,
                        L4,
                    )
                    .replica("resident_id"),
                    col("issuer", "签发机关", "string", Public, L1),
                    col("issued_on", "签发日期", "date", Public, L2),
                    col("valid_until", "有效期至", "date", Public, L2),
                ],
            ),
            table_path: "base/licences/e_licences",
            delivery: Delivery {
                file: "zsj/e_licences.jsonl",
                format: FileFormat::JsonLines,
                encoding: Encoding::Utf8,
            },
        },
        DemoResource {
            resource: resource(
                "440310-FG-0001",
                "公共信用信息",
                "440310-fgj",
                LibraryTier::Base,
                UpdateCycle::Weekly,
                (ShareAttr::Unconditional, None),
                (OpenAttr::Unconditional, None),
                "企业公共信用评价等级和红黑名单记录，公共信用基础库。",
                vec![
                    col("uscc", "统一社会信用代码", "string", Organisation, L1)
                        .replica("uscc")
                        .key(),
                    col("org_name", "企业名称", "string", Organisation, L1).replica("org_name"),
                    col("credit_level", "信用等级", "string", Organisation, L1),
                    col("list_type", "名单类型", "string", Organisation, L1),
                    col("recorded_on", "认定日期", "date", Organisation, L1),
                ],
            ),
            table_path: "base/credit/ratings",
            delivery: csv("fgj/credit.csv", Encoding::Utf8),
        },
        DemoResource {
            resource: resource(
                "440310-RS-0001",
                "社会保险参保信息",
                "440310-rsj",
                LibraryTier::Theme,
                UpdateCycle::Monthly,
                (ShareAttr::Conditional, CONDITIONAL),
                (OpenAttr::NotOpen, None),
                "坪山区参保人员的险种、参保单位、参保状态和缴费基数，社保主题库。",
                vec![
                    col("id_no", "公民身份号码", "string", PersonalSensitive, L4)
                        .replica("resident_id")
                        .key(),
                    col("name", "姓名", "string", Personal, L3).replica("person_name"),
                    col("insurance_type", "险种", "string", Personal, L2).key(),
                    col(
                        "employer_uscc",
                        "参保单位统一社会信用代码",
                        "string",
                        Organisation,
                        L1,
                    )
                    .replica("uscc"),
                    col("status", "参保状态", "string", Personal, L2),
                    col("enrolled_on", "参保日期", "date", Personal, L2),
                    col(
                        "monthly_base",
                        "缴费基数（元）",
                        "float64",
                        PersonalSensitive,
                        L4,
                    ),
                ],
            ),
            table_path: "theme/social_insurance/enrolments",
            delivery: csv("rsj/shebao_canbao.csv", Encoding::Gbk),
        },
        DemoResource {
            resource: resource(
                "440310-WJ-0001",
                "出生医学证明信息",
                "440310-wjj",
                LibraryTier::Theme,
                UpdateCycle::Daily,
                (ShareAttr::Conditional, CONDITIONAL),
                (OpenAttr::NotOpen, None),
                "辖区医疗机构签发的出生医学证明：新生儿、出生日期、母亲身份号码、签发机构。",
                vec![
                    col("certificate_no", "出生医学证明编号", "string", Personal, L3).key(),
                    col("child_name", "新生儿姓名", "string", Personal, L3),
                    col("sex", "性别", "string", Personal, L2),
                    col("birth_date", "出生日期", "date", Personal, L3),
                    col("mother_id", "母亲身份号码", "string", PersonalSensitive, L4)
                        .replica("resident_id"),
                    col("hospital", "签发机构", "string", Public, L1),
                    col("community_code", "居住社区代码", "string", Public, L1)
                        .replica("division_code"),
                ],
            ),
            table_path: "theme/health/birth_certificates",
            delivery: csv("wjj/births.csv", Encoding::Utf8),
        },
        DemoResource {
            resource: resource(
                "440310-ZS-0002",
                "网格事件信息",
                "440310-zsj",
                LibraryTier::Theme,
                UpdateCycle::Realtime,
                (ShareAttr::Unconditional, None),
                (OpenAttr::Conditional, MASKED_OPEN),
                "街道、社区网格员上报的市容环境、安全隐患、矛盾纠纷等网格事件及其处置状态。",
                vec![
                    col("event_id", "事件编号", "string", Public, L1).key(),
                    col("street_code", "街道代码", "string", Public, L1).replica("division_code"),
                    col("community_code", "社区代码", "string", Public, L1)
                        .replica("division_code"),
                    col("category", "事件类别", "string", Public, L1),
                    col("description", "事件描述", "string", Public, L2),
                    col("reporter_mobile", "上报人手机号码", "string", Personal, L3),
                    col("reported_at", "上报时间", "timestamp", Public, L1),
                    col("status", "处置状态", "string", Public, L1),
                ],
            ),
            table_path: "theme/grid/events",
            delivery: csv("zsj/grid_events.csv", Encoding::Utf8),
        },
        DemoResource {
            resource: resource(
                "440310-YJ-0001",
                "物联感知设备信息",
                "440310-yjj",
                LibraryTier::Special,
                UpdateCycle::Daily,
                (ShareAttr::Unconditional, None),
                (OpenAttr::Unconditional, None),
                "烟感、水位、井盖、智慧灯杆、空气质量等物联感知设备的编码、类型、位置和安装信息，物联感知专题库。",
                vec![
                    col("device_id", "设备编码", "string", Iot, L2)
                        .source("device_id")
                        .key(),
                    col("device_type", "设备类型", "string", Iot, L1),
                    col("street_code", "街道代码", "string", Public, L1).replica("division_code"),
                    col("community_code", "社区代码", "string", Public, L1)
                        .replica("division_code"),
                    col("longitude", "经度", "float64", Iot, L2),
                    col("latitude", "纬度", "float64", Iot, L2),
                    col("installed_on", "安装日期", "date", Iot, L1),
                ],
            ),
            table_path: "special/iot/devices",
            delivery: csv("yjj/iot_devices.csv", Encoding::Utf8),
        },
        DemoResource {
            resource: resource(
                "440310-YJ-0002",
                "物联感知监测数据",
                "440310-yjj",
                LibraryTier::Special,
                UpdateCycle::Realtime,
                (ShareAttr::Unconditional, None),
                (OpenAttr::Unconditional, None),
                "物联感知设备上报的监测读数和告警标志。",
                vec![
                    col("device_id", "设备编码", "string", Iot, L2)
                        .replica("device_id")
                        .key(),
                    col("observed_at", "监测时间", "timestamp", Iot, L1).key(),
                    col("metric", "监测指标", "string", Iot, L1),
                    col("value", "监测值", "float64", Iot, L2),
                    col("alarm", "是否告警", "boolean", Iot, L1),
                ],
            ),
            table_path: "special/iot/readings",
            delivery: csv("yjj/iot_readings.csv", Encoding::Utf8),
        },
        DemoResource {
            resource: resource(
                "4403-RS-0001",
                "市级社保缴费明细（回流）",
                "4403-rsj",
                LibraryTier::Department,
                UpdateCycle::Monthly,
                (ShareAttr::Conditional, CONDITIONAL),
                (OpenAttr::NotOpen, None),
                "市人力资源和社会保障局回流至坪山区的辖区参保人员按月缴费明细。",
                vec![
                    col("id_no", "公民身份号码", "string", PersonalSensitive, L4)
                        .replica("resident_id")
                        .key(),
                    col("pay_month", "缴费月份", "string", Personal, L2).key(),
                    col("amount", "缴费金额（元）", "float64", PersonalSensitive, L4),
                    col(
                        "employer_uscc",
                        "缴费单位统一社会信用代码",
                        "string",
                        Organisation,
                        L1,
                    )
                    .replica("uscc"),
                ],
            ),
            table_path: "raw/4403-rsj/contributions",
            delivery: csv("backflow/4403-rsj/jiaofei.csv", Encoding::Gbk),
        },
        DemoResource {
            resource: resource(
                "4403-SC-0001",
                "市场主体登记信息（回流）",
                "4403-scjgj",
                LibraryTier::Department,
                UpdateCycle::Daily,
                (ShareAttr::Unconditional, None),
                (OpenAttr::Unconditional, None),
                "市市场监督管理局回流的坪山区市场主体设立、变更登记记录。",
                vec![
                    col("uscc", "统一社会信用代码", "string", Organisation, L1)
                        .replica("uscc")
                        .key(),
                    col("org_name", "企业名称", "string", Organisation, L1).replica("org_name"),
                    col("change_type", "登记类型", "string", Organisation, L1),
                    col("registered_on", "登记日期", "date", Organisation, L1).key(),
                ],
            ),
            table_path: "raw/4403-scjgj/registrations",
            delivery: csv("backflow/4403-scjgj/dengji.csv", Encoding::Gbk),
        },
    ]
}

/// The demo's responsibility list (数据权责清单): who answers for the core data elements. The
/// address is assigned to housing while the population register holds its source today, so the
/// chief data officer has a flagged entry to settle.
pub fn responsibilities() -> Vec<zhongshu_catalog::NewResponsibility> {
    const PERSONS: &str =
        "《中华人民共和国居民身份证法》《中华人民共和国户口登记条例》；区公安分局职能配置";
    const MARKET: &str = "《中华人民共和国市场主体登记管理条例》；区市场监督管理局职能配置";
    [
        ("resident_id", "440310-gaj", PERSONS, "实时更新"),
        ("person_name", "440310-gaj", PERSONS, "实时更新"),
        ("sex", "440310-gaj", PERSONS, "实时更新"),
        ("birth_date", "440310-gaj", PERSONS, "实时更新"),
        ("uscc", "440310-scjg", MARKET, "实时更新"),
        ("org_name", "440310-scjg", MARKET, "实时更新"),
        (
            "division_code",
            "440310-zsj",
            "GB/T 2260；区政务服务数据管理局职能配置",
            "每年更新",
        ),
        (
            "address",
            "440310-zjj",
            "区住房和建设局职能配置（房屋及地址管理）",
            "每日更新",
        ),
    ]
    .into_iter()
    .map(
        |(element, org, basis, duty)| zhongshu_catalog::NewResponsibility {
            element: ElementId::new(element),
            org: OrgId::new(org),
            legal_basis: basis.into(),
            update_duty: duty.into(),
        },
    )
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_has_departments_streets_and_communities() {
        let orgs = org_units();
        assert!(orgs.len() >= 12 + 6 + 20, "{}", orgs.len());
        assert_eq!(streets().len(), 6);
        assert!(streets().iter().all(|s| !s.communities.is_empty()));
    }

    #[test]
    fn resources_pass_catalog_rules() {
        for r in resources() {
            zhongshu_catalog::rules::check_new_resource(&r.resource).unwrap();
        }
    }
}

//! The demo's standards and system inventory: the departments' information systems and the
//! GB/T 4754 industry sections as a code list.

use zhongshu_catalog::{OrgId, ResourceId};

/// The demo's system inventory (系统清单): the departments' information systems with the
/// resources each produces, and two that produce nothing catalogued yet, which the console
/// flags.
pub fn systems() -> Vec<zhongshu_catalog::NewSystem> {
    [
        (
            "gaj-population",
            "人口信息管理系统",
            "440310-gaj",
            "户籍与常住人口登记、变更和注销",
            "区公安分局科技信息化科",
            &["440310-GA-0001"][..],
        ),
        (
            "scjg-registration",
            "市场主体登记系统",
            "440310-scjg",
            "企业设立、变更、注销登记",
            "区市场监督管理局登记注册科",
            &["440310-SC-0001"][..],
        ),
        (
            "scjg-inspection",
            "市场监管执法办案系统",
            "440310-scjg",
            "行政检查与执法办案记录",
            "区市场监督管理局法制科",
            &[][..],
        ),
        (
            "zjj-housing",
            "房屋管理信息系统",
            "440310-zjj",
            "房屋、地址登记与楼栋管理",
            "区住房和建设局",
            &["440310-ZJ-0001"][..],
        ),
        (
            "zsj-grid",
            "网格化社会治理平台",
            "440310-zsj",
            "网格事件上报、派单与办结",
            "区政务服务数据管理局",
            &["440310-ZS-0002"][..],
        ),
        (
            "zsj-licences",
            "电子证照系统",
            "440310-zsj",
            "电子证照签发与共享",
            "区政务服务数据管理局",
            &["440310-ZS-0001"][..],
        ),
        (
            "rsj-insurance",
            "社会保险经办系统",
            "440310-rsj",
            "参保登记与缴费记录",
            "区人力资源局",
            &["440310-RS-0001"][..],
        ),
        (
            "rsj-employment",
            "就业创业服务系统",
            "440310-rsj",
            "就业登记、补贴申领与审核",
            "区人力资源局",
            &[][..],
        ),
        (
            "yjj-iot",
            "物联感知平台",
            "440310-yjj",
            "感知设备接入与监测数据汇聚",
            "区应急管理局",
            &["440310-YJ-0001", "440310-YJ-0002"][..],
        ),
    ]
    .into_iter()
    .map(
        |(id, name, org, description, operator, resources)| zhongshu_catalog::NewSystem {
            id: id.into(),
            name: name.into(),
            org: OrgId::new(org),
            description: description.into(),
            operator: operator.into(),
            resources: resources.iter().map(|r| ResourceId::new(*r)).collect(),
        },
    )
    .collect()
}

/// The GB/T 4754-2017 sections (门类) as a code list, from `examples/codelists`.
pub fn industry_sections() -> Result<zhongshu_catalog::NewCodeList, zhongshu_catalog::CatalogError>
{
    const FILE: &str = "gb4754-2017-sections.csv";
    let text = include_str!("../../../examples/codelists/gb4754-2017-sections.csv");
    Ok(zhongshu_catalog::NewCodeList {
        id: "gb4754-sections".into(),
        name: "国民经济行业分类门类".into(),
        standard: Some("GB/T 4754-2017".into()),
        description: "行业门类代码 A–T，法人基础信息的行业门类按名称校验".into(),
        values: zhongshu_catalog::parse_code_file(FILE, text.as_bytes())?,
    })
}

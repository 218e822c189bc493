//! A synthetic catalogue for the benchmarks: departments of a district and resources with
//! Chinese names, abstracts and graded columns, the same for every run (seeded).

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng as _};
use rand_chacha::ChaCha8Rng;
use zhongshu_catalog::*;

pub const DEPARTMENTS: &[&str] = &[
    "公安分局",
    "人力资源局",
    "卫生健康局",
    "市场监管局",
    "住房和建设局",
    "水务局",
    "应急管理局",
    "发展和改革局",
    "政务服务数据管理局",
    "教育局",
    "民政局",
    "司法局",
    "财政局",
    "生态环境分局",
    "交通运输局",
    "文化广电旅游体育局",
    "城市管理和综合执法局",
    "统计局",
    "税务局",
    "退役军人事务局",
];
pub const TOPICS: &[&str] = &[
    "社会保险参保",
    "人口户籍",
    "企业登记",
    "房屋租赁",
    "学位申请",
    "医疗机构执业",
    "门诊就诊",
    "疫苗接种",
    "低保救助",
    "养老服务",
    "行政处罚",
    "信用评价",
    "税收缴纳",
    "环境监测",
    "排水许可",
    "建设工程许可",
    "消防检查",
    "安全生产检查",
    "公交线路",
    "停车场",
    "网格事件",
    "物联感知设备",
    "食品经营许可",
    "药品经营许可",
    "不动产登记",
    "公积金缴存",
    "就业登记",
    "职业培训",
    "残疾人证",
    "婚姻登记",
    "殡葬服务",
    "社区矫正",
    "法律援助",
    "财政预算",
    "政府采购",
    "统计调查",
    "企业纳税",
    "退役军人",
    "体育场馆",
    "文物保护",
];
pub const ITEMS: &[&str] = &[
    "公民身份号码",
    "姓名",
    "性别",
    "出生日期",
    "手机号码",
    "居住地址",
    "统一社会信用代码",
    "企业名称",
    "登记日期",
    "办理状态",
    "申请时间",
    "审批结果",
    "金额",
    "所在街道",
    "所在社区",
    "经办机构",
    "证照编号",
    "有效期",
    "备注",
    "数据来源",
];

pub fn column(i: usize, rng: &mut ChaCha8Rng) -> Column {
    let grade = *[Grade::L1, Grade::L2, Grade::L3, Grade::L4]
        .choose(rng)
        .unwrap_or(&Grade::L1);
    Column {
        name: format!("c{i}"),
        title: ITEMS[rng.random_range(0..ITEMS.len())].into(),
        data_type: "string".into(),
        nullable: true,
        is_key: i == 0,
        description: String::new(),
        category: if grade >= Grade::L3 {
            Category::Personal
        } else {
            Category::Public
        },
        grade,
        element: None,
        binding: None,
    }
}

pub fn resource(n: usize, columns: usize, rng: &mut ChaCha8Rng) -> NewResource {
    let dept = n % DEPARTMENTS.len();
    let topic = TOPICS[rng.random_range(0..TOPICS.len())];
    NewResource {
        id: ResourceId::new(format!("B-{dept:02}-{n:07}")),
        name: format!("{}{topic}信息{n}", DEPARTMENTS[dept]),
        provider: OrgId::new(format!("dept-{dept:02}")),
        abstract_text: format!("{}归集的{topic}业务数据，按月更新。", DEPARTMENTS[dept]),
        format: "数据库表".into(),
        share_attr: ShareAttr::Conditional,
        share_conditions: None,
        open_attr: OpenAttr::NotOpen,
        open_conditions: None,
        update_cycle: UpdateCycle::Monthly,
        tier: LibraryTier::Department,
        publish_date: None,
        columns: (0..columns).map(|i| column(i, rng)).collect(),
    }
}

/// Registers the departments the synthetic resources are provided by (`dept-00`…).
pub async fn departments(store: &dyn CatalogStore, actor: &Actor) -> anyhow::Result<()> {
    for (i, name) in DEPARTMENTS.iter().enumerate() {
        let org = OrgUnit {
            id: OrgId::new(format!("dept-{i:02}")),
            name: format!("坪山区{name}"),
            kind: OrgKind::DistrictDepartment,
            parent: None,
            division_code: None,
        };
        store.upsert_org(actor, &org).await?;
    }
    Ok(())
}

/// `count` synthetic resources with `columns` columns each, numbered from `first`.
pub fn resources(first: usize, count: usize, columns: usize, seed: u64) -> Vec<NewResource> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ first as u64);
    (first..first + count)
        .map(|n| resource(n, columns, &mut rng))
        .collect()
}

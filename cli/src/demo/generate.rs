//! `zhongshu generate`: a deterministic, seeded generator of realistic synthetic data for
//! Pingshan district, delivered the way departments deliver it (CSV in UTF-8 or GBK, JSON
//! lines), with documented defects planted on purpose.
//!
//! Everything derives from one ChaCha8 stream seeded by `--seed`, and rows are generated in a
//! fixed order, so the same seed and scale give byte-identical files. Values agree across
//! tables the way real data does (a social-insurance row names a real person of the population
//! table, an ID number encodes the birth date and sex of its row), except where a defect is
//! planted; every planted defect is listed in `manifest.json` with its count and the keys of
//! the rows it touched, so that quality checks can be tested against exact numbers.

use super::spec::{self, DemoResource, Street};
use chrono::{Datelike, Duration, NaiveDate};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use zhongshu_catalog::reference::{Divisions, SURNAMES};
use zhongshu_catalog::validators::{USCC_ALPHABET, resident_id_check_char, uscc_check_char};
use zhongshu_ingest::{Encoding, FileFormat};

/// Persons at scale 1; every other table grows with it.
pub const PERSONS_PER_SCALE: f64 = 50_000.0;
/// The default seed.
pub const DEFAULT_SEED: u64 = 440_310;

/// One generated file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Resource code.
    pub resource: String,
    /// Path relative to the output directory.
    pub file: String,
    /// Format.
    pub format: FileFormat,
    /// Encoding.
    pub encoding: Encoding,
    /// Data rows (header excluded).
    pub rows: u64,
}

/// One kind of planted defect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Defect {
    /// Resource code.
    pub resource: String,
    /// Column concerned.
    pub column: String,
    /// Kind: `check_digit`, `missing`, `duplicate`, `conflict`, `unknown_reference`,
    /// `invalid_code`.
    pub kind: String,
    /// What was done.
    pub description: String,
    /// Number of rows affected.
    pub count: u64,
    /// Entity keys of the affected rows.
    pub keys: Vec<String>,
}

/// What was generated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Seed.
    pub seed: u64,
    /// Scale.
    pub scale: f64,
    /// Files.
    pub files: Vec<FileEntry>,
    /// Planted defects.
    pub defects: Vec<Defect>,
}

impl Manifest {
    /// The defects of one resource and kind.
    pub fn defect(&self, resource: &str, kind: &str) -> Option<&Defect> {
        self.defects
            .iter()
            .find(|d| d.resource == resource && d.kind == kind)
    }
}

/// Generation failed.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// Bad options.
    #[error("{0}")]
    Options(String),
    /// Writing failed.
    #[error("writing {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}

const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀", "霞", "平", "刚", "桂", "英", "华", "文", "辉", "鹏", "宇", "浩", "晨", "欣", "怡",
    "佳", "俊", "婷", "雪", "琳", "颖", "博", "凯", "健", "斌", "宁", "波", "婧", "瑶", "梓", "涵",
    "子", "轩", "睿", "思", "嘉", "一", "诺", "雨", "萱", "泽", "昊", "晓", "红", "玉", "兰", "建",
];
const ROADS: &[&str] = &[
    "东纵路",
    "深汕路",
    "坪山大道",
    "龙兴大道",
    "金牛路",
    "丹梓大道",
    "兰竹路",
    "新和路",
    "坪环路",
    "锦龙大道",
    "体育一路",
    "行政一路",
    "中山大道",
    "宝梓路",
    "青松路",
    "聚龙路",
];
const BRANDS: &[&str] = &[
    "比亚迪",
    "坪山",
    "金龙",
    "华润",
    "聚龙",
    "东纵",
    "马峦",
    "碧岭",
    "燕子湖",
    "汇通",
    "创新",
    "鹏程",
    "宏达",
    "智联",
    "恒信",
    "盛世",
    "新能",
    "海川",
    "云谷",
    "翠湖",
];
const INDUSTRY_WORDS: &[(&str, &str)] = &[
    ("制造业", "电子科技"),
    ("制造业", "新能源汽车配件"),
    ("批发和零售业", "贸易"),
    ("信息传输、软件和信息技术服务业", "信息技术"),
    ("建筑业", "建筑工程"),
    ("租赁和商务服务业", "企业管理咨询"),
    ("科学研究和技术服务业", "生物医药研究"),
    ("住宿和餐饮业", "餐饮管理"),
    ("交通运输、仓储和邮政业", "物流"),
];
const INSURANCE: &[&str] = &[
    "企业职工基本养老保险",
    "职工基本医疗保险",
    "失业保险",
    "工伤保险",
    "生育保险",
];
const MOBILE_PREFIXES: &[&str] = &[
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153",
    "155", "156", "157", "158", "159", "176", "177", "180", "181", "182", "185", "186", "187",
    "188", "189", "199",
];

/// Parameters of a run.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Scale: 1 ≈ 50,000 persons.
    pub scale: f64,
    /// Seed.
    pub seed: u64,
}

struct Person {
    id_no: String,
    name: String,
    sex: char,
    birth: NaiveDate,
    mobile: Option<String>,
    address: String,
    street: usize,
    community: usize,
    registered_on: NaiveDate,
}

struct Enterprise {
    uscc: String,
    name: String,
    established: NaiveDate,
}

struct Generator {
    rng: ChaCha8Rng,
    streets: Vec<Street>,
    counties: Vec<String>,
    ids: HashSet<String>,
    defects: Vec<Defect>,
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

/// Rows of one file: entity key plus cells in column order.
struct Rows {
    cells: Vec<Vec<String>>,
    keys: Vec<String>,
}

impl Rows {
    fn new() -> Self {
        Rows {
            cells: Vec::new(),
            keys: Vec::new(),
        }
    }
    fn push(&mut self, key: String, cells: Vec<String>) {
        self.keys.push(key);
        self.cells.push(cells);
    }
}

impl Generator {
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        items.choose(&mut self.rng).unwrap_or(&items[0])
    }

    fn day_between(&mut self, from: NaiveDate, to: NaiveDate) -> NaiveDate {
        let span = (to - from).num_days().max(1);
        from + Duration::days(self.rng.random_range(0..span))
    }

    fn name(&mut self) -> String {
        // Frequent surnames first: square a uniform draw to favour the head of the list.
        let u: f64 = self.rng.random();
        let surname = SURNAMES[((u * u) * SURNAMES.len() as f64) as usize % SURNAMES.len()];
        let len = if self.rng.random_bool(0.6) { 2 } else { 1 };
        let given: String = (0..len).map(|_| *self.pick(GIVEN)).collect();
        format!("{surname}{given}")
    }

    fn mobile(&mut self) -> String {
        let prefix = *self.pick(MOBILE_PREFIXES);
        format!("{prefix}{:08}", self.rng.random_range(0..100_000_000u32))
    }

    /// A fresh, valid resident ID for the given birth date and sex.
    fn resident_id(&mut self, birth: NaiveDate, sex: char) -> String {
        loop {
            let roll: f64 = self.rng.random();
            let division = if roll < 0.35 {
                spec::DISTRICT.to_owned()
            } else if roll < 0.45 {
                "440307".to_owned()
            } else {
                self.pick(&self.counties.clone()).clone()
            };
            let mut seq = self.rng.random_range(0..1000u32);
            let odd = sex == '1';
            if (seq % 2 == 1) != odd {
                seq = (seq + 1) % 1000;
            }
            let first17 = format!("{division}{}{seq:03}", birth.format("%Y%m%d"));
            let check = resident_id_check_char(&first17).unwrap_or('0');
            let id = format!("{first17}{check}");
            if self.ids.insert(id.clone()) {
                return id;
            }
        }
    }

    fn address(&mut self, street: usize, community: usize) -> String {
        let s = &self.streets[street];
        let (s_name, c_name) = (s.name.clone(), s.communities[community].1.clone());
        let road = *self.pick(ROADS);
        let no = self.rng.random_range(1..300);
        let building = self.rng.random_range(1..30);
        let room = self.rng.random_range(1..33) * 100 + self.rng.random_range(1..9);
        format!("广东省深圳市坪山区{s_name}{c_name}{road}{no}号{building}栋{room}室")
    }

    fn place(&mut self) -> (usize, usize) {
        let street = self.rng.random_range(0..self.streets.len());
        let community = self
            .rng
            .random_range(0..self.streets[street].communities.len());
        (street, community)
    }

    fn uscc(&mut self, seq: usize) -> String {
        // 9 (market regulation) 1 (enterprise) + division + organisation code (GB 11714) + check.
        let mut body = String::new();
        for _ in 0..8 {
            body.push(if self.rng.random_bool(0.8) {
                char::from(b'0' + self.rng.random_range(0..10u8))
            } else {
                USCC_ALPHABET[self.rng.random_range(10..USCC_ALPHABET.len())] as char
            });
        }
        // Keep codes unique by folding the sequence number into the last body digits.
        body.replace_range(4..8, &format!("{:04}", seq % 10_000));
        let weights = [3u32, 7, 9, 10, 5, 8, 4, 2];
        let sum: u32 = body
            .bytes()
            .zip(weights)
            .map(|(b, w)| {
                let v = if b.is_ascii_digit() {
                    u32::from(b - b'0')
                } else {
                    u32::from(b - b'A') + 10
                };
                v * w
            })
            .sum();
        let org_check = match 11 - sum % 11 {
            10 => 'X',
            11 => '0',
            n => char::from(b'0' + n as u8),
        };
        let division = if seq.is_multiple_of(3) {
            "440300"
        } else {
            spec::DISTRICT
        };
        let first17 = format!("91{division}{body}{org_check}");
        let check = uscc_check_char(&first17).unwrap_or('0');
        format!("{first17}{check}")
    }

    /// Picks `n` distinct row indices out of `len`.
    fn pick_rows(&mut self, len: usize, n: usize) -> Vec<usize> {
        let mut chosen = HashSet::new();
        let n = n.min(len);
        while chosen.len() < n {
            chosen.insert(self.rng.random_range(0..len));
        }
        let mut v: Vec<usize> = chosen.into_iter().collect();
        v.sort_unstable();
        v
    }

    fn record(
        &mut self,
        resource: &str,
        column: &str,
        kind: &str,
        description: &str,
        keys: Vec<String>,
    ) {
        self.defects.push(Defect {
            resource: resource.into(),
            column: column.into(),
            kind: kind.into(),
            description: description.into(),
            count: keys.len() as u64,
            keys,
        });
    }

    /// Replaces the check character of a resident ID or USCC with a wrong one.
    fn break_check_digit(&mut self, value: &str) -> String {
        let (body, last) = value.split_at(value.len() - 1);
        let alphabet: &[u8] =
            if value.len() == 18 && value.as_bytes()[..17].iter().all(u8::is_ascii_digit) {
                b"0123456789X"
            } else {
                USCC_ALPHABET
            };
        loop {
            let c = alphabet[self.rng.random_range(0..alphabet.len())] as char;
            if c.to_string() != last {
                return format!("{body}{c}");
            }
        }
    }

    /// Plants check-digit defects in column `col` of `rate` of the rows.
    /// `rekey` derives a row's entity key from its cells after the value changed.
    #[allow(clippy::too_many_arguments)] // each argument names one aspect of the defect
    fn plant_check_digits(
        &mut self,
        rows: &mut Rows,
        resource: &str,
        col: usize,
        col_name: &str,
        rate: f64,
        what: &str,
        rekey: fn(&[String]) -> String,
    ) {
        let n = (rows.cells.len() as f64 * rate).round() as usize;
        let picked = self.pick_rows(rows.cells.len(), n);
        let mut keys = Vec::new();
        for i in picked {
            let broken = self.break_check_digit(&rows.cells[i][col]);
            rows.cells[i][col] = broken;
            rows.keys[i] = rekey(&rows.cells[i]);
            keys.push(rows.keys[i].clone());
        }
        self.record(
            resource,
            col_name,
            "check_digit",
            &format!("wrong {what} check character"),
            keys,
        );
    }

    fn plant_missing(
        &mut self,
        rows: &mut Rows,
        resource: &str,
        col: usize,
        col_name: &str,
        rate: f64,
    ) {
        let n = (rows.cells.len() as f64 * rate).round() as usize;
        let picked = self.pick_rows(rows.cells.len(), n);
        let mut keys = Vec::new();
        for i in picked {
            rows.cells[i][col].clear();
            keys.push(rows.keys[i].clone());
        }
        self.record(resource, col_name, "missing", "value left empty", keys);
    }

    fn plant_duplicates(&mut self, rows: &mut Rows, resource: &str, rate: f64) {
        let n = (rows.cells.len() as f64 * rate).round() as usize;
        let picked = self.pick_rows(rows.cells.len(), n);
        let mut keys = Vec::new();
        for i in picked {
            let (key, cells) = (rows.keys[i].clone(), rows.cells[i].clone());
            keys.push(key.clone());
            // Insert the copy at a random later position, as re-sent rows arrive.
            let at = self.rng.random_range(i + 1..=rows.cells.len());
            rows.cells.insert(at, cells);
            rows.keys.insert(at, key);
        }
        self.record(
            resource,
            "*",
            "duplicate",
            "whole row delivered twice",
            keys,
        );
    }
}

fn write_file(out: &Path, res: &DemoResource, rows: &Rows) -> Result<FileEntry, GenerateError> {
    let path = out.join(res.delivery.file);
    let io = |source| GenerateError::Io {
        path: path.clone(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let columns = &res.resource.columns;
    let text = match res.delivery.format {
        FileFormat::Csv | FileFormat::Tsv => {
            let delimiter = if res.delivery.format == FileFormat::Csv {
                b','
            } else {
                b'\t'
            };
            let mut w = csv::WriterBuilder::new()
                .delimiter(delimiter)
                .from_writer(Vec::new());
            let header: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
            w.write_record(&header)
                .map_err(|e| io(std::io::Error::other(e)))?;
            for row in &rows.cells {
                w.write_record(row)
                    .map_err(|e| io(std::io::Error::other(e)))?;
            }
            let bytes = w
                .into_inner()
                .map_err(|e| io(std::io::Error::other(e.to_string())))?;
            String::from_utf8(bytes).map_err(|e| io(std::io::Error::other(e)))?
        }
        FileFormat::Parquet | FileFormat::Json | FileFormat::Xlsx => {
            return Err(GenerateError::Options(
                "the demo generator writes CSV, TSV and JSON lines only".into(),
            ));
        }
        FileFormat::JsonLines => {
            let mut text = String::new();
            for row in &rows.cells {
                let mut obj = serde_json::Map::new();
                for (c, v) in columns.iter().zip(row) {
                    let value = if v.is_empty() {
                        serde_json::Value::Null
                    } else {
                        match c.data_type.as_str() {
                            "int64" | "float64" => v
                                .parse::<f64>()
                                .map_or(serde_json::Value::Null, |n| serde_json::json!(n)),
                            "boolean" => serde_json::Value::Bool(v == "true"),
                            _ => serde_json::Value::String(v.clone()),
                        }
                    };
                    obj.insert(c.name.clone(), value);
                }
                text.push_str(&serde_json::Value::Object(obj).to_string());
                text.push('\n');
            }
            text
        }
    };
    let bytes = match res.delivery.encoding {
        Encoding::Gbk => encoding_rs::GBK.encode(&text).0.into_owned(),
        Encoding::Gb18030 => encoding_rs::GB18030.encode(&text).0.into_owned(),
        Encoding::Utf8 | Encoding::Detect => text.into_bytes(),
    };
    std::fs::write(&path, bytes).map_err(io)?;
    Ok(FileEntry {
        resource: res.resource.id.to_string(),
        file: res.delivery.file.to_owned(),
        format: res.delivery.format,
        encoding: res.delivery.encoding,
        rows: rows.cells.len() as u64,
    })
}

fn first_cell(cells: &[String]) -> String {
    cells[0].clone()
}

fn fmt_f(v: f64) -> String {
    format!("{v:.2}")
}

/// Generates the demo files into `out` and writes `manifest.json` there. `progress` is told
/// each finished file and its row count.
pub fn generate(
    out: &Path,
    options: Options,
    mut progress: impl FnMut(&str, u64),
) -> Result<Manifest, GenerateError> {
    if !(options.scale > 0.0 && options.scale <= 10_000.0) {
        return Err(GenerateError::Options(format!(
            "scale {} is out of range; use a number above 0 (1 ≈ 50,000 persons)",
            options.scale
        )));
    }
    let divisions = Divisions::get();
    let mut g = Generator {
        rng: ChaCha8Rng::seed_from_u64(options.seed),
        streets: spec::streets(),
        counties: divisions
            .with_code_length(6)
            .iter()
            .map(|d| d.code.clone())
            .collect(),
        ids: HashSet::new(),
        defects: Vec::new(),
    };
    let resources: BTreeMap<String, DemoResource> = spec::resources()
        .into_iter()
        .map(|r| (r.resource.id.to_string(), r))
        .collect();
    let res = |id: &str| {
        resources
            .get(id)
            .cloned()
            .ok_or_else(|| GenerateError::Options(format!("no demo resource {id}")))
    };
    let n_persons = ((PERSONS_PER_SCALE * options.scale).round() as usize).max(50);
    let scaled = |per_person: f64| ((n_persons as f64 * per_person).round() as usize).max(5);
    let mut files = Vec::new();
    let mut emit =
        |files: &mut Vec<FileEntry>, r: &DemoResource, rows: &Rows| -> Result<(), GenerateError> {
            let entry = write_file(out, r, rows)?;
            progress(&entry.file, entry.rows);
            files.push(entry);
            Ok(())
        };

    // 行政区划: the real codes of the district, its streets and communities.
    let mut rows = Rows::new();
    rows.push(
        spec::DISTRICT.into(),
        vec![
            spec::DISTRICT.into(),
            "坪山区".into(),
            "区".into(),
            spec::CITY.into(),
        ],
    );
    for s in &g.streets {
        rows.push(
            s.code.clone(),
            vec![
                s.code.clone(),
                s.name.clone(),
                "街道".into(),
                spec::DISTRICT.into(),
            ],
        );
        for (code, name) in &s.communities {
            rows.push(
                code.clone(),
                vec![code.clone(), name.clone(), "社区".into(), s.code.clone()],
            );
        }
    }
    emit(&mut files, &res("440310-ZS-0003")?, &rows)?;

    // 人口: the authoritative population.
    let mut persons = Vec::with_capacity(n_persons);
    for _ in 0..n_persons {
        let sex = if g.rng.random_bool(0.52) { '1' } else { '2' };
        let birth = if g.rng.random_bool(0.75) {
            g.day_between(date(1966, 1, 1), date(2004, 12, 31))
        } else {
            g.day_between(date(1940, 1, 1), date(2022, 12, 31))
        };
        let id_no = g.resident_id(birth, sex);
        let (street, community) = g.place();
        let person = Person {
            name: g.name(),
            mobile: Some(g.mobile()),
            address: g.address(street, community),
            registered_on: g.day_between(birth.max(date(2000, 1, 1)), date(2026, 10, 31)),
            id_no,
            sex,
            birth,
            street,
            community,
        };
        persons.push(person);
    }
    let mut rows = Rows::new();
    for p in &persons {
        let s = &g.streets[p.street];
        rows.push(
            p.id_no.clone(),
            vec![
                p.id_no.clone(),
                p.name.clone(),
                p.sex.to_string(),
                p.birth.to_string(),
                p.id_no[..6].to_owned(),
                p.mobile.clone().unwrap_or_default(),
                p.address.clone(),
                s.code.clone(),
                s.communities[p.community].0.clone(),
                p.registered_on.to_string(),
            ],
        );
    }
    let persons_res = "440310-GA-0001";
    g.plant_check_digits(
        &mut rows,
        persons_res,
        0,
        "id_no",
        0.002,
        "GB 11643 (replicas carry the right number)",
        first_cell,
    );
    g.plant_missing(&mut rows, persons_res, 5, "mobile", 0.02);
    emit(&mut files, &res(persons_res)?, &rows)?;
    let adults: Vec<usize> = (0..persons.len())
        .filter(|&i| persons[i].birth.year() <= 2006)
        .collect();

    // 法人: enterprises with valid credit codes, legal representatives from the population.
    let n_ent = scaled(0.1);
    let mut enterprises = Vec::with_capacity(n_ent);
    let mut names = HashSet::new();
    let mut rows = Rows::new();
    for seq in 0..n_ent {
        let uscc = g.uscc(seq);
        let (industry, word) = *g.pick(INDUSTRY_WORDS);
        let brand = *g.pick(BRANDS);
        let mut name = format!("深圳市{brand}{word}有限公司");
        if !names.insert(name.clone()) {
            name = format!("深圳市{brand}{word}（{}）有限公司", seq);
            names.insert(name.clone());
        }
        let rep = &persons[*g.pick(&adults)];
        let established = g.day_between(date(1995, 1, 1), date(2026, 9, 30));
        let street = g.rng.random_range(0..g.streets.len());
        let status = *g.pick(&["存续", "存续", "存续", "在业", "注销", "吊销"]);
        let capital = fmt_f(g.rng.random_range(10.0..5000.0));
        rows.push(
            uscc.clone(),
            vec![
                uscc.clone(),
                name.clone(),
                rep.name.clone(),
                rep.id_no.clone(),
                industry.into(),
                capital,
                established.to_string(),
                g.streets[street].code.clone(),
                status.into(),
            ],
        );
        enterprises.push(Enterprise {
            uscc,
            name,
            established,
        });
    }
    let ent_res = "440310-SC-0001";
    g.plant_check_digits(&mut rows, ent_res, 0, "uscc", 0.005, "GB 32100", first_cell);
    emit(&mut files, &res(ent_res)?, &rows)?;

    // 房屋.
    let n_houses = scaled(0.4);
    let mut rows = Rows::new();
    for seq in 0..n_houses {
        let (street, community) = g.place();
        let s = g.streets[street].clone();
        let unit_no = format!(
            "{}{:03}GB{:05}F{:04}{:04}",
            s.code,
            community + 1,
            seq / 40 + 1,
            (seq % 40) / 8 + 1,
            seq % 8 + 1
        );
        let owner = persons[*g.pick(&adults)].id_no.clone();
        let address = g.address(street, community);
        let use_type = *g.pick(&["住宅", "住宅", "住宅", "商业", "办公", "工业", "公共服务"]);
        let area = fmt_f(g.rng.random_range(30.0..300.0));
        let built = g.rng.random_range(1985..=2025).to_string();
        let community_code = s.communities[community].0.clone();
        rows.push(
            unit_no.clone(),
            vec![
                unit_no,
                address,
                s.code.clone(),
                community_code,
                use_type.into(),
                area,
                owner,
                built,
            ],
        );
    }
    let house_res = "440310-ZJ-0001";
    // Owners unknown to the population register (valid IDs of nobody registered here).
    let n_unknown = (rows.cells.len() as f64 * 0.005).round() as usize;
    let picked = g.pick_rows(rows.cells.len(), n_unknown);
    let mut keys = Vec::new();
    for i in picked {
        let stranger = g.resident_id(date(1980, 5, 5), '1');
        rows.cells[i][6] = stranger;
        keys.push(rows.keys[i].clone());
    }
    g.record(
        house_res,
        "owner_id",
        "unknown_reference",
        "owner's ID number is valid but not in 人口基础信息",
        keys,
    );
    g.plant_missing(&mut rows, house_res, 5, "floor_area", 0.01);
    emit(&mut files, &res(house_res)?, &rows)?;

    // 电子证照 (JSON lines).
    let n_lic = scaled(0.3);
    let mut rows = Rows::new();
    let types = [
        ("居民身份证", "深圳市公安局坪山分局", 20),
        ("居住证", "深圳市公安局坪山分局", 3),
        ("结婚证", "坪山区民政局", 0),
        ("不动产权证书", "深圳市规划和自然资源局坪山管理局", 0),
        ("残疾人证", "坪山区残疾人联合会", 10),
    ];
    for seq in 0..n_lic {
        let (kind, issuer, years) = *g.pick(&types);
        let holder = persons[g.rng.random_range(0..persons.len())].id_no.clone();
        let issued = g.day_between(date(2010, 1, 1), date(2026, 10, 31));
        let valid_until = if years == 0 {
            String::new()
        } else {
            date(issued.year() + years, issued.month(), 1).to_string()
        };
        let no = format!("4403102{:02}{:09}", issued.year() % 100, seq + 1);
        rows.push(
            no.clone(),
            vec![
                no,
                kind.into(),
                holder,
                issuer.into(),
                issued.to_string(),
                valid_until,
            ],
        );
    }
    let lic_res = "440310-ZS-0001";
    g.plant_missing(&mut rows, lic_res, 2, "holder_id", 0.005);
    emit(&mut files, &res(lic_res)?, &rows)?;

    // 公共信用: ratings of 60% of enterprises; some names disagree with the register.
    let mut rows = Rows::new();
    for e in &enterprises {
        if !g.rng.random_bool(0.6) {
            continue;
        }
        let level = *g.pick(&["A", "A", "B", "B", "B", "C", "D"]);
        let list = match level {
            "A" => "红名单",
            "D" => "黑名单",
            "C" => "重点关注名单",
            _ => "一般",
        };
        let on = g.day_between(e.established.max(date(2015, 1, 1)), date(2026, 10, 31));
        rows.push(
            e.uscc.clone(),
            vec![
                e.uscc.clone(),
                e.name.clone(),
                level.into(),
                list.into(),
                on.to_string(),
            ],
        );
    }
    let credit_res = "440310-FG-0001";
    plant_name_conflicts(&mut g, &mut rows, credit_res, 0.02);
    emit(&mut files, &res(credit_res)?, &rows)?;

    // 社保参保 (GBK): 70% of working-age persons, 1-3 insurance types.
    let mut rows = Rows::new();
    let mut insured = Vec::new();
    for p in &persons {
        if !(1966..=2008).contains(&p.birth.year()) || !g.rng.random_bool(0.7) {
            continue;
        }
        let employer = g.pick(&enterprises).uscc.clone();
        let base = g.rng.random_range(2360.0..35000.0);
        let kinds = g.rng.random_range(1..=3);
        insured.push((p.id_no.clone(), employer.clone(), base));
        for kind in INSURANCE.iter().take(kinds) {
            let status = *g.pick(&["正常参保", "正常参保", "正常参保", "暂停参保", "终止参保"]);
            let on = g.day_between(date(2008, 1, 1), date(2026, 10, 1));
            rows.push(
                format!("{}|{kind}", p.id_no),
                vec![
                    p.id_no.clone(),
                    p.name.clone(),
                    (*kind).into(),
                    employer.clone(),
                    status.into(),
                    on.to_string(),
                    fmt_f(base),
                ],
            );
        }
    }
    let si_res = "440310-RS-0001";
    g.plant_check_digits(&mut rows, si_res, 0, "id_no", 0.005, "GB 11643", |c| {
        format!("{}|{}", c[0], c[2])
    });
    plant_person_name_conflicts(&mut g, &mut rows, si_res, 0.01);
    g.plant_missing(&mut rows, si_res, 3, "employer_uscc", 0.01);
    g.plant_duplicates(&mut rows, si_res, 0.003);
    emit(&mut files, &res(si_res)?, &rows)?;

    // 出生医学证明.
    let mothers: Vec<usize> = (0..persons.len())
        .filter(|&i| persons[i].sex == '2' && (1981..=2004).contains(&persons[i].birth.year()))
        .collect();
    let n_births = scaled(0.01);
    let mut rows = Rows::new();
    for seq in 0..n_births {
        let mother = &persons[*g.pick(&mothers)];
        let sex = if g.rng.random_bool(0.52) { '1' } else { '2' };
        let child = format!(
            "{}{}",
            mother.name.chars().next().unwrap_or('王'),
            g.pick(GIVEN)
        );
        let born = g.day_between(date(2023, 1, 1), date(2026, 10, 31));
        let hospital = *g.pick(&[
            "深圳市坪山区人民医院",
            "深圳市坪山区妇幼保健院",
            "深圳市坪山区中医院",
        ]);
        let no = format!("Q44{:08}", 31_000_000 + seq);
        let community = g.streets[mother.street].communities[mother.community]
            .0
            .clone();
        rows.push(
            no.clone(),
            vec![
                no,
                child,
                sex.to_string(),
                born.to_string(),
                mother.id_no.clone(),
                hospital.into(),
                community,
            ],
        );
    }
    emit(&mut files, &res("440310-WJ-0001")?, &rows)?;

    // 网格事件.
    let categories = [
        ("市容环境", "占道经营、乱堆乱放，影响通行"),
        ("安全隐患", "电动自行车楼道充电，存在火灾隐患"),
        ("矛盾纠纷", "邻里噪音纠纷，需社区调解"),
        ("消防安全", "消防通道被占用"),
        ("违法建设", "楼顶加建铁皮房"),
        ("环境污染", "餐饮油烟直排扰民"),
        ("公共设施", "路灯损坏、井盖缺失"),
    ];
    let n_events = scaled(0.2);
    let mut rows = Rows::new();
    for seq in 0..n_events {
        let (street, community) = g.place();
        let (category, text) = *g.pick(&categories);
        let day = g.day_between(date(2026, 1, 1), date(2026, 10, 31));
        let at = format!(
            "{day}T{:02}:{:02}:00+08:00",
            g.rng.random_range(7..22),
            g.rng.random_range(0..60)
        );
        let status = *g.pick(&["已办结", "已办结", "已办结", "处置中", "已受理"]);
        let id = format!("WG{}{:06}", day.format("%Y%m%d"), seq);
        let s = &g.streets[street];
        let (s_code, c_code, place) = (
            s.code.clone(),
            s.communities[community].0.clone(),
            format!("{}{}", s.name, s.communities[community].1),
        );
        let reporter = g.mobile();
        rows.push(
            id.clone(),
            vec![
                id,
                s_code,
                c_code,
                category.into(),
                format!("{place}：{text}"),
                reporter,
                at,
                status.into(),
            ],
        );
    }
    let ev_res = "440310-ZS-0002";
    let n_bad = (rows.cells.len() as f64 * 0.005).round() as usize;
    let picked = g.pick_rows(rows.cells.len(), n_bad);
    let mut keys = Vec::new();
    for i in picked {
        // Street 009 does not exist in Pingshan.
        rows.cells[i][2] = format!("440310009{:03}", g.rng.random_range(1..20));
        keys.push(rows.keys[i].clone());
    }
    g.record(
        ev_res,
        "community_code",
        "invalid_code",
        "community code not in GB/T 2260",
        keys,
    );
    emit(&mut files, &res(ev_res)?, &rows)?;

    // 物联感知设备 and readings.
    let device_types = [
        ("烟感", "YG", "烟雾浓度", 0.0, 0.12, 0.1),
        ("水位计", "SW", "水位", 0.2, 3.5, 3.0),
        ("井盖", "JG", "倾角", 0.0, 30.0, 15.0),
        ("智慧灯杆", "DG", "电流", 0.5, 8.0, 7.5),
        ("空气质量", "KQ", "PM2.5", 5.0, 160.0, 115.0),
    ];
    let n_devices = scaled(0.04);
    let mut rows = Rows::new();
    let mut devices = Vec::new();
    for seq in 0..n_devices {
        let t = g.rng.random_range(0..device_types.len());
        let (kind, code, ..) = device_types[t];
        let (street, community) = g.place();
        let id = format!("PS-{code}-{:06}", seq + 1);
        let lng = format!("{:.6}", g.rng.random_range(114.30..114.42));
        let lat = format!("{:.6}", g.rng.random_range(22.64..22.76));
        let on = g.day_between(date(2019, 1, 1), date(2026, 6, 30));
        let s = &g.streets[street];
        rows.push(
            id.clone(),
            vec![
                id.clone(),
                kind.into(),
                s.code.clone(),
                s.communities[community].0.clone(),
                lng,
                lat,
                on.to_string(),
            ],
        );
        devices.push((id, t));
    }
    emit(&mut files, &res("440310-YJ-0001")?, &rows)?;
    let mut rows = Rows::new();
    for (id, t) in &devices {
        let (_, _, metric, lo, hi, alarm_at) = device_types[*t];
        for h in 0..50 {
            let at = format!("2026-10-{:02}T{:02}:00:00+08:00", 1 + h / 24, h % 24);
            let v: f64 = g.rng.random_range(lo..hi);
            rows.push(
                format!("{id}|{at}"),
                vec![
                    id.clone(),
                    at,
                    metric.into(),
                    format!("{v:.3}"),
                    (v >= alarm_at).to_string(),
                ],
            );
        }
    }
    let rd_res = "440310-YJ-0002";
    g.plant_missing(&mut rows, rd_res, 3, "value", 0.01);
    g.plant_duplicates(&mut rows, rd_res, 0.002);
    emit(&mut files, &res(rd_res)?, &rows)?;

    // Back-flow from the city: contributions (GBK) for insured persons, three months.
    let mut rows = Rows::new();
    for (id_no, employer, base) in &insured {
        for month in ["2026-07", "2026-08", "2026-09"] {
            rows.push(
                format!("{id_no}|{month}"),
                vec![
                    id_no.clone(),
                    month.into(),
                    fmt_f(base * 0.08),
                    employer.clone(),
                ],
            );
        }
    }
    g.plant_check_digits(
        &mut rows,
        "4403-RS-0001",
        0,
        "id_no",
        0.003,
        "GB 11643",
        |c| format!("{}|{}", c[0], c[1]),
    );
    emit(&mut files, &res("4403-RS-0001")?, &rows)?;

    // Back-flow: registrations (GBK), names of 2% disagree with the district register.
    let mut rows = Rows::new();
    for e in &enterprises {
        if !g.rng.random_bool(0.4) {
            continue;
        }
        rows.push(
            e.uscc.clone(),
            vec![
                e.uscc.clone(),
                e.name.clone(),
                "设立登记".into(),
                e.established.to_string(),
            ],
        );
    }
    plant_name_conflicts(&mut g, &mut rows, "4403-SC-0001", 0.02);
    emit(&mut files, &res("4403-SC-0001")?, &rows)?;

    let manifest = Manifest {
        seed: options.seed,
        scale: options.scale,
        files,
        defects: g.defects,
    };
    let path = out.join("manifest.json");
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| GenerateError::Io {
        path: path.clone(),
        source: std::io::Error::other(e),
    })?;
    std::fs::write(&path, text).map_err(|source| GenerateError::Io { path, source })?;
    Ok(manifest)
}

/// 数据打架 on enterprise names: the replica writes the name the way another system did.
fn plant_name_conflicts(g: &mut Generator, rows: &mut Rows, resource: &str, rate: f64) {
    let n = (rows.cells.len() as f64 * rate).round() as usize;
    let picked = g.pick_rows(rows.cells.len(), n);
    let mut keys = Vec::new();
    for i in picked {
        let name = rows.cells[i][1].clone();
        rows.cells[i][1] = if name.ends_with("有限公司") && !name.ends_with("有限责任公司")
        {
            format!("{}有限责任公司", name.trim_end_matches("有限公司"))
        } else {
            format!("{name}（旧名）")
        };
        keys.push(rows.keys[i].clone());
    }
    g.record(
        resource,
        "org_name",
        "conflict",
        "organisation name disagrees with 法人基础信息",
        keys,
    );
}

/// 数据打架 on personal names in a replica.
fn plant_person_name_conflicts(g: &mut Generator, rows: &mut Rows, resource: &str, rate: f64) {
    let n = (rows.cells.len() as f64 * rate).round() as usize;
    let picked = g.pick_rows(rows.cells.len(), n);
    let mut keys = Vec::new();
    for i in picked {
        let old = rows.cells[i][1].clone();
        let mut new = g.name();
        while new == old {
            new = g.name();
        }
        rows.cells[i][1] = new;
        keys.push(rows.keys[i].clone());
    }
    g.record(
        resource,
        "name",
        "conflict",
        "name disagrees with 人口基础信息 for the same ID number",
        keys,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use zhongshu_catalog::validators::check_resident_id;

    #[test]
    fn deterministic_and_consistent() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let opts = Options {
            scale: 0.01,
            seed: 7,
        };
        let ma = generate(a.path(), opts, |_, _| {}).unwrap();
        let mb = generate(b.path(), opts, |_, _| {}).unwrap();
        assert_eq!(ma, mb);
        for f in &ma.files {
            let x = std::fs::read(a.path().join(&f.file)).unwrap();
            let y = std::fs::read(b.path().join(&f.file)).unwrap();
            assert!(x == y, "{} differs between runs", f.file);
        }
        let persons = ma
            .files
            .iter()
            .find(|f| f.resource == "440310-GA-0001")
            .unwrap();
        assert_eq!(persons.rows, 500);

        // Every person row's ID encodes its birth date and sex, except the planted ones.
        let bad: HashSet<String> = ma
            .defect("440310-GA-0001", "check_digit")
            .unwrap()
            .keys
            .iter()
            .cloned()
            .collect();
        assert_eq!(bad.len(), 1);
        let mut reader = csv::Reader::from_path(a.path().join("gaj/persons.csv")).unwrap();
        let mut checked = 0;
        for row in reader.records() {
            let row = row.unwrap();
            match check_resident_id(&row[0]) {
                Ok(parts) => {
                    assert_eq!(parts.birth_date, &row[3]);
                    assert_eq!(parts.sex_code.to_string(), &row[2]);
                    assert_eq!(parts.division, &row[4]);
                    checked += 1;
                }
                Err(_) => assert!(bad.contains(&row[0]), "unplanted bad ID {}", &row[0]),
            }
        }
        assert_eq!(checked, 499);
    }

    #[test]
    fn gbk_files_are_gbk() {
        let dir = tempfile::tempdir().unwrap();
        let m = generate(
            dir.path(),
            Options {
                scale: 0.01,
                seed: 1,
            },
            |_, _| {},
        )
        .unwrap();
        let gbk: Vec<_> = m
            .files
            .iter()
            .filter(|f| f.encoding == Encoding::Gbk)
            .collect();
        assert!(gbk.len() >= 4);
        let mut chinese = 0;
        for f in gbk {
            let bytes = std::fs::read(dir.path().join(&f.file)).unwrap();
            if !bytes.is_ascii() {
                // Chinese text in GBK is never valid UTF-8.
                assert!(
                    std::str::from_utf8(&bytes).is_err(),
                    "{} should not be UTF-8",
                    f.file
                );
                chinese += 1;
            }
            let (text, _, bad) = encoding_rs::GBK.decode(&bytes);
            assert!(!bad);
            assert!(text.lines().count() as u64 > f.rows);
        }
        assert!(chinese >= 3, "only {chinese} GBK files carry Chinese text");
    }

    #[test]
    fn rejects_bad_scale() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            generate(
                dir.path(),
                Options {
                    scale: 0.0,
                    seed: 1
                },
                |_, _| {}
            )
            .is_err()
        );
    }
}

//! Writes a population-like CSV of N rows and 20 columns in GBK, for the ingest benchmark.
//!
//! ```text
//! popgen --rows 10000000 --out pop.csv
//! ```
//! Rows are deterministic (seeded); about 1 in 200 ID numbers carries a wrong check digit and
//! about 1 in 100 mobile numbers is malformed, so validation has real work to do.

use anyhow::{Context, Result};
use clap::Parser;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::io::{BufWriter, Write};
use zhongshu_catalog::reference::SURNAMES;
use zhongshu_catalog::validators::resident_id_check_char;

#[derive(Parser, Debug)]
struct Args {
    /// Rows to write.
    #[arg(long, default_value_t = 10_000_000)]
    rows: u64,
    /// Output file.
    #[arg(long)]
    out: std::path::PathBuf,
}

/// The header (20 columns).
pub const HEADER: &str = "id_no,name,sex,birth_date,native_division,mobile,household_address,street_code,community_code,registered_on,education,marital_status,ethnicity,occupation,employer_uscc,monthly_income,insured,height_cm,updated_at,remark";

const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
];
const EDUCATION: &[&str] = &[
    "小学",
    "初中",
    "高中",
    "大专",
    "本科",
    "硕士研究生",
    "博士研究生",
];
const MARITAL: &[&str] = &["未婚", "已婚", "离婚", "丧偶"];
const ETHNIC: &[&str] = &[
    "汉族",
    "汉族",
    "汉族",
    "壮族",
    "回族",
    "满族",
    "苗族",
    "土家族",
];
const OCCUPATION: &[&str] = &[
    "工人",
    "职员",
    "教师",
    "医生",
    "个体经营",
    "自由职业",
    "退休",
    "学生",
];
const STREETS: &[&str] = &[
    "440310001",
    "440310002",
    "440310003",
    "440310004",
    "440310005",
    "440310006",
];
const DIVISIONS: &[&str] = &[
    "440310", "440307", "440306", "430102", "360102", "450102", "510104", "411302",
];

fn main() -> Result<()> {
    let args = Args::parse();
    let file = std::fs::File::create(&args.out).with_context(|| args.out.display().to_string())?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let mut rng = ChaCha8Rng::seed_from_u64(11643);
    let mut line = String::with_capacity(512);
    let mut gbk = Vec::with_capacity(1024);
    let mut encoder = encoding_rs::GBK.new_encoder();
    let mut write = |text: &str, out: &mut BufWriter<std::fs::File>| -> Result<()> {
        gbk.clear();
        gbk.reserve(text.len() * 2);
        let (result, _) =
            encoder.encode_from_utf8_to_vec_without_replacement(text, &mut gbk, false);
        anyhow::ensure!(
            matches!(result, encoding_rs::EncoderResult::InputEmpty),
            "text not representable in GBK"
        );
        out.write_all(&gbk)?;
        Ok(())
    };
    write(&format!("{HEADER}\n"), &mut out)?;
    for n in 0..args.rows {
        line.clear();
        let year = rng.random_range(1940..2020);
        let (month, day) = (rng.random_range(1..=12), rng.random_range(1..=28));
        let sex = if rng.random_bool(0.5) { '1' } else { '2' };
        let division = DIVISIONS[rng.random_range(0..DIVISIONS.len())];
        let mut seq = (n % 1000) as u32;
        if (seq % 2 == 1) != (sex == '1') {
            seq = (seq + 1) % 1000;
        }
        let first17 = format!("{division}{year:04}{month:02}{day:02}{seq:03}");
        let mut check = resident_id_check_char(&first17).unwrap_or('0');
        if rng.random_ratio(1, 200) {
            check = if check == '0' { '1' } else { '0' };
        }
        let surname = SURNAMES[rng.random_range(0..40)];
        let given = GIVEN[rng.random_range(0..GIVEN.len())];
        let mobile = if rng.random_ratio(1, 100) {
            "1234".to_owned()
        } else {
            format!("13{:09}", rng.random_range(0..1_000_000_000u64))
        };
        let street = STREETS[rng.random_range(0..STREETS.len())];
        let community = format!("{street}{:03}", rng.random_range(1..=5));
        use std::fmt::Write as _;
        let _ = writeln!(
            line,
            "{first17}{check},{surname}{given},{sex},{year:04}-{month:02}-{day:02},{division},{mobile},广东省深圳市坪山区坪山大道{}号{}栋,{street},{community},2020-01-{:02},{},{},{},{},91440310MA5F{:05}X,{:.2},{},{},2026-11-01T08:00:00+08:00,",
            rng.random_range(1..500),
            rng.random_range(1..30),
            rng.random_range(1..=28),
            EDUCATION[rng.random_range(0..EDUCATION.len())],
            MARITAL[rng.random_range(0..MARITAL.len())],
            ETHNIC[rng.random_range(0..ETHNIC.len())],
            OCCUPATION[rng.random_range(0..OCCUPATION.len())],
            rng.random_range(0..100_000),
            rng.random_range(2360.0..50000.0),
            rng.random_bool(0.8),
            rng.random_range(140..200),
        );
        write(&line, &mut out)?;
    }
    out.flush()?;
    Ok(())
}

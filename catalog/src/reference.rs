//! Reference data compiled into the binary: GB/T 2260 division codes and common Chinese
//! surnames.
//!
//! The division lists are copies of the public GB/T 2260 tables (see
//! `reference/gb2260/SOURCE.md`); zhongshu needs them at run time for code-list checks, for the
//! address part of resident ID numbers and for the demo data, so they are embedded rather than
//! read from a path that may not exist on a server.

use std::collections::HashMap;
use std::sync::OnceLock;

const PROVINCES: &str = include_str!("../reference/gb2260/provinces.csv");
const CITIES: &str = include_str!("../reference/gb2260/cities.csv");
const COUNTIES: &str = include_str!("../reference/gb2260/counties.csv");
const SHENZHEN_STREETS: &str = include_str!("../reference/gb2260/shenzhen-streets.csv");
const SHENZHEN_COMMUNITIES: &str = include_str!("../reference/gb2260/shenzhen-communities.csv");

/// One administrative division.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Division {
    /// The GB/T 2260 code: 2 digits (province), 4 (city), 6 (county/district), 9 (street) or
    /// 12 (community).
    pub code: String,
    /// The official name.
    pub name: String,
    /// The code of the enclosing division, if any.
    pub parent: Option<String>,
}

/// The division table: every province, city and county of China and every street and community
/// of Shenzhen.
#[derive(Debug)]
pub struct Divisions {
    by_code: HashMap<String, Division>,
}

fn parse_rows(text: &str, parent_column: Option<usize>) -> Vec<Division> {
    text.lines()
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let fields: Vec<&str> = line
                .split(',')
                .map(|f| f.trim().trim_matches('"'))
                .collect();
            Division {
                code: fields[0].to_owned(),
                name: fields[1].to_owned(),
                parent: parent_column
                    .and_then(|i| fields.get(i))
                    .map(|s| (*s).to_owned()),
            }
        })
        .collect()
}

impl Divisions {
    /// The embedded table, parsed once.
    pub fn get() -> &'static Divisions {
        static TABLE: OnceLock<Divisions> = OnceLock::new();
        TABLE.get_or_init(|| {
            let mut by_code = HashMap::new();
            let lists = [
                parse_rows(PROVINCES, None),
                parse_rows(CITIES, Some(2)),
                parse_rows(COUNTIES, Some(2)),
                parse_rows(SHENZHEN_STREETS, Some(2)),
                parse_rows(SHENZHEN_COMMUNITIES, Some(2)),
            ];
            for division in lists.into_iter().flatten() {
                by_code.insert(division.code.clone(), division);
            }
            Divisions { by_code }
        })
    }

    /// Looks a code up.
    pub fn lookup(&self, code: &str) -> Option<&Division> {
        self.by_code.get(code)
    }

    /// Whether the code is a known division.
    pub fn contains(&self, code: &str) -> bool {
        self.by_code.contains_key(code)
    }

    /// The direct children of a division, ordered by code.
    pub fn children(&self, code: &str) -> Vec<&Division> {
        let mut out: Vec<&Division> = self
            .by_code
            .values()
            .filter(|d| d.parent.as_deref() == Some(code))
            .collect();
        out.sort_by(|a, b| a.code.cmp(&b.code));
        out
    }

    /// The full name from province down, e.g. `广东省深圳市坪山区`.
    pub fn full_name(&self, code: &str) -> Option<String> {
        let mut parts = Vec::new();
        let mut current = self.lookup(code);
        while let Some(d) = current {
            if d.name != "市辖区" {
                parts.push(d.name.clone());
            }
            current = d.parent.as_deref().and_then(|p| self.lookup(p));
        }
        if parts.is_empty() {
            return None;
        }
        parts.reverse();
        Some(parts.concat())
    }

    /// Every division whose code has `digits` digits, ordered by code.
    pub fn with_code_length(&self, digits: usize) -> Vec<&Division> {
        let mut out: Vec<&Division> = self
            .by_code
            .values()
            .filter(|d| d.code.len() == digits)
            .collect();
        out.sort_by(|a, b| a.code.cmp(&b.code));
        out
    }

    /// Number of known codes.
    pub fn len(&self) -> usize {
        self.by_code.len()
    }

    /// Whether the table is empty (it never is).
    pub fn is_empty(&self) -> bool {
        self.by_code.is_empty()
    }
}

/// Common Chinese surnames (单姓 and a few 复姓), most frequent first. Used to recognise personal
/// names and to generate demo data.
pub const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林", "罗", "高", "郑", "梁", "谢", "宋", "唐", "许", "韩", "邓", "冯", "曹", "彭", "曾",
    "肖", "田", "董", "潘", "袁", "蔡", "蒋", "余", "于", "杜", "叶", "程", "魏", "苏", "吕", "丁",
    "任", "卢", "姚", "沈", "钟", "姜", "崔", "谭", "陆", "范", "汪", "廖", "石", "金", "韦", "贾",
    "夏", "付", "方", "邹", "熊", "白", "孟", "秦", "邱", "侯", "江", "尹", "薛", "闫", "段", "雷",
    "龙", "黎", "史", "陶", "贺", "毛", "郝", "顾", "龚", "邵", "万", "覃", "武", "钱", "戴", "严",
    "欧阳", "司马", "上官", "诸葛",
];

/// Whether `name` looks like a Chinese personal name: a known surname followed by one to three
/// Han characters.
pub fn looks_like_person_name(name: &str) -> bool {
    let chars: Vec<char> = name.chars().collect();
    if !(2..=4).contains(&chars.len()) || !chars.iter().all(|c| is_han(*c)) {
        return false;
    }
    SURNAMES.iter().any(|s| {
        let n = s.chars().count();
        name.starts_with(s) && chars.len() > n && chars.len() - n <= 3
    })
}

/// Whether `c` is a CJK unified ideograph.
pub fn is_han(c: char) -> bool {
    matches!(c as u32, 0x4E00..=0x9FFF | 0x3400..=0x4DBF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pingshan_is_known_with_its_streets() {
        let d = Divisions::get();
        assert_eq!(d.lookup("440310").map(|d| d.name.as_str()), Some("坪山区"));
        let streets: Vec<_> = d
            .children("440310")
            .iter()
            .map(|d| d.name.clone())
            .collect();
        assert!(streets.contains(&"坪山街道".to_owned()), "{streets:?}");
        assert!(d.len() > 4000);
        assert_eq!(d.full_name("440310").as_deref(), Some("广东省深圳市坪山区"));
    }

    #[test]
    fn person_names() {
        assert!(looks_like_person_name("王小明"));
        assert!(looks_like_person_name("欧阳娜娜"));
        assert!(!looks_like_person_name("坪山区"));
        assert!(!looks_like_person_name("王"));
        assert!(!looks_like_person_name("Wang"));
    }
}

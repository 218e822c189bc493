//! Sensitive-data discovery: from a sample of a column's values, suggest the data element it
//! carries, its category and its grade, with a confidence.
//!
//! Each detector recognises one kind of value by its rule (a check digit where the standard has
//! one, a pattern otherwise). The detector that recognises the largest share of the sampled
//! non-empty values wins, if that share reaches [`MIN_CONFIDENCE`]. The result is a suggestion
//! only: a data officer accepts or rejects it.

use crate::classification::{Category, Grade};
use crate::reference::{is_han, looks_like_person_name};
use crate::validators::{
    check_bank_card, check_division_code, check_email, check_mobile, check_resident_id, check_uscc,
};

/// The smallest share of matching values that yields a suggestion.
pub const MIN_CONFIDENCE: f64 = 0.6;

/// A kind of sensitive or standard value.
#[derive(Debug, Clone, Copy)]
pub struct Detector {
    /// The data element suggested.
    pub element: &'static str,
    /// What a match means, for the evidence text.
    pub rule: &'static str,
    /// Suggested category.
    pub category: Category,
    /// Suggested grade.
    pub grade: Grade,
    matches: fn(&str) -> bool,
}

impl PartialEq for Detector {
    fn eq(&self, other: &Self) -> bool {
        self.element == other.element
    }
}

fn is_address(v: &str) -> bool {
    let han = v.chars().filter(|c| is_han(*c)).count();
    const MARKERS: [&str; 12] = [
        "省", "市", "区", "县", "街道", "路", "街", "号", "栋", "室", "社区", "村",
    ];
    han >= 6 && MARKERS.iter().filter(|m| v.contains(*m)).count() >= 2
}

/// The detectors, most specific first (a tie goes to the earlier one).
pub const DETECTORS: &[Detector] = &[
    Detector {
        element: "resident_id",
        rule: "pass the GB 11643 resident ID check digit",
        category: Category::PersonalSensitive,
        grade: Grade::L4,
        matches: |v| check_resident_id(v).is_ok(),
    },
    Detector {
        element: "uscc",
        rule: "pass the GB 32100 unified social credit code check digit",
        category: Category::Organisation,
        grade: Grade::L1,
        matches: |v| check_uscc(v).is_ok(),
    },
    Detector {
        element: "bank_card",
        rule: "are 16-19 digit numbers passing the Luhn check",
        category: Category::PersonalSensitive,
        grade: Grade::L4,
        matches: |v| check_bank_card(v).is_ok(),
    },
    Detector {
        element: "mobile",
        rule: "are mainland mobile numbers",
        category: Category::Personal,
        grade: Grade::L3,
        matches: |v| check_mobile(v).is_ok(),
    },
    Detector {
        element: "email",
        rule: "are e-mail addresses",
        category: Category::Personal,
        grade: Grade::L3,
        matches: |v| check_email(v).is_ok(),
    },
    Detector {
        element: "person_name",
        rule: "look like Chinese personal names (known surname + 1-3 characters)",
        category: Category::Personal,
        grade: Grade::L3,
        matches: looks_like_person_name,
    },
    Detector {
        element: "address",
        rule: "look like Chinese addresses",
        category: Category::Personal,
        grade: Grade::L3,
        matches: is_address,
    },
    Detector {
        element: "division_code",
        rule: "are GB/T 2260 division codes",
        category: Category::Public,
        grade: Grade::L1,
        matches: |v| check_division_code(v).is_ok(),
    },
];

/// What discovery found in one column.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// The detector that matched best.
    pub detector: Detector,
    /// Matching share of non-empty sampled values.
    pub confidence: f64,
    /// Human-readable evidence.
    pub evidence: String,
}

/// Classifies a column from sampled values (`None` and empty strings are ignored).
pub fn classify_sample<'a>(values: impl IntoIterator<Item = Option<&'a str>>) -> Option<Finding> {
    let values: Vec<&str> = values
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect();
    if values.is_empty() {
        return None;
    }
    let mut best: Option<(usize, &Detector)> = None;
    for detector in DETECTORS {
        let hits = values.iter().filter(|v| (detector.matches)(v)).count();
        if hits > 0 && best.is_none_or(|(b, _)| hits > b) {
            best = Some((hits, detector));
        }
    }
    let (hits, detector) = best?;
    let confidence = hits as f64 / values.len() as f64;
    (confidence >= MIN_CONFIDENCE).then(|| Finding {
        detector: *detector,
        confidence,
        evidence: format!("{hits}/{} sampled values {}", values.len(), detector.rule),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_ids_despite_a_few_bad_ones() {
        let mut v = vec![Some("11010519491231002X"); 9];
        v.push(Some("110105194912310021"));
        v.push(None);
        let f = classify_sample(v).unwrap();
        assert_eq!(f.detector.element, "resident_id");
        assert!((f.confidence - 0.9).abs() < 1e-9);
        assert!(f.evidence.starts_with("9/10"));
    }

    #[test]
    fn finds_other_kinds() {
        let f =
            |v: &[&str]| classify_sample(v.iter().map(|s| Some(*s))).map(|f| f.detector.element);
        assert_eq!(f(&["91110000710925462X"]), Some("uscc"));
        assert_eq!(f(&["13800138000", "13912345678"]), Some("mobile"));
        assert_eq!(f(&["王小明", "李娜", "欧阳修"]), Some("person_name"));
        assert_eq!(
            f(&["广东省深圳市坪山区坪山街道东纵路12号"]),
            Some("address")
        );
        assert_eq!(f(&["440310", "440310001"]), Some("division_code"));
        assert_eq!(f(&["4111111111111111"]), Some("bank_card"));
        assert_eq!(f(&["a@b.cn"]), Some("email"));
        assert_eq!(f(&["abc", "def"]), None);
        assert_eq!(f(&[]), None);
    }
}

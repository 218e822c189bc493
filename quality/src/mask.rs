//! Masking of failing examples kept in the metric history: a quality report shows enough of a
//! value to find the row, never more than its grade allows to anyone reading reports.

use zhongshu_catalog::Grade;

/// Masks `value` according to `grade`: L1 and L2 are shown, L3 keeps the first and last
/// characters (`张*`, `440310********1234`), L4 and above keep only the last four characters.
pub fn mask(grade: Grade, value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let n = chars.len();
    match grade {
        Grade::L1 | Grade::L2 => value.to_owned(),
        Grade::L3 => {
            let (head, tail) = match n {
                0..=1 => (n, 0),
                2..=3 => (1, 0),
                4..=8 => (1, 1),
                _ => (6.min(n / 3), 4),
            };
            chars[..head]
                .iter()
                .chain(std::iter::repeat_n(&'*', n - head - tail))
                .chain(&chars[n - tail..])
                .collect()
        }
        _ => {
            let tail = if n > 6 { 4 } else { 0 };
            std::iter::repeat_n('*', n - tail)
                .chain(chars[n - tail..].iter().copied())
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_by_grade() {
        assert_eq!(mask(Grade::L2, "失业保险"), "失业保险");
        assert_eq!(mask(Grade::L3, "张三"), "张*");
        assert_eq!(mask(Grade::L3, "440310199001011234"), "440310********1234");
        assert_eq!(mask(Grade::L4, "440310199001011234"), "**************1234");
        assert_eq!(mask(Grade::L4, "5000"), "****");
    }
}

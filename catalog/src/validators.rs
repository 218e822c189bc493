//! Validators for the standard data elements: GB 11643 resident identity numbers, GB 32100
//! unified social credit codes, Luhn bank card numbers, mobile numbers, e-mail, GB/T 2260
//! division codes.
//!
//! They are pure functions so that sensitive-data discovery, quality rules and the demo
//! generator share one definition of "valid".

use crate::reference::Divisions;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Why a value failed validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    /// Wrong length or characters.
    #[error("malformed: {0}")]
    Malformed(&'static str),
    /// Well formed, but the check digit does not match.
    #[error("check digit is {found}, expected {expected}")]
    CheckDigit {
        /// The digit in the value.
        found: char,
        /// The digit the standard computes.
        expected: char,
    },
    /// An embedded date is impossible.
    #[error("invalid birth date {0}")]
    BirthDate(String),
    /// An embedded or whole division code is unknown.
    #[error("unknown GB/T 2260 division code {0}")]
    UnknownDivision(String),
}

/// The validators a data element can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Validator {
    /// GB 11643-1999 citizen identity number (18 characters, ISO 7064 MOD 11-2 check).
    ResidentId,
    /// GB 32100-2015 unified social credit code (18 characters, MOD 31 check).
    Uscc,
    /// Bank card number, 16 to 19 digits, Luhn check.
    BankCard,
    /// Mainland mobile number, 11 digits starting with 1[3-9].
    Mobile,
    /// E-mail address.
    Email,
    /// GB/T 2260 division code.
    DivisionCode,
    /// GB/T 2261.1 sex code: 0 unknown, 1 male, 2 female, 9 unspecified.
    SexCode,
}

impl Validator {
    /// Every validator.
    pub const ALL: &'static [Validator] = &[
        Validator::ResidentId,
        Validator::Uscc,
        Validator::BankCard,
        Validator::Mobile,
        Validator::Email,
        Validator::DivisionCode,
        Validator::SexCode,
    ];

    /// Stable code.
    pub fn as_code(self) -> &'static str {
        match self {
            Validator::ResidentId => "resident_id",
            Validator::Uscc => "uscc",
            Validator::BankCard => "bank_card",
            Validator::Mobile => "mobile",
            Validator::Email => "email",
            Validator::DivisionCode => "division_code",
            Validator::SexCode => "sex_code",
        }
    }

    /// Checks one value.
    pub fn check(self, value: &str) -> Result<(), Invalid> {
        match self {
            Validator::ResidentId => check_resident_id(value).map(|_| ()),
            Validator::Uscc => check_uscc(value),
            Validator::BankCard => check_bank_card(value),
            Validator::Mobile => check_mobile(value),
            Validator::Email => check_email(value),
            Validator::DivisionCode => check_division_code(value),
            Validator::SexCode => match value {
                "0" | "1" | "2" | "9" => Ok(()),
                _ => Err(Invalid::Malformed(
                    "sex code must be 0, 1, 2 or 9 (GB/T 2261.1)",
                )),
            },
        }
    }
}

impl fmt::Display for Validator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_code())
    }
}

impl FromStr for Validator {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Validator::ALL
            .iter()
            .copied()
            .find(|v| v.as_code() == s)
            .ok_or_else(|| format!("unknown validator `{s}`"))
    }
}

const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// The GB 11643 check character for the first 17 digits of a resident ID number.
pub fn resident_id_check_char(first17: &str) -> Option<char> {
    if first17.len() != 17 || !first17.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sum: u32 = first17
        .bytes()
        .zip(ID_WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    Some(ID_CHECK[(sum % 11) as usize])
}

/// What a valid resident ID number encodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResidentIdParts {
    /// The GB/T 2260 code of the place of first registration (first 6 digits).
    pub division: String,
    /// Birth date as `YYYY-MM-DD`.
    pub birth_date: String,
    /// GB/T 2261.1 sex code: `1` male (odd sequence digit), `2` female.
    pub sex_code: char,
}

/// Checks an 18-character resident ID number (GB 11643) and returns what it encodes.
///
/// The address part is checked for shape only: numbers issued under codes that GB/T 2260 has
/// since retired stay valid for life.
pub fn check_resident_id(value: &str) -> Result<ResidentIdParts, Invalid> {
    let bytes = value.as_bytes();
    if bytes.len() != 18 {
        return Err(Invalid::Malformed(
            "resident ID number must have 18 characters",
        ));
    }
    if !bytes[..17].iter().all(u8::is_ascii_digit) {
        return Err(Invalid::Malformed("the first 17 characters must be digits"));
    }
    let last = bytes[17].to_ascii_uppercase() as char;
    if !(last.is_ascii_digit() || last == 'X') {
        return Err(Invalid::Malformed(
            "the last character must be a digit or X",
        ));
    }
    let year: u32 = value[6..10]
        .parse()
        .map_err(|_| Invalid::Malformed("year"))?;
    let month: u32 = value[10..12]
        .parse()
        .map_err(|_| Invalid::Malformed("month"))?;
    let day: u32 = value[12..14]
        .parse()
        .map_err(|_| Invalid::Malformed("day"))?;
    if !(1900..=2100).contains(&year) || !valid_date(year, month, day) {
        return Err(Invalid::BirthDate(value[6..14].to_owned()));
    }
    let expected = resident_id_check_char(&value[..17]).ok_or(Invalid::Malformed("digits"))?;
    if last != expected {
        return Err(Invalid::CheckDigit {
            found: last,
            expected,
        });
    }
    let sequence_digit = bytes[16] - b'0';
    Ok(ResidentIdParts {
        division: value[..6].to_owned(),
        birth_date: format!("{year:04}-{month:02}-{day:02}"),
        sex_code: if sequence_digit % 2 == 1 { '1' } else { '2' },
    })
}

fn valid_date(year: u32, month: u32, day: u32) -> bool {
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

/// The 31 characters of GB 32100 (no I, O, S, V, Z).
pub const USCC_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// The GB 32100 check character for the first 17 characters of a unified social credit code.
pub fn uscc_check_char(first17: &str) -> Option<char> {
    if first17.len() != 17 {
        return None;
    }
    let mut sum = 0u32;
    for (b, w) in first17.bytes().zip(USCC_WEIGHTS) {
        let v = USCC_ALPHABET.iter().position(|&a| a == b)? as u32;
        sum += v * w;
    }
    let check = (31 - sum % 31) % 31;
    Some(USCC_ALPHABET[check as usize] as char)
}

/// Checks an 18-character unified social credit code (GB 32100).
pub fn check_uscc(value: &str) -> Result<(), Invalid> {
    if value.len() != 18 {
        return Err(Invalid::Malformed(
            "unified social credit code must have 18 characters",
        ));
    }
    if !value.bytes().all(|b| USCC_ALPHABET.contains(&b)) {
        return Err(Invalid::Malformed(
            "unified social credit code uses only 0-9 and A-Y without I, O, S, V, Z",
        ));
    }
    if !value[2..8].bytes().all(|b| b.is_ascii_digit()) {
        return Err(Invalid::Malformed("characters 3-8 must be a division code"));
    }
    let expected = uscc_check_char(&value[..17]).ok_or(Invalid::Malformed("characters"))?;
    let found = value.as_bytes()[17] as char;
    if found != expected {
        return Err(Invalid::CheckDigit { found, expected });
    }
    Ok(())
}

/// The Luhn check digit for a digit string (the number without its last digit).
pub fn luhn_check_digit(payload: &str) -> Option<char> {
    let mut sum = 0u32;
    for (i, b) in payload.bytes().rev().enumerate() {
        if !b.is_ascii_digit() {
            return None;
        }
        let mut d = u32::from(b - b'0');
        if i % 2 == 0 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    char::from_digit((10 - sum % 10) % 10, 10)
}

/// Checks a bank card number: 16 to 19 digits with a valid Luhn check digit.
pub fn check_bank_card(value: &str) -> Result<(), Invalid> {
    if !(16..=19).contains(&value.len()) || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Invalid::Malformed(
            "bank card number must have 16 to 19 digits",
        ));
    }
    let (payload, last) = value.split_at(value.len() - 1);
    let expected = luhn_check_digit(payload).ok_or(Invalid::Malformed("digits"))?;
    let found = last.chars().next().ok_or(Invalid::Malformed("digits"))?;
    if found != expected {
        return Err(Invalid::CheckDigit { found, expected });
    }
    Ok(())
}

/// Checks a mainland mobile number.
pub fn check_mobile(value: &str) -> Result<(), Invalid> {
    let b = value.as_bytes();
    if b.len() == 11
        && b[0] == b'1'
        && (b'3'..=b'9').contains(&b[1])
        && b.iter().all(u8::is_ascii_digit)
    {
        Ok(())
    } else {
        Err(Invalid::Malformed(
            "mobile number must be 11 digits starting with 13-19",
        ))
    }
}

/// Checks the shape of an e-mail address.
pub fn check_email(value: &str) -> Result<(), Invalid> {
    let Some((local, domain)) = value.split_once('@') else {
        return Err(Invalid::Malformed("e-mail address needs an @"));
    };
    let ok_local = !local.is_empty()
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._%+-".contains(&b));
    let ok_domain = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-".contains(&b));
    if ok_local && ok_domain {
        Ok(())
    } else {
        Err(Invalid::Malformed("not an e-mail address"))
    }
}

/// Checks a GB/T 2260 division code against the embedded list.
pub fn check_division_code(value: &str) -> Result<(), Invalid> {
    if !matches!(value.len(), 2 | 4 | 6 | 9 | 12) || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Invalid::Malformed(
            "division code must have 2, 4, 6, 9 or 12 digits",
        ));
    }
    if Divisions::get().contains(value) {
        Ok(())
    } else {
        Err(Invalid::UnknownDivision(value.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_id_check_digit_follows_gb11643() {
        // The worked example of GB 11643-1999.
        assert_eq!(resident_id_check_char("11010519491231002"), Some('X'));
        let parts = check_resident_id("11010519491231002X").unwrap();
        assert_eq!(parts.birth_date, "1949-12-31");
        assert_eq!(parts.sex_code, '2');
        assert!(matches!(
            check_resident_id("110105194912310021"),
            Err(Invalid::CheckDigit {
                found: '1',
                expected: 'X'
            })
        ));
        assert!(matches!(
            check_resident_id("110105194902310021"),
            Err(Invalid::BirthDate(_))
        ));
        assert!(check_resident_id("12345").is_err());
    }

    #[test]
    fn uscc_check_digit_follows_gb32100() {
        // A published code (国家电网有限公司).
        assert_eq!(uscc_check_char("91110000710925462"), Some('X'));
        assert!(check_uscc("91110000710925462X").is_ok());
        assert!(matches!(
            check_uscc("911100007109254621"),
            Err(Invalid::CheckDigit { .. })
        ));
        assert!(check_uscc("91110000710925462I").is_err());
    }

    #[test]
    fn luhn() {
        assert!(check_bank_card("4111111111111111").is_ok());
        assert!(check_bank_card("4111111111111112").is_err());
        assert_eq!(luhn_check_digit("621700000000000000"), Some('4'));
        assert!(check_bank_card("6217000000000000004").is_ok());
    }

    #[test]
    fn mobile_email_division() {
        assert!(check_mobile("13800138000").is_ok());
        assert!(check_mobile("12800138000").is_err());
        assert!(check_email("zhang.san@ps.gov.cn").is_ok());
        assert!(check_email("zhang.san@").is_err());
        assert!(check_division_code("440310").is_ok());
        assert!(check_division_code("440310001").is_ok());
        assert!(matches!(
            check_division_code("449999"),
            Err(Invalid::UnknownDivision(_))
        ));
    }
}

//! Validators as DataFusion functions, so that rules run as vectorised SQL over Delta tables:
//! `zs_valid_resident_id(v)`, `zs_valid_uscc(v)`, … (one per standard validator),
//! `zs_division_known(v)`, and `zs_id_birth(id)` / `zs_id_sex(id)` for the date (YYYY-MM-DD)
//! and GB/T 2261.1 sex code a resident ID number encodes.

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::error::Result;
use datafusion::logical_expr::{ColumnarValue, ScalarUDF, Volatility, create_udf};
use std::sync::Arc;
use zhongshu_catalog::reference::Divisions;
use zhongshu_catalog::validators::{Validator, check_resident_id};

/// Every standard validator, for naming its function.
pub const VALIDATORS: [Validator; 7] = [
    Validator::ResidentId,
    Validator::Uscc,
    Validator::BankCard,
    Validator::Mobile,
    Validator::Email,
    Validator::DivisionCode,
    Validator::SexCode,
];

/// The SQL function checking values with `validator`.
pub fn validator_function(validator: Validator) -> String {
    format!("zs_valid_{}", validator.as_code())
}

fn strings(value: &ColumnarValue, rows: usize) -> Result<ArrayRef> {
    let array = value.clone().into_array(rows)?;
    Ok(cast(&array, &DataType::Utf8)?)
}

fn rows_of(args: &[ColumnarValue]) -> usize {
    args.iter()
        .find_map(|a| match a {
            ColumnarValue::Array(a) => Some(a.len()),
            ColumnarValue::Scalar(_) => None,
        })
        .unwrap_or(1)
}

fn bool_udf(name: &str, test: impl Fn(&str) -> bool + Send + Sync + 'static) -> ScalarUDF {
    create_udf(
        name,
        vec![DataType::Utf8],
        DataType::Boolean,
        Volatility::Immutable,
        Arc::new(move |args: &[ColumnarValue]| {
            let rows = rows_of(args);
            let input = strings(&args[0], rows)?;
            let input = input.as_string::<i32>();
            let out: BooleanArray = input.iter().map(|v| v.map(&test)).collect();
            Ok(ColumnarValue::Array(Arc::new(out)))
        }),
    )
}

fn text_udf(
    name: &str,
    derive: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
) -> ScalarUDF {
    create_udf(
        name,
        vec![DataType::Utf8],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(move |args: &[ColumnarValue]| {
            let rows = rows_of(args);
            let input = strings(&args[0], rows)?;
            let input = input.as_string::<i32>();
            let out: StringArray = input.iter().map(|v| v.and_then(&derive)).collect();
            Ok(ColumnarValue::Array(Arc::new(out)))
        }),
    )
}

/// The quality functions (validators, ID decoding, value patterns), to register in the
/// system session that evaluates rules.
pub fn functions() -> Vec<ScalarUDF> {
    let mut out: Vec<ScalarUDF> = VALIDATORS
        .into_iter()
        .map(|validator| {
            bool_udf(&validator_function(validator), move |v| {
                validator.check(v).is_ok()
            })
        })
        .collect();
    out.push(bool_udf("zs_division_known", |v| {
        Divisions::get().contains(v)
    }));
    out.push(text_udf("zs_id_birth", |v| {
        check_resident_id(v).ok().map(|p| p.birth_date)
    }));
    out.push(text_udf("zs_id_sex", |v| {
        check_resident_id(v).ok().map(|p| p.sex_code.to_string())
    }));
    out.push(text_udf("zs_pattern", |v| Some(pattern(v))));
    out.push(text_udf("zs_sex_code", |v| {
        Some(crate::rule::sex_code(v).to_owned())
    }));
    out
}

/// Registers the quality functions with `add` (a system or a principal's session).
pub fn register(add: impl Fn(ScalarUDF)) {
    for f in functions() {
        add(f);
    }
}

/// A value's shape for profiling: a digit becomes `9`, a Latin letter `A`, a Han character
/// `汉`; anything else stays. `440310199001011234` → `999999999999999999`, `粤B12345` →
/// `汉A99999`.
pub fn pattern(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if c.is_ascii_digit() {
                '9'
            } else if c.is_ascii_alphabetic() {
                'A'
            } else if zhongshu_catalog::reference::is_han(c) {
                '汉'
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::SessionContext;

    #[tokio::test]
    async fn validators_run_as_sql() {
        let ctx = SessionContext::new();
        for f in functions() {
            ctx.register_udf(f);
        }
        let batches = ctx
            .sql(
                "SELECT zs_valid_resident_id('11010519491231002X') AS ok, \
                 zs_valid_resident_id('110105194912310021') AS bad, \
                 zs_id_birth('11010519491231002X') AS birth, zs_id_sex('11010519491231002X') AS sex, \
                 zs_division_known('440310') AS known, zs_division_known('449999') AS unknown",
            )
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches)
            .unwrap()
            .to_string();
        assert!(
            text.contains("| true | false | 1949-12-31 | 2   | true  | false   |"),
            "{text}"
        );
    }
}

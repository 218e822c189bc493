//! Scalar functions whose output can be far larger than their input, bounded before they run.
//!
//! DataFusion's memory pool accounts for what operators hold (hash tables, sorts, buffers), not
//! for the values a scalar function allocates: `repeat('x', 3000000000)` built a 3 GB string
//! outside every limit and was answered. The governed session therefore replaces each function
//! whose output grows with an argument — `repeat`, `lpad`, `rpad`, `array_repeat`, `range`,
//! `generate_series` — by a wrapper that computes, from the arguments of the batch at hand, how
//! much the call would build and refuses it above [`MAX_OUTPUT_BYTES`], before the inner
//! function allocates anything. Every other function's output is bounded by its input.

use datafusion::arrow::array::{Array, ArrayRef, Int64Array};
use datafusion::arrow::compute::{cast, kernels::length::length};
use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{Result, exec_err, resources_datafusion_err};
use datafusion::execution::FunctionRegistry;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl,
    Signature,
};
use datafusion::prelude::SessionContext;
use std::sync::Arc;

/// The most bytes one call (over one batch) of a growing function may build.
pub const MAX_OUTPUT_BYTES: u128 = 64 << 20;

/// How a function's output grows with its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Growth {
    /// `repeat(text, n)`: the text's length times n.
    Repeat,
    /// `lpad(text, n[, fill])`, `rpad`: n characters of up to 4 bytes.
    Pad,
    /// `array_repeat(element, n)`: n elements.
    ArrayRepeat,
    /// `range(stop)`, `range(start, stop[, step])`, `generate_series`: (stop − start) / step
    /// elements.
    Range,
}

/// Replaces the growing functions of `ctx` with bounded ones.
pub(crate) fn bound(ctx: &SessionContext) {
    for (name, growth) in [
        ("repeat", Growth::Repeat),
        ("lpad", Growth::Pad),
        ("rpad", Growth::Pad),
        ("array_repeat", Growth::ArrayRepeat),
        ("range", Growth::Range),
        ("generate_series", Growth::Range),
    ] {
        if let Ok(inner) = ctx.udf(name) {
            ctx.register_udf(ScalarUDF::new_from_impl(Bounded { inner, growth }));
        }
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Bounded {
    inner: Arc<ScalarUDF>,
    growth: Growth,
}

impl Bounded {
    /// The bytes the call would build.
    fn demand(&self, args: &[ColumnarValue], rows: usize) -> Result<u128> {
        let ints = |i: usize| -> Result<Option<Int64Array>> {
            let Some(value) = args.get(i) else {
                return Ok(None);
            };
            let array = value.to_array(rows)?;
            let array = cast(&array, &DataType::Int64)?;
            Ok(array.as_any().downcast_ref::<Int64Array>().cloned())
        };
        let at = |a: &Int64Array, row: usize| -> i128 {
            if a.is_null(row) {
                0
            } else {
                a.value(row) as i128
            }
        };
        let count = |a: &Option<Int64Array>, row: usize| -> u128 {
            a.as_ref().map_or(0, |a| at(a, row).max(0) as u128)
        };
        let rows_of = |a: &Option<Int64Array>| a.as_ref().map_or(0, Array::len);
        Ok(match self.growth {
            Growth::Repeat => {
                let text: ArrayRef = args[0].to_array(rows)?;
                let lengths = cast(&length(&text)?, &DataType::Int64)?;
                let lengths = lengths.as_any().downcast_ref::<Int64Array>().cloned();
                let times = ints(1)?;
                (0..rows_of(&times))
                    .map(|r| count(&lengths, r) * count(&times, r))
                    .sum()
            }
            Growth::Pad => {
                let n = ints(1)?;
                (0..rows_of(&n)).map(|r| count(&n, r) * 4).sum()
            }
            Growth::ArrayRepeat => {
                let n = ints(1)?;
                (0..rows_of(&n)).map(|r| count(&n, r) * 8).sum()
            }
            Growth::Range => {
                // Only integer ranges can be counted from their arguments; others pass.
                if args
                    .iter()
                    .any(|a| !a.data_type().is_integer() && !a.data_type().is_null())
                {
                    return Ok(0);
                }
                let (start, stop, step) = match args.len() {
                    1 => (None, ints(0)?, None),
                    2 => (ints(0)?, ints(1)?, None),
                    _ => (ints(0)?, ints(1)?, ints(2)?),
                };
                (0..rows_of(&stop))
                    .map(|r| {
                        let from = start.as_ref().map_or(0, |a| at(a, r));
                        let to = stop.as_ref().map_or(0, |a| at(a, r));
                        let by = step.as_ref().map_or(1, |a| at(a, r)).unsigned_abs().max(1);
                        (to - from).unsigned_abs() / by * 8
                    })
                    .sum()
            }
        })
    }
}

impl ScalarUDFImpl for Bounded {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.inner.return_type(arg_types)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        self.inner.return_field_from_args(args)
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.inner.coerce_types(arg_types)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.inner.documentation()
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        if args.args.is_empty() {
            return exec_err!("{} needs arguments", self.name());
        }
        let demand = self.demand(&args.args, args.number_rows)?;
        if demand > MAX_OUTPUT_BYTES {
            return Err(resources_datafusion_err!(
                "{} would build about {} MiB, more than the {} MiB one call may build; ask for \
                 less",
                self.name(),
                demand >> 20,
                MAX_OUTPUT_BYTES >> 20
            ));
        }
        self.inner.invoke_with_args(args)
    }
}

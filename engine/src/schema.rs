//! The mapping from catalog items (信息项) to Arrow and Delta schemas.
//!
//! The catalog declares logical types; this module is the one place that decides their physical
//! form, so that every table of a resource has the schema its items say.

use crate::error::{EngineError, Result};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use std::collections::HashMap;
use std::sync::Arc;
use zhongshu_catalog::Column;

/// The Arrow type of a catalog logical type.
pub fn arrow_type(logical: &str) -> Result<DataType> {
    Ok(match logical {
        "string" => DataType::Utf8,
        "int64" => DataType::Int64,
        "float64" => DataType::Float64,
        "date" => DataType::Date32,
        "timestamp" => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        "boolean" => DataType::Boolean,
        other => {
            return Err(EngineError::Schema(format!(
                "unknown logical type `{other}`"
            )));
        }
    })
}

/// The Arrow schema of a resource's items, with the Chinese title and element binding kept as
/// field metadata so that outside readers see them too.
pub fn arrow_schema(columns: &[Column]) -> Result<SchemaRef> {
    let fields = columns
        .iter()
        .map(|c| {
            let mut metadata = HashMap::from([
                ("comment".to_owned(), c.title.clone()),
                ("zhongshu.grade".to_owned(), c.grade.as_code().to_owned()),
            ]);
            if let Some(e) = &c.element {
                metadata.insert("zhongshu.element".to_owned(), e.to_string());
            }
            Ok(Field::new(&c.name, arrow_type(&c.data_type)?, true).with_metadata(metadata))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Arc::new(Schema::new(fields)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logical_types_map() {
        assert_eq!(arrow_type("date").unwrap(), DataType::Date32);
        assert!(arrow_type("decimal").is_err());
    }
}

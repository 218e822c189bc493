//! The domain rules of the catalog as pure functions, so that they can be read and tested on
//! their own and every store implementation applies the same ones.

use crate::classification::{BindingRole, Grade, OpenAttr};
use crate::error::{CatalogError, Result};
use crate::ids::ResourceId;
use crate::model::{Column, NewResource};
use std::collections::HashSet;

/// A resource's grade: the highest grade of its columns (就高从严); `None` without columns.
pub fn resource_grade(columns: &[Column]) -> Option<Grade> {
    columns.iter().map(|c| c.grade).max()
}

/// Refuses 无条件开放 for a resource with any column at L3 or above.
pub fn check_open_attr(
    resource: &ResourceId,
    open_attr: OpenAttr,
    columns: &[Column],
) -> Result<()> {
    if open_attr != OpenAttr::Unconditional {
        return Ok(());
    }
    if let Some(column) = columns
        .iter()
        .filter(|c| !c.grade.may_open_unconditionally())
        .max_by_key(|c| c.grade)
    {
        return Err(CatalogError::OpenAttrForbidden {
            resource: resource.clone(),
            grade: column.grade,
            column: column.name.clone(),
            open_attr,
        });
    }
    Ok(())
}

/// Identifiers used in URLs, SQL and paths: ASCII letters, digits, `_`, `-` and `.`.
pub fn check_identifier(what: &str, id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(CatalogError::Invalid {
            what: format!("{what} `{id}`"),
            reason: "use 1-128 ASCII letters, digits, `_`, `-` or `.`".into(),
        })
    }
}

/// Column names become Delta and SQL column names: lower-case ASCII snake case.
pub fn check_column_name(name: &str) -> Result<()> {
    let mut bytes = name.bytes();
    let ok = matches!(bytes.next(), Some(b'a'..=b'z' | b'_'))
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && name.len() <= 64;
    if ok {
        Ok(())
    } else {
        Err(CatalogError::Invalid {
            what: format!("column name `{name}`"),
            reason: "use lower-case ASCII snake case starting with a letter (put the Chinese \
                     name in the item title)"
                .into(),
        })
    }
}

/// Logical types a column may declare.
pub const DATA_TYPES: &[&str] = &["string", "int64", "float64", "date", "timestamp", "boolean"];

/// Checks a resource before registration: identifier, column names and types, one binding per
/// element within the resource, and the open attribute against the grade.
pub fn check_new_resource(new: &NewResource) -> Result<()> {
    check_identifier("resource code", new.id.as_str())?;
    if new.name.trim().is_empty() {
        return Err(CatalogError::Invalid {
            what: format!("resource {}", new.id),
            reason: "the name (资源名称) is empty".into(),
        });
    }
    let mut names = HashSet::new();
    let mut sources = HashSet::new();
    for column in &new.columns {
        check_column_name(&column.name)?;
        if !names.insert(column.name.as_str()) {
            return Err(CatalogError::Invalid {
                what: format!("resource {}", new.id),
                reason: format!("column `{}` appears twice", column.name),
            });
        }
        if !DATA_TYPES.contains(&column.data_type.as_str()) {
            return Err(CatalogError::Invalid {
                what: format!("column `{}`", column.name),
                reason: format!(
                    "type `{}` is not one of {}",
                    column.data_type,
                    DATA_TYPES.join(", ")
                ),
            });
        }
        if column.binding.is_some() != column.element.is_some() {
            return Err(CatalogError::Invalid {
                what: format!("column `{}`", column.name),
                reason: "a binding role needs a data element and a data element needs a role"
                    .into(),
            });
        }
        if column.binding == Some(BindingRole::Source)
            && let Some(element) = &column.element
            && !sources.insert(element.clone())
        {
            return Err(CatalogError::Invalid {
                what: format!("resource {}", new.id),
                reason: format!("two columns declare themselves source of data element {element}"),
            });
        }
    }
    check_open_attr(&new.id, new.open_attr, &new.columns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classification::Category;

    fn column(name: &str, grade: Grade) -> Column {
        Column {
            name: name.into(),
            title: name.into(),
            data_type: "string".into(),
            nullable: true,
            is_key: false,
            description: String::new(),
            category: Category::Public,
            grade,
            element: None,
            binding: None,
        }
    }

    #[test]
    fn grade_is_the_highest_column() {
        let cols = [
            column("a", Grade::L1),
            column("b", Grade::L4),
            column("c", Grade::L2),
        ];
        assert_eq!(resource_grade(&cols), Some(Grade::L4));
        assert_eq!(resource_grade(&[]), None);
    }

    #[test]
    fn sensitive_data_cannot_open_unconditionally() {
        let id = ResourceId::new("R1");
        let cols = [column("a", Grade::L1), column("id_no", Grade::L3)];
        let err = check_open_attr(&id, OpenAttr::Unconditional, &cols).unwrap_err();
        assert!(err.to_string().contains("id_no"), "{err}");
        assert!(check_open_attr(&id, OpenAttr::Conditional, &cols).is_ok());
        assert!(check_open_attr(&id, OpenAttr::Unconditional, &cols[..1]).is_ok());
    }

    #[test]
    fn column_names() {
        assert!(check_column_name("id_no").is_ok());
        assert!(check_column_name("Id").is_err());
        assert!(check_column_name("身份证").is_err());
        assert!(check_column_name("1a").is_err());
    }
}

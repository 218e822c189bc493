//! A job lands data in its own resource's tables and nowhere else, and it reads no other
//! resource's table by its files: another department's data is read through the governed
//! session (a share, a derived table), where grants, masks, row filters and audit apply. A job's
//! `path` or a local Delta source that reached into another table would go around all of that.
//!
//! The refusal does not say which table was hit: the job's author may not be allowed to know
//! that it exists.

use std::path::{Path, PathBuf};
use url::Url;
use zhongshu_catalog::{ResourceId, TableRecord};

/// Why a job's lake path or source overlaps a table it does not own.
pub(crate) fn overlap(
    resource: &ResourceId,
    table: &str,
    path: Option<&str>,
    delta_source: Option<&str>,
    tables: &[TableRecord],
) -> Option<String> {
    let others = || {
        tables
            .iter()
            .filter(move |t| !(t.resource == *resource && t.name == table))
    };
    if let Some(path) = path {
        let path = path.trim_matches('/');
        if path.split('/').any(|part| part == ".." || part == ".") {
            return Some(format!(
                "path = \"{path}\" must name a lake path without `.` or `..` parts"
            ));
        }
        if others().any(|t| nested(t.path.trim_matches('/'), path)) {
            return Some(format!(
                "path = \"{path}\" is, contains or lies inside a table of the lake that this job \
                 does not own; give the table a lake path of its own"
            ));
        }
    }
    let source = delta_source.and_then(local_path)?;
    let reads_foreign = tables
        .iter()
        .filter(|t| t.resource != *resource)
        .filter_map(|t| local_path(&t.location))
        .any(|location| source.starts_with(&location) || location.starts_with(&source));
    reads_foreign.then(|| {
        "the Delta source reads a table of this lake by its files; another department's data is \
         read through zhongshu (a share or a derived table), where its grants and masks apply"
            .to_owned()
    })
}

/// Whether one `/`-separated lake path is the other or lies inside it.
fn nested(a: &str, b: &str) -> bool {
    let inside = |outer: &str, inner: &str| {
        inner == outer || inner.starts_with(&format!("{outer}/")) || outer.is_empty()
    };
    inside(a, b) || inside(b, a)
}

/// The local directory a location names (a `file://` URL or a plain path), with symbolic links
/// and `..` resolved where it exists; `None` for an object store.
fn local_path(location: &str) -> Option<PathBuf> {
    let path = if location.contains("://") {
        let url = Url::parse(location).ok()?;
        if url.scheme() != "file" {
            return None;
        }
        url.to_file_path().ok()?
    } else {
        std::path::absolute(Path::new(location)).ok()?
    };
    Some(std::fs::canonicalize(&path).unwrap_or(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(resource: &str, name: &str, path: &str, location: &str) -> TableRecord {
        TableRecord {
            resource: ResourceId::new(resource),
            name: name.into(),
            path: path.into(),
            location: location.into(),
            version: 0,
            row_count: 0,
            schema_json: String::new(),
            partition_columns: Vec::new(),
            last_update: String::new(),
        }
    }

    #[test]
    fn a_path_into_another_table_is_refused_and_its_own_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let persons = dir.path().join("base/population/persons");
        std::fs::create_dir_all(&persons).unwrap();
        let url = Url::from_directory_path(&persons).unwrap().to_string();
        let tables = [
            table("GA-1", "main", "base/population/persons", &url),
            table("MZ-1", "main", "base/civil/marriages", "file:///nowhere/"),
        ];
        let mz = ResourceId::new("MZ-1");
        assert!(overlap(&mz, "main", Some("base/civil/marriages"), None, &tables).is_none());
        for path in [
            "base/population/persons",
            "base/population/persons/x",
            "base/population",
            "/base/population/persons/",
            "base/civil/../population/persons",
        ] {
            assert!(
                overlap(&mz, "main", Some(path), None, &tables).is_some(),
                "{path}"
            );
        }
        // Another department's table by its files: as a URL, a plain path, through `..`.
        let plain = persons.display().to_string();
        let dotted = format!("{}/../persons", persons.display());
        for source in [url.as_str(), plain.as_str(), dotted.as_str()] {
            assert!(
                overlap(&mz, "main", None, Some(source), &tables).is_some(),
                "{source}"
            );
        }
        // Its own table, and a city lake's table with the same layout, are fine.
        let ga = ResourceId::new("GA-1");
        assert!(overlap(&ga, "history", None, Some(&url), &tables).is_none());
        let city = "s3://city-lake/base/population/persons";
        assert!(overlap(&mz, "main", None, Some(city), &tables).is_none());
    }
}

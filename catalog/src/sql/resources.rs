//! Resources of the resource catalogue with their items (columns), the Delta tables behind them,
//! the grade that follows from their columns, and the documents the search index is built from.

use super::elements::{ensure_no_other_source, fetch_element};
use super::tx::LoggedTx;
use super::{SqlCatalogStore, now, parse, to_json};
use crate::classification::BindingRole;
use crate::error::{CatalogError, Result};
use crate::ids::{ElementId, OrgId, ResourceId};
use crate::model::{
    Column, NewResource, Page, Paged, Resource, ResourceDetail, ResourceFilter, SearchDocument,
    TableRecord,
};
use crate::rules;
use crate::store::{Actor, AttributeChange};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, AssertSqlSafe, Row};
use std::collections::{BTreeMap, BTreeSet};

pub(super) const RESOURCE_COLUMNS: &str = "id, name, provider_id, abstract, format, share_attr, \
    share_conditions, open_attr, open_conditions, update_cycle, tier, publish_date, grade, \
    created_at, updated_at";

pub(super) const COLUMN_COLUMNS: &str = "name, title, data_type, nullable, is_key, description, category, \
    grade, element_id, binding";

pub(super) fn resource_from_row(row: &AnyRow) -> Result<Resource> {
    Ok(Resource {
        id: ResourceId::new(row.try_get::<String, _>("id")?),
        name: row.try_get("name")?,
        provider: OrgId::new(row.try_get::<String, _>("provider_id")?),
        abstract_text: row.try_get("abstract")?,
        format: row.try_get("format")?,
        share_attr: parse(&row.try_get::<String, _>("share_attr")?, "share attribute")?,
        share_conditions: row.try_get("share_conditions")?,
        open_attr: parse(&row.try_get::<String, _>("open_attr")?, "open attribute")?,
        open_conditions: row.try_get("open_conditions")?,
        update_cycle: parse(&row.try_get::<String, _>("update_cycle")?, "update cycle")?,
        tier: parse(&row.try_get::<String, _>("tier")?, "tier")?,
        publish_date: row.try_get("publish_date")?,
        grade: row
            .try_get::<Option<String>, _>("grade")?
            .map(|g| parse(&g, "grade"))
            .transpose()?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub(super) fn column_from_row(row: &AnyRow) -> Result<Column> {
    Ok(Column {
        name: row.try_get("name")?,
        title: row.try_get("title")?,
        data_type: row.try_get("data_type")?,
        nullable: row.try_get::<i64, _>("nullable")? != 0,
        is_key: row.try_get::<i64, _>("is_key")? != 0,
        description: row.try_get("description")?,
        category: parse(&row.try_get::<String, _>("category")?, "category")?,
        grade: parse(&row.try_get::<String, _>("grade")?, "grade")?,
        element: row
            .try_get::<Option<String>, _>("element_id")?
            .map(ElementId::new),
        binding: row
            .try_get::<Option<String>, _>("binding")?
            .map(|b| parse(&b, "binding"))
            .transpose()?,
    })
}

const TABLE_COLUMNS: &str = "resource_id, name, path, location, version, row_count, schema_json, \
     partition_columns, last_update";

pub(super) async fn list_tables(store: &SqlCatalogStore) -> Result<Vec<TableRecord>> {
    sqlx::query(AssertSqlSafe(format!(
        "SELECT {TABLE_COLUMNS} FROM tables ORDER BY resource_id, name"
    )))
    .fetch_all(&store.pool)
    .await?
    .iter()
    .map(table_from_row)
    .collect()
}

pub(super) fn table_from_row(row: &AnyRow) -> Result<TableRecord> {
    let partitions: String = row.try_get("partition_columns")?;
    Ok(TableRecord {
        resource: ResourceId::new(row.try_get::<String, _>("resource_id")?),
        name: row.try_get("name")?,
        path: row.try_get("path")?,
        location: row.try_get("location")?,
        version: row.try_get("version")?,
        row_count: row.try_get("row_count")?,
        schema_json: row.try_get("schema_json")?,
        partition_columns: serde_json::from_str(&partitions).map_err(CatalogError::corrupt)?,
        last_update: row.try_get("last_update")?,
    })
}

pub(super) async fn fetch_resource(tx: &mut AnyConnection, id: &ResourceId) -> Result<Resource> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {RESOURCE_COLUMNS} FROM resources WHERE id = $1"
    )))
    .bind(id.as_str())
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| CatalogError::not_found("resource", id))?;
    resource_from_row(&row)
}

pub(super) async fn fetch_columns(tx: &mut AnyConnection, id: &ResourceId) -> Result<Vec<Column>> {
    sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMN_COLUMNS} FROM columns WHERE resource_id = $1 ORDER BY position"
    )))
    .bind(id.as_str())
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(column_from_row)
    .collect()
}

/// Recomputes a resource's grade from its columns, checks the open attribute against it and
/// stores it.
pub(super) async fn regrade(tx: &mut AnyConnection, id: &ResourceId) -> Result<Resource> {
    let mut resource = fetch_resource(tx, id).await?;
    let columns = fetch_columns(tx, id).await?;
    resource.grade = rules::resource_grade(&columns);
    rules::check_open_attr(&resource.id, resource.open_attr, &columns)?;
    resource.updated_at = now();
    sqlx::query("UPDATE resources SET grade = $1, updated_at = $2 WHERE id = $3")
        .bind(resource.grade.map(|g| g.as_code()))
        .bind(&resource.updated_at)
        .bind(id.as_str())
        .execute(&mut *tx)
        .await?;
    Ok(resource)
}

pub(super) async fn insert_resource(
    tx: &mut LoggedTx,
    actor: &Actor,
    new: &NewResource,
) -> Result<Resource> {
    rules::check_new_resource(new)?;
    let exists = sqlx::query("SELECT id FROM resources WHERE id = $1")
        .bind(new.id.as_str())
        .fetch_optional(&mut **tx)
        .await?;
    if exists.is_some() {
        return Err(CatalogError::AlreadyExists {
            kind: "resource",
            id: new.id.to_string(),
        });
    }
    let provider = sqlx::query("SELECT id FROM org_units WHERE id = $1")
        .bind(new.provider.as_str())
        .fetch_optional(&mut **tx)
        .await?;
    if provider.is_none() {
        return Err(CatalogError::not_found("organisation unit", &new.provider));
    }
    for column in &new.columns {
        if let Some(element_id) = &column.element {
            let element = fetch_element(tx, element_id.as_str()).await?;
            if column.binding == Some(BindingRole::Source) {
                ensure_no_other_source(tx, &element, &new.id, &column.name).await?;
                super::responsibilities::ensure_responsible(tx, &element, &new.provider).await?;
            }
        }
    }
    let at = now();
    let grade = rules::resource_grade(&new.columns);
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO resources ({RESOURCE_COLUMNS}) VALUES \
         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
    )))
    .bind(new.id.as_str())
    .bind(&new.name)
    .bind(new.provider.as_str())
    .bind(&new.abstract_text)
    .bind(&new.format)
    .bind(new.share_attr.as_code())
    .bind(new.share_conditions.clone())
    .bind(new.open_attr.as_code())
    .bind(new.open_conditions.clone())
    .bind(new.update_cycle.as_code())
    .bind(new.tier.as_code())
    .bind(new.publish_date.clone())
    .bind(grade.map(|g| g.as_code()))
    .bind(&at)
    .bind(&at)
    .execute(&mut **tx)
    .await?;
    insert_columns(tx, &new.id, &new.columns).await?;
    tx.log(
        actor,
        "resource",
        new.id.as_str(),
        "create",
        None,
        Some(to_json(new)?),
    )
    .await?;
    fetch_resource(tx, &new.id).await
}

/// Inserts columns in multi-row statements (12 parameters per column).
pub(super) async fn insert_columns(
    tx: &mut AnyConnection,
    resource: &ResourceId,
    columns: &[Column],
) -> Result<()> {
    const PER_STATEMENT: usize = 400;
    for (chunk_index, chunk) in columns.chunks(PER_STATEMENT).enumerate() {
        let mut sql = String::from(
            "INSERT INTO columns (resource_id, position, name, title, data_type, nullable, is_key, \
             description, category, grade, element_id, binding) VALUES ",
        );
        for i in 0..chunk.len() {
            let b = i * 12;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            sql.push_str(
                &(1..=12)
                    .map(|k| format!("${}", b + k))
                    .collect::<Vec<_>>()
                    .join(", "),
            );
            sql.push(')');
        }
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (i, c) in chunk.iter().enumerate() {
            query = query
                .bind(resource.as_str())
                .bind((chunk_index * PER_STATEMENT + i) as i64)
                .bind(&c.name)
                .bind(&c.title)
                .bind(&c.data_type)
                .bind(i64::from(c.nullable))
                .bind(i64::from(c.is_key))
                .bind(&c.description)
                .bind(c.category.as_code())
                .bind(c.grade.as_code())
                .bind(c.element.as_ref().map(|e| e.as_str().to_owned()))
                .bind(c.binding.map(|b| b.as_code()));
        }
        query.execute(&mut *tx).await?;
    }
    Ok(())
}

pub(super) async fn find_column(
    tx: &mut AnyConnection,
    resource: &ResourceId,
    column: &str,
) -> Result<Column> {
    fetch_resource(tx, resource).await?;
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMN_COLUMNS} FROM columns WHERE resource_id = $1 AND name = $2"
    )))
    .bind(resource.as_str())
    .bind(column)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| CatalogError::not_found("column", format!("{resource}.{column}")))?;
    column_from_row(&row)
}

pub(super) async fn write_column_classification(
    tx: &mut AnyConnection,
    resource: &ResourceId,
    column: &Column,
) -> Result<()> {
    sqlx::query(
        "UPDATE columns SET category = $1, grade = $2, element_id = $3, binding = $4 \
         WHERE resource_id = $5 AND name = $6",
    )
    .bind(column.category.as_code())
    .bind(column.grade.as_code())
    .bind(column.element.as_ref().map(|e| e.as_str().to_owned()))
    .bind(column.binding.map(|b| b.as_code()))
    .bind(resource.as_str())
    .bind(&column.name)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

pub(super) async fn search_docs_from_rows(
    pool: &AnyPool,
    rows: Vec<AnyRow>,
) -> Result<Vec<SearchDocument>> {
    let mut docs: BTreeMap<String, SearchDocument> = BTreeMap::new();
    for row in &rows {
        let id: String = row.try_get("id")?;
        docs.insert(
            id.clone(),
            SearchDocument {
                id: ResourceId::new(id),
                name: row.try_get("name")?,
                abstract_text: row.try_get("abstract")?,
                items: String::new(),
                provider_name: row.try_get("provider_name")?,
            },
        );
    }
    let (Some(first), Some(last)) = (docs.keys().next(), docs.keys().next_back()) else {
        return Ok(Vec::new());
    };
    let columns = sqlx::query(
        "SELECT resource_id, name, title FROM columns WHERE resource_id >= $1 AND resource_id <= $2 \
         ORDER BY resource_id, position",
    )
    .bind(first.clone())
    .bind(last.clone())
    .fetch_all(pool)
    .await?;
    for row in &columns {
        let id: String = row.try_get("resource_id")?;
        if let Some(doc) = docs.get_mut(&id) {
            let title: String = row.try_get("title")?;
            let name: String = row.try_get("name")?;
            doc.items.push_str(&title);
            doc.items.push(' ');
            doc.items.push_str(&name);
            doc.items.push(' ');
        }
    }
    Ok(docs.into_values().collect())
}

pub(super) async fn register_resource(
    store: &SqlCatalogStore,
    actor: &Actor,
    new: &NewResource,
) -> Result<Resource> {
    let mut tx = store.begin_logged().await?;
    let resource = insert_resource(&mut tx, actor, new).await?;
    tx.commit().await?;
    Ok(resource)
}

pub(super) async fn register_resources(
    store: &SqlCatalogStore,
    actor: &Actor,
    new: &[NewResource],
) -> Result<usize> {
    if new.is_empty() {
        return Ok(0);
    }
    let mut tx = store.begin_logged().await?;
    for resource in new {
        insert_resource(&mut tx, actor, resource).await?;
    }
    tx.commit().await?;
    Ok(new.len())
}

pub(super) async fn get_resource(
    store: &SqlCatalogStore,
    id: &ResourceId,
) -> Result<Option<ResourceDetail>> {
    // Three independent reads on three pooled connections, so the latency is the slowest
    // one rather than the sum.
    let resource_sql = format!(
        "SELECT {RESOURCE_COLUMNS}, (SELECT name FROM org_units o WHERE o.id = provider_id) \
         AS provider_name FROM resources WHERE id = $1"
    );
    let columns_sql =
        format!("SELECT {COLUMN_COLUMNS} FROM columns WHERE resource_id = $1 ORDER BY position");
    let (row, columns, tables) = tokio::try_join!(
        sqlx::query(AssertSqlSafe(resource_sql))
            .bind(id.as_str())
            .fetch_optional(&store.pool),
        sqlx::query(AssertSqlSafe(columns_sql))
            .bind(id.as_str())
            .fetch_all(&store.pool),
        sqlx::query(AssertSqlSafe(format!(
            "SELECT {TABLE_COLUMNS} FROM tables WHERE resource_id = $1 ORDER BY name"
        )))
        .bind(id.as_str())
        .fetch_all(&store.pool),
    )?;
    let Some(row) = row else { return Ok(None) };
    let resource = resource_from_row(&row)?;
    let provider_name: String = row.try_get("provider_name")?;
    let columns = columns
        .iter()
        .map(column_from_row)
        .collect::<Result<Vec<_>>>()?;
    let tables = tables
        .iter()
        .map(table_from_row)
        .collect::<Result<Vec<_>>>()?;
    Ok(Some(ResourceDetail {
        resource,
        provider_name,
        columns,
        tables,
    }))
}

pub(super) async fn list_resources(
    store: &SqlCatalogStore,
    filter: &ResourceFilter,
    page: Page,
) -> Result<Paged<Resource>> {
    let mut conditions = Vec::new();
    let mut args: Vec<String> = Vec::new();
    if let Some(provider) = &filter.provider {
        args.push(provider.to_string());
        conditions.push(format!("provider_id = ${}", args.len()));
    }
    if let Some(tier) = filter.tier {
        args.push(tier.as_code().to_owned());
        conditions.push(format!("tier = ${}", args.len()));
    }
    if let Some(open) = filter.open_attr {
        args.push(open.as_code().to_owned());
        conditions.push(format!("open_attr = ${}", args.len()));
    }
    let where_clause = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };
    let mut count = sqlx::query(AssertSqlSafe(format!(
        "SELECT COUNT(*) AS n FROM resources{where_clause}"
    )));
    for a in &args {
        count = count.bind(a.clone());
    }
    let total: i64 = count.fetch_one(&store.pool).await?.try_get("n")?;
    let limit = page.limit.clamp(1, 1000);
    let offset = page.offset.max(0);
    let mut query = sqlx::query(AssertSqlSafe(format!(
        "SELECT {RESOURCE_COLUMNS} FROM resources{where_clause} ORDER BY id LIMIT ${} OFFSET ${}",
        args.len() + 1,
        args.len() + 2
    )));
    for a in &args {
        query = query.bind(a.clone());
    }
    let items = query
        .bind(limit)
        .bind(offset)
        .fetch_all(&store.pool)
        .await?
        .iter()
        .map(resource_from_row)
        .collect::<Result<Vec<_>>>()?;
    Ok(Paged {
        items,
        total,
        offset,
        limit,
    })
}

pub(super) async fn set_attributes(
    store: &SqlCatalogStore,
    actor: &Actor,
    id: &ResourceId,
    change: &AttributeChange,
) -> Result<Resource> {
    let mut tx = store.begin_logged().await?;
    let before = fetch_resource(&mut tx, id).await?;
    let mut after = before.clone();
    if let Some(name) = &change.name {
        if name.trim().is_empty() {
            return Err(CatalogError::Invalid {
                what: format!("resource {id}"),
                reason: "the name (资源名称) is empty".into(),
            });
        }
        after.name = name.trim().to_owned();
    }
    if let Some(text) = &change.abstract_text {
        after.abstract_text = text.trim().to_owned();
    }
    if let Some(cycle) = change.update_cycle {
        after.update_cycle = cycle;
    }
    if let Some(a) = change.share_attr {
        after.share_attr = a;
    }
    if let Some(c) = &change.share_conditions {
        after.share_conditions = c.clone();
    }
    if let Some(a) = change.open_attr {
        after.open_attr = a;
    }
    if let Some(c) = &change.open_conditions {
        after.open_conditions = c.clone();
    }
    let columns = fetch_columns(&mut tx, id).await?;
    rules::check_open_attr(id, after.open_attr, &columns)?;
    after.updated_at = now();
    sqlx::query(
        "UPDATE resources SET share_attr = $1, share_conditions = $2, open_attr = $3, \
         open_conditions = $4, updated_at = $5, name = $6, abstract = $7, update_cycle = $8 \
         WHERE id = $9",
    )
    .bind(after.share_attr.as_code())
    .bind(after.share_conditions.clone())
    .bind(after.open_attr.as_code())
    .bind(after.open_conditions.clone())
    .bind(&after.updated_at)
    .bind(&after.name)
    .bind(&after.abstract_text)
    .bind(after.update_cycle.as_code())
    .bind(id.as_str())
    .execute(&mut *tx)
    .await?;
    tx.log(
        actor,
        "resource",
        id.as_str(),
        "set_attributes",
        Some(to_json(&before)?),
        Some(to_json(&after)?),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

pub(super) async fn add_column(
    store: &SqlCatalogStore,
    actor: &Actor,
    resource: &ResourceId,
    column: &Column,
) -> Result<()> {
    let mut tx = store.begin_logged().await?;
    fetch_resource(&mut tx, resource).await?;
    let exists: i64 =
        sqlx::query("SELECT COUNT(*) AS n FROM columns WHERE resource_id = $1 AND name = $2")
            .bind(resource.as_str())
            .bind(&column.name)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
    if exists > 0 {
        return Err(CatalogError::AlreadyExists {
            kind: "column",
            id: format!("{resource}.{}", column.name),
        });
    }
    let last: i64 = sqlx::query(
        "SELECT COALESCE(MAX(position), -1) AS last FROM columns WHERE resource_id = $1",
    )
    .bind(resource.as_str())
    .fetch_one(&mut *tx)
    .await?
    .try_get("last")?;
    let mut query = sqlx::query(
        "INSERT INTO columns (resource_id, position, name, title, data_type, nullable, is_key, \
         description, category, grade, element_id, binding) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    );
    query = query
        .bind(resource.as_str())
        .bind(last + 1)
        .bind(&column.name)
        .bind(&column.title)
        .bind(&column.data_type)
        .bind(i64::from(column.nullable))
        .bind(i64::from(column.is_key))
        .bind(&column.description)
        .bind(column.category.as_code())
        .bind(column.grade.as_code())
        .bind(Option::<String>::None)
        .bind(Option::<String>::None);
    query.execute(&mut *tx).await?;
    regrade(&mut tx, resource).await?;
    tx.log(
        actor,
        "column",
        &format!("{resource}.{}", column.name),
        "add",
        None,
        Some(to_json(column)?),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn upsert_table(
    store: &SqlCatalogStore,
    actor: &Actor,
    table: &TableRecord,
) -> Result<()> {
    let mut tx = store.begin_logged().await?;
    fetch_resource(&mut tx, &table.resource).await?;
    let before = sqlx::query(
        "SELECT resource_id, name, path, location, version, row_count, schema_json, \
         partition_columns, last_update FROM tables WHERE resource_id = $1 AND name = $2",
    )
    .bind(table.resource.as_str())
    .bind(&table.name)
    .fetch_optional(&mut *tx)
    .await?
    .map(|r| table_from_row(&r))
    .transpose()?;
    sqlx::query(
        "INSERT INTO tables (resource_id, name, path, location, version, row_count, schema_json, \
         partition_columns, last_update) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (resource_id, name) DO UPDATE SET path = excluded.path, \
         location = excluded.location, version = excluded.version, row_count = excluded.row_count, \
         schema_json = excluded.schema_json, partition_columns = excluded.partition_columns, \
         last_update = excluded.last_update WHERE excluded.version >= tables.version",
    )
    .bind(table.resource.as_str())
    .bind(&table.name)
    .bind(&table.path)
    .bind(&table.location)
    .bind(table.version)
    .bind(table.row_count)
    .bind(&table.schema_json)
    .bind(to_json(&table.partition_columns)?)
    .bind(&table.last_update)
    .execute(&mut *tx)
    .await?;
    let action = if before.is_some() { "update" } else { "create" };
    // The schema is large and derivable from the table; the log keeps location and version.
    let summary = |t: &TableRecord| {
        serde_json::json!({"location": t.location, "version": t.version, "row_count": t.row_count})
            .to_string()
    };
    tx.log(
        actor,
        "table",
        &format!("{}.{}", table.resource, table.name),
        action,
        before.as_ref().map(summary),
        Some(summary(table)),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn search_documents(
    store: &SqlCatalogStore,
    after: Option<&ResourceId>,
    limit: i64,
) -> Result<Vec<SearchDocument>> {
    let rows = sqlx::query(
        "SELECT r.id, r.name, r.abstract, o.name AS provider_name FROM resources r \
         JOIN org_units o ON o.id = r.provider_id WHERE r.id > $1 ORDER BY r.id LIMIT $2",
    )
    .bind(after.map(|a| a.to_string()).unwrap_or_default())
    .bind(limit)
    .fetch_all(&store.pool)
    .await?;
    search_docs_from_rows(&store.pool, rows).await
}

pub(super) async fn search_documents_for(
    store: &SqlCatalogStore,
    ids: &[ResourceId],
) -> Result<Vec<SearchDocument>> {
    let unique: BTreeSet<&ResourceId> = ids.iter().collect();
    let mut out = Vec::new();
    for id in unique {
        let rows = sqlx::query(
            "SELECT r.id, r.name, r.abstract, o.name AS provider_name FROM resources r \
             JOIN org_units o ON o.id = r.provider_id WHERE r.id = $1",
        )
        .bind(id.as_str())
        .fetch_all(&store.pool)
        .await?;
        out.extend(search_docs_from_rows(&store.pool, rows).await?);
    }
    Ok(out)
}

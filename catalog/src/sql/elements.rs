//! Standard data elements (数据元) and the columns bound to them: 一数一源 is enforced here, in the
//! transaction that binds a column, by refusing a second authoritative source.

use super::resources::{find_column, regrade, write_column_classification};
use super::tx::LoggedTx;
use super::{SqlCatalogStore, parse, to_json};
use crate::classification::{BindingRole, Category, Grade};
use crate::error::{CatalogError, Result, SourceConflict};
use crate::ids::{ElementId, OrgId, ResourceId};
use crate::model::{Coverage, DataElement, ElementBinding, ElementBindings};
use crate::rules;
use crate::store::{Actor, CatalogStore};
use sqlx::AnyConnection;
use sqlx::Row;
use sqlx::any::AnyRow;

pub(super) fn element_from_row(row: &AnyRow) -> Result<DataElement> {
    Ok(DataElement {
        id: ElementId::new(row.try_get::<String, _>("id")?),
        name: row.try_get("name")?,
        name_en: row.try_get("name_en")?,
        standard: row.try_get("standard")?,
        data_type: row.try_get("data_type")?,
        validator: row
            .try_get::<Option<String>, _>("validator")?
            .map(|v| parse(&v, "validator"))
            .transpose()?,
        default_category: parse(&row.try_get::<String, _>("default_category")?, "category")?,
        default_grade: parse(&row.try_get::<String, _>("default_grade")?, "grade")?,
        description: row.try_get("description")?,
    })
}

pub(super) async fn fetch_element(tx: &mut AnyConnection, key: &str) -> Result<DataElement> {
    let row = sqlx::query(
        "SELECT id, name, name_en, standard, data_type, validator, default_category, \
         default_grade, description FROM data_elements WHERE id = $1 OR name = $2",
    )
    .bind(key)
    .bind(key)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| CatalogError::not_found("data element", key))?;
    element_from_row(&row)
}

/// The current source of an element, if any.
pub(super) async fn fetch_source(
    tx: &mut AnyConnection,
    element: &ElementId,
) -> Result<Option<ElementBinding>> {
    let row = sqlx::query(
        "SELECT c.resource_id, r.name AS resource_name, c.name AS column_name, r.provider_id, \
         o.name AS owner_name FROM columns c JOIN resources r ON r.id = c.resource_id \
         JOIN org_units o ON o.id = r.provider_id \
         WHERE c.element_id = $1 AND c.binding = 'source'",
    )
    .bind(element.as_str())
    .fetch_optional(&mut *tx)
    .await?;
    row.map(|row| binding_from_row(&row, BindingRole::Source))
        .transpose()
}

pub(super) fn binding_from_row(row: &AnyRow, role: BindingRole) -> Result<ElementBinding> {
    Ok(ElementBinding {
        resource: ResourceId::new(row.try_get::<String, _>("resource_id")?),
        resource_name: row.try_get("resource_name")?,
        column: row.try_get("column_name")?,
        owner: OrgId::new(row.try_get::<String, _>("provider_id")?),
        owner_name: row.try_get("owner_name")?,
        role,
    })
}

/// Refuses a source binding when the element already has another source.
pub(super) async fn ensure_no_other_source(
    tx: &mut AnyConnection,
    element: &DataElement,
    resource: &ResourceId,
    column: &str,
) -> Result<()> {
    if let Some(source) = fetch_source(tx, &element.id).await?
        && !(source.resource == *resource && source.column == column)
    {
        return Err(CatalogError::SecondSource(Box::new(SourceConflict {
            element: element.id.clone(),
            element_name: element.name.clone(),
            source_resource: source.resource,
            source_resource_name: source.resource_name,
            source_column: source.column,
            owner: source.owner,
            owner_name: source.owner_name,
        })));
    }
    Ok(())
}

/// The department providing `resource`.
pub(super) async fn provider_of(tx: &mut AnyConnection, resource: &ResourceId) -> Result<OrgId> {
    let row = sqlx::query("SELECT provider_id FROM resources WHERE id = $1")
        .bind(resource.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| CatalogError::not_found("resource", resource))?;
    Ok(OrgId::new(row.try_get::<String, _>("provider_id")?))
}

/// Binds a column inside a transaction; shared by `bind_column` and accepted suggestions.
pub(super) async fn bind_in_tx(
    tx: &mut LoggedTx,
    actor: &Actor,
    resource: &ResourceId,
    column_name: &str,
    element_id: &ElementId,
    role: BindingRole,
) -> Result<()> {
    let before = find_column(tx, resource, column_name).await?;
    let element = fetch_element(tx, element_id.as_str()).await?;
    if role == BindingRole::Source {
        ensure_no_other_source(tx, &element, resource, column_name).await?;
        let provider = provider_of(tx, resource).await?;
        super::responsibilities::ensure_responsible(tx, &element, &provider).await?;
    }
    let mut after = before.clone();
    after.element = Some(element.id.clone());
    after.binding = Some(role);
    // Binding never lowers a column below its element's default grade (就高从严).
    if element.default_grade > after.grade {
        after.grade = element.default_grade;
        after.category = element.default_category;
    }
    write_column_classification(tx, resource, &after).await?;
    regrade(tx, resource).await?;
    tx.log(
        actor,
        "column",
        &format!("{resource}.{column_name}"),
        "bind",
        Some(to_json(&before)?),
        Some(to_json(&after)?),
    )
    .await
}

pub(super) async fn classify_in_tx(
    tx: &mut LoggedTx,
    actor: &Actor,
    resource: &ResourceId,
    column_name: &str,
    category: Category,
    grade: Grade,
    reason: Option<&str>,
) -> Result<()> {
    let before = find_column(tx, resource, column_name).await?;
    let mut after = before.clone();
    after.category = category;
    after.grade = grade;
    write_column_classification(tx, resource, &after).await?;
    regrade(tx, resource).await?;
    tx.log(
        actor,
        "column",
        &format!("{resource}.{column_name}"),
        "classify",
        Some(to_json(&before)?),
        Some(with_reason(to_json(&after)?, reason)?),
    )
    .await
}

/// A logged state with the reason for the change beside it (`reason` key), when one was given.
fn with_reason(state: String, reason: Option<&str>) -> Result<String> {
    let Some(reason) = reason.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(state);
    };
    let mut value: serde_json::Value =
        serde_json::from_str(&state).map_err(CatalogError::corrupt)?;
    if let Some(object) = value.as_object_mut() {
        object.insert("reason".into(), reason.into());
    }
    to_json(&value)
}

pub(super) async fn upsert_element(
    store: &SqlCatalogStore,
    actor: &Actor,
    element: &DataElement,
) -> Result<()> {
    rules::check_identifier("data element id", element.id.as_str())?;
    let mut tx = store.begin_logged().await?;
    let before = fetch_element(&mut tx, element.id.as_str()).await.ok();
    if before.as_ref() == Some(element) {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO data_elements (id, name, name_en, standard, data_type, validator, \
         default_category, default_grade, description) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, name_en = excluded.name_en, \
         standard = excluded.standard, data_type = excluded.data_type, validator = excluded.validator, \
         default_category = excluded.default_category, default_grade = excluded.default_grade, \
         description = excluded.description",
    )
    .bind(element.id.as_str())
    .bind(&element.name)
    .bind(&element.name_en)
    .bind(element.standard.clone())
    .bind(&element.data_type)
    .bind(element.validator.map(|v| v.as_code()))
    .bind(element.default_category.as_code())
    .bind(element.default_grade.as_code())
    .bind(&element.description)
    .execute(&mut *tx)
    .await?;
    let action = if before.is_some() { "update" } else { "create" };
    let before = before.as_ref().map(to_json).transpose()?;
    tx.log(
        actor,
        "element",
        element.id.as_str(),
        action,
        before,
        Some(to_json(element)?),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn get_element(
    store: &SqlCatalogStore,
    id_or_name: &str,
) -> Result<Option<DataElement>> {
    sqlx::query(
        "SELECT id, name, name_en, standard, data_type, validator, default_category, \
         default_grade, description FROM data_elements WHERE id = $1 OR name = $2",
    )
    .bind(id_or_name)
    .bind(id_or_name)
    .fetch_optional(&store.pool)
    .await?
    .map(|r| element_from_row(&r))
    .transpose()
}

pub(super) async fn list_elements(store: &SqlCatalogStore) -> Result<Vec<DataElement>> {
    sqlx::query(
        "SELECT id, name, name_en, standard, data_type, validator, default_category, \
         default_grade, description FROM data_elements ORDER BY id",
    )
    .fetch_all(&store.pool)
    .await?
    .iter()
    .map(element_from_row)
    .collect()
}

pub(super) async fn element_bindings(
    store: &SqlCatalogStore,
    id_or_name: &str,
) -> Result<ElementBindings> {
    let element = store
        .get_element(id_or_name)
        .await?
        .ok_or_else(|| CatalogError::not_found("data element", id_or_name))?;
    let rows = sqlx::query(
        "SELECT c.resource_id, r.name AS resource_name, c.name AS column_name, r.provider_id, \
         o.name AS owner_name, c.binding FROM columns c JOIN resources r ON r.id = c.resource_id \
         JOIN org_units o ON o.id = r.provider_id \
         WHERE c.element_id = $1 ORDER BY c.resource_id, c.name",
    )
    .bind(element.id.as_str())
    .fetch_all(&store.pool)
    .await?;
    let mut source = None;
    let mut replicas = Vec::new();
    for row in &rows {
        let role: Option<String> = row.try_get("binding")?;
        match role.as_deref() {
            Some("source") => source = Some(binding_from_row(row, BindingRole::Source)?),
            _ => replicas.push(binding_from_row(row, BindingRole::Replica)?),
        }
    }
    Ok(ElementBindings {
        element,
        source,
        replicas,
    })
}

pub(super) async fn coverage(store: &SqlCatalogStore) -> Result<Coverage> {
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM data_elements) AS elements, \
         (SELECT COUNT(DISTINCT element_id) FROM columns WHERE binding = 'source') AS with_source",
    )
    .fetch_one(&store.pool)
    .await?;
    let elements: i64 = row.try_get("elements")?;
    let with_source: i64 = row.try_get("with_source")?;
    Ok(Coverage::of(elements, with_source))
}

pub(super) async fn bind_column(
    store: &SqlCatalogStore,
    actor: &Actor,
    resource: &ResourceId,
    column: &str,
    element: &ElementId,
    role: BindingRole,
) -> Result<()> {
    let mut tx = store.begin_logged().await?;
    bind_in_tx(&mut tx, actor, resource, column, element, role).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn unbind_column(
    store: &SqlCatalogStore,
    actor: &Actor,
    resource: &ResourceId,
    column: &str,
) -> Result<()> {
    let mut tx = store.begin_logged().await?;
    let before = find_column(&mut tx, resource, column).await?;
    let mut after = before.clone();
    after.element = None;
    after.binding = None;
    write_column_classification(&mut tx, resource, &after).await?;
    tx.log(
        actor,
        "column",
        &format!("{resource}.{column}"),
        "unbind",
        Some(to_json(&before)?),
        Some(to_json(&after)?),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn classify_column(
    store: &SqlCatalogStore,
    actor: &Actor,
    resource: &ResourceId,
    column: &str,
    category: Category,
    grade: Grade,
    reason: Option<&str>,
) -> Result<()> {
    let mut tx = store.begin_logged().await?;
    classify_in_tx(&mut tx, actor, resource, column, category, grade, reason).await?;
    tx.commit().await?;
    Ok(())
}

//! Evaluating rules and 一数一源 consistency over the lake.
//!
//! Every rule becomes one SQL query over the resource's Delta table — a FROM clause and a
//! failure condition — run by DataFusion with the validators registered as functions
//! ([`crate::udf`]). The query counts rows checked and failed in one pass and fetches a few
//! failing examples, masked, for the metric history.
//!
//! Examples are masked as the governed query path shows them to a principal without
//! `read_unmasked` and without a grant, with the same functions (`mask_for_report`): L1 and L2
//! columns in clear; L3 columns under their default mask ([`zhongshu_policies::default_mask`]:
//! 公民身份号码 `440310********1234`, 姓名 `张*`, 手机号码 `138****5678`, other text `partial`),
//! so that a one-character value is a star, never itself; L4 and above, which that principal
//! does not see at all, as `****` whatever the value — a report is read by more people than a
//! grant names, and a fixed placeholder gives away neither the value nor its length. A mask
//! giving null (`nullify` on an L3 number) shows `****` too, so that a hidden value is not taken
//! for a missing one. Fields that are no column of the resource are shown as they are.
//!
//! Consistency (数据打架): for every data element with an authoritative source, each replica
//! column is joined to the source on an identifier element both resources bind (公民身份号码,
//! 统一社会信用代码, …); a replica row whose value differs from the source's is a conflict.

use crate::rule::{BoundRule, Check, Dimension, RuleSpec, SEX_CODES, Severity, unique_keys};
use crate::udf;
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use std::collections::BTreeMap;
use zhongshu_catalog::validators::Validator;
use zhongshu_catalog::{
    BindingRole, CatalogStore, Column, DataElement, Grade, QualityResult, ResourceDetail,
    ResourceId, UpdateCycle,
};
use zhongshu_engine::{Lake, SystemSession};
use zhongshu_policies::default_mask;

/// An evaluation failed (a broken rule or an unreadable table).
#[derive(Debug, thiserror::Error)]
pub enum QualityError {
    /// A rule is wrong (or a request names something that is not there).
    #[error("{0}")]
    Rule(String),
    /// The principal may not do this.
    #[error("refused: {0}")]
    Refused(String),
    /// Catalog failure.
    #[error(transparent)]
    Catalog(#[from] zhongshu_catalog::CatalogError),
    /// Storage or query failure.
    #[error(transparent)]
    Engine(#[from] zhongshu_engine::EngineError),
    /// A decision could not be made (a corrupt catalog or policy).
    #[error(transparent)]
    Policy(#[from] zhongshu_policies::PolicyError),
}

impl From<datafusion::error::DataFusionError> for QualityError {
    fn from(e: datafusion::error::DataFusionError) -> Self {
        QualityError::Engine(e.into())
    }
}

type Result<T> = std::result::Result<T, QualityError>;

/// Failing examples kept per result.
const EXAMPLES: usize = 5;

/// A SQL identifier, quoted.
pub(crate) fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A SQL string literal.
pub(crate) fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The rules that apply to a resource: its own, and element rules for each column bound to
/// the element.
pub fn rules_for(
    rules: &[RuleSpec],
    resource: &ResourceDetail,
    elements: &[DataElement],
) -> Vec<BoundRule> {
    let element_id = |name: &str| {
        elements
            .iter()
            .find(|e| e.id.as_str() == name || e.name == name)
            .map(|e| e.id.clone())
    };
    let mut out = Vec::new();
    for rule in rules {
        if rule.resource.as_deref() == Some(resource.resource.id.as_str()) {
            let column = rule
                .column
                .as_ref()
                .and_then(|c| resource.columns.iter().find(|col| &col.name == c).cloned());
            out.push(BoundRule {
                spec: rule.clone(),
                column,
            });
        } else if let Some(element) = rule.element.as_deref().and_then(element_id) {
            for c in resource
                .columns
                .iter()
                .filter(|c| c.element.as_ref() == Some(&element))
            {
                out.push(BoundRule {
                    spec: rule.clone(),
                    column: Some(c.clone()),
                });
            }
        }
    }
    out
}

/// A rule as SQL: the rows it looks at and the condition under which a row fails.
struct Plan {
    from: String,
    fail: String,
    /// For `unique`: the key columns; the rule is then one grouped query over `t` instead.
    duplicates_of: Option<String>,
}

/// `reference` names the session table holding a reference rule's referenced table.
fn plan(rule: &BoundRule, resource: &ResourceDetail, reference: &str) -> Result<Plan> {
    let id = &rule.spec.id;
    let column = || {
        rule.column.as_ref().map(|c| quote(&c.name)).ok_or_else(|| {
            QualityError::Rule(format!(
                "rule {id}: resource {} has no column `{}`",
                resource.resource.id,
                rule.spec.column.as_deref().unwrap_or("?")
            ))
        })
    };
    let text = |c: &str| format!("CAST({c} AS VARCHAR)");
    let plain = |fail: String| Plan {
        from: "t".into(),
        fail,
        duplicates_of: None,
    };
    Ok(match &rule.spec.check {
        Check::NotNull => {
            let c = column()?;
            plain(format!("({c} IS NULL OR trim({}) = '')", text(&c)))
        }
        Check::Regex { pattern } => {
            let c = column()?;
            plain(format!(
                "({c} IS NOT NULL AND NOT regexp_like({}, {}))",
                text(&c),
                literal(pattern)
            ))
        }
        Check::Range { min, max } => {
            let c = column()?;
            let mut bounds = Vec::new();
            if let Some(min) = min {
                bounds.push(format!("{c} < {min}"));
            }
            if let Some(max) = max {
                bounds.push(format!("{c} > {max}"));
            }
            if bounds.is_empty() {
                bounds.push("FALSE".into());
            }
            plain(format!("({c} IS NOT NULL AND ({}))", bounds.join(" OR ")))
        }
        Check::CodeList {
            standard, values, ..
        } => {
            let c = column()?;
            let known = match standard.as_deref() {
                Some("gb2260") => format!("zs_division_known({})", text(&c)),
                Some("gb2261") => {
                    format!("{} IN ({})", text(&c), SEX_CODES.map(literal).join(", "))
                }
                _ => format!(
                    "{} IN ({})",
                    text(&c),
                    values
                        .iter()
                        .map(|v| literal(v))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            plain(format!("({c} IS NOT NULL AND NOT {known})"))
        }
        Check::CheckDigit { validator } => {
            let c = column()?;
            let validator: Validator =
                serde_json::from_value(serde_json::Value::String(validator.clone()))
                    .map_err(|_| QualityError::Rule(format!("rule {id}: unknown validator")))?;
            plain(format!(
                "({c} IS NOT NULL AND NOT {}({}))",
                udf::validator_function(validator),
                text(&c)
            ))
        }
        Check::IdAgreement { birth_date, sex } => {
            let c = column()?;
            let mut disagreements = Vec::new();
            if let Some(b) = birth_date {
                let b = quote(b);
                disagreements.push(format!(
                    "({b} IS NOT NULL AND {} <> zs_id_birth({}))",
                    text(&b),
                    text(&c)
                ));
            }
            if let Some(s) = sex {
                let s = quote(s);
                disagreements.push(format!(
                    "({s} IS NOT NULL AND zs_sex_code({}) <> zs_id_sex({}))",
                    text(&s),
                    text(&c)
                ));
            }
            if disagreements.is_empty() {
                return Err(QualityError::Rule(format!(
                    "rule {id}: id_agreement needs `birth_date` or `sex`"
                )));
            }
            // An invalid ID number is the check-digit rule's finding, not a disagreement.
            plain(format!(
                "({c} IS NOT NULL AND zs_valid_resident_id({}) AND ({}))",
                text(&c),
                disagreements.join(" OR ")
            ))
        }
        Check::Reference {
            ref_column: key, ..
        } => {
            let c = column()?;
            Plan {
                from: format!(
                    "t LEFT JOIN (SELECT DISTINCT CAST({} AS VARCHAR) AS __ref FROM {reference}) r \
                     ON {} = r.__ref",
                    quote(key),
                    text(&c)
                ),
                fail: format!("({c} IS NOT NULL AND r.__ref IS NULL)"),
                duplicates_of: None,
            }
        }
        Check::Unique { columns } => {
            let keys: Vec<String> = unique_keys(columns, &resource.columns)
                .iter()
                .map(|k| quote(k))
                .collect();
            if keys.is_empty() {
                return Err(QualityError::Rule(format!(
                    "rule {id}: unique needs `columns` (resource {} has no key items)",
                    resource.resource.id
                )));
            }
            Plan {
                from: "t".into(),
                fail: String::new(),
                duplicates_of: Some(keys.join(", ")),
            }
        }
        Check::Sql { predicate } => plain(format!("NOT COALESCE(({predicate}), TRUE)")),
        Check::Freshness => unreachable!("freshness is not a row check"),
    })
}

/// The first value of column `i` of the first batch, as i64.
pub(crate) fn first_i64(batches: &[RecordBatch], i: usize) -> i64 {
    batches
        .first()
        .filter(|b| b.num_rows() > 0)
        .and_then(|b| cast(b.column(i), &DataType::Int64).ok())
        .map(|a| {
            let a = a.as_primitive::<datafusion::arrow::datatypes::Int64Type>();
            if a.is_null(0) { 0 } else { a.value(0) }
        })
        .unwrap_or_default()
}

/// What a report or profile shows of `value`, a value of `column` (see the module
/// documentation).
pub(crate) fn mask_for_report(column: &Column, value: &str) -> String {
    const HIDDEN: &str = "****";
    match column.grade {
        Grade::L1 | Grade::L2 => value.to_owned(),
        Grade::L3 => match default_mask(column) {
            Some(mask) => mask.apply_text(value).unwrap_or_else(|| HIDDEN.to_owned()),
            None => value.to_owned(),
        },
        Grade::L4 | Grade::Important | Grade::Core => HIDDEN.to_owned(),
    }
}

/// Rows of batches as JSON objects of text values, each masked as its column (by field name,
/// `source_` prefix aside) is in reports.
fn examples(
    batches: &[RecordBatch],
    columns: &BTreeMap<String, &Column>,
) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for b in batches {
        let texts: Vec<_> = b
            .columns()
            .iter()
            .map(|c| cast(c, &DataType::Utf8).ok())
            .collect();
        for row in 0..b.num_rows() {
            let mut object = serde_json::Map::new();
            for (i, field) in b.schema().fields().iter().enumerate() {
                let value = texts[i].as_ref().and_then(|a| {
                    let a = a.as_string::<i32>();
                    a.is_valid(row).then(|| a.value(row).to_owned())
                });
                let column = columns.get(field.name().trim_start_matches("source_"));
                object.insert(
                    field.name().clone(),
                    value.map_or(serde_json::Value::Null, |v| {
                        serde_json::Value::String(match column {
                            Some(c) => mask_for_report(c, &v),
                            None => v,
                        })
                    }),
                );
            }
            out.push(serde_json::Value::Object(object));
        }
    }
    out
}

/// The resource's main table, the one rules, metrics and profiles look at.
pub(crate) fn main_table(resource: &ResourceDetail) -> Option<&zhongshu_catalog::TableRecord> {
    resource.tables.iter().find(|t| t.name == "main")
}

fn table_path(resource: &ResourceDetail, table: &str) -> Option<String> {
    resource
        .tables
        .iter()
        .find(|t| t.name == table)
        .map(|t| t.path.clone())
}

/// How long a resource may go without an update, by its declared cycle (with a day's grace).
fn allowance(cycle: UpdateCycle) -> Option<chrono::Duration> {
    let days = match cycle {
        UpdateCycle::Realtime | UpdateCycle::Daily => 2,
        UpdateCycle::Weekly => 8,
        UpdateCycle::Monthly => 32,
        UpdateCycle::Quarterly => 93,
        UpdateCycle::Yearly => 367,
        _ => return None,
    };
    Some(chrono::Duration::days(days))
}

/// Evaluates the rules that apply to one resource; returns one result per bound rule.
pub async fn evaluate_resource(
    store: &dyn CatalogStore,
    lake: &Lake,
    rules: &[RuleSpec],
    elements: &[DataElement],
    resource: &ResourceDetail,
    trigger: &str,
) -> Result<Vec<QualityResult>> {
    let bound = rules_for(rules, resource, elements);
    let Some(path) = table_path(resource, "main") else {
        return Ok(Vec::new());
    };
    if bound.is_empty() {
        return Ok(Vec::new());
    }
    let version = main_table(resource).map(|t| t.version);
    let columns: BTreeMap<String, &Column> = resource
        .columns
        .iter()
        .map(|c| (c.name.clone(), c))
        .collect();
    let keys: Vec<String> = resource
        .columns
        .iter()
        .filter(|c| c.is_key)
        .map(|c| c.name.clone())
        .collect();
    // One session per resource: its table as `t`, each reference rule's table as `ref_N`.
    let mut tables: Vec<(String, String)> = vec![("t".into(), path.clone())];
    for (i, rule) in bound.iter().enumerate() {
        if let Check::Reference {
            ref_resource: other,
            ref_table: table,
            ..
        } = &rule.spec.check
        {
            let other = store
                .get_resource(&ResourceId::new(other.clone()))
                .await?
                .ok_or_else(|| {
                    QualityError::Rule(format!(
                        "rule {}: referenced resource {other} is not in the catalog",
                        rule.spec.id
                    ))
                })?;
            let other_path = table_path(&other, table).ok_or_else(|| {
                QualityError::Rule(format!(
                    "rule {}: resource {} has no table `{table}` yet",
                    rule.spec.id, other.resource.id
                ))
            })?;
            tables.push((format!("ref_{i}"), other_path));
        }
    }
    let table_refs: Vec<(&str, &str)> = tables
        .iter()
        .map(|(n, p)| (n.as_str(), p.as_str()))
        .collect();
    let ctx = lake.system_session("quality", &table_refs).await?;
    udf::register(|f| ctx.register_udf(f));
    let now = chrono::Utc::now();
    let plans: Vec<Option<Plan>> = bound
        .iter()
        .enumerate()
        .map(|(i, rule)| match rule.spec.check {
            Check::Freshness => Ok(None),
            _ => plan(rule, resource, &format!("ref_{i}")).map(Some),
        })
        .collect::<Result<_>>()?;
    let mut counts = count_failures(&ctx, &bound, &plans).await?;
    let mut out = Vec::new();
    for (i, rule) in bound.iter().enumerate() {
        let mut result = QualityResult {
            evaluation: 0,
            rule: rule.spec.id.clone(),
            resource: resource.resource.id.clone(),
            column: rule.column.as_ref().map(|c| c.name.clone()),
            kind: rule.spec.check.kind().into(),
            dimension: rule.spec.check.dimension().as_code().into(),
            severity: rule.spec.severity.as_code().into(),
            trigger: trigger.into(),
            evaluated_at: now.to_rfc3339(),
            table_version: version,
            rows_checked: 0,
            rows_failed: 0,
            examples: Vec::new(),
        };
        let Some(plan) = &plans[i] else {
            let last = main_table(resource)
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t.last_update).ok());
            result.rows_checked = 1;
            let stale = match (allowance(resource.resource.update_cycle), last) {
                (Some(allowed), Some(last)) => now.signed_duration_since(last) > allowed,
                (Some(_), None) => true,
                (None, _) => false,
            };
            if stale {
                result.rows_failed = 1;
                result.examples.push(serde_json::json!({
                    "last_update": last.map(|l| l.to_rfc3339()),
                    "update_cycle": resource.resource.update_cycle.to_string(),
                }));
            }
            out.push(result);
            continue;
        };
        let counted = &mut counts[i];
        (result.rows_checked, result.rows_failed) = (counted.checked, counted.failed);
        if let Some(found) = counted.examples.take() {
            result.examples = examples(&found, &columns);
        } else if result.rows_failed > 0 {
            let mut shown: Vec<String> = keys.iter().map(|k| format!("t.{}", quote(k))).collect();
            if let Some(c) = &rule.column
                && !keys.contains(&c.name)
            {
                shown.push(format!("t.{}", quote(&c.name)));
            }
            if let Check::IdAgreement { birth_date, sex } = &rule.spec.check {
                shown.extend(
                    [birth_date, sex]
                        .into_iter()
                        .flatten()
                        .map(|c| format!("t.{}", quote(c))),
                );
            }
            if shown.is_empty() {
                shown.push("t.*".into());
            }
            let batches = sql(
                &ctx,
                &format!(
                    "SELECT {} FROM {} WHERE {} LIMIT {EXAMPLES}",
                    shown.join(", "),
                    plan.from,
                    plan.fail
                ),
            )
            .await?;
            result.examples = examples(&batches, &columns);
        }
        out.push(result);
    }
    Ok(out)
}

/// What counting found for one rule.
#[derive(Default)]
struct Counted {
    checked: i64,
    failed: i64,
    /// Examples found on the way (duplicate keys), so no second query is needed.
    examples: Option<Vec<RecordBatch>>,
}

/// Rows checked and failed per rule. Rules over the table alone share one scan (one `SUM` per
/// rule); `unique` is one grouped query (the duplicate keys, whose surplus copies are the
/// failures); joins run as their own query. Should the shared scan fail (a broken `sql`
/// predicate), each rule runs alone so that the error names it.
async fn count_failures(
    ctx: &SystemSession,
    bound: &[BoundRule],
    plans: &[Option<Plan>],
) -> Result<Vec<Counted>> {
    let mut counts: Vec<Counted> = plans.iter().map(|_| Counted::default()).collect();
    let is_shared = |p: &Plan| p.from == "t" && p.duplicates_of.is_none();
    let shared: Vec<usize> = (0..plans.len())
        .filter(|i| plans[*i].as_ref().is_some_and(is_shared))
        .collect();
    let mut alone: Vec<usize> = (0..plans.len())
        .filter(|i| plans[*i].as_ref().is_some_and(|p| !is_shared(p)))
        .collect();
    let sums: Vec<String> = shared
        .iter()
        .filter_map(|i| plans[*i].as_ref())
        .map(|p| format!("SUM(CASE WHEN {} THEN 1 ELSE 0 END)", p.fail))
        .collect();
    // The row count, with the shared rules when there are some.
    let mut rows = None;
    if !sums.is_empty() {
        match sql(ctx, &format!("SELECT COUNT(*), {} FROM t", sums.join(", "))).await {
            Ok(batches) => {
                let checked = first_i64(&batches, 0);
                rows = Some(checked);
                for (k, i) in shared.iter().enumerate() {
                    counts[*i].checked = checked;
                    counts[*i].failed = first_i64(&batches, k + 1);
                }
            }
            Err(_) => alone.extend(&shared),
        }
    }
    for i in alone {
        let Some(plan) = &plans[i] else { continue };
        let named = |e: QualityError| QualityError::Rule(format!("rule {}: {e}", bound[i].spec.id));
        if let Some(keys) = &plan.duplicates_of {
            let checked = match rows {
                Some(n) => n,
                None => first_i64(&sql(ctx, "SELECT COUNT(*) FROM t").await?, 0),
            };
            rows = Some(checked);
            let batches = sql(
                ctx,
                &format!(
                    "SELECT {keys}, COUNT(*) AS copies FROM t GROUP BY {keys} HAVING COUNT(*) > 1"
                ),
            )
            .await
            .map_err(named)?;
            let mut failed = 0;
            for b in &batches {
                let copies = b.column(b.num_columns() - 1);
                let copies = cast(copies, &DataType::Int64)
                    .map_err(|e| QualityError::Engine(zhongshu_engine::EngineError::Arrow(e)))?;
                let copies = copies.as_primitive::<datafusion::arrow::datatypes::Int64Type>();
                failed += copies.iter().flatten().map(|n| n - 1).sum::<i64>();
            }
            let mut examples = Vec::new();
            let mut left = EXAMPLES;
            for b in &batches {
                if left == 0 {
                    break;
                }
                let take = left.min(b.num_rows());
                examples.push(b.slice(0, take));
                left -= take;
            }
            counts[i] = Counted {
                checked,
                failed,
                examples: Some(examples),
            };
            continue;
        }
        let batches = sql(
            ctx,
            &format!(
                "SELECT COUNT(*) AS checked, SUM(CASE WHEN {} THEN 1 ELSE 0 END) AS failed FROM {}",
                plan.fail, plan.from
            ),
        )
        .await
        .map_err(named)?;
        counts[i].checked = first_i64(&batches, 0);
        counts[i].failed = first_i64(&batches, 1);
    }
    Ok(counts)
}

async fn sql(ctx: &SystemSession, query: &str) -> Result<Vec<RecordBatch>> {
    Ok(ctx.sql(query).await?)
}

/// An identifier element: one whose values name an entity (a validator that identifies, or
/// a key item of its source).
fn identifier_columns<'a>(resource: &'a ResourceDetail, identifiers: &[String]) -> Vec<&'a Column> {
    resource
        .columns
        .iter()
        .filter(|c| {
            c.element
                .as_ref()
                .is_some_and(|e| identifiers.iter().any(|i| i == e.as_str()))
        })
        .collect()
}

/// Checks every replica of every sourced data element against its source (一数一源); one
/// result per replica column. Identifier elements themselves are skipped: a person missing
/// from the district's population may be legitimately enrolled elsewhere, which `reference`
/// rules decide case by case.
pub async fn check_consistency(
    store: &dyn CatalogStore,
    lake: &Lake,
    only: Option<&ResourceId>,
    trigger: &str,
) -> Result<Vec<QualityResult>> {
    let elements = store.list_elements().await?;
    // Elements whose values identify an entity: those whose source column is a key item.
    let mut identifiers = Vec::new();
    let mut sourced = Vec::new();
    for element in &elements {
        let bindings = store.element_bindings(element.id.as_str()).await?;
        if let Some(source) = &bindings.source {
            let detail = store.get_resource(&source.resource).await?;
            let is_key = detail
                .as_ref()
                .and_then(|d| d.columns.iter().find(|c| c.name == source.column))
                .is_some_and(|c| c.is_key);
            if is_key {
                identifiers.push(element.id.as_str().to_owned());
            } else {
                sourced.push((element.clone(), bindings));
            }
        }
    }
    let now = chrono::Utc::now().to_rfc3339();
    let mut out = Vec::new();
    for (element, bindings) in &sourced {
        let Some(source) = &bindings.source else {
            continue;
        };
        let Some(source_detail) = store.get_resource(&source.resource).await? else {
            continue;
        };
        let Some(source_path) = table_path(&source_detail, "main") else {
            continue;
        };
        for replica in bindings
            .replicas
            .iter()
            .filter(|r| r.role == BindingRole::Replica)
        {
            if only.is_some_and(|o| o != &replica.resource) {
                continue;
            }
            let Some(replica_detail) = store.get_resource(&replica.resource).await? else {
                continue;
            };
            let Some(replica_path) = table_path(&replica_detail, "main") else {
                continue;
            };
            // The join key: an identifier element bound in both resources, preferring the
            // source's key.
            let source_ids = identifier_columns(&source_detail, &identifiers);
            let replica_ids = identifier_columns(&replica_detail, &identifiers);
            let Some((s_key, r_key)) = source_ids
                .iter()
                .filter(|s| s.is_key)
                .chain(source_ids.iter().filter(|s| !s.is_key))
                .find_map(|s| {
                    replica_ids
                        .iter()
                        .find(|r| r.element == s.element)
                        .map(|r| (*s, *r))
                })
            else {
                continue;
            };
            let replica_keys: Vec<String> = replica_detail
                .columns
                .iter()
                .filter(|c| c.is_key)
                .map(|c| format!("CAST(r.{} AS VARCHAR)", quote(&c.name)))
                .collect();
            let entity = if replica_keys.is_empty() {
                format!("CAST(r.{} AS VARCHAR)", quote(&r_key.name))
            } else {
                replica_keys.join(" || '|' || ")
            };
            let ctx = lake
                .system_session("quality", &[("r", &replica_path), ("s", &source_path)])
                .await?;
            // Each replica row (by its own key; a row delivered twice counts once) joined to
            // the source entity.
            let joined = format!(
                "(SELECT DISTINCT {entity} AS entity, CAST(r.{rk} AS VARCHAR) AS key, \
                 CAST(r.{rc} AS VARCHAR) AS replica_value FROM r WHERE r.{rc} IS NOT NULL) x \
                 JOIN (SELECT CAST(s.{sk} AS VARCHAR) AS key, CAST(s.{sc} AS VARCHAR) AS source_value \
                 FROM s WHERE s.{sc} IS NOT NULL) y ON x.key = y.key",
                rk = quote(&r_key.name),
                rc = quote(&replica.column),
                sk = quote(&s_key.name),
                sc = quote(&source.column),
            );
            let fail = "x.replica_value <> y.source_value";
            let counts = sql(
                &ctx,
                &format!(
                    "SELECT COUNT(DISTINCT x.entity) AS checked, \
                     COUNT(DISTINCT CASE WHEN {fail} THEN x.entity END) AS failed FROM {joined}"
                ),
            )
            .await?;
            let rows_failed = first_i64(&counts, 1);
            let column = replica_detail
                .columns
                .iter()
                .find(|c| c.name == replica.column);
            let examples = if rows_failed > 0 {
                let batches = sql(
                    &ctx,
                    &format!(
                        "SELECT DISTINCT x.key AS key, x.replica_value AS value, y.source_value AS source_value \
                         FROM {joined} WHERE {fail} ORDER BY key LIMIT {EXAMPLES}"
                    ),
                )
                .await?;
                let mut columns = BTreeMap::from([("key".to_owned(), r_key)]);
                columns.extend(column.map(|c| ("value".to_owned(), c)));
                examples(&batches, &columns)
            } else {
                Vec::new()
            };
            out.push(QualityResult {
                evaluation: 0,
                rule: format!("consistency:{}", element.id),
                resource: replica.resource.clone(),
                column: Some(replica.column.clone()),
                kind: "consistency".into(),
                dimension: Dimension::Consistency.as_code().into(),
                severity: Severity::Warn.as_code().into(),
                trigger: trigger.into(),
                evaluated_at: now.clone(),
                table_version: main_table(&replica_detail).map(|t| t.version),
                rows_checked: first_i64(&counts, 0),
                rows_failed,
                examples,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{ArrayRef, StringArray};
    use datafusion::arrow::datatypes::{Field, Schema};
    use datafusion::prelude::{SessionContext, col};
    use std::sync::Arc;
    use zhongshu_catalog::{Category, ElementId};
    use zhongshu_policies::MaskKey;

    fn column(name: &str, grade: Grade, element: Option<&str>) -> Column {
        Column {
            name: name.into(),
            title: name.into(),
            data_type: "string".into(),
            nullable: true,
            is_key: false,
            description: String::new(),
            category: Category::Personal,
            grade,
            element: element.map(ElementId::new),
            binding: None,
        }
    }

    #[test]
    fn masks_by_grade() {
        let shown = mask_for_report;
        let id = |grade| column("id_no", grade, Some("resident_id"));
        assert_eq!(
            shown(&column("insurance", Grade::L2, None), "失业保险"),
            "失业保险"
        );
        assert_eq!(
            shown(&column("name", Grade::L3, Some("person_name")), "张三"),
            "张*"
        );
        assert_eq!(
            shown(&id(Grade::L3), "440310199001011234"),
            "440310********1234"
        );
        assert_eq!(shown(&column("note", Grade::L3, None), "5000"), "5**0");
        // L4 and above: one placeholder, whatever the value and its length.
        assert_eq!(shown(&id(Grade::L4), "440310199001011234"), "****");
        assert_eq!(shown(&column("salary", Grade::L4, None), "5000"), "****");
        assert_eq!(shown(&id(Grade::Core), "440310199001011234"), "****");
        // An L3 number is null on the query path: hidden here, not shown as missing.
        let mut amount = column("amount", Grade::L3, None);
        amount.data_type = "int64".into();
        assert_eq!(shown(&amount, "5000"), "****");
    }

    #[test]
    fn one_character_l3_values_are_not_shown() {
        assert_eq!(
            mask_for_report(&column("name", Grade::L3, Some("person_name")), "王"),
            "*"
        );
        assert_eq!(mask_for_report(&column("note", Grade::L3, None), "王"), "*");
        for element in ["resident_id", "mobile", "address"] {
            let shown = mask_for_report(&column("c", Grade::L3, Some(element)), "王");
            assert!(!shown.contains('王'), "{element}: {shown}");
        }
    }

    /// Failing examples show what the governed session shows a principal without a grant: the
    /// expression it puts in place of each L3 column, run here, gives the same text.
    #[tokio::test]
    async fn report_masks_equal_the_query_paths() {
        let columns = [
            column("id_no", Grade::L3, Some("resident_id")),
            column("name", Grade::L3, Some("person_name")),
            column("mobile", Grade::L3, Some("mobile")),
            column("note", Grade::L3, None),
        ];
        let values = ["440310199001011234", "张三", "13812345678", "王"];
        let schema = Arc::new(Schema::new(
            columns
                .iter()
                .map(|c| Field::new(c.name.as_str(), DataType::Utf8, true))
                .collect::<Vec<_>>(),
        ));
        let arrays: Vec<ArrayRef> = values
            .iter()
            .map(|v| Arc::new(StringArray::from(vec![*v])) as ArrayRef)
            .collect();
        let batch = RecordBatch::try_new(schema, arrays).unwrap();
        let key = MaskKey::new(b"0123456789abcdef-deployment").unwrap();
        let ctx = SessionContext::new();
        let governed = ctx
            .read_batch(batch.clone())
            .unwrap()
            .select(
                columns
                    .iter()
                    .map(|c| {
                        let mask = default_mask(c).unwrap();
                        mask.expr(col(c.name.as_str()), &DataType::Utf8, &key)
                            .alias(c.name.as_str())
                    })
                    .collect::<Vec<_>>(),
            )
            .unwrap()
            .collect()
            .await
            .unwrap();
        let by_name: BTreeMap<String, &Column> =
            columns.iter().map(|c| (c.name.clone(), c)).collect();
        let shown = examples(&[batch], &by_name);
        for (i, c) in columns.iter().enumerate() {
            let query = governed[0].column(i).as_string_view().value(0);
            assert_eq!(shown[0][&c.name], query, "{}", c.name);
        }
        assert_eq!(shown[0]["id_no"], "440310********1234");
        assert_eq!(shown[0]["name"], "张*");
        assert_eq!(shown[0]["mobile"], "138****5678");
        assert_eq!(shown[0]["note"], "*");
    }
}

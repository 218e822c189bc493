//! Rules as people keep them: the rules a principal may see, declaring and removing them under
//! Cedar's `manage_rules`, the checks of a new data element, and code lists in rules.
//!
//! A rule on a resource is its department's to declare (`manage_rules` on the resource); a rule
//! on a data element applies wherever the element is bound, so it is the element's source
//! department's. Every door (CLI, HTTP, console) goes through [`declare`] and [`remove`].
//! A rule that names a catalog code list (`list`) gets the list's codes when it is read for
//! evaluation ([`stored_rules`]), so reloading the list changes what the rule accepts.

use crate::evaluate::QualityError;
use crate::rule::{Check, RuleSpec, Severity};
use zhongshu_catalog::{Actor, CatalogStore, DataElement, Principal, ResourceId};
use zhongshu_engine::Core;
use zhongshu_policies::Action;

type Result<T> = std::result::Result<T, QualityError>;

/// Every stored rule, with the codes of the catalog code lists they name.
pub async fn stored_rules(store: &dyn CatalogStore) -> Result<Vec<RuleSpec>> {
    let mut rules: Vec<RuleSpec> = store
        .list_quality_rules()
        .await?
        .iter()
        .map(RuleSpec::from_record)
        .collect::<std::result::Result<_, _>>()
        .map_err(QualityError::Rule)?;
    let mut lists = std::collections::HashMap::new();
    for rule in &mut rules {
        let Check::CodeList {
            list: Some(id),
            labels,
            values,
            ..
        } = &mut rule.check
        else {
            continue;
        };
        if !lists.contains_key(id.as_str()) {
            let list = store.get_code_list(id).await?.ok_or_else(|| {
                QualityError::Rule(format!(
                    "rule {}: code list {id} is not in the catalog (load it again or remove the rule)",
                    rule.id
                ))
            })?;
            lists.insert(id.clone(), list);
        }
        let list = &lists[id.as_str()];
        *values = list
            .values
            .iter()
            .map(|v| {
                if *labels {
                    v.label.clone()
                } else {
                    v.code.clone()
                }
            })
            .collect();
    }
    Ok(rules)
}

/// The rules that check values against code list `id`.
pub async fn code_list_users(store: &dyn CatalogStore, id: &str) -> Result<Vec<String>> {
    Ok(store
        .list_quality_rules()
        .await?
        .iter()
        .filter_map(|r| RuleSpec::from_record(r).ok())
        .filter(|r| matches!(&r.check, Check::CodeList { list: Some(l), .. } if l == id))
        .map(|r| r.id)
        .collect())
}

/// The resource whose department answers for `rule`: its resource, or its element's source.
async fn answerable(store: &dyn CatalogStore, rule: &RuleSpec) -> Result<Option<ResourceId>> {
    Ok(match (&rule.resource, &rule.element) {
        (Some(resource), _) => Some(ResourceId::new(resource.as_str())),
        (None, Some(element)) => store
            .element_bindings(element)
            .await?
            .source
            .map(|s| s.resource),
        (None, None) => None,
    })
}

async fn require_manage(core: &Core, principal: &Principal, rule: &RuleSpec) -> Result<()> {
    match answerable(core.store().as_ref(), rule).await? {
        Some(resource) => {
            zhongshu_engine::catalogue::require(core, principal, &resource, Action::ManageRules)
                .await
                .map_err(Into::into)
        }
        None => Err(QualityError::Refused(format!(
            "rule {}: its data element has no source department to decide who declares its \
             rules; the host's operator declares it",
            rule.id
        ))),
    }
}

/// Declares (adds or replaces) rules as `principal`, each decided with Cedar.
pub async fn declare(core: &Core, principal: &Principal, rules: &[RuleSpec]) -> Result<()> {
    for rule in rules {
        require_manage(core, principal, rule).await?;
    }
    crate::add_rules(
        core.store().as_ref(),
        &Actor::principal(&principal.id),
        rules,
    )
    .await
}

/// Removes rule `id` as `principal`. A rule on a resource it may not discover looks missing.
pub async fn remove(core: &Core, principal: &Principal, id: &str) -> Result<()> {
    let rule = stored_rules(core.store().as_ref())
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| QualityError::Rule(format!("no rule {id}")))?;
    if let Some(resource) = answerable(core.store().as_ref(), &rule).await? {
        let decisions = core.query().decisions(principal, None).await?;
        if !decisions.allows(&resource, Action::Discover) {
            return Err(QualityError::Rule(format!("no rule {id}")));
        }
    }
    require_manage(core, principal, &rule).await?;
    Ok(core
        .store()
        .delete_quality_rule(&Actor::principal(&principal.id), id)
        .await?)
}

/// A rule as a reader sees it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RuleView {
    /// The rule (for a code list, with its codes).
    pub rule: RuleSpec,
    /// Its kind's code (`not_null`, `code_list`, …).
    pub kind: &'static str,
    /// Its dimension's code.
    pub dimension: &'static str,
    /// The reader may change or remove it.
    pub manageable: bool,
}

/// The rules `principal` may see: those on resources it may discover, and every element rule
/// (the vocabulary's checks are public), by id.
pub async fn visible(core: &Core, principal: &Principal) -> Result<Vec<RuleView>> {
    let decisions = core.query().decisions(principal, None).await?;
    let mut out = Vec::new();
    for rule in stored_rules(core.store().as_ref()).await? {
        let answers = answerable(core.store().as_ref(), &rule).await?;
        if rule.resource.is_some()
            && !answers
                .as_ref()
                .is_some_and(|r| decisions.allows(r, Action::Discover))
        {
            continue;
        }
        let manageable = answers
            .as_ref()
            .is_some_and(|r| decisions.allows_all(r, &[Action::Discover, Action::ManageRules]));
        out.push(RuleView {
            kind: rule.check.kind(),
            dimension: rule.check.dimension().as_code(),
            manageable,
            rule,
        });
    }
    out.sort_by(|a, b| a.rule.id.cmp(&b.rule.id));
    Ok(out)
}

/// How a new element's values are checked wherever it is bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ElementCheck {
    /// No check beyond its type.
    None,
    /// A built-in validator (`resident_id`, `uscc`, `mobile`, …).
    Validator(zhongshu_catalog::validators::Validator),
    /// A regular expression the whole value must match.
    Pattern(String),
}

/// Adds a data element (through [`zhongshu_engine::standards::add_element`], decided with
/// Cedar) with its check as an element rule, `ELEMENT-valid`, evaluated wherever the element is
/// bound. A bad pattern is refused before anything is written.
pub async fn define_element(
    core: &Core,
    principal: &Principal,
    element: DataElement,
    check: ElementCheck,
) -> Result<DataElement> {
    let rule_check = match &check {
        ElementCheck::None => None,
        ElementCheck::Validator(v) => Some(Check::CheckDigit {
            validator: v.as_code().to_owned(),
        }),
        ElementCheck::Pattern(p) => {
            let anchored = format!("^(?:{p})$");
            regex::Regex::new(&anchored).map_err(|e| {
                QualityError::Rule(format!("data element {}: pattern `{p}`: {e}", element.id))
            })?;
            Some(Check::Regex { pattern: anchored })
        }
    };
    let mut element = element;
    if let ElementCheck::Validator(v) = check {
        element.validator = Some(v);
    }
    let added = zhongshu_engine::standards::add_element(core, principal, &element).await?;
    if let Some(check) = rule_check {
        let rule = RuleSpec {
            id: format!("{}-valid", added.id),
            resource: None,
            element: Some(added.id.to_string()),
            column: None,
            check,
            severity: Severity::Warn,
            description: format!("{} 的取值须符合数据标准", added.name),
        };
        crate::add_rules(
            core.store().as_ref(),
            &Actor::principal(&principal.id),
            &[rule],
        )
        .await?;
    }
    Ok(added)
}

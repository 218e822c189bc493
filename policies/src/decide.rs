//! From catalog facts to a principal's [`SessionAccess`]: which tables it reads, with which
//! columns under which masks and which rows, and which it may only discover.
//!
//! Per resource, Cedar decides `discover`, `read` and `read_unmasked` (see
//! [`crate::authorizer`]); the grant usable under the session's purpose then shapes the columns
//! and rows:
//!
//! - with `read_unmasked` (owners, or whoever a custom policy names) every column is shown as is;
//! - otherwise L1 and L2 columns are shown, L3 columns carry their default mask (a grant may name
//!   another mask, or `none`), L4 columns are hidden unless the grant names them, and 重要/核心
//!   columns are hidden unless a grant bound to the session's purpose names them;
//! - a grant that lists columns shows only those; its row filter limits the rows, with
//!   `principal.jurisdiction`, `principal.org` and `principal.id` replaced by the principal's
//!   values.
//!
//! When several grants apply, one is used: the principal's own before its organisation's, one
//! bound to the session's purpose before an unbound one, then the newest. Grants are never
//! merged, so a session never sees more than one grant allows.

use crate::access::{ColumnAccess, DeniedTable, SessionAccess, TableAccess, table_name};
use crate::authorizer::{Action, Authorizer, PolicyError};
use crate::decisions::{Classes, Decisions, Subject, request_context, usable_grant};
use crate::mask::{Mask, default_mask};
use crate::row_filter::row_filter;
use std::sync::Arc;
use zhongshu_catalog::{Grade, Grant, OrgUnit, ResourceDetail};

/// Decides a principal's session over `resources`, given its grants in force.
///
/// Each resource is decided through [`Decisions`], so resources alike in their facts and
/// context are decided once; a request Cedar cannot evaluate is refused.
pub fn decide(
    authorizer: &Arc<Authorizer>,
    subject: Subject<'_>,
    orgs: &[OrgUnit],
    resources: &[ResourceDetail],
    grants: &[Grant],
) -> Result<SessionAccess, PolicyError> {
    let classes = Arc::new(Classes::new(authorizer, resources));
    decide_with(authorizer, &classes, subject, orgs, resources, grants)
}

/// [`decide`] over classes already sorted from `resources` by `authorizer`.
pub fn decide_with(
    authorizer: &Arc<Authorizer>,
    classes: &Arc<Classes>,
    subject: Subject<'_>,
    orgs: &[OrgUnit],
    resources: &[ResourceDetail],
    grants: &[Grant],
) -> Result<SessionAccess, PolicyError> {
    let principal = subject.principal;
    let decisions =
        Decisions::with_classes(authorizer.clone(), classes.clone(), subject, orgs, grants)?;
    let mut access = SessionAccess {
        audit_log: decisions.allows_audit_log(Action::Read)
            && (!subject.download || decisions.allows_audit_log(Action::Download)),
        ..SessionAccess::default()
    };
    for detail in resources {
        let resource = &detail.resource;
        let grant = usable_grant(grants, detail, subject);
        let context = request_context(grant, subject);
        let allowed = |action| decisions.allows(&resource.id, action);
        if !allowed(Action::Discover) {
            continue;
        }
        let readable = allowed(Action::Read);
        let read = readable && (!subject.download || allowed(Action::Download));
        let unmasked = read && allowed(Action::ReadUnmasked);
        for table in &detail.tables {
            let (schema, name) = table_name(&table.path);
            if !read {
                access.denied.push(DeniedTable {
                    schema,
                    name,
                    path: table.path.clone(),
                    columns: detail
                        .columns
                        .iter()
                        .filter(|c| c.grade <= Grade::L3)
                        .map(|c| c.name.clone())
                        .collect(),
                    reason: if readable {
                        format!(
                            "{} ({}) may be queried but not downloaded; ask for the result as \
                             JSON or in a table instead",
                            resource.name, resource.id
                        )
                    } else {
                        denial_reason(detail, subject, grants)
                    },
                });
                continue;
            }
            let row_filter = match grant.and_then(|g| g.grant.row_filter.as_deref()) {
                Some(filter) => match row_filter(filter, principal) {
                    Ok(f) => Some(f),
                    Err(reason) => {
                        let id = grant.map(|g| g.id).unwrap_or_default();
                        access.denied.push(DeniedTable {
                            schema,
                            name,
                            path: table.path.clone(),
                            columns: vec![],
                            reason: format!(
                                "grant {id} has a row filter that cannot be applied ({reason}); \
                                 ask {} to correct the grant",
                                resource.provider
                            ),
                        });
                        continue;
                    }
                },
                None => None,
            };
            let mut columns = Vec::with_capacity(detail.columns.len());
            for column in &detail.columns {
                if unmasked {
                    columns.push(ColumnAccess {
                        name: column.name.clone(),
                        mask: None,
                    });
                    continue;
                }
                let named = grant.is_some_and(|g| g.grant.columns.contains(&column.name));
                if grant.is_some_and(|g| !g.grant.columns.is_empty()) && !named {
                    continue;
                }
                let visible = match column.grade {
                    Grade::L1 | Grade::L2 | Grade::L3 => true,
                    Grade::L4 => named,
                    Grade::Important | Grade::Core => named && context.purpose_granted,
                };
                if !visible {
                    continue;
                }
                let granted_mask = grant.and_then(|g| g.grant.masks.get(&column.name));
                let mask = match granted_mask {
                    Some(code) if code == "none" => None,
                    Some(code) => Some(code.parse::<Mask>().map_err(|e| PolicyError::Grant {
                        grant: grant.map(|g| g.id).unwrap_or_default(),
                        reason: e.to_string(),
                    })?),
                    None if column.grade == Grade::L3 => default_mask(column),
                    None => None,
                };
                columns.push(ColumnAccess {
                    name: column.name.clone(),
                    mask,
                });
            }
            access.tables.push(TableAccess {
                schema,
                name,
                path: table.path.clone(),
                columns,
                row_filter: row_filter.clone(),
            });
        }
    }
    Ok(access)
}

fn denial_reason(resource: &ResourceDetail, subject: Subject<'_>, grants: &[Grant]) -> String {
    let r = &resource.resource;
    let bound: Vec<&str> = grants
        .iter()
        .filter(|g| g.grant.resource == r.id)
        .filter_map(|g| g.grant.purpose.as_deref())
        .collect();
    if !bound.is_empty() && bound.iter().all(|p| Some(*p) != subject.purpose) {
        return format!(
            "{} ({}) is granted to you only for the purpose {}; declare it with \
             SET zhongshu.purpose = '…' (pgwire) or the x-zhongshu-purpose header",
            r.name,
            r.id,
            bound
                .iter()
                .map(|p| format!("'{p}'"))
                .collect::<Vec<_>>()
                .join(" or ")
        );
    }
    if r.grade.is_some_and(|g| g >= Grade::Important) {
        return format!(
            "{} ({}) holds {} and is read only under a grant bound to a declared purpose",
            r.name,
            r.id,
            r.grade.map(|g| g.label()).unwrap_or_default()
        );
    }
    format!(
        "{} ({}) is {}; apply to {} for a grant",
        r.name,
        r.id,
        r.share_attr.label(),
        r.provider
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ResourceFacts;
    use crate::authorizer::RequestContext;
    use std::collections::BTreeMap;
    use zhongshu_catalog::{
        Category, Column, CustomPolicy, ElementId, Grantee, LibraryTier, NewGrant, OpenAttr, OrgId,
        OrgKind, Principal, PrincipalAttributes, PrincipalId, PrincipalKind, Resource, ResourceId,
        Role, ShareAttr, TableRecord, UpdateCycle,
    };

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

    fn persons(share: ShareAttr) -> ResourceDetail {
        let columns = vec![
            column("id_no", Grade::L3, Some("resident_id")),
            column("name", Grade::L3, Some("person_name")),
            column("street_code", Grade::L1, None),
            column("income", Grade::L4, None),
        ];
        ResourceDetail {
            resource: Resource {
                id: ResourceId::new("440310-GA-0001"),
                name: "人口基础信息".into(),
                provider: OrgId::new("440310-gaj"),
                abstract_text: String::new(),
                format: "数据库表".into(),
                share_attr: share,
                share_conditions: None,
                open_attr: OpenAttr::NotOpen,
                open_conditions: None,
                update_cycle: UpdateCycle::Daily,
                tier: LibraryTier::Base,
                publish_date: None,
                grade: Some(Grade::L4),
                created_at: String::new(),
                updated_at: String::new(),
            },
            provider_name: "公安分局".into(),
            columns,
            tables: vec![TableRecord {
                resource: ResourceId::new("440310-GA-0001"),
                name: "main".into(),
                path: "base/population/persons".into(),
                location: String::new(),
                version: 0,
                row_count: 0,
                schema_json: String::new(),
                partition_columns: vec![],
                last_update: String::new(),
            }],
        }
    }

    fn principal(id: &str, org: &str, kind: PrincipalKind, jurisdiction: &[&str]) -> Principal {
        Principal {
            id: PrincipalId::new(id),
            display_name: id.into(),
            kind,
            org: OrgId::new(org),
            roles: vec![Role::Analyst],
            attributes: PrincipalAttributes {
                jurisdiction: jurisdiction.iter().map(|j| (*j).to_owned()).collect(),
                clearance: None,
            },
        }
    }

    fn orgs() -> Vec<OrgUnit> {
        ["440310-gaj", "440310-rsj", "440310001"]
            .into_iter()
            .map(|id| OrgUnit {
                id: OrgId::new(id),
                name: id.into(),
                kind: OrgKind::DistrictDepartment,
                parent: None,
                division_code: None,
            })
            .collect()
    }

    fn grant(id: i64, to: &str, purpose: Option<&str>, filter: Option<&str>) -> Grant {
        Grant {
            id,
            grant: NewGrant {
                resource: ResourceId::new("440310-GA-0001"),
                grantee: Grantee::Principal(PrincipalId::new(to)),
                columns: vec![],
                purpose: purpose.map(Into::into),
                row_filter: filter.map(Into::into),
                masks: BTreeMap::new(),
                expires_at: None,
            },
            granted_by: "admin".into(),
            granted_at: String::new(),
            revoked_by: None,
            revoked_at: None,
        }
    }

    fn shown(access: &SessionAccess) -> Vec<String> {
        access
            .tables
            .iter()
            .flat_map(|t| {
                t.columns.iter().map(move |c| match c.mask {
                    Some(m) => format!("{}.{}[{}]", t.name, c.name, m.as_code()),
                    None => format!("{}.{}", t.name, c.name),
                })
            })
            .collect()
    }

    fn run(
        p: &Principal,
        purpose: Option<&str>,
        share: ShareAttr,
        grants: &[Grant],
        custom: &[CustomPolicy],
    ) -> SessionAccess {
        let authorizer = Arc::new(Authorizer::new(custom).unwrap());
        decide(
            &authorizer,
            Subject {
                principal: p,
                purpose,
                download: false,
            },
            &orgs(),
            &[persons(share)],
            grants,
        )
        .unwrap()
    }

    #[test]
    fn owner_sees_everything_unmasked() {
        let owner = principal("gaj_officer", "440310-gaj", PrincipalKind::User, &[]);
        let access = run(&owner, None, ShareAttr::NotShared, &[], &[]);
        assert_eq!(
            shown(&access),
            [
                "persons.id_no",
                "persons.name",
                "persons.street_code",
                "persons.income"
            ]
        );
        assert!(!access.audit_log);
    }

    #[test]
    fn conditional_sharing_needs_a_grant_and_masks_by_grade() {
        let rsj = principal("rsj_user", "440310-rsj", PrincipalKind::User, &[]);
        let without = run(&rsj, None, ShareAttr::Conditional, &[], &[]);
        assert!(without.tables.is_empty());
        assert_eq!(without.denied.len(), 1);
        assert!(
            without.denied[0].reason.contains("有条件共享"),
            "{:?}",
            without.denied
        );
        assert_eq!(without.denied[0].columns, ["id_no", "name", "street_code"]);

        let with = run(
            &rsj,
            None,
            ShareAttr::Conditional,
            &[grant(1, "rsj_user", None, None)],
            &[],
        );
        assert_eq!(
            shown(&with),
            [
                "persons.id_no[resident_id]",
                "persons.name[name]",
                "persons.street_code"
            ]
        );
    }

    #[test]
    fn purpose_bound_grants_need_the_purpose() {
        let rsj = principal("rsj_user", "440310-rsj", PrincipalKind::User, &[]);
        let grants = [grant(1, "rsj_user", Some("就业补贴审核"), None)];
        let wrong = run(&rsj, Some("其他"), ShareAttr::Conditional, &grants, &[]);
        assert!(wrong.tables.is_empty());
        assert!(
            wrong.denied[0].reason.contains("就业补贴审核"),
            "{:?}",
            wrong.denied
        );
        let right = run(
            &rsj,
            Some("就业补贴审核"),
            ShareAttr::Conditional,
            &grants,
            &[],
        );
        assert_eq!(right.tables.len(), 1);
    }

    #[test]
    fn row_filters_take_the_principals_jurisdiction_and_grants_name_l4_columns() {
        let street = principal(
            "pingshan_street",
            "440310001",
            PrincipalKind::User,
            &["440310001"],
        );
        let mut g = grant(
            2,
            "pingshan_street",
            None,
            Some("street_code IN (principal.jurisdiction)"),
        );
        g.grant.columns = vec!["name".into(), "street_code".into(), "income".into()];
        g.grant.masks.insert("name".into(), "none".into());
        let access = run(&street, None, ShareAttr::Conditional, &[g], &[]);
        assert_eq!(
            shown(&access),
            ["persons.name", "persons.street_code", "persons.income"]
        );
        assert_eq!(
            access.tables[0].row_filter.as_deref(),
            Some("street_code IN ('440310001')")
        );
    }

    #[test]
    fn public_and_not_shared() {
        let public = principal("anonymous", "public", PrincipalKind::Public, &[]);
        let access = run(&public, None, ShareAttr::Unconditional, &[], &[]);
        assert!(access.tables.is_empty() && access.denied.is_empty());
        let rsj = principal("rsj_user", "440310-rsj", PrincipalKind::User, &[]);
        // A grant cannot open what is not shared.
        let access = run(
            &rsj,
            None,
            ShareAttr::NotShared,
            &[grant(1, "rsj_user", None, None)],
            &[],
        );
        assert!(access.tables.is_empty() && access.denied.is_empty());
        // Unconditional sharing: government principals read, masked by grade, L4 hidden.
        let access = run(&rsj, None, ShareAttr::Unconditional, &[], &[]);
        assert_eq!(
            shown(&access),
            [
                "persons.id_no[resident_id]",
                "persons.name[name]",
                "persons.street_code"
            ]
        );
    }

    #[test]
    fn custom_policies_are_validated_and_apply() {
        let bad = CustomPolicy {
            id: "bad".into(),
            description: String::new(),
            policy: r#"permit(principal, action == Zhongshu::Action::"read", resource) when { resource.colour == "red" };"#.into(),
            created_by: "admin".into(),
            created_at: String::new(),
        };
        let err = Authorizer::new(std::slice::from_ref(&bad)).unwrap_err();
        assert!(err.to_string().contains("colour"), "{err}");
        let unmask = CustomPolicy {
            id: "rsj-unmasked".into(),
            policy: r#"permit(principal, action == Zhongshu::Action::"read_unmasked", resource)
                       when { principal.roles.contains("analyst") && resource.tier == "base" };"#
                .into(),
            ..bad
        };
        let rsj = principal("rsj_user", "440310-rsj", PrincipalKind::User, &[]);
        let access = run(&rsj, None, ShareAttr::Unconditional, &[], &[unmask]);
        assert_eq!(
            shown(&access),
            [
                "persons.id_no",
                "persons.name",
                "persons.street_code",
                "persons.income"
            ]
        );
    }

    #[test]
    fn row_filter_substitution_refuses_unknown_attributes_and_statements() {
        let p = principal("x", "440310-rsj", PrincipalKind::User, &[]);
        assert_eq!(
            row_filter("street_code IN (principal.jurisdiction)", &p).unwrap(),
            "street_code IN (NULL)"
        );
        assert!(
            row_filter("a = principal.salary", &p)
                .unwrap_err()
                .contains("salary")
        );
        assert!(row_filter("1 = 1; DROP TABLE x", &p).is_err());
    }

    #[test]
    fn a_decision_with_ten_thousand_policies_takes_under_a_millisecond() {
        // 9,900 policies for single principals (one of them the one deciding) and 100 for
        // organisations, which every decision has to consider.
        let custom: Vec<CustomPolicy> = (0..10_000)
            .map(|i| {
                let scope = match i {
                    0..100 => format!(r#"principal in Zhongshu::Org::"org{i}""#),
                    5_000 => r#"principal == Zhongshu::Principal::"rsj_user""#.to_owned(),
                    _ => format!(r#"principal == Zhongshu::Principal::"user{i}""#),
                };
                CustomPolicy {
                    id: format!("p{i}"),
                    description: String::new(),
                    policy: format!(
                        r#"permit({scope}, action == Zhongshu::Action::"read", resource)
                           when {{ resource.tier == "base" }};"#
                    ),
                    created_by: "admin".into(),
                    created_at: String::new(),
                }
            })
            .collect();
        let authorizer = Authorizer::new(&custom).unwrap();
        let p = principal("rsj_user", "440310-rsj", PrincipalKind::User, &[]);
        // Not shared: only the custom policy scoped to rsj_user allows the read.
        let detail = persons(ShareAttr::Conditional);
        let facts = [ResourceFacts::of(&detail.resource, vec!["personal"])];
        let scope = authorizer.scope(&p, &orgs(), &facts).unwrap();
        let context = RequestContext::default();
        let runs = 200;
        let started = std::time::Instant::now();
        for _ in 0..runs {
            assert!(
                authorizer
                    .is_allowed(&scope, &p, Action::Read, "440310-GA-0001", &context)
                    .unwrap()
            );
        }
        let per = started.elapsed() / runs;
        eprintln!(
            "Cedar decision with {} policies: {per:?}",
            authorizer.policy_count()
        );
        assert!(per < std::time::Duration::from_millis(1), "{per:?}");
    }

    #[test]
    fn government_principals_assess_what_they_cannot_discover_and_the_public_does_not() {
        let decisions = |p: &Principal, custom: &[CustomPolicy]| {
            crate::Decisions::new(
                std::sync::Arc::new(Authorizer::new(custom).unwrap()),
                Subject {
                    principal: p,
                    purpose: None,
                    download: false,
                },
                &orgs(),
                &[persons(ShareAttr::NotShared)],
                &[],
            )
            .unwrap()
        };
        let id = ResourceId::new("440310-GA-0001");
        let rsj = principal("rsj_user", "440310-rsj", PrincipalKind::User, &[]);
        let public = principal("public_user", "440310-rsj", PrincipalKind::Public, &[]);
        let rsj_decides = decisions(&rsj, &[]);
        assert!(!rsj_decides.allows(&id, Action::Discover));
        assert!(rsj_decides.allows(&id, Action::Assess));
        assert!(!decisions(&public, &[]).allows(&id, Action::Assess));
        let forbid = CustomPolicy {
            id: "rsj-assesses-nothing".into(),
            description: String::new(),
            policy: r#"forbid(principal == Zhongshu::Principal::"rsj_user", action == Zhongshu::Action::"assess", resource);"#.into(),
            created_by: "admin".into(),
            created_at: String::new(),
        };
        assert!(!decisions(&rsj, &[forbid]).allows(&id, Action::Assess));
    }

    #[test]
    fn resources_alike_share_decisions_unless_a_policy_names_one_and_grants_still_count() {
        // Two resources with the same facts: one class, unless a policy names one of them.
        let twin = |id: &str| {
            let mut d = persons(ShareAttr::Conditional);
            d.resource.id = ResourceId::new(id);
            d
        };
        let resources = [twin("440310-GA-0001"), twin("440310-GA-0002")];
        let (one, two) = (
            ResourceId::new("440310-GA-0001"),
            ResourceId::new("440310-GA-0002"),
        );
        let rsj = principal("rsj_user", "440310-rsj", PrincipalKind::User, &[]);
        let decisions = |custom: &[CustomPolicy], grants: &[Grant]| {
            let authorizer = std::sync::Arc::new(Authorizer::new(custom).unwrap());
            let subject = Subject {
                principal: &rsj,
                purpose: None,
                download: false,
            };
            crate::Decisions::new(authorizer, subject, &orgs(), &resources, grants).unwrap()
        };
        let plain = decisions(&[], &[]);
        assert!(plain.allows(&one, Action::Discover) && plain.allows(&two, Action::Discover));
        assert!(!plain.allows(&one, Action::Read) && !plain.allows(&two, Action::Read));
        // A grant on one of them makes that one readable, not its twin.
        let mut g = grant(1, "rsj_user", None, None);
        g.grant.resource = two.clone();
        let granted = decisions(&[], &[g]);
        assert!(!granted.allows(&one, Action::Read) && granted.allows(&two, Action::Read));
        // A policy that names one of them decides that one alone.
        let forbid = CustomPolicy {
            id: "hide-the-first".into(),
            description: String::new(),
            policy: r#"forbid(principal, action == Zhongshu::Action::"discover", resource == Zhongshu::Resource::"440310-GA-0001");"#.into(),
            created_by: "admin".into(),
            created_at: String::new(),
        };
        let named = decisions(&[forbid], &[]);
        assert!(
            !named.allows(&one, Action::Discover),
            "the named resource is hidden"
        );
        assert!(named.allows(&two, Action::Discover), "its twin is not");
        let authorizer = Authorizer::new(&[]).unwrap();
        assert_eq!(crate::Classes::new(&authorizer, &resources).len(), 1);
    }
}

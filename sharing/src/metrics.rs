//! The sharing figures the plans assess, district-wide and per department: the demand
//! satisfaction rate (应共享的数据需求满足率: satisfied demands ÷ demands that should be shared),
//! the time from request to decision (median and p90), requests waiting longer than the agreed
//! days, the sharing rate (共享率: shareable resources with an active grant or 无条件共享) and the
//! active grants by purpose. They are aggregates, counted over the resources the reader may
//! `assess` (government principals: all) or else discover.

use crate::demands::satisfied;
use std::collections::BTreeMap;
use zhongshu_catalog::{Principal, RequestStatus, ShareAttr};
use zhongshu_engine::Core;
use zhongshu_engine::error::Result;
use zhongshu_policies::Action;

/// Days within which a request is to be decided (the plans' 5 working days, as calendar days).
pub const AGREED_DAYS: i64 = 5;

/// One set of figures.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Figures {
    /// Demands filed.
    pub demands: usize,
    /// Demands that should be shared (all but those found not shareable).
    pub should_share: usize,
    /// Of those, satisfied by an active grant.
    pub satisfied: usize,
    /// `satisfied / should_share`, when there is any.
    pub satisfaction_rate: Option<f64>,
    /// Requests decided by a person (not granted at once by 无条件共享).
    pub decided: usize,
    /// Median hours from request to decision.
    pub median_hours: Option<f64>,
    /// 90th percentile of the same.
    pub p90_hours: Option<f64>,
    /// Pending requests older than [`AGREED_DAYS`].
    pub waiting_too_long: usize,
    /// Resources that may be shared (not 不予共享).
    pub shareable: usize,
    /// Of those, shared: 无条件共享 or with an active grant.
    pub shared: usize,
    /// `shared / shareable`.
    pub sharing_rate: Option<f64>,
    /// Active grants by purpose (`(none)` for grants without one).
    pub grants_by_purpose: BTreeMap<String, usize>,
}

/// The district's figures and each department's.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Metrics {
    /// When they were made, RFC 3339.
    pub at: String,
    /// The agreed days for a decision.
    pub agreed_days: i64,
    /// The whole district.
    pub district: Figures,
    /// By department: (id, name, figures), by id. Demands count for the department that filed
    /// them; requests, resources and grants for the owning department.
    pub departments: Vec<(String, String, Figures)>,
}

fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    Some(sorted[i])
}

fn ratio(a: usize, b: usize) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

fn hours_between(from: &str, to: &str) -> Option<f64> {
    let from = chrono::DateTime::parse_from_rfc3339(from).ok()?;
    let to = chrono::DateTime::parse_from_rfc3339(to).ok()?;
    Some((to - from).num_seconds() as f64 / 3600.0)
}

/// The figures as `principal` may see them, at `now`.
pub async fn metrics(
    core: &Core,
    principal: &Principal,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Metrics> {
    let decisions = core.query().decisions(principal, None).await?;
    let counted = |id: &zhongshu_catalog::ResourceId| {
        decisions.allows(id, Action::Assess) || decisions.allows(id, Action::Discover)
    };
    let store = core.store();
    let resources = core.query().resources().await?;
    let requests: Vec<_> = store
        .list_share_requests()
        .await?
        .into_iter()
        .filter(|r| counted(&r.request.resource))
        .collect();
    let grants: Vec<_> = store
        .list_grants(None)
        .await?
        .into_iter()
        .filter(|g| counted(&g.grant.resource) && g.is_active(&now))
        .collect();
    let demands = store.list_demands().await?;
    let orgs = store.list_orgs().await?;

    let mut by_org: BTreeMap<String, Figures> = BTreeMap::new();
    let mut district = Figures::default();
    let mut hours: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut all_hours = Vec::new();
    for d in &demands {
        let ok = satisfied(d, &requests, &grants, &now);
        let shareable = d.status != zhongshu_catalog::DemandStatus::NotShareable;
        for f in [
            &mut district,
            by_org.entry(d.demand.org.to_string()).or_default(),
        ] {
            f.demands += 1;
            f.should_share += usize::from(shareable);
            f.satisfied += usize::from(shareable && ok);
        }
    }
    for r in &requests {
        let owner = r.owner.to_string();
        if let (Some(decided_at), Some(by)) = (&r.decided_at, &r.decided_by)
            && by != crate::requests::UNCONDITIONAL
            && let Some(h) = hours_between(&r.filed_at, decided_at)
        {
            all_hours.push(h);
            hours.entry(owner.clone()).or_default().push(h);
        }
        let late = r.status == RequestStatus::Pending
            && hours_between(&r.filed_at, &now.to_rfc3339())
                .is_some_and(|h| h > (AGREED_DAYS * 24) as f64);
        if late {
            district.waiting_too_long += 1;
            by_org.entry(owner).or_default().waiting_too_long += 1;
        }
    }
    for d in resources.iter().filter(|d| counted(&d.resource.id)) {
        let r = &d.resource;
        if r.share_attr == ShareAttr::NotShared {
            continue;
        }
        let shared = r.share_attr == ShareAttr::Unconditional
            || grants.iter().any(|g| g.grant.resource == r.id);
        for f in [
            &mut district,
            by_org.entry(r.provider.to_string()).or_default(),
        ] {
            f.shareable += 1;
            f.shared += usize::from(shared);
        }
    }
    let owners: std::collections::HashMap<&zhongshu_catalog::ResourceId, String> = resources
        .iter()
        .map(|d| (&d.resource.id, d.resource.provider.to_string()))
        .collect();
    let owner_of = |id: &zhongshu_catalog::ResourceId| owners.get(id).cloned();
    for g in &grants {
        let purpose = g.grant.purpose.clone().unwrap_or_else(|| "(none)".into());
        *district
            .grants_by_purpose
            .entry(purpose.clone())
            .or_default() += 1;
        if let Some(owner) = owner_of(&g.grant.resource) {
            *by_org
                .entry(owner)
                .or_default()
                .grants_by_purpose
                .entry(purpose)
                .or_default() += 1;
        }
    }
    let finish = |f: &mut Figures, hours: &mut Vec<f64>| {
        hours.sort_by(f64::total_cmp);
        f.decided = hours.len();
        f.median_hours = percentile(hours, 0.5);
        f.p90_hours = percentile(hours, 0.9);
        f.satisfaction_rate = ratio(f.satisfied, f.should_share);
        f.sharing_rate = ratio(f.shared, f.shareable);
    };
    finish(&mut district, &mut all_hours);
    let departments = by_org
        .into_iter()
        .map(|(id, mut f)| {
            finish(&mut f, hours.entry(id.clone()).or_default());
            let name = orgs
                .iter()
                .find(|o| o.id.as_str() == id)
                .map_or_else(|| id.clone(), |o| o.name.clone());
            (id, name, f)
        })
        .collect();
    Ok(Metrics {
        at: now.to_rfc3339(),
        agreed_days: AGREED_DAYS,
        district,
        departments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_ratios_of_nothing_are_none() {
        assert_eq!(percentile(&[], 0.5), None);
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0, 10.0], 0.5), Some(3.0));
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0, 10.0], 0.9), Some(10.0));
        assert_eq!(ratio(1, 0), None);
        assert_eq!(ratio(1, 4), Some(0.25));
        assert_eq!(
            hours_between("2026-12-01T00:00:00Z", "2026-12-02T12:00:00Z"),
            Some(36.0)
        );
    }
}

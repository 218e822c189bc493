//! The home page: what waits for the signed-in person, 一数一源 coverage, freshness and the
//! department's quality score and rank, each as the principal may see it.

use super::{ConsoleState, Ctx, failure};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;
use zhongshu_catalog::{Coverage, ObjectionStatus, Principal, SuggestionStatus};
use zhongshu_engine::catalogue::{self, StaleTable};
use zhongshu_engine::{Core, classification, responsibility};
use zhongshu_policies::Action;
use zhongshu_quality::DepartmentScore;
use zhongshu_quality::{objection, views};
use zhongshu_web::ApiError;
use zhongshu_web::session::SignedIn;

#[derive(Serialize)]
struct Pending {
    key: &'static str,
    count: usize,
    href: &'static str,
}

#[derive(Serialize)]
struct HomePage {
    name: String,
    org: String,
    pending: Vec<Pending>,
    pending_total: usize,
    coverage: Coverage,
    freshness: catalogue::Freshness,
    stale: Vec<StaleTable>,
    score: Option<DepartmentScore>,
    ranking: Vec<DepartmentScore>,
    ranking_total: usize,
}

/// How many late tables the home page lists.
const STALE_SHOWN: usize = 10;
/// How many departments the ranking shows.
const RANKING_SHOWN: usize = 10;

/// `work` in a task of its own, so the home page's figures are made on every core at once.
fn on_its_own<T, F>(
    core: &Core,
    principal: &Principal,
    work: impl FnOnce(Core, Principal) -> F,
) -> impl std::future::Future<Output = Result<T, ApiError>>
where
    F: std::future::Future<Output = Result<T, ApiError>> + Send + 'static,
    T: Send + 'static,
{
    let task = tokio::spawn(work(core.clone(), principal.clone()));
    async move { task.await.map_err(|e| ApiError::internal(&e))? }
}

async fn gather(state: &ConsoleState, principal: &Principal) -> Result<HomePage, ApiError> {
    let core = &state.core;
    // The figures are independent: make them at once, so the page waits for the slowest
    // rather than for their sum.
    let to_decide = on_its_own(core, principal, |core, p| async move {
        let open = objection::list(&core, &p, Some(ObjectionStatus::Open)).await?;
        let mut decisions = core.query().decisions(&p, None).await?;
        decisions
            .add_objections(&open)
            .map_err(|e| ApiError::internal(&e))?;
        Ok(open
            .iter()
            .filter(|o| decisions.allows_objection(o, Action::DecideObjection))
            .count())
    });
    let failing = on_its_own(core, principal, |core, p| async move {
        Ok(views::results(&core, &p, None, true)
            .await?
            .iter()
            .filter(|r| r.rows_failed > 0)
            .count())
    });
    let incidents = on_its_own(core, principal, |core, p| async move {
        Ok(views::incidents(&core, &p, None, true).await?.len())
    });
    let flagged = on_its_own(core, principal, |core, p| async move {
        if !responsibility::may_manage(&core, &p).await? {
            return Ok(0);
        }
        Ok(responsibility::list(&core, &p)
            .await?
            .iter()
            .filter(|r| r.flagged)
            .count())
    });
    let suggestions = on_its_own(core, principal, |core, p| async move {
        Ok(
            classification::suggestions(&core, &p, Some(SuggestionStatus::Pending))
                .await?
                .len(),
        )
    });
    let freshness = on_its_own(core, principal, |core, p| async move {
        Ok(catalogue::freshness(&core, &p, chrono::Utc::now()).await?)
    });
    let ranking = on_its_own(core, principal, |core, p| async move {
        Ok(views::ranking(&core, &p).await?)
    });
    let coverage = on_its_own(core, principal, |core, p| async move {
        Ok(catalogue::coverage(&core, &p).await?)
    });
    let (to_decide, failing, incidents, flagged, suggestions, mut freshness, ranking, coverage) = tokio::try_join!(
        to_decide,
        failing,
        incidents,
        flagged,
        suggestions,
        freshness,
        ranking,
        coverage
    )?;
    let pending = vec![
        Pending {
            key: "home.objections",
            count: to_decide,
            href: "/console/objections",
        },
        Pending {
            key: "home.suggestions",
            count: suggestions,
            href: "/console/classification",
        },
        Pending {
            key: "home.flagged_responsibilities",
            count: flagged,
            href: "/console/responsibilities?show=flagged",
        },
        Pending {
            key: "home.failing_rules",
            count: failing,
            href: "/console/catalogue",
        },
        Pending {
            key: "home.incidents",
            count: incidents,
            href: "/console/catalogue",
        },
        Pending {
            key: "home.stale_tables",
            count: freshness.stale.len(),
            href: "#stale",
        },
    ];
    let org = principal.org.to_string();
    let score = ranking.iter().find(|d| d.department == org).cloned();
    let stale: Vec<StaleTable> = freshness.stale.drain(..).take(STALE_SHOWN).collect();
    Ok(HomePage {
        name: principal.display_name.clone(),
        org,
        pending_total: pending.iter().map(|p| p.count).sum(),
        pending,
        coverage,
        freshness,
        stale,
        score,
        ranking_total: ranking.len(),
        ranking: ranking.into_iter().take(RANKING_SHOWN).collect(),
    })
}

pub(super) async fn page(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    who: SignedIn,
) -> Response {
    let ctx = Ctx::new(&headers, "/console/", Some("/console/"), Some(&who));
    match gather(&state, &who.principal).await {
        Ok(page) => state
            .pages
            .render(StatusCode::OK, "home.html", &ctx.frame, page),
        Err(e) => failure(&state, &ctx, e),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_pending_item_has_its_text() {
        for key in [
            "home.objections",
            "home.failing_rules",
            "home.incidents",
            "home.stale_tables",
        ] {
            for lang in [super::super::Lang::Zh, super::super::Lang::En] {
                assert_ne!(super::super::i18n::text(lang, key), key);
            }
        }
    }
}

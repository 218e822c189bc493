//! [`SqlCatalogStore`]: the [`CatalogStore`] over sqlx, on SQLite (the embedded default, one
//! file in the data directory) or PostgreSQL (for servers), chosen by the URL.
//!
//! Both backends run the same portable SQL through sqlx's `Any` driver; what differs is kept in
//! one place each: the migrations (`migrations/sqlite`, `migrations/postgres`) and how a write
//! transaction serialises against other writers ([`tx`]). The trait implementation here only
//! delegates: each entity's queries live in a module of their own, and every governed write goes
//! through a [`tx::LoggedTx`], which cannot commit without a change-log entry.

use crate::classification::{BindingRole, Category, Grade, SuggestionStatus};
use crate::codes::{CodeListSummary, NewCodeList};
use crate::error::{CatalogError, Result};
use crate::governance::{AuditRecord, CustomPolicy, Grant, NewAuditRecord, NewGrant};
use crate::ids::{ElementId, JobId, OrgId, PrincipalId, ResourceId};
use crate::model::{
    ChainReport, ChangeEvent, Column, Coverage, DataElement, ElementBindings, IngestJob, IngestRun,
    NewObjection, NewPrincipal, NewResource, NewResponsibility, NewSuggestion, Objection,
    ObjectionStatus, OrgUnit, Page, Paged, Principal, QualityIncident, QualityMetric,
    QualityResult, QualityRuleRecord, Resource, ResourceDetail, ResourceFilter, Responsibility,
    SearchDocument, Suggestion, TableRecord,
};
use crate::sharing::{
    Demand, DemandDecision, NegativeEntry, NewDemand, NewShareRequest, RequestDecision,
    ShareRequest,
};
use crate::store::{Actor, AttributeChange, CatalogStore};
use crate::systems::{InformationSystem, NewSystem};
use async_trait::async_trait;
use serde::Serialize;
use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use std::str::FromStr;

mod changes;
mod elements;
mod governance;
mod inventory;
mod jobs;
mod orgs;
mod quality;
mod quality_loop;
mod resources;
mod responsibilities;
mod sharing;
mod suggestions;
mod tx;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// The database behind a [`SqlCatalogStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite, embedded.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// The catalog store over SQLite or PostgreSQL.
#[derive(Debug, Clone)]
pub struct SqlCatalogStore {
    pool: AnyPool,
    backend: Backend,
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn parse<T: FromStr>(text: &str, what: &str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    text.parse::<T>()
        .map_err(|e| CatalogError::corrupt(format!("{what}: {e}")))
}

fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(CatalogError::corrupt)
}

fn parse_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(CatalogError::corrupt)
}

impl SqlCatalogStore {
    /// Connects to `url` (`sqlite://PATH` or `postgres://…`), creating a SQLite file if
    /// missing, and runs the migrations.
    pub async fn connect(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let (backend, url) = if url.starts_with("sqlite:") {
            let url = if url.contains('?') {
                url.to_owned()
            } else {
                format!("{url}?mode=rwc")
            };
            (Backend::Sqlite, url)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Backend::Postgres, url.to_owned())
        } else {
            return Err(CatalogError::Invalid {
                what: "catalog URL".into(),
                reason: format!(
                    "`{url}` is neither sqlite://PATH nor postgres://USER@HOST/DB; set catalog.url \
                     in zhongshu.toml or ZHONGSHU__CATALOG__URL"
                ),
            });
        };
        let mut options =
            AnyPoolOptions::new().max_connections(if backend == Backend::Sqlite { 4 } else { 16 });
        if backend == Backend::Sqlite {
            // Write-ahead logging: a commit (every audited query appends one) is one fsync of
            // the log instead of four with a rollback journal, and readers do not wait for a
            // writer. `synchronous = FULL` keeps every commit durable through a power cut.
            options = options.after_connect(|conn, _| {
                Box::pin(async move {
                    sqlx::query("PRAGMA journal_mode = WAL")
                        .execute(&mut *conn)
                        .await?;
                    sqlx::query("PRAGMA synchronous = FULL")
                        .execute(&mut *conn)
                        .await?;
                    Ok(())
                })
            });
        }
        let pool = options.connect(&url).await?;
        let store = SqlCatalogStore { pool, backend };
        match backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&store.pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&store.pool).await?,
        }
        Ok(store)
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The connection pool, for tests and benchmarks that need to look underneath.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

#[async_trait]
impl CatalogStore for SqlCatalogStore {
    fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    async fn upsert_org(&self, actor: &Actor, org: &OrgUnit) -> Result<()> {
        orgs::upsert_org(self, actor, org).await
    }

    async fn get_org(&self, id: &OrgId) -> Result<Option<OrgUnit>> {
        orgs::get_org(self, id).await
    }

    async fn list_orgs(&self) -> Result<Vec<OrgUnit>> {
        orgs::list_orgs(self).await
    }

    async fn create_principal(&self, actor: &Actor, new: &NewPrincipal) -> Result<Principal> {
        orgs::create_principal(self, actor, new).await
    }

    async fn get_principal(&self, id: &PrincipalId) -> Result<Option<Principal>> {
        orgs::get_principal(self, id).await
    }

    async fn list_principals(&self) -> Result<Vec<Principal>> {
        orgs::list_principals(self).await
    }

    async fn principal_by_token(&self, token: &str) -> Result<Option<Principal>> {
        orgs::principal_by_token(self, token).await
    }

    async fn password_verifier(&self, id: &PrincipalId) -> Result<Option<String>> {
        orgs::password_verifier(self, id).await
    }

    async fn upsert_element(&self, actor: &Actor, element: &DataElement) -> Result<()> {
        elements::upsert_element(self, actor, element).await
    }

    async fn get_element(&self, id_or_name: &str) -> Result<Option<DataElement>> {
        elements::get_element(self, id_or_name).await
    }

    async fn list_elements(&self) -> Result<Vec<DataElement>> {
        elements::list_elements(self).await
    }

    async fn element_bindings(&self, id_or_name: &str) -> Result<ElementBindings> {
        elements::element_bindings(self, id_or_name).await
    }

    async fn coverage(&self) -> Result<Coverage> {
        elements::coverage(self).await
    }

    async fn register_resource(&self, actor: &Actor, new: &NewResource) -> Result<Resource> {
        resources::register_resource(self, actor, new).await
    }

    async fn register_resources(&self, actor: &Actor, new: &[NewResource]) -> Result<usize> {
        resources::register_resources(self, actor, new).await
    }

    async fn get_resource(&self, id: &ResourceId) -> Result<Option<ResourceDetail>> {
        resources::get_resource(self, id).await
    }

    async fn list_resources(&self, filter: &ResourceFilter, page: Page) -> Result<Paged<Resource>> {
        resources::list_resources(self, filter, page).await
    }

    async fn set_attributes(
        &self,
        actor: &Actor,
        id: &ResourceId,
        change: &AttributeChange,
    ) -> Result<Resource> {
        resources::set_attributes(self, actor, id, change).await
    }

    async fn bind_column(
        &self,
        actor: &Actor,
        resource: &ResourceId,
        column: &str,
        element: &ElementId,
        role: BindingRole,
    ) -> Result<()> {
        elements::bind_column(self, actor, resource, column, element, role).await
    }

    async fn unbind_column(
        &self,
        actor: &Actor,
        resource: &ResourceId,
        column: &str,
    ) -> Result<()> {
        elements::unbind_column(self, actor, resource, column).await
    }

    async fn assign_responsibility(
        &self,
        actor: &Actor,
        new: &NewResponsibility,
    ) -> Result<Responsibility> {
        responsibilities::assign(self, actor, new).await
    }

    async fn list_responsibilities(&self) -> Result<Vec<Responsibility>> {
        responsibilities::list(self).await
    }

    async fn remove_responsibility(&self, actor: &Actor, element: &ElementId) -> Result<()> {
        responsibilities::remove(self, actor, element).await
    }

    async fn add_column(
        &self,
        actor: &Actor,
        resource: &ResourceId,
        column: &Column,
    ) -> Result<()> {
        resources::add_column(self, actor, resource, column).await
    }

    async fn classify_column(
        &self,
        actor: &Actor,
        resource: &ResourceId,
        column: &str,
        category: Category,
        grade: Grade,
        reason: Option<&str>,
    ) -> Result<()> {
        elements::classify_column(self, actor, resource, column, category, grade, reason).await
    }

    async fn put_code_list(&self, actor: &Actor, list: &NewCodeList) -> Result<CodeListSummary> {
        inventory::put_code_list(self, actor, list).await
    }

    async fn list_code_lists(&self) -> Result<Vec<CodeListSummary>> {
        inventory::list_code_lists(self).await
    }

    async fn get_code_list(&self, id: &str) -> Result<Option<NewCodeList>> {
        inventory::get_code_list(self, id).await
    }

    async fn remove_code_list(&self, actor: &Actor, id: &str) -> Result<()> {
        inventory::remove_code_list(self, actor, id).await
    }

    async fn put_system(&self, actor: &Actor, system: &NewSystem) -> Result<InformationSystem> {
        inventory::put_system(self, actor, system).await
    }

    async fn list_systems(&self) -> Result<Vec<InformationSystem>> {
        inventory::list_systems(self).await
    }

    async fn remove_system(&self, actor: &Actor, id: &str) -> Result<()> {
        inventory::remove_system(self, actor, id).await
    }

    async fn file_demand(&self, actor: &Actor, new: &NewDemand) -> Result<Demand> {
        sharing::file_demand(self, actor, new).await
    }

    async fn list_demands(&self) -> Result<Vec<Demand>> {
        sharing::list_demands(self).await
    }

    async fn decide_demand(
        &self,
        actor: &Actor,
        id: i64,
        decision: &DemandDecision,
    ) -> Result<Demand> {
        sharing::decide_demand(self, actor, id, decision).await
    }

    async fn file_share_request(
        &self,
        actor: &Actor,
        new: &NewShareRequest,
    ) -> Result<ShareRequest> {
        sharing::file_share_request(self, actor, new).await
    }

    async fn list_share_requests(&self) -> Result<Vec<ShareRequest>> {
        sharing::list_share_requests(self).await
    }

    async fn decide_share_request(
        &self,
        actor: &Actor,
        id: i64,
        decision: &RequestDecision,
    ) -> Result<(ShareRequest, Option<Grant>)> {
        sharing::decide_share_request(self, actor, id, decision).await
    }

    async fn put_negative(&self, actor: &Actor, entry: &NegativeEntry) -> Result<NegativeEntry> {
        sharing::put_negative(self, actor, entry).await
    }

    async fn list_negative(&self) -> Result<Vec<NegativeEntry>> {
        sharing::list_negative(self).await
    }

    async fn remove_negative(&self, actor: &Actor, id: &str) -> Result<()> {
        sharing::remove_negative(self, actor, id).await
    }

    async fn upsert_table(&self, actor: &Actor, table: &TableRecord) -> Result<()> {
        resources::upsert_table(self, actor, table).await
    }

    async fn list_tables(&self) -> Result<Vec<TableRecord>> {
        resources::list_tables(self).await
    }

    async fn add_suggestions(
        &self,
        actor: &Actor,
        new: &[NewSuggestion],
    ) -> Result<Vec<Suggestion>> {
        suggestions::add_suggestions(self, actor, new).await
    }

    async fn list_suggestions(
        &self,
        resource: Option<&ResourceId>,
        status: Option<SuggestionStatus>,
    ) -> Result<Vec<Suggestion>> {
        suggestions::list_suggestions(self, resource, status).await
    }

    async fn decide_suggestion(&self, actor: &Actor, id: i64, accept: bool) -> Result<Suggestion> {
        suggestions::decide_suggestion(self, actor, id, accept).await
    }

    async fn search_documents(
        &self,
        after: Option<&ResourceId>,
        limit: i64,
    ) -> Result<Vec<SearchDocument>> {
        resources::search_documents(self, after, limit).await
    }

    async fn search_documents_for(&self, ids: &[ResourceId]) -> Result<Vec<SearchDocument>> {
        resources::search_documents_for(self, ids).await
    }

    async fn upsert_job(&self, actor: &Actor, job: &IngestJob) -> Result<()> {
        jobs::upsert_job(self, actor, job).await
    }

    async fn get_job(&self, id: &JobId) -> Result<Option<IngestJob>> {
        jobs::get_job(self, id).await
    }

    async fn list_jobs(&self) -> Result<Vec<IngestJob>> {
        jobs::list_jobs(self).await
    }

    async fn begin_run(&self, job: &JobId) -> Result<IngestRun> {
        jobs::begin_run(self, job).await
    }

    async fn finish_run(&self, run: &IngestRun) -> Result<()> {
        jobs::finish_run(self, run).await
    }

    async fn list_runs(&self, job: &JobId, limit: i64) -> Result<Vec<IngestRun>> {
        jobs::list_runs(self, job, limit).await
    }

    async fn upsert_quality_rule(&self, actor: &Actor, rule: &QualityRuleRecord) -> Result<()> {
        quality::upsert_quality_rule(self, actor, rule).await
    }

    async fn list_quality_rules(&self) -> Result<Vec<QualityRuleRecord>> {
        quality::list_quality_rules(self).await
    }

    async fn delete_quality_rule(&self, actor: &Actor, id: &str) -> Result<()> {
        quality::delete_quality_rule(self, actor, id).await
    }

    async fn record_quality_results(
        &self,
        results: &[QualityResult],
        metrics: &[QualityMetric],
    ) -> Result<i64> {
        quality_loop::record_evaluation(self, results, metrics).await
    }

    async fn quality_metrics(&self, resource: &ResourceId) -> Result<Vec<QualityMetric>> {
        quality_loop::metrics(self, resource).await
    }

    async fn open_incidents(&self, new: &[QualityIncident]) -> Result<Vec<QualityIncident>> {
        quality_loop::open_incidents(self, new).await
    }

    async fn list_incidents(
        &self,
        resource: Option<&ResourceId>,
        open_only: bool,
    ) -> Result<Vec<QualityIncident>> {
        quality_loop::list_incidents(self, resource, open_only).await
    }

    async fn resolve_incident(&self, actor: &Actor, id: i64) -> Result<QualityIncident> {
        quality_loop::resolve_incident(self, actor, id).await
    }

    async fn file_objection(&self, actor: &Actor, new: &NewObjection) -> Result<Objection> {
        quality_loop::file_objection(self, actor, new).await
    }

    async fn get_objection(&self, id: i64) -> Result<Option<Objection>> {
        quality_loop::get_objection(&self.pool, id).await
    }

    async fn list_objections(
        &self,
        owner: Option<&OrgId>,
        status: Option<ObjectionStatus>,
    ) -> Result<Vec<Objection>> {
        quality_loop::list_objections(self, owner, status).await
    }

    async fn decide_objection(
        &self,
        actor: &Actor,
        id: i64,
        status: ObjectionStatus,
        reason: Option<&str>,
        table_version: Option<i64>,
    ) -> Result<Objection> {
        quality_loop::decide_objection(self, actor, id, status, reason, table_version).await
    }

    async fn quality_results(
        &self,
        resource: Option<&ResourceId>,
        latest: bool,
    ) -> Result<Vec<QualityResult>> {
        quality::quality_results(self, resource, latest).await
    }

    async fn landed_files(&self, job: &JobId) -> Result<Vec<(String, i64, String)>> {
        jobs::landed_files(self, job).await
    }

    async fn changes_since(&self, after_seq: i64, limit: i64) -> Result<Vec<ChangeEvent>> {
        changes::changes_since(self, after_seq, limit).await
    }

    async fn head_seq(&self) -> Result<i64> {
        changes::head_seq(self).await
    }

    async fn create_grant(&self, actor: &Actor, new: &NewGrant) -> Result<Grant> {
        governance::create_grant(self, actor, new).await
    }

    async fn get_grant(&self, id: i64) -> Result<Option<Grant>> {
        governance::get_grant(self, id).await
    }

    async fn list_grants(&self, resource: Option<&ResourceId>) -> Result<Vec<Grant>> {
        governance::list_grants(self, resource).await
    }

    async fn grants_for(&self, principal: &Principal) -> Result<Vec<Grant>> {
        governance::grants_for(self, principal).await
    }

    async fn revoke_grant(&self, actor: &Actor, id: i64) -> Result<Grant> {
        governance::revoke_grant(self, actor, id).await
    }

    async fn upsert_policy(
        &self,
        actor: &Actor,
        id: &str,
        description: &str,
        policy: &str,
    ) -> Result<CustomPolicy> {
        governance::upsert_policy(self, actor, id, description, policy).await
    }

    async fn list_policies(&self) -> Result<Vec<CustomPolicy>> {
        governance::list_policies(self).await
    }

    async fn delete_policy(&self, actor: &Actor, id: &str) -> Result<()> {
        governance::delete_policy(self, actor, id).await
    }

    async fn append_audit(&self, record: &NewAuditRecord) -> Result<AuditRecord> {
        governance::append_audit(self, record).await
    }

    async fn audit_records(&self, after_seq: i64, limit: i64) -> Result<Vec<AuditRecord>> {
        governance::audit_records(self, after_seq, limit).await
    }

    async fn verify_audit_log(&self) -> Result<ChainReport> {
        governance::verify_audit_log(self).await
    }

    async fn verify_change_log(&self) -> Result<ChainReport> {
        changes::verify_change_log(self).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn rejects_unknown_url_scheme() {
        let err = SqlCatalogStore::connect("mysql://x").await.unwrap_err();
        assert!(err.to_string().contains("neither sqlite"), "{err}");
    }
}

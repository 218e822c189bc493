//! The Arrow Flight SQL door (default 127.0.0.1:50051), for notebooks: the Python
//! `adbc-driver-flightsql` DBAPI returns governed results straight into pandas and polars.
//!
//! Every call carries `authorization: Bearer TOKEN` (and, optionally, `x-zhongshu-purpose`,
//! percent-encoded UTF-8 since gRPC metadata is ASCII) and is answered through a fresh governed
//! session of that principal: the same decision, masks, filters, limits and audit as the other
//! doors. Statements are planned when described (to give the result schema; a refusal is
//! audited there) and run when fetched. The session and plan made when describing are kept for
//! the fetch, which follows at once, so that a statement costs one decision and one plan: the
//! ticket names them and carries the SQL, and a fetch whose plan is gone (a minute passed, or
//! another principal or purpose presents the ticket) decides and plans again. Prepared
//! statements keep only their SQL and principal, so a handle cannot be used by another
//! principal.

use crate::auth::{purpose_from_header, token_principal};
use crate::http::PURPOSE_HEADER;
use crate::{GatewayError, lock};
use arrow::datatypes::Schema;
use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::error::FlightError;
use arrow_flight::flight_service_server::{FlightService, FlightServiceServer};
use arrow_flight::sql::metadata::{SqlInfoData, SqlInfoDataBuilder};
use arrow_flight::sql::server::FlightSqlService;
use arrow_flight::sql::{
    ActionClosePreparedStatementRequest, ActionCreatePreparedStatementRequest,
    ActionCreatePreparedStatementResult, CommandGetSqlInfo, CommandPreparedStatementQuery,
    CommandStatementQuery, ProstMessageExt, SqlInfo, TicketStatementQuery,
};
use arrow_flight::{Action, FlightDescriptor, FlightEndpoint, FlightInfo, Ticket};
use futures::{StreamExt, TryStreamExt};
use prost::Message;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tonic::{Request, Response, Status};
use zhongshu_catalog::Principal;
use zhongshu_engine::{ClientInfo, Planned, PrincipalSession, QueryService};

/// Serves Flight SQL on `listener` until the process ends.
pub async fn serve(listener: TcpListener, service: Arc<QueryService>) -> Result<(), String> {
    // Without TCP_NODELAY, a response's last small frame waits for the client's delayed ACK
    // (about 40 ms on Linux) on every call.
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    tonic::transport::Server::builder()
        .add_service(
            FlightServiceServer::new(FlightGateway {
                service,
                prepared: Mutex::new(HashMap::new()),
                described: Mutex::new(HashMap::new()),
            })
            .max_decoding_message_size(crate::MAX_REQUEST_BYTES),
        )
        .serve_with_incoming(incoming)
        .await
        .map_err(|e| e.to_string())
}

static SQL_INFO: LazyLock<SqlInfoData> = LazyLock::new(|| {
    let mut builder = SqlInfoDataBuilder::new();
    builder.append(SqlInfo::FlightSqlServerName, "zhongshu 中枢");
    builder.append(SqlInfo::FlightSqlServerVersion, env!("CARGO_PKG_VERSION"));
    builder.append(SqlInfo::FlightSqlServerArrowVersion, "59");
    builder.append(SqlInfo::FlightSqlServerReadOnly, true);
    builder
        .build()
        .unwrap_or_else(|e| unreachable!("static SqlInfo: {e}"))
});

/// A prepared statement: its SQL, who prepared it, and when it was last used.
struct Prepared {
    principal: String,
    sql: String,
    used: Instant,
}

/// How long a prepared statement stays open unused.
const PREPARED_FOR: Duration = Duration::from_secs(3600);
/// The most prepared statements a principal may hold open, and all principals together.
const PREPARED_PER_PRINCIPAL: usize = 64;
const PREPARED_MAX: usize = 4096;

/// A statement described and not yet fetched: the session that planned it, and the plan.
struct Described {
    principal: String,
    purpose: Option<String>,
    session: PrincipalSession,
    plan: Planned,
    at: Instant,
}

/// How long a described statement's plan waits for its fetch.
const DESCRIBED_FOR: Duration = Duration::from_secs(60);
/// The most described statements kept waiting at once.
const DESCRIBED_MAX: usize = 256;

/// The Flight SQL service.
pub struct FlightGateway {
    service: Arc<QueryService>,
    prepared: Mutex<HashMap<Vec<u8>, Prepared>>,
    described: Mutex<HashMap<[u8; 16], Described>>,
}

fn status(e: GatewayError) -> Status {
    match &e {
        GatewayError::Unauthenticated(_) => Status::unauthenticated(e.to_string()),
        GatewayError::Engine(engine) if zhongshu_engine::governed::is_denial(engine) => {
            Status::permission_denied(e.to_string())
        }
        GatewayError::Engine(zhongshu_engine::EngineError::Limit(_)) => {
            Status::resource_exhausted(e.to_string())
        }
        GatewayError::Engine(
            zhongshu_engine::EngineError::Query(_)
            | zhongshu_engine::EngineError::UnknownTable { .. }
            | zhongshu_engine::EngineError::UnknownFunction { .. },
        )
        | GatewayError::BadRequest(_) => Status::invalid_argument(e.to_string()),
        _ => Status::internal(e.to_string()),
    }
}

impl FlightGateway {
    async fn principal<T>(&self, request: &Request<T>) -> Result<Principal, Status> {
        let header = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| Status::unauthenticated("send authorization: Bearer TOKEN"))?;
        token_principal(&self.service, header).await.map_err(status)
    }

    async fn session<T>(&self, request: &Request<T>) -> Result<PrincipalSession, Status> {
        let principal = self.principal(request).await?;
        self.open_session(principal, request).await
    }

    /// A governed session of `principal`, who sent `request`, under its declared purpose.
    async fn open_session<T>(
        &self,
        principal: Principal,
        request: &Request<T>,
    ) -> Result<PrincipalSession, Status> {
        let purpose = Self::purpose(request);
        let client = request
            .remote_addr()
            .map(|a| a.to_string())
            .unwrap_or_else(|| "unknown".into());
        self.service
            .open(
                principal,
                purpose,
                ClientInfo::answering(client, "flight-sql"),
            )
            .await
            .map_err(|e| status(e.into()))
    }

    /// The result schema of a statement, from planning it (refusals surface here, audited).
    async fn schema(session: &PrincipalSession, sql: &str) -> Result<Schema, Status> {
        let frame = session.plan(sql).await.map_err(|e| status(e.into()))?;
        Ok(frame.schema().as_arrow().clone())
    }

    /// Keeps a described statement's session and plan for its fetch; returns the handle.
    fn keep_described(&self, session: PrincipalSession, plan: Planned) -> [u8; 16] {
        let handle = *uuid::Uuid::new_v4().as_bytes();
        let mut described = lock(&self.described);
        described.retain(|_, d| d.at.elapsed() < DESCRIBED_FOR);
        if described.len() < DESCRIBED_MAX {
            described.insert(
                handle,
                Described {
                    principal: session.principal().id.as_str().to_owned(),
                    purpose: session.purpose().map(str::to_owned),
                    session,
                    plan,
                    at: Instant::now(),
                },
            );
        }
        handle
    }

    /// The kept session and plan of `handle`, when the same principal fetches it under the
    /// same purpose in time, and the ticket carries the text that was planned (a ticket whose
    /// text was changed runs the text it carries, planned again, so what runs is what the
    /// audit records).
    fn take_described(
        &self,
        handle: &[u8],
        sql: &str,
        principal: &Principal,
        purpose: Option<&str>,
    ) -> Option<(PrincipalSession, Planned)> {
        let handle: [u8; 16] = handle.try_into().ok()?;
        let mut described = lock(&self.described);
        let d = described.get(&handle)?;
        if d.principal != principal.id.as_str()
            || d.purpose.as_deref() != purpose
            || d.plan.sql() != sql
            || d.at.elapsed() >= DESCRIBED_FOR
        {
            return None;
        }
        described.remove(&handle).map(|d| (d.session, d.plan))
    }

    fn purpose<T>(request: &Request<T>) -> Option<String> {
        request
            .metadata()
            .get(PURPOSE_HEADER)
            .and_then(|v| purpose_from_header(v.as_bytes()))
    }

    fn info(
        schema: &Schema,
        ticket: impl ProstMessageExt,
        descriptor: FlightDescriptor,
    ) -> Result<FlightInfo, Status> {
        Ok(FlightInfo::new()
            .try_with_schema(schema)
            .map_err(|e| Status::internal(e.to_string()))?
            .with_endpoint(
                FlightEndpoint::new().with_ticket(Ticket::new(ticket.as_any().encode_to_vec())),
            )
            .with_descriptor(descriptor))
    }

    async fn run(
        &self,
        session: PrincipalSession,
        sql: &str,
        planned: Option<Planned>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let stream = match planned {
            Some(plan) => session.execute_planned(plan).await,
            None => session.execute(sql).await,
        }
        .map_err(|e| status(e.into()))?;
        let schema = datafusion::physical_plan::RecordBatchStream::schema(&stream);
        let batches = stream
            .map_ok(crate::compact)
            .map_err(|e| FlightError::ExternalError(Box::new(e)));
        let encoded = FlightDataEncoderBuilder::new()
            .with_schema(schema)
            .build(batches)
            .map_err(Status::from);
        Ok(Response::new(encoded.boxed()))
    }

    fn prepared_sql(&self, handle: &[u8], principal: &Principal) -> Result<String, Status> {
        match lock(&self.prepared).get_mut(handle) {
            Some(p) if p.principal == principal.id.as_str() && p.used.elapsed() < PREPARED_FOR => {
                p.used = Instant::now();
                Ok(p.sql.clone())
            }
            _ => Err(Status::not_found(
                "no such prepared statement (one unused for an hour is closed): prepare it again",
            )),
        }
    }
}

#[tonic::async_trait]
impl FlightSqlService for FlightGateway {
    type FlightService = FlightGateway;

    async fn get_flight_info_statement(
        &self,
        query: CommandStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let session = self.session(&request).await?;
        let plan = session
            .plan(&query.query)
            .await
            .map_err(|e| status(e.into()))?;
        let schema = plan.schema().as_arrow().clone();
        // The ticket: the kept plan's handle, then the SQL to plan again without it.
        let mut ticket = self.keep_described(session, plan).to_vec();
        ticket.extend_from_slice(query.query.as_bytes());
        let ticket = TicketStatementQuery {
            statement_handle: ticket.into(),
        };
        Ok(Response::new(Self::info(
            &schema,
            ticket,
            request.into_inner(),
        )?))
    }

    async fn do_get_statement(
        &self,
        ticket: TicketStatementQuery,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let (handle, sql) = ticket
            .statement_handle
            .split_at_checked(16)
            .ok_or_else(|| Status::invalid_argument("malformed statement ticket"))?;
        let sql = std::str::from_utf8(sql)
            .map_err(|_| Status::invalid_argument("statement ticket is not UTF-8"))?;
        let principal = self.principal(&request).await?;
        let purpose = Self::purpose(&request);
        if let Some((session, plan)) =
            self.take_described(handle, sql, &principal, purpose.as_deref())
        {
            return self.run(session, sql, Some(plan)).await;
        }
        let session = self.open_session(principal, &request).await?;
        self.run(session, sql, None).await
    }

    async fn do_action_create_prepared_statement(
        &self,
        query: ActionCreatePreparedStatementRequest,
        request: Request<Action>,
    ) -> Result<ActionCreatePreparedStatementResult, Status> {
        let session = self.session(&request).await?;
        let schema = Self::schema(&session, &query.query).await?;
        let handle = uuid::Uuid::new_v4().as_bytes().to_vec();
        let principal = session.principal().id.as_str().to_owned();
        {
            let mut prepared = lock(&self.prepared);
            prepared.retain(|_, p| p.used.elapsed() < PREPARED_FOR);
            let held = prepared
                .values()
                .filter(|p| p.principal == principal)
                .count();
            if held >= PREPARED_PER_PRINCIPAL {
                return Err(Status::resource_exhausted(format!(
                    "{principal} holds {held} prepared statements open, the most allowed; close                      some (ClosePreparedStatement) or wait an hour for unused ones to close"
                )));
            }
            if prepared.len() >= PREPARED_MAX {
                return Err(Status::resource_exhausted(format!(
                    "the server holds {PREPARED_MAX} prepared statements open, the most allowed;                      try again later"
                )));
            }
            prepared.insert(
                handle.clone(),
                Prepared {
                    principal,
                    sql: query.query,
                    used: Instant::now(),
                },
            );
        }
        let dataset_schema = FlightInfo::new()
            .try_with_schema(&schema)
            .map_err(|e| Status::internal(e.to_string()))?
            .schema;
        Ok(ActionCreatePreparedStatementResult {
            prepared_statement_handle: handle.into(),
            dataset_schema,
            parameter_schema: Default::default(),
        })
    }

    async fn get_flight_info_prepared_statement(
        &self,
        command: CommandPreparedStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let session = self.session(&request).await?;
        let sql = self.prepared_sql(&command.prepared_statement_handle, session.principal())?;
        let schema = Self::schema(&session, &sql).await?;
        Ok(Response::new(Self::info(
            &schema,
            command,
            request.into_inner(),
        )?))
    }

    async fn do_get_prepared_statement(
        &self,
        command: CommandPreparedStatementQuery,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let session = self.session(&request).await?;
        let sql = self.prepared_sql(&command.prepared_statement_handle, session.principal())?;
        self.run(session, &sql, None).await
    }

    async fn do_action_close_prepared_statement(
        &self,
        query: ActionClosePreparedStatementRequest,
        request: Request<Action>,
    ) -> Result<(), Status> {
        let principal = self.principal(&request).await?;
        let mut prepared = lock(&self.prepared);
        let handle = query.prepared_statement_handle.to_vec();
        if prepared
            .get(&handle)
            .is_some_and(|p| p.principal == principal.id.as_str())
        {
            prepared.remove(&handle);
        }
        Ok(())
    }

    async fn get_flight_info_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.principal(&request).await?;
        let schema = query.clone().into_builder(&SQL_INFO).schema();
        Ok(Response::new(Self::info(
            schema.as_ref(),
            query,
            request.into_inner(),
        )?))
    }

    async fn do_get_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        self.principal(&request).await?;
        let builder = query.into_builder(&SQL_INFO);
        let schema = builder.schema();
        let batch = builder.build();
        let encoded = FlightDataEncoderBuilder::new()
            .with_schema(schema)
            .build(futures::stream::once(async { batch }))
            .map_err(Status::from);
        Ok(Response::new(encoded.boxed()))
    }

    async fn register_sql_info(&self, _id: i32, _result: &SqlInfo) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_flight::sql::client::FlightSqlServiceClient;
    use zhongshu_catalog::{
        Actor, CatalogStore, NewPrincipal, OrgId, OrgKind, OrgUnit, PrincipalAttributes,
        PrincipalId, PrincipalKind, Role, SqlCatalogStore,
    };
    use zhongshu_engine::{Lake, LakeConfig, Limits};
    use zhongshu_policies::MaskKey;

    /// A Flight SQL door over an empty lake with two analysts, `a` and `b` (tokens `zs_a`,
    /// `zs_b`); returns the catalog (for the audit) and the door's address.
    async fn door(dir: &std::path::Path) -> (Arc<SqlCatalogStore>, std::net::SocketAddr) {
        let store = Arc::new(
            SqlCatalogStore::connect(&format!("sqlite://{}", dir.join("catalog.db").display()))
                .await
                .unwrap(),
        );
        let actor = Actor::system();
        let org = OrgUnit {
            id: OrgId::new("org"),
            name: "分析部门".into(),
            kind: OrgKind::DistrictDepartment,
            parent: None,
            division_code: None,
        };
        store.upsert_org(&actor, &org).await.unwrap();
        for user in ["a", "b"] {
            let principal = Principal {
                id: PrincipalId::new(user),
                display_name: user.into(),
                kind: PrincipalKind::User,
                org: org.id.clone(),
                roles: vec![Role::Analyst],
                attributes: PrincipalAttributes::default(),
            };
            let new = NewPrincipal {
                principal,
                password: None,
                token: Some(format!("zs_{user}")),
            };
            store.create_principal(&actor, &new).await.unwrap();
        }
        let service = Arc::new(QueryService::new(
            Lake::open(&LakeConfig::default(), dir).unwrap(),
            store.clone(),
            MaskKey::new(b"flight-test-masking-key").unwrap(),
            Limits::default(),
        ));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(serve(listener, service));
        (store, address)
    }

    async fn client(
        address: std::net::SocketAddr,
        token: &str,
    ) -> FlightSqlServiceClient<tonic::transport::Channel> {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{address}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut client = FlightSqlServiceClient::new(channel);
        client.set_token(token.to_owned());
        client
    }

    async fn fetch(
        client: &mut FlightSqlServiceClient<tonic::transport::Channel>,
        ticket: Ticket,
    ) -> usize {
        let stream = client.do_get(ticket).await.unwrap();
        let batches: Vec<_> = stream.try_collect().await.unwrap();
        batches.iter().map(|b| b.num_rows()).sum()
    }

    #[tokio::test]
    async fn a_described_statement_runs_as_whoever_fetches_it() {
        let dir = tempfile::tempdir().unwrap();
        let (store, address) = door(dir.path()).await;
        let mut a = client(address, "zs_a").await;
        let mut b = client(address, "zs_b").await;
        let sql = "SELECT 1 AS x UNION ALL SELECT 2";

        // Described and fetched by `a`: the kept plan runs.
        let info = a.execute(sql.to_owned(), None).await.unwrap();
        let ticket = info.endpoint[0].ticket.clone().unwrap();
        assert_eq!(fetch(&mut a, ticket).await, 2);
        // Described by `a`, fetched by `b`: planned again, in `b`'s own session.
        let info = a.execute(sql.to_owned(), None).await.unwrap();
        let ticket = info.endpoint[0].ticket.clone().unwrap();
        assert_eq!(fetch(&mut b, ticket.clone()).await, 2);
        // `a`'s kept plan is still there for `a`, once.
        assert_eq!(fetch(&mut a, ticket.clone()).await, 2);
        // A fetch without a kept plan plans again.
        assert_eq!(fetch(&mut a, ticket).await, 2);

        let answered: Vec<(String, bool)> = store
            .audit_records(0, 100)
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.record.protocol == "flight-sql" && r.record.sql == sql)
            .map(|r| (r.record.principal, r.record.completes.is_some()))
            .collect();
        // Each fetch: on record as started before its rows, then completed.
        let fetched = |p: &str| [(p.to_owned(), false), (p.to_owned(), true)];
        assert_eq!(
            answered,
            [fetched("a"), fetched("b"), fetched("a"), fetched("a")].concat()
        );
    }
}

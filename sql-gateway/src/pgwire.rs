//! The PostgreSQL wire protocol door (default 127.0.0.1:5433, database `zhongshu`), for psql,
//! psycopg and DBeaver-style tools.
//!
//! Each connection authenticates with SCRAM-SHA-256 against the principal's stored verifier
//! (an unknown user name is answered like a known one and fails like a wrong password; see
//! [`crate::auth`]),
//! then gets its own governed session with `pg_catalog` (datafusion-pg-catalog) over exactly
//! the tables the principal may discover. Statements go through the query service, so masks,
//! row filters, limits and the audit apply; what PostgreSQL clients send around queries is
//! answered here:
//!
//! - `SET zhongshu.purpose = '…'` declares the session's purpose (the session is decided again);
//!   `SHOW zhongshu.purpose` shows it;
//! - presentation settings clients send on connect (`client_encoding`, `extra_float_digits`,
//!   `application_name`, `DateStyle`, `TimeZone`, …) are acknowledged and change nothing;
//!   any other `SET` — anything that could change governance — is refused and audited;
//! - `BEGIN`, `COMMIT` and `ROLLBACK` are acknowledged (queries are read-only);
//! - client-specific catalog queries are rewritten by datafusion-pg-catalog's compatibility
//!   parser before planning, and what database browsers need beyond it is in [`pg_compat`].
//!
//! The connection loop is [`pg_socket`]'s: it bounds each message's size as it arrives and
//! refuses a malformed one before pgwire's decoders read it.

use crate::auth::{MockVerifiers, ScramExchange};
use crate::{pg_compat, pg_socket};
use arrow::datatypes::{DataType, Schema};
use arrow_pg::datatypes::{arrow_schema_to_pg_fields, encode_recordbatch, into_pg_type};
use async_trait::async_trait;
use datafusion::common::ParamValues;
use datafusion::sql::sqlparser::ast::{Set, Statement};
use datafusion_pg_catalog::pg_catalog::context::EmptyContextProvider;
use datafusion_pg_catalog::sql::PostgresCompatibilityParser;
use futures::{Sink, SinkExt, StreamExt, stream};
use pgwire::api::auth::{
    DefaultServerParameterProvider, StartupHandler, finish_authentication, protocol_negotiation,
    save_startup_parameters_to_metadata,
};
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::results::{
    DataRowEncoder, DescribePortalResponse, DescribeStatementResponse, FieldFormat, FieldInfo,
    QueryResponse, Response, Tag,
};
use pgwire::api::stmt::{QueryParser, StoredStatement};
use pgwire::api::store::PortalStore;
use pgwire::api::{
    ClientInfo, ClientPortalStore, METADATA_USER, PgWireConnectionState, PgWireServerHandlers,
    PidSecretKeyGenerator, RandomPidSecretKeyGenerator, Type,
};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::startup::{Authentication, PasswordMessageFamily};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use std::fmt::Debug;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use zhongshu_catalog::PrincipalId;
use zhongshu_catalog::auth::ScramVerifier;
use zhongshu_engine::governed::CATALOG;
use zhongshu_engine::{ClientInfo as Client, EngineError, PrincipalSession, QueryService};

/// The setting that declares a session's purpose.
pub const PURPOSE_SETTING: &str = "zhongshu.purpose";

/// Settings clients send on connect that only affect presentation; acknowledged, not applied.
const PRESENTATION_SETTINGS: &[&str] = &[
    "client_encoding",
    "extra_float_digits",
    "application_name",
    "datestyle",
    "timezone",
    "time zone",
    "intervalstyle",
    "bytea_output",
    "standard_conforming_strings",
    "client_min_messages",
    "search_path",
    "statement_timeout",
    "lock_timeout",
    "idle_in_transaction_session_timeout",
    "default_transaction_isolation",
    "transaction isolation level",
    "session characteristics as transaction isolation level",
];

static PARSER: LazyLock<PostgresCompatibilityParser> =
    LazyLock::new(PostgresCompatibilityParser::new);

/// Serves the PostgreSQL wire protocol on `listener` until the process ends. Unknown user
/// names get verifiers made up under a secret made once per process
/// ([`MockVerifiers::per_process`]); [`serve_with`] takes one kept for the deployment.
pub async fn serve(listener: TcpListener, service: Arc<QueryService>) {
    serve_with(listener, service, MockVerifiers::per_process()).await
}

/// [`serve`], making up unknown user names' verifiers with `mocks` (under a secret kept for
/// the deployment, their salts stay as stable across restarts as real users' salts).
pub async fn serve_with(listener: TcpListener, service: Arc<QueryService>, mocks: MockVerifiers) {
    let mocks = Arc::new(mocks);
    loop {
        let (socket, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, say: wait for connections to end rather than spin.
                tracing::warn!("pgwire accept: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        // Replies are written in small frames; without TCP_NODELAY the last one of each reply
        // can wait for the client's delayed ACK.
        if let Err(e) = socket.set_nodelay(true) {
            tracing::debug!("pgwire connection from {peer}: TCP_NODELAY: {e}");
        }
        let (hung_up, watched) = match watch_for_hang_up(socket) {
            Ok(split) => split,
            Err(e) => {
                tracing::warn!("pgwire connection from {peer}: {e}");
                continue;
            }
        };
        let session = Arc::new(tokio::sync::Mutex::new(None));
        let signed_in = Arc::new(AtomicBool::new(false));
        let connection = Arc::new(Connection {
            signed_in: signed_in.clone(),
            service: service.clone(),
            peer,
            mocks: mocks.clone(),
            scram: std::sync::Mutex::new(None),
            session: session.clone(),
            parser: Arc::new(Parser(session)),
            hung_up: hung_up.subscribe(),
        });
        tokio::spawn(async move {
            // Ends the watch however the connection ends, a panic included: the watch holds a
            // duplicate of the socket, which would keep the client waiting on a dead connection.
            let _ends_watch = EndsWatch(hung_up);
            if let Err(e) =
                pg_socket::serve_connection(watched, Handlers(connection), signed_in).await
            {
                tracing::debug!("pgwire connection from {peer}: {e}");
            }
        });
    }
}

/// Ends a connection's hang-up watch ([`watch_for_hang_up`]) when dropped.
struct EndsWatch(tokio::sync::watch::Sender<bool>);

impl Drop for EndsWatch {
    fn drop(&mut self) {
        let _ = self.0.send(true);
    }
}

/// Watches `socket` for its client hanging up while the connection is busy with a statement
/// (and so not reading): a statement whose client is gone is stopped, and its permit, memory
/// and threads are freed at once instead of when it would next write. The watch reads a
/// duplicate of the socket without consuming anything: only end of stream or an error mean the
/// client has gone (bytes waiting unread may start anywhere in a message, so they are never
/// read as a Terminate). Returns the signal and the socket to serve.
fn watch_for_hang_up(
    socket: TcpStream,
) -> std::io::Result<(tokio::sync::watch::Sender<bool>, TcpStream)> {
    let socket = socket.into_std()?;
    let duplicate = TcpStream::from_std(socket.try_clone()?)?;
    let socket = TcpStream::from_std(socket)?;
    let (hung_up, mut ended) = tokio::sync::watch::channel(false);
    let signal = hung_up.clone();
    tokio::spawn(async move {
        let mut head = [0u8; 1];
        loop {
            tokio::select! {
                _ = ended.wait_for(|gone| *gone) => return,
                ready = duplicate.readable() => if ready.is_err() { break },
            }
            match duplicate.peek(&mut head).await {
                Ok(0) | Err(_) => break,
                // A message the connection has yet to read: look again a little later.
                Ok(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        let _ = signal.send(true);
    });
    Ok((hung_up, socket))
}

/// One client connection: its authentication exchange and, once authenticated, its session.
struct Connection {
    service: Arc<QueryService>,
    peer: SocketAddr,
    mocks: Arc<MockVerifiers>,
    scram: std::sync::Mutex<Option<(String, ScramExchange)>>,
    session: SharedSession,
    parser: Arc<Parser>,
    /// Turns true when the client hangs up ([`watch_for_hang_up`]).
    hung_up: tokio::sync::watch::Receiver<bool>,
    /// Turns true once the client has signed in, which raises the size a message may have
    /// ([`pg_socket`]).
    signed_in: Arc<AtomicBool>,
}

type SharedSession = Arc<tokio::sync::Mutex<Option<PrincipalSession>>>;

struct Handlers(Arc<Connection>);

impl PgWireServerHandlers for Handlers {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        self.0.clone()
    }

    fn extended_query_handler(&self) -> Arc<impl ExtendedQueryHandler> {
        self.0.clone()
    }

    fn startup_handler(&self) -> Arc<impl StartupHandler> {
        self.0.clone()
    }
}

fn user_error(severity: &str, code: &str, message: impl Into<String>) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        severity.into(),
        code.into(),
        message.into(),
    )))
}

fn engine_error(e: &EngineError) -> PgWireError {
    user_error("ERROR", crate::engine_sqlstate(e), e.to_string())
}

fn auth_failed(user: &str) -> PgWireError {
    user_error(
        "FATAL",
        "28P01",
        format!("password authentication failed for user \"{user}\""),
    )
}

/// Adds `pg_catalog` (over the session's own catalog) to a session, and again whenever the
/// session is decided again.
fn attach_pg_catalog(session: &PrincipalSession) -> PgWireResult<()> {
    let user = session.principal().id.as_str().to_owned();
    session
        .extend(move |governed| {
            let context = governed.context();
            datafusion_pg_catalog::setup_pg_catalog(context, CATALOG, EmptyContextProvider)
                .map_err(|e| EngineError::Query(*e))?;
            pg_compat::attach(context, CATALOG, &user)?;
            Ok(())
        })
        .map_err(|e| engine_error(&e))
}

#[async_trait]
impl StartupHandler for Connection {
    async fn on_startup<C>(
        &self,
        client: &mut C,
        message: PgWireFrontendMessage,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        match message {
            PgWireFrontendMessage::Startup(ref startup) => {
                protocol_negotiation(client, startup).await?;
                save_startup_parameters_to_metadata(client, startup);
                client.set_state(PgWireConnectionState::AuthenticationInProgress);
                client
                    .send(PgWireBackendMessage::Authentication(Authentication::SASL(
                        vec!["SCRAM-SHA-256".to_owned()],
                    )))
                    .await?;
            }
            PgWireFrontendMessage::PasswordMessageFamily(msg) => {
                let user = client
                    .metadata()
                    .get(METADATA_USER)
                    .cloned()
                    .unwrap_or_default();
                let pending = crate::lock(&self.scram).take();
                match pending {
                    None => {
                        if let PasswordMessageFamily::Raw(body) = &msg
                            && !pg_socket::is_sasl_initial_response(body)
                        {
                            return Err(user_error(
                                "FATAL",
                                "08P01",
                                "a SASLInitialResponse message that is not well formed; \
                                 the connection is closed",
                            ));
                        }
                        let initial = msg.into_sasl_initial_response()?;
                        if initial.auth_method != "SCRAM-SHA-256" {
                            return Err(user_error(
                                "FATAL",
                                "28000",
                                format!(
                                    "authentication method {} is not supported; use SCRAM-SHA-256",
                                    initial.auth_method
                                ),
                            ));
                        }
                        let stored = self
                            .service
                            .store()
                            .password_verifier(&PrincipalId::new(&user))
                            .await
                            .map_err(|e| PgWireError::ApiError(Box::new(e)))?;
                        // Encoded and decoded either way, so that a made-up verifier costs
                        // what a stored one does.
                        let made_up = self.mocks.verifier(&user).encode();
                        let known = stored.is_some();
                        let stored =
                            ScramVerifier::decode(&stored.unwrap_or(made_up)).filter(|_| known);
                        let data = initial.data.unwrap_or_default();
                        let first = String::from_utf8_lossy(&data);
                        // A user without a verifier gets a made-up one: the same salt every
                        // time, the same work, and a refusal at the proof like a wrong password.
                        let (exchange, server_first) =
                            ScramExchange::start_for(&user, stored, &self.mocks, &first)
                                .map_err(|e| user_error("FATAL", "28000", e))?;
                        *crate::lock(&self.scram) = Some((user, exchange));
                        client
                            .send(PgWireBackendMessage::Authentication(
                                Authentication::SASLContinue(server_first.into_bytes().into()),
                            ))
                            .await?;
                    }
                    Some((user, exchange)) => {
                        let response = msg.into_sasl_response()?;
                        let last = String::from_utf8_lossy(&response.data);
                        let server_final =
                            exchange.finish(&last).map_err(|_| auth_failed(&user))?;
                        let principal = self
                            .service
                            .store()
                            .get_principal(&PrincipalId::new(&user))
                            .await
                            .map_err(|e| PgWireError::ApiError(Box::new(e)))?
                            .ok_or_else(|| auth_failed(&user))?;
                        let session = self
                            .service
                            .open(
                                principal,
                                None,
                                Client::answering(self.peer.to_string(), "pgwire"),
                            )
                            .await
                            .map_err(|e| engine_error(&e))?;
                        attach_pg_catalog(&session)?;
                        *self.session.lock().await = Some(session);
                        self.signed_in.store(true, Ordering::Release);
                        client
                            .send(PgWireBackendMessage::Authentication(
                                Authentication::SASLFinal(server_final.into_bytes().into()),
                            ))
                            .await?;
                        let (pid, key) = RandomPidSecretKeyGenerator::default().generate(client);
                        client.set_pid_and_secret_key(pid, key);
                        let mut parameters = DefaultServerParameterProvider::default();
                        parameters.server_version = "16.6-zhongshu".to_owned();
                        finish_authentication(client, &parameters).await?;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// What a statement is, once parsed.
#[derive(Debug, Clone)]
enum Kind {
    /// A query for the governed session.
    Query,
    /// `SET zhongshu.purpose`.
    SetPurpose(Option<String>),
    /// A presentation setting, acknowledged.
    Acknowledge(&'static str),
    /// `SHOW name`.
    Show(String),
    /// BEGIN / COMMIT / ROLLBACK.
    Transaction(&'static str),
    /// A setting that would change governance.
    RefusedSet(String),
}

/// A parsed statement: its text for the engine and what it is.
#[derive(Debug, Clone)]
pub struct PgStatement {
    sql: String,
    kind: Kind,
    /// For queries: the result schema and parameter types, from planning at Parse time.
    schema: Option<Arc<Schema>>,
    params: Vec<Option<DataType>>,
}

/// Whether a result of `now`'s columns is what a client told `described` at Describe expects:
/// as many columns (`None`: planning had failed, so it was told none). Types are not compared:
/// a parameter's type can be settled only at Bind, and a type the client did not expect does
/// not break the protocol the way a different number of fields does.
fn same_columns(described: Option<&Schema>, now: &Schema) -> bool {
    described.is_some_and(|d| d.fields().len() == now.fields().len())
}

fn setting_value(values: &[datafusion::sql::sqlparser::ast::Expr]) -> Option<String> {
    let text = values
        .iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let text = text.trim().trim_matches('\'').trim_matches('"').to_owned();
    (!text.is_empty() && !text.eq_ignore_ascii_case("default")).then_some(text)
}

fn classify(statement: &Statement) -> Kind {
    match statement {
        Statement::Set(Set::SingleAssignment {
            variable, values, ..
        }) => {
            let name = variable.to_string().to_lowercase();
            if name == PURPOSE_SETTING {
                Kind::SetPurpose(setting_value(values))
            } else if PRESENTATION_SETTINGS.contains(&name.as_str()) {
                Kind::Acknowledge("SET")
            } else {
                Kind::RefusedSet(name)
            }
        }
        Statement::Set(
            Set::SetTimeZone { .. } | Set::SetNames { .. } | Set::SetTransaction { .. },
        ) => Kind::Acknowledge("SET"),
        Statement::Set(other) => Kind::RefusedSet(other.to_string()),
        Statement::ShowVariable { variable } => {
            // `SHOW zhongshu.purpose` arrives as two identifiers, `SHOW TIME ZONE` as two words.
            let parts: Vec<String> = variable.iter().map(|v| v.value.to_lowercase()).collect();
            if parts.join(".") == PURPOSE_SETTING {
                Kind::Show(PURPOSE_SETTING.to_owned())
            } else {
                Kind::Show(parts.join(" "))
            }
        }
        Statement::StartTransaction { .. } => Kind::Transaction("BEGIN"),
        Statement::Commit { .. } => Kind::Transaction("COMMIT"),
        Statement::Rollback { .. } => Kind::Transaction("ROLLBACK"),
        Statement::Discard { .. } => Kind::Acknowledge("DISCARD ALL"),
        _ => Kind::Query,
    }
}

/// Parses statements; an error is for the caller to audit ([`refused`]).
fn parse(sql: &str) -> Result<Vec<PgStatement>, EngineError> {
    zhongshu_engine::complexity::check(sql)?;
    let statements = PARSER.parse(sql).map_err(|e| {
        EngineError::Query(datafusion::error::DataFusionError::SQL(Box::new(e), None))
    })?;
    Ok(statements
        .into_iter()
        .map(|mut s| {
            pg_compat::rewrite(&mut s);
            let kind = classify(&s);
            PgStatement {
                sql: s.to_string(),
                kind,
                schema: None,
                params: vec![],
            }
        })
        .collect())
}

fn text_field(name: &str) -> FieldInfo {
    FieldInfo::new(name.to_owned(), None, None, Type::TEXT, FieldFormat::Text)
}

fn single_text(name: &str, value: &str) -> PgWireResult<Response> {
    let fields = Arc::new(vec![text_field(name)]);
    let mut encoder = DataRowEncoder::new(fields.clone());
    encoder.encode_field(&value)?;
    let row = encoder.take_row();
    Ok(Response::Query(QueryResponse::new(
        fields,
        stream::iter(vec![Ok(row)]),
    )))
}

/// Audits a statement refused before it reached the session's planner (it did not parse, or
/// it is too large or too deep), and answers the refusal.
async fn refused(session: &SharedSession, sql: &str, error: EngineError) -> PgWireError {
    let guard = session.lock().await;
    match guard.as_ref() {
        Some(session) => engine_error(&session.audit_failure(sql, error, Instant::now()).await),
        None => user_error("FATAL", "08003", "no session"),
    }
}

impl Connection {
    async fn respond(
        &self,
        statement: &PgStatement,
        params: Option<ParamValues>,
        format: &Format,
        described: bool,
    ) -> PgWireResult<Response> {
        let mut guard = self.session.lock().await;
        let session = guard
            .as_mut()
            .ok_or_else(|| user_error("FATAL", "08003", "no session"))?;
        let started = Instant::now();
        // Statements the door answers itself are recorded too: they reached a door.
        let answered = async |session: &PrincipalSession| {
            session
                .audit_session_statement(&statement.sql, started)
                .await
                .map_err(|e| engine_error(&e))
        };
        match &statement.kind {
            Kind::Transaction(tag) if *tag == "BEGIN" => {
                answered(session).await?;
                Ok(Response::TransactionStart(Tag::new("BEGIN")))
            }
            Kind::Transaction(tag) => {
                answered(session).await?;
                Ok(Response::TransactionEnd(Tag::new(tag)))
            }
            Kind::Acknowledge(tag) => {
                answered(session).await?;
                Ok(Response::Execution(Tag::new(tag)))
            }
            Kind::SetPurpose(purpose) => {
                if let Err(e) = session.set_purpose(purpose.clone()).await {
                    return Err(engine_error(
                        &session.audit_failure(&statement.sql, e, started).await,
                    ));
                }
                answered(session).await?;
                Ok(Response::Execution(Tag::new("SET")))
            }
            Kind::Show(name) => {
                answered(session).await?;
                let value = match name.as_str() {
                    PURPOSE_SETTING => session.purpose().unwrap_or(""),
                    other => pg_compat::setting(other).unwrap_or(""),
                };
                single_text(name, value)
            }
            Kind::RefusedSet(name) => {
                let error = EngineError::Refused(format!(
                    "SET {name}: settings that change governance are refused; only {PURPOSE_SETTING} and presentation settings may be set"
                ));
                let error = session.audit_failure(&statement.sql, error, started).await;
                Err(engine_error(&error))
            }
            Kind::Query => {
                let stream = session
                    .execute_with(&statement.sql, params)
                    .await
                    .map_err(|e| engine_error(&e))?;
                drop(guard);
                let schema = datafusion::physical_plan::RecordBatchStream::schema(&stream);
                // The client was told the columns at Describe, from planning at Parse; grants
                // that changed in between can change them (or make a statement that failed
                // there run now). Rows of other columns would desynchronise the client, so
                // the statement is stopped, as PostgreSQL stops a cached plan whose result
                // type changed.
                if described && !same_columns(statement.schema.as_deref(), &schema) {
                    drop(stream);
                    return Err(user_error(
                        "ERROR",
                        "0A000",
                        "the statement's columns changed since it was described (its grants \
                         changed); prepare it again",
                    ));
                }
                // Stopped (and its audit record written as abandoned) if the client hangs up.
                let (mut until, after) = (self.hung_up.clone(), self.hung_up.clone());
                let stream = stream
                    .take_until(async move {
                        let _ = until.wait_for(|gone| *gone).await;
                    })
                    // Ended by the hang-up: an error, never what looks like a whole result.
                    .chain(stream::once(async move { *after.borrow() }).filter_map(
                        |gone| async move {
                            gone.then(|| {
                                Err(datafusion::error::DataFusionError::Execution(
                                    "the client hung up; the statement was stopped".into(),
                                ))
                            })
                        },
                    ));
                let fields = Arc::new(arrow_schema_to_pg_fields(&schema, format, None)?);
                let rows_fields = fields.clone();
                let rows = stream
                    .map(move |batch| match batch {
                        Ok(batch) => {
                            stream::iter(encode_recordbatch(rows_fields.clone(), batch)).boxed()
                        }
                        Err(e) => {
                            let message = e.to_string();
                            let sqlstate = crate::engine_sqlstate(&EngineError::Query(e));
                            stream::iter(vec![Err(user_error("ERROR", sqlstate, message))]).boxed()
                        }
                    })
                    .flatten();
                Ok(Response::Query(QueryResponse::new(fields, rows)))
            }
        }
    }
}

#[async_trait]
impl SimpleQueryHandler for Connection {
    async fn do_query<C>(&self, _client: &mut C, query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let statements = match parse(query) {
            Ok(statements) => statements,
            Err(e) => return Err(refused(&self.session, query, e).await),
        };
        if statements.is_empty() {
            return Ok(vec![Response::EmptyQuery]);
        }
        let mut responses = Vec::with_capacity(statements.len());
        for statement in &statements {
            match self
                .respond(statement, None, &Format::UnifiedText, false)
                .await
            {
                Ok(r) => responses.push(r),
                Err(PgWireError::UserError(info)) => {
                    responses.push(Response::Error(info));
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(responses)
    }
}

/// Parses (and, for queries, plans) statements of the extended protocol.
struct Parser(SharedSession);

#[async_trait]
impl QueryParser for Parser {
    type Statement = PgStatement;

    async fn parse_sql<C>(
        &self,
        _client: &C,
        sql: &str,
        _types: &[Option<Type>],
    ) -> PgWireResult<Option<Self::Statement>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let parsed = match parse(sql) {
            Ok(parsed) => parsed,
            Err(e) => return Err(refused(&self.0, sql, e).await),
        };
        let Some(mut statement) = parsed.into_iter().next() else {
            return Ok(None);
        };
        if matches!(statement.kind, Kind::Query) {
            let guard = self.0.lock().await;
            let session = guard
                .as_ref()
                .ok_or_else(|| user_error("FATAL", "08003", "no session"))?;
            match session.plan(&statement.sql).await {
                Ok(planned) => {
                    let plan = planned.logical_plan();
                    let types = plan
                        .get_parameter_types()
                        .map_err(|e| user_error("ERROR", "42601", e.to_string()))?;
                    let mut names: Vec<(usize, Option<DataType>)> = types
                        .into_iter()
                        .filter_map(|(name, t)| {
                            name.trim_start_matches('$')
                                .parse::<usize>()
                                .ok()
                                .map(|i| (i, t))
                        })
                        .collect();
                    names.sort_by_key(|(i, _)| *i);
                    statement.params = names.into_iter().map(|(_, t)| t).collect();
                    statement.schema = Some(Arc::new(plan.schema().as_arrow().clone()));
                }
                // Refusals and errors surface at execution, where they are audited.
                Err(_) => statement.schema = None,
            }
        }
        Ok(Some(statement))
    }

    fn get_parameter_types(&self, statement: &Self::Statement) -> PgWireResult<Vec<Type>> {
        statement
            .params
            .iter()
            .map(|t| match t {
                Some(t) => into_pg_type(t),
                None => Ok(Type::UNKNOWN),
            })
            .collect()
    }

    fn get_result_schema(
        &self,
        statement: &Self::Statement,
        column_format: Option<&Format>,
    ) -> PgWireResult<Vec<FieldInfo>> {
        match (&statement.kind, &statement.schema) {
            (Kind::Query, Some(schema)) => arrow_schema_to_pg_fields(
                schema,
                column_format.unwrap_or(&Format::UnifiedText),
                None,
            ),
            (Kind::Show(name), _) => Ok(vec![text_field(name)]),
            _ => Ok(vec![]),
        }
    }
}

#[async_trait]
impl ExtendedQueryHandler for Connection {
    type Statement = PgStatement;
    type QueryParser = Parser;

    fn query_parser(&self) -> Arc<Self::QueryParser> {
        self.parser.clone()
    }

    async fn do_query<C>(
        &self,
        _client: &mut C,
        portal: &Portal<Self::Statement>,
        _max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let statement = &portal.statement.statement;
        let params = if statement.params.is_empty() {
            None
        } else {
            let types: Vec<Option<&DataType>> =
                statement.params.iter().map(Option::as_ref).collect();
            Some(arrow_pg::datatypes::df::deserialize_parameters(
                portal, &types,
            )?)
        };
        self.respond(statement, params, &portal.result_column_format, true)
            .await
    }

    async fn do_describe_statement<C>(
        &self,
        _client: &mut C,
        target: &StoredStatement<Self::Statement>,
    ) -> PgWireResult<DescribeStatementResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let params = self.parser.get_parameter_types(&target.statement)?;
        let fields = self.parser.get_result_schema(&target.statement, None)?;
        Ok(DescribeStatementResponse::new(params, fields))
    }

    async fn do_describe_portal<C>(
        &self,
        _client: &mut C,
        target: &Portal<Self::Statement>,
    ) -> PgWireResult<DescribePortalResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let fields = self.parser.get_result_schema(
            &target.statement.statement,
            Some(&target.result_column_format),
        )?;
        Ok(DescribePortalResponse::new(fields))
    }
}

//! The MySQL query port: accepts connections, logs them in (see
//! [`super::handshake`]) and runs each one's command phase on opensrv-mysql.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use opensrv_mysql::{
    AsyncMysqlIntermediary, AsyncMysqlShim, Column, ErrorKind, InitWriter, IntermediaryOptions, OkResponse,
    ParamParser, QueryResultWriter, StatementMetaWriter, StatusFlags,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, field, info, info_span, warn, Instrument, Span};

use super::auth::Authenticator;
use super::executor::Executor;
use super::handshake::{self, Login, LoginError, SkipLogin};
use super::packet_bounds::PacketBounded;
use super::probes::{Variables, SERVER_VERSION};
use super::connections::{Connection as ListedConnection, Connections};
use super::results::{ColType, OutColumn, QueryOutput, Value};
use super::session::Session;
use crate::error::FeError;
use crate::query::QueryEnv;
use crate::sql::{self, SetValue, Statement};

/// Connection ids are process-wide so that two servers in one process
/// (tests) never hand out the same id.
static NEXT_CONNECTION_ID: AtomicU32 = AtomicU32::new(1);

struct Shared {
    executor: Arc<dyn Executor>,
    auth: Arc<dyn Authenticator>,
    variables: Variables,
    connections: Connections,
}

/// Serves the MySQL protocol on `listener` until `stop` is cancelled; then
/// stops accepting, drops open connections and returns once they are gone.
///
/// Three places, as upstream keeps connection handling, query execution and its RPC
/// servers in thread pools of their own:
/// - connections are accepted and logged in on a thread of their own ([`logins`]). A login
///   is a few short turns, but on a runtime busy with hundreds of queries each turn waits
///   behind all of them (400 busy connections on 2 cores kept logins waiting over 120 s);
/// - each logged-in connection's statements run on a query runtime with a worker per core;
/// - the caller's runtime keeps the rest of the FE (thrift and HTTP servers, heartbeats,
///   jobs, load publishing). With statements on the same runtime, a 10-minute hold of 400
///   busy MySQL clients delayed heartbeats and BEs' load-plan requests until they failed.
///   The OS shares the cores between the two runtimes' threads; neither queue holds the
///   other's work.
pub async fn serve(
    listener: TcpListener,
    executor: Arc<dyn Executor>,
    auth: Arc<dyn Authenticator>,
    stop: CancellationToken,
) {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    serve_with(listener, executor, auth, stop, cores).await
}

/// [`serve`] with `query_threads` workers for statements.
pub async fn serve_with(
    listener: TcpListener,
    executor: Arc<dyn Executor>,
    auth: Arc<dyn Authenticator>,
    stop: CancellationToken,
    query_threads: usize,
) {
    let shared = Arc::new(Shared { executor, auth, variables: Variables::default(), connections: Connections::default() });
    let tracker = TaskTracker::new();
    if let Ok(addr) = listener.local_addr() {
        info!(%addr, "mysql server listening");
    }
    let accepting = match listener.into_std() {
        Ok(std_listener) => {
            let (shared, tracker, stop) = (shared.clone(), tracker.clone(), stop.clone());
            let (done, finished) = tokio::sync::oneshot::channel::<()>();
            let spawned = std::thread::Builder::new().name("mysql-login".into()).spawn(move || {
                logins(std_listener, shared, tracker, query_threads, stop);
                drop(done);
            });
            match spawned {
                Ok(_) => Some(finished),
                Err(e) => {
                    warn!(error = %e, "cannot start the mysql login thread");
                    None
                }
            }
        }
        Err(e) => {
            warn!(error = %e, "mysql listener cannot be handed to the login thread");
            None
        }
    };
    if let Some(finished) = accepting {
        // Ends (the sender dropped) when the login thread returns.
        let _ = finished.await;
    }
    tracker.close();
    tracker.wait().await;
    info!("mysql server stopped");
}

/// The login thread: accepts connections and runs each one's login on a runtime of its
/// own; a logged-in connection moves to the query runtime for the rest of its life. Both
/// runtimes end with this thread.
fn logins(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    tracker: TaskTracker,
    query_threads: usize,
    stop: CancellationToken,
) {
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return warn!(error = %e, "cannot build the mysql login runtime"),
    };
    let queries = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(query_threads.max(1))
        .thread_name("mysql-query")
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return warn!(error = %e, "cannot build the mysql query runtime"),
    };
    let commands = queries.handle().clone();
    rt.block_on(async move {
        let listener = match TcpListener::from_std(listener) {
            Ok(l) => l,
            Err(e) => return warn!(error = %e, "mysql listener"),
        };
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        let _ = stream.set_nodelay(true);
                        let (shared, tracker, commands, stop) = (shared.clone(), tracker.clone(), commands.clone(), stop.clone());
                        // Tracked from the accept: the server waits for logins in progress too.
                        let token = tracker.token();
                        tokio::spawn(async move {
                            let connection_id = NEXT_CONNECTION_ID.fetch_add(1, Ordering::Relaxed);
                            let span = connection_span(connection_id);
                            let mut stream = stream;
                            let login = tokio::select! {
                                _ = stop.cancelled() => return,
                                login = log_in(&mut stream, connection_id, &peer, &shared).instrument(span.clone()) => login,
                            };
                            let Some(login) = login else { return };
                            // To the command runtime: registered with its I/O driver from here on.
                            let stream = match stream.into_std() {
                                Ok(s) => s,
                                Err(e) => return debug!(error = %e, "connection lost after login"),
                            };
                            commands.spawn(async move {
                                let _token = token;
                                let stream = match tokio::net::TcpStream::from_std(stream) {
                                    Ok(s) => s,
                                    Err(e) => return debug!(error = %e, "connection lost after login"),
                                };
                                tokio::select! {
                                    _ = stop.cancelled() => {}
                                    _ = command_phase(stream, peer, login, connection_id, shared).instrument(span) => {}
                                }
                            });
                        });
                    }
                    Err(e) => warn!(error = %e, "mysql accept failed"),
                },
            }
        }
    });
    // Connections still open end here (their tasks are dropped); the server is stopping.
    queries.shutdown_timeout(std::time::Duration::from_secs(5));
    // Dropping the login runtime ends logins still in progress.
}

/// Serves one connection on `stream` as the port would (login, then commands) until the
/// stream ends. For the fuzz target (`fuzz/`), through [`super::fuzzing`]; not an API.
pub async fn serve_stream<S>(mut stream: S, executor: Arc<dyn Executor>, auth: Arc<dyn Authenticator>)
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let shared = Arc::new(Shared { executor, auth, variables: Variables::default(), connections: Connections::default() });
    let peer = SocketAddr::from(([127, 0, 0, 1], 0));
    let connection_id = NEXT_CONNECTION_ID.fetch_add(1, Ordering::Relaxed);
    let span = connection_span(connection_id);
    let Some(login) = log_in(&mut stream, connection_id, &peer, &shared).instrument(span.clone()).await else { return };
    command_phase(stream, peer, login, connection_id, shared).instrument(span).await
}

fn connection_span(connection_id: u32) -> Span {
    info_span!("mysql_conn", conn_id = connection_id, user = field::Empty)
}

/// The connection phase to its end: authenticated, the database asked for in use, the
/// client sent its OK. None when the login was refused or the connection broke.
async fn log_in<S>(stream: &mut S, connection_id: u32, peer: &SocketAddr, shared: &Shared) -> Option<(Login, Session)>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let host = peer.ip().to_string();
    // A client that connects and then says nothing must not hold a login for good.
    let silence = std::time::Duration::from_secs(shared.variables.global_int("connect_timeout").unwrap_or(10).max(1) as u64);
    let login = match handshake::login(stream, connection_id, &host, shared.auth.as_ref(), silence).await {
        Ok(login) => login,
        Err(LoginError::Refused(e)) => {
            info!(%host, reason = %e, "login refused");
            return None;
        }
        Err(e @ LoginError::Silent(_)) => {
            info!(%host, reason = %e, "login abandoned: connection closed");
            return None;
        }
        Err(e) => {
            debug!(%host, error = %e, "login failed");
            return None;
        }
    };
    let mut session = Session { user_host: login.user_host.clone(), ..Session::new(connection_id, login.user.clone(), host.clone()) };
    let answered = match &login.db {
        Some(db) => match use_db(shared, &mut session, db.clone()).await {
            Ok(_) => handshake::write_login_ok(stream, &login).await,
            // As a server does: the error, then the connection is closed.
            Err(e) => {
                info!(%host, reason = %e, "login refused: its database");
                let _ = handshake::write_login_err(stream, &login, &e).await;
                return None;
            }
        },
        None => handshake::write_login_ok(stream, &login).await,
    };
    match answered {
        Ok(()) => Some((login, session)),
        Err(e) => {
            debug!(%host, error = %e, "connection lost at login");
            None
        }
    }
}

/// A logged-in connection's commands, on opensrv, until the stream ends or it is KILLed.
async fn command_phase<S>(stream: S, peer: SocketAddr, (login, session): (Login, Session), connection_id: u32, shared: Arc<Shared>)
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    Span::current().record("user", login.user.as_str());
    debug!(host = %session.client_host, "logged in");
    let registered = shared.connections.register(connection_id, &login.user, peer.to_string());
    let me = registered.conn.clone();

    let handoff = handshake::opensrv_handoff(&login);
    let (read_half, write_half) = tokio::io::split(stream);
    let reader = PacketBounded::new(io::Cursor::new(handoff).chain(read_half));
    // opensrv writes each packet as it is made and flushes after every command: a
    // buffer turns a result set's one write per row into a few large ones.
    let writer = SkipLogin::new(tokio::io::BufWriter::with_capacity(64 * 1024, write_half));
    let closed = me.closed.clone();
    let conn = Connection {
        session,
        shared: shared.clone(),
        me,
        columns: Vec::new(),
    };
    let opts = IntermediaryOptions { process_use_statement_on_query: true, reject_connection_on_dbname_absence: false };
    tokio::select! {
        // A KILLed connection ends before it reads another statement.
        biased;
        _ = closed.cancelled() => info!("connection killed"),
        r = AsyncMysqlIntermediary::run_with_options(conn, reader, writer, &opts) => match r {
            Ok(()) => debug!("connection closed"),
            Err(e) => debug!(error = %e, "connection ended"),
        },
    }
    drop(registered);
}

/// One logged-in connection.
struct Connection {
    session: Session,
    shared: Arc<Shared>,
    /// This connection's entry in SHOW PROCESSLIST.
    me: Arc<ListedConnection>,
    /// Column definitions of the result being written; opensrv borrows them
    /// for as long as the writer lives.
    columns: Vec<Column>,
}

impl Connection {
    async fn run(&mut self, query: &str) -> Result<QueryOutput, FeError> {
        let stmt = sql::parse(query)?;
        // The kind only: statement text can carry credentials.
        debug!(kind = stmt.kind(), "statement");
        let vars = &self.shared.variables;
        match stmt {
            Statement::Query(sql) => self.shared.executor.query(&sql, &self.query_env()).await,
            Statement::Insert(stmt) => self.shared.executor.insert(*stmt, &self.query_env()).await,
            Statement::Transaction(_) => Ok(QueryOutput::ok()),
            Statement::ShowWarnings { .. } => Ok(QueryOutput::rows(
                vec![OutColumn::text("Level"), OutColumn::new("Code", ColType::Int), OutColumn::text("Message")],
                Vec::new(),
            )),
            Statement::ShowProcesslist { full } => {
                Ok(self.shared.connections.show(self.session.connection_id, &self.session.user, full))
            }
            Statement::Kill { connection_id, query_only } => {
                self.shared.connections.kill(&self.session.user, connection_id, query_only)?;
                Ok(QueryOutput::ok())
            }
            Statement::ShowVariables { scope, filter } => Ok(vars.show(&self.session, scope, filter.as_ref())),
            Statement::SetNames { charset, collation } => {
                vars.set_names(&mut self.session, &charset, collation.as_deref());
                Ok(QueryOutput::ok())
            }
            Statement::SetVariables(mut list) => {
                for v in list.iter_mut() {
                    if let SetValue::Expr(text) = &v.value {
                        v.value = self.evaluate(text).await?;
                    }
                }
                self.shared.variables.set(&mut self.session, &list)?;
                Ok(QueryOutput::ok())
            }
            Statement::Use { db } => self.use_db(db).await,
            other => self.shared.executor.execute(&mut self.session, other).await,
        }
    }

    /// What a query sees of this session.
    fn query_env(&self) -> QueryEnv {
        QueryEnv {
            current_db: self.session.current_db.clone(),
            user: self.session.user.clone(),
            user_host: self.session.user_host.clone(),
            client_host: self.session.client_host.clone(),
            connection_id: self.session.connection_id,
            variables: self.shared.variables.snapshot(&self.session),
        }
    }

    /// The value of a `SET x = <expression>`, computed by the query engine.
    async fn evaluate(&self, expr: &str) -> Result<SetValue, FeError> {
        let out = self.shared.executor.query(&format!("SELECT {expr}"), &self.query_env()).await?;
        let QueryOutput::Rows { rows, .. } = out else { return Err(FeError::Internal(format!("'{expr}' has no value"))) };
        Ok(match rows.into_iter().next().and_then(|r| r.into_iter().next()) {
            None | Some(Value::Null) => SetValue::Null,
            Some(Value::Int(i)) => SetValue::Int(i),
            Some(Value::UInt(u)) => SetValue::Int(u as i64),
            Some(Value::Double(d)) => SetValue::Double(d),
            Some(other) => SetValue::Str(other.to_text().map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default()),
        })
    }

    async fn use_db(&mut self, db: String) -> Result<QueryOutput, FeError> {
        use_db(&self.shared, &mut self.session, db).await
    }
}

/// The catalog decides whether `db` exists; the session follows on success. For USE,
/// COM_INIT_DB and the database a login asks for.
async fn use_db(shared: &Shared, session: &mut Session, db: String) -> Result<QueryOutput, FeError> {
    let out = shared.executor.execute(session, Statement::Use { db: db.clone() }).await?;
    session.current_db = Some(db);
    Ok(out)
}

/// What SHOW PROCESSLIST shows of a running statement: the text of reads and session
/// statements; of the others only their first words, as their text can carry credentials
/// (CREATE REPOSITORY, CREATE RESOURCE).
fn processlist_info(query: &str) -> String {
    let trimmed = query.trim_start();
    let first = trimmed.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
    if matches!(first.as_str(), "SELECT" | "WITH" | "SHOW" | "USE" | "VALUES" | "KILL" | "DESC" | "DESCRIBE") {
        trimmed.to_string()
    } else {
        trimmed.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
    }
}

fn ok_response(affected_rows: u64, info: String) -> OkResponse {
    OkResponse { affected_rows, info: lenenc_info(info), status_flags: StatusFlags::SERVER_STATUS_AUTOCOMMIT, ..Default::default() }
}

/// A MySQL server sends an OK packet's info as a length-encoded string, and clients
/// (libmariadb, the mysql CLI) read it so; opensrv writes the text bare. The length byte
/// goes in front here, the text cut below 128 bytes so that byte is one ASCII character.
fn lenenc_info(info: String) -> String {
    if info.is_empty() {
        return info;
    }
    let mut text = info;
    while text.len() > 127 {
        text.pop();
    }
    let mut out = String::with_capacity(text.len() + 1);
    out.push(char::from(text.len() as u8));
    out.push_str(&text);
    out
}

async fn write_error<W: AsyncWrite + Unpin>(results: QueryResultWriter<'_, W>, err: &FeError) -> io::Result<()> {
    debug!(code = err.mysql_code(), "statement failed");
    results.error(err.mysql_error_kind(), err.to_string().as_bytes()).await
}

/// Writes one statement's outcome; a malformed result set becomes an error
/// packet rather than a broken connection.
async fn write_outcome<'a, W: AsyncWrite + Unpin + Send>(
    results: QueryResultWriter<'a, W>,
    outcome: Result<QueryOutput, FeError>,
    columns: &'a mut Vec<Column>,
) -> io::Result<()> {
    let (out_columns, rows) = match outcome {
        Err(e) => return write_error(results, &e).await,
        Ok(QueryOutput::Ok { affected_rows, info }) => return results.completed(ok_response(affected_rows, info)).await,
        Ok(QueryOutput::Rows { columns: c, .. }) if c.is_empty() => {
            return results.completed(ok_response(0, String::new())).await
        }
        Ok(QueryOutput::Rows { columns: c, rows }) => (c, rows),
    };
    if let Some(bad) = rows.iter().find(|r| r.len() != out_columns.len()) {
        let err = FeError::Internal(format!(
            "result row has {} values for {} columns",
            bad.len(),
            out_columns.len()
        ));
        return write_error(results, &err).await;
    }
    *columns = out_columns.iter().map(|c| c.to_column()).collect();
    let columns: &'a [Column] = columns;
    let mut w = results.start(columns).await?;
    for row in rows {
        for v in row {
            match v {
                Value::Null => w.write_col(None::<&[u8]>)?,
                other => w.write_col(other.to_text().unwrap_or_default())?,
            }
        }
        w.end_row().await?;
    }
    w.finish().await
}

#[async_trait]
impl<W: AsyncWrite + Send + Unpin> AsyncMysqlShim<W> for Connection {
    type Error = io::Error;

    fn version(&self) -> String {
        SERVER_VERSION.to_string()
    }

    fn connect_id(&self) -> u32 {
        self.session.connection_id
    }

    /// No plugin: the login was already checked in [`handshake::login`], so
    /// opensrv must neither switch plugins nor re-check.
    async fn auth_plugin_for_username(&self, _user: &[u8]) -> &str {
        ""
    }

    async fn authenticate(&self, _plugin: &str, _user: &[u8], _salt: &[u8], _auth_data: &[u8]) -> bool {
        true
    }

    async fn on_prepare<'a>(&'a mut self, _query: &'a str, info: StatementMetaWriter<'a, W>) -> io::Result<()> {
        let err = FeError::NotSupported("prepared statements".into());
        info.error(ErrorKind::ER_NOT_SUPPORTED_YET, err.to_string().as_bytes()).await
    }

    async fn on_execute<'a>(
        &'a mut self,
        _id: u32,
        _params: ParamParser<'a>,
        results: QueryResultWriter<'a, W>,
    ) -> io::Result<()> {
        write_error(results, &FeError::NotSupported("prepared statements".into())).await
    }

    async fn on_close(&mut self, _stmt: u32) {}

    async fn on_query<'a>(&'a mut self, query: &'a str, results: QueryResultWriter<'a, W>) -> io::Result<()> {
        // KILL CONNECTION answered before this statement arrived: run nothing more.
        if self.me.closed.is_cancelled() {
            return write_error(results, &FeError::Interrupted).await;
        }
        let interrupted = self.me.start(processlist_info(query), self.session.current_db.clone());
        let outcome = tokio::select! {
            r = self.run(query) => r,
            _ = interrupted.cancelled() => Err(FeError::Interrupted),
        };
        self.me.finish(self.session.current_db.clone());
        write_outcome(results, outcome, &mut self.columns).await
    }

    async fn on_init<'a>(&'a mut self, db: &'a str, writer: InitWriter<'a, W>) -> io::Result<()> {
        match self.use_db(db.to_string()).await {
            Ok(_) => writer.ok().await,
            Err(e) => {
                debug!(code = e.mysql_code(), "USE failed");
                writer.error(e.mysql_error_kind(), e.to_string().as_bytes()).await
            }
        }
    }
}

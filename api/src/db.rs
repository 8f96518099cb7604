//! The database connection: SQLite by default, PostgreSQL in production; migrations; a
//! counter of executed SQL statements for `/metrics` and the benchmarks; telling an outage
//! from other failures, and getting over a broken connection (a restarted database, a killed
//! backend) without failing the request.
use std::{
    future::Future,
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseConnectionType, DbErr,
    QueryResult, RuntimeErr, Statement,
    sqlx::{self, Connection, sqlite as sqlx_sqlite},
};

use crate::config::Config;

/// Statements executed through one connection pool since start: those of requests (and
/// start-up), and apart from them those of the background work ([`background`]: the change
/// feed's pump, webhook workers, the retention job), so a request's statements can be
/// counted while the background runs.
#[derive(Debug, Clone)]
pub struct SqlCounter {
    statements: Arc<AtomicU64>,
    background: Arc<AtomicU64>,
    last_failure: Arc<LastFailure>,
}

impl Default for SqlCounter {
    fn default() -> Self {
        SqlCounter {
            statements: Arc::default(),
            background: Arc::default(),
            last_failure: Arc::new(LastFailure::new()),
        }
    }
}

impl SqlCounter {
    /// Statements of requests (and of start-up).
    pub fn get(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// Statements of the background work.
    pub fn background(&self) -> u64 {
        self.background.load(Ordering::Relaxed)
    }
}

/// The pool of `db` for background work: the same connections, its statements counted
/// apart (see [`SqlCounter`]).
pub fn background(db: &DatabaseConnection, sql: &SqlCounter) -> DatabaseConnection {
    let mut db = db.clone();
    let (count, last_failure) = (sql.background.clone(), sql.last_failure.clone());
    db.set_metric_callback(move |info| {
        count.fetch_add(1, Ordering::Relaxed);
        if info.failed {
            last_failure.mark();
        }
    });
    db
}

/// When a statement last failed on this pool, for [`connect`]'s check of idle connections.
/// A failure may mean the server closed the pool's connections (a restart, a killed backend):
/// the connections that were idle then are pinged before their next use, once. One that went
/// idle later was, nearly always, released by a statement that ran after the failure: had its
/// connection broken, the reply it still waited for would have failed the flush on release,
/// which drops it. (One whose statement ended just before the server went and that was
/// released just after the failure was noted goes back unchecked; its next statement fails
/// once, and is retried where that is safe.) Nanoseconds since `epoch`, plus one; 0 is "never".
#[derive(Debug)]
struct LastFailure {
    epoch: std::time::Instant,
    at: AtomicU64,
}

impl LastFailure {
    fn new() -> Self {
        LastFailure {
            epoch: std::time::Instant::now(),
            at: AtomicU64::new(0),
        }
    }

    fn mark(&self) {
        let nanos = u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX - 1);
        self.at.store(nanos + 1, Ordering::Relaxed);
    }

    /// The connection idle for `idle_for` was already idle when a statement last failed.
    fn idle_since_before(&self, idle_for: Duration) -> bool {
        match self.at.load(Ordering::Relaxed) {
            0 => false,
            at => self.epoch.elapsed().saturating_sub(idle_for) <= Duration::from_nanos(at - 1),
        }
    }
}

/// The `application_name` of the server's pooled PostgreSQL connections.
pub const APPLICATION_NAME: &str = "lup";

pub async fn connect(config: &Config) -> Result<(DatabaseConnection, SqlCounter), DbErr> {
    if config.is_sqlite() {
        create_sqlite_dir(&config.database_url)?;
    }
    let mut options = ConnectOptions::new(config.database_url.clone());
    options
        .max_connections(config.db_max_connections)
        .min_connections(1)
        // sea-orm hands both to sqlx's one acquire timeout, which covers opening a connection.
        .connect_timeout(Duration::from_millis(config.db_acquire_timeout_ms))
        .acquire_timeout(Duration::from_millis(config.db_acquire_timeout_ms))
        .sqlx_logging(false)
        // Pinging before every use would double the round trips (as upstream sqlx's ping on
        // release did; our patched sqlx-core flushes a PostgreSQL connection instead, see the
        // root Cargo.toml, and still pings SQLite's). A connection whose statement broke fails
        // that flush and is not reused; idle ones the server closed are pinged only after a
        // statement failed (below), and swept by `recover`.
        .test_before_acquire(false);
    // On every pooled SQLite connection: WAL lets readers run beside a writer, and a writer
    // waits for a busy database instead of failing with "database is locked"; names sort in
    // Danish order (PostgreSQL's collation comes from a migration).
    // Deleted and overwritten content is zeroed in the file (`secure_delete`): personal data
    // erased or cut out of a response is not left behind in free space (see [`forget`]).
    options.map_sqlx_sqlite_opts(|o| {
        o.journal_mode(sqlx_sqlite::SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(5))
            .pragma("secure_delete", "ON")
            .collation(crate::loader::DANISH, crate::collation::danish_cmp)
    });
    // And text filters lower every letter, not ASCII only (PostgreSQL's `lup_lower` comes from
    // a migration).
    options.map_sqlx_sqlite_pool_opts(|pool| {
        pool.after_connect(|conn, _| {
            Box::pin(async move {
                let mut handle = conn.lock_handle().await?;
                // SAFETY: the handle is this new connection's, locked for the call.
                unsafe { crate::lower::register(handle.as_raw_handle().as_ptr()) }.map_err(|code| {
                    sqlx::Error::Protocol(format!(
                        "could not register {} on a SQLite connection (code {code})",
                        crate::lower::NAME
                    ))
                })
            })
        })
    });
    // No JIT compilation of statements on PostgreSQL: it starts once a plan's estimated cost
    // passes `jit_above_cost`, which a search, a long listing or an open-data page reach on a
    // large database, and then compiling takes longer than running (a search over 30,000
    // actions: 280 ms with JIT, 40 ms without).
    // And a statement stops a little after its request's deadline. Dropping a request's
    // future at the deadline does not stop PostgreSQL: the statement ran on, and its
    // connection waited for it before going back to the pool (a search of many words over a
    // grown database held every connection for minutes). Work that is no request's and may
    // take longer lifts it for its transaction ([`unbounded`]).
    // Both set on each new connection (one round trip when it opens), not as start-up
    // parameters, which connection poolers such as PgBouncer refuse.
    let settings = format!(
        "SET jit = off; SET statement_timeout = {}",
        statement_timeout_ms(config.request_timeout_ms)
    );
    options.map_sqlx_postgres_pool_opts(move |pool| {
        let settings = settings.clone();
        pool.after_connect(move |conn, _| {
            let settings = sqlx::raw_sql(sqlx::AssertSqlSafe(settings.clone()));
            Box::pin(async move {
                settings.execute(&mut *conn).await?;
                Ok(())
            })
        })
    });
    // Named in `pg_stat_activity` (unless the URL names it otherwise), so an operator tells
    // the server's connections from others' (the listening connection is `lup-listen`).
    if !config.database_url.contains("application_name=") {
        options.map_sqlx_postgres_opts(|o| o.application_name(APPLICATION_NAME));
    }
    let counter = SqlCounter::default();
    let last_failure = counter.last_failure.clone();
    let check = last_failure.clone();
    options.map_sqlx_postgres_before_acquire(move |conn, meta| {
        // Decided before the future, so the usual case has no await point: sqlx drops a
        // connection whose acquire is cancelled at one.
        let suspect = check.idle_since_before(meta.idle_for);
        Box::pin(async move {
            if suspect {
                // An error discards the connection (hard), and the pool tries the next one.
                tokio::time::timeout(PING_TIMEOUT, conn.ping())
                    .await
                    .map_err(|_| {
                        std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer to a ping")
                    })??;
            }
            Ok(true)
        })
    });
    tracing::info!(database = %redacted(&config.database_url), "connecting to the database");
    let connected = match Database::connect(options).await {
        // The pool says only that it waited: one connection of its own says why (refused,
        // unknown database, wrong password…).
        Err(e) if waited_in_vain(&e) && !config.is_sqlite() => {
            let wait = Duration::from_millis(config.db_acquire_timeout_ms);
            match tokio::time::timeout(wait, sqlx::postgres::PgConnection::connect(&config.database_url))
                .await
            {
                Ok(Err(cause)) => Err(DbErr::Custom(format!("cannot connect: {cause}"))),
                Ok(Ok(c)) => {
                    let _ = c.close().await;
                    Err(e)
                }
                Err(_) => Err(e),
            }
        }
        other => other,
    };
    let mut db = connected.map_err(|e| {
        // The driver may repeat the URL, password and all, in its message.
        let message = e.to_string();
        match passwords_of(&config.database_url) {
            passwords if passwords.iter().any(|p| message.contains(p)) => {
                DbErr::Custom(redacted_in(&message, &config.database_url))
            }
            // SQLite says only "unable to open database file": which, and why it may be.
            _ if config.is_sqlite() => DbErr::Custom(format!(
                "cannot open the SQLite database {} ({e}): check that its folder exists and the server's user may write it, and that the URL ends in ?mode=rwc for a new file",
                sqlite_path(&config.database_url)
            )),
            _ => e,
        }
    })?;
    if config.is_sqlite() {
        // A file the server's user may read but not write (a restored copy owned by another
        // user) opens read-only: every write would fail while /readyz said ready. One write
        // that changes nothing (the header's user version, set to what it is) finds out now.
        let version = db
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Sqlite,
                "PRAGMA user_version",
            ))
            .await?
            .and_then(|row| row.try_get_by_index::<i64>(0).ok())
            .unwrap_or(0);
        db.execute_unprepared(&format!("PRAGMA user_version = {version}"))
            .await
            .map_err(|e| {
                DbErr::Custom(format!(
                    "the SQLite database {} cannot be written ({e}): the server's user must be able to write the file and its folder",
                    sqlite_path(&config.database_url)
                ))
            })?;
    }
    let inner = counter.statements.clone();
    db.set_metric_callback(move |info| {
        inner.fetch_add(1, Ordering::Relaxed);
        if info.failed {
            last_failure.mark();
        }
        tracing::debug!(
            target: "lup_api::sql",
            elapsed_us = info.elapsed.as_micros() as u64,
            failed = info.failed,
            sql = %info.statement.sql,
        );
    });
    Ok((db, counter))
}

/// SQLite creates the file (`mode=rwc`) but not its folder.
/// The file a SQLite URL names.
fn sqlite_path(url: &str) -> &str {
    url.trim_start_matches("sqlite:")
        .trim_start_matches("//")
        .split('?')
        .next()
        .unwrap_or_default()
}

fn create_sqlite_dir(url: &str) -> Result<(), DbErr> {
    let path = sqlite_path(url);
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(dir) = Path::new(path).parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| DbErr::Custom(format!("cannot create {}: {e}", dir.display())))?;
    }
    Ok(())
}

pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        // Instances starting together on one database: one migrates, in one transaction (DDL is
        // transactional in PostgreSQL), while the others wait on the lock, then find nothing
        // left to do. The lock goes with the transaction, whichever way it ends.
        use sea_orm::TransactionTrait;
        let txn = db.begin().await?;
        unbounded(&txn).await?;
        txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
            .await?;
        Migrator::up(&txn, None).await?;
        return txn.commit().await;
    }
    // SQLite: one writer at a time, and one instance. DDL is transactional here too: the
    // pending migrations are applied all or none, so one stopped half-way (a full disk, a
    // kill) leaves the database as it was, not with a table its record does not tell of.
    use sea_orm::TransactionTrait;
    let txn = db.begin().await?;
    Migrator::up(&txn, None).await?;
    txn.commit().await
}

/// Brings the schema up to date when `AUTO_MIGRATE` is on (the default); when it is off,
/// refuses a database with migrations still to run (every statement that needs them would
/// fail), naming how to run them.
pub async fn migrate_or_check(db: &DatabaseConnection, auto_migrate: bool) -> Result<(), DbErr> {
    if auto_migrate {
        return migrate(db).await;
    }
    let pending = Migrator::get_pending_migrations(db).await?;
    if let Some(first) = pending.first() {
        return Err(DbErr::Custom(format!(
            "{} migration(s) not yet run, from {}: run `lup migrate` (AUTO_MIGRATE is off)",
            pending.len(),
            first.name()
        )));
    }
    Ok(())
}

/// Query parameters of a database URL that carry a secret (PostgreSQL takes the password as
/// `?password=` too, and a client key's passphrase as `sslpassword`).
const SECRET_PARAMETERS: [&str; 2] = ["password", "sslpassword"];

/// The passwords in `url`: after the user name, and in its query parameters.
fn passwords_of(url: &str) -> Vec<&str> {
    let mut found = Vec::new();
    if let Some((_, rest)) = url.split_once("://") {
        let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
        if let Some((user, _)) = authority.rsplit_once('@')
            && let Some((_, password)) = user.split_once(':')
        {
            found.push(password);
        }
    }
    if let Some((_, query)) = url.split_once('?') {
        for pair in query.split('&') {
            if let Some((name, value)) = pair.split_once('=')
                && SECRET_PARAMETERS.iter().any(|p| p.eq_ignore_ascii_case(name))
            {
                found.push(value);
            }
        }
    }
    found.retain(|p| !p.is_empty());
    found
}

/// `url` with its passwords, if any, left out (for the log and error messages).
pub fn redacted(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let mut out = match base.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            match authority.rsplit_once('@') {
                Some((user, host)) if user.contains(':') => {
                    let user = user.split(':').next().unwrap_or_default();
                    format!("{scheme}://{user}:…@{host}{path}")
                }
                _ => base.to_owned(),
            }
        }
        None => base.to_owned(),
    };
    if let Some(query) = query {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) if SECRET_PARAMETERS.iter().any(|p| p.eq_ignore_ascii_case(name)) => {
                    format!("{name}=…")
                }
                _ => pair.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&pairs.join("&"));
    }
    out
}

/// `text` (a driver's message, which may repeat the URL) with the passwords of `url` left out.
fn redacted_in(text: &str, url: &str) -> String {
    let mut passwords = passwords_of(url);
    // Longest first, so a password that holds another is left out whole.
    passwords.sort_by_key(|p| std::cmp::Reverse(p.len()));
    passwords
        .into_iter()
        .fold(text.to_owned(), |text, p| text.replace(p, "…"))
}

/// Checks that PostgreSQL has the collation names are sorted by (`lup_danish`, made by a
/// migration): without it every list would fail. One made without ICU sorts by bytes: said in
/// the log at each start.
pub async fn check_collation(db: &DatabaseConnection) -> Result<(), DbErr> {
    if db.get_database_backend() != sea_orm::DbBackend::Postgres {
        return Ok(());
    }
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            format!(
                "SELECT collprovider::text AS provider FROM pg_collation \
                 WHERE collname = '{}' AND pg_collation_is_visible(oid)",
                crate::loader::DANISH
            ),
        ))
        .await?;
    let Some(row) = row else {
        return Err(DbErr::Custom(format!(
            "the database has no collation `{}`, by which names are sorted: run the migrations \
             (`lup migrate`, or start with AUTO_MIGRATE=true)",
            crate::loader::DANISH
        )));
    };
    if row.try_get::<String>("", "provider")? != "i" {
        tracing::warn!(
            collation = crate::loader::DANISH,
            "this PostgreSQL has no ICU: names and titles sort by bytes, not in Danish order; \
             see the README, Conventions"
        );
    }
    Ok(())
}

/// The advisory lock instances take to migrate one PostgreSQL database ("LUP" and a 1).
const MIGRATION_LOCK: i64 = 0x4C55_5001;

/// After personal data was erased or cut out (a redaction, an erasure, the retention rule):
/// on SQLite the write-ahead log still holds the pages as they were before, so it is written
/// into the database (whose freed space `secure_delete` zeroes) and emptied. On PostgreSQL
/// old row versions go with vacuum, and its WAL with its archive's retention.
pub async fn forget(db: &DatabaseConnection) {
    if db.get_database_backend() != sea_orm::DbBackend::Sqlite {
        return;
    }
    if let Err(e) = db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)").await {
        tracing::warn!(error = %e, "could not empty SQLite's write-ahead log after erasing personal data");
    }
}

/// `SELECT 1`, for `/readyz`.
pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.ping().await
}

/// PostgreSQL's `statement_timeout` on the server's connections: a second past the request
/// timeout, so that the request's own deadline answers first.
pub const fn statement_timeout_ms(request_timeout_ms: u64) -> u64 {
    request_timeout_ms + 1_000
}

/// Lifts the statement timeout (see [`connect`]) for the rest of `txn`, on PostgreSQL: for
/// work that is no request's and may rightly take longer (migrations, building the search
/// index, the hourly erasure), or wait for another instance's.
pub async fn unbounded(txn: &sea_orm::DatabaseTransaction) -> Result<(), DbErr> {
    if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
        txn.execute_unprepared("SET LOCAL statement_timeout = 0").await?;
    }
    Ok(())
}

/// On PostgreSQL, gathers the planner's statistics of the tables that hold rows but were
/// never analysed, by hand or by autovacuum: after a restored dump or a bulk load, until
/// autovacuum comes by, the planner plans for empty tables (on 20,000 actions an open-data
/// file took 5–6 s instead of 0.1 s). Run at start-up, so a restore is followed by it when the
/// instances start again. Without the statement timeout; a failure is a warning (the server
/// answers without the statistics, as before). Returns the tables analysed.
pub async fn analyze_new_tables(db: &DatabaseConnection) -> Vec<String> {
    analyze(db, false).await
}

/// [`analyze_new_tables`] for every table, as after loading the demo data (whose rows the
/// statistics views may not count yet).
pub async fn analyze_all_tables(db: &DatabaseConnection) -> Vec<String> {
    analyze(db, true).await
}

async fn analyze(db: &DatabaseConnection, all: bool) -> Vec<String> {
    if db.get_database_backend() != sea_orm::DbBackend::Postgres {
        return Vec::new();
    }
    let run = async {
        use sea_orm::TransactionTrait;
        let which = if all {
            ""
        } else {
            "WHERE last_analyze IS NULL AND last_autoanalyze IS NULL AND n_live_tup > 0 "
        };
        let rows = db
            .query_all_raw(Statement::from_string(
                sea_orm::DbBackend::Postgres,
                format!(
                    "SELECT relname::text AS name, format('%I.%I', schemaname, relname) AS qualified \
                     FROM pg_stat_user_tables {which}ORDER BY relname"
                ),
            ))
            .await?;
        let mut names = Vec::with_capacity(rows.len());
        let mut qualified = Vec::with_capacity(rows.len());
        for row in rows {
            names.push(row.try_get::<String>("", "name")?);
            qualified.push(row.try_get::<String>("", "qualified")?);
        }
        if !qualified.is_empty() {
            // One statement for them all.
            let txn = db.begin().await?;
            unbounded(&txn).await?;
            txn.execute_unprepared(&format!("ANALYZE {}", qualified.join(", ")))
                .await?;
            txn.commit().await?;
        }
        Ok::<_, DbErr>(names)
    };
    match run.await {
        Ok(analysed) => analysed,
        Err(e) => {
            tracing::warn!(error = %e, "could not gather the planner's statistics");
            Vec::new()
        }
    }
}

/// PostgreSQL stopped the statement: it ran past the statement timeout (SQLSTATE 57014).
pub fn timed_out(e: &DbErr) -> bool {
    sqlx_error(e).is_some_and(|e| match e {
        sqlx::Error::Database(d) => d.code().as_deref() == Some("57014"),
        _ => false,
    })
}

/// Begins a transaction that will write. On SQLite it takes the write lock at once (`BEGIN
/// IMMEDIATE`): two deferred transactions that both read and then write would deadlock, and
/// one of them fail with "database is locked" instead of waiting its turn. PostgreSQL ignores
/// the option.
///
/// A `BEGIN` that failed on a broken connection wrote nothing, so it is retried once on a
/// fresh one (see [`retry_once`]).
pub async fn begin_write(db: &DatabaseConnection) -> Result<sea_orm::DatabaseTransaction, DbErr> {
    use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait};
    // READ COMMITTED, said rather than assumed (a server's default may differ): the change
    // feed numbers its events after taking a lock and must see every write committed before.
    let isolation_level = (db.get_database_backend() == sea_orm::DbBackend::Postgres)
        .then_some(sea_orm::IsolationLevel::ReadCommitted);
    retry_once(db, || {
        db.begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            isolation_level,
            ..Default::default()
        })
    })
    .await
}

/// A read on the pool (outside a transaction), retried once on a fresh connection when the
/// one it ran on had broken.
pub async fn read_all(db: &DatabaseConnection, stmt: &Statement) -> Result<Vec<QueryResult>, DbErr> {
    retry_once(db, || db.query_all_raw(stmt.clone())).await
}

/// Runs `attempt`; if it failed because its connection had broken (see
/// [`is_broken_connection`]), discards the pool's other broken connections ([`recover`]) and
/// runs it once more. Only for work that is safe to repeat and runs on the pool, not inside a
/// transaction: a read, or a `BEGIN`. A database that stays down fails the second attempt too,
/// and its error says so ([`is_unavailable`]).
pub async fn retry_once<T, F, Fut>(db: &DatabaseConnection, mut attempt: F) -> Result<T, DbErr>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, DbErr>>,
{
    match attempt().await {
        Err(e) if is_broken_connection(&e) => {
            tracing::warn!(error = %e, "database connection broken; retrying on a fresh one");
            recover(db).await;
            attempt().await
        }
        other => other,
    }
}

/// The pool's connections now: open, and of those idle; and the most it may open.
pub fn pool_figures(db: &DatabaseConnection) -> (u32, usize, u32) {
    match &db.inner {
        DatabaseConnectionType::SqlxPostgresPoolConnection(_) => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle(), pool.options().get_max_connections())
        }
        DatabaseConnectionType::SqlxSqlitePoolConnection(_) => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle(), pool.options().get_max_connections())
        }
        _ => (0, 0, 0),
    }
}

/// How long [`recover`] waits for an idle connection to answer before dropping it.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// Discards the pool's idle connections that no longer work (the server closed them: a
/// restart, `pg_terminate_backend`, an idle timeout), so the next statements get fresh ones
/// instead of failing one by one. It takes the idle connections that are free right now,
/// pings them all at once and drops the dead ones without a goodbye; live ones go back to the
/// pool. Each is held for one ping at most; connections in use are left alone (a statement
/// that fails on one discards it on release). SQLite has no connections to lose.
pub async fn recover(db: &DatabaseConnection) {
    let DatabaseConnectionType::SqlxPostgresPoolConnection(_) = &db.inner else {
        return;
    };
    let pool = db.get_postgres_connection_pool();
    let mut pings = tokio::task::JoinSet::new();
    for _ in 0..pool.num_idle() {
        let Some(mut conn) = pool.try_acquire() else {
            break;
        };
        pings.spawn(async move {
            let alive = matches!(tokio::time::timeout(PING_TIMEOUT, conn.ping()).await, Ok(Ok(())));
            if !alive {
                // Detached, the pool forgets it (and may open a replacement); dropping it
                // closes the socket.
                drop(conn.detach());
            }
            alive
        });
    }
    let (mut checked, mut discarded) = (0, 0);
    while let Some(alive) = pings.join_next().await {
        checked += 1;
        if !matches!(alive, Ok(true)) {
            discarded += 1;
        }
    }
    if discarded > 0 {
        tracing::warn!(checked, discarded, "discarded broken database connections");
    }
}

/// The database cannot be reached or the connection broke: no connection could be had (the
/// pool timed out, the server refused or would not accept one), or a statement's connection
/// failed under it. The client is told to come back later (`UNAVAILABLE`), not that we failed
/// (`INTERNAL`). Errors in what a statement asked for (a constraint, a type, bad SQL) are not
/// outages.
pub fn is_unavailable(e: &DbErr) -> bool {
    match e {
        // sea-orm reports every failure to get a connection as one of these two: the pool
        // timed out or is closed, or opening a new connection failed (refused, TLS, the
        // server starting up or not accepting connections to the database).
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        _ => {
            is_broken_connection(e)
                || sqlx_error(e).is_some_and(|e| match e {
                    sqlx::Error::PoolTimedOut
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::WorkerCrashed
                    | sqlx::Error::Tls(_) => true,
                    sqlx::Error::Database(d) => sqlite_unreachable(d.as_ref()),
                    _ => false,
                })
        }
    }
}

/// No connection came within the pool's wait, whatever stopped it.
fn waited_in_vain(e: &DbErr) -> bool {
    match e {
        DbErr::ConnectionAcquire(_) => true,
        DbErr::Conn(RuntimeErr::SqlxError(e)) => matches!(**e, sqlx::Error::PoolTimedOut),
        _ => false,
    }
}

/// A statement failed because the connection it ran on broke, not because of the statement:
/// the socket failed (reset, closed, EOF), or PostgreSQL ended the session (a FATAL or PANIC
/// error; SQLSTATE class 08 "connection exception"; 57P01/57P02 "terminating connection due to
/// administrator command"/"crash of another server process", 57P03 "cannot connect now",
/// 57P05 idle session timeout). A fresh connection may well succeed.
pub fn is_broken_connection(e: &DbErr) -> bool {
    sqlx_error(e).is_some_and(|e| match e {
        sqlx::Error::Io(_) => true,
        sqlx::Error::Database(d) => pg_session_ended(d.as_ref()),
        _ => false,
    })
}

/// The driver's error of a failed statement (sea-orm wraps it in `Exec` or `Query`).
fn sqlx_error(e: &DbErr) -> Option<&sqlx::Error> {
    match e {
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => Some(e),
        _ => None,
    }
}

/// What a statement that broke an integrity constraint ran into, as far as the database says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// A row of `table` already has these values of `columns` (a unique key or primary key).
    Duplicate { table: String, columns: Vec<String> },
    /// The row that `columns` of `table` refer to does not exist (any more).
    MissingReference { table: String, columns: Vec<String> },
    /// Rows of `referencing` still refer to the row being deleted or changed.
    StillReferenced { referencing: String },
    /// A foreign key, unnamed (SQLite): a missing row referred to, or a row still referred to.
    Reference,
}

/// The constraint a failed statement broke, read from the driver's error: PostgreSQL names
/// the key's columns in the error's detail (`Key (a, b)=(…) already exists.`, `… is not
/// present in table "t".`, `… is still referenced from table "t".`), SQLite in its message
/// (`UNIQUE constraint failed: t.a, t.b`; its `FOREIGN KEY constraint failed` names nothing).
pub fn violation(e: &DbErr) -> Option<Violation> {
    let sqlx::Error::Database(d) = sqlx_error(e)? else {
        return None;
    };
    if let Some(pg) = d.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
        let table = pg.table().unwrap_or_default().to_owned();
        let detail = pg.detail().unwrap_or_default();
        let columns = detail
            .strip_prefix("Key (")
            .and_then(|rest| rest.split_once(")=("))
            .map(|(columns, _)| {
                columns
                    .split(", ")
                    .map(|c| c.trim_matches('"').to_owned())
                    .collect()
            })
            .unwrap_or_default();
        return match pg.code() {
            "23505" => Some(Violation::Duplicate { table, columns }),
            "23503" if detail.contains("is still referenced from table") => {
                Some(Violation::StillReferenced {
                    referencing: detail
                        .rsplit_once("from table \"")
                        .map(|(_, t)| t.trim_end_matches(['"', '.']).to_owned())
                        .unwrap_or_default(),
                })
            }
            "23503" => Some(Violation::MissingReference { table, columns }),
            _ => None,
        };
    }
    let message = d.message();
    if let Some(list) = message.strip_prefix("UNIQUE constraint failed: ") {
        let mut table = String::new();
        let columns = list
            .split(", ")
            .map(|qualified| match qualified.split_once('.') {
                Some((t, c)) => {
                    table = t.to_owned();
                    c.to_owned()
                }
                None => qualified.to_owned(),
            })
            .collect();
        return Some(Violation::Duplicate { table, columns });
    }
    if message.starts_with("FOREIGN KEY constraint failed") {
        return Some(Violation::Reference);
    }
    None
}

fn pg_session_ended(d: &dyn sqlx::error::DatabaseError) -> bool {
    use sqlx::postgres::{PgDatabaseError, PgSeverity};
    let Some(pg) = d.try_downcast_ref::<PgDatabaseError>() else {
        return false;
    };
    matches!(pg.severity(), PgSeverity::Fatal | PgSeverity::Panic)
        || pg.code().starts_with("08")
        || matches!(pg.code(), "57P01" | "57P02" | "57P03" | "57P05")
}

/// SQLite cannot open or read its file (`SQLITE_CANTOPEN`, `SQLITE_IOERR` and their extended
/// codes).
fn sqlite_unreachable(d: &dyn sqlx::error::DatabaseError) -> bool {
    const SQLITE_IOERR: i32 = 10;
    const SQLITE_CANTOPEN: i32 = 14;
    if d.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_none() {
        return false;
    }
    // The code is the extended result code; its low byte is the primary one.
    d.code()
        .and_then(|c| c.parse::<i32>().ok())
        .is_some_and(|c| matches!(c & 0xff, SQLITE_IOERR | SQLITE_CANTOPEN))
}

#[cfg(test)]
mod redaction {
    #[test]
    fn a_password_is_left_out() {
        for (url, shown) in [
            (
                "postgres://lup:Hemmelig@db:5432/lup?sslmode=require",
                "postgres://lup:…@db:5432/lup?sslmode=require",
            ),
            (
                "postgres://postgres@127.0.0.1/test",
                "postgres://postgres@127.0.0.1/test",
            ),
            ("sqlite://data/lup.db?mode=rwc", "sqlite://data/lup.db?mode=rwc"),
            (
                "postgres://u@h/db?password=s3cr3tpw&sslmode=disable",
                "postgres://u@h/db?password=…&sslmode=disable",
            ),
            (
                "postgres://u:x@h/db?sslmode=verify-full&SSLPassword=nøgle&password=pw2",
                "postgres://u:…@h/db?sslmode=verify-full&SSLPassword=…&password=…",
            ),
        ] {
            assert_eq!(super::redacted(url), shown);
        }
        assert_eq!(super::passwords_of("postgres://a:b@c/d"), ["b"]);
        assert_eq!(
            super::passwords_of("postgres://a@c/d?password="),
            Vec::<&str>::new()
        );
        assert_eq!(
            super::redacted_in(
                "connecting with s3cr3tpw failed",
                "postgres://u@h/db?password=s3cr3tpw"
            ),
            "connecting with … failed"
        );
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::ConnAcquireErr;

    use super::*;

    fn query(e: sqlx::Error) -> DbErr {
        DbErr::Query(RuntimeErr::SqlxError(Arc::new(e)))
    }

    #[test]
    fn outages_are_told_from_other_failures() {
        let reset = query(sqlx::Error::Io(std::io::ErrorKind::ConnectionReset.into()));
        assert!(is_unavailable(&reset) && is_broken_connection(&reset));
        for e in [
            DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
            DbErr::Conn(RuntimeErr::Internal("connection refused".into())),
            query(sqlx::Error::PoolTimedOut),
        ] {
            assert!(is_unavailable(&e), "{e}");
            assert!(!is_broken_connection(&e), "{e}: no fresh connection to retry on");
        }
        for e in [
            query(sqlx::Error::RowNotFound),
            query(sqlx::Error::Protocol("unexpected message".into())),
            DbErr::Exec(RuntimeErr::Internal("no rows".into())),
            DbErr::Custom("hashing failed".into()),
        ] {
            assert!(!is_unavailable(&e) && !is_broken_connection(&e), "{e}");
        }
    }

    #[tokio::test]
    async fn a_bad_statement_is_no_outage() {
        let db = Database::connect("sqlite::memory:").await.expect("SQLite");
        let e = db
            .execute_unprepared("SELECT * FROM no_such_table")
            .await
            .expect_err("no such table");
        assert!(!is_unavailable(&e) && !is_broken_connection(&e), "{e}");
    }

    #[test]
    fn connections_idle_before_a_failure_are_suspect() {
        let last = LastFailure::new();
        assert!(
            !last.idle_since_before(Duration::from_secs(3600)),
            "nothing failed yet"
        );
        std::thread::sleep(Duration::from_millis(2));
        last.mark();
        std::thread::sleep(Duration::from_millis(2));
        assert!(
            !last.idle_since_before(Duration::from_millis(1)),
            "idle since after it"
        );
        assert!(
            last.idle_since_before(Duration::from_secs(3600)),
            "idle since before it"
        );
    }
}

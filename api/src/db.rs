//! The database connection: SQLite by default, PostgreSQL in production; migrations; a
//! counter of executed SQL statements for `/metrics` and the benchmarks.
use std::{
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr, sqlx::sqlite as sqlx_sqlite};

use crate::config::Config;

/// Statements executed through one connection pool since start.
#[derive(Debug, Default, Clone)]
pub struct SqlCounter(Arc<AtomicU64>);

impl SqlCounter {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

pub async fn connect(config: &Config) -> Result<(DatabaseConnection, SqlCounter), DbErr> {
    if config.is_sqlite() {
        create_sqlite_dir(&config.database_url)?;
    }
    let mut options = ConnectOptions::new(config.database_url.clone());
    options
        .max_connections(config.db_max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false)
        // A broken connection fails its statement and is replaced; pinging before every
        // use would double the round trips.
        .test_before_acquire(false);
    // On every pooled SQLite connection: WAL lets readers run beside a writer, and a writer
    // waits for a busy database instead of failing with "database is locked".
    options.map_sqlx_sqlite_opts(|o| {
        o.journal_mode(sqlx_sqlite::SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(5))
    });
    let mut db = Database::connect(options).await?;
    let counter = SqlCounter::default();
    let inner = counter.0.clone();
    db.set_metric_callback(move |info| {
        inner.fetch_add(1, Ordering::Relaxed);
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
fn create_sqlite_dir(url: &str) -> Result<(), DbErr> {
    let path = url
        .trim_start_matches("sqlite:")
        .trim_start_matches("//")
        .split('?')
        .next()
        .unwrap_or_default();
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
    Migrator::up(db, None).await
}

/// `SELECT 1`, for `/readyz`.
pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.ping().await
}

/// Begins a transaction that will write. On SQLite it takes the write lock at once (`BEGIN
/// IMMEDIATE`): two deferred transactions that both read and then write would deadlock, and
/// one of them fail with "database is locked" instead of waiting its turn. PostgreSQL ignores
/// the option.
pub async fn begin_write(db: &DatabaseConnection) -> Result<sea_orm::DatabaseTransaction, DbErr> {
    use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait};
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

//! Typed configuration, read once at start-up from environment variables (or flags).
use std::net::SocketAddr;

use clap::{Args, ValueEnum};

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Database URL: `sqlite://data/lup.db?mode=rwc` (default) or `postgres://…`.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://data/lup.db?mode=rwc")]
    pub database_url: String,

    /// Address the HTTP server listens on.
    #[arg(long, env = "BIND_ADDR", default_value = "127.0.0.1:8080")]
    pub bind_addr: SocketAddr,

    /// Largest number of pooled database connections.
    #[arg(long, env = "DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,

    /// Load the demo data when the database holds no communities.
    #[arg(long, env = "SEED_DEMO", default_value_t = true, action = clap::ArgAction::Set)]
    pub seed_demo: bool,

    /// Apply pending migrations at start-up.
    #[arg(long, env = "AUTO_MIGRATE", default_value_t = true, action = clap::ArgAction::Set)]
    pub auto_migrate: bool,

    /// Log filter in `tracing` syntax, e.g. `info` or `lup_api=debug,sqlx=warn`.
    #[arg(long, env = "LOG_LEVEL", default_value = "info")]
    pub log_level: String,

    /// Log format: human-readable text or one JSON object per line.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// How long a DataLoader waits to gather keys into one batch, in microseconds.
    #[arg(long, env = "LOADER_DELAY_US", default_value_t = 500)]
    pub loader_delay_us: u64,

    /// How long anonymous query responses are served from memory, in milliseconds; 0 turns
    /// the cache off.
    #[arg(long, env = "PUBLIC_CACHE_TTL_MS", default_value_t = 2000)]
    pub public_cache_ttl_ms: u64,

    /// Memory the response cache may use, in MiB.
    #[arg(long, env = "PUBLIC_CACHE_MIB", default_value_t = 64)]
    pub public_cache_mib: u64,

    /// Seconds in-flight requests get to finish after SIGTERM.
    #[arg(long, env = "SHUTDOWN_GRACE_SECS", default_value_t = 20)]
    pub shutdown_grace_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

impl Config {
    /// A configuration for an in-process server (tests, tools): nothing read from the
    /// environment, an ephemeral port, no demo data.
    pub fn for_database(database_url: impl Into<String>) -> Self {
        Config {
            database_url: database_url.into(),
            bind_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            db_max_connections: 5,
            seed_demo: false,
            auto_migrate: true,
            log_level: "warn".into(),
            log_format: LogFormat::Text,
            loader_delay_us: 500,
            public_cache_ttl_ms: 0,
            public_cache_mib: 16,
            shutdown_grace_secs: 5,
        }
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }
}

//! Typed configuration, read once at start-up from environment variables (or flags).
use std::net::SocketAddr;

use clap::{Args, ValueEnum};

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Database URL: `sqlite://data/lup.db?mode=rwc` (default) or `postgres://…`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://data/lup.db?mode=rwc",
        hide_env_values = true
    )]
    pub database_url: String,

    /// Address the HTTP server listens on: `IP:port`, or `name:port` (`localhost:8080`; the
    /// name's first IPv4 address, else its first address).
    #[arg(long, env = "BIND_ADDR", default_value = "127.0.0.1:8080", value_parser = bind_addr)]
    pub bind_addr: SocketAddr,

    /// Largest number of pooled database connections.
    #[arg(long, env = "DB_MAX_CONNECTIONS", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub db_max_connections: u32,

    /// How long a statement waits for a pooled connection, or for a new one to open (sqlx
    /// keeps trying a refused one), before its request is answered `UNAVAILABLE`. Below
    /// `REQUEST_TIMEOUT_MS`, so an outage is told as one and not as a slow request.
    #[arg(long, env = "DB_ACQUIRE_TIMEOUT_MS", default_value_t = 5000, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub db_acquire_timeout_ms: u64,

    /// Load the demo data when the database holds no communities. Default: `true` with
    /// `APP_ENV=development`, `false` in production (invented plans under the real
    /// communities' names are no start for a live site; a demonstration site sets it).
    #[arg(long, env = "SEED_DEMO", action = clap::ArgAction::Set)]
    pub seed_demo: Option<bool>,

    /// Apply pending migrations at start-up.
    #[arg(long, env = "AUTO_MIGRATE", default_value_t = true, action = clap::ArgAction::Set)]
    pub auto_migrate: bool,

    /// Log filter in `tracing` syntax, e.g. `info` or `lup_api=debug,sqlx=warn`.
    #[arg(long, env = "LOG_LEVEL", default_value = "info", value_parser = crate::telemetry::parse_filter)]
    pub log_level: String,

    /// Log format: human-readable text or one JSON object per line.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// How long a loader waits to gather keys into one batch, in microseconds; 0 (the
    /// default): one turn of the executor, which is enough for sibling fields.
    #[arg(long, env = "LOADER_DELAY_US", default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=1_000_000))]
    pub loader_delay_us: u64,

    /// Root fields load their whole selection in one SQL statement where they can
    /// (`false`: every nested list through the DataLoaders, to compare the two).
    #[arg(long, env = "COMPILED_READS", default_value_t = true, action = clap::ArgAction::Set)]
    pub compiled_reads: bool,

    /// How long anonymous query responses are served from memory, in milliseconds; 0 turns
    /// the cache off.
    #[arg(long, env = "PUBLIC_CACHE_TTL_MS", default_value_t = 2000, value_parser = clap::value_parser!(u64).range(0..=86_400_000))]
    pub public_cache_ttl_ms: u64,

    /// Memory the response cache may use, in MiB.
    #[arg(long, env = "PUBLIC_CACHE_MIB", default_value_t = 64, value_parser = clap::value_parser!(u64).range(0..=1_048_576))]
    pub public_cache_mib: u64,

    /// Seconds in-flight requests get to finish after SIGTERM.
    #[arg(long, env = "SHUTDOWN_GRACE_SECS", default_value_t = 20, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub shutdown_grace_secs: u64,

    /// Seconds the server keeps serving after SIGTERM before it stops accepting connections,
    /// each answer closing its connection (`Connection: close`) and `/readyz` answering 503,
    /// so a proxy in front lets its kept-alive connections go instead of sending a request on
    /// one the server is closing; more than the proxy keeps an idle connection to it.
    #[arg(long, env = "SHUTDOWN_DRAIN_SECS", default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=300))]
    pub shutdown_drain_secs: u64,

    /// Seconds a connection may take to send a request's headers, counted from when the server
    /// waits for them (so also how long a kept-alive connection may sit idle between requests);
    /// then it is closed. A client that trickles its headers cannot hold connections for ever.
    #[arg(long, env = "HEADER_READ_TIMEOUT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_read_timeout_secs: u64,

    /// Cost points per minute an anonymous caller (by IP address) may spend; 0: no limit.
    #[arg(long, env = "RATE_LIMIT_ANONYMOUS_PER_MINUTE", default_value_t = 3000)]
    pub rate_limit_anonymous_per_minute: u32,

    /// Cost points per minute each partner API key may spend; 0: no limit.
    #[arg(long, env = "RATE_LIMIT_PARTNER_PER_MINUTE", default_value_t = 6000)]
    pub rate_limit_partner_per_minute: u32,

    /// Cost points per minute each signed-in account may spend; 0: no limit.
    #[arg(long, env = "RATE_LIMIT_ACCOUNT_PER_MINUTE", default_value_t = 6000)]
    pub rate_limit_account_per_minute: u32,

    /// How many seconds' worth of its budget a client may spend at once; beyond that its
    /// requests are paced at the budget's rate.
    #[arg(long, env = "RATE_LIMIT_BURST_SECS", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=3600))]
    pub rate_limit_burst_secs: u32,

    /// Requests of one client (API key, account, anonymous IP) running at once; more wait
    /// their turn. 0: no limit.
    #[arg(long, env = "MAX_CONCURRENT_PER_CLIENT", default_value_t = 4)]
    pub max_concurrent_per_client: usize,

    /// A Redis server (`redis://host:6379/0`) that keeps the rate-limit budgets, so
    /// instances behind one load balancer share each client's budget; unset: each instance
    /// keeps its own. While it is out of reach, each instance falls back to its own.
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,

    /// What the budgets' keys in Redis start with, so deployments can share one Redis.
    #[arg(long, env = "REDIS_KEY_PREFIX", default_value = "lup")]
    pub redis_key_prefix: String,

    /// How long a 429 waits before it is sent, in milliseconds, so a flood slows itself
    /// down.
    #[arg(long, env = "RATE_LIMIT_DELAY_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(0..=60_000))]
    pub rate_limit_delay_ms: u64,

    /// Responses to consultations each client (anonymous caller by IP address, account, API
    /// key) may send in any hour, on top of its cost budget; 0: no limit.
    #[arg(long, env = "CONSULTATION_SUBMISSIONS_PER_HOUR", default_value_t = 5)]
    pub consultation_submissions_per_hour: u32,

    /// Days after a consultation closes that the personal data of its responses (name,
    /// association, email, client fingerprint) is kept; then it is erased, the text stays.
    #[arg(long, env = "CONSULTATION_RETENTION_DAYS", default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub consultation_retention_days: u32,

    /// Take an anonymous caller's address from the last entry of `X-Forwarded-For` (set only
    /// behind a proxy that writes it); otherwise the connection's address is used.
    #[arg(long, env = "TRUST_FORWARDED_FOR", default_value_t = false, action = clap::ArgAction::Set)]
    pub trust_forwarded_for: bool,

    /// Who may introspect the schema: `everyone`, `signed-in` (accounts and partners) or
    /// `nobody`. Default: everyone in development, signed-in in production.
    #[arg(long, env = "INTROSPECTION", value_enum)]
    pub introspection: Option<Introspection>,

    /// Origins whose browsers may call the API (CORS), comma-separated, e.g.
    /// `https://www.jammerbugt.dk`; empty: no cross-origin browser calls.
    #[arg(long, env = "CORS_ALLOWED_ORIGINS", default_value = "", value_parser = origins)]
    pub cors_allowed_origins: String,

    /// A folder of `*.graphql` files: our clients' queries, which they may send by id.
    #[arg(long, env = "TRUSTED_DOCUMENTS_DIR")]
    pub trusted_documents_dir: Option<std::path::PathBuf>,

    /// Anonymous callers may only run trusted documents (sent by id).
    #[arg(long, env = "TRUSTED_DOCUMENTS_ONLY_FOR_ANONYMOUS", default_value_t = false, action = clap::ArgAction::Set)]
    pub trusted_documents_only_for_anonymous: bool,

    /// The most the `Cache-Control: max-age` of anonymous GET answers may say, in seconds;
    /// below it the schema's cache hints decide. 0: caches must always revalidate.
    #[arg(long, env = "PUBLIC_MAX_AGE_SECS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(0..=31_536_000))]
    pub public_max_age_secs: u64,

    /// How often, at most, a search first catches the index up with rows written around the
    /// API (SQL by hand, another program), in milliseconds; 0: before every search. Writes
    /// through the API are indexed in their own transaction whatever this says.
    #[arg(long, env = "SEARCH_CATCH_UP_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(0..=86_400_000))]
    pub search_catch_up_ms: u64,

    /// Rows of an open-data CSV read from the database at a time (the file streams page by
    /// page; memory grows with the page).
    #[arg(long, env = "OPENDATA_PAGE_ROWS", default_value_t = crate::opendata::tables::PAGE, value_parser = clap::value_parser!(u64).range(100..=50_000))]
    pub opendata_page_rows: u64,

    /// How long a GraphQL request may run before it is stopped, in milliseconds.
    #[arg(long, env = "REQUEST_TIMEOUT_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(100..=600_000))]
    pub request_timeout_ms: u64,

    /// A community's page on the municipality's website, `{slug}` standing for its slug, e.g.
    /// `https://www.jammerbugt.dk/landdistrikter/{slug}`: the map data links to it.
    #[arg(long, env = "WEBSITE_COMMUNITY_URL")]
    pub website_community_url: Option<String>,

    #[command(flatten)]
    pub auth: AuthConfig,

    #[command(flatten)]
    pub webhooks: WebhookConfig,

    #[command(flatten)]
    pub subscriptions: SubscriptionConfig,
}

/// Partners' webhooks (see `crate::webhook`).
#[derive(Debug, Clone, Args)]
pub struct WebhookConfig {
    /// Allow webhook endpoints on plain `http://` and on private, loopback, link-local and
    /// unique-local addresses (tests, a local set-up); otherwise only `https://` to public
    /// addresses, checked when an endpoint is registered and again on every delivery.
    #[arg(long, env = "WEBHOOK_ALLOW_PRIVATE", default_value_t = false, action = clap::ArgAction::Set)]
    pub webhook_allow_private: bool,

    /// How long after each failed attempt the next one is made, comma-separated (`ms`, `s`,
    /// `m`, `h`); one attempt more than the list is long. The default spreads eight attempts
    /// over about a day, as the Standard Webhooks specification suggests.
    #[arg(
        long,
        env = "WEBHOOK_RETRY_SCHEDULE",
        default_value = "5s,5m,30m,2h,5h,10h,10h"
    )]
    pub webhook_retry_schedule: RetrySchedule,

    /// How long one delivery attempt may take (connecting, sending, the answer), in
    /// milliseconds.
    #[arg(long, env = "WEBHOOK_TIMEOUT_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(100..=600_000))]
    pub webhook_timeout_ms: u64,

    /// Days a finished webhook delivery (delivered, failed, cancelled) stays on record, for
    /// its partner to look at; then it is deleted.
    #[arg(long, env = "WEBHOOK_RETENTION_DAYS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub webhook_retention_days: u32,

    /// Run the webhook workers (turning changes into deliveries, sending them) on this
    /// instance. Every instance may: they share the work through the database.
    #[arg(long, env = "WEBHOOK_WORKERS", default_value_t = true, action = clap::ArgAction::Set)]
    pub webhook_workers: bool,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            webhook_allow_private: false,
            webhook_retry_schedule: RetrySchedule::default(),
            webhook_timeout_ms: 10_000,
            webhook_retention_days: 30,
            webhook_workers: true,
        }
    }
}

/// The waits between a webhook delivery's attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule(pub Vec<std::time::Duration>);

impl Default for RetrySchedule {
    fn default() -> Self {
        "5s,5m,30m,2h,5h,10h,10h".parse().expect("the default schedule")
    }
}

impl std::str::FromStr for RetrySchedule {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let split = part
                .find(|c: char| !c.is_ascii_digit())
                .ok_or_else(|| format!("`{part}` has no unit (ms, s, m or h)"))?;
            let (n, unit) = part.split_at(split);
            let n: u64 = n
                .parse()
                .map_err(|_| format!("`{part}` does not start with a number"))?;
            let ms = match unit {
                "ms" => 1,
                "s" => 1_000,
                "m" => 60_000,
                "h" => 3_600_000,
                _ => return Err(format!("`{part}`: the unit is one of ms, s, m and h")),
            };
            let ms = n
                .checked_mul(ms)
                .filter(|ms| *ms <= 7 * 24 * 3_600_000)
                .ok_or_else(|| format!("`{part}` is longer than a week"))?;
            out.push(std::time::Duration::from_millis(ms));
        }
        if out.len() > 20 {
            return Err("at most 20 retries".into());
        }
        Ok(RetrySchedule(out))
    }
}

/// GraphQL subscriptions over WebSocket (`crate::http::ws`).
#[derive(Debug, Clone, Args)]
pub struct SubscriptionConfig {
    /// WebSocket connections one client may hold open at once (per account, per API key, per
    /// IP address for anonymous callers); 0: no limit.
    #[arg(long, env = "WS_MAX_CONNECTIONS_PER_CLIENT", default_value_t = 16)]
    pub ws_max_connections_per_client: usize,

    /// Subscriptions one WebSocket connection may run at once; the next gets an `error`.
    #[arg(long, env = "WS_MAX_SUBSCRIPTIONS_PER_CONNECTION", default_value_t = 10)]
    pub ws_max_subscriptions_per_connection: usize,

    /// How long one message to a subscriber may take to go out, in milliseconds; a client
    /// that reads slower than that is disconnected rather than buffered for.
    #[arg(long, env = "WS_SEND_TIMEOUT_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(100..=600_000))]
    pub ws_send_timeout_ms: u64,
}

impl Default for SubscriptionConfig {
    fn default() -> Self {
        SubscriptionConfig {
            ws_max_connections_per_client: 16,
            ws_max_subscriptions_per_connection: 10,
            ws_send_timeout_ms: 10_000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Introspection {
    Everyone,
    SignedIn,
    Nobody,
}

/// `development` allows the built-in development secret and demo accounts; `cargo run` sets
/// it (see `.cargo/config.toml`). Anything deployed runs as `production`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AppEnv {
    Development,
    Production,
}

/// A secret that never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

/// The secret a development server signs its tokens with. Known to everyone, so refused
/// outside development.
pub const DEVELOPMENT_JWT_SECRET: &str = "lup-development-secret-never-use-in-production";

/// The shortest `JWT_SECRET` accepted in production (HS256 wants at least 256 bits).
pub const MIN_JWT_SECRET_BYTES: usize = 32;

#[derive(Debug, Clone, Args)]
pub struct AuthConfig {
    /// `development` or `production`.
    #[arg(long, env = "APP_ENV", value_enum, default_value_t = AppEnv::Production)]
    pub app_env: AppEnv,

    /// The HS256 secret for the access tokens this API issues; required in production.
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<Secret>,

    /// `iss` of the tokens this API issues and accepts.
    #[arg(long, env = "JWT_ISSUER", default_value = "lup")]
    pub jwt_issuer: String,

    /// `aud` of the tokens this API issues and accepts.
    #[arg(long, env = "JWT_AUDIENCE", default_value = "lup-api")]
    pub jwt_audience: String,

    /// Lifetime of an access token, in seconds.
    #[arg(long, env = "ACCESS_TOKEN_TTL_SECS", default_value_t = 900, value_parser = clap::value_parser!(u64).range(60..=86_400))]
    pub access_token_ttl_secs: u64,

    /// Lifetime of a refresh token, in seconds (each use replaces it with a new one).
    #[arg(long, env = "REFRESH_TOKEN_TTL_SECS", default_value_t = 30 * 24 * 3600, value_parser = clap::value_parser!(u64).range(60..=31_536_000))]
    pub refresh_token_ttl_secs: u64,

    /// PEM public key (RS256) of an external identity provider whose tokens are accepted.
    #[arg(long, env = "EXTERNAL_JWT_PUBLIC_KEY")]
    pub external_jwt_public_key: Option<String>,

    /// `iss` the external identity provider's tokens must carry.
    #[arg(long, env = "EXTERNAL_JWT_ISSUER")]
    pub external_jwt_issuer: Option<String>,

    /// `aud` the external identity provider's tokens must carry.
    #[arg(long, env = "EXTERNAL_JWT_AUDIENCE", default_value = "lup-api")]
    pub external_jwt_audience: String,

    /// The claim of an external token that names the caller's role.
    #[arg(long, env = "EXTERNAL_JWT_ROLE_CLAIM", default_value = "lup_role")]
    pub external_jwt_role_claim: String,

    /// How values of that claim map to roles, e.g. `landdistrikt-staff=STAFF,it-admin=ADMIN`.
    /// Tokens whose claim maps to no role are refused.
    #[arg(long, env = "EXTERNAL_JWT_ROLE_MAP", default_value = "")]
    pub external_jwt_role_map: String,
}

impl AuthConfig {
    /// A development configuration (tests, tools).
    pub fn development() -> Self {
        AuthConfig {
            app_env: AppEnv::Development,
            jwt_secret: None,
            jwt_issuer: "lup".into(),
            jwt_audience: "lup-api".into(),
            access_token_ttl_secs: 900,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            external_jwt_public_key: None,
            external_jwt_issuer: None,
            external_jwt_audience: "lup-api".into(),
            external_jwt_role_claim: "lup_role".into(),
            external_jwt_role_map: String::new(),
        }
    }
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
            db_acquire_timeout_ms: 5000,
            seed_demo: Some(false),
            auto_migrate: true,
            log_level: "warn".into(),
            log_format: LogFormat::Text,
            loader_delay_us: 0,
            compiled_reads: true,
            public_cache_ttl_ms: 0,
            public_cache_mib: 16,
            shutdown_grace_secs: 5,
            shutdown_drain_secs: 0,
            header_read_timeout_secs: 30,
            rate_limit_anonymous_per_minute: 0,
            rate_limit_partner_per_minute: 0,
            rate_limit_account_per_minute: 0,
            rate_limit_delay_ms: 1000,
            rate_limit_burst_secs: 2,
            max_concurrent_per_client: 4,
            redis_url: None,
            redis_key_prefix: "lup".into(),
            trust_forwarded_for: false,
            consultation_submissions_per_hour: 0,
            consultation_retention_days: 90,
            introspection: None,
            request_timeout_ms: 10_000,
            cors_allowed_origins: String::new(),
            trusted_documents_dir: None,
            trusted_documents_only_for_anonymous: false,
            public_max_age_secs: 300,
            opendata_page_rows: crate::opendata::tables::PAGE,
            // Tests insert rows straight into the database and search at once.
            search_catch_up_ms: 0,
            website_community_url: None,
            auth: AuthConfig::development(),
            webhooks: WebhookConfig::default(),
            subscriptions: SubscriptionConfig::default(),
        }
    }

    /// Whether to load the demo data into an empty database, with the environment's default.
    pub fn seed_demo(&self) -> bool {
        self.seed_demo.unwrap_or(self.auth.app_env == AppEnv::Development)
    }

    /// Who may introspect, with the environment's default.
    pub fn introspection(&self) -> Introspection {
        self.introspection.unwrap_or(match self.auth.app_env {
            AppEnv::Development => Introspection::Everyone,
            AppEnv::Production => Introspection::SignedIn,
        })
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }
}

/// `BIND_ADDR`: an address, or a host name and a port resolved once at start.
fn bind_addr(value: &str) -> Result<SocketAddr, String> {
    use std::net::ToSocketAddrs;
    let value = value.trim();
    if let Ok(addr) = value.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let (host, port) = value
        .rsplit_once(':')
        .ok_or_else(|| format!("`{value}` is not `address:port` (e.g. 127.0.0.1:8080 or localhost:8080)"))?;
    port.parse::<u16>()
        .map_err(|_| format!("`{port}` is not a port (0–65535)"))?;
    if host.is_empty() {
        return Err(format!(
            "`{value}` has no address: give one, e.g. 0.0.0.0{value} for every interface"
        ));
    }
    let found: Vec<SocketAddr> = value
        .to_socket_addrs()
        .map_err(|e| format!("`{host}` does not resolve to an address: {e}"))?
        .collect();
    found
        .iter()
        .find(|a| a.is_ipv4())
        .or(found.first())
        .copied()
        .ok_or_else(|| format!("`{host}` does not resolve to an address"))
}

/// `CORS_ALLOWED_ORIGINS`: origins as browsers send them (`https://www.jammerbugt.dk`, a port
/// if not the scheme's own), comma-separated, written in lowercase. A path, a trailing `/`, or
/// `*` would never match what a browser sends (or would let any site in), so they are refused.
fn origins(value: &str) -> Result<String, String> {
    let mut out = Vec::new();
    for origin in value.split(',').map(str::trim).filter(|o| !o.is_empty()) {
        if origin == "*" {
            return Err("`*` would let every website's scripts call the API: list the origins".into());
        }
        let lower = origin.to_ascii_lowercase();
        let Some((scheme, rest)) = lower.split_once("://") else {
            return Err(format!(
                "`{origin}` is not an origin such as https://www.jammerbugt.dk"
            ));
        };
        if !matches!(scheme, "http" | "https") {
            return Err(format!("`{origin}`: an origin is http:// or https://"));
        }
        // `host[:port]`, the host an IPv6 address in brackets or a name.
        let (host, port) = match rest.strip_prefix('[').and_then(|r| r.split_once(']')) {
            Some((v6, after)) => (
                v6,
                after.strip_prefix(':').or(Some(after).filter(|a| !a.is_empty())),
            ),
            None => match rest.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (rest, None),
            },
        };
        let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0));
        let host_ok = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
        if rest.contains('/') {
            return Err(format!(
                "`{origin}`: an origin has no path (browsers send `{scheme}://{}`)",
                rest.split('/').next().unwrap_or_default()
            ));
        }
        if !host_ok || !port_ok {
            return Err(format!(
                "`{origin}` is not an origin such as https://www.jammerbugt.dk"
            ));
        }
        out.push(lower);
    }
    Ok(out.join(","))
}

#[cfg(test)]
mod checks {
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        config: super::Config,
    }

    fn parse(args: &[&str]) -> Result<super::Config, String> {
        Wrapper::try_parse_from(std::iter::once("lup").chain(args.iter().copied()))
            .map(|w| w.config)
            .map_err(|e| e.to_string())
    }

    /// Values that would crash the server, wrap a token's expiry around or silence the log are
    /// refused at start, naming the setting (they panicked, or started a broken server).
    #[test]
    fn values_that_make_no_sense_are_refused() {
        for args in [
            &["--db-max-connections", "0"][..],
            &["--db-max-connections", "100000000"],
            &["--public-cache-ttl-ms", "18446744073709551615"],
            &["--webhook-timeout-ms", "18446744073709551615"],
            &["--access-token-ttl-secs", "18446744073709551615"],
            &["--refresh-token-ttl-secs", "0"],
            &["--request-timeout-ms", "0"],
            // 0 would close every connection before its first request.
            &["--header-read-timeout-secs", "0"],
            &["--header-read-timeout-secs", "18446744073709551615"],
            &["--rate-limit-delay-ms", "18446744073709551615"],
            // Longer than any stop's grace; a stop would wait minutes before it began.
            &["--shutdown-drain-secs", "301"],
            &["--shutdown-drain-secs", "fem"],
            &["--cors-allowed-origins", "*"],
            &["--cors-allowed-origins", "https://www.jammerbugt.dk/"],
            &["--cors-allowed-origins", "ftp://x.dk"],
            &["--cors-allowed-origins", "not a url"],
            &["--log-level", "inf"],
            &["--log-level", "nonsense:::="],
            &["--opendata-page-rows", "0"],
            &["--opendata-page-rows", "1000000"],
            &["--bind-addr", "8080"],
            &["--bind-addr", ":8080"],
            &["--bind-addr", "localhost:99999"],
            &["--bind-addr", "localhost:http"],
            &["--bind-addr", "ingen-saadan-vaert.invalid:8080"],
        ] {
            let refused = parse(args)
                .err()
                .unwrap_or_else(|| panic!("{args:?} was accepted"));
            assert!(refused.contains(args[0]), "{args:?}: {refused}");
        }
    }

    #[test]
    fn good_values_are_taken_as_browsers_and_tracing_mean_them() {
        let c = parse(&[
            "--cors-allowed-origins",
            "HTTPS://WWW.Jammerbugt.dk, http://localhost:3000,http://[::1]:8080",
            "--log-level",
            "warn,lup_api=debug",
        ])
        .expect("accepted");
        assert_eq!(
            c.cors_allowed_origins,
            "https://www.jammerbugt.dk,http://localhost:3000,http://[::1]:8080"
        );
        assert_eq!(c.log_level, "warn,lup_api=debug");
        // Empty is the default, not a filter that silences every line.
        for empty in ["", " ", ","] {
            assert_eq!(
                parse(&["--log-level", empty]).expect("accepted").log_level,
                "info"
            );
        }
        assert_eq!(parse(&[]).expect("defaults").db_max_connections, 16);
        // A host name is resolved once, its IPv4 address first; addresses are taken as they are.
        for (given, expected) in [
            ("localhost:8080", "127.0.0.1:8080"),
            (" 0.0.0.0:8080 ", "0.0.0.0:8080"),
            ("[::1]:8080", "[::1]:8080"),
        ] {
            let c = parse(&["--bind-addr", given]).expect("accepted");
            assert_eq!(c.bind_addr.to_string(), expected);
        }
    }
}

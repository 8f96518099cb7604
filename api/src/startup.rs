//! Building and running the server: connect, migrate, seed, serve until told to stop.
use std::{
    net::SocketAddr,
    sync::{Arc, atomic::AtomicU64},
    time::Duration,
};

use axum::http::HeaderValue;
use sea_orm::{DatabaseConnection, DbErr};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

use crate::{
    auth::token::Tokens,
    cache::ResponseCache,
    config::{AppEnv, Config},
    db::{self, SqlCounter},
    http::{self, AppState},
    schema, seed,
};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("database: {0}")]
    Db(#[from] DbErr),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("demo data: {0}")]
    Seed(String),
    #[error("server: {0}")]
    Serve(#[from] std::io::Error),
    #[error("configuration: {0}")]
    Config(#[from] crate::auth::token::ConfigError),
    #[error("TRUSTED_DOCUMENTS_DIR: {0}")]
    Documents(std::io::Error),
    #[error("REDIS_URL: {0}")]
    Redis(String),
    #[error("webhooks: {0}")]
    Webhooks(String),
}

/// Connects, applies migrations and loads the demo data as configured.
pub async fn prepare(config: &Config) -> Result<AppState, StartError> {
    // Checked first: a production server without a secret of its own must not start at all.
    let tokens = Arc::new(Tokens::new(&config.auth)?);
    if config.auth.app_env == AppEnv::Development {
        tracing::warn!(
            "running in development mode (APP_ENV=development): demo accounts are allowed{}; never expose this server",
            if config.auth.jwt_secret.is_none() {
                " and tokens are signed with the public development secret"
            } else {
                ""
            }
        );
    }
    // A request then waits for a busy pool past its own deadline, and is answered TIMEOUT
    // for what is a full pool (UNAVAILABLE, with Retry-After, would tell the client to retry).
    if config.db_acquire_timeout_ms >= config.request_timeout_ms {
        tracing::warn!(
            db_acquire_timeout_ms = config.db_acquire_timeout_ms,
            request_timeout_ms = config.request_timeout_ms,
            "DB_ACQUIRE_TIMEOUT_MS is not below REQUEST_TIMEOUT_MS: a request waiting for a connection runs out of time first"
        );
    }
    let documents = crate::documents::TrustedDocuments::load(
        config.trusted_documents_dir.as_deref(),
        config.trusted_documents_only_for_anonymous,
    )
    .map_err(StartError::Documents)?;
    let (db, sql) = db::connect(config).await?;
    db::migrate_or_check(&db, config.auto_migrate).await?;
    db::check_collation(&db).await?;
    let demo_loaded = config.seed_demo()
        && seed::load_demo_if_empty(&db)
            .await
            .map_err(|e| StartError::Seed(e.to_string()))?;
    if demo_loaded {
        if config.auth.app_env == AppEnv::Production {
            tracing::warn!(
                "loaded the demo data into an empty database in production (SEED_DEMO=true): invented plans under the communities' names, for a demonstration site only"
            );
        } else {
            tracing::info!("loaded the demo data into an empty database");
        }
    }
    if config.auth.app_env == AppEnv::Production {
        let neutralised = seed::accounts::neutralise(&db)
            .await
            .map_err(|e| StartError::Seed(e.to_string()))?;
        if neutralised > 0 {
            tracing::warn!(
                neutralised,
                "disabled the demo accounts and revoked the demo API key: this is production"
            );
        }
    }
    if config.seed_demo() && config.auth.app_env == AppEnv::Development {
        match seed::accounts::load_if_none(&db).await {
            Ok(true) => tracing::info!(
                "created the demo accounts (admin@lup.test, koordinator@lup.test, redaktoer.gjoel@lup.test; password `{}`) and the demo API key; see the README",
                seed::accounts::DEMO_PASSWORD
            ),
            Ok(false) => {}
            Err(e) => return Err(StartError::Seed(e.to_string())),
        }
    }
    // Planner statistics for tables loaded in bulk (a restore, the demo data).
    let analysed = if demo_loaded {
        db::analyze_all_tables(&db).await
    } else {
        db::analyze_new_tables(&db).await
    };
    if !analysed.is_empty() {
        tracing::info!(
            tables = analysed.len(),
            "gathered the planner's statistics of tables loaded in bulk"
        );
    }
    // The search index, built when its format changed, caught up with what was written
    // while no server ran (the demo data just loaded, rows from another version).
    crate::search::index::ensure(&db).await?;
    // The change feed tells of every row: those written while no server ran get their events.
    crate::changes::catch_up(&db).await?;
    // Personal data past its retention period goes before the server answers anyone, and
    // every hour from then on.
    crate::consultation::privacy::run_erasure(&db, config.consultation_retention_days).await;
    // Plans replaced by successors whose period has begun are archived now and every hour
    // (a successor adopted ahead of its period takes over in its first year).
    crate::plan::mutation::run_hand_over(&db).await;
    crate::consultation::privacy::spawn_erasure(
        db::background(&db, &sql),
        config.consultation_retention_days,
    );
    let webhooks =
        crate::webhook::Webhooks::new(&config.webhooks).map_err(|e| StartError::Webhooks(e.to_string()))?;
    let mut state = state(config, db, sql, tokens, documents, webhooks);
    if let Some(url) = config.redis_url.as_deref().filter(|u| !u.trim().is_empty()) {
        let shared = crate::limit::shared::Shared::connect(url, &config.redis_key_prefix)
            .map_err(|e| StartError::Redis(e.to_string()))?;
        state.limits.share(shared.clone());
        state.sign_ins.share(shared.clone(), state.tokens.clone());
        state.submissions.share(shared);
    }
    // Other instances' writes (on one PostgreSQL) empty this one's response cache too, and
    // reach this one's subscribers.
    crate::broadcast::listen(
        &state.db,
        &config.database_url,
        state.cache.clone(),
        state.feed.clone(),
    )
    .await;
    // Background work runs on the same pool, its statements counted apart.
    let background = db::background(&state.db, &state.sql);
    state.feed.start(background.clone()).await?;
    // Partners' webhooks: new changes into deliveries, and the deliveries sent (every
    // instance takes part; they share the work through the database).
    if config.webhooks.webhook_workers {
        state.webhooks.start(background, state.feed.clone()).await?;
    }
    Ok(state)
}

fn state(
    config: &Config,
    db: DatabaseConnection,
    sql: SqlCounter,
    tokens: Arc<Tokens>,
    documents: crate::documents::TrustedDocuments,
    webhooks: crate::webhook::Webhooks,
) -> AppState {
    let cache = ResponseCache::new(
        Duration::from_millis(config.public_cache_ttl_ms),
        config.public_cache_mib * 1024 * 1024,
    );
    let submissions = crate::consultation::abuse::Submissions::new(
        config.consultation_submissions_per_hour,
        tokens.clone(),
    );
    submissions.spawn_cleanup();
    // What the bounds read of the schema, read now rather than on the first request.
    crate::bounds::load_schema();
    AppState {
        schema: schema::build(Some(db.clone()), Some(tokens.clone()), Some(cache.clone())),
        fast_schema: schema::build_fast(Some(db.clone()), Some(tokens.clone()), Some(cache.clone())),
        prepared: Default::default(),
        tokens,
        db,
        sql,
        requests: Arc::new(AtomicU64::new(0)),
        http_metrics: Arc::default(),
        reads: crate::loader::Reads::new(
            Duration::from_micros(config.loader_delay_us),
            config.compiled_reads,
        ),
        cache,
        limits: {
            let limits = crate::limit::RateLimits::new(crate::limit::Rates {
                anonymous: config.rate_limit_anonymous_per_minute,
                partner: config.rate_limit_partner_per_minute,
                account: config.rate_limit_account_per_minute,
                burst_secs: config.rate_limit_burst_secs,
                concurrent: config.max_concurrent_per_client,
            });
            limits.spawn_cleanup();
            limits
        },
        submissions,
        sign_ins: Default::default(),
        trust_forwarded_for: config.trust_forwarded_for,
        documents,
        public_max_age: Duration::from_secs(config.public_max_age_secs),
        opendata_page_rows: config.opendata_page_rows,
        cors_origins: config
            .cors_allowed_origins
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .filter_map(|o| {
                HeaderValue::from_str(o)
                    .inspect_err(|_| {
                        tracing::warn!(origin = o, "CORS_ALLOWED_ORIGINS: not a valid origin; ignored")
                    })
                    .ok()
            })
            .collect(),
        introspection: config.introspection(),
        timeout: Duration::from_millis(config.request_timeout_ms),
        rate_limit_delay: Duration::from_millis(config.rate_limit_delay_ms),
        search: crate::search::CatchUp::new(Duration::from_millis(config.search_catch_up_ms)),
        website_community_url: crate::geo::features::url_template(config.website_community_url.as_deref()),
        feed: crate::changes::Feed::new(),
        draining: Arc::default(),
        webhooks,
        ws: http::ws::Hub::new(&config.subscriptions),
    }
}

/// A server running in the background (tests, benchmarks): its address and a way to stop it.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    handle: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// Stops accepting connections and waits for in-flight requests.
    pub async fn stop(mut self) {
        // WebSocket connections are not requests the graceful shutdown waits for: closed here.
        self.state.ws.shut_down();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.handle).await;
    }
}

/// Binds `config.bind_addr` (port 0 for an ephemeral port) and serves in a background task.
pub async fn spawn(config: &Config) -> Result<RunningServer, StartError> {
    // The start time `/metrics` gives: before the migrations and the demo data.
    http::started();
    // An address taken by another server is found out before the database is migrated and
    // seeded for a server that cannot start. The port is not held meanwhile: a load balancer
    // finds it closed (and tries another instance) rather than waiting on it.
    if config.bind_addr.port() != 0 {
        drop(
            TcpListener::bind(config.bind_addr)
                .await
                .map_err(|source| StartError::Bind {
                    addr: config.bind_addr,
                    source,
                })?,
        );
    }
    let state = prepare(config).await?;
    spawn_with(config, state).await
}

pub async fn spawn_with(config: &Config, state: AppState) -> Result<RunningServer, StartError> {
    let listener = TcpListener::bind(config.bind_addr)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.bind_addr,
            source,
        })?;
    let addr = listener.local_addr()?;
    let (tx, rx) = oneshot::channel::<()>();
    http::started();
    let app = http::router(state.clone());
    let header_read_timeout = Duration::from_secs(config.header_read_timeout_secs);
    let handle = tokio::spawn(http::serve::run(
        listener,
        app,
        async {
            let _ = rx.await;
        },
        header_read_timeout,
    ));
    Ok(RunningServer {
        addr,
        state,
        shutdown: Some(tx),
        handle,
    })
}

/// Serves until SIGTERM or Ctrl-C, then lets in-flight requests finish (within the grace
/// period).
pub async fn serve(config: &Config) -> Result<(), StartError> {
    let server = spawn(config).await?;
    tracing::info!(
        "LUP API listening on http://{addr}/graphql (GraphiQL in a browser)",
        addr = server.addr
    );
    shutdown_signal().await;
    let drain = Duration::from_secs(config.shutdown_drain_secs);
    if !drain.is_zero() {
        tracing::info!(
            "shutting down: serving {drain:?} more, each answer closing its connection (a second signal stops at once)"
        );
        server
            .state
            .draining
            .store(true, std::sync::atomic::Ordering::Relaxed);
        tokio::select! {
            () = tokio::time::sleep(drain) => {}
            () = shutdown_signal() => {
                tracing::warn!("a second signal: stopping without waiting for the requests still running");
                return Ok(());
            }
        }
    }
    tracing::info!("shutting down: finishing in-flight requests (a second signal stops at once)");
    let grace = Duration::from_secs(config.shutdown_grace_secs);
    // An operator who does not want to wait (Ctrl-C twice, `docker stop` then `kill`): once
    // the first signal is handled the default action is gone, so it is listened for here.
    tokio::select! {
        stopped = tokio::time::timeout(grace, server.stop()) => {
            if stopped.is_err() {
                tracing::warn!("requests still running after {grace:?}; stopping anyway");
            }
        }
        () = shutdown_signal() => {
            tracing::warn!("a second signal: stopping without waiting for the requests still running");
        }
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}

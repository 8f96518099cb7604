//! The test harness: a real server on port 0 over a fresh database (a SQLite file or a new
//! PostgreSQL database per test), and a client that speaks HTTP to it.
pub mod fixture;

use std::time::Duration;

use lup_api::{config::Config, startup};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{Value, json};

/// Runs a test body against SQLite and PostgreSQL: `both!(name, |app| async move { … });`
/// The PostgreSQL variant is ignored (and says why) unless `TEST_DATABASE_URL` is set.
#[macro_export]
macro_rules! both {
    ($name:ident, $body:expr) => {
        $crate::both!($name, |_: &mut lup_api::config::Config| {}, $body);
    };
    ($name:ident, $configure:expr, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test]
            async fn sqlite() {
                let app = $crate::TestApp::spawn_with($crate::Backend::Sqlite, $configure).await;
                ($body)(app.clone_handle()).await;
                app.stop().await;
            }

            #[tokio::test]
            #[cfg_attr(not(postgres_tests), ignore = "skipped: TEST_DATABASE_URL is not set")]
            async fn postgres() {
                let app = $crate::TestApp::spawn_with($crate::Backend::Postgres, $configure).await;
                ($body)(app.clone_handle()).await;
                app.stop().await;
            }
        }
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A running server and what a test needs to talk to it.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub db: DatabaseConnection,
    pub backend: Backend,
    /// The database the server uses (siblings share it).
    pub database_url: String,
    sql: lup_api::db::SqlCounter,
    /// Credentials every request of this handle sends (`Authorization` or `X-Api-Key`).
    pub credentials: Option<(String, String)>,
    server: Option<startup::RunningServer>,
    cleanup: Cleanup,
}

/// A role a test signs in as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum As {
    Anonymous,
    Partner,
    CommunityEditor,
    Staff,
    Admin,
}

impl As {
    pub const ALL: [As; 5] = [
        As::Anonymous,
        As::Partner,
        As::CommunityEditor,
        As::Staff,
        As::Admin,
    ];

    /// The name the access table uses.
    pub fn name(self) -> &'static str {
        match self {
            As::Anonymous => "anonymous",
            As::Partner => "partner",
            As::CommunityEditor => "editor",
            As::Staff => "staff",
            As::Admin => "admin",
        }
    }
}

/// The password of every account tests create.
pub const PASSWORD: &str = "korrekt-hest-batteri-hæfteklamme";

enum Cleanup {
    None,
    File(std::path::PathBuf),
    Database { admin_url: String, name: String },
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Like [`TestApp::spawn`], with the configuration adjusted first.
    pub async fn spawn_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> TestApp {
        let (url, cleanup) = match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("lup-test-{}.db", uuid::Uuid::now_v7()));
                (
                    format!("sqlite://{}?mode=rwc", path.display()),
                    Cleanup::File(path),
                )
            }
            Backend::Postgres => {
                let admin_url = std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL");
                let name = format!("lup_test_{}", uuid::Uuid::now_v7().simple());
                let admin = Database::connect(&admin_url)
                    .await
                    .expect("connect to TEST_DATABASE_URL");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create test database");
                admin.close().await.ok();
                (
                    replace_database(&admin_url, &name),
                    Cleanup::Database { admin_url, name },
                )
            }
        };
        let mut config = Config::for_database(url.clone());
        configure(&mut config);
        let server = startup::spawn(&config).await.expect("server starts");
        TestApp {
            base: format!("http://{}", server.addr),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
            db: server.state.db.clone(),
            sql: server.state.sql.clone(),
            backend,
            database_url: url,
            credentials: None,
            server: Some(server),
            cleanup,
        }
    }

    /// A second server on the same database (not migrated or seeded again), configured by
    /// `configure`: to compare two ways of answering the same data. Stop it with `stop`.
    pub async fn sibling(&self, configure: impl FnOnce(&mut Config)) -> TestApp {
        let mut config = Config::for_database(self.database_url.clone());
        config.auto_migrate = false;
        configure(&mut config);
        let server = startup::spawn(&config).await.expect("sibling server starts");
        TestApp {
            base: format!("http://{}", server.addr),
            client: self.client.clone(),
            db: server.state.db.clone(),
            sql: server.state.sql.clone(),
            backend: self.backend,
            database_url: self.database_url.clone(),
            credentials: self.credentials.clone(),
            server: Some(server),
            cleanup: Cleanup::None,
        }
    }

    /// The same handle (its credentials) pointed at `other`'s server.
    pub fn on(&self, other: &TestApp) -> TestApp {
        let mut handle = other.clone_handle();
        handle.credentials = self.credentials.clone();
        handle
    }

    /// A handle on a server started by the test itself (which stops it).
    pub fn attach(server: &startup::RunningServer) -> TestApp {
        TestApp {
            base: format!("http://{}", server.addr),
            client: reqwest::Client::new(),
            db: server.state.db.clone(),
            sql: server.state.sql.clone(),
            backend: Backend::Sqlite,
            database_url: String::new(),
            credentials: None,
            server: None,
            cleanup: Cleanup::None,
        }
    }

    /// A handle for the test body; the original keeps ownership of the server.
    pub fn clone_handle(&self) -> TestApp {
        TestApp {
            base: self.base.clone(),
            client: self.client.clone(),
            db: self.db.clone(),
            sql: self.sql.clone(),
            backend: self.backend,
            database_url: self.database_url.clone(),
            credentials: self.credentials.clone(),
            server: None,
            cleanup: Cleanup::None,
        }
    }

    pub async fn stop(mut self) {
        let owned = self.server.is_some();
        if let Some(server) = self.server.take() {
            server.stop().await;
        }
        match std::mem::replace(&mut self.cleanup, Cleanup::None) {
            // A sibling closes its own pool; a handle's belongs to its server.
            Cleanup::None if owned => {
                self.db.clone().close().await.ok();
            }
            Cleanup::None => {}
            Cleanup::File(path) => {
                self.db.clone().close().await.ok();
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::Database { admin_url, name } => {
                self.db.clone().close().await.ok();
                if let Ok(admin) = Database::connect(&admin_url).await {
                    let _ = admin
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                    admin.close().await.ok();
                }
            }
        }
    }

    /// The running server's state (not on a handle: only where the server is owned).
    pub fn state(&self) -> &lup_api::http::AppState {
        &self.server.as_ref().expect("the server's own TestApp").state
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A handle that sends `header: value` with every request.
    pub fn with_credentials(&self, header: &str, value: &str) -> TestApp {
        let mut handle = self.clone_handle();
        handle.credentials = Some((header.to_owned(), value.to_owned()));
        handle
    }

    /// A handle that sends `Authorization: Bearer <token>`.
    pub fn with_token(&self, token: &str) -> TestApp {
        self.with_credentials("authorization", &format!("Bearer {token}"))
    }

    /// Creates an account with [`PASSWORD`] straight in the database (editors of
    /// `communities`); returns its ID.
    pub async fn create_account(&self, email: &str, role: As, communities: &[uuid::Uuid]) -> uuid::Uuid {
        use entity::{account, account_community};
        use sea_orm::{ActiveModelTrait, Set};
        let role = match role {
            As::Staff => account::AccountRole::Staff,
            As::Admin => account::AccountRole::Admin,
            As::CommunityEditor => account::AccountRole::CommunityEditor,
            other => panic!("{other:?} has no account"),
        };
        let id = uuid::Uuid::now_v7();
        let now = chrono::Utc::now();
        account::ActiveModel {
            id: Set(id),
            email: Set(email.to_owned()),
            display_name: Set(format!("Test {}", email.split('@').next().unwrap_or(email))),
            password_hash: Set(Some(
                lup_api::auth::secret::hash_password(PASSWORD).expect("hash"),
            )),
            role: Set(role),
            disabled: Set(false),
            last_login_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            version: Set(1),
        }
        .insert(&self.db)
        .await
        .expect("insert account");
        for c in communities {
            account_community::ActiveModel {
                account_id: Set(id),
                community_id: Set(*c),
            }
            .insert(&self.db)
            .await
            .expect("insert account community");
        }
        id
    }

    /// Signs in over HTTP and returns the whole `login` payload.
    pub async fn login(&self, email: &str, password: &str) -> Value {
        self.data(
            "mutation($input: LoginInput!) { login(input: $input) { accessToken refreshToken accessTokenExpiresAt refreshTokenExpiresAt userErrors { field code } } }",
            json!({ "input": { "email": email, "password": password } }),
        )
        .await["login"]
            .clone()
    }

    /// Creates an API key for `organization` straight in the database; returns the key.
    pub async fn create_api_key(&self, organization: uuid::Uuid) -> String {
        use sea_orm::{ActiveModelTrait, Set};
        let (key, prefix) = lup_api::auth::secret::new_api_key();
        let now = chrono::Utc::now();
        entity::api_key::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            organization_id: Set(organization),
            name: Set("Testnøgle".into()),
            prefix: Set(prefix),
            key_hash: Set(lup_api::auth::secret::sha256_hex(&key)),
            scopes: Set("read express_interest".into()),
            created_by_account_id: Set(None),
            last_used_at: Set(None),
            revoked_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            version: Set(1),
        }
        .insert(&self.db)
        .await
        .expect("insert API key");
        key
    }

    /// A handle signed in as `role`: a new account (an editor of `communities`) or, for a
    /// partner, a new API key of `organization`.
    pub async fn signed_in(
        &self,
        role: As,
        communities: &[uuid::Uuid],
        organization: Option<uuid::Uuid>,
    ) -> TestApp {
        match role {
            As::Anonymous => {
                let mut h = self.clone_handle();
                h.credentials = None;
                h
            }
            As::Partner => {
                let org = organization.expect("a partner needs an organisation");
                let key = self.create_api_key(org).await;
                self.with_credentials("x-api-key", &key)
            }
            _ => {
                let email = format!("{}-{}@jammerbugt.dk", role.name(), uuid::Uuid::now_v7().simple());
                self.create_account(&email, role, communities).await;
                let login = self.login(&email, PASSWORD).await;
                self.with_token(login["accessToken"].as_str().expect("access token"))
            }
        }
    }

    /// POSTs a GraphQL request and returns the whole JSON response (data and errors).
    pub async fn post(&self, query: &str, variables: Value) -> Value {
        let (status, body) = self.post_status(query, variables).await;
        assert!(status < 500, "server error {status} for {query}");
        body
    }

    /// POSTs a GraphQL request with this handle's credentials: the HTTP status and the body
    /// (null when it is not JSON), whatever they are.
    pub async fn post_status(&self, query: &str, variables: Value) -> (u16, Value) {
        let mut request = self
            .client
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some((header, value)) = &self.credentials {
            request = request.header(header.as_str(), value.as_str());
        }
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// The value of one series of `/metrics`, e.g. `lup_sql_statements_total` or
    /// `lup_response_cache_total{result="hit"}`.
    pub async fn metric(&self, series: &str) -> u64 {
        self.metric_opt(series)
            .await
            .unwrap_or_else(|| panic!("no {series} in /metrics"))
    }

    /// A series of `/metrics`, or `None` where it is not written (a counter still at 0).
    pub async fn metric_opt(&self, series: &str) -> Option<u64> {
        let text = self
            .client
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .and_then(|n| n.parse().ok())
    }

    /// Loads the demo data into an empty database; the IDs of all its communities.
    pub async fn demo_communities(&self) -> Vec<uuid::Uuid> {
        use sea_orm::{EntityTrait, QuerySelect};
        lup_api::seed::load_demo_if_empty(&self.db)
            .await
            .expect("demo data");
        entity::community::Entity::find()
            .select_only()
            .column(entity::community::Column::Id)
            .into_tuple()
            .all(&self.db)
            .await
            .expect("communities")
    }

    /// POSTs a query that must succeed and returns its `data`.
    pub async fn data(&self, query: &str, variables: Value) -> Value {
        let body = self.post(query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
        body["data"].clone()
    }

    /// POSTs a query that must fail and returns its first error's `extensions.code` and message.
    pub async fn error(&self, query: &str, variables: Value) -> (String, String) {
        let body = self.post(query, variables).await;
        let error = &body["errors"][0];
        assert!(error.is_object(), "expected an error: {body:#}");
        let code = error["extensions"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        (code, error["message"].as_str().unwrap_or_default().to_owned())
    }

    /// SQL statements the server has sent so far.
    pub fn sql_statements(&self) -> u64 {
        self.sql.get()
    }
}

/// A TCP relay between the server and a service it uses (PostgreSQL, Redis), standing in for
/// it: stopped, it closes every connection and refuses new ones, as a stopped or unreachable
/// server does.
pub struct Relay {
    pub addr: std::net::SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    pub async fn start(addr: std::net::SocketAddr, upstream: String) -> Relay {
        let listener = tokio::net::TcpListener::bind(addr).await.expect("relay port");
        let addr = listener.local_addr().expect("relay address");
        let task = tokio::spawn(async move {
            // Dropped with the accept loop when the relay stops, closing every connection.
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((mut client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                connections.spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        Relay { addr, task }
    }

    pub async fn stop(self) -> std::net::SocketAddr {
        self.task.abort();
        let _ = self.task.await;
        self.addr
    }
}

/// `url` with its database name replaced by `name`.
pub fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let base = match base.rfind('/') {
        Some(i) if i > "postgres://".len() => &base[..i],
        _ => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

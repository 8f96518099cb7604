//! Operations: health, readiness, GraphiQL, metrics, the committed schema.
use lup_tests::both;

both!(health_and_readiness, |app: lup_tests::TestApp| async move {
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
});

both!(graphiql_for_browsers, |app: lup_tests::TestApp| async move {
    let page = app
        .client
        .get(app.url("/graphql"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().to_lowercase().contains("graphiql"));
});

both!(get_requests_run_queries, |app: lup_tests::TestApp| async move {
    let response = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "{ themes { totalCount } }")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["data"]["themes"]["totalCount"], 0);
});

both!(
    metrics_count_sql_statements,
    |app: lup_tests::TestApp| async move {
        app.data("{ communities { totalCount } }", serde_json::json!({}))
            .await;
        let n = app.metric("lup_sql_statements_total").await;
        assert!(n >= 1, "{n} statements");
    }
);

both!(
    metrics_count_requests_durations_and_errors,
    |app: lup_tests::TestApp| async move {
        let healthz = "lup_http_requests_total{route=\"/healthz\",status=\"200\"}";
        let missing = "lup_http_requests_total{route=\"other\",status=\"404\"}";
        let bad_input = "lup_graphql_errors_total{code=\"BAD_USER_INPUT\"}";
        let unauthenticated = "lup_graphql_errors_total{code=\"UNAUTHENTICATED\"}";
        // The first request of the test may be the one that creates the series.
        app.client.get(app.url("/healthz")).send().await.unwrap();
        app.client.get(app.url("/no-such-path")).send().await.unwrap();
        app.post("{ nosuchfield }", serde_json::json!({})).await;
        app.post("{ auditLog(first: 1) { totalCount } }", serde_json::json!({}))
            .await;
        let before = (
            app.metric(healthz).await,
            app.metric(missing).await,
            app.metric(bad_input).await,
            app.metric(unauthenticated).await,
        );
        for _ in 0..3 {
            app.client.get(app.url("/healthz")).send().await.unwrap();
        }
        app.client.get(app.url("/no-such-path")).send().await.unwrap();
        // A field that does not exist; a staff-only list asked anonymously.
        let body = app.post("{ nosuchfield }", serde_json::json!({})).await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{body}"
        );
        let body = app
            .post("{ auditLog(first: 1) { totalCount } }", serde_json::json!({}))
            .await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "{body}"
        );
        assert_eq!(
            (
                app.metric(healthz).await,
                app.metric(missing).await,
                app.metric(bad_input).await,
                app.metric(unauthenticated).await,
            ),
            (before.0 + 3, before.1 + 1, before.2 + 1, before.3 + 1)
        );
        // Durations: every answered request is in the histogram's +Inf bucket and its count.
        let count = app
            .metric("lup_http_request_duration_seconds_count{route=\"/healthz\"}")
            .await;
        assert!(count >= 4, "{count}");
        assert_eq!(
            app.metric("lup_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"+Inf\"}")
                .await,
            count
        );
        // The pool: its configured size, and what it holds within it (background work may
        // hold a connection at any moment, so not exact figures).
        assert_eq!(app.metric("lup_db_pool_max_connections").await, 5);
        let in_use = app.metric("lup_db_pool_connections{state=\"in_use\"}").await;
        let idle = app.metric("lup_db_pool_connections{state=\"idle\"}").await;
        assert!(idle >= 1 && in_use + idle <= 5, "{in_use} in use, {idle} idle");
        let version = format!("lup_build_info{{version=\"{}\"}}", env!("CARGO_PKG_VERSION"));
        assert_eq!(app.metric(&version).await, 1);
    }
);

#[test]
fn committed_schema_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../schema.graphql");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    let current = lup_api::schema::sdl();
    assert!(
        committed == current,
        "schema.graphql is stale: run `cargo run -- export-schema --out schema.graphql` and review the diff"
    );
}

both!(
    oversized_bodies_are_refused,
    |app: lup_tests::TestApp| async move {
        let padding = " ".repeat(lup_api::http::MAX_BODY_BYTES + 1);
        let body = format!(r#"{{"query": "{{ themes {{ totalCount }} }}{padding}"}}"#);
        let before = app.sql_statements();
        let response = app
            .client
            .post(app.url("/graphql"))
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 413);
        assert_eq!(app.sql_statements(), before, "nothing ran");
        // Answered like every other refused request: a GraphQL-style error body in the type the
        // client accepts, saying the limit.
        let limit = lup_api::http::MAX_BODY_BYTES;
        let length = body.len();
        for (accept, media) in [
            (None, "application/json"),
            (
                Some("application/graphql-response+json"),
                "application/graphql-response+json",
            ),
        ] {
            let mut request = app
                .client
                .post(app.url("/graphql"))
                .header("content-type", "application/json")
                .body(body.clone());
            if let Some(accept) = accept {
                request = request.header("accept", accept);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 413, "{accept:?}");
            let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
            assert_eq!(content_type, media);
            let json: serde_json::Value = response.json().await.unwrap();
            assert_eq!(
                json,
                serde_json::json!({ "errors": [{
                    "message": format!("the request body is {length} bytes long; the limit is {limit} bytes"),
                    "extensions": { "code": "BAD_REQUEST" },
                }] })
            );
        }
        // Sent without a length (chunked), it is cut off at the limit and answered alike.
        let (status, json) = chunked_post(&app, &body).await;
        assert_eq!(status, 413, "{json}");
        assert_eq!(
            json,
            serde_json::json!({ "errors": [{
                "message": format!("the request body is longer than the limit of {limit} bytes"),
                "extensions": { "code": "BAD_REQUEST" },
            }] })
        );
        assert_eq!(app.sql_statements(), before, "nothing ran");
    }
);

/// POSTs `body` to `/graphql` as JSON in chunks (no `Content-Length`, which the HTTP client
/// always sends for a body it holds); returns the status and the response body as JSON.
async fn chunked_post(app: &lup_tests::TestApp, body: &str) -> (u16, serde_json::Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = app.base.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST /graphql HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // The server may answer and close before the whole body is sent.
    for chunk in body.as_bytes().chunks(64 * 1024) {
        let sent = async {
            stream
                .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                .await?;
            stream.write_all(chunk).await?;
            stream.write_all(b"\r\n").await
        };
        if sent.await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let response = String::from_utf8_lossy(&response);
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("an HTTP response: {response}"));
    let (headers, content) = response.split_once("\r\n\r\n").expect("a body");
    let json = if headers
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        // One chunk: its size line, the data, the end.
        content.split("\r\n").nth(1).unwrap_or_default().to_owned()
    } else {
        content.to_owned()
    };
    (
        status,
        serde_json::from_str(&json).unwrap_or(serde_json::Value::Null),
    )
}

/// Stopping the server (what SIGTERM does) lets a request in flight finish, then refuses new
/// connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_requests_in_flight_finish() {
    // A long loader delay keeps the request in flight while the server is told to stop
    // (through the loaders: a compiled read has no batch to wait for).
    let app = lup_tests::TestApp::spawn_with(lup_tests::Backend::Sqlite, |c| {
        c.loader_delay_us = 400_000;
        c.compiled_reads = false;
    })
    .await;
    let id = lup_tests::fixture::Fixture::new(&app.db)
        .community("gjoel", "Gjøl")
        .await;
    lup_tests::fixture::Fixture::new(&app.db)
        .plan(id, "Plan", lup_tests::fixture::PlanStatus::Adopted, 2024, 2027)
        .await;
    let handle = app.clone_handle();
    let in_flight = tokio::spawn(async move {
        handle
            .post(
                r#"{ community(slug: "gjoel") { currentPlan { title } } }"#,
                serde_json::json!({}),
            )
            .await
    });
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    assert!(
        !in_flight.is_finished(),
        "the request is still waiting for its loader"
    );
    let base = app.base.clone();
    app.stop().await;
    let body = in_flight.await.unwrap();
    assert_eq!(
        body["data"]["community"]["currentPlan"]["title"], "Plan",
        "{body:#}"
    );
    let after = reqwest::Client::new().get(format!("{base}/healthz")).send().await;
    assert!(after.is_err(), "no new connections after the stop");
}

/// Connections that are not serving a request do not hold up a stop: one opened and left
/// silent (a browser's preconnect), one halfway through its first request's headers, and one
/// kept alive after its answer. (The header-read timeout, 30 s, is longer than the grace period.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_do_not_hold_up_the_stop() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = lup_tests::TestApp::spawn(lup_tests::Backend::Sqlite).await;
    let address = host_and_port(&app);
    let _silent = tokio::net::TcpStream::connect(&address).await.unwrap();
    // And one in the middle of its first request's headers.
    let mut halfway = tokio::net::TcpStream::connect(&address).await.unwrap();
    halfway
        .write_all(format!("GET /healthz HTTP/1.1\r\nhost: {address}\r\n").as_bytes())
        .await
        .unwrap();
    let mut kept = tokio::net::TcpStream::connect(&address).await.unwrap();
    kept.write_all(format!("GET /healthz HTTP/1.1\r\nhost: {address}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut answer = [0u8; 512];
    let n = kept.read(&mut answer).await.unwrap();
    assert!(
        answer[..n].starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer[..n])
    );
    // Both accepted by the server before it is told to stop.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    tokio::time::timeout(std::time::Duration::from_secs(3), app.stop())
        .await
        .expect("stopped without waiting for connections that serve no request");
}

/// Two instances starting at once on one new PostgreSQL database: one applies the
/// migrations, the other waits for it, and both serve.
#[tokio::test]
#[cfg_attr(not(postgres_tests), ignore = "skipped: TEST_DATABASE_URL is not set")]
async fn two_instances_starting_together_migrate_once() {
    let (fresh, config) = FreshDatabase::create().await;
    let (a, b) = tokio::join!(lup_api::startup::spawn(&config), lup_api::startup::spawn(&config));
    let (a, b) = (a.expect("A starts"), b.expect("B starts"));
    for server in [&a, &b] {
        let app = lup_tests::TestApp::attach(server);
        assert_eq!(
            app.data("{ communities(first: 1) { totalCount } }", serde_json::json!({}))
                .await["communities"]["totalCount"],
            0
        );
    }
    for server in [a, b] {
        let db = server.state.db.clone();
        server.stop().await;
        db.close().await.ok();
    }
    fresh.drop().await;
}

/// Tables loaded in bulk while no instance ran (a restore): the next instance to start gathers
/// the planner's statistics of those that have none, so statements are not planned for empty
/// tables until autovacuum comes by.
#[tokio::test]
#[cfg_attr(not(postgres_tests), ignore = "skipped: TEST_DATABASE_URL is not set")]
async fn an_instance_starting_on_a_restored_database_gathers_its_statistics() {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let (fresh, config) = FreshDatabase::create().await;
    let stats = |db: &sea_orm::DatabaseConnection| {
        let db = db.clone();
        async move {
            let row = db
                .query_one_raw(Statement::from_string(
                    DbBackend::Postgres,
                    "SELECT n_live_tup, last_analyze IS NOT NULL AS analysed \
                     FROM pg_stat_user_tables WHERE relname = 'action'",
                ))
                .await
                .expect("statistics")
                .expect("the action table");
            (
                row.try_get::<i64>("", "n_live_tup").expect("rows"),
                row.try_get::<bool>("", "analysed").expect("analysed"),
            )
        }
    };
    // Migrated by a first start; then the rows come in bulk, as a restore brings them.
    let first = lup_api::startup::spawn(&config).await.expect("starts");
    let db = first.state.db.clone();
    first.stop().await;
    lup_api::seed::load_demo_if_empty(&db).await.expect("the rows");
    // The rows counted (the statistics views learn of them a moment later), none analysed.
    let mut counted = stats(&db).await;
    for _ in 0..100 {
        if counted.0 > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        counted = stats(&db).await;
    }
    assert!(counted.0 > 0 && !counted.1, "{counted:?}");
    let second = lup_api::startup::spawn(&config).await.expect("starts again");
    assert!(stats(&db).await.1, "the action table's statistics were gathered");
    second.stop().await;
    db.close().await.ok();
    fresh.drop().await;
}

// PostgreSQL compiles no statement of ours (JIT): on a large database it took a search from 40
// to 280 ms. SQLite has no JIT.
both!(
    postgres_compiles_no_statement,
    |app: lup_tests::TestApp| async move {
        use sea_orm::{ConnectionTrait, DbBackend, Statement};
        if app.db.get_database_backend() != DbBackend::Postgres {
            return;
        }
        let row = app
            .db
            .query_one_raw(Statement::from_string(DbBackend::Postgres, "SHOW jit"))
            .await
            .expect("SHOW jit")
            .expect("a row");
        assert_eq!(row.try_get_by_index::<String>(0).expect("text"), "off");
    }
);

/// Two instances starting at once in production on a database copied from a development run
/// (demo accounts and key in it): both start, and each demo row is neutralised once.
#[tokio::test]
#[cfg_attr(not(postgres_tests), ignore = "skipped: TEST_DATABASE_URL is not set")]
async fn two_production_instances_neutralise_the_demo_accounts_once() {
    use lup_api::config::{AppEnv, Secret};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let (fresh, mut config) = FreshDatabase::create().await;
    let development = lup_api::startup::spawn(&config).await.expect("starts");
    lup_tests::fixture::Fixture::new(&development.state.db)
        .demo_foundation()
        .await;
    lup_api::seed::accounts::load_if_none(&development.state.db)
        .await
        .expect("demo accounts");
    development.stop().await;
    config.auth.app_env = AppEnv::Production;
    config.auth.jwt_secret = Some(Secret::new("en-rigtig-hemmelighed-paa-mindst-32-bytes"));
    for _ in 0..2 {
        let (a, b) = tokio::join!(lup_api::startup::spawn(&config), lup_api::startup::spawn(&config));
        let (a, b) = (a.expect("A starts"), b.expect("B starts"));
        let audited = entity::audit_log::Entity::find()
            .filter(entity::audit_log::Column::ActorLabel.eq("system:production"))
            .all(&a.state.db)
            .await
            .expect("the audit log");
        assert_eq!(audited.len(), 4, "three accounts and the key, once each");
        for server in [a, b] {
            let db = server.state.db.clone();
            server.stop().await;
            db.close().await.ok();
        }
    }
    fresh.drop().await;
}

/// A new PostgreSQL database on `TEST_DATABASE_URL`'s server for a test that starts servers
/// itself, and a configuration for it.
struct FreshDatabase {
    admin: sea_orm::DatabaseConnection,
    name: String,
}

impl FreshDatabase {
    async fn create() -> (FreshDatabase, lup_api::config::Config) {
        use sea_orm::ConnectionTrait;
        let admin_url = std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL");
        let name = format!("lup_test_{}", uuid::Uuid::now_v7().simple());
        let admin = sea_orm::Database::connect(&admin_url).await.expect("connect");
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create database");
        let config = lup_api::config::Config::for_database(lup_tests::replace_database(&admin_url, &name));
        (FreshDatabase { admin, name }, config)
    }

    async fn drop(self) {
        use sea_orm::ConnectionTrait;
        self.admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name))
            .await
            .ok();
    }
}

/// A SQLite file the server may read but not write (opened read-only: here by `mode=ro`, in
/// life a restored copy owned by another user) stops the start with a message that names the
/// file, instead of a server that says it is ready and fails every write.
#[tokio::test]
async fn a_sqlite_database_that_cannot_be_written_stops_the_start() {
    let dir = std::env::temp_dir().join(format!("lup-ro-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).expect("folder");
    let file = dir.join("lup.db");
    let url = |mode: &str| format!("sqlite://{}?mode={mode}", file.display());
    let server = lup_api::startup::spawn(&lup_api::config::Config::for_database(url("rwc")))
        .await
        .expect("starts on a new file");
    let db = server.state.db.clone();
    server.stop().await;
    db.close().await.ok();
    let refused = lup_api::startup::spawn(&lup_api::config::Config::for_database(url("ro"))).await;
    let message = refused.err().expect("refused").to_string();
    assert!(message.contains("cannot be written"), "{message}");
    assert!(message.contains(&file.display().to_string()), "{message}");
    std::fs::remove_dir_all(&dir).ok();
}

/// Migrations on SQLite are applied all or none: one that fails half-way (here: a table of a
/// later migration already there, as a full disk or a kill would have left it) leaves the
/// database as it was, so the start can be tried again once the cause is gone, instead of a
/// database whose tables its record of migrations does not tell of.
#[tokio::test]
async fn a_failed_migration_on_sqlite_leaves_the_database_as_it_was() {
    use sea_orm::ConnectionTrait;
    let dir = std::env::temp_dir().join(format!("lup-mig-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).expect("folder");
    let url = format!("sqlite://{}?mode=rwc", dir.join("lup.db").display());
    let config = lup_api::config::Config::for_database(url);
    let (db, _) = lup_api::db::connect(&config).await.expect("connect");
    db.execute_unprepared("CREATE TABLE webhook_endpoint (id INTEGER)")
        .await
        .expect("a table in the way");
    let failed = lup_api::db::migrate(&db).await;
    assert!(failed.is_err(), "the migration creating webhook_endpoint fails");
    let tables = |db: sea_orm::DatabaseConnection| async move {
        db.query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Sqlite,
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
        ))
        .await
        .expect("tables")
        .iter()
        .map(|r| r.try_get::<String>("", "name").expect("name"))
        .collect::<Vec<_>>()
    };
    assert_eq!(
        tables(db.clone()).await,
        ["webhook_endpoint"],
        "nothing else was kept"
    );
    db.execute_unprepared("DROP TABLE webhook_endpoint")
        .await
        .expect("out of the way");
    lup_api::db::migrate(&db)
        .await
        .expect("then every migration runs");
    assert!(tables(db.clone()).await.contains(&"community".to_owned()));
    db.close().await.ok();
    std::fs::remove_dir_all(&dir).ok();
}

/// While the server drains after SIGTERM (`SHUTDOWN_DRAIN_SECS`), it still answers, but each
/// answer closes its connection, and `/readyz` says 503: a proxy in front lets its kept-alive
/// connections go rather than sending a request on one the server is about to close (a POST,
/// which nginx does not send again, would be lost as a 502).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draining_server_answers_and_closes_each_connection() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = lup_tests::TestApp::spawn(lup_tests::Backend::Sqlite).await;
    let address = host_and_port(&app);
    let ask = async |path: &str| {
        let mut conn = tokio::net::TcpStream::connect(&address).await.unwrap();
        conn.write_all(format!("GET {path} HTTP/1.1\r\nhost: {address}\r\n\r\n").as_bytes())
            .await
            .unwrap();
        // Read to the end: only a connection the server closes ends.
        let mut answer = Vec::new();
        let read =
            tokio::time::timeout(std::time::Duration::from_secs(1), conn.read_to_end(&mut answer)).await;
        (read.is_ok(), String::from_utf8_lossy(&answer).to_lowercase())
    };
    let (closed, answer) = ask("/healthz").await;
    assert!(!closed, "kept alive before: {answer}");
    assert!(answer.starts_with("http/1.1 200"), "{answer}");
    let (closed, answer) = ask("/readyz").await;
    assert!(!closed && answer.starts_with("http/1.1 200"), "{answer}");

    app.state()
        .draining
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let (closed, answer) = ask("/healthz").await;
    assert!(closed, "closed after its answer: {answer}");
    assert!(answer.starts_with("http/1.1 200"), "{answer}");
    assert!(answer.contains("connection: close"), "{answer}");
    let (closed, answer) = ask("/readyz").await;
    assert!(closed && answer.starts_with("http/1.1 503"), "{answer}");
    // No WebSocket is opened that would be closed in a moment.
    let mut conn = tokio::net::TcpStream::connect(&address).await.unwrap();
    conn.write_all(
        format!(
            "GET /graphql HTTP/1.1\r\nhost: {address}\r\nupgrade: websocket\r\nconnection: upgrade\r\n\
             sec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             sec-websocket-protocol: graphql-transport-ws\r\n\r\n"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), conn.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer).to_lowercase();
    assert!(answer.starts_with("http/1.1 503"), "{answer}");
    assert!(answer.contains("retry-after: 1"), "{answer}");
    let body = app
        .data("{ communities(first: 1) { totalCount } }", serde_json::json!({}))
        .await;
    assert!(
        body["communities"]["totalCount"].is_number(),
        "still served: {body}"
    );
    app.stop().await;
}

/// Every answer names its request (`X-Request-Id`): the ID the proxy in front gave it, or a
/// new one; what a client quotes with an error, and the log's lines of that request carry.
#[tokio::test]
async fn each_answer_names_its_request() {
    // Behind a proxy, whose X-Request-Id it takes.
    let app = lup_tests::TestApp::spawn_with(lup_tests::Backend::Sqlite, |c| {
        c.trust_forwarded_for = true;
    })
    .await;
    let client = reqwest::Client::new();
    let id = async |sent: Option<&str>| {
        let mut request = client.post(app.url("/graphql")).json(&serde_json::json!({
            "query": "{ communities(first: 1) { totalCount } }"
        }));
        if let Some(s) = sent {
            request = request.header("x-request-id", s);
        }
        let answer = request.send().await.expect("answer");
        assert_eq!(answer.status(), 200);
        answer
            .headers()
            .get("x-request-id")
            .expect("an ID")
            .to_str()
            .expect("ascii")
            .to_owned()
    };
    let (first, second) = (id(None).await, id(None).await);
    assert_eq!(first.len(), 32, "{first}");
    assert!(first.chars().all(|c| c.is_ascii_hexdigit()), "{first}");
    assert_ne!(first, second, "each request its own");
    assert_eq!(id(Some("a1b2c3d4e5f6-nginx")).await, "a1b2c3d4e5f6-nginx");
    // Not an ID: one of its own.
    for bad in ["med mellemrum", &"x".repeat(65)] {
        let got = id(Some(bad)).await;
        assert_ne!(got, bad);
        assert_eq!(got.len(), 32, "{got}");
    }
    app.stop().await;
    // Reached directly: a client does not choose its request's ID.
    let app = lup_tests::TestApp::spawn(lup_tests::Backend::Sqlite).await;
    let answer = client
        .post(app.url("/graphql"))
        .header("x-request-id", "valgt-af-klienten")
        .json(&serde_json::json!({ "query": "{ communities(first: 1) { totalCount } }" }))
        .send()
        .await
        .expect("answer");
    let got = answer.headers()["x-request-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert_ne!(got, "valgt-af-klienten");
    assert_eq!(got.len(), 32, "{got}");
    app.stop().await;
}

/// The server's `host:port`, for a bare TCP connection.
fn host_and_port(app: &lup_tests::TestApp) -> String {
    app.base
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned()
}

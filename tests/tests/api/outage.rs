//! The database going away under a running server. Killed connections (a restart,
//! `pg_terminate_backend`) are discarded and the statement retried on a fresh one; a database
//! that stays out of reach is answered `UNAVAILABLE`, never `INTERNAL`.
//!
//! PostgreSQL only: an embedded SQLite file has no connection to lose and no server to be out
//! of reach.
use std::{net::SocketAddr, time::Duration};

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use lup_api::config::Config;
use lup_tests::{As, Backend, Relay, TestApp, fixture::Fixture};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::{Value, json};

pub(crate) const PAGE: &str = include_str!("../../queries/community-page.graphql");
pub(crate) const LIST: &str = "{ communities(first: 10) { totalCount nodes { name
    plans(first: 5) { nodes { title actions(first: 50) { totalCount nodes { title } } } } } } }";
const CREATE: &str = "mutation($i: CreateCommunityInput!) { createCommunity(input: $i) {
    community { slug } userErrors { field code } } }";

/// A server on a fresh PostgreSQL database holding a small programme; several requests at
/// once may run side by side, so the pool holds several connections.
pub(crate) async fn spawn(configure: impl FnOnce(&mut Config)) -> TestApp {
    let app = TestApp::spawn_with(Backend::Postgres, |c| {
        c.max_concurrent_per_client = 16;
        // Every request of a burst reads the database (none shares a cached answer), so the
        // pool holds several connections to lose.
        c.public_cache_ttl_ms = 0;
        configure(c);
    })
    .await;
    Fixture::new(&app.db).programme(3, 4).await;
    app
}

/// A connection of our own to the PostgreSQL server, outside the server's pool.
pub(crate) async fn admin() -> DatabaseConnection {
    let url = std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL");
    Database::connect(&url).await.expect("admin connection")
}

async fn scalar(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect(sql)
        .expect("a row");
    row.try_get_by_index::<i64>(0).expect("an integer")
}

pub(crate) async fn database_name(app: &TestApp) -> String {
    let row = app
        .db
        .query_one_raw(Statement::from_string(
            app.db.get_database_backend(),
            "SELECT current_database()",
        ))
        .await
        .expect("current_database()")
        .expect("a row");
    row.try_get_by_index::<String>(0).expect("a name")
}

/// Runs the page and the list form eight times at once and returns their answers: the pool
/// then holds several idle connections. Asserts it does, or a test could pass by having only
/// one connection to lose.
async fn burst(app: &TestApp) -> (Value, Value) {
    let page = app.data(PAGE, json!({ "slug": "by-0" })).await;
    let list = app.data(LIST, json!({})).await;
    let requests: Vec<_> = (0..8)
        .map(|i| {
            let app = app.clone_handle();
            tokio::spawn(async move {
                if i % 2 == 0 {
                    (app.data(PAGE, json!({ "slug": "by-0" })).await, true)
                } else {
                    (app.data(LIST, json!({})).await, false)
                }
            })
        })
        .collect();
    for request in requests {
        let (answer, is_page) = request.await.expect("request");
        assert_eq!(&answer, if is_page { &page } else { &list });
    }
    let idle = app.db.get_postgres_connection_pool().num_idle();
    assert!(
        idle >= 2,
        "the burst left {idle} idle connection(s); the test needs several"
    );
    (page, list)
}

/// Terminates every backend of the server's database and waits until they are gone; returns
/// how many there were.
pub(crate) async fn kill_connections(admin: &DatabaseConnection, database: &str) -> i64 {
    let killed = scalar(
        admin,
        &format!(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname = '{database}' AND pid <> pg_backend_pid()"
        ),
    )
    .await;
    for _ in 0..100 {
        let left = scalar(
            admin,
            // The connection listening for other instances' writes reconnects at once; it is
            // not one of the pool's.
            &format!(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = '{database}' \
                 AND application_name <> 'lup-listen'"
            ),
        )
        .await;
        if left == 0 {
            return killed;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the backends of {database} did not exit");
}

/// Kills the server's connections after a burst has spread its work over several of them.
pub(crate) async fn burst_then_kill(app: &TestApp) -> (Value, Value) {
    let answers = burst(app).await;
    let admin = admin().await;
    let killed = kill_connections(&admin, &database_name(app).await).await;
    admin.close().await.ok();
    assert!(killed >= 2, "killed {killed} connection(s)");
    answers
}

/// A statement still running a second past its request's deadline is stopped by PostgreSQL,
/// and its connection goes back to the pool: requests that timed out waiting behind a lock (a
/// long transaction elsewhere, a migration) do not hold every connection until it is
/// released, and another client's request is answered meanwhile. Such a stop is a `TIMEOUT`,
/// not an internal error.
#[tokio::test]
#[cfg_attr(not(postgres_tests), ignore = "skipped: TEST_DATABASE_URL is not set")]
async fn a_statement_past_its_deadline_gives_its_connection_back() {
    let app = spawn(|c| {
        c.db_max_connections = 2;
        c.request_timeout_ms = 300;
    })
    .await;
    let database = database_name(&app).await;
    let holder = Database::connect(&app.database_url).await.expect("holder");
    let lock = sea_orm::TransactionTrait::begin(&holder).await.expect("begin");
    lock.execute_unprepared("LOCK TABLE community IN ACCESS EXCLUSIVE MODE")
        .await
        .expect("lock");
    let blocked: Vec<_> = (0..2)
        .map(|_| {
            let app = app.clone_handle();
            tokio::spawn(async move { app.error(LIST, json!({})).await })
        })
        .collect();
    for request in blocked {
        let (code, _) = request.await.expect("request");
        assert_eq!(code, "TIMEOUT");
    }
    let admin = admin().await;
    let waiting = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = '{database}' \
         AND wait_event_type = 'Lock'"
    );
    let mut left = scalar(&admin, &waiting).await;
    for _ in 0..60 {
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        left = scalar(&admin, &waiting).await;
    }
    assert_eq!(
        left, 0,
        "statements still wait on the lock 3 s after their deadline"
    );
    // The server's connections say whose they are.
    let named = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = '{database}' \
         AND application_name = '{}'",
        lup_api::db::APPLICATION_NAME
    );
    assert!(scalar(&admin, &named).await >= 1);
    // The lock is still held: a request that does not need the table is answered.
    let themes = app.data("{ themes(first: 5) { totalCount } }", json!({})).await;
    assert!(themes["themes"]["totalCount"].as_i64().is_some(), "{themes}");
    lock.rollback().await.expect("release");
    assert_eq!(app.data(LIST, json!({})).await["communities"]["totalCount"], 3);
    // What the server makes of PostgreSQL stopping a statement.
    let stopped = holder
        .execute_unprepared("SET statement_timeout = 10; SELECT pg_sleep(1)")
        .await
        .expect_err("stopped");
    assert!(lup_api::db::timed_out(&stopped), "{stopped}");
    let error = lup_api::error::ApiError::from(stopped);
    assert_eq!(error.code(), lup_api::error::Code::Timeout);
    admin.close().await.ok();
    app.stop().await;
}

async fn create_community(app: &TestApp, slug: &str) {
    let created = app
        .data(
            CREATE,
            json!({ "i": { "slug": slug, "name": "Efter genstart", "description": "Ny." } }),
        )
        .await;
    assert_eq!(created["createCommunity"]["userErrors"], json!([]), "{created:#}");
    assert_eq!(created["createCommunity"]["community"]["slug"], slug);
}

fn external_idp(c: &mut Config) {
    c.auth.external_jwt_public_key = Some(include_str!("../../keys/idp-test-public.pem").to_owned());
    c.auth.external_jwt_issuer = Some("https://login.jammerbugt.dk".into());
    c.auth.external_jwt_role_map = "landdistrikt-koordinator=STAFF".into();
}

/// A staff token from the external identity provider: checking it reads nothing from the
/// database, so a request's first statement is its own.
fn external_staff(app: &TestApp) -> TestApp {
    let key = EncodingKey::from_rsa_pem(include_bytes!("../../keys/idp-test-private.pem")).expect("key");
    let now = chrono::Utc::now().timestamp();
    let claims = json!({ "sub": "k1234", "lup_role": "landdistrikt-koordinator", "aud": "lup-api",
        "iss": "https://login.jammerbugt.dk", "iat": now, "exp": now + 600 });
    app.with_token(&encode(&Header::new(Algorithm::RS256), &claims, &key).expect("sign"))
}

/// POSTs `query` to a server whose database is out of reach: the answer is an error saying
/// so, not a failure of ours, and HTTP 503 with `Retry-After` (see `outage_http.rs`).
async fn assert_unavailable(app: &TestApp, query: &str, variables: Value) {
    let mut request = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({ "query": query, "variables": variables }));
    if let Some((header, value)) = &app.credentials {
        request = request.header(header.as_str(), value.as_str());
    }
    let response = request.send().await.expect("request sent");
    let status = response.status();
    let retry_after = response.headers().get("retry-after").cloned();
    let body: Value = response.json().await.expect("JSON response");
    assert_eq!(status, 503, "{body:#}");
    assert!(retry_after.is_some(), "Retry-After: {body:#}");
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["code"], "UNAVAILABLE", "{query}: {body:#}");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.contains("try again"), "{body:#}");
    assert!(
        !message.contains("accepting connections"),
        "the cause leaks to the client: {body:#}"
    );
}

/// A read whose connection was killed while idle runs again on a fresh one: the same query,
/// another shape and a signed-in mutation after it are all answered in full. (The list's root
/// read is a paged read, which goes through `db::read_all`.)
#[tokio::test]
#[cfg_attr(not(postgres_tests), ignore = "skipped: TEST_DATABASE_URL is not set")]
async fn a_read_on_a_killed_connection_is_retried() {
    let app = spawn(|_| {}).await;
    let staff = app.signed_in(As::Staff, &[], None).await;
    let (page, list) = burst_then_kill(&app).await;
    assert_eq!(app.data(LIST, json!({})).await, list);
    assert_eq!(app.data(PAGE, json!({ "slug": "by-0" })).await, page);
    create_community(&staff, "efter-genstart").await;
    app.stop().await;
}

/// A mutation's `BEGIN` on a killed connection wrote nothing, and runs again on a fresh one.
#[tokio::test]
#[cfg_attr(not(postgres_tests), ignore = "skipped: TEST_DATABASE_URL is not set")]
async fn a_write_begun_on_a_killed_connection_is_retried() {
    let app = spawn(external_idp).await;
    let staff = external_staff(&app);
    burst_then_kill(&app).await;
    create_community(&staff, "efter-genstart").await;
    assert_eq!(
        app.data("{ community(slug: \"efter-genstart\") { slug } }", json!({}))
            .await["community"]["slug"],
        "efter-genstart"
    );
    app.stop().await;
}

/// A kill costs no request: the first request's first statement (here the page's
/// `community(slug:)`, read outside the retried paths) may meet a dead connection, and then
/// the http layer runs the query once more after the pool dropped its dead connections;
/// after that, the pool pings the connections that were idle at the failure before handing
/// them out.
#[tokio::test]
#[cfg_attr(not(postgres_tests), ignore = "skipped: TEST_DATABASE_URL is not set")]
async fn a_kill_costs_no_request() {
    let app = spawn(|_| {}).await;
    let staff = app.signed_in(As::Staff, &[], None).await;
    let (page, list) = burst_then_kill(&app).await;
    assert_eq!(app.data(PAGE, json!({ "slug": "by-0" })).await, page);
    // A signed-in request reads its account first, outside the retried paths too.
    assert_eq!(staff.data(PAGE, json!({ "slug": "by-0" })).await, page);
    assert_eq!(app.data(PAGE, json!({ "slug": "by-0" })).await, page);
    assert_eq!(app.data(LIST, json!({})).await, list);
    create_community(&staff, "efter-genstart").await;
    app.stop().await;
}

/// The database refuses connections and has lost the old ones: every read says UNAVAILABLE
/// (a root read, a loader's batch, signed in or not), `/readyz` says 503, and the server
/// answers again as soon as the database is back.
#[tokio::test]
#[cfg_attr(not(postgres_tests), ignore = "skipped: TEST_DATABASE_URL is not set")]
async fn an_unreachable_database_is_unavailable() {
    let app = spawn(external_idp).await;
    let (page, _) = burst(&app).await;
    let community =
        app.data("{ community(slug: \"by-0\") { id } }", json!({})).await["community"]["id"].clone();
    let admin = admin().await;
    let database = database_name(&app).await;
    admin
        .execute_unprepared(&format!("ALTER DATABASE {database} ALLOW_CONNECTIONS false"))
        .await
        .expect("refuse connections");
    kill_connections(&admin, &database).await;

    assert_unavailable(&app, PAGE, json!({ "slug": "by-0" })).await;
    assert_unavailable(&app, LIST, json!({})).await;
    // `node` reads through a DataLoader.
    assert_unavailable(
        &app,
        "query($id: ID!) { node(id: $id) { id } }",
        json!({ "id": community }),
    )
    .await;
    let staff = external_staff(&app);
    assert_unavailable(&staff, LIST, json!({})).await;
    assert_unavailable(
        &staff,
        CREATE,
        json!({ "i": { "slug": "under-nedbrud", "name": "Under nedbrud", "description": "Ny." } }),
    )
    .await;
    let ready = app.client.get(app.url("/readyz")).send().await.expect("readyz");
    assert_eq!(ready.status(), 503);

    admin
        .execute_unprepared(&format!("ALTER DATABASE {database} ALLOW_CONNECTIONS true"))
        .await
        .expect("accept connections");
    admin.close().await.ok();
    assert_eq!(app.data(PAGE, json!({ "slug": "by-0" })).await, page);
    app.stop().await;
}

/// `host:port` of a `postgres://user@host:port/db?…` URL.
fn host_port(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:5432")
    }
}

/// The database server stops (its connections close, new ones are refused) and comes back:
/// meanwhile every read says UNAVAILABLE within the pool's acquire timeout, not INTERNAL and
/// not a TIMEOUT of the whole request; afterwards the server answers again by itself.
#[tokio::test]
#[cfg_attr(not(postgres_tests), ignore = "skipped: TEST_DATABASE_URL is not set")]
async fn a_stopped_database_server_is_unavailable_until_it_is_back() {
    let upstream = host_port(&std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL"));
    let relay = Relay::start(SocketAddr::from(([127, 0, 0, 1], 0)), upstream.clone()).await;
    let via_relay = relay.addr.to_string();
    let app = spawn(|c| {
        c.database_url = c.database_url.replacen(&upstream, &via_relay, 1);
        c.db_acquire_timeout_ms = 1000;
    })
    .await;
    let (page, list) = burst(&app).await;

    let addr = relay.stop().await;
    let started = std::time::Instant::now();
    assert_unavailable(&app, PAGE, json!({ "slug": "by-0" })).await;
    assert_unavailable(&app, LIST, json!({})).await;
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "took {:?}: an outage must be told within the acquire timeout",
        started.elapsed()
    );
    let ready = app.client.get(app.url("/readyz")).send().await.expect("readyz");
    assert_eq!(ready.status(), 503);

    let relay = Relay::start(addr, upstream).await;
    assert_eq!(app.data(LIST, json!({})).await, list);
    assert_eq!(app.data(PAGE, json!({ "slug": "by-0" })).await, page);
    app.stop().await;
    relay.stop().await;
}

/// Building the search index is no request: it is not cut off by the statement timeout, and
/// the statistics run after it (`ANALYZE`) waits for a lock another session holds (a manual
/// `VACUUM`) instead of failing a start-up or `lup reindex` whose index is built.
#[tokio::test]
#[cfg_attr(not(postgres_tests), ignore = "skipped: TEST_DATABASE_URL is not set")]
async fn building_the_search_index_outlasts_the_statement_timeout() {
    let app = spawn(|_| {}).await;
    // Enough documents for the statistics run after the build.
    app.db
        .execute_unprepared(
            "INSERT INTO action (id, plan_id, title, description, horizon, status, progress, potential, \
             seeking_partners, created_at, updated_at, version, internal_notes) \
             SELECT gen_random_uuid(), (SELECT id FROM plan ORDER BY id LIMIT 1), 'Ekstra indsats ' || g, \
             'Tilføjet af testen', 'HERE_AND_NOW', 'PLANNED', 10, 3, false, now(), now(), 1, '' \
             FROM generate_series(1, 1200) g",
        )
        .await
        .expect("actions");
    let holder = Database::connect(&app.database_url).await.expect("holder");
    let lock = sea_orm::TransactionTrait::begin(&holder).await.expect("begin");
    lock.execute_unprepared("LOCK TABLE search_term IN SHARE UPDATE EXCLUSIVE MODE")
        .await
        .expect("lock");
    let mut config = Config::for_database(app.database_url.clone());
    config.request_timeout_ms = 100;
    let (db, _) = lup_api::db::connect(&config).await.expect("connect");
    let build = tokio::spawn(async move { lup_api::search::index::rebuild(&db).await });
    // Past the statement timeout (1.1 s), the statistics run still waits.
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    assert!(!build.is_finished(), "the build ended while the lock was held");
    lock.rollback().await.expect("release");
    let built = build.await.expect("task").expect("the index is built");
    assert!(built >= 1_200, "{built} documents");
    let found = app
        .data(
            "{ search(query: \"testen\", first: 1) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(found["search"]["totalCount"], 1_200);
    app.stop().await;
}

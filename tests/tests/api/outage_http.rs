//! Outages answered alike: with the database out of reach, every caller (anonymous, signed in
//! with a token it got before, a partner's key) gets HTTP 503 with `Retry-After` and
//! `extensions.code: UNAVAILABLE`, by GET and POST, on `/graphql` and on `/reports`; and a
//! killed connection costs no request, signed in or not.
//!
//! PostgreSQL only: an embedded SQLite file has no server to be out of reach.
use lup_tests::{
    As, TestApp,
    fixture::{Fixture, OrganizationKind},
};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::{Value, json};

use crate::outage::{LIST, PAGE, admin, burst_then_kill, database_name, kill_connections, spawn};

/// Refuses new connections to the server's database and ends its open ones.
async fn make_unreachable(app: &TestApp) -> (DatabaseConnection, String) {
    let admin = admin().await;
    let database = database_name(app).await;
    admin
        .execute_unprepared(&format!("ALTER DATABASE {database} ALLOW_CONNECTIONS false"))
        .await
        .expect("refuse connections");
    kill_connections(&admin, &database).await;
    (admin, database)
}

async fn make_reachable(admin: DatabaseConnection, database: &str) {
    admin
        .execute_unprepared(&format!("ALTER DATABASE {database} ALLOW_CONNECTIONS true"))
        .await
        .expect("accept connections");
    admin.close().await.ok();
}

/// Sends `request` (with `app`'s credentials) and checks the answer is the outage's.
async fn assert_unavailable(app: &TestApp, what: &str, mut request: reqwest::RequestBuilder) {
    if let Some((header, value)) = &app.credentials {
        request = request.header(header.as_str(), value.as_str());
    }
    let response = request.send().await.expect("request sent");
    assert_eq!(response.status().as_u16(), 503, "{what}");
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{what}: Retry-After in seconds"));
    assert!(retry_after >= 1, "{what}: {retry_after}");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(content_type.contains("json"), "{what}: {content_type}");
    let body: Value = response.json().await.expect("JSON body");
    let errors = body["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{what}: {body:#}");
    assert_eq!(errors[0]["extensions"]["code"], "UNAVAILABLE", "{what}: {body:#}");
    assert!(
        errors[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("try again")),
        "{what}: {body:#}"
    );
    assert!(body.get("data").is_none(), "{what}: {body:#}");
}

#[tokio::test]
#[cfg_attr(not(postgres_tests), ignore = "skipped: TEST_DATABASE_URL is not set")]
async fn every_caller_is_told_the_database_is_unavailable() {
    let app = spawn(|c| c.db_acquire_timeout_ms = 1000).await;
    let fx = Fixture::new(&app.db);
    let org = fx
        .organization("fonden", "Fonden", OrganizationKind::Foundation, None)
        .await;
    // Credentials got before the outage.
    let staff = app.signed_in(As::Staff, &[], None).await;
    let partner = app.signed_in(As::Partner, &[], Some(org)).await;
    let page = app.data(PAGE, json!({ "slug": "by-0" })).await;
    let (admin, database) = make_unreachable(&app).await;

    let post = |caller: &TestApp, query: &str, variables: Value| {
        caller
            .client
            .post(caller.url("/graphql"))
            .header("accept", "application/graphql-response+json")
            .json(&json!({ "query": query, "variables": variables }))
    };
    let get = |caller: &TestApp, query: &str| {
        caller
            .client
            .get(caller.url("/graphql"))
            .query(&[("query", query)])
    };
    let report = |caller: &TestApp, path: &str| caller.client.get(caller.url(path));
    let create = "mutation($i: CreateCommunityInput!) { createCommunity(input: $i) { userErrors { code } } }";
    let new = json!({ "i": { "slug": "under-nedbrud", "name": "Under nedbrud", "description": "Ny." } });
    for (caller, who) in [(&app, "anonymous"), (&staff, "staff"), (&partner, "partner")] {
        assert_unavailable(
            caller,
            &format!("{who}: POST the page"),
            post(caller, PAGE, json!({ "slug": "by-0" })),
        )
        .await;
        assert_unavailable(caller, &format!("{who}: GET the list"), get(caller, LIST)).await;
        assert_unavailable(
            caller,
            &format!("{who}: the report"),
            report(caller, "/reports/annual/2025"),
        )
        .await;
    }
    assert_unavailable(&staff, "staff: a mutation", post(&staff, create, new)).await;
    assert_unavailable(
        &staff,
        "staff: the CSV report",
        report(&staff, "/reports/annual/2025.csv"),
    )
    .await;

    make_reachable(admin, &database).await;
    assert_eq!(app.data(PAGE, json!({ "slug": "by-0" })).await, page);
    assert_eq!(staff.data(PAGE, json!({ "slug": "by-0" })).await, page);
    app.stop().await;
}

/// A signed-in request reads its account before anything else: when that read meets a
/// connection killed while idle, the credentials are checked again on a fresh one.
#[tokio::test]
#[cfg_attr(not(postgres_tests), ignore = "skipped: TEST_DATABASE_URL is not set")]
async fn a_kill_costs_a_signed_in_caller_no_request() {
    let app = spawn(|_| {}).await;
    let staff = app.signed_in(As::Staff, &[], None).await;
    // Staff see the draft plans too.
    let list = staff.data(LIST, json!({})).await;
    let (page, _) = burst_then_kill(&app).await;
    assert_eq!(staff.data(PAGE, json!({ "slug": "by-0" })).await, page);
    assert_eq!(staff.data(LIST, json!({})).await, list);
    let report = staff
        .client
        .get(staff.url("/reports/annual/2025"))
        .header("authorization", staff.credentials.clone().expect("token").1)
        .send()
        .await
        .expect("report");
    assert_eq!(
        report.status().as_u16(),
        404,
        "no review of 2025: a 404, not an outage"
    );
    app.stop().await;
}

/// A report whose first read meets a connection killed while idle is built on a fresh one.
#[tokio::test]
#[cfg_attr(not(postgres_tests), ignore = "skipped: TEST_DATABASE_URL is not set")]
async fn a_kill_costs_a_report_no_request() {
    let app = spawn(|_| {}).await;
    burst_then_kill(&app).await;
    let report = app
        .client
        .get(app.url("/reports/annual/2025"))
        .send()
        .await
        .expect("report");
    assert_eq!(
        report.status().as_u16(),
        404,
        "no review of 2025: a 404, not an outage"
    );
    app.stop().await;
}

/// A query whose first read is not one the database layer retries itself (`annualReview`
/// reads through sea-orm directly) and meets a connection killed while idle: the http layer
/// runs it once more after the pool dropped its dead connections.
#[tokio::test]
#[cfg_attr(not(postgres_tests), ignore = "skipped: TEST_DATABASE_URL is not set")]
async fn a_kill_costs_a_query_outside_the_retried_reads_no_request() {
    let app = spawn(|_| {}).await;
    burst_then_kill(&app).await;
    let data = app.data("{ annualReview(year: 2025) { year } }", json!({})).await;
    assert_eq!(data, json!({ "annualReview": null }));
    app.stop().await;
}

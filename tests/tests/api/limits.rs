//! Limits that keep a flood from taking the service down: the per-client rate limit (429
//! with Retry-After and RATE_LIMITED, each client on its own budget), the per-request
//! timeout, who may introspect, and which browser origins may call (CORS).
use lup_api::config::{Config, Introspection};
use lup_tests::{
    As, TestApp, both,
    fixture::{Fixture, OrganizationKind},
};
use serde_json::{Value, json};

/// 50 points a minute, 5 of them (six seconds' worth) at once.
fn small_budgets(c: &mut Config) {
    c.rate_limit_anonymous_per_minute = 50;
    c.rate_limit_partner_per_minute = 50;
    c.rate_limit_burst_secs = 6;
}

/// A one-point query.
const CHEAP: &str = "{ communities(first: 1) { totalCount } }";

/// 1,011 pages it may fetch: 10 points, against a small budget's burst of 5.
const DEAR: &str = "{ communities(first: 10) { nodes { plans(first: 100) { nodes {
    actions(first: 40) { totalCount } } } } } }";

async fn post_raw(app: &TestApp, key: Option<&str>) -> (u16, Option<String>, Value) {
    let (status, headers, body) = post_headers(app, key).await;
    (status, headers.get("retry-after").cloned(), body)
}

/// The answer to [`CHEAP`]: its status, headers (lowercase names, as text) and body.
async fn post_headers(
    app: &TestApp,
    key: Option<&str>,
) -> (u16, std::collections::HashMap<String, String>, Value) {
    post_query(app, key, CHEAP).await
}

/// The answer to `query`: its status, headers (lowercase names, as text) and body.
async fn post_query(
    app: &TestApp,
    key: Option<&str>,
    query: &str,
) -> (u16, std::collections::HashMap<String, String>, Value) {
    let mut r = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({ "query": query }));
    if let Some(k) = key {
        r = r.header("x-api-key", k);
    }
    let response = r.send().await.expect("request");
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
        .collect();
    (status, headers, response.json().await.expect("json"))
}

both!(
    a_client_over_its_budget_gets_429_and_others_do_not,
    small_budgets,
    |app: TestApp| async move {
        let fx = Fixture::new(&app.db);
        let org = fx
            .organization("fonden", "Fonden", OrganizationKind::Foundation, None)
            .await;
        let greedy = app.create_api_key(org).await;
        let polite = app.create_api_key(org).await;
        for i in 0..5 {
            let (status, headers, body) = post_headers(&app, Some(&greedy)).await;
            assert_eq!(status, 200, "request {i}: {body}");
            assert_eq!(body["extensions"]["cost"]["remainingBudget"], 4 - i, "{body}");
            assert_eq!(body["extensions"]["cost"]["budgetPerMinute"], 50);
            // The same in headers, as GitHub's API gives them; the limit they count down
            // from is what may be spent at once (6 seconds' worth of 50 a minute).
            assert_eq!(headers.get("x-ratelimit-remaining"), Some(&(4 - i).to_string()));
            assert_eq!(headers.get("x-ratelimit-limit").map(String::as_str), Some("5"));
        }
        // The key's last use is recorded off the request's path: let those writes land first
        // (within a second, before the budget refills a point).
        let mut before = app.sql_statements();
        for _ in 0..8 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            let now = app.sql_statements();
            if now == before {
                break;
            }
            before = now;
        }
        let (status, headers, body) = post_headers(&app, Some(&greedy)).await;
        let retry = headers.get("retry-after").cloned();
        assert_eq!(status, 429, "{body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED");
        assert_eq!(
            headers.get("x-ratelimit-remaining").map(String::as_str),
            Some("0")
        );
        let secs: u64 = retry.expect("Retry-After").parse().expect("seconds");
        assert!((1..=60).contains(&secs), "{secs}");
        assert!(
            app.sql_statements() - before <= 1,
            "a refused request only looks up its key"
        );
        // Another key, and anonymous callers, have budgets of their own.
        assert_eq!(post_raw(&app, Some(&polite)).await.0, 200);
        assert_eq!(post_raw(&app, None).await.0, 200);
    }
);

both!(
    a_request_that_runs_too_long_is_stopped,
    |c: &mut Config| {
        // Nested lists wait 300 ms to gather their batch: longer than the 50 ms allowed.
        // (Through the loaders: a compiled read has no batch to wait for.)
        c.request_timeout_ms = 50;
        c.loader_delay_us = 300_000;
        c.compiled_reads = false;
    },
    |app: TestApp| async move {
        Fixture::new(&app.db).community("gjoel", "Gjøl").await;
        let body = app
            .post("{ communities { nodes { plans { totalCount } } } }", json!({}))
            .await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "TIMEOUT", "{body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| m.contains("50 ms"))
        );
        // Where status codes speak (graphql-response+json), it is the server's condition, not a
        // malformed request: 503, not 400.
        let response = app
            .client
            .post(app.url("/graphql"))
            .header("accept", "application/graphql-response+json")
            .json(&json!({ "query": "{ communities { nodes { plans { totalCount } } } }" }))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status().as_u16(), 503);
        // Quick requests are not affected.
        app.data("{ communities { totalCount } }", json!({})).await;
    }
);

both!(
    a_request_stopped_while_loading_gives_its_connections_back,
    |c: &mut Config| {
        // Two connections, and requests stopped while their nested lists are being loaded
        // (through the loaders). A stopped request's statements must not keep them.
        c.db_max_connections = 2;
        c.db_acquire_timeout_ms = 1000;
        c.request_timeout_ms = 15;
        c.compiled_reads = false;
    },
    |app: TestApp| async move {
        Fixture::new(&app.db).programme(8, 8).await;
        let quick = "{ communities(first: 1) { totalCount nodes { name } } }";
        let before = app.data(quick, json!({})).await;
        let nested = "{ communities(first: 10) { nodes { plans(first: 5) { nodes { actions(first: 20) { nodes { themes { name } departments { role } partnerships(first: 5) { nodes { members { role } } } } } } } } } }";
        // Sent together, so they also wait for the two connections: run one at a time, a quick
        // machine could answer each within the time limit.
        let mut requests = tokio::task::JoinSet::new();
        for _ in 0..12 {
            let app = app.clone_handle();
            requests.spawn(async move { app.post(nested, json!({})).await });
        }
        let mut stopped = 0;
        while let Some(body) = requests.join_next().await {
            if body.expect("a request")["errors"][0]["extensions"]["code"] == "TIMEOUT" {
                stopped += 1;
            }
        }
        assert!(stopped > 0, "the requests should have run out of time");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        // Quick requests still find a connection, and its answer is their own: nothing a
        // stopped statement left behind on it. On a loaded machine one may itself run out of
        // its 15 ms: it is sent again (a connection kept by a stopped request would make
        // every try run out of time).
        for _ in 0..6 {
            let mut tries = 0;
            let body = loop {
                let body = app.post(quick, json!({})).await;
                tries += 1;
                if tries == 10 || body["errors"][0]["extensions"]["code"] != "TIMEOUT" {
                    break body;
                }
            };
            assert!(body.get("errors").is_none(), "after {tries} tries: {body:#}");
            assert_eq!(body["data"], before);
        }
    }
);

both!(
    introspection_is_for_signed_in_callers_in_production_by_default,
    |c: &mut Config| c.introspection = Some(Introspection::SignedIn),
    |app: TestApp| async move {
        let q = "{ __schema { queryType { name } } }";
        // Anonymous callers are told to sign in, through fragments too; not handed a null
        // for a field that cannot be null.
        for query in [
            q,
            "{ ...f } fragment f on Query { ... on Query { __type(name: \"Plan\") { name } } }",
        ] {
            let body = app.post(query, json!({})).await;
            assert!(body["data"].is_null(), "anonymous: {body}");
            assert_eq!(
                body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
                "{body}"
            );
            assert!(body["errors"][0]["path"].is_array(), "{body}");
        }
        // __typename is not introspection.
        assert_eq!(app.data("{ __typename }", json!({})).await["__typename"], "Query");
        let staff = app.signed_in(As::Staff, &[], None).await;
        assert_eq!(
            staff.data(q, json!({})).await["__schema"]["queryType"]["name"],
            "Query"
        );
        // Ordinary queries are not affected.
        app.data("{ communities { totalCount } }", json!({})).await;
    }
);

both!(
    introspection_turned_off_is_forbidden_to_everyone,
    |c: &mut Config| c.introspection = Some(Introspection::Nobody),
    |app: TestApp| async move {
        let staff = app.signed_in(As::Staff, &[], None).await;
        let body = staff.post("{ __schema { queryType { name } } }", json!({})).await;
        assert!(body["data"].is_null(), "{body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN", "{body}");
    }
);

both!(
    browsers_of_allowed_origins_may_call,
    |c: &mut Config| c.cors_allowed_origins = "https://www.jammerbugt.dk".into(),
    |app: TestApp| async move {
        let preflight = |origin: &'static str| {
            app.client
                .request(reqwest::Method::OPTIONS, app.url("/graphql"))
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .header("access-control-request-headers", "content-type")
                .send()
        };
        let ok = preflight("https://www.jammerbugt.dk").await.expect("preflight");
        assert_eq!(
            ok.headers()
                .get("access-control-allow-origin")
                .and_then(|v| v.to_str().ok()),
            Some("https://www.jammerbugt.dk")
        );
        let other = preflight("https://evil.example").await.expect("preflight");
        assert!(other.headers().get("access-control-allow-origin").is_none());
        // A page's script may read the headers it needs: Retry-After, ETag, the budget.
        let answer = app
            .client
            .get(app.url("/graphql"))
            .query(&[("query", "{ communities { totalCount } }")])
            .header("origin", "https://www.jammerbugt.dk")
            .header("accept", "application/json")
            .send()
            .await
            .expect("GET");
        let exposed = answer
            .headers()
            .get("access-control-expose-headers")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        assert!(
            [
                "retry-after",
                "etag",
                "x-ratelimit-limit",
                "x-ratelimit-remaining"
            ]
            .iter()
            .all(|h| exposed.contains(h)),
            "{exposed:?}"
        );
        // The open data and the map data, public whoever asks: any page may read them.
        for path in [
            "/opendata/actions.csv",
            "/opendata/datapackage.json",
            "/geo/actions.geojson",
        ] {
            let answer = app
                .client
                .get(app.url(path))
                .header("origin", "https://data.example")
                .send()
                .await
                .expect("GET");
            assert_eq!(answer.status(), 200, "{path}");
            assert_eq!(
                answer
                    .headers()
                    .get("access-control-allow-origin")
                    .and_then(|v| v.to_str().ok()),
                Some("https://data.example"),
                "{path}"
            );
        }
    }
);

both!(
    abusive_requests_are_refused_without_sql,
    |app: TestApp| async move {
        let send = |content_type: &'static str, body: String| {
            app.client
                .post(app.url("/graphql"))
                .header("content-type", content_type)
                .body(body)
                .send()
        };
        let batch: Vec<Value> = (0..1000)
            .map(|i| json!({ "query": format!("{{ a{i}: communities {{ totalCount }} }}") }))
            .collect();
        let five_mb =
            json!({ "query": format!("{{ __typename }} #{}", "x".repeat(5 * 1024 * 1024)) }).to_string();
        let cases: Vec<(&str, u16, &'static str, String)> = vec![
            ("a 5 MB body", 413, "application/json", five_mb),
            (
                "a batch of 1,000 operations",
                400,
                "application/json",
                Value::Array(batch).to_string(),
            ),
            ("malformed JSON", 400, "application/json", "{\"query\": ".into()),
            (
                "a 200 KB query",
                400,
                "application/json",
                json!({ "query": format!("{{ __typename }} #{}", "x".repeat(200_000)) }).to_string(),
            ),
            (
                "a wrong content type",
                415,
                "text/plain",
                json!({ "query": "{ __typename }" }).to_string(),
            ),
        ];
        for (what, status, content_type, body) in cases {
            let before = app.sql_statements();
            let response = send(content_type, body).await.expect("request");
            assert_eq!(response.status().as_u16(), status, "{what}");
            assert_eq!(app.sql_statements(), before, "{what}: no SQL");
        }
        let before = app.sql_statements();
        let response = app
            .client
            .get(app.url("/graphql"))
            .query(&[(
                "query",
                "mutation { logout(input: { refreshToken: \"x\" }) { ended } }",
            )])
            .send()
            .await
            .expect("request");
        assert_eq!(response.status().as_u16(), 405, "a mutation over GET");
        assert_eq!(app.sql_statements(), before, "a mutation over GET: no SQL");
    }
);

/// Two instances (SQLite, one database) keeping their budgets in the Redis at `TEST_REDIS_URL`
/// under keys of their own (so tests running at once do not share budgets), configured by
/// `configure` too; returned once both have reached Redis (the connection opens in the
/// background; until then each instance decides alone).
async fn two_sharing_redis(configure: fn(&mut Config)) -> (TestApp, TestApp) {
    let redis = std::env::var("TEST_REDIS_URL").expect("TEST_REDIS_URL");
    let prefix = format!("lup-test-{}", uuid::Uuid::now_v7().simple());
    let shared = |c: &mut Config| {
        configure(c);
        c.redis_url = Some(redis.clone());
        c.redis_key_prefix = prefix.clone();
    };
    let a = TestApp::spawn_with(lup_tests::Backend::Sqlite, shared).await;
    let b = a.sibling(shared).await;
    let mut ready = false;
    for _ in 0..100 {
        if a.state().limits.is_shared() && b.state().limits.is_shared() {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(ready, "the instances never reached Redis at {redis}");
    (a, b)
}

/// Two instances with their budgets in Redis (`REDIS_URL`): a client's requests to either
/// are charged to one budget, so a load balancer does not multiply it.
#[tokio::test]
#[cfg_attr(not(redis_tests), ignore = "skipped: TEST_REDIS_URL is not set")]
async fn with_redis_a_clients_budget_is_spent_across_instances() {
    let (a, b) = two_sharing_redis(small_budgets).await;
    let org = Fixture::new(&a.db)
        .organization("fonden", "Fonden", OrganizationKind::Foundation, None)
        .await;
    let key = a.create_api_key(org).await;
    // 5 points at once: three through A, two through B, then both refuse.
    for (i, app) in [&a, &a, &a, &b, &b].into_iter().enumerate() {
        let (status, _, body) = post_raw(app, Some(&key)).await;
        assert_eq!(status, 200, "request {i}: {body}");
        assert_eq!(
            body["extensions"]["cost"]["remainingBudget"],
            4 - i,
            "request {i}: {body}"
        );
    }
    for app in [&a, &b] {
        let (status, retry, body) = post_raw(app, Some(&key)).await;
        assert_eq!(status, 429, "{body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED");
        let secs: u64 = retry.expect("Retry-After").parse().expect("seconds");
        assert!((1..=60).contains(&secs), "{secs}");
    }
    // Without Redis, the same five requests through B alone would all pass: B's own bucket
    // was never charged.

    // A query dearer than the burst leaves the client owing in Redis too: another key's
    // 10-point query through A makes its next request through B wait for the debt.
    let other = a.create_api_key(org).await;
    let (status, _, body) = post_query(&a, Some(&other), DEAR).await;
    assert_eq!(status, 200, "{body}");
    let (status, retry, body) = post_raw(&b, Some(&other)).await;
    assert_eq!(status, 429, "{body}");
    let secs: u64 = retry.expect("Retry-After").parse().expect("seconds");
    assert!((6..=9).contains(&secs), "Retry-After {secs}");
    b.stop().await;
    a.stop().await;
}

// A Redis out of reach refuses no one: each instance charges its own budget meanwhile.
both!(
    with_redis_out_of_reach_each_instance_keeps_its_own_budget,
    |c: &mut Config| {
        small_budgets(c);
        // Nothing listens on port 1.
        c.redis_url = Some("redis://127.0.0.1:1/0".into());
        // Answers are kept: all but the first of the five come from the response cache.
        c.public_cache_ttl_ms = 60_000;
    },
    |app: TestApp| async move {
        for i in 0..5 {
            let (status, headers, body) = post_headers(&app, None).await;
            assert_eq!(status, 200, "request {i}: {body}");
            // An anonymous query's answer may go to other clients too (the response cache):
            // what is left of this client's budget is in the headers, not in the body.
            assert_eq!(headers.get("x-ratelimit-remaining"), Some(&(4 - i).to_string()));
            assert_eq!(
                body["extensions"]["cost"]["remainingBudget"],
                Value::Null,
                "{body}"
            );
            assert_eq!(body["extensions"]["cost"]["budgetPerMinute"], 50, "{body}");
        }
        assert_eq!(post_raw(&app, None).await.0, 429);
    }
);

/// Redis lost after start-up (stopped: its connections closed, new ones refused): requests go
/// on at once on the instance's own budgets, signing in too (its guesses are counted in
/// Redis), instead of each waiting for the reconnection; and once Redis is back the budgets
/// are kept there again.
#[tokio::test]
#[cfg_attr(not(redis_tests), ignore = "skipped: TEST_REDIS_URL is not set")]
async fn with_redis_lost_after_start_requests_go_on_without_waiting() {
    use std::time::{Duration, Instant};
    let redis = std::env::var("TEST_REDIS_URL").expect("TEST_REDIS_URL");
    let rest = redis.split_once("://").map_or(redis.as_str(), |(_, r)| r);
    let (upstream, database) = rest.split_once('/').unwrap_or((rest, "0"));
    let upstream = upstream.rsplit_once('@').map_or(upstream, |(_, h)| h).to_owned();
    let relay = lup_tests::Relay::start(([127, 0, 0, 1], 0).into(), upstream.clone()).await;
    let prefix = format!("lup-test-{}", uuid::Uuid::now_v7().simple());
    let through_relay = format!("redis://{}/{database}", relay.addr);
    let a = TestApp::spawn_with(lup_tests::Backend::Sqlite, |c| {
        small_budgets(c);
        c.rate_limit_delay_ms = 0;
        c.redis_url = Some(through_relay.clone());
        c.redis_key_prefix = prefix.clone();
    })
    .await;
    // Another instance on the same Redis, not through the relay: it sees what `a` charges there.
    let b = a
        .sibling(|c| {
            small_budgets(c);
            c.rate_limit_delay_ms = 0;
            c.redis_url = Some(redis.clone());
            c.redis_key_prefix = prefix.clone();
        })
        .await;
    for _ in 0..100 {
        if a.state().limits.is_shared() && b.state().limits.is_shared() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(a.state().limits.is_shared() && b.state().limits.is_shared());
    assert_eq!(post_raw(&a, None).await.0, 200);

    let addr = relay.stop().await;
    for i in 0..4 {
        let started = Instant::now();
        let (status, _, body) = post_raw(&a, None).await;
        assert_eq!(status, 200, "request {i}: {body}");
        let took = started.elapsed();
        assert!(
            took < Duration::from_secs(2),
            "request {i} waited {took:?} for Redis"
        );
    }
    let started = Instant::now();
    let (code, _) = a
        .error(
            "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
            json!({ "i": { "email": "ingen@eksempel.dk", "password": "forkert-adgangskode" } }),
        )
        .await;
    assert_eq!(code, "UNAUTHENTICATED");
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "signing in waited {took:?} for Redis"
    );

    // Redis back: a query dearer than a burst, charged by `a`, leaves the client owing in
    // the budget `b` reads. (`b`'s own check every two seconds spends less than refills.)
    let relay = lup_tests::Relay::start(addr, upstream).await;
    let mut shared_again = false;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_secs(2)).await;
        post_query(&a, None, DEAR).await;
        if post_raw(&b, None).await.0 == 429 {
            shared_again = true;
            break;
        }
    }
    assert!(shared_again, "the budgets never went back to Redis");
    b.stop().await;
    a.stop().await;
    relay.stop().await;
}

/// The hourly budget of consultation responses is one window per client across instances
/// when it is kept in Redis.
#[tokio::test]
#[cfg_attr(not(redis_tests), ignore = "skipped: TEST_REDIS_URL is not set")]
async fn with_redis_consultation_responses_are_counted_across_instances() {
    let (a, b) = two_sharing_redis(|c| c.consultation_submissions_per_hour = 2).await;
    let f = Fixture::new(&a.db);
    let gjol = f.community("gjoel", "Gjøl").await;
    let plan = f
        .plan(
            gjol,
            "Gjøl 2030",
            entity::plan::PlanStatus::Consultation,
            2026,
            2030,
        )
        .await;
    let submit = "mutation($i: SubmitConsultationResponseInput!) {
      submitConsultationResponse(input: $i) { receipt userErrors { code } } }";
    let input = |n: usize| {
        json!({ "i": { "planId": lup_tests::fixture::global_id("Plan", plan),
                       "body": format!("Forslag nummer {n} til planen"), "consentToStore": false } })
    };
    // Three in one request do not fit in two: refused, and none of them counted.
    let three = "mutation($p: ID!) {
      s0: submitConsultationResponse(input: { planId: $p, body: \"Et\", consentToStore: false }) { receipt }
      s1: submitConsultationResponse(input: { planId: $p, body: \"To\", consentToStore: false }) { receipt }
      s2: submitConsultationResponse(input: { planId: $p, body: \"Tre\", consentToStore: false }) { receipt } }";
    let (status, body) = a
        .post_status(three, json!({ "p": lup_tests::fixture::global_id("Plan", plan) }))
        .await;
    assert_eq!(status, 429, "{body}");
    // One through each instance, then the third is refused by either.
    for (n, app) in [&a, &b].into_iter().enumerate() {
        let (status, body) = app.post_status(submit, input(n)).await;
        assert_eq!(status, 200, "{body}");
        assert!(
            body["data"]["submitConsultationResponse"]["receipt"].is_string(),
            "{body}"
        );
    }
    for (n, app) in [&a, &b].into_iter().enumerate() {
        let (status, body) = app.post_status(submit, input(10 + n)).await;
        assert_eq!(status, 429, "{body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED");
    }
    b.stop().await;
    a.stop().await;
}

/// Password guesses are counted across instances when the counts are kept in Redis: ten
/// wrong tries with one address, half through each instance, and the next is refused by
/// either (with each instance counting alone, each would allow ten).
#[tokio::test]
#[cfg_attr(not(redis_tests), ignore = "skipped: TEST_REDIS_URL is not set")]
async fn with_redis_password_guesses_are_counted_across_instances() {
    let (a, b) = two_sharing_redis(|_| {}).await;
    let login = "mutation($i: LoginInput!) { login(input: $i) { accessToken } }";
    let guess = json!({ "i": { "email": "koordinator@jammerbugt.dk", "password": "forkert-adgangskode" } });
    for i in 0..10 {
        let app = if i % 2 == 0 { &a } else { &b };
        let (_, body) = app.post_status(login, guess.clone()).await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "#{i}: {body}"
        );
    }
    for app in [&a, &b] {
        let (status, body) = app.post_status(login, guess.clone()).await;
        assert_eq!(status, 429, "{body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED", "{body}");
    }
    // Another address from the same client is not held back.
    let other = json!({ "i": { "email": "ingen@jammerbugt.dk", "password": "forkert-adgangskode" } });
    let (_, body) = b.post_status(login, other).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{body}"
    );
    b.stop().await;
    a.stop().await;
}

/// A partner's key that has just run [`DEAR`] against a small budget, and that answer.
async fn in_debt(app: &TestApp) -> (String, Value) {
    let org = Fixture::new(&app.db)
        .organization("fonden", "Fonden", OrganizationKind::Foundation, None)
        .await;
    let key = app.create_api_key(org).await;
    let (status, _, body) = post_query(app, Some(&key), DEAR).await;
    assert_eq!(status, 200, "{body}");
    (key, body)
}

// A query dearer than the whole burst runs when the budget is full, and the client then owes
// the rest: its next request waits until that is paid (it used to be charged the burst only,
// so such queries ran at several times the budget).
both!(
    a_query_dearer_than_the_burst_leaves_the_client_owing,
    small_budgets,
    |app: TestApp| async move {
        let (key, body) = in_debt(&app).await;
        assert_eq!(body["extensions"]["cost"]["requestedQueryCost"], 10, "{body}");
        assert_eq!(body["extensions"]["cost"]["remainingBudget"], 0, "{body}");
        // The cheapest query now waits for the debt: 10 points owed and its own, less the
        // burst of 5, at 1.2 s a point.
        let (status, retry, body) = post_raw(&app, Some(&key)).await;
        assert_eq!(status, 429, "{body}");
        let secs: u64 = retry.expect("Retry-After").parse().expect("seconds");
        assert!((6..=9).contains(&secs), "Retry-After {secs}");
    }
);

// The wait a 429 asks for counts from when it is sent: the time the refusal itself was held
// back (`RATE_LIMIT_DELAY_MS`) is taken off, so a client that obeys it is not kept out longer
// than its budget needs.
both!(
    retry_after_leaves_out_the_time_the_refusal_waited,
    |c: &mut Config| {
        small_budgets(c);
        c.rate_limit_delay_ms = 3000;
    },
    |app: TestApp| async move {
        let (key, _) = in_debt(&app).await;
        // 10 points owed and its own, less the burst of 5, at 1.2 s a point: 7.2 s from the
        // request, of which the refusal waits 3 s before it is sent.
        let sent = std::time::Instant::now();
        let (status, retry, body) = post_raw(&app, Some(&key)).await;
        assert_eq!(status, 429, "{body}");
        assert!(sent.elapsed() >= std::time::Duration::from_millis(2900));
        let secs: u64 = retry.expect("Retry-After").parse().expect("seconds");
        assert!((3..=6).contains(&secs), "Retry-After {secs}");
        assert_eq!(
            body["errors"][0]["extensions"]["retryAfterSeconds"], secs,
            "{body}"
        );
    }
);

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
        let text = app
            .client
            .get(app.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let line = text
            .lines()
            .find(|l| l.starts_with("lup_sql_statements_total "))
            .expect("metric");
        let n: u64 = line.split(' ').nth(1).unwrap().parse().unwrap();
        assert!(n >= 1, "{text}");
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
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 413);
        assert_eq!(app.sql_statements(), before, "nothing ran");
    }
);

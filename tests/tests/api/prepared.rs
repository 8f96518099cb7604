//! Prepared documents: a query's text is parsed once per server, and a document that passed
//! full validation once runs on the fast schema afterwards, with the same answers as the
//! strict one (a variable of the wrong type is still a request error).
use lup_api::config::Config;
use lup_tests::{TestApp, both, fixture::Fixture};
use serde_json::{Value, json};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// POSTs `body` asking for `application/graphql-response+json`: status and body.
async fn post(app: &TestApp, body: Value) -> (u16, Value) {
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("accept", GRAPHQL_RESPONSE)
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON"))
}

/// The prepared-document counters of `/metrics`: (hits, misses).
async fn prepared_counts(app: &TestApp) -> (u64, u64) {
    (
        app.metric("lup_prepared_documents_total{result=\"hit\"}").await,
        app.metric("lup_prepared_documents_total{result=\"miss\"}").await,
    )
}

/// The executions counted by `/metrics`: (on the fast schema, on the strict one).
async fn runs(app: &TestApp) -> (u64, u64) {
    (
        app.metric("lup_graphql_runs_total{schema=\"fast\"}").await,
        app.metric("lup_graphql_runs_total{schema=\"strict\"}").await,
    )
}

both!(
    a_repeated_query_is_parsed_once,
    |c: &mut Config| c.trusted_documents_dir = Some(concat!(env!("CARGO_MANIFEST_DIR"), "/queries").into()),
    |app: TestApp| async move {
        Fixture::new(&app.db).community("gjoel", "Gjøl").await;
        let (hits, misses) = prepared_counts(&app).await;
        let (fast, strict) = runs(&app).await;
        for _ in 0..3 {
            app.data("{ communities { totalCount } }", json!({})).await;
        }
        assert_eq!(prepared_counts(&app).await, (hits + 2, misses + 1));
        // Validated in full once, then run on the fast schema.
        assert_eq!(runs(&app).await, (fast + 2, strict + 1));
        // Trusted documents were prepared at start-up.
        let page = include_str!("../../queries/community-page.graphql");
        let id = format!("sha256:{}", lup_api::auth::secret::sha256_hex(page));
        for _ in 0..2 {
            let (status, body) = post(
                &app,
                json!({ "documentId": id, "variables": { "slug": "gjoel" } }),
            )
            .await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["data"]["community"]["name"], "Gjøl", "{body}");
        }
        assert_eq!(prepared_counts(&app).await, (hits + 2, misses + 1));
    }
);

both!(
    a_validated_query_still_refuses_a_variable_of_the_wrong_type,
    |app: TestApp| async move {
        Fixture::new(&app.db).community("gjoel", "Gjøl").await;
        let query = "query($n: Int) { communities(first: $n) { totalCount } }";
        // What the strict schema says of the bad value, on a text never sent before.
        let (status, strict) = post(
            &app,
            json!({ "query": format!("{query} "), "variables": { "n": "fem" } }),
        )
        .await;
        assert_eq!(status, 400, "{strict}");
        assert!(strict.get("data").is_none(), "{strict}");
        // Validated twice with good values, then the same bad value: the same refusal.
        for _ in 0..2 {
            let (status, body) = post(&app, json!({ "query": query, "variables": { "n": 5 } })).await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["data"]["communities"]["totalCount"], 1, "{body}");
        }
        let (status, body) = post(&app, json!({ "query": query, "variables": { "n": "fem" } })).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["errors"], strict["errors"]);
        // A page size out of range is measured on each request's variables.
        let (status, body) = post(&app, json!({ "query": query, "variables": { "n": 500 } })).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{body}"
        );
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("`first` of `communities`") && message.contains("500"),
            "{body}"
        );
    }
);

both!(
    an_invalid_document_is_refused_every_time,
    |app: TestApp| async move {
        for query in ["{ noSuchField }", "{ communities { totalCount } "] {
            let (first_status, first) = post(&app, json!({ "query": query })).await;
            assert_eq!(first_status, 400, "{first}");
            let (status, again) = post(&app, json!({ "query": query })).await;
            assert_eq!(status, 400, "{again}");
            assert_eq!(first, again);
            assert_eq!(
                again["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
                "{again}"
            );
        }
    }
);

both!(
    a_page_size_left_to_a_variables_default_is_bounded_by_it,
    |app: TestApp| async move {
        Fixture::new(&app.db).community("gjoel", "Gjøl").await;
        let over = "query($n: Int = 500) { communities(first: $n) { totalCount } }";
        let (status, body) = post(&app, json!({ "query": over })).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{body}"
        );
        // The same document with a value in range runs, and a default within the bounds
        // is what `extensions.cost` counts.
        let (status, body) = post(&app, json!({ "query": over, "variables": { "n": 5 } })).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["extensions"]["cost"]["nodes"], 5, "{body}");
        let within = "query($n: Int = 60) { communities(first: $n) { totalCount } }";
        let (status, body) = post(&app, json!({ "query": within })).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["extensions"]["cost"]["nodes"], 60, "{body}");
    }
);

both!(
    several_operations_without_a_name_are_refused_and_not_cached,
    |app: TestApp| async move {
        Fixture::new(&app.db).community("gjoel", "Gjøl").await;
        let query = "query A { communities { totalCount } } query B { communities { totalCount } }";
        for _ in 0..2 {
            let response = app
                .client
                .get(app.url("/graphql"))
                .query(&[("query", query)])
                .header("accept", GRAPHQL_RESPONSE)
                .send()
                .await
                .expect("request");
            assert_eq!(response.status().as_u16(), 400);
            assert!(response.headers().get("etag").is_none());
            let body: Value = response.json().await.expect("JSON");
            assert!(body.get("data").is_none(), "{body}");
            assert_eq!(
                body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
                "{body}"
            );
        }
        // Named, either runs.
        let (status, body) = post(&app, json!({ "query": query, "operationName": "B" })).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["communities"]["totalCount"], 1, "{body}");
    }
);

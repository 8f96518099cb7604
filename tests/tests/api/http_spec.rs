//! GraphQL over HTTP (the specification `.ci/graphql-http-audit.sh` audits): content types,
//! media-type negotiation, status codes, GET.
use lup_tests::{TestApp, both};
use serde_json::{Value, json};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
/// The `Accept` the specification asks clients to send.
const CLIENT_ACCEPT: &str = "application/graphql-response+json, application/json;q=0.9";

/// POSTs `body` with `content_type` and `accept` (when given); returns status, content type
/// and the body as JSON (null when it is not).
async fn post_raw(
    app: &TestApp,
    content_type: Option<&str>,
    accept: Option<&str>,
    body: String,
) -> (u16, String, Value) {
    let mut request = app.client.post(app.url("/graphql")).body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let response = request.send().await.expect("a response");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = response.text().await.unwrap();
    (
        status,
        content_type,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

fn query(q: &str) -> String {
    json!({ "query": q }).to_string()
}

fn assert_bad_request(body: &Value) {
    assert!(body["errors"][0]["message"].is_string(), "{body:#}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_REQUEST", "{body:#}");
    assert!(body.get("data").is_none(), "{body:#}");
}

both!(wrong_content_type_is_415, |app: TestApp| async move {
    for content_type in [Some("text/plain"), Some("application/graphql"), None] {
        let (status, _, body) = post_raw(&app, content_type, None, query("{ __typename }")).await;
        assert_eq!(status, 415, "{content_type:?}");
        assert_bad_request(&body);
    }
    // A compressed body is not read, and the answer says why (not "not valid JSON").
    let compressed = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(vec![0x1f_u8, 0x8b, 0x08, 0x00])
        .send()
        .await
        .expect("a response");
    assert_eq!(compressed.status().as_u16(), 415);
    let body: Value = compressed.json().await.expect("json");
    assert_bad_request(&body);
    assert!(body.to_string().contains("compressed"), "{body}");
    // A charset is fine when it is UTF-8.
    let (status, _, _) = post_raw(
        &app,
        Some("application/json; charset=utf-8"),
        None,
        query("{ __typename }"),
    )
    .await;
    assert_eq!(status, 200);
});

both!(malformed_json_is_400, |app: TestApp| async move {
    for accept in [None, Some("application/json"), Some(GRAPHQL_RESPONSE)] {
        for body in ["{ \"not a JSON", "", "\u{0}\u{1}"] {
            let (status, _, json) = post_raw(&app, Some("application/json"), accept, body.into()).await;
            assert_eq!(status, 400, "{accept:?} {body:?}");
            assert_bad_request(&json);
        }
    }
});

both!(missing_query_and_wrong_types_are_400, |app: TestApp| async move {
    for body in [
        json!({ "notquery": "{ __typename }" }),
        json!({}),
        json!({ "query": 42 }),
        json!({ "query": "{ __typename }", "operationName": 1 }),
        json!({ "query": "{ __typename }", "variables": "x" }),
        json!({ "query": "{ __typename }", "extensions": [1] }),
        json!("{ __typename }"),
    ] {
        let (status, _, json) = post_raw(&app, Some("application/json"), None, body.to_string()).await;
        assert_eq!(status, 400, "{body}");
        assert_bad_request(&json);
    }
    // Batches are refused, and say so.
    let batch = json!([{ "query": "{ __typename }" }]).to_string();
    let (status, _, json) = post_raw(&app, Some("application/json"), None, batch).await;
    assert_eq!(status, 400);
    assert!(
        json["errors"][0]["message"].as_str().unwrap().contains("batch"),
        "{json:#}"
    );
    // Nulls are the same as leaving a parameter out.
    let body =
        json!({ "query": "{ __typename }", "operationName": null, "variables": null, "extensions": null });
    let (status, _, json) = post_raw(&app, Some("application/json"), None, body.to_string()).await;
    assert_eq!(status, 200, "{json:#}");
    assert_eq!(json["data"]["__typename"], "Query");
});

both!(
    json_accept_answers_200_for_request_errors,
    |app: TestApp| async move {
        for q in ["{ noSuchField }", "{"] {
            let (status, content_type, body) =
                post_raw(&app, Some("application/json"), Some("application/json"), query(q)).await;
            assert_eq!(status, 200, "{q}");
            assert!(content_type.starts_with("application/json"), "{content_type}");
            assert!(body["errors"][0]["message"].is_string(), "{body:#}");
            assert!(
                body.get("data").is_none(),
                "a request error has no data: {body:#}"
            );
        }
        // No Accept, or */*, is application/json too (the specification, until its watershed).
        for accept in [None, Some("*/*")] {
            let (status, content_type, _) =
                post_raw(&app, Some("application/json"), accept, query("{ noSuchField }")).await;
            assert_eq!(status, 200, "{accept:?}");
            assert!(content_type.starts_with("application/json"), "{content_type}");
        }
    }
);

both!(graphql_response_json_by_default, |app: TestApp| async move {
    for accept in [
        CLIENT_ACCEPT,
        GRAPHQL_RESPONSE,
        "application/json, application/graphql-response+json",
    ] {
        // A validation failure, a parse failure and a variable coercion failure: 400, no data.
        for body in [
            query("{ noSuchField }"),
            query("{"),
            json!({ "query": "query($id: ID!) { __typename }", "variables": { "id": null } }).to_string(),
        ] {
            let (status, content_type, json) =
                post_raw(&app, Some("application/json"), Some(accept), body.clone()).await;
            assert_eq!(status, 400, "{accept} {body}");
            assert_eq!(content_type, GRAPHQL_RESPONSE);
            assert!(json["errors"][0]["message"].is_string(), "{json:#}");
            assert!(json.get("data").is_none(), "{json:#}");
        }
        let (status, content_type, json) = post_raw(
            &app,
            Some("application/json"),
            Some(accept),
            query("{ themes { totalCount } }"),
        )
        .await;
        assert_eq!(status, 200, "{json:#}");
        assert_eq!(content_type, GRAPHQL_RESPONSE);
        assert_eq!(json["data"]["themes"]["totalCount"], 0);
    }
    // A field error (here a malformed ID) keeps the data, and the 200.
    let body = json!({ "query": "query($id: ID!) { node(id: $id) { id } }", "variables": { "id": "nope" } });
    let (status, _, json) = post_raw(
        &app,
        Some("application/json"),
        Some(CLIENT_ACCEPT),
        body.to_string(),
    )
    .await;
    assert!(json["errors"][0]["message"].is_string(), "{json:#}");
    assert!(json.get("data").is_some(), "{json:#}");
    assert_eq!(status, 200, "{json:#}");
});

both!(unacceptable_accept_is_406, |app: TestApp| async move {
    for accept in ["text/xml", "application/json;q=0, text/html"] {
        let (status, _, _) = post_raw(
            &app,
            Some("application/json"),
            Some(accept),
            query("{ __typename }"),
        )
        .await;
        assert_eq!(status, 406, "{accept}");
    }
    let response = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "{ __typename }")])
        .header("accept", "text/xml")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 406);
    // `application/*` covers graphql-response+json too, when application/json is refused.
    let (status, content_type, _) = post_raw(
        &app,
        Some("application/json"),
        Some("application/*;q=0.5, application/json;q=0"),
        query("{ __typename }"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(content_type, GRAPHQL_RESPONSE);
});

both!(mutation_over_get_is_405, |app: TestApp| async move {
    let response = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "mutation { __typename }")])
        .header("accept", GRAPHQL_RESPONSE)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");
});

// Other methods get a GraphQL error body in the type asked for, and the methods that work;
// so do refused credentials.
both!(
    other_methods_and_refused_credentials_answer_as_asked,
    |app: TestApp| async move {
        for method in [
            reqwest::Method::PUT,
            reqwest::Method::DELETE,
            reqwest::Method::PATCH,
        ] {
            let response = app
                .client
                .request(method.clone(), app.url("/graphql"))
                .header("accept", GRAPHQL_RESPONSE)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 405, "{method}");
            assert_eq!(response.headers()["allow"], "GET, HEAD, POST, OPTIONS");
            assert_eq!(response.headers()["content-type"], GRAPHQL_RESPONSE);
            assert_bad_request(&response.json().await.unwrap());
        }
        let refused = app
            .client
            .post(app.url("/graphql"))
            .header("accept", GRAPHQL_RESPONSE)
            .header("authorization", "Bearer skrald")
            .json(&json!({ "query": "{ __typename }" }))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 401);
        assert_eq!(refused.headers()["content-type"], GRAPHQL_RESPONSE);
    }
);

both!(query_over_get, |app: TestApp| async move {
    let response = app
        .client
        .get(app.url("/graphql"))
        .query(&[
            (
                "query",
                "query Type($name: String!) { __type(name: $name) { name } }",
            ),
            ("variables", r#"{"name":"Query"}"#),
            ("operationName", "Type"),
        ])
        .header("accept", GRAPHQL_RESPONSE)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], GRAPHQL_RESPONSE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["__type"]["name"], "Query", "{body:#}");
    // Without a query, or with variables that are not JSON: 400.
    for params in [
        vec![("variables", "{}")],
        vec![("query", "{ __typename }"), ("variables", "{not")],
    ] {
        let response = app
            .client
            .get(app.url("/graphql"))
            .query(&params)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{params:?}");
    }
});

/// POSTs `q` as JSON and returns the body as it came, its keys in the order they were sent.
async fn post_text(app: &TestApp, q: &str) -> String {
    app.client
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body(query(q))
        .send()
        .await
        .expect("a response")
        .text()
        .await
        .expect("a body")
}

/// Where each of `keys` first stands in `text`, as `"key":`.
fn positions(text: &str, keys: &[&str]) -> Vec<usize> {
    keys.iter()
        .map(|k| {
            text.find(&format!("\"{k}\":"))
                .unwrap_or_else(|| panic!("no {k} in {text}"))
        })
        .collect()
}

both!(
    fields_are_answered_in_the_order_the_query_asks_for_them,
    |app: TestApp| async move {
        app.demo_communities().await;
        // Fields that finish at different times (a count from the database, a constant),
        // aliases of one field, and the fields of a nested object: each in the query's order,
        // every time.
        let cases: [(&str, &[&str]); 3] = [
            (
                "{ x: communities(first: 1) { totalCount } y: plans(first: 1) { totalCount } z: about { demoContent } }",
                &["x", "y", "z"],
            ),
            (
                "{ a1: about { demoContent } a2: about { demoContent } a3: about { demoContent } \
                 a4: about { demoContent } a5: about { demoContent } a6: about { demoContent } }",
                &["a1", "a2", "a3", "a4", "a5", "a6"],
            ),
            (
                r#"{ community(slug: "gjoel") { plans(first: 1) { totalCount } name
                   organizations(first: 1) { totalCount } slug currentPlan { title } id } }"#,
                &["plans", "name", "organizations", "slug", "currentPlan", "id"],
            ),
        ];
        for (q, keys) in cases {
            for _ in 0..5 {
                let text = post_text(&app, q).await;
                assert!(!text.contains("\"errors\""), "{text}");
                let at = positions(&text, keys);
                assert!(
                    at.windows(2).all(|w| w[0] < w[1]),
                    "{keys:?} out of order in {text}"
                );
            }
        }
    }
);

both!(
    a_field_error_is_the_fields_null_and_goes_up_to_the_nearest_field_that_may_be_null,
    |app: TestApp| async move {
        app.demo_communities().await;
        let post = |q: &'static str| {
            let app = app.clone_handle();
            async move {
                let text = post_text(&app, q).await;
                (serde_json::from_str::<Value>(&text).expect("JSON"), text)
            }
        };
        // A field that may be null: its key stays, null, beside the others.
        let (body, text) = post(r#"{ node(id: "bad") { id } x: about { demoContent } }"#).await;
        assert!(text.contains(r#""node":null"#), "{text}");
        assert_eq!(body["data"]["x"]["demoContent"], true, "{text}");
        assert_eq!(body["errors"].as_array().map(Vec::len), Some(1), "{text}");
        assert_eq!(body["errors"][0]["path"], json!(["node"]), "{text}");
        // A non-null field under one that may be null: the parent is null, the error's path
        // names the field that failed.
        let (body, text) = post(
            r#"{ community(slug: "gjoel") { name engagement(window: { to: "1800-06-01" }) { total } }
                 x: about { demoContent } }"#,
        )
        .await;
        assert!(text.contains(r#""community":null"#), "{text}");
        assert_eq!(body["data"]["x"]["demoContent"], true, "{text}");
        assert_eq!(body["errors"].as_array().map(Vec::len), Some(1), "{text}");
        assert_eq!(
            body["errors"][0]["path"],
            json!(["community", "engagement"]),
            "{text}"
        );
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{text}"
        );
        // Inside a list: the path goes down to the field that failed, through the index.
        let (body, text) = post(
            r#"{ communities(first: 2) { nodes { name engagement(window: { to: "1800-06-01" }) { total } } } }"#,
        )
        .await;
        assert!(body["data"].is_null(), "{text}");
        assert_eq!(
            body["errors"][0]["path"],
            json!(["communities", "nodes", 0, "engagement"]),
            "{text}"
        );
        // A non-null root field: `data` is null, not an object without it.
        let long = format!(
            "{{ plans(filter: {{ text: \"{}\" }}) {{ totalCount }} x: about {{ demoContent }} }}",
            "x".repeat(300)
        );
        let (body, text) = post(Box::leak(long.into_boxed_str())).await;
        assert!(body["data"].is_null() && body.get("data").is_some(), "{text}");
        assert_eq!(body["errors"].as_array().map(Vec::len), Some(1), "{text}");
        assert_eq!(body["errors"][0]["path"], json!(["plans"]), "{text}");
    }
);

both!(
    directives_on_typename_are_checked_like_any_fields,
    |app: TestApp| async move {
        for q in [
            "{ __typename @include(if: { a: 1 }) }",
            r#"{ __typename @skip(if: "yes") }"#,
            "{ __typename @skip(if: $nope) }",
            "{ __typename @include(if: 5) about { demoContent } }",
            "{ __typename @unknown }",
        ] {
            let body = app.post(q, json!({})).await;
            assert!(body["data"].is_null(), "{q}: {body}");
            assert_eq!(
                body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
                "{q}: {body}"
            );
        }
        // Used as they should be, they work where a field may stand.
        let data = app
            .data(
                "query($no: Boolean!) { a: __typename @skip(if: true) b: __typename @include(if: true)
                   c: __typename @skip(if: $no) about { __typename @include(if: false) demoContent }
                   ... on Query { d: __typename @include(if: true) } }",
                json!({ "no": false }),
            )
            .await;
        let demo = data["about"]["demoContent"].clone();
        assert!(demo.is_boolean(), "{data}");
        assert_eq!(
            data,
            json!({ "b": "Query", "c": "Query", "about": { "demoContent": demo }, "d": "Query" })
        );
        // An object whose fields are all skipped is an empty object (the spec's
        // ExecuteSelectionSet), not null: at the root, nested, and through a fragment.
        let body = app
            .post(
                "query($no: Boolean!) { about { __typename @include(if: $no) }
                   a: __typename @skip(if: true) ... on Query @include(if: false) { b: __typename } }",
                json!({ "no": false }),
            )
            .await;
        assert_eq!(body["data"], json!({ "about": {} }), "{body}");
        assert!(body.get("errors").is_none(), "{body}");
        let body = app.post("{ __typename @skip(if: true) }", json!({})).await;
        assert_eq!(body["data"], json!({}), "{body}");
        assert!(body.get("errors").is_none(), "{body}");
        // A condition variable the request leaves out takes its default (they were evaluated
        // as if absent: `@include` of a default true left the field out, `@skip` kept it),
        // in the operation and in its fragments; one the request gives overrides it.
        let q = "query($yes: Boolean = true, $no: Boolean = false) {
                   a: __typename @include(if: $yes) b: __typename @skip(if: $yes)
                   c: __typename @include(if: $no) d: __typename @skip(if: $no) ...F }
                 fragment F on Query { e: __typename @skip(if: $yes) f: __typename @include(if: $yes) }";
        assert_eq!(
            app.data(q, json!({})).await,
            json!({ "a": "Query", "d": "Query", "f": "Query" })
        );
        assert_eq!(
            app.data(q, json!({ "yes": false })).await,
            json!({ "b": "Query", "d": "Query", "e": "Query" })
        );
    }
);

// A variable of a non-null type that the request leaves out (with no default) or sets to
// null refuses the whole request before anything runs (the spec's CoerceVariableValues): the
// mutations before the field that reads it do not commit, and a query is not answered as if
// the argument were null.
both!(
    a_missing_required_variable_refuses_the_request,
    |app: TestApp| async move {
        let staff = app.signed_in(lup_tests::As::Staff, &[], None).await;
        let two = "mutation($a: CreateThemeInput!, $b: CreateThemeInput!) {
            a: createTheme(input: $a) { theme { id } } b: createTheme(input: $b) { theme { id } } }";
        let a = json!({ "name": "Mangler B", "slug": "mangler-b" });
        for variables in [json!({ "a": a }), json!({ "a": a, "b": null })] {
            let (status, body) = staff.post_status(two, variables.clone()).await;
            assert!(status < 500, "{status} {body}");
            assert!(body.get("data").is_none_or(Value::is_null), "{variables}: {body}");
            assert_eq!(
                body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
                "{body}"
            );
            let message = body["errors"][0]["message"].as_str().unwrap_or_default();
            assert!(
                message.contains("$b") && message.contains("CreateThemeInput!"),
                "{message}"
            );
        }
        let themes = staff
            .data("{ themes(first: 100) { nodes { slug } } }", json!({}))
            .await;
        assert!(
            !themes.to_string().contains("mangler-b"),
            "nothing was written: {themes}"
        );
        // A query, by the specification's media type: 400, no data.
        let (status, _, body) = post_raw(
            &app,
            Some("application/json"),
            Some(GRAPHQL_RESPONSE),
            json!({ "query": "query($s: String!) { community(slug: $s) { name } }" }).to_string(),
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert!(body.get("data").is_none(), "{body}");
        // A list variable with a null item its type does not allow.
        let (status, _, body) = post_raw(
            &app,
            Some("application/json"),
            Some(GRAPHQL_RESPONSE),
            json!({ "query": "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", "variables": { "ids": [null] } })
                .to_string(),
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("$ids"),
            "{body}"
        );
        // A default stands in for a variable left out; a nullable one may be left out.
        let data = app
            .data(
                "query($s: String! = \"gjoel\", $n: Int) { community(slug: $s) { name } communities(first: $n) { totalCount } }",
                json!({}),
            )
            .await;
        assert!(data["communities"]["totalCount"].is_number(), "{data}");
        // A nullable variable where a value is required (an input field or argument without
        // a default) is refused before anything runs, given or not: it used to pass, and
        // fail only when its field ran, after the mutations before it had committed.
        let two = "mutation($slug: String!, $name: String) {
            a: createTheme(input: { slug: $slug, name: \"Før fejlen\" }) { theme { id } }
            b: createTheme(input: { slug: \"efter\", name: $name }) { theme { id } } }";
        let (status, body) = staff.post_status(two, json!({ "slug": "foer-fejlen" })).await;
        assert!(status < 500, "{status} {body}");
        assert!(body.get("data").is_none_or(Value::is_null), "{body}");
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        // The variable's type, then the type where it is used (graphql-js's wording).
        assert_eq!(
            message, "Variable \"name\" of type \"String\" used in position expecting type \"String!\"",
            "{body}"
        );
        let themes = staff
            .data("{ themes(first: 100) { nodes { slug } } }", json!({}))
            .await;
        assert!(
            !themes.to_string().contains("foer-fejlen"),
            "nothing was written: {themes}"
        );
        // Where the input has a default, a nullable variable may stand (left out: the default).
        let data = staff
            .data(
                "mutation($d: String) { createCommunity(input: { slug: \"standard\", name: \"Standard\", description: $d }) {
                    community { description } userErrors { message } } }",
                json!({}),
            )
            .await;
        assert_eq!(data["createCommunity"]["community"]["description"], "", "{data}");
        let data = app
            .data(
                "query($yes: Boolean = true) { a: __typename @include(if: $yes) }",
                json!({}),
            )
            .await;
        assert_eq!(data["a"], "Query", "{data}");
        let body = app
            .post("query($v: Boolean) { a: __typename @include(if: $v) }", json!({}))
            .await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{body}"
        );
    }
);

// A time reads the same from either database: to the microsecond, what PostgreSQL stores
// (SQLite kept the nanoseconds of the clock and printed all nine digits).
both!(times_are_given_to_the_microsecond, |app: TestApp| async move {
    let staff = app.signed_in(lup_tests::As::Staff, &[], None).await;
    let body = staff
        .data(
            "mutation { createCommunity(input: { slug: \"tid\", name: \"Tid\" }) { community { createdAt updatedAt } userErrors { message } } }",
            json!({}),
        )
        .await;
    let theme = &body["createCommunity"]["community"];
    for field in ["createdAt", "updatedAt"] {
        let t = theme[field].as_str().unwrap_or_else(|| panic!("{body}"));
        let fraction = t
            .split_once('.')
            .map(|(_, rest)| rest.split(['+', 'Z']).next().unwrap_or_default().len())
            .unwrap_or(0);
        assert!(fraction <= 6, "{field}: {t}");
        assert!(t.ends_with("+00:00"), "{field}: {t}");
    }
});

// Two selections under one response key with different arguments cannot be merged: the error
// names the key (it named the argument: `Fields "first" conflict`).
both!(
    a_field_merge_conflict_names_the_response_key,
    |app: TestApp| async move {
        let body = app
            .post(
                "{ a: communities(first: 2) { totalCount } a: communities(first: 3) { totalCount } }",
                json!({}),
            )
            .await;
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with("Fields \"a\" conflict because they have differing arguments"),
            "{body}"
        );
        assert!(body["data"].is_null(), "{body}");
    }
);

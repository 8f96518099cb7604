//! Bad input never gives a 500 (nor a dropped connection): malformed IDs, wrong types,
//! out-of-range numbers, over-long text and lists, broken queries. Where the API checks the
//! input itself, the error says `BAD_USER_INPUT` and names what was wrong.
use lup_tests::{
    TestApp, both,
    fixture::{Fixture, PlanStatus, base64url, cursor, global_id},
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::assert_bad_input;

const NODE: &str = "query($id: ID!) { node(id: $id) { id } }";

/// Sends a raw body to `/graphql` and returns the status and the body as JSON (if it is).
async fn raw(app: &TestApp, content_type: &str, body: String) -> (reqwest::StatusCode, Option<Value>) {
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("a response, not a dropped connection");
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).ok())
}

/// Asserts the request fails with a GraphQL error (no 5xx: `post` checks that) mentioning `mention`.
async fn assert_error(app: &TestApp, query: &str, variables: Value, mention: &str) {
    let body = app.post(query, variables.clone()).await;
    let message = body["errors"][0]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("expected an error for {query} with {variables}: {body:#}"));
    assert!(
        message.contains(mention),
        "message {message:?} should mention {mention:?}"
    );
    assert_ne!(body["errors"][0]["extensions"]["code"], "INTERNAL", "{body:#}");
}

both!(malformed_ids, |app: TestApp| async move {
    let fx = Fixture::new(&app.db);
    let gjol = fx.community("gjoel", "Gjøl").await;
    let natur = fx.theme("natur", "Natur og friluftsliv").await;
    let uuid = Uuid::now_v7();
    let huge = "A".repeat(10 * 1024);
    for bad in [
        "not base64!".to_owned(),
        String::new(),
        base64url(&[0xff, 0xfe, 0xfd, 0x80]),
        base64url(b"garbage without a colon"),
        base64url(b"Plan:not-a-uuid"),
        base64url(b"Plan:"),
        base64url(b":"),
        base64url(format!("NoSuchType:{uuid}").as_bytes()),
        base64url(format!("Plan:{uuid}:extra").as_bytes()),
        format!("{}=", global_id("Plan", uuid)),
        huge.clone(),
        base64url(huge.as_bytes()),
    ] {
        assert_bad_input(&app, NODE, json!({ "id": bad }), "is not a valid ID").await;
        // In `nodes`, the bad ID alone is null, with its error; the others are answered.
        let body = app
            .post(
                "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
                json!({ "ids": [global_id("Community", gjol), bad.clone(), global_id("Community", gjol)] }),
            )
            .await;
        assert_eq!(
            body["data"]["nodes"][0]["id"],
            global_id("Community", gjol),
            "{body}"
        );
        assert!(body["data"]["nodes"][1].is_null(), "{body}");
        assert_eq!(
            body["data"]["nodes"][2]["id"],
            global_id("Community", gjol),
            "{body}"
        );
        let errors = body["errors"].as_array().expect("errors");
        assert_eq!(errors.len(), 1, "{body}");
        assert_eq!(errors[0]["path"], json!(["nodes", 1]), "{body}");
        assert_eq!(errors[0]["extensions"]["code"], "BAD_USER_INPUT", "{body}");
        assert!(
            errors[0]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("is not a valid ID"),
            "{body}"
        );
        assert_bad_input(
            &app,
            "query($id: ID) { community(id: $id) { name } }",
            json!({ "id": bad }),
            "",
        )
        .await;
    }
    // The message quotes a long ID only in part.
    let (_, message) = app.error(NODE, json!({ "id": huge })).await;
    assert!(message.len() < 200, "{} bytes", message.len());
    // Also a well-formed one of a type name we do not have.
    let long_type = base64url(format!("{}:{uuid}", "X".repeat(2000)).as_bytes());
    let (_, message) = app.error(NODE, json!({ "id": long_type })).await;
    assert!(
        message.contains("is not a valid ID") && message.len() < 200,
        "{message}"
    );

    // An ID of the wrong type in a filter of IDs.
    let theme_id = global_id("Theme", natur);
    for (list, filter) in [
        ("plans", "PlanFilter"),
        ("actions", "ActionFilter"),
        ("opportunities", "OpportunityFilter"),
        ("partnerships", "PartnershipFilter"),
        ("ideas", "IdeaFilter"),
        ("ideaExchanges", "IdeaExchangeFilter"),
        ("organizations", "OrganizationFilter"),
        ("engagementEvents", "EngagementEventFilter"),
    ] {
        let query = format!("query($f: {filter}) {{ {list}(filter: $f) {{ totalCount }} }}");
        assert_bad_input(
            &app,
            &query,
            json!({ "f": { "communityIds": [theme_id] } }),
            "Theme",
        )
        .await;
        assert_bad_input(
            &app,
            &query,
            json!({ "f": { "communityIds": ["kaput"] } }),
            "kaput",
        )
        .await;
    }
    let community_id = global_id("Community", gjol);
    for (list, filter, field) in [
        ("plans", "PlanFilter", "themeIds"),
        ("actions", "ActionFilter", "planIds"),
        ("actions", "ActionFilter", "departmentIds"),
        ("partnerships", "PartnershipFilter", "organizationIds"),
    ] {
        let query = format!("query($f: {filter}) {{ {list}(filter: $f) {{ totalCount }} }}");
        assert_bad_input(
            &app,
            &query,
            json!({ "f": { field: [community_id] } }),
            "Community",
        )
        .await;
    }
    assert_bad_input(
        &app,
        "query($id: ID) { community(id: $id) { name } }",
        json!({ "id": theme_id }),
        "Theme",
    )
    .await;
    // Each type name with its article, as it is said: "an Action", "a Plan".
    let partnerships = "query($f: PartnershipFilter) { partnerships(filter: $f) { totalCount } }";
    let action_id = global_id("Action", uuid);
    let (code, message) = app
        .error(partnerships, json!({ "f": { "organizationIds": [action_id] } }))
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert_eq!(
        message,
        format!("\"{action_id}\" is the ID of an Action, not of an Organization")
    );
    let (_, message) = app
        .error(partnerships, json!({ "f": { "communityIds": [theme_id] } }))
        .await;
    assert_eq!(
        message,
        format!("\"{theme_id}\" is the ID of a Theme, not of a Community")
    );

    // A well-formed ID of nothing is null, not an error.
    let d = app.data(NODE, json!({ "id": global_id("Plan", uuid) })).await;
    assert!(d["node"].is_null());
    let d = app
        .data(
            "query($id: ID) { community(id: $id) { name } }",
            json!({ "id": global_id("Community", uuid) }),
        )
        .await;
    assert!(d["community"].is_null());
});

both!(unknown_slugs_and_community_arguments, |app: TestApp| async move {
    Fixture::new(&app.db).community("gjoel", "Gjøl").await;
    let q = "query($slug: String, $id: ID) { community(slug: $slug, id: $id) { name } }";
    for slug in ["findes-ikke", "", "gjol", "%", "gjoe_", "' OR 1=1 --"] {
        let d = app.data(q, json!({ "slug": slug })).await;
        assert!(d["community"].is_null(), "slug {slug:?}");
    }
    // In any case and with its spaces trimmed, a slug is still the slug.
    for slug in ["GJOEL", "gjoel ", "Gjøl"] {
        let d = app.data(q, json!({ "slug": slug })).await;
        assert_eq!(d["community"]["name"], "Gjøl", "slug {slug:?}");
    }
    let d = app.data(q, json!({ "slug": "x".repeat(10 * 1024) })).await;
    assert!(d["community"].is_null());
    let d = app.data(q, json!({ "slug": "gjoel" })).await;
    assert_eq!(d["community"]["name"], "Gjøl");

    let id = app
        .data(r#"{ community(slug: "gjoel") { id } }"#, json!({}))
        .await["community"]["id"]
        .clone();
    assert_bad_input(&app, q, json!({ "slug": "gjoel", "id": id }), "`slug`").await;
    assert_bad_input(&app, q, json!({}), "`slug`").await;
    assert_bad_input(&app, "{ community { name } }", json!({}), "exactly one").await;

    // Unknown slugs in filters match nothing; they are no error.
    let d = app
        .data(
            r#"{ plans(filter: { communitySlugs: ["findes-ikke"], themeSlugs: ["heller-ikke"] }) { totalCount } }"#,
            json!({}),
        )
        .await;
    assert_eq!(d["plans"]["totalCount"], 0);
});

both!(wrong_types_are_errors, |app: TestApp| async move {
    Fixture::new(&app.db).community("gjoel", "Gjøl").await;
    // A string for an Int, as a literal and as a variable.
    assert_error(
        &app,
        r#"{ communities(first: "ten") { totalCount } }"#,
        json!({}),
        "first",
    )
    .await;
    assert_error(
        &app,
        "query($n: Int) { communities(first: $n) { totalCount } }",
        json!({ "n": "ten" }),
        "n",
    )
    .await;
    assert_error(
        &app,
        "query($n: Int) { communities(first: $n) { totalCount } }",
        json!({ "n": 2.5 }),
        "n",
    )
    .await;
    // Beyond a 32-bit Int.
    assert_error(
        &app,
        "query($n: Int) { communities(first: $n) { totalCount } }",
        json!({ "n": 3_000_000_000_i64 }),
        "n",
    )
    .await;
    assert_error(
        &app,
        "{ communities(first: 3000000000) { totalCount } }",
        json!({}),
        "Int",
    )
    .await;
    // An object for a String.
    assert_error(&app, "{ community(slug: { a: 1 }) { name } }", json!({}), "slug").await;
    assert_error(
        &app,
        "query($s: String) { community(slug: $s) { name } }",
        json!({ "s": { "a": 1 } }),
        "s",
    )
    .await;
    // Unknown enum values.
    assert_error(
        &app,
        "{ plans(filter: { statuses: [PUBLISHED] }) { totalCount } }",
        json!({}),
        "PUBLISHED",
    )
    .await;
    assert_error(
        &app,
        "query($f: PlanFilter) { plans(filter: $f) { totalCount } }",
        json!({ "f": { "statuses": ["published"] } }),
        "published",
    )
    .await;
    assert_error(
        &app,
        "query($o: ActionOrder) { actions(orderBy: $o) { totalCount } }",
        json!({ "o": { "field": "BUDGET" } }),
        "BUDGET",
    )
    .await;
    // Invalid DateTimes in updatedSince.
    for bad in [
        "2025-13-45T00:00:00Z",
        "2025-06-01",
        "yesterday",
        "2025-06-01T25:00:00Z",
        "",
    ] {
        for (list, filter) in [
            ("communities", "CommunityFilter"),
            ("actions", "ActionFilter"),
            ("engagementEvents", "EngagementEventFilter"),
        ] {
            let query = format!("query($f: {filter}) {{ {list}(filter: $f) {{ totalCount }} }}");
            assert_error(&app, &query, json!({ "f": { "updatedSince": bad } }), "").await;
        }
    }
    assert_error(
        &app,
        r#"{ communities(filter: { updatedSince: 20250601 }) { totalCount } }"#,
        json!({}),
        "",
    )
    .await;
    // A list where a single value belongs, and the other way round.
    assert_error(
        &app,
        "query($f: ActionFilter) { actions(filter: $f) { totalCount } }",
        json!({ "f": { "horizon": ["LONG_TERM"] } }),
        "",
    )
    .await;
    // Unknown fields and arguments.
    assert_error(&app, "{ communities { totalCount nope } }", json!({}), "nope").await;
    assert_error(&app, "{ communities(nope: 1) { totalCount } }", json!({}), "nope").await;
    assert_error(
        &app,
        "query($f: CommunityFilter) { communities(filter: $f) { totalCount } }",
        json!({ "f": { "nope": 1 } }),
        "nope",
    )
    .await;
    assert_error(&app, "{ nope }", json!({}), "nope").await;
});

both!(out_of_range_values, |app: TestApp| async move {
    let fx = Fixture::new(&app.db);
    let gjol = fx.community("gjoel", "Gjøl").await;
    fx.plan(gjol, "Gjøl 2024–2027", PlanStatus::Adopted, 2024, 2027)
        .await;
    // `year` out of range: in every list that has the filter.
    for (list, filter) in [
        ("plans", "PlanFilter"),
        ("actions", "ActionFilter"),
        ("partnerships", "PartnershipFilter"),
        ("ideaExchanges", "IdeaExchangeFilter"),
        ("engagementEvents", "EngagementEventFilter"),
    ] {
        let query = format!("query($f: {filter}) {{ {list}(filter: $f) {{ totalCount }} }}");
        for year in [-1, 0, 1899, 2201, 99_999, i32::MAX, i32::MIN] {
            assert_bad_input(&app, &query, json!({ "f": { "year": year } }), "`year`").await;
        }
        for year in [1900, 2200] {
            app.data(&query, json!({ "f": { "year": year } })).await;
        }
    }

    // `text` longer than 200 characters (characters, not bytes).
    let queries = [
        (
            "communities",
            "query($t: String) { communities(filter: { text: $t }) { totalCount } }",
        ),
        (
            "plans",
            "query($t: String) { plans(filter: { text: $t }) { totalCount } }",
        ),
        (
            "actions",
            "query($t: String) { actions(filter: { text: $t }) { totalCount } }",
        ),
        (
            "opportunities",
            "query($t: String) { opportunities(filter: { text: $t }) { totalCount } }",
        ),
        (
            "partnerships",
            "query($t: String) { partnerships(filter: { text: $t }) { totalCount } }",
        ),
        (
            "ideas",
            "query($t: String) { ideas(filter: { text: $t }) { totalCount } }",
        ),
        (
            "ideaExchanges",
            "query($t: String) { ideaExchanges(filter: { text: $t }) { totalCount } }",
        ),
        (
            "organizations",
            "query($t: String) { organizations(filter: { text: $t }) { totalCount } }",
        ),
        (
            "engagementEvents",
            "query($t: String) { engagementEvents(filter: { text: $t }) { totalCount } }",
        ),
        (
            "departments",
            "query($t: String) { departments(text: $t) { totalCount } }",
        ),
        ("themes", "query($t: String) { themes(text: $t) { totalCount } }"),
    ];
    for (list, query) in queries {
        for ok in ["ø".repeat(200), "a".repeat(200)] {
            let d = app.data(query, json!({ "t": ok })).await;
            assert_eq!(d[list]["totalCount"], 0);
        }
        for long in ["ø".repeat(201), "a".repeat(201), "x".repeat(10 * 1024)] {
            assert_bad_input(&app, query, json!({ "t": long }), "`text`").await;
        }
    }

    // More than 100 values in a filter list.
    let ids: Vec<String> = (0..101).map(|_| global_id("Community", Uuid::now_v7())).collect();
    let slugs: Vec<String> = (0..101).map(|i| format!("by-{i}")).collect();
    let statuses: Vec<&str> = std::iter::repeat_n("ADOPTED", 101).collect();
    let q = "query($f: PlanFilter) { plans(filter: $f) { totalCount } }";
    assert_bad_input(&app, q, json!({ "f": { "communityIds": ids } }), "`communityIds`").await;
    assert_bad_input(
        &app,
        q,
        json!({ "f": { "communitySlugs": slugs } }),
        "`communitySlugs`",
    )
    .await;
    assert_bad_input(&app, q, json!({ "f": { "themeSlugs": slugs } }), "`themeSlugs`").await;
    // A list names a set: the same value 101 times is one value, answered as one.
    let once = app.data(q, json!({ "f": { "statuses": ["ADOPTED"] } })).await;
    let repeated = app.data(q, json!({ "f": { "statuses": statuses } })).await;
    assert_eq!(repeated, once);
    assert_eq!(once["plans"]["totalCount"], 1);
    let gjoel = app
        .data(r#"{ community(slug: "gjoel") { id } }"#, json!({}))
        .await["community"]["id"]
        .clone();
    let once = app.data(q, json!({ "f": { "communityIds": [gjoel] } })).await;
    let repeated = app
        .data(q, json!({ "f": { "communityIds": vec![gjoel.clone(); 101] } }))
        .await;
    assert_eq!(repeated, once);
    assert_eq!(once["plans"]["totalCount"], 1);
    let q = "query($f: ActionFilter) { actions(filter: $f) { totalCount } }";
    let plan_ids: Vec<String> = (0..101).map(|_| global_id("Plan", Uuid::now_v7())).collect();
    assert_bad_input(&app, q, json!({ "f": { "planIds": plan_ids } }), "`planIds`").await;
    let q = "query($f: OrganizationFilter) { organizations(filter: $f) { totalCount } }";
    let kinds: Vec<&str> = std::iter::repeat_n("ASSOCIATION", 101).collect();
    let d = app.data(q, json!({ "f": { "kinds": kinds } })).await;
    assert!(d["organizations"]["totalCount"].is_number(), "{d}");
    // 100 is fine.
    let q = "query($f: PlanFilter) { plans(filter: $f) { totalCount } }";
    let d = app
        .data(q, json!({ "f": { "communitySlugs": slugs[..100] } }))
        .await;
    assert_eq!(d["plans"]["totalCount"], 0);
    let d = app.data(q, json!({ "f": { "communityIds": ids[..100] } })).await;
    assert_eq!(d["plans"]["totalCount"], 0);

    // Cursors at the edge of the numbers.
    let d = app
        .data(
            "query($c: String) { plans(first: 100, after: $c) { totalCount edges { cursor } } }",
            json!({ "c": cursor(i64::MAX) }),
        )
        .await;
    assert_eq!(d["plans"]["totalCount"], 1);
    assert_eq!(d["plans"]["edges"], json!([]));
    let d = app
        .data(
            r#"query($c: String) { community(slug: "gjoel") { plans(first: 100, after: $c) { totalCount edges { cursor } } } }"#,
            json!({ "c": cursor(i64::MAX) }),
        )
        .await;
    assert_eq!(d["community"]["plans"]["totalCount"], 1);
    assert_eq!(d["community"]["plans"]["edges"], json!([]));
});

both!(broken_requests_are_not_server_errors, |app: TestApp| async move {
    // Syntax errors.
    for broken in [
        "{ communities { ",
        "}",
        "query(",
        "{ communities(first: ) { totalCount } }",
        "",
    ] {
        let body = app.post(broken, json!({})).await;
        assert!(body["errors"][0]["message"].is_string(), "{broken:?}: {body:#}");
        assert!(body.get("data").is_none_or(Value::is_null), "{body:#}");
    }
    // Deeper than any client needs.
    let levels = 10;
    let deep = format!(
        "{{ communities {{ edges {{ node {{ {} name {} }} }} }} }}",
        "plans { edges { node { community { ".repeat(levels),
        "} } } } ".repeat(levels)
    );
    let body = app.post(&deep, json!({})).await;
    assert!(body["errors"][0]["message"].is_string(), "{body:#}");
    assert!(body.get("data").is_none_or(Value::is_null), "{body:#}");

    // Not GraphQL at all.
    for (content_type, body) in [
        ("application/json", "{ not json".to_owned()),
        ("application/json", "[]".to_owned()),
        ("application/json", "{}".to_owned()),
        ("application/json", json!({ "query": 42 }).to_string()),
        (
            "application/json",
            json!({ "query": "{ themes { totalCount } }", "variables": "x" }).to_string(),
        ),
        ("text/plain", "hello".to_owned()),
        ("application/json", "\u{0}\u{1}".to_owned()),
    ] {
        let (status, json) = raw(&app, content_type, body.clone()).await;
        assert!(
            !status.is_server_error(),
            "{status} for {content_type} {body:?}: {json:?}"
        );
        assert!(
            status.is_client_error()
                || json
                    .as_ref()
                    .is_some_and(|j| j["errors"][0]["message"].is_string()),
            "{status} for {content_type} {body:?}: {json:?}"
        );
    }
    // GET with a broken query string.
    let response = app
        .client
        .get(app.url("/graphql?query=%7B%20communities%20%7B"))
        .send()
        .await
        .unwrap();
    assert!(!response.status().is_server_error(), "{}", response.status());
    let response = app
        .client
        .get(app.url("/graphql?variables=%7Bnot"))
        .send()
        .await
        .unwrap();
    assert!(!response.status().is_server_error(), "{}", response.status());
    // Bytes that are not UTF-8: refused as a POST body holding them is, not read as U+FFFD.
    let response = app
        .client
        .get(app.url("/graphql?query=%7B__typename%ff%fe%7D"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_REQUEST", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("not valid UTF-8"),
        "{body}"
    );
    let response = app
        .client
        .get(app.url("/graphql?query=%7Bcommunity(slug:%22gj%C3%B8l%22)%7Bname%7D%7D"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "UTF-8 escapes are text");
});

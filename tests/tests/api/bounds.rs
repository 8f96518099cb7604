//! Bounds checked before a query runs: depth, fields (aliases count), page sizes and the
//! number of nodes a query could return. A refused query gets a clear error naming the limit
//! and runs no SQL at all; an accepted one reports its cost in `extensions.cost`.
use lup_tests::{TestApp, both, fixture::Fixture};
use serde_json::{Value, json};

/// Posts `query` and returns its first error's code and message, checking no SQL ran.
async fn refused_without_sql(app: &TestApp, query: &str) -> (String, String) {
    let before = app.sql_statements();
    let body: Value = app.post(query, json!({})).await;
    assert_eq!(
        app.sql_statements(),
        before,
        "no SQL may run for a refused query: {body}"
    );
    assert!(body["data"].is_null(), "{body}");
    let e = &body["errors"][0];
    (
        e["extensions"]["code"].as_str().unwrap_or_default().to_owned(),
        e["message"].as_str().unwrap_or_default().to_owned(),
    )
}

fn nested(levels: usize) -> String {
    // community → plans → community → plans …: legal, but deep.
    let mut q = String::from("id");
    for i in 0..levels {
        q = if i % 2 == 0 {
            format!("plans(first: 1) {{ nodes {{ {q} }} }}")
        } else {
            format!("community {{ {q} }}")
        };
    }
    format!("{{ communities(first: 1) {{ nodes {{ {q} }} }} }}")
}

both!(
    a_query_twenty_levels_deep_is_refused_before_it_runs,
    |app: TestApp| async move {
        let (code, message) = refused_without_sql(&app, &nested(20)).await;
        assert_eq!(code, "QUERY_TOO_LARGE");
        assert!(
            message.contains("levels deep") && message.contains("16"),
            "{message}"
        );
        // The refusal says what it cost (one point) and the limits to keep within; it has
        // no figures of its own (it was not measured to the end).
        let body = app.post(&nested(20), json!({})).await;
        let cost = &body["extensions"]["cost"];
        assert_eq!(cost["requestedQueryCost"], 1, "{body}");
        assert_eq!(cost["limits"]["maxDepth"], 16, "{body}");
        assert_eq!(cost["limits"]["maxPageSize"], 100, "{body}");
        assert!(cost["depth"].is_null() && cost["nodes"].is_null(), "{body}");
        // So does a document that does not parse.
        let body = app.post("{ communities(first: 1) {", json!({})).await;
        assert!(
            body["data"].is_null() && body["errors"][0]["message"].is_string(),
            "{body}"
        );
        assert_eq!(body["extensions"]["cost"]["requestedQueryCost"], 1, "{body}");
    }
);

both!(
    values_nested_thousands_of_levels_deep_are_refused_and_the_server_stays_up,
    |app: TestApp| async move {
        // A few kilobytes that the parser and every walk of a document would follow down
        // recursively, deep enough to overflow a thread's stack: refused before parsing.
        let lists = format!("{}true{}", "[".repeat(2000), "]".repeat(2000));
        let objects = format!("{}\"x\"{}", "{text: ".repeat(1500), "}".repeat(1500));
        for query in [
            format!("{{ __typename @skip(if: {lists}) }}"),
            format!("{{ search(query: \"x\", types: {lists}) {{ totalCount }} }}"),
            format!("{{ plans(filter: {objects}) {{ totalCount }} }}"),
            format!(
                "{{ {}__typename{} }}",
                "a: about { ".repeat(1500),
                " }".repeat(1500)
            ),
        ] {
            let (code, message) = refused_without_sql(&app, &query).await;
            assert_eq!(code, "QUERY_TOO_LARGE", "{message}");
            assert!(message.contains("nests") && message.contains("64"), "{message}");
        }
        // By GET too, through the same admission.
        let query = format!("{{ __typename @skip(if: {lists}) }}");
        let response = reqwest::Client::new()
            .get(app.url("/graphql"))
            .query(&[("query", query.as_str())])
            .header("accept", "application/json")
            .send()
            .await
            .expect("GET sent");
        assert!(response.status().as_u16() < 500, "{}", response.status());
        let body: Value = response.json().await.expect("a JSON body");
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "QUERY_TOO_LARGE",
            "{body}"
        );
        // Nesting inside strings and comments is text, not structure.
        let text = format!("\"{}\"", "[".repeat(80));
        let data = app
            .data(
                &format!(
                    "# {}\n{{ communities(filter: {{ text: {text} }}) {{ totalCount }} }}",
                    "{".repeat(500)
                ),
                json!({}),
            )
            .await;
        assert_eq!(data["communities"]["totalCount"], 0, "{data}");
        // And the server is still there.
        assert_eq!(app.data("{ __typename }", json!({})).await["__typename"], "Query");
    }
);

both!(
    an_alias_bomb_is_refused_before_it_runs,
    |app: TestApp| async move {
        let aliases: Vec<String> = (0..500)
            .map(|i| format!("a{i}: actions(first: 100) {{ nodes {{ title }} }}"))
            .collect();
        let (code, message) = refused_without_sql(&app, &format!("{{ {} }}", aliases.join(" "))).await;
        assert_eq!(code, "QUERY_TOO_LARGE");
        // Over more than one bound: the first met names its own.
        assert!(
            message.contains("fields") || message.contains("nodes") || message.contains("times"),
            "{message}"
        );
        assert!(message.contains("limit"), "{message}");
    }
);

// A search is a statement over the whole index whatever its page: a hundred aliased searches
// (each text a little different, so not the same arguments) cost 1 and held every pooled
// connection for seconds. A request runs at most three; the same response key is one field.
both!(
    aliased_searches_are_bounded_before_they_run,
    |app: TestApp| async move {
        let searches = |n: usize| {
            let fields: Vec<String> = (0..n)
                .map(|i| {
                    format!(
                        "s{i}: search(query: \"gjøl{}\", first: 1) {{ totalCount }}",
                        "!".repeat(i)
                    )
                })
                .collect();
            format!("{{ {} }}", fields.join(" "))
        };
        let d = app.data(&searches(3), json!({})).await;
        assert!(d["s2"]["totalCount"].is_number(), "{d}");
        let (code, message) = refused_without_sql(&app, &searches(4)).await;
        assert_eq!(code, "QUERY_TOO_LARGE");
        assert!(message.contains("at most 3 searches"), "{message}");
        let (code, _) = refused_without_sql(&app, &searches(100)).await;
        assert_eq!(code, "QUERY_TOO_LARGE");
        // One field asked twice under one key is one search.
        let twice = "{ s: search(query: \"gjøl\") { totalCount } s: search(query: \"gjøl\") { totalCount }
            t: search(query: \"a\") { totalCount } u: search(query: \"b\") { totalCount } }";
        app.data(twice, json!({})).await;
    }
);

both!(
    first_100_five_levels_deep_is_refused_before_it_runs,
    |app: TestApp| async move {
        let q =
            "{ communities(first: 100) { nodes { plans(first: 100) { nodes { actions(first: 100) { nodes {
        partnerships(first: 100) { nodes { title } } updates(first: 100) { nodes { body } } } } } } } } }";
        let (code, message) = refused_without_sql(&app, q).await;
        assert_eq!(code, "QUERY_TOO_LARGE");
        assert!(
            message.contains("50000") && message.contains("nodes"),
            "{message}"
        );
    }
);

both!(
    a_page_out_of_range_is_refused_before_anything_runs,
    |app: TestApp| async move {
        let q = "{ communities(first: 5) { nodes { plans(first: 101) { totalCount } } } }";
        let (code, message) = refused_without_sql(&app, q).await;
        assert_eq!(code, "BAD_USER_INPUT");
        assert!(
            message.contains("`first` of `plans`") && message.contains("101"),
            "{message}"
        );
    }
);

both!(an_accepted_query_reports_its_cost, |app: TestApp| async move {
    Fixture::new(&app.db).community("gjoel", "Gjøl").await;
    let body = app
        .post(
            "{ communities(first: 10) { nodes { name plans(first: 5) { nodes { title actions { totalCount } } } } } }",
            json!({}),
        )
        .await;
    let cost = &body["extensions"]["cost"];
    // 10 communities, 5 plans each, 20 actions (the default page) under each plan.
    assert_eq!(cost["nodes"], 10 + 10 * 5 + 10 * 5 * 20, "{body}");
    assert_eq!(cost["requestedQueryCost"], 1);
    assert_eq!(cost["limits"]["maxNodes"], 50_000);
    assert!(body["errors"].is_null(), "{body}");
});

// A list that is not a connection (a partnership's members, a plan's themes) has no page
// size. One that holds another list counts 10 rows and multiplies the lists in it, as a page
// does: lists that lead back to each other (a member's partnership's members…) multiply, through
// fragments and `node` too, so a document of a few hundred bytes cannot ask for millions of
// rows at the price of one. One that holds no list counts nothing (as before they were
// measured: the website's list form stays within the bound).
both!(
    lists_that_are_not_connections_count_in_the_nodes,
    |app: TestApp| async move {
        let nodes = async |query: &str, variables: Value| {
            let body = app.post(query, variables).await;
            assert!(body["errors"].is_null(), "{body}");
            body["extensions"]["cost"]["nodes"].as_u64().expect("nodes")
        };
        // 10 partnerships; their members hold no list.
        let q = "{ partnerships(first: 10) { nodes { members { role party { __typename } } } } }";
        assert_eq!(nodes(q, json!({})).await, 10);
        // Up to 10 members each, each member's partnership's members.
        let q = "{ partnerships(first: 10) { nodes { members { partnership { members { id } } } } } }";
        assert_eq!(nodes(q, json!({})).await, 10 + 10 * 10);
        // A connection in a list: 2 partnerships, 10 members each, each member's
        // partnership's plan's actions (20, the default page).
        let q = "{ partnerships(first: 2) { nodes { members { partnership { plan { actions { totalCount } } } } } } }";
        assert_eq!(nodes(q, json!({})).await, 2 + 2 * 10 + 2 * 10 * 20);
        // Through a fragment on the interface a node is asked by.
        let q = "query($id: ID!) { node(id: $id) { ...P } } fragment P on Partnership { members { partnership { members { id } } } }";
        let id = json!({ "id": "UGFydG5lcnNoaXA6MDE5YTAwMDAtMDAwMC03MDAwLTgwMDAtMDAwMDAwMDAwMDAw" });
        assert_eq!(nodes(q, id).await, 10);

        let mut chain = String::from("id");
        for _ in 0..7 {
            chain = format!("members {{ partnership {{ {chain} }} }}");
        }
        let aliases: String = (0..50)
            .map(|i| {
                format!("a{i}: node(id: \"UGFydG5lcnNoaXA6MDE5\") {{ ... on Partnership {{ {chain} }} }} ")
            })
            .collect();
        let (code, message) = refused_without_sql(&app, &format!("{{ {aliases} }}")).await;
        assert_eq!(code, "QUERY_TOO_LARGE");
        assert!(message.contains("nodes"), "{message}");
        let (code, _) = refused_without_sql(
            &app,
            &format!("{{ partnerships(first: 1) {{ nodes {{ {chain} }} }} }}"),
        )
        .await;
        assert_eq!(code, "QUERY_TOO_LARGE");
    }
);

// A field aliased hundreds of times on every row of large pages: within the nodes and the
// fields, but 240 aliases of a description on 20,000 rows answered 300 MB at a cost of 2.
// One object's selection asks for a field with the same arguments at most 10 times,
// through fragments too; other arguments are another question.
both!(
    a_field_asked_over_and_over_in_one_selection_is_refused,
    |app: TestApp| async move {
        let aliases: String = (0..11).map(|i| format!("d{i}: description ")).collect();
        let q = format!(
            "{{ themes(first: 100) {{ nodes {{ actions(first: 100) {{ nodes {{ {aliases} }} }} }} }} }}"
        );
        let (code, message) = refused_without_sql(&app, &q).await;
        assert_eq!(code, "QUERY_TOO_LARGE");
        assert!(
            message.contains("`description` is asked 11 times") && message.contains("10"),
            "{message}"
        );
        let fragments: String = (0..11)
            .map(|i| format!("... on Action {{ d{i}: description }} "))
            .collect();
        let q = format!("{{ actions(first: 100) {{ nodes {{ {fragments} }} }} }}");
        let (code, _) = refused_without_sql(&app, &q).await;
        assert_eq!(code, "QUERY_TOO_LARGE");
        // Ten times is within the bound, and so is each row of another object; a field with
        // other arguments is not a repeat.
        let aliases: String = (0..10).map(|i| format!("d{i}: description ")).collect();
        let q = format!(
            "{{ a: actions(first: 5) {{ nodes {{ {aliases} }} }} b: actions(first: 5) {{ nodes {{ {aliases} }} }} }}"
        );
        let body = app.post(&q, json!({})).await;
        assert!(body["errors"].is_null(), "{body}");
        let pages: String = (1..=12)
            .map(|i| format!("p{i}: actions(first: {i}) {{ totalCount }} "))
            .collect();
        let body = app.post(&format!("{{ {pages} }}"), json!({})).await;
        assert!(body["errors"].is_null(), "{body}");
    }
);

// Fragments that spread the next one twice, with no field between: 31 lines that would take
// 2^31 steps to walk. Each spread counts, so it is refused at once.
both!(
    fragments_spread_over_and_over_are_refused,
    |app: TestApp| async move {
        let mut query = String::from("query { ...F0 }\n");
        for i in 0..30 {
            query.push_str(&format!(
                "fragment F{i} on Query {{ ...F{n} ...F{n} }}\n",
                n = i + 1
            ));
        }
        query.push_str("fragment F30 on Query { ...Missing }\n");
        let body = app.post(&query, serde_json::json!({})).await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "QUERY_TOO_LARGE",
            "{body}"
        );
    }
);

// What one request may make the server do at the price of one: introspect the whole schema
// once (38 aliases of `__schema` answered 4 MB), and answer a document that breaks the rules
// thousands of times with the first 100 errors, as graphql-js's validation does.
both!(
    one_schema_and_at_most_a_hundred_errors,
    |app: TestApp| async move {
        let (code, message) = refused_without_sql(
            &app,
            "{ a: __schema { types { name } } b: __schema { types { name } } }",
        )
        .await;
        assert_eq!(code, "QUERY_TOO_LARGE");
        assert!(message.contains("__schema"), "{message}");
        let body = app
            .data(
                "{ __schema { queryType { name } } __type(name: \"Plan\") { name } }",
                json!({}),
            )
            .await;
        assert_eq!(body["__type"]["name"], "Plan", "{body}");
        // One key asked twice is one field: GraphQL merges them.
        let body = app
            .data(
                "{ __schema { queryType { name } } __schema { mutationType { name } } }",
                json!({}),
            )
            .await;
        assert_eq!(body["__schema"]["mutationType"]["name"], "Mutation", "{body}");

        let arguments: Vec<String> = (0..150).map(|i| format!("a{i}: 1")).collect();
        let query = format!("{{ communities({}) {{ totalCount }} }}", arguments.join(" "));
        let body = app.post(&query, json!({})).await;
        assert!(body.get("data").is_none(), "{body}");
        let errors = body["errors"].as_array().expect("errors");
        assert_eq!(errors.len(), 101, "{body}");
        assert!(errors[0]["message"].as_str().unwrap().contains("a0"), "{body}");
        assert_eq!(errors[100]["extensions"]["code"], "BAD_USER_INPUT");
        assert_eq!(
            errors[100]["message"],
            "50 more errors left out: the first 100 of 150 are listed"
        );
    }
);

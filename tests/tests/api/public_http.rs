//! What the public website and CDNs rely on: anonymous GET answers carry `Cache-Control:
//! public` and an `ETag` answered with 304; trusted documents (the website's queries, sent
//! by id), optionally the only thing anonymous callers may run.
use lup_api::config::Config;
use lup_tests::{As, TestApp, both, fixture::Fixture};
use serde_json::{Value, json};

const PAGE: &str = include_str!("../../queries/community-page.graphql");

fn document_id(text: &str) -> String {
    format!("sha256:{}", lup_api::auth::secret::sha256_hex(text))
}

both!(
    anonymous_get_answers_are_cacheable_and_revalidated,
    |app: TestApp| async move {
        Fixture::new(&app.db).community("gjoel", "Gjøl").await;
        let get = |etag: Option<String>| {
            let mut r = app
                .client
                .get(app.url("/graphql"))
                .query(&[("query", "{ communities { totalCount } }")]);
            if let Some(e) = etag {
                r = r.header("if-none-match", e);
            }
            r.send()
        };
        let first = get(None).await.expect("request");
        assert_eq!(first.status().as_u16(), 200);
        let cache_control = first
            .headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        // The schema's hint for public data.
        assert_eq!(cache_control.as_deref(), Some("public, max-age=60"));
        let etag = first
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .expect("ETag")
            .to_owned();
        let again = get(Some(etag.clone())).await.expect("request");
        assert_eq!(again.status().as_u16(), 304);
        assert!(again.bytes().await.expect("body").is_empty());
        // The same answer as application/graphql-response+json is another representation,
        // with a tag of its own: the JSON one's does not make it 304.
        let other = app
            .client
            .get(app.url("/graphql"))
            .query(&[("query", "{ communities { totalCount } }")])
            .header("accept", "application/graphql-response+json")
            .header("if-none-match", etag.clone())
            .send()
            .await
            .expect("request");
        assert_eq!(other.status().as_u16(), 200);
        let other_tag = other
            .headers()
            .get("etag")
            .expect("ETag")
            .to_str()
            .unwrap()
            .to_owned();
        assert_ne!(other_tag, etag);

        // A change gives another answer, and another ETag.
        Fixture::new(&app.db).community("saltum", "Saltum").await;
        let changed = get(Some(etag)).await.expect("request");
        assert_eq!(changed.status().as_u16(), 200);

        // Signed-in callers' answers are not for shared caches.
        let staff = app.signed_in(As::Staff, &[], None).await;
        let (header, value) = staff.credentials.clone().expect("credentials");
        let private = app
            .client
            .get(app.url("/graphql"))
            .query(&[("query", "{ communities { totalCount } }")])
            .header(header, value)
            .send()
            .await
            .expect("request");
        assert!(private.headers().get("etag").is_none());
        assert_eq!(
            header_of(&private, "cache-control").as_deref(),
            Some("private, no-store")
        );
    }
);

fn header_of(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

async fn get(app: &TestApp, query: &str) -> reqwest::Response {
    app.client
        .get(app.url("/graphql"))
        .query(&[("query", query)])
        .send()
        .await
        .expect("request")
}

both!(
    cache_control_follows_the_schemas_hints,
    |c: &mut Config| c.public_max_age_secs = 300,
    |app: TestApp| async move {
        Fixture::new(&app.db).community("gjoel", "Gjøl").await;
        // The strictest hint of what the query touches wins: `viewer` must not be cached.
        for (query, expected) in [
            ("{ themes { totalCount } }", "public, max-age=60"),
            ("{ viewer { role } }", "public, no-cache"),
            (
                "{ communities { totalCount } viewer { role } }",
                "public, no-cache",
            ),
            // An answer with an error is not kept as if it were the answer: a field refused
            // to an anonymous caller, beside public data.
            (
                "{ themes { totalCount } myPartnerships { totalCount } }",
                "public, no-cache",
            ),
        ] {
            let response = get(&app, query).await;
            assert_eq!(response.status().as_u16(), 200, "{query}");
            assert_eq!(
                header_of(&response, "cache-control").as_deref(),
                Some(expected),
                "{query}"
            );
            assert!(header_of(&response, "etag").is_some(), "{query}");
        }
        // A POST answer is not for HTTP caches.
        let post = app
            .client
            .post(app.url("/graphql"))
            .json(&json!({ "query": "{ themes { totalCount } }" }))
            .send()
            .await
            .expect("request");
        assert!(header_of(&post, "cache-control").is_none());
    }
);

both!(
    the_configured_cap_limits_the_max_age,
    |c: &mut Config| c.public_max_age_secs = 10,
    |app: TestApp| async move {
        let response = get(&app, "{ communities { totalCount } }").await;
        assert_eq!(
            header_of(&response, "cache-control").as_deref(),
            Some("public, max-age=10")
        );
        let off = TestApp::spawn_with(app.backend, |c| c.public_max_age_secs = 0).await;
        let response = get(&off, "{ communities { totalCount } }").await;
        assert_eq!(
            header_of(&response, "cache-control").as_deref(),
            Some("public, no-cache")
        );
        off.stop().await;
    }
);

fn trusted(c: &mut Config) {
    c.trusted_documents_dir = Some(concat!(env!("CARGO_MANIFEST_DIR"), "/queries").into());
}

both!(
    trusted_documents_are_sent_by_id,
    trusted,
    |app: TestApp| async move {
        Fixture::new(&app.db).community("gjoel", "Gjøl").await;
        let id = document_id(PAGE);
        // The prefix and the hex in any case.
        for sent in [id.clone(), id.to_ascii_uppercase()] {
            let body: Value = app
                .client
                .post(app.url("/graphql"))
                .json(&json!({ "documentId": sent, "variables": { "slug": "gjoel" } }))
                .send()
                .await
                .expect("request")
                .json()
                .await
                .expect("json");
            assert_eq!(body["data"]["community"]["name"], "Gjøl", "{sent}: {body}");
        }
        let by_get = app
            .client
            .get(app.url("/graphql"))
            .query(&[("documentId", id.as_str()), ("variables", "{\"slug\":\"gjoel\"}")])
            .send()
            .await
            .expect("request");
        assert_eq!(by_get.status().as_u16(), 200);
        let unknown = app
            .client
            .post(app.url("/graphql"))
            .json(&json!({ "documentId": document_id("{ x }") }))
            .send()
            .await
            .expect("request");
        assert_eq!(unknown.status().as_u16(), 400);
        // A made-up id of any length is named, not sent back whole.
        let long = format!("sha256:{}", "a".repeat(100_000));
        let unknown = app
            .client
            .post(app.url("/graphql"))
            .json(&json!({ "documentId": long }))
            .send()
            .await
            .expect("request");
        assert_eq!(unknown.status().as_u16(), 400);
        let text = unknown.text().await.expect("body");
        assert!(
            text.len() < 1_000 && text.contains("no trusted document has the id `sha256:aaa"),
            "{text}"
        );
        // With the code the README gives for an unknown document ID.
        assert!(text.contains("PERSISTED_QUERY_NOT_FOUND"), "{text}");
        // Raw queries still work unless only trusted documents are allowed.
        app.data("{ communities { totalCount } }", json!({})).await;
    }
);

/// POSTs `body` as it is: the HTTP status and the JSON answer.
async fn post_raw(app: &TestApp, body: Value) -> (u16, Value) {
    let answer = app
        .client
        .post(app.url("/graphql"))
        .json(&body)
        .send()
        .await
        .expect("request");
    (answer.status().as_u16(), answer.json().await.expect("json"))
}

// Apollo's automatic persisted queries: a hash the server does not know is answered with the
// code Apollo's clients expect, and they send it again with the query's text, which runs. A
// trusted document's hash, bare as Apollo sends it, names the document.
both!(
    apollo_persisted_queries_fall_back_to_the_text,
    trusted,
    |app: TestApp| async move {
        Fixture::new(&app.db).community("gjoel", "Gjøl").await;
        let query = "{ communities { totalCount } }";
        let hash = lup_api::auth::secret::sha256_hex(query);
        let persisted = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
        let extensions = persisted.to_string();
        let by_hash = app
            .client
            .get(app.url("/graphql"))
            .query(&[("extensions", extensions.as_str())])
            .send()
            .await
            .expect("request");
        // 200, as Apollo Server answers it, and kept by no cache.
        assert_eq!(by_hash.status().as_u16(), 200);
        assert_eq!(
            by_hash
                .headers()
                .get("cache-control")
                .and_then(|v| v.to_str().ok()),
            Some("no-store")
        );
        let body: Value = by_hash.json().await.expect("json");
        assert_eq!(
            body["errors"][0],
            json!({ "message": "PersistedQueryNotFound", "extensions": { "code": "PERSISTED_QUERY_NOT_FOUND" } })
        );
        let with_text: Value = app
            .client
            .post(app.url("/graphql"))
            .json(&json!({ "query": query, "extensions": persisted }))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json");
        assert_eq!(with_text["data"]["communities"]["totalCount"], 1, "{with_text}");
        // A hash that is not the text's is refused, as Apollo Server refuses it: the client
        // hashes wrongly, and would never find its query by the hash.
        let wrong = json!({ "persistedQuery": { "version": 1, "sha256Hash": "0".repeat(64) } });
        let (status, body) = post_raw(&app, json!({ "query": query, "extensions": wrong })).await;
        assert_eq!(status, 400, "{body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| m.contains("is not the SHA-256 of `query`")),
            "{body}"
        );
        let upper = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash.to_uppercase() } });
        let (status, body) = post_raw(&app, json!({ "query": query, "extensions": upper })).await;
        assert_eq!(
            (status, &body["data"]["communities"]["totalCount"]),
            (200, &json!(1)),
            "{body}"
        );

        let bare = document_id(PAGE).trim_start_matches("sha256:").to_owned();
        let page: Value = app
            .client
            .post(app.url("/graphql"))
            .json(
                &json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": bare } },
                           "variables": { "slug": "gjoel" } }),
            )
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json");
        assert_eq!(page["data"]["community"]["name"], "Gjøl", "{page}");
    }
);

both!(
    anonymous_callers_may_be_held_to_trusted_documents,
    |c: &mut Config| {
        trusted(c);
        c.trusted_documents_only_for_anonymous = true;
    },
    |app: TestApp| async move {
        Fixture::new(&app.db).community("gjoel", "Gjøl").await;
        let raw = app
            .client
            .post(app.url("/graphql"))
            .json(&json!({ "query": "{ communities { totalCount } }" }))
            .send()
            .await
            .expect("request");
        assert_eq!(raw.status().as_u16(), 400);
        let text = raw.text().await.expect("body");
        assert!(text.contains("trusted documents"), "{text}");
        let ok = app
            .client
            .post(app.url("/graphql"))
            .json(&json!({ "documentId": document_id(PAGE), "variables": { "slug": "gjoel" } }))
            .send()
            .await
            .expect("request");
        assert_eq!(ok.status().as_u16(), 200);
        // A mutation is held to the same rule (a raw consultation response, or anything else
        // open to anonymous callers, ran), but signing in stays open.
        for (query, held) in [
            ("mutation { __typename }", false),
            (
                "mutation { submitConsultationResponse(input: { planId: \"x\", body: \"y\", consentToStore: false }) { receipt } }",
                true,
            ),
            (
                "mutation { login(input: { email: \"ingen@lup.test\", password: \"forkert-adgangskode\" }) { accessToken } }",
                false,
            ),
            (
                "mutation { ... on Mutation { login(input: { email: \"ingen@lup.test\", password: \"forkert-adgangskode\" }) { accessToken } } logout(input: { refreshToken: \"x\" }) { ended } }",
                false,
            ),
        ] {
            let (status, body) = app.post_status(query, json!({})).await;
            let refused = body["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| m.contains("trusted documents"));
            assert_eq!(refused, held, "{query}: {status} {body}");
        }
        // Signed-in callers may send any query.
        let staff = app.signed_in(As::Staff, &[], None).await;
        staff.data("{ communities { totalCount } }", json!({})).await;
    }
);

// A path the API does not have is a 404 that says where the API is, not an empty answer.
// No error answer may be kept by a cache (a CDN keeps what says nothing by its own rules):
// a method a path does not take, a missing explorer file included.
both!(an_unknown_path_says_where_the_api_is, |app: TestApp| async move {
    for path in ["/", "/graphq", "/api/graphql", "/reports"] {
        let r = app.client.get(app.url(path)).send().await.expect("request");
        assert_eq!(r.status().as_u16(), 404, "{path}");
        assert_eq!(r.headers()["cache-control"], "no-store", "{path}");
        assert!(r.text().await.unwrap().contains("/graphql"), "{path}");
    }
    let r = app.client.put(app.url("/healthz")).send().await.expect("request");
    assert_eq!(r.status().as_u16(), 405);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let r = app
        .client
        .get(app.url("/explorer/0000000000000000/explorer.js"))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status().as_u16(), 404);
    assert_eq!(r.headers()["cache-control"], "no-store");
    // Prometheus's text format, in UTF-8 as its format says.
    let r = app.client.get(app.url("/metrics")).send().await.expect("request");
    assert_eq!(
        r.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
});

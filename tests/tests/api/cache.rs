//! The short-lived cache of anonymous query responses.
use lup_api::config::Config;
use lup_tests::{TestApp, both, fixture::Fixture};
use serde_json::json;

fn cached(config: &mut Config) {
    config.public_cache_ttl_ms = 60_000;
}

both!(
    repeated_queries_are_served_from_memory,
    cached,
    |app: TestApp| async move {
        Fixture::new(&app.db).community("gjoel", "Gjøl").await;
        let query = "query($s: String!) { community(slug: $s) { name } }";
        let first = app.data(query, json!({ "s": "gjoel" })).await;
        let before = app.sql_statements();
        let again = app.data(query, json!({ "s": "gjoel" })).await;
        assert_eq!(first, again);
        assert_eq!(
            app.sql_statements(),
            before,
            "the second answer comes from memory"
        );

        // Other variables are another request.
        let other = app.data(query, json!({ "s": "saltum" })).await;
        assert!(other["community"].is_null());
        assert!(app.sql_statements() > before);
    }
);

both!(
    responses_with_errors_are_not_cached,
    cached,
    |app: TestApp| async move {
        let query = r#"{ communities { totalCount } community(slug: "a", id: "b") { name } }"#;
        app.error(query, json!({})).await;
        let before = app.sql_statements();
        let (code, _) = app.error(query, json!({})).await;
        assert_eq!(code, "BAD_USER_INPUT");
        assert!(
            app.sql_statements() > before,
            "a response with errors is executed again"
        );
    }
);

both!(
    a_committed_write_empties_the_cache_and_a_refused_one_does_not,
    cached,
    |app: TestApp| async move {
        let gjol = Fixture::new(&app.db).community("gjoel", "Gjøl").await;
        let query = "{ community(slug: \"gjoel\") { name } }";
        assert_eq!(app.data(query, json!({})).await["community"]["name"], "Gjøl");
        let staff = app.signed_in(lup_tests::As::Staff, &[], None).await;
        let update =
            "mutation($i: UpdateCommunityInput!) { updateCommunity(input: $i) { userErrors { code } } }";
        let id = lup_tests::fixture::global_id("Community", gjol);

        // Refused: nothing changed, the cached answer stays.
        staff
            .data(update, json!({ "i": { "id": id, "version": 1, "name": "" } }))
            .await;
        let before = app.sql_statements();
        app.data(query, json!({})).await;
        assert_eq!(app.sql_statements(), before, "still served from memory");

        staff
            .data(
                update,
                json!({ "i": { "id": id, "version": 1, "name": "Gjøl Havn" } }),
            )
            .await;
        assert_eq!(
            app.data(query, json!({})).await["community"]["name"],
            "Gjøl Havn",
            "the public sees the change at once"
        );
    }
);

both!(
    cached_get_answers_keep_their_etag_and_revalidate,
    cached,
    |app: TestApp| async move {
        Fixture::new(&app.db).community("gjoel", "Gjøl").await;
        let query = "query($s: String!) { community(slug: $s) { name } }";
        let get = |etag: Option<&str>| {
            let mut r = app
                .client
                .get(app.url("/graphql"))
                .query(&[("query", query), ("variables", r#"{"s":"gjoel"}"#)]);
            if let Some(e) = etag {
                r = r.header("if-none-match", e);
            }
            r.send()
        };
        // Computed by a POST, served to a GET.
        assert_eq!(
            app.data(query, json!({ "s": "gjoel" })).await["community"]["name"],
            "Gjøl"
        );
        let before = app.sql_statements();
        let first = get(None).await.expect("request");
        assert_eq!(first.status().as_u16(), 200);
        let etag = first.headers()["etag"].to_str().expect("etag").to_owned();
        assert_eq!(first.headers()["cache-control"], "public, max-age=60");
        let body = first.text().await.expect("body");
        assert!(body.contains("Gjøl"), "{body}");
        let again = get(None).await.expect("request");
        assert_eq!(again.headers()["etag"].to_str().ok(), Some(etag.as_str()));
        assert_eq!(again.text().await.expect("body"), body);
        let revalidated = get(Some(&etag)).await.expect("request");
        assert_eq!(revalidated.status().as_u16(), 304);
        assert!(revalidated.bytes().await.expect("body").is_empty());
        // Compared weakly (RFC 9110): a proxy that compresses the answer makes its ETag weak,
        // and a list of tags matches when one of them does; another tag does not.
        for tag in [format!("W/{etag}"), format!("\"x\", {etag}")] {
            assert_eq!(
                get(Some(&tag)).await.expect("request").status().as_u16(),
                304,
                "{tag}"
            );
        }
        assert_eq!(get(Some("\"x\"")).await.expect("request").status().as_u16(), 200);
        assert_eq!(app.sql_statements(), before, "every GET came from memory");
        let hits = app.metric("lup_response_cache_total{result=\"hit\"}").await;
        assert!(hits >= 3, "{hits} hits");
    }
);

/// Two instances on one PostgreSQL database: a write through one empties the other's cached
/// answers (PostgreSQL `LISTEN`/`NOTIFY`), so neither serves data older than the write for
/// the cache's lifetime.
#[tokio::test]
#[cfg_attr(not(postgres_tests), ignore = "skipped: TEST_DATABASE_URL is not set")]
async fn a_write_on_one_instance_empties_the_other_instances_cache() {
    let a = TestApp::spawn_with(lup_tests::Backend::Postgres, cached).await;
    let b = a.sibling(cached).await;
    let gjol = Fixture::new(&a.db).community("gjoel", "Gjøl").await;
    let query = "{ community(slug: \"gjoel\") { name } }";
    assert_eq!(b.data(query, json!({})).await["community"]["name"], "Gjøl");
    let before = b.sql_statements();
    assert_eq!(b.data(query, json!({})).await["community"]["name"], "Gjøl");
    assert_eq!(b.sql_statements(), before, "instance B answers from its cache");

    let staff = a.signed_in(lup_tests::As::Staff, &[], None).await;
    let answer = staff
        .data(
            "mutation($i: UpdateCommunityInput!) { updateCommunity(input: $i) { userErrors { code } } }",
            json!({ "i": {
                "id": lup_tests::fixture::global_id("Community", gjol),
                "version": 1,
                "name": "Gjøl Havn",
            } }),
        )
        .await;
    assert_eq!(answer["updateCommunity"]["userErrors"], json!([]), "{answer}");
    let written = std::time::Instant::now();
    loop {
        let name = b.data(query, json!({})).await["community"]["name"].clone();
        if name == "Gjøl Havn" {
            break;
        }
        assert!(
            written.elapsed() < std::time::Duration::from_secs(1),
            "instance B still answers {name} from its cache 1 s after the write on A"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    b.stop().await;
    a.stop().await;
}

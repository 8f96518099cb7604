//! The explorer: `GET /graphql` in a browser serves GraphiQL from the binary, under a
//! Content-Security-Policy of our own origin only, and works in a browser that can reach
//! nothing but this server.
use lup_tests::{TestApp, both, fixture::Fixture};
use serde_json::json;

use crate::browser::Browser;

/// The explorer's page as a browser asks for it: its headers and text.
async fn page(app: &TestApp) -> (reqwest::header::HeaderMap, String) {
    let r = app
        .client
        .get(app.url("/graphql"))
        .header("accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let headers = r.headers().clone();
    (headers, r.text().await.unwrap())
}

fn h(headers: &reqwest::header::HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The `src`/`href` of the page's scripts and stylesheets.
fn links(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["src=\"", "href=\""] {
        for part in html.split(attr).skip(1) {
            out.push(part.split('"').next().unwrap_or_default().to_owned());
        }
    }
    out
}

both!(
    the_page_and_its_files_come_from_the_server,
    |app: TestApp| async move {
        let (headers, html) = page(&app).await;
        assert_eq!(h(&headers, "content-type"), "text/html; charset=utf-8");
        let csp = h(&headers, "content-security-policy");
        for directive in [
            "default-src 'self'",
            "script-src 'self'",
            "connect-src 'self'",
            "style-src 'self'",
            "object-src 'none'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(directive), "{directive} in {csp}");
        }
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{csp}"
        );
        assert!(!csp.contains("http"), "no other origin: {csp}");
        // Nothing inline, nothing from elsewhere.
        assert!(!html.contains("<script>") && !html.contains("<style") && !html.contains("style="));
        assert!(!html.contains("http://") && !html.contains("https://"), "{html}");
        let files = links(&html);
        assert_eq!(files.len(), 6, "{files:?}");
        for file in &files {
            assert!(file.starts_with("/explorer/"), "{file}");
            // Gzipped for a client that takes it, cached for good.
            let r = app
                .client
                .get(app.url(file))
                .header("accept-encoding", "gzip, deflate, br")
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{file}");
            assert_eq!(
                h(r.headers(), "cache-control"),
                "public, max-age=31536000, immutable"
            );
            let gzipped = h(r.headers(), "content-encoding") == "gzip";
            let kind = h(r.headers(), "content-type");
            assert!(
                kind.starts_with(if file.ends_with(".js") {
                    "text/javascript"
                } else {
                    "text/css"
                }),
                "{file}: {kind}"
            );
            let packed = r.bytes().await.unwrap();
            let vendored = !file.ends_with("/explorer.js") && !file.ends_with("/explorer.css");
            assert_eq!(gzipped, vendored, "{file}");
            if gzipped {
                assert_eq!(&packed[..2], &[0x1f, 0x8b], "{file} is gzip");
            }
            // Unpacked for a client that does not take gzip.
            let r = app.client.get(app.url(file)).send().await.unwrap();
            assert_eq!(r.status(), 200);
            assert_eq!(h(r.headers(), "content-encoding"), "", "{file}");
            let text = r.text().await.unwrap();
            assert!(text.len() >= packed.len(), "{file}");
            if file.ends_with(".css") {
                // Fonts and images inlined or ours: no url() to another place.
                for u in text.split("url(").skip(1) {
                    let u = u.trim_start_matches(['"', '\'']);
                    assert!(
                        u.starts_with("data:") || u.starts_with('#'),
                        "{file}: url({})",
                        &u[..u.len().min(60)]
                    );
                }
            }
        }
        assert!(files.iter().any(|f| f.ends_with("/graphiql.min.js")), "{files:?}");
        // Another version's files are not there.
        let stale = app
            .client
            .get(app.url("/explorer/0000/graphiql.min.js"))
            .send()
            .await
            .unwrap();
        assert_eq!(stale.status(), 404);
        // A GraphQL client still gets GraphQL from GET /graphql.
        let r = app
            .client
            .get(app.url("/graphql?query=%7B__typename%7D"))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["data"], json!({ "__typename": "Query" }));
    }
);

both!(
    a_query_runs_from_the_explorer_in_a_browser,
    |app: TestApp| async move {
        Fixture::new(&app.db).community("gjoel", "Gjøl").await;
        let Some(browser) = Browser::start().await else {
            return;
        };
        browser.goto(&app.url("/graphql")).await;
        browser
        .wait_for(
            "the query editor",
            "var e = document.querySelector('.graphiql-query-editor .CodeMirror'); return e && !!e.CodeMirror",
            60,
        )
        .await;
        browser
        .run(
            "document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue(arguments[0]);",
            json!(["{ communities(first: 5) { nodes { name slug } } }"]),
        )
        .await;
        browser
            .run(
                "document.querySelector('.graphiql-execute-button').click();",
                json!([]),
            )
            .await;
        let answer = browser
            .wait_for(
                "the answer in the result pane",
                "var e = document.querySelector('.result-window .CodeMirror'); \
             var v = e && e.CodeMirror && e.CodeMirror.getValue(); \
             return v && v.indexOf('gjoel') >= 0 ? v : null",
                60,
            )
            .await;
        let answer: serde_json::Value = serde_json::from_str(answer.as_str().unwrap()).unwrap();
        assert_eq!(
            answer["data"],
            json!({ "communities": { "nodes": [{ "name": "Gjøl", "slug": "gjoel" }] } })
        );
        // Everything the page loaded came from this server, and the policy refused nothing.
        let origin = app.base.clone();
        let loaded = browser
            .run(
                "return performance.getEntriesByType('resource').map(function (e) { return e.name; })",
                json!([]),
            )
            .await;
        let loaded: Vec<String> = serde_json::from_value(loaded).unwrap();
        assert!(loaded.len() >= 5, "{loaded:?}");
        for url in &loaded {
            assert!(
                url.starts_with(&origin) || url.starts_with("data:"),
                "loaded from elsewhere: {url}"
            );
        }
        // (The log is read: a message written now is in it.)
        browser.run("console.error('lup-probe');", json!([])).await;
        let console = browser.console().await;
        assert!(console.iter().any(|m| m.contains("lup-probe")), "{console:#?}");
        let refused: Vec<_> = console
            .iter()
            .filter(|m| {
                m.contains("Content Security Policy") || m.contains("Refused to") || m.contains("net::ERR")
            })
            .collect();
        assert!(refused.is_empty(), "{refused:#?}");
        browser.quit().await;
    }
);

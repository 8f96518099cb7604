//! The number of SQL statements of a nested query does not grow with its rows: the website's
//! community page and the list form are one compiled statement each (at most 2), at two data
//! sizes, on SQLite and PostgreSQL.
//! (The page sizes keep the list form within the node limit: 10 + 50 + 2,500 + 25,000.)
use lup_tests::{TestApp, both, fixture::Fixture};
use serde_json::json;

const NESTED: &str = r#"
query Nested {
  communities(first: 10) {
    totalCount
    edges { node {
      name
      currentPlan { title }
      plans(first: 5) { totalCount edges { node {
        title
        themes { name }
        actions(first: 50) { totalCount edges { node {
          title
          themes { name }
          departments { role department { name } }
          partnerships(first: 10) { totalCount edges { node {
            title
            members { role party { __typename ... on Organization { name } ... on Community { name } ... on Department { name } } }
          } } }
        } } }
      } } }
    } }
  }
}"#;

/// The website's community page (the benchmark runs the same file).
const PAGE: &str = include_str!("../../queries/community-page.graphql");

async fn statements(app: &TestApp) -> (u64, serde_json::Value) {
    let before = app.sql_statements();
    let data = app.data(NESTED, json!({})).await;
    (app.sql_statements() - before, data)
}

async fn page_statements(app: &TestApp, slug: &str) -> (u64, serde_json::Value) {
    let before = app.sql_statements();
    let data = app.data(PAGE, json!({ "slug": slug })).await;
    (app.sql_statements() - before, data)
}

fn actions_seen(data: &serde_json::Value) -> usize {
    data["communities"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["node"]["plans"]["edges"].as_array().unwrap().iter())
        .map(|p| p["node"]["actions"]["edges"].as_array().unwrap().len())
        .sum()
}

both!(
    statement_count_does_not_grow_with_rows,
    |app: TestApp| async move {
        let fx = Fixture::new(&app.db);
        fx.programme(2, 2).await;
        let (small, data) = statements(&app).await;
        assert_eq!(actions_seen(&data), 4, "drafts are not listed");
        let (small_page, page) = page_statements(&app, "by-0").await;
        assert_eq!(page["community"]["currentPlan"]["actions"]["totalCount"], 2);

        fx.programme_more(6, 40).await;
        let (large, data) = statements(&app).await;
        assert_eq!(actions_seen(&data), 4 + 6 * 40);
        let (large_page, page) = page_statements(&app, "by-1000").await;
        let actions = &page["community"]["currentPlan"]["actions"];
        assert_eq!(actions["totalCount"], 40);
        assert_eq!(
            actions["edges"][0]["node"]["partnerships"]["edges"][0]["node"]["members"]
                .as_array()
                .map(Vec::len),
            Some(3),
            "nested lists are loaded"
        );
        assert_eq!(
            small, large,
            "statements: {small} with 4 actions, {large} with 244"
        );
        assert_eq!(small_page, large_page, "page statements with 2 and 40 actions");
        assert!(small <= 2, "{small} statements for the list form");
        assert!(small_page <= 2, "{small_page} statements for the community page");
    }
);

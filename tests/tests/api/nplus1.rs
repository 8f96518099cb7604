//! The number of SQL statements of a nested query grows with its depth, not with its rows.
//! (The page sizes keep the query within the node limit: 10 + 50 + 1,000 + 20,000.)
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
        actions(first: 20) { totalCount edges { node {
          title
          themes { name }
          departments { role department { name } }
          partnerships(first: 20) { totalCount edges { node {
            title
            members { role party { __typename ... on Organization { name } ... on Community { name } ... on Department { name } } }
          } } }
        } } }
      } } }
    } }
  }
}"#;

async fn statements(app: &TestApp) -> (u64, serde_json::Value) {
    let before = app.sql_statements();
    let data = app.data(NESTED, json!({})).await;
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

        fx.programme_more(6, 5).await;
        let (large, data) = statements(&app).await;
        assert_eq!(actions_seen(&data), 4 + 30);
        assert_eq!(
            small, large,
            "statements: {small} with 4 actions, {large} with 34"
        );
        assert!(small <= 16, "{small} statements for one nested query");
    }
);

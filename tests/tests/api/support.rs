//! Small helpers for reading GraphQL answers in tests.
use lup_tests::TestApp;
use serde_json::Value;

/// The nodes of a connection's edges.
pub fn nodes(connection: &Value) -> Vec<&Value> {
    connection["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("not a connection: {connection:#}"))
        .iter()
        .map(|e| &e["node"])
        .collect()
}

/// One string field of each node of a connection, in order.
pub fn texts(connection: &Value, field: &str) -> Vec<String> {
    nodes(connection)
        .into_iter()
        .map(|n| {
            n[field]
                .as_str()
                .unwrap_or_else(|| panic!("no {field} in {n:#}"))
                .to_owned()
        })
        .collect()
}

/// One string field of each element of a list, in order.
pub fn list_texts(list: &Value, field: &str) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list:#}"))
        .iter()
        .map(|n| {
            n[field]
                .as_str()
                .unwrap_or_else(|| panic!("no {field} in {n:#}"))
                .to_owned()
        })
        .collect()
}

/// Owned strings, for comparing with `texts`.
pub fn strs(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// Asserts the request fails with `BAD_USER_INPUT` and a message that mentions `mention`.
pub async fn assert_bad_input(app: &TestApp, query: &str, variables: Value, mention: &str) {
    let (code, message) = app.error(query, variables.clone()).await;
    assert_eq!(
        code, "BAD_USER_INPUT",
        "code for {query} with {variables}: {message}"
    );
    assert!(
        message.contains(mention),
        "message {message:?} should mention {mention:?} ({query})"
    );
}

//! Cursor connections at their edges: first and following pages, `last` with and without
//! `before`, empty lists, cursors past the end, page-size bounds and bad cursors — on a
//! top-level connection (`communities`) and on nested ones (`plan.actions`,
//! `community.actions`).
use lup_tests::{
    TestApp, both,
    fixture::{Fixture, PlanStatus, cursor},
};
use serde_json::{Value, json};

use crate::support::{assert_bad_input, strs, texts};

const COMMUNITIES: &str = r#"
query($first: Int, $after: String, $last: Int, $before: String, $filter: CommunityFilter) {
  communities(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { name } }
  }
}"#;

const PLAN_ACTIONS: &str = r#"
query($first: Int, $after: String, $last: Int, $before: String) {
  plans(first: 10) { edges { node {
    title
    actions(first: $first, after: $after, last: $last, before: $before) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { title } }
    }
  } } }
}"#;

/// A page as the assertions see it.
#[derive(Debug, PartialEq)]
struct Page {
    items: Vec<String>,
    total: i64,
    has_previous: bool,
    has_next: bool,
}

fn page(items: &[&str], total: i64, has_previous: bool, has_next: bool) -> Page {
    Page {
        items: strs(items),
        total,
        has_previous,
        has_next,
    }
}

/// Reads a connection, checking that the page's start and end cursors are those of its first
/// and last edges (null when it has none).
fn read(conn: &Value, field: &str) -> Page {
    let edges = conn["edges"].as_array().expect("edges");
    let info = &conn["pageInfo"];
    match (edges.first(), edges.last()) {
        (Some(first), Some(last)) => {
            assert_eq!(info["startCursor"], first["cursor"], "startCursor: {conn:#}");
            assert_eq!(info["endCursor"], last["cursor"], "endCursor: {conn:#}");
        }
        _ => {
            assert!(
                info["startCursor"].is_null(),
                "startCursor of an empty page: {conn:#}"
            );
            assert!(
                info["endCursor"].is_null(),
                "endCursor of an empty page: {conn:#}"
            );
        }
    }
    Page {
        items: texts(conn, field),
        total: conn["totalCount"].as_i64().expect("totalCount"),
        has_previous: info["hasPreviousPage"].as_bool().expect("hasPreviousPage"),
        has_next: info["hasNextPage"].as_bool().expect("hasNextPage"),
    }
}

async fn communities(app: &TestApp, args: Value) -> (Page, Value) {
    let data = app.data(COMMUNITIES, args).await;
    let conn = data["communities"].clone();
    (read(&conn, "name"), conn)
}

/// The cursor of the edge whose node's `field` is `value`.
fn cursor_of(conn: &Value, field: &str, value: &str) -> String {
    conn["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"][field] == value)
        .unwrap_or_else(|| panic!("no {value} in {conn:#}"))["cursor"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn seven_communities(app: &TestApp) {
    let fx = Fixture::new(&app.db);
    // Inserted out of order: the list is by name.
    for name in ["By D", "By A", "By G", "By C", "By F", "By B", "By E"] {
        fx.community(&name.to_lowercase().replace(' ', "-"), name).await;
    }
}

both!(top_level_forward_to_the_end, |app: TestApp| async move {
    seven_communities(&app).await;

    let (p, conn) = communities(&app, json!({ "first": 3 })).await;
    assert_eq!(p, page(&["By A", "By B", "By C"], 7, false, true));

    let end = conn["pageInfo"]["endCursor"].clone();
    let (p, conn) = communities(&app, json!({ "first": 3, "after": end })).await;
    assert_eq!(p, page(&["By D", "By E", "By F"], 7, true, true));

    let end = conn["pageInfo"]["endCursor"].clone();
    let (p, conn) = communities(&app, json!({ "first": 3, "after": end })).await;
    assert_eq!(p, page(&["By G"], 7, true, false), "the last page");

    // Following the last page's end cursor: nothing more, the total stays.
    let end = conn["pageInfo"]["endCursor"].clone();
    let (p, _) = communities(&app, json!({ "first": 3, "after": end })).await;
    assert_eq!(p, page(&[], 7, true, false), "after the last item");

    // A page that ends exactly at the end has no next page.
    let (p, _) = communities(&app, json!({ "first": 7 })).await;
    assert_eq!(p.items.len(), 7);
    assert!(!p.has_next && !p.has_previous);
    let (p, _) = communities(&app, json!({ "first": 100 })).await;
    assert_eq!(p.items.len(), 7);
    assert!(!p.has_next);

    // A cursor far past the end (a stale or crafted one) is an empty page of the real list.
    let (p, _) = communities(&app, json!({ "first": 3, "after": cursor(1000) })).await;
    assert_eq!(p, page(&[], 7, true, false));
    let (p, _) = communities(&app, json!({ "first": 3, "after": cursor(i64::MAX) })).await;
    assert_eq!(p, page(&[], 7, true, false), "the largest cursor there is");

    // Every edge of the whole list has its own cursor.
    let (_, conn) = communities(&app, json!({ "first": 7 })).await;
    let mut cursors: Vec<&str> = conn["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["cursor"].as_str().unwrap())
        .collect();
    cursors.sort_unstable();
    cursors.dedup();
    assert_eq!(cursors.len(), 7);
});

// Without `totalCount` a page is read up to its last row (with `pageInfo`, one row more):
// the same rows, cursors and `pageInfo` as a counted page.
both!(top_level_pages_without_their_total, |app: TestApp| async move {
    seven_communities(&app).await;
    const PAGE_INFO: &str = r#"
    query($first: Int, $after: String) {
      communities(first: $first, after: $after) {
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { cursor node { name } }
      }
    }"#;
    const EDGES: &str = r#"
    query($first: Int, $after: String) {
      communities(first: $first, after: $after) { edges { cursor node { name } } }
    }"#;
    let walk = async |first: i64, after: Value| {
        let data = app
            .data(PAGE_INFO, json!({ "first": first, "after": after }))
            .await;
        let conn = data["communities"].clone();
        let info = &conn["pageInfo"];
        (
            texts(&conn, "name"),
            info["hasPreviousPage"].as_bool().unwrap(),
            info["hasNextPage"].as_bool().unwrap(),
            info["endCursor"].clone(),
        )
    };
    let (names, previous, next, end) = walk(3, Value::Null).await;
    assert_eq!(
        (names, previous, next),
        (strs(&["By A", "By B", "By C"]), false, true)
    );
    let (names, previous, next, end) = walk(3, end).await;
    assert_eq!(
        (names, previous, next),
        (strs(&["By D", "By E", "By F"]), true, true)
    );
    let (names, previous, next, end) = walk(3, end).await;
    assert_eq!(
        (names, previous, next),
        (strs(&["By G"]), true, false),
        "the last page"
    );
    let (names, previous, next, _) = walk(3, end).await;
    assert_eq!(
        (names, previous, next),
        (vec![], true, false),
        "after the last item"
    );
    let (names, _, next, _) = walk(7, Value::Null).await;
    assert_eq!(
        (names.len(), next),
        (7, false),
        "a page that ends exactly at the end"
    );
    let (names, _, next, _) = walk(6, Value::Null).await;
    assert_eq!((names.len(), next), (6, true), "one row left after the page");
    let (names, previous, next, _) = walk(3, json!(cursor(1000))).await;
    assert_eq!(
        (names, previous, next),
        (vec![], true, false),
        "a cursor far past the end"
    );
    // Past a cursor in a list with no rows at all, nothing comes before.
    let none = app
        .data(
            "query($after: String) { communities(first: 3, after: $after, filter: { text: \"Ingen by\" }) {
                pageInfo { hasNextPage hasPreviousPage } edges { cursor } } }",
            json!({ "after": cursor(2) }),
        )
        .await;
    assert_eq!(
        none["communities"],
        json!({ "pageInfo": { "hasNextPage": false, "hasPreviousPage": false }, "edges": [] })
    );

    // Edges alone: the cursors are the positions a counted page gives.
    let counted = communities(&app, json!({ "first": 7 })).await.1;
    let bare = app.data(EDGES, json!({ "first": 7 })).await["communities"].clone();
    assert_eq!(bare["edges"], counted["edges"]);
    let after_c = cursor_of(&bare, "name", "By C");
    let next = app.data(EDGES, json!({ "first": 2, "after": after_c })).await;
    assert_eq!(texts(&next["communities"], "name"), strs(&["By D", "By E"]));
});

both!(top_level_backward_and_between, |app: TestApp| async move {
    seven_communities(&app).await;
    let (_, all) = communities(&app, json!({ "first": 7 })).await;
    let at = |name: &str| cursor_of(&all, "name", name);

    let (p, _) = communities(&app, json!({ "last": 3 })).await;
    assert_eq!(p, page(&["By E", "By F", "By G"], 7, true, false), "last 3");

    let (p, _) = communities(&app, json!({ "last": 3, "before": at("By E") })).await;
    assert_eq!(p, page(&["By B", "By C", "By D"], 7, true, true));

    let (p, _) = communities(&app, json!({ "last": 3, "before": at("By B") })).await;
    assert_eq!(p, page(&["By A"], 7, false, true), "the first page, backwards");

    let (p, _) = communities(&app, json!({ "last": 3, "before": at("By A") })).await;
    assert_eq!(p, page(&[], 7, false, true), "nothing before the first item");

    // A position past the end: everything is before it.
    for far in [8, 1000, i64::MAX] {
        let (p, _) = communities(&app, json!({ "last": 3, "before": cursor(far) })).await;
        assert_eq!(
            p,
            page(&["By E", "By F", "By G"], 7, true, false),
            "last 3 before {far}"
        );
    }

    let (p, _) = communities(&app, json!({ "last": 10 })).await;
    assert_eq!(p.items.len(), 7, "`last` larger than the list");
    assert!(!p.has_previous && !p.has_next);

    // `first` with `before`, and a window between two cursors.
    let (p, _) = communities(&app, json!({ "first": 2, "before": at("By D") })).await;
    assert_eq!(p, page(&["By A", "By B"], 7, false, true));
    let (p, _) = communities(
        &app,
        json!({ "first": 10, "after": at("By B"), "before": at("By F") }),
    )
    .await;
    assert_eq!(p, page(&["By C", "By D", "By E"], 7, true, true));
    let (p, _) = communities(&app, json!({ "last": 2, "after": at("By B") })).await;
    assert_eq!(p, page(&["By F", "By G"], 7, true, false), "the last 2 after B");
    let (p, _) = communities(&app, json!({ "last": 5, "after": at("By D") })).await;
    assert_eq!(
        p,
        page(&["By E", "By F", "By G"], 7, true, false),
        "fewer than 5 after D"
    );
    let (p, _) = communities(&app, json!({ "last": 3, "after": at("By G") })).await;
    assert_eq!(p, page(&[], 7, true, false), "nothing after the last");
});

both!(empty_lists_and_default_size, |app: TestApp| async move {
    let fx = Fixture::new(&app.db);

    // An empty table.
    let (p, _) = communities(&app, json!({ "first": 5 })).await;
    assert_eq!(p, page(&[], 0, false, false));
    let (p, _) = communities(&app, json!({ "last": 5 })).await;
    assert_eq!(p, page(&[], 0, false, false));

    for n in 1..=25 {
        fx.community(&format!("by-{n:02}"), &format!("By {n:02}")).await;
    }
    let names = |range: std::ops::RangeInclusive<i32>| -> Vec<String> {
        range.map(|n| format!("By {n:02}")).collect()
    };

    // Neither `first` nor `last`: 20 from the start.
    let (p, conn) = communities(&app, json!({})).await;
    assert_eq!(p.items, names(1..=20), "the default page size is 20");
    assert!(p.has_next && !p.has_previous);
    assert_eq!(p.total, 25);
    let end = conn["pageInfo"]["endCursor"].clone();
    let (p, _) = communities(&app, json!({ "after": end })).await;
    assert_eq!(p.items, names(21..=25));
    assert!(!p.has_next && p.has_previous);
    assert_eq!(p.total, 25);

    // Only `before`: the 20 just before it.
    let (p, _) = communities(&app, json!({ "before": cursor(25) })).await;
    assert_eq!(p.items, names(5..=24));
    assert!(p.has_previous && p.has_next);

    // A filter that matches nothing.
    let nothing = json!({ "text": "findes ikke" });
    let (p, _) = communities(&app, json!({ "first": 5, "filter": nothing })).await;
    assert_eq!(p, page(&[], 0, false, false), "no match");
    let (p, _) = communities(&app, json!({ "last": 5, "filter": nothing })).await;
    assert_eq!(p, page(&[], 0, false, false), "no match, backwards");
    let (p, _) = communities(&app, json!({ "first": 5, "after": cursor(3), "filter": nothing })).await;
    assert_eq!(p, page(&[], 0, false, false), "no match after a cursor");

    // A filter's total is the filtered list's, on every page.
    // As a phrase: "By 10" to "By 19" (the words alone would also find "By 01" and "By 21").
    let some = json!({ "text": "\"By 1\"" });
    let (p, conn) = communities(&app, json!({ "first": 4, "filter": some })).await;
    assert_eq!(p.items, names(10..=13));
    assert_eq!(p.total, 10);
    let end = conn["pageInfo"]["endCursor"].clone();
    let (p, conn) = communities(&app, json!({ "first": 4, "after": end, "filter": some })).await;
    assert_eq!(p, page(&["By 14", "By 15", "By 16", "By 17"], 10, true, true));
    let end = conn["pageInfo"]["endCursor"].clone();
    let (p, _) = communities(&app, json!({ "first": 4, "after": end, "filter": some })).await;
    assert_eq!(p, page(&["By 18", "By 19"], 10, true, false));
});

both!(page_size_and_cursor_errors, |app: TestApp| async move {
    let fx = Fixture::new(&app.db);
    let gjol = fx.community("gjoel", "Gjøl").await;
    let plan = fx
        .plan(gjol, "Gjøl 2024–2027", PlanStatus::Adopted, 2024, 2027)
        .await;
    fx.action(plan, "Shelterplads").await;
    for (arg, n) in [
        ("first", 0),
        ("first", 101),
        ("first", -1),
        ("last", 0),
        ("last", 101),
        ("last", -1),
    ] {
        assert_bad_input(&app, COMMUNITIES, json!({ arg: n }), &format!("`{arg}`")).await;
        assert_bad_input(&app, PLAN_ACTIONS, json!({ arg: n }), &format!("`{arg}`")).await;
    }
    // The bounds themselves are fine.
    for (arg, n) in [("first", 1), ("first", 100), ("last", 1), ("last", 100)] {
        app.data(COMMUNITIES, json!({ arg: n })).await;
    }

    assert_bad_input(&app, COMMUNITIES, json!({ "first": 2, "last": 2 }), "`first`").await;
    assert_bad_input(&app, PLAN_ACTIONS, json!({ "first": 2, "last": 2 }), "`last`").await;

    for bad in [
        String::new(),
        "abc".to_owned(),
        "!!!not base64!!!".to_owned(),
        lup_tests::fixture::base64url(b"cursor:x"),
        lup_tests::fixture::base64url(b"cursor:0"),
        lup_tests::fixture::base64url(b"cursor:-3"),
        lup_tests::fixture::base64url(b"cursor:99999999999999999999999"),
        lup_tests::fixture::base64url(&[0xff, 0xfe, 0x00]),
        lup_tests::fixture::global_id("Community", uuid::Uuid::now_v7()),
    ] {
        for arg in ["after", "before"] {
            assert_bad_input(&app, COMMUNITIES, json!({ "first": 2, arg: bad }), "cursor").await;
            assert_bad_input(&app, PLAN_ACTIONS, json!({ "first": 2, arg: bad }), "cursor").await;
        }
    }
});

/// Three adopted plans with 7, 2 and no actions, each in its own community, paged together.
async fn plans_with_actions(app: &TestApp) {
    let fx = Fixture::new(&app.db);
    for (slug, title, n) in [("a", "Plan A", 7), ("b", "Plan B", 2), ("c", "Plan C", 0)] {
        let c = fx.community(slug, &format!("By {slug}")).await;
        let plan = fx.plan(c, title, PlanStatus::Adopted, 2024, 2027).await;
        for i in (1..=n).rev() {
            fx.action(plan, &format!("{title} handling {i}")).await;
        }
        // A draft beside it, with actions that must not count.
        let draft = fx
            .plan(c, &format!("{title} kladde"), PlanStatus::Draft, 2028, 2031)
            .await;
        fx.action(draft, &format!("{title} handling 0 (kladde)")).await;
    }
}

async fn plan_pages(app: &TestApp, args: Value) -> (Vec<Page>, Value) {
    let data = app.data(PLAN_ACTIONS, args).await;
    let plans = data["plans"].clone();
    let titles = texts(&plans, "title");
    assert_eq!(titles, strs(&["Plan A", "Plan B", "Plan C"]));
    let pages = plans["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| read(&e["node"]["actions"], "title"))
        .collect();
    (pages, plans)
}

fn actions(plan: &str, numbers: &[i32]) -> Vec<String> {
    numbers.iter().map(|n| format!("{plan} handling {n}")).collect()
}

both!(nested_pages_per_parent, |app: TestApp| async move {
    plans_with_actions(&app).await;
    let a = |n: &[i32]| actions("Plan A", n);
    let b = |n: &[i32]| actions("Plan B", n);

    let (pages, plans) = plan_pages(&app, json!({ "first": 3 })).await;
    assert_eq!(pages[0].items, a(&[1, 2, 3]));
    assert_eq!(
        (pages[0].total, pages[0].has_previous, pages[0].has_next),
        (7, false, true)
    );
    assert_eq!(pages[1].items, b(&[1, 2]));
    assert_eq!(
        (pages[1].total, pages[1].has_previous, pages[1].has_next),
        (2, false, false)
    );
    assert_eq!(pages[2], page(&[], 0, false, false), "a plan without actions");

    // The same cursor under every parent: plan B has nothing after its 3rd action, but its
    // total is still its own.
    let end = plans["edges"][0]["node"]["actions"]["pageInfo"]["endCursor"].clone();
    let (pages, plans) = plan_pages(&app, json!({ "first": 3, "after": end })).await;
    assert_eq!(pages[0].items, a(&[4, 5, 6]));
    assert_eq!(
        (pages[0].total, pages[0].has_previous, pages[0].has_next),
        (7, true, true)
    );
    assert_eq!(pages[1], page(&[], 2, true, false), "past the end of plan B");
    assert_eq!(pages[2], page(&[], 0, false, false));

    let end = plans["edges"][0]["node"]["actions"]["pageInfo"]["endCursor"].clone();
    let (pages, plans) = plan_pages(&app, json!({ "first": 3, "after": end })).await;
    assert_eq!(pages[0].items, a(&[7]));
    assert_eq!(
        (pages[0].total, pages[0].has_previous, pages[0].has_next),
        (7, true, false),
        "plan A's last page"
    );
    assert_eq!(pages[1], page(&[], 2, true, false));

    let end = plans["edges"][0]["node"]["actions"]["pageInfo"]["endCursor"].clone();
    let (pages, _) = plan_pages(&app, json!({ "first": 3, "after": end })).await;
    let totals: Vec<i64> = pages.iter().map(|p| p.total).collect();
    assert_eq!(totals, vec![7, 2, 0], "totals past the end of every list");
    assert!(pages.iter().all(|p| p.items.is_empty() && !p.has_next));

    // Backwards.
    let (pages, plans) = plan_pages(&app, json!({ "last": 2 })).await;
    assert_eq!(pages[0].items, a(&[6, 7]));
    assert!(pages[0].has_previous && !pages[0].has_next);
    assert_eq!(pages[1].items, b(&[1, 2]));
    assert!(!pages[1].has_previous && !pages[1].has_next);
    assert_eq!(pages[2], page(&[], 0, false, false));

    let start = plans["edges"][0]["node"]["actions"]["pageInfo"]["startCursor"].clone();
    let (pages, _) = plan_pages(&app, json!({ "last": 2, "before": start })).await;
    assert_eq!(pages[0].items, a(&[4, 5]));
    assert!(pages[0].has_previous && pages[0].has_next);
    assert_eq!(pages[1].items, b(&[1, 2]), "plan B's two are before position 6");
    assert!(!pages[1].has_previous && !pages[1].has_next);
    assert_eq!(pages[2].total, 0);
});

both!(nested_default_page_size, |app: TestApp| async move {
    let fx = Fixture::new(&app.db);
    let c = fx.community("stor", "Storby").await;
    let plan = fx.plan(c, "Stor plan", PlanStatus::Adopted, 2024, 2027).await;
    for i in 1..=25 {
        fx.action(plan, &format!("Handling {i:02}")).await;
    }
    let query = r#"query($after: String) { community(slug: "stor") {
        currentPlan { actions(after: $after) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { title } } } }
        actions(after: $after) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { title } } }
    } }"#;
    let titles = |range: std::ops::RangeInclusive<i32>| -> Vec<String> {
        range.map(|n| format!("Handling {n:02}")).collect()
    };
    let data = app.data(query, json!({})).await;
    let c = &data["community"];
    for conn in [&c["currentPlan"]["actions"], &c["actions"]] {
        let p = read(conn, "title");
        assert_eq!(p.items, titles(1..=20), "20 by default");
        assert!(p.has_next && !p.has_previous);
        assert_eq!(p.total, 25);
    }
    let end = c["actions"]["pageInfo"]["endCursor"].clone();
    let data = app.data(query, json!({ "after": end })).await;
    let c = &data["community"];
    for conn in [&c["currentPlan"]["actions"], &c["actions"]] {
        let p = read(conn, "title");
        assert_eq!(p.items, titles(21..=25));
        assert!(!p.has_next && p.has_previous);
        assert_eq!(p.total, 25);
    }
});

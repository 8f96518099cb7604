//! `search`: Danish stemming and folding found from the demo data, ranking, escaped
//! highlights, visibility as every role (a draft's words are never found nor counted), the
//! index following writes at once, the same hits on SQLite and PostgreSQL, and any query
//! string answered without an error.
use lup_tests::{
    As, Backend, TestApp, both,
    fixture::{Fixture, OrganizationKind, PlanStatus, ResponseStatus, cursor, global_id},
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::assert_bad_input;

const SEARCH: &str =
    "query($q: String!, $types: [SearchType!], $first: Int, $after: String, $last: Int, $before: String) {
  search(query: $q, types: $types, first: $first, after: $after, last: $last, before: $before) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage }
    edges {
      cursor score
      highlights { field snippet }
      node {
        __typename
        ... on Community { id name }
        ... on Plan { id title }
        ... on Action { id title }
        ... on Idea { id title }
        ... on IdeaExchange { id title }
        ... on Organization { id name }
        ... on ConsultationResponse { id body }
      }
    }
  }
}";

async fn search(app: &TestApp, q: &str) -> Value {
    search_with(app, q, json!({ "first": 100 })).await
}

async fn search_with(app: &TestApp, q: &str, mut variables: Value) -> Value {
    variables["q"] = json!(q);
    app.data(SEARCH, variables).await["search"].clone()
}

/// The title (or name, or body) of a hit.
fn label(node: &Value) -> String {
    ["title", "name", "body"]
        .iter()
        .find_map(|f| node[*f].as_str())
        .unwrap_or_else(|| panic!("no title in {node:#}"))
        .to_owned()
}

/// `Type: title` of each hit, in order.
fn hits(result: &Value) -> Vec<String> {
    result["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("not a connection: {result:#}"))
        .iter()
        .map(|e| {
            format!(
                "{}: {}",
                e["node"]["__typename"].as_str().unwrap_or("?"),
                label(&e["node"])
            )
        })
        .collect()
}

fn ids(result: &Value) -> Vec<String> {
    result["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["id"].as_str().expect("id").to_owned())
        .collect()
}

both!(danish_queries_find_the_demo_data, |app: TestApp| async move {
    app.demo_communities().await;
    // Query → a hit it must find (`Type: title`), from the demo data.
    let pairs: &[(&str, &str)] = &[
        // Stemming: plural, definite and singular forms alike.
        ("shelterpladser", "Action: Shelterplads i plantagen"),
        ("shelterpladser", "Action: Shelterplads i klitplantagen"),
        ("legepladsen", "Action: Ny legeplads ved forsamlingshuset"),
        ("forsamlingshuse", "Action: Nyt tag på forsamlingshuset"),
        ("hjertestartere", "Action: Hjertestarter og førstehjælpskursus"),
        ("udviklingsplaner", "Plan: Udviklingsplan for Kaas 2024–2027"),
        ("borgerforeningen", "Organization: Saltum Borgerforening"),
        ("købmanden", "Idea: Erfaringer med at redde landsbyens købmand"),
        ("vejlerne", "Action: Guidede fugleture til Vejlerne"),
        // Short words too: sti/stier, å/åen, by/byerne.
        ("stier", "Action: Sti fra byen til stranden"),
        ("stierne", "Action: Rekreativ sti gennem plantagen mod Blokhus"),
        ("åerne", "Action: Ryå-parken – rekreativt område langs åen"),
        ("byerne stranden", "Action: Sti fra byen til stranden"),
        // Case and æ/ae, ø/oe, å/aa folding.
        ("ÅBYBRO", "Community: Aabybro"),
        ("åbybro", "Plan: Aabybro – byen ved åen. Udviklingsplan 2024–2027"),
        ("Gjoel", "Community: Gjøl"),
        ("oeland", "Community: Øland"),
        ("soender saltum", "Community: Sønder Saltum"),
        ("Koebmanden", "Action: Vi bevarer købmanden"),
        ("ryaaen", "Action: Kanorasteplads ved Ryåen"),
        ("faellesspisning", "Idea: Sådan fik vi gang i fællesspisning"),
        // Other accents stripped.
        ("cafe", "Action: Fællesrum i den gamle brugs"),
        // The last word as a prefix, as the visitor types.
        ("shelt", "Action: Shelterplads ved fjorden"),
        ("stjernek", "Idea: Mørkets aften – stjernekig i landsbyen"),
        (
            "hjertestarter førstehj",
            "Action: Hjertestarter og førstehjælpskursus",
        ),
        // Every word must match.
        (
            "shelterplads gjøl",
            "IdeaExchange: Studietur til shelterpladsen på Gjøl",
        ),
        // A community's name finds what belongs to it.
        ("shelterpladser gjøl", "Action: Shelterplads ved fjorden"),
        ("gjoel", "Action: Shelterplads ved fjorden"),
    ];
    for (query, expected) in pairs {
        let found = hits(&search(&app, query).await);
        assert!(
            found.iter().any(|h| h == expected),
            "{query:?} should find {expected:?}; found {found:#?}"
        );
    }
    // … and not what lacks one of the words, nor a prefix of a word before the last.
    let found = hits(&search(&app, "shelterplads gjøl").await);
    assert!(
        !found.iter().any(|h| h == "Action: Shelterplads i plantagen"),
        "{found:#?}"
    );
    assert!(hits(&search(&app, "shelterpl gjøl").await).is_empty());
    // Nothing is found by words that are nowhere.
    assert_eq!(search(&app, "xylofonorkester").await["totalCount"], 0);
});

both!(titles_rank_above_descriptions, |app: TestApp| async move {
    let fx = Fixture::new(&app.db);
    let gjol = fx.community("gjoel", "Gjøl").await;
    let plan = fx.plan(gjol, "Gjøl 2030", PlanStatus::Adopted, 2026, 2030).await;
    for title in [
        "Åbent bålhus",
        "Ølejr ved stranden",
        "Ærøtur",
        "Zoneplan for havnen",
    ] {
        let mut m = fx.action_model(plan, title);
        m.description = sea_orm::Set("Med plads til en shelter og kajakker.".into());
        fx.insert_action(m).await;
    }
    fx.action(plan, "Shelter ved fjorden").await;
    let result = search(&app, "shelter").await;
    assert_eq!(
        hits(&result),
        [
            "Action: Shelter ved fjorden",
            // Equal scores: by title in Danish order (Æ, Ø, Å after Z).
            "Action: Zoneplan for havnen",
            "Action: Ærøtur",
            "Action: Ølejr ved stranden",
            "Action: Åbent bålhus",
        ]
    );
    let scores: Vec<f64> = result["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["score"].as_f64().unwrap())
        .collect();
    assert_eq!(scores, [3.0, 1.0, 1.0, 1.0, 1.0]);
    // Two words: a hit on both titles beats a hit on one.
    let result = search(&app, "shelter fjorden").await;
    assert_eq!(hits(&result), ["Action: Shelter ved fjorden"]);
    assert_eq!(result["edges"][0]["score"], 6.0);
});

both!(highlights_are_escaped_and_marked, |app: TestApp| async move {
    let fx = Fixture::new(&app.db);
    let gjol = fx.community("gjoel", "Gjøl").await;
    let plan = fx.plan(gjol, "Gjøl 2030", PlanStatus::Adopted, 2026, 2030).await;
    let mut m = fx.action_model(plan, "<script>alert('x')</script> Shelter & bålplads");
    let long = format!(
        "{} Her kommer sheltere ved vandet. {}",
        "Indledning uden det søgte ord. ".repeat(20),
        "Og meget mere tekst bagefter. ".repeat(20)
    );
    m.description = sea_orm::Set(long);
    fx.insert_action(m).await;
    let result = search(&app, "shelter").await;
    let edge = &result["edges"][0];
    assert_eq!(edge["highlights"][0]["field"], "title");
    assert_eq!(
        edge["highlights"][0]["snippet"],
        "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; <mark>Shelter</mark> &amp; bålplads"
    );
    assert_eq!(edge["highlights"][1]["field"], "description");
    let snippet = edge["highlights"][1]["snippet"].as_str().unwrap();
    assert!(snippet.contains("<mark>sheltere</mark> ved vandet"), "{snippet}");
    assert!(snippet.starts_with('…') && snippet.ends_with('…'), "{snippet}");
    let shown = snippet.replace("<mark>", "").replace("</mark>", "");
    assert!(shown.chars().count() <= 170, "{shown}");
    // Cut on word boundaries: every word shown is whole.
    for word in shown.trim_matches('…').split_whitespace() {
        assert!(
            [
                "Indledning",
                "uden",
                "det",
                "søgte",
                "ord.",
                "Her",
                "kommer",
                "sheltere",
                "ved",
                "vandet.",
                "Og",
                "meget",
                "mere",
                "tekst",
                "bagefter."
            ]
            .contains(&word),
            "{word:?} in {shown}"
        );
    }
    // A script in a query is only words.
    let result = search(&app, "<script>").await;
    assert_eq!(
        hits(&result),
        ["Action: <script>alert('x')</script> Shelter & bålplads"]
    );
    assert_eq!(
        result["edges"][0]["highlights"][0]["snippet"],
        "&lt;<mark>script</mark>&gt;alert(&#39;x&#39;)&lt;/<mark>script</mark>&gt; Shelter &amp; bålplads"
    );
});

async fn community(app: &TestApp, slug: &str) -> Uuid {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    entity::community::Entity::find()
        .filter(entity::community::Column::Slug.eq(slug))
        .one(&app.db)
        .await
        .expect("read community")
        .expect("community exists")
        .id
}

both!(
    drafts_and_private_rows_are_never_found,
    |app: TestApp| async move {
        let communities = app.demo_communities().await;
        let fx = Fixture::new(&app.db);
        let (tranum, gjol, biersted) = (
            community(&app, "tranum").await,
            community(&app, "gjoel").await,
            community(&app, "biersted").await,
        );
        assert!(communities.contains(&tranum));
        let org = fx
            .organization("hemmelig-fond", "Testfonden", OrganizationKind::Foundation, None)
            .await;
        // Private and internal text is not indexed at all: a private contact, internal notes.
        fx.contact("Kirsten Hemmeligsen", false, Some(gjol)).await;
        let biersted_consultation: Uuid = {
            use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
            entity::plan::Entity::find()
                .filter(entity::plan::Column::CommunityId.eq(biersted))
                .filter(entity::plan::Column::Status.eq(PlanStatus::Consultation))
                .one(&app.db)
                .await
                .unwrap()
                .unwrap()
                .id
        };
        fx.set(
            "plan",
            biersted_consultation,
            "internal_notes",
            "Fortroligt budgetnotat",
        )
        .await;
        // Responses: the published one is public, the others for their moderators only.
        fx.response(
            biersted_consultation,
            None,
            "Flere vindmøller er ikke ønsket",
            ResponseStatus::Published,
        )
        .await;
        fx.response(
            biersted_consultation,
            None,
            "Vindmøllerne larmer for meget",
            ResponseStatus::Pending,
        )
        .await;
        fx.response(
            biersted_consultation,
            None,
            "Vindmøller overalt, ingen tak",
            ResponseStatus::Rejected,
        )
        .await;

        let staff = app.signed_in(As::Staff, &[], None).await;
        let roles = [
            ("anonymous", app.clone_handle(), false, false),
            (
                "partner",
                app.signed_in(As::Partner, &[], Some(org)).await,
                false,
                false,
            ),
            (
                "editor of Gjøl",
                app.signed_in(As::CommunityEditor, &[gjol], None).await,
                false,
                false,
            ),
            (
                "editor of Tranum",
                app.signed_in(As::CommunityEditor, &[tranum], None).await,
                true,
                false,
            ),
            (
                "editor of Biersted",
                app.signed_in(As::CommunityEditor, &[biersted], None).await,
                false,
                true,
            ),
            ("staff", staff.clone_handle(), true, true),
            ("admin", app.signed_in(As::Admin, &[], None).await, true, true),
        ];
        let everything = search(&staff, "tranum").await;
        // The draft plan "Tranum 2030" and its actions (found by "tranum", their community's name).
        let in_draft: Vec<String> = {
            use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
            let draft = entity::plan::Entity::find()
                .filter(entity::plan::Column::CommunityId.eq(tranum))
                .filter(entity::plan::Column::Status.eq(PlanStatus::Draft))
                .one(&app.db)
                .await
                .unwrap()
                .expect("Tranum's draft");
            let actions = entity::action::Entity::find()
                .filter(entity::action::Column::PlanId.eq(draft.id))
                .all(&app.db)
                .await
                .unwrap();
            std::iter::once(format!("Plan: {}", draft.title))
                .chain(actions.into_iter().map(|a| format!("Action: {}", a.title)))
                .collect()
        };
        for (role, handle, sees_draft, moderates) in &roles {
            // The draft plan "Tranum 2030" and its actions: only for Tranum's editors and staff.
            let r = search(handle, "naturcenter").await;
            assert_eq!(r["totalCount"], i32::from(*sees_draft), "{role}: {r:#}");
            let r = search(handle, "helårsboliger").await;
            let expected: Vec<&str> = if *sees_draft {
                vec!["Action: Helårsboliger til unge og tilflyttere"]
            } else {
                vec![]
            };
            assert_eq!(hits(&r), expected, "{role}");
            let r = search(handle, "tranum").await;
            let draft_hits = hits(&everything)
                .into_iter()
                .filter(|h| in_draft.contains(h))
                .count();
            assert!(draft_hits >= 2, "{everything:#}");
            let expected =
                everything["totalCount"].as_i64().unwrap() - if *sees_draft { 0 } else { draft_hits as i64 };
            assert_eq!(r["totalCount"], expected, "{role}: {r:#}");
            assert_eq!(r["edges"].as_array().unwrap().len() as i64, expected, "{role}");
            if !sees_draft {
                for h in hits(&r) {
                    assert!(!in_draft.contains(&h), "{role}: {h}");
                }
            }
            // Consultation responses: published for all, the others for their moderators.
            let r = search(handle, "vindmøller").await;
            assert_eq!(r["totalCount"], if *moderates { 3 } else { 1 }, "{role}: {r:#}");
            let r = search_with(
                handle,
                "vindmøller",
                json!({ "types": ["CONSULTATION_RESPONSE"], "first": 1 }),
            )
            .await;
            assert_eq!(r["totalCount"], if *moderates { 3 } else { 1 }, "{role}");
            // Never: private contacts, internal notes, email addresses.
            for hidden in ["Hemmeligsen", "budgetnotat", "eksempel.dk", "afsender"] {
                assert_eq!(search(handle, hidden).await["totalCount"], 0, "{role}: {hidden}");
            }
        }
    }
);

both!(
    writes_are_found_at_once_and_gone_after_delete,
    |app: TestApp| async move {
        let fx = Fixture::new(&app.db);
        let gjol = fx.community("gjoel", "Gjøl").await;
        let plan = fx.plan(gjol, "Gjøl 2030", PlanStatus::Adopted, 2026, 2030).await;
        let draft = fx.plan(gjol, "Gjøl kladde", PlanStatus::Draft, 2031, 2034).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let anonymous = app.clone_handle();
        let create = "mutation($i: CreateActionInput!) { createAction(input: $i) { action { id version } userErrors { message } } }";
        let created = staff
        .data(
            create,
            json!({ "i": { "planId": global_id("Plan", plan), "title": "Søbadeanstalt ved havnen",
                           "description": "Trapper og en badebro.", "horizon": "HERE_AND_NOW", "status": "PLANNED", "progress": 0 } }),
        )
        .await["createAction"]["action"]
        .clone();
        let id = created["id"].as_str().expect("created").to_owned();
        let r = search(&anonymous, "søbadeanstalten").await;
        assert_eq!(ids(&r), vec![id.clone()]);
        assert_eq!(
            hits(&search(&anonymous, "badebroer").await),
            ["Action: Søbadeanstalt ved havnen"]
        );

        let update = "mutation($i: UpdateActionInput!) { updateAction(input: $i) { action { version } userErrors { message } } }";
        let updated = staff
            .data(
                update,
                json!({ "i": { "id": id, "version": created["version"], "title": "Vinterbadeanstalt" } }),
            )
            .await["updateAction"]["action"]
            .clone();
        assert_eq!(search(&anonymous, "søbadeanstalt").await["totalCount"], 0);
        assert_eq!(ids(&search(&anonymous, "vinterbad").await), vec![id.clone()]);

        // An action in a draft: found by staff only, and moving the plan out of the draft shows it.
        let in_draft = staff
            .data(
                create,
                json!({ "i": { "planId": global_id("Plan", draft), "title": "Kladdebadeanstalt",
                           "horizon": "HERE_AND_NOW", "status": "IDEA", "progress": 0 } }),
            )
            .await["createAction"]["action"]["id"]
            .as_str()
            .expect("created")
            .to_owned();
        assert_eq!(search(&anonymous, "kladdebadeanstalt").await["totalCount"], 0);
        assert_eq!(ids(&search(&staff, "kladdebadeanstalt").await), [in_draft]);

        let delete = "mutation($i: DeleteActionInput!) { deleteAction(input: $i) { deletedId userErrors { message } } }";
        let deleted = staff
            .data(
                delete,
                json!({ "i": { "id": id, "version": updated["version"] } }),
            )
            .await;
        assert_eq!(deleted["deleteAction"]["deletedId"], id);
        assert_eq!(search(&staff, "vinterbadeanstalt").await["totalCount"], 0);
        assert_eq!(search(&staff, "trapper").await["totalCount"], 0);

        // A community renamed through the API is found by its new name at once, and so is
        // what belongs to it (a draft's action, for staff).
        assert_eq!(search(&staff, "kladdebadeanstalt oe").await["totalCount"], 0);
        let update_community = "mutation($i: UpdateCommunityInput!) { updateCommunity(input: $i) { community { name } userErrors { message } } }";
        let body = staff
            .data(
                update_community,
                json!({ "i": { "id": global_id("Community", gjol), "version": 1, "name": "Gjøl Ø" } }),
            )
            .await;
        assert_eq!(body["updateCommunity"]["community"]["name"], "Gjøl Ø");
        assert_eq!(
            hits(&search(&anonymous, "gjoel oe").await),
            ["Community: Gjøl Ø", "Plan: Gjøl 2030"]
        );
        assert_eq!(
            hits(&search(&staff, "kladdebadeanstalt oe").await),
            ["Action: Kladdebadeanstalt"]
        );
    }
);

both!(
    rows_written_around_the_api_are_caught_up,
    |app: TestApp| async move {
        let fx = Fixture::new(&app.db);
        let gjol = fx.community("gjoel", "Gjøl").await;
        assert_eq!(hits(&search(&app, "gjøl").await), ["Community: Gjøl"]);
        // Written straight into the database after a search: found by the next search.
        fx.idea(Some(gjol), "Fællesbrygning af øl").await;
        assert_eq!(
            hits(&search(&app, "faellesbrygning").await),
            ["Idea: Fællesbrygning af øl"]
        );
        // A row deleted around the API is not found any more.
        use sea_orm::EntityTrait;
        entity::idea::Entity::delete_many().exec(&app.db).await.unwrap();
        assert_eq!(search(&app, "faellesbrygning").await["totalCount"], 0);
        // `lup reindex` (the same function) rebuilds it all.
        let n = lup_api::search::index::rebuild(&app.db).await.unwrap();
        assert_eq!(n, 1);
        assert_eq!(hits(&search(&app, "gjøl").await), ["Community: Gjøl"]);
    }
);

both!(pages_and_types, |app: TestApp| async move {
    app.demo_communities().await;
    let all = search(&app, "sti").await;
    let total = all["totalCount"].as_i64().unwrap();
    assert!(total > 5, "{all:#}");
    // Paging through gives the same hits in the same order.
    let mut paged = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = search_with(&app, "sti", json!({ "first": 2, "after": after })).await;
        assert_eq!(page["totalCount"], total);
        paged.extend(hits(&page));
        let edges = page["edges"].as_array().unwrap().clone();
        if !page["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = Some(edges.last().unwrap()["cursor"].as_str().unwrap().to_owned());
    }
    assert_eq!(paged, hits(&all));
    // And backwards, as every connection pages (`last`/`before`).
    let mut backwards: Vec<String> = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let page = search_with(&app, "sti", json!({ "last": 2, "before": before })).await;
        assert_eq!(page["totalCount"], total);
        let mut got = hits(&page);
        got.extend(backwards);
        backwards = got;
        if !page["pageInfo"]["hasPreviousPage"].as_bool().unwrap() {
            break;
        }
        let edges = page["edges"].as_array().unwrap().clone();
        before = Some(edges[0]["cursor"].as_str().unwrap().to_owned());
    }
    assert_eq!(backwards, hits(&all));
    // Bad page arguments are refused as on every connection.
    for (variables, says) in [
        (json!({ "q": "sti", "last": 0 }), "between 1 and 100"),
        (json!({ "q": "sti", "first": 2, "last": 2 }), "not both"),
        (
            json!({ "q": "sti", "last": 2, "before": "ikke-en-markør" }),
            "not a valid cursor",
        ),
    ] {
        let (code, message) = app.error(SEARCH, variables.clone()).await;
        assert_eq!(code, "BAD_USER_INPUT", "{variables}: {message}");
        assert!(message.contains(says), "{variables}: {message}");
    }
    let past = search_with(&app, "sti", json!({ "first": 2, "after": cursor(total + 5) })).await;
    assert_eq!(past["edges"], json!([]));
    assert_eq!(past["totalCount"], total);
    // `nodes` holds the page's hits too.
    let nodes = app
        .data(
            "{ search(query: \"sti\", first: 5) { nodes { __typename } edges { node { __typename } } } }",
            json!({}),
        )
        .await;
    let edges: Vec<Value> = nodes["search"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect();
    assert_eq!(nodes["search"]["nodes"], json!(edges));
    assert_eq!(edges.len(), 5);
    // Only the types asked for.
    let plans = search_with(&app, "udviklingsplan", json!({ "types": ["PLAN"], "first": 100 })).await;
    assert!(plans["totalCount"].as_i64().unwrap() > 3);
    assert!(hits(&plans).iter().all(|h| h.starts_with("Plan: ")), "{plans:#}");
    let two = search_with(
        &app,
        "gjøl",
        json!({ "types": ["COMMUNITY", "ORGANIZATION"], "first": 100 }),
    )
    .await;
    let found = hits(&two);
    assert!(
        found.contains(&"Community: Gjøl".to_owned())
            && found.contains(&"Organization: Gjøl Bådelaug".to_owned())
    );
    assert!(
        found
            .iter()
            .all(|h| h.starts_with("Community: ") || h.starts_with("Organization: "))
    );
    // The Danish labels of the types are published with the others.
    let labels = app
        .data(
            "{ enumLabels(names: [\"SearchType\"]) { values { value label } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        labels["enumLabels"][0]["values"][6],
        json!({ "value": "CONSULTATION_RESPONSE", "label": "Høringssvar" })
    );
});

both!(hostile_queries_are_just_words, |app: TestApp| async move {
    app.demo_communities().await;
    let huge = "shelter ".repeat(1_250);
    let long_word = "ø".repeat(10_000);
    for q in [
        "",
        "   ",
        "\"",
        "'",
        "\"foo\" OR 1=1 --",
        "'; DROP TABLE search_term; --",
        "*",
        "&|!():",
        "%_%",
        "\\",
        huge.as_str(),
        long_word.as_str(),
        "🙂 ﷽ \u{202e}",
        "term >= '' OR 1",
    ] {
        let (status, body) = app.post_status(SEARCH, json!({ "q": q, "first": 10 })).await;
        assert_eq!(status, 200, "{q:?}: {body:#}");
        assert!(
            body.get("errors").is_none(),
            "{:?}: {body:#}",
            q.chars().take(40).collect::<String>()
        );
        assert!(body["data"]["search"]["totalCount"].is_number());
    }
    let blank = search(&app, "  ").await;
    assert_eq!(
        blank,
        json!({ "totalCount": 0, "pageInfo": { "hasNextPage": false, "hasPreviousPage": false }, "edges": [] })
    );
    // A NUL separates words in a search's text, sent as a variable or written in the query;
    // it is refused (BAD_USER_INPUT, never a 500) wherever else a text holds it.
    for q in ["shelter\u{0}plads", "\u{0}", "shelterplads\u{0}"] {
        let (status, body) = app.post_status(SEARCH, json!({ "q": q, "first": 10 })).await;
        assert_eq!(status, 200, "{q:?}: {body:#}");
        assert!(body.get("errors").is_none(), "{q:?}: {body:#}");
    }
    assert_eq!(
        search(&app, "shelterplads\u{0}").await["totalCount"],
        search(&app, "shelterplads").await["totalCount"]
    );
    let written = app
        .post(
            "{ search(query: \"shelter\\u0000plads\") { totalCount } }",
            json!({}),
        )
        .await;
    assert!(written.get("errors").is_none(), "{written:#}");
    assert_bad_input(
        &app,
        "query($q: String!) { search(query: $q) { totalCount } community(slug: $q) { name } }",
        json!({ "q": "gjoel\u{0}" }),
        "`$q` holds a NUL character",
    )
    .await;
    // Operators are words too, and every word must match: "or" and "1" are nowhere.
    assert!(
        search(&app, "\"shelter\" OR 1=1").await["totalCount"]
            .as_i64()
            .unwrap()
            == 0
    );
    assert!(
        search(&app, "\"shelterplads\" (plantagen)").await["totalCount"]
            .as_i64()
            .unwrap()
            >= 1
    );
    // The index is intact.
    assert!(search(&app, "shelterplads").await["totalCount"].as_i64().unwrap() >= 4);
});

both!(bad_arguments_are_refused, |app: TestApp| async move {
    for (variables, mention) in [
        (json!({ "first": 0 }), "first"),
        (json!({ "first": 101 }), "first"),
        (json!({ "first": -1 }), "first"),
        (json!({ "after": "not a cursor" }), "cursor"),
        (json!({ "after": "" }), "cursor"),
        (json!({ "after": global_id("Plan", Uuid::now_v7()) }), "cursor"),
        (json!({ "types": [] }), "types"),
    ] {
        let mut v = variables.clone();
        v["q"] = json!("shelter");
        assert_bad_input(&app, SEARCH, v, mention).await;
    }
    // Values of the wrong type or outside the enum: named by the variable or argument.
    for bad in [
        json!(["NOPE"]),
        json!("PLAN!"),
        json!([1]),
        json!([null]),
        json!({ "a": 1 }),
    ] {
        let (code, message) = app.error(SEARCH, json!({ "q": "shelter", "types": bad })).await;
        assert_eq!(code, "BAD_USER_INPUT", "{bad}: {message}");
        assert!(message.contains("types"), "{bad}: {message}");
    }
    for (query, mention) in [
        ("{ search(query: \"x\", types: [NOPE]) { totalCount } }", "NOPE"),
        ("{ search(query: \"x\", first: \"ti\") { totalCount } }", "first"),
        ("{ search(query: 5) { totalCount } }", "query"),
        ("query($q: String!) { search(query: $q) { totalCount } }", "q"),
    ] {
        let (code, message) = app.error(query, json!({})).await;
        assert_eq!(code, "BAD_USER_INPUT", "{query}: {message}");
        assert!(message.contains(mention), "{query}: {message}");
    }
    // Leaving out `query` is refused by validation, which names it.
    let body = app
        .post("{ search(types: [PLAN]) { totalCount } }", json!({}))
        .await;
    assert!(
        body["errors"][0]["message"].as_str().unwrap().contains("query"),
        "{body:#}"
    );
});

/// The same data on SQLite and PostgreSQL gives the same hits, in the same order, with the
/// same scores and highlights.
#[tokio::test]
#[cfg_attr(not(postgres_tests), ignore = "skipped: TEST_DATABASE_URL is not set")]
async fn the_same_hits_on_sqlite_and_postgres() {
    let sqlite = TestApp::spawn(Backend::Sqlite).await;
    let postgres = TestApp::spawn(Backend::Postgres).await;
    sqlite.demo_communities().await;
    postgres.demo_communities().await;
    let staff = [
        sqlite.signed_in(As::Staff, &[], None).await,
        postgres.signed_in(As::Staff, &[], None).await,
    ];
    let view = |r: &Value| -> Vec<Value> {
        r["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                json!([
                    e["node"]["__typename"],
                    label(&e["node"]),
                    e["score"],
                    e["highlights"],
                    e["cursor"]
                ])
            })
            .collect()
    };
    let mut compared = 0;
    for q in [
        "sti",
        "shelterpladser",
        "by",
        "aabybro",
        "forsamlingshus",
        "fællesspisning",
        "gjøl",
        "legepl",
        "udviklingsplan",
        "cykel",
        "natur",
        "fonde fokus",
        "å",
        "ø",
        "b",
        "2027",
        "borgerforening",
    ] {
        for (a, b) in [(&sqlite, &postgres), (&staff[0], &staff[1])] {
            let (x, y) = (search(a, q).await, search(b, q).await);
            assert_eq!(x["totalCount"], y["totalCount"], "{q}");
            assert_eq!(view(&x), view(&y), "{q}");
            compared += x["edges"].as_array().unwrap().len();
        }
    }
    assert!(compared > 200, "{compared}");
    sqlite.stop().await;
    postgres.stop().await;
}

/// Instances starting together on one PostgreSQL database whose index is in another format (or
/// none): one builds it, the others wait for it and only catch up.
#[tokio::test]
#[cfg_attr(not(postgres_tests), ignore = "skipped: TEST_DATABASE_URL is not set")]
async fn instances_starting_together_build_the_index_once() {
    use lup_api::search::index::{Ensured, FORMAT_KEY, ensure};
    use sea_orm::ConnectionTrait;
    let app = TestApp::spawn(Backend::Postgres).await;
    app.demo_communities().await;
    for round in 0..3 {
        // As after an upgrade that changed the index's format.
        app.db
            .execute_unprepared(&format!(
                "UPDATE app_meta SET value = 'old' WHERE key = '{FORMAT_KEY}'"
            ))
            .await
            .unwrap();
        let (a, b, c) = tokio::join!(ensure(&app.db), ensure(&app.db), ensure(&app.db));
        let done = [a.unwrap(), b.unwrap(), c.unwrap()];
        let built: Vec<&Ensured> = done.iter().filter(|e| matches!(e, Ensured::Built(_))).collect();
        assert_eq!(built.len(), 1, "round {round}: {done:?}");
        assert!(matches!(built[0], Ensured::Built(n) if *n > 0), "{done:?}");
        assert!(done.contains(&Ensured::CaughtUp(0)), "{done:?}");
    }
    let hits = app.data(SEARCH, json!({ "q": "Gjøl" })).await;
    assert!(
        hits["search"]["totalCount"].as_i64().is_some_and(|n| n > 0),
        "{hits}"
    );
    app.stop().await;
}

both!(
    letters_typed_with_combining_marks_are_kept_composed_and_found,
    |app: TestApp| async move {
        let fx = Fixture::new(&app.db);
        let gjol = fx.community("gjoel", "Gjøl").await;
        let plan = fx.plan(gjol, "Gjøl 2030", PlanStatus::Adopted, 2026, 2030).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        // "Å" as some keyboards send it: "A" and U+030A, the combining ring above.
        let created = staff
            .data(
                "mutation($i: CreateActionInput!) { createAction(input: $i) { action { title description } } }",
                json!({ "i": { "planId": global_id("Plan", plan), "title": "Sti til A\u{30A}gade",
                               "description": "Fra a\u{30A}en til havnen.", "horizon": "HERE_AND_NOW" } }),
            )
            .await;
        assert_eq!(
            created["createAction"]["action"],
            json!({ "title": "Sti til Ågade", "description": "Fra åen til havnen." }),
            "kept as the one letter"
        );
        for query in ["ågade", "Aagade", "A\u{30A}gade", "aaen"] {
            assert_eq!(
                hits(&search(&app, query).await),
                ["Action: Sti til Ågade"],
                "{query:?}"
            );
        }
        for text in ["ågade", "A\u{30A}GADE"] {
            let d = app
                .data(
                    "query($t: String!) { actions(first: 10, filter: { text: $t }) { nodes { title } } }",
                    json!({ "t": text }),
                )
                .await;
            assert_eq!(
                d["actions"]["nodes"],
                json!([{ "title": "Sti til Ågade" }]),
                "{text:?}"
            );
        }
    }
);

// A theme's name finds what is tagged with it (a visitor types "grøn omstilling"), after a
// tag is added or the theme renamed through the API as well.
both!(theme_names_find_what_is_tagged, |app: TestApp| async move {
    let fx = Fixture::new(&app.db);
    let gjol = fx.community("gjoel", "Gjøl").await;
    let plan = fx.plan(gjol, "Gjøl 2030", PlanStatus::Adopted, 2026, 2030).await;
    let groen = fx.theme("groen-omstilling", "Grøn omstilling").await;
    let kultur = fx.theme("kultur", "Kultur og fællesskab").await;
    let solceller = fx
        .insert_action(fx.action_model(plan, "Solceller på hallen"))
        .await;
    fx.tag_action(solceller, groen).await;
    let byfest = fx.insert_action(fx.action_model(plan, "Byfest")).await;
    let found = search(&app, "grøn omstilling").await;
    assert_eq!(hits(&found), ["Action: Solceller på hallen"], "{found:#}");
    assert_eq!(
        found["edges"][0]["highlights"],
        json!([{ "field": "themes", "snippet": "<mark>Grøn</mark> <mark>omstilling</mark>" }])
    );
    assert!(hits(&search(&app, "kultur").await).is_empty());

    // Tagged through the API: found by the theme at once.
    let editor = app.signed_in(As::CommunityEditor, &[gjol], None).await;
    let body = editor
        .data(
            "mutation($i: UpdateActionInput!) { updateAction(input: $i) { userErrors { field code } } }",
            json!({ "i": { "id": global_id("Action", byfest), "version": 1,
                           "themeIds": [global_id("Theme", kultur)] } }),
        )
        .await;
    assert_eq!(body["updateAction"]["userErrors"], json!([]), "{body}");
    // Indexed by the write itself, before any search catches up.
    let indexed = async |id: Uuid| {
        use sea_orm::EntityTrait;
        entity::search_document::Entity::find_by_id(id)
            .one(&app.db)
            .await
            .expect("query")
            .map(|d| d.body)
            .unwrap_or_default()
    };
    assert!(indexed(byfest).await.contains("Kultur og fællesskab"));
    assert_eq!(hits(&search(&app, "fællesskab").await), ["Action: Byfest"]);
    // Taken off again: not found by it.
    let body = editor
        .data(
            "mutation($i: UpdateActionInput!) { updateAction(input: $i) { userErrors { field code } } }",
            json!({ "i": { "id": global_id("Action", byfest), "version": 2, "themeIds": [] } }),
        )
        .await;
    assert_eq!(body["updateAction"]["userErrors"], json!([]), "{body}");
    assert!(!indexed(byfest).await.contains("Kultur og fællesskab"));
    assert!(hits(&search(&app, "fællesskab").await).is_empty());

    // A theme renamed: what is tagged with it is found by the new name, not the old.
    let staff = app.signed_in(As::Staff, &[], None).await;
    let body = staff
        .data(
            "mutation($i: UpdateThemeInput!) { updateTheme(input: $i) { userErrors { field code } } }",
            json!({ "i": { "id": global_id("Theme", groen), "version": 1, "name": "Klima og energi" } }),
        )
        .await;
    assert_eq!(body["updateTheme"]["userErrors"], json!([]), "{body}");
    assert!(indexed(solceller).await.contains("Klima og energi"));
    assert_eq!(
        hits(&search(&app, "klima energi").await),
        ["Action: Solceller på hallen"]
    );
    assert!(hits(&search(&app, "omstilling").await).is_empty());
});

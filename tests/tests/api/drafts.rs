//! Draft plans and everything under them are unreachable for anonymous callers: by every
//! list, every relation, `node`/`nodes` and `totalCount`. Plans in consultation are public,
//! with what hangs under them, exactly like adopted ones (but they are not opportunities for
//! partners, nor the current plan). Private contacts are never shown; public ones are.
use lup_tests::{
    TestApp, both,
    fixture::{
        DepartmentRole, Fixture, MemberRole, OrganizationKind, PartnershipStatus, Party, PlanStatus, date,
        global_id,
    },
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{list_texts, texts};

/// The rows of the draft (hidden) and of the plan in consultation (public), by GraphQL type,
/// for `node` and `nodes`.
struct Hidden {
    ids: Vec<(&'static str, Uuid)>,
    consultation: Vec<(&'static str, Uuid)>,
}

/// Gjøl with an adopted plan (one public action, partnership, event …) beside a draft and a
/// consultation plan, each with the same kinds of rows under it.
async fn programme(app: &TestApp) -> Hidden {
    let fx = Fixture::new(&app.db);
    let gjol = fx.community("gjoel", "Gjøl").await;
    let birkelse = fx.community("birkelse", "Birkelse").await;
    let natur = fx.theme("natur", "Natur og friluftsliv").await;
    let vand = fx.department("vand-og-natur", "Vand og Natur").await;
    let forening = fx
        .organization(
            "gjoel-borgerforening",
            "Gjøl Borgerforening",
            OrganizationKind::Association,
            Some(gjol),
        )
        .await;

    // The public side.
    let adopted = fx
        .plan(gjol, "Offentlig plan", PlanStatus::Adopted, 2024, 2027)
        .await;
    fx.tag_plan(adopted, natur).await;
    fx.involvement(adopted, forening).await;
    let mut m = fx.action_model(adopted, "Offentlig handling");
    m.seeking_partners = sea_orm::Set(true);
    m.lead_organization_id = sea_orm::Set(Some(forening));
    let public_action = fx.insert_action(m).await;
    fx.tag_action(public_action, natur).await;
    fx.action_department(public_action, vand, DepartmentRole::Lead)
        .await;
    fx.update(public_action, "Offentlig opdatering", date(2025, 6, 1))
        .await;
    let p = fx
        .partnership(
            Some(public_action),
            None,
            "Offentligt partnerskab",
            PartnershipStatus::Active,
        )
        .await;
    fx.member(p, Party::Community(gjol), MemberRole::Lead).await;
    fx.member(p, Party::Organization(forening), MemberRole::Partner)
        .await;
    fx.member(p, Party::Department(vand), MemberRole::Advisor).await;
    fx.event(gjol, Some(adopted), "Offentligt møde", date(2024, 3, 1))
        .await;

    let mut rows = [Vec::new(), Vec::new()];
    let mut hidden_actions = Vec::new();
    for (n, (status, word, from)) in [
        (PlanStatus::Draft, "Kladde", 2028),
        (PlanStatus::Consultation, "Høring", 2026),
    ]
    .into_iter()
    .enumerate()
    {
        let hidden = &mut rows[n];
        let plan = fx
            .plan(gjol, &format!("{word}plan"), status, from, from + 3)
            .await;
        hidden.push(("Plan", plan));
        fx.tag_plan(plan, natur).await;
        hidden.push(("PlanInvolvement", fx.involvement(plan, forening).await));
        let mut m = fx.action_model(plan, &format!("{word}handling"));
        m.seeking_partners = sea_orm::Set(true);
        m.lead_organization_id = sea_orm::Set(Some(forening));
        let action = fx.insert_action(m).await;
        hidden.push(("Action", action));
        hidden_actions.push(action);
        fx.tag_action(action, natur).await;
        hidden.push((
            "ActionDepartment",
            fx.action_department(action, vand, DepartmentRole::Support).await,
        ));
        hidden.push((
            "ActionUpdate",
            fx.update(action, &format!("{word}opdatering"), date(2025, 7, 1))
                .await,
        ));
        for (around_action, around_plan, title) in [
            (Some(action), None, format!("{word}partnerskab om handlingen")),
            (None, Some(plan), format!("{word}partnerskab om planen")),
        ] {
            let p = fx
                .partnership(around_action, around_plan, &title, PartnershipStatus::Active)
                .await;
            hidden.push(("Partnership", p));
            for (party, role) in [
                (Party::Community(gjol), MemberRole::Lead),
                (Party::Organization(forening), MemberRole::Partner),
                (Party::Department(vand), MemberRole::Advisor),
            ] {
                hidden.push(("PartnershipMember", fx.member(p, party, role).await));
            }
        }
        let event = fx
            .event(gjol, Some(plan), &format!("{word}møde"), date(2025, 2, 1))
            .await;
        fx.event_organization(event, forening).await;
        hidden.push(("EngagementEvent", event));
    }

    // An exchange that led to a public action and to the others.
    let mut results = vec![public_action];
    results.extend(&hidden_actions);
    fx.exchange(None, birkelse, &[gjol], "Studietur til Gjøl", &results)
        .await;
    let [hidden, consultation] = rows;
    Hidden {
        ids: hidden,
        consultation,
    }
}

const LISTS: &str = r#"{
  plans(first: 10) { totalCount edges { node { title } } }
  draftPlans: plans(first: 10, filter: { statuses: [DRAFT, CONSULTATION] }) { totalCount edges { node { title } } }
  laterPlans: plans(first: 10, filter: { year: 2029 }) { totalCount edges { node { title } } }
  actions(first: 10) { totalCount edges { node { title } } }
  seeking: actions(first: 10, filter: { seekingPartners: true }) { totalCount edges { node { title } } }
  opportunities(first: 10) { totalCount edges { node { title } } }
  allOpportunities: opportunities(first: 10, filter: { statuses: [IDEA, PLANNED, IN_PROGRESS, COMPLETED, PAUSED, DROPPED] }) { totalCount edges { node { title } } }
  partnerships(first: 10) { totalCount edges { node { title } } }
  engagementEvents(first: 10) { totalCount edges { node { title } } }
  ideaExchanges(first: 10) { totalCount edges { node { title resultingActions { title } } } }
}"#;

const RELATIONS: &str = r#"{
  community(slug: "gjoel") {
    currentPlan { title }
    plans(first: 10) { totalCount edges { node { title
      actions(first: 10) { totalCount edges { node { title updates(first: 10) { totalCount edges { node { body } } } departments { role } partnerships(first: 10) { totalCount edges { node { title members { role } } } } } } }
      partnerships(first: 10) { totalCount edges { node { title } } }
      engagementEvents(first: 10) { totalCount edges { node { title } } }
      involvement { role }
    } } }
    actions(first: 10) { totalCount edges { node { title originExchange { title resultingActions { title } } } } }
    partnerships(first: 10) { totalCount edges { node { title } } }
    engagementEvents(first: 10) { totalCount edges { node { title } } }
    exchanges(first: 10) { totalCount edges { node { title resultingActions { title } } } }
  }
  themes(first: 10) { edges { node {
    plans(first: 10) { totalCount edges { node { title } } }
    actions(first: 10) { totalCount edges { node { title } } }
  } } }
  departments(first: 10) { edges { node {
    actions(first: 10) { totalCount edges { node { title } } }
    partnerships(first: 10) { totalCount edges { node { title } } }
  } } }
  organizations(first: 10) { edges { node {
    ledActions(first: 10) { totalCount edges { node { title } } }
    partnerships(first: 10) { totalCount edges { node { title } } }
    planInvolvement { plan { title } }
  } } }
}"#;

/// The titles of a connection in any order (sorted).
fn sorted(conn: &Value) -> Vec<String> {
    let mut t = titles(conn);
    t.sort();
    t
}

fn titles(conn: &Value) -> Vec<String> {
    let items = texts(conn, "title");
    assert_eq!(
        conn["totalCount"].as_i64().unwrap(),
        items.len() as i64,
        "totalCount counts only what is listed: {conn:#}"
    );
    items
}

both!(draft_plans_are_in_no_list, |app: TestApp| async move {
    programme(&app).await;
    let d = app.data(LISTS, json!({})).await;
    assert_eq!(titles(&d["plans"]), ["Høringplan", "Offentlig plan"]);
    assert_eq!(titles(&d["draftPlans"]), ["Høringplan"]);
    assert_eq!(titles(&d["laterPlans"]), ["Høringplan"]);
    assert_eq!(titles(&d["actions"]), ["Høringhandling", "Offentlig handling"]);
    assert_eq!(titles(&d["seeking"]), ["Høringhandling", "Offentlig handling"]);
    // Opportunities are the actions of adopted plans only.
    assert_eq!(titles(&d["opportunities"]), ["Offentlig handling"]);
    assert_eq!(titles(&d["allOpportunities"]), ["Offentlig handling"]);
    assert_eq!(
        sorted(&d["partnerships"]),
        [
            "Høringpartnerskab om handlingen",
            "Høringpartnerskab om planen",
            "Offentligt partnerskab"
        ]
    );
    assert_eq!(sorted(&d["engagementEvents"]), ["Høringmøde", "Offentligt møde"]);
    let exchange = &d["ideaExchanges"]["edges"][0]["node"];
    let mut led_to = list_texts(&exchange["resultingActions"], "title");
    led_to.sort();
    assert_eq!(
        led_to,
        ["Høringhandling", "Offentlig handling"],
        "the public actions the exchange led to, not the draft's"
    );

    // Filters that would pick the draft's rows out find nothing either.
    for (list, filter) in [
        ("plans", json!({ "text": "kladde" })),
        ("plans", json!({ "year": 2031 })),
        ("plans", json!({ "statuses": ["DRAFT"] })),
        (
            "actions",
            json!({ "text": "kladdehandling", "statuses": ["PLANNED"], "year": 2031 }),
        ),
        ("actions", json!({ "year": 2031 })),
        ("partnerships", json!({ "text": "kladdepartnerskab" })),
        ("engagementEvents", json!({ "text": "kladdemøde" })),
    ] {
        let query = format!(
            "query($f: {}Filter) {{ {list}(filter: $f) {{ totalCount edges {{ node {{ __typename }} }} }} }}",
            match list {
                "plans" => "Plan",
                "actions" => "Action",
                "partnerships" => "Partnership",
                _ => "EngagementEvent",
            }
        );
        let d = app.data(&query, json!({ "f": filter })).await;
        assert_eq!(d[list]["totalCount"], 0, "{list} with {filter}");
        assert_eq!(d[list]["edges"], json!([]));
    }
});

both!(draft_plans_are_in_no_relation, |app: TestApp| async move {
    programme(&app).await;
    let d = app.data(RELATIONS, json!({})).await;
    let c = &d["community"];
    // The plan in force; a plan in consultation is public but not current.
    assert_eq!(c["currentPlan"]["title"], "Offentlig plan");
    // Newest period first.
    assert_eq!(titles(&c["plans"]), ["Høringplan", "Offentlig plan"]);
    let hearing = &c["plans"]["edges"][0]["node"];
    assert_eq!(titles(&hearing["actions"]), ["Høringhandling"]);
    let action = &hearing["actions"]["edges"][0]["node"];
    assert_eq!(
        titles(&action["partnerships"]),
        ["Høringpartnerskab om handlingen"]
    );
    assert_eq!(action["updates"]["totalCount"], 1);
    assert_eq!(action["departments"].as_array().unwrap().len(), 1);
    assert_eq!(titles(&hearing["partnerships"]), ["Høringpartnerskab om planen"]);
    assert_eq!(titles(&hearing["engagementEvents"]), ["Høringmøde"]);
    assert_eq!(hearing["involvement"].as_array().unwrap().len(), 1);
    let plan = &c["plans"]["edges"][1]["node"];
    assert_eq!(titles(&plan["actions"]), ["Offentlig handling"]);
    let action = &plan["actions"]["edges"][0]["node"];
    assert_eq!(action["updates"]["totalCount"], 1);
    assert_eq!(
        action["updates"]["edges"][0]["node"]["body"],
        "Offentlig opdatering"
    );
    assert_eq!(action["departments"].as_array().unwrap().len(), 1);
    assert_eq!(titles(&action["partnerships"]), ["Offentligt partnerskab"]);
    assert_eq!(
        action["partnerships"]["edges"][0]["node"]["members"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(titles(&plan["partnerships"]), Vec::<String>::new());
    assert_eq!(titles(&plan["engagementEvents"]), ["Offentligt møde"]);
    assert_eq!(plan["involvement"].as_array().unwrap().len(), 1);

    assert_eq!(titles(&c["actions"]), ["Høringhandling", "Offentlig handling"]);
    let both_actions = ["Høringhandling", "Offentlig handling"];
    for a in c["actions"]["edges"].as_array().unwrap() {
        let origin = &a["node"]["originExchange"];
        assert_eq!(origin["title"], "Studietur til Gjøl");
        let mut led_to = list_texts(&origin["resultingActions"], "title");
        led_to.sort();
        assert_eq!(led_to, both_actions);
    }
    let partnerships = [
        "Høringpartnerskab om handlingen",
        "Høringpartnerskab om planen",
        "Offentligt partnerskab",
    ];
    assert_eq!(sorted(&c["partnerships"]), partnerships);
    assert_eq!(sorted(&c["engagementEvents"]), ["Høringmøde", "Offentligt møde"]);
    let exchange = &c["exchanges"]["edges"][0]["node"];
    let mut led_to = list_texts(&exchange["resultingActions"], "title");
    led_to.sort();
    assert_eq!(led_to, both_actions);

    let only = |list: &Value, field: &str, expected: &[&str]| {
        let edges = list["edges"].as_array().unwrap();
        assert_eq!(edges.len(), 1, "{list:#}");
        assert_eq!(sorted(&edges[0]["node"][field]), expected, "{field}");
    };
    only(&d["themes"], "plans", &["Høringplan", "Offentlig plan"]);
    only(&d["themes"], "actions", &both_actions);
    only(&d["departments"], "actions", &both_actions);
    only(&d["departments"], "partnerships", &partnerships);
    only(&d["organizations"], "ledActions", &both_actions);
    only(&d["organizations"], "partnerships", &partnerships);
    let involvement = &d["organizations"]["edges"][0]["node"]["planInvolvement"];
    let mut plans: Vec<&str> = involvement
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["plan"]["title"].as_str().unwrap())
        .collect();
    plans.sort();
    assert_eq!(
        plans,
        ["Høringplan", "Offentlig plan"],
        "the involvement in the public plans, not in the draft"
    );
});

both!(draft_plans_are_not_found_by_id, |app: TestApp| async move {
    let hidden = programme(&app).await;
    assert_eq!(hidden.ids.len(), 14);
    assert_eq!(hidden.consultation.len(), 14);
    let query = "query($id: ID!) { node(id: $id) { __typename id } }";
    let mut ids = Vec::new();
    for (type_name, uuid) in &hidden.ids {
        let id = global_id(type_name, *uuid);
        let d = app.data(query, json!({ "id": id })).await;
        assert!(d["node"].is_null(), "node({type_name}) of a draft plan: {d:#}");
        ids.push(id);
    }
    // Every row of the plan in consultation is public by ID.
    let mut public = Vec::new();
    for (type_name, uuid) in &hidden.consultation {
        let id = global_id(type_name, *uuid);
        let d = app.data(query, json!({ "id": id })).await;
        assert_eq!(
            d["node"]["__typename"], *type_name,
            "node({type_name}) of a plan in consultation: {d:#}"
        );
        public.push(id);
    }
    let d = app
        .data(
            "query($ids: [ID!]!) { nodes(ids: $ids) { __typename } }",
            json!({ "ids": public }),
        )
        .await;
    assert!(
        d["nodes"].as_array().unwrap().iter().all(|n| n.is_object()),
        "{d:#}"
    );
    let d = app
        .data(
            "query($ids: [ID!]!) { nodes(ids: $ids) { __typename } }",
            json!({ "ids": ids }),
        )
        .await;
    let nodes = d["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), ids.len());
    assert!(nodes.iter().all(Value::is_null), "{d:#}");

    // Filters by a hidden plan's ID find nothing.
    let (_, plan) = hidden.ids[0];
    let d = app
        .data(
            "query($ids: [ID!]!) { actions(filter: { planIds: $ids }) { totalCount edges { node { title } } } }",
            json!({ "ids": [global_id("Plan", plan)] }),
        )
        .await;
    assert_eq!(d["actions"]["totalCount"], 0);
});

both!(private_contacts_are_never_shown, |app: TestApp| async move {
    let fx = Fixture::new(&app.db);
    let gjol = fx.community("gjoel", "Gjøl").await;
    let forening = fx
        .organization(
            "gjoel-borgerforening",
            "Gjøl Borgerforening",
            OrganizationKind::Association,
            Some(gjol),
        )
        .await;
    let vand = fx.department("vand-og-natur", "Vand og Natur").await;
    let mut public = Vec::new();
    let mut private = Vec::new();
    type Owner = (&'static str, fn(Uuid) -> Party, Uuid);
    let parties: [Owner; 3] = [
        ("Community", Party::Community, gjol),
        ("Organization", Party::Organization, forening),
        ("Department", Party::Department, vand),
    ];
    for (name, party, id) in parties {
        public.push(fx.contact_of(&format!("Offentlig {name}"), true, party(id)).await);
        private.push(fx.contact_of(&format!("Privat {name}"), false, party(id)).await);
    }

    let d = app
        .data(
            r#"{
              community(slug: "gjoel") { contacts { id name email phone isPublic } }
              organizations { edges { node { contacts { name } } } }
              departments { edges { node { contacts { name } } } }
            }"#,
            json!({}),
        )
        .await;
    let contacts = &d["community"]["contacts"];
    assert_eq!(list_texts(contacts, "name"), ["Offentlig Community"]);
    assert_eq!(contacts[0]["isPublic"], true);
    assert_eq!(contacts[0]["email"], "offentlig.community@eksempel.dk");
    assert_eq!(
        list_texts(&d["organizations"]["edges"][0]["node"]["contacts"], "name"),
        ["Offentlig Organization"]
    );
    assert_eq!(
        list_texts(&d["departments"]["edges"][0]["node"]["contacts"], "name"),
        ["Offentlig Department"]
    );

    let query = "query($id: ID!) { node(id: $id) { ... on Contact { name } } }";
    for (id, name) in public.iter().zip(["Community", "Organization", "Department"]) {
        let d = app.data(query, json!({ "id": global_id("Contact", *id) })).await;
        assert_eq!(d["node"]["name"], format!("Offentlig {name}"));
    }
    for id in &private {
        let d = app.data(query, json!({ "id": global_id("Contact", *id) })).await;
        assert!(d["node"].is_null(), "a private contact by ID");
    }
    let ids: Vec<String> = private.iter().map(|id| global_id("Contact", *id)).collect();
    let d = app
        .data(
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            json!({ "ids": ids }),
        )
        .await;
    assert_eq!(d["nodes"], json!([null, null, null]));
});

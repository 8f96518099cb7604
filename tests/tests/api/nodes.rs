//! `node(id)` and `nodes(ids)`: every object with a global ID can be fetched again by it.
use lup_tests::{
    As, TestApp, both,
    fixture::{
        DepartmentRole, Fixture, MemberRole, OrganizationKind, PartnershipStatus, Party, PlanStatus,
        base64url, date, global_id,
    },
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::assert_bad_input;

/// One visible object of every Node type, and one private contact.
async fn one_of_each(app: &TestApp) -> Uuid {
    let fx = Fixture::new(&app.db);
    let gjol = fx.community("gjoel", "Gjøl").await;
    let birkelse = fx.community("birkelse", "Birkelse").await;
    fx.contact("Mette Sørensen", true, Some(gjol)).await;
    let private = fx.contact("Hemmelig Person", false, Some(gjol)).await;
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
    let plan = fx
        .plan(gjol, "Udviklingsplan for Gjøl", PlanStatus::Adopted, 2024, 2027)
        .await;
    fx.tag_plan(plan, natur).await;
    fx.involvement(plan, forening).await;
    fx.event(gjol, Some(plan), "Borgermøde", date(2024, 3, 10)).await;
    let action = fx.action(plan, "Shelterplads").await;
    fx.tag_action(action, natur).await;
    fx.action_department(action, vand, DepartmentRole::Lead).await;
    fx.update(action, "Fundamentet er støbt", date(2025, 5, 1)).await;
    let p = fx
        .partnership(
            Some(action),
            None,
            "Shelterpartnerskabet",
            PartnershipStatus::Active,
        )
        .await;
    fx.member(p, Party::Organization(forening), MemberRole::Lead)
        .await;
    let idea = fx.idea(Some(gjol), "Fællesspisning").await;
    fx.exchange(Some(idea), gjol, &[birkelse], "Studietur", &[action])
        .await;
    private
}

const IDS: &str = r#"{
  communities(first: 1, filter: { text: "gjøl" }) { edges { node { id contacts { id } } } }
  organizations(first: 1) { edges { node { id } } }
  departments(first: 1) { edges { node { id } } }
  themes(first: 1) { edges { node { id } } }
  plans(first: 1) { edges { node { id involvement { id } } } }
  engagementEvents(first: 1) { edges { node { id } } }
  actions(first: 1) { edges { node { id departments { id } updates(first: 1) { edges { node { id } } } } } }
  partnerships(first: 1) { edges { node { id members { id } } } }
  ideas(first: 1) { edges { node { id } } }
  ideaExchanges(first: 1) { edges { node { id } } }
}"#;

/// (type name, global ID) of every Node type, read from lists and relations.
async fn ids(app: &TestApp) -> Vec<(&'static str, String)> {
    let d = app.data(IDS, json!({})).await;
    let first = |list: &str| d[list]["edges"][0]["node"].clone();
    let s = |v: &Value| v.as_str().unwrap_or_else(|| panic!("no ID: {d:#}")).to_owned();
    let action = first("actions");
    vec![
        ("Community", s(&first("communities")["id"])),
        ("Contact", s(&first("communities")["contacts"][0]["id"])),
        ("Organization", s(&first("organizations")["id"])),
        ("Department", s(&first("departments")["id"])),
        ("Theme", s(&first("themes")["id"])),
        ("Plan", s(&first("plans")["id"])),
        ("PlanInvolvement", s(&first("plans")["involvement"][0]["id"])),
        ("EngagementEvent", s(&first("engagementEvents")["id"])),
        ("Action", s(&action["id"])),
        ("ActionDepartment", s(&action["departments"][0]["id"])),
        ("ActionUpdate", s(&action["updates"]["edges"][0]["node"]["id"])),
        ("Partnership", s(&first("partnerships")["id"])),
        ("PartnershipMember", s(&first("partnerships")["members"][0]["id"])),
        ("Idea", s(&first("ideas")["id"])),
        ("IdeaExchange", s(&first("ideaExchanges")["id"])),
    ]
}

/// `{ __typename id ... on T { typed: id } }` for every Node type.
fn selection() -> String {
    let types = [
        "Community",
        "Contact",
        "Organization",
        "Department",
        "Theme",
        "Plan",
        "PlanInvolvement",
        "EngagementEvent",
        "Action",
        "ActionDepartment",
        "ActionUpdate",
        "Partnership",
        "PartnershipMember",
        "Idea",
        "IdeaExchange",
    ];
    let fragments: String = types
        .iter()
        .map(|t| format!(" ... on {t} {{ typed{t}: id }}"))
        .collect();
    format!("{{ __typename id{fragments} }}")
}

both!(node_round_trip_for_every_type, |app: TestApp| async move {
    one_of_each(&app).await;
    let ids = ids(&app).await;
    let query = format!("query($id: ID!) {{ node(id: $id) {} }}", selection());
    let mut seen = std::collections::HashSet::new();
    for (type_name, id) in &ids {
        assert!(seen.insert(id.clone()), "IDs are unique across types: {id}");
        let d = app.data(&query, json!({ "id": id })).await;
        let node = &d["node"];
        assert_eq!(node["__typename"], *type_name, "node({id})");
        assert_eq!(node["id"], *id);
        assert_eq!(
            node[format!("typed{type_name}")],
            *id,
            "the `... on {type_name}` fragment applies"
        );
    }
    assert_eq!(ids.len(), 15);
});

both!(nodes_keep_order_and_null_unknown, |app: TestApp| async move {
    let private = one_of_each(&app).await;
    let ids = ids(&app).await;
    let query = format!("query($ids: [ID!]!) {{ nodes(ids: $ids) {} }}", selection());

    let unknown_plan = global_id("Plan", Uuid::now_v7());
    let private_contact = global_id("Contact", private);
    let mut asked: Vec<String> = ids.iter().rev().map(|(_, id)| id.clone()).collect();
    asked.insert(3, unknown_plan.clone());
    asked.push(private_contact);
    asked.push(ids[0].1.clone()); // the same ID twice
    let d = app.data(&query, json!({ "ids": asked })).await;
    let got = d["nodes"].as_array().unwrap();
    assert_eq!(got.len(), asked.len());
    for (i, id) in asked.iter().enumerate() {
        if *id == unknown_plan || i == asked.len() - 2 {
            assert!(got[i].is_null(), "nodes[{i}] ({id}) is null: {:#}", got[i]);
        } else {
            assert_eq!(got[i]["id"], *id, "nodes[{i}] in the order asked");
        }
    }
    assert_eq!(got[0]["__typename"], "IdeaExchange");
    assert_eq!(got.last().unwrap()["__typename"], "Community");

    // The same ID alone, and no IDs at all.
    let community = ids[0].1.clone();
    let d = app
        .data(
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": community }),
        )
        .await;
    assert_eq!(d["node"]["id"], community);
    let d = app
        .data(
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            json!({ "ids": [] }),
        )
        .await;
    assert_eq!(d["nodes"], json!([]));

    // At most 100 IDs.
    let hundred: Vec<&str> = std::iter::repeat_n(community.as_str(), 100).collect();
    let d = app
        .data(
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            json!({ "ids": hundred }),
        )
        .await;
    assert_eq!(d["nodes"].as_array().unwrap().len(), 100);
    let too_many: Vec<&str> = std::iter::repeat_n(community.as_str(), 101).collect();
    assert_bad_input(
        &app,
        "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
        json!({ "ids": too_many }),
        "`ids`",
    )
    .await;
});

both!(
    node_of_unknown_or_mistyped_id_is_null,
    |app: TestApp| async move {
        let private = one_of_each(&app).await;
        let ids = ids(&app).await;
        let query = "query($id: ID!) { node(id: $id) { __typename id } }";
        let row = |type_name: &str| {
            // The global ID of the one row of this type, as the lists gave it.
            ids.iter().find(|(t, _)| *t == type_name).unwrap().1.clone()
        };
        for type_name in [
            "Plan",
            "Action",
            "Community",
            "Contact",
            "Partnership",
            "IdeaExchange",
        ] {
            let d = app
                .data(query, json!({ "id": global_id(type_name, Uuid::now_v7()) }))
                .await;
            assert!(d["node"].is_null(), "an unknown {type_name}");
        }
        let d = app
            .data(query, json!({ "id": global_id("Contact", private) }))
            .await;
        assert!(d["node"].is_null(), "a private contact");

        // The community's UUID under other type names finds nothing.
        let community = app
            .data(r#"{ community(slug: "gjoel") { id } }"#, json!({}))
            .await["community"]["id"]
            .clone();
        assert_eq!(community, row("Community"));
        let gjol = app.db.clone();
        let uuid = {
            use sea_orm::EntityTrait;
            entity::community::Entity::find()
                .all(&gjol)
                .await
                .unwrap()
                .into_iter()
                .find(|c| c.slug == "gjoel")
                .unwrap()
                .id
        };
        assert_eq!(global_id("Community", uuid), community.as_str().unwrap());
        for other in ["Plan", "Organization", "Theme", "Idea"] {
            let d = app.data(query, json!({ "id": global_id(other, uuid) })).await;
            assert!(d["node"].is_null(), "a community's UUID as a {other}");
        }
        // The IDs of the other types of ours, with a UUID no row of theirs has: null.
        for other in [
            "Account",
            "ApiKey",
            "AuditLogEntry",
            "WebhookEndpoint",
            "WebhookDelivery",
            "EngagementWeights",
        ] {
            let d = app.data(query, json!({ "id": global_id(other, uuid) })).await;
            assert!(d["node"].is_null(), "an ID of a {other}: {d}");
        }
        // One object, one ID: the UUID written another way is not an ID of ours.
        let upper = uuid.hyphenated().to_string().to_uppercase();
        for text in [
            format!("Community:{upper}"),
            format!("Community:{}", uuid.simple()),
            format!("Community:{{{uuid}}}"),
            format!("Community:urn:uuid:{uuid}"),
            format!("Unknown:{uuid}"),
        ] {
            assert_bad_input(
                &app,
                query,
                json!({ "id": base64url(text.as_bytes()) }),
                "is not a valid ID",
            )
            .await;
        }
    }
);

/// The caller's own account's ID.
async fn own_account(caller: &TestApp) -> String {
    let d = caller.data("{ viewer { account { id } } }", json!({})).await;
    d["viewer"]["account"]["id"]
        .as_str()
        .expect("an account")
        .to_owned()
}

both!(
    node_gives_accounts_keys_the_audit_log_and_webhooks_to_whom_their_lists_are_for,
    |app: TestApp| async move {
        let fx = Fixture::new(&app.db);
        let gjol = fx.community("gjoel", "Gjøl").await;
        let ours = fx
            .organization(
                "gjoel-borgerforening",
                "Gjøl Borgerforening",
                OrganizationKind::Association,
                Some(gjol),
            )
            .await;
        let theirs = fx
            .organization(
                "fjerritslev-erhvervsforening",
                "Fjerritslev Erhvervsforening",
                OrganizationKind::Business,
                None,
            )
            .await;
        let (endpoint, delivery) = fx.webhook(ours).await;
        let (their_endpoint, their_delivery) = fx.webhook(theirs).await;
        let anonymous = app.signed_in(As::Anonymous, &[], None).await;
        let partner = app.signed_in(As::Partner, &[], Some(ours)).await;
        let editor = app.signed_in(As::CommunityEditor, &[gjol], None).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let admin = app.signed_in(As::Admin, &[], None).await;

        let (editor_account, staff_account) = (own_account(&editor).await, own_account(&staff).await);
        let listed = admin
            .data(
                "{ apiKeys(first: 1) { nodes { id } } auditLog(first: 1) { nodes { id } } }",
                json!({}),
            )
            .await;
        let key = listed["apiKeys"]["nodes"][0]["id"]
            .as_str()
            .expect("the partner's key");
        let entry = listed["auditLog"]["nodes"][0]["id"].as_str().expect("a sign-in");
        let endpoint = global_id("WebhookEndpoint", endpoint);
        let delivery = global_id("WebhookDelivery", delivery);
        let their_endpoint = global_id("WebhookEndpoint", their_endpoint);
        let their_delivery = global_id("WebhookDelivery", their_delivery);

        // (ID, who gets it: anonymous, partner, editor, staff, admin).
        let cases: [(&str, &str, [bool; 5]); 8] = [
            ("Account", &editor_account, [false, false, true, false, true]),
            ("Account", &staff_account, [false, false, false, true, true]),
            ("ApiKey", key, [false, false, false, false, true]),
            ("AuditLogEntry", entry, [false, false, false, true, true]),
            ("WebhookEndpoint", &endpoint, [false, true, false, true, true]),
            ("WebhookDelivery", &delivery, [false, true, false, true, true]),
            (
                "WebhookEndpoint",
                &their_endpoint,
                [false, false, false, true, true],
            ),
            (
                "WebhookDelivery",
                &their_delivery,
                [false, false, false, true, true],
            ),
        ];
        let callers = [&anonymous, &partner, &editor, &staff, &admin];
        let query = "query($id: ID!) { node(id: $id) { __typename id } }";
        for (type_name, id, gets) in cases {
            for (caller, gets) in callers.iter().zip(gets) {
                let d = caller.data(query, json!({ "id": id })).await;
                if gets {
                    assert_eq!(d["node"]["__typename"], type_name, "{type_name} {id}");
                    assert_eq!(d["node"]["id"], id);
                } else {
                    assert!(d["node"].is_null(), "{type_name} {id}: {d}");
                }
            }
            // `nodes` answers as `node` does.
            let d = admin
                .data(
                    "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
                    json!({ "ids": [id, id] }),
                )
                .await;
            assert_eq!(d["nodes"], json!([{ "id": id }, { "id": id }]));
        }

        // An admin client refetches an account's fields by its ID alone.
        let d = admin
            .data(
                "query($id: ID!) { node(id: $id) { ... on Account { role disabled } } }",
                json!({ "id": staff_account }),
            )
            .await;
        assert_eq!(d["node"], json!({ "role": "STAFF", "disabled": false }));
    }
);

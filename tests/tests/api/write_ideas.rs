//! Writing ideas (with their themes) and idea exchanges (with their participants and the
//! actions they led to): editors for their own communities, staff for everything, ideas of
//! organisations alone only staff. Lists are replaced in the idea's or exchange's own
//! transaction and recorded in its audit entry; bad input changes nothing.
use entity::{idea, idea_exchange, idea_exchange_action, idea_exchange_participant, idea_theme};
use lup_tests::{
    As, TestApp, both,
    fixture::{Fixture, OrganizationKind, PlanStatus, global_id},
};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use uuid::Uuid;

const CREATE_IDEA: &str = "mutation($i: CreateIdeaInput!) { createIdea(input: $i) {
    idea { id title description version community { slug } organization { slug } themes { slug } }
    userErrors { field code message } } }";
const UPDATE_IDEA: &str = "mutation($i: UpdateIdeaInput!) { updateIdea(input: $i) {
    idea { id title description version community { slug } organization { slug } themes { slug } }
    userErrors { field code message } } }";
const DELETE_IDEA: &str = "mutation($i: DeleteIdeaInput!) { deleteIdea(input: $i) {
    deletedId userErrors { field code message } } }";
const IDEA: &str = "query($id: ID!) { node(id: $id) { ... on Idea { title description version
    community { slug } organization { slug } themes { slug } } } }";

const CREATE_EXCHANGE: &str = "mutation($i: CreateIdeaExchangeInput!) { createIdeaExchange(input: $i) {
    ideaExchange { id title kind occurredOn outcome version idea { title } initiator { slug }
                   participants { slug } resultingActions { title } }
    userErrors { field code message } } }";
const UPDATE_EXCHANGE: &str = "mutation($i: UpdateIdeaExchangeInput!) { updateIdeaExchange(input: $i) {
    ideaExchange { id title kind occurredOn outcome version idea { title } initiator { slug }
                   participants { slug } resultingActions { title } }
    userErrors { field code message } } }";
const DELETE_EXCHANGE: &str = "mutation($i: DeleteIdeaExchangeInput!) { deleteIdeaExchange(input: $i) {
    deletedId userErrors { field code message } } }";
const EXCHANGE: &str = "query($id: ID!) { node(id: $id) { ... on IdeaExchange { title kind occurredOn
    outcome version idea { title } initiator { slug } participants { slug } resultingActions { title } } } }";

const AUDIT: &str =
    "query($id: ID!) { auditLog(filter: { entityId: $id }) { nodes { operation entityType changes } } }";

async fn rows<E: EntityTrait>(app: &TestApp) -> u64
where
    E::Model: Sync,
{
    E::find().count(&app.db).await.expect("count rows")
}

/// Asserts a payload was refused with exactly one user error, and nothing came back.
fn refused(payload: &Value, object: &str, field: &[&str], code: &str) {
    assert!(payload[object].is_null(), "{object} should be null: {payload:#}");
    let errors = payload["userErrors"].as_array().expect("userErrors");
    assert_eq!(errors.len(), 1, "one user error expected: {payload:#}");
    assert_eq!(errors[0]["field"], json!(field), "{payload:#}");
    assert_eq!(errors[0]["code"], code, "{payload:#}");
}

/// Asserts GraphQL itself refuses the input (a wrong type or enum value): an error naming
/// the problem, never an internal one.
async fn schema_refuses(app: &TestApp, query: &str, variables: Value) {
    let (code, message) = app.error(query, variables).await;
    assert_ne!(code, "INTERNAL");
    assert!(
        message.contains("Invalid value") || message.contains("Failed to parse"),
        "{message}"
    );
}

fn ok<'a>(payload: &'a Value, object: &str) -> &'a Value {
    assert_eq!(payload["userErrors"], json!([]), "{payload:#}");
    &payload[object]
}

fn gid(type_name: &str, id: Uuid) -> Value {
    json!(global_id(type_name, id))
}

/// Gjøl (with its local association) and its neighbours, each with an adopted plan and
/// actions; two themes; a foundation of no community.
struct World {
    gjol: Uuid,
    birkelse: Uuid,
    moseby: Uuid,
    oeland: Uuid,
    natur: Uuid,
    kultur: Uuid,
    forening: Uuid,
    fonden: Uuid,
    /// Actions of Birkelse's plan.
    birkelse_actions: [Uuid; 3],
    moseby_action: Uuid,
    oeland_action: Uuid,
}

async fn world(app: &TestApp) -> World {
    let fx = Fixture::new(&app.db);
    let gjol = fx.community("gjoel", "Gjøl").await;
    let birkelse = fx.community("birkelse", "Birkelse").await;
    let moseby = fx.community("moseby", "Moseby").await;
    let oeland = fx.community("oeland", "Øland").await;
    let bp = fx
        .plan(birkelse, "Birkelse 2025", PlanStatus::Adopted, 2025, 2028)
        .await;
    let mp = fx
        .plan(moseby, "Moseby 2025", PlanStatus::Adopted, 2025, 2028)
        .await;
    let op = fx
        .plan(oeland, "Øland 2025", PlanStatus::Adopted, 2025, 2028)
        .await;
    World {
        gjol,
        birkelse,
        moseby,
        oeland,
        natur: fx.theme("natur", "Natur og friluftsliv").await,
        kultur: fx.theme("kultur", "Kultur og fællesskab").await,
        forening: fx
            .organization(
                "gjoel-borgerforening",
                "Gjøl Borgerforening",
                OrganizationKind::Association,
                Some(gjol),
            )
            .await,
        fonden: fx
            .organization(
                "fonden",
                "Fonden for Landdistrikter",
                OrganizationKind::Foundation,
                None,
            )
            .await,
        birkelse_actions: [
            fx.action(bp, "Fællesspisning i Birkelse").await,
            fx.action(bp, "Madklub").await,
            fx.action(bp, "Sommerfest").await,
        ],
        moseby_action: fx.action(mp, "Fællesspisning i Moseby").await,
        oeland_action: fx.action(op, "Fællesspisning på Øland").await,
    }
}

// --- Ideas --------------------------------------------------------------------------------

both!(
    an_editor_creates_updates_and_deletes_an_idea_of_their_community,
    |app: TestApp| async move {
        let w = world(&app).await;
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        let input = json!({
            "title": "Sådan fik vi gang i fællesspisning", "description": "Opskrifter og tjeklister.",
            "communityId": gid("Community", w.gjol), "organizationId": gid("Organization", w.forening),
            "themeIds": [gid("Theme", w.natur), gid("Theme", w.natur)],
        });
        let body = editor.data(CREATE_IDEA, json!({ "i": input })).await;
        let idea = ok(&body["createIdea"], "idea").clone();
        assert_eq!(
            (
                &idea["community"]["slug"],
                &idea["organization"]["slug"],
                &idea["themes"],
                &idea["version"]
            ),
            (
                &json!("gjoel"),
                &json!("gjoel-borgerforening"),
                &json!([{ "slug": "natur" }]),
                &json!(1)
            ),
            "a repeated theme is tagged once"
        );
        let id = idea["id"].clone();
        let public = app
            .data(
                "{ ideas(filter: { themeSlugs: [\"natur\"] }) { nodes { title } } }",
                json!({}),
            )
            .await;
        assert_eq!(
            public["ideas"]["nodes"][0]["title"],
            "Sådan fik vi gang i fællesspisning"
        );

        // The themes are replaced; the organisation is cleared.
        let body = editor
            .data(
                UPDATE_IDEA,
                json!({ "i": { "id": id, "version": 1, "title": "Fællesspisning",
                            "themeIds": [gid("Theme", w.kultur)], "organizationId": null } }),
            )
            .await;
        let idea = ok(&body["updateIdea"], "idea");
        assert_eq!(idea["themes"], json!([{ "slug": "kultur" }]));
        assert!(idea["organization"].is_null());
        assert_eq!(idea["version"], 2);
        assert_eq!(rows::<idea_theme::Entity>(&app).await, 1);

        let staff = app.signed_in(As::Staff, &[], None).await;
        let log = staff.data(AUDIT, json!({ "id": id })).await;
        let nodes = &log["auditLog"]["nodes"];
        assert_eq!(
            (nodes[0]["operation"].as_str(), nodes[0]["entityType"].as_str()),
            (Some("UPDATE"), Some("Idea"))
        );
        let changes = &nodes[0]["changes"];
        assert_eq!(
            changes["theme_ids"],
            json!({ "before": [w.natur.to_string()], "after": [w.kultur.to_string()] })
        );
        assert_eq!(changes["title"]["after"], "Fællesspisning");
        assert_eq!(changes["organization_id"]["after"], Value::Null);
        assert_eq!(
            nodes[1]["changes"]["theme_ids"]["after"],
            json!([w.natur.to_string()])
        );

        // A list left out stays as it is.
        let body = editor
            .data(
                UPDATE_IDEA,
                json!({ "i": { "id": id, "version": 2, "description": "" } }),
            )
            .await;
        assert_eq!(
            ok(&body["updateIdea"], "idea")["themes"],
            json!([{ "slug": "kultur" }])
        );

        // The same title and themes again change nothing: no new version, no audit record.
        let records = |log: &Value| log["auditLog"]["nodes"].as_array().map(Vec::len);
        let before = records(&staff.data(AUDIT, json!({ "id": id })).await);
        let body = editor
            .data(
                UPDATE_IDEA,
                json!({ "i": { "id": id, "version": 3, "title": "Fællesspisning",
                            "themeIds": [gid("Theme", w.kultur)] } }),
            )
            .await;
        assert_eq!(ok(&body["updateIdea"], "idea")["version"], 3);
        assert_eq!(records(&staff.data(AUDIT, json!({ "id": id })).await), before);
        // Other themes alone: a new version, recorded.
        let body = editor
            .data(
                UPDATE_IDEA,
                json!({ "i": { "id": id, "version": 3, "themeIds": [gid("Theme", w.natur)] } }),
            )
            .await;
        assert_eq!(ok(&body["updateIdea"], "idea")["version"], 4);
        assert_eq!(
            records(&staff.data(AUDIT, json!({ "id": id })).await),
            before.map(|n| n + 1)
        );

        let body = editor
            .data(DELETE_IDEA, json!({ "i": { "id": id, "version": 4 } }))
            .await;
        assert_eq!(body["deleteIdea"]["deletedId"], id);
        assert_eq!(
            (
                rows::<idea::Entity>(&app).await,
                rows::<idea_theme::Entity>(&app).await
            ),
            (0, 0)
        );
        let log = staff.data(AUDIT, json!({ "id": id })).await;
        assert_eq!(log["auditLog"]["nodes"][0]["operation"], "DELETE");
        assert_eq!(
            log["auditLog"]["nodes"][0]["changes"]["theme_ids"]["before"],
            json!([w.natur.to_string()])
        );
    }
);

both!(
    every_bad_idea_field_is_a_user_error_and_changes_nothing,
    |app: TestApp| async move {
        let w = world(&app).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let unknown = Uuid::now_v7();
        let valid = json!({ "title": "Et godt råd", "communityId": gid("Community", w.gjol),
                        "themeIds": [gid("Theme", w.natur)] });
        let cases: Vec<(&str, Value, Vec<&str>, &str)> = vec![
            ("title", json!(" "), vec!["title"], "REQUIRED"),
            ("title", json!("x".repeat(201)), vec!["title"], "TOO_LONG"),
            (
                "description",
                json!("x".repeat(20_001)),
                vec!["description"],
                "TOO_LONG",
            ),
            ("communityId", json!("ikke-et-id"), vec!["communityId"], "INVALID"),
            (
                "communityId",
                gid("Community", unknown),
                vec!["communityId"],
                "NOT_FOUND",
            ),
            ("communityId", Value::Null, vec!["communityId"], "REQUIRED"),
            (
                "organizationId",
                gid("Theme", w.natur),
                vec!["organizationId"],
                "INVALID",
            ),
            (
                "organizationId",
                gid("Organization", unknown),
                vec!["organizationId"],
                "NOT_FOUND",
            ),
            (
                "themeIds",
                json!([gid("Theme", w.natur), "x"]),
                vec!["themeIds", "1"],
                "INVALID",
            ),
            (
                "themeIds",
                json!([gid("Theme", unknown)]),
                vec!["themeIds", "0"],
                "NOT_FOUND",
            ),
        ];
        for (key, value, field, code) in cases {
            let mut input = valid.clone();
            input[key] = value;
            let body = staff.data(CREATE_IDEA, json!({ "i": input })).await;
            refused(&body["createIdea"], "idea", &field, code);
        }
        assert_eq!(
            (
                rows::<idea::Entity>(&app).await,
                rows::<idea_theme::Entity>(&app).await
            ),
            (0, 0)
        );

        let fx = Fixture::new(&app.db);
        let existing = fx.idea(Some(w.gjol), "Fællesspisning").await;
        fx.tag_idea(existing, w.natur).await;
        let id = gid("Idea", existing);
        let before = staff.data(IDEA, json!({ "id": id })).await;
        for (key, value, field, code) in [
            ("id", gid("Community", w.gjol), vec!["id"], "INVALID"),
            ("title", json!(""), vec!["title"], "REQUIRED"),
            (
                "description",
                json!("x".repeat(20_001)),
                vec!["description"],
                "TOO_LONG",
            ),
            (
                "communityId",
                gid("Community", unknown),
                vec!["communityId"],
                "NOT_FOUND",
            ),
            ("communityId", Value::Null, vec!["communityId"], "REQUIRED"),
            ("organizationId", json!("x"), vec!["organizationId"], "INVALID"),
            ("themeIds", json!(["x"]), vec!["themeIds", "0"], "INVALID"),
            (
                "themeIds",
                json!([gid("Theme", w.kultur), gid("Theme", unknown)]),
                vec!["themeIds", "1"],
                "NOT_FOUND",
            ),
        ] {
            let mut input = json!({ "id": id, "version": 1 });
            input[key] = value;
            let body = staff.data(UPDATE_IDEA, json!({ "i": input })).await;
            refused(&body["updateIdea"], "idea", &field, code);
        }
        assert_eq!(
            staff.data(IDEA, json!({ "id": id })).await,
            before,
            "nothing changed"
        );

        // A stale version: the title and the themes stay.
        let body = staff
            .data(
                UPDATE_IDEA,
                json!({ "i": { "id": id, "version": 1, "title": "Ny titel" } }),
            )
            .await;
        assert_eq!(ok(&body["updateIdea"], "idea")["version"], 2);
        let after = staff.data(IDEA, json!({ "id": id })).await;
        let stale = json!({ "i": { "id": id, "version": 1, "title": "Gammel", "themeIds": [gid("Theme", w.kultur)] } });
        assert_eq!(staff.error(UPDATE_IDEA, stale).await.0, "CONFLICT");
        assert_eq!(
            staff
                .error(DELETE_IDEA, json!({ "i": { "id": id, "version": 1 } }))
                .await
                .0,
            "CONFLICT"
        );
        assert_eq!(
            staff.data(IDEA, json!({ "id": id })).await,
            after,
            "nothing changed"
        );
        let unknown_idea = json!({ "i": { "id": gid("Idea", unknown), "version": 1 } });
        assert_eq!(staff.error(DELETE_IDEA, unknown_idea).await.0, "NOT_FOUND");
    }
);

both!(who_may_write_ideas, |app: TestApp| async move {
    let w = world(&app).await;
    let fx = Fixture::new(&app.db);
    let theirs = gid("Idea", fx.idea(Some(w.birkelse), "Birkelses idé").await);
    let mine = gid("Idea", fx.idea(Some(w.gjol), "Gjøls idé").await);
    let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;

    // Another community's idea, an organisation's idea alone, or a foreign organisation.
    for input in [
        json!({ "title": "Fremmed", "communityId": gid("Community", w.birkelse) }),
        json!({ "title": "Fondens", "organizationId": gid("Organization", w.fonden) }),
        json!({ "title": "Med fonden", "communityId": gid("Community", w.gjol), "organizationId": gid("Organization", w.fonden) }),
    ] {
        assert_eq!(
            editor.error(CREATE_IDEA, json!({ "i": input.clone() })).await.0,
            "FORBIDDEN",
            "{input}"
        );
    }
    let update = json!({ "i": { "id": theirs, "version": 1, "title": "Overtaget" } });
    assert_eq!(editor.error(UPDATE_IDEA, update).await.0, "FORBIDDEN");
    assert_eq!(
        editor
            .error(DELETE_IDEA, json!({ "i": { "id": theirs, "version": 1 } }))
            .await
            .0,
        "FORBIDDEN"
    );
    let moved = json!({ "i": { "id": mine, "version": 1, "communityId": gid("Community", w.birkelse) } });
    assert_eq!(editor.error(UPDATE_IDEA, moved).await.0, "FORBIDDEN");
    assert_eq!(rows::<idea::Entity>(&app).await, 2, "nothing was created");

    // Staff write an organisation's idea; the editor may not touch it.
    let staff = app.signed_in(As::Staff, &[], None).await;
    let body = staff
        .data(
            CREATE_IDEA,
            json!({ "i": { "title": "Fondens råd", "organizationId": gid("Organization", w.fonden) } }),
        )
        .await;
    let fondens = ok(&body["createIdea"], "idea")["id"].clone();
    let update = json!({ "i": { "id": fondens, "version": 1, "title": "Overtaget" } });
    assert_eq!(editor.error(UPDATE_IDEA, update).await.0, "FORBIDDEN");
    let claim = json!({ "i": { "id": fondens, "version": 1, "communityId": gid("Community", w.gjol) } });
    assert_eq!(editor.error(UPDATE_IDEA, claim).await.0, "FORBIDDEN");

    for (role, code) in [(As::Anonymous, "UNAUTHENTICATED"), (As::Partner, "FORBIDDEN")] {
        let caller = app.signed_in(role, &[], Some(w.fonden)).await;
        let input =
            json!({ "i": { "title": "Partnerens", "organizationId": gid("Organization", w.fonden) } });
        assert_eq!(caller.error(CREATE_IDEA, input).await.0, code, "{role:?}");
        let update = json!({ "i": { "id": fondens, "version": 1, "title": "X" } });
        assert_eq!(caller.error(UPDATE_IDEA, update).await.0, code, "{role:?}");
    }
    let after = staff.data(IDEA, json!({ "id": fondens })).await;
    assert_eq!(after["node"]["title"], "Fondens råd");
    assert_eq!(rows::<idea::Entity>(&app).await, 3);
});

both!(
    an_idea_an_exchange_refers_to_is_not_deleted,
    |app: TestApp| async move {
        let w = world(&app).await;
        let fx = Fixture::new(&app.db);
        let idea = fx.idea(Some(w.gjol), "Fællesspisning").await;
        fx.tag_idea(idea, w.natur).await;
        fx.exchange(Some(idea), w.gjol, &[w.birkelse], "Besøg i Birkelse", &[])
            .await;
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        let body = editor
            .data(
                DELETE_IDEA,
                json!({ "i": { "id": gid("Idea", idea), "version": 1 } }),
            )
            .await;
        refused(&body["deleteIdea"], "deletedId", &["id"], "IN_USE");
        let message = body["deleteIdea"]["userErrors"][0]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(message.contains("idea exchanges (1)"), "{message}");
        assert_eq!(
            (
                rows::<idea::Entity>(&app).await,
                rows::<idea_theme::Entity>(&app).await
            ),
            (1, 1)
        );
    }
);

// --- Idea exchanges -----------------------------------------------------------------------

fn exchange_input(w: &World, idea: Uuid) -> Value {
    json!({
        "ideaId": gid("Idea", idea), "title": "Fællesspisning – erfaringer fra Gjøl", "kind": "STUDY_VISIT",
        "initiatorCommunityId": gid("Community", w.gjol),
        "participantCommunityIds": [gid("Community", w.birkelse), gid("Community", w.moseby)],
        "occurredOn": "2025-03-12", "outcome": "Birkelse startede fællesspisning.",
        "actionIds": [gid("Action", w.birkelse_actions[0]), gid("Action", w.moseby_action)],
    })
}

both!(
    an_editor_records_an_exchange_with_its_participants_and_actions,
    |app: TestApp| async move {
        let w = world(&app).await;
        let fx = Fixture::new(&app.db);
        let idea = fx.idea(Some(w.gjol), "Fællesspisning").await;
        // Linking an action ties its community's hands: an editor of Gjøl alone may not link
        // the participants' actions.
        let gjol_only = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        let (code, _) = gjol_only
            .error(CREATE_EXCHANGE, json!({ "i": exchange_input(&w, idea) }))
            .await;
        assert_eq!(code, "FORBIDDEN");
        let editor = app
            .signed_in(As::CommunityEditor, &[w.gjol, w.birkelse, w.moseby], None)
            .await;
        let body = editor
            .data(CREATE_EXCHANGE, json!({ "i": exchange_input(&w, idea) }))
            .await;
        let x = ok(&body["createIdeaExchange"], "ideaExchange").clone();
        assert_eq!(x["initiator"]["slug"], "gjoel");
        assert_eq!(
            x["participants"],
            json!([{ "slug": "birkelse" }, { "slug": "moseby" }])
        );
        assert_eq!(x["resultingActions"].as_array().map(Vec::len), Some(2), "{x}");
        assert_eq!(
            (
                x["kind"].as_str(),
                x["occurredOn"].as_str(),
                x["version"].as_i64()
            ),
            (Some("STUDY_VISIT"), Some("2025-03-12"), Some(1))
        );
        let id = x["id"].clone();
        let public = app
        .data("{ ideaExchanges(filter: { communitySlugs: [\"moseby\"] }) { nodes { title idea { title } } } }", json!({}))
        .await;
        assert_eq!(
            public["ideaExchanges"]["nodes"][0]["idea"]["title"],
            "Fællesspisning"
        );

        // The lists are replaced; the idea and the date are cleared.
        let actions = json!([
            gid("Action", w.birkelse_actions[0]),
            gid("Action", w.birkelse_actions[1])
        ]);
        let body = editor
        .data(
            UPDATE_EXCHANGE,
            json!({ "i": { "id": id, "version": 1, "participantCommunityIds": [gid("Community", w.birkelse)],
                            "actionIds": actions, "ideaId": null, "occurredOn": null, "kind": "JOINT_PROJECT" } }),
        )
        .await;
        let x = ok(&body["updateIdeaExchange"], "ideaExchange");
        assert_eq!(x["participants"], json!([{ "slug": "birkelse" }]));
        let mut titles: Vec<&str> = x["resultingActions"]
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|a| a["title"].as_str())
            .collect();
        titles.sort();
        assert_eq!(titles, vec!["Fællesspisning i Birkelse", "Madklub"]);
        assert!(x["idea"].is_null() && x["occurredOn"].is_null(), "{x}");
        assert_eq!(
            (x["kind"].as_str(), x["version"].as_i64()),
            (Some("JOINT_PROJECT"), Some(2))
        );

        let staff = app.signed_in(As::Staff, &[], None).await;
        let log = staff.data(AUDIT, json!({ "id": id })).await;
        let nodes = &log["auditLog"]["nodes"];
        assert_eq!(
            (nodes[0]["operation"].as_str(), nodes[0]["entityType"].as_str()),
            (Some("UPDATE"), Some("IdeaExchange"))
        );
        let changes = &nodes[0]["changes"];
        assert_eq!(
            changes["participant_community_ids"]["after"],
            json!([w.birkelse.to_string()])
        );
        assert_eq!(changes["action_ids"]["before"].as_array().map(Vec::len), Some(2));
        assert_eq!(
            changes["kind"],
            json!({ "before": "STUDY_VISIT", "after": "JOINT_PROJECT" })
        );
        assert!(
            changes.get("title").is_none(),
            "unchanged fields are not recorded"
        );
        assert_eq!(nodes[1]["operation"], "CREATE");

        // Sending its own actions again is no clash with itself.
        let body = editor
            .data(
                UPDATE_EXCHANGE,
                json!({ "i": { "id": id, "version": 2, "actionIds": actions, "title": "Fællesspisning" } }),
            )
            .await;
        assert_eq!(ok(&body["updateIdeaExchange"], "ideaExchange")["version"], 3);

        let body = editor
            .data(DELETE_EXCHANGE, json!({ "i": { "id": id, "version": 3 } }))
            .await;
        assert_eq!(body["deleteIdeaExchange"]["deletedId"], id);
        assert_eq!(
            (
                rows::<idea_exchange::Entity>(&app).await,
                rows::<idea_exchange_participant::Entity>(&app).await,
                rows::<idea_exchange_action::Entity>(&app).await,
            ),
            (0, 0, 0),
            "participants and action links went with it"
        );
        let actions = app.data("{ actions { totalCount } }", json!({})).await;
        assert_eq!(actions["actions"]["totalCount"], 5, "the actions stay");
    }
);

both!(
    every_bad_exchange_field_is_a_user_error_and_nothing_is_created,
    |app: TestApp| async move {
        let w = world(&app).await;
        let fx = Fixture::new(&app.db);
        let idea = fx.idea(Some(w.gjol), "Fællesspisning").await;
        // An earlier exchange already led to Birkelse's summer party.
        let earlier = fx
            .exchange(
                None,
                w.moseby,
                &[w.birkelse],
                "Tidligere",
                &[w.birkelse_actions[2]],
            )
            .await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let unknown = Uuid::now_v7();
        let b = gid("Community", w.birkelse);
        let m = gid("Community", w.moseby);
        let cases: Vec<(&str, Value, Vec<&str>, &str)> = vec![
            ("ideaId", json!("ikke-et-id"), vec!["ideaId"], "INVALID"),
            ("ideaId", gid("Idea", unknown), vec!["ideaId"], "NOT_FOUND"),
            ("title", json!(""), vec!["title"], "REQUIRED"),
            ("title", json!("x".repeat(201)), vec!["title"], "TOO_LONG"),
            (
                "initiatorCommunityId",
                gid("Action", w.moseby_action),
                vec!["initiatorCommunityId"],
                "INVALID",
            ),
            (
                "initiatorCommunityId",
                gid("Community", unknown),
                vec!["initiatorCommunityId"],
                "NOT_FOUND",
            ),
            (
                "participantCommunityIds",
                json!([b, m, "ikke-et-id"]),
                vec!["participantCommunityIds", "2"],
                "INVALID",
            ),
            (
                "participantCommunityIds",
                json!([b, m, gid("Community", unknown)]),
                vec!["participantCommunityIds", "2"],
                "NOT_FOUND",
            ),
            (
                "participantCommunityIds",
                json!([b, gid("Community", w.gjol)]),
                vec!["participantCommunityIds", "1"],
                "INVALID",
            ),
            (
                "participantCommunityIds",
                json!([]),
                vec!["participantCommunityIds"],
                "REQUIRED",
            ),
            (
                "occurredOn",
                json!("1850-06-01"),
                vec!["occurredOn"],
                "OUT_OF_RANGE",
            ),
            (
                "occurredOn",
                json!("2099-06-01"),
                vec!["occurredOn"],
                "OUT_OF_RANGE",
            ),
            ("outcome", json!("x".repeat(20_001)), vec!["outcome"], "TOO_LONG"),
            ("actionIds", json!(["x"]), vec!["actionIds", "0"], "INVALID"),
            (
                "actionIds",
                json!([gid("Action", w.moseby_action), gid("Action", unknown)]),
                vec!["actionIds", "1"],
                "NOT_FOUND",
            ),
            (
                "actionIds",
                json!([gid("Action", w.oeland_action)]),
                vec!["actionIds", "0"],
                "INVALID",
            ),
            (
                "actionIds",
                json!([gid("Action", w.birkelse_actions[2])]),
                vec!["actionIds", "0"],
                "TAKEN",
            ),
        ];
        for (key, value, field, code) in cases {
            let mut input = exchange_input(&w, idea);
            input[key] = value;
            let body = staff.data(CREATE_EXCHANGE, json!({ "i": input })).await;
            refused(&body["createIdeaExchange"], "ideaExchange", &field, code);
        }
        for (key, value) in [("kind", json!("BESØG")), ("occurredOn", json!("2025-13-01"))] {
            let mut input = exchange_input(&w, idea);
            input[key] = value;
            schema_refuses(&staff, CREATE_EXCHANGE, json!({ "i": input })).await;
        }
        assert_eq!(
            (
                rows::<idea_exchange::Entity>(&app).await,
                rows::<idea_exchange_participant::Entity>(&app).await,
                rows::<idea_exchange_action::Entity>(&app).await,
            ),
            (1, 1, 1),
            "only the earlier exchange exists"
        );

        // Updates: the same checks, and the lists as they will be must still fit together.
        let body = staff
            .data(CREATE_EXCHANGE, json!({ "i": exchange_input(&w, idea) }))
            .await;
        let id = ok(&body["createIdeaExchange"], "ideaExchange")["id"].clone();
        let before = staff.data(EXCHANGE, json!({ "id": id })).await;
        for (key, value, field, code) in [
            ("id", gid("Idea", idea), vec!["id"], "INVALID"),
            ("ideaId", gid("Idea", unknown), vec!["ideaId"], "NOT_FOUND"),
            ("title", json!("  "), vec!["title"], "REQUIRED"),
            (
                "initiatorCommunityId",
                gid("Community", unknown),
                vec!["initiatorCommunityId"],
                "NOT_FOUND",
            ),
            // Moseby already takes part.
            (
                "initiatorCommunityId",
                m.clone(),
                vec!["initiatorCommunityId"],
                "INVALID",
            ),
            (
                "participantCommunityIds",
                json!([b, "x"]),
                vec!["participantCommunityIds", "1"],
                "INVALID",
            ),
            (
                "participantCommunityIds",
                json!([b, gid("Community", unknown)]),
                vec!["participantCommunityIds", "1"],
                "NOT_FOUND",
            ),
            (
                "participantCommunityIds",
                json!([]),
                vec!["participantCommunityIds"],
                "REQUIRED",
            ),
            // Moseby's action is linked: Moseby cannot leave unless the action goes too.
            (
                "participantCommunityIds",
                json!([b]),
                vec!["participantCommunityIds"],
                "INVALID",
            ),
            (
                "occurredOn",
                json!("2201-01-01"),
                vec!["occurredOn"],
                "OUT_OF_RANGE",
            ),
            ("outcome", json!("x".repeat(20_001)), vec!["outcome"], "TOO_LONG"),
            (
                "actionIds",
                json!([gid("Action", w.birkelse_actions[2])]),
                vec!["actionIds", "0"],
                "TAKEN",
            ),
            (
                "actionIds",
                json!([gid("Action", w.oeland_action)]),
                vec!["actionIds", "0"],
                "INVALID",
            ),
        ] {
            let mut input = json!({ "id": id, "version": 1 });
            input[key] = value;
            let body = staff.data(UPDATE_EXCHANGE, json!({ "i": input })).await;
            refused(&body["updateIdeaExchange"], "ideaExchange", &field, code);
        }
        assert_eq!(
            staff.data(EXCHANGE, json!({ "id": id })).await,
            before,
            "nothing changed"
        );

        // A stale version changes nothing, not even the lists.
        let body = staff
            .data(
                UPDATE_EXCHANGE,
                json!({ "i": { "id": id, "version": 1, "outcome": "Mere" } }),
            )
            .await;
        assert_eq!(ok(&body["updateIdeaExchange"], "ideaExchange")["version"], 2);
        let after = staff.data(EXCHANGE, json!({ "id": id })).await;
        let stale =
            json!({ "i": { "id": id, "version": 1, "participantCommunityIds": [b], "actionIds": [] } });
        assert_eq!(staff.error(UPDATE_EXCHANGE, stale).await.0, "CONFLICT");
        assert_eq!(
            staff
                .error(DELETE_EXCHANGE, json!({ "i": { "id": id, "version": 1 } }))
                .await
                .0,
            "CONFLICT"
        );
        assert_eq!(
            staff.data(EXCHANGE, json!({ "id": id })).await,
            after,
            "nothing changed"
        );
        assert_eq!(rows::<idea_exchange_action::Entity>(&app).await, 3);
        let _ = (earlier, w.oeland);
    }
);

both!(who_may_write_idea_exchanges, |app: TestApp| async move {
    let w = world(&app).await;
    let fx = Fixture::new(&app.db);
    let idea = fx.idea(Some(w.gjol), "Fællesspisning").await;
    let existing = gid(
        "IdeaExchange",
        fx.exchange(None, w.gjol, &[w.birkelse], "Besøg", &[]).await,
    );

    // An editor of a participant is not an editor of the initiator.
    let participant = app.signed_in(As::CommunityEditor, &[w.birkelse], None).await;
    assert_eq!(
        participant
            .error(CREATE_EXCHANGE, json!({ "i": exchange_input(&w, idea) }))
            .await
            .0,
        "FORBIDDEN"
    );
    let update = json!({ "i": { "id": existing, "version": 1, "title": "Overtaget" } });
    let (code, message) = participant.error(UPDATE_EXCHANGE, update).await;
    assert_eq!(code, "FORBIDDEN");
    assert!(message.contains("actionIds"), "{message}");
    // What it may do: record the actions the exchange led to in its own community (the
    // adoption trail); another community's action is still not its to link.
    let own = json!({ "i": { "id": existing, "version": 1,
        "actionIds": [gid("Action", w.birkelse_actions[0])] } });
    let body = participant.data(UPDATE_EXCHANGE, own).await;
    let x = ok(&body["updateIdeaExchange"], "ideaExchange");
    assert_eq!(
        x["resultingActions"],
        json!([{ "title": "Fællesspisning i Birkelse" }]),
        "{x}"
    );
    let version = x["version"].clone();
    let other = json!({ "i": { "id": existing, "version": version,
        "actionIds": [gid("Action", w.birkelse_actions[0]), gid("Action", w.moseby_action)] } });
    assert_eq!(participant.error(UPDATE_EXCHANGE, other).await.0, "FORBIDDEN");
    let undo = json!({ "i": { "id": existing, "version": version, "actionIds": [] } });
    let body = participant.data(UPDATE_EXCHANGE, undo).await;
    assert_eq!(
        ok(&body["updateIdeaExchange"], "ideaExchange")["resultingActions"],
        json!([])
    );
    assert_eq!(
        participant
            .error(DELETE_EXCHANGE, json!({ "i": { "id": existing, "version": 1 } }))
            .await
            .0,
        "FORBIDDEN"
    );

    // The initiator's editor may not hand the exchange to a community they do not edit.
    let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
    let handover =
        json!({ "i": { "id": existing, "version": 1, "initiatorCommunityId": gid("Community", w.oeland) } });
    assert_eq!(editor.error(UPDATE_EXCHANGE, handover).await.0, "FORBIDDEN");

    for (role, code) in [(As::Anonymous, "UNAUTHENTICATED"), (As::Partner, "FORBIDDEN")] {
        let caller = app.signed_in(role, &[], Some(w.fonden)).await;
        assert_eq!(
            caller
                .error(CREATE_EXCHANGE, json!({ "i": exchange_input(&w, idea) }))
                .await
                .0,
            code
        );
        let delete = json!({ "i": { "id": existing, "version": 1 } });
        assert_eq!(caller.error(DELETE_EXCHANGE, delete).await.0, code);
    }
    assert_eq!(rows::<idea_exchange::Entity>(&app).await, 1);
    let now = app.data(EXCHANGE, json!({ "id": existing })).await;
    assert_eq!(
        (now["node"]["title"].as_str(), now["node"]["version"].as_i64()),
        (Some("Besøg"), Some(3))
    );

    // The initiator's editor may.
    let body = editor
        .data(DELETE_EXCHANGE, json!({ "i": { "id": existing, "version": 3 } }))
        .await;
    assert_eq!(body["deleteIdeaExchange"]["deletedId"], existing);
});

// An editor replacing an exchange's actions changes the links of their own communities'
// actions only: links staff or the other communities' editors made stay (the editor could
// not add them, and cannot see those of draft plans), and sending back a link that is there
// is not adding it anew. They used to vanish without a word.
both!(
    an_editor_replaces_only_the_links_of_their_own_actions,
    |app: TestApp| async move {
        let w = world(&app).await;
        let fx = Fixture::new(&app.db);
        let gp = fx
            .plan(w.gjol, "Gjøl 2025", PlanStatus::Adopted, 2025, 2028)
            .await;
        let gjol_action = fx.action(gp, "Fællesspisning på Gjøl").await;
        let idea = fx.idea(Some(w.gjol), "Fællesspisning").await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let body = staff
            .data(CREATE_EXCHANGE, json!({ "i": exchange_input(&w, idea) }))
            .await;
        let id = ok(&body["createIdeaExchange"], "ideaExchange")["id"].clone();
        let titles = |v: &Value| {
            let mut t: Vec<String> = v["resultingActions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["title"].as_str().unwrap().to_owned())
                .collect();
            t.sort();
            t
        };
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        let body = editor
            .data(
                UPDATE_EXCHANGE,
                json!({ "i": { "id": id, "version": 1, "actionIds": [gid("Action", gjol_action)] } }),
            )
            .await;
        let exchange = ok(&body["updateIdeaExchange"], "ideaExchange");
        assert_eq!(
            titles(exchange),
            [
                "Fællesspisning i Birkelse",
                "Fællesspisning i Moseby",
                "Fællesspisning på Gjøl"
            ],
            "{body}"
        );
        // The whole list as the editor sees it, sent back: no change, and no FORBIDDEN.
        let all = [
            gid("Action", gjol_action),
            gid("Action", w.birkelse_actions[0]),
            gid("Action", w.moseby_action),
        ];
        let body = editor
            .data(
                UPDATE_EXCHANGE,
                json!({ "i": { "id": id, "version": 2, "actionIds": all } }),
            )
            .await;
        assert_eq!(
            ok(&body["updateIdeaExchange"], "ideaExchange")["version"],
            2,
            "{body}"
        );
        // Staff change any link.
        let body = staff
            .data(
                UPDATE_EXCHANGE,
                json!({ "i": { "id": id, "version": 2, "actionIds": [] } }),
            )
            .await;
        assert_eq!(
            titles(ok(&body["updateIdeaExchange"], "ideaExchange")),
            Vec::<String>::new()
        );
    }
);

// A community recorded as taking part that did not takes itself out, with the links to its
// actions; it does not take out others or add anyone.
both!(
    a_participant_takes_its_own_community_out,
    |app: TestApp| async move {
        let w = world(&app).await;
        let idea = Fixture::new(&app.db).idea(Some(w.gjol), "Fællesspisning").await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let made = staff
            .data(CREATE_EXCHANGE, json!({ "i": exchange_input(&w, idea) }))
            .await["createIdeaExchange"]
            .clone();
        assert_eq!(made["userErrors"], json!([]), "{made}");
        let id = made["ideaExchange"]["id"].clone();
        let moseby = app.signed_in(As::CommunityEditor, &[w.moseby], None).await;
        for participants in [
            json!([gid("Community", w.moseby)]),
            json!([
                gid("Community", w.birkelse),
                gid("Community", w.moseby),
                gid("Community", w.oeland)
            ]),
        ] {
            let (code, _) = moseby
                .error(
                    UPDATE_EXCHANGE,
                    json!({ "i": { "id": id, "version": 1, "participantCommunityIds": participants } }),
                )
                .await;
            assert_eq!(code, "FORBIDDEN", "{participants}");
        }
        // Its action still linked: leave it out too.
        let body = moseby
            .data(
                UPDATE_EXCHANGE,
                json!({ "i": { "id": id, "version": 1, "participantCommunityIds": [gid("Community", w.birkelse)] } }),
            )
            .await;
        assert_eq!(
            body["updateIdeaExchange"]["userErrors"][0]["field"],
            json!(["participantCommunityIds"]),
            "{body}"
        );
        let body = moseby
            .data(
                UPDATE_EXCHANGE,
                json!({ "i": { "id": id, "version": 1, "participantCommunityIds": [gid("Community", w.birkelse)],
                               "actionIds": [] } }),
            )
            .await;
        assert_eq!(body["updateIdeaExchange"]["userErrors"], json!([]), "{body}");
        let x = &body["updateIdeaExchange"]["ideaExchange"];
        assert_eq!(x["participants"], json!([{ "slug": "birkelse" }]));
        // Birkelse's action, linked by staff, stays.
        assert_eq!(x["resultingActions"].as_array().map(Vec::len), Some(1), "{x}");
    }
);

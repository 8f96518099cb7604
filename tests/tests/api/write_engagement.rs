//! Writing engagement events: the community's editors and staff record meetings, workshops
//! and working days, tied to one of the community's plans or to none, with the
//! organisations present.
use entity::{engagement_event, engagement_event_organization};
use lup_tests::{
    As, TestApp, both,
    fixture::{Fixture, OrganizationKind, PlanStatus, global_id},
};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use uuid::Uuid;

const CREATE: &str = "mutation($i: CreateEngagementEventInput!) { createEngagementEvent(input: $i) {
    engagementEvent { id kind kindLabel title description occurredOn participants version
                      community { id } plan { id } organizations { id } }
    userErrors { field code message } } }";
const UPDATE: &str = "mutation($i: UpdateEngagementEventInput!) { updateEngagementEvent(input: $i) {
    engagementEvent { id kind title occurredOn participants version plan { id } organizations { id } }
    userErrors { field code message } } }";
const DELETE: &str = "mutation($i: DeleteEngagementEventInput!) { deleteEngagementEvent(input: $i) {
    deletedId userErrors { field code message } } }";
const AUDIT: &str =
    "query($id: ID!) { auditLog(filter: { entityId: $id }) { nodes { operation entityType changes } } }";

struct World {
    gjol: Uuid,
    birkelse: Uuid,
    draft: Uuid,
    adopted: Uuid,
    birkelse_plan: Uuid,
    forening: Uuid,
    fonden: Uuid,
}

async fn world(app: &TestApp) -> World {
    let fx = Fixture::new(&app.db);
    let gjol = fx.community("gjoel", "Gjøl").await;
    let birkelse = fx.community("birkelse", "Birkelse").await;
    World {
        gjol,
        birkelse,
        draft: fx.plan(gjol, "Gjøl 2030", PlanStatus::Draft, 2026, 2030).await,
        adopted: fx.plan(gjol, "Gjøl 2025", PlanStatus::Adopted, 2022, 2025).await,
        birkelse_plan: fx
            .plan(birkelse, "Birkelse 2030", PlanStatus::Adopted, 2026, 2030)
            .await,
        forening: fx
            .organization(
                "gjoel-borgerforening",
                "Gjøl Borgerforening",
                OrganizationKind::Association,
                Some(gjol),
            )
            .await,
        fonden: fx
            .organization("fonden", "Fonden", OrganizationKind::Foundation, None)
            .await,
    }
}

fn valid(w: &World) -> Value {
    json!({
        "communityId": global_id("Community", w.gjol),
        "planId": global_id("Plan", w.draft),
        "kind": "CITIZEN_MEETING",
        "title": "Borgermøde om havnen",
        "description": "Ideer til havnen.",
        "occurredOn": "2025-03-12",
        "participants": 42,
        "organizationIds": [global_id("Organization", w.forening)],
    })
}

async fn row(app: &TestApp, id: Uuid) -> engagement_event::Model {
    engagement_event::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .expect("read event")
        .expect("the event exists")
}

async fn event_count(app: &TestApp) -> u64 {
    engagement_event::Entity::find()
        .count(&app.db)
        .await
        .expect("count")
}

async fn links(app: &TestApp) -> u64 {
    engagement_event_organization::Entity::find()
        .count(&app.db)
        .await
        .expect("count")
}

fn errors(payload: &Value) -> Vec<(Value, String)> {
    payload["userErrors"]
        .as_array()
        .unwrap_or_else(|| panic!("no userErrors in {payload}"))
        .iter()
        .map(|e| {
            (
                e["field"].clone(),
                e["code"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn uuid_of(global: &Value) -> Uuid {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(global.as_str().expect("an ID"))
        .expect("base64");
    let text = String::from_utf8(bytes).expect("utf-8");
    text.split_once(':').expect("Type:uuid").1.parse().expect("uuid")
}

both!(
    an_editor_records_changes_and_deletes_an_event,
    |app: TestApp| async move {
        let w = world(&app).await;
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        let body = editor.data(CREATE, json!({ "i": valid(&w) })).await["createEngagementEvent"].clone();
        assert_eq!(body["userErrors"], json!([]));
        let e = &body["engagementEvent"];
        assert_eq!(
            (
                e["kind"].as_str(),
                e["kindLabel"].as_str(),
                e["occurredOn"].as_str(),
                e["participants"].as_i64(),
                e["version"].as_i64()
            ),
            (
                Some("CITIZEN_MEETING"),
                Some("Borgermøde"),
                Some("2025-03-12"),
                Some(42),
                Some(1)
            )
        );
        assert_eq!(e["community"]["id"], global_id("Community", w.gjol));
        assert_eq!(e["plan"]["id"], global_id("Plan", w.draft));
        assert_eq!(
            e["organizations"],
            json!([{ "id": global_id("Organization", w.forening) }])
        );
        let id = e["id"].clone();

        // Tied to a draft plan, the event is as hidden as the plan.
        let public = "{ engagementEvents { nodes { title } } }";
        assert_eq!(
            app.data(public, json!({})).await["engagementEvents"]["nodes"],
            json!([])
        );

        // Untied from the plan, with other organisations, it is public.
        let body = editor
            .data(
                UPDATE,
                json!({ "i": { "id": id, "version": 1, "planId": null, "kind": "WORKSHOP", "participants": 0,
                           "organizationIds": [global_id("Organization", w.fonden)] } }),
            )
            .await["updateEngagementEvent"]
            .clone();
        assert_eq!(body["userErrors"], json!([]));
        let e = &body["engagementEvent"];
        assert!(e["plan"].is_null());
        assert_eq!(
            (
                e["kind"].as_str(),
                e["participants"].as_i64(),
                e["version"].as_i64()
            ),
            (Some("WORKSHOP"), Some(0), Some(2))
        );
        assert_eq!(
            e["organizations"],
            json!([{ "id": global_id("Organization", w.fonden) }])
        );
        assert_eq!(
            app.data(public, json!({})).await["engagementEvents"]["nodes"],
            json!([{ "title": "Borgermøde om havnen" }])
        );

        // Tied to the adopted plan; leaving organizationIds out keeps them.
        let body = editor
        .data(UPDATE, json!({ "i": { "id": id, "version": 2, "planId": global_id("Plan", w.adopted), "title": "Havnemøde" } }))
        .await["updateEngagementEvent"]
        .clone();
        assert_eq!(
            body["engagementEvent"]["plan"]["id"],
            global_id("Plan", w.adopted)
        );
        assert_eq!(
            body["engagementEvent"]["organizations"],
            json!([{ "id": global_id("Organization", w.fonden) }])
        );

        // The organisations alone: the version moves, so a writer holding the old one gets a
        // conflict instead of overwriting them.
        let body = editor
            .data(
                UPDATE,
                json!({ "i": { "id": id, "version": 3,
                           "organizationIds": [global_id("Organization", w.forening)] } }),
            )
            .await["updateEngagementEvent"]
            .clone();
        assert_eq!(body["engagementEvent"]["version"], 4, "{body}");
        let (code, _) = editor
            .error(
                UPDATE,
                json!({ "i": { "id": id, "version": 3,
                           "organizationIds": [global_id("Organization", w.fonden)] } }),
            )
            .await;
        assert_eq!(code, "CONFLICT");

        let staff = app.signed_in(As::Staff, &[], None).await;
        let log = staff.data(AUDIT, json!({ "id": id })).await["auditLog"]["nodes"].clone();
        let log = log.as_array().expect("entries");
        assert!(
            log.iter().all(|e| e["entityType"] == "EngagementEvent"),
            "{log:?}"
        );
        assert!(log.iter().any(|e| e["operation"] == "CREATE"), "{log:?}");
        assert!(
            log.iter().any(|e| e["changes"]["title"]
                == json!({ "before": "Borgermøde om havnen", "after": "Havnemøde" })),
            "{log:?}"
        );
        assert!(
            log.iter().any(|e| e["changes"]["organization_ids"]
                == json!({ "before": [w.forening.to_string()], "after": [w.fonden.to_string()] })),
            "{log:?}"
        );

        // Delete: a stale version is a conflict; the organisations present go with the event.
        assert_eq!(
            editor
                .error(DELETE, json!({ "i": { "id": id, "version": 3 } }))
                .await
                .0,
            "CONFLICT"
        );
        let body = editor
            .data(DELETE, json!({ "i": { "id": id, "version": 4 } }))
            .await;
        assert_eq!(body["deleteEngagementEvent"]["deletedId"], id);
        assert_eq!((event_count(&app).await, links(&app).await), (0, 0));
        let log = staff.data(AUDIT, json!({ "id": id })).await;
        assert_eq!(log["auditLog"]["nodes"][0]["operation"], "DELETE");

        // Staff write any community's events.
        let mut input = valid(&w);
        input["communityId"] = json!(global_id("Community", w.birkelse));
        input["planId"] = json!(global_id("Plan", w.birkelse_plan));
        let body = staff.data(CREATE, json!({ "i": input })).await["createEngagementEvent"].clone();
        assert_eq!(body["userErrors"], json!([]));
    }
);

both!(
    every_bad_field_of_a_new_event_is_a_user_error,
    |app: TestApp| async move {
        let w = world(&app).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let cases: Vec<(&str, Value, Value, &str)> = vec![
            (
                "communityId",
                json!("ikke-et-id"),
                json!(["communityId"]),
                "INVALID",
            ),
            (
                "communityId",
                json!(global_id("Community", Uuid::now_v7())),
                json!(["communityId"]),
                "NOT_FOUND",
            ),
            (
                "planId",
                json!(global_id("Community", w.gjol)),
                json!(["planId"]),
                "INVALID",
            ),
            (
                "planId",
                json!(global_id("Plan", Uuid::now_v7())),
                json!(["planId"]),
                "NOT_FOUND",
            ),
            // Another community's plan.
            (
                "planId",
                json!(global_id("Plan", w.birkelse_plan)),
                json!(["planId"]),
                "INVALID",
            ),
            ("title", json!(""), json!(["title"]), "REQUIRED"),
            ("title", json!("x".repeat(201)), json!(["title"]), "TOO_LONG"),
            (
                "description",
                json!("x".repeat(20_001)),
                json!(["description"]),
                "TOO_LONG",
            ),
            (
                "occurredOn",
                json!("1850-06-01"),
                json!(["occurredOn"]),
                "OUT_OF_RANGE",
            ),
            // What is counted has happened: a meeting still to come is not engagement yet.
            (
                "occurredOn",
                json!((chrono::Utc::now().date_naive() + chrono::Days::new(2)).to_string()),
                json!(["occurredOn"]),
                "OUT_OF_RANGE",
            ),
            ("participants", json!(-1), json!(["participants"]), "OUT_OF_RANGE"),
            (
                "organizationIds",
                json!(["ikke-et-id"]),
                json!(["organizationIds", "0"]),
                "INVALID",
            ),
            (
                "organizationIds",
                json!([
                    global_id("Organization", w.forening),
                    global_id("Organization", Uuid::now_v7())
                ]),
                json!(["organizationIds", "1"]),
                "NOT_FOUND",
            ),
        ];
        for (field, value, path, code) in cases {
            let mut input = valid(&w);
            input[field] = value;
            let body = staff.data(CREATE, json!({ "i": input })).await["createEngagementEvent"].clone();
            assert!(body["engagementEvent"].is_null(), "{field}: {body}");
            assert_eq!(errors(&body), vec![(path, code.to_owned())], "{field}: {body}");
        }
        // Values GraphQL itself refuses: an unknown kind, a date that is not one.
        for (field, value) in [("kind", "FEST"), ("occurredOn", "12/03/2025")] {
            let mut input = valid(&w);
            input[field] = json!(value);
            let (_, message) = staff.error(CREATE, json!({ "i": input })).await;
            assert!(message.contains(value), "{field}: {message}");
        }
        assert_eq!(
            (event_count(&app).await, links(&app).await),
            (0, 0),
            "nothing was created"
        );
    }
);

both!(a_bad_event_update_changes_nothing, |app: TestApp| async move {
    let w = world(&app).await;
    let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
    let id = editor.data(CREATE, json!({ "i": valid(&w) })).await["createEngagementEvent"]["engagementEvent"]
        ["id"]
        .clone();
    let uuid = uuid_of(&id);
    let before = row(&app, uuid).await;
    let cases: Vec<(Value, Value, &str)> = vec![
        (json!({ "planId": "ikke-et-id" }), json!(["planId"]), "INVALID"),
        (
            json!({ "planId": global_id("Plan", Uuid::now_v7()) }),
            json!(["planId"]),
            "NOT_FOUND",
        ),
        (
            json!({ "planId": global_id("Plan", w.birkelse_plan), "title": "Ændret" }),
            json!(["planId"]),
            "INVALID",
        ),
        (json!({ "title": " " }), json!(["title"]), "REQUIRED"),
        (json!({ "title": "x".repeat(201) }), json!(["title"]), "TOO_LONG"),
        (
            json!({ "description": "x".repeat(20_001) }),
            json!(["description"]),
            "TOO_LONG",
        ),
        (
            json!({ "occurredOn": "2201-01-01" }),
            json!(["occurredOn"]),
            "OUT_OF_RANGE",
        ),
        (
            json!({ "participants": -5 }),
            json!(["participants"]),
            "OUT_OF_RANGE",
        ),
        (
            json!({ "title": "Ændret", "organizationIds": [global_id("Organization", Uuid::now_v7())] }),
            json!(["organizationIds", "0"]),
            "NOT_FOUND",
        ),
    ];
    for (change, path, code) in cases {
        let mut input = json!({ "id": id, "version": 1 });
        for (k, v) in change.as_object().expect("object") {
            input[k] = v.clone();
        }
        let body = editor.data(UPDATE, json!({ "i": input })).await["updateEngagementEvent"].clone();
        assert!(body["engagementEvent"].is_null(), "{change}: {body}");
        assert_eq!(errors(&body), vec![(path, code.to_owned())], "{change}: {body}");
    }
    let body = editor
        .data(
            UPDATE,
            json!({ "i": { "id": global_id("Plan", w.draft), "version": 1 } }),
        )
        .await;
    assert_eq!(
        errors(&body["updateEngagementEvent"]),
        vec![(json!(["id"]), "INVALID".to_owned())]
    );
    assert_eq!(
        editor
            .error(
                UPDATE,
                json!({ "i": { "id": id, "version": 2, "title": "Ændret", "organizationIds": [] } })
            )
            .await
            .0,
        "CONFLICT"
    );
    let unknown = global_id("EngagementEvent", Uuid::now_v7());
    assert_eq!(
        editor
            .error(UPDATE, json!({ "i": { "id": unknown, "version": 1 } }))
            .await
            .0,
        "NOT_FOUND"
    );
    assert_eq!(row(&app, uuid).await, before, "nothing changed");
    assert_eq!(links(&app).await, 1, "the organisations present are untouched");
});

both!(
    only_writers_of_the_community_write_its_events,
    |app: TestApp| async move {
        let w = world(&app).await;
        let fx = Fixture::new(&app.db);
        let event = fx
            .event(
                w.gjol,
                Some(w.adopted),
                "Arbejdsdag",
                lup_tests::fixture::date(2024, 5, 4),
            )
            .await;
        let gid = global_id("EngagementEvent", event);
        for (role, code) in [
            (As::Anonymous, "UNAUTHENTICATED"),
            (As::Partner, "FORBIDDEN"),
            // An editor of another community.
            (As::CommunityEditor, "FORBIDDEN"),
        ] {
            let caller = app.signed_in(role, &[w.birkelse], Some(w.forening)).await;
            for (query, vars) in [
                (CREATE, json!({ "i": valid(&w) })),
                (UPDATE, json!({ "i": { "id": gid, "version": 1, "title": "X" } })),
                (DELETE, json!({ "i": { "id": gid, "version": 1 } })),
            ] {
                assert_eq!(caller.error(query, vars).await.0, code, "{role:?}: {query}");
            }
        }
        // An editor of Birkelse may not tie an event of Birkelse to Gjøl either.
        let editor = app.signed_in(As::CommunityEditor, &[w.birkelse], None).await;
        let mut input = valid(&w);
        input["communityId"] = json!(global_id("Community", w.birkelse));
        let body = editor.data(CREATE, json!({ "i": input.clone() })).await["createEngagementEvent"].clone();
        // Gjøl's draft is hidden from them: NOT_FOUND, as if it did not exist.
        assert_eq!(errors(&body), vec![(json!(["planId"]), "NOT_FOUND".to_owned())]);
        // Gjøl's adopted plan they see, and it is not Birkelse's.
        input["planId"] = json!(global_id("Plan", w.adopted));
        let body = editor.data(CREATE, json!({ "i": input })).await["createEngagementEvent"].clone();
        assert_eq!(errors(&body), vec![(json!(["planId"]), "INVALID".to_owned())]);
        assert_eq!(event_count(&app).await, 1);
        let after = row(&app, event).await;
        assert_eq!((after.title.as_str(), after.version), ("Arbejdsdag", 1));
    }
);

// The same event recorded twice would count its participants twice in the engagement figures
// and the annual review: the second is refused. Another day, or another meeting that day, is
// another event.
both!(the_same_event_is_recorded_once, |app: TestApp| async move {
    let w = world(&app).await;
    let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
    let body = editor.data(CREATE, json!({ "i": valid(&w) })).await;
    assert_eq!(body["createEngagementEvent"]["userErrors"], json!([]), "{body}");
    let body = editor.data(CREATE, json!({ "i": valid(&w) })).await;
    assert_eq!(
        body["createEngagementEvent"]["userErrors"][0],
        json!({ "field": ["title"], "code": "TAKEN",
                    "message": "this event is already recorded: the same community, kind, title and day" })
    );
    assert_eq!(engagement_event::Entity::find().count(&app.db).await.unwrap(), 1);
    for (field, value) in [("occurredOn", "2025-03-13"), ("title", "Borgermøde om skolen")] {
        let mut other = valid(&w);
        other[field] = json!(value);
        let body = editor.data(CREATE, json!({ "i": other })).await;
        assert_eq!(
            body["createEngagementEvent"]["userErrors"],
            json!([]),
            "{field}: {body}"
        );
    }
    assert_eq!(engagement_event::Entity::find().count(&app.db).await.unwrap(), 3);
    // Case and white space aside, and renamed into a twin as well.
    let mut shouted = valid(&w);
    shouted["title"] = json!("  BORGERMØDE \u{200b}  om havnen ");
    let body = editor.data(CREATE, json!({ "i": shouted })).await;
    assert_eq!(
        body["createEngagementEvent"]["userErrors"][0]["code"], "TAKEN",
        "{body}"
    );
    let mut other = valid(&w);
    other["title"] = json!("Borgermøde om stien");
    let created = editor.data(CREATE, json!({ "i": other })).await["createEngagementEvent"].clone();
    let body = editor
        .data(
            UPDATE,
            json!({ "i": { "id": created["engagementEvent"]["id"], "version": 1, "title": "Borgermøde om havnen" } }),
        )
        .await;
    assert_eq!(
        body["updateEngagementEvent"]["userErrors"][0]["code"], "TAKEN",
        "{body}"
    );
    // An event changed in other ways is not its own twin.
    let body = editor
        .data(
            UPDATE,
            json!({ "i": { "id": created["engagementEvent"]["id"], "version": 1, "participants": 12 } }),
        )
        .await;
    assert_eq!(body["updateEngagementEvent"]["userErrors"], json!([]), "{body}");
});

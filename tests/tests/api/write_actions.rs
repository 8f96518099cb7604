//! Writing actions (with their themes), the departments contributing to them and their
//! progress notes: staff everywhere, community editors within their communities' plans;
//! user errors for every bad field, conflicts for stale versions, deletes that take owned
//! rows along and are refused while partnerships or idea exchanges refer to the action, and
//! internal notes only staff and the community's editors read.
use entity::{action, action_department, action_theme, action_update};
use lup_tests::{
    As, TestApp, both,
    fixture::{DepartmentRole, Fixture, OrganizationKind, PartnershipStatus, PlanStatus, date, global_id},
};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

const CREATE: &str = "mutation($i: CreateActionInput!) { createAction(input: $i) {
    action { id title description horizon status progress potential startOn dueOn budgetEstimate
             seekingPartners partnerNeeds version internalNotes themes { id } leadOrganization { id } plan { id } }
    userErrors { field code message } } }";
const UPDATE: &str = "mutation($i: UpdateActionInput!) { updateAction(input: $i) {
    action { id title potential startOn dueOn budgetEstimate partnerNeeds leadOrganization { id } version themes { id } }
    userErrors { field code message } } }";
const DELETE: &str = "mutation($i: DeleteActionInput!) { deleteAction(input: $i) { deletedId userErrors { field code message } } }";
const ADD_DEPARTMENT: &str = "mutation($i: AddActionDepartmentInput!) { addActionDepartment(input: $i) {
    actionDepartment { id role contribution version department { id } action { id } }
    userErrors { field code message } } }";
const UPDATE_DEPARTMENT: &str =
    "mutation($i: UpdateActionDepartmentInput!) { updateActionDepartment(input: $i) {
    actionDepartment { id role contribution version } userErrors { field code message } } }";
const REMOVE_DEPARTMENT: &str =
    "mutation($i: RemoveActionDepartmentInput!) { removeActionDepartment(input: $i) {
    deletedId userErrors { field code message } } }";
const CREATE_UPDATE: &str = "mutation($i: CreateActionUpdateInput!) { createActionUpdate(input: $i) {
    actionUpdate { id body progress authorName postedOn version action { id progress version } }
    userErrors { field code message } } }";
const UPDATE_UPDATE: &str = "mutation($i: UpdateActionUpdateInput!) { updateActionUpdate(input: $i) {
    actionUpdate { id body progress authorName postedOn version } userErrors { field code message } } }";
const DELETE_UPDATE: &str = "mutation($i: DeleteActionUpdateInput!) { deleteActionUpdate(input: $i) {
    deletedId userErrors { field code message } } }";
const NODE: &str = "query($id: ID!) { node(id: $id) { ... on Action { title progress potential version
    themes { id } departments { id role contribution } updates(first: 10) { nodes { body progress } } } } }";
const NOTES: &str = "query($id: ID!) { node(id: $id) { ... on Action { title internalNotes } } }";
const AUDIT: &str = "query($id: ID!) { auditLog(filter: { entityId: $id }) { nodes { operation entityType changes actor { kind } } } }";

struct World {
    gjol: Uuid,
    birkelse: Uuid,
    plan: Uuid,
    natur: Uuid,
    kultur: Uuid,
    vand: Uuid,
    forening: Uuid,
}

async fn world(app: &TestApp) -> World {
    let fx = Fixture::new(&app.db);
    let gjol = fx.community("gjoel", "Gjøl").await;
    World {
        gjol,
        birkelse: fx.community("birkelse", "Birkelse").await,
        plan: fx.plan(gjol, "Gjøl 2030", PlanStatus::Adopted, 2026, 2030).await,
        natur: fx.theme("natur", "Natur og friluftsliv").await,
        kultur: fx.theme("kultur", "Kultur og fællesskab").await,
        vand: fx.department("vand-og-natur", "Vand og Natur").await,
        forening: fx
            .organization(
                "gjoel-borgerforening",
                "Gjøl Borgerforening",
                OrganizationKind::Association,
                Some(gjol),
            )
            .await,
    }
}

fn valid(w: &World) -> Value {
    json!({
        "planId": global_id("Plan", w.plan),
        "title": "Ny shelterplads",
        "description": "Shelters ved fjorden.",
        "horizon": "HERE_AND_NOW",
        "status": "IN_PROGRESS",
        "progress": 10,
        "potential": 4,
        "startOn": "2026-03-01",
        "dueOn": "2026-10-31",
        "budgetEstimate": 250000,
        "leadOrganizationId": global_id("Organization", w.forening),
        "seekingPartners": true,
        "partnerNeeds": "Frivillige til byggeriet",
        "themeIds": [global_id("Theme", w.natur)],
        "internalNotes": "Kun til kommunen.",
    })
}

async fn row(app: &TestApp, id: Uuid) -> action::Model {
    action::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .expect("read action")
        .expect("action exists")
}

async fn actions(app: &TestApp) -> u64 {
    action::Entity::find()
        .count(&app.db)
        .await
        .expect("count actions")
}

both!(
    staff_create_update_and_delete_an_action,
    |app: TestApp| async move {
        let w = world(&app).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let created = staff.data(CREATE, json!({ "i": valid(&w) })).await["createAction"].clone();
        assert_eq!(created["userErrors"], json!([]));
        let a = &created["action"];
        assert_eq!(a["title"], "Ny shelterplads");
        assert_eq!(a["horizon"], "HERE_AND_NOW");
        assert_eq!(a["status"], "IN_PROGRESS");
        assert_eq!(
            (a["progress"].as_i64(), a["potential"].as_i64()),
            (Some(10), Some(4))
        );
        assert_eq!(
            (a["startOn"].as_str(), a["dueOn"].as_str()),
            (Some("2026-03-01"), Some("2026-10-31"))
        );
        assert_eq!(a["budgetEstimate"], 250000);
        assert_eq!(a["seekingPartners"], true);
        assert_eq!(a["partnerNeeds"], "Frivillige til byggeriet");
        assert_eq!(a["version"], 1);
        assert_eq!(a["internalNotes"], "Kun til kommunen.");
        assert_eq!(a["themes"], json!([{ "id": global_id("Theme", w.natur) }]));
        assert_eq!(a["leadOrganization"]["id"], global_id("Organization", w.forening));
        assert_eq!(a["plan"]["id"], global_id("Plan", w.plan));
        let id = a["id"].clone();

        // The public sees it at once (the plan is adopted), without its internal notes.
        let public = app
            .data("{ actions(first: 10) { nodes { title } } }", json!({}))
            .await;
        assert_eq!(
            public["actions"]["nodes"],
            json!([{ "title": "Ny shelterplads" }])
        );

        let updated = staff
        .data(
            UPDATE,
            json!({ "i": { "id": id, "version": 1, "title": "Shelterplads ved Gjøl Bjerge",
                "potential": null, "startOn": null, "budgetEstimate": null, "leadOrganizationId": null,
                "partnerNeeds": "", "themeIds": [global_id("Theme", w.kultur), global_id("Theme", w.natur)] } }),
        )
        .await["updateAction"]
        .clone();
        assert_eq!(updated["userErrors"], json!([]), "{updated}");
        let a = &updated["action"];
        assert_eq!(a["title"], "Shelterplads ved Gjøl Bjerge");
        assert!(a["potential"].is_null() && a["startOn"].is_null() && a["budgetEstimate"].is_null());
        assert!(a["leadOrganization"].is_null() && a["partnerNeeds"].is_null());
        assert_eq!(a["dueOn"], "2026-10-31", "fields left out stay");
        assert_eq!(a["version"], 2);
        assert_eq!(a["themes"].as_array().map(Vec::len), Some(2));

        // Only the themes: replaced again, and the version moves on. A list of IDs is a set:
        // one theme given 101 times is one theme.
        let updated = staff
            .data(
                UPDATE,
                json!({ "i": { "id": id, "version": 2, "themeIds": vec![global_id("Theme", w.kultur); 101] } }),
            )
            .await["updateAction"]
            .clone();
        assert_eq!(
            updated["action"]["themes"],
            json!([{ "id": global_id("Theme", w.kultur) }])
        );
        assert_eq!(updated["action"]["version"], 3);

        let log = staff.data(AUDIT, json!({ "id": id })).await["auditLog"]["nodes"].clone();
        let entries = log.as_array().expect("entries");
        assert!(
            entries
                .iter()
                .all(|e| e["entityType"] == "Action" && e["actor"]["kind"] == "ACCOUNT")
        );
        assert_eq!(entries.last().expect("create")["operation"], "CREATE");
        assert!(
            entries.iter().any(|e| e["changes"]["title"]
                == json!({ "before": "Ny shelterplads", "after": "Shelterplads ved Gjøl Bjerge" })),
            "{log}"
        );
        assert!(
            entries
                .iter()
                .any(|e| e["changes"]["theme_ids"]["after"] == json!([w.kultur.to_string()])),
            "theme changes are recorded: {log}"
        );

        let deleted = staff
            .data(DELETE, json!({ "i": { "id": id, "version": 3 } }))
            .await;
        assert_eq!(deleted["deleteAction"]["deletedId"], id);
        assert_eq!(actions(&app).await, 0);
        let log = staff.data(AUDIT, json!({ "id": id })).await;
        assert_eq!(log["auditLog"]["nodes"][0]["operation"], "DELETE");
    }
);

both!(
    every_bad_action_field_is_a_user_error_and_changes_nothing,
    |app: TestApp| async move {
        let w = world(&app).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let unknown = Uuid::now_v7();
        let cases: &[(&str, Value, Value, &str)] = &[
            ("planId", json!("ikke-et-id"), json!(["planId"]), "INVALID"),
            (
                "planId",
                json!(global_id("Theme", w.natur)),
                json!(["planId"]),
                "INVALID",
            ),
            (
                "planId",
                json!(global_id("Plan", unknown)),
                json!(["planId"]),
                "NOT_FOUND",
            ),
            ("title", json!("  "), json!(["title"]), "REQUIRED"),
            ("title", json!("x".repeat(201)), json!(["title"]), "TOO_LONG"),
            (
                "description",
                json!("x".repeat(20_001)),
                json!(["description"]),
                "TOO_LONG",
            ),
            ("progress", json!(101), json!(["progress"]), "OUT_OF_RANGE"),
            ("progress", json!(-1), json!(["progress"]), "OUT_OF_RANGE"),
            ("potential", json!(0), json!(["potential"]), "OUT_OF_RANGE"),
            ("potential", json!(6), json!(["potential"]), "OUT_OF_RANGE"),
            ("startOn", json!("1800-01-01"), json!(["startOn"]), "OUT_OF_RANGE"),
            ("dueOn", json!("2026-01-01"), json!(["dueOn"]), "OUT_OF_RANGE"),
            (
                "budgetEstimate",
                json!(-1),
                json!(["budgetEstimate"]),
                "OUT_OF_RANGE",
            ),
            (
                "leadOrganizationId",
                json!("x"),
                json!(["leadOrganizationId"]),
                "INVALID",
            ),
            (
                "leadOrganizationId",
                json!(global_id("Organization", unknown)),
                json!(["leadOrganizationId"]),
                "NOT_FOUND",
            ),
            (
                "partnerNeeds",
                json!("x".repeat(20_001)),
                json!(["partnerNeeds"]),
                "TOO_LONG",
            ),
            (
                "themeIds",
                json!([global_id("Theme", w.natur), "x"]),
                json!(["themeIds", "1"]),
                "INVALID",
            ),
            (
                "themeIds",
                json!([global_id("Theme", unknown)]),
                json!(["themeIds", "0"]),
                "NOT_FOUND",
            ),
            // Named by its place in the list as sent, repeated IDs before it counted.
            (
                "themeIds",
                json!([
                    global_id("Theme", w.natur),
                    global_id("Theme", w.natur),
                    global_id("Theme", w.natur),
                    global_id("Theme", unknown)
                ]),
                json!(["themeIds", "3"]),
                "NOT_FOUND",
            ),
            (
                "themeIds",
                json!(
                    (0..101)
                        .map(|_| global_id("Theme", Uuid::now_v7()))
                        .collect::<Vec<_>>()
                ),
                json!(["themeIds"]),
                "TOO_LONG",
            ),
            (
                "internalNotes",
                json!("x".repeat(20_001)),
                json!(["internalNotes"]),
                "TOO_LONG",
            ),
        ];
        for (field, value, path, code) in cases {
            let mut input = valid(&w);
            input[*field] = value.clone();
            let body = staff.data(CREATE, json!({ "i": input })).await["createAction"].clone();
            assert!(body["action"].is_null(), "{field}: {body}");
            assert_eq!(body["userErrors"][0]["field"], *path, "{field}: {body}");
            assert_eq!(body["userErrors"][0]["code"], *code, "{field}: {body}");
        }
        // Enums and booleans of the wrong kind are refused by GraphQL itself.
        for (field, value) in [
            ("horizon", json!("SOON")),
            ("status", json!("DONE")),
            ("seekingPartners", json!("ja")),
        ] {
            let mut input = valid(&w);
            input[field] = value;
            let body = staff.post(CREATE, json!({ "i": input })).await;
            let message = body["errors"][0]["message"].as_str().unwrap_or_default();
            assert!(message.contains(&format!("input.{field}")), "{field}: {body}");
        }
        assert_eq!(actions(&app).await, 0, "nothing was created");

        let id = staff.data(CREATE, json!({ "i": valid(&w) })).await["createAction"]["action"]["id"].clone();
        let cases: &[(&str, Value, Value, &str)] = &[
            ("id", json!("ikke-et-id"), json!(["id"]), "INVALID"),
            ("title", json!(""), json!(["title"]), "REQUIRED"),
            (
                "description",
                json!("x".repeat(20_001)),
                json!(["description"]),
                "TOO_LONG",
            ),
            ("progress", json!(150), json!(["progress"]), "OUT_OF_RANGE"),
            ("potential", json!(9), json!(["potential"]), "OUT_OF_RANGE"),
            ("startOn", json!("2027-01-01"), json!(["startOn"]), "OUT_OF_RANGE"),
            ("dueOn", json!("2025-12-31"), json!(["dueOn"]), "OUT_OF_RANGE"),
            ("dueOn", json!("2300-01-01"), json!(["dueOn"]), "OUT_OF_RANGE"),
            (
                "budgetEstimate",
                json!(-100),
                json!(["budgetEstimate"]),
                "OUT_OF_RANGE",
            ),
            (
                "leadOrganizationId",
                json!(global_id("Organization", unknown)),
                json!(["leadOrganizationId"]),
                "NOT_FOUND",
            ),
            (
                "partnerNeeds",
                json!("x".repeat(20_001)),
                json!(["partnerNeeds"]),
                "TOO_LONG",
            ),
            (
                "themeIds",
                json!([global_id("Theme", unknown)]),
                json!(["themeIds", "0"]),
                "NOT_FOUND",
            ),
            (
                "themeIds",
                json!([
                    global_id("Theme", w.natur),
                    global_id("Theme", w.natur),
                    global_id("Theme", unknown)
                ]),
                json!(["themeIds", "2"]),
                "NOT_FOUND",
            ),
            (
                "internalNotes",
                json!("x".repeat(20_001)),
                json!(["internalNotes"]),
                "TOO_LONG",
            ),
        ];
        for (field, value, path, code) in cases {
            let mut input = json!({ "id": id, "version": 1 });
            input[*field] = value.clone();
            let body = staff.data(UPDATE, json!({ "i": input })).await["updateAction"].clone();
            assert!(body["action"].is_null(), "{field}: {body}");
            assert_eq!(body["userErrors"][0]["field"], *path, "{field}: {body}");
            assert_eq!(body["userErrors"][0]["code"], *code, "{field}: {body}");
        }
        let now = staff.data(NODE, json!({ "id": id })).await;
        assert_eq!(now["node"]["version"], 1, "nothing changed: {now}");
        assert_eq!(now["node"]["title"], "Ny shelterplads");
        assert_eq!(
            now["node"]["themes"],
            json!([{ "id": global_id("Theme", w.natur) }])
        );
    }
);

both!(
    a_stale_version_is_a_conflict_and_racing_updates_get_one_winner,
    |app: TestApp| async move {
        let w = world(&app).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let id = staff.data(CREATE, json!({ "i": valid(&w) })).await["createAction"]["action"]["id"].clone();
        let update = |title: &str| json!({ "i": { "id": id, "version": 1, "title": title } });
        let (a, b) = tokio::join!(
            staff.post(UPDATE, update("Vest")),
            staff.post(UPDATE, update("Øst"))
        );
        let won: Vec<&Value> = [&a, &b]
            .into_iter()
            .filter(|r| r["data"]["updateAction"]["action"].is_object())
            .collect();
        let lost = [&a, &b]
            .into_iter()
            .filter(|r| r["errors"][0]["extensions"]["code"] == "CONFLICT")
            .count();
        assert_eq!((won.len(), lost), (1, 1), "{a}\n{b}");
        let winner = won[0]["data"]["updateAction"]["action"]["title"].clone();
        let now = staff.data(NODE, json!({ "id": id })).await;
        assert_eq!(now["node"]["title"], winner, "the loser changed nothing");
        assert_eq!(now["node"]["version"], 2);

        // Racing changes of the themes alone: one winner, the other a conflict (not a
        // collision of their theme links).
        let themes = |version: i64| {
            json!({ "i": { "id": id, "version": version,
                           "themeIds": [global_id("Theme", w.kultur), global_id("Theme", w.natur)] } })
        };
        for round in 0..5 {
            let version = staff.data(NODE, json!({ "id": id })).await["node"]["version"]
                .as_i64()
                .expect("a version");
            let reset = staff
                .data(
                    UPDATE,
                    json!({ "i": { "id": id, "version": version, "themeIds": [] } }),
                )
                .await;
            assert_eq!(reset["updateAction"]["userErrors"], json!([]), "{reset}");
            let version = version + 1;
            let (a, b) = tokio::join!(
                staff.post(UPDATE, themes(version)),
                staff.post(UPDATE, themes(version))
            );
            let codes: Vec<Value> = [&a, &b]
                .iter()
                .map(|r| r["errors"][0]["extensions"]["code"].clone())
                .collect();
            let won = [&a, &b]
                .iter()
                .filter(|r| r["data"]["updateAction"]["userErrors"] == json!([]))
                .count();
            assert_eq!(won, 1, "round {round}: {a}\n{b}");
            assert!(codes.contains(&json!("CONFLICT")), "round {round}: {a}\n{b}");
        }
        let now = staff.data(NODE, json!({ "id": id })).await;
        assert_eq!(now["node"]["version"], 2 + 5 * 2);
        let update = |title: &str| json!({ "i": { "id": id, "version": 1, "title": title } });

        let (code, message) = staff.error(UPDATE, update("Nord")).await;
        assert_eq!(code, "CONFLICT");
        assert!(message.contains("version 1"), "{message}");
        assert_eq!(
            staff
                .error(DELETE, json!({ "i": { "id": id, "version": 1 } }))
                .await
                .0,
            "CONFLICT"
        );
        assert_eq!(actions(&app).await, 1);
        let unknown = global_id("Action", Uuid::now_v7());
        assert_eq!(
            staff
                .error(UPDATE, json!({ "i": { "id": unknown, "version": 1 } }))
                .await
                .0,
            "NOT_FOUND"
        );
    }
);

both!(
    editors_write_only_the_actions_of_their_communities,
    |app: TestApp| async move {
        let w = world(&app).await;
        let fx = Fixture::new(&app.db);
        let existing = fx.action(w.plan, "Eksisterende handling").await;
        let draft = fx
            .plan(w.gjol, "Gjøl kladde", PlanStatus::Draft, 2031, 2034)
            .await;

        for (role, code) in [(As::Anonymous, "UNAUTHENTICATED"), (As::Partner, "FORBIDDEN")] {
            let caller = app.signed_in(role, &[], Some(w.forening)).await;
            assert_eq!(
                caller.error(CREATE, json!({ "i": valid(&w) })).await.0,
                code,
                "{role:?}"
            );
            let update = json!({ "i": { "id": global_id("Action", existing), "version": 1, "title": "X" } });
            assert_eq!(caller.error(UPDATE, update).await.0, code, "{role:?}");
        }

        let other = app.signed_in(As::CommunityEditor, &[w.birkelse], None).await;
        assert_eq!(
            other.error(CREATE, json!({ "i": valid(&w) })).await.0,
            "FORBIDDEN"
        );
        let existing_id = global_id("Action", existing);
        for (query, input) in [
            (UPDATE, json!({ "id": existing_id, "version": 1, "title": "X" })),
            (DELETE, json!({ "id": existing_id, "version": 1 })),
            (
                ADD_DEPARTMENT,
                json!({ "actionId": existing_id, "departmentId": global_id("Department", w.vand) }),
            ),
            (CREATE_UPDATE, json!({ "actionId": existing_id, "body": "Hej" })),
        ] {
            assert_eq!(
                other.error(query, json!({ "i": input })).await.0,
                "FORBIDDEN",
                "{query}"
            );
        }
        assert_eq!(
            row(&app, existing).await.version,
            1,
            "the other editor changed nothing"
        );

        // The community's own editor writes, in adopted and draft plans alike.
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        let mut input = valid(&w);
        input["planId"] = json!(global_id("Plan", draft));
        // The potential is the municipality's judgement: an editor may not set it.
        let before = actions(&app).await;
        let refused = editor.data(CREATE, json!({ "i": input })).await["createAction"].clone();
        assert_eq!(
            refused["userErrors"][0]["field"],
            json!(["potential"]),
            "{refused}"
        );
        assert_eq!(refused["userErrors"][0]["code"], "INVALID");
        assert!(refused["action"].is_null());
        assert_eq!(actions(&app).await, before, "nothing was created");
        input["potential"] = Value::Null;
        let created = editor.data(CREATE, json!({ "i": input })).await["createAction"].clone();
        assert_eq!(created["userErrors"], json!([]));
        let body = editor
            .data(
                UPDATE,
                json!({ "i": { "id": existing_id, "version": 1, "progress": 50 } }),
            )
            .await;
        assert_eq!(body["updateAction"]["action"]["version"], 2);
        assert_eq!(row(&app, existing).await.progress, 50);
        // The draft's action is hidden from the public.
        let public = app.data("{ actions(first: 10) { totalCount } }", json!({})).await;
        assert_eq!(public["actions"]["totalCount"], 1);
    }
);

both!(
    an_action_is_not_completed_before_it_starts,
    |app: TestApp| async move {
        let w = world(&app).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let errors = |body: &Value| {
            body["userErrors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| (e["field"].clone(), e["code"].as_str().unwrap().to_owned()))
                .collect::<Vec<_>>()
        };
        let mut input = valid(&w);
        input["status"] = json!("COMPLETED");
        input["completedOn"] = json!("2026-02-28");
        let body = staff.data(CREATE, json!({ "i": input })).await["createAction"].clone();
        assert_eq!(
            errors(&body),
            [(json!(["completedOn"]), "OUT_OF_RANGE".to_owned())],
            "{body}"
        );
        assert_eq!(actions(&app).await, 0, "nothing was created");
        input["completedOn"] = json!("2026-03-01");
        let body = staff.data(CREATE, json!({ "i": input })).await["createAction"].clone();
        assert_eq!(body["userErrors"], json!([]), "the day it starts will do: {body}");
        let id = body["action"]["id"].clone();

        for (change, field) in [
            (json!({ "completedOn": "2026-01-15" }), "completedOn"),
            (json!({ "startOn": "2026-04-01" }), "startOn"),
        ] {
            let mut i = json!({ "id": id, "version": 1 });
            i.as_object_mut()
                .unwrap()
                .extend(change.as_object().unwrap().clone());
            let body = staff.data(UPDATE, json!({ "i": i })).await["updateAction"].clone();
            assert_eq!(
                errors(&body),
                [(json!([field]), "OUT_OF_RANGE".to_owned())],
                "{i}: {body}"
            );
        }
        let body = staff
            .data(
                UPDATE,
                json!({ "i": { "id": id, "version": 1, "startOn": "2026-02-01", "completedOn": "2026-02-15" } }),
            )
            .await["updateAction"]
            .clone();
        assert_eq!(body["userErrors"], json!([]), "both moved, in order: {body}");

        // Completed today, before a start still to come: the work was done early, and that stands.
        let body = staff
            .data(
                CREATE,
                json!({ "i": { "planId": global_id("Plan", w.plan), "title": "Tidligt færdig",
                               "horizon": "HERE_AND_NOW", "status": "PLANNED", "startOn": "2030-01-01" } }),
            )
            .await["createAction"]
            .clone();
        let early = body["action"]["id"].clone();
        let body = staff
            .data(
                UPDATE,
                json!({ "i": { "id": early, "version": 1, "status": "COMPLETED" } }),
            )
            .await["updateAction"]
            .clone();
        assert_eq!(body["userErrors"], json!([]), "{body}");
        // Sent back as it was read (a form that posts the whole record), it passes.
        let read = staff
            .data(
                "query($id: ID!) { node(id: $id) { ... on Action { startOn completedOn version } } }",
                json!({ "id": early }),
            )
            .await["node"]
            .clone();
        assert!(read["completedOn"].is_string(), "{read}");
        let body = staff
            .data(
                UPDATE,
                json!({ "i": { "id": early, "version": read["version"], "title": "Tidligt færdig, sagt igen",
                               "startOn": read["startOn"], "completedOn": read["completedOn"] } }),
            )
            .await["updateAction"]
            .clone();
        assert_eq!(body["userErrors"], json!([]), "{body}");
        // Created so, alike, and complete.
        let body = staff
            .data(
                CREATE,
                json!({ "i": { "planId": global_id("Plan", w.plan), "title": "Også tidligt færdig",
                               "horizon": "HERE_AND_NOW", "status": "COMPLETED", "startOn": "2030-01-01" } }),
            )
            .await["createAction"]
            .clone();
        assert_eq!(body["userErrors"], json!([]), "{body}");
        assert_eq!(body["action"]["progress"], 100, "{body}");
    }
);

both!(only_staff_judge_the_potential, |app: TestApp| async move {
    let w = world(&app).await;
    let fx = Fixture::new(&app.db);
    let existing = fx.action(w.plan, "Eksisterende handling").await;
    fx.set("action", existing, "potential", 2).await;
    let id = global_id("Action", existing);
    let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
    let staff = app.signed_in(As::Staff, &[], None).await;

    // An editor changing or clearing it is refused, and nothing changes.
    for potential in [json!(5), Value::Null] {
        let body = editor
            .data(
                UPDATE,
                json!({ "i": { "id": id, "version": 1, "title": "Nyt navn", "potential": potential } }),
            )
            .await["updateAction"]
            .clone();
        assert_eq!(body["userErrors"][0]["field"], json!(["potential"]), "{body}");
        assert_eq!(body["userErrors"][0]["code"], "INVALID");
        let r = row(&app, existing).await;
        assert_eq!(
            (r.potential, r.version, r.title.as_str()),
            (Some(2), 1, "Eksisterende handling")
        );
    }
    // Sent back unchanged (a form that posts every field) it passes.
    let body = editor
        .data(
            UPDATE,
            json!({ "i": { "id": id, "version": 1, "title": "Nyt navn", "potential": 2 } }),
        )
        .await["updateAction"]
        .clone();
    assert_eq!(body["userErrors"], json!([]), "{body}");
    // Staff judge it.
    let body = staff
        .data(UPDATE, json!({ "i": { "id": id, "version": 2, "potential": 5 } }))
        .await["updateAction"]
        .clone();
    assert_eq!(body["userErrors"], json!([]), "{body}");
    assert_eq!(row(&app, existing).await.potential, Some(5));
});

both!(
    deleting_an_action_takes_its_own_rows_and_is_refused_while_referenced,
    |app: TestApp| async move {
        let w = world(&app).await;
        let fx = Fixture::new(&app.db);
        let staff = app.signed_in(As::Staff, &[], None).await;

        // Owned rows go with the action.
        let owned = fx.action(w.plan, "Med egne rækker").await;
        fx.tag_action(owned, w.natur).await;
        fx.action_department(owned, w.vand, DepartmentRole::Lead).await;
        fx.update(owned, "Godt i gang", date(2026, 5, 1)).await;
        let body = staff
            .data(
                DELETE,
                json!({ "i": { "id": global_id("Action", owned), "version": 1 } }),
            )
            .await;
        assert_eq!(body["deleteAction"]["userErrors"], json!([]));
        let themes = action_theme::Entity::find().count(&app.db).await.expect("count");
        let departments = action_department::Entity::find()
            .count(&app.db)
            .await
            .expect("count");
        let updates = action_update::Entity::find().count(&app.db).await.expect("count");
        assert_eq!((themes, departments, updates), (0, 0, 0));

        // A partnership refers to it.
        let partnered = fx.action(w.plan, "Med partnerskab").await;
        fx.partnership(Some(partnered), None, "Partnerskabet", PartnershipStatus::Active)
            .await;
        let body = staff
            .data(
                DELETE,
                json!({ "i": { "id": global_id("Action", partnered), "version": 1 } }),
            )
            .await;
        let error = &body["deleteAction"]["userErrors"][0];
        assert_eq!(error["code"], "IN_USE", "{body}");
        assert!(
            error["message"]
                .as_str()
                .is_some_and(|m| m.contains("partnerships (1)")),
            "{error}"
        );

        // An idea exchange led to it.
        let exchanged = fx.action(w.plan, "Fra en idéudveksling").await;
        fx.exchange(None, w.birkelse, &[w.gjol], "Studietur", &[exchanged])
            .await;
        let body = staff
            .data(
                DELETE,
                json!({ "i": { "id": global_id("Action", exchanged), "version": 1 } }),
            )
            .await;
        assert_eq!(body["deleteAction"]["userErrors"][0]["code"], "IN_USE", "{body}");
        assert_eq!(actions(&app).await, 2);
    }
);

both!(
    internal_notes_are_for_staff_and_the_communitys_editors,
    |app: TestApp| async move {
        let w = world(&app).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let id = staff.data(CREATE, json!({ "i": valid(&w) })).await["createAction"]["action"]["id"].clone();

        let own = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        assert_eq!(
            own.data(NOTES, json!({ "id": id })).await["node"]["internalNotes"],
            "Kun til kommunen."
        );
        assert_eq!(
            staff.data(NOTES, json!({ "id": id })).await["node"]["internalNotes"],
            "Kun til kommunen."
        );

        let other = app.signed_in(As::CommunityEditor, &[w.birkelse], None).await;
        let body = other.post(NOTES, json!({ "id": id })).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN", "{body}");
        assert_eq!(
            body["data"]["node"]["title"], "Ny shelterplads",
            "the rest of the action is shown"
        );
        assert!(body["data"]["node"]["internalNotes"].is_null());
        assert!(!body.to_string().contains("Kun til kommunen"));

        for (role, code) in [(As::Anonymous, "UNAUTHENTICATED"), (As::Partner, "FORBIDDEN")] {
            let caller = app.signed_in(role, &[], Some(w.forening)).await;
            let body = caller.post(NOTES, json!({ "id": id })).await;
            assert_eq!(body["errors"][0]["extensions"]["code"], code, "{role:?}: {body}");
            assert!(!body.to_string().contains("Kun til kommunen"));
            // Hidden from their introspection too.
            let fields = caller
                .data("{ __type(name: \"Action\") { fields { name } } }", json!({}))
                .await;
            assert!(!fields.to_string().contains("internalNotes"), "{role:?}");
        }
    }
);

both!(
    action_departments_are_added_changed_and_removed,
    |app: TestApp| async move {
        let w = world(&app).await;
        let fx = Fixture::new(&app.db);
        let action = fx.action(w.plan, "Naturstien").await;
        let action_id = global_id("Action", action);
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        let input = json!({ "actionId": action_id, "departmentId": global_id("Department", w.vand),
        "role": "LEAD", "contribution": "Faglig sparring om stier" });
        let added = editor.data(ADD_DEPARTMENT, json!({ "i": input })).await["addActionDepartment"].clone();
        assert_eq!(added["userErrors"], json!([]));
        let d = &added["actionDepartment"];
        assert_eq!(
            (d["role"].as_str(), d["version"].as_i64()),
            (Some("LEAD"), Some(1))
        );
        assert_eq!(d["action"]["id"], action_id);
        let id = d["id"].clone();
        let node = app.data(NODE, json!({ "id": action_id })).await;
        assert_eq!(
            node["node"]["departments"],
            json!([{ "id": id, "role": "LEAD", "contribution": "Faglig sparring om stier" }])
        );

        // The same department twice is TAKEN; bad fields are user errors.
        let body = editor.data(ADD_DEPARTMENT, json!({ "i": input })).await;
        assert_eq!(
            body["addActionDepartment"]["userErrors"][0],
            json!({ "field": ["departmentId"], "code": "TAKEN", "message": "the department already contributes to this action" })
        );
        // One department leads: a second LEAD is TAKEN on `role`, added or changed.
        let kultur = Fixture::new(&app.db)
            .department("kultur-og-fritid", "Kultur og Fritid")
            .await;
        let second = json!({ "actionId": action_id, "departmentId": global_id("Department", kultur),
            "role": "LEAD", "contribution": "Arrangementer" });
        let body = editor.data(ADD_DEPARTMENT, json!({ "i": second })).await["addActionDepartment"].clone();
        assert!(body["actionDepartment"].is_null(), "{body}");
        assert_eq!(body["userErrors"][0]["field"], json!(["role"]), "{body}");
        assert_eq!(body["userErrors"][0]["code"], "TAKEN", "{body}");
        let mut support = second.clone();
        support["role"] = json!("SUPPORT");
        let body = editor.data(ADD_DEPARTMENT, json!({ "i": support })).await["addActionDepartment"].clone();
        assert_eq!(body["userErrors"], json!([]), "{body}");
        let support_id = body["actionDepartment"]["id"].clone();
        let body = editor
            .data(
                UPDATE_DEPARTMENT,
                json!({ "i": { "id": support_id, "version": 1, "role": "LEAD" } }),
            )
            .await["updateActionDepartment"]
            .clone();
        assert_eq!(body["userErrors"][0]["code"], "TAKEN", "{body}");
        // The lead itself may be sent back as LEAD.
        let body = editor
            .data(
                UPDATE_DEPARTMENT,
                json!({ "i": { "id": id, "version": 1, "role": "LEAD" } }),
            )
            .await["updateActionDepartment"]
            .clone();
        assert_eq!(body["userErrors"], json!([]), "{body}");
        let body = editor
            .data(
                REMOVE_DEPARTMENT,
                json!({ "i": { "id": support_id, "version": 1 } }),
            )
            .await;
        assert!(body["removeActionDepartment"]["deletedId"].is_string(), "{body}");
        let unknown = Uuid::now_v7();
        for (field, value, code) in [
            ("actionId", json!("x"), "INVALID"),
            ("actionId", json!(global_id("Action", unknown)), "NOT_FOUND"),
            ("departmentId", json!(global_id("Action", action)), "INVALID"),
            (
                "departmentId",
                json!(global_id("Department", unknown)),
                "NOT_FOUND",
            ),
            ("contribution", json!("x".repeat(20_001)), "TOO_LONG"),
        ] {
            let mut bad = input.clone();
            bad[field] = value;
            let body = editor.data(ADD_DEPARTMENT, json!({ "i": bad })).await["addActionDepartment"].clone();
            assert!(body["actionDepartment"].is_null(), "{field}: {body}");
            assert_eq!(body["userErrors"][0]["field"], json!([field]), "{field}: {body}");
            assert_eq!(body["userErrors"][0]["code"], code, "{field}: {body}");
        }
        let mut bad = input.clone();
        bad["role"] = json!("BOSS");
        let (_, message) = editor.error(ADD_DEPARTMENT, json!({ "i": bad })).await;
        assert!(message.contains("input.role"), "{message}");
        assert_eq!(
            action_department::Entity::find()
                .count(&app.db)
                .await
                .expect("count"),
            1
        );

        let updated = editor
            .data(
                UPDATE_DEPARTMENT,
                json!({ "i": { "id": id, "version": 1, "role": "ADVICE", "contribution": "Rådgivning" } }),
            )
            .await["updateActionDepartment"]
            .clone();
        assert_eq!(updated["actionDepartment"]["role"], "ADVICE");
        assert_eq!(updated["actionDepartment"]["version"], 2);
        let body = editor
            .data(
                UPDATE_DEPARTMENT,
                json!({ "i": { "id": id, "version": 2, "contribution": "x".repeat(20_001) } }),
            )
            .await;
        assert_eq!(
            body["updateActionDepartment"]["userErrors"][0]["field"],
            json!(["contribution"])
        );
        let body = editor
            .data(UPDATE_DEPARTMENT, json!({ "i": { "id": "x", "version": 2 } }))
            .await;
        assert_eq!(
            body["updateActionDepartment"]["userErrors"][0]["field"],
            json!(["id"])
        );
        let (code, _) = editor
            .error(
                UPDATE_DEPARTMENT,
                json!({ "i": { "id": id, "version": 1, "role": "LEAD" } }),
            )
            .await;
        assert_eq!(code, "CONFLICT");
        let staff = app.signed_in(As::Staff, &[], None).await;
        let log = staff.data(AUDIT, json!({ "id": id })).await;
        assert_eq!(log["auditLog"]["nodes"][0]["entityType"], "ActionDepartment");
        assert_eq!(
            log["auditLog"]["nodes"][0]["changes"]["role"],
            json!({ "before": "LEAD", "after": "ADVICE" })
        );

        let other = app.signed_in(As::CommunityEditor, &[w.birkelse], None).await;
        for (query, input) in [
            (
                UPDATE_DEPARTMENT,
                json!({ "id": id, "version": 2, "role": "LEAD" }),
            ),
            (REMOVE_DEPARTMENT, json!({ "id": id, "version": 2 })),
        ] {
            assert_eq!(other.error(query, json!({ "i": input })).await.0, "FORBIDDEN");
        }
        assert_eq!(
            editor
                .error(REMOVE_DEPARTMENT, json!({ "i": { "id": id, "version": 1 } }))
                .await
                .0,
            "CONFLICT"
        );
        let removed = editor
            .data(REMOVE_DEPARTMENT, json!({ "i": { "id": id, "version": 2 } }))
            .await;
        assert_eq!(removed["removeActionDepartment"]["deletedId"], id);
        assert_eq!(
            action_department::Entity::find()
                .count(&app.db)
                .await
                .expect("count"),
            0
        );
    }
);

// A note added after the fact (posted before the newest note with a progress) keeps its own
// progress and leaves the action's alone.
both!(
    a_backdated_progress_note_does_not_set_the_action_back,
    |app: TestApp| async move {
        let w = world(&app).await;
        let action = Fixture::new(&app.db)
            .action(w.plan, "Fiskerhusets udstilling")
            .await;
        let action_id = global_id("Action", action);
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        let post = |body: &str, progress: i64, posted_on: Option<&str>| {
            let mut i = json!({ "actionId": action_id, "body": body, "progress": progress });
            if let Some(d) = posted_on {
                i["postedOn"] = json!(d);
            }
            let editor = &editor;
            async move {
                let body = editor.data(CREATE_UPDATE, json!({ "i": i })).await["createActionUpdate"].clone();
                assert_eq!(body["userErrors"], json!([]), "{body}");
                body["actionUpdate"].clone()
            }
        };
        let now = post("Udstillingen er sat op i pakhuset.", 70, None).await;
        assert_eq!(now["action"]["progress"], 70);
        let then = post("Første møde med lokalhistorisk arkiv.", 20, Some("2025-03-01")).await;
        assert_eq!(then["progress"], 20, "the note keeps its progress");
        assert_eq!(then["action"]["progress"], 70, "{then}");
        assert_eq!(row(&app, action).await.progress, 70);
        // A note of the same day as the newest, or later, moves it on.
        let today = lup_tests::fixture::danish_today().format("%Y-%m-%d").to_string();
        let next = post("Åbningen er holdt.", 90, Some(&today)).await;
        assert_eq!(next["action"]["progress"], 90);
    }
);

// The status follows the notes: a planned action a note says work has begun on is in
// progress, and one a note puts at 100 % is completed on the note's day; a paused action, or
// one due to start after the note, keeps its status for its editors to set.
both!(
    a_progress_note_moves_the_actions_status_along,
    |app: TestApp| async move {
        const POST: &str = "mutation($i: CreateActionUpdateInput!) { createActionUpdate(input: $i) {
            actionUpdate { action { status statusLabel progress completedOn } } userErrors { field code message } } }";
        let w = world(&app).await;
        let fx = Fixture::new(&app.db);
        let kitchen = fx.action(w.plan, "Nyt køkken i forsamlingshuset").await;
        let mut m = fx.action_model(w.plan, "Bænke ved stranden");
        m.status = sea_orm::Set(action::ActionStatus::Paused);
        let paused = fx.insert_action(m).await;
        let today = lup_tests::fixture::danish_today();
        let mut m = fx.action_model(w.plan, "Vinterbadning");
        m.start_on = sea_orm::Set(Some(today + chrono::Days::new(30)));
        let later = fx.insert_action(m).await;
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        let post = async |action: Uuid, progress: i64, posted_on: Option<String>| {
            let mut i = json!({ "actionId": global_id("Action", action), "body": "Status fra arbejdsgruppen.", "progress": progress });
            if let Some(d) = posted_on {
                i["postedOn"] = json!(d);
            }
            let body = editor.data(POST, json!({ "i": i })).await["createActionUpdate"].clone();
            assert_eq!(body["userErrors"], json!([]), "{body}");
            body["actionUpdate"]["action"].clone()
        };
        let a = post(kitchen, 30, Some((today - chrono::Days::new(2)).to_string())).await;
        assert_eq!(
            (a["status"].as_str(), a["progress"].as_i64()),
            (Some("IN_PROGRESS"), Some(30)),
            "{a}"
        );
        let yesterday = (today - chrono::Days::new(1)).to_string();
        let a = post(kitchen, 100, Some(yesterday.clone())).await;
        assert_eq!(a["status"], "COMPLETED", "{a}");
        assert_eq!(a["completedOn"], yesterday, "completed on the note's day: {a}");
        let stored = row(&app, kitchen).await;
        assert_eq!(stored.status, action::ActionStatus::Completed);

        let a = post(paused, 100, None).await;
        assert_eq!(
            (a["status"].as_str(), a["progress"].as_i64()),
            (Some("PAUSED"), Some(100)),
            "{a}"
        );
        let a = post(later, 100, None).await;
        assert_eq!(a["status"], "IN_PROGRESS", "not completed before its start: {a}");
        assert!(a["completedOn"].is_null(), "{a}");
    }
);

// Mutations run one after the other, and each one's answer shows the rows as it left them,
// not as an earlier mutation of the same document read them.
both!(
    each_mutation_of_a_document_answers_with_the_rows_as_it_left_them,
    |app: TestApp| async move {
        let w = world(&app).await;
        let action = Fixture::new(&app.db)
            .action(w.plan, "Trafiksikker skolevej")
            .await;
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        let body = editor
            .data(
                "mutation($a: CreateActionUpdateInput!, $b: CreateActionUpdateInput!) {
                   a: createActionUpdate(input: $a) { actionUpdate { action { progress version } } }
                   b: createActionUpdate(input: $b) { actionUpdate { action { progress version } } } }",
                json!({
                    "a": { "actionId": global_id("Action", action), "body": "Første note", "progress": 30 },
                    "b": { "actionId": global_id("Action", action), "body": "Anden note", "progress": 40 },
                }),
            )
            .await;
        assert_eq!(
            body["a"]["actionUpdate"]["action"],
            json!({ "progress": 30, "version": 2 })
        );
        assert_eq!(
            body["b"]["actionUpdate"]["action"],
            json!({ "progress": 40, "version": 3 })
        );
        let a = row(&app, action).await;
        assert_eq!((a.progress, a.version), (40, 3));
    }
);

both!(
    a_progress_note_moves_the_actions_progress_in_the_same_transaction,
    |app: TestApp| async move {
        let w = world(&app).await;
        let fx = Fixture::new(&app.db);
        let action = fx.action(w.plan, "Naturstien").await;
        let action_id = global_id("Action", action);
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;

        let created = editor
            .data(
                CREATE_UPDATE,
                json!({ "i": { "actionId": action_id, "body": "Stien er halvt anlagt", "progress": 55 } }),
            )
            .await["createActionUpdate"]
            .clone();
        assert_eq!(created["userErrors"], json!([]));
        let u = &created["actionUpdate"];
        assert_eq!(u["progress"], 55);
        assert!(
            u["authorName"]
                .as_str()
                .is_some_and(|a| a.starts_with("Test editor-")),
            "{u}"
        );
        assert_eq!(
            u["postedOn"],
            lup_tests::fixture::danish_today().format("%Y-%m-%d").to_string()
        );
        assert_eq!(u["action"]["progress"], 55);
        assert_eq!(u["action"]["version"], 2);
        let id = u["id"].clone();
        let a = row(&app, action).await;
        assert_eq!((a.progress, a.version), (55, 2));

        // Both rows are audited.
        let staff = app.signed_in(As::Staff, &[], None).await;
        let log = staff.data(AUDIT, json!({ "id": action_id })).await;
        assert_eq!(
            log["auditLog"]["nodes"][0]["changes"]["progress"],
            json!({ "before": 0, "after": 55 })
        );
        let log = staff.data(AUDIT, json!({ "id": id })).await;
        assert_eq!(log["auditLog"]["nodes"][0]["operation"], "CREATE");
        assert_eq!(log["auditLog"]["nodes"][0]["entityType"], "ActionUpdate");

        // Without progress the action stays; an explicit author and date are kept.
        let body = staff
            .data(
                CREATE_UPDATE,
                json!({ "i": { "actionId": action_id, "body": "Indvielse planlagt",
            "authorName": "Mette Sørensen", "postedOn": "2026-06-01" } }),
            )
            .await["createActionUpdate"]
            .clone();
        assert_eq!(body["actionUpdate"]["authorName"], "Mette Sørensen");
        assert_eq!(body["actionUpdate"]["postedOn"], "2026-06-01");
        assert!(body["actionUpdate"]["progress"].is_null());
        assert_eq!(row(&app, action).await.version, 2);
        let node = app.data(NODE, json!({ "id": action_id })).await;
        assert_eq!(node["node"]["updates"]["nodes"].as_array().map(Vec::len), Some(2));

        let unknown = Uuid::now_v7();
        let base = json!({ "actionId": action_id, "body": "Note", "progress": 60 });
        for (field, value, code) in [
            ("actionId", json!("x"), "INVALID"),
            ("actionId", json!(global_id("Action", unknown)), "NOT_FOUND"),
            ("body", json!(" "), "REQUIRED"),
            ("body", json!("x".repeat(20_001)), "TOO_LONG"),
            ("progress", json!(101), "OUT_OF_RANGE"),
            ("authorName", json!("x".repeat(201)), "TOO_LONG"),
            ("postedOn", json!("1800-01-01"), "OUT_OF_RANGE"),
            (
                "postedOn",
                json!((chrono::Utc::now().date_naive() + chrono::Days::new(2)).to_string()),
                "OUT_OF_RANGE",
            ),
        ] {
            let mut bad = base.clone();
            bad[field] = value;
            let body = editor.data(CREATE_UPDATE, json!({ "i": bad })).await["createActionUpdate"].clone();
            assert!(body["actionUpdate"].is_null(), "{field}: {body}");
            assert_eq!(body["userErrors"][0]["field"], json!([field]), "{field}: {body}");
            assert_eq!(body["userErrors"][0]["code"], code, "{field}: {body}");
        }
        assert_eq!(
            action_update::Entity::find().count(&app.db).await.expect("count"),
            2
        );
        assert_eq!(
            row(&app, action).await.progress,
            55,
            "a refused note moves nothing"
        );

        // Changing a note.
        let updated = editor
            .data(
                UPDATE_UPDATE,
                json!({ "i": { "id": id, "version": 1, "body": "Stien er anlagt", "progress": null } }),
            )
            .await["updateActionUpdate"]
            .clone();
        assert_eq!(updated["userErrors"], json!([]));
        assert_eq!(updated["actionUpdate"]["body"], "Stien er anlagt");
        assert!(updated["actionUpdate"]["progress"].is_null());
        assert_eq!(updated["actionUpdate"]["version"], 2);
        for (field, value, code) in [
            ("id", json!("x"), "INVALID"),
            ("body", json!(""), "REQUIRED"),
            ("progress", json!(-5), "OUT_OF_RANGE"),
            ("authorName", json!(" "), "REQUIRED"),
            ("postedOn", json!("2201-01-01"), "OUT_OF_RANGE"),
        ] {
            let mut bad = json!({ "id": id, "version": 2 });
            bad[field] = value;
            let body = editor.data(UPDATE_UPDATE, json!({ "i": bad })).await["updateActionUpdate"].clone();
            assert_eq!(body["userErrors"][0]["field"], json!([field]), "{field}: {body}");
            assert_eq!(body["userErrors"][0]["code"], code, "{field}: {body}");
        }
        assert_eq!(
            editor
                .error(
                    UPDATE_UPDATE,
                    json!({ "i": { "id": id, "version": 1, "body": "Gammel" } })
                )
                .await
                .0,
            "CONFLICT"
        );
        let other = app.signed_in(As::CommunityEditor, &[w.birkelse], None).await;
        assert_eq!(
            other
                .error(
                    UPDATE_UPDATE,
                    json!({ "i": { "id": id, "version": 2, "body": "X" } })
                )
                .await
                .0,
            "FORBIDDEN"
        );
        assert_eq!(
            other
                .error(DELETE_UPDATE, json!({ "i": { "id": id, "version": 2 } }))
                .await
                .0,
            "FORBIDDEN"
        );
        assert_eq!(
            editor
                .error(DELETE_UPDATE, json!({ "i": { "id": id, "version": 1 } }))
                .await
                .0,
            "CONFLICT"
        );
        let deleted = editor
            .data(DELETE_UPDATE, json!({ "i": { "id": id, "version": 2 } }))
            .await;
        assert_eq!(deleted["deleteActionUpdate"]["deletedId"], id);
        let left = action_update::Entity::find()
            .filter(action_update::Column::ActionId.eq(action))
            .count(&app.db)
            .await
            .expect("count");
        assert_eq!(left, 1);
    }
);

both!(
    a_bad_value_in_a_variable_refuses_the_whole_document_before_any_mutation_runs,
    |app: TestApp| async move {
        let w = world(&app).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let created = staff.data(CREATE, json!({ "i": valid(&w) })).await["createAction"].clone();
        let id = created["action"]["id"].as_str().expect("id").to_owned();
        let two = "mutation($i: UpdateActionInput!, $j: UpdateActionInput!) {
            a: updateAction(input: $i) { action { version } }
            b: updateAction(input: $j) { action { version } } }";
        // A date that is no date, a number where a date goes, a date-time that is none: each
        // inside an input object's variable. The document is refused as a whole; the first
        // update, valid on its own, does not run.
        for bad in [
            json!({ "id": id, "version": 1, "dueOn": "2027-02-30" }),
            json!({ "id": id, "version": 1, "startOn": 12 }),
            // YYYY-MM-DD exactly, as RFC 3339's full-date (chrono alone took these).
            json!({ "id": id, "version": 1, "dueOn": "2027-1-1" }),
            json!({ "id": id, "version": 1, "dueOn": "+2027-01-01" }),
            json!({ "id": id, "version": 1, "dueOn": " 2027-01-01" }),
        ] {
            let body = staff
                .post(
                    two,
                    json!({ "i": { "id": id, "version": 1, "progress": 42 }, "j": bad }),
                )
                .await;
            assert!(body["data"].is_null(), "{body}");
            assert_eq!(
                body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
                "{body}"
            );
            let node = staff.data(NODE, json!({ "id": id })).await;
            assert_eq!(
                (
                    node["node"]["version"].as_i64(),
                    node["node"]["progress"].as_i64()
                ),
                (Some(1), Some(10)),
                "nothing was written: {body}"
            );
        }
        // The same in a query: refused before it runs, not a field's null.
        let body = staff
            .post(
                "query($since: DateTime) { actions(filter: { updatedSince: $since }) { totalCount } }",
                json!({ "since": "yesterday" }),
            )
            .await;
        assert!(
            body["data"].is_null() && body["errors"][0]["path"].is_null(),
            "{body}"
        );
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{body}"
        );
    }
);

both!(
    control_characters_in_text_are_a_user_error,
    |app: TestApp| async move {
        let w = world(&app).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let created = staff.data(CREATE, json!({ "i": valid(&w) })).await["createAction"].clone();
        let id = created["action"]["id"].as_str().expect("id").to_owned();
        for (field, value) in [
            ("title", "Ny\u{7} shelterplads"),
            ("title", "Ny\u{1b}[31m shelterplads"),
            ("partnerNeeds", "Frivillige\u{8}"),
            // Text-direction overrides and isolates make a title show as other text.
            ("title", "Shelter \u{202E}dalpretlehs"),
            ("description", "Se \u{2066}her\u{2069}"),
            // Invisible, or not for interchange: a byte order mark, noncharacters.
            ("title", "Shelter\u{FEFF}plads"),
            ("title", "Shelter \u{FFFF}"),
            ("description", "Se \u{FDD0}her"),
            // A title is one line.
            ("title", "To\r\nlinjer"),
            ("title", "Kolonne\tto"),
            ("title", "Linje\u{2028}skift"),
        ] {
            let body = staff
                .data(UPDATE, json!({ "i": { "id": id, "version": 1, field: value } }))
                .await["updateAction"]
                .clone();
            assert!(body["action"].is_null(), "{field}: {body}");
            assert_eq!(body["userErrors"][0]["field"], json!([field]), "{body}");
            assert_eq!(body["userErrors"][0]["code"], "INVALID", "{body}");
        }
        // Line breaks and tabs are text.
        let body = staff
            .data(
                UPDATE,
                json!({ "i": { "id": id, "version": 1, "partnerNeeds": "Frivillige:\n\t- til byggeriet" } }),
            )
            .await["updateAction"]
            .clone();
        assert_eq!(body["userErrors"], json!([]), "{body}");
        assert_eq!(body["action"]["partnerNeeds"], "Frivillige:\n\t- til byggeriet");
        // So is the line separator in a text of several lines, and an emoji flag made of tags.
        let body = staff
            .data(
                UPDATE,
                json!({ "i": { "id": id, "version": 2, "description": "Første\u{2028}anden \u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}" } }),
            )
            .await["updateAction"]
            .clone();
        assert_eq!(body["userErrors"], json!([]), "{body}");
        // Right-to-left text itself is text.
        let body = staff
            .data(
                UPDATE,
                json!({ "i": { "id": id, "version": 3, "title": "Venskabsby \u{5E2}\u{5D1}\u{5E8}\u{5D9}\u{5EA} \u{200F}" } }),
            )
            .await["updateAction"]
            .clone();
        assert_eq!(body["userErrors"], json!([]), "{body}");
        // What stands invisibly around a pasted title goes, as the blanks do.
        let body = staff
            .data(
                UPDATE,
                json!({ "i": { "id": id, "version": 4, "title": "\u{200B}Hune by\u{200B}\u{2060} " } }),
            )
            .await["updateAction"]
            .clone();
        assert_eq!(body["userErrors"], json!([]), "{body}");
        assert_eq!(body["action"]["title"], "Hune by");
        // A title stored with line breaks before the rule is made one line by the migration,
        // so the form sent back as it was read passes.
        let uuid = Uuid::parse_str(
            std::str::from_utf8(
                &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &id).unwrap(),
            )
            .unwrap()
            .trim_start_matches("Action:"),
        )
        .unwrap();
        Fixture::new(&app.db)
            .set("action", uuid, "title", "To\r\nlinjer\tog\u{2028}mere")
            .await;
        migration::one_line_names(&migration::SchemaManager::new(&app.db))
            .await
            .expect("migration");
        let body = staff
            .data(
                UPDATE,
                json!({ "i": { "id": id, "version": 5, "title": "To linjer og mere" } }),
            )
            .await["updateAction"]
            .clone();
        assert_eq!(body["userErrors"], json!([]), "{body}");
        assert_eq!(body["action"]["version"], 5, "the title was that already: {body}");
    }
);

// A form declares every field as a variable and sends those the user changed: a variable left
// out gives its field no value at all (the spec's input coercion), so the field is left as it
// is, neither cleared (a due date, a lead organisation) nor refused as null (a title, a status).
both!(
    a_variable_left_out_leaves_its_field_as_it_is,
    |app: TestApp| async move {
        let w = world(&app).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let created = staff.data(CREATE, json!({ "i": valid(&w) })).await["createAction"].clone();
        let id = created["action"]["id"].as_str().expect("id").to_owned();
        let form = "mutation($id: ID!, $version: Int!, $title: String, $status: ActionStatus,
                $dueOn: Date, $lead: ID, $needs: String) {
            updateAction(input: { id: $id, version: $version, title: $title, status: $status,
                dueOn: $dueOn, leadOrganizationId: $lead, partnerNeeds: $needs }) {
            action { title dueOn partnerNeeds leadOrganization { id } version }
            userErrors { field code } } }";
        let body = staff
            .data(
                form,
                json!({ "id": id, "version": 1, "title": "Shelterplads ved havnen" }),
            )
            .await;
        let out = &body["updateAction"];
        assert_eq!(out["userErrors"], json!([]), "{body}");
        assert_eq!(out["action"]["title"], "Shelterplads ved havnen");
        assert_eq!(out["action"]["dueOn"], created["action"]["dueOn"], "{body}");
        assert_eq!(
            out["action"]["partnerNeeds"], created["action"]["partnerNeeds"],
            "{body}"
        );
        assert_eq!(
            out["action"]["leadOrganization"]["id"],
            json!(global_id("Organization", w.forening)),
            "{body}"
        );
        assert_eq!(out["action"]["version"], 2);
        // Sent as null, a variable is null: it clears what may be cleared.
        let body = staff
            .data(form, json!({ "id": id, "version": 2, "dueOn": null }))
            .await;
        assert_eq!(body["updateAction"]["action"]["dueOn"], Value::Null, "{body}");
    }
);

// Marking an action completed completes its progress, unless the change gives one.
both!(
    completing_an_action_completes_its_progress,
    |app: TestApp| async move {
        let w = world(&app).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let complete = "mutation($i: UpdateActionInput!) { updateAction(input: $i) {
            action { status progress completedOn version } userErrors { field code } } }";
        for (given, expected) in [(None, 100), (Some(80), 80)] {
            let created = staff.data(CREATE, json!({ "i": valid(&w) })).await["createAction"].clone();
            let id = created["action"]["id"].as_str().expect("id").to_owned();
            let mut input = json!({ "id": id, "version": 1, "status": "COMPLETED" });
            if let Some(p) = given {
                input["progress"] = json!(p);
            }
            let body = staff.data(complete, json!({ "i": input })).await;
            let action = &body["updateAction"]["action"];
            assert_eq!(action["progress"], expected, "{body}");
            assert!(action["completedOn"].is_string(), "{body}");
            // Staying completed, an edit of something else leaves the progress alone.
            let body = staff
                .data(
                    complete,
                    json!({ "i": { "id": id, "version": 2, "progress": 90 } }),
                )
                .await;
            assert_eq!(body["updateAction"]["action"]["progress"], 90, "{body}");
        }
    }
);

both!(
    an_update_that_changes_nothing_writes_nothing,
    |app: TestApp| async move {
        const STATE: &str = "query($id: ID!) { node(id: $id) { ... on Action { version updatedAt } }
            auditLog(filter: { entityId: $id }) { totalCount }
            changes(first: 100) { edges { node { kind nodeId } } } }";
        let w = world(&app).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let created = staff.data(CREATE, json!({ "i": valid(&w) })).await["createAction"].clone();
        let id = created["action"]["id"].clone();
        let before = staff.data(STATE, json!({ "id": id })).await;
        assert_eq!(before["node"]["version"], 1);
        let records = before["auditLog"]["totalCount"].as_i64().expect("a count");
        assert_eq!(records, 1, "the new action and its themes are one record");
        let updates = |state: &Value| {
            state["changes"]["edges"]
                .as_array()
                .expect("changes")
                .iter()
                .filter(|e| e["node"]["nodeId"] == id && e["node"]["kind"] == "UPDATED")
                .count()
        };
        assert_eq!(updates(&before), 0);

        // Every field given as it is, the same themes in another order: nothing is written.
        let same = json!({ "i": { "id": id, "version": 1, "title": "Ny shelterplads",
            "potential": 4, "startOn": "2026-03-01", "partnerNeeds": "Frivillige til byggeriet",
            "leadOrganizationId": global_id("Organization", w.forening),
            "themeIds": [global_id("Theme", w.natur)] } });
        let unchanged = staff.data(UPDATE, same.clone()).await["updateAction"].clone();
        assert_eq!(unchanged["userErrors"], json!([]), "{unchanged}");
        assert_eq!(unchanged["action"]["version"], 1, "{unchanged}");
        assert_eq!(unchanged["action"]["title"], "Ny shelterplads");
        let after = staff.data(STATE, json!({ "id": id })).await;
        assert_eq!(after["node"], before["node"], "version and updatedAt stay");
        assert_eq!(after["auditLog"]["totalCount"], records, "no audit record");
        assert_eq!(updates(&after), 0, "no change event");

        // A stale version is still a conflict, even when nothing would change.
        let mut stale = same.clone();
        stale["i"]["version"] = json!(0);
        assert_eq!(staff.error(UPDATE, stale).await.0, "CONFLICT");

        // One field that differs: the row, its version, the audit and the feed move on.
        let mut one = same;
        one["i"]["potential"] = json!(5);
        let changed = staff.data(UPDATE, one).await["updateAction"].clone();
        assert_eq!(changed["action"]["version"], 2, "{changed}");
        let last = staff.data(STATE, json!({ "id": id })).await;
        assert_eq!(last["auditLog"]["totalCount"], records + 1);
        assert_eq!(updates(&last), 1);
        assert_ne!(last["node"]["updatedAt"], before["node"]["updatedAt"]);

        // Only the themes: the version moves, so it covers the links too.
        let themes = json!({ "i": { "id": id, "version": 2,
            "themeIds": [global_id("Theme", w.natur), global_id("Theme", w.kultur)] } });
        let relinked = staff.data(UPDATE, themes).await["updateAction"].clone();
        assert_eq!(relinked["action"]["version"], 3, "{relinked}");
        assert_eq!(relinked["action"]["themes"].as_array().map(Vec::len), Some(2));
        let relinked = staff.data(STATE, json!({ "id": id })).await;
        assert_eq!(
            relinked["auditLog"]["totalCount"],
            records + 2,
            "one record for the themes"
        );
        assert_eq!(updates(&relinked), 2);
    }
);

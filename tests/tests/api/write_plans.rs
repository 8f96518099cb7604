//! Writing plans: drafts created and changed by the community's editors (themes replaced in
//! the same transaction), drafts deleted while nothing refers to them, the status moved
//! along (only staff adopt and archive), the organisations involved, and the internal notes
//! only the community's editors and staff read.
use chrono::Datelike;
use entity::{plan, plan_involvement, plan_theme};
use lup_tests::{
    As, TestApp, both,
    fixture::{Fixture, OrganizationKind, PartnershipStatus, PlanStatus, danish_today, date, global_id},
};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

const CREATE: &str = "mutation($i: CreatePlanInput!) { createPlan(input: $i) {
    plan { id title summary vision periodFrom periodTo status adoptedOn version internalNotes
           themes { id } community { id } }
    userErrors { field code message } } }";
const UPDATE: &str = "mutation($i: UpdatePlanInput!) { updatePlan(input: $i) {
    plan { id title periodFrom periodTo version internalNotes themes { id } }
    userErrors { field code message } } }";
const DELETE: &str = "mutation($i: DeletePlanInput!) { deletePlan(input: $i) { deletedId userErrors { field code message } } }";
const STATUS: &str = "mutation($i: ChangePlanStatusInput!) { changePlanStatus(input: $i) {
    plan { id status adoptedOn version } userErrors { field code message } } }";
const REPLACING: &str = "mutation($i: ChangePlanStatusInput!) { changePlanStatus(input: $i) {
    plan { status } archivedPlans { title status } userErrors { field code message } } }";
const ADD: &str = "mutation($i: AddPlanInvolvementInput!) { addPlanInvolvement(input: $i) {
    planInvolvement { id role roleLabel description version organization { id } plan { id } }
    userErrors { field code message } } }";
const UPDATE_INVOLVEMENT: &str =
    "mutation($i: UpdatePlanInvolvementInput!) { updatePlanInvolvement(input: $i) {
    planInvolvement { id role description version } userErrors { field code message } } }";
const REMOVE: &str = "mutation($i: RemovePlanInvolvementInput!) { removePlanInvolvement(input: $i) {
    deletedId userErrors { field code message } } }";
const NODE: &str = "query($id: ID!) { node(id: $id) { ... on Plan { title status adoptedOn version
    involvement { id role description } } } }";
const NOTES: &str = "query($id: ID!) { node(id: $id) { ... on Plan { title internalNotes } } }";
const AUDIT: &str =
    "query($id: ID!) { auditLog(filter: { entityId: $id }) { nodes { operation entityType changes } } }";
const AUDIT_ACTOR: &str =
    "query($id: ID!) { auditLog(filter: { entityId: $id }) { nodes { changes actor { label } } } }";

struct World {
    gjol: Uuid,
    birkelse: Uuid,
    natur: Uuid,
    kultur: Uuid,
    forening: Uuid,
}

async fn world(app: &TestApp) -> World {
    let fx = Fixture::new(&app.db);
    let gjol = fx.community("gjoel", "Gjøl").await;
    World {
        gjol,
        birkelse: fx.community("birkelse", "Birkelse").await,
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
    }
}

fn valid(w: &World) -> Value {
    json!({
        "communityId": global_id("Community", w.gjol),
        "title": "Gjøl 2030",
        "summary": "Om byen ved fjorden.",
        "vision": "Et levende fiskerleje.",
        "periodFrom": 2026,
        "periodTo": 2030,
        "themeIds": [global_id("Theme", w.natur)],
        "internalNotes": "Kun til kommunen.",
    })
}

async fn row(app: &TestApp, id: Uuid) -> plan::Model {
    plan::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .expect("read plan")
        .expect("the plan exists")
}

async fn themes(app: &TestApp, id: Uuid) -> Vec<Uuid> {
    let mut ids: Vec<Uuid> = plan_theme::Entity::find()
        .filter(plan_theme::Column::PlanId.eq(id))
        .all(&app.db)
        .await
        .expect("read themes")
        .into_iter()
        .map(|t| t.theme_id)
        .collect();
    ids.sort();
    ids
}

async fn plan_count(app: &TestApp) -> u64 {
    plan::Entity::find().count(&app.db).await.expect("count plans")
}

fn uuid_of(global: &Value) -> Uuid {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(global.as_str().expect("an ID"))
        .expect("base64");
    let text = String::from_utf8(bytes).expect("utf-8");
    text.split_once(':').expect("Type:uuid").1.parse().expect("uuid")
}

/// The user errors of a payload as `(field, code)` pairs.
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

both!(
    an_editor_creates_and_changes_a_draft_plan,
    |app: TestApp| async move {
        let w = world(&app).await;
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        let created = editor.data(CREATE, json!({ "i": valid(&w) })).await["createPlan"].clone();
        assert_eq!(created["userErrors"], json!([]));
        let p = &created["plan"];
        assert_eq!(p["status"], "DRAFT");
        assert_eq!(p["version"], 1);
        assert!(p["adoptedOn"].is_null());
        assert_eq!(p["internalNotes"], "Kun til kommunen.");
        assert_eq!(p["themes"], json!([{ "id": global_id("Theme", w.natur) }]));
        assert_eq!(p["community"]["id"], global_id("Community", w.gjol));
        let id = p["id"].clone();
        let uuid = uuid_of(&id);

        // A draft: the editor sees it, the public does not.
        let seen = editor.data(NODE, json!({ "id": id })).await;
        assert_eq!(seen["node"]["title"], "Gjøl 2030");
        assert!(app.data(NODE, json!({ "id": id })).await["node"].is_null());

        let updated = editor
            .data(
                UPDATE,
                json!({ "i": { "id": id, "version": 1, "title": "  Gjøl 2031  ", "periodTo": 2031,
                           "themeIds": [global_id("Theme", w.kultur), global_id("Theme", w.kultur)] } }),
            )
            .await["updatePlan"]
            .clone();
        assert_eq!(updated["userErrors"], json!([]));
        assert_eq!(updated["plan"]["title"], "Gjøl 2031", "trimmed");
        assert_eq!(updated["plan"]["periodTo"], 2031);
        assert_eq!(updated["plan"]["version"], 2);
        assert_eq!(
            updated["plan"]["themes"],
            json!([{ "id": global_id("Theme", w.kultur) }])
        );
        assert_eq!(themes(&app, uuid).await, vec![w.kultur]);

        // Staff may change it too; leaving themeIds out keeps the themes.
        let staff = app.signed_in(As::Staff, &[], None).await;
        let again = staff
            .data(
                UPDATE,
                json!({ "i": { "id": id, "version": 2, "internalNotes": "" } }),
            )
            .await["updatePlan"]
            .clone();
        assert_eq!(again["plan"]["internalNotes"], "");
        assert_eq!(again["plan"]["version"], 3);
        assert_eq!(themes(&app, uuid).await, vec![w.kultur]);

        let log = staff.data(AUDIT, json!({ "id": id })).await["auditLog"]["nodes"].clone();
        let log = log.as_array().expect("entries");
        assert!(log.iter().all(|e| e["entityType"] == "Plan"), "{log:?}");
        assert!(
            log.iter()
                .any(|e| e["operation"] == "CREATE" && e["changes"]["title"]["after"] == "Gjøl 2030"),
            "{log:?}"
        );
        assert!(
            log.iter().any(|e| e["operation"] == "UPDATE"
                && e["changes"]["title"] == json!({ "before": "Gjøl 2030", "after": "Gjøl 2031" })),
            "{log:?}"
        );
        assert!(
            log.iter().any(|e| e["changes"]["theme_ids"]
                == json!({ "before": [w.natur.to_string()], "after": [w.kultur.to_string()] })),
            "theme changes are recorded on the plan: {log:?}"
        );
        // The row's own bookkeeping is not a change anyone made.
        for e in log {
            for column in ["id", "created_at", "updated_at", "version"] {
                assert!(e["changes"].get(column).is_none(), "{column} in {e}");
            }
        }
    }
);

both!(
    every_bad_field_of_a_new_plan_is_a_user_error,
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
                json!(global_id("Theme", w.natur)),
                json!(["communityId"]),
                "INVALID",
            ),
            (
                "communityId",
                json!(global_id("Community", Uuid::now_v7())),
                json!(["communityId"]),
                "NOT_FOUND",
            ),
            ("title", json!("  "), json!(["title"]), "REQUIRED"),
            ("title", json!("x".repeat(201)), json!(["title"]), "TOO_LONG"),
            (
                "summary",
                json!("x".repeat(20_001)),
                json!(["summary"]),
                "TOO_LONG",
            ),
            ("vision", json!("x".repeat(20_001)), json!(["vision"]), "TOO_LONG"),
            ("periodFrom", json!(1800), json!(["periodFrom"]), "OUT_OF_RANGE"),
            ("periodTo", json!(2201), json!(["periodTo"]), "OUT_OF_RANGE"),
            ("periodTo", json!(2025), json!(["periodTo"]), "OUT_OF_RANGE"),
            (
                "themeIds",
                json!(["ikke-et-id"]),
                json!(["themeIds", "0"]),
                "INVALID",
            ),
            (
                "themeIds",
                json!([global_id("Theme", w.natur), global_id("Theme", Uuid::now_v7())]),
                json!(["themeIds", "1"]),
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
            let mut input = valid(&w);
            input[field] = value;
            let body = staff.data(CREATE, json!({ "i": input })).await["createPlan"].clone();
            assert!(body["plan"].is_null(), "{field}: {body}");
            assert_eq!(errors(&body), vec![(path, code.to_owned())], "{field}: {body}");
        }
        // A wrong type is GraphQL's to refuse (a new plan's status is not even asked for).
        let mut input = valid(&w);
        input["periodFrom"] = json!("2026");
        let (_, message) = staff.error(CREATE, json!({ "i": input })).await;
        assert!(message.contains("periodFrom"), "{message}");
        assert_eq!(plan_count(&app).await, 0, "nothing was created");
        let log = staff
            .data(
                "{ auditLog(filter: { entityType: \"Plan\" }) { totalCount } }",
                json!({}),
            )
            .await;
        assert_eq!(log["auditLog"]["totalCount"], 0);
    }
);

both!(a_bad_update_changes_nothing, |app: TestApp| async move {
    let w = world(&app).await;
    let fx = Fixture::new(&app.db);
    let id = fx.plan(w.gjol, "Gjøl 2030", PlanStatus::Draft, 2025, 2030).await;
    fx.tag_plan(id, w.natur).await;
    let gid = global_id("Plan", id);
    let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
    let cases: Vec<(Value, Value, &str)> = vec![
        (json!({ "title": "" }), json!(["title"]), "REQUIRED"),
        (json!({ "title": "x".repeat(201) }), json!(["title"]), "TOO_LONG"),
        (
            json!({ "summary": "x".repeat(20_001) }),
            json!(["summary"]),
            "TOO_LONG",
        ),
        (
            json!({ "vision": "x".repeat(20_001) }),
            json!(["vision"]),
            "TOO_LONG",
        ),
        (
            json!({ "periodFrom": 1899 }),
            json!(["periodFrom"]),
            "OUT_OF_RANGE",
        ),
        (json!({ "periodTo": 3000 }), json!(["periodTo"]), "OUT_OF_RANGE"),
        // Against the stored period: from after the stored end, to before the stored start.
        (
            json!({ "periodFrom": 2031, "title": "Ændret" }),
            json!(["periodFrom"]),
            "OUT_OF_RANGE",
        ),
        (
            json!({ "periodTo": 2024, "title": "Ændret" }),
            json!(["periodTo"]),
            "OUT_OF_RANGE",
        ),
        (
            json!({ "themeIds": ["ikke-et-id"] }),
            json!(["themeIds", "0"]),
            "INVALID",
        ),
        // An unknown theme: neither the title nor the themes change.
        (
            json!({ "title": "Ændret", "themeIds": [global_id("Theme", w.kultur), global_id("Theme", Uuid::now_v7())] }),
            json!(["themeIds", "1"]),
            "NOT_FOUND",
        ),
        (
            json!({ "internalNotes": "x".repeat(20_001) }),
            json!(["internalNotes"]),
            "TOO_LONG",
        ),
    ];
    for (change, path, code) in cases {
        let mut input = json!({ "id": gid, "version": 1 });
        for (k, v) in change.as_object().expect("object") {
            input[k] = v.clone();
        }
        let body = editor.data(UPDATE, json!({ "i": input })).await["updatePlan"].clone();
        assert!(body["plan"].is_null(), "{change}: {body}");
        assert_eq!(errors(&body), vec![(path, code.to_owned())], "{change}: {body}");
    }
    let body = editor
        .data(UPDATE, json!({ "i": { "id": "ikke-et-id", "version": 1 } }))
        .await;
    assert_eq!(
        errors(&body["updatePlan"]),
        vec![(json!(["id"]), "INVALID".to_owned())]
    );

    // A stale version.
    let (code, _) = editor
        .error(
            UPDATE,
            json!({ "i": { "id": gid, "version": 7, "title": "Ændret", "themeIds": [] } }),
        )
        .await;
    assert_eq!(code, "CONFLICT");
    let unknown = global_id("Plan", Uuid::now_v7());
    assert_eq!(
        editor
            .error(UPDATE, json!({ "i": { "id": unknown, "version": 1 } }))
            .await
            .0,
        "NOT_FOUND"
    );

    let after = row(&app, id).await;
    assert_eq!(
        (
            after.title.as_str(),
            after.version,
            after.period_from,
            after.period_to
        ),
        ("Gjøl 2030", 1, 2025, 2030)
    );
    assert_eq!(themes(&app, id).await, vec![w.natur], "the themes are untouched");
});

both!(
    only_writers_of_the_community_write_its_plans,
    |app: TestApp| async move {
        let w = world(&app).await;
        let fx = Fixture::new(&app.db);
        let draft = global_id(
            "Plan",
            fx.plan(w.gjol, "Kladde", PlanStatus::Draft, 2026, 2030).await,
        );
        let adopted = fx.plan(w.gjol, "Vedtaget", PlanStatus::Adopted, 2022, 2025).await;
        let involvement = global_id("PlanInvolvement", fx.involvement(adopted, w.forening).await);
        let adopted = global_id("Plan", adopted);
        for (role, code) in [
            (As::Anonymous, "UNAUTHENTICATED"),
            (As::Partner, "FORBIDDEN"),
            // An editor of another community.
            (As::CommunityEditor, "FORBIDDEN"),
        ] {
            let caller = app.signed_in(role, &[w.birkelse], Some(w.forening)).await;
            let calls: Vec<(&str, Value)> = vec![
                (CREATE, json!({ "i": valid(&w) })),
                (
                    UPDATE,
                    json!({ "i": { "id": draft, "version": 1, "title": "X" } }),
                ),
                (DELETE, json!({ "i": { "id": draft, "version": 1 } })),
                (
                    STATUS,
                    json!({ "i": { "id": draft, "version": 1, "status": "CONSULTATION" } }),
                ),
                (
                    STATUS,
                    json!({ "i": { "id": adopted, "version": 1, "status": "ARCHIVED" } }),
                ),
                (
                    ADD,
                    json!({ "i": { "planId": adopted, "organizationId": global_id("Organization", w.forening), "role": "CONSULTED" } }),
                ),
                (
                    UPDATE_INVOLVEMENT,
                    json!({ "i": { "id": involvement, "version": 1, "description": "X" } }),
                ),
                (REMOVE, json!({ "i": { "id": involvement, "version": 1 } })),
            ];
            for (query, vars) in calls {
                // Another community's draft is hidden from its editors: NOT_FOUND, as if it
                // did not exist (the other roles are refused by the guard first).
                let hidden = role == As::CommunityEditor && vars["i"]["id"] == json!(draft);
                let code = if hidden { "NOT_FOUND" } else { code };
                assert_eq!(caller.error(query, vars).await.0, code, "{role:?}: {query}");
            }
        }
        assert_eq!(plan_count(&app).await, 2);
        let drafts = plan::Entity::find()
            .filter(plan::Column::Title.eq("Kladde"))
            .one(&app.db)
            .await
            .expect("read")
            .expect("still there");
        assert_eq!((drafts.version, drafts.status), (1, PlanStatus::Draft));
        assert_eq!(
            plan_involvement::Entity::find()
                .count(&app.db)
                .await
                .expect("count"),
            1
        );
    }
);

both!(
    only_unreferenced_drafts_are_deleted_with_their_themes_and_involvement,
    |app: TestApp| async move {
        let w = world(&app).await;
        let fx = Fixture::new(&app.db);
        let draft = fx.plan(w.gjol, "Kladde", PlanStatus::Draft, 2026, 2030).await;
        fx.tag_plan(draft, w.natur).await;
        fx.involvement(draft, w.forening).await;
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;

        let (code, _) = editor
            .error(
                DELETE,
                json!({ "i": { "id": global_id("Plan", draft), "version": 2 } }),
            )
            .await;
        assert_eq!(code, "CONFLICT");
        let body = editor
            .data(
                DELETE,
                json!({ "i": { "id": global_id("Plan", draft), "version": 1 } }),
            )
            .await;
        assert_eq!(body["deletePlan"]["deletedId"], global_id("Plan", draft));
        assert_eq!(plan_count(&app).await, 0);
        assert!(
            themes(&app, draft).await.is_empty(),
            "theme links went with the plan"
        );
        assert_eq!(
            plan_involvement::Entity::find()
                .count(&app.db)
                .await
                .expect("count"),
            0,
            "involvement went with the plan"
        );
        let staff = app.signed_in(As::Staff, &[], None).await;
        let log = staff.data(AUDIT, json!({ "id": global_id("Plan", draft) })).await;
        assert_eq!(log["auditLog"]["nodes"][0]["operation"], "DELETE");

        // Referenced drafts stay.
        let with_action = fx
            .plan(w.gjol, "Med handling", PlanStatus::Draft, 2026, 2030)
            .await;
        fx.action(with_action, "Ny sti").await;
        let with_partnership = fx
            .plan(w.gjol, "Med partnerskab", PlanStatus::Draft, 2026, 2030)
            .await;
        fx.partnership(None, Some(with_partnership), "Fælles", PartnershipStatus::Active)
            .await;
        let with_event = fx.plan(w.gjol, "Med møde", PlanStatus::Draft, 2026, 2030).await;
        fx.event(w.gjol, Some(with_event), "Borgermøde", date(2025, 3, 1))
            .await;
        for (id, what) in [
            (with_action, "actions (1)"),
            (with_partnership, "partnerships (1)"),
            (with_event, "engagement events (1)"),
        ] {
            let body = editor
                .data(
                    DELETE,
                    json!({ "i": { "id": global_id("Plan", id), "version": 1 } }),
                )
                .await["deletePlan"]
                .clone();
            assert!(body["deletedId"].is_null(), "{body}");
            assert_eq!(errors(&body), vec![(json!(["id"]), "IN_USE".to_owned())]);
            assert!(
                body["userErrors"][0]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(what)),
                "{body}"
            );
        }
        // Only drafts: a plan once in consultation or adopted is archived instead.
        let adopted = fx.plan(w.gjol, "Vedtaget", PlanStatus::Adopted, 2022, 2025).await;
        let consultation = fx
            .plan(w.gjol, "I høring", PlanStatus::Consultation, 2026, 2030)
            .await;
        for id in [adopted, consultation] {
            let body = staff
                .data(
                    DELETE,
                    json!({ "i": { "id": global_id("Plan", id), "version": 1 } }),
                )
                .await["deletePlan"]
                .clone();
            assert_eq!(
                errors(&body),
                vec![(json!(["id"]), "INVALID_TRANSITION".to_owned())]
            );
        }
        assert_eq!(plan_count(&app).await, 5);
    }
);

both!(
    a_plan_moves_through_its_statuses_and_only_staff_adopt_and_archive,
    |app: TestApp| async move {
        let w = world(&app).await;
        let fx = Fixture::new(&app.db);
        let id = fx.plan(w.gjol, "Gjøl 2030", PlanStatus::Draft, 2026, 2030).await;
        let gid = global_id("Plan", id);
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let status = |version: i64, to: &str| json!({ "i": { "id": gid, "version": version, "status": to } });

        // The editor sends the draft to consultation and back.
        let body = editor.data(STATUS, status(1, "CONSULTATION")).await["changePlanStatus"].clone();
        assert_eq!(body["userErrors"], json!([]));
        assert_eq!(
            (body["plan"]["status"].as_str(), body["plan"]["version"].as_i64()),
            (Some("CONSULTATION"), Some(2))
        );
        let body = editor.data(STATUS, status(2, "DRAFT")).await["changePlanStatus"].clone();
        assert_eq!(body["plan"]["status"], "DRAFT");
        // Again, from a first day three weeks back (as announced in the local paper).
        let opened = danish_today() - chrono::Days::new(21);
        let adopted_on = (danish_today() - chrono::Days::new(10)).to_string();
        let body = editor
            .data(
                STATUS,
                json!({ "i": { "id": gid, "version": 3, "status": "CONSULTATION",
                               "consultationOpensOn": opened.to_string() } }),
            )
            .await["changePlanStatus"]
            .clone();
        assert_eq!(body["userErrors"], json!([]), "{body}");

        // The editor may not adopt, from consultation or from draft.
        assert_eq!(editor.error(STATUS, status(4, "ADOPTED")).await.0, "FORBIDDEN");
        let other = fx
            .plan(w.gjol, "Anden kladde", PlanStatus::Draft, 2026, 2030)
            .await;
        let draft_to_adopted =
            json!({ "i": { "id": global_id("Plan", other), "version": 1, "status": "ADOPTED" } });
        assert_eq!(
            editor.error(STATUS, draft_to_adopted.clone()).await.0,
            "FORBIDDEN"
        );
        assert_eq!(
            (row(&app, id).await.status, row(&app, other).await.status),
            (PlanStatus::Consultation, PlanStatus::Draft)
        );

        // Not allowed at all, and bad values.
        let draft_to_archived =
            json!({ "i": { "id": global_id("Plan", other), "version": 1, "status": "ARCHIVED" } });
        for (who, vars, path, code) in [
            (
                &staff,
                draft_to_archived.clone(),
                json!(["status"]),
                "INVALID_TRANSITION",
            ),
            (
                &editor,
                draft_to_archived,
                json!(["status"]),
                "INVALID_TRANSITION",
            ),
            (
                &staff,
                json!({ "i": { "id": global_id("Plan", other), "version": 1, "status": "DRAFT" } }),
                json!(["status"]),
                "INVALID_TRANSITION",
            ),
            (
                &staff,
                json!({ "i": { "id": gid, "version": 4, "status": "DRAFT", "adoptedOn": "2026-02-01" } }),
                json!(["adoptedOn"]),
                "INVALID",
            ),
            (
                &staff,
                json!({ "i": { "id": gid, "version": 4, "status": "ADOPTED", "adoptedOn": "1800-02-01" } }),
                json!(["adoptedOn"]),
                "OUT_OF_RANGE",
            ),
            (
                // Not before its consultation opened.
                &staff,
                json!({ "i": { "id": gid, "version": 4, "status": "ADOPTED",
                    "adoptedOn": (opened - chrono::Days::new(1)).to_string() } }),
                json!(["adoptedOn"]),
                "OUT_OF_RANGE",
            ),
            (
                // Adopted is adopted now: a date to come is refused.
                &staff,
                json!({ "i": { "id": gid, "version": 4, "status": "ADOPTED",
                    "adoptedOn": (danish_today() + chrono::Days::new(1)).to_string() } }),
                json!(["adoptedOn"]),
                "OUT_OF_RANGE",
            ),
            (
                &staff,
                json!({ "i": { "id": "ikke-et-id", "version": 4, "status": "ADOPTED" } }),
                json!(["id"]),
                "INVALID",
            ),
        ] {
            let body = who.data(STATUS, vars.clone()).await["changePlanStatus"].clone();
            assert!(body["plan"].is_null(), "{vars}: {body}");
            assert_eq!(errors(&body), vec![(path, code.to_owned())], "{vars}: {body}");
        }
        assert_eq!(staff.error(STATUS, status(3, "ADOPTED")).await.0, "CONFLICT");
        assert_eq!(row(&app, id).await.version, 4, "nothing changed");

        // In consultation the plan is public already; the other draft is not.
        assert_eq!(
            app.data(NODE, json!({ "id": gid })).await["node"]["status"],
            "CONSULTATION"
        );
        assert!(app.data(NODE, json!({ "id": global_id("Plan", other) })).await["node"].is_null());
        // Staff adopt; the plan stays public.
        let body = staff
            .data(
                STATUS,
                json!({ "i": { "id": gid, "version": 4, "status": "ADOPTED", "adoptedOn": adopted_on } }),
            )
            .await["changePlanStatus"]
            .clone();
        assert_eq!(body["plan"]["status"], "ADOPTED");
        assert_eq!(body["plan"]["adoptedOn"], adopted_on);
        // Its consultation, meant to run four weeks, ended on the day of adoption.
        assert_eq!(
            row(&app, id).await.consultation_closes_on.map(|d| d.to_string()),
            Some(adopted_on.clone())
        );
        let public = app.data(NODE, json!({ "id": gid })).await;
        assert_eq!(public["node"]["status"], "ADOPTED");
        let listed = app.data("{ plans { nodes { title } } }", json!({})).await;
        assert_eq!(listed["plans"]["nodes"], json!([{ "title": "Gjøl 2030" }]));

        // Adopted: back to draft is not allowed; only staff archive, and the date stays.
        let body = staff.data(STATUS, status(5, "DRAFT")).await["changePlanStatus"].clone();
        assert_eq!(
            errors(&body),
            vec![(json!(["status"]), "INVALID_TRANSITION".to_owned())]
        );
        assert_eq!(editor.error(STATUS, status(5, "ARCHIVED")).await.0, "FORBIDDEN");
        let body = staff.data(STATUS, status(5, "ARCHIVED")).await["changePlanStatus"].clone();
        assert_eq!(body["plan"]["status"], "ARCHIVED");
        assert_eq!(body["plan"]["adoptedOn"], adopted_on);
        let log = staff.data(AUDIT, json!({ "id": gid })).await["auditLog"]["nodes"][0].clone();
        assert_eq!(
            log["changes"]["status"],
            json!({ "before": "ADOPTED", "after": "ARCHIVED" })
        );

        // Archived by mistake: staff restore it, with the day it was adopted on.
        assert_eq!(editor.error(STATUS, status(6, "ADOPTED")).await.0, "FORBIDDEN");
        let body = staff
            .data(
                STATUS,
                json!({ "i": { "id": gid, "version": 6, "status": "ADOPTED", "adoptedOn": danish_today().to_string() } }),
            )
            .await["changePlanStatus"]
            .clone();
        assert_eq!(errors(&body), vec![(json!(["adoptedOn"]), "INVALID".to_owned())]);
        let body = staff.data(STATUS, status(6, "ADOPTED")).await["changePlanStatus"].clone();
        assert_eq!(body["userErrors"], json!([]), "{body}");
        assert_eq!(body["plan"]["status"], "ADOPTED");
        assert_eq!(body["plan"]["adoptedOn"], adopted_on);
        let log = staff.data(AUDIT, json!({ "id": gid })).await["auditLog"]["nodes"][0].clone();
        assert_eq!(
            log["changes"]["status"],
            json!({ "before": "ARCHIVED", "after": "ADOPTED" })
        );

        // Straight from draft, adopted today by default.
        let body = staff.data(STATUS, draft_to_adopted).await["changePlanStatus"].clone();
        assert_eq!(
            body["plan"]["adoptedOn"],
            danish_today().to_string(),
            "today in Danish time"
        );
    }
);

// A community's new plan, its period begun, replaces its adopted plans that began before it:
// adopting it archives them, audited, and it is the current plan; an older plan adopted
// afterwards is archived at once, and a plan it replaced is not restored over it.
both!(
    an_adopted_plan_replaces_the_older_ones,
    |app: TestApp| async move {
        let w = world(&app).await;
        let fx = Fixture::new(&app.db);
        let old = fx
            .plan(w.gjol, "Gjøl 2022–2025", PlanStatus::Adopted, 2022, 2025)
            .await;
        let same_start = fx
            .plan(w.gjol, "Gjøl tillæg 2026", PlanStatus::Adopted, 2026, 2026)
            .await;
        let new = fx
            .plan(w.gjol, "Gjøl 2026–2029", PlanStatus::Consultation, 2026, 2029)
            .await;
        let elsewhere = fx
            .plan(w.birkelse, "Birkelse 2024–2027", PlanStatus::Adopted, 2024, 2027)
            .await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let adopt =
            |id: Uuid| json!({ "i": { "id": global_id("Plan", id), "version": 1, "status": "ADOPTED" } });

        let body = staff.data(REPLACING, adopt(new)).await["changePlanStatus"].clone();
        assert_eq!(body["userErrors"], json!([]), "{body}");
        assert_eq!(body["plan"]["status"], "ADOPTED");
        let mut archived: Vec<(String, String)> = body["archivedPlans"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["title"].as_str().unwrap().to_owned(),
                    p["status"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        archived.sort();
        assert_eq!(
            archived,
            [
                ("Gjøl 2022–2025".to_owned(), "ARCHIVED".to_owned()),
                ("Gjøl tillæg 2026".to_owned(), "ARCHIVED".to_owned())
            ],
            "the payload tells what the adoption archived: {body}"
        );
        for (id, status) in [
            (old, PlanStatus::Archived),
            (same_start, PlanStatus::Archived),
            (new, PlanStatus::Adopted),
            (elsewhere, PlanStatus::Adopted),
        ] {
            assert_eq!(row(&app, id).await.status, status, "{id}");
        }
        let log =
            staff.data(AUDIT, json!({ "id": global_id("Plan", old) })).await["auditLog"]["nodes"][0].clone();
        assert_eq!(log["operation"], "UPDATE");
        assert_eq!(
            log["changes"]["status"],
            json!({ "before": "ADOPTED", "after": "ARCHIVED" })
        );
        let current = "query($id: ID!) { node(id: $id) { ... on Community { currentPlan { title } } } }";
        let d = app
            .data(current, json!({ "id": global_id("Community", w.gjol) }))
            .await;
        assert_eq!(d["node"]["currentPlan"]["title"], "Gjøl 2026–2029");

        // An older plan adopted afterwards (a plan recorded late) replaces nothing newer: it
        // is recorded as adopted and replaced, archived at once with its adoption date.
        let late = fx
            .plan(w.gjol, "Gjøl 2018–2021", PlanStatus::Draft, 2018, 2021)
            .await;
        let body = staff.data(REPLACING, adopt(late)).await["changePlanStatus"].clone();
        assert_eq!(body["userErrors"], json!([]), "{body}");
        assert_eq!(body["archivedPlans"], json!([]), "{body}");
        assert_eq!(body["plan"]["status"], "ARCHIVED", "{body}");
        assert!(row(&app, late).await.adopted_on.is_some());
        assert_eq!(row(&app, new).await.status, PlanStatus::Adopted);

        // Restoring a plan that a later one in force replaced is refused: it would be
        // replaced again at once.
        let body = staff
            .data(
                REPLACING,
                json!({ "i": { "id": global_id("Plan", old), "version": 2, "status": "ADOPTED" } }),
            )
            .await["changePlanStatus"]
            .clone();
        assert_eq!(body["userErrors"][0]["code"], "INVALID_TRANSITION", "{body}");
        assert_eq!(row(&app, old).await.status, PlanStatus::Archived);
        assert_eq!(row(&app, new).await.status, PlanStatus::Adopted);
        let d = app
            .data(current, json!({ "id": global_id("Community", w.gjol) }))
            .await;
        assert_eq!(d["node"]["currentPlan"]["title"], "Gjøl 2026–2029");
    }
);

// A successor adopted ahead of its period waits for its first year: the plan in force stays
// adopted and current until then, when the server archives it (as `system:plans`). Another
// plan for the successor's period replaces it at once.
both!(
    a_plan_adopted_ahead_of_its_period_takes_over_in_its_first_year,
    |app: TestApp| async move {
        let w = world(&app).await;
        let fx = Fixture::new(&app.db);
        let y = danish_today().year();
        let running = fx
            .plan(w.gjol, "Gjøl nu", PlanStatus::Adopted, y - 2, y + 1)
            .await;
        let next = fx
            .plan(w.gjol, "Gjøl næste", PlanStatus::Draft, y + 2, y + 5)
            .await;
        let revised = fx
            .plan(w.gjol, "Gjøl næste, revideret", PlanStatus::Draft, y + 2, y + 5)
            .await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let adopt =
            |id: Uuid| json!({ "i": { "id": global_id("Plan", id), "version": 1, "status": "ADOPTED" } });
        let current = async || {
            let q = "query($id: ID!) { node(id: $id) { ... on Community { currentPlan { title } } } }";
            app.data(q, json!({ "id": global_id("Community", w.gjol) })).await["node"]["currentPlan"]["title"]
                .clone()
        };

        let body = staff.data(REPLACING, adopt(next)).await["changePlanStatus"].clone();
        assert_eq!(body["userErrors"], json!([]), "{body}");
        assert_eq!(
            body["archivedPlans"],
            json!([]),
            "the plan in force stays: {body}"
        );
        assert_eq!(row(&app, running).await.status, PlanStatus::Adopted);
        assert_eq!(current().await, "Gjøl nu");

        // A revision for the same period replaces the waiting plan at once.
        let body = staff.data(REPLACING, adopt(revised)).await["changePlanStatus"].clone();
        assert_eq!(
            body["archivedPlans"],
            json!([{ "title": "Gjøl næste", "status": "ARCHIVED" }]),
            "{body}"
        );
        assert_eq!(row(&app, running).await.status, PlanStatus::Adopted);
        // The plan it replaced is not restored over it.
        let version = row(&app, next).await.version;
        let body = staff
            .data(
                REPLACING,
                json!({ "i": { "id": global_id("Plan", next), "version": version, "status": "ADOPTED" } }),
            )
            .await["changePlanStatus"]
            .clone();
        assert_eq!(body["userErrors"][0]["code"], "INVALID_TRANSITION", "{body}");
        assert_eq!(row(&app, revised).await.status, PlanStatus::Adopted);

        // The year before it begins, nothing changes; in its first year it takes over.
        assert_eq!(
            lup_api::hand_over_plans(&app.db, y + 1).await.expect("hand over"),
            0
        );
        assert_eq!(current().await, "Gjøl nu");
        assert_eq!(
            lup_api::hand_over_plans(&app.db, y + 2).await.expect("hand over"),
            1
        );
        assert_eq!(row(&app, running).await.status, PlanStatus::Archived);
        assert_eq!(row(&app, revised).await.status, PlanStatus::Adopted);
        assert_eq!(current().await, "Gjøl næste, revideret");
        let log = staff
            .data(AUDIT_ACTOR, json!({ "id": global_id("Plan", running) }))
            .await["auditLog"]["nodes"][0]
            .clone();
        assert_eq!(
            log["changes"]["status"],
            json!({ "before": "ADOPTED", "after": "ARCHIVED" })
        );
        assert_eq!(log["actor"]["label"], "system:plans", "{log}");
        assert_eq!(
            lup_api::hand_over_plans(&app.db, y + 2).await.expect("hand over"),
            0,
            "once"
        );
    }
);

both!(
    internal_notes_are_read_by_the_community_and_staff_only,
    |app: TestApp| async move {
        let w = world(&app).await;
        let fx = Fixture::new(&app.db);
        let id = fx
            .plan(w.gjol, "Gjøl 2030", PlanStatus::Adopted, 2026, 2030)
            .await;
        fx.set("plan", id, "internal_notes", "Budgettet er usikkert")
            .await;
        let gid = global_id("Plan", id);
        for (role, communities, code) in [
            (As::Anonymous, vec![], "UNAUTHENTICATED"),
            (As::Partner, vec![], "FORBIDDEN"),
            (As::CommunityEditor, vec![w.birkelse], "FORBIDDEN"),
        ] {
            let caller = app.signed_in(role, &communities, Some(w.forening)).await;
            let body = caller.post(NOTES, json!({ "id": gid })).await;
            assert_eq!(
                body["data"]["node"]["title"], "Gjøl 2030",
                "{role:?}: the plan itself stays: {body}"
            );
            assert!(
                body["data"]["node"]["internalNotes"].is_null(),
                "{role:?}: {body}"
            );
            assert_eq!(body["errors"][0]["extensions"]["code"], code, "{role:?}: {body}");
            assert_eq!(
                body["errors"][0]["path"],
                json!(["node", "internalNotes"]),
                "{role:?}: {body}"
            );
        }
        for (role, communities) in [(As::CommunityEditor, vec![w.gjol]), (As::Staff, vec![])] {
            let caller = app.signed_in(role, &communities, None).await;
            let body = caller.data(NOTES, json!({ "id": gid })).await;
            assert_eq!(body["node"]["internalNotes"], "Budgettet er usikkert", "{role:?}");
        }
    }
);

both!(organisations_are_involved_in_a_plan, |app: TestApp| async move {
    let w = world(&app).await;
    let fx = Fixture::new(&app.db);
    let id = fx.plan(w.gjol, "Gjøl 2030", PlanStatus::Draft, 2026, 2030).await;
    let gid = global_id("Plan", id);
    let org = global_id("Organization", w.forening);
    let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
    let add = |role: &str| json!({ "i": { "planId": gid, "organizationId": org, "role": role, "description": " Skrev visionen " } });

    let body = editor.data(ADD, add("WRITING")).await["addPlanInvolvement"].clone();
    assert_eq!(body["userErrors"], json!([]));
    let inv = &body["planInvolvement"];
    assert_eq!(
        (
            inv["role"].as_str(),
            inv["roleLabel"].as_str(),
            inv["description"].as_str(),
            inv["version"].as_i64()
        ),
        (
            Some("WRITING"),
            Some("Med til at skrive planen"),
            Some("Skrev visionen"),
            Some(1)
        )
    );
    assert_eq!(inv["organization"]["id"], org);
    assert_eq!(inv["plan"]["id"], gid);
    let first = inv["id"].clone();

    // The same organisation in the same role once; in another role it is fine.
    let body = editor.data(ADD, add("WRITING")).await["addPlanInvolvement"].clone();
    assert_eq!(errors(&body), vec![(json!(["role"]), "TAKEN".to_owned())]);
    let second =
        editor.data(ADD, add("CARRYING_OUT")).await["addPlanInvolvement"]["planInvolvement"]["id"].clone();
    assert!(second.is_string());

    // Bad fields.
    let cases: Vec<(&str, Value, Value, &str)> = vec![
        ("planId", json!("ikke-et-id"), json!(["planId"]), "INVALID"),
        (
            "planId",
            json!(global_id("Plan", Uuid::now_v7())),
            json!(["planId"]),
            "NOT_FOUND",
        ),
        (
            "organizationId",
            json!(global_id("Community", w.gjol)),
            json!(["organizationId"]),
            "INVALID",
        ),
        (
            "organizationId",
            json!(global_id("Organization", Uuid::now_v7())),
            json!(["organizationId"]),
            "NOT_FOUND",
        ),
        (
            "description",
            json!("x".repeat(20_001)),
            json!(["description"]),
            "TOO_LONG",
        ),
    ];
    for (field, value, path, code) in cases {
        let mut input = add("CONSULTED");
        input["i"][field] = value;
        let body = editor.data(ADD, input).await["addPlanInvolvement"].clone();
        assert!(body["planInvolvement"].is_null(), "{field}: {body}");
        assert_eq!(errors(&body), vec![(path, code.to_owned())], "{field}: {body}");
    }
    let (_, message) = editor.error(ADD, add("SPONSOR")).await;
    assert!(message.contains("SPONSOR"), "{message}");

    // Update: a role it already has is taken; a bad description, a stale version.
    let body = editor
        .data(
            UPDATE_INVOLVEMENT,
            json!({ "i": { "id": first, "version": 1, "role": "CARRYING_OUT" } }),
        )
        .await["updatePlanInvolvement"]
        .clone();
    assert_eq!(errors(&body), vec![(json!(["role"]), "TAKEN".to_owned())]);
    let body = editor
        .data(
            UPDATE_INVOLVEMENT,
            json!({ "i": { "id": first, "version": 1, "description": "x".repeat(20_001) } }),
        )
        .await["updatePlanInvolvement"]
        .clone();
    assert_eq!(
        errors(&body),
        vec![(json!(["description"]), "TOO_LONG".to_owned())]
    );
    let body = editor
        .data(UPDATE_INVOLVEMENT, json!({ "i": { "id": gid, "version": 1 } }))
        .await["updatePlanInvolvement"]
        .clone();
    assert_eq!(errors(&body), vec![(json!(["id"]), "INVALID".to_owned())]);
    assert_eq!(
        editor
            .error(
                UPDATE_INVOLVEMENT,
                json!({ "i": { "id": first, "version": 2, "description": "Ny" } })
            )
            .await
            .0,
        "CONFLICT"
    );
    let body = editor
        .data(
            UPDATE_INVOLVEMENT,
            json!({ "i": { "id": first, "version": 1, "role": "CONSULTED", "description": "Hørt" } }),
        )
        .await["updatePlanInvolvement"]
        .clone();
    assert_eq!(body["planInvolvement"]["role"], "CONSULTED");
    assert_eq!(body["planInvolvement"]["description"], "Hørt");
    assert_eq!(body["planInvolvement"]["version"], 2);

    let seen = editor.data(NODE, json!({ "id": gid })).await;
    let mut roles: Vec<String> = seen["node"]["involvement"]
        .as_array()
        .expect("list")
        .iter()
        .map(|i| i["role"].as_str().unwrap_or_default().to_owned())
        .collect();
    roles.sort();
    assert_eq!(roles, ["CARRYING_OUT", "CONSULTED"]);

    // Remove: a stale version is a conflict.
    assert_eq!(
        editor
            .error(REMOVE, json!({ "i": { "id": first, "version": 1 } }))
            .await
            .0,
        "CONFLICT"
    );
    let body = editor
        .data(REMOVE, json!({ "i": { "id": first, "version": 2 } }))
        .await;
    assert_eq!(body["removePlanInvolvement"]["deletedId"], first);
    let seen = editor.data(NODE, json!({ "id": gid })).await;
    assert_eq!(
        seen["node"]["involvement"],
        json!([{ "id": second, "role": "CARRYING_OUT", "description": "Skrev visionen" }])
    );

    let staff = app.signed_in(As::Staff, &[], None).await;
    let log = staff.data(AUDIT, json!({ "id": first })).await["auditLog"]["nodes"].clone();
    let ops: Vec<&str> = log
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|e| e["operation"].as_str())
        .collect();
    assert_eq!(ops, ["DELETE", "UPDATE", "CREATE"]);
    assert_eq!(log[2]["entityType"], "PlanInvolvement");
});

const PERIOD: &str = "mutation($i: UpdatePlanInput!) { updatePlan(input: $i) {
    plan { version consultationOpensOn consultationClosesOn } userErrors { field code message } } }";
const CONSULTATION: &str = "query($id: ID!) { node(id: $id) { ... on Plan { status version consultationOpensOn consultationClosesOn consultationOpen } } }";

/// A plan of Gjøl in consultation with one response in `status`: the world, the plan's ID, its
/// community's editor and staff.
async fn consulted(
    app: &TestApp,
    status: entity::consultation_response::ResponseStatus,
) -> (World, String, TestApp, TestApp) {
    let w = world(app).await;
    let fx = Fixture::new(&app.db);
    let id = fx
        .plan(w.gjol, "Gjøl 2030", PlanStatus::Consultation, 2026, 2030)
        .await;
    fx.response(id, None, "Husk stien", status).await;
    let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
    let staff = app.signed_in(As::Staff, &[], None).await;
    (w, global_id("Plan", id), editor, staff)
}

// A consultation's period is part of the plan's record once responses came in: it may grow,
// but not leave a response out (the responses' personal data is kept for a time counted from
// its last day), and it no longer changes once the plan is adopted or archived.
both!(
    a_consultation_period_keeps_its_responses_and_is_fixed_once_adopted,
    |app: TestApp| async move {
        let (_, gid, editor, staff) =
            consulted(&app, entity::consultation_response::ResponseStatus::Pending).await;
        let today = danish_today();
        let day = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
        for (field, value) in [
            ("consultationOpensOn", today + chrono::Days::new(1)),
            ("consultationClosesOn", today - chrono::Days::new(1)),
        ] {
            let body = editor
                .data(
                    PERIOD,
                    json!({ "i": { "id": gid, "version": 1, field: day(value) } }),
                )
                .await["updatePlan"]
                .clone();
            assert_eq!(
                errors(&body),
                vec![(json!([field]), "OUT_OF_RANGE".to_owned())],
                "{body}"
            );
        }
        // Longer is fine.
        let later = today + chrono::Days::new(40);
        let body = editor
            .data(
                PERIOD,
                json!({ "i": { "id": gid, "version": 1, "consultationClosesOn": day(later) } }),
            )
            .await["updatePlan"]
            .clone();
        assert_eq!(body["plan"]["consultationClosesOn"], day(later), "{body}");

        // Adopted while it runs: the consultation ends that day.
        let body = staff
            .data(
                STATUS,
                json!({ "i": { "id": gid, "version": 2, "status": "ADOPTED" } }),
            )
            .await["changePlanStatus"]
            .clone();
        assert_eq!(body["plan"]["status"], "ADOPTED", "{body}");
        let plan = staff.data(CONSULTATION, json!({ "id": gid })).await["node"].clone();
        assert_eq!(plan["consultationClosesOn"], day(today), "{plan}");
        assert_eq!(plan["consultationOpen"], false, "{plan}");

        // Adopted: the period stays as it is, for staff too; sending it back unchanged is no change.
        for (who, client) in [("editor", &editor), ("staff", &staff)] {
            let body = client
                .data(
                    PERIOD,
                    json!({ "i": { "id": gid, "version": 3, "consultationClosesOn": "2099-01-01" } }),
                )
                .await["updatePlan"]
                .clone();
            assert_eq!(
                errors(&body),
                vec![(json!(["consultationClosesOn"]), "INVALID_TRANSITION".to_owned())],
                "{who}: {body}"
            );
        }
        let body = editor
            .data(
                PERIOD,
                json!({ "i": { "id": gid, "version": 3, "consultationOpensOn": plan["consultationOpensOn"].clone(),
                               "consultationClosesOn": day(today) } }),
            )
            .await["updatePlan"]
            .clone();
        assert!(errors(&body).is_empty(), "{body}");
        let after = staff.data(CONSULTATION, json!({ "id": gid })).await["node"].clone();
        assert_eq!(after["consultationClosesOn"], day(today), "{after}");
    }
);

// A draft that had responses while it was in consultation cannot be deleted (the responses are
// part of its record): staff archive it, as a plan that went no further. A draft never sent
// to consultation is deleted, not archived.
both!(
    a_draft_with_consultation_responses_is_archived_by_staff,
    |app: TestApp| async move {
        let (w, gid, editor, staff) =
            consulted(&app, entity::consultation_response::ResponseStatus::Published).await;
        let body = editor
            .data(
                STATUS,
                json!({ "i": { "id": gid, "version": 1, "status": "DRAFT" } }),
            )
            .await["changePlanStatus"]
            .clone();
        assert_eq!(body["plan"]["status"], "DRAFT", "{body}");
        let body = editor
            .data(DELETE, json!({ "i": { "id": gid, "version": 2 } }))
            .await["deletePlan"]
            .clone();
        assert_eq!(
            errors(&body),
            vec![(json!(["id"]), "IN_USE".to_owned())],
            "{body}"
        );
        assert!(
            body["userErrors"][0]["message"]
                .as_str()
                .is_some_and(|m| m.contains("archive it instead")),
            "{body}"
        );
        // Archiving is the municipality's decision, and the editor is told so.
        let (code, message) = editor
            .error(
                STATUS,
                json!({ "i": { "id": gid, "version": 2, "status": "ARCHIVED" } }),
            )
            .await;
        assert_eq!(code, "FORBIDDEN");
        assert!(message.contains("staff"), "{message}");
        let body = staff
            .data(
                STATUS,
                json!({ "i": { "id": gid, "version": 2, "status": "ARCHIVED" } }),
            )
            .await["changePlanStatus"]
            .clone();
        assert_eq!(body["plan"]["status"], "ARCHIVED", "{body}");
        // Never adopted, it is not adopted by a restore.
        let body = staff
            .data(
                STATUS,
                json!({ "i": { "id": gid, "version": 3, "status": "ADOPTED" } }),
            )
            .await["changePlanStatus"]
            .clone();
        assert_eq!(
            errors(&body),
            vec![(json!(["status"]), "INVALID_TRANSITION".to_owned())]
        );

        let never = Fixture::new(&app.db)
            .plan(w.gjol, "Kladde", PlanStatus::Draft, 2026, 2030)
            .await;
        let body = staff
            .data(
                STATUS,
                json!({ "i": { "id": global_id("Plan", never), "version": 1, "status": "ARCHIVED" } }),
            )
            .await["changePlanStatus"]
            .clone();
        assert_eq!(
            errors(&body),
            vec![(json!(["status"]), "INVALID_TRANSITION".to_owned())],
            "{body}"
        );
    }
);

// Communities are public: a made-up one is NOT_FOUND on `communityId` for an editor as for
// staff (the editor was told FORBIDDEN, as if it existed and was another community's).
both!(
    a_made_up_community_is_not_found_for_editors_too,
    |app: TestApp| async move {
        let w = world(&app).await;
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        let mut input = valid(&w);
        input["communityId"] = json!(global_id("Community", Uuid::now_v7()));
        let body = editor.data(CREATE, json!({ "i": input })).await["createPlan"].clone();
        assert_eq!(
            errors(&body),
            vec![(json!(["communityId"]), "NOT_FOUND".to_owned())],
            "{body}"
        );
        // A real community of someone else's is still theirs.
        input["communityId"] = json!(global_id("Community", w.birkelse));
        let (code, _) = editor.error(CREATE, json!({ "i": input })).await;
        assert_eq!(code, "FORBIDDEN");
    }
);

/// A plan of `community` in consultation from a week ago for three weeks more (the fixture's
/// period), with a published response sent today.
async fn in_consultation_with_a_response(fx: &Fixture<'_>, community: Uuid) -> Uuid {
    let hearing = fx
        .plan(community, "I høring", PlanStatus::Consultation, 2026, 2030)
        .await;
    fx.response(
        hearing,
        None,
        "Et svar",
        entity::consultation_response::ResponseStatus::Published,
    )
    .await;
    hearing
}

/// A plan of `community` in consultation from next week.
async fn to_open_next_week(fx: &Fixture<'_>, community: Uuid) -> Uuid {
    let later = fx
        .plan(community, "Snart i høring", PlanStatus::Consultation, 2026, 2030)
        .await;
    fx.set(
        "plan",
        later,
        "consultation_opens_on",
        danish_today() + chrono::Days::new(7),
    )
    .await;
    later
}

// A plan is adopted no earlier than the responses it received; a consultation that has not
// opened yet when the plan is adopted is called off, its dates cleared.
both!(
    adoption_follows_the_responses_and_calls_off_a_consultation_to_come,
    |app: TestApp| async move {
        let w = world(&app).await;
        let fx = Fixture::new(&app.db);
        let staff = app.signed_in(As::Staff, &[], None).await;
        let today = danish_today();

        // In consultation from a week ago, with a response today.
        let hearing = in_consultation_with_a_response(&fx, w.gjol).await;
        let adopt = |id: Uuid, on: Option<String>| json!({ "i": { "id": global_id("Plan", id), "version": 1, "status": "ADOPTED", "adoptedOn": on } });
        let body = staff
            .data(
                STATUS,
                adopt(hearing, Some((today - chrono::Days::new(3)).to_string())),
            )
            .await["changePlanStatus"]
            .clone();
        assert_eq!(
            errors(&body),
            vec![(json!(["adoptedOn"]), "OUT_OF_RANGE".to_owned())],
            "{body}"
        );
        assert!(
            body["userErrors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("a response was received on"),
            "{body}"
        );
        let body = staff.data(STATUS, adopt(hearing, None)).await["changePlanStatus"].clone();
        assert_eq!(body["userErrors"], json!([]), "{body}");
        let p = row(&app, hearing).await;
        assert_eq!(
            p.consultation_closes_on,
            Some(today),
            "ended on the day of adoption"
        );

        // To open next week: adopted without it.
        let later = to_open_next_week(&fx, w.birkelse).await;
        let body = staff.data(STATUS, adopt(later, None)).await["changePlanStatus"].clone();
        assert_eq!(body["userErrors"], json!([]), "{body}");
        let p = row(&app, later).await;
        assert_eq!(
            (p.status, p.consultation_opens_on, p.consultation_closes_on),
            (PlanStatus::Adopted, None, None)
        );
    }
);

// A consultation left before its last day (the plan back to draft, or archived) ended that
// day: its record says so, and the responses' personal data is kept from then.
both!(
    leaving_a_consultation_ends_it_that_day,
    |app: TestApp| async move {
        let w = world(&app).await;
        let fx = Fixture::new(&app.db);
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let today = danish_today();
        // In consultation from a week ago for three weeks more (the fixture's period).
        let hearing = in_consultation_with_a_response(&fx, w.gjol).await;
        let to = |version: i64, status: &str| json!({ "i": { "id": global_id("Plan", hearing), "version": version, "status": status } });
        let body = editor.data(STATUS, to(1, "DRAFT")).await["changePlanStatus"].clone();
        assert_eq!(body["userErrors"], json!([]), "{body}");
        let p = row(&app, hearing).await;
        assert_eq!(
            (p.consultation_opens_on, p.consultation_closes_on),
            (Some(today - chrono::Days::new(7)), Some(today))
        );
        let body = staff.data(STATUS, to(2, "ARCHIVED")).await["changePlanStatus"].clone();
        assert_eq!(body["userErrors"], json!([]), "{body}");
        assert_eq!(row(&app, hearing).await.consultation_closes_on, Some(today));

        // One still to open is not ended by going back: it never began.
        let later = to_open_next_week(&fx, w.birkelse).await;
        let body = staff
            .data(
                STATUS,
                json!({ "i": { "id": global_id("Plan", later), "version": 1, "status": "DRAFT" } }),
            )
            .await["changePlanStatus"]
            .clone();
        assert_eq!(body["userErrors"], json!([]), "{body}");
        assert_eq!(
            row(&app, later).await.consultation_closes_on,
            Some(today + chrono::Days::new(21))
        );
    }
);

// An adopted plan's period was adopted with it: the community's editors keep its text up to
// date, the municipality's staff change its period.
both!(staff_change_an_adopted_plans_period, |app: TestApp| async move {
    let w = world(&app).await;
    let fx = Fixture::new(&app.db);
    let id = fx
        .plan(w.gjol, "Gjøl 2030", PlanStatus::Adopted, 2026, 2030)
        .await;
    let gid = global_id("Plan", id);
    let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
    let staff = app.signed_in(As::Staff, &[], None).await;
    let body = editor
        .data(
            UPDATE,
            json!({ "i": { "id": gid, "version": 1, "periodTo": 2026, "title": "Gjøl 2026" } }),
        )
        .await["updatePlan"]
        .clone();
    assert_eq!(
        errors(&body),
        vec![(json!(["periodTo"]), "INVALID".to_owned())],
        "{body}"
    );
    assert_eq!(row(&app, id).await.version, 1, "nothing changed");
    // The same period sent back, and the text, are the editor's.
    let body = editor
            .data(
                UPDATE,
                json!({ "i": { "id": gid, "version": 1, "periodFrom": 2026, "periodTo": 2030, "title": "Gjøl – øen i fjorden" } }),
            )
            .await["updatePlan"]
            .clone();
    assert_eq!(body["userErrors"], json!([]), "{body}");
    let body = staff
        .data(
            UPDATE,
            json!({ "i": { "id": gid, "version": 2, "periodTo": 2031 } }),
        )
        .await["updatePlan"]
        .clone();
    assert_eq!(body["userErrors"], json!([]), "{body}");
    assert_eq!(row(&app, id).await.period_to, 2031);
});

// An archived plan is the record of what was done: its editors may still write its internal
// notes (or send its text back unchanged), but its text, its actions and what hangs under them
// are for staff to change.
both!(
    an_archived_plan_is_changed_by_staff_only,
    |app: TestApp| async move {
        let w = world(&app).await;
        let fx = Fixture::new(&app.db);
        let old = fx
            .plan(w.gjol, "Gjøl 2020–2023", PlanStatus::Archived, 2020, 2023)
            .await;
        let action = fx.action(old, "Nyt klubhus til bådelauget").await;
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let plan = global_id("Plan", old);

        let (code, message) = editor
            .error(
                UPDATE,
                json!({ "i": { "id": plan, "version": 1, "title": "Omskrevet arkiveret plan" } }),
            )
            .await;
        assert_eq!(code, "FORBIDDEN");
        assert!(message.contains("archived"), "{message}");
        let body = editor
            .data(
                UPDATE,
                json!({ "i": { "id": plan, "version": 1, "title": "Gjøl 2020–2023", "internalNotes": "Se evalueringen" } }),
            )
            .await;
        assert_eq!(body["updatePlan"]["userErrors"], json!([]), "{body}");
        assert_eq!(body["updatePlan"]["plan"]["internalNotes"], "Se evalueringen");

        let action_id = global_id("Action", action);
        for (query, input) in [
            (
                "mutation($i: UpdateActionInput!) { updateAction(input: $i) { userErrors { code } } }",
                json!({ "id": action_id, "version": 1, "status": "IN_PROGRESS" }),
            ),
            (
                "mutation($i: CreateActionInput!) { createAction(input: $i) { userErrors { code } } }",
                json!({ "planId": plan, "title": "Ny indsats", "horizon": "LONG_TERM" }),
            ),
            (
                "mutation($i: CreateActionUpdateInput!) { createActionUpdate(input: $i) { userErrors { code } } }",
                json!({ "actionId": action_id, "body": "Sen note", "progress": 80 }),
            ),
        ] {
            let (code, _) = editor.error(query, json!({ "i": input })).await;
            assert_eq!(code, "FORBIDDEN", "{query}");
        }
        // Nor what is tied to it: an event of the plan, an idea exchange that led to its action.
        let other = Fixture::new(&app.db).community("biersted", "Biersted").await;
        for (query, input) in [
            (
                "mutation($i: CreateEngagementEventInput!) { createEngagementEvent(input: $i) { userErrors { code } } }",
                json!({ "communityId": global_id("Community", w.gjol), "planId": plan, "kind": "WORKSHOP",
                        "title": "Eftertilføjet værksted", "occurredOn": "2021-01-01", "participants": 10 }),
            ),
            (
                "mutation($i: CreateIdeaExchangeInput!) { createIdeaExchange(input: $i) { userErrors { code } } }",
                json!({ "title": "Klubhus-erfaringer", "kind": "KNOWLEDGE_SHARING",
                        "initiatorCommunityId": global_id("Community", w.gjol),
                        "participantCommunityIds": [global_id("Community", other)], "actionIds": [action_id] }),
            ),
        ] {
            let (code, _) = editor.error(query, json!({ "i": input })).await;
            assert_eq!(code, "FORBIDDEN", "{query}");
        }
        let body = staff
            .data(
                "mutation($i: UpdateActionInput!) { updateAction(input: $i) { action { title } userErrors { code } } }",
                json!({ "i": { "id": action_id, "version": 1, "title": "Klubhus til bådelauget" } }),
            )
            .await;
        assert_eq!(body["updateAction"]["userErrors"], json!([]), "{body}");
    }
);

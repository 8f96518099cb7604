//! Public consultation of plans: a plan in consultation is public with its actions (drafts
//! are not); anyone sends a response while the consultation is open, and nothing is written
//! when a response is refused; the community's editors and staff publish, reject, hide and
//! answer responses; pending, rejected and hidden responses and every email address are
//! unreachable for everyone else, by list, `node` and filters; a name is shown only with
//! consent.
use entity::consultation_response::{self, ResponseStatus};
use lup_tests::{
    As, TestApp, both,
    fixture::{Fixture, PlanStatus, danish_today, global_id},
};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use uuid::Uuid;

const SUBMIT: &str = "mutation($i: SubmitConsultationResponseInput!) {
  submitConsultationResponse(input: $i) { receipt userErrors { field code message } } }";
const MODERATE: &str = "mutation($i: ModerateConsultationResponseInput!) {
  moderateConsultationResponse(input: $i) {
    consultationResponse { id status statusLabel rejectionReason version name email reply }
    userErrors { field code message } } }";
const REPLY: &str = "mutation($i: ReplyToConsultationResponseInput!) {
  replyToConsultationResponse(input: $i) {
    consultationResponse { id status reply repliedAt version }
    userErrors { field code message } } }";
const RESPONSE: &str = "query($id: ID!) { node(id: $id) { ... on ConsultationResponse {
  id body name association email status statusLabel rejectionReason reply repliedAt createdAt version
  plan { title } action { title } } } }";
const RESPONSE_CONSENT: &str = "query($id: ID!) { node(id: $id) { ... on ConsultationResponse {
  name consentToShowName version } } }";
/// Every path to a plan's and an action's responses, with every filter.
const RESPONSES: &str = "query($plan: ID!, $action: ID!) {
  plan: node(id: $plan) { ... on Plan {
    all: consultationResponses(first: 20) { totalCount nodes { body name email rejectionReason version } }
    each: consultationResponses(first: 20, statuses: [PENDING, PUBLISHED, REJECTED, HIDDEN]) { totalCount nodes { body } }
    hidden: consultationResponses(first: 20, statuses: [PENDING, REJECTED, HIDDEN]) { totalCount nodes { body } }
    pending: consultationResponses(last: 5, statuses: [PENDING]) { totalCount nodes { body } }
    actions(first: 5) { nodes { title consultationResponses(first: 20) { totalCount nodes { body email } } } }
  } }
  action: node(id: $action) { ... on Action {
    consultationResponses(first: 20, statuses: [PENDING, REJECTED, HIDDEN, PUBLISHED]) { totalCount nodes { body email name } }
  } }
}";

async fn rows(app: &TestApp) -> u64 {
    consultation_response::Entity::find()
        .count(&app.db)
        .await
        .expect("count responses")
}

fn gid(type_name: &str, id: Uuid) -> String {
    global_id(type_name, id)
}

/// Asserts a payload was refused with exactly one user error on `field` with `code`.
fn refused(payload: &Value, object: &str, field: &[&str], code: &str) {
    assert!(payload[object].is_null(), "{object} should be null: {payload:#}");
    let errors = payload["userErrors"].as_array().expect("userErrors");
    assert_eq!(errors.len(), 1, "one user error expected: {payload:#}");
    assert_eq!(errors[0]["field"], json!(field), "{payload:#}");
    assert_eq!(errors[0]["code"], code, "{payload:#}");
}

/// Gjøl with a plan in consultation (open, two actions), a draft and an adopted plan;
/// Birkelse with a plan in consultation of its own.
struct World {
    gjol: Uuid,
    birkelse: Uuid,
    hearing: Uuid,
    harbour: Uuid,
    path: Uuid,
    draft: Uuid,
    draft_action: Uuid,
    adopted: Uuid,
    other_hearing_action: Uuid,
}

async fn world(app: &TestApp) -> World {
    let fx = Fixture::new(&app.db);
    let gjol = fx.community("gjoel", "Gjøl").await;
    let birkelse = fx.community("birkelse", "Birkelse").await;
    let hearing = fx
        .plan(
            gjol,
            "Gjøl 2027–2030 i høring",
            PlanStatus::Consultation,
            2027,
            2030,
        )
        .await;
    let harbour = fx.action(hearing, "Havnebad ved Gjøl Havn").await;
    let path = fx.action(hearing, "Natursti langs Limfjorden").await;
    let draft = fx
        .plan(gjol, "Gjøl 2031 kladde", PlanStatus::Draft, 2031, 2034)
        .await;
    let draft_action = fx.action(draft, "Kladdehandling").await;
    let adopted = fx
        .plan(gjol, "Gjøl 2023–2026", PlanStatus::Adopted, 2023, 2026)
        .await;
    fx.action(adopted, "Shelter på Gjøl Bjerget").await;
    let other = fx
        .plan(
            birkelse,
            "Birkelse i høring",
            PlanStatus::Consultation,
            2027,
            2030,
        )
        .await;
    let other_hearing_action = fx.action(other, "Kanoplads ved Ryå").await;
    World {
        gjol,
        birkelse,
        hearing,
        harbour,
        path,
        draft,
        draft_action,
        adopted,
        other_hearing_action,
    }
}

fn submission(plan: Uuid) -> Value {
    json!({
        "planId": gid("Plan", plan),
        "body": "Et havnebad vil samle hele byen om sommeren.",
        "consentToStore": false,
    })
}

both!(
    a_plan_in_consultation_is_public_a_draft_is_not,
    |app: TestApp| async move {
        let w = world(&app).await;
        let partner = {
            let org = Fixture::new(&app.db)
                .organization(
                    "nordfonden",
                    "Nordfonden",
                    lup_tests::fixture::OrganizationKind::Foundation,
                    None,
                )
                .await;
            app.signed_in(As::Partner, &[], Some(org)).await
        };
        let partner_again = partner.clone_handle();
        let stranger = app.signed_in(As::CommunityEditor, &[w.birkelse], None).await;
        for caller in [app.clone_handle(), partner, stranger] {
            let d = caller
            .data(
                r#"{ plans(first: 10, filter: { communitySlugs: ["gjoel"] }) { totalCount nodes { title status statusLabel
                       consultationOpen consultationOpensOn consultationClosesOn actions(first: 5) { totalCount nodes { title } } } }
                     community(slug: "gjoel") { actions(first: 10) { totalCount nodes { title } } } }"#,
                json!({}),
            )
            .await;
            let plans = d["plans"]["nodes"].as_array().expect("plans");
            let titles: Vec<&str> = plans.iter().map(|p| p["title"].as_str().unwrap()).collect();
            assert_eq!(titles, ["Gjøl 2023–2026", "Gjøl 2027–2030 i høring"], "{d:#}");
            assert_eq!(d["plans"]["totalCount"], 2);
            let hearing = &plans[1];
            assert_eq!(hearing["status"], "CONSULTATION");
            assert_eq!(hearing["statusLabel"], "I høring");
            assert_eq!(hearing["consultationOpen"], true);
            let today = danish_today();
            assert_eq!(
                hearing["consultationOpensOn"],
                (today - chrono::Days::new(7)).to_string()
            );
            assert_eq!(
                hearing["consultationClosesOn"],
                (today + chrono::Days::new(21)).to_string()
            );
            assert_eq!(hearing["actions"]["totalCount"], 2);
            assert_eq!(
                plans[0]["consultationOpen"], false,
                "an adopted plan takes no responses"
            );
            assert_eq!(d["community"]["actions"]["totalCount"], 3, "{d:#}");

            // By ID: the plan in consultation and its actions; nothing of the draft.
            let d = caller
            .data(
                "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }",
                json!({ "ids": [gid("Plan", w.hearing), gid("Action", w.harbour), gid("Plan", w.draft), gid("Action", w.draft_action)] }),
            )
            .await;
            let nodes = d["nodes"].as_array().unwrap();
            assert_eq!(nodes[0]["__typename"], "Plan");
            assert_eq!(nodes[1]["__typename"], "Action");
            assert!(nodes[2].is_null() && nodes[3].is_null(), "{d:#}");
            let d = caller
            .data(
                r#"{ plans(filter: { statuses: [DRAFT] }) { totalCount } actions(filter: { text: "kladde" }) { totalCount } }"#,
                json!({}),
            )
            .await;
            assert_eq!(d["plans"]["totalCount"], 0);
            assert_eq!(d["actions"]["totalCount"], 0);
        }
        // Partners see the actions of a plan in consultation, but join adopted plans' only.
        let d = partner_again
            .data(
                "mutation($i: ExpressInterestInput!) { expressInterest(input: $i) { partnership { id } userErrors { field code message } } }",
                json!({ "i": { "actionId": gid("Action", w.harbour), "message": "Vi vil gerne hjælpe.",
                               "offer": { "contributionKind": "MONEY", "contribution": "Tilskud" } } }),
            )
            .await;
        refused(&d["expressInterest"], "partnership", &["actionId"], "INVALID");
    }
);

both!(
    anyone_may_respond_while_the_consultation_is_open,
    |app: TestApp| async move {
        let w = world(&app).await;
        let org = Fixture::new(&app.db)
            .organization(
                "nordfonden",
                "Nordfonden",
                lup_tests::fixture::OrganizationKind::Foundation,
                None,
            )
            .await;
        let partner = app.signed_in(As::Partner, &[], Some(org)).await;
        let account = app.signed_in(As::CommunityEditor, &[w.birkelse], None).await;
        let mut receipts = Vec::new();
        for (i, caller) in [app.clone_handle(), partner, account].iter().enumerate() {
            let mut input = json!({
                "planId": gid("Plan", w.hearing),
                "actionId": gid("Action", w.harbour),
                "body": format!("  Svar nummer {i}: et havnebad vil samle byen.\nTak for planen.  "),
                "name": "Karen Fisker",
                "association": "Gjøl Bådelaug",
                "email": "Karen.Fisker@Eksempel.dk",
                "consentToStore": true,
            });
            if i == 1 {
                input["consentToShowName"] = json!(true);
            }
            let p = caller.data(SUBMIT, json!({ "i": input })).await["submitConsultationResponse"].clone();
            assert_eq!(p["userErrors"], json!([]), "{p:#}");
            let receipt = p["receipt"].as_str().expect("a receipt").to_owned();
            // The receipt is the response's ID, and nothing else comes back.
            assert_eq!(
                p.as_object().unwrap().keys().collect::<Vec<_>>(),
                ["receipt", "userErrors"]
            );
            receipts.push(receipt);
        }
        assert_eq!(rows(&app).await, 3);
        let stored = consultation_response::Entity::find()
            .all(&app.db)
            .await
            .expect("responses");
        for r in &stored {
            assert_eq!(r.status, ResponseStatus::Pending);
            assert_eq!(r.plan_id, w.hearing);
            assert_eq!(r.action_id, Some(w.harbour));
            assert!(r.body.starts_with("Svar nummer") && r.body.ends_with("Tak for planen."));
            assert_eq!(r.email.as_deref(), Some("karen.fisker@eksempel.dk"));
            assert!(r.consent_to_store);
            assert_eq!(r.version, 1);
            assert_eq!(r.body_hash.len(), 64);
        }
        assert!(stored.iter().any(|r| r.consent_to_show_name));
        // A pending response is the moderators' only: not even its sender reads it back.
        for receipt in &receipts {
            let d = app.data(RESPONSE, json!({ "id": receipt })).await;
            assert!(d["node"].is_null(), "{d:#}");
        }
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        let d = editor.data(RESPONSE, json!({ "id": receipts[0] })).await;
        assert_eq!(d["node"]["status"], "PENDING");
        assert_eq!(d["node"]["statusLabel"], "Afventer godkendelse");
        assert_eq!(d["node"]["name"], "Karen Fisker");
        assert_eq!(d["node"]["email"], "karen.fisker@eksempel.dk");
        assert_eq!(d["node"]["action"]["title"], "Havnebad ved Gjøl Havn");

        // A response without an action, without personal data, needs no consent, nor to say
        // it gives none.
        let p = app.data(SUBMIT, json!({ "i": submission(w.hearing) })).await["submitConsultationResponse"]
            .clone();
        assert_eq!(p["userErrors"], json!([]), "{p:#}");
        assert_eq!(rows(&app).await, 4);
        let bare = json!({ "planId": gid("Plan", w.hearing), "body": "Tak for en god plan." });
        let p = app.data(SUBMIT, json!({ "i": bare })).await["submitConsultationResponse"].clone();
        assert_eq!(p["userErrors"], json!([]), "{p:#}");
        assert_eq!(rows(&app).await, 5);
    }
);

both!(refused_responses_write_nothing, |app: TestApp| async move {
    let w = world(&app).await;
    let fx = Fixture::new(&app.db);
    let submit = |input: Value| {
        let app = app.clone_handle();
        async move { app.data(SUBMIT, json!({ "i": input })).await["submitConsultationResponse"].clone() }
    };
    let with = |changes: Value| {
        let mut input = submission(w.hearing);
        for (k, v) in changes.as_object().unwrap() {
            input[k] = v.clone();
        }
        input
    };

    // Not visible or not there: the same answer.
    let made_up = submit(submission(Uuid::now_v7())).await;
    refused(&made_up, "receipt", &["planId"], "NOT_FOUND");
    assert_eq!(submit(submission(w.draft)).await, made_up, "a draft is not found");
    // Visible, but not in consultation.
    let p = submit(submission(w.adopted)).await;
    refused(&p, "receipt", &["planId"], "INVALID");
    assert!(
        p["userErrors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("not in consultation")
    );
    // An action of another plan, and a made-up one.
    for action in [w.other_hearing_action, w.draft_action, Uuid::now_v7()] {
        let p = submit(with(json!({ "actionId": gid("Action", action) }))).await;
        refused(&p, "receipt", &["actionId"], "NOT_FOUND");
    }
    // Personal data without consent to store it.
    for personal in [
        json!({ "name": "Ole" }),
        json!({ "association": "Gjøl Bådelaug" }),
        json!({ "email": "ole@eksempel.dk" }),
    ] {
        let p = submit(with(personal.clone())).await;
        refused(&p, "receipt", &["consentToStore"], "REQUIRED");
    }
    // Bad input.
    for (changes, field, code) in [
        (json!({ "body": "   " }), "body", "REQUIRED"),
        (json!({ "body": "x".repeat(5001) }), "body", "TOO_LONG"),
        (json!({ "body": "Hej\u{7}med klokke" }), "body", "INVALID"),
        (json!({ "body": "Godt \u{202E}tegdub" }), "body", "INVALID"),
        (
            json!({ "name": "Ole\u{1b}[31m", "consentToStore": true }),
            "name",
            "INVALID",
        ),
        (
            json!({ "name": "n".repeat(201), "consentToStore": true }),
            "name",
            "TOO_LONG",
        ),
        (
            json!({ "email": "ikke en adresse", "consentToStore": true }),
            "email",
            "INVALID",
        ),
        (json!({ "planId": gid("Action", w.harbour) }), "planId", "INVALID"),
    ] {
        let p = submit(with(changes)).await;
        refused(&p, "receipt", &[field], code);
    }
    // A NUL character is refused before anything runs.
    let (code, _) = app
        .error(SUBMIT, json!({ "i": with(json!({ "body": "gj\u{0}l" })) }))
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert_eq!(rows(&app).await, 0);

    // Before the consultation opens and after it closed.
    let today = danish_today();
    fx.set(
        "plan",
        w.hearing,
        "consultation_opens_on",
        today + chrono::Days::new(1),
    )
    .await;
    fx.set(
        "plan",
        w.hearing,
        "consultation_closes_on",
        today + chrono::Days::new(30),
    )
    .await;
    let d = app
        .data(
            "query($id: ID!) { node(id: $id) { ... on Plan { consultationOpen } } }",
            json!({ "id": gid("Plan", w.hearing) }),
        )
        .await;
    assert_eq!(d["node"]["consultationOpen"], false);
    let p = submit(submission(w.hearing)).await;
    refused(&p, "receipt", &["planId"], "INVALID");
    assert!(
        p["userErrors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("opens on"),
        "{p:#}"
    );
    fx.set(
        "plan",
        w.hearing,
        "consultation_opens_on",
        today - chrono::Days::new(30),
    )
    .await;
    fx.set(
        "plan",
        w.hearing,
        "consultation_closes_on",
        today - chrono::Days::new(1),
    )
    .await;
    let p = submit(submission(w.hearing)).await;
    refused(&p, "receipt", &["planId"], "INVALID");
    assert!(
        p["userErrors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("closed on"),
        "{p:#}"
    );
    // The last day is still open.
    fx.set("plan", w.hearing, "consultation_closes_on", today).await;
    let p = submit(submission(w.hearing)).await;
    assert_eq!(p["userErrors"], json!([]), "{p:#}");
    assert_eq!(rows(&app).await, 1);

    let staff = app.signed_in(As::Staff, &[], None).await;
    let d = staff
        .data(
            r#"{ auditLog(filter: { entityType: "ConsultationResponse" }) { totalCount } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        d["auditLog"]["totalCount"], 1,
        "only the accepted response is recorded"
    );
});

both!(
    moderators_publish_reject_hide_and_reply,
    |app: TestApp| async move {
        let w = world(&app).await;
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let mut ids = Vec::new();
        for (i, show) in [true, false, false].into_iter().enumerate() {
            let input = json!({
                "planId": gid("Plan", w.hearing),
                "actionId": gid("Action", w.path),
                "body": format!("Stien skal være farbar med barnevogn ({i})."),
                "name": format!("Borger {i}"),
                "email": format!("borger{i}@eksempel.dk"),
                "consentToStore": true,
                "consentToShowName": show,
            });
            let p = app.data(SUBMIT, json!({ "i": input })).await["submitConsultationResponse"].clone();
            ids.push(p["receipt"].as_str().expect("receipt").to_owned());
        }
        let vars = json!({ "plan": gid("Plan", w.hearing), "action": gid("Action", w.path) });
        let pending = editor.data(RESPONSES, vars.clone()).await;
        assert_eq!(pending["plan"]["pending"]["totalCount"], 3, "{pending:#}");
        assert_eq!(
            app.data(RESPONSES, vars.clone()).await["plan"]["all"]["totalCount"],
            0
        );

        // Publish the first (with consent to show the name) as the editor.
        let p = editor
            .data(
                MODERATE,
                json!({ "i": { "id": ids[0], "version": 1, "status": "PUBLISHED" } }),
            )
            .await["moderateConsultationResponse"]
            .clone();
        assert_eq!(p["userErrors"], json!([]), "{p:#}");
        let r = &p["consultationResponse"];
        assert_eq!(r["status"], "PUBLISHED");
        assert_eq!(r["statusLabel"], "Offentliggjort");
        assert_eq!(r["version"], 2);
        assert_eq!(r["email"], "borger0@eksempel.dk", "moderators see the email");

        // Reject: a reason is required, and refused for any other status.
        let p = editor
            .data(
                MODERATE,
                json!({ "i": { "id": ids[1], "version": 1, "status": "REJECTED" } }),
            )
            .await["moderateConsultationResponse"]
            .clone();
        refused(&p, "consultationResponse", &["rejectionReason"], "REQUIRED");
        let p = editor
            .data(
                MODERATE,
                json!({ "i": { "id": ids[1], "version": 1, "status": "HIDDEN", "rejectionReason": "Nej" } }),
            )
            .await["moderateConsultationResponse"]
            .clone();
        refused(&p, "consultationResponse", &["rejectionReason"], "INVALID");
        let p = editor
            .data(
                MODERATE,
                json!({ "i": { "id": ids[1], "version": 1, "status": "PENDING" } }),
            )
            .await["moderateConsultationResponse"]
            .clone();
        refused(&p, "consultationResponse", &["status"], "INVALID_TRANSITION");
        let p = staff
        .data(
            MODERATE,
            json!({ "i": { "id": ids[1], "version": 1, "status": "REJECTED", "rejectionReason": "Svaret handler ikke om planen." } }),
        )
        .await["moderateConsultationResponse"]
        .clone();
        assert_eq!(p["userErrors"], json!([]), "{p:#}");
        assert_eq!(
            p["consultationResponse"]["rejectionReason"],
            "Svaret handler ikke om planen."
        );

        // Publish, then hide the third; a stale version is a conflict and changes nothing.
        let p = editor
            .data(
                MODERATE,
                json!({ "i": { "id": ids[2], "version": 1, "status": "PUBLISHED" } }),
            )
            .await["moderateConsultationResponse"]
            .clone();
        assert_eq!(p["consultationResponse"]["version"], 2);
        let (code, _) = editor
            .error(
                MODERATE,
                json!({ "i": { "id": ids[2], "version": 1, "status": "HIDDEN" } }),
            )
            .await;
        assert_eq!(code, "CONFLICT");
        let p = editor
            .data(
                MODERATE,
                json!({ "i": { "id": ids[2], "version": 2, "status": "HIDDEN" } }),
            )
            .await["moderateConsultationResponse"]
            .clone();
        assert_eq!(p["consultationResponse"]["status"], "HIDDEN");

        // Reply to the published one.
        let (code, _) = editor
            .error(
                REPLY,
                json!({ "i": { "id": ids[0], "version": 1, "reply": "Tak." } }),
            )
            .await;
        assert_eq!(code, "CONFLICT");
        let p = editor
            .data(
                REPLY,
                json!({ "i": { "id": ids[0], "version": 2, "reply": "   " } }),
            )
            .await["replyToConsultationResponse"]
            .clone();
        refused(&p, "consultationResponse", &["reply"], "REQUIRED");
        let p = editor
        .data(
            REPLY,
            json!({ "i": { "id": ids[0], "version": 2, "reply": "Tak for svaret. Stien bliver bred nok til barnevogne." } }),
        )
        .await["replyToConsultationResponse"]
        .clone();
        assert_eq!(p["userErrors"], json!([]), "{p:#}");
        assert_eq!(p["consultationResponse"]["version"], 3);
        assert!(p["consultationResponse"]["repliedAt"].is_string());
        // The same reply again changes nothing, not even when it was given.
        let again = editor
        .data(
            REPLY,
            json!({ "i": { "id": ids[0], "version": 3, "reply": "Tak for svaret. Stien bliver bred nok til barnevogne." } }),
        )
        .await["replyToConsultationResponse"]
        .clone();
        assert_eq!(again["consultationResponse"]["version"], 3, "{again:#}");
        assert_eq!(
            again["consultationResponse"]["repliedAt"],
            p["consultationResponse"]["repliedAt"]
        );

        // A reply is public once its response is: it may not name a sender who did not agree
        // to be named (moderators see whether they did).
        let second = editor.data(RESPONSE_CONSENT, json!({ "id": ids[1] })).await["node"].clone();
        assert_eq!(
            (&second["name"], &second["consentToShowName"]),
            (&json!("Borger 1"), &json!(false))
        );
        let version = second["version"].clone();
        for named in ["Kære borger 1, tak for dit svar.", "Tak, BORGER 1!"] {
            let p = editor
                .data(
                    REPLY,
                    json!({ "i": { "id": ids[1], "version": version, "reply": named } }),
                )
                .await["replyToConsultationResponse"]
                .clone();
            refused(&p, "consultationResponse", &["reply"], "INVALID");
        }
        let p = editor
            .data(
                REPLY,
                json!({ "i": { "id": ids[1], "version": version, "reply": "Tak for dit svar, og velkommen til borgermødet." } }),
            )
            .await["replyToConsultationResponse"]
            .clone();
        assert_eq!(p["userErrors"], json!([]), "{p:#}");

        // The public sees the published response with its reply and the name it may show, and
        // nothing else.
        let d = app.data(RESPONSES, vars.clone()).await;
        let all = &d["plan"]["all"];
        assert_eq!(all["totalCount"], 1, "{d:#}");
        assert_eq!(
            all["nodes"][0],
            json!({ "body": "Stien skal være farbar med barnevogn (0).", "name": "Borger 0", "email": null, "rejectionReason": null, "version": null })
        );
        let d = app.data(RESPONSE, json!({ "id": ids[0] })).await;
        assert_eq!(
            d["node"]["reply"],
            "Tak for svaret. Stien bliver bred nok til barnevogne."
        );
        assert_eq!(d["node"]["plan"]["title"], "Gjøl 2027–2030 i høring");
        // The moderators see all three.
        let d = editor.data(RESPONSES, vars.clone()).await;
        assert_eq!(d["plan"]["all"]["totalCount"], 3);
        assert_eq!(d["action"]["consultationResponses"]["totalCount"], 3);

        // The audit log records every step, and no name or email in clear.
        let d = staff
        .data(
            r#"{ auditLog(first: 50, filter: { entityType: "ConsultationResponse" }) { totalCount nodes { operation changes actor { kind id label } } } }"#,
            json!({}),
        )
        .await;
        assert_eq!(
            d["auditLog"]["totalCount"],
            3 + 6,
            "three created, six changes: {d:#}"
        );
        let text = d.to_string();
        for i in 0..3 {
            assert!(
                !text.contains(&format!("borger{i}@eksempel.dk")),
                "an email in the audit log"
            );
            assert!(!text.contains(&format!("Borger {i}")), "a name in the audit log");
        }
        assert!(text.contains("[personoplysning]"), "{text}");
        // The responses came from the website's visitors.
        let created: Vec<&Value> = d["auditLog"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["operation"] == "CREATE")
            .collect();
        assert_eq!(created.len(), 3);
        for e in created {
            assert_eq!(
                e["actor"],
                json!({ "kind": "ANONYMOUS", "id": null, "label": "anonymous" })
            );
        }
    }
);

both!(
    unpublished_responses_and_emails_are_unreachable,
    |app: TestApp| async move {
        let w = world(&app).await;
        let fx = Fixture::new(&app.db);
        let mut by_status = Vec::new();
        for status in [
            ResponseStatus::Pending,
            ResponseStatus::Published,
            ResponseStatus::Rejected,
            ResponseStatus::Hidden,
        ] {
            let body = format!("Svar {status:?}");
            by_status.push((
                status,
                fx.response(w.hearing, Some(w.harbour), &body, status).await,
            ));
        }
        // A published response to the plan as a whole.
        fx.response(w.hearing, None, "Svar uden handling", ResponseStatus::Published)
            .await;
        let org = fx
            .organization(
                "nordfonden",
                "Nordfonden",
                lup_tests::fixture::OrganizationKind::Foundation,
                None,
            )
            .await;
        let partner = app.signed_in(As::Partner, &[], Some(org)).await;
        let stranger = app.signed_in(As::CommunityEditor, &[w.birkelse], None).await;
        let vars = json!({ "plan": gid("Plan", w.hearing), "action": gid("Action", w.harbour) });
        for (who, caller) in [
            ("anonymous", app.clone_handle()),
            ("partner", partner),
            ("other editor", stranger),
        ] {
            let d = caller.data(RESPONSES, vars.clone()).await;
            let plan = &d["plan"];
            assert_eq!(plan["all"]["totalCount"], 2, "{who}: {d:#}");
            let bodies: Vec<&str> = plan["all"]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["body"].as_str().unwrap())
                .collect();
            assert_eq!(
                bodies,
                ["Svar uden handling", "Svar Published"],
                "{who}: newest first"
            );
            assert_eq!(plan["each"]["totalCount"], 2, "{who}");
            assert_eq!(plan["hidden"], json!({ "totalCount": 0, "nodes": [] }), "{who}");
            assert_eq!(plan["pending"], json!({ "totalCount": 0, "nodes": [] }), "{who}");
            let action = &d["action"]["consultationResponses"];
            assert_eq!(action["totalCount"], 1, "{who}");
            assert_eq!(
                action["nodes"][0],
                json!({ "body": "Svar Published", "email": null, "name": null }),
                "{who}: no email, no name without consent"
            );
            for n in plan["all"]["nodes"].as_array().unwrap() {
                assert!(
                    n["email"].is_null() && n["name"].is_null() && n["version"].is_null(),
                    "{who}: {n}"
                );
            }
            let harbour = plan["actions"]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["title"] == "Havnebad ved Gjøl Havn")
                .expect("the action");
            assert_eq!(harbour["consultationResponses"]["totalCount"], 1, "{who}");
            // By ID: only the published one.
            let ids: Vec<String> = by_status
                .iter()
                .map(|(_, id)| gid("ConsultationResponse", *id))
                .collect();
            let d = caller
            .data(
                "query($ids: [ID!]!) { nodes(ids: $ids) { ... on ConsultationResponse { status email name } } }",
                json!({ "ids": ids }),
            )
            .await;
            assert_eq!(
                d["nodes"],
                json!([null, { "status": "PUBLISHED", "email": null, "name": null }, null, null]),
                "{who}"
            );
        }
        // The community's editors and staff see every response and every email.
        for caller in [
            app.signed_in(As::CommunityEditor, &[w.gjol], None).await,
            app.signed_in(As::Staff, &[], None).await,
        ] {
            let d = caller.data(RESPONSES, vars.clone()).await;
            assert_eq!(d["plan"]["all"]["totalCount"], 5, "{d:#}");
            assert_eq!(d["plan"]["hidden"]["totalCount"], 3);
            assert_eq!(d["plan"]["pending"]["totalCount"], 1);
            assert_eq!(d["action"]["consultationResponses"]["totalCount"], 4);
            for n in d["plan"]["all"]["nodes"].as_array().unwrap() {
                assert!(
                    n["email"].as_str().is_some_and(|e| e.ends_with("@eksempel.dk")),
                    "{n}"
                );
                assert!(n["name"].is_string() && n["version"] == 1, "{n}");
            }
            let rejected = by_status[2].1;
            let d = caller
                .data(RESPONSE, json!({ "id": gid("ConsultationResponse", rejected) }))
                .await;
            assert_eq!(d["node"]["rejectionReason"], "Uden for emnet");
            assert_eq!(d["node"]["statusLabel"], "Afvist");
        }
        // An empty filter lists nothing.
        let d = app
        .data(
            "query($id: ID!) { node(id: $id) { ... on Plan { consultationResponses(statuses: []) { totalCount } } } }",
            json!({ "id": gid("Plan", w.hearing) }),
        )
        .await;
        assert_eq!(d["node"]["consultationResponses"]["totalCount"], 0);
    }
);

both!(other_communities_moderate_nothing, |app: TestApp| async move {
    let w = world(&app).await;
    let fx = Fixture::new(&app.db);
    let pending = fx
        .response(w.hearing, None, "Ventende svar", ResponseStatus::Pending)
        .await;
    let published = fx
        .response(w.hearing, None, "Offentligt svar", ResponseStatus::Published)
        .await;
    let stranger = app.signed_in(As::CommunityEditor, &[w.birkelse], None).await;
    for (mutation, input) in [
        (MODERATE, json!({ "version": 1, "status": "PUBLISHED" })),
        (REPLY, json!({ "version": 1, "reply": "Tak." })),
    ] {
        let with = |id: String| {
            let mut i = input.clone();
            i["id"] = json!(id);
            json!({ "i": i })
        };
        let made_up = stranger
            .post(mutation, with(gid("ConsultationResponse", Uuid::now_v7())))
            .await;
        assert_eq!(
            made_up["errors"][0]["extensions"]["code"], "NOT_FOUND",
            "{made_up:#}"
        );
        let hidden = stranger
            .post(mutation, with(gid("ConsultationResponse", pending)))
            .await;
        assert_eq!(hidden, made_up, "a pending response answers like a made-up one");
        // A published response the editor sees but does not moderate: FORBIDDEN.
        let (code, _) = stranger
            .error(mutation, with(gid("ConsultationResponse", published)))
            .await;
        assert_eq!(code, "FORBIDDEN");
        // Anonymous callers and partners may not moderate at all.
        let (code, _) = app
            .error(mutation, with(gid("ConsultationResponse", published)))
            .await;
        assert_eq!(code, "UNAUTHENTICATED");
    }
    let rows = consultation_response::Entity::find()
        .all(&app.db)
        .await
        .expect("rows");
    assert!(
        rows.iter().all(|r| r.version == 1 && r.reply.is_none()),
        "nothing changed"
    );
});

const STATUS: &str = "mutation($i: ChangePlanStatusInput!) { changePlanStatus(input: $i) {
  plan { status version consultationOpensOn consultationClosesOn consultationOpen }
  userErrors { field code message } } }";
const UPDATE: &str = "mutation($i: UpdatePlanInput!) { updatePlan(input: $i) {
  plan { version consultationOpensOn consultationClosesOn consultationOpen }
  userErrors { field code message } } }";

both!(
    sending_a_plan_to_consultation_sets_its_period,
    |app: TestApp| async move {
        let w = world(&app).await;
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        let plan = gid("Plan", w.draft);
        let today = danish_today();
        // A period only with CONSULTATION, and in order.
        let p = editor
        .data(
            STATUS,
            json!({ "i": { "id": plan, "version": 1, "status": "ADOPTED", "consultationOpensOn": today.to_string() } }),
        )
        .await["changePlanStatus"]
        .clone();
        refused(&p, "plan", &["consultationOpensOn"], "INVALID");
        let p = editor
            .data(
                STATUS,
                json!({ "i": { "id": plan, "version": 1, "status": "CONSULTATION",
                           "consultationOpensOn": today.to_string(),
                           "consultationClosesOn": (today - chrono::Days::new(1)).to_string() } }),
            )
            .await["changePlanStatus"]
            .clone();
        refused(&p, "plan", &["consultationClosesOn"], "OUT_OF_RANGE");
        // A consultation over before it starts would take no responses; the error is on the
        // date the client gave.
        let p = editor
            .data(
                STATUS,
                json!({ "i": { "id": plan, "version": 1, "status": "CONSULTATION",
                           "consultationOpensOn": "2020-01-01", "consultationClosesOn": "2020-01-02" } }),
            )
            .await["changePlanStatus"]
            .clone();
        refused(&p, "plan", &["consultationClosesOn"], "OUT_OF_RANGE");
        let p = editor
            .data(
                STATUS,
                json!({ "i": { "id": plan, "version": 1, "status": "CONSULTATION",
                           "consultationOpensOn": "2020-01-01" } }),
            )
            .await["changePlanStatus"]
            .clone();
        refused(&p, "plan", &["consultationOpensOn"], "OUT_OF_RANGE");
        // A consultation runs at most a year: the names and addresses of those who respond
        // are kept until some time after it closes.
        let p = editor
            .data(
                STATUS,
                json!({ "i": { "id": plan, "version": 1, "status": "CONSULTATION",
                           "consultationOpensOn": today.to_string(), "consultationClosesOn": "2200-12-31" } }),
            )
            .await["changePlanStatus"]
            .clone();
        refused(&p, "plan", &["consultationClosesOn"], "OUT_OF_RANGE");
        assert!(
            p["userErrors"][0]["message"]
                .as_str()
                .is_some_and(|m| m.contains("at most 365 days")),
            "{p:#}"
        );
        // A draft's period is not edited ahead: it would pass for a consultation that never
        // was (and let staff archive the draft).
        let p = editor
            .data(
                UPDATE,
                json!({ "i": { "id": plan, "version": 1,
                           "consultationOpensOn": "2026-11-01", "consultationClosesOn": "2026-11-05" } }),
            )
            .await["updatePlan"]
            .clone();
        refused(&p, "plan", &["consultationOpensOn"], "INVALID_TRANSITION");
        let staff = app.signed_in(As::Staff, &[], None).await;
        let p = staff
            .data(
                STATUS,
                json!({ "i": { "id": plan, "version": 1, "status": "ARCHIVED" } }),
            )
            .await["changePlanStatus"]
            .clone();
        refused(&p, "plan", &["status"], "INVALID_TRANSITION");

        // Defaults: today and four weeks on.
        let p = editor
            .data(
                STATUS,
                json!({ "i": { "id": plan, "version": 1, "status": "CONSULTATION" } }),
            )
            .await["changePlanStatus"]
            .clone();
        assert_eq!(p["userErrors"], json!([]), "{p:#}");
        let r = &p["plan"];
        assert_eq!(r["status"], "CONSULTATION");
        assert_eq!(r["consultationOpensOn"], today.to_string());
        assert_eq!(
            r["consultationClosesOn"],
            (today + chrono::Days::new(28)).to_string()
        );
        assert_eq!(r["consultationOpen"], true);
        // Now public.
        let d = app
            .data(
                "query($id: ID!) { node(id: $id) { ... on Plan { title } } }",
                json!({ "id": plan }),
            )
            .await;
        assert_eq!(d["node"]["title"], "Gjøl 2031 kladde");

        // The period is edited with the plan, and stays in order.
        let p = editor
        .data(
            UPDATE,
            json!({ "i": { "id": plan, "version": 2, "consultationOpensOn": (today + chrono::Days::new(40)).to_string() } }),
        )
        .await["updatePlan"]
        .clone();
        refused(&p, "plan", &["consultationOpensOn"], "OUT_OF_RANGE");
        let p = editor
            .data(
                UPDATE,
                json!({ "i": { "id": plan, "version": 2,
                           "consultationOpensOn": (today + chrono::Days::new(2)).to_string(),
                           "consultationClosesOn": (today + chrono::Days::new(30)).to_string() } }),
            )
            .await["updatePlan"]
            .clone();
        assert_eq!(p["userErrors"], json!([]), "{p:#}");
        assert_eq!(
            p["plan"]["consultationOpen"], false,
            "not open before its first day"
        );
        let p =
            app.data(SUBMIT, json!({ "i": submission(w.draft) })).await["submitConsultationResponse"].clone();
        refused(&p, "receipt", &["planId"], "INVALID");
        // Moved, it still closes today or later.
        let p = editor
            .data(
                UPDATE,
                json!({ "i": { "id": plan, "version": 3,
                           "consultationClosesOn": (today - chrono::Days::new(1)).to_string() } }),
            )
            .await["updatePlan"]
            .clone();
        refused(&p, "plan", &["consultationClosesOn"], "OUT_OF_RANGE");
        // Nor is it moved to run longer than a year.
        let p = editor
            .data(
                UPDATE,
                json!({ "i": { "id": plan, "version": 3,
                           "consultationClosesOn": (today + chrono::Days::new(368)).to_string() } }),
            )
            .await["updatePlan"]
            .clone();
        refused(&p, "plan", &["consultationClosesOn"], "OUT_OF_RANGE");

        // Explicit dates when sent back and again.
        let p = editor
            .data(
                STATUS,
                json!({ "i": { "id": plan, "version": 3, "status": "DRAFT" } }),
            )
            .await["changePlanStatus"]
            .clone();
        assert_eq!(p["plan"]["consultationOpen"], false);
        // Back in draft, the period it had is its record.
        let p = editor
            .data(
                UPDATE,
                json!({ "i": { "id": plan, "version": 4,
                           "consultationClosesOn": (today + chrono::Days::new(60)).to_string() } }),
            )
            .await["updatePlan"]
            .clone();
        refused(&p, "plan", &["consultationClosesOn"], "INVALID_TRANSITION");
        let p = editor
            .data(
                STATUS,
                json!({ "i": { "id": plan, "version": 4, "status": "CONSULTATION",
                           "consultationOpensOn": (today - chrono::Days::new(3)).to_string() } }),
            )
            .await["changePlanStatus"]
            .clone();
        assert_eq!(p["userErrors"], json!([]), "{p:#}");
        assert_eq!(
            p["plan"]["consultationClosesOn"],
            (today + chrono::Days::new(25)).to_string(),
            "28 days from the first day"
        );
    }
);

both!(
    a_plan_sent_back_to_consultation_keeps_its_responses_in_its_period,
    |app: TestApp| async move {
        let w = world(&app).await;
        let fx = Fixture::new(&app.db);
        fx.response(w.hearing, Some(w.harbour), "Et svar", ResponseStatus::Pending)
            .await;
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        let plan = gid("Plan", w.hearing);
        let today = danish_today();
        let p = editor
            .data(
                STATUS,
                json!({ "i": { "id": plan, "version": 1, "status": "DRAFT" } }),
            )
            .await["changePlanStatus"]
            .clone();
        assert_eq!(p["plan"]["status"], "DRAFT", "{p:#}");
        let later = (today + chrono::Days::new(2)).to_string();
        let p = editor
            .data(
                STATUS,
                json!({ "i": { "id": plan, "version": 2, "status": "CONSULTATION", "consultationOpensOn": later } }),
            )
            .await["changePlanStatus"]
            .clone();
        refused(&p, "plan", &["consultationOpensOn"], "OUT_OF_RANGE");
        let p = editor
            .data(
                STATUS,
                json!({ "i": { "id": plan, "version": 2, "status": "CONSULTATION" } }),
            )
            .await["changePlanStatus"]
            .clone();
        assert_eq!(p["userErrors"], json!([]), "{p:#}");
        assert_eq!(p["plan"]["consultationOpensOn"], today.to_string());
    }
);

both!(a_plan_with_responses_is_not_deleted, |app: TestApp| async move {
    let w = world(&app).await;
    let fx = Fixture::new(&app.db);
    fx.response(w.hearing, Some(w.harbour), "Et svar", ResponseStatus::Pending)
        .await;
    let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
    let p = editor
        .data(
            STATUS,
            json!({ "i": { "id": gid("Plan", w.hearing), "version": 1, "status": "DRAFT" } }),
        )
        .await["changePlanStatus"]
        .clone();
    assert_eq!(p["plan"]["status"], "DRAFT");
    let p = editor
        .data(
            "mutation($i: DeletePlanInput!) { deletePlan(input: $i) { deletedId userErrors { field code message } } }",
            json!({ "i": { "id": gid("Plan", w.hearing), "version": 2 } }),
        )
        .await["deletePlan"]
        .clone();
    refused(&p, "deletedId", &["id"], "IN_USE");
    assert!(
        p["userErrors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("archive it instead"),
        "{p:#}"
    );
    let p = editor
        .data(
            "mutation($i: DeleteActionInput!) { deleteAction(input: $i) { deletedId userErrors { field code message } } }",
            json!({ "i": { "id": gid("Action", w.harbour), "version": 1 } }),
        )
        .await["deleteAction"]
        .clone();
    refused(&p, "deletedId", &["id"], "IN_USE");
    // Once back in draft, its responses are the moderators' only.
    let d = app
        .data(
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": gid("Plan", w.hearing) }),
        )
        .await;
    assert!(d["node"].is_null());
});

both!(
    the_demo_has_open_consultations_with_responses,
    |app: TestApp| async move {
        app.demo_communities().await;
        let d = app
        .data(
            r#"{ plans(first: 10, filter: { statuses: [CONSULTATION] }) { totalCount nodes {
                   title consultationOpen community { name }
                   consultationResponses(first: 20) { totalCount nodes { body name association email status reply } } } } }"#,
            json!({}),
        )
        .await;
        let plans = d["plans"]["nodes"].as_array().unwrap();
        assert!(plans.len() >= 2, "{d:#}");
        for p in plans {
            assert_eq!(p["consultationOpen"], true, "{p:#}");
            let responses = p["consultationResponses"]["nodes"].as_array().unwrap();
            assert!(!responses.is_empty(), "{p:#}");
            for r in responses {
                assert_eq!(r["status"], "PUBLISHED");
                assert!(r["email"].is_null());
            }
        }
        // Staff see every state.
        let staff = app.signed_in(As::Staff, &[], None).await;
        let d = staff
            .data(
                r#"{ plans(first: 10, filter: { statuses: [CONSULTATION] }) { nodes {
                   consultationResponses(first: 50) { nodes { status } } } } }"#,
                json!({}),
            )
            .await;
        let mut seen: Vec<String> = d["plans"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| p["consultationResponses"]["nodes"].as_array().unwrap().clone())
            .map(|r| r["status"].as_str().unwrap().to_owned())
            .collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen, ["HIDDEN", "PENDING", "PUBLISHED", "REJECTED"]);
    }
);

// Responses under many plans and actions load in batches: the statements of a query do not
// grow with the plans, actions and responses it lists.
both!(responses_load_in_batches, |app: TestApp| async move {
    const QUERY: &str = r#"{ plans(first: 50, filter: { statuses: [CONSULTATION] }) { nodes {
        title
        consultationResponses(first: 5) { totalCount nodes { body action { title } plan { title } } }
        published: consultationResponses(first: 5, statuses: [PUBLISHED]) { totalCount nodes { body } }
        actions(first: 10) { nodes { title consultationResponses(first: 5) { totalCount nodes { body } } } }
    } } }"#;
    // Staff: never served from the response cache.
    let staff = app.signed_in(As::Staff, &[], None).await;
    let add = |from: usize, to: usize| {
        let fx = Fixture::new(&app.db);
        async move {
            for i in from..to {
                let c = fx.community(&format!("by-{i}"), &format!("By {i}")).await;
                let p = fx
                    .plan(
                        c,
                        &format!("Plan {i} i høring"),
                        PlanStatus::Consultation,
                        2027,
                        2030,
                    )
                    .await;
                for a in 0..3 {
                    let action = fx.action(p, &format!("Handling {i}.{a}")).await;
                    for status in [ResponseStatus::Pending, ResponseStatus::Published] {
                        fx.response(p, Some(action), &format!("Svar {i}.{a} {status:?}"), status)
                            .await;
                    }
                }
            }
        }
    };
    add(0, 2).await;
    let before = staff.sql_statements();
    let small = staff.data(QUERY, json!({})).await;
    let small_statements = staff.sql_statements() - before;
    assert_eq!(small["plans"]["nodes"].as_array().unwrap().len(), 2);
    add(2, 8).await;
    let before = staff.sql_statements();
    let large = staff.data(QUERY, json!({})).await;
    let large_statements = staff.sql_statements() - before;
    let plans = large["plans"]["nodes"].as_array().unwrap();
    assert_eq!(plans.len(), 8);
    for p in plans {
        assert_eq!(p["consultationResponses"]["totalCount"], 6, "{p:#}");
        assert_eq!(p["published"]["totalCount"], 3, "{p:#}");
        for a in p["actions"]["nodes"].as_array().unwrap() {
            assert_eq!(a["consultationResponses"]["totalCount"], 2, "{a:#}");
        }
    }
    assert_eq!(
        small_statements, large_statements,
        "statements with 2 plans: {small_statements}, with 8: {large_statements}"
    );
});

/// The website's consultation page and its submission, as trusted documents.
const PAGE: &str = include_str!("../../queries/consultation-page.graphql");
const WEBSITE_SUBMIT: &str = include_str!("../../queries/submit-consultation-response.graphql");

// The website, held to its trusted documents, shows a plan in consultation and sends a
// response by document ID.
both!(
    the_website_sends_responses_by_trusted_document,
    |c: &mut lup_api::config::Config| {
        c.trusted_documents_dir = Some(concat!(env!("CARGO_MANIFEST_DIR"), "/queries").into());
        c.trusted_documents_only_for_anonymous = true;
    },
    |app: TestApp| async move {
        let w = world(&app).await;
        let fx = Fixture::new(&app.db);
        fx.response(
            w.hearing,
            Some(w.harbour),
            "Offentligt svar",
            ResponseStatus::Published,
        )
        .await;
        fx.response(w.hearing, None, "Ventende svar", ResponseStatus::Pending)
            .await;
        let send = |text: &str, variables: Value| {
            let request = app.client.post(app.url("/graphql")).json(&json!({
                "documentId": format!("sha256:{}", lup_api::auth::secret::sha256_hex(text)),
                "variables": variables,
            }));
            async move {
                let response = request.send().await.expect("request");
                assert_eq!(response.status().as_u16(), 200);
                response.json::<Value>().await.expect("json")
            }
        };
        let page = send(PAGE, json!({ "slug": "gjoel" })).await;
        let plans = page["data"]["community"]["plans"]["nodes"]
            .as_array()
            .unwrap_or_else(|| panic!("{page:#}"));
        let hearing = plans
            .iter()
            .find(|p| p["status"] == "CONSULTATION")
            .expect("the plan in consultation");
        assert_eq!(hearing["consultationOpen"], true);
        assert_eq!(hearing["actions"]["nodes"].as_array().unwrap().len(), 2);
        let responses = &hearing["consultationResponses"];
        assert_eq!(responses["totalCount"], 1, "{page:#}");
        assert_eq!(responses["nodes"][0]["body"], "Offentligt svar");
        assert!(responses["nodes"][0]["name"].is_null());

        let sent = send(
            WEBSITE_SUBMIT,
            json!({ "input": {
                "planId": hearing["id"], "actionId": hearing["actions"]["nodes"][0]["id"],
                "body": "Tak for et godt forslag.", "consentToStore": false,
            } }),
        )
        .await;
        let payload = &sent["data"]["submitConsultationResponse"];
        assert_eq!(payload["userErrors"], json!([]), "{sent:#}");
        assert!(payload["receipt"].is_string());
        assert_eq!(rows(&app).await, 3);
    }
);

// The database holds a response's action to the response's plan too, whatever writes it.
both!(
    the_database_keeps_an_action_to_its_plan,
    |app: TestApp| async move {
        use sea_orm::{ActiveModelTrait, Set};
        let w = world(&app).await;
        let now = chrono::Utc::now();
        let row = |action: Uuid| consultation_response::ActiveModel {
            id: Set(Uuid::now_v7()),
            plan_id: Set(w.hearing),
            action_id: Set(Some(action)),
            body: Set("Et svar".into()),
            name: Set(None),
            association: Set(None),
            email: Set(None),
            consent_to_store: Set(false),
            consent_to_show_name: Set(false),
            status: Set(ResponseStatus::Pending),
            rejection_reason: Set(None),
            reply: Set(None),
            replied_at: Set(None),
            client_fingerprint: Set(None),
            body_hash: Set(String::new()),
            created_at: Set(now),
            updated_at: Set(now),
            version: Set(1),
        };
        assert!(row(w.other_hearing_action).insert(&app.db).await.is_err());
        assert!(row(w.harbour).insert(&app.db).await.is_ok());
        // A rejection without a reason is refused too.
        let mut rejected = row(w.path);
        rejected.status = Set(ResponseStatus::Rejected);
        assert!(rejected.insert(&app.db).await.is_err());
        assert_eq!(rows(&app).await, 1);
    }
);

both!(
    a_consultation_set_to_run_longer_than_a_year_may_be_shortened,
    |app: TestApp| async move {
        let fx = Fixture::new(&app.db);
        let gjol = fx.community("gjoel", "Gjøl").await;
        let plan = fx
            .plan(gjol, "Gjøl 2031", PlanStatus::Consultation, 2027, 2030)
            .await;
        // Set before consultations were held to a year: it would close in 2100.
        let legacy = chrono::NaiveDate::from_ymd_opt(2100, 12, 31).expect("a day");
        fx.set("plan", plan, "consultation_closes_on", legacy).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let longer = "2150-01-01";
        let shorter = (danish_today() + chrono::Days::new(30)).to_string();
        let p = staff
            .data(
                UPDATE,
                json!({ "i": { "id": global_id("Plan", plan), "version": 1, "consultationClosesOn": longer } }),
            )
            .await["updatePlan"]
            .clone();
        refused(&p, "plan", &["consultationClosesOn"], "OUT_OF_RANGE");
        let p = staff
            .data(
                UPDATE,
                json!({ "i": { "id": global_id("Plan", plan), "version": 1, "consultationClosesOn": shorter } }),
            )
            .await["updatePlan"]
            .clone();
        assert_eq!(p["userErrors"], json!([]), "{p:#}");
        assert_eq!(p["plan"]["consultationClosesOn"], shorter);
    }
);

//! The abuse bounds and the personal data of responses to consultations: each client (an
//! anonymous caller by address, an account, an API key) may send so many responses an hour
//! (the next one is a 429 and writes nothing); the same text twice from one client to one
//! consultation is refused; name, association, email and the client's fingerprint are erased
//! after the retention period (by the server, and by `erase_expired` with a chosen day) and on
//! request, leaving nothing of them anywhere, the audit log and a reply that named the sender
//! included; staff export a person's data; nobody else may do either.
use chrono::{Days, NaiveDate};
use entity::{audit_log, consultation_response, plan};
use lup_api::config::Config;
use lup_tests::{
    As, TestApp, both,
    fixture::{Fixture, PlanStatus, danish_today, global_id},
};
use sea_orm::{ActiveModelTrait, EntityTrait, PaginatorTrait, Set};
use serde_json::{Value, json};
use uuid::Uuid;

const SUBMIT: &str = "mutation($i: SubmitConsultationResponseInput!) {
  submitConsultationResponse(input: $i) { receipt userErrors { field code message } } }";
const EXPORT: &str = "query($e: String!) { exportConsultantData(email: $e) {
  responseId planId planTitle actionId body name association email consentToStore consentToShowName
  clientFingerprint status rejectionReason reply repliedAt createdAt updatedAt } }";
const ERASE: &str = "mutation($i: EraseConsultantDataInput!) {
  eraseConsultantData(input: $i) { erased userErrors { field code message } } }";

const NAME: &str = "Karen Sørensen";
const EMAIL: &str = "karen.sorensen@example.dk";
const ASSOCIATION: &str = "Gjøl Borger- og Erhvervsforening";

struct World {
    gjol: Uuid,
    hearing: Uuid,
    harbour: Uuid,
    other: Uuid,
}

/// Gjøl with a plan in consultation (open, with an action), Birkelse with another.
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
    let other = fx
        .plan(
            birkelse,
            "Birkelse i høring",
            PlanStatus::Consultation,
            2027,
            2030,
        )
        .await;
    World {
        gjol,
        hearing,
        harbour,
        other,
    }
}

fn input(plan: Uuid, body: &str) -> Value {
    json!({ "planId": global_id("Plan", plan), "body": body, "consentToStore": false })
}

/// A response with all the personal data there is.
fn personal(plan: Uuid, body: &str, email: &str) -> Value {
    json!({
        "planId": global_id("Plan", plan),
        "body": body,
        "name": NAME,
        "association": ASSOCIATION,
        "email": email,
        "consentToStore": true,
        "consentToShowName": true,
    })
}

async fn rows(app: &TestApp) -> u64 {
    consultation_response::Entity::find()
        .count(&app.db)
        .await
        .expect("count responses")
}

/// Submits with this handle's credentials and `headers`: status, `Retry-After`, body.
async fn send(app: &TestApp, headers: &[(&str, &str)], input: Value) -> (u16, Option<String>, Value) {
    let mut request = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({ "query": SUBMIT, "variables": { "i": input } }));
    if let Some((h, v)) = &app.credentials {
        request = request.header(h.as_str(), v.as_str());
    }
    for (h, v) in headers {
        request = request.header(*h, *v);
    }
    let response = request.send().await.expect("sent");
    let status = response.status().as_u16();
    let retry = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().expect("ascii").to_owned());
    // The submissions' own limit is not the request budget: a 429 for it says what is left
    // of that budget, so a client library that reads the header does not stop every request.
    // (No header where the server runs without request budgets.)
    if status == 429 {
        let remaining = response.headers().get("x-ratelimit-remaining");
        assert!(
            remaining.is_none_or(|v| v.to_str().ok().and_then(|v| v.parse::<u64>().ok()) > Some(0)),
            "{remaining:?}"
        );
    }
    (status, retry, response.json().await.unwrap_or(Value::Null))
}

/// Submits and expects a receipt.
async fn accepted(app: &TestApp, headers: &[(&str, &str)], input: Value) -> String {
    let (status, _, body) = send(app, headers, input).await;
    assert_eq!(status, 200, "{body:#}");
    let payload = &body["data"]["submitConsultationResponse"];
    assert_eq!(payload["userErrors"], json!([]), "{body:#}");
    payload["receipt"].as_str().expect("receipt").to_owned()
}

/// Submits and expects 429 with `Retry-After` and `RATE_LIMITED`.
async fn limited(app: &TestApp, headers: &[(&str, &str)], input: Value) {
    let (status, retry, body) = send(app, headers, input).await;
    assert_eq!(status, 429, "{body:#}");
    let retry: u64 = retry.expect("Retry-After").parse().expect("seconds");
    assert!(retry > 0 && retry <= 3600, "Retry-After {retry}");
    assert!(body.get("data").is_none(), "{body:#}");
    let e = &body["errors"][0];
    assert_eq!(e["extensions"]["code"], "RATE_LIMITED", "{body:#}");
    assert_eq!(e["extensions"]["retryAfterSeconds"], json!(retry), "{body:#}");
    assert!(e["message"].as_str().unwrap().contains("an hour"), "{body:#}");
}

async fn fingerprints(app: &TestApp) -> Vec<Option<String>> {
    consultation_response::Entity::find()
        .all(&app.db)
        .await
        .expect("rows")
        .into_iter()
        .map(|r| r.client_fingerprint)
        .collect()
}

both!(
    the_sixth_submission_in_an_hour_is_refused_and_writes_nothing,
    |c: &mut Config| {
        c.consultation_submissions_per_hour = 5;
        // Request budgets on, so the 429s carry what is left of them.
        c.rate_limit_anonymous_per_minute = 6000;
    },
    |app: TestApp| async move {
        let w = world(&app).await;
        for n in 1..=5 {
            accepted(
                &app,
                &[],
                input(w.hearing, &format!("Forslag nummer {n} til planen.")),
            )
            .await;
        }
        assert_eq!(rows(&app).await, 5);
        limited(&app, &[], input(w.hearing, "Forslag nummer 6 til planen.")).await;
        // The request budget is not what ran out: the 429 says what is left of it.
        let r = app
            .client
            .post(app.url("/graphql"))
            .json(&json!({ "query": SUBMIT, "variables": { "i": input(w.hearing, "Forslag nummer 7.") } }))
            .send()
            .await
            .expect("sent");
        assert_eq!(r.status().as_u16(), 429);
        let remaining: u64 = r
            .headers()
            .get("x-ratelimit-remaining")
            .and_then(|v| v.to_str().ok()?.parse().ok())
            .expect("x-ratelimit-remaining");
        assert!(remaining > 0, "{remaining}");
        // Another plan, an action, a bad input: the budget is the client's, whatever it sends.
        let mut about_action = input(w.hearing, "Om havnebadet.");
        about_action["actionId"] = json!(global_id("Action", w.harbour));
        limited(&app, &[], about_action).await;
        limited(&app, &[], input(w.other, "Til Birkelse.")).await;
        assert_eq!(rows(&app).await, 5, "a refused submission writes nothing");

        // The fingerprint is a keyed hash of the client, the same for each of its responses,
        // and not the address.
        let prints = fingerprints(&app).await;
        let first = prints[0].clone().expect("fingerprint");
        assert!(
            prints.iter().all(|p| p.as_deref() == Some(first.as_str())),
            "{prints:?}"
        );
        assert_eq!(first.len(), 64, "{first}");
        assert!(first.chars().all(|c| c.is_ascii_hexdigit()), "{first}");
        assert!(!first.contains("127.0.0.1"));
        assert_ne!(
            first,
            lup_api::auth::secret::sha256_hex("ip:127.0.0.1"),
            "keyed, not a plain hash"
        );

        // Signed-in callers have budgets of their own: the anonymous flood does not touch them.
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        for n in 1..=5 {
            accepted(
                &editor,
                &[],
                input(w.hearing, &format!("Redaktørens forslag {n}.")),
            )
            .await;
        }
        limited(&editor, &[], input(w.hearing, "Redaktørens forslag 6.")).await;
        accepted(&staff, &[], input(w.hearing, "Personalets forslag.")).await;
        assert_eq!(rows(&app).await, 11);
        let prints = fingerprints(&app).await;
        let distinct: std::collections::BTreeSet<_> = prints.iter().flatten().collect();
        assert_eq!(distinct.len(), 3, "one fingerprint per client: {prints:?}");
    }
);

/// `n` submissions in one request, as aliases `s0`…: status and body.
async fn send_many(app: &TestApp, plan: Uuid, n: usize, tag: &str, skip_last: bool) -> (u16, Value) {
    let fields: String = (0..n)
        .map(|i| {
            let skip = if skip_last && i + 1 == n { " @skip(if: $skip)" } else { "" };
            format!(
                "s{i}: submitConsultationResponse(input: {{ planId: $plan, body: \"{tag} nummer {i}.\", consentToStore: false }}){skip} {{ receipt }} "
            )
        })
        .collect();
    let skip = if skip_last { ", $skip: Boolean = true" } else { "" };
    let query = format!("mutation($plan: ID!{skip}) {{ {fields} }}");
    let mut request = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({ "query": query, "variables": { "plan": global_id("Plan", plan) } }));
    if let Some((h, v)) = &app.credentials {
        request = request.header(h.as_str(), v.as_str());
    }
    let response = request.send().await.expect("sent");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

both!(
    several_submissions_in_one_request_are_counted_together_and_refused_together,
    |c: &mut Config| c.consultation_submissions_per_hour = 5,
    |app: TestApp| async move {
        let w = world(&app).await;
        let (status, body) = send_many(&app, w.hearing, 3, "Første runde", false).await;
        assert_eq!(status, 200, "{body:#}");
        for i in 0..3 {
            assert!(body["data"][format!("s{i}")]["receipt"].is_string(), "{body:#}");
        }
        // Three more do not fit in the two left: the request is refused as a whole, and none
        // of it is written (it used to write two and lose their receipts in the 429).
        let refusals = "lup_http_requests_total{route=\"/graphql\",status=\"429\"}";
        let limited_errors = "lup_graphql_errors_total{code=\"RATE_LIMITED\"}";
        let metric = async |series| app.metric_opt(series).await.unwrap_or(0);
        let before = (metric(refusals).await, metric(limited_errors).await);
        let (status, body) = send_many(&app, w.hearing, 3, "Anden runde", false).await;
        assert_eq!(status, 429, "{body:#}");
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "RATE_LIMITED",
            "{body:#}"
        );
        assert_eq!(rows(&app).await, 3, "a refused request writes nothing");
        // In /metrics a refused request is one 429, not an error for each of its fields.
        assert_eq!(
            (metric(refusals).await, metric(limited_errors).await),
            (before.0 + 1, before.1)
        );
        // A field `@skip` leaves out does not count: two fit.
        let (status, body) = send_many(&app, w.hearing, 3, "Tredje runde", true).await;
        assert_eq!(status, 200, "{body:#}");
        assert!(body["data"]["s1"]["receipt"].is_string(), "{body:#}");
        assert!(body["data"].get("s2").is_none(), "{body:#}");
        assert_eq!(rows(&app).await, 5);
        limited(&app, &[], input(w.hearing, "Endnu et forslag.")).await;

        // More in one request than a client may send in an hour: never, and said so.
        let staff = app.signed_in(As::Staff, &[], None).await;
        let (status, body) = send_many(&staff, w.hearing, 6, "For mange", false).await;
        assert_eq!(status, 429, "{body:#}");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("this request sends 6"), "{message}");
        assert_eq!(rows(&app).await, 5);
        // Nothing of it was counted: staff still have their five.
        let (status, body) = send_many(&staff, w.hearing, 5, "Personalets", false).await;
        assert_eq!(status, 200, "{body:#}");
        assert_eq!(rows(&app).await, 10);
    }
);

both!(
    each_address_has_its_budget_behind_a_trusted_proxy,
    |c: &mut Config| {
        c.consultation_submissions_per_hour = 2;
        c.trust_forwarded_for = true;
    },
    |app: TestApp| async move {
        let w = world(&app).await;
        let one = [("x-forwarded-for", "203.0.113.7")];
        let two = [("x-forwarded-for", "10.0.0.1, 198.51.100.9")];
        accepted(&app, &one, input(w.hearing, "Første svar fra én.")).await;
        accepted(&app, &one, input(w.hearing, "Andet svar fra én.")).await;
        limited(&app, &one, input(w.hearing, "Tredje svar fra én.")).await;
        // The configured budget (2), per address: the other address still has its own.
        accepted(&app, &two, input(w.hearing, "Første svar fra to.")).await;
        accepted(&app, &two, input(w.hearing, "Andet svar fra to.")).await;
        limited(&app, &two, input(w.hearing, "Tredje svar fra to.")).await;
        assert_eq!(rows(&app).await, 4);
        let distinct: std::collections::BTreeSet<_> =
            fingerprints(&app).await.into_iter().flatten().collect();
        assert_eq!(distinct.len(), 2);
    }
);

both!(
    without_a_trusted_proxy_forwarded_for_is_ignored,
    |c: &mut Config| c.consultation_submissions_per_hour = 1,
    |app: TestApp| async move {
        let w = world(&app).await;
        accepted(
            &app,
            &[("x-forwarded-for", "203.0.113.7")],
            input(w.hearing, "Et svar."),
        )
        .await;
        // A made-up address does not buy a new budget: the connection's address counts.
        limited(
            &app,
            &[("x-forwarded-for", "198.51.100.9")],
            input(w.hearing, "Et andet svar."),
        )
        .await;
        assert_eq!(rows(&app).await, 1);
    }
);

both!(
    the_same_text_twice_from_one_client_to_one_consultation_is_refused,
    |c: &mut Config| c.consultation_submissions_per_hour = 5,
    |app: TestApp| async move {
        let w = world(&app).await;
        let text = "Et havnebad vil samle hele byen om sommeren.";
        accepted(&app, &[], input(w.hearing, text)).await;
        // Case and runs of whitespace do not make it new, nor does naming an action.
        let mut again = input(w.hearing, "  ET HAVNEBAD vil\n samle   hele byen om sommeren. ");
        again["actionId"] = json!(global_id("Action", w.harbour));
        let (status, _, body) = send(&app, &[], again).await;
        assert_eq!(status, 200);
        let payload = &body["data"]["submitConsultationResponse"];
        assert!(payload["receipt"].is_null(), "{body:#}");
        assert_eq!(payload["userErrors"][0]["field"], json!(["body"]), "{body:#}");
        assert_eq!(payload["userErrors"][0]["code"], "TAKEN", "{body:#}");
        assert_eq!(rows(&app).await, 1, "a duplicate writes nothing");
        // The same text to another consultation, or from another client, is a new response.
        accepted(&app, &[], input(w.other, text)).await;
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        accepted(&editor, &[], input(w.hearing, text)).await;
        assert_eq!(rows(&app).await, 3);
    }
);

/// Moves a plan's consultation into the past: it closed on `closed`.
async fn closed_on(app: &TestApp, plan_id: Uuid, closed: NaiveDate) {
    let p = plan::Entity::find_by_id(plan_id)
        .one(&app.db)
        .await
        .expect("plan")
        .expect("exists");
    let mut p: plan::ActiveModel = p.into();
    p.consultation_opens_on = Set(Some(closed - Days::new(30)));
    p.consultation_closes_on = Set(Some(closed));
    p.update(&app.db).await.expect("update plan");
}

/// The whole audit log as text, to look for personal data in it.
async fn audit_text(app: &TestApp) -> String {
    audit_log::Entity::find()
        .all(&app.db)
        .await
        .expect("audit log")
        .into_iter()
        .map(|e| format!("{} {} {} {}\n", e.actor_label, e.operation, e.entity, e.changes))
        .collect()
}

fn assert_no_personal_data(text: &str, what: &str) {
    for needle in [NAME, "Karen", EMAIL, "example.dk", ASSOCIATION, "Borger-"] {
        assert!(!text.contains(needle), "{what} holds {needle:?}:\n{text}");
    }
}

async fn response(app: &TestApp, id: Uuid) -> consultation_response::Model {
    consultation_response::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .expect("response")
        .expect("exists")
}

/// The response a receipt names.
async fn id_of(app: &TestApp, receipt: &str) -> Uuid {
    consultation_response::Entity::find()
        .all(&app.db)
        .await
        .expect("rows")
        .into_iter()
        .map(|r| r.id)
        .find(|id| global_id("ConsultationResponse", *id) == receipt)
        .expect("the receipt names a response")
}

both!(
    personal_data_is_erased_after_the_retention_period_and_not_before,
    |app: TestApp| async move {
        let w = world(&app).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let mine = id_of(
            &app,
            &accepted(&app, &[], personal(w.hearing, "Et havnebad, tak.", EMAIL)).await,
        )
        .await;
        let other = id_of(
            &app,
            &accepted(&app, &[], personal(w.other, "En kanoplads, tak.", EMAIL)).await,
        )
        .await;
        // A moderation and a reply: updates of the row are in the audit log too.
        let d = staff
            .data(
                "mutation($i: ModerateConsultationResponseInput!) { moderateConsultationResponse(input: $i) {
                   consultationResponse { name email } userErrors { code } } }",
                json!({ "i": { "id": global_id("ConsultationResponse", mine), "version": 1, "status": "PUBLISHED" } }),
            )
            .await;
        assert_eq!(
            d["moderateConsultationResponse"]["consultationResponse"]["email"],
            EMAIL
        );
        assert_no_personal_data(&audit_text(&app).await, "the audit log");

        // The Gjøl consultation closed 100 days ago, Birkelse's 10 days ago.
        let today = danish_today();
        let closed = today - Days::new(100);
        closed_on(&app, w.hearing, closed).await;
        closed_on(&app, w.other, today - Days::new(10)).await;

        // Through the last day of the period nothing goes.
        let erased = lup_api::erase_expired_personal_data(&app.db, closed + Days::new(90), 90)
            .await
            .expect("erase");
        assert_eq!(erased, 0);
        let kept = response(&app, mine).await;
        assert_eq!(kept.name.as_deref(), Some(NAME));
        assert_eq!(kept.email.as_deref(), Some(EMAIL));

        // A server whose retention is longer erases nothing either when it starts.
        let patient = app.sibling(|c| c.consultation_retention_days = 200).await;
        patient.stop().await;
        assert_eq!(response(&app, mine).await.email.as_deref(), Some(EMAIL));

        // The day after, the data goes (the text stays); the other consultation's stays.
        let erased = lup_api::erase_expired_personal_data(&app.db, closed + Days::new(91), 90)
            .await
            .expect("erase");
        assert_eq!(erased, 1);
        let gone = response(&app, mine).await;
        assert_eq!(gone.body, "Et havnebad, tak.");
        assert_eq!(
            (gone.name, gone.association, gone.email, gone.client_fingerprint),
            (None, None, None, None)
        );
        assert_eq!(response(&app, other).await.email.as_deref(), Some(EMAIL));

        // The server does the same by itself: one with a retention of 5 days, started now,
        // erases the Birkelse response (closed 10 days ago) before it answers anyone.
        let strict = app.sibling(|c| c.consultation_retention_days = 5).await;
        let gone = response(&app, other).await;
        assert_eq!((gone.name, gone.email), (None, None));
        assert_eq!(gone.body, "En kanoplads, tak.");
        strict.stop().await;

        // Nothing of the person anywhere: not in the rows, not in the audit log, not by export.
        let all = consultation_response::Entity::find()
            .all(&app.db)
            .await
            .expect("rows");
        assert_no_personal_data(&format!("{all:?}"), "the responses");
        let log = audit_text(&app).await;
        assert_no_personal_data(&log, "the audit log");
        assert!(
            log.contains("system:retention UPDATE ConsultationResponse"),
            "{log}"
        );
        let d = staff.data(EXPORT, json!({ "e": EMAIL })).await;
        assert_eq!(d["exportConsultantData"], json!([]));
        // An address that is none, as a response would have been refused with it.
        for bad in ["\u{202E}@eksempel.dk", "inger\u{FEFF}@eksempel.dk"] {
            let (code, message) = staff.error(EXPORT, json!({ "e": bad })).await;
            assert_eq!(code, "BAD_USER_INPUT", "{bad:?}");
            assert!(message.contains("not an email address"), "{message}");
        }
        // One without a top-level domain, as responses were once accepted with, is looked up.
        let d = staff.data(EXPORT, json!({ "e": "inger@eksempel" })).await;
        assert_eq!(d["exportConsultantData"], json!([]));
        // The public and the moderators see the text without a name.
        let d = staff
            .data(
                "query($id: ID!) { node(id: $id) { ... on ConsultationResponse { body name association email } } }",
                json!({ "id": global_id("ConsultationResponse", mine) }),
            )
            .await;
        assert_eq!(
            d["node"],
            json!({ "body": "Et havnebad, tak.", "name": null, "association": null, "email": null })
        );
    }
);

both!(
    staff_erase_and_export_a_persons_data_on_request,
    |app: TestApp| async move {
        let w = world(&app).await;
        let a = id_of(
            &app,
            &accepted(&app, &[], personal(w.hearing, "Første svar.", EMAIL)).await,
        )
        .await;
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        let mut about_action = personal(
            w.hearing,
            "Andet svar om havnebadet.",
            "Karen.Sorensen@Example.DK",
        );
        about_action["actionId"] = json!(global_id("Action", w.harbour));
        let b = id_of(&app, &accepted(&editor, &[], about_action).await).await;
        let someone = id_of(
            &app,
            &accepted(
                &app,
                &[],
                json!({ "planId": global_id("Plan", w.other), "body": "Et tredje svar.",
                        "name": "Jens Jensen", "email": "jens@example.org", "consentToStore": true }),
            )
            .await,
        )
        .await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let admin = app.signed_in(As::Admin, &[], None).await;

        // Export: both of Karen's responses (the address in any case), with all their data.
        let d = staff
            .data(EXPORT, json!({ "e": "  KAREN.sorensen@example.dk " }))
            .await;
        let export = d["exportConsultantData"].as_array().expect("list");
        assert_eq!(export.len(), 2, "{d:#}");
        assert_eq!(export[0]["responseId"], global_id("ConsultationResponse", a));
        assert_eq!(export[0]["planTitle"], "Gjøl 2027–2030 i høring");
        assert_eq!(export[0]["name"], NAME);
        assert_eq!(export[0]["association"], ASSOCIATION);
        assert_eq!(export[0]["email"], EMAIL);
        assert_eq!(export[0]["consentToStore"], true);
        assert_eq!(export[0]["status"], "PENDING");
        assert!(
            export[0]["clientFingerprint"]
                .as_str()
                .is_some_and(|f| f.len() == 64)
        );
        assert_eq!(export[1]["responseId"], global_id("ConsultationResponse", b));
        assert_eq!(export[1]["actionId"], global_id("Action", w.harbour));
        let d = admin.data(EXPORT, json!({ "e": "nobody@example.dk" })).await;
        assert_eq!(d["exportConsultantData"], json!([]));

        // Nobody else may export or erase: the fields do not exist for them.
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
        for caller in [&app, &partner, &editor] {
            let (code, message) = caller.error(EXPORT, json!({ "e": EMAIL })).await;
            assert!(
                matches!(code.as_str(), "FORBIDDEN" | "UNAUTHENTICATED" | "BAD_USER_INPUT"),
                "{code}: {message}"
            );
            let (code, message) = caller.error(ERASE, json!({ "i": { "email": EMAIL } })).await;
            assert!(
                matches!(code.as_str(), "FORBIDDEN" | "UNAUTHENTICATED" | "BAD_USER_INPUT"),
                "{code}: {message}"
            );
        }
        assert_eq!(response(&app, a).await.email.as_deref(), Some(EMAIL));

        // Bad input: a clear error, nothing erased.
        for bad in ["ikke-en-adresse", "karen\u{0}@example.dk", ""] {
            let (code, message) = staff.error(EXPORT, json!({ "e": bad })).await;
            assert_eq!(code, "BAD_USER_INPUT", "{bad:?}: {message}");
            assert!(message.contains("email") || message.contains("NUL"), "{message}");
        }
        let d = staff
            .post(ERASE, json!({ "i": { "email": "ikke-en-adresse" } }))
            .await;
        let payload = &d["data"]["eraseConsultantData"];
        assert!(payload["erased"].is_null(), "{d:#}");
        assert_eq!(payload["userErrors"][0]["field"], json!(["email"]), "{d:#}");
        assert_eq!(payload["userErrors"][0]["code"], "INVALID", "{d:#}");
        let (code, message) = staff
            .error(ERASE, json!({ "i": { "email": "karen\u{0}@example.dk" } }))
            .await;
        assert_eq!(code, "BAD_USER_INPUT", "{message}");

        // A reply that names Karen (who agreed to have her name shown).
        let d = staff
            .data(
                "mutation($i: ReplyToConsultationResponseInput!) {
                   replyToConsultationResponse(input: $i) { userErrors { message } } }",
                json!({ "i": { "id": global_id("ConsultationResponse", a),
                               "version": response(&app, a).await.version,
                               "reply": "Kære Karen Sørensen, tak for dit svar. Sørensens forslag om havnen tages med." } }),
            )
            .await;
        assert_eq!(d["replyToConsultationResponse"]["userErrors"], json!([]), "{d:#}");
        // And a reason for rejecting her other response that names her.
        let d = staff
            .data(
                "mutation($i: ModerateConsultationResponseInput!) {
                   moderateConsultationResponse(input: $i) { userErrors { message } } }",
                json!({ "i": { "id": global_id("ConsultationResponse", b),
                               "version": response(&app, b).await.version, "status": "REJECTED",
                               "rejectionReason": "Karen Sørensen har sendt det samme før." } }),
            )
            .await;
        assert_eq!(
            d["moderateConsultationResponse"]["userErrors"],
            json!([]),
            "{d:#}"
        );

        // Erasure: both of Karen's responses lose name, association, email and fingerprint;
        // the texts stay, the reply and the reason lose her name; Jens keeps his.
        let d = staff
            .data(ERASE, json!({ "i": { "email": "Karen.Sorensen@example.dk" } }))
            .await;
        assert_eq!(d["eraseConsultantData"], json!({ "erased": 2, "userErrors": [] }));
        for id in [a, b] {
            let r = response(&app, id).await;
            assert_eq!(
                (r.name, r.association, r.email, r.client_fingerprint),
                (None, None, None, None)
            );
        }
        assert_eq!(response(&app, b).await.body, "Andet svar om havnebadet.");
        assert_eq!(
            response(&app, a).await.reply.as_deref(),
            Some("Kære [fjernet], tak for dit svar. [fjernet] forslag om havnen tages med.")
        );
        assert_eq!(
            response(&app, b).await.rejection_reason.as_deref(),
            Some("[fjernet] har sendt det samme før.")
        );
        assert_eq!(
            response(&app, someone).await.email.as_deref(),
            Some("jens@example.org")
        );
        // Again: nothing left to erase.
        let d = staff.data(ERASE, json!({ "i": { "email": EMAIL } })).await;
        assert_eq!(d["eraseConsultantData"]["erased"], 0);

        // Audited, without the address or the name: each export and each erasure.
        let log = audit_text(&app).await;
        assert_no_personal_data(&log, "the audit log");
        let exported = log
            .lines()
            .filter(|l| l.contains(" EXPORT ConsultationResponse"))
            .count();
        assert_eq!(exported, 2, "{log}");
        let d = staff
            .data(
                "query($id: ID!) { auditLog(filter: { entityId: $id }) { nodes { operation actor { kind } changes } } }",
                json!({ "id": global_id("ConsultationResponse", a) }),
            )
            .await;
        let ops: Vec<&str> = d["auditLog"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["operation"].as_str().unwrap())
            .collect();
        assert_eq!(ops, ["UPDATE", "UPDATE", "EXPORT", "CREATE"], "{d:#}");
        let erasure = &d["auditLog"]["nodes"][0]["changes"];
        assert_eq!(
            erasure["email"]["before"],
            entity::consultation_response::REDACTED,
            "{d:#}"
        );
        assert_eq!(erasure["email"]["after"], Value::Null, "{d:#}");
        // The reply's change is told, its text kept out of the log (it named her before).
        assert_eq!(
            erasure["reply"],
            json!({ "before": entity::consultation_response::REDACTED,
                    "after": entity::consultation_response::REDACTED }),
            "{d:#}"
        );
        assert_no_personal_data(&d.to_string(), "the audit log as staff read it");
    }
);

// A moderator takes personal data out of a response's text by cutting it (each cut marked
// [fjernet]): the old text is then kept nowhere, the search index and the audit log included.
// Adding or rewording is refused and changes nothing; another community's editors cannot.
both!(
    a_moderator_cuts_personal_data_out_of_a_response,
    |app: TestApp| async move {
        const REDACT: &str = "mutation($i: RedactConsultationResponseInput!) {
          redactConsultationResponse(input: $i) { consultationResponse { body version } userErrors { field code message } } }";
        const FIND: &str = "query($q: String!) { search(query: $q, first: 10) { totalCount } }";
        let w = world(&app).await;
        let text = "Min søn har ADHD og har brug for en rolig legeplads ved havnen.";
        let receipt = accepted(&app, &[], input(w.hearing, text)).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        assert!(audit_text(&app).await.contains("ConsultationResponse"));
        assert!(
            !audit_text(&app).await.contains("ADHD"),
            "the log keeps no response's text"
        );
        let count =
            async |q: &str| staff.data(FIND, json!({ "q": q })).await["search"]["totalCount"].as_i64();
        assert_eq!(count("ADHD").await, Some(1), "found before");

        let birkelse = app
            .signed_in(
                As::CommunityEditor,
                &[fixture_community(&app, "birkelse").await],
                None,
            )
            .await;
        let cut = "Min søn [fjernet] har brug for en rolig legeplads ved havnen.";
        let (code, _) = birkelse
            .error(
                REDACT,
                json!({ "i": { "id": receipt, "version": 1, "body": cut } }),
            )
            .await;
        assert!(code == "NOT_FOUND" || code == "FORBIDDEN", "{code}");

        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        let reworded = "Min søn har brug for en stor legeplads ved havnen.";
        let body = editor
            .data(
                REDACT,
                json!({ "i": { "id": receipt, "version": 1, "body": reworded } }),
            )
            .await;
        let refused = &body["redactConsultationResponse"];
        assert_eq!(refused["userErrors"][0]["field"], json!(["body"]), "{body}");
        assert_eq!(refused["userErrors"][0]["code"], "INVALID", "{body}");
        let id = id_of(&app, &receipt).await;
        assert_eq!(response(&app, id).await.body, text, "nothing changed");

        let body = editor
            .data(
                REDACT,
                json!({ "i": { "id": receipt, "version": 1, "body": cut } }),
            )
            .await;
        let done = &body["redactConsultationResponse"];
        assert_eq!(done["userErrors"], json!([]), "{body}");
        assert_eq!(done["consultationResponse"]["body"], cut);
        assert_eq!(response(&app, id).await.body, cut);
        assert_eq!(
            count("ADHD").await,
            Some(0),
            "the search index holds the cut text"
        );
        assert_eq!(count("legeplads").await, Some(1));
        assert!(!audit_text(&app).await.contains("ADHD"));
        // The log tells that the text changed, and nothing of it.
        let redaction = audit_log::Entity::find()
            .all(&app.db)
            .await
            .expect("audit log")
            .into_iter()
            .find(|e| e.entity_id == id && e.operation == "UPDATE")
            .expect("the redaction is audited");
        let changes: Value = serde_json::from_str(&redaction.changes).unwrap();
        assert_eq!(
            changes["body"],
            json!({ "before": "[personoplysning]", "after": "[personoplysning]" })
        );
        // An unmarked cut could change what the sender meant: refused.
        let body = editor
            .data(REDACT, json!({ "i": { "id": receipt, "version": 2, "body": "Min søn [fjernet] har brug for en legeplads ved havnen." } }))
            .await;
        assert_eq!(
            body["redactConsultationResponse"]["userErrors"][0]["code"], "INVALID",
            "{body}"
        );
    }
);

// Two responses of one sender cut down to the same words: each cut is the moderator's, not a
// second sending of one text, so the duplicate check (one text per sender and consultation)
// does not refuse it, and the personal data goes from both.
both!(
    two_responses_cut_to_the_same_words_are_both_redacted,
    |app: TestApp| async move {
        const REDACT: &str = "mutation($i: RedactConsultationResponseInput!) {
          redactConsultationResponse(input: $i) { consultationResponse { body } userErrors { field code message } } }";
        let w = world(&app).await;
        let first = accepted(&app, &[], input(w.hearing, "Min nabo Jens har diabetes.")).await;
        let second = accepted(&app, &[], input(w.hearing, "Min nabo Peter har diabetes.")).await;
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        let cut = "Min nabo [fjernet] har diabetes.";
        for receipt in [&first, &second] {
            let body = editor
                .data(
                    REDACT,
                    json!({ "i": { "id": receipt, "version": 1, "body": cut } }),
                )
                .await;
            let payload = &body["redactConsultationResponse"];
            assert_eq!(payload["userErrors"], json!([]), "{body}");
            assert_eq!(payload["consultationResponse"]["body"], cut, "{body}");
            assert_eq!(response(&app, id_of(&app, receipt).await).await.body, cut);
        }
        // The sender's own duplicate check still holds for what is sent.
        let (_, _, body) = send(&app, &[], input(w.hearing, "Min nabo Jens har diabetes.")).await;
        let payload = &body["data"]["submitConsultationResponse"];
        assert!(
            payload["userErrors"].as_array().is_some_and(|e| e.is_empty()),
            "{body}"
        );
        let (_, _, body) = send(&app, &[], input(w.hearing, "Min nabo Jens har diabetes.")).await;
        assert_eq!(
            body["data"]["submitConsultationResponse"]["userErrors"][0]["code"], "TAKEN",
            "{body}"
        );
    }
);

// On SQLite the database is a file the operator copies and backs up: what a moderator cuts
// out, and the data an erasure takes, are not left in it (in free space, or in the
// write-ahead log's older pages).
#[tokio::test]
async fn cut_and_erased_data_is_not_left_in_the_sqlite_file() {
    const REDACT: &str = "mutation($i: RedactConsultationResponseInput!) {
      redactConsultationResponse(input: $i) { userErrors { field code message } } }";
    let app = TestApp::spawn(lup_tests::Backend::Sqlite).await;
    let path = app
        .database_url
        .trim_start_matches("sqlite://")
        .split('?')
        .next()
        .expect("a path")
        .to_owned();
    let held = |needle: &'static str| {
        let path = path.clone();
        move || {
            [path.clone(), format!("{path}-wal")].iter().any(|file| {
                std::fs::read(file)
                    .is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
            })
        }
    };
    let w = world(&app).await;
    let secret = "Hjertesygdom96478";
    let receipt = accepted(
        &app,
        &[],
        personal(
            w.hearing,
            &format!("Jeg har {secret} og kan ikke gå langt."),
            "zorbakrumme@example.dk",
        ),
    )
    .await;
    assert!(held(secret)(), "the text is in the file before the cut");
    let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
    let body = editor
        .data(
            REDACT,
            json!({ "i": { "id": receipt, "version": 1, "body": "Jeg har [fjernet] og kan ikke gå langt." } }),
        )
        .await;
    assert_eq!(
        body["redactConsultationResponse"]["userErrors"],
        json!([]),
        "{body}"
    );
    assert!(!held(secret)(), "the cut text is left in {path} or its log");

    assert!(held("zorbakrumme@example.dk")());
    let staff = app.signed_in(As::Staff, &[], None).await;
    let body = staff
        .data(ERASE, json!({ "i": { "email": "zorbakrumme@example.dk" } }))
        .await;
    assert_eq!(body["eraseConsultantData"]["erased"], 1, "{body}");
    assert!(
        !held("zorbakrumme@example.dk")(),
        "the erased address is left in {path} or its log"
    );
    app.stop().await;
}

/// The ID of the community a fixture made under `slug`.
async fn fixture_community(app: &TestApp, slug: &str) -> Uuid {
    use sea_orm::{ColumnTrait, QueryFilter};
    entity::community::Entity::find()
        .filter(entity::community::Column::Slug.eq(slug))
        .one(&app.db)
        .await
        .expect("query")
        .expect("the community")
        .id
}

// Replies recorded in clear by the audit log before replies were redacted there are written
// `[personoplysning]` by the migration that takes them out (its step, run here again on a
// record written as before); the rest of a record stays as it was.
both!(
    replies_in_earlier_audit_records_are_taken_out,
    |app: TestApp| async move {
        use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};
        let w = world(&app).await;
        let id = id_of(
            &app,
            &accepted(&app, &[], personal(w.hearing, "Et svar.", EMAIL)).await,
        )
        .await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        staff
            .data(
                "mutation($i: ReplyToConsultationResponseInput!) {
                   replyToConsultationResponse(input: $i) { userErrors { message } } }",
                json!({ "i": { "id": global_id("ConsultationResponse", id), "version": 1,
                               "reply": "Kære Karen Sørensen, tak." } }),
            )
            .await;
        // The reply's record as it was written before: the reply in clear.
        let record = audit_log::Entity::find()
            .filter(audit_log::Column::Entity.eq("ConsultationResponse"))
            .filter(audit_log::Column::Operation.eq("UPDATE"))
            .order_by_desc(audit_log::Column::Id)
            .one(&app.db)
            .await
            .unwrap()
            .expect("the reply's audit record");
        let mut changes: Value = serde_json::from_str(&record.changes).unwrap();
        assert_eq!(changes["reply"]["after"], consultation_response::REDACTED);
        changes["reply"]["after"] = json!("Kære Karen Sørensen, tak.");
        let mut old: audit_log::ActiveModel = record.clone().into();
        old.changes = Set(changes.to_string());
        old.update(&app.db).await.unwrap();

        let manager = migration::SchemaManager::new(&app.db);
        migration::scrub_consultation_audit(&manager, &["reply"])
            .await
            .unwrap();
        let after = audit_log::Entity::find_by_id(record.id)
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        let after: Value = serde_json::from_str(&after.changes).unwrap();
        assert_eq!(
            after["reply"],
            json!({ "before": null, "after": consultation_response::REDACTED }),
            "{after:#}"
        );
        // The rest stays as it was.
        assert!(changes["replied_at"]["after"].is_string(), "{changes:#}");
        assert_eq!(after["replied_at"], changes["replied_at"], "{after:#}");
        assert_eq!(after["version"], changes["version"], "{after:#}");
    }
);

// An address is one address however it was typed: letters composed or not, fullwidth or not,
// in any case. A response is stored with its one form, and an erasure or an export finds it
// by any; an address stored in another form before is rewritten by the migration that brought
// this, and one accepted before the rules tightened (`a@b`) is erased as it is exported.
both!(
    an_address_is_found_in_whatever_form_it_was_typed,
    |app: TestApp| async move {
        use sea_orm::ActiveModelTrait;
        let w = world(&app).await;
        let one_form = "\u{fc}nic\u{f8}de@eksempel.dk";
        let first = accepted(&app, &[], personal(w.hearing, "Et svar om havnen.", one_form)).await;
        let a = id_of(&app, &first).await;
        // A fullwidth "u" with a combining diaeresis, in capitals.
        let second = accepted(
            &app,
            &[],
            personal(
                w.hearing,
                "Et andet svar om stien.",
                "\u{ff35}\u{308}NIC\u{d8}DE@Eksempel.DK",
            ),
        )
        .await;
        let b = id_of(&app, &second).await;
        assert_eq!(response(&app, a).await.email.as_deref(), Some(one_form));
        assert_eq!(response(&app, b).await.email.as_deref(), Some(one_form));

        // Stored decomposed, as before: the migration's step writes it in its one form.
        let mut old: consultation_response::ActiveModel = response(&app, a).await.into();
        old.email = Set(Some("u\u{308}nic\u{f8}de@eksempel.dk".into()));
        old.update(&app.db).await.expect("an earlier form");
        let manager = migration::SchemaManager::new(&app.db);
        migration::one_form_of_emails(&manager).await.expect("migration");
        assert_eq!(response(&app, a).await.email.as_deref(), Some(one_form));

        let staff = app.signed_in(As::Staff, &[], None).await;
        let decomposed = "U\u{308}NIC\u{d8}DE@eksempel.dk";
        let found = staff.data(EXPORT, json!({ "e": decomposed })).await;
        assert_eq!(
            found["exportConsultantData"].as_array().map(Vec::len),
            Some(2),
            "{found:#}"
        );

        // An address accepted before a top-level domain was required.
        let mut old: consultation_response::ActiveModel = response(&app, b).await.into();
        old.email = Set(Some("karen@gjoel".into()));
        old.update(&app.db).await.expect("an earlier address");
        let found = staff.data(EXPORT, json!({ "e": "Karen@Gjoel" })).await;
        assert_eq!(
            found["exportConsultantData"].as_array().map(Vec::len),
            Some(1),
            "{found:#}"
        );
        let erased = staff
            .data(ERASE, json!({ "i": { "email": "Karen@Gjoel" } }))
            .await;
        assert_eq!(
            erased["eraseConsultantData"],
            json!({ "erased": 1, "userErrors": [] })
        );
        assert_eq!(response(&app, b).await.email, None);

        let erased = staff.data(ERASE, json!({ "i": { "email": decomposed } })).await;
        assert_eq!(
            erased["eraseConsultantData"],
            json!({ "erased": 1, "userErrors": [] })
        );
        assert_eq!(response(&app, a).await.email, None);
        // Still no address at all: refused, nothing erased.
        let refused = staff
            .data(ERASE, json!({ "i": { "email": "ikke en adresse" } }))
            .await;
        assert_eq!(
            refused["eraseConsultantData"]["userErrors"][0]["code"], "INVALID",
            "{refused:#}"
        );
    }
);

// The sender's address is never public: a reply may not hold it, and an erasure takes it
// out of a reply given before that rule. A response sent by a signed-in account no longer
// names the account in the audit log once its personal data is erased.
both!(
    an_erased_sender_is_named_neither_in_a_reply_nor_in_the_log,
    |app: TestApp| async move {
        const REPLY: &str = "mutation($i: ReplyToConsultationResponseInput!) {
          replyToConsultationResponse(input: $i) { consultationResponse { reply } userErrors { field code message } } }";
        const LOG: &str = "query($e: ID!) { auditLog(filter: { entityId: $e }) {
          nodes { operation actor { kind nodeId label } } } }";
        let w = world(&app).await;
        let sender = app.signed_in(As::Staff, &[], None).await;
        let receipt = accepted(&sender, &[], personal(w.hearing, "Stien bør belyses.", EMAIL)).await;
        let id = id_of(&app, &receipt).await;
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        for reply in [
            format!("Tak, vi skriver til {EMAIL}."),
            format!("Tak, vi skriver til {}.", EMAIL.to_uppercase()),
        ] {
            let body = editor
                .data(
                    REPLY,
                    json!({ "i": { "id": receipt, "version": 1, "reply": reply } }),
                )
                .await;
            let p = &body["replyToConsultationResponse"];
            assert!(p["consultationResponse"].is_null(), "{body}");
            assert_eq!(p["userErrors"][0]["field"], json!(["reply"]), "{body}");
            assert_eq!(p["userErrors"][0]["code"], "INVALID", "{body}");
        }
        assert_eq!(response(&app, id).await.reply, None, "nothing written");
        // Another address (the municipality's) is no one's personal data.
        let body = editor
            .data(
                REPLY,
                json!({ "i": { "id": receipt, "version": 1, "reply": "Tak. Skriv gerne til lup@jammerbugt.dk." } }),
            )
            .await;
        assert_eq!(
            body["replyToConsultationResponse"]["userErrors"],
            json!([]),
            "{body}"
        );
        // A reply given before the rule, holding the address.
        let fx = Fixture::new(&app.db);
        fx.set(
            "consultation_response",
            id,
            "reply",
            format!("Kære {NAME}, vi svarer på {} i næste uge.", EMAIL.to_uppercase()),
        )
        .await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let created = |log: &Value| {
            log["auditLog"]["nodes"]
                .as_array()
                .expect("records")
                .iter()
                .find(|n| n["operation"] == "CREATE")
                .expect("the response's CREATE")["actor"]
                .clone()
        };
        let log = staff.data(LOG, json!({ "e": receipt })).await;
        let actor = created(&log);
        assert_eq!(actor["kind"], "ACCOUNT", "{log}");
        assert!(actor["nodeId"].is_string(), "the sender's account: {log}");

        let body = staff.data(ERASE, json!({ "i": { "email": EMAIL } })).await;
        assert_eq!(body["eraseConsultantData"]["erased"], 1, "{body}");
        assert_eq!(
            response(&app, id).await.reply.as_deref(),
            Some("Kære [fjernet], vi svarer på [fjernet] i næste uge.")
        );
        let log = staff.data(LOG, json!({ "e": receipt })).await;
        assert_eq!(
            created(&log),
            json!({ "kind": "ACCOUNT", "nodeId": null, "label": "[personoplysning]" }),
            "{log}"
        );
        // The moderators' own records keep who they were.
        assert!(
            log["auditLog"]["nodes"]
                .as_array()
                .expect("records")
                .iter()
                .any(|n| n["operation"] == "UPDATE" && n["actor"]["nodeId"].is_string()),
            "{log}"
        );
    }
);

// Responses erased before their `CREATE` records were unsigned are unsigned by a migration
// (its step, run here again on a response erased as before); one not yet erased keeps its
// sender until it is.
both!(
    responses_erased_before_are_unsigned_by_the_migration,
    |app: TestApp| async move {
        use sea_orm::{ColumnTrait, QueryFilter};
        let w = world(&app).await;
        let sender = app.signed_in(As::Staff, &[], None).await;
        let erased = id_of(
            &app,
            &accepted(&sender, &[], personal(w.hearing, "Stien bør belyses.", EMAIL)).await,
        )
        .await;
        let kept = id_of(
            &app,
            &accepted(
                &sender,
                &[],
                personal(w.hearing, "Flere bænke, tak.", "anden@example.dk"),
            )
            .await,
        )
        .await;
        // Erased as before: the data gone, the log untouched.
        let fx = Fixture::new(&app.db);
        for column in ["name", "association", "email", "client_fingerprint"] {
            fx.set("consultation_response", erased, column, Option::<String>::None)
                .await;
        }
        migration::unsign_erased_responses(&migration::SchemaManager::new(&app.db))
            .await
            .expect("the step");
        let created = |id: Uuid| {
            let db = app.db.clone();
            async move {
                audit_log::Entity::find()
                    .filter(audit_log::Column::EntityId.eq(id))
                    .filter(audit_log::Column::Operation.eq("CREATE"))
                    .one(&db)
                    .await
                    .expect("query")
                    .expect("the CREATE")
            }
        };
        let record = created(erased).await;
        assert_eq!(
            (record.actor_id, record.actor_label.as_str()),
            (None, "[personoplysning]")
        );
        assert!(
            created(kept).await.actor_id.is_some(),
            "not erased yet: still its sender's"
        );
    }
);

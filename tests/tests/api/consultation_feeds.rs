//! What consultation responses feed: the engagement component `CONSULTATION_RESPONSES` (only
//! published responses count, with a weight staff tune), the annual review's figures per
//! community (old snapshots without them still read), and the summary of a plan's
//! consultation as HTML and CSV (the public's counts and the moderators', no email, a name
//! only with consent).
use lup_tests::{
    As, TestApp, both,
    fixture::{Fixture, PlanStatus, danish_today, global_id},
};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::reports::{csv_rows, get, header};

const SUBMIT: &str = "mutation($i: SubmitConsultationResponseInput!) {
  submitConsultationResponse(input: $i) { receipt userErrors { field code message } } }";
const MODERATE: &str = "mutation($i: ModerateConsultationResponseInput!) {
  moderateConsultationResponse(input: $i) { consultationResponse { status version } userErrors { field code message } } }";
const REPLY: &str = "mutation($i: ReplyToConsultationResponseInput!) {
  replyToConsultationResponse(input: $i) { consultationResponse { reply version } userErrors { field code message } } }";
const COMMUNITY: &str = "query($id: ID!, $w: EngagementWindowInput) { community(id: $id) {
    engagement(window: $w) { total components { key label value weight points } } } }";
const PLAN: &str = "query($id: ID!) { node(id: $id) { ... on Plan {
    engagement { total components { key label value weight points } } } } }";

struct World {
    gjol: Uuid,
    birkelse: Uuid,
    hearing: Uuid,
    harbour: Uuid,
    path: Uuid,
    draft: Uuid,
    other: Uuid,
}

/// Gjøl with a plan in consultation (open; two actions) and a draft; Birkelse with a plan in
/// consultation of its own.
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
        birkelse,
        hearing,
        harbour,
        path,
        draft,
        other,
    }
}

/// Sends a response and returns its ID.
async fn submit(caller: &TestApp, input: Value) -> String {
    let p = caller.data(SUBMIT, json!({ "i": input })).await["submitConsultationResponse"].clone();
    assert_eq!(p["userErrors"], json!([]), "{p:#}");
    p["receipt"].as_str().expect("a receipt").to_owned()
}

fn plain(plan: Uuid, action: Option<Uuid>, body: &str) -> Value {
    let mut i = json!({ "planId": global_id("Plan", plan), "body": body, "consentToStore": false });
    if let Some(a) = action {
        i["actionId"] = json!(global_id("Action", a));
    }
    i
}

/// Moderates a response (at `version`) and returns its new version.
async fn moderate(staff: &TestApp, id: &str, version: i64, status: &str) -> i64 {
    let mut i = json!({ "id": id, "version": version, "status": status });
    if status == "REJECTED" {
        i["rejectionReason"] = json!("Handler ikke om planen.");
    }
    let p = staff.data(MODERATE, json!({ "i": i })).await["moderateConsultationResponse"].clone();
    assert_eq!(p["userErrors"], json!([]), "{p:#}");
    p["consultationResponse"]["version"].as_i64().unwrap()
}

async fn reply(staff: &TestApp, id: &str, version: i64, text: &str) -> i64 {
    let p = staff
        .data(
            REPLY,
            json!({ "i": { "id": id, "version": version, "reply": text } }),
        )
        .await["replyToConsultationResponse"]
        .clone();
    assert_eq!(p["userErrors"], json!([]), "{p:#}");
    p["consultationResponse"]["version"].as_i64().unwrap()
}

/// The `CONSULTATION_RESPONSES` component of an engagement: (value, weight, points).
fn responses_component(e: &Value) -> (i64, f64, f64) {
    let c = e["components"]
        .as_array()
        .unwrap_or_else(|| panic!("no components in {e}"))
        .iter()
        .find(|c| c["key"] == "CONSULTATION_RESPONSES")
        .unwrap_or_else(|| panic!("no CONSULTATION_RESPONSES in {e}"));
    assert_eq!(c["label"], "Høringssvar");
    (
        c["value"].as_i64().unwrap(),
        c["weight"].as_f64().unwrap(),
        c["points"].as_f64().unwrap(),
    )
}

async fn community_engagement(caller: &TestApp, id: Uuid, window: Value) -> Value {
    caller
        .data(
            COMMUNITY,
            json!({ "id": global_id("Community", id), "w": window }),
        )
        .await["community"]["engagement"]
        .clone()
}

async fn plan_engagement(caller: &TestApp, id: Uuid) -> Value {
    caller.data(PLAN, json!({ "id": global_id("Plan", id) })).await["node"]["engagement"].clone()
}

both!(
    published_responses_count_in_engagement_with_a_tunable_weight,
    |app: TestApp| async move {
        let w = world(&app).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let a = submit(&app, plain(w.hearing, None, "Et torv ved kirken.")).await;
        let b = submit(&app, plain(w.hearing, Some(w.harbour), "Et havnebad, tak.")).await;
        let c = submit(&staff, plain(w.hearing, Some(w.path), "Køb billige ure her.")).await;

        // Pending responses count for no one, staff included.
        for caller in [&app, &staff] {
            let e = community_engagement(caller, w.gjol, Value::Null).await;
            assert_eq!(responses_component(&e), (0, 0.5, 0.0), "{e}");
        }
        let before = community_engagement(&app, w.gjol, Value::Null).await["total"]
            .as_f64()
            .unwrap();

        let a_version = moderate(&staff, &a, 1, "PUBLISHED").await;
        moderate(&staff, &b, 1, "PUBLISHED").await;
        moderate(&staff, &c, 1, "REJECTED").await;
        for caller in [&app, &staff] {
            let e = community_engagement(caller, w.gjol, Value::Null).await;
            assert_eq!(responses_component(&e), (2, 0.5, 1.0), "{e}");
            assert_eq!(e["total"].as_f64().unwrap(), before + 1.0, "{e}");
            let e = plan_engagement(caller, w.hearing).await;
            assert_eq!(responses_component(&e), (2, 0.5, 1.0), "{e}");
        }
        let e = community_engagement(&app, w.birkelse, Value::Null).await;
        assert_eq!(responses_component(&e).0, 0, "another community's responses: {e}");
        // Outside the window: the responses were sent today.
        let last_year = danish_today() - chrono::Days::new(400);
        let e = community_engagement(
            &app,
            w.gjol,
            json!({ "from": (last_year - chrono::Days::new(30)).to_string(), "to": last_year.to_string() }),
        )
        .await;
        assert_eq!(responses_component(&e).0, 0, "{e}");

        // A hidden response no longer counts.
        moderate(&staff, &a, a_version, "HIDDEN").await;
        let e = community_engagement(&app, w.gjol, Value::Null).await;
        assert_eq!(responses_component(&e), (1, 0.5, 0.5), "{e}");

        // Staff tune the weight; every figure follows.
        let d = app
            .data(
                "{ engagementWeights { consultationResponses version } }",
                json!({}),
            )
            .await;
        assert_eq!(
            d["engagementWeights"],
            json!({ "consultationResponses": 0.5, "version": 0 })
        );
        let p = staff
            .data(
                "mutation($i: UpdateEngagementWeightsInput!) { updateEngagementWeights(input: $i) {
                   engagementWeights { consultationResponses events version } userErrors { field code } } }",
                json!({ "i": { "version": 0, "consultationResponses": 1001 } }),
            )
            .await["updateEngagementWeights"]
            .clone();
        assert_eq!(
            p["userErrors"][0]["field"],
            json!(["consultationResponses"]),
            "{p}"
        );
        let p = staff
            .data(
                "mutation($i: UpdateEngagementWeightsInput!) { updateEngagementWeights(input: $i) {
                   engagementWeights { consultationResponses events version } userErrors { field code } } }",
                json!({ "i": { "version": 0, "consultationResponses": 3 } }),
            )
            .await["updateEngagementWeights"]
            .clone();
        assert_eq!(p["userErrors"], json!([]), "{p}");
        assert_eq!(
            p["engagementWeights"],
            json!({ "consultationResponses": 3.0, "events": 2.0, "version": 1 })
        );
        let e = community_engagement(&app, w.gjol, Value::Null).await;
        assert_eq!(responses_component(&e), (1, 3.0, 3.0), "{e}");
        let e = plan_engagement(&app, w.hearing).await;
        assert_eq!(responses_component(&e), (1, 3.0, 3.0), "{e}");

        // Priorities rank with the community's engagement, responses included: for next year
        // the window is the 12 months ending today, as the default one.
        use chrono::Datelike;
        let year = danish_today().year();
        let fx = Fixture::new(&app.db);
        let adopted = fx
            .plan(w.gjol, "Gjøl i kraft", PlanStatus::Adopted, year - 1, year + 2)
            .await;
        fx.action(adopted, "Bænke ved havnen").await;
        let total = community_engagement(&staff, w.gjol, Value::Null).await["total"]
            .as_f64()
            .unwrap();
        let d = staff
            .data(
                "query($y: Int!) { priorities(year: $y) { ranking(first: 5) { nodes { engagementTotal community { slug } } } } }",
                json!({ "y": year + 1 }),
            )
            .await;
        let node = &d["priorities"]["ranking"]["nodes"][0];
        assert_eq!(node["community"]["slug"], "gjoel", "{d}");
        assert_eq!(node["engagementTotal"].as_f64(), Some(total), "{d}");
        assert!(total >= 3.0, "the response's 3 points are in it: {total}");
        let labels = app
            .data(
                r#"{ enumLabels(names: ["EngagementComponentKey"]) { values { value label } } }"#,
                json!({}),
            )
            .await;
        assert!(
            labels
                .to_string()
                .contains(r#"{"label":"Høringssvar","value":"CONSULTATION_RESPONSES"}"#),
            "{labels}"
        );
    }
);

both!(
    the_annual_review_counts_responses_per_community,
    |app: TestApp| async move {
        use crate::annual_review::{BY_YEAR, create, entry, q};
        let w = world(&app).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let a = submit(&app, plain(w.hearing, None, "Et torv ved kirken.")).await;
        let b = submit(&app, plain(w.hearing, Some(w.harbour), "Et havnebad, tak.")).await;
        submit(&app, plain(w.hearing, Some(w.path), "Stien skal være bred.")).await;
        submit(&app, plain(w.other, None, "Birkelse har brug for en kanoplads.")).await;
        let v = moderate(&staff, &a, 1, "PUBLISHED").await;
        reply(&staff, &a, v, "Tak, vi tager det med.").await;
        moderate(&staff, &b, 1, "PUBLISHED").await;

        use chrono::Datelike;
        let year = danish_today().year();
        let r = create(&staff, year).await;
        let g = &entry(&r, "gjoel")["figures"];
        assert_eq!(
            g["consultation"],
            json!({ "responses": 2, "replied": 1 }),
            "{g:#}"
        );
        assert_eq!(responses_component(&g["engagement"]).0, 2, "{g:#}");
        let b = &entry(&r, "birkelse")["figures"];
        assert_eq!(
            b["consultation"],
            json!({ "responses": 0, "replied": 0 }),
            "pending: {b:#}"
        );
        assert_eq!(
            r["totals"]["consultation"],
            json!({ "responses": 2, "replied": 1 })
        );

        // A snapshot taken before responses were counted (format 2) still reads: no
        // consultation figures, no such component; the reports show them as absent.
        {
            let e = entity::annual_review_entry::Entity::find()
                .all(&app.db)
                .await
                .unwrap()
                .into_iter()
                .find(|e| e.community_id == w.gjol)
                .unwrap();
            let mut old: Value = serde_json::from_str(&e.snapshot).unwrap();
            old["format"] = json!(2);
            old.as_object_mut().unwrap().remove("consultation");
            old["engagement"]["components"]
                .as_array_mut()
                .unwrap()
                .retain(|c| c["key"] != "CONSULTATION_RESPONSES");
            let mut m: entity::annual_review_entry::ActiveModel = e.into();
            m.snapshot = Set(old.to_string());
            m.update(&app.db).await.unwrap();
        }
        let r = staff.data(&q(BY_YEAR), json!({ "y": year })).await["annualReview"].clone();
        let g = &entry(&r, "gjoel")["figures"];
        assert!(g["consultation"].is_null(), "{g:#}");
        assert_eq!(g["engagement"]["components"].as_array().unwrap().len(), 8);
        assert_eq!(
            r["totals"]["consultation"],
            json!({ "responses": 0, "replied": 0 })
        );

        let response = get(&staff, &format!("/reports/annual/{year}.csv")).await;
        assert_eq!(response.status(), 200);
        let text = response.text().await.unwrap();
        let rows = csv_rows(text.strip_prefix('\u{FEFF}').unwrap());
        let col =
            |row: &Vec<String>, name: &str| row[rows[0].iter().position(|h| h == name).unwrap()].clone();
        let birkelse = rows.iter().find(|r| r[3] == "birkelse").unwrap();
        let gjol = rows.iter().find(|r| r[3] == "gjoel").unwrap();
        assert_eq!(col(birkelse, "consultation_responses"), "0");
        assert_eq!(col(birkelse, "engagement_consultation_responses"), "0");
        assert_eq!(col(gjol, "consultation_responses"), "", "absent, not 0");
        assert_eq!(col(gjol, "consultation_replied"), "");
        assert_eq!(col(gjol, "engagement_consultation_responses"), "");
        let response = get(&staff, &format!("/reports/annual/{year}")).await;
        assert_eq!(response.status(), 200);
        let html = response.text().await.unwrap();
        assert!(
            html.contains("Offentliggjorte høringssvar / heraf besvaret"),
            "{html}"
        );

        // Taken again: counted.
        let r = staff
            .data(
                &q(crate::annual_review::REFRESH),
                json!({ "i": { "id": r["id"], "version": r["version"] } }),
            )
            .await["refreshAnnualReview"]["annualReview"]
            .clone();
        assert_eq!(
            entry(&r, "gjoel")["figures"]["consultation"],
            json!({ "responses": 2, "replied": 1 })
        );
    }
);

both!(
    the_consultation_summary_counts_for_the_public_and_the_moderators,
    |app: TestApp| async move {
        let w = world(&app).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let named = |name: &str, email: &str, show: bool, action: Option<Uuid>, body: &str| {
            let mut i = plain(w.hearing, action, body);
            i["name"] = json!(name);
            i["email"] = json!(email);
            i["association"] = json!("Gjøl Borgerforening");
            i["consentToStore"] = json!(true);
            i["consentToShowName"] = json!(show);
            i
        };
        let a = submit(
            &app,
            named(
                "Inger Marie Kjær",
                "inger@eksempel.dk",
                true,
                None,
                "Et torv mellem kirken og skolen.",
            ),
        )
        .await;
        let b = submit(
            &app,
            named(
                "Hemmelig Hansen",
                "hemmelig@eksempel.dk",
                false,
                Some(w.harbour),
                "Et havnebad, tak.",
            ),
        )
        .await;
        let c = submit(&app, plain(w.hearing, Some(w.harbour), "Køb billige ure her.")).await;
        submit(
            &staff,
            plain(
                w.hearing,
                Some(w.path),
                "Stien skal være bred nok til barnevogne.",
            ),
        )
        .await;
        let v = moderate(&staff, &a, 1, "PUBLISHED").await;
        reply(&staff, &a, v, "Tak, torvet kommer med i næste udkast.").await;
        let v = moderate(&staff, &b, 1, "PUBLISHED").await;
        assert_eq!(v, 2);
        moderate(&staff, &c, 1, "REJECTED").await;

        let path = format!("/reports/consultation/{}", global_id("Plan", w.hearing));
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        let stranger = app.signed_in(As::CommunityEditor, &[w.birkelse], None).await;
        let csv_of = |caller: TestApp| {
            let path = path.clone();
            async move {
                let response = get(&caller, &format!("{path}.csv")).await;
                assert_eq!(response.status(), 200);
                assert_eq!(header(&response, "content-type"), "text/csv; charset=utf-8");
                let cache = header(&response, "cache-control");
                let text = response.text().await.unwrap();
                let rows = csv_rows(text.strip_prefix('\u{FEFF}').expect("a byte order mark"));
                (rows, cache, text)
            }
        };
        // Subject, responses, replied, pending, published, rejected, hidden.
        let counts = |rows: &[Vec<String>]| -> Vec<Vec<String>> {
            rows[1..]
                .iter()
                .map(|r| [3, 5, 6, 7, 8, 9, 10].iter().map(|i| r[*i].clone()).collect())
                .collect()
        };
        let public = [
            ["Planen som helhed", "1", "1", "", "", "", ""],
            ["Havnebad ved Gjøl Havn", "1", "0", "", "", "", ""],
            ["Natursti langs Limfjorden", "0", "0", "", "", "", ""],
        ];
        let moderators = [
            ["Planen som helhed", "1", "1", "0", "1", "0", "0"],
            ["Havnebad ved Gjøl Havn", "2", "0", "0", "1", "1", "0"],
            ["Natursti langs Limfjorden", "1", "0", "1", "0", "0", "0"],
        ];
        for (caller, expected, public_cache) in [
            (app.clone_handle(), &public, true),
            (stranger.clone_handle(), &public, false),
            (editor.clone_handle(), &moderators, false),
            (staff.clone_handle(), &moderators, false),
        ] {
            let (rows, cache, text) = csv_of(caller).await;
            assert_eq!(
                rows[0].join(","),
                "plan,community,community_slug,subject,action_id,responses,replied,pending,published,rejected,hidden"
            );
            assert_eq!(
                counts(&rows),
                expected.map(|r| r.map(str::to_owned).to_vec()),
                "{text}"
            );
            assert_eq!(rows[1][0], "Gjøl 2027–2030 i høring");
            assert_eq!(rows[2][4], global_id("Action", w.harbour));
            assert_eq!(cache.starts_with("public"), public_cache, "{cache}");
            assert!(!text.contains('@'), "no email: {text}");
        }

        for (caller, moderator) in [
            (app.clone_handle(), false),
            (stranger, false),
            (editor, true),
            (staff.clone_handle(), true),
        ] {
            let response = get(&caller, &path).await;
            assert_eq!(response.status(), 200);
            assert_eq!(header(&response, "content-type"), "text/html; charset=utf-8");
            let html = response.text().await.unwrap();
            assert!(html.contains("<html lang=\"da\">"));
            assert!(html.contains("Høringssvar – Gjøl 2027–2030 i høring"), "{html}");
            assert!(html.contains("Høringen er åben."), "{html}");
            // The published responses and the reply; a name only with consent; no email.
            assert!(html.contains("Et torv mellem kirken og skolen."));
            assert!(html.contains("Tak, torvet kommer med i næste udkast."));
            assert!(html.contains("Et havnebad, tak."));
            assert!(html.contains("Inger Marie Kjær"));
            assert!(html.contains("Gjøl Borgerforening"));
            assert!(!html.contains("Hemmelig Hansen"), "no consent to show the name");
            assert!(
                !html.contains("inger@") && !html.contains("hemmelig@") && !html.contains("eksempel.dk"),
                "no email: {html}"
            );
            // The texts of responses not published are never in it.
            assert!(
                !html.contains("billige ure") && !html.contains("barnevogne"),
                "{html}"
            );
            assert_eq!(html.contains("Intern udgave"), moderator, "{html}");
            assert_eq!(html.contains("Afventer godkendelse"), moderator);
        }

        // A draft the caller may not see, another type's ID and a made-up one: 404.
        for id in [
            global_id("Plan", w.draft),
            global_id("Action", w.harbour),
            global_id("Plan", Uuid::now_v7()),
        ] {
            let response = get(&app, &format!("/reports/consultation/{id}.csv")).await;
            assert_eq!(response.status(), 404, "{id}");
        }
        let response = get(
            &staff,
            &format!("/reports/consultation/{}", global_id("Plan", w.draft)),
        )
        .await;
        assert_eq!(response.status(), 200, "staff see the draft's (empty) summary");
        let response = get(&app, "/reports/consultation/ikke-et-id").await;
        assert_eq!(response.status(), 400);
        let _ = w.other;
    }
);

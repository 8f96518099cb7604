//! Engagement figures: a hand-computed fixture, counted for a community and for plans, with
//! rows outside the window and rows of a draft plan that the public must not see counted;
//! the window's defaults and bounds; `Action.completedOn` kept by the action mutations; and a
//! list of communities with their engagement in a fixed number of statements.
use lup_tests::{
    As, TestApp, both,
    fixture::{
        Fixture, MemberRole, OrganizationKind, PartnershipStatus, Party, PlanStatus, danish_today, date,
        global_id,
    },
};
use serde_json::{Value, json};
use uuid::Uuid;

const COMMUNITY: &str = "query($id: ID!, $w: EngagementWindowInput) { community(id: $id) {
    engagement(window: $w) { window { from to } total components { key label value weight points } } } }";
const PLAN: &str = "query($id: ID!, $w: EngagementWindowInput) { node(id: $id) { ... on Plan {
    engagement(window: $w) { window { from to } total components { key label value weight points } } } } }";

struct World {
    gjol: Uuid,
    adopted: Uuid,
    draft: Uuid,
    archived: Uuid,
}

/// Gjøl with an adopted plan (2024–2027), a draft (2025–2028) and an archived plan
/// (2016–2019), and Birkelse beside it. The window is 2025. Every row's part in the figures is
/// noted beside it: (A) counts for everyone, (D) only for those who see drafts, (-) for no one.
async fn world(app: &TestApp) -> World {
    let fx = Fixture::new(&app.db);
    let gjol = fx.community("gjoel", "Gjøl").await;
    let birkelse = fx.community("birkelse", "Birkelse").await;
    let adopted = fx.plan(gjol, "Gjøl 2027", PlanStatus::Adopted, 2024, 2027).await;
    let draft = fx.plan(gjol, "Gjøl 2028", PlanStatus::Draft, 2025, 2028).await;
    let archived = fx.plan(gjol, "Gjøl 2019", PlanStatus::Archived, 2016, 2019).await;
    let birkelse_plan = fx
        .plan(birkelse, "Birkelse 2027", PlanStatus::Adopted, 2024, 2027)
        .await;
    let org = |slug: &'static str, name: &'static str, kind| {
        let fx = &fx;
        async move { fx.organization(slug, name, kind, Some(gjol)).await }
    };
    let borgerforening = org(
        "gjoel-borgerforening",
        "Gjøl Borgerforening",
        OrganizationKind::Association,
    )
    .await;
    let baadelaug = org("gjoel-baadelaug", "Gjøl Bådelaug", OrganizationKind::Association).await;
    let idraet = org("gjoel-if", "Gjøl Idrætsforening", OrganizationKind::Association).await;
    let menighed = org(
        "gjoel-menighedsraad",
        "Gjøl Menighedsråd",
        OrganizationKind::Other,
    )
    .await;
    let fonden = fx
        .organization("nordfonden", "Nordfonden", OrganizationKind::Foundation, None)
        .await;
    let kultur = fx.department("kultur", "Kultur og Fritid").await;

    // Involvement: the adopted plan {borgerforening, bådelaug} (A), the draft {bådelaug,
    // idræt} (D: idræt is new), the archived plan {menighed} (-: its period is not 2025).
    fx.involvement(adopted, borgerforening).await;
    fx.involvement(adopted, baadelaug).await;
    fx.involvement(draft, baadelaug).await;
    fx.involvement(draft, idraet).await;
    fx.involvement(archived, menighed).await;

    // Events.
    let event = |plan: Option<Uuid>, title: &'static str, on, participants: i32, orgs: Vec<Uuid>| {
        let fx = &fx;
        async move {
            let e = fx.event(gjol, plan, title, on).await;
            fx.set("engagement_event", e, "participants", participants).await;
            for o in orgs {
                fx.event_organization(e, o).await;
            }
        }
    };
    event(
        Some(adopted),
        "Borgermøde om havnen",
        date(2025, 3, 10),
        40,
        vec![borgerforening, baadelaug],
    )
    .await; // A
    event(
        None,
        "Arbejdsdag ved stranden",
        date(2025, 6, 1),
        25,
        vec![baadelaug, fonden],
    )
    .await; // A
    event(
        Some(draft),
        "Workshop om den nye plan",
        date(2025, 9, 1),
        30,
        vec![idraet],
    )
    .await; // D
    event(Some(adopted), "Julemøde", date(2024, 12, 31), 100, vec![menighed]).await; // - (before)
    event(Some(adopted), "Nytårsmøde", date(2026, 1, 1), 50, vec![]).await; // - (after)
    let other = fx
        .event(birkelse, Some(birkelse_plan), "Birkelse-møde", date(2025, 4, 1))
        .await; // - (other community)
    fx.set("engagement_event", other, "participants", 70).await;

    // Actions, updates and completions.
    let havnebad = fx.action(adopted, "Havnebad").await;
    let shelter = fx.action(adopted, "Shelterplads").await;
    let bænke = fx.action(adopted, "Bænke ved kirken").await;
    let skolehave = fx.action(draft, "Skolehave").await;
    for (action, on) in [
        (shelter, date(2025, 5, 15)),
        (bænke, date(2024, 11, 30)),
        (skolehave, date(2025, 8, 1)),
    ] {
        fx.set("action", action, "status", "COMPLETED").await; // shelter A, bænke -, skolehave D
        fx.set("action", action, "completed_on", on).await;
    }
    fx.update(havnebad, "Tegninger klar", date(2025, 2, 1)).await; // A
    fx.update(havnebad, "Byggetilladelse givet", date(2025, 10, 1))
        .await; // A
    fx.update(havnebad, "Første møde", date(2024, 6, 1)).await; // -
    fx.update(skolehave, "Bede anlagt", date(2025, 7, 1)).await; // D
    fx.update(
        fx.action(birkelse_plan, "Birkelse-handling").await,
        "Noget",
        date(2025, 7, 1),
    )
    .await; // - (other community)

    // Partnerships: members get 40 volunteer hours and no money unless set.
    let member = |p: Uuid, party: Party, hours: Option<i32>, dkk: Option<i64>| {
        let fx = &fx;
        async move {
            let m = fx.member(p, party, MemberRole::Partner).await;
            fx.set("partnership_member", m, "volunteer_hours", hours).await;
            fx.set("partnership_member", m, "amount_dkk", dkk).await;
        }
    };
    // A: active around an action, 2025–2026.
    let p = fx
        .partnership(Some(havnebad), None, "Havnebad", PartnershipStatus::Active)
        .await;
    member(p, Party::Community(gjol), Some(40), None).await;
    member(p, Party::Organization(fonden), None, Some(50_000)).await;
    member(p, Party::Department(kultur), None, Some(100_000)).await; // a department: no co-funding
    // A: completed around the plan, overlapping the window's start.
    let p = fx
        .partnership(None, Some(adopted), "Sommerfest", PartnershipStatus::Completed)
        .await;
    fx.set("partnership", p, "starts_on", date(2024, 1, 1)).await;
    fx.set("partnership", p, "ends_on", date(2025, 2, 28)).await;
    member(p, Party::Organization(borgerforening), Some(120), Some(10_000)).await;
    // -: a proposal, a partnership that ended before the window, one that was ended.
    let p = fx
        .partnership(Some(havnebad), None, "Forslag", PartnershipStatus::Proposed)
        .await;
    member(p, Party::Organization(baadelaug), Some(500), None).await;
    let p = fx
        .partnership(Some(havnebad), None, "Forarbejde", PartnershipStatus::Active)
        .await;
    fx.set("partnership", p, "starts_on", date(2023, 1, 1)).await;
    fx.set("partnership", p, "ends_on", date(2024, 12, 31)).await;
    member(p, Party::Organization(idraet), Some(300), None).await;
    let p = fx
        .partnership(None, Some(adopted), "Opgivet", PartnershipStatus::Ended)
        .await;
    member(p, Party::Organization(menighed), Some(1000), None).await;
    // D: open-ended, around the draft's action, recorded in 2024 (without a start, it counts
    // from the day it was recorded).
    let p = fx
        .partnership(Some(skolehave), None, "Skolehave", PartnershipStatus::Active)
        .await;
    fx.set("partnership", p, "starts_on", None::<chrono::NaiveDate>)
        .await;
    fx.set(
        "partnership",
        p,
        "created_at",
        "2024-03-01T00:00:00Z"
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap(),
    )
    .await;
    fx.set("partnership", p, "ends_on", None::<chrono::NaiveDate>)
        .await;
    member(p, Party::Organization(idraet), Some(60), Some(20_000)).await;

    World {
        gjol,
        adopted,
        draft,
        archived,
    }
}

fn window_2025() -> Value {
    json!({ "from": "2025-01-01", "to": "2025-12-31" })
}

/// (key, value, weight, points) of each component, and the total.
fn figures(e: &Value) -> (Vec<(String, i64, f64, f64)>, f64) {
    let components = e["components"]
        .as_array()
        .unwrap_or_else(|| panic!("no components in {e}"))
        .iter()
        .map(|c| {
            (
                c["key"].as_str().unwrap().to_owned(),
                c["value"].as_i64().unwrap(),
                c["weight"].as_f64().unwrap(),
                c["points"].as_f64().unwrap(),
            )
        })
        .collect();
    (components, e["total"].as_f64().unwrap())
}

/// The expected figures: each component's value with the default weights.
fn expected(values: [i64; 9], total: f64) -> (Vec<(String, i64, f64, f64)>, f64) {
    let keys = [
        ("ASSOCIATIONS_INVOLVED", 3.0),
        ("EVENTS", 2.0),
        ("PARTICIPANTS", 0.1),
        ("EVENT_ORGANIZATIONS", 2.0),
        ("VOLUNTEER_HOURS", 0.02),
        ("CO_FUNDING_DKK", 0.0001),
        ("ACTION_UPDATES", 1.0),
        ("ACTIONS_COMPLETED", 5.0),
        ("CONSULTATION_RESPONSES", 0.5),
    ];
    let rows = keys
        .iter()
        .zip(values)
        .map(|((k, w), v)| ((*k).to_owned(), v, *w, ((v as f64 * w) * 100.0).round() / 100.0))
        .collect();
    (rows, total)
}

/// The message of the BAD_USER_INPUT error a community's engagement over `window` answers.
async fn refused_window(app: &TestApp, community: Uuid, window: &Value) -> String {
    let (code, message) = app
        .error(
            COMMUNITY,
            json!({ "id": global_id("Community", community), "w": window }),
        )
        .await;
    assert_eq!(code, "BAD_USER_INPUT", "{window}: {message}");
    message
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

async fn plan_engagement(caller: &TestApp, id: Uuid, window: Value) -> Value {
    caller
        .data(PLAN, json!({ "id": global_id("Plan", id), "w": window }))
        .await["node"]["engagement"]
        .clone()
}

both!(
    engagement_figures_match_the_hand_computed_fixture,
    |app: TestApp| async move {
        let w = world(&app).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;

        // The public: involvement {borgerforening, bådelaug}; events 40 + 25 participants with
        // {borgerforening, bådelaug, fonden}; 40 + 120 hours; 50,000 + 10,000 DKK; two updates;
        // one completion. 6 + 4 + 6.5 + 6 + 3.2 + 6 + 2 + 5 = 38.7.
        let public = community_engagement(&app, w.gjol, window_2025()).await;
        assert_eq!(
            public["window"],
            json!({ "from": "2025-01-01", "to": "2025-12-31" })
        );
        assert_eq!(
            figures(&public),
            expected([2, 2, 65, 3, 160, 60_000, 2, 1, 0], 38.7)
        );
        assert_eq!(
            public["components"][0]["label"],
            "Foreninger og organisationer med i planarbejdet"
        );

        // Staff and the community's editor also count the draft: idræt involved, the workshop
        // (30 participants, idræt), 60 hours and 20,000 DKK, a note and a completion.
        // 9 + 6 + 9.5 + 8 + 4.4 + 8 + 3 + 10 = 57.9.
        for caller in [&staff, &editor] {
            let all = community_engagement(caller, w.gjol, window_2025()).await;
            assert_eq!(figures(&all), expected([3, 3, 95, 4, 220, 80_000, 3, 2, 0], 57.9));
        }

        // The adopted plan: its own involvement, the meeting held for it, the partnerships
        // around it and its actions, its notes and completion; not the community's own
        // working day. 6 + 2 + 4 + 4 + 3.2 + 6 + 2 + 5 = 32.2, for everyone.
        for caller in [&app, &staff] {
            let plan = plan_engagement(caller, w.adopted, window_2025()).await;
            assert_eq!(
                figures(&plan),
                expected([2, 1, 40, 2, 160, 60_000, 2, 1, 0], 32.2)
            );
        }

        // The draft: staff see its figures (6 + 2 + 3 + 2 + 1.2 + 2 + 1 + 5 = 22.2); the
        // public does not see the plan at all.
        let draft = plan_engagement(&staff, w.draft, window_2025()).await;
        assert_eq!(
            figures(&draft),
            expected([2, 1, 30, 1, 60, 20_000, 1, 1, 0], 22.2)
        );
        let body = app
            .post(
                PLAN,
                json!({ "id": global_id("Plan", w.draft), "w": window_2025() }),
            )
            .await;
        assert!(body["data"]["node"].is_null(), "{body}");

        // A plan's involvement counts only when its period overlaps the window (or it is
        // being written), as at the community level: the archived plan's 2016–2019 does not,
        // its 2019 does.
        let archived = plan_engagement(&app, w.archived, window_2025()).await;
        assert_eq!(figures(&archived), expected([0, 0, 0, 0, 0, 0, 0, 0, 0], 0.0));
        let archived = plan_engagement(
            &app,
            w.archived,
            json!({ "from": "2019-01-01", "to": "2019-12-31" }),
        )
        .await;
        assert_eq!(figures(&archived), expected([1, 0, 0, 0, 0, 0, 0, 0, 0], 3.0));
        // The draft (2025–2028) counts its own involvement in any window: it is being written.
        let draft = plan_engagement(
            &staff,
            w.draft,
            json!({ "from": "2020-01-01", "to": "2020-12-31" }),
        )
        .await;
        assert_eq!(figures(&draft).0[0].1, 2);

        // Another window: 2024 has the Christmas meeting (100, menighed), the first note, the
        // benches completed, the partnership that ended in 2024 (300 hours) and the summer
        // party (120 hours, 10,000 DKK); the plan's period covers 2024 too.
        // 6 + 2 + 10 + 2 + 8.4 + 1 + 1 + 5 = 35.4.
        let y2024 =
            community_engagement(&app, w.gjol, json!({ "from": "2024-01-01", "to": "2024-12-31" })).await;
        assert_eq!(
            figures(&y2024),
            expected([2, 1, 100, 1, 420, 10_000, 1, 1, 0], 35.4)
        );

        // An open-ended partnership recorded today counts from today: not in 2025, in a
        // window that holds today.
        let today = danish_today();
        let up_to_today = json!({ "from": today.pred_opt().unwrap().to_string(), "to": today.to_string() });
        let hours = |e: &Value| figures(e).0[4].1;
        let before = hours(&plan_engagement(&app, w.adopted, up_to_today.clone()).await);
        let fx = Fixture::new(&app.db);
        let p = fx
            .partnership(None, Some(w.adopted), "Nyt laug", PartnershipStatus::Active)
            .await;
        fx.set("partnership", p, "starts_on", None::<chrono::NaiveDate>)
            .await;
        fx.set("partnership", p, "ends_on", None::<chrono::NaiveDate>)
            .await;
        let m = fx.member(p, Party::Community(w.gjol), MemberRole::Partner).await;
        fx.set("partnership_member", m, "volunteer_hours", 500).await;
        let plan = plan_engagement(&app, w.adopted, window_2025()).await;
        assert_eq!(
            figures(&plan),
            expected([2, 1, 40, 2, 160, 60_000, 2, 1, 0], 32.2),
            "2025 as before"
        );
        let after = hours(&plan_engagement(&app, w.adopted, up_to_today).await);
        assert_eq!(after - before, 500);
        // The partnerships' `year` filter counts it alike.
        let titles = |year: i32| {
            let app = &app;
            async move {
                let d = app
                    .data(
                        "query($y: Int) { partnerships(first: 50, filter: { year: $y }) { nodes { title } } }",
                        json!({ "y": year }),
                    )
                    .await;
                d["partnerships"]["nodes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|n| n["title"].as_str().unwrap().to_owned())
                    .collect::<Vec<_>>()
            }
        };
        assert!(!titles(2025).await.contains(&"Nyt laug".to_owned()));
        assert!(
            titles(chrono::Datelike::year(&today))
                .await
                .contains(&"Nyt laug".to_owned())
        );
    }
);

both!(the_window_has_defaults_and_bounds, |app: TestApp| async move {
    let w = world(&app).await;
    let today = danish_today();
    let year_ago = today
        .checked_sub_months(chrono::Months::new(12))
        .unwrap()
        .succ_opt()
        .unwrap();
    let e = community_engagement(&app, w.gjol, Value::Null).await;
    assert_eq!(
        e["window"],
        json!({ "from": year_ago.to_string(), "to": today.to_string() })
    );
    let e = community_engagement(&app, w.gjol, json!({ "to": "2025-12-31" })).await;
    assert_eq!(e["window"]["from"], "2025-01-01");
    let e = community_engagement(&app, w.gjol, json!({ "from": "2021-01-01", "to": "2025-12-31" })).await;
    assert_eq!(e["window"]["from"], "2021-01-01", "five years are allowed");

    for (window, words) in [
        (
            json!({ "from": "2025-02-01", "to": "2025-01-31" }),
            "must not be after",
        ),
        (
            json!({ "from": "2020-12-31", "to": "2025-12-31" }),
            "at most 5 years",
        ),
        (
            json!({ "from": "1800-01-01", "to": "1800-02-01" }),
            "between the years 1900 and 2200",
        ),
    ] {
        let message = refused_window(&app, w.gjol, &window).await;
        assert!(message.contains(words), "{window}: {message}");
    }
    // The message names the date the client sent, or says which default is out of range.
    for (window, said) in [
        (
            json!({ "to": "1800-06-01" }),
            "`window.to` must be between the years 1900 and 2200, got 1800-06-01",
        ),
        (
            json!({ "from": "1800-06-01", "to": "2025-01-01" }),
            "`window.from` must be between the years 1900 and 2200, got 1800-06-01",
        ),
        (
            json!({ "from": "2025-01-01", "to": "2201-01-01" }),
            "`window.to` must be between the years 1900 and 2200, got 2201-01-01",
        ),
        (
            json!({ "to": "1900-06-01" }),
            "`window.from` was left out, and its default (12 months before `window.to`) is 1899-06-02, before the year 1900: give a `window.from`",
        ),
    ] {
        assert_eq!(refused_window(&app, w.gjol, &window).await, said, "{window}");
    }
    let e = community_engagement(&app, w.gjol, json!({ "from": "1900-01-01", "to": "1900-06-01" })).await;
    assert_eq!(e["window"]["from"], "1900-01-01", "the first year is in range");
    let (code, _) = app
        .error(
            COMMUNITY,
            json!({ "id": global_id("Community", w.gjol), "w": { "from": "2025-13-01" } }),
        )
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
});

const UPDATE: &str = "mutation($i: UpdateActionInput!) { updateAction(input: $i) {
    action { status completedOn version } userErrors { field code message } } }";

both!(completing_an_action_records_the_date, |app: TestApp| async move {
    let fx = Fixture::new(&app.db);
    let gjol = fx.community("gjoel", "Gjøl").await;
    let plan = fx.plan(gjol, "Gjøl 2027", PlanStatus::Adopted, 2024, 2027).await;
    let action = fx.action(plan, "Havnebad").await;
    let staff = app.signed_in(As::Staff, &[], None).await;
    let id = global_id("Action", action);
    let today = danish_today().to_string();
    let update = |input: Value| {
        let staff = &staff;
        async move { staff.data(UPDATE, json!({ "i": input })).await["updateAction"].clone() }
    };

    let p = update(json!({ "id": id, "version": 1, "status": "COMPLETED" })).await;
    assert_eq!(p["action"]["completedOn"], json!(today));
    // Staying completed keeps the date; a date can be given for a completed action.
    let p = update(json!({ "id": id, "version": 2, "title": "Havnebad ved havnen" })).await;
    assert_eq!(p["action"]["completedOn"], json!(today));
    let p = update(json!({ "id": id, "version": 3, "completedOn": "2025-12-20" })).await;
    assert_eq!(p["action"]["completedOn"], "2025-12-20");
    // Reopened, the date goes.
    let p = update(json!({ "id": id, "version": 4, "status": "IN_PROGRESS" })).await;
    assert_eq!(p["action"]["completedOn"], Value::Null);
    assert_eq!(p["action"]["version"], 5);

    // Refused: a date for an open action, a date in the future.
    let p = update(json!({ "id": id, "version": 5, "completedOn": "2025-12-20" })).await;
    assert_eq!(p["userErrors"][0]["field"], json!(["completedOn"]), "{p}");
    assert_eq!(p["userErrors"][0]["code"], "INVALID");
    let p =
        update(json!({ "id": id, "version": 5, "status": "COMPLETED", "completedOn": "2999-01-01" })).await;
    assert_eq!(p["userErrors"][0]["code"], "OUT_OF_RANGE", "{p}");
    let status = staff
        .data(
            "query($id: ID!) { node(id: $id) { ... on Action { status completedOn version } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        status["node"],
        json!({ "status": "IN_PROGRESS", "completedOn": null, "version": 5 })
    );

    // Created completed, with or without a date.
    let create = "mutation($i: CreateActionInput!) { createAction(input: $i) { action { completedOn } userErrors { field code } } }";
    let p = staff
            .data(create, json!({ "i": { "planId": global_id("Plan", plan), "title": "Bænke", "horizon": "HERE_AND_NOW", "status": "COMPLETED" } }))
            .await;
    assert_eq!(p["createAction"]["action"]["completedOn"], json!(today));
    let p = staff
            .data(create, json!({ "i": { "planId": global_id("Plan", plan), "title": "Borde", "horizon": "HERE_AND_NOW", "status": "COMPLETED", "completedOn": "2025-06-01" } }))
            .await;
    assert_eq!(p["createAction"]["action"]["completedOn"], "2025-06-01");

    // The completion counts in its window.
    let e = community_engagement(&app, gjol, window_2025()).await;
    let completed = &e["components"][7];
    assert_eq!(
        (completed["key"].as_str(), completed["value"].as_i64()),
        (Some("ACTIONS_COMPLETED"), Some(1))
    );
});

const LIST: &str = "{ communities(first: 50) { edges { node { name
    engagement(window: { from: \"2025-01-01\", to: \"2025-12-31\" }) { total components { value } }
    plans(first: 5) { nodes { engagement { total } } } } } } }";

both!(
    engagement_of_many_communities_takes_a_fixed_number_of_statements,
    |app: TestApp| async move {
        let fx = Fixture::new(&app.db);
        fx.programme(2, 2).await;
        let count = |app: &TestApp| {
            let app = app.clone_handle();
            async move {
                let before = app.sql_statements();
                let data = app.data(LIST, json!({})).await;
                (app.sql_statements() - before, data)
            }
        };
        let (small, data) = count(&app).await;
        let first = &data["communities"]["edges"][0]["node"]["engagement"];
        // Two adopted actions with a note each (2025-06-01) and a partnership of three
        // members with 40 hours each: 2 × 1 + 240 × 0.02 = 6.8 (the draft is not public).
        assert_eq!(first["total"], 6.8, "{first}");

        fx.programme_more(6, 5).await;
        let (large, data) = count(&app).await;
        assert_eq!(data["communities"]["edges"].as_array().unwrap().len(), 8);
        assert_eq!(
            small, large,
            "statements: {small} for 2 communities, {large} for 8"
        );
        assert!(large <= 20, "{large} statements");
    }
);

both!(
    huge_stored_amounts_never_break_the_figures,
    |app: TestApp| async move {
        // Written straight into the database (the mutations refuse such amounts): two members
        // of an active partnership whose money together overflows a 64-bit integer.
        let fx = Fixture::new(&app.db);
        let gjol = fx.community("gjoel", "Gjøl").await;
        let plan = fx.plan(gjol, "Gjøl 2027", PlanStatus::Adopted, 2024, 2027).await;
        let action = fx.action(plan, "Havnebad").await;
        let fonden = fx
            .organization("nordfonden", "Nordfonden", OrganizationKind::Foundation, None)
            .await;
        let p = fx
            .partnership(Some(action), None, "Havnebad", PartnershipStatus::Active)
            .await;
        for party in [Party::Community(gjol), Party::Organization(fonden)] {
            let m = fx.member(p, party, MemberRole::Partner).await;
            fx.set(
                "partnership_member",
                m,
                "amount_dkk",
                9_000_000_000_000_000_000_i64,
            )
            .await;
            fx.set("partnership_member", m, "volunteer_hours", i32::MAX).await;
        }
        let e = community_engagement(&app, gjol, window_2025()).await;
        let (rows, total) = figures(&e);
        assert_eq!(rows[4].1, 2 * i64::from(i32::MAX), "hours: {e}");
        assert_eq!(rows[5].1, i64::MAX, "money saturates: {e}");
        assert!(total.is_finite() && total > 9e14, "{e}");
        let e = plan_engagement(&app, plan, window_2025()).await;
        assert_eq!(figures(&e).0[5].1, i64::MAX, "{e}");
        // Priorities over the same figures.
        let staff = app.signed_in(As::Staff, &[], None).await;
        let d = staff
            .data(
                "{ priorities(year: 2026) { ranking(first: 5) { nodes { score engagementTotal } } } }",
                json!({}),
            )
            .await;
        let node = &d["priorities"]["ranking"]["nodes"][0];
        assert!(node["engagementTotal"].as_f64().is_some_and(|t| t > 9e14), "{d}");
    }
);

both!(
    engagement_windows_per_request_are_bounded,
    |app: TestApp| async move {
        let fx = Fixture::new(&app.db);
        fx.programme(2, 2).await;
        let query = |windows: usize| {
            let fields: String = (0..windows)
                .map(|i| {
                    format!(
                        "e{i}: engagement(window: {{ from: \"2025-01-{:02}\", to: \"2025-12-31\" }}) {{ total }} ",
                        i + 1
                    )
                })
                .collect();
            format!(
                "{{ communities(first: 100) {{ nodes {{ {fields} plans(first: 5) {{ nodes {{ engagement {{ total }} }} }} }} }} }}"
            )
        };
        // Five distinct windows (four given and the default) are allowed…
        let d = app.data(&query(4), json!({})).await;
        assert!(d["communities"]["nodes"][0]["e3"]["total"].is_number(), "{d}");
        // …the default however it is written (left out, null, empty, its fields null)…
        let defaults = query(4).replacen(
            "{ nodes {",
            "{ nodes { a: engagement(window: null) { total } b: engagement(window: {}) { total } \
             c: engagement(window: { from: null, to: null }) { total }",
            1,
        );
        let d = app.data(&defaults, json!({})).await;
        let first = &d["communities"]["nodes"][0];
        assert!(first["a"]["total"].is_number(), "{d}");
        assert_eq!(first["a"], first["b"]);
        assert_eq!(first["a"], first["c"]);
        // …a sixth is refused before any SQL runs, however the windows are aliased.
        let before = app.sql_statements();
        let (code, message) = app.error(&query(5), json!({})).await;
        assert_eq!(code, "BAD_USER_INPUT", "{message}");
        assert!(message.contains("more than 5 different windows"), "{message}");
        let (code, _) = app.error(&query(1000), json!({})).await;
        assert_eq!(code, "BAD_USER_INPUT");
        assert_eq!(app.sql_statements(), before, "no SQL for a refused query");
        // The same window repeated counts once (ten times: more of one field with the same
        // arguments is refused as a repeat, `bounds.rs`).
        let same: String = (0..10)
            .map(|i| format!("e{i}: engagement(window: {{ to: \"2025-12-31\" }}) {{ total }} "))
            .collect();
        let d = app
            .data(
                &format!("{{ communities(first: 10) {{ nodes {{ {same} }} }} }}"),
                json!({}),
            )
            .await;
        assert!(d["communities"]["nodes"][0]["e9"]["total"].is_number(), "{d}");
        // Each engagement is charged as a page per row it is asked of: four windows on a
        // hundred communities, and five plans of each with theirs, are 1 + 400 pages, 100
        // pages of plans and 500 of their engagement: 10 points (it was 1).
        let body = app.post(&query(4), json!({})).await;
        assert_eq!(body["extensions"]["cost"]["requestedQueryCost"], 10, "{body}");
        let body = app
            .post("{ communities(first: 100) { nodes { name } } }", json!({}))
            .await;
        assert_eq!(body["extensions"]["cost"]["requestedQueryCost"], 1, "{body}");
        // A review's figures keep their engagement stored: 1 + 10 pages, not 1,000 more.
        let body = app
            .post(
                "{ annualReviews(first: 10) { nodes { entries(first: 100) { nodes { figures { engagement { total } } } } } } }",
                json!({}),
            )
            .await;
        assert_eq!(body["extensions"]["cost"]["requestedQueryCost"], 1, "{body}");
    }
);

both!(
    completion_dates_follow_status_changes_only,
    |app: TestApp| async move {
        let fx = Fixture::new(&app.db);
        let gjol = fx.community("gjoel", "Gjøl").await;
        let plan = fx.plan(gjol, "Gjøl 2027", PlanStatus::Adopted, 2024, 2027).await;
        // Completed before completion dates were kept: no date.
        let action = fx.action(plan, "Havnebad").await;
        fx.set("action", action, "status", "COMPLETED").await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let id = global_id("Action", action);
        let update = |input: Value| {
            let staff = &staff;
            async move { staff.data(UPDATE, json!({ "i": input })).await["updateAction"].clone() }
        };
        // An unrelated edit, or COMPLETED sent again, invents no completion.
        let p = update(json!({ "id": id, "version": 1, "title": "Havnebad ved molen" })).await;
        assert_eq!(p["action"]["completedOn"], Value::Null, "{p}");
        let p = update(json!({ "id": id, "version": 2, "status": "COMPLETED" })).await;
        assert_eq!(p["action"]["completedOn"], Value::Null, "{p}");
        assert_eq!(p["action"]["version"], 2, "nothing changed: {p}");
        // A date can be given; dropping the action clears it.
        let p = update(json!({ "id": id, "version": 2, "completedOn": "2025-05-01" })).await;
        assert_eq!(p["action"]["completedOn"], "2025-05-01", "{p}");
        let p = update(json!({ "id": id, "version": 3, "status": "DROPPED" })).await;
        assert_eq!(
            (&p["action"]["status"], &p["action"]["completedOn"]),
            (&json!("DROPPED"), &Value::Null),
            "{p}"
        );
        // Completed again: today (in Denmark).
        let p = update(json!({ "id": id, "version": 4, "status": "COMPLETED" })).await;
        assert_eq!(p["action"]["completedOn"], danish_today().to_string(), "{p}");
    }
);

both!(
    the_completion_date_backfill_prefers_notes_and_due_dates,
    |app: TestApp| async move {
        use chrono::{TimeZone, Utc};
        let fx = Fixture::new(&app.db);
        let gjol = fx.community("gjoel", "Gjøl").await;
        let plan = fx.plan(gjol, "Gjøl 2027", PlanStatus::Adopted, 2024, 2027).await;
        let changed = Utc.with_ymd_and_hms(2025, 6, 30, 12, 0, 0).unwrap();
        // Each action as the engagement migration left it: completed, dated the day it was
        // last changed (30 June), unless noted.
        let action = |title: &'static str, status: &'static str, completed_on: Option<chrono::NaiveDate>| {
            let fx = &fx;
            async move {
                let a = fx.action(plan, title).await;
                fx.set("action", a, "status", status).await;
                fx.set("action", a, "updated_at", changed).await;
                fx.set("action", a, "completed_on", completed_on).await;
                a
            }
        };
        let note = |a: Uuid, on: chrono::NaiveDate, progress: i32| {
            let fx = &fx;
            async move {
                let u = fx.update(a, "Note", on).await;
                fx.set("action_update", u, "progress", progress).await;
            }
        };
        let guess = Some(date(2025, 6, 30));
        // The latest 100 % note up to that day.
        let noted = action("Noteret", "COMPLETED", guess).await;
        note(noted, date(2025, 5, 10), 100).await;
        note(noted, date(2025, 5, 20), 100).await;
        note(noted, date(2025, 6, 1), 60).await;
        note(noted, date(2025, 7, 1), 100).await;
        // No such note: the due date, if it had passed.
        let due = action("Forfalden", "COMPLETED", guess).await;
        fx.set("action", due, "due_on", date(2025, 4, 1)).await;
        let later = action("Senere frist", "COMPLETED", guess).await;
        fx.set("action", later, "due_on", date(2025, 8, 1)).await;
        // A date recorded on completion, a missing one, and an open action stay as they are
        // (the missing one gets the best guess).
        let recorded = action("Registreret", "COMPLETED", Some(date(2025, 1, 15))).await;
        fx.set("action", recorded, "due_on", date(2024, 12, 1)).await;
        let missing = action("Uden dato", "COMPLETED", None).await;
        let open = action("Åben", "IN_PROGRESS", None).await;
        note(open, date(2025, 5, 1), 100).await;

        migration::backfill_completed_on(&app.db).await.expect("backfill");
        let completed_on = |a: Uuid| {
            let app = &app;
            async move {
                entity::action::Entity::find_by_id(a)
                    .one(&app.db)
                    .await
                    .expect("read")
                    .expect("action")
                    .completed_on
            }
        };
        use sea_orm::EntityTrait;
        assert_eq!(completed_on(noted).await, Some(date(2025, 5, 20)));
        assert_eq!(completed_on(due).await, Some(date(2025, 4, 1)));
        assert_eq!(completed_on(later).await, guess);
        assert_eq!(completed_on(recorded).await, Some(date(2025, 1, 15)));
        assert_eq!(completed_on(missing).await, guess);
        assert_eq!(completed_on(open).await, None);
    }
);

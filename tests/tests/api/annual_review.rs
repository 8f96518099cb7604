//! The annual review: staff create a draft (a snapshot of every community's figures of a
//! calendar year, as the public sees them), refresh it, write the direction, focus and
//! remarks, and publish it. A published review never changes, whatever happens to the live
//! data; a draft is seen by staff only, by every path.
use entity::{annual_review, annual_review_entry};
use lup_tests::{
    As, TestApp, both,
    fixture::{
        ActionStatus, Fixture, Horizon, MemberRole, OrganizationKind, PartnershipStatus, Party, PlanStatus,
        date, global_id,
    },
};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use uuid::Uuid;

pub const FIGURES: &str = "fragment F on AnnualFigures { year
  plans { title periodFrom periodTo plan { title } }
  actions { total byStatus { status statusLabel count } byHorizon { horizon count } longTermShare completedInYear averageProgress }
  engagement { window { from to } components { key label value weight points } total }
  partnerships { active members }
  contributions { volunteerHours moneyDkk municipalDkk }
  ideaExchanges { initiated participated }
  consultation { responses replied } }";

pub const REVIEW: &str = "fragment R on AnnualReview { id year status statusLabel direction wantedLongTermShare version publishedAt snapshotTakenAt
  focusCommunities { name } focusThemes { name }
  entries(first: 50) { totalCount nodes { id year communityName remarks version community { slug } figures { ...F } } }
  totals { ...F } }";

pub fn q(body: &str) -> String {
    format!("{body}\n{REVIEW}\n{FIGURES}")
}

pub const CREATE: &str = "mutation($i: CreateAnnualReviewInput!) { createAnnualReview(input: $i) { annualReview { ...R } userErrors { field code message } } }";
pub const REFRESH: &str = "mutation($i: RefreshAnnualReviewInput!) { refreshAnnualReview(input: $i) { annualReview { ...R } userErrors { field code message } } }";
pub const UPDATE: &str = "mutation($i: UpdateAnnualReviewInput!) { updateAnnualReview(input: $i) { annualReview { ...R } userErrors { field code message } } }";
pub const ENTRY: &str = "mutation($i: UpdateAnnualReviewEntryInput!) { updateAnnualReviewEntry(input: $i) { annualReviewEntry { id remarks version } userErrors { field code message } } }";
pub const PUBLISH: &str = "mutation($i: PublishAnnualReviewInput!) { publishAnnualReview(input: $i) { annualReview { ...R } userErrors { field code message } } }";
pub const DELETE: &str = "mutation($i: DeleteAnnualReviewInput!) { deleteAnnualReview(input: $i) { deletedId userErrors { field code message } } }";
pub const BY_YEAR: &str = "query($y: Int!) { annualReview(year: $y) { ...R } }";

/// The communities and what they hold in 2025.
pub struct World {
    pub gjol: Uuid,
    pub birkelse: Uuid,
    pub attrup: Uuid,
    pub gjol_plan: Uuid,
    pub gjol_draft: Uuid,
    pub natur: Uuid,
    pub forening: Uuid,
    pub actions: Vec<Uuid>,
}

/// Gjøl: an adopted plan 2024–2027 with four actions (one each planned, in progress,
/// completed in 2025, dropped; two long-term), an active partnership of three members, an
/// event, and a draft plan whose action, partnership and event must never count. Birkelse: an
/// adopted plan without actions, and a part in Gjøl's idea exchange. Attrup: nothing.
pub async fn world(app: &TestApp) -> World {
    let fx = Fixture::new(&app.db);
    let gjol = fx.community("gjoel", "Gjøl").await;
    let birkelse = fx.community("birkelse", "Birkelse").await;
    let attrup = fx.community("attrup", "Attrup").await;
    let natur = fx.theme("natur-og-friluftsliv", "Natur og friluftsliv").await;
    let teknik = fx.department("teknik", "Teknik og Miljø").await;
    let forening = fx
        .organization(
            "gjoel-borgerforening",
            "Gjøl Borgerforening",
            OrganizationKind::Association,
            Some(gjol),
        )
        .await;
    let gjol_plan = fx.plan(gjol, "Gjøl 2027", PlanStatus::Adopted, 2024, 2027).await;
    let gjol_draft = fx.plan(gjol, "Gjøl 2030", PlanStatus::Draft, 2025, 2030).await;
    fx.plan(birkelse, "Birkelse 2028", PlanStatus::Adopted, 2025, 2028)
        .await;
    fx.involvement(gjol_plan, forening).await;
    let mut actions = Vec::new();
    for (title, horizon, status, progress) in [
        ("Shelterplads", Horizon::LongTerm, ActionStatus::Planned, 0),
        ("Havnefest", Horizon::HereAndNow, ActionStatus::InProgress, 50),
        (
            "Bænke ved fjorden",
            Horizon::HereAndNow,
            ActionStatus::Completed,
            100,
        ),
        ("Ny hal", Horizon::LongTerm, ActionStatus::Dropped, 10),
    ] {
        let mut m = fx.action_model(gjol_plan, title);
        m.horizon = sea_orm::Set(horizon);
        m.status = sea_orm::Set(status);
        m.progress = sea_orm::Set(progress);
        actions.push(fx.insert_action(m).await);
    }
    fx.set("action", actions[2], "completed_on", date(2025, 6, 1))
        .await;
    let p = fx
        .partnership(
            Some(actions[1]),
            None,
            "Havnefestens venner",
            PartnershipStatus::Active,
        )
        .await;
    fx.member(p, Party::Community(gjol), MemberRole::Lead).await;
    let m = fx
        .member(p, Party::Organization(forening), MemberRole::Partner)
        .await;
    fx.set("partnership_member", m, "amount_dkk", 25_000i64).await;
    let m = fx.member(p, Party::Department(teknik), MemberRole::Advisor).await;
    fx.set("partnership_member", m, "amount_dkk", 10_000i64).await;
    fx.event(gjol, Some(gjol_plan), "Borgermøde om havnen", date(2025, 3, 10))
        .await;
    // The draft plan: never counted.
    let hidden = fx.action(gjol_draft, "Hemmelig handling").await;
    let hp = fx
        .partnership(
            Some(hidden),
            None,
            "Hemmeligt partnerskab",
            PartnershipStatus::Active,
        )
        .await;
    fx.member(hp, Party::Organization(forening), MemberRole::Lead)
        .await;
    fx.event(gjol, Some(gjol_draft), "Lukket møde", date(2025, 4, 1))
        .await;
    let idea = fx.idea(Some(gjol), "Fællesspisning").await;
    fx.exchange(Some(idea), gjol, &[birkelse], "Studietur til Birkelse", &[])
        .await;
    World {
        gjol,
        birkelse,
        attrup,
        gjol_plan,
        gjol_draft,
        natur,
        forening,
        actions,
    }
}

pub fn errors(payload: &Value) -> Vec<(Value, String)> {
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

/// Creates the review of `year` as `staff`; returns it.
pub async fn create(staff: &TestApp, year: i32) -> Value {
    let p = staff.data(&q(CREATE), json!({ "i": { "year": year } })).await["createAnnualReview"].clone();
    assert_eq!(p["userErrors"], json!([]), "{p:#}");
    p["annualReview"].clone()
}

pub async fn publish(staff: &TestApp, review: &Value) -> Value {
    let p = staff
        .data(
            &q(PUBLISH),
            json!({ "i": { "id": review["id"], "version": review["version"] } }),
        )
        .await["publishAnnualReview"]
        .clone();
    assert_eq!(p["userErrors"], json!([]), "{p:#}");
    p["annualReview"].clone()
}

pub fn entry<'a>(review: &'a Value, slug: &str) -> &'a Value {
    review["entries"]["nodes"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["community"]["slug"] == slug)
        .unwrap_or_else(|| panic!("no entry of {slug} in {review:#}"))
}

fn count(figures: &Value, list: &str, key: &str, value: &str) -> i64 {
    figures["actions"][list]
        .as_array()
        .expect(list)
        .iter()
        .find(|c| c[key] == value)
        .unwrap_or_else(|| panic!("no {value} in {figures:#}"))["count"]
        .as_i64()
        .expect("count")
}

/// The live engagement of a community in 2025, as the public sees it.
async fn live_engagement(app: &TestApp, slug: &str) -> Value {
    app.clone_handle()
        .signed_in(As::Anonymous, &[], None)
        .await
        .data(
            "query($s: String!) { community(slug: $s) { engagement(window: { from: \"2025-01-01\", to: \"2025-12-31\" }) {
                window { from to } components { key label value weight points } total } } }",
            json!({ "s": slug }),
        )
        .await["community"]["engagement"]
        .clone()
}

async fn reviews_in_db(app: &TestApp) -> (u64, u64) {
    (
        annual_review::Entity::find().count(&app.db).await.expect("count"),
        annual_review_entry::Entity::find()
            .count(&app.db)
            .await
            .expect("count"),
    )
}

both!(
    staff_create_refresh_update_publish_and_delete_reviews,
    |app: TestApp| async move {
        let w = world(&app).await;
        let staff = app.signed_in(As::Staff, &[], None).await;

        let r = create(&staff, 2025).await;
        assert_eq!(
            (
                r["year"].as_i64(),
                r["status"].as_str(),
                r["statusLabel"].as_str(),
                r["version"].as_i64()
            ),
            (Some(2025), Some("DRAFT"), Some("Kladde"), Some(1))
        );
        assert!(r["publishedAt"].is_null());
        assert_eq!(r["entries"]["totalCount"], 3, "one entry per community");
        let names: Vec<&str> = r["entries"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["communityName"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["Attrup", "Birkelse", "Gjøl"], "by community name");

        // Gjøl's figures, by hand: only the adopted plan and what hangs under it count.
        let g = &entry(&r, "gjoel")["figures"];
        assert_eq!(g["year"], 2025);
        assert_eq!(
            g["plans"],
            json!([{ "title": "Gjøl 2027", "periodFrom": 2024, "periodTo": 2027, "plan": { "title": "Gjøl 2027" } }])
        );
        assert_eq!(g["actions"]["total"], 4);
        for (status, n) in [
            ("IDEA", 0),
            ("PLANNED", 1),
            ("IN_PROGRESS", 1),
            ("COMPLETED", 1),
            ("PAUSED", 0),
            ("DROPPED", 1),
        ] {
            assert_eq!(count(g, "byStatus", "status", status), n, "{status}");
        }
        // By horizon: the actions not dropped (the dropped hall was long-term).
        assert_eq!(count(g, "byHorizon", "horizon", "LONG_TERM"), 1);
        assert_eq!(count(g, "byHorizon", "horizon", "HERE_AND_NOW"), 2);
        assert_eq!(g["actions"]["longTermShare"], 0.3333);
        assert_eq!(g["actions"]["completedInYear"], 1);
        assert_eq!(
            g["actions"]["averageProgress"], 50.0,
            "(0 + 50 + 100) / 3, the dropped one left out"
        );
        assert_eq!(g["partnerships"], json!({ "active": 1, "members": 3 }));
        assert_eq!(
            g["contributions"],
            json!({ "volunteerHours": 120, "moneyDkk": 25000, "municipalDkk": 10000 })
        );
        assert_eq!(g["ideaExchanges"], json!({ "initiated": 1, "participated": 0 }));
        let b = &entry(&r, "birkelse")["figures"];
        assert_eq!(b["actions"]["total"], 0);
        assert!(b["actions"]["averageProgress"].is_null());
        assert!(b["actions"]["longTermShare"].is_null());
        assert_eq!(b["ideaExchanges"], json!({ "initiated": 0, "participated": 1 }));
        assert_eq!(entry(&r, "attrup")["figures"]["plans"], json!([]));

        // Engagement: the same figures as the live `engagement` of the calendar year, as the
        // public sees it; completed actions come from there.
        for slug in ["gjoel", "birkelse", "attrup"] {
            let e = &entry(&r, slug)["figures"]["engagement"];
            assert_eq!(*e, live_engagement(&app, slug).await, "{slug}");
            assert_eq!(e["window"], json!({ "from": "2025-01-01", "to": "2025-12-31" }));
            let completed = e["components"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["key"] == "ACTIONS_COMPLETED")
                .expect("ACTIONS_COMPLETED")["value"]
                .clone();
            assert_eq!(
                entry(&r, slug)["figures"]["actions"]["completedInYear"],
                completed
            );
        }
        // The totals add the communities up.
        assert_eq!(r["totals"]["actions"]["total"], 4);
        assert_eq!(
            r["totals"]["ideaExchanges"],
            json!({ "initiated": 1, "participated": 1 })
        );
        assert_eq!(r["totals"]["contributions"]["moneyDkk"], 25000);

        // The direction, the focus and the wanted share.
        let p = staff
            .data(
                &q(UPDATE),
                json!({ "i": {
                    "id": r["id"], "version": 1,
                    "direction": "Flere langsigtede indsatser i de mindste byer.",
                    "wantedLongTermShare": 60,
                    "focusCommunityIds": [global_id("Community", w.gjol), global_id("Community", w.attrup)],
                    "focusThemeIds": [global_id("Theme", w.natur)],
                } }),
            )
            .await["updateAnnualReview"]
            .clone();
        assert_eq!(p["userErrors"], json!([]), "{p:#}");
        let r = p["annualReview"].clone();
        assert_eq!(r["version"], 2);
        assert_eq!(r["direction"], "Flere langsigtede indsatser i de mindste byer.");
        assert_eq!(r["wantedLongTermShare"], 60);
        assert_eq!(
            r["focusCommunities"],
            json!([{ "name": "Attrup" }, { "name": "Gjøl" }])
        );
        assert_eq!(r["focusThemes"], json!([{ "name": "Natur og friluftsliv" }]));
        // Null clears the share; fields left out stay.
        let p = staff
            .data(
                &q(UPDATE),
                json!({ "i": { "id": r["id"], "version": 2, "wantedLongTermShare": null, "focusThemeIds": [] } }),
            )
            .await["updateAnnualReview"]
            .clone();
        let r = p["annualReview"].clone();
        assert!(r["wantedLongTermShare"].is_null(), "{p:#}");
        assert_eq!(r["focusThemes"], json!([]));
        assert_eq!(r["focusCommunities"].as_array().unwrap().len(), 2);
        assert_eq!(r["direction"], "Flere langsigtede indsatser i de mindste byer.");

        // Remarks per community.
        let g = entry(&r, "gjoel").clone();
        let p = staff
            .data(
                ENTRY,
                json!({ "i": { "id": g["id"], "version": g["version"], "remarks": "  Et godt år for havnen.  " } }),
            )
            .await["updateAnnualReviewEntry"]
            .clone();
        assert_eq!(p["userErrors"], json!([]), "{p:#}");
        assert_eq!(p["annualReviewEntry"]["remarks"], "Et godt år for havnen.");
        assert_eq!(p["annualReviewEntry"]["version"], 2);

        // Refresh: new live data comes in, the remarks stay.
        let fx = Fixture::new(&app.db);
        fx.action(w.gjol_plan, "Legeplads").await;
        let p = staff
            .data(
                &q(REFRESH),
                json!({ "i": { "id": r["id"], "version": r["version"] } }),
            )
            .await["refreshAnnualReview"]
            .clone();
        assert_eq!(p["userErrors"], json!([]), "{p:#}");
        let r = p["annualReview"].clone();
        let g = entry(&r, "gjoel");
        assert_eq!(g["figures"]["actions"]["total"], 5);
        assert_eq!(g["remarks"], "Et godt år for havnen.");
        assert_eq!(g["version"], 3, "new figures are a new version of the entry");
        assert_eq!(
            entry(&r, "attrup")["version"],
            1,
            "unchanged figures keep their version"
        );

        // Publish.
        let r = publish(&staff, &r).await;
        assert_eq!(
            (r["status"].as_str(), r["statusLabel"].as_str()),
            (Some("PUBLISHED"), Some("Offentliggjort"))
        );
        assert!(r["publishedAt"].is_string());

        // Every step is in the audit log.
        let log = staff
            .data(
                "query($id: ID!) { auditLog(filter: { entityId: $id }) { nodes { operation } } }",
                json!({ "id": r["id"] }),
            )
            .await;
        let ops: Vec<&str> = log["auditLog"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["operation"].as_str().unwrap())
            .collect();
        assert!(
            ops.contains(&"CREATE") && ops.iter().filter(|o| **o == "UPDATE").count() >= 4,
            "{ops:?}"
        );

        // A draft can be deleted, with its entries.
        let before = reviews_in_db(&app).await;
        let d = create(&staff, 2024).await;
        assert_eq!(reviews_in_db(&app).await, (before.0 + 1, before.1 + 3));
        let p = staff
            .data(DELETE, json!({ "i": { "id": d["id"], "version": d["version"] } }))
            .await["deleteAnnualReview"]
            .clone();
        assert_eq!(p["deletedId"], d["id"], "{p:#}");
        assert_eq!(reviews_in_db(&app).await, before);
        let gone = staff.data(&q(BY_YEAR), json!({ "y": 2024 })).await;
        assert!(gone["annualReview"].is_null());

        // A community or theme a review names cannot be deleted: a clear user error.
        let p = staff
            .data(
                "mutation($i: DeleteCommunityInput!) { deleteCommunity(input: $i) { deletedId userErrors { field code message } } }",
                json!({ "i": { "id": global_id("Community", w.attrup), "version": 1 } }),
            )
            .await["deleteCommunity"]
            .clone();
        assert_eq!(errors(&p), vec![(json!(["id"]), "IN_USE".to_owned())], "{p:#}");
        assert!(
            p["userErrors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("annual review")
        );
        let _ = (w.birkelse, w.gjol_draft, w.forening, &w.actions);
    }
);

both!(
    a_community_leaves_draft_reviews_when_deleted_but_stays_in_published_ones,
    |app: TestApp| async move {
        let w = world(&app).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        const DELETE_COMMUNITY: &str = "mutation($i: DeleteCommunityInput!) { deleteCommunity(input: $i) {
            deletedId userErrors { field code message } } }";
        // Attrup has nothing but its entry in a draft: it goes, and its entry with it.
        let draft = create(&staff, 2024).await;
        entry(&draft, "attrup");
        let before = reviews_in_db(&app).await;
        let attrup = global_id("Community", w.attrup);
        let p = staff
            .data(DELETE_COMMUNITY, json!({ "i": { "id": attrup, "version": 1 } }))
            .await["deleteCommunity"]
            .clone();
        assert_eq!(p["deletedId"], attrup, "{p:#}");
        assert_eq!(reviews_in_db(&app).await, (before.0, before.1 - 1));
        let log = staff
            .data(
                "{ auditLog(filter: { entityType: \"AnnualReviewEntry\", operation: \"DELETE\" }) { totalCount } }",
                json!({}),
            )
            .await;
        assert_eq!(log["auditLog"]["totalCount"], 1, "{log}");
        // A community in a published review stays, with a way out named.
        let nyby = Fixture::new(&app.db).community("nyby", "Nyby").await;
        let published = publish(&staff, &create(&staff, 2025).await).await;
        entry(&published, "nyby");
        let before = reviews_in_db(&app).await;
        let p = staff
            .data(
                DELETE_COMMUNITY,
                json!({ "i": { "id": global_id("Community", nyby), "version": 1 } }),
            )
            .await["deleteCommunity"]
            .clone();
        assert_eq!(p["deletedId"], Value::Null, "{p:#}");
        assert_eq!(errors(&p), vec![(json!(["id"]), "IN_USE".to_owned())], "{p:#}");
        let message = p["userErrors"][0]["message"].as_str().unwrap();
        assert!(
            message.contains("published annual reviews (1)") && message.contains("INACTIVE"),
            "{message}"
        );
        assert_eq!(reviews_in_db(&app).await, before, "nothing changed");
    }
);

both!(only_staff_may_write_reviews, |app: TestApp| async move {
    let w = world(&app).await;
    let staff = app.signed_in(As::Staff, &[], None).await;
    let r = create(&staff, 2025).await;
    let e = entry(&r, "gjoel").clone();
    let before = reviews_in_db(&app).await;
    let all = [w.gjol, w.birkelse, w.attrup];
    for role in [As::Anonymous, As::Partner, As::CommunityEditor] {
        let caller = app.signed_in(role, &all, Some(w.forening)).await;
        let expected = if role == As::Anonymous {
            "UNAUTHENTICATED"
        } else {
            "FORBIDDEN"
        };
        let id = r["id"].clone();
        for (query, input) in [
            (q(CREATE), json!({ "year": 2024 })),
            (q(REFRESH), json!({ "id": id, "version": 1 })),
            (
                q(UPDATE),
                json!({ "id": id, "version": 1, "direction": "Ændret" }),
            ),
            (
                ENTRY.to_owned(),
                json!({ "id": e["id"], "version": 1, "remarks": "Ændret" }),
            ),
            (q(PUBLISH), json!({ "id": id, "version": 1 })),
            (DELETE.to_owned(), json!({ "id": id, "version": 1 })),
        ] {
            let (code, _) = caller.error(&query, json!({ "i": input })).await;
            assert_eq!(code, expected, "{role:?}: {query}");
        }
    }
    assert_eq!(reviews_in_db(&app).await, before);
    let again = staff.data(&q(BY_YEAR), json!({ "y": 2025 })).await["annualReview"].clone();
    assert_eq!(again, r, "nothing changed");
    // Admins are staff too.
    let admin = app.signed_in(As::Admin, &[], None).await;
    create(&admin, 2024).await;
});

both!(
    bad_input_is_refused_and_changes_nothing,
    |app: TestApp| async move {
        let w = world(&app).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let this_year = chrono::Datelike::year(&chrono::Utc::now().date_naive());

        for year in [1899, this_year + 1, 100_000] {
            let p =
                staff.data(&q(CREATE), json!({ "i": { "year": year } })).await["createAnnualReview"].clone();
            assert!(p["annualReview"].is_null());
            assert_eq!(
                errors(&p),
                vec![(json!(["year"]), "OUT_OF_RANGE".to_owned())],
                "{year}"
            );
        }
        assert_eq!(reviews_in_db(&app).await, (0, 0));

        let r = create(&staff, 2025).await;
        let before = reviews_in_db(&app).await;
        let p = staff.data(&q(CREATE), json!({ "i": { "year": 2025 } })).await["createAnnualReview"].clone();
        assert_eq!(errors(&p), vec![(json!(["year"]), "TAKEN".to_owned())]);
        assert!(p["userErrors"][0]["message"].as_str().unwrap().contains("2025"));

        // IDs: of the wrong type, malformed, unknown.
        let p = staff
            .data(
                &q(REFRESH),
                json!({ "i": { "id": global_id("Community", w.gjol), "version": 1 } }),
            )
            .await["refreshAnnualReview"]
            .clone();
        assert_eq!(errors(&p), vec![(json!(["id"]), "INVALID".to_owned())]);
        let p = staff
            .data(&q(PUBLISH), json!({ "i": { "id": "ikke-et-id", "version": 1 } }))
            .await["publishAnnualReview"]
            .clone();
        assert_eq!(errors(&p), vec![(json!(["id"]), "INVALID".to_owned())]);
        let (code, _) = staff
        .error(
            &q(UPDATE),
            json!({ "i": { "id": global_id("AnnualReview", Uuid::now_v7()), "version": 1, "direction": "x" } }),
        )
        .await;
        assert_eq!(code, "NOT_FOUND");
        let (code, _) = staff
        .error(
            ENTRY,
            json!({ "i": { "id": global_id("AnnualReviewEntry", Uuid::now_v7()), "version": 1, "remarks": "x" } }),
        )
        .await;
        assert_eq!(code, "NOT_FOUND");

        // Field values.
        let p = staff
            .data(
                &q(UPDATE),
                json!({ "i": {
                "id": r["id"], "version": 1,
                "wantedLongTermShare": 101,
                "focusCommunityIds": [global_id("Community", w.gjol), global_id("Community", Uuid::now_v7())],
                "focusThemeIds": [global_id("Plan", w.gjol_plan)],
                "direction": "x".repeat(20_001),
            } }),
            )
            .await["updateAnnualReview"]
            .clone();
        let mut errs = errors(&p);
        errs.sort_by_key(|e| e.0.to_string());
        assert_eq!(
            errs,
            vec![
                (json!(["direction"]), "TOO_LONG".to_owned()),
                (json!(["focusThemeIds", "0"]), "INVALID".to_owned()),
                (json!(["wantedLongTermShare"]), "OUT_OF_RANGE".to_owned()),
            ],
            "{p:#}"
        );
        let p = staff
            .data(
                &q(UPDATE),
                json!({ "i": {
                "id": r["id"], "version": 1,
                "focusCommunityIds": [global_id("Community", w.gjol), global_id("Community", Uuid::now_v7())],
            } }),
            )
            .await["updateAnnualReview"]
            .clone();
        assert_eq!(
            errors(&p),
            vec![(json!(["focusCommunityIds", "1"]), "NOT_FOUND".to_owned())]
        );

        // A stale version is a conflict.
        let (code, _) = staff
            .error(
                &q(UPDATE),
                json!({ "i": { "id": r["id"], "version": 7, "direction": "x" } }),
            )
            .await;
        assert_eq!(code, "CONFLICT");
        let (code, _) = staff
            .error(&q(REFRESH), json!({ "i": { "id": r["id"], "version": 7 } }))
            .await;
        assert_eq!(code, "CONFLICT");
        let e = entry(&r, "gjoel").clone();
        let (code, _) = staff
            .error(
                ENTRY,
                json!({ "i": { "id": e["id"], "version": 9, "remarks": "x" } }),
            )
            .await;
        assert_eq!(code, "CONFLICT");
        let (code, _) = staff
            .error(DELETE, json!({ "i": { "id": r["id"], "version": 7 } }))
            .await;
        assert_eq!(code, "CONFLICT");
        let again = staff.data(&q(BY_YEAR), json!({ "y": 2025 })).await["annualReview"].clone();
        assert_eq!(again, r, "nothing changed");
        assert_eq!(reviews_in_db(&app).await, before);

        // After publishing, nothing may change.
        let r = publish(&staff, &r).await;
        let v = r["version"].clone();
        for (query, field, input) in [
            (
                q(REFRESH),
                "refreshAnnualReview",
                json!({ "id": r["id"], "version": v }),
            ),
            (
                q(UPDATE),
                "updateAnnualReview",
                json!({ "id": r["id"], "version": v, "direction": "Ny" }),
            ),
            (
                q(PUBLISH),
                "publishAnnualReview",
                json!({ "id": r["id"], "version": v }),
            ),
            (
                DELETE.to_owned(),
                "deleteAnnualReview",
                json!({ "id": r["id"], "version": v }),
            ),
            (
                ENTRY.to_owned(),
                "updateAnnualReviewEntry",
                json!({ "id": e["id"], "version": e["version"], "remarks": "Ny" }),
            ),
        ] {
            let p = staff.data(&query, json!({ "i": input })).await[field].clone();
            assert_eq!(
                errors(&p),
                vec![(json!(["id"]), "INVALID_TRANSITION".to_owned())],
                "{field}"
            );
            assert!(
                p["userErrors"][0]["message"]
                    .as_str()
                    .unwrap()
                    .contains("published")
            );
        }
        let again = staff.data(&q(BY_YEAR), json!({ "y": 2025 })).await["annualReview"].clone();
        assert_eq!(again, r, "nothing changed");
        assert_eq!(reviews_in_db(&app).await, before);

        // Queries: a year out of range, years in the wrong order.
        let (code, message) = staff.error(&q(BY_YEAR), json!({ "y": 99_999 })).await;
        assert_eq!(code, "BAD_USER_INPUT");
        assert!(message.contains("`year`"), "{message}");
        let (code, message) = staff
        .error(
            "query($id: ID!) { community(id: $id) { annualFigures(fromYear: 2026, toYear: 2025) { year } } }",
            json!({ "id": global_id("Community", w.gjol) }),
        )
        .await;
        assert_eq!(code, "BAD_USER_INPUT");
        assert!(message.contains("toYear"), "{message}");
        let (code, _) = staff
            .error(
                "query($id: ID!) { community(id: $id) { annualFigures(fromYear: 12) { year } } }",
                json!({ "id": global_id("Community", w.gjol) }),
            )
            .await;
        assert_eq!(code, "BAD_USER_INPUT");
    }
);

both!(
    a_published_review_does_not_change_with_the_live_data,
    // The anonymous answers must come from the database, not from the response cache.
    |c: &mut lup_api::config::Config| c.public_cache_ttl_ms = 0,
    |app: TestApp| async move {
        let w = world(&app).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let anonymous = app.signed_in(As::Anonymous, &[], None).await;
        let r = create(&staff, 2025).await;
        let p = staff
            .data(
                &q(UPDATE),
                json!({ "i": { "id": r["id"], "version": r["version"],
                               "focusCommunityIds": [global_id("Community", w.gjol)],
                               "focusThemeIds": [global_id("Theme", w.natur)] } }),
            )
            .await["updateAnnualReview"]
            .clone();
        assert_eq!(p["userErrors"], json!([]), "{p:#}");
        let r = publish(&staff, &p["annualReview"]).await;
        assert_eq!(r["focusCommunities"], json!([{ "name": "Gjøl" }]));
        assert_eq!(r["focusThemes"], json!([{ "name": "Natur og friluftsliv" }]));
        let figures_query = "query($id: ID!) { community(id: $id) { annualFigures { year communityName remarks figures { ...F } } } }\n".to_owned()
            + FIGURES;
        let seen = anonymous.data(&q(BY_YEAR), json!({ "y": 2025 })).await;
        let figures = anonymous
            .data(&figures_query, json!({ "id": global_id("Community", w.gjol) }))
            .await;
        assert_eq!(seen["annualReview"], r);

        // The live data changes: statuses, new actions, events, partners, a new community,
        // a new name (one that sorts first), other weights, the draft plan adopted.
        let fx = Fixture::new(&app.db);
        for a in &w.actions {
            fx.set("action", *a, "status", "COMPLETED").await;
            fx.set("action", *a, "progress", 100).await;
            fx.set("action", *a, "completed_on", date(2025, 11, 1)).await;
        }
        fx.action(w.gjol_plan, "Ny legeplads").await;
        fx.event(w.gjol, Some(w.gjol_plan), "Arbejdsdag", date(2025, 9, 6))
            .await;
        fx.event(w.birkelse, None, "Sommerfest", date(2025, 7, 1)).await;
        let p = fx
            .partnership(
                None,
                Some(w.gjol_plan),
                "Nyt partnerskab",
                PartnershipStatus::Active,
            )
            .await;
        fx.member(p, Party::Organization(w.forening), MemberRole::Lead)
            .await;
        fx.community("skovsgaard", "Skovsgård").await;
        fx.set("community", w.gjol, "name", "Arden").await;
        fx.set("theme", w.natur, "name", "Natur").await;
        fx.set("plan", w.gjol_draft, "status", "ADOPTED").await;
        let weights = staff.data("{ engagementWeights { version } }", json!({})).await;
        let p = staff
            .data(
                "mutation($i: UpdateEngagementWeightsInput!) { updateEngagementWeights(input: $i) { userErrors { code } } }",
                json!({ "i": { "version": weights["engagementWeights"]["version"], "events": 7.5, "participants": 1.0 } }),
            )
            .await;
        assert_eq!(p["updateEngagementWeights"]["userErrors"], json!([]), "{p:#}");

        // The live data did change, for the anonymous caller too: the comparisons below mean
        // something. (A differently named operation, so no cached answer could be served.)
        let live = anonymous
            .data(
                "query Live($id: ID!, $t: ID!) { community(id: $id) { name } node(id: $t) { ... on Theme { name } } }",
                json!({ "id": global_id("Community", w.gjol), "t": global_id("Theme", w.natur) }),
            )
            .await;
        assert_eq!(
            live,
            json!({ "community": { "name": "Arden" }, "node": { "name": "Natur" } })
        );
        let again = anonymous
            .data(
                &q("query Again($y: Int!) { annualReview(year: $y) { ...R } }"),
                json!({ "y": 2025 }),
            )
            .await;
        assert_eq!(again, seen, "the published review is unchanged");
        assert_eq!(
            again["annualReview"]["focusCommunities"],
            json!([{ "name": "Gjøl" }]),
            "the focus keeps its names of the publication"
        );
        assert_eq!(
            again["annualReview"]["focusThemes"],
            json!([{ "name": "Natur og friluftsliv" }])
        );
        // The live community and theme are still there behind the frozen names.
        let linked = anonymous
            .data(
                "{ annualReview(year: 2025) { focusCommunities { name community { name } } focusThemes { name theme { name } } } }",
                json!({}),
            )
            .await;
        assert_eq!(
            linked["annualReview"],
            json!({ "focusCommunities": [{ "name": "Gjøl", "community": { "name": "Arden" } }],
                    "focusThemes": [{ "name": "Natur og friluftsliv", "theme": { "name": "Natur" } }] })
        );
        let again_staff = staff.data(&q(BY_YEAR), json!({ "y": 2025 })).await;
        assert_eq!(again_staff, seen);
        let figures_again = anonymous
            .data(&figures_query, json!({ "id": global_id("Community", w.gjol) }))
            .await;
        assert_eq!(figures_again, figures);
        assert_eq!(figures["community"]["annualFigures"][0]["communityName"], "Gjøl");
        // While the live figures did move.
        assert_ne!(
            live_engagement(&app, "gjoel").await,
            entry(&seen["annualReview"], "gjoel")["figures"]["engagement"]
        );
    }
);

both!(drafts_are_invisible_to_all_but_staff, |app: TestApp| async move {
    let w = world(&app).await;
    let staff = app.signed_in(As::Staff, &[], None).await;
    let r = create(&staff, 2025).await;
    let review_id = r["id"].clone();
    let entry_id = entry(&r, "gjoel")["id"].clone();
    let all = [w.gjol, w.birkelse, w.attrup];

    const EVERY_PATH: &str = "query($id: ID!, $e: ID!, $c: ID!) {
        annualReview(year: 2025) { id }
        annualReviews(first: 10) { totalCount nodes { id } }
        node(id: $id) { id }
        entry: node(id: $e) { id }
        nodes(ids: [$id, $e]) { id }
        community(id: $c) { annualFigures { id } }
    }";
    let vars = json!({ "id": review_id, "e": entry_id, "c": global_id("Community", w.gjol) });
    let hidden = json!({
        "annualReview": null,
        "annualReviews": { "totalCount": 0, "nodes": [] },
        "node": null,
        "entry": null,
        "nodes": [null, null],
        "community": { "annualFigures": [] },
    });
    for role in [As::Anonymous, As::Partner, As::CommunityEditor] {
        let caller = app.signed_in(role, &all, Some(w.forening)).await;
        assert_eq!(caller.data(EVERY_PATH, vars.clone()).await, hidden, "{role:?}");
        for path in ["/reports/annual/2025", "/reports/annual/2025.csv"] {
            let mut request = caller.client.get(caller.url(path));
            if let Some((h, v)) = &caller.credentials {
                request = request.header(h.as_str(), v.as_str());
            }
            let response = request.send().await.expect("report");
            assert_eq!(response.status(), 404, "{role:?} {path}");
            let body = response.text().await.unwrap();
            assert!(!body.contains("Gjøl"), "{body}");
        }
    }
    // Staff see the draft by every path.
    let d = staff.data(EVERY_PATH, vars.clone()).await;
    assert_eq!(d["annualReview"]["id"], review_id);
    assert_eq!(d["annualReviews"]["totalCount"], 1);
    assert_eq!(d["node"]["id"], review_id);
    assert_eq!(d["entry"]["id"], entry_id);
    assert_eq!(d["nodes"], json!([{ "id": review_id }, { "id": entry_id }]));
    assert_eq!(d["community"]["annualFigures"], json!([{ "id": entry_id }]));

    // Published, it is everyone's.
    publish(&staff, &r).await;
    for role in [As::Anonymous, As::Partner, As::CommunityEditor] {
        let caller = app.signed_in(role, &all, Some(w.forening)).await;
        let d = caller.data(EVERY_PATH, vars.clone()).await;
        assert_eq!(d, staff.data(EVERY_PATH, vars.clone()).await, "{role:?}");
        assert_eq!(d["annualReviews"]["totalCount"], 1);
        assert_eq!(d["entry"]["id"], entry_id);
    }
});

both!(communities_compare_their_years, |app: TestApp| async move {
    let w = world(&app).await;
    let staff = app.signed_in(As::Staff, &[], None).await;
    let r24 = create(&staff, 2024).await;
    publish(&staff, &r24).await;
    let r25 = create(&staff, 2025).await;
    publish(&staff, &r25).await;
    create(&staff, 2026).await; // a draft
    let query =
        "query($id: ID!, $f: Int, $t: Int) { community(id: $id) { annualFigures(fromYear: $f, toYear: $t) {
        year review { year status } figures { plans { title } actions { total } } } } }";
    let id = global_id("Community", w.birkelse);
    let years = |d: &Value| -> Vec<i64> {
        d["community"]["annualFigures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["year"].as_i64().unwrap())
            .collect()
    };
    let anonymous = app.signed_in(As::Anonymous, &[], None).await;
    let d = anonymous.data(query, json!({ "id": id })).await;
    assert_eq!(years(&d), [2024, 2025], "oldest first, published only");
    // Birkelse's plan starts in 2025: no plan counted in 2024.
    assert_eq!(d["community"]["annualFigures"][0]["figures"]["plans"], json!([]));
    assert_eq!(
        d["community"]["annualFigures"][1]["figures"]["plans"],
        json!([{ "title": "Birkelse 2028" }])
    );
    assert_eq!(
        years(&staff.data(query, json!({ "id": id })).await),
        [2024, 2025, 2026]
    );
    assert_eq!(
        years(&staff.data(query, json!({ "id": id, "f": 2025 })).await),
        [2025, 2026]
    );
    assert_eq!(
        years(&staff.data(query, json!({ "id": id, "f": 2024, "t": 2024 })).await),
        [2024]
    );
    // Lists of reviews, newest first.
    let d = anonymous
        .data(
            "{ annualReviews(first: 1) { totalCount pageInfo { hasNextPage } nodes { year } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        d["annualReviews"],
        json!({ "totalCount": 2, "pageInfo": { "hasNextPage": true }, "nodes": [{ "year": 2025 }] })
    );
});

both!(
    review_statements_do_not_grow_with_rows,
    |app: TestApp| async move {
        const NESTED: &str = "{ annualReviews(first: 10) { nodes {
            year focusCommunities { name } focusThemes { name }
            totals { actions { total } }
            entries(first: 50) { totalCount nodes {
                communityName review { year } community { name annualFigures { year } }
                figures { plans { plan { title } } engagement { total } }
            } }
        } } }";
        let w = world(&app).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let statements = |staff: TestApp| async move {
            let before = staff.sql_statements();
            let d = staff.data(NESTED, json!({})).await;
            (staff.sql_statements() - before, d)
        };
        let r = create(&staff, 2025).await;
        staff
            .data(
                &q(UPDATE),
                json!({ "i": { "id": r["id"], "version": 1, "focusCommunityIds": [global_id("Community", w.gjol)] } }),
            )
            .await;
        let (small, d) = statements(staff.clone_handle()).await;
        assert_eq!(d["annualReviews"]["nodes"][0]["entries"]["totalCount"], 3);

        let fx = Fixture::new(&app.db);
        fx.programme(6, 2).await;
        create(&staff, 2024).await;
        let r = staff.data(&q(BY_YEAR), json!({ "y": 2025 })).await["annualReview"].clone();
        staff
            .data(
                &q(REFRESH),
                json!({ "i": { "id": r["id"], "version": r["version"] } }),
            )
            .await;
        let (large, d) = statements(staff.clone_handle()).await;
        assert_eq!(d["annualReviews"]["nodes"][0]["entries"]["totalCount"], 9);
        assert_eq!(d["annualReviews"]["nodes"].as_array().unwrap().len(), 2);
        assert_eq!(
            small, large,
            "statements: {small} for 1 review of 3 communities, {large} for 2 of 9"
        );
    }
);

/// A write transaction opened beside the server (SQLite: `BEGIN IMMEDIATE`, as the server's).
async fn write_transaction(app: &TestApp) -> sea_orm::DatabaseTransaction {
    use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait};
    app.db
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .await
        .expect("begin")
}

both!(
    a_publication_cannot_slip_in_before_a_remarks_edit,
    |app: TestApp| async move {
        use sea_orm::{ColumnTrait, QueryFilter, sea_query::Expr};
        world(&app).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let r = create(&staff, 2025).await;
        let e = entry(&r, "gjoel").clone();

        // Someone publishes the review and has not committed yet; meanwhile remarks are sent.
        let txn = write_transaction(&app).await;
        annual_review::Entity::update_many()
            .col_expr(annual_review::Column::Status, Expr::value("PUBLISHED"))
            .filter(annual_review::Column::Year.eq(2025))
            .exec(&txn)
            .await
            .expect("publish");
        let handle = staff.clone_handle();
        let input = json!({ "i": { "id": e["id"], "version": e["version"], "remarks": "For sent." } });
        let edit = tokio::spawn(async move { handle.data(ENTRY, input).await });
        tokio::time::sleep(std::time::Duration::from_millis(600)).await;
        txn.commit().await.expect("commit");

        // The edit waited for the publication and was refused: a published review is frozen.
        let p = edit.await.expect("edit")["updateAnnualReviewEntry"].clone();
        assert_eq!(
            errors(&p),
            vec![(json!(["id"]), "INVALID_TRANSITION".to_owned())],
            "{p:#}"
        );
        let remarks: Vec<String> = annual_review_entry::Entity::find()
            .all(&app.db)
            .await
            .expect("entries")
            .into_iter()
            .map(|e| e.remarks)
            .collect();
        assert!(remarks.iter().all(String::is_empty), "{remarks:?}");
    }
);

both!(
    a_concurrent_create_of_the_same_year_is_taken,
    |app: TestApp| async move {
        world(&app).await;
        let staff = app.signed_in(As::Staff, &[], None).await;

        // Another request is creating the review of 2025 and has not committed yet.
        let txn = write_transaction(&app).await;
        let now = chrono::Utc::now();
        sea_orm::ActiveModelTrait::insert(
            annual_review::ActiveModel {
                id: sea_orm::Set(Uuid::now_v7()),
                year: sea_orm::Set(2025),
                status: sea_orm::Set(annual_review::ReviewStatus::Draft),
                direction: sea_orm::Set(String::new()),
                wanted_long_term_share: sea_orm::Set(None),
                snapshot_taken_at: sea_orm::Set(now),
                published_at: sea_orm::Set(None),
                frozen_focus: sea_orm::Set(None),
                frozen_history: sea_orm::Set(None),
                created_at: sea_orm::Set(now),
                updated_at: sea_orm::Set(now),
                version: sea_orm::Set(1),
            },
            &txn,
        )
        .await
        .expect("insert");
        let handle = staff.clone_handle();
        let second =
            tokio::spawn(async move { handle.data(&q(CREATE), json!({ "i": { "year": 2025 } })).await });
        tokio::time::sleep(std::time::Duration::from_millis(600)).await;
        txn.commit().await.expect("commit");

        let p = second.await.expect("create")["createAnnualReview"].clone();
        assert!(p["annualReview"].is_null(), "{p:#}");
        assert_eq!(errors(&p), vec![(json!(["year"]), "TAKEN".to_owned())], "{p:#}");
        assert_eq!(reviews_in_db(&app).await, (1, 0));
    }
);

both!(snapshot_writes_are_in_the_audit_log, |app: TestApp| async move {
    let w = world(&app).await;
    let staff = app.signed_in(As::Staff, &[], None).await;
    const LOG: &str = "{ auditLog(filter: { entityType: \"AnnualReviewEntry\" }, first: 50) {
            nodes { operation entityId changes } } }";
    let log = |staff: TestApp| async move {
        staff.data(LOG, json!({})).await["auditLog"]["nodes"]
            .as_array()
            .unwrap()
            .clone()
    };
    let ops = |nodes: &[Value], op: &str| nodes.iter().filter(|n| n["operation"] == op).count();

    let r = create(&staff, 2025).await;
    let nodes = log(staff.clone_handle()).await;
    assert_eq!(ops(&nodes, "CREATE"), 3, "an entry per community: {nodes:#?}");

    // A refresh records the entries whose figures changed, with what changed.
    Fixture::new(&app.db).action(w.gjol_plan, "Legeplads").await;
    let p = staff
        .data(
            &q(REFRESH),
            json!({ "i": { "id": r["id"], "version": r["version"] } }),
        )
        .await["refreshAnnualReview"]
        .clone();
    assert_eq!(p["userErrors"], json!([]), "{p:#}");
    let nodes = log(staff.clone_handle()).await;
    let updates: Vec<&Value> = nodes.iter().filter(|n| n["operation"] == "UPDATE").collect();
    assert_eq!(updates.len(), 1, "only Gjøl's figures changed: {nodes:#?}");
    assert_eq!(updates[0]["entityId"], entry(&r, "gjoel")["id"]);
    assert!(
        updates[0]["changes"]["snapshot"]["after"].is_string(),
        "{:#}",
        updates[0]
    );

    // Deleting the draft records its entries' deletion.
    let r = p["annualReview"].clone();
    let p = staff
        .data(DELETE, json!({ "i": { "id": r["id"], "version": r["version"] } }))
        .await["deleteAnnualReview"]
        .clone();
    assert_eq!(p["userErrors"], json!([]), "{p:#}");
    let nodes = log(staff.clone_handle()).await;
    assert_eq!(ops(&nodes, "DELETE"), 3, "{nodes:#?}");
});

both!(
    completed_actions_count_the_plans_counted,
    |app: TestApp| async move {
        let w = world(&app).await;
        // An archived plan of Gjøl (2020–2024, so not counted for 2025) whose action was
        // completed in 2025: engagement counts it, the action figures do not.
        let fx = Fixture::new(&app.db);
        let old = fx
            .plan(w.gjol, "Gjøl 2024", PlanStatus::Archived, 2020, 2024)
            .await;
        let a = fx.action(old, "Gammel sti").await;
        fx.set("action", a, "status", "COMPLETED").await;
        fx.set("action", a, "completed_on", date(2025, 2, 1)).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let r = create(&staff, 2025).await;
        let g = &entry(&r, "gjoel")["figures"];
        assert_eq!(g["plans"].as_array().unwrap().len(), 1);
        assert_eq!(g["actions"]["total"], 4);
        assert_eq!(g["actions"]["completedInYear"], 1, "of the plans counted");
        assert!(
            g["actions"]["completedInYear"].as_i64() <= Some(count(g, "byStatus", "status", "COMPLETED")),
            "never more than the completed actions counted"
        );
        let completed = g["engagement"]["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["key"] == "ACTIONS_COMPLETED")
            .unwrap()["value"]
            .clone();
        assert_eq!(completed, 2, "engagement counts all the community's public plans");
        assert_eq!(r["totals"]["actions"]["completedInYear"], 1);
    }
);

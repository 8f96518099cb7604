//! Priorities and the weights: the candidates of a year, each score term by term, the
//! balance of long-term and here-and-now actions overall and per community, filters and bad
//! input; the weights are public, changed by staff only (audited, versioned, bounded), and a
//! changed weight changes the ranking.
use lup_tests::{
    As, TestApp, both,
    fixture::{
        Fixture, Horizon, MemberRole, OrganizationKind, PartnershipStatus, Party, PlanStatus, cursor, date,
        global_id,
    },
};
use serde_json::{Value, json};
use uuid::Uuid;

const PRIORITIES: &str = "query($year: Int!, $f: PriorityFilter, $first: Int, $after: String) {
  priorities(year: $year, filter: $f) {
    year window { from to }
    ranking(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor }
      nodes { rank score potentialEstimated engagementTotal action { title } community { name }
              components { key label value weight points } } }
    engagementReference { community { name } total }
    balance {
      overall { longTerm hereAndNow total longTermShare hereAndNowShare }
      byCommunity { community { name } longTerm hereAndNow total longTermShare hereAndNowShare }
    }
  } }";

const WEIGHTS: &str = "{ engagementWeights { associationsInvolved events participants eventOrganizations
    volunteerHours coFundingDkk actionUpdates actionsCompleted priorityPotential priorityEngagement
    priorityCommittedPartners prioritySeekingPartners version updatedAt } }";

const UPDATE: &str = "mutation($i: UpdateEngagementWeightsInput!) { updateEngagementWeights(input: $i) {
    engagementWeights { events priorityEngagement priorityPotential version updatedAt }
    userErrors { field code message } } }";

struct World {
    gjol: Uuid,
    natur: Uuid,
}

/// For 2025 (engagement window: 2024): Gjøl engaged twice as much as Birkelse, Tranum not at
/// all. Candidates: Gjøl's Havnebad (potential 3, long-term) and Shelterplads (2, here and
/// now, seeks partners); Birkelse's Naturlegeplads (5, here and now, three partners in an
/// active partnership) and Cykelsti (no potential: 3, long-term); Tranum's Forsamlingshus
/// (4, here and now, paused). Not candidates: completed, dropped, draft-plan actions and those
/// of plans whose period does not cover 2025.
async fn world(app: &TestApp) -> World {
    let fx = Fixture::new(&app.db);
    let gjol = fx.community("gjoel", "Gjøl").await;
    let birkelse = fx.community("birkelse", "Birkelse").await;
    let tranum = fx.community("tranum", "Tranum").await;
    let natur = fx.theme("natur-og-friluftsliv", "Natur og friluftsliv").await;

    let gjol_plan = fx.plan(gjol, "Gjøl 2027", PlanStatus::Adopted, 2024, 2027).await;
    let gjol_draft = fx.plan(gjol, "Gjøl 2029", PlanStatus::Draft, 2025, 2029).await;
    let birkelse_plan = fx
        .plan(birkelse, "Birkelse 2026", PlanStatus::Adopted, 2023, 2026)
        .await;
    let tranum_old = fx
        .plan(tranum, "Tranum 2025", PlanStatus::Adopted, 2021, 2025)
        .await;
    let tranum_new = fx
        .plan(tranum, "Tranum 2029", PlanStatus::Adopted, 2026, 2029)
        .await;

    let action = |plan: Uuid,
                  title: &'static str,
                  potential: Option<i32>,
                  horizon: Horizon,
                  status: &'static str,
                  seeking: bool| {
        let fx = &fx;
        async move {
            let mut m = fx.action_model(plan, title);
            m.potential = sea_orm::Set(potential);
            m.horizon = sea_orm::Set(horizon);
            m.seeking_partners = sea_orm::Set(seeking);
            let id = fx.insert_action(m).await;
            fx.set("action", id, "status", status).await;
            id
        }
    };
    action(
        gjol_plan,
        "Havnebad",
        Some(3),
        Horizon::LongTerm,
        "IN_PROGRESS",
        false,
    )
    .await;
    let shelter = action(
        gjol_plan,
        "Shelterplads",
        Some(2),
        Horizon::HereAndNow,
        "PLANNED",
        true,
    )
    .await;
    action(
        gjol_plan,
        "Bænke",
        Some(5),
        Horizon::HereAndNow,
        "COMPLETED",
        false,
    )
    .await;
    action(gjol_plan, "Kiosk", Some(5), Horizon::HereAndNow, "DROPPED", false).await;
    action(gjol_draft, "Skolehave", Some(5), Horizon::LongTerm, "IDEA", true).await;
    let legeplads = action(
        birkelse_plan,
        "Naturlegeplads",
        Some(5),
        Horizon::HereAndNow,
        "PLANNED",
        false,
    )
    .await;
    action(birkelse_plan, "Cykelsti", None, Horizon::LongTerm, "IDEA", false).await;
    action(
        tranum_old,
        "Forsamlingshus",
        Some(4),
        Horizon::HereAndNow,
        "PAUSED",
        false,
    )
    .await;
    action(
        tranum_new,
        "Vandrerute",
        Some(5),
        Horizon::LongTerm,
        "PLANNED",
        true,
    )
    .await;
    fx.tag_action(shelter, natur).await;
    fx.tag_action(legeplads, natur).await;

    // Naturlegeplads: an active partnership of three, two of them others than Birkelse itself
    // (a proposal and an ended one do not count).
    let org = fx
        .organization(
            "birkelse-if",
            "Birkelse IF",
            OrganizationKind::Association,
            Some(birkelse),
        )
        .await;
    let dept = fx.department("teknik", "Teknik og Miljø").await;
    let p = fx
        .partnership(Some(legeplads), None, "Legepladsen", PartnershipStatus::Active)
        .await;
    fx.member(p, Party::Community(birkelse), MemberRole::Lead).await;
    fx.member(p, Party::Organization(org), MemberRole::Partner).await;
    fx.member(p, Party::Department(dept), MemberRole::Advisor).await;
    let p = fx
        .partnership(Some(legeplads), None, "Forslag", PartnershipStatus::Proposed)
        .await;
    fx.member(p, Party::Organization(org), MemberRole::Partner).await;

    // Engagement in 2024: two meetings of 35 in Gjøl (2 × 2 + 70 × 0.1 = 11), one in
    // Birkelse (5.5); one in 2025 that the 2025 priorities do not look at.
    fx.event(gjol, Some(gjol_plan), "Borgermøde", date(2024, 3, 1))
        .await;
    fx.event(gjol, None, "Arbejdsdag", date(2024, 9, 1)).await;
    fx.event(birkelse, Some(birkelse_plan), "Borgermøde", date(2024, 5, 1))
        .await;
    fx.event(tranum, Some(tranum_old), "Stort møde", date(2025, 2, 1))
        .await;
    World { gjol, natur }
}

fn ranking(d: &Value) -> Vec<(String, f64)> {
    d["priorities"]["ranking"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("no ranking in {d}"))
        .iter()
        .map(|n| {
            (
                n["action"]["title"].as_str().unwrap().to_owned(),
                n["score"].as_f64().unwrap(),
            )
        })
        .collect()
}

fn ranked(rows: &[(&str, f64)]) -> Vec<(String, f64)> {
    rows.iter().map(|(t, s)| ((*t).to_owned(), *s)).collect()
}

both!(
    priorities_rank_candidates_term_by_term,
    |app: TestApp| async move {
        let w = world(&app).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let d = staff.data(PRIORITIES, json!({ "year": 2025 })).await;
        let p = &d["priorities"];
        assert_eq!(p["year"], 2025);
        assert_eq!(p["window"], json!({ "from": "2024-01-01", "to": "2024-12-31" }));
        // potential × 2 + engagement (0–5) × 1 + partners × 0.5 + seeking × 0.5.
        assert_eq!(
            ranking(&d),
            ranked(&[
                ("Naturlegeplads", 13.5), // 10 + 2.5 + 1
                ("Havnebad", 11.0),       // 6 + 5
                ("Shelterplads", 9.5),    // 4 + 5 + 0.5
                ("Cykelsti", 8.5),        // 6 (estimated) + 2.5
                ("Forsamlingshus", 8.0),  // 8 + 0
            ])
        );
        let nodes = p["ranking"]["nodes"].as_array().unwrap();
        assert_eq!(p["ranking"]["totalCount"], 5);
        assert_eq!(
            nodes
                .iter()
                .map(|n| n["rank"].as_i64().unwrap())
                .collect::<Vec<_>>(),
            vec![1, 2, 3, 4, 5]
        );
        assert_eq!(nodes[0]["community"]["name"], "Birkelse");
        assert_eq!(
            nodes[0]["components"],
            json!([
                { "key": "POTENTIAL", "label": "Potentiale", "value": 5.0, "weight": 2.0, "points": 10.0 },
                { "key": "COMMUNITY_ENGAGEMENT", "label": "Lokalsamfundets engagement", "value": 2.5, "weight": 1.0, "points": 2.5 },
                { "key": "COMMITTED_PARTNERS", "label": "Partnere i aktive partnerskaber", "value": 2.0, "weight": 0.5, "points": 1.0 },
                { "key": "SEEKING_PARTNERS", "label": "Søger partnere", "value": 0.0, "weight": 0.5, "points": 0.0 },
            ])
        );
        assert_eq!(nodes[3]["potentialEstimated"], true);
        assert_eq!(nodes[0]["potentialEstimated"], false);
        // The engagement term can be reproduced: Birkelse's 5.5 against Gjøl's 11 is 2.5.
        assert_eq!(
            p["engagementReference"],
            json!({ "community": { "name": "Gjøl" }, "total": 11.0 })
        );
        assert_eq!(nodes[0]["engagementTotal"], 5.5);
        assert_eq!(nodes[1]["engagementTotal"], 11.0);
        assert_eq!(nodes[4]["engagementTotal"], 0.0, "Tranum: nothing in 2024");

        // The balance: long-term Havnebad and Cykelsti; here and now the other three.
        assert_eq!(
            p["balance"]["overall"],
            json!({ "longTerm": 2, "hereAndNow": 3, "total": 5, "longTermShare": 0.4, "hereAndNowShare": 0.6 })
        );
        assert_eq!(
            p["balance"]["byCommunity"],
            json!([
                { "community": { "name": "Birkelse" }, "longTerm": 1, "hereAndNow": 1, "total": 2, "longTermShare": 0.5, "hereAndNowShare": 0.5 },
                { "community": { "name": "Gjøl" }, "longTerm": 1, "hereAndNow": 1, "total": 2, "longTermShare": 0.5, "hereAndNowShare": 0.5 },
                { "community": { "name": "Tranum" }, "longTerm": 0, "hereAndNow": 1, "total": 1, "longTermShare": 0.0, "hereAndNowShare": 1.0 },
            ])
        );

        // Pages.
        let d = staff.data(PRIORITIES, json!({ "year": 2025, "first": 2 })).await;
        assert_eq!(
            ranking(&d),
            ranked(&[("Naturlegeplads", 13.5), ("Havnebad", 11.0)])
        );
        let info = &d["priorities"]["ranking"]["pageInfo"];
        assert_eq!(info["hasNextPage"], true);
        let d = staff
            .data(
                PRIORITIES,
                json!({ "year": 2025, "first": 2, "after": info["endCursor"] }),
            )
            .await;
        assert_eq!(ranking(&d), ranked(&[("Shelterplads", 9.5), ("Cykelsti", 8.5)]));
        assert_eq!(d["priorities"]["ranking"]["nodes"][0]["rank"], 3);
        // A cursor far past the end (a crafted one) gives an empty page, never an error.
        for after in [cursor(6), cursor(i64::MAX)] {
            let d = staff
                .data(PRIORITIES, json!({ "year": 2025, "first": 2, "after": after }))
                .await;
            assert_eq!(ranking(&d), ranked(&[]), "{d}");
            assert_eq!(d["priorities"]["ranking"]["totalCount"], 5);
        }
        let d = staff
            .data(
                "query($b: String) { priorities(year: 2025) { ranking(last: 2, before: $b) { nodes { rank } } } }",
                json!({ "b": cursor(i64::MAX) }),
            )
            .await;
        assert_eq!(
            d["priorities"]["ranking"]["nodes"],
            json!([{ "rank": 4 }, { "rank": 5 }])
        );

        // Filters narrow the list and the balance, not the scores.
        let filtered = |f: Value| {
            let staff = &staff;
            async move { staff.data(PRIORITIES, json!({ "year": 2025, "f": f })).await }
        };
        let d = filtered(json!({ "communityIds": [global_id("Community", w.gjol)] })).await;
        assert_eq!(ranking(&d), ranked(&[("Havnebad", 11.0), ("Shelterplads", 9.5)]));
        assert_eq!(d["priorities"]["balance"]["overall"]["total"], 2);
        assert_eq!(
            d["priorities"]["balance"]["byCommunity"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        let d = filtered(json!({ "horizon": "LONG_TERM" })).await;
        assert_eq!(ranking(&d), ranked(&[("Havnebad", 11.0), ("Cykelsti", 8.5)]));
        assert_eq!(d["priorities"]["balance"]["overall"]["longTermShare"], 1.0);
        let d = filtered(json!({ "seekingPartners": true })).await;
        assert_eq!(ranking(&d), ranked(&[("Shelterplads", 9.5)]));
        let d = filtered(json!({ "themeIds": [global_id("Theme", w.natur)] })).await;
        assert_eq!(
            ranking(&d),
            ranked(&[("Naturlegeplads", 13.5), ("Shelterplads", 9.5)])
        );
        let d = filtered(json!({ "themeIds": [global_id("Theme", w.natur)], "horizon": "LONG_TERM" })).await;
        assert_eq!(ranking(&d), ranked(&[]));
        assert_eq!(
            d["priorities"]["balance"]["overall"],
            json!({ "longTerm": 0, "hereAndNow": 0, "total": 0, "longTermShare": 0.0, "hereAndNowShare": 0.0 })
        );

        // A year without candidates: none of the plans covers 2031.
        let d = staff.data(PRIORITIES, json!({ "year": 2031 })).await;
        assert_eq!(ranking(&d), ranked(&[]));
    }
);

both!(
    priorities_refuse_bad_input_and_other_roles,
    |app: TestApp| async move {
        let w = world(&app).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        for (vars, words) in [
            (json!({ "year": 1800 }), "between 1900 and 2200"),
            (json!({ "year": 2201 }), "between 1900 and 2200"),
            (
                json!({ "year": 2025, "f": { "communityIds": ["ikke-et-id"] } }),
                "",
            ),
            (
                json!({ "year": 2025, "f": { "communityIds": [global_id("Theme", w.natur)] } }),
                "",
            ),
            (
                json!({ "year": 2025, "f": { "themeIds": [global_id("Community", w.gjol)] } }),
                "",
            ),
        ] {
            let (code, message) = staff.error(PRIORITIES, vars.clone()).await;
            assert_eq!(code, "BAD_USER_INPUT", "{vars}: {message}");
            assert!(message.contains(words), "{vars}: {message}");
        }
        let (code, _) = app.error(PRIORITIES, json!({ "year": 2025 })).await;
        assert_eq!(code, "UNAUTHENTICATED");
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        let (code, _) = editor.error(PRIORITIES, json!({ "year": 2025 })).await;
        assert_eq!(code, "FORBIDDEN");
    }
);

both!(
    weights_are_public_and_staff_change_them,
    |app: TestApp| async move {
        let w = world(&app).await;
        let d = app.data(WEIGHTS, json!({})).await;
        assert_eq!(
            d["engagementWeights"],
            json!({ "associationsInvolved": 3.0, "events": 2.0, "participants": 0.1, "eventOrganizations": 2.0,
                    "volunteerHours": 0.02, "coFundingDkk": 0.0001, "actionUpdates": 1.0, "actionsCompleted": 5.0,
                    "priorityPotential": 2.0, "priorityEngagement": 1.0, "priorityCommittedPartners": 0.5,
                    "prioritySeekingPartners": 0.5, "version": 0, "updatedAt": null })
        );
        let staff = app.signed_in(As::Staff, &[], None).await;
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;

        // Not for editors or the public.
        let input = json!({ "i": { "version": 0, "priorityEngagement": 3 } });
        assert_eq!(editor.error(UPDATE, input.clone()).await.0, "FORBIDDEN");
        assert_eq!(app.error(UPDATE, input.clone()).await.0, "UNAUTHENTICATED");

        // Bad values: every one named, nothing changes.
        let p = staff
            .data(UPDATE, json!({ "i": { "version": 0, "events": -1, "participants": 1000.5, "priorityPotential": 1e9, "actionUpdates": 1000 } }))
            .await["updateEngagementWeights"]
            .clone();
        let errors: Vec<(Value, Value)> = p["userErrors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["field"].clone(), e["code"].clone()))
            .collect();
        assert_eq!(
            errors,
            vec![
                (json!(["events"]), json!("OUT_OF_RANGE")),
                (json!(["participants"]), json!("OUT_OF_RANGE")),
                (json!(["priorityPotential"]), json!("OUT_OF_RANGE")),
            ],
            "{p}"
        );
        assert!(p["engagementWeights"].is_null());
        assert_eq!(
            app.data(WEIGHTS, json!({})).await["engagementWeights"]["version"],
            0
        );

        // Stale versions are conflicts, also for an input that would change nothing.
        for input in [
            json!({ "version": 3, "events": 1 }),
            json!({ "version": 3 }),
            json!({ "version": 3, "events": 2 }),
        ] {
            let (code, message) = staff.error(UPDATE, json!({ "i": input })).await;
            assert_eq!(code, "CONFLICT", "{input}: {message}");
            assert_eq!(
                message,
                "the weights are still the defaults (version 0), not version 3; reload them and try again",
                "{input}"
            );
        }

        // Engagement counts three times as much: Gjøl's lead outweighs Naturlegeplads'
        // potential. Havnebad 6 + 15, Shelterplads 4 + 15 + 0.5, Naturlegeplads 10 + 7.5 + 1.
        let before = ranking(&staff.data(PRIORITIES, json!({ "year": 2025 })).await);
        assert_eq!(before[0].0, "Naturlegeplads");
        let p = staff
            .data(UPDATE, json!({ "i": { "version": 0, "priorityEngagement": 3 } }))
            .await["updateEngagementWeights"]
            .clone();
        assert_eq!(p["userErrors"], json!([]));
        assert_eq!(p["engagementWeights"]["priorityEngagement"], 3.0);
        assert_eq!(
            p["engagementWeights"]["priorityPotential"], 2.0,
            "the others stay"
        );
        assert_eq!(p["engagementWeights"]["version"], 1);
        assert!(p["engagementWeights"]["updatedAt"].is_string());
        assert_eq!(
            ranking(&staff.data(PRIORITIES, json!({ "year": 2025 })).await),
            ranked(&[
                ("Havnebad", 21.0),
                ("Shelterplads", 19.5),
                ("Naturlegeplads", 18.5),
                ("Cykelsti", 13.5),
                ("Forsamlingshus", 8.0),
            ])
        );

        // An engagement weight changes the figures: events no longer count, participants do.
        let p = staff
            .data(UPDATE, json!({ "i": { "version": 1, "events": 0 } }))
            .await["updateEngagementWeights"]
            .clone();
        assert_eq!(p["engagementWeights"]["version"], 2);
        let e = app
            .data(
                "query($id: ID!) { community(id: $id) { engagement(window: { from: \"2024-01-01\", to: \"2024-12-31\" }) { total components { key weight points } } } }",
                json!({ "id": global_id("Community", w.gjol) }),
            )
            .await;
        let e = &e["community"]["engagement"];
        assert_eq!(e["total"], 7.0, "{e}");
        assert_eq!(
            e["components"][1],
            json!({ "key": "EVENTS", "weight": 0.0, "points": 0.0 })
        );
        // The same base version again is stale.
        assert_eq!(
            staff
                .error(UPDATE, json!({ "i": { "version": 1, "events": 1 } }))
                .await
                .0,
            "CONFLICT"
        );

        // Audited: who changed which weight, before and after.
        let log = staff
            .data(
                "{ auditLog(filter: { entityType: \"EngagementWeights\" }) { nodes { operation actor { label } changes } } }",
                json!({}),
            )
            .await;
        let nodes = log["auditLog"]["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), 2, "{log}");
        let changes: Vec<&Value> = nodes.iter().map(|n| &n["changes"]).collect();
        assert!(
            changes
                .iter()
                .any(|c| c["events"] == json!({ "before": 2.0, "after": 0.0 })),
            "{log}"
        );
        assert!(
            changes
                .iter()
                .any(|c| c["priority_engagement"]["after"] == json!(3.0)),
            "{log}"
        );

        // A change of nothing (no weight, or only the values in force) is no change: same
        // version, no audit record.
        for input in [json!({ "version": 2 }), json!({ "version": 2, "events": 0 })] {
            let p = staff.data(UPDATE, json!({ "i": input })).await["updateEngagementWeights"].clone();
            assert_eq!(p["userErrors"], json!([]), "{p}");
            assert_eq!(p["engagementWeights"]["version"], 2, "{input}: {p}");
        }
        assert_eq!(
            app.data(WEIGHTS, json!({})).await["engagementWeights"]["version"],
            2
        );
        // ... but only at the version in force: a stale one, behind or ahead, is a conflict.
        for input in [
            json!({ "version": 7, "events": 0 }),
            json!({ "version": 7 }),
            json!({ "version": 0 }),
            json!({ "version": 1, "events": 0 }),
        ] {
            let (code, message) = staff.error(UPDATE, json!({ "i": input })).await;
            assert_eq!(code, "CONFLICT", "{input}: {message}");
            let given = &input["version"];
            assert_eq!(
                message,
                format!("the weights are at version 2, not version {given}; reload them and try again"),
                "{input}"
            );
        }
        assert_eq!(
            app.data(WEIGHTS, json!({})).await["engagementWeights"]["version"],
            2
        );
        let log = staff
            .data(
                "{ auditLog(filter: { entityType: \"EngagementWeights\" }) { totalCount } }",
                json!({}),
            )
            .await;
        assert_eq!(log["auditLog"]["totalCount"], 2, "{log}");
        // -0 is kept as 0 on both databases (PostgreSQL had answered -0, printed in reports).
        let p = staff
            .data(
                UPDATE,
                json!({ "i": { "version": 2, "priorityPotential": -0.0 } }),
            )
            .await["updateEngagementWeights"]
            .clone();
        assert_eq!(p["userErrors"], json!([]), "{p}");
        let w = app.data(WEIGHTS, json!({})).await["engagementWeights"].clone();
        assert_eq!(w["priorityPotential"].to_string(), "0.0", "{w}");
    }
);

both!(
    scores_are_the_sum_of_the_points_shown_and_communities_sort_as_danish,
    |app: TestApp| async move {
        let fx = Fixture::new(&app.db);
        let staff = app.signed_in(As::Staff, &[], None).await;
        let mut aabybro = None;
        for (slug, name) in [
            ("aabybro", "Aabybro"),
            ("oeland", "Øland"),
            ("vester-hjermitslev", "Vester Hjermitslev"),
            ("birkelse", "Birkelse"),
        ] {
            let c = fx.community(slug, name).await;
            let plan = fx
                .plan(c, &format!("{name} 2027"), PlanStatus::Adopted, 2024, 2027)
                .await;
            let mut m = fx.action_model(plan, "Handling");
            m.potential = sea_orm::Set(Some(3));
            m.seeking_partners = sea_orm::Set(true);
            fx.insert_action(m).await;
            aabybro.get_or_insert(c);
        }
        let d = staff.data(PRIORITIES, json!({ "year": 2025 })).await;
        let names: Vec<&str> = d["priorities"]["balance"]["byCommunity"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["community"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["Birkelse", "Vester Hjermitslev", "Øland", "Aabybro"]);

        // Weights whose raw products round up: 3 × 0.002 = 0.006 and 1 × 0.006 show as 0.01
        // each, so the score is 0.02 (not the rounded raw sum 0.01).
        let p = staff
            .data(
                UPDATE,
                json!({ "i": { "version": 0, "priorityPotential": 0.002, "prioritySeekingPartners": 0.006,
                               "priorityEngagement": 0, "priorityCommittedPartners": 0,
                               "events": 0.006, "participants": 0.006 } }),
            )
            .await["updateEngagementWeights"]
            .clone();
        assert_eq!(p["userErrors"], json!([]), "{p}");
        let d = staff.data(PRIORITIES, json!({ "year": 2025 })).await;
        for node in d["priorities"]["ranking"]["nodes"].as_array().unwrap() {
            let points: Vec<f64> = node["components"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["points"].as_f64().unwrap())
                .collect();
            assert_eq!(points, [0.01, 0.0, 0.0, 0.01], "{node}");
            assert_eq!(node["score"], 0.02, "{node}");
        }
        // Likewise engagement: one event of one participant, 0.006 each.
        let c = aabybro.unwrap();
        let e = fx.event(c, None, "Møde", date(2025, 3, 1)).await;
        fx.set("engagement_event", e, "participants", 1).await;
        let e = app
            .data(
                "query($id: ID!) { community(id: $id) { engagement(window: { from: \"2025-01-01\", to: \"2025-12-31\" }) { total components { points } } } }",
                json!({ "id": global_id("Community", c) }),
            )
            .await;
        let e = &e["community"]["engagement"];
        assert_eq!(e["components"][1]["points"], 0.01, "{e}");
        assert_eq!(e["components"][2]["points"], 0.01, "{e}");
        assert_eq!(e["total"], 0.02, "{e}");
    }
);

//! The public website's queries, exactly as the website sends them.
use lup_tests::{
    TestApp, both,
    fixture::{DepartmentRole, Fixture, MemberRole, OrganizationKind, PartnershipStatus, Party, PlanStatus},
};
use serde_json::json;

/// The website's community-page query, as it sends it (the benchmark runs the same file).
pub const COMMUNITY_PAGE: &str = include_str!("../../queries/community-page.graphql");

both!(community_page, |app: TestApp| async move {
    let fx = Fixture::new(&app.db);
    let gjol = fx.community("gjoel", "Gjøl").await;
    fx.plan(gjol, "Gjøl 2019–2022", PlanStatus::Archived, 2019, 2022)
        .await;
    let plan = fx
        .plan(
            gjol,
            "Udviklingsplan for Gjøl 2024–2027",
            PlanStatus::Adopted,
            2024,
            2027,
        )
        .await;
    fx.plan(gjol, "Gjøl 2028–2031 (kladde)", PlanStatus::Draft, 2028, 2031)
        .await;
    let natur = fx.theme("natur", "Natur og friluftsliv").await;
    let vand = fx.department("vand-og-natur", "Vand og Natur").await;
    let forening = fx
        .organization(
            "gjoel-borgerforening",
            "Gjøl Borgerforening",
            OrganizationKind::Association,
            Some(gjol),
        )
        .await;
    let shelter = fx.action(plan, "Shelterplads ved fjorden").await;
    fx.tag_action(shelter, natur).await;
    fx.action_department(shelter, vand, DepartmentRole::Lead).await;
    let p = fx
        .partnership(
            Some(shelter),
            None,
            "Shelterpartnerskabet",
            PartnershipStatus::Active,
        )
        .await;
    fx.member(p, Party::Organization(forening), MemberRole::Lead)
        .await;
    fx.member(p, Party::Community(gjol), MemberRole::Partner).await;
    fx.member(p, Party::Department(vand), MemberRole::Advisor).await;

    let data = app.data(COMMUNITY_PAGE, json!({ "slug": "gjoel" })).await;
    let c = &data["community"];
    assert_eq!(c["name"], "Gjøl");
    let plan = &c["currentPlan"];
    assert_eq!(
        plan["title"], "Udviklingsplan for Gjøl 2024–2027",
        "the adopted plan, not the draft"
    );
    assert_eq!(plan["status"], "ADOPTED");
    assert_eq!(plan["statusLabel"], "Vedtaget");
    assert_eq!(plan["actions"]["totalCount"], 1);
    let action = &plan["actions"]["edges"][0]["node"];
    assert_eq!(action["title"], "Shelterplads ved fjorden");
    assert_eq!(action["themes"][0]["name"], "Natur og friluftsliv");
    assert_eq!(action["departments"][0]["department"]["name"], "Vand og Natur");
    assert_eq!(action["departments"][0]["role"], "LEAD");
    let members = &action["partnerships"]["edges"][0]["node"]["members"];
    assert_eq!(members[0]["role"], "LEAD", "the lead first");
    assert_eq!(members[0]["party"]["__typename"], "Organization");
    assert_eq!(members[0]["party"]["name"], "Gjøl Borgerforening");
    let kinds: Vec<&str> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["party"]["__typename"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.len(), 3);
    assert!(kinds.contains(&"Community") && kinds.contains(&"Department"));

    let none = app.data(COMMUNITY_PAGE, json!({ "slug": "findes-ikke" })).await;
    assert!(
        none["community"].is_null(),
        "an unknown slug is null, not an error"
    );
});

both!(communities_list_form, |app: TestApp| async move {
    let fx = Fixture::new(&app.db);
    fx.programme(3, 2).await;
    let query = "query($n: Int!) { communities(first: $n) { edges { node { name plans(first: 5) { edges { node { title actions(first: 50) { edges { node { title } } } } } } } } } }";
    let data = app.data(query, json!({ "n": 2 })).await;
    let edges = data["communities"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 2);
    let plans = edges[0]["node"]["plans"]["edges"].as_array().unwrap();
    assert_eq!(plans.len(), 1, "only the adopted plan is public");
    assert_eq!(plans[0]["node"]["actions"]["edges"].as_array().unwrap().len(), 2);
});

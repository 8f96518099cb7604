//! Compiled reads answer exactly what the loaders answer: the same queries, as every role, on
//! a server with compiled reads and on a sibling without them over the same database. Drafts,
//! private contacts and other partners' proposals stay out of reach on both paths.
use lup_tests::{
    As, TestApp, both,
    fixture::{MemberRole, OrganizationKind, PartnershipStatus, Party, PlanStatus, date},
};
use serde_json::{Value, json};

/// Most of the graph under communities, with every kind of nested list.
const COMMUNITIES: &str = r#"
query Everything {
  communities(first: 10) { totalCount nodes {
    name
    currentPlan { title status community { name } }
    plans(first: 5) { totalCount pageInfo { hasNextPage hasPreviousPage } nodes {
      title status
      themes { name }
      involvement { role organization { name } plan { title } }
      engagementEvents(first: 5) { totalCount nodes { title organizations { name } plan { title } } }
      partnerships(first: 5) { nodes { title status } }
      actions(first: 50) { totalCount edges { cursor node {
        title status horizon progress createdAt updatedAt
        plan { title createdAt }
        themes { name }
        departments { role contribution department { name } action { title } }
        leadOrganization { name }
        updates(first: 3) { totalCount nodes { body action { title } } }
        originExchange { title }
        partnerships(first: 10) { totalCount nodes {
          title status updatedAt proposedBy { name } action { title } plan { title }
          members { role party { __typename ... on Organization { name } ... on Community { name } ... on Department { name } } partnership { title } }
        } }
      } } }
    } }
    last: plans(last: 1) { totalCount pageInfo { hasNextPage hasPreviousPage } edges { cursor node { title } } }
    actions(first: 10) { totalCount nodes { title } }
    organizations(first: 10) { nodes {
      name community { name } contacts { name email phone }
      ledActions(first: 5) { nodes { title } }
      partnerships(first: 5) { nodes { title } }
      ideas(first: 5) { nodes { title } }
      planInvolvement { role plan { title } }
    } }
    ideas(first: 5) { nodes { title community { name } themes { name } exchanges(first: 5) { nodes { title } } } }
    exchanges(first: 5) { nodes { title initiator { name } participants { name } resultingActions { title } idea { title } } }
    engagementEvents(first: 5) { nodes { title plan { title } community { name } } }
    partnerships(first: 5) { nodes { title members { role } } }
    contacts { name email phone isPublic community { name } }
  } }
}"#;

/// The other root lists, each with some of its nested lists.
const ROOTS: &str = r#"
query Roots {
  plans(first: 20) { totalCount nodes { title community { name currentPlan { title } } actions(first: 10) { nodes { title themes { name } } } } }
  actions(first: 20) { totalCount nodes { title plan { title status } departments { department { name } } partnerships(first: 3) { nodes { title members { party { __typename } } } } } }
  themes(first: 10) { nodes { name plans(first: 5) { nodes { title } } actions(first: 5) { totalCount nodes { title } } ideas(first: 5) { nodes { title } } } }
  departments(first: 10) { nodes { name contacts { name email } actions(first: 5) { nodes { title plan { title } } } partnerships(first: 5) { nodes { title } } } }
  organizations(first: 10) { nodes { name contacts { name email } partnerships(first: 5) { nodes { title status } } } }
  ideas(first: 10) { nodes { title exchanges(first: 3) { nodes { title participants { name } } } } }
  ideaExchanges(first: 10) { nodes { title resultingActions { title plan { title } } } }
  partnerships(first: 20) { nodes { title status proposedBy { name } members { role party { __typename } } } }
}"#;

/// Two roots sharing rows (the plans' communities' current plans), one showing long texts the
/// other leaves out: what one part of a query shows is never left out for another.
const SHARED: &str = r#"
query Shared {
  a: community(slug: "aabybro") { name currentPlan { title actions(first: 5) { nodes { title } } } }
  b: plans(first: 10) { nodes { title vision community { description currentPlan { summary vision actions(first: 5) { nodes { title description } } } } } }
  c: communities(first: 10) { nodes { name currentPlan { title } } }
}"#;

/// The same actions under two roots, one showing a community's description and the other the
/// actions' own long text and bookkeeping through fragments: what is left out follows the
/// types, so the actions' descriptions are still there.
const FRAGMENTS: &str = r#"
query Fragments {
  a: community(slug: "aabybro") { description currentPlan { actions(first: 5) { nodes { title } } } }
  b: community(slug: "aabybro") { slug currentPlan { adoptedOn ...PlanActions } }
}
fragment PlanActions on Plan { actions(first: 5) { nodes { ...ActionTexts } } }
fragment ActionTexts on Action {
  title description createdAt updatedAt version startOn dueOn completedOn budgetEstimate
  themes { slug }
  departments { department { slug } }
  partnerships(first: 5) { nodes { startsOn endsOn members { amountDkk party { ... on Organization { slug website } } } } }
}
"#;

/// One page reached by two paths, one showing the list's size and one not: each answers as
/// the loaders would.
const TOTALS: &str = r#"
query Totals {
  community(slug: "aabybro") {
    currentPlan { community { plans(first: 5) { totalCount pageInfo { hasNextPage } nodes { title } } } }
    plans(first: 5) { nodes { title } }
    location { latitude longitude }
  }
  plans(first: 10) { nodes { community { location { latitude longitude } plans(first: 1) { pageInfo { hasNextPage } } } } }
}"#;

/// The website's page for each community.
const PAGE: &str = include_str!("../../queries/community-page.graphql");

/// Communities with adopted and draft plans, contacts public and private, a partner's pending
/// proposal, ideas, exchanges, events and involvement.
async fn world(app: &TestApp) -> (uuid::Uuid, uuid::Uuid, uuid::Uuid) {
    let fx = lup_tests::fixture::Fixture::new(&app.db);
    fx.programme(3, 3).await;
    let a = fx.community("aabybro", "Aabybro").await;
    // More digits than SQLite's JSON writes by default.
    fx.set("community", a, "latitude", 57.123456789012344_f64).await;
    fx.set("community", a, "longitude", 9.876543210987654_f64).await;
    let adopted = fx
        .plan(a, "Aabybro 2024–2027", PlanStatus::Adopted, 2024, 2027)
        .await;
    let consultation = fx
        .plan(a, "Aabybro 2028–2031", PlanStatus::Draft, 2028, 2031)
        .await;
    let hidden = fx.action(consultation, "Hemmelig handling i kladden").await;
    // A plan in consultation is public, with its actions.
    let hearing = fx
        .plan(a, "Aabybro 2032–2035", PlanStatus::Consultation, 2032, 2035)
        .await;
    fx.action(hearing, "Høringshandling ved åen").await;
    let open = fx.action(adopted, "Legeplads ved skolen").await;
    fx.set("action", open, "description", "En ny legeplads til skolens børn")
        .await;
    // Values of the columns a compiled read leaves out where no field shows them.
    fx.set("action", open, "due_on", date(2027, 6, 30)).await;
    fx.set("action", open, "budget_estimate", 250_000_i64).await;
    let natur = fx.theme("natur-aabybro", "Natur").await;
    fx.tag_plan(adopted, natur).await;
    fx.tag_plan(consultation, natur).await;
    fx.tag_action(hidden, natur).await;
    fx.contact("Offentlig Olsen", true, Some(a)).await;
    fx.contact("Privat Pedersen", false, Some(a)).await;
    let partner = fx
        .organization("nordfonden", "Nordfonden", OrganizationKind::Foundation, None)
        .await;
    let forening = fx
        .organization(
            "aabybro-forening",
            "Aabybro Forening",
            OrganizationKind::Association,
            Some(a),
        )
        .await;
    fx.involvement(adopted, forening).await;
    fx.involvement(consultation, forening).await;
    let proposal = fx
        .partnership(
            Some(open),
            None,
            "Nordfondens forslag",
            PartnershipStatus::Proposed,
        )
        .await;
    fx.set("partnership", proposal, "proposed_by_organization_id", partner)
        .await;
    fx.set("partnership", proposal, "starts_on", date(2026, 5, 1))
        .await;
    fx.set("organization", partner, "website", "https://nordfonden.dk")
        .await;
    fx.member(proposal, Party::Organization(partner), MemberRole::Partner)
        .await;
    // Another partner's pending proposal: the proposer's, the editors' and staff's only.
    let other_partner = fx
        .organization("kystfonden", "Kystfonden", OrganizationKind::Foundation, None)
        .await;
    let other_proposal = fx
        .partnership(
            Some(open),
            None,
            "Kystfondens forslag",
            PartnershipStatus::Proposed,
        )
        .await;
    fx.set(
        "partnership",
        other_proposal,
        "proposed_by_organization_id",
        other_partner,
    )
    .await;
    fx.member(
        other_proposal,
        Party::Organization(other_partner),
        MemberRole::Partner,
    )
    .await;
    let secret = fx
        .partnership(
            Some(hidden),
            None,
            "Partnerskab om kladden",
            PartnershipStatus::Active,
        )
        .await;
    fx.member(secret, Party::Organization(forening), MemberRole::Lead)
        .await;
    fx.event(a, Some(consultation), "Borgermøde om kladden", date(2026, 3, 1))
        .await;
    fx.event(a, Some(adopted), "Arbejdsdag", date(2026, 4, 1)).await;
    let idea = fx.idea(Some(a), "Fælles bålplads").await;
    fx.tag_idea(idea, natur).await;
    let other = fx.community("birkelse", "Birkelse").await;
    fx.exchange(Some(idea), a, &[other], "Besøg i Birkelse", &[open, hidden])
        .await;
    (a, partner, other)
}

/// The answer of `query` from both servers as `who`: they must be equal; returns it.
async fn same(compiled: &TestApp, loaders: &TestApp, who: &TestApp, query: &str, variables: Value) -> Value {
    let a = who.on(compiled).post(query, variables.clone()).await;
    let b = who.on(loaders).post(query, variables).await;
    assert!(a.get("errors").is_none(), "errors on the compiled path: {a:#}");
    assert_eq!(a, b, "the compiled path and the loaders answer differently");
    a
}

fn count(v: &Value, needle: &str) -> usize {
    v.to_string().matches(needle).count()
}

both!(
    both_paths_answer_alike_for_every_role,
    |app: TestApp| async move {
        let (community, partner, birkelse) = world(&app).await;
        let loaders = app.sibling(|c| c.compiled_reads = false).await;
        for role in As::ALL {
            let who = app.signed_in(role, &[community], Some(partner)).await;
            let before = (app.sql_statements(), loaders.sql_statements());
            let everything = same(&app, &loaders, &who, COMMUNITIES, json!({})).await;
            let statements = (
                app.sql_statements() - before.0,
                loaders.sql_statements() - before.1,
            );
            // Without this the comparison could pass with the compiled path never taken.
            assert!(
                statements.0 * 4 < statements.1,
                "{}: {} statements compiled, {} through the loaders",
                role.name(),
                statements.0,
                statements.1
            );
            same(&app, &loaders, &who, ROOTS, json!({})).await;
            let totals = same(&app, &loaders, &who, TOTALS, json!({})).await;
            assert!(
                totals["data"]["community"]["currentPlan"]["community"]["plans"]["totalCount"]
                    .as_i64()
                    .is_some_and(|n| n >= 1),
                "{totals}"
            );
            assert_eq!(
                totals["data"]["community"]["location"]["latitude"],
                57.123456789012344
            );
            let shared = same(&app, &loaders, &who, SHARED, json!({})).await;
            assert_eq!(
                count(&shared, "\"vision\":\"\""),
                0,
                "no vision left out: {shared}"
            );
            assert!(
                count(&shared, "En ny legeplads") > 0,
                "an action's description where it is shown: {shared}"
            );
            let fragments = same(&app, &loaders, &who, FRAGMENTS, json!({})).await;
            assert!(
                count(&fragments, "En ny legeplads") > 0
                    && count(&fragments, "2027-06-30") > 0
                    && count(&fragments, "250000") > 0
                    && count(&fragments, "\"slug\":\"aabybro\"") > 0
                    && count(&fragments, "1970-01-01") == 0,
                "the actions' texts and times where a fragment shows them: {fragments}"
            );
            for slug in ["aabybro", "by-0", "by-1", "birkelse", "ingen"] {
                same(&app, &loaders, &who, PAGE, json!({ "slug": slug })).await;
            }
            let sees_drafts = matches!(role, As::CommunityEditor | As::Staff | As::Admin);
            let sees_private = sees_drafts;
            assert_eq!(
                count(&everything, "Hemmelig handling i kladden") > 0,
                sees_drafts,
                "{}: a draft plan's action",
                role.name()
            );
            assert!(
                count(&everything, "Høringshandling ved åen") > 0,
                "{}: a plan in consultation's action is public",
                role.name()
            );
            assert_eq!(
                count(&everything, "Partnerskab om kladden") > 0,
                sees_drafts,
                "{}: a partnership of a hidden action",
                role.name()
            );
            assert_eq!(
                count(&everything, "Privat Pedersen") > 0,
                sees_private,
                "{}: a private contact",
                role.name()
            );
            assert_eq!(
                count(&everything, "Nordfondens forslag") > 0,
                role != As::Anonymous,
                "{}: a partner's pending proposal is the partner's, the editors' and staff's",
                role.name()
            );
            assert_eq!(
                count(&everything, "Kystfondens forslag") > 0,
                sees_drafts,
                "{}: another partner's pending proposal",
                role.name()
            );
            assert_eq!(
                count(&everything, "Plan 0 2027") > 0,
                matches!(role, As::Staff | As::Admin),
                "{}: another community's draft",
                role.name()
            );
        }
        // An editor of another community sees none of this community's drafts, private
        // contacts or proposals, on either path.
        let stranger = app.signed_in(As::CommunityEditor, &[birkelse], None).await;
        let seen = same(&app, &loaders, &stranger, COMMUNITIES, json!({})).await;
        for hidden in [
            "Hemmelig handling i kladden",
            "Partnerskab om kladden",
            "Privat Pedersen",
            "Nordfondens forslag",
            "Kystfondens forslag",
        ] {
            assert_eq!(count(&seen, hidden), 0, "an editor of Birkelse sees {hidden}");
        }
        assert!(
            count(&seen, "Høringshandling ved åen") > 0,
            "a plan in consultation is public"
        );
        same(&app, &loaders, &stranger, PAGE, json!({ "slug": "aabybro" })).await;
        // Every compiled read was decoded (a relation that failed would fall back to the
        // loaders and still answer alike).
        assert_eq!(app.metric("lup_compiled_read_fallbacks_total").await, 0);
        loaders.stop().await;
    }
);

//! Danish text: æ, ø, å (and their capitals) and the en dash come back exactly as stored, and
//! the text filter finds Danish names whatever their case, on SQLite as on PostgreSQL.
use lup_tests::{
    TestApp, both,
    fixture::{DepartmentRole, Fixture, OrganizationKind, PartnershipStatus, PlanStatus, date},
};
use serde_json::{Value, json};

use crate::support::texts;

const COMMUNITY: &str = "Ærø – Øster Åby";
const DESCRIPTION: &str = "Æbler, øl og ål på Ærø – året rundt. ÆØÅ æøå";
const PLAN: &str = "Udviklingsplan for Øster Åby 2024–2027";
const VISION: &str = "Vi vil være Danmarks grønneste ø – med plads til alle";
const ACTION: &str = "Sø-sti ved Ålbæk – etape 2";
const NEEDS: &str = "Frivillige med båd – og en tømrer";
const ORGANIZATION: &str = "Åbybro Ældreråd";
const THEME: &str = "Grøn omstilling – Æ, Ø og Å";
const DEPARTMENT: &str = "Børn og Unge – Ældre";
const CONTACT: &str = "Søren Ødegård";
const UPDATE: &str = "Vi har ryddet ålegræs – næste skridt: bænke";
const PARTNERSHIP: &str = "Fællesskabet om søen";
/// "Å" as A and a combining ring: not the same bytes as "Å", and must not be made so.
const DECOMPOSED: &str = "A\u{30A}lborg – Gjøl";

both!(danish_text_round_trips, |app: TestApp| async move {
    let fx = Fixture::new(&app.db);
    let c = fx.community("aeroe", COMMUNITY).await;
    fx.set("community", c, "description", DESCRIPTION).await;
    fx.community("aalborg", DECOMPOSED).await;
    let plan = fx.plan(c, PLAN, PlanStatus::Adopted, 2024, 2027).await;
    fx.set("plan", plan, "vision", VISION).await;
    let org = fx
        .organization(
            "aabybro-aeldreraad",
            ORGANIZATION,
            OrganizationKind::Association,
            Some(c),
        )
        .await;
    let theme = fx.theme("groen-omstilling", THEME).await;
    let dept = fx.department("boern-og-unge", DEPARTMENT).await;
    fx.contact(CONTACT, true, Some(c)).await;
    let mut m = fx.action_model(plan, ACTION);
    m.partner_needs = sea_orm::Set(Some(NEEDS.to_owned()));
    m.seeking_partners = sea_orm::Set(true);
    let action = fx.insert_action(m).await;
    fx.tag_action(action, theme).await;
    fx.action_department(action, dept, DepartmentRole::Lead).await;
    fx.update(action, UPDATE, date(2025, 5, 1)).await;
    fx.partnership(Some(action), None, PARTNERSHIP, PartnershipStatus::Active)
        .await;
    let _ = org;

    let d = app
        .data(
            r#"query($slug: String!) { community(slug: $slug) {
                name description
                contacts { name }
                organizations { edges { node { name } } }
                currentPlan { title vision actions { edges { node {
                    title partnerNeeds
                    themes { name }
                    departments { department { name } }
                    updates { edges { node { body authorName } } }
                    partnerships { edges { node { title } } }
                } } } }
            } }"#,
            json!({ "slug": "aeroe" }),
        )
        .await;
    let c = &d["community"];
    let a = &c["currentPlan"]["actions"]["edges"][0]["node"];
    for (got, want) in [
        (&c["name"], COMMUNITY),
        (&c["description"], DESCRIPTION),
        (&c["contacts"][0]["name"], CONTACT),
        (&c["organizations"]["edges"][0]["node"]["name"], ORGANIZATION),
        (&c["currentPlan"]["title"], PLAN),
        (&c["currentPlan"]["vision"], VISION),
        (&a["title"], ACTION),
        (&a["partnerNeeds"], NEEDS),
        (&a["themes"][0]["name"], THEME),
        (&a["departments"][0]["department"]["name"], DEPARTMENT),
        (&a["updates"]["edges"][0]["node"]["body"], UPDATE),
        (&a["updates"]["edges"][0]["node"]["authorName"], "Mette Sørensen"),
        (&a["partnerships"]["edges"][0]["node"]["title"], PARTNERSHIP),
    ] {
        let got = got.as_str().unwrap_or_else(|| panic!("no {want:?} in {d:#}"));
        assert_eq!(got.as_bytes(), want.as_bytes(), "{got:?} is stored as {want:?}");
    }

    // The decomposed form stays decomposed (nothing normalises text on the way).
    let d = app
        .data(r#"{ community(slug: "aalborg") { name } }"#, json!({}))
        .await;
    assert_eq!(
        d["community"]["name"].as_str().unwrap().as_bytes(),
        DECOMPOSED.as_bytes()
    );
    assert_ne!(DECOMPOSED.as_bytes(), "Ålborg – Gjøl".as_bytes());

    // Danish text in the query document itself, not only in variables.
    let d = app
        .data(
            r#"{ communities(filter: { text: "ærø – øster" }) { edges { node { name } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(texts(&d["communities"], "name"), [COMMUNITY]);
});

const SEARCH: &str = r#"query($t: String!) {
  communities(filter: { text: $t }) { edges { node { name } } }
  plans(filter: { text: $t }) { edges { node { title } } }
  actions(filter: { text: $t }) { edges { node { title } } }
  organizations(filter: { text: $t }) { edges { node { name } } }
}"#;

async fn search(app: &TestApp, text: &str) -> (Vec<String>, Vec<String>, Vec<String>, Vec<String>) {
    let d = app.data(SEARCH, json!({ "t": text })).await;
    (
        texts(&d["communities"], "name"),
        texts(&d["plans"], "title"),
        texts(&d["actions"], "title"),
        texts(&d["organizations"], "name"),
    )
}

both!(text_filter_folds_danish_letters, |app: TestApp| async move {
    let fx = Fixture::new(&app.db);
    let gjol = fx.community("gjoel", "Gjøl").await;
    let oland = fx.community("oeland", "Øland").await;
    fx.community("oerebro", "Ørebro").await;
    fx.community("aabybro", "Aabybro").await;
    fx.plan(oland, "Udviklingsplan for Øland", PlanStatus::Adopted, 2024, 2027)
        .await;
    let plan = fx
        .plan(gjol, "Gjøl – sammen om fjorden", PlanStatus::Adopted, 2024, 2027)
        .await;
    fx.action(plan, "ÅLEGRÆS I LIMFJORDEN").await;
    fx.action(plan, "Æbleplantage ved Ærøvej").await;
    fx.organization(
        "oeland-ks",
        "ØLAND KULTURSAMVIRKE",
        OrganizationKind::Association,
        Some(oland),
    )
    .await;

    // Lowercase letters stored, searched in any case.
    for t in ["gjøl", "Gjøl", "GJØL", "gJøL"] {
        let (c, p, _, _) = search(&app, t).await;
        assert_eq!(c, ["Gjøl"], "communities by {t:?}");
        assert_eq!(p, ["Gjøl – sammen om fjorden"], "plans by {t:?}");
    }
    // Capital Æ, Ø, Å stored, searched in any case.
    for t in ["øland", "Øland", "ØLAND", "øLaNd"] {
        let (c, p, _, o) = search(&app, t).await;
        assert_eq!(c, ["Øland"], "communities by {t:?}");
        assert_eq!(p, ["Udviklingsplan for Øland"], "plans by {t:?}");
        assert_eq!(o, ["ØLAND KULTURSAMVIRKE"], "organizations by {t:?}");
    }
    for t in ["ålegræs", "Ålegræs", "ÅLEGRÆS"] {
        let (_, _, a, _) = search(&app, t).await;
        assert_eq!(a, ["ÅLEGRÆS I LIMFJORDEN"], "actions by {t:?}");
    }
    for t in ["æble", "Æble", "ÆBLE", "ærøvej"] {
        let (_, _, a, _) = search(&app, t).await;
        assert_eq!(a, ["Æbleplantage ved Ærøvej"], "actions by {t:?}");
    }
    let (c, _, _, _) = search(&app, "ørebro").await;
    assert_eq!(c, ["Ørebro"]);
    // No transliteration: "aa" is not "å", "oe" is not "ø".
    let (c, _, _, _) = search(&app, "åbybro").await;
    assert!(c.is_empty(), "{c:?}");
    let (c, _, _, _) = search(&app, "oeland").await;
    assert!(c.is_empty(), "{c:?}");
    // The en dash is a character like any other.
    let (_, p, _, _) = search(&app, "gjøl – sammen").await;
    assert_eq!(p, ["Gjøl – sammen om fjorden"]);
    let (_, p, _, _) = search(&app, "gjøl - sammen").await;
    assert!(p.is_empty(), "a hyphen is not an en dash");
});

/// Names in Danish order, as PostgreSQL's ICU (`da-DK`) sorts them: spaces and punctuation
/// before digits before letters; Æ, Ø and Å after Z, Aa as Å (Aabybro after Åbo); letters
/// alike whatever their case and accents (Čović beside Covic, Guðrún beside Gudrun), then
/// capitals and unaccented forms first; a decomposed Å (A and a combining ring) as Å. Byte
/// order (SQLite's own, PostgreSQL's `C.UTF-8`) puts Aabybro first, Ł after every Latin-1
/// letter and small letters after
/// every capital; an English collation puts Ø among the O's.
const DANISH_ORDER: [&str; 39] = [
    "\"Gl. Skole\"",
    "3F Brovst",
    "Arentsminde",
    "biersted",
    "Covic",
    "Čović",
    // D with a stroke, then eth: Ds with an accent, after the others.
    "Đokić",
    "Dokken",
    "Ðokken",
    "Elev",
    "elev",
    "Élev",
    "Gudrun",
    "Guðrún",
    // Greenlandic kra: a letter after q.
    "Kaqortoq",
    "Kaĸortoĸ",
    "Lodsvej",
    "Łódź-venskab",
    "Oedipus",
    "Œdipus",
    "Skovsgaard",
    "Skovsgård Øst",
    // The capital sharp s: ss.
    "\u{1E9E}by",
    "Sønder Saltum",
    "Søndergaard",
    "Vester Hjermitslev",
    "Vester-Hjermitslev",
    // Ű and Ő as Danish has them: a Y and an Ø.
    "Űby",
    "Ærø",
    "Őby",
    "Øland",
    "Ørebro",
    "Åbo",
    // Å with an acute.
    "Ǻbo",
    "Aabybro",
    "Aabybro – byen ved åen",
    "Aabybro 2030 – forslag",
    "A\u{30A}lborg",
    "Ålborg By",
];

both!(names_sort_the_danish_way, |app: TestApp| async move {
    let fx = Fixture::new(&app.db);
    let mut plan = None;
    for (i, name) in DANISH_ORDER.iter().rev().enumerate() {
        let c = fx.community(&format!("by-{i}"), name).await;
        let p = fx.plan(c, name, PlanStatus::Adopted, 2024, 2027).await;
        plan.get_or_insert(p);
    }
    let plan = plan.unwrap();
    for name in [DANISH_ORDER[5], DANISH_ORDER[7], DANISH_ORDER[0], DANISH_ORDER[3]] {
        fx.action(plan, name).await;
    }
    let reversed: Vec<&str> = DANISH_ORDER.iter().rev().copied().collect();
    let query = r#"query($id: ID!) {
      communities(first: 50) { edges { node { name } } }
      desc: communities(first: 50, orderBy: { field: NAME, direction: DESC }) { edges { node { name } } }
      tail: communities(last: 3) { edges { node { name } } }
      plans(first: 50) { edges { node { title } } }
      plan: node(id: $id) { ... on Plan { actions(first: 10) { edges { node { title } } } } }
    }"#;
    let id = app
        .data(
            r#"{ community(slug: "by-0") { plans(first: 1) { nodes { id } } } }"#,
            json!({}),
        )
        .await["community"]["plans"]["nodes"][0]["id"]
        .clone();
    // Through the compiled reads and through the loaders alike.
    let loaders = app.sibling(|c| c.compiled_reads = false).await;
    for server in [&app, &loaders] {
        let d = server.data(query, json!({ "id": id })).await;
        assert_eq!(texts(&d["communities"], "name"), DANISH_ORDER);
        assert_eq!(texts(&d["desc"], "name"), reversed);
        assert_eq!(texts(&d["tail"], "name"), DANISH_ORDER[DANISH_ORDER.len() - 3..]);
        assert_eq!(texts(&d["plans"], "title"), DANISH_ORDER);
        assert_eq!(
            texts(&d["plan"]["actions"], "title"),
            [DANISH_ORDER[0], DANISH_ORDER[3], DANISH_ORDER[5], DANISH_ORDER[7]]
        );
    }
    loaders.stop().await;
    // The map sorts in the server, with the same order.
    assert_eq!(map_names(&app).await, DANISH_ORDER);
});

/// The communities' names in the order the map gives them.
async fn map_names(app: &TestApp) -> Vec<String> {
    let response = app
        .client
        .get(app.url("/geo/communities.geojson"))
        .send()
        .await
        .expect("GET the map");
    assert_eq!(response.status(), 200);
    let map: Value = response.json().await.expect("GeoJSON");
    map["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| f["properties"]["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

// Names in other scripts, as PostgreSQL's ICU (`da-DK`) sorts them: capitals first within a
// letter, Ukrainian letters where ICU puts them, digits of other scripts with theirs, the
// scripts in ICU's order. SQLite and the server's own sorting (the map) agree; a Hangul name
// had crashed the server (the sort key recursed until the stack ran out).
both!(
    names_in_other_scripts_sort_as_icu_does,
    |app: TestApp| async move {
        const ICU_ORDER: [&str; 16] = [
            "3 Tal",
            "٣ ارقام",
            "Åby",
            "Βeta",
            "Ελλάδα",
            "ωmega",
            "асоціація",
            "ґанок",
            "Дружба",
            "єдність",
            "іграшка",
            "йод",
            "ქართული",
            "Հայաստան",
            "한국",
            "中国",
        ];
        let fx = Fixture::new(&app.db);
        for (i, name) in ICU_ORDER.iter().rev().enumerate() {
            fx.community(&format!("by-{i}"), name).await;
        }
        let d = app
            .data(
                "{ communities(first: 50, orderBy: { field: NAME }) { edges { node { name } } } }",
                json!({}),
            )
            .await;
        assert_eq!(texts(&d["communities"], "name"), ICU_ORDER);
        assert_eq!(map_names(&app).await, ICU_ORDER);
    }
);

/// A PostgreSQL database without the collation (migrations not run, a restore that left it
/// out) would fail every list: the server refuses to start, and says why.
#[tokio::test]
#[cfg_attr(not(postgres_tests), ignore = "skipped: TEST_DATABASE_URL is not set")]
async fn a_database_without_the_collation_is_refused_at_start() {
    use sea_orm::ConnectionTrait;
    let app = TestApp::spawn_with(lup_tests::Backend::Postgres, |_| {}).await;
    app.db
        .execute_unprepared("DROP COLLATION lup_danish")
        .await
        .expect("drop the collation");
    let mut config = lup_api::config::Config::for_database(app.database_url.clone());
    config.auto_migrate = false;
    let refused = lup_api::startup::spawn(&config)
        .await
        .err()
        .expect("a server without the collation does not start");
    assert!(
        refused.to_string().contains("no collation `lup_danish`"),
        "{refused}"
    );
    app.stop().await;
}

//! Open data: `/opendata/datapackage.json` and its CSV files. The package lists every file and
//! each file's header is its schema's fields; foreign keys resolve; nothing that is not public
//! (drafts and what hangs under them, private contacts, email addresses, pending responses,
//! internal notes, partners' proposals, draft reviews) appears in any file, whoever asks;
//! values round-trip; large tables stream in pages; `frictionless validate` finds no error.
use std::collections::{BTreeMap, BTreeSet};

use lup_tests::{
    As, TestApp, both,
    fixture::{
        DepartmentRole, Fixture, OrganizationKind, PartnershipStatus, Party, PlanStatus, ResponseStatus,
        date, global_id,
    },
};
use serde_json::{Value, json};

use crate::reports::{csv_rows, get, header};

/// Every file of the package by name (`communities`), as parsed rows, header first.
type Files = BTreeMap<String, Vec<Vec<String>>>;

async fn package(app: &TestApp) -> Value {
    let response = get(app, "/opendata/datapackage.json").await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), "application/json");
    response.json().await.expect("the descriptor is JSON")
}

/// The descriptor and every CSV it lists, fetched as `app`'s caller.
async fn fetch_all(app: &TestApp) -> (Value, Files, Vec<String>) {
    let descriptor = package(app).await;
    let mut files = Files::new();
    let mut raw = vec![descriptor.to_string()];
    for resource in descriptor["resources"].as_array().expect("resources") {
        let name = resource["name"].as_str().expect("a name").to_owned();
        let path = resource["path"].as_str().expect("a path");
        assert_eq!(path, format!("{name}.csv"), "a relative path");
        let response = get(app, &format!("/opendata/{path}")).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(
            header(&response, "content-type"),
            "text/csv; charset=utf-8; header=present"
        );
        assert_eq!(
            header(&response, "content-disposition"),
            format!("inline; filename=\"{path}\"")
        );
        assert_eq!(header(&response, "cache-control"), "public, max-age=300");
        let text = response.text().await.expect("a UTF-8 body");
        assert!(!text.starts_with('\u{feff}'), "{path}: no byte order mark");
        assert!(text.ends_with("\r\n"), "{path}: CRLF line ends");
        files.insert(name, csv_rows(&text));
        raw.push(text);
    }
    (descriptor, files, raw)
}

fn field_names(resource: &Value) -> Vec<String> {
    resource["schema"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| f["name"].as_str().expect("a field name").to_owned())
        .collect()
}

/// The values of column `field` in a parsed file.
fn column<'a>(rows: &'a [Vec<String>], field: &str) -> Vec<&'a str> {
    let i = rows[0]
        .iter()
        .position(|h| h == field)
        .unwrap_or_else(|| panic!("no column {field} in {:?}", rows[0]));
    rows[1..].iter().map(|r| r[i].as_str()).collect()
}

const FILES: [&str; 22] = [
    "communities",
    "themes",
    "departments",
    "organizations",
    "plans",
    "plan_themes",
    "plan_involvements",
    "actions",
    "action_themes",
    "action_departments",
    "action_updates",
    "partnerships",
    "partnership_members",
    "engagement_events",
    "engagement_event_organizations",
    "ideas",
    "idea_themes",
    "idea_exchanges",
    "idea_exchange_communities",
    "idea_exchange_actions",
    "annual_reviews",
    "annual_review_entries",
];

/// Secrets that must appear in no file: drafts, internal notes, a private contact's email,
/// a pending response, a partner's proposal, a draft review's remarks; what hangs under a
/// draft plan (its event, an organisation's involvement, a progress note); the name of a
/// progress note's author.
const SECRETS: [&str; 15] = [
    "Lukket møde",
    "HEMMELIG-MEDVIRKEN",
    "HEMMELIG-STATUS",
    "Mette Sørensen",
    "Kladdeplan Ulvebakken",
    "Hemmelig kladdeindsats",
    "Hemmelig handling",
    "Hemmeligt partnerskab",
    "INTERN-NOTE-PLAN",
    "INTERN-NOTE-INDSATS",
    "INTERN-NOTE-PARTNERSKAB",
    "skjult.kontakt@eksempel.dk",
    "Ventende høringssvar om støj",
    "Forslag fra Fonden, ikke besvaret",
    "UDKAST-BEMAERKNING",
];

/// The annual review's world (communities, public and draft plans, actions, a partnership, an
/// exchange), a published review of 2025 and a draft of 2024, and the secrets above.
async fn world(app: &TestApp) -> crate::annual_review::World {
    let w = crate::annual_review::world(app).await;
    let fx = Fixture::new(&app.db);
    let natur = w.natur;
    fx.tag_plan(w.gjol_plan, natur).await;
    fx.tag_action(w.actions[0], natur).await;
    let draft = fx
        .plan(w.birkelse, "Kladdeplan Ulvebakken", PlanStatus::Draft, 2026, 2030)
        .await;
    fx.tag_plan(draft, natur).await;
    let draft_action = fx.action(draft, "Hemmelig kladdeindsats").await;
    fx.tag_action(draft_action, natur).await;
    // Under the public plan: a progress note, a meeting with an organisation present, an idea
    // tagged with a theme. Under the draft: an involvement and a progress note.
    fx.update(w.actions[1], "Scenen er bestilt", date(2025, 4, 2))
        .await;
    let secret_note = fx.update(draft_action, "x", date(2025, 4, 3)).await;
    fx.set("action_update", secret_note, "body", "HEMMELIG-STATUS")
        .await;
    let secret_involvement = fx.involvement(draft, w.forening).await;
    fx.set(
        "plan_involvement",
        secret_involvement,
        "description",
        "HEMMELIG-MEDVIRKEN",
    )
    .await;
    let meeting = fx
        .event(w.gjol, None, "Arbejdsdag på havnen", date(2025, 8, 16))
        .await;
    fx.event_organization(meeting, w.forening).await;
    let idea = fx.idea(Some(w.birkelse), "Delebiler i landsbyen").await;
    fx.tag_idea(idea, natur).await;
    let plan_dept = fx.department("plan-og-byg", "Plan og Byg").await;
    fx.action_department(w.actions[0], plan_dept, DepartmentRole::Lead)
        .await;
    fx.action_department(draft_action, plan_dept, DepartmentRole::Lead)
        .await;
    fx.exchange(
        None,
        w.attrup,
        &[w.gjol],
        "Erfaringer fra havnen",
        &[w.actions[1], draft_action],
    )
    .await;
    fx.set("plan", w.gjol_plan, "internal_notes", "INTERN-NOTE-PLAN")
        .await;
    fx.set("action", w.actions[0], "internal_notes", "INTERN-NOTE-INDSATS")
        .await;
    let p = fx
        .partnership(
            Some(w.actions[0]),
            None,
            "Shelterlauget",
            PartnershipStatus::Active,
        )
        .await;
    fx.set("partnership", p, "internal_notes", "INTERN-NOTE-PARTNERSKAB")
        .await;
    fx.member(
        p,
        Party::Organization(w.forening),
        lup_tests::fixture::MemberRole::Lead,
    )
    .await;
    fx.contact("Skjult Kontakt", false, Some(w.gjol)).await;
    fx.contact("Synlig Kontakt", true, Some(w.gjol)).await;
    let hearing = fx
        .plan(w.attrup, "Attrup i høring", PlanStatus::Consultation, 2026, 2029)
        .await;
    fx.response(
        hearing,
        None,
        "Ventende høringssvar om støj",
        ResponseStatus::Pending,
    )
    .await;
    let fonden = fx
        .organization("fonden", "Fonden", OrganizationKind::Foundation, None)
        .await;
    let proposal = fx
        .partnership(
            Some(w.actions[1]),
            None,
            "Forslag fra Fonden, ikke besvaret",
            PartnershipStatus::Proposed,
        )
        .await;
    fx.set("partnership", proposal, "proposed_by_organization_id", fonden)
        .await;
    fx.member(
        proposal,
        Party::Organization(fonden),
        lup_tests::fixture::MemberRole::Partner,
    )
    .await;
    let staff = app.signed_in(As::Staff, &[], None).await;
    let draft_review = crate::annual_review::create(&staff, 2024).await;
    let published = crate::annual_review::create(&staff, 2025).await;
    let e = crate::annual_review::entry(&draft_review, "gjoel").clone();
    staff
        .data(
            crate::annual_review::ENTRY,
            json!({ "i": { "id": e["id"], "version": e["version"], "remarks": "UDKAST-BEMAERKNING" } }),
        )
        .await;
    let e = crate::annual_review::entry(&published, "gjoel").clone();
    staff
        .data(
            crate::annual_review::ENTRY,
            json!({ "i": { "id": e["id"], "version": e["version"], "remarks": "Flot år for havnen" } }),
        )
        .await;
    let published = staff
        .data(
            &crate::annual_review::q(crate::annual_review::BY_YEAR),
            json!({ "y": 2025 }),
        )
        .await["annualReview"]
        .clone();
    crate::annual_review::publish(&staff, &published).await;
    w
}

both!(
    the_package_lists_every_file_with_its_schema,
    |app: TestApp| async move {
        world(&app).await;
        let before = chrono::Utc::now() - chrono::Duration::seconds(2);
        let (descriptor, files, _) = fetch_all(&app).await;
        assert_eq!(
            descriptor["$schema"],
            "https://datapackage.org/profiles/2.0/datapackage.json"
        );
        assert_eq!(descriptor["name"], "lokale-udviklingsplaner");
        assert_eq!(
            descriptor["licenses"],
            json!([{ "name": "CC-BY-4.0", "path": "https://creativecommons.org/licenses/by/4.0/", "title": "Creative Commons Attribution 4.0" }])
        );
        let created = chrono::DateTime::parse_from_rfc3339(descriptor["created"].as_str().expect("created"))
            .expect("created is RFC 3339");
        assert!(
            created >= before,
            "created is the time it was generated: {created}"
        );
        let names: Vec<&str> = files.keys().map(String::as_str).collect();
        let mut expected = FILES.to_vec();
        expected.sort_unstable();
        assert_eq!(names, expected, "one resource per public table");
        for resource in descriptor["resources"].as_array().unwrap() {
            let name = resource["name"].as_str().unwrap();
            assert_eq!(files[name][0], field_names(resource), "{name}: header = schema");
            let widths: BTreeSet<usize> = files[name].iter().map(Vec::len).collect();
            assert_eq!(widths.len(), 1, "{name}: every row as wide as the header");
            for text in ["title", "description", "descriptionDa"] {
                assert!(
                    resource[text].as_str().is_some_and(|s| !s.is_empty()),
                    "{name}: {text}"
                );
            }
            for f in resource["schema"]["fields"].as_array().unwrap() {
                assert!(
                    ["string", "integer", "number", "boolean", "date", "datetime"]
                        .contains(&f["type"].as_str().unwrap()),
                    "{f}"
                );
                for text in ["title", "description", "descriptionDa"] {
                    assert!(
                        f[text].as_str().is_some_and(|s| !s.is_empty()),
                        "{name}.{}: {text}",
                        f["name"]
                    );
                }
            }
            assert!(
                resource["schema"]["primaryKey"]
                    .as_array()
                    .is_some_and(|k| !k.is_empty())
            );
        }
        // Enum values with their Danish labels, and the label column beside the value.
        let actions = &descriptor["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "actions")
            .unwrap()["schema"]["fields"];
        let status = actions
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == "status")
            .unwrap();
        assert_eq!(
            status["constraints"]["enum"],
            json!(["IDEA", "PLANNED", "IN_PROGRESS", "COMPLETED", "PAUSED", "DROPPED"])
        );
        assert!(
            status["categories"]
                .as_array()
                .unwrap()
                .contains(&json!({ "value": "IN_PROGRESS", "label": "I gang" }))
        );
        let plans = descriptor["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "plans")
            .unwrap();
        let plan_status = plans["schema"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == "status")
            .unwrap();
        assert_eq!(
            plan_status["constraints"]["enum"],
            json!(["CONSULTATION", "ADOPTED", "ARCHIVED"]),
            "drafts are never in the file"
        );
        let a = &files["actions"];
        let havnefest = column(a, "title")
            .iter()
            .position(|t| *t == "Havnefest")
            .expect("a public action");
        assert_eq!(column(a, "status")[havnefest], "IN_PROGRESS");
        assert_eq!(column(a, "status_label")[havnefest], "I gang");
        assert_eq!(column(a, "progress")[havnefest], "50");
    }
);

both!(
    foreign_keys_resolve_and_primary_keys_are_unique,
    |app: TestApp| async move {
        world(&app).await;
        let (descriptor, files, _) = fetch_all(&app).await;
        let mut checked = 0;
        for resource in descriptor["resources"].as_array().unwrap() {
            let name = resource["name"].as_str().unwrap();
            let rows = &files[name];
            let key: Vec<&str> = resource["schema"]["primaryKey"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k.as_str().unwrap())
                .collect();
            let keys: Vec<Vec<&str>> = (1..rows.len())
                .map(|i| key.iter().map(|k| column(rows, k)[i - 1]).collect())
                .collect();
            let unique: BTreeSet<&Vec<&str>> = keys.iter().collect();
            assert_eq!(unique.len(), keys.len(), "{name}: primary key unique");
            for fk in resource["schema"]["foreignKeys"].as_array().unwrap() {
                let field = fk["fields"][0].as_str().unwrap();
                let target = fk["reference"]["resource"].as_str().unwrap();
                let target_field = fk["reference"]["fields"][0].as_str().unwrap();
                let known: BTreeSet<&str> = column(&files[target], target_field).into_iter().collect();
                for value in column(rows, field) {
                    if value.is_empty() {
                        continue;
                    }
                    assert!(
                        known.contains(value),
                        "{name}.{field} = {value} is not in {target}"
                    );
                    checked += 1;
                }
            }
        }
        assert!(
            checked > 20,
            "the world's rows refer to each other ({checked} references)"
        );
        // Every table of the world has rows.
        for name in FILES {
            assert!(files[name].len() > 1, "{name} has rows");
        }
    }
);

both!(
    nothing_that_is_not_public_appears_whoever_asks,
    |app: TestApp| async move {
        let w = world(&app).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let editor = app
            .signed_in(As::CommunityEditor, &[w.gjol, w.birkelse], None)
            .await;
        let anonymous = app.signed_in(As::Anonymous, &[], None).await;
        let (_, public_files, texts) = fetch_all(&anonymous).await;
        for (who, caller) in [("anonymous", &anonymous), ("staff", &staff), ("editor", &editor)] {
            let (_, files, raw) = fetch_all(caller).await;
            assert_eq!(files, public_files, "{who}: the same public data as anyone");
            for text in raw {
                for secret in SECRETS {
                    assert!(!text.contains(secret), "{who}: {secret:?} leaked");
                }
                assert!(!text.contains('@'), "{who}: no email address in any file");
            }
        }
        let joined = texts.join("\n");
        // What is public is there.
        for public in [
            "Gjøl 2027",
            "Havnefest",
            "Shelterlauget",
            "Havnefestens venner",
            "Flot år for havnen",
        ] {
            assert!(joined.contains(public), "{public} is public");
        }
        // The draft plan and its action by ID too, and the draft review.
        assert!(!joined.contains(&global_id("Plan", w.gjol_draft)));
        let plans = column(&public_files["plans"], "title");
        assert!(
            plans.contains(&"Attrup i høring"),
            "a plan in consultation is public"
        );
        let years = column(&public_files["annual_reviews"], "year");
        assert_eq!(years, ["2025"], "the draft review of 2024 is not");
        let entry_years: BTreeSet<&str> = column(&public_files["annual_review_entries"], "year")
            .into_iter()
            .collect();
        assert_eq!(entry_years, BTreeSet::from(["2025"]));
        // With the consultation figures the annual report's CSV has, after the remarks.
        assert!(
            public_files["annual_review_entries"][0].ends_with(&[
                "remarks".to_owned(),
                "consultation_responses".to_owned(),
                "consultation_replied".to_owned()
            ]),
            "{:?}",
            public_files["annual_review_entries"][0]
        );
        // No column of internal notes, proposals or contacts.
        for rows in public_files.values() {
            for h in &rows[0] {
                assert!(
                    ![
                        "internal_notes",
                        "proposal_message",
                        "proposed_by_organization_id",
                        "email"
                    ]
                    .contains(&h.as_str()),
                    "{h}"
                );
            }
        }
    }
);

both!(
    the_engagement_behind_the_figures_is_published,
    |app: TestApp| async move {
        let w = world(&app).await;
        let (_, files, _) = fetch_all(&app).await;
        let row = |name: &str, column_name: &str, value: &str| -> BTreeMap<String, String> {
            let rows = &files[name];
            let i = column(rows, column_name)
                .iter()
                .position(|v| *v == value)
                .unwrap_or_else(|| panic!("{name}: no row with {column_name} = {value}"));
            rows[0].iter().cloned().zip(rows[i + 1].iter().cloned()).collect()
        };
        let meeting = row("engagement_events", "title", "Borgermøde om havnen");
        assert_eq!(meeting["community_id"], global_id("Community", w.gjol));
        assert_eq!(meeting["plan_id"], global_id("Plan", w.gjol_plan));
        assert_eq!(meeting["kind"], "CITIZEN_MEETING");
        assert_eq!(meeting["kind_label"], "Borgermøde");
        assert_eq!(meeting["occurred_on"], "2025-03-10");
        assert_eq!(meeting["participants"], "35");
        let working_day = row("engagement_events", "title", "Arbejdsdag på havnen");
        assert_eq!(working_day["plan_id"], "", "an event of no plan");
        assert_eq!(
            files["engagement_event_organizations"][1..],
            [vec![
                working_day["id"].clone(),
                global_id("Organization", w.forening)
            ]],
            "the organisation present, and nothing of the draft plan's meeting"
        );
        let involvement = row("plan_involvements", "plan_id", &global_id("Plan", w.gjol_plan));
        assert_eq!(
            involvement["organization_id"],
            global_id("Organization", w.forening)
        );
        assert_eq!(involvement["role"], "WRITING");
        assert_eq!(involvement["description"], "Var med i skrivegruppen");
        assert_eq!(
            files["plan_involvements"].len(),
            2,
            "the draft plan's is left out"
        );
        let note = row("action_updates", "body", "Scenen er bestilt");
        assert_eq!(note["action_id"], global_id("Action", w.actions[1]));
        assert_eq!(note["posted_on"], "2025-04-02");
        assert_eq!(note["progress"], "50");
        assert_eq!(files["action_updates"].len(), 2, "the draft action's is left out");
        assert!(!files["action_updates"][0].iter().any(|h| h.contains("author")));
        let shared = row("ideas", "title", "Fællesspisning");
        assert_eq!(shared["community_id"], global_id("Community", w.gjol));
        let exchange = row("idea_exchanges", "title", "Studietur til Birkelse");
        assert_eq!(exchange["idea_id"], shared["id"], "the exchange names its idea");
        let cars = row("ideas", "title", "Delebiler i landsbyen");
        assert_eq!(
            files["idea_themes"][1..],
            [vec![cars["id"].clone(), global_id("Theme", w.natur)]]
        );
    }
);

both!(values_round_trip, |app: TestApp| async move {
    let fx = Fixture::new(&app.db);
    let tricky = "Bjerget \"Toppen\", Nord\r\nog Syd\nÆblehaven på Ø";
    let c = fx.community("bjerget", tricky).await;
    let formula = "=HYPERLINK(\"x\"), -1, +2, @3";
    fx.set("community", c, "description", formula).await;
    fx.set("community", c, "latitude", 57.123456).await;
    let plan = fx.plan(c, "Plan, \"ny\"", PlanStatus::Adopted, 2025, 2028).await;
    let action = fx.action(plan, "Tom\tfane og \u{2028} linjeskift").await;
    fx.set("action", action, "budget_estimate", 1_234_567_890_123i64)
        .await;
    let placed = fx.action(plan, "Bænk ved stranden").await;
    fx.set("action", placed, "latitude", 57.0712).await;
    fx.set("action", placed, "longitude", -9.5).await;
    let text = get(&app, "/opendata/communities.csv").await.text().await.unwrap();
    let rows = csv_rows(&text);
    assert_eq!(rows.len(), 2);
    assert_eq!(column(&rows, "id"), [global_id("Community", c).as_str()]);
    assert_eq!(
        column(&rows, "name"),
        [tricky],
        "quotes, commas and line breaks round-trip"
    );
    assert_eq!(column(&rows, "description"), [formula], "written as it is");
    assert_eq!(column(&rows, "latitude"), ["57.123456"]);
    assert_eq!(column(&rows, "status"), ["ACTIVE"]);
    assert_eq!(column(&rows, "status_label"), ["Aktiv"]);
    let created = column(&rows, "created_at")[0];
    assert!(
        chrono::DateTime::parse_from_rfc3339(created).is_ok() && created.ends_with('Z'),
        "{created}"
    );
    let rows = csv_rows(&get(&app, "/opendata/plans.csv").await.text().await.unwrap());
    assert_eq!(column(&rows, "title"), ["Plan, \"ny\""]);
    assert_eq!(column(&rows, "adopted_on"), ["2025-03-01"]);
    assert_eq!(
        column(&rows, "community_id"),
        [global_id("Community", c).as_str()]
    );
    let rows = csv_rows(&get(&app, "/opendata/actions.csv").await.text().await.unwrap());
    assert_eq!(
        column(&rows, "title"),
        ["Tom\tfane og \u{2028} linjeskift", "Bænk ved stranden"]
    );
    assert_eq!(column(&rows, "budget_estimate"), ["1234567890123", ""]);
    assert_eq!(column(&rows, "seeking_partners"), ["false", "false"]);
    assert_eq!(
        column(&rows, "due_on"),
        ["", ""],
        "an empty field is a missing value"
    );
    // The action's own place; none for one placed at its community.
    assert_eq!(column(&rows, "latitude"), ["", "57.0712"]);
    assert_eq!(column(&rows, "longitude"), ["", "-9.5"]);
    // Empty tables are a header alone.
    let text = get(&app, "/opendata/annual_reviews.csv")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        text,
        "id,year,direction,wanted_long_term_share,snapshot_taken_at,published_at\r\n"
    );
});

both!(
    large_tables_stream_in_pages,
    |config: &mut lup_api::config::Config| config.opendata_page_rows = 500,
    |app: TestApp| async move {
        // 3 communities × 90 public actions (and as many in drafts): 270 actions, 540 action
        // themes and 810 partnership members, more than a page (500 here) of the last two.
        Fixture::new(&app.db).programme(3, 90).await;
        let response = get(&app, "/opendata/partnership_members.csv").await;
        assert_eq!(response.status(), 200);
        assert!(
            response.headers().get("content-length").is_none(),
            "streamed (chunked), not built in memory first"
        );
        let rows = csv_rows(&response.text().await.unwrap());
        let ids: BTreeSet<&str> = column(&rows, "id").into_iter().collect();
        assert_eq!((rows.len() - 1, ids.len()), (810, 810), "every member once");
        let rows = csv_rows(
            &get(&app, "/opendata/action_themes.csv")
                .await
                .text()
                .await
                .unwrap(),
        );
        let pairs: BTreeSet<(&str, &str)> = column(&rows, "action_id")
            .into_iter()
            .zip(column(&rows, "theme_id"))
            .collect();
        assert_eq!(
            (rows.len() - 1, pairs.len()),
            (540, 540),
            "every pair once, across pages"
        );
        let rows = csv_rows(&get(&app, "/opendata/actions.csv").await.text().await.unwrap());
        assert_eq!(rows.len() - 1, 270, "the drafts' 270 actions are not there");
        assert!(
            column(&rows, "title").iter().all(|t| t.contains("-2024-")),
            "public plans only"
        );
    }
);

both!(file_requests_are_checked, |app: TestApp| async move {
    for path in [
        "/opendata/unknown.csv",
        "/opendata/communities",
        "/opendata/communities.json",
        "/opendata/COMMUNITIES.csv",
        "/opendata/datapackage.json.csv",
        "/opendata/.csv",
        "/opendata/..%2Fschema.graphql",
        "/opendata/communities.csv%00",
        "/opendata/%C3%A6%C3%B8%C3%A5.csv",
        "/opendata/contacts.csv",
        "/opendata/consultation_responses.csv",
    ] {
        let response = get(&app, path).await;
        assert_eq!(response.status(), 404, "{path}");
        let body = response.text().await.unwrap();
        assert!(
            body.contains("datapackage.json") && body.contains("communities.csv"),
            "{path}: {body}"
        );
    }
    // Unknown query parameters are ignored.
    let response = get(&app, "/opendata/themes.csv?limit=-1&x=%00").await;
    assert_eq!(response.status(), 200);
    // Credentials are checked as everywhere.
    let bad = app.with_token("ikke.et.token");
    assert_eq!(get(&bad, "/opendata/datapackage.json").await.status(), 401);
    assert_eq!(get(&bad, "/opendata/communities.csv").await.status(), 401);
    let bad_key = app.with_credentials("x-api-key", "lup_forkert_noegle");
    assert_eq!(get(&bad_key, "/opendata/plans.csv").await.status(), 401);
});

both!(
    files_are_rate_limited,
    |c: &mut lup_api::config::Config| {
        // 120 points a minute, two seconds' worth (4 points) at once.
        c.rate_limit_anonymous_per_minute = 120;
        c.rate_limit_burst_secs = 2;
        c.rate_limit_delay_ms = 0;
    },
    |app: TestApp| async move {
        // 1 point a file: the fifth at once is refused.
        for expected in [200, 200, 200, 200, 429] {
            let response = get(&app, "/opendata/communities.csv").await;
            assert_eq!(response.status(), expected);
        }
    }
);

/// `frictionless validate` (PyPI `frictionless`, installed by `.ci/run`), over HTTP against the
/// server: the descriptor, every file against its schema, the keys. Skipped when the tool is
/// missing, except under CI.
fn frictionless() -> Option<String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path).any(|dir| dir.join("frictionless").is_file());
    if found {
        return Some("frictionless".to_owned());
    }
    if std::env::var_os("CI").is_some() {
        panic!("`frictionless` is not installed; .ci/run installs it (pip install frictionless)");
    }
    eprintln!(
        "skipped: `frictionless` is not installed (pip install frictionless), so the package was not validated"
    );
    None
}

both!(frictionless_finds_no_error, |app: TestApp| async move {
    let Some(tool) = frictionless() else {
        return;
    };
    world(&app).await;
    let fx = Fixture::new(&app.db);
    fx.community("bjerget", "Bjerget \"Toppen\", Nord\nog Syd").await;
    let url = app.url("/opendata/datapackage.json");
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(tool)
            .args(["validate", "--json", &url])
            .output()
            .expect("frictionless runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "frictionless gave no JSON report ({e}): {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let errors: Vec<&Value> = report["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|t| t["errors"].as_array().into_iter().flatten())
        .chain(report["errors"].as_array().into_iter().flatten())
        .collect();
    assert!(report["valid"] == true && errors.is_empty(), "{errors:#?}");
    assert_eq!(
        report["tasks"].as_array().map(Vec::len),
        Some(FILES.len()),
        "every file validated"
    );
});

/// With the database out of reach, a CSV is the outage's 503 (`UNAVAILABLE`, `Retry-After`)
/// for every caller, not a 200 with a cut body; the descriptor needs no database. PostgreSQL
/// only, like `outage_http`.
#[tokio::test]
#[cfg_attr(not(postgres_tests), ignore = "skipped: TEST_DATABASE_URL is not set")]
async fn an_outage_is_a_503_not_a_cut_file() {
    use sea_orm::ConnectionTrait;
    let app = crate::outage::spawn(|_| {}).await;
    let staff = app.signed_in(As::Staff, &[], None).await;
    let admin = crate::outage::admin().await;
    let database = crate::outage::database_name(&app).await;
    admin
        .execute_unprepared(&format!("ALTER DATABASE {database} ALLOW_CONNECTIONS false"))
        .await
        .expect("refuse connections");
    crate::outage::kill_connections(&admin, &database).await;
    for (who, caller) in [("anonymous", &app), ("staff", &staff)] {
        for path in ["/opendata/communities.csv", "/opendata/actions.csv"] {
            let response = get(caller, path).await;
            assert_eq!(response.status(), 503, "{who}: {path}");
            assert!(!header(&response, "retry-after").is_empty(), "{who}: {path}");
            let body: Value = response.json().await.expect("a JSON body");
            assert_eq!(
                body["errors"][0]["extensions"]["code"], "UNAVAILABLE",
                "{who}: {path}"
            );
        }
    }
    assert_eq!(get(&app, "/opendata/datapackage.json").await.status(), 200);
    admin
        .execute_unprepared(&format!("ALTER DATABASE {database} ALLOW_CONNECTIONS true"))
        .await
        .expect("accept connections");
    admin.close().await.ok();
    let response = get(&app, "/opendata/communities.csv").await;
    assert_eq!(response.status(), 200, "back once the database is");
    app.stop().await;
}

/// A file whose first read meets a connection killed while idle is read on a fresh one.
#[tokio::test]
#[cfg_attr(not(postgres_tests), ignore = "skipped: TEST_DATABASE_URL is not set")]
async fn a_kill_costs_a_file_no_request() {
    let app = crate::outage::spawn(|_| {}).await;
    let before = get(&app, "/opendata/communities.csv").await.text().await.unwrap();
    crate::outage::burst_then_kill(&app).await;
    let response = get(&app, "/opendata/communities.csv").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), before);
    app.stop().await;
}

//! Danish labels: `enumLabels` covers every enum of the schema, value for value, and the
//! objects' `…Label` fields say the same as `enumLabels`.
use std::collections::{BTreeMap, BTreeSet};

use lup_tests::{
    TestApp, both,
    fixture::{
        DepartmentRole, Fixture, MemberRole, OrganizationKind, PartnershipStatus, Party, PlanStatus, date,
    },
};
use serde_json::{Value, json};

/// enum name → value → label.
type Labels = BTreeMap<String, BTreeMap<String, String>>;

async fn labels(app: &TestApp) -> Labels {
    let d = app
        .data("{ enumLabels { name values { value label } } }", json!({}))
        .await;
    let mut out = Labels::new();
    for e in d["enumLabels"].as_array().unwrap() {
        let values = e["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["value"].as_str().unwrap().to_owned(),
                    v["label"].as_str().unwrap().to_owned(),
                )
            })
            .collect::<BTreeMap<_, _>>();
        assert_eq!(
            values.len(),
            e["values"].as_array().unwrap().len(),
            "duplicate values in {e:#}"
        );
        let name = e["name"].as_str().unwrap().to_owned();
        assert!(out.insert(name.clone(), values).is_none(), "{name} listed twice");
    }
    out
}

/// The schema's own enums (not introspection's), with their values, by introspection.
async fn schema_enums(app: &TestApp) -> BTreeMap<String, BTreeSet<String>> {
    let d = app
        .data(
            "{ __schema { types { name kind enumValues(includeDeprecated: true) { name } } } }",
            json!({}),
        )
        .await;
    d["__schema"]["types"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["kind"] == "ENUM" && !t["name"].as_str().unwrap().starts_with("__"))
        .map(|t| {
            let values = t["enumValues"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v["name"].as_str().unwrap().to_owned())
                .collect();
            (t["name"].as_str().unwrap().to_owned(), values)
        })
        .collect()
}

both!(every_enum_has_danish_labels, |app: TestApp| async move {
    // As an admin, who sees every enum (some belong to fields hidden from the public).
    let app = app.signed_in(lup_tests::As::Admin, &[], None).await;
    let labels = labels(&app).await;
    let enums = schema_enums(&app).await;
    assert!(enums.len() >= 13, "{enums:?}");
    for (name, values) in &enums {
        let got = labels
            .get(name)
            .unwrap_or_else(|| panic!("enumLabels has no labels for the enum {name}"));
        let got_values: BTreeSet<String> = got.keys().cloned().collect();
        assert_eq!(&got_values, values, "values of {name}");
        for (value, label) in got {
            assert!(!label.trim().is_empty(), "{name}.{value} has an empty label");
            assert_ne!(label, value, "{name}.{value} is labelled with its own name");
        }
    }
    let extra: Vec<&String> = labels.keys().filter(|n| !enums.contains_key(*n)).collect();
    assert!(
        extra.is_empty(),
        "labels for enums the schema does not have: {extra:?}"
    );

    // Spot checks of the Danish.
    for (e, v, l) in [
        ("ActionStatus", "IN_PROGRESS", "I gang"),
        ("ActionStatus", "COMPLETED", "Gennemført"),
        ("PlanStatus", "ADOPTED", "Vedtaget"),
        ("PlanStatus", "CONSULTATION", "I høring"),
        ("Horizon", "HERE_AND_NOW", "Her og nu"),
        ("OrganizationKind", "ASSOCIATION", "Forening"),
        ("EventKind", "CITIZEN_MEETING", "Borgermøde"),
        ("OrderDirection", "DESC", "Faldende"),
    ] {
        assert_eq!(labels[e][v], l, "{e}.{v}");
    }

    // Asking for some by name.
    let d = app
        .data(
            r#"{ enumLabels(names: ["PlanStatus", "Horizon", "NoSuchEnum"]) { name } }"#,
            json!({}),
        )
        .await;
    let mut names: Vec<&str> = d["enumLabels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["Horizon", "PlanStatus"]);
    let d = app.data(r#"{ enumLabels(names: []) { name } }"#, json!({})).await;
    assert_eq!(d["enumLabels"], json!([]));
});

both!(label_fields_match_enum_labels, |app: TestApp| async move {
    let fx = Fixture::new(&app.db);
    let gjol = fx.community("gjoel", "Gjøl").await;
    let tranum = fx.community("tranum", "Tranum").await;
    fx.set("community", tranum, "status", "INACTIVE").await;
    let vand = fx.department("vand-og-natur", "Vand og Natur").await;
    let kinds = [
        ("ASSOCIATION", OrganizationKind::Association),
        ("BUSINESS", OrganizationKind::Business),
        ("FOUNDATION", OrganizationKind::Foundation),
        (
            "EDUCATIONAL_INSTITUTION",
            OrganizationKind::EducationalInstitution,
        ),
        ("PUBLIC_INSTITUTION", OrganizationKind::PublicInstitution),
        ("VOLUNTEER_GROUP", OrganizationKind::VolunteerGroup),
        ("OTHER", OrganizationKind::Other),
    ];
    let mut orgs = Vec::new();
    for (slug, kind) in kinds {
        orgs.push(
            fx.organization(&slug.to_lowercase(), slug, kind, Some(gjol))
                .await,
        );
    }
    let plan = fx
        .plan(gjol, "Udviklingsplan for Gjøl", PlanStatus::Adopted, 2024, 2027)
        .await;
    fx.plan(gjol, "Gjøl 2019–2022", PlanStatus::Archived, 2019, 2022)
        .await;
    for (i, role) in ["WRITING", "CARRYING_OUT", "CONSULTED"].iter().enumerate() {
        let inv = fx.involvement(plan, orgs[i]).await;
        fx.set("plan_involvement", inv, "role", *role).await;
    }
    for (i, kind) in [
        "CITIZEN_MEETING",
        "WORKSHOP",
        "WORKING_DAY",
        "PUBLIC_CONSULTATION",
        "EVENT",
        "OTHER",
    ]
    .iter()
    .enumerate()
    {
        let ev = fx
            .event(
                gjol,
                Some(plan),
                &format!("Møde {i}"),
                date(2024, 1, 1 + i as u32),
            )
            .await;
        fx.set("engagement_event", ev, "kind", *kind).await;
    }
    let statuses = ["IDEA", "PLANNED", "IN_PROGRESS", "COMPLETED", "PAUSED", "DROPPED"];
    let roles = [
        DepartmentRole::Lead,
        DepartmentRole::Support,
        DepartmentRole::Advice,
    ];
    let member_roles = [
        MemberRole::Lead,
        MemberRole::Partner,
        MemberRole::Supporter,
        MemberRole::Advisor,
    ];
    let p_statuses = [
        PartnershipStatus::Proposed,
        PartnershipStatus::Active,
        PartnershipStatus::Completed,
        PartnershipStatus::Ended,
    ];
    let contributions = ["MONEY", "VOLUNTEER_HOURS", "EXPERTISE", "FACILITIES", "OTHER"];
    for (i, status) in statuses.iter().enumerate() {
        let action = fx.action(plan, &format!("Handling {i}")).await;
        fx.set("action", action, "status", *status).await;
        if i % 2 == 1 {
            fx.set("action", action, "horizon", "LONG_TERM").await;
        }
        fx.action_department(action, vand, roles[i % roles.len()]).await;
        let p = fx
            .partnership(
                Some(action),
                None,
                &format!("Partnerskab {i}"),
                p_statuses[i % p_statuses.len()],
            )
            .await;
        let m = fx
            .member(
                p,
                Party::Organization(orgs[i]),
                member_roles[i % member_roles.len()],
            )
            .await;
        fx.set(
            "partnership_member",
            m,
            "contribution_kind",
            contributions[i % contributions.len()],
        )
        .await;
    }
    let e = fx.exchange(None, gjol, &[tranum], "Udveksling 0", &[]).await;
    for (i, kind) in ["KNOWLEDGE_SHARING", "JOINT_PROJECT"].iter().enumerate() {
        let e = fx
            .exchange(None, gjol, &[tranum], &format!("Udveksling {}", i + 1), &[])
            .await;
        fx.set("idea_exchange", e, "kind", *kind).await;
    }
    let _ = e;

    let labels = labels(&app).await;
    let d = app
        .data(
            r#"{
              communities { edges { node { status statusLabel } } }
              organizations { edges { node { kind kindLabel } } }
              plans { edges { node { status statusLabel involvement { role roleLabel } } } }
              engagementEvents { edges { node { kind kindLabel } } }
              actions { edges { node {
                status statusLabel horizon horizonLabel
                departments { role roleLabel }
                partnerships { edges { node { status statusLabel members { role roleLabel contributionKind contributionKindLabel } } } }
              } } }
              ideaExchanges { edges { node { kind kindLabel } } }
            }"#,
            json!({}),
        )
        .await;

    // (enum, value field, label field) → the values seen.
    let mut seen: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let mut check = |e: &'static str, obj: &Value, value: &str, label: &str| {
        let v = obj[value]
            .as_str()
            .unwrap_or_else(|| panic!("{value} in {obj:#}"));
        assert_eq!(
            obj[label].as_str(),
            Some(labels[e][v].as_str()),
            "{label} of {e}.{v}"
        );
        seen.entry(e).or_default().insert(v.to_owned());
    };
    let nodes = |list: &str| -> Vec<Value> {
        d[list]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"].clone())
            .collect()
    };
    for c in nodes("communities") {
        check("CommunityStatus", &c, "status", "statusLabel");
    }
    for o in nodes("organizations") {
        check("OrganizationKind", &o, "kind", "kindLabel");
    }
    for p in nodes("plans") {
        check("PlanStatus", &p, "status", "statusLabel");
        for i in p["involvement"].as_array().unwrap() {
            check("InvolvementRole", i, "role", "roleLabel");
        }
    }
    for e in nodes("engagementEvents") {
        check("EventKind", &e, "kind", "kindLabel");
    }
    for a in nodes("actions") {
        check("ActionStatus", &a, "status", "statusLabel");
        check("Horizon", &a, "horizon", "horizonLabel");
        for dep in a["departments"].as_array().unwrap() {
            check("DepartmentRole", dep, "role", "roleLabel");
        }
        for p in a["partnerships"]["edges"].as_array().unwrap() {
            check("PartnershipStatus", &p["node"], "status", "statusLabel");
            for m in p["node"]["members"].as_array().unwrap() {
                check("MemberRole", m, "role", "roleLabel");
                check("ContributionKind", m, "contributionKind", "contributionKindLabel");
            }
        }
    }
    for e in nodes("ideaExchanges") {
        check("ExchangeKind", &e, "kind", "kindLabel");
    }

    // Every value of these enums was seen on some object (the public plan statuses only).
    for (e, values) in &seen {
        let all: BTreeSet<String> = labels[*e].keys().cloned().collect();
        let expected: BTreeSet<String> = if *e == "PlanStatus" {
            ["ADOPTED", "ARCHIVED"].iter().map(|s| s.to_string()).collect()
        } else {
            all
        };
        assert_eq!(values, &expected, "values of {e} seen on objects");
    }
    assert_eq!(seen.len(), 12);
});

//! Map data: `/geo/communities.geojson` and `/geo/actions.geojson` (RFC 7946 shape, checked
//! here and by Python's `geojson` validator, then drawn by Leaflet in headless Chromium),
//! their filters and caching, drafts only for those who may see them; `geometry` in GraphQL
//! and an action's own location set and cleared through the mutations.
use lup_tests::{
    As, TestApp, both,
    fixture::{Fixture, OrganizationKind, PlanStatus, global_id},
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    browser::Browser,
    reports::{get, header},
};

struct World {
    gjol: Uuid,
    attrup: Uuid,
    gjol_plan: Uuid,
    shelter: Uuid,
    forsamlingshus: Uuid,
    hemmelig: Uuid,
    forening: Uuid,
}

/// Gjøl (a place, an adopted plan with two actions: one with a place of its own, and a draft
/// plan with one action), Birkelse (no place; an adopted plan with one action), Attrup (a
/// place, nothing else).
async fn world(app: &TestApp) -> World {
    let fx = Fixture::new(&app.db);
    let gjol = fx.community("gjoel", "Gjøl").await;
    fx.set("community", gjol, "latitude", 57.07).await;
    fx.set("community", gjol, "longitude", 9.72).await;
    let birkelse = fx.community("birkelse", "Birkelse").await;
    fx.set("community", birkelse, "latitude", Option::<f64>::None)
        .await;
    fx.set("community", birkelse, "longitude", Option::<f64>::None)
        .await;
    let attrup = fx.community("attrup", "Attrup").await;
    let natur = fx.theme("natur", "Natur og friluftsliv").await;
    let kultur = fx.theme("kultur", "Kultur og fællesskab").await;
    let gjol_plan = fx.plan(gjol, "Gjøl 2030", PlanStatus::Adopted, 2026, 2030).await;
    let draft = fx
        .plan(gjol, "Gjøl kladde 2031", PlanStatus::Draft, 2031, 2035)
        .await;
    let birk_plan = fx
        .plan(birkelse, "Birkelse 2028", PlanStatus::Adopted, 2024, 2028)
        .await;
    let shelter = fx.action(gjol_plan, "Shelterplads ved fjorden").await;
    fx.set("action", shelter, "latitude", 57.05).await;
    fx.set("action", shelter, "longitude", 9.75).await;
    fx.tag_action(shelter, natur).await;
    let forsamlingshus = fx.action(gjol_plan, "Forsamlingshusets tag").await;
    fx.set("action", forsamlingshus, "status", "IN_PROGRESS").await;
    fx.set("action", forsamlingshus, "progress", 40).await;
    fx.set("action", forsamlingshus, "seeking_partners", true).await;
    fx.tag_action(forsamlingshus, kultur).await;
    let hemmelig = fx.action(draft, "Hemmelig kladdehandling").await;
    fx.tag_action(hemmelig, natur).await;
    let birk = fx.action(birk_plan, "Birkelse sti").await;
    fx.tag_action(birk, natur).await;
    let forening = fx
        .organization(
            "gjoel-borgerforening",
            "Gjøl Borgerforening",
            OrganizationKind::Association,
            Some(gjol),
        )
        .await;
    World {
        gjol,
        attrup,
        gjol_plan,
        shelter,
        forsamlingshus,
        hemmelig,
        forening,
    }
}

/// A GET's status and its body as JSON (Null when it is not JSON).
async fn geojson(app: &TestApp, path: &str) -> (u16, Value) {
    let r = get(app, path).await;
    let status = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The features' titles (actions) or names (communities), in order.
fn names(collection: &Value) -> Vec<String> {
    collection["features"]
        .as_array()
        .unwrap_or_else(|| panic!("no features: {collection}"))
        .iter()
        .map(|f| {
            let p = &f["properties"];
            p["title"]
                .as_str()
                .or(p["name"].as_str())
                .unwrap_or("")
                .to_owned()
        })
        .collect()
}

/// RFC 7946 as a map library relies on it, checked member by member: a FeatureCollection of
/// Features, each with an id, an object of properties and a Point of two WGS 84 numbers,
/// longitude first; no `crs` (RFC 7946 removed it).
fn assert_rfc7946(c: &Value) {
    assert_eq!(c["type"], "FeatureCollection", "{c}");
    assert!(c.get("crs").is_none());
    for f in c["features"].as_array().expect("features") {
        assert_eq!(f["type"], "Feature", "{f}");
        assert!(f["id"].is_string(), "{f}");
        assert_eq!(f["id"], f["properties"]["id"], "the id in both places");
        assert!(f["properties"].is_object(), "{f}");
        assert_eq!(f["geometry"]["type"], "Point", "{f}");
        let xy = f["geometry"]["coordinates"].as_array().expect("coordinates");
        assert_eq!(xy.len(), 2, "{f}");
        let (lon, lat) = (xy[0].as_f64().unwrap(), xy[1].as_f64().unwrap());
        assert!(
            (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat),
            "{f}"
        );
        // Denmark: longitude 8–13 east, latitude 54–58 north; swapped it would be neither.
        assert!(
            (8.0..13.0).contains(&lon) && (54.0..58.0).contains(&lat),
            "longitude first: {f}"
        );
    }
}

/// Python's `geojson` package (PyPI) says the text is valid GeoJSON. Skipped when it is not
/// installed, except under CI (`.ci/run` installs it).
async fn assert_valid_by_python(text: &str) {
    let script = "import sys, json, geojson\n\
        o = geojson.loads(sys.stdin.read())\n\
        assert isinstance(o, geojson.FeatureCollection), type(o)\n\
        print(json.dumps({'valid': o.is_valid, 'errors': o.errors(), 'features': len(o['features'])}))\n";
    let child = tokio::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        return tool_missing("python3");
    };
    {
        use tokio::io::AsyncWriteExt;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(text.as_bytes()).await.expect("write GeoJSON");
    }
    let out = child.wait_with_output().await.expect("python3 runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("No module named 'geojson'") {
        return tool_missing("Python's geojson package (pip install geojson)");
    }
    assert!(out.status.success(), "the validator failed: {stderr}");
    let verdict: Value = serde_json::from_slice(&out.stdout).expect("validator JSON");
    assert_eq!(verdict["valid"], true, "{verdict}");
    assert_eq!(verdict["errors"], json!([]), "{verdict}");
    let ours: Value = serde_json::from_str(text).unwrap();
    assert_eq!(
        verdict["features"],
        json!(ours["features"].as_array().unwrap().len())
    );
}

fn tool_missing(what: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("{what} is not installed; .ci/run installs it");
    }
    eprintln!("skipped: {what} is not installed, so the GeoJSON was not validated by it");
}

both!(
    the_collections_have_the_rfc_7946_shape_and_what_a_map_shows,
    |app: TestApp| async move {
        let w = world(&app).await;
        let anonymous = app.signed_in(As::Anonymous, &[], None).await;

        let r = get(&anonymous, "/geo/actions.geojson").await;
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, "content-type"), "application/geo+json");
        let text = r.text().await.unwrap();
        assert!(!text.contains("Hemmelig"), "nothing of the draft plan");
        let actions: Value = serde_json::from_str(&text).unwrap();
        assert_rfc7946(&actions);
        assert_valid_by_python(&text).await;
        assert_eq!(
            names(&actions),
            ["Forsamlingshusets tag", "Shelterplads ved fjorden"]
        );
        // Birkelse's path has no place, nor has Birkelse.
        assert_eq!(actions["skipped"], 1);
        assert_eq!(actions["actionStatusLabels"]["IN_PROGRESS"], "I gang");
        let tag = &actions["features"][0];
        assert_eq!(tag["id"], global_id("Action", w.forsamlingshus));
        assert_eq!(tag["geometry"]["coordinates"], json!([9.72, 57.07]), "at Gjøl");
        assert_eq!(
            tag["properties"],
            json!({
                "id": global_id("Action", w.forsamlingshus),
                "title": "Forsamlingshusets tag",
                "status": "IN_PROGRESS",
                "statusLabel": "I gang",
                "progress": 40,
                "planId": global_id("Plan", w.gjol_plan),
                "planTitle": "Gjøl 2030",
                "communityId": global_id("Community", w.gjol),
                "communityName": "Gjøl",
                "communitySlug": "gjoel",
                "themes": ["kultur"],
                "locatedAt": "community",
                "seekingPartners": true,
                "opportunity": true,
            })
        );
        let shelter = &actions["features"][1];
        assert_eq!(
            shelter["geometry"]["coordinates"],
            json!([9.75, 57.05]),
            "its own place"
        );
        assert_eq!(shelter["properties"]["locatedAt"], "action");
        assert_eq!(
            (
                shelter["properties"]["seekingPartners"].clone(),
                shelter["properties"]["opportunity"].clone()
            ),
            (json!(false), json!(false))
        );
        assert_eq!(shelter["properties"]["statusLabel"], "Planlagt");

        let r = get(&anonymous, "/geo/communities.geojson").await;
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, "content-type"), "application/geo+json");
        let text = r.text().await.unwrap();
        let communities: Value = serde_json::from_str(&text).unwrap();
        assert_rfc7946(&communities);
        assert_valid_by_python(&text).await;
        // Danish order; Birkelse has no place.
        assert_eq!(names(&communities), ["Attrup", "Gjøl"]);
        assert_eq!(communities["skipped"], 1);
        let gjol = &communities["features"][1];
        assert_eq!(gjol["id"], global_id("Community", w.gjol));
        assert_eq!(gjol["geometry"]["coordinates"], json!([9.72, 57.07]));
        let p = &gjol["properties"];
        assert_eq!(p["slug"], "gjoel");
        assert!(p.get("url").is_none(), "no website address configured");
        assert_eq!(p["planId"], global_id("Plan", w.gjol_plan));
        assert_eq!(p["planTitle"], "Gjøl 2030");
        assert_eq!(p["planStatus"], "ADOPTED");
        assert_eq!(p["planStatusLabel"], "Vedtaget");
        assert_eq!(
            p["actionCounts"],
            json!({ "IDEA": 0, "PLANNED": 1, "IN_PROGRESS": 1, "COMPLETED": 0, "PAUSED": 0, "DROPPED": 0 }),
            "the draft plan's action is not counted"
        );
        assert_eq!(p["actionTotal"], 2);
        assert_eq!(p["planActionCounts"], p["actionCounts"]);
        assert_eq!(p["planActionTotal"], 2);
        let attrup = &communities["features"][0]["properties"];
        assert_eq!(attrup["id"], global_id("Community", w.attrup));
        assert_eq!(
            (
                attrup["planTitle"].clone(),
                attrup["actionTotal"].clone(),
                attrup["planActionTotal"].clone()
            ),
            (Value::Null, json!(0), json!(0))
        );
    }
);

both!(
    drafts_only_for_their_editors_and_staff,
    |app: TestApp| async move {
        let w = world(&app).await;
        let other = Fixture::new(&app.db).community("tranum", "Tranum").await;
        for (role, communities, sees) in [
            (As::Anonymous, vec![], false),
            (As::Partner, vec![], false),
            (As::CommunityEditor, vec![other], false),
            (As::CommunityEditor, vec![w.gjol], true),
            (As::Staff, vec![], true),
        ] {
            let caller = app.signed_in(role, &communities, Some(w.forening)).await;
            let r = get(&caller, "/geo/actions.geojson").await;
            assert_eq!(r.status(), 200);
            let cache = header(&r, "cache-control");
            let actions: Value = r.json().await.unwrap();
            let hidden = names(&actions).contains(&"Hemmelig kladdehandling".to_owned());
            assert_eq!(hidden, sees, "{role:?} of {communities:?}: {actions}");
            if sees {
                let f = actions["features"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|f| f["id"] == global_id("Action", w.hemmelig))
                    .unwrap();
                assert_eq!(f["properties"]["planTitle"], "Gjøl kladde 2031");
            }
            let (_, communities_json) = geojson(&caller, "/geo/communities.geojson").await;
            let gjol = communities_json["features"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["id"] == global_id("Community", w.gjol))
                .unwrap()
                .clone();
            assert_eq!(
                gjol["properties"]["actionCounts"]["PLANNED"],
                if sees { 2 } else { 1 },
                "{role:?}: the draft's action counted only for those who see it"
            );
            // The current plan's own counts are what its page lists, whoever asks.
            assert_eq!(
                (
                    gjol["properties"]["planActionCounts"]["PLANNED"].clone(),
                    gjol["properties"]["planActionTotal"].clone()
                ),
                (json!(1), json!(2)),
                "{role:?}"
            );
            if role == As::Anonymous {
                // As long as a public GraphQL answer, whatever longer PUBLIC_MAX_AGE_SECS allows.
                assert_eq!(cache, "public, max-age=60");
            } else {
                assert_eq!(cache, "private, no-cache", "{role:?}");
            }
        }
        // Bad credentials are refused, not served as anonymous.
        let bad = app.with_credentials("authorization", "Bearer ikke-et-token");
        assert_eq!(get(&bad, "/geo/actions.geojson").await.status(), 401);
    }
);

both!(filters_by_theme_and_status, |app: TestApp| async move {
    let _w = world(&app).await;
    let anonymous = app.signed_in(As::Anonymous, &[], None).await;
    let actions = async |query: &str| {
        let (status, body) = geojson(&anonymous, &format!("/geo/actions.geojson{query}")).await;
        assert_eq!(status, 200, "{query}: {body}");
        names(&body)
    };
    assert_eq!(actions("?theme=natur").await, ["Shelterplads ved fjorden"]);
    // A cache-buster (jQuery's `_=`) is no filter.
    assert_eq!(
        actions("?theme=natur&_=1701234567").await,
        ["Shelterplads ved fjorden"]
    );
    assert_eq!(actions("?_=1").await.len(), actions("").await.len());
    assert_eq!(
        actions("?theme=natur,kultur").await,
        ["Forsamlingshusets tag", "Shelterplads ved fjorden"]
    );
    assert_eq!(actions("?theme=natur&theme=kultur").await.len(), 2);
    assert_eq!(actions("?theme=ukendt").await, Vec::<String>::new());
    assert_eq!(actions("?theme=ukendt,kultur").await, ["Forsamlingshusets tag"]);
    assert_eq!(actions("?status=IN_PROGRESS").await, ["Forsamlingshusets tag"]);
    assert_eq!(
        actions("?status=PLANNED,COMPLETED").await,
        ["Shelterplads ved fjorden"]
    );
    assert_eq!(
        actions("?status=IN_PROGRESS&theme=natur").await,
        Vec::<String>::new()
    );
    assert_eq!(
        actions("?theme=&status=").await.len(),
        2,
        "empty values are no filter"
    );
    let (_, unknown) = geojson(&anonymous, "/geo/actions.geojson?theme=ukendt").await;
    assert_eq!(unknown["type"], "FeatureCollection");
    assert_eq!(unknown["skipped"], 0);

    let communities = async |query: &str| {
        let (status, body) = geojson(&anonymous, &format!("/geo/communities.geojson{query}")).await;
        assert_eq!(status, 200, "{query}: {body}");
        body
    };
    let c = communities("?status=IN_PROGRESS").await;
    assert_eq!(names(&c), ["Gjøl"]);
    let c = communities("?theme=natur").await;
    assert_eq!(names(&c), ["Gjøl"]);
    assert_eq!(c["skipped"], 1, "Birkelse has a nature action, but no place");
    assert_eq!(
        c["features"][0]["properties"]["actionTotal"], 1,
        "counts the theme's actions"
    );
    assert_eq!(
        names(&communities("?status=COMPLETED").await),
        Vec::<String>::new()
    );

    // Bad values: a 400 naming the parameter.
    for (path, says) in [
        (
            "/geo/actions.geojson?status=FOO",
            "status: `FOO` is not an action status",
        ),
        ("/geo/actions.geojson?status=in_progress", "status"),
        // A control character is written as an escape, not sent back as it is.
        ("/geo/communities.geojson?status=PLANNED,%00", "status: `\\u{0}`"),
        (
            "/geo/actions.geojson?farve=bl%C3%A5",
            "unknown query parameter `farve`",
        ),
        ("/geo/communities.geojson?themes=natur", "`themes`"),
        // PostgreSQL refuses a NUL in a text it compares: refused here on both databases.
        ("/geo/actions.geojson?theme=%00", "theme:"),
        ("/geo/communities.geojson?theme=natur,a%00b", "theme:"),
        // Escapes that are not UTF-8 (Latin-1's ø) are refused, not read as U+FFFD.
        ("/geo/actions.geojson?community=gj%F8l", "not valid UTF-8"),
        ("/geo/communities.geojson?theme=%C3", "not valid UTF-8"),
    ] {
        let r = get(&anonymous, path).await;
        assert_eq!(r.status(), 400, "{path}");
        let text = r.text().await.unwrap();
        assert!(text.contains(says), "{path}: {text}");
        assert!(!text.contains('\0'), "{path}: {text:?}");
    }
    let many = vec!["theme=x"; 21].join("&");
    let r = get(&anonymous, &format!("/geo/actions.geojson?{many}")).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("theme: at most 20 values"));
    let long = format!("/geo/actions.geojson?theme={}", "å".repeat(5000));
    assert_eq!(
        geojson(&anonymous, &long).await.0,
        200,
        "a long unknown slug matches nothing"
    );
});

both!(filters_by_community_and_box, |app: TestApp| async move {
    let w = world(&app).await;
    let anonymous = app.signed_in(As::Anonymous, &[], None).await;
    let get_names = async |path: String| {
        let (status, body) = geojson(&anonymous, &path).await;
        assert_eq!(status, 200, "{path}: {body}");
        names(&body)
    };
    let actions = async |query: &str| get_names(format!("/geo/actions.geojson{query}")).await;
    let communities = async |query: &str| get_names(format!("/geo/communities.geojson{query}")).await;

    assert_eq!(
        actions("?community=gjoel").await,
        ["Forsamlingshusets tag", "Shelterplads ved fjorden"],
        "the adopted plan's actions; the draft's stays hidden"
    );
    assert_eq!(actions("?community=attrup").await, Vec::<String>::new());
    assert_eq!(actions("?community=ukendt").await, Vec::<String>::new());
    let (_, birkelse) = geojson(&anonymous, "/geo/actions.geojson?community=birkelse").await;
    assert_eq!(names(&birkelse), Vec::<String>::new());
    assert_eq!(birkelse["skipped"], 1, "Birkelse's action has no place");
    assert_eq!(
        actions("?community=gjoel&theme=natur").await,
        ["Shelterplads ved fjorden"]
    );

    // The shelter has a place of its own south-east of Gjøl; the other action is at Gjøl.
    assert_eq!(
        actions("?bbox=9.74,57.0,9.8,57.06").await,
        ["Shelterplads ved fjorden"]
    );
    assert_eq!(
        actions("?bbox=9.7,57.06,9.73,57.08").await,
        ["Forsamlingshusets tag"],
        "an action's own place counts, not its community's"
    );
    assert_eq!(
        actions("?bbox=9.72,57.05,9.75,57.07").await.len(),
        2,
        "edges are inside"
    );
    assert_eq!(actions("?bbox=10,55,12,56").await, Vec::<String>::new());
    assert_eq!(
        actions("?bbox=9,57,-170,58").await.len(),
        2,
        "a box across the antimeridian reaches from 9 east round to 170 west"
    );
    assert_eq!(
        actions("?bbox=9.74,57.0,9.8,57.06&status=IN_PROGRESS").await,
        Vec::<String>::new()
    );

    assert_eq!(communities("?community=gjoel,attrup").await, ["Attrup", "Gjøl"]);
    assert_eq!(communities("?community=birkelse").await, Vec::<String>::new());
    assert_eq!(communities("?bbox=9.7,57.0,9.8,57.08").await, ["Gjøl"]);
    for path in [
        "/geo/communities.geojson?bbox=-180,-90,180,90",
        "/geo/actions.geojson?bbox=-180,-90,180,90",
    ] {
        let (_, everywhere) = geojson(&anonymous, path).await;
        assert_eq!(
            everywhere["skipped"], 0,
            "without a place Birkelse is in no box: {path}"
        );
    }
    assert_eq!(communities("?bbox=9.5,57.0,9.8,57.2").await, ["Attrup", "Gjøl"]);
    assert_eq!(
        communities("?community=attrup&status=IN_PROGRESS").await,
        Vec::<String>::new(),
        "Attrup has no action in progress"
    );

    // A draft's action is in the box only for those who may see it.
    let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
    let (status, body) = geojson(
        &editor,
        "/geo/actions.geojson?community=gjoel&bbox=9.7,57.06,9.73,57.08",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(names(&body), ["Forsamlingshusets tag", "Hemmelig kladdehandling"]);

    for (path, says) in [
        (
            "/geo/actions.geojson?bbox=9.4,56.9,9.9",
            "bbox: `9.4,56.9,9.9` is not four numbers",
        ),
        ("/geo/actions.geojson?bbox=vest,syd,%C3%B8st,nord", "bbox: "),
        (
            "/geo/communities.geojson?bbox=9.4,57.2,9.9,56.9",
            "bbox: south is greater than north",
        ),
        ("/geo/actions.geojson?bbox=200,56,10,57", "bbox: a longitude"),
        (
            "/geo/actions.geojson?bbox=9,56,10,57&bbox=9,56,10,57",
            "bbox: one box at most",
        ),
        (
            "/geo/actions.geojson?community=gjoel,%00",
            "community: a slug holds no control characters",
        ),
        ("/geo/communities.geojson?kommune=gjoel", "`community`"),
    ] {
        let r = get(&anonymous, path).await;
        assert_eq!(r.status(), 400, "{path}");
        let text = r.text().await.unwrap();
        assert!(text.contains(says), "{path}: {text}");
    }
});

both!(
    website_links,
    |c: &mut lup_api::config::Config| {
        c.website_community_url = Some("https://www.jammerbugt.dk/landdistrikter/{slug}".into());
    },
    |app: TestApp| async move {
        let _w = world(&app).await;
        let (_, c) = geojson(&app, "/geo/communities.geojson").await;
        assert_eq!(
            c["features"][1]["properties"]["url"],
            "https://www.jammerbugt.dk/landdistrikter/gjoel"
        );
    }
);

both!(etag_and_not_modified, |app: TestApp| async move {
    let w = world(&app).await;
    for path in ["/geo/actions.geojson", "/geo/communities.geojson?theme=natur"] {
        let r = get(&app, path).await;
        assert_eq!(r.status(), 200);
        let etag = header(&r, "etag");
        assert!(etag.starts_with('"') && etag.len() > 10, "{etag}");
        assert!(header(&r, "vary").contains("Authorization"));
        let again = app
            .client
            .get(app.url(path))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{path}");
        assert_eq!(header(&again, "etag"), etag);
        assert!(again.bytes().await.unwrap().is_empty());
        let other = app
            .client
            .get(app.url(path))
            .header("if-none-match", "\"noget-andet\"")
            .send()
            .await
            .unwrap();
        assert_eq!(other.status(), 200);
    }
    // A change gives a new ETag: the old one no longer matches.
    let r = get(&app, "/geo/actions.geojson").await;
    let etag = header(&r, "etag");
    let staff = app.signed_in(As::Staff, &[], None).await;
    let v = staff
        .data(
            "query($id: ID!) { node(id: $id) { ... on Action { version } } }",
            json!({ "id": global_id("Action", w.shelter) }),
        )
        .await["node"]["version"]
        .clone();
    let moved = staff
        .data(
            "mutation($i: UpdateActionInput!) { updateAction(input: $i) { userErrors { field } } }",
            json!({ "i": { "id": global_id("Action", w.shelter), "version": v, "latitude": 57.06 } }),
        )
        .await;
    assert_eq!(moved["updateAction"]["userErrors"], json!([]));
    let after = app
        .client
        .get(app.url("/geo/actions.geojson"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 200);
    assert_ne!(header(&after, "etag"), etag);
    let body: Value = after.json().await.unwrap();
    assert_eq!(
        body["features"][1]["geometry"]["coordinates"],
        json!([9.75, 57.06])
    );
});

const CREATE: &str = "mutation($i: CreateActionInput!) { createAction(input: $i) {
    action { id version location { latitude longitude } geometry { type coordinates } }
    userErrors { field code message } } }";
const UPDATE: &str = "mutation($i: UpdateActionInput!) { updateAction(input: $i) {
    action { id version location { latitude longitude } geometry { type coordinates } }
    userErrors { field code message } } }";

both!(
    an_action_location_is_set_and_cleared_by_its_editors,
    |app: TestApp| async move {
        let w = world(&app).await;
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        let input = |extra: Value| {
            let mut i = json!({ "planId": global_id("Plan", w.gjol_plan), "title": "Bålplads", "horizon": "HERE_AND_NOW" });
            i.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            i
        };
        let created = editor
            .data(
                CREATE,
                json!({ "i": input(json!({ "latitude": 57.081, "longitude": 9.701 })) }),
            )
            .await["createAction"]
            .clone();
        assert_eq!(created["userErrors"], json!([]));
        let a = &created["action"];
        assert_eq!(a["location"], json!({ "latitude": 57.081, "longitude": 9.701 }));
        assert_eq!(
            a["geometry"],
            json!({ "type": "Point", "coordinates": [9.701, 57.081] })
        );
        let id = a["id"].clone();

        // Cleared: placed at its community again.
        let cleared = editor
            .data(
                UPDATE,
                json!({ "i": { "id": id, "version": a["version"], "latitude": null, "longitude": null } }),
            )
            .await["updateAction"]
            .clone();
        assert_eq!(cleared["userErrors"], json!([]));
        assert_eq!(cleared["action"]["location"], Value::Null);
        assert_eq!(
            cleared["action"]["geometry"],
            json!({ "type": "Point", "coordinates": [9.72, 57.07] })
        );
        // Left out: stays as it is.
        let renamed = editor
            .data(
                "mutation($i: UpdateActionInput!) { updateAction(input: $i) { action { version location { latitude } } userErrors { field } } }",
                json!({ "i": { "id": id, "version": cleared["action"]["version"], "title": "Bålpladsen" } }),
            )
            .await["updateAction"]
            .clone();
        assert_eq!(renamed["action"]["location"], Value::Null);
        // Set again by an update; the audit log records it.
        let set = editor
            .data(
                UPDATE,
                json!({ "i": { "id": id, "version": renamed["action"]["version"], "latitude": 57.09, "longitude": 9.71 } }),
            )
            .await["updateAction"]
            .clone();
        assert_eq!(
            set["action"]["location"],
            json!({ "latitude": 57.09, "longitude": 9.71 })
        );
        let staff = app.signed_in(As::Staff, &[], None).await;
        let audit = staff
            .data(
                "query($id: ID!) { auditLog(filter: { entityId: $id }) { nodes { operation changes } } }",
                json!({ "id": id }),
            )
            .await;
        assert!(
            audit.to_string().contains("57.09"),
            "the audit log records the location: {audit}"
        );

        // Refused: out of range, not finite, one without the other.
        let version = set["action"]["version"].clone();
        for (fields, field, code) in [
            (
                json!({ "latitude": 91.0, "longitude": 9.7 }),
                "latitude",
                "OUT_OF_RANGE",
            ),
            (
                json!({ "latitude": 57.0, "longitude": -180.5 }),
                "longitude",
                "OUT_OF_RANGE",
            ),
            (json!({ "latitude": 57.0 }), "longitude", "REQUIRED"),
            (json!({ "longitude": 9.7 }), "latitude", "REQUIRED"),
        ] {
            let refused =
                editor.data(CREATE, json!({ "i": input(fields.clone()) })).await["createAction"].clone();
            assert_eq!(refused["action"], Value::Null, "{fields}");
            assert_eq!(
                refused["userErrors"][0]["field"],
                json!([field]),
                "{fields}: {refused}"
            );
            assert_eq!(refused["userErrors"][0]["code"], code, "{fields}");
        }
        // An update that leaves half a pair: clearing one coordinate only.
        let half = editor
            .data(
                UPDATE,
                json!({ "i": { "id": id, "version": version, "latitude": null } }),
            )
            .await["updateAction"]
            .clone();
        assert_eq!(half["userErrors"][0]["field"], json!(["latitude"]), "{half}");
        assert_eq!(half["userErrors"][0]["code"], "REQUIRED");
        let out = editor
            .data(
                UPDATE,
                json!({ "i": { "id": id, "version": version, "longitude": 200.0 } }),
            )
            .await["updateAction"]
            .clone();
        assert_eq!(out["userErrors"][0]["field"], json!(["longitude"]), "{out}");
        // Not a number: a GraphQL input error.
        let (code, message) = editor
            .error(
                CREATE,
                json!({ "i": input(json!({ "latitude": "nord", "longitude": 9.7 })) }),
            )
            .await;
        assert_eq!(code, "BAD_USER_INPUT", "{message}");
        assert!(message.contains("latitude"), "{message}");
        // Nothing refused was stored.
        let node = editor
            .data(
                "query($id: ID!) { node(id: $id) { ... on Action { version location { latitude longitude } } } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(
            node["node"]["location"],
            json!({ "latitude": 57.09, "longitude": 9.71 })
        );
        assert_eq!(node["node"]["version"], version);
        // An editor of another community may not move it.
        let other = Fixture::new(&app.db).community("tranum", "Tranum").await;
        let stranger = app.signed_in(As::CommunityEditor, &[other], None).await;
        let (code, _) = stranger
            .error(
                UPDATE,
                json!({ "i": { "id": id, "version": version, "latitude": 57.0, "longitude": 9.0 } }),
            )
            .await;
        assert_eq!(code, "FORBIDDEN");
    }
);

both!(geometry_in_graphql, |app: TestApp| async move {
    let w = world(&app).await;
    let d = app
        .data(
            "{ communities(first: 10) { nodes { name geometry { type coordinates } } } }",
            json!({}),
        )
        .await;
    let nodes = d["communities"]["nodes"].as_array().unwrap();
    let of = |name: &str| {
        nodes
            .iter()
            .find(|n| n["name"] == name)
            .unwrap_or_else(|| panic!("{name}"))["geometry"]
            .clone()
    };
    assert_eq!(
        of("Gjøl"),
        json!({ "type": "Point", "coordinates": [9.72, 57.07] })
    );
    assert_eq!(of("Birkelse"), Value::Null);
    let d = app
        .data(
            "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Action { title location { latitude } geometry { coordinates } } } }",
            json!({ "ids": [global_id("Action", w.shelter), global_id("Action", w.forsamlingshus)] }),
        )
        .await;
    assert_eq!(d["nodes"][0]["geometry"]["coordinates"], json!([9.75, 57.05]));
    assert_eq!(d["nodes"][0]["location"]["latitude"], 57.05);
    assert_eq!(
        d["nodes"][1]["geometry"]["coordinates"],
        json!([9.72, 57.07]),
        "at its community"
    );
    assert_eq!(d["nodes"][1]["location"], Value::Null);
    // A list of actions reads their plans and communities in a bounded number of statements.
    let before = app.sql_statements();
    let d = app
        .data(
            "{ communities(first: 10) { nodes { actions(first: 10) { nodes { geometry { coordinates } } } } } }",
            json!({}),
        )
        .await;
    assert!(d["communities"]["nodes"].as_array().unwrap().len() >= 3);
    assert!(
        app.sql_statements() - before <= 6,
        "{} statements",
        app.sql_statements() - before
    );
});

/// A static file server for the test page and Leaflet (`tests/js/node_modules/leaflet/dist`),
/// on its own port: a map page of another origin, as the municipality's website is.
async fn page_server(page: String) -> (String, tokio::task::JoinHandle<()>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("js/node_modules/leaflet/dist");
    let handle = tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let page = page.clone();
            let dist = dist.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let n = socket.read(&mut buf).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&buf[..n]);
                let path = request.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let (status, kind, body) = if path == "/" {
                    ("200 OK", "text/html; charset=utf-8", page.into_bytes())
                } else if let Some(file) = path.strip_prefix("/leaflet/").filter(|f| !f.contains("..")) {
                    match std::fs::read(dist.join(file)) {
                        Ok(b) if file.ends_with(".js") => ("200 OK", "text/javascript", b),
                        Ok(b) if file.ends_with(".css") => ("200 OK", "text/css", b),
                        Ok(b) => ("200 OK", "image/png", b),
                        Err(_) => ("404 Not Found", "text/plain", Vec::new()),
                    }
                } else {
                    ("404 Not Found", "text/plain", Vec::new())
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: {kind}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(&body).await;
            });
        }
    });
    (origin, handle)
}

both!(leaflet_draws_a_marker_per_feature, |app: TestApp| async move {
    let _w = world(&app).await;
    let dist =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("js/node_modules/leaflet/dist/leaflet.js");
    if !dist.is_file() {
        return tool_missing("Leaflet (npm ci --prefix tests/js)");
    }
    let Some(browser) = Browser::start().await else {
        return;
    };
    // The page fetches the map data from the API across origins, as the website would.
    let page = r#"<!doctype html><html><head><meta charset="utf-8"><title>Kort</title>
<link rel="stylesheet" href="/leaflet/leaflet.css"><script src="/leaflet/leaflet.js"></script></head>
<body><div id="map" style="width: 800px; height: 600px"></div><script>
window.draw = function (url) {
  window.result = null;
  if (window.layer) { window.layer.remove(); }
  fetch(url)
    .then(function (r) { return r.json(); })
    .then(function (data) {
      window.layer = L.geoJSON(data).addTo(window.map);
      if (data.features.length) { window.map.fitBounds(window.layer.getBounds(), { maxZoom: 12 }); }
      window.result = {
        features: data.features.length,
        markers: document.querySelectorAll(".leaflet-marker-pane img.leaflet-marker-icon").length,
        layers: window.layer.getLayers().length,
      };
    })
    .catch(function (e) { window.result = { failure: String(e) }; });
};
window.map = L.map("map").setView([57.1, 9.6], 10);
</script></body></html>"#
        .to_owned();
    let (origin, server) = page_server(page).await;
    let api = app.sibling(|c| c.cors_allowed_origins = origin.clone()).await;
    // A server on the same data that lets the page's origin call it (CORS).
    let page_url = format!("{origin}/");
    browser.goto(&page_url).await;
    browser
        .wait_for("Leaflet", "return typeof L !== 'undefined' && !!window.draw", 30)
        .await;
    for path in [
        "/geo/actions.geojson",
        "/geo/communities.geojson",
        "/geo/actions.geojson?theme=natur",
    ] {
        let url = format!("{}{path}", api.base);
        browser.run("window.draw(arguments[0]);", json!([url])).await;
        let drawn = browser.wait_for(path, "return window.result", 30).await;
        assert!(
            drawn.get("failure").is_none(),
            "{path}: {drawn}; {:?}",
            browser.console().await
        );
        let (_, expected) = geojson(&api, path).await;
        let n = expected["features"].as_array().unwrap().len();
        assert!(n > 0, "{path}");
        assert_eq!(drawn["features"], json!(n), "{path}");
        assert_eq!(drawn["markers"], json!(n), "{path}: a marker drawn per feature");
        assert_eq!(drawn["layers"], json!(n), "{path}");
    }
    browser.quit().await;
    server.abort();
    api.stop().await;
});

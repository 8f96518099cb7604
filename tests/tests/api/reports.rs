//! The annual review's reports: `/reports/annual/{year}` (printable HTML with SVG charts,
//! checked in headless Chromium) and `/reports/annual/{year}.csv`.
use lup_tests::{As, TestApp, both};
use serde_json::json;

use crate::annual_review::{BY_YEAR, UPDATE, create, publish, q, world};

pub async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    let mut request = app.client.get(app.url(path));
    if let Some((h, v)) = &app.credentials {
        request = request.header(h.as_str(), v.as_str());
    }
    request.send().await.expect("request sent")
}

pub fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The expected header line of the CSV.
const CSV_HEADER: &str = "year,status,community,community_slug,plans,actions_total,actions_idea,actions_planned,\
actions_in_progress,actions_completed,actions_paused,actions_dropped,actions_long_term,actions_here_and_now,\
long_term_share,actions_completed_in_year,average_progress,engagement_associations_involved,engagement_events,\
engagement_participants,engagement_event_organizations,engagement_volunteer_hours,engagement_co_funding_dkk,\
engagement_action_updates,engagement_actions_completed,engagement_consultation_responses,engagement_total,partnerships_active,partnership_members,\
volunteer_hours,money_dkk,municipal_dkk,idea_exchanges_initiated,idea_exchanges_participated,consultation_responses,consultation_replied,remarks";

both!(the_csv_has_one_row_per_community, |app: TestApp| async move {
    world(&app).await;
    let staff = app.signed_in(As::Staff, &[], None).await;
    let r = create(&staff, 2025).await;
    let g = crate::annual_review::entry(&r, "gjoel").clone();
    staff
        .data(
            crate::annual_review::ENTRY,
            json!({ "i": { "id": g["id"], "version": g["version"], "remarks": "=HYPERLINK(\"https://example.com\"; \"Havnen\")" } }),
        )
        .await;
    let b = crate::annual_review::entry(&r, "birkelse").clone();
    staff
        .data(
            crate::annual_review::ENTRY,
            json!({ "i": { "id": b["id"], "version": b["version"], "remarks": "- en god start, \"fjorden\" og festen." } }),
        )
        .await;
    let r = staff.data(&q(BY_YEAR), json!({ "y": 2025 })).await["annualReview"].clone();

    // The draft: staff only.
    let response = get(&staff, "/reports/annual/2025.csv").await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), "text/csv; charset=utf-8");
    assert!(header(&response, "content-disposition").contains("aarsstatus-2025.csv"));
    assert_eq!(header(&response, "cache-control"), "private, no-store");
    assert_eq!(header(&response, "etag"), "", "nothing to revalidate in a draft");
    let bytes = response.bytes().await.unwrap();
    assert!(
        bytes.starts_with("\u{FEFF}".as_bytes()),
        "a UTF-8 byte order mark, for Excel"
    );
    let text = String::from_utf8(bytes[3..].to_vec()).expect("UTF-8");
    assert!(text.ends_with("\r\n"), "CRLF line ends (RFC 4180)");
    assert_eq!(
        text.matches("\r\n").count(),
        text.matches('\n').count(),
        "every line ends in CRLF"
    );
    assert!(
        text.lines()
            .nth(1)
            .unwrap()
            .starts_with("2025,DRAFT,Attrup,attrup,"),
        "{text}"
    );

    publish(&staff, &r).await;
    let anonymous = app.signed_in(As::Anonymous, &[], None).await;
    // A year without a review: staff, who see drafts too, are not told of a published one.
    for (who, says) in [
        (&staff, "Der findes ingen årsstatus for 2024."),
        (&anonymous, "Der findes ingen offentliggjort årsstatus for 2024."),
    ] {
        let response = get(who, "/reports/annual/2024").await;
        assert_eq!(response.status(), 404);
        assert_eq!(response.text().await.unwrap(), says);
    }
    let response = get(&anonymous, "/reports/annual/2025.csv").await;
    assert_eq!(response.status(), 200);
    assert!(header(&response, "cache-control").starts_with("public, max-age="));
    // A published report is revalidated with its ETag: 304, no body.
    let etag = header(&response, "etag");
    assert!(etag.starts_with('"') && etag.len() > 8, "{etag}");
    for path in ["/reports/annual/2025.csv", "/reports/annual/2025"] {
        let first = get(&anonymous, path).await;
        let tag = header(&first, "etag");
        let again = app
            .client
            .get(app.url(path))
            .header("if-none-match", tag.as_str())
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{path}");
        assert_eq!(header(&again, "etag"), tag);
        assert!(again.bytes().await.unwrap().is_empty());
        let stale = app
            .client
            .get(app.url(path))
            .header("if-none-match", "\"foraeldet\"")
            .send()
            .await
            .unwrap();
        assert_eq!(stale.status(), 200, "{path}");
    }
    assert_ne!(
        header(&get(&anonymous, "/reports/annual/2025").await, "etag"),
        etag,
        "the HTML and the CSV are two documents"
    );
    let text = response.text().await.unwrap();
    let text = text.strip_prefix('\u{FEFF}').expect("the byte order mark");
    let mut reader = csv_rows(text);
    let head = reader.remove(0);
    assert_eq!(head.join(","), CSV_HEADER);
    assert_eq!(reader.len(), 3, "one row per community: {text}");
    let names: Vec<&str> = reader.iter().map(|r| r[2].as_str()).collect();
    assert_eq!(names, ["Attrup", "Birkelse", "Gjøl"]);
    let col = |row: &Vec<String>, name: &str| -> String {
        let i = head
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"));
        row[i].clone()
    };
    let gjol = &reader[2];
    for (column, value) in [
        ("year", "2025"),
        ("status", "PUBLISHED"),
        ("community_slug", "gjoel"),
        ("plans", "Gjøl 2027"),
        ("actions_total", "4"),
        ("actions_planned", "1"),
        ("actions_in_progress", "1"),
        ("actions_completed", "1"),
        ("actions_dropped", "1"),
        ("actions_long_term", "1"),
        ("actions_here_and_now", "2"),
        ("long_term_share", "0.3333"),
        ("average_progress", "50"),
        ("partnerships_active", "1"),
        ("partnership_members", "3"),
        ("volunteer_hours", "120"),
        ("money_dkk", "25000"),
        ("municipal_dkk", "10000"),
        ("idea_exchanges_initiated", "1"),
        // A formula is written as text: a `'` in front, so no spreadsheet runs it.
        ("remarks", "'=HYPERLINK(\"https://example.com\"; \"Havnen\")"),
    ] {
        assert_eq!(col(gjol, column), value, "{column}");
    }
    // The engagement columns are the review's figures.
    let engagement = &crate::annual_review::entry(&r, "gjoel")["figures"]["engagement"];
    assert_eq!(
        col(gjol, "engagement_total"),
        engagement["total"].as_f64().unwrap().to_string()
    );
    for c in engagement["components"].as_array().unwrap() {
        let column = format!("engagement_{}", c["key"].as_str().unwrap().to_lowercase());
        assert_eq!(col(gjol, &column), c["value"].to_string(), "{column}");
    }
    assert_eq!(
        col(&reader[1], "remarks"),
        "'- en god start, \"fjorden\" og festen."
    );
    let attrup = &reader[0];
    assert_eq!(col(attrup, "average_progress"), "", "no actions: empty");
    assert_eq!(col(attrup, "plans"), "");
});

/// A CSV document's rows, parsed by the RFC 4180 rules (quotes, doubled quotes, commas).
pub fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut field, mut quoted, mut chars) =
        (Vec::new(), String::new(), false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            ('"', true) => quoted = false,
            ('"', false) => quoted = true,
            (',', false) => row.push(std::mem::take(&mut field)),
            ('\n', false) => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            ('\r', false) => {}
            (c, _) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

both!(report_requests_are_checked, |app: TestApp| async move {
    world(&app).await;
    let anonymous = app.signed_in(As::Anonymous, &[], None).await;
    let out_of_range = "the year must be between 1900 and 2200";
    let not_a_number = "the year must be a number";
    for (path, status, words) in [
        ("/reports/annual/2025", 404, "årsstatus for 2025"),
        ("/reports/annual/2025.csv", 404, "årsstatus for 2025"),
        ("/reports/annual/tyve", 400, not_a_number),
        // An ending other than .csv is named as the problem (the year is a number).
        ("/reports/annual/2025.pdf", 400, "no report ends in .pdf"),
        ("/reports/annual/2025.CSV", 400, "no report ends in .CSV"),
        // One name per report: the year as it is written.
        ("/reports/annual/+2025", 400, "written plainly"),
        ("/reports/annual/02025.csv", 400, "written plainly"),
        ("/reports/annual/1800", 400, out_of_range),
        ("/reports/annual/-1", 400, out_of_range),
        // A number too large for a year is out of range too, not "not a number".
        ("/reports/annual/99999999999", 400, out_of_range),
        ("/reports/annual/99999999999.csv", 400, out_of_range),
        ("/reports/annual/-99999999999", 400, out_of_range),
    ] {
        let response = get(&anonymous, path).await;
        assert_eq!(response.status(), status, "{path}");
        let body = response.text().await.unwrap();
        assert!(body.contains(words), "{path}: {body}");
    }
    let bad = app.with_token("ikke.et.token");
    assert_eq!(get(&bad, "/reports/annual/2025").await.status(), 401);
    let bad_key = app.with_credentials("x-api-key", "lup_forkert_noegle");
    assert_eq!(get(&bad_key, "/reports/annual/2025.csv").await.status(), 401);
});

/// A Chromium to run headless, if one is installed. One that is installed but does not run
/// fails the test: a broken browser must not pass as a missing one.
fn chromium() -> Option<String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let installed = [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ]
    .into_iter()
    .find(|name| std::env::split_paths(&path).any(|dir| dir.join(name).is_file()))?;
    let output = std::process::Command::new(installed).arg("--version").output();
    match output {
        Ok(o) if o.status.success() => Some(installed.to_owned()),
        Ok(o) => panic!(
            "{installed} is installed but `{installed} --version` failed ({}): {}",
            o.status,
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => panic!("{installed} is installed but does not run: {e}"),
    }
}

/// The text of each `<text>` element of an SVG, trimmed.
fn texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let start = t.find('>')? + 1;
            let end = t.find("</text>")?;
            Some(t[start..end].trim().to_owned())
        })
        .collect()
}

/// The `<svg id="…">…</svg>` element of a DOM, if present.
fn svg<'a>(dom: &'a str, id: &str) -> Option<&'a str> {
    let start = dom.find(&format!("<svg id=\"{id}\""))?;
    let end = dom[start..].find("</svg>")? + start;
    Some(&dom[start..end])
}

both!(
    the_html_report_has_its_charts_in_a_browser,
    |app: TestApp| async move {
        let w = world(&app).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        // An earlier year, for the year-over-year chart.
        let r24 = create(&staff, 2024).await;
        publish(&staff, &r24).await;
        let r = create(&staff, 2025).await;
        let p = staff
        .data(
            &q(UPDATE),
            json!({ "i": { "id": r["id"], "version": r["version"], "direction": "Flere <b>langsigtede</b> indsatser.",
                           "wantedLongTermShare": 40,
                           "focusCommunityIds": [lup_tests::fixture::global_id("Community", w.attrup)] } }),
        )
        .await["updateAnnualReview"]["annualReview"]
        .clone();
        publish(&staff, &p).await;

        let anonymous = app.signed_in(As::Anonymous, &[], None).await;
        let response = get(&anonymous, "/reports/annual/2025").await;
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "content-type"), "text/html; charset=utf-8");
        // No script runs on the page, whatever text got in; nor is it sniffed as another type.
        assert!(
            header(&response, "content-security-policy").starts_with("default-src 'none';"),
            "{:?}",
            response.headers()
        );
        assert_eq!(header(&response, "x-content-type-options"), "nosniff");
        let html = response.text().await.unwrap();
        assert!(html.contains("<html lang=\"da\">"));
        assert!(html.contains("Årsstatus 2025"));
        assert!(
            html.contains("Flere &lt;b&gt;langsigtede&lt;/b&gt; indsatser."),
            "text is escaped"
        );
        // The plans counted are the adopted ones: Gjøl's draft plan is nowhere.
        assert!(html.contains("Plan: Gjøl 2027 (2024–2027)"), "{html}");
        assert!(!html.contains("Gjøl 2030"), "nothing of the draft plan");
        assert!(!html.contains("(kladde)"), "published: no draft mark");
        for id in [
            "chart-actions-by-status",
            "chart-engagement",
            "chart-horizon",
            "chart-year-over-year",
        ] {
            assert!(svg(&html, id).is_some(), "{id} in the page");
        }

        let Some(browser) = chromium() else {
            if std::env::var_os("CI").is_some() {
                panic!("Chromium is not installed; .ci/run installs Debian's `chromium`");
            }
            eprintln!(
                "skipped: Chromium is not installed (apt-get install chromium), so the report was not loaded in a browser"
            );
            return;
        };
        let profile = std::env::temp_dir().join(format!("lup-chromium-{}", uuid::Uuid::now_v7()));
        let output = tokio::time::timeout(
            std::time::Duration::from_secs(90),
            tokio::process::Command::new(&browser)
                .args([
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--no-first-run",
                    "--virtual-time-budget=3000",
                ])
                .arg(format!("--user-data-dir={}", profile.display()))
                .arg("--dump-dom")
                .arg(app.url("/reports/annual/2025"))
                .kill_on_drop(true)
                .output(),
        )
        .await
        .expect("Chromium finishes within 90 s")
        .expect("Chromium runs");
        let _ = std::fs::remove_dir_all(&profile);
        let dom = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success() && dom.contains("</html>"),
            "Chromium dumped no DOM: {}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(dom.contains("Årsstatus 2025"), "{dom}");
        // Each chart, with its bars: a rect per non-empty bar segment (and the background).
        let rects = |id: &str| {
            let chart = svg(&dom, id).unwrap_or_else(|| panic!("no {id} in the DOM: {dom}"));
            assert!(chart.contains("role=\"img\""), "{id}");
            assert!(chart.contains("aria-label="), "{id}");
            assert!(chart.contains("<title>"), "{id}");
            chart.matches("<rect").count()
        };
        // Gjøl's four actions have four statuses: four bars, plus the background and six legend swatches.
        assert!(rects("chart-actions-by-status") >= 1 + 6 + 4);
        let status = svg(&dom, "chart-actions-by-status").unwrap();
        for label in [
            "Gjøl",
            "Birkelse",
            "Attrup",
            "Planlagt",
            "I gang",
            "Gennemført",
            "Opgivet",
        ] {
            assert!(status.contains(label), "{label} in the status chart");
        }
        // A bar per community with engagement, and the background.
        let engaged = r_entries_with_engagement(&staff).await;
        assert!(engaged >= 1);
        assert_eq!(rects("chart-engagement"), 1 + engaged);
        // Long-term against here and now: Gjøl's two segments and the whole programme's two.
        assert!(rects("chart-horizon") >= 1 + 2 + 4);
        let horizon = svg(&dom, "chart-horizon").unwrap();
        assert!(
            horizon.contains("Ønsket: 40 % langsigtede"),
            "the wanted share is marked"
        );
        assert!(horizon.contains("Langsigtet") && horizon.contains("Her og nu"));
        // Year over year: a bar for 2024 and one for 2025.
        let years = texts(svg(&dom, "chart-year-over-year").unwrap());
        assert!(
            years.contains(&"2024".to_owned()) && years.contains(&"2025".to_owned()),
            "{years:?}"
        );
        // The frame, and a bar per year.
        assert!(rects("chart-year-over-year") > 2);
        assert!(dom.contains("Lokalsamfund i fokus: Attrup."));
    }
);

/// The number of communities with engagement in the review of 2025.
async fn r_entries_with_engagement(app: &TestApp) -> usize {
    let d = app
        .data(
            "{ annualReview(year: 2025) { entries(first: 50) { nodes { figures { engagement { total } } } } } }",
            json!({}),
        )
        .await;
    d["annualReview"]["entries"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["figures"]["engagement"]["total"].as_f64().unwrap() > 0.0)
        .count()
}

both!(
    a_draft_report_says_so_and_keeps_the_text_as_written,
    |app: TestApp| async move {
        let w = world(&app).await;
        // A second adopted plan of Gjøl covering 2025.
        lup_tests::fixture::Fixture::new(&app.db)
            .plan(
                w.gjol,
                "Havnen 2025",
                lup_tests::fixture::PlanStatus::Adopted,
                2025,
                2026,
            )
            .await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let r = create(&staff, 2025).await;
        let p = staff
            .data(
                &q(UPDATE),
                json!({ "i": { "id": r["id"], "version": r["version"], "wantedLongTermShare": 40,
                               "direction": "Første linje\r\nanden linje\r\n\r\nNyt afsnit" } }),
            )
            .await["updateAnnualReview"]
            .clone();
        assert_eq!(p["userErrors"], json!([]), "{p:#}");
        let g = crate::annual_review::entry(&r, "gjoel").clone();
        staff
            .data(
                crate::annual_review::ENTRY,
                json!({ "i": { "id": g["id"], "version": g["version"], "remarks": "Havnen\r\nog fjorden" } }),
            )
            .await;

        let response = get(&staff, "/reports/annual/2025").await;
        assert_eq!(response.status(), 200);
        let html = response.text().await.unwrap();
        assert!(
            html.contains("<title>Årsstatus 2025 (kladde) – landdistriktsprogrammet</title>"),
            "{html}"
        );
        assert!(html.contains("<h1>Årsstatus 2025 (kladde)</h1>"), "{html}");
        assert!(
            html.contains("print-color-adjust: exact"),
            "the draft mark prints"
        );
        assert!(
            html.contains("Planer: Gjøl 2027 (2024–2027); Havnen 2025 (2025–2026)"),
            "{html}"
        );
        assert!(html.contains("Plan: Birkelse 2028 (2025–2028)"), "{html}");
        assert!(html.contains("(i 2025: "), "{html}");
        assert!(!html.contains("(i år"), "{html}");
        // Line breaks as written: CRLF made LF, single breaks kept, a blank line a paragraph.
        assert!(!html.contains('\r'));
        assert!(
            html.contains("<p class=\"text\">Første linje\nanden linje</p><p class=\"text\">Nyt afsnit</p>"),
            "{html}"
        );
        assert!(
            html.contains("<p class=\"text\">Havnen\nog fjorden</p>"),
            "{html}"
        );
        assert!(html.contains("white-space: pre-line"));
    }
);

both!(
    a_published_report_keeps_its_year_over_year,
    |app: TestApp| async move {
        world(&app).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let r25 = create(&staff, 2025).await;
        publish(&staff, &r25).await;
        let years = |html: &str| texts(svg(html, "chart-year-over-year").expect("the chart"));
        let anonymous = app.signed_in(As::Anonymous, &[], None).await;
        let before = get(&anonymous, "/reports/annual/2025")
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(years(&before).iter().filter(|t| *t == "2025").count(), 1);
        assert!(!years(&before).contains(&"2024".to_owned()));

        // The review of an earlier year, published later, does not change the 2025 report…
        let r24 = create(&staff, 2024).await;
        publish(&staff, &r24).await;
        let after = get(&anonymous, "/reports/annual/2025")
            .await
            .text()
            .await
            .unwrap();
        assert!(!years(&after).contains(&"2024".to_owned()), "{:?}", years(&after));
        assert_eq!(
            svg(&after, "chart-year-over-year"),
            svg(&before, "chart-year-over-year")
        );
        // …while a draft shows the reviews published so far.
        let year = 2026.min(chrono::Datelike::year(&chrono::Utc::now()));
        let draft_review = create(&staff, year).await;
        let draft = get(&staff, &format!("/reports/annual/{year}"))
            .await
            .text()
            .await
            .unwrap();
        let shown = years(&draft);
        assert!(
            shown.contains(&"2024".to_owned()) && shown.contains(&"2025".to_owned()),
            "{shown:?}"
        );
        assert!(!draft.contains("vaegte-aendret"), "the same weights throughout");
        // Taken again with other weights, the draft's year is compared with years of the old
        // ones: the report says so.
        let version =
            staff.data("{ engagementWeights { version } }", json!({})).await["engagementWeights"]["version"]
                .clone();
        let p = staff
            .data(
                "mutation($i: UpdateEngagementWeightsInput!) { updateEngagementWeights(input: $i) { userErrors { message } } }",
                json!({ "i": { "version": version, "events": 7 } }),
            )
            .await;
        assert_eq!(p["updateEngagementWeights"]["userErrors"], json!([]), "{p}");
        let p = staff
            .data(
                &q(crate::annual_review::REFRESH),
                json!({ "i": { "id": draft_review["id"], "version": draft_review["version"] } }),
            )
            .await;
        assert_eq!(p["refreshAnnualReview"]["userErrors"], json!([]), "{p}");
        let draft = get(&staff, &format!("/reports/annual/{year}"))
            .await
            .text()
            .await
            .unwrap();
        assert!(
            draft.contains("vaegte-aendret") && draft.contains("Vægtene er ændret i perioden"),
            "the weights changed"
        );
        let published = get(&anonymous, "/reports/annual/2025")
            .await
            .text()
            .await
            .unwrap();
        assert!(
            !published.contains("vaegte-aendret"),
            "2024 and 2025 were taken alike"
        );
    }
);

both!(
    a_database_failure_is_an_internal_error,
    |app: TestApp| async move {
        use sea_orm::ConnectionTrait;
        world(&app).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        create(&staff, 2025).await;
        // The draft's report reads its focus from this table.
        app.db
            .execute_unprepared("DROP TABLE annual_review_focus_theme")
            .await
            .expect("drop");
        for path in ["/reports/annual/2025", "/reports/annual/2025.csv"] {
            let response = get(&staff, path).await;
            assert_eq!(response.status(), 500, "{path}");
            assert_eq!(header(&response, "cache-control"), "no-store");
            let body = response.text().await.unwrap();
            assert!(body.starts_with("internal error"), "{body}");
            assert!(!body.contains("annual_review"), "no internal details: {body}");
        }
    }
);

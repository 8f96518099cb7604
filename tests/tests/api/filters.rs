//! Every filter field of every root list, with a value that matches and one that does not,
//! and every `orderBy` field in both directions. The rows are a small programme (`world`)
//! whose expected answers are spelled out per test.
use chrono::{DateTime, Utc};
use lup_tests::{
    TestApp, both,
    fixture::{
        ActionStatus, DepartmentRole, Fixture, Horizon, MemberRole, OrganizationKind, PartnershipStatus,
        Party, PlanStatus, date, global_id,
    },
};
use sea_orm::Set;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::texts;

/// Rows last changed long ago, for `updatedSince`.
fn old() -> DateTime<Utc> {
    "2020-06-01T00:00:00Z".parse().unwrap()
}
fn mid() -> DateTime<Utc> {
    "2022-01-01T00:00:00Z".parse().unwrap()
}

/// `updatedSince` values: after the old rows, exactly at them (in another offset), and in the future.
const SINCE_AFTER_OLD: &str = "2021-01-01T00:00:00Z";
const SINCE_AT_OLD: &str = "2020-06-01T02:00:00+02:00";
const SINCE_FUTURE: &str = "2999-01-01T00:00:00Z";
const SINCE_JUST_AFTER_OLD: &str = "2020-06-01T00:00:00.000000001Z";

#[allow(dead_code)]
struct World {
    gjol: Uuid,
    tranum: Uuid,
    birkelse: Uuid,
    halvrimmen: Uuid,
    natur: Uuid,
    kultur: Uuid,
    bosaetning: Uuid,
    vand: Uuid,
    kulturdept: Uuid,
    teknik: Uuid,
    p0: Uuid,
    p1: Uuid,
    p2: Uuid,
    pd: Uuid,
    o1: Uuid,
    o2: Uuid,
    o3: Uuid,
    o4: Uuid,
}

async fn world(app: &TestApp) -> World {
    let fx = Fixture::new(&app.db);

    // Communities, inserted out of name order.
    let gjol = fx.community("gjoel", "Gjøl").await;
    let tranum = fx.community("tranum", "Tranum").await;
    fx.set("community", tranum, "status", "INACTIVE").await;
    fx.set("community", tranum, "updated_at", old()).await;
    let birkelse = fx.community("birkelse", "Birkelse").await;
    fx.set("community", birkelse, "updated_at", mid()).await;
    let halvrimmen = fx.community("halvrimmen", "Halvrimmen").await;
    fx.set(
        "community",
        halvrimmen,
        "description",
        "Drevet 100% af frivillige_kræfter",
    )
    .await;

    let natur = fx.theme("natur", "Natur og friluftsliv").await;
    let kultur = fx.theme("kultur", "Kultur og fællesskab").await;
    let bosaetning = fx.theme("bosaetning", "Bosætning").await;
    fx.set("theme", bosaetning, "description", "Nye borgere til byerne")
        .await;

    let vand = fx.department("vand-og-natur", "Vand og Natur").await;
    let kulturdept = fx.department("kultur-og-fritid", "Kultur og Fritid").await;
    let teknik = fx.department("teknik-og-miljoe", "Teknik og Miljø").await;
    fx.set("department", teknik, "description", "Veje og broer").await;

    // Plans: two of Gjøl's are public, its draft is not; one of Birkelse's.
    let p1 = fx
        .plan(gjol, "Udviklingsplan for Gjøl", PlanStatus::Adopted, 2024, 2027)
        .await;
    fx.set("plan", p1, "adopted_on", date(2025, 6, 1)).await;
    fx.tag_plan(p1, natur).await;
    let p0 = fx
        .plan(gjol, "Gjøl 2019–2022", PlanStatus::Archived, 2019, 2022)
        .await;
    fx.set("plan", p0, "updated_at", old()).await;
    fx.tag_plan(p0, kultur).await;
    let p2 = fx
        .plan(birkelse, "Birkelse i bevægelse", PlanStatus::Adopted, 2025, 2028)
        .await;
    fx.set("plan", p2, "summary", "Byen ved Lien").await;
    fx.tag_plan(p2, kultur).await;
    let pd = fx
        .plan(gjol, "Gjøl kladde 2028–2031", PlanStatus::Draft, 2028, 2031)
        .await;
    fx.tag_plan(pd, natur).await;
    fx.tag_plan(pd, bosaetning).await;

    // Organisations, inserted out of name order.
    let o1 = fx
        .organization(
            "gjoel-borgerforening",
            "Gjøl Borgerforening",
            OrganizationKind::Association,
            Some(gjol),
        )
        .await;
    let o2 = fx
        .organization(
            "nordea-fonden",
            "Nordea-fonden",
            OrganizationKind::Foundation,
            None,
        )
        .await;
    fx.set("organization", o2, "updated_at", old()).await;
    let o3 = fx
        .organization(
            "birkelse-if",
            "Birkelse Idrætsforening",
            OrganizationKind::Association,
            Some(birkelse),
        )
        .await;
    let o4 = fx
        .organization(
            "jammerbugt-erhverv",
            "Jammerbugt Erhverv",
            OrganizationKind::Business,
            None,
        )
        .await;
    fx.set(
        "organization",
        o4,
        "description",
        "Erhvervsnetværk for hele kommunen",
    )
    .await;

    // Actions.
    struct A {
        plan: Uuid,
        title: &'static str,
        horizon: Horizon,
        status: ActionStatus,
        progress: i32,
        potential: Option<i32>,
        due: Option<chrono::NaiveDate>,
        seeking: bool,
        needs: Option<&'static str>,
    }
    let specs = [
        A {
            plan: p1,
            title: "Shelterplads ved fjorden",
            horizon: Horizon::HereAndNow,
            status: ActionStatus::InProgress,
            progress: 40,
            potential: Some(5),
            due: Some(date(2025, 6, 1)),
            seeking: true,
            needs: Some("Tømrer søges"),
        },
        A {
            plan: p1,
            title: "Ny legeplads",
            horizon: Horizon::LongTerm,
            status: ActionStatus::Completed,
            progress: 100,
            potential: Some(2),
            due: None,
            seeking: true,
            needs: None,
        },
        A {
            plan: p2,
            title: "Kunst i byrummet",
            horizon: Horizon::HereAndNow,
            status: ActionStatus::Idea,
            progress: 0,
            potential: None,
            due: Some(date(2026, 1, 1)),
            seeking: true,
            needs: None,
        },
        A {
            plan: p0,
            title: "Gammel natursti",
            horizon: Horizon::HereAndNow,
            status: ActionStatus::Planned,
            progress: 10,
            potential: Some(1),
            due: Some(date(2022, 12, 31)),
            seeking: true,
            needs: None,
        },
        A {
            plan: p2,
            title: "Løbeklub",
            horizon: Horizon::HereAndNow,
            status: ActionStatus::Dropped,
            progress: 5,
            potential: Some(4),
            due: Some(date(2025, 9, 1)),
            seeking: true,
            needs: None,
        },
        A {
            plan: p2,
            title: "Byfest",
            horizon: Horizon::HereAndNow,
            status: ActionStatus::Planned,
            progress: 60,
            potential: Some(3),
            due: Some(date(2024, 8, 15)),
            seeking: false,
            needs: None,
        },
        A {
            plan: p2,
            title: "Siddepladser ved søen",
            horizon: Horizon::LongTerm,
            status: ActionStatus::Paused,
            progress: 20,
            potential: None,
            due: None,
            seeking: true,
            needs: Some("Bænke og borde"),
        },
        A {
            plan: pd,
            title: "Kladdehandling",
            horizon: Horizon::HereAndNow,
            status: ActionStatus::InProgress,
            progress: 10,
            potential: Some(5),
            due: Some(date(2029, 1, 1)),
            seeking: true,
            needs: Some("Tømrer søges"),
        },
    ];
    let mut ids = Vec::new();
    for s in specs {
        let mut m = fx.action_model(s.plan, s.title);
        m.horizon = Set(s.horizon);
        m.status = Set(s.status);
        m.progress = Set(s.progress);
        m.potential = Set(s.potential);
        m.due_on = Set(s.due);
        m.seeking_partners = Set(s.seeking);
        m.partner_needs = Set(s.needs.map(str::to_owned));
        ids.push(fx.insert_action(m).await);
    }
    let [a1, _a2, a3, a4, _a5, a6, _a7, ad] = ids[..] else {
        unreachable!()
    };
    fx.set("action", a1, "lead_organization_id", o1).await;
    fx.set("action", a3, "description", "Skulpturer af lokale kunstnere")
        .await;
    fx.set("action", a3, "updated_at", mid()).await;
    fx.set("action", a6, "updated_at", old()).await;
    fx.tag_action(a1, natur).await;
    fx.tag_action(ids[1], kultur).await;
    fx.tag_action(a3, kultur).await;
    fx.tag_action(a4, natur).await;
    fx.tag_action(ad, natur).await;
    fx.tag_action(ad, bosaetning).await;
    fx.action_department(a1, vand, DepartmentRole::Lead).await;
    fx.action_department(a3, kulturdept, DepartmentRole::Support)
        .await;
    fx.action_department(ad, vand, DepartmentRole::Lead).await;
    fx.action_department(ad, teknik, DepartmentRole::Advice).await;

    // Partnerships.
    let ps1 = fx
        .partnership(Some(a1), None, "Shelterpartnerskabet", PartnershipStatus::Active)
        .await;
    fx.member(ps1, Party::Organization(o1), MemberRole::Lead).await;
    fx.member(ps1, Party::Community(gjol), MemberRole::Partner).await;
    fx.member(ps1, Party::Department(vand), MemberRole::Advisor).await;
    let ps2 = fx
        .partnership(None, Some(p2), "Kunstpartnerskabet", PartnershipStatus::Proposed)
        .await;
    fx.set("partnership", ps2, "ends_on", date(2027, 12, 31)).await;
    fx.set("partnership", ps2, "starts_on", date(2027, 1, 1)).await;
    fx.set("partnership", ps2, "description", "Skulpturer i parken")
        .await;
    fx.member(ps2, Party::Organization(o2), MemberRole::Lead).await;
    fx.member(ps2, Party::Organization(o3), MemberRole::Partner).await;
    let ps3 = fx
        .partnership(Some(a4), None, "Stipartnerskabet", PartnershipStatus::Completed)
        .await;
    fx.set("partnership", ps3, "starts_on", date(2020, 1, 1)).await;
    fx.set("partnership", ps3, "ends_on", date(2021, 6, 30)).await;
    fx.set("partnership", ps3, "updated_at", old()).await;
    fx.member(ps3, Party::Organization(o1), MemberRole::Lead).await;
    let ps4 = fx
        .partnership(
            Some(a3),
            None,
            "Udvekslingspartnerskabet",
            PartnershipStatus::Ended,
        )
        .await;
    fx.set("partnership", ps4, "starts_on", date(2024, 1, 1)).await;
    fx.set("partnership", ps4, "ends_on", None::<chrono::NaiveDate>)
        .await;
    fx.member(ps4, Party::Community(birkelse), MemberRole::Lead).await;
    let psd = fx
        .partnership(Some(ad), None, "Kladdepartnerskab", PartnershipStatus::Active)
        .await;
    fx.member(psd, Party::Organization(o1), MemberRole::Lead).await;
    fx.member(psd, Party::Organization(o4), MemberRole::Partner).await;
    let psdp = fx
        .partnership(None, Some(pd), "Kladdeplanpartnerskab", PartnershipStatus::Active)
        .await;
    fx.member(psdp, Party::Organization(o4), MemberRole::Lead).await;

    // Ideas.
    let i1 = fx.idea(Some(gjol), "Spisefællesskab").await;
    fx.tag_idea(i1, kultur).await;
    let i2 = fx.idea(Some(birkelse), "Naturlegeplads").await;
    fx.tag_idea(i2, natur).await;
    fx.set("idea", i2, "description", "Leg i skoven").await;
    let i3 = fx.idea(None, "Fondsrådgivning").await;
    fx.set("idea", i3, "organization_id", o2).await;
    fx.set("idea", i3, "updated_at", old()).await;

    // Idea exchanges.
    fx.exchange(Some(i1), gjol, &[birkelse], "Studietur til Birkelse", &[a3])
        .await;
    let e2 = fx
        .exchange(None, tranum, &[gjol], "Erfaringsudveksling om frivillige", &[])
        .await;
    fx.set("idea_exchange", e2, "kind", "KNOWLEDGE_SHARING").await;
    fx.set("idea_exchange", e2, "occurred_on", date(2023, 9, 1)).await;
    fx.set("idea_exchange", e2, "updated_at", old()).await;
    let e3 = fx
        .exchange(None, birkelse, &[], "Fælles projekt om stier", &[])
        .await;
    fx.set("idea_exchange", e3, "kind", "JOINT_PROJECT").await;
    fx.set("idea_exchange", e3, "occurred_on", None::<chrono::NaiveDate>)
        .await;
    fx.set("idea_exchange", e3, "outcome", "Planlagt til næste år")
        .await;

    // Engagement events.
    fx.event(gjol, Some(p1), "Borgermøde om shelteret", date(2024, 3, 10))
        .await;
    let ev2 = fx
        .event(birkelse, None, "Arbejdsdag i parken", date(2025, 4, 5))
        .await;
    fx.set("engagement_event", ev2, "kind", "WORKING_DAY").await;
    let ev3 = fx
        .event(tranum, None, "Workshop om fremtiden", date(2023, 11, 20))
        .await;
    fx.set("engagement_event", ev3, "kind", "WORKSHOP").await;
    fx.set("engagement_event", ev3, "description", "Hvordan skal byen se ud")
        .await;
    fx.set("engagement_event", ev3, "updated_at", old()).await;
    fx.event(gjol, Some(pd), "Kladdemøde", date(2025, 1, 1)).await;

    World {
        gjol,
        tranum,
        birkelse,
        halvrimmen,
        natur,
        kultur,
        bosaetning,
        vand,
        kulturdept,
        teknik,
        p0,
        p1,
        p2,
        pd,
        o1,
        o2,
        o3,
        o4,
    }
}

/// One root list: its field, filter and order input types, and the node field to read.
struct Root<'a> {
    app: &'a TestApp,
    field: &'static str,
    filter: &'static str,
    order: Option<&'static str>,
    read: &'static str,
}

impl Root<'_> {
    async fn run(&self, filter: Value, order: Value) -> Vec<String> {
        let order_var = self.order.map(|o| format!(", $o: {o}")).unwrap_or_default();
        let order_arg = if self.order.is_some() { ", orderBy: $o" } else { "" };
        let query = format!(
            "query($f: {}{order_var}) {{ {}(filter: $f{order_arg}, first: 100) {{ totalCount edges {{ node {{ {} }} }} }} }}",
            self.filter, self.field, self.read
        );
        let data = self.app.data(&query, json!({ "f": filter, "o": order })).await;
        let conn = &data[self.field];
        let items = texts(conn, self.read);
        assert_eq!(
            conn["totalCount"].as_i64().unwrap(),
            items.len() as i64,
            "{}: totalCount with {filter}",
            self.field
        );
        items
    }

    /// Asserts the list under `filter`, in its default order.
    async fn expect(&self, filter: Value, expected: &[&str]) {
        let got = self.run(filter.clone(), Value::Null).await;
        assert_eq!(got, expected, "{}(filter: {filter})", self.field);
    }

    /// Asserts the whole list in the order `field` / `direction`.
    async fn expect_order(&self, field: &str, direction: &str, expected: &[&str]) {
        let order = json!({ "field": field, "direction": direction });
        let got = self.run(Value::Null, order.clone()).await;
        assert_eq!(got, expected, "{}(orderBy: {order})", self.field);
    }

    /// `updatedSince`: after the old rows, exactly at them, and in the future.
    async fn expect_updated_since(&self, all: &[&str], old: &[&str]) {
        let recent: Vec<&str> = all.iter().copied().filter(|t| !old.contains(t)).collect();
        assert!(!old.is_empty() && !recent.is_empty());
        self.expect(json!({ "updatedSince": SINCE_AFTER_OLD }), &recent)
            .await;
        self.expect(json!({ "updatedSince": SINCE_AT_OLD }), all).await;
        // A nanosecond after them: not at them, on either database (PostgreSQL had rounded
        // the bound down to the old rows' microsecond).
        self.expect(json!({ "updatedSince": SINCE_JUST_AFTER_OLD }), &recent)
            .await;
        self.expect(json!({ "updatedSince": SINCE_FUTURE }), &[]).await;
    }
}

fn id(type_name: &str, id: Uuid) -> String {
    global_id(type_name, id)
}

both!(communities_filters_and_order, |app: TestApp| async move {
    let w = world(&app).await;
    let r = Root {
        app: &app,
        field: "communities",
        filter: "CommunityFilter",
        order: Some("CommunityOrder"),
        read: "name",
    };
    let all = ["Birkelse", "Gjøl", "Halvrimmen", "Tranum"];
    r.expect(Value::Null, &all).await;
    r.expect(
        json!({ "statuses": ["ACTIVE"] }),
        &["Birkelse", "Gjøl", "Halvrimmen"],
    )
    .await;
    r.expect(json!({ "statuses": ["INACTIVE"] }), &["Tranum"]).await;
    r.expect(json!({ "text": "gjøl" }), &["Gjøl"]).await;
    r.expect(json!({ "text": "om tranum" }), &["Tranum"]).await; // the description
    r.expect(json!({ "text": "zzz" }), &[]).await;
    // LIKE wildcards are plain characters.
    r.expect(json!({ "text": "%" }), &["Halvrimmen"]).await;
    r.expect(json!({ "text": "100%" }), &["Halvrimmen"]).await;
    r.expect(json!({ "text": "e_k" }), &["Halvrimmen"]).await;
    r.expect(json!({ "text": "1%0" }), &[]).await;
    r.expect(json!({ "text": "d_evet" }), &[]).await;
    r.expect(json!({ "text": "\\" }), &[]).await;
    r.expect(json!({ "statuses": ["ACTIVE"], "text": "tranum" }), &[])
        .await;
    r.expect_updated_since(&all, &["Tranum"]).await;
    // A partner synchronising: what changed at or after a row's own `updatedAt` includes it.
    let d = app
        .data(r#"{ community(slug: "gjoel") { updatedAt } }"#, json!({}))
        .await;
    let since = d["community"]["updatedAt"].clone();
    r.expect(json!({ "updatedSince": since }), &["Gjøl", "Halvrimmen"])
        .await;

    r.expect_order("NAME", "ASC", &all).await;
    r.expect_order("NAME", "DESC", &["Tranum", "Halvrimmen", "Gjøl", "Birkelse"])
        .await;
    let created = ["Gjøl", "Tranum", "Birkelse", "Halvrimmen"];
    r.expect_order("CREATED_AT", "ASC", &created).await;
    let mut rev = created;
    rev.reverse();
    r.expect_order("CREATED_AT", "DESC", &rev).await;
    let updated = ["Tranum", "Birkelse", "Gjøl", "Halvrimmen"];
    r.expect_order("UPDATED_AT", "ASC", &updated).await;
    let mut rev = updated;
    rev.reverse();
    r.expect_order("UPDATED_AT", "DESC", &rev).await;
    let _ = w;
});

both!(plans_filters_and_order, |app: TestApp| async move {
    let w = world(&app).await;
    let r = Root {
        app: &app,
        field: "plans",
        filter: "PlanFilter",
        order: Some("PlanOrder"),
        read: "title",
    };
    let (b, g19, u) = (
        "Birkelse i bevægelse",
        "Gjøl 2019–2022",
        "Udviklingsplan for Gjøl",
    );
    let all = [b, g19, u];
    r.expect(Value::Null, &all).await;
    r.expect(json!({ "communityIds": [id("Community", w.gjol)] }), &[g19, u])
        .await;
    r.expect(json!({ "communityIds": [id("Community", w.tranum)] }), &[])
        .await;
    r.expect(json!({ "communitySlugs": ["birkelse"] }), &[b]).await;
    r.expect(json!({ "communitySlugs": ["findes-ikke"] }), &[]).await;
    r.expect(
        json!({ "communityIds": [id("Community", w.gjol)], "communitySlugs": ["birkelse"] }),
        &all,
    )
    .await;
    r.expect(json!({ "statuses": ["ARCHIVED"] }), &[g19]).await;
    r.expect(json!({ "statuses": ["ADOPTED"] }), &[b, u]).await;
    r.expect(json!({ "statuses": ["DRAFT", "CONSULTATION"] }), &[])
        .await;
    r.expect(json!({ "themeIds": [id("Theme", w.natur)] }), &[u])
        .await;
    r.expect(json!({ "themeIds": [id("Theme", w.bosaetning)] }), &[])
        .await;
    r.expect(json!({ "themeSlugs": ["kultur"] }), &[b, g19]).await;
    r.expect(json!({ "themeSlugs": ["bosaetning"] }), &[]).await;
    r.expect(json!({ "year": 2020 }), &[g19]).await;
    r.expect(json!({ "year": 2024 }), &[u]).await;
    r.expect(json!({ "year": 2026 }), &[b, u]).await;
    r.expect(json!({ "year": 2023 }), &[]).await;
    r.expect(json!({ "year": 2030 }), &[]).await;
    r.expect(json!({ "text": "bevægelse" }), &[b]).await;
    r.expect(json!({ "text": "\"visionen for gjøl\"" }), &[g19]).await; // the vision
    // Its words: also in "Visionen for Udviklingsplan for Gjøl".
    r.expect(json!({ "text": "visionen for gjøl" }), &[g19, u]).await;
    r.expect(json!({ "text": "visionen for udviklingsplan" }), &[u])
        .await;
    r.expect(json!({ "text": "lien" }), &[b]).await; // the summary
    r.expect(json!({ "text": "zzz" }), &[]).await;
    r.expect(json!({ "text": "kladde" }), &[]).await;
    r.expect(json!({ "statuses": ["ADOPTED"], "year": 2020 }), &[])
        .await;
    r.expect_updated_since(&all, &[g19]).await;

    r.expect_order("TITLE", "ASC", &all).await;
    r.expect_order("TITLE", "DESC", &[u, g19, b]).await;
    r.expect_order("PERIOD_FROM", "ASC", &[g19, u, b]).await;
    r.expect_order("PERIOD_FROM", "DESC", &[b, u, g19]).await;
    r.expect_order("ADOPTED_ON", "ASC", &[g19, b, u]).await;
    r.expect_order("ADOPTED_ON", "DESC", &[u, b, g19]).await;
    r.expect_order("CREATED_AT", "ASC", &[u, g19, b]).await;
    r.expect_order("CREATED_AT", "DESC", &[b, g19, u]).await;
    r.expect_order("UPDATED_AT", "ASC", &[g19, u, b]).await;
    r.expect_order("UPDATED_AT", "DESC", &[b, u, g19]).await;
});

const BY: &str = "Byfest";
const GA: &str = "Gammel natursti";
const KU: &str = "Kunst i byrummet";
const LO: &str = "Løbeklub";
const NY: &str = "Ny legeplads";
const SH: &str = "Shelterplads ved fjorden";
const SI: &str = "Siddepladser ved søen";

both!(actions_filters_and_order, |app: TestApp| async move {
    let w = world(&app).await;
    let r = Root {
        app: &app,
        field: "actions",
        filter: "ActionFilter",
        order: Some("ActionOrder"),
        read: "title",
    };
    let all = [BY, GA, KU, LO, NY, SH, SI];
    r.expect(Value::Null, &all).await;
    r.expect(
        json!({ "communityIds": [id("Community", w.gjol)] }),
        &[GA, NY, SH],
    )
    .await;
    r.expect(json!({ "communityIds": [id("Community", w.tranum)] }), &[])
        .await;
    r.expect(json!({ "communitySlugs": ["birkelse"] }), &[BY, KU, LO, SI])
        .await;
    r.expect(json!({ "communitySlugs": ["findes-ikke"] }), &[]).await;
    r.expect(json!({ "planIds": [id("Plan", w.p0)] }), &[GA]).await;
    r.expect(
        json!({ "planIds": [id("Plan", w.p1), id("Plan", w.p0)] }),
        &[GA, NY, SH],
    )
    .await;
    r.expect(json!({ "planIds": [id("Plan", w.pd)] }), &[]).await;
    r.expect(json!({ "themeIds": [id("Theme", w.natur)] }), &[GA, SH])
        .await;
    r.expect(json!({ "themeIds": [id("Theme", w.bosaetning)] }), &[])
        .await;
    r.expect(json!({ "themeSlugs": ["kultur"] }), &[KU, NY]).await;
    r.expect(json!({ "themeSlugs": ["bosaetning"] }), &[]).await;
    r.expect(json!({ "departmentIds": [id("Department", w.vand)] }), &[SH])
        .await;
    r.expect(
        json!({ "departmentIds": [id("Department", w.kulturdept)] }),
        &[KU],
    )
    .await;
    r.expect(json!({ "departmentIds": [id("Department", w.teknik)] }), &[])
        .await;
    r.expect(json!({ "statuses": ["COMPLETED"] }), &[NY]).await;
    r.expect(json!({ "statuses": ["PLANNED", "PAUSED"] }), &[BY, GA, SI])
        .await;
    r.expect(json!({ "statuses": ["IN_PROGRESS"] }), &[SH]).await;
    r.expect(
        json!({ "statuses": ["COMPLETED"], "horizon": "HERE_AND_NOW" }),
        &[],
    )
    .await;
    r.expect(json!({ "horizon": "LONG_TERM" }), &[NY, SI]).await;
    r.expect(json!({ "horizon": "HERE_AND_NOW" }), &[BY, GA, KU, LO, SH])
        .await;
    r.expect(json!({ "seekingPartners": true }), &[GA, KU, LO, NY, SH, SI])
        .await;
    r.expect(json!({ "seekingPartners": false }), &[BY]).await;
    r.expect(json!({ "year": 2020 }), &[GA]).await;
    r.expect(json!({ "year": 2027 }), &[BY, KU, LO, NY, SH, SI]).await;
    r.expect(json!({ "year": 2023 }), &[]).await;
    r.expect(json!({ "year": 2030 }), &[]).await;
    r.expect(json!({ "text": "fjorden" }), &[SH]).await;
    r.expect(json!({ "text": "tømrer" }), &[SH]).await; // partner needs
    r.expect(json!({ "text": "skulptur" }), &[KU]).await; // description
    r.expect(json!({ "text": "zzz" }), &[]).await;
    r.expect(json!({ "text": "kladde" }), &[]).await;
    // Each word somewhere in the row, in any order and field; a quoted phrase as it stands.
    r.expect(json!({ "text": "legeplads ny" }), &[NY]).await;
    r.expect(json!({ "text": "  LEGEPLADS   Ny " }), &[NY]).await;
    r.expect(json!({ "text": "\"legeplads ny\"" }), &[]).await;
    r.expect(json!({ "text": "\"ny  legeplads\"" }), &[NY]).await;
    r.expect(json!({ "text": "tømrer shelterplads" }), &[SH]).await; // needs and title
    r.expect(json!({ "text": "fjorden zzz" }), &[]).await;
    r.expect(json!({ "text": "ved" }), &[SH, SI]).await;
    r.expect(json!({ "text": "ved \"søen\"" }), &[SI]).await;
    r.expect(json!({ "text": "\" \"" }), &all).await;
    // The punctuation of a sentence around a word, and typographic quotes (a phone's).
    r.expect(json!({ "text": "legeplads, ny." }), &[NY]).await;
    r.expect(json!({ "text": "(shelterplads)" }), &[SH]).await;
    r.expect(json!({ "text": "“legeplads ny”" }), &[]).await;
    r.expect(json!({ "text": "„ny legeplads“" }), &[NY]).await;
    r.expect(json!({ "text": "«ny legeplads»" }), &[NY]).await;
    // At most 12 words: each is a pattern over every row; a word repeated counts once.
    let words = (1..=20).map(|_| "e").collect::<Vec<_>>().join(" ");
    r.expect(json!({ "text": words }), &all).await;
    let many = (1..=13).map(|n| format!("ord{n}")).collect::<Vec<_>>().join(" ");
    crate::support::assert_bad_input(
        &app,
        "query($f: ActionFilter) { actions(filter: $f) { totalCount } }",
        json!({ "f": { "text": many } }),
        "at most 12 words",
    )
    .await;
    r.expect_updated_since(&all, &[BY]).await;

    r.expect_order("TITLE", "ASC", &all).await;
    r.expect_order("TITLE", "DESC", &[SI, SH, NY, LO, KU, GA, BY])
        .await;
    r.expect_order("PROGRESS", "ASC", &[KU, LO, GA, SI, SH, BY, NY])
        .await;
    r.expect_order("PROGRESS", "DESC", &[NY, BY, SH, SI, GA, LO, KU])
        .await;
    // Actions without a potential or a due date come last in both directions.
    r.expect_order("POTENTIAL", "ASC", &[GA, NY, BY, LO, SH, KU, SI])
        .await;
    r.expect_order("POTENTIAL", "DESC", &[SH, LO, BY, NY, GA, KU, SI])
        .await;
    r.expect_order("DUE_ON", "ASC", &[GA, BY, SH, LO, KU, NY, SI])
        .await;
    r.expect_order("DUE_ON", "DESC", &[KU, LO, SH, BY, GA, NY, SI])
        .await;
    let created = [SH, NY, KU, GA, LO, BY, SI];
    r.expect_order("CREATED_AT", "ASC", &created).await;
    let mut rev = created;
    rev.reverse();
    r.expect_order("CREATED_AT", "DESC", &rev).await;
    let updated = [BY, KU, SH, NY, GA, LO, SI];
    r.expect_order("UPDATED_AT", "ASC", &updated).await;
    let mut rev = updated;
    rev.reverse();
    r.expect_order("UPDATED_AT", "DESC", &rev).await;
});

both!(opportunities_filters_and_order, |app: TestApp| async move {
    let w = world(&app).await;
    let r = Root {
        app: &app,
        field: "opportunities",
        filter: "OpportunityFilter",
        order: Some("ActionOrder"),
        read: "title",
    };
    // Seeking partners, in an adopted plan, not completed or dropped: not the archived plan's
    // action, not Byfest (not seeking), not the draft's.
    let all = [KU, SH, SI];
    r.expect(Value::Null, &all).await;
    r.expect(json!({ "communityIds": [id("Community", w.gjol)] }), &[SH])
        .await;
    r.expect(json!({ "communityIds": [id("Community", w.tranum)] }), &[])
        .await;
    r.expect(json!({ "communitySlugs": ["birkelse"] }), &[KU, SI])
        .await;
    r.expect(json!({ "communitySlugs": ["findes-ikke"] }), &[]).await;
    r.expect(json!({ "themeIds": [id("Theme", w.natur)] }), &[SH])
        .await;
    r.expect(json!({ "themeIds": [id("Theme", w.bosaetning)] }), &[])
        .await;
    r.expect(json!({ "themeSlugs": ["kultur"] }), &[KU]).await;
    r.expect(json!({ "themeSlugs": ["bosaetning"] }), &[]).await;
    r.expect(json!({ "departmentIds": [id("Department", w.vand)] }), &[SH])
        .await;
    r.expect(json!({ "departmentIds": [id("Department", w.teknik)] }), &[])
        .await;
    // Finished ones only when asked for.
    r.expect(json!({ "statuses": ["COMPLETED"] }), &[NY]).await;
    r.expect(json!({ "statuses": ["DROPPED", "COMPLETED"] }), &[LO, NY])
        .await;
    r.expect(json!({ "statuses": ["PLANNED"] }), &[]).await;
    r.expect(json!({ "statuses": ["IN_PROGRESS"] }), &[SH]).await;
    r.expect(json!({ "horizon": "LONG_TERM" }), &[SI]).await;
    r.expect(json!({ "horizon": "HERE_AND_NOW" }), &[KU, SH]).await;
    r.expect(json!({ "text": "bænke" }), &[SI]).await;
    r.expect(json!({ "text": "tømrer" }), &[SH]).await;
    r.expect(json!({ "text": "zzz" }), &[]).await;
    r.expect(json!({ "updatedSince": "2023-01-01T00:00:00Z" }), &[SH, SI])
        .await;
    r.expect(json!({ "updatedSince": "2022-01-01T00:00:00Z" }), &all)
        .await;
    r.expect(json!({ "updatedSince": SINCE_FUTURE }), &[]).await;

    r.expect_order("TITLE", "DESC", &[SI, SH, KU]).await;
    r.expect_order("PROGRESS", "DESC", &[SH, SI, KU]).await;
    r.expect_order("POTENTIAL", "DESC", &[SH, KU, SI]).await;
    r.expect_order("DUE_ON", "ASC", &[SH, KU, SI]).await;
    r.expect_order("CREATED_AT", "DESC", &[SI, KU, SH]).await;
    r.expect_order("UPDATED_AT", "ASC", &[KU, SH, SI]).await;
});

both!(partnerships_filters, |app: TestApp| async move {
    let w = world(&app).await;
    let r = Root {
        app: &app,
        field: "partnerships",
        filter: "PartnershipFilter",
        order: None,
        read: "title",
    };
    let (ku, sh, st, ud) = (
        "Kunstpartnerskabet",
        "Shelterpartnerskabet",
        "Stipartnerskabet",
        "Udvekslingspartnerskabet",
    );
    let all = [ku, sh, st, ud];
    r.expect(Value::Null, &all).await;
    r.expect(json!({ "communityIds": [id("Community", w.gjol)] }), &[sh, st])
        .await;
    r.expect(
        json!({ "communityIds": [id("Community", w.birkelse)] }),
        &[ku, ud],
    )
    .await;
    r.expect(json!({ "communityIds": [id("Community", w.tranum)] }), &[])
        .await;
    r.expect(json!({ "communitySlugs": ["gjoel"] }), &[sh, st]).await;
    r.expect(json!({ "communitySlugs": ["findes-ikke"] }), &[]).await;
    r.expect(
        json!({ "organizationIds": [id("Organization", w.o1)] }),
        &[sh, st],
    )
    .await;
    r.expect(json!({ "organizationIds": [id("Organization", w.o2)] }), &[ku])
        .await;
    // Jammerbugt Erhverv is only in the drafts' partnerships.
    r.expect(json!({ "organizationIds": [id("Organization", w.o4)] }), &[])
        .await;
    r.expect(json!({ "statuses": ["ACTIVE"] }), &[sh]).await;
    r.expect(json!({ "statuses": ["COMPLETED", "ENDED"] }), &[st, ud])
        .await;
    r.expect(json!({ "statuses": ["PROPOSED"] }), &[ku]).await;
    r.expect(json!({ "statuses": ["ACTIVE"], "year": 2020 }), &[])
        .await;
    r.expect(json!({ "year": 2025 }), &[sh, ud]).await;
    r.expect(json!({ "year": 2027 }), &[ku, ud]).await;
    r.expect(json!({ "year": 2020 }), &[st]).await;
    r.expect(json!({ "year": 2023 }), &[]).await;
    r.expect(json!({ "year": 2030 }), &[ud]).await; // open-ended
    r.expect(json!({ "text": "shelter" }), &[sh]).await;
    r.expect(json!({ "text": "parken" }), &[ku]).await; // description
    r.expect(json!({ "text": "zzz" }), &[]).await;
    r.expect(json!({ "text": "kladde" }), &[]).await;
    r.expect_updated_since(&all, &[st]).await;
});

both!(ideas_filters, |app: TestApp| async move {
    let w = world(&app).await;
    let r = Root {
        app: &app,
        field: "ideas",
        filter: "IdeaFilter",
        order: None,
        read: "title",
    };
    let (f, n, s) = ("Fondsrådgivning", "Naturlegeplads", "Spisefællesskab");
    let all = [f, n, s];
    r.expect(Value::Null, &all).await;
    r.expect(json!({ "communityIds": [id("Community", w.gjol)] }), &[s])
        .await;
    r.expect(json!({ "communityIds": [id("Community", w.tranum)] }), &[])
        .await;
    r.expect(json!({ "communitySlugs": ["birkelse"] }), &[n]).await;
    r.expect(json!({ "communitySlugs": ["tranum"] }), &[]).await;
    r.expect(json!({ "themeIds": [id("Theme", w.kultur)] }), &[s])
        .await;
    r.expect(json!({ "themeIds": [id("Theme", w.bosaetning)] }), &[])
        .await;
    r.expect(json!({ "themeSlugs": ["natur"] }), &[n]).await;
    r.expect(json!({ "themeSlugs": ["bosaetning"] }), &[]).await;
    r.expect(json!({ "text": "fonds" }), &[f]).await;
    r.expect(json!({ "text": "skoven" }), &[n]).await; // description
    r.expect(json!({ "text": "zzz" }), &[]).await;
    r.expect_updated_since(&all, &[f]).await;
});

both!(idea_exchanges_filters, |app: TestApp| async move {
    let w = world(&app).await;
    let r = Root {
        app: &app,
        field: "ideaExchanges",
        filter: "IdeaExchangeFilter",
        order: None,
        read: "title",
    };
    let (e1, e2, e3) = (
        "Studietur til Birkelse",
        "Erfaringsudveksling om frivillige",
        "Fælles projekt om stier",
    );
    // Newest first; the undated one last.
    let all = [e1, e2, e3];
    r.expect(Value::Null, &all).await;
    r.expect(json!({ "communityIds": [id("Community", w.gjol)] }), &[e1, e2])
        .await; // initiator and participant
    r.expect(json!({ "communityIds": [id("Community", w.tranum)] }), &[e2])
        .await;
    r.expect(json!({ "communityIds": [id("Community", w.halvrimmen)] }), &[])
        .await;
    r.expect(json!({ "communitySlugs": ["birkelse"] }), &[e1, e3])
        .await;
    r.expect(json!({ "communitySlugs": ["halvrimmen"] }), &[]).await;
    r.expect(json!({ "kinds": ["STUDY_VISIT"] }), &[e1]).await;
    r.expect(json!({ "kinds": ["KNOWLEDGE_SHARING"] }), &[e2]).await;
    r.expect(json!({ "kinds": ["JOINT_PROJECT"] }), &[e3]).await;
    r.expect(json!({ "kinds": ["STUDY_VISIT"], "year": 2023 }), &[])
        .await;
    r.expect(json!({ "year": 2025 }), &[e1]).await;
    r.expect(json!({ "year": 2023 }), &[e2]).await;
    r.expect(json!({ "year": 2024 }), &[]).await;
    r.expect(json!({ "text": "frivillige" }), &[e2]).await;
    r.expect(json!({ "text": "næste år" }), &[e3]).await; // outcome
    r.expect(json!({ "text": "zzz" }), &[]).await;
    r.expect_updated_since(&all, &[e2]).await;
});

both!(organizations_filters_and_order, |app: TestApp| async move {
    let w = world(&app).await;
    let r = Root {
        app: &app,
        field: "organizations",
        filter: "OrganizationFilter",
        order: Some("OrganizationOrder"),
        read: "name",
    };
    let (b, g, j, n) = (
        "Birkelse Idrætsforening",
        "Gjøl Borgerforening",
        "Jammerbugt Erhverv",
        "Nordea-fonden",
    );
    let all = [b, g, j, n];
    r.expect(Value::Null, &all).await;
    r.expect(json!({ "communityIds": [id("Community", w.gjol)] }), &[g])
        .await;
    r.expect(json!({ "communityIds": [id("Community", w.tranum)] }), &[])
        .await;
    r.expect(json!({ "communitySlugs": ["birkelse"] }), &[b]).await;
    r.expect(json!({ "communitySlugs": ["tranum"] }), &[]).await;
    r.expect(json!({ "kinds": ["FOUNDATION"] }), &[n]).await;
    r.expect(json!({ "kinds": ["ASSOCIATION", "BUSINESS"] }), &[b, g, j])
        .await;
    r.expect(json!({ "kinds": ["VOLUNTEER_GROUP"] }), &[]).await;
    r.expect(json!({ "text": "fonden" }), &[n]).await;
    r.expect(json!({ "text": "kommunen" }), &[j]).await; // description
    r.expect(json!({ "text": "zzz" }), &[]).await;
    r.expect_updated_since(&all, &[n]).await;

    r.expect_order("NAME", "ASC", &all).await;
    r.expect_order("NAME", "DESC", &[n, j, g, b]).await;
    r.expect_order("CREATED_AT", "ASC", &[g, n, b, j]).await;
    r.expect_order("CREATED_AT", "DESC", &[j, b, n, g]).await;
    r.expect_order("UPDATED_AT", "ASC", &[n, g, b, j]).await;
    r.expect_order("UPDATED_AT", "DESC", &[j, b, g, n]).await;
});

both!(engagement_events_filters, |app: TestApp| async move {
    let w = world(&app).await;
    let r = Root {
        app: &app,
        field: "engagementEvents",
        filter: "EngagementEventFilter",
        order: None,
        read: "title",
    };
    let (ev1, ev2, ev3) = (
        "Borgermøde om shelteret",
        "Arbejdsdag i parken",
        "Workshop om fremtiden",
    );
    let all = [ev2, ev1, ev3];
    r.expect(Value::Null, &all).await;
    r.expect(json!({ "communityIds": [id("Community", w.gjol)] }), &[ev1])
        .await;
    r.expect(json!({ "communityIds": [id("Community", w.halvrimmen)] }), &[])
        .await;
    r.expect(json!({ "communitySlugs": ["tranum"] }), &[ev3]).await;
    r.expect(json!({ "communitySlugs": ["halvrimmen"] }), &[]).await;
    r.expect(json!({ "kinds": ["WORKING_DAY"] }), &[ev2]).await;
    r.expect(json!({ "kinds": ["CITIZEN_MEETING"] }), &[ev1]).await;
    r.expect(json!({ "kinds": ["EVENT"] }), &[]).await;
    r.expect(json!({ "year": 2024 }), &[ev1]).await;
    r.expect(json!({ "year": 2025 }), &[ev2]).await;
    r.expect(json!({ "year": 2022 }), &[]).await;
    r.expect(json!({ "text": "shelteret" }), &[ev1]).await;
    r.expect(json!({ "text": "byen" }), &[ev3]).await; // description
    r.expect(json!({ "text": "zzz" }), &[]).await;
    r.expect(json!({ "text": "kladde" }), &[]).await;
    r.expect_updated_since(&all, &[ev3]).await;
});

/// `departments(text:)` and `themes(text:)`: the only filter they have.
async fn by_text(app: &TestApp, field: &str, text: Option<&str>) -> Vec<String> {
    let query = format!(
        "query($t: String) {{ {field}(text: $t, first: 100) {{ totalCount edges {{ node {{ name }} }} }} }}"
    );
    let data = app.data(&query, json!({ "t": text })).await;
    let items = texts(&data[field], "name");
    assert_eq!(data[field]["totalCount"].as_i64().unwrap(), items.len() as i64);
    items
}

both!(departments_and_themes_text, |app: TestApp| async move {
    world(&app).await;
    let d = |t| by_text(&app, "departments", t);
    assert_eq!(
        d(None).await,
        ["Kultur og Fritid", "Teknik og Miljø", "Vand og Natur"]
    );
    assert_eq!(d(Some("natur")).await, ["Vand og Natur"]);
    assert_eq!(d(Some("FRITID")).await, ["Kultur og Fritid"]);
    assert_eq!(d(Some("broer")).await, ["Teknik og Miljø"]); // description
    assert!(d(Some("zzz")).await.is_empty());

    let t = |t| by_text(&app, "themes", t);
    assert_eq!(
        t(None).await,
        ["Bosætning", "Kultur og fællesskab", "Natur og friluftsliv"]
    );
    assert_eq!(t(Some("friluft")).await, ["Natur og friluftsliv"]);
    assert_eq!(t(Some("fællesskab")).await, ["Kultur og fællesskab"]);
    assert_eq!(t(Some("borgere")).await, ["Bosætning"]); // description
    assert!(t(Some("zzz")).await.is_empty());
});

// Text filters ignore case for every letter, not only ASCII and Danish: a name with Č or Á is
// found by itself and in any case, on both databases (SQLite's lower() is ASCII only).
both!(text_filters_ignore_case_beyond_ascii, |app: TestApp| async move {
    let fx = Fixture::new(&app.db);
    for (slug, name) in [
        ("capek", "Čapek Kulturforening"),
        ("abe", "Ábe Idrætsforening"),
        ("oeland", "ØLAND BÅDELAUG"),
        ("strasse", "Straße Musik"),
    ] {
        fx.organization(slug, name, OrganizationKind::Association, None)
            .await;
    }
    let q = "query($t: String!) { organizations(filter: { text: $t }) { nodes { slug } } }";
    for (text, expected) in [
        ("Čapek", "capek"),
        ("čapek", "capek"),
        ("ČAPEK KULTUR", "capek"),
        ("Ábe", "abe"),
        ("ábe idræt", "abe"),
        ("øland bådelaug", "oeland"),
        ("STRAßE", "strasse"),
    ] {
        let found = app.data(q, json!({ "t": text })).await;
        assert_eq!(
            found["organizations"]["nodes"],
            json!([{ "slug": expected }]),
            "{text}"
        );
    }
});

both!(
    slugs_are_found_in_any_case_and_with_danish_letters,
    |app: TestApp| async move {
        let fx = Fixture::new(&app.db);
        let gjol = fx.community("gjoel", "Gjøl").await;
        fx.community("aabybro", "Aabybro").await;
        let plan = fx.plan(gjol, "Gjøl 2025", PlanStatus::Adopted, 2025, 2028).await;
        fx.action(plan, "Shelterplads ved fjorden").await;
        let community = "query($s: String!) { community(slug: $s) { name } }";
        let actions =
            "query($s: String!) { actions(first: 5, filter: { communitySlugs: [$s] }) { totalCount } }";
        for slug in ["gjoel", "GJOEL", " Gjøl ", "gjøl"] {
            let d = app.data(community, json!({ "s": slug })).await;
            assert_eq!(d["community"]["name"], "Gjøl", "{slug:?}");
            let d = app.data(actions, json!({ "s": slug })).await;
            assert_eq!(d["actions"]["totalCount"], 1, "{slug:?}");
        }
        let d = app.data(community, json!({ "s": "Åbybro" })).await;
        assert_eq!(d["community"]["name"], "Aabybro");
        // Still the slug, not the name: "gjol" is no community's.
        let d = app.data(community, json!({ "s": "gjol" })).await;
        assert!(d["community"].is_null(), "{d}");
        // The map data alike.
        let map: Value = app
            .client
            .get(app.url("/geo/actions.geojson"))
            .query(&[("community", "GJØL")])
            .send()
            .await
            .expect("GET")
            .json()
            .await
            .expect("GeoJSON");
        assert_eq!(map["features"].as_array().map(Vec::len), Some(1), "{map}");
    }
);

both!(rows_tied_in_an_order_stand_by_title, |app: TestApp| async move {
    // Rows that tie on the field asked for stand in the order of their titles (A–Å), in both
    // directions, not in the order they were written; the field still decides first.
    let fx = Fixture::new(&app.db);
    let gjol = fx.community("gjoel", "Gjøl").await;
    let plan = fx
        .plan(gjol, "Gjøl 2025–2028", PlanStatus::Adopted, 2025, 2028)
        .await;
    for (title, progress, due) in [
        ("Ålejer ved havnen", 40, date(2026, 5, 1)),
        ("Æbleplantage", 40, date(2026, 5, 1)),
        ("Borde og bænke", 40, date(2026, 5, 1)),
        ("Ørnereder", 10, date(2026, 3, 1)),
        ("Cykelsti", 40, date(2026, 5, 1)),
    ] {
        let mut m = fx.action_model(plan, title);
        m.progress = Set(progress);
        m.due_on = Set(Some(due));
        fx.insert_action(m).await;
    }
    let r = Root {
        app: &app,
        field: "actions",
        filter: "ActionFilter",
        order: Some("ActionOrder"),
        read: "title",
    };
    let tied = ["Borde og bænke", "Cykelsti", "Æbleplantage", "Ålejer ved havnen"];
    let first_then = |first: &'static str| [&[first][..], &tied[..]].concat();
    let then_last = |last: &'static str| [&tied[..], &[last][..]].concat();
    r.expect_order("DUE_ON", "ASC", &first_then("Ørnereder")).await;
    r.expect_order("DUE_ON", "DESC", &then_last("Ørnereder")).await;
    r.expect_order("PROGRESS", "ASC", &first_then("Ørnereder")).await;
    r.expect_order("PROGRESS", "DESC", &then_last("Ørnereder")).await;
    // No potential: all tie, in title order.
    let all = [
        "Borde og bænke",
        "Cykelsti",
        "Æbleplantage",
        "Ørnereder",
        "Ålejer ved havnen",
    ];
    r.expect_order("POTENTIAL", "DESC", &all).await;

    // Plans of one period, inserted out of title order.
    let birkelse = fx.community("birkelse", "Birkelse").await;
    fx.plan(birkelse, "Birkelse 2025–2028", PlanStatus::Adopted, 2025, 2028)
        .await;
    fx.plan(birkelse, "Birkelse 2021–2024", PlanStatus::Archived, 2021, 2024)
        .await;
    let r = Root {
        app: &app,
        field: "plans",
        filter: "PlanFilter",
        order: Some("PlanOrder"),
        read: "title",
    };
    r.expect_order(
        "PERIOD_FROM",
        "DESC",
        &["Birkelse 2025–2028", "Gjøl 2025–2028", "Birkelse 2021–2024"],
    )
    .await;
    r.expect_order(
        "ADOPTED_ON",
        "ASC",
        &["Birkelse 2021–2024", "Birkelse 2025–2028", "Gjøl 2025–2028"],
    )
    .await;
});

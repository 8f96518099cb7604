//! Writing partnerships and their members (all members in the partnership's transaction: a
//! bad member anywhere creates nothing), and partners' proposals: a partner's API key
//! expresses interest in an action that seeks partners, the proposal is seen only by the
//! partner, the community's editors and staff until they accept or decline it, and the
//! partner lists its own partnerships. A revoked key is refused outright.
use entity::{api_key, partnership, partnership_member};
use lup_tests::{
    As, TestApp, both,
    fixture::{
        Fixture, MemberRole, OrganizationKind, PartnershipStatus, Party, PlanStatus, danish_today, global_id,
    },
};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

const CREATE: &str = "mutation($i: CreatePartnershipInput!) { createPartnership(input: $i) {
    partnership { id title description status startsOn endsOn version internalNotes action { id } plan { id }
                  members { id role contributionKind contribution amountDkk volunteerHours version
                            party { __typename ... on Organization { id } ... on Community { id } ... on Department { id } } } }
    userErrors { field code message } } }";
const UPDATE: &str = "mutation($i: UpdatePartnershipInput!) { updatePartnership(input: $i) {
    partnership { id title status startsOn endsOn version internalNotes } userErrors { field code message } } }";
const DELETE: &str = "mutation($i: DeletePartnershipInput!) { deletePartnership(input: $i) { deletedId userErrors { field code message } } }";
const ADD: &str = "mutation($i: AddPartnershipMemberInput!) { addPartnershipMember(input: $i) {
    partnershipMember { id role contributionKind amountDkk volunteerHours version partnership { id } }
    userErrors { field code message } } }";
const UPDATE_MEMBER: &str =
    "mutation($i: UpdatePartnershipMemberInput!) { updatePartnershipMember(input: $i) {
    partnershipMember { id role contributionKind contribution amountDkk volunteerHours version }
    userErrors { field code message } } }";
const REMOVE: &str = "mutation($i: RemovePartnershipMemberInput!) { removePartnershipMember(input: $i) {
    deletedId userErrors { field code message } } }";
const INTEREST: &str = "mutation($i: ExpressInterestInput!) { expressInterest(input: $i) {
    partnership { id title status version proposalMessage proposedBy { id } action { id }
                  members { role contributionKind contribution amountDkk volunteerHours party { ... on Organization { id } } } }
    userErrors { field code message } } }";
const ACCEPT: &str = "mutation($i: AcceptPartnershipProposalInput!) { acceptPartnershipProposal(input: $i) {
    partnership { id status version } userErrors { field code message } } }";
const DECLINE: &str =
    "mutation($i: DeclinePartnershipProposalInput!) { declinePartnershipProposal(input: $i) {
    partnership { id status statusLabel version internalNotes declineMessage } userErrors { field code message } } }";
const WITHDRAW: &str =
    "mutation($i: WithdrawPartnershipProposalInput!) { withdrawPartnershipProposal(input: $i) {
    deletedId userErrors { field code message } } }";
const NODE: &str =
    "query($id: ID!) { node(id: $id) { ... on Partnership { title status version proposalMessage
    declineMessage members { role } } } }";
const MINE: &str = "query($after: String) { myPartnerships(first: 2, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } nodes { title status proposalMessage } } }";
const LIST: &str = "{ partnerships(first: 50) { totalCount nodes { title } } }";
const AUDIT: &str = "query($id: ID!) { auditLog(filter: { entityId: $id }) { nodes { operation entityType changes actor { kind label } } } }";

struct World {
    gjol: Uuid,
    birkelse: Uuid,
    plan: Uuid,
    /// Seeks partners, in the adopted plan.
    seeking: Uuid,
    /// Does not seek partners.
    quiet: Uuid,
    /// Seeks partners, in a draft plan.
    drafted: Uuid,
    /// Still flagged as seeking partners, but dropped.
    finished: Uuid,
    vand: Uuid,
    forening: Uuid,
    fonden: Uuid,
    kassen: Uuid,
}

async fn world(app: &TestApp) -> World {
    let fx = Fixture::new(&app.db);
    let gjol = fx.community("gjoel", "Gjøl").await;
    let plan = fx.plan(gjol, "Gjøl 2030", PlanStatus::Adopted, 2026, 2030).await;
    let draft = fx.plan(gjol, "Gjøl 2035", PlanStatus::Draft, 2031, 2035).await;
    let mut m = fx.action_model(plan, "Ny shelterplads");
    m.seeking_partners = sea_orm::Set(true);
    let seeking = fx.insert_action(m).await;
    let mut m = fx.action_model(draft, "Kladdehandling");
    m.seeking_partners = sea_orm::Set(true);
    let drafted = fx.insert_action(m).await;
    let mut m = fx.action_model(plan, "Opgivet handling");
    m.seeking_partners = sea_orm::Set(true);
    m.status = sea_orm::Set(entity::action::ActionStatus::Dropped);
    let finished = fx.insert_action(m).await;
    World {
        gjol,
        birkelse: fx.community("birkelse", "Birkelse").await,
        plan,
        seeking,
        quiet: fx.action(plan, "Stille handling").await,
        drafted,
        finished,
        vand: fx.department("vand-og-natur", "Vand og Natur").await,
        forening: fx
            .organization(
                "gjoel-borgerforening",
                "Gjøl Borgerforening",
                OrganizationKind::Association,
                Some(gjol),
            )
            .await,
        fonden: fx
            .organization("fonden", "Nordjysk Fond", OrganizationKind::Foundation, None)
            .await,
        kassen: fx
            .organization("andelskassen", "Andelskassen", OrganizationKind::Business, None)
            .await,
    }
}

fn valid(w: &World) -> Value {
    json!({
        "title": "Shelterlauget",
        "description": "Sammen om shelterne.",
        "actionId": global_id("Action", w.seeking),
        "status": "ACTIVE",
        "startsOn": "2026-04-01",
        "endsOn": "2027-03-31",
        "internalNotes": "Aftale på vej.",
        "members": [
            { "communityId": global_id("Community", w.gjol), "role": "LEAD", "contributionKind": "VOLUNTEER_HOURS",
              "contribution": "Frivillige", "volunteerHours": 200 },
            { "organizationId": global_id("Organization", w.fonden), "role": "SUPPORTER", "contributionKind": "MONEY",
              "contribution": "Tilskud", "amountDkk": 50000 },
            { "departmentId": global_id("Department", w.vand), "role": "ADVISOR", "contributionKind": "EXPERTISE" },
        ],
    })
}

fn offer() -> Value {
    json!({ "contributionKind": "MONEY", "contribution": "Et tilskud", "amountDkk": 25000 })
}

/// `updatePartnershipMember` with `input`, as `who`: the whole answer's data.
async fn update_member(who: &TestApp, input: Value) -> Value {
    who.data(UPDATE_MEMBER, json!({ "i": input })).await
}

async fn counts(app: &TestApp) -> (u64, u64) {
    (
        partnership::Entity::find().count(&app.db).await.expect("count"),
        partnership_member::Entity::find()
            .count(&app.db)
            .await
            .expect("count"),
    )
}

both!(
    staff_create_update_and_delete_a_partnership_with_its_members,
    |app: TestApp| async move {
        let w = world(&app).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let created = staff.data(CREATE, json!({ "i": valid(&w) })).await["createPartnership"].clone();
        assert_eq!(created["userErrors"], json!([]));
        let p = &created["partnership"];
        assert_eq!(
            (p["title"].as_str(), p["status"].as_str(), p["version"].as_i64()),
            (Some("Shelterlauget"), Some("ACTIVE"), Some(1))
        );
        assert_eq!(
            (p["startsOn"].as_str(), p["endsOn"].as_str()),
            (Some("2026-04-01"), Some("2027-03-31"))
        );
        assert_eq!(p["internalNotes"], "Aftale på vej.");
        assert_eq!(p["action"]["id"], global_id("Action", w.seeking));
        assert_eq!(p["plan"]["id"], global_id("Plan", w.plan));
        let members = p["members"].as_array().expect("members");
        assert_eq!(members.len(), 3);
        assert_eq!(members[0]["role"], "LEAD");
        assert_eq!(
            members[0]["party"],
            json!({ "__typename": "Community", "id": global_id("Community", w.gjol) })
        );
        let money = members
            .iter()
            .find(|m| m["contributionKind"] == "MONEY")
            .expect("money");
        assert_eq!(money["amountDkk"], 50000);
        let id = p["id"].clone();

        // Public at once, without internal notes.
        let public = app.data(LIST, json!({})).await;
        assert_eq!(
            public["partnerships"]["nodes"],
            json!([{ "title": "Shelterlauget" }])
        );

        let updated = staff
            .data(
                UPDATE,
                json!({ "i": { "id": id, "version": 1, "title": "Shelterlauget Gjøl", "status": "COMPLETED",
            "endsOn": null, "internalNotes": "Afsluttet." } }),
            )
            .await["updatePartnership"]
            .clone();
        assert_eq!(updated["userErrors"], json!([]));
        let p = &updated["partnership"];
        assert_eq!(
            (p["title"].as_str(), p["status"].as_str()),
            (Some("Shelterlauget Gjøl"), Some("COMPLETED"))
        );
        assert!(p["endsOn"].is_null());
        assert_eq!(p["startsOn"], "2026-04-01");
        assert_eq!(p["version"], 2);

        let log = staff.data(AUDIT, json!({ "id": id })).await["auditLog"]["nodes"].clone();
        assert_eq!(log[0]["operation"], "UPDATE");
        assert_eq!(
            log[0]["changes"]["status"],
            json!({ "before": "ACTIVE", "after": "COMPLETED" })
        );
        assert_eq!(log[1]["operation"], "CREATE");
        let member_log = staff
            .data(
                "{ auditLog(filter: { entityType: \"PartnershipMember\" }) { totalCount } }",
                json!({}),
            )
            .await;
        assert_eq!(member_log["auditLog"]["totalCount"], 3, "each member is audited");

        assert_eq!(
            staff
                .error(DELETE, json!({ "i": { "id": id, "version": 1 } }))
                .await
                .0,
            "CONFLICT"
        );
        let deleted = staff
            .data(DELETE, json!({ "i": { "id": id, "version": 2 } }))
            .await;
        assert_eq!(deleted["deletePartnership"]["deletedId"], id);
        assert_eq!(counts(&app).await, (0, 0), "the members went with it");
        // Each member that went with it has its DELETE record, with what it was.
        let member_log = staff
            .data(
                "{ auditLog(filter: { entityType: \"PartnershipMember\", operation: \"DELETE\" }) {
                    totalCount nodes { changes } } }",
                json!({}),
            )
            .await;
        assert_eq!(member_log["auditLog"]["totalCount"], 3, "{member_log}");
        let amounts: Vec<&Value> = member_log["auditLog"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| &n["changes"]["amount_dkk"]["before"])
            .filter(|a| !a.is_null())
            .collect();
        assert_eq!(amounts, vec![&json!(50000)], "{member_log}");

        // Around a whole plan.
        let mut input = valid(&w);
        input["actionId"] = Value::Null;
        input["planId"] = json!(global_id("Plan", w.plan));
        input["members"] = json!([]);
        let body = staff.data(CREATE, json!({ "i": input })).await["createPartnership"].clone();
        assert_eq!(body["userErrors"], json!([]));
        assert!(body["partnership"]["action"].is_null());
        assert_eq!(body["partnership"]["plan"]["id"], global_id("Plan", w.plan));
    }
);

both!(a_bad_member_anywhere_creates_nothing, |app: TestApp| async move {
    let w = world(&app).await;
    let staff = app.signed_in(As::Staff, &[], None).await;
    let mut input = valid(&w);
    input["members"][1]["amountDkk"] = json!(-1);
    let body = staff.data(CREATE, json!({ "i": input })).await["createPartnership"].clone();
    assert!(body["partnership"].is_null());
    assert_eq!(
        body["userErrors"][0]["field"],
        json!(["members", "1", "amountDkk"])
    );
    assert_eq!(body["userErrors"][0]["code"], "OUT_OF_RANGE");
    assert_eq!(counts(&app).await, (0, 0));

    let unknown = Uuid::now_v7();
    let cases: &[(usize, Value, Value, &str)] = &[
        (
            1,
            json!({ "amountDkk": -1 }),
            json!(["members", "1", "amountDkk"]),
            "OUT_OF_RANGE",
        ),
        (
            0,
            json!({ "volunteerHours": -3 }),
            json!(["members", "0", "volunteerHours"]),
            "OUT_OF_RANGE",
        ),
        // Upper bounds keep sums far from overflowing (GraphQL's largest Int in kroner, a
        // million hours): one krone more, or a value only a 64-bit integer holds, is refused.
        (
            1,
            json!({ "amountDkk": 2_147_483_648_i64 }),
            json!(["members", "1", "amountDkk"]),
            "OUT_OF_RANGE",
        ),
        (
            1,
            json!({ "amountDkk": 10_000_000_001_i64 }),
            json!(["members", "1", "amountDkk"]),
            "OUT_OF_RANGE",
        ),
        (
            0,
            json!({ "volunteerHours": 1_000_001 }),
            json!(["members", "0", "volunteerHours"]),
            "OUT_OF_RANGE",
        ),
        (
            2,
            json!({ "contribution": "x".repeat(20_001) }),
            json!(["members", "2", "contribution"]),
            "TOO_LONG",
        ),
        (
            2,
            json!({ "departmentId": null }),
            json!(["members", "2", "organizationId"]),
            "REQUIRED",
        ),
        (
            2,
            json!({ "organizationId": global_id("Organization", w.kassen) }),
            json!(["members", "2", "departmentId"]),
            "INVALID",
        ),
        (
            1,
            json!({ "organizationId": global_id("Department", w.vand) }),
            json!(["members", "1", "organizationId"]),
            "INVALID",
        ),
        (
            1,
            json!({ "organizationId": global_id("Organization", unknown) }),
            json!(["members", "1", "organizationId"]),
            "NOT_FOUND",
        ),
        (
            2,
            json!({ "departmentId": null, "communityId": global_id("Community", w.gjol) }),
            json!(["members", "2", "communityId"]),
            "TAKEN",
        ),
    ];
    for (i, change, path, code) in cases {
        let mut input = valid(&w);
        for (k, v) in change.as_object().expect("object") {
            input["members"][*i][k] = v.clone();
        }
        let body = staff.data(CREATE, json!({ "i": input })).await["createPartnership"].clone();
        assert!(body["partnership"].is_null(), "{change}: {body}");
        assert_eq!(body["userErrors"][0]["field"], *path, "{change}: {body}");
        assert_eq!(body["userErrors"][0]["code"], *code, "{change}: {body}");
    }
    let mut input = valid(&w);
    input["members"][0]["role"] = json!("CHIEF");
    let (_, message) = staff.error(CREATE, json!({ "i": input })).await;
    assert!(message.contains("input.members.0.role"), "{message}");
    assert_eq!(counts(&app).await, (0, 0), "nothing was created");
});

both!(
    every_bad_partnership_field_is_a_user_error_and_changes_nothing,
    |app: TestApp| async move {
        let w = world(&app).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let unknown = Uuid::now_v7();
        let many: Vec<Value> = (0..101)
            .map(|_| json!({ "communityId": global_id("Community", w.gjol) }))
            .collect();
        let cases: &[(&str, Value, Value, &str)] = &[
            ("title", json!(""), json!(["title"]), "REQUIRED"),
            ("title", json!("x".repeat(201)), json!(["title"]), "TOO_LONG"),
            (
                "description",
                json!("x".repeat(20_001)),
                json!(["description"]),
                "TOO_LONG",
            ),
            ("actionId", json!("x"), json!(["actionId"]), "INVALID"),
            (
                "actionId",
                json!(global_id("Action", unknown)),
                json!(["actionId"]),
                "NOT_FOUND",
            ),
            ("actionId", Value::Null, json!(["actionId"]), "REQUIRED"),
            (
                "planId",
                json!(global_id("Plan", w.plan)),
                json!(["actionId"]),
                "INVALID",
            ),
            (
                "startsOn",
                json!("1899-12-31"),
                json!(["startsOn"]),
                "OUT_OF_RANGE",
            ),
            ("endsOn", json!("2026-03-31"), json!(["endsOn"]), "OUT_OF_RANGE"),
            (
                "internalNotes",
                json!("x".repeat(20_001)),
                json!(["internalNotes"]),
                "TOO_LONG",
            ),
            ("members", json!(many), json!(["members"]), "TOO_LONG"),
        ];
        for (field, value, path, code) in cases {
            let mut input = valid(&w);
            input[*field] = value.clone();
            let body = staff.data(CREATE, json!({ "i": input })).await["createPartnership"].clone();
            assert!(body["partnership"].is_null(), "{field}: {body}");
            assert_eq!(body["userErrors"][0]["field"], *path, "{field}: {body}");
            assert_eq!(body["userErrors"][0]["code"], *code, "{field}: {body}");
        }
        let mut input = valid(&w);
        input["actionId"] = Value::Null;
        input["planId"] = json!(global_id("Plan", unknown));
        let body = staff.data(CREATE, json!({ "i": input })).await;
        assert_eq!(
            body["createPartnership"]["userErrors"][0]["field"],
            json!(["planId"])
        );
        assert_eq!(body["createPartnership"]["userErrors"][0]["code"], "NOT_FOUND");
        let mut input = valid(&w);
        input["status"] = json!("MAYBE");
        let (_, message) = staff.error(CREATE, json!({ "i": input })).await;
        assert!(message.contains("input.status"), "{message}");
        assert_eq!(counts(&app).await, (0, 0));

        let id =
            staff.data(CREATE, json!({ "i": valid(&w) })).await["createPartnership"]["partnership"]["id"]
                .clone();
        let cases: &[(&str, Value, &str)] = &[
            ("id", json!("x"), "INVALID"),
            ("title", json!(" "), "REQUIRED"),
            ("description", json!("x".repeat(20_001)), "TOO_LONG"),
            ("status", json!("PROPOSED"), "INVALID_TRANSITION"),
            ("startsOn", json!("2027-06-01"), "OUT_OF_RANGE"),
            ("endsOn", json!("2026-01-01"), "OUT_OF_RANGE"),
            ("internalNotes", json!("x".repeat(20_001)), "TOO_LONG"),
        ];
        for (field, value, code) in cases {
            let mut input = json!({ "id": id, "version": 1 });
            input[*field] = value.clone();
            let body = staff.data(UPDATE, json!({ "i": input })).await["updatePartnership"].clone();
            assert!(body["partnership"].is_null(), "{field}: {body}");
            assert_eq!(body["userErrors"][0]["field"], json!([field]), "{field}: {body}");
            assert_eq!(body["userErrors"][0]["code"], *code, "{field}: {body}");
        }
        let (code, _) = staff
            .error(UPDATE, json!({ "i": { "id": id, "version": 7, "title": "Ny" } }))
            .await;
        assert_eq!(code, "CONFLICT");
        let now = staff.data(NODE, json!({ "id": id })).await;
        assert_eq!(
            (now["node"]["title"].as_str(), now["node"]["version"].as_i64()),
            (Some("Shelterlauget"), Some(1))
        );
    }
);

both!(
    editors_write_only_partnerships_around_their_communities,
    |app: TestApp| async move {
        let w = world(&app).await;
        let fx = Fixture::new(&app.db);
        let existing = fx
            .partnership(Some(w.seeking), None, "Eksisterende", PartnershipStatus::Active)
            .await;
        let member = fx
            .member(existing, Party::Community(w.gjol), MemberRole::Lead)
            .await;
        let existing_id = global_id("Partnership", existing);
        let member_id = global_id("PartnershipMember", member);

        for (role, code) in [(As::Anonymous, "UNAUTHENTICATED"), (As::Partner, "FORBIDDEN")] {
            let caller = app.signed_in(role, &[], Some(w.fonden)).await;
            assert_eq!(
                caller.error(CREATE, json!({ "i": valid(&w) })).await.0,
                code,
                "{role:?}"
            );
            assert_eq!(
                caller
                    .error(DELETE, json!({ "i": { "id": existing_id, "version": 1 } }))
                    .await
                    .0,
                code
            );
        }
        let other = app.signed_in(As::CommunityEditor, &[w.birkelse], None).await;
        let mut around_plan = valid(&w);
        around_plan["actionId"] = Value::Null;
        around_plan["planId"] = json!(global_id("Plan", w.plan));
        for (query, input) in [
            (CREATE, valid(&w)),
            (CREATE, around_plan),
            (UPDATE, json!({ "id": existing_id, "version": 1, "title": "X" })),
            (DELETE, json!({ "id": existing_id, "version": 1 })),
            (
                ADD,
                json!({ "partnershipId": existing_id, "organizationId": global_id("Organization", w.kassen) }),
            ),
            (
                UPDATE_MEMBER,
                json!({ "id": member_id, "version": 1, "role": "PARTNER" }),
            ),
            (REMOVE, json!({ "id": member_id, "version": 1 })),
        ] {
            assert_eq!(
                other.error(query, json!({ "i": input })).await.0,
                "FORBIDDEN",
                "{query}"
            );
        }
        assert_eq!(counts(&app).await, (1, 1), "the other editor changed nothing");

        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        let body = editor.data(CREATE, json!({ "i": valid(&w) })).await;
        assert_eq!(body["createPartnership"]["userErrors"], json!([]));
        let body = editor
            .data(
                UPDATE,
                json!({ "i": { "id": existing_id, "version": 1, "title": "Omdøbt" } }),
            )
            .await;
        assert_eq!(body["updatePartnership"]["partnership"]["title"], "Omdøbt");
        assert_eq!(counts(&app).await, (2, 4));
    }
);

both!(members_are_added_changed_and_removed, |app: TestApp| async move {
    let w = world(&app).await;
    let fx = Fixture::new(&app.db);
    let p = fx
        .partnership(Some(w.seeking), None, "Lauget", PartnershipStatus::Active)
        .await;
    fx.member(p, Party::Community(w.gjol), MemberRole::Lead).await;
    let p_id = global_id("Partnership", p);
    let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
    let input = json!({ "partnershipId": p_id, "organizationId": global_id("Organization", w.kassen),
        "role": "SUPPORTER", "contributionKind": "MONEY", "contribution": "Sponsorat", "amountDkk": 10000 });
    let added = editor.data(ADD, json!({ "i": input })).await["addPartnershipMember"].clone();
    assert_eq!(added["userErrors"], json!([]));
    let m = &added["partnershipMember"];
    assert_eq!(
        (m["role"].as_str(), m["amountDkk"].as_i64(), m["version"].as_i64()),
        (Some("SUPPORTER"), Some(10000), Some(1))
    );
    assert_eq!(m["partnership"]["id"], p_id);
    let id = m["id"].clone();
    let node = app.data(NODE, json!({ "id": p_id })).await;
    assert_eq!(
        node["node"]["members"],
        json!([{ "role": "LEAD" }, { "role": "SUPPORTER" }])
    );

    let body = editor.data(ADD, json!({ "i": input })).await;
    assert_eq!(
        body["addPartnershipMember"]["userErrors"][0]["field"],
        json!(["organizationId"])
    );
    assert_eq!(body["addPartnershipMember"]["userErrors"][0]["code"], "TAKEN");
    let unknown = Uuid::now_v7();
    for (change, field, code) in [
        (json!({ "partnershipId": "x" }), "partnershipId", "INVALID"),
        (
            json!({ "partnershipId": global_id("Partnership", unknown) }),
            "partnershipId",
            "NOT_FOUND",
        ),
        (json!({ "organizationId": null }), "organizationId", "REQUIRED"),
        (
            json!({ "communityId": global_id("Community", w.birkelse) }),
            "organizationId",
            "INVALID",
        ),
        (
            json!({ "organizationId": global_id("Organization", unknown) }),
            "organizationId",
            "NOT_FOUND",
        ),
        (
            json!({ "organizationId": null, "departmentId": global_id("Department", unknown) }),
            "departmentId",
            "NOT_FOUND",
        ),
        (
            json!({ "contribution": "x".repeat(20_001) }),
            "contribution",
            "TOO_LONG",
        ),
        (json!({ "amountDkk": -10 }), "amountDkk", "OUT_OF_RANGE"),
        (json!({ "volunteerHours": -10 }), "volunteerHours", "OUT_OF_RANGE"),
    ] {
        let mut bad = input.clone();
        for (k, v) in change.as_object().expect("object") {
            bad[k] = v.clone();
        }
        let body = editor.data(ADD, json!({ "i": bad })).await["addPartnershipMember"].clone();
        assert!(body["partnershipMember"].is_null(), "{change}: {body}");
        assert_eq!(body["userErrors"][0]["field"], json!([field]), "{change}: {body}");
        assert_eq!(body["userErrors"][0]["code"], code, "{change}: {body}");
    }
    let mut bad = input.clone();
    bad["contributionKind"] = json!("GOLD");
    let (_, message) = editor.error(ADD, json!({ "i": bad })).await;
    assert!(message.contains("input.contributionKind"), "{message}");
    assert_eq!(counts(&app).await, (1, 2));

    let updated = editor
        .data(
            UPDATE_MEMBER,
            json!({ "i": { "id": id, "version": 1, "role": "PARTNER", "contributionKind": "VOLUNTEER_HOURS",
            "amountDkk": null, "volunteerHours": 80, "contribution": "Hænder" } }),
        )
        .await["updatePartnershipMember"]
        .clone();
    assert_eq!(updated["userErrors"], json!([]));
    let m = &updated["partnershipMember"];
    assert_eq!(
        (m["role"].as_str(), m["contributionKind"].as_str()),
        (Some("PARTNER"), Some("VOLUNTEER_HOURS"))
    );
    assert!(m["amountDkk"].is_null());
    assert_eq!(
        (m["volunteerHours"].as_i64(), m["version"].as_i64()),
        (Some(80), Some(2))
    );
    for (field, value, code) in [
        ("id", json!("x"), "INVALID"),
        ("contribution", json!("x".repeat(20_001)), "TOO_LONG"),
        ("amountDkk", json!(-1), "OUT_OF_RANGE"),
        ("volunteerHours", json!(-1), "OUT_OF_RANGE"),
    ] {
        let mut bad = json!({ "id": id, "version": 2 });
        bad[field] = value;
        let body = editor.data(UPDATE_MEMBER, json!({ "i": bad })).await["updatePartnershipMember"].clone();
        assert_eq!(body["userErrors"][0]["field"], json!([field]), "{field}: {body}");
        assert_eq!(body["userErrors"][0]["code"], code, "{field}: {body}");
    }
    assert_eq!(
        editor
            .error(
                UPDATE_MEMBER,
                json!({ "i": { "id": id, "version": 1, "role": "LEAD" } })
            )
            .await
            .0,
        "CONFLICT"
    );
    assert_eq!(
        editor
            .error(REMOVE, json!({ "i": { "id": id, "version": 1 } }))
            .await
            .0,
        "CONFLICT"
    );
    let removed = editor
        .data(REMOVE, json!({ "i": { "id": id, "version": 2 } }))
        .await;
    assert_eq!(removed["removePartnershipMember"]["deletedId"], id);
    assert_eq!(counts(&app).await, (1, 1));
});

both!(
    a_partner_expresses_interest_in_an_action_seeking_partners,
    |app: TestApp| async move {
        let w = world(&app).await;
        let partner = app.signed_in(As::Partner, &[], Some(w.fonden)).await;
        let input = json!({ "actionId": global_id("Action", w.seeking), "message": "Vi vil gerne støtte shelterne.", "offer": offer() });
        let body = partner.data(INTEREST, json!({ "i": input })).await["expressInterest"].clone();
        assert_eq!(body["userErrors"], json!([]));
        let p = &body["partnership"];
        assert_eq!(
            (p["title"].as_str(), p["status"].as_str()),
            (Some("Interesse fra Nordjysk Fond"), Some("PROPOSED"))
        );
        assert_eq!(p["proposalMessage"], "Vi vil gerne støtte shelterne.");
        assert_eq!(p["proposedBy"]["id"], global_id("Organization", w.fonden));
        assert_eq!(p["action"]["id"], global_id("Action", w.seeking));
        assert_eq!(
            p["members"],
            json!([{ "role": "PARTNER", "contributionKind": "MONEY", "contribution": "Et tilskud", "amountDkk": 25000,
                 "volunteerHours": null, "party": { "id": global_id("Organization", w.fonden) } }])
        );
        let id = p["id"].clone();

        // Audited as the API key.
        let staff = app.signed_in(As::Staff, &[], None).await;
        let log = staff.data(AUDIT, json!({ "id": id })).await;
        assert_eq!(log["auditLog"]["nodes"][0]["operation"], "CREATE");
        assert_eq!(log["auditLog"]["nodes"][0]["actor"]["kind"], "API_KEY");

        // One pending proposal per organisation and action.
        let body = partner.data(INTEREST, json!({ "i": input })).await["expressInterest"].clone();
        assert!(body["partnership"].is_null());
        assert_eq!(body["userErrors"][0]["field"], json!(["actionId"]));
        assert_eq!(body["userErrors"][0]["code"], "TAKEN");
        // Another partner may.
        let other = app.signed_in(As::Partner, &[], Some(w.kassen)).await;
        let body = other.data(INTEREST, json!({ "i": input })).await;
        assert_eq!(body["expressInterest"]["userErrors"], json!([]));
        assert_eq!(counts(&app).await, (2, 2));

        let unknown = Uuid::now_v7();
        // An action of an archived plan: seen by everyone, but its plan's time is over.
        let fx = Fixture::new(&app.db);
        let old = fx
            .plan(w.gjol, "Gjøl 2020", PlanStatus::Archived, 2020, 2023)
            .await;
        let mut m = fx.action_model(old, "Gammel handling");
        m.seeking_partners = sea_orm::Set(true);
        let archived = fx.insert_action(m).await;
        let cases: &[(&str, Value, Value, &str)] = &[
            ("actionId", json!("x"), json!(["actionId"]), "INVALID"),
            (
                "actionId",
                json!(global_id("Action", archived)),
                json!(["actionId"]),
                "INVALID",
            ),
            (
                "actionId",
                json!(global_id("Action", unknown)),
                json!(["actionId"]),
                "NOT_FOUND",
            ),
            (
                "actionId",
                json!(global_id("Action", w.drafted)),
                json!(["actionId"]),
                "NOT_FOUND",
            ),
            (
                "actionId",
                json!(global_id("Action", w.quiet)),
                json!(["actionId"]),
                "INVALID",
            ),
            // No opportunity any more: a finished action takes no proposals.
            (
                "actionId",
                json!(global_id("Action", w.finished)),
                json!(["actionId"]),
                "INVALID",
            ),
            ("message", json!("  "), json!(["message"]), "REQUIRED"),
            (
                "message",
                json!("x".repeat(20_001)),
                json!(["message"]),
                "TOO_LONG",
            ),
            (
                "offer",
                json!({ "contributionKind": "MONEY", "amountDkk": -1 }),
                json!(["offer", "amountDkk"]),
                "OUT_OF_RANGE",
            ),
            (
                "offer",
                json!({ "contributionKind": "VOLUNTEER_HOURS", "volunteerHours": -1 }),
                json!(["offer", "volunteerHours"]),
                "OUT_OF_RANGE",
            ),
            (
                "offer",
                json!({ "contributionKind": "OTHER", "contribution": "x".repeat(20_001) }),
                json!(["offer", "contribution"]),
                "TOO_LONG",
            ),
        ];
        let third = app.signed_in(As::Partner, &[], Some(w.forening)).await;
        for (field, value, path, code) in cases {
            let mut bad = input.clone();
            bad[*field] = value.clone();
            let body = third.data(INTEREST, json!({ "i": bad })).await["expressInterest"].clone();
            assert!(body["partnership"].is_null(), "{field}: {body}");
            assert_eq!(body["userErrors"][0]["field"], *path, "{field}: {body}");
            assert_eq!(body["userErrors"][0]["code"], *code, "{field}: {body}");
        }
        assert_eq!(counts(&app).await, (2, 2), "refused proposals create nothing");

        // Only partners express interest.
        assert_eq!(staff.error(INTEREST, json!({ "i": input })).await.0, "FORBIDDEN");
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        assert_eq!(editor.error(INTEREST, json!({ "i": input })).await.0, "FORBIDDEN");
        assert_eq!(
            app.error(INTEREST, json!({ "i": input })).await.0,
            "UNAUTHENTICATED"
        );
    }
);

both!(
    a_pending_proposal_is_seen_by_the_partner_the_communitys_editors_and_staff,
    |app: TestApp| async move {
        let w = world(&app).await;
        let partner = app.signed_in(As::Partner, &[], Some(w.fonden)).await;
        let input = json!({ "actionId": global_id("Action", w.seeking), "message": "Hemmelig besked", "offer": offer() });
        let id = partner.data(INTEREST, json!({ "i": input })).await["expressInterest"]["partnership"]["id"]
            .clone();
        let title = "Interesse fra Nordjysk Fond";
        let action_partnerships =
            "query($id: ID!) { node(id: $id) { ... on Action { partnerships(first: 10) { totalCount } } } }";

        let other_partner = app.signed_in(As::Partner, &[], Some(w.kassen)).await;
        let other_editor = app.signed_in(As::CommunityEditor, &[w.birkelse], None).await;
        for (who, caller) in [
            ("anonymous", app.clone_handle()),
            ("other partner", other_partner),
            ("other editor", other_editor),
        ] {
            let list = caller.data(LIST, json!({})).await;
            assert_eq!(list["partnerships"]["totalCount"], 0, "{who}: {list}");
            let node = caller.data(NODE, json!({ "id": id })).await;
            assert!(node["node"].is_null(), "{who}: {node}");
            let via_action = caller
                .data(
                    action_partnerships,
                    json!({ "id": global_id("Action", w.seeking) }),
                )
                .await;
            assert_eq!(via_action["node"]["partnerships"]["totalCount"], 0, "{who}");
        }

        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        for (who, caller) in [("proposer", &partner), ("editor", &editor), ("staff", &staff)] {
            let node = caller.data(NODE, json!({ "id": id })).await;
            assert_eq!(node["node"]["title"], title, "{who}");
            assert_eq!(node["node"]["proposalMessage"], "Hemmelig besked", "{who}");
        }
        assert_eq!(
            editor.data(LIST, json!({})).await["partnerships"]["totalCount"],
            1
        );
        assert_eq!(staff.data(LIST, json!({})).await["partnerships"]["totalCount"], 1);

        // Accepted, it is public; the message stays with the proposer, editors and staff.
        let body = editor
            .data(ACCEPT, json!({ "i": { "id": id, "version": 1 } }))
            .await;
        assert_eq!(
            body["acceptPartnershipProposal"]["partnership"]["status"],
            "ACTIVE"
        );
        let node = app.data(NODE, json!({ "id": id })).await;
        assert_eq!(node["node"]["title"], title);
        assert!(node["node"]["proposalMessage"].is_null());
        let node = partner.data(NODE, json!({ "id": id })).await;
        assert_eq!(node["node"]["proposalMessage"], "Hemmelig besked");

        // A partner in the active partnership has nothing more to propose.
        let again = partner.data(INTEREST, json!({ "i": input })).await["expressInterest"].clone();
        assert!(again["partnership"].is_null(), "{again}");
        assert_eq!(again["userErrors"][0]["field"], json!(["actionId"]));
        assert_eq!(again["userErrors"][0]["code"], "TAKEN", "{again}");
        assert!(
            again["userErrors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("already a partner"),
            "{again}"
        );
    }
);

both!(
    proposals_not_taken_up_go_with_their_action,
    |app: TestApp| async move {
        const DELETE_ACTION: &str = "mutation($i: DeleteActionInput!) { deleteAction(input: $i) {
            deletedId userErrors { field code message } } }";
        let w = world(&app).await;
        let fonden = app.signed_in(As::Partner, &[], Some(w.fonden)).await;
        let kassen = app.signed_in(As::Partner, &[], Some(w.kassen)).await;
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        let input =
            json!({ "actionId": global_id("Action", w.seeking), "message": "Vi er klar.", "offer": offer() });
        let pending =
            fonden.data(INTEREST, json!({ "i": input })).await["expressInterest"]["partnership"]["id"]
                .clone();
        let declined =
            kassen.data(INTEREST, json!({ "i": input })).await["expressInterest"]["partnership"]["id"]
                .clone();
        let body = editor
            .data(
                DECLINE,
                json!({ "i": { "id": declined, "version": 1, "reason": "Ikke nu" } }),
            )
            .await;
        assert_eq!(
            body["declinePartnershipProposal"]["userErrors"],
            json!([]),
            "{body}"
        );
        // Both were only proposed: the editor deletes the action, and they go with it.
        let action = global_id("Action", w.seeking);
        let body = editor
            .data(DELETE_ACTION, json!({ "i": { "id": action, "version": 1 } }))
            .await;
        assert_eq!(body["deleteAction"]["deletedId"], action, "{body}");
        assert_eq!(counts(&app).await.0, 0, "no partnership left");
        for id in [&pending, &declined] {
            let log = app
                .signed_in(As::Staff, &[], None)
                .await
                .data(AUDIT, json!({ "id": id }))
                .await;
            let ops: Vec<&str> = log["auditLog"]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["operation"].as_str().unwrap())
                .collect();
            assert!(ops.contains(&"DELETE"), "{log}");
        }
        // One taken up keeps its action.
        let mut m = Fixture::new(&app.db).action_model(w.plan, "Ny bålhytte");
        m.seeking_partners = sea_orm::Set(true);
        let hut = Fixture::new(&app.db).insert_action(m).await;
        let input =
            json!({ "actionId": global_id("Action", hut), "message": "Vi er klar.", "offer": offer() });
        let proposal =
            fonden.data(INTEREST, json!({ "i": input })).await["expressInterest"]["partnership"]["id"]
                .clone();
        let body = editor
            .data(ACCEPT, json!({ "i": { "id": proposal, "version": 1 } }))
            .await;
        assert_eq!(
            body["acceptPartnershipProposal"]["userErrors"],
            json!([]),
            "{body}"
        );
        let body = editor
            .data(
                DELETE_ACTION,
                json!({ "i": { "id": global_id("Action", hut), "version": 1 } }),
            )
            .await;
        assert_eq!(body["deleteAction"]["userErrors"][0]["code"], "IN_USE", "{body}");
        assert_eq!(counts(&app).await.0, 1);
    }
);

both!(
    the_community_accepts_or_declines_a_proposal,
    |app: TestApp| async move {
        let w = world(&app).await;
        let fonden = app.signed_in(As::Partner, &[], Some(w.fonden)).await;
        let kassen = app.signed_in(As::Partner, &[], Some(w.kassen)).await;
        let input =
            json!({ "actionId": global_id("Action", w.seeking), "message": "Vi er klar.", "offer": offer() });
        let first =
            fonden.data(INTEREST, json!({ "i": input })).await["expressInterest"]["partnership"]["id"]
                .clone();
        let second =
            kassen.data(INTEREST, json!({ "i": input })).await["expressInterest"]["partnership"]["id"]
                .clone();

        // Not by the partner, nor by another community's editor, to whom the pending
        // proposal is hidden: NOT_FOUND, as if it did not exist.
        assert_eq!(
            fonden
                .error(ACCEPT, json!({ "i": { "id": first, "version": 1 } }))
                .await
                .0,
            "FORBIDDEN"
        );
        let other = app.signed_in(As::CommunityEditor, &[w.birkelse], None).await;
        assert_eq!(
            other
                .error(ACCEPT, json!({ "i": { "id": first, "version": 1 } }))
                .await
                .0,
            "NOT_FOUND"
        );
        assert_eq!(
            other
                .error(
                    DECLINE,
                    json!({ "i": { "id": first, "version": 1, "reason": "Nej" } })
                )
                .await
                .0,
            "NOT_FOUND"
        );
        // A partner's proposal is not moved by updatePartnership.
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        let body = editor
            .data(
                UPDATE,
                json!({ "i": { "id": first, "version": 1, "status": "ACTIVE" } }),
            )
            .await;
        assert_eq!(
            body["updatePartnership"]["userErrors"][0]["code"],
            "INVALID_TRANSITION"
        );
        assert_eq!(
            body["updatePartnership"]["userErrors"][0]["field"],
            json!(["status"])
        );

        assert_eq!(
            editor
                .error(ACCEPT, json!({ "i": { "id": first, "version": 9 } }))
                .await
                .0,
            "CONFLICT"
        );
        let accepted = editor
            .data(ACCEPT, json!({ "i": { "id": first, "version": 1 } }))
            .await["acceptPartnershipProposal"]
            .clone();
        assert_eq!(accepted["userErrors"], json!([]));
        assert_eq!(
            (
                accepted["partnership"]["status"].as_str(),
                accepted["partnership"]["version"].as_i64()
            ),
            (Some("ACTIVE"), Some(2))
        );
        // Only proposed partnerships.
        let again = editor
            .data(ACCEPT, json!({ "i": { "id": first, "version": 2 } }))
            .await;
        assert_eq!(
            again["acceptPartnershipProposal"]["userErrors"][0],
            json!({ "field": ["id"], "code": "INVALID_TRANSITION", "message": "only a proposed partnership can be accepted or declined" })
        );
        let body = editor
            .data(DECLINE, json!({ "i": { "id": first, "version": 2 } }))
            .await;
        assert_eq!(
            body["declinePartnershipProposal"]["userErrors"][0]["code"],
            "INVALID_TRANSITION"
        );

        let staff = app.signed_in(As::Staff, &[], None).await;
        let body = staff
            .data(
                DECLINE,
                json!({ "i": { "id": second, "version": 1, "reason": "x".repeat(20_001) } }),
            )
            .await;
        assert_eq!(
            body["declinePartnershipProposal"]["userErrors"][0]["field"],
            json!(["reason"])
        );
        let body = staff
            .data(
                DECLINE,
                json!({ "i": { "id": second, "version": 1, "message": "x".repeat(20_001) } }),
            )
            .await;
        assert_eq!(
            body["declinePartnershipProposal"]["userErrors"][0]["field"],
            json!(["message"])
        );
        let answer = "Tak for tilbuddet. Vi har sponsorer nok i år, men skriv gerne igen til foråret.";
        let declined = staff
            .data(
                DECLINE,
                json!({ "i": { "id": second, "version": 1, "reason": "Vi har nok sponsorer.", "message": answer } }),
            )
            .await["declinePartnershipProposal"]
            .clone();
        assert_eq!(declined["userErrors"], json!([]));
        assert_eq!(declined["partnership"]["status"], "ENDED");
        assert_eq!(declined["partnership"]["statusLabel"], "Afslået");
        assert_eq!(declined["partnership"]["declineMessage"], answer);
        assert!(
            declined["partnership"]["internalNotes"]
                .as_str()
                .is_some_and(|n| n.contains("Vi har nok sponsorer.")),
            "{declined}"
        );
        let log = staff.data(AUDIT, json!({ "id": second })).await;
        assert_eq!(
            log["auditLog"]["nodes"][0]["changes"]["status"],
            json!({ "before": "PROPOSED", "after": "ENDED" })
        );

        // A declined proposal stays private: the public and other partners do not see it,
        // the partner that made it does.
        let titles = |body: Value| body["partnerships"]["nodes"].to_string();
        assert!(
            !titles(app.data(LIST, json!({})).await).contains("Andelskassen"),
            "public"
        );
        assert!(
            !titles(fonden.data(LIST, json!({})).await).contains("Andelskassen"),
            "other partner"
        );
        assert!(app.data(NODE, json!({ "id": second })).await["node"].is_null());
        let theirs = kassen.data(NODE, json!({ "id": second })).await;
        assert_eq!(theirs["node"]["status"], "ENDED");
        assert_eq!(
            theirs["node"]["declineMessage"], answer,
            "the partner reads the answer"
        );
        assert_eq!(
            editor.data(NODE, json!({ "id": second })).await["node"]["declineMessage"],
            answer
        );
        assert!(other.data(NODE, json!({ "id": second })).await["node"].is_null());
        assert!(
            titles(app.data(LIST, json!({})).await).contains("Nordjysk Fond"),
            "the accepted one is public"
        );

        // With nothing pending any more, the declined partner may propose again.
        let body = kassen.data(INTEREST, json!({ "i": input })).await;
        assert_eq!(body["expressInterest"]["userErrors"], json!([]));
    }
);

// What a partner brings is the partner's to say: what it offered in its own proposal stays as
// it offered it (it changes it itself), and it leaves a partnership it was named in.
both!(
    a_partner_changes_and_leaves_its_own_memberships,
    |app: TestApp| async move {
        let w = world(&app).await;
        let fonden = app.signed_in(As::Partner, &[], Some(w.fonden)).await;
        let kassen = app.signed_in(As::Partner, &[], Some(w.kassen)).await;
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        const MEMBERS: &str = "query($id: ID!) { node(id: $id) { ... on Partnership {
            members { id version amountDkk party { ... on Organization { id } } } } } }";
        let member_of = |body: &Value, org: Uuid| {
            body["node"]["members"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["party"]["id"] == global_id("Organization", org))
                .cloned()
                .unwrap_or_else(|| panic!("{body}"))
        };

        // Accepted, the partner's offer is still the partner's.
        let input = json!({ "actionId": global_id("Action", w.seeking), "message": "Vi vil gerne.", "offer": offer() });
        let proposal =
            fonden.data(INTEREST, json!({ "i": input })).await["expressInterest"]["partnership"]["id"]
                .clone();
        let body = editor
            .data(ACCEPT, json!({ "i": { "id": proposal, "version": 1 } }))
            .await;
        assert_eq!(
            body["acceptPartnershipProposal"]["userErrors"],
            json!([]),
            "{body}"
        );
        let offered = member_of(&editor.data(MEMBERS, json!({ "id": proposal })).await, w.fonden);
        for who in [&editor, &staff] {
            let body = update_member(
                who,
                json!({ "id": offered["id"], "version": offered["version"], "amountDkk": 2_000_000 }),
            )
            .await;
            assert_eq!(
                body["updatePartnershipMember"]["userErrors"][0]["code"], "INVALID_TRANSITION",
                "{body}"
            );
        }
        let body = update_member(
            &fonden,
            json!({ "id": offered["id"], "version": offered["version"], "amountDkk": 30_000 }),
        )
        .await;
        assert_eq!(body["updatePartnershipMember"]["userErrors"], json!([]), "{body}");
        assert_eq!(
            body["updatePartnershipMember"]["partnershipMember"]["amountDkk"],
            30_000
        );
        let body = update_member(
            &fonden,
            json!({ "id": offered["id"], "version": 2, "role": "LEAD" }),
        )
        .await;
        assert_eq!(
            body["updatePartnershipMember"]["userErrors"][0]["field"],
            json!(["role"]),
            "{body}"
        );
        // The community arranges the partner's role, and an unchanged form passes.
        let body = update_member(
            &editor,
            json!({ "id": offered["id"], "version": 2, "role": "LEAD", "amountDkk": 30_000 }),
        )
        .await;
        assert_eq!(body["updatePartnershipMember"]["userErrors"], json!([]), "{body}");
        // Nor does the community take the offer out and put words in the partner's mouth.
        let body = editor
            .data(REMOVE, json!({ "i": { "id": offered["id"], "version": 3 } }))
            .await;
        assert_eq!(
            body["removePartnershipMember"]["deletedId"], offered["id"],
            "{body}"
        );
        let body = editor
            .data(
                ADD,
                json!({ "i": { "partnershipId": proposal,
                    "organizationId": global_id("Organization", w.fonden), "role": "LEAD",
                    "contributionKind": "MONEY", "contribution": "Fonden lover alt", "amountDkk": 9_999_999 } }),
            )
            .await;
        assert_eq!(
            body["addPartnershipMember"]["userErrors"][0]["code"], "INVALID_TRANSITION",
            "{body}"
        );

        // Named by the community in a partnership of its own making, the partner may leave it;
        // another partner may not touch it.
        let mut made = valid(&w);
        made["actionId"] = json!(global_id("Action", w.quiet));
        let created = editor.data(CREATE, json!({ "i": made })).await["createPartnership"].clone();
        assert_eq!(created["userErrors"], json!([]), "{created}");
        let named = member_of(
            &editor
                .data(MEMBERS, json!({ "id": created["partnership"]["id"] }))
                .await,
            w.fonden,
        );
        let (code, _) = kassen
            .error(
                UPDATE_MEMBER,
                json!({ "i": { "id": named["id"], "version": named["version"], "amountDkk": 1 } }),
            )
            .await;
        assert_eq!(code, "FORBIDDEN");
        let (code, _) = kassen
            .error(
                REMOVE,
                json!({ "i": { "id": named["id"], "version": named["version"] } }),
            )
            .await;
        assert_eq!(code, "FORBIDDEN");
        let body = fonden
            .data(
                REMOVE,
                json!({ "i": { "id": named["id"], "version": named["version"] } }),
            )
            .await;
        assert_eq!(
            body["removePartnershipMember"]["deletedId"], named["id"],
            "{body}"
        );
        let left = editor
            .data(MEMBERS, json!({ "id": created["partnership"]["id"] }))
            .await;
        assert!(
            !left.to_string().contains(&global_id("Organization", w.fonden)),
            "{left}"
        );
    }
);

both!(
    a_read_only_key_cannot_express_interest,
    |app: TestApp| async move {
        let w = world(&app).await;
        let key = app.create_api_key(w.fonden).await;
        let full = app.with_credentials("x-api-key", &key);
        let scopes = "{ viewer { scopes } }";
        assert_eq!(
            full.data(scopes, json!({})).await["viewer"]["scopes"],
            json!(["READ", "EXPRESS_INTEREST"])
        );
        Fixture::new(&app.db)
            .set("api_key", api_key_id(&app, &key).await, "scopes", "read")
            .await;
        let partner = app.with_credentials("x-api-key", &key);
        // The partner can tell before it tries.
        assert_eq!(
            partner.data(scopes, json!({})).await["viewer"]["scopes"],
            json!(["READ"])
        );
        assert_eq!(
            app.data(scopes, json!({})).await["viewer"]["scopes"],
            json!([]),
            "none for anyone else"
        );
        let input =
            json!({ "actionId": global_id("Action", w.seeking), "message": "Vi er klar.", "offer": offer() });
        let (code, message) = partner.error(INTEREST, json!({ "i": input })).await;
        assert_eq!(code, "FORBIDDEN");
        assert!(message.contains("EXPRESS_INTEREST"), "{message}");
        assert_eq!(counts(&app).await, (0, 0));
    }
);

async fn api_key_id(app: &TestApp, key: &str) -> Uuid {
    api_key::Entity::find()
        .filter(api_key::Column::KeyHash.eq(lup_api::auth::secret::sha256_hex(key)))
        .one(&app.db)
        .await
        .expect("query")
        .expect("the key")
        .id
}

both!(
    a_partner_lists_its_own_partnerships_newest_first,
    |app: TestApp| async move {
        let w = world(&app).await;
        let fx = Fixture::new(&app.db);
        // A member of an older partnership, and of one around a draft plan (hidden from partners).
        let old = fx
            .partnership(
                Some(w.quiet),
                None,
                "Gammelt samarbejde",
                PartnershipStatus::Completed,
            )
            .await;
        fx.member(old, Party::Organization(w.fonden), MemberRole::Supporter)
            .await;
        let hidden = fx
            .partnership(
                Some(w.drafted),
                None,
                "Kladdesamarbejde",
                PartnershipStatus::Active,
            )
            .await;
        fx.member(hidden, Party::Organization(w.fonden), MemberRole::Supporter)
            .await;
        // Someone else's.
        let theirs = fx
            .partnership(
                Some(w.seeking),
                None,
                "Andres samarbejde",
                PartnershipStatus::Active,
            )
            .await;
        fx.member(theirs, Party::Organization(w.kassen), MemberRole::Partner)
            .await;

        let partner = app.signed_in(As::Partner, &[], Some(w.fonden)).await;
        let input = json!({ "actionId": global_id("Action", w.seeking), "message": "Med i næste runde?", "offer": offer() });
        partner.data(INTEREST, json!({ "i": input })).await;

        let page = partner.data(MINE, json!({})).await["myPartnerships"].clone();
        assert_eq!(page["totalCount"], 2);
        assert_eq!(
            page["nodes"],
            json!([
                { "title": "Interesse fra Nordjysk Fond", "status": "PROPOSED", "proposalMessage": "Med i næste runde?" },
                { "title": "Gammelt samarbejde", "status": "COMPLETED", "proposalMessage": null },
            ])
        );
        let page = partner
            .data(
                "{ myPartnerships(first: 1) { pageInfo { hasNextPage endCursor } nodes { title } } }",
                json!({}),
            )
            .await;
        assert_eq!(page["myPartnerships"]["pageInfo"]["hasNextPage"], true);
        let cursor = page["myPartnerships"]["pageInfo"]["endCursor"].clone();
        let next = partner.data(MINE, json!({ "after": cursor })).await;
        assert_eq!(
            next["myPartnerships"]["nodes"],
            json!([{ "title": "Gammelt samarbejde", "status": "COMPLETED", "proposalMessage": null }])
        );
        // From the end too (`last`/`before`), as every connection.
        let tail = partner
            .data(
                "{ myPartnerships(last: 1) { pageInfo { hasPreviousPage startCursor } nodes { title } } }",
                json!({}),
            )
            .await;
        assert_eq!(
            tail["myPartnerships"]["nodes"],
            json!([{ "title": "Gammelt samarbejde" }])
        );
        assert_eq!(tail["myPartnerships"]["pageInfo"]["hasPreviousPage"], true);
        let before = partner
            .data(
                "query($b: String) { myPartnerships(last: 5, before: $b) { nodes { title } } }",
                json!({ "b": tail["myPartnerships"]["pageInfo"]["startCursor"] }),
            )
            .await;
        assert_eq!(
            before["myPartnerships"]["nodes"],
            json!([{ "title": "Interesse fra Nordjysk Fond" }])
        );
        let (code, _) = partner
            .error("{ myPartnerships(last: 101) { totalCount } }", json!({}))
            .await;
        assert_eq!(code, "BAD_USER_INPUT");

        let other = app.signed_in(As::Partner, &[], Some(w.kassen)).await;
        let theirs = other.data(MINE, json!({})).await;
        assert_eq!(
            theirs["myPartnerships"]["nodes"].as_array().map(Vec::len),
            Some(1)
        );

        let staff = app.signed_in(As::Staff, &[], None).await;
        assert_eq!(staff.error(MINE, json!({})).await.0, "FORBIDDEN");
        assert_eq!(app.error(MINE, json!({})).await.0, "UNAUTHENTICATED");
    }
);

both!(a_revoked_api_key_is_refused, |app: TestApp| async move {
    let w = world(&app).await;
    let key = app.create_api_key(w.fonden).await;
    let partner = app.with_credentials("x-api-key", &key);
    partner.data(MINE, json!({})).await;

    let row = api_key::Entity::find()
        .filter(api_key::Column::OrganizationId.eq(w.fonden))
        .one(&app.db)
        .await
        .expect("read key")
        .expect("the key");
    Fixture::new(&app.db)
        .set("api_key", row.id, "revoked_at", chrono::Utc::now())
        .await;

    let input = json!({ "actionId": global_id("Action", w.seeking), "message": "Hej", "offer": offer() });
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("x-api-key", &key)
        .json(&json!({ "query": INTEREST, "variables": { "i": input } }))
        .send()
        .await
        .expect("request sent");
    assert_eq!(response.status().as_u16(), 401);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{body}"
    );
    assert!(body.get("data").is_none_or(Value::is_null));
    assert_eq!(counts(&app).await, (0, 0));
});

/// Every way of rewriting the partner's proposal `id` (at `version`, with its member
/// `member`) is refused to `caller` as an INVALID_TRANSITION on the field at fault.
async fn refuses_rewrites(caller: &TestApp, id: &Value, member: &Value, version: i64, department: Uuid) {
    for (mutation, input, field) in [
        (
            UPDATE,
            json!({ "id": id, "version": version, "title": "Omskrevet" }),
            "title",
        ),
        (
            UPDATE,
            json!({ "id": id, "version": version, "endsOn": "2027-01-01" }),
            "endsOn",
        ),
        (DELETE, json!({ "id": id, "version": version }), "id"),
        (
            ADD,
            json!({ "partnershipId": id, "departmentId": global_id("Department", department) }),
            "partnershipId",
        ),
        (
            UPDATE_MEMBER,
            json!({ "id": member, "version": 1, "contribution": "Mindre" }),
            "id",
        ),
        (REMOVE, json!({ "id": member, "version": 1 }), "id"),
    ] {
        let body = caller.data(mutation, json!({ "i": input })).await;
        let payload = body.as_object().and_then(|o| o.values().next()).expect("payload");
        assert_eq!(
            payload["userErrors"][0]["code"], "INVALID_TRANSITION",
            "{mutation}: {body}"
        );
        assert_eq!(payload["userErrors"][0]["field"], json!([field]), "{body}");
    }
}

both!(
    a_partners_pending_proposal_is_accepted_or_declined_not_rewritten,
    |app: TestApp| async move {
        let w = world(&app).await;
        let partner = app.signed_in(As::Partner, &[], Some(w.fonden)).await;
        let input = json!({ "actionId": global_id("Action", w.seeking), "message": "Vi vil gerne hjælpe", "offer": offer() });
        let id = partner.data(INTEREST, json!({ "i": input })).await["expressInterest"]["partnership"]["id"]
            .clone();
        let members =
            "query($id: ID!) { node(id: $id) { ... on Partnership { title version members { id } } } }";
        let member = partner.data(members, json!({ "id": id })).await["node"]["members"][0]["id"].clone();
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let before = counts(&app).await;
        for caller in [&editor, &staff] {
            refuses_rewrites(caller, &id, &member, 1, w.vand).await;
        }
        assert_eq!(counts(&app).await, before, "nothing was written");
        let node = partner.data(members, json!({ "id": id })).await;
        assert_eq!(node["node"]["title"], "Interesse fra Nordjysk Fond", "{node}");
        assert_eq!(node["node"]["version"], 1, "{node}");
        // The community's own notes may be added; then it is accepted or declined.
        let body = editor
            .data(
                UPDATE,
                json!({ "i": { "id": id, "version": 1, "internalNotes": "Ring til fonden" } }),
            )
            .await;
        assert_eq!(body["updatePartnership"]["userErrors"], json!([]), "{body}");
        let body = editor
            .data(DECLINE, json!({ "i": { "id": id, "version": 2 } }))
            .await;
        assert_eq!(
            body["declinePartnershipProposal"]["userErrors"],
            json!([]),
            "{body}"
        );
        // Declined, it stays declined: it cannot be made active past the partner's back.
        let body = editor
            .data(
                UPDATE,
                json!({ "i": { "id": id, "version": 3, "status": "ACTIVE" } }),
            )
            .await;
        assert_eq!(
            body["updatePartnership"]["userErrors"][0]["code"], "INVALID_TRANSITION",
            "{body}"
        );
        assert_eq!(
            body["updatePartnership"]["userErrors"][0]["field"],
            json!(["status"]),
            "{body}"
        );
        // Nor is it rewritten, re-staffed or deleted by the community: it is the partner's
        // record of what it offered.
        let before = counts(&app).await;
        refuses_rewrites(&editor, &id, &member, 3, w.vand).await;
        assert_eq!(counts(&app).await, before, "nothing was written");
        let node = partner.data(members, json!({ "id": id })).await;
        assert_eq!(node["node"]["title"], "Interesse fra Nordjysk Fond", "{node}");
        // The partner tells a declined proposal from a partnership that ran its course.
        let node = partner
            .data(
                "query($id: ID!) { node(id: $id) { ... on Partnership { status declinedAt } } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(node["node"]["status"], "ENDED", "{node}");
        assert!(node["node"]["declinedAt"].is_string(), "{node}");
        // Staff clear it away.
        let body = staff
            .data(DELETE, json!({ "i": { "id": id, "version": 3 } }))
            .await;
        assert_eq!(body["deletePartnership"]["deletedId"], id, "{body}");
    }
);

// A pending proposal is the partner's: it changes its own offer until the community answers
// (as the README says: what it offered only the partner changes). An action completed or
// dropped takes no more partners: its pending proposals are declined, the partner told why,
// and the declined offer stays as it was.
both!(
    a_partner_changes_its_pending_offer_until_the_action_is_finished,
    |app: TestApp| async move {
        let w = world(&app).await;
        let partner = app.signed_in(As::Partner, &[], Some(w.fonden)).await;
        let input = json!({ "actionId": global_id("Action", w.seeking), "message": "Vi vil gerne hjælpe", "offer": offer() });
        let id = partner.data(INTEREST, json!({ "i": input })).await["expressInterest"]["partnership"]["id"]
            .clone();
        let members = "query($id: ID!) { node(id: $id) { ... on Partnership { status declineMessage members { id amountDkk } } } }";
        let member = partner.data(members, json!({ "id": id })).await["node"]["members"][0]["id"].clone();
        let body = partner
            .data(
                UPDATE_MEMBER,
                json!({ "i": { "id": member, "version": 1, "amountDkk": 5000, "contribution": "Tilskud til maling" } }),
            )
            .await;
        let payload = &body["updatePartnershipMember"];
        assert_eq!(payload["userErrors"], json!([]), "{body}");
        assert_eq!(payload["partnershipMember"]["amountDkk"], 5000, "{body}");
        assert_eq!(
            payload["partnershipMember"]["contribution"], "Tilskud til maling",
            "{body}"
        );

        let staff = app.signed_in(As::Staff, &[], None).await;
        let version = staff
            .data(
                "query($id: ID!) { node(id: $id) { ... on Action { version } } }",
                json!({ "id": global_id("Action", w.seeking) }),
            )
            .await["node"]["version"]
            .clone();
        let body = staff
            .data(
                "mutation($i: UpdateActionInput!) { updateAction(input: $i) { userErrors { field code message } } }",
                json!({ "i": { "id": global_id("Action", w.seeking), "version": version, "status": "COMPLETED" } }),
            )
            .await;
        assert_eq!(body["updateAction"]["userErrors"], json!([]), "{body}");
        let node = partner.data(members, json!({ "id": id })).await;
        assert_eq!(node["node"]["status"], "ENDED", "{node}");
        assert_eq!(
            node["node"]["declineMessage"], "Indsatsen er gennemført, så den søger ikke længere partnere.",
            "{node}"
        );
        assert_eq!(node["node"]["members"][0]["amountDkk"], 5000, "{node}");
        // Declined, the offer stays as the partner sent it, for the partner too.
        let body = partner
            .data(
                UPDATE_MEMBER,
                json!({ "i": { "id": member, "version": 2, "amountDkk": 1 } }),
            )
            .await;
        assert_eq!(
            body["updatePartnershipMember"]["userErrors"][0]["code"], "INVALID_TRANSITION",
            "{body}"
        );
        // And nothing is left to accept.
        let body = staff
            .data(ACCEPT, json!({ "i": { "id": id, "version": 2 } }))
            .await;
        assert_eq!(
            body["acceptPartnershipProposal"]["userErrors"][0]["code"], "INVALID_TRANSITION",
            "{body}"
        );
    }
);

// An accepted proposal counts from the day it was accepted: it gave no period, and a
// partnership without one counts in every window, so a pledge made today showed in the
// figures of years long past (and in annual reviews taken of them).
both!(
    an_accepted_proposal_starts_the_day_it_is_accepted,
    |app: TestApp| async move {
        let w = world(&app).await;
        let partner = app.signed_in(As::Partner, &[], Some(w.fonden)).await;
        let input = json!({ "actionId": global_id("Action", w.seeking), "message": "Vi vil gerne", "offer": offer() });
        let id = partner.data(INTEREST, json!({ "i": input })).await["expressInterest"]["partnership"]["id"]
            .clone();
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        let body = editor
            .data(ACCEPT, json!({ "i": { "id": id, "version": 1 } }))
            .await;
        assert_eq!(
            body["acceptPartnershipProposal"]["partnership"]["status"], "ACTIVE",
            "{body}"
        );
        let node = editor
            .data(
                "query($id: ID!) { node(id: $id) { ... on Partnership { startsOn endsOn } } }",
                json!({ "id": id }),
            )
            .await;
        let today = lup_tests::fixture::danish_today().format("%Y-%m-%d").to_string();
        assert_eq!(node["node"]["startsOn"], today, "{node}");
        assert!(node["node"]["endsOn"].is_null(), "{node}");
        let money = "query($w: EngagementWindowInput) { community(slug: \"gjoel\") { engagement(window: $w) {
            components { key value } } } }";
        let co_funding = |body: &Value| {
            body["community"]["engagement"]["components"]
                .as_array()
                .and_then(|c| c.iter().find(|c| c["key"] == "CO_FUNDING_DKK"))
                .and_then(|c| c["value"].as_f64())
        };
        let past = app
            .data(
                money,
                json!({ "w": { "from": "2020-01-01", "to": "2020-12-31" } }),
            )
            .await;
        assert_eq!(co_funding(&past), Some(0.0), "{past}");
        let now = app.data(money, json!({})).await;
        assert_eq!(co_funding(&now), Some(25000.0), "{now}");
    }
);

// A community takes part in a partnership, and says what it brings, through its own editors:
// another community's editor may not name it as a member (nor change what it brings), and the
// community's own editors may change or leave their membership.
both!(
    the_offer_stays_the_partners_and_a_note_completing_the_action_declines_proposals,
    |app: TestApp| async move {
        let w = world(&app).await;
        let fonden = app.signed_in(As::Partner, &[], Some(w.fonden)).await;
        let kassen = app.signed_in(As::Partner, &[], Some(w.kassen)).await;
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        let input =
            json!({ "actionId": global_id("Action", w.seeking), "message": "Vi er klar.", "offer": offer() });
        let accepted =
            fonden.data(INTEREST, json!({ "i": input })).await["expressInterest"]["partnership"]["id"]
                .clone();
        let pending =
            kassen.data(INTEREST, json!({ "i": input })).await["expressInterest"]["partnership"]["id"]
                .clone();
        let body = editor
            .data(ACCEPT, json!({ "i": { "id": accepted, "version": 1 } }))
            .await;
        assert_eq!(
            body["acceptPartnershipProposal"]["userErrors"],
            json!([]),
            "{body}"
        );
        // The editor may not rewrite what the partner offered: the error names the field.
        let members = "query($id: ID!) { node(id: $id) { ... on Partnership { status declineMessage members { id version } } } }";
        let member = editor.data(members, json!({ "id": accepted })).await["node"]["members"][0].clone();
        let body = editor
            .data(
                UPDATE_MEMBER,
                json!({ "i": { "id": member["id"], "version": member["version"], "amountDkk": 1 } }),
            )
            .await;
        let errors = &body["updatePartnershipMember"]["userErrors"];
        assert_eq!(errors[0]["code"], "INVALID_TRANSITION", "{body}");
        assert_eq!(errors[0]["field"], json!(["amountDkk"]), "{body}");
        // A progress note at 100 % completes the action, and the pending proposal is declined
        // as when the status is set, the partner told it was completed.
        let body = editor
            .data(
                "mutation($i: CreateActionUpdateInput!) { createActionUpdate(input: $i) { userErrors { field code message } } }",
                json!({ "i": { "actionId": global_id("Action", w.seeking), "body": "Færdig!", "progress": 100 } }),
            )
            .await;
        assert_eq!(body["createActionUpdate"]["userErrors"], json!([]), "{body}");
        let node = kassen.data(members, json!({ "id": pending })).await;
        assert_eq!(node["node"]["status"], "ENDED", "{node}");
        assert_eq!(
            node["node"]["declineMessage"], "Indsatsen er gennemført, så den søger ikke længere partnere.",
            "{node}"
        );
    }
);

both!(
    a_community_is_a_member_only_through_its_own_editors,
    |app: TestApp| async move {
        let w = world(&app).await;
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        let other = json!({ "title": "Fælles sti", "actionId": global_id("Action", w.seeking),
            "members": [{ "communityId": global_id("Community", w.birkelse), "contribution": "Alt" }] });
        let (code, message) = editor.error(CREATE, json!({ "i": other })).await;
        assert_eq!(code, "FORBIDDEN", "{message}");
        assert!(message.contains("own editors"), "{message}");
        assert_eq!(counts(&app).await, (0, 0), "nothing was written");

        // Staff may name it; then the community speaks for itself.
        let staff = app.signed_in(As::Staff, &[], None).await;
        let body = staff.data(CREATE, json!({ "i": other })).await["createPartnership"].clone();
        let member = body["partnership"]["members"][0].clone();
        assert!(!member.is_null(), "{body}");
        let member_id = partnership_member::Entity::find()
            .one(&app.db)
            .await
            .expect("query")
            .expect("a member")
            .id;
        let member_gid = global_id("PartnershipMember", member_id);
        let change = json!({ "i": { "id": member_gid, "version": 1, "contribution": "Intet" } });
        let (code, _) = editor.error(UPDATE_MEMBER, change.clone()).await;
        assert_eq!(code, "FORBIDDEN", "Gjøl's editor does not speak for Birkelse");
        let birkelse = app.signed_in(As::CommunityEditor, &[w.birkelse], None).await;
        let body = birkelse.data(UPDATE_MEMBER, change).await;
        assert_eq!(body["updatePartnershipMember"]["userErrors"], json!([]), "{body}");
        let body = birkelse
            .data(REMOVE, json!({ "i": { "id": member_gid, "version": 2 } }))
            .await;
        assert_eq!(body["removePartnershipMember"]["deletedId"], member_gid, "{body}");
    }
);

// One active partnership per partner and action: a proposal whose partner the community has
// since joined to the action in a partnership of its own is declined, not accepted beside it.
both!(
    a_proposal_is_not_accepted_beside_an_active_partnership_of_its_partner,
    |app: TestApp| async move {
        let w = world(&app).await;
        let fonden = app.signed_in(As::Partner, &[], Some(w.fonden)).await;
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        let input = json!({ "actionId": global_id("Action", w.seeking), "message": "Vi vil gerne.", "offer": offer() });
        let proposal =
            fonden.data(INTEREST, json!({ "i": input })).await["expressInterest"]["partnership"]["id"]
                .clone();
        // The community's own partnership around the action, with the foundation in it.
        let made = editor.data(CREATE, json!({ "i": valid(&w) })).await["createPartnership"].clone();
        assert_eq!(made["userErrors"], json!([]), "{made}");
        let body = editor
            .data(ACCEPT, json!({ "i": { "id": proposal, "version": 1 } }))
            .await;
        assert_eq!(
            body["acceptPartnershipProposal"]["userErrors"][0]["code"], "TAKEN",
            "{body}"
        );
        let body = editor
            .data(DECLINE, json!({ "i": { "id": proposal, "version": 1 } }))
            .await;
        assert_eq!(
            body["declinePartnershipProposal"]["userErrors"],
            json!([]),
            "{body}"
        );
    }
);

// An archived plan is the record of what was done: its partnerships' members, a partner
// included, do not change their part in them any more (staff do).
both!(
    members_of_an_archived_plans_partnerships_are_changed_by_staff,
    |app: TestApp| async move {
        let w = world(&app).await;
        let fx = Fixture::new(&app.db);
        let old = fx
            .plan(w.gjol, "Gjøl 2020–2023", PlanStatus::Archived, 2020, 2023)
            .await;
        let action = fx.action(old, "Fugletårnet").await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let mut made = valid(&w);
        made["actionId"] = json!(global_id("Action", action));
        made["status"] = json!("COMPLETED");
        made["endsOn"] = json!("2023-12-31");
        made["startsOn"] = json!("2022-01-01");
        let created = staff.data(CREATE, json!({ "i": made })).await["createPartnership"].clone();
        assert_eq!(created["userErrors"], json!([]), "{created}");
        let members = created["partnership"]["members"].as_array().unwrap().clone();
        let of = |org: &str| {
            members
                .iter()
                .find(|m| m["party"]["__typename"] == org)
                .unwrap()
                .clone()
        };
        let (foundation, community) = (of("Organization"), of("Community"));
        let fonden = app.signed_in(As::Partner, &[], Some(w.fonden)).await;
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        for (who, member) in [(&fonden, &foundation), (&editor, &community)] {
            let (code, _) = who
                .error(
                    UPDATE_MEMBER,
                    json!({ "i": { "id": member["id"], "version": 1, "contribution": "Eftertilføjet" } }),
                )
                .await;
            assert_eq!(code, "FORBIDDEN");
            let (code, _) = who
                .error(REMOVE, json!({ "i": { "id": member["id"], "version": 1 } }))
                .await;
            assert_eq!(code, "FORBIDDEN");
        }
        let body = update_member(
            &staff,
            json!({ "id": foundation["id"], "version": 1, "contribution": "Rettet af kommunen" }),
        )
        .await;
        assert_eq!(body["updatePartnershipMember"]["userErrors"], json!([]), "{body}");
    }
);

// A community that is a member of another community's partnership says what it brings, and
// leaves; its role there is the other community's to arrange.
both!(
    a_member_community_changes_what_it_brings_not_its_role,
    |app: TestApp| async move {
        let w = world(&app).await;
        let fx = Fixture::new(&app.db);
        let plan = fx
            .plan(w.birkelse, "Birkelse 2030", PlanStatus::Adopted, 2026, 2030)
            .await;
        let action = fx.action(plan, "Fælles badebro").await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let created = staff
            .data(
                CREATE,
                json!({ "i": { "title": "Badebrolauget", "actionId": global_id("Action", action), "status": "ACTIVE",
                    "members": [
                        { "communityId": global_id("Community", w.birkelse), "role": "LEAD", "contributionKind": "VOLUNTEER_HOURS",
                          "contribution": "Frivillige", "volunteerHours": 100 },
                        { "communityId": global_id("Community", w.gjol), "role": "PARTNER", "contributionKind": "EXPERTISE",
                          "contribution": "Erfaringer fra Gjøl" },
                    ] } }),
            )
            .await["createPartnership"]
            .clone();
        assert_eq!(created["userErrors"], json!([]), "{created}");
        let gjol_member = created["partnership"]["members"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["party"]["id"] == global_id("Community", w.gjol))
            .unwrap()
            .clone();
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        let body = update_member(
            &editor,
            json!({ "id": gjol_member["id"], "version": 1, "role": "LEAD" }),
        )
        .await;
        assert_eq!(
            body["updatePartnershipMember"]["userErrors"][0]["field"],
            json!(["role"]),
            "{body}"
        );
        let body = update_member(&editor, json!({ "id": gjol_member["id"], "version": 1, "role": "PARTNER", "contribution": "Erfaringer og en dag med frivillige" })).await;
        assert_eq!(body["updatePartnershipMember"]["userErrors"], json!([]), "{body}");
    }
);

// One active partnership per partner and action holds when an ended partnership is taken up
// again: the partner has a newer one around the action by then.
both!(
    an_ended_partnership_is_not_active_again_beside_its_partners_newer_one,
    |app: TestApp| async move {
        let w = world(&app).await;
        let fonden = app.signed_in(As::Partner, &[], Some(w.fonden)).await;
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        let propose = async || {
            let input = json!({ "actionId": global_id("Action", w.seeking), "message": "Vi vil gerne.", "offer": offer() });
            let body = fonden.data(INTEREST, json!({ "i": input })).await["expressInterest"].clone();
            assert_eq!(body["userErrors"], json!([]), "{body}");
            let id = body["partnership"]["id"].clone();
            let body = editor
                .data(ACCEPT, json!({ "i": { "id": id, "version": 1 } }))
                .await;
            assert_eq!(
                body["acceptPartnershipProposal"]["userErrors"],
                json!([]),
                "{body}"
            );
            (
                id,
                body["acceptPartnershipProposal"]["partnership"]["version"]
                    .as_i64()
                    .unwrap(),
            )
        };
        let (first, version) = propose().await;
        let body = editor
            .data(
                UPDATE,
                json!({ "i": { "id": first, "version": version, "status": "ENDED" } }),
            )
            .await;
        assert_eq!(body["updatePartnership"]["userErrors"], json!([]), "{body}");
        let ended = version + 1;
        let (second, _) = propose().await;
        let body = editor
            .data(
                UPDATE,
                json!({ "i": { "id": first, "version": ended, "status": "ACTIVE" } }),
            )
            .await;
        let errors = &body["updatePartnership"]["userErrors"];
        assert_eq!(errors[0]["field"], json!(["status"]), "{body}");
        assert_eq!(errors[0]["code"], "TAKEN", "{body}");
        let node = editor.data(NODE, json!({ "id": first })).await;
        assert_eq!(node["node"]["status"], "ENDED", "unchanged: {node}");
        assert_eq!(node["node"]["version"], ended, "unchanged: {node}");
        // Once the newer one has ended, the first may go on again.
        let body = editor
            .data(
                UPDATE,
                json!({ "i": { "id": second, "version": 2, "status": "COMPLETED" } }),
            )
            .await;
        assert_eq!(body["updatePartnership"]["userErrors"], json!([]), "{body}");
        let body = editor
            .data(
                UPDATE,
                json!({ "i": { "id": first, "version": ended, "status": "ACTIVE" } }),
            )
            .await;
        assert_eq!(body["updatePartnership"]["userErrors"], json!([]), "{body}");
    }
);

// Archiving a plan, by hand or by adopting the plan that replaces it, declines the partners'
// pending proposals on its actions: nobody could accept them any more, and the partner is told
// why rather than left waiting.
both!(
    archiving_a_plan_declines_the_pending_proposals_on_its_actions,
    |app: TestApp| async move {
        const STATUS: &str = "mutation($i: ChangePlanStatusInput!) { changePlanStatus(input: $i) {
            archivedPlans { id } userErrors { field code message } } }";
        let w = world(&app).await;
        let fx = Fixture::new(&app.db);
        let birkelse_plan = fx
            .plan(w.birkelse, "Birkelse 2030", PlanStatus::Adopted, 2026, 2030)
            .await;
        let mut m = fx.action_model(birkelse_plan, "Ny legeplads");
        m.seeking_partners = sea_orm::Set(true);
        let playground = fx.insert_action(m).await;
        let next = fx
            .plan(w.gjol, "Gjøl 2026–2029", PlanStatus::Draft, 2026, 2029)
            .await;
        let fonden = app.signed_in(As::Partner, &[], Some(w.fonden)).await;
        let kassen = app.signed_in(As::Partner, &[], Some(w.kassen)).await;
        let mut proposals = Vec::new();
        for (partner, action) in [(&fonden, w.seeking), (&kassen, w.seeking), (&fonden, playground)] {
            let input = json!({ "actionId": global_id("Action", action), "message": "Vi vil gerne.", "offer": offer() });
            let body = partner.data(INTEREST, json!({ "i": input })).await["expressInterest"].clone();
            assert_eq!(body["userErrors"], json!([]), "{body}");
            proposals.push(body["partnership"]["id"].clone());
        }
        // Kassen's was accepted: it is no proposal any more, and archiving leaves it be.
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        let body = editor
            .data(ACCEPT, json!({ "i": { "id": proposals[1], "version": 1 } }))
            .await;
        assert_eq!(
            body["acceptPartnershipProposal"]["userErrors"],
            json!([]),
            "{body}"
        );

        let staff = app.signed_in(As::Staff, &[], None).await;
        let body = staff
            .data(STATUS, json!({ "i": { "id": global_id("Plan", birkelse_plan), "version": 1, "status": "ARCHIVED" } }))
            .await;
        assert_eq!(body["changePlanStatus"]["userErrors"], json!([]), "{body}");
        let body = staff
            .data(
                STATUS,
                json!({ "i": { "id": global_id("Plan", next), "version": 1, "status": "ADOPTED" } }),
            )
            .await;
        assert_eq!(
            body["changePlanStatus"]["archivedPlans"],
            json!([{ "id": global_id("Plan", w.plan) }]),
            "{body}"
        );
        for (partner, id) in [(&fonden, &proposals[0]), (&fonden, &proposals[2])] {
            let node = partner.data(NODE, json!({ "id": id })).await;
            assert_eq!(node["node"]["status"], "ENDED", "{node}");
            assert!(
                node["node"]["declineMessage"]
                    .as_str()
                    .is_some_and(|m| m.contains("arkiveret")),
                "the partner is told why: {node}"
            );
            let body = staff
                .data(DECLINE, json!({ "i": { "id": id, "version": 2 } }))
                .await;
            assert_eq!(
                body["declinePartnershipProposal"]["userErrors"][0]["code"], "INVALID_TRANSITION",
                "{body}"
            );
        }
        let node = kassen.data(NODE, json!({ "id": proposals[1] })).await;
        assert_eq!(node["node"]["status"], "ACTIVE", "{node}");
    }
);

both!(
    a_partner_withdraws_its_own_pending_proposal,
    |app: TestApp| async move {
        let w = world(&app).await;
        let partner = app.signed_in(As::Partner, &[], Some(w.fonden)).await;
        let propose = async |partner: &TestApp| {
            let input = json!({ "actionId": global_id("Action", w.seeking), "message": "Vi vil gerne støtte shelterne.", "offer": offer() });
            let body = partner.data(INTEREST, json!({ "i": input })).await["expressInterest"].clone();
            assert_eq!(body["userErrors"], json!([]), "{body}");
            (
                body["partnership"]["id"].clone(),
                body["partnership"]["version"].clone(),
            )
        };
        let (id, version) = propose(&partner).await;
        let withdraw = |id: &Value, version: &Value| json!({ "i": { "id": id, "version": version } });

        // Another partner's proposal is as missing as a made-up ID, with the same answer.
        let other = app.signed_in(As::Partner, &[], Some(w.kassen)).await;
        let theirs = other.post(WITHDRAW, withdraw(&id, &version)).await;
        let unknown = other
            .post(
                WITHDRAW,
                withdraw(&json!(global_id("Partnership", Uuid::now_v7())), &version),
            )
            .await;
        assert_eq!(theirs, unknown);
        assert!(theirs.to_string().contains("NOT_FOUND"), "{theirs}");
        // Only partners withdraw: the community answers a proposal instead.
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        assert_eq!(
            editor.error(WITHDRAW, withdraw(&id, &version)).await.0,
            "FORBIDDEN"
        );
        let staff = app.signed_in(As::Staff, &[], None).await;
        assert_eq!(
            staff.error(WITHDRAW, withdraw(&id, &version)).await.0,
            "FORBIDDEN"
        );
        assert_eq!(
            app.error(WITHDRAW, withdraw(&id, &version)).await.0,
            "UNAUTHENTICATED"
        );
        // A key that may only read, of the same organisation.
        let key = app.create_api_key(w.fonden).await;
        Fixture::new(&app.db)
            .set("api_key", api_key_id(&app, &key).await, "scopes", "read")
            .await;
        let (code, message) = app
            .with_credentials("x-api-key", &key)
            .error(WITHDRAW, withdraw(&id, &version))
            .await;
        assert_eq!(code, "FORBIDDEN");
        assert!(message.contains("EXPRESS_INTEREST"), "{message}");
        // Bad IDs and a stale version.
        for bad in [json!("x"), json!(global_id("Action", w.seeking))] {
            let body = partner.data(WITHDRAW, withdraw(&bad, &version)).await;
            assert_eq!(body["withdrawPartnershipProposal"]["deletedId"], Value::Null);
            assert_eq!(
                body["withdrawPartnershipProposal"]["userErrors"][0]["field"],
                json!(["id"]),
                "{body}"
            );
        }
        let (code, _) = partner
            .error(WITHDRAW, withdraw(&id, &json!(version.as_i64().unwrap_or(0) + 1)))
            .await;
        assert_eq!(code, "CONFLICT");
        assert_eq!(counts(&app).await, (1, 1), "refused withdrawals delete nothing");

        // Leaving it member by member is not how: the partner is pointed to withdrawing.
        let members = partner
            .data(
                "query($id: ID!) { node(id: $id) { ... on Partnership { members { id version } } } }",
                json!({ "id": id }),
            )
            .await;
        let own = &members["node"]["members"][0];
        let body = partner
            .data(
                REMOVE,
                json!({ "i": { "id": own["id"], "version": own["version"] } }),
            )
            .await;
        let refused = &body["removePartnershipMember"]["userErrors"][0];
        assert_eq!(refused["code"], "INVALID_TRANSITION", "{body}");
        assert!(
            refused["message"]
                .as_str()
                .is_some_and(|m| m.contains("withdrawPartnershipProposal")),
            "{body}"
        );
        // Another organisation's part in a partnership the partner sees is not its to change.
        let fx = Fixture::new(&app.db);
        let public = fx
            .partnership(Some(w.seeking), None, "Shelterlauget", PartnershipStatus::Active)
            .await;
        let theirs = fx
            .member(public, Party::Organization(w.kassen), MemberRole::Partner)
            .await;
        let (code, message) = partner
            .error(
                UPDATE_MEMBER,
                json!({ "i": { "id": global_id("PartnershipMember", theirs), "version": 1, "contribution": "Vores nu" } }),
            )
            .await;
        assert_eq!(code, "FORBIDDEN");
        assert!(message.contains("its own organisation"), "{message}");

        // The partner's own: gone, with what it offered; the audit log keeps the record.
        let body = partner.data(WITHDRAW, withdraw(&id, &version)).await;
        assert_eq!(
            body["withdrawPartnershipProposal"],
            json!({ "deletedId": id, "userErrors": [] })
        );
        assert_eq!(counts(&app).await, (1, 1), "the other partnership stays");
        assert_eq!(
            partner.data(MINE, json!({})).await["myPartnerships"]["totalCount"],
            0
        );
        let log = staff.data(AUDIT, json!({ "id": id })).await;
        assert_eq!(log["auditLog"]["nodes"][0]["operation"], "DELETE", "{log}");
        assert_eq!(log["auditLog"]["nodes"][0]["actor"]["kind"], "API_KEY");

        // It may propose again; once the community has answered, there is nothing to withdraw.
        let (declined, version) = propose(&partner).await;
        let body = staff
            .data(DECLINE, json!({ "i": { "id": declined, "version": version } }))
            .await;
        let version = body["declinePartnershipProposal"]["partnership"]["version"].clone();
        let (accepted, accepted_version) = propose(&partner).await;
        let body = staff
            .data(
                ACCEPT,
                json!({ "i": { "id": accepted, "version": accepted_version } }),
            )
            .await;
        let accepted_version = body["acceptPartnershipProposal"]["partnership"]["version"].clone();
        for (id, version) in [(&declined, &version), (&accepted, &accepted_version)] {
            let body = partner.data(WITHDRAW, withdraw(id, version)).await;
            assert_eq!(body["withdrawPartnershipProposal"]["deletedId"], Value::Null);
            assert_eq!(
                body["withdrawPartnershipProposal"]["userErrors"][0]["code"], "INVALID_TRANSITION",
                "{body}"
            );
        }
        assert_eq!(counts(&app).await, (3, 3));
    }
);

// Two withdrawals of one proposal at once (two keys of the partner): one deletes it, the
// other finds nothing to withdraw (NOT_FOUND, as once it is gone, not a CONFLICT that asks to
// reload what no longer exists). An action dropped while its partner withdraws declines what
// is still pending and goes through.
both!(
    a_withdrawal_that_loses_a_race_finds_nothing,
    |app: TestApp| async move {
        let w = world(&app).await;
        let first = app.signed_in(As::Partner, &[], Some(w.fonden)).await;
        let second = app.with_credentials("x-api-key", &app.create_api_key(w.fonden).await);
        for round in 0..3 {
            let input = json!({ "actionId": global_id("Action", w.seeking), "message": format!("Runde {round}"), "offer": offer() });
            let body = first.data(INTEREST, json!({ "i": input })).await["expressInterest"].clone();
            let input = json!({ "i": { "id": body["partnership"]["id"], "version": body["partnership"]["version"] } });
            let (a, b) = tokio::join!(first.post(WITHDRAW, input.clone()), second.post(WITHDRAW, input));
            let mut outcomes: Vec<String> = [a, b]
                .iter()
                .map(|body| {
                    if body["data"]["withdrawPartnershipProposal"]["deletedId"].is_string() {
                        "DELETED".to_owned()
                    } else {
                        body.to_string()
                    }
                })
                .collect();
            outcomes.sort();
            assert_eq!(outcomes[0], "DELETED", "{outcomes:?}");
            assert!(outcomes[1].contains("NOT_FOUND"), "{outcomes:?}");
            assert_eq!(counts(&app).await, (0, 0));
        }
        let staff = app.signed_in(As::Staff, &[], None).await;
        let version = staff
            .data(
                "query($id: ID!) { node(id: $id) { ... on Action { version } } }",
                json!({ "id": global_id("Action", w.seeking) }),
            )
            .await["node"]["version"]
            .clone();
        let input = json!({ "actionId": global_id("Action", w.seeking), "message": "Sidste runde", "offer": offer() });
        let body = first.data(INTEREST, json!({ "i": input })).await["expressInterest"].clone();
        let withdraw =
            json!({ "i": { "id": body["partnership"]["id"], "version": body["partnership"]["version"] } });
        let drop =
            json!({ "i": { "id": global_id("Action", w.seeking), "version": version, "status": "DROPPED" } });
        let (dropped, _) = tokio::join!(
            staff.post(
                "mutation($i: UpdateActionInput!) { updateAction(input: $i) { action { status } userErrors { code message } } }",
                drop
            ),
            first.post(WITHDRAW, withdraw)
        );
        assert_eq!(
            dropped["data"]["updateAction"]["action"]["status"], "DROPPED",
            "{dropped}"
        );
    }
);

// An accepted proposal has the partner as its only member: when the partner leaves, nobody is
// left, and the partnership has ended (ENDED, its end today) instead of standing ACTIVE and
// empty in the public lists. One with members left, or emptied by those who arrange it (to
// staff it anew), stays as it was.
both!(
    a_partnership_its_last_member_leaves_has_ended,
    |app: TestApp| async move {
        let w = world(&app).await;
        let fonden = app.signed_in(As::Partner, &[], Some(w.fonden)).await;
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        const STATE: &str = "query($id: ID!) { node(id: $id) { ... on Partnership {
            status endsOn version members { id version } } } }";
        let accepted = async |partner: &TestApp| {
            let input = json!({ "actionId": global_id("Action", w.seeking), "message": "Vi er med.", "offer": offer() });
            let id =
                partner.data(INTEREST, json!({ "i": input })).await["expressInterest"]["partnership"]["id"]
                    .clone();
            let body = editor
                .data(ACCEPT, json!({ "i": { "id": id, "version": 1 } }))
                .await;
            assert_eq!(
                body["acceptPartnershipProposal"]["userErrors"],
                json!([]),
                "{body}"
            );
            id
        };
        let id = accepted(&fonden).await;
        let before = editor.data(STATE, json!({ "id": id })).await["node"].clone();
        assert_eq!(before["status"], "ACTIVE");
        let member = &before["members"][0];
        let body = fonden
            .data(
                REMOVE,
                json!({ "i": { "id": member["id"], "version": member["version"] } }),
            )
            .await;
        assert_eq!(body["removePartnershipMember"]["userErrors"], json!([]), "{body}");
        let after = editor.data(STATE, json!({ "id": id })).await["node"].clone();
        assert_eq!(after["status"], "ENDED", "{after}");
        assert_eq!(after["endsOn"], danish_today().to_string(), "{after}");
        assert_eq!(after["members"], json!([]));
        // Emptied by the community that arranges it: still ACTIVE, to be staffed anew.
        let kassen = app.signed_in(As::Partner, &[], Some(w.kassen)).await;
        let id = accepted(&kassen).await;
        let member = editor.data(STATE, json!({ "id": id })).await["node"]["members"][0].clone();
        let body = editor
            .data(
                REMOVE,
                json!({ "i": { "id": member["id"], "version": member["version"] } }),
            )
            .await;
        assert_eq!(body["removePartnershipMember"]["userErrors"], json!([]), "{body}");
        let after = editor.data(STATE, json!({ "id": id })).await["node"].clone();
        assert_eq!(
            (after["status"].as_str(), &after["endsOn"]),
            (Some("ACTIVE"), &Value::Null)
        );
    }
);

//! A writer that races past the checks a mutation makes before it writes. The checks see
//! only committed rows, so another transaction can take a slug, add the same member, delete
//! the plan an action is for, or add a plan to a community being deleted, between the check
//! and the write; the database's constraint then stops the write. The caller gets the same
//! user error the check would have given, on the input field it concerns, and nothing is
//! written.
//!
//! PostgreSQL only: SQLite lets one writer in at a time (`BEGIN IMMEDIATE`), so there the
//! check always sees the other writer's rows and no write gets past it.
use std::time::Duration;

use lup_tests::{
    As, Backend, TestApp,
    fixture::{Fixture, PartnershipStatus, PlanStatus, global_id},
};
use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait};
use serde_json::{Value, json};

/// Sends `query` while `hold` keeps a conflicting row uncommitted, waits until the request's
/// write waits on that row's lock, commits, and returns the answer.
async fn race(app: &TestApp, caller: &TestApp, hold: &str, query: &'static str, variables: Value) -> Value {
    let txn = app.db.begin().await.expect("begin");
    txn.execute_unprepared(hold).await.expect("the racing write");
    let request = {
        let caller = caller.clone_handle();
        tokio::spawn(async move { caller.post(query, variables).await })
    };
    wait_for_a_lock(&app.db).await;
    txn.commit().await.expect("commit");
    request.await.expect("the request")
}

/// [`race`], then the same request once more, after the race: the user errors of the first
/// must be those of the second, which meets the other write already committed (as every
/// write does on SQLite), message and field alike.
async fn race_then_again(
    app: &TestApp,
    caller: &TestApp,
    hold: &str,
    query: &'static str,
    variables: Value,
    mutation: &str,
) -> Value {
    let answer = race(app, caller, hold, query, variables.clone()).await;
    let errors = user_errors(&answer, mutation);
    let after = user_errors(&caller.post(query, variables).await, mutation);
    assert_eq!(
        errors, after,
        "the race's error is the error of one after the other"
    );
    answer
}

/// Waits until a backend of the test's database waits on a lock: the request's write, held
/// up by the uncommitted row.
async fn wait_for_a_lock(db: &DatabaseConnection) {
    for _ in 0..200 {
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND wait_event_type = 'Lock'",
            ))
            .await
            .expect("pg_stat_activity")
            .expect("a row");
        if row.try_get_by_index::<i64>(0).expect("count") > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the request never waited on the racing row's lock");
}

async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
    db.query_one_raw(sea_orm::Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("count")
        .expect("a row")
        .try_get_by_index::<i64>(0)
        .expect("count")
}

fn user_errors(answer: &Value, mutation: &str) -> Value {
    assert!(answer.get("errors").is_none(), "{answer}");
    answer["data"][mutation]["userErrors"].clone()
}

#[tokio::test]
#[cfg_attr(not(postgres_tests), ignore = "skipped: TEST_DATABASE_URL is not set")]
async fn a_slug_taken_meanwhile_is_reported_on_the_slug() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let staff = app.signed_in(As::Staff, &[], None).await;
    let answer = race_then_again(
        &app,
        &staff,
        "INSERT INTO community (id, slug, name, description, status, created_at, updated_at, version) \
         VALUES (gen_random_uuid(), 'ny-by', 'Ny By', '', 'ACTIVE', now(), now(), 1)",
        "mutation($i: CreateCommunityInput!) { createCommunity(input: $i) {
            community { id } userErrors { field code message } } }",
        json!({ "i": { "slug": "ny-by", "name": "Nyby", "description": "" } }),
        "createCommunity",
    )
    .await;
    assert_eq!(answer["data"]["createCommunity"]["community"], Value::Null);
    let errors = user_errors(&answer, "createCommunity");
    assert_eq!(errors[0]["field"], json!(["slug"]), "{errors}");
    assert_eq!(errors[0]["code"], "TAKEN");
    assert_eq!(errors[0]["message"], "another community has this slug");
    assert_eq!(
        count(&app.db, "SELECT count(*) FROM community WHERE slug = 'ny-by'").await,
        1
    );
    assert_eq!(
        count(&app.db, "SELECT count(*) FROM community WHERE name = 'Nyby'").await,
        0
    );
    app.stop().await;
}

#[tokio::test]
#[cfg_attr(not(postgres_tests), ignore = "skipped: TEST_DATABASE_URL is not set")]
async fn a_member_added_meanwhile_is_reported_on_the_party() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let f = Fixture::new(&app.db);
    let gjol = f.community("gjoel", "Gjøl").await;
    let plan = f.plan(gjol, "Gjøl 2025", PlanStatus::Adopted, 2025, 2029).await;
    let action = f.action(plan, "Ny legeplads").await;
    let partnership = f
        .partnership(Some(action), None, "Legepladsen", PartnershipStatus::Active)
        .await;
    let staff = app.signed_in(As::Staff, &[], None).await;
    let answer = race_then_again(
        &app,
        &staff,
        &format!(
            "INSERT INTO partnership_member (id, partnership_id, community_id, role, contribution_kind, \
             contribution, created_at, updated_at, version) VALUES (gen_random_uuid(), '{partnership}', \
             '{gjol}', 'PARTNER', 'OTHER', '', now(), now(), 1)"
        ),
        "mutation($i: AddPartnershipMemberInput!) { addPartnershipMember(input: $i) {
            partnershipMember { id } userErrors { field code message } } }",
        json!({ "i": {
            "partnershipId": global_id("Partnership", partnership),
            "communityId": global_id("Community", gjol),
        } }),
        "addPartnershipMember",
    )
    .await;
    let errors = user_errors(&answer, "addPartnershipMember");
    assert_eq!(errors[0]["field"], json!(["communityId"]), "{errors}");
    assert_eq!(errors[0]["code"], "TAKEN");
    assert_eq!(
        count(
            &app.db,
            &format!("SELECT count(*) FROM partnership_member WHERE partnership_id = '{partnership}'")
        )
        .await,
        1
    );
    app.stop().await;
}

#[tokio::test]
#[cfg_attr(not(postgres_tests), ignore = "skipped: TEST_DATABASE_URL is not set")]
async fn a_plan_deleted_meanwhile_is_reported_on_the_plan() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let f = Fixture::new(&app.db);
    let gjol = f.community("gjoel", "Gjøl").await;
    let plan = f.plan(gjol, "Gjøl 2025", PlanStatus::Adopted, 2025, 2029).await;
    let staff = app.signed_in(As::Staff, &[], None).await;
    let answer = race_then_again(
        &app,
        &staff,
        &format!("DELETE FROM plan WHERE id = '{plan}'"),
        "mutation($i: CreateActionInput!) { createAction(input: $i) {
            action { id } userErrors { field code message } } }",
        json!({ "i": { "planId": global_id("Plan", plan), "title": "Ny legeplads", "horizon": "HERE_AND_NOW" } }),
        "createAction",
    )
    .await;
    let errors = user_errors(&answer, "createAction");
    assert_eq!(errors[0]["field"], json!(["planId"]), "{errors}");
    assert_eq!(errors[0]["code"], "NOT_FOUND");
    assert_eq!(errors[0]["message"], "no plan with this ID");
    assert_eq!(count(&app.db, "SELECT count(*) FROM action").await, 0);
    app.stop().await;
}

#[tokio::test]
#[cfg_attr(not(postgres_tests), ignore = "skipped: TEST_DATABASE_URL is not set")]
async fn a_plan_added_meanwhile_keeps_its_community_from_being_deleted() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let gjol = Fixture::new(&app.db).community("gjoel", "Gjøl").await;
    let staff = app.signed_in(As::Staff, &[], None).await;
    let answer = race_then_again(
        &app,
        &staff,
        &format!(
            "INSERT INTO plan (id, community_id, title, summary, vision, period_from, period_to, status, \
             internal_notes, created_at, updated_at, version) VALUES (gen_random_uuid(), '{gjol}', \
             'Gjøl 2027', '', '', 2027, 2031, 'DRAFT', '', now(), now(), 1)"
        ),
        "mutation($i: DeleteCommunityInput!) { deleteCommunity(input: $i) {
            deletedId userErrors { field code message } } }",
        json!({ "i": { "id": global_id("Community", gjol), "version": 1 } }),
        "deleteCommunity",
    )
    .await;
    assert_eq!(answer["data"]["deleteCommunity"]["deletedId"], Value::Null);
    let errors = user_errors(&answer, "deleteCommunity");
    assert_eq!(errors[0]["field"], json!(["id"]), "{errors}");
    assert_eq!(errors[0]["code"], "IN_USE");
    assert_eq!(
        count(
            &app.db,
            &format!("SELECT count(*) FROM community WHERE id = '{gjol}'")
        )
        .await,
        1
    );
    app.stop().await;
}

#[tokio::test]
#[cfg_attr(not(postgres_tests), ignore = "skipped: TEST_DATABASE_URL is not set")]
async fn the_same_response_sent_twice_at_once_is_stored_once() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let f = Fixture::new(&app.db);
    let gjol = f.community("gjoel", "Gjøl").await;
    let birkelse = f.community("birkelse", "Birkelse").await;
    let hearing = f
        .plan(gjol, "Gjøl i høring", PlanStatus::Consultation, 2027, 2030)
        .await;
    let other = f
        .plan(
            birkelse,
            "Birkelse i høring",
            PlanStatus::Consultation,
            2027,
            2030,
        )
        .await;
    const SUBMIT: &str = "mutation($i: SubmitConsultationResponseInput!) {
        submitConsultationResponse(input: $i) { receipt userErrors { field code message } } }";
    let body = "Et havnebad vil samle hele byen om sommeren.";
    // The same text from the same client to another consultation: its fingerprint and the
    // text's hash, which the racing row below takes for this consultation.
    let first = app
        .post(
            SUBMIT,
            json!({ "i": { "planId": global_id("Plan", other), "body": body, "consentToStore": false } }),
        )
        .await;
    assert!(
        user_errors(&first, "submitConsultationResponse") == json!([]),
        "{first}"
    );
    let answer = race(
        &app,
        &app,
        &format!(
            "INSERT INTO consultation_response (id, plan_id, body, body_hash, consent_to_store, \
             consent_to_show_name, status, client_fingerprint, created_at, updated_at, version) \
             SELECT gen_random_uuid(), '{hearing}', body, body_hash, false, false, 'PENDING', \
             client_fingerprint, now(), now(), 1 FROM consultation_response WHERE plan_id = '{other}'"
        ),
        SUBMIT,
        json!({ "i": { "planId": global_id("Plan", hearing), "body": body, "consentToStore": false } }),
    )
    .await;
    assert_eq!(
        answer["data"]["submitConsultationResponse"]["receipt"],
        Value::Null,
        "{answer}"
    );
    let errors = user_errors(&answer, "submitConsultationResponse");
    assert_eq!(errors[0]["field"], json!(["body"]), "{errors}");
    assert_eq!(errors[0]["code"], "TAKEN");
    assert_eq!(
        errors[0]["message"],
        "you have already sent this response to this consultation"
    );
    assert_eq!(
        count(
            &app.db,
            &format!("SELECT count(*) FROM consultation_response WHERE plan_id = '{hearing}'")
        )
        .await,
        1
    );
    app.stop().await;
}

#[tokio::test]
#[cfg_attr(not(postgres_tests), ignore = "skipped: TEST_DATABASE_URL is not set")]
async fn an_action_claimed_meanwhile_by_another_exchange_is_reported_on_its_place_in_the_list() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let f = Fixture::new(&app.db);
    let gjol = f.community("gjoel", "Gjøl").await;
    let birkelse = f.community("birkelse", "Birkelse").await;
    let plan = f.plan(gjol, "Gjøl 2025", PlanStatus::Adopted, 2025, 2029).await;
    let first = f.action(plan, "Fællesspisning").await;
    let claimed = f.action(plan, "Ny legeplads").await;
    let staff = app.signed_in(As::Staff, &[], None).await;
    let answer = race_then_again(
        &app,
        &staff,
        &format!(
            "INSERT INTO idea_exchange (id, title, kind, initiator_community_id, outcome, created_at, \
             updated_at, version) VALUES ('0193a4f0-0000-7000-8000-000000000001', 'Studietur', \
             'STUDY_VISIT', '{birkelse}', '', now(), now(), 1); \
             INSERT INTO idea_exchange_action (exchange_id, action_id) VALUES \
             ('0193a4f0-0000-7000-8000-000000000001', '{claimed}')"
        ),
        "mutation($i: CreateIdeaExchangeInput!) { createIdeaExchange(input: $i) {
            ideaExchange { id } userErrors { field code message } } }",
        json!({ "i": {
            "title": "Erfaringer fra havnen",
            "kind": "KNOWLEDGE_SHARING",
            "initiatorCommunityId": global_id("Community", gjol),
            "participantCommunityIds": [global_id("Community", birkelse)],
            "actionIds": [global_id("Action", first), global_id("Action", claimed)],
        } }),
        "createIdeaExchange",
    )
    .await;
    let errors = user_errors(&answer, "createIdeaExchange");
    assert_eq!(errors[0]["field"], json!(["actionIds", "1"]), "{errors}");
    assert_eq!(errors[0]["code"], "TAKEN");
    assert_eq!(count(&app.db, "SELECT count(*) FROM idea_exchange").await, 1);
    app.stop().await;
}

#[tokio::test]
#[cfg_attr(not(postgres_tests), ignore = "skipped: TEST_DATABASE_URL is not set")]
async fn a_lead_department_named_meanwhile_is_reported_on_the_role() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let f = Fixture::new(&app.db);
    let gjol = f.community("gjoel", "Gjøl").await;
    let plan = f.plan(gjol, "Gjøl 2025", PlanStatus::Adopted, 2025, 2029).await;
    let action = f.action(plan, "Ny legeplads").await;
    let vand = f.department("vand-og-natur", "Vand og Natur").await;
    let kultur = f.department("kultur-og-fritid", "Kultur og Fritid").await;
    let staff = app.signed_in(As::Staff, &[], None).await;
    let answer = race_then_again(
        &app,
        &staff,
        &format!(
            "INSERT INTO action_department (id, action_id, department_id, role, contribution, \
             created_at, updated_at, version) VALUES (gen_random_uuid(), '{action}', '{vand}', 'LEAD', '', \
             now(), now(), 1)"
        ),
        "mutation($i: AddActionDepartmentInput!) { addActionDepartment(input: $i) {
            actionDepartment { id } userErrors { field code message } } }",
        json!({ "i": {
            "actionId": global_id("Action", action),
            "departmentId": global_id("Department", kultur),
            "role": "LEAD",
        } }),
        "addActionDepartment",
    )
    .await;
    let errors = user_errors(&answer, "addActionDepartment");
    assert_eq!(errors[0]["field"], json!(["role"]), "{errors}");
    assert_eq!(errors[0]["code"], "TAKEN");
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .contains("lead department already"),
        "{errors}"
    );
    assert_eq!(
        count(
            &app.db,
            &format!("SELECT count(*) FROM action_department WHERE action_id = '{action}'")
        )
        .await,
        1
    );
    app.stop().await;
}

#[tokio::test]
#[cfg_attr(not(postgres_tests), ignore = "skipped: TEST_DATABASE_URL is not set")]
async fn a_progress_note_posted_while_another_changes_the_action_applies_after_it() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let f = Fixture::new(&app.db);
    let gjol = f.community("gjoel", "Gjøl").await;
    let plan = f.plan(gjol, "Gjøl 2025", PlanStatus::Adopted, 2025, 2029).await;
    let action = f.action(plan, "Ny legeplads").await;
    let staff = app.signed_in(As::Staff, &[], None).await;
    // Another note's change to the action, not yet committed when this note is posted: the
    // note waits for it and applies to the action it left (its version is not the client's
    // to send, so a CONFLICT on it would lose the note).
    let answer = race(
        &app,
        &staff,
        &format!("UPDATE action SET progress = 40, version = version + 1 WHERE id = '{action}'"),
        "mutation($i: CreateActionUpdateInput!) { createActionUpdate(input: $i) {
            actionUpdate { id action { progress version } } userErrors { field code message } } }",
        json!({ "i": {
            "actionId": global_id("Action", action),
            "body": "Legepladsen er halvt færdig",
            "progress": 50,
        } }),
    )
    .await;
    assert!(answer.get("errors").is_none(), "{answer}");
    let payload = &answer["data"]["createActionUpdate"];
    assert_eq!(payload["userErrors"], json!([]), "{answer}");
    assert_eq!(
        payload["actionUpdate"]["action"],
        json!({ "progress": 50, "version": 3 })
    );
    assert_eq!(
        count(
            &app.db,
            &format!("SELECT count(*) FROM action_update WHERE action_id = '{action}'")
        )
        .await,
        1
    );
    app.stop().await;
}

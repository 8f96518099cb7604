//! Rows a caller may not see are NOT_FOUND to the write path, exactly like rows that do not
//! exist: an editor of one community who updates, deletes or adds a child to another
//! community's draft plan, an action of it, a private contact, or moderates another
//! community's pending consultation response gets the same answer as for a made-up ID, so no
//! mutation tells whether a hidden row exists.
use entity::plan::PlanStatus;
use lup_tests::{As, TestApp, both, fixture::Fixture};
use serde_json::{Value, json};
use uuid::Uuid;

/// A mutation, and its input for an ID.
type Case = (&'static str, Box<dyn Fn(String) -> Value>);

fn id(type_name: &str, id: Uuid) -> String {
    lup_tests::fixture::global_id(type_name, id)
}

both!(hidden_rows_answer_like_missing_ones, |app: TestApp| async move {
    let fx = Fixture::new(&app.db);
    let gjol = fx.community("gjoel", "Gjøl").await;
    let birkelse = fx.community("birkelse", "Birkelse").await;
    let draft = fx.plan(gjol, "Gjøl 2035", PlanStatus::Draft, 2031, 2035).await;
    let action = fx.action(draft, "Kladdehandling").await;
    let contact = fx.contact("Hemmelig Kontakt", false, Some(gjol)).await;
    let hearing = fx
        .plan(gjol, "Gjøl i høring", PlanStatus::Consultation, 2027, 2030)
        .await;
    let response = fx
        .response(
            hearing,
            None,
            "Et svar, der venter",
            entity::consultation_response::ResponseStatus::Pending,
        )
        .await;
    let department = fx.department("vand-og-natur", "Vand og Natur").await;
    let editor = app.signed_in(As::CommunityEditor, &[birkelse], None).await;

    // Each mutation with a hidden row's ID and with a made-up one of the same type.
    let cases: Vec<Case> = vec![
        (
            "mutation($i: UpdatePlanInput!) { updatePlan(input: $i) { plan { id } userErrors { field code message } } }",
            Box::new(|id| json!({ "id": id, "version": 1, "title": "Ny titel" })),
        ),
        (
            "mutation($i: DeletePlanInput!) { deletePlan(input: $i) { deletedId userErrors { field code message } } }",
            Box::new(|id| json!({ "id": id, "version": 1 })),
        ),
        (
            "mutation($i: CreateActionInput!) { createAction(input: $i) { action { id } userErrors { field code message } } }",
            Box::new(|id| json!({ "planId": id, "title": "Ny handling", "horizon": "LONG_TERM" })),
        ),
    ];
    let action_cases: Vec<Case> = vec![
        (
            "mutation($i: UpdateActionInput!) { updateAction(input: $i) { action { id } userErrors { field code message } } }",
            Box::new(|id| json!({ "id": id, "version": 1, "title": "Ny titel" })),
        ),
        (
            "mutation($i: DeleteActionInput!) { deleteAction(input: $i) { deletedId userErrors { field code message } } }",
            Box::new(|id| json!({ "id": id, "version": 1 })),
        ),
        (
            "mutation($i: CreateActionUpdateInput!) { createActionUpdate(input: $i) { actionUpdate { id } userErrors { field code message } } }",
            Box::new(|id| json!({ "actionId": id, "body": "Nyt fra handlingen" })),
        ),
        (
            "mutation($i: AddActionDepartmentInput!) { addActionDepartment(input: $i) { actionDepartment { id } userErrors { field code message } } }",
            Box::new(
                move |id| json!({ "actionId": id, "departmentId": lup_tests::fixture::global_id("Department", department) }),
            ),
        ),
    ];
    // Linking an action to an idea exchange of the editor's own community.
    let linked = move |id: String| {
        json!({
            "title": "Erfaringer med havnen", "kind": "KNOWLEDGE_SHARING",
            "initiatorCommunityId": lup_tests::fixture::global_id("Community", birkelse),
            "participantCommunityIds": [lup_tests::fixture::global_id("Community", gjol)],
            "actionIds": [id],
        })
    };
    let mut action_cases = action_cases;
    action_cases.push((
        "mutation($i: CreateIdeaExchangeInput!) { createIdeaExchange(input: $i) { ideaExchange { id } userErrors { field code message } } }",
        Box::new(linked),
    ));
    let contact_cases: Vec<Case> = vec![
        (
            "mutation($i: UpdateContactInput!) { updateContact(input: $i) { contact { id } userErrors { field code message } } }",
            Box::new(|id| json!({ "id": id, "version": 1, "name": "Nyt navn" })),
        ),
        (
            "mutation($i: DeleteContactInput!) { deleteContact(input: $i) { deletedId userErrors { field code message } } }",
            Box::new(|id| json!({ "id": id, "version": 1 })),
        ),
    ];
    let response_cases: Vec<Case> = vec![
        (
            "mutation($i: ModerateConsultationResponseInput!) { moderateConsultationResponse(input: $i) { consultationResponse { id } userErrors { field code message } } }",
            Box::new(|id| json!({ "id": id, "version": 1, "status": "PUBLISHED" })),
        ),
        (
            "mutation($i: ReplyToConsultationResponseInput!) { replyToConsultationResponse(input: $i) { consultationResponse { id } userErrors { field code message } } }",
            Box::new(|id| json!({ "id": id, "version": 1, "reply": "Tak for svaret." })),
        ),
    ];
    let mut checked = 0;
    for (type_name, hidden, list) in [
        ("Plan", draft, &cases),
        ("Action", action, &action_cases),
        ("Contact", contact, &contact_cases),
        ("ConsultationResponse", response, &response_cases),
    ] {
        for (mutation, input) in list.iter() {
            let made_up = editor
                .post(mutation, json!({ "i": input(id(type_name, Uuid::now_v7())) }))
                .await;
            let refused = editor
                .post(mutation, json!({ "i": input(id(type_name, hidden)) }))
                .await;
            assert_eq!(refused, made_up, "{type_name} {mutation}");
            // And it is a refusal that says not found, not a success.
            let text = made_up.to_string();
            assert!(text.contains("NOT_FOUND"), "{mutation}: {made_up}");
            checked += 1;
        }
    }
    assert_eq!(checked, 12);
    // Nothing changed: the rows are as they were.
    let staff = app.signed_in(As::Staff, &[], None).await;
    let d = staff
            .data(
                "query($p: ID!, $a: ID!, $c: ID!) { p: node(id: $p) { ... on Plan { title version } }
                   a: node(id: $a) { ... on Action { title version updates(first: 1) { totalCount } departments { id } } }
                   c: node(id: $c) { ... on Contact { name version } } }",
                json!({ "p": id("Plan", draft), "a": id("Action", action), "c": id("Contact", contact) }),
            )
            .await;
    assert_eq!(d["p"], json!({ "title": "Gjøl 2035", "version": 1 }));
    assert_eq!(d["a"]["title"], "Kladdehandling");
    assert_eq!(d["a"]["updates"]["totalCount"], 0);
    assert_eq!(d["a"]["departments"], json!([]));
    assert_eq!(d["c"], json!({ "name": "Hemmelig Kontakt", "version": 1 }));
    let d = staff
        .data(
            "query($r: ID!) { node(id: $r) { ... on ConsultationResponse { status reply version } } }",
            json!({ "r": id("ConsultationResponse", response) }),
        )
        .await;
    assert_eq!(
        d["node"],
        json!({ "status": "PENDING", "reply": null, "version": 1 })
    );

    // A row the editor may see but not change is still FORBIDDEN: that tells nothing new.
    let published = fx.plan(gjol, "Gjøl 2030", PlanStatus::Adopted, 2026, 2030).await;
    let (code, _) = editor
        .error(
            "mutation($i: UpdatePlanInput!) { updatePlan(input: $i) { plan { id } } }",
            json!({ "i": { "id": id("Plan", published), "version": 1, "title": "Ny titel" } }),
        )
        .await;
    assert_eq!(code, "FORBIDDEN");
});

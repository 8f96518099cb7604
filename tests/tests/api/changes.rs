//! The change feed (`changes`): every committed change once and in order, as each caller may
//! see it, with tombstones for rows deleted or gone from the caller's view.
use std::collections::{HashMap, HashSet};

use entity::{partnership::PartnershipStatus, plan::PlanStatus};
use lup_tests::{
    As, TestApp, both,
    fixture::{Fixture, global_id},
};
use serde_json::{Value, json};
use uuid::Uuid;

const CHANGES: &str = "query($after: String, $types: [ChangeType!], $first: Int) {
  changes(after: $after, types: $types, first: $first) {
    edges { cursor node { kind type nodeId occurredAt node { id } } }
    pageInfo { hasNextPage endCursor }
    resumeCursor } }";

/// One change as a client keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    cursor: String,
    kind: String,
    ty: String,
    id: String,
}

/// The whole feed from `after` as `who` sees it, page by page; and where to resume.
async fn read_all(who: &TestApp, after: Option<String>, types: Option<Value>) -> (Vec<Seen>, String) {
    let mut out = Vec::new();
    let mut after = after;
    loop {
        let page = who
            .data(CHANGES, json!({ "after": after, "types": types, "first": 7 }))
            .await["changes"]
            .clone();
        for e in page["edges"].as_array().unwrap() {
            let n = &e["node"];
            out.push(Seen {
                cursor: e["cursor"].as_str().unwrap().to_owned(),
                kind: n["kind"].as_str().unwrap().to_owned(),
                ty: n["type"].as_str().unwrap().to_owned(),
                id: n["nodeId"].as_str().unwrap().to_owned(),
            });
        }
        after = Some(page["resumeCursor"].as_str().unwrap().to_owned());
        if !page["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            return (out, after.unwrap());
        }
    }
}

/// Moves `plan` (at version 1) to `status` as `who`, which must succeed.
async fn set_status(who: &TestApp, plan: &str, status: &str) {
    let body = who
        .data(
            "mutation($i: ChangePlanStatusInput!) { changePlanStatus(input: $i) { userErrors { code } } }",
            json!({ "i": { "id": plan, "version": 1, "status": status } }),
        )
        .await;
    assert_eq!(body["changePlanStatus"]["userErrors"], json!([]), "{body}");
}

/// Deletes the action `id` (at version 1) as `who`, which must succeed.
async fn delete_action(who: &TestApp, id: &str) {
    let body = who
        .data(
            "mutation($i: DeleteActionInput!) { deleteAction(input: $i) { userErrors { code } } }",
            json!({ "i": { "id": id, "version": 1 } }),
        )
        .await;
    assert_eq!(body["deleteAction"]["userErrors"], json!([]), "{body}");
}

/// The number inside a change cursor (opaque to clients; tests may look).
fn number(cursor: &str) -> i64 {
    use base64::Engine;
    let text = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .unwrap();
    let text = String::from_utf8(text).unwrap();
    text["change:".len()..]
        .split(':')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// The rows a client holds after applying `changes` in order.
fn replay(changes: &[Seen]) -> HashSet<String> {
    let mut rows = HashSet::new();
    for c in changes {
        if c.kind == "DELETED" {
            rows.remove(&c.id);
        } else {
            rows.insert(c.id.clone());
        }
    }
    rows
}

struct World {
    gjol: Uuid,
    saltum: Uuid,
    public_plan: Uuid,
    public_action: Uuid,
    draft_plan: Uuid,
    draft_action: Uuid,
    private_contact: Uuid,
    proposal: Uuid,
    partner: Uuid,
    other_partner: Uuid,
}

/// Rows written around the API, then told of by the feed's catch-up (as at start-up).
async fn world(app: &TestApp) -> World {
    let f = Fixture::new(&app.db);
    let gjol = f.community("gjoel", "Gjøl").await;
    let saltum = f.community("saltum", "Saltum").await;
    let public_plan = f
        .plan(gjol, "Gjøl 2030", PlanStatus::Consultation, 2026, 2030)
        .await;
    let public_action = f.action(public_plan, "Shelterplads ved fjorden").await;
    let draft_plan = f
        .plan(saltum, "Saltum kladde", PlanStatus::Draft, 2026, 2030)
        .await;
    let draft_action = f.action(draft_plan, "Hemmelig handling").await;
    let private_contact = f.contact("Karen Privat", false, Some(gjol)).await;
    let partner = f
        .organization(
            "jammerbugt-erhverv",
            "Jammerbugt Erhverv",
            entity::organization::OrganizationKind::Business,
            None,
        )
        .await;
    let other_partner = f
        .organization(
            "fjordens-fond",
            "Fjordens Fond",
            entity::organization::OrganizationKind::Foundation,
            None,
        )
        .await;
    let proposal = f
        .partnership(
            Some(public_action),
            None,
            "Forslag om samarbejde",
            PartnershipStatus::Proposed,
        )
        .await;
    f.set(
        "partnership",
        proposal,
        "proposed_by_organization_id",
        other_partner,
    )
    .await;
    lup_api::changes::catch_up(&app.db).await.expect("catch up");
    World {
        gjol,
        saltum,
        public_plan,
        public_action,
        draft_plan,
        draft_action,
        private_contact,
        proposal,
        partner,
        other_partner,
    }
}

both!(
    the_feed_holds_every_row_each_caller_may_see,
    |app: TestApp| async move {
        let w = world(&app).await;
        let hidden = [
            global_id("Plan", w.draft_plan),
            global_id("Action", w.draft_action),
            global_id("Contact", w.private_contact),
            global_id("Partnership", w.proposal),
        ];
        let anonymous = app.signed_in(As::Anonymous, &[], None).await;
        let partner = app.signed_in(As::Partner, &[], Some(w.partner)).await;
        let proposer = app.signed_in(As::Partner, &[], Some(w.other_partner)).await;
        let gjol_editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        let saltum_editor = app.signed_in(As::CommunityEditor, &[w.saltum], None).await;
        let staff = app.signed_in(As::Staff, &[], None).await;

        let (all, _) = read_all(&staff, None, None).await;
        let rows = replay(&all);
        for id in &hidden {
            assert!(rows.contains(id), "staff see {id}");
        }
        assert!(all.iter().all(|c| c.kind == "CREATED"), "{all:?}");
        let cursors: Vec<&String> = all.iter().map(|c| &c.cursor).collect();
        let unique: HashSet<&&String> = cursors.iter().collect();
        assert_eq!(unique.len(), cursors.len(), "each change once");

        for (who, sees) in [
            (&anonymous, vec![]),
            (&partner, vec![]),
            (&proposer, vec![3]),
            (&gjol_editor, vec![2, 3]),
            (&saltum_editor, vec![0, 1]),
        ] {
            let (changes, _) = read_all(who, None, None).await;
            let rows = replay(&changes);
            for (i, id) in hidden.iter().enumerate() {
                assert_eq!(rows.contains(id), sees.contains(&i), "{i}: {id}");
                assert!(
                    sees.contains(&i) || changes.iter().all(|c| &c.id != id),
                    "not even a tombstone of {id}"
                );
            }
            assert!(rows.contains(&global_id("Action", w.public_action)));
            assert!(rows.contains(&global_id("Plan", w.public_plan)));
            // What the feed holds is what `node` answers.
            for id in &rows {
                let node = who
                    .data("query($id: ID!) { node(id: $id) { id } }", json!({ "id": id }))
                    .await;
                assert_eq!(node["node"]["id"], json!(id), "{id}");
            }
        }
        // Only some types.
        let (plans, _) = read_all(&anonymous, None, Some(json!(["PLAN"]))).await;
        assert_eq!(
            plans.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
            vec![global_id("Plan", w.public_plan)]
        );
    }
);

both!(
    writes_reach_the_feed_and_leaving_the_public_view_is_a_tombstone,
    |app: TestApp| async move {
        let w = world(&app).await;
        let anonymous = app.signed_in(As::Anonymous, &[], None).await;
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        let (_, start) = read_all(&anonymous, None, None).await;
        let (_, editor_start) = read_all(&editor, None, None).await;

        // A new action in the public plan, then a change to it.
        let created = editor
        .data(
            "mutation($i: CreateActionInput!) { createAction(input: $i) { action { id version } userErrors { code } } }",
            json!({ "i": { "planId": global_id("Plan", w.public_plan), "title": "Ny bålplads", "horizon": "HERE_AND_NOW" } }),
        )
        .await["createAction"]["action"]
        .clone();
        let action = created["id"].as_str().unwrap().to_owned();
        editor
            .data(
                "mutation($i: UpdateActionInput!) { updateAction(input: $i) { userErrors { code } } }",
                json!({ "i": { "id": action, "version": 1, "title": "Ny bålplads ved havnen" } }),
            )
            .await;
        let (changes, resume) = read_all(&anonymous, Some(start.clone()), None).await;
        let kinds: Vec<(&str, &str)> = changes.iter().map(|c| (c.kind.as_str(), c.id.as_str())).collect();
        assert_eq!(
            kinds,
            vec![("CREATED", action.as_str()), ("UPDATED", action.as_str())]
        );
        // Nothing new: the same place again.
        let (none, again) = read_all(&anonymous, Some(resume.clone()), None).await;
        assert!(none.is_empty());
        assert_eq!(again, resume);

        // The plan goes back to draft: for the public it and everything under it are gone.
        let plan = global_id("Plan", w.public_plan);
        set_status(&editor, &plan, "DRAFT").await;
        let (changes, _) = read_all(&anonymous, Some(resume), None).await;
        let gone: HashSet<&str> = changes
            .iter()
            .filter(|c| c.kind == "DELETED")
            .map(|c| c.id.as_str())
            .collect();
        assert_eq!(changes.len(), gone.len(), "only tombstones: {changes:?}");
        for id in [
            plan.as_str(),
            action.as_str(),
            &global_id("Action", w.public_action),
        ] {
            assert!(gone.contains(id), "{id} left the public view: {changes:?}");
        }
        // The pending proposal was never public: no tombstone either.
        assert!(!gone.contains(global_id("Partnership", w.proposal).as_str()));
        // The community's editors still see the plan: an update, not a tombstone.
        let (changes, _) = read_all(&editor, Some(editor_start), None).await;
        let last: HashMap<&str, &str> = changes.iter().map(|c| (c.id.as_str(), c.kind.as_str())).collect();
        assert_eq!(last.get(plan.as_str()), Some(&"UPDATED"));
        assert!(changes.iter().all(|c| c.kind != "DELETED"), "{changes:?}");

        // Deleted: a tombstone for the editors; nothing for the public, who no longer see it.
        let (_, before_delete) = read_all(&anonymous, None, None).await;
        let (_, editor_before) = read_all(&editor, None, None).await;
        let r = editor
        .data(
            "mutation($i: DeleteActionInput!) { deleteAction(input: $i) { deletedId userErrors { code } } }",
            json!({ "i": { "id": action, "version": 2 } }),
        )
        .await;
        assert_eq!(r["deleteAction"]["userErrors"], json!([]), "{r}");
        let (changes, _) = read_all(&editor, Some(editor_before), None).await;
        assert_eq!(
            changes
                .iter()
                .map(|c| (c.kind.as_str(), c.id.as_str()))
                .collect::<Vec<_>>(),
            vec![("DELETED", action.as_str())]
        );
        let (changes, _) = read_all(&anonymous, Some(before_delete), None).await;
        assert!(changes.is_empty(), "{changes:?}");
    }
);

both!(
    rows_deleted_with_their_parent_get_tombstones,
    |app: TestApp| async move {
        let w = world(&app).await;
        let f = Fixture::new(&app.db);
        let doomed = f.action(w.public_plan, "Til sletning").await;
        let update = f
            .update(doomed, "Vi er i gang", lup_tests::fixture::date(2026, 5, 1))
            .await;
        lup_api::changes::catch_up(&app.db).await.expect("catch up");
        let anonymous = app.signed_in(As::Anonymous, &[], None).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let (_, start) = read_all(&anonymous, None, None).await;
        delete_action(&staff, &global_id("Action", doomed)).await;
        let (changes, _) = read_all(&anonymous, Some(start), None).await;
        assert_eq!(
            changes
                .iter()
                .map(|c| (c.kind.as_str(), c.id.clone()))
                .collect::<HashSet<_>>(),
            HashSet::from([
                ("DELETED", global_id("Action", doomed)),
                // Went with the action (the foreign key cascades).
                ("DELETED", global_id("ActionUpdate", update)),
            ]),
        );
    }
);

// After a restore from a backup the feed numbers its next changes from where the backup
// stood: a cursor given before names, by its number, a change the feed now holds another one
// under. Such a cursor is refused (read again from the start), not read on from silently;
// a cursor of the number alone (as given before) is still taken.
both!(
    a_cursor_from_before_a_restore_is_refused,
    |app: TestApp| async move {
        use base64::Engine;
        let fx = Fixture::new(&app.db);
        fx.community("gjoel", "Gjøl").await;
        fx.community("birkelse", "Birkelse").await;
        lup_api::changes::catch_up(&app.db).await.expect("catch up");
        let page = app.data(CHANGES, json!({ "first": 1 })).await;
        let cursor = page["changes"]["edges"][0]["cursor"].as_str().unwrap().to_owned();
        let seq = number(&cursor);
        let page = app.data(CHANGES, json!({ "after": cursor })).await;
        assert!(!page["changes"]["edges"].as_array().unwrap().is_empty(), "{page}");
        // The change under that number is another one now (committed at another time).
        use sea_orm::{ConnectionTrait, Statement};
        let backend = app.db.get_database_backend();
        app.db
            .execute_raw(Statement::from_sql_and_values(
                backend,
                match backend {
                    sea_orm::DbBackend::Postgres => "UPDATE change_event SET occurred_at = occurred_at + INTERVAL '2 hours' WHERE seq = $1",
                    _ => "UPDATE change_event SET occurred_at = strftime('%Y-%m-%dT%H:%M:%fZ', occurred_at, '+2 hours') WHERE seq = ?",
                },
                [seq.into()],
            ))
            .await
            .expect("another change under the number");
        let (code, message) = app.error(CHANGES, json!({ "after": cursor })).await;
        assert_eq!(code, "BAD_USER_INPUT");
        assert!(message.contains("restored"), "{message}");
        let bare = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("change:{seq}"));
        let page = app.data(CHANGES, json!({ "after": bare })).await;
        assert!(!page["changes"]["edges"].as_array().unwrap().is_empty(), "{page}");
    }
);

both!(bad_arguments_are_refused, |app: TestApp| async move {
    for (variables, needle) in [
        (json!({ "after": "bm9wZQ" }), "cursor"),
        (json!({ "after": "" }), "cursor"),
        (json!({ "after": "Y2hhbmdlOi0x" }), "cursor"), // change:-1
        (json!({ "first": 0 }), "first"),
        (json!({ "first": 101 }), "first"),
        (json!({ "first": -1 }), "first"),
        (json!({ "types": [] }), "types"),
        // change:999999999, past the newest change: from another database or a restore.
        (json!({ "after": "Y2hhbmdlOjk5OTk5OTk5OQ" }), "newest change"),
    ] {
        let (code, message) = app.error(CHANGES, variables.clone()).await;
        assert_eq!(code, "BAD_USER_INPUT", "{variables}");
        assert!(message.contains(needle), "{message}");
    }
    let (code, _) = app.error(CHANGES, json!({ "types": ["NOPE"] })).await;
    assert_eq!(code, "BAD_USER_INPUT");
    // Left out, `first` is 20, as for every list.
    let page = app.data(CHANGES, json!({})).await;
    assert!(page["changes"]["resumeCursor"].is_string());
    // The newest cursor itself is where a reader that is up to date stands: an empty page.
    let (_, head) = read_all(&app, None, None).await;
    let page = app.data(CHANGES, json!({ "after": head })).await;
    assert_eq!(page["changes"]["edges"], json!([]), "{page}");
    assert_eq!(page["changes"]["resumeCursor"], json!(head), "{page}");
});

both!(
    eight_writers_each_change_once_and_in_order,
    |app: TestApp| async move {
        let w = world(&app).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let (_, start) = read_all(&staff, None, None).await;
        // Eight actions, each changed by its own writer, while a reader follows the feed.
        let mut actions = Vec::new();
        for i in 0..8 {
            let a = Fixture::new(&app.db)
                .action(w.public_plan, &format!("Handling {i}"))
                .await;
            actions.push(a);
        }
        lup_api::changes::catch_up(&app.db).await.expect("catch up");
        let (_, start_after_setup) = read_all(&staff, Some(start), None).await;
        const ROUNDS: i32 = 6;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let follower = {
            let staff = staff.clone_handle();
            let stop = stop.clone();
            let mut after = start_after_setup.clone();
            tokio::spawn(async move {
                let mut seen = Vec::new();
                loop {
                    let done = stop.load(std::sync::atomic::Ordering::SeqCst);
                    let (mut page, next) = read_all(&staff, Some(after.clone()), None).await;
                    seen.append(&mut page);
                    after = next;
                    if done {
                        return seen;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                }
            })
        };
        let writers: Vec<_> = actions
        .iter()
        .map(|a| {
            let staff = staff.clone_handle();
            let id = global_id("Action", *a);
            tokio::spawn(async move {
                for v in 1..=ROUNDS {
                    let r = staff
                        .data(
                            "mutation($i: UpdateActionInput!) { updateAction(input: $i) { userErrors { code } } }",
                            json!({ "i": { "id": id, "version": v, "progress": v * 10 } }),
                        )
                        .await;
                    assert_eq!(r["updateAction"]["userErrors"], json!([]), "{r}");
                }
            })
        })
        .collect();
        for w in writers {
            w.await.unwrap();
        }
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let followed = follower.await.unwrap();
        let (afterwards, _) = read_all(&staff, Some(start_after_setup), None).await;
        assert_eq!(
            afterwards.len(),
            8 * ROUNDS as usize,
            "every change: {afterwards:?}"
        );
        assert_eq!(
            followed, afterwards,
            "a reader following along missed or reordered nothing"
        );
        let mut per_action: HashMap<&str, usize> = HashMap::new();
        for c in &afterwards {
            assert_eq!(c.kind, "UPDATED");
            *per_action.entry(c.id.as_str()).or_default() += 1;
        }
        assert!(
            per_action.values().all(|n| *n == ROUNDS as usize),
            "{per_action:?}"
        );
        // In commit order: the cursors' numbers only grow.
        let numbers: Vec<i64> = afterwards.iter().map(|c| number(&c.cursor)).collect();
        assert!(numbers.windows(2).all(|p| p[0] < p[1]), "{numbers:?}");
    }
);

both!(
    an_edit_of_internal_notes_is_told_to_everyone_who_sees_the_row,
    |app: TestApp| async move {
        let w = world(&app).await;
        let anonymous = app.signed_in(As::Anonymous, &[], None).await;
        let partner = app.signed_in(As::Partner, &[], Some(w.partner)).await;
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let readers = [&anonymous, &partner, &editor, &staff];
        let mut starts = Vec::new();
        for who in &readers {
            starts.push(read_all(who, None, None).await.1);
        }
        let action = global_id("Action", w.public_action);
        let plan = global_id("Plan", w.public_plan);
        const UPDATE_ACTION: &str = "mutation($i: UpdateActionInput!) { updateAction(input: $i) { action { version } userErrors { code } } }";
        let r = editor
            .data(
                UPDATE_ACTION,
                json!({ "i": { "id": action, "version": 1, "internalNotes": "Ring til lodsejeren først" } }),
            )
            .await;
        assert_eq!(r["updateAction"]["userErrors"], json!([]), "{r}");
        let r = editor
            .data(
                "mutation($i: UpdatePlanInput!) { updatePlan(input: $i) { userErrors { code } } }",
                json!({ "i": { "id": plan, "version": 1, "internalNotes": "Husk budgetmødet i marts" } }),
            )
            .await;
        assert_eq!(r["updatePlan"]["userErrors"], json!([]), "{r}");
        // Only the community's editors and staff read the notes, but everyone who sees the
        // rows sees their version and `updatedAt` move on: a copy kept from the feed stays
        // the same as the rows.
        let mut resumes = Vec::new();
        for (who, start) in readers.iter().zip(&starts) {
            let (changes, resume) = read_all(who, Some(start.clone()), None).await;
            let kinds: Vec<(&str, &str)> = changes.iter().map(|c| (c.kind.as_str(), c.id.as_str())).collect();
            assert_eq!(
                kinds,
                vec![("UPDATED", action.as_str()), ("UPDATED", plan.as_str())]
            );
            resumes.push(resume);
        }
        let version = anonymous
            .data(
                "query($id: ID!) { node(id: $id) { ... on Action { version } } }",
                json!({ "id": action }),
            )
            .await;
        assert_eq!(version["node"]["version"], 2);
        // The next change the public sees is an update as before, not a creation.
        let r = editor
            .data(
                UPDATE_ACTION,
                json!({ "i": { "id": action, "version": 2, "title": "Shelterplads ved Gjøl Havn", "internalNotes": "Aftalt med lodsejeren" } }),
            )
            .await;
        assert_eq!(r["updateAction"]["userErrors"], json!([]), "{r}");
        for (who, resume) in readers.iter().zip(resumes) {
            let (changes, _) = read_all(who, Some(resume), None).await;
            let kinds: Vec<(&str, &str)> = changes.iter().map(|c| (c.kind.as_str(), c.id.as_str())).collect();
            assert_eq!(kinds, vec![("UPDATED", action.as_str())]);
        }
    }
);

// An idea exchange lists the actions that came of it, and an action names its exchange: a
// change of those links, or an action coming into or going out of sight, is told of both.
both!(
    an_exchange_and_its_actions_are_told_of_their_links,
    |app: TestApp| async move {
        let f = Fixture::new(&app.db);
        let gjol = f.community("gjoel", "Gjøl").await;
        let biersted = f.community("biersted", "Biersted").await;
        let heard = f
            .plan(gjol, "Gjøl 2031", PlanStatus::Consultation, 2031, 2035)
            .await;
        let action = f.action(heard, "Havnebad").await;
        lup_api::changes::catch_up(&app.db).await.expect("catch up");
        let staff = app.signed_in(As::Staff, &[], None).await;
        let (_, start) = read_all(&app, None, None).await;
        let body = staff
            .data(
                "mutation($i: CreateIdeaExchangeInput!) { createIdeaExchange(input: $i) { ideaExchange { id } userErrors { code } } }",
                json!({ "i": { "title": "Havnebad-erfaringer", "kind": "KNOWLEDGE_SHARING",
                               "initiatorCommunityId": global_id("Community", gjol),
                               "participantCommunityIds": [global_id("Community", biersted)],
                               "actionIds": [global_id("Action", action)] } }),
            )
            .await;
        assert_eq!(body["createIdeaExchange"]["userErrors"], json!([]), "{body}");
        let exchange = body["createIdeaExchange"]["ideaExchange"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let (seen, after_link) = read_all(&app, Some(start), None).await;
        let seen: Vec<(&str, &str)> = seen.iter().map(|s| (s.kind.as_str(), s.id.as_str())).collect();
        let action_id = global_id("Action", action);
        assert_eq!(
            seen,
            [("CREATED", exchange.as_str()), ("UPDATED", action_id.as_str())],
            "the action's originExchange changed, to the exchange told of before it"
        );

        // Back to draft: the action leaves the public's sight, and with it the exchange's link.
        set_status(&staff, &global_id("Plan", heard), "DRAFT").await;
        let (seen, _) = read_all(&app, Some(after_link), None).await;
        let seen: Vec<(&str, &str)> = seen.iter().map(|s| (s.kind.as_str(), s.ty.as_str())).collect();
        assert_eq!(
            seen,
            [
                ("UPDATED", "IDEA_EXCHANGE"),
                ("DELETED", "ACTION"),
                ("DELETED", "PLAN")
            ]
        );
        let listed = app
            .data(
                "query($id: ID!) { node(id: $id) { ... on IdeaExchange { resultingActions { id } } } }",
                json!({ "id": exchange }),
            )
            .await;
        assert_eq!(listed["node"]["resultingActions"], json!([]));
    }
);

// And where rows go, deleted or out of a reader's sight, the rows under them go first: a copy
// with foreign keys deletes its rows in the feed's order.
both!(rows_go_before_their_parents, |app: TestApp| async move {
    let f = Fixture::new(&app.db);
    let gjol = f.community("gjoel", "Gjøl").await;
    let heard = f
        .plan(gjol, "Gjøl 2031", PlanStatus::Consultation, 2031, 2035)
        .await;
    for i in 0..3 {
        let a = f.action(heard, &format!("Handling {i}")).await;
        f.update(
            a,
            &format!("Nyt om handling {i}"),
            lup_tests::fixture::date(2026, 3, 1),
        )
        .await;
    }
    let adopted = f.plan(gjol, "Gjøl 2026", PlanStatus::Adopted, 2026, 2030).await;
    let doomed = f.action(adopted, "Til sletning").await;
    f.update(doomed, "Vi er i gang", lup_tests::fixture::date(2026, 5, 1))
        .await;
    lup_api::changes::catch_up(&app.db).await.expect("catch up");
    let staff = app.signed_in(As::Staff, &[], None).await;
    let (_, start) = read_all(&app, None, None).await;

    // Back to draft: out of the public's sight, the plan's notes, then its actions, then
    // the plan itself.
    set_status(&staff, &global_id("Plan", heard), "DRAFT").await;
    let (seen, after_draft) = read_all(&app, Some(start), None).await;
    assert!(seen.iter().all(|s| s.kind == "DELETED"), "{seen:?}");
    let types: Vec<&str> = seen.iter().map(|s| s.ty.as_str()).collect();
    assert_eq!(
        types,
        [["ACTION_UPDATE"; 3], ["ACTION"; 3]]
            .concat()
            .into_iter()
            .chain(["PLAN"])
            .collect::<Vec<_>>(),
        "{seen:?}"
    );

    // Deleted, with the note that goes with it (the foreign key cascades): the note first.
    delete_action(&staff, &global_id("Action", doomed)).await;
    let (seen, _) = read_all(&app, Some(after_draft), None).await;
    let seen: Vec<(&str, &str)> = seen.iter().map(|s| (s.kind.as_str(), s.ty.as_str())).collect();
    assert_eq!(seen, [("DELETED", "ACTION_UPDATE"), ("DELETED", "ACTION")]);
});

// A client copying the feed into tables with foreign keys applies its events in order: within
// one write, a row's event comes before the events of the rows under it, whether the write
// made them (a proposal and its member) or they came into sight with it (a plan's actions and
// their notes, when the plan is published).
both!(
    parents_come_before_the_rows_under_them,
    |app: TestApp| async move {
        let f = Fixture::new(&app.db);
        let gjol = f.community("gjoel", "Gjøl").await;
        let draft = f.plan(gjol, "Gjøl 2031", PlanStatus::Draft, 2031, 2035).await;
        let mut actions = Vec::new();
        for i in 0..5 {
            let mut m = f.action_model(draft, &format!("Handling {i}"));
            m.seeking_partners = sea_orm::Set(true);
            let a = f.insert_action(m).await;
            f.update(
                a,
                &format!("Nyt om handling {i}"),
                lup_tests::fixture::date(2026, 3, 1),
            )
            .await;
            actions.push(a);
        }
        let partner_org = f
            .organization(
                "fjordens-fond",
                "Fjordens Fond",
                entity::organization::OrganizationKind::Foundation,
                None,
            )
            .await;
        lup_api::changes::catch_up(&app.db).await.expect("catch up");
        let staff = app.signed_in(As::Staff, &[], None).await;
        let (_, start) = read_all(&staff, None, None).await;

        let (_, before) = read_all(&app, None, None).await;
        set_status(&staff, &global_id("Plan", draft), "ADOPTED").await;
        let (seen, _) = read_all(&app, Some(before), None).await;
        let first = |ty: &str| {
            seen.iter()
                .position(|s| s.ty == ty)
                .unwrap_or_else(|| panic!("{ty}: {seen:?}"))
        };
        let last = |ty: &str| seen.iter().rposition(|s| s.ty == ty).unwrap();
        assert!(last("PLAN") < first("ACTION"), "{seen:?}");
        assert!(last("ACTION") < first("ACTION_UPDATE"), "{seen:?}");

        let partner = app.signed_in(As::Partner, &[], Some(partner_org)).await;
        for a in &actions {
            let body = partner
                .data(
                    "mutation($i: ExpressInterestInput!) { expressInterest(input: $i) { userErrors { code } } }",
                    json!({ "i": { "actionId": global_id("Action", *a), "message": "Vi vil gerne",
                                   "offer": { "contributionKind": "MONEY", "contribution": "Et tilskud", "amountDkk": 1000 } } }),
                )
                .await;
            assert_eq!(body["expressInterest"]["userErrors"], json!([]), "{body}");
        }
        let (seen, _) = read_all(
            &staff,
            Some(start),
            Some(json!(["PARTNERSHIP", "PARTNERSHIP_MEMBER"])),
        )
        .await;
        let types: Vec<&str> = seen.iter().map(|s| s.ty.as_str()).collect();
        assert_eq!(types, ["PARTNERSHIP", "PARTNERSHIP_MEMBER"].repeat(5), "{seen:?}");
    }
);

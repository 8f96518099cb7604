//! Writing communities, and what every mutation shares: user errors for every bad field,
//! optimistic concurrency (a stale version is a CONFLICT, two racing updates get one
//! winner), all-or-nothing transactions, deletes refused while referenced, the audit log.
use lup_tests::{
    As, TestApp, both,
    fixture::{Fixture, PlanStatus, global_id},
};
use serde_json::{Value, json};

const CREATE: &str = "mutation($i: CreateCommunityInput!) { createCommunity(input: $i) {
    community { id slug name description location { latitude longitude } status version }
    userErrors { field message code } } }";
const UPDATE: &str = "mutation($i: UpdateCommunityInput!) { updateCommunity(input: $i) {
    community { id name location { latitude } version } userErrors { field code } } }";
const DELETE: &str = "mutation($i: DeleteCommunityInput!) { deleteCommunity(input: $i) { deletedId userErrors { field code message } } }";

fn valid() -> Value {
    json!({ "slug": "ny-by", "name": "Ny By", "description": "En landsby ved fjorden.", "latitude": 57.05, "longitude": 9.6 })
}

async fn count(app: &TestApp) -> i64 {
    app.data("{ communities { totalCount } }", json!({})).await["communities"]["totalCount"]
        .as_i64()
        .expect("count")
}

both!(
    staff_create_update_and_delete_a_community,
    |app: TestApp| async move {
        let staff = app.signed_in(As::Staff, &[], None).await;
        let created = staff.data(CREATE, json!({ "i": valid() })).await["createCommunity"].clone();
        assert_eq!(created["userErrors"], json!([]));
        let c = &created["community"];
        assert_eq!(
            (c["slug"].as_str(), c["status"].as_str(), c["version"].as_i64()),
            (Some("ny-by"), Some("ACTIVE"), Some(1))
        );
        let id = c["id"].clone();

        // Visible to the public website at once.
        let public = app
            .data(
                "{ community(slug: \"ny-by\") { name location { latitude } } }",
                json!({}),
            )
            .await;
        assert_eq!(public["community"]["name"], "Ny By");

        let updated = staff
        .data(UPDATE, json!({ "i": { "id": id, "version": 1, "name": "Nyby", "latitude": null, "longitude": null } }))
        .await["updateCommunity"]
        .clone();
        assert_eq!(updated["userErrors"], json!([]));
        assert_eq!(updated["community"]["name"], "Nyby");
        assert!(updated["community"]["location"].is_null());
        assert_eq!(updated["community"]["version"], 2);

        let log = staff
        .data("query($id: ID!) { auditLog(filter: { entityId: $id }) { nodes { operation entityType changes actor { kind } } } }", json!({ "id": id }))
        .await;
        let nodes = &log["auditLog"]["nodes"];
        assert_eq!(nodes[0]["operation"], "UPDATE");
        assert_eq!(
            nodes[0]["changes"]["name"],
            json!({ "before": "Ny By", "after": "Nyby" })
        );
        assert!(
            nodes[0]["changes"].get("slug").is_none(),
            "unchanged fields are not recorded"
        );
        assert_eq!(nodes[1]["operation"], "CREATE");
        assert_eq!(nodes[0]["actor"]["kind"], "ACCOUNT");

        let deleted = staff
            .data(DELETE, json!({ "i": { "id": id, "version": 2 } }))
            .await;
        assert_eq!(deleted["deleteCommunity"]["deletedId"], id);
        assert_eq!(count(&app).await, 0);
    }
);

both!(
    every_bad_field_is_a_user_error_and_changes_nothing,
    |app: TestApp| async move {
        let staff = app.signed_in(As::Staff, &[], None).await;
        let cases: &[(&str, Value, &str)] = &[
            ("slug", json!("Ny By"), "INVALID"),
            ("slug", json!("-ny"), "INVALID"),
            ("name", json!("   "), "REQUIRED"),
            ("name", json!("x".repeat(201)), "TOO_LONG"),
            ("description", json!("x".repeat(20_001)), "TOO_LONG"),
            ("latitude", json!(91.0), "OUT_OF_RANGE"),
            ("longitude", json!(-180.5), "OUT_OF_RANGE"),
        ];
        for (field, value, code) in cases {
            let mut input = valid();
            input[*field] = value.clone();
            let body = staff.data(CREATE, json!({ "i": input })).await["createCommunity"].clone();
            assert!(body["community"].is_null(), "{field}: {body}");
            assert_eq!(body["userErrors"][0]["field"], json!([field]), "{field}: {body}");
            assert_eq!(body["userErrors"][0]["code"], *code, "{field}: {body}");
        }
        // Half a location.
        let mut input = valid();
        input["longitude"] = Value::Null;
        let body = staff.data(CREATE, json!({ "i": input })).await;
        assert_eq!(
            body["createCommunity"]["userErrors"][0]["field"],
            json!(["longitude"])
        );
        // A wrong type or a missing field is refused by GraphQL itself.
        let mut input = valid();
        input["latitude"] = json!("nord");
        assert_eq!(
            staff.error(CREATE, json!({ "i": input })).await.0,
            "BAD_USER_INPUT"
        );
        assert_eq!(count(&app).await, 0, "nothing was created");

        staff.data(CREATE, json!({ "i": valid() })).await;
        let mut again = valid();
        again["name"] = json!("Endnu en");
        let body = staff.data(CREATE, json!({ "i": again })).await;
        assert_eq!(body["createCommunity"]["userErrors"][0]["code"], "TAKEN");
        assert_eq!(count(&app).await, 1);

        // Updates: a bad ID, an unknown community.
        let body = staff
            .data(UPDATE, json!({ "i": { "id": "ikke-et-id", "version": 1 } }))
            .await;
        assert_eq!(
            body["updateCommunity"]["userErrors"],
            json!([{ "field": ["id"], "code": "INVALID" }])
        );
    }
);

both!(
    a_stale_version_is_a_conflict_and_racing_updates_get_one_winner,
    |app: TestApp| async move {
        let staff = app.signed_in(As::Staff, &[], None).await;
        let id =
            staff.data(CREATE, json!({ "i": valid() })).await["createCommunity"]["community"]["id"].clone();
        let update = |name: &str| json!({ "i": { "id": id, "version": 1, "name": name } });

        let (a, b) = tokio::join!(
            staff.post(UPDATE, update("Vestby")),
            staff.post(UPDATE, update("Østby"))
        );
        let outcomes: Vec<&Value> = [&a, &b].into_iter().collect();
        let won: Vec<_> = outcomes
            .iter()
            .filter(|r| r["data"]["updateCommunity"]["community"].is_object())
            .collect();
        let lost: Vec<_> = outcomes
            .iter()
            .filter(|r| r["errors"][0]["extensions"]["code"] == "CONFLICT")
            .collect();
        assert_eq!((won.len(), lost.len()), (1, 1), "{a}\n{b}");
        let winner = won[0]["data"]["updateCommunity"]["community"]["name"].clone();
        let now = app
            .data("{ community(slug: \"ny-by\") { name } }", json!({}))
            .await;
        assert_eq!(now["community"]["name"], winner, "the loser changed nothing");

        // Later, with the old version again: still a conflict.
        let (code, message) = staff.error(UPDATE, update("Nordby")).await;
        assert_eq!(code, "CONFLICT");
        assert_eq!(
            message,
            "the community is not at version 1; reload it and try again with its current version"
        );
        // A version it never had (ahead of its 2) is a conflict too, and said as truly.
        let (code, message) = staff
            .error(
                UPDATE,
                json!({ "i": { "id": id, "version": 54, "name": "Nordby" } }),
            )
            .await;
        assert_eq!(code, "CONFLICT");
        assert_eq!(
            message,
            "the community is not at version 54; reload it and try again with its current version"
        );
        let (code, message) = staff
            .error(DELETE, json!({ "i": { "id": id, "version": 1 } }))
            .await;
        assert_eq!(code, "CONFLICT");
        assert_eq!(
            message, "the community is not at version 1; reload it and try again with its current version",
            "a delete names the type as an update does"
        );
        assert_eq!(count(&app).await, 1);

        let unknown = global_id("Community", uuid::Uuid::now_v7());
        assert_eq!(
            staff
                .error(UPDATE, json!({ "i": { "id": unknown, "version": 1 } }))
                .await
                .0,
            "NOT_FOUND"
        );
    }
);

both!(
    a_community_still_referenced_is_not_deleted,
    |app: TestApp| async move {
        let fx = Fixture::new(&app.db);
        let gjol = fx.community("gjoel", "Gjøl").await;
        fx.plan(gjol, "Gjøl 2030", PlanStatus::Adopted, 2025, 2030).await;
        fx.contact("Lokal kontakt", false, Some(gjol)).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let body = staff
            .data(
                DELETE,
                json!({ "i": { "id": global_id("Community", gjol), "version": 1 } }),
            )
            .await;
        let error = &body["deleteCommunity"]["userErrors"][0];
        assert_eq!(error["code"], "IN_USE");
        assert!(
            error["message"].as_str().is_some_and(|m| m.contains("plans (1)")),
            "{error}"
        );
        assert_eq!(count(&app).await, 1);
        // At a stale version, the answer is that version's CONFLICT, not what refers to it.
        let (code, message) = staff
            .error(
                DELETE,
                json!({ "i": { "id": global_id("Community", gjol), "version": 7 } }),
            )
            .await;
        assert_eq!(code, "CONFLICT", "{message}");
        assert_eq!(count(&app).await, 1);
    }
);

both!(only_staff_write_communities, |app: TestApp| async move {
    let fx = Fixture::new(&app.db);
    let gjol = fx.community("gjoel", "Gjøl").await;
    let org = fx
        .organization(
            "fonden",
            "Fonden",
            lup_tests::fixture::OrganizationKind::Foundation,
            None,
        )
        .await;
    for (role, code) in [
        (As::Anonymous, "UNAUTHENTICATED"),
        (As::Partner, "FORBIDDEN"),
        (As::CommunityEditor, "FORBIDDEN"),
    ] {
        let caller = app.signed_in(role, &[gjol], Some(org)).await;
        assert_eq!(
            caller.error(CREATE, json!({ "i": valid() })).await.0,
            code,
            "{role:?}"
        );
        let update = json!({ "i": { "id": global_id("Community", gjol), "version": 1, "name": "X" } });
        assert_eq!(caller.error(UPDATE, update).await.0, code, "{role:?}");
    }
    assert_eq!(count(&app).await, 1);
});

both!(
    a_mutation_that_fails_halfway_leaves_nothing_behind,
    |app: TestApp| async move {
        // The account row is written before its communities; the second community does not
        // exist, so the whole mutation is undone, the account and its audit record included.
        let fx = Fixture::new(&app.db);
        let gjol = fx.community("gjoel", "Gjøl").await;
        let admin = app.signed_in(As::Admin, &[], None).await;
        let input = json!({ "i": {
        "email": "ny@jammerbugt.dk", "displayName": "Ny Redaktør", "password": "en-lang-nok-adgangskode",
        "role": "COMMUNITY_EDITOR",
        "communityIds": [global_id("Community", gjol), global_id("Community", gjol), global_id("Community", uuid::Uuid::now_v7())],
    } });
        let body = admin
        .data("mutation($i: CreateAccountInput!) { createAccount(input: $i) { account { id } userErrors { field code } } }", input)
        .await;
        assert!(body["createAccount"]["account"].is_null());
        assert_eq!(
            body["createAccount"]["userErrors"],
            // Its place in the list as sent, the repeated ID before it counted.
            json!([{ "field": ["communityIds", "2"], "code": "NOT_FOUND" }])
        );
        let accounts = admin.data("{ accounts { nodes { email } } }", json!({})).await;
        assert!(
            !accounts.to_string().contains("ny@jammerbugt.dk"),
            "the half-made account was rolled back: {accounts}"
        );
        let log = admin
            .data(
                "{ auditLog(filter: { entityType: \"Account\", operation: \"CREATE\" }) { totalCount } }",
                json!({}),
            )
            .await;
        assert_eq!(log["auditLog"]["totalCount"], 0);
    }
);

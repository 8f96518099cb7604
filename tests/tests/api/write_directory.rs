//! Writing the directory around the plans: contact people (staff, and editors for their own
//! communities), organisations, departments and themes (staff). Every bad field is a user
//! error that changes nothing, a stale version is a CONFLICT, rows still referenced are not
//! deleted, and a deleted organisation or department takes its contacts with it.
use entity::{action_theme, contact, department, idea_theme, organization, plan_theme, theme};
use lup_tests::{
    As, TestApp, both,
    fixture::{
        DepartmentRole, Fixture, MemberRole, OrganizationKind, PartnershipStatus, Party, PlanStatus, date,
        global_id,
    },
};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

const CREATE_CONTACT: &str = "mutation($i: CreateContactInput!) { createContact(input: $i) {
    contact { id name title email phone isPublic version community { slug } organization { slug }
              department { slug } }
    userErrors { field code message } } }";
const UPDATE_CONTACT: &str = "mutation($i: UpdateContactInput!) { updateContact(input: $i) {
    contact { id name title email phone isPublic version community { slug } department { slug } }
    userErrors { field code message } } }";
const DELETE_CONTACT: &str = "mutation($i: DeleteContactInput!) { deleteContact(input: $i) {
    deletedId userErrors { field code message } } }";
const CONTACT: &str =
    "query($id: ID!) { node(id: $id) { ... on Contact { name title email phone isPublic version } } }";

const CREATE_ORG: &str = "mutation($i: CreateOrganizationInput!) { createOrganization(input: $i) {
    organization { id slug name kind description website version community { slug } }
    userErrors { field code message } } }";
const UPDATE_ORG: &str = "mutation($i: UpdateOrganizationInput!) { updateOrganization(input: $i) {
    organization { id slug name kind website version community { slug } }
    userErrors { field code message } } }";
const DELETE_ORG: &str = "mutation($i: DeleteOrganizationInput!) { deleteOrganization(input: $i) {
    deletedId userErrors { field code message } } }";

const CREATE_DEPT: &str = "mutation($i: CreateDepartmentInput!) { createDepartment(input: $i) {
    department { id slug name description version } userErrors { field code message } } }";
const UPDATE_DEPT: &str = "mutation($i: UpdateDepartmentInput!) { updateDepartment(input: $i) {
    department { id slug name description version } userErrors { field code message } } }";
const DELETE_DEPT: &str = "mutation($i: DeleteDepartmentInput!) { deleteDepartment(input: $i) {
    deletedId userErrors { field code message } } }";

const CREATE_THEME: &str = "mutation($i: CreateThemeInput!) { createTheme(input: $i) {
    theme { id slug name description version } userErrors { field code message } } }";
const UPDATE_THEME: &str = "mutation($i: UpdateThemeInput!) { updateTheme(input: $i) {
    theme { id slug name description version } userErrors { field code message } } }";
const DELETE_THEME: &str = "mutation($i: DeleteThemeInput!) { deleteTheme(input: $i) {
    deletedId userErrors { field code message } } }";

const AUDIT: &str =
    "query($id: ID!) { auditLog(filter: { entityId: $id }) { nodes { operation entityType changes } } }";

async fn rows<E: EntityTrait>(app: &TestApp) -> u64
where
    E::Model: Sync,
{
    E::find().count(&app.db).await.expect("count rows")
}

/// Asserts a payload was refused with exactly one user error, and nothing came back.
fn refused(payload: &Value, object: &str, field: &[&str], code: &str) {
    assert!(payload[object].is_null(), "{object} should be null: {payload:#}");
    let errors = payload["userErrors"].as_array().expect("userErrors");
    assert_eq!(errors.len(), 1, "one user error expected: {payload:#}");
    assert_eq!(errors[0]["field"], json!(field), "{payload:#}");
    assert_eq!(errors[0]["code"], code, "{payload:#}");
}

/// Asserts GraphQL itself refuses the input (a wrong type or enum value): an error naming
/// the problem, never an internal one.
async fn schema_refuses(app: &TestApp, query: &str, variables: Value) {
    let (code, message) = app.error(query, variables).await;
    assert_ne!(code, "INTERNAL");
    assert!(
        message.contains("Invalid value") || message.contains("Failed to parse"),
        "{message}"
    );
}

fn ok<'a>(payload: &'a Value, object: &str) -> &'a Value {
    assert_eq!(payload["userErrors"], json!([]), "{payload:#}");
    &payload[object]
}

// --- Contacts -----------------------------------------------------------------------------

fn contact_input(department: Uuid) -> Value {
    json!({
        "name": "Lene Vestergaard", "title": "Landdistriktskonsulent",
        "email": "Lene.Vestergaard@Kommune.dk", "phone": "+45 12 34 56 01", "isPublic": true,
        "departmentId": global_id("Department", department),
    })
}

both!(
    staff_create_update_and_delete_a_contact,
    |app: TestApp| async move {
        let fx = Fixture::new(&app.db);
        let dept = fx.department("kultur", "Kultur og Fritid").await;
        let gjol = fx.community("gjoel", "Gjøl").await;
        let staff = app.signed_in(As::Staff, &[], None).await;

        let body = staff
            .data(CREATE_CONTACT, json!({ "i": contact_input(dept) }))
            .await;
        let c = ok(&body["createContact"], "contact").clone();
        assert_eq!(
            c["email"], "lene.vestergaard@kommune.dk",
            "emails are kept in lowercase"
        );
        assert_eq!(c["department"]["slug"], "kultur");
        assert_eq!(
            (c["isPublic"].as_bool(), c["version"].as_i64()),
            (Some(true), Some(1))
        );
        let id = c["id"].clone();

        // Public, so even the website sees it under its department.
        let public = app
            .data("{ departments { nodes { contacts { name phone } } } }", json!({}))
            .await;
        assert_eq!(
            public["departments"]["nodes"][0]["contacts"][0]["name"],
            "Lene Vestergaard"
        );

        // Clear the title, change the phone, make it private and move it to a community.
        let body = staff
            .data(
                UPDATE_CONTACT,
                json!({ "i": { "id": id, "version": 1, "title": null, "phone": "98 76 54 32",
                            "isPublic": false, "communityId": global_id("Community", gjol) } }),
            )
            .await;
        let c = ok(&body["updateContact"], "contact");
        assert!(c["title"].is_null());
        assert_eq!(
            (c["phone"].as_str(), c["version"].as_i64()),
            (Some("98 76 54 32"), Some(2))
        );
        assert_eq!(c["community"]["slug"], "gjoel");
        assert!(c["department"].is_null(), "a contact has one parent");
        assert!(
            app.data(CONTACT, json!({ "id": id })).await["node"].is_null(),
            "a private contact is hidden from the public"
        );
        assert_eq!(
            staff.data(CONTACT, json!({ "id": id })).await["node"]["phone"],
            "98 76 54 32"
        );

        let log = staff.data(AUDIT, json!({ "id": id })).await;
        let nodes = &log["auditLog"]["nodes"];
        assert_eq!(
            (nodes[0]["operation"].as_str(), nodes[0]["entityType"].as_str()),
            (Some("UPDATE"), Some("Contact"))
        );
        assert_eq!(
            nodes[0]["changes"]["title"],
            json!({ "before": "Landdistriktskonsulent", "after": null })
        );
        assert_eq!(
            nodes[0]["changes"]["phone"],
            json!({ "before": "[personoplysning]", "after": "[personoplysning]" }),
            "the log tells that the phone changed, not what it is"
        );
        assert_eq!(nodes[1]["operation"], "CREATE");

        let body = staff
            .data(DELETE_CONTACT, json!({ "i": { "id": id, "version": 2 } }))
            .await;
        assert_eq!(body["deleteContact"]["deletedId"], id);
        assert_eq!(rows::<contact::Entity>(&app).await, 0);

        // The audit log keeps what happened, not the person's email or phone: not in the
        // creation, the change or the deletion, which outlive the contact.
        let log = staff.data(AUDIT, json!({ "id": id })).await;
        let nodes = log["auditLog"]["nodes"].as_array().unwrap().clone();
        assert_eq!(nodes.len(), 3, "{log}");
        let text = serde_json::to_string(&nodes).unwrap();
        for personal in ["lene.vestergaard", "98 76 54 32"] {
            assert!(!text.contains(personal), "{personal} in {text}");
        }
        assert_eq!(nodes[0]["operation"], "DELETE");
        assert_eq!(
            nodes[0]["changes"]["email"]["before"], "[personoplysning]",
            "{log}"
        );
        assert_eq!(nodes[0]["changes"]["name"]["before"], "Lene Vestergaard", "{log}");
    }
);

both!(
    every_bad_contact_field_is_a_user_error_and_changes_nothing,
    |app: TestApp| async move {
        let fx = Fixture::new(&app.db);
        let dept = fx.department("kultur", "Kultur og Fritid").await;
        let gjol = fx.community("gjoel", "Gjøl").await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let unknown = Uuid::now_v7();
        let cases: &[(&str, Value, &str, &str)] = &[
            ("name", json!("  "), "name", "REQUIRED"),
            ("name", json!("x".repeat(201)), "name", "TOO_LONG"),
            ("title", json!("x".repeat(201)), "title", "TOO_LONG"),
            ("email", json!("lene-ved-kommunen"), "email", "INVALID"),
            // Mail cannot reach these: no top-level domain, an address literal, a display name.
            ("email", json!("lene@kommune"), "email", "INVALID"),
            ("email", json!("lene@[127.0.0.1]"), "email", "INVALID"),
            ("email", json!("Lene <lene@kommune.dk>"), "email", "INVALID"),
            ("phone", json!("12-34-56-78"), "phone", "INVALID"),
            (
                "phone",
                json!("+45 1234 5678 9012 3456 7890 1234"),
                "phone",
                "TOO_LONG",
            ),
            ("departmentId", json!("ikke-et-id"), "departmentId", "INVALID"),
            (
                "departmentId",
                json!(global_id("Community", gjol)),
                "departmentId",
                "INVALID",
            ),
            (
                "departmentId",
                json!(global_id("Department", unknown)),
                "departmentId",
                "NOT_FOUND",
            ),
            ("departmentId", Value::Null, "communityId", "REQUIRED"),
            ("organizationId", json!("ikke-et-id"), "organizationId", "INVALID"),
        ];
        for (key, value, field, code) in cases {
            let mut input = contact_input(dept);
            input[*key] = value.clone();
            let body = staff.data(CREATE_CONTACT, json!({ "i": input })).await;
            refused(&body["createContact"], "contact", &[field], code);
        }
        // Two parents: the second is refused.
        let mut input = contact_input(dept);
        input["communityId"] = json!(global_id("Community", gjol));
        let body = staff.data(CREATE_CONTACT, json!({ "i": input })).await;
        refused(&body["createContact"], "contact", &["departmentId"], "INVALID");
        input = contact_input(dept);
        input["isPublic"] = json!("ja");
        schema_refuses(&staff, CREATE_CONTACT, json!({ "i": input })).await;
        assert_eq!(rows::<contact::Entity>(&app).await, 0, "nothing was created");

        let id = fx.contact("Mette Sørensen", false, Some(gjol)).await;
        let gid = global_id("Contact", id);
        let before = staff.data(CONTACT, json!({ "id": gid })).await;
        for (key, value, field, code) in [
            ("id", json!("ikke-et-id"), "id", "INVALID"),
            ("name", json!(""), "name", "REQUIRED"),
            ("title", json!("x".repeat(201)), "title", "TOO_LONG"),
            ("email", json!("mette@"), "email", "INVALID"),
            ("phone", json!("ring efter kl. 16"), "phone", "INVALID"),
            (
                "departmentId",
                json!(global_id("Department", unknown)),
                "departmentId",
                "NOT_FOUND",
            ),
            ("communityId", json!("x"), "communityId", "INVALID"),
            (
                "organizationId",
                json!(global_id("Theme", unknown)),
                "organizationId",
                "INVALID",
            ),
        ] {
            let mut input = json!({ "id": gid, "version": 1 });
            input[key] = value;
            let body = staff.data(UPDATE_CONTACT, json!({ "i": input })).await;
            refused(&body["updateContact"], "contact", &[field], code);
        }
        assert_eq!(
            staff.data(CONTACT, json!({ "id": gid })).await,
            before,
            "nothing changed"
        );

        // A stale version.
        staff
            .data(
                UPDATE_CONTACT,
                json!({ "i": { "id": gid, "version": 1, "name": "Mette S." } }),
            )
            .await;
        let after = staff.data(CONTACT, json!({ "id": gid })).await;
        let (code, _) = staff
            .error(
                UPDATE_CONTACT,
                json!({ "i": { "id": gid, "version": 1, "name": "Anden" } }),
            )
            .await;
        assert_eq!(code, "CONFLICT");
        let (code, _) = staff
            .error(DELETE_CONTACT, json!({ "i": { "id": gid, "version": 1 } }))
            .await;
        assert_eq!(code, "CONFLICT");
        assert_eq!(
            staff.data(CONTACT, json!({ "id": gid })).await,
            after,
            "nothing changed"
        );
        let (code, _) = staff
            .error(
                DELETE_CONTACT,
                json!({ "i": { "id": global_id("Contact", unknown), "version": 1 } }),
            )
            .await;
        assert_eq!(code, "NOT_FOUND");
    }
);

both!(
    editors_manage_the_contacts_of_their_own_communities,
    |app: TestApp| async move {
        let fx = Fixture::new(&app.db);
        let gjol = fx.community("gjoel", "Gjøl").await;
        let birkelse = fx.community("birkelse", "Birkelse").await;
        let dept = fx.department("kultur", "Kultur og Fritid").await;
        let forening = fx
            .organization(
                "gjoel-borgerforening",
                "Gjøl Borgerforening",
                OrganizationKind::Association,
                Some(gjol),
            )
            .await;
        let theirs = global_id(
            "Contact",
            fx.contact("Birkelse-kontakt", false, Some(birkelse)).await,
        );
        let departments = global_id(
            "Contact",
            fx.contact_of("Afdelingens", true, Party::Department(dept)).await,
        );
        let editor = app.signed_in(As::CommunityEditor, &[gjol], None).await;

        let mine = json!({ "name": "Hanne Gjøl", "email": "hanne@gjoel.dk", "communityId": global_id("Community", gjol) });
        let body = editor.data(CREATE_CONTACT, json!({ "i": mine })).await;
        let c = ok(&body["createContact"], "contact").clone();
        assert_eq!(
            (c["name"].as_str(), c["isPublic"].as_bool()),
            (Some("Hanne Gjøl"), Some(false))
        );
        let id = c["id"].clone();
        let body = editor
            .data(
                UPDATE_CONTACT,
                json!({ "i": { "id": id, "version": 1, "phone": "12345678" } }),
            )
            .await;
        assert_eq!(ok(&body["updateContact"], "contact")["phone"], "12345678");

        // Other communities, organisations and departments are not theirs.
        for parent in [
            json!({ "communityId": global_id("Community", birkelse) }),
            json!({ "organizationId": global_id("Organization", forening) }),
            json!({ "departmentId": global_id("Department", dept) }),
        ] {
            let mut input = json!({ "name": "Fremmed" });
            input
                .as_object_mut()
                .expect("object")
                .extend(parent.as_object().expect("object").clone());
            assert_eq!(
                editor
                    .error(CREATE_CONTACT, json!({ "i": input.clone() }))
                    .await
                    .0,
                "FORBIDDEN",
                "{input}"
            );
            // Nor may they move their own contact there.
            let mut moved = parent.clone();
            moved["id"] = id.clone();
            moved["version"] = json!(2);
            assert_eq!(
                editor.error(UPDATE_CONTACT, json!({ "i": moved })).await.0,
                "FORBIDDEN"
            );
        }
        // Another community's private contact is hidden from them: NOT_FOUND, as if it did
        // not exist; a public one they may see but not change.
        for (other, code) in [(&theirs, "NOT_FOUND"), (&departments, "FORBIDDEN")] {
            let update = json!({ "i": { "id": other, "version": 1, "name": "Overtaget" } });
            assert_eq!(editor.error(UPDATE_CONTACT, update).await.0, code);
            let delete = json!({ "i": { "id": other, "version": 1 } });
            assert_eq!(editor.error(DELETE_CONTACT, delete).await.0, code);
        }
        assert_eq!(rows::<contact::Entity>(&app).await, 3);

        for (role, code) in [(As::Anonymous, "UNAUTHENTICATED"), (As::Partner, "FORBIDDEN")] {
            let caller = app.signed_in(role, &[], Some(forening)).await;
            assert_eq!(caller.error(CREATE_CONTACT, json!({ "i": mine })).await.0, code);
            let delete = json!({ "i": { "id": id, "version": 2 } });
            assert_eq!(caller.error(DELETE_CONTACT, delete).await.0, code);
        }

        let body = editor
            .data(DELETE_CONTACT, json!({ "i": { "id": id, "version": 2 } }))
            .await;
        assert_eq!(body["deleteContact"]["deletedId"], id);
        assert_eq!(rows::<contact::Entity>(&app).await, 2);
    }
);

// --- Organisations ------------------------------------------------------------------------

fn org_input() -> Value {
    json!({ "slug": "gjoel-baadelaug", "name": "Gjøl Bådelaug", "kind": "ASSOCIATION",
            "description": "Bådelauget ved havnen.", "website": "https://www.gjoel-baadelaug.dk" })
}

async fn org_count(app: &TestApp) -> i64 {
    app.data("{ organizations { totalCount } }", json!({})).await["organizations"]["totalCount"]
        .as_i64()
        .expect("count")
}

both!(
    staff_create_update_and_delete_an_organization,
    |app: TestApp| async move {
        let fx = Fixture::new(&app.db);
        let gjol = fx.community("gjoel", "Gjøl").await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let mut input = org_input();
        input["communityId"] = json!(global_id("Community", gjol));
        let body = staff.data(CREATE_ORG, json!({ "i": input })).await;
        let o = ok(&body["createOrganization"], "organization").clone();
        assert_eq!(o["community"]["slug"], "gjoel");
        assert_eq!(
            (o["kind"].as_str(), o["version"].as_i64()),
            (Some("ASSOCIATION"), Some(1))
        );
        let id = o["id"].clone();

        let public = app
            .data(
                "{ community(slug: \"gjoel\") { organizations { nodes { name website } } } }",
                json!({}),
            )
            .await;
        assert_eq!(
            public["community"]["organizations"]["nodes"][0],
            json!({ "name": "Gjøl Bådelaug", "website": "https://www.gjoel-baadelaug.dk" })
        );

        let body = staff
            .data(
                UPDATE_ORG,
                json!({ "i": { "id": id, "version": 1, "kind": "VOLUNTEER_GROUP", "website": null,
                            "communityId": null, "slug": "baadelauget" } }),
            )
            .await;
        let o = ok(&body["updateOrganization"], "organization");
        assert_eq!(
            (o["kind"].as_str(), o["slug"].as_str()),
            (Some("VOLUNTEER_GROUP"), Some("baadelauget"))
        );
        assert!(o["website"].is_null() && o["community"].is_null(), "{o}");
        assert_eq!(o["version"], 2);

        let log = staff.data(AUDIT, json!({ "id": id })).await;
        let changes = &log["auditLog"]["nodes"][0]["changes"];
        assert_eq!(
            changes["kind"],
            json!({ "before": "ASSOCIATION", "after": "VOLUNTEER_GROUP" })
        );
        assert_eq!(changes["website"]["after"], Value::Null);

        let body = staff
            .data(DELETE_ORG, json!({ "i": { "id": id, "version": 2 } }))
            .await;
        assert_eq!(body["deleteOrganization"]["deletedId"], id);
        assert_eq!(org_count(&app).await, 0);
    }
);

both!(
    every_bad_organization_field_is_a_user_error_and_changes_nothing,
    |app: TestApp| async move {
        let fx = Fixture::new(&app.db);
        let gjol = fx.community("gjoel", "Gjøl").await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let unknown = Uuid::now_v7();
        let long_url = format!("https://www.eksempel.dk/{}", "a".repeat(480));
        let cases: &[(&str, Value, &str)] = &[
            ("slug", json!("Gjøl Bådelaug"), "INVALID"),
            ("name", json!(""), "REQUIRED"),
            // Only invisible characters: nothing to read.
            ("name", json!("\u{200B}\u{00AD} \u{FEFF}"), "REQUIRED"),
            // Only marks, with no letter to sit on.
            ("name", json!("\u{301}\u{30A}"), "REQUIRED"),
            ("name", json!("x".repeat(201)), "TOO_LONG"),
            ("description", json!("x".repeat(20_001)), "TOO_LONG"),
            ("website", json!("www.gjoel.dk"), "INVALID"),
            ("website", json!("javascript:alert(1)"), "INVALID"),
            ("website", json!(long_url), "TOO_LONG"),
            ("communityId", json!("ikke-et-id"), "INVALID"),
            ("communityId", json!(global_id("Community", unknown)), "NOT_FOUND"),
        ];
        for (field, value, code) in cases {
            let mut input = org_input();
            input[*field] = value.clone();
            let body = staff.data(CREATE_ORG, json!({ "i": input })).await;
            refused(&body["createOrganization"], "organization", &[field], code);
        }
        let mut input = org_input();
        input["kind"] = json!("KLUB");
        schema_refuses(&staff, CREATE_ORG, json!({ "i": input })).await;
        assert_eq!(org_count(&app).await, 0, "nothing was created");

        // The slug is taken by another organisation.
        let other = fx
            .organization("gjoel-baadelaug", "Et andet laug", OrganizationKind::Other, None)
            .await;
        let body = staff.data(CREATE_ORG, json!({ "i": org_input() })).await;
        refused(&body["createOrganization"], "organization", &["slug"], "TAKEN");
        assert_eq!(org_count(&app).await, 1);

        let id = global_id(
            "Organization",
            fx.organization("fonden", "Fonden", OrganizationKind::Foundation, Some(gjol))
                .await,
        );
        for (field, value, code) in [
            ("id", json!(global_id("Community", gjol)), "INVALID"),
            ("slug", json!("gjoel-baadelaug"), "TAKEN"),
            ("slug", json!("x"), "INVALID"),
            ("name", json!(" "), "REQUIRED"),
            ("description", json!("x".repeat(20_001)), "TOO_LONG"),
            ("website", json!("ftp://fonden.dk"), "INVALID"),
            ("communityId", json!(global_id("Community", unknown)), "NOT_FOUND"),
        ] {
            let mut input = json!({ "id": id, "version": 1 });
            input[field] = value;
            let body = staff.data(UPDATE_ORG, json!({ "i": input })).await;
            refused(&body["updateOrganization"], "organization", &[field], code);
        }
        // Its own slug is not taken by itself.
        let body = staff
            .data(
                UPDATE_ORG,
                json!({ "i": { "id": id, "version": 1, "slug": "fonden", "description": "Ændret" } }),
            )
            .await;
        assert_eq!(ok(&body["updateOrganization"], "organization")["version"], 2);
        let (code, _) = staff
            .error(
                UPDATE_ORG,
                json!({ "i": { "id": id, "version": 1, "name": "Ny" } }),
            )
            .await;
        assert_eq!(code, "CONFLICT");
        let (code, _) = staff
            .error(DELETE_ORG, json!({ "i": { "id": id, "version": 1 } }))
            .await;
        assert_eq!(code, "CONFLICT");
        let row = organization::Entity::find_by_id(other)
            .one(&app.db)
            .await
            .expect("query");
        assert_eq!(row.map(|o| o.name), Some("Et andet laug".into()));
        let names = app
            .data("{ organizations { nodes { name version } } }", json!({}))
            .await;
        assert_eq!(
            names["organizations"]["nodes"],
            json!([{ "name": "Et andet laug", "version": 1 }, { "name": "Fonden", "version": 2 }])
        );
    }
);

both!(
    an_organization_in_use_is_not_deleted_and_its_contacts_go_with_it,
    |app: TestApp| async move {
        let fx = Fixture::new(&app.db);
        let gjol = fx.community("gjoel", "Gjøl").await;
        let staff = app.signed_in(As::Staff, &[], None).await;

        // A community's local association with its contacts: they go with it.
        let forening = fx
            .organization(
                "gjoel-borgerforening",
                "Gjøl Borgerforening",
                OrganizationKind::Association,
                Some(gjol),
            )
            .await;
        fx.contact_of("Formanden", true, Party::Organization(forening))
            .await;
        fx.contact_of("Kassereren", false, Party::Organization(forening))
            .await;
        let kept = fx.contact("Gjøls kontakt", true, Some(gjol)).await;
        let body = staff
            .data(
                DELETE_ORG,
                json!({ "i": { "id": global_id("Organization", forening), "version": 1 } }),
            )
            .await;
        assert_eq!(body["deleteOrganization"]["userErrors"], json!([]));
        let left: Vec<Uuid> = contact::Entity::find()
            .all(&app.db)
            .await
            .expect("contacts")
            .iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(
            left,
            vec![kept],
            "the organisation's contacts went with it, the community's stayed"
        );

        // Each kind of reference keeps an organisation.
        let plan = fx.plan(gjol, "Gjøl 2030", PlanStatus::Adopted, 2025, 2030).await;
        let action = fx.action(plan, "Havnebad").await;
        let p = fx
            .partnership(Some(action), None, "Havnebadet", PartnershipStatus::Active)
            .await;
        let event = fx.event(gjol, Some(plan), "Borgermøde", date(2025, 3, 1)).await;
        let idea = fx.idea(Some(gjol), "Fællesspisning").await;
        for what in [
            "plan involvement",
            "actions it leads",
            "partnership memberships",
            "partnerships it proposed",
            "ideas",
            "API keys",
            "engagement events",
        ] {
            let org = fx
                .organization(
                    &format!("org-{}", Uuid::now_v7().simple()),
                    what,
                    OrganizationKind::Business,
                    None,
                )
                .await;
            match what {
                "plan involvement" => {
                    fx.involvement(plan, org).await;
                }
                "actions it leads" => {
                    let mut m = fx.action_model(plan, "Ledet handling");
                    m.lead_organization_id = sea_orm::Set(Some(org));
                    fx.insert_action(m).await;
                }
                "partnership memberships" => {
                    fx.member(p, Party::Organization(org), MemberRole::Supporter)
                        .await;
                }
                "partnerships it proposed" => {
                    let proposal = fx
                        .partnership(Some(action), None, "Forslag", PartnershipStatus::Proposed)
                        .await;
                    fx.set("partnership", proposal, "proposed_by_organization_id", org)
                        .await;
                }
                "ideas" => fx.set("idea", idea, "organization_id", org).await,
                "API keys" => {
                    app.create_api_key(org).await;
                }
                _ => fx.event_organization(event, org).await,
            }
            let body = staff
                .data(
                    DELETE_ORG,
                    json!({ "i": { "id": global_id("Organization", org), "version": 1 } }),
                )
                .await;
            refused(&body["deleteOrganization"], "deletedId", &["id"], "IN_USE");
            let message = body["deleteOrganization"]["userErrors"][0]["message"]
                .as_str()
                .unwrap_or_default();
            assert!(
                message.contains(what.split(' ').next().unwrap_or_default()),
                "{what}: {message}"
            );
            assert!(
                organization::Entity::find_by_id(org)
                    .one(&app.db)
                    .await
                    .expect("query")
                    .is_some(),
                "{what}"
            );
        }

        // Revoked keys do not keep it: they go with it (the message said to remove them, and
        // nothing could).
        let org = fx
            .organization(
                "tidligere-partner",
                "Tidligere partner",
                OrganizationKind::Business,
                None,
            )
            .await;
        app.create_api_key(org).await;
        let key = entity::api_key::Entity::find()
            .filter(entity::api_key::Column::OrganizationId.eq(org))
            .one(&app.db)
            .await
            .expect("query")
            .expect("the key");
        fx.set("api_key", key.id, "revoked_at", chrono::Utc::now()).await;
        let body = staff
            .data(
                DELETE_ORG,
                json!({ "i": { "id": global_id("Organization", org), "version": 1 } }),
            )
            .await;
        assert_eq!(body["deleteOrganization"]["userErrors"], json!([]), "{body}");
        assert!(
            entity::api_key::Entity::find_by_id(key.id)
                .one(&app.db)
                .await
                .expect("query")
                .is_none()
        );
    }
);

both!(
    only_staff_write_organizations_departments_and_themes,
    |app: TestApp| async move {
        let fx = Fixture::new(&app.db);
        let gjol = fx.community("gjoel", "Gjøl").await;
        let org = fx
            .organization("fonden", "Fonden", OrganizationKind::Foundation, Some(gjol))
            .await;
        let dept = fx.department("kultur", "Kultur og Fritid").await;
        let natur = fx.theme("natur", "Natur").await;
        let simple = json!({ "slug": "ny", "name": "Ny" });
        for (role, code) in [
            (As::Anonymous, "UNAUTHENTICATED"),
            (As::Partner, "FORBIDDEN"),
            (As::CommunityEditor, "FORBIDDEN"),
        ] {
            let caller = app.signed_in(role, &[gjol], Some(org)).await;
            for (create, update, delete, type_name, id) in [
                (CREATE_ORG, UPDATE_ORG, DELETE_ORG, "Organization", org),
                (CREATE_DEPT, UPDATE_DEPT, DELETE_DEPT, "Department", dept),
                (CREATE_THEME, UPDATE_THEME, DELETE_THEME, "Theme", natur),
            ] {
                let input = if type_name == "Organization" {
                    org_input()
                } else {
                    simple.clone()
                };
                assert_eq!(
                    caller.error(create, json!({ "i": input })).await.0,
                    code,
                    "{role:?} {type_name}"
                );
                let gid = global_id(type_name, id);
                let update_input = json!({ "i": { "id": gid, "version": 1, "name": "X" } });
                assert_eq!(
                    caller.error(update, update_input).await.0,
                    code,
                    "{role:?} {type_name}"
                );
                let delete_input = json!({ "i": { "id": gid, "version": 1 } });
                assert_eq!(
                    caller.error(delete, delete_input).await.0,
                    code,
                    "{role:?} {type_name}"
                );
            }
        }
        assert_eq!(
            (
                rows::<organization::Entity>(&app).await,
                rows::<department::Entity>(&app).await,
                rows::<theme::Entity>(&app).await
            ),
            (1, 1, 1)
        );
        let names = app
            .data(
                "{ themes { nodes { name version } } departments { nodes { name version } } }",
                json!({}),
            )
            .await;
        assert_eq!(
            names["themes"]["nodes"],
            json!([{ "name": "Natur", "version": 1 }])
        );
        assert_eq!(
            names["departments"]["nodes"],
            json!([{ "name": "Kultur og Fritid", "version": 1 }])
        );
    }
);

// --- Departments and themes ---------------------------------------------------------------

both!(
    staff_create_update_and_delete_departments_and_themes,
    |app: TestApp| async move {
        let staff = app.signed_in(As::Staff, &[], None).await;
        for (create, update, delete, object, list) in [
            (CREATE_DEPT, UPDATE_DEPT, DELETE_DEPT, "department", "departments"),
            (CREATE_THEME, UPDATE_THEME, DELETE_THEME, "theme", "themes"),
        ] {
            let cap = format!("{}{}", object[..1].to_uppercase(), &object[1..]);
            let input =
                json!({ "slug": "natur-og-miljoe", "name": "Natur og Miljø", "description": "Om naturen." });
            let body = staff.data(create, json!({ "i": input })).await;
            let row = ok(&body[format!("create{cap}")], object).clone();
            assert_eq!(
                (row["slug"].as_str(), row["version"].as_i64()),
                (Some("natur-og-miljoe"), Some(1))
            );
            let id = row["id"].clone();
            let query = format!("{{ {list} {{ nodes {{ name description }} }} }}");
            assert_eq!(
                app.data(&query, json!({})).await[list]["nodes"][0]["name"],
                "Natur og Miljø"
            );

            let body = staff
                .data(
                    update,
                    json!({ "i": { "id": id, "version": 1, "name": "Natur", "description": "" } }),
                )
                .await;
            let row = ok(&body[format!("update{cap}")], object);
            assert_eq!(
                (
                    row["name"].as_str(),
                    row["description"].as_str(),
                    row["version"].as_i64()
                ),
                (Some("Natur"), Some(""), Some(2))
            );

            let log = staff.data(AUDIT, json!({ "id": id })).await;
            let nodes = &log["auditLog"]["nodes"];
            assert_eq!(nodes[0]["entityType"], cap.as_str());
            assert_eq!(
                nodes[0]["changes"]["name"],
                json!({ "before": "Natur og Miljø", "after": "Natur" })
            );

            let (code, _) = staff
                .error(delete, json!({ "i": { "id": id, "version": 1 } }))
                .await;
            assert_eq!(code, "CONFLICT", "a stale version");
            let body = staff
                .data(delete, json!({ "i": { "id": id, "version": 2 } }))
                .await;
            assert_eq!(body[format!("delete{cap}")]["deletedId"], id);
            let log = staff.data(AUDIT, json!({ "id": id })).await;
            assert_eq!(log["auditLog"]["nodes"][0]["operation"], "DELETE");
        }
        assert_eq!(
            (
                rows::<department::Entity>(&app).await,
                rows::<theme::Entity>(&app).await
            ),
            (0, 0)
        );
    }
);

both!(
    every_bad_department_and_theme_field_is_a_user_error,
    |app: TestApp| async move {
        let fx = Fixture::new(&app.db);
        let dept = fx.department("kultur", "Kultur og Fritid").await;
        let natur = fx.theme("natur", "Natur").await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        for (create, update, object, taken, id) in [
            (
                CREATE_DEPT,
                UPDATE_DEPT,
                "department",
                "kultur",
                global_id("Department", dept),
            ),
            (
                CREATE_THEME,
                UPDATE_THEME,
                "theme",
                "natur",
                global_id("Theme", natur),
            ),
        ] {
            let cap = format!("{}{}", object[..1].to_uppercase(), &object[1..]);
            for (field, value, code) in [
                ("slug", json!("Natur og Miljø"), "INVALID"),
                ("slug", json!("natur--miljoe"), "INVALID"),
                ("slug", json!(taken), "TAKEN"),
                ("name", json!("   "), "REQUIRED"),
                ("name", json!("x".repeat(201)), "TOO_LONG"),
                ("description", json!("x".repeat(20_001)), "TOO_LONG"),
            ] {
                let mut input = json!({ "slug": "ny-slug", "name": "Nyt navn" });
                input[field] = value.clone();
                let body = staff.data(create, json!({ "i": input })).await;
                refused(&body[format!("create{cap}")], object, &[field], code);
                // The same on an update (its own slug is not "taken").
                let mut input = json!({ "id": id, "version": 1, "description": "Ændret" });
                input[field] = value;
                let body = staff.data(update, json!({ "i": input })).await;
                if code == "TAKEN" {
                    assert_eq!(ok(&body[format!("update{cap}")], object)["version"], 2);
                } else {
                    refused(&body[format!("update{cap}")], object, &[field], code);
                }
            }
            let body = staff
                .data(update, json!({ "i": { "id": "ikke-et-id", "version": 2 } }))
                .await;
            refused(&body[format!("update{cap}")], object, &["id"], "INVALID");
            let (code, _) = staff
                .error(
                    update,
                    json!({ "i": { "id": id, "version": 1, "name": "Gammel" } }),
                )
                .await;
            assert_eq!(code, "CONFLICT");
        }
        let names = app
            .data(
                "{ themes { nodes { name slug version } } departments { nodes { name slug version } } }",
                json!({}),
            )
            .await;
        assert_eq!(
            names["themes"]["nodes"],
            json!([{ "name": "Natur", "slug": "natur", "version": 2 }])
        );
        assert_eq!(
            names["departments"]["nodes"],
            json!([{ "name": "Kultur og Fritid", "slug": "kultur", "version": 2 }])
        );
    }
);

both!(a_theme_in_use_is_not_deleted, |app: TestApp| async move {
    let fx = Fixture::new(&app.db);
    let gjol = fx.community("gjoel", "Gjøl").await;
    let plan = fx.plan(gjol, "Gjøl 2030", PlanStatus::Adopted, 2025, 2030).await;
    let action = fx.action(plan, "Havnebad").await;
    let idea = fx.idea(Some(gjol), "Fællesspisning").await;
    let staff = app.signed_in(As::Staff, &[], None).await;
    for (what, n) in [("plans", 0), ("actions", 1), ("ideas", 2)] {
        let theme = fx.theme(&format!("tema-{n}"), what).await;
        match n {
            0 => fx.tag_plan(plan, theme).await,
            1 => fx.tag_action(action, theme).await,
            _ => fx.tag_idea(idea, theme).await,
        }
        let body = staff
            .data(
                DELETE_THEME,
                json!({ "i": { "id": global_id("Theme", theme), "version": 1 } }),
            )
            .await;
        refused(&body["deleteTheme"], "deletedId", &["id"], "IN_USE");
        let message = body["deleteTheme"]["userErrors"][0]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(message.contains(&format!("{what} (1)")), "{message}");
    }
    assert_eq!(rows::<theme::Entity>(&app).await, 3, "no theme was deleted");
    assert_eq!(
        (
            rows::<plan_theme::Entity>(&app).await,
            rows::<action_theme::Entity>(&app).await,
            rows::<idea_theme::Entity>(&app).await
        ),
        (1, 1, 1),
        "the tags are intact"
    );
    let tagged = app
        .data(
            "{ themes { nodes { name plans { totalCount } actions { totalCount } ideas { totalCount } } } }",
            json!({}),
        )
        .await;
    assert_eq!(tagged["themes"]["nodes"][0]["actions"]["totalCount"], 1);
});

both!(
    a_department_in_use_is_not_deleted_and_its_contacts_go_with_it,
    |app: TestApp| async move {
        let fx = Fixture::new(&app.db);
        let gjol = fx.community("gjoel", "Gjøl").await;
        let plan = fx.plan(gjol, "Gjøl 2030", PlanStatus::Adopted, 2025, 2030).await;
        let action = fx.action(plan, "Havnebad").await;
        let staff = app.signed_in(As::Staff, &[], None).await;

        let teknik = fx.department("teknik", "Teknik og Miljø").await;
        fx.action_department(action, teknik, DepartmentRole::Lead).await;
        let kultur = fx.department("kultur", "Kultur og Fritid").await;
        let p = fx
            .partnership(Some(action), None, "Havnebadet", PartnershipStatus::Active)
            .await;
        fx.member(p, Party::Department(kultur), MemberRole::Advisor).await;
        for (dept, what) in [
            (teknik, "action contributions (1)"),
            (kultur, "partnership memberships (1)"),
        ] {
            let body = staff
                .data(
                    DELETE_DEPT,
                    json!({ "i": { "id": global_id("Department", dept), "version": 1 } }),
                )
                .await;
            refused(&body["deleteDepartment"], "deletedId", &["id"], "IN_USE");
            let message = body["deleteDepartment"]["userErrors"][0]["message"]
                .as_str()
                .unwrap_or_default();
            assert!(message.contains(what), "{message}");
        }
        assert_eq!(rows::<department::Entity>(&app).await, 2);

        let borger = fx.department("borgerservice", "Borgerservice").await;
        fx.contact_of("Skranken", true, Party::Department(borger)).await;
        fx.contact_of("Kultur-kontakt", true, Party::Department(kultur))
            .await;
        let body = staff
            .data(
                DELETE_DEPT,
                json!({ "i": { "id": global_id("Department", borger), "version": 1 } }),
            )
            .await;
        assert_eq!(
            body["deleteDepartment"]["deletedId"],
            global_id("Department", borger)
        );
        let left: Vec<String> = contact::Entity::find()
            .filter(contact::Column::DepartmentId.is_not_null())
            .all(&app.db)
            .await
            .expect("contacts")
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(left, vec!["Kultur-kontakt".to_owned()]);
    }
);

//! An update leaves out what it does not change, and `null` clears a value only where the
//! value may be empty (a due date, a lead organisation, a place). Everywhere else `null` is a
//! user error on that field (`REQUIRED`), not ignored: a client that sends `title: null` learns
//! that the title was not cleared. The test walks every `update…(input:)` mutation of the
//! schema as the admin sees it and sends `null` for each optional field of its input, one at a
//! time; a field that may be cleared must not be refused for it.
use std::collections::BTreeMap;

use lup_tests::{
    As, TestApp, both,
    fixture::{Fixture, OrganizationKind},
};
use serde_json::{Value, json};

/// The fields of update inputs that `null` clears. (A contact's parent IDs may be null beside
/// the one a move names; alone, `null` is refused.)
const CLEARABLE: &[&str] = &[
    "UpdateActionInput.potential",
    "UpdateActionInput.startOn",
    "UpdateActionInput.dueOn",
    "UpdateActionInput.budgetEstimate",
    "UpdateActionInput.leadOrganizationId",
    "UpdateActionInput.partnerNeeds",
    "UpdateActionInput.latitude",
    "UpdateActionInput.longitude",
    "UpdateActionUpdateInput.progress",
    "UpdateAnnualReviewInput.wantedLongTermShare",
    "UpdateCommunityInput.latitude",
    "UpdateCommunityInput.longitude",
    "UpdateContactInput.title",
    "UpdateContactInput.email",
    "UpdateContactInput.phone",
    "UpdateEngagementEventInput.planId",
    "UpdateIdeaInput.communityId",
    "UpdateIdeaInput.organizationId",
    "UpdateIdeaExchangeInput.ideaId",
    "UpdateIdeaExchangeInput.occurredOn",
    "UpdateOrganizationInput.website",
    "UpdateOrganizationInput.communityId",
    "UpdatePartnershipInput.startsOn",
    "UpdatePartnershipInput.endsOn",
    "UpdatePartnershipMemberInput.amountDkk",
    "UpdatePartnershipMemberInput.volunteerHours",
];

fn clearable(input: &str, field: &str) -> bool {
    CLEARABLE.contains(&format!("{input}.{field}").as_str())
}

const INTROSPECTION: &str = r#"query {
  __schema {
    mutationType { fields { name args { name type { ...T } } } }
    types { name kind inputFields { name defaultValue type { ...T } } enumValues { name } }
  }
}
fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }"#;

/// A literal of `ty` that parses (its meaning does not matter: `null` is refused before
/// anything is looked up).
fn literal(types: &BTreeMap<String, Value>, ty: &Value) -> String {
    match ty["kind"].as_str() {
        Some("NON_NULL") => literal(types, &ty["ofType"]),
        Some("LIST") => "[]".into(),
        Some("ENUM") => types[ty["name"].as_str().expect("enum")]["enumValues"][0]["name"]
            .as_str()
            .expect("value")
            .to_owned(),
        _ => match ty["name"].as_str() {
            Some("Int") => "1".into(),
            Some("Float") => "1.0".into(),
            Some("Boolean") => "false".into(),
            Some("Date") => "\"2026-01-01\"".into(),
            _ => "\"x\"".into(),
        },
    }
}

both!(
    null_is_refused_where_a_value_cannot_be_cleared,
    |app: TestApp| async move {
        let org = Fixture::new(&app.db)
            .organization("fonden", "Fonden", OrganizationKind::Foundation, None)
            .await;
        let callers = [
            app.signed_in(As::Admin, &[], None).await,
            app.signed_in(As::Staff, &[], None).await,
            app.signed_in(As::Partner, &[], Some(org)).await,
        ];
        let schema = callers[0].data(INTROSPECTION, json!({})).await["__schema"].clone();
        let types: BTreeMap<String, Value> = schema["types"]
            .as_array()
            .expect("types")
            .iter()
            .map(|t| (t["name"].as_str().expect("name").to_owned(), t.clone()))
            .collect();
        let mut tried = 0;
        let mut refused = Vec::new();
        let mut cleared = Vec::new();
        for mutation in schema["mutationType"]["fields"].as_array().expect("mutations") {
            let name = mutation["name"].as_str().expect("name");
            let Some(arg) = mutation["args"]
                .as_array()
                .and_then(|a| a.iter().find(|a| a["name"] == "input"))
            else {
                continue;
            };
            let mut ty = &arg["type"];
            while ty["ofType"].is_object() {
                ty = &ty["ofType"];
            }
            let input = ty["name"].as_str().expect("input");
            if !name.starts_with("update") {
                continue;
            }
            let fields = types[input]["inputFields"].as_array().expect("fields");
            for field in fields {
                let fname = field["name"].as_str().expect("field");
                if field["type"]["kind"] == "NON_NULL" {
                    continue;
                }
                let mut given: Vec<String> = fields
                    .iter()
                    .filter(|f| f["type"]["kind"] == "NON_NULL" && f["defaultValue"].is_null())
                    .map(|f| format!("{}: {}", f["name"].as_str().unwrap(), literal(&types, &f["type"])))
                    .collect();
                given.push(format!("{fname}: null"));
                let query = format!(
                    "mutation {{ {name}(input: {{ {} }}) {{ userErrors {{ field code message }} }} }}",
                    given.join(", ")
                );
                // The first caller the mutation admits.
                let mut answer = Value::Null;
                for caller in &callers {
                    let (status, body) = caller.post_status(&query, json!({})).await;
                    assert!(status < 500, "{query}: {status} {body}");
                    answer = body;
                    if answer["errors"][0]["extensions"]["code"] != "FORBIDDEN" {
                        break;
                    }
                }
                assert!(answer["errors"].is_null(), "{query}: {answer}");
                let errors = answer["data"][name]["userErrors"]
                    .as_array()
                    .expect("userErrors")
                    .clone();
                let on_field = errors
                    .iter()
                    .find(|e| e["field"] == json!([fname]) && e["code"] == "REQUIRED");
                tried += 1;
                if clearable(input, fname) {
                    assert!(on_field.is_none(), "{input}.{fname} may be cleared: {answer}");
                    cleared.push(format!("{input}.{fname}"));
                } else if on_field.is_none() {
                    refused.push(format!("{input}.{fname}: {errors:?}"));
                }
            }
        }
        assert!(tried > 60, "only {tried} fields tried");
        // The list names fields that exist.
        for c in CLEARABLE {
            assert!(
                cleared.iter().any(|d| d == c),
                "{c} is not a field of an update input"
            );
        }
        assert!(
            refused.is_empty(),
            "null was not refused for:\n{}",
            refused.join("\n")
        );
    }
);

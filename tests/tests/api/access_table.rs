//! The access table walk. `tests/access-table.txt` declares, for every field of every object
//! type (queries and mutations included), which roles may use it. This test holds the
//! server to it, as every role:
//! - the table names every field of the schema and nothing else, so a new field without a
//!   decided rule fails here;
//! - introspection shows a field to exactly the roles the table allows;
//! - fields of types that are neither a root nor a `Node` (connections, payloads, `Viewer`,
//!   `Account`…) may say `via`: reached only through a field checked here, they follow it;
//! - every query and mutation, and every field of every `Node` type (reached through `node`
//!   on a row everyone may see, or for the types that are not content, a row of the roles
//!   they are for), is run: a role the table forbids gets the guard's UNAUTHENTICATED or
//!   FORBIDDEN, or, for a type its introspection does not show, a null `node`; a role it
//!   allows gets neither. Hidden fields are run too, since hiding is not the protection.
//!   Fields of the other types (connections, payloads, `Viewer`…) are reached only through
//!   the fields checked here.
use std::collections::{BTreeMap, BTreeSet};

use lup_api::auth::{GUARD_FORBIDDEN, GUARD_UNAUTHENTICATED};
use lup_tests::{As, TestApp, both, fixture::global_id};
use serde_json::{Value, json};

const INTROSPECTION: &str = r#"query {
  __schema {
    queryType { name } mutationType { name }
    types {
      name kind
      fields(includeDeprecated: true) { name args { name defaultValue type { ...T } } type { ...T } }
      inputFields { name defaultValue type { ...T } }
      enumValues(includeDeprecated: true) { name }
      possibleTypes { name }
    }
  }
}
fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } }"#;

/// `Type.field` → the roles allowed.
fn table() -> BTreeMap<String, BTreeSet<&'static str>> {
    let text = include_str!("../../access-table.txt");
    let mut out = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let mut words = line.split_whitespace();
        let field = words.next().expect("field").to_owned();
        let mut roles = BTreeSet::new();
        for w in words {
            match w {
                "via" => {
                    roles.insert("via");
                }
                "public" => roles.extend(As::ALL.iter().map(|r| r.name())),
                "accounts" => roles.extend(["editor", "staff", "admin"]),
                "staff+" => roles.extend(["staff", "admin"]),
                other => {
                    let role = As::ALL.iter().find(|r| r.name() == other);
                    roles.insert(
                        role.unwrap_or_else(|| panic!("line {}: unknown role `{other}`", n + 1))
                            .name(),
                    );
                }
            }
        }
        assert!(!roles.is_empty(), "line {}: `{field}` names no role", n + 1);
        assert!(
            out.insert(field.clone(), roles).is_none(),
            "line {}: `{field}` twice",
            n + 1
        );
    }
    out
}

struct Schema {
    types: BTreeMap<String, Value>,
    query: String,
    mutation: String,
}

impl Schema {
    async fn of(app: &TestApp) -> Schema {
        let data = app.data(INTROSPECTION, json!({})).await;
        let s = &data["__schema"];
        let types = s["types"]
            .as_array()
            .expect("types")
            .iter()
            .map(|t| (t["name"].as_str().expect("name").to_owned(), t.clone()))
            .collect();
        Schema {
            types,
            query: s["queryType"]["name"].as_str().expect("query").to_owned(),
            mutation: s["mutationType"]["name"]
                .as_str()
                .unwrap_or("Mutation")
                .to_owned(),
        }
    }

    /// `Type.field` for every field of every object type (not the introspection's own).
    fn fields(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for (name, t) in &self.types {
            if t["kind"] != "OBJECT" || name.starts_with("__") {
                continue;
            }
            for f in t["fields"].as_array().into_iter().flatten() {
                out.insert(format!("{name}.{}", f["name"].as_str().expect("field")));
            }
        }
        out
    }

    fn field(&self, type_name: &str, field: &str) -> &Value {
        self.types[type_name]["fields"]
            .as_array()
            .and_then(|fs| fs.iter().find(|f| f["name"] == field))
            .unwrap_or_else(|| panic!("{type_name}.{field}"))
    }

    /// A literal of `ty` that parses: the walk tests who may call a field, not its input.
    fn literal(&self, ty: &Value) -> String {
        match ty["kind"].as_str() {
            Some("NON_NULL") => self.literal(&ty["ofType"]),
            Some("LIST") => "[]".into(),
            Some("ENUM") => self.types[ty["name"].as_str().expect("enum")]["enumValues"][0]["name"]
                .as_str()
                .expect("value")
                .to_owned(),
            Some("INPUT_OBJECT") => {
                let t = &self.types[ty["name"].as_str().expect("input")];
                let fields: Vec<String> = t["inputFields"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|f| f["type"]["kind"] == "NON_NULL" && f["defaultValue"].is_null())
                    .map(|f| {
                        format!(
                            "{}: {}",
                            f["name"].as_str().expect("name"),
                            self.literal(&f["type"])
                        )
                    })
                    .collect();
                format!("{{{}}}", fields.join(", "))
            }
            _ => match ty["name"].as_str() {
                Some("Int") => "1".into(),
                Some("Float") => "1.0".into(),
                Some("Boolean") => "false".into(),
                Some("Date") => "\"2026-01-01\"".into(),
                Some("DateTime") => "\"2026-01-01T00:00:00Z\"".into(),
                Some("JSON") => "{}".into(),
                _ => "\"x\"".into(),
            },
        }
    }

    /// `field(requiredArg: …) { __typename }` as needed by its arguments and type.
    fn selection(&self, type_name: &str, field: &str) -> String {
        let f = self.field(type_name, field);
        let args: Vec<String> = f["args"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a["type"]["kind"] == "NON_NULL" && a["defaultValue"].is_null())
            .map(|a| {
                format!(
                    "{}: {}",
                    a["name"].as_str().expect("arg"),
                    self.literal(&a["type"])
                )
            })
            .collect();
        let mut named = &f["type"];
        while named["ofType"].is_object() {
            named = &named["ofType"];
        }
        let sub = match named["kind"].as_str() {
            Some("OBJECT" | "INTERFACE" | "UNION") => " { __typename }",
            _ => "",
        };
        let args = if args.is_empty() {
            String::new()
        } else {
            format!("({})", args.join(", "))
        };
        format!("{field}{args}{sub}")
    }
}

/// Whether the guard refused the field.
fn refused(body: &Value) -> bool {
    body["errors"].as_array().into_iter().flatten().any(|e| {
        let message = e["message"].as_str().unwrap_or_default();
        message == GUARD_FORBIDDEN || message == GUARD_UNAUTHENTICATED
    })
}

/// One row of each `Node` type that is not content (accounts, API keys, the audit log,
/// webhooks), visible to the roles its list is for: an endpoint of the partner's organisation
/// with one delivery, the newest API key and audit log entry. (An account is each caller's
/// own: see `own_account`.)
async fn restricted_samples(
    app: &TestApp,
    admin: &TestApp,
    organization: uuid::Uuid,
) -> BTreeMap<String, String> {
    let (endpoint, delivery) = lup_tests::fixture::Fixture::new(&app.db)
        .webhook(organization)
        .await;
    let d = admin
        .data(
            "{ apiKeys(first: 1) { nodes { id } } auditLog(first: 1) { nodes { id } } }",
            json!({}),
        )
        .await;
    let id = |v: &Value| v.as_str().unwrap_or_else(|| panic!("a sample: {d}")).to_owned();
    BTreeMap::from([
        ("ApiKey".to_owned(), id(&d["apiKeys"]["nodes"][0]["id"])),
        ("AuditLogEntry".to_owned(), id(&d["auditLog"]["nodes"][0]["id"])),
        (
            "WebhookEndpoint".to_owned(),
            global_id("WebhookEndpoint", endpoint),
        ),
        (
            "WebhookDelivery".to_owned(),
            global_id("WebhookDelivery", delivery),
        ),
    ])
}

/// The caller's own account, if it has one.
async fn own_account(caller: &TestApp) -> Option<String> {
    let d = caller.data("{ viewer { account { id } } }", json!({})).await;
    d["viewer"]["account"]["id"].as_str().map(str::to_owned)
}

/// One row of each `Node` type that every role may see, by walking the public API.
async fn samples(app: &TestApp) -> BTreeMap<String, String> {
    let q = r#"{
      plans(first: 1, filter: { statuses: [ADOPTED] }) { nodes { id community { id }
        involvement { id organization { id } }
        actions(first: 20) { nodes { id updates(first: 1) { nodes { id } } departments { id department { id } } } } } }
      partnerships(first: 1) { nodes { id members { id } } }
      ideas(first: 1) { nodes { id } }
      ideaExchanges(first: 1) { nodes { id } }
      themes(first: 1) { nodes { id } }
      engagementEvents(first: 1) { nodes { id } }
      departments(first: 20) { nodes { contacts { id } } }
      annualReviews(first: 1) { nodes { id entries(first: 1) { nodes { id } } } }
      inConsultation: plans(first: 1, filter: { statuses: [CONSULTATION] }) { nodes {
        consultationResponses(first: 1, statuses: [PUBLISHED]) { nodes { id } } } }
    }"#;
    let d = app.data(q, json!({})).await;
    let plan = &d["plans"]["nodes"][0];
    let actions = plan["actions"]["nodes"].as_array().expect("actions");
    let mut out = BTreeMap::new();
    let mut put = |t: &str, v: &Value| {
        if let Some(id) = v.as_str() {
            out.entry(t.to_owned()).or_insert_with(|| id.to_owned());
        }
    };
    put("Plan", &plan["id"]);
    put("Community", &plan["community"]["id"]);
    put("PlanInvolvement", &plan["involvement"][0]["id"]);
    put("Organization", &plan["involvement"][0]["organization"]["id"]);
    for a in actions {
        put("Action", &a["id"]);
        put("ActionUpdate", &a["updates"]["nodes"][0]["id"]);
        put("ActionDepartment", &a["departments"][0]["id"]);
        put("Department", &a["departments"][0]["department"]["id"]);
    }
    put("Partnership", &d["partnerships"]["nodes"][0]["id"]);
    put(
        "PartnershipMember",
        &d["partnerships"]["nodes"][0]["members"][0]["id"],
    );
    put("Idea", &d["ideas"]["nodes"][0]["id"]);
    put("IdeaExchange", &d["ideaExchanges"]["nodes"][0]["id"]);
    put("Theme", &d["themes"]["nodes"][0]["id"]);
    put("EngagementEvent", &d["engagementEvents"]["nodes"][0]["id"]);
    put("AnnualReview", &d["annualReviews"]["nodes"][0]["id"]);
    put(
        "AnnualReviewEntry",
        &d["annualReviews"]["nodes"][0]["entries"]["nodes"][0]["id"],
    );
    // A published response to a plan in consultation: public.
    put(
        "ConsultationResponse",
        &d["inConsultation"]["nodes"][0]["consultationResponses"]["nodes"][0]["id"],
    );
    for dep in d["departments"]["nodes"].as_array().into_iter().flatten() {
        put("Contact", &dep["contacts"][0]["id"]);
    }
    out
}

both!(
    every_field_follows_the_access_table_for_every_role,
    |app: TestApp| async move {
        let all_communities = app.demo_communities().await;
        let table = table();
        let org = {
            use sea_orm::EntityTrait;
            entity::organization::Entity::find()
                .one(&app.db)
                .await
                .expect("org")
                .expect("an organisation")
                .id
        };
        let mut callers = Vec::new();
        for role in As::ALL {
            // The editor edits every community, so that row-level rules never stand in for the
            // field-level ones this table is about.
            callers.push((role, app.signed_in(role, &all_communities, Some(org)).await));
        }

        let full = Schema::of(&callers[4].1).await;
        // The admin sees every field but the partners' own; together the roles see them all.
        let mut fields = BTreeSet::new();
        let mut seen = BTreeMap::new();
        for (role, caller) in &callers {
            let schema = Schema::of(caller).await;
            fields.extend(schema.fields());
            seen.insert(role.name(), schema);
        }
        let declared: BTreeSet<String> = table.keys().cloned().collect();
        let undecided: Vec<_> = fields.difference(&declared).collect();
        let stale: Vec<_> = declared.difference(&fields).collect();
        assert!(
            undecided.is_empty(),
            "fields without a rule in tests/access-table.txt: {undecided:#?}"
        );
        assert!(
            stale.is_empty(),
            "rules in tests/access-table.txt for fields that do not exist: {stale:#?}"
        );

        // The demo holds a published annual review of last year, so the review's Node types
        // have rows everyone may see.
        let mut samples = samples(&app).await;
        samples.extend(restricted_samples(&app, &callers[4].1, org).await);
        let mut own_accounts = BTreeMap::new();
        for (role, caller) in &callers {
            own_accounts.insert(role.name(), own_account(caller).await);
        }
        let node_types: Vec<String> = full.types["Node"]["possibleTypes"]
            .as_array()
            .expect("Node types")
            .iter()
            .map(|t| t["name"].as_str().expect("name").to_owned())
            .collect();
        for t in &node_types {
            assert!(
                samples.contains_key(t) || t == "Account",
                "no sample row of the Node type {t}: extend `samples`"
            );
        }

        let checked = |type_name: &str| {
            type_name == full.query || type_name == full.mutation || node_types.iter().any(|t| t == type_name)
        };
        for (field, roles) in &table {
            let type_name = field.split_once('.').expect("Type.field").0;
            assert!(
                !(roles.contains("via") && checked(type_name)),
                "{field}: fields of roots and Node types need explicit roles, not `via`"
            );
        }
        let mut wrong = Vec::new();
        for (role, caller) in &callers {
            let visible = seen[role.name()].fields();
            for (field, allowed) in &table {
                if allowed.contains("via") {
                    continue;
                }
                let allowed = allowed.contains(role.name());
                if visible.contains(field) != allowed {
                    wrong.push(format!(
                        "{field}: introspection as {} shows it: {}",
                        role.name(),
                        !allowed
                    ));
                }
                let (type_name, name) = field.split_once('.').expect("Type.field");
                // Hidden fields are run too: the guard, not the hiding, must refuse them.
                let Some(knows) = seen.values().find(|s| s.fields().contains(field.as_str())) else {
                    continue;
                };
                let document = if type_name == full.query {
                    format!("query {{ {} }}", knows.selection(type_name, name))
                } else if type_name == full.mutation {
                    format!("mutation {{ {} }}", knows.selection(type_name, name))
                } else if let Some(id) = match type_name {
                    // Each caller's own; none for those without an account (any would do: null).
                    "Account" => Some(
                        own_accounts[role.name()]
                            .clone()
                            .unwrap_or_else(|| global_id("Account", uuid::Uuid::now_v7())),
                    ),
                    _ => samples.get(type_name).cloned(),
                } {
                    format!(
                        "query {{ node(id: \"{id}\") {{ ... on {type_name} {{ {} }} }} }}",
                        knows.selection(type_name, name)
                    )
                } else {
                    continue;
                };
                let body = caller.post(&document, json!({})).await;
                let hidden = type_name != full.query
                    && type_name != full.mutation
                    && body["data"]["node"].is_null()
                    && !refused(&body);
                // A role whose introspection does not show the type is not given its rows.
                let type_hidden = !seen[role.name()].types.contains_key(type_name);
                if hidden && !type_hidden {
                    wrong.push(format!(
                        "{field}: the sample row is not visible to {}: {body}",
                        role.name()
                    ));
                }
                if (refused(&body) || (hidden && type_hidden)) == allowed {
                    wrong.push(format!(
                        "{field}: {} is {}: {body}",
                        role.name(),
                        if allowed { "refused" } else { "let through" }
                    ));
                }
            }
        }
        assert!(
            wrong.is_empty(),
            "{} disagreements with tests/access-table.txt:\n{}",
            wrong.len(),
            wrong.join("\n")
        );
    }
);

//! Values no input may hold are refused at the edge, on both databases: a NUL character
//! (U+0000, which PostgreSQL refuses in text) in any string, and a `DateTime` outside the
//! years 0001–9999 (PostgreSQL refuses years before 4713 BC). The test walks the schema as
//! the admin sees it and sends each bad value into every argument and every input field of
//! type `String`, `ID` or `DateTime` of every query and mutation, one at a time, the other
//! required values filled with real ones (IDs of demo rows), written in the query and, for
//! arguments, as a variable: never HTTP 5xx or `INTERNAL`; a NUL is always `BAD_USER_INPUT`,
//! and so is a time out of range. The one exception is the text of a search
//! (`search(query:)`), which is only split into words: a NUL there is answered, with no error.
use std::collections::BTreeMap;

use lup_tests::{As, TestApp, both};
use serde_json::{Value, json};

const INTROSPECTION: &str = r#"query {
  __schema {
    queryType { name } mutationType { name }
    types {
      name kind
      fields { name args { name defaultValue type { ...T } } type { ...T } }
      inputFields { name defaultValue type { ...T } }
      enumValues { name }
      possibleTypes { name }
    }
  }
}
fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } }"#;

/// A bad value for a leaf of a scalar type: the GraphQL literal and the JSON value.
fn bad_values(scalar: &str) -> Vec<(String, Value)> {
    match scalar {
        "String" | "ID" => vec![("\"gj\\u0000l\"".into(), json!("gj\u{0}l"))],
        "DateTime" => [
            "-9999-12-31T23:59:59Z",
            "+10000-01-01T00:00:00Z",
            "0000-12-31T23:59:59Z",
        ]
        .iter()
        .map(|t| (format!("\"{t}\""), json!(t)))
        .collect(),
        _ => Vec::new(),
    }
}

struct Schema {
    types: BTreeMap<String, Value>,
    /// Demo rows by type, for required IDs.
    samples: BTreeMap<String, String>,
    /// An editor's community slug, for required slugs.
    slug: String,
}

/// The named type under NON_NULL/LIST wrappers.
fn named(ty: &Value) -> &Value {
    let mut t = ty;
    while t["ofType"].is_object() {
        t = &t["ofType"];
    }
    t
}

/// The type as written in a variable definition.
fn written(ty: &Value) -> String {
    match ty["kind"].as_str() {
        Some("NON_NULL") => format!("{}!", written(&ty["ofType"])),
        Some("LIST") => format!("[{}]", written(&ty["ofType"])),
        _ => ty["name"].as_str().expect("name").to_owned(),
    }
}

fn required(f: &Value) -> bool {
    f["type"]["kind"] == "NON_NULL" && f["defaultValue"].is_null()
}

impl Schema {
    /// A real ID for an argument or field called `name` of the field `owner`: the row type
    /// its name says (`planId` → `Plan`, `id` of `updateAction` → `Action`).
    fn id_for(&self, owner: &str, name: &str) -> String {
        let hint = if name == "id" || name == "ids" {
            owner
                .trim_start_matches(|c: char| c.is_ascii_lowercase())
                .to_owned()
        } else {
            let base = name.trim_end_matches("Ids").trim_end_matches("Id");
            let mut c = base.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        };
        self.samples
            .iter()
            .filter(|(t, _)| hint.starts_with(t.as_str()))
            .max_by_key(|(t, _)| t.len())
            .or_else(|| self.samples.iter().next())
            .map(|(_, id)| id.clone())
            .unwrap_or_default()
    }

    /// A literal of `ty` for `name` of `owner` that parses and, where it can, names a real row.
    fn literal(&self, owner: &str, name: &str, ty: &Value) -> String {
        match ty["kind"].as_str() {
            Some("NON_NULL") => self.literal(owner, name, &ty["ofType"]),
            Some("LIST") => format!("[{}]", self.literal(owner, name, &ty["ofType"])),
            Some("ENUM") => self.types[ty["name"].as_str().expect("enum")]["enumValues"][0]["name"]
                .as_str()
                .expect("value")
                .to_owned(),
            Some("INPUT_OBJECT") => self.object(owner, ty["name"].as_str().expect("input"), None),
            _ => match ty["name"].as_str() {
                Some("Int") => "1".into(),
                Some("Float") => "1.0".into(),
                Some("Boolean") => "false".into(),
                Some("Date") => "\"2026-01-01\"".into(),
                Some("DateTime") => "\"2026-01-01T00:00:00Z\"".into(),
                Some("JSON") => "{}".into(),
                Some("ID") => format!("\"{}\"", self.id_for(owner, name)),
                _ if name.contains("slug") || name == "community" => format!("\"{}\"", self.slug),
                _ if name.contains("email") => "\"ny@example.dk\"".into(),
                _ => "\"Tekst\"".into(),
            },
        }
    }

    /// An input object's literal: its required fields, and `path` set to `bad` when given.
    fn object(&self, owner: &str, type_name: &str, bad: Option<(&[String], &str)>) -> String {
        let t = &self.types[type_name];
        let mut fields = Vec::new();
        for f in t["inputFields"].as_array().into_iter().flatten() {
            let name = f["name"].as_str().expect("name");
            let value = match bad {
                Some((path, value)) if path[0] == name => {
                    Some(self.set(owner, &f["type"], &path[1..], value))
                }
                _ if required(f) => Some(self.literal(owner, name, &f["type"])),
                _ => None,
            };
            if let Some(value) = value {
                fields.push(format!("{name}: {value}"));
            }
        }
        format!("{{{}}}", fields.join(", "))
    }

    /// A literal of `ty` with the leaf at `path` (below it) set to `bad`.
    fn set(&self, owner: &str, ty: &Value, path: &[String], bad: &str) -> String {
        let n = named(ty);
        if path.is_empty() {
            return bad.to_owned();
        }
        self.object(owner, n["name"].as_str().expect("input"), Some((path, bad)))
    }

    /// Paths to every leaf of type `String`, `ID` or `DateTime` below `ty` (at most three
    /// input objects deep), with the leaf's scalar.
    fn leaves(&self, ty: &Value, path: Vec<String>, out: &mut Vec<(Vec<String>, String)>) {
        let n = named(ty);
        let name = n["name"].as_str().unwrap_or_default();
        match n["kind"].as_str() {
            Some("SCALAR") if matches!(name, "String" | "ID" | "DateTime") => {
                out.push((path, name.to_owned()))
            }
            Some("INPUT_OBJECT") if path.len() < 4 => {
                for f in self.types[name]["inputFields"].as_array().into_iter().flatten() {
                    let mut below = path.clone();
                    below.push(f["name"].as_str().expect("name").to_owned());
                    self.leaves(&f["type"], below, out);
                }
            }
            _ => {}
        }
    }
}

/// One request with a bad value: what went wrong with it, if anything. `nul`: the value is a
/// NUL character (else a time out of range); `free`: it is the text of a search, where a NUL
/// is welcome.
async fn check(admin: &TestApp, document: &str, variables: Value, nul: bool, free: bool) -> Option<String> {
    let (status, body) = admin.post_status(document, variables.clone()).await;
    let codes: Vec<&str> = body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["extensions"]["code"].as_str())
        .collect();
    if status >= 500 || codes.contains(&"INTERNAL") {
        return Some(format!("{status}: {document} {variables}: {body}"));
    }
    if nul && free {
        return (status != 200 || !codes.is_empty())
            .then(|| format!("a NUL in a search's text was not answered: {document} {variables}: {body}"));
    }
    if !codes.contains(&"BAD_USER_INPUT") {
        let what = if nul {
            "a NUL character"
        } else {
            "a time out of range"
        };
        return Some(format!(
            "{what} was not refused as BAD_USER_INPUT: {document} {variables}: {body}"
        ));
    }
    None
}

both!(
    no_nul_character_or_time_out_of_range_reaches_the_database,
    |app: TestApp| async move {
        let communities = app.demo_communities().await;
        let admin = app.signed_in(As::Admin, &communities, None).await;
        let data = admin.data(INTROSPECTION, json!({})).await;
        let s = &data["__schema"];
        let types: BTreeMap<String, Value> = s["types"]
            .as_array()
            .expect("types")
            .iter()
            .map(|t| (t["name"].as_str().expect("name").to_owned(), t.clone()))
            .collect();
        // Real rows for required IDs: one of each Node type the admin can list.
        let rows = admin
            .data(
                "{ plans(first: 1) { nodes { id community { id slug } actions(first: 1) { nodes { id } } } }
                   partnerships(first: 1) { nodes { id } } ideas(first: 1) { nodes { id } }
                   organizations(first: 1) { nodes { id } } departments(first: 1) { nodes { id } }
                   themes(first: 1) { nodes { id } } }",
                json!({}),
            )
            .await;
        let mut samples = BTreeMap::new();
        let plan = &rows["plans"]["nodes"][0];
        for (t, v) in [
            ("Plan", &plan["id"]),
            ("Community", &plan["community"]["id"]),
            ("Action", &plan["actions"]["nodes"][0]["id"]),
            ("Partnership", &rows["partnerships"]["nodes"][0]["id"]),
            ("Idea", &rows["ideas"]["nodes"][0]["id"]),
            ("Organization", &rows["organizations"]["nodes"][0]["id"]),
            ("Department", &rows["departments"]["nodes"][0]["id"]),
            ("Theme", &rows["themes"]["nodes"][0]["id"]),
        ] {
            if let Some(id) = v.as_str() {
                samples.insert(t.to_owned(), id.to_owned());
            }
        }
        let schema = Schema {
            slug: plan["community"]["slug"].as_str().unwrap_or("gjoel").to_owned(),
            types,
            samples,
        };
        let roots = [
            ("query", s["queryType"]["name"].as_str().expect("query")),
            ("mutation", s["mutationType"]["name"].as_str().expect("mutation")),
        ];
        let mut wrong = Vec::new();
        let mut sent = 0;
        for (keyword, root) in roots {
            for field in schema.types[root]["fields"].as_array().into_iter().flatten() {
                let name = field["name"].as_str().expect("field");
                let sub = match named(&field["type"])["kind"].as_str() {
                    Some("OBJECT" | "INTERFACE" | "UNION") => " { __typename }",
                    _ => "",
                };
                let args = field["args"].as_array().cloned().unwrap_or_default();
                for (i, arg) in args.iter().enumerate() {
                    let arg_name = arg["name"].as_str().expect("arg");
                    let mut leaves = Vec::new();
                    schema.leaves(&arg["type"], Vec::new(), &mut leaves);
                    for (path, scalar) in leaves {
                        for (literal, value) in bad_values(&scalar) {
                            let nul = scalar != "DateTime";
                            let free = name == "search" && arg_name == "query";
                            // The other arguments: required ones with real values.
                            let others: Vec<String> = args
                                .iter()
                                .enumerate()
                                .filter(|(j, a)| *j != i && required(a))
                                .map(|(_, a)| {
                                    let n = a["name"].as_str().expect("arg");
                                    format!("{n}: {}", schema.literal(name, n, &a["type"]))
                                })
                                .collect();
                            let bad = schema.set(name, &arg["type"], &path, &literal);
                            let mut all = others.clone();
                            all.push(format!("{arg_name}: {bad}"));
                            let document = format!("{keyword} {{ {name}({}){sub} }}", all.join(", "));
                            sent += 1;
                            if let Some(w) = check(&admin, &document, json!({}), nul, free).await {
                                wrong.push(w);
                            }
                            // A bad leaf that is the argument itself, sent as a variable.
                            if path.is_empty() {
                                let mut all = others;
                                all.push(format!("{arg_name}: $v"));
                                let document = format!(
                                    "{keyword}($v: {}) {{ {name}({}){sub} }}",
                                    written(&arg["type"]),
                                    all.join(", ")
                                );
                                let list =
                                    arg["type"]["kind"] == "LIST" || arg["type"]["ofType"]["kind"] == "LIST";
                                let value = if list { json!([value]) } else { value };
                                sent += 1;
                                if let Some(w) =
                                    check(&admin, &document, json!({ "v": value }), nul, free).await
                                {
                                    wrong.push(w);
                                }
                            }
                        }
                    }
                }
            }
        }
        assert!(sent > 100, "only {sent} requests: the walk found too few inputs");
        assert!(
            wrong.is_empty(),
            "{} of {sent} requests:\n{}",
            wrong.len(),
            wrong.join("\n")
        );
    }
);

// A time out of range refuses the whole document before anything runs, written in the query
// or sent as a variable, in any of the forms RFC 3339 parsers take: no field of it runs.
both!(
    a_time_out_of_range_refuses_the_document,
    |app: TestApp| async move {
        app.demo_communities().await;
        for time in [
            "0000-01-01T00:00:00Z",
            "+10000-01-01T00:00:00Z",
            "-0001-01-01T00:00:00Z",
            // 31 December of year 0 in UTC.
            "0001-01-01T00:00:00+14:00",
        ] {
            let literal = format!(
                "{{ v: viewer {{ role }} p: plans(first: 1, filter: {{ updatedSince: \"{time}\" }}) {{ totalCount }} }}"
            );
            let variable = "query($t: DateTime) { v: viewer { role } p: plans(first: 1, filter: { updatedSince: $t }) { totalCount } }";
            for (query, variables) in [(literal.as_str(), json!({})), (variable, json!({ "t": time }))] {
                let (_, body) = app.post_status(query, variables).await;
                assert!(body.get("data").is_none(), "{time}: nothing ran: {body}");
                assert_eq!(
                    body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
                    "{time}: {body}"
                );
                // The message says what a DateTime must be.
                assert!(
                    body["errors"][0]["message"]
                        .as_str()
                        .is_some_and(|m| m.contains("0001–9999")),
                    "{time}: {body}"
                );
            }
        }
        // The edges themselves are times.
        for time in ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"] {
            let body = app
                .data(
                    "query($t: DateTime) { plans(first: 1, filter: { updatedSince: $t }) { totalCount } }",
                    json!({ "t": time }),
                )
                .await;
            assert!(body["plans"]["totalCount"].is_number(), "{time}: {body}");
        }
    }
);

//! Prepared documents: a query's text parsed once, with what everything before execution
//! needs to know of it: each operation's type, its cost when that does not depend on the
//! variables ([`crate::bounds`]), and whether it passed async-graphql's full validation. A bounded cache keyed by the text keeps them, so the few shapes the website
//! sends are parsed once per process; trusted documents are prepared at start-up.
//!
//! Validation: the first request of an operation runs on the strict schema (every rule);
//! once that passed, later queries of it run on the fast schema (the rules that only
//! depend on the document are not checked again). Strict validation also checks the
//! variables' values, which the fast schema leaves to execution (where a wrong value is a
//! field error, or an unknown field of an input object is silently dropped), so only
//! operations whose variables are all of the built-in scalar types (`String`, `Int`, `ID`,
//! … and lists of them) run fast, after their values are checked here as strictly as
//! async-graphql's validation would; operations with enum, input object or custom scalar
//! variables always run strict. As a second net, a fast run whose answer has an error of
//! async-graphql's own (one without `extensions.code`) is run again on the strict schema
//! (see [`super::execute`]).
use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
};

use async_graphql::{
    Name, Positioned, ServerError, Value, Variables,
    parser::{
        parse_query,
        types::{
            BaseType, ExecutableDocument, Field, FragmentDefinition, OperationDefinition, OperationType,
            Selection, SelectionSet, Type,
        },
    },
};

use crate::bounds::{self, Cost, OverLimit};

/// The most memory the cache of prepared documents may take, roughly.
const CACHE_BYTES: u64 = 32 * 1024 * 1024;

/// What one document costs in the cache with its text: the parsed tree takes about 10 to
/// 20 times the text (every name, argument and selection is a positioned node of its own,
/// the operations' costs and types beside it), and every entry has a fixed overhead. With
/// [`CACHE_BYTES`], this bounds the count too (at most 16,384 documents).
fn weight(text: &str) -> u32 {
    u32::try_from(2048 + 24 * text.len()).unwrap_or(u32::MAX)
}

/// The heaviest document the cache keeps (a text of about 20 KB): a larger one is parsed
/// each time it comes, so a few large documents cannot push out the many small ones
/// clients repeat.
const MAX_WEIGHT: u32 = (CACHE_BYTES / 64) as u32;

/// Identities of prepared documents, for the keys of the response cache.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// One operation of a prepared document.
pub struct Operation {
    pub name: Option<Name>,
    pub ty: OperationType,
    /// Passed strict validation at least once.
    validated: AtomicBool,
    /// The variables' declared types, and whether they have a default value, when every
    /// one is a built-in scalar type (or a list of one): only then can
    /// [`Operation::may_run_fast`] check their values.
    scalar_variables: Option<Vec<(Name, Type, bool)>>,
    /// The cost, measured once when no argument it depends on names a variable.
    fixed_cost: Option<Result<Cost, OverLimit>>,
    /// A mutation of nothing but signing in and out (`login`, `refreshToken`, `logout`): what an
    /// anonymous caller held to trusted documents may still send as text.
    pub signs_in: bool,
}

impl Operation {
    /// A query that passed strict validation before, with variables whose values strict
    /// validation would accept: it may run on the fast schema.
    pub fn may_run_fast(&self, variables: &Variables) -> bool {
        self.ty == OperationType::Query
            && self.validated.load(Ordering::Relaxed)
            && self.scalar_variables.as_ref().is_some_and(|declared| {
                declared
                    .iter()
                    .all(|(name, ty, default)| match variables.get(name) {
                        Some(value) => fits(ty, value),
                        // Left out: strict validation refuses a required variable without
                        // a default.
                        None => ty.nullable || *default,
                    })
            })
    }

    pub fn mark_validated(&self) {
        self.validated.store(true, Ordering::Relaxed);
    }
}

/// A parsed document.
pub struct Prepared {
    /// Unique in this process: two prepared documents never share one.
    pub id: u64,
    pub document: ExecutableDocument,
    /// Some string value written in the document holds a NUL character.
    holds_nul: bool,
    /// Variables used only as the text of a search, where any character is welcome (it is
    /// only ever split into words, never stored or compared as a whole).
    free_text: Vec<async_graphql::Name>,
    /// Kept by the cache (or a trusted document): later requests of the text share this
    /// document and its `id`. One that is not kept is parsed anew each time, so the response
    /// cache, keyed by `id`, leaves it out.
    kept: AtomicBool,
    /// In the order the document iterates them.
    pub operations: Vec<Operation>,
}

/// A document, or why it does not parse (a request error, the client's to fix).
pub type Parsed = Result<Arc<Prepared>, ServerError>;

impl Prepared {
    pub fn parse(text: &str) -> Parsed {
        let depth = nesting(text);
        if depth > MAX_NESTING {
            return Err(crate::error::request_error(
                format!(
                    "the query nests {depth} levels of braces, brackets and parentheses; the limit is \
                     {MAX_NESTING}"
                ),
                crate::error::Code::QueryTooLarge,
            ));
        }
        let document = parse_query(text)?;
        let operations = document
            .operations
            .iter()
            .map(|(name, op)| Operation {
                name: name.cloned(),
                ty: op.node.ty,
                validated: AtomicBool::new(false),
                scalar_variables: scalar_variables(&op.node),
                fixed_cost: (!bounds::depends_on_variables(&document.fragments, op))
                    .then(|| bounds::measure_operation(&document.fragments, Some(op), &Variables::default())),
                signs_in: op.node.ty == OperationType::Mutation
                    && only_signs_in(&document, &op.node.selection_set.node),
            })
            .collect();
        Ok(Arc::new(Prepared {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            holds_nul: document_holds_nul(&document),
            free_text: free_text_variables(&document),
            kept: AtomicBool::new(true),
            document,
            operations,
        }))
    }

    /// The operation a request names; without a name, the only one. None when there is no
    /// such operation, or no name and several (async-graphql refuses both when it runs: no
    /// cost is measured, nothing is cached and the strict schema says why).
    pub fn operation(&self, name: Option<&str>) -> Option<(usize, &Operation)> {
        match name {
            Some(name) => self
                .operations
                .iter()
                .enumerate()
                .find(|(_, op)| op.name.as_ref().is_some_and(|n| n.as_str() == name)),
            None if self.operations.len() == 1 => self.operations.first().map(|op| (0, op)),
            None => None,
        }
    }

    /// A request error when a string value of the document or of `variables` holds a NUL
    /// character (U+0000): no text stored or looked up may hold one (PostgreSQL refuses it,
    /// SQLite would cut the text there), so it is refused here, for every argument and input
    /// field alike, before anything runs. The one exception is the text of a `search`, which
    /// is only split into words: a NUL there separates words like any other non-letter.
    pub fn refuse_nul(&self, variables: &Variables) -> Result<(), ServerError> {
        let variable = variables
            .iter()
            .find(|(name, v)| !self.free_text.contains(name) && holds_nul(v))
            .map(|(name, _)| name);
        if !self.holds_nul && variable.is_none() {
            return Ok(());
        }
        let place = match variable {
            Some(name) => format!("the variable `${name}`"),
            None => "a string in the query".to_owned(),
        };
        Err(crate::error::request_error(
            format!("{place} holds a NUL character (U+0000), which no text may contain"),
            crate::error::Code::BadUserInput,
        ))
    }

    /// A request error when the operation `name` selects declares a variable of a non-null
    /// type that the request leaves out (and the operation gives no default for) or sets to
    /// null, or a list variable holds null where its item type allows none: as the GraphQL
    /// spec's CoerceVariableValues, the request is refused before anything runs (the values'
    /// forms are validation's to check).
    /// async-graphql only noticed when a field read the variable, after the fields before it
    /// had run (and, in a mutation, written).
    pub fn refuse_missing_variables(
        &self,
        name: Option<&str>,
        variables: &Variables,
    ) -> Result<(), ServerError> {
        let Some((index, _)) = self.operation(name) else {
            return Ok(());
        };
        let Some((_, op)) = self.document.operations.iter().nth(index) else {
            return Ok(());
        };
        for def in &op.node.variable_definitions {
            let def = &def.node;
            let ty = &def.var_type.node;
            let message = match variables.get(&def.name.node) {
                None if !ty.nullable && def.default_value.is_none() => "is required but was not given",
                Some(Value::Null) if !ty.nullable => "must not be null",
                Some(value) if null_inside(ty, value) => "holds a null item where its type allows none",
                _ => continue,
            };
            return Err(crate::error::request_error(
                format!(
                    "the variable `${}` of the non-null type `{}` {message}",
                    def.name.node, def.var_type.node
                ),
                crate::error::Code::BadUserInput,
            ));
        }
        Ok(())
    }

    /// Later requests of the same text share this document (see `kept`).
    pub fn is_kept(&self) -> bool {
        self.kept.load(Ordering::Relaxed)
    }

    /// Every operation is over a bound with any variables: the document is refused each
    /// time, and keeping it would only take room.
    fn refused_whatever_it_asks(&self) -> bool {
        !self.operations.is_empty()
            && self
                .operations
                .iter()
                .all(|op| op.fixed_cost.as_ref().is_some_and(Result::is_err))
    }

    /// The cost of the operation a request names, with its variables, or why it is over a
    /// bound.
    pub fn cost(&self, name: Option<&str>, variables: &Variables) -> Result<Cost, OverLimit> {
        let Some((index, operation)) = self.operation(name) else {
            return bounds::measure_operation(&self.document.fragments, None, variables);
        };
        if let Some(cost) = &operation.fixed_cost {
            return cost.clone();
        }
        let definition = self.document.operations.iter().nth(index).map(|(_, op)| op);
        bounds::measure_operation(&self.document.fragments, definition, variables)
    }
}

/// Whether a list `value` holds null where the list type `ty` does not allow it, at any depth
/// (`[ID!]` and `[null]`); other values are validation's to check against the arguments.
fn null_inside(ty: &async_graphql::parser::types::Type, value: &Value) -> bool {
    use async_graphql::parser::types::BaseType;
    match (&ty.base, value) {
        (BaseType::List(item), Value::List(items)) => items
            .iter()
            .any(|v| (v == &Value::Null && !item.nullable) || null_inside(item, v)),
        _ => false,
    }
}

/// The deepest nesting of `{`, `[` and `(` a document may have. The parser, the validation
/// and every walk of a document go down its values and selections recursively, so a small
/// text nested thousands of levels deep (`[[[[…]]]]` in an argument) would overflow a
/// thread's stack; it is refused before it is parsed. Selections go at most
/// [`crate::bounds`]' depth (16) deep, input values a few levels: 64 is far above any real
/// query and far below what the stack holds.
pub const MAX_NESTING: usize = 64;

/// How deep `{`, `[` and `(` nest in a GraphQL document, outside strings, block strings and
/// comments. Unbalanced text is the parser's to refuse: this only counts.
fn nesting(text: &str) -> usize {
    let bytes = text.as_bytes();
    let (mut depth, mut deepest, mut i) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    // An escaped triple quote (\""") does not end a block string.
                    i += if bytes[i..].starts_with(b"\\\"\"\"") { 4 } else { 1 };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    deepest
}

/// A string (or an object's key) in `value` holds a NUL character.
fn holds_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::List(items) => items.iter().any(holds_nul),
        Value::Object(fields) => fields.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
    }
}

/// A string written in `document` (an argument, a directive's argument, a variable's
/// default) holds a NUL character.
fn document_holds_nul(document: &ExecutableDocument) -> bool {
    use async_graphql::{
        Positioned,
        parser::types::{Directive, Selection, SelectionSet},
    };

    fn written(value: &Positioned<async_graphql_value::Value>) -> bool {
        use async_graphql_value::Value as V;
        fn holds(value: &V) -> bool {
            match value {
                V::String(s) => s.contains('\0'),
                V::List(items) => items.iter().any(holds),
                V::Object(fields) => fields.iter().any(|(k, v)| k.contains('\0') || holds(v)),
                _ => false,
            }
        }
        holds(&value.node)
    }
    fn directives(list: &[async_graphql::Positioned<Directive>]) -> bool {
        list.iter()
            .any(|d| d.node.arguments.iter().any(|(_, v)| written(v)))
    }
    fn selections(set: &SelectionSet) -> bool {
        set.items.iter().any(|item| match &item.node {
            Selection::Field(f) => {
                f.node
                    .arguments
                    .iter()
                    .any(|(name, v)| !is_search_text(&f.node.name.node, &name.node) && written(v))
                    || directives(&f.node.directives)
                    || selections(&f.node.selection_set.node)
            }
            Selection::FragmentSpread(f) => directives(&f.node.directives),
            Selection::InlineFragment(f) => {
                directives(&f.node.directives) || selections(&f.node.selection_set.node)
            }
        })
    }
    document.operations.iter().any(|(_, op)| {
        directives(&op.node.directives)
            || op.node.variable_definitions.iter().any(|d| {
                d.node.default_value.as_ref().is_some_and(|v| holds_nul(&v.node))
                    || directives(&d.node.directives)
            })
            || selections(&op.node.selection_set.node)
    }) || document
        .fragments
        .values()
        .any(|f| directives(&f.node.directives) || selections(&f.node.selection_set.node))
}

/// The argument holding the text of a search (any characters welcome).
fn is_search_text(field: &str, argument: &str) -> bool {
    field == "search" && argument == "query"
}

/// The variables used only as the text of a search ([`is_search_text`]).
fn free_text_variables(document: &ExecutableDocument) -> Vec<async_graphql::Name> {
    use std::collections::HashSet;

    use async_graphql::{
        Name, Positioned,
        parser::types::{Directive, Selection, SelectionSet},
    };
    use async_graphql_value::Value as V;

    #[derive(Default)]
    struct Uses {
        search: HashSet<Name>,
        elsewhere: HashSet<Name>,
    }
    fn value(v: &V, out: &mut HashSet<Name>) {
        match v {
            V::Variable(name) => {
                out.insert(name.clone());
            }
            V::List(items) => items.iter().for_each(|i| value(i, out)),
            V::Object(fields) => fields.values().for_each(|f| value(f, out)),
            _ => {}
        }
    }
    fn directives(list: &[Positioned<Directive>], uses: &mut Uses) {
        for d in list {
            for (_, v) in &d.node.arguments {
                value(&v.node, &mut uses.elsewhere);
            }
        }
    }
    fn selections(set: &SelectionSet, uses: &mut Uses) {
        for item in &set.items {
            match &item.node {
                Selection::Field(f) => {
                    for (name, v) in &f.node.arguments {
                        match &v.node {
                            V::Variable(var) if is_search_text(&f.node.name.node, &name.node) => {
                                uses.search.insert(var.clone());
                            }
                            other => value(other, &mut uses.elsewhere),
                        }
                    }
                    directives(&f.node.directives, uses);
                    selections(&f.node.selection_set.node, uses);
                }
                Selection::FragmentSpread(f) => directives(&f.node.directives, uses),
                Selection::InlineFragment(f) => {
                    directives(&f.node.directives, uses);
                    selections(&f.node.selection_set.node, uses);
                }
            }
        }
    }
    let mut uses = Uses::default();
    for (_, op) in document.operations.iter() {
        directives(&op.node.directives, &mut uses);
        selections(&op.node.selection_set.node, &mut uses);
    }
    for f in document.fragments.values() {
        directives(&f.node.directives, &mut uses);
        selections(&f.node.selection_set.node, &mut uses);
    }
    uses.search
        .into_iter()
        .filter(|name| !uses.elsewhere.contains(name))
        .collect()
}

/// The built-in scalar types.
const SCALARS: [&str; 5] = ["Int", "Float", "String", "Boolean", "ID"];

fn is_scalar(ty: &Type) -> bool {
    match &ty.base {
        BaseType::Named(name) => SCALARS.contains(&name.as_str()),
        BaseType::List(inner) => is_scalar(inner),
    }
}

fn scalar_variables(op: &OperationDefinition) -> Option<Vec<(Name, Type, bool)>> {
    op.variable_definitions
        .iter()
        .map(|d| {
            let ty = &d.node.var_type.node;
            is_scalar(ty).then(|| {
                (
                    d.node.name.node.clone(),
                    ty.clone(),
                    d.node.default_value.is_some(),
                )
            })
        })
        .collect()
}

/// Whether `value` is one strict validation accepts for a variable of type `ty` (a built-in
/// scalar or a list of one): at least as strict as async-graphql's own check.
fn fits(ty: &Type, value: &Value) -> bool {
    if *value == Value::Null {
        return ty.nullable;
    }
    match &ty.base {
        BaseType::List(inner) => match value {
            Value::List(items) => items.iter().all(|item| fits(inner, item)),
            // A single value where a list is expected is a list of one.
            single => fits(inner, single),
        },
        BaseType::Named(name) => match (name.as_str(), value) {
            ("Int", Value::Number(n)) => n.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
            ("Float", Value::Number(_))
            | ("String", Value::String(_))
            | ("Boolean", Value::Boolean(_))
            | ("ID", Value::String(_)) => true,
            ("ID", Value::Number(n)) => n.is_i64(),
            _ => false,
        },
    }
}

/// The cache of prepared documents, by their text, and how often it answered.
#[derive(Clone)]
pub struct PreparedCache {
    inner: moka::sync::Cache<Arc<str>, Parsed>,
    hits: Arc<AtomicU64>,
    misses: Arc<AtomicU64>,
    /// Executions on the fast schema and on the strict one.
    runs: Arc<[AtomicU64; 2]>,
}

impl Default for PreparedCache {
    fn default() -> Self {
        PreparedCache {
            inner: moka::sync::Cache::builder()
                .max_capacity(CACHE_BYTES)
                .weigher(|text: &Arc<str>, _: &Parsed| weight(text))
                .build(),
            hits: Default::default(),
            misses: Default::default(),
            runs: Default::default(),
        }
    }
}

impl PreparedCache {
    /// The prepared document of `text`, parsed now if it is not in the cache. Documents
    /// that do not parse, are refused by the bounds whatever their variables, or are very
    /// large are not kept (a client repeating one pays its parsing, within the body limit
    /// and its rate limit).
    pub fn get(&self, text: String) -> Parsed {
        if let Some(parsed) = self.inner.get(text.as_str()) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return parsed;
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        // Two requests of a new text at once may both parse it; the later one wins.
        let parsed = Prepared::parse(&text);
        match &parsed {
            Ok(p) if weight(&text) <= MAX_WEIGHT && !p.refused_whatever_it_asks() => {
                self.inner.insert(Arc::from(text), parsed.clone());
            }
            Ok(p) => p.kept.store(false, Ordering::Relaxed),
            Err(_) => {}
        }
        parsed
    }

    /// Counts one execution, on the fast schema or on the strict one.
    pub fn count_run(&self, fast: bool) {
        self.runs[usize::from(!fast)].fetch_add(1, Ordering::Relaxed);
    }

    /// Executions on the fast schema, and on the strict one.
    pub fn runs(&self) -> (u64, u64) {
        (
            self.runs[0].load(Ordering::Relaxed),
            self.runs[1].load(Ordering::Relaxed),
        )
    }

    /// Requests answered from the cache, and requests that parsed their document.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }
}

/// Calls `visit` with each field at the root of the selection `set`, through fragment spreads
/// and inline fragments. False when it could not see them all: a fragment named that is
/// missing, or nesting past any real document's (validation refuses both; a cycle among
/// fragments is refused there too).
pub fn root_fields<'a>(
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    set: &'a SelectionSet,
    visit: &mut impl FnMut(&'a Field),
) -> bool {
    fn walk<'a>(
        fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
        set: &'a SelectionSet,
        visit: &mut impl FnMut(&'a Field),
        depth: usize,
    ) -> bool {
        depth <= 32
            && set.items.iter().fold(true, |seen, item| {
                let here = match &item.node {
                    Selection::Field(f) => {
                        visit(&f.node);
                        true
                    }
                    Selection::FragmentSpread(spread) => fragments
                        .get(&spread.node.fragment_name.node)
                        .is_some_and(|f| walk(fragments, &f.node.selection_set.node, visit, depth + 1)),
                    Selection::InlineFragment(inline) => {
                        walk(fragments, &inline.node.selection_set.node, visit, depth + 1)
                    }
                };
                seen && here
            })
    }
    walk(fragments, set, visit, 0)
}

/// Whether the root selection `set` holds only the fields of signing in and out (all of it
/// seen: see [`root_fields`]).
fn only_signs_in(document: &ExecutableDocument, set: &SelectionSet) -> bool {
    const SIGN_IN: [&str; 4] = ["login", "refreshToken", "logout", "__typename"];
    let mut only = true;
    let seen = root_fields(&document.fragments, set, &mut |f| {
        only &= SIGN_IN.contains(&f.name.node.as_str());
    });
    seen && only
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(text: &str) -> Type {
        Type::new(text).expect("a type")
    }

    #[test]
    fn nesting_counts_structure_not_strings_or_comments() {
        assert_eq!(nesting("{ a }"), 1);
        assert_eq!(nesting("{ a(b: [[1]]) { c } }"), 4);
        assert_eq!(nesting(r#"{ a(s: "{[(") }"#), 2);
        assert_eq!(nesting("# {{{{\n{ a }"), 1);
        assert_eq!(nesting(r#"{ a(s: "\"{{") }"#), 2);
        assert_eq!(nesting("{ a(s: \"\"\" {{ \\\"\"\" {{ \"\"\") }"), 2);
        assert_eq!(nesting("{ a(s: \"\"\"unterminated {{"), 2);
        let deep = format!(
            "{{ a(b: {}1{}) }}",
            "[".repeat(MAX_NESTING),
            "]".repeat(MAX_NESTING)
        );
        assert!(Prepared::parse(&deep).is_err());
        let fine = format!("{{ a(b: {}1{}) }}", "[".repeat(10), "]".repeat(10));
        assert!(Prepared::parse(&fine).is_ok());
    }

    #[test]
    fn values_fit_their_scalar_types_as_strictly_as_validation_asks() {
        let json = |v: serde_json::Value| Value::from_json(v).expect("a value");
        for (t, v, fits_it) in [
            ("Int", json(serde_json::json!(5)), true),
            ("Int", json(serde_json::json!(2.5)), false),
            ("Int", json(serde_json::json!(3_000_000_000_i64)), false),
            ("Int", json(serde_json::json!("5")), false),
            ("Int!", Value::Null, false),
            ("Int", Value::Null, true),
            ("String!", json(serde_json::json!("gjoel")), true),
            ("String", json(serde_json::json!({ "a": 1 })), false),
            ("ID", json(serde_json::json!(7)), true),
            ("ID", json(serde_json::json!(true)), false),
            ("[ID!]!", json(serde_json::json!(["a", "b"])), true),
            ("[ID!]!", json(serde_json::json!(["a", null])), false),
            ("[ID!]", json(serde_json::json!("a")), true),
            ("Boolean", json(serde_json::json!("true")), false),
            ("Float", json(serde_json::json!(1)), true),
        ] {
            assert_eq!(fits(&ty(t), &v), fits_it, "{t} {v}");
        }
    }

    #[test]
    fn only_scalar_variables_may_run_fast() {
        let parsed =
            Prepared::parse("query A($s: String!, $n: [Int!]) { a } query B($f: CommunityFilter) { b }")
                .expect("parses");
        let scalar = parsed.operation(Some("A")).expect("A").1;
        let object = parsed.operation(Some("B")).expect("B").1;
        scalar.mark_validated();
        object.mark_validated();
        let variables = |v: serde_json::Value| Variables::from_json(v);
        assert!(scalar.may_run_fast(&variables(serde_json::json!({ "s": "x", "n": [1] }))));
        assert!(!scalar.may_run_fast(&variables(serde_json::json!({ "s": 1 }))));
        assert!(!object.may_run_fast(&variables(serde_json::json!({ "f": {} }))));
    }

    #[test]
    fn a_nul_character_anywhere_is_refused() {
        let none = Variables::default();
        for (query, variables) in [
            (r#"{ community(slug: "a\u0000b") { name } }"#, none.clone()),
            (
                r#"query { communities(filter: { common: { text: "\u0000" } }) { totalCount } }"#,
                none.clone(),
            ),
            (r#"query($s: String = "\u0000") { a }"#, none.clone()),
            (
                r#"{ ...F } fragment F on Query { a(b: ["x", "\u0000"]) }"#,
                none.clone(),
            ),
            (
                "query($s: String) { community(slug: $s) { name } }",
                Variables::from_json(serde_json::json!({ "s": "a\0" })),
            ),
            (
                "query($f: F) { a(f: $f) }",
                Variables::from_json(serde_json::json!({ "f": { "t": ["\0"] } })),
            ),
        ] {
            let parsed = Prepared::parse(query).expect("parses");
            assert!(parsed.refuse_nul(&variables).is_err(), "{query} {variables:?}");
        }
        let parsed = Prepared::parse(r#"query($s: String) { community(slug: "gj\u00f8l") { name } }"#)
            .expect("parses");
        assert!(
            parsed
                .refuse_nul(&Variables::from_json(serde_json::json!({ "s": "Gjøl" })))
                .is_ok()
        );
    }

    #[test]
    fn a_required_variable_left_out_runs_strict() {
        let parsed =
            Prepared::parse("query A($s: String!, $d: String! = \"x\", $o: String) { a }").expect("parses");
        let op = parsed.operation(None).expect("the only operation").1;
        op.mark_validated();
        let variables = |v: serde_json::Value| Variables::from_json(v);
        assert!(op.may_run_fast(&variables(serde_json::json!({ "s": "x" }))));
        assert!(!op.may_run_fast(&variables(serde_json::json!({ "d": "x" }))));
    }

    #[test]
    fn without_a_name_only_a_single_operation_is_selected() {
        let two = Prepared::parse("query A { a } query B { b }").expect("parses");
        assert!(two.operation(None).is_none());
        let b = two.operation(Some("B")).expect("B").1;
        assert_eq!(b.name.as_ref().map(Name::as_str), Some("B"));
        let one = Prepared::parse("{ a }").expect("parses");
        assert_eq!(one.operation(None).map(|(i, _)| i), Some(0));
    }

    #[test]
    fn documents_refused_whatever_they_ask_are_not_kept() {
        let cache = PreparedCache::default();
        let over = "{ communities(first: 500) { totalCount } }".to_owned();
        let fine = "{ communities(first: 5) { totalCount } }".to_owned();
        let huge = format!("{{ {} }}", "a ".repeat(30_000));
        for text in [&over, &fine, &huge, &"{ a".to_owned()] {
            let _ = cache.get(text.clone());
            let _ = cache.get(text.clone());
        }
        assert_eq!(cache.counts(), (1, 7), "only the query within its bounds is kept");
        // One not kept is parsed anew each time, with an id of its own: the response cache
        // must leave it out.
        assert!(cache.get(fine.clone()).expect("parses").is_kept());
        // Within every bound (300 fields), only large: long aliases (of pages of other sizes:
        // one field with the same arguments is asked at most ten times).
        let large = format!(
            "{{ {} }}",
            (0..150)
                .map(|i| {
                    let page = if i < 100 { "first" } else { "last" };
                    format!(
                        "a{i}{}: communities({page}: {}) {{ totalCount }}",
                        "x".repeat(200),
                        i % 100 + 1
                    )
                })
                .collect::<Vec<_>>()
                .join(" ")
        );
        assert!(
            Prepared::parse(&large).expect("parses").operations[0]
                .fixed_cost
                .as_ref()
                .is_some_and(Result::is_ok)
        );
        let (a, b) = (cache.get(large.clone()), cache.get(large));
        let (a, b) = (a.expect("parses"), b.expect("parses"));
        assert!(!a.is_kept() && a.id != b.id);
    }

    #[test]
    fn a_variable_left_out_is_measured_at_its_default() {
        let parsed = Prepared::parse("query($n: Int = 500) { communities(first: $n) { totalCount } }")
            .expect("parses");
        assert!(
            parsed.cost(None, &Variables::default()).is_err(),
            "the default is over 100"
        );
        let variables = Variables::from_json(serde_json::json!({ "n": 50 }));
        assert_eq!(parsed.cost(None, &variables).expect("within bounds").nodes, 50);
        let parsed =
            Prepared::parse("query($n: Int = 40) { communities(first: $n) { totalCount } }").expect("parses");
        assert_eq!(
            parsed
                .cost(None, &Variables::default())
                .expect("within bounds")
                .nodes,
            40
        );
    }

    #[test]
    fn a_cost_is_measured_once_unless_a_variable_feeds_it() {
        let parsed = Prepared::parse(
            "query A($s: String!) { community(slug: $s) { plans(first: 5) { totalCount } } } \
             query B($n: Int) { communities(first: $n) { totalCount } }",
        )
        .expect("parses");
        assert!(parsed.operation(Some("A")).expect("A").1.fixed_cost.is_some());
        assert!(parsed.operation(Some("B")).expect("B").1.fixed_cost.is_none());
        let variables = Variables::from_json(serde_json::json!({ "n": 101 }));
        assert!(parsed.cost(Some("B"), &variables).is_err());
    }
}

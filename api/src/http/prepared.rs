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
use std::sync::{
    Arc,
    atomic::{AtomicBool, AtomicU64, Ordering},
};

use async_graphql::{
    Name, ServerError, Value, Variables,
    parser::{
        parse_query,
        types::{BaseType, ExecutableDocument, OperationDefinition, OperationType, Type},
    },
};

use crate::bounds::{self, Cost, OverLimit};

/// The most memory the cache of prepared documents may take, roughly.
const CACHE_BYTES: u64 = 32 * 1024 * 1024;

/// What one document costs in the cache beside its text: the parsed tree is several times
/// the text, and every entry has a fixed overhead. With [`CACHE_BYTES`], this bounds the
/// count too (at most 32,768 documents).
fn weight(text: &str) -> u32 {
    u32::try_from(1024 + 8 * text.len()).unwrap_or(u32::MAX)
}

/// Identities of prepared documents, for the keys of the response cache.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// One operation of a prepared document.
pub struct Operation {
    pub name: Option<Name>,
    pub ty: OperationType,
    /// Passed strict validation at least once.
    validated: AtomicBool,
    /// The variables' declared types, when every one is a built-in scalar type (or a list
    /// of one): only then can [`Operation::may_run_fast`] check their values.
    scalar_variables: Option<Vec<(Name, Type)>>,
    /// The cost, measured once when no argument it depends on names a variable.
    fixed_cost: Option<Result<Cost, OverLimit>>,
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
                    .all(|(name, ty)| variables.get(name).is_none_or(|value| fits(ty, value)))
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
    /// In the order the document iterates them.
    pub operations: Vec<Operation>,
}

/// A document, or why it does not parse (a request error, the client's to fix).
pub type Parsed = Result<Arc<Prepared>, ServerError>;

impl Prepared {
    pub fn parse(text: &str) -> Parsed {
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
            })
            .collect();
        Ok(Arc::new(Prepared {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            document,
            operations,
        }))
    }

    /// The operation a request names; without a name, the first (async-graphql refuses a
    /// request without a name when there are several, when it runs).
    pub fn operation(&self, name: Option<&str>) -> Option<(usize, &Operation)> {
        match name {
            Some(name) => self
                .operations
                .iter()
                .enumerate()
                .find(|(_, op)| op.name.as_ref().is_some_and(|n| n.as_str() == name)),
            None => self.operations.first().map(|op| (0, op)),
        }
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

/// The built-in scalar types.
const SCALARS: [&str; 5] = ["Int", "Float", "String", "Boolean", "ID"];

fn is_scalar(ty: &Type) -> bool {
    match &ty.base {
        BaseType::Named(name) => SCALARS.contains(&name.as_str()),
        BaseType::List(inner) => is_scalar(inner),
    }
}

fn scalar_variables(op: &OperationDefinition) -> Option<Vec<(Name, Type)>> {
    op.variable_definitions
        .iter()
        .map(|d| {
            let ty = &d.node.var_type.node;
            is_scalar(ty).then(|| (d.node.name.node.clone(), ty.clone()))
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
        }
    }
}

impl PreparedCache {
    /// The prepared document of `text`, parsed now if it is not in the cache. Documents that
    /// do not parse are kept too, so a client repeating one costs no parsing either.
    pub fn get(&self, text: String) -> Parsed {
        if let Some(parsed) = self.inner.get(text.as_str()) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return parsed;
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        // Two requests of a new text at once may both parse it; the later one wins.
        let parsed = Prepared::parse(&text);
        self.inner.insert(Arc::from(text), parsed.clone());
        parsed
    }

    /// Requests answered from the cache, and requests that parsed their document.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(text: &str) -> Type {
        Type::new(text).expect("a type")
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

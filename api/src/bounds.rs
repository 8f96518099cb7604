//! Bounds every query must stay within, checked on the prepared document when the request
//! is admitted, before anything runs (so a refused query costs no SQL and is a request
//! error), and what a query cost, reported in `extensions.cost`. Nothing here runs per
//! field: the schema has no extension, so async-graphql resolves fields on its fast path.
//! Like GitHub's API:
//! - **depth**: at most [`MAX_DEPTH`] nested selections;
//! - **fields**: at most [`MAX_FIELDS`] field selections, fragments expanded where used, so
//!   aliasing one field 500 times is 500 fields;
//! - **page sizes**: `first`/`last` between 1 and 100 on every connection;
//! - **nodes**: the most rows the query could return: for each connection, its page size
//!   times the page sizes of the lists above it, summed, at most [`MAX_NODES`];
//!   `nodes(ids:)` counts its IDs. A list of objects that is not a connection (a plan's
//!   themes, a partnership's members) has no page size: one that holds another list counts
//!   [`LIST_ROWS`] rows, and multiplies the lists in it so, as a page does (lists that lead
//!   back to each other, a member's partnership's members…, would otherwise multiply rows
//!   unmeasured); one that holds no list counts nothing, as before lists were measured;
//! - **repeats**: one object's selection asks for a field with the same arguments at most
//!   [`MAX_REPEATS`] times (under other aliases, through fragments too);
//! - **cost**: the pages the query may fetch (one per list per parent row; an `engagement`
//!   counts as one per parent row too: its figures are sums over the row's whole history),
//!   divided by 100 and rounded, at least 1: GitHub's rate-limit score;
//! - **introspection**: one `__schema` (the whole schema, 300 KB or more) per request;
//! - **passwords**: at most one field that checks a password (`login`, `changePassword`),
//!   so a request cannot try many passwords at the price of one;
//! - **engagement windows**: at most [`MAX_ENGAGEMENT_WINDOWS`] distinct `window` arguments
//!   of `engagement` fields (each distinct window costs its own batch of statements; left out
//!   counts as one).
use std::{collections::HashMap, sync::LazyLock};

use async_graphql::{
    Name, Positioned, ServerError, Value, Variables,
    parser::types::{
        BaseType, FragmentDefinition, OperationDefinition, OperationType, Selection, SelectionSet, TypeKind,
        TypeSystemDefinition, VariableDefinition,
    },
};

use crate::error::Code;

pub const MAX_DEPTH: usize = 16;
pub const MAX_FIELDS: usize = 1_000;
pub const MAX_NODES: u64 = 50_000;
pub const MAX_PAGE: i64 = 100;
pub const DEFAULT_PAGE: i64 = 20;
pub const MAX_ENGAGEMENT_WINDOWS: usize = 5;
/// How often one object's selection may ask for the same field with the same arguments
/// (under other aliases, through fragments too): more has no use but to multiply the answer
/// (240 aliases of a description on each of 20,000 rows answered 300 MB at a cost of 2).
pub const MAX_REPEATS: usize = 10;
/// The rows a list of objects that is not a connection counts as when it holds another list:
/// such lists (a plan's themes, a partnership's members, a community's contacts) hold a few
/// rows each.
pub const LIST_ROWS: u64 = 10;

/// What the measure knows of the schema: the type each field of an object or interface
/// returns, and whether as a list.
struct Shapes {
    fields: HashMap<String, HashMap<String, (String, bool)>>,
}

/// The schema's shapes, read from its SDL once.
static SHAPES: LazyLock<Shapes> = LazyLock::new(|| Shapes::of(&crate::schema::sdl()));

/// Reads what the bounds need of the schema (else the first query measured does).
pub fn load_schema() {
    LazyLock::force(&SHAPES);
}

impl Shapes {
    fn of(sdl: &str) -> Shapes {
        let mut fields = HashMap::new();
        let document = async_graphql::parser::parse_schema(sdl).expect("the schema's own SDL parses");
        for definition in document.definitions {
            let TypeSystemDefinition::Type(ty) = definition else {
                continue;
            };
            let declared = match &ty.node.kind {
                TypeKind::Object(o) => &o.fields,
                TypeKind::Interface(i) => &i.fields,
                _ => continue,
            };
            let shapes = declared
                .iter()
                .map(|f| {
                    let mut of = &f.node.ty.node;
                    let mut list = false;
                    let named = loop {
                        match &of.base {
                            BaseType::List(inner) => {
                                list = true;
                                of = inner;
                            }
                            BaseType::Named(named) => break named,
                        }
                    };
                    (f.node.name.node.to_string(), (named.to_string(), list))
                })
                .collect();
            fields.insert(ty.node.name.node.to_string(), shapes);
        }
        Shapes { fields }
    }

    /// The type `field` of `parent` returns, and whether as a list.
    fn field(&self, parent: &str, field: &str) -> Option<(&str, bool)> {
        let (ty, list) = self.fields.get(parent)?.get(field)?;
        Some((ty, *list))
    }

    /// `name` as the schema spells it, if it is an object or interface type.
    fn object(&self, name: &str) -> Option<&str> {
        self.fields.get_key_value(name).map(|(k, _)| k.as_str())
    }

    /// Whether `ty` is a connection (it has `pageInfo`): its lists are its page.
    fn is_connection(&self, ty: &str) -> bool {
        self.fields.get(ty).is_some_and(|f| f.contains_key("pageInfo"))
    }
}

/// What a query asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cost {
    pub depth: usize,
    pub fields: usize,
    pub nodes: u64,
    /// Pages (one per connection per parent row) the query may fetch.
    pub pages: u64,
}

impl Cost {
    /// GitHub's score: pages / 100, rounded, at least 1.
    pub fn points(&self) -> u64 {
        ((self.pages + 50) / 100).max(1)
    }
}

/// A query over a bound, with what it asked for and the limit.
#[derive(Debug, Clone)]
pub struct OverLimit {
    pub message: String,
    /// `QUERY_TOO_LARGE`, or `BAD_USER_INPUT` for a page size out of range.
    pub code: Code,
}

fn too_large(message: String) -> OverLimit {
    OverLimit {
        message,
        code: Code::QueryTooLarge,
    }
}

struct Walk<'a> {
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    variables: &'a Variables,
    /// The operation's variables, for the default value of one the request left out.
    definitions: &'a [Positioned<VariableDefinition>],
    cost: Cost,
    /// Fragments being expanded: a cycle (refused by validation later) must not loop here.
    open: Vec<Name>,
    /// Fragment spreads expanded so far: fragments that spread others twice over, with no
    /// field between, would otherwise take 2^n steps for a document of n lines.
    spreads: usize,
    /// The distinct `window` arguments of `engagement` fields (null: left out).
    windows: Vec<Value>,
    /// The response keys of root fields that check a password (a key asked twice is one
    /// field: GraphQL merges them).
    passwords: Vec<String>,
    /// The response keys of root `__schema` fields.
    schemas: Vec<String>,
    /// The response keys of `search` fields met so far.
    searches: Vec<String>,
    /// The lists that are not connections on the path being walked: their rows, and whether
    /// they were counted (once a list is found in one).
    lists: Vec<(u64, bool)>,
    /// For each object's selection being walked (fragments included), how often each field
    /// and its arguments were asked.
    asked: Vec<HashMap<String, usize>>,
}

/// Adds `key` to `keys` unless it is there; whether `keys` then holds more than one.
fn another(keys: &mut Vec<String>, key: &str) -> bool {
    distinct(keys, key) > 1
}

/// Adds `key` to `keys` unless it is there; how many distinct keys `keys` then holds.
fn distinct(keys: &mut Vec<String>, key: &str) -> usize {
    if !keys.iter().any(|k| k == key) {
        keys.push(key.to_owned());
    }
    keys.len()
}

/// The `search` fields a request may ask (aliases count; the same response key once): a
/// search costs a statement over the whole index whatever its page, so a hundred aliased
/// searches, at a cost of 1, held every pooled connection for seconds.
pub const MAX_SEARCHES: usize = 3;

/// The root fields that check a password: one per request.
const PASSWORD_FIELDS: [&str; 2] = ["login", "changePassword"];

fn int(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

impl Walk<'_> {
    fn argument(&self, field: &async_graphql::parser::types::Field, name: &str) -> Option<Value> {
        let (_, v) = field.arguments.iter().find(|(n, _)| n.node.as_str() == name)?;
        v.node
            .clone()
            .into_const_with(|var| Ok::<_, ()>(self.variable(&var)))
            .ok()
    }

    /// A variable's value as the executor will see it: the request's, else its default.
    fn variable(&self, name: &Name) -> Value {
        if let Some(value) = self.variables.get(name) {
            return value.clone();
        }
        self.definitions
            .iter()
            .find(|d| d.node.name.node == *name)
            .and_then(|d| d.node.default_value.as_ref())
            .map(|v| v.node.clone())
            .unwrap_or(Value::Null)
    }

    /// Measures `set`, selected on an object of type `parent` (none: a type the measure does
    /// not know, which validation refuses later, or a union).
    fn selections(
        &mut self,
        set: &SelectionSet,
        depth: usize,
        multiplier: u64,
        parent: Option<&'static str>,
    ) -> Result<(), OverLimit> {
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => self.field(&field.node, depth, multiplier, parent)?,
                Selection::InlineFragment(f) => {
                    let on = match &f.node.type_condition {
                        Some(condition) => SHAPES.object(&condition.node.on.node),
                        None => parent,
                    };
                    self.selections(&f.node.selection_set.node, depth, multiplier, on)?
                }
                Selection::FragmentSpread(spread) => {
                    let name = &spread.node.fragment_name.node;
                    if self.open.contains(name) {
                        continue;
                    }
                    if let Some(fragment) = self.fragments.get(name) {
                        self.spreads += 1;
                        if self.spreads > MAX_FIELDS {
                            return Err(too_large(format!(
                                "the query spreads fragments more than {MAX_FIELDS} times, the limit (each use counts)"
                            )));
                        }
                        self.open.push(name.clone());
                        let on = SHAPES.object(&fragment.node.type_condition.node.on.node);
                        self.selections(&fragment.node.selection_set.node, depth, multiplier, on)?;
                        self.open.pop();
                    }
                }
            }
        }
        Ok(())
    }

    fn field(
        &mut self,
        field: &async_graphql::parser::types::Field,
        depth: usize,
        multiplier: u64,
        parent: Option<&'static str>,
    ) -> Result<(), OverLimit> {
        let depth = depth + 1;
        self.cost.depth = self.cost.depth.max(depth);
        if self.cost.depth > MAX_DEPTH {
            return Err(too_large(format!(
                "the query is nested {depth} levels deep; the limit is {MAX_DEPTH}"
            )));
        }
        self.cost.fields += 1;
        let repeats = self.repeat(field, parent);
        if repeats > MAX_REPEATS {
            return Err(too_large(format!(
                "`{}` is asked {repeats} times with the same arguments in one selection; the limit is {MAX_REPEATS} (aliases and fragments count)",
                field.name.node
            )));
        }
        if self.cost.fields > MAX_FIELDS {
            return Err(too_large(format!(
                "the query selects more than {MAX_FIELDS} fields, the limit (aliases and each use of a fragment count)"
            )));
        }
        let name = field.name.node.as_str();
        let key = field.alias.as_ref().map_or(name, |a| a.node.as_str());
        if depth == 1 && name == "__schema" && another(&mut self.schemas, key) {
            return Err(too_large(
                "a request introspects the schema once: ask for `__schema` once".to_owned(),
            ));
        }
        if depth == 1 && name == "search" && distinct(&mut self.searches, key) > MAX_SEARCHES {
            return Err(too_large(format!(
                "a request runs at most {MAX_SEARCHES} searches: each is a statement over the whole index"
            )));
        }
        if depth == 1 && PASSWORD_FIELDS.contains(&name) && another(&mut self.passwords, key) {
            return Err(OverLimit {
                message: "a request checks one password: ask for `login` or `changePassword` once".to_owned(),
                code: Code::BadUserInput,
            });
        }
        if name == "engagement" {
            // Figures summed over all the parent's rows, a batch of statements per window: a
            // page for each parent row, as a connection under it would be (a review's figures
            // read theirs from the stored snapshot).
            if parent.is_some_and(|p| p == "Community" || p == "Plan") {
                self.cost.pages = self.cost.pages.saturating_add(multiplier);
            }
            // As the resolver reads it: a field given null is left out, and a window with
            // nothing in it is the default window.
            let window = match self.argument(field, "window") {
                Some(Value::Object(mut given)) => {
                    given.retain(|_, v| *v != Value::Null);
                    if given.is_empty() {
                        Value::Null
                    } else {
                        Value::Object(given)
                    }
                }
                other => other.unwrap_or(Value::Null),
            };
            if !self.windows.contains(&window) {
                self.windows.push(window);
                if self.windows.len() > MAX_ENGAGEMENT_WINDOWS {
                    return Err(OverLimit {
                        message: format!(
                            "`engagement` is asked for with more than {MAX_ENGAGEMENT_WINDOWS} different windows, the limit per request"
                        ),
                        code: Code::BadUserInput,
                    });
                }
            }
        }
        let given = |v: Option<Value>| v.filter(|v| *v != Value::Null);
        let page = match given(self.argument(field, "first")).or_else(|| given(self.argument(field, "last")))
        {
            // A value that is not an Int is left to validation, which names the type.
            Some(v) if int(&v).and_then(|n| i32::try_from(n).ok()).is_some() => {
                let n = int(&v).unwrap_or(0);
                if !(1..=MAX_PAGE).contains(&n) {
                    let arg = if given(self.argument(field, "first")).is_some() {
                        "first"
                    } else {
                        "last"
                    };
                    return Err(OverLimit {
                        message: format!("`{arg}` of `{name}` must be between 1 and {MAX_PAGE}, got {v}"),
                        code: Code::BadUserInput,
                    });
                }
                Some(n as u64)
            }
            _ => None,
        };
        // What the field returns, where the schema knows it.
        let shape = parent.and_then(|p| SHAPES.field(p, name));
        let is_connection = shape.is_some_and(|(ty, _)| SHAPES.is_connection(ty))
            || field.selection_set.node.items.iter().any(|s| {
                matches!(&s.node, Selection::Field(f) if matches!(f.node.name.node.as_str(), "nodes" | "edges" | "pageInfo" | "totalCount"))
            });
        // A list of objects that is not a connection's page (its `nodes` and `edges` are
        // counted as the connection's): it has no page size.
        let is_list = shape.is_some_and(|(ty, list)| list && SHAPES.object(ty).is_some())
            && !parent.is_some_and(|p| SHAPES.is_connection(p));
        // The rows the field may give, and whether as a list that is not a connection.
        let (size, plain) = match (name, page) {
            ("nodes", _) if self.argument(field, "ids").is_some() => match self.argument(field, "ids") {
                Some(Value::List(ids)) => (Some(ids.len() as u64), false),
                _ => (Some(1), false),
            },
            (_, Some(n)) => (Some(n), false),
            (_, None) if is_connection => (Some(DEFAULT_PAGE as u64), false),
            (_, None) if is_list => (Some(LIST_ROWS), true),
            _ => (None, false),
        };
        let Some(n) = size else {
            let returns = shape.and_then(|(ty, _)| SHAPES.object(ty));
            return self.object(&field.selection_set.node, depth, multiplier, returns);
        };
        // A list in lists that are not connections: they count their rows now.
        let pending: u64 = self
            .lists
            .iter_mut()
            .filter(|(_, counted)| !*counted)
            .map(|(rows, counted)| {
                *counted = true;
                *rows
            })
            .fold(0, u64::saturating_add);
        self.count(pending)?;
        self.cost.pages = self.cost.pages.saturating_add(multiplier);
        let rows = multiplier.saturating_mul(n);
        if plain {
            self.lists.push((rows, false));
        } else {
            self.count(rows)?;
        }
        let returns = shape.and_then(|(ty, _)| SHAPES.object(ty));
        self.object(&field.selection_set.node, depth, rows, returns)?;
        if plain {
            self.lists.pop();
        }
        Ok(())
    }

    /// Measures the selection of a field's object (a scope of its own for [`Walk::repeat`]).
    fn object(
        &mut self,
        set: &SelectionSet,
        depth: usize,
        multiplier: u64,
        parent: Option<&'static str>,
    ) -> Result<(), OverLimit> {
        if set.items.is_empty() {
            return Ok(());
        }
        self.asked.push(HashMap::new());
        let measured = self.selections(set, depth, multiplier, parent);
        self.asked.pop();
        measured
    }

    /// How often the current object's selection has asked for `field` with its arguments, on
    /// `parent`, this time included.
    fn repeat(&mut self, field: &async_graphql::parser::types::Field, parent: Option<&str>) -> usize {
        // On the type it is asked of: `... on Plan { id } ... on Action { id }` is one `id`
        // for whichever the object is.
        // The arguments as written: a variable is its name, so that the count stays the
        // same whatever the variables (the cost of a document is kept when no `first`,
        // `last`, `ids` or `window` names one). Two variables of equal value are two
        // questions here; what they ask is then within the other bounds.
        let mut key = format!("{}.{}", parent.unwrap_or_default(), field.name.node);
        for (name, value) in &field.arguments {
            key.push_str(&format!(" {}:{}", name.node, value.node));
        }
        let Some(asked) = self.asked.last_mut() else {
            return 1;
        };
        let n = asked.entry(key).or_insert(0);
        *n += 1;
        *n
    }

    /// Adds `rows` to the nodes the query could return, within [`MAX_NODES`].
    fn count(&mut self, rows: u64) -> Result<(), OverLimit> {
        self.cost.nodes = self.cost.nodes.saturating_add(rows);
        if self.cost.nodes > MAX_NODES {
            return Err(too_large(format!(
                "the query could return {} nodes or more; the limit is {MAX_NODES} (page sizes multiplied down each path, summed): ask for smaller pages or fewer nested lists",
                self.cost.nodes
            )));
        }
        Ok(())
    }
}

/// The cost of `op` (none: nothing selected), with `fragments` expanded where used.
pub fn measure_operation(
    fragments: &HashMap<Name, Positioned<FragmentDefinition>>,
    op: Option<&Positioned<OperationDefinition>>,
    variables: &Variables,
) -> Result<Cost, OverLimit> {
    let mut walk = Walk {
        fragments,
        variables,
        definitions: op.map_or(&[][..], |op| &op.node.variable_definitions[..]),
        cost: Cost::default(),
        open: Vec::new(),
        spreads: 0,
        windows: Vec::new(),
        passwords: Vec::new(),
        schemas: Vec::new(),
        searches: Vec::new(),
        lists: Vec::new(),
        asked: vec![HashMap::new()],
    };
    if let Some(op) = op {
        let root = match op.node.ty {
            OperationType::Query => "Query",
            OperationType::Mutation => "Mutation",
            OperationType::Subscription => "Subscription",
        };
        walk.selections(&op.node.selection_set.node, 0, 1, SHAPES.object(root))?;
    }
    walk.cost.pages = walk.cost.pages.max(1);
    Ok(walk.cost)
}

/// The arguments [`measure`] reads.
const MEASURED_ARGUMENTS: [&str; 4] = ["first", "last", "ids", "window"];

/// Whether the cost of `op` depends on the variables: an argument [`measure`] reads names
/// one. When it does not, the cost is the same for every request of the operation.
pub fn depends_on_variables(
    fragments: &HashMap<Name, Positioned<FragmentDefinition>>,
    op: &Positioned<OperationDefinition>,
) -> bool {
    fn reads_variable(
        fragments: &HashMap<Name, Positioned<FragmentDefinition>>,
        selections: &SelectionSet,
        open: &mut Vec<Name>,
    ) -> bool {
        selections.items.iter().any(|item| match &item.node {
            Selection::Field(field) => {
                field.node.arguments.iter().any(|(name, value)| {
                    MEASURED_ARGUMENTS.contains(&name.node.as_str())
                        // Not a constant: it names a variable somewhere.
                        && value.node.clone().into_const().is_none()
                }) || reads_variable(fragments, &field.node.selection_set.node, open)
            }
            Selection::InlineFragment(f) => reads_variable(fragments, &f.node.selection_set.node, open),
            Selection::FragmentSpread(spread) => {
                let name = &spread.node.fragment_name.node;
                if open.contains(name) {
                    return false;
                }
                let Some(fragment) = fragments.get(name) else {
                    return false;
                };
                open.push(name.clone());
                let uses = reads_variable(fragments, &fragment.node.selection_set.node, open);
                open.pop();
                uses
            }
        })
    }
    !op.node.variable_definitions.is_empty()
        && reads_variable(fragments, &op.node.selection_set.node, &mut Vec::new())
}

/// `extensions.cost` of an answer: what the query cost, the client's budget a minute and what
/// is left of it (null when no rate limit applies, or, for `remaining`, when the answer may go
/// to other clients too), and the limits.
pub fn report(cost: Option<&Cost>, limit: Option<u32>, remaining: Option<u32>) -> Value {
    // A document refused before it was measured (it does not parse, or is over a bound) is
    // charged one point, and has no figures of its own.
    async_graphql::value!({
        "remainingBudget": remaining,
        "budgetPerMinute": limit,
        "requestedQueryCost": cost.map_or(1, Cost::points),
        "nodes": cost.map(|c| c.nodes),
        "fields": cost.map(|c| c.fields as u64),
        "depth": cost.map(|c| c.depth as u64),
        "limits": {
            "maxNodes": MAX_NODES,
            "maxFields": MAX_FIELDS as u64,
            "maxDepth": MAX_DEPTH as u64,
            "maxPageSize": MAX_PAGE,
        },
    })
}

impl OverLimit {
    /// The refusal as a GraphQL error: a request error, before anything ran.
    pub fn into_error(self) -> ServerError {
        crate::error::request_error(self.message, self.code)
    }
}

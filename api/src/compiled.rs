//! Compiled reads: a root field plans its whole selection (async-graphql's look-ahead) into one
//! SQL statement. Each nested list under the root rows is a correlated sub-select that returns
//! its rows as JSON (`json_agg` on PostgreSQL, `json_group_array` on SQLite), nested as deep as
//! the selection goes, so the website's community page is one statement whatever its rows.
//!
//! The sub-selects are the loaders' own listings ([`Rel`]): the same visibility rules of
//! `access.rs`, the same ordering, the same windows. Their rows are kept where the loaders keep
//! what they loaded, under the same keys, so the nested resolvers read them instead of asking
//! the database. What the planner does not cover (a field without an [`Edge`], a page after a
//! cursor) is left to the loaders, which stay the fallback.
//!
//! An [`Edge`] says which relation a GraphQL field reads, keyed by which column of its parent
//! and how it pages: each object type lists its edges ([`Prefetch`]) beside its resolvers, and
//! a test holds them to the schema. The SQL text of a shape (root field and arguments, the
//! caller's access, the selection's relations) is built once and kept in [`Statements`].
//!
//! Only the columns the operation needs: the columns of [`PRUNABLE`] (long texts, dates,
//! amounts, bookkeeping) are left out of the nested rows (a placeholder in their place) when
//! no field of the table's GraphQL type that shows them is selected anywhere in the operation
//! (the walk follows the operation's types and fragments), so no resolver of this request can
//! read what was left out, even where two parts of a query share a loaded row.
use std::{
    collections::HashMap,
    hash::{Hash, Hasher},
    str::FromStr,
    sync::{Arc, Mutex},
};

use async_graphql::{Context, SelectionField, Value as GqlValue};
use sea_orm::{
    ColumnTrait, ColumnType, DbBackend, EntityTrait, IdenStatic, Iterable, ModelTrait, Statement, Value,
    sea_query::{Alias, Expr, Func, Query, SimpleExpr, SubQueryStatement},
};
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use uuid::Uuid;

use crate::{
    access::Access,
    error::ApiError,
    loader::{ColumnName, Erased, Loaded, Rel, Row, table_column},
    pagination::{Listing, ORDER, PAGE_ALIAS, Page, RN, Size, TOTAL, Window, order_sql, window_condition},
    relay::NodeType,
};

/// How a relation field pages.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// A connection (`first`/`after`/`last`/`before`), its rows under `nodes` and `edges.node`.
    Connection,
    /// A fixed page of the relation, e.g. the current plan: its first row.
    Fixed(Window),
    /// Every row: a plain list, or the one row of a reference.
    List,
}

/// The value of the parent row an edge's rows hang under.
#[derive(Debug, Clone, Copy)]
pub enum Key {
    /// The parent's own ID: the rows refer to it.
    Id,
    /// A foreign key of the parent: the one row it refers to. Written
    /// `foreign_key!(plan::CommunityId)` for the column `entity::plan::Column::CommunityId`.
    Foreign(fn() -> &'static str),
}

impl Key {
    /// Its column in the parent's table, whose primary key is `id`.
    fn column(self, id: &'static str) -> &'static str {
        match self {
            Key::Id => id,
            Key::Foreign(column) => column(),
        }
    }
}

macro_rules! foreign_key {
    ($table:ident :: $column:ident) => {
        $crate::compiled::Key::Foreign(|| sea_orm::IdenStatic::as_str(&entity::$table::Column::$column))
    };
}
pub(crate) use foreign_key;

/// A GraphQL field that reads a relation: the rows of `rel` under the parent row's `key`,
/// paged as `kind`, each row an object whose own edges `child` lists. It must say exactly what
/// the field's resolver asks the loaders.
pub struct Edge {
    pub field: &'static str,
    pub rel: &'static dyn Relation,
    pub key: Key,
    pub kind: Kind,
    pub child: fn() -> &'static [Edge],
}

impl Edge {
    const fn new<N: Prefetch>(field: &'static str, rel: &'static dyn Relation, key: Key, kind: Kind) -> Self {
        Edge {
            field,
            rel,
            key,
            kind,
            child: N::edges,
        }
    }

    /// Every row that refers to the parent, as a plain list.
    pub const fn list<N: Prefetch>(field: &'static str, rel: &'static dyn Relation) -> Self {
        Self::new::<N>(field, rel, Key::Id, Kind::List)
    }

    /// The rows that refer to the parent, as a connection with the usual page arguments.
    pub const fn connection<N: Prefetch>(field: &'static str, rel: &'static dyn Relation) -> Self {
        Self::new::<N>(field, rel, Key::Id, Kind::Connection)
    }

    /// A fixed page of the rows that refer to the parent (the field has no page arguments).
    pub const fn fixed<N: Prefetch>(field: &'static str, rel: &'static dyn Relation, window: Window) -> Self {
        Self::new::<N>(field, rel, Key::Id, Kind::Fixed(window))
    }

    /// The row the parent's foreign key `key` refers to (`rel` a by-ID relation).
    pub const fn reference<N: Prefetch>(field: &'static str, rel: &'static dyn Relation, key: Key) -> Self {
        Self::new::<N>(field, rel, key, Kind::List)
    }
}

/// An object type whose relation fields the planner may load ahead.
pub trait Prefetch {
    fn edges() -> &'static [Edge] {
        &[]
    }
}

/// The types whose tables the planner reads: the one GraphQL type that shows each table's
/// rows (no other type wraps these rows).
const TYPES: &[NodeType] = &[
    NodeType::Community,
    NodeType::Plan,
    NodeType::PlanInvolvement,
    NodeType::Action,
    NodeType::ActionDepartment,
    NodeType::ActionUpdate,
    NodeType::Partnership,
    NodeType::PartnershipMember,
    NodeType::Organization,
    NodeType::Department,
    NodeType::Theme,
    NodeType::Idea,
    NodeType::IdeaExchange,
    NodeType::EngagementEvent,
    NodeType::Contact,
];

/// Columns a compiled read may leave out (long texts, and values few pages show): the column
/// (of the table of one of [`TYPES`]) and every field of that type that reads it (no other
/// resolver does). Only columns that may be null or hold a text or a number: a left-out column
/// reads as a placeholder its model must accept.
const COLUMNS: &[(ColumnName, &[&str])] = &[
    (table_column!(community::Slug), &["slug"]),
    (table_column!(plan::AdoptedOn), &["adoptedOn"]),
    (table_column!(action::StartOn), &["startOn"]),
    (table_column!(action::DueOn), &["dueOn"]),
    (table_column!(action::CompletedOn), &["completedOn"]),
    (table_column!(action::BudgetEstimate), &["budgetEstimate"]),
    (table_column!(partnership::StartsOn), &["startsOn"]),
    (table_column!(partnership::EndsOn), &["endsOn"]),
    (table_column!(partnership_member::AmountDkk), &["amountDkk"]),
    (table_column!(organization::Slug), &["slug"]),
    (table_column!(organization::Website), &["website"]),
    (table_column!(department::Slug), &["slug"]),
    (table_column!(theme::Slug), &["slug"]),
    (table_column!(community::Description), &["description"]),
    (table_column!(plan::Summary), &["summary"]),
    (table_column!(plan::Vision), &["vision"]),
    (table_column!(plan::InternalNotes), &["internalNotes"]),
    (table_column!(plan_involvement::Description), &["description"]),
    (table_column!(action::Description), &["description"]),
    (table_column!(action::InternalNotes), &["internalNotes"]),
    (table_column!(action::PartnerNeeds), &["partnerNeeds"]),
    (table_column!(action_department::Contribution), &["contribution"]),
    (table_column!(action_update::Body), &["body"]),
    (table_column!(partnership::Description), &["description"]),
    (table_column!(partnership::InternalNotes), &["internalNotes"]),
    (table_column!(partnership::ProposalMessage), &["proposalMessage"]),
    (table_column!(partnership::DeclineMessage), &["declineMessage"]),
    (table_column!(partnership_member::Contribution), &["contribution"]),
    (table_column!(organization::Description), &["description"]),
    (table_column!(department::Description), &["description"]),
    (table_column!(theme::Description), &["description"]),
    (table_column!(idea::Description), &["description"]),
    (table_column!(idea_exchange::Outcome), &["outcome"]),
    (table_column!(engagement_event::Description), &["description"]),
];

/// The bookkeeping columns of every table of [`TYPES`] (named alike in each, as the plan's
/// are) and the one field that reads each.
const RECORD: &[(ColumnName, &str)] = &[
    (table_column!(plan::CreatedAt), "createdAt"),
    (table_column!(plan::UpdatedAt), "updatedAt"),
    (table_column!(plan::Version), "version"),
];

/// A column a compiled read may leave out, and the fields of `ty` that read it. Left out, a
/// column reads as a placeholder no selected field shows: an empty text, zero, the epoch, or
/// NULL where it may be null.
#[derive(Debug)]
struct Prunable {
    table: &'static str,
    column: &'static str,
    ty: &'static str,
    fields: &'static [&'static str],
}

static PRUNABLE: std::sync::LazyLock<Vec<Prunable>> = std::sync::LazyLock::new(|| {
    let mut all: Vec<Prunable> = COLUMNS
        .iter()
        .map(|(column, fields)| {
            let (table, column) = column();
            let ty = TYPES
                .iter()
                .find(|t| t.table() == table)
                .unwrap_or_else(|| panic!("{table}: not a table of the planner's types"));
            Prunable {
                table,
                column,
                ty: ty.name(),
                fields,
            }
        })
        .collect();
    for ty in TYPES {
        for (column, field) in RECORD {
            all.push(Prunable {
                table: ty.table(),
                column: column().1,
                ty: ty.name(),
                fields: std::slice::from_ref(field),
            });
        }
    }
    assert!(all.len() <= 128, "the pruned columns are a u128 mask");
    all
});

/// Which of [`PRUNABLE`] no field of the operation reads (bit `i` for entry `i`). The walk
/// follows the operation's types: `description` on a community keeps the communities'
/// descriptions, not the actions'. A field selected on an interface or a union counts for
/// every type.
fn pruned_columns(ctx: &Context<'_>) -> u128 {
    use async_graphql::{
        parser::types::{OperationType, Selection, SelectionSet},
        registry::{MetaType, MetaTypeName, Registry},
    };
    use std::collections::HashSet;
    struct Walk<'a> {
        registry: &'a Registry,
        fragments: &'a HashMap<
            async_graphql::Name,
            async_graphql::Positioned<async_graphql::parser::types::FragmentDefinition>,
        >,
        /// Fragments already walked (always on their own type condition): again adds nothing.
        seen: HashSet<&'a str>,
        read: u128,
    }
    impl<'a> Walk<'a> {
        fn set(&mut self, ty: &'a str, set: &'a SelectionSet) {
            let meta = self.registry.types.get(ty);
            let object = matches!(meta, Some(MetaType::Object { .. }));
            for item in &set.items {
                match &item.node {
                    Selection::Field(f) => {
                        let name = f.node.name.node.as_str();
                        for (i, p) in PRUNABLE.iter().enumerate() {
                            if (!object || p.ty == ty) && p.fields.contains(&name) {
                                self.read |= 1 << i;
                            }
                        }
                        if let Some(field) = meta.and_then(|m| m.field_by_name(name)) {
                            let child = MetaTypeName::concrete_typename(&field.ty);
                            self.set(child, &f.node.selection_set.node);
                        }
                    }
                    Selection::InlineFragment(f) => {
                        let on = f
                            .node
                            .type_condition
                            .as_ref()
                            .map_or(ty, |c| c.node.on.node.as_str());
                        self.set(on, &f.node.selection_set.node);
                    }
                    Selection::FragmentSpread(s) => {
                        let name = s.node.fragment_name.node.as_str();
                        if let Some(fragment) = self.fragments.get(name)
                            && self.seen.insert(name)
                        {
                            let on = fragment.node.type_condition.node.on.node.as_str();
                            self.set(on, &fragment.node.selection_set.node);
                        }
                    }
                }
            }
        }
    }
    let env = ctx.query_env;
    let registry = &ctx.schema_env.registry;
    let root = match env.operation.node.ty {
        OperationType::Query => Some(registry.query_type.as_str()),
        OperationType::Mutation => registry.mutation_type.as_deref(),
        OperationType::Subscription => registry.subscription_type.as_deref(),
    };
    let mut walk = Walk {
        registry,
        fragments: &env.fragments,
        seen: HashSet::new(),
        read: 0,
    };
    walk.set(root.unwrap_or_default(), &env.operation.node.selection_set.node);
    let all = u128::MAX >> (128 - PRUNABLE.len());
    all & !walk.read
}

/// A relation as the planner sees it, whatever its row type.
pub trait Relation: Sync {
    fn name(&self) -> &'static str;
    fn table(&self) -> &'static str;
    /// The name of its table's primary key.
    fn id_column(&self) -> &'static str;
    /// Its listing under a parent row of the same statement, keyed by that row's own ID when
    /// `by_parent_id` (see [`Rel::under_visible_parent`]); else the full listing.
    fn nested_listing(&self, access: &Access, by_parent_id: bool) -> Listing;
    /// The table's columns in the model's field order: name, type, whether it may be null.
    fn columns(&self) -> Vec<(&'static str, ColumnType, bool)>;
    /// The models of `rows` (positions and the JSON cells of the columns the statement read,
    /// in the order of `layout`), as the loaders keep them: a page of `total` rows when
    /// `window` is given, else a list; and for each row the UUIDs in its columns `keys` (what
    /// its children are keyed by).
    fn decode(
        &self,
        rows: &[(i64, &[&RawValue])],
        layout: &[Cell],
        total: i64,
        window: Option<Window>,
        keys: &[&str],
    ) -> Result<(Erased, RowKeys), String>;
}

/// For each decoded row, the UUIDs its children are keyed by.
type RowKeys = Vec<Vec<Option<Uuid>>>;

type Columns<M> = <<M as ModelTrait>::Entity as EntityTrait>::Column;

impl<M: Row + DeserializeOwned> Relation for Rel<M> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn table(&self) -> &'static str {
        use sea_orm::EntityName;
        <M as ModelTrait>::Entity::default().table_name()
    }

    fn id_column(&self) -> &'static str {
        crate::loader::id_column::<<M as ModelTrait>::Entity>().as_str()
    }

    fn nested_listing(&self, access: &Access, by_parent_id: bool) -> Listing {
        match self.under_visible {
            Some(listing) if by_parent_id => listing(access),
            _ => (self.listing)(access),
        }
    }

    fn columns(&self) -> Vec<(&'static str, ColumnType, bool)> {
        Columns::<M>::iter()
            .map(|c| {
                let def = c.def();
                (c.as_str(), def.get_column_type().clone(), def.is_null())
            })
            .collect()
    }

    fn decode(
        &self,
        rows: &[(i64, &[&RawValue])],
        layout: &[Cell],
        total: i64,
        window: Option<Window>,
        keys: &[&str],
    ) -> Result<(Erased, RowKeys), String> {
        let mut models = Vec::with_capacity(rows.len());
        let mut row_keys = Vec::with_capacity(rows.len());
        for (pos, cells) in rows {
            let model = M::deserialize(Cells { cells, layout }).map_err(|e| format!("{}: {e}", self.name))?;
            row_keys.push(keys.iter().map(|k| key_of(&model, k)).collect());
            models.push((*pos, model));
        }
        let erased: Erased = match window {
            Some(_) => Arc::new(Arc::new(Page { rows: models, total })),
            None => Arc::new(Arc::new(models.into_iter().map(|(_, m)| m).collect::<Vec<M>>())),
        };
        Ok((erased, row_keys))
    }
}

/// One relation to load under each row of its parent, with what to load under its own rows.
#[derive(Clone)]
struct Fetch {
    edge: &'static Edge,
    /// None for a list.
    window: Option<Window>,
    /// Whether the page's size is needed (`totalCount`, `pageInfo`, a page from the end).
    total: bool,
    children: Vec<Fetch>,
}

impl PartialEq for Fetch {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.edge, other.edge)
            && self.window == other.window
            && self.total == other.total
            && self.children == other.children
    }
}

impl Eq for Fetch {}

impl Hash for Fetch {
    fn hash<H: Hasher>(&self, state: &mut H) {
        std::ptr::hash(self.edge, state);
        self.window.hash(state);
        self.total.hash(state);
        self.children.hash(state);
    }
}

/// Most nested lists one statement loads. The planner does not follow fragments' type
/// conditions (a union's three kinds of party each take every field selected under any of
/// them), so a crafted query could otherwise plan a statement far bigger than its cost says;
/// beyond this the loaders take the rest.
const MAX_FETCHES: usize = 64;

/// The relations of `fields` (selected on a type with `edges`), merged where the same
/// relation is selected twice (aliases, fragments); at most `budget` of them, nested ones
/// included.
fn plan<'a>(
    edges: &'static [Edge],
    fields: impl IntoIterator<Item = SelectionField<'a>>,
    out: &mut Vec<Fetch>,
    budget: &mut usize,
) {
    if edges.is_empty() {
        return;
    }
    for field in fields {
        for edge in edges.iter().filter(|e| e.field == field.name()) {
            if *budget == 0 {
                return;
            }
            *budget -= 1;
            if let Some(fetch) = fetch_of(edge, field, budget) {
                merge(out, fetch);
            }
        }
    }
}

fn merge(out: &mut Vec<Fetch>, fetch: Fetch) {
    match out
        .iter_mut()
        .find(|f| std::ptr::eq(f.edge, fetch.edge) && f.window == fetch.window)
    {
        Some(same) => {
            same.total |= fetch.total;
            for child in fetch.children {
                merge(&mut same.children, child);
            }
        }
        None => out.push(fetch),
    }
}

/// The rows' fields of a connection field: those under `nodes` and under `edges.node`.
fn connection_rows<'a>(field: SelectionField<'a>) -> (Vec<SelectionField<'a>>, bool) {
    let mut rows = Vec::new();
    let mut total = false;
    for f in field.selection_set() {
        match f.name() {
            "totalCount" | "pageInfo" => total = true,
            "nodes" => rows.extend(f.selection_set()),
            "edges" => rows.extend(
                f.selection_set()
                    .filter(|n| n.name() == "node")
                    .flat_map(|n| n.selection_set().collect::<Vec<_>>()),
            ),
            _ => {}
        }
    }
    (rows, total)
}

fn fetch_of(edge: &'static Edge, field: SelectionField<'_>, budget: &mut usize) -> Option<Fetch> {
    let (window, total, rows) = match edge.kind {
        Kind::List => (None, false, field.selection_set().collect()),
        Kind::Fixed(window) => (Some(window), false, field.selection_set().collect()),
        Kind::Connection => {
            let window = window_of(field)?;
            // A page after a cursor may be empty in a non-empty list, and its size then needs
            // a count of its own: the loaders know how.
            if window.may_skip_rows() {
                return None;
            }
            let (rows, total) = connection_rows(field);
            (Some(window), total || window.from_end, rows)
        }
    };
    let mut children = Vec::new();
    plan((edge.child)(), rows, &mut children, budget);
    Some(Fetch {
        edge,
        window,
        total,
        children,
    })
}

/// The page a connection field asks for, if its arguments are valid (else its resolver says
/// what is wrong).
fn window_of(field: SelectionField<'_>) -> Option<Window> {
    let arguments = field.arguments().ok()?;
    let get = |name: &str| arguments.iter().find(|(n, _)| n.as_str() == name).map(|(_, v)| v);
    let int = |name: &str| match get(name) {
        None | Some(GqlValue::Null) => Ok(None),
        Some(GqlValue::Number(n)) => n.as_i64().and_then(|n| i32::try_from(n).ok()).map(Some).ok_or(()),
        Some(_) => Err(()),
    };
    let string = |name: &str| match get(name) {
        None | Some(GqlValue::Null) => Ok(None),
        Some(GqlValue::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(()),
    };
    Window::parse(
        int("first").ok()?,
        string("after").ok()?,
        int("last").ok()?,
        string("before").ok()?,
    )
    .ok()
}

/// Builds the sub-selects of a statement.
struct Builder<'a> {
    backend: DbBackend,
    access: &'a Access,
    /// Derived tables are named `t0`, `t1`, … so a correlated reference names its parent's.
    next: usize,
}

impl Builder<'_> {
    fn array(&self, items: Vec<SimpleExpr>) -> SimpleExpr {
        let name = match self.backend {
            DbBackend::Postgres => "json_build_array",
            _ => "json_array",
        };
        Func::cust(Alias::new(name)).args(items).into()
    }

    /// A column of a derived table as a JSON value its model's `Deserialize` reads: SQLite
    /// keeps UUIDs as blobs (JSON has none: hex) and booleans as 0/1.
    fn column(&self, table: &str, name: &str, ty: &ColumnType) -> SimpleExpr {
        let c = format!("\"{table}\".\"{name}\"");
        if self.backend != DbBackend::Sqlite {
            return Expr::cust(c);
        }
        match ty {
            // A UUID written as text (by hand, or an old migration) is read as it is.
            ColumnType::Uuid => {
                Expr::cust(format!("CASE typeof({c}) WHEN 'blob' THEN hex({c}) ELSE {c} END"))
            }
            // SQLite's JSON writes 15 significant digits; 17 read back as the same double.
            ColumnType::Double | ColumnType::Float => Expr::cust(format!(
                "CASE WHEN {c} IS NULL THEN NULL ELSE json(printf('%!.17g', {c})) END"
            )),
            ColumnType::Boolean => Expr::cust(format!(
                "CASE WHEN {c} IS NULL THEN NULL WHEN {c} THEN json('true') ELSE json('false') END"
            )),
            _ => Expr::cust(c),
        }
    }

    /// The rows of `fetch` under the row of the derived table `outer`, as a JSON array of
    /// `[position, total, cells…, children…]` with the cells `layouts` reads (the decoder reads
    /// them by the same layouts); None when its relation has no parent column.
    fn nested(
        &mut self,
        fetch: &Fetch,
        layouts: &Layouts,
        outer: &str,
        outer_id: &'static str,
    ) -> Option<SimpleExpr> {
        // Every parent row here was read under the caller's rules (the root's listing, or a
        // nested one of this statement): what its visibility implies is not checked again, where
        // the rows hang under the parent's own ID (the shortcuts are written for that).
        let listing = fetch
            .edge
            .rel
            .nested_listing(self.access, matches!(fetch.edge.key, Key::Id));
        let parent = listing.parent.clone()?;
        let alias = format!("t{}", self.next);
        self.next += 1;
        // A reference (the one row a foreign key of the parent names) needs no numbering and no
        // aggregate: its row, if any, as a list of one.
        let reference = matches!(fetch.edge.key, Key::Foreign(_)) && fetch.window.is_none();
        // Rows are numbered only where the window picks them by number (from the end, after a
        // cursor). A list, or a page from the start, is aggregated in its order instead and
        // its rows carry position 0: the decoder numbers them as they come.
        let numbered = !reference && fetch.window.is_some_and(|w| w.from_end || w.may_skip_rows());
        let mut inner = listing.select.clone();
        if numbered {
            inner.expr_as(
                Expr::cust(format!("ROW_NUMBER() OVER (ORDER BY {})", listing.order_sql())),
                Alias::new(RN),
            );
        }
        // The order's values as columns of the derived table, for the aggregate's ORDER BY.
        let mut order = Vec::new();
        if !reference && !numbered {
            for (i, (expr, direction)) in listing.order.iter().enumerate() {
                let name = format!("{ORDER}{i}");
                inner.expr_as(Expr::cust(expr.clone()), Alias::new(&name));
                order.push((format!("\"{alias}\".\"{name}\""), direction.clone()));
            }
        }
        if fetch.total {
            inner.expr_as(Expr::cust("COUNT(*) OVER ()"), Alias::new(TOTAL));
        }
        inner.and_where(Expr::cust(format!(
            "{parent} = \"{outer}\".\"{}\"",
            fetch.edge.key.column(outer_id)
        )));
        let mut select = Query::select();
        match &fetch.window {
            // A page from the start (the planner leaves pages after a cursor to the loaders):
            // the database stops after its rows instead of numbering the whole list.
            Some(window) if !window.from_end && !window.may_skip_rows() => {
                listing.first_rows(&mut inner, u64::try_from(window.size).unwrap_or(0));
            }
            Some(window) => window_condition(&mut select, &alias, window),
            None => {}
        }
        select.from_subquery(inner, Alias::new(&alias));
        let mut row = vec![
            Expr::cust(match (reference, numbered) {
                (true, _) => "1".to_owned(),
                (false, true) => format!("\"{alias}\".\"{RN}\""),
                (false, false) => "0".to_owned(),
            }),
            Expr::cust(if fetch.total {
                format!("\"{alias}\".\"{TOTAL}\"")
            } else {
                "0".to_owned()
            }),
        ];
        let columns = fetch.edge.rel.columns();
        for (cell, (name, ty, _)) in layouts.cells.iter().zip(&columns) {
            if let Cell::Read = cell {
                row.push(self.column(&alias, name, ty));
            }
        }
        for (child, child_layouts) in fetch.children.iter().zip(&layouts.children) {
            row.push(
                self.nested(child, child_layouts, &alias, fetch.edge.rel.id_column())
                    .unwrap_or_else(|| Expr::cust("NULL")),
            );
        }
        let row = self.array(row);
        if reference {
            select.expr(self.array(vec![row])).limit(1);
            let sub = SimpleExpr::SubQuery(None, Box::new(SubQueryStatement::SelectStatement(select)));
            return Some(match self.backend {
                DbBackend::Postgres => Func::coalesce([sub, Expr::cust("'[]'::json")]).into(),
                _ => Func::cust(Alias::new("json"))
                    .arg(Func::coalesce([sub, Expr::cust("'[]'")]))
                    .into(),
            });
        }
        let order_by = if order.is_empty() {
            String::new()
        } else {
            format!(" ORDER BY {}", order_sql(&order))
        };
        let aggregate: SimpleExpr = match self.backend {
            DbBackend::Postgres => {
                Expr::cust_with_exprs(format!("COALESCE(json_agg($1{order_by}), '[]'::json)"), [row])
            }
            // Ordered aggregates need SQLite 3.44, and the rows stay JSON (not quoted text)
            // through the sort only in later versions: this relies on the SQLite that sqlx
            // bundles (3.51.3 with sqlx 0.9), which the tests run.
            _ => Expr::cust_with_exprs(format!("json_group_array(?{order_by})"), [row]),
        };
        select.expr(aggregate);
        let sub = SimpleExpr::SubQuery(None, Box::new(SubQueryStatement::SelectStatement(select)));
        Some(match self.backend {
            // A sub-select's value loses SQLite's JSON subtype: `json()` gives it back, so the
            // parent's array nests it instead of quoting it.
            DbBackend::Sqlite => Func::cust(Alias::new("json")).arg(sub).into(),
            _ => sub,
        })
    }
}

/// Where a model's column comes from in a nested row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    /// The next cell the statement read.
    Read,
    /// Left out (see [`PRUNABLE`]): this JSON instead, a value of the column's type that no
    /// selected field shows.
    LeftOut(&'static str),
}

/// For each column of `rel` (in its model's field order), whether the statement reads it.
fn layout(rel: &dyn Relation, pruned: u128) -> Vec<Cell> {
    let table = rel.table();
    rel.columns()
        .iter()
        .map(|(name, ty, nullable)| {
            let left_out = PRUNABLE
                .iter()
                .enumerate()
                .any(|(i, p)| pruned & (1 << i) != 0 && p.table == table && p.column == *name);
            if !left_out {
                return Cell::Read;
            }
            Cell::LeftOut(match ty {
                _ if *nullable => "null",
                ColumnType::TinyInteger
                | ColumnType::SmallInteger
                | ColumnType::Integer
                | ColumnType::BigInteger => "0",
                ColumnType::Timestamp | ColumnType::TimestampWithTimeZone | ColumnType::DateTime => {
                    "\"1970-01-01T00:00:00Z\""
                }
                _ => "\"\"",
            })
        })
        .collect()
}

/// The layouts of a planned tree of fetches, in the same shape.
struct Layouts {
    cells: Vec<Cell>,
    /// How many cells the statement reads for each row.
    read: usize,
    children: Vec<Layouts>,
}

impl Layouts {
    fn of(fetch: &Fetch, pruned: u128) -> Self {
        let cells = layout(fetch.edge.rel, pruned);
        Layouts {
            read: cells.iter().filter(|c| **c == Cell::Read).count(),
            cells,
            children: fetch.children.iter().map(|c| Layouts::of(c, pruned)).collect(),
        }
    }
}

/// A model's fields from a row's cells and the placeholders of the columns left out: a
/// sequence, as the models' `Deserialize` reads a JSON array.
struct Cells<'a, 'de> {
    cells: &'a [&'de RawValue],
    layout: &'a [Cell],
}

impl<'de> serde::Deserializer<'de> for Cells<'_, 'de> {
    type Error = serde_json::Error;

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        struct Seq<'a, 'de> {
            cells: std::slice::Iter<'a, &'de RawValue>,
            layout: std::slice::Iter<'a, Cell>,
        }
        impl<'de> serde::de::SeqAccess<'de> for Seq<'_, 'de> {
            type Error = serde_json::Error;

            fn next_element_seed<T: serde::de::DeserializeSeed<'de>>(
                &mut self,
                seed: T,
            ) -> Result<Option<T::Value>, Self::Error> {
                let json: &'de str = match self.layout.next() {
                    None => return Ok(None),
                    Some(Cell::LeftOut(json)) => json,
                    Some(Cell::Read) => match self.cells.next() {
                        Some(cell) => cell.get(),
                        None => {
                            return Err(serde::de::Error::custom(
                                "a row has fewer cells than read columns",
                            ));
                        }
                    },
                };
                let mut de = serde_json::Deserializer::from_str(json);
                seed.deserialize(&mut de).map(Some)
            }

            fn size_hint(&self) -> Option<usize> {
                Some(self.layout.len())
            }
        }
        visitor.visit_seq(Seq {
            cells: self.cells.iter(),
            layout: self.layout.iter(),
        })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

/// The column of the root statement holding the rows of its `i`th relation.
fn nested_column(i: usize) -> String {
    format!("lup_c{i}")
}

/// What one shape's statement is kept under.
#[derive(Clone, PartialEq, Eq, Hash)]
struct ShapeKey {
    field: String,
    arguments: String,
    access: Access,
    window: Window,
    /// What the page tells of its list's size.
    size: Size,
    fetches: Vec<Fetch>,
    pruned: u128,
}

/// The SQL of the shapes seen so far (bounded: the website asks few shapes, an attacker could
/// ask many, and then the oldest are simply built again).
#[derive(Default)]
pub struct Statements {
    by_shape: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    map: HashMap<ShapeKey, Arc<Compiled>>,
    bytes: usize,
}

/// A shape's statement and how to read its nested rows.
struct Compiled {
    statement: Statement,
    /// One per planned fetch, in order.
    layouts: Vec<Layouts>,
    /// Read by [`Listing::limited_select`]: its rows are numbered and its size set as they come.
    limited: bool,
}

/// Shapes kept; beyond it the cache starts again.
const MAX_SHAPES: usize = 1024;
/// Memory the kept statements may take (their SQL text and keys, roughly).
const MAX_BYTES: usize = 16 * 1024 * 1024;
/// A shape whose arguments are longer than this is built each time, not kept: real clients'
/// arguments are short, and long ones would fill the cache.
const MAX_KEPT_ARGUMENTS: usize = 1024;

impl Statements {
    fn get_or_build(&self, key: &ShapeKey, build: impl FnOnce() -> Compiled) -> Arc<Compiled> {
        if key.arguments.len() > MAX_KEPT_ARGUMENTS {
            return Arc::new(build());
        }
        if let Some(s) = self.lock().map.get(key) {
            return s.clone();
        }
        // Built outside the lock: concurrent first requests of a shape may each build it.
        let statement = Arc::new(build());
        let bytes = statement.statement.sql.len() + key.arguments.len() + key.field.len() + 256;
        let mut kept = self.lock();
        if kept.map.len() >= MAX_SHAPES || kept.bytes + bytes > MAX_BYTES {
            kept.map.clear();
            kept.bytes = 0;
        }
        if kept.map.insert(key.clone(), statement.clone()).is_none() {
            kept.bytes += bytes;
        }
        statement
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.by_shape.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The UUID in `column` of `model`.
fn key_of<M: ModelTrait>(model: &M, column: &str) -> Option<Uuid> {
    let column = Columns::<M>::from_str(column).ok()?;
    match model.get(column) {
        Value::Uuid(Some(u)) => Some(u),
        _ => None,
    }
}

/// Decodes the JSON rows of `fetch` under `parent` and, recursively, their children's, into
/// `out` under the loaders' keys. Each level only splits its text into rows and cells
/// (borrowed, unparsed); a row's cells are parsed once, straight into its model.
fn decode(
    fetch: &Fetch,
    layouts: &Layouts,
    parent: Uuid,
    json: &RawValue,
    out: &mut Vec<Loaded>,
) -> Result<(), String> {
    let rows: Vec<Vec<&RawValue>> = serde_json::from_str(json.get()).map_err(|e| e.to_string())?;
    let mut parsed: Vec<(i64, i64, &[&RawValue], &[&RawValue])> = Vec::with_capacity(rows.len());
    for (index, row) in rows.iter().enumerate() {
        let number = |i: usize| row.get(i).and_then(|v| v.get().parse::<i64>().ok());
        let (Some(pos), Some(total)) = (number(0), number(1)) else {
            return Err("a nested row lacks its position or total".into());
        };
        // Position 0: the rows came in their order (an ordered aggregate).
        let pos = if pos == 0 { index as i64 + 1 } else { pos };
        if row.len() != 2 + layouts.read + fetch.children.len() {
            return Err(format!(
                "a nested row of {} has {} values, not 2 + {} cells + {} children",
                fetch.edge.rel.name(),
                row.len(),
                layouts.read,
                fetch.children.len()
            ));
        }
        let cells = &row[2..2 + layouts.read];
        parsed.push((pos, total, cells, &row[2 + layouts.read..]));
    }
    parsed.sort_by_key(|r| r.0);
    let total = parsed.first().map_or(0, |r| r.1);
    let models: Vec<(i64, &[&RawValue])> = parsed.iter().map(|r| (r.0, r.2)).collect();
    let id = fetch.edge.rel.id_column();
    let keys: Vec<&str> = fetch.children.iter().map(|c| c.edge.key.column(id)).collect();
    let (erased, row_keys) = fetch
        .edge
        .rel
        .decode(&models, &layouts.cells, total, fetch.window, &keys)?;
    // A page is whole when its size was asked for (`Fetch::total`); a list always is.
    let whole = fetch.window.is_none() || fetch.total;
    out.push(((fetch.edge.rel.name(), fetch.window, parent), erased, whole));
    for (i, (child, child_layouts)) in fetch.children.iter().zip(&layouts.children).enumerate() {
        for ((_, _, _, children), keys) in parsed.iter().zip(&row_keys) {
            let (Some(Some(key)), Some(json)) = (keys.get(i), children.get(i)) else {
                continue;
            };
            if json.get() != "null" {
                decode(child, child_layouts, *key, json, out)?;
            }
        }
    }
    Ok(())
}

/// How a root field's own value relates to its selection.
#[derive(Debug, Clone, Copy)]
pub enum Root {
    /// A connection: its rows' fields are under `nodes` and `edges.node`.
    Connection,
    /// A single object (or null), the listing's first row: its fields are the field's own
    /// selection.
    Object,
}

/// A top-level page of `listing` (no parent) with everything its selection nests under its
/// rows, loaded in one statement when the selection has relations the planner knows; the
/// nested rows are left with the loaders for the resolvers below.
pub async fn top_page<M, N>(
    ctx: &Context<'_>,
    listing: Listing,
    window: &Window,
    root: Root,
) -> async_graphql::Result<Page<M>>
where
    M: Row,
    N: Prefetch,
{
    let loaders = crate::loader::loaders(ctx);
    let field = ctx.field();
    let mut fetches = Vec::new();
    let mut budget = MAX_FETCHES;
    if loaders.reads().compiled {
        match root {
            Root::Connection => plan(N::edges(), connection_rows(field).0, &mut fetches, &mut budget),
            Root::Object => plan(N::edges(), field.selection_set(), &mut fetches, &mut budget),
        }
    }
    let db = loaders.db();
    // Compiled, a root without nested lists still keeps its SQL text for the next request.
    if !loaders.reads().compiled {
        let mut pages = listing
            .fetch::<M>(db, &[], window)
            .await
            .map_err(ApiError::from)?;
        let page = pages.remove(&None).unwrap_or_default();
        loaders.remember(page.rows.iter().map(|(_, m)| m));
        return Ok(page);
    }
    let access = loaders.access().clone();
    let key = ShapeKey {
        field: field.name().to_owned(),
        arguments: format!("{:?}", field.arguments().unwrap_or_default()),
        access: access.clone(),
        window: *window,
        size: match root {
            Root::Connection => Size::of_connection(field),
            Root::Object => Size::None,
        },
        fetches,
        pruned: pruned_columns(ctx),
    };
    let backend = db.get_database_backend();
    let root_id = crate::loader::id_column::<<M as ModelTrait>::Entity>().as_str();
    let compiled = {
        let fetches = &key.fetches;
        loaders.reads().statements.get_or_build(&key, || {
            let layouts: Vec<Layouts> = fetches.iter().map(|f| Layouts::of(f, key.pruned)).collect();
            let limited = match root {
                Root::Object => None,
                Root::Connection => listing.limited_select(window, key.size),
            };
            let is_limited = limited.is_some();
            let mut select = match (root, limited) {
                (_, Some(select)) => select,
                (Root::Object, None) => listing.first_row_select(),
                (Root::Connection, None) => listing.page_select(db, &[], window),
            };
            let mut builder = Builder {
                backend,
                access: &access,
                next: 0,
            };
            for (i, (fetch, layouts)) in fetches.iter().zip(&layouts).enumerate() {
                let nested = builder
                    .nested(fetch, layouts, PAGE_ALIAS, root_id)
                    .unwrap_or_else(|| Expr::cust("NULL"));
                let nested = match backend {
                    DbBackend::Postgres => Func::cast_as(nested, Alias::new("text")).into(),
                    _ => nested,
                };
                select.expr_as(nested, Alias::new(nested_column(i)));
            }
            Compiled {
                statement: backend.build(&select),
                layouts,
                limited: is_limited,
            }
        })
    };
    let rows = crate::pagination::query_statement(db, &compiled.statement)
        .await
        .map_err(ApiError::from)?;
    let mut page = Page::default();
    let mut loaded = Vec::new();
    for row in rows {
        let (_, pos, total, model) = listing.read_row::<M>(&row).map_err(ApiError::from)?;
        for (i, (fetch, layouts)) in key.fetches.iter().zip(&compiled.layouts).enumerate() {
            let Some(parent) = key_of(&model, fetch.edge.key.column(root_id)) else {
                continue;
            };
            let text: Option<String> = row.try_get("", &nested_column(i)).map_err(ApiError::from)?;
            let decoded = text
                .as_deref()
                .ok_or_else(|| "no nested rows".to_owned())
                .and_then(|t| serde_json::from_str::<&RawValue>(t).map_err(|e| e.to_string()))
                .and_then(|json| decode(fetch, layouts, parent, json, &mut loaded));
            // A shape the decoder cannot read is a defect here, not the caller's: the loaders
            // still answer correctly, at the price of their statements.
            if let Err(e) = decoded {
                loaders
                    .reads()
                    .fallbacks
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tracing::error!(error = %e, field = field.name(), "compiled read not decoded; the loaders take over");
            }
        }
        page.total = total;
        page.rows.push((pos, model));
    }
    if compiled.limited {
        key.size.finish(window, &mut page);
    }
    let uncounted = compiled.limited && key.size != Size::Count && !window.from_end;
    if uncounted && page.rows.is_empty() && window.after > 0 {
        // A page past a cursor, in a list not counted: `hasPreviousPage` needs to know only
        // whether the list has any row (and nothing without `pageInfo`).
        if key.size == Size::Peek && !listing.has_rows(db).await.map_err(ApiError::from)? {
            page.total = 0;
        }
    }
    // An empty page is counted apart when it may lie past the end (see `complete_totals`).
    let mut pages = HashMap::new();
    if !page.rows.is_empty() || uncounted {
        pages.insert(None, page);
    }
    listing
        .complete_totals(db, &[], window, &mut pages)
        .await
        .map_err(ApiError::from)?;
    loaders.store(loaded);
    let page = pages.remove(&None).unwrap_or_default();
    loaders.remember(page.rows.iter().map(|(_, m)| m));
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::{Edge, Kind, Prefetch};
    use crate::relay::NodeType;

    /// Every edge names a field of its type, a connection where it pages by arguments and a
    /// plain field otherwise (a misspelt edge would silently never load ahead).
    #[test]
    fn edges_name_fields_of_their_types() {
        let sdl = crate::schema::sdl();
        type Edges = fn() -> &'static [Edge];
        let types: [(NodeType, Edges); 16] = [
            (NodeType::Community, crate::community::Community::edges),
            (NodeType::Plan, crate::plan::Plan::edges),
            (NodeType::PlanInvolvement, crate::plan::PlanInvolvement::edges),
            (NodeType::Action, crate::action::Action::edges),
            (NodeType::ActionDepartment, crate::action::ActionDepartment::edges),
            (NodeType::ActionUpdate, crate::action::ActionUpdate::edges),
            (NodeType::Partnership, crate::partnership::Partnership::edges),
            (
                NodeType::PartnershipMember,
                crate::partnership::PartnershipMember::edges,
            ),
            (NodeType::Theme, crate::theme::Theme::edges),
            (NodeType::Organization, crate::organization::Organization::edges),
            (NodeType::Department, crate::department::Department::edges),
            (NodeType::Idea, crate::idea::Idea::edges),
            (NodeType::IdeaExchange, crate::idea::IdeaExchange::edges),
            (NodeType::Contact, crate::contact::Contact::edges),
            (
                NodeType::EngagementEvent,
                crate::engagement::EngagementEvent::edges,
            ),
            (NodeType::AnnualReview, crate::review::AnnualReview::edges),
        ];
        // A row is one `json_build_array` call: position, total, its cells and at most
        // MAX_FETCHES children, within PostgreSQL's 100 arguments.
        let widest = types
            .iter()
            .flat_map(|(_, edges)| edges().iter())
            .map(|e| e.rel.columns().len())
            .max()
            .unwrap_or(0);
        assert!(2 + widest + super::MAX_FETCHES <= 100, "{widest} columns");
        for p in super::PRUNABLE.iter() {
            // It is a column of a table some edge reads, and its placeholder must decode into
            // the model's field: a nullable column, a text, an integer or a timestamp. (An
            // enum stored as text passes here but not in the both-paths test, which counts
            // the compiled reads that failed to decode.)
            for e in types.iter().flat_map(|(_, edges)| edges().iter()) {
                if e.rel.table() != p.table {
                    continue;
                }
                let (_, ty, nullable) = e
                    .rel
                    .columns()
                    .into_iter()
                    .find(|(c, _, _)| *c == p.column)
                    .unwrap_or_else(|| panic!("{p:?}: no such column"));
                use sea_orm::ColumnType as T;
                assert!(
                    nullable
                        || matches!(
                            ty,
                            T::String(_)
                                | T::Text
                                | T::TinyInteger
                                | T::SmallInteger
                                | T::Integer
                                | T::BigInteger
                                | T::Timestamp
                                | T::TimestampWithTimeZone
                                | T::DateTime
                        ),
                    "{p:?}: a placeholder of {ty:?} does not decode"
                );
            }
            assert!(
                types
                    .iter()
                    .flat_map(|(_, edges)| edges().iter())
                    .any(|e| e.rel.table() == p.table),
                "{p:?}: no edge reads the table"
            );
            // Each field that reads a column is a field of the table's type.
            let start = sdl
                .find(&format!("type {} ", p.ty))
                .unwrap_or_else(|| panic!("{p:?}: type in the schema"));
            let block = &sdl[start..start + sdl[start..].find("\n}").expect("end of type")];
            for field in p.fields {
                let declared = block
                    .lines()
                    .map(str::trim)
                    .any(|l| l.starts_with(&format!("{field}:")) || l.starts_with(&format!("{field}(")));
                // Bookkeeping fields some types do not show: nothing reads the column then.
                assert!(
                    declared || super::RECORD.iter().any(|(_, f)| f == field),
                    "{p:?}: {field} is not a field of {}",
                    p.ty
                );
            }
        }
        for (node_type, edges) in types {
            let name = node_type.name();
            let start = sdl
                .find(&format!("type {name} "))
                .unwrap_or_else(|| panic!("type {name} in the schema"));
            let block = &sdl[start..start + sdl[start..].find("\n}").expect("end of type")];
            for edge in edges() {
                let line = block
                    .lines()
                    .map(str::trim)
                    .find(|l| {
                        l.starts_with(&format!("{}:", edge.field))
                            || l.starts_with(&format!("{}(", edge.field))
                    })
                    .unwrap_or_else(|| panic!("{name}.{} is not a field", edge.field));
                let connection = line.contains("Connection!");
                assert_eq!(
                    connection,
                    matches!(edge.kind, Kind::Connection),
                    "{name}.{}: {line}",
                    edge.field
                );
            }
        }
    }
}

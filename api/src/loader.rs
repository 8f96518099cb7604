//! DataLoaders, created per request: every nested list and reference goes through them, so
//! the number of SQL statements grows with the depth of a query, not with its rows.
//!
//! A [`Rel`] names a list of rows belonging to a parent ID (a plan's actions, an action's
//! themes, or a row by its own ID); the loaders batch the parents of one relation into one
//! statement.
use std::{
    any::Any,
    collections::{HashMap, HashSet},
    hash::{Hash, Hasher},
    marker::PhantomData,
    sync::{Arc, Mutex},
    time::Duration,
};

use async_graphql::{
    Context,
    dataloader::{DataLoader, Loader},
};
use sea_orm::{
    DatabaseConnection, EntityTrait, FromQueryResult, Iterable, ModelTrait, QueryTrait, Select, Value,
    sea_query::{Alias, Expr, ExprTrait, NullOrdering, Order, SelectStatement},
};
use uuid::Uuid;

use crate::{
    access::Access,
    error::{ApiError, LoadError},
    pagination::{Listing, Page, Window, query_all},
};

/// A relation: the rows of `M` under a parent ID.
pub struct Rel<M> {
    /// Unique name: loaders batch by it.
    pub name: &'static str,
    pub listing: fn(&Access) -> Listing,
    _model: PhantomData<fn() -> M>,
}

impl<M> Rel<M> {
    pub const fn new(name: &'static str, listing: fn(&Access) -> Listing) -> Self {
        Rel {
            name,
            listing,
            _model: PhantomData,
        }
    }
}

/// `"table"."column"`, for the SQL expressions of a [`Listing`].
pub fn qcol(table: &str, column: &str) -> String {
    format!("\"{table}\".\"{column}\"")
}

/// A listing of `select` under `parent` (a qualified column), ordered by `order` and then by
/// the table's ID.
pub fn listing<E: EntityTrait>(
    select: Select<E>,
    table: &str,
    parent: &str,
    order: &[(&str, Order)],
) -> Listing {
    Listing {
        select: select.into_query(),
        order: ordering(table, order),
        parent: Some(parent.to_owned()),
    }
}

/// The same, for a select that joins other tables (`parent` may name a joined column).
pub fn listing_stmt(select: SelectStatement, table: &str, parent: &str, order: &[(&str, Order)]) -> Listing {
    Listing {
        select,
        order: ordering(table, order),
        parent: Some(parent.to_owned()),
    }
}

pub fn ordering(table: &str, order: &[(&str, Order)]) -> Vec<(String, Order)> {
    let mut out: Vec<(String, Order)> = order.iter().map(|(c, o)| (qcol(table, c), o.clone())).collect();
    out.push((qcol(table, "id"), Order::Asc));
    out
}

pub struct PageKey<M: 'static> {
    pub rel: &'static Rel<M>,
    pub parent: Uuid,
    pub window: Window,
}

pub struct ListKey<M: 'static> {
    pub rel: &'static Rel<M>,
    pub parent: Uuid,
}

macro_rules! key_impls {
    ($key:ident, $($field:ident),*) => {
        impl<M> Clone for $key<M> {
            fn clone(&self) -> Self {
                $key { rel: self.rel, $($field: self.$field),* }
            }
        }
        impl<M> PartialEq for $key<M> {
            fn eq(&self, other: &Self) -> bool {
                self.rel.name == other.rel.name $(&& self.$field == other.$field)*
            }
        }
        impl<M> Eq for $key<M> {}
        impl<M> Hash for $key<M> {
            fn hash<H: Hasher>(&self, state: &mut H) {
                self.rel.name.hash(state);
                $(self.$field.hash(state);)*
            }
        }
    };
}
key_impls!(PageKey, parent, window);
key_impls!(ListKey, parent);

/// A loaded result: relation, page window (None for unpaged lists), parent.
type AheadKey = (&'static str, Option<Window>, Uuid);

/// A relation and the parents asked for in one batch.
type Batch<M> = (&'static Rel<M>, Vec<Uuid>);

/// Most parents one statement asks for; beyond it a relation takes several statements.
const MAX_PARENTS: usize = 1000;

/// The per-request loaders. Besides batching, they prefetch: the rows of one statement are
/// siblings (a page of actions, the members of many partnerships), and when a relation is
/// asked for some of them it is loaded for all of them at once and the rest kept for the
/// fields that ask a moment later. async-graphql polls long lists in slices, so without this
/// a list of 40 actions could take two or three statements per relation, more under load.
pub struct Loaders {
    db: DatabaseConnection,
    access: Access,
    /// For each UUID seen in a loaded row (IDs and references), all UUIDs of that statement.
    siblings: Mutex<HashMap<Uuid, Arc<Vec<Uuid>>>>,
    /// Results loaded in this request, including those loaded ahead for parents nobody asked
    /// for yet: (relation, window, parent).
    ahead: Mutex<HashMap<AheadKey, Arc<dyn Any + Send + Sync>>>,
}

pub type RequestLoader = DataLoader<Loaders>;

impl Loaders {
    pub fn for_request(db: DatabaseConnection, access: Access, delay: Duration) -> RequestLoader {
        let loaders = Loaders {
            db,
            access,
            siblings: Mutex::default(),
            ahead: Mutex::default(),
        };
        DataLoader::new(loaders, tokio::spawn).delay(delay)
    }

    /// Records the rows that came back from one statement: the values of each UUID column
    /// (the rows' IDs, their plans, their organisations, …) are siblings of each other.
    pub fn remember<'a, M: Row>(&self, rows: impl IntoIterator<Item = &'a M>) {
        let mut columns: Vec<(HashSet<Uuid>, Vec<Uuid>)> = Vec::new();
        for row in rows {
            for (i, u) in uuids(row).enumerate() {
                if columns.len() <= i {
                    columns.push((HashSet::new(), Vec::new()));
                }
                let (seen, values) = &mut columns[i];
                if let Some(u) = u
                    && seen.insert(u)
                {
                    values.push(u);
                }
            }
        }
        let mut siblings = self.siblings.lock().unwrap_or_else(|e| e.into_inner());
        for (_, values) in columns {
            if values.len() < 2 {
                continue;
            }
            let group = Arc::new(values);
            for u in group.iter() {
                siblings.insert(*u, group.clone());
            }
        }
    }

    /// The requested parents first, then their not yet loaded siblings, up to [`MAX_PARENTS`].
    fn with_siblings(&self, rel: &'static str, window: Option<Window>, requested: &[Uuid]) -> Vec<Uuid> {
        let mut out = requested.to_vec();
        let mut seen: HashSet<Uuid> = requested.iter().copied().collect();
        let siblings = self.siblings.lock().unwrap_or_else(|e| e.into_inner());
        let ahead = self.ahead.lock().unwrap_or_else(|e| e.into_inner());
        let mut groups_done = HashSet::new();
        for p in requested {
            let Some(group) = siblings.get(p) else { continue };
            if !groups_done.insert(Arc::as_ptr(group)) {
                continue;
            }
            for u in group.iter() {
                if out.len() >= MAX_PARENTS {
                    return out;
                }
                if !ahead.contains_key(&(rel, window, *u)) && seen.insert(*u) {
                    out.push(*u);
                }
            }
        }
        out
    }

    fn take_ahead<V: Clone + Send + Sync + 'static>(
        &self,
        rel: &'static str,
        window: Option<Window>,
        parent: Uuid,
    ) -> Option<V> {
        let ahead = self.ahead.lock().unwrap_or_else(|e| e.into_inner());
        ahead
            .get(&(rel, window, parent))
            .and_then(|v| v.downcast_ref::<V>())
            .cloned()
    }

    fn keep_ahead<V: Send + Sync + 'static>(
        &self,
        rel: &'static str,
        window: Option<Window>,
        parent: Uuid,
        value: V,
    ) {
        let mut ahead = self.ahead.lock().unwrap_or_else(|e| e.into_inner());
        ahead.insert((rel, window, parent), Arc::new(value));
    }
}

/// The value of each UUID column of a row (its ID and its references), in column order.
fn uuids<M: ModelTrait>(row: &M) -> impl Iterator<Item = Option<Uuid>> + '_ {
    <<M as ModelTrait>::Entity as EntityTrait>::Column::iter().filter_map(move |c| match row.get(c) {
        Value::Uuid(u) => Some(u),
        _ => None,
    })
}

pub trait Row: FromQueryResult + ModelTrait + Clone + Send + Sync + 'static {}
impl<T: FromQueryResult + ModelTrait + Clone + Send + Sync + 'static> Row for T {}

impl<M: Row> Loader<PageKey<M>> for Loaders {
    type Value = Page<M>;
    type Error = LoadError;

    async fn load(&self, keys: &[PageKey<M>]) -> Result<HashMap<PageKey<M>, Page<M>>, LoadError> {
        let mut out = HashMap::new();
        // A batch mixes relations of one row type: one statement per relation and window.
        let mut todo: HashMap<(&'static str, Window), Batch<M>> = HashMap::new();
        for k in keys {
            match self.take_ahead::<Page<M>>(k.rel.name, Some(k.window), k.parent) {
                Some(page) => {
                    out.insert(k.clone(), page);
                }
                None => todo
                    .entry((k.rel.name, k.window))
                    .or_insert_with(|| (k.rel, Vec::new()))
                    .1
                    .push(k.parent),
            }
        }
        for ((name, window), (rel, requested)) in todo {
            for chunk in requested.chunks(MAX_PARENTS) {
                let parents = self.with_siblings(name, Some(window), chunk);
                let mut pages = (rel.listing)(&self.access)
                    .fetch::<M>(&self.db, &parents, &window)
                    .await?;
                self.remember(pages.values().flat_map(|p| p.rows.iter().map(|(_, m)| m)));
                for (i, parent) in parents.into_iter().enumerate() {
                    let page = pages.remove(&Some(parent)).unwrap_or_default();
                    if i < chunk.len() {
                        out.insert(PageKey { rel, parent, window }, page.clone());
                    }
                    self.keep_ahead(name, Some(window), parent, page);
                }
            }
        }
        Ok(out)
    }
}

impl<M: Row> Loader<ListKey<M>> for Loaders {
    type Value = Vec<M>;
    type Error = LoadError;

    async fn load(&self, keys: &[ListKey<M>]) -> Result<HashMap<ListKey<M>, Vec<M>>, LoadError> {
        let mut out = HashMap::new();
        let mut todo: HashMap<&'static str, Batch<M>> = HashMap::new();
        for k in keys {
            match self.take_ahead::<Vec<M>>(k.rel.name, None, k.parent) {
                Some(rows) => {
                    out.insert(k.clone(), rows);
                }
                None => todo
                    .entry(k.rel.name)
                    .or_insert_with(|| (k.rel, Vec::new()))
                    .1
                    .push(k.parent),
            }
        }
        for (name, (rel, requested)) in todo {
            for chunk in requested.chunks(MAX_PARENTS) {
                let parents = self.with_siblings(name, None, chunk);
                let mut lists = list_of(&self.db, &self.access, rel, &parents).await?;
                self.remember(lists.values().flatten());
                for (i, parent) in parents.into_iter().enumerate() {
                    let rows = lists.remove(&parent).unwrap_or_default();
                    if i < chunk.len() {
                        out.insert(ListKey { rel, parent }, rows.clone());
                    }
                    self.keep_ahead(name, None, parent, rows);
                }
            }
        }
        Ok(out)
    }
}

/// All rows of `rel` under each of `parents`, in one statement.
async fn list_of<M: Row>(
    db: &DatabaseConnection,
    access: &Access,
    rel: &'static Rel<M>,
    parents: &[Uuid],
) -> Result<HashMap<Uuid, Vec<M>>, LoadError> {
    let listing = (rel.listing)(access);
    let parent = listing.parent.clone().unwrap_or_else(|| "\"id\"".to_owned());
    let mut select = listing.select;
    select
        .expr_as(Expr::cust(parent.clone()), Alias::new("lup_parent"))
        .and_where(crate::pagination::one_of(db, &parent, parents));
    for (expr, order) in listing.order {
        select.order_by_expr_with_nulls(Expr::cust(expr), order, NullOrdering::Last);
    }
    let rows = query_all(db, &select).await?;
    let mut out: HashMap<Uuid, Vec<M>> = parents.iter().map(|p| (*p, Vec::new())).collect();
    for row in rows {
        let parent: Uuid = row.try_get("", "lup_parent")?;
        out.entry(parent)
            .or_default()
            .push(M::from_query_result(&row, "")?);
    }
    Ok(out)
}

fn loader<'a>(ctx: &'a Context<'_>) -> &'a RequestLoader {
    ctx.data_unchecked::<RequestLoader>()
}

/// One page of a nested connection.
pub async fn page<M: Row>(
    ctx: &Context<'_>,
    rel: &'static Rel<M>,
    parent: Uuid,
    window: Window,
) -> async_graphql::Result<Page<M>> {
    Ok(loader(ctx)
        .load_one(PageKey { rel, parent, window })
        .await?
        .unwrap_or_default())
}

/// All rows of a small nested list.
pub async fn list<M: Row>(
    ctx: &Context<'_>,
    rel: &'static Rel<M>,
    parent: Uuid,
) -> async_graphql::Result<Vec<M>> {
    Ok(loader(ctx)
        .load_one(ListKey { rel, parent })
        .await?
        .unwrap_or_default())
}

/// The row of a by-ID relation (`parent` is the row's own ID), if visible.
pub async fn one<M: Row>(
    ctx: &Context<'_>,
    rel: &'static Rel<M>,
    id: Uuid,
) -> async_graphql::Result<Option<M>> {
    Ok(list(ctx, rel, id).await?.into_iter().next())
}

/// Like [`one`], for a reference that must exist (a foreign key to an always-visible row).
pub async fn required<M: Row>(ctx: &Context<'_>, rel: &'static Rel<M>, id: Uuid) -> async_graphql::Result<M> {
    one(ctx, rel, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("{} {id} not found", rel.name)).into())
}

/// A top-level page (no parent), run directly: it is one statement already.
pub async fn top_page<M: Row>(
    ctx: &Context<'_>,
    listing: Listing,
    window: &Window,
) -> async_graphql::Result<Page<M>> {
    let db = ctx.data_unchecked::<DatabaseConnection>();
    let mut pages = listing
        .fetch::<M>(db, &[], window)
        .await
        .map_err(ApiError::from)?;
    Ok(pages.remove(&None).unwrap_or_default())
}

pub fn access(ctx: &Context<'_>) -> Access {
    ctx.data_opt::<Access>().copied().unwrap_or_default()
}

/// A by-ID relation: the row is its own parent.
pub fn by_id<E: EntityTrait>(select: Select<E>, table: &str) -> Listing {
    listing(select, table, &qcol(table, "id"), &[])
}

/// `INNER JOIN other ON other.other_col = table.table_col`.
pub fn join(q: &mut SelectStatement, other: &str, other_col: &str, table: &str, table_col: &str) {
    q.inner_join(
        Alias::new(other),
        Expr::col((Alias::new(other), Alias::new(other_col)))
            .equals((Alias::new(table), Alias::new(table_col))),
    );
}

/// A qualified column as an expression.
pub fn col(table: &str, column: &str) -> Expr {
    Expr::col((Alias::new(table), Alias::new(column)))
}

/// A nested connection field: checks the page arguments, loads the page, wraps each row.
#[allow(clippy::too_many_arguments)]
pub async fn nested<M: Row, N: async_graphql::OutputType>(
    ctx: &Context<'_>,
    rel: &'static Rel<M>,
    parent: Uuid,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
    wrap: fn(M) -> N,
) -> async_graphql::Result<
    async_graphql::connection::Connection<crate::pagination::Cursor, N, crate::pagination::ConnectionFields>,
> {
    let w = Window::parse(first, after, last, before)?;
    Ok(page(ctx, rel, parent, w).await?.into_connection(&w, wrap))
}

//! DataLoaders, created per request: every nested list and reference goes through them, so
//! the number of SQL statements grows with the depth of a query, not with its rows.
//!
//! A [`Rel`] names a list of rows belonging to a parent ID (a plan's actions, an action's
//! themes, or a row by its own ID); the loaders batch the parents of one relation into one
//! statement.
use std::{
    collections::HashMap,
    hash::{Hash, Hasher},
    marker::PhantomData,
    time::Duration,
};

use async_graphql::{
    Context,
    dataloader::{DataLoader, Loader},
};
use sea_orm::{
    DatabaseConnection, EntityTrait, FromQueryResult, QueryTrait, Select,
    sea_query::{Alias, Expr, ExprTrait, Order, SelectStatement},
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

/// A relation and the parents asked for in one batch.
type Batch<M> = (&'static Rel<M>, Vec<Uuid>);

pub struct Loaders {
    db: DatabaseConnection,
    access: Access,
}

pub type RequestLoader = DataLoader<Loaders>;

impl Loaders {
    pub fn for_request(db: DatabaseConnection, access: Access, delay: Duration) -> RequestLoader {
        DataLoader::new(Loaders { db, access }, tokio::spawn).delay(delay)
    }
}

pub trait Row: FromQueryResult + Clone + Send + Sync + 'static {}
impl<T: FromQueryResult + Clone + Send + Sync + 'static> Row for T {}

impl<M: Row> Loader<PageKey<M>> for Loaders {
    type Value = Page<M>;
    type Error = LoadError;

    async fn load(&self, keys: &[PageKey<M>]) -> Result<HashMap<PageKey<M>, Page<M>>, LoadError> {
        // A batch mixes relations of one row type: one statement per relation and window
        // (normally one per relation and query).
        let mut groups: HashMap<(&'static str, Window), Batch<M>> = HashMap::new();
        for k in keys {
            groups
                .entry((k.rel.name, k.window))
                .or_insert_with(|| (k.rel, Vec::new()))
                .1
                .push(k.parent);
        }
        let mut out = HashMap::new();
        for ((_, window), (rel, parents)) in groups {
            let mut pages = (rel.listing)(&self.access)
                .fetch::<M>(&self.db, &parents, &window)
                .await?;
            for parent in parents {
                let page = pages.remove(&Some(parent)).unwrap_or_default();
                out.insert(PageKey { rel, parent, window }, page);
            }
        }
        Ok(out)
    }
}

impl<M: Row> Loader<ListKey<M>> for Loaders {
    type Value = Vec<M>;
    type Error = LoadError;

    async fn load(&self, keys: &[ListKey<M>]) -> Result<HashMap<ListKey<M>, Vec<M>>, LoadError> {
        let mut groups: HashMap<&'static str, (&'static Rel<M>, Vec<Uuid>)> = HashMap::new();
        for k in keys {
            groups
                .entry(k.rel.name)
                .or_insert_with(|| (k.rel, Vec::new()))
                .1
                .push(k.parent);
        }
        let mut out = HashMap::new();
        for (rel, parents) in groups.into_values() {
            for (parent, rows) in list_of(&self.db, &self.access, rel, parents).await? {
                out.insert(ListKey { rel, parent }, rows);
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
    parents: Vec<Uuid>,
) -> Result<HashMap<Uuid, Vec<M>>, LoadError> {
    let listing = (rel.listing)(access);
    let parent = listing.parent.clone().unwrap_or_else(|| "\"id\"".to_owned());
    let mut select = listing.select;
    select
        .expr_as(Expr::cust(parent.clone()), Alias::new("lup_parent"))
        .and_where(Expr::cust(parent).is_in(parents.iter().copied()));
    for (expr, order) in listing.order {
        select.order_by_expr(Expr::cust(expr), order);
    }
    let rows = query_all(db, &select).await?;
    let mut out: HashMap<Uuid, Vec<M>> = parents.into_iter().map(|p| (p, Vec::new())).collect();
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

//! Loaders, created per request: every nested list and reference that a compiled read (see
//! `compiled`) did not load ahead goes through them, so the number of SQL statements grows
//! with the depth of a query, not with its rows.
//!
//! Batching needs no timer: a field asking for a key queues it and yields once, so the
//! executor polls its siblings (which queue theirs) before the first of them to run again
//! takes every queued key of that kind into one statement. It all happens in the request's
//! own task: no spawned batch, no timer thread, no wake-ups across threads.
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
    dataloader::Loader,
    futures_util::future::{BoxFuture, FutureExt, Shared, join_all},
};
use sea_orm::{
    ColumnTrait, ColumnType, DatabaseConnection, EntityName, EntityTrait, FromQueryResult, Iterable,
    ModelTrait, PrimaryKeyToColumn, QueryTrait, RelationTrait, Select, Value,
    sea_query::{Alias, Condition, Expr, NullOrdering, Order, SelectStatement},
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
    /// The same rows when the parent is known to be visible to the caller (see
    /// [`Rel::under_visible_parent`]); None when the relation has no such shortcut.
    pub under_visible: Option<fn(&Access) -> Listing>,
    _model: PhantomData<fn() -> M>,
}

impl<M> Rel<M> {
    pub const fn new(name: &'static str, listing: fn(&Access) -> Listing) -> Self {
        Rel {
            name,
            listing,
            under_visible: None,
            _model: PhantomData,
        }
    }

    /// The listing to use under a parent row the caller may see: the rules of `listing` that
    /// the parent's visibility already implies left out (an action of a visible plan is
    /// visible; a partnership of a visible action still passes the proposal rule). Compiled
    /// reads use it, where every parent row comes from a listing of the same statement that
    /// applied the caller's rules; the loaders, whose parents come from resolvers, do not.
    /// It must select exactly the rows `listing` selects under such a parent: the compiled
    /// read tests compare both paths as every role.
    pub const fn under_visible_parent(mut self, listing: fn(&Access) -> Listing) -> Self {
        self.under_visible = Some(listing);
        self
    }
}

/// A column as SQL names: the table (or alias) that qualifies it, and its own name. Every
/// entity's `Column` is one; [`aliased`] makes one for a table alias or derived table.
pub trait Col: Copy {
    fn table(&self) -> &'static str;
    fn name(&self) -> &'static str;
}

impl<C: ColumnTrait> Col for C {
    fn table(&self) -> &'static str {
        C::EntityName::default().table_name()
    }

    fn name(&self) -> &'static str {
        self.as_str()
    }
}

/// A column of an entity read through an alias: `"alias"."column"`.
#[derive(Clone, Copy)]
pub struct Aliased<C> {
    alias: &'static str,
    column: C,
}

impl<C: ColumnTrait> Col for Aliased<C> {
    fn table(&self) -> &'static str {
        self.alias
    }

    fn name(&self) -> &'static str {
        self.column.as_str()
    }
}

/// `column` qualified by `alias` rather than by its table.
pub const fn aliased<C: ColumnTrait>(alias: &'static str, column: C) -> Aliased<C> {
    Aliased { alias, column }
}

/// A table and one of its columns, by name.
pub type TableColumn = (&'static str, &'static str);

/// The names of a typed column, for lists kept in constants: see [`table_column!`].
pub type ColumnName = fn() -> TableColumn;

/// `table_column!(plan::AdoptedOn)`: the names of the table and column of
/// `entity::plan::Column::AdoptedOn`, as a [`ColumnName`].
macro_rules! table_column {
    ($table:ident :: $column:ident) => {
        || {
            (
                sea_orm::EntityName::table_name(&entity::$table::Entity),
                sea_orm::IdenStatic::as_str(&entity::$table::Column::$column),
            )
        }
    };
}
pub(crate) use table_column;

/// `"table"."column"`, for the SQL expressions of a [`Listing`].
pub fn qcol(column: impl Col) -> String {
    format!("\"{}\".\"{}\"", column.table(), column.name())
}

/// The join condition of a foreign key the entities declare: `on(action::Relation::Plan)` is
/// `"action"."plan_id" = "plan"."id"`.
pub fn on(relation: impl RelationTrait) -> Condition {
    relation.def().into()
}

/// A qualified column as an expression.
pub fn col(column: impl Col) -> Expr {
    Expr::col((column.table(), column.name()))
}

/// The ID column of `E` (its primary key, a single column).
pub fn id_column<E: EntityTrait>() -> E::Column {
    let mut key = E::PrimaryKey::iter();
    match (key.next(), key.next()) {
        (Some(id), None) => id.into_column(),
        _ => panic!("{} has no single-column primary key", E::default().table_name()),
    }
}

/// A listing of `select` under `parent` (a column of its table or of a joined one), ordered
/// by `order` and then by the table's ID.
pub fn listing<E: EntityTrait>(select: Select<E>, parent: impl Col, order: &[(E::Column, Order)]) -> Listing {
    Listing {
        select: select.into_query(),
        order: ordering(E::default(), order),
        parent: Some(qcol(parent)),
    }
}

/// The same, for a select from `table` that joins other tables (`parent` may name a joined
/// column).
pub fn listing_stmt<E: EntityTrait>(
    select: SelectStatement,
    table: E,
    parent: impl Col,
    order: &[(E::Column, Order)],
) -> Listing {
    Listing {
        select,
        order: ordering(table, order),
        parent: Some(qcol(parent)),
    }
}

/// The rows of `table` that the join table `link` links, through its foreign key `relation`
/// to them, to the parent its column `parent` holds; in `order`.
pub fn linked<E: EntityTrait, L: EntityTrait>(
    table: E,
    link: L,
    relation: impl RelationTrait,
    parent: L::Column,
    order: &[(E::Column, Order)],
) -> Listing {
    let mut q = E::find().into_query();
    join(&mut q, link, relation);
    listing_stmt(q, table, parent, order)
}

/// The collation text is sorted by, on both databases: Danish order, as
/// [`crate::collation::danish_cmp`] (registered on each SQLite connection in `db.rs`, created on
/// PostgreSQL by a migration).
pub const DANISH: &str = "lup_danish";

/// `column` as a sort key: text in Danish order (Æ, Ø, Å and Aa after Z), anything else as it is.
pub fn sort_col<C: ColumnTrait>(column: C) -> String {
    match column.def().get_column_type() {
        ColumnType::String(_) | ColumnType::Text | ColumnType::Char(_) => {
            format!("{} COLLATE {DANISH}", qcol(column))
        }
        _ => qcol(column),
    }
}

/// `order` on columns of `table`, then its ID as a tiebreak.
pub fn ordering<E: EntityTrait>(_table: E, order: &[(E::Column, Order)]) -> Vec<(String, Order)> {
    let mut out: Vec<(String, Order)> = order.iter().map(|(c, o)| (sort_col(*c), o.clone())).collect();
    // The ID breaks ties, unless the order already ends with it.
    let id = qcol(id_column::<E>());
    if out.last().is_none_or(|(last, _)| *last != id) {
        out.push((id, Order::Asc));
    }
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

/// A result of one relation for one parent: (relation, page window or None, parent).
pub(crate) type ResultKey = (&'static str, Option<Window>, Uuid);
/// A loaded result: an `Arc<Page<M>>` (pages) or an `Arc<Vec<M>>` (lists).
pub(crate) type Erased = Arc<dyn Any + Send + Sync>;
/// A result loaded ahead, and whether it is whole (a list, or a page with its list's size).
pub(crate) type Loaded = (ResultKey, Erased, bool);
/// What a new statement is for (a relation, and a window for pages) and its parents.
type Job<J> = (J, Vec<Uuid>);
/// One statement's results by parent, shared by every field waiting for it.
type Fetch = Shared<BoxFuture<'static, Result<Arc<HashMap<Uuid, Erased>>, LoadError>>>;

/// Sibling groups remembered per UUID.
const GROUPS_PER_ID: usize = 4;

/// Most parents one statement asks for; beyond it a relation takes several statements.
const MAX_PARENTS: usize = 1000;

/// The per-request loaders. Besides batching, they prefetch: the rows of one statement are
/// siblings (a page of actions, the members of many partnerships), and when a relation is
/// asked for some of them it is loaded for all of them at once; the fields that ask a moment
/// later get the results already loaded, or wait for the statement still running. Without
/// this a long list takes several statements per relation: async-graphql polls a list's
/// items in slices, and under load the slices fall into different batches.
#[derive(Clone)]
pub struct Loaders {
    db: DatabaseConnection,
    access: Access,
    reads: Reads,
    state: Arc<State>,
}

/// How the server reads, shared by every request: the loaders' batching delay and the
/// compiled reads (see `compiled`) with the SQL of the shapes seen so far.
#[derive(Clone)]
pub struct Reads {
    /// How long a queued key waits for others before its batch runs; zero (the default):
    /// one turn of the executor.
    pub delay: Duration,
    /// Root fields load their whole selection in one statement where they can; off, every
    /// nested list goes through the loaders (tests compare the two).
    pub compiled: bool,
    pub statements: Arc<crate::compiled::Statements>,
    /// Compiled reads whose rows could not be decoded (see `/metrics`).
    pub fallbacks: Arc<std::sync::atomic::AtomicU64>,
}

impl Reads {
    pub fn new(delay: Duration, compiled: bool) -> Self {
        Reads {
            delay,
            compiled,
            statements: Arc::default(),
            fallbacks: Arc::default(),
        }
    }
}

#[derive(Default)]
struct State {
    /// For each UUID seen in a column of loaded rows, all UUIDs of that column and statement
    /// (the latest few such groups: an action's ID is in its page and in its departments).
    siblings: Mutex<HashMap<Uuid, Vec<Arc<Vec<Uuid>>>>>,
    /// Results loaded in this request (asked for or loaded ahead).
    done: Mutex<HashMap<ResultKey, Erased>>,
    /// Pages loaded ahead without their list's size (no one asked for `totalCount` or
    /// `pageInfo` there): only for fields that do not ask for it either.
    sizeless: Mutex<HashMap<ResultKey, Erased>>,
    /// Statements running, by the results they will bring.
    running: Mutex<HashMap<ResultKey, Fetch>>,
    /// Per kind of key (`TypeId` of `K`): a [`Batch`].
    batches: Mutex<HashMap<std::any::TypeId, Box<dyn Any + Send + Sync>>>,
}

/// One load of a batch of keys, shared by every field waiting for one of them.
type BatchLoad<K, V> = Shared<BoxFuture<'static, Result<Arc<HashMap<K, V>>, LoadError>>>;

/// The keys of one kind asked for in this request: those queued for the next batch, and the
/// batch each earlier key went into (its result, once loaded).
struct Batch<K, V> {
    queued: Vec<K>,
    loads: HashMap<K, BatchLoad<K, V>>,
}

impl<K, V> Default for Batch<K, V> {
    fn default() -> Self {
        Batch {
            queued: Vec::new(),
            loads: HashMap::new(),
        }
    }
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The loaders of one request, as its resolvers find them (`ctx.data::<RequestLoaders>()`).
/// Statements in flight are futures kept in the loaders' own state, which they refer back to;
/// when the request ends, finished or dropped (a timeout, a client gone), this forgets them,
/// so a cancelled statement's future is dropped and its connection goes back to the pool.
pub struct RequestLoaders(Loaders);

impl std::ops::Deref for RequestLoaders {
    type Target = Loaders;

    fn deref(&self) -> &Loaders {
        &self.0
    }
}

impl Drop for RequestLoaders {
    fn drop(&mut self) {
        self.0.forget();
    }
}

impl Loaders {
    pub fn for_request(db: DatabaseConnection, access: Access, reads: &Reads) -> RequestLoaders {
        RequestLoaders(Loaders {
            db,
            access,
            reads: reads.clone(),
            state: Arc::default(),
        })
    }

    /// Forgets everything loaded so far, so the next fields read the database afresh: a
    /// subscription, whose loaders last as long as it does, resolves each event with the rows
    /// as they are when it is delivered, not as the first event found them. Call it only
    /// between two events (no field waiting for a statement).
    pub fn forget(&self) {
        let state = &self.state;
        // Taken out first, dropped after the locks: dropping a future may lock them again.
        let batches = std::mem::take(&mut *locked(&state.batches));
        let running = std::mem::take(&mut *locked(&state.running));
        let done = std::mem::take(&mut *locked(&state.done));
        let sizeless = std::mem::take(&mut *locked(&state.sizeless));
        let siblings = std::mem::take(&mut *locked(&state.siblings));
        drop((batches, running, done, sizeless, siblings));
    }

    /// The value of `key`, loaded in a batch with the keys of its kind that sibling fields ask
    /// for at the same time (see the module's documentation).
    pub async fn load_one<K, V>(&self, key: K) -> Result<Option<V>, LoadError>
    where
        K: Hash + Eq + Clone + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
        Loaders: Loader<K, Value = V, Error = LoadError>,
    {
        let queued = self.with_batch(|b: &mut Batch<K, V>| {
            let queued = !b.loads.contains_key(&key);
            if queued {
                b.queued.push(key.clone());
            }
            queued
        });
        if queued {
            if self.reads.delay.is_zero() {
                tokio::task::yield_now().await;
            } else {
                tokio::time::sleep(self.reads.delay).await;
            }
        }
        let load = self.with_batch(|b: &mut Batch<K, V>| {
            if let Some(load) = b.loads.get(&key) {
                return load.clone();
            }
            // The first of the waiting fields to run again takes every queued key (once: a
            // key asked for by two fields is queued twice).
            let mut keys = std::mem::take(&mut b.queued);
            keys.push(key.clone());
            let mut seen = HashSet::new();
            keys.retain(|k| !b.loads.contains_key(k) && seen.insert(k.clone()));
            let loaders = self.clone();
            let load: BatchLoad<K, V> = {
                let keys = keys.clone();
                async move { Ok(Arc::new(loaders.load(&keys).await?)) }
                    .boxed()
                    .shared()
            };
            for k in keys {
                b.loads.insert(k, load.clone());
            }
            load
        });
        Ok(load.await?.get(&key).cloned())
    }

    fn with_batch<K, V, T>(&self, f: impl FnOnce(&mut Batch<K, V>) -> T) -> T
    where
        K: Send + Sync + 'static,
        V: Send + Sync + 'static,
        BatchLoad<K, V>: Send + Sync,
    {
        let mut batches = locked(&self.state.batches);
        let batch = batches
            .entry(std::any::TypeId::of::<K>())
            .or_insert_with(|| Box::new(Batch::<K, V>::default()));
        match batch.downcast_mut::<Batch<K, V>>() {
            Some(batch) => f(batch),
            // One `V` per `K` (the `Loader` impl): the entry is always a `Batch<K, V>`.
            None => f(&mut Batch::default()),
        }
    }

    pub fn reads(&self) -> &Reads {
        &self.reads
    }

    /// Keeps results loaded ahead (by a compiled read) for the fields that will ask for them.
    pub(crate) fn store(&self, results: Vec<Loaded>) {
        if results.is_empty() {
            return;
        }
        let mut done = locked(&self.state.done);
        let mut sizeless = locked(&self.state.sizeless);
        for (key, value, sized) in results {
            if sized {
                done.insert(key, value);
            } else {
                sizeless.insert(key, value);
            }
        }
    }

    /// A page loaded ahead without its size, for a field that does not show it.
    fn loaded_sizeless<V: Clone + 'static>(&self, key: &ResultKey) -> Option<V> {
        locked(&self.state.sizeless)
            .get(key)
            .and_then(|v| v.downcast_ref::<V>())
            .cloned()
    }

    /// A result already loaded in this request.
    fn loaded<V: Clone + 'static>(&self, key: &ResultKey) -> Option<V> {
        locked(&self.state.done)
            .get(key)
            .and_then(|v| v.downcast_ref::<V>())
            .cloned()
    }

    /// The database, for loaders defined beside their domain (engagement figures).
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// What the caller may see, for the same loaders.
    pub fn access(&self) -> &Access {
        &self.access
    }

    /// Records rows that came back from one statement (see [`State::siblings`]).
    pub fn remember<'a, M: Row>(&self, rows: impl IntoIterator<Item = &'a M>) {
        self.state.remember(rows);
    }

    /// Resolves `keys` from results already loaded, statements running, and new statements
    /// made by `fetch(job, parents)` for the rest (with their siblings).
    async fn resolve<J, V>(
        &self,
        keys: Vec<(J, ResultKey)>,
        fetch: impl Fn(J, Vec<Uuid>) -> BoxFuture<'static, Result<HashMap<Uuid, V>, LoadError>>,
    ) -> Result<HashMap<ResultKey, V>, LoadError>
    where
        J: Copy,
        V: Clone + Send + Sync + 'static,
    {
        let mut out = HashMap::new();
        let mut waits: Vec<(ResultKey, Fetch)> = Vec::new();
        let mut todo: HashMap<(&'static str, Option<Window>), Job<J>> = HashMap::new();
        {
            let done = locked(&self.state.done);
            let running = locked(&self.state.running);
            for (job, key) in keys {
                if let Some(v) = done.get(&key).and_then(|v| v.downcast_ref::<V>()) {
                    out.insert(key, v.clone());
                } else if let Some(f) = running.get(&key) {
                    waits.push((key, f.clone()));
                } else {
                    let parents = &mut todo.entry((key.0, key.1)).or_insert_with(|| (job, Vec::new())).1;
                    // A parent asked for twice is loaded once (and its result not overwritten
                    // by an empty one).
                    if !parents.contains(&key.2) {
                        parents.push(key.2);
                    }
                }
            }
        }
        let mut launched = Vec::new();
        for ((name, window), (job, requested)) in todo {
            for chunk in requested.chunks(MAX_PARENTS) {
                // Siblings' pages are only worth loading ahead from the start of their lists:
                // a cursor belongs to one list.
                let from_start = window.is_none_or(|w| w.after == 0 && w.before.is_none());
                let parents = if from_start {
                    self.state.with_siblings(name, window, chunk)
                } else {
                    chunk.to_vec()
                };
                let statement = fetch(job, parents.clone());
                let fut: Fetch = async move {
                    let results = statement.await?;
                    Ok(Arc::new(
                        results
                            .into_iter()
                            .map(|(k, v)| (k, Arc::new(v) as Erased))
                            .collect(),
                    ))
                }
                .boxed()
                .shared();
                let mut running = locked(&self.state.running);
                for p in &parents {
                    running.insert((name, window, *p), fut.clone());
                }
                waits.extend(chunk.iter().map(|p| ((name, window, *p), fut.clone())));
                launched.push((name, window, parents, fut));
            }
        }
        let finished = join_all(
            launched
                .into_iter()
                .map(|(name, window, parents, fut)| async move { (name, window, parents, fut.await) }),
        )
        .await;
        for (name, window, parents, results) in finished {
            let mut done = locked(&self.state.done);
            let mut running = locked(&self.state.running);
            for p in parents {
                running.remove(&(name, window, p));
                if let Ok(results) = &results
                    && let Some(v) = results.get(&p)
                {
                    done.insert((name, window, p), v.clone());
                }
            }
        }
        for (key, fut) in waits {
            let results = fut.await?;
            if let Some(v) = results.get(&key.2).and_then(|v| v.downcast_ref::<V>()) {
                out.insert(key, v.clone());
            }
        }
        Ok(out)
    }
}

impl State {
    fn remember<'a, M: Row>(&self, rows: impl IntoIterator<Item = &'a M>) {
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
        let mut siblings = locked(&self.siblings);
        for (_, values) in columns {
            if values.len() < 2 {
                continue;
            }
            let group = Arc::new(values);
            for u in group.iter() {
                let groups = siblings.entry(*u).or_default();
                if groups.len() == GROUPS_PER_ID {
                    groups.remove(0);
                }
                groups.push(group.clone());
            }
        }
    }

    /// The requested parents first, then their siblings not loaded or loading yet, up to
    /// [`MAX_PARENTS`].
    fn with_siblings(&self, rel: &'static str, window: Option<Window>, requested: &[Uuid]) -> Vec<Uuid> {
        let mut out = requested.to_vec();
        let mut seen: HashSet<Uuid> = requested.iter().copied().collect();
        let siblings = locked(&self.siblings);
        let done = locked(&self.done);
        let running = locked(&self.running);
        let mut groups_done = HashSet::new();
        for group in requested.iter().filter_map(|p| siblings.get(p)).flatten() {
            if !groups_done.insert(Arc::as_ptr(group)) {
                continue;
            }
            for u in group.iter() {
                if out.len() >= MAX_PARENTS {
                    return out;
                }
                let key = (rel, window, *u);
                if !done.contains_key(&key) && !running.contains_key(&key) && seen.insert(*u) {
                    out.push(*u);
                }
            }
        }
        out
    }
}

/// The value of each UUID column of a row (its ID and its references), in column order.
fn uuids<M: ModelTrait>(row: &M) -> impl Iterator<Item = Option<Uuid>> + '_ {
    <<M as ModelTrait>::Entity as EntityTrait>::Column::iter()
        // Only UUID columns are read: `get` clones the value, and texts can be long.
        .filter(|c| matches!(c.def().get_column_type(), ColumnType::Uuid))
        .filter_map(move |c| match row.get(c) {
            Value::Uuid(u) => Some(u),
            _ => None,
        })
}

pub trait Row: FromQueryResult + ModelTrait + Clone + Send + Sync + 'static {}
impl<T: FromQueryResult + ModelTrait + Clone + Send + Sync + 'static> Row for T {}

#[async_graphql::async_trait::async_trait]
impl<M: Row> Loader<PageKey<M>> for Loaders {
    type Value = Arc<Page<M>>;
    type Error = LoadError;

    async fn load(&self, keys: &[PageKey<M>]) -> Result<HashMap<PageKey<M>, Arc<Page<M>>>, LoadError> {
        let jobs = keys
            .iter()
            .map(|k| ((k.rel, k.window), (k.rel.name, Some(k.window), k.parent)))
            .collect();
        let (db, access, state) = (self.db.clone(), self.access.clone(), self.state.clone());
        let fetch = move |(rel, window): (&'static Rel<M>, Window), parents: Vec<Uuid>| {
            let (db, state, access) = (db.clone(), state.clone(), access.clone());
            async move {
                let mut pages = (rel.listing)(&access).fetch::<M>(&db, &parents, &window).await?;
                state.remember(pages.values().flat_map(|p| p.rows.iter().map(|(_, m)| m)));
                Ok(parents
                    .into_iter()
                    .map(|p| (p, Arc::new(pages.remove(&Some(p)).unwrap_or_default())))
                    .collect())
            }
            .boxed()
        };
        let results = self.resolve(jobs, fetch).await?;
        Ok(keys
            .iter()
            .filter_map(|k| {
                results
                    .get(&(k.rel.name, Some(k.window), k.parent))
                    .map(|v| (k.clone(), v.clone()))
            })
            .collect())
    }
}

#[async_graphql::async_trait::async_trait]
impl<M: Row> Loader<ListKey<M>> for Loaders {
    type Value = Arc<Vec<M>>;
    type Error = LoadError;

    async fn load(&self, keys: &[ListKey<M>]) -> Result<HashMap<ListKey<M>, Arc<Vec<M>>>, LoadError> {
        let jobs = keys
            .iter()
            .map(|k| (k.rel, (k.rel.name, None, k.parent)))
            .collect();
        let (db, access, state) = (self.db.clone(), self.access.clone(), self.state.clone());
        let fetch = move |rel: &'static Rel<M>, parents: Vec<Uuid>| {
            let (db, state, access) = (db.clone(), state.clone(), access.clone());
            async move {
                let lists = list_of(&db, &access, rel, &parents).await?;
                state.remember(lists.values().flatten());
                Ok(lists.into_iter().map(|(p, rows)| (p, Arc::new(rows))).collect())
            }
            .boxed()
        };
        let results = self.resolve(jobs, fetch).await?;
        Ok(keys
            .iter()
            .filter_map(|k| {
                results
                    .get(&(k.rel.name, None, k.parent))
                    .map(|v| (k.clone(), v.clone()))
            })
            .collect())
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
    // Every relation names its parent column; a listing without one has no rows per parent.
    let Some(parent) = listing.parent.clone() else {
        return Ok(parents.iter().map(|p| (*p, Vec::new())).collect());
    };
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

/// The request's loaders.
pub(crate) fn loaders<'a>(ctx: &'a Context<'_>) -> &'a Loaders {
    ctx.data_unchecked::<RequestLoaders>()
}

/// What `key` loads, batched with its siblings: the caller's own copy (loaded values are
/// shared), empty when there is none.
async fn load<K, T>(ctx: &Context<'_>, key: K) -> async_graphql::Result<T>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    T: Clone + Default + Send + Sync + 'static,
    Loaders: Loader<K, Value = Arc<T>, Error = LoadError>,
{
    Ok(loaders(ctx)
        .load_one(key)
        .await?
        .map(Arc::unwrap_or_clone)
        .unwrap_or_default())
}

/// One page of a nested connection.
pub async fn page<M: Row>(
    ctx: &Context<'_>,
    rel: &'static Rel<M>,
    parent: Uuid,
    window: Window,
) -> async_graphql::Result<Page<M>> {
    // Loaded ahead (a compiled read, or a sibling's statement): no batch to wait for.
    let key = (rel.name, Some(window), parent);
    if let Some(page) = loaders(ctx).loaded::<Arc<Page<M>>>(&key) {
        return Ok(Arc::unwrap_or_clone(page));
    }
    let shows_size = || {
        let selection = ctx.look_ahead();
        selection.field("totalCount").exists() || selection.field("pageInfo").exists()
    };
    if let Some(page) = loaders(ctx).loaded_sizeless::<Arc<Page<M>>>(&key)
        && !shows_size()
    {
        return Ok(Arc::unwrap_or_clone(page));
    }
    load(ctx, PageKey { rel, parent, window }).await
}

/// All rows of a small nested list.
pub async fn list<M: Row>(
    ctx: &Context<'_>,
    rel: &'static Rel<M>,
    parent: Uuid,
) -> async_graphql::Result<Vec<M>> {
    if let Some(list) = loaders(ctx).loaded::<Arc<Vec<M>>>(&(rel.name, None, parent)) {
        return Ok(Arc::unwrap_or_clone(list));
    }
    load(ctx, ListKey { rel, parent }).await
}

/// The row of a by-ID relation (`parent` is the row's own ID), if visible.
pub async fn one<M: Row>(
    ctx: &Context<'_>,
    rel: &'static Rel<M>,
    id: Uuid,
) -> async_graphql::Result<Option<M>> {
    Ok(list(ctx, rel, id).await?.into_iter().next())
}

/// Like [`one`], for a reference that may be empty: `None` without an ID.
pub async fn maybe<M: Row>(
    ctx: &Context<'_>,
    rel: &'static Rel<M>,
    id: Option<Uuid>,
) -> async_graphql::Result<Option<M>> {
    match id {
        Some(id) => one(ctx, rel, id).await,
        None => Ok(None),
    }
}

/// Like [`one`], for a reference that must exist (a foreign key to an always-visible row).
pub async fn required<M: Row>(ctx: &Context<'_>, rel: &'static Rel<M>, id: Uuid) -> async_graphql::Result<M> {
    one(ctx, rel, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("{} {id} not found", rel.name)).into())
}

/// A top-level page (no parent) with what its selection nests, of objects `N`: see
/// `compiled::top_page`.
pub async fn top_page<M: Row, N: crate::compiled::Prefetch>(
    ctx: &Context<'_>,
    listing: Listing,
    window: &Window,
    root: crate::compiled::Root,
) -> async_graphql::Result<Page<M>> {
    crate::compiled::top_page::<M, N>(ctx, listing, window, root).await
}

/// A top-level connection: `select` (filters applied) ordered by `order` (then by ID), one
/// page of it, each row wrapped.
pub async fn top_connection<E: EntityTrait, N: async_graphql::OutputType + crate::compiled::Prefetch>(
    ctx: &Context<'_>,
    select: Select<E>,
    order: &[(E::Column, Order)],
    window: &Window,
    wrap: fn(E::Model) -> N,
) -> async_graphql::Result<
    async_graphql::connection::Connection<crate::pagination::Cursor, N, crate::pagination::ConnectionFields>,
>
where
    E::Model: Row,
{
    let listing = Listing {
        select: select.into_query(),
        order: ordering(E::default(), order),
        parent: None,
    };
    Ok(
        top_page::<E::Model, N>(ctx, listing, window, crate::compiled::Root::Connection)
            .await?
            .into_connection(window, wrap),
    )
}

pub fn access(ctx: &Context<'_>) -> Access {
    ctx.data_opt::<Access>().cloned().unwrap_or_default()
}

/// A by-ID relation: the row is its own parent.
pub fn by_id<E: EntityTrait>(select: Select<E>) -> Listing {
    listing(select, id_column::<E>(), &[])
}

/// `INNER JOIN table ON` the foreign key `relation` (declared on either of the two tables).
pub fn join(q: &mut SelectStatement, table: impl EntityTrait, relation: impl RelationTrait) {
    q.inner_join(table, on(relation));
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

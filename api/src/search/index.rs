//! The index itself: what text of each searchable row is indexed, and keeping the index in
//! step with the rows. Every write through the API passes `Write::audit`, which calls
//! [`on_write`] in the write's own transaction, so a search after the write commits finds
//! exactly what it wrote. Rows that reach the database another way (fixtures, SQL by hand)
//! are caught up before a search ([`catch_up`], throttled by the caller); the start-up
//! rebuilds the whole index when its format changed ([`ensure`]), and `lup reindex` does it on
//! demand ([`rebuild`]).
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{app_meta, search_document as document, search_term as term};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait, QueryFilter,
    sea_query::{
        Alias, Condition, DynIden, Expr, ExprTrait, IntoIden, JoinType, Query, SelectStatement, UnionType,
    },
};
use uuid::Uuid;

use super::analyse;
use crate::relay::NodeType;

/// Bumped whenever the analysis or what is indexed changes: the start-up then rebuilds the
/// index (the stored value is in `app_meta` under [`FORMAT_KEY`]).
pub const FORMAT: &str = "4";
pub const FORMAT_KEY: &str = "search_index_format";

/// Separates the texts of a document's body as stored (the unit separator: never in a word).
pub const SEPARATOR: char = '\u{1F}';

/// Terms inserted per statement (three values each: well within both databases' limits).
const TERMS_PER_INSERT: usize = 1_000;

/// The kinds of row that are searched (the GraphQL `SearchType`), in the order that breaks
/// ties between equal scores.
pub use super::SearchType as Kind;

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Community,
        Kind::Plan,
        Kind::Action,
        Kind::Idea,
        Kind::IdeaExchange,
        Kind::Organization,
        Kind::ConsultationResponse,
    ];

    /// The kind's node type.
    pub const fn node_type(self) -> NodeType {
        match self {
            Kind::Community => NodeType::Community,
            Kind::Plan => NodeType::Plan,
            Kind::Action => NodeType::Action,
            Kind::Idea => NodeType::Idea,
            Kind::IdeaExchange => NodeType::IdeaExchange,
            Kind::Organization => NodeType::Organization,
            Kind::ConsultationResponse => NodeType::ConsultationResponse,
        }
    }

    /// The GraphQL type, stored as `entity_type`.
    pub const fn name(self) -> &'static str {
        self.node_type().name()
    }

    /// The kind of a node type, if rows of that type are searched.
    pub fn of(node_type: NodeType) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.node_type() == node_type)
    }

    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The kind's table, with its `id` and `version` columns.
    fn table(self) -> (DynIden, DynIden, DynIden) {
        fn of<E: crate::write::Versioned>() -> (DynIden, DynIden, DynIden) {
            (
                E::default().into_iden(),
                E::ID.into_iden(),
                E::VERSION.into_iden(),
            )
        }
        use entity::*;
        match self {
            Kind::Community => of::<community::Entity>(),
            Kind::Plan => of::<plan::Entity>(),
            Kind::Action => of::<action::Entity>(),
            Kind::Idea => of::<idea::Entity>(),
            Kind::IdeaExchange => of::<idea_exchange::Entity>(),
            Kind::Organization => of::<organization::Entity>(),
            Kind::ConsultationResponse => of::<consultation_response::Entity>(),
        }
    }

    /// The GraphQL fields indexed: the title (weighing more) and the other texts, in the
    /// order the body stores them. Only public fields: no internal notes, no names or email
    /// addresses of people who responded to a consultation. `community` is the name of the
    /// community the row belongs to (a plan's or an action's, an idea's or an organisation's
    /// own, where it has one), so that a place's name finds what is done there; `themes` the
    /// names of the themes a plan, action or idea is tagged with ("grøn omstilling"), joined.
    pub fn fields(self) -> (&'static str, &'static [&'static str]) {
        match self {
            Kind::Community => ("name", &["description"]),
            Kind::Plan => ("title", &["summary", "vision", "community", "themes"]),
            Kind::Action => ("title", &["description", "partnerNeeds", "community", "themes"]),
            Kind::Idea => ("title", &["description", "community", "themes"]),
            Kind::IdeaExchange => ("title", &["outcome"]),
            Kind::Organization => ("name", &["description", "community"]),
            Kind::ConsultationResponse => ("title", &["body", "reply"]),
        }
    }
}

/// A row as indexed.
#[derive(Debug, Clone)]
pub struct Doc {
    pub id: Uuid,
    pub kind: Kind,
    pub title: String,
    pub texts: Vec<String>,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
}

/// The rows of `kind` (those of `ids`, or all), as documents.
async fn load(db: &impl ConnectionTrait, kind: Kind, ids: Option<&[Uuid]>) -> Result<Vec<Doc>, DbErr> {
    macro_rules! rows {
        ($entity:ident, |$m:ident| ($title:expr, [$($text:expr),*])) => {{
            let mut q = entity::$entity::Entity::find();
            if let Some(ids) = ids {
                q = q.filter(entity::$entity::Column::Id.is_in(ids.iter().copied()));
            }
            q.all(db)
                .await?
                .into_iter()
                .map(|$m| Doc {
                    id: $m.id,
                    kind,
                    title: $title,
                    texts: vec![$($text),*],
                    version: $m.version,
                    updated_at: $m.updated_at,
                })
                .collect()
        }};
    }
    let mut docs: Vec<Doc> = match kind {
        Kind::Community => rows!(community, |m| (m.name, [m.description])),
        Kind::Plan => rows!(plan, |m| (m.title, [m.summary, m.vision])),
        Kind::Action => rows!(action, |m| (
            m.title,
            [m.description, m.partner_needs.unwrap_or_default()]
        )),
        Kind::Idea => rows!(idea, |m| (m.title, [m.description])),
        Kind::IdeaExchange => rows!(idea_exchange, |m| (m.title, [m.outcome])),
        Kind::Organization => rows!(organization, |m| (m.name, [m.description])),
        Kind::ConsultationResponse => rows!(consultation_response, |m| (
            String::new(),
            [m.body, m.reply.unwrap_or_default()]
        )),
    };
    if kind.fields().1.contains(&"community") {
        let names = community_names(db, kind, ids).await?;
        for d in &mut docs {
            d.texts.push(names.get(&d.id).cloned().unwrap_or_default());
        }
    }
    if kind.fields().1.contains(&"themes") {
        let mut names = theme_names(db, kind, ids).await?;
        for d in &mut docs {
            let mut themes = names.remove(&d.id).unwrap_or_default();
            themes.sort();
            d.texts.push(themes.join(", "));
        }
    }
    Ok(docs)
}

/// The names of the themes each row of `kind` (those of `ids`, or all) is tagged with.
async fn theme_names(
    db: &impl ConnectionTrait,
    kind: Kind,
    ids: Option<&[Uuid]>,
) -> Result<HashMap<Uuid, Vec<String>>, DbErr> {
    use entity::{action_theme, idea_theme, plan_theme, theme};
    use sea_orm::{QuerySelect, RelationTrait};
    macro_rules! names {
        ($link:ident, $owner:ident) => {{
            let mut q = $link::Entity::find()
                .select_only()
                .column($link::Column::$owner)
                .column(theme::Column::Name)
                .join(JoinType::InnerJoin, $link::Relation::Theme.def());
            if let Some(ids) = ids {
                q = q.filter($link::Column::$owner.is_in(ids.iter().copied()));
            }
            q.into_tuple::<(Uuid, String)>().all(db).await?
        }};
    }
    let pairs = match kind {
        Kind::Plan => names!(plan_theme, PlanId),
        Kind::Action => names!(action_theme, ActionId),
        Kind::Idea => names!(idea_theme, IdeaId),
        _ => Vec::new(),
    };
    let mut out: HashMap<Uuid, Vec<String>> = HashMap::new();
    for (id, name) in pairs {
        out.entry(id).or_default().push(name);
    }
    Ok(out)
}

/// Indexes again what is tagged with the theme `id`, after the theme was renamed.
async fn refresh_of_theme(db: &impl ConnectionTrait, id: Uuid) -> Result<(), DbErr> {
    use entity::{action_theme, idea_theme, plan_theme};
    use sea_orm::QuerySelect;
    macro_rules! tagged {
        ($link:ident, $owner:ident) => {
            $link::Entity::find()
                .select_only()
                .column($link::Column::$owner)
                .filter($link::Column::ThemeId.eq(id))
                .into_tuple::<Uuid>()
                .all(db)
                .await?
        };
    }
    for (kind, ids) in [
        (Kind::Plan, tagged!(plan_theme, PlanId)),
        (Kind::Action, tagged!(action_theme, ActionId)),
        (Kind::Idea, tagged!(idea_theme, IdeaId)),
    ] {
        for chunk in ids.chunks(TERMS_PER_INSERT) {
            refresh(db, kind, chunk).await?;
        }
    }
    Ok(())
}

/// The name of the community each row of `kind` (those of `ids`, or all) belongs to: a
/// plan's, an action's by its plan, an idea's or an organisation's own (none without one).
async fn community_names(
    db: &impl ConnectionTrait,
    kind: Kind,
    ids: Option<&[Uuid]>,
) -> Result<HashMap<Uuid, String>, DbErr> {
    use entity::{action, community, idea, organization, plan};
    use sea_orm::{QuerySelect, RelationTrait};
    macro_rules! names {
        ($entity:ident, [$($relation:expr),+]) => {{
            let mut q = $entity::Entity::find()
                .select_only()
                .column($entity::Column::Id)
                .column(community::Column::Name)
                $(.join(JoinType::InnerJoin, $relation.def()))+;
            if let Some(ids) = ids {
                q = q.filter($entity::Column::Id.is_in(ids.iter().copied()));
            }
            q.into_tuple::<(Uuid, String)>().all(db).await?.into_iter().collect()
        }};
    }
    Ok(match kind {
        Kind::Plan => names!(plan, [plan::Relation::Community]),
        Kind::Action => names!(action, [action::Relation::Plan, plan::Relation::Community]),
        Kind::Idea => names!(idea, [idea::Relation::Community]),
        Kind::Organization => names!(organization, [organization::Relation::Community]),
        Kind::Community | Kind::IdeaExchange | Kind::ConsultationResponse => HashMap::new(),
    })
}

/// Indexes again what is found by the name of the community `id` (see [`community_names`]),
/// after the community was renamed.
async fn refresh_of_community(db: &impl ConnectionTrait, id: Uuid) -> Result<(), DbErr> {
    use entity::{action, idea, organization, plan};
    use sea_orm::QuerySelect;
    macro_rules! ids {
        ($entity:ident, $condition:expr) => {
            $entity::Entity::find()
                .select_only()
                .column($entity::Column::Id)
                .filter($condition)
                .into_tuple::<Uuid>()
                .all(db)
                .await?
        };
    }
    let plans = ids!(plan, plan::Column::CommunityId.eq(id));
    let actions = ids!(action, action::Column::PlanId.is_in(plans.iter().copied()));
    let ideas = ids!(idea, idea::Column::CommunityId.eq(id));
    let organizations = ids!(organization, organization::Column::CommunityId.eq(id));
    for (kind, ids) in [
        (Kind::Plan, plans),
        (Kind::Action, actions),
        (Kind::Idea, ideas),
        (Kind::Organization, organizations),
    ] {
        for chunk in ids.chunks(TERMS_PER_INSERT) {
            refresh(db, kind, chunk).await?;
        }
    }
    Ok(())
}

/// Removes the documents `ids` (their terms first: the foreign key's cascade is not relied on).
async fn remove(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<(), DbErr> {
    for chunk in ids.chunks(TERMS_PER_INSERT) {
        term::Entity::delete_many()
            .filter(term::Column::DocumentId.is_in(chunk.iter().copied()))
            .exec(db)
            .await?;
        document::Entity::delete_many()
            .filter(document::Column::Id.is_in(chunk.iter().copied()))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Stores `docs`, replacing what was indexed for them.
async fn store(db: &impl ConnectionTrait, docs: &[Doc]) -> Result<(), DbErr> {
    if docs.is_empty() {
        return Ok(());
    }
    remove(db, &docs.iter().map(|d| d.id).collect::<Vec<_>>()).await?;
    let mut terms = Vec::new();
    for chunk in docs.chunks(TERMS_PER_INSERT / 4) {
        document::Entity::insert_many(chunk.iter().map(|d| document::ActiveModel {
            id: Set(d.id),
            entity_type: Set(d.kind.name().to_owned()),
            title: Set(d.title.clone()),
            body: Set(d.texts.join(&SEPARATOR.to_string())),
            version: Set(d.version),
            updated_at: Set(d.updated_at),
        }))
        .exec_without_returning(db)
        .await?;
    }
    for d in docs {
        let texts: Vec<&str> = d.texts.iter().map(String::as_str).collect();
        for (t, weight) in analyse::document_terms(&d.title, &texts) {
            terms.push(term::ActiveModel {
                term: Set(t),
                document_id: Set(d.id),
                weight: Set(weight),
            });
            if terms.len() == TERMS_PER_INSERT {
                term::Entity::insert_many(std::mem::take(&mut terms))
                    .exec_without_returning(db)
                    .await?;
            }
        }
    }
    if !terms.is_empty() {
        term::Entity::insert_many(terms)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Indexes again the rows `ids` of `kind` as they are now in `db` (a transaction), and
/// removes the documents of those that are gone.
async fn refresh(db: &impl ConnectionTrait, kind: Kind, ids: &[Uuid]) -> Result<(), DbErr> {
    let docs = load(db, kind, Some(ids)).await?;
    let gone: Vec<Uuid> = ids
        .iter()
        .copied()
        .filter(|id| !docs.iter().any(|d| d.id == *id))
        .collect();
    remove(db, &gone).await?;
    store(db, &docs).await
}

/// Called by `Write::audit` for every row a write creates, changes or deletes, inside the
/// write's transaction: indexes the row again (or removes it). Deleting a community or a
/// plan also removes the documents of rows that went with it by a cascading foreign key,
/// without an audit record each (today such deletes are refused while searchable rows refer
/// to them; this keeps the index right if that changes).
pub async fn on_write(
    db: &impl ConnectionTrait,
    entity: NodeType,
    id: Uuid,
    deleted: bool,
) -> Result<(), DbErr> {
    // A theme's new name is indexed with what is tagged with it (a theme in use is not
    // deleted).
    if entity == NodeType::Theme {
        if !deleted {
            refresh_of_theme(db, id).await?;
        }
        return Ok(());
    }
    let Some(kind) = Kind::of(entity) else {
        return Ok(());
    };
    // A community's new name is indexed with what belongs to it too.
    let renamed = kind == Kind::Community && !deleted && {
        let indexed = document::Entity::find_by_id(id).one(db).await?.map(|d| d.title);
        let name = entity::community::Entity::find_by_id(id)
            .one(db)
            .await?
            .map(|c| c.name);
        matches!((indexed, name), (Some(indexed), Some(name)) if indexed != name)
    };
    refresh(db, kind, &[id]).await?;
    if renamed {
        refresh_of_community(db, id).await?;
    }
    if deleted && matches!(kind, Kind::Community | Kind::Plan) {
        let orphans: Vec<Uuid> = stale(db, false).await?.into_iter().map(|s| s.id).collect();
        remove(db, &orphans).await?;
    }
    Ok(())
}

/// A row whose document is missing or out of date, or a document whose row is gone.
struct Stale {
    kind: Kind,
    id: Uuid,
}

/// What the index lacks: documents whose row is gone, and (with `rows`) per kind the rows
/// without a document or whose version differs from the indexed one. One statement; both
/// sides are read by their primary keys.
async fn stale(db: &impl ConnectionTrait, rows: bool) -> Result<Vec<Stale>, DbErr> {
    let (t, d, kind) = (|| Alias::new("t"), || Alias::new("d"), || Alias::new("kind"));
    let doc = |c: document::Column| Expr::col((d(), c));
    let mut union: Option<SelectStatement> = None;
    let mut add = |q: SelectStatement| match &mut union {
        None => union = Some(q),
        Some(u) => {
            u.union(UnionType::All, q);
        }
    };
    for k in Kind::ALL {
        let (table, id, version) = k.table();
        if rows {
            add(Query::select()
                .expr_as(Expr::val(k.name()), kind())
                .expr_as(Expr::col((t(), id.clone())), document::Column::Id)
                .from_as(table.clone(), t())
                .join_as(
                    JoinType::LeftJoin,
                    document::Entity,
                    d(),
                    doc(document::Column::Id).equals((t(), id.clone())),
                )
                .cond_where(
                    Condition::any()
                        .add(doc(document::Column::Id).is_null())
                        .add(doc(document::Column::Version).ne(Expr::col((t(), version)))),
                )
                .to_owned());
        }
        add(Query::select()
            .expr_as(Expr::val(k.name()), kind())
            .expr_as(doc(document::Column::Id), document::Column::Id)
            .from_as(document::Entity, d())
            .and_where(doc(document::Column::EntityType).eq(k.name()))
            .and_where(
                Expr::exists(
                    Query::select()
                        .expr(Expr::val(1))
                        .from_as(table, t())
                        .and_where(Expr::col((t(), id)).equals((d(), document::Column::Id)))
                        .to_owned(),
                )
                .not(),
            )
            .to_owned());
    }
    let Some(union) = union else { return Ok(Vec::new()) };
    let rows = db.query_all(&union).await?;
    rows.iter()
        .map(|r| {
            let k: String = r.try_get("", "kind")?;
            Ok(Stale {
                kind: Kind::from_name(&k).ok_or_else(|| DbErr::Custom(format!("unknown kind {k}")))?,
                id: r.try_get("", "id")?,
            })
        })
        .collect()
}

/// Brings the index in step with rows written without passing the write path. Returns how
/// many documents it indexed again or removed.
pub async fn catch_up(db: &DatabaseConnection) -> Result<usize, DbErr> {
    let found = stale(db, true).await?;
    if found.is_empty() {
        return Ok(0);
    }
    let txn = crate::db::begin_write(db).await?;
    crate::db::unbounded(&txn).await?;
    one_at_a_time(&txn).await?;
    // Found again inside the transaction: a write (or another instance's catch-up) may have
    // committed in between.
    let found = stale(&txn, true).await?;
    let mut by_kind: HashMap<Kind, Vec<Uuid>> = HashMap::new();
    for s in &found {
        by_kind.entry(s.kind).or_default().push(s.id);
    }
    for (kind, ids) in by_kind {
        for chunk in ids.chunks(TERMS_PER_INSERT) {
            refresh(&txn, kind, chunk).await?;
        }
    }
    txn.commit().await?;
    if found.len() >= ANALYZE_AFTER {
        analyze(db).await;
    }
    Ok(found.len())
}

/// Documents indexed at once after which the planner's statistics are refreshed.
const ANALYZE_AFTER: usize = 1_000;

/// Refreshes the statistics of the index tables on PostgreSQL, whose planner otherwise keeps
/// planning for the empty index until autovacuum comes by (a nested loop over thousands of
/// terms instead of hash joins). SQLite plans well without them. Without the statement
/// timeout (it may wait for a lock another session holds, such as a manual `VACUUM`), and
/// not a failure of the index, which is built: a statistics run that fails is a warning,
/// and autovacuum comes by later.
async fn analyze(db: &DatabaseConnection) {
    if db.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
        return;
    }
    let run = async {
        use sea_orm::TransactionTrait;
        let txn = db.begin().await?;
        crate::db::unbounded(&txn).await?;
        txn.execute_unprepared("ANALYZE search_document, search_term")
            .await?;
        txn.commit().await
    };
    if let Err(e) = run.await {
        tracing::warn!(error = %e, "could not refresh the search index's statistics");
    }
}

/// Builds the whole index again, in one transaction, and records its format. Returns the
/// number of documents.
pub async fn rebuild(db: &DatabaseConnection) -> Result<usize, DbErr> {
    Ok(rebuild_if(db, false).await?.unwrap_or(0))
}

/// As [`rebuild`]; when `only_if_outdated`, not when the index is in this format by the time
/// the lock is held (another instance starting together built it meanwhile): then None.
async fn rebuild_if(db: &DatabaseConnection, only_if_outdated: bool) -> Result<Option<usize>, DbErr> {
    let txn = crate::db::begin_write(db).await?;
    crate::db::unbounded(&txn).await?;
    one_at_a_time(&txn).await?;
    if only_if_outdated && stored_format(&txn).await?.as_deref() == Some(FORMAT) {
        txn.rollback().await?;
        return Ok(None);
    }
    term::Entity::delete_many().exec(&txn).await?;
    document::Entity::delete_many().exec(&txn).await?;
    let mut n = 0;
    for kind in Kind::ALL {
        let docs = load(&txn, kind, None).await?;
        n += docs.len();
        store(&txn, &docs).await?;
    }
    app_meta::Entity::delete_by_id(FORMAT_KEY.to_owned())
        .exec(&txn)
        .await?;
    app_meta::Entity::insert(app_meta::ActiveModel {
        key: Set(FORMAT_KEY.to_owned()),
        value: Set(FORMAT.to_owned()),
    })
    .exec_without_returning(&txn)
    .await?;
    txn.commit().await?;
    if n >= ANALYZE_AFTER {
        analyze(db).await;
    }
    Ok(Some(n))
}

/// The format the index was built in, if it was.
async fn stored_format(db: &impl ConnectionTrait) -> Result<Option<String>, DbErr> {
    Ok(app_meta::Entity::find_by_id(FORMAT_KEY.to_owned())
        .one(db)
        .await?
        .map(|m| m.value))
}

/// Rebuilds and catch-ups run one at a time: on PostgreSQL, instances (starting together, or
/// searching at once) wait for each other's transaction, then find its work done instead of
/// writing the same documents twice. SQLite's write transactions are one at a time anyway.
async fn one_at_a_time(txn: &DatabaseTransaction) -> Result<(), DbErr> {
    if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
        txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({INDEX_LOCK})"))
            .await?;
    }
    Ok(())
}

/// The advisory lock of [`one_at_a_time`] ("LUP" and a 2).
const INDEX_LOCK: i64 = 0x4C55_5002;

/// At start-up: rebuilds the index when it was built in another format (or never), else
/// catches up with what was written while no server ran. Instances starting together on one
/// PostgreSQL database rebuild it once: the others wait, then only catch up.
pub async fn ensure(db: &DatabaseConnection) -> Result<Ensured, DbErr> {
    if stored_format(db).await?.as_deref() != Some(FORMAT) {
        // Looked at again under the lock: another instance may be building it now.
        if let Some(n) = rebuild_if(db, true).await? {
            tracing::info!(documents = n, format = FORMAT, "search index built");
            return Ok(Ensured::Built(n));
        }
    }
    let n = catch_up(db).await?;
    if n > 0 {
        tracing::info!(documents = n, "search index caught up");
    }
    Ok(Ensured::CaughtUp(n))
}

/// What [`ensure`] did, with how many documents.
#[derive(Debug, PartialEq, Eq)]
pub enum Ensured {
    Built(usize),
    CaughtUp(usize),
}

/// A document as stored, for highlighting.
pub struct Stored {
    pub title: String,
    pub texts: Vec<String>,
}

/// The stored documents `ids`.
pub async fn stored(db: &DatabaseConnection, ids: &[Uuid]) -> Result<HashMap<Uuid, Stored>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = document::Entity::find()
        .filter(document::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|d| {
            (
                d.id,
                Stored {
                    title: d.title,
                    texts: d.body.split(SEPARATOR).map(str::to_owned).collect(),
                },
            )
        })
        .collect())
}

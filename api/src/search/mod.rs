//! `search`: one ranked list over communities, plans, actions, ideas, idea exchanges,
//! organisations and published consultation responses, for the website's search box.
//!
//! Our own inverted index in two tables (`search_document`, `search_term`), with the text
//! analysed in Rust ([`analyse`]: Danish Snowball stemming, case and accent folding, æ/ae,
//! ø/oe, å/aa alike), so SQLite and PostgreSQL hold the same terms and give the same hits in
//! the same order, with no extra service. The index is kept in step in each write's own
//! transaction ([`index::on_write`]). Visibility is applied at query time with the same SQL
//! conditions as every list (`access.rs`), before counting and paging: a draft's words are
//! never found and never change `totalCount`.
pub mod analyse;
pub mod highlight;
pub mod index;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use async_graphql::{
    Context, Enum, Object, Result, SimpleObject, Union,
    connection::{Connection, ConnectionNameType, Edge, EdgeNameType},
};
use entity::{action, consultation_response, search_document as doc};
use sea_orm::{
    DatabaseConnection, DbBackend, EntityTrait, IdenStatic, QueryFilter, QuerySelect, QueryTrait,
    sea_query::{Alias, Condition, Expr, ExprTrait, JoinType, Query, SelectStatement},
};
use uuid::Uuid;

use self::{
    analyse::QueryWord,
    index::{Kind, Stored},
};
use crate::{
    access::Access,
    action::Action,
    community::Community,
    consultation::ConsultationResponse,
    error::ApiError,
    idea::{Idea, IdeaExchange},
    labels::enum_labels,
    loader,
    organization::Organization,
    pagination::{ConnectionFields, Cursor, Window},
    plan::Plan,
};

/// What kinds of thing to search.
// Also the index's `Kind`: the order of the variants breaks ties between equal scores.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SearchType {
    Community,
    Plan,
    Action,
    Idea,
    IdeaExchange,
    Organization,
    /// Published responses to consultations (and, for their moderators, the others).
    ConsultationResponse,
}

enum_labels!(SearchType {
    Community => "Lokalsamfund",
    Plan => "Udviklingsplan",
    Action => "Indsats",
    Idea => "Idé",
    IdeaExchange => "Idéudveksling",
    Organization => "Organisation",
    ConsultationResponse => "Høringssvar",
});

/// A hit of a search: one of the searched types.
#[derive(Union)]
pub enum SearchResult {
    Community(Community),
    Plan(Plan),
    Action(Action),
    Idea(Idea),
    IdeaExchange(IdeaExchange),
    Organization(Organization),
    ConsultationResponse(ConsultationResponse),
}

/// Where a hit matched.
#[derive(SimpleObject, Clone, Debug)]
pub struct SearchHighlight {
    /// The field of the hit's type that matched, e.g. `title`, `name`, `description`; or
    /// `community`, the name of the community a plan, action, idea or organisation belongs to;
    /// or `themes`, the names of the themes a plan, action or idea is tagged with.
    pub field: String,
    /// HTML: about 160 characters of the field around its first match, cut on word
    /// boundaries (`…` where cut), each matching word in `<mark>`…`</mark>`, the rest escaped.
    pub snippet: String,
}

/// What a search edge adds to its node.
#[derive(SimpleObject, Clone, Debug)]
pub struct SearchEdgeFields {
    /// How well the hit matched: for each query word, 3 when it matched the title (or name),
    /// 1 when it matched other text only, summed. Higher first.
    pub score: f64,
    /// The fields that matched, title first.
    pub highlights: Vec<SearchHighlight>,
}

pub struct SearchConnectionName;

impl ConnectionNameType for SearchConnectionName {
    fn type_name<T: async_graphql::OutputType>() -> String {
        "SearchConnection".into()
    }
}

pub struct SearchEdgeName;

impl EdgeNameType for SearchEdgeName {
    fn type_name<T: async_graphql::OutputType>() -> String {
        "SearchEdge".into()
    }
}

pub type SearchConnection = Connection<
    Cursor,
    SearchResult,
    ConnectionFields,
    SearchEdgeFields,
    SearchConnectionName,
    SearchEdgeName,
>;

/// How often rows written around the API (fixtures, SQL by hand) are caught up when a search
/// comes: at most once per interval, one catch-up at a time, beside the search (which answers
/// from the index as it is: on a large database a catch-up reads every table, 85 ms at 30,000
/// actions); with an interval of 0, before every search, which then finds them. Writes
/// through the API are indexed in their own transaction and need none of this.
#[derive(Clone)]
pub struct CatchUp {
    every: Duration,
    last: Arc<tokio::sync::Mutex<Option<Instant>>>,
}

impl CatchUp {
    pub fn new(every: Duration) -> Self {
        CatchUp {
            every,
            last: Arc::default(),
        }
    }

    async fn run(&self, db: &DatabaseConnection) {
        if self.every.is_zero() {
            let mut last = self.last.lock().await;
            catch_up(db).await;
            *last = Some(Instant::now());
            return;
        }
        let Ok(mut last) = self.last.clone().try_lock_owned() else {
            // Another search is catching up right now.
            return;
        };
        if last.is_some_and(|t| t.elapsed() < self.every) {
            return;
        }
        let db = db.clone();
        tokio::spawn(async move {
            catch_up(&db).await;
            *last = Some(Instant::now());
        });
    }
}

async fn catch_up(db: &DatabaseConnection) {
    match index::catch_up(db).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(documents = n, "search index caught up"),
        // The search still answers from the index as it is.
        Err(e) => tracing::warn!(error = %e, "search index catch-up failed"),
    }
}

/// A matching document the caller may see.
struct Hit {
    id: Uuid,
    kind: Kind,
    title: String,
    score: i32,
}

/// The documents (of `kinds`, all when empty) matching every word of `words` that `access`
/// may see, with their scores.
fn statement(words: &[QueryWord], kinds: &[Kind], access: &Access) -> SelectStatement {
    use entity::search_term as term;
    let d = || Alias::new("d");
    let dcol = |c: doc::Column| Expr::col((d(), c));
    let mut q = Query::select();
    q.expr_as(dcol(doc::Column::Id), doc::Column::Id)
        .expr_as(dcol(doc::Column::EntityType), doc::Column::EntityType)
        .expr_as(dcol(doc::Column::Title), doc::Column::Title)
        .from_as(doc::Entity, d());
    let mut score: Option<Expr> = None;
    for (i, w) in words.iter().enumerate() {
        let t = || Expr::col(term::Column::Term);
        // The word's stem, or the word itself.
        let mut matches = Condition::any().add(t().is_in([w.stem.clone(), w.folded.clone()]));
        if w.prefix {
            matches = matches.add(
                Condition::all()
                    .add(t().gte(w.folded.clone()))
                    .add(t().lt(format!("{}\u{10FFFF}", w.folded))),
            );
        }
        let alias = || Alias::new(format!("m{i}"));
        let sub = Query::select()
            .column(term::Column::DocumentId)
            .expr_as(Expr::col(term::Column::Weight).max(), term::Column::Weight)
            .from(term::Entity)
            .cond_where(matches)
            .group_by_col(term::Column::DocumentId)
            .to_owned();
        q.join_subquery(
            JoinType::InnerJoin,
            sub,
            alias(),
            Expr::col((alias(), term::Column::DocumentId)).equals((d(), doc::Column::Id)),
        );
        let w = Expr::col((alias(), term::Column::Weight));
        score = Some(match score {
            None => w,
            Some(s) => s.add(w),
        });
    }
    q.expr_as(score.unwrap_or(Expr::val(0)), Alias::new(SCORE));
    if !kinds.is_empty() {
        q.and_where(dcol(doc::Column::EntityType).is_in(kinds.iter().map(|k| k.name())));
    }
    q.cond_where(visible(
        access,
        &dcol(doc::Column::Id),
        &dcol(doc::Column::EntityType),
    ));
    q
}

/// The column of [`statement`]'s rows that holds the document's score.
const SCORE: &str = "score";

/// The documents `access` may see, by the same conditions as the lists of each type.
fn visible(access: &Access, id: &Expr, kind: &Expr) -> Condition {
    let of = |k: Kind| kind.clone().eq(k.name());
    let responses = consultation_response::Entity::find()
        .select_only()
        .column(consultation_response::Column::Id)
        .filter(access.response_condition())
        .into_query();
    Condition::any()
        // Everyone sees every row of these.
        .add(
            kind.clone().is_in(
                [
                    Kind::Community,
                    Kind::Idea,
                    Kind::IdeaExchange,
                    Kind::Organization,
                ]
                .map(Kind::name),
            ),
        )
        .add(
            Condition::all()
                .add(of(Kind::Plan))
                .add(access.plan_condition(id.clone())),
        )
        // The action's own row, looked up per candidate: a rare word's few candidates cost a
        // few index lookups, where `IN (every visible action)` listed them all first.
        .add(
            Condition::all().add(of(Kind::Action)).add(Expr::exists(
                Query::select()
                    .expr(Expr::val(1))
                    .from(action::Entity)
                    .and_where(Expr::col((action::Entity, action::Column::Id)).eq(id.clone()))
                    .and_where(access.plan_condition(Expr::col((action::Entity, action::Column::PlanId))))
                    .to_owned(),
            )),
        )
        .add(
            Condition::all()
                .add(of(Kind::ConsultationResponse))
                .add(id.clone().in_subquery(responses)),
        )
}

async fn hits(
    db: &DatabaseConnection,
    words: &[QueryWord],
    kinds: &[Kind],
    access: &Access,
) -> Result<Vec<Hit>, ApiError> {
    let select = statement(words, kinds, access);
    let rows = match db.get_database_backend() {
        // Planned for its own words each time: PostgreSQL plans a prepared statement once
        // for any values after it has run five times on a connection (a generic plan), and
        // that plan, blind to how common each word is, ran for minutes where the words' own
        // plan takes a fraction of a second (the fifth search of five common words over
        // 24,000 actions ran into the timeout). Said for this statement alone, in a
        // transaction of its own; the words stay parameters, so the connection's cache of
        // prepared statements holds one search per number of words, not one per search.
        DbBackend::Postgres => {
            use sea_orm::{ConnectionTrait, TransactionTrait};
            let txn = db.begin().await?;
            txn.execute_unprepared("SET LOCAL plan_cache_mode = force_custom_plan")
                .await?;
            let rows = txn.query_all_raw(DbBackend::Postgres.build(&select)).await?;
            txn.commit().await?;
            rows
        }
        _ => crate::pagination::query_all(db, &select).await?,
    };
    let mut hits = Vec::with_capacity(rows.len());
    for r in rows {
        let kind: String = r.try_get("", doc::Column::EntityType.as_str())?;
        let Some(kind) = Kind::from_name(&kind) else {
            continue;
        };
        hits.push(Hit {
            id: r.try_get("", doc::Column::Id.as_str())?,
            kind,
            title: r.try_get("", doc::Column::Title.as_str())?,
            score: r.try_get("", SCORE)?,
        });
    }
    // A total order, the same on both databases: score, type, title in Danish order, ID.
    hits.sort_by_cached_key(|h| {
        (
            std::cmp::Reverse(h.score),
            h.kind,
            crate::collation::danish_key(&h.title),
            h.id,
        )
    });
    Ok(hits)
}

/// The highlights of a stored document for `words`: title first, then the other fields.
fn highlights(kind: Kind, doc: &Stored, words: &[QueryWord]) -> Vec<SearchHighlight> {
    let (title_field, fields) = kind.fields();
    std::iter::once((title_field, doc.title.as_str()))
        .chain(fields.iter().copied().zip(doc.texts.iter().map(String::as_str)))
        .filter_map(|(field, text)| {
            highlight::snippet(text, words).map(|snippet| SearchHighlight {
                field: field.to_owned(),
                snippet,
            })
        })
        .collect()
}

/// The GraphQL object of the hit, through the visibility-checked loaders (a row deleted or
/// hidden since the search statement ran is left out).
async fn node(ctx: &Context<'_>, hit: &Hit) -> Result<Option<SearchResult>> {
    Ok(match hit.kind {
        Kind::Community => loader::one(ctx, &crate::community::BY_ID, hit.id)
            .await?
            .map(|m| SearchResult::Community(Community(m))),
        Kind::Plan => loader::one(ctx, &crate::plan::BY_ID, hit.id)
            .await?
            .map(|m| SearchResult::Plan(Plan(m))),
        Kind::Action => loader::one(ctx, &crate::action::BY_ID, hit.id)
            .await?
            .map(|m| SearchResult::Action(Action(m))),
        Kind::Idea => loader::one(ctx, &crate::idea::BY_ID, hit.id)
            .await?
            .map(|m| SearchResult::Idea(Idea(m))),
        Kind::IdeaExchange => loader::one(ctx, &crate::idea::EXCHANGE_BY_ID, hit.id)
            .await?
            .map(|m| SearchResult::IdeaExchange(IdeaExchange(m))),
        Kind::Organization => loader::one(ctx, &crate::organization::BY_ID, hit.id)
            .await?
            .map(|m| SearchResult::Organization(Organization(m))),
        Kind::ConsultationResponse => loader::one(ctx, &crate::consultation::BY_ID, hit.id)
            .await?
            .map(|m| SearchResult::ConsultationResponse(ConsultationResponse(m))),
    })
}

#[derive(Default)]
pub struct SearchQuery;

// Public data may be cached for a minute (see `schema::Query`).
#[Object(cache_control(max_age = 60))]
impl SearchQuery {
    /// Searches communities, plans, actions, ideas, idea exchanges, organisations and
    /// published consultation responses at once, in Danish: words are matched by their
    /// stem ("shelterpladser" finds "shelterplads"), without regard to case or accents, and
    /// æ/ae, ø/oe, å/aa alike ("Aabybro" finds "Åbybro"); every word must match, the last
    /// one also as the beginning of a word (as the visitor types, from 2 letters). Best
    /// matches first: a word in a title counts 3, elsewhere 1; ties by type, then title in
    /// Danish order. Only what you may see is found or counted.
    ///
    /// Any text is a query: what is not a letter or digit only separates words. The first
    /// 12 words count, each cut to 64 characters; a query without words finds nothing.
    #[allow(clippy::too_many_arguments)]
    async fn search(
        &self,
        ctx: &Context<'_>,
        query: String,
        #[graphql(desc = "Only these types; all when left out.")] types: Option<Vec<SearchType>>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<SearchConnection> {
        let window = Window::parse(first, after, last, before)?;
        let kinds: Vec<Kind> = match types {
            Some(t) if t.is_empty() => {
                return Err(ApiError::bad_input(
                    "`types` must name at least one type; leave it out to search all",
                )
                .into());
            }
            Some(t) => t.into_iter().collect(),
            None => Vec::new(),
        };
        let words = analyse::query(&query);
        let db = ctx.data_unchecked::<DatabaseConnection>();
        let hits = if words.is_empty() {
            Vec::new()
        } else {
            if let Some(c) = ctx.data_opt::<CatchUp>() {
                c.run(db).await;
            }
            hits(db, &words, &kinds, &loader::access(ctx)).await?
        };
        let total = hits.len() as i64;
        let std::ops::Range { start: from, end: to } = window.slice(hits.len());
        let page = &hits[from..to];
        let ids: Vec<Uuid> = page.iter().map(|h| h.id).collect();
        let stored = index::stored(db, &ids).await?;
        let nodes =
            async_graphql::futures_util::future::try_join_all(page.iter().map(|h| node(ctx, h))).await?;
        let mut conn = SearchConnection::with_additional_fields(
            from > 0 && total > 0,
            to < hits.len(),
            ConnectionFields { total_count: total },
        );
        for (i, (hit, node)) in page.iter().zip(nodes).enumerate() {
            let Some(node) = node else { continue };
            let highlights = stored
                .get(&hit.id)
                .map(|doc| highlights(hit.kind, doc, &words))
                .unwrap_or_default();
            conn.edges.push(Edge::with_additional_fields(
                Cursor((from + i + 1) as i64),
                node,
                SearchEdgeFields {
                    score: f64::from(hit.score),
                    highlights,
                },
            ));
        }
        Ok(conn)
    }
}

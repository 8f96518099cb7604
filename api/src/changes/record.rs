//! Recording change events: [`record`] in each write's transaction, just before it commits;
//! [`catch_up`] at start-up for rows that have no event yet or were deleted around the API.
use std::collections::HashMap;

use chrono::Utc;
use entity::{
    change_event,
    change_state::{self, Column as S},
};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, EntityTrait,
    QueryFilter,
    sea_query::OnConflict,
};
use uuid::Uuid;

use super::{Audience, ChangeOperation, ChangeType, audience};

/// A row a write created, updated or deleted (what `Write::audit` saw).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Touched {
    pub entity: ChangeType,
    pub id: Uuid,
    pub operation: ChangeOperation,
    pub audit_id: Option<Uuid>,
    /// Told of because a link to it changed, not written (an action's `originExchange`, when
    /// an idea exchange links it): numbered after the idea exchanges, as what it now names.
    pub linked: bool,
}

/// Taken by every transaction that numbers events on PostgreSQL, held until it ends.
const FEED_LOCK: i64 = 0x4C55_5003;

/// Rows per statement when catching up.
const CHUNK: u64 = 500;

/// Writes the events of the rows `touched` in `txn` (and of the rows under them whose
/// audience changed with them, or that went with them), numbered after every event committed
/// before. Call it last in the transaction: on PostgreSQL it takes a lock that serialises
/// committing writers until `txn` ends. Returns the newest number written, if any.
pub async fn record(txn: &DatabaseTransaction, touched: &[Touched]) -> Result<Option<i64>, DbErr> {
    if touched.is_empty() {
        return Ok(None);
    }
    lock(txn).await?;
    let mut recorder = Recorder::new(txn).await?;
    // One event per row: its first and last operation in this transaction tell which.
    let mut rows: Vec<Touched> = Vec::new();
    for t in touched {
        match rows.iter_mut().find(|r| r.entity == t.entity && r.id == t.id) {
            Some(r) => {
                r.operation = match (r.operation, t.operation) {
                    (ChangeOperation::Create, ChangeOperation::Delete) => ChangeOperation::Delete,
                    (ChangeOperation::Create, _) => ChangeOperation::Create,
                    (_, op) => op,
                };
                r.audit_id = t.audit_id.or(r.audit_id);
                r.linked = r.linked && t.linked;
            }
            None => rows.push(*t),
        }
    }
    let created_and_deleted = |r: &Touched| {
        r.operation == ChangeOperation::Delete
            && touched
                .iter()
                .find(|t| t.entity == r.entity && t.id == r.id)
                .is_some_and(|first| first.operation == ChangeOperation::Create)
    };
    // By type (the order of the events is settled in `flush`).
    let mut by_type: Vec<(ChangeType, Vec<Touched>)> = Vec::new();
    for r in rows.iter().filter(|r| !created_and_deleted(r)) {
        match by_type.iter_mut().find(|(t, _)| *t == r.entity) {
            Some((_, rows)) => rows.push(*r),
            None => by_type.push((r.entity, vec![*r])),
        }
    }
    for (t, rows) in &by_type {
        recorder.rows(*t, rows).await?;
    }
    // Who may see the rows under a changed row may have changed with it (a plan back to
    // draft hides its actions); only a changed audience makes an event of its own.
    for r in rows
        .iter()
        .filter(|r| r.operation == ChangeOperation::Update && audience::is_parent(r.entity))
    {
        for (t, ids) in audience::dependents(txn, r.entity, r.id).await? {
            let ids: Vec<Uuid> = ids.into_iter().filter(|id| !recorder.done(t, *id)).collect();
            recorder.audiences_changed(t, &ids).await?;
        }
    }
    // An idea exchange lists the actions that came of it: actions that came into or went out
    // of a reader's sight change the list that reader sees.
    let moved = std::mem::take(&mut recorder.moved_actions);
    if !moved.is_empty() {
        let exchanges: Vec<Uuid> = audience::exchanges_of(txn, &moved)
            .await?
            .into_iter()
            .filter(|id| !recorder.done(ChangeType::IdeaExchange, *id))
            .collect();
        recorder.relisted(ChangeType::IdeaExchange, &exchanges).await?;
    }
    // Rows that went with a deleted parent (the foreign keys cascade).
    if rows
        .iter()
        .any(|r| r.operation == ChangeOperation::Delete && audience::is_parent(r.entity))
    {
        recorder.sweep().await?;
    }
    recorder.flush().await
}

/// Gives every row that has no event yet a `CREATE`, and every row that is gone but whose
/// last event was not a `DELETE` a `DELETE`. Returns how many events it wrote.
pub async fn catch_up(db: &DatabaseConnection) -> Result<u64, DbErr> {
    let mut written = 0;
    for t in ChangeType::ALL {
        loop {
            let txn = crate::db::begin_write(db).await?;
            lock(&txn).await?;
            let ids = audience::untold(&txn, t, CHUNK).await?;
            if ids.is_empty() {
                txn.rollback().await?;
                break;
            }
            let mut recorder = Recorder::new(&txn).await?;
            let rows: Vec<Touched> = ids
                .into_iter()
                .map(|id| Touched {
                    entity: t,
                    id,
                    operation: ChangeOperation::Create,
                    audit_id: None,
                    linked: false,
                })
                .collect();
            recorder.rows(t, &rows).await?;
            written += recorder.events.len() as u64;
            recorder.flush().await?;
            txn.commit().await?;
        }
    }
    let txn = crate::db::begin_write(db).await?;
    lock(&txn).await?;
    let mut recorder = Recorder::new(&txn).await?;
    recorder.sweep().await?;
    written += recorder.events.len() as u64;
    recorder.flush().await?;
    txn.commit().await?;
    if written > 0 {
        tracing::info!(
            events = written,
            "change feed caught up with rows written around it"
        );
    }
    Ok(written)
}

/// Serialises the numbering of events (PostgreSQL; SQLite's write transactions are serial
/// already): held from here until the transaction ends, so events are numbered in commit
/// order and the statements after it see every write committed before.
pub(crate) async fn lock(txn: &DatabaseTransaction) -> Result<(), DbErr> {
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({FEED_LOCK})"))
            .await?;
    }
    Ok(())
}

/// The events of one transaction, numbered and written by [`Recorder::flush`].
struct Recorder<'a> {
    txn: &'a DatabaseTransaction,
    next: i64,
    now: chrono::DateTime<Utc>,
    events: Vec<change_event::ActiveModel>,
    /// For each event, whether a reader that saw the row before it does not see it after it,
    /// and where its type stands in [`ChangeType::ALL`] (parents first).
    places: Vec<(bool, usize)>,
    /// The actions whose audience changed with a row above them (see [`Recorder::relisted`]).
    moved_actions: Vec<Uuid>,
    /// The rows given an event, and who may see them after it.
    after: HashMap<(ChangeType, Uuid), Audience>,
}

impl<'a> Recorder<'a> {
    async fn new(txn: &'a DatabaseTransaction) -> Result<Recorder<'a>, DbErr> {
        Ok(Recorder {
            txn,
            next: super::feed::newest(txn).await? + 1,
            now: crate::common::now(),
            events: Vec::new(),
            places: Vec::new(),
            moved_actions: Vec::new(),
            after: HashMap::new(),
        })
    }

    fn done(&self, t: ChangeType, id: Uuid) -> bool {
        self.after.contains_key(&(t, id))
    }

    /// Who the feed last said may see the rows `ids` of `t` (rows it has not told of: none).
    async fn told(&self, t: ChangeType, ids: &[Uuid]) -> Result<HashMap<Uuid, Audience>, DbErr> {
        let mut out = HashMap::new();
        for chunk in ids.chunks(CHUNK as usize) {
            let rows = change_state::Entity::find()
                .filter(S::EntityType.eq(t.name()))
                .filter(S::EntityId.is_in(chunk.iter().copied()))
                .all(self.txn)
                .await?;
            out.extend(rows.into_iter().map(|s| {
                (
                    s.entity_id,
                    Audience {
                        exists: true,
                        public: s.public,
                        community: s.community_id,
                        organization: s.organization_id,
                    },
                )
            }));
        }
        Ok(out)
    }

    /// Events for rows written in this transaction.
    async fn rows(&mut self, t: ChangeType, rows: &[Touched]) -> Result<(), DbErr> {
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let before = self.told(t, &ids).await?;
        let mut after = HashMap::new();
        for chunk in ids.chunks(CHUNK as usize) {
            after.extend(audience::of(self.txn, t, chunk).await?);
        }
        for r in rows {
            let before = match r.operation {
                ChangeOperation::Create => Audience::NONE,
                _ => before.get(&r.id).copied().unwrap_or(Audience::NONE),
            };
            let after = match r.operation {
                ChangeOperation::Delete => Audience::NONE,
                _ => after.get(&r.id).copied().unwrap_or(Audience::NONE),
            };
            self.event(t, r.id, r.operation, r.audit_id, before, after);
            if r.linked
                && let Some(place) = self.places.last_mut()
            {
                place.1 += ChangeType::ALL.len();
            }
        }
        Ok(())
    }

    /// Events for the rows `ids` of `t` whose audience is not what the feed last said.
    async fn audiences_changed(&mut self, t: ChangeType, ids: &[Uuid]) -> Result<(), DbErr> {
        self.compare(t, ids, false).await
    }

    /// `UPDATE` events for the rows `ids` of `t`, which list rows that came into or went out
    /// of someone's sight (and events for those whose own audience changed).
    async fn relisted(&mut self, t: ChangeType, ids: &[Uuid]) -> Result<(), DbErr> {
        self.compare(t, ids, true).await
    }

    async fn compare(&mut self, t: ChangeType, ids: &[Uuid], always: bool) -> Result<(), DbErr> {
        let before = self.told(t, ids).await?;
        let mut after = HashMap::new();
        for chunk in ids.chunks(CHUNK as usize) {
            after.extend(audience::of(self.txn, t, chunk).await?);
        }
        for id in ids {
            let (b, a) = (
                before.get(id).copied().unwrap_or(Audience::NONE),
                after.get(id).copied().unwrap_or(Audience::NONE),
            );
            if t == ChangeType::Action && b != a {
                self.moved_actions.push(*id);
            }
            if b != a || (always && a.exists) {
                let operation = match (b.exists, a.exists) {
                    (false, _) => ChangeOperation::Create,
                    (true, false) => ChangeOperation::Delete,
                    (true, true) => ChangeOperation::Update,
                };
                self.event(t, *id, operation, None, b, a);
            }
        }
        Ok(())
    }

    /// `DELETE` events for the rows the feed told of that are gone.
    async fn sweep(&mut self) -> Result<(), DbErr> {
        for t in ChangeType::ALL {
            let ids: Vec<Uuid> = audience::gone(self.txn, t)
                .await?
                .into_iter()
                .filter(|id| !self.done(t, *id))
                .collect();
            if ids.is_empty() {
                continue;
            }
            let before = self.told(t, &ids).await?;
            for id in ids {
                let b = before.get(&id).copied().unwrap_or(Audience::NONE);
                self.event(t, id, ChangeOperation::Delete, None, b, Audience::NONE);
            }
        }
        Ok(())
    }

    fn event(
        &mut self,
        t: ChangeType,
        id: Uuid,
        operation: ChangeOperation,
        audit_id: Option<Uuid>,
        before: Audience,
        after: Audience,
    ) {
        self.after.insert((t, id), after);
        let rank = ChangeType::ALL.iter().position(|x| *x == t).unwrap_or_default();
        self.places.push((before.lost_to(&after), rank));
        self.events.push(change_event::ActiveModel {
            seq: NotSet, // numbered in `flush`, in the order it settles
            occurred_at: Set(self.now),
            entity_type: Set(t.name().to_owned()),
            entity_id: Set(id),
            operation: Set(operation),
            audit_id: Set(audit_id),
            before_exists: Set(before.exists),
            before_public: Set(before.public),
            before_community_id: Set(before.community),
            before_organization_id: Set(before.organization),
            after_exists: Set(after.exists),
            after_public: Set(after.public),
            after_community_id: Set(after.community),
            after_organization_id: Set(after.organization),
        });
    }

    /// Writes the events and what the feed now says of each row. Returns the newest number.
    async fn flush(self) -> Result<Option<i64>, DbErr> {
        if self.events.is_empty() {
            return Ok(None);
        }
        let newest = self.next + self.events.len() as i64 - 1;
        // A client copying the feed into tables with foreign keys applies the events in their
        // order: a row comes before the rows under it, and where rows go (deleted, or out of
        // a reader's sight) the rows under them go first. So the events that take a row from
        // some reader come last, children first; the others before them, parents first; each
        // type's rows in the order the write touched them.
        let mut events: Vec<_> = self.places.iter().copied().zip(self.events).collect();
        events.sort_by_key(|&((lost, rank), _)| (lost, if lost { -(rank as isize) } else { rank as isize }));
        let mut events = events
            .into_iter()
            .zip(self.next..)
            .map(|((_, mut event), seq)| {
                event.seq = Set(seq);
                event
            })
            .peekable();
        // Bounded statements: 14 values an event, well under both databases' limits.
        while events.peek().is_some() {
            let chunk: Vec<_> = events.by_ref().take(CHUNK as usize).collect();
            change_event::Entity::insert_many(chunk).exec(self.txn).await?;
        }
        let mut gone: HashMap<ChangeType, Vec<Uuid>> = HashMap::new();
        let mut states = Vec::new();
        for ((t, id), a) in &self.after {
            if a.exists {
                states.push(change_state::ActiveModel {
                    entity_type: Set(t.name().to_owned()),
                    entity_id: Set(*id),
                    seq: Set(newest),
                    public: Set(a.public),
                    community_id: Set(a.community),
                    organization_id: Set(a.organization),
                });
            } else {
                gone.entry(*t).or_default().push(*id);
            }
        }
        let mut states = states.into_iter().peekable();
        while states.peek().is_some() {
            let chunk: Vec<_> = states.by_ref().take(CHUNK as usize).collect();
            change_state::Entity::insert_many(chunk)
                .on_conflict(
                    OnConflict::columns([S::EntityType, S::EntityId])
                        .update_columns([S::Seq, S::Public, S::CommunityId, S::OrganizationId])
                        .to_owned(),
                )
                .exec(self.txn)
                .await?;
        }
        for (t, ids) in gone {
            for chunk in ids.chunks(CHUNK as usize) {
                change_state::Entity::delete_many()
                    .filter(S::EntityType.eq(t.name()))
                    .filter(S::EntityId.is_in(chunk.iter().copied()))
                    .exec(self.txn)
                    .await?;
            }
        }
        Ok(Some(newest))
    }
}

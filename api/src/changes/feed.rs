//! The per-instance hub of new change events: one task (the pump) reads the events committed
//! since it last looked, all of them and in order, and hands each to every subscriber of this
//! instance (GraphQL subscriptions, the webhook dispatcher), who filter them by what their
//! reader may see. One read per commit, however many subscribers.
//!
//! The pump is woken by this instance's commits ([`Feed::wake`], from `Write::commit`) and by
//! the other instances' and the command line's (the `NOTIFY` that `crate::broadcast` listens
//! to, on PostgreSQL; it also wakes the pump when its connection was lost, as notifications
//! may have been missed). It does not poll: an idle server sends no SQL. On SQLite, a write
//! of the command line reaches subscribers with the server's next write (the pump always
//! reads everything after the last event it handed on).
use std::sync::{
    Arc,
    atomic::{AtomicI64, Ordering},
};

use entity::change_event::{self, Column as C};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tokio::sync::{Notify, broadcast};

use super::ChangeRow;

/// How many events a subscriber may fall behind before it is told it lagged (and, for a
/// subscription, disconnected: a slow consumer is not buffered without end).
pub const BACKLOG: usize = 1024;

/// Events read per statement.
const BATCH: u64 = 500;

#[derive(Clone)]
pub struct Feed {
    inner: Arc<Inner>,
}

struct Inner {
    tx: broadcast::Sender<Arc<ChangeRow>>,
    wake: Notify,
    /// The newest event handed to subscribers.
    head: AtomicI64,
}

impl Default for Feed {
    fn default() -> Self {
        Feed::new()
    }
}

impl Feed {
    pub fn new() -> Feed {
        let (tx, _) = broadcast::channel(BACKLOG);
        Feed {
            inner: Arc::new(Inner {
                tx,
                wake: Notify::new(),
                head: AtomicI64::new(0),
            }),
        }
    }

    /// Starts the pump on `db`, from the newest event committed now (events before it are in
    /// the `changes` feed). Runs until the pool is closed.
    pub async fn start(&self, db: DatabaseConnection) -> Result<(), DbErr> {
        let head = newest(&db).await?;
        self.inner.head.store(head, Ordering::SeqCst);
        let feed = self.clone();
        tokio::spawn(async move { feed.pump(db).await });
        Ok(())
    }

    /// Something may have been committed: look now.
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// The events committed from now on, in order. A receiver that falls [`BACKLOG`] events
    /// behind gets `RecvError::Lagged`.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<ChangeRow>> {
        self.inner.tx.subscribe()
    }

    /// The newest event handed to subscribers so far.
    pub fn head(&self) -> i64 {
        self.inner.head.load(Ordering::SeqCst)
    }

    async fn pump(&self, db: DatabaseConnection) {
        loop {
            self.inner.wake.notified().await;
            if closed(&db) {
                // The server is stopping.
                return;
            }
            loop {
                let from = self.head();
                match after(&db, from, BATCH).await {
                    Ok(rows) => {
                        let full = rows.len() as u64 == BATCH;
                        for row in rows {
                            self.inner.head.store(row.seq, Ordering::SeqCst);
                            // No subscriber is not an error.
                            let _ = self.inner.tx.send(Arc::new(row));
                        }
                        if !full {
                            break;
                        }
                    }
                    Err(e) => {
                        if closed(&db) {
                            return;
                        }
                        tracing::warn!(error = %e, "reading new change events failed; retrying in 1 s");
                        let feed = self.clone();
                        tokio::spawn(async move {
                            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                            feed.wake();
                        });
                        break;
                    }
                }
            }
        }
    }
}

fn closed(db: &DatabaseConnection) -> bool {
    match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => db.get_postgres_connection_pool().is_closed(),
        _ => db.get_sqlite_connection_pool().is_closed(),
    }
}

/// The newest event's number (0 when there is none), on the pool or in a transaction.
pub async fn newest<D: sea_orm::ConnectionTrait>(db: &D) -> Result<i64, DbErr> {
    let head: Option<Option<i64>> = change_event::Entity::find()
        .select_only()
        .expr(C::Seq.max())
        .into_tuple::<Option<i64>>()
        .one(db)
        .await?;
    Ok(head.flatten().unwrap_or(0))
}

/// Every event after `seq`, oldest first, at most `limit` (for the webhook dispatcher and the
/// pump; not filtered by any reader).
pub async fn after(db: &DatabaseConnection, seq: i64, limit: u64) -> Result<Vec<ChangeRow>, DbErr> {
    Ok(change_event::Entity::find()
        .filter(C::Seq.gt(seq))
        .order_by_asc(C::Seq)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .filter_map(ChangeRow::from_model)
        .collect())
}

//! `changed`: the change feed pushed as it commits, over WebSocket (`crate::http::ws`). Each
//! event of this instance's [`super::Feed`] goes to each subscriber that may see it, as the
//! same [`Change`] the `changes` query gives; with `after`, the changes since that cursor are
//! read from the database first, then the live ones follow without a gap or a repeat.
use std::{collections::VecDeque, sync::Arc};

use async_graphql::{
    Context, Result, Subscription,
    connection::CursorType,
    futures_util::stream::{self, BoxStream, StreamExt},
};
use sea_orm::DatabaseConnection;
use tokio::sync::{broadcast, watch};

use super::{Change, ChangeRow, ChangeType, Reader, query::ChangeCursor};
use crate::{
    error::ApiError,
    http::ws::session::{Counted, End, Session},
    loader::{Loaders, RequestLoaders},
};

/// Changes read from the database per statement while catching up (`after`).
const REPLAY_PAGE: u64 = 100;

#[derive(Default)]
pub struct ChangesSubscription;

#[Subscription]
impl ChangesSubscription {
    /// The changes to the rows you may see, as they are committed (on any instance), in
    /// order: the same `Change` as the `changes` feed gives, with tombstones (`kind: DELETED`)
    /// for rows deleted or gone from your view. `node` is the row as it is when the change is
    /// delivered. With `after` (a `cursor` from the feed or from an earlier event), the
    /// changes since then come first, then the new ones, none missed or repeated; they are
    /// read 100 at a time, and each hundred after the first costs a point of your rate-limit
    /// budget, as a page of `changes` does (over budget, they come as the budget allows). Over
    /// WebSocket only (graphql-transport-ws at `/graphql`); the subscription ends with an
    /// error when the access token expires or the account or key is no longer valid, and
    /// a subscriber that falls far behind is disconnected.
    async fn changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only changes to rows of these types; all types when left out.")] types: Option<
            Vec<ChangeType>,
        >,
        #[graphql(
            desc = "A `cursor` from an earlier change (of the feed or of this subscription): the changes since then are delivered first."
        )]
        after: Option<String>,
    ) -> Result<BoxStream<'static, Result<Change>>> {
        let (Some(session), Some(loaders)) =
            (ctx.data_opt::<Arc<Session>>(), ctx.data_opt::<RequestLoaders>())
        else {
            return Err(ApiError::bad_input(
                "subscriptions are served over WebSocket (graphql-transport-ws at /graphql)",
            )
            .into());
        };
        if types.as_ref().is_some_and(|t| t.is_empty()) {
            return Err(ApiError::bad_input("`types` must name at least one type, or be left out").into());
        }
        let given = match after {
            Some(c) => Some(ChangeCursor::decode_cursor(&c).map_err(|e| ApiError::bad_input(e.to_string()))?),
            None => None,
        };
        let after = given.map(|c| c.seq);
        let db = ctx.data_unchecked::<DatabaseConnection>();
        if let Some(given) = given {
            let head = super::feed::newest(db).await.map_err(ApiError::from)?;
            if given.seq > head {
                return Err(super::query::ahead(given.seq, head).into());
            }
            given.check(db).await?;
        }
        let feed = ctx.data_unchecked::<super::Feed>();
        // Subscribed before anything is read, so nothing committed from now on is missed.
        let live = feed.subscribe();
        let watch = Watch {
            live,
            reader: session.reader.clone(),
            types,
            ended: session.watch_end(),
            session: session.clone(),
            loaders: Loaders::clone(loaders),
            db: db.clone(),
            replay: after.map(|after| Replay {
                after,
                rows: VecDeque::new(),
                done: false,
                pages: 0,
            }),
            seen: after.unwrap_or(0),
            finished: false,
            _counted: session.count_subscription(),
        };
        Ok(stream::unfold(watch, |mut w| async move {
            let item = w.next().await?;
            Some((item, w))
        })
        .boxed())
    }
}

/// Catching up from a cursor: the pages of the feed read so far, not yet delivered.
struct Replay {
    /// Every change up to here was read.
    after: i64,
    rows: VecDeque<ChangeRow>,
    /// The last page was read: what follows comes live.
    done: bool,
    /// Pages read so far: the first is paid for by the subscribe (or comes of falling
    /// behind), each further one costs a point of the client's budget.
    pages: u32,
}

/// One subscriber's state between two events.
struct Watch {
    live: broadcast::Receiver<Arc<ChangeRow>>,
    reader: Reader,
    types: Option<Vec<ChangeType>>,
    session: Arc<Session>,
    ended: watch::Receiver<Option<End>>,
    loaders: Loaders,
    db: DatabaseConnection,
    replay: Option<Replay>,
    /// The newest change considered: live events up to it came through the replay.
    seen: i64,
    finished: bool,
    _counted: Counted,
}

impl Watch {
    /// The next event for this subscriber; an error ends the subscription.
    async fn next(&mut self) -> Option<Result<Change>> {
        if self.finished {
            return None;
        }
        let item = self.next_change().await;
        if matches!(item, Some(Err(_))) {
            self.finished = true;
        }
        item
    }

    async fn next_change(&mut self) -> Option<Result<Change>> {
        loop {
            let row = match self.next_row().await {
                Ok(Some(row)) => row,
                Ok(None) => return None,
                Err(e) => return Some(Err(e)),
            };
            if row.seq <= self.seen {
                continue;
            }
            self.seen = row.seq;
            if self.types.as_ref().is_some_and(|t| !t.contains(&row.entity)) {
                continue;
            }
            let Some(change) = Change::seen(row, &self.reader) else {
                continue;
            };
            // The caller may still see it: token, account, key (read again every few seconds).
            if let Err(end) = self.session.check().await {
                return Some(Err(end.error()));
            }
            // Each event's `node` is read afresh.
            self.loaders.forget();
            return Some(Ok(change));
        }
    }

    /// The next event of the feed, from the replay while it lasts, then live.
    async fn next_row(&mut self) -> Result<Option<Arc<ChangeRow>>> {
        if let Some(end) = self.ended.borrow().clone() {
            return Err(end.error());
        }
        if let Some(replay) = &mut self.replay {
            loop {
                if let Some(row) = replay.rows.pop_front() {
                    return Ok(Some(Arc::new(row)));
                }
                if replay.done {
                    break;
                }
                if replay.pages > 0 {
                    self.session.pace().await.map_err(|end| end.error())?;
                }
                replay.pages += 1;
                let page = super::query::read(
                    &self.db,
                    &self.reader,
                    replay.after,
                    self.types.as_deref(),
                    REPLAY_PAGE,
                )
                .await?;
                replay.after = page.rows.last().map_or(page.head.max(replay.after), |r| r.seq);
                replay.done = !page.more;
                replay.rows.extend(page.rows);
            }
            // Every change up to the head of the last page was considered: the live events up
            // to it (subscribed to before the first page was read) are not new.
            self.seen = self.seen.max(replay.after);
            self.replay = None;
        }
        loop {
            tokio::select! {
                received = self.live.recv() => return match received {
                    Ok(row) => Ok(Some(row)),
                    // Fell behind the live events (one commit can make more than the
                    // backlog: a large plan back to draft): read on from the database instead,
                    // in order and without gaps. A subscriber that does not read at all is
                    // caught by the socket's send timeout.
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        self.replay = Some(Replay {
                            after: self.seen,
                            rows: VecDeque::new(),
                            done: false,
                            pages: 0,
                        });
                        return Box::pin(self.next_row()).await;
                    }
                    // The server is stopping.
                    Err(broadcast::error::RecvError::Closed) => Ok(None),
                },
                changed = self.ended.changed() => {
                    if changed.is_err() {
                        return Ok(None);
                    }
                    if let Some(end) = self.ended.borrow().clone() {
                        return Err(end.error());
                    }
                }
            }
        }
    }
}

//! Committed changes, told to every instance serving the same PostgreSQL database, so none of
//! them answers from its response cache what another instance's write changed.
//!
//! A write's transaction sends `NOTIFY lup_changed` before it commits: PostgreSQL delivers it
//! when (and only if) the transaction commits, to every connection listening on the channel.
//! Each server keeps one connection of its pool listening ([`listen`]) and empties its cache on
//! each notification, and also whenever its listening connection was lost (notifications may
//! have been missed meanwhile). The command line's writes announce themselves the same way.
//! On SQLite there is one instance, and a write empties its own cache when it commits.
use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr};

use crate::{cache::ResponseCache, changes::Feed};

/// The channel the writes announce themselves on.
const CHANNEL: &str = "lup_changed";

/// Tells the other instances, once `txn` commits, that data changed (PostgreSQL only).
pub async fn announce(txn: &DatabaseTransaction) -> Result<(), DbErr> {
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_unprepared(&format!("NOTIFY {CHANNEL}")).await?;
    }
    Ok(())
}

/// Empties `cache` (when it is on) and wakes `feed` whenever another instance (or this one, or the command line) commits a
/// write to the same PostgreSQL database, until `db`'s pool is closed. The listening
/// connection is its own (opened from `url`), not one of the pool's; it is open when this
/// returns (unless the database was out of reach: then it keeps trying in the background).
/// Nothing on SQLite.
pub async fn listen(db: &DatabaseConnection, url: &str, cache: ResponseCache, feed: Feed) {
    if db.get_database_backend() != DbBackend::Postgres {
        return;
    }
    let pool = db.get_postgres_connection_pool().clone();
    let url = url.to_owned();
    let first = subscribe(&url).await;
    tokio::spawn(async move {
        tokio::select! {
            () = relay(&url, first, &cache, &feed) => {}
            () = pool.close_event() => {}
        }
    });
}

type Listener = sea_orm::sqlx::postgres::PgListener;

/// The listening connection's `application_name`, so operators (and the outage tests) can
/// tell it from the pool's.
pub const APPLICATION_NAME: &str = "lup-listen";

async fn subscribe(url: &str) -> Result<Listener, sea_orm::sqlx::Error> {
    use std::str::FromStr;
    let options =
        sea_orm::sqlx::postgres::PgConnectOptions::from_str(url)?.application_name(APPLICATION_NAME);
    let pool = sea_orm::sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_lazy_with(options);
    let mut listener = Listener::connect_with(&pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Empties `cache` on each notification, for ever: a lost connection is opened again, and the
/// cache emptied, as notifications may have been missed meanwhile.
async fn relay(url: &str, first: Result<Listener, sea_orm::sqlx::Error>, cache: &ResponseCache, feed: &Feed) {
    let mut next = Some(first);
    loop {
        let subscribed = match next.take() {
            Some(first) => first,
            None => {
                let again = subscribe(url).await;
                // Anything written while no one listened may be cached by now.
                cache.clear();
                feed.wake();
                again
            }
        };
        let mut listener = match subscribed {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for other instances' writes; retrying in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        loop {
            match listener.try_recv().await {
                Ok(Some(_)) => {
                    cache.clear();
                    feed.wake();
                }
                // The connection was lost and opened again: what was sent meanwhile is unknown.
                Ok(None) => {
                    tracing::warn!(
                        "the connection listening for other instances' writes was lost; reconnected"
                    );
                    cache.clear();
                    feed.wake();
                }
                Err(e) => {
                    tracing::warn!(error = %e, "listening for other instances' writes failed; reconnecting in 1 s");
                    cache.clear();
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    break;
                }
            }
        }
    }
}

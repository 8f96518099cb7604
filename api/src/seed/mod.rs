//! The demo data: Jammerbugt's 24 real local communities, its departments and themes, and an
//! invented programme around them (plans, actions, organisations, partnerships, ideas). Loaded
//! into an empty database, in one transaction; `about.demoContent` then says so.
pub mod accounts;
mod demo;
mod review;

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{ActiveModelTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait, TransactionTrait};
use uuid::Uuid;

pub use demo::Demo;

const DEMO_JSON: &str = include_str!("demo.json");

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("demo.json: {0}")]
    Parse(#[from] serde_json::Error),
    #[error("demo.json refers to an unknown {kind} \"{key}\"")]
    UnknownRef { kind: &'static str, key: String },
    #[error("{0}")]
    Db(#[from] DbErr),
}

pub fn demo() -> Result<Demo, SeedError> {
    Ok(serde_json::from_str(DEMO_JSON)?)
}

/// Loads the demo data when the database has no communities; true when it did.
pub async fn load_demo_if_empty(db: &DatabaseConnection) -> Result<bool, SeedError> {
    if entity::community::Entity::find().count(db).await? > 0 {
        return Ok(false);
    }
    let demo = demo()?;
    let txn = db.begin().await?;
    let inserted = match demo::insert(&demo, &txn).await {
        Ok(()) => txn.commit().await.map_err(SeedError::from),
        Err(e) => Err(e),
    };
    match inserted {
        Ok(()) => {
            review::load(db).await;
            Ok(true)
        }
        // Another instance starting at the same time seeded first: its data stands.
        Err(_) if entity::community::Entity::find().count(db).await? > 0 => Ok(false),
        Err(e) => Err(e),
    }
}

/// Keys of the demo file mapped to the UUIDs given to their rows.
#[derive(Default)]
pub(crate) struct Ids {
    map: HashMap<(&'static str, String), Uuid>,
}

impl Ids {
    pub fn add(&mut self, kind: &'static str, key: &str) -> Uuid {
        let id = Uuid::now_v7();
        self.map.insert((kind, key.to_owned()), id);
        id
    }

    pub fn get(&self, kind: &'static str, key: &str) -> Result<Uuid, SeedError> {
        self.map
            .get(&(kind, key.to_owned()))
            .copied()
            .ok_or_else(|| SeedError::UnknownRef {
                kind,
                key: key.to_owned(),
            })
    }

    pub fn opt(&self, kind: &'static str, key: &Option<String>) -> Result<Option<Uuid>, SeedError> {
        key.as_deref().map(|k| self.get(kind, k)).transpose()
    }
}

pub(crate) fn now() -> chrono::DateTime<Utc> {
    crate::common::now()
}

/// Inserts rows in chunks (SQLite bounds the number of parameters per statement).
pub(crate) async fn put_many<A, C>(rows: Vec<A>, db: &C) -> Result<(), DbErr>
where
    A: ActiveModelTrait + Send,
    C: sea_orm::ConnectionTrait,
{
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(40).collect();
        <A::Entity as EntityTrait>::insert_many(chunk)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

//! An annual review entry keeps the community's name of its snapshot in a column of its own,
//! `community_name`, so a review's entries are ordered by the name they show: by the live
//! name, a renamed community's entry in a published review stood where its new name sorts
//! while it showed the old one. Filled from each entry's snapshot.
use sea_orm_migration::{
    prelude::*,
    sea_orm::{ConnectionTrait, DatabaseBackend, Statement, Value, prelude::Uuid},
};

use crate::builder::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(name("annual_review_entry"))
                    .add_column(text("community_name"))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        let rows = db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT id, snapshot FROM annual_review_entry",
            ))
            .await?;
        let update = match backend {
            DatabaseBackend::Postgres => "UPDATE annual_review_entry SET community_name = $1 WHERE id = $2",
            _ => "UPDATE annual_review_entry SET community_name = ? WHERE id = ?",
        };
        for row in rows {
            let snapshot: String = row.try_get("", "snapshot")?;
            let Some(named) = serde_json::from_str::<serde_json::Value>(&snapshot)
                .ok()
                .and_then(|s| s.get("communityName")?.as_str().map(str::to_owned))
            else {
                continue;
            };
            let id: Uuid = row.try_get("", "id")?;
            db.execute_raw(Statement::from_sql_and_values(
                backend,
                update,
                [Value::from(named), Value::from(id)],
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(name("annual_review_entry"))
                    .drop_column(name("community_name"))
                    .to_owned(),
            )
            .await
    }
}

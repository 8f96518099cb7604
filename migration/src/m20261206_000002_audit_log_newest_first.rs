//! An index in the audit log's own order, newest first (`occurred_at DESC, id DESC`, rows
//! without a time last as the API orders them), so its first pages are read off the index
//! instead of sorting the whole log: at 130,000 records the first page took about a second.
//!
//! PostgreSQL needs `NULLS LAST` spelt out to match the API's `ORDER BY` (a descending index
//! puts nulls first by default); SQLite's descending order puts them last already.
use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

use crate::builder::{drop_index_if_exists, run};

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEX: &str = "ix_audit_log_newest_first";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let columns = match manager.get_database_backend() {
            DbBackend::Postgres => "occurred_at DESC NULLS LAST, id DESC NULLS LAST",
            _ => "occurred_at DESC, id DESC",
        };
        run(
            manager,
            &format!("CREATE INDEX IF NOT EXISTS {INDEX} ON audit_log ({columns})"),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_index_if_exists(manager, INDEX).await
    }
}

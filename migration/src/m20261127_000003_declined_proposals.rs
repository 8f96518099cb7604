//! A declined proposal stays private: `declined_at` marks it (its status becomes ENDED like a
//! finished partnership's, which is public). One pending proposal per organisation and action,
//! held by the database too, so two concurrent `expressInterest` calls cannot both land.
use sea_orm_migration::prelude::*;

use crate::builder::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEX: &str = "ux_partnership_pending_proposal";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(name("partnership"))
                    .add_column(
                        ColumnDef::new(name("declined_at"))
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        // A partial unique index: the same statement on SQLite and PostgreSQL.
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "CREATE UNIQUE INDEX {INDEX} ON partnership (action_id, proposed_by_organization_id) \
                 WHERE status = 'PROPOSED' AND proposed_by_organization_id IS NOT NULL"
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(INDEX).table(name("partnership")).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(name("partnership"))
                    .drop_column(name("declined_at"))
                    .to_owned(),
            )
            .await
    }
}

//! The organisation that proposed to join a partnership (`partnership.proposed_by_organization_id`,
//! added with the partner API) becomes a foreign key the database enforces, as every other
//! reference between tables is: deleting an organisation that proposed is refused by the
//! database too, not only by `deleteOrganization`'s check. A proposer that no longer exists
//! (which that check kept from happening) is cleared first.
//!
//! PostgreSQL only: SQLite cannot add a constraint to an existing column (it would take
//! rebuilding the table); there the check in `deleteOrganization` stands alone, as before.
use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

use crate::builder::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLE: &str = "partnership";
const COLUMN: &str = "proposed_by_organization_id";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE partnership SET proposed_by_organization_id = NULL \
                 WHERE proposed_by_organization_id IS NOT NULL AND NOT EXISTS (\
                   SELECT 1 FROM organization WHERE organization.id = partnership.proposed_by_organization_id)",
            )
            .await?;
        manager
            .create_foreign_key(fk(TABLE, COLUMN, "organization", ForeignKeyAction::Restrict))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        manager
            .drop_foreign_key(
                ForeignKey::drop()
                    .name(format!("fk_{TABLE}_{COLUMN}"))
                    .table(name(TABLE))
                    .to_owned(),
            )
            .await
    }
}

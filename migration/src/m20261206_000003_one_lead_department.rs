//! One lead department per action, held by the database too (a partial unique index), so two
//! concurrent writes cannot both name a lead. An action that has several already keeps the
//! one named first as its lead; the others become SUPPORT.
use sea_orm_migration::prelude::*;

use crate::builder::{drop_index_if_exists, run};

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEX: &str = "ux_action_department_one_lead";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(
            manager,
            "UPDATE action_department SET role = 'SUPPORT' \
             WHERE role = 'LEAD' AND EXISTS (\
               SELECT 1 FROM action_department AS first \
               WHERE first.action_id = action_department.action_id AND first.role = 'LEAD' \
                 AND (first.created_at < action_department.created_at \
                      OR (first.created_at = action_department.created_at AND first.id < action_department.id)))",
        )
        .await?;
        // A partial unique index: the same statement on SQLite and PostgreSQL.
        run(
            manager,
            &format!("CREATE UNIQUE INDEX {INDEX} ON action_department (action_id) WHERE role = 'LEAD'"),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_index_if_exists(manager, INDEX).await
    }
}

//! One lead department per action, held by the database too (a partial unique index), so two
//! concurrent writes cannot both name a lead. An action that has several already keeps the
//! one named first as its lead; the others become SUPPORT.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEX: &str = "ux_action_department_one_lead";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(
            "UPDATE action_department SET role = 'SUPPORT' \
             WHERE role = 'LEAD' AND EXISTS (\
               SELECT 1 FROM action_department AS first \
               WHERE first.action_id = action_department.action_id AND first.role = 'LEAD' \
                 AND (first.created_at < action_department.created_at \
                      OR (first.created_at = action_department.created_at AND first.id < action_department.id)))",
        )
        .await?;
        // A partial unique index: the same statement on SQLite and PostgreSQL.
        db.execute_unprepared(&format!(
            "CREATE UNIQUE INDEX {INDEX} ON action_department (action_id) WHERE role = 'LEAD'"
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(&format!("DROP INDEX IF EXISTS {INDEX}"))
            .await?;
        Ok(())
    }
}

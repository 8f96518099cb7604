//! A better completion date for actions completed before completion dates were kept. The
//! engagement migration guessed the day each was last changed, which a later edit of its text
//! pushes forward. This one uses, in order: the latest progress note reporting 100 % posted no
//! later than that day, else the due date if it had passed by then, else the guess as it was.
//! Only the guesses are touched (a date equal to the day of the last change, or none); a
//! date given or recorded on completion since is left alone.
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Re-dates the completed actions whose completion date is the day they were last changed
/// (or missing), as the module describes. Safe to run again.
pub async fn backfill_completed_on<C: ConnectionTrait>(db: &C) -> Result<(), DbErr> {
    let changed_on = match db.get_database_backend() {
        DatabaseBackend::Postgres => r#"CAST("action"."updated_at" AS DATE)"#,
        // SQLite keeps timestamps as ISO text: the date is its first ten characters.
        _ => r#"substr("action"."updated_at", 1, 10)"#,
    };
    db.execute_unprepared(&format!(
        r#"UPDATE "action" SET "completed_on" = COALESCE(
            (SELECT MAX("action_update"."posted_on") FROM "action_update"
              WHERE "action_update"."action_id" = "action"."id"
                AND "action_update"."progress" = 100
                AND "action_update"."posted_on" <= {changed_on}),
            CASE WHEN "action"."due_on" <= {changed_on} THEN "action"."due_on" END,
            {changed_on})
        WHERE "action"."status" = 'COMPLETED'
          AND ("action"."completed_on" IS NULL OR "action"."completed_on" = {changed_on})"#
    ))
    .await?;
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        backfill_completed_on(manager.get_connection()).await
    }

    /// The better dates stay: they are data, and the column itself is the engagement
    /// migration's.
    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}

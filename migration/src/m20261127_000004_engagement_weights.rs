//! Engagement and priorities: the weights staff tune (one settings row; without it the
//! documented defaults in the code apply), and the date an action was completed, so that
//! "actions completed in a window" can be counted. Actions already completed get the date
//! they were last changed, the best guess there is.
use sea_orm_migration::prelude::*;

use crate::builder::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLE: &str = "engagement_weights";

/// Every weight column: the engagement components, then the priority terms.
pub const WEIGHTS: &[&str] = &[
    "associations_involved",
    "events",
    "participants",
    "event_organizations",
    "volunteer_hours",
    "co_funding_dkk",
    "action_updates",
    "actions_completed",
    "priority_potential",
    "priority_engagement",
    "priority_committed_partners",
    "priority_seeking_partners",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut t = table(TABLE);
        for w in WEIGHTS {
            t.col(ColumnDef::new(name(w)).double().not_null())
                .check(Expr::col(name(w)).between(0, 1000));
        }
        timestamps(&mut t);
        manager.create_table(t).await?;

        manager
            .alter_table(
                Table::alter()
                    .table(name("action"))
                    .add_column(date_null("completed_on"))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        let date = match manager.get_database_backend() {
            sea_orm_migration::sea_orm::DatabaseBackend::Postgres => "CAST(updated_at AS DATE)",
            // SQLite keeps timestamps as ISO text: the date is its first ten characters.
            _ => "substr(updated_at, 1, 10)",
        };
        db.execute_unprepared(&format!(
            "UPDATE action SET completed_on = {date} WHERE status = 'COMPLETED'"
        ))
        .await?;
        manager.create_index(index("action", &["completed_on"])).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_action_completed_on")
                    .table(name("action"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(name("action"))
                    .drop_column(name("completed_on"))
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(name(TABLE)).to_owned())
            .await
    }
}

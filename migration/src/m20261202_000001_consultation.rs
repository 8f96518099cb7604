//! Public consultation of plans: the period a plan in consultation is open to responses, and
//! the responses the public sends from the municipality's website (moderated by the
//! community's editors and staff). Name, association and email are kept in their own nullable
//! columns so they can be erased without touching the text; `client_fingerprint` and
//! `body_hash` (of the normalised text) let a per-client budget and a duplicate check be
//! added later. Plans already in consultation are open for four weeks from the migration.
use sea_orm_migration::prelude::*;

use crate::builder::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLE: &str = "consultation_response";
pub const RESPONSE_STATUS: &[&str] = &["PENDING", "PUBLISHED", "REJECTED", "HIDDEN"];
/// An action's ID with its plan's, so a response's action must belong to the response's plan.
const ACTION_OF_PLAN: &str = "ux_action_id_plan_id";

fn col(c: &str) -> Expr {
    Expr::col(name(c))
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for c in ["consultation_opens_on", "consultation_closes_on"] {
            // SQLite adds one column per ALTER TABLE.
            manager
                .alter_table(
                    Table::alter()
                        .table(name("plan"))
                        .add_column(date_null(c))
                        .to_owned(),
                )
                .await?;
        }
        // Plans already in consultation are open from today for the usual four weeks.
        let (today, in_four_weeks) = match manager.get_database_backend() {
            sea_orm_migration::sea_orm::DatabaseBackend::Postgres => ("CURRENT_DATE", "CURRENT_DATE + 28"),
            _ => ("date('now')", "date('now', '+28 days')"),
        };
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "UPDATE plan SET consultation_opens_on = {today}, consultation_closes_on = {in_four_weeks} \
                 WHERE status = 'CONSULTATION'"
            ))
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(ACTION_OF_PLAN)
                    .table(name("action"))
                    .col(name("id"))
                    .col(name("plan_id"))
                    .unique()
                    .to_owned(),
            )
            .await?;

        let mut t = table(TABLE);
        t.col(uuid("plan_id"))
            .col(uuid_null("action_id"))
            .col(ColumnDef::new(name("body")).text().not_null())
            .col(text_null("name"))
            .col(text_null("association"))
            .col(text_null("email"))
            .col(boolean("consent_to_store"))
            .col(boolean("consent_to_show_name"))
            .col(enumeration("status", RESPONSE_STATUS))
            .col(text_null("rejection_reason"))
            .col(text_null("reply"))
            .col(
                ColumnDef::new(name("replied_at"))
                    .timestamp_with_time_zone()
                    .null(),
            )
            .col(text_null("client_fingerprint"))
            .col(ColumnDef::new(name("body_hash")).string().not_null())
            // A rejection says why; only a rejection does.
            .check(
                col("status")
                    .eq("REJECTED")
                    .and(col("rejection_reason").is_not_null())
                    .or(col("status")
                        .ne("REJECTED")
                        .and(col("rejection_reason").is_null())),
            )
            .foreign_key(&mut fk(TABLE, "plan_id", "plan", ForeignKeyAction::Restrict))
            .foreign_key(
                &mut ForeignKey::create()
                    .name(format!("fk_{TABLE}_action_id"))
                    .from(name(TABLE), (name("action_id"), name("plan_id")))
                    .to(name("action"), (name("id"), name("plan_id")))
                    .on_delete(ForeignKeyAction::Restrict)
                    .to_owned(),
            );
        timestamps(&mut t);
        manager.create_table(t).await?;
        manager.create_index(index(TABLE, &["plan_id", "status"])).await?;
        manager.create_index(index(TABLE, &["action_id"])).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(name(TABLE)).to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name(ACTION_OF_PLAN)
                    .table(name("action"))
                    .to_owned(),
            )
            .await?;
        for c in ["consultation_closes_on", "consultation_opens_on"] {
            manager
                .alter_table(Table::alter().table(name("plan")).drop_column(name(c)).to_owned())
                .await?;
        }
        Ok(())
    }
}

//! One response per text, client and consultation, held by the database: the check in
//! `submitConsultationResponse` reads before it writes, so two identical submissions sent at
//! the same moment could both pass it; the unique index makes the second one fail (it is
//! answered `TAKEN` on `body`, as the check answers). Responses whose fingerprint was erased
//! (null) never collide. Duplicates stored before this change keep their rows; the later ones
//! lose their fingerprint, which only the duplicate check and the budget read.
use sea_orm_migration::prelude::*;

use crate::builder::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLE: &str = "consultation_response";
const COLUMNS: [&str; 3] = ["plan_id", "client_fingerprint", "body_hash"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE consultation_response SET client_fingerprint = NULL \
                 WHERE client_fingerprint IS NOT NULL AND EXISTS (\
                   SELECT 1 FROM consultation_response AS earlier \
                   WHERE earlier.plan_id = consultation_response.plan_id \
                     AND earlier.client_fingerprint = consultation_response.client_fingerprint \
                     AND earlier.body_hash = consultation_response.body_hash \
                     AND earlier.id < consultation_response.id)",
            )
            .await?;
        manager.create_index(unique(TABLE, &COLUMNS)).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(format!("ux_{TABLE}_{}", COLUMNS.join("_")))
                    .table(name(TABLE))
                    .to_owned(),
            )
            .await
    }
}

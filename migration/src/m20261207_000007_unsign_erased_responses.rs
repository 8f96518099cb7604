//! A response to a consultation sent by a signed-in account no longer names the account in
//! the audit log once its personal data is erased (its `CREATE` record's actor loses the
//! account's ID and name). Responses erased before that rule are brought in line: each whose
//! name, association, email and fingerprint are all gone.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        unsign_erased_responses(manager).await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // Who sent them is not written back.
        Ok(())
    }
}

/// The migration's step.
pub async fn unsign_erased_responses(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .get_connection()
        .execute_unprepared(
            "UPDATE audit_log SET actor_id = NULL, actor_label = '[personoplysning]' \
             WHERE entity = 'ConsultationResponse' AND operation = 'CREATE' \
             AND actor_kind = 'ACCOUNT' AND actor_id IS NOT NULL \
             AND entity_id IN (SELECT id FROM consultation_response \
               WHERE name IS NULL AND association IS NULL AND email IS NULL \
               AND client_fingerprint IS NULL)",
        )
        .await?;
    Ok(())
}

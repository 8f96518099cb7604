//! The audit log signed what an account did with its email, which staff read there although
//! only admins read the accounts. Each record an account signed is now signed with the
//! account's name (`[slettet konto]` stays for an erased one); the records keep the account's
//! ID. Records of accounts since deleted from the database keep their label.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        account_actor_names(manager).await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // The emails are not written back into the log.
        Ok(())
    }
}

/// The migration's step: each record an existing account signed, signed with its name.
pub async fn account_actor_names(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .get_connection()
        .execute_unprepared(
            "UPDATE audit_log SET actor_label = \
             (SELECT trim(a.display_name) FROM account a WHERE a.id = audit_log.actor_id) \
             WHERE actor_kind = 'ACCOUNT' AND actor_id IS NOT NULL \
             AND actor_label <> '[slettet konto]' \
             AND EXISTS (SELECT 1 FROM account a WHERE a.id = audit_log.actor_id)",
        )
        .await?;
    Ok(())
}

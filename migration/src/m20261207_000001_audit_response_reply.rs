//! The audit log keeps no reply to a consultation response in clear: a reply may name a sender
//! who agreed to have their name shown, and an erasure of their data takes the name out of the
//! reply, not out of the log. The replies it recorded before are written as
//! `[personoplysning]`, as it writes them from now on.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::m20261206_000005_audit_response_text::scrub(manager, &["reply"]).await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // What was taken out is not put back.
        Ok(())
    }
}

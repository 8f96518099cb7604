//! The audit log keeps no reason for rejecting a consultation response in clear: a moderator's
//! reason may name the sender or quote what the text told of others, and an erasure of the
//! sender's data takes the name out of the reason, not out of the log. The reasons it recorded
//! before are written as `[personoplysning]`, as it writes them from now on.
use sea_orm_migration::prelude::*;

use crate::m20261207_000001_audit_response_reply::scrub_consultation_audit;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        scrub_consultation_audit(manager, &["rejection_reason"]).await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // What was taken out is not put back.
        Ok(())
    }
}

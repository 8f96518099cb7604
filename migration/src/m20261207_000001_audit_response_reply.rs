//! The audit log keeps no reply to a consultation response in clear: a reply may name a sender
//! who agreed to have their name shown, and an erasure of their data takes the name out of the
//! reply, not out of the log. The replies it recorded before are written as
//! `[personoplysning]`, as it writes them from now on.
use sea_orm_migration::{prelude::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        scrub_consultation_audit(manager, &["reply"]).await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // What was taken out is not put back.
        Ok(())
    }
}

/// Writes `fields` of the consultation responses' audit records as `[personoplysning]`
/// (null stays null), before and after: what m20261206_000005 did for the text, for any field.
pub async fn scrub_consultation_audit(manager: &SchemaManager<'_>, fields: &[&str]) -> Result<(), DbErr> {
    for field in fields {
        let sql = match manager.get_database_backend() {
            DatabaseBackend::Postgres => format!(
                "UPDATE audit_log SET changes = jsonb_set(changes::jsonb, '{{{field}}}', \
                 jsonb_build_object(\
                   'before', CASE WHEN changes::jsonb #> '{{{field},before}}' = 'null'::jsonb \
                                  THEN 'null'::jsonb ELSE '\"[personoplysning]\"'::jsonb END, \
                   'after', CASE WHEN changes::jsonb #> '{{{field},after}}' = 'null'::jsonb \
                                 THEN 'null'::jsonb ELSE '\"[personoplysning]\"'::jsonb END))::text \
                 WHERE entity = 'ConsultationResponse' AND changes::jsonb ? '{field}'"
            ),
            _ => format!(
                "UPDATE audit_log SET changes = json_set(changes, \
                 '$.{field}.before', CASE WHEN json_type(changes, '$.{field}.before') = 'null' \
                                       THEN json('null') ELSE '[personoplysning]' END, \
                 '$.{field}.after', CASE WHEN json_type(changes, '$.{field}.after') = 'null' \
                                      THEN json('null') ELSE '[personoplysning]' END) \
                 WHERE entity = 'ConsultationResponse' AND json_type(changes, '$.{field}') IS NOT NULL"
            ),
        };
        manager.get_connection().execute_unprepared(&sql).await?;
    }
    Ok(())
}

//! The audit log keeps no consultation response's text (a citizen's text may tell of their
//! health or of others, and a moderator may take that out of the response): the texts it
//! recorded before are written as `[personoplysning]`, as it writes them from now on.
use sea_orm_migration::{prelude::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The text, and the duplicate check's hash of it (which would confirm a guess).
        for field in ["body", "body_hash"] {
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

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // What was taken out is not put back.
        Ok(())
    }
}

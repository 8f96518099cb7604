//! The audit log keeps no consultation response's text (a citizen's text may tell of their
//! health or of others, and a moderator may take that out of the response): the texts it
//! recorded before are written as `[personoplysning]`, as it writes them from now on.
use sea_orm_migration::{prelude::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                "UPDATE audit_log SET changes = jsonb_set(changes::jsonb, '{body}', \
                 jsonb_build_object(\
                   'before', CASE WHEN changes::jsonb #> '{body,before}' = 'null'::jsonb \
                                  THEN 'null'::jsonb ELSE '\"[personoplysning]\"'::jsonb END, \
                   'after', CASE WHEN changes::jsonb #> '{body,after}' = 'null'::jsonb \
                                 THEN 'null'::jsonb ELSE '\"[personoplysning]\"'::jsonb END))::text \
                 WHERE entity = 'ConsultationResponse' AND changes::jsonb ? 'body'"
            }
            _ => {
                "UPDATE audit_log SET changes = json_set(changes, \
                 '$.body.before', CASE WHEN json_type(changes, '$.body.before') = 'null' \
                                       THEN json('null') ELSE '[personoplysning]' END, \
                 '$.body.after', CASE WHEN json_type(changes, '$.body.after') = 'null' \
                                      THEN json('null') ELSE '[personoplysning]' END) \
                 WHERE entity = 'ConsultationResponse' AND json_type(changes, '$.body') IS NOT NULL"
            }
        };
        manager.get_connection().execute_unprepared(sql).await?;
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // What was taken out is not put back.
        Ok(())
    }
}

//! The search index: one document per searchable row (its title and other texts as indexed)
//! and its terms, each with a weight. Terms are compared byte by byte on both databases
//! (SQLite's default; `COLLATE "C"` on PostgreSQL), so a prefix is a plain range of the
//! btree: `term >= 'p' AND term < 'p\u{10FFFF}'`.
use sea_orm_migration::prelude::*;

use crate::builder::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const DOCUMENT: &str = "search_document";
const TERM: &str = "search_term";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut document = table(DOCUMENT);
        document
            // The type of row (`Action`, `Plan`…); `id` is the row's own ID.
            .col(string("entity_type"))
            .col(text("title"))
            .col(text("body"))
            // The row's version and time of change when it was indexed: a row whose own
            // differ was changed without passing the write path, and is indexed again.
            .col(int("version"))
            .col(
                ColumnDef::new(name("updated_at"))
                    .timestamp_with_time_zone()
                    .not_null(),
            );
        manager.create_table(document.to_owned()).await?;
        manager.create_index(index(DOCUMENT, &["entity_type"])).await?;
        let mut term = ColumnDef::new(name("term"));
        term.string().not_null();
        if manager.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            term.extra("COLLATE \"C\"");
        }
        manager
            .create_table(
                Table::create()
                    .table(name(TERM))
                    .col(term)
                    .col(uuid("document_id"))
                    .col(int("weight"))
                    .primary_key(Index::create().col(name("term")).col(name("document_id")))
                    .foreign_key(&mut fk(TERM, "document_id", DOCUMENT, ForeignKeyAction::Cascade))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index(TERM, &["document_id"])).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(name(TERM)).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(name(DOCUMENT)).to_owned())
            .await
    }
}

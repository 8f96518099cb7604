//! The function `lup_lower(text)`, by which text filters match without regard to case: every
//! letter lowered, not only ASCII (SQLite's own `lower()` leaves "Čapek" and "Ábe" as they
//! are, and PostgreSQL's follows the database's character type, which may be `C`).
//!
//! PostgreSQL: `lower()` under the ICU collation `lup_danish` where the server has ICU, else
//! under the database's own, with the capitals Danish text uses beyond ASCII (Æ, Ø, Å, É, Ä,
//! Ö, Ü) lowered first in case that is `C`; run this migration again (drop the function and
//! its row in `seaql_migrations`) once ICU is there. SQLite has no functions in the database: the API registers
//! `lup_lower` on each connection it opens (Rust's `to_lowercase`).
use sea_orm_migration::prelude::*;

use crate::builder::on_postgres;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        on_postgres(
            manager,
            "DO $$ BEGIN \
               IF EXISTS (SELECT 1 FROM pg_collation WHERE collname = 'lup_danish' AND collprovider = 'i') THEN \
                 CREATE OR REPLACE FUNCTION lup_lower(value text) RETURNS text \
                   LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE \
                   AS 'SELECT lower(value COLLATE lup_danish)'; \
               ELSE \
                 CREATE OR REPLACE FUNCTION lup_lower(value text) RETURNS text \
                   LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE \
                   AS 'SELECT lower(translate(value, ''ÆØÅÉÄÖÜ'', ''æøåéäöü''))'; \
               END IF; \
             END $$",
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        on_postgres(manager, "DROP FUNCTION IF EXISTS lup_lower(text)").await
    }
}

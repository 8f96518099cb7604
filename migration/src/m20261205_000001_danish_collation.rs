//! The collation `lup_danish`, by which the API sorts names and titles: Danish order, with Æ, Ø
//! and Å (also written Aa, as in Aabybro) after Z, whatever the database's own collation is
//! (`C.UTF-8` sorts Å before Æ and every capital before every small letter, `en_US` puts Ø
//! among the O's).
//!
//! PostgreSQL: ICU's Danish (`da-DK`), the order the server's own sorts and SQLite follow
//! (`api/src/collation.rs`). A server built without ICU gets byte order under that name and a
//! warning in its log; drop the collation and run this migration again (or create the
//! collation by hand) once ICU is there. SQLite has no collations in the database: the API
//! registers `lup_danish` on each connection it opens.
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
               CREATE COLLATION IF NOT EXISTS lup_danish (provider = icu, locale = 'da-DK'); \
             EXCEPTION WHEN feature_not_supported THEN \
               RAISE WARNING 'no ICU on this PostgreSQL server (%): names sort in byte order', SQLERRM; \
               CREATE COLLATION IF NOT EXISTS lup_danish FROM \"C\"; \
             END $$",
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        on_postgres(manager, "DROP COLLATION IF EXISTS lup_danish").await
    }
}

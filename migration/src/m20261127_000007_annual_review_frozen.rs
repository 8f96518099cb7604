//! What a published annual review shows is frozen with it: the communities and themes in focus
//! (their IDs and names at publication) and the year-over-year totals of the reviews published
//! before it, each as JSON text. Null while the review is a draft (drafts show the live names
//! and the reviews published so far).
use sea_orm_migration::prelude::*;

use crate::builder::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const COLUMNS: [&str; 2] = ["frozen_focus", "frozen_history"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one at a time.
        for c in COLUMNS {
            manager
                .alter_table(
                    Table::alter()
                        .table(name("annual_review"))
                        .add_column(text_null(c))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for c in COLUMNS.iter().rev() {
            manager
                .alter_table(
                    Table::alter()
                        .table(name("annual_review"))
                        .drop_column(name(c))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

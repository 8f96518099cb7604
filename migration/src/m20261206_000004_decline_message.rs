//! The community's answer to a partner whose proposal it declined: `decline_message`, read by
//! the partner (unlike the reason kept in the internal notes).
use sea_orm_migration::prelude::*;

use crate::builder::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(name("partnership"))
                    .add_column(text_null("decline_message"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(name("partnership"))
                    .drop_column(name("decline_message"))
                    .to_owned(),
            )
            .await
    }
}

//! An annual review entry keeps the community's name of its snapshot in a column of its own,
//! `community_name`, so a review's entries are ordered by the name they show: by the live
//! name, a renamed community's entry in a published review stood where its new name sorts
//! while it showed the old one. Filled from each entry's snapshot.
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
                    .table(name("annual_review_entry"))
                    .add_column(text("community_name"))
                    .to_owned(),
            )
            .await?;
        rewrite_column(
            manager,
            "annual_review_entry",
            "snapshot",
            "community_name",
            |snapshot| {
                serde_json::from_str::<serde_json::Value>(snapshot)
                    .ok()?
                    .get("communityName")?
                    .as_str()
                    .map(str::to_owned)
            },
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(name("annual_review_entry"))
                    .drop_column(name("community_name"))
                    .to_owned(),
            )
            .await
    }
}

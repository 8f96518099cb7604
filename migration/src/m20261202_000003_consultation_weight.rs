//! Published consultation responses count as an engagement component: the weight staff tune
//! for it, beside the others in the one settings row. A row stored before this change gets
//! the documented default (0.5), as the code uses while there is no row.
use sea_orm_migration::prelude::*;

use crate::builder::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLE: &str = "engagement_weights";
const COLUMN: &str = "consultation_responses";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(name(TABLE))
                    .add_column(
                        ColumnDef::new(name(COLUMN))
                            .double()
                            .not_null()
                            .default(0.5)
                            .check(Expr::col(name(COLUMN)).between(0, 1000))
                            .to_owned(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(name(TABLE))
                    .drop_column(name(COLUMN))
                    .to_owned(),
            )
            .await
    }
}

//! Actions get an optional location of their own (WGS 84, like a community's): both
//! coordinates or neither. An action without one is placed at its community.
use sea_orm_migration::prelude::*;

use crate::builder::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLE: &str = "action";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE; the checks go with each column.
        for (column, bound) in [("latitude", 90.0), ("longitude", 180.0)] {
            manager
                .alter_table(
                    Table::alter()
                        .table(name(TABLE))
                        .add_column(
                            double_null(column)
                                .check(Expr::col(name(column)).between(-bound, bound))
                                .to_owned(),
                        )
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["latitude", "longitude"] {
            manager
                .alter_table(
                    Table::alter()
                        .table(name(TABLE))
                        .drop_column(name(column))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

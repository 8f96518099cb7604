//! The `search_document` table: a searchable row as indexed (see `api/src/search`).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "search_document")]
pub struct Model {
    /// The row's own ID.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The GraphQL type of the row: `Community`, `Plan`, `Action`…
    pub entity_type: String,
    #[sea_orm(column_type = "Text")]
    pub title: String,
    /// The row's other texts, separated by U+001F (the unit separator).
    #[sea_orm(column_type = "Text")]
    pub body: String,
    pub version: i32,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

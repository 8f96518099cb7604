//! The `search_term` table: the terms of a search document, each with its weight.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "search_term")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub term: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub document_id: Uuid,
    pub weight: i32,
}

/// The rows this table's foreign keys refer to.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::search_document::Entity",
        from = "Column::DocumentId",
        to = "super::search_document::Column::Id"
    )]
    Document,
}

impl ActiveModelBehavior for ActiveModel {}

//! The `idea_theme` join table.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "idea_theme")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub idea_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub theme_id: Uuid,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

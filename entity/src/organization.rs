//! The `organization` table.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "organization")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub kind: OrganizationKind,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub website: Option<String>,
    pub community_id: Option<Uuid>,
    #[serde(deserialize_with = "crate::json::timestamp")]
    pub created_at: DateTimeUtc,
    #[serde(deserialize_with = "crate::json::timestamp")]
    pub updated_at: DateTimeUtc,
    pub version: i32,
}

/// The rows this table's foreign keys refer to.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::community::Entity",
        from = "Column::CommunityId",
        to = "super::community::Column::Id"
    )]
    Community,
}

impl ActiveModelBehavior for ActiveModel {}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::None)",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum OrganizationKind {
    Association,
    Business,
    Foundation,
    EducationalInstitution,
    PublicInstitution,
    VolunteerGroup,
    Other,
}

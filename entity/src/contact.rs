//! The `contact` table.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "contact")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub title: Option<String>,
    /// Written to the audit log as `[personoplysning]` (see `crate::json::redacted`).
    #[serde(serialize_with = "crate::json::redacted")]
    pub email: Option<String>,
    #[serde(serialize_with = "crate::json::redacted")]
    pub phone: Option<String>,
    pub is_public: bool,
    pub community_id: Option<Uuid>,
    pub organization_id: Option<Uuid>,
    pub department_id: Option<Uuid>,
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
    #[sea_orm(
        belongs_to = "super::organization::Entity",
        from = "Column::OrganizationId",
        to = "super::organization::Column::Id"
    )]
    Organization,
    #[sea_orm(
        belongs_to = "super::department::Entity",
        from = "Column::DepartmentId",
        to = "super::department::Column::Id"
    )]
    Department,
}

impl ActiveModelBehavior for ActiveModel {}

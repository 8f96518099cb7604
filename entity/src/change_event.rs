//! The `change_event` table: the change feed's outbox (see `api/src/changes`).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "change_event")]
pub struct Model {
    /// The event's place in commit order.
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    pub occurred_at: DateTimeUtc,
    /// The GraphQL type of the row: `Community`, `Plan`, `Action`…
    pub entity_type: String,
    pub entity_id: Uuid,
    pub operation: ChangeOperation,
    /// The write's audit record, when the row itself was written.
    pub audit_id: Option<Uuid>,
    pub before_exists: bool,
    pub before_public: bool,
    pub before_community_id: Option<Uuid>,
    pub before_organization_id: Option<Uuid>,
    pub after_exists: bool,
    pub after_public: bool,
    pub after_community_id: Option<Uuid>,
    pub after_organization_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::None)",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum ChangeOperation {
    Create,
    Update,
    Delete,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

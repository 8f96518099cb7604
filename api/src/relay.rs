//! Opaque global IDs: `base64url("Type:uuid")`, so a client can hand any ID to `node`.
//!
//! [`NodeType`] describes each type `node` fetches, once: its GraphQL name (as stored in
//! global IDs, in the audit log's `entity` and in the change feed) and its table. The few
//! other types named in global IDs or the audit log are [`OtherType`]s.
use async_graphql::ID;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sea_orm::{ColumnTrait, EntityName, sea_query::DynIden};
use uuid::Uuid;

use crate::error::ApiError;

/// A type named in global IDs and in the audit log.
pub trait TypeName: Copy {
    /// The GraphQL type name, as stored in global IDs and the audit log (never to change).
    fn name(self) -> &'static str;
    /// The type as a [`NodeType`], if it is one.
    fn node_type(self) -> Option<NodeType>;
}

// The same enum is the change feed's `ChangeType` (see `changes::query`): its description,
// just below, is the GraphQL one, so it speaks of the feed.
/// The kinds of row the change feed tells of: every type with a global ID.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[graphql(name = "ChangeType")]
pub enum NodeType {
    Community,
    Contact,
    Organization,
    Department,
    Theme,
    Plan,
    PlanInvolvement,
    EngagementEvent,
    Action,
    ActionDepartment,
    ActionUpdate,
    Partnership,
    PartnershipMember,
    Idea,
    IdeaExchange,
    AnnualReview,
    AnnualReviewEntry,
    ConsultationResponse,
}

impl NodeType {
    pub const ALL: [NodeType; 18] = [
        NodeType::Community,
        NodeType::Contact,
        NodeType::Organization,
        NodeType::Department,
        NodeType::Theme,
        NodeType::Plan,
        NodeType::PlanInvolvement,
        NodeType::EngagementEvent,
        NodeType::Action,
        NodeType::ActionDepartment,
        NodeType::ActionUpdate,
        NodeType::Partnership,
        NodeType::PartnershipMember,
        NodeType::Idea,
        NodeType::IdeaExchange,
        NodeType::AnnualReview,
        NodeType::AnnualReviewEntry,
        NodeType::ConsultationResponse,
    ];

    /// The GraphQL type name, as in global IDs, the audit log and the change feed's rows
    /// (stored: never to change).
    pub const fn name(self) -> &'static str {
        match self {
            NodeType::Community => "Community",
            NodeType::Contact => "Contact",
            NodeType::Organization => "Organization",
            NodeType::Department => "Department",
            NodeType::Theme => "Theme",
            NodeType::Plan => "Plan",
            NodeType::PlanInvolvement => "PlanInvolvement",
            NodeType::EngagementEvent => "EngagementEvent",
            NodeType::Action => "Action",
            NodeType::ActionDepartment => "ActionDepartment",
            NodeType::ActionUpdate => "ActionUpdate",
            NodeType::Partnership => "Partnership",
            NodeType::PartnershipMember => "PartnershipMember",
            NodeType::Idea => "Idea",
            NodeType::IdeaExchange => "IdeaExchange",
            NodeType::AnnualReview => "AnnualReview",
            NodeType::AnnualReviewEntry => "AnnualReviewEntry",
            NodeType::ConsultationResponse => "ConsultationResponse",
        }
    }

    /// The type of this GraphQL name, if it is a node type.
    pub fn from_name(name: &str) -> Option<NodeType> {
        NodeType::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The table of the type's rows, as the entity names it.
    pub fn table(self) -> &'static str {
        match self {
            NodeType::Community => entity::community::Entity.table_name(),
            NodeType::Contact => entity::contact::Entity.table_name(),
            NodeType::Organization => entity::organization::Entity.table_name(),
            NodeType::Department => entity::department::Entity.table_name(),
            NodeType::Theme => entity::theme::Entity.table_name(),
            NodeType::Plan => entity::plan::Entity.table_name(),
            NodeType::PlanInvolvement => entity::plan_involvement::Entity.table_name(),
            NodeType::EngagementEvent => entity::engagement_event::Entity.table_name(),
            NodeType::Action => entity::action::Entity.table_name(),
            NodeType::ActionDepartment => entity::action_department::Entity.table_name(),
            NodeType::ActionUpdate => entity::action_update::Entity.table_name(),
            NodeType::Partnership => entity::partnership::Entity.table_name(),
            NodeType::PartnershipMember => entity::partnership_member::Entity.table_name(),
            NodeType::Idea => entity::idea::Entity.table_name(),
            NodeType::IdeaExchange => entity::idea_exchange::Entity.table_name(),
            NodeType::AnnualReview => entity::annual_review::Entity.table_name(),
            NodeType::AnnualReviewEntry => entity::annual_review_entry::Entity.table_name(),
            NodeType::ConsultationResponse => entity::consultation_response::Entity.table_name(),
        }
    }

    /// The type's table and its `id` column, as the entity names them.
    pub fn id_column(self) -> (DynIden, DynIden) {
        match self {
            NodeType::Community => entity::community::Column::Id.as_column_ref(),
            NodeType::Contact => entity::contact::Column::Id.as_column_ref(),
            NodeType::Organization => entity::organization::Column::Id.as_column_ref(),
            NodeType::Department => entity::department::Column::Id.as_column_ref(),
            NodeType::Theme => entity::theme::Column::Id.as_column_ref(),
            NodeType::Plan => entity::plan::Column::Id.as_column_ref(),
            NodeType::PlanInvolvement => entity::plan_involvement::Column::Id.as_column_ref(),
            NodeType::EngagementEvent => entity::engagement_event::Column::Id.as_column_ref(),
            NodeType::Action => entity::action::Column::Id.as_column_ref(),
            NodeType::ActionDepartment => entity::action_department::Column::Id.as_column_ref(),
            NodeType::ActionUpdate => entity::action_update::Column::Id.as_column_ref(),
            NodeType::Partnership => entity::partnership::Column::Id.as_column_ref(),
            NodeType::PartnershipMember => entity::partnership_member::Column::Id.as_column_ref(),
            NodeType::Idea => entity::idea::Column::Id.as_column_ref(),
            NodeType::IdeaExchange => entity::idea_exchange::Column::Id.as_column_ref(),
            NodeType::AnnualReview => entity::annual_review::Column::Id.as_column_ref(),
            NodeType::AnnualReviewEntry => entity::annual_review_entry::Column::Id.as_column_ref(),
            NodeType::ConsultationResponse => entity::consultation_response::Column::Id.as_column_ref(),
        }
    }
}

impl TypeName for NodeType {
    fn name(self) -> &'static str {
        NodeType::name(self)
    }
    fn node_type(self) -> Option<NodeType> {
        Some(self)
    }
}

/// The other types the API names: staff-only things with a global ID that `node` does not
/// fetch and the change feed does not tell of, and (in the audit log alone) the engagement
/// weights.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum OtherType {
    Account,
    ApiKey,
    AuditLogEntry,
    WebhookEndpoint,
    WebhookDelivery,
    EngagementWeights,
}

impl TypeName for OtherType {
    fn name(self) -> &'static str {
        match self {
            OtherType::Account => "Account",
            OtherType::ApiKey => "ApiKey",
            OtherType::AuditLogEntry => "AuditLogEntry",
            OtherType::WebhookEndpoint => "WebhookEndpoint",
            OtherType::WebhookDelivery => "WebhookDelivery",
            OtherType::EngagementWeights => "EngagementWeights",
        }
    }
    fn node_type(self) -> Option<NodeType> {
        None
    }
}

pub fn encode(ty: impl TypeName, id: Uuid) -> ID {
    encode_stored(ty.name(), id)
}

/// The global ID of a row whose type name was read back from the database (the audit log).
pub fn encode_stored(type_name: &str, id: Uuid) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{type_name}:{id}")))
}

/// Splits a global ID into its type name and UUID; anything else is a clear input error.
pub fn decode(id: &ID) -> Result<(String, Uuid), ApiError> {
    let invalid = || ApiError::bad_input(format!("\"{}\" is not a valid ID", truncate(id)));
    let bytes = URL_SAFE_NO_PAD.decode(id.as_str()).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (type_name, uuid) = text.split_once(':').ok_or_else(invalid)?;
    let uuid = Uuid::parse_str(uuid).map_err(|_| invalid())?;
    Ok((type_name.to_owned(), uuid))
}

/// Decodes an ID that must be of one type (e.g. a `communityIds` filter).
pub fn decode_as(id: &ID, expected: impl TypeName) -> Result<Uuid, ApiError> {
    let (type_name, uuid) = decode(id)?;
    let expected = expected.name();
    if type_name != expected {
        return Err(ApiError::bad_input(format!(
            "\"{}\" is the ID of a {type_name}, not of a {expected}",
            truncate(id)
        )));
    }
    Ok(uuid)
}

fn truncate(id: &ID) -> String {
    id.as_str().chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::NodeType;

    /// Each name and each table once, and every name is a GraphQL object of the schema.
    #[test]
    fn node_types_are_distinct() {
        let sdl = crate::schema::sdl();
        for (i, t) in NodeType::ALL.iter().enumerate() {
            assert_eq!(NodeType::from_name(t.name()), Some(*t));
            assert!(
                sdl.contains(&format!("type {} implements Node", t.name())),
                "{t:?}"
            );
            for u in &NodeType::ALL[i + 1..] {
                assert_ne!(t.table(), u.table(), "{t:?} and {u:?}");
            }
        }
    }
}

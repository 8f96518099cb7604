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

/// Declares [`NodeType`] from `Variant => entity_module` pairs: the variant's name is the
/// GraphQL type name, the module the entity of its table.
macro_rules! node_types {
    ($(#[$meta:meta])* $($variant:ident => $module:ident),* $(,)?) => {
        $(#[$meta])*
        #[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
        #[graphql(name = "ChangeType")]
        pub enum NodeType {
            $($variant),*
        }

        impl NodeType {
            /// Every node type, a row's parents (what its foreign keys refer to) before it.
            pub const ALL: [NodeType; [$(stringify!($variant)),*].len()] = [$(NodeType::$variant),*];

            /// The tables the type's foreign keys refer to, as its entity's relations name them.
            #[cfg(test)]
            fn parent_tables(self) -> Vec<String> {
                use sea_orm::{Iterable, RelationTrait, RelationType, sea_query::TableRef};
                match self {
                    $(NodeType::$variant => entity::$module::Relation::iter()
                        .map(|r| r.def())
                        .filter(|d| d.rel_type == RelationType::HasOne && !d.is_owner)
                        .map(|d| match d.to_tbl {
                            TableRef::Table(t, _) => t.1.to_string(),
                            other => format!("{other:?}"),
                        })
                        .collect()),*
                }
            }

            /// The GraphQL type name, as in global IDs, the audit log and the change feed's
            /// rows (stored: never to change).
            pub const fn name(self) -> &'static str {
                match self {
                    $(NodeType::$variant => stringify!($variant)),*
                }
            }

            /// The table of the type's rows, as the entity names it.
            pub fn table(self) -> &'static str {
                match self {
                    $(NodeType::$variant => entity::$module::Entity.table_name()),*
                }
            }

            /// The type's table and its `id` column, as the entity names them.
            pub fn id_column(self) -> (DynIden, DynIden) {
                match self {
                    $(NodeType::$variant => entity::$module::Column::Id.as_column_ref()),*
                }
            }
        }
    };
}

node_types! {
    // The same enum is the change feed's `ChangeType` (see `changes::query`): its description,
    // just below, is the GraphQL one, so it speaks of the feed.
    /// The kinds of row the change feed tells of: every type with a global ID.
    // Parents first: the change feed numbers one write's events in this order (and, for rows
    // that go, the other way round), so a copy with foreign keys can apply them in order.
    Community => community,
    Organization => organization,
    Department => department,
    Theme => theme,
    Contact => contact,
    Plan => plan,
    PlanInvolvement => plan_involvement,
    EngagementEvent => engagement_event,
    Action => action,
    ActionDepartment => action_department,
    ActionUpdate => action_update,
    Partnership => partnership,
    PartnershipMember => partnership_member,
    Idea => idea,
    IdeaExchange => idea_exchange,
    AnnualReview => annual_review,
    AnnualReviewEntry => annual_review_entry,
    ConsultationResponse => consultation_response,
}

impl NodeType {
    /// The type of this GraphQL name, if it is a node type.
    pub fn from_name(name: &str) -> Option<NodeType> {
        NodeType::ALL.into_iter().find(|t| t.name() == name)
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

impl OtherType {
    pub const ALL: [OtherType; 6] = [
        OtherType::Account,
        OtherType::ApiKey,
        OtherType::AuditLogEntry,
        OtherType::WebhookEndpoint,
        OtherType::WebhookDelivery,
        OtherType::EngagementWeights,
    ];
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
    // Only the form `encode` writes: one object, one ID (uuid also reads upper case, braces,
    // `urn:uuid:` and no hyphens, which would give an object several IDs).
    if *uuid.hyphenated().encode_lower(&mut Uuid::encode_buffer()) != text[type_name.len() + 1..] {
        return Err(invalid());
    }
    Ok((type_name.to_owned(), uuid))
}

/// Decodes an ID that must be of one type (e.g. a `communityIds` filter).
pub fn decode_as(id: &ID, expected: impl TypeName) -> Result<Uuid, ApiError> {
    let (type_name, uuid) = decode(id)?;
    let expected = expected.name();
    if type_name != expected {
        return Err(ApiError::bad_input(format!(
            "\"{}\" is the ID of {}, not of {}",
            truncate(id),
            with_article(&type_name),
            with_article(expected)
        )));
    }
    Ok(uuid)
}

/// Decodes an ID that must be of one of `expected` (e.g. an actor: an Account or an
/// ApiKey): which of them, and the row's ID.
pub fn decode_as_one_of<T: TypeName>(id: &ID, expected: &[T]) -> Result<(T, Uuid), ApiError> {
    let (type_name, uuid) = decode(id)?;
    match expected.iter().find(|t| t.name() == type_name) {
        Some(t) => Ok((*t, uuid)),
        None => {
            let names: Vec<String> = expected.iter().map(|t| with_article(t.name())).collect();
            Err(ApiError::bad_input(format!(
                "\"{}\" is the ID of {}, not of {}",
                truncate(id),
                with_article(&type_name),
                names.join(" or ")
            )))
        }
    }
}

/// A type name with its indefinite article, as it is said: "an Action", "a Plan" (the few
/// names said with a "you" sound take "a": "a User").
fn with_article(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    let you = ["uni", "use", "usu", "uti", "eu"]
        .iter()
        .any(|p| lower.starts_with(p));
    let vowel = lower.starts_with(['a', 'e', 'i', 'o', 'u']);
    let article = if vowel && !you { "an" } else { "a" };
    format!("{article} {name}")
}

/// The start of an ID, to quote in a message.
pub(crate) fn truncate(id: &ID) -> String {
    const QUOTED: usize = 64;
    let mut chars = id.as_str().chars();
    let mut quoted: String = chars.by_ref().take(QUOTED).collect();
    // Said to be cut: a valid ID with more after it would read as refused whole.
    if chars.next().is_some() {
        quoted.push('…');
    }
    quoted
}

#[cfg(test)]
mod tests {
    use super::{NodeType, OtherType, TypeName, with_article};

    #[test]
    fn an_id_quoted_in_a_message_says_where_it_was_cut() {
        let long = async_graphql::ID("A".repeat(64) + "==");
        assert_eq!(super::truncate(&long), "A".repeat(64) + "…");
        let whole = async_graphql::ID("A".repeat(64));
        assert_eq!(super::truncate(&whole), "A".repeat(64));
    }

    #[test]
    fn every_type_comes_after_the_types_its_foreign_keys_refer_to() {
        let mut seen = Vec::new();
        let mut parents = 0;
        for t in NodeType::ALL {
            for parent in t.parent_tables() {
                if let Some(p) = NodeType::ALL.into_iter().find(|p| p.table() == parent) {
                    assert!(seen.contains(&p), "{t:?} refers to {p:?}, which comes after it");
                    parents += 1;
                }
            }
            seen.push(t);
        }
        assert!(parents > 20, "{parents} foreign keys between node types");
    }

    #[test]
    fn type_names_take_the_article_they_are_said_with() {
        let said: Vec<String> = [
            "Action",
            "Organization",
            "ApiKey",
            "Idea",
            "EngagementEvent",
            "Plan",
            "Community",
            "User",
        ]
        .into_iter()
        .map(with_article)
        .collect();
        assert_eq!(
            said,
            [
                "an Action",
                "an Organization",
                "an ApiKey",
                "an Idea",
                "an EngagementEvent",
                "a Plan",
                "a Community",
                "a User"
            ]
        );
        assert_eq!(with_article(OtherType::AuditLogEntry.name()), "an AuditLogEntry");
    }

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

//! Contact people of communities, organisations and departments. Personal data: anonymous
//! and partner callers see only contacts marked public (e.g. the municipality's coordinators).
pub mod mutation;

use async_graphql::{Context, ID, Object, Result};
use entity::contact;
use sea_orm::{EntityTrait, QueryFilter, sea_query::Order};
use uuid::Uuid;

use crate::{
    access::Access,
    community::Community,
    department::Department,
    loader::{self, Rel, by_id, listing},
    organization::Organization,
    relay::{self, NodeType},
};

pub(crate) fn visible(access: &Access) -> sea_orm::Select<contact::Entity> {
    contact::Entity::find().filter(access.contact_condition())
}

fn of_parent(a: &Access, column: contact::Column) -> crate::pagination::Listing {
    listing(visible(a), column, &[(contact::Column::Name, Order::Asc)])
}

pub static BY_ID: Rel<contact::Model> = Rel::new(NodeType::Contact.name(), |a| by_id(visible(a)));
pub static OF_COMMUNITY: Rel<contact::Model> = Rel::new("contacts of community", |a| {
    of_parent(a, contact::Column::CommunityId)
});
pub static OF_ORGANIZATION: Rel<contact::Model> = Rel::new("contacts of organization", |a| {
    of_parent(a, contact::Column::OrganizationId)
});
pub static OF_DEPARTMENT: Rel<contact::Model> = Rel::new("contacts of department", |a| {
    of_parent(a, contact::Column::DepartmentId)
});

pub async fn of(ctx: &Context<'_>, rel: &'static Rel<contact::Model>, parent: Uuid) -> Result<Vec<Contact>> {
    Ok(loader::list(ctx, rel, parent)
        .await?
        .into_iter()
        .map(Contact)
        .collect())
}

pub struct Contact(pub contact::Model);

/// A contact person.
#[Object]
impl Contact {
    pub async fn id(&self) -> ID {
        relay::encode(NodeType::Contact, self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Job title or role, e.g. "Landdistriktskoordinator".
    async fn title(&self) -> Option<&str> {
        self.0.title.as_deref()
    }
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }
    /// Whether the contact may be shown publicly.
    async fn is_public(&self) -> bool {
        self.0.is_public
    }
    /// Send it back with an update: a stale one is a CONFLICT.
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn community(&self, ctx: &Context<'_>) -> Result<Option<Community>> {
        Ok(loader::maybe(ctx, &crate::community::BY_ID, self.0.community_id)
            .await?
            .map(Community))
    }
    async fn organization(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
        Ok(
            loader::maybe(ctx, &crate::organization::BY_ID, self.0.organization_id)
                .await?
                .map(Organization),
        )
    }
    async fn department(&self, ctx: &Context<'_>) -> Result<Option<Department>> {
        Ok(
            loader::maybe(ctx, &crate::department::BY_ID, self.0.department_id)
                .await?
                .map(Department),
        )
    }
}

impl crate::compiled::Prefetch for Contact {
    fn edges() -> &'static [crate::compiled::Edge] {
        use crate::compiled::{Edge, foreign_key};
        static EDGES: [Edge; 3] = [
            Edge::reference::<crate::community::Community>(
                "community",
                &crate::community::BY_ID,
                foreign_key!(contact::CommunityId),
            ),
            Edge::reference::<crate::organization::Organization>(
                "organization",
                &crate::organization::BY_ID,
                foreign_key!(contact::OrganizationId),
            ),
            Edge::reference::<crate::department::Department>(
                "department",
                &crate::department::BY_ID,
                foreign_key!(contact::DepartmentId),
            ),
        ];
        &EDGES
    }
}

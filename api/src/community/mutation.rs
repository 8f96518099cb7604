//! Writing communities: staff create, change and delete them.
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result};
use entity::community;
use sea_orm::Set;
use uuid::Uuid;

use super::{Community, CommunityStatus};
use crate::{
    auth::{Require, visible_to_staff},
    relay::NodeType,
    write::{
        Check, DeletePayload, Failure, MaybeRef, Reference, Refused, UserErrorCode, Write, delete_node,
        mutate, named, new_row, payload, reference, renamed, set_if, slug_free,
    },
};

#[derive(InputObject)]
pub struct CreateCommunityInput {
    /// Lowercase a–z, 0–9 and hyphens, unique, e.g. `vester-hjermitslev`.
    pub slug: String,
    pub name: String,
    #[graphql(default)]
    pub description: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    #[graphql(default_with = "CommunityStatus::Active")]
    pub status: CommunityStatus,
}

/// Fields left out stay as they are; `null` clears a field that may be empty.
#[derive(InputObject)]
pub struct UpdateCommunityInput {
    pub id: ID,
    /// The version the change is based on; a stale one is a CONFLICT.
    pub version: i32,
    pub slug: MaybeUndefined<String>,
    pub name: MaybeUndefined<String>,
    pub description: MaybeUndefined<String>,
    pub latitude: MaybeUndefined<f64>,
    pub longitude: MaybeUndefined<f64>,
    pub status: MaybeUndefined<CommunityStatus>,
}

#[derive(InputObject)]
pub struct DeleteCommunityInput {
    pub id: ID,
    pub version: i32,
}

payload!(CreateCommunityPayload, community: Community);
payload!(UpdateCommunityPayload, community: Community);

/// Lat/lon come as a pair: one without the other is refused. Actions' locations too.
pub(crate) fn location(
    check: &mut Check,
    lat: Option<f64>,
    lon: Option<f64>,
) -> Option<(Option<f64>, Option<f64>)> {
    let lat = check.latitude("latitude", lat);
    let lon = check.longitude("longitude", lon);
    match (lat?, lon?) {
        (Some(a), Some(o)) => Some((Some(a), Some(o))),
        (None, None) => Some((None, None)),
        (None, Some(_)) => {
            check.add(
                "latitude",
                UserErrorCode::Required,
                "give both latitude and longitude, or neither",
            );
            None
        }
        (Some(_), None) => {
            check.add(
                "longitude",
                UserErrorCode::Required,
                "give both latitude and longitude, or neither",
            );
            None
        }
    }
}

/// The rows that refer to a community and keep it from being deleted. Its contacts belong to
/// it and go with it, and so do its entries in draft annual reviews ([`review_entries`]).
const REFERENCES: &[Reference] = &[
    reference!(plan::CommunityId, "plans"),
    reference!(organization::CommunityId, "organisations"),
    reference!(engagement_event::CommunityId, "engagement events"),
    reference!(idea::CommunityId, "ideas"),
    reference!(idea_exchange::InitiatorCommunityId, "idea exchanges it initiated"),
    reference!(
        idea_exchange_participant::CommunityId,
        "idea exchanges it took part in"
    ),
    reference!(partnership_member::CommunityId, "partnership memberships"),
    reference!(account_community::CommunityId, "editor accounts"),
    reference!(
        annual_review_focus_community::CommunityId,
        "annual reviews with it in focus"
    ),
];

#[derive(Default)]
pub struct CommunityMutation;

#[Object]
impl CommunityMutation {
    /// Adds a local community to the programme. Staff only.
    #[graphql(guard = "Require::Staff", visible = "visible_to_staff")]
    async fn create_community(
        &self,
        ctx: &Context<'_>,
        input: CreateCommunityInput,
    ) -> Result<CreateCommunityPayload> {
        mutate(
            ctx,
            |check| {
                let named = named(check, &input.slug, &input.name, &input.description);
                let location = location(check, input.latitude, input.longitude);
                Some((named?, location?))
            },
            async |w, ((slug, name, description), (latitude, longitude))| {
                slug_free(w, community::Column::Slug, &slug, None, "community").await?;
                let now = crate::common::now();
                w.create(
                    NodeType::Community,
                    community::ActiveModel {
                        id: Set(Uuid::now_v7()),
                        slug: Set(slug),
                        name: Set(name),
                        description: Set(description),
                        latitude: Set(latitude),
                        longitude: Set(longitude),
                        status: Set(input.status.into()),
                        ..new_row(now)
                    },
                )
                .await
            },
            |m| CreateCommunityPayload::ok(Community(m)),
        )
        .await
    }

    /// Changes a community. Staff only.
    #[graphql(guard = "Require::Staff", visible = "visible_to_staff")]
    async fn update_community(
        &self,
        ctx: &Context<'_>,
        input: UpdateCommunityInput,
    ) -> Result<UpdateCommunityPayload> {
        mutate(
            ctx,
            |check| {
                let id = check.id("id", &input.id, NodeType::Community);
                let named = renamed(
                    check,
                    input.slug.as_deref(),
                    input.name.as_deref(),
                    input.description.as_deref(),
                );
                check.not_null(&[("status", input.status.is_null())]);
                Some((id?, named?))
            },
            async |w, (id, (slug, name, description))| {
                let before = w.find::<community::Entity>("community", id).await?;
                // The location after the change must still be a pair.
                let pick = |v: &MaybeUndefined<f64>, old: Option<f64>| match v {
                    MaybeUndefined::Undefined => old,
                    MaybeUndefined::Null => None,
                    MaybeUndefined::Value(x) => Some(*x),
                };
                let mut check = Check::default();
                let location = location(
                    &mut check,
                    pick(&input.latitude, before.latitude),
                    pick(&input.longitude, before.longitude),
                );
                check.done()?;
                if let Some(slug) = &slug {
                    slug_free(w, community::Column::Slug, slug, Some(id), "community").await?;
                }
                let mut row = community::ActiveModel {
                    slug: set_if(slug),
                    name: set_if(name),
                    description: set_if(description),
                    status: set_if(input.status.value().copied().map(Into::into)),
                    ..Default::default()
                };
                if let Some((lat, lon)) = location {
                    row.latitude = Set(lat);
                    row.longitude = Set(lon);
                }
                w.update::<community::Entity>(NodeType::Community, &before, input.version, row)
                    .await
            },
            |m| UpdateCommunityPayload::ok(Community(m)),
        )
        .await
    }

    /// Deletes a community that nothing refers to any more (its contacts and its entries in
    /// draft annual reviews go with it). Staff only; a community with plans, organisations,
    /// events, ideas or editors, in a draft review's focus or in a published review is refused.
    #[graphql(guard = "Require::Staff", visible = "visible_to_staff")]
    async fn delete_community(
        &self,
        ctx: &Context<'_>,
        input: DeleteCommunityInput,
    ) -> Result<DeletePayload> {
        delete_node::<community::Entity>(
            ctx,
            NodeType::Community,
            "community",
            &input.id,
            input.version,
            async |w, before| {
                w.refuse_if_used(before.id, REFERENCES).await?;
                review_entries(w, before.id).await
            },
        )
        .await
    }
}

/// A community's entries in annual reviews, before it is deleted: those of draft reviews go
/// with it, each with a DELETE record (a draft's figures are taken again when it is
/// refreshed); one in a published review keeps it, as the record of that year names it.
async fn review_entries(w: &Write, community: Uuid) -> Result<(), Failure> {
    use entity::{annual_review, annual_review_entry};
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect, QueryTrait};
    // The reviews that hold an entry of the community, held as publishing, refreshing and
    // editing a review hold it: none is published or taken again between the count and the
    // deletes.
    let holding = annual_review_entry::Entity::find()
        .select_only()
        .column(annual_review_entry::Column::ReviewId)
        .filter(annual_review_entry::Column::CommunityId.eq(community))
        .into_query();
    w.locking(annual_review::Entity::find().filter(annual_review::Column::Id.in_subquery(holding)))
        .all(w.txn())
        .await?;
    let published = annual_review::Entity::find()
        .select_only()
        .column(annual_review::Column::Id)
        .filter(annual_review::Column::Status.eq(annual_review::ReviewStatus::Published))
        .into_query();
    let of_community =
        annual_review_entry::Entity::find().filter(annual_review_entry::Column::CommunityId.eq(community));
    let in_published = of_community
        .clone()
        .filter(annual_review_entry::Column::ReviewId.in_subquery(published))
        .count(w.txn())
        .await?;
    if in_published > 0 {
        return Err(Refused::one(
            "id",
            UserErrorCode::InUse,
            format!(
                "published annual reviews ({in_published}) hold its figures, which stay as published; \
                 set its status to INACTIVE instead"
            ),
        )
        .into());
    }
    for entry in of_community.all(w.txn()).await? {
        w.delete::<annual_review_entry::Entity>(NodeType::AnnualReviewEntry, &entry, entry.version)
            .await?;
    }
    Ok(())
}

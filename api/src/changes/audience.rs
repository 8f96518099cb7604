//! Who may see a row ([`super::Audience`]), computed with the very visibility rules every read
//! applies (`Guarded::visible` of `crate::write`, built on `crate::access`): a row is public
//! when an anonymous caller's rules find it; otherwise its community's editors may see it when
//! their rules find it, and the partner that proposed it when a partner's rules do. The
//! community and partner asked about are the row's own (its plan's community, a contact's
//! community, a proposal's organisation), looked up here; the answer is the rules'.
use std::collections::{HashMap, HashSet};

use entity::{
    action, action_department, action_update, annual_review_entry, consultation_response, engagement_event,
    idea_exchange_action, partnership, partnership_member, plan, plan_involvement,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use super::{Audience, ChangeType};
use crate::{
    access::{Access, Scope},
    write::Guarded,
};

/// Calls the generic `$f::<E, _>(args…)` with `E` the entity of the change type `$t`.
macro_rules! with_entity {
    ($t:expr, $f:ident ( $($arg:expr),* )) => {{
        use entity::*;
        match $t {
            ChangeType::Community => $f::<community::Entity, _>($($arg),*).await,
            ChangeType::Contact => $f::<contact::Entity, _>($($arg),*).await,
            ChangeType::Organization => $f::<organization::Entity, _>($($arg),*).await,
            ChangeType::Department => $f::<department::Entity, _>($($arg),*).await,
            ChangeType::Theme => $f::<theme::Entity, _>($($arg),*).await,
            ChangeType::Plan => $f::<plan::Entity, _>($($arg),*).await,
            ChangeType::PlanInvolvement => $f::<plan_involvement::Entity, _>($($arg),*).await,
            ChangeType::EngagementEvent => $f::<engagement_event::Entity, _>($($arg),*).await,
            ChangeType::Action => $f::<action::Entity, _>($($arg),*).await,
            ChangeType::ActionDepartment => $f::<action_department::Entity, _>($($arg),*).await,
            ChangeType::ActionUpdate => $f::<action_update::Entity, _>($($arg),*).await,
            ChangeType::Partnership => $f::<partnership::Entity, _>($($arg),*).await,
            ChangeType::PartnershipMember => $f::<partnership_member::Entity, _>($($arg),*).await,
            ChangeType::Idea => $f::<idea::Entity, _>($($arg),*).await,
            ChangeType::IdeaExchange => $f::<idea_exchange::Entity, _>($($arg),*).await,
            ChangeType::AnnualReview => $f::<annual_review::Entity, _>($($arg),*).await,
            ChangeType::AnnualReviewEntry => $f::<annual_review_entry::Entity, _>($($arg),*).await,
            ChangeType::ConsultationResponse => $f::<consultation_response::Entity, _>($($arg),*).await,
        }
    }};
}

/// A row's own community and proposing organisation, where it has them.
#[derive(Debug, Clone, Copy, Default)]
struct Owner {
    community: Option<Uuid>,
    organization: Option<Uuid>,
}

/// The audiences of the rows `ids` of type `t` as they are now in `conn`; a row that does not
/// exist has [`Audience::NONE`].
pub async fn of<C: ConnectionTrait>(
    conn: &C,
    t: ChangeType,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Audience>, DbErr> {
    let mut out: HashMap<Uuid, Audience> = ids.iter().map(|id| (*id, Audience::NONE)).collect();
    if ids.is_empty() {
        return Ok(out);
    }
    let owners = owners(conn, t, ids).await?;
    let public = visible(conn, t, &Access::anonymous(), ids).await?;
    let mut by_community: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    let mut by_organization: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for (id, owner) in &owners {
        let a = out.entry(*id).or_default();
        a.exists = true;
        a.public = public.contains(id);
        if !a.public {
            if let Some(c) = owner.community {
                by_community.entry(c).or_default().push(*id);
            }
            if let Some(o) = owner.organization {
                by_organization.entry(o).or_default().push(*id);
            }
        }
    }
    for (community, rows) in by_community {
        let editors = Access {
            plans: Scope::Communities(std::sync::Arc::from([community])),
            contacts: Scope::Communities(std::sync::Arc::from([community])),
            proposals_of: None,
        };
        for id in visible(conn, t, &editors, &rows).await? {
            if let Some(a) = out.get_mut(&id) {
                a.community = Some(community);
            }
        }
    }
    for (organization, rows) in by_organization {
        let partner = Access {
            proposals_of: Some(organization),
            ..Access::anonymous()
        };
        for id in visible(conn, t, &partner, &rows).await? {
            if let Some(a) = out.get_mut(&id) {
                a.organization = Some(organization);
            }
        }
    }
    Ok(out)
}

/// Which of `ids` the rules of `access` let see.
async fn visible<C: ConnectionTrait>(
    conn: &C,
    t: ChangeType,
    access: &Access,
    ids: &[Uuid],
) -> Result<HashSet<Uuid>, DbErr> {
    async fn ids_of<E: Guarded, C: ConnectionTrait>(
        conn: &C,
        access: &Access,
        ids: &[Uuid],
    ) -> Result<HashSet<Uuid>, DbErr> {
        let id = crate::loader::id_column::<E>();
        let rows: Vec<Uuid> = E::visible(access)
            .select_only()
            .column(id)
            .filter(Expr::col((E::default(), id)).is_in(ids.iter().copied()))
            .into_tuple()
            .all(conn)
            .await?;
        Ok(rows.into_iter().collect())
    }
    with_entity!(t, ids_of(conn, access, ids))
}

/// `(id, value)` pairs of `column` for the rows `ids` of `E`.
async fn pairs<E, V, C>(conn: &C, column: E::Column, ids: &[Uuid]) -> Result<Vec<(Uuid, V)>, DbErr>
where
    E: EntityTrait,
    V: sea_orm::TryGetable + Send + Sync,
    (Uuid, V): sea_orm::TryGetableMany,
    C: ConnectionTrait,
{
    let id = crate::loader::id_column::<E>();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    E::find()
        .select_only()
        .column(id)
        .column(column)
        .filter(id.is_in(ids.iter().copied()))
        .into_tuple()
        .all(conn)
        .await
}

async fn plan_communities<C: ConnectionTrait>(
    conn: &C,
    plans: &[Uuid],
) -> Result<HashMap<Uuid, Uuid>, DbErr> {
    Ok(
        pairs::<plan::Entity, Uuid, C>(conn, plan::Column::CommunityId, plans)
            .await?
            .into_iter()
            .collect(),
    )
}

/// The community of each of `actions` (through its plan).
async fn action_communities<C: ConnectionTrait>(
    conn: &C,
    actions: &[Uuid],
) -> Result<HashMap<Uuid, Uuid>, DbErr> {
    let plans = pairs::<action::Entity, Uuid, C>(conn, action::Column::PlanId, actions).await?;
    let communities = plan_communities(conn, &plans.iter().map(|p| p.1).collect::<Vec<_>>()).await?;
    Ok(plans
        .into_iter()
        .filter_map(|(a, p)| communities.get(&p).map(|c| (a, *c)))
        .collect())
}

/// Each of `partnerships`' owner: its plan's (or its action's plan's) community, and the
/// organisation that proposed it.
async fn partnership_owners<C: ConnectionTrait>(
    conn: &C,
    partnerships: &[Uuid],
) -> Result<HashMap<Uuid, Owner>, DbErr> {
    /// A partnership's ID, action, plan and proposing organisation.
    type Row = (Uuid, Option<Uuid>, Option<Uuid>, Option<Uuid>);
    let rows: Vec<Row> = partnership::Entity::find()
        .select_only()
        .column(partnership::Column::Id)
        .column(partnership::Column::ActionId)
        .column(partnership::Column::PlanId)
        .column(partnership::Column::ProposedByOrganizationId)
        .filter(partnership::Column::Id.is_in(partnerships.iter().copied()))
        .into_tuple()
        .all(conn)
        .await?;
    let actions: Vec<Uuid> = rows.iter().filter_map(|r| r.1).collect();
    let plans: Vec<Uuid> = rows.iter().filter_map(|r| r.2).collect();
    let of_actions = action_communities(conn, &actions).await?;
    let of_plans = plan_communities(conn, &plans).await?;
    Ok(rows
        .into_iter()
        .map(|(id, action, plan, organization)| {
            let community = action
                .and_then(|a| of_actions.get(&a))
                .or_else(|| plan.and_then(|p| of_plans.get(&p)))
                .copied();
            (
                id,
                Owner {
                    community,
                    organization,
                },
            )
        })
        .collect())
}

/// The existing rows among `ids`, with their owners.
async fn owners<C: ConnectionTrait>(
    conn: &C,
    t: ChangeType,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Owner>, DbErr> {
    fn community(c: Option<Uuid>) -> Owner {
        Owner {
            community: c,
            organization: None,
        }
    }
    /// The rows' owners through a parent column and a lookup of the parents' communities.
    fn through(rows: Vec<(Uuid, Uuid)>, parents: &HashMap<Uuid, Uuid>) -> HashMap<Uuid, Owner> {
        rows.into_iter()
            .map(|(id, parent)| (id, community(parents.get(&parent).copied())))
            .collect()
    }
    async fn plain<E: EntityTrait, C: ConnectionTrait>(
        conn: &C,
        ids: &[Uuid],
    ) -> Result<HashMap<Uuid, Owner>, DbErr> {
        let id = crate::loader::id_column::<E>();
        let rows: Vec<Uuid> = E::find()
            .select_only()
            .column(id)
            .filter(id.is_in(ids.iter().copied()))
            .into_tuple()
            .all(conn)
            .await?;
        Ok(rows.into_iter().map(|id| (id, Owner::default())).collect())
    }
    use entity::*;
    Ok(match t {
        ChangeType::Community => plain::<community::Entity, C>(conn, ids)
            .await?
            .into_keys()
            .map(|id| (id, community(Some(id))))
            .collect(),
        ChangeType::Organization => plain::<organization::Entity, C>(conn, ids).await?,
        ChangeType::Department => plain::<department::Entity, C>(conn, ids).await?,
        ChangeType::Theme => plain::<theme::Entity, C>(conn, ids).await?,
        ChangeType::IdeaExchange => plain::<idea_exchange::Entity, C>(conn, ids).await?,
        ChangeType::AnnualReview => plain::<annual_review::Entity, C>(conn, ids).await?,
        ChangeType::Idea => pairs::<idea::Entity, Option<Uuid>, C>(conn, idea::Column::CommunityId, ids)
            .await?
            .into_iter()
            .map(|(id, c)| (id, community(c)))
            .collect(),
        ChangeType::Contact => {
            pairs::<contact::Entity, Option<Uuid>, C>(conn, contact::Column::CommunityId, ids)
                .await?
                .into_iter()
                .map(|(id, c)| (id, community(c)))
                .collect()
        }
        ChangeType::AnnualReviewEntry => {
            pairs::<annual_review_entry::Entity, Uuid, C>(conn, annual_review_entry::Column::CommunityId, ids)
                .await?
                .into_iter()
                .map(|(id, c)| (id, community(Some(c))))
                .collect()
        }
        ChangeType::EngagementEvent => {
            pairs::<engagement_event::Entity, Uuid, C>(conn, engagement_event::Column::CommunityId, ids)
                .await?
                .into_iter()
                .map(|(id, c)| (id, community(Some(c))))
                .collect()
        }
        ChangeType::Plan => plan_communities(conn, ids)
            .await?
            .into_iter()
            .map(|(id, c)| (id, community(Some(c))))
            .collect(),
        ChangeType::PlanInvolvement => {
            let rows =
                pairs::<plan_involvement::Entity, Uuid, C>(conn, plan_involvement::Column::PlanId, ids)
                    .await?;
            let plans = plan_communities(conn, &rows.iter().map(|r| r.1).collect::<Vec<_>>()).await?;
            through(rows, &plans)
        }
        ChangeType::ConsultationResponse => {
            let rows = pairs::<consultation_response::Entity, Uuid, C>(
                conn,
                consultation_response::Column::PlanId,
                ids,
            )
            .await?;
            let plans = plan_communities(conn, &rows.iter().map(|r| r.1).collect::<Vec<_>>()).await?;
            through(rows, &plans)
        }
        ChangeType::Action => action_communities(conn, ids)
            .await?
            .into_iter()
            .map(|(id, c)| (id, community(Some(c))))
            .collect(),
        ChangeType::ActionUpdate => {
            let rows =
                pairs::<action_update::Entity, Uuid, C>(conn, action_update::Column::ActionId, ids).await?;
            let actions = action_communities(conn, &rows.iter().map(|r| r.1).collect::<Vec<_>>()).await?;
            through(rows, &actions)
        }
        ChangeType::ActionDepartment => {
            let rows =
                pairs::<action_department::Entity, Uuid, C>(conn, action_department::Column::ActionId, ids)
                    .await?;
            let actions = action_communities(conn, &rows.iter().map(|r| r.1).collect::<Vec<_>>()).await?;
            through(rows, &actions)
        }
        ChangeType::Partnership => partnership_owners(conn, ids).await?,
        ChangeType::PartnershipMember => {
            let rows = pairs::<partnership_member::Entity, Uuid, C>(
                conn,
                partnership_member::Column::PartnershipId,
                ids,
            )
            .await?;
            let parents = partnership_owners(conn, &rows.iter().map(|r| r.1).collect::<Vec<_>>()).await?;
            rows.into_iter()
                .map(|(id, p)| (id, parents.get(&p).copied().unwrap_or_default()))
                .collect()
        }
    })
}

/// The idea exchanges whose resulting actions include one of `actions`.
pub async fn exchanges_of<C: ConnectionTrait>(conn: &C, actions: &[Uuid]) -> Result<Vec<Uuid>, DbErr> {
    let mut out = Vec::new();
    for chunk in actions.chunks(500) {
        let ids: Vec<Uuid> = idea_exchange_action::Entity::find()
            .select_only()
            .column(idea_exchange_action::Column::ExchangeId)
            .filter(idea_exchange_action::Column::ActionId.is_in(chunk.iter().copied()))
            .distinct()
            .into_tuple()
            .all(conn)
            .await?;
        out.extend(ids);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// The rows whose audience follows the row `id` of type `t` (its children, and theirs), by
/// type: when `t`'s row changes who may see it, theirs may change too.
pub async fn dependents<C: ConnectionTrait>(
    conn: &C,
    t: ChangeType,
    id: Uuid,
) -> Result<Vec<(ChangeType, Vec<Uuid>)>, DbErr> {
    async fn children<E: EntityTrait, C: ConnectionTrait>(
        conn: &C,
        parent: E::Column,
        parents: &[Uuid],
    ) -> Result<Vec<Uuid>, DbErr> {
        if parents.is_empty() {
            return Ok(Vec::new());
        }
        E::find()
            .select_only()
            .column(crate::loader::id_column::<E>())
            .filter(parent.is_in(parents.iter().copied()))
            .into_tuple()
            .all(conn)
            .await
    }
    async fn under_actions<C: ConnectionTrait>(
        conn: &C,
        actions: &[Uuid],
        out: &mut Vec<(ChangeType, Vec<Uuid>)>,
    ) -> Result<Vec<Uuid>, DbErr> {
        out.push((
            ChangeType::ActionUpdate,
            children::<action_update::Entity, C>(conn, action_update::Column::ActionId, actions).await?,
        ));
        out.push((
            ChangeType::ActionDepartment,
            children::<action_department::Entity, C>(conn, action_department::Column::ActionId, actions)
                .await?,
        ));
        children::<partnership::Entity, C>(conn, partnership::Column::ActionId, actions).await
    }
    let mut out = Vec::new();
    let mut partnerships = Vec::new();
    match t {
        ChangeType::Plan => {
            let plans = [id];
            let actions = children::<action::Entity, C>(conn, action::Column::PlanId, &plans).await?;
            // Parents before the rows under them, as a client with foreign keys inserts them.
            out.push((ChangeType::Action, actions.clone()));
            partnerships.extend(under_actions(conn, &actions, &mut out).await?);
            partnerships
                .extend(children::<partnership::Entity, C>(conn, partnership::Column::PlanId, &plans).await?);
            out.push((
                ChangeType::PlanInvolvement,
                children::<plan_involvement::Entity, C>(conn, plan_involvement::Column::PlanId, &plans)
                    .await?,
            ));
            out.push((
                ChangeType::ConsultationResponse,
                children::<consultation_response::Entity, C>(
                    conn,
                    consultation_response::Column::PlanId,
                    &plans,
                )
                .await?,
            ));
            out.push((
                ChangeType::EngagementEvent,
                children::<engagement_event::Entity, C>(conn, engagement_event::Column::PlanId, &plans)
                    .await?,
            ));
        }
        ChangeType::Action => {
            partnerships.extend(under_actions(conn, &[id], &mut out).await?);
        }
        ChangeType::Partnership => partnerships.push(id),
        ChangeType::AnnualReview => out.push((
            ChangeType::AnnualReviewEntry,
            children::<annual_review_entry::Entity, C>(conn, annual_review_entry::Column::ReviewId, &[id])
                .await?,
        )),
        _ => {}
    }
    if !partnerships.is_empty() {
        let members = children::<partnership_member::Entity, C>(
            conn,
            partnership_member::Column::PartnershipId,
            &partnerships,
        )
        .await?;
        if t != ChangeType::Partnership {
            out.push((ChangeType::Partnership, partnerships));
        }
        out.push((ChangeType::PartnershipMember, members));
    }
    out.retain(|(_, ids)| !ids.is_empty());
    Ok(out)
}

/// Whether the rows of `t` can have rows under them that go when they are deleted (the
/// foreign keys cascade) or whose audience follows theirs.
pub fn is_parent(t: ChangeType) -> bool {
    matches!(
        t,
        ChangeType::Community
            | ChangeType::Organization
            | ChangeType::Department
            | ChangeType::Plan
            | ChangeType::Action
            | ChangeType::Partnership
            | ChangeType::AnnualReview
            | ChangeType::Idea
            | ChangeType::IdeaExchange
    )
}

/// The rows of `t` the feed last told of as existing that no longer exist (deleted with a
/// parent, or around the API).
pub async fn gone<C: ConnectionTrait>(conn: &C, t: ChangeType) -> Result<Vec<Uuid>, DbErr> {
    use entity::change_state::{self, Column as S};
    async fn missing<E: EntityTrait, C: ConnectionTrait>(
        conn: &C,
        t: ChangeType,
    ) -> Result<Vec<Uuid>, DbErr> {
        let id = crate::loader::id_column::<E>();
        let exists = sea_orm::sea_query::Query::select()
            .expr(Expr::val(1))
            .from(E::default())
            .and_where(Expr::col((E::default(), id)).equals((change_state::Entity, S::EntityId)))
            .to_owned();
        change_state::Entity::find()
            .select_only()
            .column(S::EntityId)
            .filter(S::EntityType.eq(t.name()))
            .filter(Expr::exists(exists).not())
            .into_tuple()
            .all(conn)
            .await
    }
    with_entity!(t, missing(conn, t))
}

/// The rows of `t` the feed has not told of yet (at most `limit`).
pub async fn untold<C: ConnectionTrait>(conn: &C, t: ChangeType, limit: u64) -> Result<Vec<Uuid>, DbErr> {
    use entity::change_state::{self, Column as S};
    async fn missing<E: EntityTrait, C: ConnectionTrait>(
        conn: &C,
        t: ChangeType,
        limit: u64,
    ) -> Result<Vec<Uuid>, DbErr> {
        let id = crate::loader::id_column::<E>();
        let told = sea_orm::sea_query::Query::select()
            .expr(Expr::val(1))
            .from(change_state::Entity)
            .and_where(Expr::col((change_state::Entity, S::EntityType)).eq(t.name()))
            .and_where(Expr::col((change_state::Entity, S::EntityId)).equals((E::default(), id)))
            .to_owned();
        E::find()
            .select_only()
            .column(id)
            .filter(Expr::exists(told).not())
            .limit(limit)
            .into_tuple()
            .all(conn)
            .await
    }
    with_entity!(t, missing(conn, t, limit))
}

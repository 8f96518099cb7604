//! Link tables: the rows that tie one row to a set of others (a plan's themes, an event's
//! organisations, an exchange's communities and actions, an editor's communities, a review's
//! focus). Each is read, replaced and audited the same way, and the IDs a client sends for
//! one are checked the same way.
use std::collections::{BTreeMap, HashSet};

use async_graphql::ID;
use entity::{
    account_community, action_theme, annual_review_focus_community, annual_review_focus_theme,
    engagement_event_organization, idea_exchange_action, idea_exchange_participant, idea_theme, plan_theme,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, ExprTrait, QueryFilter, QuerySelect, QueryTrait,
    sea_query::{Expr, Query, SelectStatement},
};
use uuid::Uuid;

use crate::{
    relay::{self, NodeType, TypeName},
    write::{Check, Failure, HasId, Operation, UserErrorCode, Versioned, Write, constraint},
};

/// A table of `(owner, target)` rows.
pub trait Link: EntityTrait {
    /// The column of the row the links belong to.
    const OWNER: Self::Column;
    /// The column of the row linked to.
    const TARGET: Self::Column;
    /// How the audit log names the set, as a field of the owner (`theme_ids`).
    const AUDITED_AS: &'static str;
    fn row(owner: Uuid, target: Uuid) -> Self::ActiveModel;
}

macro_rules! links {
    ($($module:ident: $owner:ident -> $target:ident as $audited:literal;)*) => {$(
        impl Link for $module::Entity {
            const OWNER: $module::Column = $module::Column::$owner;
            const TARGET: $module::Column = $module::Column::$target;
            const AUDITED_AS: &'static str = $audited;
            fn row(owner: Uuid, target: Uuid) -> $module::ActiveModel {
                let mut row = <$module::ActiveModel as Default>::default();
                sea_orm::ActiveModelTrait::set(&mut row, Self::OWNER, owner.into());
                sea_orm::ActiveModelTrait::set(&mut row, Self::TARGET, target.into());
                row
            }
        }
    )*};
}

links! {
    plan_theme: PlanId -> ThemeId as "theme_ids";
    action_theme: ActionId -> ThemeId as "theme_ids";
    idea_theme: IdeaId -> ThemeId as "theme_ids";
    idea_exchange_participant: ExchangeId -> CommunityId as "participant_community_ids";
    idea_exchange_action: ExchangeId -> ActionId as "action_ids";
    engagement_event_organization: EventId -> OrganizationId as "organization_ids";
    account_community: AccountId -> CommunityId as "community_ids";
    annual_review_focus_community: ReviewId -> CommunityId as "focus_community_ids";
    annual_review_focus_theme: ReviewId -> ThemeId as "focus_theme_ids";
}

/// What `owner` links to, sorted.
pub async fn of<L: Link>(db: &impl ConnectionTrait, owner: Uuid) -> Result<Vec<Uuid>, DbErr> {
    let mut ids: Vec<Uuid> = L::find()
        .select_only()
        .column(L::TARGET)
        .filter(L::OWNER.eq(owner))
        .into_tuple()
        .all(db)
        .await?;
    ids.sort();
    Ok(ids)
}

/// `SELECT owner FROM link WHERE target IN (targets)`: the owners linked to any of `targets`.
pub fn owners_of<L: Link>(targets: SelectStatement) -> SelectStatement {
    L::find()
        .select_only()
        .column(L::OWNER)
        .filter(Expr::col(L::TARGET).in_subquery(targets))
        .into_query()
}

/// Makes `targets` what `owner` links to, without a record in the audit log (the caller's
/// record of the owner carries it).
pub async fn replace<L: Link>(w: &Write, owner: Uuid, targets: &[Uuid]) -> Result<(), Failure> {
    L::delete_many().filter(L::OWNER.eq(owner)).exec(w.txn()).await?;
    if !targets.is_empty() {
        L::insert_many(targets.iter().map(|t| L::row(owner, *t)))
            .exec_without_returning(w.txn())
            .await
            .map_err(constraint)?;
    }
    Ok(())
}

/// Makes `targets` what `owner` (a row of `entity`) links to, and records the change in the
/// audit log as a change of the owner's `L::AUDITED_AS`. Whether anything changed.
pub async fn set<L: Link>(
    w: &Write,
    entity: impl TypeName,
    owner: Uuid,
    targets: &[Uuid],
) -> Result<bool, Failure> {
    let before = of::<L>(w.txn(), owner).await?;
    let mut after = targets.to_vec();
    after.sort();
    after.dedup();
    if before == after {
        return Ok(false);
    }
    replace::<L>(w, owner, &after).await?;
    let record = |ids: Vec<Uuid>| BTreeMap::from([(L::AUDITED_AS, ids)]);
    w.audit(
        entity,
        owner,
        Operation::Update,
        Some(&record(before)),
        Some(&record(after)),
    )
    .await?;
    Ok(true)
}

/// Updates the row `before` of `E` (at `version`) with `row` and, when `targets` is given,
/// makes them what it links to in `L` first, recording each change as [`set`] and
/// [`Write::update_linked`] do. The row is held before its links change (`what` names it in
/// a CONFLICT), so a racing change of it waits for this one.
pub async fn update_with<E: Versioned, L: Link>(
    w: &Write,
    entity: impl TypeName,
    what: &str,
    before: &E::Model,
    version: i32,
    row: E::ActiveModel,
    targets: Option<&[Uuid]>,
) -> Result<E::Model, Failure> {
    let id = before.row_id();
    let links_changed = match targets {
        Some(targets) => {
            w.hold_at::<E>(what, id, version).await?;
            set::<L>(w, entity, id, targets).await?
        }
        None => false,
    };
    w.update_linked::<E>(entity, before, version, row, links_changed)
        .await
}

/// A user error NOT_FOUND on each `field.i` of `given` (the IDs as sent, already checked to be
/// IDs of `node_type`) that names no row of it (`what`: "theme").
pub async fn all_exist(
    w: &Write,
    field: &str,
    given: &[ID],
    node_type: NodeType,
    what: &str,
) -> Result<(), Failure> {
    let ids: Vec<(usize, Uuid)> = given
        .iter()
        .enumerate()
        .filter_map(|(i, v)| Some((i, relay::decode_as(v, node_type).ok()?)))
        .collect();
    all_exist_at(w, field, &ids, node_type, what).await
}

/// The same for IDs already decoded, each with its position in the input.
pub async fn all_exist_at(
    w: &Write,
    field: &str,
    ids: &[(usize, Uuid)],
    node_type: NodeType,
    what: &str,
) -> Result<(), Failure> {
    if ids.is_empty() {
        return Ok(());
    }
    let (table, column) = node_type.id_column();
    let stmt = Query::select()
        .column((table.clone(), column.clone()))
        .from(table.clone())
        .and_where(Expr::col((table, column)).is_in(ids.iter().map(|(_, id)| *id)))
        .to_owned();
    let found: HashSet<Uuid> = w
        .txn()
        .query_all(&stmt)
        .await?
        .iter()
        .map(|row| row.try_get_by_index::<Uuid>(0))
        .collect::<Result<_, _>>()?;
    let mut check = Check::default();
    for (i, id) in ids {
        if !found.contains(id) {
            check.add(
                &format!("{field}.{i}"),
                UserErrorCode::NotFound,
                format!("no {what} with this ID"),
            );
        }
    }
    Ok(check.done()?)
}

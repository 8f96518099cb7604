//! Writing annual reviews: staff only. A draft is created (and refreshed) with a snapshot of
//! every community's figures; its direction, focus and remarks are written; publishing makes
//! it public and read-only. Only a draft can be deleted.
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result};
use chrono::Datelike;
use entity::{
    annual_review::{self, ReviewStatus},
    annual_review_entry, annual_review_focus_community, annual_review_focus_theme,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set, sea_query::ExprTrait as _};
use uuid::Uuid;

use super::{AnnualReview, AnnualReviewEntry, snapshot};
use crate::{
    auth::{Require, visible_to_staff},
    links,
    relay::{self, NodeType},
    write::{
        DeletePayload, Failure, MAX_TEXT, MaybeRef, Operation, Refused, UserErrorCode, Write, mutate,
        new_row, payload, set_if,
    },
};

#[derive(InputObject)]
pub struct CreateAnnualReviewInput {
    /// The calendar year to look back on: from 1900 up to the current year. One review per year.
    pub year: i32,
}

#[derive(InputObject)]
pub struct RefreshAnnualReviewInput {
    pub id: ID,
    /// The version the refresh is based on; a stale one is a CONFLICT.
    pub version: i32,
}

/// Fields left out stay as they are.
#[derive(InputObject)]
pub struct UpdateAnnualReviewInput {
    pub id: ID,
    /// The version the change is based on; a stale one is a CONFLICT.
    pub version: i32,
    /// The committee's direction for the next year.
    pub direction: MaybeUndefined<String>,
    /// Percent (0–100) of long-term actions wanted next year; null clears it.
    pub wanted_long_term_share: MaybeUndefined<i32>,
    /// Replaces the communities in focus next year.
    pub focus_community_ids: MaybeUndefined<Vec<ID>>,
    /// Replaces the themes in focus next year.
    pub focus_theme_ids: MaybeUndefined<Vec<ID>>,
}

#[derive(InputObject)]
pub struct UpdateAnnualReviewEntryInput {
    pub id: ID,
    /// The version the change is based on; a stale one is a CONFLICT.
    pub version: i32,
    /// The committee's remarks on the community's year.
    pub remarks: String,
}

#[derive(InputObject)]
pub struct PublishAnnualReviewInput {
    pub id: ID,
    pub version: i32,
}

#[derive(InputObject)]
pub struct DeleteAnnualReviewInput {
    pub id: ID,
    pub version: i32,
}

payload!(CreateAnnualReviewPayload, annual_review: AnnualReview);
payload!(RefreshAnnualReviewPayload, annual_review: AnnualReview);
payload!(UpdateAnnualReviewPayload, annual_review: AnnualReview);
payload!(UpdateAnnualReviewEntryPayload, annual_review_entry: AnnualReviewEntry);
payload!(PublishAnnualReviewPayload, annual_review: AnnualReview);

/// The draft review `id`, locked until the transaction ends; a user error once it is
/// published. The lock means a concurrent publication waits for this write (or this write for it) and so cannot slip in
/// between the check of DRAFT and the write. PostgreSQL takes a row lock (`FOR UPDATE`);
/// SQLite needs none, a write transaction holds the database's write lock from its start
/// (`BEGIN IMMEDIATE`) and SQLite has no `FOR UPDATE`.
async fn locked_draft(w: &Write, id: Uuid) -> Result<annual_review::Model, Failure> {
    let review = w
        .locking(annual_review::Entity::find_by_id(id))
        .one(w.txn())
        .await?
        .ok_or_else(|| crate::error::ApiError::not_found("no annual review with this ID"))?;
    if review.status == ReviewStatus::Draft {
        Ok(review)
    } else {
        Err(Refused::one(
            "id",
            UserErrorCode::InvalidTransition,
            format!(
                "the annual review of {} is published and can no longer change",
                review.year
            ),
        )
        .into())
    }
}

/// Writes the snapshot of `review`'s year into its entries: new entries for communities that
/// have none, new figures (and a new version) where they changed; remarks stay. Each entry
/// added or changed is in the audit log.
async fn write_snapshot(w: &Write, review: &annual_review::Model) -> Result<(), Failure> {
    let figures = snapshot::take(w.txn(), review.year).await?;
    let existing = annual_review_entry::Entity::find()
        .filter(annual_review_entry::Column::ReviewId.eq(review.id))
        .all(w.txn())
        .await?;
    let now = crate::common::now();
    let mut new_rows = Vec::new();
    let mut ordered: Vec<(&Uuid, &snapshot::Snapshot)> = figures.iter().collect();
    ordered.sort_by(|a, b| {
        crate::collation::danish_cmp(&a.1.community_name, &b.1.community_name).then(a.0.cmp(b.0))
    });
    for (community_id, figures) in ordered {
        let json = snapshot::to_json(figures);
        match existing.iter().find(|e| e.community_id == *community_id) {
            Some(e) if e.snapshot == json => {}
            Some(e) => {
                let after = annual_review_entry::Model {
                    snapshot: json.clone(),
                    community_name: figures.community_name.clone(),
                    updated_at: now,
                    version: e.version.saturating_add(1),
                    ..e.clone()
                };
                annual_review_entry::Entity::update_many()
                    .col_expr(annual_review_entry::Column::Snapshot, json.into())
                    .col_expr(
                        annual_review_entry::Column::CommunityName,
                        figures.community_name.clone().into(),
                    )
                    .col_expr(annual_review_entry::Column::UpdatedAt, now.into())
                    .col_expr(
                        annual_review_entry::Column::Version,
                        sea_orm::sea_query::Expr::col(annual_review_entry::Column::Version).add(1),
                    )
                    .filter(annual_review_entry::Column::Id.eq(e.id))
                    .exec(w.txn())
                    .await?;
                w.audit(
                    NodeType::AnnualReviewEntry,
                    e.id,
                    Operation::Update,
                    Some(e),
                    Some(&after),
                )
                .await?;
            }
            None => new_rows.push(annual_review_entry::Model {
                id: Uuid::now_v7(),
                review_id: review.id,
                community_id: *community_id,
                remarks: String::new(),
                snapshot: json,
                community_name: figures.community_name.clone(),
                created_at: now,
                updated_at: now,
                version: 1,
            }),
        }
    }
    for chunk in new_rows.chunks(100) {
        annual_review_entry::Entity::insert_many(
            chunk
                .iter()
                .map(|m| annual_review_entry::ActiveModel::from(m.clone())),
        )
        .exec_without_returning(w.txn())
        .await?;
    }
    for model in &new_rows {
        w.audit(
            NodeType::AnnualReviewEntry,
            model.id,
            Operation::Create,
            None,
            Some(model),
        )
        .await?;
    }
    Ok(())
}

#[derive(Default)]
pub struct ReviewMutation;

#[Object]
impl ReviewMutation {
    /// Starts the annual review of a year as a draft, with every community's figures of that
    /// year as the public sees them. Staff only.
    #[graphql(guard = "Require::Staff", visible = "visible_to_staff")]
    async fn create_annual_review(
        &self,
        ctx: &Context<'_>,
        input: CreateAnnualReviewInput,
    ) -> Result<CreateAnnualReviewPayload> {
        mutate(
            ctx,
            |check| {
                let this_year = crate::common::today().year();
                check.int("year", input.year, crate::common::FIRST_YEAR, this_year)
            },
            async |w, year| {
                let taken = annual_review::Entity::find()
                    .filter(annual_review::Column::Year.eq(year))
                    .one(w.txn())
                    .await?;
                if taken.is_some() {
                    return Err(Refused::one(
                        "year",
                        UserErrorCode::Taken,
                        format!("there is already an annual review of {year}"),
                    )
                    .into());
                }
                let now = crate::common::now();
                let model = w
                    .create(
                        NodeType::AnnualReview,
                        annual_review::ActiveModel {
                            id: Set(Uuid::now_v7()),
                            year: Set(year),
                            status: Set(ReviewStatus::Draft),
                            direction: Set(String::new()),
                            wanted_long_term_share: Set(None),
                            snapshot_taken_at: Set(now),
                            published_at: Set(None),
                            frozen_focus: Set(None),
                            frozen_history: Set(None),
                            ..new_row(now)
                        },
                    )
                    .await
                    .map_err(|e| match e {
                        // Another request created the year's review meanwhile: the unique year.
                        Failure::Refused(_) => Refused::one(
                            "year",
                            UserErrorCode::Taken,
                            format!("there is already an annual review of {year}"),
                        )
                        .into(),
                        e => e,
                    })?;
                write_snapshot(w, &model).await?;
                Ok(model)
            },
            |m| CreateAnnualReviewPayload::ok(AnnualReview(m)),
        )
        .await
    }

    /// Takes the figures of a draft review again from the live data (remarks stay). Staff only.
    #[graphql(guard = "Require::Staff", visible = "visible_to_staff")]
    async fn refresh_annual_review(
        &self,
        ctx: &Context<'_>,
        input: RefreshAnnualReviewInput,
    ) -> Result<RefreshAnnualReviewPayload> {
        mutate(
            ctx,
            |check| check.id("id", &input.id, NodeType::AnnualReview),
            async |w, id| {
                let before = locked_draft(w, id).await?;
                let row = annual_review::ActiveModel {
                    snapshot_taken_at: Set(crate::common::now()),
                    ..Default::default()
                };
                let after = w
                    .update::<annual_review::Entity>(NodeType::AnnualReview, &before, input.version, row)
                    .await?;
                write_snapshot(w, &after).await?;
                Ok(after)
            },
            |m| RefreshAnnualReviewPayload::ok(AnnualReview(m)),
        )
        .await
    }

    /// Changes a draft review's direction, focus or wanted share of long-term actions. Staff
    /// only.
    #[graphql(guard = "Require::Staff", visible = "visible_to_staff")]
    async fn update_annual_review(
        &self,
        ctx: &Context<'_>,
        input: UpdateAnnualReviewInput,
    ) -> Result<UpdateAnnualReviewPayload> {
        mutate(
            ctx,
            |check| {
                let id = check.id("id", &input.id, NodeType::AnnualReview);
                let direction = check.update_long_text("direction", input.direction.as_deref(), MAX_TEXT);
                let share = check.given(input.wanted_long_term_share.as_opt_ref(), |c, v| {
                    c.opt_int("wantedLongTermShare", v.copied(), 0, 100)
                });
                let communities = check.update_ids(
                    "focusCommunityIds",
                    input.focus_community_ids.as_deref(),
                    NodeType::Community,
                );
                let themes =
                    check.update_ids("focusThemeIds", input.focus_theme_ids.as_deref(), NodeType::Theme);
                Some((id?, direction?, share?, communities?, themes?))
            },
            async |w, (id, direction, share, communities, themes)| {
                let before = locked_draft(w, id).await?;
                if let Some(given) = input.focus_community_ids.value() {
                    links::all_exist(w, "focusCommunityIds", given, NodeType::Community, "community").await?;
                }
                if let Some(given) = input.focus_theme_ids.value() {
                    links::all_exist(w, "focusThemeIds", given, NodeType::Theme, "theme").await?;
                }
                let row = annual_review::ActiveModel {
                    direction: set_if(direction),
                    wanted_long_term_share: set_if(share),
                    ..Default::default()
                };
                // `locked_draft` holds the row already, so a racing change waits for this one.
                let mut links_changed = false;
                if let Some(ids) = &communities {
                    links_changed |= links::set::<annual_review_focus_community::Entity>(
                        w,
                        NodeType::AnnualReview,
                        id,
                        ids,
                    )
                    .await?;
                }
                if let Some(ids) = &themes {
                    links_changed |=
                        links::set::<annual_review_focus_theme::Entity>(w, NodeType::AnnualReview, id, ids)
                            .await?;
                }
                let after = w
                    .update_linked::<annual_review::Entity>(
                        NodeType::AnnualReview,
                        &before,
                        input.version,
                        row,
                        links_changed,
                    )
                    .await?;
                Ok(after)
            },
            |m| UpdateAnnualReviewPayload::ok(AnnualReview(m)),
        )
        .await
    }

    /// Writes the remarks on one community's year in a draft review. Staff only.
    #[graphql(guard = "Require::Staff", visible = "visible_to_staff")]
    async fn update_annual_review_entry(
        &self,
        ctx: &Context<'_>,
        input: UpdateAnnualReviewEntryInput,
    ) -> Result<UpdateAnnualReviewEntryPayload> {
        mutate(
            ctx,
            |check| {
                let id = check.id("id", &input.id, NodeType::AnnualReviewEntry);
                let remarks = check.long_text("remarks", &input.remarks, MAX_TEXT);
                Some((id?, remarks?))
            },
            async |w, (id, remarks)| {
                let before = w
                    .find::<annual_review_entry::Entity>("annual review entry", id)
                    .await?;
                locked_draft(w, before.review_id).await?;
                let row = annual_review_entry::ActiveModel {
                    remarks: Set(remarks),
                    ..Default::default()
                };
                w.update::<annual_review_entry::Entity>(
                    NodeType::AnnualReviewEntry,
                    &before,
                    input.version,
                    row,
                )
                .await
            },
            |m| UpdateAnnualReviewEntryPayload::ok(AnnualReviewEntry(m)),
        )
        .await
    }

    /// Publishes a draft review: from then on it is public and read-only. Staff only.
    #[graphql(guard = "Require::Staff", visible = "visible_to_staff")]
    async fn publish_annual_review(
        &self,
        ctx: &Context<'_>,
        input: PublishAnnualReviewInput,
    ) -> Result<PublishAnnualReviewPayload> {
        mutate(
            ctx,
            |check| check.id("id", &input.id, NodeType::AnnualReview),
            async |w, id| {
                let before = locked_draft(w, id).await?;
                // What the review shows is frozen with it: the focus with today's names, and the
                // totals of the reviews published before it.
                let focus = snapshot::live_focus(w.txn(), id).await?;
                let history = snapshot::published_before(w.txn(), before.year).await?;
                let row = annual_review::ActiveModel {
                    status: Set(ReviewStatus::Published),
                    published_at: Set(Some(crate::common::now())),
                    frozen_focus: Set(Some(
                        serde_json::to_string(&focus).map_err(crate::error::ApiError::internal)?,
                    )),
                    frozen_history: Set(Some(
                        serde_json::to_string(&history).map_err(crate::error::ApiError::internal)?,
                    )),
                    ..Default::default()
                };
                w.update::<annual_review::Entity>(NodeType::AnnualReview, &before, input.version, row)
                    .await
            },
            |m| PublishAnnualReviewPayload::ok(AnnualReview(m)),
        )
        .await
    }

    /// Deletes a draft review with its entries; a published review stays. Staff only.
    #[graphql(guard = "Require::Staff", visible = "visible_to_staff")]
    async fn delete_annual_review(
        &self,
        ctx: &Context<'_>,
        input: DeleteAnnualReviewInput,
    ) -> Result<DeletePayload> {
        mutate(
            ctx,
            |check| check.id("id", &input.id, NodeType::AnnualReview),
            async |w, id| {
                let before = locked_draft(w, id).await?;
                // The entries go with it, each with a DELETE record of its own.
                w.delete::<annual_review::Entity>(NodeType::AnnualReview, &before, input.version)
                    .await?;
                Ok(id)
            },
            |id| DeletePayload::ok(relay::encode(NodeType::AnnualReview, id)),
        )
        .await
    }
}

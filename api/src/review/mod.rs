//! The annual review (årsstatus): once a year the committee takes stock of every community and
//! sets the direction for the coming year, balancing long-term efforts against actions with
//! an effect here and now.
//!
//! Staff create a review for a year as a DRAFT: it snapshots every community's figures of that
//! calendar year as the public sees them (see [`snapshot`]), and they refresh the snapshot,
//! write remarks per community, the direction, the communities and themes in focus and the
//! wanted share of long-term actions, and finally PUBLISH it. A published review is read-only
//! and public; what it shows is stored with it (the figures, and at publication the names of
//! the communities and themes in focus and the year-over-year totals of the reviews published
//! before it), so it never changes when the live data does. A draft is
//! visible to staff only, by every path (by year, in lists, by ID, through a community, in
//! the reports).
pub mod mutation;
pub mod snapshot;

use async_graphql::{Context, ID, Object, Result, SimpleObject, connection::Connection};
use chrono::{DateTime, Utc};
use entity::{annual_review, annual_review_entry, community, theme};
use sea_orm::{
    ColumnTrait, EntityTrait, QueryFilter, QueryTrait,
    sea_query::{Expr, ExprTrait, Order, SelectStatement},
};
use uuid::Uuid;

use crate::{
    access::{Access, Scope},
    action::{ActionStatus, Horizon},
    community::Community,
    engagement::{
        figures::{Engagement, EngagementComponent},
        score::Span,
    },
    error::ApiError,
    labels::labelled_enum,
    loader::{self, Rel, by_id, join, linked, listing, qcol},
    pagination::{ConnectionFields, Cursor, Listing, Window},
    plan::Plan,
    relay::{self, NodeType},
    theme::Theme,
};

use self::snapshot::Snapshot;

labelled_enum!(
    /// Where an annual review is in its life.
    AnnualReviewStatus = "entity::annual_review::ReviewStatus" {
        /// The coordinators' working copy: staff only.
        Draft => "Kladde",
        /// Decided and public; it no longer changes.
        Published => "Offentliggjort",
    }
);

/// Whether the caller sees draft reviews (staff and admins).
pub fn sees_drafts(access: &Access) -> bool {
    access.plans == Scope::Everything
}

/// Reviews the caller may see: all for staff, published ones for everyone else.
pub fn visible(access: &Access) -> sea_orm::Select<annual_review::Entity> {
    let q = annual_review::Entity::find();
    if sees_drafts(access) {
        q
    } else {
        q.filter(annual_review::Column::Status.eq(annual_review::ReviewStatus::Published))
    }
}

fn visible_ids(access: &Access) -> SelectStatement {
    use sea_orm::QuerySelect;
    visible(access)
        .select_only()
        .column(annual_review::Column::Id)
        .into_query()
}

/// Entries of the reviews the caller may see.
pub fn visible_entries(access: &Access) -> sea_orm::Select<annual_review_entry::Entity> {
    let q = annual_review_entry::Entity::find();
    if sees_drafts(access) {
        q
    } else {
        q.filter(
            Expr::col((annual_review_entry::Entity, annual_review_entry::Column::ReviewId))
                .in_subquery(visible_ids(access)),
        )
    }
}

pub static BY_ID: Rel<annual_review::Model> = Rel::new(NodeType::AnnualReview.name(), |a| by_id(visible(a)));

pub static ENTRY_BY_ID: Rel<annual_review_entry::Model> =
    Rel::new(NodeType::AnnualReviewEntry.name(), |a| by_id(visible_entries(a)));

/// A review's entries, by the community's name as they show it (of the snapshot).
static ENTRIES_OF_REVIEW: Rel<annual_review_entry::Model> = Rel::new("entries of annual review", |a| {
    listing(
        visible_entries(a),
        annual_review_entry::Column::ReviewId,
        &[(annual_review_entry::Column::CommunityName, Order::Asc)],
    )
});

/// A community's entries across the reviews the caller may see, oldest year first.
static ENTRIES_OF_COMMUNITY: Rel<annual_review_entry::Model> =
    Rel::new("annual review entries of community", |a| {
        let mut q = visible_entries(a).into_query();
        join(
            &mut q,
            annual_review::Entity,
            annual_review_entry::Relation::Review,
        );
        Listing {
            select: q,
            order: vec![
                (qcol(annual_review::Column::Year), Order::Asc),
                (qcol(annual_review_entry::Column::Id), Order::Asc),
            ],
            parent: Some(qcol(annual_review_entry::Column::CommunityId)),
        }
    });

static FOCUS_COMMUNITIES: Rel<community::Model> = Rel::new("focus communities of annual review", |_| {
    linked(
        community::Entity,
        entity::annual_review_focus_community::Entity,
        entity::annual_review_focus_community::Relation::Community,
        entity::annual_review_focus_community::Column::ReviewId,
        &[(community::Column::Name, Order::Asc)],
    )
});

static FOCUS_THEMES: Rel<theme::Model> = Rel::new("focus themes of annual review", |_| {
    linked(
        theme::Entity,
        entity::annual_review_focus_theme::Entity,
        entity::annual_review_focus_theme::Relation::Theme,
        entity::annual_review_focus_theme::Column::ReviewId,
        &[(theme::Column::Name, Order::Asc)],
    )
});

/// Every entry of a review (for its totals), by community ID.
static ALL_ENTRIES_OF_REVIEW: Rel<annual_review_entry::Model> =
    Rel::new("all entries of annual review", |a| {
        listing(
            visible_entries(a),
            annual_review_entry::Column::ReviewId,
            &[(annual_review_entry::Column::CommunityId, Order::Asc)],
        )
    });

pub struct AnnualReview(pub annual_review::Model);

/// The committee's status of the programme for one calendar year, and its direction for the
/// next.
#[Object]
impl AnnualReview {
    pub async fn id(&self) -> ID {
        relay::encode(NodeType::AnnualReview, self.0.id)
    }
    /// The calendar year the review looks back on.
    async fn year(&self) -> i32 {
        self.0.year
    }
    async fn status(&self) -> AnnualReviewStatus {
        self.0.status.into()
    }
    async fn status_label(&self) -> &'static str {
        AnnualReviewStatus::from(self.0.status).label()
    }
    /// The committee's direction for the next year.
    async fn direction(&self) -> &str {
        &self.0.direction
    }
    /// The share of long-term actions (percent, 0–100) the committee wants next year; compare
    /// with `totals.actions.longTermShare`.
    async fn wanted_long_term_share(&self) -> Option<i32> {
        self.0.wanted_long_term_share
    }
    /// Communities in focus next year, by name: in a published review with their names at
    /// publication.
    async fn focus_communities(&self, ctx: &Context<'_>) -> Result<Vec<AnnualReviewFocusCommunity>> {
        if let Some(focus) = self.frozen_focus() {
            return Ok(focus
                .communities
                .into_iter()
                .map(|n| AnnualReviewFocusCommunity(n.id, n.name))
                .collect());
        }
        Ok(loader::list(ctx, &FOCUS_COMMUNITIES, self.0.id)
            .await?
            .into_iter()
            .map(|c| AnnualReviewFocusCommunity(c.id, c.name))
            .collect())
    }
    /// Themes in focus next year, by name: in a published review with their names at
    /// publication.
    async fn focus_themes(&self, ctx: &Context<'_>) -> Result<Vec<AnnualReviewFocusTheme>> {
        if let Some(focus) = self.frozen_focus() {
            return Ok(focus
                .themes
                .into_iter()
                .map(|n| AnnualReviewFocusTheme(n.id, n.name))
                .collect());
        }
        Ok(loader::list(ctx, &FOCUS_THEMES, self.0.id)
            .await?
            .into_iter()
            .map(|t| AnnualReviewFocusTheme(t.id, t.name))
            .collect())
    }
    /// When the figures were taken (at creation, or at the latest refresh of the draft).
    async fn snapshot_taken_at(&self) -> DateTime<Utc> {
        self.0.snapshot_taken_at
    }
    async fn published_at(&self) -> Option<DateTime<Utc>> {
        self.0.published_at
    }
    #[graphql(flatten)]
    async fn stamps(&self) -> crate::common::Stamps {
        crate::common::Stamped::stamps(&self.0)
    }
    /// One entry per community (its figures and the remarks on them), by community name.
    async fn entries(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<Cursor, AnnualReviewEntry, ConnectionFields>> {
        loader::nested(
            ctx,
            &ENTRIES_OF_REVIEW,
            self.0.id,
            first,
            after,
            last,
            before,
            AnnualReviewEntry,
        )
        .await
    }
    /// The figures of all communities added up.
    async fn totals(&self, ctx: &Context<'_>) -> Result<AnnualFigures> {
        let entries = loader::list(ctx, &ALL_ENTRIES_OF_REVIEW, self.0.id).await?;
        let snapshots: Vec<Snapshot> = entries.iter().map(|e| snapshot::from_json(&e.snapshot)).collect();
        let mut total = snapshot::sum(&snapshots);
        total.year = self.0.year;
        Ok(AnnualFigures(total))
    }
}

impl AnnualReview {
    /// The focus frozen at publication (none for a draft).
    fn frozen_focus(&self) -> Option<snapshot::Focus> {
        snapshot::frozen(self.0.frozen_focus.as_deref())
    }
}

pub struct AnnualReviewFocusCommunity(Uuid, String);

/// A community in a review's focus.
#[Object]
impl AnnualReviewFocusCommunity {
    /// The community's name as the review shows it: for a published review, its name at
    /// publication.
    async fn name(&self) -> &str {
        &self.1
    }
    /// The community as it is now.
    async fn community(&self, ctx: &Context<'_>) -> Result<Community> {
        Ok(Community(
            loader::required(ctx, &crate::community::BY_ID, self.0).await?,
        ))
    }
}

pub struct AnnualReviewFocusTheme(Uuid, String);

/// A theme in a review's focus.
#[Object]
impl AnnualReviewFocusTheme {
    /// The theme's name as the review shows it: for a published review, its name at
    /// publication.
    async fn name(&self) -> &str {
        &self.1
    }
    /// The theme as it is now.
    async fn theme(&self, ctx: &Context<'_>) -> Result<Theme> {
        Ok(Theme(loader::required(ctx, &crate::theme::BY_ID, self.0).await?))
    }
}

pub struct AnnualReviewEntry(pub annual_review_entry::Model);

/// One community's figures in an annual review, and the committee's remarks on them.
#[Object]
impl AnnualReviewEntry {
    pub async fn id(&self) -> ID {
        relay::encode(NodeType::AnnualReviewEntry, self.0.id)
    }
    async fn review(&self, ctx: &Context<'_>) -> Result<AnnualReview> {
        Ok(AnnualReview(
            loader::required(ctx, &BY_ID, self.0.review_id).await?,
        ))
    }
    /// The year of the review.
    async fn year(&self) -> i32 {
        self.figures_snapshot().year
    }
    async fn community(&self, ctx: &Context<'_>) -> Result<Community> {
        Ok(Community(
            loader::required(ctx, &crate::community::BY_ID, self.0.community_id).await?,
        ))
    }
    /// The community's name when the figures were taken.
    async fn community_name(&self) -> String {
        self.figures_snapshot().community_name
    }
    /// The committee's remarks on the community's year.
    async fn remarks(&self) -> &str {
        &self.0.remarks
    }
    /// The community's figures of the year, as stored when they were taken.
    async fn figures(&self) -> AnnualFigures {
        AnnualFigures(self.figures_snapshot())
    }
    #[graphql(flatten)]
    async fn stamps(&self) -> crate::common::Stamps {
        crate::common::Stamped::stamps(&self.0)
    }
}

impl AnnualReviewEntry {
    fn figures_snapshot(&self) -> Snapshot {
        snapshot::from_json(&self.0.snapshot)
    }
}

pub struct AnnualFigures(pub Snapshot);

/// A community's (or all communities') figures of one calendar year, as the public saw them
/// when they were taken.
#[Object]
impl AnnualFigures {
    async fn year(&self) -> i32 {
        self.0.year
    }
    /// The plans counted: published (adopted or archived) plans whose period covers the year.
    /// `actions`, `partnerships` and `contributions` count these plans only; `engagement` is
    /// the community's as `Community.engagement` measures it (all its public plans and its
    /// own events).
    async fn plans(&self) -> Vec<AnnualPlanFigures> {
        self.0
            .plans
            .iter()
            .map(|p| AnnualPlanFigures {
                id: p.id,
                title: p.title.clone(),
                period_from: p.period_from,
                period_to: p.period_to,
            })
            .collect()
    }
    /// The actions of those plans.
    async fn actions(&self) -> AnnualActionFigures {
        let a = &self.0.actions;
        AnnualActionFigures {
            total: a.total,
            by_status: a
                .by_status()
                .into_iter()
                .map(|(s, count)| {
                    let status = ActionStatus::from(s);
                    ActionStatusCount {
                        status,
                        status_label: status.label(),
                        count,
                    }
                })
                .collect(),
            by_horizon: [
                (Horizon::LongTerm, a.long_term),
                (Horizon::HereAndNow, a.here_and_now),
            ]
            .into_iter()
            .map(|(horizon, count)| HorizonCount {
                horizon,
                horizon_label: horizon.label(),
                count,
            })
            .collect(),
            long_term_share: a.long_term_share().map(|s| (s * 10_000.0).round() / 10_000.0),
            completed_in_year: a.completed_in_year,
            average_progress: a.average_progress,
        }
    }
    /// Engagement in the calendar year, as `Community.engagement` measures it: each component
    /// with the weight in force when the figures were taken.
    async fn engagement(&self) -> Engagement {
        let e = &self.0.engagement;
        let year = Span::calendar_year(self.0.year);
        let window = match (e.from, e.to, year) {
            (Some(from), Some(to), _) => Some(Span { from, to }),
            (_, _, year) => year,
        };
        Engagement {
            window: window
                .unwrap_or(Span {
                    from: chrono::NaiveDate::MIN,
                    to: chrono::NaiveDate::MIN,
                })
                .into(),
            components: e
                .components
                .iter()
                .filter_map(|p| {
                    let key = snapshot::key_of(&p.key)?;
                    Some(EngagementComponent {
                        key,
                        label: key.label().to_owned(),
                        value: p.value,
                        weight: p.weight,
                        points: p.points(),
                    })
                })
                .collect(),
            total: e.total,
        }
    }
    async fn partnerships(&self) -> AnnualPartnershipFigures {
        AnnualPartnershipFigures {
            active: self.0.partnerships.active,
            members: self.0.partnerships.members,
        }
    }
    async fn contributions(&self) -> AnnualContributionFigures {
        let c = &self.0.contributions;
        AnnualContributionFigures {
            volunteer_hours: c.volunteer_hours,
            money_dkk: c.money_dkk,
            municipal_dkk: c.municipal_dkk,
        }
    }
    /// Responses to the community's consultations: sent in the year (in Danish time) to any of
    /// its public plans and published when the figures were taken (the engagement component
    /// `CONSULTATION_RESPONSES`). Null in figures taken before responses were counted.
    async fn consultation(&self) -> Option<AnnualConsultationFigures> {
        self.0.consultation.as_ref().map(|c| AnnualConsultationFigures {
            responses: c.responses,
            replied: c.replied,
        })
    }
    async fn idea_exchanges(&self) -> AnnualExchangeFigures {
        AnnualExchangeFigures {
            initiated: self.0.idea_exchanges.initiated,
            participated: self.0.idea_exchanges.participated,
        }
    }
}

/// A plan counted in a year's figures.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct AnnualPlanFigures {
    #[graphql(skip)]
    pub id: Uuid,
    /// The plan's title when the figures were taken.
    pub title: String,
    pub period_from: i32,
    pub period_to: i32,
}

#[async_graphql::ComplexObject]
impl AnnualPlanFigures {
    /// The plan itself, as it is now (null if you may no longer see it).
    async fn plan(&self, ctx: &Context<'_>) -> Result<Option<Plan>> {
        Ok(loader::one(ctx, &crate::plan::BY_ID, self.id).await?.map(Plan))
    }
}

/// A community's actions in a review's figures.
#[derive(SimpleObject)]
pub struct AnnualActionFigures {
    /// Actions of the plans counted, whatever their status.
    pub total: i64,
    /// Their status when the figures were taken.
    pub by_status: Vec<ActionStatusCount>,
    /// The actions not dropped, by horizon.
    pub by_horizon: Vec<HorizonCount>,
    /// The share (0–1) of long-term actions among those not dropped (open or completed); null
    /// without such actions. Compare with the review's `wantedLongTermShare`.
    pub long_term_share: Option<f64>,
    /// Actions of the plans counted that were completed in the year (`completedOn`). The
    /// engagement component `ACTIONS_COMPLETED` counts all the community's public plans, so
    /// it may be larger.
    pub completed_in_year: i64,
    /// Average progress (0–100) of the actions not dropped; null without such actions.
    pub average_progress: Option<f64>,
}

/// How many actions have a status, with its Danish label.
#[derive(SimpleObject)]
pub struct ActionStatusCount {
    pub status: ActionStatus,
    pub status_label: &'static str,
    pub count: i64,
}

/// How many actions have a horizon, with its Danish label.
#[derive(SimpleObject)]
pub struct HorizonCount {
    pub horizon: Horizon,
    pub horizon_label: &'static str,
    pub count: i64,
}

/// A community's partnerships in a review's figures.
#[derive(SimpleObject)]
pub struct AnnualPartnershipFigures {
    /// Active partnerships on the plans counted or their actions, whose period overlaps the year.
    pub active: i64,
    /// Members of those partnerships.
    pub members: i64,
}

/// What the partners of a community's plans pledged, in a review's figures.
#[derive(SimpleObject)]
pub struct AnnualContributionFigures {
    /// Volunteer hours pledged in partnerships on the plans counted or their actions, active
    /// or completed, whose period overlaps the year.
    pub volunteer_hours: i64,
    /// Money (DKK) pledged in those partnerships by others than municipal departments:
    /// co-funding.
    pub money_dkk: i64,
    /// Money (DKK) pledged in those partnerships by municipal departments.
    pub municipal_dkk: i64,
}

/// The responses to a community's consultations, in a review's figures.
#[derive(SimpleObject)]
pub struct AnnualConsultationFigures {
    /// Published responses sent in the year.
    pub responses: i64,
    /// Of those, the ones with a reply from the municipality or the community.
    pub replied: i64,
}

/// A community's idea exchanges, in a review's figures.
#[derive(SimpleObject)]
pub struct AnnualExchangeFigures {
    /// Idea exchanges in the year that the community initiated.
    pub initiated: i64,
    /// Idea exchanges in the year that the community took part in.
    pub participated: i64,
}

/// `Community.annualFigures`: the community's entries across the reviews the caller may see,
/// oldest year first, within the years given.
pub async fn annual_figures_of(
    ctx: &Context<'_>,
    community: Uuid,
    from_year: Option<i32>,
    to_year: Option<i32>,
) -> Result<Vec<AnnualReviewEntry>> {
    let check = |name: &str, y: Option<i32>| match y {
        Some(y) if !crate::common::YEARS.contains(&y) => Err(ApiError::bad_input(format!(
            "`{name}` must be between {} and {}, got {y}",
            crate::common::FIRST_YEAR,
            crate::common::LAST_YEAR
        ))),
        _ => Ok(()),
    };
    check("fromYear", from_year)?;
    check("toYear", to_year)?;
    if let (Some(f), Some(t)) = (from_year, to_year)
        && t < f
    {
        return Err(
            ApiError::bad_input(format!("`toYear` ({t}) must not be before `fromYear` ({f})")).into(),
        );
    }
    let entries = loader::list(ctx, &ENTRIES_OF_COMMUNITY, community).await?;
    Ok(entries
        .into_iter()
        .filter(|e| {
            let year = snapshot::from_json(&e.snapshot).year;
            from_year.is_none_or(|f| year >= f) && to_year.is_none_or(|t| year <= t)
        })
        .map(AnnualReviewEntry)
        .collect())
}

/// The review of `year` if the caller may see it (also used by the reports).
pub async fn find_visible<C: sea_orm::ConnectionTrait>(
    db: &C,
    access: &Access,
    year: i32,
) -> Result<Option<annual_review::Model>, sea_orm::DbErr> {
    visible(access)
        .filter(annual_review::Column::Year.eq(year))
        .one(db)
        .await
}

fn check_year(year: i32) -> Result<(), ApiError> {
    if crate::common::YEARS.contains(&year) {
        Ok(())
    } else {
        Err(ApiError::bad_input(format!(
            "`year` must be between {} and {}, got {year}",
            crate::common::FIRST_YEAR,
            crate::common::LAST_YEAR
        )))
    }
}

#[derive(Default)]
pub struct ReviewQuery;

// Public data may be cached for a minute (see `schema::Query`).
#[Object(cache_control(max_age = 60))]
impl ReviewQuery {
    /// The annual review of a calendar year; null when there is none you may see (drafts are
    /// for staff only).
    async fn annual_review(&self, ctx: &Context<'_>, year: i32) -> Result<Option<AnnualReview>> {
        check_year(year)?;
        let db = ctx.data_unchecked::<sea_orm::DatabaseConnection>();
        let access = loader::access(ctx);
        Ok(find_visible(db, &access, year)
            .await
            .map_err(ApiError::from)?
            .map(AnnualReview))
    }

    /// Annual reviews, newest year first (drafts for staff only).
    async fn annual_reviews(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<Cursor, AnnualReview, ConnectionFields>> {
        let window = Window::parse(first, after, last, before)?;
        let access = loader::access(ctx);
        loader::top_connection(
            ctx,
            visible(&access),
            &[(annual_review::Column::Year, Order::Desc)],
            &window,
            AnnualReview,
        )
        .await
    }
}

impl crate::compiled::Prefetch for AnnualReview {}

//! Priorities: which actions the municipality should put its resources behind next year, and
//! whether the portfolio is balanced between long-term efforts and actions that work here and
//! now. The coordinators' and the committee's working tool (staff only).
//!
//! # The method
//! The programme's rule is that the municipality puts its resources "where local engagement
//! is strongest and the potential largest". So, for `priorities(year: Y)`:
//!
//! - **Candidates** are the open actions (idea, planned, in progress, paused) of adopted plans
//!   whose period covers Y: what the communities have committed to and not finished.
//! - **Engagement** is measured over the 12 months ending at the earlier of today and
//!   31 December of Y−1: the committee sets next year's direction from this year's engagement.
//! - Each candidate's **score** is a sum of terms, each shown as a component with its value,
//!   weight and points (weights are staff settings, beside the engagement weights):
//!   - *potential* (1–5, the municipality's judgement; a missing one counts as 3 and the
//!     entry says it was estimated) × 2 by default: the potential is the action's own worth;
//!   - *community engagement*, the community's engagement total normalised to 0–5 against
//!     the most engaged community among all candidates (so the scale matches potential and
//!     does not depend on how the weights are scaled) × 1: engagement is what carries an
//!     action through;
//!   - *committed partners*, the distinct members of ACTIVE partnerships around the action
//!     other than its own community (at most 5 count) × 0.5: an action others already put
//!     resources into is more likely to happen;
//!   - *seeking partners* (1 or 0) × 0.5: a small nudge, since an action that looks for
//!     partners is where the municipality can broker help.
//! - Actions are ranked by score, then potential, then title. Filters narrow the list and the
//!   balance; they do not change scores (engagement is normalised against all candidates).
//! - The **balance** counts long-term and here-and-now actions among the listed candidates,
//!   with their shares, overall and per community.
use std::collections::{HashMap, HashSet};

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject, connection::Connection};
use chrono::NaiveDate;
use entity::{action, community, plan};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect, QueryTrait,
    sea_query::{Expr, Query},
};
use uuid::Uuid;

use crate::{
    access::Access,
    action::{Action, Horizon},
    auth::{Require, visible_to_staff},
    common::decode_ids,
    community::Community,
    engagement::{
        figures::{EngagementWindow, today},
        score::{self, PriorityWeights, Span, round2},
    },
    error::ApiError,
    loader::{self, col, qcol},
    pagination::{ConnectionFields, Cursor, Page, Window},
    relay::NodeType,
};

/// The terms of a priority score.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum PriorityComponentKey {
    /// The action's potential, 1–5 (3 when not judged yet).
    Potential,
    /// The community's engagement, 0–5 against the most engaged community.
    CommunityEngagement,
    /// Members of active partnerships around the action other than its own community (at
    /// most 5).
    CommittedPartners,
    /// 1 when the action seeks partners.
    SeekingPartners,
}

crate::labels::enum_labels!(PriorityComponentKey {
    Potential => "Potentiale",
    CommunityEngagement => "Lokalsamfundets engagement",
    CommittedPartners => "Partnere i aktive partnerskaber",
    SeekingPartners => "Søger partnere",
});

/// The potential an action without one counts with.
pub const ASSUMED_POTENTIAL: i32 = 3;
/// Most committed partners that count.
pub const MAX_PARTNERS: i64 = 5;
/// The scale community engagement is normalised to.
pub const ENGAGEMENT_SCALE: f64 = 5.0;

/// One term of a priority score.
#[derive(SimpleObject, Clone)]
pub struct PriorityComponent {
    pub key: PriorityComponentKey,
    /// The term in Danish.
    pub label: String,
    pub value: f64,
    pub weight: f64,
    /// `value × weight`, rounded to two decimals.
    pub points: f64,
}

#[derive(Clone)]
pub struct PriorityEntry {
    rank: i64,
    action: action::Model,
    community_id: Uuid,
    score: f64,
    components: Vec<PriorityComponent>,
    potential_estimated: bool,
    /// The community's raw engagement total in the window.
    engagement_total: f64,
}

/// An action in the ranking.
#[Object]
impl PriorityEntry {
    /// 1 for the highest score.
    async fn rank(&self) -> i64 {
        self.rank
    }
    async fn action(&self) -> Action {
        Action(self.action.clone())
    }
    async fn community(&self, ctx: &Context<'_>) -> Result<Community> {
        Ok(Community(
            loader::required(ctx, &crate::community::BY_ID, self.community_id).await?,
        ))
    }
    /// The sum of the components' points, rounded to two decimals.
    async fn score(&self) -> f64 {
        self.score
    }
    async fn components(&self) -> &[PriorityComponent] {
        &self.components
    }
    /// True when the action has no potential yet and counts with 3.
    async fn potential_estimated(&self) -> bool {
        self.potential_estimated
    }
    /// The community's engagement total in the window, before normalising: the
    /// COMMUNITY_ENGAGEMENT value is `engagementTotal / engagementReference.total × 5`
    /// (rounded to two decimals). Counted with staff access, drafts included.
    async fn engagement_total(&self) -> f64 {
        self.engagement_total
    }
}

#[derive(Clone)]
pub struct EngagementReference {
    community_id: Uuid,
    total: f64,
}

/// The most engaged community among the candidates: community engagement is normalised
/// against its total (its actions get 5).
#[Object]
impl EngagementReference {
    async fn community(&self, ctx: &Context<'_>) -> Result<Community> {
        Ok(Community(
            loader::required(ctx, &crate::community::BY_ID, self.community_id).await?,
        ))
    }
    /// Its engagement total in the window.
    async fn total(&self) -> f64 {
        self.total
    }
}

/// Long-term and here-and-now actions: counts and shares (0–1; 0 when there are none).
#[derive(SimpleObject, Clone, Copy, Default)]
pub struct HorizonBalance {
    pub long_term: i64,
    pub here_and_now: i64,
    pub total: i64,
    pub long_term_share: f64,
    pub here_and_now_share: f64,
}

impl HorizonBalance {
    fn add(&mut self, h: action::Horizon) {
        match h {
            action::Horizon::LongTerm => self.long_term += 1,
            action::Horizon::HereAndNow => self.here_and_now += 1,
        }
        self.total += 1;
        let share = |n: i64| round4(n as f64 / self.total as f64);
        self.long_term_share = share(self.long_term);
        self.here_and_now_share = share(self.here_and_now);
    }
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

#[derive(Clone)]
pub struct CommunityBalance {
    community_id: Uuid,
    balance: HorizonBalance,
}

/// One community's balance.
#[Object]
impl CommunityBalance {
    async fn community(&self, ctx: &Context<'_>) -> Result<Community> {
        Ok(Community(
            loader::required(ctx, &crate::community::BY_ID, self.community_id).await?,
        ))
    }
    async fn long_term(&self) -> i64 {
        self.balance.long_term
    }
    async fn here_and_now(&self) -> i64 {
        self.balance.here_and_now
    }
    async fn total(&self) -> i64 {
        self.balance.total
    }
    async fn long_term_share(&self) -> f64 {
        self.balance.long_term_share
    }
    async fn here_and_now_share(&self) -> f64 {
        self.balance.here_and_now_share
    }
}

/// The balance of the listed candidates, overall and per community (by name).
#[derive(SimpleObject, Clone)]
pub struct PriorityBalance {
    pub overall: HorizonBalance,
    pub by_community: Vec<CommunityBalance>,
}

pub struct Priorities {
    year: i32,
    span: Span,
    entries: Vec<PriorityEntry>,
    balance: PriorityBalance,
    reference: Option<EngagementReference>,
}

/// The ranking of a year's candidate actions and their balance.
#[Object]
impl Priorities {
    /// The year being prioritised.
    async fn year(&self) -> i32 {
        self.year
    }
    /// The window engagement was measured over.
    async fn window(&self) -> EngagementWindow {
        self.span.into()
    }
    /// Candidate actions, highest score first.
    async fn ranking(
        &self,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<Cursor, PriorityEntry, ConnectionFields>> {
        let w = Window::parse(first, after, last, before)?;
        Ok(page(&self.entries, &w).into_connection(&w, |e| e))
    }
    /// Long-term against here-and-now among the candidates.
    async fn balance(&self) -> &PriorityBalance {
        &self.balance
    }
    /// The most engaged community among all candidates (filters aside), whose total
    /// community engagement is normalised against; null when no candidate's community shows
    /// any engagement in the window.
    async fn engagement_reference(&self) -> Option<&EngagementReference> {
        self.reference.as_ref()
    }
}

/// One page of an in-memory list, positions 1-based. Any cursor is safe: a position past the
/// end gives an empty page.
fn page<T: Clone>(items: &[T], w: &Window) -> Page<T> {
    let n = items.len() as i64;
    let lo = w.after.saturating_add(1).max(1);
    let hi = w.before.map_or(n, |b| b.saturating_sub(1).min(n));
    let (start, end) = if w.from_end {
        (hi.saturating_sub(w.size).saturating_add(1).max(lo), hi)
    } else {
        (lo, hi.min(lo.saturating_add(w.size - 1)))
    };
    let rows = if start <= end {
        (start..=end)
            .filter_map(|p| Some((p, items.get(usize::try_from(p - 1).ok()?)?.clone())))
            .collect()
    } else {
        Vec::new()
    };
    Page { rows, total: n }
}

/// Narrows the listed candidates; scores do not depend on it.
#[derive(InputObject, Default)]
pub struct PriorityFilter {
    /// Actions of these communities.
    pub community_ids: Option<Vec<ID>>,
    /// Actions tagged with any of these themes.
    pub theme_ids: Option<Vec<ID>>,
    pub horizon: Option<Horizon>,
    /// Only actions that seek partners (true) or that do not (false).
    pub seeking_partners: Option<bool>,
}

const OPEN: [action::ActionStatus; 4] = [
    action::ActionStatus::Idea,
    action::ActionStatus::Planned,
    action::ActionStatus::InProgress,
    action::ActionStatus::Paused,
];

/// The engagement window for priorities of `year`: the 12 months ending at the earlier of
/// `today` and 31 December of the year before.
pub fn window_for(year: i32, today: NaiveDate) -> Span {
    let end_of_last = NaiveDate::from_ymd_opt(year - 1, 12, 31).unwrap_or(today);
    Span::year_ending(end_of_last.min(today))
}

struct Checked {
    year: i32,
    communities: Option<HashSet<Uuid>>,
    themes: Option<Vec<Uuid>>,
    horizon: Option<action::Horizon>,
    seeking: Option<bool>,
}

fn check(year: i32, filter: Option<PriorityFilter>) -> Result<Checked, ApiError> {
    crate::common::year_bounds(year)?;
    let f = filter.unwrap_or_default();
    Ok(Checked {
        year,
        communities: f
            .community_ids
            .map(|ids| decode_ids("filter.communityIds", &ids, NodeType::Community))
            .transpose()?
            .map(|v| v.into_iter().collect()),
        themes: f
            .theme_ids
            .map(|ids| decode_ids("filter.themeIds", &ids, NodeType::Theme))
            .transpose()?,
        horizon: f.horizon.map(Into::into),
        seeking: f.seeking_partners,
    })
}

/// Members of ACTIVE partnerships around each of `actions`, the action's own community left out.
async fn committed_partners(
    db: &DatabaseConnection,
    candidates: sea_orm::sea_query::SelectStatement,
) -> Result<HashMap<Uuid, i64>, ApiError> {
    use entity::{
        partnership::{self, PartnershipStatus},
        partnership_member::{self, Column as Member},
    };
    use sea_orm::sea_query::ExprTrait;
    let q = Query::select()
        .expr_as(col(partnership::Column::ActionId), "k")
        .expr_as(
            Expr::cust(format!(
                "COUNT(DISTINCT COALESCE({}, {}, {}))",
                qcol(Member::CommunityId),
                qcol(Member::OrganizationId),
                qcol(Member::DepartmentId)
            )),
            "n",
        )
        .from(partnership_member::Entity)
        .inner_join(
            partnership::Entity,
            loader::on(partnership_member::Relation::Partnership),
        )
        .inner_join(entity::action::Entity, loader::on(partnership::Relation::Action))
        .inner_join(entity::plan::Entity, loader::on(entity::action::Relation::Plan))
        .and_where(col(partnership::Column::Status).eq(PartnershipStatus::Active))
        // Others: the action's own community, a member of its partnership, is not.
        .cond_where(
            sea_orm::Condition::any()
                .add(col(Member::CommunityId).is_null())
                .add(col(Member::CommunityId).ne(col(entity::plan::Column::CommunityId))),
        )
        .and_where(col(partnership::Column::ActionId).in_subquery(candidates))
        .group_by_col(partnership::Column::ActionId.as_column_ref())
        .to_owned();
    let mut out = HashMap::new();
    for row in db.query_all(&q).await? {
        out.insert(row.try_get::<Uuid>("", "k")?, row.try_get::<i64>("", "n")?);
    }
    Ok(out)
}

async fn compute(db: &DatabaseConnection, access: &Access, c: Checked) -> Result<Priorities, ApiError> {
    use sea_orm::sea_query::ExprTrait;
    let settings = score::settings(db).await?;
    let span = window_for(c.year, today());
    let plans_of_year = plan::Entity::find()
        .select_only()
        .column(plan::Column::Id)
        .filter(plan::Column::Status.eq(plan::PlanStatus::Adopted))
        .filter(plan::Column::PeriodFrom.lte(c.year))
        .filter(plan::Column::PeriodTo.gte(c.year))
        .filter(access.plan_condition(col(plan::Column::Id)))
        .into_query();
    let candidates = action::Entity::find()
        .filter(action::Column::Status.is_in(OPEN))
        .filter(col(action::Column::PlanId).in_subquery(plans_of_year.clone()));
    let candidate_ids = candidates
        .clone()
        .select_only()
        .column(action::Column::Id)
        .into_query();
    let actions = candidates.all(db).await?;
    let plan_community: HashMap<Uuid, Uuid> = plan::Entity::find()
        .select_only()
        .column(plan::Column::Id)
        .column(plan::Column::CommunityId)
        .filter(col(plan::Column::Id).in_subquery(plans_of_year))
        .into_tuple::<(Uuid, Uuid)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let community_ids: Vec<Uuid> = {
        let set: HashSet<Uuid> = actions
            .iter()
            .filter_map(|a| plan_community.get(&a.plan_id).copied())
            .collect();
        set.into_iter().collect()
    };
    let figures = score::for_communities(db, access, &community_ids, span).await?;
    let totals: HashMap<Uuid, f64> = figures
        .iter()
        .map(|(id, f)| (*id, round2(settings.engagement.total(f))))
        .collect();
    // The most engaged community (ties: the smallest ID, so the answer is stable).
    let reference = totals
        .iter()
        .filter(|(_, t)| **t > 0.0)
        .max_by(|a, b| a.1.total_cmp(b.1).then_with(|| b.0.cmp(a.0)))
        .map(|(id, t)| EngagementReference {
            community_id: *id,
            total: *t,
        });
    let most = reference.as_ref().map_or(0.0, |r| r.total);
    let partners = committed_partners(db, candidate_ids.clone()).await?;
    let themed: Option<HashSet<Uuid>> = match &c.themes {
        Some(themes) => Some(
            entity::action_theme::Entity::find()
                .select_only()
                .column(entity::action_theme::Column::ActionId)
                .filter(entity::action_theme::Column::ThemeId.is_in(themes.iter().copied()))
                .filter(col(entity::action_theme::Column::ActionId).in_subquery(candidate_ids))
                .into_tuple::<Uuid>()
                .all(db)
                .await?
                .into_iter()
                .collect(),
        ),
        None => None,
    };

    // Scoring and sorting every candidate is CPU work (0.5 s at 68,000 actions): on the
    // blocking pool it holds up no other request's turn on the runtime, and a request past
    // its deadline is answered at the deadline.
    let weights = settings.priority;
    let (year, filter) = (c.year, Listed::of(c));
    let (entries, overall, by_community) = tokio::task::spawn_blocking(move || {
        rank(Candidates {
            actions,
            plan_community,
            themed,
            totals,
            most,
            partners,
            weights,
            filter,
        })
    })
    .await
    .map_err(ApiError::internal)?;
    let names: HashMap<Uuid, String> = community::Entity::find()
        .select_only()
        .column(community::Column::Id)
        .column(community::Column::Name)
        .filter(community::Column::Id.is_in(by_community.keys().copied()))
        .into_tuple::<(Uuid, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let mut by_community: Vec<CommunityBalance> = by_community
        .into_iter()
        .map(|(community_id, balance)| CommunityBalance {
            community_id,
            balance,
        })
        .collect();
    // By name as Danish sorts it (Æ, Ø, Å last).
    by_community.sort_by_cached_key(|b| {
        (
            names
                .get(&b.community_id)
                .map(|n| crate::collation::danish_key(n)),
            b.community_id,
        )
    });
    Ok(Priorities {
        year,
        span,
        entries,
        balance: PriorityBalance {
            overall,
            by_community,
        },
        reference,
    })
}

/// What [`Checked`] keeps of the filter for the ranking.
struct Listed {
    communities: Option<HashSet<Uuid>>,
    horizon: Option<action::Horizon>,
    seeking: Option<bool>,
}

impl Listed {
    fn of(c: Checked) -> Listed {
        Listed {
            communities: c.communities,
            horizon: c.horizon,
            seeking: c.seeking,
        }
    }
}

/// The candidates of a ranking and what scores them.
struct Candidates {
    actions: Vec<action::Model>,
    plan_community: HashMap<Uuid, Uuid>,
    themed: Option<HashSet<Uuid>>,
    totals: HashMap<Uuid, f64>,
    most: f64,
    partners: HashMap<Uuid, i64>,
    weights: PriorityWeights,
    filter: Listed,
}

/// The listed candidates scored, ranked, and their horizons counted (overall and by
/// community).
fn rank(mut input: Candidates) -> (Vec<PriorityEntry>, HorizonBalance, HashMap<Uuid, HorizonBalance>) {
    let actions = std::mem::take(&mut input.actions);
    let (f, most) = (&input.filter, input.most);
    let entries: Vec<PriorityEntry> = actions
        .into_iter()
        .filter_map(|a| {
            let community_id = *input.plan_community.get(&a.plan_id)?;
            let listed = f.communities.as_ref().is_none_or(|s| s.contains(&community_id))
                && input.themed.as_ref().is_none_or(|s| s.contains(&a.id))
                && f.horizon.is_none_or(|h| h == a.horizon)
                && f.seeking.is_none_or(|s| s == a.seeking_partners);
            if !listed {
                return None;
            }
            let total = input.totals.get(&community_id).copied().unwrap_or(0.0);
            let engagement = if most > 0.0 {
                round2(total / most * ENGAGEMENT_SCALE)
            } else {
                0.0
            };
            let partners = Ord::min(input.partners.get(&a.id).copied().unwrap_or(0), MAX_PARTNERS);
            let mut e = entry(a, community_id, engagement, partners, &input.weights);
            e.engagement_total = total;
            Some(e)
        })
        .collect();
    // Titles compared by their Danish sort keys, each made once: ties are common (actions
    // alike in score), and a comparison that made both keys anew took most of the time.
    let mut keyed: Vec<(Vec<u32>, PriorityEntry)> = entries
        .into_iter()
        .map(|e| (crate::collation::danish_key(&e.action.title), e))
        .collect();
    keyed.sort_by(|(kx, x), (ky, y)| {
        y.score
            .total_cmp(&x.score)
            .then_with(|| y.components[0].value.total_cmp(&x.components[0].value))
            .then_with(|| kx.cmp(ky))
            .then_with(|| x.action.id.cmp(&y.action.id))
    });
    let mut entries: Vec<PriorityEntry> = keyed.into_iter().map(|(_, e)| e).collect();
    let mut overall = HorizonBalance::default();
    let mut by_community: HashMap<Uuid, HorizonBalance> = HashMap::new();
    for (i, e) in entries.iter_mut().enumerate() {
        e.rank = i as i64 + 1;
        overall.add(e.action.horizon);
        by_community
            .entry(e.community_id)
            .or_default()
            .add(e.action.horizon);
    }
    (entries, overall, by_community)
}

fn entry(
    a: action::Model,
    community_id: Uuid,
    engagement: f64,
    partners: i64,
    w: &PriorityWeights,
) -> PriorityEntry {
    let potential_estimated = a.potential.is_none();
    let potential = f64::from(a.potential.unwrap_or(ASSUMED_POTENTIAL));
    let terms = [
        (PriorityComponentKey::Potential, potential, w.potential),
        (
            PriorityComponentKey::CommunityEngagement,
            engagement,
            w.engagement,
        ),
        (
            PriorityComponentKey::CommittedPartners,
            partners as f64,
            w.committed_partners,
        ),
        (
            PriorityComponentKey::SeekingPartners,
            if a.seeking_partners { 1.0 } else { 0.0 },
            w.seeking_partners,
        ),
    ];
    // The sum of the points as shown (each rounded), so a reader's sum matches the score.
    let score = round2(terms.iter().map(|(_, v, w)| round2(v * w)).sum());
    PriorityEntry {
        rank: 0,
        action: a,
        community_id,
        score,
        components: terms
            .iter()
            .map(|(key, value, weight)| PriorityComponent {
                key: *key,
                label: key.label().to_owned(),
                value: *value,
                weight: *weight,
                points: round2(value * weight),
            })
            .collect(),
        potential_estimated,
        engagement_total: 0.0,
    }
}

#[derive(Default)]
pub struct PriorityQuery;

// Staff-only answers are never cached; the hint keeps the merged root's (see `schema::Query`).
#[Object(cache_control(max_age = 60))]
impl PriorityQuery {
    /// The ranking of next year's candidate actions by potential and engagement, each score
    /// shown term by term, and the balance between long-term and here-and-now actions.
    /// `year` is the year being prioritised (1900–2200). Staff only.
    #[graphql(guard = "Require::Staff", visible = "visible_to_staff")]
    async fn priorities(
        &self,
        ctx: &Context<'_>,
        year: i32,
        filter: Option<PriorityFilter>,
    ) -> Result<Priorities> {
        let checked = check(year, filter)?;
        let db = ctx.data_unchecked::<DatabaseConnection>();
        Ok(compute(db, &loader::access(ctx), checked).await?)
    }
}

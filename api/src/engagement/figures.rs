//! `engagement(window)` on communities and plans: every component with its weight and
//! points, and the total, so a reader sees how the figure was made. The figures load through
//! the request's loaders, keyed by (community or plan, window): a list of communities with
//! their engagement costs a fixed number of statements.
use std::collections::HashMap;

use async_graphql::{Context, InputObject, Result, SimpleObject, dataloader::Loader};
use chrono::NaiveDate;
use uuid::Uuid;

use super::score::{self, Components, Span, Weights, round2};
use crate::{
    common::Date,
    error::{ApiError, LoadError},
    loader::Loaders,
};

pub use super::score::Key as EngagementComponentKey;

crate::labels::enum_labels!(EngagementComponentKey {
    AssociationsInvolved => "Foreninger og organisationer med i planarbejdet",
    Events => "Borgermøder og arrangementer",
    Participants => "Deltagere",
    EventOrganizations => "Foreninger og organisationer, der deltog i arrangementer",
    VolunteerHours => "Frivillige timer",
    CoFundingDkk => "Medfinansiering (kr.)",
    ActionUpdates => "Statusopdateringer",
    ActionsCompleted => "Gennemførte indsatser",
    ConsultationResponses => "Høringssvar",
});

/// The longest window engagement is measured over.
pub const MAX_WINDOW_YEARS: u32 = 5;

/// The dates engagement is measured between, both included. Both may be left out.
#[derive(InputObject, Default, Clone, Copy)]
pub struct EngagementWindowInput {
    /// First day; defaults to the day after `to` a year earlier (12 months).
    pub from: Option<Date>,
    /// Last day; defaults to today.
    pub to: Option<Date>,
}

/// Today in Denmark (see [`crate::common::today`]).
pub use crate::common::today;

impl EngagementWindowInput {
    /// The checked window: `from` not after `to`, at most five years, years 1900–2200.
    pub fn span(input: Option<Self>) -> Result<Span, ApiError> {
        use chrono::Datelike;
        let input = input.unwrap_or_default();
        let out_of_range = |name: &str, d: NaiveDate| {
            ApiError::bad_input(format!(
                "`window.{name}` must be between the years {} and {}, got {d}",
                crate::common::FIRST_YEAR,
                crate::common::LAST_YEAR
            ))
        };
        let in_range = |d: NaiveDate| crate::common::YEARS.contains(&d.year());
        // `to` first: the default of `from` is reckoned from it.
        let to = input.to.map_or_else(today, |d| d.0);
        if !in_range(to) {
            return Err(out_of_range("to", to));
        }
        let from = match input.from {
            Some(d) if !in_range(d.0) => return Err(out_of_range("from", d.0)),
            Some(d) => d.0,
            None => {
                let from = Span::year_ending(to).from;
                if !in_range(from) {
                    return Err(ApiError::bad_input(format!(
                        "`window.from` was left out, and its default (12 months before `window.to`) is {from}, before the year {}: give a `window.from`",
                        crate::common::FIRST_YEAR
                    )));
                }
                from
            }
        };
        if from > to {
            return Err(ApiError::bad_input(format!(
                "`window.from` ({from}) must not be after `window.to` ({to})"
            )));
        }
        let earliest = to
            .checked_sub_months(chrono::Months::new(12 * MAX_WINDOW_YEARS))
            .and_then(|d| d.succ_opt())
            .unwrap_or(to);
        if from < earliest {
            return Err(ApiError::bad_input(format!(
                "the window may be at most {MAX_WINDOW_YEARS} years long: `window.from` must not be before {earliest}"
            )));
        }
        Ok(Span { from, to })
    }
}

/// Dates between which figures were counted, both included.
#[derive(SimpleObject, Clone, Copy)]
pub struct EngagementWindow {
    pub from: Date,
    pub to: Date,
}

impl From<Span> for EngagementWindow {
    fn from(s: Span) -> Self {
        EngagementWindow {
            from: Date(s.from),
            to: Date(s.to),
        }
    }
}

/// One component of engagement: the figure, its weight, and the points it gives.
#[derive(SimpleObject, Clone)]
pub struct EngagementComponent {
    pub key: EngagementComponentKey,
    /// The component in Danish.
    pub label: String,
    /// The figure counted.
    pub value: i64,
    pub weight: f64,
    /// `value × weight`, rounded to two decimals.
    pub points: f64,
}

/// Local engagement, measured from what the system holds: each component with its weight,
/// and the total (the sum of the points).
#[derive(SimpleObject, Clone)]
pub struct Engagement {
    pub window: EngagementWindow,
    pub components: Vec<EngagementComponent>,
    /// The sum of the components' points (each rounded to two decimals as shown).
    pub total: f64,
}

impl Engagement {
    pub fn new(span: Span, c: &Components, w: &Weights) -> Engagement {
        Engagement {
            window: span.into(),
            components: c
                .values()
                .iter()
                .map(|(k, v)| EngagementComponent {
                    key: *k,
                    label: k.label().to_owned(),
                    value: *v,
                    weight: w.get(*k),
                    points: w.points(*k, *v),
                })
                .collect(),
            total: round2(w.total(c)),
        }
    }
}

/// What engagement is measured of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Of {
    Community,
    Plan,
}

/// One figure to load: a community's or a plan's engagement in a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EngagementKey {
    pub of: Of,
    pub id: Uuid,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

#[async_graphql::async_trait::async_trait]
impl Loader<EngagementKey> for Loaders {
    type Value = (Components, Weights);
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[EngagementKey],
    ) -> Result<HashMap<EngagementKey, (Components, Weights)>, LoadError> {
        let weights = score::weights(self.db()).await?;
        let mut groups: HashMap<(Of, NaiveDate, NaiveDate), Vec<Uuid>> = HashMap::new();
        for k in keys {
            groups.entry((k.of, k.from, k.to)).or_default().push(k.id);
        }
        let mut out = HashMap::new();
        for ((of, from, to), ids) in groups {
            let span = Span { from, to };
            let figures = match of {
                Of::Community => score::for_communities(self.db(), self.access(), &ids, span).await?,
                Of::Plan => score::for_plans(self.db(), self.access(), &ids, span).await?,
            };
            for (id, c) in figures {
                out.insert(EngagementKey { of, id, from, to }, (c, weights));
            }
        }
        Ok(out)
    }
}

/// The engagement field of a community or a plan.
pub async fn engagement(
    ctx: &Context<'_>,
    of: Of,
    id: Uuid,
    window: Option<EngagementWindowInput>,
) -> Result<Engagement> {
    let span = EngagementWindowInput::span(window)?;
    let key = EngagementKey {
        of,
        id,
        from: span.from,
        to: span.to,
    };
    let (c, w) = ctx
        .data_unchecked::<crate::loader::RequestLoaders>()
        .load_one(key)
        .await?
        .unwrap_or_default();
    Ok(Engagement::new(span, &c, &w))
}

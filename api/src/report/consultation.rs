//! The summary of a plan's consultation (høringssvar), for the committee, the community and
//! the public, served as the annual report is:
//! - `GET /reports/consultation/{planId}`: a printable HTML page (Danish): the consultation
//!   period, the responses and replies counted per subject (the plan as a whole, then each of
//!   its actions), and the published responses with their replies;
//! - `GET /reports/consultation/{planId}.csv`: the counts, one row per subject (columns in
//!   [`HEADER`]).
//!
//! `planId` is the plan's global ID (`Plan.id`). The same admission and access as `/graphql`
//! and the annual report: a plan the caller may not see (a draft of another community) is the
//! same 404 as an unknown ID. Everyone sees the published responses counted and listed; the
//! plan's moderators (staff and the editors of its community) also see every response counted,
//! by status (pending, published, rejected, hidden). The texts listed are the published ones
//! for everyone. No email address is ever in a summary, and a name only where its sender
//! consented to show it.
use std::collections::HashMap;

use chrono::NaiveDate;
use entity::{
    action, community,
    consultation_response::{self as response, ResponseStatus},
    plan,
};
use maud::{Markup, html};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    sea_query::{Expr, Order},
};
use uuid::Uuid;

use super::html::{date, day, document, int, paragraphs};
use crate::{access::Access, auth::Viewer, plan::PlanStatus, relay::NodeType};

/// What a summary shows.
pub struct Summary {
    pub plan: plan::Model,
    pub community: community::Model,
    /// The plan's actions, by title (as `Plan.actions`).
    pub actions: Vec<action::Model>,
    /// Whether the caller moderates the plan's responses: counts of every status.
    pub moderator: bool,
    /// The responses the caller may see, oldest first (the published ones, and for a
    /// moderator every one).
    pub responses: Vec<response::Model>,
    pub today: NaiveDate,
}

/// The responses to one subject (the plan as a whole, or one action), counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// The responses counted: the published ones, for a moderator every one.
    pub responses: i64,
    /// Of those, the ones with a reply.
    pub replied: i64,
    pub pending: i64,
    pub published: i64,
    pub rejected: i64,
    pub hidden: i64,
}

impl Counts {
    fn add(&mut self, r: &response::Model) {
        self.responses += 1;
        if r.reply.is_some() {
            self.replied += 1;
        }
        let n = match r.status {
            ResponseStatus::Pending => &mut self.pending,
            ResponseStatus::Published => &mut self.published,
            ResponseStatus::Rejected => &mut self.rejected,
            ResponseStatus::Hidden => &mut self.hidden,
        };
        *n += 1;
    }
}

/// What the plan as a whole is called where the subjects are listed.
const WHOLE_PLAN: &str = "Planen som helhed";

impl Summary {
    /// The counts per subject: the plan as a whole first, then each action (by title), then
    /// the total.
    pub fn counts(&self) -> (Vec<(Option<&action::Model>, Counts)>, Counts) {
        let mut by_action: HashMap<Option<Uuid>, Counts> = HashMap::new();
        let mut total = Counts::default();
        for r in &self.responses {
            by_action.entry(r.action_id).or_default().add(r);
            total.add(r);
        }
        let mut rows = vec![(None, by_action.get(&None).copied().unwrap_or_default())];
        for a in &self.actions {
            rows.push((Some(a), by_action.get(&Some(a.id)).copied().unwrap_or_default()));
        }
        (rows, total)
    }

    fn published(&self) -> impl Iterator<Item = &response::Model> {
        self.responses
            .iter()
            .filter(|r| r.status == ResponseStatus::Published)
    }

    fn action_title(&self, id: Option<Uuid>) -> &str {
        id.and_then(|id| self.actions.iter().find(|a| a.id == id))
            .map_or(WHOLE_PLAN, |a| a.title.as_str())
    }
}

/// The summary of the plan `id`, if the caller may see the plan.
pub async fn load<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    access: &Access,
    id: Uuid,
) -> Result<Option<Summary>, DbErr> {
    let Some(plan) = plan::Entity::find_by_id(id)
        .filter(access.plan_condition(Expr::col((plan::Entity, plan::Column::Id))))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let Some(community) = community::Entity::find_by_id(plan.community_id).one(db).await? else {
        return Ok(None);
    };
    let actions = action::Entity::find()
        .filter(action::Column::PlanId.eq(plan.id))
        .order_by(
            Expr::cust(crate::loader::sort_col(action::Column::Title)),
            Order::Asc,
        )
        .order_by_asc(action::Column::Id)
        .all(db)
        .await?;
    let responses = response::Entity::find()
        .filter(access.response_condition())
        .filter(response::Column::PlanId.eq(plan.id))
        .order_by_asc(response::Column::CreatedAt)
        .order_by_asc(response::Column::Id)
        .all(db)
        .await?;
    Ok(Some(Summary {
        moderator: viewer.may_edit_community(plan.community_id),
        plan,
        community,
        actions,
        responses,
        today: crate::common::today(),
    }))
}

/// The CSV's columns: one row per subject (the plan as a whole, then each action by title).
/// `responses` and `replied` count the published responses (for a moderator every one); the
/// columns by status are filled for moderators only, empty for everyone else.
pub const HEADER: [&str; 11] = [
    "plan",
    "community",
    "community_slug",
    "subject",
    "action_id",
    "responses",
    "replied",
    "pending",
    "published",
    "rejected",
    "hidden",
];

pub fn csv(summary: &Summary) -> Result<Vec<u8>, csv::Error> {
    use super::csv::{BOM, text};
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(BOM.to_vec());
    w.write_record(HEADER)?;
    let (rows, _) = summary.counts();
    for (action, c) in rows {
        let by_status = |n: i64| {
            if summary.moderator {
                n.to_string()
            } else {
                String::new()
            }
        };
        w.write_record([
            text(&summary.plan.title),
            text(&summary.community.name),
            text(&summary.community.slug),
            text(action.map_or(WHOLE_PLAN, |a| a.title.as_str())),
            action
                .map(|a| crate::relay::encode(NodeType::Action, a.id).to_string())
                .unwrap_or_default(),
            c.responses.to_string(),
            c.replied.to_string(),
            by_status(c.pending),
            by_status(c.published),
            by_status(c.rejected),
            by_status(c.hidden),
        ])?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

/// The page's own rules, after the reports' shared ones (`html::BASE_STYLE`).
const STYLE: &str = r#"
.internal { background: #fff3cd; border: 2px solid #e0b100; padding: .5rem .8rem; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
p.text { white-space: pre-line; }
.muted { color: #666; }
article.response { border-top: 1px solid #ddd; padding: .4rem 0; break-inside: avoid; }
.reply { margin-left: 1.5rem; border-left: 3px solid #00897b; padding-left: .8rem; }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; } .internal { border: 2px solid #000; } }
"#;

fn period(s: &Summary) -> String {
    match (s.plan.consultation_opens_on, s.plan.consultation_closes_on) {
        // One day is written once.
        (Some(o), Some(c)) if o == c => day(o),
        (Some(o), Some(c)) => format!("{} – {}", day(o), day(c)),
        _ => "ikke fastsat".to_owned(),
    }
}

fn state(s: &Summary) -> &'static str {
    let p = &s.plan;
    if crate::consultation::is_open(
        p.status,
        p.consultation_opens_on,
        p.consultation_closes_on,
        s.today,
    ) {
        "Høringen er åben."
    } else if p.status == entity::plan::PlanStatus::Consultation
        && p.consultation_opens_on.is_some_and(|o| s.today < o)
    {
        "Høringen er ikke begyndt endnu."
    } else if p.consultation_opens_on.is_some() || !s.responses.is_empty() {
        "Høringen er afsluttet."
    } else {
        "Planen har ikke været i høring."
    }
}

fn counts_table(s: &Summary) -> Markup {
    let (rows, total) = s.counts();
    let row = |name: &str, c: &Counts, strong: bool| {
        html! {
            tr {
                @if strong { th { (name) } } @else { td { (name) } }
                td.n { (int(c.responses)) }
                td.n { (int(c.replied)) }
                @if s.moderator {
                    td.n { (int(c.pending)) }
                    td.n { (int(c.published)) }
                    td.n { (int(c.rejected)) }
                    td.n { (int(c.hidden)) }
                }
            }
        }
    };
    html! {
        table #counts {
            thead {
                tr {
                    th { "Emne" }
                    th.n { "Høringssvar" }
                    th.n { "Besvaret" }
                    @if s.moderator {
                        @for st in [ResponseStatus::Pending, ResponseStatus::Published, ResponseStatus::Rejected, ResponseStatus::Hidden] {
                            th.n { (crate::consultation::ConsultationResponseStatus::from(st).label()) }
                        }
                    }
                }
            }
            tbody {
                @for (action, c) in &rows {
                    (row(action.map_or(WHOLE_PLAN, |a| a.title.as_str()), c, false))
                }
                (row("I alt", &total, true))
            }
        }
    }
}

fn response(s: &Summary, r: &response::Model) -> Markup {
    // The name only with its sender's consent; the email never.
    let name = r.name.as_deref().filter(|_| r.consent_to_show_name);
    let from: Vec<&str> = name.into_iter().chain(r.association.as_deref()).collect();
    html! {
        article.response {
            p.muted {
                "Modtaget " (date(r.created_at)) " · Om: " (s.action_title(r.action_id))
                @if !from.is_empty() { " · Fra: " (from.join(", ")) }
            }
            @for paragraph in paragraphs(&r.body) { p.text { (paragraph) } }
            @if let Some(reply) = &r.reply {
                div.reply {
                    p.muted { "Svar" @if let Some(at) = r.replied_at { " " (date(at)) } }
                    @for paragraph in paragraphs(reply) { p.text { (paragraph) } }
                }
            }
        }
    }
}

pub fn html(s: &Summary) -> String {
    let title = format!("Høringssvar – {}", s.plan.title);
    let published: Vec<&response::Model> = s.published().collect();
    let body = html! {
        header {
            h1 { "Høringssvar" }
            p { strong { (s.plan.title) } " · " (s.community.name) " · " (PlanStatus::from(s.plan.status).label()) }
            p #period { "Høringsperiode: " (period(s)) ". " (state(s)) }
            @if s.moderator {
                p.internal #internal { "Intern udgave til moderatorer: tallene omfatter alle modtagne høringssvar, også dem, der afventer godkendelse, er afvist eller er skjult. Kun de offentliggjorte høringssvar gengives nedenfor." }
            } @else {
                p.muted { "Oversigten viser de offentliggjorte høringssvar." }
            }
            p.muted { "Opgjort " (day(s.today)) "." }
        }
        section #pr-emne {
            h2 { "Høringssvar pr. emne" }
            (counts_table(s))
        }
        section #svar {
            h2 { "De offentliggjorte høringssvar" }
            @if published.is_empty() {
                p.muted { "Der er ingen offentliggjorte høringssvar." }
            }
            @for r in &published { (response(s, r)) }
        }
    };
    document(&title, STYLE, body)
}

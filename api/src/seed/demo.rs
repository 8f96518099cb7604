//! The shape of `demo.json` and how it becomes rows. References between records are by slug
//! or by `key`, resolved here.
use chrono::NaiveDate;
use entity::*;
use sea_orm::{ConnectionTrait, Set};
use serde::Deserialize;

use super::{Ids, SeedError, now, put_many};
use crate::about::DEMO_NOTICE_KEY;
use crate::links::Link;
use crate::write::new_row;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Demo {
    pub notice: String,
    pub themes: Vec<Named>,
    pub departments: Vec<Named>,
    pub communities: Vec<Community>,
    pub organizations: Vec<Organization>,
    pub contacts: Vec<Contact>,
    pub plans: Vec<Plan>,
    pub engagement_events: Vec<Event>,
    pub partnerships: Vec<Partnership>,
    pub ideas: Vec<Idea>,
    pub exchanges: Vec<Exchange>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Named {
    pub slug: String,
    pub name: String,
    pub description: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Community {
    pub slug: String,
    pub name: String,
    pub description: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub status: community::CommunityStatus,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Organization {
    pub slug: String,
    pub name: String,
    pub kind: organization::OrganizationKind,
    pub description: String,
    #[serde(default)]
    pub website: Option<String>,
    #[serde(default)]
    pub community: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Contact {
    pub name: String,
    pub title: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub is_public: bool,
    #[serde(default)]
    pub community: Option<String>,
    #[serde(default)]
    pub organization: Option<String>,
    #[serde(default)]
    pub department: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Plan {
    pub key: String,
    pub community: String,
    pub title: String,
    pub summary: String,
    pub vision: String,
    pub period_from: i32,
    pub period_to: i32,
    pub status: plan::PlanStatus,
    pub adopted_on: Option<NaiveDate>,
    pub themes: Vec<String>,
    pub involvement: Vec<Involvement>,
    pub actions: Vec<Action>,
    /// A plan in consultation: its period around the day the demo is loaded, and responses.
    #[serde(default)]
    pub consultation: Option<Consultation>,
}

/// A consultation's period, relative to the day the demo is loaded (so it is open then), and
/// the responses received so far.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Consultation {
    pub opened_days_ago: u64,
    pub closes_in_days: u64,
    pub responses: Vec<Response>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Response {
    /// An action of the plan, by key.
    #[serde(default)]
    pub action: Option<String>,
    pub body: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub association: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub consent_to_show_name: bool,
    pub status: consultation_response::ResponseStatus,
    #[serde(default)]
    pub rejection_reason: Option<String>,
    #[serde(default)]
    pub reply: Option<String>,
    /// When it came, in days before the demo is loaded (within the period).
    pub days_ago: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Involvement {
    pub organization: String,
    pub role: plan_involvement::InvolvementRole,
    pub description: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Action {
    pub key: String,
    pub title: String,
    pub description: String,
    pub horizon: action::Horizon,
    pub status: action::ActionStatus,
    pub progress: i32,
    pub potential: Option<i32>,
    pub start_on: Option<NaiveDate>,
    pub due_on: Option<NaiveDate>,
    pub budget_estimate: Option<i64>,
    pub lead_organization: Option<String>,
    pub seeking_partners: bool,
    pub partner_needs: Option<String>,
    pub themes: Vec<String>,
    pub departments: Vec<ActionDepartment>,
    pub updates: Vec<Update>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActionDepartment {
    pub department: String,
    pub role: action_department::DepartmentRole,
    pub contribution: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Update {
    pub posted_on: NaiveDate,
    pub body: String,
    pub progress: Option<i32>,
    pub author_name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Event {
    pub community: String,
    pub plan: Option<String>,
    pub kind: engagement_event::EventKind,
    pub title: String,
    pub description: String,
    pub occurred_on: NaiveDate,
    pub participants: i32,
    pub organizations: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Partnership {
    pub title: String,
    pub description: String,
    pub action: Option<String>,
    pub plan: Option<String>,
    pub status: partnership::PartnershipStatus,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
    pub members: Vec<Member>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Member {
    #[serde(default)]
    pub community: Option<String>,
    #[serde(default)]
    pub organization: Option<String>,
    #[serde(default)]
    pub department: Option<String>,
    pub role: partnership_member::MemberRole,
    pub contribution_kind: partnership_member::ContributionKind,
    pub contribution: String,
    pub amount_dkk: Option<i64>,
    pub volunteer_hours: Option<i32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Idea {
    pub key: String,
    pub title: String,
    pub description: String,
    pub community: Option<String>,
    pub organization: Option<String>,
    pub themes: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Exchange {
    pub title: String,
    pub idea: Option<String>,
    pub kind: idea_exchange::ExchangeKind,
    pub initiator: String,
    pub participants: Vec<String>,
    pub occurred_on: Option<NaiveDate>,
    pub outcome: String,
    pub actions: Vec<String>,
}

const THEME: &str = "theme";
const DEPARTMENT: &str = "department";
const COMMUNITY: &str = "community";
const ORGANIZATION: &str = "organization";
const PLAN: &str = "plan";
const ACTION: &str = "action";
const IDEA: &str = "idea";

/// Inserts the whole demo; the caller wraps it in a transaction.
pub async fn insert<C: ConnectionTrait>(demo: &Demo, db: &C) -> Result<(), SeedError> {
    let t = now();
    let mut ids = Ids::default();

    let mut rows = Vec::new();
    for n in &demo.themes {
        rows.push(theme::ActiveModel {
            id: Set(ids.add(THEME, &n.slug)),
            slug: Set(n.slug.clone()),
            name: Set(n.name.clone()),
            description: Set(n.description.clone()),
            ..new_row(t)
        });
    }
    put_many(rows, db).await?;

    let mut rows = Vec::new();
    for n in &demo.departments {
        rows.push(department::ActiveModel {
            id: Set(ids.add(DEPARTMENT, &n.slug)),
            slug: Set(n.slug.clone()),
            name: Set(n.name.clone()),
            description: Set(n.description.clone()),
            ..new_row(t)
        });
    }
    put_many(rows, db).await?;

    let mut rows = Vec::new();
    for c in &demo.communities {
        rows.push(community::ActiveModel {
            id: Set(ids.add(COMMUNITY, &c.slug)),
            slug: Set(c.slug.clone()),
            name: Set(c.name.clone()),
            description: Set(c.description.clone()),
            latitude: Set(c.latitude),
            longitude: Set(c.longitude),
            status: Set(c.status),
            ..new_row(t)
        });
    }
    put_many(rows, db).await?;

    let mut rows = Vec::new();
    for o in &demo.organizations {
        rows.push(organization::ActiveModel {
            id: Set(ids.add(ORGANIZATION, &o.slug)),
            slug: Set(o.slug.clone()),
            name: Set(o.name.clone()),
            kind: Set(o.kind),
            description: Set(o.description.clone()),
            website: Set(o.website.clone()),
            community_id: Set(ids.opt(COMMUNITY, &o.community)?),
            ..new_row(t)
        });
    }
    put_many(rows, db).await?;

    let mut rows = Vec::new();
    for c in &demo.contacts {
        rows.push(contact::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            name: Set(c.name.clone()),
            title: Set(c.title.clone()),
            email: Set(c.email.clone()),
            phone: Set(c.phone.clone()),
            is_public: Set(c.is_public),
            community_id: Set(ids.opt(COMMUNITY, &c.community)?),
            organization_id: Set(ids.opt(ORGANIZATION, &c.organization)?),
            department_id: Set(ids.opt(DEPARTMENT, &c.department)?),
            ..new_row(t)
        });
    }
    put_many(rows, db).await?;

    insert_plans(demo, &mut ids, db).await?;

    let mut rows = Vec::new();
    let mut links = Vec::new();
    for e in &demo.engagement_events {
        let id = uuid::Uuid::now_v7();
        rows.push(engagement_event::ActiveModel {
            id: Set(id),
            community_id: Set(ids.get(COMMUNITY, &e.community)?),
            plan_id: Set(ids.opt(PLAN, &e.plan)?),
            kind: Set(e.kind),
            title: Set(e.title.clone()),
            description: Set(e.description.clone()),
            occurred_on: Set(e.occurred_on),
            participants: Set(e.participants),
            ..new_row(t)
        });
        for o in &e.organizations {
            links.push(engagement_event_organization::Entity::row(
                id,
                ids.get(ORGANIZATION, o)?,
            ));
        }
    }
    put_many(rows, db).await?;
    put_many(links, db).await?;

    let mut rows = Vec::new();
    let mut members = Vec::new();
    for p in &demo.partnerships {
        let id = uuid::Uuid::now_v7();
        rows.push(partnership::ActiveModel {
            id: Set(id),
            title: Set(p.title.clone()),
            description: Set(p.description.clone()),
            action_id: Set(ids.opt(ACTION, &p.action)?),
            plan_id: Set(ids.opt(PLAN, &p.plan)?),
            status: Set(p.status),
            starts_on: Set(p.starts_on),
            ends_on: Set(p.ends_on),
            ..new_row(t)
        });
        for m in &p.members {
            members.push(partnership_member::ActiveModel {
                id: Set(uuid::Uuid::now_v7()),
                partnership_id: Set(id),
                community_id: Set(ids.opt(COMMUNITY, &m.community)?),
                organization_id: Set(ids.opt(ORGANIZATION, &m.organization)?),
                department_id: Set(ids.opt(DEPARTMENT, &m.department)?),
                role: Set(m.role),
                contribution_kind: Set(m.contribution_kind),
                contribution: Set(m.contribution.clone()),
                amount_dkk: Set(m.amount_dkk),
                volunteer_hours: Set(m.volunteer_hours),
                ..new_row(t)
            });
        }
    }
    put_many(rows, db).await?;
    put_many(members, db).await?;

    let mut rows = Vec::new();
    let mut themes = Vec::new();
    for i in &demo.ideas {
        let id = ids.add(IDEA, &i.key);
        rows.push(idea::ActiveModel {
            id: Set(id),
            title: Set(i.title.clone()),
            description: Set(i.description.clone()),
            community_id: Set(ids.opt(COMMUNITY, &i.community)?),
            organization_id: Set(ids.opt(ORGANIZATION, &i.organization)?),
            ..new_row(t)
        });
        for th in &i.themes {
            themes.push(idea_theme::Entity::row(id, ids.get(THEME, th)?));
        }
    }
    put_many(rows, db).await?;
    put_many(themes, db).await?;

    let mut rows = Vec::new();
    let mut participants = Vec::new();
    let mut actions = Vec::new();
    for x in &demo.exchanges {
        let id = uuid::Uuid::now_v7();
        rows.push(idea_exchange::ActiveModel {
            id: Set(id),
            idea_id: Set(ids.opt(IDEA, &x.idea)?),
            title: Set(x.title.clone()),
            kind: Set(x.kind),
            initiator_community_id: Set(ids.get(COMMUNITY, &x.initiator)?),
            occurred_on: Set(x.occurred_on),
            outcome: Set(x.outcome.clone()),
            ..new_row(t)
        });
        for c in &x.participants {
            participants.push(idea_exchange_participant::Entity::row(id, ids.get(COMMUNITY, c)?));
        }
        for a in &x.actions {
            actions.push(idea_exchange_action::Entity::row(id, ids.get(ACTION, a)?));
        }
    }
    put_many(rows, db).await?;
    put_many(participants, db).await?;
    put_many(actions, db).await?;

    put_many(
        vec![app_meta::ActiveModel {
            key: Set(DEMO_NOTICE_KEY.to_owned()),
            value: Set(demo.notice.clone()),
        }],
        db,
    )
    .await?;
    Ok(())
}

async fn insert_plans<C: ConnectionTrait>(demo: &Demo, ids: &mut Ids, db: &C) -> Result<(), SeedError> {
    let t = now();
    let (mut plans, mut plan_themes, mut involvement) = (Vec::new(), Vec::new(), Vec::new());
    let (mut actions, mut action_themes, mut departments, mut updates) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut responses = Vec::new();
    let today = crate::common::today();
    for p in &demo.plans {
        let plan_id = ids.add(PLAN, &p.key);
        let period = p.consultation.as_ref().map(|c| {
            (
                today - chrono::Days::new(c.opened_days_ago),
                today + chrono::Days::new(c.closes_in_days),
            )
        });
        plans.push(plan::ActiveModel {
            id: Set(plan_id),
            community_id: Set(ids.get(COMMUNITY, &p.community)?),
            title: Set(p.title.clone()),
            summary: Set(p.summary.clone()),
            vision: Set(p.vision.clone()),
            period_from: Set(p.period_from),
            period_to: Set(p.period_to),
            status: Set(p.status),
            adopted_on: Set(p.adopted_on),
            consultation_opens_on: Set(period.map(|p| p.0)),
            consultation_closes_on: Set(period.map(|p| p.1)),
            ..new_row(t)
        });
        for th in &p.themes {
            plan_themes.push(plan_theme::Entity::row(plan_id, ids.get(THEME, th)?));
        }
        for i in &p.involvement {
            involvement.push(plan_involvement::ActiveModel {
                id: Set(uuid::Uuid::now_v7()),
                plan_id: Set(plan_id),
                organization_id: Set(ids.get(ORGANIZATION, &i.organization)?),
                role: Set(i.role),
                description: Set(i.description.clone()),
                ..new_row(t)
            });
        }
        for a in &p.actions {
            let action_id = ids.add(ACTION, &a.key);
            actions.push(action::ActiveModel {
                id: Set(action_id),
                plan_id: Set(plan_id),
                title: Set(a.title.clone()),
                description: Set(a.description.clone()),
                horizon: Set(a.horizon),
                status: Set(a.status),
                progress: Set(a.progress),
                potential: Set(a.potential),
                start_on: Set(a.start_on),
                due_on: Set(a.due_on),
                budget_estimate: Set(a.budget_estimate),
                lead_organization_id: Set(ids.opt(ORGANIZATION, &a.lead_organization)?),
                seeking_partners: Set(a.seeking_partners),
                partner_needs: Set(a.partner_needs.clone()),
                // A completed action was completed by its due date (and not after today).
                completed_on: Set((a.status == action::ActionStatus::Completed)
                    .then(|| a.due_on.unwrap_or(t.date_naive()).min(t.date_naive()))),
                ..new_row(t)
            });
            for th in &a.themes {
                action_themes.push(action_theme::Entity::row(action_id, ids.get(THEME, th)?));
            }
            for d in &a.departments {
                departments.push(action_department::ActiveModel {
                    id: Set(uuid::Uuid::now_v7()),
                    action_id: Set(action_id),
                    department_id: Set(ids.get(DEPARTMENT, &d.department)?),
                    role: Set(d.role),
                    contribution: Set(d.contribution.clone()),
                    ..new_row(t)
                });
            }
            for u in &a.updates {
                updates.push(action_update::ActiveModel {
                    id: Set(uuid::Uuid::now_v7()),
                    action_id: Set(action_id),
                    body: Set(u.body.clone()),
                    progress: Set(u.progress),
                    author_name: Set(u.author_name.clone()),
                    posted_on: Set(u.posted_on),
                    ..new_row(t)
                });
            }
        }
    }
    for p in &demo.plans {
        for r in p.consultation.iter().flat_map(|c| &c.responses) {
            let came = t - chrono::Days::new(r.days_ago);
            let status = r.status;
            // Answered the day after it came (or the same day, if it came today).
            let replied = r
                .reply
                .as_ref()
                .map(|_| came + chrono::Days::new(r.days_ago.min(1)));
            let personal = r.name.is_some() || r.association.is_some() || r.email.is_some();
            responses.push(consultation_response::ActiveModel {
                id: Set(uuid::Uuid::now_v7()),
                plan_id: Set(ids.get(PLAN, &p.key)?),
                action_id: Set(ids.opt(ACTION, &r.action)?),
                body: Set(r.body.clone()),
                name: Set(r.name.clone()),
                association: Set(r.association.clone()),
                email: Set(r.email.clone()),
                consent_to_store: Set(personal),
                consent_to_show_name: Set(r.consent_to_show_name),
                status: Set(status),
                rejection_reason: Set(r.rejection_reason.clone()),
                reply: Set(r.reply.clone()),
                replied_at: Set(replied),
                client_fingerprint: Set(None),
                body_hash: Set(crate::consultation::mutation::body_hash(&r.body)),
                created_at: Set(came),
                updated_at: Set(replied.unwrap_or(came)),
                version: Set(if status == consultation_response::ResponseStatus::Pending {
                    1
                } else {
                    2
                }),
            });
        }
    }
    put_many(plans, db).await?;
    put_many(plan_themes, db).await?;
    put_many(involvement, db).await?;
    put_many(actions, db).await?;
    put_many(action_themes, db).await?;
    put_many(departments, db).await?;
    put_many(updates, db).await?;
    put_many(responses, db).await?;
    Ok(())
}

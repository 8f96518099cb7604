//! Rows for tests, written straight to the database (the write API comes later). Each helper
//! returns the new row's UUID; `programme` builds a whole programme of a given size.
use chrono::{NaiveDate, Utc};
use entity::*;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, Set,
    sea_query::{self, ExprTrait},
};
use uuid::Uuid;

pub use entity::{
    action::{ActionStatus, Horizon},
    action_department::DepartmentRole,
    consultation_response::ResponseStatus,
    organization::OrganizationKind,
    partnership::PartnershipStatus,
    partnership_member::{ContributionKind, MemberRole},
    plan::PlanStatus,
};

pub struct Fixture<'a> {
    pub db: &'a DatabaseConnection,
}

pub enum Party {
    Community(Uuid),
    Organization(Uuid),
    Department(Uuid),
}

fn now() -> chrono::DateTime<Utc> {
    Utc::now()
}

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

/// Today in Denmark, as the API counts it (`Europe/Copenhagen`, whatever the machine's zone).
pub fn danish_today() -> NaiveDate {
    Utc::now()
        .with_timezone(&chrono_tz::Europe::Copenhagen)
        .date_naive()
}

impl Fixture<'_> {
    pub fn new(db: &DatabaseConnection) -> Fixture<'_> {
        Fixture { db }
    }

    pub async fn community(&self, slug: &str, name: &str) -> Uuid {
        let id = Uuid::now_v7();
        community::ActiveModel {
            id: Set(id),
            slug: Set(slug.into()),
            name: Set(name.into()),
            description: Set(format!("Om {name}.")),
            latitude: Set(Some(57.1)),
            longitude: Set(Some(9.6)),
            status: Set(community::CommunityStatus::Active),
            created_at: Set(now()),
            updated_at: Set(now()),
            version: Set(1),
        }
        .insert(self.db)
        .await
        .expect("insert community");
        id
    }

    pub async fn theme(&self, slug: &str, name: &str) -> Uuid {
        let id = Uuid::now_v7();
        theme::ActiveModel {
            id: Set(id),
            slug: Set(slug.into()),
            name: Set(name.into()),
            description: Set(String::new()),
            created_at: Set(now()),
            updated_at: Set(now()),
            version: Set(1),
        }
        .insert(self.db)
        .await
        .expect("insert theme");
        id
    }

    pub async fn department(&self, slug: &str, name: &str) -> Uuid {
        let id = Uuid::now_v7();
        department::ActiveModel {
            id: Set(id),
            slug: Set(slug.into()),
            name: Set(name.into()),
            description: Set(String::new()),
            created_at: Set(now()),
            updated_at: Set(now()),
            version: Set(1),
        }
        .insert(self.db)
        .await
        .expect("insert department");
        id
    }

    /// The foundation the demo API key belongs to (`seed::accounts::load_if_none` creates the
    /// key only when a foundation exists).
    pub async fn demo_foundation(&self) -> Uuid {
        self.organization(
            "nordkystens-naturfond",
            "Nordkystens Naturfond",
            OrganizationKind::Foundation,
            None,
        )
        .await
    }

    pub async fn organization(
        &self,
        slug: &str,
        name: &str,
        kind: OrganizationKind,
        community: Option<Uuid>,
    ) -> Uuid {
        let id = Uuid::now_v7();
        organization::ActiveModel {
            id: Set(id),
            slug: Set(slug.into()),
            name: Set(name.into()),
            kind: Set(kind),
            description: Set(String::new()),
            website: Set(None),
            community_id: Set(community),
            created_at: Set(now()),
            updated_at: Set(now()),
            version: Set(1),
        }
        .insert(self.db)
        .await
        .expect("insert organization");
        id
    }

    pub async fn contact(&self, name: &str, is_public: bool, community: Option<Uuid>) -> Uuid {
        let id = Uuid::now_v7();
        contact::ActiveModel {
            id: Set(id),
            name: Set(name.into()),
            title: Set(Some("Formand".into())),
            email: Set(Some(format!(
                "{}@eksempel.dk",
                name.to_lowercase().replace(' ', ".")
            ))),
            phone: Set(Some("+45 11 22 33 44".into())),
            is_public: Set(is_public),
            community_id: Set(community),
            organization_id: Set(None),
            department_id: Set(None),
            created_at: Set(now()),
            updated_at: Set(now()),
            version: Set(1),
        }
        .insert(self.db)
        .await
        .expect("insert contact");
        id
    }

    pub async fn plan(&self, community: Uuid, title: &str, status: PlanStatus, from: i32, to: i32) -> Uuid {
        let id = Uuid::now_v7();
        plan::ActiveModel {
            id: Set(id),
            community_id: Set(community),
            title: Set(title.into()),
            summary: Set(String::new()),
            vision: Set(format!("Visionen for {title}")),
            period_from: Set(from),
            period_to: Set(to),
            status: Set(status),
            adopted_on: Set(
                matches!(status, PlanStatus::Adopted | PlanStatus::Archived).then(|| date(from, 3, 1))
            ),
            // A plan in consultation is open: from a week ago for four weeks.
            consultation_opens_on: Set(
                (status == PlanStatus::Consultation).then(|| danish_today() - chrono::Days::new(7))
            ),
            consultation_closes_on: Set(
                (status == PlanStatus::Consultation).then(|| danish_today() + chrono::Days::new(21))
            ),
            created_at: Set(now()),
            updated_at: Set(now()),
            version: Set(1),
            ..Default::default()
        }
        .insert(self.db)
        .await
        .expect("insert plan");
        id
    }

    /// A response to a plan in consultation (or one of its actions), with a name, an email
    /// and consent to store them (not to show the name).
    pub async fn response(
        &self,
        plan: Uuid,
        action: Option<Uuid>,
        body: &str,
        status: consultation_response::ResponseStatus,
    ) -> Uuid {
        use consultation_response::ResponseStatus;
        let id = Uuid::now_v7();
        consultation_response::ActiveModel {
            id: Set(id),
            plan_id: Set(plan),
            action_id: Set(action),
            body: Set(body.into()),
            name: Set(Some(format!("Afsender af {body}"))),
            association: Set(None),
            email: Set(Some(format!("afsender.{}@eksempel.dk", id.simple()))),
            consent_to_store: Set(true),
            consent_to_show_name: Set(false),
            status: Set(status),
            rejection_reason: Set((status == ResponseStatus::Rejected).then(|| "Uden for emnet".into())),
            reply: Set(None),
            replied_at: Set(None),
            client_fingerprint: Set(None),
            body_hash: Set(String::new()),
            created_at: Set(now()),
            updated_at: Set(now()),
            version: Set(1),
        }
        .insert(self.db)
        .await
        .expect("insert consultation response");
        id
    }

    /// An action's row with plain defaults, for a test to adjust before [`Fixture::insert_action`].
    pub fn action_model(&self, plan: Uuid, title: &str) -> action::ActiveModel {
        action::ActiveModel {
            id: Set(Uuid::now_v7()),
            plan_id: Set(plan),
            title: Set(title.into()),
            description: Set(String::new()),
            horizon: Set(Horizon::HereAndNow),
            status: Set(ActionStatus::Planned),
            progress: Set(0),
            potential: Set(Some(3)),
            start_on: Set(None),
            due_on: Set(None),
            budget_estimate: Set(None),
            lead_organization_id: Set(None),
            seeking_partners: Set(false),
            partner_needs: Set(None),
            created_at: Set(now()),
            updated_at: Set(now()),
            version: Set(1),
            ..Default::default()
        }
    }

    pub async fn insert_action(&self, model: action::ActiveModel) -> Uuid {
        model.insert(self.db).await.expect("insert action").id
    }

    pub async fn action(&self, plan: Uuid, title: &str) -> Uuid {
        self.insert_action(self.action_model(plan, title)).await
    }

    pub async fn tag_action(&self, action: Uuid, theme: Uuid) {
        action_theme::ActiveModel {
            action_id: Set(action),
            theme_id: Set(theme),
        }
        .insert(self.db)
        .await
        .expect("tag action");
    }

    pub async fn tag_plan(&self, plan: Uuid, theme: Uuid) {
        plan_theme::ActiveModel {
            plan_id: Set(plan),
            theme_id: Set(theme),
        }
        .insert(self.db)
        .await
        .expect("tag plan");
    }

    pub async fn action_department(&self, action: Uuid, department: Uuid, role: DepartmentRole) -> Uuid {
        let id = Uuid::now_v7();
        action_department::ActiveModel {
            id: Set(id),
            action_id: Set(action),
            department_id: Set(department),
            role: Set(role),
            contribution: Set("Faglig sparring".into()),
            created_at: Set(now()),
            updated_at: Set(now()),
            version: Set(1),
        }
        .insert(self.db)
        .await
        .expect("insert action department");
        id
    }

    pub async fn update(&self, action: Uuid, body: &str, posted_on: NaiveDate) -> Uuid {
        let id = Uuid::now_v7();
        action_update::ActiveModel {
            id: Set(id),
            action_id: Set(action),
            body: Set(body.into()),
            progress: Set(Some(50)),
            author_name: Set("Mette Sørensen".into()),
            posted_on: Set(posted_on),
            created_at: Set(now()),
            updated_at: Set(now()),
            version: Set(1),
        }
        .insert(self.db)
        .await
        .expect("insert update");
        id
    }

    /// A partnership around an action (or, with `action` None, around `plan`).
    pub async fn partnership(
        &self,
        action: Option<Uuid>,
        plan: Option<Uuid>,
        title: &str,
        status: PartnershipStatus,
    ) -> Uuid {
        let id = Uuid::now_v7();
        partnership::ActiveModel {
            id: Set(id),
            title: Set(title.into()),
            description: Set(String::new()),
            action_id: Set(action),
            plan_id: Set(plan),
            status: Set(status),
            starts_on: Set(Some(date(2025, 1, 1))),
            ends_on: Set(Some(date(2026, 12, 31))),
            created_at: Set(now()),
            updated_at: Set(now()),
            version: Set(1),
            ..Default::default()
        }
        .insert(self.db)
        .await
        .expect("insert partnership");
        id
    }

    pub async fn member(&self, partnership: Uuid, party: Party, role: MemberRole) -> Uuid {
        let id = Uuid::now_v7();
        let (c, o, d) = match party {
            Party::Community(id) => (Some(id), None, None),
            Party::Organization(id) => (None, Some(id), None),
            Party::Department(id) => (None, None, Some(id)),
        };
        partnership_member::ActiveModel {
            id: Set(id),
            partnership_id: Set(partnership),
            community_id: Set(c),
            organization_id: Set(o),
            department_id: Set(d),
            role: Set(role),
            contribution_kind: Set(ContributionKind::VolunteerHours),
            contribution: Set("Frivillige timer".into()),
            amount_dkk: Set(None),
            volunteer_hours: Set(Some(40)),
            created_at: Set(now()),
            updated_at: Set(now()),
            version: Set(1),
        }
        .insert(self.db)
        .await
        .expect("insert member");
        id
    }

    pub async fn involvement(&self, plan: Uuid, organization: Uuid) -> Uuid {
        let id = Uuid::now_v7();
        plan_involvement::ActiveModel {
            id: Set(id),
            plan_id: Set(plan),
            organization_id: Set(organization),
            role: Set(plan_involvement::InvolvementRole::Writing),
            description: Set("Var med i skrivegruppen".into()),
            created_at: Set(now()),
            updated_at: Set(now()),
            version: Set(1),
        }
        .insert(self.db)
        .await
        .expect("insert involvement");
        id
    }

    pub async fn event(
        &self,
        community: Uuid,
        plan: Option<Uuid>,
        title: &str,
        occurred_on: NaiveDate,
    ) -> Uuid {
        let id = Uuid::now_v7();
        engagement_event::ActiveModel {
            id: Set(id),
            community_id: Set(community),
            plan_id: Set(plan),
            kind: Set(engagement_event::EventKind::CitizenMeeting),
            title: Set(title.into()),
            description: Set(String::new()),
            occurred_on: Set(occurred_on),
            participants: Set(35),
            created_at: Set(now()),
            updated_at: Set(now()),
            version: Set(1),
        }
        .insert(self.db)
        .await
        .expect("insert event");
        id
    }

    pub async fn idea(&self, community: Option<Uuid>, title: &str) -> Uuid {
        let id = Uuid::now_v7();
        idea::ActiveModel {
            id: Set(id),
            title: Set(title.into()),
            description: Set(String::new()),
            community_id: Set(community),
            organization_id: Set(None),
            created_at: Set(now()),
            updated_at: Set(now()),
            version: Set(1),
        }
        .insert(self.db)
        .await
        .expect("insert idea");
        id
    }

    pub async fn exchange(
        &self,
        idea: Option<Uuid>,
        initiator: Uuid,
        participants: &[Uuid],
        title: &str,
        actions: &[Uuid],
    ) -> Uuid {
        let id = Uuid::now_v7();
        idea_exchange::ActiveModel {
            id: Set(id),
            idea_id: Set(idea),
            title: Set(title.into()),
            kind: Set(idea_exchange::ExchangeKind::StudyVisit),
            initiator_community_id: Set(initiator),
            occurred_on: Set(Some(date(2025, 5, 20))),
            outcome: Set("Gode erfaringer".into()),
            created_at: Set(now()),
            updated_at: Set(now()),
            version: Set(1),
        }
        .insert(self.db)
        .await
        .expect("insert exchange");
        for p in participants {
            idea_exchange_participant::ActiveModel {
                exchange_id: Set(id),
                community_id: Set(*p),
            }
            .insert(self.db)
            .await
            .expect("insert participant");
        }
        for a in actions {
            idea_exchange_action::ActiveModel {
                exchange_id: Set(id),
                action_id: Set(*a),
            }
            .insert(self.db)
            .await
            .expect("insert exchange action");
        }
        id
    }

    /// A programme of `communities` communities, each with an adopted and a draft plan of
    /// `actions` actions; every action has two themes, a department, an update and a
    /// partnership of three members (the community, an organisation, a department).
    pub async fn programme(&self, communities: usize, actions: usize) {
        self.programme_from(0, communities, actions).await;
    }

    /// More of the same, next to an existing programme (new slugs, new themes).
    pub async fn programme_more(&self, communities: usize, actions: usize) {
        self.programme_from(1000, communities, actions).await;
    }

    async fn programme_from(&self, start: usize, communities: usize, actions: usize) {
        let themes = [
            self.theme(&format!("natur-{start}"), "Natur og friluftsliv")
                .await,
            self.theme(&format!("kultur-{start}"), "Kultur og fællesskab")
                .await,
        ];
        let dept = self
            .department(&format!("teknik-{start}"), "Teknik og Anlæg")
            .await;
        for c in start..start + communities {
            let community = self.community(&format!("by-{c}"), &format!("By {c}")).await;
            let org = self
                .organization(
                    &format!("forening-{c}"),
                    &format!("Borgerforening {c}"),
                    OrganizationKind::Association,
                    Some(community),
                )
                .await;
            for (status, from) in [(PlanStatus::Adopted, 2024), (PlanStatus::Draft, 2027)] {
                let plan = self
                    .plan(community, &format!("Plan {c} {from}"), status, from, from + 3)
                    .await;
                for a in 0..actions {
                    let action = self.action(plan, &format!("Handling {c}-{from}-{a}")).await;
                    for t in themes {
                        self.tag_action(action, t).await;
                    }
                    self.action_department(action, dept, DepartmentRole::Support)
                        .await;
                    self.update(action, "Vi er godt i gang", date(2025, 6, 1)).await;
                    let p = self
                        .partnership(
                            Some(action),
                            None,
                            &format!("Partnerskab {c}-{a}"),
                            PartnershipStatus::Active,
                        )
                        .await;
                    self.member(p, Party::Community(community), MemberRole::Lead)
                        .await;
                    self.member(p, Party::Organization(org), MemberRole::Partner)
                        .await;
                    self.member(p, Party::Department(dept), MemberRole::Advisor).await;
                }
            }
        }
    }
}

/// Helpers for tests that need more than the rows above: tagging ideas, organisations at
/// events, contacts of organisations and departments, and setting single columns.
impl Fixture<'_> {
    pub async fn tag_idea(&self, idea: Uuid, theme: Uuid) {
        idea_theme::ActiveModel {
            idea_id: Set(idea),
            theme_id: Set(theme),
        }
        .insert(self.db)
        .await
        .expect("tag idea");
    }

    pub async fn event_organization(&self, event: Uuid, organization: Uuid) {
        engagement_event_organization::ActiveModel {
            event_id: Set(event),
            organization_id: Set(organization),
        }
        .insert(self.db)
        .await
        .expect("insert event organization");
    }

    /// A contact of a community, an organisation or a department.
    pub async fn contact_of(&self, name: &str, is_public: bool, party: Party) -> Uuid {
        let (c, o, d) = match party {
            Party::Community(id) => (Some(id), None, None),
            Party::Organization(id) => (None, Some(id), None),
            Party::Department(id) => (None, None, Some(id)),
        };
        let id = self.contact(name, is_public, c).await;
        contact::ActiveModel {
            id: Set(id),
            organization_id: Set(o),
            department_id: Set(d),
            ..Default::default()
        }
        .update(self.db)
        .await
        .expect("update contact");
        id
    }

    /// A webhook endpoint of `organization` (enabled, for new opportunities), with one
    /// delivered message: (endpoint, delivery).
    pub async fn webhook(&self, organization: Uuid) -> (Uuid, Uuid) {
        let (endpoint, delivery) = (Uuid::now_v7(), Uuid::now_v7());
        webhook_endpoint::ActiveModel {
            id: Set(endpoint),
            organization_id: Set(organization),
            created_by_api_key_id: Set(None),
            url: Set(format!("https://partner.example/hooks/{}", endpoint.simple())),
            secret: Set("whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0".into()),
            previous_secret: Set(None),
            previous_secret_expires_at: Set(None),
            event_types: Set("OPPORTUNITY_CREATED".into()),
            enabled: Set(true),
            disabled_by: Set(None),
            disabled_reason: Set(None),
            disabled_at: Set(None),
            consecutive_failures: Set(0),
            after_seq: Set(0),
            created_at: Set(now()),
            updated_at: Set(now()),
            version: Set(1),
        }
        .insert(self.db)
        .await
        .expect("insert webhook endpoint");
        webhook_delivery::ActiveModel {
            id: Set(delivery),
            endpoint_id: Set(endpoint),
            event_seq: Set(1),
            message_id: Set(format!("msg_{}", delivery.simple())),
            event_type: Set(webhook_delivery::EventType::OpportunityCreated),
            payload: Set("{}".into()),
            status: Set(webhook_delivery::DeliveryStatus::Delivered),
            attempts: Set(1),
            next_attempt_at: Set(None),
            last_attempt_at: Set(Some(now())),
            last_status: Set(Some(204)),
            last_response: Set(None),
            last_error: Set(None),
            created_at: Set(now()),
            updated_at: Set(now()),
            version: Set(1),
        }
        .insert(self.db)
        .await
        .expect("insert webhook delivery");
        (endpoint, delivery)
    }

    /// Sets one column of one row: `UPDATE table SET column = value WHERE id = id`. Enum
    /// columns take their stored text, e.g. `"INACTIVE"`.
    pub async fn set(&self, table: &str, id: Uuid, column: &str, value: impl Into<sea_query::Value>) {
        let stmt = sea_query::Query::update()
            .table(sea_query::Alias::new(table))
            .value(sea_query::Alias::new(column), value.into())
            .and_where(sea_query::Expr::col(sea_query::Alias::new("id")).eq(id))
            .to_owned();
        let result = self.db.execute(&stmt).await.expect("update column");
        assert_eq!(result.rows_affected(), 1, "no {table} row {id}");
    }
}

const BASE64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64url without padding, as the API encodes global IDs and cursors.
pub fn base64url(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(BASE64URL[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// The global ID the API gives the row `id` of GraphQL type `type_name`.
pub fn global_id(type_name: &str, id: Uuid) -> String {
    base64url(format!("{type_name}:{id}").as_bytes())
}

/// The cursor of the `position`th row (1-based) of a list.
pub fn cursor(position: i64) -> String {
    base64url(format!("cursor:{position}").as_bytes())
}

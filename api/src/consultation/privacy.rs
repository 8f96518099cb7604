//! The personal data of responses to consultations: the sender's name, association and email
//! (given with consent, for a reply and, with a second consent, to show the name) and the
//! fingerprint of their client (for the abuse bounds). It is kept while the consultation
//! runs and `retention_days` after it closes, then erased by the server ([`erase_expired`],
//! at start-up and every hour); the response's text stays, and a reply or a reason for
//! rejecting it that named the sender has the name cut out (marked `[fjernet]`). Staff erase
//! and export one person's data on request, by email (`eraseConsultantData`,
//! `exportConsultantData`). Each erasure and export is in the audit log, which never holds
//! the data in clear (see the entity's `Serialize`).
use std::{collections::HashMap, time::Duration};

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use entity::{consultation_response as response, plan};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait, Set,
};
use uuid::Uuid;

use super::ConsultationResponseStatus;
use crate::{
    auth::{Require, Viewer, visible_to_staff},
    error::ApiError,
    relay::{self, NodeType},
    write::{Failure, Operation, UserErrorCode, Write, mutate, payload},
};

/// How the audit log names the server when it erases expired personal data.
const ERASER: &str = "retention";

/// Responses holding some personal data.
fn holding_personal_data() -> Condition {
    Condition::any()
        .add(response::Column::Name.is_not_null())
        .add(response::Column::Association.is_not_null())
        .add(response::Column::Email.is_not_null())
        .add(response::Column::ClientFingerprint.is_not_null())
}

/// Erases the personal data of `rows` in `w`, each with its audit record (the fields that
/// were set, redacted, and now null). Returns how many it erased.
async fn erase(w: &Write, rows: Vec<response::Model>) -> Result<usize, ApiError> {
    let n = rows.len();
    for before in rows {
        let mut row = response::ActiveModel {
            name: Set(None),
            association: Set(None),
            email: Set(None),
            client_fingerprint: Set(None),
            ..Default::default()
        };
        // A reply that names the sender (one who agreed to have the name shown), or a
        // moderator's reason for rejecting the response that does, loses the name, and the
        // address where one holds it.
        let cut = |text: &Option<String>| {
            let mut t = text.clone()?;
            // The address first: a name may be part of it.
            if let Some(email) = &before.email {
                t = super::mutation::cut_email(&t, email);
            }
            if let Some(name) = &before.name {
                t = super::mutation::cut_name(&t, name);
            }
            (Some(&t) != text.as_ref()).then_some(t)
        };
        if let Some(reply) = cut(&before.reply) {
            row.reply = Set(Some(reply));
        }
        if let Some(reason) = cut(&before.rejection_reason) {
            row.rejection_reason = Set(Some(reason));
        }
        w.update::<response::Entity>(NodeType::ConsultationResponse, &before, before.version, row)
            .await
            .map_err(|e| match e {
                Failure::Error(e) => e,
                Failure::Refused(r) | Failure::Raced(r) => {
                    ApiError::internal(format!("erasing personal data refused: {r:?}"))
                }
            })?;
        unsign(w, before.id).await?;
    }
    Ok(n)
}

/// A response sent by a signed-in account no longer names it in the audit log: its `CREATE`
/// record's actor keeps its kind and loses the account's ID and name (`[personoplysning]`),
/// so the text that stays is not tied to a person.
async fn unsign(w: &Write, id: Uuid) -> Result<(), ApiError> {
    use entity::audit_log::{self, ActorKind};
    use sea_orm::sea_query::Expr;

    audit_log::Entity::update_many()
        .col_expr(audit_log::Column::ActorId, Expr::value(Option::<Uuid>::None))
        .col_expr(audit_log::Column::ActorLabel, Expr::value(entity::json::REDACTED))
        .filter(audit_log::Column::Entity.eq(NodeType::ConsultationResponse.name()))
        .filter(audit_log::Column::EntityId.eq(id))
        .filter(audit_log::Column::Operation.eq(Operation::Create.as_str()))
        .filter(audit_log::Column::ActorKind.eq(ActorKind::Account))
        .filter(audit_log::Column::ActorId.is_not_null())
        .exec(w.txn())
        .await?;
    Ok(())
}

/// Erases the personal data of the responses to consultations that closed more than
/// `retention_days` before `today` (kept through the day `closes + retention_days`), in one
/// transaction, each row with an audit record by `system:retention`. Returns how many
/// responses it erased.
pub async fn erase_expired(
    db: &DatabaseConnection,
    today: NaiveDate,
    retention_days: u32,
) -> Result<usize, ApiError> {
    let Some(cutoff) = today.checked_sub_days(chrono::Days::new(retention_days.into())) else {
        return Ok(0);
    };
    let closed = plan::Entity::find()
        .select_only()
        .column(plan::Column::Id)
        .filter(plan::Column::ConsultationClosesOn.lt(cutoff))
        .into_query();
    let w = Write::begin_as(db, Viewer::system(ERASER)).await?;
    crate::db::unbounded(w.txn()).await?;
    let rows = response::Entity::find()
        .filter(response::Column::PlanId.in_subquery(closed))
        .filter(holding_personal_data())
        .order_by_asc(response::Column::Id)
        .all(w.txn())
        .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let n = erase(&w, rows).await?;
    w.commit().await?;
    crate::db::forget(db).await;
    Ok(n)
}

/// Runs [`erase_expired`] every hour, in the background (start-up runs it first, before
/// serving), and the plans' hand-over (`crate::plan::mutation::hand_over`) after it; the
/// hand-over also at New Year in Denmark, when plans adopted ahead of their period take over
/// (each instance within a few seconds after midnight, so they do not all write at once).
pub fn spawn_erasure(db: DatabaseConnection, retention_days: u32) {
    tokio::spawn(async move {
        let every = Duration::from_secs(3600);
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The year of the last hand-over: one that began before midnight and ended after it
        // handed over the old year, and the new one's is still due.
        let mut handed = crate::common::today().year();
        loop {
            let spread = Duration::from_millis(rand::random_range(1_000..10_000));
            let new_year = if crate::common::today().year() > handed {
                spread
            } else {
                crate::common::until_new_year(chrono::Utc::now()) + spread
            };
            tokio::select! {
                _ = tick.tick() => {
                    run_erasure(&db, retention_days).await;
                    handed = crate::plan::mutation::run_hand_over(&db).await;
                }
                () = tokio::time::sleep(new_year) => handed = crate::plan::mutation::run_hand_over(&db).await,
            }
        }
    });
}

/// One erasure, logged (a failure too: the next runs an hour later).
pub async fn run_erasure(db: &DatabaseConnection, retention_days: u32) {
    match erase_expired(db, crate::common::today(), retention_days).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            responses = n,
            retention_days,
            "erased the personal data of responses to consultations closed beyond the retention period"
        ),
        Err(e) => tracing::warn!(
            error = e.message(),
            "could not erase expired personal data of consultation responses"
        ),
    }
}

/// Whose data to erase.
#[derive(InputObject)]
pub struct EraseConsultantDataInput {
    /// The email address the person gave with their responses.
    pub email: String,
}

payload!(EraseConsultantDataPayload, erased: i32);

/// One response of a person, with all the data kept of it (a data-subject access request).
#[derive(SimpleObject)]
pub struct ConsultantData {
    pub response_id: ID,
    pub plan_id: ID,
    pub plan_title: String,
    pub action_id: Option<ID>,
    pub body: String,
    pub name: Option<String>,
    pub association: Option<String>,
    pub email: Option<String>,
    pub consent_to_store: bool,
    pub consent_to_show_name: bool,
    /// A keyed hash of the client that sent it (address, account or API key), kept against
    /// floods and duplicates; it cannot be turned back into the address.
    pub client_fingerprint: Option<String>,
    pub status: ConsultationResponseStatus,
    pub rejection_reason: Option<String>,
    pub reply: Option<String>,
    pub replied_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The address as stored (trimmed, lowercase), or a BAD_USER_INPUT error. Looser than what
/// a response is sent with today, so that an address accepted before (`a@b`) can still be
/// looked up and erased.
fn email_of(email: &str) -> Result<String, ApiError> {
    crate::write::earlier_email_address(email)
        .ok_or_else(|| ApiError::bad_input("`email` is not an email address"))
}

async fn of_email(w: &Write, email: &str) -> Result<Vec<response::Model>, ApiError> {
    Ok(response::Entity::find()
        .filter(response::Column::Email.eq(email))
        .order_by_asc(response::Column::CreatedAt)
        .order_by_asc(response::Column::Id)
        .all(w.txn())
        .await?)
}

#[derive(Default)]
pub struct PrivacyQuery;

#[Object]
impl PrivacyQuery {
    /// Every response sent with this email address, with all the data kept of it, for a
    /// person who asks what the municipality holds about them. Staff only; each export is in
    /// the audit log (`EXPORT` of each response), without the address.
    #[graphql(guard = "Require::Staff", visible = "visible_to_staff")]
    async fn export_consultant_data(&self, ctx: &Context<'_>, email: String) -> Result<Vec<ConsultantData>> {
        let email = email_of(&email)?;
        let w = Write::begin(ctx).await?;
        let rows = of_email(&w, &email).await?;
        let plan_ids: Vec<Uuid> = rows.iter().map(|r| r.plan_id).collect();
        let titles: HashMap<Uuid, String> = plan::Entity::find()
            .filter(plan::Column::Id.is_in(plan_ids))
            .all(w.txn())
            .await?
            .into_iter()
            .map(|p| (p.id, p.title))
            .collect();
        for r in &rows {
            w.audit::<response::Model>(
                NodeType::ConsultationResponse,
                r.id,
                Operation::Export,
                None,
                None,
            )
            .await?;
        }
        w.commit().await?;
        Ok(rows
            .into_iter()
            .map(|r| ConsultantData {
                response_id: relay::encode(NodeType::ConsultationResponse, r.id),
                plan_id: relay::encode(NodeType::Plan, r.plan_id),
                plan_title: titles.get(&r.plan_id).cloned().unwrap_or_default(),
                action_id: r.action_id.map(|a| relay::encode(NodeType::Action, a)),
                body: r.body,
                name: r.name,
                association: r.association,
                email: r.email,
                consent_to_store: r.consent_to_store,
                consent_to_show_name: r.consent_to_show_name,
                client_fingerprint: r.client_fingerprint,
                status: r.status.into(),
                rejection_reason: r.rejection_reason,
                reply: r.reply,
                replied_at: r.replied_at,
                created_at: r.created_at,
                updated_at: r.updated_at,
            })
            .collect())
    }
}

#[derive(Default)]
pub struct PrivacyMutation;

#[Object]
impl PrivacyMutation {
    /// Erases the name, association, email and client fingerprint of every response sent
    /// with this email address (a person's request to be forgotten); the texts stay. Staff
    /// only. `erased`: how many responses held data of theirs (0 when none). Each is in the
    /// audit log, without the data.
    #[graphql(guard = "Require::Staff", visible = "visible_to_staff")]
    async fn erase_consultant_data(
        &self,
        ctx: &Context<'_>,
        input: EraseConsultantDataInput,
    ) -> Result<EraseConsultantDataPayload> {
        let payload = mutate(
            ctx,
            |check| {
                // As an export looks it up: an address accepted before the rules tightened
                // (`a@b`) is erased too.
                let email = crate::write::earlier_email_address(&input.email);
                if email.is_none() {
                    check.add("email", UserErrorCode::Invalid, "is not an email address");
                }
                email
            },
            async |w, email| {
                let rows = of_email(w, &email).await?;
                let n = erase(w, rows).await?;
                Ok(i32::try_from(n).unwrap_or(i32::MAX))
            },
            EraseConsultantDataPayload::ok,
        )
        .await;
        crate::db::forget(ctx.data_unchecked()).await;
        payload
    }
}

//! The GraphQL face of webhooks: partners register, change, rotate and delete their
//! endpoints and read their deliveries; staff list every endpoint and may disable (and
//! enable again) any of them.
use std::collections::HashMap;

use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object, Result, dataloader::Loader};
use chrono::{DateTime, Utc};
use entity::{
    webhook_delivery::{self, DeliveryStatus},
    webhook_endpoint::{self, DisabledBy},
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::{Alias, Asterisk, Expr, ExprTrait, Query},
};
use uuid::Uuid;

use super::{
    MAX_ENDPOINTS, ROTATION_OVERLAP, WebhookEventType, Webhooks, address, send::cancel_pending, sign,
};
use crate::{
    auth::{Require, Role, visible_to_partners, visible_to_partners_and_staff},
    error::{ApiError, LoadError},
    loader::{Loaders, RequestLoaders},
    organization::Organization,
    relay::{self, NodeType, OtherType},
    write::{
        Check, DeletePayload, Failure, MaybeRef, Refused, UserErrorCode, Write, mutate, new_row, payload,
    },
};

/// Where an endpoint stands.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum WebhookEndpointStatus {
    /// Deliveries are made.
    Enabled,
    /// The partner disabled it.
    DisabledByPartner,
    /// The municipality's staff disabled it; only they enable it again.
    DisabledByStaff,
    /// Disabled by the server because its deliveries kept failing (see `disabledReason`).
    DisabledAfterFailures,
}

crate::labels::enum_labels!(WebhookEndpointStatus {
    Enabled => "Aktiv",
    DisabledByPartner => "Slået fra af partneren",
    DisabledByStaff => "Slået fra af kommunen",
    DisabledAfterFailures => "Slået fra efter fejl",
});

/// Where a delivery stands.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::webhook_delivery::DeliveryStatus")]
pub enum WebhookDeliveryStatus {
    /// Not delivered yet: the next attempt is due at `nextAttemptAt`.
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Every attempt failed.
    Failed,
    /// Not sent (again): the endpoint was disabled.
    Cancelled,
}

crate::labels::enum_labels!(WebhookDeliveryStatus {
    Pending => "Afventer",
    Delivered => "Leveret",
    Failed => "Mislykket",
    Cancelled => "Annulleret",
});

pub struct WebhookEndpoint(pub webhook_endpoint::Model);

/// An HTTPS endpoint of a partner, to which the server posts the events it asked for.
/// Visible to the partner and to staff.
#[Object(visible = "visible_to_partners_and_staff")]
impl WebhookEndpoint {
    pub async fn id(&self) -> ID {
        relay::encode(OtherType::WebhookEndpoint, self.0.id)
    }

    async fn url(&self) -> &str {
        &self.0.url
    }

    /// The events posted to it.
    async fn event_types(&self) -> Vec<WebhookEventType> {
        WebhookEventType::list(&self.0.event_types)
    }

    async fn status(&self) -> WebhookEndpointStatus {
        match (self.0.enabled, self.0.disabled_by) {
            (true, _) => WebhookEndpointStatus::Enabled,
            (false, Some(DisabledBy::Staff)) => WebhookEndpointStatus::DisabledByStaff,
            (false, Some(DisabledBy::Failures)) => WebhookEndpointStatus::DisabledAfterFailures,
            (false, _) => WebhookEndpointStatus::DisabledByPartner,
        }
    }

    /// Whether messages are sent to it now: it is enabled and its organisation has an API key
    /// that is not revoked (an organisation whose keys are all revoked is sent nothing, whatever
    /// `status` says, until it has a key again).
    async fn receives_deliveries(&self, ctx: &Context<'_>) -> Result<bool> {
        if !self.0.enabled {
            return Ok(false);
        }
        let db = ctx.data_unchecked::<DatabaseConnection>();
        Ok(super::dispatch::keyed(db, self.0.organization_id).await?)
    }

    /// Why it was disabled, for a person; null while it is enabled.
    async fn disabled_reason(&self) -> Option<&str> {
        self.0.disabled_reason.as_deref()
    }

    async fn disabled_at(&self) -> Option<DateTime<Utc>> {
        self.0.disabled_at
    }

    /// Attempts that failed since the last delivered one.
    async fn consecutive_failures(&self) -> i32 {
        self.0.consecutive_failures
    }

    /// Until when the secret before the last rotation still signs beside the current one
    /// (each message then carries two signatures); null when it no longer does.
    async fn previous_secret_expires_at(&self) -> Option<DateTime<Utc>> {
        self.0
            .previous_secret_expires_at
            .filter(|t| *t > crate::common::now())
    }

    /// The partner organisation it belongs to.
    async fn organization(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
        Ok(
            crate::loader::one(ctx, &crate::organization::BY_ID, self.0.organization_id)
                .await?
                .map(Organization),
        )
    }

    #[graphql(flatten)]
    async fn stamps(&self) -> crate::common::Stamps {
        crate::common::Stamped::stamps(&self.0)
    }

    /// Its most recent deliveries, newest first.
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many (1–100).", default = 10)] first: i32,
        #[graphql(desc = "Only deliveries with this status.")] status: Option<WebhookDeliveryStatus>,
    ) -> Result<Vec<WebhookDelivery>> {
        if !(1..=100).contains(&first) {
            return Err(
                ApiError::bad_input(format!("`first` must be between 1 and 100, got {first}")).into(),
            );
        }
        let key = DeliveriesKey {
            endpoint: self.0.id,
            first: first as u64,
            status: status.map(Into::into),
        };
        Ok(ctx
            .data_unchecked::<RequestLoaders>()
            .load_one(key)
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(WebhookDelivery)
            .collect())
    }
}

pub struct WebhookDelivery(pub webhook_delivery::Model);

/// One message to an endpoint, with its attempts. Visible to the endpoint's partner and to
/// staff.
#[Object(visible = "visible_to_partners_and_staff")]
impl WebhookDelivery {
    pub async fn id(&self) -> ID {
        relay::encode(OtherType::WebhookDelivery, self.0.id)
    }

    /// The `webhook-id` header: the same on every attempt, so a receiver can tell a retry
    /// from a new message.
    async fn message_id(&self) -> &str {
        &self.0.message_id
    }

    async fn event_type(&self) -> WebhookEventType {
        self.0.event_type.into()
    }

    /// The body, as signed and sent (JSON).
    async fn payload(&self) -> &str {
        &self.0.payload
    }

    async fn status(&self) -> WebhookDeliveryStatus {
        self.0.status.into()
    }

    /// Attempts made so far.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }

    /// When the next attempt is due; null once the delivery is done.
    async fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
        self.0.next_attempt_at
    }

    async fn last_attempt_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_attempt_at
    }

    /// The HTTP status of the last answer; null when there was none (see `lastError`).
    async fn last_status(&self) -> Option<i32> {
        self.0.last_status
    }

    /// The start (at most 1 KB) of the last answer's body.
    async fn last_response(&self) -> Option<&str> {
        self.0.last_response.as_deref()
    }

    /// Why the last attempt got no answer (refused, timed out, a private address…).
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// The recent deliveries of one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeliveriesKey {
    endpoint: Uuid,
    first: u64,
    status: Option<DeliveryStatus>,
}

/// The recent deliveries of every endpoint a query lists, in one statement per shape (a
/// window per endpoint, `ROW_NUMBER() OVER (PARTITION BY …)`).
#[async_graphql::async_trait::async_trait]
impl Loader<DeliveriesKey> for Loaders {
    type Value = Vec<webhook_delivery::Model>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[DeliveriesKey],
    ) -> Result<HashMap<DeliveriesKey, Vec<webhook_delivery::Model>>, LoadError> {
        use webhook_delivery::Column as D;
        let mut shapes: HashMap<(u64, Option<DeliveryStatus>), Vec<Uuid>> = HashMap::new();
        for k in keys {
            shapes.entry((k.first, k.status)).or_default().push(k.endpoint);
        }
        let mut out: HashMap<DeliveriesKey, Vec<webhook_delivery::Model>> = HashMap::new();
        for ((first, status), endpoints) in shapes {
            let mut inner = Query::select();
            inner
                .column(Asterisk)
                .expr_as(
                    Expr::cust(
                        "ROW_NUMBER() OVER (PARTITION BY \"endpoint_id\" ORDER BY \"created_at\" DESC, \"id\" DESC)",
                    ),
                    Alias::new("rn"),
                )
                .from(webhook_delivery::Entity)
                .and_where(Expr::col(D::EndpointId).is_in(endpoints.iter().copied()));
            if let Some(s) = status {
                inner.and_where(Expr::col(D::Status).eq(s));
            }
            let outer = Query::select()
                .column(Asterisk)
                .from_subquery(inner, Alias::new("d"))
                .and_where(Expr::col(Alias::new("rn")).lte(first as i64))
                .order_by(Alias::new("rn"), sea_orm::Order::Asc)
                .to_owned();
            for row in self.db().query_all(&outer).await? {
                let m = webhook_delivery::Model::from_query_result(&row, "")?;
                out.entry(DeliveriesKey {
                    endpoint: m.endpoint_id,
                    first,
                    status,
                })
                .or_default()
                .push(m);
            }
        }
        Ok(out)
    }
}

#[derive(InputObject)]
pub struct CreateWebhookEndpointInput {
    /// `https://` and a public host, at most 2000 characters.
    pub url: String,
    /// The events to post to it: at least one.
    pub event_types: Vec<WebhookEventType>,
}

/// Fields left out stay as they are.
#[derive(InputObject)]
pub struct UpdateWebhookEndpointInput {
    pub id: ID,
    /// The version the change is based on; a stale one is a CONFLICT.
    pub version: i32,
    pub url: MaybeUndefined<String>,
    pub event_types: MaybeUndefined<Vec<WebhookEventType>>,
    /// `false` disables it (its pending deliveries are cancelled); `true` enables it again,
    /// with its failures forgotten, for the changes committed from then on.
    pub enabled: MaybeUndefined<bool>,
}

#[derive(InputObject)]
pub struct DeleteWebhookEndpointInput {
    pub id: ID,
    pub version: i32,
}

#[derive(InputObject)]
pub struct RotateWebhookSecretInput {
    pub id: ID,
    pub version: i32,
}

payload!(
    /// A new endpoint, and the secret its messages are signed with.
    CreateWebhookEndpointPayload,
    webhook_endpoint: WebhookEndpoint;
    /// The signing secret (`whsec_…`), shown only here: keep it to verify the
    /// `webhook-signature` of every message.
    secret: Option<String>,
);

payload!(
    /// The endpoint with its new secret.
    RotateWebhookSecretPayload,
    webhook_endpoint: WebhookEndpoint;
    /// The new signing secret, shown only here. The old one keeps signing beside it for 24
    /// hours (each message then carries both signatures), so receivers can switch; rotating
    /// again within them ends the oldest at once (two secrets sign at most).
    secret: Option<String>,
);

payload!(UpdateWebhookEndpointPayload, webhook_endpoint: WebhookEndpoint);

/// Most entries in `eventTypes`.
const MAX_EVENT_TYPES: usize = 10;

/// The checks of a URL: 1–2000 characters, https (unless private addresses are allowed), a
/// public host.
fn check_url(check: &mut Check, allow_private: bool, value: &str) -> Option<String> {
    let value = check.text("url", value, address::MAX_URL)?;
    match address::check_url(&value, allow_private) {
        Ok(url) => Some(url),
        Err(e) => {
            check.add("url", UserErrorCode::Invalid, e.0);
            None
        }
    }
}

fn check_types(check: &mut Check, types: &[WebhookEventType]) -> Option<Vec<WebhookEventType>> {
    if types.is_empty() {
        check.add(
            "eventTypes",
            UserErrorCode::Required,
            "choose at least one event type",
        );
        return None;
    }
    if types.len() > MAX_EVENT_TYPES {
        check.add(
            "eventTypes",
            UserErrorCode::TooLong,
            format!(
                "may hold at most {MAX_EVENT_TYPES} event types, got {}",
                types.len()
            ),
        );
        return None;
    }
    Some(WebhookEventType::list(&WebhookEventType::store(types)))
}

/// This instance's webhooks (absent only from a schema run without a server: then private
/// addresses are refused, and there are no workers to wake).
fn hooks(ctx: &Context<'_>) -> Option<Webhooks> {
    ctx.data_opt::<Webhooks>().cloned()
}

fn allow_private(hooks: &Option<Webhooks>) -> bool {
    hooks.as_ref().is_some_and(Webhooks::allow_private)
}

/// An endpoint was registered or enabled: this instance's workers stop idling.
fn activate(hooks: &Option<Webhooks>) {
    if let Some(h) = hooks {
        h.activate();
    }
}

/// The endpoint `id` if the caller may change it: staff any, a partner its organisation's;
/// NOT_FOUND otherwise, as for an endpoint that does not exist.
async fn find_endpoint(w: &Write, id: Uuid) -> Result<webhook_endpoint::Model, ApiError> {
    let found = webhook_endpoint::Entity::find_by_id(id).one(w.txn()).await?;
    match found {
        Some(e) if w.viewer.is_staff() || owns(&w.viewer, &e) => Ok(e),
        _ => Err(ApiError::not_found("no webhook endpoint with this ID")),
    }
}

/// Like [`find_endpoint`], for what only the endpoint's partner may do: NOT_FOUND for staff
/// too.
async fn own_endpoint(w: &Write, id: Uuid) -> Result<webhook_endpoint::Model, ApiError> {
    let endpoint = find_endpoint(w, id).await?;
    if owns(&w.viewer, &endpoint) {
        Ok(endpoint)
    } else {
        Err(ApiError::not_found("no webhook endpoint with this ID"))
    }
}

fn owns(viewer: &crate::auth::Viewer, e: &webhook_endpoint::Model) -> bool {
    viewer.role == Role::Partner && viewer.organization_id == Some(e.organization_id)
}

/// The partner's organisation (every partner key has one).
fn organization_of(w: &Write) -> Result<Uuid, ApiError> {
    w.viewer
        .organization_id
        .ok_or_else(|| ApiError::forbidden("only a partner organisation's API key has webhook endpoints"))
}

/// The newest change event: the endpoint is told of those after it. Read under the feed's
/// lock (held until the write commits), so no event numbered before it can commit after it
/// and be passed over by a dispatcher that already read on.
async fn newest_event(w: &Write) -> Result<i64, ApiError> {
    crate::changes::record::lock(w.txn()).await?;
    Ok(crate::changes::feed::newest(w.txn()).await?)
}

/// A user error TAKEN when another endpoint of `organization` has `url`.
async fn url_free(w: &Write, organization: Uuid, url: &str, except: Option<Uuid>) -> Result<(), Failure> {
    let mut q = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::OrganizationId.eq(organization))
        .filter(webhook_endpoint::Column::Url.eq(url));
    if let Some(id) = except {
        q = q.filter(webhook_endpoint::Column::Id.ne(id));
    }
    if q.count(w.txn()).await? > 0 {
        return Err(Refused::one(
            "url",
            UserErrorCode::Taken,
            "your organisation already has an endpoint with this URL",
        )
        .into());
    }
    Ok(())
}

#[derive(Default)]
pub struct WebhookQuery;

#[Object]
impl WebhookQuery {
    /// Webhook endpoints, oldest first: a partner's own; for staff every partner's
    /// (`organizationId` narrows it to one).
    #[graphql(
        guard = "Require::PartnerOrStaff",
        visible = "visible_to_partners_and_staff",
        cache_control(no_cache)
    )]
    async fn webhook_endpoints(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this organisation's (a partner may name only its own).")]
        organization_id: Option<ID>,
    ) -> Result<Vec<WebhookEndpoint>> {
        let viewer = crate::auth::viewer(ctx);
        let db = ctx.data_unchecked::<DatabaseConnection>();
        // Decoded for every caller: an ID that is not an organisation's is refused, not ignored.
        let named = organization_id
            .as_ref()
            .map(|id| relay::decode_as(id, NodeType::Organization))
            .transpose()?;
        let mut q = webhook_endpoint::Entity::find();
        if viewer.is_staff() {
            if let Some(org) = named {
                q = q.filter(webhook_endpoint::Column::OrganizationId.eq(org));
            }
        } else {
            let Some(org) = viewer.organization_id else {
                return Err(ApiError::forbidden(
                    "only a partner organisation's API key has webhook endpoints",
                )
                .into());
            };
            if named.is_some_and(|named| named != org) {
                return Err(ApiError::forbidden(
                    "a partner sees only its own organisation's webhook endpoints",
                )
                .into());
            }
            q = q.filter(webhook_endpoint::Column::OrganizationId.eq(org));
        }
        Ok(q.order_by_asc(webhook_endpoint::Column::CreatedAt)
            .order_by_asc(webhook_endpoint::Column::Id)
            .all(db)
            .await
            .map_err(ApiError::from)?
            .into_iter()
            .map(WebhookEndpoint)
            .collect())
    }
}

#[derive(Default)]
pub struct WebhookMutation;

#[Object]
impl WebhookMutation {
    /// Registers an endpoint for the caller's organisation, for the changes committed from
    /// now on. The answer holds the signing secret, shown this once. At most 10 endpoints per
    /// organisation. Partners (an API key) only.
    #[graphql(guard = "Require::Partner", visible = "visible_to_partners")]
    async fn create_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: CreateWebhookEndpointInput,
    ) -> Result<CreateWebhookEndpointPayload> {
        let hooks = hooks(ctx);
        mutate(
            ctx,
            |check| {
                let url = check_url(check, allow_private(&hooks), &input.url);
                let types = check_types(check, &input.event_types);
                Some((url?, types?))
            },
            async |w, (url, types)| {
                let org = organization_of(w)?;
                // Concurrent registrations take turns on the organisation's row, so that each
                // counts the others' endpoints (SQLite's write transaction is turn enough).
                if w.txn().get_database_backend() == sea_orm::DbBackend::Postgres {
                    entity::organization::Entity::find_by_id(org)
                        .select_only()
                        .column(entity::organization::Column::Id)
                        .lock_exclusive()
                        .into_tuple::<Uuid>()
                        .one(w.txn())
                        .await?;
                }
                let existing = webhook_endpoint::Entity::find()
                    .filter(webhook_endpoint::Column::OrganizationId.eq(org))
                    .count(w.txn())
                    .await?;
                if existing >= MAX_ENDPOINTS {
                    return Err(Refused::one(
                        "url",
                        UserErrorCode::OutOfRange,
                        format!(
                            "your organisation has {existing} endpoints, the most it may have; delete one first"
                        ),
                    )
                    .into());
                }
                url_free(w, org, &url, None).await?;
                let secret = sign::new_secret();
                let now = crate::common::now();
                let model = w
                    .create(
                        OtherType::WebhookEndpoint,
                        webhook_endpoint::ActiveModel {
                            id: Set(Uuid::now_v7()),
                            organization_id: Set(org),
                            created_by_api_key_id: Set(w.viewer.api_key_id),
                            url: Set(url),
                            secret: Set(secret.clone()),
                            previous_secret: Set(None),
                            previous_secret_expires_at: Set(None),
                            event_types: Set(WebhookEventType::store(&types)),
                            enabled: Set(true),
                            disabled_by: Set(None),
                            disabled_reason: Set(None),
                            disabled_at: Set(None),
                            consecutive_failures: Set(0),
                            after_seq: Set(newest_event(w).await?),
                            ..new_row(now)
                        },
                    )
                    .await?;
                Ok((model, secret))
            },
            |(model, secret)| {
                activate(&hooks);
                CreateWebhookEndpointPayload {
                    webhook_endpoint: Some(WebhookEndpoint(model)),
                    secret: Some(secret),
                    user_errors: Vec::new(),
                }
            },
        )
        .await
    }

    /// Changes an endpoint: its URL and event types (its partner), or whether it is enabled
    /// (its partner, and staff for any endpoint). An endpoint staff disabled is enabled again
    /// by staff only.
    #[graphql(guard = "Require::PartnerOrStaff", visible = "visible_to_partners_and_staff")]
    async fn update_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: UpdateWebhookEndpointInput,
    ) -> Result<UpdateWebhookEndpointPayload> {
        let hooks = hooks(ctx);
        mutate(
            ctx,
            |check| {
                let id = check.id("id", &input.id, OtherType::WebhookEndpoint);
                let url = check.update("url", input.url.as_deref(), |c, u| {
                    check_url(c, allow_private(&hooks), u)
                });
                let types = check.update("eventTypes", input.event_types.as_deref(), check_types);
                check.not_null(&[("enabled", input.enabled.is_null())]);
                Some((id?, url?, types?))
            },
            async |w, (id, url, types)| {
                let before = find_endpoint(w, id).await?;
                let partner = owns(&w.viewer, &before);
                // What is given as it is changes nothing (a form that sends the whole endpoint).
                let url = url.filter(|u| *u != before.url);
                let types = types.filter(|t| WebhookEventType::store(t) != before.event_types);
                if !partner && (url.is_some() || types.is_some()) {
                    return Err(ApiError::forbidden(
                        "staff may enable or disable a partner's endpoint, not change it",
                    )
                    .into());
                }
                if let Some(url) = &url {
                    url_free(w, before.organization_id, url, Some(id)).await?;
                }
                let now = crate::common::now();
                let mut row = webhook_endpoint::ActiveModel {
                    url: url.map_or(Default::default(), Set),
                    event_types: types.map_or(Default::default(), |t| Set(WebhookEventType::store(&t))),
                    ..Default::default()
                };
                let mut disabled = false;
                match input.enabled.value().copied() {
                    // Disabled by whoever disables it last, except that a partner leaves an
                    // endpoint staff disabled as it is (only staff enable that again).
                    Some(false)
                        if before.enabled
                            || (!partner && before.disabled_by != Some(DisabledBy::Staff))
                            || (partner && before.disabled_by == Some(DisabledBy::Failures)) =>
                    {
                        row.enabled = Set(false);
                        row.disabled_by = Set(Some(if partner {
                            DisabledBy::Partner
                        } else {
                            DisabledBy::Staff
                        }));
                        row.disabled_reason = Set(Some(if partner {
                            format!(
                                "Disabled by {} on {}.",
                                w.viewer.label,
                                now.format("%Y-%m-%d %H:%M UTC")
                            )
                        } else {
                            format!(
                                "Disabled by the municipality on {}; ask them to enable it again.",
                                now.format("%Y-%m-%d %H:%M UTC")
                            )
                        }));
                        row.disabled_at = Set(Some(now));
                        disabled = before.enabled;
                    }
                    Some(true) if !before.enabled => {
                        if partner && before.disabled_by == Some(DisabledBy::Staff) {
                            return Err(Refused::one(
                                "enabled",
                                UserErrorCode::InvalidTransition,
                                "the municipality disabled this endpoint; ask them to enable it again",
                            )
                            .into());
                        }
                        row.enabled = Set(true);
                        row.disabled_by = Set(None);
                        row.disabled_reason = Set(None);
                        row.disabled_at = Set(None);
                        row.consecutive_failures = Set(0);
                        row.after_seq = Set(newest_event(w).await?);
                    }
                    _ => {}
                }
                let after = w
                    .update::<webhook_endpoint::Entity>(
                        OtherType::WebhookEndpoint,
                        &before,
                        input.version,
                        row,
                    )
                    .await?;
                if disabled {
                    cancel_pending(w.txn(), id).await?;
                }
                Ok(after)
            },
            |m| {
                if m.enabled {
                    activate(&hooks);
                }
                UpdateWebhookEndpointPayload::ok(WebhookEndpoint(m))
            },
        )
        .await
    }

    /// Deletes an endpoint and its deliveries. Its partner only.
    #[graphql(guard = "Require::Partner", visible = "visible_to_partners")]
    async fn delete_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: DeleteWebhookEndpointInput,
    ) -> Result<DeletePayload> {
        mutate(
            ctx,
            |check| check.id("id", &input.id, OtherType::WebhookEndpoint),
            async |w, id| {
                let before = own_endpoint(w, id).await?;
                w.delete::<webhook_endpoint::Entity>(OtherType::WebhookEndpoint, &before, input.version)
                    .await?;
                Ok(id)
            },
            |id| DeletePayload::ok(relay::encode(OtherType::WebhookEndpoint, id)),
        )
        .await
    }

    /// Gives an endpoint a new signing secret, shown this once; the old one keeps signing
    /// beside it for 24 hours (only the one before: a rotation within those hours ends the
    /// oldest at once, as after a leak). Its partner only.
    #[graphql(guard = "Require::Partner", visible = "visible_to_partners")]
    async fn rotate_webhook_secret(
        &self,
        ctx: &Context<'_>,
        input: RotateWebhookSecretInput,
    ) -> Result<RotateWebhookSecretPayload> {
        mutate(
            ctx,
            |check| check.id("id", &input.id, OtherType::WebhookEndpoint),
            async |w, id| {
                let before = own_endpoint(w, id).await?;
                let secret = sign::new_secret();
                let until = crate::common::now()
                    + chrono::Duration::from_std(ROTATION_OVERLAP)
                        .unwrap_or_else(|_| chrono::Duration::hours(24));
                let row = webhook_endpoint::ActiveModel {
                    secret: Set(secret.clone()),
                    previous_secret: Set(Some(before.secret.clone())),
                    previous_secret_expires_at: Set(Some(until)),
                    ..Default::default()
                };
                let after = w
                    .update::<webhook_endpoint::Entity>(
                        OtherType::WebhookEndpoint,
                        &before,
                        input.version,
                        row,
                    )
                    .await?;
                Ok((after, secret))
            },
            |(model, secret)| RotateWebhookSecretPayload {
                webhook_endpoint: Some(WebhookEndpoint(model)),
                secret: Some(secret),
                user_errors: Vec::new(),
            },
        )
        .await
    }
}

//! Webhooks for partners (issue 13): the endpoints a partner organisation registers, the
//! deliveries made to them (one row per message, its attempts recorded on it), and the
//! dispatcher's cursor: the last change event turned into deliveries.
//!
//! - `webhook_endpoint`: the organisation that owns it and the API key that created it, the
//!   URL, the signing secret (Standard Webhooks `whsec_…`; kept in clear, since signing needs
//!   it, and never shown again after it was created or rotated), the event types, whether it is
//!   enabled and, when not, by whom, why and since when; the failures since the last success;
//!   `after_seq`, the newest change event when it was created (nothing older is delivered).
//! - `webhook_delivery`: the endpoint, the event it tells of, the message (`message_id`, the
//!   `webhook-id` header, stable across retries; the body as sent), its status, attempts, when
//!   the next attempt is due (also the lease of an attempt in flight), and the last attempt's
//!   outcome (HTTP status, the start of the response body, or the error).
//! - `webhook_dispatch`: one row, the last change event the dispatcher has turned into
//!   deliveries, locked while it does so.
use sea_orm_migration::prelude::*;

use crate::builder::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const ENDPOINT: &str = "webhook_endpoint";
const DELIVERY: &str = "webhook_delivery";
const DISPATCH: &str = "webhook_dispatch";

pub const DISABLED_BY: &[&str] = &["PARTNER", "STAFF", "FAILURES"];
pub const EVENT_TYPES: &[&str] = &[
    "OPPORTUNITY_CREATED",
    "PROPOSAL_ACCEPTED",
    "PROPOSAL_DECLINED",
    "CHANGE",
];
pub const DELIVERY_STATUS: &[&str] = &["PENDING", "DELIVERED", "FAILED", "CANCELLED"];

fn timestamp_null(c: &str) -> ColumnDef {
    ColumnDef::new(name(c))
        .timestamp_with_time_zone()
        .null()
        .to_owned()
}

fn col(c: &str) -> Expr {
    Expr::col(name(c))
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut t = table(ENDPOINT);
        t.col(uuid("organization_id"))
            .col(uuid_null("created_by_api_key_id"))
            .col(ColumnDef::new(name("url")).text().not_null())
            .col(string("secret"))
            // The secret before the last rotation, still signing beside the new one until
            // `previous_secret_expires_at`, so a partner can switch without losing messages.
            .col(text_null("previous_secret"))
            .col(timestamp_null("previous_secret_expires_at"))
            // Space-separated, each one of EVENT_TYPES.
            .col(string("event_types"))
            .col(ColumnDef::new(name("enabled")).boolean().not_null().default(true))
            .col(
                ColumnDef::new(name("disabled_by"))
                    .string()
                    .null()
                    .check(col("disabled_by").is_in(DISABLED_BY.iter().copied())),
            )
            .col(text_null("disabled_reason"))
            .col(timestamp_null("disabled_at"))
            .col(
                ColumnDef::new(name("consecutive_failures"))
                    .integer()
                    .not_null()
                    .default(0),
            )
            .col(ColumnDef::new(name("after_seq")).big_integer().not_null())
            // Enabled, or disabled by someone.
            .check(
                col("enabled")
                    .eq(true)
                    .and(col("disabled_by").is_null())
                    .or(col("enabled").eq(false).and(col("disabled_by").is_not_null())),
            )
            .foreign_key(&mut fk(
                ENDPOINT,
                "organization_id",
                "organization",
                ForeignKeyAction::Cascade,
            ))
            .foreign_key(&mut fk(
                ENDPOINT,
                "created_by_api_key_id",
                "api_key",
                ForeignKeyAction::SetNull,
            ));
        timestamps(&mut t);
        manager.create_table(t).await?;
        manager
            .create_index(index(ENDPOINT, &["organization_id"]))
            .await?;

        let mut t = table(DELIVERY);
        t.col(uuid("endpoint_id"))
            .col(ColumnDef::new(name("event_seq")).big_integer().not_null())
            .col(string("message_id").unique_key())
            .col(enumeration("event_type", EVENT_TYPES))
            // The body, exactly as signed and sent.
            .col(ColumnDef::new(name("payload")).text().not_null())
            .col(enumeration("status", DELIVERY_STATUS))
            .col(ColumnDef::new(name("attempts")).integer().not_null().default(0))
            // Due (PENDING), or the end of the lease of an attempt in flight; null once done.
            .col(timestamp_null("next_attempt_at"))
            .col(timestamp_null("last_attempt_at"))
            .col(int_null("last_status"))
            // The first kilobyte of the last response's body.
            .col(text_null("last_response"))
            .col(text_null("last_error"))
            .check(
                col("status")
                    .eq("PENDING")
                    .and(col("next_attempt_at").is_not_null())
                    .or(col("status").ne("PENDING").and(col("next_attempt_at").is_null())),
            )
            .foreign_key(&mut fk(
                DELIVERY,
                "endpoint_id",
                ENDPOINT,
                ForeignKeyAction::Cascade,
            ));
        timestamps(&mut t);
        manager.create_table(t).await?;
        // What the senders claim: the due deliveries, soonest first.
        manager
            .create_index(index(DELIVERY, &["status", "next_attempt_at"]))
            .await?;
        // An endpoint's recent deliveries.
        manager
            .create_index(index(DELIVERY, &["endpoint_id", "created_at"]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(name(DISPATCH))
                    .col(ColumnDef::new(name("id")).integer().not_null().primary_key())
                    .col(ColumnDef::new(name("last_seq")).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        // Endpoints registered later start after the newest event anyway (`after_seq`), so
        // the dispatcher may start from the beginning.
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(name(DISPATCH))
                    .columns([name("id"), name("last_seq")])
                    .values_panic([1.into(), 0i64.into()])
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [DISPATCH, DELIVERY, ENDPOINT] {
            manager
                .drop_table(Table::drop().table(name(t)).to_owned())
                .await?;
        }
        Ok(())
    }
}

//! Who uses the API and what they did: accounts (staff, admins, community editors), partners'
//! API keys, refresh tokens, the audit log; internal notes on plans, actions and partnerships;
//! partners' proposals to join an action.
use sea_orm_migration::prelude::*;

use crate::builder::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

pub const ACCOUNT_ROLE: &[&str] = &["STAFF", "ADMIN", "COMMUNITY_EDITOR"];
pub const ACTOR_KIND: &[&str] = &["ACCOUNT", "API_KEY", "SYSTEM"];

fn timestamp(c: &str) -> ColumnDef {
    ColumnDef::new(name(c))
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

fn timestamp_null(c: &str) -> ColumnDef {
    ColumnDef::new(name(c))
        .timestamp_with_time_zone()
        .null()
        .to_owned()
}

fn tables() -> Vec<TableCreateStatement> {
    let mut out = Vec::new();

    let mut t = table("account");
    t.col(string("email").unique_key())
        .col(string("display_name"))
        // Null for accounts that only sign in through the external identity provider.
        .col(text_null("password_hash"))
        .col(enumeration("role", ACCOUNT_ROLE))
        .col(boolean("disabled"))
        .col(timestamp_null("last_login_at"));
    timestamps(&mut t);
    out.push(t);

    // The communities a community editor may edit.
    out.push(
        Table::create()
            .table(name("account_community"))
            .col(uuid("account_id"))
            .col(uuid("community_id"))
            .primary_key(Index::create().col(name("account_id")).col(name("community_id")))
            .foreign_key(&mut fk(
                "account_community",
                "account_id",
                "account",
                ForeignKeyAction::Cascade,
            ))
            .foreign_key(&mut fk(
                "account_community",
                "community_id",
                "community",
                ForeignKeyAction::Restrict,
            ))
            .to_owned(),
    );

    let mut t = table("api_key");
    t.col(uuid("organization_id"))
        .col(string("name"))
        // The first characters of the key, kept in clear so people can tell keys apart.
        .col(string("prefix").unique_key())
        // SHA-256 of the whole key: keys are long random strings, so a fast hash suffices.
        .col(string("key_hash").unique_key())
        .col(text("scopes"))
        .col(uuid_null("created_by_account_id"))
        .col(timestamp_null("last_used_at"))
        .col(timestamp_null("revoked_at"))
        .foreign_key(&mut fk(
            "api_key",
            "organization_id",
            "organization",
            ForeignKeyAction::Restrict,
        ))
        .foreign_key(&mut fk(
            "api_key",
            "created_by_account_id",
            "account",
            ForeignKeyAction::SetNull,
        ));
    timestamps(&mut t);
    out.push(t);

    // Refresh tokens rotate: each use marks the token used and issues the next one of the
    // same family; presenting a used token again revokes the whole family.
    let mut t = table("refresh_token");
    t.col(uuid("account_id"))
        .col(uuid("family_id"))
        .col(string("token_hash").unique_key())
        .col(timestamp("created_at"))
        .col(timestamp("expires_at"))
        .col(timestamp_null("used_at"))
        .col(timestamp_null("revoked_at"))
        .foreign_key(&mut fk(
            "refresh_token",
            "account_id",
            "account",
            ForeignKeyAction::Cascade,
        ));
    out.push(t);

    let mut t = table("audit_log");
    t.col(timestamp("occurred_at"))
        .col(enumeration("actor_kind", ACTOR_KIND))
        // No foreign key: the log outlives what it names.
        .col(uuid_null("actor_id"))
        .col(string("actor_label"))
        .col(string("operation"))
        .col(string("entity"))
        .col(uuid("entity_id"))
        // JSON: {"field": {"before": …, "after": …}}
        .col(text("changes"));
    out.push(t);

    out
}

fn indexes() -> Vec<IndexCreateStatement> {
    vec![
        index("account_community", &["community_id"]),
        index("api_key", &["organization_id"]),
        index("refresh_token", &["account_id"]),
        index("refresh_token", &["family_id"]),
        index("audit_log", &["occurred_at"]),
        index("audit_log", &["entity", "entity_id"]),
        index("audit_log", &["actor_id"]),
        index("partnership", &["proposed_by_organization_id"]),
    ]
}

/// New columns on existing tables, one per statement (SQLite adds one at a time).
fn columns() -> Vec<TableAlterStatement> {
    let add = |t: &str, c: ColumnDef| Table::alter().table(name(t)).add_column(c).to_owned();
    vec![
        add("plan", text("internal_notes")),
        add("action", text("internal_notes")),
        add("partnership", text("internal_notes")),
        // The partner organisation that proposed to join, through `expressInterest`.
        add("partnership", uuid_null("proposed_by_organization_id")),
        add("partnership", text_null("proposal_message")),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for c in columns() {
            manager.alter_table(c).await?;
        }
        for t in tables() {
            manager.create_table(t).await?;
        }
        for i in indexes() {
            manager.create_index(i).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in tables().iter().rev() {
            let table = t
                .get_table_name()
                .cloned()
                .ok_or_else(|| DbErr::Migration("a table without a name".to_owned()))?;
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        let drop = |t: &str, c: &str| Table::alter().table(name(t)).drop_column(name(c)).to_owned();
        for (t, c) in [
            ("partnership", "proposal_message"),
            ("partnership", "proposed_by_organization_id"),
            ("partnership", "internal_notes"),
            ("action", "internal_notes"),
            ("plan", "internal_notes"),
        ] {
            manager.alter_table(drop(t, c)).await?;
        }
        Ok(())
    }
}

//! The change feed's outbox (issue 13): `change_event`, one row for each change a committed
//! write made to a row clients can fetch, numbered in commit order, with who could see the row
//! before and after; and `change_state`, who can see each row now (the last event's "after"),
//! which the next change's "before" is read from.
//!
//! Who can see a row is kept as three facts: everyone may (`public`), the editors of one
//! community may (`community_id`), the partner organisation that proposed it may
//! (`organization_id`). Staff see every row that exists.
use sea_orm_migration::prelude::*;

use crate::builder::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const EVENT: &str = "change_event";
const STATE: &str = "change_state";

fn audience(t: &mut TableCreateStatement, prefix: &str) {
    t.col(boolean(&format!("{prefix}_exists")))
        .col(boolean(&format!("{prefix}_public")))
        .col(uuid_null(&format!("{prefix}_community_id")))
        .col(uuid_null(&format!("{prefix}_organization_id")));
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut event = Table::create();
        event
            .table(name(EVENT))
            // Assigned when the write commits, under a lock, so the order is the commit order
            // and a reader never sees a later number before an earlier one.
            .col(ColumnDef::new(name("seq")).big_integer().not_null().primary_key())
            .col(
                ColumnDef::new(name("occurred_at"))
                    .timestamp_with_time_zone()
                    .not_null(),
            )
            // The GraphQL type of the row (`Plan`, `Action`…) and its own ID.
            .col(string("entity_type"))
            .col(uuid("entity_id"))
            .col(enumeration("operation", &["CREATE", "UPDATE", "DELETE"]))
            // The audit record of the write, when the row itself was written (not when only
            // who may see it changed, through a parent).
            .col(uuid_null("audit_id"));
        audience(&mut event, "before");
        audience(&mut event, "after");
        manager.create_table(event.to_owned()).await?;
        manager
            .create_index(index(EVENT, &["entity_type", "entity_id"]))
            .await?;

        let mut state = Table::create();
        state
            .table(name(STATE))
            .col(string("entity_type"))
            .col(uuid("entity_id"))
            .col(ColumnDef::new(name("seq")).big_integer().not_null())
            .col(boolean("public"))
            .col(uuid_null("community_id"))
            .col(uuid_null("organization_id"))
            .primary_key(Index::create().col(name("entity_type")).col(name("entity_id")));
        manager.create_table(state.to_owned()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(name(STATE)).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(name(EVENT)).to_owned())
            .await
    }
}

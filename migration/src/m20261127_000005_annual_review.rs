//! The annual review: once a year the committee takes stock of every community (a stored
//! snapshot of its figures, with remarks) and sets the direction for the coming year (a text,
//! the communities and themes in focus, the wanted share of long-term actions).
use sea_orm_migration::prelude::*;

use crate::builder::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const CASCADE: ForeignKeyAction = ForeignKeyAction::Cascade;
const RESTRICT: ForeignKeyAction = ForeignKeyAction::Restrict;

pub const REVIEW_STATUS: &[&str] = &["DRAFT", "PUBLISHED"];

fn col(c: &str) -> Expr {
    Expr::col(name(c))
}

fn timestamp(c: &str, null: bool) -> ColumnDef {
    let mut d = ColumnDef::new(name(c));
    d.timestamp_with_time_zone();
    if null {
        d.null();
    } else {
        d.not_null();
    }
    d.to_owned()
}

/// A join table of a review and `other`: rows go with the review; `other` cannot be deleted
/// while a review names it.
fn focus_table(t: &str, other_col: &str, other: &str) -> TableCreateStatement {
    Table::create()
        .table(name(t))
        .col(uuid("review_id"))
        .col(uuid(other_col))
        .primary_key(Index::create().col(name("review_id")).col(name(other_col)))
        .foreign_key(&mut fk(t, "review_id", "annual_review", CASCADE))
        .foreign_key(&mut fk(t, other_col, other, RESTRICT))
        .to_owned()
}

fn tables() -> Vec<TableCreateStatement> {
    let mut out = Vec::new();

    let mut t = table("annual_review");
    t.col(int("year").unique_key())
        .col(enumeration("status", REVIEW_STATUS))
        .col(text("direction"))
        .col(int_null("wanted_long_term_share"))
        .col(timestamp("snapshot_taken_at", false))
        .col(timestamp("published_at", true))
        .check(col("year").between(1900, 2200))
        .check(col("wanted_long_term_share").between(0, 100));
    timestamps(&mut t);
    out.push(t);

    out.push(focus_table(
        "annual_review_focus_community",
        "community_id",
        "community",
    ));
    out.push(focus_table("annual_review_focus_theme", "theme_id", "theme"));

    let mut t = table("annual_review_entry");
    t.col(uuid("review_id"))
        .col(uuid("community_id"))
        .col(text("remarks"))
        .col(ColumnDef::new(name("snapshot")).text().not_null())
        .foreign_key(&mut fk(
            "annual_review_entry",
            "review_id",
            "annual_review",
            CASCADE,
        ))
        .foreign_key(&mut fk(
            "annual_review_entry",
            "community_id",
            "community",
            RESTRICT,
        ));
    timestamps(&mut t);
    out.push(t);

    out
}

fn indexes() -> Vec<IndexCreateStatement> {
    vec![
        index("annual_review", &["status"]),
        index("annual_review_focus_community", &["community_id"]),
        index("annual_review_focus_theme", &["theme_id"]),
        unique("annual_review_entry", &["review_id", "community_id"]),
        index("annual_review_entry", &["community_id"]),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
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
        Ok(())
    }
}

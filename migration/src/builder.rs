//! Small builders shared by migrations, so each table reads as a list of its columns.
//! Identifiers are plain strings: the entity crate is the typed view of the same names.
use sea_orm_migration::prelude::*;

pub fn name(s: &str) -> Alias {
    Alias::new(s)
}

/// A table with a UUID primary key, to which the caller adds columns.
pub fn table(t: &str) -> TableCreateStatement {
    Table::create()
        .table(name(t))
        .col(ColumnDef::new(name("id")).uuid().not_null().primary_key())
        .to_owned()
}

/// `created_at`, `updated_at` and the optimistic-concurrency `version` of every mutable row.
pub fn timestamps(t: &mut TableCreateStatement) -> &mut TableCreateStatement {
    t.col(
        ColumnDef::new(name("created_at"))
            .timestamp_with_time_zone()
            .not_null(),
    )
    .col(
        ColumnDef::new(name("updated_at"))
            .timestamp_with_time_zone()
            .not_null(),
    )
    .col(ColumnDef::new(name("version")).integer().not_null().default(1))
}

pub fn text(c: &str) -> ColumnDef {
    ColumnDef::new(name(c)).text().not_null().default("").to_owned()
}

pub fn string(c: &str) -> ColumnDef {
    ColumnDef::new(name(c)).string().not_null().to_owned()
}

pub fn text_null(c: &str) -> ColumnDef {
    ColumnDef::new(name(c)).text().null().to_owned()
}

pub fn uuid(c: &str) -> ColumnDef {
    ColumnDef::new(name(c)).uuid().not_null().to_owned()
}

pub fn uuid_null(c: &str) -> ColumnDef {
    ColumnDef::new(name(c)).uuid().null().to_owned()
}

pub fn int(c: &str) -> ColumnDef {
    ColumnDef::new(name(c)).integer().not_null().to_owned()
}

pub fn int_null(c: &str) -> ColumnDef {
    ColumnDef::new(name(c)).integer().null().to_owned()
}

pub fn big_null(c: &str) -> ColumnDef {
    ColumnDef::new(name(c)).big_integer().null().to_owned()
}

pub fn date_null(c: &str) -> ColumnDef {
    ColumnDef::new(name(c)).date().null().to_owned()
}

pub fn boolean(c: &str) -> ColumnDef {
    ColumnDef::new(name(c))
        .boolean()
        .not_null()
        .default(false)
        .to_owned()
}

pub fn double_null(c: &str) -> ColumnDef {
    ColumnDef::new(name(c)).double().null().to_owned()
}

/// A string column whose values are one of `values` (an enum stored as its English name).
pub fn enumeration(c: &str, values: &[&str]) -> ColumnDef {
    ColumnDef::new(name(c))
        .string()
        .not_null()
        .check(Expr::col(name(c)).is_in(values.iter().copied()))
        .to_owned()
}

/// A foreign key from `table.column` to `target.id`.
pub fn fk(table: &str, column: &str, target: &str, on_delete: ForeignKeyAction) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_{column}"))
        .from(name(table), name(column))
        .to(name(target), name("id"))
        .on_delete(on_delete)
        .to_owned()
}

pub fn index(table: &str, columns: &[&str]) -> IndexCreateStatement {
    let mut idx = Index::create();
    idx.name(format!("ix_{table}_{}", columns.join("_")))
        .table(name(table));
    for c in columns {
        idx.col(name(c));
    }
    idx.to_owned()
}

pub fn unique(table: &str, columns: &[&str]) -> IndexCreateStatement {
    let mut idx = index(table, columns);
    idx.name(format!("ux_{table}_{}", columns.join("_"))).unique();
    idx
}

/// Runs `sql`, the same text on both databases.
pub async fn run(manager: &SchemaManager<'_>, sql: &str) -> Result<(), DbErr> {
    manager.get_connection().execute_unprepared(sql).await?;
    Ok(())
}

/// Drops the index `name` where it exists (both databases spell it alike).
pub async fn drop_index_if_exists(manager: &SchemaManager<'_>, name: &str) -> Result<(), DbErr> {
    run(manager, &format!("DROP INDEX IF EXISTS {name}")).await
}

/// Runs `sql` on PostgreSQL only (SQLite has no equivalent, or needs none).
pub async fn on_postgres(manager: &SchemaManager<'_>, sql: &str) -> Result<(), DbErr> {
    if manager.get_database_backend() == sea_orm_migration::sea_orm::DbBackend::Postgres {
        manager.get_connection().execute_unprepared(sql).await?;
    }
    Ok(())
}

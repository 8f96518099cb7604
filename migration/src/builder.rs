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

/// Sets `target` of each row of `table` whose `source` is not null to what `value` makes of
/// `source`, where it gives something (None leaves the row as it is): for a rewrite SQL
/// cannot say alike on both databases. Row by row, by ID.
pub async fn rewrite_column(
    manager: &SchemaManager<'_>,
    table: &str,
    source: &str,
    target: &str,
    value: impl Fn(&str) -> Option<String>,
) -> Result<(), DbErr> {
    use sea_orm_migration::sea_orm::{DatabaseBackend, Statement, Value, prelude::Uuid};
    let db = manager.get_connection();
    let backend = manager.get_database_backend();
    let rows = db
        .query_all_raw(Statement::from_string(
            backend,
            format!("SELECT id, {source} AS source FROM {table} WHERE {source} IS NOT NULL"),
        ))
        .await?;
    let update = match backend {
        DatabaseBackend::Postgres => format!("UPDATE {table} SET {target} = $1 WHERE id = $2"),
        _ => format!("UPDATE {table} SET {target} = ? WHERE id = ?"),
    };
    for row in rows {
        let Some(new) = value(&row.try_get::<String>("", "source")?) else {
            continue;
        };
        let id: Uuid = row.try_get("", "id")?;
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            &update,
            [Value::from(new), Value::from(id)],
        ))
        .await?;
    }
    Ok(())
}

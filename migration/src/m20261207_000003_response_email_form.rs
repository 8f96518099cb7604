//! One form of each email address a consultation response was sent with: compatibility
//! characters as what they stand for, letters composed (NFKC), lowercase, as the server now
//! stores and looks them up. An address stored before in another form (a decomposed "ü", a
//! fullwidth letter) would not be found by an erasure or an export of the same address.
use sea_orm_migration::{
    prelude::*,
    sea_orm::{ConnectionTrait, DatabaseBackend, Statement, Value, prelude::Uuid},
};
use unicode_normalization::UnicodeNormalization;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        one_form_of_emails(manager).await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // The earlier forms are not kept.
        Ok(())
    }
}

/// Rewrites each response's email address in its one form (NFKC, lowercase).
pub async fn one_form_of_emails(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let backend = manager.get_database_backend();
    let rows = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT id, email FROM consultation_response WHERE email IS NOT NULL",
        ))
        .await?;
    let update = match backend {
        DatabaseBackend::Postgres => "UPDATE consultation_response SET email = $1 WHERE id = $2",
        _ => "UPDATE consultation_response SET email = ? WHERE id = ?",
    };
    for row in rows {
        let email: String = row.try_get("", "email")?;
        if email.is_ascii() && email == email.to_lowercase() {
            continue;
        }
        let one_form = email.nfkc().collect::<String>().to_lowercase();
        if one_form == email {
            continue;
        }
        let id: Uuid = row.try_get("", "id")?;
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            update,
            [Value::from(one_form), Value::from(id)],
        ))
        .await?;
    }
    Ok(())
}

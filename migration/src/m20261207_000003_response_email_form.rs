//! One form of each email address a consultation response was sent with: compatibility
//! characters as what they stand for, letters composed (NFKC), lowercase, as the server now
//! stores and looks them up. An address stored before in another form (a decomposed "ü", a
//! fullwidth letter) would not be found by an erasure or an export of the same address.
use sea_orm_migration::prelude::*;
use unicode_normalization::UnicodeNormalization;

use crate::builder::rewrite_column;

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
    rewrite_column(manager, "consultation_response", "email", "email", |email| {
        let one_form = email.nfkc().collect::<String>().to_lowercase();
        (one_form != email).then_some(one_form)
    })
    .await
}

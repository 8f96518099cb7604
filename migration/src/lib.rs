//! Database migrations, one file per change; a landed migration is never edited.
pub use sea_orm_migration::prelude::*;

mod builder;
mod m20261127_000001_domain;
mod m20261127_000002_access;
mod m20261127_000003_declined_proposals;
mod m20261127_000004_engagement_weights;
mod m20261127_000005_annual_review;
mod m20261127_000006_completed_on_backfill;
mod m20261127_000007_annual_review_frozen;
mod m20261202_000001_consultation;
mod m20261202_000003_consultation_weight;
mod m20261203_000001_action_location;
mod m20261203_000002_search_index;
mod m20261203_000003_consultation_duplicates;
mod m20261203_000004_change_feed;
mod m20261203_000005_webhooks;
mod m20261204_000001_proposer_foreign_key;
mod m20261205_000001_danish_collation;
mod m20261206_000001_text_lower;
mod m20261206_000002_audit_log_newest_first;
mod m20261206_000003_one_lead_department;
mod m20261206_000004_decline_message;
mod m20261206_000005_audit_response_text;
mod m20261207_000001_audit_response_reply;
mod m20261207_000002_audit_response_rejection_reason;
mod m20261207_000003_response_email_form;
mod m20261207_000004_review_entry_name;
mod m20261207_000005_one_line_names;
mod m20261207_000006_account_actor_names;
mod m20261207_000007_unsign_erased_responses;

pub use m20261127_000006_completed_on_backfill::backfill_completed_on;
pub use m20261207_000001_audit_response_reply::scrub_consultation_audit;
pub use m20261207_000003_response_email_form::one_form_of_emails;
pub use m20261207_000005_one_line_names::one_line_names;
pub use m20261207_000006_account_actor_names::account_actor_names;
pub use m20261207_000007_unsign_erased_responses::unsign_erased_responses;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261127_000001_domain::Migration),
            Box::new(m20261127_000002_access::Migration),
            Box::new(m20261127_000003_declined_proposals::Migration),
            Box::new(m20261127_000004_engagement_weights::Migration),
            Box::new(m20261127_000005_annual_review::Migration),
            Box::new(m20261127_000006_completed_on_backfill::Migration),
            Box::new(m20261127_000007_annual_review_frozen::Migration),
            Box::new(m20261202_000001_consultation::Migration),
            Box::new(m20261202_000003_consultation_weight::Migration),
            Box::new(m20261203_000001_action_location::Migration),
            Box::new(m20261203_000002_search_index::Migration),
            Box::new(m20261203_000003_consultation_duplicates::Migration),
            Box::new(m20261203_000004_change_feed::Migration),
            Box::new(m20261203_000005_webhooks::Migration),
            Box::new(m20261204_000001_proposer_foreign_key::Migration),
            Box::new(m20261205_000001_danish_collation::Migration),
            Box::new(m20261206_000001_text_lower::Migration),
            Box::new(m20261206_000002_audit_log_newest_first::Migration),
            Box::new(m20261206_000003_one_lead_department::Migration),
            Box::new(m20261206_000004_decline_message::Migration),
            Box::new(m20261206_000005_audit_response_text::Migration),
            Box::new(m20261207_000001_audit_response_reply::Migration),
            Box::new(m20261207_000002_audit_response_rejection_reason::Migration),
            Box::new(m20261207_000003_response_email_form::Migration),
            Box::new(m20261207_000004_review_entry_name::Migration),
            Box::new(m20261207_000005_one_line_names::Migration),
            Box::new(m20261207_000006_account_actor_names::Migration),
            Box::new(m20261207_000007_unsign_erased_responses::Migration),
        ]
    }
}

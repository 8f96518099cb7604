//! The `account` table: people who sign in (staff, admins, community editors).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "account")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Written to the audit log as `[personoplysning]`: staff read the log, and only admins
    /// the accounts.
    #[serde(serialize_with = "crate::json::redacted_text")]
    pub email: String,
    pub display_name: String,
    /// argon2 PHC string. Serialised (for the audit log) only as a marker of the password,
    /// not the hash: a change shows as a change, and nothing of the hash is told.
    #[sea_orm(column_type = "Text", nullable)]
    #[serde(rename = "password", serialize_with = "password_marker")]
    pub password_hash: Option<String>,
    pub role: AccountRole,
    pub disabled: bool,
    pub last_login_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::None)",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum AccountRole {
    Staff,
    Admin,
    CommunityEditor,
}

/// `null` without a password; with one, `[skjult …]` and a short digest of its hash (which is
/// salted anew at every change), so the audit log shows that it changed and nothing more.
fn password_marker<S: serde::Serializer>(hash: &Option<String>, serializer: S) -> Result<S::Ok, S::Error> {
    use std::hash::{Hash, Hasher};
    match hash {
        None => serializer.serialize_none(),
        Some(h) => {
            let mut hasher = std::hash::DefaultHasher::new();
            h.hash(&mut hasher);
            serializer.serialize_str(&format!("[skjult {:06x}]", hasher.finish() & 0xff_ffff))
        }
    }
}

//! The account and API-key commands of the `lup` command line. They write through the same
//! code as the mutations, in one transaction each, recorded in the audit log as
//! `system:cli`.
use entity::{account::AccountRole, api_key, community, organization};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use crate::{
    account::{self, ApiKeyScope, NewAccount},
    auth::{Viewer, secret},
    write::{Failure, Write},
};

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Invalid(String),
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
}

fn failure(f: Failure) -> CliError {
    match f {
        Failure::Refused(r) | Failure::Raced(r) => CliError::Invalid(
            r.0.iter()
                .map(|e| format!("{}: {}", flag(&e.field.join(".")), e.message))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        Failure::Error(e) => CliError::Invalid(e.message().to_owned()),
    }
}

/// The command line's flag for an input field a refusal names (`communityIds.0`:
/// `--community`), so the message speaks of what the operator typed.
fn flag(field: &str) -> String {
    let name = field.split('.').next().unwrap_or(field);
    match name {
        "communityIds" => "--community".into(),
        "displayName" | "name" => "--name".into(),
        "email" => "--email".into(),
        "password" => "--password-stdin".into(),
        "role" => "--role".into(),
        "organizationId" => "--organization".into(),
        _ => field.to_owned(),
    }
}

/// Creates an account; without a password, generates one and returns it.
pub async fn create_account(
    db: &DatabaseConnection,
    email: &str,
    name: &str,
    role: AccountRole,
    community_slugs: &[String],
    password: Option<String>,
) -> Result<Option<String>, CliError> {
    let mut communities = Vec::new();
    for slug in community_slugs {
        let c = community::Entity::find()
            .filter(community::Column::Slug.eq(slug))
            .one(db)
            .await?
            .ok_or_else(|| CliError::Invalid(format!("no community with the slug `{slug}`")))?;
        communities.push(c.id);
    }
    let generated = password
        .is_none()
        .then(|| secret::new_refresh_token().replace("rt_", ""));
    let password = password.or_else(|| generated.clone());
    let new = NewAccount::parse(email, name, password.as_deref(), role, Some(communities))
        .await
        .map_err(failure)?;
    let w = Write::begin_as(db, Viewer::system("cli"))
        .await
        .map_err(|e| failure(e.into()))?;
    new.insert(&w).await.map_err(failure)?;
    w.commit().await.map_err(|e| failure(e.into()))?;
    Ok(generated)
}

/// Creates an API key for the organisation with `org_slug`; returns the key (shown once).
pub async fn create_api_key(
    db: &DatabaseConnection,
    org_slug: &str,
    name: &str,
    express_interest: bool,
) -> Result<String, CliError> {
    let org = organization::Entity::find()
        .filter(organization::Column::Slug.eq(org_slug))
        .one(db)
        .await?
        .ok_or_else(|| CliError::Invalid(format!("no organisation with the slug `{org_slug}`")))?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > crate::write::MAX_NAME {
        return Err(CliError::Invalid(
            "the key's name must be 1–200 characters".into(),
        ));
    }
    let mut scopes = vec![ApiKeyScope::Read];
    if express_interest {
        scopes.push(ApiKeyScope::ExpressInterest);
    }
    let w = Write::begin_as(db, Viewer::system("cli"))
        .await
        .map_err(|e| failure(e.into()))?;
    let (_, key) = account::create_api_key(&w, org.id, name.to_owned(), &scopes)
        .await
        .map_err(failure)?;
    w.commit().await.map_err(|e| failure(e.into()))?;
    Ok(key)
}

/// Revokes the API key with this prefix (or this whole key).
pub async fn revoke_api_key(db: &DatabaseConnection, prefix_or_key: &str) -> Result<Revoked, CliError> {
    let given = prefix_or_key.trim();
    // A whole key (`lup_<prefix>_<secret>`) must be that key; a prefix names one by itself.
    let (prefix, whole) = match given.strip_prefix("lup_").and_then(|rest| rest.split_once('_')) {
        Some((prefix, _)) => (prefix, true),
        None => (given.strip_prefix("lup_").unwrap_or(given), false),
    };
    // Never repeat a secret back: only the prefix is named in what is printed.
    let shown: String = prefix.chars().take(40).collect();
    let key = api_key::Entity::find()
        .filter(api_key::Column::Prefix.eq(prefix))
        .one(db)
        .await?
        .ok_or_else(|| CliError::Invalid(format!("no API key with the prefix `{shown}`")))?;
    if whole && key.key_hash != crate::auth::secret::sha256_hex(given) {
        return Err(CliError::Invalid(format!(
            "the key given is not the key with the prefix `{shown}` (its secret differs); give the prefix alone to revoke that key"
        )));
    }
    if let Some(at) = key.revoked_at {
        return Ok(Revoked::Already(at));
    }
    let w = Write::begin_as(db, Viewer::system("cli"))
        .await
        .map_err(|e| failure(e.into()))?;
    account::revoke_api_key(&w, key).await.map_err(failure)?;
    w.commit().await.map_err(|e| failure(e.into()))?;
    Ok(Revoked::Now)
}

/// What `revoke-api-key` did.
pub enum Revoked {
    Now,
    /// The key was revoked already, then.
    Already(chrono::DateTime<chrono::Utc>),
}

//! Demo accounts for development only: one of each role, all with the password
//! [`DEMO_PASSWORD`], and a partner API key [`DEMO_API_KEY`] — both public in the README, so
//! they are never created outside `APP_ENV=development`.
use entity::{account, account_community, api_key, community, organization};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, PaginatorTrait,
    QueryFilter, Set, TransactionTrait,
};
use uuid::Uuid;

use super::SeedError;
use crate::{
    auth::{Viewer, secret},
    relay::OtherType,
    write::{Failure, Write, new_row},
};

pub const DEMO_PASSWORD: &str = "demo-adgangskode";
pub const DEMO_API_KEY: &str = "lup_demodemo_udviklingsnoegle-kun-til-demo";
pub const DEMO_EMAIL_DOMAIN: &str = "@lup.test";

/// (email, name, role, community slug of an editor)
const ACCOUNTS: &[(&str, &str, account::AccountRole, Option<&str>)] = &[
    (
        "admin@lup.test",
        "Demo Administrator",
        account::AccountRole::Admin,
        None,
    ),
    (
        "koordinator@lup.test",
        "Demo Koordinator",
        account::AccountRole::Staff,
        None,
    ),
    (
        "redaktoer.gjoel@lup.test",
        "Demo Lokalredaktør, Gjøl",
        account::AccountRole::CommunityEditor,
        Some("gjoel"),
    ),
];

/// Outside development the demo accounts and key (whose secrets the README publishes) must
/// not work: disables (ending their sessions) and revokes any found, e.g. in a database copied
/// from a development run, on the audit log as `system:production`. Returns how many it
/// neutralised.
pub async fn neutralise(db: &DatabaseConnection) -> Result<u64, SeedError> {
    use crate::error::ApiError;
    // Nothing here is a user's input: a refusal or an error is the database's.
    let failed = |f: Failure| match f {
        Failure::Error(ApiError::Internal(e) | ApiError::Unavailable(e) | ApiError::TimedOut(e)) => {
            SeedError::Db(e)
        }
        Failure::Error(e) => SeedError::Db(sea_orm::DbErr::Custom(e.message().to_owned())),
        Failure::Refused(r) | Failure::Raced(r) => {
            SeedError::Db(sea_orm::DbErr::Custom(format!("{:?}", r.0)))
        }
    };
    let w = Write::begin_as(db, Viewer::system("production"))
        .await
        .map_err(|e| failed(e.into()))?;
    // Read in the write, the rows locked (PostgreSQL; SQLite's writes are serial): instances
    // starting together neutralise each row once, the later ones finding nothing left to do.
    let accounts = w.locking(
        account::Entity::find()
            .filter(account::Column::Email.ends_with(DEMO_EMAIL_DOMAIN))
            .filter(account::Column::Disabled.eq(false)),
    );
    let keys = w.locking(
        api_key::Entity::find()
            .filter(api_key::Column::KeyHash.eq(secret::sha256_hex(DEMO_API_KEY)))
            .filter(api_key::Column::RevokedAt.is_null()),
    );
    let accounts = accounts.all(w.txn()).await?;
    let keys = keys.all(w.txn()).await?;
    let count = (accounts.len() + keys.len()) as u64;
    for a in accounts {
        let row = account::ActiveModel {
            disabled: Set(true),
            ..Default::default()
        };
        w.update::<account::Entity>(OtherType::Account, &a, a.version, row)
            .await
            .map_err(failed)?;
        crate::account::revoke_sessions(w.txn(), a.id)
            .await
            .map_err(|e| failed(e.into()))?;
    }
    for k in keys {
        crate::account::revoke_api_key(&w, k).await.map_err(failed)?;
    }
    w.commit().await.map_err(|e| failed(e.into()))?;
    Ok(count)
}

/// Creates the demo accounts and key when there are no accounts yet; true when it did.
pub async fn load_if_none(db: &DatabaseConnection) -> Result<bool, SeedError> {
    // One transaction: instances starting together on an empty database race to create the
    // accounts; the one that loses finds them there (a unique email) and leaves them be.
    let txn = db.begin().await?;
    match load_in(&txn).await {
        Ok(created) => {
            txn.commit().await?;
            Ok(created)
        }
        Err(SeedError::Db(e))
            if matches!(e.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_))) =>
        {
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

async fn load_in(db: &DatabaseTransaction) -> Result<bool, SeedError> {
    if account::Entity::find().count(db).await? > 0 {
        return Ok(false);
    }
    let hash = secret::hash_password(DEMO_PASSWORD)
        .map_err(|e| SeedError::Db(sea_orm::DbErr::Custom(e.to_string())))?;
    let now = crate::common::now();
    for (email, name, role, community_slug) in ACCOUNTS {
        let id = Uuid::now_v7();
        account::ActiveModel {
            id: Set(id),
            email: Set((*email).to_owned()),
            display_name: Set((*name).to_owned()),
            password_hash: Set(Some(hash.clone())),
            role: Set(*role),
            disabled: Set(false),
            last_login_at: Set(None),
            ..new_row(now)
        }
        .insert(db)
        .await?;
        if let Some(slug) = community_slug
            && let Some(c) = community::Entity::find()
                .filter(community::Column::Slug.eq(*slug))
                .one(db)
                .await?
        {
            account_community::ActiveModel {
                account_id: Set(id),
                community_id: Set(c.id),
            }
            .insert(db)
            .await?;
        }
    }
    // The key belongs to the first foundation of the demo data.
    if let Some(org) = organization::Entity::find()
        .filter(organization::Column::Kind.eq(organization::OrganizationKind::Foundation))
        .one(db)
        .await?
    {
        api_key::ActiveModel {
            id: Set(Uuid::now_v7()),
            organization_id: Set(org.id),
            name: Set("Demonøgle".into()),
            prefix: Set("demodemo".into()),
            key_hash: Set(secret::sha256_hex(DEMO_API_KEY)),
            scopes: Set("read express_interest".into()),
            created_by_account_id: Set(None),
            last_used_at: Set(None),
            revoked_at: Set(None),
            ..new_row(now)
        }
        .insert(db)
        .await?;
    }
    Ok(true)
}

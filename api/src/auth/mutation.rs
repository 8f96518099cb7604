//! Signing in: `login` gives a short-lived access token and a refresh token; `refreshToken`
//! swaps a refresh token for a new pair (rotation: each refresh token works once, and
//! presenting a used one again revokes its whole family, since it must have been copied);
//! `logout` revokes the family. `viewer` says who the caller is.
use std::sync::Arc;

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, SubsecRound, Utc};
use entity::{account, refresh_token};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set, sea_query::Expr,
};
use uuid::Uuid;

use super::{Role, Viewer, guard::viewer, secret, token::Tokens};
use crate::{
    account::Account,
    audit::SessionEvent,
    community::Community,
    error::ApiError,
    loader,
    organization::Organization,
    relay::{NodeType, OtherType, TypeName},
    write::{Check, UserError, UserErrorCode},
};

#[derive(InputObject)]
pub struct LoginInput {
    pub email: String,
    pub password: String,
}

#[derive(InputObject)]
pub struct RefreshTokenInput {
    pub refresh_token: String,
}

#[derive(InputObject)]
pub struct LogoutInput {
    pub refresh_token: String,
    /// Ends every session of the token's account (every browser and device it is signed in
    /// on), not only this one. Any unexpired refresh token of the account that was not
    /// revoked does, also one already swapped for a new one.
    #[graphql(default)]
    pub everywhere: bool,
}

/// Tokens for an account. Send the access token as `Authorization: Bearer <accessToken>`;
/// before it expires, swap the refresh token for new ones with `refreshToken`.
#[derive(SimpleObject)]
pub struct AuthPayload {
    pub access_token: Option<String>,
    /// Always `Bearer`.
    pub token_type: Option<&'static str>,
    pub access_token_expires_at: Option<DateTime<Utc>>,
    /// Works once: each use returns a new one.
    pub refresh_token: Option<String>,
    pub refresh_token_expires_at: Option<DateTime<Utc>>,
    pub user_errors: Vec<UserError>,
}

impl AuthPayload {
    fn refused(user_errors: Vec<UserError>) -> Self {
        AuthPayload {
            access_token: None,
            token_type: None,
            access_token_expires_at: None,
            refresh_token: None,
            refresh_token_expires_at: None,
            user_errors,
        }
    }
}

#[derive(SimpleObject)]
pub struct LogoutPayload {
    /// Whether a session was ended (false when the token was unknown or already ended).
    pub ended: bool,
}

fn unauthenticated(message: &str) -> async_graphql::Error {
    ApiError::Unauthenticated(message.into()).into()
}

/// Issues an access token and a refresh token of `family` for `account`.
async fn issue(
    db: &impl sea_orm::ConnectionTrait,
    tokens: &Tokens,
    account: &account::Model,
    family: Uuid,
    refresh_expires: Option<DateTime<Utc>>,
) -> Result<AuthPayload, ApiError> {
    let (access, expires) = tokens
        .issue(account.id, account.role.into(), family)
        .map_err(ApiError::internal)?;
    let refresh = secret::new_refresh_token();
    let now = crate::common::now();
    // A session lasts the refresh lifetime from its login: renewing does not extend it.
    // In microseconds, as the databases keep it, so the payload says what was stored.
    let refresh_expires = refresh_expires
        .unwrap_or(now + tokens.refresh_ttl)
        .trunc_subsecs(6);
    refresh_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        account_id: Set(account.id),
        family_id: Set(family),
        token_hash: Set(secret::sha256_hex(&refresh)),
        created_at: Set(now),
        expires_at: Set(refresh_expires),
        used_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(AuthPayload {
        access_token: Some(access),
        token_type: Some("Bearer"),
        access_token_expires_at: Some(expires),
        refresh_token: Some(refresh),
        refresh_token_expires_at: Some(refresh_expires),
        user_errors: Vec::new(),
    })
}

async fn revoke_family(db: &impl sea_orm::ConnectionTrait, family: Uuid) -> Result<u64, ApiError> {
    Ok(refresh_token::Entity::update_many()
        .col_expr(
            refresh_token::Column::RevokedAt,
            Expr::value(crate::common::now()),
        )
        .filter(refresh_token::Column::FamilyId.eq(family))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?
        .rows_affected)
}

#[derive(Default)]
pub struct AuthMutation;

#[Object]
impl AuthMutation {
    /// Signs an account in with its email and password. A wrong email or password is
    /// `UNAUTHENTICATED` (which of the two is not told); a malformed input is a user error.
    /// After too many failures with one address (10 from one client, or 50 in all, within
    /// 15 minutes) it is `RATE_LIMITED` until that time has passed. A request signs in once.
    async fn login(&self, ctx: &Context<'_>, input: LoginInput) -> Result<AuthPayload> {
        let mut check = Check::default();
        let email = check.email("email", &input.email);
        // As it was set: not trimmed (spaces at either end are part of a password).
        let password = match input.password.chars().count() {
            0 => {
                check.add("password", UserErrorCode::Required, "must not be empty");
                None
            }
            n if n > crate::account::MAX_PASSWORD => {
                check.add(
                    "password",
                    UserErrorCode::TooLong,
                    format!("may be at most {} characters", crate::account::MAX_PASSWORD),
                );
                None
            }
            _ => Some(input.password.clone()),
        };
        let (Some(email), Some(password)) = (email, password) else {
            return Ok(AuthPayload::refused(
                check.done().err().map(|r| r.0).unwrap_or_default(),
            ));
        };
        // Counted, or held back after too many tries, before the password is checked.
        let attempt = super::throttle::attempt(ctx, &email).await?;
        let db = ctx.data_unchecked::<DatabaseConnection>();
        let tokens = ctx.data_unchecked::<Arc<Tokens>>();
        let found = account::Entity::find()
            .filter(account::Column::Email.eq(&email))
            .one(db)
            .await
            .map_err(ApiError::from)?;
        let hash = found.as_ref().and_then(|a| a.password_hash.clone());
        // Hash even when there is no such account, so timing does not tell who has one.
        let password_ok = {
            let hash = hash.unwrap_or_else(|| secret::dummy_hash().to_owned());
            secret::verify_password_async(password, hash)
                .await
                .map_err(ApiError::internal)?
        };
        let account = match found {
            Some(a) if password_ok && a.password_hash.is_some() && !a.disabled => a,
            other => {
                // Without the address: the log is kept apart from the data's retention rules,
                // and an address with no account may be anyone's (a typo, a stranger's).
                match &other {
                    Some(account) => tracing::info!(account = %account.id, "failed login"),
                    None => tracing::info!("failed login: no account has that email"),
                }
                // On the account's record, for an admin looking into a break-in (an address
                // with no account is not kept: it may be anyone's typo).
                if let Some(account) = other {
                    let txn = crate::db::begin_write(db).await.map_err(ApiError::from)?;
                    record(&txn, &account, SessionEvent::LoginFailed).await?;
                    txn.commit().await.map_err(ApiError::from)?;
                }
                return Err(unauthenticated(
                    "the email or the password is wrong, or the account is disabled",
                ));
            }
        };
        let txn = crate::db::begin_write(db).await.map_err(ApiError::from)?;
        account::Entity::update_many()
            .col_expr(account::Column::LastLoginAt, Expr::value(crate::common::now()))
            .filter(account::Column::Id.eq(account.id))
            .exec(&txn)
            .await
            .map_err(ApiError::from)?;
        let payload = issue(&txn, tokens, &account, Uuid::now_v7(), None).await?;
        record(&txn, &account, SessionEvent::Login).await?;
        txn.commit().await.map_err(ApiError::from)?;
        if let Some(a) = attempt {
            a.succeeded().await;
        }
        Ok(payload)
    }

    /// Swaps a refresh token for a new access token and a new refresh token.
    async fn refresh_token(&self, ctx: &Context<'_>, input: RefreshTokenInput) -> Result<AuthPayload> {
        let db = ctx.data_unchecked::<DatabaseConnection>();
        let tokens = ctx.data_unchecked::<Arc<Tokens>>();
        let txn = crate::db::begin_write(db).await.map_err(ApiError::from)?;
        let refused = "the refresh token is unknown, used, revoked or expired; sign in again";
        let Some(found) = refresh_token::Entity::find()
            .filter(refresh_token::Column::TokenHash.eq(secret::sha256_hex(input.refresh_token.trim())))
            .one(&txn)
            .await
            .map_err(ApiError::from)?
        else {
            return Err(unauthenticated(refused));
        };
        if found.used_at.is_some() {
            // A used token presented again was copied: end every session of its family.
            revoke_family(&txn, found.family_id).await?;
            if let Some(account) = account::Entity::find_by_id(found.account_id)
                .one(&txn)
                .await
                .map_err(ApiError::from)?
            {
                record(&txn, &account, SessionEvent::RefreshTokenReused).await?;
            }
            txn.commit().await.map_err(ApiError::from)?;
            tracing::warn!(account = %found.account_id, "a used refresh token was presented again; its sessions are revoked");
            return Err(unauthenticated(refused));
        }
        if found.revoked_at.is_some() || found.expires_at <= crate::common::now() {
            return Err(unauthenticated(refused));
        }
        // Marks it used only if nobody else did in the meantime: two concurrent refreshes
        // with one token get one new pair.
        let marked = refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::UsedAt, Expr::value(crate::common::now()))
            .filter(refresh_token::Column::Id.eq(found.id))
            .filter(refresh_token::Column::UsedAt.is_null())
            .exec(&txn)
            .await
            .map_err(ApiError::from)?;
        if marked.rows_affected == 0 {
            // Someone else used it at the same moment: a copy, as with any reuse.
            drop(txn);
            revoke_family(db, found.family_id).await?;
            return Err(unauthenticated(refused));
        }
        let account = account::Entity::find_by_id(found.account_id)
            .one(&txn)
            .await
            .map_err(ApiError::from)?
            .filter(|a| !a.disabled)
            .ok_or_else(|| unauthenticated(refused))?;
        let payload = issue(&txn, tokens, &account, found.family_id, Some(found.expires_at)).await?;
        record(&txn, &account, SessionEvent::RefreshToken).await?;
        txn.commit().await.map_err(ApiError::from)?;
        Ok(payload)
    }

    /// Ends the session a refresh token belongs to (with `everywhere`, every session of its
    /// account): their refresh tokens and access tokens are refused from now on.
    async fn logout(&self, ctx: &Context<'_>, input: LogoutInput) -> Result<LogoutPayload> {
        let db = ctx.data_unchecked::<DatabaseConnection>();
        let found = refresh_token::Entity::find()
            .filter(refresh_token::Column::TokenHash.eq(secret::sha256_hex(input.refresh_token.trim())))
            .one(db)
            .await
            .map_err(ApiError::from)?;
        let Some(found) = found else {
            return Ok(LogoutPayload { ended: false });
        };
        let txn = crate::db::begin_write(db).await.map_err(ApiError::from)?;
        // Any unexpired token of the account that has not been revoked will do for
        // `everywhere`, also one swapped already: whoever finds a copy of theirs in use signs
        // it out with their own. A revoked one (signed out, a copy found, a new password) ends
        // nothing more, so a stolen token stops being a way to sign the account out.
        let live = found.revoked_at.is_none() && found.expires_at > crate::common::now();
        let ended = if input.everywhere && live {
            crate::account::revoke_sessions(&txn, found.account_id).await? > 0
        } else {
            revoke_family(&txn, found.family_id).await? > 0
        };
        if ended
            && let Some(account) = account::Entity::find_by_id(found.account_id)
                .one(&txn)
                .await
                .map_err(ApiError::from)?
        {
            record(&txn, &account, SessionEvent::Logout).await?;
        }
        txn.commit().await.map_err(ApiError::from)?;
        Ok(LogoutPayload { ended })
    }
}

/// Sign-ins and sign-outs go in the audit log too, as the account's own acts, signed as the
/// account is now: read again in the transaction and held (on PostgreSQL) until it ends, so an
/// erasure (`eraseAccount`) that began meanwhile waits for this record and takes the email out
/// of it, and one that ended meanwhile leaves it signed as erased.
async fn record(
    txn: &sea_orm::DatabaseTransaction,
    account: &account::Model,
    event: SessionEvent,
) -> Result<(), ApiError> {
    use sea_orm::{ConnectionTrait, QuerySelect};
    let find = account::Entity::find_by_id(account.id);
    let find = if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
        find.lock_shared()
    } else {
        find
    };
    let Some(account) = find.one(txn).await? else {
        return Ok(());
    };
    let account = &account;
    entity::audit_log::ActiveModel {
        id: Set(Uuid::now_v7()),
        occurred_at: Set(crate::common::now()),
        actor_kind: Set(entity::audit_log::ActorKind::Account),
        actor_id: Set(Some(account.id)),
        actor_label: Set(crate::account::actor_label(account)),
        operation: Set(event.as_str().to_owned()),
        entity: Set(OtherType::Account.name().to_owned()),
        entity_id: Set(account.id),
        changes: Set("{}".to_owned()),
    }
    .insert(txn)
    .await?;
    Ok(())
}

pub struct ViewerInfo(Viewer);

/// Who the caller is.
#[Object(name = "Viewer")]
impl ViewerInfo {
    async fn role(&self) -> Role {
        self.0.role
    }
    /// The role in Danish.
    async fn role_label(&self) -> &'static str {
        self.0.role.label()
    }
    /// The signed-in account; null for anonymous callers, partners and external identities.
    #[graphql(visible = "crate::auth::visible_to_accounts")]
    async fn account(&self, ctx: &Context<'_>) -> Result<Option<Account>> {
        let Some(id) = self.0.account_id else {
            return Ok(None);
        };
        let db = ctx.data_unchecked::<DatabaseConnection>();
        Ok(account::Entity::find_by_id(id)
            .one(db)
            .await
            .map_err(ApiError::from)?
            .map(Account))
    }
    /// The communities a community editor may edit.
    async fn communities(&self, ctx: &Context<'_>) -> Result<Vec<Community>> {
        let mut out = Vec::with_capacity(self.0.communities.len());
        for id in self.0.communities.iter() {
            if let Some(c) = loader::one(ctx, &crate::community::BY_ID, *id).await? {
                out.push(Community(c));
            }
        }
        Ok(out)
    }
    /// The partner organisation an API key belongs to.
    async fn organization(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
        let Some(id) = self.0.organization_id else {
            return Ok(None);
        };
        Ok(loader::one(ctx, &crate::organization::BY_ID, id)
            .await?
            .map(Organization))
    }
    /// What the partner's API key may do, e.g. `[READ, EXPRESS_INTEREST]`: a key without
    /// `EXPRESS_INTEREST` may read and register webhooks, but not propose to join actions.
    /// Empty for everyone else (a client may ask it whoever signs in).
    async fn scopes(&self) -> Vec<crate::account::ApiKeyScope> {
        self.0
            .scopes
            .iter()
            .filter_map(|s| crate::account::ApiKeyScope::parse(s))
            .collect()
    }
    /// Whether the caller may change this community's content; false for a community that
    /// does not exist.
    async fn may_edit_community(&self, ctx: &Context<'_>, community_id: async_graphql::ID) -> Result<bool> {
        let id = crate::relay::decode_as(&community_id, NodeType::Community)?;
        Ok(self.0.may_edit_community(id) && loader::one(ctx, &crate::community::BY_ID, id).await?.is_some())
    }
}

#[derive(Default)]
pub struct ViewerQuery;

#[Object]
impl ViewerQuery {
    /// Who the caller is: anonymous, a partner (API key) or a signed-in account.
    #[graphql(cache_control(no_cache))]
    async fn viewer(&self, ctx: &Context<'_>) -> ViewerInfo {
        ViewerInfo(viewer(ctx).into_owned())
    }
}

crate::labels::enum_labels!(Role {
    Anonymous => "Anonym",
    Partner => "Partner",
    CommunityEditor => "Lokalredaktør",
    Staff => "Medarbejder",
    Admin => "Administrator",
});

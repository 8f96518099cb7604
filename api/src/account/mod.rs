//! Accounts (staff, admins, community editors) and partners' API keys: admins manage them,
//! everyone signed in sees their own account. The command line uses the same functions.
use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object, Result, connection::Connection};
use chrono::{DateTime, Utc};
use entity::{
    account::{self, AccountRole as DbRole},
    account_community, api_key,
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set, sea_query::Order};
use uuid::Uuid;

use crate::{
    auth::{Require, secret, visible_to_accounts, visible_to_admins},
    community::Community,
    error::ApiError,
    links, loader,
    organization::Organization,
    pagination::{ConnectionFields, Cursor, Window},
    relay::{self, NodeType, OtherType},
    write::{
        Check, Failure, MAX_NAME, MaybeRef, Refused, UserErrorCode, Write, finish, invalid, mutate, new_row,
        payload, set_if,
    },
};

crate::labels::labelled_enum!(
    /// The role of an account.
    AccountRole = "entity::account::AccountRole" {
        Staff => "Medarbejder",
        Admin => "Administrator",
        CommunityEditor => "Lokalredaktør",
    }
);

/// What a partner's API key may do.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ApiKeyScope {
    /// Read the public data, by query, subscription or webhook (always granted).
    Read,
    /// Propose to join actions with `expressInterest`.
    ExpressInterest,
}

impl ApiKeyScope {
    /// As stored in `api_key.scopes` (space-separated).
    pub fn as_str(self) -> &'static str {
        match self {
            ApiKeyScope::Read => "read",
            ApiKeyScope::ExpressInterest => "express_interest",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "read" => Some(ApiKeyScope::Read),
            "express_interest" => Some(ApiKeyScope::ExpressInterest),
            _ => None,
        }
    }
}

crate::labels::enum_labels!(ApiKeyScope {
    Read => "Læse offentlige data",
    ExpressInterest => "Melde interesse for indsatser",
});

pub const MIN_PASSWORD: usize = 12;
pub const MAX_PASSWORD: usize = 200;

pub struct Account(pub account::Model);

/// A person who signs in. Visible to admins, and to its holder (`viewer { account }`).
#[Object(visible = "visible_to_accounts")]
impl Account {
    pub async fn id(&self) -> ID {
        relay::encode(OtherType::Account, self.0.id)
    }
    async fn email(&self) -> &str {
        &self.0.email
    }
    async fn display_name(&self) -> &str {
        &self.0.display_name
    }
    async fn role(&self) -> AccountRole {
        self.0.role.into()
    }
    async fn role_label(&self) -> &'static str {
        AccountRole::from(self.0.role).label()
    }
    /// The communities a community editor may edit.
    async fn communities(&self, ctx: &Context<'_>) -> Result<Vec<Community>> {
        let db = ctx.data_unchecked::<sea_orm::DatabaseConnection>();
        let ids = links::of::<account_community::Entity>(db, self.0.id)
            .await
            .map_err(ApiError::from)?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(c) = loader::one(ctx, &crate::community::BY_ID, id).await? {
                out.push(Community(c));
            }
        }
        Ok(out)
    }
    async fn disabled(&self) -> bool {
        self.0.disabled
    }
    async fn last_login_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_login_at
    }
    #[graphql(flatten)]
    async fn stamps(&self) -> crate::common::Stamps {
        crate::common::Stamped::stamps(&self.0)
    }
}

pub struct ApiKey(pub api_key::Model);

/// A partner's API key. Its secret is shown once, when it is created. Visible to admins.
#[Object(visible = "visible_to_admins")]
impl ApiKey {
    pub async fn id(&self) -> ID {
        relay::encode(OtherType::ApiKey, self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The start of the key (`lup_<prefix>_…`), to tell keys apart.
    async fn prefix(&self) -> &str {
        &self.0.prefix
    }
    async fn organization(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
        Ok(
            loader::one(ctx, &crate::organization::BY_ID, self.0.organization_id)
                .await?
                .map(Organization),
        )
    }
    async fn scopes(&self) -> Vec<ApiKeyScope> {
        self.0
            .scopes
            .split_whitespace()
            .filter_map(ApiKeyScope::parse)
            .collect()
    }
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
}

#[derive(InputObject)]
pub struct CreateAccountInput {
    pub email: String,
    pub display_name: String,
    /// At least 12 characters. Leave out for accounts that sign in elsewhere.
    pub password: Option<String>,
    pub role: AccountRole,
    /// The communities a community editor may edit.
    #[graphql(default)]
    pub community_ids: Vec<ID>,
}

#[derive(InputObject)]
pub struct UpdateAccountInput {
    pub id: ID,
    pub version: i32,
    /// The address the account signs in with (another account's is TAKEN). Its sessions go on.
    pub email: MaybeUndefined<String>,
    pub display_name: MaybeUndefined<String>,
    pub role: MaybeUndefined<AccountRole>,
    /// Replaces the communities an editor may edit.
    pub community_ids: MaybeUndefined<Vec<ID>>,
    pub disabled: MaybeUndefined<bool>,
    /// Sets a new password.
    pub password: MaybeUndefined<String>,
}

#[derive(InputObject)]
pub struct ChangePasswordInput {
    pub current_password: String,
    pub new_password: String,
}

#[derive(InputObject)]
pub struct CreateApiKeyInput {
    pub organization_id: ID,
    /// What the key is for, e.g. "Nordea-fondens projektportal".
    pub name: String,
    /// Defaults to reading and expressing interest. Reading is always granted: `[]` (or
    /// `[READ]`) gives a key that only reads: queries, subscriptions and webhooks (which
    /// deliver what the key may read), and no proposals.
    pub scopes: Option<Vec<ApiKeyScope>>,
}

#[derive(InputObject)]
pub struct RevokeApiKeyInput {
    pub id: ID,
}

/// `{id, version}` of a disabled account.
#[derive(InputObject)]
pub struct EraseAccountInput {
    pub id: ID,
    pub version: i32,
}

payload!(CreateAccountPayload, account: Account);
payload!(UpdateAccountPayload, account: Account);
payload!(ChangePasswordPayload, account: Account);
payload!(RevokeApiKeyPayload, api_key: ApiKey);
payload!(
    /// The account as it is kept after erasure: a row with no personal data left.
    EraseAccountPayload,
    account: Account
);

payload!(
    /// The new key and, once only, its secret.
    CreateApiKeyPayload,
    api_key: ApiKey;
    /// The whole key, to send as `X-Api-Key`. It is not stored and cannot be shown again.
    key: Option<String>,
);

/// A new password, kept as it is given (spaces at either end too: signing in takes it as it
/// is): 12–200 characters, not only white space, no control characters (which no keyboard
/// types the same way twice).
fn check_password(check: &mut Check, field: &str, password: &str) -> Option<String> {
    let n = password.chars().count();
    if n < MIN_PASSWORD {
        check.add(
            field,
            UserErrorCode::OutOfRange,
            format!("must be at least {MIN_PASSWORD} characters"),
        );
        None
    } else if n > MAX_PASSWORD {
        check.add(
            field,
            UserErrorCode::TooLong,
            format!("may be at most {MAX_PASSWORD} characters"),
        );
        None
    } else if password.trim().is_empty() {
        check.add(field, UserErrorCode::Required, "must not be only white space");
        None
    } else if password.chars().any(char::is_control) {
        check.add(field, UserErrorCode::Invalid, "must not hold control characters");
        None
    } else {
        Some(password.to_owned())
    }
}

/// Hashes a password. Called before a mutation's transaction begins: on SQLite that
/// transaction holds the write lock, and hashing takes a while.
async fn hash(password: String) -> Result<String, ApiError> {
    secret::hash_password_async(password)
        .await
        .map_err(ApiError::internal)
}

/// Replaces the communities an account edits and records the change; whether there was one.
async fn set_communities(w: &Write, account: Uuid, communities: &[Uuid]) -> Result<bool, Failure> {
    for (i, c) in communities.iter().enumerate() {
        w.exists(&format!("communityIds.{i}"), NodeType::Community, *c, "community")
            .await?;
    }
    links::set::<account_community::Entity>(w, OtherType::Account, account, communities).await
}

/// Creates an account (the command line and `createAccount`).
#[derive(Clone)]
pub struct NewAccount {
    pub email: String,
    pub display_name: String,
    /// The argon2 hash of the password, made while parsing (before any transaction).
    pub password_hash: Option<String>,
    pub role: DbRole,
    pub communities: Vec<Uuid>,
}

impl NewAccount {
    /// Parses raw values into a new account and hashes its password; user errors name the
    /// input fields.
    pub async fn parse(
        email: &str,
        display_name: &str,
        password: Option<&str>,
        role: DbRole,
        communities: Option<Vec<Uuid>>,
    ) -> Result<NewAccount, Failure> {
        let mut check = Check::default();
        let email = check.email("email", email);
        let display_name = check.text("displayName", display_name, MAX_NAME);
        let password = match password {
            Some(p) => check_password(&mut check, "password", p).map(Some),
            None => Some(None),
        };
        let communities = communities.unwrap_or_default();
        if role == DbRole::CommunityEditor && communities.is_empty() {
            check.add(
                "communityIds",
                UserErrorCode::Required,
                "a community editor needs at least one community",
            );
        }
        if role != DbRole::CommunityEditor && !communities.is_empty() {
            check.add(
                "communityIds",
                UserErrorCode::Invalid,
                "only community editors have communities",
            );
        }
        check.done()?;
        let (Some(email), Some(display_name), Some(password)) = (email, display_name, password) else {
            return Err(Refused::one("email", UserErrorCode::Invalid, "invalid input").into());
        };
        let password_hash = match password {
            Some(p) => Some(hash(p).await?),
            None => None,
        };
        Ok(NewAccount {
            email,
            display_name,
            password_hash,
            role,
            communities,
        })
    }

    pub async fn insert(self, w: &Write) -> Result<account::Model, Failure> {
        refuse_taken_email(w, &self.email, None).await?;
        let password_hash = self.password_hash;
        let now = crate::common::now();
        let model = w
            .create(
                OtherType::Account,
                account::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    email: Set(self.email),
                    display_name: Set(self.display_name),
                    password_hash: Set(password_hash),
                    role: Set(self.role),
                    disabled: Set(false),
                    last_login_at: Set(None),
                    ..new_row(now)
                },
            )
            .await?;
        set_communities(w, model.id, &self.communities).await?;
        Ok(model)
    }
}

/// `TAKEN` on `email` when an account other than `except` signs in with `email` (the unique
/// key stays the backstop for a race).
async fn refuse_taken_email(w: &Write, email: &str, except: Option<Uuid>) -> Result<(), Failure> {
    let mut others = account::Entity::find().filter(account::Column::Email.eq(email));
    if let Some(id) = except {
        others = others.filter(account::Column::Id.ne(id));
    }
    if others.one(w.txn()).await?.is_some() {
        return Err(Refused::one("email", UserErrorCode::Taken, "another account has this email").into());
    }
    Ok(())
}

/// Creates an API key for an organisation; returns the row and the key in clear.
pub async fn create_api_key(
    w: &Write,
    organization: Uuid,
    name: String,
    scopes: &[ApiKeyScope],
) -> Result<(api_key::Model, String), Failure> {
    w.exists(
        "organizationId",
        NodeType::Organization,
        organization,
        "organisation",
    )
    .await?;
    let (key, prefix) = secret::new_api_key();
    // Reading is always granted; each scope once, in the order given.
    let mut granted = vec![ApiKeyScope::Read];
    for scope in scopes {
        if !granted.contains(scope) {
            granted.push(*scope);
        }
    }
    let scopes: Vec<&str> = granted.into_iter().map(ApiKeyScope::as_str).collect();
    let now = crate::common::now();
    let model = w
        .create(
            OtherType::ApiKey,
            api_key::ActiveModel {
                id: Set(Uuid::now_v7()),
                organization_id: Set(organization),
                name: Set(name),
                prefix: Set(prefix),
                key_hash: Set(secret::sha256_hex(&key)),
                scopes: Set(scopes.join(" ")),
                created_by_account_id: Set(w.viewer.account_id),
                last_used_at: Set(None),
                revoked_at: Set(None),
                ..new_row(now)
            },
        )
        .await?;
    Ok((model, key))
}

/// Revokes an API key at once; a revoked key is refused from the next request on.
pub async fn revoke_api_key(w: &Write, key: api_key::Model) -> Result<api_key::Model, Failure> {
    if key.revoked_at.is_some() {
        return Ok(key);
    }
    let version = key.version;
    let row = api_key::ActiveModel {
        revoked_at: Set(Some(crate::common::now())),
        ..Default::default()
    };
    w.update::<api_key::Entity>(OtherType::ApiKey, &key, version, row)
        .await
}

#[derive(Default)]
pub struct AccountQuery;

#[Object]
impl AccountQuery {
    /// Every account, by email.
    #[graphql(guard = "Require::Admin", visible = "visible_to_admins")]
    async fn accounts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<Cursor, Account, ConnectionFields>> {
        let window = Window::parse(first, after, last, before)?;
        loader::top_connection(
            ctx,
            account::Entity::find(),
            &[(account::Column::Email, Order::Asc)],
            &window,
            Account,
        )
        .await
    }

    /// Every API key, newest first.
    #[graphql(guard = "Require::Admin", visible = "visible_to_admins")]
    async fn api_keys(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<Cursor, ApiKey, ConnectionFields>> {
        let window = Window::parse(first, after, last, before)?;
        loader::top_connection(
            ctx,
            api_key::Entity::find(),
            &[(api_key::Column::CreatedAt, Order::Desc)],
            &window,
            ApiKey,
        )
        .await
    }
}

/// [`mutate`] with an async step between the input's checks and the transaction, where a
/// password is hashed (and a current one verified): on SQLite the transaction holds the
/// write lock, and hashing takes a while. A shape of its own for the mutations that set a
/// password.
async fn mutate_hashing<C, D: Clone, T, P: From<Refused>>(
    ctx: &Context<'_>,
    parse: impl FnOnce(&mut Check) -> Option<C>,
    prepare: impl AsyncFnOnce(C) -> Result<D, Failure>,
    write: impl AsyncFnOnce(&Write, D) -> Result<T, Failure> + Clone,
    ok: impl FnOnce(T) -> P,
) -> Result<P> {
    let mut check = Check::default();
    let command = parse(&mut check);
    let prepared: Result<D, Failure> = async {
        check.done()?;
        prepare(command.ok_or_else(invalid)?).await
    }
    .await;
    match prepared {
        Ok(command) => mutate(ctx, |_| Some(command), write, ok).await,
        Err(failure) => finish(Err(failure), ok),
    }
}

#[derive(Default)]
pub struct AccountMutation;

#[Object]
impl AccountMutation {
    /// Creates an account. Admins only.
    #[graphql(guard = "Require::Admin", visible = "visible_to_admins")]
    async fn create_account(
        &self,
        ctx: &Context<'_>,
        input: CreateAccountInput,
    ) -> Result<CreateAccountPayload> {
        mutate_hashing(
            ctx,
            |check| check.ids("communityIds", &input.community_ids, NodeType::Community),
            async |communities| {
                NewAccount::parse(
                    &input.email,
                    &input.display_name,
                    input.password.as_deref(),
                    input.role.into(),
                    Some(communities),
                )
                .await
            },
            async |w, new| {
                // Each missing one named by its place in the list as sent.
                links::all_exist(
                    w,
                    "communityIds",
                    &input.community_ids,
                    NodeType::Community,
                    "community",
                )
                .await?;
                new.insert(w).await
            },
            |m| CreateAccountPayload::ok(Account(m)),
        )
        .await
    }

    /// Changes an account: its name, role, communities, password, or disables it. Admins
    /// only; an admin cannot disable or demote their own account, nor set its password here
    /// (`changePassword` asks for the current one).
    #[graphql(guard = "Require::Admin", visible = "visible_to_admins")]
    async fn update_account(
        &self,
        ctx: &Context<'_>,
        input: UpdateAccountInput,
    ) -> Result<UpdateAccountPayload> {
        mutate_hashing(
            ctx,
            |check| {
                let id = check.id("id", &input.id, OtherType::Account);
                let email = check.update("email", input.email.as_deref(), |c, e| c.email("email", e));
                let display_name = check.update_text("displayName", input.display_name.as_deref(), MAX_NAME);
                let password = check.update("password", input.password.as_deref(), |c, p| {
                    check_password(c, "password", p)
                });
                let communities = check.update_ids(
                    "communityIds",
                    input.community_ids.as_deref(),
                    NodeType::Community,
                );
                check.not_null(&[
                    ("role", input.role.is_null()),
                    ("disabled", input.disabled.is_null()),
                ]);
                Some((id?, email?, display_name?, password?, communities?))
            },
            async |(id, email, display_name, password, communities)| {
                let password_hash = match password {
                    Some(p) => Some(hash(p).await?),
                    None => None,
                };
                Ok((id, email, display_name, password_hash, communities))
            },
            async |w, (id, email, display_name, password_hash, communities)| {
                still_admin(w).await?;
                let before = w.find::<account::Entity>("account", id).await?;
                if is_erased(&before) {
                    return Err(Refused::one(
                        "id",
                        UserErrorCode::Invalid,
                        "the account was erased: it is kept only for the audit log's references; create a new account",
                    )
                    .into());
                }
                if let Some(email) = email.as_ref().filter(|e| **e != before.email) {
                    refuse_taken_email(w, email, Some(id)).await?;
                }
                let role: DbRole = input.role.value().copied().map_or(before.role, Into::into);
                let disabled = input.disabled.value().copied();
                if w.viewer.account_id == Some(id) {
                    // Each on the field it concerns, so a form can mark it.
                    let mut check = Check::default();
                    if disabled == Some(true) {
                        check.add(
                            "disabled",
                            UserErrorCode::Invalid,
                            "you cannot disable your own account",
                        );
                    }
                    if role != DbRole::Admin {
                        check.add(
                            "role",
                            UserErrorCode::Invalid,
                            "you cannot demote your own account",
                        );
                    }
                    // A token taken from an admin must not be enough to take the account over.
                    if password_hash.is_some() {
                        check.add(
                            "password",
                            UserErrorCode::Invalid,
                            "change your own password with changePassword, giving the current one",
                        );
                    }
                    check.done()?;
                }
                let password_changed = password_hash.is_some();
                let row = account::ActiveModel {
                    role: Set(role),
                    email: set_if(email),
                    display_name: set_if(display_name),
                    disabled: set_if(disabled),
                    password_hash: set_if(password_hash.map(Some)),
                    ..Default::default()
                };
                if role != DbRole::CommunityEditor && communities.as_ref().is_some_and(|c| !c.is_empty()) {
                    return Err(Refused::one(
                        "communityIds",
                        UserErrorCode::Invalid,
                        "only community editors have communities",
                    )
                    .into());
                }
                // Each missing one named by its place in the list as sent.
                if let Some(Some(given)) = input.community_ids.as_opt_deref() {
                    links::all_exist(w, "communityIds", given, NodeType::Community, "community").await?;
                }
                let current = links::of::<account_community::Entity>(w.txn(), id).await?;
                let communities = communities.unwrap_or(current);
                if role == DbRole::CommunityEditor && communities.is_empty() {
                    return Err(Refused::one(
                        "communityIds",
                        UserErrorCode::Required,
                        "a community editor needs at least one community",
                    )
                    .into());
                }
                let communities = if role == DbRole::CommunityEditor {
                    communities
                } else {
                    Vec::new()
                };
                let after = rewrite(w, &before, input.version, &communities, row).await?;
                // A disabled account or a reset password ends every session at once.
                if after.disabled || password_changed {
                    revoke_sessions(w.txn(), id).await?;
                }
                Ok(after)
            },
            |m| UpdateAccountPayload::ok(Account(m)),
        )
        .await
    }

    /// Erases the personal data of a disabled account (someone who has left the programme):
    /// its email becomes `slettet-…@konto.invalid`, its name "Slettet konto", its password,
    /// communities and sessions go; in the audit log its acts are signed "[slettet konto]"
    /// and the names its own records show become `[personoplysning]` (the records stay, with
    /// the account's global ID). Cannot be undone; the email may then be used by a new account.
    /// The progress notes it posted signed with one of its names are signed "Navn slettet";
    /// those it signed otherwise keep their signature. Admins only; not one's own account;
    /// disable it first (`updateAccount`); an erased account is not changed again.
    #[graphql(guard = "Require::Admin", visible = "visible_to_admins")]
    async fn erase_account(
        &self,
        ctx: &Context<'_>,
        input: EraseAccountInput,
    ) -> Result<EraseAccountPayload> {
        mutate(
            ctx,
            |check| check.id("id", &input.id, OtherType::Account),
            async |w, id| {
                still_admin(w).await?;
                let before = w.find::<account::Entity>("account", id).await?;
                if w.viewer.account_id == Some(id) {
                    return Err(Refused::one("id", UserErrorCode::Invalid, "you cannot erase your own account").into());
                }
                if !before.disabled {
                    return Err(Refused::one(
                        "id",
                        UserErrorCode::Invalid,
                        "disable the account first (updateAccount with disabled: true): erasing cannot be undone",
                    )
                    .into());
                }
                let names = names_of(w.txn(), &before).await?;
                let row = account::ActiveModel {
                    email: Set(format!("slettet-{}{ERASED_DOMAIN}", id.simple())),
                    display_name: Set(ERASED_NAME.to_owned()),
                    password_hash: Set(None),
                    ..Default::default()
                };
                let after = rewrite(w, &before, input.version, &[], row).await?;
                unsign_notes(w, id, &names).await?;
                revoke_sessions(w.txn(), id).await?;
                // After the writes, so their own records lose the names too.
                erase_from_audit_log(w.txn(), id, &names).await?;
                Ok(after)
            },
            |m| EraseAccountPayload::ok(Account(m)),
        )
        .await
    }

    /// Changes the signed-in account's own password, given the current one.
    #[graphql(guard = "Require::Account", visible = "visible_to_accounts")]
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        input: ChangePasswordInput,
    ) -> Result<ChangePasswordPayload> {
        mutate_hashing(
            ctx,
            |check| check_password(check, "newPassword", &input.new_password),
            // Checked and hashed before the transaction, which holds SQLite's write lock.
            async |new| {
                let viewer = crate::auth::viewer(ctx).into_owned();
                let id = viewer
                    .account_id
                    .ok_or_else(|| ApiError::forbidden("only accounts have passwords"))?;
                let db = ctx.data_unchecked::<sea_orm::DatabaseConnection>();
                let account = account::Entity::find_by_id(id).one(db).await?;
                // Guesses of the current password are held back as sign-ins are.
                let attempt = match &account {
                    Some(a) => crate::auth::throttle::attempt(ctx, &a.email).await?,
                    None => None,
                };
                let current_hash = account
                    .and_then(|a| a.password_hash)
                    .unwrap_or_else(|| secret::dummy_hash().to_owned());
                let ok = secret::verify_password_async(input.current_password.clone(), current_hash)
                    .await
                    .map_err(ApiError::internal)?;
                if ok && let Some(a) = attempt {
                    a.succeeded().await;
                }
                if !ok {
                    return Err(Refused::one(
                        "currentPassword",
                        UserErrorCode::Invalid,
                        "is not the current password",
                    )
                    .into());
                }
                Ok((id, hash(new).await?))
            },
            async |w, (id, new_hash)| {
                let before = w.find::<account::Entity>("account", id).await?;
                let row = account::ActiveModel {
                    password_hash: Set(Some(new_hash)),
                    ..Default::default()
                };
                let version = before.version;
                let after = w
                    .update::<account::Entity>(OtherType::Account, &before, version, row)
                    .await?;
                // Other sessions end; this one signs in again with the new password.
                revoke_sessions(w.txn(), id).await?;
                Ok(after)
            },
            |m| ChangePasswordPayload::ok(Account(m)),
        )
        .await
    }

    /// Creates an API key for a partner organisation. The payload's `key` is the only time
    /// the key is shown. Admins only.
    #[graphql(guard = "Require::Admin", visible = "visible_to_admins")]
    async fn create_api_key(
        &self,
        ctx: &Context<'_>,
        input: CreateApiKeyInput,
    ) -> Result<CreateApiKeyPayload> {
        let scopes = input
            .scopes
            .unwrap_or_else(|| vec![ApiKeyScope::Read, ApiKeyScope::ExpressInterest]);
        mutate(
            ctx,
            |check| {
                let org = check.id("organizationId", &input.organization_id, NodeType::Organization);
                let name = check.text("name", &input.name, MAX_NAME);
                Some((org?, name?))
            },
            async |w, (org, name)| create_api_key(w, org, name, &scopes).await,
            |(m, key)| CreateApiKeyPayload {
                api_key: Some(ApiKey(m)),
                key: Some(key),
                user_errors: Vec::new(),
            },
        )
        .await
    }

    /// Revokes an API key: it is refused from the next request on. Admins only.
    #[graphql(guard = "Require::Admin", visible = "visible_to_admins")]
    async fn revoke_api_key(
        &self,
        ctx: &Context<'_>,
        input: RevokeApiKeyInput,
    ) -> Result<RevokeApiKeyPayload> {
        mutate(
            ctx,
            |check| check.id("id", &input.id, OtherType::ApiKey),
            async |w, id| {
                let key = w.find::<api_key::Entity>("API key", id).await?;
                revoke_api_key(w, key).await
            },
            |m| RevokeApiKeyPayload::ok(ApiKey(m)),
        )
        .await
    }
}

/// Applies `row` and the account's `communities` to the account `before` if it is still at
/// `version`, and records both.
async fn rewrite(
    w: &Write,
    before: &account::Model,
    version: i32,
    communities: &[Uuid],
    row: account::ActiveModel,
) -> Result<account::Model, Failure> {
    w.hold_at::<account::Entity>("account", before.id, version)
        .await?;
    let communities_changed = set_communities(w, before.id, communities).await?;
    w.update_linked::<account::Entity>(OtherType::Account, before, version, row, communities_changed)
        .await
}

/// The name an erased account keeps.
const ERASED_NAME: &str = "Slettet konto";

/// The domain of the address an erased account keeps (`slettet-<id>@konto.invalid`: unique,
/// and no mail can go there).
const ERASED_DOMAIN: &str = "@konto.invalid";

/// How the audit log signs the acts of an erased account.
const ERASED_ACTOR: &str = "[slettet konto]";

/// Whether `eraseAccount` erased the account: it keeps the address it left.
pub(crate) fn is_erased(account: &account::Model) -> bool {
    account.email.starts_with("slettet-") && account.email.ends_with(ERASED_DOMAIN)
}

/// How the audit log signs what an account does: its name at the time (never its email:
/// staff read the log, only admins the accounts; the actor's `nodeId` tells accounts of one
/// name apart), or [`ERASED_ACTOR`] once erased (a failed sign-in or a copied refresh token
/// still tells of it).
pub(crate) fn actor_label(account: &account::Model) -> String {
    if is_erased(account) {
        ERASED_ACTOR.to_owned()
    } else {
        account.display_name.trim().to_owned()
    }
}

/// How a progress note an erased account signed with one of its names is signed after.
const ERASED_SIGNATURE: &str = "Navn slettet";

/// The names an account has had: its own, and those its audit records show.
async fn names_of(db: &impl ConnectionTrait, account: &account::Model) -> Result<Vec<String>, ApiError> {
    use entity::audit_log;

    use crate::relay::TypeName;
    let mut names = vec![account.display_name.clone()];
    let records = audit_log::Entity::find()
        .filter(audit_log::Column::Entity.eq(OtherType::Account.name()))
        .filter(audit_log::Column::EntityId.eq(account.id))
        .all(db)
        .await?;
    for record in records {
        let Ok(changes) = serde_json::from_str::<serde_json::Value>(&record.changes) else {
            continue;
        };
        for side in ["before", "after"] {
            if let Some(name) = changes["display_name"][side].as_str()
                && name != entity::json::REDACTED
                && !names.iter().any(|n| n == name)
            {
                names.push(name.to_owned());
            }
        }
    }
    Ok(names)
}

/// The progress notes the account posted that are signed with one of its `names` (the
/// default signature is the account's name) are signed [`ERASED_SIGNATURE`] instead; a note
/// signed otherwise (an association's name) keeps its signature.
async fn unsign_notes(w: &Write, account: Uuid, names: &[String]) -> Result<(), Failure> {
    use entity::{
        action_update,
        audit_log::{self, ActorKind},
    };
    use sea_orm::{QuerySelect, QueryTrait};
    let posted = audit_log::Entity::find()
        .select_only()
        .column(audit_log::Column::EntityId)
        .filter(audit_log::Column::Entity.eq(NodeType::ActionUpdate.name()))
        .filter(audit_log::Column::Operation.eq("CREATE"))
        .filter(audit_log::Column::ActorKind.eq(ActorKind::Account))
        .filter(audit_log::Column::ActorId.eq(account))
        .into_query();
    let notes = w
        .locking(
            action_update::Entity::find()
                .filter(action_update::Column::Id.in_subquery(posted))
                .filter(action_update::Column::AuthorName.is_in(names.iter().cloned())),
        )
        .all(w.txn())
        .await?;
    for note in notes {
        let row = action_update::ActiveModel {
            author_name: Set(ERASED_SIGNATURE.to_owned()),
            ..Default::default()
        };
        w.update::<action_update::Entity>(NodeType::ActionUpdate, &note, note.version, row)
            .await?;
    }
    Ok(())
}

/// Takes an erased account's personal data out of the audit log: its acts are signed
/// [`ERASED_ACTOR`] (their actor ID stays), the names in its own records become
/// `[personoplysning]` (its emails are written so from the start), and so do its `names`
/// where the records of the progress notes it posted show them as a signature.
async fn erase_from_audit_log(
    db: &impl ConnectionTrait,
    account: Uuid,
    names: &[String],
) -> Result<(), ApiError> {
    use entity::audit_log::{self, ActorKind};
    use sea_orm::sea_query::Expr;

    use crate::relay::TypeName;
    audit_log::Entity::update_many()
        .col_expr(audit_log::Column::ActorLabel, Expr::value(ERASED_ACTOR))
        .filter(audit_log::Column::ActorKind.eq(ActorKind::Account))
        .filter(audit_log::Column::ActorId.eq(account))
        .exec(db)
        .await?;
    let records = audit_log::Entity::find()
        .filter(audit_log::Column::Entity.eq(OtherType::Account.name()))
        .filter(audit_log::Column::EntityId.eq(account))
        .all(db)
        .await?;
    // The notes' records: any that shows one of the names as a signature.
    let notes = audit_log::Entity::find()
        .filter(audit_log::Column::Entity.eq(NodeType::ActionUpdate.name()))
        .filter(audit_log::Column::Changes.contains("author_name"))
        .all(db)
        .await?;
    for record in records.into_iter().chain(notes) {
        let Ok(mut changes) = serde_json::from_str::<serde_json::Value>(&record.changes) else {
            continue;
        };
        let mut changed = false;
        for (field, every) in [("display_name", true), ("author_name", false)] {
            let Some(value) = changes.get_mut(field) else {
                continue;
            };
            for side in ["before", "after"] {
                if let Some(v) = value.get_mut(side)
                    && let Some(text) = v.as_str()
                    && (every || names.iter().any(|n| n == text))
                    && text != entity::json::REDACTED
                {
                    *v = serde_json::Value::from(entity::json::REDACTED);
                    changed = true;
                }
            }
        }
        if !changed {
            continue;
        }
        audit_log::Entity::update_many()
            .col_expr(audit_log::Column::Changes, Expr::value(changes.to_string()))
            .filter(audit_log::Column::Id.eq(record.id))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Ends every session of an account (it was disabled, or signs out everywhere); how many
/// refresh tokens it revoked.
pub(crate) async fn revoke_sessions(db: &impl ConnectionTrait, account: Uuid) -> Result<u64, ApiError> {
    use entity::refresh_token;
    let revoked = refresh_token::Entity::update_many()
        .col_expr(
            refresh_token::Column::RevokedAt,
            sea_orm::sea_query::Expr::value(crate::common::now()),
        )
        .filter(refresh_token::Column::AccountId.eq(account))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?
        .rows_affected;
    Ok(revoked)
}

impl crate::compiled::Prefetch for Account {}
impl crate::compiled::Prefetch for ApiKey {}

/// The caller read again inside the write's transaction, after the enabled admins are locked in
/// one order (PostgreSQL; SQLite's writes are serial already): an admin whom another admin
/// disabled or demoted a moment ago changes no account. Two admins disabling each other at
/// once could otherwise both succeed and leave no admin.
async fn still_admin(w: &Write) -> Result<(), Failure> {
    let Some(caller) = w.viewer.account_id else {
        // The command line: no account to read again.
        return Ok(());
    };
    let admins = w.locking(
        account::Entity::find()
            .filter(account::Column::Role.eq(DbRole::Admin))
            .filter(account::Column::Disabled.eq(false))
            .order_by_asc(account::Column::Id),
    );
    if admins.all(w.txn()).await?.iter().any(|a| a.id == caller) {
        Ok(())
    } else {
        Err(ApiError::forbidden("your account is no longer an enabled admin").into())
    }
}

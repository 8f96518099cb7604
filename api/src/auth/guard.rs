//! Guards: each non-public field and mutation names who may call it. The `visible_to_*`
//! functions hide the same fields from introspection for everyone else; hiding is a courtesy,
//! the guard is the protection.
use async_graphql::{Context, ErrorExtensions, Guard, Result};

use super::{Role, Viewer};
use crate::error::ApiError;

/// Who may call a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Require {
    /// Any signed-in account: community editors, staff, admins.
    Account,
    /// Those who write content: community editors (within their communities, checked by the
    /// resolver), staff and admins.
    Writer,
    /// Staff and admins.
    Staff,
    /// Admins.
    Admin,
    /// Partners (an API key).
    Partner,
    /// Partners (their own things, checked by the resolver), staff and admins.
    PartnerOrStaff,
    /// Writers, and partners (their own things, checked by the resolver).
    WriterOrPartner,
    /// Anyone who sent credentials.
    Authenticated,
}

impl Require {
    pub fn allows(self, role: Role) -> bool {
        use Role::*;
        match self {
            Require::Account => matches!(role, CommunityEditor | Staff | Admin),
            Require::Writer => matches!(role, CommunityEditor | Staff | Admin),
            Require::Staff => matches!(role, Staff | Admin),
            Require::Admin => role == Admin,
            Require::Partner => role == Partner,
            Require::PartnerOrStaff => matches!(role, Partner | Staff | Admin),
            Require::WriterOrPartner => matches!(role, CommunityEditor | Staff | Admin | Partner),
            Require::Authenticated => role != Anonymous,
        }
    }
}

pub fn viewer<'a>(ctx: &'a Context<'_>) -> std::borrow::Cow<'a, Viewer> {
    match ctx.data_opt::<Viewer>() {
        Some(v) => std::borrow::Cow::Borrowed(v),
        None => std::borrow::Cow::Owned(Viewer::anonymous()),
    }
}

/// The message of a guard's refusal to an anonymous caller.
pub const GUARD_UNAUTHENTICATED: &str = "sign in (or send an API key) to use this field";
/// The message of a guard's refusal to a caller whose role may not use the field.
pub const GUARD_FORBIDDEN: &str = "your role may not use this field";

#[async_graphql::async_trait::async_trait]
impl Guard for Require {
    async fn check(&self, ctx: &Context<'_>) -> Result<()> {
        let role = viewer(ctx).role;
        if self.allows(role) {
            Ok(())
        } else if role == Role::Anonymous {
            Err(ApiError::Unauthenticated(GUARD_UNAUTHENTICATED.into()).extend())
        } else {
            Err(ApiError::Forbidden(GUARD_FORBIDDEN.into()).extend())
        }
    }
}

fn role(ctx: &Context<'_>) -> Role {
    ctx.data_opt::<Viewer>().map_or(Role::Anonymous, |v| v.role)
}

pub fn visible_to_accounts(ctx: &Context<'_>) -> bool {
    Require::Account.allows(role(ctx))
}

pub fn visible_to_writers(ctx: &Context<'_>) -> bool {
    Require::Writer.allows(role(ctx))
}

pub fn visible_to_staff(ctx: &Context<'_>) -> bool {
    Require::Staff.allows(role(ctx))
}

pub fn visible_to_admins(ctx: &Context<'_>) -> bool {
    Require::Admin.allows(role(ctx))
}

pub fn visible_to_partners(ctx: &Context<'_>) -> bool {
    Require::Partner.allows(role(ctx))
}

pub fn visible_to_partners_and_staff(ctx: &Context<'_>) -> bool {
    Require::PartnerOrStaff.allows(role(ctx))
}

pub fn visible_to_writers_and_partners(ctx: &Context<'_>) -> bool {
    Require::WriterOrPartner.allows(role(ctx))
}

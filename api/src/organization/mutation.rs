//! Writing organisations: staff create, change and delete them. An organisation that plans,
//! actions, partnerships, ideas, events or API keys refer to cannot be deleted; its contacts go
//! with it.
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result};
use entity::{api_key, organization};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use super::{Organization, OrganizationKind};
use crate::{
    auth::{Require, visible_to_staff},
    relay::{NodeType, OtherType},
    write::{
        Check, DeletePayload, MAX_SHORT, MaybeRef, Operation, Reference, Refused, UserErrorCode, delete_node,
        mutate, named, new_row, payload, reference, renamed, set_if, slug_free,
    },
};

#[derive(InputObject)]
pub struct CreateOrganizationInput {
    /// Lowercase a–z, 0–9 and hyphens, unique, e.g. `gjoel-borgerforening`.
    pub slug: String,
    pub name: String,
    pub kind: OrganizationKind,
    #[graphql(default)]
    pub description: String,
    /// An `http://` or `https://` address.
    pub website: Option<String>,
    /// The community a local organisation belongs to.
    pub community_id: Option<ID>,
}

/// Fields left out stay as they are; `null` clears a field that may be empty.
#[derive(InputObject)]
pub struct UpdateOrganizationInput {
    pub id: ID,
    /// The version the change is based on; a stale one is a CONFLICT.
    pub version: i32,
    pub slug: MaybeUndefined<String>,
    pub name: MaybeUndefined<String>,
    pub kind: MaybeUndefined<OrganizationKind>,
    pub description: MaybeUndefined<String>,
    pub website: MaybeUndefined<String>,
    pub community_id: MaybeUndefined<ID>,
}

#[derive(InputObject)]
pub struct DeleteOrganizationInput {
    pub id: ID,
    pub version: i32,
}

payload!(CreateOrganizationPayload, organization: Organization);
payload!(UpdateOrganizationPayload, organization: Organization);

/// Whether `value` is an absolute http(s) address with a plausible host name (no spaces, no
/// credentials), the only kind the website links to.
fn is_web_address(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    let scheme = if lower.starts_with("https://") {
        8
    } else if lower.starts_with("http://") {
        7
    } else {
        return false;
    };
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let rest = &value[scheme..];
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return false;
    }
    let (host, port) = match authority.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    let port_ok = port.is_none_or(|p| (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
    let labels: Vec<&str> = host.split('.').collect();
    port_ok
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
}

/// An optional web address: empty is none.
fn website(check: &mut Check, value: Option<&str>) -> Option<Option<String>> {
    let value = match value.map(str::trim) {
        None | Some("") => return Some(None),
        Some(v) => v,
    };
    let n = value.chars().count();
    if n > MAX_SHORT {
        check.add(
            "website",
            UserErrorCode::TooLong,
            format!("may be at most {MAX_SHORT} characters, got {n}"),
        );
        None
    } else if !is_web_address(value) {
        check.add(
            "website",
            UserErrorCode::Invalid,
            "must be a web address: http:// or https:// and a host name with a domain, e.g. https://www.eksempel.dk",
        );
        None
    } else {
        Some(Some(value.to_owned()))
    }
}

/// The rows that refer to an organisation and keep it from being deleted. Its contacts belong
/// to it and go with it.
const REFERENCES: &[Reference] = &[
    reference!(plan_involvement::OrganizationId, "plan involvements"),
    reference!(action::LeadOrganizationId, "actions it leads"),
    reference!(partnership_member::OrganizationId, "partnership memberships"),
    reference!(
        partnership::ProposedByOrganizationId,
        "partnerships it proposed to join"
    ),
    reference!(idea::OrganizationId, "ideas"),
    reference!(engagement_event_organization::OrganizationId, "engagement events"),
];

#[derive(Default)]
pub struct OrganizationMutation;

#[Object]
impl OrganizationMutation {
    /// Adds an organisation. Staff only.
    #[graphql(guard = "Require::Staff", visible = "visible_to_staff")]
    async fn create_organization(
        &self,
        ctx: &Context<'_>,
        input: CreateOrganizationInput,
    ) -> Result<CreateOrganizationPayload> {
        mutate(
            ctx,
            |check| {
                let named = named(check, &input.slug, &input.name, &input.description);
                let website = website(check, input.website.as_deref());
                let community = check.opt_id("communityId", input.community_id.as_ref(), NodeType::Community);
                Some((named?, website?, community?))
            },
            async |w, ((slug, name, description), website, community)| {
                if let Some(c) = community {
                    w.exists("communityId", NodeType::Community, c, "community")
                        .await?;
                }
                slug_free(w, organization::Column::Slug, &slug, None, "organisation").await?;
                let now = crate::common::now();
                w.create(
                    NodeType::Organization,
                    organization::ActiveModel {
                        id: Set(Uuid::now_v7()),
                        slug: Set(slug),
                        name: Set(name),
                        kind: Set(input.kind.into()),
                        description: Set(description),
                        website: Set(website),
                        community_id: Set(community),
                        ..new_row(now)
                    },
                )
                .await
            },
            |m| CreateOrganizationPayload::ok(Organization(m)),
        )
        .await
    }

    /// Changes an organisation. Staff only.
    #[graphql(guard = "Require::Staff", visible = "visible_to_staff")]
    async fn update_organization(
        &self,
        ctx: &Context<'_>,
        input: UpdateOrganizationInput,
    ) -> Result<UpdateOrganizationPayload> {
        mutate(
            ctx,
            |check| {
                let id = check.id("id", &input.id, NodeType::Organization);
                let named = renamed(
                    check,
                    input.slug.as_deref(),
                    input.name.as_deref(),
                    input.description.as_deref(),
                );
                let website = check.given(input.website.as_opt_deref(), website);
                let community = check.given(input.community_id.as_opt_ref(), |c, v| {
                    c.opt_id("communityId", v, NodeType::Community)
                });
                check.not_null(&[("kind", input.kind.is_null())]);
                Some((id?, named?, website?, community?))
            },
            async |w, (id, (slug, name, description), website, community)| {
                let before = w.find::<organization::Entity>("organisation", id).await?;
                if let Some(slug) = &slug {
                    slug_free(w, organization::Column::Slug, slug, Some(id), "organisation").await?;
                }
                if let Some(Some(c)) = community {
                    w.exists("communityId", NodeType::Community, c, "community")
                        .await?;
                }
                let row = organization::ActiveModel {
                    slug: set_if(slug),
                    name: set_if(name),
                    kind: set_if(input.kind.value().copied().map(Into::into)),
                    description: set_if(description),
                    website: set_if(website),
                    community_id: set_if(community),
                    ..Default::default()
                };
                w.update::<organization::Entity>(NodeType::Organization, &before, input.version, row)
                    .await
            },
            |m| UpdateOrganizationPayload::ok(Organization(m)),
        )
        .await
    }

    /// Deletes an organisation nothing refers to any more (its contacts, and API keys revoked
    /// already, go with it). Staff only; one with plan involvement, actions it leads,
    /// partnerships, ideas, events or API keys still in use is refused.
    #[graphql(guard = "Require::Staff", visible = "visible_to_staff")]
    async fn delete_organization(
        &self,
        ctx: &Context<'_>,
        input: DeleteOrganizationInput,
    ) -> Result<DeletePayload> {
        delete_node::<organization::Entity>(
            ctx,
            NodeType::Organization,
            "organisation",
            &input.id,
            input.version,
            async |w, before| {
                w.refuse_if_used(before.id, REFERENCES).await?;
                // A key in use keeps the partner's access: it is revoked first, on purpose.
                // Revoked keys only record the past (the audit log names them by label) and
                // go with the organisation.
                let keys = api_key::Entity::find()
                    .filter(api_key::Column::OrganizationId.eq(before.id))
                    .all(w.txn())
                    .await?;
                let active = keys.iter().filter(|k| k.revoked_at.is_none()).count();
                if active > 0 {
                    return Err(Refused::one(
                        "id",
                        UserErrorCode::InUse,
                        format!(
                            "the organisation has {active} API {} in use; revoke {} first",
                            if active == 1 { "key" } else { "keys" },
                            if active == 1 { "it" } else { "them" }
                        ),
                    )
                    .into());
                }
                for key in &keys {
                    api_key::Entity::delete_by_id(key.id).exec(w.txn()).await?;
                    w.audit(OtherType::ApiKey, key.id, Operation::Delete, Some(key), None)
                        .await?;
                }
                Ok(())
            },
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::is_web_address;

    #[test]
    fn web_addresses() {
        for ok in [
            "https://www.jammerbugt.dk",
            "http://gjoel-havn.dk/om?x=1#top",
            "https://forsamlingshus.dk:8443/",
            "https://æblegården.dk",
        ] {
            assert!(is_web_address(ok), "{ok}");
        }
        for bad in [
            "www.jammerbugt.dk",
            "ftp://jammerbugt.dk",
            "https://",
            "https://localhost",
            "https://bruger:kode@jammerbugt.dk",
            "https://jammer bugt.dk",
            "https://-x.dk",
            "https://jammerbugt.dk:port",
            "javascript:alert(1)",
        ] {
            assert!(!is_web_address(bad), "{bad}");
        }
    }
}

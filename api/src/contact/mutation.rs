//! Writing contact people. Staff manage every contact; community editors manage the contacts
//! of their own communities. A contact belongs to exactly one community, organisation or
//! department and goes with it when that is deleted.
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result};
use entity::contact;
use sea_orm::Set;
use uuid::Uuid;

use super::Contact;
use crate::{
    auth::{Require, visible_to_writers},
    error::ApiError,
    relay::NodeType,
    write::{
        Check, DeletePayload, Failure, MAX_NAME, MaybeRef, UserErrorCode, Write, delete_node, mutate,
        new_row, payload, set_if,
    },
};

#[derive(InputObject)]
pub struct CreateContactInput {
    pub name: String,
    /// Job title or role, e.g. "Formand".
    pub title: Option<String>,
    pub email: Option<String>,
    /// Digits and spaces, optionally starting with `+`, e.g. `+45 12 34 56 78`.
    pub phone: Option<String>,
    /// Whether anyone may see the contact; otherwise only staff and the community's editors.
    #[graphql(default)]
    pub is_public: bool,
    /// Exactly one of `communityId`, `organizationId` and `departmentId`: whose contact it is.
    pub community_id: Option<ID>,
    pub organization_id: Option<ID>,
    pub department_id: Option<ID>,
}

/// Fields left out stay as they are; `null` clears a field that may be empty. Giving one of
/// `communityId`, `organizationId` and `departmentId` moves the contact there.
#[derive(InputObject)]
pub struct UpdateContactInput {
    pub id: ID,
    /// The version the change is based on; a stale one is a CONFLICT.
    pub version: i32,
    pub name: MaybeUndefined<String>,
    pub title: MaybeUndefined<String>,
    pub email: MaybeUndefined<String>,
    pub phone: MaybeUndefined<String>,
    pub is_public: MaybeUndefined<bool>,
    pub community_id: MaybeUndefined<ID>,
    pub organization_id: MaybeUndefined<ID>,
    pub department_id: MaybeUndefined<ID>,
}

#[derive(InputObject)]
pub struct DeleteContactInput {
    pub id: ID,
    pub version: i32,
}

payload!(CreateContactPayload, contact: Contact);
payload!(UpdateContactPayload, contact: Contact);

const MAX_PHONE: usize = 30;

/// Whose contact it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Parent {
    Community(Uuid),
    Organization(Uuid),
    Department(Uuid),
}

impl Parent {
    fn of(m: &contact::Model) -> Option<Parent> {
        m.community_id
            .map(Parent::Community)
            .or(m.organization_id.map(Parent::Organization))
            .or(m.department_id.map(Parent::Department))
    }

    fn columns(self) -> (Option<Uuid>, Option<Uuid>, Option<Uuid>) {
        match self {
            Parent::Community(id) => (Some(id), None, None),
            Parent::Organization(id) => (None, Some(id), None),
            Parent::Department(id) => (None, None, Some(id)),
        }
    }

    /// A user error NOT_FOUND when the parent does not exist.
    async fn exists(self, w: &Write) -> Result<(), Failure> {
        match self {
            Parent::Community(id) => {
                w.exists("communityId", NodeType::Community, id, "community")
                    .await
            }
            Parent::Organization(id) => {
                w.exists("organizationId", NodeType::Organization, id, "organisation")
                    .await
            }
            Parent::Department(id) => {
                w.exists("departmentId", NodeType::Department, id, "department")
                    .await
            }
        }
    }

    /// FORBIDDEN unless the viewer may manage this parent's contacts: staff all of them,
    /// editors those of their communities.
    fn require(parent: Option<Parent>, w: &Write) -> Result<(), ApiError> {
        if w.viewer.is_staff() {
            return Ok(());
        }
        match parent {
            Some(Parent::Community(c)) => w.require_community(c),
            _ => Err(ApiError::forbidden(
                "only staff may manage the contacts of organisations and departments",
            )),
        }
    }
}

/// The one parent among the three IDs; `None` (with no error) when none is given and
/// `required` is false.
fn parent(
    check: &mut Check,
    community: Option<&ID>,
    organization: Option<&ID>,
    department: Option<&ID>,
    required: bool,
) -> Option<Option<Parent>> {
    let c = check.opt_id("communityId", community, NodeType::Community);
    let o = check.opt_id("organizationId", organization, NodeType::Organization);
    let d = check.opt_id("departmentId", department, NodeType::Department);
    let (c, o, d) = (c?, o?, d?);
    let given: Vec<(&str, Parent)> = [
        ("communityId", c.map(Parent::Community)),
        ("organizationId", o.map(Parent::Organization)),
        ("departmentId", d.map(Parent::Department)),
    ]
    .into_iter()
    .filter_map(|(f, p)| p.map(|p| (f, p)))
    .collect();
    match given.as_slice() {
        [] if required => {
            check.add(
                "communityId",
                UserErrorCode::Required,
                "give one of communityId, organizationId and departmentId",
            );
            None
        }
        [] => Some(None),
        [(_, p)] => Some(Some(*p)),
        [_, rest @ ..] => {
            for (field, _) in rest {
                check.add(
                    field,
                    UserErrorCode::Invalid,
                    "a contact belongs to only one of a community, an organisation and a department",
                );
            }
            None
        }
    }
}

/// An optional phone number: digits and spaces, optionally starting with `+`; empty is none.
fn phone(check: &mut Check, value: Option<&str>) -> Option<Option<String>> {
    let value = match value.map(str::trim) {
        None | Some("") => return Some(None),
        Some(v) => v,
    };
    let n = value.chars().count();
    let digits = value.strip_prefix('+').unwrap_or(value);
    if n > MAX_PHONE {
        check.add(
            "phone",
            UserErrorCode::TooLong,
            format!("may be at most {MAX_PHONE} characters, got {n}"),
        );
        None
    } else if !digits.chars().any(|c| c.is_ascii_digit())
        || !digits.chars().all(|c| c.is_ascii_digit() || c == ' ')
    {
        check.add(
            "phone",
            UserErrorCode::Invalid,
            "may hold only digits and spaces, optionally after a leading +, e.g. +45 12 34 56 78",
        );
        None
    } else {
        Some(Some(value.to_owned()))
    }
}

/// An update of a contact after its checks: each field `None` when left out (`title`,
/// `email` and `phone` `Some(None)` when cleared), `parent` the one it moves to.
#[derive(Clone)]
struct Changes {
    id: Uuid,
    name: Option<String>,
    title: Option<Option<String>>,
    email: Option<Option<String>>,
    phone: Option<Option<String>>,
    parent: Option<Parent>,
}

#[derive(Default)]
pub struct ContactMutation;

#[Object]
impl ContactMutation {
    /// Adds a contact person. Staff; community editors for their own communities.
    #[graphql(guard = "Require::Writer", visible = "visible_to_writers")]
    async fn create_contact(
        &self,
        ctx: &Context<'_>,
        input: CreateContactInput,
    ) -> Result<CreateContactPayload> {
        mutate(
            ctx,
            |check| {
                let name = check.text("name", &input.name, MAX_NAME);
                let title = check.opt_text("title", input.title.as_deref(), MAX_NAME);
                let email = check.opt_email("email", input.email.as_deref());
                let phone = phone(check, input.phone.as_deref());
                let parent = parent(
                    check,
                    input.community_id.as_ref(),
                    input.organization_id.as_ref(),
                    input.department_id.as_ref(),
                    true,
                );
                Some((name?, title?, email?, phone?, parent??))
            },
            async |w, (name, title, email, phone, parent)| {
                // Communities, organisations and departments are public: a made-up one is
                // NOT_FOUND for anyone.
                parent.exists(w).await?;
                Parent::require(Some(parent), w)?;
                let (community_id, organization_id, department_id) = parent.columns();
                let now = crate::common::now();
                w.create(
                    NodeType::Contact,
                    contact::ActiveModel {
                        id: Set(Uuid::now_v7()),
                        name: Set(name),
                        title: Set(title),
                        email: Set(email),
                        phone: Set(phone),
                        is_public: Set(input.is_public),
                        community_id: Set(community_id),
                        organization_id: Set(organization_id),
                        department_id: Set(department_id),
                        ..new_row(now)
                    },
                )
                .await
            },
            // The caller may write the contact, so they may also read it back.
            |m| CreateContactPayload::ok(Contact(m)),
        )
        .await
    }

    /// Changes a contact person, or moves it to another community, organisation or
    /// department. Staff; community editors for their own communities' contacts.
    #[graphql(guard = "Require::Writer", visible = "visible_to_writers")]
    async fn update_contact(
        &self,
        ctx: &Context<'_>,
        input: UpdateContactInput,
    ) -> Result<UpdateContactPayload> {
        mutate(
            ctx,
            |check| {
                let id = check.id("id", &input.id, NodeType::Contact);
                let name = check.update_text("name", input.name.as_deref(), MAX_NAME);
                let title = check.given(input.title.as_opt_deref(), |c, v| {
                    c.opt_text("title", v, MAX_NAME)
                });
                let email = check.given(input.email.as_opt_deref(), |c, v| c.opt_email("email", v));
                let phone = check.given(input.phone.as_opt_deref(), phone);
                // A move names the new parent; `null` for the other two is as leaving them out.
                // A contact always has a parent: `null` alone names none.
                let given = [&input.community_id, &input.organization_id, &input.department_id];
                if !given.iter().any(|v| v.is_value()) {
                    let nulls = [
                        ("communityId", input.community_id.is_null()),
                        ("organizationId", input.organization_id.is_null()),
                        ("departmentId", input.department_id.is_null()),
                    ];
                    check.not_null(&nulls);
                }
                let parent = parent(
                    check,
                    input.community_id.value(),
                    input.organization_id.value(),
                    input.department_id.value(),
                    false,
                );
                check.not_null(&[("isPublic", input.is_public.is_null())]);
                Some(Changes {
                    id: id?,
                    name: name?,
                    title: title?,
                    email: email?,
                    phone: phone?,
                    parent: parent?,
                })
            },
            async |w, c| {
                let before = w.find::<contact::Entity>("contact", c.id).await?;
                Parent::require(Parent::of(&before), w)?;
                let mut row = contact::ActiveModel {
                    name: set_if(c.name),
                    title: set_if(c.title),
                    email: set_if(c.email),
                    phone: set_if(c.phone),
                    is_public: set_if(input.is_public.value().copied()),
                    ..Default::default()
                };
                if let Some(parent) = c.parent {
                    parent.exists(w).await?;
                    Parent::require(Some(parent), w)?;
                    let (community, organization, department) = parent.columns();
                    row.community_id = Set(community);
                    row.organization_id = Set(organization);
                    row.department_id = Set(department);
                }
                w.update::<contact::Entity>(NodeType::Contact, &before, input.version, row)
                    .await
            },
            |m| UpdateContactPayload::ok(Contact(m)),
        )
        .await
    }

    /// Deletes a contact person. Staff; community editors for their own communities' contacts.
    #[graphql(guard = "Require::Writer", visible = "visible_to_writers")]
    async fn delete_contact(&self, ctx: &Context<'_>, input: DeleteContactInput) -> Result<DeletePayload> {
        delete_node::<contact::Entity>(
            ctx,
            NodeType::Contact,
            "contact",
            &input.id,
            input.version,
            async |w, before| Ok(Parent::require(Parent::of(before), w)?),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers() {
        let mut check = Check::default();
        assert_eq!(
            phone(&mut check, Some(" +45 12 34 56 78 ")),
            Some(Some("+45 12 34 56 78".into()))
        );
        assert_eq!(phone(&mut check, Some("")), Some(None));
        assert_eq!(phone(&mut check, None), Some(None));
        assert!(check.done().is_ok());
        for bad in [
            "12-34-56-78",
            "+",
            "45+12",
            "ring til mig",
            "1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6",
        ] {
            let mut check = Check::default();
            assert_eq!(phone(&mut check, Some(bad)), None, "{bad}");
            assert!(check.done().is_err());
        }
    }
}

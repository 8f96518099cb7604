//! Writing departments: staff create, change and delete them. A department that actions or
//! partnerships name cannot be deleted; its contacts go with it.
use async_graphql::{Context, ID, InputObject, Object, Result};
use chrono::Utc;
use entity::department;
use sea_orm::Set;
use uuid::Uuid;

use super::Department;
use crate::{
    auth::{Require, visible_to_staff},
    relay,
    theme::mutation::slug_free,
    write::{
        Check, DeletePayload, Failure, MAX_NAME, MAX_TEXT, Refused, UserErrorCode, Write, finish, payload,
    },
};

#[derive(InputObject)]
pub struct CreateDepartmentInput {
    /// Lowercase a–z, 0–9 and hyphens, unique, e.g. `teknik-og-miljoe`.
    pub slug: String,
    pub name: String,
    #[graphql(default)]
    pub description: String,
}

/// Fields left out stay as they are.
#[derive(InputObject)]
pub struct UpdateDepartmentInput {
    pub id: ID,
    /// The version the change is based on; a stale one is a CONFLICT.
    pub version: i32,
    pub slug: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
}

#[derive(InputObject)]
pub struct DeleteDepartmentInput {
    pub id: ID,
    pub version: i32,
}

payload!(CreateDepartmentPayload, department: Department);
payload!(UpdateDepartmentPayload, department: Department);

/// The rows that keep a department from being deleted. Its contacts belong to it and go
/// with it.
const REFERENCES: &[(&str, &str, &str)] = &[
    ("action_department", "department_id", "action contributions"),
    ("partnership_member", "department_id", "partnership memberships"),
];

#[derive(Default)]
pub struct DepartmentMutation;

#[Object]
impl DepartmentMutation {
    /// Adds a department of the municipality. Staff only.
    #[graphql(guard = "Require::Staff", visible = "visible_to_staff")]
    async fn create_department(
        &self,
        ctx: &Context<'_>,
        input: CreateDepartmentInput,
    ) -> Result<CreateDepartmentPayload> {
        let result: Result<department::Model, Failure> = async {
            let mut check = Check::default();
            let slug = check.slug("slug", &input.slug);
            let name = check.text("name", &input.name, MAX_NAME);
            let description = check.long_text("description", &input.description, MAX_TEXT);
            check.done()?;
            let (Some(slug), Some(name), Some(description)) = (slug, name, description) else {
                return Err(Refused::one("slug", UserErrorCode::Invalid, "invalid input").into());
            };
            let w = Write::begin(ctx).await?;
            slug_free(&w, department::Column::Slug, &slug, None, "department").await?;
            let now = Utc::now();
            let model = w
                .create(
                    "Department",
                    department::ActiveModel {
                        id: Set(Uuid::now_v7()),
                        slug: Set(slug),
                        name: Set(name),
                        description: Set(description),
                        created_at: Set(now),
                        updated_at: Set(now),
                        version: Set(1),
                    },
                )
                .await?;
            w.commit().await?;
            Ok(model)
        }
        .await;
        finish(result, |m| CreateDepartmentPayload::ok(Department(m)))
    }

    /// Changes a department. Staff only.
    #[graphql(guard = "Require::Staff", visible = "visible_to_staff")]
    async fn update_department(
        &self,
        ctx: &Context<'_>,
        input: UpdateDepartmentInput,
    ) -> Result<UpdateDepartmentPayload> {
        let result: Result<department::Model, Failure> = async {
            let mut check = Check::default();
            let id = check.id("id", &input.id, "Department");
            let slug = input.slug.as_deref().map(|s| check.slug("slug", s));
            let name = input.name.as_deref().map(|n| check.text("name", n, MAX_NAME));
            let description = input
                .description
                .as_deref()
                .map(|d| check.long_text("description", d, MAX_TEXT));
            check.done()?;
            let Some(id) = id else {
                return Err(Refused::one("id", UserErrorCode::Invalid, "invalid ID").into());
            };
            let w = Write::begin(ctx).await?;
            let before = w.find::<department::Entity>("department", id).await?;
            let mut row = department::ActiveModel::default();
            if let Some(Some(slug)) = slug {
                slug_free(&w, department::Column::Slug, &slug, Some(id), "department").await?;
                row.slug = Set(slug);
            }
            if let Some(Some(name)) = name {
                row.name = Set(name);
            }
            if let Some(Some(d)) = description {
                row.description = Set(d);
            }
            let after = w
                .update::<department::Entity>("Department", &before, input.version, row)
                .await?;
            w.commit().await?;
            Ok(after)
        }
        .await;
        finish(result, |m| UpdateDepartmentPayload::ok(Department(m)))
    }

    /// Deletes a department that no action or partnership names (its contacts go with it).
    /// Staff only.
    #[graphql(guard = "Require::Staff", visible = "visible_to_staff")]
    async fn delete_department(
        &self,
        ctx: &Context<'_>,
        input: DeleteDepartmentInput,
    ) -> Result<DeletePayload> {
        let result: Result<Uuid, Failure> = async {
            let mut check = Check::default();
            let id = check.id("id", &input.id, "Department");
            check.done()?;
            let Some(id) = id else {
                return Err(Refused::one("id", UserErrorCode::Invalid, "invalid ID").into());
            };
            let w = Write::begin(ctx).await?;
            let before = w.find::<department::Entity>("department", id).await?;
            w.refuse_if_used(id, REFERENCES).await?;
            w.delete::<department::Entity>("Department", &before, input.version)
                .await?;
            w.commit().await?;
            Ok(id)
        }
        .await;
        finish(result, |id| DeletePayload::ok(relay::encode("Department", id)))
    }
}

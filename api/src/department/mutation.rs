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
    relay::{self, NodeType},
    write::{DeletePayload, Reference, mutate, named, payload, reference, renamed, set_if, slug_free},
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
const REFERENCES: &[Reference] = &[
    reference!(action_department::DepartmentId, "action contributions"),
    reference!(partnership_member::DepartmentId, "partnership memberships"),
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
        mutate(
            ctx,
            |check| named(check, &input.slug, &input.name, &input.description),
            async |w, (slug, name, description)| {
                slug_free(w, department::Column::Slug, &slug, None, "department").await?;
                let now = Utc::now();
                w.create(
                    NodeType::Department,
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
                .await
            },
            |m| CreateDepartmentPayload::ok(Department(m)),
        )
        .await
    }

    /// Changes a department. Staff only.
    #[graphql(guard = "Require::Staff", visible = "visible_to_staff")]
    async fn update_department(
        &self,
        ctx: &Context<'_>,
        input: UpdateDepartmentInput,
    ) -> Result<UpdateDepartmentPayload> {
        mutate(
            ctx,
            |check| {
                let id = check.id("id", &input.id, NodeType::Department);
                let named = renamed(
                    check,
                    input.slug.as_deref(),
                    input.name.as_deref(),
                    input.description.as_deref(),
                );
                Some((id?, named?))
            },
            async |w, (id, (slug, name, description))| {
                let before = w.find::<department::Entity>("department", id).await?;
                if let Some(slug) = &slug {
                    slug_free(w, department::Column::Slug, slug, Some(id), "department").await?;
                }
                let row = department::ActiveModel {
                    slug: set_if(slug),
                    name: set_if(name),
                    description: set_if(description),
                    ..Default::default()
                };
                w.update::<department::Entity>(NodeType::Department, &before, input.version, row)
                    .await
            },
            |m| UpdateDepartmentPayload::ok(Department(m)),
        )
        .await
    }

    /// Deletes a department that no action or partnership names (its contacts go with it).
    /// Staff only.
    #[graphql(guard = "Require::Staff", visible = "visible_to_staff")]
    async fn delete_department(
        &self,
        ctx: &Context<'_>,
        input: DeleteDepartmentInput,
    ) -> Result<DeletePayload> {
        mutate(
            ctx,
            |check| check.id("id", &input.id, NodeType::Department),
            async |w, id| {
                let before = w.find::<department::Entity>("department", id).await?;
                w.refuse_if_used(id, REFERENCES).await?;
                w.delete::<department::Entity>(NodeType::Department, &before, input.version)
                    .await?;
                Ok(id)
            },
            |id| DeletePayload::ok(relay::encode(NodeType::Department, id)),
        )
        .await
    }
}

//! Writing departments: staff create, change and delete them. A department that actions or
//! partnerships name cannot be deleted; its contacts go with it.
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result};
use entity::department;

use super::Department;
use crate::{
    auth::{Require, visible_to_staff},
    relay::NodeType,
    write::{
        Catalogue, DeletePayload, MaybeRef, Reference, catalogue_rows, create_named, delete_named, mutate,
        named, payload, reference, renamed, update_named,
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
    pub slug: MaybeUndefined<String>,
    pub name: MaybeUndefined<String>,
    pub description: MaybeUndefined<String>,
}

#[derive(InputObject)]
pub struct DeleteDepartmentInput {
    pub id: ID,
    pub version: i32,
}

payload!(CreateDepartmentPayload, department: Department);
payload!(UpdateDepartmentPayload, department: Department);

impl Catalogue for department::Entity {
    const TYPE: NodeType = NodeType::Department;
    const WHAT: &'static str = "department";
    const SLUG: department::Column = department::Column::Slug;
    /// The rows that keep a department from being deleted. Its contacts belong to it and go
    /// with it.
    const REFERENCES: &'static [Reference] = &[
        reference!(action_department::DepartmentId, "action contributions"),
        reference!(partnership_member::DepartmentId, "partnership memberships"),
    ];

    catalogue_rows!(department);
}

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
            async |w, named| create_named::<department::Entity>(w, named).await,
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
                let renamed = renamed(
                    check,
                    input.slug.as_deref(),
                    input.name.as_deref(),
                    input.description.as_deref(),
                );
                Some((id?, renamed?))
            },
            async |w, (id, renamed)| update_named::<department::Entity>(w, id, input.version, renamed).await,
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
        delete_named::<department::Entity>(ctx, &input.id, input.version).await
    }
}

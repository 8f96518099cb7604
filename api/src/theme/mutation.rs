//! Writing themes: staff create, change and delete them. A theme that plans, actions or ideas
//! are tagged with cannot be deleted.
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result};
use entity::theme;

use super::Theme;
use crate::{
    auth::{Require, visible_to_staff},
    relay::NodeType,
    write::{
        Catalogue, DeletePayload, MaybeRef, Reference, catalogue_rows, create_named, delete_named, mutate,
        named, payload, reference, renamed, update_named,
    },
};

#[derive(InputObject)]
pub struct CreateThemeInput {
    /// Lowercase a–z, 0–9 and hyphens, unique, e.g. `natur-og-friluftsliv`.
    pub slug: String,
    pub name: String,
    #[graphql(default)]
    pub description: String,
}

/// Fields left out stay as they are.
#[derive(InputObject)]
pub struct UpdateThemeInput {
    pub id: ID,
    /// The version the change is based on; a stale one is a CONFLICT.
    pub version: i32,
    pub slug: MaybeUndefined<String>,
    pub name: MaybeUndefined<String>,
    pub description: MaybeUndefined<String>,
}

#[derive(InputObject)]
pub struct DeleteThemeInput {
    pub id: ID,
    pub version: i32,
}

payload!(CreateThemePayload, theme: Theme);
payload!(UpdateThemePayload, theme: Theme);

impl Catalogue for theme::Entity {
    const TYPE: NodeType = NodeType::Theme;
    const WHAT: &'static str = "theme";
    const SLUG: theme::Column = theme::Column::Slug;
    /// The tags that keep a theme from being deleted.
    const REFERENCES: &'static [Reference] = &[
        reference!(plan_theme::ThemeId, "plans"),
        reference!(action_theme::ThemeId, "actions"),
        reference!(idea_theme::ThemeId, "ideas"),
        reference!(
            annual_review_focus_theme::ThemeId,
            "annual reviews with it in focus"
        ),
    ];

    catalogue_rows!(theme);
}

#[derive(Default)]
pub struct ThemeMutation;

#[Object]
impl ThemeMutation {
    /// Adds a theme. Staff only.
    #[graphql(guard = "Require::Staff", visible = "visible_to_staff")]
    async fn create_theme(&self, ctx: &Context<'_>, input: CreateThemeInput) -> Result<CreateThemePayload> {
        mutate(
            ctx,
            |check| named(check, &input.slug, &input.name, &input.description),
            async |w, named| create_named::<theme::Entity>(w, named).await,
            |m| CreateThemePayload::ok(Theme(m)),
        )
        .await
    }

    /// Changes a theme. Staff only.
    #[graphql(guard = "Require::Staff", visible = "visible_to_staff")]
    async fn update_theme(&self, ctx: &Context<'_>, input: UpdateThemeInput) -> Result<UpdateThemePayload> {
        mutate(
            ctx,
            |check| {
                let id = check.id("id", &input.id, NodeType::Theme);
                let renamed = renamed(
                    check,
                    input.slug.as_deref(),
                    input.name.as_deref(),
                    input.description.as_deref(),
                );
                Some((id?, renamed?))
            },
            async |w, (id, renamed)| update_named::<theme::Entity>(w, id, input.version, renamed).await,
            |m| UpdateThemePayload::ok(Theme(m)),
        )
        .await
    }

    /// Deletes a theme nothing is tagged with. Staff only.
    #[graphql(guard = "Require::Staff", visible = "visible_to_staff")]
    async fn delete_theme(&self, ctx: &Context<'_>, input: DeleteThemeInput) -> Result<DeletePayload> {
        delete_named::<theme::Entity>(ctx, &input.id, input.version).await
    }
}

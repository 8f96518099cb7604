//! Writing themes: staff create, change and delete them. A theme that plans, actions or ideas
//! are tagged with cannot be deleted.
use async_graphql::{Context, ID, InputObject, Object, Result};
use chrono::Utc;
use entity::theme;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, Set,
    sea_query::{Asterisk, Expr, ExprTrait, Func, Query},
};
use uuid::Uuid;

use super::Theme;
use crate::{
    auth::{Require, visible_to_staff},
    loader::id_column,
    relay,
    write::{
        Check, DeletePayload, Failure, MAX_NAME, MAX_TEXT, Refused, UserErrorCode, Write, finish, payload,
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
    pub slug: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
}

#[derive(InputObject)]
pub struct DeleteThemeInput {
    pub id: ID,
    pub version: i32,
}

payload!(CreateThemePayload, theme: Theme);
payload!(UpdateThemePayload, theme: Theme);

/// A user error TAKEN on `slug` when another row of the table of `slug_column` (other than
/// `except`) has it. Shared by the tables with unique slugs (themes, departments,
/// organisations).
pub(crate) async fn slug_free<C>(
    w: &Write,
    slug_column: C,
    slug: &str,
    except: Option<Uuid>,
    what: &str,
) -> Result<(), Failure>
where
    C: ColumnTrait,
    C::EntityName: EntityTrait,
{
    let mut q = Query::select()
        .expr(Func::count(Expr::col(Asterisk)))
        .from(C::EntityName::default())
        .and_where(Expr::col(slug_column).eq(slug))
        .to_owned();
    if let Some(id) = except {
        q.and_where(Expr::col(id_column::<C::EntityName>()).ne(id));
    }
    let n: i64 = match w.txn().query_one(&q).await? {
        Some(row) => row.try_get_by_index(0)?,
        None => 0,
    };
    if n > 0 {
        return Err(Refused::one(
            "slug",
            UserErrorCode::Taken,
            format!("another {what} has this slug"),
        )
        .into());
    }
    Ok(())
}

/// The tags that keep a theme from being deleted.
const REFERENCES: &[(&str, &str, &str)] = &[
    ("plan_theme", "theme_id", "plans"),
    ("action_theme", "theme_id", "actions"),
    ("idea_theme", "theme_id", "ideas"),
    (
        "annual_review_focus_theme",
        "theme_id",
        "annual reviews with it in focus",
    ),
];

#[derive(Default)]
pub struct ThemeMutation;

#[Object]
impl ThemeMutation {
    /// Adds a theme. Staff only.
    #[graphql(guard = "Require::Staff", visible = "visible_to_staff")]
    async fn create_theme(&self, ctx: &Context<'_>, input: CreateThemeInput) -> Result<CreateThemePayload> {
        let result: Result<theme::Model, Failure> = async {
            let mut check = Check::default();
            let slug = check.slug("slug", &input.slug);
            let name = check.text("name", &input.name, MAX_NAME);
            let description = check.long_text("description", &input.description, MAX_TEXT);
            check.done()?;
            let (Some(slug), Some(name), Some(description)) = (slug, name, description) else {
                return Err(Refused::one("slug", UserErrorCode::Invalid, "invalid input").into());
            };
            let w = Write::begin(ctx).await?;
            slug_free(&w, theme::Column::Slug, &slug, None, "theme").await?;
            let now = Utc::now();
            let model = w
                .create(
                    "Theme",
                    theme::ActiveModel {
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
        finish(result, |m| CreateThemePayload::ok(Theme(m)))
    }

    /// Changes a theme. Staff only.
    #[graphql(guard = "Require::Staff", visible = "visible_to_staff")]
    async fn update_theme(&self, ctx: &Context<'_>, input: UpdateThemeInput) -> Result<UpdateThemePayload> {
        let result: Result<theme::Model, Failure> = async {
            let mut check = Check::default();
            let id = check.id("id", &input.id, "Theme");
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
            let before = w.find::<theme::Entity>("theme", id).await?;
            let mut row = theme::ActiveModel::default();
            if let Some(Some(slug)) = slug {
                slug_free(&w, theme::Column::Slug, &slug, Some(id), "theme").await?;
                row.slug = Set(slug);
            }
            if let Some(Some(name)) = name {
                row.name = Set(name);
            }
            if let Some(Some(d)) = description {
                row.description = Set(d);
            }
            let after = w
                .update::<theme::Entity>("Theme", &before, input.version, row)
                .await?;
            w.commit().await?;
            Ok(after)
        }
        .await;
        finish(result, |m| UpdateThemePayload::ok(Theme(m)))
    }

    /// Deletes a theme nothing is tagged with. Staff only.
    #[graphql(guard = "Require::Staff", visible = "visible_to_staff")]
    async fn delete_theme(&self, ctx: &Context<'_>, input: DeleteThemeInput) -> Result<DeletePayload> {
        let result: Result<Uuid, Failure> = async {
            let mut check = Check::default();
            let id = check.id("id", &input.id, "Theme");
            check.done()?;
            let Some(id) = id else {
                return Err(Refused::one("id", UserErrorCode::Invalid, "invalid ID").into());
            };
            let w = Write::begin(ctx).await?;
            let before = w.find::<theme::Entity>("theme", id).await?;
            w.refuse_if_used(id, REFERENCES).await?;
            w.delete::<theme::Entity>("Theme", &before, input.version).await?;
            w.commit().await?;
            Ok(id)
        }
        .await;
        finish(result, |id| DeletePayload::ok(relay::encode("Theme", id)))
    }
}

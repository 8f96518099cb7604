//! `about`: facts about this installation, e.g. that it holds demo content.
use async_graphql::{Context, Object, Result, SimpleObject};
use entity::app_meta;
use sea_orm::{DatabaseConnection, EntityTrait};

use crate::error::ApiError;

pub const DEMO_NOTICE_KEY: &str = "demo_notice";

#[derive(SimpleObject)]
pub struct About {
    /// The API's version.
    pub version: &'static str,
    /// Whether the data is invented demo content rather than the municipality's own.
    pub demo_content: bool,
    /// A note on the demo content, in Danish, for a banner.
    pub demo_notice: Option<String>,
}

#[derive(Default)]
pub struct AboutQuery;

// Public data may be cached for a minute (see `schema::Query`).
#[Object(cache_control(max_age = 60))]
impl AboutQuery {
    async fn about(&self, ctx: &Context<'_>) -> Result<About> {
        let db = ctx.data_unchecked::<DatabaseConnection>();
        let notice = app_meta::Entity::find_by_id(DEMO_NOTICE_KEY.to_owned())
            .one(db)
            .await
            .map_err(ApiError::from)?
            .map(|m| m.value);
        Ok(About {
            version: env!("CARGO_PKG_VERSION"),
            demo_content: notice.is_some(),
            demo_notice: notice,
        })
    }
}

//! Map data: where communities and actions are, for map libraries (Leaflet, MapLibre, QGIS)
//! that read GeoJSON (RFC 7946: WGS 84, longitude first).
//! - GraphQL: `geometry` on `Community` and `Action` (a [`PointGeometry`]); an action without
//!   a place of its own is placed at its community.
//! - HTTP: `GET /geo/communities.geojson` and `GET /geo/actions.geojson` ([`features`]),
//!   FeatureCollections with what a map's pop-ups show, filtered by theme and status.
pub mod features;

use async_graphql::{Context, Object, Result};
use entity::action;

use crate::loader;

pub struct PointGeometry {
    pub longitude: f64,
    pub latitude: f64,
}

/// A point in GeoJSON form (RFC 7946), as a map library reads it.
#[Object]
impl PointGeometry {
    /// Always `Point`.
    #[graphql(name = "type")]
    async fn kind(&self) -> &'static str {
        "Point"
    }
    /// `[longitude, latitude]` (WGS 84), as GeoJSON.
    async fn coordinates(&self) -> Vec<f64> {
        vec![self.longitude, self.latitude]
    }
}

/// The point of a stored pair of coordinates (both or neither are stored).
pub fn point(latitude: Option<f64>, longitude: Option<f64>) -> Option<PointGeometry> {
    match (latitude, longitude) {
        (Some(latitude), Some(longitude)) => Some(PointGeometry { longitude, latitude }),
        _ => None,
    }
}

/// Where an action is shown: its own place, else its community's (through the loaders, so a
/// list of actions reads their plans and communities in one statement each).
pub async fn of_action(ctx: &Context<'_>, action: &action::Model) -> Result<Option<PointGeometry>> {
    if let Some(own) = point(action.latitude, action.longitude) {
        return Ok(Some(own));
    }
    let Some(plan) = loader::one(ctx, &crate::plan::BY_ID, action.plan_id).await? else {
        return Ok(None);
    };
    Ok(loader::one(ctx, &crate::community::BY_ID, plan.community_id)
        .await?
        .and_then(|c| point(c.latitude, c.longitude)))
}

//! `GET /geo/communities.geojson` and `GET /geo/actions.geojson`: RFC 7946 FeatureCollections
//! (`application/geo+json`, WGS 84, longitude first), each feature's `id` its global ID.
//!
//! Query parameters (both routes):
//! - `theme=<slug>`, repeatable and/or comma-separated (`theme=natur-friluftsliv,kultur`):
//!   actions with at least one of the themes; an unknown slug matches nothing (an empty
//!   collection when none is known).
//! - `status=<ActionStatus>`, repeatable and/or comma-separated (`status=PLANNED,IN_PROGRESS`):
//!   actions in one of the statuses; a value that is not an `ActionStatus` is a 400.
//! - `community=<slug>`, repeatable and/or comma-separated: those communities, and the actions
//!   of their plans; an unknown slug matches nothing.
//! - `bbox=<west>,<south>,<east>,<north>` (degrees, WGS 84, as RFC 7946's `bbox`; west greater
//!   than east crosses the antimeridian): features whose point lies in the box, edges
//!   included. An action without a place of its own is where its community is. A feature
//!   without a place is in no box: with `bbox`, `skipped` is 0.
//!
//! On the communities' route `theme` and `status` choose communities: those with at least one
//! action the caller may see that matches them; `actionCounts` counts, by status, the
//! community's visible actions that match `theme` (all statuses). Any other parameter is a 400
//! naming it, so a misspelt filter is not silently ignored. Empty values are ignored.
//!
//! A feature needs a place: a community without a location, or an action placed neither
//! itself nor through its community, is left out; the collection's foreign member `skipped`
//! counts them. Admission as the reports ([`crate::report`]): credentials, rate limit (the
//! same points as a report), the request timeout, one retry on a broken connection, 503
//! `UNAVAILABLE` when the database is out of reach. The caller's access decides what is shown
//! (a draft plan's actions only to its community's editors and staff). Caching as the public
//! GraphQL GETs: an `ETag` (304 on `If-None-Match`), `Cache-Control: public, max-age=60`
//! (at most `PUBLIC_MAX_AGE_SECS`) for anonymous callers, `private, no-cache` for others,
//! `Vary` on the credential headers.
use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::Arc,
};

use axum::{
    extract::{Query, State, rejection::QueryRejection},
    http::{HeaderMap, HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use entity::{action, action_theme, community, plan, theme};
use sea_orm::{
    ActiveEnum, ColumnTrait, Condition, DatabaseConnection, DbErr, EntityTrait, Iterable, QueryFilter,
    QuerySelect, QueryTrait, sea_query::Query as SqlQuery,
};
use serde::Serialize;
use uuid::Uuid;

use crate::{
    access::Access,
    action::ActionStatus,
    http::{AppState, Peer},
    plan::PlanStatus,
    relay::{self, NodeType},
};

/// The most values `theme` or `status` may carry, so a filter stays a small statement.
pub const MAX_VALUES: usize = 20;

/// `WEBSITE_COMMUNITY_URL` as it is used: None when unset or empty; a template without
/// `{slug}` would give every community the same address, so it is ignored (and said so).
pub fn url_template(setting: Option<&str>) -> Option<String> {
    let t = setting.map(str::trim).filter(|t| !t.is_empty())?;
    if !t.contains("{slug}") {
        tracing::warn!(
            template = t,
            "WEBSITE_COMMUNITY_URL has no `{{slug}}`; the map data gives no links"
        );
        return None;
    }
    Some(t.to_owned())
}

/// What the query parameters ask for.
#[derive(Debug, Default, Clone)]
struct Filter {
    /// Theme slugs; None: any theme.
    themes: Option<Vec<String>>,
    /// None: any status.
    statuses: Option<Vec<action::ActionStatus>>,
    /// Community slugs; None: every community.
    communities: Option<Vec<String>>,
    /// None: anywhere.
    bbox: Option<BBox>,
}

impl Filter {
    /// Whether the filter chooses communities by their actions (`theme`, `status`).
    fn by_actions(&self) -> bool {
        self.themes.is_some() || self.statuses.is_some()
    }
}

/// A box in degrees, RFC 7946 order: west, south, east, north. West greater than east is a
/// box across the antimeridian.
#[derive(Debug, Clone, Copy, PartialEq)]
struct BBox {
    west: f64,
    south: f64,
    east: f64,
    north: f64,
}

impl BBox {
    /// `west,south,east,north`, or the 400 message saying what is wrong with it.
    fn parse(value: &str) -> Result<BBox, String> {
        let numbers: Vec<f64> = value
            .split(',')
            .map(|n| n.trim().parse::<f64>().ok().filter(|n| n.is_finite()))
            .collect::<Option<_>>()
            .filter(|n: &Vec<f64>| n.len() == 4)
            .ok_or_else(|| {
                format!(
                    "bbox: `{}` is not four numbers west,south,east,north (degrees, e.g. bbox=9.4,56.9,9.9,57.2)",
                    shorten(value)
                )
            })?;
        let [west, south, east, north] = [numbers[0], numbers[1], numbers[2], numbers[3]];
        if [west, east].iter().any(|l| !(-180.0..=180.0).contains(l)) {
            return Err("bbox: a longitude (west, east) is from -180 to 180".to_owned());
        }
        if [south, north].iter().any(|l| !(-90.0..=90.0).contains(l)) {
            return Err("bbox: a latitude (south, north) is from -90 to 90".to_owned());
        }
        if south > north {
            return Err("bbox: south is greater than north".to_owned());
        }
        Ok(BBox {
            west,
            south,
            east,
            north,
        })
    }

    fn contains(&self, (latitude, longitude): (f64, f64)) -> bool {
        let east_west = if self.west <= self.east {
            (self.west..=self.east).contains(&longitude)
        } else {
            longitude >= self.west || longitude <= self.east
        };
        (self.south..=self.north).contains(&latitude) && east_west
    }

    /// The same test in SQL, on a row's latitude and longitude columns (false where null).
    fn condition(&self, latitude: impl ColumnTrait, longitude: impl ColumnTrait) -> Condition {
        let east_west = if self.west <= self.east {
            Condition::all().add(longitude.between(self.west, self.east))
        } else {
            Condition::any()
                .add(longitude.gte(self.west))
                .add(longitude.lte(self.east))
        };
        Condition::all()
            .add(latitude.between(self.south, self.north))
            .add(east_west)
    }
}

/// The parameters as a filter, or the 400 message naming the parameter at fault.
fn parse(params: Result<Query<Vec<(String, String)>>, QueryRejection>) -> Result<Filter, String> {
    let Query(params) = params.map_err(|e| format!("the query string could not be read: {e}"))?;
    let mut themes: Vec<String> = Vec::new();
    let mut statuses: Vec<action::ActionStatus> = Vec::new();
    let mut communities: Vec<String> = Vec::new();
    let mut bbox = None;
    let mut theme_given = false;
    let mut status_given = false;
    let mut community_given = false;
    for (name, value) in params {
        let values = value.split(',').map(str::trim).filter(|v| !v.is_empty());
        match name.as_str() {
            "theme" | "community" => {
                let (list, given) = if name == "theme" {
                    (&mut themes, &mut theme_given)
                } else {
                    (&mut communities, &mut community_given)
                };
                for v in values {
                    *given = true;
                    // Refused here: PostgreSQL cannot compare a text holding a NUL.
                    if v.chars().any(char::is_control) {
                        return Err(format!("{name}: a slug holds no control characters"));
                    }
                    list.push(crate::common::slug_lookup(v));
                }
            }
            "bbox" if value.trim().is_empty() => {}
            "bbox" => {
                if bbox.is_some() {
                    return Err("bbox: one box at most".to_owned());
                }
                bbox = Some(BBox::parse(&value)?);
            }
            "status" => {
                for v in values {
                    status_given = true;
                    let status = action::ActionStatus::iter()
                        .find(|s| s.to_value() == v)
                        .ok_or_else(|| {
                            format!(
                                "status: `{}` is not an action status; use one of {}",
                                shorten(v),
                                action::ActionStatus::iter()
                                    .map(|s| s.to_value())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            )
                        })?;
                    statuses.push(status);
                }
            }
            // A cache-buster (jQuery's `cache: false`, map plugins): no filter, nothing read.
            "_" => {}
            other => {
                return Err(format!(
                    "unknown query parameter `{}`: the map data takes `theme` (theme slugs), `status` (action statuses), `community` (community slugs) and `bbox` (west,south,east,north)",
                    shorten(other)
                ));
            }
        }
        if themes.len() > MAX_VALUES || statuses.len() > MAX_VALUES || communities.len() > MAX_VALUES {
            return Err(format!(
                "{name}: at most {MAX_VALUES} values (repeated or comma-separated)"
            ));
        }
    }
    Ok(Filter {
        themes: theme_given.then_some(themes),
        statuses: status_given.then_some(statuses),
        communities: community_given.then_some(communities),
        bbox,
    })
}

/// A client's text in a message, cut short, its control characters written as escapes
/// (a NUL is `\0`, not a NUL byte in the answer).
fn shorten(text: &str) -> String {
    let cut: String = text.chars().take(40).collect();
    let more = if cut.len() < text.len() { "…" } else { "" };
    let shown: String = cut
        .chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect();
    format!("{shown}{more}")
}

/// A GeoJSON Point, `[longitude, latitude]`.
#[derive(Serialize)]
struct Point {
    r#type: &'static str,
    coordinates: [f64; 2],
}

#[derive(Serialize)]
struct Feature<P> {
    r#type: &'static str,
    id: String,
    geometry: Point,
    properties: P,
}

/// A FeatureCollection with its foreign members: how many features were left out for want
/// of a place, and the Danish labels of the statuses it names.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Collection<P> {
    r#type: &'static str,
    features: Vec<Feature<P>>,
    skipped: usize,
    action_status_labels: BTreeMap<String, &'static str>,
}

fn collection<P>(features: Vec<Feature<P>>, skipped: usize) -> Collection<P> {
    Collection {
        r#type: "FeatureCollection",
        features,
        skipped,
        action_status_labels: action::ActionStatus::iter()
            .map(|s| (s.to_value(), ActionStatus::from(s).label()))
            .collect(),
    }
}

fn feature<P>(type_name: NodeType, id: Uuid, (latitude, longitude): (f64, f64), properties: P) -> Feature<P> {
    Feature {
        r#type: "Feature",
        id: relay::encode(type_name, id).0,
        geometry: Point {
            r#type: "Point",
            coordinates: [longitude, latitude],
        },
        properties,
    }
}

fn place(latitude: Option<f64>, longitude: Option<f64>) -> Option<(f64, f64)> {
    latitude.zip(longitude)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CommunityProperties {
    id: String,
    name: String,
    slug: String,
    /// The community's page on the municipality's website (`WEBSITE_COMMUNITY_URL`).
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    plan_id: Option<String>,
    plan_title: Option<String>,
    plan_status: Option<String>,
    plan_status_label: Option<&'static str>,
    /// Every status, its value the number of actions in it (keys in alphabetical order).
    action_counts: serde_json::Map<String, serde_json::Value>,
    action_total: usize,
    /// The same for the current plan's actions alone (what its page lists); all zero without
    /// a current plan.
    plan_action_counts: serde_json::Map<String, serde_json::Value>,
    plan_action_total: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ActionProperties {
    id: String,
    title: String,
    status: String,
    status_label: &'static str,
    progress: i32,
    plan_id: String,
    plan_title: String,
    community_id: String,
    community_name: String,
    community_slug: String,
    themes: Vec<String>,
    /// `action` (its own place) or `community` (placed at its community).
    located_at: &'static str,
    /// The action's own flag: it seeks partners.
    seeking_partners: bool,
    /// One of the `opportunities` partners may join now: it seeks partners, is not finished,
    /// and its plan is adopted.
    opportunity: bool,
}

/// The ids of the themes with the given slugs (None: no theme filter).
async fn theme_ids(db: &DatabaseConnection, filter: &Filter) -> Result<Option<Vec<Uuid>>, DbErr> {
    let Some(slugs) = &filter.themes else {
        return Ok(None);
    };
    let ids = theme::Entity::find()
        .select_only()
        .column(theme::Column::Id)
        .filter(theme::Column::Slug.is_in(slugs.iter().cloned()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(Some(ids))
}

/// The actions the caller may see that match the filter's themes (and statuses, when
/// `statuses` is set).
fn matching(
    access: &Access,
    themes: Option<&[Uuid]>,
    statuses: Option<&[action::ActionStatus]>,
) -> sea_orm::Select<action::Entity> {
    let mut q = crate::action::visible(access);
    if let Some(themes) = themes {
        q = q.filter(
            action::Column::Id.in_subquery(
                SqlQuery::select()
                    .column(action_theme::Column::ActionId)
                    .from(action_theme::Entity)
                    .and_where(action_theme::Column::ThemeId.is_in(themes.iter().copied()))
                    .to_owned(),
            ),
        );
    }
    if let Some(statuses) = statuses {
        q = q.filter(action::Column::Status.is_in(statuses.iter().copied()));
    }
    q
}

fn by_id<M>(rows: Vec<M>, id: impl Fn(&M) -> Uuid) -> HashMap<Uuid, M> {
    rows.into_iter().map(|m| (id(&m), m)).collect()
}

/// The communities' collection, as `access` sees it.
async fn communities(
    db: &DatabaseConnection,
    access: &Access,
    filter: &Filter,
    url_template: Option<&str>,
) -> Result<Collection<CommunityProperties>, DbErr> {
    let themes = theme_ids(db, filter).await?;
    let mut all = community::Entity::find().all(db).await?;
    all.sort_by_cached_key(|c| (crate::collation::danish_key(&c.name), c.id));
    let plans = by_id(crate::plan::visible(access).all(db).await?, |p| p.id);
    // The current plan: the adopted plan in force, the one that begins first (as
    // `Community.currentPlan`: the others are yet to begin).
    let mut current: HashMap<Uuid, &plan::Model> = HashMap::new();
    for p in plans.values().filter(|p| p.status == plan::PlanStatus::Adopted) {
        let newer = current.get(&p.community_id).is_none_or(|c| {
            (
                std::cmp::Reverse(p.period_from),
                p.adopted_on,
                std::cmp::Reverse(p.id),
            ) > (
                std::cmp::Reverse(c.period_from),
                c.adopted_on,
                std::cmp::Reverse(c.id),
            )
        });
        if newer {
            current.insert(p.community_id, p);
        }
    }
    // Counts by status of the visible actions of the themes asked for.
    let counted: Vec<(Uuid, action::ActionStatus)> = matching(access, themes.as_deref(), None)
        .select_only()
        .column(action::Column::PlanId)
        .column(action::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    let mut counts: HashMap<Uuid, HashMap<action::ActionStatus, usize>> = HashMap::new();
    let mut of_plans: HashMap<Uuid, HashMap<action::ActionStatus, usize>> = HashMap::new();
    let mut chosen: HashSet<Uuid> = HashSet::new();
    for (plan_id, status) in counted {
        let Some(p) = plans.get(&plan_id) else { continue };
        *counts
            .entry(p.community_id)
            .or_default()
            .entry(status)
            .or_default() += 1;
        *of_plans.entry(plan_id).or_default().entry(status).or_default() += 1;
        if filter.statuses.as_ref().is_none_or(|s| s.contains(&status)) {
            chosen.insert(p.community_id);
        }
    }
    let mut features = Vec::new();
    let mut skipped = 0;
    for c in all {
        if filter.by_actions() && !chosen.contains(&c.id) {
            continue;
        }
        if filter.communities.as_ref().is_some_and(|s| !s.contains(&c.slug)) {
            continue;
        }
        // In a box, a community without a place is simply not in it (as for actions).
        let Some(at) = place(c.latitude, c.longitude) else {
            skipped += usize::from(filter.bbox.is_none());
            continue;
        };
        if filter.bbox.is_some_and(|b| !b.contains(at)) {
            continue;
        }
        let plan = current.get(&c.id);
        let (action_counts, action_total) = by_status(counts.get(&c.id));
        let (plan_action_counts, plan_action_total) = by_status(plan.and_then(|p| of_plans.get(&p.id)));
        let id = relay::encode(NodeType::Community, c.id).0;
        features.push(feature(
            NodeType::Community,
            c.id,
            at,
            CommunityProperties {
                id,
                url: url_template.map(|t| t.replace("{slug}", &c.slug)),
                name: c.name,
                slug: c.slug,
                plan_id: plan.map(|p| relay::encode(NodeType::Plan, p.id).0),
                plan_title: plan.map(|p| p.title.clone()),
                plan_status: plan.map(|p| p.status.to_value()),
                plan_status_label: plan.map(|p| PlanStatus::from(p.status).label()),
                action_counts,
                action_total,
                plan_action_counts,
                plan_action_total,
            },
        ));
    }
    Ok(collection(features, skipped))
}

/// Every action status, its value the number of actions in it, and their total.
fn by_status(
    counts: Option<&HashMap<action::ActionStatus, usize>>,
) -> (serde_json::Map<String, serde_json::Value>, usize) {
    let mut out = serde_json::Map::new();
    let mut total = 0;
    for status in action::ActionStatus::iter() {
        let n = counts.and_then(|m| m.get(&status)).copied().unwrap_or(0);
        total += n;
        out.insert(status.to_value(), n.into());
    }
    (out, total)
}

/// The actions' collection, as `access` sees it.
async fn actions(
    db: &DatabaseConnection,
    access: &Access,
    filter: &Filter,
) -> Result<Collection<ActionProperties>, DbErr> {
    let themes = theme_ids(db, filter).await?;
    let chosen =
        || {
            let mut q = matching(access, themes.as_deref(), filter.statuses.as_deref());
            let in_communities = |c: Condition| {
                action::Column::PlanId.in_subquery(
                    SqlQuery::select()
                        .column(plan::Column::Id)
                        .from(plan::Entity)
                        .and_where(
                            plan::Column::CommunityId.in_subquery(
                                SqlQuery::select()
                                    .column(community::Column::Id)
                                    .from(community::Entity)
                                    .cond_where(c)
                                    .to_owned(),
                            ),
                        )
                        .to_owned(),
                )
            };
            if let Some(slugs) = &filter.communities {
                q = q.filter(in_communities(
                    Condition::all().add(community::Column::Slug.is_in(slugs.iter().cloned())),
                ));
            }
            if let Some(b) = filter.bbox {
                // At its own place, or without one at its community's.
                q =
                    q.filter(
                        Condition::any()
                            .add(b.condition(action::Column::Latitude, action::Column::Longitude))
                            .add(Condition::all().add(action::Column::Latitude.is_null()).add(
                                in_communities(
                                    b.condition(community::Column::Latitude, community::Column::Longitude),
                                ),
                            )),
                    );
            }
            q
        };
    let mut rows = chosen().all(db).await?;
    rows.sort_by_cached_key(|a| (crate::collation::danish_key(&a.title), a.id));
    let plans = by_id(crate::plan::visible(access).all(db).await?, |p| p.id);
    let communities = by_id(community::Entity::find().all(db).await?, |c| c.id);
    let slugs: HashMap<Uuid, String> = theme::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.id, t.slug))
        .collect();
    let links: Vec<(Uuid, Uuid)> = action_theme::Entity::find()
        .select_only()
        .column(action_theme::Column::ActionId)
        .column(action_theme::Column::ThemeId)
        .filter(
            action_theme::Column::ActionId
                .in_subquery(chosen().select_only().column(action::Column::Id).into_query()),
        )
        .into_tuple()
        .all(db)
        .await?;
    let mut themes_of: HashMap<Uuid, Vec<String>> = HashMap::new();
    for (a, t) in links {
        if let Some(slug) = slugs.get(&t) {
            themes_of.entry(a).or_default().push(slug.clone());
        }
    }
    let mut features = Vec::new();
    let mut skipped = 0;
    for a in rows {
        // An action is visible exactly when its plan is.
        let (Some(p), Some(c)) = (
            plans.get(&a.plan_id),
            plans
                .get(&a.plan_id)
                .and_then(|p| communities.get(&p.community_id)),
        ) else {
            continue;
        };
        let (at, located_at) = match (place(a.latitude, a.longitude), place(c.latitude, c.longitude)) {
            (Some(own), _) => (own, "action"),
            (None, Some(community)) => (community, "community"),
            (None, None) => {
                skipped += 1;
                continue;
            }
        };
        let mut themes = themes_of.remove(&a.id).unwrap_or_default();
        themes.sort();
        features.push(feature(
            NodeType::Action,
            a.id,
            at,
            ActionProperties {
                id: relay::encode(NodeType::Action, a.id).0,
                title: a.title,
                status: a.status.to_value(),
                status_label: ActionStatus::from(a.status).label(),
                progress: a.progress,
                plan_id: relay::encode(NodeType::Plan, p.id).0,
                plan_title: p.title.clone(),
                community_id: relay::encode(NodeType::Community, c.id).0,
                community_name: c.name.clone(),
                community_slug: c.slug.clone(),
                themes,
                located_at,
                seeking_partners: a.seeking_partners,
                opportunity: a.seeking_partners
                    && p.status == plan::PlanStatus::Adopted
                    && crate::action::OPPORTUNITY_STATUSES.contains(&a.status.into()),
            },
        ));
    }
    Ok(collection(features, skipped))
}

/// `GET /geo/communities.geojson`.
pub async fn communities_geojson(
    State(state): State<Arc<AppState>>,
    peer: Peer,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let template = state.website_community_url.clone();
    geojson(&state, &peer, &headers, &uri, |db, access, filter| {
        let template = template.clone();
        async move { communities(&db, &access, &filter, template.as_deref()).await }
    })
    .await
}

/// `GET /geo/actions.geojson`.
pub async fn actions_geojson(
    State(state): State<Arc<AppState>>,
    peer: Peer,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    geojson(&state, &peer, &headers, &uri, |db, access, filter| async move {
        actions(&db, &access, &filter).await
    })
    .await
}

/// A collection `build` makes for the caller, from the filter in the query string.
async fn geojson<T, F, Fut>(
    state: &Arc<AppState>,
    peer: &Peer,
    headers: &HeaderMap,
    uri: &Uri,
    build: F,
) -> Response
where
    T: serde::Serialize,
    F: Fn(DatabaseConnection, Access, Filter) -> Fut,
    Fut: Future<Output = Result<T, DbErr>>,
{
    // Escapes that are not UTF-8 would be read as U+FFFD, and match nothing.
    if !uri
        .query()
        .is_none_or(crate::http::request::percent_decodes_to_utf8)
    {
        return crate::report::plain(StatusCode::BAD_REQUEST, crate::http::request::NOT_UTF8);
    }
    let filter = match parse(Query::try_from_uri(uri)) {
        Ok(f) => f,
        Err(message) => return crate::report::plain(StatusCode::BAD_REQUEST, message),
    };
    let loaded = crate::report::fetch(state, peer, headers, |db, _, access| {
        let built = build(db, access, filter.clone());
        async move {
            let collection = built.await?;
            Ok(Some(
                serde_json::to_vec(&collection).map_err(|e| DbErr::Custom(e.to_string()))?,
            ))
        }
    })
    .await;
    send(state, headers, loaded)
}

/// The collection with its caching headers: an `ETag` of the body, 304 when the client holds
/// it; `public, max-age` for anonymous callers, `private, no-cache` for others.
fn send(
    state: &AppState,
    request_headers: &HeaderMap,
    loaded: Result<(crate::auth::Viewer, Option<Vec<u8>>), Response>,
) -> Response {
    let (viewer, body) = match loaded {
        Ok((viewer, Some(body))) => (viewer, body),
        Ok((_, None)) => return crate::report::plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
        Err(response) => return response,
    };
    let etag = format!("\"{}\"", &crate::auth::secret::sha256_hex_bytes(&body)[..32]);
    let cache_control = if viewer.is_anonymous() {
        // As long as a public GraphQL answer (the schema's hint for public data), so the map
        // and the page beside it show a change alike.
        match state
            .public_max_age
            .as_secs()
            .min(crate::http::respond::PUBLIC_DATA_MAX_AGE_SECS)
        {
            0 => "public, no-cache".to_owned(),
            secs => format!("public, max-age={secs}"),
        }
    } else {
        "private, no-cache".to_owned()
    };
    let fresh = crate::http::respond::none_match(request_headers, etag.as_bytes());
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, "application/geo+json")], body).into_response()
    };
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&cache_control) {
        headers.insert(header::CACHE_CONTROL, v);
    }
    headers.insert(header::VARY, HeaderValue::from_static("Authorization, X-Api-Key"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Result<Query<Vec<(String, String)>>, QueryRejection> {
        Ok(Query(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        ))
    }

    #[test]
    fn themes_repeat_and_split_on_commas() {
        let f = parse(params(&[
            ("theme", "natur, kultur"),
            ("theme", "bosaetning"),
            ("theme", ""),
        ]))
        .unwrap();
        assert_eq!(
            f.themes.unwrap(),
            ["natur", "kultur", "bosaetning"].map(String::from)
        );
        assert!(f.statuses.is_none());
    }

    #[test]
    fn statuses_are_action_statuses() {
        let f = parse(params(&[("status", "PLANNED,IN_PROGRESS")])).unwrap();
        assert_eq!(
            f.statuses.unwrap(),
            [action::ActionStatus::Planned, action::ActionStatus::InProgress]
        );
        let e = parse(params(&[("status", "planned")])).unwrap_err();
        assert!(e.starts_with("status: `planned` is not an action status"), "{e}");
        assert!(
            parse(params(&[("farve", "rød")]))
                .unwrap_err()
                .contains("`farve`")
        );
        let many = vec![("theme", "a"); MAX_VALUES + 1];
        assert!(parse(params(&many)).unwrap_err().starts_with("theme: at most"));
    }

    #[test]
    fn empty_values_are_no_filter() {
        let f = parse(params(&[
            ("theme", ""),
            ("status", " "),
            ("community", ""),
            ("bbox", ""),
        ]))
        .unwrap();
        assert!(!f.by_actions());
        assert!(f.communities.is_none() && f.bbox.is_none());
    }

    #[test]
    fn a_bbox_is_west_south_east_north() {
        let b = BBox::parse("9.4, 56.9,9.9,57.2").unwrap();
        assert!(b.contains((57.07, 9.72)));
        assert!(b.contains((56.9, 9.4)), "edges are inside");
        assert!(!b.contains((57.07, 10.0)));
        assert!(!b.contains((57.3, 9.72)));
        // Across the antimeridian: from 170 east to 170 west.
        let across = BBox::parse("170,-20,-170,-10").unwrap();
        assert!(across.contains((-15.0, 178.0)) && across.contains((-15.0, -175.0)));
        assert!(!across.contains((-15.0, 0.0)));
        for (bad, says) in [
            ("9.4,56.9,9.9", "not four numbers"),
            ("9.4,56.9,9.9,57.2,1", "not four numbers"),
            ("a,b,c,d", "not four numbers"),
            ("NaN,56.9,9.9,57.2", "not four numbers"),
            ("inf,56.9,9.9,57.2", "not four numbers"),
            ("190,56.9,9.9,57.2", "longitude"),
            ("9.4,-91,9.9,57.2", "latitude"),
            ("9.4,57.2,9.9,56.9", "south is greater than north"),
        ] {
            let e = BBox::parse(bad).unwrap_err();
            assert!(e.starts_with("bbox: ") && e.contains(says), "{bad}: {e}");
        }
        let e = parse(params(&[("bbox", "9,56,10,57"), ("bbox", "9,56,10,57")])).unwrap_err();
        assert_eq!(e, "bbox: one box at most");
        let f = parse(params(&[
            ("community", "gjoel,birkelse"),
            ("community", "attrup"),
        ]))
        .unwrap();
        assert!(
            !f.by_actions(),
            "communities are chosen by themselves, not by their actions"
        );
        assert_eq!(
            f.communities.unwrap(),
            ["gjoel", "birkelse", "attrup"].map(String::from)
        );
    }
}

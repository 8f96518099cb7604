//! Reports of the annual review, for the committee and the public:
//! - `GET /reports/annual/{year}`: a printable HTML page (Danish) with its charts drawn on the
//!   server as inline SVG;
//! - `GET /reports/annual/{year}.csv`: one row per community (columns in [`csv::header`]).
//!
//! Admission as for `/graphql` ([`crate::http::admission`]: `Authorization: Bearer …` or
//! `X-Api-Key`, bad credentials get 401; the rate limit, a 429 over it). A published review is everyone's; a draft only staff's: anyone else
//! gets the same 404 as for a year without a review, so a draft's existence is not revealed.
//! The figures are those stored in the review, and the focus names and the year-over-year
//! totals are frozen at publication, so a report never changes once published. A failure on
//! our side is a 500 "internal error" (details in the log), as `/graphql` says INTERNAL; a
//! database out of reach is the same 503 `UNAVAILABLE` as on `/graphql`.
mod charts;
pub mod consultation;
pub mod csv;
mod html;

use std::{num::IntErrorKind, sync::Arc};

use axum::{
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use entity::{
    annual_review::{self, ReviewStatus},
    annual_review_entry,
};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};

use crate::{
    access::Access,
    auth::Viewer,
    http::{
        AppState, Peer,
        admission::{self, Ask},
        negotiate::MediaType,
        respond,
    },
    relay::NodeType,
    review::snapshot::{self, Snapshot, YearTotals},
};

/// What a client is told of a failure on our side (the details go to the log), as `/graphql`
/// says it (`extensions.code` INTERNAL, "internal error").
const INTERNAL: &str = "internal error: the report could not be built";

/// How many rate-limit points a report costs: it reads every community's figures.
const POINTS: u32 = 10;

/// What a report shows.
pub struct Report {
    pub review: annual_review::Model,
    /// Each community's entry with its figures, in Danish alphabetical order.
    pub entries: Vec<(annual_review_entry::Model, Snapshot)>,
    pub focus_communities: Vec<String>,
    pub focus_themes: Vec<String>,
    /// The totals of the earlier published reviews and of this one, oldest year first.
    pub history: Vec<YearTotals>,
}

async fn entries_of(
    db: &DatabaseConnection,
    review: uuid::Uuid,
) -> Result<Vec<(annual_review_entry::Model, Snapshot)>, DbErr> {
    let mut entries: Vec<_> = annual_review_entry::Entity::find()
        .filter(annual_review_entry::Column::ReviewId.eq(review))
        .all(db)
        .await?
        .into_iter()
        .map(|e| {
            let s = snapshot::from_json(&e.snapshot);
            (e, s)
        })
        .collect();
    entries.sort_by_cached_key(|(e, s)| (crate::collation::danish_key(&s.community_name), e.id));
    Ok(entries)
}

/// The report of `year`, if the caller may see its review. A published review shows what was
/// frozen at its publication (the focus names and the earlier years); a draft the live focus
/// and the reviews published so far.
pub async fn load(db: &DatabaseConnection, access: &Access, year: i32) -> Result<Option<Report>, DbErr> {
    let Some(review) = crate::review::find_visible(db, access, year).await? else {
        return Ok(None);
    };
    let entries = entries_of(db, review.id).await?;
    let focus = match snapshot::frozen::<snapshot::Focus>(review.frozen_focus.as_deref()) {
        Some(f) => f,
        None => snapshot::live_focus(db, review.id).await?,
    };
    let mut history = match snapshot::frozen::<Vec<YearTotals>>(review.frozen_history.as_deref()) {
        Some(h) => h,
        None => snapshot::published_before(db, year).await?,
    };
    history.push(YearTotals::of(
        review.year,
        &snapshot::sum(entries.iter().map(|(_, s)| s)),
    ));
    Ok(Some(Report {
        review,
        entries,
        focus_communities: focus.communities.into_iter().map(|n| n.name).collect(),
        focus_themes: focus.themes.into_iter().map(|n| n.name).collect(),
        history,
    }))
}

/// Admits the request as `/graphql` would (credentials, rate limit, the client's turn) and
/// runs `load` with the caller's access within the request timeout, once more on a fresh
/// connection when one broke under it. Whatever stops it (a refusal, the timeout, the
/// database) is the answer in `Err`.
pub(crate) async fn fetch<T, F, Fut>(
    state: &Arc<AppState>,
    peer: &Peer,
    headers: &HeaderMap,
    load: F,
) -> Result<(Viewer, Option<T>), Response>
where
    F: Fn(DatabaseConnection, Viewer, Access) -> Fut,
    Fut: Future<Output = Result<Option<T>, DbErr>>,
{
    let ask = Ask {
        points: POINTS,
        untrusted_document: false,
    };
    let admitted = match admission::admit(state, headers, peer, ask).await {
        Ok(admitted) => admitted,
        Err(refusal) => return Err(respond::refusal(MediaType::Json, refusal)),
    };
    let _turn = admitted.turn(state).await;
    let viewer = admitted.viewer;
    let access = viewer.access();
    let deadline = tokio::time::Instant::now() + state.timeout;
    let mut loaded =
        tokio::time::timeout_at(deadline, load(state.db.clone(), viewer.clone(), access.clone())).await;
    // A connection that broke under a read (the database restarted): once more on a fresh one.
    if let Ok(Err(e)) = &loaded
        && crate::db::is_broken_connection(e)
    {
        tracing::warn!(error = %e, "database connection broke while building a report; retrying on a fresh one");
        crate::db::recover(&state.db).await;
        loaded =
            tokio::time::timeout_at(deadline, load(state.db.clone(), viewer.clone(), access.clone())).await;
    }
    let Ok(loaded) = loaded else {
        tracing::warn!("building a report ran out of time");
        return Err(plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "the report took too long to build; try again",
        ));
    };
    match loaded {
        Ok(found) => Ok((viewer, found)),
        Err(e) if crate::db::is_unavailable(&e) => {
            tracing::warn!(error = %e, "database unavailable while building a report");
            Err(respond::unavailable(MediaType::Json))
        }
        Err(e) => {
            tracing::error!(error = %e, "database error while building a report");
            Err(plain(StatusCode::INTERNAL_SERVER_ERROR, INTERNAL))
        }
    }
}

pub(crate) fn plain(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        message.into(),
    )
        .into_response()
}

/// A report's path segment as what it names and whether the CSV is asked for (`.csv`; no
/// ending is the HTML page). Any other ending, `.CSV` or `.html` included, is refused as such.
fn format_of(segment: &str) -> Result<(&str, bool), String> {
    if let Some(name) = segment.strip_suffix(".csv") {
        return Ok((name, true));
    }
    match segment.rsplit_once('.') {
        Some((_, ending)) => {
            let ending: String = ending.chars().take(12).collect();
            Err(format!(
                "no report ends in .{}: the page has no ending, the CSV ends in .csv",
                ending.escape_debug()
            ))
        }
        None => Ok((segment, false)),
    }
}

/// `GET /reports/annual/{year}` and `GET /reports/annual/{year}.csv`.
pub async fn annual(
    State(state): State<Arc<AppState>>,
    peer: Peer,
    headers: HeaderMap,
    Path(segment): Path<String>,
) -> Response {
    let (year_text, csv) = match format_of(&segment) {
        Ok(split) => split,
        Err(message) => return plain(StatusCode::BAD_REQUEST, message),
    };
    let year = match year_text.parse::<i32>() {
        Ok(year) if year.to_string() == year_text => Some(year),
        // `+2025` and `02025` are not other names for the report (nor other cache entries).
        Ok(_) => {
            return plain(
                StatusCode::BAD_REQUEST,
                "the year must be written plainly, e.g. /reports/annual/2025 or /reports/annual/2025.csv",
            );
        }
        // A number too large for any year is out of range, like any other.
        Err(e) if matches!(e.kind(), IntErrorKind::PosOverflow | IntErrorKind::NegOverflow) => None,
        Err(_) => {
            return plain(
                StatusCode::BAD_REQUEST,
                "the year must be a number, e.g. /reports/annual/2025 or /reports/annual/2025.csv",
            );
        }
    };
    let Some(year) = year.filter(|y| crate::common::YEARS.contains(y)) else {
        let got: String = year_text.chars().take(24).collect();
        let more = if got.len() < year_text.len() { "…" } else { "" };
        return plain(
            StatusCode::BAD_REQUEST,
            format!(
                "the year must be between {} and {}, got {got}{more}",
                crate::common::FIRST_YEAR,
                crate::common::LAST_YEAR
            ),
        );
    };
    let (viewer, loaded) = match fetch(&state, &peer, &headers, |db, _, access| async move {
        load(&db, &access, year).await
    })
    .await
    {
        Ok(r) => r,
        Err(response) => return response,
    };
    let Some(report) = loaded else {
        // Staff see drafts too: for them there is none at all.
        let message = if viewer.is_staff() {
            format!("Der findes ingen årsstatus for {year}.")
        } else {
            format!("Der findes ingen offentliggjort årsstatus for {year}.")
        };
        return plain(StatusCode::NOT_FOUND, message);
    };
    let cache_control = if report.review.status == ReviewStatus::Published && viewer.is_anonymous() {
        format!("public, max-age={}", state.public_max_age.as_secs())
    } else {
        "private, no-store".to_owned()
    };
    let body = if csv {
        Document::Csv(
            csv::render(&report),
            format!("attachment; filename=\"aarsstatus-{year}.csv\""),
        )
    } else {
        Document::Html(html::render(&report))
    };
    document(&headers, body, &cache_control)
}

/// `GET /reports/consultation/{planId}` and `GET /reports/consultation/{planId}.csv`: the
/// summary of a plan's consultation (see [`consultation`]).
pub async fn consultation_summary(
    State(state): State<Arc<AppState>>,
    peer: Peer,
    headers: HeaderMap,
    Path(segment): Path<String>,
) -> Response {
    let (id_text, csv) = match format_of(&segment) {
        Ok(split) => split,
        Err(message) => return plain(StatusCode::BAD_REQUEST, message),
    };
    let not_found = || {
        plain(
            StatusCode::NOT_FOUND,
            "Planen findes ikke, eller du har ikke adgang til den.",
        )
    };
    let id = match crate::relay::decode(&async_graphql::ID(id_text.to_owned())) {
        Ok((type_name, id)) if type_name == NodeType::Plan.name() => id,
        Ok(_) => return not_found(),
        Err(_) => {
            return plain(
                StatusCode::BAD_REQUEST,
                "the plan must be given by its ID (`Plan.id`), e.g. /reports/consultation/<id> or /reports/consultation/<id>.csv",
            );
        }
    };
    let (viewer, loaded) = match fetch(&state, &peer, &headers, |db, viewer, access| async move {
        consultation::load(&db, &viewer, &access, id).await
    })
    .await
    {
        Ok(r) => r,
        Err(response) => return response,
    };
    let Some(summary) = loaded else {
        return not_found();
    };
    // What a moderator sees is theirs alone; the public summary may be cached like the
    // annual report.
    let cache_control = if viewer.is_anonymous() {
        format!("public, max-age={}", state.public_max_age.as_secs())
    } else {
        "private, no-store".to_owned()
    };
    let body = if csv {
        Document::Csv(
            consultation::csv(&summary),
            "attachment; filename=\"hoeringssvar.csv\"".to_owned(),
        )
    } else {
        Document::Html(consultation::html(&summary))
    };
    document(&headers, body, &cache_control)
}

/// A report as it is sent: HTML, or CSV with the content disposition (an attachment and its
/// file name) or the error that kept it from being written.
enum Document {
    Html(String),
    Csv(Result<Vec<u8>, ::csv::Error>, String),
}

/// The response for a report: its body and type, its cache policy, and `Vary` on the
/// credentials (what a caller sees depends on who they are). A public one also has an `ETag`
/// of its body, and is a 304 for a client that holds it (`If-None-Match`). A CSV that could
/// not be written is a 500.
fn document(request_headers: &HeaderMap, body: Document, cache_control: &str) -> Response {
    let html = matches!(body, Document::Html(_));
    let (content_type, disposition, body) = match body {
        Document::Html(html) => ("text/html; charset=utf-8", None, html.into_bytes()),
        Document::Csv(Ok(body), disposition) => ("text/csv; charset=utf-8", Some(disposition), body),
        Document::Csv(Err(e), _) => {
            tracing::error!(error = %e, "a CSV report could not be written");
            return plain(StatusCode::INTERNAL_SERVER_ERROR, INTERNAL);
        }
    };
    let etag = cache_control
        .starts_with("public")
        .then(|| format!("\"{}\"", &crate::auth::secret::sha256_hex_bytes(&body)[..32]));
    let mut response = match &etag {
        Some(tag) if crate::http::respond::none_match(request_headers, tag.as_bytes()) => {
            StatusCode::NOT_MODIFIED.into_response()
        }
        _ => {
            let mut response = ([(header::CONTENT_TYPE, content_type)], body).into_response();
            if let Some(v) = disposition.and_then(|d| HeaderValue::from_str(&d).ok()) {
                response.headers_mut().insert(header::CONTENT_DISPOSITION, v);
            }
            response
        }
    };
    if let Some(v) = etag.and_then(|t| HeaderValue::from_str(&t).ok()) {
        response.headers_mut().insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(cache_control) {
        response.headers_mut().insert(header::CACHE_CONTROL, v);
    }
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Authorization, X-Api-Key"));
    if html {
        response.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(HTML_POLICY),
        );
    }
    response
}

/// What a report's page may load: nothing but its own `<style>` and inline SVG charts. Text
/// citizens sent (a consultation's responses) is escaped; this is the second wall: no script
/// runs, nothing is fetched, no form is sent, whatever got in.
const HTML_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

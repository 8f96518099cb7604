//! Open data: the public part of the programme as a Frictionless Data Package (v2).
//! - `GET /opendata/datapackage.json`: the descriptor (licence CC BY 4.0, the time it was
//!   generated, one resource per CSV with its Table Schema: types, Danish titles, English and
//!   Danish descriptions, primary and foreign keys, enum values with their Danish labels);
//! - `GET /opendata/{name}.csv`: one file per public table (see [`tables::Table`]).
//!
//! Only public data, whoever asks: every table is read with [`crate::access::Access::anonymous`]'s rules
//! (`crate::access`), so drafts and what hangs under them, internal notes, contact people,
//! consultation responses and partners' proposals not taken up never appear, and the same
//! answer may be cached by anyone. A CSV is streamed: its rows are read by primary key
//! `OPENDATA_PAGE_ROWS` ([`tables::PAGE`] by default) at a time and written as they come, so memory stays flat however large
//! the table. Admission as for the reports (credentials checked, bad ones get 401; the rate
//! limit). The first page is read before the answer starts, so a database out of reach is the
//! usual 503 `UNAVAILABLE`; a failure later can only cut the body short (the client sees an
//! incomplete chunked body, never a truncated file that looks whole), and is logged.
mod package;
pub mod tables;

use std::sync::Arc;

use axum::{
    body::{Body, Bytes},
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use futures_util::StreamExt;
use sea_orm::{DatabaseConnection, DbErr};

use crate::http::{
    AppState, Peer,
    admission::{self, Ask},
    negotiate::MediaType,
    respond,
};
use tables::{At, Key, Page, Table};

/// Rate-limit points of a CSV. It reads a whole table, but streamed (little memory, no
/// build-up), and a client takes the package whole: a validator such as `frictionless`
/// fetches its 22 files and several of them again for each foreign key pointing at them, all
/// within an anonymous caller's burst (100 points by default) with the release build's speed.
const POINTS: u32 = 1;

/// Rate-limit points of the descriptor: built without the database.
const PACKAGE_POINTS: u32 = 1;

/// `GET /opendata/{file}`: `datapackage.json` or one of the CSV files.
pub async fn file(
    State(state): State<Arc<AppState>>,
    peer: Peer,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    let table = match name.as_str() {
        "datapackage.json" => None,
        other => match other.strip_suffix(".csv").and_then(Table::named) {
            Some(table) => Some(table),
            None => return not_found(),
        },
    };
    let ask = Ask {
        points: if table.is_some() { POINTS } else { PACKAGE_POINTS },
        untrusted_document: false,
    };
    let admitted = match admission::admit(&state, &headers, &peer, ask).await {
        Ok(admitted) => admitted,
        Err(refusal) => return respond::refusal(MediaType::Json, refusal),
    };
    let Some(table) = table else {
        let body = package::descriptor(crate::common::now()).to_string();
        return public(
            &state,
            ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        );
    };
    // The client's turn covers the first page; the rest streams outside it.
    let first = {
        let _turn = admitted.turn(&state).await;
        match read(
            &state.db,
            table,
            At {
                after: None,
                rows: state.opendata_page_rows,
            },
            state.timeout,
        )
        .await
        {
            Ok(page) => page,
            Err(failure) => return failure.response(),
        }
    };
    let head = match encode(Some(table), &first.rows) {
        Ok(bytes) => bytes,
        Err(e) => return Failure::Internal(e.to_string()).response(),
    };
    let rest = Rest {
        db: state.db.clone(),
        table,
        next: first.next,
        rows: state.opendata_page_rows,
        timeout: state.timeout,
    };
    let body = futures_util::stream::once(async move { Ok::<_, std::io::Error>(head) })
        .chain(futures_util::stream::unfold(Some(rest), next_chunk));
    let name = table.resource().name;
    public(
        &state,
        (
            [
                (
                    header::CONTENT_TYPE,
                    "text/csv; charset=utf-8; header=present".to_owned(),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    format!("inline; filename=\"{name}.csv\""),
                ),
            ],
            Body::from_stream(body),
        )
            .into_response(),
    )
}

/// What is left of a CSV to stream.
struct Rest {
    db: DatabaseConnection,
    table: Table,
    next: Option<Key>,
    /// Rows a page.
    rows: u64,
    timeout: std::time::Duration,
}

/// The next page of a CSV as bytes, or the end; a failure ends the body with an error (the
/// connection is closed without the last chunk, so the client knows the file is incomplete).
async fn next_chunk(rest: Option<Rest>) -> Option<(Result<Bytes, std::io::Error>, Option<Rest>)> {
    let mut rest = rest?;
    let after = rest.next?;
    let at = At {
        after: Some(after),
        rows: rest.rows,
    };
    let chunk = match read(&rest.db, rest.table, at, rest.timeout).await {
        Ok(page) => {
            rest.next = page.next;
            encode(None, &page.rows).map_err(std::io::Error::other)
        }
        Err(failure) => {
            tracing::error!(table = rest.table.resource().name, error = ?failure, "an open-data CSV was cut short");
            return Some((
                Err(std::io::Error::other("the CSV could not be read to its end")),
                None,
            ));
        }
    };
    let failed = chunk.is_err();
    Some((chunk, (!failed).then_some(rest)))
}

/// Rows as CSV (RFC 4180: quoted where needed, CRLF line ends, UTF-8 without a byte order
/// mark), after the header line when `header` is given. Values are written as they are, with
/// no guard against spreadsheet formulas: open data must round-trip exactly.
fn encode(header: Option<Table>, rows: &[Vec<String>]) -> Result<Bytes, csv::Error> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::with_capacity(rows.len() * 200));
    if let Some(table) = header {
        w.write_record(table.resource().fields.iter().map(|f| f.name))?;
    }
    for row in rows {
        w.write_record(row)?;
    }
    let bytes = w.into_inner().map_err(|e| csv::Error::from(e.into_error()))?;
    Ok(Bytes::from(bytes))
}

/// Why a page could not be read.
#[derive(Debug)]
enum Failure {
    TimedOut,
    Db(DbErr),
    Internal(String),
}

impl Failure {
    /// The answer when the first page fails (nothing sent yet).
    fn response(self) -> Response {
        match self {
            Failure::TimedOut => {
                tracing::warn!("reading an open-data file ran out of time");
                plain(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the file took too long to read; try again",
                )
            }
            Failure::Db(e) if crate::db::is_unavailable(&e) => {
                tracing::warn!(error = %e, "database unavailable while reading an open-data file");
                respond::unavailable(MediaType::Json)
            }
            Failure::Db(e) => {
                tracing::error!(error = %e, "database error while reading an open-data file");
                plain(StatusCode::INTERNAL_SERVER_ERROR, INTERNAL)
            }
            Failure::Internal(e) => {
                tracing::error!(error = %e, "an open-data CSV could not be written");
                plain(StatusCode::INTERNAL_SERVER_ERROR, INTERNAL)
            }
        }
    }
}

const INTERNAL: &str = "internal error: the file could not be read";

/// A page within `timeout`, once more on a fresh connection when one broke under it.
async fn read(
    db: &DatabaseConnection,
    table: Table,
    at: At,
    timeout: std::time::Duration,
) -> Result<Page, Failure> {
    let once = || tokio::time::timeout(timeout, table.page(db, at));
    match once().await {
        Err(_) => Err(Failure::TimedOut),
        Ok(Err(e)) if crate::db::is_broken_connection(&e) => {
            tracing::warn!(error = %e, "database connection broke while reading open data; retrying on a fresh one");
            crate::db::recover(db).await;
            match once().await {
                Err(_) => Err(Failure::TimedOut),
                Ok(page) => page.map_err(Failure::Db),
            }
        }
        Ok(page) => page.map_err(Failure::Db),
    }
}

/// The same for everyone (only public data): cacheable by anyone for `PUBLIC_MAX_AGE_SECS`.
fn public(state: &AppState, mut response: Response) -> Response {
    let max_age = state.public_max_age.as_secs();
    let value = if max_age > 0 {
        format!("public, max-age={max_age}")
    } else {
        "public, no-cache".to_owned()
    };
    if let Ok(v) = HeaderValue::from_str(&value) {
        response.headers_mut().insert(header::CACHE_CONTROL, v);
    }
    response
}

fn not_found() -> Response {
    let files: Vec<String> = Table::ALL
        .iter()
        .map(|t| format!("{}.csv", t.resource().name))
        .collect();
    plain(
        StatusCode::NOT_FOUND,
        format!(
            "Filen findes ikke i datapakken. Pakken er beskrevet i /opendata/datapackage.json, og filerne er: {}.",
            files.join(", ")
        ),
    )
}

fn plain(status: StatusCode, message: impl Into<String>) -> Response {
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

//! Small pieces shared by the domain modules: ordering direction, text search, ID lists.
use async_graphql::{Enum, ID, InputObject};
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, QueryFilter,
    sea_query::{Expr, ExprTrait, Func, LikeExpr, Order, SimpleExpr},
};
use uuid::Uuid;

use crate::{
    error::ApiError,
    loader::qcol,
    relay::{self, NodeType},
};

/// A `DateTime` input both databases store and compare: years 0001 to 9999, as RFC 3339
/// writes them (PostgreSQL refuses years before 4713 BC; SQLite compares times as text).
/// Used as `#[graphql(validator(custom = "StoredTime"))]` on every `DateTime` input, so a
/// time outside is `BAD_USER_INPUT` naming the argument, never a database error.
pub struct StoredTime;

impl async_graphql::CustomValidator<DateTime<Utc>> for StoredTime {
    fn check(&self, value: &DateTime<Utc>) -> Result<(), async_graphql::InputValueError<DateTime<Utc>>> {
        use chrono::Datelike;
        if (1..=9999).contains(&value.year()) {
            Ok(())
        } else {
            Err(async_graphql::InputValueError::custom(
                "a time must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z",
            ))
        }
    }
}

/// The years a plan, a review, a date or a window may name.
pub const FIRST_YEAR: i32 = 1900;
pub const LAST_YEAR: i32 = 2200;
pub const YEARS: std::ops::RangeInclusive<i32> = FIRST_YEAR..=LAST_YEAR;

pub const MAX_TEXT_FILTER: usize = 200;
pub const MAX_ID_FILTER: usize = 100;

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum OrderDirection {
    #[default]
    Asc,
    Desc,
}

impl OrderDirection {
    pub fn order(self) -> Order {
        match self {
            OrderDirection::Asc => Order::Asc,
            OrderDirection::Desc => Order::Desc,
        }
    }
}

crate::labels::enum_labels!(OrderDirection {
    Asc => "Stigende",
    Desc => "Faldende",
});

/// Fields every filter input shares.
#[derive(InputObject, Default, Clone)]
pub struct CommonFilter {
    /// Words to look for in names, titles and descriptions (case-insensitive): a row has each
    /// word somewhere in one of them, as a word or part of one; words between double quotes
    /// stand together, as a phrase.
    pub text: Option<String>,
    /// Only rows changed at or after this time (for partners who synchronise).
    #[graphql(validator(custom = "StoredTime"))]
    pub updated_since: Option<DateTime<Utc>>,
}

impl CommonFilter {
    /// `q` narrowed to the rows with the text in one of `text_columns` and changed at or
    /// after `updatedSince` (by `updated_at`).
    pub fn apply<Q: QueryFilter, C: ColumnTrait>(
        &self,
        mut q: Q,
        text_columns: &[C],
        updated_at: C,
    ) -> Result<Q, ApiError> {
        if let Some(text) = &self.text {
            let columns: Vec<String> = text_columns.iter().map(|c| qcol(*c)).collect();
            q = q.filter(text_condition(text, &columns)?);
        }
        if let Some(since) = self.updated_since {
            q = q.filter(updated_at.gte(to_stored_precision(since)));
        }
        Ok(q)
    }
}

/// `column IN (values)` for a list filter of enum values (`field` names it in the error
/// when it holds too many), each turned into the value the column stores.
pub fn one_of<G: Copy + PartialEq + Into<V>, V: Into<sea_orm::Value>>(
    field: &str,
    values: &[G],
    column: impl ColumnTrait,
) -> Result<SimpleExpr, ApiError> {
    Ok(column.is_in(bounded(field, values)?.into_iter().map(|v| (*v).into())))
}

/// `column` (a date) within the calendar year `year`.
pub fn in_year(year: i32, column: impl ColumnTrait) -> Result<SimpleExpr, ApiError> {
    let (from, to) = year_bounds(year)?;
    Ok(column.between(from, to))
}

/// `column` lowered, every letter (`lup_lower`: registered on SQLite, a function on
/// PostgreSQL), so "Čapek" and "ØLAND" are found by "čapek" and "øland" on both.
fn folded(column: &str) -> SimpleExpr {
    Func::cust(crate::lower::NAME)
        .arg(Expr::cust(column.to_owned()))
        .into()
}

/// Most words (and phrases) a text filter looks for: each is a pattern matched against every
/// row's texts.
pub const MAX_TEXT_TERMS: usize = 12;

/// The terms of a text filter: its words, and what stands between double quotes (typewriter
/// or typographic: “…”, „…“, «…») as one term ("`\"ved fjorden\" shelter`": `ved fjorden`,
/// `shelter`); each once, lowercased, without the punctuation a sentence puts around a word
/// ("bypark," is "bypark"; "100%" keeps its sign).
fn terms(text: &str) -> Vec<String> {
    const AROUND: &[char] = &[
        ',', '.', ';', ':', '!', '?', '(', ')', '[', ']', '{', '}', '\'', '‘', '’',
    ];
    let text: String = crate::write::composed(text)
        .to_lowercase()
        .chars()
        .map(|c| {
            if matches!(c, '“' | '”' | '„' | '«' | '»') {
                '"'
            } else {
                c
            }
        })
        .collect();
    let mut terms: Vec<String> = Vec::new();
    for (i, part) in text.split('"').enumerate() {
        // The odd parts stand between quotes (an unclosed quote runs to the end).
        let quoted = i % 2 == 1;
        let words: Vec<&str> = if quoted {
            vec![part]
        } else {
            part.split_whitespace().collect()
        };
        for w in words {
            let w = w.split_whitespace().collect::<Vec<_>>().join(" ");
            // Punctuation alone ("%", "\\") is looked for as it is.
            let trimmed = w.trim_matches(AROUND);
            let w = if trimmed.is_empty() { w.as_str() } else { trimmed }.to_owned();
            if !w.is_empty() && !terms.contains(&w) {
                terms.push(w);
            }
        }
    }
    terms
}

/// A case-insensitive match of each word of `text` (or phrase in double quotes) somewhere in
/// one of `columns` (qualified `"table"."column"`): "legeplads bypark" finds "Bypark med
/// legeplads". Text of nothing but blanks and quotes matches every row.
pub fn text_condition(text: &str, columns: &[String]) -> Result<Condition, ApiError> {
    let text = text.trim();
    if text.chars().count() > MAX_TEXT_FILTER {
        return Err(ApiError::bad_input(format!(
            "`text` may be at most {MAX_TEXT_FILTER} characters"
        )));
    }
    let terms = terms(text);
    if terms.len() > MAX_TEXT_TERMS {
        return Err(ApiError::bad_input(format!(
            "`text` may hold at most {MAX_TEXT_TERMS} words or phrases"
        )));
    }
    let mut all = Condition::all();
    for term in terms {
        let escaped: String = term
            .chars()
            .flat_map(|c| match c {
                '%' | '_' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        let pattern = format!("%{escaped}%");
        let mut any = Condition::any();
        for c in columns {
            any = any.add(folded(c).like(LikeExpr::new(pattern.clone()).escape('\\')));
        }
        all = all.add(any);
    }
    Ok(all)
}

/// Decodes a list of global IDs of one type: a set, so an ID given twice counts once, of at
/// most [`MAX_ID_FILTER`] different IDs.
pub fn decode_ids(field: &str, ids: &[ID], type_name: NodeType) -> Result<Vec<Uuid>, ApiError> {
    let ids: Vec<Uuid> = ids
        .iter()
        .map(|id| relay::decode_as(id, type_name))
        .collect::<Result<_, _>>()?;
    Ok(set_of(field, &ids, "IDs")?.into_iter().copied().collect())
}

/// The different values of a list of plain values (slugs, statuses) in a filter: a set, so
/// a value given twice counts once, of at most [`MAX_ID_FILTER`] values.
pub fn bounded<'a, T: PartialEq>(field: &str, values: &'a [T]) -> Result<Vec<&'a T>, ApiError> {
    set_of(field, values, "values")
}

/// The different `values`, in the order first given; BAD_USER_INPUT past [`MAX_ID_FILTER`] of
/// them (`what` they are, for the message).
fn set_of<'a, T: PartialEq>(field: &str, values: &'a [T], what: &str) -> Result<Vec<&'a T>, ApiError> {
    let mut out: Vec<&T> = Vec::with_capacity(values.len().min(MAX_ID_FILTER));
    for v in values {
        if !out.contains(&v) {
            if out.len() == MAX_ID_FILTER {
                return Err(ApiError::bad_input(format!(
                    "`{field}` may hold at most {MAX_ID_FILTER} {what}"
                )));
            }
            out.push(v);
        }
    }
    Ok(out)
}

/// A list's order: `column` in `direction`, then, where rows tie on it, by `name` (A–Å), unless
/// `column` is the name. The ID breaks the ties that remain ([`crate::loader::ordering`]).
pub fn then_by<C: ColumnTrait>(column: C, direction: Order, name: C) -> Vec<(C, Order)> {
    let mut order = vec![(column, direction)];
    if column.as_str() != name.as_str() {
        order.push((name, Order::Asc));
    }
    order
}

/// The time now, to the microsecond: what PostgreSQL stores, so a time written reads back the
/// same from either database (SQLite would keep the clock's nanoseconds).
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(6)
}

/// A time bound as the stored times compare with it: they are whole microseconds, so a bound
/// between two of them is taken at the next one (`…123456999Z` as `…123457Z`). PostgreSQL
/// rounded such a bound to the nearest microsecond and SQLite compared it as typed: the
/// same `updatedSince` found a row on one database and not on the other.
pub fn to_stored_precision(t: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    use chrono::{SubsecRound, Timelike};
    if t.nanosecond().is_multiple_of(1_000) {
        return t;
    }
    let down = t.trunc_subsecs(6);
    down.checked_add_signed(chrono::Duration::microseconds(1))
        .unwrap_or(down)
}

/// Today in Denmark (Europe/Copenhagen), whatever time zone the server runs in: the date
/// "today" means for completion dates, progress notes and default windows.
pub fn today() -> chrono::NaiveDate {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Copenhagen)
        .date_naive()
}

/// How long from `now` until the next New Year in Denmark (midnight of 1 January,
/// Europe/Copenhagen): when plans adopted ahead of their period take over.
pub fn until_new_year(now: chrono::DateTime<chrono::Utc>) -> std::time::Duration {
    use chrono::{Datelike, TimeZone};
    let year = now.with_timezone(&chrono_tz::Europe::Copenhagen).year() + 1;
    chrono_tz::Europe::Copenhagen
        .with_ymd_and_hms(year, 1, 1, 0, 0, 0)
        .single()
        .map_or(std::time::Duration::from_secs(3600), |at| {
            (at.with_timezone(&chrono::Utc) - now)
                .to_std()
                .unwrap_or_default()
        })
}

/// The first and last day of a calendar year, for `year` filters on dates.
pub fn year_bounds(year: i32) -> Result<(chrono::NaiveDate, chrono::NaiveDate), ApiError> {
    let bad = || {
        ApiError::bad_input(format!(
            "`year` must be between {} and {}, got {year}",
            crate::common::FIRST_YEAR,
            crate::common::LAST_YEAR
        ))
    };
    if !crate::common::YEARS.contains(&year) {
        return Err(bad());
    }
    let from = chrono::NaiveDate::from_ymd_opt(year, 1, 1).ok_or_else(bad)?;
    let to = chrono::NaiveDate::from_ymd_opt(year, 12, 31).ok_or_else(bad)?;
    Ok((from, to))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Date(pub chrono::NaiveDate);

impl Date {
    /// RFC 3339's `full-date` exactly: four digits, two, two (chrono's `%Y-%m-%d` alone also
    /// takes `2026-1-1`, `+2026-01-01` and leading spaces).
    fn strict(s: &str) -> Option<Date> {
        let b = s.as_bytes();
        let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
        (b.len() == 10 && b[4] == b'-' && b[7] == b'-' && digits(0..4) && digits(5..7) && digits(8..10))
            .then(|| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().map(Date))
            .flatten()
    }
}

/// A calendar date, RFC 3339's `full-date`: `YYYY-MM-DD` exactly (`2026-03-01`), with no time
/// or offset. Dates are days in Denmark.
#[async_graphql::Scalar(
    name = "Date",
    specified_by_url = "https://www.rfc-editor.org/rfc/rfc3339#section-5.6"
)]
impl async_graphql::ScalarType for Date {
    fn parse(value: async_graphql::Value) -> async_graphql::InputValueResult<Self> {
        match &value {
            async_graphql::Value::String(s) => Date::strict(s).ok_or_else(|| {
                async_graphql::InputValueError::custom(format!("\"{s}\" is not a date (YYYY-MM-DD)"))
            }),
            _ => Err(async_graphql::InputValueError::expected_type(value)),
        }
    }

    /// What validation checks before anything runs, in arguments and inside variables'
    /// input objects alike: a bad date is a request error, not a field's when it runs.
    fn is_valid(value: &async_graphql::Value) -> bool {
        matches!(value, async_graphql::Value::String(s) if Date::strict(s).is_some())
    }

    fn to_value(&self) -> async_graphql::Value {
        async_graphql::Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

/// How a lowercase æ, ø or å is written without it (ae, oe, aa), as slugs and the search
/// index write it; None for any other character.
pub fn danish_in_ascii(c: char) -> Option<&'static str> {
    match c {
        'æ' => Some("ae"),
        'ø' => Some("oe"),
        'å' => Some("aa"),
        _ => None,
    }
}

/// A slug as a lookup takes it: trimmed, in lower case, with æ, ø and å as the slugs write
/// them (ae, oe, aa; also when typed with a combining mark), so `GJOEL` and `gjøl` find
/// `gjoel`.
pub fn slug_lookup(slug: &str) -> String {
    let mut out = String::with_capacity(slug.len());
    for c in crate::write::composed(slug.trim())
        .chars()
        .flat_map(char::to_lowercase)
    {
        match danish_in_ascii(c) {
            Some(spelt) => out.push_str(spelt),
            None => out.push(c),
        }
    }
    out
}

/// `SELECT id FROM table WHERE id IN (…) OR slug IN (…)` for a filter's global IDs (of
/// `type_name`) and slugs, on the table of `slug_column`; None when neither is given.
pub fn id_or_slug_subquery<C>(
    slug_column: C,
    type_name: NodeType,
    (ids_field, ids): (&str, Option<Vec<ID>>),
    (slugs_field, slugs): (&str, Option<Vec<String>>),
) -> Result<Option<sea_orm::sea_query::SelectStatement>, ApiError>
where
    C: sea_orm::ColumnTrait,
    C::EntityName: sea_orm::EntityTrait,
{
    use sea_orm::sea_query::{Condition, Query};

    use crate::loader::{col, id_column};
    if ids.is_none() && slugs.is_none() {
        return Ok(None);
    }
    let id = || col(id_column::<C::EntityName>());
    let mut any = Condition::any();
    if let Some(ids) = ids {
        any = any.add(id().is_in(decode_ids(ids_field, &ids, type_name)?));
    }
    if let Some(slugs) = slugs {
        let slugs: Vec<String> = slugs.iter().map(|s| slug_lookup(s)).collect();
        any = any.add(col(slug_column).is_in(bounded(slugs_field, &slugs)?.into_iter().cloned()));
    }
    Ok(Some(
        Query::select()
            .expr(id())
            .from(C::EntityName::default())
            .cond_where(any)
            .to_owned(),
    ))
}

/// `text` as two texts that read alike are compared (a name in a reply, the titles of two
/// events): composed the same way (NFKC), without the invisible characters that can sit
/// inside a word (soft hyphen, zero-width spaces and joiners), runs of white space as one
/// space, in lower case.
pub fn comparable(text: &str) -> String {
    comparable_cased(text).to_lowercase()
}

/// [`comparable`] with its case kept: NFKC, no invisible characters, white space folded.
pub fn comparable_cased(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let invisible = |c: &char| matches!(*c, '\u{00AD}' | '\u{034F}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}');
    let text: String = text.nfkc().filter(|c| !invisible(c)).collect();
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A row's version and when it was created and last changed: the fields every object of a
/// versioned table has, flattened into it (`#[graphql(flatten)]`), so each object declares
/// them once. Its fields stand where the object's flattening method stands.
#[derive(Clone, Copy)]
pub struct Stamps {
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

#[async_graphql::Object]
impl Stamps {
    async fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.updated_at
    }
    /// Send it back with an update: a stale one is a CONFLICT.
    async fn version(&self) -> i32 {
        self.version
    }
}

/// A model of a versioned table, which has [`Stamps`].
pub trait Stamped {
    fn stamps(&self) -> Stamps;
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::until_new_year;

    #[test]
    fn new_year_is_midnight_in_denmark() {
        // 23:59:30 in Copenhagen (UTC+1 in winter): 30 s to go.
        let now = Utc.with_ymd_and_hms(2026, 12, 31, 22, 59, 30).unwrap();
        assert_eq!(until_new_year(now).as_secs(), 30);
        // 23:30 UTC on New Year's Eve is 00:30 on 1 January there: the next is a year on.
        let now = Utc.with_ymd_and_hms(2026, 12, 31, 23, 30, 0).unwrap();
        let next = Utc.with_ymd_and_hms(2027, 12, 31, 23, 0, 0).unwrap();
        assert_eq!(until_new_year(now).as_secs(), (next - now).num_seconds() as u64);
        // In summer time too.
        let now = Utc.with_ymd_and_hms(2026, 7, 1, 12, 0, 0).unwrap();
        let next = Utc.with_ymd_and_hms(2026, 12, 31, 23, 0, 0).unwrap();
        assert_eq!(until_new_year(now).as_secs(), (next - now).num_seconds() as u64);
    }
}

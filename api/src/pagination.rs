//! Cursor connections. A page nested under many parents is one SQL statement: rows are
//! numbered with `ROW_NUMBER() OVER (PARTITION BY parent ORDER BY …)` and counted with
//! `COUNT(*) OVER (PARTITION BY parent)`, so each page and its `totalCount` come back together.
//! A top-level page that is not before a cursor is read up to its last row instead
//! (`LIMIT`/`OFFSET`, or the order turned round for `last`; [`Listing::limited_select`]), the
//! list counted only when `totalCount` is asked or the page is taken from the end. Cursors are
//! opaque positions in the ordering.
use std::collections::HashMap;

use async_graphql::{
    SimpleObject,
    connection::{Connection, CursorType, Edge},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sea_orm::{
    DatabaseConnection, DbBackend, DbErr, FromQueryResult, QueryResult, Statement,
    sea_query::{
        Alias, Expr, ExprTrait, NullOrdering, Order, Query, SelectStatement, SimpleExpr, SubQueryStatement,
        extension::postgres::PgFunc,
    },
};
use uuid::Uuid;

use crate::error::ApiError;

pub const DEFAULT_PAGE_SIZE: i64 = 20;
pub const MAX_PAGE_SIZE: i64 = 100;

pub(crate) const RN: &str = "lup_rn";
pub(crate) const TOTAL: &str = "lup_total";
/// The prefix of a derived table's columns that carry its order (`lup_o0`, `lup_o1`, …).
pub(crate) const ORDER: &str = "lup_o";
const PARENT: &str = "lup_parent";
/// The derived table of [`Listing::page_select`]: its columns are the listing's and these.
pub const PAGE_ALIAS: &str = "w";

/// An ORDER BY list of qualified SQL expressions. Rows without a value come last in both
/// directions, on SQLite as on PostgreSQL (whose defaults differ).
pub(crate) fn order_sql(order: &[(String, Order)]) -> String {
    order
        .iter()
        .map(|(e, o)| {
            format!(
                "{e} {} NULLS LAST",
                if matches!(o, Order::Desc) { "DESC" } else { "ASC" }
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Keeps the rows of `window` from a derived table `table` numbered by `lup_rn` (and counted
/// by `lup_total` when the window is taken from the end).
pub fn window_condition(select: &mut SelectStatement, table: &str, window: &Window) {
    let rn = || Expr::col((Alias::new(table), Alias::new(RN)));
    let total = || Expr::col((Alias::new(table), Alias::new(TOTAL)));
    select.and_where(rn().gt(window.after));
    if let Some(b) = window.before {
        select.and_where(rn().lt(b));
    }
    if window.from_end {
        match window.before {
            // The last rows before `b`, or before the end when `b` lies past it.
            Some(b) => {
                let end: Expr = Expr::case(total().lt(b - 1), total()).finally(b - 1).into();
                select.and_where(rn().gt(end.sub(window.size)))
            }
            None => select.and_where(rn().gt(total().sub(window.size))),
        };
    } else {
        select.and_where(rn().lte(window.after.saturating_add(window.size)));
    }
}

/// A position in an ordered list (1-based row number), opaque to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor(pub i64);

#[derive(Debug, thiserror::Error)]
#[error("\"{0}\" is not a valid cursor")]
pub struct InvalidCursor(String);

impl CursorType for Cursor {
    type Error = InvalidCursor;

    fn decode_cursor(s: &str) -> Result<Self, Self::Error> {
        let invalid = || InvalidCursor(s.chars().take(64).collect());
        let bytes = URL_SAFE_NO_PAD.decode(s).map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let n = text
            .strip_prefix("cursor:")
            .and_then(|n| n.parse::<i64>().ok())
            .filter(|n| *n >= 1)
            .ok_or_else(invalid)?;
        Ok(Cursor(n))
    }

    fn encode_cursor(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("cursor:{}", self.0))
    }
}

/// The page a client asked for, checked: exactly one of `first` / `last`, sizes 1–100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Window {
    /// Rows after this position (0: from the start).
    pub after: i64,
    /// Rows before this position, if given.
    pub before: Option<i64>,
    pub size: i64,
    /// `last`: the page is taken from the end of the range.
    pub from_end: bool,
}

impl Window {
    pub fn parse(
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Self, ApiError> {
        let check = |name: &str, n: i32| {
            let n = i64::from(n);
            if (1..=MAX_PAGE_SIZE).contains(&n) {
                Ok(n)
            } else {
                Err(ApiError::bad_input(format!(
                    "`{name}` must be between 1 and {MAX_PAGE_SIZE}, got {n}"
                )))
            }
        };
        let cursor = |c: String| Cursor::decode_cursor(&c).map_err(|e| ApiError::bad_input(e.to_string()));
        let after = after.map(cursor).transpose()?;
        let before = before.map(cursor).transpose()?;
        let (size, from_end) = match (first, last) {
            (Some(_), Some(_)) => {
                return Err(ApiError::bad_input("pass `first` or `last`, not both"));
            }
            (Some(n), None) => (check("first", n)?, false),
            (None, Some(n)) => (check("last", n)?, true),
            (None, None) => (DEFAULT_PAGE_SIZE, before.is_some() && after.is_none()),
        };
        Ok(Window {
            after: after.map_or(0, |c| c.0),
            before: before.map(|c| c.0),
            size,
            from_end,
        })
    }

    /// The first `n` rows: for unpaged lists that still go through the windowed loader.
    pub const fn first(n: i64) -> Self {
        Window {
            after: 0,
            before: None,
            size: n,
            from_end: false,
        }
    }

    /// The page of a list of `total` items held in memory, as indices (0-based): the same rows
    /// the statements of [`Listing`] select (positions after `after`, before `before`, the
    /// first or, with `last`, the last `size` of them).
    pub fn slice(&self, total: usize) -> std::ops::Range<usize> {
        let start = usize::try_from(self.after).unwrap_or(usize::MAX).min(total);
        let end = self
            .before
            .map_or(total, |b| {
                usize::try_from(b.saturating_sub(1))
                    .unwrap_or(usize::MAX)
                    .min(total)
            })
            .max(start);
        let size = usize::try_from(self.size).unwrap_or(0);
        if self.from_end {
            end.saturating_sub(size).max(start)..end
        } else {
            start..start.saturating_add(size).min(end)
        }
    }

    /// Whether an empty page can still sit in a non-empty list (so the total needs its own count).
    pub(crate) fn may_skip_rows(&self) -> bool {
        self.after > 0 || self.before.is_some()
    }
}

#[derive(SimpleObject, Debug, Clone, Copy)]
pub struct ConnectionFields {
    /// The number of items in the whole list, across all pages.
    pub total_count: i64,
}

/// What a top-level page has to tell of its list's size (see [`Listing::limited_select`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Size {
    /// `totalCount` is asked for: the list is counted.
    Count,
    /// `pageInfo` alone: whether a row follows the page, from one row more.
    Peek,
    /// Neither: the page's rows alone.
    None,
}

impl Size {
    /// What a connection field's selection shows of its list's size.
    pub fn of_connection(field: async_graphql::SelectionField<'_>) -> Size {
        let mut size = Size::None;
        for f in field.selection_set() {
            match f.name() {
                "totalCount" => return Size::Count,
                "pageInfo" => size = Size::Peek,
                _ => {}
            }
        }
        size
    }

    /// Numbers the rows of a [`Listing::limited_select`] page as they came and sets its size:
    /// counted ([`Size::Count`]), or as far as the rows read tell (a row more than the page:
    /// the list goes on; fewer: it ends with the page).
    pub fn finish<M>(self, window: &Window, page: &mut Page<M>) {
        if window.from_end {
            // The list's last rows, counted: positions from its end; none at or before `after`.
            let read = i64::try_from(page.rows.len()).unwrap_or(i64::MAX);
            let first = page.total.saturating_sub(read).saturating_add(1);
            for (i, row) in page.rows.iter_mut().enumerate() {
                row.0 = first.saturating_add(i64::try_from(i).unwrap_or(i64::MAX));
            }
            page.rows.retain(|row| row.0 > window.after);
            return;
        }
        let size = usize::try_from(window.size).unwrap_or(0);
        let more = self == Size::Peek && page.rows.len() > size;
        page.rows.truncate(size);
        for (i, row) in page.rows.iter_mut().enumerate() {
            row.0 = window
                .after
                .saturating_add(i64::try_from(i).unwrap_or(i64::MAX))
                .saturating_add(1);
        }
        if self != Size::Count {
            let read = i64::try_from(page.rows.len()).unwrap_or(i64::MAX);
            page.total = window.after.saturating_add(read).saturating_add(i64::from(more));
        }
    }
}

/// One page of rows with their positions and the size of the whole list.
#[derive(Debug, Clone)]
pub struct Page<M> {
    pub rows: Vec<(i64, M)>,
    pub total: i64,
}

impl<M> Default for Page<M> {
    fn default() -> Self {
        Page {
            rows: Vec::new(),
            total: 0,
        }
    }
}

impl<M> Page<M> {
    pub fn into_connection<N, F>(self, window: &Window, wrap: F) -> Connection<Cursor, N, ConnectionFields>
    where
        N: async_graphql::OutputType,
        F: Fn(M) -> N,
    {
        let first = self.rows.first().map(|r| r.0);
        let last = self.rows.last().map(|r| r.0);
        let has_previous = match first {
            Some(p) => p > 1,
            None => window.after > 0 && self.total > 0,
        };
        let has_next = match last {
            Some(p) => p < self.total,
            None => window.before.is_some_and(|b| b <= self.total),
        };
        let mut conn = Connection::with_additional_fields(
            has_previous,
            has_next,
            ConnectionFields {
                total_count: self.total,
            },
        );
        conn.edges.extend(
            self.rows
                .into_iter()
                .map(|(pos, m)| Edge::new(Cursor(pos), wrap(m))),
        );
        conn
    }
}

/// A list of rows to page through: a base select (visibility rules, filters, joins), its
/// ordering, and for nested lists the SQL expression holding the parent's ID.
pub struct Listing {
    pub select: SelectStatement,
    /// Qualified SQL expressions with direction; the table's ID should come last as a tiebreak.
    pub order: Vec<(String, Order)>,
    pub parent: Option<String>,
}

impl Listing {
    pub(crate) fn order_sql(&self) -> String {
        order_sql(&self.order)
    }

    fn partition_sql(&self) -> String {
        self.parent
            .as_ref()
            .map(|p| format!("PARTITION BY {p}"))
            .unwrap_or_default()
    }

    /// The statement of one page for each parent in `parents` (or of the single top-level
    /// page when `parent` is None): the listing numbered and counted in a derived table named
    /// [`PAGE_ALIAS`], the window's rows selected from it. Callers may add columns computed
    /// from the page's rows (compiled reads add their nested lists).
    pub fn page_select(&self, db: &DatabaseConnection, parents: &[Uuid], window: &Window) -> SelectStatement {
        let partition = self.partition_sql();
        let order = self.order_sql();
        let mut inner = self.select.clone();
        inner
            .expr_as(
                Expr::cust(format!("ROW_NUMBER() OVER ({partition} ORDER BY {order})")),
                Alias::new(RN),
            )
            .expr_as(
                Expr::cust(format!("COUNT(*) OVER ({partition})")),
                Alias::new(TOTAL),
            );
        if let Some(p) = &self.parent {
            inner
                .expr_as(Expr::cust(p.clone()), Alias::new(PARENT))
                .and_where(one_of(db, p, parents));
        }
        let mut outer = Query::select();
        outer
            .expr(Expr::cust(format!("\"{PAGE_ALIAS}\".*")))
            .from_subquery(inner, Alias::new(PAGE_ALIAS));
        window_condition(&mut outer, PAGE_ALIAS, window);
        if self.parent.is_some() {
            outer.order_by(Alias::new(PARENT), Order::Asc);
        }
        outer.order_by(Alias::new(RN), Order::Asc);
        outer
    }

    /// A top-level page read in the listing's order up to its last row instead of numbering and
    /// counting the whole list: from the start or after a cursor, `LIMIT`/`OFFSET`; from the
    /// end (`last`), the order turned round, `LIMIT`, the list counted (the positions count
    /// from its end). The columns of [`Listing::page_select`] in a derived table named
    /// [`PAGE_ALIAS`], in the listing's order, each row at position 0 ([`Size::finish`] numbers
    /// them); the list's size counted on its own only when `size` asks for it or the page is
    /// taken from the end, and one row more read when only whether a row follows is needed.
    /// None for a nested listing and a page before a cursor (those are numbered,
    /// [`Listing::page_select`]).
    pub fn limited_select(&self, window: &Window, size: Size) -> Option<SelectStatement> {
        if self.parent.is_some() || window.before.is_some() {
            return None;
        }
        let mut inner = self.select.clone();
        inner.expr_as(Expr::cust("CAST(0 AS BIGINT)"), Alias::new(RN));
        let total = if size == Size::Count || window.from_end {
            SimpleExpr::SubQuery(
                None,
                Box::new(SubQueryStatement::SelectStatement(self.count_select())),
            )
        } else {
            Expr::cust("CAST(0 AS BIGINT)")
        };
        inner.expr_as(total, Alias::new(TOTAL));
        let mut outer = Query::select();
        outer.expr(Expr::cust(format!("\"{PAGE_ALIAS}\".*")));
        // The order's values as columns, so the page keeps its order outside the derived table.
        for (i, (expr, direction)) in self.order.iter().enumerate() {
            let name = format!("{ORDER}{i}");
            inner.expr_as(Expr::cust(expr.clone()), Alias::new(&name));
            outer.order_by_with_nulls(
                (Alias::new(PAGE_ALIAS), Alias::new(&name)),
                direction.clone(),
                NullOrdering::Last,
            );
        }
        if window.from_end {
            // The last rows first: each direction turned, rows without a value now first.
            for (expr, order) in &self.order {
                let turned = if matches!(order, Order::Desc) {
                    Order::Asc
                } else {
                    Order::Desc
                };
                inner.order_by_expr_with_nulls(Expr::cust(expr.clone()), turned, NullOrdering::First);
            }
            inner.limit(u64::try_from(window.size).unwrap_or(0));
        } else {
            let rows = window.size.saturating_add(i64::from(size == Size::Peek));
            self.first_rows(&mut inner, u64::try_from(rows).unwrap_or(0));
            inner.offset(u64::try_from(window.after).unwrap_or(0));
        }
        outer.from_subquery(inner, Alias::new(PAGE_ALIAS));
        Some(outer)
    }

    /// Keeps the first `size` rows of `select` (the listing's own select) in the listing's
    /// order: the database stops after them.
    pub(crate) fn first_rows(&self, select: &mut SelectStatement, size: u64) {
        for (expr, order) in &self.order {
            select.order_by_expr_with_nulls(Expr::cust(expr.clone()), order.clone(), NullOrdering::Last);
        }
        select.limit(size);
    }

    /// The first row of a top-level listing, in a derived table named [`PAGE_ALIAS`] with the
    /// columns [`Listing::page_select`] gives (position 1, size 1), for a field that shows one
    /// row rather than a page: the database stops at it instead of numbering and counting.
    pub fn first_row_select(&self) -> SelectStatement {
        let mut inner = self.select.clone();
        inner
            .expr_as(Expr::cust("CAST(1 AS BIGINT)"), Alias::new(RN))
            .expr_as(Expr::cust("CAST(1 AS BIGINT)"), Alias::new(TOTAL));
        self.first_rows(&mut inner, 1);
        let mut outer = Query::select();
        outer
            .expr(Expr::cust(format!("\"{PAGE_ALIAS}\".*")))
            .from_subquery(inner, Alias::new(PAGE_ALIAS));
        outer
    }

    /// A row of [`Listing::page_select`]: its parent, position, the list's size, the model.
    pub fn read_row<M: FromQueryResult>(
        &self,
        row: &QueryResult,
    ) -> Result<(Option<Uuid>, i64, i64, M), DbErr> {
        let parent = self
            .parent
            .as_ref()
            .map(|_| row.try_get::<Uuid>("", PARENT))
            .transpose()?;
        let pos: i64 = row.try_get("", RN)?;
        let total: i64 = row.try_get("", TOTAL)?;
        Ok((parent, pos, total, M::from_query_result(row, "")?))
    }

    /// One page for each parent in `parents` (or the single top-level page when `parent` is
    /// None), in one statement.
    pub async fn fetch<M: FromQueryResult>(
        self,
        db: &DatabaseConnection,
        parents: &[Uuid],
        window: &Window,
    ) -> Result<HashMap<Option<Uuid>, Page<M>>, DbErr> {
        let rows = query_all(db, &self.page_select(db, parents, window)).await?;
        let mut pages: HashMap<Option<Uuid>, Page<M>> = HashMap::new();
        for row in rows {
            let (parent, pos, total, model) = self.read_row(&row)?;
            let page = pages.entry(parent).or_default();
            page.total = total;
            page.rows.push((pos, model));
        }
        self.complete_totals(db, parents, window, &mut pages).await?;
        Ok(pages)
    }

    /// An empty page past the start says nothing of the list's size: counts those lists.
    pub async fn complete_totals<M>(
        &self,
        db: &DatabaseConnection,
        parents: &[Uuid],
        window: &Window,
        pages: &mut HashMap<Option<Uuid>, Page<M>>,
    ) -> Result<(), DbErr> {
        if window.may_skip_rows() {
            let missing: Vec<Uuid> = match &self.parent {
                Some(_) => parents
                    .iter()
                    .copied()
                    .filter(|p| !pages.contains_key(&Some(*p)))
                    .collect(),
                None => Vec::new(),
            };
            if (self.parent.is_none() && pages.is_empty()) || !missing.is_empty() {
                for (parent, total) in self.count(db, &missing).await? {
                    pages.entry(parent).or_default().total = total;
                }
            }
        }
        Ok(())
    }

    /// Whether the listing has any row: the database stops at the first.
    pub async fn has_rows(&self, db: &DatabaseConnection) -> Result<bool, DbErr> {
        let mut select = Query::select();
        select
            .expr_as(Expr::cust("1"), Alias::new("one"))
            .from_subquery(self.select.clone(), Alias::new("w"))
            .limit(1);
        Ok(!query_all(db, &select).await?.is_empty())
    }

    /// `SELECT COUNT(*) AS lup_total` of the whole listing.
    fn count_select(&self) -> SelectStatement {
        let mut count = Query::select();
        count
            .expr_as(Expr::cust("COUNT(*)"), Alias::new(TOTAL))
            .from_subquery(self.select.clone(), Alias::new("w"));
        count
    }

    async fn count(
        &self,
        db: &DatabaseConnection,
        parents: &[Uuid],
    ) -> Result<Vec<(Option<Uuid>, i64)>, DbErr> {
        let mut inner = self.select.clone();
        let mut outer = Query::select();
        match &self.parent {
            Some(p) => {
                inner
                    .expr_as(Expr::cust(p.clone()), Alias::new(PARENT))
                    .and_where(one_of(db, p, parents));
                outer
                    .column(Alias::new(PARENT))
                    .expr_as(Expr::cust("COUNT(*)"), Alias::new(TOTAL))
                    .from_subquery(inner, Alias::new("w"))
                    .group_by_col(Alias::new(PARENT));
            }
            None => outer = self.count_select(),
        }
        let rows = query_all(db, &outer).await?;
        rows.iter()
            .map(|row| {
                let parent = self
                    .parent
                    .as_ref()
                    .map(|_| row.try_get::<Uuid>("", PARENT))
                    .transpose()?;
                Ok((parent, row.try_get::<i64>("", TOTAL)?))
            })
            .collect()
    }
}

/// Runs a read, retried once on a fresh connection when the one it ran on had broken.
pub async fn query_all(db: &DatabaseConnection, select: &SelectStatement) -> Result<Vec<QueryResult>, DbErr> {
    query_statement(db, &db.get_database_backend().build(select)).await
}

/// Runs a read already built, as [`query_all`].
pub async fn query_statement(
    db: &DatabaseConnection,
    statement: &Statement,
) -> Result<Vec<QueryResult>, DbErr> {
    crate::db::read_all(db, statement).await
}

/// `column` is one of `ids`: `= ANY($1)` on PostgreSQL, so the statement text (and its cached
/// plan) is the same whatever the number of IDs; `IN (…)` on SQLite.
pub fn one_of(db: &DatabaseConnection, column: &str, ids: &[Uuid]) -> Expr {
    match db.get_database_backend() {
        DbBackend::Postgres => Expr::cust(column.to_owned()).eq(PgFunc::any(Expr::val(ids.to_vec()))),
        _ => Expr::cust(column.to_owned()).is_in(ids.iter().copied()),
    }
}

#[cfg(test)]
mod slices {
    use super::Window;

    fn window(after: i64, before: Option<i64>, size: i64, from_end: bool) -> Window {
        Window {
            after,
            before,
            size,
            from_end,
        }
    }

    /// The rows the SQL listing selects: positions after `after`, before `before`, the first
    /// or last `size` of them.
    #[test]
    fn a_slice_is_the_page_the_statements_select() {
        assert_eq!(window(0, None, 3, false).slice(10), 0..3);
        assert_eq!(window(8, None, 3, false).slice(10), 8..10);
        assert_eq!(window(0, None, 3, true).slice(10), 7..10);
        assert_eq!(window(0, Some(5), 3, true).slice(10), 1..4);
        assert_eq!(window(2, Some(5), 3, true).slice(10), 2..4);
        assert_eq!(window(2, Some(5), 3, false).slice(10), 2..4);
        assert_eq!(window(20, None, 3, false).slice(10), 10..10);
        assert_eq!(window(0, Some(1), 3, true).slice(10), 0..0);
        assert_eq!(window(0, Some(40), 3, true).slice(10), 7..10);
    }
}

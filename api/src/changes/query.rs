//! The GraphQL face of the change feed: `changes(after:, types:, first:)` and the `Change`
//! object that the feed and the `changed` subscription both return.
use std::sync::Arc;

use async_graphql::{
    Context, Enum, ID, Object, Result, SimpleObject,
    connection::{Connection, CursorType, Edge},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use entity::change_event::{self, Column as C};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::Expr,
};

use super::{ChangeRow, Reader};
use crate::{error::ApiError, node::Node, relay::NodeType};

/// The change feed's types are the node types (the GraphQL enum `ChangeType`).
pub use crate::relay::NodeType as ChangeType;

crate::labels::enum_labels!(NodeType as "ChangeType" {
    Community => "Lokalsamfund",
    Contact => "Kontaktperson",
    Organization => "Organisation",
    Department => "Forvaltning",
    Theme => "Tema",
    Plan => "Udviklingsplan",
    PlanInvolvement => "Deltagelse i plan",
    EngagementEvent => "Arrangement",
    Action => "Indsats",
    ActionDepartment => "Forvaltningens bidrag",
    ActionUpdate => "Statusopdatering",
    Partnership => "Partnerskab",
    PartnershipMember => "Part i partnerskab",
    Idea => "Idé",
    IdeaExchange => "Idéudveksling",
    AnnualReview => "Årsstatus",
    AnnualReviewEntry => "Årsstatus for lokalsamfund",
    ConsultationResponse => "Høringssvar",
});

crate::labels::enum_labels!(ChangeKind {
    Created => "Tilføjet",
    Updated => "Ændret",
    Deleted => "Fjernet",
});

/// What happened to a row, as the reader sees it.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// The row is new to you: created, or now visible to you (e.g. a plan made public).
    Created,
    /// A row you could see changed.
    Updated,
    /// A tombstone: the row is gone from your view (deleted, or no longer visible to you).
    /// Remove it from any copy you keep.
    Deleted,
}

#[derive(Clone)]
pub struct Change {
    pub row: Arc<ChangeRow>,
    pub kind: ChangeKind,
}

impl Change {
    /// The change as `reader` sees it, if at all.
    pub fn seen(row: Arc<ChangeRow>, reader: &Reader) -> Option<Change> {
        let kind = row.seen_by(reader)?;
        Some(Change { row, kind })
    }
}

/// One change to one row, as the caller may see it.
#[Object]
impl Change {
    /// Where this change stands in the feed: pass it as `after` to read what came later.
    async fn cursor(&self) -> String {
        ChangeCursor::of(&self.row).encode_cursor()
    }

    /// When the change was committed.
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.row.occurred_at
    }

    async fn kind(&self) -> ChangeKind {
        self.kind
    }

    /// The type of the row that changed.
    #[graphql(name = "type")]
    async fn entity_type(&self) -> ChangeType {
        self.row.entity
    }

    /// The global ID of the row that changed (what `node(id:)` takes).
    async fn node_id(&self) -> ID {
        crate::relay::encode(self.row.entity, self.row.entity_id)
    }

    /// The row as it is now, if you may still see it; null for a tombstone, or when a later
    /// change has taken it away.
    async fn node(&self, ctx: &Context<'_>) -> Result<Option<Node>> {
        if self.kind == ChangeKind::Deleted {
            return Ok(None);
        }
        crate::node::resolve(ctx, &crate::relay::encode(self.row.entity, self.row.entity_id)).await
    }
}

/// A position in the change feed, opaque to clients: the change's number and, to know it
/// again, the second it was committed in. A database restored from a backup numbers its next
/// changes from where the backup stood, so a number alone would point, after new writes, at a
/// change the client never saw (and read on past the ones lost): with its second, such a
/// cursor is refused. Cursors of the number alone (given before) are still taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeCursor {
    pub seq: i64,
    /// The Unix second of the change's commit; none for the start and for older cursors.
    pub mark: Option<i64>,
}

impl ChangeCursor {
    /// The cursor of the change `row`.
    pub fn of(row: &ChangeRow) -> Self {
        ChangeCursor {
            seq: row.seq,
            mark: Some(row.occurred_at.timestamp()),
        }
    }

    /// The start of the feed.
    pub const START: ChangeCursor = ChangeCursor { seq: 0, mark: None };

    /// The cursor of change `seq` as the database holds it (the start for 0).
    pub async fn at(db: &DatabaseConnection, seq: i64) -> Result<ChangeCursor, ApiError> {
        if seq <= 0 {
            return Ok(ChangeCursor::START);
        }
        let found = change_event::Entity::find_by_id(seq).one(db).await?;
        Ok(ChangeCursor {
            seq,
            mark: found.map(|e| e.occurred_at.timestamp()),
        })
    }

    /// Refused (`BAD_USER_INPUT`) when the change it names is not the one this feed holds
    /// under its number (the feed comes from a restore, or another database).
    pub async fn check(&self, db: &DatabaseConnection) -> Result<(), ApiError> {
        let Some(mark) = self.mark.filter(|_| self.seq > 0) else {
            return Ok(());
        };
        // Within a second: PostgreSQL keeps microseconds, rounding a time at the very end of
        // a second into the next.
        if ChangeCursor::at(db, self.seq)
            .await?
            .mark
            .is_some_and(|held| (held - mark).abs() <= 1)
        {
            return Ok(());
        }
        Err(ApiError::bad_input(format!(
            "the cursor names change {} as this feed does not hold it: the database was restored \
             from a backup since, or the cursor comes from another one; read from the start (no \
             `after`) to build your copy again",
            self.seq
        )))
    }
}

#[derive(Debug, thiserror::Error)]
#[error("\"{0}\" is not a valid change cursor")]
pub struct InvalidChangeCursor(String);

impl CursorType for ChangeCursor {
    type Error = InvalidChangeCursor;

    fn decode_cursor(s: &str) -> Result<Self, Self::Error> {
        let invalid = || InvalidChangeCursor(s.chars().take(64).collect());
        let bytes = URL_SAFE_NO_PAD.decode(s).map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let rest = text.strip_prefix("change:").ok_or_else(invalid)?;
        let (seq, mark) = match rest.split_once(':') {
            Some((seq, mark)) => (seq, Some(mark.parse::<i64>().map_err(|_| invalid())?)),
            None => (rest, None),
        };
        let seq = seq.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(invalid)?;
        Ok(ChangeCursor { seq, mark })
    }

    fn encode_cursor(&self) -> String {
        URL_SAFE_NO_PAD.encode(match self.mark {
            Some(mark) => format!("change:{}:{mark}", self.seq),
            None => format!("change:{}", self.seq),
        })
    }
}

#[derive(SimpleObject)]
pub struct ChangeConnectionFields {
    /// Where to go on from next time: the last change on this page or, when the page holds
    /// none, the newest change this read went past (changes you may not see included), so a
    /// poll does not read them again. Always set.
    pub resume_cursor: String,
}

/// As every connection's default page (and what the query bounds count on).
pub const DEFAULT_CHANGES: i32 = crate::pagination::DEFAULT_PAGE_SIZE as i32;
pub const MAX_CHANGES: i32 = crate::pagination::MAX_PAGE_SIZE as i32;

#[derive(Default)]
pub struct ChangesQuery;

#[Object]
impl ChangesQuery {
    /// Every change to the rows you may see, oldest first, with tombstones (`kind: DELETED`)
    /// for rows deleted or gone from your view. Read it from the start to build a full copy
    /// of what you may see, then from `resumeCursor` to keep it up to date; the order is the
    /// order the changes were committed in, and no change is skipped.
    #[graphql(cache_control(no_cache))]
    async fn changes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A `cursor` or `resumeCursor` from an earlier read; from the start when left out.")]
        after: Option<String>,
        #[graphql(desc = "Only changes to rows of these types; all types when left out.")] types: Option<
            Vec<ChangeType>,
        >,
        #[graphql(desc = "At most this many changes (1–100); 20 when left out.")] first: Option<i32>,
    ) -> Result<Connection<ChangeCursor, Change, ChangeConnectionFields>> {
        let first = first.unwrap_or(DEFAULT_CHANGES);
        if !(1..=MAX_CHANGES).contains(&first) {
            return Err(ApiError::bad_input(format!(
                "`first` must be between 1 and {MAX_CHANGES}, got {first}"
            ))
            .into());
        }
        let given = match after {
            Some(c) => ChangeCursor::decode_cursor(&c).map_err(|e| ApiError::bad_input(e.to_string()))?,
            None => ChangeCursor::START,
        };
        let after = given.seq;
        if types.as_ref().is_some_and(|t| t.is_empty()) {
            return Err(ApiError::bad_input("`types` must name at least one type, or be left out").into());
        }
        let db = ctx.data_unchecked::<DatabaseConnection>();
        let reader = Reader::of(&crate::auth::viewer(ctx));
        let page = read(db, &reader, after, types.as_deref(), first as u64).await?;
        if after > page.head {
            return Err(ahead(after, page.head).into());
        }
        given.check(db).await?;
        let resume = match page.rows.last() {
            Some(row) => ChangeCursor::of(row),
            None if page.head > after => ChangeCursor::at(db, page.head).await?,
            None => given,
        };
        let mut connection = Connection::with_additional_fields(
            after > 0,
            page.more,
            ChangeConnectionFields {
                resume_cursor: resume.encode_cursor(),
            },
        );
        connection.edges.extend(page.rows.into_iter().filter_map(|row| {
            let cursor = ChangeCursor::of(&row);
            Change::seen(Arc::new(row), &reader).map(|c| Edge::new(cursor, c))
        }));
        Ok(connection)
    }
}

/// The refusal of a cursor past the newest change: no read gave it (the feed only grows), so it
/// comes from another database or from before a restore, and reading on from it would skip
/// every change up to it.
pub fn ahead(after: i64, head: i64) -> ApiError {
    ApiError::bad_input(format!(
        "the cursor points past the newest change of this feed (change {after}, the newest is {head}): \
         it comes from another database or from before a restore; read from the start (no `after`) \
         to build your copy again"
    ))
}

/// A page of the feed for one reader.
pub struct FeedPage {
    pub rows: Vec<ChangeRow>,
    /// Whether more changes this reader may see follow the page.
    pub more: bool,
    /// The newest change committed when the page was read: every change up to it was
    /// considered.
    pub head: i64,
}

/// The reader's visibility of one side (`before` or `after`) of an event, as SQL.
fn sees(reader: &Reader, exists: C, public: C, community: C, organization: C) -> Condition {
    let mut c = Condition::any();
    if reader.staff {
        c = c.add(Expr::value(true));
    } else {
        c = c.add(public.eq(true));
        if !reader.communities.is_empty() {
            c = c.add(community.is_in(reader.communities.iter().copied()));
        }
        if let Some(org) = reader.organization {
            c = c.add(organization.eq(org));
        }
    }
    Condition::all().add(exists.eq(true)).add(c)
}

/// The changes after `after` that `reader` may see (of `types`, if given), at most `first`.
pub async fn read(
    db: &DatabaseConnection,
    reader: &Reader,
    after: i64,
    types: Option<&[ChangeType]>,
    first: u64,
) -> Result<FeedPage, ApiError> {
    // The head first: every number up to it is committed (numbers are assigned in commit order
    // under a lock), so reading up to it cannot skip a change still being committed.
    let head = super::feed::newest(db).await?;
    if head <= after {
        return Ok(FeedPage {
            rows: Vec::new(),
            more: false,
            head,
        });
    }
    let mut q = change_event::Entity::find()
        .filter(C::Seq.gt(after))
        .filter(C::Seq.lte(head))
        .filter(
            Condition::any()
                .add(sees(
                    reader,
                    C::BeforeExists,
                    C::BeforePublic,
                    C::BeforeCommunityId,
                    C::BeforeOrganizationId,
                ))
                .add(sees(
                    reader,
                    C::AfterExists,
                    C::AfterPublic,
                    C::AfterCommunityId,
                    C::AfterOrganizationId,
                )),
        );
    if let Some(types) = types {
        q = q.filter(C::EntityType.is_in(types.iter().map(|t| t.name())));
    }
    let mut rows: Vec<ChangeRow> = q
        .order_by_asc(C::Seq)
        .limit(first + 1)
        .all(db)
        .await?
        .into_iter()
        .filter_map(ChangeRow::from_model)
        .collect();
    let more = rows.len() as u64 > first;
    rows.truncate(first as usize);
    Ok(FeedPage { rows, more, head })
}

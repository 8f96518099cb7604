//! Changes as a stream (issue 13): every committed write records change events in the same
//! transaction (the outbox, `change_event`), numbered in commit order; the `changes` feed
//! reads them back as the caller may see them, subscriptions (`changed`) push them as they
//! commit, and webhooks deliver a partner's to its endpoints.
//!
//! **What an event says.** A row (its GraphQL type and ID) was created, updated or deleted,
//! and who could see it before and after ([`Audience`]): everyone (`public`), the editors of
//! one community, the partner organisation that proposed it; staff see every row that exists.
//! A change of who may see a row is an event too, also when the row itself did not change (a
//! plan taken back to draft takes its actions out of public view).
//!
//! **What a reader sees** ([`Reader`], [`ChangeRow::seen_by`]): a row it may see after the
//! change is `CREATED` (it could not see it before) or `UPDATED`; a row it could see before
//! and not after is `DELETED` (a tombstone: deleted, or gone from the reader's view, which the
//! reader cannot tell apart); a row it could see neither before nor after is not shown at all.
//!
//! **Order.** The sequence is assigned when the write commits, under a lock held until the
//! commit (PostgreSQL: an advisory transaction lock; SQLite has one writer), so numbers are
//! visible in order and without gaps: a reader that has seen number n has seen every number
//! below it.
//!
//! **Where.** [`record`] (the write path: collecting and numbering, called by
//! `Write::commit`), [`catch_up`] (start-up: rows that have no event yet, e.g. the demo data
//! and rows written before the feed existed, get a `CREATE`; rows deleted around the API get a
//! `DELETE`), [`feed`] (the per-instance hub of new events for subscribers and the webhook
//! dispatcher), [`query`] (the GraphQL types and the `changes` query).
pub mod audience;
pub mod feed;
pub mod query;
pub mod record;
pub mod subscription;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use entity::change_event;
use uuid::Uuid;

use crate::auth::Viewer;

pub use entity::change_event::ChangeOperation;
pub use feed::Feed;
pub use query::{Change, ChangeKind, ChangeType, ChangesQuery};
pub use record::{Touched, catch_up, record};
pub use subscription::ChangesSubscription;

/// Who may see a row at one moment (staff: every row that exists).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Audience {
    pub exists: bool,
    /// Everyone, anonymous callers included.
    pub public: bool,
    /// The editors of this community (when not public: the row is a draft, a private
    /// contact, a response or proposal they moderate).
    pub community: Option<Uuid>,
    /// The partner organisation that proposed it (a pending or declined proposal).
    pub organization: Option<Uuid>,
}

impl Audience {
    pub const NONE: Audience = Audience {
        exists: false,
        public: false,
        community: None,
        organization: None,
    };

    /// Whether a reader who may see a row with this audience may not see it with `after`:
    /// the row is deleted, or goes out of that reader's sight (a tombstone for them).
    pub fn lost_to(&self, after: &Audience) -> bool {
        let kept = |reader: Option<Uuid>, now: Option<Uuid>| reader.is_none() || reader == now;
        self.exists
            && (!after.exists
                || (!after.public
                    && (self.public
                        || !kept(self.community, after.community)
                        || !kept(self.organization, after.organization))))
    }
}

/// One event of the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRow {
    pub seq: i64,
    pub occurred_at: DateTime<Utc>,
    pub entity: ChangeType,
    pub entity_id: Uuid,
    pub operation: ChangeOperation,
    /// The write's audit record (`audit_log.id`, whose `changes` hold the fields' values
    /// before and after), when the row itself was written; `None` when only who may see it
    /// changed, or for the events of [`catch_up`].
    pub audit_id: Option<Uuid>,
    pub before: Audience,
    pub after: Audience,
}

impl ChangeRow {
    /// What `reader` sees of this event, if anything.
    pub fn seen_by(&self, reader: &Reader) -> Option<ChangeKind> {
        match (reader.sees(&self.before), reader.sees(&self.after)) {
            (_, true) if self.operation == ChangeOperation::Create => Some(ChangeKind::Created),
            (true, true) => Some(ChangeKind::Updated),
            (false, true) => Some(ChangeKind::Created),
            (true, false) => Some(ChangeKind::Deleted),
            (false, false) => None,
        }
    }

    pub(crate) fn from_model(m: change_event::Model) -> Option<ChangeRow> {
        Some(ChangeRow {
            seq: m.seq,
            occurred_at: m.occurred_at,
            entity: ChangeType::from_name(&m.entity_type)?,
            entity_id: m.entity_id,
            operation: m.operation,
            audit_id: m.audit_id,
            before: Audience {
                exists: m.before_exists,
                public: m.before_public,
                community: m.before_community_id,
                organization: m.before_organization_id,
            },
            after: Audience {
                exists: m.after_exists,
                public: m.after_public,
                community: m.after_community_id,
                organization: m.after_organization_id,
            },
        })
    }
}

/// What one caller may see of the feed, from its [`Viewer`] (the same roles as
/// [`crate::access::Access`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reader {
    pub staff: bool,
    /// The communities whose editors the caller is.
    pub communities: Arc<[Uuid]>,
    /// The partner organisation the caller acts for.
    pub organization: Option<Uuid>,
}

impl Reader {
    pub fn of(viewer: &Viewer) -> Reader {
        use crate::auth::Role;
        Reader {
            staff: viewer.is_staff(),
            communities: if viewer.role == Role::CommunityEditor {
                viewer.communities.clone()
            } else {
                Arc::from([])
            },
            organization: if viewer.role == Role::Partner {
                viewer.organization_id
            } else {
                None
            },
        }
    }

    /// Whether this reader may see a row with this audience.
    pub fn sees(&self, a: &Audience) -> bool {
        a.exists
            && (self.staff
                || a.public
                || a.community.is_some_and(|c| self.communities.contains(&c))
                || (a.organization.is_some() && a.organization == self.organization))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use uuid::Uuid;

    use super::{Audience, Reader};

    /// `lost_to` says the same as asking every kind of reader, before and after.
    #[test]
    fn a_row_is_lost_exactly_when_some_reader_saw_it_and_no_longer_does() {
        let (a, b, o, p) = (
            Uuid::from_u128(1),
            Uuid::from_u128(2),
            Uuid::from_u128(3),
            Uuid::from_u128(4),
        );
        let readers = [
            Reader {
                staff: true,
                communities: Arc::from([]),
                organization: None,
            },
            Reader {
                staff: false,
                communities: Arc::from([]),
                organization: None,
            },
            Reader {
                staff: false,
                communities: Arc::from([a]),
                organization: None,
            },
            Reader {
                staff: false,
                communities: Arc::from([b]),
                organization: None,
            },
            Reader {
                staff: false,
                communities: Arc::from([]),
                organization: Some(o),
            },
            Reader {
                staff: false,
                communities: Arc::from([]),
                organization: Some(p),
            },
        ];
        let mut audiences = vec![Audience::NONE];
        for public in [false, true] {
            for community in [None, Some(a), Some(b)] {
                for organization in [None, Some(o), Some(p)] {
                    audiences.push(Audience {
                        exists: true,
                        public,
                        community,
                        organization,
                    });
                }
            }
        }
        for before in &audiences {
            for after in &audiences {
                let lost = readers.iter().any(|r| r.sees(before) && !r.sees(after));
                assert_eq!(before.lost_to(after), lost, "{before:?} → {after:?}");
            }
        }
    }
}

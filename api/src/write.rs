//! Plumbing every mutation shares: user errors, parsing inputs at the edge into checked
//! values, one transaction per mutation with its audit record, and optimistic concurrency
//! (each update and delete names the `version` it was based on; a stale one is a CONFLICT
//! and changes nothing).

use async_graphql::{Context, Enum, ID, MaybeUndefined, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use entity::audit_log::{self, ActorKind};
use sea_orm::{
    ActiveModelTrait, ActiveValue, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    DbErr, EntityTrait, IntoActiveModel, Iterable, ModelTrait, PrimaryKeyToColumn, PrimaryKeyTrait,
    QueryFilter, Select, Set,
    sea_query::{Asterisk, DynIden, Expr, ExprTrait, Func, Query},
};
use serde::Serialize;
use uuid::Uuid;

use crate::{
    access::Access,
    auth::Viewer,
    error::ApiError,
    loader::{ColumnName, id_column, table_column},
    relay::{self, NodeType, TypeName},
};

/// A clearable field of an update after its check: left alone, or set (`None` clears it).
#[derive(Clone)]
pub enum Change<T> {
    Keep,
    Set(Option<T>),
}

impl<T: Clone> Change<T> {
    /// The value after the change, given the value before.
    pub fn after(&self, before: Option<T>) -> Option<T> {
        match self {
            Change::Keep => before,
            Change::Set(v) => v.clone(),
        }
    }

    pub fn apply(self, field: &mut ActiveValue<Option<T>>)
    where
        Option<T>: Into<sea_orm::Value>,
    {
        if let Change::Set(v) = self {
            *field = Set(v);
        }
    }
}

/// Checks a clearable input field: `None` when `check` refused its value.
pub fn change<T, U>(value: &MaybeUndefined<T>, check: impl FnOnce(&T) -> Option<U>) -> Option<Change<U>> {
    match value {
        MaybeUndefined::Undefined => Some(Change::Keep),
        MaybeUndefined::Null => Some(Change::Set(None)),
        MaybeUndefined::Value(v) => check(v).map(|u| Change::Set(Some(u))),
    }
}

/// FORBIDDEN unless the viewer may change the content of `plan` (its text, its actions and
/// what hangs under them): the editors of its community and staff; an archived plan is the
/// record of what was done, which staff change (and restore).
pub fn require_plan_content(w: &Write, plan: &entity::plan::Model) -> Result<(), ApiError> {
    w.require_community(plan.community_id)?;
    require_unarchived(w, plan)
}

/// FORBIDDEN unless `plan` is not archived or the viewer is staff: an archived plan and what
/// hangs under it (its actions and their notes, departments, partnerships and members, its
/// consultation, the events and idea exchanges tied to it) are the record of what was done.
pub fn require_unarchived(w: &Write, plan: &entity::plan::Model) -> Result<(), ApiError> {
    if plan.status == entity::plan::PlanStatus::Archived && !w.viewer.is_staff() {
        return Err(ApiError::forbidden(
            "an archived plan is the record of what was done: the municipality's staff change it and what hangs under it (its editors may still write the plan's internal notes)",
        ));
    }
    Ok(())
}

/// [`require_plan_content`] for the plan `id` (NOT_FOUND when the caller may not see it).
pub async fn require_plan_content_of(w: &Write, plan: Uuid) -> Result<(), ApiError> {
    require_plan_content(w, &w.find::<entity::plan::Entity>("plan", plan).await?)
}

/// [`require_unarchived`] for the plans of the actions `ids` (those the caller may see).
pub async fn require_unarchived_actions(w: &Write, ids: &[Uuid]) -> Result<(), ApiError> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
    if ids.is_empty() || w.viewer.is_staff() {
        return Ok(());
    }
    let archived = entity::plan::Entity::find()
        .filter(entity::plan::Column::Status.eq(entity::plan::PlanStatus::Archived))
        .filter(
            entity::plan::Column::Id.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(entity::action::Column::PlanId)
                    .from(entity::action::Entity)
                    .and_where(entity::action::Column::Id.is_in(ids.iter().copied()))
                    .to_owned(),
            ),
        )
        .limit(1)
        .one(&w.txn)
        .await?;
    match archived {
        Some(plan) => require_unarchived(w, &plan),
        None => Ok(()),
    }
}

/// What a mutation returns once `Check::done` passed but a value is still missing (cannot
/// happen: every parse that returned `None` recorded an error).
pub fn invalid() -> Failure {
    Refused::one("id", UserErrorCode::Invalid, "invalid input").into()
}

/// Which rows of an entity a caller may see. The write path finds rows through it, so a
/// row a caller may not see (another community's draft plan and what hangs under it, a
/// private contact, a partner's proposal) is NOT_FOUND to them, exactly like a row that does
/// not exist; the read path applies the same selects. Entities whose rows everyone may see
/// keep the default.
pub trait Guarded: EntityTrait {
    fn visible(_access: &Access) -> Select<Self> {
        Self::find()
    }
}

macro_rules! guarded {
    ($($entity:ident => $visible:path),* $(,)?) => {
        $(impl Guarded for entity::$entity::Entity {
            fn visible(access: &Access) -> Select<Self> {
                $visible(access)
            }
        })*
    };
    ($($entity:ident),* $(,)?) => {
        $(impl Guarded for entity::$entity::Entity {})*
    };
}

guarded!(
    plan => crate::plan::visible,
    plan_involvement => crate::plan::involvement_visible,
    action => crate::action::visible,
    action_update => crate::action::updates_visible,
    action_department => crate::action::departments_visible,
    partnership => crate::partnership::visible,
    partnership_member => crate::partnership::members_visible,
    contact => crate::contact::visible,
    engagement_event => crate::engagement::visible,
    annual_review => crate::review::visible,
    annual_review_entry => crate::review::visible_entries,
    consultation_response => crate::consultation::visible,
);
guarded!(
    community,
    organization,
    department,
    theme,
    idea,
    idea_exchange,
    account,
    api_key
);

/// Why a field of an input was refused.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum UserErrorCode {
    /// A value is needed.
    Required,
    /// The value has the wrong form (an ID, a slug, an email…).
    Invalid,
    TooLong,
    /// A number or date outside what is allowed.
    OutOfRange,
    /// Another row already uses this value (a slug, an email).
    Taken,
    /// The row this ID names does not exist.
    NotFound,
    /// The row is still referenced by others and cannot be deleted.
    InUse,
    /// The status cannot change this way.
    InvalidTransition,
}

/// Borrowing views of an update's [`MaybeUndefined`] value, as `Option` has them.
pub trait MaybeRef<T> {
    fn as_ref(&self) -> MaybeUndefined<&T>;
    fn as_deref(&self) -> MaybeUndefined<&T::Target>
    where
        T: std::ops::Deref;
}

impl<T> MaybeRef<T> for MaybeUndefined<T> {
    fn as_ref(&self) -> MaybeUndefined<&T> {
        match self {
            MaybeUndefined::Undefined => MaybeUndefined::Undefined,
            MaybeUndefined::Null => MaybeUndefined::Null,
            MaybeUndefined::Value(v) => MaybeUndefined::Value(v),
        }
    }

    fn as_deref(&self) -> MaybeUndefined<&T::Target>
    where
        T: std::ops::Deref,
    {
        self.as_ref().map_value(|v| &**v)
    }
}

/// The largest amount of money one field may hold: GraphQL's largest `Int` (2^31 − 1 kroner,
/// about 2.1 billion), so every client can read and send it.
pub const MAX_AMOUNT_DKK: i64 = i32::MAX as i64;

/// A problem with one field of a mutation's input. Nothing was changed.
#[derive(SimpleObject, Clone, Debug)]
pub struct UserError {
    /// The path to the field within the input, e.g. `["periodTo"]` or `["members", "0", "role"]`.
    pub field: Vec<String>,
    /// What is wrong, for a person.
    pub message: String,
    pub code: UserErrorCode,
}

/// Declares a mutation's payload: the changed object (null when the mutation was refused)
/// and its user errors.
macro_rules! payload {
    ($(#[$meta:meta])* $name:ident, $field:ident: $ty:ty) => {
        $(#[$meta])*
        #[derive(async_graphql::SimpleObject)]
        pub struct $name {
            pub $field: Option<$ty>,
            pub user_errors: Vec<$crate::write::UserError>,
        }

        impl $name {
            pub fn ok(value: $ty) -> Self {
                $name {
                    $field: Some(value),
                    user_errors: Vec::new(),
                }
            }
            pub fn refused(user_errors: Vec<$crate::write::UserError>) -> Self {
                $name {
                    $field: None,
                    user_errors,
                }
            }
        }

        impl From<$crate::write::Refused> for $name {
            fn from(r: $crate::write::Refused) -> Self {
                $name::refused(r.0)
            }
        }
    };
    // With more fields after the first, empty (their `Default`) when the mutation is refused.
    ($(#[$meta:meta])* $name:ident, $field:ident: $ty:ty; $($(#[$more_meta:meta])* $more:ident: $more_ty:ty),+ $(,)?) => {
        $(#[$meta])*
        #[derive(async_graphql::SimpleObject)]
        pub struct $name {
            pub $field: Option<$ty>,
            $($(#[$more_meta])* pub $more: $more_ty,)+
            pub user_errors: Vec<$crate::write::UserError>,
        }

        impl From<$crate::write::Refused> for $name {
            fn from(r: $crate::write::Refused) -> Self {
                $name {
                    $field: None,
                    $($more: Default::default(),)+
                    user_errors: r.0,
                }
            }
        }
    };
}
pub(crate) use payload;

payload!(
    /// The payload of a delete: the global ID of what was deleted.
    DeletePayload,
    deleted_id: ID
);

/// A mutation refused for its input: the user errors go back in the payload.
#[derive(Debug)]
pub struct Refused(pub Vec<UserError>);

impl Refused {
    pub fn one(field: &str, code: UserErrorCode, message: impl Into<String>) -> Self {
        Refused(vec![UserError {
            field: path(field),
            message: message.into(),
            code,
        }])
    }
}

/// The outcome of a mutation's body: done, refused for its input, or failed (a GraphQL error).
pub enum Failure {
    Refused(Refused),
    /// Refused by a constraint of the database ([`constraint`]): on PostgreSQL, where writes
    /// run side by side, another write committed what the checks before it looked for (the
    /// same slug, the row referred to deleted). [`mutate`] runs the write once more, so that
    /// its checks see the other write and refuse as they do when the two come one after the
    /// other (as on SQLite): the same message, on the input field it concerns.
    Raced(Refused),
    Error(ApiError),
}

impl From<Refused> for Failure {
    fn from(r: Refused) -> Self {
        Failure::Refused(r)
    }
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Failure::Error(e)
    }
}

impl From<DbErr> for Failure {
    fn from(e: DbErr) -> Self {
        Failure::Error(ApiError::from(e))
    }
}

/// Turns a mutation body's outcome into its payload or a GraphQL error.
pub fn finish<T, P: From<Refused>>(
    result: Result<T, Failure>,
    ok: impl FnOnce(T) -> P,
) -> async_graphql::Result<P> {
    match result {
        Ok(v) => Ok(ok(v)),
        Err(Failure::Refused(r) | Failure::Raced(r)) => Ok(P::from(r)),
        Err(Failure::Error(e)) => Err(e.into()),
    }
}

/// Runs a mutation the one way every mutation runs: `parse` reads the input into a command,
/// recording a user error for each bad field (and returning `None` when it recorded any);
/// then `write` carries the command out in one transaction, through [`Write`] (authorisation,
/// visibility, the version check, the audit record), which commits only when `write` succeeds
/// and then empties the response cache. The outcome becomes the payload (`ok`), the payload's
/// user errors, or a GraphQL error; a refused or failed mutation changes nothing.
pub async fn mutate<C: Clone, T, P: From<Refused>>(
    ctx: &Context<'_>,
    parse: impl FnOnce(&mut Check) -> Option<C>,
    write: impl AsyncFnOnce(&Write, C) -> Result<T, Failure> + Clone,
    ok: impl FnOnce(T) -> P,
) -> async_graphql::Result<P> {
    let result = async {
        let mut check = Check::default();
        let command = parse(&mut check);
        check.done()?;
        let command = command.ok_or_else(invalid)?;
        let again = write.clone();
        let w = Write::begin(ctx).await?;
        match write(&w, command.clone()).await {
            Ok(out) => {
                w.commit().await?;
                Ok(out)
            }
            // Once more in a new transaction, the first rolled back: see `Failure::Raced`. A
            // second race keeps the constraint's own error.
            Err(Failure::Raced(_)) => {
                w.txn.rollback().await.map_err(ApiError::from)?;
                let w = Write::begin(ctx).await?;
                let out = again(&w, command).await?;
                w.commit().await?;
                Ok(out)
            }
            Err(e) => Err(e),
        }
    }
    .await;
    finish(result, ok)
}

/// What every new row of a versioned table starts with: created and last updated at `now`,
/// at version 1, its other columns left to the caller (`..new_row(now)`).
pub fn new_row<A>(now: DateTime<Utc>) -> A
where
    A: ActiveModelTrait,
    A::Entity: Versioned,
{
    let mut row = <A as ActiveModelTrait>::default();
    row.set(A::Entity::CREATED_AT, now.into());
    row.set(A::Entity::UPDATED_AT, now.into());
    row.set(A::Entity::VERSION, 1.into());
    row
}

/// A column an update sets only when a new value was given.
pub fn set_if<T: Into<sea_orm::Value>>(value: Option<T>) -> ActiveValue<T> {
    value.map_or(ActiveValue::NotSet, ActiveValue::Set)
}

fn path(field: &str) -> Vec<String> {
    field.split('.').map(str::to_owned).collect()
}

pub const MAX_NAME: usize = 200;

/// Why `null` is refused for a field an update cannot clear.
const NOT_NULL: &str = "cannot be null: leave it out to keep the current value";
pub const MAX_TEXT: usize = 20_000;
pub const MAX_SHORT: usize = 500;

/// Why a text with a [`refused_char`] is refused.
pub const REFUSED_CHARS: &str = "must not hold control characters, text-direction controls (U+202A–U+202E, U+2066–U+2069), U+FEFF or noncharacters";

/// A character no text takes: a control character (line breaks and tabs only where `lines`,
/// and U+2028/U+2029, the line and paragraph separators, likewise), a text-direction
/// embedding, override or isolate, which makes a title show as other text than it holds (in
/// lists, reports, the audit log), the byte order mark U+FEFF (invisible, and taken for the
/// start of a file by CSV readers), or a noncharacter (U+FDD0–U+FDEF, U+FFFE, U+FFFF and their
/// likes in every plane), which Unicode keeps out of interchanged text.
pub fn refused_char(c: char, lines: bool) -> bool {
    let code = u32::from(c);
    (c.is_control() && !(lines && matches!(c, '\n' | '\r' | '\t')))
        || (!lines && matches!(c, '\u{2028}' | '\u{2029}'))
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{FDD0}'..='\u{FDEF}')
        || code & 0xFFFE == 0xFFFE
}

/// `text` in Unicode's composed form (NFC): letters and their combining marks as one
/// character where Unicode has one ("a" and U+030A as "å"). Every text an input gives is kept
/// so, and text filters compare so.
pub fn composed(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    text.nfc().collect()
}

/// An email address as it is kept: trimmed and in lower case, at most 254 bytes, with a
/// top-level domain and nothing a text refuses; none when `value` is not one.
pub fn email_address(value: &str) -> Option<String> {
    let strict = email_address::Options::default()
        .with_required_tld()
        .without_domain_literal()
        .without_display_text();
    email_with(value, strict)
}

/// Like [`email_address`], without a top-level domain required (`a@b`): for finding the
/// addresses that were accepted before it was.
pub fn earlier_email_address(value: &str) -> Option<String> {
    email_with(value, email_address::Options::default())
}

fn email_with(value: &str, options: email_address::Options) -> Option<String> {
    // One form of each address, whoever typed it how: compatibility characters as what they
    // stand for (a fullwidth "ｊ" is "j"), letters composed ("u" and a combining diaeresis is
    // "ü"), lowercase. An erasure or an export then finds every response of the address.
    use unicode_normalization::UnicodeNormalization;
    let value = value.trim().nfkc().collect::<String>().to_lowercase();
    (value.len() <= 254
        && !value.chars().any(|c| refused_char(c, false))
        && email_address::EmailAddress::parse_with_options(&value, options).is_ok())
    .then_some(value)
}

/// Collects user errors while an input is parsed into checked values. Each parse returns
/// `None` when it recorded an error, so a mutation goes on only with values it can trust.
#[derive(Default, Debug)]
pub struct Check(Vec<UserError>);

impl Check {
    pub fn add(&mut self, field: &str, code: UserErrorCode, message: impl Into<String>) {
        self.0.push(UserError {
            field: path(field),
            message: message.into(),
            code,
        });
    }

    /// `Err` with the errors collected, if any.
    pub fn done(self) -> Result<(), Refused> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Refused(self.0))
        }
    }

    /// Trimmed text of 1..=`max` characters. One of at most [`MAX_NAME`] characters is a name
    /// or a title: one line, without line breaks or tabs (they broke lists, the map's labels
    /// and the order of names).
    pub fn text(&mut self, field: &str, value: &str, max: usize) -> Option<String> {
        let value = trimmed(value);
        if !self.one_line(field, value, max) {
            return None;
        }
        // Nothing to read: empty, or only invisible characters (a zero-width space, a soft
        // hyphen) that would show as a blank title, or marks with no letter to sit on.
        if value
            .chars()
            .all(|c| invisible(c) || unicode_normalization::char::is_combining_mark(c))
        {
            self.add(field, UserErrorCode::Required, "must not be empty");
            None
        } else {
            self.long_text(field, value, max)
        }
    }

    /// Trimmed text of at most `max` characters, with no control characters but line breaks
    /// and tabs (a bell or an escape in a title would go out to every feed and page) and no
    /// text-direction controls (see [`refused_char`]); may be empty. Kept composed (Unicode
    /// NFC): an "å" typed as "a" and a combining ring (as some keyboards send it) is stored
    /// as the one letter, so text filters, sorting and the reports find and order it as such.
    pub fn long_text(&mut self, field: &str, value: &str, max: usize) -> Option<String> {
        let value = composed(trimmed(value));
        let n = value.chars().count();
        if value.chars().any(|c| refused_char(c, true)) {
            self.add(field, UserErrorCode::Invalid, REFUSED_CHARS);
            None
        } else if n > max {
            self.add(
                field,
                UserErrorCode::TooLong,
                format!("may be at most {max} characters, got {n}"),
            );
            None
        } else {
            Some(value)
        }
    }

    /// Optional text: empty becomes null. One of at most [`MAX_NAME`] characters is one line,
    /// as in [`Check::text`].
    pub fn opt_text(&mut self, field: &str, value: Option<&str>, max: usize) -> Option<Option<String>> {
        match value.map(trimmed) {
            None | Some("") => Some(None),
            Some(v) if !self.one_line(field, v, max) => None,
            Some(v) => self.long_text(field, v, max).map(Some),
        }
    }

    /// Whether `value`, a text of at most `max` characters, may be stored as such: a name or a
    /// title (at most [`MAX_NAME`]) is one line, without line breaks or tabs, which broke
    /// lists, the map's labels and the order of names. Records the user error when not.
    fn one_line(&mut self, field: &str, value: &str, max: usize) -> bool {
        if max <= MAX_NAME && value.chars().any(|c| refused_char(c, false)) {
            self.add(
                field,
                UserErrorCode::Invalid,
                "must be one line: no line breaks or tabs (nor control characters)",
            );
            return false;
        }
        true
    }

    /// A value an update may leave out: `Some(None)` when it is left out, `Some(Some(v))` when
    /// it is given and `parse` accepts it, `None` when `parse` refused it (and said why).
    pub fn given<V, T>(
        &mut self,
        value: Option<V>,
        parse: impl FnOnce(&mut Self, V) -> Option<T>,
    ) -> Option<Option<T>> {
        match value {
            None => Some(None),
            Some(v) => parse(self, v).map(Some),
        }
    }

    /// A value an update may leave out but not clear (its column always holds one): like
    /// [`Check::given`], and `null` is refused (`REQUIRED`), where it would otherwise leave the
    /// value as it is without a word.
    pub fn update<V, T>(
        &mut self,
        field: &str,
        value: MaybeUndefined<V>,
        parse: impl FnOnce(&mut Self, V) -> Option<T>,
    ) -> Option<Option<T>> {
        match value {
            MaybeUndefined::Undefined => Some(None),
            MaybeUndefined::Null => {
                self.add(field, UserErrorCode::Required, NOT_NULL);
                None
            }
            MaybeUndefined::Value(v) => parse(self, v).map(Some),
        }
    }

    /// [`Check::update`] of a text checked as [`Check::text`].
    pub fn update_text(
        &mut self,
        field: &str,
        value: MaybeUndefined<&str>,
        max: usize,
    ) -> Option<Option<String>> {
        self.update(field, value, |c, t| c.text(field, t, max))
    }

    /// [`Check::update`] of a text checked as [`Check::long_text`].
    pub fn update_long_text(
        &mut self,
        field: &str,
        value: MaybeUndefined<&str>,
        max: usize,
    ) -> Option<Option<String>> {
        self.update(field, value, |c, t| c.long_text(field, t, max))
    }

    /// [`Check::update`] of a set of IDs checked as [`Check::ids`].
    pub fn update_ids(
        &mut self,
        field: &str,
        value: MaybeUndefined<&[ID]>,
        type_name: impl TypeName,
    ) -> Option<Option<Vec<Uuid>>> {
        self.update(field, value, |c, ids| c.ids(field, ids, type_name))
    }

    /// [`Check::update`]'s refusal of `null` for the fields that need no other check (an enum,
    /// a flag): `(field, value.is_null())` each; their values are then read with `value()`.
    pub fn not_null(&mut self, fields: &[(&str, bool)]) {
        for (field, _) in fields.iter().filter(|(_, null)| *null) {
            self.add(field, UserErrorCode::Required, NOT_NULL);
        }
    }

    /// A plan's period: two years (`periodFrom`, `periodTo`), the second not before the first.
    pub fn period(&mut self, from: i32, to: i32) -> Option<(i32, i32)> {
        let (from, to) = (self.year("periodFrom", from), self.year("periodTo", to));
        if let (Some(f), Some(t)) = (from, to)
            && t < f
        {
            self.add(
                "periodTo",
                UserErrorCode::OutOfRange,
                format!("must not be before {f}"),
            );
            return None;
        }
        Some((from?, to?))
    }

    /// A slug: lowercase letters a–z, digits and single hyphens, 2–80 characters.
    pub fn slug(&mut self, field: &str, value: &str) -> Option<String> {
        let ok = (2..=80).contains(&value.len())
            && value
                .split('-')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
        if ok {
            Some(value.to_owned())
        } else {
            self.add(
                field,
                UserErrorCode::Invalid,
                "must be 2–80 characters of a–z, 0–9 and single hyphens, e.g. `vester-hjermitslev`",
            );
            None
        }
    }

    pub fn int(&mut self, field: &str, value: i32, min: i32, max: i32) -> Option<i32> {
        if (min..=max).contains(&value) {
            Some(value)
        } else {
            self.add(
                field,
                UserErrorCode::OutOfRange,
                format!("must be between {min} and {max}, got {value}"),
            );
            None
        }
    }

    pub fn opt_int(&mut self, field: &str, value: Option<i32>, min: i32, max: i32) -> Option<Option<i32>> {
        match value {
            None => Some(None),
            Some(v) => self.int(field, v, min, max).map(Some),
        }
    }

    /// An amount of Danish kroner: 0 to [`MAX_AMOUNT_DKK`] (sums of many stay far from
    /// overflowing a 64-bit integer).
    pub fn amount(&mut self, field: &str, value: Option<i64>) -> Option<Option<i64>> {
        match value {
            Some(v) if v < 0 => {
                self.add(
                    field,
                    UserErrorCode::OutOfRange,
                    format!("must not be negative, got {v}"),
                );
                None
            }
            Some(v) if v > MAX_AMOUNT_DKK => {
                self.add(
                    field,
                    UserErrorCode::OutOfRange,
                    format!("may be at most {MAX_AMOUNT_DKK} kr., got {v}"),
                );
                None
            }
            _ => Some(value),
        }
    }

    pub fn year(&mut self, field: &str, value: i32) -> Option<i32> {
        self.int(field, value, crate::common::FIRST_YEAR, crate::common::LAST_YEAR)
    }

    pub fn latitude(&mut self, field: &str, value: Option<f64>) -> Option<Option<f64>> {
        self.coordinate(field, value, 90.0)
    }

    pub fn longitude(&mut self, field: &str, value: Option<f64>) -> Option<Option<f64>> {
        self.coordinate(field, value, 180.0)
    }

    fn coordinate(&mut self, field: &str, value: Option<f64>, bound: f64) -> Option<Option<f64>> {
        match value {
            Some(v) if !v.is_finite() || v.abs() > bound => {
                self.add(
                    field,
                    UserErrorCode::OutOfRange,
                    format!("must be between -{bound} and {bound}, got {}", shown_number(v)),
                );
                None
            }
            // -0 as 0: both databases then store and answer the same (SQLite answered 0,
            // PostgreSQL -0).
            _ => Some(value.map(|v| v + 0.0)),
        }
    }

    /// An address mail can be sent to: a domain with a top-level part (`a@b` is refused), no
    /// IP-address literal, no display name (`Karen <k@x.dk>`).
    pub fn email(&mut self, field: &str, value: &str) -> Option<String> {
        let email = email_address(value);
        if email.is_none() {
            self.add(field, UserErrorCode::Invalid, "is not an email address");
        }
        email
    }

    pub fn opt_email(&mut self, field: &str, value: Option<&str>) -> Option<Option<String>> {
        match value.map(str::trim) {
            None | Some("") => Some(None),
            Some(v) => self.email(field, v).map(Some),
        }
    }

    /// The global ID of a `type_name`.
    pub fn id(&mut self, field: &str, value: &ID, type_name: impl TypeName) -> Option<Uuid> {
        match relay::decode_as(value, type_name) {
            Ok(id) => Some(id),
            Err(e) => {
                self.add(field, UserErrorCode::Invalid, e.message());
                None
            }
        }
    }

    pub fn opt_id(
        &mut self,
        field: &str,
        value: Option<&ID>,
        type_name: impl TypeName,
    ) -> Option<Option<Uuid>> {
        match value {
            None => Some(None),
            Some(v) => self.id(field, v, type_name).map(Some),
        }
    }

    /// Global IDs of one type without repeats, at most 100 different ones (an ID given
    /// twice counts once).
    pub fn ids(&mut self, field: &str, values: &[ID], type_name: impl TypeName) -> Option<Vec<Uuid>> {
        self.ids_at(field, values, type_name)
            .map(|ids| ids.into_iter().map(|(_, id)| id).collect())
    }

    /// As [`Check::ids`], each with the position it was first given at (for errors that
    /// name it).
    pub fn ids_at(
        &mut self,
        field: &str,
        values: &[ID],
        type_name: impl TypeName,
    ) -> Option<Vec<(usize, Uuid)>> {
        let mut out: Vec<(usize, Uuid)> = Vec::with_capacity(values.len().min(crate::common::MAX_ID_FILTER));
        let mut ok = true;
        for (i, v) in values.iter().enumerate() {
            match self.id(&format!("{field}.{i}"), v, type_name) {
                Some(id) if !out.iter().any(|(_, o)| *o == id) => {
                    if out.len() == crate::common::MAX_ID_FILTER {
                        self.add(
                            field,
                            UserErrorCode::TooLong,
                            format!("may hold at most {} IDs", crate::common::MAX_ID_FILTER),
                        );
                        return None;
                    }
                    out.push((i, id));
                }
                Some(_) => {}
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// `to` not before `from`, when both are given; the error is on `to_field`.
    pub fn dates_in_order(&mut self, to_field: &str, from: Option<NaiveDate>, to: Option<NaiveDate>) {
        if let (Some(f), Some(t)) = (from, to)
            && t < f
        {
            self.add(
                to_field,
                UserErrorCode::OutOfRange,
                format!("must not be before {f}"),
            );
        }
    }

    /// A date within the years the programme can hold.
    pub fn date(&mut self, field: &str, value: NaiveDate) -> Option<NaiveDate> {
        use chrono::Datelike;
        if crate::common::YEARS.contains(&value.year()) {
            Some(value)
        } else {
            self.add(
                field,
                UserErrorCode::OutOfRange,
                format!(
                    "must be between the years {} and {}",
                    crate::common::FIRST_YEAR,
                    crate::common::LAST_YEAR
                ),
            );
            None
        }
    }

    pub fn opt_date(&mut self, field: &str, value: Option<NaiveDate>) -> Option<Option<NaiveDate>> {
        match value {
            None => Some(None),
            Some(v) => self.date(field, v).map(Some),
        }
    }

    /// A date of something that has happened: not after today (in Danish time).
    pub fn past_date(&mut self, field: &str, value: NaiveDate) -> Option<NaiveDate> {
        if value > crate::common::today() {
            self.add(
                field,
                UserErrorCode::OutOfRange,
                format!("must not be in the future, got {value}"),
            );
            return None;
        }
        self.date(field, value)
    }

    pub fn opt_past_date(&mut self, field: &str, value: Option<NaiveDate>) -> Option<Option<NaiveDate>> {
        match value {
            None => Some(None),
            Some(v) => self.past_date(field, v).map(Some),
        }
    }
}

/// What the audit log records a mutation did.
#[derive(Debug, Clone, Copy)]
pub enum Operation {
    Create,
    Update,
    Delete,
    /// Data read out for a person who asked for it (nothing changed).
    Export,
}

impl Operation {
    pub const ALL: [Operation; 4] = [
        Operation::Create,
        Operation::Update,
        Operation::Delete,
        Operation::Export,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "CREATE",
            Operation::Update => "UPDATE",
            Operation::Delete => "DELETE",
            Operation::Export => "EXPORT",
        }
    }
}

/// One mutation's transaction. Dropped without [`Write::commit`] (an early `?`), it rolls
/// back: a mutation that fails halfway leaves nothing behind, its audit record included.
pub struct Write {
    txn: DatabaseTransaction,
    pub viewer: Viewer,
    /// Emptied when the write commits, so no one is served what it changed.
    cache: Option<crate::cache::ResponseCache>,
    /// Woken when the write commits, so this instance's subscribers hear of it at once.
    feed: Option<crate::changes::Feed>,
    /// The request's loaders, emptied when the write commits: the payload, and the mutations
    /// after this one in the same document, read the rows as the write left them.
    loaders: Option<crate::loader::Loaders>,
    /// The rows written, for the change feed's events (recorded when the write commits).
    touched: std::sync::Mutex<Vec<crate::changes::Touched>>,
    /// The audit record of each row written so far, with its changes: a later change of the
    /// same row (its links after its fields, say) joins that record.
    audited: std::sync::Mutex<std::collections::HashMap<(&'static str, Uuid), Audited>>,
}

/// A row's audit record in the running mutation.
struct Audited {
    id: Uuid,
    changes: serde_json::Map<String, serde_json::Value>,
}

impl Write {
    /// Begins the transaction of a mutation the guard `require` already let through.
    pub async fn begin(ctx: &Context<'_>) -> Result<Write, ApiError> {
        let db = ctx.data_unchecked::<DatabaseConnection>();
        let viewer = crate::auth::viewer(ctx).into_owned();
        let cache = ctx.data_opt::<crate::cache::ResponseCache>().cloned();
        Ok(Write {
            txn: crate::db::begin_write(db).await?,
            viewer,
            cache,
            feed: ctx.data_opt::<crate::changes::Feed>().cloned(),
            // A mutation's fields run one after another: none waits on the loaders when it
            // commits (a query's fields run together, so a query that writes keeps them).
            loaders: (ctx.query_env.operation.node.ty
                == async_graphql::parser::types::OperationType::Mutation)
                .then(|| {
                    ctx.data_opt::<crate::loader::RequestLoaders>()
                        .map(|l| (**l).clone())
                })
                .flatten(),
            touched: Default::default(),
            audited: Default::default(),
        })
    }

    /// Begins a transaction outside a request (the command line), acting as `viewer`.
    pub async fn begin_as(db: &DatabaseConnection, viewer: Viewer) -> Result<Write, ApiError> {
        Ok(Write {
            txn: crate::db::begin_write(db).await?,
            viewer,
            cache: None,
            feed: None,
            loaders: None,
            touched: Default::default(),
            audited: Default::default(),
        })
    }

    pub fn txn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    pub async fn commit(self) -> Result<(), ApiError> {
        // The change feed's events, numbered last, under a lock held until the commit.
        let touched = std::mem::take(&mut *self.touched.lock().unwrap_or_else(|e| e.into_inner()));
        crate::changes::record(&self.txn, &touched).await?;
        // Delivered to the other instances when (and only if) the commit succeeds.
        crate::broadcast::announce(&self.txn).await?;
        self.txn.commit().await?;
        if let Some(cache) = &self.cache {
            cache.clear();
        }
        if let Some(loaders) = &self.loaders {
            loaders.forget();
        }
        if let Some(feed) = &self.feed {
            feed.wake();
        }
        Ok(())
    }

    /// Tells the change feed that the rows `ids` of `t` read differently although they were
    /// not written (an action's `originExchange`, when an exchange links it or lets it go).
    pub fn touch(&self, t: crate::relay::NodeType, ids: &[Uuid]) {
        let mut touched = self.touched.lock().unwrap_or_else(|e| e.into_inner());
        touched.extend(ids.iter().map(|&id| crate::changes::Touched {
            entity: t,
            id,
            operation: crate::changes::ChangeOperation::Update,
            audit_id: None,
            linked: true,
        }));
    }

    /// FORBIDDEN unless the viewer may edit `community`'s content.
    pub fn require_community(&self, community: Uuid) -> Result<(), ApiError> {
        if self.viewer.may_edit_community(community) {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "you may only change the content of your own communities",
            ))
        }
    }

    /// Records in the audit log what changed: for a create every field after, for a delete
    /// every field before, for an update the fields that differ. A mutation leaves one record
    /// (and one change event) per row: an update of a row it has already recorded (its themes
    /// after its fields, the links of a row it created) joins that record.
    pub async fn audit<M: Serialize>(
        &self,
        entity: impl TypeName,
        id: Uuid,
        operation: Operation,
        before: Option<&M>,
        after: Option<&M>,
    ) -> Result<(), ApiError> {
        self.audit_changes(entity, id, operation, diff(before, after))
            .await
    }

    /// [`Write::audit`] of changes already worked out.
    async fn audit_changes(
        &self,
        entity: impl TypeName,
        id: Uuid,
        operation: Operation,
        changes: serde_json::Value,
    ) -> Result<(), ApiError> {
        if matches!(operation, Operation::Update) && self.join_record(entity, id, &changes).await? {
            if let Some(entity) = entity.node_type() {
                crate::search::index::on_write(&self.txn, entity, id, false).await?;
            }
            return Ok(());
        }
        let (kind, actor) = match (self.viewer.account_id, self.viewer.api_key_id) {
            (_, Some(key)) => (ActorKind::ApiKey, Some(key)),
            (None, None) if self.viewer.is_system() => (ActorKind::System, None),
            (account, None) => (ActorKind::Account, account),
        };
        let audit_id = Uuid::now_v7();
        audit_log::ActiveModel {
            id: sea_orm::Set(audit_id),
            occurred_at: sea_orm::Set(crate::common::now()),
            actor_kind: sea_orm::Set(kind),
            actor_id: sea_orm::Set(actor),
            actor_label: sea_orm::Set(self.viewer.label.clone()),
            operation: sea_orm::Set(operation.as_str().to_owned()),
            entity: sea_orm::Set(entity.name().to_owned()),
            entity_id: sea_orm::Set(id),
            changes: sea_orm::Set(changes.to_string()),
        }
        .insert(&self.txn)
        .await?;
        // An update may join a row's record of this mutation; a delete's is final.
        if matches!(operation, Operation::Create | Operation::Update) {
            self.audited.lock().unwrap_or_else(|e| e.into_inner()).insert(
                (entity.name(), id),
                Audited {
                    id: audit_id,
                    changes: match changes {
                        serde_json::Value::Object(map) => map,
                        _ => serde_json::Map::new(),
                    },
                },
            );
        }
        // The change feed tells of every write of a row with a global ID.
        let change = match operation {
            Operation::Create => Some(crate::changes::ChangeOperation::Create),
            Operation::Update => Some(crate::changes::ChangeOperation::Update),
            Operation::Delete => Some(crate::changes::ChangeOperation::Delete),
            Operation::Export => None,
        };
        if let (Some(operation), Some(entity)) = (change, entity.node_type()) {
            self.touched
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(crate::changes::Touched {
                    entity,
                    id,
                    operation,
                    audit_id: Some(audit_id),
                    linked: false,
                });
        }
        // The search index follows every write of a row, in the same transaction.
        if let (false, Some(entity)) = (matches!(operation, Operation::Export), entity.node_type()) {
            crate::search::index::on_write(&self.txn, entity, id, matches!(operation, Operation::Delete))
                .await?;
        }
        Ok(())
    }

    /// Adds `changes` to the audit record this mutation already has for the row, if it has
    /// one: a field changed twice keeps its first `before` and takes the last `after`.
    async fn join_record(
        &self,
        entity: impl TypeName,
        id: Uuid,
        changes: &serde_json::Value,
    ) -> Result<bool, ApiError> {
        let (record, joined) = {
            let mut audited = self.audited.lock().unwrap_or_else(|e| e.into_inner());
            let Some(record) = audited.get_mut(&(entity.name(), id)) else {
                return Ok(false);
            };
            for (field, change) in changes.as_object().into_iter().flatten() {
                match record.changes.get_mut(field) {
                    Some(earlier) => {
                        earlier["after"] = change["after"].clone();
                        // Changed and changed back within the mutation: no change.
                        if earlier["after"] == earlier["before"] {
                            record.changes.remove(field);
                        }
                    }
                    None => {
                        record.changes.insert(field.clone(), change.clone());
                    }
                }
            }
            (
                record.id,
                serde_json::Value::Object(record.changes.clone()).to_string(),
            )
        };
        audit_log::Entity::update_many()
            .col_expr(audit_log::Column::Changes, Expr::value(joined))
            .filter(audit_log::Column::Id.eq(record))
            .exec(&self.txn)
            .await?;
        Ok(true)
    }

    /// Inserts a new row and records it.
    pub async fn create<A>(
        &self,
        entity: impl TypeName,
        row: A,
    ) -> Result<<A::Entity as EntityTrait>::Model, Failure>
    where
        A: ActiveModelTrait + sea_orm::ActiveModelBehavior + Send,
        <A::Entity as EntityTrait>::Model: IntoActiveModel<A> + Serialize + HasId,
    {
        let model = row.insert(&self.txn).await.map_err(constraint)?;
        self.audit(entity, model.row_id(), Operation::Create, None, Some(&model))
            .await?;
        Ok(model)
    }

    /// Applies the changes in `row` to the row `before` if its version is still `version`,
    /// bumps the version, and records what changed. A change that changes nothing (every
    /// field set to the value it has) writes nothing: the row keeps its version and
    /// `updatedAt`, and no audit record, change event or webhook delivery tells of it.
    pub async fn update<E: Versioned>(
        &self,
        entity: impl TypeName,
        before: &E::Model,
        version: i32,
        row: E::ActiveModel,
    ) -> Result<E::Model, Failure> {
        self.update_linked::<E>(entity, before, version, row, false).await
    }

    /// [`Write::update`] for a change that has also rewritten the row's links (its themes,
    /// say; `links_changed`), which the caller records: then the version moves even when no
    /// column changes, so the version a client holds covers the links too.
    pub async fn update_linked<E: Versioned>(
        &self,
        entity: impl TypeName,
        before: &E::Model,
        version: i32,
        row: E::ActiveModel,
        links_changed: bool,
    ) -> Result<E::Model, Failure> {
        let after = self
            .update_row::<E>(entity.name(), before, version, row, links_changed)
            .await?;
        if after.get(E::VERSION) != before.get(E::VERSION) {
            let mut changes = diff(Some(before), Some(&after));
            redacted_changes::<E>(&mut changes, before, &after);
            self.audit_changes(entity, before.row_id(), Operation::Update, changes)
                .await?;
        }
        Ok(after)
    }

    /// `select` locking the rows it reads until the mutation ends: `FOR UPDATE` on PostgreSQL,
    /// whose transactions see what others committed meanwhile; nothing on SQLite, whose write
    /// transactions run one at a time (`BEGIN IMMEDIATE`) and which has no `FOR UPDATE`.
    pub fn locking<Q: sea_orm::QuerySelect>(&self, select: Q) -> Q {
        if self.txn.get_database_backend() == sea_orm::DbBackend::Postgres {
            select.lock_exclusive()
        } else {
            select
        }
    }

    /// `select` holding the rows it reads against change until the mutation ends, while other
    /// mutations may hold them alike: `FOR SHARE` on PostgreSQL (a [`Write::locking`] read
    /// waits for it), nothing on SQLite (see there).
    pub fn sharing<Q: sea_orm::QuerySelect>(&self, select: Q) -> Q {
        if self.txn.get_database_backend() == sea_orm::DbBackend::Postgres {
            select.lock_shared()
        } else {
            select
        }
    }

    /// Holds the row `id` until the mutation ends if it is still at `version` (CONFLICT if
    /// not), for a change that rewrites the row's links before the row itself: a concurrent
    /// change of the same row waits here, then finds the version moved, instead of colliding
    /// with this one's links. (SQLite's write transactions already run one at a time.)
    pub async fn hold_at<E: Versioned>(&self, entity: &str, id: Uuid, version: i32) -> Result<(), Failure> {
        let find = self.locking(E::find().filter(at_version::<E>(id, version)));
        match find.one(&self.txn).await? {
            Some(_) => Ok(()),
            None => Err(self.stale_or_gone::<E>(entity, id, version).await),
        }
    }

    /// Applies `row` to the row `before` if its version is still `version` and bumps the
    /// version, like [`Write::update_linked`] but leaving the audit record to the caller (who
    /// adds what else changed with it, such as links). When neither a column nor (by the
    /// caller's word) a link changes, nothing is written and `before` comes back as it is:
    /// the caller sees the version unmoved and records nothing.
    pub async fn update_row<E: Versioned>(
        &self,
        entity: &str,
        before: &E::Model,
        version: i32,
        mut row: E::ActiveModel,
        links_changed: bool,
    ) -> Result<E::Model, Failure> {
        if !links_changed && !changes_a_column::<E>(before, &row) {
            return if before.get(E::VERSION) == sea_orm::Value::from(version) {
                Ok(before.clone())
            } else {
                Err(stale(entity, version).into())
            };
        }
        let id = before.row_id();
        row.set(E::UPDATED_AT, crate::common::now().into());
        let result = E::update_many()
            .set(row)
            .col_expr(E::VERSION, Expr::col(E::VERSION).add(1))
            .filter(at_version::<E>(id, version))
            .exec(&self.txn)
            .await
            .map_err(constraint)?;
        if result.rows_affected == 0 {
            return Err(self.stale_or_gone::<E>(entity, id, version).await);
        }
        Ok(E::find_by_id(id)
            .one(&self.txn)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("the {entity} no longer exists")))?)
    }

    /// Deletes the row `before` if its version is still `version`. Rows that belong to it go
    /// with it (the foreign keys cascade); rows that only refer to it make the delete a user
    /// error.
    pub async fn delete<E: Versioned>(
        &self,
        entity: impl TypeName,
        before: &E::Model,
        version: i32,
    ) -> Result<(), Failure> {
        let id = before.row_id();
        let owned = match entity.node_type() {
            Some(parent) => owned_rows(&self.txn, parent, id).await?,
            None => Vec::new(),
        };
        self.delete_row::<E>(entity.name(), id, version).await?;
        self.audit(entity, id, Operation::Delete, Some(before), None)
            .await?;
        // What went with it is gone as surely as it: each row that had a CREATE record of its
        // own gets a DELETE record of its own.
        for (ty, id, row) in &owned {
            self.audit(*ty, *id, Operation::Delete, Some(row), None).await?;
        }
        Ok(())
    }

    /// Deletes the row `id` if its version is still `version`, like [`Write::delete`] but
    /// leaving the audit record to the caller.
    pub async fn delete_row<E: Versioned>(
        &self,
        entity: &str,
        id: Uuid,
        version: i32,
    ) -> Result<(), Failure> {
        let result = E::delete_many()
            .filter(at_version::<E>(id, version))
            .exec(&self.txn)
            .await
            .map_err(constraint_on_delete)?;
        if result.rows_affected == 0 {
            return Err(self.stale_or_gone::<E>(entity, id, version).await);
        }
        Ok(())
    }

    /// Why the row `id` was not at `version` when written: gone (deleted by a change that
    /// committed after this one read it: NOT_FOUND, as for a row that never was, since
    /// reloading it cannot help), or changed (CONFLICT).
    async fn stale_or_gone<E: Versioned>(&self, entity: &str, id: Uuid, version: i32) -> Failure {
        match E::find_by_id(id).one(&self.txn).await {
            Ok(Some(_)) => stale(entity, version).into(),
            Ok(None) => ApiError::not_found(format!("no {} with this ID", in_words(entity))).into(),
            Err(e) => e.into(),
        }
    }

    /// The row `id` of `E`, or NOT_FOUND: also when the caller may not see it, with the same
    /// message, so a write tells no one whether a row they cannot see exists.
    pub async fn find<E>(&self, entity: &str, id: Uuid) -> Result<E::Model, ApiError>
    where
        E: Guarded,
        E::PrimaryKey: PrimaryKeyTrait<ValueType = Uuid>,
    {
        self.visible::<E>(id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no {entity} with this ID")))
    }

    /// The row `id` of `E` if it exists and the caller may see it.
    pub async fn visible<E>(&self, id: Uuid) -> Result<Option<E::Model>, DbErr>
    where
        E: Guarded,
        E::PrimaryKey: PrimaryKeyTrait<ValueType = Uuid>,
    {
        let key = E::PrimaryKey::iter()
            .next()
            .ok_or_else(|| DbErr::Custom("an entity without a primary key".into()))?
            .into_column();
        E::visible(&self.viewer.access())
            .filter(key.eq(id))
            .one(&self.txn)
            .await
    }

    /// A user error on `field` unless the row `id` of `E` exists and the caller may see it
    /// (`what` names it: "no plan with this ID").
    pub async fn check_exists<E>(
        &self,
        check: &mut Check,
        field: &str,
        id: Uuid,
        what: &str,
    ) -> Result<(), ApiError>
    where
        E: Guarded,
        E::PrimaryKey: PrimaryKeyTrait<ValueType = Uuid>,
    {
        if self.visible::<E>(id).await?.is_none() {
            check.add(field, UserErrorCode::NotFound, format!("no {what} with this ID"));
        }
        Ok(())
    }

    /// Whether a row `id` of `node_type` exists; a user error on `field` when it does not.
    pub async fn exists(
        &self,
        field: &str,
        node_type: NodeType,
        id: Uuid,
        what: &str,
    ) -> Result<(), Failure> {
        if count(&self.txn, node_type.id_column(), id).await? == 0 {
            return Err(
                Refused::one(field, UserErrorCode::NotFound, format!("no {what} with this ID")).into(),
            );
        }
        Ok(())
    }

    /// A user error when rows of `references` still refer to `id`.
    pub async fn refuse_if_used(&self, id: Uuid, references: &[Reference]) -> Result<(), Failure> {
        let mut used = Vec::new();
        for r in references {
            let n = count(&self.txn, (r.column)(), id).await?;
            if n > 0 {
                used.push(format!("{} ({n})", r.what));
            }
        }
        if used.is_empty() {
            Ok(())
        } else {
            Err(Refused::one(
                "id",
                UserErrorCode::InUse,
                format!(
                    "still referenced by {}; remove or move those first",
                    used.join(", ")
                ),
            )
            .into())
        }
    }
}

/// Whether `row` sets a column of `before` to another value.
fn changes_a_column<E: EntityTrait>(before: &E::Model, row: &E::ActiveModel) -> bool {
    E::Column::iter().any(|column| match row.get(column) {
        ActiveValue::Set(value) | ActiveValue::Unchanged(value) => value != before.get(column),
        ActiveValue::NotSet => false,
    })
}

/// `value` without the white space and the invisible characters that stand around a text
/// pasted from elsewhere (a zero-width space, a word joiner, a soft hyphen, a byte order
/// mark): "Hune by\u{200b}" is "Hune by". Joiners and direction marks stay: at the end of a
/// word they still shape how it shows.
pub fn trimmed(value: &str) -> &str {
    value.trim_matches(|c: char| {
        c.is_whitespace() || matches!(c, '\u{00AD}' | '\u{180E}' | '\u{200B}' | '\u{2060}' | '\u{FEFF}')
    })
}

/// White space, or a character that takes no room: zero-width spaces and joiners, direction
/// marks, the word joiner and its kin, the byte order mark, a soft hyphen.
fn invisible(c: char) -> bool {
    c.is_whitespace()
        || matches!(c, '\u{00AD}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
}

/// The row `id` of `E` while it is still at `version`.
fn at_version<E: Versioned>(id: Uuid, version: i32) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(E::ID.eq(id))
        .add(E::VERSION.eq(version))
}

/// The row is not at the version the change is based on: changed since, or a version it
/// never had.
fn stale(entity: &str, version: i32) -> ApiError {
    let entity = in_words(entity);
    ApiError::Conflict(format!(
        "the {entity} is not at version {version}; reload it and try again with its current version"
    ))
}

/// A type's name as a message says it: `IdeaExchange` as `idea exchange` (words already
/// written so stay as they are).
fn in_words(name: &str) -> String {
    let mut words = String::with_capacity(name.len() + 4);
    for (i, c) in name.char_indices() {
        if c.is_uppercase() {
            if i > 0 {
                words.push(' ');
            }
            words.extend(c.to_lowercase());
        } else {
            words.push(c);
        }
    }
    words
}

/// A column whose rows refer to a row, and what a refusal to delete that row calls them
/// ([`Write::refuse_if_used`]): `reference!(action::PlanId, "actions")` names the column
/// `entity::action::Column::PlanId`.
pub struct Reference {
    pub column: fn() -> (DynIden, DynIden),
    pub what: &'static str,
}

macro_rules! reference {
    ($table:ident :: $column:ident, $what:literal) => {
        $crate::write::Reference {
            column: || sea_orm::ColumnTrait::as_column_ref(&entity::$table::Column::$column),
            what: $what,
        }
    };
}
pub(crate) use reference;

/// Rows of the table whose `column` (table and column) is `id`.
pub async fn count(
    db: &impl ConnectionTrait,
    (table, column): (DynIden, DynIden),
    id: Uuid,
) -> Result<i64, DbErr> {
    let stmt = Query::select()
        .expr(Func::count(Expr::col(Asterisk)))
        .from(table.clone())
        .and_where(Expr::col((table, column)).eq(id))
        .to_owned();
    let row = db.query_one(&stmt).await?;
    Ok(match row {
        Some(r) => r.try_get_by_index::<i64>(0)?,
        None => 0,
    })
}

/// A user error TAKEN on `slug` when another row of the table of `slug_column` (other than
/// `except`) has it. Shared by the tables with unique slugs (communities, themes,
/// departments, organisations).
pub async fn slug_free<C>(
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

/// The slug, name and description of a new theme, department, organisation or community.
pub fn named(check: &mut Check, slug: &str, name: &str, description: &str) -> Option<Named> {
    let slug = check.slug("slug", slug);
    let name = check.text("name", name, MAX_NAME);
    let description = check.long_text("description", description, MAX_TEXT);
    Some((slug?, name?, description?))
}

/// The same in an update: each `None` when left out.
pub fn renamed(
    check: &mut Check,
    slug: MaybeUndefined<&str>,
    name: MaybeUndefined<&str>,
    description: MaybeUndefined<&str>,
) -> Option<Renamed> {
    let slug = check.update("slug", slug, |c, s| c.slug("slug", s));
    let name = check.update_text("name", name, MAX_NAME);
    let description = check.update_long_text("description", description, MAX_TEXT);
    Some((slug?, name?, description?))
}

/// A slug, a name and a description.
pub type Named = (String, String, String);
/// A new slug, name and description, each `None` when left out.
pub type Renamed = (Option<String>, Option<String>, Option<String>);

/// A table of entries that are a slug, a name and a description (departments, themes): staff
/// create, change and delete them through [`create_named`], [`update_named`] and
/// [`delete_named`]. The slug is unique; an entry that `REFERENCES` name cannot be deleted.
pub trait Catalogue: Versioned + Guarded {
    const TYPE: NodeType;
    /// What an entry is called in messages ("department").
    const WHAT: &'static str;
    const SLUG: Self::Column;
    const REFERENCES: &'static [Reference];
    /// A new entry's row.
    fn new_row(named: Named, now: DateTime<Utc>) -> Self::ActiveModel;
    /// The changes to an entry (nothing for what is left out).
    fn changes(renamed: Renamed) -> Self::ActiveModel;
}

/// The rows of a [`Catalogue`] whose entity module is `$m` (its columns `slug`, `name`,
/// `description`, and the bookkeeping ones): `new_row` and `changes`.
macro_rules! catalogue_rows {
    ($m:ident) => {
        fn new_row(
            (slug, name, description): $crate::write::Named,
            now: chrono::DateTime<chrono::Utc>,
        ) -> $m::ActiveModel {
            $m::ActiveModel {
                id: sea_orm::Set(uuid::Uuid::now_v7()),
                slug: sea_orm::Set(slug),
                name: sea_orm::Set(name),
                description: sea_orm::Set(description),
                ..$crate::write::new_row(now)
            }
        }

        fn changes((slug, name, description): $crate::write::Renamed) -> $m::ActiveModel {
            $m::ActiveModel {
                slug: $crate::write::set_if(slug),
                name: $crate::write::set_if(name),
                description: $crate::write::set_if(description),
                ..Default::default()
            }
        }
    };
}
pub(crate) use catalogue_rows;

pub async fn create_named<E>(w: &Write, named: Named) -> Result<E::Model, Failure>
where
    E: Catalogue,
    <E::Column as ColumnTrait>::EntityName: EntityTrait,
    E::ActiveModel: sea_orm::ActiveModelBehavior + Send,
    E::Model: IntoActiveModel<E::ActiveModel> + Serialize + HasId,
{
    slug_free(w, E::SLUG, &named.0, None, E::WHAT).await?;
    w.create(E::TYPE, E::new_row(named, crate::common::now())).await
}

pub async fn update_named<E>(w: &Write, id: Uuid, version: i32, renamed: Renamed) -> Result<E::Model, Failure>
where
    E: Catalogue,
    <E::Column as ColumnTrait>::EntityName: EntityTrait,
{
    let before = w.find::<E>(E::WHAT, id).await?;
    if let Some(slug) = &renamed.0 {
        slug_free(w, E::SLUG, slug, Some(id), E::WHAT).await?;
    }
    w.update::<E>(E::TYPE, &before, version, E::changes(renamed))
        .await
}

/// Deletes the entry `id` (a global ID of `E::TYPE`) at `version`, unless `E::REFERENCES`
/// still name it: [`delete_node`] with the catalogue's own refusal.
pub async fn delete_named<E>(ctx: &Context<'_>, id: &ID, version: i32) -> async_graphql::Result<DeletePayload>
where
    E: Catalogue,
{
    delete_node::<E>(ctx, E::TYPE, E::WHAT, id, version, async |w, before| {
        w.refuse_if_used(before.row_id(), E::REFERENCES).await
    })
    .await
}

/// The one way a row with a global ID is deleted: parses `id` as a global ID of `ty` (a user
/// error on `id` when it is not one), finds the row through [`Write::find`] (NOT_FOUND, "no
/// `what` with this ID", also when the caller may not see it), runs `allowed` on it (the
/// mutation's own authorisation and refusals, in its order), then deletes it at `version`
/// with its audit record ([`Write::delete`]), all in one transaction ([`mutate`]). The payload
/// names the deleted row by its global ID.
pub async fn delete_node<E: Versioned + Guarded>(
    ctx: &Context<'_>,
    ty: impl TypeName,
    what: &str,
    id: &ID,
    version: i32,
    allowed: impl AsyncFnOnce(&Write, &E::Model) -> Result<(), Failure> + Clone,
) -> async_graphql::Result<DeletePayload> {
    mutate(
        ctx,
        |check| check.id("id", id, ty),
        async |w, id| {
            let before = w.find::<E>(what, id).await?;
            // A stale version is a CONFLICT before anything else is said of the row (that
            // something still refers to it, say): the client's copy is out of date.
            if ModelTrait::get(&before, E::VERSION) != sea_orm::Value::Int(Some(version)) {
                return Err(stale(what, version).into());
            }
            allowed(w, &before).await?;
            w.delete::<E>(ty, &before, version).await?;
            Ok(id)
        },
        |id| DeletePayload::ok(relay::encode(ty, id)),
    )
    .await
}

/// Constraint violations the checks before a write did not catch (a race with another
/// writer) become user errors rather than internal ones, on the input field the constraint
/// concerns: the same answer the check before the write gives.
pub fn constraint(e: DbErr) -> Failure {
    violated(e, false)
}

/// The same, for a delete: a foreign key that fails concerns the row being deleted.
fn constraint_on_delete(e: DbErr) -> Failure {
    violated(e, true)
}

fn violated(e: DbErr, deleting: bool) -> Failure {
    use crate::db::Violation;
    let error = |field: Option<String>, code, message: String| {
        Failure::Raced(Refused(vec![UserError {
            field: field.map(|f| path(&f)).unwrap_or_default(),
            message,
            code,
        }]))
    };
    let still_referenced = |by: &str| {
        error(
            Some("id".into()),
            UserErrorCode::InUse,
            format!("other records{by} still refer to it; remove or move those first"),
        )
    };
    match crate::db::violation(&e) {
        Some(Violation::Duplicate { table, columns }) => match columns.last() {
            Some(last) => match KEY_FIELDS
                .iter()
                .find(|k| k.0() == (table.as_str(), last.as_str()))
            {
                Some(&(_, field, message)) => error(Some(field.into()), UserErrorCode::Taken, message.into()),
                None => error(
                    Some(camel(last)),
                    UserErrorCode::Taken,
                    format!(
                        "another {} has the same {}",
                        words(&table),
                        columns.iter().map(|c| words(c)).collect::<Vec<_>>().join(" and ")
                    ),
                ),
            },
            None => error(
                None,
                UserErrorCode::Taken,
                "a value that must be unique is already in use".into(),
            ),
        },
        Some(Violation::MissingReference { columns, .. }) => match columns.last() {
            Some(last) => error(
                Some(camel(last)),
                UserErrorCode::NotFound,
                format!("the {} it refers to no longer exists", words(last)),
            ),
            None => error(
                None,
                UserErrorCode::NotFound,
                "a record it refers to no longer exists".into(),
            ),
        },
        Some(Violation::StillReferenced { referencing }) => {
            still_referenced(&format!(" ({})", words(&referencing)))
        }
        Some(Violation::Reference) if deleting => still_referenced(""),
        Some(Violation::Reference) => error(
            None,
            UserErrorCode::NotFound,
            "a record it refers to no longer exists".into(),
        ),
        None => Failure::Error(e.into()),
    }
}

/// Keys whose last column is not what the input calls the value: the column, the input field
/// and the message.
const KEY_FIELDS: &[(ColumnName, &str, &str)] = &[
    (
        table_column!(partnership::ProposedByOrganizationId),
        "actionId",
        "your organisation already has a pending proposal for this action",
    ),
    (
        table_column!(action_department::ActionId),
        "role",
        crate::action::mutation::ONE_LEAD,
    ),
    (
        table_column!(consultation_response::BodyHash),
        "body",
        "you have already sent this response to this consultation",
    ),
];

/// `department_id` → `departmentId`: the input field named like a column.
fn camel(column: &str) -> String {
    let mut out = String::with_capacity(column.len());
    let mut upper = false;
    for c in column.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// `partnership_member` → "partnership member", `department_id` → "department".
fn words(name: &str) -> String {
    name.strip_suffix("_id").unwrap_or(name).replace('_', " ")
}

/// The UUID primary key of a row, for the audit log.
pub trait HasId {
    fn row_id(&self) -> Uuid;
}

/// The rows with a global ID that belong to the row `id` of `parent` and go with it when it
/// is deleted (their foreign keys cascade), as they stand before the delete.
async fn owned_rows(
    txn: &DatabaseTransaction,
    parent: NodeType,
    id: Uuid,
) -> Result<Vec<(NodeType, Uuid, serde_json::Value)>, DbErr> {
    let mut out = Vec::new();
    // The rows of `$table` whose `$column` is `id`, as rows of the node type `$ty`.
    macro_rules! of {
        ($table:ident, $ty:ident, $column:ident) => {
            for row in entity::$table::Entity::find()
                .filter(entity::$table::Column::$column.eq(id))
                .all(txn)
                .await?
            {
                let value = serde_json::to_value(&row).map_err(|e| DbErr::Custom(e.to_string()))?;
                out.push((NodeType::$ty, row.id, value));
            }
        };
    }
    match parent {
        NodeType::Community => of!(contact, Contact, CommunityId),
        NodeType::Organization => of!(contact, Contact, OrganizationId),
        NodeType::Department => of!(contact, Contact, DepartmentId),
        NodeType::Plan => of!(plan_involvement, PlanInvolvement, PlanId),
        NodeType::Action => {
            of!(action_department, ActionDepartment, ActionId);
            of!(action_update, ActionUpdate, ActionId);
        }
        NodeType::Partnership => of!(partnership_member, PartnershipMember, PartnershipId),
        NodeType::AnnualReview => of!(annual_review_entry, AnnualReviewEntry, ReviewId),
        _ => {}
    }
    Ok(out)
}

/// A table whose rows carry an optimistic-concurrency version and their creation and last
/// update times: the columns [`Write::update`] and [`Write::delete`] compare and bump (and
/// the seed stamps on new rows), named by the entity's own column enum.
pub trait Versioned:
    EntityTrait<Model: Serialize + HasId + Sync, ActiveModel: Send, PrimaryKey: PrimaryKeyTrait<ValueType = Uuid>>
{
    const ID: Self::Column;
    const VERSION: Self::Column;
    const CREATED_AT: Self::Column;
    const UPDATED_AT: Self::Column;
}

/// A number as an error message shows the value it refused: as typed for ordinary sizes, in
/// exponent form when very large or small (`1e308`, not 309 digits).
pub fn shown_number(v: f64) -> String {
    if v != 0.0 && v.is_finite() && !(1e-6..1e15).contains(&v.abs()) {
        format!("{v:e}")
    } else {
        v.to_string()
    }
}

macro_rules! versioned {
    ($($m:ident),* $(,)?) => {
        $(impl HasId for entity::$m::Model {
            fn row_id(&self) -> Uuid {
                self.id
            }
        }

        impl crate::common::Stamped for entity::$m::Model {
            fn stamps(&self) -> crate::common::Stamps {
                crate::common::Stamps {
                    created_at: self.created_at,
                    updated_at: self.updated_at,
                    version: self.version,
                }
            }
        }

        impl Versioned for entity::$m::Entity {
            const ID: Self::Column = entity::$m::Column::Id;
            const VERSION: Self::Column = entity::$m::Column::Version;
            const CREATED_AT: Self::Column = entity::$m::Column::CreatedAt;
            const UPDATED_AT: Self::Column = entity::$m::Column::UpdatedAt;
        })*
    };
}

versioned!(
    account,
    action,
    action_department,
    action_update,
    annual_review,
    annual_review_entry,
    api_key,
    community,
    consultation_response,
    contact,
    department,
    engagement_event,
    engagement_weights,
    idea,
    idea_exchange,
    organization,
    partnership,
    partnership_member,
    plan,
    plan_involvement,
    theme,
    webhook_endpoint,
);

/// The columns every versioned table keeps for itself, named alike in each (as the plan's
/// are): an audit record's diff leaves them out.
const BOOKKEEPING: [entity::plan::Column; 4] = [
    entity::plan::Column::Id,
    entity::plan::Column::CreatedAt,
    entity::plan::Column::UpdatedAt,
    entity::plan::Column::Version,
];

/// `{"field": {"before": …, "after": …}}` for the fields that differ; timestamps and the
/// version are left out.
fn diff<M: Serialize>(before: Option<&M>, after: Option<&M>) -> serde_json::Value {
    let as_map = |m: Option<&M>| match m.map(serde_json::to_value) {
        Some(Ok(serde_json::Value::Object(map))) => map,
        _ => serde_json::Map::new(),
    };
    let (before, after) = (as_map(before), as_map(after));
    let mut out = serde_json::Map::new();
    let keys: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    for key in keys {
        if BOOKKEEPING.iter().any(|c| sea_orm::IdenStatic::as_str(c) == key) {
            continue;
        }
        let (b, a) = (before.get(key), after.get(key));
        if b != a {
            out.insert(
                key.clone(),
                serde_json::json!({ "before": b.cloned().unwrap_or_default(), "after": a.cloned().unwrap_or_default() }),
            );
        }
    }
    serde_json::Value::Object(out)
}

/// Adds to `changes` the fields whose values changed but are written alike before and after
/// (personal data, written as `[personoplysning]`): the log shows that they changed, and no
/// more.
fn redacted_changes<E: Versioned>(changes: &mut serde_json::Value, before: &E::Model, after: &E::Model) {
    use sea_orm::{Iterable, ModelTrait};
    let serde_json::Value::Object(out) = changes else {
        return;
    };
    // The columns that changed and that the diff did not show (most updates have none, and
    // then nothing is serialised again).
    let hidden: Vec<E::Column> = E::Column::iter()
        .filter(|c| {
            let key = sea_orm::IdenStatic::as_str(c);
            !out.contains_key(key)
                && !BOOKKEEPING.iter().any(|b| sea_orm::IdenStatic::as_str(b) == key)
                && before.get(*c) != after.get(*c)
        })
        .collect();
    if hidden.is_empty() {
        return;
    }
    let Ok(serde_json::Value::Object(was)) = serde_json::to_value(before) else {
        return;
    };
    for column in hidden {
        let key = sea_orm::IdenStatic::as_str(&column);
        if let Some(value) = was.get(key)
            && value.as_str() == Some(entity::json::REDACTED)
        {
            out.insert(
                key.to_owned(),
                serde_json::json!({ "before": value, "after": value }),
            );
        }
    }
}

crate::labels::enum_labels!(UserErrorCode {
    Required => "Skal udfyldes",
    Invalid => "Ugyldig værdi",
    TooLong => "For lang",
    OutOfRange => "Uden for det tilladte interval",
    Taken => "Allerede i brug",
    NotFound => "Findes ikke",
    InUse => "Bruges stadig",
    InvalidTransition => "Ikke tilladt statusskift",
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_number_is_shown_short() {
        assert_eq!(shown_number(1e308), "1e308");
        assert_eq!(shown_number(-2.5e-9), "-2.5e-9");
        assert_eq!(shown_number(1000.5), "1000.5");
    }

    #[test]
    fn a_coordinate_of_minus_zero_is_zero() {
        let mut check = Check::default();
        let v = check.latitude("latitude", Some(-0.0)).flatten().expect("valid");
        assert!(v == 0.0 && v.is_sign_positive(), "{v}");
        assert_eq!(check.longitude("longitude", Some(-9.5)).flatten(), Some(-9.5));
        assert!(check.done().is_ok());
    }

    #[test]
    fn texts_are_kept_composed() {
        let mut check = Check::default();
        assert_eq!(
            check.text("title", " A\u{30A}gade ", 10).as_deref(),
            Some("Ågade")
        );
        assert_eq!(
            check.text("title", "\u{301}", 10),
            None,
            "a mark alone is nothing to read"
        );
        // Its length is counted composed: "å" is one character of ten.
        assert!(check.long_text("body", &"a\u{30A}".repeat(10), 10).is_some());
    }
}

//! The tables of the open-data package: for each, its Table Schema (fields with Danish titles,
//! English and Danish descriptions, types, enum values and their labels, keys) and how its
//! public rows are read, a page at a time by primary key. The header of a CSV and the fields
//! of its schema come from the same list, so they cannot drift apart.
use chrono::{DateTime, NaiveDate, Utc};
use entity::{
    action, action_department, action_theme, action_update, annual_review, annual_review_entry, community,
    department, engagement_event, engagement_event_organization, idea, idea_exchange, idea_exchange_action,
    idea_exchange_participant, idea_theme, organization, partnership, partnership_member, plan,
    plan_involvement, plan_theme, theme,
};
use sea_orm::{
    ActiveEnum, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, ModelTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Select,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use crate::{
    access::{Access, PUBLIC_PLANS},
    labels::{EnumLabels, Labelled},
    links::Link,
    loader::col,
    relay::{self, NodeType},
    write::{HasId, Versioned},
};

/// Rows read from the database at a time by default (`OPENDATA_PAGE_ROWS`): memory stays flat
/// however large a table grows (a page of actions is about 2 MB of CSV). Each page's statement
/// checks what is public again (a sub-select over every action for the link and member
/// tables), so fewer, larger pages: at 30,000 actions, 5,000 rows a page took
/// `action_themes.csv` from 0.47 to 0.14 s and `partnership_members.csv` from 0.52 to 0.17 s
/// against 500.
pub const PAGE: u64 = 5_000;

/// Where a page starts (after which key; from the start when none) and how many rows it holds
/// at most.
#[derive(Clone, Copy, Debug)]
pub struct At {
    pub after: Option<Key>,
    pub rows: u64,
}

/// A Table Schema field type (the subset we use).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    String,
    Integer,
    Number,
    Boolean,
    Date,
    Datetime,
}

impl Type {
    pub fn as_str(self) -> &'static str {
        match self {
            Type::String => "string",
            Type::Integer => "integer",
            Type::Number => "number",
            Type::Boolean => "boolean",
            Type::Date => "date",
            Type::Datetime => "datetime",
        }
    }
}

/// An enum's values as the API spells them, each with its Danish label.
pub type Values = Vec<(&'static str, &'static str)>;

/// One column: its name in the CSV header, type, Danish title, English and Danish
/// descriptions, whether it is always filled, and for an enum its values with Danish labels.
pub struct Field {
    pub name: &'static str,
    pub ty: Type,
    pub title: &'static str,
    pub description: &'static str,
    pub description_da: &'static str,
    pub required: bool,
    pub values: Option<fn() -> Values>,
}

const fn field(
    name: &'static str,
    ty: Type,
    title: &'static str,
    description: &'static str,
    description_da: &'static str,
) -> Field {
    Field {
        name,
        ty,
        title,
        description,
        description_da,
        required: false,
        values: None,
    }
}

impl Field {
    const fn required(mut self) -> Field {
        self.required = true;
        self
    }

    const fn values(mut self, values: fn() -> Values) -> Field {
        self.values = Some(values);
        self
    }
}

/// Every value of an API enum with its Danish label.
fn all<E: Labelled>() -> Values {
    let EnumLabels { values, .. } = E::labels();
    values.into_iter().map(|v| (v.value, v.label)).collect()
}

/// Plan statuses that can be published: drafts never are.
fn public_plan_statuses() -> Values {
    let public: Vec<String> = PUBLIC_PLANS.iter().map(ActiveEnum::to_value).collect();
    all::<crate::plan::PlanStatus>()
        .into_iter()
        .filter(|(v, _)| public.iter().any(|p| p == v))
        .collect()
}

const fn id(description: &'static str, description_da: &'static str) -> Field {
    field("id", Type::String, "ID", description, description_da).required()
}

const fn reference(
    name: &'static str,
    title: &'static str,
    description: &'static str,
    description_da: &'static str,
) -> Field {
    field(name, Type::String, title, description, description_da)
}

const fn label(name: &'static str, title: &'static str, of: &'static str, of_da: &'static str) -> Field {
    field(name, Type::String, title, of, of_da)
}

const CREATED_AT: Field = field(
    "created_at",
    Type::Datetime,
    "Oprettet",
    "When the row was created (UTC).",
    "Hvornår rækken blev oprettet (UTC).",
)
.required();

const UPDATED_AT: Field = field(
    "updated_at",
    Type::Datetime,
    "Senest ændret",
    "When the row was last changed (UTC).",
    "Hvornår rækken sidst blev ændret (UTC).",
)
.required();

/// A foreign key: `fields` of this table refer to `reference` of the table `resource`.
pub struct ForeignKey {
    pub fields: &'static [&'static str],
    pub resource: &'static str,
    pub reference: &'static [&'static str],
}

/// `fk!("plan_id" => "plans")`: a column holding the `id` of a row of another table.
macro_rules! fk {
    ($field:literal => $resource:literal) => {
        ForeignKey {
            fields: &[$field],
            resource: $resource,
            reference: &["id"],
        }
    };
}

/// One file of the package: its name (`communities` for `communities.csv`), Danish title,
/// English and Danish descriptions, columns and keys.
pub struct Resource {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub description_da: &'static str,
    pub fields: &'static [Field],
    pub primary_key: &'static [&'static str],
    pub foreign_keys: &'static [ForeignKey],
}

/// Where a page ends: the primary key of its last row (the second part is nil for a table
/// with a one-column key).
pub type Key = (Uuid, Uuid);

/// Rows of a table, as CSV fields in the order of its schema, and the key to read on from
/// (none once the table is read).
pub struct Page {
    pub rows: Vec<Vec<String>>,
    pub next: Option<Key>,
}

/// The tables, in the package's order: a table comes after those its foreign keys refer to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    Communities,
    Themes,
    Departments,
    Organizations,
    Plans,
    PlanThemes,
    PlanInvolvements,
    Actions,
    ActionThemes,
    ActionDepartments,
    ActionUpdates,
    Partnerships,
    PartnershipMembers,
    EngagementEvents,
    EngagementEventOrganizations,
    Ideas,
    IdeaThemes,
    IdeaExchanges,
    IdeaExchangeCommunities,
    IdeaExchangeActions,
    AnnualReviews,
    AnnualReviewEntries,
}

impl Table {
    pub const ALL: [Table; 22] = [
        Table::Communities,
        Table::Themes,
        Table::Departments,
        Table::Organizations,
        Table::Plans,
        Table::PlanThemes,
        Table::PlanInvolvements,
        Table::Actions,
        Table::ActionThemes,
        Table::ActionDepartments,
        Table::ActionUpdates,
        Table::Partnerships,
        Table::PartnershipMembers,
        Table::EngagementEvents,
        Table::EngagementEventOrganizations,
        Table::Ideas,
        Table::IdeaThemes,
        Table::IdeaExchanges,
        Table::IdeaExchangeCommunities,
        Table::IdeaExchangeActions,
        Table::AnnualReviews,
        Table::AnnualReviewEntries,
    ];

    /// The table whose file is `name` (`communities` for `communities.csv`).
    pub fn named(name: &str) -> Option<Table> {
        Table::ALL.into_iter().find(|t| t.resource().name == name)
    }

    pub fn resource(self) -> &'static Resource {
        match self {
            Table::Communities => &COMMUNITIES,
            Table::Themes => &THEMES,
            Table::Departments => &DEPARTMENTS,
            Table::Organizations => &ORGANIZATIONS,
            Table::Plans => &PLANS,
            Table::PlanThemes => &PLAN_THEMES,
            Table::PlanInvolvements => &PLAN_INVOLVEMENTS,
            Table::Actions => &ACTIONS,
            Table::ActionThemes => &ACTION_THEMES,
            Table::ActionDepartments => &ACTION_DEPARTMENTS,
            Table::ActionUpdates => &ACTION_UPDATES,
            Table::Partnerships => &PARTNERSHIPS,
            Table::PartnershipMembers => &PARTNERSHIP_MEMBERS,
            Table::EngagementEvents => &ENGAGEMENT_EVENTS,
            Table::EngagementEventOrganizations => &ENGAGEMENT_EVENT_ORGANIZATIONS,
            Table::Ideas => &IDEAS,
            Table::IdeaThemes => &IDEA_THEMES,
            Table::IdeaExchanges => &IDEA_EXCHANGES,
            Table::IdeaExchangeCommunities => &IDEA_EXCHANGE_COMMUNITIES,
            Table::IdeaExchangeActions => &IDEA_EXCHANGE_ACTIONS,
            Table::AnnualReviews => &ANNUAL_REVIEWS,
            Table::AnnualReviewEntries => &ANNUAL_REVIEW_ENTRIES,
        }
    }

    /// The public rows after `at.after` (from the start when none), at most `at.rows` of them.
    /// Whoever asks, only what an anonymous caller may see: [`Access::anonymous`].
    pub async fn page(self, db: &DatabaseConnection, at: At) -> Result<Page, DbErr> {
        let public = Access::anonymous();
        Ok(match self {
            Table::Communities => rows(db, community::Entity::find(), at, community_row).await?,
            Table::Themes => rows(db, theme::Entity::find(), at, catalogue_row!(NodeType::Theme)).await?,
            Table::Departments => {
                rows(
                    db,
                    department::Entity::find(),
                    at,
                    catalogue_row!(NodeType::Department),
                )
                .await?
            }
            Table::Organizations => rows(db, organization::Entity::find(), at, organization_row).await?,
            Table::Plans => rows(db, crate::plan::visible(&public), at, plan_row).await?,
            Table::PlanThemes => {
                let select =
                    plan_theme::Entity::find().filter(public.plan_condition(col(plan_theme::Column::PlanId)));
                links(db, select, NodeType::Plan, NodeType::Theme, at).await?
            }
            Table::PlanInvolvements => {
                rows(db, crate::plan::involvement_visible(&public), at, involvement_row).await?
            }
            Table::Actions => rows(db, crate::action::visible(&public), at, action_row).await?,
            Table::ActionThemes => {
                let select = action_theme::Entity::find()
                    .filter(public.action_condition(col(action_theme::Column::ActionId)));
                links(db, select, NodeType::Action, NodeType::Theme, at).await?
            }
            Table::ActionDepartments => {
                rows(
                    db,
                    crate::action::departments_visible(&public),
                    at,
                    action_department_row,
                )
                .await?
            }
            Table::ActionUpdates => rows(db, crate::action::updates_visible(&public), at, update_row).await?,
            Table::Partnerships => {
                rows(db, crate::partnership::visible(&public), at, partnership_row).await?
            }
            Table::PartnershipMembers => {
                rows(db, crate::partnership::members_visible(&public), at, member_row).await?
            }
            Table::EngagementEvents => rows(db, crate::engagement::visible(&public), at, event_row).await?,
            Table::EngagementEventOrganizations => {
                let events = crate::engagement::visible(&public)
                    .select_only()
                    .column(engagement_event::Column::Id)
                    .into_query();
                let select = engagement_event_organization::Entity::find()
                    .filter(col(engagement_event_organization::Column::EventId).in_subquery(events));
                links(db, select, NodeType::EngagementEvent, NodeType::Organization, at).await?
            }
            Table::Ideas => rows(db, idea::Entity::find(), at, idea_row).await?,
            Table::IdeaThemes => {
                links(
                    db,
                    idea_theme::Entity::find(),
                    NodeType::Idea,
                    NodeType::Theme,
                    at,
                )
                .await?
            }
            Table::IdeaExchanges => rows(db, idea_exchange::Entity::find(), at, exchange_row).await?,
            Table::IdeaExchangeCommunities => {
                links(
                    db,
                    idea_exchange_participant::Entity::find(),
                    NodeType::IdeaExchange,
                    NodeType::Community,
                    at,
                )
                .await?
            }
            Table::IdeaExchangeActions => {
                let select = idea_exchange_action::Entity::find()
                    .filter(public.action_condition(col(idea_exchange_action::Column::ActionId)));
                links(db, select, NodeType::IdeaExchange, NodeType::Action, at).await?
            }
            Table::AnnualReviews => rows(db, crate::review::visible(&public), at, review_row).await?,
            Table::AnnualReviewEntries => {
                rows(db, crate::review::visible_entries(&public), at, entry_row).await?
            }
        })
    }
}

/// The row of a catalogue's entry (a theme, a department) of type `$ty`: its global ID, slug,
/// name, description and times.
macro_rules! catalogue_row {
    ($ty:expr) => {
        |m| {
            vec![
                gid($ty, m.id),
                m.slug.clone(),
                m.name.clone(),
                m.description.clone(),
                ts(m.created_at),
                ts(m.updated_at),
            ]
        }
    };
}
use catalogue_row;

/// A page of `select` in the order of its rows' IDs, at `at`, each row as `row` writes
/// it.
async fn rows<E: Versioned>(
    db: &DatabaseConnection,
    select: Select<E>,
    at: At,
    row: impl Fn(&E::Model) -> Vec<String>,
) -> Result<Page, DbErr> {
    let select = match at.after {
        Some((last, _)) => select.filter(E::ID.gt(last)),
        None => select,
    };
    let rows = select.order_by_asc(E::ID).limit(at.rows).all(db).await?;
    Ok(page(rows, at.rows, HasId::row_id, row))
}

/// A page of a link table (`select`), its rows the global IDs of the owner (of type `owner`)
/// and the target (of type `target`), its key in that order.
async fn links<L: Link>(
    db: &DatabaseConnection,
    select: Select<L>,
    owner: NodeType,
    target: NodeType,
    at: At,
) -> Result<Page, DbErr> {
    let (a, b) = (L::OWNER, L::TARGET);
    let uuid = |m: &L::Model, c: L::Column| match m.get(c) {
        sea_orm::Value::Uuid(Some(id)) => id,
        _ => Uuid::nil(),
    };
    let rows = by_pair(db, select, a, b, at).await?;
    Ok(page(
        rows,
        at.rows,
        |m| (uuid(m, a), uuid(m, b)),
        |m| vec![gid(owner, uuid(m, a)), gid(target, uuid(m, b))],
    ))
}

/// A page of `select` ordered by its two-column key (`a`, `b`), at `at`.
async fn by_pair<E: EntityTrait>(
    db: &DatabaseConnection,
    select: Select<E>,
    a: E::Column,
    b: E::Column,
    at: At,
) -> Result<Vec<E::Model>, DbErr> {
    // A row value comparison, `(a, b) > (x, y)`: both databases read it as one range of the
    // key's index.
    let select = match at.after {
        Some((x, y)) => {
            select.filter(Expr::tuple([col(a), col(b)]).gt(Expr::tuple([Expr::value(x), Expr::value(y)])))
        }
        None => select,
    };
    select
        .order_by_asc(a)
        .order_by_asc(b)
        .limit(at.rows)
        .all(db)
        .await
}

fn page<M, K: Into<KeyOf>>(
    models: Vec<M>,
    size: u64,
    key: impl Fn(&M) -> K,
    row: impl Fn(&M) -> Vec<String>,
) -> Page {
    let full = u64::try_from(models.len()).unwrap_or(u64::MAX) >= size;
    let next = if full {
        models.last().map(|m| key(m).into().0)
    } else {
        None
    };
    Page {
        rows: models.iter().map(row).collect(),
        next,
    }
}

/// A one- or two-column key as a [`Key`].
pub struct KeyOf(Key);

impl From<Uuid> for KeyOf {
    fn from(id: Uuid) -> Self {
        KeyOf((id, Uuid::nil()))
    }
}

impl From<(Uuid, Uuid)> for KeyOf {
    fn from(key: (Uuid, Uuid)) -> Self {
        KeyOf(key)
    }
}

/// The global ID of a row, as the GraphQL API gives it.
fn gid(type_name: NodeType, id: Uuid) -> String {
    relay::encode(type_name, id).0
}

fn opt_gid(type_name: NodeType, id: Option<Uuid>) -> String {
    id.map(|id| gid(type_name, id)).unwrap_or_default()
}

/// An optional value; empty when there is none (the package's `missingValues`).
fn opt<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

fn date(value: Option<NaiveDate>) -> String {
    opt(value)
}

/// A time in UTC, as Table Schema's default `datetime` format reads it.
fn ts(value: DateTime<Utc>) -> String {
    value.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// An enum as the API spells it, e.g. `IN_PROGRESS`.
fn value<E: ActiveEnum<Value = String>>(e: &E) -> String {
    e.to_value()
}

// ---- communities -------------------------------------------------------------------------

static COMMUNITIES: Resource = Resource {
    name: "communities",
    title: "Lokalsamfund",
    description: "The local communities (villages and small towns) of the programme, each with its own development plan.",
    description_da: "Programmets lokalsamfund (landsbyer og mindre byer), hver med sin egen udviklingsplan.",
    fields: &[
        id(
            "Global ID of the community, as in the GraphQL API.",
            "Lokalsamfundets globale ID, som i GraphQL-API'et.",
        ),
        field(
            "slug",
            Type::String,
            "Kortnavn",
            "Short name of the community used in web addresses.",
            "Lokalsamfundets korte navn til webadresser.",
        )
        .required(),
        field(
            "name",
            Type::String,
            "Navn",
            "Name of the community.",
            "Lokalsamfundets navn.",
        )
        .required(),
        field(
            "description",
            Type::String,
            "Beskrivelse",
            "Description of the community.",
            "Beskrivelse af lokalsamfundet.",
        ),
        field(
            "status",
            Type::String,
            "Status",
            "Whether the community takes part in the programme now.",
            "Om lokalsamfundet er med i programmet nu.",
        )
        .required()
        .values(all::<crate::community::CommunityStatus>),
        label(
            "status_label",
            "Status (tekst)",
            "The status in Danish.",
            "Status på dansk.",
        ),
        field(
            "latitude",
            Type::Number,
            "Breddegrad",
            "Latitude of the community (WGS 84, decimal degrees).",
            "Lokalsamfundets breddegrad (WGS 84, decimalgrader).",
        ),
        field(
            "longitude",
            Type::Number,
            "Længdegrad",
            "Longitude of the community (WGS 84, decimal degrees).",
            "Lokalsamfundets længdegrad (WGS 84, decimalgrader).",
        ),
        CREATED_AT,
        UPDATED_AT,
    ],
    primary_key: &["id"],
    foreign_keys: &[],
};

fn community_row(m: &community::Model) -> Vec<String> {
    vec![
        gid(NodeType::Community, m.id),
        m.slug.clone(),
        m.name.clone(),
        m.description.clone(),
        value(&m.status),
        crate::community::CommunityStatus::from(m.status)
            .label()
            .to_owned(),
        opt(m.latitude),
        opt(m.longitude),
        ts(m.created_at),
        ts(m.updated_at),
    ]
}

// ---- themes, departments, organisations ----------------------------------------------------

static THEMES: Resource = Resource {
    name: "themes",
    title: "Temaer",
    description: "The themes that plans and actions are tagged with, e.g. nature, culture or traffic.",
    description_da: "De temaer, planer og indsatser er mærket med, fx natur, kultur eller trafik.",
    fields: &[
        id("Global ID of the theme.", "Temaets globale ID."),
        field(
            "slug",
            Type::String,
            "Kortnavn",
            "Short name of the theme.",
            "Temaets korte navn.",
        )
        .required(),
        field(
            "name",
            Type::String,
            "Navn",
            "Name of the theme.",
            "Temaets navn.",
        )
        .required(),
        field(
            "description",
            Type::String,
            "Beskrivelse",
            "Description of the theme.",
            "Beskrivelse af temaet.",
        ),
        CREATED_AT,
        UPDATED_AT,
    ],
    primary_key: &["id"],
    foreign_keys: &[],
};

static DEPARTMENTS: Resource = Resource {
    name: "departments",
    title: "Forvaltninger",
    description: "The municipality's departments, which contribute to actions.",
    description_da: "Kommunens forvaltninger, der bidrager til indsatserne.",
    fields: &[
        id("Global ID of the department.", "Forvaltningens globale ID."),
        field(
            "slug",
            Type::String,
            "Kortnavn",
            "Short name of the department.",
            "Forvaltningens korte navn.",
        )
        .required(),
        field(
            "name",
            Type::String,
            "Navn",
            "Name of the department.",
            "Forvaltningens navn.",
        )
        .required(),
        field(
            "description",
            Type::String,
            "Beskrivelse",
            "What the department does.",
            "Hvad forvaltningen arbejder med.",
        ),
        CREATED_AT,
        UPDATED_AT,
    ],
    primary_key: &["id"],
    foreign_keys: &[],
};

static ORGANIZATIONS: Resource = Resource {
    name: "organizations",
    title: "Organisationer",
    description: "Associations, businesses, foundations and other organisations taking part in the plans and partnerships. Contact people are not included.",
    description_da: "Foreninger, virksomheder, fonde og andre organisationer, der er med i planerne og partnerskaberne. Kontaktpersoner er ikke med.",
    fields: &[
        id("Global ID of the organisation.", "Organisationens globale ID."),
        field(
            "slug",
            Type::String,
            "Kortnavn",
            "Short name of the organisation.",
            "Organisationens korte navn.",
        )
        .required(),
        field(
            "name",
            Type::String,
            "Navn",
            "Name of the organisation.",
            "Organisationens navn.",
        )
        .required(),
        field(
            "kind",
            Type::String,
            "Type",
            "What kind of organisation it is.",
            "Hvilken slags organisation det er.",
        )
        .required()
        .values(all::<crate::organization::OrganizationKind>),
        label(
            "kind_label",
            "Type (tekst)",
            "The kind in Danish.",
            "Typen på dansk.",
        ),
        field(
            "description",
            Type::String,
            "Beskrivelse",
            "Description of the organisation.",
            "Beskrivelse af organisationen.",
        ),
        field(
            "website",
            Type::String,
            "Websted",
            "The organisation's website.",
            "Organisationens websted.",
        ),
        reference(
            "community_id",
            "Lokalsamfund",
            "The community the organisation belongs to, if any.",
            "Det lokalsamfund, organisationen hører til, hvis nogen.",
        ),
        CREATED_AT,
        UPDATED_AT,
    ],
    primary_key: &["id"],
    foreign_keys: &[fk!("community_id" => "communities")],
};

fn organization_row(m: &organization::Model) -> Vec<String> {
    vec![
        gid(NodeType::Organization, m.id),
        m.slug.clone(),
        m.name.clone(),
        value(&m.kind),
        crate::organization::OrganizationKind::from(m.kind)
            .label()
            .to_owned(),
        m.description.clone(),
        m.website.clone().unwrap_or_default(),
        opt_gid(NodeType::Community, m.community_id),
        ts(m.created_at),
        ts(m.updated_at),
    ]
}

// ---- plans ----------------------------------------------------------------------------------

static PLANS: Resource = Resource {
    name: "plans",
    title: "Udviklingsplaner",
    description: "The communities' local development plans that are public: in consultation, adopted or archived. Drafts are not included.",
    description_da: "Lokalsamfundenes udviklingsplaner, der er offentlige: i høring, vedtaget eller arkiveret. Planer under udarbejdelse er ikke med.",
    fields: &[
        id("Global ID of the plan.", "Planens globale ID."),
        reference(
            "community_id",
            "Lokalsamfund",
            "The community whose plan it is.",
            "Det lokalsamfund, planen tilhører.",
        )
        .required(),
        field(
            "title",
            Type::String,
            "Titel",
            "Title of the plan.",
            "Planens titel.",
        )
        .required(),
        field(
            "summary",
            Type::String,
            "Resumé",
            "Summary of the plan.",
            "Resumé af planen.",
        ),
        field(
            "vision",
            Type::String,
            "Vision",
            "The community's vision.",
            "Lokalsamfundets vision.",
        ),
        field(
            "period_from",
            Type::Integer,
            "Gælder fra",
            "First year of the plan's period.",
            "Første år i planens periode.",
        )
        .required(),
        field(
            "period_to",
            Type::Integer,
            "Gælder til",
            "Last year of the plan's period.",
            "Sidste år i planens periode.",
        )
        .required(),
        field(
            "status",
            Type::String,
            "Status",
            "Where the plan is in its life.",
            "Hvor planen er i sit forløb.",
        )
        .required()
        .values(public_plan_statuses),
        label(
            "status_label",
            "Status (tekst)",
            "The status in Danish.",
            "Status på dansk.",
        ),
        field(
            "adopted_on",
            Type::Date,
            "Vedtaget",
            "When the plan was adopted.",
            "Hvornår planen blev vedtaget.",
        ),
        field(
            "consultation_opens_on",
            Type::Date,
            "Høring fra",
            "First day of the public consultation.",
            "Første dag i den offentlige høring.",
        ),
        field(
            "consultation_closes_on",
            Type::Date,
            "Høring til",
            "Last day of the public consultation.",
            "Sidste dag i den offentlige høring.",
        ),
        CREATED_AT,
        UPDATED_AT,
    ],
    primary_key: &["id"],
    foreign_keys: &[fk!("community_id" => "communities")],
};

fn plan_row(m: &plan::Model) -> Vec<String> {
    vec![
        gid(NodeType::Plan, m.id),
        gid(NodeType::Community, m.community_id),
        m.title.clone(),
        m.summary.clone(),
        m.vision.clone(),
        m.period_from.to_string(),
        m.period_to.to_string(),
        value(&m.status),
        crate::plan::PlanStatus::from(m.status).label().to_owned(),
        date(m.adopted_on),
        date(m.consultation_opens_on),
        date(m.consultation_closes_on),
        ts(m.created_at),
        ts(m.updated_at),
    ]
}

static PLAN_THEMES: Resource = Resource {
    name: "plan_themes",
    title: "Planers temaer",
    description: "Which themes each public plan is tagged with.",
    description_da: "Hvilke temaer hver offentlig plan er mærket med.",
    fields: &[
        reference("plan_id", "Plan", "The plan.", "Planen.").required(),
        reference("theme_id", "Tema", "The theme.", "Temaet.").required(),
    ],
    primary_key: &["plan_id", "theme_id"],
    foreign_keys: &[fk!("plan_id" => "plans"), fk!("theme_id" => "themes")],
};

static PLAN_INVOLVEMENTS: Resource = Resource {
    name: "plan_involvements",
    title: "Organisationers medvirken i planer",
    description: "How organisations took part in each public plan: writing it, carrying it out, being consulted.",
    description_da: "Hvordan organisationer har medvirket i hver offentlig plan: med til at skrive den, føre den ud i livet eller hørt undervejs.",
    fields: &[
        id("Global ID of the involvement.", "Medvirkens globale ID."),
        reference("plan_id", "Plan", "The plan.", "Planen.").required(),
        reference(
            "organization_id",
            "Organisation",
            "The organisation.",
            "Organisationen.",
        )
        .required(),
        field(
            "role",
            Type::String,
            "Rolle",
            "How the organisation took part.",
            "Hvordan organisationen medvirkede.",
        )
        .required()
        .values(all::<crate::plan::InvolvementRole>),
        label(
            "role_label",
            "Rolle (tekst)",
            "The role in Danish.",
            "Rollen på dansk.",
        ),
        field(
            "description",
            Type::String,
            "Beskrivelse",
            "What the organisation did, in words.",
            "Hvad organisationen bidrog med.",
        ),
        CREATED_AT,
        UPDATED_AT,
    ],
    primary_key: &["id"],
    foreign_keys: &[
        fk!("plan_id" => "plans"),
        fk!("organization_id" => "organizations"),
    ],
};

fn involvement_row(m: &plan_involvement::Model) -> Vec<String> {
    vec![
        gid(NodeType::PlanInvolvement, m.id),
        gid(NodeType::Plan, m.plan_id),
        gid(NodeType::Organization, m.organization_id),
        value(&m.role),
        crate::plan::InvolvementRole::from(m.role).label().to_owned(),
        m.description.clone(),
        ts(m.created_at),
        ts(m.updated_at),
    ]
}

// ---- actions --------------------------------------------------------------------------------

static ACTIONS: Resource = Resource {
    name: "actions",
    title: "Indsatser",
    description: "The actions of the public plans: what the communities do to reach their vision.",
    description_da: "Indsatserne i de offentlige planer: det, lokalsamfundene gør for at nå deres vision.",
    fields: &[
        id("Global ID of the action.", "Indsatsens globale ID."),
        reference(
            "plan_id",
            "Plan",
            "The plan the action belongs to.",
            "Den plan, indsatsen hører til.",
        )
        .required(),
        field(
            "title",
            Type::String,
            "Titel",
            "Title of the action.",
            "Indsatsens titel.",
        )
        .required(),
        field(
            "description",
            Type::String,
            "Beskrivelse",
            "Description of the action.",
            "Beskrivelse af indsatsen.",
        ),
        field(
            "horizon",
            Type::String,
            "Tidshorisont",
            "Whether the action is a long-term effort or has an effect here and now.",
            "Om indsatsen er langsigtet eller virker her og nu.",
        )
        .required()
        .values(all::<crate::action::Horizon>),
        label(
            "horizon_label",
            "Tidshorisont (tekst)",
            "The horizon in Danish.",
            "Tidshorisonten på dansk.",
        ),
        field(
            "status",
            Type::String,
            "Status",
            "Where the action is.",
            "Hvor langt indsatsen er.",
        )
        .required()
        .values(all::<crate::action::ActionStatus>),
        label(
            "status_label",
            "Status (tekst)",
            "The status in Danish.",
            "Status på dansk.",
        ),
        field(
            "progress",
            Type::Integer,
            "Fremdrift",
            "Progress in percent, 0 to 100.",
            "Fremdrift i procent, 0 til 100.",
        )
        .required(),
        field(
            "potential",
            Type::Integer,
            "Potentiale",
            "The potential judged by the municipality, 1 (small) to 5 (large).",
            "Potentialet, som kommunen vurderer det, fra 1 (lille) til 5 (stort).",
        ),
        field(
            "start_on",
            Type::Date,
            "Start",
            "When the action starts.",
            "Hvornår indsatsen begynder.",
        ),
        field(
            "due_on",
            Type::Date,
            "Frist",
            "When the action is due.",
            "Hvornår indsatsen skal være færdig.",
        ),
        field(
            "completed_on",
            Type::Date,
            "Gennemført",
            "When the action was completed.",
            "Hvornår indsatsen blev gennemført.",
        ),
        field(
            "budget_estimate",
            Type::Integer,
            "Budgetoverslag",
            "Estimated budget in whole Danish kroner.",
            "Anslået budget i hele kroner.",
        ),
        reference(
            "lead_organization_id",
            "Tovholder",
            "The organisation leading the action, if any.",
            "Den organisation, der står i spidsen for indsatsen, hvis nogen.",
        ),
        field(
            "seeking_partners",
            Type::Boolean,
            "Søger partnere",
            "Whether the action looks for partners.",
            "Om indsatsen søger partnere.",
        )
        .required(),
        field(
            "partner_needs",
            Type::String,
            "Behov for partnere",
            "What partners could bring.",
            "Hvad partnere kan bidrage med.",
        ),
        CREATED_AT,
        UPDATED_AT,
        // After the timestamps: added later, so columns read by position keep theirs.
        field(
            "latitude",
            Type::Number,
            "Breddegrad",
            "Latitude of the action's own place (WGS 84, decimal degrees); empty for an action placed at its community.",
            "Breddegraden for indsatsens eget sted (WGS 84, decimalgrader); tom for en indsats, der er placeret ved sit lokalsamfund.",
        ),
        field(
            "longitude",
            Type::Number,
            "Længdegrad",
            "Longitude of the action's own place (WGS 84, decimal degrees); empty for an action placed at its community.",
            "Længdegraden for indsatsens eget sted (WGS 84, decimalgrader); tom for en indsats, der er placeret ved sit lokalsamfund.",
        ),
    ],
    primary_key: &["id"],
    foreign_keys: &[
        fk!("plan_id" => "plans"),
        fk!("lead_organization_id" => "organizations"),
    ],
};

fn action_row(m: &action::Model) -> Vec<String> {
    vec![
        gid(NodeType::Action, m.id),
        gid(NodeType::Plan, m.plan_id),
        m.title.clone(),
        m.description.clone(),
        value(&m.horizon),
        crate::action::Horizon::from(m.horizon).label().to_owned(),
        value(&m.status),
        crate::action::ActionStatus::from(m.status).label().to_owned(),
        m.progress.to_string(),
        opt(m.potential),
        date(m.start_on),
        date(m.due_on),
        date(m.completed_on),
        opt(m.budget_estimate),
        opt_gid(NodeType::Organization, m.lead_organization_id),
        m.seeking_partners.to_string(),
        m.partner_needs.clone().unwrap_or_default(),
        ts(m.created_at),
        ts(m.updated_at),
        // Both or neither, as `Action.location` answers.
        opt(m.latitude.zip(m.longitude).map(|(latitude, _)| latitude)),
        opt(m.latitude.zip(m.longitude).map(|(_, longitude)| longitude)),
    ]
}

static ACTION_THEMES: Resource = Resource {
    name: "action_themes",
    title: "Indsatsers temaer",
    description: "Which themes each action is tagged with.",
    description_da: "Hvilke temaer hver indsats er mærket med.",
    fields: &[
        reference("action_id", "Indsats", "The action.", "Indsatsen.").required(),
        reference("theme_id", "Tema", "The theme.", "Temaet.").required(),
    ],
    primary_key: &["action_id", "theme_id"],
    foreign_keys: &[fk!("action_id" => "actions"), fk!("theme_id" => "themes")],
};

static ACTION_DEPARTMENTS: Resource = Resource {
    name: "action_departments",
    title: "Forvaltningers bidrag",
    description: "What the municipality's departments contribute to each action.",
    description_da: "Hvad kommunens forvaltninger bidrager med til hver indsats.",
    fields: &[
        id("Global ID of the contribution.", "Bidragets globale ID."),
        reference("action_id", "Indsats", "The action.", "Indsatsen.").required(),
        reference(
            "department_id",
            "Forvaltning",
            "The department.",
            "Forvaltningen.",
        )
        .required(),
        field(
            "role",
            Type::String,
            "Rolle",
            "What the department does for the action.",
            "Hvad forvaltningen gør for indsatsen.",
        )
        .required()
        .values(all::<crate::action::DepartmentRole>),
        label(
            "role_label",
            "Rolle (tekst)",
            "The role in Danish.",
            "Rollen på dansk.",
        ),
        field(
            "contribution",
            Type::String,
            "Bidrag",
            "The contribution, in words.",
            "Beskrivelse af bidraget.",
        ),
        CREATED_AT,
        UPDATED_AT,
    ],
    primary_key: &["id"],
    foreign_keys: &[
        fk!("action_id" => "actions"),
        fk!("department_id" => "departments"),
    ],
};

fn action_department_row(m: &action_department::Model) -> Vec<String> {
    vec![
        gid(NodeType::ActionDepartment, m.id),
        gid(NodeType::Action, m.action_id),
        gid(NodeType::Department, m.department_id),
        value(&m.role),
        crate::action::DepartmentRole::from(m.role).label().to_owned(),
        m.contribution.clone(),
        ts(m.created_at),
        ts(m.updated_at),
    ]
}

static ACTION_UPDATES: Resource = Resource {
    name: "action_updates",
    title: "Statusopdateringer",
    description: "Progress notes posted on the actions, newest progress in percent where the note set it. The author's name is not included.",
    description_da: "Statusopdateringer på indsatserne med fremdriften i procent, hvor opdateringen angav den. Forfatterens navn er ikke med.",
    fields: &[
        id("Global ID of the note.", "Opdateringens globale ID."),
        reference("action_id", "Indsats", "The action.", "Indsatsen.").required(),
        field(
            "posted_on",
            Type::Date,
            "Dato",
            "The day the note was posted.",
            "Dagen, opdateringen blev skrevet.",
        )
        .required(),
        field("body", Type::String, "Tekst", "The note.", "Opdateringens tekst."),
        field(
            "progress",
            Type::Integer,
            "Fremdrift (%)",
            "The action's progress (0–100) the note reported; empty when it reported none.",
            "Indsatsens fremdrift (0–100), som opdateringen angav; tom, hvis den ikke angav nogen.",
        ),
        CREATED_AT,
        UPDATED_AT,
    ],
    primary_key: &["id"],
    foreign_keys: &[fk!("action_id" => "actions")],
};

fn update_row(m: &action_update::Model) -> Vec<String> {
    vec![
        gid(NodeType::ActionUpdate, m.id),
        gid(NodeType::Action, m.action_id),
        date(Some(m.posted_on)),
        m.body.clone(),
        opt(m.progress),
        ts(m.created_at),
        ts(m.updated_at),
    ]
}

// ---- partnerships ---------------------------------------------------------------------------

static PARTNERSHIPS: Resource = Resource {
    name: "partnerships",
    title: "Partnerskaber",
    description: "Partnerships around an action or a whole plan. Partners' proposals that the community has not accepted are not included.",
    description_da: "Partnerskaber om en indsats eller en hel plan. Partneres forslag, som lokalsamfundet ikke har taget imod, er ikke med.",
    fields: &[
        id("Global ID of the partnership.", "Partnerskabets globale ID."),
        field(
            "title",
            Type::String,
            "Titel",
            "Title of the partnership.",
            "Partnerskabets titel.",
        )
        .required(),
        field(
            "description",
            Type::String,
            "Beskrivelse",
            "Description of the partnership.",
            "Beskrivelse af partnerskabet.",
        ),
        reference(
            "action_id",
            "Indsats",
            "The action the partnership is around, if any.",
            "Den indsats, partnerskabet handler om, hvis nogen.",
        ),
        reference(
            "plan_id",
            "Plan",
            "The plan the partnership is around, if any.",
            "Den plan, partnerskabet handler om, hvis nogen.",
        ),
        field(
            "status",
            Type::String,
            "Status",
            "Where the partnership is.",
            "Hvor partnerskabet står.",
        )
        .required()
        .values(all::<crate::partnership::PartnershipStatus>),
        label(
            "status_label",
            "Status (tekst)",
            "The status in Danish.",
            "Status på dansk.",
        ),
        field(
            "starts_on",
            Type::Date,
            "Start",
            "When the partnership starts.",
            "Hvornår partnerskabet begynder.",
        ),
        field(
            "ends_on",
            Type::Date,
            "Slut",
            "When the partnership ends.",
            "Hvornår partnerskabet slutter.",
        ),
        CREATED_AT,
        UPDATED_AT,
    ],
    primary_key: &["id"],
    foreign_keys: &[fk!("action_id" => "actions"), fk!("plan_id" => "plans")],
};

fn partnership_row(m: &partnership::Model) -> Vec<String> {
    vec![
        gid(NodeType::Partnership, m.id),
        m.title.clone(),
        m.description.clone(),
        opt_gid(NodeType::Action, m.action_id),
        opt_gid(NodeType::Plan, m.plan_id),
        value(&m.status),
        crate::partnership::PartnershipStatus::from(m.status)
            .label()
            .to_owned(),
        date(m.starts_on),
        date(m.ends_on),
        ts(m.created_at),
        ts(m.updated_at),
    ]
}

static PARTNERSHIP_MEMBERS: Resource = Resource {
    name: "partnership_members",
    title: "Partnerskabers parter",
    description: "The parties of each partnership: a community, an organisation or a department (exactly one of the three), with its role and contribution.",
    description_da: "Parterne i hvert partnerskab: et lokalsamfund, en organisation eller en forvaltning (netop én af de tre) med rolle og bidrag.",
    fields: &[
        id("Global ID of the membership.", "Partens globale ID."),
        reference(
            "partnership_id",
            "Partnerskab",
            "The partnership.",
            "Partnerskabet.",
        )
        .required(),
        reference(
            "community_id",
            "Lokalsamfund",
            "The community taking part, if the party is one.",
            "Det deltagende lokalsamfund, hvis parten er et lokalsamfund.",
        ),
        reference(
            "organization_id",
            "Organisation",
            "The organisation taking part, if the party is one.",
            "Den deltagende organisation, hvis parten er en organisation.",
        ),
        reference(
            "department_id",
            "Forvaltning",
            "The department taking part, if the party is one.",
            "Den deltagende forvaltning, hvis parten er en forvaltning.",
        ),
        field(
            "role",
            Type::String,
            "Rolle",
            "The party's role in the partnership.",
            "Partens rolle i partnerskabet.",
        )
        .required()
        .values(all::<crate::partnership::MemberRole>),
        label(
            "role_label",
            "Rolle (tekst)",
            "The role in Danish.",
            "Rollen på dansk.",
        ),
        field(
            "contribution_kind",
            Type::String,
            "Bidragets art",
            "What kind of contribution the party brings.",
            "Hvilken slags bidrag parten kommer med.",
        )
        .required()
        .values(all::<crate::partnership::ContributionKind>),
        label(
            "contribution_kind_label",
            "Bidragets art (tekst)",
            "The kind of contribution in Danish.",
            "Bidragets art på dansk.",
        ),
        field(
            "contribution",
            Type::String,
            "Bidrag",
            "The contribution, in words.",
            "Beskrivelse af bidraget.",
        ),
        field(
            "amount_dkk",
            Type::Integer,
            "Beløb (kr.)",
            "Money pledged, in whole Danish kroner.",
            "Beløb, der er givet tilsagn om, i hele kroner.",
        ),
        field(
            "volunteer_hours",
            Type::Integer,
            "Frivillige timer",
            "Volunteer hours pledged.",
            "Frivillige timer, der er givet tilsagn om.",
        ),
        CREATED_AT,
        UPDATED_AT,
    ],
    primary_key: &["id"],
    foreign_keys: &[
        fk!("partnership_id" => "partnerships"),
        fk!("community_id" => "communities"),
        fk!("organization_id" => "organizations"),
        fk!("department_id" => "departments"),
    ],
};

fn member_row(m: &partnership_member::Model) -> Vec<String> {
    vec![
        gid(NodeType::PartnershipMember, m.id),
        gid(NodeType::Partnership, m.partnership_id),
        opt_gid(NodeType::Community, m.community_id),
        opt_gid(NodeType::Organization, m.organization_id),
        opt_gid(NodeType::Department, m.department_id),
        value(&m.role),
        crate::partnership::MemberRole::from(m.role).label().to_owned(),
        value(&m.contribution_kind),
        crate::partnership::ContributionKind::from(m.contribution_kind)
            .label()
            .to_owned(),
        m.contribution.clone(),
        opt(m.amount_dkk),
        opt(m.volunteer_hours),
        ts(m.created_at),
        ts(m.updated_at),
    ]
}

// ---- engagement ---------------------------------------------------------------------------

static ENGAGEMENT_EVENTS: Resource = Resource {
    name: "engagement_events",
    title: "Lokale aktiviteter",
    description: "Citizen meetings, workshops, working days and other events the communities held, with the number of participants: part of what the engagement figures count. Events under a plan that is not public are not included.",
    description_da: "Borgermøder, workshops, arbejdsdage og andre aktiviteter, lokalsamfundene har holdt, med antal deltagere: en del af det, engagementstallene tæller. Aktiviteter under en plan, der ikke er offentlig, er ikke med.",
    fields: &[
        id("Global ID of the event.", "Aktivitetens globale ID."),
        reference(
            "community_id",
            "Lokalsamfund",
            "The community that held it.",
            "Lokalsamfundet, der holdt den.",
        )
        .required(),
        reference(
            "plan_id",
            "Plan",
            "The plan it concerned, if any.",
            "Den plan, den handlede om, hvis nogen.",
        ),
        field(
            "kind",
            Type::String,
            "Type",
            "What kind of event it was.",
            "Hvilken slags aktivitet det var.",
        )
        .required()
        .values(all::<crate::engagement::EventKind>),
        label(
            "kind_label",
            "Type (tekst)",
            "The kind in Danish.",
            "Typen på dansk.",
        ),
        field(
            "title",
            Type::String,
            "Titel",
            "Title of the event.",
            "Aktivitetens titel.",
        )
        .required(),
        field(
            "description",
            Type::String,
            "Beskrivelse",
            "Description of the event.",
            "Beskrivelse af aktiviteten.",
        ),
        field(
            "occurred_on",
            Type::Date,
            "Dato",
            "When it took place.",
            "Hvornår den fandt sted.",
        )
        .required(),
        count(
            "participants",
            "Deltagere",
            "How many took part.",
            "Hvor mange der deltog.",
        ),
        CREATED_AT,
        UPDATED_AT,
    ],
    primary_key: &["id"],
    foreign_keys: &[fk!("community_id" => "communities"), fk!("plan_id" => "plans")],
};

fn event_row(m: &engagement_event::Model) -> Vec<String> {
    vec![
        gid(NodeType::EngagementEvent, m.id),
        gid(NodeType::Community, m.community_id),
        opt_gid(NodeType::Plan, m.plan_id),
        value(&m.kind),
        crate::engagement::EventKind::from(m.kind).label().to_owned(),
        m.title.clone(),
        m.description.clone(),
        date(Some(m.occurred_on)),
        m.participants.to_string(),
        ts(m.created_at),
        ts(m.updated_at),
    ]
}

static ENGAGEMENT_EVENT_ORGANIZATIONS: Resource = Resource {
    name: "engagement_event_organizations",
    title: "Organisationer ved lokale aktiviteter",
    description: "The organisations present at each event.",
    description_da: "De organisationer, der var med ved hver aktivitet.",
    fields: &[
        reference("event_id", "Aktivitet", "The event.", "Aktiviteten.").required(),
        reference(
            "organization_id",
            "Organisation",
            "The organisation present.",
            "Den deltagende organisation.",
        )
        .required(),
    ],
    primary_key: &["event_id", "organization_id"],
    foreign_keys: &[
        fk!("event_id" => "engagement_events"),
        fk!("organization_id" => "organizations"),
    ],
};

// ---- ideas ----------------------------------------------------------------------------------

static IDEAS: Resource = Resource {
    name: "ideas",
    title: "Idéer",
    description: "Ideas the communities and organisations share with each other.",
    description_da: "Idéer, som lokalsamfund og organisationer deler med hinanden.",
    fields: &[
        id("Global ID of the idea.", "Idéens globale ID."),
        field(
            "title",
            Type::String,
            "Titel",
            "Title of the idea.",
            "Idéens titel.",
        )
        .required(),
        field(
            "description",
            Type::String,
            "Beskrivelse",
            "Description of the idea.",
            "Beskrivelse af idéen.",
        ),
        reference(
            "community_id",
            "Lokalsamfund",
            "The community it comes from, if any.",
            "Det lokalsamfund, den kommer fra, hvis nogen.",
        ),
        reference(
            "organization_id",
            "Organisation",
            "The organisation it comes from, if any.",
            "Den organisation, den kommer fra, hvis nogen.",
        ),
        CREATED_AT,
        UPDATED_AT,
    ],
    primary_key: &["id"],
    foreign_keys: &[
        fk!("community_id" => "communities"),
        fk!("organization_id" => "organizations"),
    ],
};

fn idea_row(m: &idea::Model) -> Vec<String> {
    vec![
        gid(NodeType::Idea, m.id),
        m.title.clone(),
        m.description.clone(),
        opt_gid(NodeType::Community, m.community_id),
        opt_gid(NodeType::Organization, m.organization_id),
        ts(m.created_at),
        ts(m.updated_at),
    ]
}

static IDEA_THEMES: Resource = Resource {
    name: "idea_themes",
    title: "Idéers temaer",
    description: "Which themes each idea is tagged with.",
    description_da: "Hvilke temaer hver idé er mærket med.",
    fields: &[
        reference("idea_id", "Idé", "The idea.", "Idéen.").required(),
        reference("theme_id", "Tema", "The theme.", "Temaet.").required(),
    ],
    primary_key: &["idea_id", "theme_id"],
    foreign_keys: &[fk!("idea_id" => "ideas"), fk!("theme_id" => "themes")],
};

// ---- idea exchanges -------------------------------------------------------------------------

static IDEA_EXCHANGES: Resource = Resource {
    name: "idea_exchanges",
    title: "Idéudvekslinger",
    description: "Exchanges of ideas and experience between communities: knowledge sharing, study visits and joint projects.",
    description_da: "Udveksling af idéer og erfaringer mellem lokalsamfund: erfaringsudveksling, studieture og fælles projekter.",
    fields: &[
        id("Global ID of the exchange.", "Udvekslingens globale ID."),
        field(
            "title",
            Type::String,
            "Titel",
            "Title of the exchange.",
            "Udvekslingens titel.",
        )
        .required(),
        field(
            "kind",
            Type::String,
            "Type",
            "What kind of exchange it is.",
            "Hvilken slags udveksling det er.",
        )
        .required()
        .values(all::<crate::idea::ExchangeKind>),
        label(
            "kind_label",
            "Type (tekst)",
            "The kind in Danish.",
            "Typen på dansk.",
        ),
        reference(
            "initiator_community_id",
            "Initiativtager",
            "The community that took the initiative.",
            "Det lokalsamfund, der tog initiativet.",
        )
        .required(),
        field(
            "occurred_on",
            Type::Date,
            "Dato",
            "When the exchange took place.",
            "Hvornår udvekslingen fandt sted.",
        ),
        field(
            "outcome",
            Type::String,
            "Resultat",
            "What came of it.",
            "Hvad der kom ud af den.",
        ),
        CREATED_AT,
        UPDATED_AT,
        reference(
            "idea_id",
            "Idé",
            "The idea it grew out of, if any.",
            "Den idé, den udsprang af, hvis nogen.",
        ),
    ],
    primary_key: &["id"],
    foreign_keys: &[
        fk!("initiator_community_id" => "communities"),
        fk!("idea_id" => "ideas"),
    ],
};

fn exchange_row(m: &idea_exchange::Model) -> Vec<String> {
    vec![
        gid(NodeType::IdeaExchange, m.id),
        m.title.clone(),
        value(&m.kind),
        crate::idea::ExchangeKind::from(m.kind).label().to_owned(),
        gid(NodeType::Community, m.initiator_community_id),
        date(m.occurred_on),
        m.outcome.clone(),
        ts(m.created_at),
        ts(m.updated_at),
        opt_gid(NodeType::Idea, m.idea_id),
    ]
}

static IDEA_EXCHANGE_COMMUNITIES: Resource = Resource {
    name: "idea_exchange_communities",
    title: "Idéudvekslingers deltagere",
    description: "The communities taking part in each exchange.",
    description_da: "De lokalsamfund, der deltager i hver udveksling.",
    fields: &[
        reference("exchange_id", "Udveksling", "The exchange.", "Udvekslingen.").required(),
        reference(
            "community_id",
            "Lokalsamfund",
            "The community taking part.",
            "Det deltagende lokalsamfund.",
        )
        .required(),
    ],
    primary_key: &["exchange_id", "community_id"],
    foreign_keys: &[
        fk!("exchange_id" => "idea_exchanges"),
        fk!("community_id" => "communities"),
    ],
};

static IDEA_EXCHANGE_ACTIONS: Resource = Resource {
    name: "idea_exchange_actions",
    title: "Idéudvekslingers indsatser",
    description: "The actions that each exchange led to or is about.",
    description_da: "De indsatser, hver udveksling førte til eller handler om.",
    fields: &[
        reference("exchange_id", "Udveksling", "The exchange.", "Udvekslingen.").required(),
        reference("action_id", "Indsats", "The action.", "Indsatsen.").required(),
    ],
    primary_key: &["exchange_id", "action_id"],
    foreign_keys: &[
        fk!("exchange_id" => "idea_exchanges"),
        fk!("action_id" => "actions"),
    ],
};

// ---- annual reviews -------------------------------------------------------------------------

static ANNUAL_REVIEWS: Resource = Resource {
    name: "annual_reviews",
    title: "Årsstatus",
    description: "The political committee's published annual reviews of the programme, with its direction for the coming year.",
    description_da: "Det politiske udvalgs offentliggjorte årlige status for programmet med retningen for det kommende år.",
    fields: &[
        id("Global ID of the review.", "Årsstatussens globale ID."),
        field(
            "year",
            Type::Integer,
            "År",
            "The year the review looks back on.",
            "Det år, årsstatussen ser tilbage på.",
        )
        .required(),
        field(
            "direction",
            Type::String,
            "Pejlemærker",
            "The committee's direction for the next year.",
            "Udvalgets pejlemærker for det næste år.",
        ),
        field(
            "wanted_long_term_share",
            Type::Integer,
            "Ønsket andel af langsigtede indsatser",
            "The share of long-term actions (percent) the committee wants next year.",
            "Den andel af langsigtede indsatser (i procent), som udvalget ønsker næste år.",
        ),
        field(
            "snapshot_taken_at",
            Type::Datetime,
            "Tal opgjort",
            "When the figures were taken (UTC).",
            "Hvornår tallene blev opgjort (UTC).",
        )
        .required(),
        field(
            "published_at",
            Type::Datetime,
            "Offentliggjort",
            "When the review was published (UTC).",
            "Hvornår årsstatussen blev offentliggjort (UTC).",
        ),
    ],
    primary_key: &["id"],
    foreign_keys: &[],
};

fn review_row(m: &annual_review::Model) -> Vec<String> {
    vec![
        gid(NodeType::AnnualReview, m.id),
        m.year.to_string(),
        m.direction.clone(),
        opt(m.wanted_long_term_share),
        ts(m.snapshot_taken_at),
        opt(m.published_at.map(ts)),
    ]
}

const fn count(
    name: &'static str,
    title: &'static str,
    description: &'static str,
    description_da: &'static str,
) -> Field {
    field(name, Type::Integer, title, description, description_da).required()
}

static ANNUAL_REVIEW_ENTRIES: Resource = Resource {
    name: "annual_review_entries",
    title: "Årsstatus pr. lokalsamfund",
    description: "Each community's figures in a published annual review, as they stood when taken, and the committee's remarks.",
    description_da: "Hvert lokalsamfunds tal i en offentliggjort årsstatus, som de var, da de blev opgjort, og udvalgets bemærkninger.",
    fields: &[
        id("Global ID of the entry.", "Rækkens globale ID."),
        reference("review_id", "Årsstatus", "The review.", "Årsstatussen.").required(),
        field(
            "year",
            Type::Integer,
            "År",
            "The year of the review.",
            "Årsstatussens år.",
        )
        .required(),
        reference(
            "community_id",
            "Lokalsamfund",
            "The community.",
            "Lokalsamfundet.",
        )
        .required(),
        field(
            "community_name",
            Type::String,
            "Lokalsamfundets navn",
            "The community's name when the figures were taken.",
            "Lokalsamfundets navn, da tallene blev opgjort.",
        )
        .required(),
        count(
            "actions_total",
            "Indsatser i alt",
            "Actions in all.",
            "Indsatser i alt.",
        ),
        count(
            "actions_idea",
            "Indsatser: idé",
            "Actions at the idea stage.",
            "Indsatser på idéstadiet.",
        ),
        count(
            "actions_planned",
            "Indsatser: planlagt",
            "Planned actions.",
            "Planlagte indsatser.",
        ),
        count(
            "actions_in_progress",
            "Indsatser: i gang",
            "Actions in progress.",
            "Indsatser, der er i gang.",
        ),
        count(
            "actions_completed",
            "Indsatser: gennemført",
            "Completed actions.",
            "Gennemførte indsatser.",
        ),
        count(
            "actions_paused",
            "Indsatser: sat på pause",
            "Paused actions.",
            "Indsatser sat på pause.",
        ),
        count(
            "actions_dropped",
            "Indsatser: opgivet",
            "Dropped actions.",
            "Opgivne indsatser.",
        ),
        count(
            "actions_long_term",
            "Langsigtede indsatser",
            "Long-term actions among those not dropped.",
            "Langsigtede indsatser blandt dem, der ikke er opgivet.",
        ),
        count(
            "actions_here_and_now",
            "Indsatser her og nu",
            "Here-and-now actions among those not dropped.",
            "Indsatser her og nu blandt dem, der ikke er opgivet.",
        ),
        count(
            "actions_completed_in_year",
            "Gennemført i året",
            "Actions completed in the year.",
            "Indsatser gennemført i året.",
        ),
        field(
            "average_progress",
            Type::Number,
            "Gennemsnitlig fremdrift",
            "Average progress (percent) of the actions not dropped; empty without such actions.",
            "Gennemsnitlig fremdrift (procent) for de indsatser, der ikke er opgivet; tom, hvis der ikke er nogen.",
        ),
        field(
            "engagement_total",
            Type::Number,
            "Lokalt engagement",
            "The community's weighted engagement score.",
            "Lokalsamfundets vægtede engagementstal.",
        )
        .required(),
        count(
            "partnerships_active",
            "Aktive partnerskaber",
            "Active partnerships.",
            "Aktive partnerskaber.",
        ),
        count(
            "partnership_members",
            "Parter i partnerskaber",
            "Parties of the partnerships.",
            "Parter i partnerskaberne.",
        ),
        count(
            "volunteer_hours",
            "Frivillige timer",
            "Volunteer hours pledged.",
            "Frivillige timer, der er givet tilsagn om.",
        ),
        count(
            "money_dkk",
            "Medfinansiering (kr.)",
            "Money pledged by others than municipal departments, in Danish kroner.",
            "Beløb, som andre end kommunens forvaltninger har givet tilsagn om, i kroner.",
        ),
        count(
            "municipal_dkk",
            "Kommunale midler (kr.)",
            "Money pledged by municipal departments, in Danish kroner.",
            "Beløb, som kommunens forvaltninger har givet tilsagn om, i kroner.",
        ),
        count(
            "idea_exchanges_initiated",
            "Idéudvekslinger som initiativtager",
            "Idea exchanges the community initiated.",
            "Idéudvekslinger, lokalsamfundet tog initiativ til.",
        ),
        count(
            "idea_exchanges_participated",
            "Idéudvekslinger som deltager",
            "Idea exchanges the community took part in.",
            "Idéudvekslinger, lokalsamfundet deltog i.",
        ),
        field(
            "remarks",
            Type::String,
            "Bemærkninger",
            "The committee's remarks.",
            "Udvalgets bemærkninger.",
        ),
        field(
            "consultation_responses",
            Type::Integer,
            "Høringssvar",
            "Responses sent in the year to the community's public plans and published; empty for a review taken before these figures were kept.",
            "Høringssvar sendt i året til lokalsamfundets offentlige planer og offentliggjort; tom for en årsstatus opgjort, før disse tal blev ført.",
        ),
        field(
            "consultation_replied",
            Type::Integer,
            "Besvarede høringssvar",
            "Of those responses, the ones with a reply; empty as above.",
            "De af høringssvarene, der er besvaret; tom som ovenfor.",
        ),
    ],
    primary_key: &["id"],
    foreign_keys: &[
        fk!("review_id" => "annual_reviews"),
        fk!("community_id" => "communities"),
    ],
};

fn entry_row(m: &annual_review_entry::Model) -> Vec<String> {
    let s = crate::review::snapshot::from_json(&m.snapshot);
    let a = &s.actions;
    let mut row = vec![
        gid(NodeType::AnnualReviewEntry, m.id),
        gid(NodeType::AnnualReview, m.review_id),
        s.year.to_string(),
        gid(NodeType::Community, m.community_id),
        s.community_name.clone(),
    ];
    row.extend(a.count_columns());
    row.extend([
        a.completed_in_year.to_string(),
        opt(a.average_progress),
        s.engagement.total.to_string(),
        s.partnerships.active.to_string(),
        s.partnerships.members.to_string(),
        s.contributions.volunteer_hours.to_string(),
        s.contributions.money_dkk.to_string(),
        s.contributions.municipal_dkk.to_string(),
        s.idea_exchanges.initiated.to_string(),
        s.idea_exchanges.participated.to_string(),
        m.remarks.clone(),
        opt(s.consultation.as_ref().map(|c| c.responses)),
        opt(s.consultation.as_ref().map(|c| c.replied)),
    ]);
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_fields_and_tables_that_exist() {
        for table in Table::ALL {
            let r = table.resource();
            let has = |r: &Resource, name: &str| r.fields.iter().any(|f| f.name == name);
            for k in r.primary_key {
                assert!(has(r, k), "{}: primary key {k}", r.name);
            }
            for fk in r.foreign_keys {
                let target = Table::named(fk.resource).expect("foreign key to a table of the package");
                assert!(fk.fields.iter().all(|f| has(r, f)), "{}: {:?}", r.name, fk.fields);
                assert!(fk.reference.iter().all(|f| has(target.resource(), f)));
            }
        }
    }
}

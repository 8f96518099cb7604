//! The domain of the programme: communities, plans, actions, partnerships, ideas and their
//! exchanges, with the organisations, departments, contacts and themes around them.
use sea_orm_migration::prelude::*;

use crate::builder::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const CASCADE: ForeignKeyAction = ForeignKeyAction::Cascade;
const RESTRICT: ForeignKeyAction = ForeignKeyAction::Restrict;

pub const COMMUNITY_STATUS: &[&str] = &["ACTIVE", "INACTIVE"];
pub const ORGANIZATION_KIND: &[&str] = &[
    "ASSOCIATION",
    "BUSINESS",
    "FOUNDATION",
    "EDUCATIONAL_INSTITUTION",
    "PUBLIC_INSTITUTION",
    "VOLUNTEER_GROUP",
    "OTHER",
];
pub const PLAN_STATUS: &[&str] = &["DRAFT", "CONSULTATION", "ADOPTED", "ARCHIVED"];
pub const INVOLVEMENT_ROLE: &[&str] = &["WRITING", "CARRYING_OUT", "CONSULTED"];
pub const EVENT_KIND: &[&str] = &[
    "CITIZEN_MEETING",
    "WORKSHOP",
    "WORKING_DAY",
    "PUBLIC_CONSULTATION",
    "EVENT",
    "OTHER",
];
pub const HORIZON: &[&str] = &["LONG_TERM", "HERE_AND_NOW"];
pub const ACTION_STATUS: &[&str] = &["IDEA", "PLANNED", "IN_PROGRESS", "COMPLETED", "PAUSED", "DROPPED"];
pub const DEPARTMENT_ROLE: &[&str] = &["LEAD", "SUPPORT", "ADVICE"];
pub const PARTNERSHIP_STATUS: &[&str] = &["PROPOSED", "ACTIVE", "COMPLETED", "ENDED"];
pub const MEMBER_ROLE: &[&str] = &["LEAD", "PARTNER", "SUPPORTER", "ADVISOR"];
pub const CONTRIBUTION_KIND: &[&str] = &["MONEY", "VOLUNTEER_HOURS", "EXPERTISE", "FACILITIES", "OTHER"];
pub const EXCHANGE_KIND: &[&str] = &["KNOWLEDGE_SHARING", "STUDY_VISIT", "JOINT_PROJECT"];

fn col(c: &str) -> Expr {
    Expr::col(name(c))
}

/// Every table, in creation order (parents before children).
fn tables() -> Vec<TableCreateStatement> {
    let mut out = Vec::new();

    let mut t = table("community");
    t.col(string("slug").unique_key())
        .col(string("name"))
        .col(text("description"))
        .col(double_null("latitude"))
        .col(double_null("longitude"))
        .col(enumeration("status", COMMUNITY_STATUS))
        .check(col("latitude").between(-90.0, 90.0))
        .check(col("longitude").between(-180.0, 180.0));
    timestamps(&mut t);
    out.push(t);

    let mut t = table("department");
    t.col(string("slug").unique_key())
        .col(string("name"))
        .col(text("description"));
    timestamps(&mut t);
    out.push(t);

    let mut t = table("theme");
    t.col(string("slug").unique_key())
        .col(string("name"))
        .col(text("description"));
    timestamps(&mut t);
    out.push(t);

    let mut t = table("organization");
    t.col(string("slug").unique_key())
        .col(string("name"))
        .col(enumeration("kind", ORGANIZATION_KIND))
        .col(text("description"))
        .col(text_null("website"))
        .col(uuid_null("community_id"))
        .foreign_key(&mut fk("organization", "community_id", "community", RESTRICT));
    timestamps(&mut t);
    out.push(t);

    let mut t = table("contact");
    t.col(string("name"))
        .col(text_null("title"))
        .col(text_null("email"))
        .col(text_null("phone"))
        .col(boolean("is_public"))
        .col(uuid_null("community_id"))
        .col(uuid_null("organization_id"))
        .col(uuid_null("department_id"))
        .foreign_key(&mut fk("contact", "community_id", "community", CASCADE))
        .foreign_key(&mut fk("contact", "organization_id", "organization", CASCADE))
        .foreign_key(&mut fk("contact", "department_id", "department", CASCADE));
    timestamps(&mut t);
    out.push(t);

    let mut t = table("plan");
    t.col(uuid("community_id"))
        .col(string("title"))
        .col(text("summary"))
        .col(text("vision"))
        .col(int("period_from"))
        .col(int("period_to"))
        .col(enumeration("status", PLAN_STATUS))
        .col(date_null("adopted_on"))
        .check(col("period_from").lte(col("period_to")))
        .check(col("period_from").between(1900, 2200))
        .foreign_key(&mut fk("plan", "community_id", "community", RESTRICT));
    timestamps(&mut t);
    out.push(t);

    out.push(join_table(
        "plan_theme",
        ("plan_id", "plan"),
        ("theme_id", "theme"),
    ));

    let mut t = table("plan_involvement");
    t.col(uuid("plan_id"))
        .col(uuid("organization_id"))
        .col(enumeration("role", INVOLVEMENT_ROLE))
        .col(text("description"))
        .foreign_key(&mut fk("plan_involvement", "plan_id", "plan", CASCADE))
        .foreign_key(&mut fk(
            "plan_involvement",
            "organization_id",
            "organization",
            RESTRICT,
        ));
    timestamps(&mut t);
    out.push(t);

    let mut t = table("engagement_event");
    t.col(uuid("community_id"))
        .col(uuid_null("plan_id"))
        .col(enumeration("kind", EVENT_KIND))
        .col(string("title"))
        .col(text("description"))
        .col(ColumnDef::new(name("occurred_on")).date().not_null())
        .col(int("participants"))
        .check(col("participants").gte(0))
        .foreign_key(&mut fk("engagement_event", "community_id", "community", RESTRICT))
        .foreign_key(&mut fk("engagement_event", "plan_id", "plan", RESTRICT));
    timestamps(&mut t);
    out.push(t);

    out.push(join_table(
        "engagement_event_organization",
        ("event_id", "engagement_event"),
        ("organization_id", "organization"),
    ));

    let mut t = table("action");
    t.col(uuid("plan_id"))
        .col(string("title"))
        .col(text("description"))
        .col(enumeration("horizon", HORIZON))
        .col(enumeration("status", ACTION_STATUS))
        .col(int("progress"))
        .col(int_null("potential"))
        .col(date_null("start_on"))
        .col(date_null("due_on"))
        .col(big_null("budget_estimate"))
        .col(uuid_null("lead_organization_id"))
        .col(boolean("seeking_partners"))
        .col(text_null("partner_needs"))
        .check(col("progress").between(0, 100))
        .check(col("potential").between(1, 5))
        .check(col("budget_estimate").gte(0))
        .check(col("start_on").lte(col("due_on")))
        .foreign_key(&mut fk("action", "plan_id", "plan", RESTRICT))
        .foreign_key(&mut fk(
            "action",
            "lead_organization_id",
            "organization",
            RESTRICT,
        ));
    timestamps(&mut t);
    out.push(t);

    out.push(join_table(
        "action_theme",
        ("action_id", "action"),
        ("theme_id", "theme"),
    ));

    let mut t = table("action_department");
    t.col(uuid("action_id"))
        .col(uuid("department_id"))
        .col(enumeration("role", DEPARTMENT_ROLE))
        .col(text("contribution"))
        .foreign_key(&mut fk("action_department", "action_id", "action", CASCADE))
        .foreign_key(&mut fk(
            "action_department",
            "department_id",
            "department",
            RESTRICT,
        ));
    timestamps(&mut t);
    out.push(t);

    let mut t = table("action_update");
    t.col(uuid("action_id"))
        .col(text("body"))
        .col(int_null("progress"))
        .col(string("author_name"))
        .col(ColumnDef::new(name("posted_on")).date().not_null())
        .check(col("progress").between(0, 100))
        .foreign_key(&mut fk("action_update", "action_id", "action", CASCADE));
    timestamps(&mut t);
    out.push(t);

    let mut t = table("partnership");
    t.col(string("title"))
        .col(text("description"))
        .col(uuid_null("action_id"))
        .col(uuid_null("plan_id"))
        .col(enumeration("status", PARTNERSHIP_STATUS))
        .col(date_null("starts_on"))
        .col(date_null("ends_on"))
        .check(col("starts_on").lte(col("ends_on")))
        // Around an action or around a whole plan: exactly one of the two.
        .check(
            col("action_id")
                .is_null()
                .and(col("plan_id").is_not_null())
                .or(col("action_id").is_not_null().and(col("plan_id").is_null())),
        )
        .foreign_key(&mut fk("partnership", "action_id", "action", RESTRICT))
        .foreign_key(&mut fk("partnership", "plan_id", "plan", RESTRICT));
    timestamps(&mut t);
    out.push(t);

    let mut t = table("partnership_member");
    t.col(uuid("partnership_id"))
        .col(uuid_null("community_id"))
        .col(uuid_null("organization_id"))
        .col(uuid_null("department_id"))
        .col(enumeration("role", MEMBER_ROLE))
        .col(enumeration("contribution_kind", CONTRIBUTION_KIND))
        .col(text("contribution"))
        .col(big_null("amount_dkk"))
        .col(int_null("volunteer_hours"))
        .check(col("amount_dkk").gte(0))
        .check(col("volunteer_hours").gte(0))
        // A member is exactly one party: a community, an organisation or a department.
        .check(Expr::cust(
            "(CASE WHEN community_id IS NULL THEN 0 ELSE 1 END \
             + CASE WHEN organization_id IS NULL THEN 0 ELSE 1 END \
             + CASE WHEN department_id IS NULL THEN 0 ELSE 1 END) = 1",
        ))
        .foreign_key(&mut fk(
            "partnership_member",
            "partnership_id",
            "partnership",
            CASCADE,
        ))
        .foreign_key(&mut fk(
            "partnership_member",
            "community_id",
            "community",
            RESTRICT,
        ))
        .foreign_key(&mut fk(
            "partnership_member",
            "organization_id",
            "organization",
            RESTRICT,
        ))
        .foreign_key(&mut fk(
            "partnership_member",
            "department_id",
            "department",
            RESTRICT,
        ));
    timestamps(&mut t);
    out.push(t);

    let mut t = table("idea");
    t.col(string("title"))
        .col(text("description"))
        .col(uuid_null("community_id"))
        .col(uuid_null("organization_id"))
        .foreign_key(&mut fk("idea", "community_id", "community", RESTRICT))
        .foreign_key(&mut fk("idea", "organization_id", "organization", RESTRICT));
    timestamps(&mut t);
    out.push(t);

    out.push(join_table(
        "idea_theme",
        ("idea_id", "idea"),
        ("theme_id", "theme"),
    ));

    let mut t = table("idea_exchange");
    t.col(uuid_null("idea_id"))
        .col(string("title"))
        .col(enumeration("kind", EXCHANGE_KIND))
        .col(uuid("initiator_community_id"))
        .col(date_null("occurred_on"))
        .col(text("outcome"))
        .foreign_key(&mut fk("idea_exchange", "idea_id", "idea", RESTRICT))
        .foreign_key(&mut fk(
            "idea_exchange",
            "initiator_community_id",
            "community",
            RESTRICT,
        ));
    timestamps(&mut t);
    out.push(t);

    out.push(join_table(
        "idea_exchange_participant",
        ("exchange_id", "idea_exchange"),
        ("community_id", "community"),
    ));
    out.push(join_table(
        "idea_exchange_action",
        ("exchange_id", "idea_exchange"),
        ("action_id", "action"),
    ));

    let mut t = Table::create();
    t.table(name("app_meta"))
        .col(string("key").primary_key())
        .col(text("value"));
    out.push(t);

    out
}

/// A many-to-many table: rows go with the left side, the right side cannot be deleted while
/// referenced.
fn join_table(t: &str, left: (&str, &str), right: (&str, &str)) -> TableCreateStatement {
    Table::create()
        .table(name(t))
        .col(uuid(left.0))
        .col(uuid(right.0))
        .primary_key(Index::create().col(name(left.0)).col(name(right.0)))
        .foreign_key(&mut fk(t, left.0, left.1, CASCADE))
        .foreign_key(&mut fk(t, right.0, right.1, RESTRICT))
        .to_owned()
}

/// Indexes for every foreign key (the left column of a join table is covered by its primary
/// key) and every filter and ordering the API offers.
fn indexes() -> Vec<IndexCreateStatement> {
    let plain: &[(&str, &[&str])] = &[
        ("community", &["name"]),
        ("community", &["status"]),
        ("community", &["updated_at"]),
        ("department", &["name"]),
        ("theme", &["name"]),
        ("organization", &["community_id"]),
        ("organization", &["kind"]),
        ("organization", &["name"]),
        ("organization", &["updated_at"]),
        ("contact", &["community_id"]),
        ("contact", &["organization_id"]),
        ("contact", &["department_id"]),
        ("plan", &["community_id", "status"]),
        ("plan", &["status"]),
        ("plan", &["period_from", "period_to"]),
        ("plan", &["updated_at"]),
        ("plan_theme", &["theme_id"]),
        ("plan_involvement", &["plan_id"]),
        ("plan_involvement", &["organization_id"]),
        ("engagement_event", &["community_id", "occurred_on"]),
        ("engagement_event", &["plan_id"]),
        ("engagement_event", &["occurred_on"]),
        ("engagement_event_organization", &["organization_id"]),
        ("action", &["plan_id"]),
        ("action", &["status"]),
        ("action", &["horizon"]),
        ("action", &["seeking_partners", "status"]),
        ("action", &["lead_organization_id"]),
        ("action", &["updated_at"]),
        ("action_theme", &["theme_id"]),
        ("action_department", &["department_id"]),
        ("action_update", &["action_id", "posted_on"]),
        ("partnership", &["action_id"]),
        ("partnership", &["plan_id"]),
        ("partnership", &["status"]),
        ("partnership", &["updated_at"]),
        ("partnership_member", &["partnership_id"]),
        ("partnership_member", &["community_id"]),
        ("partnership_member", &["organization_id"]),
        ("partnership_member", &["department_id"]),
        ("idea", &["community_id"]),
        ("idea", &["organization_id"]),
        ("idea", &["updated_at"]),
        ("idea_theme", &["theme_id"]),
        ("idea_exchange", &["idea_id"]),
        ("idea_exchange", &["initiator_community_id"]),
        ("idea_exchange", &["kind"]),
        ("idea_exchange", &["occurred_on"]),
        ("idea_exchange", &["updated_at"]),
        ("idea_exchange_participant", &["community_id"]),
    ];
    let mut out: Vec<_> = plain.iter().map(|(t, c)| index(t, c)).collect();
    out.push(unique(
        "plan_involvement",
        &["plan_id", "organization_id", "role"],
    ));
    out.push(unique("action_department", &["action_id", "department_id"]));
    // A party is a member of a partnership once (NULLs, the other kinds of party, don't clash).
    out.push(unique("partnership_member", &["partnership_id", "community_id"]));
    out.push(unique(
        "partnership_member",
        &["partnership_id", "organization_id"],
    ));
    out.push(unique("partnership_member", &["partnership_id", "department_id"]));
    // An action comes from at most one idea exchange.
    out.push(unique("idea_exchange_action", &["action_id"]));
    out
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in tables() {
            manager.create_table(t).await?;
        }
        for i in indexes() {
            manager.create_index(i).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in tables().iter().rev() {
            let table = t
                .get_table_name()
                .cloned()
                .ok_or_else(|| DbErr::Migration("a table without a name".to_owned()))?;
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

//! The entities' relations are the database's foreign keys: every foreign key the migrations
//! create is declared on its entity (the api crate joins through them), and no entity declares
//! one the database does not enforce (one exception on SQLite, below).
use std::collections::BTreeSet;

use lup_tests::{Backend, TestApp, both};
use sea_orm::{
    ConnectionTrait, Iterable, RelationTrait, Statement,
    sea_query::{Condition, Expr, Query, SqliteQueryBuilder},
};

/// Each entity's declared foreign keys, as `table.column=target.column` pairs (joined by `&`
/// for a key of several columns).
macro_rules! declared {
    ($($m:ident),* $(,)?) => {{
        let mut out = BTreeSet::new();
        $(for relation in entity::$m::Relation::iter() {
            out.insert(render(Condition::from(relation.def())));
        })*
        out
    }};
}

/// `"a"."b" = "c"."d" AND …` → `a.b=c.d&…`, the pairs sorted.
fn render(condition: Condition) -> String {
    let sql = Query::select()
        .expr(Expr::val(1))
        .cond_where(condition)
        .to_string(SqliteQueryBuilder);
    let (_, predicate) = sql.split_once(" WHERE ").expect("a join condition");
    let mut pairs: Vec<String> = predicate
        .trim_matches(|c| c == '(' || c == ')')
        .split(" AND ")
        .map(|pair| pair.replace(['"', ' ', '(', ')'], ""))
        .collect();
    pairs.sort();
    pairs.join("&")
}

async fn enforced(app: &TestApp) -> BTreeSet<String> {
    let backend = app.db.get_database_backend();
    let sql = match app.backend {
        Backend::Sqlite => {
            "SELECT m.name AS tbl, f.id AS fk, f.\"from\" AS col, f.\"table\" AS target, f.\"to\" AS target_col \
             FROM sqlite_master m, pragma_foreign_key_list(m.name) f \
             WHERE m.type = 'table' ORDER BY tbl, fk, f.seq"
        }
        Backend::Postgres => {
            "SELECT cl.relname::text AS tbl, c.oid::bigint AS fk, a.attname::text AS col, \
                    rcl.relname::text AS target, ra.attname::text AS target_col \
             FROM pg_constraint c \
             JOIN pg_class cl ON cl.oid = c.conrelid \
             JOIN pg_class rcl ON rcl.oid = c.confrelid \
             CROSS JOIN LATERAL unnest(c.conkey, c.confkey) WITH ORDINALITY AS k(attnum, fattnum, ord) \
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum \
             JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = k.fattnum \
             WHERE c.contype = 'f' AND cl.relnamespace = current_schema()::regnamespace \
             ORDER BY tbl, fk, k.ord"
        }
    };
    let rows = app
        .db
        .query_all_raw(Statement::from_string(backend, sql))
        .await
        .expect("foreign keys");
    let mut keys: Vec<((String, i64), Vec<String>)> = Vec::new();
    for row in rows {
        let get = |c: &str| row.try_get::<String>("", c).expect(c);
        let key = (get("tbl"), row.try_get::<i64>("", "fk").expect("fk"));
        let pair = format!("{}.{}={}.{}", key.0, get("col"), get("target"), get("target_col"));
        match keys.last_mut() {
            Some((k, pairs)) if *k == key => pairs.push(pair),
            _ => keys.push((key, vec![pair])),
        }
    }
    keys.into_iter()
        .map(|(_, mut pairs)| {
            pairs.sort();
            pairs.join("&")
        })
        .collect()
}

both!(entity_relations_are_the_foreign_keys, |app: TestApp| async move {
    let declared = declared!(
        account,
        account_community,
        action,
        action_department,
        action_theme,
        action_update,
        annual_review,
        annual_review_entry,
        annual_review_focus_community,
        annual_review_focus_theme,
        api_key,
        app_meta,
        audit_log,
        change_event,
        change_state,
        community,
        consultation_response,
        contact,
        department,
        engagement_event,
        engagement_event_organization,
        engagement_weights,
        idea,
        idea_exchange,
        idea_exchange_action,
        idea_exchange_participant,
        idea_theme,
        organization,
        partnership,
        partnership_member,
        plan,
        plan_involvement,
        plan_theme,
        refresh_token,
        search_document,
        search_term,
        theme,
        webhook_delivery,
        webhook_dispatch,
        webhook_endpoint,
    );
    let mut enforced = enforced(&app).await;
    if app.backend == Backend::Sqlite {
        // Added to an existing table, which SQLite cannot give a constraint (see the
        // migration `proposer_foreign_key`); `deleteOrganization` checks it there.
        enforced.insert("partnership.proposed_by_organization_id=organization.id".into());
    }
    assert!(enforced.len() > 40, "{enforced:#?}");
    let undeclared: Vec<_> = enforced.difference(&declared).collect();
    let unenforced: Vec<_> = declared.difference(&enforced).collect();
    assert!(
        undeclared.is_empty() && unenforced.is_empty(),
        "foreign keys no entity declares: {undeclared:#?}\nrelations the database does not enforce: {unenforced:#?}"
    );
});

//! Names and titles are one line (`Check::text`): those stored before the rule with line
//! breaks or tabs (a script's import, an API client's paste) have each run of them replaced by
//! one space, so that a form sending such a name back unchanged is not refused for it. Only the
//! rows that hold one are written; their version and times stay (nothing a user changed).
use sea_orm_migration::{prelude::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The one-line columns: names and titles of at most 200 characters.
const COLUMNS: [(&str, &str); 16] = [
    ("community", "name"),
    ("organization", "name"),
    ("theme", "name"),
    ("department", "name"),
    ("plan", "title"),
    ("action", "title"),
    ("action_update", "author_name"),
    ("partnership", "title"),
    ("idea", "title"),
    ("idea_exchange", "title"),
    ("engagement_event", "title"),
    ("contact", "name"),
    ("contact", "title"),
    ("account", "display_name"),
    ("consultation_response", "name"),
    ("consultation_response", "association"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        one_line_names(manager).await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // The line breaks are not kept: nothing to restore.
        Ok(())
    }
}

/// The migration's step: each line break (a CR LF as one) and tab in a name or title as a
/// space.
pub async fn one_line_names(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    {
        let db = manager.get_connection();
        for (table, column) in COLUMNS {
            let sql = match manager.get_database_backend() {
                DatabaseBackend::Postgres => format!(
                    "UPDATE {table} SET {column} = regexp_replace(replace({column}, E'\\r\\n', ' '), \
                     E'[\\t\\n\\r\\u000b\\u000c\\u0085\\u2028\\u2029]', ' ', 'g') \
                     WHERE {column} ~ E'[\\t\\n\\r\\u000b\\u000c\\u0085\\u2028\\u2029]'"
                ),
                _ => {
                    // SQLite has no regular expressions: a CR LF, then each character in turn.
                    let breaks = [9, 10, 11, 12, 13, 133, 8232, 8233];
                    let replaced = breaks
                        .iter()
                        .fold(format!("replace({column}, char(13, 10), ' ')"), |e, c| {
                            format!("replace({e}, char({c}), ' ')")
                        });
                    let found = breaks
                        .iter()
                        .map(|c| format!("instr({column}, char({c})) > 0"))
                        .collect::<Vec<_>>()
                        .join(" OR ");
                    format!("UPDATE {table} SET {column} = {replaced} WHERE {found}")
                }
            };
            db.execute_unprepared(&sql).await?;
        }
        Ok(())
    }
}

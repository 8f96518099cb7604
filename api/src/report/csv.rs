//! The annual review as CSV: one row per community (RFC 4180: comma-separated, fields quoted
//! when needed, CRLF line ends, a header line first), UTF-8 with a byte order mark so that
//! Excel reads "Gjøl" right. Numbers are plain (`1234`, `12.5`); an empty field is a figure
//! that does not apply (no actions, no average progress). A text (a name, a plan's title, the
//! remarks) that a spreadsheet would take for a formula — it starts with `=`, `+`, `-`, `@`, a
//! tab or a carriage return — gets a `'` in front (OWASP's advice against CSV injection).
use super::Report;
use crate::review::snapshot::COMPONENTS;

/// The columns before the engagement components.
const HEAD: [&str; 17] = [
    "year",
    "status",
    "community",
    "community_slug",
    "plans",
    "actions_total",
    "actions_idea",
    "actions_planned",
    "actions_in_progress",
    "actions_completed",
    "actions_paused",
    "actions_dropped",
    "actions_long_term",
    "actions_here_and_now",
    "long_term_share",
    "actions_completed_in_year",
    "average_progress",
];

/// The columns after them.
const TAIL: [&str; 11] = [
    "engagement_total",
    "partnerships_active",
    "partnership_members",
    "volunteer_hours",
    "money_dkk",
    "municipal_dkk",
    "idea_exchanges_initiated",
    "idea_exchanges_participated",
    "consultation_responses",
    "consultation_replied",
    "remarks",
];

/// The header: `HEAD`, then `engagement_<component>` for each component, then `TAIL`.
pub fn header() -> Vec<String> {
    HEAD.iter()
        .map(|s| (*s).to_owned())
        .chain(
            COMPONENTS
                .iter()
                .map(|(key, _)| format!("engagement_{}", key.to_lowercase())),
        )
        .chain(TAIL.iter().map(|s| (*s).to_owned()))
        .collect()
}

/// A text cell, made harmless for spreadsheets: a leading `'` where it could start a formula.
pub fn text(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    }
}

/// The byte order mark that tells Excel the file is UTF-8.
pub(super) const BOM: &[u8] = "\u{FEFF}".as_bytes();

fn opt(x: Option<f64>) -> String {
    x.map(|v| v.to_string()).unwrap_or_default()
}

pub fn render(report: &Report) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(BOM.to_vec());
    w.write_record(header())?;
    let status = match report.review.status {
        entity::annual_review::ReviewStatus::Draft => "DRAFT",
        entity::annual_review::ReviewStatus::Published => "PUBLISHED",
    };
    for (entry, s) in &report.entries {
        let a = &s.actions;
        let mut row: Vec<String> = vec![
            report.review.year.to_string(),
            status.to_owned(),
            text(&s.community_name),
            text(&s.community_slug),
            text(
                &s.plans
                    .iter()
                    .map(|p| p.title.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
        ];
        row.extend(a.count_columns());
        row.extend([
            opt(a.long_term_share().map(|x| (x * 10_000.0).round() / 10_000.0)),
            a.completed_in_year.to_string(),
            opt(a.average_progress),
        ]);
        for (key, _) in COMPONENTS {
            let value = s
                .engagement
                .components
                .iter()
                .find(|p| p.key == key)
                .map(|p| p.value);
            // Figures taken before a component was counted lack it: empty, not 0.
            row.push(value.map(|v| v.to_string()).unwrap_or_default());
        }
        row.extend([
            s.engagement.total.to_string(),
            s.partnerships.active.to_string(),
            s.partnerships.members.to_string(),
            s.contributions.volunteer_hours.to_string(),
            s.contributions.money_dkk.to_string(),
            s.contributions.municipal_dkk.to_string(),
            s.idea_exchanges.initiated.to_string(),
            s.idea_exchanges.participated.to_string(),
            s.consultation
                .as_ref()
                .map(|c| c.responses.to_string())
                .unwrap_or_default(),
            s.consultation
                .as_ref()
                .map(|c| c.replied.to_string())
                .unwrap_or_default(),
            text(&entry.remarks),
        ]);
        w.write_record(&row)?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

#[cfg(test)]
mod tests {
    use super::text;

    #[test]
    fn formulas_are_defused() {
        for (given, written) in [
            ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"),
            ("+45 1234", "'+45 1234"),
            ("- en god start", "'- en god start"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tfane", "'\tfane"),
            ("\rlinje", "'\rlinje"),
            ("Gjøl", "Gjøl"),
            ("", ""),
        ] {
            assert_eq!(text(given), written, "{given:?}");
        }
    }
}

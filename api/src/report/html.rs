//! The annual review as a printable HTML page (Danish), with its charts inline.
use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Europe::Copenhagen;
use entity::annual_review::ReviewStatus;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use plotters::style::RGBColor;

use super::{
    Report,
    charts::{self, Bar, Segment},
};
use crate::{
    action::{ActionStatus, Horizon},
    review::snapshot::{self, Snapshot, YearTotals},
};

/// `x` with `.` between thousands and `,` before at most one decimal: `12.345,5`.
pub fn number(x: f64) -> String {
    decimal(x, 1)
}

/// Engagement points as they are computed and shown everywhere else, to two decimals:
/// `3,88`, `34,64`, `6` (so a table's points add up to its total).
pub fn points(x: f64) -> String {
    decimal(x, 2)
}

/// `x` with `.` between thousands and `,` before at most `places` decimals, trailing zeros
/// left out.
fn decimal(x: f64, places: u32) -> String {
    let scale = 10_u64.pow(places);
    let scaled = (x.abs() * scale as f64).round() as u64;
    let negative = x < 0.0 && scaled > 0;
    let (whole, fraction) = (scaled / scale, scaled % scale);
    let digits = whole.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    if fraction > 0 {
        out.push(',');
        let fraction = format!("{fraction:0width$}", width = places as usize);
        out.push_str(fraction.trim_end_matches('0'));
    }
    if negative { format!("-{out}") } else { out }
}

pub(super) fn int(x: i64) -> String {
    number(x as f64)
}

const MONTHS: [&str; 12] = [
    "januar",
    "februar",
    "marts",
    "april",
    "maj",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "december",
];

/// `27. november 2026`: the day in Danish time (Europe/Copenhagen).
pub(super) fn date(t: DateTime<Utc>) -> String {
    day(t.with_timezone(&Copenhagen).date_naive())
}

/// `27. november 2026`.
pub(super) fn day(d: chrono::NaiveDate) -> String {
    format!("{}. {} {}", d.day(), MONTHS[d.month0() as usize], d.year())
}

/// A plan's title with its period, `Udviklingsplan for Gjøl (2025–2028)`; a title that holds
/// its period already (`Biersted 2024–2027: plads til alle`) is not given it twice.
fn plan_with_period(p: &crate::review::snapshot::PlanFigures) -> String {
    let period = format!("{}–{}", p.period_from, p.period_to);
    let dashes = |t: &str| t.replace(['-', '—'], "–");
    if dashes(&p.title).contains(&period) {
        p.title.clone()
    } else {
        format!("{} ({period})", p.title)
    }
}

/// The paragraphs of a text (separated by a blank line), Windows and old Mac line ends made
/// `\n`; single line breaks stay inside a paragraph (shown with `white-space: pre-line`).
pub(super) fn paragraphs(text: &str) -> Vec<String> {
    text.replace("\r\n", "\n")
        .replace('\r', "\n")
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

fn percent(share: Option<f64>) -> String {
    share.map_or_else(|| "–".to_owned(), |s| format!("{} %", number(s * 100.0)))
}

const STATUS_COLORS: [RGBColor; 6] = [
    RGBColor(158, 158, 158),
    RGBColor(100, 181, 246),
    RGBColor(30, 136, 229),
    RGBColor(46, 125, 50),
    RGBColor(249, 168, 37),
    RGBColor(198, 40, 40),
];
const LONG_TERM: RGBColor = RGBColor(57, 73, 171);
const HERE_AND_NOW: RGBColor = RGBColor(251, 140, 0);
const ENGAGEMENT: RGBColor = RGBColor(0, 137, 123);
const YEARS: RGBColor = RGBColor(94, 53, 177);

/// The rules both printable pages share; each adds its own.
const BASE_STYLE: &str = r#"
body { font-family: system-ui, sans-serif; color: #222; max-width: 900px; margin: 2rem auto; padding: 0 1rem; line-height: 1.45; }
h1 { margin-bottom: .2rem; } h2 { margin-top: 2.2rem; border-bottom: 2px solid #ddd; padding-bottom: .2rem; }
table { border-collapse: collapse; margin: .6rem 0; width: 100%; }
th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid #eee; vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }"#;

/// The page's own rules, after [`BASE_STYLE`].
const STYLE: &str = r#"
.draft { background: #fff3cd; border: 2px solid #e0b100; padding: .5rem .8rem; font-weight: bold; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
p.text { white-space: pre-line; }
.muted { color: #666; } svg.chart { display: block; max-width: 100%; height: auto; margin: 1rem 0; }
section.community { break-inside: avoid; }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; } section.chart-section { break-inside: avoid; } .draft { border: 2px solid #000; } }
"#;

fn status_chart(report: &Report) -> String {
    let segments: Vec<Segment> = snapshot::ActionFigures::default()
        .by_status()
        .iter()
        .zip(STATUS_COLORS)
        .map(|((s, _), color)| Segment {
            name: ActionStatus::from(*s).label(),
            color,
        })
        .collect();
    let bars: Vec<Bar> = report
        .entries
        .iter()
        .map(|(_, s)| Bar {
            label: s.community_name.clone(),
            values: s.actions.by_status().iter().map(|(_, n)| *n as f64).collect(),
        })
        .collect();
    charts::horizontal_bars(
        "chart-actions-by-status",
        "Indsatser efter status pr. lokalsamfund",
        "Antal indsatser",
        &segments,
        &bars,
        None,
        None,
    )
}

fn engagement_chart(report: &Report) -> String {
    let bars: Vec<Bar> = report
        .entries
        .iter()
        .map(|(_, s)| Bar {
            label: s.community_name.clone(),
            values: vec![s.engagement.total.max(0.0)],
        })
        .collect();
    charts::horizontal_bars(
        "chart-engagement",
        "Lokalt engagement pr. lokalsamfund (point)",
        "Engagement (vægtede point)",
        &[Segment {
            name: "Engagement",
            color: ENGAGEMENT,
        }],
        &bars,
        None,
        None,
    )
}

fn horizon_chart(report: &Report, totals: &Snapshot) -> String {
    let share = |s: &Snapshot| {
        let n = (s.actions.long_term + s.actions.here_and_now) as f64;
        if n > 0.0 {
            vec![
                s.actions.long_term as f64 / n * 100.0,
                s.actions.here_and_now as f64 / n * 100.0,
            ]
        } else {
            vec![0.0, 0.0]
        }
    };
    let mut bars = vec![Bar {
        label: "Alle lokalsamfund".to_owned(),
        values: share(totals),
    }];
    bars.extend(report.entries.iter().map(|(_, s)| Bar {
        label: s.community_name.clone(),
        values: share(s),
    }));
    let marker = report
        .review
        .wanted_long_term_share
        .map(|w| (f64::from(w), format!("Ønsket: {w} % langsigtede")));
    charts::horizontal_bars(
        "chart-horizon",
        "Langsigtede indsatser og indsatser her og nu (andel i %)",
        "Andel af indsatserne, der ikke er opgivet (%)",
        &[
            Segment {
                name: Horizon::LongTerm.label(),
                color: LONG_TERM,
            },
            Segment {
                name: Horizon::HereAndNow.label(),
                color: HERE_AND_NOW,
            },
        ],
        &bars,
        Some(100.0),
        marker,
    )
}

fn years_chart(report: &Report) -> String {
    let bars: Vec<(String, f64)> = report
        .history
        .iter()
        .map(|t| (t.year.to_string(), t.engagement))
        .collect();
    charts::vertical_bars(
        "chart-year-over-year",
        "Samlet engagement år for år (point)",
        "Engagement (point)",
        YEARS,
        &bars,
    )
}

fn figures_table(s: &Snapshot) -> Markup {
    let a = &s.actions;
    html! {
        table {
            tbody {
                tr { th { "Indsatser i alt" } td.n { (int(a.total)) } }
                @for (status, n) in a.by_status() {
                    tr { th { "– " (ActionStatus::from(status).label()) } td.n { (int(n)) } }
                }
                tr { th { "Langsigtede / her og nu" } td.n { (int(a.long_term)) " / " (int(a.here_and_now)) } }
                tr { th { "Gennemført i året" } td.n { (int(a.completed_in_year)) } }
                tr { th { "Gennemsnitlig fremdrift" } td.n { (a.average_progress.map_or_else(|| "–".to_owned(), |p| format!("{} %", number(p)))) } }
                tr { th { "Engagement (point)" } td.n { (points(s.engagement.total)) } }
                tr { th { "Aktive partnerskaber / parter" } td.n { (int(s.partnerships.active)) " / " (int(s.partnerships.members)) } }
                tr { th { "Frivillige timer" } td.n { (int(s.contributions.volunteer_hours)) } }
                tr { th { "Medfinansiering (kr.)" } td.n { (int(s.contributions.money_dkk)) } }
                tr { th { "Kommunale midler (kr.)" } td.n { (int(s.contributions.municipal_dkk)) } }
                tr { th { "Idéudvekslinger (som initiativtager / som deltager)" } td.n { (int(s.idea_exchanges.initiated)) " / " (int(s.idea_exchanges.participated)) } }
                // Figures taken before responses were counted have none: no row, not a 0.
                @if let Some(c) = &s.consultation {
                    tr.consultation { th { "Offentliggjorte høringssvar / heraf besvaret" } td.n { (int(c.responses)) " / " (int(c.replied)) } }
                }
            }
        }
    }
}

fn engagement_table(s: &Snapshot) -> Markup {
    html! {
        table {
            thead { tr { th { "Komponent" } th.n { "Værdi" } th.n { "Vægt" } th.n { "Point" } } }
            tbody {
                @for p in &s.engagement.components {
                    tr {
                        td { (snapshot::component_label(&p.key)) }
                        td.n { (int(p.value)) }
                        td.n { (p.weight.to_string().replace('.', ",")) }
                        td.n { (points(p.points())) }
                    }
                }
                tr { th { "I alt" } td {} td {} th.n { (points(s.engagement.total)) } }
            }
        }
    }
}

/// A whole printable page in Danish: its `title`, its own `style` rules (after the shared
/// [`BASE_STYLE`]) and its `body`.
pub(super) fn document(title: &str, style: &str, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="da" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(BASE_STYLE)) (PreEscaped(style)) }
            }
            body { (body) }
        }
    }
    .into_string()
}

pub fn render(report: &Report) -> String {
    let r = &report.review;
    let totals = snapshot::sum(report.entries.iter().map(|(_, s)| s));
    let draft = r.status == ReviewStatus::Draft;
    let title = if draft {
        format!("Årsstatus {} (kladde) – landdistriktsprogrammet", r.year)
    } else {
        format!("Årsstatus {} – landdistriktsprogrammet", r.year)
    };
    let body = html! {
        header {
            h1 { "Årsstatus " (r.year) @if draft { " (kladde)" } }
            p.muted { "Landdistriktsprogrammet: de lokale udviklingsplaner (LUP) i lokalsamfundene." }
            @match r.status {
                ReviewStatus::Draft => p.draft id="status" { "Kladde – ikke offentliggjort. Tallene kan stadig blive opdateret." },
                ReviewStatus::Published => p id="status" { "Offentliggjort " (r.published_at.map(date).unwrap_or_default()) "." },
            }
            p.muted { "Tallene for " (r.year) " er opgjort " (date(r.snapshot_taken_at)) " og omfatter kun det, offentligheden kan se: indsatser, partnerskaber og bidrag under vedtagne og arkiverede planer, og engagementet under alle offentlige planer, også dem i høring." }
        }
        section #retning {
            h2 { "Udvalgets pejlemærker for " (r.year + 1) }
            @if r.direction.is_empty() {
                p.muted { "Udvalget har endnu ikke fastlagt pejlemærker." }
            } @else {
                @for paragraph in paragraphs(&r.direction) {
                    p.text { (paragraph) }
                }
            }
            @if let Some(w) = r.wanted_long_term_share {
                p { "Ønsket andel af langsigtede indsatser: " strong { (w) " %" } " (i " (r.year) ": " (percent(totals.actions.long_term_share())) " af indsatserne, der ikke er opgivet)." }
            }
            @if !report.focus_communities.is_empty() {
                p { "Lokalsamfund i fokus: " (report.focus_communities.join(", ")) "." }
            }
            @if !report.focus_themes.is_empty() {
                p { "Temaer i fokus: " (report.focus_themes.join(", ")) "." }
            }
        }
        section #samlet {
            h2 { "Samlet for alle lokalsamfund" }
            (figures_table(&totals))
        }
        section.chart-section { (PreEscaped(status_chart(report))) }
        section.chart-section { (PreEscaped(engagement_chart(report))) }
        section.chart-section { (PreEscaped(horizon_chart(report, &totals))) }
        section.chart-section {
            (PreEscaped(years_chart(report)))
            table {
                thead { tr { th { "År" } th.n { "Indsatser" } th.n { "Gennemført i året" } th.n { "Engagement" } th.n { "Aktive partnerskaber" } th.n { "Frivillige timer" } } }
                tbody {
                    @for t in &report.history {
                        tr {
                            td { (t.year) }
                            td.n { (int(t.actions)) }
                            td.n { (int(t.completed_in_year)) }
                            td.n { (points(t.engagement)) }
                            td.n { (int(t.partnerships_active)) }
                            td.n { (int(t.volunteer_hours)) }
                        }
                    }
                }
            }
            @if YearTotals::weights_differ(&report.history) {
                p.muted #vaegte-aendret { "Vægtene er ændret i perioden: hvert år er opgjort med de vægte, der gjaldt, da årets tal blev opgjort, så en forskel i engagement kan skyldes ændrede vægte og ikke kun mere eller mindre aktivitet." }
            }
        }
        section #lokalsamfund {
            h2 { "Lokalsamfundene" }
            @for (entry, s) in &report.entries {
                section.community {
                    h3 { (s.community_name) }
                    @if s.plans.is_empty() {
                        p.muted { "Ingen vedtaget plan dækker " (r.year) "." }
                    } @else {
                        p { (if s.plans.len() == 1 { "Plan: " } else { "Planer: " }) (s.plans.iter().map(plan_with_period).collect::<Vec<_>>().join("; ")) }
                    }
                    (figures_table(s))
                    @if !entry.remarks.is_empty() {
                        h4 { "Bemærkninger" }
                        @for paragraph in paragraphs(&entry.remarks) {
                            p.text { (paragraph) }
                        }
                    }
                }
            }
        }
        section #metode {
            h2 { "Sådan er engagementet opgjort" }
            p { "Engagementet er summen af komponenterne, hver ganget med sin vægt, målt i kalenderåret og kun ud fra det, offentligheden kan se. Vægtene er dem, der gjaldt, da tallene blev opgjort." }
            (engagement_table(&totals))
        }
    };
    document(&title, STYLE, body)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn dates_are_danish_days() {
        // 23:30 UTC on New Year's Eve is already 1 January in Copenhagen (UTC+1).
        let t = Utc.with_ymd_and_hms(2026, 12, 31, 23, 30, 0).unwrap();
        assert_eq!(date(t), "1. januar 2027");
        // Summer time: UTC+2.
        let t = Utc.with_ymd_and_hms(2026, 6, 30, 22, 30, 0).unwrap();
        assert_eq!(date(t), "1. juli 2026");
        let t = Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap();
        assert_eq!(date(t), "27. november 2026");
    }

    #[test]
    fn numbers_are_written_the_danish_way() {
        assert_eq!(number(12_345.46), "12.345,5");
        assert_eq!(number(-0.04), "0");
        assert_eq!(number(1_000_000.0), "1.000.000");
        // Points to two decimals, as GraphQL and the CSV give them: a table's points add up.
        assert_eq!(points(3.88), "3,88");
        assert_eq!(points(6.5554), "6,56");
        assert_eq!(points(2.7), "2,7");
        assert_eq!(points(34.64), "34,64");
        assert_eq!(points(6.0), "6");
        assert_eq!(points(1_234.05), "1.234,05");
        assert_eq!(points(-1.5), "-1,5");
    }

    #[test]
    fn a_period_is_not_written_twice() {
        let plan = |title: &str| crate::review::snapshot::PlanFigures {
            id: uuid::Uuid::nil(),
            title: title.to_owned(),
            period_from: 2025,
            period_to: 2028,
        };
        assert_eq!(
            plan_with_period(&plan("Udviklingsplan for Gjøl")),
            "Udviklingsplan for Gjøl (2025–2028)"
        );
        for title in [
            "Udviklingsplan for Arentsminde 2025–2028",
            "Plan 2025-2028 ",
            "Biersted 2025–2028: plads til alle",
        ] {
            assert_eq!(plan_with_period(&plan(title)), title);
        }
        assert_eq!(
            plan_with_period(&plan("Plan 2024–2028")),
            "Plan 2024–2028 (2025–2028)"
        );
    }

    #[test]
    fn paragraphs_keep_line_breaks() {
        assert_eq!(
            paragraphs("Første linje\r\nanden linje\r\n\r\nNyt afsnit\n\n\n"),
            ["Første linje\nanden linje", "Nyt afsnit"]
        );
    }
}

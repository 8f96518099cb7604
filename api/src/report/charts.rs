//! The report's charts, drawn on the server as inline SVG with `plotters` (its SVG backend
//! only: no bitmap or system-font libraries; the browser renders the text). Each chart is an
//! `<svg>` with a stable `id`, `role="img"`, an `aria-label` and a `<title>`.
use plotters::{
    coord::Shift,
    prelude::*,
    style::text_anchor::{HPos, Pos, VPos},
};

/// One horizontal bar (a community), made of stacked segments.
pub struct Bar {
    pub label: String,
    pub values: Vec<f64>,
}

/// A series of a bar chart: its name (for the legend) and colour.
pub struct Segment {
    pub name: &'static str,
    pub color: RGBColor,
}

const WIDTH: u32 = 880;
const ROW: u32 = 24;
const FONT: &str = "sans-serif";

type Drawn = Result<(), Box<dyn std::error::Error>>;

/// The SVG of `draw`, with the chart's id, role, label and title.
fn svg(
    id: &str,
    title: &str,
    height: u32,
    draw: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> Drawn,
) -> String {
    let mut out = String::new();
    let drawn = {
        let root = SVGBackend::with_string(&mut out, (WIDTH, height)).into_drawing_area();
        let result = root.fill(&WHITE).map_err(Into::into).and_then(|()| draw(&root));
        result.and_then(|()| root.present().map_err(Into::into))
    };
    if let Err(e) = drawn {
        tracing::error!(error = %e, chart = id, "a report chart could not be drawn");
        out = format!(r#"<svg width="{WIDTH}" height="40" xmlns="http://www.w3.org/2000/svg"></svg>"#);
    }
    let label = maud::html! { (title) }.into_string();
    let attributes = format!(r#"<svg id="{id}" class="chart" role="img" aria-label="{label}" "#);
    let mut out = out.replacen("<svg ", &attributes, 1);
    if let Some(end) = out.find('>') {
        out.insert_str(end + 1, &format!("<title>{label}</title>"));
    }
    out
}

fn text(size: u32) -> TextStyle<'static> {
    TextStyle::from((FONT, size).into_font())
}

/// `x` with a thousands separator and at most one decimal, the Danish way.
pub fn number(x: f64) -> String {
    super::html::number(x)
}

/// Horizontal bars, one per row, each stacked from its segments; a dashed vertical line at
/// `marker` (with its label) when given.
pub fn horizontal_bars(
    id: &str,
    title: &str,
    axis: &str,
    segments: &[Segment],
    bars: &[Bar],
    x_max: Option<f64>,
    marker: Option<(f64, String)>,
) -> String {
    let n = bars.len().max(1);
    let legend_room = if segments.len() > 1 {
        28 * segments.len().div_ceil(3) as u32
    } else {
        0
    };
    let height = 90 + legend_room + ROW * n as u32;
    let widest = bars
        .iter()
        .map(|b| b.values.iter().sum::<f64>())
        .fold(0.0_f64, f64::max);
    let x_max = x_max.unwrap_or_else(|| (widest * 1.1).max(1.0));
    svg(id, title, height, |root| {
        let (top, body) = root.split_vertically(legend_room + 34);
        top.draw(&Text::new(title.to_owned(), (10, 8), text(17)))?;
        // The legend: a swatch and a name per segment, three to a line.
        for (i, s) in segments.iter().enumerate() {
            if segments.len() < 2 {
                break;
            }
            let (col, line) = ((i % 3) as i32, (i / 3) as i32);
            let (x, y) = (10 + col * 230, 36 + line * 24);
            top.draw(&Rectangle::new([(x, y), (x + 14, y + 14)], s.color.filled()))?;
            top.draw(&Text::new(s.name.to_owned(), (x + 20, y + 1), text(13)))?;
        }
        let mut chart = ChartBuilder::on(&body)
            .margin_left(8)
            .margin_right(24)
            .margin_bottom(6)
            .x_label_area_size(40)
            .y_label_area_size(190)
            .build_cartesian_2d(0f64..x_max, 0f64..n as f64)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .y_label_formatter(&|_| String::new())
            .x_labels(6)
            .x_label_formatter(&|v| number(*v))
            .x_desc(axis)
            .label_style(text(12))
            .axis_desc_style(text(12))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()?;
        for (i, bar) in bars.iter().enumerate() {
            let y = (n - i - 1) as f64;
            chart.draw_series(std::iter::once(
                EmptyElement::at((0.0, y + 0.5))
                    + Text::new(
                        bar.label.clone(),
                        (-8, 0),
                        text(12).pos(Pos::new(HPos::Right, VPos::Center)),
                    ),
            ))?;
            let mut x = 0.0;
            for (value, segment) in bar.values.iter().zip(segments) {
                if *value > 0.0 {
                    chart.draw_series(std::iter::once(Rectangle::new(
                        [(x, y + 0.18), (x + value, y + 0.82)],
                        segment.color.filled(),
                    )))?;
                    x += value;
                }
            }
        }
        if let Some((at, label)) = marker {
            chart.draw_series(DashedLineSeries::new(
                [(at, 0.0), (at, n as f64)],
                6,
                4,
                BLACK.stroke_width(2),
            ))?;
            chart.draw_series(std::iter::once(
                EmptyElement::at((at, n as f64)) + Text::new(label, (4, 4), text(12)),
            ))?;
        }
        Ok(())
    })
}

/// Vertical bars, one per category (a year), with the value above each (engagement points,
/// to two decimals as everywhere else).
pub fn vertical_bars(id: &str, title: &str, axis: &str, color: RGBColor, bars: &[(String, f64)]) -> String {
    let n = bars.len().max(1);
    let y_max = bars.iter().map(|b| b.1).fold(0.0_f64, f64::max).max(1.0) * 1.15;
    svg(id, title, 340, |root| {
        let (top, body) = root.split_vertically(34);
        top.draw(&Text::new(title.to_owned(), (10, 8), text(17)))?;
        let mut chart = ChartBuilder::on(&body)
            .margin_left(8)
            .margin_right(24)
            .x_label_area_size(30)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..n as f64, 0f64..y_max)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .x_label_formatter(&|_| String::new())
            .y_labels(6)
            .y_label_formatter(&|v| number(*v))
            .y_desc(axis)
            .label_style(text(12))
            .axis_desc_style(text(12))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()?;
        for (i, (label, value)) in bars.iter().enumerate() {
            let x = i as f64;
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x + 0.2, 0.0), (x + 0.8, *value)],
                color.filled(),
            )))?;
            chart.draw_series(std::iter::once(
                EmptyElement::at((x + 0.5, *value))
                    + Text::new(
                        super::html::points(*value),
                        (0, -4),
                        text(12).pos(Pos::new(HPos::Center, VPos::Bottom)),
                    ),
            ))?;
            chart.draw_series(std::iter::once(
                EmptyElement::at((x + 0.5, 0.0))
                    + Text::new(
                        label.clone(),
                        (0, 8),
                        text(13).pos(Pos::new(HPos::Center, VPos::Top)),
                    ),
            ))?;
        }
        Ok(())
    })
}

//! `recommend --plot`: the distribution of the interval peaks (a histogram) with each policy's
//! recommended request (dashed) and limit (solid) as vertical lines. SVG or PNG by extension.

use std::path::Path;

use plotters::prelude::*;

use crate::analysis::recommend::{Target, MIB};
use crate::error::{Error, Result};

const COLORS: [RGBColor; 4] = [
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
];

/// Draw the plot of `t` into `out` (`.svg` or `.png`).
///
/// Errors: an unknown extension, no interval peaks, or the file cannot be written.
pub fn plot(t: &Target, out: &Path) -> Result<()> {
    if t.peaks.is_empty() {
        return Err(Error::Usage(format!(
            "{}: nothing to plot for {} (no interval peaks)",
            out.display(),
            t.target
        )));
    }
    super::plot::render_to(
        out,
        (1100, 650),
        |area| draw(area, t, out),
        |area| draw(area, t, out),
    )
}

fn draw<DB: DrawingBackend>(
    area: DrawingArea<DB, plotters::coord::Shift>,
    t: &Target,
    out: &Path,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let e = super::plot::draw_err(out);
    area.fill(&WHITE).map_err(&e)?;
    let peaks: Vec<f64> = t.peaks.iter().map(|p| p / MIB).collect();
    let lines: Vec<(String, f64, f64)> = t
        .recommendations
        .iter()
        .filter_map(|r| {
            Some((
                r.policy.as_str().to_string(),
                r.request_bytes? as f64 / MIB,
                r.limit_bytes? as f64 / MIB,
            ))
        })
        .collect();
    let lo = peaks.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = peaks.iter().copied().fold(0.0, f64::max);
    let x_max = lines.iter().map(|l| l.2).fold(hi, f64::max) * 1.05 + 1.0;
    let x_min = (lo - (hi - lo).max(1.0) * 0.1).max(0.0);
    let bins = 40usize;
    let width = ((x_max - x_min) / bins as f64).max(1e-9);
    let mut counts = vec![0usize; bins];
    for p in &peaks {
        let b = (((p - x_min) / width) as usize).min(bins - 1);
        counts[b] += 1;
    }
    let y_max = counts.iter().copied().max().unwrap_or(1) as f64 * 1.15 + 1.0;
    let mut chart = ChartBuilder::on(&area)
        .caption(
            format!(
                "{} — {} interval peaks of {:.0} s",
                t.target, t.intervals, t.interval_s
            ),
            ("sans-serif", 22),
        )
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(x_min..x_max, 0.0..y_max)
        .map_err(&e)?;
    chart
        .configure_mesh()
        .x_desc("interval peak (MiB)")
        .y_desc("intervals")
        .label_style(("sans-serif", 15))
        .draw()
        .map_err(&e)?;
    chart
        .draw_series(
            counts
                .iter()
                .enumerate()
                .filter(|c| *c.1 > 0)
                .map(|(i, &c)| {
                    let x0 = x_min + i as f64 * width;
                    Rectangle::new(
                        [(x0, 0.0), (x0 + width * 0.9, c as f64)],
                        RGBColor(120, 160, 220).filled(),
                    )
                }),
        )
        .map_err(&e)?
        .label("interval peaks")
        .legend(|(x, y)| {
            Rectangle::new(
                [(x, y - 5), (x + 20, y + 5)],
                RGBColor(120, 160, 220).filled(),
            )
        });
    for (k, (name, req, lim)) in lines.iter().enumerate() {
        let c = COLORS[k % COLORS.len()];
        chart
            .draw_series(DashedLineSeries::new(
                vec![(*req, 0.0), (*req, y_max)],
                8,
                5,
                c.stroke_width(2),
            ))
            .map_err(&e)?
            .label(format!("{name} request {req:.0} MiB"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c));
        chart
            .draw_series(LineSeries::new(
                vec![(*lim, 0.0), (*lim, y_max)],
                c.stroke_width(3),
            ))
            .map_err(&e)?
            .label(format!("{name} limit {lim:.0} MiB"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(3)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(&e)?;
    area.present().map_err(&e)?;
    Ok(())
}

//! Plots of a leak analysis (plotters): memory over time, the lower envelope, the fitted trend
//! with its 95 % band, the limit, the projected crossing and the OOM kills the trace recorded.
//! SVG or PNG by the file extension; PNG text is drawn with the DejaVu Sans font embedded in the
//! binary (no system libraries).

use std::path::Path;
use std::sync::Once;

use plotters::prelude::*;

use crate::analysis::leak::LeakResult;
use crate::base::output;
use crate::error::{Error, Result};
use crate::trace::Series;

static FONT: Once = Once::new();

pub(crate) fn register_font() {
    FONT.call_once(|| {
        let bytes: &'static [u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, bytes);
    });
}

const MIB: f64 = 1048576.0;

/// Time axis unit for a span in seconds: (divisor, label).
fn time_unit(span: f64) -> (f64, &'static str) {
    if span > 3.0 * 3600.0 {
        (3600.0, "hours")
    } else if span > 180.0 {
        (60.0, "minutes")
    } else {
        (1.0, "seconds")
    }
}

/// At most `max` points: min and max of each bucket, so spikes survive decimation.
fn decimate(t: &[f64], v: &[f64], max: usize) -> Vec<(f64, f64)> {
    if t.len() <= max {
        return t.iter().copied().zip(v.iter().copied()).collect();
    }
    let per = t.len().div_ceil(max / 2);
    let mut out = Vec::with_capacity(max + 2);
    for (ct, cv) in t.chunks(per).zip(v.chunks(per)) {
        let (mut lo, mut hi) = (0, 0);
        for i in 0..cv.len() {
            if cv[i] < cv[lo] {
                lo = i;
            }
            if cv[i] > cv[hi] {
                hi = i;
            }
        }
        let (a, b) = if lo < hi { (lo, hi) } else { (hi, lo) };
        out.push((ct[a], cv[a]));
        out.push((ct[b], cv[b]));
    }
    out
}

/// How tall the memory axis is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// Up to the limit (a cgroup's, or `--limit`): how close the data came is the point.
    Limit,
    /// Up to the data and its projection: the limit is only the host's MemTotal, which would
    /// flatten a 100 MiB trace against 64 GiB; the limit is drawn only if it is in view.
    Data,
}

pub(crate) fn draw_err<E: std::fmt::Display>(path: &Path) -> impl Fn(E) -> Error + '_ {
    move |e| Error::Plot {
        path: path.to_path_buf(),
        reason: e.to_string().replace('\n', " "),
    }
}

/// Check that `out` can be written before drawing, so that a missing directory is one line
/// naming it rather than the drawing library's error chain at the end, and that what is at
/// `out` is a regular file or nothing ([`crate::base::output::check`]: a device, FIFO, directory
/// or symlink there is refused, never replaced).
pub(crate) fn check_writable(out: &Path) -> Result<()> {
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(dir) = parent {
        if !dir.is_dir() {
            return Err(Error::Plot {
                path: out.to_path_buf(),
                reason: format!("the directory {} does not exist", dir.display()),
            });
        }
    }
    output::check(out, true).map(drop)
}

/// The image formats `--plot` writes, by the file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Image {
    /// `.svg`
    Svg,
    /// `.png`
    Png,
}

/// The format of `out` by its extension. Errors: [`Error::Usage`] for any other extension.
pub(crate) fn image_of(out: &Path) -> Result<Image> {
    let ext = out
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "svg" => Ok(Image::Svg),
        "png" => Ok(Image::Png),
        _ => Err(Error::Usage(format!(
            "{}: --plot needs a .svg or .png file name",
            out.display()
        ))),
    }
}

/// Draw with `svg` or `png` (each given a drawing area of `size` pixels over an in-memory
/// buffer) and write the image to `out` through [`crate::base::output`] (an existing regular
/// file is replaced atomically; nothing else is written over).
pub(crate) fn render_to(
    out: &Path,
    size: (u32, u32),
    svg: impl FnOnce(DrawingArea<SVGBackend, plotters::coord::Shift>) -> Result<()>,
    png: impl FnOnce(DrawingArea<BitMapBackend, plotters::coord::Shift>) -> Result<()>,
) -> Result<()> {
    let image = image_of(out)?;
    check_writable(out)?;
    // Text is measured (SVG) and drawn (PNG) with the embedded font.
    register_font();
    let bytes = match image {
        Image::Svg => {
            let mut s = String::new();
            svg(SVGBackend::with_string(&mut s, size).into_drawing_area())?;
            s.into_bytes()
        }
        Image::Png => {
            let mut rgb = vec![0u8; size.0 as usize * size.1 as usize * 3];
            png(BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area())?;
            encode_png(&rgb, size).map_err(draw_err(out))?
        }
    };
    output::write_all(out, true, output::ORDINARY, &bytes)
}

/// An 8-bit RGB buffer as a PNG file's bytes.
fn encode_png(rgb: &[u8], (w, h): (u32, u32)) -> std::result::Result<Vec<u8>, png::EncodingError> {
    let mut bytes = Vec::new();
    let mut enc = png::Encoder::new(&mut bytes, w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut w = enc.write_header()?;
    w.write_image_data(rgb)?;
    w.finish()?;
    Ok(bytes)
}

/// Draw the plot of `r` (computed from `s`) into `out` (`.svg` or `.png`), the memory axis
/// scaled as `scale` says.
///
/// Errors: an unknown extension ([`Error::Usage`]); something not a regular file at `out`
/// ([`Error::NotSupported`]); the file cannot be written or the drawing fails ([`Error::Plot`],
/// one line with the path and the reason).
pub fn plot(s: &Series, r: &LeakResult, out: &Path, scale: Scale) -> Result<()> {
    const SIZE: (u32, u32) = (1200, 700);
    render_to(
        out,
        SIZE,
        |area| draw(area, s, r, out, scale),
        |area| draw(area, s, r, out, scale),
    )
}

fn draw<DB: DrawingBackend>(
    area: DrawingArea<DB, plotters::coord::Shift>,
    s: &Series,
    r: &LeakResult,
    out: &Path,
    scale: Scale,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let e = draw_err(out);
    area.fill(&WHITE).map_err(&e)?;
    let t_end = s.t.last().copied().unwrap_or(1.0);
    let ttl_at = r.time_to_limit_s.map(|x| t_end + x);
    let x_max = match ttl_at {
        Some(x) if x.is_finite() && x < t_end * 10.0 => x * 1.05,
        _ => t_end,
    }
    .max(1.0);
    let (div, unit) = time_unit(x_max);
    let v_max = s.v.iter().copied().fold(0.0, f64::max);
    // The trend (and its band's upper edge) at the right end of the plot.
    let projected = match (r.fit, r.slope_ci_bytes_per_s, r.window_s) {
        (Some((slope, icpt)), Some([_, hi]), Some([w0, w1])) => {
            let t_mid = (w0 + w1) / 2.0;
            let y_mid = icpt + slope * t_mid;
            y_mid + hi.max(slope) * (x_max - t_mid)
        }
        _ => 0.0,
    };
    let data_max = v_max.max(projected);
    let y_max = match (scale, r.limit_bytes) {
        (Scale::Limit, Some(l)) => (l as f64).max(data_max),
        _ => data_max,
    }
    .max(1.0)
        * 1.08
        / MIB;
    let caption = format!(
        "{} — {} ({}), {}",
        s.name.rsplit('/').next().unwrap_or(&s.name),
        r.verdict.as_str(),
        r.metric,
        r.slope_bytes_per_s.map_or("no slope".into(), |b| format!(
            "{:+.2} MiB/h",
            b * 3600.0 / MIB
        ))
    );
    let mut chart = ChartBuilder::on(&area)
        .caption(caption, ("sans-serif", 24))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(80)
        .build_cartesian_2d(0.0..x_max / div, 0.0..y_max)
        .map_err(&e)?;
    chart
        .configure_mesh()
        .x_desc(format!("time since start ({unit})"))
        .y_desc("memory (MiB)")
        .label_style(("sans-serif", 16))
        .draw()
        .map_err(&e)?;
    let raw = decimate(&s.t, &s.v, 4000);
    chart
        .draw_series(LineSeries::new(
            raw.iter().map(|&(t, v)| (t / div, v / MIB)),
            RGBColor(120, 160, 220).stroke_width(1),
        ))
        .map_err(&e)?
        .label(format!("{} (raw)", r.metric))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RGBColor(120, 160, 220)));
    if !r.envelope.is_empty() {
        chart
            .draw_series(LineSeries::new(
                r.envelope.iter().map(|&(t, v)| (t / div, v / MIB)),
                BLACK.stroke_width(2),
            ))
            .map_err(&e)?
            .label("lower envelope")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
    }
    if let (Some((slope, icpt)), Some([lo, hi]), Some([w0, w1])) =
        (r.fit, r.slope_ci_bytes_per_s, r.window_s)
    {
        let t_mid = (w0 + w1) / 2.0;
        let y_mid = icpt + slope * t_mid;
        let x_end = x_max;
        let line = |b: f64, t: f64| (y_mid + b * (t - t_mid)) / MIB;
        chart
            .draw_series(std::iter::once(Polygon::new(
                vec![
                    (w0 / div, line(hi, w0)),
                    (x_end / div, line(hi, x_end)),
                    (x_end / div, line(lo, x_end)),
                    (w0 / div, line(lo, w0)),
                ],
                RGBColor(230, 120, 40).mix(0.15),
            )))
            .map_err(&e)?
            .label("95% band of the slope")
            .legend(|(x, y)| {
                Rectangle::new(
                    [(x, y - 5), (x + 20, y + 5)],
                    RGBColor(230, 120, 40).mix(0.3).filled(),
                )
            });
        chart
            .draw_series(LineSeries::new(
                vec![
                    (w0 / div, line(slope, w0)),
                    (x_end / div, line(slope, x_end)),
                ],
                RGBColor(230, 120, 40).stroke_width(2),
            ))
            .map_err(&e)?
            .label("Theil–Sen trend")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RGBColor(230, 120, 40)));
    }
    if !r.oom_kills_s.is_empty() {
        let color = RGBColor(150, 0, 150);
        chart
            .draw_series(r.oom_kills_s.iter().map(|&k| {
                PathElement::new(
                    vec![(k / div, 0.0), (k / div, y_max)],
                    color.stroke_width(2),
                )
            }))
            .map_err(&e)?
            .label(if r.ended_in_oom_kill == Some(true) {
                "OOM kill (ends the trace)"
            } else {
                "OOM kill"
            })
            .legend(move |(x, y)| PathElement::new(vec![(x + 10, y - 6), (x + 10, y + 6)], color));
    }
    if let Some(limit) = r.limit_bytes.filter(|l| (*l as f64 / MIB) <= y_max) {
        let y = limit as f64 / MIB;
        chart
            .draw_series(LineSeries::new(
                vec![(0.0, y), (x_max / div, y)],
                RED.stroke_width(2),
            ))
            .map_err(&e)?
            .label(format!(
                "limit ({})",
                r.limit_source.as_deref().unwrap_or("")
            ))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
        if let Some(x) = ttl_at.filter(|x| *x <= x_max) {
            chart
                .draw_series(std::iter::once(Circle::new((x / div, y), 7, RED.filled())))
                .map_err(&e)?
                .label("projected crossing")
                .legend(|(x, y)| Circle::new((x + 10, y), 5, RED.filled()));
        }
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 15))
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(&e)?;
    area.present().map_err(&e)?;
    Ok(())
}

//! SVG plots of the threshold study (plotters' SVG backend writes text as `<text>` elements, so
//! no font files are needed): throughput against p99 pause with the Pareto frontier, the pause
//! distribution, and MMU curves.

use std::path::Path;

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::measure::RunResult;
use super::report::WorkloadInfo;

const SIZE: (u32, u32) = (960, 640);
/// Pauses shorter than this are drawn at it on log axes (a run without pauses has p99 = 0).
const FLOOR_MS: f64 = 1e-4;

fn err(e: impl std::fmt::Display) -> String {
    format!("plot: {e}")
}

fn canvas(path: &Path) -> Result<DrawingArea<SVGBackend<'_>, Shift>, String> {
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    Ok(root)
}

/// A log-axis range around `values` (ms), padded to whole decades.
fn log_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::MAX, f64::MIN);
    for v in values {
        let v = v.max(FLOOR_MS);
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if lo > hi {
        return (FLOOR_MS, 1.0);
    }
    // Room on the right for the points' labels.
    let lo = 10f64.powf((lo / 1.5).log10().floor());
    let hi = 10f64.powf((hi * 4.0).log10().ceil()).max(lo * 10.0);
    (lo, hi)
}

fn worker_color(workers: usize) -> RGBColor {
    match workers {
        1 => RGBColor(31, 119, 180),
        2 => RGBColor(44, 160, 44),
        4 => RGBColor(148, 103, 189),
        _ => RGBColor(140, 86, 75),
    }
}

/// Tick labels of a log axis in ms: `0.01`, `1`, `1000`.
fn log_tick(v: &f64) -> String {
    let s = format!("{v:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Per-second scale for the throughput axis.
fn thr_scale(max: f64) -> (f64, &'static str) {
    if max >= 1e6 {
        (1e6, "M ")
    } else if max >= 1e3 {
        (1e3, "k ")
    } else {
        (1.0, "")
    }
}

/// Throughput against p99 stop-the-world pause, one point per setting; the Pareto frontier is
/// joined by a line and its points labelled.
pub fn pareto(
    path: &Path,
    shape: &WorkloadInfo,
    runs: &[&RunResult],
    frontier: &[bool],
) -> Result<(), String> {
    let root = canvas(path)?;
    let ms = |r: &RunResult| (r.pause.p99 as f64 / 1e6).max(FLOOR_MS);
    let (x0, x1) = log_range(runs.iter().map(|r| ms(r)));
    let max_thr = runs.iter().map(|r| r.throughput_ops_s).fold(0.0, f64::max);
    let (scale, prefix) = thr_scale(max_thr);
    let y1 = (max_thr / scale * 1.12).max(1e-9);
    let mut chart = log_chart(
        &root,
        format!("{}: throughput vs p99 pause", shape.describe),
        ((x0, x1), y1, 80),
        "p99 stop-the-world pause (ms, log scale)",
        &format!("throughput ({prefix}{}/s)", shape.op_unit),
    )?;

    let mut line: Vec<(f64, f64)> = runs
        .iter()
        .zip(frontier)
        .filter(|(_, &on)| on)
        .map(|(r, _)| (ms(r), r.throughput_ops_s / scale))
        .collect();
    line.sort_by(|a, b| a.0.total_cmp(&b.0));
    chart
        .draw_series(LineSeries::new(line, RED.stroke_width(2)))
        .map_err(err)?
        .label("Pareto frontier")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED.stroke_width(2)));

    let mut workers: Vec<usize> = runs.iter().map(|r| r.setting.workers).collect();
    workers.sort_unstable();
    workers.dedup();
    for w in workers {
        let color = worker_color(w);
        for rule in [true, false] {
            let pts: Vec<(f64, f64)> = runs
                .iter()
                .filter(|r| r.setting.workers == w && r.setting.long_lived_rule == rule)
                .map(|r| (ms(r), r.throughput_ops_s / scale))
                .collect();
            if pts.is_empty() {
                continue;
            }
            let style = if rule {
                color.filled()
            } else {
                color.stroke_width(2)
            };
            chart
                .draw_series(pts.into_iter().map(move |p| Circle::new(p, 5, style)))
                .map_err(err)?
                .label(format!(
                    "{w} worker{}, 25 % rule {}",
                    if w == 1 { "" } else { "s" },
                    if rule { "on" } else { "off (hollow)" }
                ))
                .legend(move |(x, y)| Circle::new((x + 10, y), 5, style));
        }
    }
    let defaults: Vec<(f64, f64)> = runs
        .iter()
        .filter(|r| r.setting.is_cpython_default())
        .map(|r| (ms(r), r.throughput_ops_s / scale))
        .collect();
    chart
        .draw_series(
            defaults
                .into_iter()
                .map(|p| Cross::new(p, 9, BLACK.stroke_width(2))),
        )
        .map_err(err)?
        .label("CPython's 700/10/10 +25%")
        .legend(|(x, y)| Cross::new((x + 10, y), 6, BLACK.stroke_width(2)));
    // Every point is labelled with its setting: the frontier in black, the rest in grey.
    for (r, &on) in runs.iter().zip(frontier) {
        let style = if on {
            ("sans-serif", 12).into_font().color(&BLACK)
        } else {
            ("sans-serif", 10)
                .into_font()
                .color(&RGBColor(130, 130, 130))
        };
        chart
            .draw_series(std::iter::once(Text::new(
                format!(" {}", r.label),
                (ms(r), r.throughput_ops_s / scale),
                style,
            )))
            .map_err(err)?;
    }
    finish(&root, &mut chart)
}

/// The settings worth a line in the distribution plots: the Pareto frontier and CPython's
/// defaults, at most eight.
pub fn highlighted<'a>(runs: &[&'a RunResult], frontier: &[bool]) -> Vec<&'a RunResult> {
    let mut chosen: Vec<&RunResult> = runs
        .iter()
        .zip(frontier)
        .filter(|(r, &on)| on || r.setting.is_cpython_default())
        .map(|(r, _)| *r)
        .collect();
    chosen.sort_by(|a, b| b.throughput_ops_s.total_cmp(&a.throughput_ops_s));
    chosen.truncate(8);
    chosen
}

fn line_color(i: usize) -> PaletteColor<Palette99> {
    Palette99::pick(i)
}

/// Cumulative distribution of stop-the-world pauses, one line per highlighted setting.
pub fn pause_cdf(path: &Path, shape: &WorkloadInfo, runs: &[&RunResult]) -> Result<(), String> {
    let x = log_range(runs.iter().flat_map(|r| r.pause_cdf.iter().map(|p| p.0)));
    let lines = runs
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.pause_cdf.is_empty())
        .map(|(i, r)| {
            // A step function: each recorded value lifts the fraction.
            let mut pts = Vec::with_capacity(2 * r.pause_cdf.len() + 1);
            let mut prev = 0.0;
            for &(x, f) in &r.pause_cdf {
                let x = x.max(FLOOR_MS);
                pts.push((x, prev));
                pts.push((x, f));
                prev = f;
            }
            (i, pts, format!("{} ({} pauses)", r.label, r.pause.count))
        });
    line_plot(
        path,
        format!("{}: stop-the-world pauses (CDF)", shape.describe),
        x,
        ("pause (ms, log scale)", "fraction of pauses ≤ x"),
        lines,
    )
}

/// Minimum mutator utilisation against window length, one line per highlighted setting.
pub fn mmu(path: &Path, shape: &WorkloadInfo, runs: &[&RunResult]) -> Result<(), String> {
    let x = log_range(runs.iter().flat_map(|r| r.mmu_curve.iter().map(|p| p.0)));
    let lines = runs
        .iter()
        .enumerate()
        .map(|(i, r)| (i, r.mmu_curve.clone(), r.label.clone()));
    line_plot(
        path,
        format!("{}: minimum mutator utilisation", shape.describe),
        x,
        ("window (ms, log scale)", "MMU"),
        lines,
    )
}

/// A chart with a log-scale x axis in ms over `x` and a linear y axis from 0 to `y1`, its
/// mesh drawn; `y_area` is the width of the y label area.
fn log_chart<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, Shift>,
    caption: String,
    ((x0, x1), y1, y_area): ((f64, f64), f64, u32),
    x_desc: &str,
    y_desc: &str,
) -> Result<LogChart<'a, 'b>, String> {
    let mut chart = ChartBuilder::on(root)
        .caption(caption, ("sans-serif", 20))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(y_area)
        .build_cartesian_2d((x0..x1).log_scale(), 0f64..y1)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .x_label_formatter(&log_tick)
        .draw()
        .map_err(err)?;
    Ok(chart)
}

/// The chart type of [`log_chart`].
type LogChart<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<LogCoord<f64>, RangedCoordf64>>;

/// Draws the legend box and writes the file.
fn finish<'a, 'b: 'a>(
    root: &DrawingArea<SVGBackend<'b>, Shift>,
    chart: &mut LogChart<'a, 'b>,
) -> Result<(), String> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .label_font(("sans-serif", 13))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}

/// One labelled line per `(color index, points, label)` on a log-x chart with y in `0..1`.
fn line_plot(
    path: &Path,
    caption: String,
    x: (f64, f64),
    (x_desc, y_desc): (&str, &str),
    lines: impl Iterator<Item = (usize, Vec<(f64, f64)>, String)>,
) -> Result<(), String> {
    let root = canvas(path)?;
    let mut chart = log_chart(&root, caption, (x, 1.0, 70), x_desc, y_desc)?;
    for (i, pts, label) in lines {
        let color = line_color(i);
        chart
            .draw_series(LineSeries::new(pts, color.stroke_width(2)))
            .map_err(err)?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    finish(&root, &mut chart)
}

//! Output of a run: CSV and JSON of everything measured, a Markdown summary and SVG plots.

pub mod plots;

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::cpython::{Case, Comparison, Row};
use crate::study::metrics::pareto_frontier;
use crate::study::shapes::{Shape, Sizes};
use crate::study::{Failure, Mode, RunResult, GRID_DOC};

/// `1.23 µs`, `45.6 ms`: a duration in ns with three significant digits.
pub fn fmt_ns(ns: f64) -> String {
    let (v, unit) = if ns >= 1e9 {
        (ns / 1e9, "s")
    } else if ns >= 1e6 {
        (ns / 1e6, "ms")
    } else if ns >= 1e3 {
        (ns / 1e3, "µs")
    } else {
        (ns, "ns")
    };
    format!("{} {unit}", sig3(v))
}

/// A number with three significant digits (no exponent).
pub fn sig3(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// `12.3 M`, `456 k`: a count.
pub fn fmt_count(v: f64) -> String {
    if v >= 1e9 {
        format!("{} G", sig3(v / 1e9))
    } else if v >= 1e6 {
        format!("{} M", sig3(v / 1e6))
    } else if v >= 1e3 {
        format!("{} k", sig3(v / 1e3))
    } else {
        sig3(v)
    }
}

fn opt(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map_or_else(|| "–".into(), f)
}

fn join(v: &[u64]) -> String {
    v.iter().map(u64::to_string).collect::<Vec<_>>().join("/")
}

/// `g0/g1/g2`, plus abandoned (missed) collections if any.
fn collections_cell(r: &RunResult) -> String {
    let missed: u64 = r.missed.iter().sum();
    if missed > 0 {
        format!("{} ({missed} missed)", join(&r.collections))
    } else {
        join(&r.collections)
    }
}

fn write_json(path: &Path, value: &impl Serialize) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

fn write_csv<T: Serialize>(path: &Path, rows: impl IntoIterator<Item = T>) -> Result<(), String> {
    let err = |e: csv::Error| format!("{}: {e}", path.display());
    let mut w = csv::Writer::from_path(path).map_err(err)?;
    for row in rows {
        w.serialize(row).map_err(err)?;
    }
    w.flush().map_err(|e| format!("{}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------------
// The CPython comparison.

fn row_notes(r: &Row) -> String {
    match r.case {
        Case::C3 => format!(
            "whole collection: CPython {}, gc-core {} (1w) / {} (2w)",
            opt(r.cpython_ms, |v| fmt_ns(v * 1e6)),
            fmt_ns(r.gc_core_1w_ms * 1e6),
            fmt_ns(r.gc_core_2w_ms * 1e6)
        ),
        Case::C4 => {
            let cols = |c: &Option<Vec<u64>>| c.as_deref().map_or_else(|| "–".into(), join);
            format!(
                "collections g0/g1/g2: CPython {}, gc-core {} (1w) / {} (2w); in collections: CPython {}, gc-core {} / {} ns/object",
                cols(&r.cpython_collections),
                cols(&r.gc_core_1w_collections),
                cols(&r.gc_core_2w_collections),
                opt(r.cpython_gc_ns_per_object, sig3),
                opt(r.gc_core_1w_gc_ns_per_object, sig3),
                opt(r.gc_core_2w_gc_ns_per_object, sig3),
            )
        }
        _ => format!(
            "collection: CPython {}, gc-core {} / {}",
            opt(r.cpython_ms, |v| fmt_ns(v * 1e6)),
            fmt_ns(r.gc_core_1w_ms * 1e6),
            fmt_ns(r.gc_core_2w_ms * 1e6)
        ),
    }
}

/// The comparison as a Markdown table (also readable on a terminal).
pub fn cpython_markdown(c: &Comparison) -> String {
    let mut s = String::new();
    match &c.python {
        Ok(v) => {
            let _ = writeln!(s, "CPython: {v} (`python3`), gc-core with 1 and 2 collector workers, its objects from {}. Ratio = CPython time / gc-core time (above 1: gc-core is faster).\n", c.allocator);
        }
        Err(e) => {
            let _ = writeln!(
                s,
                "CPython was not measured: {e}. Only gc-core's columns are filled.\n"
            );
        }
    }
    let _ = writeln!(s, "| case | N | objects | CPython ns/obj | gc-core 1w ns/obj | gc-core 2w ns/obj | ratio 1w | ratio 2w | notes |");
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|---|");
    for r in &c.rows {
        let _ = writeln!(
            s,
            "| {} {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.case.id(),
            r.case.describe(),
            fmt_count(r.n as f64),
            r.objects,
            opt(r.cpython_ns_per_object, sig3),
            sig3(r.gc_core_1w_ns_per_object),
            sig3(r.gc_core_2w_ns_per_object),
            opt(r.ratio_1w, |v| format!("{}×", sig3(v))),
            opt(r.ratio_2w, |v| format!("{}×", sig3(v))),
            row_notes(r)
        );
    }
    let split: Vec<_> = c
        .measurements
        .iter()
        .filter_map(|m| m.phases.map(|p| (m, p)))
        .collect();
    if !split.is_empty() {
        let _ = writeln!(s, "\ngc-core's collections by phase (`CollectionInfo::phases`), ns per object, each phase's median over the timed collections:\n");
        let names = split[0].1.named().map(|(name, _)| name).join(" | ");
        let _ = writeln!(s, "| case | N | workers | {names} |");
        let _ = writeln!(s, "|---|---:|---:|{}", "---:|".repeat(6));
        for (m, p) in split {
            let times = p.named().map(|(_, t)| sig3(t)).join(" | ");
            let _ = writeln!(
                s,
                "| {} | {} | {} | {times} |",
                m.case.id(),
                fmt_count(m.n as f64),
                m.workers
            );
        }
    }
    s
}

#[derive(Serialize)]
struct CpythonCsv<'a> {
    case: &'a str,
    n: usize,
    objects: usize,
    cpython_ns_per_object: Option<f64>,
    gc_core_1w_ns_per_object: f64,
    gc_core_2w_ns_per_object: f64,
    ratio_1w: Option<f64>,
    ratio_2w: Option<f64>,
    cpython_ms: Option<f64>,
    gc_core_1w_ms: f64,
    gc_core_2w_ms: f64,
    cpython_collections: String,
    gc_core_1w_collections: String,
    gc_core_2w_collections: String,
}

/// Writes `cpython.json`, `cpython.csv` and `cpython.md` into `out`.
pub fn write_cpython(out: &Path, c: &Comparison) -> Result<(), String> {
    write_json(&out.join("cpython.json"), c)?;
    let cols = |v: &Option<Vec<u64>>| v.as_deref().map(join).unwrap_or_default();
    write_csv(
        &out.join("cpython.csv"),
        c.rows.iter().map(|r| CpythonCsv {
            case: r.case.id(),
            n: r.n,
            objects: r.objects,
            cpython_ns_per_object: r.cpython_ns_per_object,
            gc_core_1w_ns_per_object: r.gc_core_1w_ns_per_object,
            gc_core_2w_ns_per_object: r.gc_core_2w_ns_per_object,
            ratio_1w: r.ratio_1w,
            ratio_2w: r.ratio_2w,
            cpython_ms: r.cpython_ms,
            gc_core_1w_ms: r.gc_core_1w_ms,
            gc_core_2w_ms: r.gc_core_2w_ms,
            cpython_collections: cols(&r.cpython_collections),
            gc_core_1w_collections: cols(&r.gc_core_1w_collections),
            gc_core_2w_collections: cols(&r.gc_core_2w_collections),
        }),
    )?;
    let md = format!("# gc-core against CPython\n\n{}", cpython_markdown(c));
    std::fs::write(out.join("cpython.md"), md).map_err(|e| e.to_string())
}

// ---------------------------------------------------------------------------------------------
// The threshold study.

/// The indices of the results of each shape that has any, in [`Shape::ALL`] order.
fn by_shape(results: &[RunResult]) -> impl Iterator<Item = (Shape, Vec<usize>)> + '_ {
    Shape::ALL.into_iter().filter_map(move |shape| {
        let idx: Vec<usize> = (0..results.len())
            .filter(|&i| results[i].shape == shape)
            .collect();
        (!idx.is_empty()).then_some((shape, idx))
    })
}

/// Whether each result is on its shape's throughput/p99-pause Pareto frontier.
pub fn frontier_flags(results: &[RunResult]) -> Vec<bool> {
    let mut flags = vec![false; results.len()];
    for (_, idx) in by_shape(results) {
        let points: Vec<(f64, f64)> = idx
            .iter()
            .map(|&i| (results[i].throughput_ops_s, results[i].pause.p99 as f64))
            .collect();
        for (k, on) in pareto_frontier(&points).into_iter().enumerate() {
            flags[idx[k]] = on;
        }
    }
    flags
}

#[derive(Serialize)]
struct StudyCsv<'a> {
    shape: &'a str,
    t0: usize,
    t1: usize,
    t2: usize,
    long_lived_rule: bool,
    workers: usize,
    ops: u64,
    elapsed_s: f64,
    throughput_ops_s: f64,
    capped: bool,
    pauses: u64,
    pause_p50_ns: u64,
    pause_p90_ns: u64,
    pause_p99_ns: u64,
    pause_p999_ns: u64,
    pause_max_ns: u64,
    tts_p50_ns: u64,
    tts_p99_ns: u64,
    tts_max_ns: u64,
    work_p50_ns: u64,
    work_p99_ns: u64,
    work_max_ns: u64,
    collection_p99_ns: u64,
    collection_max_ns: u64,
    gc_fraction: f64,
    mmu_1ms: f64,
    mmu_10ms: f64,
    mmu_100ms: f64,
    mmu_stw_1ms: f64,
    mmu_stw_10ms: f64,
    mmu_stw_100ms: f64,
    collections_g0: u64,
    collections_g1: u64,
    collections_g2: u64,
    collected: u64,
    missed: u64,
    peak_live_objects: i64,
    peak_rss_kb: u64,
    request_p50_ns: Option<u64>,
    request_p99_ns: Option<u64>,
    request_max_ns: Option<u64>,
    pareto: bool,
}

fn csv_row(r: &RunResult, pareto: bool) -> StudyCsv<'_> {
    let g = |v: &[u64], i: usize| v.get(i).copied().unwrap_or(0);
    StudyCsv {
        shape: r.shape.name(),
        t0: r.setting.thresholds[0],
        t1: r.setting.thresholds[1],
        t2: r.setting.thresholds[2],
        long_lived_rule: r.setting.long_lived_rule,
        workers: r.setting.workers,
        ops: r.ops,
        elapsed_s: r.elapsed_s,
        throughput_ops_s: r.throughput_ops_s,
        capped: r.capped,
        pauses: r.pause.count,
        pause_p50_ns: r.pause.p50,
        pause_p90_ns: r.pause.p90,
        pause_p99_ns: r.pause.p99,
        pause_p999_ns: r.pause.p999,
        pause_max_ns: r.pause.max,
        tts_p50_ns: r.pause_time_to_safepoint.p50,
        tts_p99_ns: r.pause_time_to_safepoint.p99,
        tts_max_ns: r.pause_time_to_safepoint.max,
        work_p50_ns: r.pause_work.p50,
        work_p99_ns: r.pause_work.p99,
        work_max_ns: r.pause_work.max,
        collection_p99_ns: r.collection.p99,
        collection_max_ns: r.collection.max,
        gc_fraction: r.gc_fraction,
        mmu_1ms: r.mmu_1ms,
        mmu_10ms: r.mmu_10ms,
        mmu_100ms: r.mmu_100ms,
        mmu_stw_1ms: r.mmu_stw_1ms,
        mmu_stw_10ms: r.mmu_stw_10ms,
        mmu_stw_100ms: r.mmu_stw_100ms,
        collections_g0: g(&r.collections, 0),
        collections_g1: g(&r.collections, 1),
        collections_g2: g(&r.collections, 2),
        collected: r.collected.iter().sum(),
        missed: r.missed.iter().sum(),
        peak_live_objects: r.peak_live_objects,
        peak_rss_kb: r.peak_rss_kb,
        request_p50_ns: r.request_latency.map(|p| p.p50),
        request_p99_ns: r.request_latency.map(|p| p.p99),
        request_max_ns: r.request_latency.map(|p| p.max),
        pareto,
    }
}

/// Facts about the run, for the summary and the JSON.
#[derive(Debug, Clone, Serialize)]
pub struct Meta {
    pub mode: Mode,
    pub started_utc: String,
    pub cores: usize,
    pub python: Option<String>,
    pub sizes: Sizes,
    pub cap_s: f64,
    pub settings_per_shape: usize,
    pub seconds: f64,
}

#[derive(Serialize)]
struct StudyJson<'a> {
    meta: &'a Meta,
    results: &'a [RunResult],
    pareto: &'a [bool],
    failures: &'a [Failure],
}

/// The study's Markdown: one table per shape.
pub fn study_markdown(
    results: &[RunResult],
    pareto: &[bool],
    failures: &[Failure],
    meta: &Meta,
) -> String {
    let mut s = String::new();
    let sz = &meta.sizes;
    let _ = writeln!(
        s,
        "Mode **{}**: {} settings per shape, each run in a fresh process; a run stops at {} s of \
         measured time (marked *capped*). Work per run: W3 {} pass(es) over trees of depth 4 to {}, \
         W5 {} ops, W6 {} ops on {} threads, W7 {} iterations, server {} long-lived entries + {} requests.\n",
        meta.mode.name(),
        meta.settings_per_shape,
        meta.cap_s,
        sz.w3_passes,
        sz.w3_max_depth - 1,
        fmt_count(sz.w5_ops as f64),
        fmt_count(sz.w6_ops as f64),
        sz.w6_threads,
        fmt_count(sz.w7_iterations as f64),
        fmt_count(sz.server_entries as f64),
        fmt_count(sz.server_requests as f64),
    );
    let _ = writeln!(s, "Grid:\n\n{GRID_DOC}\n");
    let _ = writeln!(
        s,
        "Columns: *pause* is each stop of the world (HDR histograms of every collection's \
         `CollectionInfo::pause`, all generations), split into *TTS* (time to safepoint) and \
         *work*; *MMU* (minimum mutator utilisation) counts each \
         collection from its `Start` to its `Stop` callback (scan, finalizers, tear-down) as time \
         the mutator lost (`results.csv` also has `mmu_stw_*`, counting only the stops of the \
         world, which is what the other threads of W6 lose); *GC %* is that time over the run; *coll.* are collections of \
         generations 0/1/2; *live* is the peak of live objects; *RSS* the peak resident set \
         (VmHWM) of the run's process. ★ marks the Pareto frontier of throughput against p99 \
         pause; (c) a capped run.\n"
    );
    for (shape, idx) in by_shape(results) {
        let _ = writeln!(s, "### {}\n", shape.describe());
        let _ = writeln!(
            s,
            "| setting | {}/s | time | pauses | p50 | p90 | p99 | p99.9 | max | TTS p99 | work p99 | MMU 1ms | MMU 10ms | MMU 100ms | GC % | coll. | live | RSS |{}",
            shape.op_unit(),
            if shape == Shape::Server { " request p99 |" } else { "" }
        );
        let _ = writeln!(
            s,
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|{}",
            if shape == Shape::Server { "---:|" } else { "" }
        );
        for &i in &idx {
            let r = &results[i];
            let p = &r.pause;
            let _ = writeln!(
                s,
                "| {}{}{} | {} | {}{} | {} | {} | {} | {} | {} | {} | {} | {} | {:.3} | {:.3} | {:.3} | {:.1} | {} | {} | {} MB |{}",
                if pareto[i] { "★ " } else { "" },
                r.label,
                if r.setting.is_cpython_default() { " (CPython)" } else { "" },
                fmt_count(r.throughput_ops_s),
                sig3(r.elapsed_s),
                if r.capped { " s (c)" } else { " s" },
                p.count,
                fmt_ns(p.p50 as f64),
                fmt_ns(p.p90 as f64),
                fmt_ns(p.p99 as f64),
                fmt_ns(p.p999 as f64),
                fmt_ns(p.max as f64),
                fmt_ns(r.pause_time_to_safepoint.p99 as f64),
                fmt_ns(r.pause_work.p99 as f64),
                r.mmu_1ms,
                r.mmu_10ms,
                r.mmu_100ms,
                r.gc_fraction * 100.0,
                collections_cell(r),
                fmt_count(r.peak_live_objects as f64),
                sig3(r.peak_rss_kb as f64 / 1024.0),
                match r.request_latency {
                    Some(l) if shape == Shape::Server => format!(" {} |", fmt_ns(l.p99 as f64)),
                    _ => String::new(),
                }
            );
        }
        let best = |key: &dyn Fn(&RunResult) -> f64| {
            idx.iter()
                .copied()
                .max_by(|&a, &b| key(&results[a]).total_cmp(&key(&results[b])))
                .map(|i| results[i].label.clone())
                .unwrap_or_default()
        };
        let _ = writeln!(
            s,
            "\nHighest throughput: {}; lowest p99 pause: {}; best MMU at 10 ms: {}.\n",
            best(&|r| r.throughput_ops_s),
            best(&|r| -(r.pause.p99 as f64)),
            best(&|r| r.mmu_10ms),
        );
        let n = shape.name();
        let _ = writeln!(
            s,
            "![throughput vs p99 pause](plots/pareto-{n}.svg)\n![pause distribution](plots/pauses-{n}.svg)\n![MMU](plots/mmu-{n}.svg)\n"
        );
    }
    let saturated = results
        .iter()
        .filter(|r| r.gc_core_histogram.max_ns < r.pause.max)
        .count();
    let mismatched = results
        .iter()
        .filter(|r| r.gc_core_histogram.count != r.pause.count)
        .count();
    if saturated > 0 || mismatched > 0 {
        let top = results
            .iter()
            .map(|r| r.gc_core_histogram.max_ns)
            .max()
            .unwrap_or(0);
        let _ = writeln!(
            s,
            "Note: pause percentiles come from the collection callbacks (`CollectionInfo::pause` and \
             `time_to_safepoint`, the values gc-core records). gc-core's own `pause_histograms()` \
             disagreed in {} of {} runs: their largest value was {} while the callbacks saw \
             longer pauses ({} runs), or their count differed ({} runs).\n",
            saturated.max(mismatched),
            results.len(),
            fmt_ns(top as f64),
            saturated,
            mismatched
        );
    }
    if !failures.is_empty() {
        let _ = writeln!(s, "### Runs without a result\n");
        for f in failures {
            let _ = writeln!(s, "- {} {}: {}", f.shape.name(), f.setting.label(), f.error);
        }
        s.push('\n');
    }
    s
}

/// A short terminal summary of the study: per shape, the CPython default and the frontier.
pub fn study_terminal(results: &[RunResult], pareto: &[bool]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<7} {:<22} {:>10} {:>9} {:>9} {:>9} {:>7} {:>7} {:>14} {:>8}",
        "shape",
        "setting",
        "ops/s",
        "p50",
        "p99",
        "max",
        "MMU10",
        "MMU100",
        "coll g0/g1/g2",
        "RSS MB"
    );
    for shape in Shape::ALL {
        for (i, r) in results.iter().enumerate() {
            if r.shape != shape || !(pareto[i] || r.setting.is_cpython_default()) {
                continue;
            }
            let _ = writeln!(
                s,
                "{:<7} {:<22} {:>10} {:>9} {:>9} {:>9} {:>7.3} {:>7.3} {:>14} {:>8}",
                shape.name(),
                format!("{}{}", if pareto[i] { "★ " } else { "  " }, r.label),
                fmt_count(r.throughput_ops_s),
                fmt_ns(r.pause.p50 as f64),
                fmt_ns(r.pause.p99 as f64),
                fmt_ns(r.pause.max as f64),
                r.mmu_10ms,
                r.mmu_100ms,
                join(&r.collections),
                sig3(r.peak_rss_kb as f64 / 1024.0),
            );
        }
    }
    s
}

/// Writes `results.json`, `results.csv` and the plots into `out`; returns the study's Markdown.
pub fn write_study(
    out: &Path,
    results: &[RunResult],
    failures: &[Failure],
    meta: &Meta,
) -> Result<String, String> {
    let pareto = frontier_flags(results);
    write_json(
        &out.join("results.json"),
        &StudyJson {
            meta,
            results,
            pareto: &pareto,
            failures,
        },
    )?;
    write_csv(
        &out.join("results.csv"),
        results.iter().zip(&pareto).map(|(r, &p)| csv_row(r, p)),
    )?;
    let dir = out.join("plots");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for (shape, idx) in by_shape(results) {
        let runs: Vec<&RunResult> = idx.iter().map(|&i| &results[i]).collect();
        let on: Vec<bool> = idx.iter().map(|&i| pareto[i]).collect();
        plots::pareto(
            &dir.join(format!("pareto-{}.svg", shape.name())),
            shape,
            &runs,
            &on,
        )?;
        let chosen = plots::highlighted(&runs, &on);
        plots::pause_cdf(
            &dir.join(format!("pauses-{}.svg", shape.name())),
            shape,
            &chosen,
        )?;
        plots::mmu(
            &dir.join(format!("mmu-{}.svg", shape.name())),
            shape,
            &chosen,
        )?;
    }
    Ok(study_markdown(results, &pareto, failures, meta))
}

/// Writes `summary.md` from its parts.
pub fn write_summary(
    out: &Path,
    meta: &Meta,
    cpython: Option<&Comparison>,
    study: Option<&str>,
) -> Result<(), String> {
    let mut s = String::new();
    let _ = writeln!(s, "# gc-bench results\n");
    let _ = writeln!(
        s,
        "Started {} (UTC), mode {}, {} cores, {:.0} s in all.{}\n",
        meta.started_utc,
        meta.mode.name(),
        meta.cores,
        meta.seconds,
        meta.python
            .as_deref()
            .map_or(String::new(), |p| format!(" {p}."))
    );
    if let Some(c) = cpython {
        let _ = writeln!(s, "## Full collections against CPython (C1–C4)\n");
        s.push_str(&cpython_markdown(c));
        s.push('\n');
    }
    if let Some(study) = study {
        let _ = writeln!(s, "## The threshold study\n");
        s.push_str(study);
    }
    let path = out.join("summary.md");
    std::fs::write(&path, s).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_durations_and_counts() {
        assert_eq!(fmt_ns(512.0), "512 ns");
        assert_eq!(fmt_ns(1_234.0), "1.23 µs");
        assert_eq!(fmt_ns(45_600_000.0), "45.6 ms");
        assert_eq!(fmt_ns(2.5e9), "2.50 s");
        assert_eq!(fmt_count(1_234_567.0), "1.23 M");
        assert_eq!(fmt_count(999.0), "999");
        assert_eq!(sig3(0.0), "0");
    }
}

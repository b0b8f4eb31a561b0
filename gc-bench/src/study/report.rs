//! The study's output: `results.json` and `results.csv` with everything measured, the
//! Markdown summary, a short terminal table, and the plots of [`plots`].

use std::fmt::Write as _;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::measure::{Failure, RunResult};
use super::metrics::pareto_frontier;
use super::plots;
use super::workload::Workload;
use super::{scan_name, trigger_name, Mode};

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

/// `1/2/3`.
pub fn join(v: &[u64]) -> String {
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

/// Writes `value` as pretty JSON.
pub fn write_json(path: &Path, value: &impl Serialize) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Writes one CSV row per item of `rows`, with a header.
pub fn write_csv<T: Serialize>(
    path: &Path,
    rows: impl IntoIterator<Item = T>,
) -> Result<(), String> {
    let err = |e: csv::Error| format!("{}: {e}", path.display());
    let mut w = csv::Writer::from_path(path).map_err(err)?;
    for row in rows {
        w.serialize(row).map_err(err)?;
    }
    w.flush().map_err(|e| format!("{}: {e}", path.display()))
}

/// The indices of the results of each workload that has any, in the order of `workloads`.
fn by_shape<'a>(
    results: &'a [RunResult],
    workloads: &'a [WorkloadInfo],
) -> impl Iterator<Item = (&'a WorkloadInfo, Vec<usize>)> + 'a {
    workloads.iter().filter_map(move |w| {
        let idx: Vec<usize> = (0..results.len())
            .filter(|&i| results[i].shape == w.name)
            .collect();
        (!idx.is_empty()).then_some((w, idx))
    })
}

/// Whether each result is on its workload's throughput/p99-pause Pareto frontier.
pub fn frontier_flags(results: &[RunResult]) -> Vec<bool> {
    let mut flags = vec![false; results.len()];
    let mut names: Vec<&str> = results.iter().map(|r| r.shape.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    for name in names {
        let idx: Vec<usize> = (0..results.len())
            .filter(|&i| results[i].shape == name)
            .collect();
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
    scan: &'static str,
    trigger: String,
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
        shape: &r.shape,
        t0: r.setting.thresholds[0],
        t1: r.setting.thresholds[1],
        t2: r.setting.thresholds[2],
        long_lived_rule: r.setting.long_lived_rule,
        workers: r.setting.workers,
        scan: scan_name(r.setting.scan),
        trigger: trigger_name(r.setting.trigger),
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

/// What the summary and the JSON say about a workload.
#[derive(Debug, Clone, Serialize)]
pub struct WorkloadInfo {
    pub name: String,
    pub describe: String,
    pub op_unit: String,
    /// What one run does at the study's mode.
    pub size: String,
}

impl WorkloadInfo {
    /// The information of `workload` at `mode`.
    pub fn of(workload: &dyn Workload, mode: Mode) -> WorkloadInfo {
        WorkloadInfo {
            name: workload.name().to_owned(),
            describe: workload.describe(),
            op_unit: workload.op_unit().to_owned(),
            size: workload.size(mode),
        }
    }
}

/// Facts about the study, for the summary and the JSON.
#[derive(Debug, Clone, Serialize)]
pub struct Meta {
    pub mode: Mode,
    pub started_utc: String,
    pub cores: usize,
    /// The wall-clock budget of one run's measured phase.
    pub cap_s: f64,
    /// The settings every workload ran under (labels).
    pub settings: Vec<String>,
    /// The length of the sweep.
    pub seconds: f64,
    pub workloads: Vec<WorkloadInfo>,
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
    let _ = writeln!(
        s,
        "Mode **{}**: {} settings per workload, each run in a fresh process; a run stops at {} s \
         of measured time (marked *capped*).\n",
        meta.mode.name(),
        meta.settings.len(),
        meta.cap_s,
    );
    let sizes: Vec<String> = meta
        .workloads
        .iter()
        .filter(|w| !w.size.is_empty())
        .map(|w| format!("- {}: {}", w.name, w.size))
        .collect();
    if !sizes.is_empty() {
        let _ = writeln!(s, "Work per run:\n\n{}\n", sizes.join("\n"));
    }
    let _ = writeln!(s, "Settings: {}.\n", meta.settings.join(", "));
    let _ = writeln!(
        s,
        "Columns: *pause* is each stop of the world (HDR histograms of every collection's \
         `CollectionInfo::pause`, all generations), split into *TTS* (time to safepoint) and \
         *work*; *MMU* (minimum mutator utilisation) counts each \
         collection from its `Start` to its `Stop` callback (scan, finalizers, tear-down) as time \
         the mutator lost (`results.csv` also has `mmu_stw_*`, counting only the stops of the \
         world, which is what the other threads of a multi-threaded workload lose); *GC %* is that time over the run; *coll.* are collections of \
         generations 0/1/2; *live* is the peak of live objects; *RSS* the peak resident set \
         (VmHWM) of the run's process. ★ marks the Pareto frontier of throughput against p99 \
         pause; (c) a capped run.\n"
    );
    for (shape, idx) in by_shape(results, &meta.workloads) {
        let timed = idx.iter().any(|&i| results[i].request_latency.is_some());
        let _ = writeln!(s, "### {}\n", shape.describe);
        let _ = writeln!(
            s,
            "| setting | {}/s | time | pauses | p50 | p90 | p99 | p99.9 | max | TTS p99 | work p99 | MMU 1ms | MMU 10ms | MMU 100ms | GC % | coll. | live | RSS |{}",
            shape.op_unit,
            if timed { " latency p99 |" } else { "" }
        );
        let _ = writeln!(
            s,
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|{}",
            if timed { "---:|" } else { "" }
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
                    Some(l) => format!(" {} |", fmt_ns(l.p99 as f64)),
                    None if timed => " – |".to_owned(),
                    None => String::new(),
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
        let n = &shape.name;
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
            let _ = writeln!(s, "- {} {}: {}", f.shape, f.setting.label(), f.error);
        }
        s.push('\n');
    }
    s
}

/// A short terminal summary of the study: per workload, the CPython default and the frontier.
pub fn study_terminal(results: &[RunResult], workloads: &[WorkloadInfo]) -> String {
    let pareto = frontier_flags(results);
    let w = workloads
        .iter()
        .map(|w| w.name.len())
        .max()
        .unwrap_or(0)
        .max(6);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<w$} {:<36} {:>10} {:>9} {:>9} {:>9} {:>7} {:>7} {:>14} {:>8}",
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
    for (shape, idx) in by_shape(results, workloads) {
        for i in idx {
            let r = &results[i];
            if !(pareto[i] || r.setting.is_cpython_default()) {
                continue;
            }
            let _ = writeln!(
                s,
                "{:<w$} {:<36} {:>10} {:>9} {:>9} {:>9} {:>7.3} {:>7.3} {:>14} {:>8}",
                shape.name,
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
    for (shape, idx) in by_shape(results, &meta.workloads) {
        let runs: Vec<&RunResult> = idx.iter().map(|&i| &results[i]).collect();
        let on: Vec<bool> = idx.iter().map(|&i| pareto[i]).collect();
        let n = &shape.name;
        plots::pareto(&dir.join(format!("pareto-{n}.svg")), shape, &runs, &on)?;
        let chosen = plots::highlighted(&runs, &on);
        plots::pause_cdf(&dir.join(format!("pauses-{n}.svg")), shape, &chosen)?;
        plots::mmu(&dir.join(format!("mmu-{n}.svg")), shape, &chosen)?;
    }
    Ok(study_markdown(results, &pareto, failures, meta))
}

/// Writes `summary.md`: a title, when and where the study ran, and its Markdown.
pub fn write_summary(out: &Path, meta: &Meta, markdown: &str) -> Result<(), String> {
    let mut s = String::new();
    let _ = writeln!(s, "# Threshold study\n");
    let _ = writeln!(
        s,
        "Started {} (UTC), mode {}, {} cores, {:.0} s in all.\n",
        meta.started_utc,
        meta.mode.name(),
        meta.cores,
        meta.seconds,
    );
    s.push_str(markdown);
    let path = out.join("summary.md");
    std::fs::write(&path, s).map_err(|e| format!("{}: {e}", path.display()))
}

/// `2026-05-01T12:30:05Z` for `t`.
pub fn utc_timestamp(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

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

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        assert_eq!(utc_timestamp(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_709_210_096); // a leap day
        assert_eq!(utc_timestamp(t), "2024-02-29T12:34:56Z");
    }
}

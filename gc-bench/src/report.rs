//! The binary's own output: the CPython comparison as CSV, JSON and Markdown, and
//! `summary.md`, which puts it together with the threshold study's Markdown.

use std::fmt::Write as _;
use std::path::Path;

use gc_bench::study::report::{fmt_count, fmt_ns, join, sig3, write_csv, write_json};
use gc_bench::study::Mode;
use serde::Serialize;

use crate::cpython::{Case, Comparison, Row};

fn opt(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map_or_else(|| "–".into(), f)
}

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

/// What the first line of `summary.md` says.
pub struct Header {
    pub started_utc: String,
    pub mode: Mode,
    pub cores: usize,
    pub seconds: f64,
    /// The CPython compared with, if any.
    pub python: Option<String>,
}

/// Writes `summary.md` from its parts.
pub fn write_summary(
    out: &Path,
    meta: &Header,
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

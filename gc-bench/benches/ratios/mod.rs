//! After a bench run, prints every group's mean times as ratios against the group's anchor,
//! read back from the estimates criterion saved during this run.
//!
//! Benchmarks whose ids share a parameter (`gc-core/2 threads`) are compared with the anchor of
//! the same parameter (`Arc/2 threads`). A group without an anchor is compared with its fastest
//! member that is not gc-core. Nothing is printed in `--test` or `--list` mode.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::SystemTime;

use criterion::Criterion;

/// A criterion group and the implementation its ratios are taken against.
pub struct Group {
    pub name: &'static str,
    pub anchor: Option<&'static str>,
}

static STARTED: OnceLock<SystemTime> = OnceLock::new();

/// A bench target to list first: estimates older than this call are from earlier runs.
pub fn mark_start(_: &mut Criterion) {
    STARTED.get_or_init(SystemTime::now);
}

struct Row {
    function: String,
    parameter: Option<String>,
    mean_ns: f64,
}

/// Prints the ratio table of `groups`.
pub fn print(groups: &[Group]) {
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let dir = output_directory();
    let since = STARTED.get().copied().unwrap_or(SystemTime::UNIX_EPOCH);
    let mut out = String::new();
    for group in groups {
        let mut rows = Vec::new();
        collect(&dir.join(group.name), since, &mut rows);
        if rows.is_empty() {
            continue;
        }
        rows.sort_by(|a, b| {
            (
                &a.parameter,
                a.function != "gc-core" && !a.function.starts_with("gc-core "),
            )
                .cmp(&(
                    &b.parameter,
                    b.function != "gc-core" && !b.function.starts_with("gc-core "),
                ))
                .then(a.mean_ns.total_cmp(&b.mean_ns))
        });
        let against = group.anchor.unwrap_or("fastest peer");
        out.push_str(&format!("\n{} (ratio = mean / {against})\n", group.name));
        for row in &rows {
            let anchor = anchor_time(&rows, group.anchor, &row.parameter);
            let id = match &row.parameter {
                Some(p) => format!("{}/{p}", row.function),
                None => row.function.clone(),
            };
            let ratio = anchor.map_or(String::from("-"), |a| format!("{:.2}x", row.mean_ns / a));
            out.push_str(&format!(
                "  {id:<36} {:>12}  {ratio:>8}\n",
                human(row.mean_ns)
            ));
        }
    }
    if !out.is_empty() {
        println!("\nRatios of this run:{out}");
    }
}

fn anchor_time(rows: &[Row], anchor: Option<&str>, parameter: &Option<String>) -> Option<f64> {
    let same = rows.iter().filter(|r| &r.parameter == parameter);
    match anchor {
        Some(name) => same
            .filter(|r| r.function == name)
            .map(|r| r.mean_ns)
            .next(),
        None => same
            .filter(|r| !r.function.starts_with("gc-core"))
            .map(|r| r.mean_ns)
            .min_by(f64::total_cmp),
    }
}

fn collect(dir: &Path, since: SystemTime, rows: &mut Vec<Row>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_dir() || path.file_name().is_some_and(|n| n == "report") {
            continue;
        }
        if path.file_name().is_some_and(|n| n == "new") {
            if let Some(row) = read_row(&path, since) {
                rows.push(row);
            }
        } else {
            collect(&path, since, rows);
        }
    }
}

fn read_row(dir: &Path, since: SystemTime) -> Option<Row> {
    let estimates = dir.join("estimates.json");
    if std::fs::metadata(&estimates).ok()?.modified().ok()? < since {
        return None;
    }
    let id: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("benchmark.json")).ok()?).ok()?;
    let est: serde_json::Value = serde_json::from_slice(&std::fs::read(estimates).ok()?).ok()?;
    Some(Row {
        function: id["function_id"].as_str()?.to_owned(),
        parameter: id["value_str"].as_str().map(str::to_owned),
        mean_ns: est["mean"]["point_estimate"].as_f64()?,
    })
}

/// Where criterion saves its data: as criterion itself decides it.
fn output_directory() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(target).join("criterion");
    }
    let metadata = std::env::var_os("CARGO").and_then(|cargo| {
        std::process::Command::new(cargo)
            .args(["metadata", "--format-version", "1", "--no-deps"])
            .output()
            .ok()
    });
    metadata
        .and_then(|out| serde_json::from_slice::<serde_json::Value>(&out.stdout).ok())
        .and_then(|v| v["target_directory"].as_str().map(PathBuf::from))
        .map_or_else(
            || PathBuf::from("target/criterion"),
            |t| t.join("criterion"),
        )
}

fn human(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.2} ns")
    }
}

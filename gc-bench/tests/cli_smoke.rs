//! Runs the `gc-bench` binary end to end on its smallest sizes (`--quick --smoke`) and checks
//! that every output file is there and parses.

use std::path::{Path, PathBuf};
use std::process::Command;

fn out_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gc-bench-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn run(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_gc-bench"))
        .args(args)
        .output()
        .expect("gc-bench runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "gc-bench {args:?} failed\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn csv_rows(path: &Path) -> (csv::StringRecord, Vec<csv::StringRecord>) {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let headers = r.headers().unwrap().clone();
    let rows = r.records().map(|r| r.unwrap()).collect();
    (headers, rows)
}

fn svg(path: &Path) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        text.starts_with("<svg") && text.trim_end().ends_with("</svg>"),
        "{}",
        path.display()
    );
    assert!(text.contains("<text"), "{} has no text", path.display());
}

#[test]
fn quick_smoke_run_writes_every_output() {
    let dir = out_dir("study");
    let stdout = run(&["--quick", "--smoke", "--out", dir.to_str().unwrap()]);
    assert!(
        stdout.trim_end().ends_with(dir.to_str().unwrap()),
        "{stdout}"
    );

    let results = json(&dir.join("results.json"));
    let runs = results["results"].as_array().expect("a list of results");
    let failures = results["failures"].as_array().expect("a list of failures");
    assert!(failures.is_empty(), "{failures:?}");
    // 6 shapes × 3 smoke settings, both scans among them.
    assert_eq!(runs.len(), 18);
    for scan in ["candidates", "generations"] {
        assert!(
            runs.iter().any(|r| r["setting"]["scan"] == scan),
            "no {scan} run"
        );
    }
    for r in runs {
        assert!(r["ops"].as_u64().unwrap() > 0, "{r}");
        assert!(r["throughput_ops_s"].as_f64().unwrap() > 0.0);
        let mmu = r["mmu_10ms"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&mmu));
        assert!(r["peak_rss_kb"].as_u64().unwrap() > 0);
        assert_eq!(r["collections"].as_array().unwrap().len(), 3);
        let pauses = r["pause"]["count"].as_u64().unwrap();
        let collections: u64 = r["collections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_u64().unwrap())
            .sum();
        assert_eq!(pauses, collections, "{r}");
        if pauses > 0 {
            assert!(r["pause"]["max"].as_u64().unwrap() >= r["pause"]["p50"].as_u64().unwrap());
        }
    }
    let pareto = results["pareto"].as_array().unwrap();
    assert_eq!(pareto.len(), runs.len());
    assert!(pareto.iter().any(|p| p.as_bool().unwrap()));

    let (headers, rows) = csv_rows(&dir.join("results.csv"));
    assert_eq!(rows.len(), 18);
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (scan, trigger) = (column("scan"), column("trigger"));
    assert!(rows
        .iter()
        .any(|r| &r[scan] == "generations" && &r[trigger] == "allocations"));
    assert!(rows
        .iter()
        .any(|r| &r[scan] == "candidates" && &r[trigger] == "candidates"));
    for h in [
        "shape",
        "t0",
        "throughput_ops_s",
        "pause_p99_ns",
        "tts_p99_ns",
        "work_p99_ns",
        "mmu_1ms",
        "mmu_100ms",
        "peak_rss_kb",
        "pareto",
    ] {
        assert!(headers.iter().any(|x| x == h), "no column {h}");
    }

    let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(summary.contains("## The threshold study"));
    assert!(summary.contains("## Full collections against CPython"));
    assert!(summary.contains("700/10/10 +25% w1 gens alloc (CPython)"));
    for shape in ["w3", "w5", "w6", "w7", "server", "interp"] {
        for kind in ["pareto", "pauses", "mmu"] {
            let plot = format!("plots/{kind}-{shape}.svg");
            svg(&dir.join(&plot));
            assert!(summary.contains(&plot), "summary.md does not embed {plot}");
        }
    }

    let cpython = json(&dir.join("cpython.json"));
    assert_eq!(cpython["rows"].as_array().unwrap().len(), 4); // C1, C2, C3, C4 at one size
    let (_, rows) = csv_rows(&dir.join("cpython.csv"));
    assert_eq!(rows.len(), 4);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn cpython_without_an_interpreter_still_measures_gc_core() {
    let dir = out_dir("nopython");
    let stdout = run(&[
        "cpython",
        "--smoke",
        "--python",
        "/nonexistent/python3",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(stdout.contains("CPython is not measured"), "{stdout}");
    let cpython = json(&dir.join("cpython.json"));
    assert!(cpython["python"]["Err"].is_string(), "{cpython}");
    for row in cpython["rows"].as_array().unwrap() {
        assert!(row["cpython_ns_per_object"].is_null());
        assert!(row["gc_core_1w_ns_per_object"].as_f64().unwrap() > 0.0);
    }
    assert!(!dir.join("results.json").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

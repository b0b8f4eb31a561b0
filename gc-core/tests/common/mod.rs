//! Helpers shared by the integration tests (each test binary uses some of them).
#![allow(dead_code)]

use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use gc_core::Heap;

static SERIAL: Mutex<()> = Mutex::new(());

/// Serialises the tests of one binary that must not overlap.
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A heap with automatic collection off.
pub fn quiet_heap() -> Heap {
    let heap = Heap::new();
    heap.disable();
    heap
}

/// A panic payload's message.
pub fn message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "(non-string panic payload)".into())
}

/// Runs `f`, which must panic; returns the panic's message.
pub fn panics(f: impl FnOnce()) -> String {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(()) => panic!("expected a panic"),
        Err(payload) => message(payload),
    }
}

/// Runs `body` in a child process (this test binary, filtered to `name`) and fails if it does
/// not finish within `deadline`: a deadlock there cannot wedge the world of this process.
/// Under Miri it runs in this process.
pub fn isolated(name: &str, deadline: Duration, body: impl FnOnce()) {
    const VAR: &str = "GC_CORE_ISOLATED_TEST";
    // Miri cannot start processes, and reports a deadlock itself.
    if cfg!(miri) || std::env::var(VAR).as_deref() == Ok(name) {
        body();
        return;
    }
    // The child's output goes to a file, shown only if it fails.
    let log_path = std::env::temp_dir().join(format!(
        "gc-core-isolated-{}-{name}.log",
        std::process::id()
    ));
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--include-ignored", "--nocapture"])
        .args(["--test-threads", "1"])
        .env(VAR, name)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let started = Instant::now();
    let outcome = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status
                .success()
                .then_some(())
                .ok_or(format!("failed ({status})"));
        }
        if started.elapsed() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            break Err(format!("no progress after {deadline:?} (deadlock)"));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = std::fs::read_to_string(&log_path).unwrap_or_default();
    let _ = std::fs::remove_file(&log_path);
    if let Err(why) = outcome {
        panic!("{name} in its child process: {why}; its output:\n{output}");
    }
}

//! A process-wide count of live study objects and its peak.
//!
//! Every node type of the study shapes carries a [`Live`] token: made with the node, dropped
//! with it. Counts are batched per thread (±[`BATCH`]) so the hot paths touch no shared cache
//! line; the peak is therefore exact to within `BATCH` objects per mutator thread.

use std::cell::Cell;
use std::sync::atomic::{AtomicI64, Ordering};

/// Per-thread changes are published in batches of this size.
pub const BATCH: i64 = 256;

static LIVE: AtomicI64 = AtomicI64::new(0);
static PEAK: AtomicI64 = AtomicI64::new(0);

thread_local! {
    static LOCAL: Cell<i64> = const { Cell::new(0) };
}

/// Counts one live object for as long as it exists.
#[derive(Debug)]
pub struct Live(());

impl Live {
    /// Counts a new object.
    #[inline]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Live {
        bump(1);
        Live(())
    }
}

impl Drop for Live {
    #[inline]
    fn drop(&mut self) {
        bump(-1);
    }
}

#[inline]
fn bump(delta: i64) {
    let flushed = LOCAL.try_with(|local| {
        let v = local.get() + delta;
        if v.abs() >= BATCH {
            local.set(0);
            publish(v);
        } else {
            local.set(v);
        }
    });
    if flushed.is_err() {
        publish(delta);
    }
}

fn publish(delta: i64) {
    let now = LIVE.fetch_add(delta, Ordering::Relaxed) + delta;
    if delta > 0 {
        PEAK.fetch_max(now, Ordering::Relaxed);
    }
}

/// Publishes this thread's pending changes (call before a thread ends or before reading).
pub fn flush() {
    let _ = LOCAL.try_with(|local| publish(local.replace(0)));
}

/// Live objects now (published changes only).
pub fn current() -> i64 {
    LIVE.load(Ordering::Relaxed)
}

/// The largest published count since the last [`reset_peak`].
pub fn peak() -> i64 {
    PEAK.load(Ordering::Relaxed)
}

/// Starts a new peak from the current count.
pub fn reset_peak() {
    flush();
    PEAK.store(current(), Ordering::Relaxed);
}

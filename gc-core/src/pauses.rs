//! Pause recording (feature `pause-histogram`): every stop of the world a collection makes,
//! split into the wait for safepoints and the collector's own work, in HDR histograms per
//! generation. Readers such as the threshold study take them from the heap instead of timing
//! from outside; with the feature off none of this is compiled.

use std::time::Duration;

use hdrhistogram::Histogram;

/// Pause histograms of one generation, in nanoseconds (3 significant figures).
#[derive(Debug, Clone)]
pub struct PauseHistograms {
    /// Time from requesting the stop until every thread reached a safepoint.
    pub time_to_safepoint: Histogram<u64>,
    /// Time the world stayed stopped after that: the collector's work.
    pub work: Histogram<u64>,
    /// The whole stop: `time_to_safepoint + work`.
    pub total: Histogram<u64>,
}

impl PauseHistograms {
    pub(crate) fn new() -> Self {
        // 1 ns to one hour at 3 significant figures; longer pauses saturate at an hour.
        let histogram = || {
            Histogram::new_with_bounds(1, 3_600_000_000_000, 3)
                .expect("the bounds and precision are valid")
        };
        PauseHistograms {
            time_to_safepoint: histogram(),
            work: histogram(),
            total: histogram(),
        }
    }

    pub(crate) fn record(&mut self, time_to_safepoint: Duration, total: Duration) {
        let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX).max(1);
        self.time_to_safepoint
            .saturating_record(nanos(time_to_safepoint));
        self.work
            .saturating_record(nanos(total.saturating_sub(time_to_safepoint)));
        self.total.saturating_record(nanos(total));
    }
}

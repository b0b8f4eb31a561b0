//! Pure measurements over recorded data: minimum mutator utilisation, pause percentiles and the
//! throughput/pause Pareto frontier.

use gc_core::hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// A stretch of time the mutator lost, in nanoseconds from the start of the measured run
/// (`start` inclusive, `end` exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interval {
    pub start: u64,
    pub end: u64,
}

/// Minimum mutator utilisation (Cheng & Blelloch) of one run: for a window length `w`, the
/// smallest fraction of any window `[t, t + w]` inside the run that the mutator had for itself.
///
/// Built once from the pause intervals (sorted, merged, clipped to the run); each query is
/// exact and takes O(n log n) for n pauses. The busy time inside a window, as a function of the
/// window's start, is piecewise linear with breakpoints where either edge of the window meets
/// a pause edge, so its maximum is found among those breakpoints and the two ends.
#[derive(Debug, Clone)]
pub struct Mmu {
    total: u64,
    intervals: Vec<Interval>,
    /// `prefix[i]`: busy time of `intervals[..i]`.
    prefix: Vec<u64>,
}

impl Mmu {
    /// `total`: length of the run in ns; `pauses`: intervals in any order, possibly overlapping.
    pub fn new(total: u64, pauses: &[Interval]) -> Mmu {
        let mut sorted: Vec<Interval> = pauses
            .iter()
            .map(|p| Interval {
                start: p.start.min(total),
                end: p.end.min(total),
            })
            .filter(|p| p.end > p.start)
            .collect();
        sorted.sort_by_key(|p| p.start);
        let mut intervals: Vec<Interval> = Vec::with_capacity(sorted.len());
        for p in sorted {
            match intervals.last_mut() {
                Some(last) if p.start <= last.end => last.end = last.end.max(p.end),
                _ => intervals.push(p),
            }
        }
        let mut prefix = Vec::with_capacity(intervals.len() + 1);
        let mut sum = 0;
        prefix.push(0);
        for p in &intervals {
            sum += p.end - p.start;
            prefix.push(sum);
        }
        Mmu {
            total,
            intervals,
            prefix,
        }
    }

    /// Total busy (paused) time.
    pub fn busy(&self) -> u64 {
        *self.prefix.last().unwrap_or(&0)
    }

    /// Busy time inside `[0, x]`.
    fn busy_before(&self, x: u64) -> u64 {
        let i = self.intervals.partition_point(|p| p.end <= x);
        let mut busy = self.prefix[i];
        if let Some(p) = self.intervals.get(i) {
            if p.start < x {
                busy += x - p.start;
            }
        }
        busy
    }

    /// The MMU for windows of `window` ns. A window at least as long as the run gives the
    /// run's overall utilisation; an empty run gives 1.
    pub fn at(&self, window: u64) -> f64 {
        if self.total == 0 {
            return 1.0;
        }
        if window >= self.total {
            return (self.total - self.busy()) as f64 / self.total as f64;
        }
        if window == 0 {
            return if self.intervals.is_empty() { 1.0 } else { 0.0 };
        }
        let last = self.total - window;
        let overlap = |t: u64| self.busy_before(t + window) - self.busy_before(t);
        let mut worst = overlap(0).max(overlap(last));
        for p in &self.intervals {
            for edge in [p.start, p.end] {
                for t in [edge, edge.saturating_sub(window)] {
                    worst = worst.max(overlap(t.min(last)));
                }
            }
        }
        (window - worst) as f64 / window as f64
    }

    /// MMU at log-spaced windows from `from` ns up to the run's length (`per_decade` points
    /// per factor of ten), as `(window in ns, mmu)`.
    pub fn curve(&self, from: u64, per_decade: u32) -> Vec<(u64, f64)> {
        let mut out = Vec::new();
        if self.total == 0 || from == 0 {
            return out;
        }
        let step = 10f64.powf(1.0 / per_decade as f64);
        let mut w = from as f64;
        while (w as u64) < self.total {
            out.push((w as u64, self.at(w as u64)));
            w *= step;
        }
        out.push((self.total, self.at(self.total)));
        out
    }
}

/// The usual latency percentiles of a histogram (values as recorded, here ns).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    pub count: u64,
    pub mean: f64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

impl Percentiles {
    /// Percentiles of `h`; all zero for an empty histogram.
    pub fn of(h: &Histogram<u64>) -> Percentiles {
        if h.is_empty() {
            return Percentiles::default();
        }
        Percentiles {
            count: h.len(),
            mean: h.mean(),
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
        }
    }
}

/// Points of the cumulative distribution of `h`: `(value, fraction of samples ≤ value)`, one
/// per distinct recorded bucket (at most `limit`, thinned evenly).
pub fn cdf(h: &Histogram<u64>, limit: usize) -> Vec<(u64, f64)> {
    if h.is_empty() {
        return Vec::new();
    }
    let total = h.len() as f64;
    let mut seen = 0u64;
    let mut points: Vec<(u64, f64)> = h
        .iter_recorded()
        .map(|v| {
            seen += v.count_since_last_iteration();
            (
                h.highest_equivalent(v.value_iterated_to()),
                seen as f64 / total,
            )
        })
        .collect();
    if points.len() > limit && limit >= 2 {
        let n = points.len();
        let keep: Vec<(u64, f64)> = (0..limit)
            .map(|i| points[i * (n - 1) / (limit - 1)])
            .collect();
        points = keep;
    }
    points
}

/// For points `(throughput, pause)`, which are on the Pareto frontier: no other point has at
/// least the throughput and at most the pause, with one of the two strictly better.
pub fn pareto_frontier(points: &[(f64, f64)]) -> Vec<bool> {
    points
        .iter()
        .map(|&(thr, pause)| {
            !points
                .iter()
                .any(|&(t2, p2)| t2 >= thr && p2 <= pause && (t2 > thr || p2 < pause))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    /// 1 ms pauses at the start of every 10 ms over a 100 ms run.
    fn periodic() -> Mmu {
        let pauses: Vec<Interval> = (0..10)
            .map(|k| Interval {
                start: k * 10 * MS,
                end: k * 10 * MS + MS,
            })
            .collect();
        Mmu::new(100 * MS, &pauses)
    }

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    #[test]
    fn mmu_of_a_periodic_pause_pattern_is_exact() {
        let mmu = periodic();
        assert_eq!(mmu.busy(), 10 * MS);
        close(mmu.at(MS), 0.0);
        close(mmu.at(MS / 2), 0.0);
        close(mmu.at(2 * MS), 0.5);
        close(mmu.at(4 * MS), 0.75);
        close(mmu.at(5 * MS), 0.8);
        close(mmu.at(10 * MS), 0.9);
        // An 11 ms window can hold two whole pauses: [0, 11 ms] holds [0, 1] and [10, 11].
        close(mmu.at(11 * MS), 9.0 / 11.0);
        close(mmu.at(100 * MS), 0.9);
        close(mmu.at(1000 * MS), 0.9);
    }

    #[test]
    fn mmu_finds_the_worst_window_between_breakpoints() {
        // Two pauses 3 ms apart: a 5 ms window covering [1, 6] holds 1 + 1 = 2 ms of pause
        // (the second pause, [5, 6], only partially fits a window starting at 0).
        let mmu = Mmu::new(
            20 * MS,
            &[
                Interval {
                    start: MS,
                    end: 2 * MS,
                },
                Interval {
                    start: 5 * MS,
                    end: 6 * MS,
                },
            ],
        );
        close(mmu.at(5 * MS), 3.0 / 5.0);
        close(mmu.at(3 * MS), 2.0 / 3.0);
        close(mmu.at(MS), 0.0);
        close(mmu.at(20 * MS), 18.0 / 20.0);
    }

    #[test]
    fn mmu_merges_overlaps_and_clips_to_the_run() {
        let mmu = Mmu::new(
            10 * MS,
            &[
                Interval {
                    start: 8 * MS,
                    end: 12 * MS,
                },
                Interval {
                    start: 2 * MS,
                    end: 4 * MS,
                },
                Interval {
                    start: 3 * MS,
                    end: 5 * MS,
                },
                Interval {
                    start: 7 * MS,
                    end: 7 * MS,
                },
            ],
        );
        assert_eq!(mmu.busy(), 5 * MS);
        close(mmu.at(3 * MS), 0.0);
        close(mmu.at(4 * MS), 0.25);
        close(mmu.at(10 * MS), 0.5);
    }

    #[test]
    fn mmu_without_pauses_is_one() {
        let mmu = Mmu::new(10 * MS, &[]);
        close(mmu.at(MS), 1.0);
        close(mmu.at(0), 1.0);
        close(Mmu::new(0, &[]).at(MS), 1.0);
    }

    #[test]
    fn mmu_curve_rises_to_overall_utilisation() {
        let curve = periodic().curve(100_000, 4);
        assert!(curve.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(curve.last().unwrap().0, 100 * MS);
        close(curve.last().unwrap().1, 0.9);
        close(curve[0].1, 0.0);
    }

    #[test]
    fn percentiles_of_a_uniform_histogram() {
        let mut h = Histogram::<u64>::new(3).unwrap();
        for v in 1..=1000 {
            h.record(v).unwrap();
        }
        let p = Percentiles::of(&h);
        assert_eq!(p.count, 1000);
        assert_eq!(p.p50, 500);
        assert_eq!(p.p90, 900);
        assert_eq!(p.p99, 990);
        assert_eq!(p.p999, 999);
        assert_eq!(p.max, 1000);
        close(p.mean, 500.5);
    }

    #[test]
    fn percentiles_pick_the_tail() {
        let mut h = Histogram::<u64>::new(3).unwrap();
        h.record_n(1_000, 988).unwrap();
        h.record_n(50_000, 10).unwrap();
        h.record_n(7_000_000, 2).unwrap();
        let p = Percentiles::of(&h);
        assert_eq!(p.p50, 1_000);
        assert_eq!(p.p90, 1_000);
        assert_eq!(p.p99, h.highest_equivalent(50_000));
        assert_eq!(p.p999, h.highest_equivalent(7_000_000));
        assert_eq!(p.max, h.highest_equivalent(7_000_000));
        assert_eq!(
            Percentiles::of(&Histogram::<u64>::new(3).unwrap()),
            Percentiles::default()
        );
    }

    #[test]
    fn cdf_ends_at_one() {
        let mut h = Histogram::<u64>::new(3).unwrap();
        for v in [10, 20, 20, 40] {
            h.record(v).unwrap();
        }
        let c = cdf(&h, 100);
        assert_eq!(c, vec![(10, 0.25), (20, 0.75), (40, 1.0)]);
        assert!(cdf(&Histogram::<u64>::new(3).unwrap(), 10).is_empty());
    }

    #[test]
    fn pareto_frontier_keeps_only_undominated_points() {
        // (throughput, p99 pause)
        let points = [
            (100.0, 5.0), // frontier: fastest
            (90.0, 1.0),  // frontier
            (80.0, 2.0),  // dominated by (90, 1)
            (50.0, 0.5),  // frontier: smallest pause
            (100.0, 6.0), // dominated by (100, 5)
            (90.0, 1.0),  // a tie with a frontier point stays on it
        ];
        assert_eq!(
            pareto_frontier(&points),
            vec![true, true, false, true, false, true]
        );
        assert!(pareto_frontier(&[]).is_empty());
    }
}

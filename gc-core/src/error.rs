//! Errors of the gc-module surface.

use core::fmt;

/// A bad argument to a heap operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GcError {
    /// A generation number past the oldest generation.
    GenerationOutOfRange {
        /// The generation asked for.
        generation: usize,
        /// How many generations the heap has.
        generations: usize,
    },
    /// A threshold list whose length does not match the number of generations.
    ThresholdCount {
        /// How many thresholds were given.
        given: usize,
        /// How many generations the heap has.
        generations: usize,
    },
    /// A configuration that cannot be built.
    InvalidConfig(String),
    /// A collection gave up waiting for other threads to reach a safepoint.
    Stalled {
        /// How long it waited.
        waited: std::time::Duration,
        /// The threads that kept it waiting, each described (name, id, where it attached).
        threads: Vec<String>,
    },
}

impl fmt::Display for GcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GcError::GenerationOutOfRange {
                generation,
                generations,
            } => write!(
                f,
                "generation {generation} is out of range: the heap has generations 0..{generations}"
            ),
            GcError::ThresholdCount { given, generations } => write!(
                f,
                "{given} thresholds given for a heap with {generations} generations"
            ),
            GcError::InvalidConfig(why) => write!(f, "invalid heap configuration: {why}"),
            GcError::Stalled { waited, threads } => write!(
                f,
                "the collection gave up after {:.0} ms waiting for {}",
                waited.as_secs_f64() * 1e3,
                threads.join("; ")
            ),
        }
    }
}

impl std::error::Error for GcError {}

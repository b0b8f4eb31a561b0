//! The data the collector's phases work on, beside the phases themselves:
//!
//! - [`region`]: the members of one trial deletion by position, their `gc_refs` in a side array;
//! - [`edge_log`]: the edges between members, as positions, written by `subtract_refs` and read
//!   by `mark`;
//! - [`garbage`]: the unreachable objects, each held by the collector, from `relist` to the
//!   teardown;
//! - [`scratch`]: the buffers the heap keeps from one collection to the next.

pub(crate) mod edge_log;
pub(crate) mod garbage;
pub(crate) mod region;
pub(crate) mod scratch;

//! The whole tour, in order: Python's memory-management experiments on a gc-core heap.
//!
//! ```text
//! cargo run -p gc-core --example tour              # every step
//! cargo run -p gc-core --example tour -- leaks     # one step, by name
//! cargo run -p gc-core --example tour_05_cycles    # the same, as its own example
//! ```
//!
//! Graphs are written to `gc-core-tour` in the system's temporary directory.

#[path = "tour/mod.rs"]
mod tour;

fn main() -> std::io::Result<()> {
    let only = std::env::args().nth(1);
    tour::run(&mut std::io::stdout(), only.as_deref(), None)
}

//! Tour step 03: see `tour/s03_refcounts.rs`. Run every step with `cargo run --example tour`.

#[path = "tour/mod.rs"]
mod tour;

fn main() -> std::io::Result<()> {
    tour::run(&mut std::io::stdout(), Some("refcounts"), None)
}

//! Tour step 02: see `tour/s02_small_values.rs`. Run every step with `cargo run --example tour`.

#[path = "tour/mod.rs"]
mod tour;

fn main() -> std::io::Result<()> {
    tour::run(&mut std::io::stdout(), Some("small_values"), None)
}

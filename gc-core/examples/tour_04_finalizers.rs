//! Tour step 04: see `tour/s04_finalizers.rs`. Run every step with `cargo run --example tour`.

#[path = "tour/mod.rs"]
mod tour;

fn main() -> std::io::Result<()> {
    tour::run(&mut std::io::stdout(), Some("finalizers"), None)
}

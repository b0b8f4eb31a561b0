//! Tour step 10: see `tour/s10_leaks.rs`. Run every step with `cargo run --example tour`.

#[path = "tour/mod.rs"]
mod tour;

fn main() -> std::io::Result<()> {
    tour::run(&mut std::io::stdout(), Some("leaks"), None)
}

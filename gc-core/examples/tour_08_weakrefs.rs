//! Tour step 08: see `tour/s08_weakrefs.rs`. Run every step with `cargo run --example tour`.

#[path = "tour/mod.rs"]
mod tour;

fn main() -> std::io::Result<()> {
    tour::run(&mut std::io::stdout(), Some("weakrefs"), None)
}

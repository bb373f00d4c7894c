//! Writes the test vectors under `tests/vectors/`: for each vector the input bytes,
//! the receiving role, the events RFC 6455 requires (oracle JSON) and the frames the
//! receiver answers with. Reproducible: fixed seeds; `tests/vectors.rs` fails if the
//! committed files differ from what this writes.
//!
//! ```text
//! cargo run --example gen_vectors [-- DIR]     (default tests/vectors)
//! ```

#[path = "support/vectors.rs"]
mod vectors;

fn main() -> std::io::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| String::from("tests/vectors"));
    if dir == "--help" || dir == "-h" {
        println!(
            "gen_vectors: writes the test vectors.\n\nUsage: cargo run --example gen_vectors [-- DIR]"
        );
        return Ok(());
    }
    std::fs::create_dir_all(&dir)?;
    for (name, content) in vectors::generate() {
        let path = std::path::Path::new(&dir).join(name);
        let count = content.lines().count().saturating_sub(2);
        std::fs::write(&path, content)?;
        println!("{}: {count} vectors", path.display());
    }
    Ok(())
}

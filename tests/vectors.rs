//! The committed test vectors (`tests/vectors/*.json`) are exactly what the generator
//! produces now: every vector's events and answer frames still come out of the
//! implementation, and each was checked against the strategies' independent model.
//! Regenerate with `cargo run --example gen_vectors` after an intended change.
#![cfg(all(feature = "proptest", feature = "deflate"))]

#[path = "../examples/support/vectors.rs"]
mod vectors;

#[test]
fn committed_vectors_match_the_generator() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    for (name, expected) in vectors::generate() {
        let path = dir.join(name);
        let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (run cargo run --example gen_vectors)",
                path.display()
            )
        });
        if committed != expected {
            let line = committed
                .lines()
                .zip(expected.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            panic!(
                "{} differs from the generator at line {}:\n  committed: {}\n  generated: {}",
                path.display(),
                line + 1,
                committed.lines().nth(line).unwrap_or(""),
                expected.lines().nth(line).unwrap_or("")
            );
        }
    }
}

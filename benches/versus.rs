//! Tidemark side of the issue-7 benchmarks (stub while dependencies build).
fn main() {}

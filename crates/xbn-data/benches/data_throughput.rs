//! Data pipeline throughput benchmark (work in progress).
fn main() {}

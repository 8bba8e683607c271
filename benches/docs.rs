//! Documents benchmark (work in progress).
fn main() {}

//! Native run of the core benchmarks: `cargo run --release -p terrapin-bench`.
fn main() {
    let start = std::time::Instant::now();
    let n = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5000);
    print!(
        "{}",
        terrapin_bench::run(&|| start.elapsed().as_secs_f64() * 1000.0, n)
    );
}

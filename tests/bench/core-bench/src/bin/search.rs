//! The search bench natively (src/search.rs):
//!   cargo run --release -p terrapin-bench --bin search -- [entries=100000] [reps=3] [check]
fn main() {
    let start = std::time::Instant::now();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n = args.first().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let reps = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(3);
    let check = args.iter().any(|a| a == "check");
    let now = || start.elapsed().as_secs_f64() * 1000.0;
    print!("{}", terrapin_bench::search::run(&now, n, reps, check));
}

//! The deterministic simulation (src/sim) inside the normal test command:
//! 10,000 seeds of four devices, the console and the server under a rough
//! network, crashes and skewed clocks, each checked against the invariants
//! once the network heals. `SIM_SEEDS` and `SIM_FROM` change the range
//! (`SIM_SEEDS=1 SIM_FROM=N` reruns one seed); a failure prints the seed
//! and the command that replays it.

use suishoupai_tests::sim;

/// Seeds that once broke an invariant in the real code, kept for ever.
const REGRESSIONS: &[u64] = &[20225];

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[test]
fn ten_thousand_seeds_keep_every_invariant() {
    let (from, seeds) = (env("SIM_FROM", 0), env("SIM_SEEDS", 10_000));
    // Twice the cores: a seed waits on files part of its time (every device
    // and the server write real SQLite files); 1,000 seeds took 58 s so
    // against 63 s with one thread a core.
    let threads = 2 * std::thread::available_parallelism().map_or(2, |n| n.get());
    let started = std::time::Instant::now();
    match sim::run_many(from, seeds, threads) {
        Ok(totals) => {
            let secs = started.elapsed().as_secs_f64();
            eprintln!(
                "simulation: {} seeds, {} reports, {:.0} seeds/s: {:?}",
                totals.seeds,
                totals.reports,
                totals.seeds as f64 / secs,
                totals.net
            );
            assert_eq!(totals.seeds, seeds);
            assert!(
                totals.net.dropped > 0 && totals.net.lost_answers > 0 && totals.net.server_crashes > 0 || seeds < 100,
                "the network was rough"
            );
        }
        Err(failure) => panic!("{failure}"),
    }
}

#[test]
fn the_seeds_that_found_bugs_pass() {
    for &seed in REGRESSIONS {
        if let Err(failure) = sim::run(seed) {
            panic!("{failure}");
        }
    }
}

#[test]
fn a_seed_replays_alike() {
    // The same seed twice: the same network events and the same reports.
    for seed in [3, 17, 101] {
        let (a, b) = (sim::run(seed).unwrap(), sim::run(seed).unwrap());
        assert_eq!((a.reports, format!("{:?}", a.net)), (b.reports, format!("{:?}", b.net)), "seed {seed}");
    }
}

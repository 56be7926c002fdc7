//! `bench -- simulate --seeds N [--from S] [--threads T]`: the deterministic
//! simulation (suishoupai_tests::sim) over many seeds, for long runs; prints
//! seeds per second, or the first failing seed and how to rerun it.

use std::process::ExitCode;
use std::time::Instant;

pub(crate) fn simulate(args: &[String]) -> ExitCode {
    let value = |flag: &str, default: u64| -> u64 {
        args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
    };
    let (seeds, from) = (value("--seeds", 10_000), value("--from", 0));
    let threads = value("--threads", std::thread::available_parallelism().map_or(2, |n| n.get() as u64)) as usize;
    let started = Instant::now();
    // In chunks, so that a long run shows it is alive.
    let chunk = 10_000.min(seeds.max(1));
    let mut done = 0;
    let mut reports = 0;
    while done < seeds {
        let count = chunk.min(seeds - done);
        match suishoupai_tests::sim::run_many(from + done, count, threads) {
            Ok(totals) => {
                done += totals.seeds;
                reports += totals.reports;
                let secs = started.elapsed().as_secs_f64();
                println!(
                    "simulate: {done} seeds from {from} passed, {reports} reports, {secs:.1} s, {:.0} seeds/s on {threads} threads \
                     (last chunk: {} requests delivered, {} dropped, {} duplicated, {} answers lost, {} replayed, {} server crashes)",
                    done as f64 / secs,
                    totals.net.delivered,
                    totals.net.dropped,
                    totals.net.duplicated,
                    totals.net.lost_answers,
                    totals.net.replayed,
                    totals.net.server_crashes,
                );
            }
            Err(failure) => {
                eprintln!("{failure}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}

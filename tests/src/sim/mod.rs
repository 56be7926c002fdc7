//! A deterministic simulation of the whole system in one process, after
//! FoundationDB's simulation testing and TigerBeetle's VOPR: four devices
//! (two residents, a grid worker, a department), each a real core
//! [`suishoupai_core::Store`] in its own directory running the real sync
//! client, and the coordinator's console, all joined to the real server
//! (router, handlers, services, SQLite storage, photo files; see
//! `suishoupai_server::testkit::in_process`) by a simulated network
//! ([`net`]) under one seeded generator ([`rng`]) that decides every step.
//!
//! A run: the workload ([`workload`]) takes [`STEPS`] steps; then the
//! network heals, every device syncs to quiescence, and the invariants
//! ([`check`]) are checked. A failing seed replays from its number alone:
//! `cargo run --release -p suishoupai-tests --bin bench -- simulate --from N --seeds 1`.

pub mod check;
pub mod net;
pub mod rng;
pub mod workload;
pub mod world;

use std::sync::atomic::{AtomicU64, Ordering};

pub use self::net::NetStats;
use self::world::World;

/// Steps of workload per seed, before the network heals.
pub const STEPS: u64 = 40;

/// A seed whose run broke an invariant.
#[derive(Debug, Clone)]
pub struct Failure {
    pub seed: u64,
    pub invariant: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SIMULATION FAILED seed={}: {}\n  rerun: cargo run --release -p suishoupai-tests --bin bench -- simulate --from {} --seeds 1",
            self.seed, self.invariant, self.seed
        )
    }
}

/// What one run did, for the totals.
#[derive(Debug, Clone, Copy, Default)]
pub struct Totals {
    pub seeds: u64,
    pub reports: u64,
    pub net: NetStats,
}

impl Totals {
    fn add(&mut self, other: &Totals) {
        self.seeds += other.seeds;
        self.reports += other.reports;
        let (a, b) = (&mut self.net, &other.net);
        a.delivered += b.delivered;
        a.dropped += b.dropped;
        a.duplicated += b.duplicated;
        a.lost_answers += b.lost_answers;
        a.replayed += b.replayed;
        a.server_crashes += b.server_crashes;
    }
}

/// Runs one seed to its end and checks it.
pub fn run(seed: u64) -> Result<Totals, Failure> {
    let fail = |invariant: String| Failure { seed, invariant };
    let mut world = World::new(seed);
    let steps = STEPS / 2 + world.rng.below(STEPS / 2 + 1);
    for _ in 0..steps {
        workload::step(&mut world).map_err(fail)?;
    }
    check::heal(&mut world).map_err(fail)?;
    check::check(&mut world).map_err(fail)?;
    let net = world.net.lock().unwrap().stats;
    Ok(Totals { seeds: 1, reports: world.devices.iter().map(|d| d.created.len() as u64).sum(), net })
}

/// Runs seeds `from..from + count` on `threads` threads; stops at the first
/// failure (the lowest failing seed among those run).
pub fn run_many(from: u64, count: u64, threads: usize) -> Result<Totals, Failure> {
    let next = AtomicU64::new(0);
    let failed = std::sync::Mutex::new(None::<Failure>);
    let totals = std::sync::Mutex::new(Totals::default());
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| {
                let mut mine = Totals::default();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= count || failed.lock().unwrap().is_some() {
                        break;
                    }
                    let seed = from + n;
                    // A panic in the real code is a failure of its seed too.
                    match std::panic::catch_unwind(|| run(seed)) {
                        Ok(Ok(t)) => mine.add(&t),
                        Ok(Err(f)) => {
                            failed.lock().unwrap().get_or_insert(f);
                        }
                        Err(panic) => {
                            let what = panic
                                .downcast_ref::<String>()
                                .cloned()
                                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                                .unwrap_or_default();
                            failed.lock().unwrap().get_or_insert(Failure { seed, invariant: format!("panicked: {what}") });
                        }
                    }
                }
                totals.lock().unwrap().add(&mine);
            });
        }
    });
    match failed.into_inner().unwrap() {
        Some(f) => Err(f),
        None => Ok(totals.into_inner().unwrap()),
    }
}

//! Printing the figures beside their anchors.

use super::*;

/// One line of the final table.
pub(crate) struct Figure {
    pub(crate) name: String,
    pub(crate) project: String,
    pub(crate) anchor: String,
    pub(crate) target: String,
    /// None for figures shown for information, with no target.
    pub(crate) met: Option<bool>,
}

pub(crate) fn print_table(figures: &[Figure]) {
    println!("| Figure | Project | Anchor (same run) | Target | Met? |");
    println!("|---|---|---|---|---|");
    for f in figures {
        let met = match f.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "—",
        };
        println!("| {} | {} | {} | {} | {} |", f.name, f.project, f.anchor, f.target, met);
    }
}

pub(crate) fn print_environment(tmp: &Path) {
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("model name")).and_then(|l| l.split(':').nth(1)).map(|m| m.trim().to_owned()))
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    // Figures taken while other work runs are noisy; say so beside them.
    let load = fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load1: f64 = load.split_whitespace().next().and_then(|l| l.parse().ok()).unwrap_or(0.0);
    println!("# suishoupai bench");
    println!("{cpu}, {cores} cores available, Linux {}, temp dir {}", kernel.trim(), tmp.display());
    println!("load average (1 min) at start: {load1:.2}");
    if load1 > cores as f64 * 0.5 {
        println!("NOTE: the machine is busy; wall times below are noisy (project and anchor alternate, so both see it).");
    }
}

pub(crate) fn section(title: &str) {
    println!("\n## {title}\n");
}

/// The middle run of an odd number of runs (the upper middle otherwise).
pub(crate) fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    sorted[sorted.len() / 2]
}

pub(crate) fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms < 10.0 { format!("{ms:.2} ms") } else { format!("{ms:.0} ms") }
}

pub(crate) fn us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

/// Megabytes of 10^6 bytes, the unit of the 100 MB target.
pub(crate) fn kib_to_mb(kib: u64) -> f64 {
    kib as f64 * 1024.0 / 1e6
}

pub(crate) fn mb(kib: u64) -> String {
    format!("{:.1} MB", kib_to_mb(kib))
}

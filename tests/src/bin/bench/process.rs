//! Measuring a child process: wall and CPU time, peak memory.

use super::*;

/// What the kernel says about one finished child process.
pub(crate) struct ProcessRun {
    pub(crate) wall: Duration,
    /// User plus system CPU time: shows when a side uses several cores.
    pub(crate) cpu: Duration,
    pub(crate) peak_rss_kib: u64,
}

/// Runs `cmd` to completion and reaps it with wait4 ourselves: wait4 hands
/// back that child's own rusage (ru_maxrss is its peak RSS in KiB), where
/// getrusage(RUSAGE_CHILDREN) would give the maximum over all children so
/// far. Child::wait() would reap the pid first, so it is never called.
/// Stderr goes to `stderr_log`, shown if the command fails.
pub(crate) fn measure_process(cmd: &mut Command, stderr_log: &Path) -> Result<ProcessRun> {
    cmd.stdin(Stdio::null()).stderr(File::create(stderr_log)?);
    let start = Instant::now();
    let child = cmd.spawn().map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain data, for which all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our own child, not reaped yet; both pointers are
        // to live locals of the right types.
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if reaped == pid {
            break;
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(format!("wait4({pid}): {err}").into());
        }
    }
    let wall = start.elapsed();
    // Already reaped; dropping a Child neither waits for nor kills it.
    drop(child);
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        let stderr = fs::read_to_string(stderr_log).unwrap_or_default();
        return Err(format!("{cmd:?} failed (wait status {status:#x}): {}", stderr.trim()).into());
    }
    let timeval = |t: libc::timeval| Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64);
    Ok(ProcessRun { wall, cpu: timeval(usage.ru_utime) + timeval(usage.ru_stime), peak_rss_kib: usage.ru_maxrss as u64 })
}

/// CPU time of the calling thread (clock_gettime(CLOCK_THREAD_CPUTIME_ID)).
pub(crate) fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid clock id and a pointer to a live timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// The peak RSS of this process's memory so far (VmHWM), in KiB: what a
/// spawned child starts from. Not getrusage(RUSAGE_SELF), whose ru_maxrss
/// also carries the peak of whatever this process exec'd from (cargo run).
pub(crate) fn own_peak_rss_kib() -> u64 {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).unwrap_or(0)
}

pub(crate) struct ProcessStats {
    pub(crate) wall_median: Duration,
    pub(crate) wall_min: Duration,
    pub(crate) cpu_median: Duration,
    pub(crate) rss_median_kib: u64,
    pub(crate) rss_max_kib: u64,
}

impl ProcessStats {
    pub(crate) fn of(runs: &[ProcessRun]) -> Self {
        let walls: Vec<Duration> = runs.iter().map(|r| r.wall).collect();
        let cpus: Vec<Duration> = runs.iter().map(|r| r.cpu).collect();
        let mut rss: Vec<u64> = runs.iter().map(|r| r.peak_rss_kib).collect();
        rss.sort_unstable();
        ProcessStats {
            wall_median: median(&walls),
            wall_min: *walls.iter().min().expect("runs"),
            cpu_median: median(&cpus),
            rss_median_kib: rss[rss.len() / 2],
            rss_max_kib: *rss.last().expect("runs"),
        }
    }
}

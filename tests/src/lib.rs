//! Shared helpers for the end-to-end tests and the benchmark: where the test
//! photos are, how to run the real binaries, how to measure a child process.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

pub mod proxy;
pub mod sim;

pub use suishoupai_server::testkit::{self, Api, Server};

/// The photos copied from shared/testdata/photos, with their MANIFEST.
pub fn photos_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/photos")
}

/// The hostile files copied from shared/testdata/bad, with their README.
pub fn bad_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/bad")
}

pub fn photo(name: &str) -> PathBuf {
    photos_dir().join(name)
}

pub fn bad(name: &str) -> PathBuf {
    bad_dir().join(name)
}

/// The directory cargo builds into for the profile of the running test.
fn profile_dir() -> PathBuf {
    // Test executables live in <target>/<profile>/deps/.
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe.parent().expect("exe dir");
    if dir.ends_with("deps") { dir.parent().expect("profile dir").to_owned() } else { dir.to_owned() }
}

/// Builds (once per test process) and returns a binary of another package of
/// the workspace. Cargo only provides `CARGO_BIN_EXE_*` for the package's own
/// binaries, and a stale binary would test yesterday's code.
pub fn workspace_binary(package: &str, bin: &str) -> PathBuf {
    static BUILT: OnceLock<std::sync::Mutex<std::collections::HashSet<String>>> = OnceLock::new();
    let built = BUILT.get_or_init(Default::default);
    let mut built = built.lock().unwrap();
    let profile_dir = profile_dir();
    if built.insert(format!("{package}/{bin}")) {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let target_dir = profile_dir.parent().expect("target dir");
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "--quiet", "-p", package, "--bin", bin, "--target-dir"]).arg(target_dir);
        if profile_dir.ends_with("release") {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("run cargo build");
        assert!(status.success(), "building {bin} failed");
    }
    profile_dir.join(bin)
}

/// Builds the server (once per process) and answers its path: the test kit
/// starts it from beside the test's executable, where this puts it.
pub fn server_path() -> PathBuf {
    workspace_binary("suishoupai-server", "suishoupai-server")
}

/// A real server on `data`, on a random loopback port, this build's.
pub fn start_server(data: &Path) -> Server {
    server_path();
    Server::start_in(data)
}

pub fn cli_path() -> PathBuf {
    workspace_binary("suishoupai-core", "suishoupai")
}

/// A finished `suishoupai` run.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// Peak resident memory of the process, in KiB.
    pub max_rss_kib: u64,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        assert_eq!(self.code, 0, "expected success, stderr: {}", self.stderr);
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not one JSON value ({e}): {}", self.stdout))
    }
}

/// Runs the terminal client with `args`, measuring its peak memory.
pub fn cli(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Run {
    let mut cmd = Command::new(cli_path());
    for a in args {
        cmd.arg(a);
    }
    run_measured(&mut cmd)
}

/// Runs a command to completion and reaps it with wait4, which reports the
/// child's own peak RSS (getrusage(RUSAGE_CHILDREN) would give the maximum
/// over every child so far).
#[allow(clippy::zombie_processes)] // reaped by wait4 below, not by Child::wait
pub fn run_measured(cmd: &mut Command) -> Run {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let out_thread = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
    let err_thread = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let (status, rusage) = wait4(child.id());
    Run {
        code: if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { -1 },
        stdout: out_thread.join().unwrap(),
        stderr: err_thread.join().unwrap(),
        max_rss_kib: rusage.ru_maxrss as u64,
    }
}

/// Waits for `pid` and returns its wait status and resource usage.
pub fn wait4(pid: u32) -> (i32, libc::rusage) {
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for a child of ours.
    let mut rusage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut rusage) };
    assert_eq!(reaped, pid as libc::pid_t, "wait4 failed");
    (status, rusage)
}

/// Files under a directory, recursively (for "nothing was stored" checks).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() { out.extend(files_under(&path)) } else { out.push(path) }
    }
    out
}

/// Output of a plain command, asserting it ran.
pub fn output(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("could not run {cmd:?}: {e}"))
}

/// Starts `suishoupai sync` on `device` `kills` times and kills each run
/// with SIGKILL once it has sent a random number (below `max_bytes`) of
/// bytes through `proxy`: inside its uploads, its pushes or its actions,
/// whatever the machine's speed. Answers how many kills landed while the
/// run was still going (a run that finished first proves nothing).
/// `suishoupai sync` on `device` in the background, its output dropped.
pub fn spawn_sync(device: &Path) -> std::process::Child {
    Command::new(cli_path()).arg("--data").arg(device).args(["sync", "--json"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap()
}

pub fn kill_syncs_mid_run(device: &Path, proxy: &proxy::Proxy, kills: usize, max_bytes: u64, mut seed: u64) -> usize {
    use std::sync::atomic::Ordering;
    use std::time::{Duration, Instant};
    let mut mid_run = 0;
    for _ in 0..kills {
        let mut child = spawn_sync(device);
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let (start, target) = (proxy.bytes_up.load(Ordering::Relaxed), seed % max_bytes);
        let deadline = Instant::now() + Duration::from_secs(20);
        while proxy.bytes_up.load(Ordering::Relaxed) - start < target && child.try_wait().unwrap().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        if child.try_wait().unwrap().is_none() {
            mid_run += 1;
        }
        child.kill().unwrap();
        child.wait().unwrap();
    }
    eprintln!("{mid_run} of {kills} kills landed while a sync was running");
    mid_run
}

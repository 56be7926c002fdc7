//! A throwaway PostgreSQL cluster for tests: one per test process, started
//! on first use (`initdb` into a temporary directory, `pg_ctl start` on a
//! free loopback port), stopped when the process exits; each caller gets
//! a fresh database of its own ([`fresh_database`]).
//!
//! PostgreSQL must be installed (`initdb` on PATH or under
//! `/usr/lib/postgresql/*/bin`, as Debian's `postgresql` puts it); without
//! it the tests panic rather than pass without having run. PostgreSQL
//! refuses to run as root, so as root (CI, this workplace) the cluster is
//! the `postgres` user's, which Debian's package creates.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// The running cluster of this process.
struct Cluster {
    bin: PathBuf,
    /// Holds the data directory (`data/`), the socket and the log.
    dir: PathBuf,
    port: u16,
    /// Run the cluster's commands as this user (when the tests run as root).
    as_user: Option<&'static str>,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();
static DATABASES: AtomicU32 = AtomicU32::new(0);

/// The URL of a new, empty database on this process's cluster, started
/// on first use.
/// Restarts the process's cluster (`pg_ctl restart -m fast`: every
/// connection is cut, as in a database failover or an upgrade), waiting
/// until it takes connections again. Every test of the process shares the
/// cluster: a test that restarts it belongs in a test binary of its own.
pub fn restart() {
    let cluster = CLUSTER.get().expect("a database was made on the cluster before restarting it");
    let data = cluster.dir.join("data");
    // A log file, as at the start: a postmaster writing to this pipe would hold it open.
    let log = cluster.dir.join("server.log");
    let restarted = cluster.command("pg_ctl").arg("-D").arg(&data).arg("-l").arg(&log).args(["-m", "fast", "-w", "restart"]).output();
    check("pg_ctl restart", restarted);
}

pub fn fresh_database() -> String {
    let cluster = CLUSTER.get_or_init(Cluster::start);
    let name = format!("t_{}", DATABASES.fetch_add(1, Ordering::Relaxed));
    cluster.psql(&format!("CREATE DATABASE {name}"));
    cluster.url(&name)
}

/// Where `initdb`, `pg_ctl` and `psql` are: the directory of the `initdb`
/// on PATH (following a link to the real one, beside which the others
/// are), or the newest `/usr/lib/postgresql/*/bin`.
fn find_bin() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).map(|dir| dir.join("initdb")).filter(|p| p.is_file()).collect::<Vec<_>>())
        .unwrap_or_default();
    if let Some(initdb) = on_path.into_iter().next() {
        let real = std::fs::canonicalize(&initdb).unwrap_or(initdb);
        return real.parent().expect("initdb's directory").to_owned();
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    match versions.pop() {
        Some((_, bin)) => bin,
        None => panic!(
            "PostgreSQL is needed for these tests and was not found: no `initdb` on PATH nor under /usr/lib/postgresql/*/bin \
             (on Debian: apt-get install postgresql)"
        ),
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").port()
}

/// Whether the process runs as root, whom PostgreSQL refuses.
fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn check(what: &str, output: std::io::Result<Output>) -> Output {
    let output = output.unwrap_or_else(|e| panic!("{what} could not be run: {e}"));
    if !output.status.success() {
        panic!(
            "{what} failed ({}):\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    output
}

impl Cluster {
    fn start() -> Cluster {
        let bin = find_bin();
        let as_user = is_root().then_some("postgres");
        let dir = tempfile::Builder::new().prefix("suishoupai-pg-").tempdir().expect("a temporary directory").keep();
        if let Some(user) = as_user {
            let owner = Command::new("chown").arg(user).arg(&dir).output();
            check(&format!("chown {user} {} (is there a `{user}` user? Debian's postgresql package makes it)", dir.display()), owner);
        }
        let mut cluster = Cluster { bin, dir, port: 0, as_user };
        let data = cluster.dir.join("data");
        // fsync stays on: the durability the storage promises is PostgreSQL's.
        let initdb = cluster.command("initdb").arg("-D").arg(&data).args(["-A", "trust", "-U", "postgres", "-E", "UTF8"]).output();
        check("initdb", initdb);
        // A port found free may be taken before the server binds it: try again.
        let mut tries = 0;
        loop {
            tries += 1;
            cluster.port = free_port();
            let options = format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200",
                cluster.port,
                cluster.dir.display()
            );
            let log = cluster.dir.join("server.log");
            let started = cluster.command("pg_ctl").arg("-D").arg(&data).arg("-l").arg(&log).args(["-o", &options, "-w", "start"]).output();
            match started {
                Ok(output) if output.status.success() => break,
                _ if tries < 5 => continue,
                other => {
                    let log = std::fs::read_to_string(&log).unwrap_or_default();
                    check(&format!("pg_ctl start (server log:\n{log})"), other);
                }
            }
        }
        let _ = STOP.set((cluster.command_line("pg_ctl"), data, cluster.dir.clone()));
        // SAFETY: `stop_at_exit` is an `extern "C" fn()` that only reads statics.
        unsafe { libc::atexit(stop_at_exit) };
        cluster
    }

    /// `program` of the cluster's installation, run as the cluster's user.
    fn command(&self, program: &str) -> Command {
        let (first, rest) = self.command_line(program);
        let mut command = Command::new(first);
        command.args(rest).current_dir(&self.dir);
        command
    }

    /// The program and the arguments before its own.
    fn command_line(&self, program: &str) -> (PathBuf, Vec<PathBuf>) {
        let path = self.bin.join(program);
        match self.as_user {
            Some(user) => ("runuser".into(), vec!["-u".into(), user.into(), "--".into(), path]),
            None => (path, Vec::new()),
        }
    }

    fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Runs one statement as the superuser, on the `postgres` database.
    fn psql(&self, sql: &str) {
        let output = Command::new(self.bin.join("psql"))
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres"])
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-c")
            .arg(sql)
            .output();
        check(&format!("psql -c {sql:?}"), output);
    }
}

/// What the exit handler needs: `pg_ctl`'s command line, the data
/// directory, and the directory to remove.
type StopLine = ((PathBuf, Vec<PathBuf>), PathBuf, PathBuf);
static STOP: OnceLock<StopLine> = OnceLock::new();

/// Stops the cluster and removes its directory when the test process
/// exits (a static's `Drop` never runs).
extern "C" fn stop_at_exit() {
    if let Some(((program, args), data, dir)) = STOP.get() {
        let _ = Command::new(program).args(args).arg("-D").arg(data).args(["-m", "immediate", "-w", "stop"]).current_dir(dir).output();
        let _ = std::fs::remove_dir_all(dir);
    }
}

//! `bench`: the project's performance figures, each printed beside an anchor
//! measured in the same run on the same machine, so that a number means
//! something without knowing the hardware.
//!
//! ```text
//! cargo run --release -p suishoupai-tests --bin bench -- [ingest|store|sync|all]
//! ```
//!
//! - `ingest`: the `suishoupai` CLI making a report from a 12 MP JPEG, as a
//!   whole process (wall time, peak RSS), against `vipsthumbnail -s 1600`.
//! - `store`: report creation, listing 10,000 reports and opening a store of
//!   100,000 reports, against bare rusqlite doing the same SQL.
//! - `sync` (not in `all`): `suishoupai sync` of 500 photo reports against
//!   `suishoupai-server` on loopback vs nginx WebDAV PUT with curl, bytes on
//!   the wire, bytes resent after a cut, the server's push rate against bare
//!   rusqlite, and 200 clients syncing at once. Needs nginx.
//!
//! Temporary files go under `$BENCH_TMP` (default: the system temp dir) and
//! are removed at the end. See tests/BENCH.md for what each anchor does and
//! does not cover.

use std::error::Error;
use std::fs::{self, File};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use image::codecs::jpeg::JpegEncoder;
use image::imageops::{self, FilterType};
use rusqlite::{Connection, TransactionBehavior, params};
use suishoupai_core::protocol::{MAX_CHUNK_BYTES, MAX_PUSH_REPORTS, WireReport};
use suishoupai_core::store::DATABASE_FILE;
use suishoupai_core::{BlobKind, CATEGORIES, PhotoSource, PreparedPhoto, ReportDraft, Reporter, Store, photo};
use suishoupai_tests::proxy::{Faults, Proxy};
use suishoupai_tests::server::{Server, add_user, server_path};
use uuid::Uuid;

type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

const PHOTOS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/photos");
/// An 8 MP phone photo with real EXIF and GPS: the seed of the 12 MP test file.
const SEED_PHOTO: &str = "nokia_lumia800_N_W_fullres.jpg";
/// A small geotagged photo for the store figures, where pixels do not matter.
const STORE_PHOTO: &str = "google_pixel_N_E.jpg";

/// The store's schema: the very migration SQL the store runs (shipped
/// migrations are never edited, and new ones are appended there), so that the
/// bare-SQLite anchors pay for the same tables, indexes and checks. Taken from
/// the core rather than include_str! of the files so that a migration added
/// later cannot be missed; `check_same_schema` verifies the result.
const MIGRATIONS: &[&str] = suishoupai_core::store::schema::MIGRATIONS;
/// The pragmas `core/src/store/mod.rs` sets on every connection. FULL makes
/// every commit an fsync of the WAL: the anchor must pay it too.
const STORE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;";

/// Process runs per side for ingest (after one untimed warm-up each). Odd, so
/// the median is one real run.
const INGEST_RUNS: usize = 11;
const CREATE_REPORTS: usize = 500;
/// Creation alternates between project and anchor in blocks, so that a slow
/// patch of the disk (fsync latency drifts) hits both sides alike.
const CREATE_BLOCKS: usize = 5;
const LIST_REPORTS: usize = 10_000;
const OPEN_REPORTS: usize = 100_000;
/// Timed repetitions of the list and open figures (after one warm-up each).
const QUERY_RUNS: usize = 7;

const PEAK_RSS_TARGET_MB: f64 = 100.0;
const CREATE_TARGET_RATIO: f64 = 2.0;
const OPEN_TARGET: Duration = Duration::from_millis(20);

/// Hidden mode: the bench runs itself with this to make the test photo in a
/// child process (see `make_big_jpeg`).
const MAKE_PHOTO_MODE: &str = "__make-photo";

fn main() -> ExitCode {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "all".into());
    if mode == MAKE_PHOTO_MODE {
        let out = std::env::args_os().nth(2).map(PathBuf::from);
        return match out.ok_or_else(|| "no output path".into()).and_then(|out| write_big_jpeg(&out)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("making the test photo failed: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let (ingest, store, sync) = match mode.as_str() {
        "ingest" => (true, false, false),
        "store" => (false, true, false),
        "sync" => (false, false, true),
        "all" => (true, true, false),
        _ => {
            eprintln!("usage: bench [ingest|store|sync|all]   (default: all = ingest + store)");
            return ExitCode::from(2);
        }
    };
    match run(ingest, store, sync) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nbench failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(ingest: bool, store: bool, sync: bool) -> Result<()> {
    let started = Instant::now();
    if cfg!(debug_assertions) {
        eprintln!("WARNING: bench built without --release: the figures below mean nothing.");
    }
    let tmp_root = std::env::var_os("BENCH_TMP").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
    // Dropped (and removed) at the end of run, also on error.
    let tmp = tempfile::Builder::new().prefix("suishoupai-bench-").tempdir_in(&tmp_root)?;
    print_environment(tmp.path());

    let mut figures = Vec::new();
    let mut setup = Duration::ZERO;
    if ingest {
        let Some(vips_version) = vips_version() else {
            return Err("vipsthumbnail not found on PATH. The ingest anchor needs it: \
                        apt-get install libvips-tools (or run `bench store`)."
                .into());
        };
        let start = Instant::now();
        let cli = suishoupai_binary()?;
        setup = start.elapsed();
        println!("suishoupai CLI built/checked in {:.1} s (not measured)", setup.as_secs_f64());
        bench_ingest(tmp.path(), &cli, &vips_version, &mut figures)?;
    }
    if store {
        bench_store(tmp.path(), &mut figures)?;
    }
    if sync {
        let start = Instant::now();
        let cli = suishoupai_binary()?;
        let server = server_path();
        let built = start.elapsed();
        setup += built;
        println!("suishoupai CLI and {} built/checked in {:.1} s (not measured)", server.display(), built.as_secs_f64());
        bench_sync(tmp.path(), &cli, &mut figures)?;
    }

    println!("\n## Results\n");
    print_table(&figures);
    let total = started.elapsed();
    println!("\nWhole bench run: {:.1} s ({:.1} s without building the CLI)", total.as_secs_f64(), (total - setup).as_secs_f64());
    Ok(())
}

// ---------------------------------------------------------------------------
// Ingest: the CLI as a whole process against vipsthumbnail.
// ---------------------------------------------------------------------------

fn bench_ingest(tmp: &Path, cli: &Path, vips_version: &str, figures: &mut Vec<Figure>) -> Result<()> {
    section("ingest: one 12 MP JPEG with EXIF/GPS → stored report");

    let big = make_big_jpeg(tmp)?;
    let bytes = fs::read(&big)?;
    let info = photo::inspect(&bytes)?;
    println!(
        "test photo: {}x{} JPEG q92, {:.1} MB, geotag {:?}, taken {:?}",
        info.width,
        info.height,
        bytes.len() as f64 / 1e6,
        info.metadata.geotag.map(|g| (g.latitude, g.longitude)),
        info.metadata.taken_at.map(|t| t.to_rfc3339()),
    );
    if (info.width, info.height) != (3000, 4000) || info.metadata.geotag.is_none() {
        return Err("the generated test photo lost its size or its EXIF geotag".into());
    }
    println!("project: {} report new --photo big.jpg --json (fresh data dir per run)", cli.display());
    println!("anchor:  vipsthumbnail -s 1600 big.jpg ({vips_version})");

    let stderr_log = tmp.join("child-stderr.log");
    let report_new = |data: &Path, json: &Path| -> Result<ProcessRun> {
        measure_process(
            Command::new(cli)
                .arg("--data")
                .arg(data)
                .args(["report", "new", "--category", "garbage", "--photo"])
                .arg(&big)
                .arg("--json")
                .stdout(File::create(json)?),
            &stderr_log,
        )
    };
    let (mut project, mut anchor, mut existing) = (Vec::new(), Vec::new(), Vec::new());
    // Run 0 is an untimed warm-up of each side (page cache, dynamic loader);
    // then the sides alternate, so drift in machine load hits all alike.
    for run in 0..=INGEST_RUNS {
        // The figure with a target: a fresh data dir, so the process also
        // creates the store (migrations, each a committed transaction).
        let data = tmp.join(format!("ingest-data-{run}"));
        let json = tmp.join("ingest-report.json");
        let p = report_new(&data, &json)?;
        if run == 0 {
            check_report_json(&json)?;
        }
        fs::remove_dir_all(&data)?;

        let out = tmp.join("vips-out.jpg");
        let a = measure_process(
            Command::new("vipsthumbnail").args(["-s", "1600"]).arg(&big).arg("-o").arg(&out).stdout(Stdio::null()),
            &stderr_log,
        )?;
        // vipsthumbnail's -o is a pattern; make sure it wrote where we think.
        fs::remove_file(&out).map_err(|e| format!("vipsthumbnail wrote no {}: {e}", out.display()))?;

        // For information: every report after the first goes into a store
        // that exists. Created untimed by a `report list`.
        let data = tmp.join(format!("ingest-existing-{run}"));
        measure_process(Command::new(cli).arg("--data").arg(&data).args(["report", "list"]).stdout(Stdio::null()), &stderr_log)?;
        let e = report_new(&data, &json)?;
        fs::remove_dir_all(&data)?;

        if run > 0 {
            project.push(p);
            anchor.push(a);
            existing.push(e);
        }
    }

    // Every child's ru_maxrss is at least this process's peak at the spawn
    // (see make_big_jpeg); shown so that a figure at the floor is recognised.
    // Taken before the in-process runs below, which raise it.
    let floor_kib = own_peak_rss_kib();

    // The photo pipeline alone, in this process: no process start, no store.
    // CPU time too: on a busy machine wall time includes waiting for a core.
    let (mut prepare_times, mut prepare_cpu) = (Vec::new(), Vec::new());
    for _ in 0..=INGEST_RUNS {
        let (start, cpu_start) = (Instant::now(), thread_cpu_time());
        black_box(photo::prepare(black_box(&bytes))?);
        prepare_times.push(start.elapsed());
        prepare_cpu.push(thread_cpu_time().saturating_sub(cpu_start));
    }
    prepare_times.remove(0); // warm-up
    prepare_cpu.remove(0);

    let (p, a, e) = (ProcessStats::of(&project), ProcessStats::of(&anchor), ProcessStats::of(&existing));
    println!("\n{:<36} {:>12} {:>12} {:>12} {:>14} {:>14}", "", "wall median", "wall min", "CPU median", "peak RSS med", "peak RSS max");
    for (name, s) in
        [("suishoupai report new (fresh store)", &p), ("vipsthumbnail -s 1600", &a), ("suishoupai report new (store exists)", &e)]
    {
        println!(
            "{name:<36} {:>12} {:>12} {:>12} {:>14} {:>14}",
            ms(s.wall_median),
            ms(s.wall_min),
            ms(s.cpu_median),
            mb(s.rss_median_kib),
            mb(s.rss_max_kib)
        );
    }
    println!(
        "{:<36} {:>12} {:>12} {:>12}",
        "photo::prepare in-process",
        ms(median(&prepare_times)),
        ms(*prepare_times.iter().min().expect("runs")),
        ms(median(&prepare_cpu))
    );
    println!("(floor of the peak RSS figures: the bench's own peak while spawning, {})", mb(floor_kib));
    if p.rss_max_kib <= floor_kib || a.rss_max_kib <= floor_kib {
        return Err("a measured peak RSS is the bench's own: the memory figures are not the child's".into());
    }

    figures.push(Figure {
        name: format!("Ingest 12 MP JPEG → report in a fresh store, wall (median of {INGEST_RUNS} processes)"),
        project: format!("{} (min {})", ms(p.wall_median), ms(p.wall_min)),
        anchor: format!("vipsthumbnail -s 1600: {} (min {})", ms(a.wall_median), ms(a.wall_min)),
        target: "≤ vipsthumbnail".into(),
        met: Some(p.wall_median <= a.wall_median),
    });
    figures.push(Figure {
        name: format!("Ingest as above into an existing store (median of {INGEST_RUNS})"),
        project: format!("{} (min {})", ms(e.wall_median), ms(e.wall_min)),
        anchor: format!("vipsthumbnail -s 1600: {}", ms(a.wall_median)),
        target: "info".into(),
        met: None,
    });
    figures.push(Figure {
        name: format!("Ingest peak RSS (max of {INGEST_RUNS} processes)"),
        project: mb(p.rss_max_kib),
        anchor: format!("vipsthumbnail: {}", mb(a.rss_max_kib)),
        target: format!("< {PEAK_RSS_TARGET_MB:.0} MB"),
        met: Some(kib_to_mb(p.rss_max_kib) < PEAK_RSS_TARGET_MB),
    });
    figures.push(Figure {
        name: format!("`photo::prepare` of that photo in-process (median of {INGEST_RUNS})"),
        project: format!("{} (CPU {})", ms(median(&prepare_times)), ms(median(&prepare_cpu))),
        anchor: "—".into(),
        target: "info".into(),
        met: None,
    });
    Ok(())
}

/// Makes the test photo in a child process (this same program), because a
/// child's ru_maxrss is at least its parent's peak RSS: the spawned process
/// runs in a copy (or, with posix_spawn, a share) of the parent's memory until
/// it execs, and Linux carries that high-water mark across exec. Decoding and
/// upscaling here would lift the parent to ~220 MB and every measured
/// process with it.
fn make_big_jpeg(tmp: &Path) -> Result<PathBuf> {
    let start = Instant::now();
    let path = tmp.join("big.jpg");
    let status = Command::new(std::env::current_exe()?).arg(MAKE_PHOTO_MODE).arg(&path).status()?;
    if !status.success() {
        return Err("making the 12 MP test photo failed".into());
    }
    println!("made {} in {:.1} s (setup, not measured)", path.display(), start.elapsed().as_secs_f64());
    Ok(path)
}

/// A realistic 12 MP camera file: the 8 MP Nokia photo scaled to 3000x4000,
/// encoded at a phone camera's quality, carrying the original's EXIF (GPS,
/// time, make) so the project reads real metadata.
fn write_big_jpeg(path: &Path) -> Result<()> {
    let seed = fs::read(Path::new(PHOTOS).join(SEED_PHOTO))?;
    let pixels = image::load_from_memory_with_format(&seed, image::ImageFormat::Jpeg)?.to_rgb8();
    // Catmull-Rom: smooth upscale without Lanczos' cost; the point is a
    // plausible photo, not a perfect one.
    let scaled = imageops::resize(&pixels, 3000, 4000, FilterType::CatmullRom);
    let mut encoded = Vec::new();
    JpegEncoder::new_with_quality(&mut encoded, 92).encode_image(&scaled)?;

    let exif = exif_segment(&seed).ok_or("the seed photo has no APP1/EXIF segment")?;
    // SOI, then the EXIF segment, then the encoder's own segments (JFIF, ...).
    let mut file = Vec::with_capacity(encoded.len() + exif.len());
    file.extend_from_slice(&encoded[..2]);
    file.extend_from_slice(exif);
    file.extend_from_slice(&encoded[2..]);
    fs::write(path, &file)?;
    Ok(())
}

/// The whole APP1 "Exif" segment (marker, length, payload) of a JPEG file.
fn exif_segment(jpeg: &[u8]) -> Option<&[u8]> {
    if !jpeg.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut at = 2;
    // Walk the header segments up to the start of scan; each is FF xx LEN.
    while at + 4 <= jpeg.len() && jpeg[at] == 0xFF {
        let marker = jpeg[at + 1];
        if marker == 0xDA || marker == 0xD9 {
            break;
        }
        let len = u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]) as usize;
        let segment = jpeg.get(at..at + 2 + len)?;
        if marker == 0xE1 && segment.get(4..10) == Some(b"Exif\0\0") {
            return Some(segment);
        }
        at += 2 + len;
    }
    None
}

/// The first report must be a real one: geotag from EXIF, 1200x1600 rendition.
fn check_report_json(path: &Path) -> Result<()> {
    let report: serde_json::Value = serde_json::from_reader(File::open(path)?)?;
    let photo = &report["photos"][0];
    let ok = report["location"]["source"] == "exif" && photo["width"] == 1200 && photo["height"] == 1600;
    if !ok {
        return Err(format!("unexpected report from the CLI: {report}").into());
    }
    println!(
        "check: report {} stored, location from EXIF, rendition {}x{} ({} bytes)",
        report["id"], photo["width"], photo["height"], photo["bytes"]
    );
    Ok(())
}

/// The `suishoupai` binary beside this one, rebuilt first: `cargo run --bin
/// bench` builds only the bench and the core library, so a CLI left over
/// from an older build would otherwise be measured.
fn suishoupai_binary() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let cli = exe.with_file_name("suishoupai");
    let profile_dir = exe.parent().ok_or("bench exe has no directory")?;
    let target_dir = profile_dir.parent().ok_or("bench exe is not in <target>/<profile>/")?;
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => "dev",
        Some(other) => other,
        None => "release",
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    // Both packages selected, so that dependency features unify as they did
    // for this bench: the CLI then reuses the core library just built for
    // it instead of recompiling the core and its dependencies (minutes).
    let status = Command::new(cargo)
        .args(["build", "--quiet", "-p", "suishoupai-core", "-p", "suishoupai-tests", "--bin", "suishoupai"])
        .args(["--profile", profile])
        .arg("--manifest-path")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir)
        .status();
    match status {
        Ok(s) if s.success() => Ok(cli),
        _ if cli.exists() => {
            eprintln!("WARNING: could not rebuild suishoupai; measuring the existing {}", cli.display());
            Ok(cli)
        }
        _ => Err(format!("{} is missing and `cargo build --release --bin suishoupai` failed", cli.display()).into()),
    }
}

fn vips_version() -> Option<String> {
    let out = Command::new("vipsthumbnail").arg("--version").stderr(Stdio::null()).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// What the kernel says about one finished child process.
struct ProcessRun {
    wall: Duration,
    /// User plus system CPU time: shows when a side uses several cores.
    cpu: Duration,
    peak_rss_kib: u64,
}

/// Runs `cmd` to completion and reaps it with wait4 ourselves: wait4 hands
/// back that child's own rusage (ru_maxrss is its peak RSS in KiB), where
/// getrusage(RUSAGE_CHILDREN) would give the maximum over all children so
/// far. Child::wait() would reap the pid first, so it is never called.
/// Stderr goes to `stderr_log`, shown if the command fails.
fn measure_process(cmd: &mut Command, stderr_log: &Path) -> Result<ProcessRun> {
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
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid clock id and a pointer to a live timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// The peak RSS of this process's memory so far (VmHWM), in KiB: what a
/// spawned child starts from. Not getrusage(RUSAGE_SELF), whose ru_maxrss
/// also carries the peak of whatever this process exec'd from (cargo run).
fn own_peak_rss_kib() -> u64 {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).unwrap_or(0)
}

struct ProcessStats {
    wall_median: Duration,
    wall_min: Duration,
    cpu_median: Duration,
    rss_median_kib: u64,
    rss_max_kib: u64,
}

impl ProcessStats {
    fn of(runs: &[ProcessRun]) -> Self {
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

// ---------------------------------------------------------------------------
// Store: the core's Store against bare rusqlite on the same schema.
// ---------------------------------------------------------------------------

fn bench_store(tmp: &Path, figures: &mut Vec<Figure>) -> Result<()> {
    section("store: SQLite (WAL, synchronous=FULL) through Store vs bare rusqlite");
    let prepared = photo::prepare(&fs::read(Path::new(PHOTOS).join(STORE_PHOTO))?)?;
    // The location comes from the photo's EXIF geotag, as for most real reports.
    let draft = ReportDraft { category: "garbage".into(), note: String::new(), location: None, reporter: Reporter::default() };

    bench_create(tmp, &prepared, &draft, figures)?;

    let dir = tmp.join("big-store");
    seed_store(&dir, &prepared, &draft)?;
    let fill = fill_store(&dir, &prepared.sha256, LIST_REPORTS)?;
    println!("\nfilled a store to {LIST_REPORTS} reports with raw SQL in {} (setup, not measured)", ms(fill));
    bench_list(&dir, figures)?;

    let fill = fill_store(&dir, &prepared.sha256, OPEN_REPORTS)?;
    let db_mb = fs::metadata(dir.join(DATABASE_FILE))?.len() as f64 / 1e6;
    println!("\nfilled the store to {OPEN_REPORTS} reports ({db_mb:.1} MB) in {} (setup, not measured)", ms(fill));
    bench_open(&dir, figures)?;
    Ok(())
}

fn bench_create(tmp: &Path, prepared: &PreparedPhoto, draft: &ReportDraft, figures: &mut Vec<Figure>) -> Result<()> {
    println!("\nreport creation: {CREATE_REPORTS} reports of one prepared photo, one transaction each");
    let store = Store::open(tmp.join("create-store"))?;
    let mut bare = open_bare(&tmp.join("create-bare.sqlite3"))?;
    let photos = std::slice::from_ref(prepared);

    check_same_schema(&store_connection(&tmp.join("create-store"))?, &bare)?;

    // Warm-up, untimed: the first report also writes the photo's two blob
    // files (later ones find them there, content-addressed), and the first
    // transaction of each side prepares its statements.
    store.create_report_from_prepared(draft, photos)?;
    bare_create_report(&mut bare, prepared)?;

    let per_block = CREATE_REPORTS / CREATE_BLOCKS;
    let (mut project, mut anchor) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..CREATE_BLOCKS {
        let start = Instant::now();
        for _ in 0..per_block {
            store.create_report_from_prepared(draft, photos)?;
        }
        project += start.elapsed();
        let start = Instant::now();
        for _ in 0..per_block {
            bare_create_report(&mut bare, prepared)?;
        }
        anchor += start.elapsed();
    }
    let expected = (CREATE_REPORTS + 1) as u64;
    let bare_queued: i64 = bare.query_row("SELECT count(*) FROM outbox", [], |r| r.get(0))?;
    if store.pending_count()? != expected || bare_queued as u64 != expected {
        return Err("report creation: a side did not store every report".into());
    }

    let per = |total: Duration| total / CREATE_REPORTS as u32;
    let rate = |total: Duration| CREATE_REPORTS as f64 / total.as_secs_f64();
    let ratio = project.as_secs_f64() / anchor.as_secs_f64();
    println!("  Store::create_report_from_prepared: {:>9} per report, {:>7.0} reports/s", us(per(project)), rate(project));
    println!("  bare rusqlite, same rows:           {:>9} per report, {:>7.0} reports/s", us(per(anchor)), rate(anchor));
    println!("  ratio {ratio:.2}x");
    figures.push(Figure {
        name: format!("Create a report, prepared photo ({CREATE_REPORTS} reports, mean)"),
        project: format!("{} ({:.0}/s)", us(per(project)), rate(project)),
        anchor: format!("bare rusqlite: {} ({:.0}/s)", us(per(anchor)), rate(anchor)),
        target: format!("≤ {CREATE_TARGET_RATIO:.0}× anchor (is {ratio:.2}×)"),
        met: Some(ratio <= CREATE_TARGET_RATIO),
    });
    Ok(())
}

/// A connection like the store's, on a fresh file with the store's schema.
fn open_bare(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.execute_batch(STORE_PRAGMAS)?;
    for sql in MIGRATIONS {
        conn.execute_batch(sql)?;
    }
    Ok(conn)
}

/// A plain connection to a store's database file, set up as the store's are.
fn store_connection(dir: &Path) -> Result<Connection> {
    let conn = Connection::open(dir.join(DATABASE_FILE))?;
    conn.execute_batch(STORE_PRAGMAS)?;
    Ok(conn)
}

/// Refuses an anchor whose tables differ from the store's: it would not be
/// doing the same work.
fn check_same_schema(store: &Connection, bare: &Connection) -> Result<()> {
    let schema = |conn: &Connection| -> Result<Vec<(String, Option<String>)>> {
        Ok(conn
            .prepare("SELECT name, sql FROM sqlite_schema ORDER BY name")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?)
    };
    if schema(store)? != schema(bare)? {
        return Err("the bare-SQLite anchor's schema differs from the store's".into());
    }
    Ok(())
}

/// What the store writes for one report of one photo, and nothing else: one
/// IMMEDIATE transaction with the reports, photos, report_photos and outbox
/// rows, through cached statements. Per-report values (id, time, location)
/// are computed per report, as the store does.
fn bare_create_report(conn: &mut Connection, photo: &PreparedPhoto) -> Result<()> {
    let id = Uuid::now_v7().hyphenated().to_string();
    let geotag = photo.geotag();
    let taken_at = photo.metadata.taken_at.map(|t| t.to_rfc3339());
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.prepare_cached(
        "INSERT INTO reports (id, category, note, latitude, longitude, location_source, accuracy_m,
                              reporter_role, grid_id, taken_at, created_at, status, sync_state, sync_error)
         VALUES (?1, 'garbage', '', ?2, ?3, ?4, NULL, 'resident', NULL, ?5,
                 strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'submitted', 'pending', NULL)",
    )?
    .execute(params![id, geotag.map(|g| g.latitude), geotag.map(|g| g.longitude), geotag.map(|_| "exif"), taken_at])?;
    tx.prepare_cached("INSERT OR IGNORE INTO photos (sha256, width, height, bytes, thumbnail_bytes) VALUES (?1, ?2, ?3, ?4, ?5)")?
        .execute(params![photo.sha256, photo.width, photo.height, photo.rendition.len() as i64, photo.thumbnail.len() as i64])?;
    tx.prepare_cached("INSERT INTO report_photos (report_id, position, sha256) VALUES (?1, 0, ?2)")?.execute(params![id, photo.sha256])?;
    tx.prepare_cached("INSERT INTO outbox (report_id) VALUES (?1)")?.execute([&id])?;
    tx.commit()?;
    Ok(())
}

/// A store with one report made through the real API, so that the photo row
/// and its rendition and thumbnail files are genuine.
fn seed_store(dir: &Path, prepared: &PreparedPhoto, draft: &ReportDraft) -> Result<()> {
    Store::open(dir)?.create_report_from_prepared(draft, std::slice::from_ref(prepared))?;
    Ok(())
}

/// Tops a store up to `total` reports with raw SQL in one transaction (setup,
/// not a measured figure). The rows are varied the way real ones are:
/// categories, notes, device fixes and EXIF geotags, grid workers, and most
/// reports already synced (so not in the outbox). All share one photo row.
fn fill_store(dir: &Path, sha256: &str, total: usize) -> Result<Duration> {
    let start = Instant::now();
    // foreign_keys=ON as the store has it: a row the store would refuse fails here.
    let mut conn = store_connection(dir)?;
    let existing = conn.query_row("SELECT count(*) FROM reports", [], |r| r.get::<_, i64>(0))? as usize;
    let tx = conn.transaction()?;
    {
        let mut report = tx.prepare(
            "INSERT INTO reports (id, category, note, latitude, longitude, location_source, accuracy_m,
                                  reporter_role, grid_id, taken_at, created_at, status, sync_state, sync_error)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,
                     strftime('%Y-%m-%dT%H:%M:%fZ', ?11, 'unixepoch'), 'submitted', ?12, NULL)",
        )?;
        let mut link = tx.prepare("INSERT INTO report_photos (report_id, position, sha256) VALUES (?1, 0, ?2)")?;
        let mut queue = tx.prepare("INSERT INTO outbox (report_id) VALUES (?1)")?;
        for i in existing..total {
            let id = Uuid::now_v7().hyphenated().to_string();
            let note = if i % 3 == 0 { format!("第{i}号：楼道堆放杂物，影响通行") } else { String::new() };
            let device_fix = i % 4 == 0;
            let grid_worker = i % 5 == 0;
            let pending = i % 10 == 0;
            let jitter = (i % 1000) as f64 * 1e-5;
            report.execute(params![
                id,
                CATEGORIES[i % CATEGORIES.len()].code,
                note,
                31.2304 + jitter,
                121.4737 - jitter,
                if device_fix { "device" } else { "exif" },
                device_fix.then_some(8.0),
                if grid_worker { "grid_worker" } else { "resident" },
                grid_worker.then(|| format!("grid-{:03}", i % 200)),
                "2024-05-01T08:30:00+08:00",
                // One report a minute, all older than the seed report.
                1_700_000_000.0 + i as f64 * 60.0,
                if pending { "pending" } else { "synced" },
            ])?;
            link.execute(params![id, sha256])?;
            if pending {
                queue.execute([&id])?;
            }
        }
    }
    tx.commit()?;
    // Closing the last connection checkpoints the WAL into the database, as
    // an app that was closed would leave it.
    conn.close().map_err(|(_, e)| e)?;
    Ok(start.elapsed())
}

fn bench_list(dir: &Path, figures: &mut Vec<Figure>) -> Result<()> {
    println!("list {LIST_REPORTS} reports with their photos: warm, median of {QUERY_RUNS}");
    let store = Store::open(dir)?;
    let mut bare = store_connection(dir)?;
    let (project, anchor) = time_interleaved(
        || {
            let start = Instant::now();
            let reports = black_box(store.list_reports()?);
            let took = start.elapsed();
            if reports.len() != LIST_REPORTS || reports.iter().any(|r| r.photos.len() != 1) {
                return Err("list_reports returned the wrong reports".into());
            }
            Ok(took)
        },
        || {
            let start = Instant::now();
            let (reports, photos) = black_box(bare_list(&mut bare)?);
            let took = start.elapsed();
            if reports.len() != LIST_REPORTS || photos.len() != LIST_REPORTS {
                return Err("bare list returned the wrong rows".into());
            }
            Ok(took)
        },
    )?;
    let (p, a) = (median(&project), median(&anchor));
    println!("  Store::list_reports:           {:>9} (min {})", ms(p), ms(*project.iter().min().expect("runs")));
    println!("  bare SELECT into Vecs:         {:>9} (min {})", ms(a), ms(*anchor.iter().min().expect("runs")));
    figures.push(Figure {
        name: format!("List {LIST_REPORTS} reports with photos (median of {QUERY_RUNS})"),
        project: ms(p),
        anchor: format!("bare SELECT: {}", ms(a)),
        target: format!("none set (is {:.2}×)", p.as_secs_f64() / a.as_secs_f64()),
        met: None,
    });
    Ok(())
}

fn bench_open(dir: &Path, figures: &mut Vec<Figure>) -> Result<()> {
    println!("open a store of {OPEN_REPORTS} reports: new Store each time (OS cache warm), median of {QUERY_RUNS}");
    let path = dir.join(DATABASE_FILE);
    // Each run times the open alone; the drop after it (which closes the
    // connections and checkpoints the WAL) is outside the timed part.
    let (project, anchor) = time_interleaved(
        || {
            let start = Instant::now();
            let store = Store::open(dir)?;
            let took = start.elapsed();
            drop(store);
            Ok(took)
        },
        || {
            let start = Instant::now();
            let conn = Connection::open(&path)?;
            conn.execute_batch("PRAGMA journal_mode = WAL;")?;
            let took = start.elapsed();
            drop(conn);
            Ok(took)
        },
    )?;
    let (p, a) = (median(&project), median(&anchor));
    println!("  Store::open:                   {:>9} (min {})", ms(p), ms(*project.iter().min().expect("runs")));
    println!("  Connection::open + WAL pragma: {:>9} (min {})", ms(a), ms(*anchor.iter().min().expect("runs")));
    figures.push(Figure {
        name: format!("Open a store of {OPEN_REPORTS} reports (median of {QUERY_RUNS})"),
        project: ms(p),
        anchor: format!("Connection::open + WAL: {}", ms(a)),
        target: format!("< {} ms", OPEN_TARGET.as_millis()),
        met: Some(p < OPEN_TARGET),
    });

    // What the app's first screen would cost right after opening: one list
    // on a freshly opened store, statements not yet prepared.
    let store = Store::open(dir)?;
    let start = Instant::now();
    let count = black_box(store.list_reports()?).len();
    let first_list = start.elapsed();
    drop(store);
    let mut bare = store_connection(dir)?;
    let start = Instant::now();
    let bare_count = black_box(bare_list(&mut bare)?).0.len();
    let first_bare = start.elapsed();
    if count != OPEN_REPORTS || bare_count != OPEN_REPORTS {
        return Err("listing the 100k store returned the wrong number of reports".into());
    }
    println!("  first list_reports after open: {:>9}; bare SELECT: {}", ms(first_list), ms(first_bare));
    figures.push(Figure {
        name: format!("First `list_reports` after opening {OPEN_REPORTS} reports"),
        project: ms(first_list),
        anchor: format!("bare SELECT: {}", ms(first_bare)),
        target: "info".into(),
        met: None,
    });
    Ok(())
}

/// A report row decoded into owned values, as the store decodes it (without
/// the enum and UUID parsing, which is the store's own work).
#[allow(dead_code)] // Fields are filled to pay for decoding; nobody reads them.
struct BareReport {
    id: String,
    category: String,
    note: String,
    latitude: Option<f64>,
    longitude: Option<f64>,
    location_source: Option<String>,
    accuracy_m: Option<f64>,
    reporter_role: String,
    grid_id: Option<String>,
    taken_at: Option<String>,
    created_at: String,
    status: String,
    sync_state: String,
    sync_error: Option<String>,
}

#[allow(dead_code)] // As BareReport.
struct BarePhoto {
    sha256: String,
    width: u32,
    height: u32,
    bytes: i64,
    report_id: String,
}

/// The store's two listing queries, verbatim, collected into Vecs in one
/// read transaction: the floor for `list_reports`.
fn bare_list(conn: &mut Connection) -> Result<(Vec<BareReport>, Vec<BarePhoto>)> {
    let tx = conn.transaction()?;
    let photos = tx
        .prepare_cached(
            "SELECT p.sha256, p.width, p.height, p.bytes, rp.report_id FROM report_photos rp JOIN photos p USING (sha256)
             ORDER BY rp.report_id, rp.position",
        )?
        .query_map([], |r| {
            Ok(BarePhoto { sha256: r.get(0)?, width: r.get(1)?, height: r.get(2)?, bytes: r.get(3)?, report_id: r.get(4)? })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let reports = tx
        .prepare_cached(
            "SELECT id, category, note, latitude, longitude, location_source, accuracy_m, reporter_role, grid_id,
                    taken_at, created_at, status, sync_state, sync_error
             FROM reports ORDER BY created_at DESC, id DESC",
        )?
        .query_map([], |r| {
            Ok(BareReport {
                id: r.get(0)?,
                category: r.get(1)?,
                note: r.get(2)?,
                latitude: r.get(3)?,
                longitude: r.get(4)?,
                location_source: r.get(5)?,
                accuracy_m: r.get(6)?,
                reporter_role: r.get(7)?,
                grid_id: r.get(8)?,
                taken_at: r.get(9)?,
                created_at: r.get(10)?,
                status: r.get(11)?,
                sync_state: r.get(12)?,
                sync_error: r.get(13)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((reports, photos))
}

/// One untimed warm-up of each side, then QUERY_RUNS timed runs, the sides
/// alternating. Each closure returns the time of its own measured part.
fn time_interleaved(
    mut project: impl FnMut() -> Result<Duration>,
    mut anchor: impl FnMut() -> Result<Duration>,
) -> Result<(Vec<Duration>, Vec<Duration>)> {
    project()?;
    anchor()?;
    let (mut p, mut a) = (Vec::new(), Vec::new());
    for _ in 0..QUERY_RUNS {
        p.push(project()?);
        a.push(anchor()?);
    }
    Ok((p, a))
}

// ---------------------------------------------------------------------------
// Reporting.
// ---------------------------------------------------------------------------

/// One line of the final table.
struct Figure {
    name: String,
    project: String,
    anchor: String,
    target: String,
    /// None for figures shown for information, with no target.
    met: Option<bool>,
}

fn print_table(figures: &[Figure]) {
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

fn print_environment(tmp: &Path) {
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

fn section(title: &str) {
    println!("\n## {title}\n");
}

/// The middle run of an odd number of runs (the upper middle otherwise).
fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    sorted[sorted.len() / 2]
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms < 10.0 { format!("{ms:.2} ms") } else { format!("{ms:.0} ms") }
}

fn us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

/// Megabytes of 10^6 bytes, the unit of the 100 MB target.
fn kib_to_mb(kib: u64) -> f64 {
    kib as f64 * 1024.0 / 1e6
}

fn mb(kib: u64) -> String {
    format!("{:.1} MB", kib_to_mb(kib))
}

// ---------------------------------------------------------------------------
// Sync: the CLI against the real server on loopback, against nginx WebDAV.
// ---------------------------------------------------------------------------

const SYNC_REPORTS: usize = 500;
const SYNC_TARGET_RATIO: f64 = 1.5;
const WIRE_TARGET_RATIO: f64 = 1.05;
/// Files per curl process: curl keeps one connection for all its URLs.
const CURL_BATCH: usize = 100;
const PUSH_REPORTS: usize = 2000;
const PUSH_TARGET_FRACTION: f64 = 0.5;
/// Devices pushing at once for the push rate under load.
const PUSH_DEVICES: usize = 4;
const CLIENTS: usize = 200;
/// How many client processes run at once (all of them: the 2-core machine
/// takes 200 without failures).
const CLIENT_CONCURRENCY: usize = 200;

/// Kills and reaps a child (nginx) when dropped, also on error.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn bench_sync(tmp: &Path, cli: &Path, figures: &mut Vec<Figure>) -> Result<()> {
    section("sync: `suishoupai sync` against suishoupai-server on loopback");
    let nginx_version = nginx_version().ok_or("nginx not found on PATH. The sync anchor needs it: apt-get install nginx")?;
    let draft = ReportDraft { category: "garbage".into(), note: String::new(), location: None, reporter: Reporter::default() };
    let stderr_log = tmp.join("sync-stderr.log");

    // Setup: 500 reports, each of its own photo (a real photo with a stamp of
    // its number, so that no two renditions are equal and nothing dedupes).
    let start = Instant::now();
    let base = variant_base(1200)?;
    let device = tmp.join("sync-device");
    let store = Store::open(&device)?;
    for i in 0..SYNC_REPORTS {
        store.create_report(&draft, &[PhotoSource::Bytes(stamped_jpeg(&base, i)?)])?;
    }
    let reports = store.list_reports()?;
    let renditions: Vec<PathBuf> =
        reports.iter().map(|r| store.photo_path(&r.photos[0].sha256, BlobKind::Rendition)).collect::<Result<_, _>>()?;
    drop(store);
    let rendition_bytes: u64 = renditions.iter().map(|p| fs::metadata(p).map(|m| m.len())).sum::<Result<_, _>>()?;
    let distinct: std::collections::HashSet<_> = reports.iter().map(|r| &r.photos[0].sha256).collect();
    if reports.len() != SYNC_REPORTS || distinct.len() != SYNC_REPORTS {
        return Err("sync setup: the reports or their photos are not all distinct".into());
    }
    println!(
        "made {SYNC_REPORTS} reports with distinct renditions, {:.1} MB in all ({:.0} KB mean), in {:.1} s (setup, not measured)",
        rendition_bytes as f64 / 1e6,
        rendition_bytes as f64 / SYNC_REPORTS as f64 / 1e3,
        start.elapsed().as_secs_f64()
    );
    // A copy for the bytes-on-the-wire run through the proxy (figure 2).
    let device_copy = tmp.join("sync-device-copy");
    copy_dir(&device, &device_copy)?;

    if let Ok(keep) = std::env::var("BENCH_KEEP_DEVICE") {
        copy_dir(&device, Path::new(&keep))?;
        return Ok(());
    }
    // 1. Wall time: nginx + curl first, then ours, same files, page cache warm.
    let nginx = Nginx::start(tmp)?;
    let (anchor_wall, anchor_files, anchor_bytes) = nginx.put_all(&renditions)?;
    drop(nginx);
    if anchor_files != SYNC_REPORTS || anchor_bytes != rendition_bytes {
        return Err(format!("nginx stored {anchor_files} files of {anchor_bytes} bytes, not all renditions").into());
    }

    let server_a = Server::start(&tmp.join("server-a"));
    let token = add_user(&server_a.data, "bench", "resident", &[]);
    login(cli, &device, &server_a.url(), &token, &stderr_log)?;
    let json = tmp.join("sync.json");
    let run =
        measure_process(Command::new(cli).arg("--data").arg(&device).args(["sync", "--json"]).stdout(File::create(&json)?), &stderr_log)?;
    let pushed = sync_pushed(&json)?;
    if pushed != SYNC_REPORTS as u64 {
        return Err(format!("sync pushed {pushed} reports, not {SYNC_REPORTS}").into());
    }
    let ratio = run.wall.as_secs_f64() / anchor_wall.as_secs_f64();
    println!("project: {} --data DEV sync --json against suishoupai-server (fresh)", cli.display());
    println!("anchor:  {nginx_version}, WebDAV PUT, curl -T × {CURL_BATCH} per process (one connection each)");
    println!("  suishoupai sync:  {:>9} (CPU {})", ms(run.wall), ms(run.cpu));
    println!("  nginx + curl:     {:>9}", ms(anchor_wall));
    println!("  ratio {ratio:.2}x");
    figures.push(Figure {
        name: format!("Sync {SYNC_REPORTS} reports, one distinct photo each ({:.1} MB), whole CLI process", rendition_bytes as f64 / 1e6),
        project: ms(run.wall),
        anchor: format!("nginx WebDAV PUT, curl ×{} processes: {}", SYNC_REPORTS.div_ceil(CURL_BATCH), ms(anchor_wall)),
        target: format!("≤ {SYNC_TARGET_RATIO}× anchor (is {ratio:.2}×)"),
        met: Some(ratio <= SYNC_TARGET_RATIO),
    });

    // 2. Bytes on the wire: the same 500 reports from the copy, through the
    // proxy, to another fresh server.
    let server_b = Server::start(&tmp.join("server-b"));
    let token_b = add_user(&server_b.data, "bench", "resident", &[]);
    let proxy = Proxy::start(server_b.addr, Faults::NONE, 1);
    login(cli, &device_copy, &proxy.url(), &token_b, &stderr_log)?;
    let json = tmp.join("sync-proxy.json");
    let proxied = measure_process(
        Command::new(cli).arg("--data").arg(&device_copy).args(["sync", "--json"]).stdout(File::create(&json)?),
        &stderr_log,
    )?;
    if sync_pushed(&json)? != SYNC_REPORTS as u64 {
        return Err("the sync through the proxy did not push every report".into());
    }
    let up = proxy.bytes_up.load(std::sync::atomic::Ordering::Relaxed);
    drop(proxy);
    drop(server_b);
    let wire_ratio = up as f64 / rendition_bytes as f64;
    println!(
        "\nthrough the proxy: {:.2} MB sent for {:.2} MB of renditions ({wire_ratio:.4}×), sync took {} (direct: {})",
        up as f64 / 1e6,
        rendition_bytes as f64 / 1e6,
        ms(proxied.wall),
        ms(run.wall)
    );
    figures.push(Figure {
        name: format!("Bytes sent client→server for those {SYNC_REPORTS} reports (all HTTP, via proxy)"),
        project: format!("{:.2} MB ({wire_ratio:.3}×)", up as f64 / 1e6),
        anchor: format!("rendition files: {:.2} MB", rendition_bytes as f64 / 1e6),
        target: format!("≤ {WIRE_TARGET_RATIO}×"),
        met: Some(wire_ratio <= WIRE_TARGET_RATIO),
    });

    // 3. A cut at 90 % of a ~1 MB photo, then a sync without faults.
    bench_resume(tmp, cli, &server_a, &draft, &stderr_log, figures)?;

    // 4. Push rate: the photos of figure 1 are on server A; new report ids.
    bench_push(tmp, &server_a, &token, &reports, figures)?;
    drop(server_a);

    // 5. Many clients at once.
    bench_clients(tmp, cli, &draft, &stderr_log, figures)?;
    Ok(())
}

fn bench_resume(tmp: &Path, cli: &Path, server: &Server, draft: &ReportDraft, stderr_log: &Path, figures: &mut Vec<Figure>) -> Result<()> {
    let device = tmp.join("resume-device");
    let store = Store::open(&device)?;
    // The noise grows until the rendition is about 1 MB (4 chunks).
    let mut prepared = None;
    for amplitude in [40, 80, 120, 180, 255] {
        let candidate = photo::prepare(&noise_jpeg(1200, 1600, amplitude, 1)?)?;
        let big_enough = candidate.rendition.len() >= 900_000;
        prepared = Some(candidate);
        if big_enough {
            break;
        }
    }
    let prepared = prepared.expect("at least one amplitude");
    let report = store.create_report_from_prepared(draft, std::slice::from_ref(&prepared))?;
    drop(store);
    let photo_bytes = report.photos[0].bytes;
    let cut_at = photo_bytes * 9 / 10;
    let token = add_user(&server.data, "resume", "resident", &[]);
    let proxy = Proxy::start(server.addr, Faults::NONE, 2);
    login(cli, &device, &proxy.url(), &token, stderr_log)?;
    proxy.cut_next_connection_at(cut_at);
    let first = Command::new(cli).arg("--data").arg(&device).args(["sync", "--json"]).stderr(Stdio::null()).output()?;
    let after_cut = proxy.bytes_up.load(std::sync::atomic::Ordering::Relaxed);
    let cuts = proxy.cuts.load(std::sync::atomic::Ordering::Relaxed);
    if first.status.success() || cuts != 1 {
        return Err(format!("the cut sync should have failed once (exit {:?}, {cuts} cuts)", first.status.code()).into());
    }
    let json = tmp.join("resume.json");
    measure_process(Command::new(cli).arg("--data").arg(&device).args(["sync", "--json"]).stdout(File::create(&json)?), stderr_log)?;
    if sync_pushed(&json)? != 1 {
        return Err("the sync after the cut did not push the report".into());
    }
    let total = proxy.bytes_up.load(std::sync::atomic::Ordering::Relaxed);
    let extra = total.saturating_sub(photo_bytes);
    println!(
        "\nresume: {:.0} KB photo, cut at {:.0} KB (both directions counted); sent {:.0} KB before the cut, {:.0} KB after; {:.0} KB more than the photo",
        photo_bytes as f64 / 1e3,
        cut_at as f64 / 1e3,
        after_cut as f64 / 1e3,
        (total - after_cut) as f64 / 1e3,
        extra as f64 / 1e3
    );
    figures.push(Figure {
        name: format!("Bytes sent beyond the photo, {:.0} KB photo cut at 90 % then synced again", photo_bytes as f64 / 1e3),
        project: format!("{:.0} KB ({:.2} chunks)", extra as f64 / 1e3, extra as f64 / MAX_CHUNK_BYTES as f64),
        anchor: format!("MAX_CHUNK_BYTES: {:.0} KB", MAX_CHUNK_BYTES as f64 / 1e3),
        target: "≤ 1 chunk resent".into(),
        met: Some(extra <= MAX_CHUNK_BYTES),
    });
    Ok(())
}

fn bench_push(tmp: &Path, server: &Server, token: &str, reports: &[suishoupai_core::Report], figures: &mut Vec<Figure>) -> Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    // New ids on the reports of figure 1: their photos are on the server.
    // The bodies are serialised before timing: the figure is the server's.
    let batches = PUSH_REPORTS / MAX_PUSH_REPORTS + 1; // the first is a warm-up
    let mut bodies = Vec::new();
    let mut rows = Vec::new();
    for b in 0..batches {
        let wires: Vec<WireReport> = (0..MAX_PUSH_REPORTS)
            .map(|i| {
                let mut w = WireReport::from(&reports[(b * MAX_PUSH_REPORTS + i) % reports.len()]);
                w.id = Uuid::now_v7().hyphenated().to_string();
                w
            })
            .collect();
        let batch_rows: Vec<(String, String, String)> =
            wires.iter().map(|w| Ok((w.id.clone(), serde_json::to_string(w)?, w.created_at.clone()))).collect::<Result<_>>()?;
        rows.push(batch_rows);
        bodies.push(serde_json::to_vec(&serde_json::json!({ "reports": wires }))?);
    }
    let client = reqwest::blocking::Client::new();
    let url = format!("{}/v1/push", server.url());
    let push = |body: &Vec<u8>| -> Result<Duration> {
        let start = Instant::now();
        let response = client.post(&url).bearer_auth(token).header("content-type", "application/json").body(body.clone()).send()?;
        let status = response.status();
        let answer: serde_json::Value = response.json()?;
        let took = start.elapsed();
        let accepted = answer["results"].as_array().map_or(0, |r| r.iter().filter(|r| r["outcome"] == "accepted").count());
        if !status.is_success() || accepted != MAX_PUSH_REPORTS {
            return Err(format!("push answered {status}, {accepted} accepted: {answer:.300}").into());
        }
        Ok(took)
    };

    // Anchor: the same rows (report, its photo link, its `submitted` event)
    // into the server's own schema (its migrations, so indexes included),
    // one IMMEDIATE transaction per batch, cached statements. What the
    // figure leaves is what the server adds: HTTP, JSON, checks, the
    // idempotency lookups and the group commit.
    let mut same = Connection::open(tmp.join("push-same-schema.sqlite3"))?;
    same.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")?;
    suishoupai_server::storage::sqlite::migrate_to(&mut same, suishoupai_server::storage::sqlite::LATEST_VERSION)?;
    same.execute("INSERT INTO users (id, name, role, created_at) VALUES (1, 'bench', 'resident', '2026-01-01T00:00:00.000Z')", [])?;
    for r in reports {
        let p = &r.photos[0];
        same.execute(
            "INSERT OR IGNORE INTO photos (sha256, bytes, width, height, received_at) VALUES (?1, ?2, ?3, ?4, '2026-01-01T00:00:00.000Z')",
            params![p.sha256, p.bytes as i64, p.width, p.height],
        )?;
        same.execute("INSERT OR IGNORE INTO photo_holders (sha256, user_id) VALUES (?1, 1)", [&p.sha256])?;
    }
    let same_rows: Vec<Vec<SameSchemaRow>> = rows
        .iter()
        .map(|batch| {
            batch
                .iter()
                .map(|(id, json, created_at)| {
                    let wire: WireReport = serde_json::from_str(json)?;
                    let created_ms = suishoupai_server::rules::rfc3339_ms(created_at).ok_or("created_at")?;
                    let sha256 = suishoupai_core::photo::sha256_hex(json.as_bytes());
                    Ok(SameSchemaRow {
                        id: id.clone(),
                        sha256,
                        json: json.clone(),
                        category: wire.category,
                        created_at: created_at.clone(),
                        created_ms,
                        photo: wire.photos[0].sha256.clone(),
                    })
                })
                .collect::<Result<Vec<_>>>()
        })
        .collect::<Result<_>>()?;
    let mut insert_same = |batch: &[SameSchemaRow]| -> Result<Duration> {
        let start = Instant::now();
        let tx = same.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let now = "2026-01-01T00:00:00.000Z";
        for r in batch {
            tx.prepare_cached(
                "INSERT INTO reports (id, owner_id, content_sha256, body, category, created_at, created_ms, grid_id, status, received_at)
                 VALUES (?1, 1, ?2, ?3, ?4, ?5, ?6, NULL, 'submitted', ?7)",
            )?
            .execute(params![r.id, r.sha256, r.json, r.category, r.created_at, r.created_ms, now])?;
            tx.prepare_cached("INSERT INTO report_photos (report_id, position, sha256) VALUES (?1, 0, ?2)")?
                .execute(params![r.id, r.photo])?;
            tx.prepare_cached("INSERT INTO events (report_id, status, actor_id, at) VALUES (?1, 'submitted', 1, ?2)")?
                .execute(params![r.id, now])?;
        }
        tx.commit()?;
        Ok(start.elapsed())
    };

    // For comparison only: the leanest loop, two small tables.
    let mut bare = Connection::open(tmp.join("push-bare.sqlite3"))?;
    bare.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
         CREATE TABLE reports (id TEXT PRIMARY KEY, owner TEXT NOT NULL, json TEXT NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL);
         CREATE TABLE events (id INTEGER PRIMARY KEY, report_id TEXT NOT NULL REFERENCES reports(id), status TEXT NOT NULL, at TEXT NOT NULL);",
    )?;
    let mut insert = |batch: &[(String, String, String)]| -> Result<Duration> {
        let start = Instant::now();
        let tx = bare.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for (id, json, created_at) in batch {
            tx.prepare_cached("INSERT INTO reports (id, owner, json, status, created_at) VALUES (?1, 'bench', ?2, 'submitted', ?3)")?
                .execute(params![id, json, created_at])?;
            tx.prepare_cached(
                "INSERT INTO events (report_id, status, at) VALUES (?1, 'submitted', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
            )?
            .execute([id])?;
        }
        tx.commit()?;
        Ok(start.elapsed())
    };
    push(&bodies[0])?;
    insert_same(&same_rows[0])?;
    insert(&rows[0])?;
    let (mut project, mut anchor, mut lean) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    // Alternating batch by batch, so that fsync drift hits all sides.
    for b in 1..batches {
        project += push(&bodies[b])?;
        anchor += insert_same(&same_rows[b])?;
        lean += insert(&rows[b])?;
    }
    let n = ((batches - 1) * MAX_PUSH_REPORTS) as f64;
    let (p_rate, a_rate, l_rate) = (n / project.as_secs_f64(), n / anchor.as_secs_f64(), n / lean.as_secs_f64());
    let fraction = p_rate / a_rate;
    println!(
        "\npush: {} reports in batches of {MAX_PUSH_REPORTS}, one request at a time: {p_rate:.0} reports/s ({}); \
         bare rusqlite, same schema and rows: {a_rate:.0}/s ({}); {fraction:.2} of it; \
         bare rusqlite, two lean tables: {l_rate:.0}/s ({}), {:.2} of it",
        n,
        ms(project),
        ms(anchor),
        ms(lean),
        p_rate / l_rate
    );
    figures.push(Figure {
        name: format!("Server `POST /v1/push` rate, {} reports in batches of {MAX_PUSH_REPORTS}, photos present", n),
        project: format!("{p_rate:.0} reports/s"),
        anchor: format!("bare rusqlite, server's schema, same 3 rows per report, 100 per tx: {a_rate:.0}/s"),
        target: format!("≥ {PUSH_TARGET_FRACTION}× anchor (is {fraction:.2}×)"),
        met: Some(fraction >= PUSH_TARGET_FRACTION),
    });
    figures.push(Figure {
        name: "The same push rate against the leanest loop".into(),
        project: format!("{p_rate:.0} reports/s"),
        anchor: format!("bare rusqlite, reports(id, owner, json, status, created_at) + events, 100 per tx: {l_rate:.0}/s"),
        target: format!("info (is {:.2}×)", p_rate / l_rate),
        met: None,
    });

    // The server's rate under load: several devices pushing at once, each
    // one request at a time (new ids again), all released together.
    let per_device = batches - 1;
    let device_bodies: Vec<Vec<Vec<u8>>> = (0..PUSH_DEVICES)
        .map(|d| {
            (0..per_device)
                .map(|b| {
                    let wires: Vec<WireReport> = (0..MAX_PUSH_REPORTS)
                        .map(|i| {
                            let mut w = WireReport::from(&reports[(d * 7 + b * MAX_PUSH_REPORTS + i) % reports.len()]);
                            w.id = Uuid::now_v7().hyphenated().to_string();
                            w
                        })
                        .collect();
                    Ok(serde_json::to_vec(&serde_json::json!({ "reports": wires }))?)
                })
                .collect::<Result<Vec<_>>>()
        })
        .collect::<Result<_>>()?;
    let barrier = std::sync::Barrier::new(PUSH_DEVICES + 1);
    let concurrent = std::thread::scope(|scope| -> Result<Duration> {
        let handles: Vec<_> = device_bodies
            .iter()
            .map(|bodies| {
                let (barrier, push) = (&barrier, &push);
                scope.spawn(move || -> Result<(), String> {
                    barrier.wait();
                    bodies.iter().try_for_each(|body| push(body).map(|_| ()).map_err(|e| e.to_string()))
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        for h in handles {
            h.join().map_err(|_| "a push thread panicked")??;
        }
        Ok(start.elapsed())
    })?;
    let c_rate = (PUSH_DEVICES * per_device * MAX_PUSH_REPORTS) as f64 / concurrent.as_secs_f64();
    println!(
        "push, {PUSH_DEVICES} devices at once, {} reports each: {c_rate:.0} reports/s ({}); {:.2} of the same-schema loop",
        per_device * MAX_PUSH_REPORTS,
        ms(concurrent),
        c_rate / a_rate
    );
    figures.push(Figure {
        name: format!("Server push rate with {PUSH_DEVICES} devices pushing at once (batches of {MAX_PUSH_REPORTS})"),
        project: format!("{c_rate:.0} reports/s"),
        anchor: format!("the same-schema loop above: {a_rate:.0}/s"),
        target: format!("≥ {PUSH_TARGET_FRACTION}× anchor (is {:.2}×)", c_rate / a_rate),
        met: Some(c_rate / a_rate >= PUSH_TARGET_FRACTION),
    });
    Ok(())
}

/// One report as the same-schema anchor inserts it, prepared before timing.
struct SameSchemaRow {
    id: String,
    sha256: String,
    json: String,
    category: String,
    created_at: String,
    created_ms: i64,
    photo: String,
}

fn bench_clients(tmp: &Path, cli: &Path, draft: &ReportDraft, stderr_log: &Path, figures: &mut Vec<Figure>) -> Result<()> {
    let start = Instant::now();
    let server = Server::start(&tmp.join("server-c"));
    let base = variant_base(400)?;
    let devices: Vec<PathBuf> = (0..CLIENTS).map(|i| tmp.join(format!("client-{i}"))).collect();
    let tokens: Vec<String> = (0..CLIENTS).map(|i| add_user(&server.data, &format!("client{i}"), "resident", &[])).collect();
    // Two threads make the stores (setup): half the time on two cores.
    std::thread::scope(|scope| -> Result<()> {
        let handles: Vec<_> = [0, 1]
            .map(|half| {
                let (devices, base) = (&devices, &base);
                scope.spawn(move || -> Result<(), String> {
                    for (i, dir) in devices.iter().enumerate().filter(|(i, _)| i % 2 == half) {
                        let store = Store::open(dir).map_err(|e| e.to_string())?;
                        let jpeg = stamped_jpeg(base, 10_000 + i).map_err(|e| e.to_string())?;
                        store.create_report(draft, &[PhotoSource::Bytes(jpeg)]).map_err(|e| e.to_string())?;
                    }
                    Ok(())
                })
            })
            .into();
        for h in handles {
            h.join().map_err(|_| "a setup thread panicked")??;
        }
        Ok(())
    })?;
    for (dir, token) in devices.iter().zip(&tokens) {
        login(cli, dir, &server.url(), token, stderr_log)?;
    }
    println!("\n{CLIENTS} clients: users, stores and logins made in {:.1} s (setup, not measured)", start.elapsed().as_secs_f64());

    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::new());
    let barrier = std::sync::Barrier::new(CLIENT_CONCURRENCY + 1);
    std::thread::scope(|scope| {
        for _ in 0..CLIENT_CONCURRENCY {
            scope.spawn(|| {
                barrier.wait();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= CLIENTS {
                        break;
                    }
                    let begun = Instant::now();
                    let out = Command::new(cli).arg("--data").arg(&devices[i]).args(["sync", "--json"]).stdin(Stdio::null()).output();
                    let wall = begun.elapsed();
                    let ok = out.as_ref().is_ok_and(|o| o.status.success());
                    let error = match (&out, ok) {
                        (_, true) => None,
                        (Ok(o), false) => Some(String::from_utf8_lossy(&o.stderr).trim().to_owned()),
                        (Err(e), _) => Some(e.to_string()),
                    };
                    results.lock().unwrap().push((wall, error, begun));
                }
            });
        }
        barrier.wait();
    });
    let results = results.into_inner().map_err(|_| "a client thread panicked")?;
    // From the first process started to the last one done. (Not from the
    // main thread's barrier return: with 200 processes starting on 2 cores
    // it may get the CPU back only when most of them are over.)
    let first = results.iter().map(|r| r.2).min().ok_or("no clients ran")?;
    let total = results.iter().map(|r| r.2 + r.0).max().ok_or("no clients ran")? - first;
    let mut walls: Vec<Duration> = results.iter().map(|r| r.0).collect();
    walls.sort_unstable();
    let errors: Vec<&String> = results.iter().filter_map(|r| r.1.as_ref()).collect();
    let p = |q: f64| walls[((walls.len() as f64 * q).ceil() as usize).clamp(1, walls.len()) - 1];
    println!(
        "{CLIENTS} `suishoupai sync` processes, {CLIENT_CONCURRENCY} at once: all done in {}, per process p50 {} p99 {} max {}; {} failed",
        ms(total),
        ms(p(0.5)),
        ms(p(0.99)),
        ms(*walls.last().expect("clients")),
        errors.len()
    );
    if let Some(e) = errors.first() {
        println!("  first failure: {e}");
    }
    let synced = server_report_count(&server)?;
    println!("  server holds {synced} reports");
    figures.push(Figure {
        name: format!("{CLIENTS} clients syncing one report each, {CLIENT_CONCURRENCY} processes at once"),
        project: format!("all in {}; per process p50 {}, p99 {}; {} errors", ms(total), ms(p(0.5)), ms(p(0.99)), errors.len()),
        anchor: "—".into(),
        target: "no errors".into(),
        met: Some(errors.is_empty() && synced == CLIENTS),
    });
    Ok(())
}

/// Reports on a server, counted in its database file (server.sqlite3).
fn server_report_count(server: &Server) -> Result<usize> {
    let conn = Connection::open_with_flags(server.data.join("server.sqlite3"), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    Ok(conn.query_row("SELECT count(*) FROM reports", [], |r| r.get::<_, i64>(0))? as usize)
}

fn login(cli: &Path, data: &Path, server: &str, token: &str, stderr_log: &Path) -> Result<()> {
    measure_process(
        Command::new(cli).arg("--data").arg(data).args(["login", "--server", server, "--token", token]).stdout(Stdio::null()),
        stderr_log,
    )?;
    Ok(())
}

/// `pushed` of a `sync --json` output.
fn sync_pushed(json: &Path) -> Result<u64> {
    let v: serde_json::Value = serde_json::from_reader(File::open(json)?)?;
    v["pushed"].as_u64().ok_or_else(|| format!("no `pushed` in the sync output: {v}").into())
}

/// A real photo (the Pixel one) scaled to `width` px wide.
fn variant_base(width: u32) -> Result<image::RgbImage> {
    let seed = fs::read(Path::new(PHOTOS).join(STORE_PHOTO))?;
    let pixels = image::load_from_memory_with_format(&seed, image::ImageFormat::Jpeg)?.to_rgb8();
    let height = (pixels.height() as u64 * width as u64 / pixels.width() as u64) as u32;
    Ok(imageops::resize(&pixels, width, height, FilterType::Triangle))
}

/// `base` with the bits of `n` stamped in its corner as 16 px squares,
/// encoded at quality 90: a different photo (and rendition) for every `n`.
fn stamped_jpeg(base: &image::RgbImage, n: usize) -> Result<Vec<u8>> {
    let mut img = base.clone();
    for bit in 0..16 {
        let value = if n >> bit & 1 == 1 { 255 } else { 0 };
        for y in 0..16 {
            for x in 0..16 {
                img.put_pixel(bit * 16 + x, y, image::Rgb([value, 255 - value, value]));
            }
        }
    }
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 90).encode_image(&img)?;
    Ok(out)
}

/// A grey gradient with pseudo-random noise of `amplitude`: its size as a
/// JPEG grows with the amplitude (40 at 1200x1600 gives a 433 KB rendition).
fn noise_jpeg(width: u32, height: u32, amplitude: u32, seed: u64) -> Result<Vec<u8>> {
    let mut x = seed | 1;
    let img = image::RgbImage::from_fn(width, height, |px, py| {
        let mut channel = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let base = (px + py) * 160 / (width + height) + 40;
            (base + (x % (amplitude as u64 + 1)) as u32).min(255) as u8
        };
        image::Rgb([channel(), channel(), channel()])
    });
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 92).encode_image(&img)?;
    Ok(out)
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

fn nginx_version() -> Option<String> {
    let out = Command::new("nginx").arg("-v").stdout(Stdio::null()).output().ok()?;
    // nginx prints its version on stderr.
    out.status.success().then(|| String::from_utf8_lossy(&out.stderr).trim().trim_start_matches("nginx version: ").to_owned())
}

/// Our own nginx: one process (no master, no daemon), WebDAV PUT into a
/// directory of the temp dir, killed when dropped.
struct Nginx {
    port: u16,
    root: PathBuf,
    dir: PathBuf,
    _child: KillOnDrop,
}

impl Nginx {
    fn start(tmp: &Path) -> Result<Nginx> {
        let dir = tmp.join("nginx");
        let root = dir.join("root");
        fs::create_dir_all(&root)?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let d = dir.display();
        let conf = format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
             \x20 server {{\n    listen 127.0.0.1:{port};\n    root {root};\n    location / {{\n      dav_methods PUT;\n      client_max_body_size 20m;\n    }}\n  }}\n}}\n",
            root = root.display()
        );
        let conf_path = dir.join("nginx.conf");
        fs::write(&conf_path, conf)?;
        let child = Command::new("nginx")
            .arg("-p")
            .arg(&dir)
            .arg("-e")
            .arg(dir.join("error.log"))
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(dir.join("stderr.log"))?)
            .spawn()?;
        let mut child = KillOnDrop(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = child.0.try_wait()? {
                let log = fs::read_to_string(dir.join("stderr.log")).unwrap_or_default();
                return Err(format!("nginx exited ({status}): {}", log.trim()).into());
            }
            if Instant::now() > deadline {
                return Err("nginx did not listen within 10 s".into());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(Nginx { port, root, dir, _child: child })
    }

    /// PUTs every file with curl, CURL_BATCH per process (one connection
    /// each), the processes one after another. Returns the wall time and
    /// what nginx stored (files, bytes).
    fn put_all(&self, files: &[PathBuf]) -> Result<(Duration, usize, u64)> {
        let log = self.dir.join("curl-stderr.log");
        let start = Instant::now();
        for (b, batch) in files.chunks(CURL_BATCH).enumerate() {
            let mut cmd = Command::new("curl");
            cmd.args(["-sS", "--fail"]);
            for (i, file) in batch.iter().enumerate() {
                cmd.arg("-T").arg(file).arg(format!("http://127.0.0.1:{}/{b}-{i}.jpg", self.port));
            }
            measure_process(cmd.stdout(Stdio::null()), &log)?;
        }
        let took = start.elapsed();
        let mut bytes = 0;
        let mut count = 0;
        for entry in fs::read_dir(&self.root)? {
            bytes += entry?.metadata()?.len();
            count += 1;
        }
        Ok((took, count, bytes))
    }
}

//! `bench`: the project's performance figures, each printed beside an anchor
//! measured in the same run on the same machine, so that a number means
//! something without knowing the hardware.
//!
//! ```text
//! cargo run --release -p suishoupai-tests --bin bench -- [ingest|store|all]
//! ```
//!
//! - `ingest`: the `suishoupai` CLI making a report from a 12 MP JPEG, as a
//!   whole process (wall time, peak RSS), against `vipsthumbnail -s 1600`.
//! - `store`: report creation, listing 10,000 reports and opening a store of
//!   100,000 reports, against bare rusqlite doing the same SQL.
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
use suishoupai_core::store::DATABASE_FILE;
use suishoupai_core::{CATEGORIES, PreparedPhoto, ReportDraft, Reporter, Store, photo};
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
    let (ingest, store) = match mode.as_str() {
        "ingest" => (true, false),
        "store" => (false, true),
        "all" => (true, true),
        _ => {
            eprintln!("usage: bench [ingest|store|all]   (default: all)");
            return ExitCode::from(2);
        }
    };
    match run(ingest, store) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nbench failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(ingest: bool, store: bool) -> Result<()> {
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

//! `bench`: the project's performance figures, each printed beside an anchor
//! measured in the same run on the same machine, so that a number means
//! something without knowing the hardware.
//!
//! ```text
//! cargo run --release -p suishoupai-tests --bin bench -- [ingest|store|sync|workflow|console|scale|simulate|all]
//! ```
//!
//! `all` (the default) prints every figure of issue 14 in one run: ingest,
//! store (with the paged list), sync at 100/300/500 reports with its fixed
//! cost, the push on SQLite and on PostgreSQL.
//!
//! - `ingest`: the `suishoupai` CLI making a report from a 12 MP JPEG, as a
//!   whole process (wall time, peak RSS), against `vipsthumbnail -s 1600`.
//! - `store`: report creation, listing 10,000 reports and opening a store of
//!   100,000 reports, against bare rusqlite doing the same SQL.
//! - `sync`: `suishoupai sync` of 100, 300 and 500 photo reports against
//!   `suishoupai-server` on loopback vs nginx WebDAV PUT with curl, the
//!   fixed cost of a run, bytes on
//!   the wire, bytes resent after a cut, the server's push rate against bare
//!   rusqlite, and 200 clients syncing at once. Needs nginx.
//! - `workflow` (not in `all`): actions applied by the server against a
//!   bare rusqlite loop, duplicate lookup at 10,000 and 1,000,000 reports
//!   against a full scan, grid placement of 100,000 reports.
//! - `console` (not in `all`): the daily bulletin and a 10-day ranking at
//!   1,000,000 cases against one bare SQL query each, the xlsx ledger of
//!   100,000 cases (`ledger export`, whole process) against Python's
//!   XlsxWriter in constant-memory mode, and the console's case page and
//!   case list served by the real server at 1,000,000 cases against bare
//!   SQL. Needs python3 with XlsxWriter and openpyxl.
//!
//! - `simulate --seeds N [--from S] [--threads T]` (not in `all`): the
//!   deterministic simulation of devices, network and server over N seeds
//!   (see `suishoupai_tests::sim`); seeds per second, or the failing seed.
//!
//! Temporary files go under `$BENCH_TMP` (default: the system temp dir) and
//! are removed at the end. See tests/BENCH.md for what each anchor does and
//! does not cover.

mod console;
mod console_ledger;
mod console_page;
mod console_stats;
mod ingest;
mod nginx;
mod page;
mod photos;
mod process;
mod report;
mod scale;
mod simulate;
mod store;
mod sync;
mod sync_sizes;
mod workflow;

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
use suishoupai_tests::testkit::add_user;
use suishoupai_tests::{Server, server_path, start_server};
use uuid::Uuid;

pub(crate) use self::{
    console::*, console_ledger::*, console_page::*, console_stats::*, ingest::*, nginx::*, page::*, photos::*, process::*, report::*,
    store::*, sync::*, sync_sizes::*, workflow::*,
};

pub(crate) type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

pub(crate) const PHOTOS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/photos");
/// An 8 MP phone photo with real EXIF and GPS: the seed of the 12 MP test file.
pub(crate) const SEED_PHOTO: &str = "nokia_lumia800_N_W_fullres.jpg";
/// A small geotagged photo for the store figures, where pixels do not matter.
pub(crate) const STORE_PHOTO: &str = "google_pixel_N_E.jpg";

/// The store's schema: the very migration SQL the store runs (shipped
/// migrations are never edited, and new ones are appended there), so that the
/// bare-SQLite anchors pay for the same tables, indexes and checks. Taken from
/// the core rather than include_str! of the files so that a migration added
/// later cannot be missed; `check_same_schema` verifies the result.
pub(crate) const MIGRATIONS: &[&str] = suishoupai_core::store::schema::MIGRATIONS;
/// The pragmas `core/src/store/mod.rs` sets on every connection. FULL makes
/// every commit an fsync of the WAL: the anchor must pay it too.
pub(crate) const STORE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;";

/// Process runs per side for ingest (after one untimed warm-up each). Odd, so
/// the median is one real run.
pub(crate) const INGEST_RUNS: usize = 11;
pub(crate) const CREATE_REPORTS: usize = 500;
/// Creation alternates between project and anchor in blocks, so that a slow
/// patch of the disk (fsync latency drifts) hits both sides alike.
pub(crate) const CREATE_BLOCKS: usize = 5;
pub(crate) const LIST_REPORTS: usize = 10_000;
pub(crate) const OPEN_REPORTS: usize = 100_000;
/// Timed repetitions of the list and open figures (after one warm-up each).
pub(crate) const QUERY_RUNS: usize = 7;

/// Issue 14: peak memory of an ingest, and its wall against vipsthumbnail's.
pub(crate) const PEAK_RSS_TARGET_MB: f64 = 64.0;
pub(crate) const INGEST_TARGET_RATIO: f64 = 0.8;
pub(crate) const CREATE_TARGET_RATIO: f64 = 2.0;
pub(crate) const OPEN_TARGET: Duration = Duration::from_millis(20);

/// Hidden mode: the bench runs itself with this to make the test photo in a
/// child process (see `make_big_jpeg`).
pub(crate) const MAKE_PHOTO_MODE: &str = "__make-photo";

pub(crate) fn main() -> ExitCode {
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
    if mode == "simulate" {
        return simulate::simulate(&std::env::args().skip(2).collect::<Vec<_>>());
    }
    if mode == "scale" {
        return scale::scale();
    }
    let console = mode == "console";
    let (ingest, store, sync, workflow, pg_push) = match mode.as_str() {
        "ingest" => (true, false, false, false, false),
        "store" => (false, true, false, false, false),
        "sync" => (false, false, true, false, false),
        "workflow" => (false, false, false, true, false),
        "console" => (false, false, false, false, false),
        "all" => (true, true, true, false, true),
        _ => {
            eprintln!(
                "usage: bench [ingest|store|sync|workflow|console|scale|simulate|all]   \
                 (default: all = ingest + store + sync + push over PostgreSQL)"
            );
            return ExitCode::from(2);
        }
    };
    match run(Parts { ingest, store, sync, workflow, console, pg_push }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nbench failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Which parts of the bench a run takes.
pub(crate) struct Parts {
    pub(crate) ingest: bool,
    pub(crate) store: bool,
    pub(crate) sync: bool,
    pub(crate) workflow: bool,
    pub(crate) console: bool,
    /// The push over PostgreSQL (a throwaway cluster and moto, as `scale`).
    pub(crate) pg_push: bool,
}

pub(crate) fn run(parts: Parts) -> Result<()> {
    let Parts { ingest, store, sync, workflow, console, pg_push } = parts;
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
    if workflow {
        println!("{} checked (not measured)", server_path().display());
        bench_workflow(tmp.path(), &mut figures)?;
    }
    if console {
        section("Console");
        println!("{} checked (not measured)", server_path().display());
        bench_console(tmp.path(), &mut figures)?;
    }
    if pg_push {
        section("push over PostgreSQL (a throwaway cluster and moto's S3 server on this machine)");
        scale::bench_pg_push(&scale::renditions()?, &mut figures)?;
    }

    println!("\n## Results\n");
    print_table(&figures);
    let total = started.elapsed();
    println!("\nWhole bench run: {:.1} s ({:.1} s without building the CLI)", total.as_secs_f64(), (total - setup).as_secs_f64());
    Ok(())
}

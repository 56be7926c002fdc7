//! The local store under stress: several threads at once, and a process
//! killed with SIGKILL in the middle of writing reports.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use suishoupai_core::{BlobKind, PhotoSource, ReportDraft, Reporter, ReporterRole, Store, photo};
use suishoupai_tests::{photo, workspace_binary};

fn draft(note: String) -> ReportDraft {
    ReportDraft { category: "illegal_parking".into(), note, location: None, reporter: Reporter::default() }
}

#[test]
fn several_threads_write_at_once_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let photos: Vec<_> = ["google_pixel_N_E.jpg", "kodak_cx7530_S_E_tiny.jpg", "nikon_coolpixp6000_N_E.jpg"]
        .iter()
        .map(|n| photo::prepare(&std::fs::read(photo(n)).unwrap()).unwrap())
        .collect();
    let threads = 8;
    let per_thread = 25;
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let store = Arc::clone(&store);
            let photos = photos.clone();
            std::thread::spawn(move || {
                let mut ids = Vec::new();
                for i in 0..per_thread {
                    let report = store.create_report_from_prepared(&draft(format!("t{t} r{i}")), &photos[i % 3..i % 3 + 1]).unwrap();
                    // Readers run while the others write.
                    assert_eq!(store.get_report(&report.id).unwrap(), report);
                    ids.push(report.id);
                }
                ids
            })
        })
        .collect();
    let ids: HashSet<_> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
    assert_eq!(ids.len(), threads * per_thread);
    let listed = store.list_reports().unwrap();
    assert_eq!(listed.iter().map(|r| r.id).collect::<HashSet<_>>(), ids);
    assert_eq!(store.pending_count().unwrap(), (threads * per_thread) as u64);
    assert_eq!(store.report_count().unwrap(), (threads * per_thread) as u64);
    let notes: HashSet<_> = listed.iter().map(|r| r.note.clone()).collect();
    assert_eq!(notes.len(), threads * per_thread, "every report kept its own note");
}

#[test]
fn two_processes_share_one_store() {
    let dir = tempfile::tempdir().unwrap();
    let pixel = photo("google_pixel_N_E.jpg");
    let cli = suishoupai_tests::cli_path();
    let children: Vec<_> = (0..2)
        .map(|_| {
            let (cli, dir, pixel) = (cli.clone(), dir.path().to_owned(), pixel.clone());
            std::thread::spawn(move || {
                for _ in 0..5 {
                    let out = Command::new(&cli)
                        .arg("--data")
                        .arg(&dir)
                        .args(["report", "new", "--category", "garbage", "--photo"])
                        .arg(&pixel)
                        .output()
                        .unwrap();
                    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
                }
            })
        })
        .collect();
    children.into_iter().for_each(|c| c.join().unwrap());
    assert_eq!(Store::open(dir.path()).unwrap().list_reports().unwrap().len(), 10);
}

#[test]
fn grid_worker_reports_keep_their_role() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut d = draft("patrol".into());
    d.reporter = Reporter { role: ReporterRole::GridWorker, grid_id: Some("G-12".into()) };
    let report = store.create_report(&d, &[PhotoSource::Path(photo("kodak_cx7530_S_E_tiny.jpg"))]).unwrap();
    assert_eq!(store.get_report(&report.id).unwrap().reporter, report.reporter);
    assert!((report.location.unwrap().latitude + 0.3713).abs() < 1e-9);
    // A 22-character Chinese grid id (66 bytes of UTF-8) is taken, as the server takes it.
    d.reporter.grid_id = Some("城关镇东大街社区第三网格北段一号楼至五号楼区".into());
    assert_eq!(store.create_report(&d, &[PhotoSource::Path(photo("kodak_cx7530_S_E_tiny.jpg"))]).unwrap().reporter, d.reporter);
}

/// Kills a process that writes reports as fast as it can, many times, at
/// random moments; afterwards the store opens, every report it
/// acknowledged is there, and every report has all its photo files intact.
#[test]
fn sigkill_mid_write_leaves_only_whole_reports() {
    let writer = workspace_binary("suishoupai-tests", "report-writer");
    let dir = tempfile::tempdir().unwrap();
    let mut acknowledged = HashSet::new();
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    for round in 0..12u64 {
        let mut child = Command::new(&writer).arg(dir.path()).arg(round.to_string()).stdout(Stdio::piped()).spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        // Wait for the first acknowledged report, however slow the machine,
        // then kill it at a random moment of the writes that follow.
        let first = rx.recv_timeout(Duration::from_secs(120)).expect("the writer acknowledged nothing");
        acknowledged.insert(first);
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let wait = Duration::from_millis(rng % 300);
        let start = Instant::now();
        while start.elapsed() < wait {
            std::thread::sleep(Duration::from_millis(1));
        }
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        reader.join().unwrap();
        acknowledged.extend(rx.try_iter());
    }
    assert!(acknowledged.len() >= 12, "the writer barely ran: {} reports", acknowledged.len());

    let store = Store::open(dir.path()).unwrap();
    let reports = store.list_reports().unwrap();
    let stored: HashSet<String> = reports.iter().map(|r| r.id.to_string()).collect();
    for id in &acknowledged {
        assert!(stored.contains(id), "acknowledged report {id} was lost");
    }
    // At most the one report per kill that was committed but not yet printed.
    assert!(stored.len() <= acknowledged.len() + 12);
    for report in &reports {
        assert_eq!(report.photos.len(), 2, "report {} is missing photos", report.id);
        for p in &report.photos {
            for kind in [BlobKind::Rendition, BlobKind::Thumbnail] {
                let bytes = std::fs::read(store.photo_path(&p.sha256, kind).unwrap()).unwrap();
                if kind == BlobKind::Rendition {
                    assert_eq!(photo::sha256_hex(&bytes), p.sha256, "rendition file of {} is damaged", report.id);
                    assert_eq!(bytes.len() as u64, p.bytes);
                }
                image::load_from_memory(&bytes).unwrap_or_else(|e| panic!("{kind:?} of {} does not decode: {e}", report.id));
            }
        }
    }
    let conn = rusqlite::Connection::open(dir.path().join("store.sqlite3")).unwrap();
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    let queued: i64 = conn.query_row("SELECT count(*) FROM outbox", [], |r| r.get(0)).unwrap();
    assert_eq!(queued as usize, stored.len(), "every stored report is queued for sync exactly once");
}

/// A small file system mounted for one test, unmounted when dropped.
struct Mounted(std::path::PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Issue 12: a full phone. Creating a report fails with an error that says
/// so (the bindings' `StorageFull`), nothing of it stays, the store opens
/// and holds every earlier report, and once space is freed the same call
/// works.
#[test]
fn a_full_phone_is_a_clear_error_and_the_store_stays_whole() {
    use std::io::Write;
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: mounting a small tmpfs needs root (CI runs as root)");
        return;
    }
    let mnt = tempfile::tempdir().unwrap();
    let mounted = Command::new("mount").args(["-t", "tmpfs", "-o", "size=8m", "tmpfs"]).arg(mnt.path()).status().unwrap();
    assert!(mounted.success(), "mount a tmpfs");
    let _mounted = Mounted(mnt.path().to_owned());
    let data = mnt.path().join("phone");
    let other = photo::prepare(&std::fs::read(photo("nikon_coolpixp6000_N_E.jpg")).unwrap()).unwrap();
    let photo = photo::prepare(&std::fs::read(photo("google_pixel_N_E.jpg")).unwrap()).unwrap();
    let store = Store::open(&data).unwrap();
    let kept = store.create_report_from_prepared(&draft("before".into()), std::slice::from_ref(&photo)).unwrap();

    let filler = mnt.path().join("filler");
    let mut file = std::fs::File::create(&filler).unwrap();
    for block in [1 << 20, 4096, 512] {
        let zeros = vec![0u8; block];
        while file.write_all(&zeros).is_ok() {}
    }
    drop(file);
    let full = store.create_report_from_prepared(&draft("on a full phone".into()), std::slice::from_ref(&other)).unwrap_err();
    assert!(full.is_disk_full(), "{full:?}");
    assert_eq!(store.list_reports().unwrap(), vec![kept.clone()], "nothing of the failed report is listed");

    std::fs::remove_file(&filler).unwrap();
    drop(store);
    let store = Store::open(&data).unwrap();
    assert_eq!(store.list_reports().unwrap(), vec![kept.clone()]);
    assert_eq!(std::fs::read(store.photo_path(&photo.sha256, BlobKind::Rendition).unwrap()).unwrap(), photo.rendition);
    let after = store.create_report_from_prepared(&draft("space freed".into()), std::slice::from_ref(&other)).unwrap();
    assert_eq!(store.list_reports().unwrap().len(), 2);
    assert_eq!(store.get_report(&after.id).unwrap(), after);
}

/// Walks the report list page by page, as a queue screen scrolls.
fn walk_reports(store: &Store, size: u32) -> Vec<suishoupai_core::ReportId> {
    let (mut seen, mut cursor) = (Vec::new(), None::<String>);
    loop {
        let page = store.report_page(Some(size), cursor.as_deref()).unwrap();
        assert!(page.reports.len() <= size as usize);
        seen.extend(page.reports.iter().map(|r| r.id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return seen,
        }
    }
}

#[test]
fn pages_of_the_report_list_join_into_the_whole_list() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let photo = photo::prepare(&std::fs::read(photo("kodak_cx7530_S_E_tiny.jpg")).unwrap()).unwrap();
    for i in 0..11 {
        store.create_report_from_prepared(&draft(format!("r{i}")), std::slice::from_ref(&photo)).unwrap();
    }
    let whole = store.list_reports().unwrap();
    let ids: Vec<_> = whole.iter().map(|r| r.id).collect();
    for size in [1, 2, 5, 10, 11, 12, 50] {
        assert_eq!(walk_reports(&store, size), ids, "pages of {size}");
    }
    // A page holds whole reports, as the list does.
    let first = store.report_page(Some(4), None).unwrap();
    assert_eq!(first.reports, whole[..4]);
    // The last page says so; an exact fit needs no empty page after it.
    assert_eq!(store.report_page(Some(11), None).unwrap().next_cursor, None);
    assert_eq!(store.report_page(None, None).unwrap().reports.len(), 11);

    // A report made while the user scrolls neither repeats nor hides one:
    // the next page goes on from where the last one ended.
    let newer = store.create_report_from_prepared(&draft("newest".into()), std::slice::from_ref(&photo)).unwrap();
    let second = store.report_page(Some(4), first.next_cursor.as_deref()).unwrap();
    assert_eq!(second.reports, whole[4..8]);
    assert_eq!(store.report_page(Some(1), None).unwrap().reports[0].id, newer.id);

    // Bad pages are refused with a clear error.
    for (limit, cursor) in [(Some(0), None), (Some(1001), None), (None, Some("not-a-cursor")), (None, Some(""))] {
        let err = store.report_page(limit, cursor).unwrap_err();
        assert!(matches!(err, suishoupai_core::Error::InvalidInput(_)), "{limit:?} {cursor:?}: {err}");
    }
    // A task list's cursor is not a report list's.
    let task_cursor = suishoupai_core::domain::page::TaskCursor::InFeed { rank: 0, id: "x".into() }.encode();
    assert!(matches!(store.report_page(None, Some(&task_cursor)), Err(suishoupai_core::Error::InvalidInput(_))));
}

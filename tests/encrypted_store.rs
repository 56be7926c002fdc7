//! The encrypted store on the phone and the damaged one: every file of an
//! encrypted store grepped for what it must not show; a wrong key, a plain
//! open and a keyed open of a plain store as their own errors; a sync from
//! an encrypted store to a real server; a damaged database's clear error
//! and the recovery that keeps what can be read.

use std::path::Path;

use suishoupai_core::sync::Trigger;
use suishoupai_core::{BlobKind, Crs, Error, LocationInput, LocationSource, PreparedPhoto, ReportDraft, Reporter, Store, photo};
use suishoupai_tests::{files_under, photo, start_server};

const KEY: [u8; 32] = [0x5a; 32];
const NOTE: &str = "三楼窗口飞线充电 note-7f3e91";
const LATITUDE: f64 = 32.1234567;
const LONGITUDE: f64 = 114.0761234;

fn draft() -> ReportDraft {
    ReportDraft {
        category: "flying_wire_charging".into(),
        note: NOTE.into(),
        location: Some(LocationInput {
            latitude: LATITUDE,
            longitude: LONGITUDE,
            crs: Crs::Wgs84,
            accuracy_m: Some(4.0),
            source: LocationSource::Manual,
        }),
        reporter: Reporter::default(),
    }
}

fn pixel() -> PreparedPhoto {
    photo::prepare(&std::fs::read(photo("google_pixel_N_E.jpg")).unwrap()).unwrap()
}

/// What no file of an encrypted store may hold: the note, the coordinates
/// (as SQLite stores a REAL), and the JPEG's own bytes (its
/// first 64, which begin with the SOI marker, and 64 from its middle: a
/// two-byte marker alone turns up by chance in random bytes).
fn secrets(photo: &PreparedPhoto) -> Vec<(String, Vec<u8>)> {
    let middle = photo.rendition.len() / 2;
    vec![
        ("note".into(), NOTE.as_bytes().to_vec()),
        ("latitude (REAL)".into(), LATITUDE.to_be_bytes().to_vec()),
        ("longitude (REAL)".into(), LONGITUDE.to_be_bytes().to_vec()),
        ("rendition head".into(), photo.rendition[..64].to_vec()),
        ("rendition middle".into(), photo.rendition[middle..middle + 64].to_vec()),
        ("thumbnail head".into(), photo.thumbnail[..64].to_vec()),
    ]
}

/// Which secrets some file under `dir` shows, as "what in which file".
fn found(dir: &Path, secrets: &[(String, Vec<u8>)]) -> Vec<String> {
    let mut shown = Vec::new();
    for file in files_under(dir) {
        let bytes = std::fs::read(&file).unwrap();
        for (what, needle) in secrets {
            if bytes.windows(needle.len()).any(|w| w == needle.as_slice()) {
                shown.push(format!("{what} in {}", file.display()));
            }
        }
    }
    shown
}

#[test]
fn no_file_of_an_encrypted_store_shows_a_note_a_place_or_a_photo() {
    let photo = pixel();
    let secrets = secrets(&photo);
    // The grep finds them all in a plain store: it is able to fail.
    let plain = tempfile::tempdir().unwrap();
    Store::open(plain.path()).unwrap().create_report_from_prepared(&draft(), std::slice::from_ref(&photo)).unwrap();
    let in_plain = found(plain.path(), &secrets);
    for (what, _) in &secrets {
        assert!(in_plain.iter().any(|f| f.starts_with(what.as_str())), "a plain store shows the {what}: {in_plain:?}");
    }

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_encrypted(dir.path(), &KEY).unwrap();
    let report = store.create_report_from_prepared(&draft(), std::slice::from_ref(&photo)).unwrap();
    // Looked at while open too: the WAL holds the newest pages.
    assert_eq!(found(dir.path(), &secrets), Vec::<String>::new());
    assert!(store.photo_path(&photo.sha256, BlobKind::Rendition).is_err(), "sealed files have no useful path");
    drop(store);
    assert_eq!(found(dir.path(), &secrets), Vec::<String>::new());

    // With its key, all of it is there.
    let store = Store::open_encrypted(dir.path(), &KEY).unwrap();
    let again = store.get_report(&report.id).unwrap();
    assert_eq!((again.note.as_str(), again.location.as_ref().map(|l| (l.latitude, l.longitude))), (NOTE, Some((LATITUDE, LONGITUDE))));
    assert_eq!(store.photo_bytes(&photo.sha256, BlobKind::Rendition).unwrap(), photo.rendition);
    assert_eq!(store.photo_bytes(&photo.sha256, BlobKind::Thumbnail).unwrap(), photo.thumbnail);
}

#[test]
fn a_wrong_key_a_missing_key_and_a_needless_key_are_their_own_errors() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_encrypted(dir.path(), &KEY).unwrap();
    store.create_report_from_prepared(&draft(), &[pixel()]).unwrap();
    drop(store);
    let before: Vec<_> = files_under(dir.path()).into_iter().map(|f| (f.clone(), std::fs::read(&f).unwrap())).collect();
    assert!(matches!(Store::open_encrypted(dir.path(), &[0x5b; 32]), Err(Error::WrongKey)));
    assert!(matches!(Store::recover_encrypted(dir.path(), &[0x5b; 32]), Err(Error::WrongKey)));
    assert!(matches!(Store::open(dir.path()), Err(Error::StoreEncrypted)));
    assert!(matches!(Store::open_encrypted(dir.path(), &KEY[..16]), Err(Error::InvalidInput(_))));
    let after: Vec<_> = files_under(dir.path()).into_iter().map(|f| (f.clone(), std::fs::read(&f).unwrap())).collect();
    assert!(before == after, "a refused open changes no file");
    assert_eq!(Store::open_encrypted(dir.path(), &KEY).unwrap().report_count().unwrap(), 1);

    let plain = tempfile::tempdir().unwrap();
    Store::open(plain.path()).unwrap();
    assert!(matches!(Store::open_encrypted(plain.path(), &KEY), Err(Error::StoreNotEncrypted)));
    assert!(Store::open(plain.path()).is_ok(), "and it stays plain");
}

#[test]
fn an_encrypted_store_syncs_its_photos_whole() {
    let server_dir = tempfile::tempdir().unwrap();
    let server = start_server(server_dir.path());
    let token = server.user("ana", "resident");
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_encrypted(dir.path(), &KEY).unwrap();
    let photo = pixel();
    let report = store.create_report_from_prepared(&draft(), std::slice::from_ref(&photo)).unwrap();
    store.login(&server.url(""), &token).unwrap();
    let summary = store.sync(Trigger::User, &|_, _| {}).unwrap();
    assert_eq!(summary.pushed, 1);
    // The server has the plain rendition, byte for byte (its sha256 is its name).
    let served = server.get(&token, &format!("/v1/photos/{}", photo.sha256));
    assert_eq!(served.status(), 200);
    assert_eq!(served.bytes().unwrap().as_ref(), photo.rendition.as_slice());
    let on_server = server.get(&token, &format!("/v1/reports/{}", report.id)).json::<serde_json::Value>().unwrap();
    assert_eq!(on_server["note"], NOTE);
}

/// Overwrites `len` bytes of the database at `offset`.
fn scribble(dir: &Path, offset: u64, len: usize) {
    use std::io::{Seek, SeekFrom, Write};
    let mut file = std::fs::OpenOptions::new().write(true).open(dir.join("store.sqlite3")).unwrap();
    file.seek(SeekFrom::Start(offset)).unwrap();
    file.write_all(&vec![0xA5; len]).unwrap();
    file.sync_all().unwrap();
}

fn reports(n: usize, store: &Store) -> Vec<String> {
    let photo = pixel();
    (0..n)
        .map(|i| {
            let mut d = draft();
            d.note = format!("{i}: {}", "路边堆放建筑垃圾，影响通行。".repeat(8));
            store.create_report_from_prepared(&d, std::slice::from_ref(&photo)).unwrap().id.to_string()
        })
        .collect()
}

#[test]
fn a_damaged_store_says_so_and_recovery_keeps_what_can_be_read() {
    for encrypted in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let open = || if encrypted { Store::open_encrypted(dir.path(), &KEY) } else { Store::open(dir.path()) };
        let made = reports(300, &open().unwrap());
        let size = std::fs::metadata(dir.path().join("store.sqlite3")).unwrap().len();
        assert!(size > 16 * 4096, "{size} bytes: enough pages to damage one");
        // Eight pages in the middle of the file, as a bad sector would.
        scribble(dir.path(), (size / 4096 / 2) * 4096, 8 * 4096);
        let damaged = open().and_then(|store| store.list_reports().map(|_| ()));
        let error = damaged.expect_err("a damaged page is seen");
        assert!(error.is_damage(), "{encrypted}: {error}");

        let recovery = if encrypted { Store::recover_encrypted(dir.path(), &KEY) } else { Store::recover(dir.path()) }.unwrap();
        assert!(recovery.damaged_copy.exists(), "the damaged file is kept aside");
        let store = open().unwrap();
        let kept = store.list_reports().unwrap();
        assert_eq!(kept.len() as u64, recovery.reports_kept);
        // Some rows sat in the damaged pages; the rest are kept.
        assert!(!kept.is_empty() && kept.len() < made.len(), "{encrypted}: kept {} of {}", kept.len(), made.len());
        assert!(recovery.rows_lost);
        // What is kept is whole, and queued to be sent.
        assert_eq!(store.pending_count().unwrap(), kept.len() as u64);
        for report in &kept {
            assert!(made.contains(&report.id.to_string()));
            assert_eq!(store.photo_bytes(&report.photos[0].sha256, BlobKind::Rendition).unwrap().len() as u64, report.photos[0].bytes);
        }
        drop(store);

        // A destroyed header: the store does not open, with the same clear error.
        let dir2 = tempfile::tempdir().unwrap();
        let store = if encrypted { Store::open_encrypted(dir2.path(), &KEY) } else { Store::open(dir2.path()) }.unwrap();
        reports(3, &store);
        drop(store);
        scribble(dir2.path(), 0, 4096);
        let error = if encrypted { Store::open_encrypted(dir2.path(), &KEY) } else { Store::open(dir2.path()) }.unwrap_err();
        assert!(matches!(error, Error::StoreDamaged(_)), "{encrypted}: {error}");
        let recovery = if encrypted { Store::recover_encrypted(dir2.path(), &KEY) } else { Store::recover(dir2.path()) }.unwrap();
        assert!(recovery.rows_lost && recovery.reports_kept == 0);
        assert_eq!(
            if encrypted { Store::open_encrypted(dir2.path(), &KEY) } else { Store::open(dir2.path()) }.unwrap().report_count().unwrap(),
            0
        );
    }
}

//! Issue 12: `backup` while the server serves, and `restore`.

mod common;

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{Server, cli, photos, report};
use serde_json::Value;

fn ok(output: std::process::Output) -> Value {
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

fn rendition_path(data: &std::path::Path, sha: &str) -> std::path::PathBuf {
    data.join("photos/renditions").join(&sha[..2]).join(format!("{sha}.jpg"))
}

/// Pushes go on, five reports a request, while `backup` runs beside the
/// server. The restored server holds every report acknowledged before the
/// backup began, each with its photos byte for byte; reports acknowledged
/// later are there whole or not at all.
#[test]
fn a_backup_taken_during_pushes_restores_every_report_acknowledged_before_it_whole() {
    let server = Server::start();
    let ana = server.user("ana", "resident");
    photos().iter().for_each(|p| server.upload_photo(&ana, p));
    let out = tempfile::tempdir().unwrap();
    let stop = AtomicBool::new(false);
    let acked: Mutex<Vec<(String, usize, Instant)>> = Mutex::new(Vec::new());
    let mut began = None;
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let batch: Vec<(Value, usize)> = (0..5).map(|i| (report(&[&photos()[(n + i) % 3]]), (n + i) % 3)).collect();
                n += 5;
                let results = server.push(&ana, &batch.iter().map(|(r, _)| r.clone()).collect::<Vec<_>>());
                let at = Instant::now();
                for ((sent, photo), result) in batch.iter().zip(&results) {
                    assert_eq!(result["outcome"], "accepted");
                    acked.lock().unwrap().push((sent["id"].as_str().unwrap().to_owned(), *photo, at));
                }
            }
        });
        while acked.lock().unwrap().len() < 25 {
            std::thread::sleep(Duration::from_millis(5));
        }
        began = Some(Instant::now());
        let summary = ok(cli(server.dir(), &["backup", "--out", out.path().to_str().unwrap()]));
        assert!(summary["reports"].as_u64().unwrap() >= 25, "{summary}");
        assert_eq!(summary["photos"], 3);
        // A few more after it, then stop.
        let after = acked.lock().unwrap().len() + 10;
        while acked.lock().unwrap().len() < after {
            std::thread::sleep(Duration::from_millis(5));
        }
        stop.store(true, Ordering::Relaxed);
    });
    let began = began.unwrap();
    let acked = acked.into_inner().unwrap();
    let before: Vec<_> = acked.iter().filter(|(_, _, at)| *at < began).collect();
    assert!(before.len() >= 25 && before.len() < acked.len());

    let data = tempfile::tempdir().unwrap();
    let summary = ok(cli(data.path(), &["restore", "--from", out.path().to_str().unwrap()]));
    assert_eq!(summary["photos"], 3);
    let restored = Server::start_with(data, &[]);
    let mut present = 0;
    for (id, photo, at) in &acked {
        let answer = restored.get(&ana, &format!("/v1/reports/{id}"));
        if *at < began {
            assert_eq!(answer.status(), 200, "report {id}, acknowledged before the backup began, was lost");
        }
        if answer.status() == 404 {
            continue;
        }
        present += 1;
        let body: Value = answer.json().unwrap();
        let sha = body["photos"][0]["sha256"].as_str().unwrap();
        assert_eq!(sha, photos()[*photo].sha256);
        assert_eq!(restored.get(&ana, &format!("/v1/photos/{sha}")).bytes().unwrap(), photos()[*photo].rendition);
    }
    assert_eq!(present as u64, summary["reports"].as_u64().unwrap(), "the restore's count is what is served");
}

/// A restore checks every photo: a backup whose photo was damaged is
/// refused by name and leaves no database behind; a data directory that
/// already holds one is never overwritten.
#[test]
fn a_restore_refuses_damaged_photos_and_a_data_directory_in_use() {
    let server = Server::start();
    let ana = server.user("ana", "resident");
    let photo = &photos()[0];
    server.upload_photo(&ana, photo);
    assert_eq!(server.push(&ana, &[report(&[photo])])[0]["outcome"], "accepted");
    let out = tempfile::tempdir().unwrap();
    ok(cli(server.dir(), &["backup", "--out", out.path().to_str().unwrap()]));

    let refused = cli(server.dir(), &["restore", "--from", out.path().to_str().unwrap()]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("already holds a database"));
    assert_eq!(server.get(&ana, "/v1/reports").status(), 200, "the served data is untouched");

    let mut damaged = std::fs::read(rendition_path(out.path(), &photo.sha256)).unwrap();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0xff;
    std::fs::write(rendition_path(out.path(), &photo.sha256), damaged).unwrap();
    let data = tempfile::tempdir().unwrap();
    let refused = cli(data.path(), &["restore", "--from", out.path().to_str().unwrap()]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains(&photo.sha256), "{}", String::from_utf8_lossy(&refused.stderr));
    assert!(!data.path().join("server.sqlite3").exists(), "a failed restore leaves no database");
}

//! The server against a hostile client (issue 8): each test tries again
//! what an attacker with a resident's token, or with none, did, and checks
//! that it no longer works.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use common::{Server, assert_error, bin, client, photos, report};
use serde_json::{Value, json};
use suishoupai_core::photo::sha256_hex;
use suishoupai_core::protocol::{MAX_CHUNK_BYTES, MAX_OPEN_UPLOAD_BYTES_PER_USER, MAX_PHOTO_BYTES, MAX_UPLOAD_BATCH};

fn address(server: &Server) -> SocketAddr {
    server.base.strip_prefix("http://").unwrap().parse().unwrap()
}

/// A connection to `to` from the loopback address `from` (127.0.0.0/8 is
/// all loopback), so that an attacker and an honest client differ.
fn connect_from(from: &str, to: SocketAddr) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.bind(&format!("{from}:0").parse::<SocketAddr>().unwrap().into()).unwrap();
    socket.connect(&to.into()).unwrap();
    socket.into()
}

/// Whether the server has closed this connection (EOF or reset).
fn closed_by_server(mut stream: &TcpStream) -> bool {
    stream.set_read_timeout(Some(Duration::from_millis(5))).unwrap();
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
    }
}

fn raise_open_file_limit() {
    // SAFETY: getrlimit/setrlimit only read and write the struct given.
    unsafe {
        let mut limit: libc::rlimit = std::mem::zeroed();
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        limit.rlim_cur = limit.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
    }
}

fn resident_memory_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Finding 1: thousands of idle or dribbling connections held the server's
/// every file descriptor, and a half-sent request kept SIGTERM from working.
#[test]
fn idle_and_dribbling_connections_do_not_keep_anyone_out() {
    const ATTACKERS: usize = 2000;
    const CAP: usize = 64;
    raise_open_file_limit();
    let server = Server::start_with(tempfile::tempdir().unwrap(), &["--max-connections-per-ip", &CAP.to_string()]);
    let to = address(&server);
    let held: Vec<TcpStream> = (0..ATTACKERS)
        .map(|_| {
            let mut stream = connect_from("127.0.0.2", to);
            // Half a request: headers begun, never ended. A write may fail on
            // a connection the server already closed; that is its point.
            let _ = stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n");
            stream
        })
        .collect();
    // Some of those dribble a header, a byte at a time, and never end it.
    let dribblers: Vec<TcpStream> = held.iter().take(20).map(|s| s.try_clone().unwrap()).collect();
    let dribbling = std::thread::spawn(move || {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(25) {
            for mut stream in &dribblers {
                let _ = stream.write_all(b"a");
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    });

    // At most CAP of them are kept; the rest are closed as soon as accepted.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut open = ATTACKERS;
    while Instant::now() < deadline {
        open = held.iter().filter(|s| !closed_by_server(s)).count();
        if open <= CAP {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(open <= CAP, "{open} of {ATTACKERS} connections from one address are held open (cap {CAP})");

    // A client from elsewhere is answered at once, every time.
    let honest = reqwest::blocking::Client::builder().timeout(Duration::from_secs(1)).build().unwrap();
    for _ in 0..5 {
        let asked = Instant::now();
        let answer = honest.get(server.url("/healthz")).send().expect("/healthz answers within a second");
        assert_eq!(answer.status(), 200);
        assert!(asked.elapsed() < Duration::from_secs(1));
    }
    let rss = resident_memory_kib(server.pid());
    assert!(rss < 200 * 1024, "the server holds {rss} KiB with {ATTACKERS} hostile connections");

    // The header-read timeout closes the idle ones and the dribblers alike.
    std::thread::sleep(suishoupai_server::http::serve::HEADER_READ_TIMEOUT + Duration::from_secs(3));
    let still_open = held.iter().filter(|s| !closed_by_server(s)).count();
    assert_eq!(still_open, 0, "connections outlived the header-read timeout");
    drop(held);
    dribbling.join().unwrap();

    // SIGTERM stops the server within a few seconds, whatever clients hold open.
    let _half_sent: Vec<TcpStream> = (0..50)
        .map(|_| {
            let mut stream = connect_from("127.0.0.3", to);
            stream.write_all(b"POST /v1/push HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"rep").unwrap();
            stream
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let took = server.terminate();
    assert!(took < suishoupai_server::http::serve::SHUTDOWN_GRACE + Duration::from_secs(3), "SIGTERM took {took:?}");
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum()
}

/// Finding 2: uploads never finished filled the disk, and never expired.
#[test]
fn a_user_cannot_fill_the_disk_with_uploads_never_finished() {
    let server = Server::start();
    let ana = server.user("ana", "resident");
    let bo = server.user("bo", "resident");
    let fitting = (MAX_OPEN_UPLOAD_BYTES_PER_USER / MAX_PHOTO_BYTES) as usize;
    let junk: Vec<String> = (0..fitting + 1).map(|n| sha256_hex(format!("junk {n}").as_bytes())).collect();
    let chunk: Vec<u8> = (0..MAX_CHUNK_BYTES as u32).map(|n| (n.wrapping_mul(2654435761) >> 24) as u8).collect();
    for sha in &junk[..fitting] {
        let answer = server.post(&ana, "/v1/uploads", &json!({ "sha256": sha, "length": MAX_PHOTO_BYTES }));
        assert_eq!(answer.status(), 200);
        assert_eq!(server.patch(&ana, sha, 0, &chunk).status(), 204);
    }
    // Past the allowance: 429 with Retry-After, and nothing opened.
    let over = server.post(&ana, "/v1/uploads", &json!({ "sha256": junk[fitting], "length": MAX_PHOTO_BYTES }));
    assert!(over.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() > 0);
    assert_error(over, 429, "quota_exceeded", "at most");
    assert_eq!(server.request(reqwest::Method::HEAD, &ana, &format!("/v1/uploads/{}", junk[fitting])).send().unwrap().status(), 404);
    // A batch of 900 invented hashes is refused whole.
    let invented: Vec<Value> = (0..MAX_UPLOAD_BATCH)
        .map(|n| json!({ "sha256": sha256_hex(format!("invented {n}").as_bytes()), "length": 17_000_000 / 1000 }))
        .collect();
    assert_error(server.post(&ana, "/v1/uploads/batch", &json!({ "uploads": invented })), 429, "quota_exceeded", "at most");
    let rows: i64 = rusqlite::Connection::open(server.dir.path().join("server.sqlite3"))
        .unwrap()
        .query_row("SELECT count(*) FROM uploads", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows as usize, fitting, "only what the allowance took is open");
    // Disk use is what was sent, within the bound.
    let partial = server.dir.path().join("photos/partial");
    assert_eq!(dir_bytes(&partial), fitting as u64 * MAX_CHUNK_BYTES);
    assert!(dir_bytes(&partial) <= MAX_OPEN_UPLOAD_BYTES_PER_USER);
    // Another user is unaffected.
    let photo = &photos()[0];
    server.upload_photo(&bo, photo);
    assert_eq!(server.push(&bo, &[report(&[photo])])[0]["outcome"], "accepted");

    // Untouched for more than a day: gone, bytes and all, when the server starts again.
    let dir = server.kill();
    rusqlite::Connection::open(dir.path().join("server.sqlite3"))
        .unwrap()
        .execute("UPDATE uploads SET touched_ms = touched_ms - 25 * 3600 * 1000", [])
        .unwrap();
    let server = Server::start_in(dir);
    assert_eq!(dir_bytes(&server.dir.path().join("photos/partial")), 0);
    assert_eq!(server.request(reqwest::Method::HEAD, &ana, &format!("/v1/uploads/{}", junk[0])).send().unwrap().status(), 404);
    assert_eq!(server.post(&ana, "/v1/uploads", &json!({ "sha256": junk[fitting], "length": MAX_PHOTO_BYTES })).status(), 200);
}

/// Finding 3: knowing a photo's sha256 was enough to use it, read it, and
/// learn that it exists and how large it is.
#[test]
fn a_photo_is_had_by_sending_it_not_by_knowing_its_hash() {
    let server = Server::start();
    let ana = server.user("ana", "resident");
    let bo = server.user("bo", "resident");
    let photo = &photos()[0];
    let sha = &photo.sha256;
    server.upload_photo(&ana, photo);
    let anas = report(&[photo]);
    assert_eq!(server.push(&ana, std::slice::from_ref(&anas))[0]["outcome"], "accepted");

    // bo cites ana's photo, even with wrong sizes: missing, and nothing told about it.
    let mut citing = report(&[photo]);
    let pushed = server.push(&bo, std::slice::from_ref(&citing));
    assert_eq!(pushed[0]["outcome"], "missing_photos");
    assert_eq!(pushed[0]["missing"], json!([sha]));
    citing["photos"][0]["width"] = json!(7);
    let pushed = server.push(&bo, std::slice::from_ref(&citing));
    assert_eq!(pushed[0]["outcome"], "missing_photos", "{pushed:?}");
    let told = pushed[0].to_string();
    assert!(!told.contains(&photo.width.to_string()) && !told.contains(&photo.rendition.len().to_string()), "{told}");
    // As an upload it is new to bo; no HEAD, photo or thumbnail answers him.
    let state: Value = server.post(&bo, "/v1/uploads", &json!({ "sha256": sha, "length": photo.rendition.len() })).json().unwrap();
    assert_eq!((state["offset"].as_u64(), state["complete"].as_bool()), (Some(0), Some(false)));
    let batch: Value =
        server.post(&bo, "/v1/uploads/batch", &json!({ "uploads": [{ "sha256": sha, "length": photo.rendition.len() }] })).json().unwrap();
    assert_eq!(batch["uploads"][0]["complete"], false);
    for path in [format!("/v1/photos/{sha}"), format!("/v1/photos/{sha}/thumbnail")] {
        assert_eq!(server.get(&bo, &path).status(), 404, "{path}");
    }
    // bo truly has the photo (he sends it whole): then it is his too, and
    // his own report shows it; ana's report stays hers.
    server.upload(&bo, sha, &photo.rendition);
    assert_eq!(server.push(&bo, &[report(&[photo])])[0]["outcome"], "accepted");
    assert_eq!(server.get(&bo, &format!("/v1/photos/{sha}")).bytes().unwrap(), photo.rendition);
    assert_eq!(server.get(&bo, &format!("/v1/reports/{}", anas["id"].as_str().unwrap())).status(), 404);
}

/// Finding 4: a camera original uploaded directly was stored and served
/// with its GPS position and serial numbers.
#[test]
fn a_camera_original_uploaded_raw_is_refused() {
    let server = Server::start();
    let ana = server.user("ana", "resident");
    let original = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/testdata/photos/canon_eos600d_N_W.jpg")).unwrap();
    let sha = sha256_hex(&original);
    let created = server.post(&ana, "/v1/uploads", &json!({ "sha256": sha, "length": original.len() }));
    assert_eq!(created.status(), 200);
    assert_error(server.send_all(&ana, &sha, &original), 422, "private_metadata", "EXIF");
    assert_eq!(server.request(reqwest::Method::HEAD, &ana, &format!("/v1/uploads/{sha}")).send().unwrap().status(), 404);
    assert!(!server.dir.path().join(format!("photos/renditions/{}/{sha}.jpg", &sha[..2])).exists());
    assert_eq!(dir_bytes(&server.dir.path().join("photos/partial")), 0, "the discarded upload's bytes are gone");
    // Our own rendition of the same photo goes through unchanged.
    let rendition = suishoupai_core::photo::prepare(&original).unwrap();
    server.upload_photo(&ana, &rendition);
}

fn cli(data: &Path, args: &[&str]) -> std::process::Output {
    let out = std::process::Command::new(bin()).arg("--data").arg(data).args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// Asks until the answer's status is `want`; answers how long that took.
fn until_status(server: &Server, token: &str, want: u16) -> Duration {
    let started = Instant::now();
    loop {
        let answer = server.get(token, "/v1/changes");
        if answer.status().as_u16() == want {
            return started.elapsed();
        }
        assert!(started.elapsed() < Duration::from_secs(5), "still {} after 5 s, want {want}", answer.status());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Finding 6: a lost phone could not be locked out, and the server cached
/// users until it restarted.
#[test]
fn a_revoked_or_disabled_token_is_refused_by_the_running_server() {
    let server = Server::start();
    let data = server.dir.path();
    let old = server.user("ana", "resident");
    // Cached by the server from here on.
    for _ in 0..3 {
        assert_eq!(server.get(&old, "/v1/changes").status(), 200);
    }
    let out = cli(data, &["user", "revoke-token", "ana", "--json"]);
    let new = serde_json::from_slice::<Value>(&out.stdout).unwrap()["token"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert!(until_status(&server, &old, 401) < Duration::from_secs(1), "the old token still worked after a second");
    let refused = server.get(&old, "/v1/changes");
    assert_eq!(refused.headers()["www-authenticate"], r#"Bearer realm="suishoupai""#);
    assert_error(refused, 401, "unauthorized", "revoked");
    assert_eq!(server.get(&new, "/v1/changes").status(), 200);

    cli(data, &["user", "disable", "ana"]);
    assert!(until_status(&server, &new, 401) < Duration::from_secs(1), "a disabled user still got in after a second");
    assert_error(server.get(&new, "/v1/changes"), 401, "unauthorized", "disabled");
    let listed: Value = serde_json::from_slice(&cli(data, &["user", "list", "--json"]).stdout).unwrap();
    assert_eq!(listed[0]["disabled"], true);
    cli(data, &["user", "enable", "ana"]);
    until_status(&server, &new, 200);
    let unknown = std::process::Command::new(bin()).arg("--data").arg(data).args(["user", "disable", "nobody"]).output().unwrap();
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("nobody"));
}

/// A lost phone is revoked alone: the user's other devices keep working,
/// and the lost one's token answers 401 on the running server at once.
#[test]
fn a_lost_devices_token_is_revoked_alone() {
    let server = Server::start();
    let phone = server.user("wang", "coordinator");
    let tablet = serde_json::from_slice::<Value>(&server.cli(&["user", "add-token", "wang", "--device", "tablet", "--json"]).stdout)
        .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    for token in [&phone, &tablet] {
        assert_eq!(server.get(token, "/v1/changes").status(), 200);
    }
    let revoked = server.cli(&["user", "revoke-token", "wang", "--device", "default"]);
    assert!(revoked.status.success(), "{}", String::from_utf8_lossy(&revoked.stderr));
    assert!(until_status(&server, &phone, 401) < Duration::from_secs(1), "the lost phone's token still worked after a second");
    assert_eq!(server.get(&tablet, "/v1/changes").status(), 200, "the other device was signed out too");
    let again = server.cli(&["user", "revoke-token", "wang", "--device", "default"]);
    assert!(!again.status.success(), "revoking a device without a token says so");
    assert!(String::from_utf8_lossy(&again.stderr).contains("no token for a device"));
    let bad = server.cli(&["user", "add-token", "wang", "--device", ""]);
    assert!(!bad.status.success());
}

/// Sends raw bytes and reads the answer until the server closes.
fn raw(server: &Server, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(address(server)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.write_all(request).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

fn json_body(answer: &str) -> Value {
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no head in {answer:?}"));
    assert!(head.to_ascii_lowercase().contains("content-type: application/json"), "{head}");
    assert!(head.to_ascii_lowercase().contains("x-content-type-options: nosniff"), "{head}");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body:?}"))
}

/// Finding 7, the transport's part: hyper's own answers, the auth scheme,
/// nosniff.
#[test]
fn every_answer_is_json_and_nosniff_and_bearer_is_any_case() {
    let server = Server::start();
    let ana = server.user("ana", "resident");
    // Requests hyper cannot parse, answered before any handler runs.
    let many_headers: String = (0..200).map(|n| format!("X-{n}: y\r\n")).collect();
    let answer = raw(&server, format!("GET /healthz HTTP/1.1\r\nHost: x\r\n{many_headers}\r\n").as_bytes());
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    assert_eq!(json_body(&answer)["error"], "headers_too_large");
    let long_uri = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70_000));
    let answer = raw(&server, long_uri.as_bytes());
    assert!(answer.starts_with("HTTP/1.1 431") || answer.starts_with("HTTP/1.1 414"), "{answer}");
    assert!(json_body(&answer)["message"].is_string());
    let answer = raw(&server, b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert_eq!(json_body(&answer)["error"], "bad_request");

    // The scheme is case-insensitive (RFC 9110); a 401 says how to authenticate.
    let http = client();
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let answer = http.get(server.url("/v1/changes")).header("Authorization", format!("{scheme} {ana}")).send().unwrap();
        assert_eq!(answer.status(), 200, "{scheme}");
    }
    let answer = http.get(server.url("/v1/changes")).send().unwrap();
    assert_eq!(answer.headers()["www-authenticate"], r#"Bearer realm="suishoupai""#);
    assert_eq!(answer.headers()["x-content-type-options"], "nosniff");

    // nosniff on every answer: health, errors, photos.
    let photo = &photos()[0];
    server.upload_photo(&ana, photo);
    assert_eq!(server.push(&ana, &[report(&[photo])])[0]["outcome"], "accepted");
    for (path, status) in [("/healthz".to_owned(), 200), ("/nope".to_owned(), 404), (format!("/v1/photos/{}", photo.sha256), 200)] {
        let answer = server.get(&ana, &path);
        assert_eq!(answer.status(), status, "{path}");
        assert_eq!(answer.headers()["x-content-type-options"], "nosniff", "{path}");
    }
}

/// Finding 7, the push's part: a number no f64 holds made the whole push
/// fail with "reports[0].id is missing".
#[test]
fn an_unreadable_number_is_named_as_such() {
    let server = Server::start();
    let ana = server.user("ana", "resident");
    let photo = &photos()[0];
    server.upload_photo(&ana, photo);
    let good = report(&[photo]);
    let id = good["id"].as_str().unwrap().to_owned();
    let body = json!({ "reports": [good] }).to_string().replace("\"accuracy_m\":8.0", "\"accuracy_m\":1e400");
    assert!(body.contains("1e400"));
    let answer = client()
        .post(server.url("/v1/push"))
        .bearer_auth(&ana)
        .header("Content-Type", "application/json")
        .body(body.clone())
        .send()
        .unwrap();
    // That report alone is invalid, and the reason names the number.
    assert_eq!(answer.status(), 200);
    let results: Value = answer.json().unwrap();
    assert_eq!(results["results"][0]["id"], id.as_str());
    assert_eq!(results["results"][0]["outcome"], "invalid");
    let error = results["results"][0]["error"].as_str().unwrap();
    assert!(error.contains("location.accuracy_m") && error.contains("number out of range"), "{error}");
    // Without an id to answer for, the request fails, saying both.
    let no_id = body.replace(&format!("\"id\":\"{id}\""), "\"id\":1e400");
    let answer =
        client().post(server.url("/v1/push")).bearer_auth(&ana).header("Content-Type", "application/json").body(no_id).send().unwrap();
    assert_error(answer, 400, "bad_request", "number out of range");
}

/// Issue 12: a stolen token or a looping app sends report after report, or
/// photo after photo, each within every per-request bound. Past the day's
/// quota the server answers 429 with `Retry-After` (the next local
/// midnight), stores nothing of the refused request, and serves everyone
/// else as before.
#[test]
fn one_user_cannot_send_more_than_a_days_quota() {
    let server = Server::start_with(tempfile::tempdir().unwrap(), &["--daily-reports", "2", "--daily-photo-mib", "1"]);
    let ana = server.user("ana", "resident");
    let bo = server.user("bo", "resident");
    let photo = &photos()[0];
    server.upload_photo(&ana, photo);
    let (first, second) = (report(&[photo]), report(&[photo]));
    assert_eq!(server.push(&ana, &[first.clone(), second]).iter().filter(|r| r["outcome"] == "accepted").count(), 2);
    let third = report(&[photo]);
    let over = server.post(&ana, "/v1/push", &json!({ "reports": [first.clone(), third.clone()] }));
    let wait: u64 = over.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=86_400).contains(&wait), "Retry-After is the next local midnight: {wait}");
    assert_error(over, 429, "quota_exceeded", "reports a day");
    let stored = |id: &Value| server.get(&ana, &format!("/v1/reports/{}", id.as_str().unwrap())).status();
    assert_eq!(stored(&third["id"]), 404, "nothing of the refused push was stored");
    // A retry of what was stored is not a new report and still answers.
    assert_eq!(server.push(&ana, std::slice::from_ref(&first))[0]["outcome"], "accepted");

    // Photo bytes: what ana holds today counts, and what her uploads under way declare.
    let held = photo.rendition.len() as u64;
    let room = 1024 * 1024 - held;
    let junk = |n: u32| sha256_hex(format!("junk {n}").as_bytes());
    assert_eq!(server.post(&ana, "/v1/uploads", &json!({ "sha256": junk(1), "length": room })).status(), 200);
    let over = server.post(&ana, "/v1/uploads", &json!({ "sha256": junk(2), "length": 1 }));
    assert!(over.headers().contains_key("retry-after"));
    assert_error(over, 429, "quota_exceeded", "MiB of photos a day");
    assert_eq!(server.request(reqwest::Method::HEAD, &ana, &format!("/v1/uploads/{}", junk(2))).send().unwrap().status(), 404);

    // Bo is not ana.
    server.upload_photo(&bo, &photos()[1]);
    assert_eq!(server.push(&bo, &[report(&[&photos()[1]]), report(&[&photos()[1]])])[1]["outcome"], "accepted");
}

/// Issue 12: photos uploaded but shown by no report or action are removed
/// once their grace is over (here none, at the sweep a start runs), rows
/// and files; a photo a report shows stays. A device that comes back with
/// a report showing a removed photo is told `missing_photos`, uploads it
/// again, and its report is stored.
#[test]
fn photos_nobody_shows_are_removed_after_their_grace_and_come_back_when_sent_again() {
    let server = Server::start();
    let ana = server.user("ana", "resident");
    let (shown, lone) = (&photos()[0], &photos()[1]);
    server.upload_photo(&ana, shown);
    server.upload_photo(&ana, lone);
    assert_eq!(server.push(&ana, &[report(&[shown])])[0]["outcome"], "accepted");
    let file = |dir: &Path, sha: &str| dir.join("photos/renditions").join(&sha[..2]).join(format!("{sha}.jpg"));
    let dir = server.kill();
    assert!(file(dir.path(), &lone.sha256).exists());
    let server = Server::start_with(dir, &["--unreferenced-photo-hours", "0"]);
    let held = |sha: &str| server.request(reqwest::Method::HEAD, &ana, &format!("/v1/uploads/{sha}")).send().unwrap().status();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while held(&lone.sha256) != 404 {
        assert!(std::time::Instant::now() < deadline, "the unshown photo was never swept");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(!file(server.dir(), &lone.sha256).exists(), "its file went with its rows");
    assert_eq!(held(&shown.sha256), 200);
    assert!(file(server.dir(), &shown.sha256).exists());
    let late = report(&[lone]);
    let answer = server.push(&ana, std::slice::from_ref(&late));
    assert_eq!((answer[0]["outcome"].as_str(), answer[0]["missing"][0].as_str()), (Some("missing_photos"), Some(lone.sha256.as_str())));
    server.upload_photo(&ana, lone);
    assert_eq!(server.push(&ana, &[late])[0]["outcome"], "accepted");
    assert_eq!(server.get(&ana, &format!("/v1/photos/{}", lone.sha256)).bytes().unwrap(), lone.rendition);
}

/// A small file system mounted for one test, unmounted when dropped.
struct Mounted(std::path::PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes zeros into `path` until the file system holding it is full.
fn fill_disk(path: &Path) {
    let mut file = std::fs::File::create(path).unwrap();
    for block in [1 << 20, 4096, 512] {
        let zeros = vec![0u8; block];
        while file.write_all(&zeros).is_ok() {}
    }
    let _ = file.sync_all();
}

/// Issue 12: the server's disk fills up (a 8 MiB tmpfs holding its data
/// directory). Writes answer 507 `storage_full`, nothing half-written stays
/// behind, what was stored before is still served, and once space is freed
/// the same requests succeed, each report stored once.
#[test]
fn a_full_disk_answers_507_and_keeps_nothing_half_written() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: mounting a small tmpfs needs root (CI runs as root)");
        return;
    }
    let mnt = tempfile::tempdir().unwrap();
    let mounted = std::process::Command::new("mount").args(["-t", "tmpfs", "-o", "size=8m", "tmpfs"]).arg(mnt.path()).status().unwrap();
    assert!(mounted.success(), "mount a tmpfs");
    let _mounted = Mounted(mnt.path().to_owned());
    let data = mnt.path().join("data");
    let server = Server::start_in(data.as_path());
    let ana = server.user("ana", "resident");
    let (held, fresh) = (&photos()[0], &photos()[1]);
    server.upload_photo(&ana, held);
    let stored = report(&[held]);
    assert_eq!(server.push(&ana, std::slice::from_ref(&stored))[0]["outcome"], "accepted");

    let filler = mnt.path().join("filler");
    fill_disk(&filler);
    // A new photo cannot be kept: 507, and no byte of it stays on disk.
    let started = server.post(&ana, "/v1/uploads", &json!({ "sha256": fresh.sha256, "length": fresh.rendition.len() }));
    let refused = if started.status() == 200 { server.send_all(&ana, &fresh.sha256, &fresh.rendition) } else { started };
    let message = refused.headers().get("content-type").cloned();
    assert_eq!(message.unwrap(), "application/json");
    assert_error(refused, 507, "storage_full", "nothing of this request was kept");
    let leftovers: u64 = ["photos/tmp", "photos/partial"].iter().map(|d| dir_bytes(&data.join(d))).sum();
    assert_eq!(leftovers, 0, "nothing half-written is left behind");
    // A push on the full disk is stored whole or not at all.
    let pending = report(&[held]);
    let during = server.post(&ana, "/v1/push", &json!({ "reports": [pending.clone()] })).status().as_u16();
    assert!(during == 200 || during == 507, "a push on a full disk answers {during}");
    // What was stored is still served.
    let (status, photo) = {
        let answer = server.get(&ana, &format!("/v1/photos/{}", held.sha256));
        (answer.status().as_u16(), answer.bytes().unwrap())
    };
    assert_eq!((status, photo.as_ref()), (200, &held.rendition[..]));

    // Space freed: the same requests succeed, and each report is there once.
    std::fs::remove_file(&filler).unwrap();
    server.upload_photo(&ana, fresh);
    let results = server.push(&ana, &[pending.clone(), report(&[fresh])]);
    assert!(results.iter().all(|r| r["outcome"] == "accepted"), "{results:?}");
    let listed = server.get(&ana, "/v1/reports?limit=100").json::<Value>().unwrap();
    let ids: Vec<&str> = listed["reports"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 3, "{ids:?}");
    for id in [&stored["id"], &pending["id"]] {
        assert_eq!(ids.iter().filter(|i| **i == id.as_str().unwrap()).count(), 1);
    }
    drop(server);
}

//! The device side of the protocol: resumable uploads, push, changes.

mod common;

use common::{Server, assert_error, photos, report};
use serde_json::{Value, json};
use suishoupai_core::photo::sha256_hex;
use suishoupai_core::protocol::{MAX_CHUNK_BYTES, MAX_PHOTO_BYTES, MAX_PUSH_REPORTS, MAX_UPLOAD_BATCH};

fn head_offset(server: &Server, token: &str, sha256: &str) -> (u16, Option<u64>) {
    let answer = server.request(reqwest::Method::HEAD, token, &format!("/v1/uploads/{sha256}")).send().unwrap();
    let offset = answer.headers().get("upload-offset").map(|v| v.to_str().unwrap().parse().unwrap());
    (answer.status().as_u16(), offset)
}

fn create(server: &Server, token: &str, sha256: &str, length: usize) -> Value {
    let created = server.post(token, "/v1/uploads", &json!({ "sha256": sha256, "length": length }));
    assert_eq!(created.status(), 200);
    assert_eq!(created.headers()["tus-resumable"], "1.0.0");
    created.json().unwrap()
}

#[test]
fn upload_resumes_and_completes() {
    let server = Server::start();
    let token = server.user("ana", "resident");
    let other_user = server.user("coco", "coordinator");
    let photo = &photos()[0];
    let (sha, bytes) = (&photo.sha256, &photo.rendition);
    assert!(bytes.len() > 3000);

    assert_eq!(head_offset(&server, &token, sha), (404, None), "unknown before creation");
    let state = create(&server, &token, sha, bytes.len());
    assert_eq!(state, json!({ "sha256": sha, "offset": 0, "length": bytes.len(), "complete": false }));

    // A first chunk, then the connection "drops": the offset is remembered.
    let answer = server.patch(&token, sha, 0, &bytes[..1000]);
    assert_eq!(answer.status(), 204);
    assert_eq!(answer.headers()["upload-offset"], "1000");
    assert_eq!(answer.headers()["tus-resumable"], "1.0.0");
    assert_eq!(head_offset(&server, &token, sha), (200, Some(1000)));

    // A wrong offset is 409 and changes nothing.
    assert_error(server.patch(&token, sha, 0, &bytes[..1000]), 409, "offset_mismatch", "1000");
    assert_error(server.patch(&token, sha, 1500, &bytes[1500..2000]), 409, "offset_mismatch", "1500");
    assert_eq!(head_offset(&server, &token, sha), (200, Some(1000)));

    // POST again (say, from ana's other device) answers the offset under way;
    // to another user it is a photo the server has never seen.
    assert_eq!(create(&server, &token, sha, bytes.len())["offset"], 1000);
    assert_eq!(create(&server, &other_user, sha, bytes.len())["offset"], 0);
    assert_eq!(head_offset(&server, &other_user, sha).0, 200, "the other user's own upload");

    // Resume from the offset HEAD gave, in chunks, to the end.
    let mut offset = 1000;
    while offset < bytes.len() {
        let end = (offset + MAX_CHUNK_BYTES as usize).min(bytes.len());
        let answer = server.patch(&token, sha, offset as u64, &bytes[offset..end]);
        assert_eq!(answer.status(), 204, "{:?}", answer.text());
        offset = end;
    }
    assert_eq!(head_offset(&server, &token, sha), (200, Some(bytes.len() as u64)));
    // Complete: creating again says so, and never asks for the bytes again.
    assert_eq!(
        create(&server, &token, sha, bytes.len()),
        json!({ "sha256": sha, "offset": bytes.len(), "length": bytes.len(), "complete": true })
    );
    // A repeated last chunk whose answer was lost: the offset is past it.
    assert_error(server.patch(&token, sha, 1000, &bytes[1000..2000]), 409, "offset_mismatch", "");

    // The photo is on disk, byte for byte; the partial is gone.
    let stored = std::fs::read(server.dir.path().join(format!("photos/renditions/{}/{sha}.jpg", &sha[..2]))).unwrap();
    assert_eq!(&stored, bytes);
    assert_eq!(std::fs::read_dir(server.dir.path().join("photos/partial")).unwrap().count(), 0);

    // Its thumbnail is made on first request, then kept.
    let thumb_path = server.dir.path().join(format!("photos/thumbnails/{}/{sha}.jpg", &sha[..2]));
    assert!(!thumb_path.exists(), "no thumbnail before anyone asks");
    assert_eq!(server.push(&token, &[report(&[photo])])[0]["outcome"], "accepted");
    let answer = server.get(&token, &format!("/v1/photos/{sha}/thumbnail"));
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["content-type"], "image/jpeg");
    let served = answer.bytes().unwrap();
    let header = suishoupai_core::photo::format::read_header(&served).unwrap();
    assert_eq!(header.width.max(header.height), 320);
    assert_eq!(std::fs::read(&thumb_path).unwrap(), served, "kept for the next request");
    assert_eq!(server.get(&token, &format!("/v1/photos/{sha}/thumbnail")).bytes().unwrap(), served);
}

/// A JPEG whose Huffman tables are cut out: its header, dimensions and end
/// marker are whole, so the upload checks pass, but it cannot be decoded.
fn without_huffman_tables(jpeg: &[u8]) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    let mut at = 2;
    while at + 4 <= jpeg.len() && jpeg[at] == 0xFF && jpeg[at + 1] != 0xDA {
        let length = u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]) as usize;
        if jpeg[at + 1] != 0xC4 {
            out.extend_from_slice(&jpeg[at..at + 2 + length]);
        }
        at += 2 + length;
    }
    out.extend_from_slice(&jpeg[at..]);
    out
}

#[test]
fn a_jpeg_that_does_not_decode_is_refused_and_never_served() {
    let server = Server::start();
    let token = server.user("ana", "resident");
    let photo = &photos()[2];
    let broken = without_huffman_tables(&photo.rendition);
    assert!(broken.len() < photo.rendition.len(), "the test photo has Huffman tables to remove");
    let sha = sha256_hex(&broken);
    create(&server, &token, &sha, broken.len());
    assert_error(server.send_all(&token, &sha, &broken), 422, "bad_photo", "discarded");
    assert_eq!(head_offset(&server, &token, &sha), (404, None));
    let mut report = report(&[photo]);
    report["photos"][0]["sha256"] = json!(sha);
    report["photos"][0]["bytes"] = json!(broken.len());
    assert_eq!(server.push(&token, &[report])[0]["outcome"], "missing_photos");
    assert_eq!(server.get(&token, &format!("/v1/photos/{sha}")).status(), 404);
    assert!(!server.dir.path().join(format!("photos/renditions/{}/{sha}.jpg", &sha[..2])).exists(), "nothing of it is stored");
}

/// A photo stored before uploads were decoded on arrival, which cannot be
/// decoded: its thumbnail answers 422 and the failure is remembered, not
/// tried again on every request.
#[test]
fn a_stored_photo_without_a_thumbnail_is_not_decoded_again() {
    let dir = tempfile::tempdir().unwrap();
    let photo = &photos()[2];
    let broken = without_huffman_tables(&photo.rendition);
    let sha = sha256_hex(&broken);
    let token = {
        use suishoupai_server::blobs::{BlobKind, Blobs, fs::FsBlobs};
        use suishoupai_server::storage::{self, PhotoMeta, StorageError, sqlite::SqliteStorage};
        let token = common::add_user(dir.path(), "ana", "resident", &[]);
        let storage = SqliteStorage::open(dir.path()).unwrap();
        FsBlobs::open(&dir.path().join("photos")).unwrap().put(BlobKind::Photo, &sha, &broken).unwrap();
        let meta = PhotoMeta { sha256: sha.clone(), bytes: broken.len() as u64, width: photo.width, height: photo.height, phash: None };
        storage::write(&storage, |tx| {
            let ana = tx.user_by_name("ana")?.unwrap();
            tx.add_photo(&meta, "2026-01-01T00:00:00.000Z")?;
            // Held now: a photo held days ago that nothing shows is swept at start.
            tx.add_holder(&sha, ana.id, suishoupai_server::clock::now_ms())?;
            Ok::<_, StorageError>(())
        })
        .unwrap();
        token
    };
    let server = Server::start_in(dir);
    let mut report = report(&[photo]);
    report["photos"][0]["sha256"] = json!(sha);
    report["photos"][0]["bytes"] = json!(broken.len());
    assert_eq!(server.push(&token, &[report])[0]["outcome"], "accepted");
    let thumbnail = format!("/v1/photos/{sha}/thumbnail");
    assert_error(server.get(&token, &thumbnail), 422, "bad_photo", "cannot be decoded");
    let remembered: Option<String> = rusqlite::Connection::open(server.dir.path().join("server.sqlite3"))
        .unwrap()
        .query_row("SELECT thumbnail_error FROM photos WHERE sha256 = ?1", [&sha], |r| r.get(0))
        .unwrap();
    assert!(remembered.is_some_and(|reason| reason.contains("cannot be decoded")));
    assert_error(server.get(&token, &thumbnail), 422, "bad_photo", "cannot be decoded");
    assert_eq!(server.get(&token, "/healthz").status(), 200);
}

#[test]
fn a_batch_asks_about_many_uploads_in_one_request() {
    let server = Server::start();
    let token = server.user("ana", "resident");
    let [done, under_way, new] = [&photos()[0], &photos()[1], &photos()[2]];
    server.upload_photo(&token, done);
    create(&server, &token, &under_way.sha256, under_way.rendition.len());
    assert_eq!(server.patch(&token, &under_way.sha256, 0, &under_way.rendition[..500]).status(), 204);

    let ask = |photos: &[&suishoupai_core::photo::PreparedPhoto]| {
        let uploads: Vec<Value> = photos.iter().map(|p| json!({ "sha256": p.sha256, "length": p.rendition.len() })).collect();
        server.post(&token, "/v1/uploads/batch", &json!({ "uploads": uploads }))
    };
    let answer = ask(&[new, done, under_way]);
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["tus-resumable"], "1.0.0");
    let states: Value = answer.json().unwrap();
    let state = |p: &suishoupai_core::photo::PreparedPhoto, offset: usize, complete: bool| json!({ "sha256": p.sha256, "offset": offset, "length": p.rendition.len(), "complete": complete });
    assert_eq!(states, json!({ "uploads": [state(new, 0, false), state(done, done.rendition.len(), true), state(under_way, 500, false)] }));
    // The new one was started: it takes its bytes at offset 0.
    assert_eq!(server.patch(&token, &new.sha256, 0, &new.rendition).status(), 204);

    // One bad entry refuses the whole request, naming it, and starts nothing.
    let bad = json!({ "uploads": [{ "sha256": "a".repeat(64), "length": 10 }, { "sha256": "NOTHEX", "length": 10 }] });
    assert_error(server.post(&token, "/v1/uploads/batch", &bad), 400, "bad_request", "uploads[1].sha256");
    assert_eq!(head_offset(&server, &token, &"a".repeat(64)), (404, None));
    let huge = json!({ "uploads": [{ "sha256": "a".repeat(64), "length": MAX_PHOTO_BYTES + 1 }] });
    assert_error(server.post(&token, "/v1/uploads/batch", &huge), 413, "too_large", "uploads[0].length");
    let many: Vec<Value> = (0..=MAX_UPLOAD_BATCH).map(|i| json!({ "sha256": format!("{i:064x}"), "length": 1 })).collect();
    assert_error(server.post(&token, "/v1/uploads/batch", &json!({ "uploads": many })), 413, "too_large", "at most");
    // Departments upload after-photos for their actions, but push no reports.
    let department = server.user_with("works", "department", &["--department", "city-works"]);
    assert_eq!(server.post(&department, "/v1/uploads/batch", &json!({ "uploads": [] })).status(), 200);
    assert_error(server.post(&department, "/v1/push", &json!({ "reports": [] })), 403, "forbidden", "push");
}

#[test]
fn checksum_mismatch_and_bad_photos_are_discarded() {
    let server = Server::start();
    let token = server.user("ana", "resident");
    let photo = &photos()[1];

    // Bytes that are not the announced ones: 422, and the upload is gone.
    let wrong_sha = sha256_hex(b"something else entirely");
    create(&server, &token, &wrong_sha, photo.rendition.len());
    let answer = server.send_all(&token, &wrong_sha, &photo.rendition);
    assert_error(answer, 422, "checksum_mismatch", &wrong_sha);
    assert_eq!(head_offset(&server, &token, &wrong_sha), (404, None));
    assert_eq!(std::fs::read_dir(server.dir.path().join("photos/partial")).unwrap().count(), 0);

    // A PNG (not a JPEG) with the right checksum: 422 bad_photo, discarded.
    let png = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/testdata/photos/png_exif_gps_N_E.png")).unwrap();
    let png_sha = sha256_hex(&png);
    create(&server, &token, &png_sha, png.len());
    assert_error(server.patch(&token, &png_sha, 0, &png), 422, "bad_photo", "JPEG");
    assert_eq!(head_offset(&server, &token, &png_sha), (404, None));

    // A camera JPEG cut off in its scan: refused (for its EXIF, before its data is read).
    let cut = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/testdata/bad/truncated_in_scan.jpg")).unwrap();
    let cut_sha = sha256_hex(&cut);
    create(&server, &token, &cut_sha, cut.len());
    assert_eq!(server.send_all(&token, &cut_sha, &cut).status(), 422);
    assert_eq!(head_offset(&server, &token, &cut_sha), (404, None));

    // A rendition cut off inside its scan (no end-of-image marker): 422 bad_photo.
    let half = &photo.rendition[..photo.rendition.len() / 2];
    let half_sha = sha256_hex(half);
    create(&server, &token, &half_sha, half.len());
    assert_error(server.send_all(&token, &half_sha, half), 422, "bad_photo", "truncated");

    // A header bomb: 422 before any decoding.
    let bomb = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/testdata/bad/bomb_60000x60000.jpg")).unwrap();
    let bomb_sha = sha256_hex(&bomb);
    create(&server, &token, &bomb_sha, bomb.len());
    assert_error(server.patch(&token, &bomb_sha, 0, &bomb), 422, "bad_photo", "too large");

    // The server still works: a good photo uploads.
    server.upload_photo(&token, photo);
}

#[test]
fn oversize_uploads_and_chunks_are_413() {
    let server = Server::start();
    let token = server.user("ana", "resident");
    let sha = sha256_hex(b"x");
    assert_error(server.post(&token, "/v1/uploads", &json!({ "sha256": sha, "length": MAX_PHOTO_BYTES + 1 })), 413, "too_large", "length");
    create(&server, &token, &sha, 1_000_000);
    let big = vec![0u8; MAX_CHUNK_BYTES as usize + 1];
    assert_error(server.patch(&token, &sha, 0, &big), 413, "too_large", "chunk");
    // Past the declared length.
    let small = sha256_hex(b"y");
    create(&server, &token, &small, 10);
    assert_error(server.patch(&token, &small, 0, &[0u8; 11]), 413, "too_large", "declared length");
    assert_eq!(head_offset(&server, &token, &small), (200, Some(0)), "nothing changed");
    // Bad headers name themselves.
    let answer = server
        .request(reqwest::Method::PATCH, &token, &format!("/v1/uploads/{small}"))
        .header("Content-Type", "application/offset+octet-stream")
        .body(vec![1u8])
        .send()
        .unwrap();
    assert_error(answer, 400, "bad_request", "Upload-Offset");
    let answer = server
        .request(reqwest::Method::PATCH, &token, &format!("/v1/uploads/{small}"))
        .header("Upload-Offset", "0")
        .body(vec![1u8])
        .send()
        .unwrap();
    assert_error(answer, 415, "unsupported_media_type", "Content-Type");
    assert_error(server.post(&token, "/v1/uploads", &json!({ "sha256": "NOPE", "length": 5 })), 400, "bad_request", "sha256");
    assert_error(server.patch(&token, &sha256_hex(b"never created"), 0, b"abc"), 404, "not_found", "upload");
}

#[test]
fn push_is_idempotent_and_never_overwrites() {
    let server = Server::start();
    let token = server.user("ana", "resident");
    let [a, b, _] = photos() else { unreachable!() };
    let first = report(&[a]);

    // Photo not yet there: missing_photos with its hash.
    let results = server.push(&token, std::slice::from_ref(&first));
    assert_eq!(results, vec![json!({ "id": first["id"], "outcome": "missing_photos", "missing": [a.sha256] })]);

    server.upload_photo(&token, a);
    let results = server.push(&token, std::slice::from_ref(&first));
    assert_eq!(results, vec![json!({ "id": first["id"], "outcome": "accepted", "status": "submitted" })]);

    // The same report again, even with its keys in another order: accepted again.
    let mut reordered = serde_json::Map::new();
    for key in ["created_at", "reporter", "photos", "note", "location", "category", "taken_at", "id"] {
        reordered.insert(key.into(), first[key].clone());
    }
    let results = server.push(&token, &[Value::Object(reordered)]);
    assert_eq!(results[0]["outcome"], "accepted");

    // Same id, other content: conflict, and the stored report is unchanged.
    let mut changed = first.clone();
    changed["note"] = json!("someone else's words");
    let results = server.push(&token, &[changed]);
    assert_eq!(results[0]["outcome"], "conflict");
    assert!(results[0]["error"].as_str().unwrap().contains("different report"));
    let stored: Value = server.get(&token, &format!("/v1/reports/{}", first["id"].as_str().unwrap())).json().unwrap();
    assert_eq!(stored["note"], first["note"]);

    // Another user pushing the same id and content: conflict, not a leak of acceptance.
    let other = server.user("bo", "resident");
    assert_eq!(server.push(&other, std::slice::from_ref(&first))[0]["outcome"], "conflict");

    // Missing photos list only those absent, once each.
    let two = report(&[a, b, b]);
    let results = server.push(&token, std::slice::from_ref(&two));
    assert_eq!(results[0]["outcome"], "missing_photos");
    assert_eq!(results[0]["missing"], json!([b.sha256]));
}

#[test]
fn invalid_reports_say_why_and_do_not_hold_back_the_batch() {
    let server = Server::start();
    let resident = server.user("ana", "resident");
    let worker = server.user_with("wang", "grid_worker", &["--grid", "g-07"]);
    let [a, _, _] = photos() else { unreachable!() };
    server.upload_photo(&resident, a);
    server.upload_photo(&worker, a);

    let with = |edit: &dyn Fn(&mut Value)| {
        let mut r = report(&[a]);
        edit(&mut r);
        r
    };
    let cases: Vec<(Value, &str)> = vec![
        (with(&|r| r["category"] = json!("Garbage")), "category"),
        (with(&|r| r["note"] = json!("字".repeat(2001))), "2001 characters"),
        (with(&|r| r["location"]["latitude"] = json!(95.0)), "latitude"),
        (with(&|r| r["location"]["accuracy_m"] = json!(-1.0)), "accuracy"),
        (with(&|r| r["id"] = json!("not-a-uuid")), "UUID"),
        (with(&|r| r["id"] = json!(r["id"].as_str().unwrap().to_uppercase())), "lower-case"),
        (with(&|r| r["photos"] = json!([])), "at least one photo"),
        (with(&|r| r["photos"] = json!(vec![r["photos"][0].clone(); 10])), "at most 9 photos"),
        (with(&|r| r["photos"][0]["width"] = json!(5)), "photos[0]"),
        (with(&|r| r["photos"][0]["sha256"] = json!("zz")), "photos[0].sha256"),
        (with(&|r| r["created_at"] = json!("yesterday")), "created_at"),
        (with(&|r| r["taken_at"] = json!("2018:07:25 16:34:23")), "taken_at"),
        (with(&|r| r["reporter"] = json!({ "role": "grid_worker", "grid_id": "g-07" })), "resident"),
        (with(&|r| r["reporter"]["grid_id"] = json!("")), "grid_id"),
        (with(&|r| r["surprise"] = json!(1)), "surprise"),
        (with(&|r| r["location"] = json!({ "latitude": "north" })), "location"),
        // Issue 8: what was accepted and should not have been.
        (with(&|r| r["created_at"] = json!("0001-01-01T00:00:00Z")), "before 2000"),
        (with(&|r| r["created_at"] = json!("9999-12-31T23:59:59Z")), "ahead of the server's clock"),
        (with(&|r| r["id"] = json!("f47ac10b-58cc-4372-a567-0e02b2c3d479")), "UUIDv7"),
        (with(&|r| r["location"]["crs"] = json!("gcj02")), "unknown field `crs`"),
        (with(&|r| r["photos"][0]["exif"] = json!({})), "unknown field `exif`"),
        (with(&|r| r["reporter"]["name"] = json!("王")), "unknown field `name`"),
        (with(&|r| r["location"] = json!({ "latitude": 0.0, "longitude": 0.0, "source": "device" })), "0,0"),
        (with(&|r| r["location"]["accuracy_m"] = json!(1e308)), "accuracy"),
    ];
    let mut good = report(&[a]);
    good["taken_at"] = json!("2018-07-25T16:34:23"); // EXIF without an offset
    let mut batch: Vec<Value> = cases.iter().map(|(r, _)| r.clone()).collect();
    batch.push(good.clone());
    let results = server.push(&resident, &batch);
    assert_eq!(results.len(), cases.len() + 1);
    for ((sent, mentions), result) in cases.iter().zip(&results) {
        assert_eq!(result["id"], sent["id"]);
        assert_eq!(result["outcome"], "invalid", "{sent}: {result}");
        let error = result["error"].as_str().unwrap();
        assert!(error.contains(mentions), "{error:?} should mention {mentions:?}");
    }
    assert_eq!(results.last().unwrap()["outcome"], "accepted");

    // A resident's claimed grid gives the report no grid (workers of g-07 do not see it).
    let mut claiming = report(&[a]);
    claiming["reporter"]["grid_id"] = json!("g-07");
    assert_eq!(server.push(&resident, std::slice::from_ref(&claiming))[0]["outcome"], "accepted");
    let path = format!("/v1/reports/{}", claiming["id"].as_str().unwrap());
    assert_eq!(server.get(&resident, &path).json::<Value>().unwrap()["grid_id"], Value::Null);
    assert_eq!(server.get(&worker, &path).status(), 404);

    // A grid worker's reports get their grid, whatever the device claims.
    let mut patrol = report(&[a]);
    patrol["reporter"] = json!({ "role": "grid_worker", "grid_id": null });
    let mut elsewhere = report(&[a]);
    elsewhere["reporter"] = json!({ "role": "grid_worker", "grid_id": "g-99" });
    let results = server.push(&worker, &[patrol.clone(), elsewhere.clone()]);
    for (sent, result) in [&patrol, &elsewhere].iter().zip(&results) {
        assert_eq!(result["outcome"], "accepted");
        let stored: Value = server.get(&worker, &format!("/v1/reports/{}", sent["id"].as_str().unwrap())).json().unwrap();
        assert_eq!(stored["grid_id"], "g-07");
        assert_eq!(stored["owner"], "wang");
        assert_eq!(stored["reporter"], sent["reporter"], "the report as sent is kept");
    }

    // Batch-level problems fail the whole request.
    let too_many: Vec<Value> = (0..=MAX_PUSH_REPORTS).map(|_| report(&[a])).collect();
    assert_error(server.post(&resident, "/v1/push", &json!({ "reports": too_many })), 413, "too_large", "at most 100");
    assert_error(server.post(&resident, "/v1/push", &json!({ "reports": [{ "note": "no id" }] })), 400, "bad_request", "reports[0].id");
    assert_error(server.post(&resident, "/v1/push", &json!({ "report": [] })), 400, "bad_request", "reports");
}

#[test]
fn changes_feed_pages_with_cursors_and_reaches_a_second_device() {
    let server = Server::start();
    let ana = server.user("ana", "resident");
    let bo = server.user("bo", "resident");
    let coordinator = server.user("coco", "coordinator");
    let [a, _, _] = photos() else { unreachable!() };
    server.upload_photo(&ana, a);
    server.upload_photo(&bo, a);

    // Nothing yet: no cursor at all.
    let page: Value = server.get(&ana, "/v1/changes").json().unwrap();
    assert_eq!(page, json!({ "changes": [], "next_cursor": null, "has_more": false }));

    let reports: Vec<Value> = (0..5).map(|_| report(&[a])).collect();
    assert!(server.push(&ana, &reports).iter().all(|r| r["outcome"] == "accepted"));
    server.push(&bo, &[report(&[a])]);
    let first_id = reports[0]["id"].as_str().unwrap();
    let answer = server.act(&coordinator, first_id, &json!({ "action": "accept", "note": "内部", "public_note": "看到了" }));
    assert_eq!(answer.status(), 200);

    // A second device of ana pulls everything, two at a time, oldest first.
    let mut cursor: Option<String> = None;
    let mut seen = Vec::new();
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/changes?limit=2&cursor={c}"),
            None => "/v1/changes?limit=2".to_owned(),
        };
        let page: Value = server.get(&ana, &path).json().unwrap();
        let changes = page["changes"].as_array().unwrap();
        assert!(changes.len() <= 2);
        seen.extend(changes.iter().map(|c| (c["report_id"].as_str().unwrap().to_owned(), c["status"].as_str().unwrap().to_owned())));
        cursor = page["next_cursor"].as_str().map(str::to_owned);
        if !page["has_more"].as_bool().unwrap() {
            break;
        }
    }
    let mut expected: Vec<(String, String)> =
        reports.iter().map(|r| (r["id"].as_str().unwrap().to_owned(), "submitted".to_owned())).collect();
    expected.push((first_id.to_owned(), "accepted".to_owned()));
    assert_eq!(seen, expected, "ana sees her own reports' events only, in order");

    // Pulling again from the last cursor: nothing new, cursor kept.
    let page: Value = server.get(&ana, &format!("/v1/changes?cursor={}", cursor.clone().unwrap())).json().unwrap();
    assert_eq!(page["changes"], json!([]));
    assert_eq!(page["next_cursor"].as_str(), cursor.as_deref());
    // A new change shows up after that cursor, with its note.
    assert!(server.cli(&["department", "add", "--code", "城管", "--name", "城市管理局"]).status.success());
    let due = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let answer = server.act(&coordinator, first_id, &json!({ "action": "dispatch", "department": "城管", "due_at": due }));
    assert_eq!(answer.status(), 200);
    let page: Value = server.get(&ana, &format!("/v1/changes?cursor={}", cursor.unwrap())).json().unwrap();
    assert_eq!(page["changes"].as_array().unwrap().len(), 1);
    assert_eq!(page["changes"][0]["status"], "dispatched");

    // The coordinator sees all 8 events; bo only his one.
    let all: Value = server.get(&coordinator, "/v1/changes?limit=1000").json().unwrap();
    assert_eq!(all["changes"].as_array().unwrap().len(), 8);
    let bos: Value = server.get(&bo, "/v1/changes").json().unwrap();
    assert_eq!(bos["changes"].as_array().unwrap().len(), 1);

    assert_error(server.get(&ana, "/v1/changes?cursor=banana"), 400, "bad_request", "cursor");
    assert_error(server.get(&ana, "/v1/changes?limit=0"), 400, "bad_request", "limit");
    assert_error(server.get(&ana, "/v1/changes?since=1"), 400, "bad_request", "since");
}

#[test]
fn the_largest_legal_push_fits_even_with_escaped_text() {
    let server = Server::start();
    let token = server.user("ana", "resident");
    let [a, _, _] = photos() else { unreachable!() };
    server.upload_photo(&token, a);
    let reports: Vec<Value> = (0..MAX_PUSH_REPORTS)
        .map(|_| {
            let mut r = report(&[a; 9]);
            r["note"] = json!("字".repeat(2000));
            r
        })
        .collect();
    // Some JSON encoders write every non-ASCII character as \uXXXX.
    let body = serde_json::to_string(&json!({ "reports": reports })).unwrap().replace('字', "\\u5b57");
    let answer =
        server.http.post(server.url("/v1/push")).bearer_auth(&token).header("Content-Type", "application/json").body(body).send().unwrap();
    assert_eq!(answer.status(), 200);
    let results: Value = answer.json().unwrap();
    assert!(results["results"].as_array().unwrap().iter().all(|r| r["outcome"] == "accepted"));
}

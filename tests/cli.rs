//! The terminal client `suishoupai`, run as a real process on real files:
//! JSON shapes, hostile input, locations, export.

use std::path::Path;

use serde_json::Value;
use suishoupai_tests::{bad, bad_dir, cli, files_under, photo};

fn data_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn new_report(data: &Path, extra: &[&str]) -> suishoupai_tests::Run {
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"--data", &data, &"report", &"new"];
    for a in extra {
        args.push(a);
    }
    args.push(&"--json");
    cli(&args)
}

/// Nothing at all was stored: no report row, no photo or thumbnail file.
fn assert_store_empty(data: &Path) {
    let listed = cli(&[&"--data", &data, &"report", &"list", &"--json"]).json();
    assert_eq!(listed, Value::Array(vec![]), "a report was stored");
    for sub in ["photos", "thumbnails", "tmp"] {
        let files = files_under(&data.join(sub));
        assert!(files.is_empty(), "{sub}/ holds {files:?}");
    }
}

/// What testdata/bad/README.md says each hostile file must do.
enum Expect {
    Reject(&'static str),
    AcceptWithoutGeotag,
}

const BAD_FILES: &[(&str, Expect)] = &[
    ("empty.jpg", Expect::Reject("unsupported photo format")),
    ("truncated_after_soi.jpg", Expect::Reject("corrupt photo")),
    ("truncated_in_exif.jpg", Expect::Reject("corrupt photo")),
    ("truncated_in_scan.jpg", Expect::Reject("image data truncated")),
    ("random_bytes.jpg", Expect::Reject("unsupported photo format")),
    ("text_named.png", Expect::Reject("unsupported photo format")),
    ("bomb_60000x60000.jpg", Expect::Reject("too large")),
    ("png_ihdr_100000x100000.png", Expect::Reject("too large")),
    ("sof_zero_dimensions.jpg", Expect::Reject("corrupt photo")),
    ("exif_ifd_loop_next.jpg", Expect::AcceptWithoutGeotag),
    ("exif_ifd_loop_subifd.jpg", Expect::AcceptWithoutGeotag),
    ("exif_gps_zero_denominator.jpg", Expect::AcceptWithoutGeotag),
    ("exif_gps_lat_95.jpg", Expect::AcceptWithoutGeotag),
    ("exif_gps_lon_200_bad_refs.jpg", Expect::AcceptWithoutGeotag),
    ("exif_offset_out_of_bounds.jpg", Expect::AcceptWithoutGeotag),
    ("exif_orientation_0.jpg", Expect::AcceptWithoutGeotag),
    ("exif_orientation_9.jpg", Expect::AcceptWithoutGeotag),
    ("png_itxt_zbomb_256MiB.png", Expect::AcceptWithoutGeotag),
    ("png_itxt_512KiB.png", Expect::AcceptWithoutGeotag),
    // Accepting is allowed by the README: the decoder stops at the bad chunk after IDAT.
    ("png_itxt_length_lie.png", Expect::AcceptWithoutGeotag),
];

#[test]
fn every_hostile_file_behaves_as_its_readme_says() {
    let mut listed: Vec<String> = std::fs::read_dir(bad_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".jpg") || n.ends_with(".png"))
        .collect();
    listed.sort();
    let mut covered: Vec<String> = BAD_FILES.iter().map(|(n, _)| n.to_string()).collect();
    covered.sort();
    assert_eq!(listed, covered, "every hostile file has a stated expectation");

    for (name, expect) in BAD_FILES {
        let data = data_dir();
        let path = bad(name);
        let run = new_report(data.path(), &["--category", "garbage", "--photo", path.to_str().unwrap()]);
        // No huge allocation, whatever the file claims.
        assert!(run.max_rss_kib < 100 * 1024, "{name}: peak RSS {} KiB", run.max_rss_kib);
        match expect {
            Expect::Reject(message) => {
                assert_ne!(run.code, 0, "{name} was accepted");
                assert!(run.stdout.is_empty(), "{name}: stdout on error: {}", run.stdout);
                assert!(run.stderr.contains(message), "{name}: stderr {:?} lacks {message:?}", run.stderr);
                assert_store_empty(data.path());
            }
            Expect::AcceptWithoutGeotag => {
                let report = run.json();
                assert_eq!(report["location"], Value::Null, "{name}: location must be null, not 0,0 or clamped");
                let photo = &report["photos"][0];
                if name.starts_with("exif_orientation") {
                    assert_eq!(
                        (photo["width"].as_u64(), photo["height"].as_u64()),
                        (Some(64), Some(48)),
                        "{name}: treated as orientation 1"
                    );
                }
                let inspected = cli(&[&"photo", &"inspect", &path, &"--json"]).json();
                assert_eq!(inspected["latitude"], Value::Null, "{name}");
                assert_eq!(inspected["longitude"], Value::Null, "{name}");
            }
        }
    }
}

#[test]
fn hostile_exif_keeps_what_can_be_trusted() {
    let loop_next = cli(&[&"photo", &"inspect", &bad("exif_ifd_loop_next.jpg"), &"--json"]).json();
    assert_eq!(loop_next["taken_at"], "2024-05-01T10:20:30");
    assert_eq!(loop_next["orientation"], 1);
    let zero_den = cli(&[&"photo", &"inspect", &bad("exif_gps_zero_denominator.jpg"), &"--json"]).json();
    assert_eq!(zero_den["taken_at"], "2024-05-01T10:20:30");
    for name in ["exif_orientation_0.jpg", "exif_orientation_9.jpg"] {
        let inspected = cli(&[&"photo", &"inspect", &bad(name), &"--json"]).json();
        assert_eq!(inspected["orientation"], Value::Null, "{name}: an invalid orientation is no orientation");
        assert_eq!((inspected["width"].as_u64(), inspected["height"].as_u64()), (Some(64), Some(48)));
    }
}

#[test]
fn inspect_prints_the_documented_fields() {
    let v = cli(&[&"photo", &"inspect", &photo("apple_iphone11promax_N_W.heic"), &"--json"]).json();
    for key in ["width", "height", "orientation", "latitude", "longitude", "altitude", "taken_at", "make", "model"] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["taken_at"], "2021-04-11T15:47:53-05:00");
    assert!((v["latitude"].as_f64().unwrap() - 39.0513444444444).abs() < 1e-7);
    assert!((v["longitude"].as_f64().unwrap() + 94.2887722222222).abs() < 1e-7);
    let dji = cli(&[&"photo", &"inspect", &photo("dji_flir_N_W_below_sea_level.jpg"), &"--json"]).json();
    assert_eq!(dji["altitude"], -8.5);
    let portrait = cli(&[&"photo", &"inspect", &photo("orientation_portrait_6.jpg"), &"--json"]).json();
    assert_eq!(
        (portrait["width"].as_u64(), portrait["height"].as_u64(), portrait["orientation"].as_u64()),
        (Some(1200), Some(1800), Some(6))
    );
}

#[test]
fn heic_is_refused_with_advice_and_nothing_stored() {
    let data = data_dir();
    let run = new_report(data.path(), &["--category", "garbage", "--photo", photo("apple_iphone11promax_N_W.heic").to_str().unwrap()]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("HEIC") && run.stderr.contains("JPEG"), "{}", run.stderr);
    assert_store_empty(data.path());
}

#[test]
fn a_bad_second_photo_fails_the_whole_report() {
    let data = data_dir();
    let good = photo("google_pixel_N_E.jpg");
    let run = new_report(
        data.path(),
        &["--category", "garbage", "--photo", good.to_str().unwrap(), "--photo", bad("truncated_in_scan.jpg").to_str().unwrap()],
    );
    assert_ne!(run.code, 0);
    assert_store_empty(data.path());
}

#[test]
fn invalid_fields_are_refused_and_nothing_stored() {
    let data = data_dir();
    let good = photo("google_pixel_N_E.jpg");
    let good = good.to_str().unwrap();
    for (args, message) in [
        (vec!["--category", "graffiti", "--photo", good], "unknown category"),
        (vec!["--category", "garbage", "--photo", good, "--lat=95", "--lon=10"], "latitude 95"),
        (vec!["--category", "garbage", "--photo", good, "--lat=10", "--lon=-181"], "longitude -181"),
        (vec!["--category", "garbage", "--photo", good, "--lat=1", "--lon=1", "--accuracy=-5"], "accuracy"),
        (vec!["--category", "garbage", "--photo", good, "--lat=1", "--lon=1", "--accuracy=1e308"], "accuracy"),
        (vec!["--category", "garbage", "--photo", good, "--lat=0", "--lon=0"], "0,0"),
        (vec!["--category", "garbage", "--photo", good, "--grid", &"网".repeat(65)], "grid id"),
        (vec!["--category", "garbage", "--photo", "/nonexistent/photo.jpg"], "/nonexistent/photo.jpg"),
    ] {
        let run = new_report(data.path(), &args);
        assert_ne!(run.code, 0, "{args:?}");
        assert!(run.stderr.contains(message), "{args:?}: {}", run.stderr);
    }
    assert_store_empty(data.path());
}

#[test]
fn location_sources_and_precedence() {
    let data = data_dir();
    let pixel = photo("google_pixel_N_E.jpg");
    let no_exif = photo("no_exif.jpg");
    let (pixel, no_exif) = (pixel.to_str().unwrap(), no_exif.to_str().unwrap());

    // EXIF of the first photo that has a geotag.
    let r = new_report(data.path(), &["--category", "garbage", "--photo", no_exif, "--photo", pixel]).json();
    assert_eq!(r["location"]["source"], "exif");
    assert!((r["location"]["latitude"].as_f64().unwrap() - 50.2996027777778).abs() < 1e-7);
    assert_eq!(r["photos"].as_array().unwrap().len(), 2);
    assert_eq!(r["taken_at"], "2018-07-25T16:34:23");

    // The device's fix wins over EXIF.
    let r = new_report(
        data.path(),
        &["--category", "illegal_parking", "--photo", pixel, "--lat=-33.8688", "--lon=151.2093", "--accuracy", "8"],
    )
    .json();
    assert_eq!(r["location"]["source"], "device");
    assert_eq!((r["location"]["latitude"].as_f64(), r["location"]["longitude"].as_f64()), (Some(-33.8688), Some(151.2093)));
    assert_eq!(r["location"]["accuracy_m"], 8.0);

    // A pin placed on an AMap (GCJ-02) view is stored as WGS-84.
    let r = new_report(
        data.path(),
        &["--category", "garbage", "--photo", no_exif, "--lat=39.91640428150164", "--lon=116.41024449916938", "--crs", "gcj02", "--pin"],
    )
    .json();
    assert_eq!(r["location"]["source"], "manual");
    assert!((r["location"]["latitude"].as_f64().unwrap() - 39.915).abs() < 5e-6);
    assert!((r["location"]["longitude"].as_f64().unwrap() - 116.404).abs() < 5e-6);

    // Neither: no location at all, never 0,0.
    let r = new_report(data.path(), &["--category", "garbage", "--photo", no_exif]).json();
    assert_eq!(r["location"], Value::Null);
}

#[test]
fn reports_round_trip_through_list_show_and_export() {
    let data = data_dir();
    let d = data.path();
    let created = new_report(
        d,
        &[
            "--category",
            "flying_wire_charging",
            "--note",
            "3号楼2单元 窗口飞线",
            "--reporter",
            "grid-worker",
            "--grid",
            "G-07",
            "--photo",
            photo("orientation_portrait_6.jpg").to_str().unwrap(),
        ],
    )
    .json();
    let id = created["id"].as_str().unwrap();
    assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 7);
    assert_eq!(created["sync_state"], "pending");
    assert_eq!(created["status"], "submitted");
    assert_eq!(created["note"], "3号楼2单元 窗口飞线");
    assert_eq!(created["reporter"]["role"], "grid_worker");
    assert_eq!(created["reporter"]["grid_id"], "G-07");
    let p = &created["photos"][0];
    assert_eq!((p["width"].as_u64(), p["height"].as_u64()), (Some(1067), Some(1600)), "portrait after orientation 6");

    let shown = cli(&[&"--data", &d, &"report", &"show", &id, &"--json"]).json();
    assert_eq!(shown, created);
    let listed = cli(&[&"--data", &d, &"report", &"list", &"--json"]).json();
    assert_eq!(listed, Value::Array(vec![created.clone()]));

    let sha = p["sha256"].as_str().unwrap();
    let out = d.join("exported.jpg");
    assert_eq!(cli(&[&"--data", &d, &"photo", &"export", &sha, &"--out", &out]).code, 0);
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(suishoupai_core::photo::sha256_hex(&bytes), sha);
    assert_eq!(bytes.len() as u64, p["bytes"].as_u64().unwrap());
    let thumb = d.join("thumb.jpg");
    assert_eq!(cli(&[&"--data", &d, &"photo", &"export", &sha, &"--out", &thumb, &"--thumbnail"]).code, 0);
    let thumb = image::open(&thumb).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (213, 320));

    for (args, message) in [
        (vec!["report", "show", "01936a4e-8f3b-7c2a-9d4e-5f6a7b8c9d0e"], "not found"),
        (vec!["report", "show", "not-an-id"], "not a report id"),
        (vec!["photo", "export", &"0".repeat(64), "--out", "/tmp/never.jpg"], "not found"),
        (vec!["photo", "export", "../../etc/passwd", "--out", "/tmp/never.jpg"], "not a sha256"),
    ] {
        let mut full: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"--data", &d];
        for a in &args {
            full.push(a);
        }
        let run = cli(&full);
        assert_ne!(run.code, 0, "{args:?}");
        assert!(run.stderr.contains(message), "{args:?}: {}", run.stderr);
    }
}

#[test]
fn report_and_task_lists_page_with_limit_and_cursor() {
    let data = data_dir();
    let d = data.path();
    let tiny = photo("kodak_cx7530_S_E_tiny.jpg");
    for i in 0..3 {
        new_report(d, &["--category", "garbage", "--note", &format!("r{i}"), "--photo", tiny.to_str().unwrap()]);
    }
    let whole = cli(&[&"--data", &d, &"report", &"list", &"--json"]).json();
    let whole = whole.as_array().expect("without paging flags the list stays a JSON array");
    assert_eq!(whole.len(), 3);

    let first = cli(&[&"--data", &d, &"report", &"list", &"--limit", &"2", &"--json"]).json();
    assert_eq!(first["reports"], Value::Array(whole[..2].to_vec()));
    let cursor = first["next_cursor"].as_str().expect("a cursor while more follow");
    let second = cli(&[&"--data", &d, &"report", &"list", &"--limit", &"2", &"--cursor", &cursor, &"--json"]).json();
    assert_eq!(second["reports"], Value::Array(whole[2..].to_vec()));
    assert_eq!(second["next_cursor"], Value::Null);
    // The text form says how to go on.
    let text = cli(&[&"--data", &d, &"report", &"list", &"--limit", &"1"]);
    assert_eq!(text.code, 0);
    assert!(text.stdout.contains("more: --cursor "), "{}", text.stdout);

    // Before any sync the task list is empty, paged or not.
    let tasks = cli(&[&"--data", &d, &"task", &"list", &"--limit", &"10", &"--json"]).json();
    assert_eq!(tasks, serde_json::json!({"tasks": [], "next_cursor": null}));

    for (args, message) in [
        (vec!["report", "list", "--limit", "0"], "1 to 1000"),
        (vec!["report", "list", "--limit", "1001"], "1 to 1000"),
        (vec!["report", "list", "--cursor", "deadbeef"], "not a cursor"),
        (vec!["task", "list", "--cursor", cursor], "not a cursor"),
    ] {
        let mut full: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"--data", &d];
        for a in &args {
            full.push(a);
        }
        let run = cli(&full);
        assert_ne!(run.code, 0, "{args:?}");
        assert!(run.stderr.contains(message), "{args:?}: {}", run.stderr);
    }
}

#[test]
fn geo_convert_agrees_with_the_public_formulas() {
    // Reference values published with wandergis/coordtransform.
    let gcj = cli(&[&"geo", &"convert", &"--from", &"wgs84", &"--to", &"gcj02", &"--lat=39.915", &"--lon=116.404", &"--json"]).json();
    assert!((gcj["latitude"].as_f64().unwrap() - 39.91640428150164).abs() < 1e-9);
    assert!((gcj["longitude"].as_f64().unwrap() - 116.41024449916938).abs() < 1e-9);
    let bd = cli(&[&"geo", &"convert", &"--from", &"gcj02", &"--to", &"bd09", &"--lat=39.915", &"--lon=116.404", &"--json"]).json();
    assert!((bd["latitude"].as_f64().unwrap() - 39.92133699351022).abs() < 1e-9);
    assert!((bd["longitude"].as_f64().unwrap() - 116.41036949371029).abs() < 1e-9);
    let back = cli(&[
        &"geo",
        &"convert",
        &"--from",
        &"bd09",
        &"--to",
        &"wgs84",
        &"--lat=39.92133699351022",
        &"--lon=116.41036949371029",
        &"--json",
    ])
    .json();
    let wgs = cli(&[&"geo", &"convert", &"--from", &"gcj02", &"--to", &"wgs84", &"--lat=39.915", &"--lon=116.404", &"--json"]).json();
    assert!((back["latitude"].as_f64().unwrap() - wgs["latitude"].as_f64().unwrap()).abs() < 1e-8);
    let bad = cli(&[&"geo", &"convert", &"--from", &"wgs84", &"--to", &"gcj02", &"--lat=91", &"--lon=0", &"--json"]);
    assert_ne!(bad.code, 0);
}

#[test]
fn categories_in_both_locales() {
    let zh = cli(&[&"categories", &"--json"]).json();
    let en = cli(&[&"categories", &"--locale", &"en", &"--json"]).json();
    let codes: Vec<&str> = zh.as_array().unwrap().iter().map(|c| c["code"].as_str().unwrap()).collect();
    for code in [
        "illegal_construction",
        "steel_shed",
        "dry_toilet",
        "hoarding",
        "vegetable_plot",
        "garbage",
        "illegal_parking",
        "shopfront_clutter",
        "flying_wire_charging",
        "illegal_ads",
        "overhead_cables",
        "other",
    ] {
        assert!(codes.contains(&code), "{code}");
    }
    assert_eq!(zh[8]["name"], "飞线充电");
    assert_eq!(en[8]["code"], "flying_wire_charging");
    assert_ne!(en[8]["name"], zh[8]["name"]);
    assert_ne!(cli(&[&"categories", &"--locale", &"fr", &"--json"]).code, 0);
}

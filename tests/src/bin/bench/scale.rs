//! `bench -- scale`: the server over PostgreSQL and an S3 bucket (a
//! throwaway cluster and moto's S3 server, both on this machine), one
//! instance and two, beside anchors measured in the same run: a bare
//! `tokio-postgres` loop writing the same rows into the same schema, and
//! curl PUTting the same photo bytes to the same S3 server.

use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use suishoupai_core::PreparedPhoto;
use suishoupai_core::protocol::MAX_PUSH_REPORTS;
use suishoupai_server::storage::postgres::{PostgresOptions, PostgresStorage};
use suishoupai_tests::testkit::{self, postgres, s3};
use suishoupai_tests::{Api, Server, photos_dir, server_path};

use crate::Result;
use crate::report::{Figure, median, print_table, section};

/// Reports a push run writes.
const REPORTS: usize = 500;
/// Runs a side; the median is the figure.
const RUNS: usize = 3;
/// Devices pushing at once to one instance.
const PG_DEVICES: usize = 4;
/// Push over PostgreSQL against the bare tokio-postgres loop (issue 14).
const PG_PUSH_TARGET: f64 = 0.7;

pub(crate) fn scale() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nbench scale failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The test photos that prepare, distinct.
pub(crate) fn renditions() -> Result<Vec<PreparedPhoto>> {
    let mut out: Vec<PreparedPhoto> = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(photos_dir())?.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        if let Ok(prepared) = suishoupai_core::photo::prepare(&std::fs::read(&path)?)
            && !out.iter().any(|p| p.sha256 == prepared.sha256)
        {
            out.push(prepared);
        }
    }
    Ok(out)
}

fn user(database: &str, name: &str) -> Result<String> {
    user_as(database, name, "resident")
}

fn user_as(database: &str, name: &str, role: &str) -> Result<String> {
    let dir = tempfile::tempdir()?;
    let out = testkit::cli(dir.path(), &["--database", database, "user", "add", "--name", name, "--role", role, "--json"]);
    if !out.status.success() {
        return Err(format!("user add: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(serde_json::from_slice::<Value>(&out.stdout)?["token"].as_str().ok_or("a token")?.to_owned())
}

/// `REPORTS` new reports over `photos`, in push batches.
fn batches(photos: &[PreparedPhoto]) -> Vec<Vec<Value>> {
    let reports: Vec<Value> = (0..REPORTS)
        .map(|i| {
            let p = &photos[i % photos.len()];
            let mut r = testkit::report(&[p]);
            r["note"] = json!(format!("规模测试 {i}"));
            r
        })
        .collect();
    reports.chunks(MAX_PUSH_REPORTS).map(<[Value]>::to_vec).collect()
}

fn push_all(servers: &[&Server], token: &str, batches: &[Vec<Value>]) -> Result<Duration> {
    let started = Instant::now();
    std::thread::scope(|scope| -> Result<()> {
        let workers: Vec<_> = servers
            .iter()
            .enumerate()
            .map(|(n, server)| {
                let mine: Vec<&Vec<Value>> = batches.iter().skip(n).step_by(servers.len()).collect();
                scope.spawn(move || -> std::result::Result<(), String> {
                    for batch in mine {
                        let results = server.push(token, batch);
                        if results.iter().any(|r| r["outcome"] != "accepted") {
                            return Err(format!("a push was not accepted: {results:?}"));
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        for w in workers {
            w.join().map_err(|_| "a push thread panicked")??;
        }
        Ok(())
    })?;
    Ok(started.elapsed())
}

/// The anchor: the rows a push writes (the report, its photo link, its
/// `submitted` event), one transaction per batch, prepared statements,
/// into a database migrated to the server's own schema.
fn bare_loop(url: &str, photos: &[PreparedPhoto], batches: &[Vec<Value>]) -> Result<Duration> {
    drop(PostgresStorage::connect(url, &PostgresOptions::default())?);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let (mut client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        client
            .batch_execute("INSERT INTO users (id, name, role, created_at) VALUES (1, 'bench', 'resident', '2026-01-01T00:00:00.000Z')")
            .await?;
        for p in photos {
            client
                .execute(
                    "INSERT INTO photos (sha256, bytes, width, height, received_at) VALUES ($1, $2, $3, $4, '2026-01-01T00:00:00.000Z')
                     ON CONFLICT DO NOTHING",
                    &[&p.sha256, &(p.rendition.len() as i64), &(p.width as i64), &(p.height as i64)],
                )
                .await?;
        }
        let started = Instant::now();
        for batch in batches {
            let tx = client.transaction().await?;
            let report = tx
                .prepare(
                    "INSERT INTO reports (id, owner_id, content_sha256, body, category, created_at, created_ms, status, received_at,
                                          received_ms, latitude, longitude, changed_ms)
                     VALUES ($1, 1, $2, $3, $4, $5, $6, 'submitted', $5, $6, $7, $8, $6)",
                )
                .await?;
            let photo = tx.prepare("INSERT INTO report_photos (report_id, position, sha256) VALUES ($1, 0, $2)").await?;
            let event = tx
                .prepare("INSERT INTO events (report_id, status, actor_id, at, actor_role) VALUES ($1, 'submitted', 1, $2, 'resident')")
                .await?;
            for r in batch {
                let body = r.to_string();
                let (id, created_at) = (r["id"].as_str().unwrap_or_default(), r["created_at"].as_str().unwrap_or_default());
                let sha = suishoupai_core::photo::sha256_hex(body.as_bytes());
                let (lat, lon) = (r["location"]["latitude"].as_f64(), r["location"]["longitude"].as_f64());
                let category = r["category"].as_str().unwrap_or_default();
                tx.execute(&report, &[&id, &sha, &body, &category, &created_at, &1_777_600_000_000i64, &lat, &lon]).await?;
                tx.execute(&photo, &[&id, &r["photos"][0]["sha256"].as_str().unwrap_or_default()]).await?;
                tx.execute(&event, &[&id, &created_at]).await?;
            }
            tx.commit().await?;
        }
        Ok::<_, Box<dyn std::error::Error>>(started.elapsed())
    })
}

/// The photo anchor: one curl process PUTting every rendition to the bucket.
fn curl_put(dir: &Path, bucket: &suishoupai_server::blobs::s3::S3Location, photos: &[PreparedPhoto], run: usize) -> Result<Duration> {
    let mut files = Vec::new();
    for p in photos {
        let file = dir.join(format!("{}.jpg", p.sha256));
        if !file.exists() {
            std::fs::write(&file, &p.rendition)?;
        }
        files.push(file);
    }
    curl_put_files(bucket, &files, run)
}

/// One curl process PUTting `files` to the bucket, each under its name.
fn curl_put_files(bucket: &suishoupai_server::blobs::s3::S3Location, files: &[std::path::PathBuf], run: usize) -> Result<Duration> {
    let endpoint = bucket.endpoint.as_deref().ok_or("an endpoint")?;
    let mut curl = Command::new("curl");
    curl.args(["-sS", "--fail", "-o", "/dev/null"]);
    for file in files {
        let name = file.file_name().and_then(|n| n.to_str()).ok_or("a file name")?;
        curl.arg("-T").arg(file).arg(format!("{endpoint}/{}/anchor-{run}/{name}", bucket.bucket));
    }
    let started = Instant::now();
    let status = curl.stdout(Stdio::null()).status()?;
    let took = started.elapsed();
    if !status.success() {
        return Err("curl PUT to the S3 server failed".into());
    }
    Ok(took)
}

fn run() -> Result<()> {
    if cfg!(debug_assertions) {
        eprintln!("WARNING: bench built without --release: the figures below mean nothing.");
    }
    server_path();
    section("Scale: PostgreSQL and S3 (a throwaway cluster and moto's S3 server on this machine)");
    let photos = renditions()?;
    let megabytes = photos.iter().map(|p| p.rendition.len()).sum::<usize>() as f64 / 1e6;
    let tmp = tempfile::tempdir()?;
    let mut figures = Vec::new();

    // Photos: a fresh user and bucket a run, so every photo is new to the server.
    let (mut uploads, mut curls) = (Vec::new(), Vec::new());
    for run in 0..RUNS {
        let (database, bucket) = (postgres::fresh_database(), s3::bucket());
        let token = user(&database, "ana")?;
        let server = Server::start_scaled_out(&database, &bucket);
        let started = Instant::now();
        for p in &photos {
            server.upload_photo(&token, p);
        }
        uploads.push(started.elapsed());
        curls.push(curl_put(tmp.path(), &bucket, &photos, run)?);
    }
    let (upload, curl) = (median(&uploads), median(&curls));
    println!(
        "{} photos ({megabytes:.1} MB) uploaded through one instance: {:.0} ms; curl PUT of the same bytes to the bucket: {:.0} ms",
        photos.len(),
        upload.as_secs_f64() * 1e3,
        curl.as_secs_f64() * 1e3
    );
    figures.push(Figure {
        name: format!("{} photos uploaded (resumable, checked, stored in S3)", photos.len()),
        project: format!("{:.0} ms", upload.as_secs_f64() * 1e3),
        anchor: format!("curl PUT to the bucket: {:.0} ms ({:.1}×)", curl.as_secs_f64() * 1e3, upload.as_secs_f64() / curl.as_secs_f64()),
        target: "—".into(),
        met: None,
    });

    bench_pg_push(&photos, &mut figures)?;
    bench_device_sync(tmp.path(), &mut figures)?;
    println!("\n## Results\n");
    print_table(&figures);
    Ok(())
}

/// Push rate over PostgreSQL: the same 500 reports through one instance,
/// from four devices at once to that instance, and split over two
/// instances; beside a bare tokio-postgres loop writing the same rows.
pub(crate) fn bench_pg_push(photos: &[PreparedPhoto], figures: &mut Vec<Figure>) -> Result<()> {
    let rate = |d: Duration| REPORTS as f64 / d.as_secs_f64();
    let (mut one, mut four, mut two, mut bare) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let (database, bucket) = (postgres::fresh_database(), s3::bucket());
        let token = user(&database, "ana")?;
        let quota = ["--daily-reports", "1000000"];
        let (a, b) = (Server::start_scaled_out_with(&database, &bucket, &quota), Server::start_scaled_out_with(&database, &bucket, &quota));
        for p in photos {
            a.upload_photo(&token, p);
        }
        push_all(&[&a], &token, &batches(photos)[..1])?; // warm-up
        one.push(push_all(&[&a], &token, &batches(photos))?);
        // One batch of 100 each: 400 reports.
        four.push(
            push_all(&[&a; PG_DEVICES], &token, &batches(photos)[..PG_DEVICES])? * (REPORTS as u32)
                / (PG_DEVICES * MAX_PUSH_REPORTS) as u32,
        );
        two.push(push_all(&[&a, &b], &token, &batches(photos))?);
        bare.push(bare_loop(&postgres::fresh_database(), photos, &batches(photos))?);
    }
    let (one, four, two, bare) = (median(&one), median(&four), median(&two), median(&bare));
    println!(
        "push of {REPORTS} reports: one instance {:.0}/s, {PG_DEVICES} devices at once {:.0}/s, two instances {:.0}/s; \
         bare tokio-postgres loop, same rows: {:.0}/s",
        rate(one),
        rate(four),
        rate(two),
        rate(bare)
    );
    let four_name = format!("one instance, {PG_DEVICES} devices at once, a batch of {MAX_PUSH_REPORTS} each");
    for (name, took, target) in [
        ("one instance, one device", one, Some(PG_PUSH_TARGET)),
        (four_name.as_str(), four, Some(PG_PUSH_TARGET)),
        ("two instances at once", two, None),
    ] {
        let fraction = rate(took) / rate(bare);
        figures.push(Figure {
            name: format!("push of {REPORTS} reports on PostgreSQL, {name}"),
            project: format!("{:.0} reports/s", rate(took)),
            anchor: format!("bare tokio-postgres loop, same schema and rows, 100 per tx: {:.0}/s", rate(bare)),
            target: match target {
                Some(t) => format!("≥ {t}× anchor (is {fraction:.2}×)"),
                None => format!("info (is {fraction:.2}×)"),
            },
            met: target.map(|t| fraction >= t),
        });
    }
    Ok(())
}

/// Two devices of 250 reports each (one distinct photo a report) syncing
/// at once, both to one instance, then each to its own instance; beside
/// curl PUTting the same 500 renditions to the bucket.
fn bench_device_sync(tmp: &Path, figures: &mut Vec<Figure>) -> Result<()> {
    let cli = crate::suishoupai_binary()?;
    let draft = suishoupai_core::ReportDraft {
        category: "garbage".into(),
        note: String::new(),
        location: None,
        reporter: suishoupai_core::Reporter::default(),
    };
    let base = crate::variant_base(1200)?;
    let mut renditions = Vec::new();
    let devices: Vec<std::path::PathBuf> = (0..2).map(|d| tmp.join(format!("scale-device-{d}"))).collect();
    for (d, device) in devices.iter().enumerate() {
        let store = suishoupai_core::Store::open(device)?;
        for i in 0..REPORTS / 2 {
            store.create_report(&draft, &[suishoupai_core::PhotoSource::Bytes(crate::stamped_jpeg(&base, d * REPORTS + i)?)])?;
        }
        for r in store.list_reports()? {
            renditions.push(store.photo_path(&r.photos[0].sha256, suishoupai_core::BlobKind::Rendition)?);
        }
    }
    let megabytes = renditions.iter().map(|p| std::fs::metadata(p).map(|m| m.len())).sum::<std::io::Result<u64>>()? as f64 / 1e6;
    let stderr_log = tmp.join("scale-sync-stderr.log");
    let mut runs = Vec::new();
    for (run, instances) in [1usize, 2].into_iter().enumerate() {
        let (database, bucket) = (postgres::fresh_database(), s3::bucket());
        let quota = ["--daily-reports", "1000000"];
        let servers: Vec<Server> = (0..instances).map(|_| Server::start_scaled_out_with(&database, &bucket, &quota)).collect();
        let mut copies = Vec::new();
        for (d, device) in devices.iter().enumerate() {
            let copy = tmp.join(format!("scale-device-{d}-run-{run}"));
            crate::copy_dir(device, &copy)?;
            let token = user(&database, &format!("device{d}"))?;
            crate::login(&cli, &copy, &servers[d % instances].base, &token, &stderr_log)?;
            copies.push(copy);
        }
        let started = Instant::now();
        std::thread::scope(|scope| -> Result<()> {
            let syncs: Vec<_> = copies
                .iter()
                .map(|copy| {
                    let (cli, log) = (&cli, &stderr_log);
                    scope.spawn(move || {
                        let status = Command::new(cli)
                            .arg("--data")
                            .arg(copy)
                            .args(["sync", "--json"])
                            .stdout(Stdio::null())
                            .stderr(
                                std::fs::OpenOptions::new().create(true).append(true).open(log).map(Stdio::from).unwrap_or(Stdio::null()),
                            )
                            .status();
                        matches!(status, Ok(s) if s.success())
                    })
                })
                .collect();
            for s in syncs {
                if !s.join().map_err(|_| "a sync thread panicked")? {
                    return Err("a device's sync failed".into());
                }
            }
            Ok(())
        })?;
        runs.push((instances, started.elapsed(), curl_put_files(&bucket, &renditions, run)?));
        let held = Api::new(&servers[0].base, &user_as(&database, "checker", "coordinator")?).all_reports().len();
        if held != REPORTS {
            return Err(format!("the server holds {held} reports after the syncs, not {REPORTS}").into());
        }
    }
    for (instances, took, curl) in runs {
        println!(
            "sync of {REPORTS} reports ({megabytes:.1} MB) from two devices to {instances} instance(s): {:.0} ms; curl PUT of the renditions: {:.0} ms",
            took.as_secs_f64() * 1e3,
            curl.as_secs_f64() * 1e3
        );
        figures.push(Figure {
            name: format!(
                "sync of {REPORTS} reports, one distinct photo each ({megabytes:.1} MB), two devices at once, {instances} instance(s)"
            ),
            project: format!("{:.0} ms", took.as_secs_f64() * 1e3),
            anchor: format!(
                "curl PUT of the same renditions to the bucket: {:.0} ms ({:.1}×)",
                curl.as_secs_f64() * 1e3,
                took.as_secs_f64() / curl.as_secs_f64()
            ),
            target: "—".into(),
            met: None,
        });
    }
    Ok(())
}

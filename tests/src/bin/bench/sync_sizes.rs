//! Sync at 100, 300 and 500 reports against nginx + curl, medians of three
//! runs a side, and the fixed cost of a run measured on its own.

use super::*;

pub(crate) const SYNC_SIZES: [usize; 3] = [100, 300, 500];
/// Runs a side per size; the median is read.
pub(crate) const SYNC_RUNS: usize = 3;
pub(crate) const SYNC_SIZE_TARGET_RATIO: f64 = 1.2;
/// Runs a side of the fixed-cost figures.
pub(crate) const FIXED_RUNS: usize = 11;

/// A device store of `count` reports, each of its own photo (stamped with
/// `first + i`, so that no two renditions are equal); returns the rendition
/// files, which the anchor PUTs.
pub(crate) fn make_device(dir: &Path, base: &image::RgbImage, first: usize, count: usize) -> Result<Vec<PathBuf>> {
    let draft = ReportDraft { category: "garbage".into(), note: String::new(), location: None, reporter: Reporter::default() };
    let store = Store::open(dir)?;
    for i in 0..count {
        store.create_report(&draft, &[PhotoSource::Bytes(stamped_jpeg(base, first + i)?)])?;
    }
    let reports = store.list_reports()?;
    let renditions: Vec<PathBuf> =
        reports.iter().map(|r| store.photo_path(&r.photos[0].sha256, BlobKind::Rendition)).collect::<Result<_, _>>()?;
    let distinct: std::collections::HashSet<_> = reports.iter().map(|r| &r.photos[0].sha256).collect();
    if reports.len() != count || distinct.len() != count {
        return Err("sync setup: the reports or their photos are not all distinct".into());
    }
    Ok(renditions)
}

/// One `suishoupai sync` of a copy of `device` to a fresh server: the wall
/// of the whole process. The copy, the server and the login are setup.
fn project_run(tmp: &Path, cli: &Path, device: &Path, count: usize, tag: &str, stderr_log: &Path) -> Result<ProcessRun> {
    let copy = tmp.join(format!("sized-device-{tag}"));
    copy_dir(device, &copy)?;
    let server = start_server(&tmp.join(format!("sized-server-{tag}")));
    let token = add_user(server.dir.path(), "bench", "resident", &[]);
    login(cli, &copy, &server.base.clone(), &token, stderr_log)?;
    let json = tmp.join(format!("sized-{tag}.json"));
    let run =
        measure_process(Command::new(cli).arg("--data").arg(&copy).args(["sync", "--json"]).stdout(File::create(&json)?), stderr_log)?;
    if sync_pushed(&json)? != count as u64 {
        return Err(format!("the sync of {count} reports did not push them all").into());
    }
    drop(server);
    fs::remove_dir_all(&copy)?;
    fs::remove_dir_all(tmp.join(format!("sized-server-{tag}")))?;
    Ok(run)
}

/// `largest` is the device of the largest size (made by the caller, who
/// syncs it again afterwards) and its renditions.
pub(crate) fn bench_sync_sizes(
    tmp: &Path,
    cli: &Path,
    base: &image::RgbImage,
    largest: (&Path, &[PathBuf]),
    stderr_log: &Path,
    figures: &mut Vec<Figure>,
) -> Result<()> {
    println!("\nsync at {SYNC_SIZES:?} reports, one distinct photo each, median of {SYNC_RUNS} runs a side (alternating)");
    for (s, &count) in SYNC_SIZES.iter().enumerate() {
        let start = Instant::now();
        let own = tmp.join(format!("sized-device-{count}"));
        let (device, renditions) = if count == largest.1.len() {
            (largest.0.to_path_buf(), largest.1.to_vec())
        } else {
            (own.clone(), make_device(&own, base, 100_000 * (s + 1), count)?)
        };
        let bytes: u64 = renditions.iter().map(|p| fs::metadata(p).map(|m| m.len())).sum::<Result<_, _>>()?;
        println!("  {count} reports, {:.1} MB of renditions, made in {:.1} s (setup)", bytes as f64 / 1e6, start.elapsed().as_secs_f64());
        let (mut project, mut anchor, mut cpu) = (Vec::new(), Vec::new(), Vec::new());
        for r in 0..SYNC_RUNS {
            let nginx_dir = tmp.join(format!("sized-nginx-{count}-{r}"));
            let nginx = Nginx::start(&nginx_dir)?;
            let (wall, files, stored) = nginx.put_all(&renditions)?;
            drop(nginx);
            fs::remove_dir_all(&nginx_dir)?;
            if files != count || stored != bytes {
                return Err(format!("nginx stored {files} files of {stored} bytes, not the {count} renditions").into());
            }
            anchor.push(wall);
            let run = project_run(tmp, cli, &device, count, &format!("{count}-{r}"), stderr_log)?;
            project.push(run.wall);
            cpu.push(run.cpu);
        }
        if device == own {
            fs::remove_dir_all(&own)?;
        }
        let (p, a) = (median(&project), median(&anchor));
        let ratio = p.as_secs_f64() / a.as_secs_f64();
        let list = |runs: &[Duration]| runs.iter().map(|d| ms(*d)).collect::<Vec<_>>().join(", ");
        println!(
            "  {count}: suishoupai sync {} [{}] (CPU {}); nginx + curl {} [{}]; ratio {ratio:.2}x",
            ms(p),
            list(&project),
            ms(median(&cpu)),
            ms(a),
            list(&anchor)
        );
        figures.push(Figure {
            name: format!(
                "Sync {count} reports, one distinct photo each ({:.1} MB), whole CLI process, median of {SYNC_RUNS}",
                bytes as f64 / 1e6
            ),
            project: ms(p),
            anchor: format!("nginx WebDAV PUT, curl ×{}: {}", count.div_ceil(CURL_BATCH), ms(a)),
            target: format!("≤ {SYNC_SIZE_TARGET_RATIO}× anchor (is {ratio:.2}×)"),
            met: Some(ratio <= SYNC_SIZE_TARGET_RATIO),
        });
    }
    bench_fixed_cost(tmp, cli, base, stderr_log, figures)
}

/// What every run pays whatever it carries: process start, opening the
/// store, the HTTP client, and the round trips of a sync with nothing to
/// send (the changes feed and the task feed). Beside it: `report list` (a
/// process that opens the store, no network) and one curl PUT of a 1-byte
/// file to nginx (a process, a connection, one round trip).
fn bench_fixed_cost(tmp: &Path, cli: &Path, base: &image::RgbImage, stderr_log: &Path, figures: &mut Vec<Figure>) -> Result<()> {
    let device = tmp.join("fixed-device");
    make_device(&device, base, 900_000, 1)?;
    let server = start_server(&tmp.join("fixed-server"));
    let token = add_user(server.dir.path(), "bench", "resident", &[]);
    login(cli, &device, &server.base.clone(), &token, stderr_log)?;
    let sync = || measure_process(Command::new(cli).arg("--data").arg(&device).args(["sync", "--json"]).stdout(Stdio::null()), stderr_log);
    sync()?; // pushes the one report; every later run has nothing to send
    let nginx = Nginx::start(&tmp.join("fixed-nginx"))?;
    let one_byte = tmp.join("one-byte");
    fs::write(&one_byte, b"x")?;
    let url = format!("http://127.0.0.1:{}/one", nginx.port);
    let curl =
        || measure_process(Command::new("curl").args(["-sS", "--fail", "-T"]).arg(&one_byte).arg(&url).stdout(Stdio::null()), stderr_log);
    let list = || {
        measure_process(
            Command::new(cli).arg("--data").arg(&device).args(["report", "list", "--limit", "1", "--json"]).stdout(Stdio::null()),
            stderr_log,
        )
    };
    let (mut empty, mut local, mut anchor) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..FIXED_RUNS {
        empty.push(sync()?.wall);
        local.push(list()?.wall);
        anchor.push(curl()?.wall);
    }
    drop(nginx);
    drop(server);
    let (e, l, a) = (median(&empty), median(&local), median(&anchor));
    println!(
        "\nfixed cost, median of {FIXED_RUNS}: `sync` with nothing to send {}; `report list --limit 1` {}; curl PUT of 1 byte to nginx {}",
        ms(e),
        ms(l),
        ms(a)
    );
    figures.push(Figure {
        name: format!("Fixed cost of a sync: `sync` with nothing to send, whole process (median of {FIXED_RUNS})"),
        project: format!("{} (of which process + store open, `report list --limit 1`: {})", ms(e), ms(l)),
        anchor: format!("curl PUT of 1 byte to nginx: {}", ms(a)),
        target: format!("info (is {:.2}×)", e.as_secs_f64() / a.as_secs_f64()),
        met: None,
    });
    Ok(())
}

//! Ingest: the CLI as a whole process against vipsthumbnail.

use super::*;

pub(crate) fn bench_ingest(tmp: &Path, cli: &Path, vips_version: &str, figures: &mut Vec<Figure>) -> Result<()> {
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
        target: format!("≤ {INGEST_TARGET_RATIO}× vipsthumbnail (is {:.2}×)", p.wall_median.as_secs_f64() / a.wall_median.as_secs_f64()),
        met: Some(p.wall_median.as_secs_f64() <= INGEST_TARGET_RATIO * a.wall_median.as_secs_f64()),
    });
    figures.push(Figure {
        name: format!("Ingest as above into an existing store (median of {INGEST_RUNS})"),
        project: format!("{} (min {})", ms(e.wall_median), ms(e.wall_min)),
        anchor: format!("vipsthumbnail -s 1600: {}", ms(a.wall_median)),
        target: format!("info (is {:.2}×)", e.wall_median.as_secs_f64() / a.wall_median.as_secs_f64()),
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
pub(crate) fn check_report_json(path: &Path) -> Result<()> {
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
pub(crate) fn suishoupai_binary() -> Result<PathBuf> {
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

pub(crate) fn vips_version() -> Option<String> {
    let out = Command::new("vipsthumbnail").arg("--version").stderr(Stdio::null()).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

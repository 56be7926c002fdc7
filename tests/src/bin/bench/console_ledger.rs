//! `bench console`, the ledger: `suishoupai-server ledger export --format
//! xlsx` of 100,000 cases as a whole process (wall time, peak RSS), against
//! Python's XlsxWriter in constant-memory mode writing the same rows with
//! the same 18 columns, frozen header, autofilter and date cells
//! (`ledger_anchor.py`), also as a whole process.
//!
//! Reading is in both figures: the server reads its SQLite (a page of the
//! ledger query at a time, the history of each case folded in SQL); the
//! anchor streams the CSV ledger the server exported beforehand, whose
//! joins and conversions are already done, so its reading is the cheaper
//! one. The server also computes and writes the 统计 sheet (30 days of
//! figures per street office); the anchor writes no second sheet. openpyxl
//! reads both files back and the bench fails unless they hold the same rows.

use super::*;

const CASES: usize = 100_000;
/// Timed runs per side, after one untimed warm-up each; the sides alternate.
const RUNS: usize = 3;
const ANCHOR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/bin/bench/ledger_anchor.py");

pub(crate) fn run_ledger(tmp: &Path, figures: &mut Vec<Figure>) -> Result<()> {
    let python = Command::new("python3")
        .args(["-c", "import xlsxwriter, openpyxl; print(xlsxwriter.__version__, openpyxl.__version__)"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .ok_or("the ledger's anchor needs python3 with XlsxWriter and openpyxl: pip install XlsxWriter openpyxl")?;
    let dir = tmp.join("console-ledger");
    // Over the year before today, so that every deadline has passed: the
    // overdue column (the export judges it by the system clock) is then
    // the same in every run.
    let now_ms = suishoupai_server::clock::now_ms();
    let timeline = Timeline { first_ms: now_ms - 365 * 24 * HOUR, span_ms: 330 * 24 * HOUR, now_ms };
    let start = Instant::now();
    let events = seed_cases(&dir, CASES, timeline)?;
    println!("ledger: {CASES} cases, {events} events written in {:.1} s (not measured)", start.elapsed().as_secs_f64());

    let server = server_path();
    let stderr_log = tmp.join("ledger-stderr.log");
    let export = |format: &str, out: &Path| -> Result<ProcessRun> {
        let stdout = tmp.join("ledger-stdout.txt");
        let run = measure_process(
            Command::new(&server)
                .arg("--data")
                .arg(&dir)
                .args(["ledger", "export", "--format", format, "--out"])
                .arg(out)
                .stdout(File::create(&stdout)?),
            &stderr_log,
        )?;
        let said = fs::read_to_string(&stdout)?;
        if !said.starts_with(&format!("wrote {CASES} reports")) {
            return Err(format!("ledger export said {said:?}, not that it wrote {CASES} reports").into());
        }
        Ok(run)
    };
    let csv = tmp.join("ledger.csv");
    export("csv", &csv)?;
    let (ours, theirs) = (tmp.join("ledger-server.xlsx"), tmp.join("ledger-python.xlsx"));
    println!("project: {} ledger export --format xlsx (whole process)", server.display());
    println!("anchor:  python3 ledger_anchor.py write ledger.csv out.xlsx (XlsxWriter {python}, constant_memory)");

    let floor_kib = own_peak_rss_kib();
    let (mut project, mut anchor) = (Vec::new(), Vec::new());
    for run in 0..=RUNS {
        let p = export("xlsx", &ours)?;
        let a =
            measure_process(Command::new("python3").arg(ANCHOR).arg("write").arg(&csv).arg(&theirs).stdout(Stdio::null()), &stderr_log)?;
        if run == 0 {
            let out = Command::new("python3").arg(ANCHOR).args(["check", &CASES.to_string()]).arg(&ours).arg(&theirs).output()?;
            if !out.status.success() {
                return Err(format!("the two ledgers differ: {}", String::from_utf8_lossy(&out.stderr).trim()).into());
            }
            print!("{}", String::from_utf8_lossy(&out.stdout));
            continue;
        }
        project.push(p);
        anchor.push(a);
    }
    let sizes = (fs::metadata(&ours)?.len(), fs::metadata(&theirs)?.len());
    let (p, a) = (ProcessStats::of(&project), ProcessStats::of(&anchor));
    println!("\n{:<28} {:>12} {:>12} {:>12} {:>14} {:>10}", "", "wall median", "wall min", "CPU median", "peak RSS max", "file");
    for (name, s, size) in [("ledger export --format xlsx", &p, sizes.0), ("XlsxWriter constant_memory", &a, sizes.1)] {
        println!(
            "{name:<28} {:>12} {:>12} {:>12} {:>14} {:>7.1} MB",
            ms(s.wall_median),
            ms(s.wall_min),
            ms(s.cpu_median),
            mb(s.rss_max_kib),
            size as f64 / 1e6
        );
    }
    println!("(floor of the peak RSS figures: the bench's own peak while spawning, {})", mb(floor_kib));
    if p.rss_max_kib <= floor_kib || a.rss_max_kib <= floor_kib {
        return Err("a measured peak RSS is the bench's own: the memory figures are not the child's".into());
    }
    let time_ratio = p.wall_median.as_secs_f64() / a.wall_median.as_secs_f64();
    let memory_ratio = p.rss_max_kib as f64 / a.rss_max_kib as f64;
    figures.push(Figure {
        name: format!("xlsx ledger of {CASES} cases, whole `ledger export` process, wall (median of {RUNS})"),
        project: format!("{} (CPU {})", ms(p.wall_median), ms(p.cpu_median)),
        anchor: format!("XlsxWriter constant_memory, same rows from the CSV ledger: {} (CPU {})", ms(a.wall_median), ms(a.cpu_median)),
        target: format!("faster (is {time_ratio:.2}×)"),
        met: Some(time_ratio < 1.0),
    });
    figures.push(Figure {
        name: format!("Peak RSS of that export (max of {RUNS})"),
        project: mb(p.rss_max_kib),
        anchor: format!("XlsxWriter: {}", mb(a.rss_max_kib)),
        target: format!("lower (is {memory_ratio:.2}×)"),
        met: Some(memory_ratio < 1.0),
    });
    for file in [&csv, &ours, &theirs] {
        fs::remove_file(file)?;
    }
    fs::remove_dir_all(&dir)?;
    Ok(())
}

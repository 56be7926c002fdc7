//! `suishoupai`: the terminal client. Parses arguments, calls the core's
//! `Store`, prints. With `--json` the output is exactly one JSON value on
//! stdout; errors go to stderr with a non-zero exit, and nothing is stored.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::{Value, json};
use suishoupai_core::{
    Action, BlobKind, CATEGORIES, Crs, Error, LatLon, Locale, LocationInput, LocationSource, PhotoSource, Report, ReportDraft, ReportId,
    Reporter, ReporterRole, Result, Store, TaskAction, TaskDetail, domain::geo, photo, sync::Trigger,
};

#[derive(Parser)]
#[command(name = "suishoupai", version, about = "随手拍: offline photo reports for civic inspection")]
struct Cli {
    /// The data directory of the local store.
    #[arg(long, global = true, env = "SUISHOUPAI_DATA", value_name = "DIR")]
    data: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Read photos without storing them, or export stored ones.
    #[command(subcommand)]
    Photo(PhotoCommand),
    /// Make, list and show reports.
    #[command(subcommand)]
    Report(ReportCommand),
    /// The cases a grid worker or a department works on, and acting on them; works offline.
    #[command(subcommand)]
    Task(TaskCommand),
    /// Coordinate conversions between WGS-84, GCJ-02 (AMap, Tencent) and BD-09 (Baidu).
    #[command(subcommand)]
    Geo(GeoCommand),
    /// Remember the sync server and this device's token (no network needed).
    Login {
        #[arg(long, value_name = "URL")]
        server: String,
        #[arg(long)]
        token: String,
    },
    /// Send every queued report, action and photo, then fetch status
    /// changes and the task list. Exits 0 only when nothing is left to send or fetch.
    Sync {
        /// Also send reports the server refused before.
        #[arg(long)]
        retry_failed: bool,
        #[arg(long)]
        json: bool,
    },
    /// The catalogue of problem categories.
    Categories {
        #[arg(long, default_value = "zh-CN")]
        locale: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum PhotoCommand {
    /// Size, orientation, geotag, time and camera of a photo file.
    Inspect {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Write a stored photo's upload rendition (or its thumbnail) to a file.
    Export {
        sha256: String,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[arg(long)]
        thumbnail: bool,
    },
}

/// Paging of a list: without either flag the whole list, as a JSON array;
/// with one, a page: `{"reports"|"tasks": [...], "next_cursor": ...}`.
#[derive(clap::Args)]
struct PageArgs {
    /// At most this many items (1 to 1000; 50 when only --cursor is given).
    #[arg(long, value_name = "N")]
    limit: Option<u32>,
    /// Where the page starts: the `next_cursor` of the page before.
    #[arg(long, value_name = "C")]
    cursor: Option<String>,
}

impl PageArgs {
    fn paged(&self) -> bool {
        self.limit.is_some() || self.cursor.is_some()
    }
}

#[derive(Subcommand)]
enum ReportCommand {
    /// Make a report from one or more photos; works offline.
    New(NewReport),
    /// All reports on this device, newest first; with --limit or --cursor,
    /// one page of them and the cursor of the next.
    List {
        #[command(flatten)]
        page: PageArgs,
        #[arg(long)]
        json: bool,
    },
    /// One report.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum TaskCommand {
    /// The cases this user may act on, as the last sync brought them, with
    /// this device's actions not yet sent applied; with --limit or
    /// --cursor, one page of them and the cursor of the next.
    List {
        #[command(flatten)]
        page: PageArgs,
        #[arg(long)]
        json: bool,
    },
    /// One case, its history, and this device's own actions on it.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Takes an action on a case, offline: checked against the workflow
    /// here, queued, and sent at the next sync in the order taken.
    Act(ActArgs),
}

#[derive(Args)]
struct ActArgs {
    id: String,
    #[arg(long, value_enum)]
    action: ActionArg,
    /// Internal note (`return`, `rectify` and `reopen` need one).
    #[arg(long)]
    note: Option<String>,
    /// A note shown to the reporter.
    #[arg(long)]
    public_note: Option<String>,
    /// New deadline, RFC 3339 (`reopen` needs one), e.g. 2026-12-02T18:00:00+08:00.
    #[arg(long, value_name = "RFC3339")]
    due_at: Option<String>,
    /// An after-photo (`rectify` needs at least one); repeat for several.
    #[arg(long = "photo", value_name = "FILE")]
    photos: Vec<PathBuf>,
    #[arg(long)]
    json: bool,
}

/// The actions of the people in the field.
#[derive(Clone, Copy, ValueEnum)]
enum ActionArg {
    Rectify,
    Verify,
    Reopen,
    Acknowledge,
    Return,
}

impl From<ActionArg> for Action {
    fn from(arg: ActionArg) -> Action {
        match arg {
            ActionArg::Rectify => Action::Rectify,
            ActionArg::Verify => Action::Verify,
            ActionArg::Reopen => Action::Reopen,
            ActionArg::Acknowledge => Action::Acknowledge,
            ActionArg::Return => Action::Return,
        }
    }
}

#[derive(Args)]
struct NewReport {
    /// Category code, e.g. garbage, illegal_parking, flying_wire_charging.
    #[arg(long)]
    category: String,
    /// A photo file (JPEG, PNG or WebP); repeat for several.
    #[arg(long = "photo", value_name = "FILE", required = true)]
    photos: Vec<PathBuf>,
    #[arg(long, default_value = "")]
    note: String,
    /// Latitude of the device's fix (or of the pin, with --pin).
    #[arg(long, allow_hyphen_values = true, requires = "lon")]
    lat: Option<f64>,
    #[arg(long, allow_hyphen_values = true, requires = "lat")]
    lon: Option<f64>,
    /// Coordinate system of --lat/--lon.
    #[arg(long, value_enum, default_value = "wgs84", requires = "lat")]
    crs: CrsArg,
    /// Horizontal accuracy of the fix, in metres.
    #[arg(long, requires = "lat")]
    accuracy: Option<f64>,
    /// The location is a pin the user placed on a map, not the device's fix.
    #[arg(long, requires = "lat")]
    pin: bool,
    /// Who reports: resident unless given (grid-worker with --fixed-on-spot).
    #[arg(long, value_enum)]
    reporter: Option<ReporterArg>,
    /// The grid cell a grid worker is patrolling.
    #[arg(long)]
    grid: Option<String>,
    /// 即查即改: a grid worker fixed the problem on the spot; the report
    /// arrives rectified, awaiting verification. Needs --after-photo.
    #[arg(long, requires = "after_photos")]
    fixed_on_spot: bool,
    /// A photo of the fix, with --fixed-on-spot; repeat for several.
    #[arg(long = "after-photo", value_name = "FILE", requires = "fixed_on_spot")]
    after_photos: Vec<PathBuf>,
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum GeoCommand {
    Convert {
        #[arg(long, value_enum)]
        from: CrsArg,
        #[arg(long, value_enum)]
        to: CrsArg,
        #[arg(long, allow_hyphen_values = true)]
        lat: f64,
        #[arg(long, allow_hyphen_values = true)]
        lon: f64,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum CrsArg {
    Wgs84,
    Gcj02,
    Bd09,
}

impl From<CrsArg> for Crs {
    fn from(arg: CrsArg) -> Crs {
        match arg {
            CrsArg::Wgs84 => Crs::Wgs84,
            CrsArg::Gcj02 => Crs::Gcj02,
            CrsArg::Bd09 => Crs::Bd09,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum ReporterArg {
    Resident,
    GridWorker,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn sync(store: &Store, retry_failed: bool, json: bool) -> Result<()> {
    if retry_failed {
        store.retry_failed()?;
    }
    // A progress bar only for a person at a terminal; scripts get clean output.
    let bar = (!json && std::io::IsTerminal::is_terminal(&std::io::stderr())).then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} reports sent").expect("valid template"));
        bar
    });
    let progress = |done: u64, total: u64| {
        if let Some(bar) = &bar {
            bar.set_length(total);
            bar.set_position(done);
        }
    };
    let outcome = store.sync(Trigger::User, &progress);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let summary = match &outcome {
        Ok(summary) => *summary,
        Err(Error::SyncIncomplete { summary, .. }) => *summary,
        Err(_) => return outcome.map(|_| ()),
    };
    if json {
        // The four figures this output has always had: the queue's counts
        // are in the error message of an incomplete sync.
        print_json(&json!({
            "pushed": summary.pushed, "pulled": summary.pulled,
            "uploaded_bytes": summary.uploaded_bytes, "skipped_bytes": summary.skipped_bytes,
        }));
    } else {
        println!(
            "sent {} report(s), fetched {} change(s); uploaded {} photo bytes, skipped {} the server had",
            summary.pushed, summary.pulled, summary.uploaded_bytes, summary.skipped_bytes
        );
        if summary.actions_sent + summary.actions_refused + summary.actions_pending > 0 {
            println!(
                "sent {} action(s), {} refused by the server (see `task show`), {} still queued",
                summary.actions_sent, summary.actions_refused, summary.actions_pending
            );
        }
    }
    outcome.map(|_| ())
}

fn open_store(data: Option<PathBuf>) -> Result<Store> {
    let dir = data.ok_or_else(|| Error::InvalidInput("no data directory: pass --data DIR or set SUISHOUPAI_DATA".into()))?;
    Store::open(dir)
}

fn print_json(value: &impl serde::Serialize) {
    println!("{}", serde_json::to_string_pretty(value).expect("our types serialise"));
}

/// The line after a page in text: how to ask for the next one.
fn print_next(cursor: Option<&str>) {
    if let Some(cursor) = cursor {
        println!("more: --cursor {cursor}");
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Photo(PhotoCommand::Inspect { file, json }) => {
            let bytes = std::fs::read(&file).map_err(|source| Error::Io { path: file.clone(), source })?;
            let info = photo::inspect(&bytes)?;
            let meta = &info.metadata;
            let value = json!({
                "format": format!("{:?}", info.format).to_lowercase(),
                "width": info.width,
                "height": info.height,
                "orientation": meta.orientation,
                "latitude": meta.geotag.map(|g| g.latitude),
                "longitude": meta.geotag.map(|g| g.longitude),
                "altitude": meta.geotag.and_then(|g| g.altitude),
                "taken_at": meta.taken_at.map(|t| t.to_rfc3339()),
                "make": meta.make,
                "model": meta.model,
            });
            if json {
                print_json(&value);
            } else {
                for (key, v) in value.as_object().expect("an object") {
                    println!("{key:12} {}", if v.is_null() { "-".to_string() } else { v.to_string().trim_matches('"').to_string() });
                }
            }
        }
        Command::Photo(PhotoCommand::Export { sha256, out, thumbnail }) => {
            let store = open_store(cli.data)?;
            let kind = if thumbnail { BlobKind::Thumbnail } else { BlobKind::Rendition };
            let path = store.photo_path(&sha256, kind)?;
            // Read and write rather than copy: the store's files are private
            // (0600), the exported file takes the user's usual permissions.
            let bytes = std::fs::read(&path).map_err(|source| Error::Io { path: path.clone(), source })?;
            std::fs::write(&out, bytes).map_err(|source| Error::Io { path: out.clone(), source })?;
        }
        Command::Report(ReportCommand::New(args)) => {
            let store = open_store(cli.data)?;
            let location = match (args.lat, args.lon) {
                (Some(latitude), Some(longitude)) => Some(LocationInput {
                    latitude,
                    longitude,
                    crs: args.crs.into(),
                    accuracy_m: args.accuracy,
                    source: if args.pin { LocationSource::Manual } else { LocationSource::Device },
                }),
                _ => None,
            };
            let default_role = if args.fixed_on_spot { ReporterArg::GridWorker } else { ReporterArg::Resident };
            let reporter = Reporter {
                role: match args.reporter.unwrap_or(default_role) {
                    ReporterArg::Resident => ReporterRole::Resident,
                    ReporterArg::GridWorker => ReporterRole::GridWorker,
                },
                grid_id: args.grid,
            };
            let photos: Vec<PhotoSource> = args.photos.into_iter().map(PhotoSource::Path).collect();
            let draft = ReportDraft { category: args.category, note: args.note, location, reporter };
            let report = if args.fixed_on_spot {
                let after: Vec<PhotoSource> = args.after_photos.into_iter().map(PhotoSource::Path).collect();
                store.create_fixed_on_spot_report(&draft, &photos, &after)?
            } else {
                store.create_report(&draft, &photos)?
            };
            if args.json {
                print_json(&report);
            } else {
                print_report(&report);
                if report.location.is_none() {
                    println!("No location: the photos carry no geotag. Add one with --lat/--lon --pin.");
                }
            }
        }
        Command::Report(ReportCommand::List { page, json }) => {
            let store = open_store(cli.data)?;
            let (reports, next_cursor) = if page.paged() {
                let found = store.report_page(page.limit, page.cursor.as_deref())?;
                if json {
                    print_json(&found);
                    return Ok(());
                }
                (found.reports, found.next_cursor)
            } else {
                (store.list_reports()?, None)
            };
            if json {
                print_json(&reports);
            } else {
                for r in &reports {
                    println!(
                        "{}  {:20}  {:8}  {:10}  {} photo(s)  {}",
                        r.id,
                        r.category,
                        r.sync_state,
                        r.status,
                        r.photos.len(),
                        r.created_at
                    );
                }
                print_next(next_cursor.as_deref());
            }
        }
        Command::Report(ReportCommand::Show { id, json }) => {
            let report = open_store(cli.data)?.get_report(&ReportId::parse(&id)?)?;
            if json { print_json(&report) } else { print_report(&report) }
        }
        Command::Task(TaskCommand::List { page, json }) => {
            let store = open_store(cli.data)?;
            let (tasks, next_cursor) = if page.paged() {
                let found = store.task_page(page.limit, page.cursor.as_deref())?;
                if json {
                    print_json(&found);
                    return Ok(());
                }
                (found.tasks, found.next_cursor)
            } else {
                (store.tasks()?, None)
            };
            if json {
                print_json(&tasks);
            } else {
                for t in &tasks {
                    println!(
                        "{}  {:20}  {:11}  due {:25}{}  may: {}",
                        t.id,
                        t.category,
                        t.status,
                        t.due_at.as_deref().unwrap_or("-"),
                        if t.overdue { "  OVERDUE" } else { "" },
                        actions_text(&t.allowed_actions)
                    );
                }
                print_next(next_cursor.as_deref());
            }
        }
        Command::Task(TaskCommand::Show { id, json }) => {
            let detail = open_store(cli.data)?.task(&id)?;
            if json { print_json(&detail) } else { print_task(&detail) }
        }
        Command::Task(TaskCommand::Act(args)) => {
            let store = open_store(cli.data)?;
            let action = TaskAction {
                action: args.action.into(),
                note: args.note,
                public_note: args.public_note,
                due_at: args.due_at,
                photos: args.photos.into_iter().map(PhotoSource::Path).collect(),
            };
            let taken = store.act(&args.id, &action)?;
            if args.json {
                print_json(&taken);
            } else {
                println!("{} {} on {}: queued, sent at the next sync", taken.action, taken.action_id, taken.report_id);
            }
        }
        Command::Geo(GeoCommand::Convert { from, to, lat, lon, json }) => {
            suishoupai_core::rules::check_coordinates(lat, lon)?;
            let out = geo::convert(LatLon { latitude: lat, longitude: lon }, from.into(), to.into());
            if json {
                print_json(&json!({"latitude": out.latitude, "longitude": out.longitude}));
            } else {
                println!("{:.9} {:.9}", out.latitude, out.longitude);
            }
        }
        Command::Login { server, token } => {
            open_store(cli.data)?.login(&server, &token)?;
            println!("logged in to {server}; run `suishoupai sync` when online");
        }
        Command::Sync { retry_failed, json } => sync(&open_store(cli.data)?, retry_failed, json)?,
        Command::Categories { locale, json } => {
            let locale: Locale = locale.parse()?;
            let list: Vec<Value> = CATEGORIES.iter().map(|c| json!({"code": c.code, "name": c.name(locale)})).collect();
            if json {
                print_json(&list);
            } else {
                for c in CATEGORIES {
                    println!("{:22} {}", c.code, c.name(locale));
                }
            }
        }
    }
    Ok(())
}

fn actions_text(actions: &[Action]) -> String {
    if actions.is_empty() { "-".into() } else { actions.iter().map(|a| a.code()).collect::<Vec<_>>().join(", ") }
}

fn print_task(d: &TaskDetail) {
    let t = &d.task;
    println!("case      {}", t.id);
    println!("category  {}", t.category);
    if !t.note.is_empty() {
        println!("note      {}", t.note);
    }
    match &t.location {
        Some(l) => println!("location  {:.6}, {:.6}", l.latitude, l.longitude),
        None => println!("location  -"),
    }
    println!(
        "status    {}{}",
        t.status,
        if t.status != t.server_status { format!(" (server: {})", t.server_status) } else { String::new() }
    );
    println!("due       {}{}", t.due_at.as_deref().unwrap_or("-"), if t.overdue { " OVERDUE" } else { "" });
    println!("may       {}", actions_text(&t.allowed_actions));
    for e in &d.history {
        let what = e.action.map_or("reported", |a| a.code());
        println!(
            "history   {}  {:12} -> {:11} {}{}",
            e.at,
            what,
            e.status,
            e.actor.as_deref().unwrap_or(""),
            e.note.as_deref().map(|n| format!(": {n}")).unwrap_or_default()
        );
    }
    for a in &d.actions {
        println!(
            "mine      {}  {:12} {}{}",
            a.taken_at,
            a.action,
            a.sync_state,
            a.sync_error.as_deref().map(|e| format!(" ({e})")).unwrap_or_default()
        );
    }
}

fn print_report(r: &Report) {
    println!("report    {}", r.id);
    println!("category  {}", r.category);
    if !r.note.is_empty() {
        println!("note      {}", r.note);
    }
    match &r.location {
        Some(l) => println!("location  {:.6}, {:.6} ({})", l.latitude, l.longitude, l.source.code()),
        None => println!("location  -"),
    }
    for p in &r.photos {
        println!("photo     {} {}x{} {} bytes", p.sha256, p.width, p.height, p.bytes);
    }
    println!("sync      {}{}", r.sync_state, r.sync_error.as_deref().map(|e| format!(" ({e})")).unwrap_or_default());
    println!("status    {}", r.status);
    println!("created   {}", r.created_at);
}

//! `suishoupai-server`: argument parsing and printing only.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use suishoupai_core::Crs;
use suishoupai_server::auth::Role;
use suishoupai_server::backends::Database;
use suishoupai_server::clock::Clock;
use suishoupai_server::services::{bulletin, catalog, grids, ledger, relocate, users};
use suishoupai_server::state::{DailyQuota, Tiles};
use suishoupai_server::storage::{self, Department, Route, Storage};
use suishoupai_server::{Backends, ConnectionLimits, Error, Result, ServeOptions, Settings};

#[derive(Parser)]
#[command(name = "suishoupai-server", version, about = "Sync server of suishoupai (随手拍)")]
struct Cli {
    /// Data directory: the database and the photos.
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    /// The database: `sqlite` (DIR/server.sqlite3, the default) or a
    /// postgres:// URL, shared by several `serve` instances.
    #[arg(long, value_name = "sqlite|URL", global = true)]
    database: Option<String>,
    /// The photos: a directory (DIR/photos by default) or s3://BUCKET,
    /// with credentials and region from AWS_ACCESS_KEY_ID,
    /// AWS_SECRET_ACCESS_KEY and AWS_REGION.
    #[arg(long, value_name = "DIR|s3://BUCKET", global = true)]
    photos: Option<String>,
    /// The address of an S3-compatible server (MinIO, a cloud's own) for
    /// --photos s3://BUCKET; AWS when absent.
    #[arg(long, value_name = "URL", global = true)]
    s3_endpoint: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API.
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free one).
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
        listen: String,
        /// Open connections at most, in all [default: 4096, fewer if the
        /// open-file limit is lower].
        #[arg(long, value_name = "N")]
        max_connections: Option<usize>,
        /// Open connections at most from one client address (one IPv6 /64) [default: 512].
        #[arg(long, value_name = "N")]
        max_connections_per_ip: Option<usize>,
        /// How near another report must be to be suggested as a duplicate, in metres.
        #[arg(long, value_name = "M", default_value_t = 250.0)]
        duplicate_radius_m: f64,
        /// For tests only: the workflow's clock reads the time (RFC 3339)
        /// from this file at every call, the system's while it is missing.
        #[arg(long, value_name = "FILE", hide = true)]
        test_clock: Option<PathBuf>,
        /// Where the campaign's days begin and end, for statistics (an IANA name).
        #[arg(long, value_name = "ZONE", default_value = "Asia/Shanghai")]
        timezone: String,
        /// An intranet tile server for the console's map, as a URL template
        /// such as http://tiles.local/{z}/{x}/{y}.png (none by default: the
        /// map draws the grid and the cases on a blank background).
        #[arg(long, value_name = "URL")]
        tiles: Option<String>,
        /// The coordinate system of those tiles: gcj02 for AMap and Tencent styles.
        #[arg(long, value_name = "CRS", default_value = "wgs84", value_parser = ["wgs84", "gcj02"])]
        tiles_crs: String,
        /// The ranking's score: on_time × on-time rate + closure × closure
        /// rate − rework × reworked cases (see the README).
        #[arg(long, value_name = "WEIGHTS", default_value = "on_time=50,closure=20,rework=0.2")]
        ranking_weights: String,
        /// Reports one user may send in a local day; past it a push answers
        /// 429 until the next midnight [default: 1000].
        #[arg(long, value_name = "N")]
        daily_reports: Option<u64>,
        /// MiB of photos one user may send in a local day [default: 2048].
        #[arg(long, value_name = "MIB")]
        daily_photo_mib: Option<u64>,
        /// Let anyone read the accepted cases over Open311 without a key
        /// (never submitted or rejected ones, never the reporter, only
        /// public notes), as FixMyStreet publishes its reports.
        #[arg(long)]
        open311_public: bool,
        /// Hours a photo that no report and no action shows is kept after it
        /// was last sent, then removed [default: 72].
        #[arg(long, value_name = "HOURS")]
        unreferenced_photo_hours: Option<u64>,
    },
    /// The ledger (台账): one row per report, as a spreadsheet.
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// The daily bulletin (每日一通报) of a local day, on stdout.
    Bulletin {
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: String,
        #[arg(long, value_enum, default_value = "json")]
        format: BulletinFormat,
        /// Where the days begin and end (an IANA name), as `serve --timezone`.
        #[arg(long, value_name = "ZONE", default_value = "Asia/Shanghai")]
        timezone: String,
        /// For tests only: count overdue cases at the time in this file, as `serve --test-clock`.
        #[arg(long, value_name = "FILE", hide = true)]
        test_clock: Option<PathBuf>,
    },
    /// Back up the data directory into DIR while the server runs: the
    /// database as of one moment and every photo it names. DIR becomes a
    /// data directory; backing up into it again copies only new photos.
    /// Prints what it holds, as JSON.
    Backup {
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Restore a backup made by `backup` into the data directory, which
    /// must hold no database; every photo is checked against its sha256.
    Restore {
        #[arg(long, value_name = "DIR")]
        from: PathBuf,
    },
    /// Move this data directory's deployment (its SQLite database and photo
    /// directory) to an empty PostgreSQL database and a photo bucket: every
    /// photo the database names is copied and checked against its sha256,
    /// then every row in one PostgreSQL transaction, checked by counts and
    /// hashes before it commits. Stop every server of this data directory
    /// first: what one writes meanwhile is not moved. The data directory is
    /// left as it was. Uploads under way are not moved (devices start them
    /// again). A failed move leaves the database empty: run it again.
    Move {
        /// The target: an empty PostgreSQL database (the schema is made).
        #[arg(long, value_name = "URL")]
        to_database: String,
        /// The photos' target: s3://BUCKET (credentials from AWS_ACCESS_KEY_ID
        /// and AWS_SECRET_ACCESS_KEY), or a directory.
        #[arg(long, value_name = "s3://BUCKET|DIR")]
        to_photos: String,
        /// The address of an S3-compatible server for --to-photos.
        #[arg(long, value_name = "URL")]
        to_s3_endpoint: Option<String>,
        /// Print what was moved as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Manage users; works while the server runs.
    #[command(subcommand)]
    User(UserCommand),
    /// The grid (单元网格) reports are placed in.
    #[command(subcommand)]
    Grid(GridCommand),
    /// Departments that cases are dispatched to.
    #[command(subcommand)]
    Department(DepartmentCommand),
    /// Which department a category goes to, and by when.
    #[command(subcommand)]
    Route(RouteCommand),
}

#[derive(Subcommand)]
enum LedgerCommand {
    /// Write every report (or those of a status, category, street office,
    /// grid or department) to FILE, with the period's statistics.
    Export {
        #[arg(long, value_enum)]
        format: LedgerFormatArg,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// The statistics sheet's first local day [default: 29 days before --to].
        #[arg(long, value_name = "YYYY-MM-DD")]
        from: Option<String>,
        /// Its last local day [default: today].
        #[arg(long, value_name = "YYYY-MM-DD")]
        to: Option<String>,
        /// Where the photo links point: the server as its users reach it.
        #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8080")]
        base_url: String,
        #[arg(long, value_name = "ZONE", default_value = "Asia/Shanghai")]
        timezone: String,
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        category: Option<String>,
        #[arg(long)]
        street_office: Option<String>,
        #[arg(long)]
        grid: Option<String>,
        #[arg(long)]
        department: Option<String>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum LedgerFormatArg {
    Xlsx,
    Csv,
}

#[derive(Subcommand)]
enum GridCommand {
    /// Import a GeoJSON FeatureCollection of Polygon/MultiPolygon cells with
    /// the properties grid_id, name, community and street_office; cells
    /// replace those with the same grid_id, all in one transaction.
    Import {
        file: PathBuf,
        /// The file's coordinate system; cells are stored in WGS-84.
        #[arg(long, default_value = "wgs84", value_parser = ["wgs84", "gcj02", "bd09"])]
        crs: String,
        #[arg(long)]
        json: bool,
    },
    /// Place every located report again by the grid as it is now (reports
    /// otherwise keep the cell they were placed in when they arrived).
    Reassign {
        #[arg(long)]
        json: bool,
    },
    /// List the cells.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum DepartmentCommand {
    /// Add a department, or rename the one with this code.
    Add {
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_name = "NAME")]
        name_en: Option<String>,
    },
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum RouteCommand {
    /// Route a category's cases to a department with a deadline; a dispatch
    /// is prefilled with both, and the coordinator may override either.
    Set {
        #[arg(long)]
        category: String,
        #[arg(long)]
        department: String,
        #[arg(long, value_name = "N")]
        deadline_hours: u32,
    },
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user and print their token (shown only this once).
    Add {
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// The grid a grid worker patrols (required for grid_worker).
        #[arg(long, value_name = "ID")]
        grid: Option<String>,
        /// The department a department user acts for (required for department).
        #[arg(long, value_name = "ID")]
        department: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List users (never their tokens), with whether each is disabled.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Lock a user out: every token of theirs answers 401 from now on, on
    /// the running server too (within a second).
    Disable { name: String },
    /// Let a disabled user in again, with the tokens they had.
    Enable { name: String },
    /// Revoke every token of the user and print a new one; with --device,
    /// revoke only that device's token (a lost phone) and keep the others.
    RevokeToken {
        name: String,
        #[arg(long, value_name = "LABEL")]
        device: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Give the user a token for one more device and print it (shown only
    /// this once); a device that had one gets a new one.
    AddToken {
        name: String,
        #[arg(long, value_name = "LABEL")]
        device: String,
        #[arg(long)]
        json: bool,
    },
    /// Set the user's console password, read as one line from stdin; ends
    /// the user's console sessions.
    SetPassword { name: String },
}

#[derive(Clone, Copy, ValueEnum)]
enum BulletinFormat {
    Json,
    Csv,
    Html,
}

#[derive(Clone, Copy, ValueEnum)]
#[value(rename_all = "snake_case")]
enum RoleArg {
    Resident,
    GridWorker,
    Department,
    Coordinator,
    Admin,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Role {
        match role {
            RoleArg::Resident => Role::Resident,
            RoleArg::GridWorker => Role::GridWorker,
            RoleArg::Department => Role::Department,
            RoleArg::Coordinator => Role::Coordinator,
            RoleArg::Admin => Role::Admin,
        }
    }
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

fn run(cli: Cli) -> Result<()> {
    let backends = Backends::parse(&cli.data, cli.database.as_deref(), cli.photos.as_deref(), cli.s3_endpoint.as_deref())?;
    let storage = || backends.storage(&cli.data);
    match cli.command {
        Command::Serve {
            listen,
            max_connections,
            max_connections_per_ip,
            duplicate_radius_m,
            test_clock,
            timezone,
            ranking_weights,
            tiles,
            tiles_crs,
            daily_reports,
            daily_photo_mib,
            open311_public,
            unreferenced_photo_hours,
        } => {
            if !(1.0..=10_000.0).contains(&duplicate_radius_m) {
                return Err(Error::BadRequest("--duplicate-radius-m must be 1 to 10000".into()));
            }
            let mut connections = ConnectionLimits::default_for_this_process();
            connections.max_connections = max_connections.unwrap_or(connections.max_connections);
            connections.max_per_address = max_connections_per_ip.unwrap_or(connections.max_per_address);
            // The log: one JSON line per event on stderr (see the README's
            // "Logs and metrics"); requests at info. SUISHOUPAI_LOG=warn
            // (or error) keeps only the faults.
            let level = std::env::var("SUISHOUPAI_LOG").ok().and_then(|v| v.parse().ok()).unwrap_or(tracing::Level::INFO);
            tracing_subscriber::fmt()
                .json()
                .flatten_event(true)
                .with_current_span(false)
                .with_span_list(false)
                .with_max_level(level)
                .with_writer(std::io::stderr)
                .init();
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(|e| Error::Internal(format!("cannot start the runtime: {e}")))?;
            let timezone = parse_timezone(&timezone)?;
            let tiles = tiles
                .map(|url| -> Result<Tiles> {
                    if !(url.starts_with("http://") || url.starts_with("https://")) || !url.contains("{z}") {
                        return Err(Error::BadRequest("--tiles must be an http(s) URL template with {z}, {x} and {y}".into()));
                    }
                    let crs = tiles_crs.parse().map_err(|e: suishoupai_core::domain::geo::UnknownCrs| Error::BadRequest(e.to_string()))?;
                    Ok(Tiles { url, crs })
                })
                .transpose()?;
            let mut daily_quota = DailyQuota::default();
            daily_quota.reports = daily_reports.unwrap_or(daily_quota.reports);
            if let Some(mib) = daily_photo_mib {
                daily_quota.photo_bytes =
                    mib.checked_mul(1024 * 1024).ok_or_else(|| Error::BadRequest("--daily-photo-mib is too large".into()))?;
            }
            let mut settings =
                Settings { timezone, tiles, ranking_weights: ranking_weights.parse()?, daily_quota, open311_public, ..Settings::default() };
            settings.duplicate_window.radius_m = duplicate_radius_m;
            if let Some(hours) = unreferenced_photo_hours {
                settings.unreferenced_photo_grace = std::time::Duration::from_secs(
                    hours.checked_mul(3600).ok_or_else(|| Error::BadRequest("--unreferenced-photo-hours is too large".into()))?,
                );
            }
            if let Some(file) = test_clock {
                settings.clock = Clock::File(file);
            }
            let options = ServeOptions { listen, settings, connections, backends: backends.clone() };
            let served = runtime.block_on(suishoupai_server::serve(&cli.data, options));
            // A storage call still running on the blocking pool gets a
            // moment to finish; an unfinished one was never acknowledged.
            runtime.shutdown_timeout(std::time::Duration::from_secs(1));
            served
        }
        Command::User(UserCommand::Add { name, role, grid, department, json }) => {
            let user = users::new_user(name, role.into(), grid, department)?;
            let (added, token) = users::add(&*storage()?, &user)?;
            if json {
                println!("{}", serde_json::json!({ "name": added.name, "role": added.role.code(), "token": token }));
            } else {
                println!("added {} `{}`; token (shown only now): {token}", added.role, added.name);
            }
            Ok(())
        }
        Command::User(UserCommand::List { json }) => {
            let listed = users::list(&*storage()?)?;
            if json {
                let shown: Vec<_> = listed
                    .iter()
                    .map(|u| {
                        let mut shown = serde_json::to_value(&u.user).map_err(|e| Error::Internal(e.to_string()))?;
                        shown["disabled"] = u.disabled.into();
                        shown["active_tokens"] = u.active_tokens.into();
                        Ok(shown)
                    })
                    .collect::<Result<_>>()?;
                println!("{}", serde_json::Value::Array(shown));
            } else {
                for u in listed {
                    let place = u.user.grid_id.or(u.user.department).map(|p| format!(" ({p})")).unwrap_or_default();
                    let disabled = if u.disabled { "\tdisabled" } else { "" };
                    println!("{}\t{}{place}{disabled}", u.user.name, u.user.role);
                }
            }
            Ok(())
        }
        Command::User(UserCommand::Disable { name }) => {
            users::set_disabled(&*storage()?, &name, true)?;
            println!("disabled `{name}`: their tokens are refused from now on");
            Ok(())
        }
        Command::User(UserCommand::Enable { name }) => {
            users::set_disabled(&*storage()?, &name, false)?;
            println!("enabled `{name}`");
            Ok(())
        }
        Command::Bulletin { date, format, timezone, test_clock } => {
            let date = chrono::NaiveDate::parse_from_str(&date, "%Y-%m-%d")
                .map_err(|_| Error::BadRequest(format!("--date `{date}` is not a date YYYY-MM-DD")))?;
            let now_ms = test_clock.map_or(Clock::System, Clock::File).now_ms();
            let made = bulletin::build(&*storage()?, date, parse_timezone(&timezone)?, now_ms)?;
            match format {
                BulletinFormat::Json => print_json(&made)?,
                BulletinFormat::Csv => print!("{}", bulletin::render_csv(&made)),
                BulletinFormat::Html => print!("{}", bulletin::render_html(&made)?),
            }
            Ok(())
        }
        Command::Backup { .. } | Command::Restore { .. } if !backends.is_local(&cli.data) => Err(Error::BadRequest(
            "backup and restore copy a data directory's SQLite file and photos; back up PostgreSQL with pg_dump and a bucket with its own replication (see the README)".into(),
        )),
        Command::Move { .. } if !backends.is_local(&cli.data) => Err(Error::BadRequest(
            "move copies the data directory's SQLite database and photos: name the target with --to-database and --to-photos, not --database or --photos".into(),
        )),
        Command::Move { to_database, to_photos, to_s3_endpoint, json } => {
            let to = Backends::parse(&cli.data, Some(&to_database), Some(&to_photos), to_s3_endpoint.as_deref())?;
            if to.database == Database::Sqlite {
                return Err(Error::BadRequest("--to-database must be a postgres:// URL".into()));
            }
            eprintln!("moving {} to {}; every server of this data directory must be stopped", cli.data.display(), to.describe(&cli.data));
            let moved = relocate::move_deployment(&cli.data, &to)?;
            if json {
                return print_json(&moved);
            }
            for (table, rows) in &moved.tables {
                println!("{table}\t{rows}");
            }
            let p = &moved.photos;
            println!(
                "moved and verified: {} photos ({} copied, {} already there, {} thumbnails), reports {}, events {}",
                p.named, p.copied, p.already_there, p.thumbnails, moved.reports_sha256, moved.events_sha256
            );
            if moved.uploads_not_moved > 0 {
                println!("{} upload(s) under way were not moved; their devices start them again", moved.uploads_not_moved);
            }
            println!("start the servers with --database and --photos naming the new places; the data directory is as it was");
            Ok(())
        }
        Command::Backup { out } => print_json(&suishoupai_server::backup(&cli.data, &out)?),
        Command::Restore { from } => print_json(&suishoupai_server::restore(&from, &cli.data)?),
        Command::Ledger(command) => run_ledger(&*storage()?, command),
        Command::Grid(command) => run_grid(&*storage()?, command),
        Command::Department(command) => run_department(&*storage()?, command),
        Command::Route(command) => run_route(&*storage()?, command),
        Command::User(UserCommand::RevokeToken { name, device: Some(device), json }) => {
            let user = users::revoke_device(&*storage()?, &name, &device)?;
            if json {
                println!("{}", serde_json::json!({ "name": user.name, "device": device }));
            } else {
                println!("revoked the token of `{}` on device `{device}`; their other devices keep theirs", user.name);
            }
            Ok(())
        }
        Command::User(UserCommand::AddToken { name, device, json }) => {
            let (user, token) = users::add_token(&*storage()?, &name, &device)?;
            if json {
                println!("{}", serde_json::json!({ "name": user.name, "device": device, "token": token }));
            } else {
                println!("token of `{}` for device `{device}` (shown only now): {token}", user.name);
            }
            Ok(())
        }
        Command::User(UserCommand::SetPassword { name }) => {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).map_err(|e| Error::BadRequest(format!("cannot read the password from stdin: {e}")))?;
            let password = line.strip_suffix('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).unwrap_or(&line);
            users::set_password(&*storage()?, &name, password)?;
            println!("password of `{name}` set; their console sessions have ended");
            Ok(())
        }
        Command::User(UserCommand::RevokeToken { name, device: None, json }) => {
            let (user, token) = users::replace_tokens(&*storage()?, &name)?;
            if json {
                println!("{}", serde_json::json!({ "name": user.name, "token": token }));
            } else {
                println!("revoked every token of `{}`; new token (shown only now): {token}", user.name);
            }
            Ok(())
        }
    }
}

fn parse_timezone(name: &str) -> Result<chrono_tz::Tz> {
    name.parse().map_err(|_| Error::BadRequest(format!("--timezone `{name}` is not an IANA time zone, e.g. Asia/Shanghai")))
}

fn print_json(value: &impl serde::Serialize) -> Result<()> {
    println!("{}", serde_json::to_string(value).map_err(|e| Error::Internal(e.to_string()))?);
    Ok(())
}

fn run_ledger(storage: &dyn Storage, command: LedgerCommand) -> Result<()> {
    let LedgerCommand::Export { format, out, from, to, base_url, timezone, status, category, street_office, grid, department } = command;
    let timezone = parse_timezone(&timezone)?;
    let now_ms = Clock::System.now_ms();
    let date = |name: &str, text: Option<String>| {
        text.map(|t| {
            chrono::NaiveDate::parse_from_str(&t, "%Y-%m-%d")
                .map_err(|_| Error::BadRequest(format!("{name} `{t}` is not a date YYYY-MM-DD")))
        })
        .transpose()
    };
    let today = chrono::TimeZone::timestamp_millis_opt(&timezone, now_ms).single().map(|t| t.date_naive()).unwrap_or_default();
    let to = date("--to", to)?.unwrap_or(today);
    let from = date("--from", from)?.unwrap_or_else(|| to.checked_sub_days(chrono::Days::new(29)).unwrap_or(to));
    let status = status
        .map(|s| {
            suishoupai_core::ReportStatus::from_code(&s).map_err(|_| Error::BadRequest(format!("--status `{s}` is not a report status")))
        })
        .transpose()?;
    let filter = storage::ReportFilter { status, category, street_office, grid_id: grid, department, ..Default::default() };
    let request = ledger::LedgerRequest { filter, from, to, base_url: base_url.trim_end_matches('/').to_owned(), timezone, now_ms };
    let format = match format {
        LedgerFormatArg::Xlsx => ledger::LedgerFormat::Xlsx,
        LedgerFormatArg::Csv => ledger::LedgerFormat::Csv,
    };
    // Written beside the target and renamed over it once whole.
    let dir = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut file =
        tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::BadRequest(format!("cannot write in {}: {e}", dir.display())))?;
    let rows = ledger::write(storage, &request, format, file.as_file_mut())?;
    file.persist(&out).map_err(|e| Error::BadRequest(format!("cannot write {}: {e}", out.display())))?;
    println!("wrote {rows} reports to {}", out.display());
    Ok(())
}

fn run_grid(storage: &dyn Storage, command: GridCommand) -> Result<()> {
    match command {
        GridCommand::Import { file, crs, json } => {
            let text = std::fs::read_to_string(&file).map_err(|e| Error::BadRequest(format!("cannot read {}: {e}", file.display())))?;
            let crs: Crs = crs.parse().map_err(|e: suishoupai_core::domain::geo::UnknownCrs| Error::BadRequest(e.to_string()))?;
            let imported = grids::import(storage, &grids::parse(&text, crs)?)?;
            if json {
                return print_json(&imported);
            }
            println!("imported {} cells ({} replaced)", imported.cells, imported.replaced);
        }
        GridCommand::Reassign { json } => {
            let done = grids::reassign(storage)?;
            if json {
                return print_json(&done);
            }
            println!("placed {} located reports again; {} moved", done.reports, done.moved);
        }
        GridCommand::List { json } => {
            let cells = storage::read(storage, |tx| Ok::<_, Error>(tx.grid_cells()?))?;
            if json {
                let shown: Vec<_> = cells
                    .iter()
                    .map(|c| serde_json::json!({ "grid_id": c.grid_id, "name": c.name, "community": c.community, "street_office": c.street_office }))
                    .collect();
                return print_json(&shown);
            }
            for c in cells {
                println!("{}\t{}\t{}\t{}", c.grid_id, c.street_office, c.community, c.name);
            }
        }
    }
    Ok(())
}

fn run_department(storage: &dyn Storage, command: DepartmentCommand) -> Result<()> {
    match command {
        DepartmentCommand::Add { code, name, name_en } => {
            let added = catalog::put_department(storage, &Department { code, name, name_en })?;
            println!("department `{}`: {}", added.code, added.name);
        }
        DepartmentCommand::List { json } => {
            let all = catalog::departments(storage)?;
            if json {
                return print_json(&all);
            }
            for d in all {
                println!("{}\t{}\t{}", d.code, d.name, d.name_en.unwrap_or_default());
            }
        }
    }
    Ok(())
}

fn run_route(storage: &dyn Storage, command: RouteCommand) -> Result<()> {
    match command {
        RouteCommand::Set { category, department, deadline_hours } => {
            let route = catalog::set_route(storage, &Route { category, department, deadline_hours })?;
            println!("`{}` goes to `{}` within {} h", route.category, route.department, route.deadline_hours);
        }
        RouteCommand::List { json } => {
            let all = catalog::routes(storage)?;
            if json {
                return print_json(&all);
            }
            for r in all {
                println!("{}\t{}\t{} h", r.category, r.department, r.deadline_hours);
            }
        }
    }
    Ok(())
}

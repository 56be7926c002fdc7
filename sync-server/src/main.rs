//! `suishoupai-server`: argument parsing and printing only.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use suishoupai_server::auth::{self, Role};
use suishoupai_server::storage::sqlite::SqliteStorage;
use suishoupai_server::storage::{NewUser, Storage};
use suishoupai_server::{Error, Result};

#[derive(Parser)]
#[command(name = "suishoupai-server", version, about = "Sync server of suishoupai (随手拍)")]
struct Cli {
    /// Data directory: the database and the photos.
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
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
    },
    /// Manage users; works while the server runs.
    #[command(subcommand)]
    User(UserCommand),
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
    /// List users (never their tokens).
    List {
        #[arg(long)]
        json: bool,
    },
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
    match cli.command {
        Command::Serve { listen } => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Internal(format!("cannot start the runtime: {e}")))?
            .block_on(suishoupai_server::serve(&cli.data, &listen)),
        Command::User(UserCommand::Add { name, role, grid, department, json }) => {
            let user = new_user(name, role.into(), grid, department)?;
            let token = auth::new_token()?;
            let storage = SqliteStorage::open(&cli.data)?;
            let added = storage.add_user(&user, &auth::token_hash(&token))?;
            if json {
                println!("{}", serde_json::json!({ "name": added.name, "role": added.role.code(), "token": token }));
            } else {
                println!("added {} `{}`; token (shown only now): {token}", added.role, added.name);
            }
            Ok(())
        }
        Command::User(UserCommand::List { json }) => {
            let users = SqliteStorage::open(&cli.data)?.list_users()?;
            if json {
                println!("{}", serde_json::to_string(&users).map_err(|e| Error::Internal(e.to_string()))?);
            } else {
                for user in users {
                    let place = user.grid_id.or(user.department).map(|p| format!(" ({p})")).unwrap_or_default();
                    println!("{}\t{}{place}", user.name, user.role);
                }
            }
            Ok(())
        }
    }
}

fn new_user(name: String, role: Role, grid_id: Option<String>, department: Option<String>) -> Result<NewUser> {
    let bad = |m: &str| Err(Error::BadRequest(m.to_owned()));
    let printable = |s: &str| !s.is_empty() && s.chars().count() <= 64 && !s.chars().any(char::is_control);
    if !printable(&name) {
        return bad("--name must be 1 to 64 printable characters");
    }
    match (role, &grid_id, &department) {
        (Role::GridWorker, None, _) => return bad("a grid_worker needs --grid"),
        (Role::Department, _, None) => return bad("a department user needs --department"),
        (r, Some(_), _) if r != Role::GridWorker => return bad("--grid goes only with --role grid_worker"),
        (r, _, Some(_)) if r != Role::Department => return bad("--department goes only with --role department"),
        _ => {}
    }
    if grid_id.iter().chain(&department).any(|id| !printable(id)) {
        return bad("--grid and --department must be 1 to 64 printable characters");
    }
    Ok(NewUser { name, role, grid_id, department })
}

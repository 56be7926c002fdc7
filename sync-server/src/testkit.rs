//! The one kit the tests that run a real server share (the server's own
//! integration tests and the end-to-end tests of `tests/`): a real
//! `suishoupai-server` process on a random loopback port over a real data
//! directory, and small helpers to talk to it; and [`in_process`], the same
//! server without a socket, for the deterministic simulation. Built with
//! the `testkit` feature only.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::{Value, json};
use suishoupai_core::PreparedPhoto;
use suishoupai_core::protocol::MAX_CHUNK_BYTES;
use tempfile::TempDir;

pub mod in_process;
pub mod postgres;
pub mod s3;

/// The server binary under test: the one beside the running test's
/// executable (cargo builds it before the server's own integration tests;
/// `tests/` builds it first), or another one named by
/// `SUISHOUPAI_SERVER_BIN` (to check that a test of an attack fails on a
/// build from before the fix).
pub fn bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("SUISHOUPAI_SERVER_BIN") {
        return bin.into();
    }
    // Test executables live in <target>/<profile>/deps/.
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe.parent().expect("exe dir");
    let profile = if dir.ends_with("deps") { dir.parent().expect("profile dir") } else { dir };
    profile.join("suishoupai-server")
}

/// A server's data directory: a temporary one it owns, or a path the test keeps.
pub enum DataDir {
    Temp(TempDir),
    At(PathBuf),
}

impl DataDir {
    pub fn path(&self) -> &Path {
        match self {
            DataDir::Temp(dir) => dir.path(),
            DataDir::At(path) => path,
        }
    }
}

impl From<TempDir> for DataDir {
    fn from(dir: TempDir) -> DataDir {
        DataDir::Temp(dir)
    }
}

impl From<&Path> for DataDir {
    fn from(path: &Path) -> DataDir {
        DataDir::At(path.to_owned())
    }
}

pub struct Server {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub addr: SocketAddr,
    pub dir: DataDir,
    child: Child,
    pub http: Client,
    /// `--database …` of an instance over PostgreSQL, for its CLI calls.
    backend_args: Vec<String>,
}

impl Server {
    pub fn start() -> Server {
        Server::start_in(tempfile::tempdir().unwrap())
    }

    pub fn start_in(dir: impl Into<DataDir>) -> Server {
        Server::start_with(dir, &[])
    }

    /// With more `serve` arguments, e.g. `--max-connections-per-ip 50`.
    /// The server's log goes to the test's stderr, faults only (a line per
    /// request would drown the test output) unless SUISHOUPAI_LOG says more.
    pub fn start_with(dir: impl Into<DataDir>, serve_args: &[&str]) -> Server {
        let level = std::env::var("SUISHOUPAI_LOG").unwrap_or_else(|_| "warn".into());
        Server::spawn(dir.into(), serve_args, &[], Stdio::inherit(), &level)
    }

    /// With more `serve` arguments and environment variables (the AWS
    /// credentials of a server over a bucket).
    pub fn start_with_env(dir: impl Into<DataDir>, serve_args: &[&str], env: &[(&str, &str)]) -> Server {
        let level = std::env::var("SUISHOUPAI_LOG").unwrap_or_else(|_| "warn".into());
        Server::spawn(dir.into(), serve_args, env, Stdio::inherit(), &level)
    }

    /// With the server's whole log (its stderr, requests included) written to `log`.
    pub fn start_logging_to(dir: impl Into<DataDir>, serve_args: &[&str], log: &Path) -> Server {
        Server::spawn(dir.into(), serve_args, &[], std::fs::File::create(log).unwrap().into(), "info")
    }

    /// Over PostgreSQL and a bucket of the test S3 server ([`s3`]), with
    /// its keys in the environment as `serve` reads them: one of several
    /// instances over the same two. Not checked healthy: a test may point
    /// it at what is down.
    pub fn start_scaled_out(database: &str, bucket: &crate::blobs::s3::S3Location) -> Server {
        Server::start_scaled_out_with(database, bucket, &[])
    }

    /// The same, with more `serve` arguments.
    pub fn start_scaled_out_with(database: &str, bucket: &crate::blobs::s3::S3Location, serve_args: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let photos = format!("s3://{}", bucket.bucket);
        let endpoint = bucket.endpoint.clone().expect("the test server's address");
        let mut args = vec!["--database", database, "--photos", &photos, "--s3-endpoint", &endpoint];
        args.extend_from_slice(serve_args);
        let level = std::env::var("SUISHOUPAI_LOG").unwrap_or_else(|_| "warn".into());
        let mut command = Server::command(dir.path(), &args, Stdio::inherit(), &level);
        let mut server =
            Server::run(command.env("AWS_ACCESS_KEY_ID", s3::ACCESS_KEY).env("AWS_SECRET_ACCESS_KEY", s3::SECRET_KEY), dir.into(), false);
        server.backend_args = vec!["--database".into(), database.into()];
        server
    }

    fn command(dir: &Path, serve_args: &[&str], stderr: Stdio, log_level: &str) -> Command {
        let mut command = Command::new(bin());
        command
            .args(["--data", dir.to_str().unwrap(), "serve", "--listen", "127.0.0.1:0"])
            .args(serve_args)
            .env("SUISHOUPAI_LOG", log_level)
            .stdout(Stdio::piped())
            .stderr(stderr);
        command
    }

    fn spawn(dir: DataDir, serve_args: &[&str], env: &[(&str, &str)], stderr: Stdio, log_level: &str) -> Server {
        let mut command = Server::command(dir.path(), serve_args, stderr, log_level);
        Server::run(command.envs(env.iter().copied()), dir, true)
    }

    fn run(command: &mut Command, dir: DataDir, check_health: bool) -> Server {
        let mut child = command.spawn().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let base = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected first line {line:?}")).to_owned();
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || stdout.lines().for_each(drop));
        let addr = base.strip_prefix("http://").expect("an http address").parse().expect("an address in the listening line");
        let http = client();
        if check_health {
            assert_eq!(http.get(format!("{base}/healthz")).send().unwrap().status(), 200);
        }
        Server { base, addr, dir, child, http, backend_args: Vec::new() }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The data directory it serves.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// SIGTERM, then waits for the process to exit; answers how long that took.
    pub fn terminate(mut self) -> std::time::Duration {
        let started = std::time::Instant::now();
        // SAFETY: kill only sends a signal to our own child.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let status = self.child.wait().unwrap();
        assert!(status.success() || status.code().is_none() || status.code() == Some(0), "exit status {status:?}");
        started.elapsed()
    }

    /// kill -9, as in a crash or power cut: no shutdown hook runs; the data
    /// directory survives, for a restart.
    pub fn kill(mut self) -> DataDir {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        std::mem::replace(&mut self.dir, DataDir::At(PathBuf::new()))
    }

    /// Adds a user with the CLI beside the running server; answers the token.
    pub fn user(&self, name: &str, role: &str) -> String {
        self.user_with(name, role, &[])
    }

    pub fn user_with(&self, name: &str, role: &str, extra: &[&str]) -> String {
        add_user_over(self.dir.path(), &self.backend_args, name, role, extra)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn get(&self, token: &str, path: &str) -> Response {
        self.http.get(self.url(path)).bearer_auth(token).send().unwrap()
    }

    pub fn post(&self, token: &str, path: &str, body: &Value) -> Response {
        self.http.post(self.url(path)).bearer_auth(token).json(body).send().unwrap()
    }

    pub fn request(&self, method: reqwest::Method, token: &str, path: &str) -> RequestBuilder {
        self.http.request(method, self.url(path)).bearer_auth(token)
    }

    pub fn patch(&self, token: &str, sha256: &str, offset: u64, chunk: &[u8]) -> Response {
        self.http
            .patch(self.url(&format!("/v1/uploads/{sha256}")))
            .bearer_auth(token)
            .header("Upload-Offset", offset.to_string())
            .header("Content-Type", "application/offset+octet-stream")
            .body(chunk.to_vec())
            .send()
            .unwrap()
    }

    /// Uploads `bytes` under `sha256` in chunks, checking every answer.
    pub fn upload(&self, token: &str, sha256: &str, bytes: &[u8]) {
        let created = self.post(token, "/v1/uploads", &json!({ "sha256": sha256, "length": bytes.len() }));
        assert_eq!(created.status(), 200);
        let state: Value = created.json().unwrap();
        let mut offset = state["offset"].as_u64().unwrap();
        while offset < bytes.len() as u64 {
            let end = (offset + MAX_CHUNK_BYTES).min(bytes.len() as u64);
            let answer = self.patch(token, sha256, offset, &bytes[offset as usize..end as usize]);
            assert_eq!(answer.status(), 204, "{:?}", answer.text());
            offset = answer.headers()["upload-offset"].to_str().unwrap().parse().unwrap();
        }
    }

    /// PATCHes all of `bytes` from offset 0; answers the first non-204
    /// answer, or the last one.
    pub fn send_all(&self, token: &str, sha256: &str, bytes: &[u8]) -> Response {
        let mut offset = 0;
        loop {
            let end = (offset + MAX_CHUNK_BYTES as usize).min(bytes.len());
            let answer = self.patch(token, sha256, offset as u64, &bytes[offset..end]);
            offset = end;
            if answer.status() != 204 || offset == bytes.len() {
                return answer;
            }
        }
    }

    pub fn upload_photo(&self, token: &str, photo: &PreparedPhoto) {
        self.upload(token, &photo.sha256, &photo.rendition);
    }

    /// `POST /v1/reports/{id}/actions`, with a fresh `action_id` unless the body has one.
    pub fn act(&self, token: &str, id: &str, body: &Value) -> Response {
        let mut body = body.clone();
        if body.get("action_id").is_none() {
            body["action_id"] = uuid::Uuid::now_v7().to_string().into();
        }
        self.post(token, &format!("/v1/reports/{id}/actions"), &body)
    }

    /// Accepts and dispatches a submitted report to `department`, due in a day.
    pub fn dispatch(&self, coordinator: &str, id: &str, department: &str) -> Value {
        let accepted = self.act(coordinator, id, &json!({ "action": "accept" }));
        assert_eq!(accepted.status(), 200, "{:?}", accepted.text());
        let due = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
        let answer = self.act(coordinator, id, &json!({ "action": "dispatch", "department": department, "due_at": due }));
        assert_eq!(answer.status(), 200, "{:?}", answer.text());
        answer.json().unwrap()
    }

    /// Runs the server's CLI on this server's data (its database, wherever it is).
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        Command::new(bin()).arg("--data").arg(self.dir.path()).args(&self.backend_args).args(args).output().unwrap()
    }

    /// Runs the server's CLI on this server's data with `stdin` as its input.
    pub fn cli_with_stdin(&self, args: &[&str], stdin: &str) -> std::process::Output {
        use std::io::Write;
        let mut child = Command::new(bin())
            .arg("--data")
            .arg(self.dir.path())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    }

    /// Sets a console password with `user set-password`.
    pub fn set_password(&self, name: &str, password: &str) {
        let set = self.cli_with_stdin(&["user", "set-password", name], &format!("{password}\n"));
        assert!(set.status.success(), "set-password failed: {}", String::from_utf8_lossy(&set.stderr));
    }

    pub fn push(&self, token: &str, reports: &[Value]) -> Vec<Value> {
        let answer = self.post(token, "/v1/push", &json!({ "reports": reports }));
        assert_eq!(answer.status(), 200);
        answer.json::<Value>().unwrap()["results"].as_array().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The console's session cookie a sign-in answer sets, as the whole
/// `Set-Cookie` value (`sp_session=…; HttpOnly; …`).
pub fn session_cookie(answer: &reqwest::blocking::Response) -> String {
    answer
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("sp_session="))
        .expect("a sign-in that sets the session cookie")
}

/// Runs `suishoupai-server --data DATA ARGS...`.
pub fn cli(data: &Path, args: &[&str]) -> std::process::Output {
    Command::new(bin()).arg("--data").arg(data).args(args).output().unwrap()
}

/// Adds a user with the CLI; a department user's department is added
/// first (as an admin would), named by its code.
pub fn add_user(data: &Path, name: &str, role: &str, extra: &[&str]) -> String {
    add_user_over(data, &[], name, role, extra)
}

/// The same over the backend that `backend_args` (`--database …`) name.
fn add_user_over(data: &Path, backend_args: &[String], name: &str, role: &str, extra: &[&str]) -> String {
    if role == "department"
        && let Some(code) = extra.iter().position(|a| *a == "--department").and_then(|i| extra.get(i + 1))
    {
        let added = Command::new(bin())
            .arg("--data")
            .arg(data)
            .args(backend_args)
            .args(["department", "add", "--code", code, "--name", code])
            .output()
            .unwrap();
        assert!(added.status.success(), "department add failed: {}", String::from_utf8_lossy(&added.stderr));
    }
    let out = Command::new(bin())
        .args(["--data", data.to_str().unwrap()])
        .args(backend_args)
        .args(["user", "add", "--name", name, "--role", role, "--json"])
        .args(extra)
        .output()
        .unwrap();
    assert!(out.status.success(), "user add failed: {}", String::from_utf8_lossy(&out.stderr));
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    answer["token"].as_str().unwrap().to_owned()
}

/// Real phone photos made into upload renditions by the core, once per test binary.
pub fn photos() -> &'static [PreparedPhoto] {
    static PHOTOS: OnceLock<Vec<PreparedPhoto>> = OnceLock::new();
    PHOTOS.get_or_init(|| {
        ["google_pixel_N_E.jpg", "samsung_sm-g930f_N_E.jpg", "nikon_coolpixp6000_N_E.jpg"]
            .iter()
            .map(|name| {
                let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/testdata/photos").join(name);
                suishoupai_core::photo::prepare(&std::fs::read(path).unwrap()).unwrap()
            })
            .collect()
    })
}

/// A valid resident report over `photos`.
pub fn report(photos: &[&PreparedPhoto]) -> Value {
    report_at(photos, "2026-05-01T08:00:00.000Z")
}

pub fn report_at(photos: &[&PreparedPhoto], created_at: &str) -> Value {
    json!({
        "id": uuid::Uuid::now_v7().to_string(),
        "category": "garbage",
        "note": "门口堆了很多纸箱",
        "location": { "latitude": 39.915, "longitude": 116.404, "source": "device", "accuracy_m": 8.0 },
        "photos": photos.iter().map(|p| json!({
            "sha256": p.sha256, "width": p.width, "height": p.height, "bytes": p.rendition.len()
        })).collect::<Vec<_>>(),
        "reporter": { "role": "resident", "grid_id": null },
        "taken_at": null,
        "created_at": created_at,
    })
}

/// Asserts an error answer: status, JSON ErrorBody with `code`, and a
/// message that contains `mentions`.
pub fn assert_error(answer: Response, status: u16, code: &str, mentions: &str) {
    assert_eq!(answer.status().as_u16(), status, "status");
    let body: Value = answer.json().expect("error answers are JSON");
    assert_eq!(body["error"], code, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains(mentions), "message {message:?} should mention {mentions:?}");
}

/// An HTTP client for the tests. Built in one workspace with the core's sync
/// client, reqwest carries rustls without a crypto provider, so one is
/// installed first (harmless when there is nothing to install it for).
pub fn client() -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder().timeout(std::time::Duration::from_secs(60)).build().unwrap()
}

/// A blocking HTTP client with a bearer token, for the coordinator's side of a test.
pub struct Api {
    client: Client,
    base: String,
    pub token: String,
}

impl Api {
    pub fn new(base: &str, token: &str) -> Api {
        Api { client: client(), base: base.to_owned(), token: token.to_owned() }
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        let r = self.client.get(format!("{}{path}", self.base)).bearer_auth(&self.token).send().unwrap();
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }

    pub fn get_bytes(&self, path: &str) -> (u16, Vec<u8>) {
        let r = self.client.get(format!("{}{path}", self.base)).bearer_auth(&self.token).send().unwrap();
        (r.status().as_u16(), r.bytes().unwrap().to_vec())
    }

    pub fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let r = self.client.post(format!("{}{path}", self.base)).bearer_auth(&self.token).json(body).send().unwrap();
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }

    /// Every report this user may see, following `next_cursor`.
    pub fn all_reports(&self) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/v1/reports?limit=500&cursor={c}"),
                None => "/v1/reports?limit=500".to_owned(),
            };
            let (status, page) = self.get(&path);
            assert_eq!(status, 200, "{page}");
            out.extend(page["reports"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return out,
            }
        }
    }
}

//! The real `suishoupai-server`, run as a process on a random loopback port
//! with its own data directory, and a small HTTP client for the
//! coordinator's side of the tests.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::workspace_binary;

pub fn server_path() -> PathBuf {
    workspace_binary("suishoupai-server", "suishoupai-server")
}

pub struct Server {
    pub data: PathBuf,
    pub addr: SocketAddr,
    child: Child,
}

impl Server {
    /// Starts a server on `data` and waits until it says where it listens.
    pub fn start(data: &Path) -> Server {
        Self::start_on(data, "127.0.0.1:0")
    }

    pub fn start_on(data: &Path, listen: &str) -> Server {
        let mut child = Command::new(server_path())
            .arg("--data")
            .arg(data)
            .args(["serve", "--listen", listen])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start suishoupai-server");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let addr = loop {
            let line = lines.next().expect("server exited before listening").unwrap();
            if let Some(rest) = line.split("http://").nth(1) {
                break rest.trim().trim_end_matches('/').parse().expect("address in the listening line");
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Server { data: data.to_owned(), addr, child }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// SIGKILL: no shutdown hook runs, as in a crash or power cut.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Adds a user with the server's own CLI and returns their token.
    pub fn add_user(&self, name: &str, role: &str, extra: &[&str]) -> String {
        add_user(&self.data, name, role, extra)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn add_user(data: &Path, name: &str, role: &str, extra: &[&str]) -> String {
    let out = Command::new(server_path())
        .arg("--data")
        .arg(data)
        .args(["user", "add", "--name", name, "--role", role])
        .args(extra)
        .arg("--json")
        .output()
        .unwrap();
    assert!(out.status.success(), "user add: {}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["name"], name);
    v["token"].as_str().unwrap().to_owned()
}

/// A blocking HTTP client with a bearer token.
pub struct Api {
    client: reqwest::blocking::Client,
    base: String,
    token: String,
}

impl Api {
    pub fn new(base: &str, token: &str) -> Api {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Api { client: reqwest::blocking::Client::new(), base: base.to_owned(), token: token.to_owned() }
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

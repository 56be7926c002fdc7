//! What the server targets share: a real server state (SQLite storage and
//! the file blob store in a temporary directory, on /dev/shm when there is
//! one, so that an fsync costs little), users of several roles with their
//! tokens, one report to act on, and a way to send a request through the
//! real router as a device would.

use std::sync::OnceLock;

use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use suishoupai_core::PreparedPhoto;
use suishoupai_core::photo;
use suishoupai_server::model::{Role, UploadKey, User};
use suishoupai_server::services::{uploads, users};
use suishoupai_server::state::{DailyQuota, UploadAllowance};
use suishoupai_server::{AppState, Settings};
use tower::ServiceExt;

pub struct Server {
    pub state: AppState,
    pub runtime: tokio::runtime::Runtime,
    /// Resident, grid worker (grid `G1`), coordinator, admin: each with its token.
    pub users: Vec<(User, String)>,
    /// A report of the resident's, in grid `G1`, submitted.
    pub report_id: String,
    router: axum::Router,
    _dir: tempfile::TempDir,
}

/// The real renditions of two of tests/testdata's photos: clean JPEGs the
/// upload check takes.
pub fn renditions() -> &'static [PreparedPhoto] {
    static PHOTOS: OnceLock<Vec<PreparedPhoto>> = OnceLock::new();
    PHOTOS.get_or_init(|| {
        [
            &include_bytes!("../../tests/testdata/photos/kodak_cx7530_S_E_tiny.jpg")[..],
            include_bytes!("../../tests/testdata/photos/no_exif.jpg"),
        ]
        .iter()
        .map(|bytes| photo::prepare(bytes).expect("a test photo prepares"))
        .collect()
    })
}

/// Settings whose quotas a fuzz run never reaches: a quota's 429 would
/// hide every path behind it after the first thousand executions.
pub fn settings() -> Settings {
    Settings {
        upload_allowance: UploadAllowance { max_open: 1 << 30, max_declared_bytes: 1 << 50 },
        daily_quota: DailyQuota { reports: 1 << 40, photo_bytes: 1 << 50 },
        ..Settings::default()
    }
}

fn temp_dir() -> tempfile::TempDir {
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir() { tempfile::tempdir_in(shm) } else { tempfile::tempdir() }.expect("a temporary directory")
}

impl Server {
    /// One server for the whole run (opening SQLite and migrating costs far
    /// more than an execution).
    pub fn shared() -> &'static Server {
        static SERVER: OnceLock<Server> = OnceLock::new();
        SERVER.get_or_init(Server::new)
    }

    pub fn new() -> Server {
        let dir = temp_dir();
        let state = suishoupai_server::open(dir.path(), settings()).expect("the server opens");
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        let mut all = Vec::new();
        for (name, role, grid) in [
            ("resident", Role::Resident, None),
            ("worker", Role::GridWorker, Some("G1")),
            ("coordinator", Role::Coordinator, None),
            ("admin", Role::Admin, None),
        ] {
            let new = users::new_user(name.into(), role, grid.map(str::to_owned), None).expect("a valid user");
            all.push(users::add(&*state.storage, &new).expect("the user is added"));
        }
        let router = suishoupai_server::http::router(state.clone());
        let mut server = Server { state, runtime, users: all, report_id: String::new(), router, _dir: dir };
        server.report_id = server.submit_report();
        server
    }

    pub fn token(&self, role: Role) -> &str {
        &self.users.iter().find(|(u, _)| u.role == role).expect("a user of each role").1
    }

    /// Uploads the first rendition as the resident and pushes a report with it.
    fn submit_report(&self) -> String {
        let (resident, token) = &self.users[0];
        let photo = &renditions()[0];
        let key = UploadKey { user_id: resident.id, sha256: photo.sha256.clone() };
        let create = suishoupai_core::protocol::UploadCreate { sha256: photo.sha256.clone(), length: photo.rendition.len() as u64 };
        self.runtime.block_on(async {
            uploads::start(&self.state, vec![create], resident.id).await.expect("the upload starts");
            uploads::append(&self.state, key, 0, Bytes::from(photo.rendition.clone())).await.expect("the photo is taken");
        });
        let id = uuid::Uuid::now_v7().to_string();
        let report = serde_json::json!({
            "id": id, "category": "hoarding", "note": "fuzz", "location": {"latitude": 31.2, "longitude": 121.4, "source": "manual"},
            "photos": [{"sha256": photo.sha256, "width": photo.width, "height": photo.height, "bytes": photo.rendition.len()}],
            "reporter": {"role": "resident"}, "created_at": chrono_now(),
        });
        let body = serde_json::to_vec(&serde_json::json!({ "reports": [report] })).unwrap();
        let (status, answer) = self.send("POST", "/v1/push", Some(token), Some("application/json"), body);
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&answer));
        assert!(String::from_utf8_lossy(&answer).contains("\"accepted\""), "{}", String::from_utf8_lossy(&answer));
        id
    }

    /// Sends one request through the real router; answers status and body.
    pub fn send(&self, method: &str, path: &str, token: Option<&str>, content_type: Option<&str>, body: Vec<u8>) -> (StatusCode, Bytes) {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let request = request.body(Body::from(body)).expect("a request");
        self.runtime.block_on(async {
            let response = self.router.clone().oneshot(request).await.expect("the router answers");
            let status = response.status();
            (status, response.into_body().collect().await.expect("the body is read").to_bytes())
        })
    }
}

impl Default for Server {
    fn default() -> Self {
        Server::new()
    }
}

/// Now, as RFC 3339 in UTC with milliseconds.
pub fn chrono_now() -> String {
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    suishoupai_server::clock::ms_rfc3339(ms)
}

/// A 5xx is a bug whatever the input: the server must say what was wrong.
pub fn assert_not_5xx(what: &str, status: StatusCode, body: &[u8]) {
    assert!(!status.is_server_error(), "{what} answered {status}: {}", String::from_utf8_lossy(body));
}

//! The simulated network between the devices and the server: every request
//! a device's real sync client makes goes through [`Net::deliver`], which
//! decides with the run's generator whether it arrives, arrives twice,
//! arrives but its answer is lost (and whether the server crashes right
//! after applying it), or is kept to be replayed later, out of order. A
//! partitioned device reaches nothing; a device killed mid-sync sends
//! nothing more. Once healed, every request arrives once and is answered.

use std::path::PathBuf;
use std::sync::Mutex;

use suishoupai_core::protocol::{
    ActionRequest, CaseState, ChangesPage, ErrorBody, PushRequest, PushResponse, TaskFeed, UploadBatch, UploadBatchStates, UploadCreate,
    UploadState,
};
use suishoupai_core::sync::transport::{act_refusal, sort_error};
use suishoupai_core::sync::{ActOutcome, Transport};
use suishoupai_core::{Error, Result};
use suishoupai_server::Settings;
use suishoupai_server::testkit::in_process::{Answer, InProcess, Method};

use super::rng::Rng;

/// How rough this run's network is, in events per thousand requests.
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    /// The request never arrives.
    pub drop: u32,
    /// It arrives twice (a retransmission); the device reads the second answer.
    pub duplicate: u32,
    /// It arrives and is applied, and the answer is lost.
    pub lose_answer: u32,
    /// Of the lost answers: the server crashes right after applying it.
    pub server_crash: u32,
    /// A request with a body is also kept, to arrive again later (a delayed copy).
    pub keep: u32,
    /// Before a request, a kept one arrives (out of order, its answer to no one).
    pub replay: u32,
}

impl Faults {
    /// Calm, rough or very rough, by the seed.
    pub fn draw(rng: &mut Rng) -> Faults {
        match rng.below(4) {
            0 => Faults::default(),
            1 => Faults { drop: 50, duplicate: 30, lose_answer: 50, server_crash: 100, keep: 50, replay: 30 },
            _ => Faults { drop: 150, duplicate: 100, lose_answer: 150, server_crash: 150, keep: 150, replay: 100 },
        }
    }
}

/// One request as it travels.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub path: String,
    pub token: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

/// What the network did in a run.
#[derive(Debug, Clone, Copy, Default)]
pub struct NetStats {
    pub delivered: u64,
    pub dropped: u64,
    pub duplicated: u64,
    pub lost_answers: u64,
    pub replayed: u64,
    pub server_crashes: u64,
}

pub struct Net {
    rng: Rng,
    server: Option<InProcess>,
    server_dir: PathBuf,
    pub faults: Faults,
    /// By actor (the devices, then the coordinator's console).
    pub partitioned: Vec<bool>,
    /// A device killed mid-sync: nothing it sends leaves any more.
    pub dead: Vec<bool>,
    /// A device to be killed after this many more requests.
    pub crash_in: Vec<Option<u32>>,
    kept: Vec<Request>,
    pub healed: bool,
    pub stats: NetStats,
}

impl Net {
    pub fn new(rng: Rng, server_dir: PathBuf, actors: usize) -> Net {
        let mut net = Net {
            rng,
            server: None,
            server_dir,
            faults: Faults::default(),
            partitioned: vec![false; actors],
            dead: vec![false; actors],
            crash_in: vec![None; actors],
            kept: Vec::new(),
            healed: false,
            stats: NetStats::default(),
        };
        net.faults = Faults::draw(&mut net.rng);
        net.restart_server();
        net
    }

    pub fn server(&self) -> &InProcess {
        self.server.as_ref().expect("the server is up between requests")
    }

    /// Drops the server (its state, caches, upload locks, open connections)
    /// and opens its directory again: what was committed stays.
    pub fn restart_server(&mut self) {
        self.server = None;
        self.server = Some(InProcess::open(&self.server_dir, Settings::default()).expect("the server reopens its data directory"));
    }

    pub fn crash_server(&mut self) {
        self.stats.server_crashes += 1;
        self.restart_server();
    }

    fn call(&self, request: &Request) -> Answer {
        let headers: Vec<(&str, String)> = request.headers.iter().map(|(n, v)| (*n, v.clone())).collect();
        self.server().call(request.method.clone(), &request.path, Some(&request.token), &headers, request.body.clone())
    }

    /// One request from `actor`, through this run's faults.
    pub fn deliver(&mut self, actor: usize, request: Request) -> std::result::Result<Answer, String> {
        if self.healed {
            self.stats.delivered += 1;
            return Ok(self.call(&request));
        }
        if self.dead[actor] {
            return Err("the device was killed".into());
        }
        if let Some(left) = &mut self.crash_in[actor] {
            if *left == 0 {
                self.dead[actor] = true;
                self.crash_in[actor] = None;
                return Err("the device was killed".into());
            }
            *left -= 1;
        }
        if self.partitioned[actor] {
            return Err("no route to the server".into());
        }
        let f = self.faults;
        if !self.kept.is_empty() && self.rng.chance(f.replay) {
            let old = self.kept.swap_remove(self.rng.below(self.kept.len() as u64) as usize);
            self.call(&old);
            self.stats.replayed += 1;
        }
        if request.method != Method::GET && self.kept.len() < 8 && self.rng.chance(f.keep) {
            self.kept.push(request.clone());
        }
        let roll = self.rng.below(1000) as u32;
        if roll < f.drop {
            self.stats.dropped += 1;
            return Err("the request was lost".into());
        }
        self.stats.delivered += 1;
        let answer = self.call(&request);
        if roll < f.drop + f.duplicate {
            self.stats.duplicated += 1;
            return Ok(self.call(&request));
        }
        if roll < f.drop + f.duplicate + f.lose_answer {
            self.stats.lost_answers += 1;
            if self.rng.chance(f.server_crash) {
                self.crash_server();
            }
            return Err("the answer was lost".into());
        }
        Ok(answer)
    }

    /// A request straight to the server, outside the faults: what the
    /// checks read, and what a console user sees on screen.
    pub fn look(&self, token: &str, path: &str) -> Answer {
        self.server().call(Method::GET, path, Some(token), &[], Vec::new())
    }
}

/// One device's (or the console's) side of the network: the sync client's
/// [`Transport`], encoding each call as the HTTP transport does.
pub struct SimTransport<'a> {
    pub net: &'a Mutex<Net>,
    pub actor: usize,
    pub token: String,
}

impl SimTransport<'_> {
    pub fn send(&self, method: Method, path: &str, headers: Vec<(&'static str, String)>, body: Vec<u8>) -> Result<Answer> {
        let request = Request { method, path: path.to_owned(), token: self.token.clone(), headers, body };
        self.net.lock().unwrap().deliver(self.actor, request).map_err(Error::Network)
    }

    fn json<T: serde::Serialize>(&self, method: Method, path: &str, body: &T) -> Result<Answer> {
        let body = serde_json::to_vec(body).expect("wire types serialise");
        self.send(method, path, vec![("Content-Type", "application/json".into())], body)
    }
}

/// A 2xx answer's JSON, or the answer sorted as the HTTP transport sorts it.
fn ok_json<T: serde::de::DeserializeOwned>(answer: Answer) -> Result<T> {
    let answer = check(answer)?;
    serde_json::from_slice(&answer.body).map_err(|e| Error::Network(format!("an answer that is not the protocol's: {e}")))
}

fn check(answer: Answer) -> Result<Answer> {
    if (200..300).contains(&answer.status) {
        return Ok(answer);
    }
    let message = serde_json::from_slice::<ErrorBody>(&answer.body).map(|b| b.message).unwrap_or_default();
    Err(sort_error(answer.status, message))
}

fn offset(answer: Answer) -> Result<u64> {
    let answer = check(answer)?;
    answer.header("upload-offset").and_then(|v| v.parse().ok()).ok_or_else(|| Error::Network("no Upload-Offset".into()))
}

impl Transport for SimTransport<'_> {
    fn create_uploads(&self, uploads: Vec<UploadCreate>) -> Result<Vec<UploadState>> {
        let asked = uploads.len();
        let states: UploadBatchStates = ok_json(self.json(Method::POST, "/v1/uploads/batch", &UploadBatch { uploads })?)?;
        if states.uploads.len() != asked {
            return Err(Error::Network("the server's upload states do not match the photos asked about".into()));
        }
        Ok(states.uploads)
    }

    fn upload_offset(&self, sha256: &str) -> Result<u64> {
        offset(self.send(Method::HEAD, &format!("/v1/uploads/{sha256}"), Vec::new(), Vec::new())?)
    }

    fn patch_upload(&self, sha256: &str, at: u64, chunk: bytes::Bytes) -> Result<u64> {
        let headers = vec![
            ("Tus-Resumable", "1.0.0".into()),
            ("Upload-Offset", at.to_string()),
            ("Content-Type", "application/offset+octet-stream".into()),
        ];
        offset(self.send(Method::PATCH, &format!("/v1/uploads/{sha256}"), headers, chunk.to_vec())?)
    }

    fn push(&self, request: &PushRequest) -> Result<PushResponse> {
        ok_json(self.json(Method::POST, "/v1/push", request)?)
    }

    fn changes(&self, cursor: Option<&str>, limit: u32) -> Result<ChangesPage> {
        let path = match cursor {
            Some(cursor) => format!("/v1/changes?limit={limit}&cursor={cursor}"),
            None => format!("/v1/changes?limit={limit}"),
        };
        ok_json(self.send(Method::GET, &path, Vec::new(), Vec::new())?)
    }

    fn act(&self, report_id: &str, request: &ActionRequest) -> Result<ActOutcome> {
        let answer = self.json(Method::POST, &format!("/v1/reports/{report_id}/actions"), request)?;
        if (200..300).contains(&answer.status) {
            return serde_json::from_slice::<CaseState>(&answer.body).map(ActOutcome::Taken).map_err(|e| Error::Network(e.to_string()));
        }
        act_refusal(answer.status, &answer.body, "")
    }

    fn tasks(&self) -> Result<TaskFeed> {
        ok_json(self.send(Method::GET, "/v1/tasks", Vec::new(), Vec::new())?)
    }

    fn thumbnail(&self, sha256: &str) -> Result<Vec<u8>> {
        Ok(check(self.send(Method::GET, &format!("/v1/photos/{sha256}/thumbnail"), Vec::new(), Vec::new())?)?.body)
    }

    /// One upload at a time: the order of requests, and so the run, then
    /// follows from the seed alone.
    fn parallel_uploads(&self) -> usize {
        1
    }
}

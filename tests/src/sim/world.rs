//! The simulated world of one seed: a server data directory and one core
//! store per device, each copied from templates made once per process (so
//! that a seed costs no migrations), the network between them, and what
//! each actor did, for the checks.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use suishoupai_core::{PreparedPhoto, Report, ReporterRole, Role, Store};
use suishoupai_server::Settings;
use suishoupai_server::services::{catalog, grids, users};
use suishoupai_server::storage::{Department, NewUser};
use suishoupai_server::testkit::in_process::InProcess;

use super::net::Net;
use super::rng::Rng;

/// The people of every run: four devices, then the coordinator's console.
pub const PEOPLE: [(&str, Role, Option<&str>, Option<&str>); 5] = [
    ("ana", Role::Resident, None, None),
    ("bo", Role::Resident, None, None),
    ("wang", Role::GridWorker, Some("g-01"), None),
    ("cg", Role::Department, None, Some("城管")),
    ("coco", Role::Coordinator, None, None),
];
pub const DEVICES: usize = 4;
pub const CONSOLE: usize = 4;

/// One square cell around the place where every report is made.
const GRID: &str = r#"{"type":"FeatureCollection","features":[{"type":"Feature",
  "properties":{"grid_id":"g-01","name":"一网格","community":"东社区","street_office":"东街道"},
  "geometry":{"type":"Polygon","coordinates":[[[116.39,39.90],[116.42,39.90],[116.42,39.93],[116.39,39.93],[116.39,39.90]]]}}]}"#;

/// What is made once per process and copied into every seed.
pub struct Templates {
    _dir: tempfile::TempDir,
    pub server: PathBuf,
    pub device: PathBuf,
    pub tokens: Vec<String>,
    /// Tiny distinct JPEGs (a few hundred bytes), as a camera gives them, and prepared.
    pub originals: Vec<Vec<u8>>,
    pub photos: Vec<PreparedPhoto>,
}

/// Where seeds keep their files: memory if the machine has it. Durability
/// across crashes is modelled by dropping and reopening, not by power loss.
pub fn scratch() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() { tempfile::tempdir_in(shm) } else { tempfile::tempdir() }.expect("a temporary directory")
}

pub fn templates() -> &'static Templates {
    static TEMPLATES: OnceLock<Templates> = OnceLock::new();
    TEMPLATES.get_or_init(|| {
        let dir = scratch();
        let (server, device) = (dir.path().join("server"), dir.path().join("device"));
        let tokens = {
            let app = InProcess::open(&server, Settings::default()).expect("a fresh server");
            app.db(|s| {
                catalog::put_department(s, &Department { code: "城管".into(), name: "城市管理局".into(), name_en: None })?;
                grids::import(s, &grids::parse(GRID, suishoupai_core::Crs::Wgs84)?)?;
                PEOPLE
                    .iter()
                    .map(|(name, role, grid, department)| {
                        let user = NewUser {
                            name: (*name).into(),
                            role: *role,
                            grid_id: grid.map(Into::into),
                            department: department.map(Into::into),
                        };
                        Ok(users::add(s, &user)?.1)
                    })
                    .collect::<suishoupai_server::Result<Vec<_>>>()
            })
            .expect("users and the grid")
        };
        drop(Store::open(&device).expect("a fresh store"));
        let originals: Vec<Vec<u8>> = (0..6).map(tiny_jpeg).collect();
        let photos = originals.iter().map(|o| suishoupai_core::photo::prepare(o).expect("a tiny JPEG prepares")).collect();
        Templates { _dir: dir, server, device, tokens, originals, photos }
    })
}

/// A 24×16 JPEG of one colour per `n`.
fn tiny_jpeg(n: u8) -> Vec<u8> {
    let image = image::RgbImage::from_fn(24, 16, |x, y| image::Rgb([n.wrapping_mul(40), (x * 10) as u8, (y * 15) as u8]));
    let mut bytes = std::io::Cursor::new(Vec::new());
    image.write_to(&mut bytes, image::ImageFormat::Jpeg).expect("encodes");
    bytes.into_inner()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

pub struct Device {
    pub name: &'static str,
    pub role: Role,
    pub token: String,
    pub dir: PathBuf,
    /// None while crashed.
    pub store: Option<Store>,
    /// How far this phone's clock is off the server's.
    pub skew_ms: i64,
    /// Every report this device made (the store answered it).
    pub created: Vec<Report>,
}

impl Device {
    pub fn store(&mut self) -> &Store {
        if self.store.is_none() {
            self.store = Some(Store::open(&self.dir).expect("a device's store reopens after a crash"));
        }
        self.store.as_ref().unwrap()
    }

    /// Kills the device: the store and everything in memory go; what it
    /// committed stays in its directory.
    pub fn crash(&mut self) {
        self.store = None;
    }

    pub fn reporter_role(&self) -> ReporterRole {
        if self.role == Role::GridWorker { ReporterRole::GridWorker } else { ReporterRole::Resident }
    }
}

/// What the console's coordinator did, as the console showed it.
#[derive(Debug, Default)]
pub struct Console {
    /// Actions answered 200.
    pub acknowledged: Vec<String>,
    /// Actions answered with a refusal (the case had moved on).
    pub refused: Vec<(String, String)>,
}

pub struct World {
    pub seed: u64,
    _dir: tempfile::TempDir,
    pub net: Mutex<Net>,
    pub devices: Vec<Device>,
    pub console: Console,
    pub coordinator_token: String,
    /// The workload's own stream of chance (the network has another).
    pub rng: Rng,
}

impl World {
    pub fn new(seed: u64) -> World {
        let t = templates();
        let dir = scratch();
        let server = dir.path().join("server");
        copy_dir(&t.server, &server);
        let devices = (0..DEVICES)
            .map(|i| {
                let device = dir.path().join(PEOPLE[i].0);
                copy_dir(&t.device, &device);
                Device {
                    name: PEOPLE[i].0,
                    role: PEOPLE[i].1,
                    token: t.tokens[i].clone(),
                    dir: device,
                    store: None,
                    skew_ms: 0,
                    created: Vec::new(),
                }
            })
            .collect();
        World {
            seed,
            net: Mutex::new(Net::new(Rng::new(seed, 1), server, PEOPLE.len())),
            devices,
            console: Console::default(),
            coordinator_token: t.tokens[CONSOLE].clone(),
            rng: Rng::new(seed, 2),
            _dir: dir,
        }
    }
}

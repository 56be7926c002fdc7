//! The upload chunk sequence: arbitrary create / patch / offset operations,
//! with arbitrary offsets and chunk bytes, against the real upload service
//! over real SQLite storage and the file blob store. After every step the
//! invariants hold: the offset is never past the declared length, a chunk
//! at any offset but the current one is refused and changes nothing, and a
//! finished photo is held with exactly the bytes whose sha256 names it,
//! which are the bytes the accepted chunks carried, in order.
#![no_main]

use std::collections::HashMap;

use arbitrary::Arbitrary;
use axum::body::Bytes;
use libfuzzer_sys::fuzz_target;
use suishoupai_core::photo::sha256_hex;
use suishoupai_core::protocol::UploadCreate;
use suishoupai_fuzz::{Server, renditions};
use suishoupai_server::Error;
use suishoupai_server::blobs::BlobKind;
use suishoupai_server::model::{Role, UploadKey};
use suishoupai_server::services::{uploads, users};

#[derive(Debug, Arbitrary)]
enum Photo {
    /// One of the real renditions: it can finish.
    Real(u8),
    /// Bytes named by their own sha256: they finish only if a clean JPEG.
    Bytes(Vec<u8>),
    /// A name the bytes will never match.
    Named([u8; 32], u16),
}

#[derive(Debug, Arbitrary)]
enum Offset {
    Current,
    Past(u16),
    Before(u16),
    Any(u64),
}

#[derive(Debug, Arbitrary)]
enum Chunk {
    /// The photo's own bytes from the offset, this many.
    Own(u16),
    Garbage(Vec<u8>),
}

#[derive(Debug, Arbitrary)]
enum Op {
    /// Starts (or asks about) an upload; `lie` changes the declared length.
    Create {
        photo: u8,
        lie: Option<i16>,
    },
    Patch {
        photo: u8,
        offset: Offset,
        chunk: Chunk,
    },
    Head {
        photo: u8,
    },
}

#[derive(Debug, Arbitrary)]
struct Plan {
    photos: Vec<Photo>,
    ops: Vec<Op>,
}

struct Subject {
    sha256: String,
    bytes: Vec<u8>,
}

fuzz_target!(|plan: Plan| {
    let server = Server::shared();
    let subjects: Vec<Subject> = plan
        .photos
        .iter()
        .take(4)
        .map(|p| match p {
            Photo::Real(i) => {
                let r = &renditions()[*i as usize % renditions().len()];
                Subject { sha256: r.sha256.clone(), bytes: r.rendition.clone() }
            }
            Photo::Bytes(bytes) => Subject { sha256: sha256_hex(bytes), bytes: bytes.clone() },
            Photo::Named(name, len) => Subject { sha256: hex::encode(name), bytes: vec![0xA5; *len as usize % 4096] },
        })
        .collect();
    if subjects.is_empty() {
        return;
    }
    // A new user for each execution: uploads are a user's own, so the
    // runs do not see each other's.
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let name = format!("uploader{}", NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let (user, _) = users::add(&*server.state.storage, &users::new_user(name, Role::Resident, None, None).unwrap()).unwrap();
    // What the model says each upload has taken: declared length, bytes accepted.
    let mut model: HashMap<String, (u64, Vec<u8>)> = HashMap::new();
    let app = &server.state;
    for op in plan.ops.iter().take(32) {
        let pick = |i: &u8| &subjects[*i as usize % subjects.len()];
        let key = |s: &Subject| UploadKey { user_id: user.id, sha256: s.sha256.clone() };
        match op {
            Op::Create { photo, lie } => {
                let s = pick(photo);
                let length = match lie {
                    None => s.bytes.len() as u64,
                    Some(d) => (s.bytes.len() as i64 + *d as i64).max(0) as u64,
                };
                let create = UploadCreate { sha256: s.sha256.clone(), length };
                match server.runtime.block_on(uploads::start(app, vec![create], user.id)) {
                    Ok(states) => {
                        let state = &states[0];
                        assert!(state.offset <= state.length, "{state:?}");
                        if !state.complete {
                            let (len, taken) = model.entry(s.sha256.clone()).or_insert((length, Vec::new()));
                            if *len != length {
                                // Another length starts the upload again.
                                *len = length;
                                taken.clear();
                            }
                            assert_eq!(state.offset, taken.len() as u64, "{state:?}");
                            assert_eq!(state.length, length);
                        }
                    }
                    Err(Error::BadRequest(_)) | Err(Error::TooLarge(_)) => {}
                    Err(e) => panic!("start: {e:?}"),
                }
            }
            Op::Patch { photo, offset, chunk } => {
                let s = pick(photo);
                let before = server.runtime.block_on(uploads::state(app, key(s)));
                let current = before.as_ref().map_or(0, |b| b.offset);
                let at = match offset {
                    Offset::Current => current,
                    Offset::Past(d) => current + *d as u64,
                    Offset::Before(d) => current.saturating_sub(*d as u64),
                    Offset::Any(n) => *n,
                };
                let bytes = match chunk {
                    Chunk::Own(n) => {
                        s.bytes.get(at.min(s.bytes.len() as u64) as usize..).unwrap_or_default().iter().take(*n as usize).copied().collect()
                    }
                    Chunk::Garbage(g) => g.clone(),
                };
                let result = server.runtime.block_on(uploads::append(app, key(s), at, Bytes::from(bytes.clone())));
                let after = server.runtime.block_on(uploads::state(app, key(s)));
                match (&before, &result) {
                    (Ok(b), Ok(end)) => {
                        assert_eq!(at, b.offset, "a chunk at {at} was taken at offset {}", b.offset);
                        if b.complete {
                            assert_eq!(*end, b.offset);
                        } else {
                            assert_eq!(*end, at + bytes.len() as u64);
                            assert!(*end <= b.length, "offset {end} past the declared {}", b.length);
                            model.get_mut(&s.sha256).expect("an upload the model knows").1.extend_from_slice(&bytes);
                        }
                    }
                    (Ok(b), Err(Error::OffsetMismatch { expected, got })) => {
                        assert_eq!((*expected, *got), (b.offset, at));
                        assert_ne!(at, b.offset);
                        assert_eq!(after.as_ref().ok(), Some(b), "a refused chunk changed the upload");
                    }
                    (Ok(b), Err(_)) => {
                        // Past the length (nothing changes) or a finished photo that failed
                        // its check (the upload is gone, to start again).
                        if let Ok(a) = &after {
                            assert_eq!(a, b, "a refused chunk changed the upload");
                        } else {
                            model.remove(&s.sha256);
                        }
                    }
                    (Err(_), Ok(end)) => panic!("a chunk was taken at {end} for an upload never started"),
                    (Err(_), Err(_)) => {}
                }
                if let Ok(a) = &after {
                    assert!(a.offset <= a.length, "{a:?}");
                    if a.complete {
                        let held =
                            app.blobs.get(BlobKind::Photo, &s.sha256).expect("the blob store reads").expect("a finished photo is stored");
                        assert_eq!(sha256_hex(&held), s.sha256, "a finished photo's bytes match its name");
                        assert_eq!(held.len() as u64, a.length);
                        if let Some((_, taken)) = model.get(&s.sha256) {
                            assert_eq!(&held, taken, "the photo is the accepted chunks, in order");
                        }
                    } else {
                        let (_, taken) = &model[&s.sha256];
                        assert_eq!(a.offset, taken.len() as u64);
                    }
                }
            }
            Op::Head { photo } => {
                if let Ok(state) = server.runtime.block_on(uploads::state(app, key(pick(photo)))) {
                    assert!(state.offset <= state.length, "{state:?}");
                }
            }
        }
    }
});

//! The [`Blobs`] contract as tests, written against the trait so that every
//! store runs the same suite (the file store and the S3 store, at the
//! bottom of each module). Each test takes a function that opens the same
//! store again, as a second server instance, or the same one restarted,
//! would.

use super::{BlobKind, Blobs};
use crate::model::UploadKey;

const SHA: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

pub type Open<'a> = &'a (dyn Fn() -> Box<dyn Blobs> + Sync);

pub fn chunks_overwrite_what_lies_beyond_their_offset(open: Open) {
    let blobs = open();
    let up = UploadKey { user_id: 7, sha256: SHA.into() };
    blobs.write_chunk(&up, 0, b"hello").unwrap();
    // A chunk written but never recorded, then the same offset again.
    blobs.write_chunk(&up, 5, b" stale bytes").unwrap();
    blobs.write_chunk(&up, 5, b" world").unwrap();
    assert_eq!(blobs.read_partial(&up, 11).unwrap(), b"hello world");
    assert_eq!(blobs.read_partial(&up, 4).unwrap(), b"hell");
    assert!(blobs.read_partial(&up, 12).is_err(), "no more bytes than were written");
    assert!(blobs.write_chunk(&up, 50, b"gap").is_err());
    blobs.discard_partial(&up).unwrap();
    blobs.discard_partial(&up).unwrap();
    assert!(blobs.read_partial(&up, 1).is_err());
    assert_eq!(blobs.partials().unwrap(), []);
}

pub fn partials_are_one_users_and_listed_by_key(open: Open) {
    let blobs = open();
    let (ana, bo) = (UploadKey { user_id: 1, sha256: SHA.into() }, UploadKey { user_id: 2, sha256: SHA.into() });
    blobs.write_chunk(&ana, 0, b"ana's").unwrap();
    blobs.write_chunk(&bo, 0, b"bo").unwrap();
    assert_eq!(blobs.read_partial(&ana, 5).unwrap(), b"ana's");
    assert_eq!(blobs.read_partial(&bo, 2).unwrap(), b"bo");
    let mut keys = blobs.partials().unwrap();
    keys.sort_by_key(|k| k.user_id);
    assert_eq!(keys, [ana, bo]);
}

/// An upload begun on one instance goes on on another, or after a restart.
pub fn an_upload_resumes_on_another_instance(open: Open) {
    let (first, second) = (open(), open());
    let up = UploadKey { user_id: 3, sha256: SHA.into() };
    first.write_chunk(&up, 0, b"half ").unwrap();
    drop(first);
    second.write_chunk(&up, 5, b"and the rest").unwrap();
    assert_eq!(open().read_partial(&up, 17).unwrap(), b"half and the rest");
    assert_eq!(open().partials().unwrap(), [up]);
}

pub fn put_is_idempotent_and_get_misses_cleanly(open: Open) {
    let blobs = open();
    assert_eq!(blobs.get(BlobKind::Photo, SHA).unwrap(), None);
    blobs.put(BlobKind::Photo, SHA, b"jpeg").unwrap();
    blobs.put(BlobKind::Photo, SHA, b"jpeg").unwrap();
    assert_eq!(blobs.get(BlobKind::Photo, SHA).unwrap().as_deref(), Some(&b"jpeg"[..]));
    assert_eq!(blobs.get(BlobKind::Thumbnail, SHA).unwrap(), None);
}

/// A name is its bytes' hash: once there, a blob is never replaced, and two
/// instances finishing the same photo at once leave it whole.
pub fn the_first_put_of_a_name_stays(open: Open) {
    let blobs = open();
    blobs.put(BlobKind::Photo, SHA, b"first").unwrap();
    blobs.put(BlobKind::Photo, SHA, b"second").unwrap();
    assert_eq!(blobs.get(BlobKind::Photo, SHA).unwrap().as_deref(), Some(&b"first"[..]));

    let other = "1111111111111111111111111111111111111111111111111111111111111111";
    let whole = vec![7u8; 256 * 1024];
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| open().put(BlobKind::Photo, other, &whole).unwrap());
        }
    });
    assert_eq!(open().get(BlobKind::Photo, other).unwrap(), Some(whole));
}

pub fn a_removed_blob_is_gone_and_can_be_put_again(open: Open) {
    let blobs = open();
    blobs.put(BlobKind::Photo, SHA, b"jpeg").unwrap();
    blobs.put(BlobKind::Thumbnail, SHA, b"thumb").unwrap();
    blobs.remove(BlobKind::Photo, SHA).unwrap();
    blobs.remove(BlobKind::Photo, SHA).unwrap();
    assert_eq!(blobs.get(BlobKind::Photo, SHA).unwrap(), None);
    assert_eq!(blobs.get(BlobKind::Thumbnail, SHA).unwrap().as_deref(), Some(&b"thumb"[..]), "the other kind stays");
    blobs.put(BlobKind::Photo, SHA, b"jpeg").unwrap();
    assert_eq!(blobs.get(BlobKind::Photo, SHA).unwrap().as_deref(), Some(&b"jpeg"[..]));
}

/// Runs every test of the contract on the store `$open` opens.
#[macro_export]
macro_rules! blob_contract_tests {
    ($open:expr) => {
        $crate::blob_contract_tests!(@each $open;
            chunks_overwrite_what_lies_beyond_their_offset,
            partials_are_one_users_and_listed_by_key,
            an_upload_resumes_on_another_instance,
            put_is_idempotent_and_get_misses_cleanly,
            the_first_put_of_a_name_stays,
            a_removed_blob_is_gone_and_can_be_put_again);
    };
    (@each $open:expr; $($name:ident),+) => {
        $(#[test] fn $name() { let open = $open; $crate::blobs::contract::$name(&open); })+
    };
}

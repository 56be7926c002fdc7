//! [`Blobs`] in an S3-compatible bucket, through the `object_store` crate:
//! `renditions/<sha256>.jpg`, `thumbnails/<sha256>.jpg`, and an upload under
//! way as one object per chunk, `partial/<user id>-<sha256>/<offset>`
//! (the offset in 20 digits, so that names sort as numbers).
//!
//! S3 has no append and no truncate, so a partial upload is its chunks: a
//! chunk is one PUT, whole or absent; a chunk written again at an offset
//! replaces the one there and drops those beyond it, as the file store cuts
//! its file. Any instance can read the chunks another wrote, so an upload
//! resumes after a restart or on another instance (its offset is in
//! storage). A complete photo is one PUT with `If-None-Match: *`
//! ([`PutMode::Create`]): it appears only whole, and when two instances
//! finish the same photo the second finds it there and leaves it alone
//! (its name is its hash, so the bytes are the same).
//!
//! The trait is blocking and `object_store` async: calls run on a small
//! runtime of this store's own (see [`Bridge`]), so that they work from the
//! server's blocking pool and from the command line alike.

use std::sync::Arc;

use futures_util::TryStreamExt;
use object_store::aws::{AmazonS3Builder, S3ConditionalPut};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};

use super::{BlobKind, Blobs};
use crate::bridge::Bridge;
use crate::error::{Error, Result};
use crate::model::UploadKey;

/// Where the bucket is: `--photos s3://BUCKET [--s3-endpoint URL]`, with
/// credentials and region from the usual AWS environment variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    /// An S3-compatible server's address (MinIO, a cloud's own); AWS when None.
    pub endpoint: Option<String>,
    /// An access key and its secret given here rather than by the
    /// environment (tests and tools; `serve` reads the environment).
    pub credentials: Option<(String, String)>,
}

impl S3Location {
    /// `s3://BUCKET`, or None for anything else (a local directory).
    pub fn parse(photos: &str, endpoint: Option<&str>) -> Option<S3Location> {
        let bucket = photos.strip_prefix("s3://")?.trim_end_matches('/');
        (!bucket.is_empty() && !bucket.contains('/')).then(|| S3Location {
            bucket: bucket.to_owned(),
            endpoint: endpoint.map(str::to_owned),
            credentials: None,
        })
    }
}

pub struct S3Blobs {
    store: Arc<dyn ObjectStore>,
    bridge: Bridge,
}

fn failed(what: impl Into<String>) -> impl FnOnce(object_store::Error) -> Error {
    let what = what.into();
    move |source| Error::PhotoStore { what, source: Box::new(source) }
}

fn is_not_found(e: &object_store::Error) -> bool {
    matches!(e, object_store::Error::NotFound { .. })
}

impl S3Blobs {
    /// Connects to the bucket (nothing is sent until the first call; the
    /// health check asks it).
    pub fn open(location: &S3Location) -> Result<Self> {
        // The TLS stack's cryptography, once per process (an error means
        // another part of the process installed it first).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(&location.bucket).with_conditional_put(S3ConditionalPut::ETagMatch);
        if let Some((key, secret)) = &location.credentials {
            builder = builder.with_access_key_id(key).with_secret_access_key(secret);
        }
        if let Some(endpoint) = &location.endpoint {
            builder = builder.with_endpoint(endpoint).with_allow_http(endpoint.starts_with("http://"));
        }
        let store = builder.build().map_err(failed(format!("the bucket {}", location.bucket)))?;
        Ok(S3Blobs { store: Arc::new(store), bridge: Bridge::new("s3")? })
    }

    fn path(kind: BlobKind, sha256: &str) -> Path {
        let dir = match kind {
            BlobKind::Photo => "renditions",
            BlobKind::Thumbnail => "thumbnails",
        };
        Path::from(format!("{dir}/{sha256}.jpg"))
    }

    fn partial_prefix(upload: &UploadKey) -> Path {
        Path::from(format!("partial/{}-{}", upload.user_id, upload.sha256))
    }

    /// The chunks of an upload, by offset: (offset, name, length).
    fn chunks(&self, upload: &UploadKey) -> Result<Vec<(u64, Path, u64)>> {
        let (store, prefix) = (self.store.clone(), Self::partial_prefix(upload));
        let listed: Vec<object_store::ObjectMeta> = self
            .bridge
            .run(async move { store.list(Some(&prefix)).try_collect().await })
            .map_err(failed(format!("listing the chunks of upload {}", upload.sha256)))?;
        let mut chunks: Vec<_> = listed
            .into_iter()
            .filter_map(|meta| Some((meta.location.filename()?.parse::<u64>().ok()?, meta.location.clone(), meta.size)))
            .collect();
        chunks.sort_by_key(|c| c.0);
        Ok(chunks)
    }

    fn delete(&self, paths: Vec<Path>) -> Result<()> {
        for path in paths {
            let (store, name) = (self.store.clone(), path.to_string());
            match self.bridge.run(async move { store.delete(&path).await }) {
                Err(e) if !is_not_found(&e) => return Err(failed(format!("removing {name}"))(e)),
                _ => {}
            }
        }
        Ok(())
    }
}

/// How many bytes the chunks hold from 0 without a gap.
fn contiguous(chunks: &[(u64, Path, u64)]) -> u64 {
    chunks.iter().fold(0, |end, (start, _, len)| if *start <= end { end.max(start + len) } else { end })
}

impl Blobs for S3Blobs {
    fn write_chunk(&self, upload: &UploadKey, offset: u64, bytes: &[u8]) -> Result<()> {
        let chunks = self.chunks(upload)?;
        let held = contiguous(&chunks);
        if held < offset {
            return Err(Error::Internal(format!(
                "partial upload {} holds {held} bytes, fewer than its recorded offset {offset}",
                upload.sha256
            )));
        }
        // Whatever lies at or beyond the offset was never recorded.
        self.delete(chunks.into_iter().filter(|c| c.0 >= offset).map(|c| c.1).collect())?;
        let path = Path::from(format!("{}/{offset:020}", Self::partial_prefix(upload)));
        let (store, payload) = (self.store.clone(), PutPayload::from(bytes.to_vec()));
        self.bridge
            .run(async move { store.put(&path, payload).await })
            .map_err(failed(format!("writing a chunk of upload {}", upload.sha256)))?;
        Ok(())
    }

    fn read_partial(&self, upload: &UploadKey, length: u64) -> Result<Vec<u8>> {
        let mut bytes = Vec::with_capacity(length as usize);
        for (start, path, _) in self.chunks(upload)? {
            let have = bytes.len() as u64;
            if have >= length || start > have {
                break;
            }
            let store = self.store.clone();
            let chunk = self
                .bridge
                .run(async move { store.get(&path).await?.bytes().await })
                .map_err(failed(format!("reading upload {}", upload.sha256)))?;
            // A chunk that overlaps what is held adds only what lies beyond.
            let skip = (have - start) as usize;
            bytes.extend_from_slice(chunk.get(skip..).unwrap_or_default());
        }
        if (bytes.len() as u64) < length {
            return Err(Error::Internal(format!("partial upload {} holds {} bytes, fewer than {length}", upload.sha256, bytes.len())));
        }
        bytes.truncate(length as usize);
        Ok(bytes)
    }

    fn discard_partial(&self, upload: &UploadKey) -> Result<()> {
        let chunks = self.chunks(upload)?;
        self.delete(chunks.into_iter().map(|c| c.1).collect())
    }

    fn partials(&self) -> Result<Vec<UploadKey>> {
        let store = self.store.clone();
        let listed = self
            .bridge
            .run(async move { store.list_with_delimiter(Some(&Path::from("partial"))).await })
            .map_err(failed("listing the uploads under way"))?;
        Ok(listed
            .common_prefixes
            .iter()
            .filter_map(|prefix| {
                let (user_id, sha256) = prefix.filename()?.split_once('-')?;
                let user_id = user_id.parse().ok()?;
                suishoupai_core::rules::is_sha256_hex(sha256).then(|| UploadKey { user_id, sha256: sha256.to_owned() })
            })
            .collect())
    }

    fn put(&self, kind: BlobKind, sha256: &str, bytes: &[u8]) -> Result<()> {
        let (store, path) = (self.store.clone(), Self::path(kind, sha256));
        let (payload, create) = (PutPayload::from(bytes.to_vec()), PutOptions { mode: PutMode::Create, ..Default::default() });
        match self.bridge.run(async move { store.put_opts(&path, payload, create).await }) {
            // There already, whole: the same bytes, since the name is their hash.
            Ok(_) | Err(object_store::Error::AlreadyExists { .. }) => Ok(()),
            Err(e) => Err(failed(format!("storing photo {sha256}"))(e)),
        }
    }

    fn get(&self, kind: BlobKind, sha256: &str) -> Result<Option<Vec<u8>>> {
        let (store, path) = (self.store.clone(), Self::path(kind, sha256));
        match self.bridge.run(async move { store.get(&path).await?.bytes().await }) {
            Ok(bytes) => Ok(Some(bytes.to_vec())),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(failed(format!("reading photo {sha256}"))(e)),
        }
    }

    fn remove(&self, kind: BlobKind, sha256: &str) -> Result<()> {
        self.delete(vec![Self::path(kind, sha256)])
    }

    /// Whether the bucket answers: a listing of an empty prefix (a missing
    /// bucket or wrong keys fail it, where a missing object would not).
    fn check(&self) -> Result<()> {
        let store = self.store.clone();
        self.bridge
            .run(async move { store.list_with_delimiter(Some(&Path::from("health"))).await })
            .map(drop)
            .map_err(failed("the photo bucket"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    mod contract {
        use super::super::S3Blobs;
        use crate::blobs::Blobs;

        crate::blob_contract_tests!({
            let bucket = crate::testkit::s3::bucket();
            move || -> Box<dyn Blobs> { Box::new(S3Blobs::open(&bucket).unwrap()) }
        });
    }

    #[test]
    fn only_an_s3_url_names_a_bucket() {
        assert_eq!(
            S3Location::parse("s3://photos", Some("http://127.0.0.1:9000")),
            Some(S3Location { bucket: "photos".into(), endpoint: Some("http://127.0.0.1:9000".into()), credentials: None })
        );
        assert_eq!(S3Location::parse("s3://photos/", None).map(|l| l.bucket), Some("photos".into()));
        for not in ["/var/lib/photos", "s3://", "s3://a/b", "photos"] {
            assert_eq!(S3Location::parse(not, None), None, "{not}");
        }
    }

    #[test]
    fn contiguous_bytes_stop_at_the_first_gap() {
        let c = |start, len| (start, Path::from("x"), len);
        assert_eq!(contiguous(&[]), 0);
        assert_eq!(contiguous(&[c(0, 5), c(5, 6)]), 11);
        assert_eq!(contiguous(&[c(0, 5), c(3, 6)]), 9);
        assert_eq!(contiguous(&[c(0, 5), c(7, 6)]), 5);
        assert_eq!(contiguous(&[c(2, 5)]), 0);
    }
}

//! Where the server keeps its rows and its photos: SQLite and a photo
//! directory inside the data directory by default; PostgreSQL and an
//! S3-compatible bucket for several instances (`--database postgres://…
//! --photos s3://BUCKET [--s3-endpoint URL]`). Every command opens them
//! here, so `user`, `grid`, `bulletin` and the rest work against either.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::blobs::Blobs;
use crate::blobs::fs::FsBlobs;
use crate::blobs::s3::{S3Blobs, S3Location};
use crate::error::{Error, Result};
use crate::storage::Storage;
use crate::storage::postgres::{PostgresOptions, PostgresStorage};
use crate::storage::sqlite::SqliteStorage;

/// The rows' home.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Database {
    /// `DATA/server.sqlite3`.
    #[default]
    Sqlite,
    /// A `postgres://` connection URL.
    Postgres(String),
}

/// The photos' home.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Photos {
    Dir(PathBuf),
    S3(S3Location),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backends {
    pub database: Database,
    pub photos: Photos,
}

impl Backends {
    /// The embedded default: everything in the data directory.
    pub fn local(data: &Path) -> Backends {
        Backends { database: Database::Sqlite, photos: Photos::Dir(data.join("photos")) }
    }

    /// From the command line's `--database`, `--photos` and `--s3-endpoint`.
    pub fn parse(data: &Path, database: Option<&str>, photos: Option<&str>, s3_endpoint: Option<&str>) -> Result<Backends> {
        let database = match database {
            None | Some("sqlite") => Database::Sqlite,
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => Database::Postgres(url.to_owned()),
            Some(other) => {
                return Err(Error::BadRequest(format!("--database must be `sqlite` or a postgres:// URL, not `{}`", redact(other))));
            }
        };
        let photos = match photos {
            None => Photos::Dir(data.join("photos")),
            Some(url) if url.starts_with("s3://") => Photos::S3(
                S3Location::parse(url, s3_endpoint)
                    .ok_or_else(|| Error::BadRequest(format!("--photos {url}: an S3 location is s3://BUCKET, without a path")))?,
            ),
            Some(dir) => Photos::Dir(PathBuf::from(dir)),
        };
        if s3_endpoint.is_some() && !matches!(photos, Photos::S3(_)) {
            return Err(Error::BadRequest("--s3-endpoint needs --photos s3://BUCKET".into()));
        }
        Ok(Backends { database, photos })
    }

    /// Opens (creating or upgrading) the database.
    pub fn storage(&self, data: &Path) -> Result<Arc<dyn Storage>> {
        Ok(match &self.database {
            Database::Sqlite => Arc::new(SqliteStorage::open(data)?),
            Database::Postgres(url) => Arc::new(PostgresStorage::connect(url, &PostgresOptions::default())?),
        })
    }

    /// Opens the photo store. `server` is true for the server itself, which
    /// clears what a crash left half-written in a photo directory.
    pub fn blobs(&self, server: bool) -> Result<Arc<dyn Blobs>> {
        Ok(match &self.photos {
            Photos::Dir(dir) => {
                let blobs = FsBlobs::open(dir)?;
                if server {
                    blobs.remove_leftovers();
                }
                Arc::new(blobs)
            }
            Photos::S3(location) => Arc::new(S3Blobs::open(location)?),
        })
    }

    /// Where things are kept, for the person who started the server.
    pub fn describe(&self, data: &Path) -> String {
        let rows = match &self.database {
            Database::Sqlite => format!("SQLite in {}", data.display()),
            Database::Postgres(url) => format!("PostgreSQL at {}", redact(url)),
        };
        let photos = match &self.photos {
            Photos::Dir(dir) => format!("photo files in {}", dir.display()),
            Photos::S3(l) => format!("photos in s3://{}{}", l.bucket, l.endpoint.as_ref().map(|e| format!(" at {e}")).unwrap_or_default()),
        };
        format!("data: {rows}, {photos}")
    }

    /// Whether both live in the data directory (what `backup` and `restore` copy).
    pub fn is_local(&self, data: &Path) -> bool {
        self.database == Database::Sqlite && self.photos == Photos::Dir(data.join("photos"))
    }
}

/// A URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_the_data_directory() {
        let data = Path::new("/srv/ssp");
        let b = Backends::parse(data, None, None, None).unwrap();
        assert_eq!(b, Backends::local(data));
        assert!(b.is_local(data));
        assert_eq!(Backends::parse(data, Some("sqlite"), None, None).unwrap(), b);
    }

    #[test]
    fn postgres_and_s3_are_named_by_url() {
        let data = Path::new("/srv/ssp");
        let b = Backends::parse(data, Some("postgres://ssp@db/ssp"), Some("s3://photos"), Some("http://minio:9000")).unwrap();
        assert_eq!(b.database, Database::Postgres("postgres://ssp@db/ssp".into()));
        assert!(matches!(&b.photos, Photos::S3(l) if l.bucket == "photos" && l.endpoint.as_deref() == Some("http://minio:9000")));
        assert!(!b.is_local(data));
    }

    #[test]
    fn a_bad_location_is_refused_without_showing_a_password() {
        let data = Path::new("/srv/ssp");
        let e = Backends::parse(data, Some("mysql://root:hunter2@db/x"), None, None).unwrap_err().to_string();
        assert!(e.contains("root:***@db") && !e.contains("hunter2"), "{e}");
        assert!(Backends::parse(data, None, Some("s3://a/b"), None).is_err());
        assert!(Backends::parse(data, None, None, Some("http://minio:9000")).is_err(), "an endpoint without a bucket");
    }
}

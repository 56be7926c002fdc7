//! Reports as users read them.

use crate::auth;
use crate::error::{Error, Result};
use crate::model::User;
use crate::storage::{self, ChangeBatch, ReportFilter, ReportPage, Storage, StoredReport};

pub fn report_not_found(id: &str) -> Error {
    Error::NotFound(format!("no report {id}"))
}

/// The reports `user` may see, filtered and paged.
pub fn list(storage: &dyn Storage, user: &User, filter: &ReportFilter) -> Result<ReportPage> {
    let scope = auth::scope(user);
    storage::read(storage, |tx| Ok(tx.reports(&scope, filter)?))
}

/// One report `user` may see; 404 for any other, whether it exists or not.
pub fn one(storage: &dyn Storage, user: &User, id: &str) -> Result<StoredReport> {
    let scope = auth::scope(user);
    storage::read(storage, |tx| tx.report(&scope, id)?.ok_or_else(|| report_not_found(id)))
}

/// What changed for `user` after sequence number `after`, oldest first.
pub fn changes(storage: &dyn Storage, user: &User, after: Option<i64>, limit: usize) -> Result<ChangeBatch> {
    let scope = auth::scope(user);
    storage::read(storage, |tx| Ok(tx.changes(&scope, after, limit)?))
}

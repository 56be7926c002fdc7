//! The decisions of the protocol, between the HTTP handlers and storage:
//! what a push, an upload, an action or a read means for whom. A service
//! knows storage's transactions and the permission rules of
//! [`crate::auth`], and no HTTP at all.

pub mod backup;
pub mod bulletin;
pub mod catalog;
pub mod duplicates;
pub mod grids;
pub mod housekeeping;
pub mod ledger;
pub mod metrics;
pub mod open311;
pub mod photos;
pub mod push;
pub mod quotas;
pub mod ranking;
pub mod relocate;
pub mod reports;
pub mod sessions;
pub mod sign_in;
pub mod stats;
pub mod tasks;
pub mod uploads;
pub mod users;
pub mod whole_photos;
pub mod workflow;

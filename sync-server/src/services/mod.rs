//! The decisions of the protocol, between the HTTP handlers and storage:
//! what a push, an upload, a status change or a read means for whom. A
//! service knows storage's transactions and the permission rules of
//! [`crate::auth`], and no HTTP at all.

pub mod housekeeping;
pub mod photos;
pub mod push;
pub mod reports;
pub mod sessions;
pub mod uploads;
pub mod users;

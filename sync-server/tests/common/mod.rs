//! The server's test kit, shared with the end-to-end tests.
#![allow(unused_imports, dead_code)]

pub use suishoupai_server::testkit::*;

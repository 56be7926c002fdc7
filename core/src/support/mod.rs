//! What the device's store and the server share below the domain: storage
//! plumbing with no knowledge of reports. The server imports these, never
//! the device store's own modules.

pub mod durable;
pub mod migrations;
pub mod pragmas;

//! The Open311 POST parser: arbitrary bytes as the body of
//! `POST /open311/v2/requests.json`, sent as a urlencoded form or as
//! multipart/form-data (with a fixed boundary the seeds use), with and
//! without a resident's api_key in the query, through the real router.
//! No input may make the server answer 5xx or panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use suishoupai_fuzz::{Server, assert_not_5xx};
use suishoupai_server::model::Role;

/// The boundary of the seeds' multipart bodies.
pub const BOUNDARY: &str = "fuzzboundary";

fuzz_target!(|input: (u8, &[u8])| {
    let (how, body) = input;
    let server = Server::shared();
    let content_type = match how % 3 {
        0 => "application/x-www-form-urlencoded".to_owned(),
        1 => format!("multipart/form-data; boundary={BOUNDARY}"),
        // A boundary the body names itself: its first line, whatever it is.
        _ => format!(
            "multipart/form-data; boundary={}",
            String::from_utf8_lossy(body.split(|&b| b == b'\r').next().unwrap_or_default()).trim_start_matches('-')
        ),
    };
    let path = if how & 4 == 0 {
        format!("/open311/v2/requests.json?api_key={}", server.token(Role::Resident))
    } else {
        "/open311/v2/requests.json".to_owned()
    };
    // An unprintable header value is not a request a client can send.
    if axum::http::HeaderValue::from_str(&content_type).is_err() {
        return;
    }
    let (status, answer) = server.send("POST", &path, None, Some(&content_type), body.to_vec());
    assert_not_5xx("an Open311 POST", status, &answer);
});

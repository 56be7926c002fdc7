//! The push report judge, on arbitrary bytes as the body of `POST /v1/push`:
//! each report judged directly by [`push::candidate`] for a user of every
//! role (as the handler does once the body is parsed), and the whole body
//! sent through the real router by one of them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::value::RawValue;
use suishoupai_fuzz::{Server, assert_not_5xx};
use suishoupai_server::services::push;

/// The body as the handler's `PushBody` reads it: each report kept as text.
#[derive(serde::Deserialize)]
struct Body {
    reports: Vec<Box<RawValue>>,
}

fuzz_target!(|bytes: &[u8]| {
    let server = Server::shared();
    let now_ms = server.state.now_ms();
    if let Ok(body) = serde_json::from_slice::<Body>(bytes) {
        for (user, _) in &server.users {
            for (index, report) in body.reports.iter().enumerate() {
                let Ok(candidate) = push::candidate(user, index, report.get(), now_ms) else { continue };
                let Ok(checked) = &candidate.checked else { continue };
                // The canonical body is a fixed point: judged again it is
                // the same report with the same content hash, so a repeat
                // is a repeat and never a conflict.
                let again = push::candidate(user, index, &checked.body, now_ms).expect("the canonical body has an id");
                assert_eq!(again.id, candidate.id);
                assert_eq!(again.content_sha256, candidate.content_sha256, "canonical body {}", checked.body);
                let again = again.checked.expect("the canonical body is valid too");
                assert_eq!(again.body, checked.body);
            }
        }
    }
    let (user, token) = &server.users[bytes.len() % server.users.len()];
    let (status, answer) = server.send("POST", "/v1/push", Some(token), Some("application/json"), bytes.to_vec());
    assert_not_5xx(&format!("a push by a {}", user.role), status, &answer);
});

//! The action request: arbitrary bytes as the body of
//! `POST /v1/reports/{id}/actions`. Parsed as the handler parses it, then
//! checked by the shared rules and judged by the workflow table from every
//! status for every set of capacities; and sent through the real router
//! on a real case by a user of every role. Nothing may panic, answer 5xx,
//! or let the table move a case to a status it does not list.
#![no_main]

use libfuzzer_sys::fuzz_target;
use suishoupai_core::domain::workflow::{self, Capacity};
use suishoupai_core::protocol::ActionRequest;
use suishoupai_core::{ReportStatus, rules};
use suishoupai_fuzz::{Server, assert_not_5xx};

fuzz_target!(|bytes: &[u8]| {
    let server = Server::shared();
    let now_ms = server.state.now_ms();
    if let Ok(request) = serde_json::from_slice::<ActionRequest>(bytes) {
        let checked = rules::check_action(&request, now_ms);
        // The request's own text round-trips: the content hash of a repeat is stable.
        let again: ActionRequest = serde_json::from_str(&serde_json::to_string(&request).unwrap()).expect("a request reparses");
        assert_eq!(again, request);
        assert_eq!(rules::check_action(&again, now_ms).is_ok(), checked.is_ok());
        let capacity_sets: [&[Capacity]; 5] = [
            &[],
            &[Capacity::Coordinator],
            &[Capacity::CaseDepartment],
            &[Capacity::GridWorker],
            &[Capacity::Coordinator, Capacity::CaseDepartment, Capacity::GridWorker],
        ];
        for &status in ReportStatus::ALL {
            for capacities in capacity_sets {
                let allowed = workflow::allowed_actions(status, capacities);
                match workflow::judge(request.action, status, capacities) {
                    Ok(to) => {
                        assert!(allowed.contains(&request.action), "{:?} from {status:?} judged Ok but not allowed", request.action);
                        assert!(ReportStatus::ALL.contains(&to));
                    }
                    Err(_) => assert!(!allowed.contains(&request.action)),
                }
            }
        }
    }
    let path = format!("/v1/reports/{}/actions", server.report_id);
    for (user, token) in &server.users {
        let (status, answer) = server.send("POST", &path, Some(token), Some("application/json"), bytes.to_vec());
        assert_not_5xx(&format!("an action by a {}", user.role), status, &answer);
    }
});

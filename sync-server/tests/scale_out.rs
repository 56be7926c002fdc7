//! Several stateless instances of the real server binary over one
//! PostgreSQL database (a throwaway cluster) and one bucket of a real S3
//! server (moto), as a city runs them behind a load balancer: a device's
//! requests reach either instance, an instance dies by SIGKILL in the
//! middle of an upload, and nothing is lost or doubled.

use serde_json::{Value, json};
use suishoupai_core::protocol::MAX_CHUNK_BYTES;
use suishoupai_server::testkit::{Server, cli, photos, postgres, report, s3};

/// Adds a user to the shared database with the CLI; answers the token.
fn user(database: &str, name: &str, role: &str, extra: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["--database", database, "user", "add", "--name", name, "--role", role, "--json"];
    args.extend_from_slice(extra);
    let out = cli(dir.path(), &args);
    assert!(out.status.success(), "user add: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice::<Value>(&out.stdout).unwrap()["token"].as_str().unwrap().to_owned()
}

fn offset(server: &Server, token: &str, sha256: &str) -> u64 {
    let answer = server.request(reqwest::Method::HEAD, token, &format!("/v1/uploads/{sha256}")).send().unwrap();
    assert_eq!(answer.status(), 200, "HEAD of the upload on {}", server.base);
    answer.headers()["upload-offset"].to_str().unwrap().parse().unwrap()
}

#[test]
fn two_instances_share_every_report_upload_and_photo() {
    let (database, bucket) = (postgres::fresh_database(), s3::bucket());
    let resident = user(&database, "ana", "resident", &[]);
    let coordinator = user(&database, "zhou", "coordinator", &[]);
    let (mut a, b) = (Server::start_scaled_out(&database, &bucket), Server::start_scaled_out(&database, &bucket));
    for server in [&a, &b] {
        let health: Value = server.http.get(server.url("/healthz")).send().unwrap().json().unwrap();
        assert_eq!(health, json!({ "status": "ok", "database": "ok", "photos": "ok" }));
    }

    // A photo begun on A goes on on B: the upload's offset is in the
    // database and its chunks in the bucket, nothing on A's disk.
    let [photo, other, _] = photos() else { unreachable!() };
    let bytes = &photo.rendition;
    assert!(bytes.len() as u64 > MAX_CHUNK_BYTES / 4, "a photo of several chunks");
    let chunk = (bytes.len() / 3).min(MAX_CHUNK_BYTES as usize);
    let created = a.post(&resident, "/v1/uploads", &json!({ "sha256": photo.sha256, "length": bytes.len() }));
    assert_eq!(created.status(), 200);
    assert_eq!(a.patch(&resident, &photo.sha256, 0, &bytes[..chunk]).status(), 204);
    assert_eq!(offset(&b, &resident, &photo.sha256), chunk as u64, "B sees what A took");

    // A dies mid-upload (SIGKILL: nothing of it is shut down); B takes the rest.
    let a_pid = a.pid();
    drop(std::mem::replace(&mut a, Server::start_scaled_out(&database, &bucket)).kill());
    assert_ne!(a.pid(), a_pid);
    let mut at = offset(&b, &resident, &photo.sha256);
    while at < bytes.len() as u64 {
        let end = (at as usize + chunk).min(bytes.len());
        let answer = b.patch(&resident, &photo.sha256, at, &bytes[at as usize..end]);
        assert_eq!(answer.status(), 204, "{:?}", answer.text());
        at = answer.headers()["upload-offset"].to_str().unwrap().parse().unwrap();
    }
    b.upload_photo(&resident, other);

    // The report pushed to both instances at once, and again to each: stored once.
    let first = report(&[photo, other]);
    let id = first["id"].as_str().unwrap().to_owned();
    let outcomes: Vec<Vec<Value>> = std::thread::scope(|scope| {
        let pushes: Vec<_> = [&a, &b].map(|s| scope.spawn(|| s.push(&resident, std::slice::from_ref(&first)))).into();
        pushes.into_iter().map(|p| p.join().unwrap()).collect()
    });
    for results in
        outcomes.iter().chain([&a.push(&resident, std::slice::from_ref(&first)), &b.push(&resident, std::slice::from_ref(&first))])
    {
        assert_eq!(results[0]["outcome"], "accepted", "{results:?}");
    }
    for server in [&a, &b] {
        let listed: Value = server.get(&coordinator, "/v1/reports").json().unwrap();
        let ids: Vec<&str> = listed["reports"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
        assert_eq!(ids, [id.as_str()], "exactly once, on {}", server.base);
        // The photo whole, from either instance: the bytes the device sent.
        let served = server.get(&coordinator, &format!("/v1/photos/{}", photo.sha256)).bytes().unwrap();
        assert_eq!(suishoupai_core::photo::sha256_hex(&served), photo.sha256, "whole on {}", server.base);
    }

    // The case moves along through either instance; each action once.
    let accept = json!({ "action": "accept", "action_id": uuid::Uuid::now_v7().to_string() });
    assert_eq!(a.act(&coordinator, &id, &accept).status(), 200);
    assert_eq!(b.act(&coordinator, &id, &accept).status(), 200, "the same action again, on the other instance");
    let case: Value = b.get(&coordinator, &format!("/v1/reports/{id}")).json().unwrap();
    let accepted = case["history"].as_array().unwrap().iter().filter(|h| h["action"] == "accept").count();
    assert_eq!((case["status"].as_str(), accepted), (Some("accepted"), 1), "{case}");
}

#[test]
fn an_instance_that_loses_its_bucket_says_so_on_its_health() {
    let (database, bucket) = (postgres::fresh_database(), s3::bucket());
    let server = Server::start_scaled_out(&database, &bucket);
    assert_eq!(server.http.get(server.url("/healthz")).send().unwrap().status(), 200);
    let endpoint = bucket.endpoint.as_deref().unwrap();
    let gone = server.http.delete(format!("{endpoint}/{}", bucket.bucket)).send().unwrap().status();
    assert!(gone.is_success(), "deleting the bucket: {gone}");
    let answer = server.http.get(server.url("/healthz")).send().unwrap();
    assert_eq!(answer.status(), 503);
    assert_eq!(answer.json::<Value>().unwrap(), json!({ "status": "unavailable", "database": "ok", "photos": "unavailable" }));
}

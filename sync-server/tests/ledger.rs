//! The ledgers (台账) read back by independent readers: Python's openpyxl
//! for the xlsx and Python's csv for the CSV (`ledger_check.py`), against
//! what the JSON API says of the same reports in every state.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use suishoupai_server::testkit::{Api, Server, assert_error, photos, postgres, report, s3};

fn ok(out: std::process::Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_ledgers_list_every_report_as_the_api_sees_it() {
    the_ledgers_list_every_report_as_the_api_sees_it_over(&|_, args| Server::start_with(tempfile::tempdir().unwrap(), args));
}

/// The same ledgers over PostgreSQL and S3.
#[test]
fn the_ledgers_list_every_report_as_the_api_sees_it_on_postgresql_and_s3() {
    let (database, bucket) = (postgres::fresh_database(), s3::bucket());
    the_ledgers_list_every_report_as_the_api_sees_it_over(&|_, args| Server::start_scaled_out_with(&database, &bucket, args));
}

fn the_ledgers_list_every_report_as_the_api_sees_it_over(start: &dyn Fn(&Path, &[&str]) -> Server) {
    let server = start(Path::new(""), &[]);
    let grid = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/grids/xixian.geojson");
    ok(server.cli(&["grid", "import", grid.to_str().unwrap()]));
    let coordinator = server.user("zhao", "coordinator");
    let department = server.user_with("cg", "department", &["--department", "chengguan"]);
    ok(server.cli(&["department", "add", "--code", "chengguan", "--name", "城管局"]));
    let resident = server.user("li", "resident");
    let points: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(grid.with_file_name("points.json")).unwrap()).unwrap();
    let act = |token: &str, id: &str, body: Value| {
        let answer = server.act(token, id, &body);
        assert_eq!(answer.status(), 200, "{body}: {:?}", answer.text());
    };
    let due = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    let mut ids = Vec::new();
    for (n, point) in points.iter().take(7).enumerate() {
        let shot = &photos()[n % 3];
        server.upload_photo(&resident, shot);
        let mut r = report(&[shot]);
        r["location"] = json!({ "latitude": point["latitude"], "longitude": point["longitude"], "source": "device" });
        let id = r["id"].as_str().unwrap().to_owned();
        server.push(&resident, &[r]);
        ids.push(id);
    }
    let after = &photos()[2];
    server.upload_photo(&department, after);
    // 0 submitted; 1 rejected; 2 accepted; 3 dispatched; 4 rectified; 5 closed; 6 reworked then closed.
    act(&coordinator, &ids[1], json!({ "action": "reject", "note": "不在范围" }));
    for id in &ids[2..] {
        act(&coordinator, id, json!({ "action": "accept" }));
    }
    for id in &ids[3..] {
        act(&coordinator, id, json!({ "action": "dispatch", "department": "chengguan", "due_at": due }));
    }
    for id in &ids[4..] {
        act(&department, id, json!({ "action": "rectify", "note": "已清运", "photos": [after.sha256] }));
    }
    act(&coordinator, &ids[6], json!({ "action": "reopen", "note": "又堆上了", "due_at": due }));
    act(&department, &ids[6], json!({ "action": "rectify", "note": "再次清运", "photos": [after.sha256] }));
    for id in &ids[5..] {
        act(&coordinator, id, json!({ "action": "verify" }));
    }

    let dir = tempfile::tempdir().unwrap();
    let api = Api::new(&server.url(""), &coordinator);
    std::fs::write(dir.path().join("reports.json"), serde_json::to_vec(&api.all_reports()).unwrap()).unwrap();
    for (path, file) in [("/v1/ledger.xlsx", "ledger.xlsx"), ("/v1/ledger.csv", "ledger.csv")] {
        let answer = server.get(&coordinator, path);
        assert_eq!(answer.status(), 200, "{path}");
        let disposition = answer.headers()["content-disposition"].to_str().unwrap().to_owned();
        assert!(
            disposition.starts_with("attachment; filename=\"ledger-") && disposition.ends_with(&format!(".{}\"", &file[7..])),
            "{disposition}"
        );
        std::fs::write(dir.path().join(file), answer.bytes().unwrap()).unwrap();
    }
    let check = |xlsx: &Path, csv: &Path, base: &str| {
        let run = Command::new("python3")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ledger_check.py"))
            .args([xlsx, csv, &dir.path().join("reports.json"), &grid])
            .arg(base)
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "the ledger check failed:\n{}{}",
            String::from_utf8_lossy(&run.stdout),
            String::from_utf8_lossy(&run.stderr)
        );
    };
    check(&dir.path().join("ledger.xlsx"), &dir.path().join("ledger.csv"), &server.url(""));
    // The CLI writes the same ledgers.
    let (cli_xlsx, cli_csv) = (dir.path().join("cli.xlsx"), dir.path().join("cli.csv"));
    let base = "http://ledger.example:8080";
    ok(server.cli(&["ledger", "export", "--format", "xlsx", "--out", cli_xlsx.to_str().unwrap(), "--base-url", base]));
    ok(server.cli(&["ledger", "export", "--format", "csv", "--out", cli_csv.to_str().unwrap(), "--base-url", base]));
    check(&cli_xlsx, &cli_csv, base);

    // Filters narrow it; a department may not have it; paging makes no sense.
    let closed = server.get(&coordinator, "/v1/ledger.csv?status=closed").text().unwrap();
    assert_eq!(closed.lines().count(), 3, "{closed}");
    assert_error(server.get(&department, "/v1/ledger.xlsx"), 403, "forbidden", "statistics");
    assert_error(server.get(&coordinator, "/v1/ledger.csv?limit=5"), 400, "bad_request", "every report");
    assert_error(server.get(&coordinator, "/v1/ledger.csv?colour=red"), 400, "bad_request", "colour");
    assert_error(server.get(&coordinator, "/v1/ledger.csv?from=2026-13-01"), 400, "bad_request", "from");
}

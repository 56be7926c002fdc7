//! `bench console`, the pages: the release server on the 1,000,000 cases of
//! the statistics, a coordinator signed in through the console's own form,
//! then `GET /console/cases/{id}` for cases spread over the year (each read
//! with its history, its cell, the departments and routes, and, for a case
//! not yet accepted, its duplicate candidates) and the first page of
//! `/console/cases` (50 cases, the counts per status). Timed by the bench's
//! HTTP client on a kept-alive connection, from the request to the last
//! byte of the HTML; beside it curl fetching the same pages with the same
//! cookie, and the floor of the storage work: bare SQL reading the case's
//! row, its events and its photos.

use reqwest::blocking::Client;
use reqwest::redirect::Policy;
use suishoupai_server::storage::sqlite::DATABASE_FILE;

use super::*;

/// Case pages timed, each a different case, spread over the whole history.
const CASE_PAGES: usize = 21;
const LIST_RUNS: usize = 11;
const PAGE_TARGET: Duration = Duration::from_millis(50);
const PASSWORD: &str = "a bench password, long enough";

pub(crate) fn run_page(dir: &Path, figures: &mut Vec<Figure>) -> Result<()> {
    let server = Server::start_in(dir);
    server.set_password(COORDINATOR, PASSWORD);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = Client::builder().redirect(Policy::none()).timeout(Duration::from_secs(60)).build()?;
    let cookie = sign_in(&client, &server)?;
    println!("pages: {} on the {STATS_CASES} cases, {COORDINATOR} signed in", server.base);

    // Any order of the ids would do; this one visits every part of the year
    // and every kind of case the seed makes.
    let ids: Vec<String> = (0..CASE_PAGES).map(|k| case_id(k * (STATS_CASES / CASE_PAGES) + 7 * k)).collect();
    let get = |path: &str, expect: &str| -> Result<Duration> {
        let t = Instant::now();
        let answer = client.get(server.url(path)).header("cookie", &cookie).send()?;
        let status = answer.status();
        let html = answer.text()?;
        let took = t.elapsed();
        if status != 200 || !html.contains(expect) {
            return Err(format!("GET {path}: {status}, not a page with {expect:?}").into());
        }
        Ok(took)
    };
    // Warm-up, untimed: the server's first requests load the grid and the templates' assets.
    get("/console/cases", "/console/cases/")?;
    get(&format!("/console/cases/{}", case_id(3)), &case_id(3))?;

    let (mut case_times, mut case_curl, mut list_times, mut list_curl) = (vec![], vec![], vec![], vec![]);
    for id in &ids {
        let path = format!("/console/cases/{id}");
        case_times.push(get(&path, id)?);
        case_curl.push(curl(&server.url(&path), &cookie)?);
    }
    for _ in 0..LIST_RUNS {
        list_times.push(get("/console/cases", "/console/cases/")?);
        list_curl.push(curl(&server.url("/console/cases"), &cookie)?);
    }
    server.terminate();

    let bare = Connection::open(dir.join(DATABASE_FILE))?;
    let mut sql_times = Vec::new();
    for id in &ids {
        let t = Instant::now();
        let events = bare_case(&bare, id)?;
        sql_times.push(t.elapsed());
        if events == 0 {
            return Err(format!("case {id} has no events").into());
        }
    }

    let (p, c, s) = (median(&case_times), median(&case_curl), median(&sql_times));
    let worst = *case_times.iter().max().expect("pages");
    let (l, lc) = (median(&list_times), median(&list_curl));
    println!(
        "case page: median {} (max {}), curl {}, bare SQL {}; case list: median {}, curl {}",
        ms(p),
        ms(worst),
        ms(c),
        us(s),
        ms(l),
        ms(lc)
    );
    figures.push(Figure {
        name: format!("Console case page at {STATS_CASES} cases, {CASE_PAGES} cases over the year (median)"),
        project: format!("{} (max {})", ms(p), ms(worst)),
        anchor: format!("curl, same pages and cookie: {}; bare SQL of the case row, events, photos: {}", ms(c), us(s)),
        target: format!("< {} ms", PAGE_TARGET.as_millis()),
        met: Some(p < PAGE_TARGET),
    });
    figures.push(Figure {
        name: format!("Console case list, first page of 50 with counts per status, at {STATS_CASES} cases (median of {LIST_RUNS})"),
        project: ms(l),
        anchor: format!("curl, same page and cookie: {}", ms(lc)),
        target: format!("< {} ms", PAGE_TARGET.as_millis()),
        met: Some(l < PAGE_TARGET),
    });
    Ok(())
}

/// Signs the coordinator in through the form, as a browser does: the
/// sign-in page's token back in the form and in its cookie. Answers the
/// session cookie (`sp_session=…`).
fn sign_in(client: &Client, server: &Server) -> Result<String> {
    let page = client.get(server.url("/console/sign-in")).send()?;
    let form_cookie = set_cookie(&page, "sp_sign_in=").ok_or("the sign-in page set no sp_sign_in cookie")?;
    let html = page.text()?;
    let token = html.split("name=\"csrf\" value=\"").nth(1).and_then(|s| s.split('"').next()).ok_or("no CSRF token in the sign-in page")?;
    // multipart/form-data by hand: the bench's reqwest is built without
    // that feature, and three text fields need no more than this.
    let boundary = "suishoupai-bench-boundary";
    let mut body = String::new();
    for (name, value) in [("csrf", token), ("name", COORDINATOR), ("password", PASSWORD)] {
        body.push_str(&format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    let answer = client
        .post(server.url("/console/sign-in"))
        .header("cookie", form_cookie)
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()?;
    if answer.status() != 303 {
        return Err(format!("signing in answered {}: {}", answer.status(), answer.text().unwrap_or_default()).into());
    }
    set_cookie(&answer, "sp_session=").ok_or_else(|| "signing in set no session cookie".into())
}

/// The `name=value` of the Set-Cookie that starts with `prefix`.
fn set_cookie(answer: &reqwest::blocking::Response, prefix: &str) -> Option<String> {
    answer
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(prefix))
        .and_then(|c| c.split(';').next())
        .map(str::to_owned)
}

/// curl's own time for one GET (a new connection each time, as a browser's first request).
fn curl(url: &str, cookie: &str) -> Result<Duration> {
    let out = Command::new("curl").args(["-s", "-o", "/dev/null", "-w", "%{http_code} %{time_total}", "-b", cookie, url]).output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    match text.split_once(' ') {
        Some(("200", secs)) => Ok(Duration::from_secs_f64(secs.trim().parse()?)),
        _ => Err(format!("curl {url}: {text}").into()),
    }
}

/// What any case page must read at the least: the case's row, its events
/// with their actors, its photos. Answers how many events.
fn bare_case(conn: &Connection, id: &str) -> Result<usize> {
    let body: String = conn.prepare_cached("SELECT body FROM reports WHERE id = ?1")?.query_row([id], |r| r.get(0))?;
    black_box(body);
    let mut events = conn.prepare_cached(
        "SELECT e.seq, e.action, e.status, e.note, e.department, e.due_at, u.name, e.at
         FROM events e JOIN users u ON u.id = e.actor_id WHERE e.report_id = ?1 ORDER BY e.seq",
    )?;
    let rows = events
        .query_map([id], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Option<String>>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(7)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let photos: Vec<String> = conn
        .prepare_cached("SELECT sha256 FROM report_photos WHERE report_id = ?1 ORDER BY position")?
        .query_map([id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    black_box(photos);
    Ok(black_box(rows).len())
}

//! The console's doors, without a browser: what a script with no session,
//! a stolen session cookie without its CSRF token, a guesser, or a user of
//! the wrong role gets. (The browser's own run is `console.rs`.)

use reqwest::blocking::multipart::Form;
use reqwest::blocking::{Client, Response};
use reqwest::redirect::Policy;
use suishoupai_server::testkit::{Server, session_cookie};

const PASSWORD: &str = "a long enough password";

fn client() -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder().redirect(Policy::none()).build().unwrap()
}

/// The sign-in form's token and the cookie that must come back with it.
fn sign_in_form(server: &Server) -> (String, String) {
    let page = client().get(server.url("/console/sign-in")).send().unwrap();
    let cookie = page.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let html = page.text().unwrap();
    let token = html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    (token, cookie)
}

fn sign_in(server: &Server, name: &str, password: &str) -> Response {
    let (token, cookie) = sign_in_form(server);
    let form = Form::new().text("csrf", token).text("name", name.to_owned()).text("password", password.to_owned());
    client().post(server.url("/console/sign-in")).header("cookie", cookie).multipart(form).send().unwrap()
}

/// Signs in and answers the session cookie and a page's CSRF token.
fn session(server: &Server, name: &str) -> (String, String) {
    let answer = sign_in(server, name, PASSWORD);
    assert_eq!(answer.status(), 303, "{name} could not sign in");
    let set = session_cookie(&answer);
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
    let cookie = set.split(';').next().unwrap().to_owned();
    let html = client().get(server.url("/console/cases")).header("cookie", &cookie).send().unwrap().text().unwrap();
    let csrf = html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    (cookie, csrf)
}

fn staff(server: &Server) {
    server.user("boss", "admin");
    server.user("zhao", "coordinator");
    server.user_with("cg", "department", &["--department", "chengguan"]);
    server.user("li", "resident");
    for name in ["boss", "zhao", "cg", "li"] {
        server.set_password(name, PASSWORD);
    }
}

#[test]
fn pages_need_a_session_and_say_what_they_are() {
    let server = Server::start();
    staff(&server);
    let photo = format!("/console/photos/{}", "a".repeat(64));
    for path in ["/console/cases", "/console/stats", "/console/admin", "/console/queue", &photo] {
        let answer = client().get(server.url(path)).send().unwrap();
        assert_eq!(answer.status(), 303, "{path}");
        assert_eq!(answer.headers()["location"], "/console/sign-in", "{path}");
    }
    let page = client().get(server.url("/console/sign-in")).send().unwrap();
    let headers = page.headers();
    let policy = headers["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'"), "{policy}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["x-frame-options"], "DENY");
    let favicon = client().get(server.url("/favicon.ico")).send().unwrap();
    assert_eq!((favicon.status().as_u16(), favicon.headers()["content-type"].to_str().unwrap()), (200, "image/svg+xml"));
    assert_eq!(client().get(server.url("/console/assets/../Cargo.toml")).send().unwrap().status(), 404);
}

#[test]
fn guessing_a_password_is_throttled_and_residents_stay_out() {
    let server = Server::start();
    staff(&server);
    for _ in 0..5 {
        assert_eq!(sign_in(&server, "zhao", "a wrong password!").status(), 401);
    }
    let throttled = sign_in(&server, "zhao", PASSWORD);
    assert_eq!(throttled.status(), 429, "the right password after five wrong ones still waits");
    let wait: u64 = throttled.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((60..=900).contains(&wait), "{wait}");
    assert_eq!(sign_in(&server, "nobody", PASSWORD).status(), 401);
    assert_eq!(sign_in(&server, "li", PASSWORD).status(), 403, "residents use the app");
    // A sign-in form posted without its cookie (another site's page) is refused.
    let (token, _) = sign_in_form(&server);
    let form = Form::new().text("csrf", token).text("name", "boss").text("password", PASSWORD);
    assert_eq!(client().post(server.url("/console/sign-in")).multipart(form).send().unwrap().status(), 403);
}

#[test]
fn forms_need_the_sessions_csrf_token_and_the_right_role() {
    let server = Server::start();
    staff(&server);
    let (admin, csrf) = session(&server, "boss");
    let add = |cookie: &str, token: Option<&str>, name: &str| {
        let mut form = Form::new();
        if let Some(token) = token {
            form = form.text("csrf", token.to_owned());
        }
        let form = form.text("name", name.to_owned()).text("role", "resident");
        client().post(server.url("/console/admin/add-user")).header("cookie", cookie).multipart(form).send().unwrap()
    };
    assert_eq!(add(&admin, None, "forged1").status(), 403);
    assert_eq!(add(&admin, Some(&"0".repeat(64)), "forged2").status(), 403);
    let (coordinator, coordinator_csrf) = session(&server, "zhao");
    assert_eq!(add(&admin, Some(&coordinator_csrf), "forged3").status(), 403, "another session's token");
    assert_eq!(add(&coordinator, Some(&coordinator_csrf), "forged4").status(), 403, "coordinators do not administer");
    assert_eq!(client().get(server.url("/console/admin")).header("cookie", &coordinator).send().unwrap().status(), 403);
    let listed = String::from_utf8(server.cli(&["user", "list"]).stdout).unwrap();
    assert!(!listed.contains("forged"), "a refused form added a user: {listed}");
    let added = add(&admin, Some(&csrf), "wu");
    assert_eq!(added.status(), 200);
    assert!(added.text().unwrap().contains("id=\"new-token\""), "the new user's token is shown once");
    // Signing out ends the session for good.
    let form = Form::new().text("csrf", csrf.clone());
    assert_eq!(client().post(server.url("/console/sign-out")).header("cookie", &admin).multipart(form).send().unwrap().status(), 303);
    assert_eq!(client().get(server.url("/console/admin")).header("cookie", &admin).send().unwrap().status(), 303);
    // A disabled user's session ends at once, and a new password ends the old sessions.
    let (department, _) = session(&server, "cg");
    assert_eq!(client().get(server.url("/console/queue")).header("cookie", &department).send().unwrap().status(), 200);
    server.cli(&["user", "disable", "cg"]);
    assert_eq!(client().get(server.url("/console/queue")).header("cookie", &department).send().unwrap().status(), 303);
    server.set_password("zhao", "another long password");
    assert_eq!(client().get(server.url("/console/cases")).header("cookie", &coordinator).send().unwrap().status(), 303);
}

//! The admin page: users (add, disable, set a password, revoke a lost
//! device's token), departments, routes and the grid, through the same
//! services as the CLI.

use askama::Template;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use suishoupai_core::{CATEGORIES, Crs};

use super::cases::{Choice, department_name};
use super::forms::{self, Form, Limits};
use super::i18n::role_name;
use super::page::{ConsoleError, Layout, html, see_other};
use super::session::Staff;
use crate::auth;
use crate::error::{Error, Result};
use crate::http::extract::{Path, Query};
use crate::model::Role;
use crate::services::{catalog, grids, users};
use crate::state::AppState;
use crate::storage::{self, DeviceToken, Route};

pub struct UserRow {
    pub name: String,
    pub role: &'static str,
    pub place: String,
    pub disabled: bool,
    pub devices: Vec<DeviceToken>,
}

pub struct RouteRow {
    pub category: String,
    pub department: String,
    pub hours: u32,
}

#[derive(Template)]
#[template(path = "console/admin.html")]
struct AdminPage {
    l: Layout,
    users: Vec<UserRow>,
    departments: Vec<(String, String, String)>,
    department_choices: Vec<Choice>,
    category_choices: Vec<Choice>,
    routes: Vec<RouteRow>,
    cells: usize,
    roles: Vec<Choice>,
    done: Option<String>,
    token: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct AdminQuery {
    done: Option<String>,
}

const ROLES: [Role; 5] = [Role::Resident, Role::GridWorker, Role::Department, Role::Coordinator, Role::Admin];

fn require_admin(staff: &Staff) -> Result<(), ConsoleError> {
    auth::require_admin(&staff.user).map_err(|e| staff.fail(e))
}

async fn render(staff: &Staff, app: &AppState, done: Option<String>, token: Option<String>) -> Result<Response, ConsoleError> {
    let locale = staff.locale;
    let (listed, departments, routes, cells) = app
        .db(move |s| {
            let listed = users::list(s)?;
            storage::read(s, |tx| {
                let mut rows = Vec::with_capacity(listed.len());
                for u in &listed {
                    rows.push((u.clone(), tx.devices(u.user.id)?));
                }
                Ok::<_, Error>((rows, tx.departments()?, tx.routes()?, tx.grid_cells()?.len()))
            })
        })
        .await
        .map_err(|e| staff.fail(e))?;
    let users = listed
        .into_iter()
        .map(|(u, devices)| UserRow {
            role: role_name(u.user.role, locale),
            place: u.user.grid_id.clone().or(u.user.department.clone()).unwrap_or_default(),
            name: u.user.name,
            disabled: u.disabled,
            devices,
        })
        .collect();
    let t = super::i18n::text(locale);
    let page = AdminPage {
        l: Layout::for_staff(staff, "/console/admin", t.admin),
        users,
        department_choices: departments
            .iter()
            .map(|d| Choice { value: d.code.clone(), label: department_name(d, locale).to_owned(), selected: false })
            .collect(),
        departments: departments.iter().map(|d| (d.code.clone(), d.name.clone(), d.name_en.clone().unwrap_or_default())).collect(),
        category_choices: CATEGORIES
            .iter()
            .map(|c| Choice { value: c.code.into(), label: c.name(locale).into(), selected: false })
            .collect(),
        routes: routes.into_iter().map(|r| RouteRow { category: r.category, department: r.department, hours: r.deadline_hours }).collect(),
        cells,
        roles: ROLES.iter().map(|r| Choice { value: r.code().into(), label: role_name(*r, locale).into(), selected: false }).collect(),
        done,
        token,
    };
    Ok(html(StatusCode::OK, &page))
}

pub async fn page(staff: Staff, State(app): State<AppState>, Query(q): Query<AdminQuery>) -> Result<Response, ConsoleError> {
    require_admin(&staff)?;
    render(&staff, &app, q.done, None).await
}

/// One admin form; `{form}` names it.
pub async fn submit(
    staff: Staff,
    State(app): State<AppState>,
    Path(which): Path<String>,
    multipart: Multipart,
) -> Result<Response, ConsoleError> {
    require_admin(&staff)?;
    let limits = Limits { max_files: 1, max_file_bytes: grids::MAX_GRID_FILE_BYTES };
    let mut form = forms::read(multipart, limits, |sent| staff.check_csrf(sent), |e| staff.fail(e)).await?;
    let grid_file = form.take_files("file").pop();
    let outcome = apply(&app, &which, &form, grid_file).await.map_err(|e| staff.fail(e))?;
    match outcome {
        Applied::Token(token) => render(&staff, &app, Some(which), Some(token)).await,
        Applied::Done => Ok(see_other(&format!("/console/admin?done={which}"))),
    }
}

enum Applied {
    Done,
    /// A new user's first token, shown once.
    Token(String),
}

async fn apply(app: &AppState, which: &str, form: &Form, grid_file: Option<Vec<u8>>) -> Result<Applied> {
    let name = || form.need("name").map(str::to_owned);
    let outcome = match which {
        "add-user" => {
            let role = Role::from_code(form.need("role")?).ok_or_else(|| Error::BadRequest("not a role".into()))?;
            let grid = form.get("grid").filter(|_| role == Role::GridWorker).map(str::to_owned);
            let department = form.get("department").filter(|_| role == Role::Department).map(str::to_owned);
            let new = users::new_user(name()?, role, grid, department)?;
            let password = form.raw("password").filter(|p| !p.is_empty()).map(str::to_owned);
            let token = app
                .db(move |s| {
                    let (added, token) = users::add(s, &new)?;
                    if let Some(password) = password {
                        users::set_password(s, &added.name, &password)?;
                    }
                    Ok(token)
                })
                .await?;
            return Ok(Applied::Token(token));
        }
        "disable" | "enable" => {
            let (name, disabled) = (name()?, which == "disable");
            app.db(move |s| users::set_disabled(s, &name, disabled)).await?;
            Applied::Done
        }
        "password" => {
            let (name, password) = (name()?, form.raw("password").unwrap_or_default().to_owned());
            app.db(move |s| users::set_password(s, &name, &password)).await?;
            Applied::Done
        }
        "revoke" => {
            let (name, device) = (name()?, form.need("device")?.to_owned());
            app.db(move |s| users::revoke_device(s, &name, &device)).await?;
            Applied::Done
        }
        "department" => {
            let department = storage::Department {
                code: form.need("code")?.to_owned(),
                name: form.need("name")?.to_owned(),
                name_en: form.get("name_en").map(str::to_owned),
            };
            app.db(move |s| catalog::put_department(s, &department)).await?;
            Applied::Done
        }
        "route" => {
            let hours = form.need("deadline_hours")?;
            let route = Route {
                category: form.need("category")?.to_owned(),
                department: form.need("department")?.to_owned(),
                deadline_hours: hours.parse().map_err(|_| Error::BadRequest(format!("deadline_hours `{hours}` is not a whole number")))?,
            };
            app.db(move |s| catalog::set_route(s, &route)).await?;
            Applied::Done
        }
        "grid" => {
            let bytes = grid_file.ok_or_else(|| Error::BadRequest("choose a GeoJSON file to import".into()))?;
            let text = String::from_utf8(bytes).map_err(|_| Error::BadRequest("the grid file is not UTF-8 text".into()))?;
            let crs: Crs = form
                .get("crs")
                .unwrap_or("wgs84")
                .parse()
                .map_err(|e: suishoupai_core::domain::geo::UnknownCrs| Error::BadRequest(e.to_string()))?;
            let cells = grids::parse(&text, crs)?;
            app.db(move |s| grids::import(s, &cells)).await?;
            Applied::Done
        }
        other => return Err(Error::NotFound(format!("no admin form `{other}`"))),
    };
    // A change to users or tokens holds on this instance at once; the
    // others drop their cached users at their next poll (within a second).
    app.known_users.forget();
    Ok(outcome)
}

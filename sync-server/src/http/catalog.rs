//! Departments, routes and the grid: read by every staff member, changed
//! by admins (as the CLI does on the server's machine).

use axum::body::Body;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use suishoupai_core::Crs;

use super::extract::{Json, Path, Query, read_body};
use crate::auth::require_admin;
use crate::error::{Error, Result};
use crate::model::{Role, User};
use crate::services::catalog;
use crate::services::grids::{self, Imported, MAX_GRID_FILE_BYTES};
use crate::state::AppState;
use crate::storage::{self, Department, Route};

/// Departments and routes are the staff's business, not residents'.
fn require_staff(user: &User) -> Result<()> {
    match user.role {
        Role::Resident => Err(Error::Forbidden("residents do not see departments, routes or the grid".into())),
        _ => Ok(()),
    }
}

#[derive(Serialize)]
pub struct Departments {
    departments: Vec<Department>,
}

pub async fn departments(user: User, State(app): State<AppState>) -> Result<axum::Json<Departments>> {
    require_staff(&user)?;
    Ok(axum::Json(Departments { departments: app.db(catalog::departments).await? }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewDepartment {
    code: String,
    name: String,
    #[serde(default)]
    name_en: Option<String>,
}

pub async fn add_department(user: User, State(app): State<AppState>, Json(body): Json<NewDepartment>) -> Result<axum::Json<Department>> {
    require_admin(&user)?;
    let department = Department { code: body.code, name: body.name, name_en: body.name_en };
    Ok(axum::Json(app.db(move |s| catalog::put_department(s, &department)).await?))
}

#[derive(Serialize)]
pub struct Routes {
    routes: Vec<Route>,
}

pub async fn routes(user: User, State(app): State<AppState>) -> Result<axum::Json<Routes>> {
    require_staff(&user)?;
    Ok(axum::Json(Routes { routes: app.db(catalog::routes).await? }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteBody {
    department: String,
    #[serde(deserialize_with = "suishoupai_core::protocol::whole_number")]
    deadline_hours: u32,
}

pub async fn set_route(
    user: User,
    State(app): State<AppState>,
    Path(category): Path<String>,
    Json(body): Json<RouteBody>,
) -> Result<axum::Json<Route>> {
    require_admin(&user)?;
    let route = Route { category, department: body.department, deadline_hours: body.deadline_hours };
    Ok(axum::Json(app.db(move |s| catalog::set_route(s, &route)).await?))
}

/// A cell as listed: its properties and bounding box, not its geometry.
#[derive(Serialize)]
pub struct CellListing {
    grid_id: String,
    name: String,
    community: String,
    street_office: String,
    /// min_lat, max_lat, min_lon, max_lon (WGS-84).
    bbox: [f64; 4],
}

#[derive(Serialize)]
pub struct Cells {
    cells: Vec<CellListing>,
}

pub async fn grids(user: User, State(app): State<AppState>) -> Result<axum::Json<Cells>> {
    require_staff(&user)?;
    let cells = app.db(|s| storage::read(s, |tx| Ok::<_, Error>(tx.grid_cells()?))).await?;
    let cells = cells
        .into_iter()
        .map(|c| CellListing { grid_id: c.grid_id, name: c.name, community: c.community, street_office: c.street_office, bbox: c.bbox })
        .collect();
    Ok(axum::Json(Cells { cells }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    crs: Option<String>,
}

/// `POST /v1/grids?crs=wgs84|gcj02|bd09` with the GeoJSON file as the body.
pub async fn import_grid(
    user: User,
    State(app): State<AppState>,
    Query(query): Query<ImportQuery>,
    body: Body,
) -> Result<axum::Json<Imported>> {
    // Before the body is read: only an admin's file is worth reading.
    require_admin(&user)?;
    let crs = match query.crs.as_deref() {
        None => Crs::Wgs84,
        Some(code) => code.parse::<Crs>().map_err(|e| Error::BadRequest(e.to_string()))?,
    };
    let bytes = read_body(body, MAX_GRID_FILE_BYTES).await?;
    let text =
        String::from_utf8(bytes.to_vec()).map_err(|_| Error::BadRequest("the grid file is not UTF-8 text; nothing was imported".into()))?;
    // Parsing and checking a large file is CPU work: off the async workers.
    Ok(axum::Json(app.db(move |s| grids::import(s, &grids::parse(&text, crs)?)).await?))
}

//! Departments and routes: who a category's cases go to, and by when.
//! A department user must belong to a department that exists.

use suishoupai_core::Category;
use suishoupai_core::rules::check_label;

use crate::error::{Error, Result};
use crate::storage::{self, Department, Route, Storage};

/// The longest deadline a route may set: a year.
pub const MAX_DEADLINE_HOURS: u32 = 8760;

pub fn departments(storage: &dyn Storage) -> Result<Vec<Department>> {
    storage::read(storage, |tx| Ok(tx.departments()?))
}

/// Adds a department, or renames the one with this code.
pub fn put_department(storage: &dyn Storage, department: &Department) -> Result<Department> {
    let label = |field: &str, value: &str| check_label(field, value).map_err(|e| Error::BadRequest(e.to_string()));
    label("code", &department.code)?;
    label("name", &department.name)?;
    if let Some(en) = &department.name_en {
        label("name_en", en)?;
    }
    storage::write(storage, |tx| {
        tx.put_department(department)?;
        Ok(department.clone())
    })
}

pub fn routes(storage: &dyn Storage) -> Result<Vec<Route>> {
    storage::read(storage, |tx| Ok(tx.routes()?))
}

/// Sets a category's route: the department that exists, and hours in 1..=8760.
pub fn set_route(storage: &dyn Storage, route: &Route) -> Result<Route> {
    Category::from_code(&route.category)
        .map_err(|_| Error::BadRequest(format!("category `{}` is not in the catalogue", route.category)))?;
    if !(1..=MAX_DEADLINE_HOURS).contains(&route.deadline_hours) {
        return Err(Error::BadRequest(format!("deadline_hours must be 1 to {MAX_DEADLINE_HOURS}")));
    }
    storage::write(storage, |tx| {
        if tx.department(&route.department)?.is_none() {
            return Err(Error::BadRequest(format!("there is no department `{}`; add it first", route.department)));
        }
        tx.put_route(route)?;
        Ok(route.clone())
    })
}

//! `GET /v1/tasks`: the cases a field user may act on, for their device to
//! hold offline — a grid worker's: the open cases of their grid; a
//! department's: those dispatched to it now. Newest change first, at most
//! [`MAX_TASKS`]. Others get none.

use suishoupai_core::protocol::{MAX_TASKS, Me, TaskFeed};

use crate::error::Result;
use crate::model::{Role, User};
use crate::storage::{self, Storage, TaskOwner};
use crate::views::Viewer;

pub fn feed(storage: &dyn Storage, user: &User, now_ms: i64) -> Result<TaskFeed> {
    let me = Me { name: user.name.clone(), role: user.role, grid_id: user.grid_id.clone(), department: user.department.clone() };
    let owner = match (user.role, &user.grid_id, &user.department) {
        (Role::GridWorker, Some(grid), _) => Some(TaskOwner::Grid(grid.clone())),
        (Role::Department, _, Some(code)) => Some(TaskOwner::Department(code.clone())),
        _ => None,
    };
    let Some(owner) = owner else {
        return Ok(TaskFeed { me, tasks: Vec::new() });
    };
    let rows = storage::read(storage, |tx| Ok::<_, crate::error::Error>(tx.tasks(&owner, MAX_TASKS)?))?;
    let viewer = Viewer { user, now_ms };
    Ok(TaskFeed { me, tasks: rows.into_iter().map(|r| viewer.task(r)).collect() })
}

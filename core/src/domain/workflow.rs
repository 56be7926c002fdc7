//! The case workflow of digital urban management (数字城管, GB/T 30428):
//! 受理 → 立案 → 派遣 → 处置 → 核查 → 结案, with 返工 when the check
//! fails. One table says which action may be taken from which status, by
//! whom and with what; the server decides by it in server order, and the
//! device checks by it before it queues an action taken offline.

use serde::{Deserialize, Serialize};

use super::report::ReportStatus;
use crate::error::{Error, Result};

/// A user's role on the server; the device learns its own from the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Resident,
    GridWorker,
    Department,
    Coordinator,
    Admin,
}

impl Role {
    pub const ALL: &'static [Role] = &[Role::Resident, Role::GridWorker, Role::Department, Role::Coordinator, Role::Admin];

    pub fn code(self) -> &'static str {
        match self {
            Role::Resident => "resident",
            Role::GridWorker => "grid_worker",
            Role::Department => "department",
            Role::Coordinator => "coordinator",
            Role::Admin => "admin",
        }
    }

    pub fn from_code(code: &str) -> Option<Role> {
        Role::ALL.iter().copied().find(|r| r.code() == code)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// What a user may do to a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// 受理立案: the coordinators take the report on.
    Accept,
    /// 不予立案.
    Reject,
    MarkDuplicate,
    /// 派遣: handed to a department, with a deadline.
    Dispatch,
    /// 报到: the department takes it.
    Acknowledge,
    /// 退回: not the department's; back to the coordinators.
    Return,
    /// 延期: a later deadline.
    Extend,
    /// 处置: fixed, with an after-photo.
    Rectify,
    /// 核查结案: the fix holds; closed.
    Verify,
    /// 返工: the fix does not hold; back to the department.
    Reopen,
}

impl Action {
    pub const ALL: &'static [Action] = &[
        Action::Accept,
        Action::Reject,
        Action::MarkDuplicate,
        Action::Dispatch,
        Action::Acknowledge,
        Action::Return,
        Action::Extend,
        Action::Rectify,
        Action::Verify,
        Action::Reopen,
    ];

    /// The action as the campaign's people call it (数字城管's names).
    pub fn name(self, locale: super::Locale) -> &'static str {
        use super::Locale::{En, ZhCn};
        match (self, locale) {
            (Action::Accept, ZhCn) => "受理立案",
            (Action::Reject, ZhCn) => "不予立案",
            (Action::MarkDuplicate, ZhCn) => "合并为重复",
            (Action::Dispatch, ZhCn) => "派遣",
            (Action::Acknowledge, ZhCn) => "报到接收",
            (Action::Return, ZhCn) => "退回",
            (Action::Extend, ZhCn) => "延期",
            (Action::Rectify, ZhCn) => "处置完毕",
            (Action::Verify, ZhCn) => "核查结案",
            (Action::Reopen, ZhCn) => "返工",
            (Action::Accept, En) => "Accept",
            (Action::Reject, En) => "Reject",
            (Action::MarkDuplicate, En) => "Merge as duplicate",
            (Action::Dispatch, En) => "Dispatch",
            (Action::Acknowledge, En) => "Acknowledge",
            (Action::Return, En) => "Return",
            (Action::Extend, En) => "Extend the deadline",
            (Action::Rectify, En) => "Rectified",
            (Action::Verify, En) => "Verify and close",
            (Action::Reopen, En) => "Rework",
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Action::Accept => "accept",
            Action::Reject => "reject",
            Action::MarkDuplicate => "mark_duplicate",
            Action::Dispatch => "dispatch",
            Action::Acknowledge => "acknowledge",
            Action::Return => "return",
            Action::Extend => "extend",
            Action::Rectify => "rectify",
            Action::Verify => "verify",
            Action::Reopen => "reopen",
        }
    }

    pub fn from_code(code: &str) -> Result<Action> {
        Action::ALL.iter().copied().find(|a| a.code() == code).ok_or_else(|| Error::InvalidInput(format!("unknown action `{code}`")))
    }

    /// The row of the table for this action.
    pub fn transition(self) -> &'static Transition {
        TRANSITIONS.iter().find(|t| t.action == self).expect("every action has its row")
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// In what capacity a user stands to a case; a user may stand in none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Capacity {
    /// A coordinator or an admin.
    Coordinator,
    /// A user of the department the case is dispatched to now.
    CaseDepartment,
    /// A grid worker of the grid the report is placed in.
    GridWorker,
}

/// What an action must come with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Needs {
    pub note: bool,
    /// A department (the category's route gives one when the caller does not).
    pub department: bool,
    /// A deadline in the future (for a dispatch, the route's hours give one).
    pub due_at: bool,
    pub duplicate_of: bool,
    /// At least one after-photo.
    pub photos: bool,
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Transition {
    pub action: Action,
    pub from: &'static [ReportStatus],
    /// The status after; `None` keeps it (an extension).
    pub to: Option<ReportStatus>,
    pub who: &'static [Capacity],
    pub needs: Needs,
}

use Capacity::{CaseDepartment, Coordinator, GridWorker};
use ReportStatus as S;

const NOTHING: Needs = Needs { note: false, department: false, due_at: false, duplicate_of: false, photos: false };

/// The workflow, as the issue that built it states it.
pub const TRANSITIONS: &[Transition] = &[
    Transition { action: Action::Accept, from: &[S::Submitted], to: Some(S::Accepted), who: &[Coordinator], needs: NOTHING },
    Transition {
        action: Action::Reject,
        from: &[S::Submitted],
        to: Some(S::Rejected),
        who: &[Coordinator],
        needs: Needs { note: true, ..NOTHING },
    },
    Transition {
        action: Action::MarkDuplicate,
        from: &[S::Submitted, S::Accepted],
        to: Some(S::Duplicate),
        who: &[Coordinator],
        needs: Needs { duplicate_of: true, ..NOTHING },
    },
    Transition {
        action: Action::Dispatch,
        from: &[S::Accepted],
        to: Some(S::Dispatched),
        who: &[Coordinator],
        needs: Needs { department: true, due_at: true, ..NOTHING },
    },
    Transition { action: Action::Acknowledge, from: &[S::Dispatched], to: Some(S::InProgress), who: &[CaseDepartment], needs: NOTHING },
    Transition {
        action: Action::Return,
        from: &[S::Dispatched, S::InProgress],
        to: Some(S::Accepted),
        who: &[CaseDepartment],
        needs: Needs { note: true, ..NOTHING },
    },
    Transition {
        action: Action::Extend,
        from: &[S::Dispatched, S::InProgress],
        to: None,
        who: &[Coordinator],
        needs: Needs { due_at: true, note: true, ..NOTHING },
    },
    Transition {
        action: Action::Rectify,
        from: &[S::Dispatched, S::InProgress],
        to: Some(S::Rectified),
        who: &[CaseDepartment, GridWorker],
        needs: Needs { photos: true, note: true, ..NOTHING },
    },
    Transition { action: Action::Verify, from: &[S::Rectified], to: Some(S::Closed), who: &[Coordinator, GridWorker], needs: NOTHING },
    Transition {
        action: Action::Reopen,
        from: &[S::Rectified, S::Closed],
        to: Some(S::Dispatched),
        who: &[Coordinator, GridWorker],
        needs: Needs { note: true, due_at: true, ..NOTHING },
    },
];

/// The capacities a user stands in to a case.
pub fn capacities(
    role: Role,
    user_grid: Option<&str>,
    user_department: Option<&str>,
    case_grid: Option<&str>,
    case_department: Option<&str>,
) -> Vec<Capacity> {
    match role {
        Role::Coordinator | Role::Admin => vec![Coordinator],
        Role::Department if user_department.is_some() && user_department == case_department => vec![CaseDepartment],
        Role::GridWorker if user_grid.is_some() && user_grid == case_grid => vec![GridWorker],
        _ => Vec::new(),
    }
}

/// Why an action may not be taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The caller stands in no capacity that may ever take it on this case.
    NotYours,
    /// Not from the case's status; these are the actions that are.
    NotNow { allowed: Vec<Action> },
}

/// The actions the capacities may take from `status`, in the table's order.
pub fn allowed_actions(status: ReportStatus, capacities: &[Capacity]) -> Vec<Action> {
    TRANSITIONS.iter().filter(|t| t.from.contains(&status) && t.who.iter().any(|w| capacities.contains(w))).map(|t| t.action).collect()
}

/// Whether `action` may be taken from `status` in these capacities: the
/// capacity is judged first, so that an action a user may never take is
/// refused as such whatever the status. Answers the status after.
pub fn judge(action: Action, status: ReportStatus, capacities: &[Capacity]) -> Result<ReportStatus, Refusal> {
    let t = action.transition();
    if !t.who.iter().any(|w| capacities.contains(w)) {
        return Err(Refusal::NotYours);
    }
    if !t.from.contains(&status) {
        return Err(Refusal::NotNow { allowed: allowed_actions(status, capacities) });
    }
    Ok(t.to.unwrap_or(status))
}

/// Whether a case in `status` is still being worked on (open).
pub fn is_open(status: ReportStatus) -> bool {
    !matches!(status, S::Rejected | S::Duplicate | S::Closed)
}

/// Whether a case in `status` runs against its deadline: a rectified case
/// awaits verification, and is no longer the department's to be late with.
pub fn runs_against_deadline(status: ReportStatus) -> bool {
    matches!(status, S::Dispatched | S::InProgress)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_exactly_one_row() {
        for action in Action::ALL {
            assert_eq!(TRANSITIONS.iter().filter(|t| t.action == *action).count(), 1, "{action}");
            assert_eq!(Action::from_code(action.code()).unwrap(), *action);
        }
    }

    #[test]
    fn the_whole_cycle_with_a_rework() {
        let coordinator = [Coordinator];
        let department = [CaseDepartment];
        let mut status = S::Submitted;
        for (action, who, to) in [
            (Action::Accept, &coordinator[..], S::Accepted),
            (Action::Dispatch, &coordinator, S::Dispatched),
            (Action::Acknowledge, &department, S::InProgress),
            (Action::Return, &department, S::Accepted),
            (Action::Dispatch, &coordinator, S::Dispatched),
            (Action::Rectify, &department, S::Rectified),
            (Action::Reopen, &[GridWorker], S::Dispatched),
            (Action::Extend, &coordinator, S::Dispatched),
            (Action::Rectify, &[GridWorker], S::Rectified),
            (Action::Verify, &coordinator, S::Closed),
        ] {
            status = judge(action, status, who).unwrap_or_else(|e| panic!("{action} from {status}: {e:?}"));
            assert_eq!(status, to, "{action}");
        }
    }

    #[test]
    fn the_role_is_judged_before_the_state() {
        // A department may never accept, whatever the status.
        assert_eq!(judge(Action::Accept, S::Closed, &[CaseDepartment]), Err(Refusal::NotYours));
        assert_eq!(judge(Action::Accept, S::Submitted, &[]), Err(Refusal::NotYours));
        // A coordinator may accept, but not a closed case.
        assert_eq!(judge(Action::Accept, S::Closed, &[Coordinator]), Err(Refusal::NotNow { allowed: vec![Action::Reopen] }));
    }

    #[test]
    fn capacities_follow_the_case() {
        let of = |role, grid, dept| capacities(role, grid, dept, Some("g-7"), Some("城管"));
        assert_eq!(of(Role::Admin, None, None), [Coordinator]);
        assert_eq!(of(Role::Department, None, Some("城管")), [CaseDepartment]);
        assert!(of(Role::Department, None, Some("水务")).is_empty());
        assert_eq!(of(Role::GridWorker, Some("g-7"), None), [GridWorker]);
        assert!(of(Role::GridWorker, Some("g-8"), None).is_empty());
        assert!(of(Role::Resident, None, None).is_empty());
        assert!(capacities(Role::GridWorker, Some("g-7"), None, None, None).is_empty(), "a case without a grid is no grid worker's");
    }

    #[test]
    fn open_and_late() {
        assert!(is_open(S::Rectified) && !is_open(S::Closed) && !is_open(S::Duplicate));
        assert!(runs_against_deadline(S::InProgress) && !runs_against_deadline(S::Rectified));
    }
}

//! The cases: the list beside a map, one case with its photos, history,
//! actions and duplicate candidates, a department's queue, and the photos
//! these pages show. Every read goes through the same services and role
//! scopes as the JSON API, so a page shows a user exactly what the API
//! would answer them.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::TimeZone;
use serde::Deserialize;
use suishoupai_core::domain::workflow::TRANSITIONS;
use suishoupai_core::protocol::ActionRequest;
use suishoupai_core::{Action, CATEGORIES, Category, Locale, ReportStatus};

use super::forms::{self, Limits};
use super::map::{self, Point};
use super::page::{ConsoleError, Layout, html, see_other};
use super::session::Staff;
use crate::auth;
use crate::clock::rfc3339_ms;
use crate::error::{Error, Result};
use crate::http::extract::{Path, Query, check_sha256};
use crate::model::Role;
use crate::services::{duplicates, photos, reports, tasks, whole_photos, workflow};
use crate::state::AppState;
use crate::storage::{self, Department, GridCell, ReportFilter, ReportKey};
use crate::views::{ReportView, Viewer};

pub const PAGE_SIZE: usize = 50;
/// After-photos one rectification may carry.
const MAX_AFTER_PHOTOS: usize = suishoupai_core::rules::MAX_PHOTOS_PER_REPORT;

/// A time as the campaign's people read it: local, to the minute.
pub fn local_time(app: &AppState, rfc3339: &str) -> String {
    rfc3339_ms(rfc3339)
        .and_then(|ms| app.settings.timezone.timestamp_millis_opt(ms).single())
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| rfc3339.to_owned())
}

fn category_name(code: &str, locale: Locale) -> String {
    Category::from_code(code).map(|c| c.name(locale).to_owned()).unwrap_or_else(|_| code.to_owned())
}

/// An option of a `<select>`.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

fn choices(items: impl IntoIterator<Item = (String, String)>, selected: Option<&str>) -> Vec<Choice> {
    items.into_iter().map(|(value, label)| Choice { selected: selected == Some(value.as_str()), value, label }).collect()
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    status: Option<String>,
    category: Option<String>,
    street_office: Option<String>,
    grid: Option<String>,
    department: Option<String>,
    overdue: Option<String>,
    from: Option<String>,
    to: Option<String>,
    cursor: Option<String>,
}

fn blank_is_none(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

pub struct CaseRow {
    pub id: String,
    pub short_id: String,
    pub category: String,
    pub status: String,
    pub status_name: &'static str,
    pub place: String,
    pub department: String,
    pub created: String,
    pub due: String,
    pub overdue: bool,
}

pub struct StatusCount {
    pub code: &'static str,
    pub name: &'static str,
    pub count: u64,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "console/cases.html")]
struct CasesPage {
    l: Layout,
    counts: Vec<StatusCount>,
    total: u64,
    categories: Vec<Choice>,
    street_offices: Vec<Choice>,
    grids: Vec<Choice>,
    departments: Vec<Choice>,
    overdue: bool,
    from: String,
    to: String,
    rows: Vec<CaseRow>,
    next: Option<String>,
    first: Option<String>,
    map_json: String,
    tiles: String,
}

fn local_day_ms(app: &AppState, text: &str, name: &str, end: bool) -> Result<i64> {
    let day =
        chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| Error::BadRequest(format!("{name} `{text}` is not a date")))?;
    let day = if end { day.succ_opt().unwrap_or(day) } else { day };
    let (start, _) = crate::services::stats::period_ms(day, day, app.settings.timezone)?;
    Ok(start)
}

fn filter_of(app: &AppState, q: &ListQuery, now_ms: i64) -> Result<ReportFilter> {
    let status = blank_is_none(&q.status)
        .map(|s| ReportStatus::from_code(s).map_err(|_| Error::BadRequest(format!("status `{s}` is not a report status"))))
        .transpose()?;
    if let Some(c) = blank_is_none(&q.category) {
        Category::from_code(c).map_err(|_| Error::BadRequest(format!("category `{c}` is not in the catalogue")))?;
    }
    let after = blank_is_none(&q.cursor)
        .map(|c| {
            c.split_once('_')
                .and_then(|(ms, id)| Some(ReportKey { created_ms: ms.parse().ok()?, id: id.to_owned() }))
                .ok_or_else(|| Error::BadRequest("not a cursor of this console".into()))
        })
        .transpose()?;
    Ok(ReportFilter {
        status,
        category: blank_is_none(&q.category).map(str::to_owned),
        grid_id: blank_is_none(&q.grid).map(str::to_owned),
        street_office: blank_is_none(&q.street_office).map(str::to_owned),
        department: blank_is_none(&q.department).map(str::to_owned),
        overdue_at_ms: blank_is_none(&q.overdue).map(|_| now_ms),
        since_ms: blank_is_none(&q.from).map(|d| local_day_ms(app, d, "from", false)).transpose()?,
        until_ms: blank_is_none(&q.to).map(|d| local_day_ms(app, d, "to", true)).transpose()?,
        limit: PAGE_SIZE,
        after,
        ..ReportFilter::default()
    })
}

/// The list's query string without the cursor, to page with.
fn query_string(q: &ListQuery) -> String {
    let pairs = [
        ("status", &q.status),
        ("category", &q.category),
        ("street_office", &q.street_office),
        ("grid", &q.grid),
        ("department", &q.department),
        ("overdue", &q.overdue),
        ("from", &q.from),
        ("to", &q.to),
    ];
    let kept: Vec<(&str, &str)> = pairs.iter().filter_map(|(k, v)| blank_is_none(v).map(|v| (*k, v))).collect();
    serde_urlencoded::to_string(kept).unwrap_or_default()
}

fn tiles(app: &AppState) -> (String, suishoupai_core::Crs) {
    match &app.settings.tiles {
        Some(t) => (t.url.clone(), t.crs),
        None => (String::new(), suishoupai_core::Crs::Wgs84),
    }
}

pub async fn list(staff: Staff, State(app): State<AppState>, Query(q): Query<ListQuery>) -> Result<Response, ConsoleError> {
    let now_ms = app.now_ms();
    let filter = filter_of(&app, &q, now_ms).map_err(|e| staff.fail(e))?;
    let user = staff.user.clone();
    let scope = auth::scope(&user);
    let (page, counts, cells, departments) = app
        .db(move |s| {
            let page = reports::list(s, &user, &filter)?;
            let (counts, cells, departments) =
                storage::read(s, |tx| Ok::<_, Error>((tx.report_counts(&scope, &filter)?, tx.grid_cells()?, tx.departments()?)))?;
            Ok((
                page.reports.into_iter().map(|r| Viewer { user: &user, now_ms }.report(r)).collect::<Vec<_>>(),
                (counts, page.next),
                cells,
                departments,
            ))
        })
        .await
        .map_err(|e| staff.fail(e))?;
    let (counts, next) = counts;
    let locale = staff.locale;
    let t = super::i18n::text(locale);
    let by_cell: HashMap<&str, &GridCell> = cells.iter().map(|c| (c.grid_id.as_str(), c)).collect();
    let dept_names: HashMap<&str, &str> = departments.iter().map(|d| (d.code.as_str(), department_name(d, locale))).collect();
    let rows: Vec<CaseRow> = page
        .iter()
        .map(|r| CaseRow {
            id: r.id.clone(),
            short_id: r.id.chars().rev().take(8).collect::<Vec<_>>().into_iter().rev().collect(),
            category: category_name(&r.category, locale),
            status: r.status.code().to_owned(),
            status_name: r.status.name(locale),
            place: r
                .grid_id
                .as_deref()
                .and_then(|g| by_cell.get(g))
                .map(|c| format!("{} · {}", c.street_office, c.name))
                .unwrap_or_else(|| t.none.to_owned()),
            department: r.department.as_deref().map(|d| dept_names.get(d).copied().unwrap_or(d).to_owned()).unwrap_or_default(),
            created: local_time(&app, &r.created_at),
            due: r.due_at.as_deref().map(|d| local_time(&app, d)).unwrap_or_default(),
            overdue: r.overdue,
        })
        .collect();
    let points: Vec<Point> = page
        .iter()
        .filter_map(|r| {
            let at = r.location.as_ref()?;
            Some(Point {
                id: &r.id,
                latitude: at.latitude,
                longitude: at.longitude,
                status: r.status.code(),
                label: format!("{} · {}", category_name(&r.category, locale), r.status.name(locale)),
                overdue: r.overdue,
            })
        })
        .collect();
    let (tiles_url, crs) = tiles(&app);
    let wanted_office = blank_is_none(&q.street_office);
    let shown_cells: Vec<GridCell> = cells.iter().filter(|c| wanted_office.is_none_or(|o| c.street_office == o)).cloned().collect();
    let map_json = map::features(&shown_cells, &points, crs);
    let selected_status = blank_is_none(&q.status);
    let count_of = |s: ReportStatus| counts.iter().find(|(c, _)| *c == s).map_or(0, |(_, n)| *n);
    let all_statuses = [
        ReportStatus::Submitted,
        ReportStatus::Accepted,
        ReportStatus::Rejected,
        ReportStatus::Duplicate,
        ReportStatus::Dispatched,
        ReportStatus::InProgress,
        ReportStatus::Rectified,
        ReportStatus::Closed,
    ];
    let counts: Vec<StatusCount> = all_statuses
        .iter()
        .map(|s| StatusCount { code: s.code(), name: s.name(locale), count: count_of(*s), selected: selected_status == Some(s.code()) })
        .collect();
    let total = counts.iter().map(|c| c.count).sum();
    let mut offices: Vec<String> = cells.iter().map(|c| c.street_office.clone()).collect();
    offices.sort();
    offices.dedup();
    let qs = query_string(&q);
    let page = CasesPage {
        l: Layout::for_staff(&staff, format!("/console/cases?{qs}"), t.cases),
        counts,
        total,
        categories: choices(CATEGORIES.iter().map(|c| (c.code.to_owned(), c.name(locale).to_owned())), blank_is_none(&q.category)),
        street_offices: choices(offices.into_iter().map(|o| (o.clone(), o)), wanted_office),
        grids: choices(shown_cells.iter().map(|c| (c.grid_id.clone(), format!("{} {}", c.grid_id, c.name))), blank_is_none(&q.grid)),
        departments: choices(
            departments.iter().map(|d| (d.code.clone(), department_name(d, locale).to_owned())),
            blank_is_none(&q.department),
        ),
        overdue: blank_is_none(&q.overdue).is_some(),
        from: blank_is_none(&q.from).unwrap_or_default().to_owned(),
        to: blank_is_none(&q.to).unwrap_or_default().to_owned(),
        rows,
        next: next.map(|k| format!("/console/cases?{qs}&cursor={}_{}", k.created_ms, k.id)),
        first: blank_is_none(&q.cursor).map(|_| format!("/console/cases?{qs}")),
        map_json,
        tiles: tiles_url,
    };
    Ok(html(StatusCode::OK, &page))
}

pub fn department_name(d: &Department, locale: Locale) -> &str {
    match (locale, &d.name_en) {
        (Locale::En, Some(en)) => en,
        _ => &d.name,
    }
}

pub struct EventRow {
    pub at: String,
    pub action: String,
    pub status: &'static str,
    pub actor: String,
    pub note: String,
    pub public_note: String,
    pub detail: String,
    pub photos: Vec<String>,
}

pub struct ActionForm {
    pub code: &'static str,
    pub name: &'static str,
    pub action_id: String,
    pub note: bool,
    pub department: bool,
    pub due: bool,
    pub photos: bool,
    pub departments: Vec<Choice>,
    pub due_value: String,
}

pub struct DuplicateRow {
    pub id: String,
    pub short_id: String,
    pub distance: String,
    pub similarity: String,
    pub status: &'static str,
    pub created: String,
    pub thumbnail: Option<String>,
    pub action_id: String,
}

#[derive(Template)]
#[template(path = "console/case.html")]
struct CasePage {
    l: Layout,
    id: String,
    category: String,
    status: &'static str,
    status_code: &'static str,
    note: String,
    place: String,
    department: String,
    created: String,
    due: String,
    overdue: bool,
    reporter: String,
    photos: Vec<String>,
    after_photos: Vec<String>,
    timeline: Vec<EventRow>,
    forms: Vec<ActionForm>,
    duplicates: Vec<DuplicateRow>,
    can_merge: bool,
    map_json: String,
    tiles: String,
    done: Option<&'static str>,
}

#[derive(Deserialize, Default)]
pub struct CaseQuery {
    done: Option<String>,
}

/// How many duplicate candidates the page shows.
const SHOWN_DUPLICATES: usize = 10;

/// The case page's facts, read in one go on the blocking pool.
struct CaseFacts {
    view: ReportView,
    cell: Option<GridCell>,
    departments: Vec<Department>,
    route: Option<crate::storage::Route>,
    duplicates: Vec<(duplicates::Candidate, Option<String>)>,
}

pub async fn one(
    staff: Staff,
    State(app): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<CaseQuery>,
) -> Result<Response, ConsoleError> {
    let (now_ms, window) = (app.now_ms(), app.settings.duplicate_window);
    let user = staff.user.clone();
    let facts = app
        .db(move |s| {
            let report = reports::one(s, &user, &id)?;
            let view = Viewer { user: &user, now_ms }.report(report);
            let merge = view.allowed_actions.contains(&Action::MarkDuplicate);
            let found = if merge { duplicates::candidates(s, &user, &id, window)?.candidates } else { Vec::new() };
            storage::read(s, |tx| {
                let cell = match &view.grid_id {
                    Some(g) => tx.grid_cells()?.into_iter().find(|c| &c.grid_id == g),
                    None => None,
                };
                let mut shown = Vec::new();
                for candidate in found.iter().take(SHOWN_DUPLICATES) {
                    let photo =
                        tx.report(&auth::scope(&user), &candidate.id)?.and_then(|r| r.wire.photos.first().map(|p| p.sha256.clone()));
                    shown.push((candidate.clone(), photo));
                }
                Ok::<_, Error>(CaseFacts {
                    cell,
                    departments: tx.departments()?,
                    route: tx.route(&view.category)?,
                    duplicates: shown,
                    view: view.clone(),
                })
            })
        })
        .await
        .map_err(|e| staff.fail(e))?;
    case_page(&app, &staff, facts, q.done.as_deref(), now_ms).map_err(|e| staff.fail(e))
}

fn case_page(app: &AppState, staff: &Staff, facts: CaseFacts, done: Option<&str>, now_ms: i64) -> Result<Response> {
    let locale = staff.locale;
    let t = super::i18n::text(locale);
    let v = &facts.view;
    let dept_name = |code: &str| -> String {
        facts.departments.iter().find(|d| d.code == code).map(|d| department_name(d, locale).to_owned()).unwrap_or_else(|| code.to_owned())
    };
    let timeline = v
        .history
        .iter()
        .map(|e| EventRow {
            at: local_time(app, &e.at),
            action: e.action.map(|a| a.name(locale).to_owned()).unwrap_or_else(|| t.reported.to_owned()),
            status: e.status.name(locale),
            actor: e.actor.clone().unwrap_or_default(),
            note: e.note.clone().unwrap_or_default(),
            public_note: e.public_note.clone().unwrap_or_default(),
            detail: [e.department.as_deref().map(&dept_name), e.due_at.as_deref().map(|d| format!("{} {}", t.due, local_time(app, d)))]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" · "),
            photos: e.photos.clone(),
        })
        .collect();
    let route_due = facts.route.as_ref().map(|r| now_ms + i64::from(r.deadline_hours) * 3_600_000);
    let due_value = |ms: i64| {
        app.settings.timezone.timestamp_millis_opt(ms).single().map(|t| t.format("%Y-%m-%dT%H:%M").to_string()).unwrap_or_default()
    };
    let forms = v
        .allowed_actions
        .iter()
        .filter(|a| **a != Action::MarkDuplicate)
        .filter_map(|a| TRANSITIONS.iter().find(|t| t.action == *a))
        .map(|tr| {
            let department = tr.needs.department;
            let preset = facts.route.as_ref().map(|r| r.department.as_str());
            ActionForm {
                code: tr.action.code(),
                name: tr.action.name(locale),
                action_id: uuid::Uuid::now_v7().to_string(),
                note: tr.needs.note,
                department,
                due: tr.needs.due_at,
                photos: tr.needs.photos,
                departments: if department {
                    choices(facts.departments.iter().map(|d| (d.code.clone(), department_name(d, locale).to_owned())), preset)
                } else {
                    Vec::new()
                },
                due_value: match tr.action {
                    Action::Dispatch => route_due.map(due_value).unwrap_or_default(),
                    // A rework or an extension: the route's hours from now, as a start.
                    _ => due_value(route_due.unwrap_or(now_ms + 72 * 3_600_000)),
                },
            }
        })
        .collect();
    let duplicates = facts
        .duplicates
        .iter()
        .map(|(c, photo)| DuplicateRow {
            id: c.id.clone(),
            short_id: c.id.chars().rev().take(8).collect::<Vec<_>>().into_iter().rev().collect(),
            distance: format!("{:.0} m", c.distance_m),
            similarity: c.photo_similarity.map(|s| format!("{:.0}%", s * 100.0)).unwrap_or_else(|| "—".into()),
            status: c.status.name(locale),
            created: local_time(app, &c.created_at),
            thumbnail: photo.clone(),
            action_id: uuid::Uuid::now_v7().to_string(),
        })
        .collect();
    let (tiles_url, crs) = tiles(app);
    let points: Vec<Point> = v
        .location
        .iter()
        .map(|at| Point {
            id: &v.id,
            latitude: at.latitude,
            longitude: at.longitude,
            status: v.status.code(),
            label: category_name(&v.category, locale),
            overdue: v.overdue,
        })
        .collect();
    let map_json = map::features(facts.cell.as_slice(), &points, crs);
    let reporter = match (&v.owner, &v.reporter) {
        (Some(owner), Some(r)) => format!("{owner} ({})", r.role),
        (Some(owner), None) => owner.clone(),
        _ => String::new(),
    };
    let page = CasePage {
        l: Layout::for_staff(staff, format!("/console/cases/{}", v.id), category_name(&v.category, locale)),
        id: v.id.clone(),
        category: category_name(&v.category, locale),
        status: v.status.name(locale),
        status_code: v.status.code(),
        note: v.note.clone(),
        place: facts
            .cell
            .as_ref()
            .map(|c| format!("{} · {} · {}", c.street_office, c.community, c.name))
            .unwrap_or_else(|| t.none.to_owned()),
        department: v.department.as_deref().map(&dept_name).unwrap_or_default(),
        created: local_time(app, &v.created_at),
        due: v.due_at.as_deref().map(|d| local_time(app, d)).unwrap_or_default(),
        overdue: v.overdue,
        reporter,
        photos: v.photos.iter().map(|p| p.sha256.clone()).collect(),
        after_photos: v.after_photos.iter().map(|p| p.sha256.clone()).chain(v.history.iter().flat_map(|e| e.photos.clone())).fold(
            Vec::new(),
            |mut all, p| {
                if !all.contains(&p) {
                    all.push(p);
                }
                all
            },
        ),
        timeline,
        forms,
        can_merge: v.allowed_actions.contains(&Action::MarkDuplicate),
        duplicates,
        map_json,
        tiles: tiles_url,
        done: done.and_then(|d| Action::from_code(d).ok()).map(|a| a.name(locale)),
    };
    Ok(html(StatusCode::OK, &page))
}

/// A `datetime-local` value (`YYYY-MM-DDTHH:MM`, local) as RFC 3339.
fn local_input_rfc3339(app: &AppState, text: &str) -> Result<String> {
    let naive = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| Error::BadRequest(format!("deadline `{text}` is not a date and time")))?;
    let at = app
        .settings
        .timezone
        .from_local_datetime(&naive)
        .earliest()
        .ok_or_else(|| Error::BadRequest(format!("{text} does not exist here")))?;
    Ok(at.with_timezone(&chrono::Utc).to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// `POST /console/cases/{id}/act`: one action of the workflow, from a form.
/// The form carries the action id it was rendered with, so that sending it
/// twice (a double click, a reload) applies it once.
pub async fn act(
    staff: Staff,
    State(app): State<AppState>,
    Path(id): Path<String>,
    multipart: Multipart,
) -> Result<Response, ConsoleError> {
    let limits = Limits { max_files: MAX_AFTER_PHOTOS, max_file_bytes: whole_photos::MAX_WHOLE_PHOTO_BYTES };
    let mut form = forms::read(multipart, limits, |sent| staff.check_csrf(sent), |e| staff.fail(e)).await?;
    let fail = |e| staff.fail(e);
    let code = form.need("action").map_err(fail)?;
    let action = Action::from_code(code).map_err(|_| fail(Error::BadRequest(format!("`{code}` is not an action"))))?;
    let mut photos = Vec::new();
    for bytes in form.take_files("after_photo") {
        photos.push(whole_photos::ingest(&app, staff.user.id, bytes).await.map_err(fail)?.sha256);
    }
    let request = ActionRequest {
        action_id: form.need("action_id").map_err(fail)?.to_owned(),
        action,
        note: form.get("note").map(str::to_owned),
        public_note: form.get("public_note").map(str::to_owned),
        department: form.get("department").map(str::to_owned),
        due_at: form.get("due").map(|d| local_input_rfc3339(&app, d)).transpose().map_err(fail)?,
        duplicate_of: form.get("duplicate_of").map(str::to_owned),
        photos,
    };
    let (user, now_ms, case) = (staff.user.clone(), app.now_ms(), id.clone());
    app.db(move |s| workflow::act(s, &user, &case, &request, now_ms)).await.map_err(fail)?;
    Ok(see_other(&format!("/console/cases/{id}?done={}", action.code())))
}

#[derive(Template)]
#[template(path = "console/queue.html")]
struct QueuePage {
    l: Layout,
    rows: Vec<CaseRow>,
}

/// A department's queue (or a grid worker's): its open cases, by due date.
pub async fn queue(staff: Staff, State(app): State<AppState>) -> Result<Response, ConsoleError> {
    if !matches!(staff.user.role, Role::Department | Role::GridWorker) {
        return Ok(see_other("/console/cases?overdue="));
    }
    let (user, now_ms) = (staff.user.clone(), app.now_ms());
    let feed = app.db(move |s| tasks::feed(s, &user, now_ms)).await.map_err(|e| staff.fail(e))?;
    let locale = staff.locale;
    let mut tasks = feed.tasks;
    tasks.sort_by(|a, b| {
        (a.due_at.is_none(), a.due_at.as_deref().and_then(rfc3339_ms)).cmp(&(b.due_at.is_none(), b.due_at.as_deref().and_then(rfc3339_ms)))
    });
    let rows = tasks
        .iter()
        .map(|r| CaseRow {
            id: r.id.clone(),
            short_id: r.id.chars().rev().take(8).collect::<Vec<_>>().into_iter().rev().collect(),
            category: category_name(&r.category, locale),
            status: r.status.code().to_owned(),
            status_name: r.status.name(locale),
            place: r.grid_id.clone().unwrap_or_default(),
            department: String::new(),
            created: local_time(&app, &r.created_at),
            due: r.due_at.as_deref().map(|d| local_time(&app, d)).unwrap_or_default(),
            overdue: r.overdue,
        })
        .collect();
    let t = super::i18n::text(locale);
    Ok(html(StatusCode::OK, &QueuePage { l: Layout::for_staff(&staff, "/console/queue", t.queue_title), rows }))
}

pub async fn photo(staff: Staff, State(app): State<AppState>, Path(sha256): Path<String>) -> Result<Response, ConsoleError> {
    check_sha256(&sha256).map_err(|e| staff.fail(e))?;
    let bytes = photos::rendition(&app, &staff.user, sha256.clone()).await.map_err(|e| staff.fail(e))?;
    Ok(crate::http::reports::serve_jpeg(&sha256, bytes))
}

pub async fn thumbnail(staff: Staff, State(app): State<AppState>, Path(sha256): Path<String>) -> Result<Response, ConsoleError> {
    check_sha256(&sha256).map_err(|e| staff.fail(e))?;
    let bytes = photos::thumbnail_for(&app, &staff.user, sha256.clone()).await.map_err(|e| staff.fail(e))?;
    Ok(crate::http::reports::serve_jpeg(&sha256, bytes))
}

//! Open311 GeoReport v2 (wiki.open311.org/GeoReport_v2) over the same
//! services as the app: a service per category of the core's catalogue, a
//! request per report. Reading goes through the same scopes as
//! `/v1/reports` ([`crate::auth::scope`]), or the public scope when the
//! server publishes cases ([`crate::auth::public_scope`]); a request is
//! created by the push's own rules ([`push::candidate`], [`push::push`]),
//! as the resident who owns the key.
//!
//! What a request shows is the same to every reader: no reporter, no
//! internal note, no staff name (the GeoReport fields have none of them);
//! `status_notes` is the last public note (an action's `public_note`, the
//! one note the workflow meant for the reporter and the public).

use crate::services::quotas::Quota;
use chrono::{DateTime, TimeZone};
use serde::Serialize;
use suishoupai_core::protocol::PushOutcome;
use suishoupai_core::rules as shared;
use suishoupai_core::{CATEGORIES, Category, LatLon, Locale, ReportStatus};

use crate::auth;
use crate::error::{Error, Result};
use crate::model::{Scope, User};
use crate::services::{push, reports, whole_photos};
use crate::state::AppState;
use crate::storage::{self, Department, ReportFilter, Storage, StoredReport};

/// The longest span of `start_date`..`end_date`, and the default window
/// back from now, as the spec says.
pub const MAX_DAYS: i64 = 90;
/// The most requests one query answers, as the spec says.
pub const MAX_REQUESTS: usize = 1000;

const DAY_MS: i64 = 24 * 3600 * 1000;

/// One entry of `services.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Service {
    pub service_code: &'static str,
    pub service_name: &'static str,
    pub description: &'static str,
    /// No service has attributes beyond the common fields.
    pub metadata: bool,
    /// Requests are answered through the workflow, with status updates.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The service's names in both languages, comma-separated.
    pub keywords: String,
    pub group: &'static str,
}

/// Every category of the core's catalogue, named in `locale`.
pub fn services(locale: Locale) -> Vec<Service> {
    let group = match locale {
        Locale::ZhCn => "人居环境整治",
        Locale::En => "Living environment",
    };
    CATEGORIES
        .iter()
        .map(|c| Service {
            service_code: c.code,
            service_name: c.name(locale),
            description: c.name(locale),
            metadata: false,
            kind: "realtime",
            keywords: format!("{},{}", c.name_zh, c.name_en),
            group,
        })
        .collect()
}

/// Whether a status is Open311's `closed`: refused, merged or done.
pub fn is_closed(status: ReportStatus) -> bool {
    matches!(status, ReportStatus::Rejected | ReportStatus::Duplicate | ReportStatus::Closed)
}

/// The statuses that Open311's `open` (or `closed`) stands for.
pub fn statuses(closed: bool) -> Vec<ReportStatus> {
    ReportStatus::ALL.iter().copied().filter(|s| is_closed(*s) == closed).collect()
}

/// Who reads: a key holder, within their role's scope, or anyone, within
/// the public scope.
#[derive(Debug, Clone)]
pub enum Reader {
    Key(User),
    Public,
}

impl Reader {
    pub fn scope(&self) -> Scope {
        match self {
            Reader::Key(user) => auth::scope(user),
            Reader::Public => auth::public_scope(),
        }
    }
}

/// What a request shows, and how: the names' language, the time zone of
/// the datetimes, and where `media_url` points.
#[derive(Debug, Clone)]
pub struct Presentation {
    pub locale: Locale,
    pub timezone: chrono_tz::Tz,
    /// The URL `media_url` begins with, e.g. `http://host/open311/v2/media/`.
    pub media_base: String,
}

/// A service request as `requests.json` answers it; the names are the spec's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GeoRequest {
    pub service_request_id: String,
    /// `open` or `closed`.
    pub status: &'static str,
    pub status_notes: Option<String>,
    pub service_name: String,
    pub service_code: String,
    pub description: String,
    pub agency_responsible: Option<String>,
    pub service_notice: Option<String>,
    pub requested_datetime: String,
    pub updated_datetime: String,
    pub expected_datetime: Option<String>,
    pub address: Option<String>,
    pub address_id: Option<String>,
    pub zipcode: Option<String>,
    pub lat: Option<f64>,
    pub long: Option<f64>,
    pub media_url: Option<String>,
}

/// An RFC 3339 time in `tz`, as ISO 8601 with its offset (`+08:00`).
fn local_time(text: &str, tz: chrono_tz::Tz) -> String {
    DateTime::parse_from_rfc3339(text)
        .map(|t| tz.from_utc_datetime(&t.naive_utc()).format("%Y-%m-%dT%H:%M:%S%:z").to_string())
        .unwrap_or_else(|_| text.to_owned())
}

fn view(r: &StoredReport, departments: &[Department], how: &Presentation) -> GeoRequest {
    let w = &r.wire;
    let service_name = Category::from_code(&w.category).map(|c| c.name(how.locale).to_owned()).unwrap_or_else(|_| w.category.clone());
    let agency_responsible = r.department.as_ref().map(|code| {
        let department = departments.iter().find(|d| &d.code == code);
        match (department, how.locale) {
            (Some(Department { name_en: Some(en), .. }), Locale::En) => en.clone(),
            (Some(d), _) => d.name.clone(),
            (None, _) => code.clone(),
        }
    });
    let updated = r.history.last().map_or(r.received_at.as_str(), |e| e.at.as_str());
    GeoRequest {
        service_request_id: w.id.clone(),
        status: if is_closed(r.status) { "closed" } else { "open" },
        status_notes: r.history.iter().rev().find_map(|e| e.public_note.clone()),
        service_name,
        service_code: w.category.clone(),
        description: w.note.clone(),
        agency_responsible,
        service_notice: None,
        requested_datetime: local_time(&w.created_at, how.timezone),
        updated_datetime: local_time(updated, how.timezone),
        expected_datetime: r.due_at.as_deref().filter(|_| !is_closed(r.status)).map(|t| local_time(t, how.timezone)),
        address: None,
        address_id: None,
        zipcode: None,
        lat: w.location.as_ref().map(|l| l.latitude),
        long: w.location.as_ref().map(|l| l.longitude),
        media_url: w.photos.first().map(|p| format!("{}{}", how.media_base, p.sha256)),
    }
}

/// The query of `GET requests.json`, as sent (comma-separated lists).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct RequestsQuery {
    pub service_request_id: Option<String>,
    pub service_code: Option<String>,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub status: Option<String>,
}

fn list_of(text: Option<&str>) -> Vec<String> {
    text.map(|t| t.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()).unwrap_or_default()
}

fn date(name: &str, text: Option<&str>) -> Result<Option<i64>> {
    text.map(|t| {
        DateTime::parse_from_rfc3339(t)
            .map(|d| d.timestamp_millis())
            .map_err(|_| Error::BadRequest(format!("{name} `{t}` is not a W3C datetime such as 2026-05-01T00:00:00+08:00")))
    })
    .transpose()
}

/// The listing filter of a query at `now_ms`. With `service_request_id`
/// the other parameters are ignored, as the spec says; else the window is
/// `start_date`..`end_date`, each defaulting to 90 days from the other (the
/// end to now), and no longer than 90 days.
pub fn filter(query: &RequestsQuery, now_ms: i64) -> Result<ReportFilter> {
    let ids = list_of(query.service_request_id.as_deref());
    if !ids.is_empty() {
        return Ok(ReportFilter { ids, limit: MAX_REQUESTS, ..ReportFilter::default() });
    }
    let categories = list_of(query.service_code.as_deref());
    if let Some(unknown) = categories.iter().find(|c| Category::from_code(c).is_err()) {
        return Err(Error::BadRequest(format!("service_code `{unknown}` is not a service of this server (see services.json)")));
    }
    let statuses = match list_of(query.status.as_deref()).iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] => Vec::new(),
        ["open"] => statuses(false),
        ["closed"] => statuses(true),
        ["open", "closed"] | ["closed", "open"] => Vec::new(),
        _ => return Err(Error::BadRequest("status must be open, closed or open,closed".into())),
    };
    let (start, end) = (date("start_date", query.start_date.as_deref())?, date("end_date", query.end_date.as_deref())?);
    let (start_ms, end_ms) = match (start, end) {
        (Some(s), Some(e)) => (s, e),
        (Some(s), None) => (s, s.saturating_add(MAX_DAYS * DAY_MS)),
        (None, e) => {
            let e = e.unwrap_or(now_ms);
            (e.saturating_sub(MAX_DAYS * DAY_MS), e)
        }
    };
    if end_ms < start_ms {
        return Err(Error::BadRequest("end_date is before start_date".into()));
    }
    if end_ms - start_ms > MAX_DAYS * DAY_MS {
        return Err(Error::BadRequest(format!("start_date and end_date may be at most {MAX_DAYS} days apart")));
    }
    Ok(ReportFilter {
        statuses,
        categories,
        since_ms: Some(start_ms),
        // end_date is a moment the window includes.
        until_ms: Some(end_ms.saturating_add(1)),
        limit: MAX_REQUESTS,
        ..ReportFilter::default()
    })
}

/// The requests `reader` may see that pass `filter`, newest first.
pub fn list(storage: &dyn Storage, reader: &Reader, filter: &ReportFilter, how: &Presentation) -> Result<Vec<GeoRequest>> {
    let scope = reader.scope();
    storage::read(storage, |tx| {
        let page = tx.reports(&scope, filter)?;
        let departments = tx.departments()?;
        Ok(page.reports.iter().map(|r| view(r, &departments, how)).collect())
    })
}

/// One request `reader` may see; 404 for any other, whether it exists or not.
pub fn one(storage: &dyn Storage, reader: &Reader, id: &str, how: &Presentation) -> Result<GeoRequest> {
    let scope = reader.scope();
    storage::read(storage, |tx| {
        let report = tx.report(&scope, id)?.ok_or_else(|| reports::report_not_found(id))?;
        Ok(view(&report, &tx.departments()?, how))
    })
}

/// The fields of `POST requests.json` this server takes, as sent.
#[derive(Debug, Default)]
pub struct NewRequest {
    pub service_code: Option<String>,
    pub lat: Option<String>,
    pub long: Option<String>,
    pub description: Option<String>,
    /// The photo as the camera wrote it.
    pub media: Option<Vec<u8>>,
}

fn coordinate(name: &str, text: &str) -> Result<f64> {
    text.trim().parse::<f64>().map_err(|_| Error::BadRequest(format!("{name} `{text}` is not a number")))
}

/// Creates a report of `user`'s from an Open311 request and answers its id.
/// Checked in the order an Open311 client can fix things: the service, the
/// place, the photo; then the push's own rules decide, as for the app.
/// Open311 has no idempotency key: a retried POST is a second report.
pub async fn submit(app: &AppState, user: User, request: NewRequest) -> Result<String> {
    auth::require_open311_reporter(&user)?;
    let code = request.service_code.as_deref().ok_or_else(|| Error::BadRequest("service_code is required".into()))?;
    let category = Category::from_code(code)
        .map_err(|_| Error::BadRequest(format!("service_code `{code}` is not a service of this server (see services.json)")))?;
    let (Some(lat), Some(long)) = (request.lat.as_deref(), request.long.as_deref()) else {
        return Err(Error::BadRequest(
            "lat and long are required: this server places requests by WGS-84 coordinates (address_string and address_id are not supported)"
                .into(),
        ));
    };
    let point = LatLon { latitude: coordinate("lat", lat)?, longitude: coordinate("long", long)? };
    shared::check_location(point, None).map_err(|e| Error::BadRequest(format!("lat/long: {e}")))?;
    let description = request.description.unwrap_or_default();
    shared::check_note(&description).map_err(|e| Error::BadRequest(format!("description: {e}")))?;
    let media =
        request.media.ok_or_else(|| Error::BadRequest("a photo is needed: send it as the multipart/form-data file part `media`".into()))?;
    let photo = whole_photos::ingest(app, user.id, media).await?;
    let now_ms = app.now_ms();
    let id = uuid::Uuid::now_v7().to_string();
    let wire = serde_json::json!({
        "id": id,
        "category": category.code,
        "note": description,
        "location": { "latitude": point.latitude, "longitude": point.longitude, "source": "manual" },
        "photos": [{ "sha256": photo.sha256, "width": photo.width, "height": photo.height, "bytes": photo.bytes }],
        "reporter": { "role": "resident", "grid_id": null },
        "taken_at": null,
        "created_at": crate::clock::ms_rfc3339(now_ms),
    });
    let candidate = push::candidate(&user, 0, &wire.to_string(), now_ms)?;
    let grids = app.grids.clone();
    let quota = Quota::at(&app.settings, now_ms)?;
    let mut results = app.db(move |s| push::push(s, &grids, &user, &[candidate], now_ms, &quota)).await?;
    let result = results.pop().ok_or_else(|| Error::Internal("a push of one report answered nothing".into()))?;
    match result.outcome {
        PushOutcome::Accepted => Ok(id),
        PushOutcome::Invalid => Err(Error::BadRequest(result.error.unwrap_or_else(|| "the request breaks a rule".into()))),
        other => Err(Error::Internal(format!("an Open311 request with a fresh id and its own photo was answered {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejected_duplicate_and_closed_are_closed_and_the_rest_open() {
        assert_eq!(statuses(true), [ReportStatus::Rejected, ReportStatus::Duplicate, ReportStatus::Closed]);
        assert_eq!(statuses(false).len() + 3, ReportStatus::ALL.len());
        assert!(statuses(false).contains(&ReportStatus::Rectified), "fixed but not verified is still open");
    }

    #[test]
    fn the_window_is_at_most_ninety_days() {
        let now = 1_780_000_000_000;
        let q = |start: Option<&str>, end: Option<&str>| RequestsQuery {
            start_date: start.map(str::to_owned),
            end_date: end.map(str::to_owned),
            ..RequestsQuery::default()
        };
        let default = filter(&q(None, None), now).unwrap();
        assert_eq!((default.since_ms, default.until_ms, default.limit), (Some(now - 90 * DAY_MS), Some(now + 1), 1000));
        assert!(filter(&q(Some("2026-01-01T00:00:00+08:00"), Some("2026-03-31T00:00:00+08:00")), now).is_ok());
        assert!(filter(&q(Some("2026-01-01T00:00:00+08:00"), Some("2026-04-02T00:00:00+08:00")), now).is_err());
        assert!(filter(&q(Some("yesterday"), None), now).is_err());
    }

    #[test]
    fn times_are_in_the_servers_zone_with_the_offset() {
        assert_eq!(local_time("2026-11-12T01:30:00.000Z", chrono_tz::Asia::Shanghai), "2026-11-12T09:30:00+08:00");
    }
}

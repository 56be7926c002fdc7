//! The ledger (台账): one row per report whatever its state, as the
//! spreadsheet the campaign's offices hand around, in Excel (`xlsx`, with
//! `rust_xlsxwriter`) or CSV. Both are written page by page from storage
//! into a file, so that memory stays bounded however many reports there
//! are; the HTTP layer then streams the file.
//!
//! - Columns: [`HEADERS`], in Chinese. Times are local to the deployment's
//!   zone: real date cells in the xlsx (`yyyy-mm-dd hh:mm`), `YYYY-MM-DD
//!   HH:MM` text in the CSV. The location is given in WGS-84 as stored and
//!   in GCJ-02 (what Chinese maps show), converted by the core.
//! - "立案时间" is the first `accept`; "整改时间" the last `rectify`;
//!   "结案时间" the last `verify` of a case closed now; "是否超期" is
//!   whether it is dispatched or in progress and past due now; "返工次数"
//!   counts its `reopen`s.
//! - "照片链接" are absolute URLs of the renditions (`/v1/photos/{sha256}`,
//!   which answer only to whoever may see the report): the reporter's photos,
//!   then the after-photos, separated by spaces.
//! - The xlsx has the header row frozen, an autofilter over every column,
//!   and a second sheet "统计" with the period's figures (`/v1/stats` of the
//!   whole area and per street office).
//! - The CSV is UTF-8 with a byte-order mark, so that Excel opens the
//!   Chinese correctly, quoted as RFC 4180 says.
//!
//! The reporter is not in the ledger: it travels between offices.

use std::io::{Seek, Write};

use chrono::{NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};
use suishoupai_core::domain::geo::{LatLon, convert};
use suishoupai_core::{Category, Crs, Locale, ReportStatus};

use crate::auth;
use crate::clock::rfc3339_ms;
use crate::error::{Error, Result};
use crate::model::User;
use crate::services::stats::{self, By, Figures};
use crate::storage::{self, LedgerRecord, ReportFilter, ReportKey, Storage};

/// Reports read from storage at a time.
const PAGE: usize = 1000;

pub const HEADERS: [&str; 18] = [
    "编号",
    "类别",
    "街道",
    "社区",
    "网格",
    "纬度(WGS-84)",
    "经度(WGS-84)",
    "纬度(GCJ-02)",
    "经度(GCJ-02)",
    "立案时间",
    "责任部门",
    "处置期限",
    "整改时间",
    "结案时间",
    "状态",
    "是否超期",
    "返工次数",
    "照片链接",
];

const STATS_HEADERS: [&str; 13] =
    ["范围", "交办", "已整改", "结案", "整改率", "到期", "按期结案", "按期结案率", "返工", "返工率", "退回", "超期", "结案中位时长(小时)"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerFormat {
    Xlsx,
    Csv,
}

impl LedgerFormat {
    pub fn extension(self) -> &'static str {
        match self {
            LedgerFormat::Xlsx => "xlsx",
            LedgerFormat::Csv => "csv",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            LedgerFormat::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            LedgerFormat::Csv => "text/csv; charset=utf-8",
        }
    }
}

/// What a ledger covers and how it is written.
#[derive(Debug, Clone)]
pub struct LedgerRequest {
    pub filter: ReportFilter,
    /// The period of the statistics sheet (local days, both inclusive).
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Where the photo links point, e.g. `http://10.0.0.5:8080`.
    pub base_url: String,
    pub timezone: Tz,
    pub now_ms: i64,
}

/// One row, as text and numbers.
struct Row {
    record: LedgerRecord,
    gcj: Option<LatLon>,
    overdue: bool,
}

impl Row {
    fn of(record: LedgerRecord, now_ms: i64) -> Row {
        let gcj = record
            .latitude
            .zip(record.longitude)
            .map(|(latitude, longitude)| convert(LatLon { latitude, longitude }, Crs::Wgs84, Crs::Gcj02));
        let overdue =
            matches!(record.status, ReportStatus::Dispatched | ReportStatus::InProgress) && record.due_ms.is_some_and(|due| due < now_ms);
        Row { record, gcj, overdue }
    }
}

fn local(tz: Tz, ms: i64) -> Option<NaiveDateTime> {
    tz.timestamp_millis_opt(ms).single().map(|t| t.naive_local())
}

fn text_time(tz: Tz, ms: Option<i64>) -> String {
    ms.and_then(|ms| local(tz, ms)).map(|t| t.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_default()
}

/// Writes the ledger to `out` for `user` (coordinators and admins).
pub fn write_for<W: Write + Seek + Send>(
    storage: &dyn Storage,
    user: &User,
    request: &LedgerRequest,
    format: LedgerFormat,
    out: W,
) -> Result<u64> {
    auth::require_statistics_reader(user)?;
    write(storage, request, format, out)
}

/// Writes the ledger to `out`; answers how many reports it lists.
pub fn write<W: Write + Seek + Send>(storage: &dyn Storage, request: &LedgerRequest, format: LedgerFormat, out: W) -> Result<u64> {
    let figures = stats::compute(storage, request.from, request.to, Some(By::StreetOffice), request.timezone, request.now_ms)?;
    match format {
        LedgerFormat::Csv => write_csv(storage, request, out),
        LedgerFormat::Xlsx => write_xlsx(storage, request, &figures, out),
    }
}

/// Every row of the filter, a page at a time.
fn each_row(storage: &dyn Storage, request: &LedgerRequest, mut f: impl FnMut(Row) -> Result<()>) -> Result<u64> {
    let mut after: Option<ReportKey> = None;
    let mut count = 0;
    loop {
        let page = storage::read(storage, |tx| Ok::<_, Error>(tx.ledger_rows(&request.filter, after.as_ref(), PAGE)?))?;
        let full = page.len() == PAGE;
        for record in page {
            after = Some(ReportKey { created_ms: record.created_ms, id: record.id.clone() });
            count += 1;
            f(Row::of(record, request.now_ms))?;
        }
        if !full {
            return Ok(count);
        }
    }
}

fn category_zh(code: &str) -> String {
    Category::from_code(code).map(|c| c.name_zh.to_owned()).unwrap_or_else(|_| code.to_owned())
}

fn photo_links(base: &str, photos: &[String]) -> String {
    photos.iter().map(|sha| format!("{base}/v1/photos/{sha}")).collect::<Vec<_>>().join(" ")
}

fn write_csv<W: Write>(storage: &dyn Storage, request: &LedgerRequest, mut out: W) -> Result<u64> {
    let failed = |e: std::io::Error| Error::Internal(format!("writing the csv ledger: {e}"));
    out.write_all("\u{feff}".as_bytes()).map_err(failed)?;
    let mut csv = csv::Writer::from_writer(out);
    let csv_failed = |e: csv::Error| Error::Internal(format!("writing the csv ledger: {e}"));
    csv.write_record(HEADERS).map_err(csv_failed)?;
    let tz = request.timezone;
    let coordinate = |v: Option<f64>| v.map(|v| format!("{v:.7}")).unwrap_or_default();
    let count = each_row(storage, request, |row| {
        let r = &row.record;
        let at = |text: &Option<String>| text_time(tz, text.as_deref().and_then(rfc3339_ms));
        csv.write_record([
            r.id.clone(),
            category_zh(&r.category),
            r.street_office.clone().unwrap_or_default(),
            r.community.clone().unwrap_or_default(),
            r.grid_id.clone().unwrap_or_default(),
            coordinate(r.latitude),
            coordinate(r.longitude),
            coordinate(row.gcj.map(|p| p.latitude)),
            coordinate(row.gcj.map(|p| p.longitude)),
            at(&r.accepted_at),
            r.department_name.clone().or(r.department.clone()).unwrap_or_default(),
            text_time(tz, r.due_ms),
            at(&r.rectified_at),
            at(&r.closed_at),
            r.status.name(Locale::ZhCn).to_owned(),
            if row.overdue { "是" } else { "否" }.to_owned(),
            r.reworks.to_string(),
            photo_links(&request.base_url, &r.photos),
        ])
        .map_err(csv_failed)
    })?;
    csv.flush().map_err(failed)?;
    Ok(count)
}

fn write_xlsx<W: Write + Seek + Send>(storage: &dyn Storage, request: &LedgerRequest, figures: &stats::Stats, out: W) -> Result<u64> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let when = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    let tz = request.timezone;
    let count = {
        let sheet = workbook.add_worksheet_with_constant_memory()?;
        sheet.set_name("台账")?;
        for (col, header) in HEADERS.iter().enumerate() {
            sheet.write_string_with_format(0, col as u16, *header, &bold)?;
        }
        sheet.set_freeze_panes(1, 0)?;
        for (col, width) in [(0, 38.0), (1, 12.0), (9, 17.0), (11, 17.0), (12, 17.0), (13, 17.0), (14, 12.0), (17, 60.0)] {
            sheet.set_column_width(col, width)?;
        }
        let mut row_no: u32 = 0;
        let count = each_row(storage, request, |row| {
            row_no += 1;
            Ok(xlsx_row(sheet, row_no, &row, request, tz, &when)?)
        })?;
        sheet.autofilter(0, 0, row_no.max(1), (HEADERS.len() - 1) as u16)?;
        count
    };
    let sheet = workbook.add_worksheet();
    sheet.set_name("统计")?;
    sheet.write_string_with_format(0, 0, format!("统计期 {} 至 {}（{}）", figures.from, figures.to, figures.timezone), &bold)?;
    for (col, header) in STATS_HEADERS.iter().enumerate() {
        sheet.write_string_with_format(1, col as u16, *header, &bold)?;
    }
    let percent = Format::new().set_num_format("0.0%");
    let mut line = 2;
    let mut figures_row = |sheet: &mut Worksheet, key: &str, f: &Figures| -> Result<(), XlsxError> {
        sheet.write_string(line, 0, key)?;
        let counts = [
            (1, f.received),
            (2, f.rectified),
            (3, f.closed),
            (5, f.due),
            (6, f.closed_on_time),
            (8, f.reworked),
            (10, f.returned),
            (11, f.overdue),
        ];
        for (col, n) in counts {
            sheet.write_number(line, col, n as f64)?;
        }
        for (col, rate) in [(4, f.rectification_rate), (7, f.on_time_rate), (9, f.rework_rate)] {
            if let Some(rate) = rate {
                sheet.write_number_with_format(line, col, rate, &percent)?;
            }
        }
        if let Some(hours) = f.median_hours_to_close {
            sheet.write_number(line, 12, hours)?;
        }
        line += 1;
        Ok(())
    };
    figures_row(sheet, "全域", &figures.total)?;
    for group in &figures.groups {
        figures_row(sheet, group.key.as_deref().unwrap_or("（未入网格）"), &group.figures)?;
    }
    sheet.set_column_width(0, 16.0)?;
    workbook.save_to_writer(out)?;
    Ok(count)
}

fn xlsx_row(sheet: &mut Worksheet, n: u32, row: &Row, request: &LedgerRequest, tz: Tz, when: &Format) -> Result<(), XlsxError> {
    let r = &row.record;
    sheet.write_string(n, 0, &r.id)?;
    sheet.write_string(n, 1, category_zh(&r.category))?;
    let texts = [(2, &r.street_office), (3, &r.community), (4, &r.grid_id)];
    for (col, value) in texts {
        if let Some(value) = value {
            sheet.write_string(n, col, value)?;
        }
    }
    let numbers = [(5, r.latitude), (6, r.longitude), (7, row.gcj.map(|p| p.latitude)), (8, row.gcj.map(|p| p.longitude))];
    for (col, value) in numbers {
        if let Some(value) = value {
            sheet.write_number(n, col, value)?;
        }
    }
    let parsed = |text: &Option<String>| text.as_deref().and_then(rfc3339_ms);
    let times = [(9, parsed(&r.accepted_at)), (11, r.due_ms), (12, parsed(&r.rectified_at)), (13, parsed(&r.closed_at))];
    for (col, ms) in times {
        if let Some(at) = ms.and_then(|ms| local(tz, ms)) {
            sheet.write_datetime_with_format(n, col, at, when)?;
        }
    }
    if let Some(department) = r.department_name.as_ref().or(r.department.as_ref()) {
        sheet.write_string(n, 10, department)?;
    }
    sheet.write_string(n, 14, r.status.name(Locale::ZhCn))?;
    sheet.write_string(n, 15, if row.overdue { "是" } else { "否" })?;
    sheet.write_number(n, 16, f64::from(r.reworks))?;
    sheet.write_string(n, 17, photo_links(&request.base_url, &r.photos))?;
    Ok(())
}

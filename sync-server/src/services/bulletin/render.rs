//! The bulletin as people read it: a printable zh-CN page (the template
//! `sync-server/templates/bulletin.html`, self-contained: its styles inline,
//! no script, font or image from anywhere) and a CSV for Excel.
//!
//! The CSV is UTF-8 with a byte order mark (without it Excel reads the
//! Chinese as mojibake), CRLF line ends, and two sections: the street
//! offices' table with the whole area's row last (街道 `全区合计`), a blank
//! line, then the overdue cases with their own header row.

use askama::Template;

use super::{Bulletin, Row};
use crate::error::{Error, Result};

/// What the template shows: every number already written out as people read it.
#[derive(Template)]
#[template(path = "bulletin.html")]
struct Page<'a> {
    bulletin: &'a Bulletin,
    rows: Vec<Cells>,
    total: Cells,
    overdue: Vec<[String; 8]>,
}

/// A table row's cells, in the order of [`ROW_HEADERS`].
struct Cells {
    name: String,
    values: Vec<String>,
}

/// The columns after 街道.
const ROW_HEADERS: [&str; 11] =
    ["新增", "派遣", "整改", "结案", "超期", "累计交办", "累计整改", "累计结案", "整改率", "按期结案率", "返工率"];
const OVERDUE_HEADERS: [&str; 8] = ["案件编号", "类别代码", "类别", "街道", "部门代码", "部门", "期限", "超期天数"];
const TOTAL_NAME: &str = "全区合计";

/// The printable page.
pub fn render_html(bulletin: &Bulletin) -> Result<String> {
    let page = Page {
        bulletin,
        rows: bulletin.street_offices.iter().map(|r| cells(r, percent)).collect(),
        total: cells(&bulletin.total, percent),
        overdue: overdue_cells(bulletin),
    };
    page.render().map_err(|e| Error::Internal(format!("rendering the bulletin: {e}")))
}

/// The CSV, BOM first.
pub fn render_csv(bulletin: &Bulletin) -> String {
    let mut out = String::from("\u{feff}");
    let line = |out: &mut String, fields: &mut dyn Iterator<Item = &str>| {
        let quoted: Vec<String> = fields.map(csv_field).collect();
        out.push_str(&quoted.join(","));
        out.push_str("\r\n");
    };
    line(&mut out, &mut std::iter::once("街道").chain(ROW_HEADERS));
    for row in bulletin.street_offices.iter().chain([&bulletin.total]) {
        let c = cells(row, ratio);
        line(&mut out, &mut std::iter::once(c.name.as_str()).chain(c.values.iter().map(String::as_str)));
    }
    out.push_str("\r\n");
    line(&mut out, &mut OVERDUE_HEADERS.into_iter());
    for case in overdue_cells(bulletin) {
        line(&mut out, &mut case.iter().map(String::as_str));
    }
    out
}

fn cells(row: &Row, rate: fn(Option<f64>) -> String) -> Cells {
    let counts =
        [row.new, row.dispatched, row.rectified, row.closed, row.overdue, row.received_to_date, row.rectified_to_date, row.closed_to_date];
    let mut values: Vec<String> = counts.iter().map(u64::to_string).collect();
    values.extend([row.rectification_rate, row.on_time_rate, row.rework_rate].map(rate));
    Cells { name: row.street_office.clone().unwrap_or_else(|| TOTAL_NAME.to_owned()), values }
}

fn overdue_cells(bulletin: &Bulletin) -> Vec<[String; 8]> {
    bulletin
        .overdue
        .iter()
        .map(|c| {
            [
                c.id.clone(),
                c.category.clone(),
                c.category_name.clone(),
                c.street_office.clone().unwrap_or_default(),
                c.department.clone().unwrap_or_default(),
                c.department_name.clone().unwrap_or_default(),
                // 2026-11-20T18:00:00+08:00 → 2026-11-20 18:00
                c.due_at.get(..16).unwrap_or(&c.due_at).replacen('T', " ", 1),
                c.days_past_due.to_string(),
            ]
        })
        .collect()
}

/// For the page: `89.0%`, or `—` when there is nothing to divide.
fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "—".to_owned(), |r| format!("{:.1}%", r * 100.0))
}

/// For the CSV: the rate itself (a spreadsheet formats it), empty when null.
fn ratio(rate: Option<f64>) -> String {
    rate.map_or_else(String::new, |r| format!("{r:.4}"))
}

/// RFC 4180: quoted when it holds a comma, a quote or a line break; and a
/// leading `=`, `+`, `-` or `@` is prefixed with `'` so that a spreadsheet
/// never runs a name as a formula.
fn csv_field(field: &str) -> String {
    let field = if field.starts_with(['=', '+', '-', '@']) { format!("'{field}") } else { field.to_owned() };
    if field.contains([',', '"', '\r', '\n']) { format!("\"{}\"", field.replace('"', "\"\"")) } else { field }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::bulletin::OverdueCase;

    fn row(office: Option<&str>) -> Row {
        Row {
            street_office: office.map(Into::into),
            new: 3,
            dispatched: 2,
            rectified: 1,
            closed: 1,
            overdue: 4,
            received_to_date: 1188,
            rectified_to_date: 1057,
            closed_to_date: 1000,
            rectification_rate: Some(1057.0 / 1188.0),
            on_time_rate: None,
            rework_rate: Some(0.05),
        }
    }

    fn bulletin() -> Bulletin {
        Bulletin {
            date: "2026-11-20".parse().unwrap(),
            timezone: "Asia/Shanghai".into(),
            title: "11月20日 人居环境整治 每日通报".into(),
            as_of: "2026-11-21T08:00:00+08:00".into(),
            street_offices: vec![row(Some("城关街道")), row(Some("=<b>\"x\",y</b>"))],
            total: row(None),
            overdue: vec![OverdueCase {
                id: "0190".into(),
                category: "garbage".into(),
                category_name: "垃圾".into(),
                street_office: Some("城关街道".into()),
                department: Some("cg".into()),
                department_name: Some("城管局".into()),
                due_at: "2026-11-20T18:00:00+08:00".into(),
                days_past_due: 1,
            }],
        }
    }

    #[test]
    fn the_page_is_chinese_printable_and_escaped() {
        let html = render_html(&bulletin()).unwrap();
        assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
        assert!(html.contains(r#"<html lang="zh-CN">"#));
        assert!(html.contains("<title>11月20日 人居环境整治 每日通报</title>"));
        assert!(html.contains("@media print"));
        assert!(html.contains("89.0%") && html.contains("—") && html.contains("全区合计") && html.contains("城管局"));
        assert!(html.contains("2026-11-20 18:00"));
        // A street office's name is text, never markup.
        assert!(!html.contains("<b>") && html.contains("&#60;b&#62;"));
        // Self-contained: nothing is fetched from anywhere.
        for outside in ["http://", "https://", "<script", "<link", "src="] {
            assert!(!html.contains(outside), "{outside}");
        }
    }

    #[test]
    fn the_csv_has_a_bom_two_sections_and_safe_fields() {
        let csv = render_csv(&bulletin());
        assert!(csv.starts_with("\u{feff}街道,新增,派遣,整改,结案,超期,"));
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(lines[1], "城关街道,3,2,1,1,4,1188,1057,1000,0.8897,,0.0500");
        assert_eq!(lines[2], "\"'=<b>\"\"x\"\",y</b>\",3,2,1,1,4,1188,1057,1000,0.8897,,0.0500");
        assert!(lines[3].starts_with("全区合计,"));
        assert_eq!(lines[4], "");
        assert_eq!(lines[5], "案件编号,类别代码,类别,街道,部门代码,部门,期限,超期天数");
        assert_eq!(lines[6], "0190,garbage,垃圾,城关街道,cg,城管局,2026-11-20 18:00,1");
    }
}

"""Reads the ledgers back with independent readers and checks them against
what the JSON API says of the same reports (run by ledger.rs).

usage: ledger_check.py LEDGER.xlsx LEDGER.csv REPORTS.json GRID.geojson BASE_URL
"""
import csv
import datetime
import json
import sys
from zoneinfo import ZoneInfo

import openpyxl

xlsx_path, csv_path, reports_path, grid_path, base = sys.argv[1:6]
reports = {r["id"]: r for r in json.load(open(reports_path, encoding="utf-8"))}
cells = {f["properties"]["grid_id"]: f["properties"] for f in json.load(open(grid_path, encoding="utf-8"))["features"]}
zone = ZoneInfo("Asia/Shanghai")
STATUS = {"submitted": "待受理", "accepted": "已立案", "rejected": "不予立案", "duplicate": "重复", "dispatched": "已派遣",
          "in_progress": "处置中", "rectified": "已整改待核查", "closed": "已结案"}
HEADERS = ["编号", "类别", "街道", "社区", "网格", "纬度(WGS-84)", "经度(WGS-84)", "纬度(GCJ-02)", "经度(GCJ-02)", "立案时间", "责任部门",
           "处置期限", "整改时间", "结案时间", "状态", "是否超期", "返工次数", "照片链接"]


def local(text):
    """An RFC 3339 time as a naive local datetime, to the minute (the ledger's precision)."""
    if text is None:
        return None
    at = datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(zone).replace(tzinfo=None)
    return at.replace(second=0, microsecond=0)


def expected(r):
    actions = [e for e in r["history"] if e.get("action")]
    first = lambda a: next((e["at"] for e in actions if e["action"] == a), None)
    last = lambda a: next((e["at"] for e in reversed(actions) if e["action"] == a), None)
    cell = cells.get(r.get("grid_id"), {})
    photos = [p["sha256"] for p in r["photos"]] + [p for e in actions for p in e.get("photos", [])]
    return {
        "street_office": cell.get("street_office"), "community": cell.get("community"), "grid": r.get("grid_id"),
        "accepted": local(first("accept")), "rectified": local(last("rectify")),
        "closed": local(last("verify")) if r["status"] == "closed" else None, "due": local(r.get("due_at")),
        "status": STATUS[r["status"]], "overdue": "是" if r["overdue"] else "否",
        "reworks": sum(1 for e in actions if e["action"] == "reopen"), "photos": [f"{base}/v1/photos/{p}" for p in photos],
        "department": r.get("department"),
    }


book = openpyxl.load_workbook(xlsx_path)
assert book.sheetnames == ["台账", "统计"], book.sheetnames
sheet = book["台账"]
assert [c.value for c in sheet[1]] == HEADERS, [c.value for c in sheet[1]]
assert sheet.freeze_panes == "A2", sheet.freeze_panes
assert sheet.auto_filter.ref and sheet.auto_filter.ref.startswith("A1:R"), sheet.auto_filter.ref
rows = list(sheet.iter_rows(min_row=2, values_only=True))
assert {r[0] for r in rows} == set(reports), "one row per report, whatever its state"
for row in rows:
    want = expected(reports[row[0]])
    got = dict(zip(HEADERS, row))
    assert got["街道"] == want["street_office"] and got["社区"] == want["community"] and got["网格"] == want["grid"], (got, want)
    for header, key in [("立案时间", "accepted"), ("整改时间", "rectified"), ("结案时间", "closed"), ("处置期限", "due")]:
        value = got[header]
        assert value is None or isinstance(value, datetime.datetime), f"{header} is a real date cell: {value!r}"
        shown = value.replace(second=0, microsecond=0) if value else None
        assert shown == want[key], (row[0], header, value, want[key])
    assert got["状态"] == want["status"] and got["是否超期"] == want["overdue"], (got, want)
    assert got["返工次数"] == want["reworks"] and isinstance(got["返工次数"], (int, float)), got
    lat, lon = reports[row[0]]["location"]["latitude"], reports[row[0]]["location"]["longitude"]
    assert isinstance(got["纬度(WGS-84)"], float) and abs(got["纬度(WGS-84)"] - lat) < 1e-9, got
    assert 0.0005 < abs(got["经度(GCJ-02)"] - lon) < 0.01, "GCJ-02 is offset by a few hundred metres"
    assert (got["照片链接"] or "").split(" ") == want["photos"], (got["照片链接"], want["photos"])
    if want["department"]:
        assert got["责任部门"] == "城管局", got["责任部门"]
stats = book["统计"]
assert stats["A3"].value == "全域" and isinstance(stats["B3"].value, (int, float)), [c.value for c in stats[3]]
received = sum(1 for r in reports.values() if any(e.get("action") == "accept" for e in r["history"]))
assert stats["B3"].value == received, (stats["B3"].value, received)

raw = open(csv_path, "rb").read()
assert raw.startswith(b"\xef\xbb\xbf"), "the CSV starts with a BOM so that Excel reads UTF-8"
table = list(csv.reader(raw[3:].decode("utf-8").splitlines()))
assert table[0] == HEADERS, table[0]
by_id = {line[0]: dict(zip(HEADERS, line)) for line in table[1:]}
assert set(by_id) == set(reports)
for id, got in by_id.items():
    want = expected(reports[id])
    accepted = want["accepted"].strftime("%Y-%m-%d %H:%M") if want["accepted"] else ""
    assert got["立案时间"] == accepted and got["状态"] == want["status"] and int(got["返工次数"]) == want["reworks"], (got, want)
    assert got["照片链接"].split(" ") == want["photos"]
print(json.dumps({"ok": True, "rows": len(rows)}))

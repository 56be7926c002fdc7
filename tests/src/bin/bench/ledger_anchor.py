"""The ledger bench's anchor and its check (see console_ledger.rs).

    python3 ledger_anchor.py write LEDGER.csv OUT.xlsx
        XlsxWriter in constant-memory mode writes the rows of the CSV ledger
        the server exported as the server's xlsx has them: sheet 台账, the
        18 columns, bold header row frozen, autofilter, coordinates and
        rework counts as numbers, times as date cells. The CSV is read a row
        at a time while writing, so reading is in this process's figures as
        reading SQLite is in the server's.

    python3 ledger_anchor.py check EXPECTED_ROWS A.xlsx B.xlsx
        Reads both files with openpyxl (read-only) and fails unless their
        first sheets hold the same header and the same EXPECTED_ROWS rows.
"""

import csv
import sys
from datetime import datetime

# Column kinds, by index: the server's ledger.rs writes these as numbers and
# date cells; everything else is text.
NUMBERS = {5, 6, 7, 8, 16}
TIMES = {9, 11, 12, 13}
WIDTHS = [(0, 38.0), (1, 12.0), (9, 17.0), (11, 17.0), (12, 17.0), (13, 17.0), (14, 12.0), (17, 60.0)]


def write(csv_path, out_path):
    import xlsxwriter

    workbook = xlsxwriter.Workbook(out_path, {"constant_memory": True})
    sheet = workbook.add_worksheet("台账")
    bold = workbook.add_format({"bold": True})
    when = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    for col, width in WIDTHS:
        sheet.set_column(col, col, width)
    sheet.freeze_panes(1, 0)
    rows = 0
    with open(csv_path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        for col, header in enumerate(next(reader)):
            sheet.write_string(0, col, header, bold)
        for rows, record in enumerate(reader, start=1):
            for col, value in enumerate(record):
                if value == "":
                    continue
                if col in NUMBERS:
                    sheet.write_number(rows, col, float(value))
                elif col in TIMES:
                    sheet.write_datetime(rows, col, datetime.strptime(value, "%Y-%m-%d %H:%M"), when)
                else:
                    sheet.write_string(rows, col, value)
    sheet.autofilter(0, 0, max(rows, 1), 17)
    workbook.close()
    print(f"wrote {rows} rows to {out_path}")


def same(a, b):
    if a in (None, "") and b in (None, ""):
        return True
    if isinstance(a, datetime) and isinstance(b, datetime):
        # Both show minutes; the server's cell also holds the seconds, the
        # CSV the anchor reads does not.
        return a.replace(second=0, microsecond=0) == b.replace(second=0, microsecond=0)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        # The CSV has coordinates to 1e-7 degree.
        return abs(a - b) < 1e-6
    return a == b


def check(expected, paths):
    from itertools import zip_longest

    import openpyxl

    sheets = [openpyxl.load_workbook(p, read_only=True).worksheets[0] for p in paths]
    for path, sheet in zip(paths, sheets):
        if sheet.title != "台账":
            sys.exit(f"{path}: the first sheet is {sheet.title!r}")
    count, dates = -1, 0
    for count, (a, b) in enumerate(zip_longest(*(s.iter_rows(values_only=True) for s in sheets))):
        if a is None or b is None or len(a) != 18 or len(b) != 18 or not all(same(x, y) for x, y in zip(a, b)):
            sys.exit(f"row {count + 1} differs:\n  {paths[0]}: {a}\n  {paths[1]}: {b}")
        dates += count > 0 and isinstance(a[9], datetime)
    if count != expected:
        sys.exit(f"{count} rows below the header, {expected} expected")
    if dates < count // 2:
        sys.exit(f"only {dates} of {count} rows have 立案时间 as a date cell")
    print(f"check: both ledgers hold the same header and {count} rows ({dates} with a date cell of 立案时间)")


if __name__ == "__main__":
    if sys.argv[1:2] == ["write"] and len(sys.argv) == 4:
        write(sys.argv[2], sys.argv[3])
    elif sys.argv[1:2] == ["check"] and len(sys.argv) == 5:
        check(int(sys.argv[2]), sys.argv[3:])
    else:
        sys.exit(__doc__)

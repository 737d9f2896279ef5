"""Reads an XLSX workbook with openpyxl and prints every sheet as JSON:
its name, frozen panes, column widths and each cell as
[type, value, number format, bold]. Used by ferry's tests as an
independent reader.

usage: read_xlsx.py PATH
"""
import datetime
import json
import sys

import openpyxl


def cell(c):
    v = c.value
    if v is None:
        return None
    if isinstance(v, bool):
        kind, text = "bool", "true" if v else "false"
    elif isinstance(v, (int, float)):
        kind, text = "number", repr(v)
    elif isinstance(v, datetime.datetime):
        kind, text = "datetime", v.isoformat(sep=" ")
    elif isinstance(v, datetime.time):
        kind, text = "time", v.isoformat()
    elif isinstance(v, str):
        kind, text = "text", v
    else:
        raise SystemExit(f"cell {c.coordinate}: unexpected value {v!r}")
    return [kind, text, c.number_format, bool(c.font.b)]


book = openpyxl.load_workbook(sys.argv[1])
sheets = []
for ws in book.worksheets:
    sheets.append({
        "name": ws.title,
        "freeze": ws.freeze_panes,
        "widths": {k: d.width for k, d in ws.column_dimensions.items()},
        "rows": [[cell(c) for c in row] for row in ws.iter_rows()],
    })
json.dump(sheets, sys.stdout, ensure_ascii=False)

#!/usr/bin/env python3
"""Third-party check of a plan workbook written by `onc-hydro plan`, with openpyxl.

Usage: python3 scripts/check_xlsx_openpyxl.py download.xlsx [--expect-sheets "By Location,By Device"]

Checks: the workbook opens; the request sheet(s), 'Configuration', 'Product options' and
'Offerings' are present; each request sheet has a frozen header row, request columns in bold,
begin/end as real dates (datetime cells with a date number format), begin < end, widths set,
links on helpDocument; Configuration holds the documented settings and no token.
Prints one line per sheet and exits 1 with the list of failures if any check fails.
"""
import datetime
import sys

try:
    import openpyxl
except ImportError:  # pragma: no cover
    print("openpyxl is not installed: pip install openpyxl", file=sys.stderr)
    sys.exit(2)

REQUEST_BOLD = {
    "By Location": ["locationCode", "deviceCategoryCode", "begin", "end", "dataProductCode",
                    "extension", "data product options", "download"],
    "By Device": ["deviceCode", "begin", "end", "dataProductCode", "extension",
                  "data product options", "download"],
}
SETTINGS = ["downloadFolder", "splitDateRange", "dayOfWeek", "runThreads", "downloadThreads",
            "downloadQueueSize", "beginRun", "endRun"]


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    path = argv[1]
    expect = None
    if "--expect-sheets" in argv:
        expect = [s.strip() for s in argv[argv.index("--expect-sheets") + 1].split(",")]
    failures = []
    wb = openpyxl.load_workbook(path)
    names = wb.sheetnames
    requests = [n for n in names if n in REQUEST_BOLD]
    if not requests:
        failures.append("no 'By Location' or 'By Device' sheet")
    for needed in (expect or []) + ["Configuration", "Product options", "Offerings"]:
        if needed not in names:
            failures.append(f"sheet '{needed}' missing (have {names})")
    for name in requests:
        ws = wb[name]
        headers = [c.value for c in ws[1]]
        if ws.freeze_panes != "A2":
            failures.append(f"{name}: header row not frozen (freeze_panes={ws.freeze_panes})")
        for col in REQUEST_BOLD[name]:
            if col not in headers:
                failures.append(f"{name}: column '{col}' missing")
                continue
            cell = ws.cell(row=1, column=headers.index(col) + 1)
            if not cell.font.bold:
                failures.append(f"{name}: request column '{col}' is not bold")
        for meta in ("dataProductName", "helpDocument"):
            if meta in headers and ws.cell(row=1, column=headers.index(meta) + 1).font.bold:
                failures.append(f"{name}: metadata column '{meta}' should not be bold")
        bi, ei = headers.index("begin") + 1, headers.index("end") + 1
        rows = 0
        for r in range(2, ws.max_row + 1):
            b, e = ws.cell(row=r, column=bi), ws.cell(row=r, column=ei)
            if b.value is None and e.value is None:
                continue
            rows += 1
            for c in (b, e):
                if not isinstance(c.value, datetime.datetime) or not c.is_date:
                    failures.append(f"{name}!{c.coordinate}: not a real date ({c.value!r})")
            if isinstance(b.value, datetime.datetime) and isinstance(e.value, datetime.datetime):
                if not b.value < e.value:
                    failures.append(f"{name} row {r}: begin {b.value} not before end {e.value}")
        if "helpDocument" in headers and rows:
            h = ws.cell(row=2, column=headers.index("helpDocument") + 1)
            if h.value and h.hyperlink is None:
                failures.append(f"{name}!{h.coordinate}: helpDocument is not a link")
        narrow = [k for k, d in ws.column_dimensions.items() if d.width and d.width < 8]
        if len(ws.column_dimensions) < len(headers) // 2 or narrow:
            failures.append(f"{name}: column widths not set sensibly ({narrow})")
        print(f"{name}: {rows} row(s), {len(headers)} column(s)")
    if "Configuration" in names:
        ws = wb["Configuration"]
        settings = {ws.cell(row=r, column=1).value: ws.cell(row=r, column=2).value
                    for r in range(2, ws.max_row + 1)}
        for s in SETTINGS:
            if s not in settings:
                failures.append(f"Configuration: setting '{s}' missing")
        if "token" in settings:
            failures.append("Configuration: a token row is present")
        print(f"Configuration: {', '.join(f'{k}={settings.get(k)}' for k in SETTINGS)}")
    if "Product options" in names:
        ws = wb["Product options"]
        options = [ws.cell(row=r, column=4).value for r in range(2, ws.max_row + 1)]
        print(f"Product options: {len(options)} line(s), "
              f"{sum(1 for o in options if o and str(o).startswith('dpo_'))} dpo_* option(s)")
    if failures:
        print("FAILED:", file=sys.stderr)
        for f in failures:
            print("  " + f, file=sys.stderr)
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""The HTML shell every report page shares: inline CSS and script (the page must open offline with no
request to any network), and the small formatting helpers that turn table values into escaped text.
"""

from __future__ import annotations

import datetime as dt
import html

import pandas as pd

from pipeline.outputs.report.data import present

# System fonts that carry Chinese glyphs on Linux, Windows and macOS; nothing is downloaded.
FONT_STACK = '"Noto Sans CJK SC", "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC", sans-serif'

_CSS = """
* { box-sizing: border-box; }
body { font-family: %FONTS%; margin: 0 auto; max-width: 1180px; padding: 16px 24px 48px;
       color: #1d2330; background: #fff; font-size: 14px; line-height: 1.5; }
h1 { font-size: 22px; margin: 8px 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px;
  border-bottom: 2px solid #d8dde6; padding-bottom: 4px; } h3 { font-size: 15px; margin: 16px 0 6px; }
a { color: #1f5fbf; } .muted { color: #667085; font-size: 12px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0; }
th, td { border: 1px solid #d8dde6; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #f2f4f8; font-weight: 600; } table.sortable td:not(:last-child) { white-space: nowrap; } td.num, th.num { text-align: right; }
table.sortable th { cursor: pointer; user-select: none; }
table.sortable th[aria-sort=ascending]::after { content: " ▲"; }
table.sortable th[aria-sort=descending]::after { content: " ▼"; }
dl.glance { display: grid; grid-template-columns: max-content 1fr max-content 1fr; gap: 2px 14px; }
dl.glance dt { color: #667085; } dl.glance dd { margin: 0; font-weight: 600; }
.sev { display: inline-block; border-radius: 3px; padding: 0 6px; color: #fff; font-size: 12px; }
.sev-high { background: #c62828; } .sev-medium { background: #e08a00; } .sev-low { background: #607d8b; }
.counts span { margin-right: 12px; }
article.finding { border: 1px solid #d8dde6; border-left: 5px solid #607d8b; border-radius: 4px;
  padding: 8px 12px; margin: 8px 0; display: grid; grid-template-columns: minmax(0, 1fr) auto; gap: 8px; }
article.finding.high { border-left-color: #c62828; } article.finding.medium { border-left-color: #e08a00; }
article.finding .facts span { margin-right: 10px; white-space: nowrap; }
article.finding .facts span.long { white-space: normal; overflow-wrap: anywhere; }
article.finding img.snapshot { max-width: 320px; max-height: 200px; border: 1px solid #ccc; }
article.finding .message { font-weight: 600; margin: 2px 0; }
details pre { white-space: pre-wrap; word-break: break-all; background: #f7f8fa; padding: 6px; margin: 4px 0; }
svg.timeline { width: 100%; height: auto; display: block; margin: 4px 0 14px; background: #fcfcfd; }
svg.timeline text { font-family: %FONTS%; font-size: 11px; fill: #1d2330; }
.legend span { display: inline-block; margin-right: 14px; font-size: 12px; }
.legend i { display: inline-block; width: 14px; height: 10px; margin-right: 4px; vertical-align: middle; }
@media print { article.finding { break-inside: avoid; } }
""".replace("%FONTS%", FONT_STACK)

# Sort a table by the clicked header: numbers numerically (cells carry data-v), text in the page's locale.
_SORT_JS = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th").forEach(function (th, col) {
    th.addEventListener("click", function () {
      var asc = th.getAttribute("aria-sort") !== "ascending";
      table.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      function key(row) { var c = row.cells[col]; return c.hasAttribute("data-v") ? c.getAttribute("data-v") : c.textContent; }
      rows.sort(function (a, b) {
        var x = key(a), y = key(b), nx = parseFloat(x), ny = parseFloat(y), r;
        if (!isNaN(nx) && !isNaN(ny)) { r = nx - ny; }
        else if (x === "" || y === "") { r = (x === "") - (y === ""); }
        else { r = x.localeCompare(y, document.documentElement.lang); }
        return asc ? r : -r;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""


def esc(value: object) -> str:
    """Escaped text for HTML content and attributes; missing values become empty text."""
    value = present(value)
    return "" if value is None else html.escape(str(value), quote=True)


def page(title: str, lang: str, body: str) -> str:
    # `icon href=data:,` stops the browser asking for /favicon.ico (a request, and a console error offline).
    return (
        f'<!DOCTYPE html>\n<html lang="{esc("zh-CN" if lang == "zh" else "en")}">\n<head>\n'
        '<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src 'self' data: file:; "
        "media-src 'self' file:; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n"
        '<link rel="icon" href="data:,">\n'
        f"<title>{esc(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n{body}\n"
        f"<script>{_SORT_JS}</script>\n</body>\n</html>\n"
    )


def num(value: object, digits: int = 1) -> str:
    value = present(value)
    if value is None:
        return ""
    value = float(value)
    return f"{value:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{value:.0f}"


def num_cell(value: object, digits: int = 1) -> str:
    """A right-aligned table cell whose sort key is the raw number (empty when missing)."""
    value = present(value)
    key = "" if value is None else repr(float(value))
    return f'<td class="num" data-v="{key}">{num(value, digits)}</td>'


def local(ts: object, tz: str) -> pd.Timestamp | None:
    ts = present(ts)
    if ts is None:
        return None
    ts = pd.Timestamp(ts)
    return ts.tz_convert(tz) if ts.tzinfo else ts.tz_localize(tz)


def when(ts: object, tz: str, fmt: str = "%Y-%m-%d %H:%M") -> str:
    ts = local(ts, tz)
    return "" if ts is None else ts.strftime(fmt)


def day(value: object) -> str:
    value = present(value)
    if value is None:
        return ""
    if isinstance(value, (dt.date, pd.Timestamp)):
        return value.strftime("%Y-%m-%d")
    return str(value)


def clock(offset_s: float) -> str:
    """Seconds into a file as HH:MM:SS, the way video players show it."""
    total = int(max(0.0, offset_s))
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"

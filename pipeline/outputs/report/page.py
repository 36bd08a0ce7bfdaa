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
body { font-family: %FONTS%; margin: 0 auto; max-width: 1320px; padding: 16px 24px 48px;
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
article.finding { display: block; } article.finding header { font-size: 15px; }
code.rule-code { color: #8a94a6; font-size: 11px; } .rule-title { color: #1d2330; }
.figures { display: flex; flex-wrap: wrap; gap: 10px; margin: 6px 0; align-items: flex-start; }
figure { margin: 0; } figcaption { font-size: 12px; color: #475467; max-width: 560px; }
figure.frame svg.frame, figure.frame img.frame { width: 560px; max-width: 100%; height: auto; display: block;
  border: 1px solid #ccc; }
figure.photo img.photo { height: 160px; width: auto; border: 1px solid #ccc; display: block; }
.no-photo { width: 120px; height: 160px; background: #eef1f5; color: #667085; display: flex; align-items: center;
  justify-content: center; font-size: 12px; }
dl.fields { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 4px 0; font-size: 13px; }
dl.fields dt { color: #667085; } dl.fields dd { margin: 0; overflow-wrap: anywhere; }
table.sub { font-size: 12px; width: auto; } table.sub td, table.sub th { padding: 1px 5px; }
.counts { margin: 4px 0; } details.glance > summary, details.folded > summary, details.session-presence > summary {
  cursor: pointer; font-weight: 600; margin: 6px 0; }
details.folded > summary { font-size: 16px; margin-top: 22px; }
.filters { position: sticky; top: 0; background: #fff; z-index: 5; padding: 6px 0; border-bottom: 1px solid #e3e6ec;
  display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
.filters input { flex: 1 1 280px; padding: 4px 8px; font: inherit; } .filters select { font: inherit; padding: 3px; }
.suspects { display: grid; grid-template-columns: repeat(auto-fill, minmax(600px, 1fr)); gap: 8px; }
article.suspect { display: flex; gap: 10px; border: 1px solid #d8dde6; border-left: 5px solid #607d8b;
  border-radius: 4px; padding: 6px 8px; }
article.suspect.high { border-left-color: #c62828; } article.suspect.medium { border-left-color: #e08a00; }
article.suspect img.face, article.suspect .face { width: 72px; height: 96px; object-fit: cover; flex: none;
  border: 1px solid #ccc; font-size: 11px; }
article.suspect .name { font-size: 17px; font-weight: 700; text-decoration: none; color: #1d2330; }
article.suspect .tid { color: #667085; } .chips { margin: 2px 0 4px; }
a.chip { display: inline-block; font-size: 12px; color: #fff; border-radius: 3px; padding: 0 6px; margin: 1px 2px 1px 0;
  text-decoration: none; background: #607d8b; } a.chip.sev-high { background: #c62828; } a.chip.sev-medium { background: #e08a00; }
.strip { display: flex; gap: 2px; flex-wrap: wrap; } .strip span.g { display: inline-flex; flex-direction: column;
  width: 52px; font-size: 11px; line-height: 1.25; padding: 1px 3px; border-radius: 2px; }
.strip span.g small { color: #475467; }
.g-full { background: #c8e6c9; } .g-part { background: #fff3bf; } .g-low { background: #ffd8a8; }
.g-none { background: #ffb3b3; } .g-unjudged { background: #eceff3; color: #667085; } .g-online { background: #d0e4ff; }
table.grid td.g { text-align: center; white-space: nowrap; font-size: 12px; } table.grid th.who { white-space: nowrap; }
table.grid th { font-size: 12px; text-align: center; } .scroll { overflow-x: auto; }
.legend i.g-full, .legend i.g-part, .legend i.g-low, .legend i.g-none, .legend i.g-unjudged, .legend i.g-online {
  border: 1px solid #ccd; }
svg.presence { width: 100%; height: auto; display: block; background: #fff; }
svg.presence text { font-family: %FONTS%; font-size: 11px; fill: #1d2330; }
svg.frame text { font-family: %FONTS%; }
.trainee-head { display: flex; gap: 16px; align-items: flex-start; }
.faces { display: flex; flex-wrap: wrap; gap: 10px; } .faces figure img { height: 120px; width: auto; border: 1px solid #ccc; }
[hidden] { display: none !important; }
.print-only { display: none; }
@page { size: A4; margin: 16mm 12mm 16mm 12mm;
  @bottom-right { content: counter(page) " / " counter(pages); font-size: 9pt; } }
@media print {
  body { max-width: none; padding: 0; font-size: 11pt; }
  .filters, .nav, .video-link, a.lang { display: none !important; }
  .print-only { display: block; }
  article.finding, article.suspect, figure, tr { break-inside: avoid; }
  h2 { break-after: avoid; }
  a { color: inherit; text-decoration: none; }
  .scroll { overflow: visible; }
}
""".replace("%FONTS%", FONT_STACK)

# Filter the page's cards and rows by the search box and the rule/severity selects: an element takes part
# when it carries data-filter (text in data-text, rules in data-rule, severities in data-severity). Print
# opens every folded section (a case file shows everything).
_FILTER_JS = """
(function () {
  var q = document.getElementById("q"), rule = document.getElementById("f-rule"), sev = document.getElementById("f-sev");
  var count = document.getElementById("f-count"), inst = document.getElementById("f-inst");
  function has(list, v) { return !v || (" " + (list || "") + " ").indexOf(" " + v + " ") >= 0; }
  function apply() {
    var text = q ? q.value.trim().toLowerCase() : "", r = rule ? rule.value : "", s = sev ? sev.value : "", n = 0;
    var i = inst ? inst.value : "";
    document.querySelectorAll("[data-filter], article.finding").forEach(function (el) {
      var ok = (!text || (el.getAttribute("data-text") || el.textContent.toLowerCase()).indexOf(text) >= 0)
        && (el.tagName === "TR" && !el.hasAttribute("data-rule")
            || (has(el.getAttribute("data-rule"), r) && has(el.getAttribute("data-severity"), s)))
        && (!i || el.getAttribute("data-inst") === i);
      el.hidden = !ok; if (ok && (el.tagName !== "TR" || el.hasAttribute("data-rule"))) { n++; }
    });
    document.querySelectorAll("[data-filter-group]").forEach(function (g) {
      g.hidden = !g.querySelector("article.finding:not([hidden])");
    });
    if (count) { count.textContent = n; }
  }
  apply();
  [q, rule, sev, inst].forEach(function (el) { if (el) { el.addEventListener("input", apply); el.addEventListener("change", apply); } });
  var opened = [];
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details:not([open])").forEach(function (d) { d.open = true; opened.push(d); });
  });
  window.addEventListener("afterprint", function () { opened.forEach(function (d) { d.open = false; }); opened = []; });
})();
"""

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


def filter_bar(words, rules: list[tuple[str, str]], institutions: list[str] | None = None) -> str:
    """Search box and rule/severity selects (no request: the page filters itself)."""
    from pipeline.outputs.report.i18n import SEVERITIES

    rule_opts = "".join(f'<option value="{esc(code)}">{esc(title)} ({esc(code)})</option>' for code, title in rules)
    sev_opts = "".join(f'<option value="{esc(s)}">{esc(words.value(s))}</option>' for s in SEVERITIES)
    inst = ""
    if institutions:
        inst = (f'<select id="f-inst" aria-label="{esc(words("institution"))}"><option value="">'
                f'{esc(words("institutions"))}</option>'
                + "".join(f'<option value="{esc(i)}">{esc(i)}</option>' for i in institutions) + "</select>")
    return (f'<div class="filters"><input id="q" type="search" placeholder="{esc(words("search"))}" '
            f'aria-label="{esc(words("search"))}"><select id="f-rule" aria-label="{esc(words("rule"))}">'
            f'<option value="">{esc(words("all_rules"))}</option>{rule_opts}</select>'
            f'<select id="f-sev" aria-label="{esc(words("severity"))}"><option value="">{esc(words("all_severities"))}'
            f'</option>{sev_opts}</select>{inst}<span class="muted">{esc(words("shown"))}: <b id="f-count"></b></span></div>')


def page(title: str, lang: str, body: str, case_title: str = "") -> str:
    # `icon href=data:,` stops the browser asking for /favicon.ico (a request, and a console error offline).
    return (
        f'<!DOCTYPE html>\n<html lang="{esc("zh-CN" if lang == "zh" else "en")}">\n<head>\n'
        '<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src 'self' data: file:; "
        "media-src 'self' file:; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n"
        '<link rel="icon" href="data:,">\n'
        f"<title>{esc(title)}</title>\n<style>{_CSS}</style>\n"
        f'<style>@page {{ @top-center {{ content: "{_css_string(case_title)}"; font-size: 9pt; color: #555; }} }}</style>\n'
        f"</head>\n<body>\n{body}\n"
        f"<script>{_SORT_JS}{_FILTER_JS}</script>\n</body>\n</html>\n"
    )


def _css_string(text: str) -> str:
    """Text safe inside a CSS string (the print header): no quotes, backslashes or line breaks."""
    return "".join(ch for ch in text if ch not in '"\\\n\r<>')


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

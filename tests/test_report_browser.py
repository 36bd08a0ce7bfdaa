"""The report in a real browser: Debian's headless Chromium opens the pages from disk, offline."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.outputs.report import build_report, read_table
from test_report_sample import CLASS_A, CLASS_B, write_sample_out

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install -y chromium; CI set-up does it)")
# Launched as root in CI containers: no sandbox; nothing that would phone home.
# Wait for every image to decode, but never forever (a picture that cannot load fails the asserts instead).
DECODE = ("Promise.race([Promise.all(Array.from(document.images).map(i => i.decode().catch(() => null))), "
          "new Promise(r => setTimeout(r, 10000))])")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    playwright = pytest.importorskip("playwright.sync_api")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with playwright.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=ARGS,
            viewport={"width": 1280, "height": 900}, service_workers="block")
        yield context
        context.close()


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = write_sample_out(tmp_path_factory.mktemp("sample"))
    return out, build_report(out)


class Visit:
    """Load one page and keep what a reviewer would look at: console, requests, dialogs, page errors."""

    def __init__(self, context, path: Path, shot: Path):
        self.console, self.requests, self.dialogs, self.errors = [], [], [], []
        self.page = context.new_page()
        self.page.on("console", lambda m: self.console.append((m.type, m.text)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(path.as_uri(), wait_until="load")
        self.page.evaluate(DECODE)
        self.page.screenshot(path=str(shot), full_page=True)
        self.shot = shot


def _assert_clean(visit: Visit, out: Path) -> None:
    assert visit.errors == [] and visit.dialogs == []
    assert [m for m in visit.console if m[0] in ("error", "warning")] == []
    assert visit.requests, "the page made no request at all: it did not load"
    root = out.resolve().as_uri() + "/"
    assert [u for u in visit.requests if not u.startswith(root)] == []


def _assert_not_blank(png: Path) -> None:
    img = cv2.imread(str(png))
    assert img is not None and img.shape[0] > 600
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    assert gray.std() > 20 and (gray < 128).mean() > 0.01  # text and drawings, not an empty white page
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 50


def test_class_page_renders_offline_with_evidence(browser, report, tmp_path):
    out, result = report
    visit = Visit(browser, result.class_pages[CLASS_A], tmp_path / "class.png")
    _assert_clean(visit, out)
    _assert_not_blank(visit.shot)
    page = visit.page
    assert page.locator("article.finding").count() == 6
    snaps = page.locator("article.finding figure img.frame")
    assert snaps.count() == 2
    assert all(w >= 640 for w in snaps.evaluate_all("els => els.map(e => e.naturalWidth)"))
    assert page.locator("svg.timeline").count() == 1 and page.locator("svg.timeline polyline").count() == 2
    assert page.locator("a.video-link", has_text="00:41:13").count() == 1
    assert page.evaluate("getComputedStyle(document.body).fontFamily").startswith('"Noto Sans CJK SC"')
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280  # nothing pushes the layout sideways


def test_trainee_table_sorts_on_click(browser, report, tmp_path):
    out, result = report
    visit = Visit(browser, result.class_pages[CLASS_A], tmp_path / "sort.png")
    page = visit.page
    first_col = "#trainee-table tbody tr td:first-child"
    header = page.locator("#trainee-table th").nth(7)  # check-in events: S001 2, S002 2, S003 1
    header.click()
    assert page.locator(first_col).all_text_contents()[0] == "S003"
    header.click()
    assert page.locator(first_col).all_text_contents()[-1] == "S003"
    assert header.get_attribute("aria-sort") == "descending"
    _assert_clean(visit, out)


def test_english_page_fits_the_window(browser, tmp_path_factory, tmp_path):
    out = write_sample_out(tmp_path_factory.mktemp("sample-en"))
    result = build_report(out, lang="en")
    visit = Visit(browser, result.class_pages[CLASS_A], tmp_path / "en.png")
    _assert_clean(visit, out)
    assert visit.page.evaluate("document.documentElement.scrollWidth") <= 1280
    assert visit.page.locator("a.video-link", has_text="open video at 00:41:13").count() == 1


def test_injected_inputs_stay_text(browser, report, tmp_path):
    out, result = report
    visit = Visit(browser, result.class_pages[CLASS_B], tmp_path / "evil.png")
    _assert_clean(visit, out)  # no alert() dialog, no request to evil.example
    assert visit.page.locator("article.finding").count() == 3
    assert visit.page.locator("article.finding img").count() == 0


def test_index_page_links_and_counts(browser, report, tmp_path):
    out, result = report
    visit = Visit(browser, result.index, tmp_path / "index.png")
    _assert_clean(visit, out)
    _assert_not_blank(visit.shot)
    assert visit.page.locator("a.class-link").count() == 2
    visit.page.locator("a.class-link", has_text=CLASS_A).click()
    visit.page.wait_for_load_state("load")
    assert visit.page.url.endswith(f"/report/{CLASS_A}.html")
    assert visit.page.locator("article.finding").count() == len(
        read_table(out, "findings").query("class_id == @CLASS_A"))

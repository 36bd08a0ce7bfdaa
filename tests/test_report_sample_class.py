"""The shipped sample class, audited for real (real detector and encoder on its generated recordings), read
in headless Chromium the way an inspector reads it: who is suspect, and why, on the first screen."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from pipeline.outputs.report import read_table

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
CLASS = "TA2024-DG-017"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install -y chromium; CI set-up does it)")
# Wait for every image to decode, but never forever (a picture that cannot load fails the asserts instead).
DECODE = ("Promise.race([Promise.all(Array.from(document.images).map(i => i.decode().catch(() => null))), "
          "new Promise(r => setTimeout(r, 10000))])")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
# Rules whose every finding must come with a picture (issue 17, "Done when").
PICTURED = ("ATTENDANCE_PROXY", "UNKNOWN_PERSON", "IDENTITY_SHARED", "RECORDING_REUSED", "RECORDING_BLANK",
            "HEADCOUNT_MISMATCH")


@pytest.fixture(scope="session")
def audited(sample_audit) -> Path:
    return sample_audit


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM, headless=True, args=ARGS,
            viewport={"width": 1400, "height": 900}, service_workers="block")
        yield context
        context.close()


def _open(context, path: Path):
    seen = {"console": [], "requests": [], "errors": []}
    page = context.new_page()
    page.on("console", lambda m: seen["console"].append((m.type, m.text)))
    page.on("request", lambda r: seen["requests"].append(r.url))
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.goto(path.as_uri(), wait_until="load")
    page.evaluate(DECODE)
    return page, seen


def _assert_clean(seen: dict, out: Path) -> None:
    assert seen["errors"] == []
    assert [m for m in seen["console"] if m[0] in ("error", "warning")] == []
    root = out.resolve().as_uri() + "/"
    assert seen["requests"] and [u for u in seen["requests"] if not u.startswith(root)] == []


def test_high_severity_trainees_are_on_the_first_screen_with_name_and_photo(audited, browser, tmp_path):
    findings = read_table(audited, "findings")
    high = sorted(set(findings.loc[(findings["severity"] == "high") & findings["trainee_id"].notna(), "trainee_id"]))
    assert high, "the sample has high-severity findings on trainees"
    names = dict(zip(read_table(audited, "trainees")["trainee_id"], read_table(audited, "trainees")["name"]))
    page, seen = _open(browser, audited / "report" / f"{CLASS}.html")
    page.screenshot(path=str(tmp_path / "first-screen.png"))
    _assert_clean(seen, audited)
    for tid in high:
        card = page.locator(f'article.suspect[data-trainee="{tid}"]')
        assert card.count() == 1, tid
        box = card.bounding_box()
        assert box is not None and box["y"] + box["height"] <= 900, (tid, box)
        assert names[tid] in card.locator(".name").inner_text()
        assert card.locator("img.face").evaluate("i => i.complete && i.naturalWidth > 0")


def test_grid_timelines_and_trainee_pages_render(audited, browser):
    page, seen = _open(browser, audited / "report" / f"{CLASS}.html")
    _assert_clean(seen, audited)
    trainees = read_table(audited, "trainees")
    assert page.locator("table.grid tbody tr").count() == len(trainees)
    coloured = page.locator("table.grid td.g-full, table.grid td.g-part, table.grid td.g-low, table.grid td.g-none")
    assert coloured.count() > len(trainees)
    assert page.locator("svg.timeline").count() >= 1 and page.locator("svg.presence").count() >= 1
    assert page.locator("svg.presence rect.seen").count() > 0
    # Two roster entries enrolled with one face (IDENTITY_SHARED, enrollment_face: 00001 and 00007 here) are
    # one face in the room: which of the two entries its sightings go to is the nearer of two near-equal
    # encodings, so the pair, not each entry, must be seen.
    findings = read_table(audited, "findings")
    shared = [json.loads(d) for d in findings.loc[findings["rule_id"] == "IDENTITY_SHARED", "detail"]]
    partner = {}
    for d in shared:
        if d.get("basis") == "enrollment_face":
            partner[d["trainee_id"]], partner[d["other_trainee_id"]] = d["other_trainee_id"], d["trainee_id"]
    assert partner  # the sample class has such a pair
    faces = {}
    for tid in trainees["trainee_id"]:
        tpage, tseen = _open(browser, audited / "report" / f"{CLASS}__{tid}.html")
        _assert_clean(tseen, audited)
        assert tpage.locator("svg.presence").count() >= 1
        faces[tid] = tpage.locator("#faces img").count()
        if faces[tid]:
            assert tpage.locator("#faces img").first.evaluate("i => i.complete && i.naturalWidth > 0")
        tpage.close()
    for tid, n in faces.items():  # every sample trainee is seen in some session (a shared face: by one entry)
        assert n >= 1 or faces.get(partner.get(tid), 0) >= 1, tid


def test_search_and_filters_narrow_the_page(audited, browser):
    page, _ = _open(browser, audited / "report" / f"{CLASS}.html")
    findings = read_table(audited, "findings")
    total = page.locator("article.finding:visible").count()
    assert total == len(findings) - int(((findings["severity"] == "low") | (findings["rule_id"] == "ONLINE_SHARE")).sum())
    proxy = findings[findings["rule_id"] == "ATTENDANCE_PROXY"]
    page.select_option("#f-rule", "ATTENDANCE_PROXY")
    assert page.locator("article.finding:visible").count() == len(proxy)
    page.select_option("#f-rule", "")
    name = read_table(audited, "trainees").set_index("trainee_id")["name"][proxy["trainee_id"].iloc[0]]
    page.fill("#q", name)
    visible = page.locator("article.suspect:visible")
    assert visible.count() == 1 and name in visible.inner_text()
    assert page.locator("table.grid tbody tr:visible").count() == 1


def test_pictured_findings_all_have_evidence_images(audited, browser):
    findings = read_table(audited, "findings")
    pictured = findings[findings["rule_id"].isin(PICTURED)]
    assert set(pictured["rule_id"]) >= {"ATTENDANCE_PROXY", "UNKNOWN_PERSON", "IDENTITY_SHARED", "RECORDING_BLANK",
                                        "HEADCOUNT_MISMATCH"}
    page, _ = _open(browser, audited / "report" / f"{CLASS}.html")
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    for _, f in pictured.iterrows():
        card = page.locator(f'article#f-{f["finding_id"]}')
        images = card.locator(".figures img, .figures svg.frame image")
        assert images.count() >= (2 if f["rule_id"] in ("IDENTITY_SHARED", "RECORDING_REUSED", "RECORDING_BLANK")
                                  else 1), f["rule_id"]
        loaded = card.locator(".figures img").evaluate_all("els => els.every(i => i.complete && i.naturalWidth > 0)")
        assert loaded, f["rule_id"]
    proxy = findings[findings["rule_id"] == "ATTENDANCE_PROXY"].iloc[0]
    marks = page.locator(f'article#f-{proxy["finding_id"]} svg.frame g.mark text').all_text_contents()
    names = set(read_table(audited, "trainees")["name"])
    assert marks and names & set(marks), marks  # the faces on the proxy frame carry names
    absent = read_table(audited, "trainees").set_index("trainee_id")["name"][proxy["trainee_id"]]
    assert absent not in marks


def test_details_read_as_labelled_fields_not_json(audited, browser):
    page, _ = _open(browser, audited / "report" / f"{CLASS}.html")
    text = page.locator("#class-problems").inner_text() + page.locator("#findings").inner_text()
    assert "{" not in text.replace("{n}", "") and '"snapshot_file"' not in page.content()
    assert page.locator("article.finding dl.fields dt").count() > 10


def test_print_to_pdf_has_page_numbers(audited, browser, tmp_path):
    pypdf = pytest.importorskip("pypdf")
    page, _ = _open(browser, audited / "report" / f"{CLASS}.html")
    page.emulate_media(media="print")
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    assert page.evaluate("Array.from(document.querySelectorAll('details')).every(d => d.open)")
    pdf = pypdf.PdfReader(io.BytesIO(page.pdf(format="A4")))
    n = len(pdf.pages)
    assert n > 2
    for i in (0, n - 1):
        assert f"{i + 1} / {n}" in pdf.pages[i].extract_text(), i
    assert CLASS in pdf.pages[0].extract_text()


def test_headcount_mismatch_in_the_sample(audited, browser):
    """`make sample` shows the notice's case: more people signed in than were in the room, with the frame
    whose counted faces prove it."""
    findings = read_table(audited, "findings")
    hc = findings[findings["rule_id"] == "HEADCOUNT_MISMATCH"]
    truth = json.loads((SAMPLE / "truth" / f"{CLASS}.json").read_text(encoding="utf-8"))
    planted = {f["keys"].get("session_id") for f in truth["findings"] if f["rule_id"] == "HEADCOUNT_MISMATCH"}
    assert planted and set(hc["session_id"]) == planted
    details = [json.loads(d) for d in hc["detail"]]
    assert all(d["direction"] == "fewer" and d["checked_in"] - d["video_peak"] > d["tolerance"] for d in details)
    page, _ = _open(browser, audited / "report" / f"{CLASS}.html")
    card = page.locator(f'article#f-{hc["finding_id"].iloc[0]}')
    counted = card.locator("svg.frame g.mark:not(.mark-teacher)").count()
    assert 1 <= counted < details[0]["checked_in"]  # the faces counted on the frame: fewer than signed in


def test_sample_findings_match_its_truth(audited):
    """Every planted finding found, and nothing else: a finding the truth file does not plant accuses the
    institution falsely (the quiet 1-fps sessions S01 and S03 were once called frozen)."""
    from tools.synth.scoring import score_findings

    truth = json.loads((SAMPLE / "truth" / f"{CLASS}.json").read_text(encoding="utf-8"))
    scores = score_findings(truth, read_table(audited, "findings"))
    missed = [s.rule_id for s in scores if s.true_pos < s.expected]
    extra = {s.rule_id: s.false_pos for s in scores if s.false_pos}
    assert missed == []
    assert extra == {}

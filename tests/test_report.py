"""``tinyfuzz report``: the HTML page of a campaign, built from a store made by hand, and looked at
in headless Chromium as a person would (marked chromium; CI installs it)."""

import base64
import html
import os
import re
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import require_extra

import tinyfuzz.corpus.store
from tinyfuzz.campaign.report import write_report
from tinyfuzz.cli import main
from tinyfuzz.corpus.store import BatchRecord, BatchResult, Store
from tinyfuzz.errors import InvalidArgument
from tinyfuzz.execution.findings import DocumentedDifference, Finding
from tinyfuzz.execution.worker import Outcome

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PNG = b"\x89PNG\r\n\x1a\n"
CONFIG = {"targets": ["pypy", "micropython"], "reference": "cpython", "grammar": "python",
          "seed": 7, "batch_size": 100, "swarm": True}
ESCAPED = "def f(a, b):\n    return a < b & 1\nprint(f(1, 2))\n"  # both need escaping in HTML
OVERFLOW = "x = 10 ** 20\nprint(x * x)\n"
KNOWN = "print(1e16)\n"
START = 1_700_000_000.0


class Clock:
    """Stands in for the store's ``time`` module: batches a minute apart, not microseconds."""

    def __init__(self):
        self.now = START

    def time(self):
        return self.now


def finding(target, signature, source, expected, observed, hits=1):
    return Finding(target, target, "output", signature, source, expected, observed, hits=hits)


def build_store(path: Path, monkeypatch, batches=6, config=CONFIG) -> Store:
    """A campaign of ``batches`` batches a minute apart; in batch 1 a finding whose program needs
    escaping and a documented difference, in batch 3 a second finding (then shrunk)."""
    clock = Clock()
    monkeypatch.setattr(tinyfuzz.corpus.store, "time", clock)
    store = Store(path)
    campaign = store.open_campaign(config)
    for index in range(batches):
        clock.now += 60
        programs = 100
        batch = BatchRecord(index=index, seed=index, excluded=("match",) if index % 2 else (),
                            programs=programs, seconds=55.0,
                            outcomes={t: {"ok": 90, "exception": 9, "timeout": 1}
                                      for t in ["cpython", "pypy", "micropython"]},
                            features={"if": 60, "for": 40 + index, "function": 30, "list": 25,
                                      "dict": 5},
                            bugs=1 if index in (1, 3) else 0, known=2, flaky=index % 2)
        findings, known = [], []
        if index == 1:
            findings.append(finding("pypy", "a1b2c3", ESCAPED, Outcome("ok", "True\n"),
                                    Outcome("ok", "<class 'bool'> & more\n"), hits=3))
            known.append(DocumentedDifference("micropython", "float-repr", "output", KNOWN,
                                              Outcome("ok", "1e+16\n"), Outcome("ok", "1e16\n"),
                                              hits=2))
        if index == 3:
            first = "y = 3\n" + OVERFLOW + "z = y\n"
            new = store.record_batch(campaign.id, BatchResult(batch, (finding(
                "micropython", "d4e5f6", first, Outcome("ok", "1" + "0" * 40 + "\n"),
                Outcome("exception", "", "OverflowError", "overflow")),)), clock.now - START)
            store.record_shrunk(new[0].id, OVERFLOW, Outcome("ok", "1" + "0" * 40 + "\n"),
                                Outcome("exception", "", "OverflowError", "overflow"))
            continue
        store.record_batch(campaign.id, BatchResult(batch, tuple(findings), tuple(known)),
                           clock.now - START)
    return store


@pytest.fixture
def matplotlib():
    """The report's plots need the report extra: without it these tests skip (fail under CI)."""
    return require_extra("matplotlib", "pip install 'tinyfuzz[report]'")


@pytest.fixture
def db(tmp_path, monkeypatch):
    path = tmp_path / "run.sqlite"
    build_store(path, monkeypatch).close()
    return path


def section(page: str, name: str) -> str:
    return re.search(rf'<section id="{name}">(.*?)</section>', page, re.DOTALL).group(1)


def images(page: str) -> list[bytes]:
    return [base64.b64decode(data)
            for data in re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)]


def test_report_shows_findings_known_differences_and_plots(matplotlib, db, tmp_path):
    out = write_report(db, tmp_path / "report.html")
    page = out.read_text(encoding="utf-8")
    findings, known = section(page, "findings"), section(page, "known")
    assert html.escape(ESCAPED.rstrip()) in findings and "a &lt; b &amp; 1" in findings
    assert "a < b & 1" not in page  # never raw: the browser would read `< b & 1` as markup
    assert html.escape("<class 'bool'> & more") in findings
    assert html.escape(OVERFLOW.rstrip()) in findings  # the shrunk program, and the one as found
    assert html.escape("y = 3\n" + OVERFLOW + "z = y") in findings
    assert "OverflowError: overflow" in findings
    assert KNOWN.rstrip() in known and "float-repr" in known and "1e+16" in known
    assert KNOWN.rstrip() not in findings and "float-repr" not in findings
    assert "No findings" not in page
    outcomes = section(page, "outcomes")
    assert '<td class="num">540<' in outcomes and '<td class="num">600<' in outcomes  # 6 x 90 ok
    pngs = images(page)
    assert len(pngs) == 3 and all(png.startswith(PNG) for png in pngs)
    assert len(re.findall(r'<img [^>]*alt="[^"]{20,}"', page)) == 3
    assert "http://" not in page and "https://" not in page  # self-contained
    assert not list(tmp_path.glob("*.partial")) and not list(tmp_path.glob(".*.partial"))


def test_report_works_with_no_batches_and_no_findings(matplotlib, tmp_path, monkeypatch):
    path = tmp_path / "run.sqlite"
    build_store(path, monkeypatch, batches=0).close()
    page = write_report(path, tmp_path / "report.html").read_text(encoding="utf-8")
    assert "No findings" in section(page, "findings")
    assert "No batches recorded yet" in section(page, "outcomes")
    assert len(images(page)) == 3


def test_report_without_matplotlib_names_the_extra(db, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails
    with pytest.raises(InvalidArgument, match=r"pip install 'tinyfuzz\[report\]'"):
        write_report(db, tmp_path / "report.html")
    assert not (tmp_path / "report.html").exists()


def invoke(*args):
    return CliRunner().invoke(main, ["report", *(str(a) for a in args)])


def test_cli_writes_the_latest_campaign_or_the_one_asked(matplotlib, tmp_path, monkeypatch):
    path = tmp_path / "run.sqlite"
    build_store(path, monkeypatch).close()
    build_store(path, monkeypatch, batches=1, config={**CONFIG, "seed": 8}).close()
    out = tmp_path / "report.html"
    result = invoke(path, "-o", out)
    assert result.exit_code == 0, result.output
    assert "<h1>tinyfuzz campaign 2</h1>" in out.read_text(encoding="utf-8")
    result = invoke(path, "-o", out, "--campaign", 1)
    assert result.exit_code == 0, result.output
    assert "<h1>tinyfuzz campaign 1</h1>" in out.read_text(encoding="utf-8")
    assert str(out) in result.output


def test_cli_errors_name_the_argument_and_the_fix(matplotlib, tmp_path, monkeypatch):
    # matplotlib: without it the report stops at that, before reading the store
    empty = tmp_path / "empty.sqlite"
    Store(empty).close()
    result = invoke(empty, "-o", tmp_path / "report.html")
    assert result.exit_code == 2
    assert "has no campaign yet" in result.output and "tinyfuzz fuzz" in result.output
    assert "Traceback" not in result.output

    path = tmp_path / "run.sqlite"
    build_store(path, monkeypatch, batches=1).close()
    result = invoke(path, "-o", tmp_path / "report.html", "--campaign", 99)
    assert result.exit_code == 2
    assert "--campaign 99: no such campaign" in result.output and "are 1" in result.output

    missing = tmp_path / "typo.sqlite"
    result = invoke(missing, "-o", tmp_path / "report.html")
    assert result.exit_code == 2 and "does not exist" in result.output
    assert not missing.exists()  # no empty database left behind by a typo
    assert not (tmp_path / "report.html").exists()


def require(present: bool, missing: str) -> None:
    """Skip with the install line where a program the chromium test needs is missing, except
    under CI, where it must be there (the policy of ``require_target`` and ``require_extra`` in
    conftest.py, which is for Python packages)."""
    if present:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI must have it: {missing}")
    pytest.skip(missing)


@pytest.mark.chromium
def test_report_looks_right_in_chromium(matplotlib, db, tmp_path):
    require(os.path.exists(CHROMIUM), f"{CHROMIUM} missing: apt-get install chromium")
    playwright = require_extra("playwright.sync_api", "pip install playwright")
    out = write_report(db, tmp_path / "report.html")
    with playwright.sync_playwright() as p:
        # Debian's Chromium: playwright cannot download its own browsers here.
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(out.resolve().as_uri())
            page.wait_for_load_state("load")
            images = page.locator("img")
            assert images.count() == 3
            for index in range(3):
                image = images.nth(index)
                image.scroll_into_view_if_needed()
                assert image.evaluate("img => img.complete && img.naturalWidth > 0")
                assert image.is_visible()
                assert image.bounding_box()["width"] >= 200
            programs = page.locator("#findings article > pre.program")
            assert [text.strip() for text in programs.all_inner_texts()] == [
                ESCAPED.strip(), OVERFLOW.strip()]
            assert page.get_by_text("return a < b & 1").is_visible()
            assert page.get_by_role("heading", name="Known differences").is_visible()
            assert page.locator("#known").get_by_text("print(1e16)").is_visible()
            # Nothing wider than the window: no sideways scrolling to read the page.
            assert page.evaluate("document.documentElement.scrollWidth") <= 1280
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    png = shot.read_bytes()
    width, height = (int.from_bytes(png[i:i + 4], "big") for i in (16, 20))
    assert png.startswith(PNG) and len(png) > 50_000
    assert width == 1280 and height > 2000  # the whole page, not a blank first screen

"""Real-browser check of the built examples (the committed site/): every chart draws, offline,
quietly; a screenshot of every page and each page's load time (no timed assertion: the
machine's load is not the page's weight) are written to tests/_artifacts/."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from playwright import sync_api

from punchcard.site import render
from tests.helpers import FIXTURES, ROOT

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
SCREENS = ROOT / "tests" / "_artifacts" / "screens"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    """Yield a headless Chromium; without Debian's chromium the tests skip, except in CI."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is not installed (.ci/run installs it: apt-get install -y chromium)")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


ROOT = ROOT


@pytest.fixture(scope="module")
def site() -> Path:
    """Return the committed site/ — the build of programs/ (tests/test_golden.py keeps it current)."""
    built = ROOT / "site"
    assert (built / "index.html").is_file(), "site/ is missing: run `punchcard build`"
    return built


def _pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html"))


def test_every_page_draws_offline_without_errors(browser, site):
    SCREENS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto((site / "kaffebar-oslo/index.html").as_uri(), wait_until="load")  # warm the script cache
    timings = []
    for path in _pages(site):
        elapsed = 10.0
        for _attempt in range(3):  # best of three, reported in load-times.txt
            page.goto(path.as_uri(), wait_until="load")
            elapsed = min(elapsed, page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd") / 1000)
        plots = page.locator(".js-plotly-plot")
        n = plots.count()
        assert n == page.locator(".plotly-graph-div").count(), path
        for i in range(n):
            assert plots.nth(i).locator("svg").count() > 0, f"{path}: chart {i} did not draw"
        timings.append(f"{elapsed:.3f} s  {path.relative_to(site).as_posix()}")
        name = "_".join(path.relative_to(site).with_suffix(".png").parts)
        page.screenshot(path=str(SCREENS / name), full_page=True)
    page.close()
    (SCREENS.parent / "load-times.txt").write_text("\n".join(timings) + "\n", encoding="utf-8")
    assert not errors, errors
    remote = [u for u in requests if not u.startswith(("file://", "data:", "about:"))]
    assert not remote, remote


def test_self_contained_file_draws(browser, tmp_path):
    results = [json.loads((FIXTURES / "results_kaffebar.json").read_text(encoding="utf-8"))]
    render.render_site(results, tmp_path, self_contained=True)
    page = browser.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto((tmp_path / "kaffebar-oslo.html").as_uri(), wait_until="load")
    plots = page.locator(".js-plotly-plot")
    assert plots.count() > 10
    assert all(plots.nth(i).locator("svg").count() for i in range(plots.count()))
    assert [u for u in requests if u.startswith("file://")] == [(tmp_path / "kaffebar-oslo.html").as_uri()]
    page.close()


def test_chart_toolbar_shows_on_hover_only_and_covers_no_data(browser, site):
    # issue 17: plotly's toolbar covered the top of a bar; now it is invisible until the
    # pointer is over the chart, and then it sits in the margin above the plot area
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto((site / "kaffebar-oslo/customers.html").as_uri(), wait_until="load")
    page.wait_for_selector(".figure .modebar-container", state="attached", timeout=10000)
    figure = page.locator(".figure").first
    bar = figure.locator(".modebar-container")
    assert bar.evaluate("e => getComputedStyle(e).opacity") == "0"
    figure.hover()
    page.wait_for_timeout(300)
    assert bar.evaluate("e => getComputedStyle(e).opacity") == "1"
    toolbar = figure.locator(".modebar").bounding_box()
    plot = figure.locator(".nsewdrag").first.bounding_box()  # the plot area
    assert toolbar["y"] + toolbar["height"] <= plot["y"] + 1
    page.close()


def test_tune_table_sorts_by_a_heading_without_a_framework(browser, site):
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto((site / "kaffebar-oslo/tune/tiende-gratis.html").as_uri(), wait_until="load")
    cells = page.locator("table.variants tbody tr td:nth-child(6)")  # break-even visit lift
    heading = page.locator("table.variants thead th:nth-child(6) button")

    def keys() -> list[float]:
        return [float(cells.nth(i).get_attribute("data-sort")) for i in range(cells.count())]

    assert cells.count() == 35
    heading.click()
    assert keys() == sorted(keys())
    heading.click()  # a second click sorts the other way
    assert keys() == sorted(keys(), reverse=True)
    page.close()

"""The rendered site, tested by meaning: headings, order, figures, links, escaping, determinism."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest
from bs4 import BeautifulSoup

from punchcard.site import i18n, render
from punchcard.site.fmt import Formatter
from tests.helpers import FIXTURES, ROOT



def load(name: str) -> dict:
    """Return a fixture results dict."""
    return json.loads((FIXTURES / f"results_{name}.json").read_text(encoding="utf-8"))


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    render.render_site([load("kaffebar"), load("corner")], out, docs={"method": "# Rules\n\nSee https://example.org."})
    return out


def test_layout(site):
    for rel in ["index.html", ".nojekyll", "assets/plotly.min.js", "assets/site.css",
                "kaffebar-oslo/index.html", "kaffebar-oslo/customers.html", "kaffebar-oslo/method.html",
                "kaffebar-oslo/results.json", "kaffebar-oslo/results.csv", "kaffebar-oslo/schemes/poeng.html",
                "corner-shop/schemes/tiende-gratis.html"]:
        assert (site / rel).is_file(), rel


def test_headings_and_lang(site):
    res = load("kaffebar")
    page = soup(site / "kaffebar-oslo/index.html")
    assert page.find("h1").get_text(strip=True) == res["program"]["name"]
    assert page.html["lang"] == "nb-NO"
    for s in res["schemes"]:
        assert soup(site / f"kaffebar-oslo/schemes/{s['id']}.html").find("h1").get_text(strip=True) == s["name"]
    assert soup(site / "corner-shop/index.html").html["lang"] == "en-GB"


def test_schemes_ranked_in_order(site):
    res = load("kaffebar")
    rows = soup(site / "kaffebar-oslo/index.html").select(".ranking > li")
    ranked = [li.find("h3").get_text(strip=True) for li in rows if "baseline" not in li["class"]]
    assert ranked == [s["name"] for s in sorted(res["schemes"], key=lambda s: s["rank"])]
    # "do nothing" (net impact 0) sits below every scheme expected to gain and above every one expected to lose
    gaining = sum(1 for s in res["schemes"] if (s.get("forecast") or {}).get("net_impact", {}).get("mean", 0) > 0)
    assert ["baseline" in li["class"] for li in rows].index(True) == gaining
    assert [li.select_one(".rank").get_text(strip=True) for li in rows] == [str(k) for k in range(1, len(rows) + 1)]


def test_comparison_table_cells_are_the_formatted_figures(site):
    res = load("kaffebar")
    fmt = Formatter("nb-NO", "NOK")
    schemes = sorted(res["schemes"], key=lambda s: s["rank"])
    table = soup(site / "kaffebar-oslo/index.html").select("table.comparison")[0]
    rows = {tr.th.get_text(strip=True): [td.get_text(strip=True) for td in tr.find_all("td")]
            for tr in table.tbody.find_all("tr")}
    _ = i18n.translations("nb-NO").gettext
    label = {k: render.figure_label(f"backtest.{k}", _) for k in ("total_cost", "members", "cost_share_of_revenue")}
    # total cost is shown in whole kroner, shares with one decimal
    assert rows[label["total_cost"]] == [fmt.money(s["backtest"]["total_cost"], 0) for s in schemes]
    assert rows[label["members"]] == [fmt.number(s["backtest"]["members"]) for s in schemes]
    assert rows[label["cost_share_of_revenue"]] == [fmt.percent(s["backtest"]["cost_share_of_revenue"]) for s in schemes]


def test_every_chart_has_heading_caption_and_table(site):
    for path in sorted(site.rglob("*.html")):
        for chart in soup(path).select("section.chart"):
            assert chart.find(re.compile("^h[23]$")).get_text(strip=True), path
            if "chart-skipped" in chart["class"]:
                assert chart.select_one(".skipped").get_text(strip=True)
                continue
            assert chart.select_one(".caption").get_text(strip=True), path
            assert chart.select_one(".plotly-graph-div"), path
            assert chart.select_one("details table tbody tr"), path


def test_skipped_forecast_shows_the_reason(site):
    reason = load("corner")["forecast"]["skipped_reason"]
    assert reason in soup(site / "corner-shop/index.html").get_text()
    assert reason in soup(site / "corner-shop/method.html").get_text()


def test_div_ids_are_unique_and_deterministic(site):
    ids = [d["id"] for d in soup(site / "kaffebar-oslo/index.html").select(".plotly-graph-div")]
    assert ids == ["program-cost-uptake", "program-net-impact", "program-break-even", "program-cost-monthly"]


def test_links_are_relative_and_resolve(site):
    for path in sorted(site.rglob("*.html")):
        page = soup(path)
        for tag in page.find_all(["a", "link", "script", "img"]):
            url = tag.get("href") or tag.get("src")
            if not url:
                continue
            if tag.find_parent(class_="doc"):
                continue  # plain text links written in the docs
            parsed = urlparse(url)
            assert not parsed.scheme and not url.startswith("/"), f"{path}: {url}"
            if parsed.path:
                assert (path.parent / parsed.path).resolve().is_file(), f"{path}: {url}"


def test_no_remote_urls_in_src_or_href(site):
    for path in sorted(site.rglob("*.html")):
        for tag in soup(path).find_all(src=True) + soup(path).find_all(href=True):
            if not tag.find_parent(class_="doc"):
                assert not (tag.get("src") or tag.get("href")).startswith(("http:", "https:", "//")), path


def test_user_strings_are_escaped(tmp_path):
    res = load("corner")
    res["schemes"][0]["name"] = "<script>alert(1)</script>"
    res["program"]["site"]["footer"] = "<b>bold</b>"
    render.render_site([res], tmp_path)
    html = (tmp_path / "corner-shop/index.html").read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html


def test_templates_override_by_name(tmp_path):
    custom = tmp_path / "tpl"
    custom.mkdir()
    (custom / "_footer.html").write_text('<footer class="site-footer">Consultancy &amp; Co</footer>\n')
    out = tmp_path / "out"
    render.render_site([load("corner")], out, templates=custom)
    assert soup(out / "corner-shop/index.html").find("footer").get_text(strip=True) == "Consultancy & Co"


def test_identical_input_gives_identical_bytes(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    render.render_site([load("kaffebar"), load("corner")], a)
    render.render_site([load("kaffebar"), load("corner")], b)
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for rel in files:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def test_results_json_and_csv(site):
    res = load("kaffebar")
    text = (site / "kaffebar-oslo/results.json").read_text(encoding="utf-8")
    assert text == json.dumps(res, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    raw = (site / "kaffebar-oslo/results.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").splitlines()
    header = lines[0].split(";")
    assert len(lines) == 1 + len(res["schemes"])
    first = dict(zip(header, lines[1].split(";")))
    best = min(res["schemes"], key=lambda s: s["rank"])
    assert first["id"] == best["id"]
    assert first["backtest.total_cost"] == Formatter("nb-NO", "NOK").csv_number(best["backtest"]["total_cost"])
    assert "," in first["backtest.total_cost"]
    assert "forecast.net_impact.p90" in header
    assert (site / "corner-shop/results.csv").read_bytes().decode("utf-8-sig").splitlines()[0].count(",") > 10


def test_single_program_index_forwards(tmp_path):
    render.render_site([load("corner")], tmp_path)
    meta = soup(tmp_path / "index.html").find("meta", attrs={"http-equiv": "refresh"})
    assert meta["content"].endswith("url=corner-shop/index.html")


def test_logo_is_copied(tmp_path):
    logo = tmp_path / "brand.png"
    logo.write_bytes(b"\x89PNG\r\n\x1a\n")
    res = load("corner")
    res["program"]["site"]["logo"] = "brand.png"  # relative to the program's folder
    out = tmp_path / "out"
    render.render_site([res], out, sources={"corner-shop": tmp_path})
    assert (out / "corner-shop/logo.png").read_bytes() == logo.read_bytes()
    assert soup(out / "corner-shop/schemes/poeng.html").find("img", class_="logo")["src"] == "../../corner-shop/logo.png"


def test_self_contained_has_no_external_references(tmp_path):
    render.render_site([load("kaffebar")], tmp_path, self_contained=True)
    html = (tmp_path / "kaffebar-oslo.html").read_text(encoding="utf-8")
    page = BeautifulSoup(html, "html.parser")
    assert not page.find_all("link", rel="stylesheet")
    assert not [s for s in page.find_all("script") if s.get("src")]
    for tag in page.find_all(href=True):
        assert tag["href"].startswith(("#", "data:")), tag["href"]
    assert html.count("window.PlotlyConfig") == 1
    # the single file comes beside the usual pages (the option says "also")
    assert (tmp_path / "assets").is_dir() and (tmp_path / "kaffebar-oslo" / "index.html").is_file()


def test_page_weight_without_plotly(site):
    total = sum(p.stat().st_size for p in site.rglob("*") if p.is_file() and p.name != "plotly.min.js")
    assert total < 400 * 1024 * 2  # two programs
    for prog in ("kaffebar-oslo", "corner-shop"):
        weight = sum(p.stat().st_size for p in (site / prog).rglob("*.html"))
        weight += (site / "assets/site.css").stat().st_size
        assert weight < 400 * 1024, prog


def test_no_timestamp_unless_source_date_epoch(tmp_path, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    render.render_site([load("corner")], tmp_path / "a")
    assert "Built" not in soup(tmp_path / "a/corner-shop/index.html").footer.get_text()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1790000000")
    render.render_site([load("corner")], tmp_path / "b")
    assert "Built" in soup(tmp_path / "b/corner-shop/index.html").footer.get_text()


def test_accessibility_landmarks(site):
    page = soup(site / "kaffebar-oslo/schemes/poeng.html")
    assert page.select_one("a.skip-link")["href"] == "#main"
    assert page.find("main", id="main") and page.find("nav") and page.find("footer")
    assert page.select_one('nav a[aria-current="page"]').get_text(strip=True) == "Poeng på alt"


# -- issue 7: everything on a non-English page in its language ---------------------------------


def _skipped_nb() -> dict:
    res = copy.deepcopy(load("kaffebar"))
    for s in res["schemes"]:
        s["forecast"] = None
    res["model"] = None
    res["forecast"]["skipped_reason"] = ("The sales history covers 10 days; the forecast needs at least 28, so "
                                         "18 more days of sales would do.")
    res["forecast"]["skipped"] = {
        "msgid": "The sales history covers %(n)s day; the forecast needs at least %(min_days)s, so %(more)s more "
                 "days of sales would do.",
        "plural": "The sales history covers %(n)s days; the forecast needs at least %(min_days)s, so %(more)s "
                  "more days of sales would do.",
        "params": {"n": 10, "min_days": 28, "more": 18}}
    res["warnings"] = ["1,239 of 100,000 rows were rejected (bad_date: 1,239)."]
    res["warnings_detail"] = [{"msgid": "%(rejected)s of %(rows)s rows were rejected (%(reasons)s).",
                               "params": {"rejected": 1239, "rows": 100000, "reasons": [
                                   {"msgid": "%(reason)s: %(n)s",
                                    "params": {"reason": {"msgid": "unreadable date", "params": {}}, "n": 1239}}]}}]
    return res


def test_skip_reason_and_warnings_are_shown_in_the_page_language(tmp_path):
    render.render_site([_skipped_nb()], tmp_path)
    fmt = Formatter("nb-NO", "NOK")
    index = soup(tmp_path / "kaffebar-oslo/index.html").get_text()
    assert "Salgshistorikken dekker 10 dager; prognosen trenger minst 28, så 18 dager til med salg vil holde." in index
    assert f"{fmt.number(1239)} av {fmt.number(100000)} rader ble avvist (uleselig dato: {fmt.number(1239)})." in index
    assert "The sales history" not in index and "rows were rejected" not in index
    assert "Salgshistorikken dekker 10 dager" in soup(tmp_path / "kaffebar-oslo/method.html").get_text()
    # results.json keeps the English sentences for machines, and the structured forms
    saved = json.loads((tmp_path / "kaffebar-oslo/results.json").read_text(encoding="utf-8"))
    assert saved["warnings"] == _skipped_nb()["warnings"] and saved["forecast"]["skipped"]["params"]["n"] == 10


def test_results_without_structured_messages_show_the_english_sentence(tmp_path):
    res = _skipped_nb()
    del res["forecast"]["skipped"], res["warnings_detail"]
    render.render_site([res], tmp_path)
    index = soup(tmp_path / "kaffebar-oslo/index.html").get_text()
    assert res["forecast"]["skipped_reason"] in index and res["warnings"][0] in index


def test_settings_table_shows_translated_labels_formatted_values_and_raw_keys(site):
    fmt = Formatter("nb-NO", "NOK")
    table = soup(site / "kaffebar-oslo/schemes/tiende-gratis.html").select_one("table.params")
    rows = {tr.find("code").get_text(): (tr.find("th").get_text(" ", strip=True), tr.find("td").get_text())
            for tr in table.select("tbody tr")}
    params = next(s for s in load("kaffebar")["schemes"] if s["id"] == "tiende-gratis")["params"]
    label, value = rows["min_purchase"]
    assert label == "Minste kjøp som teller min_purchase"
    assert value == fmt.money(params["min_purchase"], 0 if float(params["min_purchase"]).is_integer() else None)
    assert rows["reward.value"][0].startswith("Belønningens verdi")
    assert rows["counter"][1] == "besøk"
    assert all(not label.startswith(key) for key, (label, _v) in rows.items())


def test_locales_folder_next_to_the_templates_overrides_strings(tmp_path):
    custom = tmp_path / "tpl"
    (custom / "locales").mkdir(parents=True)
    (custom / "locales" / "nb-NO.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "Comparison"\nmsgstr "Oversikt"\n\nmsgid "Stamp card"\nmsgstr "Klippekort"\n', encoding="utf-8")
    (custom / "locales" / "en.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "Comparison"\nmsgstr "Overview"\n', encoding="utf-8")
    render.render_site([load("kaffebar"), load("corner")], tmp_path / "out", templates=custom)
    nb = soup(tmp_path / "out/kaffebar-oslo/index.html")
    assert nb.select_one("nav.site-nav a").get_text() == "Oversikt"
    assert "Klippekort" in nb.get_text()  # Python-side strings (kind labels) too
    assert "Kunder" in nb.select_one("nav.site-nav").get_text()  # the rest: packaged catalog
    en = soup(tmp_path / "out/corner-shop/index.html")
    assert en.select_one("nav.site-nav a").get_text() == "Overview"
    plain = tmp_path / "plain"
    render.render_site([load("kaffebar")], plain)
    assert soup(plain / "kaffebar-oslo/index.html").select_one("nav.site-nav a").get_text() == "Sammenligning"


def test_method_page_docs_follow_the_locale(tmp_path):
    render.render_site([load("kaffebar"), load("corner")], tmp_path)
    nb = [h.get_text() for h in soup(tmp_path / "kaffebar-oslo/method.html").select("section.doc h2")]
    en = [h.get_text() for h in soup(tmp_path / "corner-shop/method.html").select("section.doc h2")]
    assert nb == ["Slik regner punchcard", "Slik lager punchcard prognoser"]
    assert en == ["How punchcard counts", "How punchcard forecasts"]


def test_translated_docs_ship_as_package_resources():
    from punchcard.site.resources import resource

    for lang in ("nb", "sv", "pl", "pt_BR", "pt_PT"):
        for key in ("method", "forecast"):
            assert resource(f"docs/i18n/{key}.{lang}.md").is_file()
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"docs" = "punchcard/docs"' in pyproject  # the whole docs/ folder, docs/i18n included


def test_decile_labels_use_the_locale_percent_format(site):
    fmt = Formatter("nb-NO", "NOK")
    table = soup(site / "kaffebar-oslo/schemes/tiende-gratis.html").select_one("#scheme-tiende-gratis-deciles-section table")
    labels = [tr.find("th").get_text() for tr in table.select("tbody tr")]
    assert labels[1] == f"{fmt.percent(0.1, 0)}–{fmt.percent(0.2, 0)}"


def test_every_figure_passes_plotlys_own_validation(site):
    # figures are assembled as plain dicts (not re-validated per figure): plotly must accept each
    import plotly.graph_objects as go

    found = 0
    for page in sorted(site.rglob("*.html")):
        for payload in re.findall(r'Plotly\.newPlot\(\s*"[^"]+",\s*(.*?)\s*\)\s*\}', page.read_text(), re.S):
            data, layout, _config = json.loads("[" + payload + "]")
            go.Figure(data=data, layout=layout)  # raises ValueError on an invalid key or value
            assert layout["template"]["layout"]["font"] and layout["separators"]
            found += 1
    assert found >= 10


# --- issue 17 item 7: one definition per figure, units, formats, toolbar, what changed ------


def test_tile_shows_the_verdicts_figure_with_its_words(site):
    # tiende-gratis: 19.7 % of members rewarded within a year (43.5 % ever): the verdict and
    # the tile beside it both say 20 %, "within a year"
    res = load("kaffebar")
    card = next(li for li in soup(site / "kaffebar-oslo/index.html").select(".ranking > li")
                if "Tiende" in li.find("h3").get_text())
    text = card.get_text(" ", strip=True)
    assert "20 % av kundene dine" in text.replace("\u00a0", " ")
    facts = {dt.get_text(strip=True): dd.get_text(strip=True).replace("\u00a0", " ")
             for dt, dd in zip(card.select("dt"), card.select("dd"))}
    assert facts["Medlemmer med belønning innen et år"] == "20 %"
    assert res["schemes"][0]["backtest"]["rewarded_within_year_share"] == pytest.approx(0.197, abs=1e-3)


def test_reward_counts_carry_their_unit_beside_a_points_scheme(site):
    page = soup(site / "kaffebar-oslo/index.html")
    row = next(tr for tr in page.select("table.comparison tr")
               if tr.find("th") and tr.find("th").get_text(strip=True) == "Opptjente belønninger")
    cells = [td.get_text(strip=True).replace("\u00a0", " ") for td in row.find_all("td")]
    names = [th.get_text(strip=True) for th in page.select("table.comparison thead th")][1:]
    by_name = dict(zip(names, cells))
    assert by_name["Tiende kaffe gratis"] == "2 000 belønninger"
    assert by_name[next(n for n in names if "oeng" in n or "Poeng" in n)].endswith(" poeng")


def test_method_page_prints_shares_as_percentages_and_no_yes_in_the_table(tmp_path):
    res = load("kaffebar")
    res["program"]["assumptions"]["post_reward_reset"] = True
    render.render_site([res], tmp_path, docs={})
    page = soup(tmp_path / "kaffebar-oslo/method.html")
    rows = {tr.find("th").get_text(strip=True): [td.get_text(strip=True).replace("\u00a0", " ")
                                                 for td in tr.find_all("td")]
            for tr in page.select("table.assumptions tbody tr")}
    assert rows["Kunder som blir medlem"][:3] == ["25,0 %", "40,0 %", "55,0 %"]  # enrollment
    assert rows["Flere besøk fra medlemmer"][:3] == ["0,0 %", "+5,0 %", "+12,0 %"]  # visit lift
    assert all("ja" not in cells for cells in rows.values())
    switches = page.select("ul.switches li")
    assert [li.get_text(strip=True) for li in switches] == ["Sjeldnere besøk etter en belønning: ja (programfil)."]


def test_plotly_toolbar_only_on_hover_and_above_the_plot(site):
    from punchcard.site import charts

    assert charts.CONFIG["displayModeBar"] == "hover"
    html = (site / "kaffebar-oslo/index.html").read_text(encoding="utf-8")
    assert '"displayModeBar": "hover"' in html
    for m in re.finditer(r'"margin": \{[^}]*"t": (\d+)', html):
        assert int(m.group(1)) >= charts.MODEBAR_ROOM
    css = (site / "assets/site.css").read_text(encoding="utf-8")
    assert ".figure .modebar-container { opacity: 0;" in css
    assert ".figure:hover .modebar-container" in css


def test_what_changed_skips_rows_that_look_the_same(tmp_path):
    res = load("corner")
    sid = res["schemes"][0]["id"]
    res["changes"] = {
        "previous_last_date": "2025-12-31", "previous_fingerprint": "x", "removed_schemes": [],
        "ranking_changed": True,
        "data": {"revenue": {"old": 1000.2, "new": 1000.4, "change": 0.2, "relative": 0.0002},
                 "customers": {"old": 10, "new": 12, "change": 2, "relative": 0.2}},
        "schemes": [{"id": sid, "name": res["schemes"][0]["name"], "new": False,
                     "rank": {"old": 1, "new": 1}, "rank_changed": False,
                     "figures": {"backtest.cost_share_of_revenue":
                                 {"old": 0.02001, "new": 0.02004, "change": 3e-5, "relative": 0.0015}}}]}
    render.render_site([res], tmp_path, docs={})
    section = soup(tmp_path / f"{res['program']['id']}/index.html").find("section", id="changes")
    rows = [[c.get_text(strip=True) for c in tr.find_all(["th", "td"])] for tr in section.select("tbody tr")]
    # revenue £1,000 → £1,000 and 2.0 % → 2.0 % look the same: not listed
    assert rows == [["Your data", "Customers", "10", "12"]]
    assert section.find("h2").get_text(strip=True) != section.find("caption").get_text(strip=True)
    text = section.find("p").get_text()
    assert re.search(r"\.\s+The ranking of the schemes changed", text)

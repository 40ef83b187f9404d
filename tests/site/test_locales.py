"""The five shipped examples, built once, read per locale: figures formatted as the locale
writes them, the right ``<html lang>``, translated method docs, and no English left on a
non-English page (issue 7).

The build goes through the CLI with ``--templates DIR`` where ``DIR/locales/nb.po``
overrides one string, so the same build also shows that user overrides reach the site.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner

from punchcard import cli
from punchcard.site import i18n, render
from punchcard.site.fmt import Formatter
from punchcard.site.resources import resource
from tests.helpers import ROOT

ROOT = ROOT
PROGRAMS = {"kaffebar-oslo": "nb-NO", "biltvatt-goteborg": "sv-SE", "obuwie-krakow": "pl-PL",
            "loja-sao-paulo": "pt-BR", "bookshop-manchester": "en-GB"}
NON_ENGLISH = [pid for pid, loc in PROGRAMS.items() if not loc.startswith("en")]
DOC_LANGS = ["nb", "sv", "pl", "pt_BR", "pt_PT"]
OVERRIDE = ("Skip to content", "Hopp rett til innholdet")  # (msgid, the user's nb wording)

# Common English UI words and phrases that must not appear on a non-English page. Words
# that are also words in nb/sv/pl/pt are left out ("per", "for", "data", "margin",
# "model", "item", "total", "chance", "program", "parameter", "extra"…).
ENGLISH = [
    "Revenue", "Customers", "customer", "customers", "Expected", "expected", "scheme", "schemes",
    "member", "members", "Members", "reward", "rewards", "Reward", "cost", "costs", "Cost",
    "Download", "Downloads", "Method", "The answer", "months", "month", "days", "day", "weeks",
    "forecast", "Forecast", "assumption", "assumptions", "Assumptions", "spend", "visit", "visits",
    "purchase", "purchases", "would", "which", "without", "with", "the", "The", "and", "of the",
    "history", "figures", "Worth knowing", "Setting", "Settings", "Value", "yes", "never", "none",
    "points", "stamp", "stamps", "card", "Comparison", "Skip to content", "Verdict", "pays",
    "share", "Rank", "ranked", "Data quality", "Rows", "Transactions", "Identified",
    "Simulations", "simulated", "Liability", "discount", "every", "when", "what", "how", "this",
    "that", "will", "your", "you", "only", "first", "next", "after", "before", "between",
    "revenue", "Source", "Low", "High", "Most likely", "Repeat", "Running", "Break-even",
    "Chance it pays", "Net impact", "Reproducibility", "Input files", "Command", "Random seed",
]
_ENGLISH_RE = re.compile(r"(?<![\w-])(" + "|".join(re.escape(w) for w in sorted(ENGLISH, key=len, reverse=True))
                         + r")(?![\w-])")
# Proper names that stay English in every language: the tool, models, sources cited.
PROPER_NAMES = ["punchcard", "BG/NBD", "Gamma-Gamma", "CDNOW", "CLVTools", "L-BFGS-B", "Monte Carlo",
                "Counting your customers", "the easy way", "RFM and CLV", "Journal of Marketing Research",
                "Journal of Consumer Research", "Fader, Hardie & Lee", "Kivetz, Urminsky & Zheng",
                "Nunes & Drèze", "Kivetz", "Brent", "results.csv", "results.json", "SHA-256", "Python",
                "Polars", "P10", "P50", "P90"]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """Build the shipped examples once, through the CLI, with a user override for nb."""
    tmp = tmp_path_factory.mktemp("locales")
    theme = tmp / "theme"
    (theme / "locales").mkdir(parents=True)
    (theme / "locales" / "nb.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        f'msgid "{OVERRIDE[0]}"\nmsgstr "{OVERRIDE[1]}"\n', encoding="utf-8")
    out = tmp / "site"
    paths = [str(ROOT / "programs" / f"{pid}.yaml") for pid in PROGRAMS]
    result = CliRunner().invoke(cli.cli, ["build", *paths, "--out", str(out), "--force", "--quiet",
                                          "--templates", str(theme)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out


def _results(site: Path, pid: str) -> dict:
    return json.loads((site / pid / "results.json").read_text(encoding="utf-8"))


def _soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def _pages(site: Path, pid: str) -> list[Path]:
    return sorted((site / pid).glob("*.html")) + sorted((site / pid / "schemes").glob("*.html"))


def _fmt(res: dict) -> Formatter:
    return Formatter(res["program"]["locale"], res["program"]["currency"])


def _row(tables, label: str) -> list[str]:
    """Return the cells of the row headed ``label`` in one of ``tables``."""
    for table in tables:
        for tr in table.select("tbody tr"):
            th = tr.find("th")
            if th is not None and th.get_text(" ", strip=True) == label:
                return [td.get_text() for td in tr.find_all("td")]
    raise AssertionError(f"no row {label!r}")


# -- figures as the locale writes them ---------------------------------------------------


@pytest.mark.parametrize("pid", list(PROGRAMS))
def test_money_on_the_customers_page(built, pid):
    res = _results(built, pid)
    page = _soup(built / pid / "customers.html")
    facts = {dt.get_text(): dd.get_text() for dt, dd in zip(page.select("dl.overview dt"), page.select("dl.overview dd"))}
    tr = i18n.translations(res["program"]["locale"])
    assert facts[tr.gettext("Revenue")] == _fmt(res).money(res["data"]["revenue"], 0)
    assert facts[tr.gettext("Identified customers")] == _fmt(res).number(res["data"]["customers"])


@pytest.mark.parametrize("pid", list(PROGRAMS))
def test_cost_share_in_the_comparison_table(built, pid):
    res = _results(built, pid)
    fmt, tr = _fmt(res), i18n.translations(res["program"]["locale"])
    page = _soup(built / pid / "index.html")
    table = page.select("table.comparison")
    schemes = sorted(res["schemes"], key=lambda s: (s["rank"], s["id"]))
    assert [th.get_text() for th in table[0].select("thead th")][1:] == [s["name"] for s in schemes]
    assert _row(table, tr.gettext("Cost as share of revenue")) == [
        fmt.percent(s["backtest"]["cost_share_of_revenue"]) for s in schemes]
    assert _row(table, tr.gettext("Total cost")) == [fmt.money(s["backtest"]["total_cost"], 0) for s in schemes]
    if all(s.get("forecast") for s in schemes):
        assert _row(table, tr.gettext("Chance it pays for itself")) == [
            fmt.percent(s["forecast"]["probability_positive"]) for s in schemes]


@pytest.mark.parametrize("pid", list(PROGRAMS))
def test_dates_and_lang(built, pid):
    res = _results(built, pid)
    fmt = _fmt(res)
    for path in _pages(built, pid):
        assert _soup(path).html["lang"] == PROGRAMS[pid], path.name
    eyebrow = _soup(built / pid / "index.html").select_one(".page-head .eyebrow").get_text()
    assert fmt.date(res["data"]["first_date"]) in eyebrow
    assert fmt.date(res["data"]["last_date"]) in eyebrow


@pytest.mark.parametrize("pid", list(PROGRAMS))
def test_scheme_settings_are_labelled_and_formatted(built, pid):
    res = _results(built, pid)
    fmt, tr = _fmt(res), i18n.translations(res["program"]["locale"])
    for s in res["schemes"]:
        table = _soup(built / pid / "schemes" / f"{s['id']}.html").select_one("table.params")
        keys = [code.get_text() for code in table.select("tbody th code.param-key")]
        assert keys and all(k.split(".")[-1].split("[")[0] in json.dumps(s["params"]) for k in keys)
        rows = {tr_.find("code").get_text(): (tr_.find("th").get_text(" ", strip=True), tr_.find("td").get_text())
                for tr_ in table.select("tbody tr")}
        for key, value in s["params"].items():
            if isinstance(value, (dict, list)):
                assert any(k.startswith(key) for k in rows), key  # nested: reward.value, tiers[1].name …
                continue
            if key in ("min_purchase", "cost_per_event", "cost_per_member_year") and value:
                assert rows[key][1] == fmt.money(value, 0 if float(value).is_integer() else None), key
            if key in ("rate",) and value is not None:
                assert rows[key][1] == fmt.percent(value, 0 if round(value * 100) == value * 100 else 1), key
            if key == "expiry_days":
                n = value
                want = tr.gettext("never") if n is None else tr.ngettext("%(n)s day", "%(n)s days", n) % {
                    "n": fmt.number(n)}
                assert rows[key][1] == want
            assert rows[key][0] != key  # a translated label, not the YAML key, heads the row


# -- the method page speaks the program's language ----------------------------------------


def _first_heading(md: str) -> str:
    return next(line.lstrip("# ").strip() for line in md.splitlines() if line.startswith("# "))


@pytest.mark.parametrize("pid", list(PROGRAMS))
def test_method_page_uses_the_translated_docs(built, pid):
    locale = PROGRAMS[pid]
    docs = render.default_docs(locale)
    page = _soup(built / pid / "method.html")
    headings = [h.get_text(" ", strip=True) for h in page.select("section.doc h2")]
    for key in ("method", "forecast"):
        lang = i18n.catalog_name(locale)
        expected = resource(f"docs/i18n/{key}.{lang}.md" if lang else f"docs/{key}.md").read_text(encoding="utf-8")
        assert docs[key] == expected
        assert _first_heading(expected) in headings


_CODE = re.compile(r"`[^`]+`")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


@pytest.mark.parametrize("lang", DOC_LANGS)
@pytest.mark.parametrize("key", ["method", "forecast"])
def test_translated_docs_keep_keys_code_and_structure(key, lang):
    english = resource(f"docs/{key}.md").read_text(encoding="utf-8")
    translated = resource(f"docs/i18n/{key}.{lang}.md").read_text(encoding="utf-8")
    assert sorted(set(_CODE.findall(translated))) == sorted(set(_CODE.findall(english))), "code spans differ"
    heads = [line.split(" ")[0] for line in english.splitlines() if line.startswith("#")]
    assert [line.split(" ")[0] for line in translated.splitlines() if line.startswith("#")] == heads
    # every figure of the rules survives (written with the language's decimal mark)
    def norm(text: str) -> set[str]:
        text = re.sub(r"(?<=\d)[ \u00a0\u202f](?=\d{3}\b)", "", _CODE.sub(" ", text))  # 20 000 → 20000
        return {n.replace(",", "").replace(".", "") for n in _NUMBER.findall(text)}

    assert norm(english) <= norm(translated) | {"2005", "2006"}, sorted(norm(english) - norm(translated))


def test_unknown_language_gets_english_docs():
    assert render.default_docs("de-DE") == render.default_docs(None) == render.default_docs("en-GB")


# -- no English left on a non-English page -----------------------------------------------


def _visible_text(path: Path, res: dict) -> str:
    page = _soup(path)
    for tag in page(["script", "style", "code", "pre", "noscript"]):
        tag.decompose()
    for a in page.select("a[download]"):  # file names of the downloads
        a["download"] = ""
    text = re.sub(r"\s+", " ", " ".join(page.stripped_strings))
    names = {res["program"]["name"], res["program"]["id"], res["program"]["currency"]}
    site = res["program"].get("site") or {}
    names |= {v for v in (site.get("title"), site.get("footer")) if v}
    for s in res["schemes"]:
        names |= {s["name"], s["id"], s.get("description") or ""}
        names |= {t["name"] for t in (s.get("params") or {}).get("tiers") or []}
    names |= {i["path"] for i in res.get("inputs") or []}
    names |= {str(v) for v in (res.get("reproducibility") or {}).values()}
    for name in sorted((n for n in names | set(PROPER_NAMES) if n), key=len, reverse=True):
        text = text.replace(name, " ")
    return text


@pytest.mark.parametrize("pid", NON_ENGLISH)
def test_no_english_left_on_non_english_pages(built, pid):
    res = _results(built, pid)
    found: dict[str, set[str]] = {}
    for path in _pages(built, pid):
        text = _visible_text(path, res)
        for m in _ENGLISH_RE.finditer(text):
            context = text[max(0, m.start() - 40):m.end() + 40].replace("\n", " ")
            found.setdefault(path.relative_to(built / pid).as_posix(), set()).add(f"{m.group(0)!r} in …{context}…")
    report = "".join(f"\n  {page}:" + "".join(f"\n    {hit}" for hit in sorted(hits))
                     for page, hits in sorted(found.items()))
    print(f"\n[{pid}] English leftovers:{report or ' none'}")
    assert not found, f"{pid}: English words on a {PROGRAMS[pid]} page:{report}"


def test_the_english_check_would_catch_english(built):
    res = _results(built, "bookshop-manchester")
    text = _visible_text(built / "bookshop-manchester" / "index.html", res)
    assert {"Revenue", "The answer", "Downloads"} <= set(_ENGLISH_RE.findall(text))


# -- user overrides through `punchcard build --templates DIR` ------------------------------


def test_templates_dir_locales_override_strings(built):
    nb = _soup(built / "kaffebar-oslo" / "index.html").select_one("a.skip-link").get_text()
    sv = _soup(built / "biltvatt-goteborg" / "index.html").select_one("a.skip-link").get_text()
    assert nb == OVERRIDE[1]
    assert sv == i18n.translations("sv-SE").gettext(OVERRIDE[0])  # no override for sv: packaged
    # everything the override leaves out still comes from the packaged catalog
    nav = _soup(built / "kaffebar-oslo" / "index.html").select_one("nav.site-nav").get_text(" ", strip=True)
    assert i18n.translations("nb-NO").gettext("Customers") in nav

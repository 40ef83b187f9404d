"""Render the static decision site from plain results dicts (docs/results.md) — nothing else.

Layout (SPEC §6): ``index.html`` lists the programs (with exactly one program it forwards
to that program's page with a meta refresh and a visible link, so the root URL opens the
decision straight away); ``assets/`` holds plotly.min.js and site.css once; every program
gets ``<id>/index.html``, ``schemes/<scheme>.html``, ``customers.html``, ``method.html``,
``results.json`` and ``results.csv``. With ``self_contained`` each program is instead one
``<id>.html`` at the root with css, plotly.js, logo and downloads inlined.
All links are relative; output is byte-identical for identical input.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import mimetypes
import os
import re
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import markdown as md
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from punchcard import charts, i18n
from punchcard.fmt import Formatter
from punchcard.i18n import render_message
from punchcard.verdicts import kind_label, rejection_label, scheme_summary, settings, verdict
from punchcard.resources import resource, templates_dir

_COLOUR = re.compile(r"^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,20})$")


# --- environment and translation -----------------------------------------------------------

def make_env(locale: str, templates: Path | None = None) -> tuple[Environment, Callable[[str], str]]:
    """Return the Jinja environment (autoescape on, i18n installed) and its gettext function.

    With a templates folder (``punchcard build --templates DIR``), ``DIR/locales/<lang>.po``
    overrides the packaged wording string by string (docs/translating.md).
    """
    loaders = [FileSystemLoader(str(templates))] if templates else []
    loaders.append(FileSystemLoader(str(templates_dir())))
    env = Environment(loader=ChoiceLoader(loaders), autoescape=True, undefined=StrictUndefined,
                      extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=True)
    return env, i18n.install(env, locale, override_dir=overrides_dir(templates))


def overrides_dir(templates: Path | None) -> Path | None:
    """Return ``<templates>/locales`` when it exists: the user's .po files that override strings."""
    if templates is None:
        return None
    folder = Path(templates) / "locales"
    return folder if folder.is_dir() else None


# --- links ---------------------------------------------------------------------------------

class Linker:
    """Relative URLs from one page to every other file of the site (or anchors when inlined)."""

    def __init__(self, program_id: str, depth: int, inline: bool = False, data: dict | None = None):
        self.pid, self.inline, self.data = program_id, inline, data or {}
        self.up = "../" * depth

    def __call__(self, kind: str, arg: str = "") -> str:
        """Return the URL of ``kind`` (program, scheme, customers, method, json, csv, asset, logo, home)."""
        if self.inline:
            anchors = {"program": "#overview", "scheme": f"#scheme-{arg}", "customers": "#customers",
                       "method": "#method"}
            return anchors.get(kind) or self.data.get(kind, "")
        base = f"{self.up}{self.pid}/"
        paths = {"program": "index.html", "scheme": f"schemes/{arg}.html", "customers": "customers.html",
                 "method": "method.html", "json": "results.json", "csv": "results.csv", "logo": arg}
        if kind in paths:
            return base + paths[kind]
        if kind == "asset":
            return f"{self.up}assets/{arg}"
        if kind == "home":
            return f"{self.up}index.html"
        raise ValueError(f"unknown link kind {kind!r}")


# --- public entry point ----------------------------------------------------------------------

def render_site(results: list[dict], out: Path, *, templates: Path | None = None, self_contained: bool = False,
                docs: dict[str, str] | None = None, sources: dict[str, Path] | None = None) -> list[Path]:
    """Write the whole site for ``results`` into ``out`` and return the files written, sorted."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    css = (templates_dir() / "assets" / "site.css").read_text(encoding="utf-8")
    if templates and (Path(templates) / "assets" / "site.css").is_file():
        css = (Path(templates) / "assets" / "site.css").read_text(encoding="utf-8")
    if not self_contained:
        written += _write_assets(out, css)
    for res in results:
        source = (sources or {}).get(res["program"]["id"])
        site = Site(res, templates, docs, source)
        if self_contained:
            written.append(site.write_self_contained(out, css))
        else:
            written += site.write_pages(out)
    written.append(_write_index(out, results, templates, self_contained))
    nojekyll = out / ".nojekyll"
    nojekyll.write_bytes(b"")
    written.append(nojekyll)
    return sorted(written)


def default_docs(locale: str | None = None) -> dict[str, str]:
    """Return the packaged method and forecast docs (those that exist) in the locale's language.

    ``docs/i18n/method.<lang>.md`` (``<lang>`` as the catalog names it: ``nb``, ``pt_BR`` …)
    is used when it exists, else the English ``docs/method.md``; the same for forecast.
    """
    names = [] if locale is None else i18n.doc_languages(locale)
    found = {}
    for key in ("method", "forecast"):
        for name in [f"docs/i18n/{key}.{lang}.md" for lang in names] + [f"docs/{key}.md"]:
            try:
                found[key] = resource(name).read_text(encoding="utf-8")
                break
            except FileNotFoundError:
                continue
    return found


def _write_assets(out: Path, css: str) -> list[Path]:
    """Write assets/plotly.min.js and assets/site.css; return their paths."""
    from plotly.offline import get_plotlyjs

    assets = out / "assets"
    assets.mkdir(exist_ok=True)
    (assets / "plotly.min.js").write_text(get_plotlyjs(), encoding="utf-8")
    (assets / "site.css").write_text(css, encoding="utf-8")
    return [assets / "plotly.min.js", assets / "site.css"]


def _write_index(out: Path, results: list[dict], templates: Path | None, self_contained: bool) -> Path:
    """Write the root index.html: one card per program, forwarding when there is only one."""
    locale = results[0]["program"]["locale"] if len(results) == 1 else "en"
    env, _ = make_env(locale, templates)
    cards = []
    for res in results:
        fmt = Formatter(res["program"]["locale"], res["program"]["currency"])
        best = min(res["schemes"], key=lambda s: s["rank"]) if res["schemes"] else None
        pid = res["program"]["id"]
        cards.append({"id": pid, "name": res["program"]["name"],
                      "href": f"{pid}.html" if self_contained else f"{pid}/index.html",
                      "lang": res["program"]["locale"],
                      "best": best["name"] if best else None,
                      "verdict": verdict(best, res, fmt, _) if best else "",
                      "schemes": len(res["schemes"]), "period": (fmt.date(res["data"]["first_date"]),
                                                                 fmt.date(res["data"]["last_date"]))})
    html = env.get_template("index.html").render(
        cards=cards, lang=locale, refresh=cards[0]["href"] if len(cards) == 1 else None,
        css_href="assets/site.css" if not self_contained else None, build_date=build_date(None),
        inline_css=None)
    path = out / "index.html"
    path.write_text(html, encoding="utf-8")
    return path


def build_date(fmt: Formatter | None) -> str | None:
    """Return the build date from SOURCE_DATE_EPOCH (formatted), or None when it is unset."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if not epoch:
        return None
    day = datetime.fromtimestamp(int(epoch), tz=timezone.utc).date()
    return fmt.date(day) if fmt else day.isoformat()


# --- one program -----------------------------------------------------------------------------

class Site:
    """Everything needed to render one program: formatter, environment, charts and page data."""

    def __init__(self, res: dict, templates: Path | None, docs: dict[str, str] | None, source: Path | None):
        self.res = res
        prog = res["program"]
        self.pid = prog["id"]
        self.fmt = Formatter(prog["locale"], prog["currency"])
        self.env, self._ = make_env(prog["locale"], templates)
        site = prog.get("site") or {}
        colour = site.get("primary_color")
        self.primary = colour if isinstance(colour, str) and _COLOUR.match(colour) else charts.DEFAULT_PRIMARY
        self.theme = charts.theme(self.primary, self.fmt.plotly_separators)
        docs = default_docs(prog["locale"]) if docs is None else docs
        self.docs = {k: _markdown(v) for k, v in docs.items()}
        self.logo = _logo_path(site.get("logo"), source)
        self.schemes = sorted(res["schemes"], key=lambda s: (s["rank"], s["id"]))

    # files -------------------------------------------------------------------------------

    def write_pages(self, out: Path) -> list[Path]:
        """Write the program's pages and downloads under ``out/<id>/``; return their paths."""
        root = out / self.pid
        (root / "schemes").mkdir(parents=True, exist_ok=True)
        files: list[Path] = []
        logo_name = None
        if self.logo is not None:
            logo_name = f"logo{self.logo.suffix.lower()}"
            shutil.copyfile(self.logo, root / logo_name)
            files.append(root / logo_name)
        for rel, template, depth, ctx in self._pages():
            link = Linker(self.pid, depth)
            html = self._render(template, ctx, link, logo=link("logo", logo_name) if logo_name else None)
            (root / rel).write_text(html, encoding="utf-8")
            files.append(root / rel)
        (root / "results.json").write_text(results_json(self.res), encoding="utf-8")
        (root / "results.csv").write_bytes(results_csv(self.res, self.fmt).encode("utf-8-sig"))
        return files + [root / "results.json", root / "results.csv"]

    def write_self_contained(self, out: Path, css: str) -> Path:
        """Write ``out/<id>.html`` with every page as a section and everything inlined."""
        from plotly.offline import get_plotlyjs

        data = {"json": _data_uri(results_json(self.res).encode("utf-8"), "application/json"),
                "csv": _data_uri(results_csv(self.res, self.fmt).encode("utf-8-sig"), "text/csv")}
        link = Linker(self.pid, 0, inline=True, data=data)
        logo = _data_uri(self.logo.read_bytes(), _mime(self.logo)) if self.logo else None
        sections = []
        for rel, template, _depth, ctx in self._pages():
            tmpl = self.env.get_template(template)
            context = tmpl.new_context(self._context(ctx, link, logo))
            anchor = {"index.html": "overview", "customers.html": "customers", "method.html": "method"}.get(
                rel, "scheme-" + rel.removeprefix("schemes/").removesuffix(".html"))
            sections.append({"id": anchor, "html": Markup("".join(tmpl.blocks["content"](context)))})
        html = self._render("self_contained.html", {"sections": sections, "page": "self-contained", "charts": [],
                                                    "page_title": self.res["program"]["name"]},
                            link, logo=logo, inline_css=Markup(css), plotly_inline=Markup(get_plotlyjs()))
        path = out / f"{self.pid}.html"
        path.write_text(html, encoding="utf-8")
        return path

    # rendering ---------------------------------------------------------------------------

    def _pages(self) -> list[tuple[str, str, int, dict]]:
        """Return (relative path, template, depth from the site root, page context) per page."""
        p = Pages(self.res, self.schemes, self.fmt, self._, self.theme, self.docs)
        items = [("index.html", "program.html", 1, p.program())]
        items += [(f"schemes/{s['id']}.html", "scheme.html", 2, p.scheme(s)) for s in self.schemes]
        items += [("customers.html", "customers.html", 1, p.customers()),
                  ("method.html", "method.html", 1, p.method())]
        return items

    def _context(self, ctx: dict, link: Linker, logo: str | None, **extra: Any) -> dict:
        """Return the full template context: page data plus what every page shares."""
        prog = self.res["program"]
        site = prog.get("site") or {}
        return {"program": prog, "results": self.res, "schemes": self.schemes, "url": link, "fmt": self.fmt,
                "lang": prog["locale"], "site_title": site.get("title") or prog["name"],
                "footer_text": site.get("footer"), "primary": self.primary, "logo": logo,
                "version": self.res.get("punchcard_version", ""), "build_date": build_date(self.fmt),
                "inline_css": None, "plotly_inline": None, "self_contained": link.inline,
                "kind_label": lambda k: kind_label(k, self._), **ctx, **extra}

    def _render(self, template: str, ctx: dict, link: Linker, logo: str | None, **extra: Any) -> str:
        """Return one rendered page."""
        return self.env.get_template(template).render(self._context(ctx, link, logo, **extra))


# --- downloads -------------------------------------------------------------------------------

def results_json(res: dict) -> str:
    """Return results.json exactly as docs/results.md specifies (sorted keys, 2-space indent)."""
    return json.dumps(res, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def results_csv(res: dict, fmt: Formatter) -> str:
    """Return results.csv: one row per scheme with every backtest and forecast figure."""
    columns = ["id", "name", "kind", "rank"] + [key for key, _kind in figure_columns(res["schemes"])]
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=fmt.csv_delimiter, lineterminator="\r\n")
    writer.writerow(columns)
    for s in sorted(res["schemes"], key=lambda s: (s["rank"], s["id"])):
        row = [s["id"], s["name"], s["kind"], str(s["rank"])]
        for key in columns[4:]:
            value = lookup(s, key)
            row.append(fmt.csv_number(value) if isinstance(value, (int, float)) else "" if value is None else str(value))
        writer.writerow(row)
    return buf.getvalue()


# --- small helpers -----------------------------------------------------------------------------

def _markdown(text: str) -> Markup:
    """Return project markdown as HTML with every heading one level down (the page owns h1)."""
    html = md.markdown(text, extensions=["tables", "fenced_code", "sane_lists"], output_format="html")
    html = re.sub(r"<(/?)h([1-5])\b", lambda m: f"<{m.group(1)}h{int(m.group(2)) + 1}", html)
    return Markup(html)


def _logo_path(logo: str | None, source: Path | None) -> Path | None:
    """Return the logo file (absolute, or relative to the program file's folder) if it exists."""
    if not logo:
        return None
    path = Path(logo)
    if not path.is_absolute() and source is not None:
        path = Path(source) / path
    return path if path.is_file() else None


def _mime(path: Path) -> str:
    """Return the MIME type of an image file by its extension."""
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def _data_uri(data: bytes, mime: str) -> str:
    """Return ``data`` as a base64 data: URI."""
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")


# --- figures: one list drives the comparison table and results.csv ---------------------------

FIGURES: tuple[tuple[str, str], ...] = (
    ("backtest.members", "count"), ("backtest.customers_rewarded", "count"), ("backtest.rewarded_share", "percent"),
    ("backtest.rewarded_within_year_share", "percent"), ("backtest.median_days_to_first_reward", "count"),
    ("backtest.rewards_earned", "count"), ("backtest.rewards_redeemed", "count"),
    ("backtest.rewards_expired", "count"), ("backtest.rewards_outstanding", "count"),
    ("backtest.reward_cost", "money"), ("backtest.fixed_cost", "money"), ("backtest.total_cost", "money"),
    ("backtest.cost_share_of_revenue", "percent"), ("backtest.cost_per_member", "money2"),
    ("backtest.liability", "money"), ("backtest.top20_cost_share", "percent"),
    ("forecast.horizon_months", "count"), ("forecast.draws", "count"), ("forecast.members", "count"),
    ("forecast.baseline_revenue", "money"), ("forecast.incremental_revenue", "money"),
    ("forecast.incremental_margin", "money"), ("forecast.reward_cost", "money"), ("forecast.fixed_cost", "money"),
    ("forecast.scheme_cost", "money"), ("forecast.net_impact.mean", "money"), ("forecast.net_impact.p10", "money"),
    ("forecast.net_impact.p50", "money"), ("forecast.net_impact.p90", "money"), ("forecast.net_impact.se", "money"),
    ("forecast.probability_positive", "percent"), ("forecast.break_even_visit_lift", "lift"),
)


def lookup(scheme: dict, dotted: str) -> Any:
    """Return the value at a dotted key such as ``forecast.net_impact.p10`` (None when absent)."""
    value: Any = scheme
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def figure_columns(schemes: list[dict]) -> list[tuple[str, str]]:
    """Return the known figures plus any further scalar backtest/forecast keys the schemes carry."""
    known = {k for k, _kind in FIGURES}
    extra: set[str] = set()
    for s in schemes:
        for block in ("backtest", "forecast"):
            for key, value in sorted((s.get(block) or {}).items()):
                if isinstance(value, (int, float)) and not isinstance(value, bool) and f"{block}.{key}" not in known:
                    extra.add(f"{block}.{key}")
    return list(FIGURES) + [(k, _EXTRA_KINDS.get(k, "number")) for k in sorted(extra)]


# Further figures some results carry (results.md): how they are formatted in the tables.
_EXTRA_KINDS = {"forecast.liability": "money", "forecast.incremental_revenue_se": "money"}


def figure_label(key: str, _: Callable[[str], str]) -> str:
    """Return the translated row label of a figure key."""
    labels = {
        "backtest.members": _("Members"), "backtest.customers_rewarded": _("Customers rewarded"),
        "backtest.rewarded_share": _("Members rewarded"),
        "backtest.rewarded_within_year_share": _("Members rewarded within a year"),
        "backtest.median_days_to_first_reward": _("Median days to first reward"),
        "backtest.rewards_earned": _("Rewards earned"), "backtest.rewards_redeemed": _("Rewards redeemed"),
        "backtest.rewards_expired": _("Rewards expired"), "backtest.rewards_outstanding": _("Rewards outstanding"),
        "backtest.reward_cost": _("Reward cost"), "backtest.fixed_cost": _("Running cost"),
        "backtest.total_cost": _("Total cost"), "backtest.cost_share_of_revenue": _("Cost as share of revenue"),
        "backtest.cost_per_member": _("Cost per member"), "backtest.liability": _("Rewards owed at the end"),
        "backtest.top20_cost_share": _("Reward cost going to the top 20 % of customers"),
        "forecast.horizon_months": _("Months ahead"), "forecast.draws": _("Simulations"),
        "forecast.members": _("Expected members"), "forecast.baseline_revenue": _("Revenue without a scheme"),
        "forecast.incremental_revenue": _("Extra revenue"), "forecast.incremental_margin": _("Extra margin"),
        "forecast.reward_cost": _("Reward cost"), "forecast.fixed_cost": _("Running cost"),
        "forecast.scheme_cost": _("Scheme cost"), "forecast.net_impact.mean": _("Net impact, expected"),
        "forecast.net_impact.p10": _("Net impact, P10 (pessimistic)"), "forecast.net_impact.p50": _("Net impact, P50"),
        "forecast.net_impact.p90": _("Net impact, P90 (optimistic)"),
        "forecast.net_impact.se": _("Net impact, simulation error"),
        "forecast.probability_positive": _("Chance it pays for itself"),
        "forecast.break_even_visit_lift": _("Break-even visit lift"),
        "forecast.liability": _("Rewards owed at the end of the forecast"),
        "forecast.incremental_revenue_se": _("Extra revenue, simulation error"),
    }
    return labels.get(key, key.split(".", 1)[1].replace("_", " "))


def format_figure(value: Any, kind: str, fmt: Formatter) -> str:
    """Return one figure formatted by its kind (money, money2, count, percent, lift, number)."""
    if value is None:
        return "–"
    if kind == "money":
        return fmt.money(value, 0)
    if kind == "money2":
        return fmt.money(value)
    if kind == "percent":
        return fmt.percent(value)
    if kind == "lift":
        return fmt.lift(value)
    if kind == "count":
        return fmt.number(value)
    return fmt.number(value, 2)


# --- wording -----------------------------------------------------------------------------------

def assumption_label(name: str, _: Callable[[str], str]) -> str:
    """Return the plain-language name of an assumption."""
    labels = {"enrollment": _("Customers who join"), "visit_lift": _("Extra visits by members"),
              "spend_lift": _("Extra spend per visit"), "retention_lift": _("Better retention"),
              "redemption_rate": _("Rewards actually redeemed"), "frequency_bias": _("Frequent customers join more"),
              "goal_gradient": _("Faster visits near a reward"), "post_reward_reset": _("Slower visits after a reward"),
              "endowed_progress": _("Effect of a head start")}
    return labels.get(name, name.replace("_", " "))


# --- page data -------------------------------------------------------------------------------

class Pages:
    """Builds the context (tables, charts, sentences) of every page of one program."""

    def __init__(self, res: dict, schemes: list[dict], fmt: Formatter, gettext: Callable[[str], str],
                 theme: charts.Theme, docs: dict[str, Markup]):
        self.res, self.schemes, self.fmt, self._, self.theme, self.docs = res, schemes, fmt, gettext, theme, docs
        run = res.get("forecast") or {}
        self.skip_reason = (render_message(run.get("skipped") or run.get("skipped_reason"), fmt, gettext)
                            or gettext("No forecast was made for this program."))

    def _table(self, caption: str, columns: list[str], rows: list[list[str]], cls: str = "") -> dict:
        return {"caption": caption, "columns": columns, "rows": rows, "class": cls}

    def program(self) -> dict:
        """Return the program page: ranked verdicts, comparison charts and the full table."""
        _, f, t, ss = self._, charts.Whole(self.fmt), self.theme, self.schemes
        months = self.res["program"].get("horizon_months", 12)
        forecasted = [s for s in ss if s.get("forecast")]
        chart_list = [charts.cost_uptake("program-cost-uptake", ss, t, f, _)]
        if forecasted:
            chart_list.append(charts.net_impact_ranges("program-net-impact", forecasted, t, f, _, months))
            chart_list.append(charts.break_even("program-break-even", forecasted, t, f, _))
        else:
            chart_list.append(charts.skipped("program-net-impact", _("What each scheme may earn or cost"),
                                             self.skip_reason))
        chart_list.append(charts.cost_over_time("program-cost-monthly", ss, t, f, _))
        ranked = [{"scheme": s, "verdict": verdict(s, self.res, f, _), "kind": kind_label(s["kind"], _),
                   "facts": self._facts(s)} for s in ss]
        return {"page": "program", "page_title": self.res["program"]["name"], "ranked": ranked,
                "charts": chart_list, "tables": self._comparison(), "warnings": self._warnings(),
                "period": (f.date(self.res["data"]["first_date"]), f.date(self.res["data"]["last_date"])),
                "overview": self._overview(), "forecast_skipped": None if forecasted else self.skip_reason,
                "changes": self._changes()}

    def _warnings(self) -> list[str]:
        """Return the build's warnings in the page's language (from ``warnings_detail`` when present)."""
        plain = self.res.get("warnings") or []
        detail = self.res.get("warnings_detail")
        if not isinstance(detail, list) or len(detail) != len(plain):
            return [str(w) for w in plain]  # results.json from an older punchcard
        return [render_message(d, self.fmt, self._) for d in detail]

    def _changes(self) -> dict | None:
        """Return what changed since the previous build's data (None on a first build)."""
        ch = self.res.get("changes")
        if not ch:
            return None
        _, f = self._, self.fmt
        fmt_of = {"revenue": lambda v: f.money(v, 0), "customers": f.number, "transactions": f.number,
                  "rows_read": f.number, "last_date": f.date,
                  "backtest.total_cost": lambda v: f.money(v, 0),
                  "backtest.cost_share_of_revenue": lambda v: f.percent(v, 1),
                  "backtest.customers_rewarded": f.number,
                  "backtest.rewarded_share": lambda v: f.percent(v, 0),
                  "forecast.net_impact.mean": lambda v: f.money(v, 0),
                  "forecast.probability_positive": lambda v: f.percent(v, 0)}
        labels = {"revenue": _("Revenue"), "customers": _("Customers"), "transactions": _("Transactions"),
                  "rows_read": _("Rows read"), "last_date": _("Last sale"),
                  "backtest.total_cost": _("Cost over your history"),
                  "backtest.cost_share_of_revenue": _("Cost share of revenue"),
                  "backtest.customers_rewarded": _("Customers rewarded"),
                  "backtest.rewarded_share": _("Members rewarded"),
                  "forecast.net_impact.mean": _("Expected net impact"),
                  "forecast.probability_positive": _("Chance it pays")}

        def show(key: str, v) -> str:
            return "–" if v is None else fmt_of.get(key, str)(v)

        rows = [[_("Your data"), labels.get(k, k), show(k, d["old"]), show(k, d["new"])]
                for k, d in ch.get("data", {}).items()]
        for sc in ch.get("schemes", []):
            if sc.get("new"):
                rows.append([sc["name"], _("New scheme"), "–", str(sc["rank"]["new"])])
                continue
            if sc.get("rank_changed"):
                rows.append([sc["name"], _("Rank"), str(sc["rank"]["old"]), str(sc["rank"]["new"])])
            for k, d in sc.get("figures", {}).items():
                rows.append([sc["name"], labels.get(k, k), show(k, d["old"]), show(k, d["new"])])
        return {"previous_last_date": show("last_date", ch.get("previous_last_date")),
                "ranking_changed": ch.get("ranking_changed", False),
                "table": self._table(_("What changed since the previous build"),
                                     [_("Where"), _("Figure"), _("Before"), _("Now")], rows)}

    def _facts(self, s: dict) -> list[tuple[str, str]]:
        """Return the two or three headline figures shown on a scheme's card."""
        _, f, fc, bt = self._, self.fmt, s.get("forecast"), s["backtest"]
        facts = []
        if fc:
            facts.append((_("Expected net impact"), f.money(fc["net_impact"]["mean"], 0)))
            facts.append((_("Chance it pays"), f.percent(fc["probability_positive"], 0)))
        facts.append((_("Cost over your history"), f.money(bt["total_cost"], 0)))
        facts.append((_("Members rewarded"), f.percent(bt.get("rewarded_share", 0.0), 0)))
        return facts

    def _overview(self) -> list[tuple[str, str]]:
        """Return the facts about the data behind the comparison."""
        _, f, d = self._, self.fmt, self.res["data"]
        return [(_("Revenue"), f.money(d["revenue"], 0)), (_("Identified customers"), f.number(d["customers"])),
                (_("Transactions"), f.number(d["transactions"])), (_("Days of history"), f.number(d.get("days")))]

    def _comparison(self) -> list[dict]:
        """Return the comparison tables (history, then forecast): one column per scheme."""
        _, ss = self._, self.schemes
        cols = [_("Figure")] + [s["name"] for s in ss]
        tables = []
        for block, caption in (("backtest", _("Replayed on your sales history")),
                               ("forecast", _("Forecast for the months ahead"))):
            rows = [[figure_label(k, _)] + [format_figure(lookup(s, k), kind, self.fmt) for s in ss]
                    for k, kind in figure_columns(ss) if k.startswith(block + ".")]
            if block == "forecast" and not any(s.get("forecast") for s in ss):
                continue
            tables.append(self._table(caption, cols, rows, "comparison"))
        return tables

    def scheme(self, s: dict) -> dict:
        """Return one scheme's page: what it is, who earns, when, forecast and caveats."""
        _, f, t = self._, charts.Whole(self.fmt), self.theme
        bt, fc, sid = s["backtest"], s.get("forecast"), s["id"]
        chart_list = [charts.rewards_per_member(f"scheme-{sid}-rewards", bt, t, f, _),
                      charts.cost_by_decile(f"scheme-{sid}-deciles", bt, t, f, _),
                      charts.monthly_cost_liability(f"scheme-{sid}-monthly", bt, t, f, _),
                      charts.days_to_first_reward(f"scheme-{sid}-first-reward", bt, t, f, _)]
        if fc:
            chart_list.append(charts.forecast_histogram(f"scheme-{sid}-forecast", fc, t, f, _))
            if fc.get("tornado"):
                chart_list.append(charts.tornado(f"scheme-{sid}-tornado", fc, t, f, _,
                                                 lambda a: assumption_label(a, _)))
        else:
            chart_list.append(charts.skipped(f"scheme-{sid}-forecast", _("Range of outcomes"), self.skip_reason))
        params = self._table(_("Settings as configured"), [_("Setting"), _("Value")],
                             [[_setting_cell(label, key), value]
                              for label, key, value in settings(s.get("params") or {}, self.fmt, _)], "params")
        return {"page": "scheme", "page_title": s["name"], "scheme": s, "kind": kind_label(s["kind"], _),
                "summary": scheme_summary(s, f, _), "verdict": verdict(s, self.res, f, _), "params": params,
                "facts": self._facts(s), "charts": chart_list, "caveats": self._caveats(s)}

    def _caveats(self, s: dict) -> list[str]:
        """Return the warnings the data raise about one scheme's figures."""
        _, f, bt, fc = self._, self.fmt, s["backtest"], s.get("forecast")
        out = []
        customers = self.res["data"].get("customers", 0)
        if customers < 500:
            out.append(_("The figures rest on only %(n)s identified customers; treat them as rough.")
                       % {"n": f.number(customers)})
        if not fc:
            out.append(self.skip_reason)
        if bt["total_cost"] > 0 and bt["liability"] > 0.25 * bt["total_cost"]:
            out.append(_("At the end of the history members still hold rewards worth %(l)s (%(s)s of the total "
                         "cost): a liability to provide for.")
                       % {"l": f.money(bt["liability"], 0), "s": f.percent(bt["liability"] / bt["total_cost"], 0)})
        if bt.get("rewarded_share", 1.0) < 0.15:
            out.append(_("Only %(s)s of members would ever earn a reward; most would see no benefit.")
                       % {"s": f.percent(bt.get("rewarded_share", 0.0), 0)})
        if bt.get("top20_cost_share", 0.0) > 0.6:
            out.append(_("%(s)s of the reward cost goes to your top 20 %% of customers, who may come anyway.")
                       % {"s": f.percent(bt["top20_cost_share"], 0)})
        if fc and fc["net_impact"]["p10"] < 0 < fc["net_impact"]["p90"]:
            out.append(_("The outcome is uncertain: the pessimistic case (P10) loses money and the optimistic "
                         "case (P90) makes money."))
        if fc and fc.get("break_even_visit_lift") is None:
            out.append(_("No visit lift between −50 % and +200 % makes this scheme break even."))
        model = self.res.get("model") or {}
        if model and model.get("converged") is False:
            out.append(_("The customer model did not converge; read the forecast with extra care."))
        return out

    def customers(self) -> dict:
        """Return the customers page: concentration, frequency, recency and data quality."""
        _, f, t, c = self._, charts.Whole(self.fmt), self.theme, self.res["customers"]
        chart_list = [
            charts.pareto("customers-pareto", c, t, f, _),
            charts.count_bars("customers-frequency", _("How often customers buy"),
                              _("Identified customers by the number of purchases they made in the history. "
                                "%(s)s of them came back at least once.") % {"s": f.percent(c["repeat_share"])},
                              c["frequency"], "transactions", "customers", t, f, (_("Purchases"), _("Customers"))),
            charts.count_bars("customers-recency", _("When customers last bought"),
                              _("Identified customers by weeks since their last purchase at the end of the data. "
                                "The bars on the right are customers you may already have lost."),
                              c["recency"], "weeks", "customers", t, f, (_("Weeks since last purchase"), _("Customers"))),
            charts.count_bars("customers-interpurchase", _("Time between purchases"),
                              _("Gaps between one purchase and the next by the same customer. Half of the gaps are "
                                "shorter than %(d)s days — a natural rhythm for reward timing.")
                              % {"d": f.number(c["median_interpurchase_days"])},
                              c["interpurchase"], "days", "count", t, f, (_("Days between purchases"), _("Purchases"))),
            charts.new_returning("customers-new-returning", c, t, f, _),
        ]
        return {"page": "customers", "page_title": _("Your customers"), "charts": chart_list,
                "quality": self._quality(), "overview": self._overview()}

    def _quality(self) -> dict:
        """Return the data-quality ledger: rows read, used and rejected by reason with examples."""
        _, f, d = self._, self.fmt, self.res["data"]
        rows = [[_("Rows read"), f.number(d["rows_read"])], [_("Rows used"), f.number(d["rows_used"])]]
        for reason, n in sorted((d.get("rows_rejected") or {}).items()):
            rows.append([_("Rejected: %(reason)s") % {"reason": _(rejection_label(reason))}, f.number(n)])
        rows += [[_("Anonymous transactions"), f.number(d.get("anonymous_transactions"))],
                 [_("Anonymous revenue"), f.money(d.get("anonymous_revenue"), 0)],
                 [_("Returns"), f.money(d.get("returns"), 0)]]
        examples = [{"reason": _(rejection_label(reason)), "lines": lines}
                    for reason, lines in sorted((d.get("rejected_examples") or {}).items())]
        table = self._table(_("Every row of the sales export ends in exactly one bucket"),
                            [_("Rows"), _("Count")], rows, "quality")
        return {"table": table, "examples": examples, "inputs": self.res.get("inputs") or []}

    def method(self) -> dict:
        """Return the method page: docs, model fit, assumptions and reproducibility."""
        _, f, t = self._, self.fmt, self.theme
        model = self.res.get("model")
        chart_list, model_table = [], None
        if model:
            bg, gg = model.get("bgnbd") or {}, model.get("gamma_gamma") or {}
            rows = [[f"BG/NBD {k}", f.number(bg.get(k), 4)] for k in ("r", "alpha", "a", "b")]
            rows += [[_("BG/NBD log-likelihood"), f.number(bg.get("loglik"), 2)]]
            rows += [[f"Gamma-Gamma {k}", f.number(gg.get(k), 4)] for k in ("p", "q", "v")]
            if gg.get("loglik") is not None:
                rows.append([_("Gamma-Gamma log-likelihood"), f.number(gg["loglik"], 2)])
            rows += [[_("Customers fitted"), f.number(model.get("customers"))],
                     [_("Repeat customers"), f.number(model.get("repeat_customers"))],
                     [_("Converged"), _("yes") if model.get("converged") else _("no")],
                     [_("Expected transactions without a scheme"), f.number(model.get("expected_transactions"))],
                     [_("Expected revenue without a scheme"), f.money(model.get("expected_revenue"), 0)]]
            model_table = self._table(_("Customer model"), [_("Parameter"), _("Value")], rows, "model")
            checks = model.get("checks")
            if checks:
                chart_list = [charts.tracking("method-tracking", checks, t, f, _),
                              charts.repeat_histogram("method-repeat", checks, t, f, _)]
        return {"page": "method", "page_title": _("Method and assumptions"), "docs": self.docs,
                "model_table": model_table, "charts": chart_list, "model_skipped": None if model else self.skip_reason,
                "assumptions": self._assumptions(), "business": self._business(), "repro": self._repro()}

    def _assumptions(self) -> dict:
        """Return every assumption with low/likely/high and where it comes from."""
        _, f = self._, self.fmt
        rows = []
        base = self.res["program"].get("assumptions") or {}
        for name, value in base.items():
            rows.append([assumption_label(name, _), *_range_cells(value, f, _), _("program file")])
        for s in self.schemes:
            for name, value in (s.get("assumptions") or {}).items():
                if value != base.get(name):
                    rows.append([assumption_label(name, _), *_range_cells(value, f, _),
                                 _("scheme “%(name)s”") % {"name": s["name"]}])
        return self._table(_("Assumptions"), [_("Assumption"), _("Low"), _("Most likely"), _("High"), _("Source")],
                           rows, "assumptions")

    def _business(self) -> dict:
        """Return the business settings (margin, horizon, fixed costs)."""
        _, f, p = self._, self.fmt, self.res["program"]
        fixed = p.get("fixed_costs") or {}
        rows = [[_("Gross margin"), f.percent(p.get("gross_margin"))],
                [_("Forecast horizon (months)"), f.number(p.get("horizon_months"))],
                [_("Set-up cost"), f.money(fixed.get("setup"))], [_("Running cost per month"), f.money(fixed.get("monthly"))],
                [_("Cost per member per year"), f.money(fixed.get("per_member_year"))]]
        return self._table(_("Business settings"), [_("Setting"), _("Value")], rows, "business")

    def _repro(self) -> dict:
        """Return what is needed to reproduce the build: version, inputs, seed and command."""
        _, f, r = self._, self.fmt, self.res.get("reproducibility") or {}
        fc = self.res.get("forecast") or {}
        rows = [[_("punchcard version"), str(r.get("punchcard_version", self.res.get("punchcard_version", "")))],
                [_("Command"), str(r.get("command", ""))], [_("Random seed"), str(r.get("seed", fc.get("seed", "")))],
                [_("Simulations"), f.number(fc.get("draws"))],
                [_("Customers simulated"), f.number(fc.get("customers_simulated"))]]
        names = {"fingerprint": _("Fingerprint of inputs and settings"), "python": "Python", "polars": "Polars",
                 "numpy": "NumPy", "scipy": "SciPy"}
        rows += [[names.get(k, k), str(v)] for k, v in sorted(r.items())
                 if k not in ("punchcard_version", "command", "seed") and isinstance(v, (str, int, float))]
        inputs = [[i["path"], i["sha256"], f.number(i["rows"])] for i in self.res.get("inputs") or []]
        return {"table": self._table(_("Reproducibility"), [_("Item"), _("Value")], rows, "repro"),
                "inputs": self._table(_("Input files"), [_("File"), "SHA-256", _("Rows")], inputs, "inputs")}


def _range_cells(value: Any, f: Formatter, _: Callable[[str], str]) -> list[str]:
    """Return low/likely/high cells for a range, or the single value in the middle cell."""
    if isinstance(value, dict) and {"low", "likely", "high"} <= value.keys():
        return [_plain(value["low"], f, _), _plain(value["likely"], f, _), _plain(value["high"], f, _)]
    return ["", _plain(value, f, _), ""]


def _plain(value: Any, f: Formatter, _: Callable[[str], str]) -> str:
    """Return a configured value formatted for a settings table."""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if value is None:
        return _("none")
    if isinstance(value, int):
        return f.number(value)
    if isinstance(value, float):
        digits = 0 if value == int(value) else min(4, len(repr(value).split(".")[-1]))
        return f.number(value, digits)
    return str(value)


def _setting_cell(label: str, key: str) -> Markup:
    """Return a settings-table row header: the translated label, then the raw key in ``<code>``."""
    return Markup('{} <code class="param-key">{}</code>').format(escape(label), key)

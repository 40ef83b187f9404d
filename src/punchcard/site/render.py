"""Render the static decision site from plain results dicts (docs/results.md) — nothing else.

Layout (SPEC §6): ``index.html`` lists the programs (with exactly one program it forwards
to that program's page with a meta refresh and a visible link, so the root URL opens the
decision straight away); ``assets/`` holds plotly.min.js and site.css once; every program
gets ``<id>/index.html``, ``schemes/<scheme>.html``, ``customers.html``, ``method.html``,
``results.json`` and ``results.csv``. With ``self_contained`` each program also gets one
``<id>.html`` at the root with css, plotly.js, logo and downloads inlined (for e-mail).
All links are relative; output is byte-identical for identical input.

Each page's context comes from ``pages.py``, the figures from ``figures.py`` and the
downloads from ``downloads.py``; their public names are re-exported here.
"""

from __future__ import annotations

import base64
import mimetypes
import os
import re
import shutil
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import markdown as md
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, TemplateError
from markupsafe import Markup

from punchcard.errors import PunchcardError
from punchcard.site import charts

from punchcard.site import i18n
from punchcard.site.downloads import results_csv, results_json
from punchcard.site.tables import FIGURES, figure_columns, figure_label, format_figure, lookup
from punchcard.site.fmt import Formatter
from punchcard.site.pages import Pages, assumption_label
from punchcard.site.verdicts import decision_sentence, kind_label, verdict
from punchcard.site.resources import resource, templates_dir
from punchcard.site.tune import SORT_SCRIPT, program_summary, tune_page

__all__ = ["FIGURES", "Linker", "Pages", "Site", "assumption_label", "build_date", "default_docs",
           "figure_columns", "figure_label", "format_figure", "lookup", "make_env", "overrides_dir",
           "render_site", "results_csv", "results_json"]

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
                       "method": "#method", "tune": f"#tune-{arg}"}
            return anchors.get(kind) or self.data.get(kind, "")
        base = f"{self.up}{self.pid}/"
        paths = {"program": "index.html", "scheme": f"schemes/{arg}.html", "customers": "customers.html",
                 "method": "method.html", "json": "results.json", "csv": "results.csv", "logo": arg,
                 "tune": f"tune/{arg}.html", "tune_json": "tune.json"}
        if kind in paths:
            return base + paths[kind]
        if kind == "asset":
            return f"{self.up}assets/{arg}"
        if kind == "home":
            return f"{self.up}index.html"
        raise ValueError(f"unknown link kind {kind!r}")


# --- public entry point ----------------------------------------------------------------------

def render_site(results: list[dict], out: Path, *, templates: Path | None = None, self_contained: bool = False,
                docs: dict[str, str] | None = None, sources: dict[str, Path] | None = None,
                tunes: dict[str, dict] | None = None) -> list[Path]:
    """Write the whole site for ``results`` into ``out`` and return the files written, sorted.

    ``tunes`` holds the tune.json of programs that have one (`punchcard tune`), by program id.

    A broken override in ``templates`` (a syntax error, a name the page does not have, a
    file that is not UTF-8) is an error naming the file and line, not a traceback.
    """
    try:
        return _render_site(results, out, templates=templates, self_contained=self_contained,
                            docs=docs, sources=sources, tunes=tunes)
    except (TemplateError, UnicodeDecodeError) as exc:
        if templates is None:
            raise  # a packaged template is broken: a bug, reported as one
        raise template_error(exc, Path(templates)) from None


def template_error(exc: Exception, templates: Path) -> PunchcardError:
    """Return the error for a broken template override: its file and line where known."""
    where, line = str(templates), getattr(exc, "lineno", None)
    name = getattr(exc, "filename", None) or getattr(exc, "name", None)
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if f.filename and Path(f.filename).resolve().is_relative_to(templates.resolve())]
    if frames:
        name, line = frames[-1].filename, frames[-1].lineno
    if name:
        where = str(name) if Path(str(name)).is_absolute() else str(templates / str(name))
    if isinstance(exc, UnicodeDecodeError):
        reason = "the file is not UTF-8 text"
        for path in sorted(p for p in templates.rglob("*") if p.is_file() and p.suffix in (".html", ".j2", ".txt")):
            try:
                path.read_bytes().decode("utf-8")
            except UnicodeDecodeError:
                where = str(path)
                break
    else:
        reason = getattr(exc, "message", None) or str(exc)
    return PunchcardError(
        f"{where}{f': line {line}' if line else ''}: the template cannot be rendered ({reason}). "
        f"Fix: correct it (the names a page offers are in docs/architecture.md), or remove it "
        f"from {templates} to use the packaged one."
    )


def _render_site(results: list[dict], out: Path, *, templates: Path | None, self_contained: bool,
                 docs: dict[str, str] | None, sources: dict[str, Path] | None,
                 tunes: dict[str, dict] | None) -> list[Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    css = (templates_dir() / "assets" / "site.css").read_text(encoding="utf-8")
    if templates and (Path(templates) / "assets" / "site.css").is_file():
        css = (Path(templates) / "assets" / "site.css").read_text(encoding="utf-8")
    written += _write_assets(out, css)
    for res in results:
        source = (sources or {}).get(res["program"]["id"])
        site = Site(res, templates, docs, source, (tunes or {}).get(res["program"]["id"]))
        written += site.write_pages(out)
        if self_contained:  # also, beside the pages (the option's help: "Also write …")
            written.append(site.write_self_contained(out, css))
    written.append(_write_index(out, results, templates, False))
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
        rec = (res.get("decision") or {}).get("recommendation")
        best = next((s for s in res["schemes"] if s["id"] == rec), None)
        pid = res["program"]["id"]
        cards.append({"id": pid, "name": res["program"]["name"],
                      "href": f"{pid}.html" if self_contained else f"{pid}/index.html",
                      "lang": res["program"]["locale"],
                      "best": best["name"] if best else (_("Do nothing") if res["schemes"] else None),
                      "verdict": verdict(best, res, fmt, _) if best else decision_sentence(res, fmt, _),
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
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not epoch:
        return None
    try:
        day = datetime.fromtimestamp(int(epoch), tz=timezone.utc).date()
    except (ValueError, OverflowError, OSError):
        raise PunchcardError(
            f"SOURCE_DATE_EPOCH={epoch[:40]!r} is not a Unix time in whole seconds. Fix: unset "
            "it, or set it to one, e.g. `SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)`."
        ) from None
    return fmt.date(day) if fmt else day.isoformat()


# --- one program -----------------------------------------------------------------------------

class Site:
    """Everything needed to render one program: formatter, environment, charts and page data."""

    def __init__(self, res: dict, templates: Path | None, docs: dict[str, str] | None, source: Path | None,
                 tune: dict | None = None):
        self.res = res
        self.tune = tune
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
        if self.tune is not None:
            (root / "tune").mkdir(exist_ok=True)
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
        files += [root / "results.json", root / "results.csv"]
        if self.tune is not None:
            (root / "tune.json").write_text(results_json(self.tune), encoding="utf-8")
            files.append(root / "tune.json")
        return files

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
                rel, rel.removesuffix(".html").replace("schemes/", "scheme-").replace("tune/", "tune-"))
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
        whole = charts.Whole(self.fmt)
        items = [("index.html", "program.html", 1, {**p.program(), "tuned": program_summary(self.tune, whole, self._)})]
        items += [(f"schemes/{s['id']}.html", "scheme.html", 2, p.scheme(s)) for s in self.schemes]
        for block in (self.tune or {}).get("schemes", []):
            items.append((f"tune/{block['id']}.html", "tune.html", 2,
                          {**tune_page(block, self.tune, whole, self._, self.theme), "sort_script": SORT_SCRIPT}))
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
                "kind_label": lambda k: kind_label(k, self._), "unchecked": self._unchecked(),
                **ctx, **extra}

    def _unchecked(self) -> str | None:
        """Return the note that the report rests on values still marked `# TODO: check`, or None."""
        keys = self.res["program"].get("unchecked") or []
        if not keys:
            return None
        return self._(
            "This report rests on values nobody has checked yet: %(keys)s still carry "
            "“# TODO: check” in the program file (the defaults `punchcard init` wrote). With the "
            "same assumed extra visits for every scheme, the ranking mostly follows cost."
        ) % {"keys": ", ".join(k.split(".", 1)[-1] for k in keys)}

    def _render(self, template: str, ctx: dict, link: Linker, logo: str | None, **extra: Any) -> str:
        """Return one rendered page."""
        return self.env.get_template(template).render(self._context(ctx, link, logo, **extra))



# --- small helpers -----------------------------------------------------------------------------

def _markdown(text: str) -> Markup:
    """Return project markdown as HTML with every heading one level down (the page owns h1)."""
    html = md.markdown(text, extensions=["tables", "fenced_code", "sane_lists"], output_format="html")
    html = re.sub(r"<(/?)h([1-5])\b", lambda m: f"<{m.group(1)}h{int(m.group(2)) + 1}", html)
    return Markup(html)


def _logo_path(logo: str | None, source: Path | None) -> Path | None:
    """Return the logo file (relative to the program file's folder, and inside it once links
    are followed) if it is a regular file there; anything else is never published."""
    if not logo or source is None:
        return None
    real, folder = Path(os.path.realpath(Path(source) / logo)), Path(os.path.realpath(source))
    return real if folder in real.parents and real.is_file() else None


def _mime(path: Path) -> str:
    """Return the MIME type of an image file by its extension."""
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def _data_uri(data: bytes, mime: str) -> str:
    """Return ``data`` as a base64 data: URI."""
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")

"""Message catalogs read at run time from .po files: the site's gettext plumbing.

English is the source language: msgids are the English text and an English locale uses
no catalog. Other languages live in ``locales/<lang>/LC_MESSAGES/messages.po`` and are
read with Babel when a site is rendered (no compile step). A user's own ``<lang>.po``
in an override folder wins string by string; anything missing falls back to the packaged
catalog, then to English. ``python -m punchcard.site.i18n extract`` refreshes
``locales/messages.pot`` from ``templates/`` and ``src/punchcard/**/*.py`` and merges it into
every catalog; ``python -m punchcard.site.i18n init LANG`` starts a new language
(docs/translating.md).

The sentences built from results (verdicts, scheme summaries) live in ``verdicts.py``.
Messages stored in results.json for machines *and* people (build warnings, the reason a
forecast was skipped) are `punchcard.messages.Message` objects: English text plus
``{"msgid", "params"}``, translated at render time by `render_message`.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir, extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from babel.support import NullTranslations, Translations

from punchcard import __version__
from punchcard.messages import N_, Message, message_dict, nmessage  # noqa: F401 - the site's names for them
from punchcard.site.fmt import Formatter, parse_locale

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # src/punchcard
LOCALES_DIR = PACKAGE_DIR / "locales"
POT_FILE = LOCALES_DIR / "messages.pot"
_COMMENT_TAGS = ("Translators:",)
_JINJA = "jinja2.ext:babel_extract"
# gettext's keywords plus the constructors of messages stored in results.json
_KEYWORDS = {**DEFAULT_KEYWORDS, "Message": None, "nmessage": (1, 2)}


class Gettext(Protocol):
    """What the sentence builders need: a translations object (gettext + ngettext)."""

    def gettext(self, message: str) -> str: ...

    def ngettext(self, singular: str, plural: str, n: int) -> str: ...


# -- catalogs -----------------------------------------------------------------------


def catalog_name(locale: str) -> str | None:
    """Return the catalog folder for a locale tag (``nb-NO`` → ``nb``), or None for English."""
    loc = parse_locale(locale)
    if loc.language == "en":
        return None
    for name in _candidates(loc):
        if (LOCALES_DIR / name / "LC_MESSAGES" / "messages.po").exists():
            return name
    return None


def _candidates(loc: Locale) -> list[str]:
    """Return the file stems tried for a locale, most specific first (``pt_BR``, ``pt``)."""
    names = [f"{loc.language}_{loc.territory}"] if loc.territory else []
    return names + [loc.language]


def doc_languages(locale: str) -> list[str]:
    """Return the language names tried for a translated doc, most specific first (``pt_BR``, ``pt``).

    English (the source language) gives an empty list.
    """
    loc = parse_locale(locale)
    return [] if loc.language == "en" else _candidates(loc)


def available_languages() -> list[str]:
    """Return the catalog names shipped with punchcard, sorted (English not included)."""
    return sorted(p.parent.parent.name for p in LOCALES_DIR.glob("*/LC_MESSAGES/messages.po"))


@lru_cache(maxsize=64)
def _read_catalog(path: str, mtime_ns: int, locale: str | None) -> Catalog:
    with open(path, "rb") as fh:
        return read_po(fh, locale=locale)


def read_catalog(path: Path, locale: str | None = None) -> Catalog:
    """Return the parsed .po file (cached until the file changes)."""
    return _read_catalog(str(path), path.stat().st_mtime_ns, locale)


def _to_translations(catalog: Catalog) -> Translations:
    """Return a gettext-compatible object holding a catalog's translated, non-fuzzy strings."""
    buf = io.BytesIO()
    write_mo(buf, catalog)  # skips empty and fuzzy entries, so those fall back
    buf.seek(0)
    return Translations(fp=buf)


@lru_cache(maxsize=64)
def _chain(name: str | None, mtime: int, override: str | None, override_mtime: int) -> NullTranslations:
    result: NullTranslations = NullTranslations()  # English: the msgids themselves
    if name is not None:
        packaged = _to_translations(read_catalog(LOCALES_DIR / name / "LC_MESSAGES" / "messages.po", name))
        packaged.add_fallback(result)
        result = packaged
    if override is not None:
        user = _to_translations(read_catalog(Path(override)))
        user.add_fallback(result)
        result = user
    return result


def override_file(locale: str, override_dir: Path | None) -> Path | None:
    """Return the user's .po for a locale in ``override_dir`` (``nb_NO.po``, ``nb-NO.po`` or ``nb.po``)."""
    if override_dir is None:
        return None
    loc = parse_locale(locale)
    stems = _candidates(loc)
    stems.insert(1, stems[0].replace("_", "-"))
    for stem in stems:
        path = Path(override_dir) / f"{stem}.po"
        if path.is_file():
            return path
    return None


def has_site_text(locale: str, templates: Path | None = None) -> bool:
    """Return whether a site in ``locale`` has words in its language: English, a shipped
    catalog, or a ``locales/<lang>.po`` in the ``--templates`` folder."""
    if parse_locale(locale).language == "en" or catalog_name(locale) is not None:
        return True
    return override_file(locale, Path(templates) / "locales" if templates else None) is not None


def translations(locale: str, override_dir: Path | None = None) -> NullTranslations:
    """Return the translations for a locale: user override, then packaged catalog, then English."""
    name, user = catalog_name(locale), override_file(locale, override_dir)
    mtime = (LOCALES_DIR / name / "LC_MESSAGES" / "messages.po").stat().st_mtime_ns if name else 0
    return _chain(name, mtime, str(user) if user else None, user.stat().st_mtime_ns if user else 0)


def install(env: Any, locale: str, override_dir: Path | None = None) -> Callable[[str], str]:
    """Install a locale's gettext callables (newstyle, trimmed) into Jinja2; return its gettext."""
    if "jinja2.ext.InternationalizationExtension" not in env.extensions:
        env.add_extension("jinja2.ext.i18n")
    env.policies["ext.i18n.trimmed"] = True  # extraction trims too, so msgids match
    tr = translations(locale, override_dir)
    env.install_gettext_translations(tr, newstyle=True)
    return tr.gettext  # plain gettext for Python code; ngettext is reachable via __self__


# -- extraction ---------------------------------------------------------------------


def _templates_dir() -> Path:
    from punchcard.site.resources import templates_dir

    return templates_dir()


def extract_messages(templates: Path | None = None, sources: Path | None = None) -> Catalog:
    """Return a template catalog of every msgid in ``templates/*.html`` and ``src/punchcard/**/*.py``."""
    templates = templates or _templates_dir()
    sources = sources or PACKAGE_DIR
    root = sources.parent.parent
    catalog = Catalog(project="punchcard", version=__version__, charset="utf-8",
                      msgid_bugs_address="", copyright_holder="punchcard contributors",
                      creation_date=datetime.now(timezone.utc))

    def add(path: Path, lineno: int, message: str | tuple, comments: list[str], context: str | None) -> None:
        try:
            where = path.resolve().relative_to(root).as_posix()
        except ValueError:
            where = path.name
        catalog.add(message, None, [(where, lineno)], auto_comments=comments, context=context)

    if templates.is_dir():
        found = extract_from_dir(templates, [("**.html", _JINJA)],
                                 {"**.html": {"trimmed": "true"}}, _KEYWORDS, _COMMENT_TAGS,
                                 strip_comment_tags=True)
        for filename, lineno, message, comments, context in found:
            add(templates / filename, lineno, message, comments, context)
    for path in sorted(sources.rglob("*.py")):
        for lineno, message, comments, context in extract_from_file(
                "python", path, _KEYWORDS, _COMMENT_TAGS, strip_comment_tags=True):
            add(path, lineno, message, comments, context)
    return catalog


def _write(catalog: Catalog, path: Path) -> None:
    """Write a .po/.pot file, leaving it untouched when only its creation date would change."""
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    write_po(buf, catalog, width=88, include_lineno=False, sort_output=True)
    new = buf.getvalue()
    if path.exists() and _undated(path.read_bytes()) == _undated(new):
        return
    path.write_bytes(new)


def _undated(content: bytes) -> bytes:
    return b"\n".join(line for line in content.split(b"\n") if not line.startswith(b'"POT-Creation-Date:'))


def extract(templates: Path | None = None) -> dict[str, int]:
    """Rewrite messages.pot and merge it into every catalog; return untranslated counts."""
    template = extract_messages(templates)
    _write(template, POT_FILE)
    counts = {}
    for name in available_languages():
        po = LOCALES_DIR / name / "LC_MESSAGES" / "messages.po"
        with open(po, "rb") as fh:
            catalog = read_po(fh, locale=name)
        catalog.update(template, update_creation_date=False)
        _write(catalog, po)
        counts[name] = len(untranslated(name.replace("_", "-"), [m.id for m in template if m.id]))
    return counts


def init_language(lang: str) -> Path:
    """Create ``locales/<lang>/LC_MESSAGES/messages.po`` from messages.pot and return its path."""
    po = LOCALES_DIR / lang / "LC_MESSAGES" / "messages.po"
    if po.exists():
        raise FileExistsError(f"{po} already exists; run `python -m punchcard.site.i18n extract` to update it")
    with open(POT_FILE, "rb") as fh:
        catalog = read_po(fh, locale=lang)
    catalog.revision_date = datetime.now(timezone.utc)
    _write(catalog, po)
    return po


def untranslated(locale: str, msgids: Iterable[str | tuple] | None = None) -> list[str]:
    """Return the msgids (singular text) that a locale's catalog leaves untranslated or fuzzy."""
    if parse_locale(locale).language == "en":
        return []
    if msgids is None:
        msgids = [m.id for m in extract_messages() if m.id]
    name = catalog_name(locale)
    catalog = read_catalog(LOCALES_DIR / name / "LC_MESSAGES" / "messages.po", name) if name else None
    missing = []
    for msgid in msgids:
        message = catalog.get(msgid) if catalog is not None else None
        strings = [] if message is None else (
            message.string if isinstance(message.string, (list, tuple)) else [message.string])
        if message is None or message.fuzzy or not strings or not all(strings):
            missing.append(msgid[0] if isinstance(msgid, tuple) else msgid)
    return sorted(set(missing))


# -- gettext helpers ---------------------------------------------------------------


class _Adapter:
    """Gives a bare gettext callable the ngettext the sentence builders need."""

    def __init__(self, gettext: Callable[[str], str]) -> None:
        self.gettext = gettext

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.gettext(singular if n == 1 else plural)


def as_translations(_: Gettext | Callable[[str], str]) -> Gettext:
    """Accept a translations object or its bound ``gettext`` and return an object with both."""
    if hasattr(_, "ngettext"):
        return _  # type: ignore[return-value]
    owner = getattr(_, "__self__", None)
    if owner is not None and hasattr(owner, "ngettext"):
        return owner
    return _Adapter(_)



def render_message(message: dict | str | None, fmt: Formatter, _: Gettext | Callable[[str], str]) -> str:
    """Return a stored message translated, its numbers formatted by ``fmt``.

    ``message`` is the structured form ``{"msgid", "params"[, "plural"]}``; a plain string
    (results.json from an older punchcard) is returned as it is. Parameters that are
    themselves messages are translated too; lists are joined with the locale's commas;
    whole numbers print without decimals, other numbers with one.
    """
    if message is None:
        return ""
    if isinstance(message, str):
        return message
    tr = as_translations(_)
    params = {k: _param(v, fmt, tr) for k, v in (message.get("params") or {}).items()}
    msgid, plural = message.get("msgid") or "", message.get("plural")
    if plural:
        n = (message.get("params") or {}).get("n", 0)
        text = tr.ngettext(msgid, plural, int(n) if isinstance(n, (int, float)) else 0)
    else:
        text = tr.gettext(msgid)
    return text % params if params else text


def _param(value: Any, fmt: Formatter, tr: Gettext) -> str:
    if isinstance(value, dict) and "msgid" in value:
        return render_message(value, fmt, tr)
    if isinstance(value, list):
        return ", ".join(_param(v, fmt, tr) for v in value)
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return fmt.number(value)
    if isinstance(value, float):
        return fmt.number(value, 1)
    return str(value)


# -- command line ----------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run ``extract`` (refresh .pot and .po files) or ``init LANG`` (start a language)."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["extract"]:
        for name, count in extract().items():
            print(f"{name}: {count} untranslated")
        print(f"wrote {POT_FILE}")
        return 0
    if args[:1] == ["init"] and len(args) == 2:
        print(f"wrote {init_language(args[1])}")
        return 0
    print("usage: python -m punchcard.site.i18n extract | init LANG", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())

"""Message catalogs read at run time from .po files, plus the site's plain-language sentences.

English is the source language: msgids are the English text and an English locale uses
no catalog. Other languages live in ``locales/<lang>/LC_MESSAGES/messages.po`` and are
read with Babel when a site is rendered (no compile step). A user's own ``<lang>.po``
in an override folder wins string by string; anything missing falls back to the packaged
catalog, then to English. ``python -m punchcard.i18n extract`` refreshes
``locales/messages.pot`` from ``templates/`` and ``src/punchcard/*.py`` and merges it into
every catalog; ``python -m punchcard.i18n init LANG`` starts a new language
(docs/translating.md).

Sentences built here (verdicts, scheme summaries) are whole translated sentences with
named placeholders, never glued fragments, so each language can order them its own way.
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
from babel.lists import format_list
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir, extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from babel.support import NullTranslations, Translations

from punchcard import __version__
from punchcard.fmt import Formatter, parse_locale

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
POT_FILE = LOCALES_DIR / "messages.pot"
_COMMENT_TAGS = ("Translators:",)
_JINJA = "jinja2.ext:babel_extract"
# The highest visit lift the forecast searches for a break-even (forecast.py, results.md).
BREAK_EVEN_MAX_LIFT = 2.0


class Gettext(Protocol):
    """What the sentence builders need: a translations object (gettext + ngettext)."""

    def gettext(self, message: str) -> str: ...

    def ngettext(self, singular: str, plural: str, n: int) -> str: ...


def N_(message: str) -> str:
    """Return the message unchanged; marks a string for extraction only."""
    return message


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
    from punchcard.resources import templates_dir

    return templates_dir()


def extract_messages(templates: Path | None = None, sources: Path | None = None) -> Catalog:
    """Return a template catalog of every msgid in ``templates/*.html`` and ``src/punchcard/*.py``."""
    templates = templates or _templates_dir()
    sources = sources or Path(__file__).resolve().parent
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
                                 {"**.html": {"trimmed": "true"}}, DEFAULT_KEYWORDS, _COMMENT_TAGS,
                                 strip_comment_tags=True)
        for filename, lineno, message, comments, context in found:
            add(templates / filename, lineno, message, comments, context)
    for path in sorted(sources.glob("*.py")):
        for lineno, message, comments, context in extract_from_file(
                "python", path, DEFAULT_KEYWORDS, _COMMENT_TAGS, strip_comment_tags=True):
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
        raise FileExistsError(f"{po} already exists; run `python -m punchcard.i18n extract` to update it")
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


# -- plain-language sentences ---------------------------------------------------------


class _Adapter:
    """Gives a bare gettext callable the ngettext the sentence builders need."""

    def __init__(self, gettext: Callable[[str], str]) -> None:
        self.gettext = gettext

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.gettext(singular if n == 1 else plural)


def _as_translations(_: Gettext | Callable[[str], str]) -> Gettext:
    """Accept a translations object or its bound ``gettext`` and return an object with both."""
    if hasattr(_, "ngettext"):
        return _  # type: ignore[return-value]
    owner = getattr(_, "__self__", None)
    if owner is not None and hasattr(owner, "ngettext"):
        return owner
    return _Adapter(_)


def _share(fmt: Formatter, x: float | None) -> str:
    """Return a percentage with one decimal below 10 % and none above (``2,1 %``, ``38 %``)."""
    if x is None:
        return fmt.percent(None)
    return fmt.percent(x, 1 if abs(x) < 0.1 and round(x * 100, 1) != round(x * 100) else 0)


def _money(fmt: Formatter, x: float | None) -> str:
    """Return money with decimals only when the amount has them (``49 kr``, ``12,50 kr``)."""
    if x is None:
        return fmt.money(None)
    return fmt.money(x, 0 if float(x).is_integer() else None)


_KINDS = {
    "stamp_card": N_("Stamp card"),
    "points": N_("Points"),
    "tiers": N_("Tiers"),
    "member_discount": N_("Member discount"),
    "welcome_offer": N_("Welcome offer"),
    "birthday": N_("Birthday reward"),
    "coupons": N_("Coupons"),
    "perks": N_("Perks"),
}


def kind_label(kind: str, _: Gettext | Callable[[str], str]) -> str:
    """Return the translated name of a scheme kind (``stamp_card`` → ``Stamp card``)."""
    tr = _as_translations(_)
    return tr.gettext(_KINDS[kind]) if kind in _KINDS else kind


def _visit_lift(scheme: dict, program: dict) -> dict | None:
    """Return the scheme's visit-lift assumption (its own, else the program's) as a range dict."""
    program = program.get("program", program)  # accept the whole results dict too
    for source in (scheme.get("assumptions") or {}, program.get("assumptions") or {}):
        value = source.get("visit_lift")
        if isinstance(value, dict):
            return value
        if isinstance(value, (int, float)):
            return {"low": value, "likely": value, "high": value}
    return None


def verdict(scheme: dict, program: dict, fmt: Formatter, _: Gettext | Callable[[str], str]) -> str:
    """Return the one-sentence verdict on a scheme from its figures in the results dict."""
    tr = _as_translations(_)
    backtest = scheme.get("backtest") or {}
    forecast = scheme.get("forecast") or None
    perks = scheme.get("kind") == "perks"
    reached = backtest.get("rewarded_within_year_share")
    if reached is None:
        reached = backtest.get("rewarded_share")
    values = {"cost_share": _share(fmt, backtest.get("cost_share_of_revenue")),
              "reached": _share(fmt, reached)}
    if not forecast:
        if perks:
            text = tr.gettext("Would have cost %(cost_share)s of revenue and gives no rewards; "
                              "without a forecast we cannot say whether the extra visits it "
                              "brings would pay for it.")
        else:
            text = tr.gettext("Would have cost %(cost_share)s of revenue, and %(reached)s of your "
                              "customers would have earned a reward within a year; without a "
                              "forecast we cannot say whether it pays for itself.")
        return text % values
    break_even = forecast.get("break_even_visit_lift")
    mean = (forecast.get("net_impact") or {}).get("mean") or 0.0
    lift = _visit_lift(scheme, program)
    if break_even is not None and break_even > 0 and lift is not None:
        values.update(break_even=_share(fmt, break_even), low=_share(fmt, lift["low"]),
                      high=_share(fmt, lift["high"]), assumed=_share(fmt, lift["likely"]))
        ranged = lift["low"] != lift["high"]
        if perks and ranged:
            text = tr.gettext("Costs %(cost_share)s of revenue and gives no rewards; pays for "
                              "itself if members visit %(break_even)s more often — the range we "
                              "assumed is %(low)s–%(high)s.")
        elif perks:
            text = tr.gettext("Costs %(cost_share)s of revenue and gives no rewards; pays for "
                              "itself if members visit %(break_even)s more often — we assumed "
                              "%(assumed)s.")
        elif ranged:
            text = tr.gettext("Costs %(cost_share)s of revenue; %(reached)s of your customers "
                              "would earn a reward within a year; pays for itself if members visit "
                              "%(break_even)s more often — the range we assumed is %(low)s–%(high)s.")
        else:
            text = tr.gettext("Costs %(cost_share)s of revenue; %(reached)s of your customers "
                              "would earn a reward within a year; pays for itself if members visit "
                              "%(break_even)s more often — we assumed %(assumed)s.")
        return text % values
    if (break_even is not None and break_even <= 0) or (break_even is None and mean > 0):
        chance = round(10 * (forecast.get("probability_positive") or 0.0))
        values["chance"] = fmt.number(chance)
        if perks:
            text = tr.gettext("Costs %(cost_share)s of revenue and gives no rewards; pays for "
                              "itself even if members visit no more often than today, and comes "
                              "out ahead in %(chance)s of 10 simulated futures.")
        else:
            text = tr.gettext("Costs %(cost_share)s of revenue; %(reached)s of your customers "
                              "would earn a reward within a year; pays for itself even if members "
                              "visit no more often than today, and comes out ahead in %(chance)s "
                              "of 10 simulated futures.")
        return text % values
    values["max_lift"] = fmt.percent(BREAK_EVEN_MAX_LIFT, 0)
    if perks:
        text = tr.gettext("Costs %(cost_share)s of revenue and gives no rewards; does not pay for "
                          "itself even if members visited %(max_lift)s more often.")
    else:
        text = tr.gettext("Costs %(cost_share)s of revenue; %(reached)s of your customers would "
                          "earn a reward within a year; does not pay for itself even if members "
                          "visited %(max_lift)s more often.")
    return text % values


def scheme_summary(scheme: dict, fmt: Formatter, _: Gettext | Callable[[str], str]) -> str:
    """Return the scheme as configured, in words ("Buy 9, get the next one free (worth 49 kr).")."""
    tr = _as_translations(_)
    params = scheme.get("params") or {}
    build = _SUMMARIES.get(scheme.get("kind", ""))
    if build is None:
        return ""
    return " ".join(s for s in build(params, fmt, tr) if s)


def _n(text: str, n: float, fmt: Formatter) -> str:
    """Return a sentence chosen by ngettext with its count ``%(n)s`` filled in."""
    return text % {"n": fmt.number(n)}


def _stamp_card(p: dict, fmt: Formatter, tr: Gettext) -> list[str]:
    reward = p.get("reward") or {}
    stamps = int(p.get("stamps", 0))
    item = reward.get("type", "item") == "item"
    values = {"stamps": fmt.number(stamps), "value": _money(fmt, reward.get("value")),
              "threshold": _money(fmt, stamps)}
    counter = p.get("counter", "visits")
    if counter == "items" and item:
        first = tr.ngettext("Buy %(stamps)s item, get the next one free (worth %(value)s).",
                            "Buy %(stamps)s items, get the next one free (worth %(value)s).", stamps)
    elif counter == "items":
        first = tr.ngettext("Buy %(stamps)s item, get %(value)s off the next purchase.",
                            "Buy %(stamps)s items, get %(value)s off the next purchase.", stamps)
    elif counter == "spend" and item:
        first = tr.gettext("Spend %(threshold)s in total, get a free item worth %(value)s.")
    elif counter == "spend":
        first = tr.gettext("Spend %(threshold)s in total, get %(value)s off the next purchase.")
    elif item:
        first = tr.gettext("Buy %(stamps)s, get the next one free (worth %(value)s).")
    else:
        first = tr.gettext("Buy %(stamps)s, get %(value)s off the next purchase.")
    out = [first % values]
    if p.get("min_purchase"):
        out.append(tr.gettext("Purchases under %(min)s do not count.") % {"min": _money(fmt, p["min_purchase"])})
    if p.get("head_start"):
        n = int(p["head_start"])
        out.append(_n(tr.ngettext("New cards start with %(n)s stamp already filled in.",
                                  "New cards start with %(n)s stamps already filled in.", n), n, fmt))
    if p.get("expiry_days") is None:
        out.append(tr.gettext("Rewards never expire."))
    else:
        n = int(p["expiry_days"])
        out.append(_n(tr.ngettext("A reward must be used within %(n)s day.",
                                  "A reward must be used within %(n)s days.", n), n, fmt))
    return out


def _tier_list(tiers: list[dict], fmt: Formatter, tr: Gettext, multiplier: bool) -> str:
    if multiplier:
        items = [tr.gettext("%(name)s from %(min_spend)s: points ×%(multiplier)s") % {
            "name": t["name"], "min_spend": _money(fmt, t.get("min_spend", 0)),
            "multiplier": fmt.number(t.get("multiplier", 1), 0 if float(t.get("multiplier", 1)).is_integer() else 1)}
            for t in tiers]
    else:
        items = [tr.gettext("%(name)s from %(min_spend)s: %(discount)s off") % {
            "name": t["name"], "min_spend": _money(fmt, t.get("min_spend", 0)),
            "discount": _share(fmt, t.get("discount", 0))} for t in tiers]
    return format_list(items, locale=fmt.locale)


def _window(p: dict, fmt: Formatter, tr: Gettext) -> str:
    months = int(p.get("window_months", 12))
    return tr.ngettext("Tiers follow what a member spent over the last %(n)s month.",
                       "Tiers follow what a member spent over the last %(n)s months.",
                       months) % {"n": fmt.number(months)}


def _points(p: dict, fmt: Formatter, tr: Gettext) -> list[str]:
    rate = p.get("earn_per_unit", 0) * p.get("point_value", 0)
    threshold = p.get("min_redeem", 0) * p.get("point_value", 0)
    out = [tr.gettext("Members collect points worth %(rate)s of what they spend and can use them as "
                      "a discount once they have %(threshold)s saved up.")
           % {"rate": _share(fmt, rate), "threshold": _money(fmt, threshold)}]
    if p.get("min_purchase"):
        out.append(tr.gettext("Purchases under %(min)s earn no points.") % {"min": _money(fmt, p["min_purchase"])})
    if p.get("expiry_months"):
        months = int(p["expiry_months"])
        out.append(tr.ngettext("Points lapse after %(n)s month without a purchase.",
                               "Points lapse after %(n)s months without a purchase.",
                               months) % {"n": fmt.number(months)})
    if p.get("tiers"):
        out.append(tr.gettext("Higher tiers earn points faster: %(tiers)s.")
                   % {"tiers": _tier_list(p["tiers"], fmt, tr, multiplier=True)})
        out.append(_window(p, fmt, tr))
    return out


def _tiers(p: dict, fmt: Formatter, tr: Gettext) -> list[str]:
    tiers = p.get("tiers") or []
    out = [tr.gettext("The more members spend, the bigger their discount: %(tiers)s.")
           % {"tiers": _tier_list(tiers, fmt, tr, multiplier=False)}, _window(p, fmt, tr)]
    perk = max((t.get("perk_cost_year", 0) for t in tiers), default=0)
    if perk:
        out.append(tr.gettext("Tier perks cost up to %(cost)s per member a year.") % {"cost": _money(fmt, perk)})
    return out


def _member_discount(p: dict, fmt: Formatter, tr: Gettext) -> list[str]:
    values = {"rate": _share(fmt, p.get("rate", 0))}
    if not p.get("cashback"):
        return [tr.gettext("Members get %(rate)s off every purchase.") % values]
    out = [tr.gettext("Members get %(rate)s of every purchase back as credit for their next visit.") % values]
    if p.get("expiry_days") is not None:
        n = int(p["expiry_days"])
        out.append(_n(tr.ngettext("Credit must be used within %(n)s day.",
                                  "Credit must be used within %(n)s days.", n), n, fmt))
    return out


def _welcome_offer(p: dict, fmt: Formatter, tr: Gettext) -> list[str]:
    values = {"value": _money(fmt, p.get("value")), "min": _money(fmt, p.get("min_purchase"))}
    if p.get("type", "discount") == "item":
        out = [tr.gettext("New customers get a free item worth %(value)s on their second visit.") % values]
    else:
        out = [tr.gettext("New customers get %(value)s off their second purchase.") % values]
    if p.get("min_purchase"):
        out.append(tr.gettext("Only a first purchase of at least %(min)s qualifies.") % values)
    if p.get("expiry_days") is not None:
        n = int(p["expiry_days"])
        out.append(_n(tr.ngettext("The voucher must be used within %(n)s day.",
                                  "The voucher must be used within %(n)s days.", n), n, fmt))
    return out


def _birthday(p: dict, fmt: Formatter, tr: Gettext) -> list[str]:
    values = {"value": _money(fmt, p.get("value"))}
    if p.get("type", "discount") == "item":
        out = [tr.gettext("Members get a birthday treat worth %(value)s.") % values]
    else:
        out = [tr.gettext("Members get %(value)s off around their birthday.") % values]
    n = int(p.get("window_days", 30))
    out.append(_n(tr.ngettext("The voucher must be used within %(n)s day of the birthday.",
                              "The voucher must be used within %(n)s days of the birthday.", n), n, fmt))
    return out


def _coupons(p: dict, fmt: Formatter, tr: Gettext) -> list[str]:
    offer = _share(fmt, p["rate"]) if p.get("rate") is not None else _money(fmt, p.get("value"))
    every, active, valid = (int(p.get(k, 1)) for k in ("every_days", "active_days", "valid_days"))
    return [tr.ngettext("Every day, members who shopped recently get a coupon for %(offer)s off.",
                        "Every %(n)s days, members who shopped recently get a coupon for %(offer)s off.",
                        every) % {"n": fmt.number(every), "offer": offer},
            _n(tr.ngettext("Only members who shopped in the last %(n)s day get one.",
                           "Only members who shopped in the last %(n)s days get one.", active), active, fmt),
            _n(tr.ngettext("Each coupon is valid for %(n)s day.",
                           "Each coupon is valid for %(n)s days.", valid), valid, fmt)]


def _perks(p: dict, fmt: Formatter, tr: Gettext) -> list[str]:
    out = [tr.gettext("No rewards: members get perks such as early access to sales and member events.")]
    if p.get("cost_per_member_year"):
        out.append(tr.gettext("The perks cost %(cost)s per member a year.")
                   % {"cost": _money(fmt, p["cost_per_member_year"])})
    if p.get("events_per_year") and p.get("cost_per_event"):
        events = float(p["events_per_year"])
        out.append(tr.gettext("Member events: %(events)s a year at %(cost)s each.")
                   % {"events": fmt.number(events, 0 if events.is_integer() else 1),
                      "cost": _money(fmt, p["cost_per_event"])})
    return out


_SUMMARIES: dict[str, Callable[[dict, Formatter, Gettext], list[str]]] = {
    "stamp_card": _stamp_card, "points": _points, "tiers": _tiers,
    "member_discount": _member_discount, "welcome_offer": _welcome_offer,
    "birthday": _birthday, "coupons": _coupons, "perks": _perks,
}


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
    print("usage: python -m punchcard.i18n extract | init LANG", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())

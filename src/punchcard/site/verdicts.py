"""The site's plain-language sentences: the one-sentence verdict per scheme and the summary
of a scheme as configured ("Buy 9, get the next one free (worth 49 kr).").

Every sentence is a whole translated sentence with named placeholders, never glued
fragments, so each language can order it its own way; the figures arrive formatted by the
locale's `Formatter`. The catalog plumbing (reading .po files, extraction) is `i18n.py`.
"""

from __future__ import annotations

from collections.abc import Callable

from babel.lists import format_list

from punchcard.messages import N_
from punchcard.program import kinds
from punchcard.results import forecast_off_by
from punchcard.schemes.words import money as _money
from punchcard.schemes.words import share as _share
from punchcard.site.fmt import Formatter
from punchcard.site.i18n import Gettext
from punchcard.site.i18n import as_translations as _as_translations

# The highest visit lift the forecast searches for a break-even (scenarios.py, results.md).
BREAK_EVEN_MAX_LIFT = 2.0


def kind_label(kind: str, _: Gettext | Callable[[str], str]) -> str:
    """Return the translated name of a scheme kind (``stamp_card`` → ``Stamp card``)."""
    tr = _as_translations(_)
    known = kinds()
    return tr.gettext(known[kind].label) if kind in known else kind


def _visit_lift(scheme: dict, program: dict) -> dict | None:
    """Return the scheme's visit-lift assumption (its own, else the program's) as a range dict."""
    program = program.get("program", program)  # accept the whole results dict too
    for source in (scheme.get("assumptions") or {}, program.get("assumptions") or {}):
        value = source.get("visit_lift")
        if isinstance(value, dict) and "light" in value:  # per segment: the average of the three
            parts = [value[k] for k in ("light", "medium", "heavy")]
            return {e: sum(p[e] for p in parts) / 3.0 for e in ("low", "likely", "high")}
        if isinstance(value, dict):
            return value
        if isinstance(value, (int, float)):
            return {"low": value, "likely": value, "high": value}
    return None


def verdict(scheme: dict, program: dict, fmt: Formatter, _: Gettext | Callable[[str], str]) -> str:
    """Return the verdict on a scheme; one resting on a forecast that failed its holdout check says so."""
    text = _verdict_sentence(scheme, program, fmt, _)
    model = program.get("model") if isinstance(program, dict) else None
    err = forecast_off_by(model)
    if scheme.get("forecast") and err is not None:
        tr = _as_translations(_)
        text += " " + (tr.gettext("Careful: the forecast behind this predicted %(error)s more purchases than "
                                  "customers really made in the holdout check, so treat it as a rough guide.")
                       if err > 0 else
                       tr.gettext("Careful: the forecast behind this predicted %(error)s fewer purchases than "
                                  "customers really made in the holdout check, so treat it as a rough guide.")
                       ) % {"error": fmt.percent(abs(err))}
    forecast = scheme.get("forecast") or None
    if not forecast:
        return text
    # then what the reward cost pays for: the deadweight, which way displacement moves it, and
    # how much of the answer new customers make
    return " ".join(t for t in (text, deadweight_sentence(forecast, fmt, _),
                                displacement_sentence(forecast, fmt, _),
                                new_customers_sentence(forecast, model, fmt, _)) if t)


def new_customers_sentence(fc: dict, model: dict | None, fmt: Formatter, _: Gettext | Callable[[str], str]) -> str:
    """Return how much of the expected net impact comes from new customers ("" when none are simulated)."""
    new = fc.get("from_new_customers")
    if new is None or not ((model or {}).get("new_customers") or {}).get("expected"):
        return ""
    tr = _as_translations(_)
    net = (fc.get("net_impact") or {}).get("mean") or 0.0
    return tr.gettext("Of its expected net impact, %(new)s comes from new customers and %(old)s from today's "
                      "customers (who also carry the setup and monthly costs).") % {
        "new": fmt.money(new, 0), "old": fmt.money(net - new, 0)}


def _verdict_sentence(scheme: dict, program: dict, fmt: Formatter, _: Gettext | Callable[[str], str]) -> str:
    """Return the one-sentence verdict on a scheme from its figures in the results dict."""
    tr = _as_translations(_)
    backtest = scheme.get("backtest") or {}
    forecast = scheme.get("forecast") or None
    known = kinds()
    perks = scheme.get("kind") in known and not known[scheme["kind"]].gives_rewards
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
                              "customers would have used a reward within a year; without a "
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
                              "itself if members visit %(break_even)s more often (the other "
                              "assumptions at their likely values) — the range we assumed is %(low)s–%(high)s.")
        elif perks:
            text = tr.gettext("Costs %(cost_share)s of revenue and gives no rewards; pays for "
                              "itself if members visit %(break_even)s more often (the other "
                              "assumptions at their likely values) — we assumed %(assumed)s.")
        elif ranged:
            text = tr.gettext("Costs %(cost_share)s of revenue; %(reached)s of your customers "
                              "would use a reward within a year; pays for itself if members visit "
                              "%(break_even)s more often (the other assumptions at their likely values) — the range we "
                              "assumed is %(low)s–%(high)s.")
        else:
            text = tr.gettext("Costs %(cost_share)s of revenue; %(reached)s of your customers "
                              "would use a reward within a year; pays for itself if members visit "
                              "%(break_even)s more often (the other assumptions at their likely values) — we "
                              "assumed %(assumed)s.")
        return text % values
    probability = forecast.get("probability_positive") or 0.0
    values["chance"] = fmt.number(round(10 * probability))
    # Each claim only where every figure beside it agrees (a property test holds them to it):
    # "pays for itself" needs a gain on average, in most futures, and no visit lift needed;
    # "does not pay" a loss on average, in most futures, and no break-even lift found.
    ahead = mean > 0 and probability >= 0.5 and (break_even is None or break_even <= 0)
    behind = mean <= 0 and probability < 0.5 and break_even is None
    if ahead:
        if perks:
            text = tr.gettext("Costs %(cost_share)s of revenue and gives no rewards; pays for "
                              "itself even if members visit no more often than today, and comes "
                              "out ahead in %(chance)s of 10 simulated futures under the ranges you gave.")
        else:
            text = tr.gettext("Costs %(cost_share)s of revenue; %(reached)s of your customers "
                              "would use a reward within a year; pays for itself even if members "
                              "visit no more often than today, and comes out ahead in %(chance)s "
                              "of 10 simulated futures under the ranges you gave.")
        return text % values
    if behind:
        values["max_lift"] = fmt.percent(BREAK_EVEN_MAX_LIFT, 0)
        if perks:
            text = tr.gettext("Costs %(cost_share)s of revenue and gives no rewards; does not pay for "
                              "itself even if members visited %(max_lift)s more often.")
        else:
            text = tr.gettext("Costs %(cost_share)s of revenue; %(reached)s of your customers would "
                              "use a reward within a year; does not pay for itself even if members "
                              "visited %(max_lift)s more often.")
        return text % values
    # The figures disagree with each other (a break-even at or below today's visits beside
    # a loss; a mean and most futures on different sides of zero): say only what they show.
    if perks:
        text = tr.gettext("Costs %(cost_share)s of revenue and gives no rewards; comes out "
                          "ahead in %(chance)s of 10 simulated futures under the ranges you gave.")
    else:
        text = tr.gettext("Costs %(cost_share)s of revenue; %(reached)s of your customers "
                          "would use a reward within a year; comes out ahead in %(chance)s "
                          "of 10 simulated futures under the ranges you gave.")
    return text % values


def deadweight_sentence(fc: dict, fmt: Formatter, _: Gettext | Callable[[str], str]) -> str:
    """Return how much of the forecast reward cost pays for purchases that happen anyway ("" without one)."""
    share = fc.get("deadweight_share")
    if share is None:
        return ""
    tr = _as_translations(_)
    return tr.gettext("%(share)s of its reward cost (%(anyway)s of %(total)s) would pay for purchases that "
                      "happen anyway.") % {"share": fmt.percent(share, 0),
                                            "anyway": fmt.money(fc.get("reward_cost_on_baseline"), 0),
                                            "total": fmt.money(fc.get("reward_cost"), 0)}


def displacement_sentence(fc: dict, fmt: Formatter, _: Gettext | Callable[[str], str]) -> str:
    """Return how the share of free items that replace a paid one moves the answer ("" when it cannot)."""
    row = next((r for r in fc.get("tornado") or [] if r.get("assumption") == "displacement"), None)
    if row is None:
        return ""
    tr = _as_translations(_)
    values = {"low": fmt.percent(row["low"], 0), "high": fmt.percent(row["high"], 0),
              "at_low": fmt.money(row["at_low"], 0), "at_high": fmt.money(row["at_high"], 0)}
    text = tr.gettext("If %(low)s of the free items replace one the customer would have paid for, the expected "
                      "net impact is %(at_low)s; if %(high)s do, %(at_high)s.") % values
    # which way it moves the answer: more free items replacing a paid one always cost more; the
    # answer (does it beat doing nothing?) is sensitive to it when the two ends fall either side of zero
    if (row["at_low"] > 0) != (row["at_high"] > 0):
        return text + " " + tr.gettext("The answer depends on it: the scheme pays only if few enough free items "
                                       "replace a purchase.")
    if row["at_low"] > 0:
        return text + " " + tr.gettext("The more free items replace a purchase, the less it earns, but it pays "
                                       "either way: the answer does not depend on it.")
    return text + " " + tr.gettext("The more free items replace a purchase, the more it loses, and it does not "
                                   "pay either way: the answer does not depend on it.")


def spread_sentence(fc: dict | None, fmt: Formatter, _: Gettext | Callable[[str], str]) -> str:
    """Return where the spread of net impact comes from: the ranges given, or chance ("" when unknown)."""
    spread = (fc or {}).get("spread") or {}
    if spread.get("chance") is None:
        return ""
    tr = _as_translations(_)
    return tr.gettext("About %(assumptions)s of the spread in net impact comes from the ranges you gave and "
                      "%(chance)s from chance: who joins and when they buy, which no assumption settles.") % {
        "assumptions": fmt.percent(spread["assumptions"], 0), "chance": fmt.percent(spread["chance"], 0)}


def decision_sentence(res: dict, fmt: Formatter, _: Gettext | Callable[[str], str]) -> str:
    """Return the answer in one or two sentences: the scheme to run, or why none beats doing nothing."""
    tr = _as_translations(_)
    decision = res.get("decision") or {}
    schemes = {s["id"]: s for s in res.get("schemes") or []}
    rec = decision.get("recommendation")
    if rec in schemes and schemes[rec].get("forecast"):
        s = schemes[rec]
        fc = s["forecast"]
        return tr.gettext("Our answer: run %(name)s. Its expected net impact is %(net)s over the next "
                          "%(months)s months, above doing nothing, and it comes out ahead in %(chance)s of "
                          "the simulated futures under the ranges you gave.") % {
            "name": s["name"], "net": fmt.money(fc["net_impact"]["mean"], 0),
            "months": fmt.number(fc.get("horizon_months", 12)),
            "chance": fmt.percent(fc.get("probability_positive") or 0.0, 0)}
    forecasted = [s for s in schemes.values() if s.get("forecast")]
    if not forecasted:
        return tr.gettext("Without a forecast no scheme can be shown to pay for itself; doing nothing costs "
                          "nothing.")
    best = min(forecasted, key=lambda s: (-s["forecast"]["net_impact"]["mean"], s["id"]))
    be = best["forecast"].get("break_even_visit_lift")
    values = {"name": best["name"], "net": fmt.money(best["forecast"]["net_impact"]["mean"], 0)}
    if be is None:
        values["max_lift"] = fmt.percent(BREAK_EVEN_MAX_LIFT, 0)
        return tr.gettext("Our answer: none of these schemes pays for itself under your assumptions, so doing "
                          "nothing is better. Even the best of them, %(name)s (expected %(net)s), would not pay "
                          "if members visited %(max_lift)s more often.") % values
    values["break_even"] = _share(fmt, be)
    return tr.gettext("Our answer: none of these schemes pays for itself under your assumptions, so doing "
                      "nothing is better. The best of them, %(name)s (expected %(net)s), would pay for itself if "
                      "members visited %(break_even)s more often, with the other assumptions at their likely "
                      "values.") % values


def scheme_summary(scheme: dict, fmt: Formatter, _: Gettext | Callable[[str], str]) -> str:
    """Return the scheme as configured, in words ("Buy 9, get the next one free (worth 49 kr).")."""
    tr = _as_translations(_)
    params = scheme.get("params") or {}
    kind = kinds().get(scheme.get("kind", ""))
    if kind is None:
        return ""
    return " ".join(s for s in kind.summary(params, fmt, tr) if s)


# -- a scheme's settings, key by key ----------------------------------------------------------

# How each configured key is shown: its label and how its value is formatted. Keys of
# nested values (``reward.value``, ``tiers[2].discount``) use the last part. Keys that
# several kinds share are here; a kind's own keys are labelled in its ``KIND.settings``.
_SETTINGS: dict[str, tuple[str, str]] = {
    "min_purchase": (N_("Smallest purchase that counts"), "money"),
    "value": (N_("Value"), "money"),
    "cost": (N_("Cost to you"), "cost"),
    "type": (N_("Reward type"), "type"),
    "expiry_days": (N_("Must be used within"), "days_or_never"),
    "tiers": (N_("Tiers"), "none"),
    "window_months": (N_("Spend counted over the last"), "months"),
    "name": (N_("Name"), "text"),
    "min_spend": (N_("From a spend of"), "money"),
    "discount": (N_("Discount"), "percent"),
    "multiplier": (N_("Points multiplier"), "times"),
    "perk_cost_year": (N_("Perks per member a year"), "money"),
    "rate": (N_("Rate"), "percent"),
}
_NESTED = {"reward": {"value": N_("Reward value"), "cost": N_("Reward cost to you"), "type": N_("Reward type")}}
_TIER = N_("Tier %(n)s: %(setting)s")
_COUNTERS = {"visits": N_("visit"), "items": N_("item bought"), "spend": N_("unit of money spent")}
_TYPES = {"item": N_("free item"), "discount": N_("money off")}


def settings(params: dict, fmt: Formatter, _: Gettext | Callable[[str], str]) -> list[tuple[str, str, str]]:
    """Return a scheme's configured parameters as (translated label, raw key, formatted value) rows.

    The raw key (``earn_per_unit``, ``reward.value``, ``tiers[2].discount``) is what the
    program file says, for analysts; the label and the value are in the site's language.
    """
    tr = _as_translations(_)
    rows: list[tuple[str, str, str]] = []
    labels = {**_SETTINGS, **{key: label for kind in kinds().values() for key, label in kind.settings.items()}}

    def walk(mapping: dict, prefix: str, parent: str | None, tier: int | None) -> None:
        for key, value in mapping.items():
            name = f"{prefix}{key}"
            if isinstance(value, dict):
                walk(value, name + ".", key, tier)
                continue
            if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                for i, item in enumerate(value, 1):
                    walk(item, f"{name}[{i}].", key, i)
                continue
            label_id, how = labels.get(key, (None, "plain"))
            if parent in _NESTED and key in _NESTED[parent]:
                label_id = _NESTED[parent][key]
            label = tr.gettext(label_id) if label_id else key.replace("_", " ")
            if tier is not None:
                label = tr.gettext(_TIER) % {"n": fmt.number(tier), "setting": label}
            rows.append((label, name, setting_value(value, how, fmt, tr)))

    walk(params, "", None, None)
    return rows


def setting_value(value: object, how: str, fmt: Formatter, _: Gettext | Callable[[str], str]) -> str:
    """Return one configured value formatted by how its key is read (money, percent, days …)."""
    tr = _as_translations(_)
    if isinstance(value, bool):
        return tr.gettext("yes") if value else tr.gettext("no")
    if value is None:
        if how in ("days_or_never", "months_or_never"):
            return tr.gettext("never")
        if how == "cost":
            return tr.gettext("value × (1 − gross margin)")
        if how == "step":
            return tr.gettext("the points needed before use")
        return tr.gettext("none")
    if isinstance(value, list):
        return format_list([setting_value(v, "plain", fmt, tr) for v in value], locale=fmt.locale) if value else "–"
    if isinstance(value, str):
        if how == "counter" and value in _COUNTERS:
            return tr.gettext(_COUNTERS[value])
        if how == "type" and value in _TYPES:
            return tr.gettext(_TYPES[value])
        return value
    x = float(value)  # type: ignore[arg-type]
    if how in ("money", "cost"):
        return _money(fmt, x)
    if how == "percent":
        return _share(fmt, x)
    if how in ("days", "days_or_never"):
        n = int(x)
        return tr.ngettext("%(n)s day", "%(n)s days", n) % {"n": fmt.number(n)}
    if how in ("months", "months_or_never"):
        n = int(x)
        return tr.ngettext("%(n)s month", "%(n)s months", n) % {"n": fmt.number(n)}
    if how == "times":
        return "×" + fmt.number(x, 0 if x.is_integer() else 2)
    if x.is_integer():
        return fmt.number(x)
    return fmt.number(x, min(4, len(repr(x).split(".")[-1])))

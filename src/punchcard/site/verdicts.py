"""The site's plain-language sentences: the one-sentence verdict per scheme and the summary
of a scheme as configured ("Buy 9, get the next one free (worth 49 kr).").

Every sentence is a whole translated sentence with named placeholders, never glued
fragments, so each language can order it its own way; the figures arrive formatted by the
locale's `Formatter`. The catalog plumbing (reading .po files, extraction) is `i18n.py`.
"""

from __future__ import annotations

from collections.abc import Callable

from babel.lists import format_list

from punchcard.site.fmt import Formatter
from punchcard.messages import N_
from punchcard.site.i18n import Gettext
from punchcard.site.i18n import as_translations as _as_translations

# The highest visit lift the forecast searches for a break-even (scenarios.py, results.md).
BREAK_EVEN_MAX_LIFT = 2.0


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


# -- rejected rows ---------------------------------------------------------------------------

# -- a scheme's settings, key by key ----------------------------------------------------------

# How each configured key is shown: its label and how its value is formatted. Keys of
# nested values (``reward.value``, ``tiers[2].discount``) use the last part.
_SETTINGS: dict[str, tuple[str, str]] = {
    "stamps": (N_("Stamps for a reward"), "count"),
    "counter": (N_("A stamp for each"), "counter"),
    "min_purchase": (N_("Smallest purchase that counts"), "money"),
    "reward": (N_("Reward"), "text"),
    "value": (N_("Value"), "money"),
    "cost": (N_("Cost to you"), "cost"),
    "type": (N_("Reward type"), "type"),
    "expiry_days": (N_("Must be used within"), "days_or_never"),
    "head_start": (N_("Stamps already on a new card"), "count"),
    "earn_per_unit": (N_("Points per unit of money spent"), "number"),
    "point_value": (N_("Value of one point"), "money"),
    "min_redeem": (N_("Points needed before use"), "count"),
    "redeem_step": (N_("Points are used in steps of"), "step"),
    "expiry_months": (N_("Points lapse after inactivity of"), "months_or_never"),
    "tiers": (N_("Tiers"), "none"),
    "window_months": (N_("Spend counted over the last"), "months"),
    "name": (N_("Name"), "text"),
    "min_spend": (N_("From a spend of"), "money"),
    "discount": (N_("Discount"), "percent"),
    "multiplier": (N_("Points multiplier"), "times"),
    "perk_cost_year": (N_("Perks per member a year"), "money"),
    "rate": (N_("Rate"), "percent"),
    "cashback": (N_("Paid back as credit for the next visit"), "bool"),
    "new_after_days": (N_("New when first seen at least this long after the data start"), "days"),
    "window_days": (N_("Usable for"), "days"),
    "every_days": (N_("A new coupon every"), "days"),
    "active_days": (N_("For members who shopped within"), "days"),
    "valid_days": (N_("Each coupon valid for"), "days"),
    "cost_per_member_year": (N_("Cost per member a year"), "money"),
    "cost_per_event": (N_("Cost per member per event"), "money"),
    "events_per_year": (N_("Events a year"), "number"),
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
            label_id, how = _SETTINGS.get(key, (None, "plain"))
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

"""The figures of a scheme: one list drives the comparison table and results.csv.

Each figure is a dotted key into a scheme's results (``forecast.net_impact.p10``) with the
kind that formats it; ``figure_columns`` adds any further scalar figures a result carries.
"""

from __future__ import annotations

from typing import Any, Callable

from punchcard.site.fmt import Formatter


FIGURES: tuple[tuple[str, str], ...] = (
    ("backtest.members", "count"), ("backtest.customers_issued", "count"), ("backtest.customers_rewarded", "count"),
    ("backtest.rewarded_share", "percent"),
    ("backtest.rewarded_within_year_share", "percent"), ("backtest.median_days_to_first_reward", "count"),
    ("backtest.rewards_earned", "count"), ("backtest.rewards_redeemed", "count"),
    ("backtest.rewards_expired", "count"), ("backtest.rewards_outstanding", "count"),
    ("backtest.reward_cost", "money"), ("backtest.fixed_cost", "money"), ("backtest.total_cost", "money"),
    ("backtest.cost_share_of_revenue", "percent"), ("backtest.cost_per_member", "money2"),
    ("backtest.liability", "money"), ("backtest.top20_cost_share", "percent"),
    ("forecast.horizon_months", "count"), ("forecast.draws", "count"), ("forecast.members", "count"),
    ("forecast.baseline_revenue", "money"), ("forecast.incremental_revenue", "money"),
    ("forecast.incremental_margin", "money"), ("forecast.reward_cost", "money"),
    ("forecast.reward_cost_on_baseline", "money"), ("forecast.reward_cost_on_extra", "money"),
    ("forecast.deadweight_share", "percent"), ("forecast.fixed_cost", "money"),
    ("forecast.scheme_cost", "money"), ("forecast.net_impact.mean", "money"), ("forecast.net_impact.p10", "money"),
    ("forecast.net_impact.p50", "money"), ("forecast.net_impact.p90", "money"), ("forecast.net_impact.se", "money"),
    ("forecast.probability_positive", "percent"), ("forecast.break_even_visit_lift", "lift"),
    ("forecast.from_new_customers", "money"),
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
        "backtest.members": _("Members"), "backtest.customers_rewarded": _("Customers who used a reward"),
        "backtest.customers_issued": _("Customers given a reward"),
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
        "forecast.reward_cost_on_baseline": _("Reward cost on purchases that happen anyway"),
        "forecast.reward_cost_on_extra": _("Reward cost on extra purchases"),
        "forecast.deadweight_share": _("Share paid on purchases that happen anyway"),
        "forecast.scheme_cost": _("Scheme cost"), "forecast.net_impact.mean": _("Net impact, expected"),
        "forecast.net_impact.p10": _("Net impact, P10 (pessimistic)"), "forecast.net_impact.p50": _("Net impact, P50"),
        "forecast.net_impact.p90": _("Net impact, P90 (optimistic)"),
        "forecast.net_impact.se": _("Net impact, simulation error"),
        "forecast.probability_positive": _("Chance it pays for itself"),
        "forecast.break_even_visit_lift": _("Break-even visit lift"),
        "forecast.from_new_customers": _("Net impact from new customers"),
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


"""Plotly figures for the decision site: one helper to embed a figure, one builder per chart.

Every builder returns a :class:`Chart` — heading, caption, the figure as an HTML fragment and
the same numbers as an accessible table. Builders take plain data from the results dict, a
number formatter (``money``/``number``/``percent``/``decimal``/``month``) and the gettext
function ``_``; all hover text is formatted here, in Python, so the browser shows exactly
what the tables show.
"""

from __future__ import annotations

import functools
import json

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

from punchcard.results import FORECAST_ERROR_LIMIT

pio.json.config.default_engine = "json"  # plain json: deterministic, no orjson differences

# The toolbar (zoom, download) appears only while the pointer is over a chart (site.css
# hides it otherwise, touch screens included), in a top margin (MODEBAR_ROOM) kept free
# for it, so it never covers the top of a bar or a point.
CONFIG = {"displaylogo": False, "showSendToCloud": False, "responsive": True,
          "displayModeBar": "hover"}
MODEBAR_ROOM = 34  # px above the plot area: the toolbar's height and a little air
FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
DEFAULT_PRIMARY = "#1f5f8b"
PALETTE = ("#e08a3c", "#3a9d7a", "#8c6bb1", "#c9a227", "#6b7b8c", "#d1495b", "#4fa3c7")
INK, MUTED, GRID = "#2b2f33", "#6b7280", "#e8e8e8"
NEGATIVE = "#b9472f"

Gettext = Callable[[str], str]


@dataclass(frozen=True)
class Chart:
    """One chart as the templates need it: heading, caption, figure HTML and its data table."""

    id: str
    title: str
    caption: str
    html: str = ""
    columns: Sequence[str] = ()
    rows: Sequence[Sequence[str]] = ()
    skipped: str | None = None


@dataclass(frozen=True)
class Theme:
    """Colours and number separators shared by every figure of one program."""

    primary: str
    separators: str

    def colour(self, i: int) -> str:
        """Return the series colour for position ``i`` (the primary colour first)."""
        return self.primary if i == 0 else PALETTE[(i - 1) % len(PALETTE)]


class Whole:
    """A formatter view that prints amounts in whole currency units (charts show no cents)."""

    def __init__(self, fmt: Any) -> None:
        self._fmt = fmt

    def money(self, x: float | None, digits: int | None = 0) -> str:
        """Return the amount formatted with ``digits`` decimals (none by default)."""
        return self._fmt.money(x, digits)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fmt, name)


def theme(primary: str | None, separators: str) -> Theme:
    """Return the theme for a program's ``site.primary_color`` and the locale's separators."""
    return Theme(primary or DEFAULT_PRIMARY, separators)


@functools.lru_cache(maxsize=32)
def template(t: Theme) -> go.layout.Template:
    """Return the small plotly template every punchcard figure uses (fonts, colours, margins).

    Built once per theme: plotly validates a template as it is made, which cost more than
    the rest of a small figure (a figure copies it, so sharing it is safe).
    """
    axis = {"gridcolor": GRID, "linecolor": "#c8c8c8", "zerolinecolor": "#9a9a9a",
            "ticks": "", "automargin": True, "title": {"font": {"color": MUTED, "size": 12}}}
    return go.layout.Template(layout={
        "font": {"family": FONT, "size": 13, "color": INK},
        "colorway": [t.colour(i) for i in range(len(PALETTE) + 1)],
        "paper_bgcolor": "#ffffff", "plot_bgcolor": "#ffffff",
        "margin": {"l": 10, "r": 20, "t": MODEBAR_ROOM, "b": 10}, "height": 340,
        "xaxis": axis, "yaxis": axis, "hovermode": "closest",
        "hoverlabel": {"font": {"family": FONT, "size": 13}, "bgcolor": "#ffffff", "bordercolor": "#c8c8c8"},
        "legend": {"orientation": "h", "yanchor": "top", "y": -0.18, "x": 0, "font": {"size": 12}},
        "bargap": 0.25,
    })


def figure_html(fig: go.Figure | dict, div_id: str) -> str:
    """Return the figure as a ``<div>`` + ``<script>`` fragment that expects plotly.js loaded.

    A figure dict from ``_figure`` is written as it is: its traces were validated when
    they were made, and its layout is plain keys punchcard sets.
    """
    return pio.to_html(fig, full_html=False, include_plotlyjs=False, div_id=div_id, config=CONFIG,
                       validate=not isinstance(fig, dict))


@functools.lru_cache(maxsize=32)
def _template_json(t: Theme) -> str:
    return json.dumps(template(t).to_plotly_json())


def _figure(t: Theme, traces: list[Any], **layout: Any) -> dict:
    """Return a figure (as plotly's dict) with the punchcard template and the locale's separators.

    The traces are plotly objects (validated as they are made); the layout is assembled as
    a plain dict, since validating it again for every figure cost more than the rest of
    the page. ``tests/test_render.py`` checks it against plotly's own layout validation.
    """
    return {"data": [tr.to_plotly_json() for tr in traces],
            "layout": {"template": json.loads(_template_json(t)), "separators": t.separators, **layout}}


def _chart(div_id: str, title: str, caption: str, fig: go.Figure | dict,
           columns: Sequence[str], rows: Sequence[Sequence[str]]) -> Chart:
    """Return a Chart with the figure rendered to HTML."""
    return Chart(div_id, title, caption, figure_html(fig, div_id), tuple(columns),
                 tuple(tuple(r) for r in rows))


def skipped(div_id: str, title: str, reason: str) -> Chart:
    """Return a placeholder Chart that shows ``reason`` instead of a figure."""
    return Chart(div_id, title, reason, skipped=reason)


def bars(div_id: str, title: str, caption: str, t: Theme, labels: list[str], values: list[float],
         hover: list[str], columns: Sequence[str], rows: Sequence[Sequence[str]],
         x_title: str = "", y_title: str = "", colour: str | None = None) -> Chart:
    """Return a single-series vertical bar chart."""
    trace = go.Bar(x=labels, y=values, hovertext=hover, hoverinfo="text",
                   marker={"color": colour or t.primary})
    fig = _figure(t, [trace], xaxis={"title": {"text": x_title}, "type": "category"},
                  yaxis={"title": {"text": y_title}}, showlegend=False)
    return _chart(div_id, title, caption, fig, columns, rows)


# --- program page -------------------------------------------------------------------------

def cost_uptake(div_id: str, schemes: list[dict], t: Theme, f: Any, _: Gettext) -> Chart:
    """Return the scatter of backtest total cost against the share of members rewarded."""
    xs = [s["backtest"]["total_cost"] for s in schemes]
    ys = [s["backtest"].get("rewarded_share", 0.0) for s in schemes]
    hover = [f"<b>{escape(s['name'])}</b><br>{_('Total cost')}: {f.money(x)}<br>{_('Members rewarded')}: {f.percent(y)}"
             for s, x, y in zip(schemes, xs, ys)]
    traces = [go.Scatter(x=[x], y=[y], mode="markers", hovertext=[h], hoverinfo="text", name=escape(s["name"]),
                         marker={"size": 16, "color": t.colour(i), "line": {"width": 1, "color": "#fff"}})
              for i, (s, x, y, h) in enumerate(zip(schemes, xs, ys, hover))]
    fig = _figure(t, traces, showlegend=True,
                  xaxis={"title": {"text": _("Total cost over the sales history")}, "rangemode": "tozero"},
                  yaxis={"title": {"text": _("Share of members who use a reward")}, "tickformat": ".0%",
                         "rangemode": "tozero"})
    rows = [[s["name"], f.money(x), f.percent(s["backtest"]["cost_share_of_revenue"]),
             f.number(s["backtest"]["customers_rewarded"]), f.percent(y)]
            for s, x, y in zip(schemes, xs, ys)]
    return _chart(div_id, _("Cost against uptake"),
                  _("Each dot is one scheme replayed on your sales history. Further right costs more; "
                    "higher up means more of your customers would have used a reward. "
                    "Up and to the left is popular and cheap."),
                  fig, [_("Scheme"), _("Total cost"), _("Share of revenue"), _("Customers who used a reward"),
                        _("Members rewarded")], rows)


def net_impact_ranges(div_id: str, schemes: list[dict], t: Theme, f: Any, _: Gettext, months: int) -> Chart:
    """Return the P10–P90 bars of forecast net impact, one row per scheme, best on top."""
    names = [escape(s["name"]) for s in schemes]
    ni = [s["forecast"]["net_impact"] for s in schemes]
    colours = [t.primary if n["p10"] >= 0 else ("#b8c4cc" if n["p90"] >= 0 else "#e3b8ad") for n in ni]
    hover = [f"<b>{escape(s['name'])}</b><br>P10: {f.money(n['p10'])}<br>P50: {f.money(n['p50'])}<br>"
             f"P90: {f.money(n['p90'])}<br>{_('Chance it pays')}: {f.percent(s['forecast']['probability_positive'])}"
             for s, n in zip(schemes, ni)]
    traces = [
        go.Bar(y=names, x=[n["p90"] - n["p10"] for n in ni], base=[n["p10"] for n in ni], orientation="h",
               marker={"color": colours}, hovertext=hover, hoverinfo="text", width=0.45, name="P10–P90"),
        go.Scatter(y=names, x=[n["p50"] for n in ni], mode="markers", hovertext=hover, hoverinfo="text",
                   marker={"symbol": "line-ns", "size": 22, "line": {"width": 3, "color": INK}}, name="P50"),
    ]
    fig = _figure(t, traces, showlegend=False, height=max(180, 70 * len(schemes) + 80),
                  yaxis={"autorange": "reversed", "type": "category"},
                  xaxis={"title": {"text": _("Net impact over the next %(months)s months") % {"months": months}},
                         "zeroline": True, "zerolinewidth": 2})
    rows = [[s["name"], f.money(n["p10"]), f.money(n["p50"]), f.money(n["mean"]), f.money(n["p90"]),
             f.percent(s["forecast"]["probability_positive"])] for s, n in zip(schemes, ni)]
    return _chart(div_id, _("What each scheme may earn or cost"),
                  _("Each bar spans the net impact (extra margin minus the scheme's cost) in 8 of 10 "
                    "simulated futures; the dark tick is the middle outcome. A bar wholly right of zero "
                    "pays for itself in almost every scenario; one wholly left of zero almost never does."),
                  fig, [_("Scheme"), "P10", "P50", _("Mean"), "P90", _("Chance it pays")], rows)


def break_even(div_id: str, schemes: list[dict], t: Theme, f: Any, _: Gettext) -> Chart:
    """Return the break-even visit lift of each scheme against its assumed visit-lift range."""
    names = [escape(s["name"]) for s in schemes]
    lift = [s["assumptions"]["visit_lift"] for s in schemes]
    be = [s["forecast"].get("break_even_visit_lift") for s in schemes]
    assumed = [f"<b>{escape(s['name'])}</b><br>{_('Assumed visit lift')}: {f.lift(a['low'])} – {f.lift(a['high'])}"
               f"<br>{_('Most likely')}: {f.lift(a['likely'])}" for s, a in zip(schemes, lift)]
    traces = [
        go.Bar(y=names, x=[a["high"] - a["low"] for a in lift], base=[a["low"] for a in lift], orientation="h",
               marker={"color": "#dfe6ea"}, width=0.5, hovertext=assumed, hoverinfo="text",
               name=_("Assumed visit lift")),
        go.Scatter(y=names, x=[a["likely"] for a in lift], mode="markers", hovertext=assumed, hoverinfo="text",
                   marker={"symbol": "line-ns", "size": 20, "line": {"width": 2, "color": MUTED}},
                   name=_("Most likely")),
    ]
    known = [(n, b) for n, b in zip(names, be) if b is not None]
    if known:
        traces.append(go.Scatter(
            y=[n for n, _b in known], x=[b for _n, b in known], mode="markers", name=_("Break-even"),
            marker={"symbol": "diamond", "size": 14, "color": t.primary},
            hovertext=[f"<b>{n}</b><br>{_('Break-even visit lift')}: {f.lift(b)}" for n, b in known],
            hoverinfo="text"))
    fig = _figure(t, traces, height=max(200, 70 * len(schemes) + 110),
                  yaxis={"autorange": "reversed", "type": "category"},
                  xaxis={"title": {"text": _("Extra visits by members")}, "tickformat": ".0%"})
    none = _("not between −50 % and +200 %")
    rows = [[s["name"], f.lift(a["low"]), f.lift(a["likely"]), f.lift(a["high"]),
             f.lift(b) if b is not None else none] for s, a, b in zip(schemes, lift, be)]
    return _chart(div_id, _("How many extra visits each scheme needs"),
                  _("The grey band is the extra visits you assumed members would make; the diamond is the "
                    "lift at which the scheme breaks even, with the other assumptions at their likely values. A "
                    "diamond left of the band means your own assumptions already cover the cost; right of it, the "
                    "scheme needs more than you expect."),
                  fig, [_("Scheme"), _("Assumed low"), _("Most likely"), _("Assumed high"),
                        _("Break-even visit lift")], rows)


def _two_part_bars(t: Theme, f: Any, names: list[str], first: tuple, second: tuple, barmode: str,
                   xtitle: str) -> dict:
    """Return one horizontal bar per scheme in two parts, each part given as (name, values, colour)."""
    traces = [go.Bar(y=names, x=values, orientation="h", name=part, marker={"color": colour},
                     hovertext=[f"<b>{n}</b><br>{part}: {f.money(v)}" for n, v in zip(names, values)],
                     hoverinfo="text")
              for part, values, colour in (first, second)]
    return _figure(t, traces, barmode=barmode, height=max(200, 60 * len(names) + 110),
                   yaxis={"autorange": "reversed", "type": "category"}, xaxis={"title": {"text": xtitle}})


def deadweight(div_id: str, schemes: list[dict], t: Theme, f: Any, _: Gettext) -> Chart:
    """Return each scheme's forecast reward cost split into purchases that happen anyway and extra ones."""
    names = [escape(s["name"]) for s in schemes]
    base = [s["forecast"].get("reward_cost_on_baseline") or 0.0 for s in schemes]
    extra = [max(s["forecast"].get("reward_cost_on_extra") or 0.0, 0.0) for s in schemes]
    share = [s["forecast"].get("deadweight_share") for s in schemes]
    anyway, more = _("On purchases that happen anyway"), _("On extra purchases")
    fig = _two_part_bars(t, f, names, (anyway, base, "#d9a597"), (more, extra, t.primary), "stack", _("Reward cost"))
    rows = [[s["name"], f.money(b), f.money(x), f.percent(d) if d is not None else "–"]
            for s, b, x, d in zip(schemes, base, extra, share)]
    return _chart(div_id, _("Who the rewards pay for"),
                  _("The forecast reward cost of each scheme, split into the cost of rewards on purchases members "
                    "would have made anyway (the same members, with every lift at zero) and the cost on the extra "
                    "purchases the scheme brings. Only the second buys anything."),
                  fig, [_("Scheme"), anyway, more, _("Share paid on purchases that happen anyway")], rows)


def net_by_origin(div_id: str, schemes: list[dict], t: Theme, f: Any, _: Gettext) -> Chart:
    """Return each scheme's expected net impact split into today's customers and new customers."""
    names = [escape(s["name"]) for s in schemes]
    new = [s["forecast"].get("from_new_customers") or 0.0 for s in schemes]
    old = [s["forecast"]["net_impact"]["mean"] - n for s, n in zip(schemes, new)]
    today, newcomers = _("From today's customers"), _("From new customers")
    fig = _two_part_bars(t, f, names, (today, old, "#8c9bab"), (newcomers, new, t.primary), "relative",
                         _("Expected net impact"))
    rows = [[s["name"], f.money(o), f.money(n), f.money(s["forecast"]["net_impact"]["mean"])]
            for s, o, n in zip(schemes, old, new)]
    return _chart(div_id, _("Today's customers and new ones"),
                  _("Each scheme's expected net impact, split into what today's customers bring (with the setup "
                    "and monthly costs) and what the new customers expected over the horizon bring: their extra "
                    "margin, less their rewards and per-member costs."),
                  fig, [_("Scheme"), today, _("From new customers"), _("Expected net impact")], rows)


def cost_over_time(div_id: str, schemes: list[dict], t: Theme, f: Any, _: Gettext) -> Chart:
    """Return the monthly cost lines of every scheme over the sales history."""
    months = [m["month"] for m in schemes[0]["backtest"]["monthly"]] if schemes else []
    labels = [f.month(m) for m in months]
    traces = []
    for i, s in enumerate(schemes):
        costs = [m["cost"] for m in s["backtest"]["monthly"]]
        traces.append(go.Scatter(x=months, y=costs, mode="lines+markers", name=escape(s["name"]),
                                 line={"color": t.colour(i), "width": 2}, marker={"size": 5},
                                 hovertext=[f"<b>{escape(s['name'])}</b><br>{lab}: {f.money(c)}"
                                            for lab, c in zip(labels, costs)], hoverinfo="text"))
    fig = _figure(t, traces, xaxis={"type": "category", "tickvals": months[::3], "ticktext": labels[::3]},
                  yaxis={"title": {"text": _("Cost per month")}, "rangemode": "tozero"}, height=360)
    rows = [[lab] + [f.money(s["backtest"]["monthly"][j]["cost"]) for s in schemes]
            for j, lab in enumerate(labels)]
    return _chart(div_id, _("Cost month by month"),
                  _("What each scheme would have cost in each month of your sales history, rewards and "
                    "running costs together. A line that keeps climbing means costs grow as members "
                    "collect more."),
                  fig, [_("Month")] + [s["name"] for s in schemes], rows)


# --- scheme page --------------------------------------------------------------------------

def rewards_per_member(div_id: str, bt: dict, t: Theme, f: Any, _: Gettext) -> Chart:
    """Return the histogram of rewards earned per member over the sales history."""
    data = bt["distribution"]["rewards_per_member"]
    labels, values = [d["rewards"] for d in data], [d["members"] for d in data]
    hover = [_("%(n)s rewards: %(m)s members") % {"n": lab, "m": f.number(v)} for lab, v in zip(labels, values)]
    return bars(div_id, _("Who earns rewards"),
                _("How many rewards each member would have earned over your sales history. A tall bar at "
                  "zero means most members never reach a reward; a long tail means a few regulars collect most."),
                t, labels, values, hover, [_("Rewards earned"), _("Members")],
                [[lab, f.number(v)] for lab, v in zip(labels, values)],
                x_title=_("Rewards earned per member"), y_title=_("Members"))


def cost_by_decile(div_id: str, bt: dict, t: Theme, f: Any, _: Gettext) -> Chart:
    """Return reward cost by revenue decile of customers (decile 1 = top 10 % by revenue)."""
    data = bt["distribution"]["cost_by_decile"]
    labels = [_("Top 10 %") if d["decile"] == 1
              else f"{f.percent((d['decile'] - 1) / 10, 0)}–{f.percent(d['decile'] / 10, 0)}" for d in data]
    costs = [d["cost"] for d in data]
    hover = [f"<b>{lab}</b><br>{_('Reward cost')}: {f.money(d['cost'])}<br>{_('Revenue')}: {f.money(d['revenue'])}"
             for lab, d in zip(labels, data)]
    rows = [[lab, f.money(d["revenue"]), f.money(d["cost"])] for lab, d in zip(labels, data)]
    return bars(div_id, _("Where the reward money goes"),
                _("Reward cost split by how much each customer spends, best customers on the left. "
                  "%(share)s of the reward cost goes to the top 20 %% of customers by revenue — "
                  "money spent on people who already come most.") % {"share": f.percent(bt["top20_cost_share"])},
                t, labels, costs, hover, [_("Customers by revenue"), _("Revenue"), _("Reward cost")], rows,
                x_title=_("Customers ranked by revenue"), y_title=_("Reward cost"))


def monthly_cost_liability(div_id: str, bt: dict, t: Theme, f: Any, _: Gettext) -> Chart:
    """Return monthly cost bars with the outstanding liability as a line."""
    monthly = bt["monthly"]
    months = [m["month"] for m in monthly]
    labels = [f.month(m) for m in months]
    traces = [
        go.Bar(x=months, y=[m["cost"] for m in monthly], name=_("Cost in the month"), marker={"color": t.primary},
               hovertext=[f"<b>{lab}</b><br>{_('Cost')}: {f.money(m['cost'])}" for lab, m in zip(labels, monthly)],
               hoverinfo="text"),
        go.Scatter(x=months, y=[m["liability"] for m in monthly], name=_("Rewards owed (liability)"),
                   mode="lines", line={"color": PALETTE[0], "width": 2},
                   hovertext=[f"<b>{lab}</b><br>{_('Liability')}: {f.money(m['liability'])}"
                              for lab, m in zip(labels, monthly)], hoverinfo="text"),
    ]
    fig = _figure(t, traces, xaxis={"type": "category", "tickvals": months[::3], "ticktext": labels[::3]},
                  yaxis={"rangemode": "tozero"})
    rows = [[lab, f.money(m["reward_cost"]), f.money(m["fixed_cost"]), f.money(m["cost"]), f.money(m["liability"])]
            for lab, m in zip(labels, monthly)]
    return _chart(div_id, _("When the cost falls"),
                  _("Bars show what the scheme would have cost each month; the line is the value of rewards "
                    "earned but not yet used — money you owe your members at that point."),
                  fig, [_("Month"), _("Reward cost"), _("Running cost"), _("Total cost"), _("Liability")], rows)


def days_to_first_reward(div_id: str, bt: dict, t: Theme, f: Any, _: Gettext) -> Chart:
    """Return the histogram of days from joining to the first reward."""
    data = bt["distribution"]["days_to_first_reward"]
    labels, values = [d["days"] for d in data], [d["customers"] for d in data]
    hover = [_("%(d)s days: %(n)s customers") % {"d": lab, "n": f.number(v)} for lab, v in zip(labels, values)]
    median = bt.get("median_days_to_first_reward")
    lead = (_("Half of the rewarded members use their first reward within %(d)s days of joining. ")
            % {"d": f.number(median)}) if median is not None else ""
    return bars(div_id, _("How long until the first reward"),
                lead + _("%(share)s of members use a reward within their first year. A first reward that "
                         "comes quickly keeps new members interested.")
                % {"share": f.percent(bt.get("rewarded_within_year_share", 0.0))},
                t, labels, values, hover, [_("Days after joining"), _("Customers")],
                [[lab, f.number(v)] for lab, v in zip(labels, values)],
                x_title=_("Days from joining to the first reward"), y_title=_("Customers"))


def forecast_histogram(div_id: str, fc: dict, t: Theme, f: Any, _: Gettext) -> Chart:
    """Return the histogram of simulated net impact with the P10/P50/P90 marks."""
    hist, ni = fc["histogram"], fc["net_impact"]
    mids = [(h["x0"] + h["x1"]) / 2 for h in hist]
    colours = [t.primary if m >= 0 else "#d9a597" for m in mids]
    hover = [f"{f.money(h['x0'])} – {f.money(h['x1'])}<br>{_('Simulations')}: {f.number(h['count'])}" for h in hist]
    trace = go.Bar(x=mids, y=[h["count"] for h in hist], width=[h["x1"] - h["x0"] for h in hist],
                   marker={"color": colours, "line": {"width": 1, "color": "#ffffff"}}, hovertext=hover,
                   hoverinfo="text")
    shapes = [{"type": "line", "x0": ni[k], "x1": ni[k], "y0": 0, "y1": 1, "yref": "paper",
               "line": {"color": INK if k == "p50" else MUTED, "width": 1.5, "dash": "solid" if k == "p50" else "dot"}}
              for k in ("p10", "p50", "p90")]
    notes = [{"x": ni[k], "y": 1, "yref": "paper", "text": k.upper(), "showarrow": False, "yanchor": "bottom",
              "font": {"size": 11, "color": MUTED}} for k in ("p10", "p50", "p90")]
    fig = _figure(t, [trace], showlegend=False, shapes=shapes, annotations=notes, margin={"t": MODEBAR_ROOM + 18},
                  xaxis={"title": {"text": _("Net impact over the next %(m)s months") % {"m": fc["horizon_months"]}},
                         "zeroline": True, "zerolinewidth": 2},
                  yaxis={"title": {"text": _("Simulations")}})
    rows = [[f.money(h["x0"]), f.money(h["x1"]), f.number(h["count"])] for h in hist]
    return _chart(div_id, _("Range of outcomes"),
                  _("Each bar counts the simulated futures (of %(draws)s) whose net impact fell in that range; "
                    "bars right of zero pay for themselves. The scheme pays in %(p)s of them.")
                  % {"draws": f.number(fc["draws"]), "p": f.percent(fc["probability_positive"])},
                  fig, [_("From"), _("To"), _("Simulations")], rows)


def tornado(div_id: str, fc: dict, t: Theme, f: Any, _: Gettext, label: Callable[[str], str]) -> Chart:
    """Return the tornado of net impact when each assumption moves to its low and high end."""
    data = sorted(fc["tornado"], key=lambda d: -abs(d["at_high"] - d["at_low"]))
    names = [label(d["assumption"]) for d in data]
    mean = fc["net_impact"]["mean"]
    at = _("%(assumption)s at %(value)s: %(impact)s")
    lo = [at % {"assumption": f"<b>{n}</b>", "value": f.percent(d["low"]), "impact": f.money(d["at_low"])}
          for n, d in zip(names, data)]
    hi = [at % {"assumption": f"<b>{n}</b>", "value": f.percent(d["high"]), "impact": f.money(d["at_high"])}
          for n, d in zip(names, data)]
    traces = [
        go.Bar(y=names, x=[d["at_low"] - mean for d in data], base=mean, orientation="h", name=_("Assumption low"),
               marker={"color": "#d9a597"}, hovertext=lo, hoverinfo="text"),
        go.Bar(y=names, x=[d["at_high"] - mean for d in data], base=mean, orientation="h", name=_("Assumption high"),
               marker={"color": t.primary}, hovertext=hi, hoverinfo="text"),
    ]
    fig = _figure(t, traces, barmode="overlay", height=max(220, 48 * len(data) + 120),
                  yaxis={"autorange": "reversed", "type": "category"},
                  xaxis={"title": {"text": _("Expected net impact")}})
    rows = [[n, f.percent(d["low"]), f.money(d["at_low"]), f.percent(d["high"]), f.money(d["at_high"])]
            for n, d in zip(names, data)]
    return _chart(div_id, _("Which assumption matters most"),
                  _("Each bar shows how the expected net impact (%(mean)s) moves when one assumption is set to "
                    "the low or high end of its range and the others stay put. Check the longest bars first.")
                  % {"mean": f.money(mean)},
                  fig, [_("Assumption"), _("Low"), _("Net impact at low"), _("High"), _("Net impact at high")], rows)


# --- customers page -----------------------------------------------------------------------

def pareto(div_id: str, cust: dict, t: Theme, f: Any, _: Gettext) -> Chart:
    """Return the Pareto curve: cumulative revenue share against cumulative customer share."""
    pts = cust["pareto"]
    xs, ys = [p["customer_share"] for p in pts], [p["revenue_share"] for p in pts]
    hover = [_("Top %(c)s of customers: %(r)s of revenue") % {"c": f.percent(x), "r": f.percent(y)}
             for x, y in zip(xs, ys)]
    traces = [go.Scatter(x=xs, y=ys, mode="lines", line={"color": t.primary, "width": 3}, hovertext=hover,
                         hoverinfo="text", fill="tozeroy", fillcolor="rgba(120,120,120,0.08)"),
              go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line={"color": MUTED, "dash": "dot", "width": 1},
                         hoverinfo="skip")]
    fig = _figure(t, traces, showlegend=False,
                  xaxis={"title": {"text": _("Share of customers, biggest spenders first")}, "tickformat": ".0%"},
                  yaxis={"title": {"text": _("Share of revenue")}, "tickformat": ".0%"})
    rows = [[f.percent(x), f.percent(y)] for x, y in zip(xs, ys) if round(x * 100) % 10 == 0]
    return _chart(div_id, _("How concentrated your revenue is"),
                  _("Read across from any share of your best customers to the share of revenue they bring. "
                    "Your top 20 %% of customers bring %(share)s of revenue; the dotted line is what a perfectly "
                    "even customer base would look like.") % {"share": f.percent(cust["top20_revenue_share"])},
                  fig, [_("Share of customers"), _("Share of revenue")], rows)


def count_bars(div_id: str, title: str, caption: str, data: list[dict], key: str, value: str,
               t: Theme, f: Any, headers: tuple[str, str]) -> Chart:
    """Return a bar chart of labelled counts such as purchase frequency or recency."""
    labels, values = [str(d[key]) for d in data], [d[value] for d in data]
    hover = [f"<b>{lab}</b>: {f.number(v)}" for lab, v in zip(labels, values)]
    return bars(div_id, title, caption, t, labels, values, hover, headers,
                [[lab, f.number(v)] for lab, v in zip(labels, values)], x_title=headers[0], y_title=headers[1])


def new_returning(div_id: str, cust: dict, t: Theme, f: Any, _: Gettext) -> Chart:
    """Return stacked monthly bars of new and returning customers."""
    monthly = cust["monthly"]
    months = [m["month"] for m in monthly]
    labels = [f.month(m) for m in months]
    traces = [go.Bar(x=months, y=[m[k] for m in monthly], name=name, marker={"color": colour},
                     hovertext=[f"<b>{lab}</b><br>{name}: {f.number(m[k])}" for lab, m in zip(labels, monthly)],
                     hoverinfo="text")
              for k, name, colour in [("returning_customers", _("Returning customers"), t.primary),
                                      ("new_customers", _("New customers"), PALETTE[0])]]
    fig = _figure(t, traces, barmode="stack",
                  xaxis={"type": "category", "tickvals": months[::3], "ticktext": labels[::3]},
                  yaxis={"title": {"text": _("Customers")}})
    rows = [[lab, f.number(m["new_customers"]), f.number(m["returning_customers"]), f.number(m["transactions"]),
             f.money(m["revenue"])] for lab, m in zip(labels, monthly)]
    return _chart(div_id, _("New and returning customers"),
                  _("Identified customers who shopped in each month, split into first-timers and those who had "
                    "bought before. A loyalty scheme works on the returning part."),
                  fig, [_("Month"), _("New customers"), _("Returning customers"), _("Transactions"), _("Revenue")],
                  rows)


# --- method page --------------------------------------------------------------------------

def tracking(div_id: str, checks: dict, t: Theme, f: Any, _: Gettext) -> Chart:
    """Return the calibration/holdout tracking plot of cumulative repeat transactions."""
    data = checks["tracking"]
    weeks = [d["week"] for d in data]
    traces = [go.Scatter(x=weeks, y=[d[k] for d in data], mode="lines", name=name,
                         line={"color": colour, "width": 2, "dash": dash},
                         hovertext=[_("Week %(w)s: %(v)s") % {"w": f.number(d["week"]), "v": f.number(d[k])}
                                    for d in data], hoverinfo="text")
              for k, name, colour, dash in [("actual", _("Actual"), INK, "solid"),
                                            ("model", _("Model"), t.primary, "dash")]]
    cal = checks["calibration_weeks"]
    shapes = [{"type": "line", "x0": cal, "x1": cal, "y0": 0, "y1": 1, "yref": "paper",
               "line": {"color": MUTED, "dash": "dot", "width": 1}}]
    fig = _figure(t, traces, shapes=shapes, xaxis={"title": {"text": _("Week")}},
                  yaxis={"title": {"text": _("Cumulative repeat transactions")}})
    rows = [[f.number(d["week"]), f.number(d["actual"]), f.number(d["model"])] for d in data]
    hold = checks.get("holdout")
    if hold is None:  # results.json from before the holdout check
        caption = (_("The model is fitted on the first %(cal)s weeks (left of the dotted line) and then predicts "
                     "the next %(hold)s weeks. Where the lines stay together the model can be trusted; the mean "
                     "error on the held-out weeks is %(err)s.")
                   % {"cal": f.number(cal), "hold": f.number(checks["holdout_weeks"]),
                      "err": f.percent(checks["tracking_error"])})
    else:
        caption = (_("The model is fitted on the first %(cal)s weeks (left of the dotted line) and then predicts "
                     "the next %(hold)s weeks for the same customers: %(predicted)s repeat purchases against "
                     "%(actual)s made, an error of %(err)s. Beyond %(limit)s either way the forecast is flagged.")
                   % {"cal": f.number(cal), "hold": f.number(checks["holdout_weeks"]), "limit": f.percent(FORECAST_ERROR_LIMIT, 0),
                      "predicted": f.number(hold["predicted"]), "actual": f.number(hold["actual"]),
                      "err": f.lift(hold["error"])})
    return _chart(div_id, _("Does the model track the past?"), caption,
                  fig, [_("Week"), _("Actual"), _("Model")], rows)


def repeat_histogram(div_id: str, checks: dict, t: Theme, f: Any, _: Gettext) -> Chart:
    """Return actual against modelled customers by number of repeat transactions."""
    data = checks["repeat_histogram"]
    labels = [d["x"] for d in data]
    traces = [go.Bar(x=labels, y=[d[k] for d in data], name=name, marker={"color": colour},
                     hovertext=[f"<b>{lab}</b> {name}: {f.number(d[k])}" for lab, d in zip(labels, data)],
                     hoverinfo="text")
              for k, name, colour in [("actual", _("Actual"), "#9aa5ae"), ("model", _("Model"), t.primary)]]
    fig = _figure(t, traces, barmode="group", xaxis={"type": "category", "title": {"text": _("Repeat transactions")}},
                  yaxis={"title": {"text": _("Customers")}})
    rows = [[lab, f.number(d["actual"]), f.number(d["model"])] for lab, d in zip(labels, data)]
    return _chart(div_id, _("Repeat purchases: model against data"),
                  _("How many customers made 0, 1, 2 … repeat purchases in the calibration period, as observed "
                    "and as the model expects. Similar bars mean the model captures how often people come back."),
                  fig, [_("Repeat transactions"), _("Actual"), _("Model")], rows)

"""The tune pages of the site: the frontier chart, the table of every variant, and the program page's summary.

Reads only tune.json (``forecast/tune.py`` makes it).
"""

from __future__ import annotations

from html import escape
from typing import Any, Callable

import plotly.graph_objects as go
from markupsafe import Markup

from punchcard.site import charts
from punchcard.site.charts import Chart, Theme, _chart, _figure

Gettext = Callable[[str], str]


def setting_label(path: str, _: Gettext) -> str:
    """Return the plain-language name of a tuned parameter."""
    labels = {"stamps": _("Stamps needed"), "reward.value": _("Reward value"), "min_purchase": _("Minimum purchase"),
              "head_start": _("Stamps given at the start"), "earn_per_unit": _("Points per unit of money spent"),
              "point_value": _("Value of one point"), "min_redeem": _("Points needed to redeem"),
              "min_spend_scale": _("Tier thresholds (× as configured)"),
              "discount_scale": _("Tier discounts (× as configured)"), "rate": _("Discount rate"),
              "value": _("Voucher value"), "every_days": _("Days between coupons")}
    return labels.get(path, path)


def _setting_value(path: str, value: float, f: Any) -> str:
    if path in ("reward.value", "value", "min_purchase"):
        return f.money(value, 0 if float(value).is_integer() else None)
    if path == "rate":
        return f.percent(value, 0 if round(value * 100) == value * 100 else 1)
    if path == "point_value":
        return f.money(value, None)
    if path.endswith("_scale"):
        return "× " + f.number(value, 2)
    return f.number(value, 0 if float(value).is_integer() else 2)


def variant_label(row: dict, f: Any, _: Gettext) -> str:
    """Return a variant's settings in words, in the order they were searched: ``Stamps needed 8 · Reward value 40 kr``."""
    order = row.get("order") or sorted(row["settings"])
    return " · ".join(f"{setting_label(k, _)} {_setting_value(k, row['settings'][k], f)}" for k in order)


def _ordered(block: dict) -> dict:
    """Return the block with each variant knowing the order its parameters were searched in."""
    order = [p["path"] for p in block["parameters"]]
    return {**block, "variants": [{**r, "order": order} for r in block["variants"]]}


def _be_text(row: dict, f: Any, _: Gettext) -> str:
    be = row.get("break_even_visit_lift")
    if be is not None:
        return f.lift(be, 1)
    beyond = row.get("break_even_beyond")
    if beyond == "below":
        return _("pays at any lift")
    if beyond == "above":
        return _("not below +200 %")
    return "—"


def frontier_chart(div_id: str, block: dict, t: Theme, f: Any, _: Gettext) -> Chart:
    """Return the generosity–break-even chart: every variant, the frontier, the scheme as configured."""
    rows = [r for r in block["variants"]
            if r.get("break_even_visit_lift") is not None and r.get("generosity") is not None]
    front = [r for r in rows if r["on_frontier"]]
    hover = {r["id"]: f"<b>{escape(variant_label(r, f, _))}</b><br>{_('Generosity')}: {f.percent(r['generosity'], 1)}"
                      f"<br>{_('Break-even visit lift')}: {f.lift(r['break_even_visit_lift'], 1)}" for r in rows}
    traces = [go.Scatter(x=[r["generosity"] for r in rows], y=[r["break_even_visit_lift"] for r in rows],
                         mode="markers", name=_("Every variant"), marker={"color": "#b8c2cc", "size": 8},
                         hovertext=[hover[r["id"]] for r in rows], hoverinfo="text")]
    if front:
        traces.append(go.Scatter(x=[r["generosity"] for r in front], y=[r["break_even_visit_lift"] for r in front],
                                 mode="lines+markers", name=_("Efficient frontier"),
                                 line={"color": t.primary, "width": 2}, marker={"color": t.primary, "size": 9},
                                 hovertext=[hover[r["id"]] for r in front], hoverinfo="text"))
    for key, name, symbol, colour in (("current", _("As configured"), "star", charts.INK),
                                      ("best", _("Best expected net impact"), "diamond", charts.NEGATIVE)):
        pick = [r for r in rows if (r["current"] if key == "current" else r["id"] == block.get("best"))]
        if pick:
            traces.append(go.Scatter(x=[pick[0]["generosity"]], y=[pick[0]["break_even_visit_lift"]], mode="markers",
                                     name=name, marker={"symbol": symbol, "size": 15, "color": colour},
                                     hovertext=[hover[pick[0]["id"]]], hoverinfo="text"))
    fig = _figure(t, traces, height=380,
                  xaxis={"title": {"text": _("Generosity: reward value ÷ spend needed to earn it")},
                         "tickformat": ".0%"},
                  yaxis={"title": {"text": _("Extra visits needed to break even")}, "tickformat": ".0%"})
    table = [[variant_label(r, f, _), f.percent(r["generosity"], 1), f.lift(r["break_even_visit_lift"], 1)]
             for r in front]
    return _chart(div_id, _("How generous, and how many extra visits it needs"),
                  _("Each dot is one version of the scheme. Up is worse (members must visit more often for it to "
                    "pay), right is more generous to the customer. The line joins the efficient versions: no "
                    "other is both more generous and needs fewer extra visits."),
                  fig, [_("Version"), _("Generosity"), _("Break-even visit lift")], table)


def _num(x: Any) -> float | None:
    """Return a figure as a float sort key (None when it is missing)."""
    return None if x is None else float(x)


def _cell(text: str, sort: float | str | None) -> dict:
    return {"text": text, "sort": "" if sort is None else (f"{sort:.10g}" if isinstance(sort, float) else sort)}


def variants_table(block: dict, f: Any, _: Gettext) -> dict:
    """Return every variant as rows of {text, sort} cells (the sort key lets the table sort without a framework)."""
    columns = [_("Version"), _("Generosity"), _("Cost share of revenue"), _("Members rewarded within a year"),
               _("Deadweight share"), _("Break-even visit lift"), _("Expected net impact"), _("Chance it pays"),
               _("On the frontier")]
    rows = []
    for r in block["variants"]:
        net = (r.get("net_impact") or {}).get("mean")
        be = r.get("break_even_visit_lift")
        be_sort = be if be is not None else (-9.0 if r.get("break_even_beyond") == "below" else 9.0)
        label = variant_label(r, f, _) + (" — " + _("as configured") if r["current"] else "")
        rows.append({"current": r["current"], "cells": [
            _cell(label, label),
            _cell(f.percent(r["generosity"], 1), _num(r["generosity"])),
            _cell(f.percent(r["cost_share_of_revenue"], 1), _num(r["cost_share_of_revenue"])),
            _cell(f.percent(r["rewarded_within_year_share"], 0), _num(r["rewarded_within_year_share"])),
            _cell(f.percent(r["deadweight_share"], 0) if r.get("deadweight_share") is not None else "—",
                  None if r.get("deadweight_share") is None else float(r["deadweight_share"])),
            _cell(_be_text(r, f, _), float(be_sort) if (be is not None or r.get("break_even_beyond")) else None),
            _cell(f.money(net, 0) if net is not None else "—", None if net is None else float(net)),
            _cell(f.percent(r["probability_positive"], 0) if r.get("probability_positive") is not None else "—",
                  None if r.get("probability_positive") is None else float(r["probability_positive"])),
            _cell(_("yes") if r.get("on_frontier") else (_("the lowest at its generosity")
                                                        if r.get("lowest_at_generosity") else ""),
                  2.0 if r.get("on_frontier") else (1.0 if r.get("lowest_at_generosity") else 0.0)),
        ]})
    return {"caption": _("Every version searched (select a heading to sort)"), "columns": columns, "rows": rows}


def answer(block: dict, tune: dict, f: Any, _: Gettext) -> list[str]:
    """Return the tune page's answer: the best version (with an elasticity) or why only a frontier is shown."""
    rows = {r["id"]: r for r in block["variants"]}
    out = []
    current = rows.get(block["current"])
    el = tune.get("generosity_elasticity")
    if block.get("best") and el:
        b = rows[block["best"]]
        if b["net_impact"]["mean"] > 0:
            text = _("Assuming the visit lift grows with generosity at an elasticity of %(low)s to %(high)s "
                     "(most likely %(likely)s), the version with the best expected net impact is %(best)s: "
                     "%(net)s over the forecast, paying for itself in %(chance)s of simulated futures.")
        else:
            text = _("Assuming the visit lift grows with generosity at an elasticity of %(low)s to %(high)s "
                     "(most likely %(likely)s), no version is expected to pay for itself; the one that loses "
                     "least is %(best)s: %(net)s over the forecast, paying for itself in %(chance)s of "
                     "simulated futures.")
        out.append(text % {"low": f.number(el["low"], 2), "high": f.number(el["high"], 2),
                      "likely": f.number(el["likely"], 2), "best": variant_label(b, f, _),
                      "net": f.money(b["net_impact"]["mean"], 0), "chance": f.percent(b["probability_positive"], 0)})
    elif block["frontier"]:
        out.append(_("This page shows a frontier, not a single winner: which version earns most depends on how "
                     "many more visits a more generous reward brings, and your sales history cannot tell. Set "
                     "response.generosity_elasticity in the program file (an assumption, with a range) to have the "
                     "best version named."))
    if current is not None and current.get("break_even_visit_lift") is not None:
        if current["on_frontier"]:
            out.append(_("As configured (%(current)s) the scheme is on the frontier: it pays for itself at a "
                         "visit lift of %(be)s.") % {"current": variant_label(current, f, _),
                                                  "be": f.lift(current["break_even_visit_lift"], 1)})
        else:
            better = [rows[i] for i in block["frontier"] if current.get("generosity") is not None
                      and rows[i]["generosity"] >= current["generosity"] and rows[i]["break_even_visit_lift"] is not None]
            if better:
                b = min(better, key=lambda r: (r["break_even_visit_lift"], r["id"]))
                out.append(_("As configured (%(current)s) the scheme pays for itself at a visit lift of %(be)s; "
                             "%(other)s is at least as generous and pays at %(other_be)s.")
                           % {"current": variant_label(current, f, _), "be": f.lift(current["break_even_visit_lift"], 1),
                              "other": variant_label(b, f, _), "other_be": f.lift(b["break_even_visit_lift"], 1)})
    return out


def tune_page(block: dict, tune: dict, f: Any, _: Gettext, t: Theme) -> dict:
    """Return the context of one scheme's tune page."""
    block = _ordered(block)
    searched = [_("%(setting)s from %(low)s to %(high)s") % {
        "setting": setting_label(p["path"], _), "low": _setting_value(p["path"], p["values"][0], f),
        "high": _setting_value(p["path"], p["values"][-1], f)} for p in block["parameters"]]
    intro = _("%(n)s versions of this scheme, each replayed on your sales history and forecast on the same "
              "simulated customers and draws, so the differences between them are not noise. Searched: "
              "%(searched)s.") % {"n": f.number(len(block["variants"])), "searched": "; ".join(searched)}
    chart_list = []
    if tune.get("forecast_skipped"):
        chart_list.append(charts.skipped(f"tune-{block['id']}-frontier",
                                         _("How generous, and how many extra visits it needs"),
                                         tune["forecast_skipped"]))
    else:
        chart_list.append(frontier_chart(f"tune-{block['id']}-frontier", block, t, f, _))
    return {"page": "tune", "page_title": _("Tuning “%(name)s”") % {"name": block["name"]}, "block": block,
            "intro": intro, "answer": answer(block, tune, f, _), "charts": chart_list,
            "variants": variants_table(block, f, _)}


def program_summary(tune: dict | None, f: Any, _: Gettext) -> list[dict]:
    """Return one line per tuned scheme for the program page (empty without tune results)."""
    if not tune:
        return []
    out = []
    for block in tune["schemes"]:
        block = _ordered(block)
        rows = {r["id"]: r for r in block["variants"]}
        text = _("%(n)s versions searched; %(front)s on the efficient frontier.") % {
            "n": f.number(len(block["variants"])), "front": f.number(len(block["frontier"]))}
        if block.get("best"):
            text += " " + _("Best expected net impact: %(best)s.") % {"best": variant_label(rows[block["best"]], f, _)}
        out.append({"id": block["id"], "name": block["name"], "text": text})
    return out


SORT_SCRIPT = Markup("""<script>
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("thead button").forEach(function (button, col) {
    button.addEventListener("click", function () {
      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      var up = button.getAttribute("data-dir") !== "asc";
      rows.sort(function (a, b) {
        var x = a.cells[col].getAttribute("data-sort"), y = b.cells[col].getAttribute("data-sort");
        var nx = parseFloat(x), ny = parseFloat(y);
        var c = (isNaN(nx) || isNaN(ny)) ? String(x).localeCompare(String(y)) : nx - ny;
        return up ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
      table.querySelectorAll("thead button").forEach(function (b) { b.removeAttribute("data-dir"); });
      button.setAttribute("data-dir", up ? "asc" : "desc");
    });
  });
});
</script>""")

"""The context of every page of one program: tables, charts and sentences, ready for its template.

``Pages`` builds the program page (ranked verdicts, comparison, caveats, changes since the
previous build), one page per scheme, the customers page and the method page.
"""

from __future__ import annotations

from typing import Any, Callable

from markupsafe import Markup, escape

from punchcard.messages import rejection_label
from punchcard.results import FORECAST_ERROR_LIMIT
from punchcard.site import charts
from punchcard.site.fmt import Formatter
from punchcard.site.tables import figure_columns, figure_label, format_figure, lookup
from punchcard.site.i18n import as_translations, render_message
from punchcard.schemes.words import share
from punchcard.site.verdicts import decision_sentence, kind_label, spread_sentence, scheme_summary, settings, verdict

# Proper names of the purchase models (purchase_models.LABELS, without importing the model code).
MODEL_LABELS = {"nbd": "NBD", "bgnbd": "BG/NBD", "mbgnbd": "MBG/NBD", "pareto_nbd": "Pareto/NBD"}
PARAM_ORDER = ("r", "alpha", "a", "b", "s", "beta")


def _in_order(params: dict) -> list[tuple[str, float]]:
    """Return a model's parameters in the papers' order (results.json keeps them sorted by name)."""
    return [(k, params[k]) for k in PARAM_ORDER if k in params]


def assumption_label(name: str, _: Callable[[str], str]) -> str:
    """Return the plain-language name of an assumption."""
    labels = {"enrollment": _("Customers who join"), "visit_lift": _("Extra visits by members"),
              "spend_lift": _("Extra spend per visit"), "retention_lift": _("Better retention"),
              "redemption_rate": _("Rewards actually redeemed"), "frequency_bias": _("Frequent customers join more"),
              "goal_gradient": _("Faster visits near a reward"), "post_reward_reset": _("Slower visits after a reward"),
              "endowed_progress": _("Effect of a head start"),
              "displacement": _("Free items that replace a paid one"),
              "acquisition_lift": _("Extra new customers the scheme brings"),
              "segment_split": _("Split of a plain lift by buyer segment")}
    return labels.get(name, name.replace("_", " "))


# reward counts: rewards for most kinds, points for a points scheme
REWARD_COUNTS = ("backtest.rewards_earned", "backtest.rewards_redeemed", "backtest.rewards_expired",
                 "backtest.rewards_outstanding")


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
            if any(s["forecast"].get("deadweight_share") is not None for s in forecasted):
                chart_list.append(charts.deadweight("program-deadweight", forecasted, t, f, _))
            if ((self.res.get("model") or {}).get("new_customers") or {}).get("expected") and \
                    any(s["forecast"].get("from_new_customers") is not None for s in forecasted):
                chart_list.append(charts.net_by_origin("program-new-customers", forecasted, t, f, _))
        else:
            chart_list.append(charts.skipped("program-net-impact", _("What each scheme may earn or cost"),
                                             self.skip_reason))
        chart_list.append(charts.cost_over_time("program-cost-monthly", ss, t, f, _))
        ranked = [{"baseline": False, "scheme": s, "verdict": verdict(s, self.res, f, _), "kind": kind_label(s["kind"], _),
                   "facts": self._facts(s)} for s in ss]
        ranked = self._with_do_nothing(ranked)
        return {"page": "program", "page_title": self.res["program"]["name"], "ranked": ranked,
                "decision": decision_sentence(self.res, self.fmt, _),
                "charts": chart_list, "tables": self._comparison(), "warnings": self._warnings(),
                "period": (f.date(self.res["data"]["first_date"]), f.date(self.res["data"]["last_date"])),
                "overview": self._overview(), "forecast_skipped": None if forecasted else self.skip_reason,
                "changes": self._changes(), "pilot": self._pilot()}

    def _pilot(self) -> dict | None:
        """Return the pilot plan of the recommended scheme: what a randomised test needs and can show."""
        pl = self.res.get("pilot")
        if not pl:
            return None
        _, f = self._, self.fmt
        names = {s["id"]: s["name"] for s in self.schemes}
        lift = pl["assumed_lift"]
        values = {"scheme": names.get(pl.get("scheme"), pl.get("scheme", "")), "lift": _signed_share(f, lift),
                  "n": f.number(pl["customers_per_arm"]), "weeks": f.number(pl["weeks"]),
                  "customers": f.number(pl["customers_available"]),
                  "cv": f.number(pl.get("coefficient_of_variation"), 1),
                  "power": f.percent(pl["power"], 0), "alpha": f.percent(pl["alpha"], 0)}
        mdl = [r for r in pl.get("min_detectable_lift") or [] if r.get("lift") is not None]
        if pl["customers_per_arm"] is None:
            sentences = [_("The forecast assumes members visit no more often than today, so a pilot of "
                           "“%(scheme)s” has no visit lift to detect.") % values]
        elif pl["feasible"]:
            sentences = [_("To see the assumed %(lift)s visit lift of “%(scheme)s”, a randomised pilot needs "
                           "%(n)s customers as members and %(n)s in a held-out control group for %(weeks)s "
                           "weeks (%(power)s power, %(alpha)s two-sided test).") % values]
        else:
            sentences = [_("Your %(customers)s customers are too few to show the assumed %(lift)s visit lift "
                           "of “%(scheme)s” in a pilot of up to a year: the number of purchases varies "
                           "greatly from customer to customer (coefficient of variation %(cv)s), so a "
                           "randomised pilot would need %(n)s customers in each group.") % values]
        if pl["customers_per_arm"] is None or not pl["feasible"]:
            if mdl:
                best = min(mdl, key=lambda r: r["lift"])
                sentences.append(_("With all your customers, a pilot of %(weeks)s weeks could detect a visit lift "
                                   "of %(mdl)s or more. Short of that, a pilot still shows how many customers "
                                   "join and how many rewards are claimed.")
                                 % {"weeks": f.number(best["weeks"]), "mdl": _signed_share(f, best["lift"])})
            else:
                sentences.append(_("A pilot still shows how many customers join and how many rewards are claimed."))
        need = {r["weeks"]: r["customers_per_arm"] for r in pl.get("customers_needed") or []}
        lifts = {r["weeks"]: r["lift"] for r in pl.get("min_detectable_lift") or []}
        rows = []
        for w in sorted(set(need) | set(lifts)):
            n = need.get(w)
            mde = lifts.get(w)
            rows.append([f.number(w), f.number(n) if n is not None else "—",
                         _signed_share(f, mde) if mde is not None else (_("more than %(max)s")
                                                                       % {"max": _signed_share(f, 5.0)}
                                                                       if w in lifts else "—")])
        table = self._table(_("Pilot length, customers needed and the smallest lift it can show"),
                            [_("Weeks"), _("Customers needed per group for the assumed lift"),
                             _("Smallest visit lift detectable with all your customers")], rows, "pilot")
        return {"sentences": sentences, "table": table}

    def _with_do_nothing(self, ranked: list[dict]) -> list[dict]:
        """Return the ranking with "do nothing" (net impact 0) in its place, every row numbered.

        With a forecast it sits below every scheme expected to gain and above every scheme
        expected to lose; without one it comes first (it costs nothing, and nothing is shown to pay).
        """
        _, f = self._, self.fmt
        row = {"baseline": True, "name": _("Do nothing"), "kind": _("Baseline"),
               "verdict": _("No scheme: no scheme cost and no extra margin, a net impact of zero. A scheme "
                            "ranked below this line is expected to lose money."),
               "facts": [(_("Expected net impact"), f.money(0, 0))]}
        at = 0
        for i, item in enumerate(ranked):
            mean = ((item["scheme"].get("forecast") or {}).get("net_impact") or {}).get("mean")
            if mean is not None and mean > 0:
                at = i + 1
        out = ranked[:at] + [row] + ranked[at:]
        for position, item in enumerate(out, start=1):
            item["position"] = position
        return out

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
                  "backtest.customers_rewarded": _("Customers who used a reward"),
                  "backtest.rewarded_share": _("Members rewarded"),
                  "forecast.net_impact.mean": _("Expected net impact"),
                  "forecast.probability_positive": _("Chance it pays")}

        def show(key: str, v) -> str:
            return "–" if v is None else fmt_of.get(key, str)(v)

        rows = [[_("Your data"), labels.get(k, k), show(k, d["old"]), show(k, d["new"])]
                for k, d in ch.get("data", {}).items() if show(k, d["old"]) != show(k, d["new"])]
        for sc in ch.get("schemes", []):
            if sc.get("new"):
                rows.append([sc["name"], _("New scheme"), "–", str(sc["rank"]["new"])])
                continue
            if sc.get("rank_changed"):
                rows.append([sc["name"], _("Rank"), str(sc["rank"]["old"]), str(sc["rank"]["new"])])
            for k, d in sc.get("figures", {}).items():
                if show(k, d["old"]) != show(k, d["new"]):  # a change too small to see is none
                    rows.append([sc["name"], labels.get(k, k), show(k, d["old"]), show(k, d["new"])])
        return {"previous_last_date": show("last_date", ch.get("previous_last_date")),
                "ranking_changed": ch.get("ranking_changed", False),
                "table": self._table(_("Figures that moved, before and now"),
                                     [_("Where"), _("Figure"), _("Before"), _("Now")], rows)}

    def _facts(self, s: dict) -> list[tuple[str, str]]:
        """Return the two or three headline figures shown on a scheme's card."""
        _, f, fc, bt = self._, self.fmt, s.get("forecast"), s["backtest"]
        facts = []
        if fc:
            facts.append((_("Expected net impact"), f.money(fc["net_impact"]["mean"], 0)))
            facts.append((_("Chance it pays, under the ranges you gave"), f.percent(fc["probability_positive"], 0)))
            if fc.get("deadweight_share") is not None:
                facts.append((_("Reward cost on purchases that happen anyway"), f.percent(fc["deadweight_share"], 0)))
        facts.append((_("Cost over your history"), f.money(bt["total_cost"], 0)))
        # the same figure, and the same words, as the verdict beside it
        reached = bt.get("rewarded_within_year_share", bt.get("rewarded_share", 0.0))
        facts.append((_("Members rewarded within a year"), share(f, reached)))
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
            rows = [[figure_label(k, _)] + [self._cell(s, k, kind) for s in ss]
                    for k, kind in figure_columns(ss) if k.startswith(block + ".")]
            if block == "forecast" and not any(s.get("forecast") for s in ss):
                continue
            tables.append(self._table(caption, cols, rows, "comparison"))
        return tables

    def _cell(self, s: dict, key: str, kind: str) -> str:
        """Return one scheme's figure for the comparison table; reward counts carry their unit
        where a points scheme (whose "rewards" are points) sits beside the others."""
        value = lookup(s, key)
        shown = format_figure(value, kind, self.fmt)
        if value is None or key not in REWARD_COUNTS or not any(x.get("kind") == "points" for x in self.schemes):
            return shown
        tr, n = as_translations(self._), int(round(value))
        if s.get("kind") == "points":
            return tr.ngettext("%(n)s point", "%(n)s points", n) % {"n": shown}
        return tr.ngettext("%(n)s reward", "%(n)s rewards", n) % {"n": shown}

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
                "facts": self._facts(s), "charts": chart_list, "caveats": self._caveats(s),
                "segments": self._segments(fc), "spread": spread_sentence(fc, self.fmt, _)}

    def _segments(self, fc: dict | None) -> dict | None:
        """Return the table of members, reward cost, deadweight and extra margin by buyer segment."""
        if not fc or not fc.get("segments"):
            return None
        _, f = self._, self.fmt
        cuts = (self.res.get("model") or {}).get("segments") or {}
        names = {"light": _("Light buyers"), "medium": _("Medium buyers"), "heavy": _("Heavy buyers")}
        rows = [[names.get(g["segment"], g["segment"]), f.number(g["members"]), f.money(g["reward_cost"], 0),
                 f.percent(g["deadweight_share"], 0) if g["deadweight_share"] is not None else "–",
                 f.money(g["incremental_margin"], 0)] for g in fc["segments"]]
        caption = _("Members by how often they bought in your history: a third of your identified customers each. "
                    "Light buyers came up to %(light)s times a year, medium buyers up to %(medium)s, heavy "
                    "buyers more often.") % {"light": f.number(cuts.get("light_up_to"), 1),
                                              "medium": f.number(cuts.get("medium_up_to"), 1)}
        return self._table(caption, [_("Segment"), _("Expected members"), _("Reward cost"),
                                     _("Share paid on purchases that happen anyway"), _("Extra margin")],
                           rows, "segments")

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
            out.append(_("Only %(s)s of members would ever use a reward; most would see no benefit.")
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
        if d.get("rows_used_zero_amount"):
            rows.append([_("Used: zero-amount visits (no revenue)"), f.number(d["rows_used_zero_amount"])])
        for reason, n in sorted((d.get("rows_rejected") or {}).items()):
            rows.append([_("Rejected: %(reason)s") % {"reason": _(rejection_label(reason))}, f.number(n)])
        rows += [[_("Anonymous transactions"), f.number(d.get("anonymous_transactions"))],
                 [_("Anonymous revenue"), f.money(d.get("anonymous_revenue"), 0)],
                 [_("Returns"), f.money(d.get("returns"), 0)]]
        examples = [{"reason": _(rejection_label(reason)), "lines": lines}
                    for reason, lines in sorted((d.get("rejected_examples") or {}).items())]
        table = self._table(_("Every row of the sales export ends in exactly one bucket"),
                            [_("Rows"), _("Count")], rows, "quality")
        visits = {
            "order": _("Lines that share an order number are one visit: %(n)s visits in all."),
            "time": _("The export has no order column, so the lines of one customer at one date and "
                      "time are one visit: %(n)s visits in all."),
            "date": _("The export has no order column, so the lines of one customer on one date are "
                      "one visit: %(n)s visits in all."),
        }[d.get("visits", "order")] % {"n": f.number(d.get("transactions"))}
        return {"table": table, "examples": examples, "inputs": self.res.get("inputs") or [],
                "visits": visits}

    def method(self) -> dict:
        """Return the method page: docs, model fit, assumptions and reproducibility."""
        _, f, t = self._, self.fmt, self.theme
        model = self.res.get("model")
        chart_list, model_table, candidates, deciles = [], None, None, None
        if model:
            bg, gg = model.get("bgnbd") or {}, model.get("gamma_gamma") or {}
            chosen = model.get("chosen") or "bgnbd"
            fitted = {c["name"]: c for c in model.get("candidates") or []}
            label = MODEL_LABELS.get(chosen, chosen)
            if chosen in fitted:
                rows = [[_("Purchase model"), label]]
                rows += [[f"{label} {k}", f.number(v, 4)] for k, v in _in_order(fitted[chosen]["params"])]
                rows += [[_("%(model)s log-likelihood") % {"model": label}, f.number(fitted[chosen]["loglik"], 2)]]
            else:  # results.json from before the model family
                rows = [[f"BG/NBD {k}", f.number(bg.get(k), 4)] for k in ("r", "alpha", "a", "b")]
                rows += [[_("%(model)s log-likelihood") % {"model": "BG/NBD"}, f.number(bg.get("loglik"), 2)]]
            rows += [[f"Gamma-Gamma {k}", f.number(gg.get(k), 4)] for k in ("p", "q", "v")]
            if gg.get("loglik") is not None:
                rows.append([_("Gamma-Gamma log-likelihood"), f.number(gg["loglik"], 2)])
            rows += [[_("Customers fitted"), f.number(model.get("customers"))],
                     [_("Repeat customers"), f.number(model.get("repeat_customers"))],
                     [_("Converged"), _("yes") if model.get("converged") else _("no")],
                     [_("Expected transactions without a scheme"), f.number(model.get("expected_transactions"))],
                     [_("Expected revenue without a scheme"), f.money(model.get("expected_revenue"), 0)]]
            rows += self._new_customer_rows(model.get("new_customers"))
            model_table = self._table(_("Customer model"), [_("Parameter"), _("Value")], rows, "model")
            if fitted:
                candidates = self._candidates(fitted, chosen)
            checks = model.get("checks")
            if checks:
                chart_list = [charts.tracking("method-tracking", checks, t, f, _)]
                if checks.get("repeat_histogram"):
                    chart_list.append(charts.repeat_histogram("method-repeat", checks, t, f, _))
                if checks.get("deciles") and checks.get("holdout"):
                    deciles = self._deciles(checks)
        return {"page": "method", "page_title": _("Method and assumptions"), "docs": self.docs,
                "model_table": model_table, "candidates": candidates, "deciles": deciles,
                "charts": chart_list, "model_skipped": None if model else self.skip_reason,
                "assumptions": self._assumptions(), "switches": self._switches(),
                "business": self._business(), "repro": self._repro()}

    def _candidates(self, fitted: dict, chosen: str) -> dict:
        """Return the table of the four purchase models: parameters, log-likelihood, holdout error."""
        _, f = self._, self.fmt
        rows = []
        for name, c in fitted.items():
            params = ", ".join(f"{k} {f.number(v, 4)}" for k, v in _in_order(c["params"]))
            err = c.get("holdout_error")
            rows.append([MODEL_LABELS.get(name, name), params if c.get("converged", True) else _("not fitted"),
                         f.number(c["loglik"], 2) if c.get("converged", True) else "—",
                         f.percent(err) if err is not None else "—", _("yes") if name == chosen else ""])
        return self._table(_("The four purchase models, each fitted to your sales"),
                           [_("Model"), _("Parameters"), _("Log-likelihood"), _("Holdout error"), _("Chosen")],
                           rows, "candidates")

    def _deciles(self, checks: dict) -> dict:
        """Return the holdout check by decile of the prediction, with its one-line reading."""
        _, f = self._, self.fmt
        hold = checks["holdout"]
        rows = [[f.number(d["decile"]), f.number(d["customers"]), f.number(d["predicted"], 1),
                 f.number(d["actual"])] for d in checks["deciles"]]
        rows.append([_("All"), f.number(sum(d["customers"] for d in checks["deciles"])),
                     f.number(hold["predicted"], 1), f.number(hold["actual"])])
        table = self._table(_("Holdout check by decile of the prediction (1 = the customers expected to buy least)"),
                            [_("Decile"), _("Customers"), _("Predicted"), _("Actual")], rows, "deciles")
        reading = _("Fitted on the sales up to %(end)s, the model expected %(predicted)s purchase occasions from "
                    "these customers over the next %(weeks)s weeks; they made %(actual)s (%(error)s). Within "
                    "%(limit)s either way the forecast is trusted; beyond it every verdict says so.") % {
            "limit": f.percent(FORECAST_ERROR_LIMIT, 0),
            "end": f.date(hold["calibration_end"]),
            "predicted": f.number(hold["predicted"], 1), "weeks": f.number(hold["holdout_weeks"], 1),
            "actual": f.number(hold["actual"]),
            "error": f.lift(hold["error"])}
        return {"table": table, "reading": reading}

    def _new_customer_rows(self, new: dict | None) -> list[list[str]]:
        """Return the model table's rows on new customers: the fitted weekly rate and what it rests on."""
        if not new:
            return []
        _, f = self._, self.fmt
        terms = {"level": _("a constant rate"), "trend": _("a trend"),
                 "trend+season": _("a trend and an annual season")}
        return [[_("New customers a week now"), f.number(new.get("weekly_rate"), 1)],
                [_("New customers expected over the horizon"), f.number(new.get("expected"))],
                [_("New customers: weeks fitted"),
                 _("%(weeks)s weeks (the first %(burn)s left out), with %(terms)s") % {
                     "weeks": f.number(new.get("weeks_fitted")), "burn": f.number(new.get("burn_in_weeks")),
                     "terms": terms.get(new.get("terms"), new.get("terms"))}]]

    def _assumptions(self) -> dict:
        """Return every numeric assumption with low/likely/high (shares as percentages) and
        where it comes from."""
        _, f = self._, self.fmt
        rows = []
        base = self.res["program"].get("assumptions") or {}
        segments = {"light": _("Light buyers"), "medium": _("Medium buyers"), "heavy": _("Heavy buyers")}

        def add(name: str, value: Any, source: str) -> None:
            label = assumption_label(name, _)
            if isinstance(value, dict) and "light" in value:  # one value per segment
                for seg, seg_label in segments.items():
                    rows.append([f"{label} — {seg_label}", *_range_cells(value[seg], f, _, name), source])
            elif name == "segment_split" and isinstance(value, (list, tuple)):
                for seg_label, x in zip(segments.values(), value):
                    rows.append([f"{label} — {seg_label}", "", "×" + f.number(x, 2), "", source])
            else:
                rows.append([label, *_range_cells(value, f, _, name), source])

        for name, value in base.items():
            if not isinstance(value, bool):
                add(name, value, _("program file"))
        for s in self.schemes:
            for name, value in (s.get("assumptions") or {}).items():
                if value != base.get(name) and not isinstance(value, bool):
                    add(name, value, _("scheme “%(name)s”") % {"name": s["name"]})
        return self._table(_("Assumptions"), [_("Assumption"), _("Low"), _("Most likely"), _("High"), _("Source")],
                           rows, "assumptions")

    def _switches(self) -> list[str]:
        """Return the on/off assumptions as sentences (they are not numbers for the table)."""
        _ = self._
        out = []
        base = self.res["program"].get("assumptions") or {}
        for name, value in base.items():
            if isinstance(value, bool):
                out.append(_("%(assumption)s: %(value)s (program file).")
                           % {"assumption": assumption_label(name, _), "value": _plain(value, self.fmt, _)})
        for s in self.schemes:
            for name, value in (s.get("assumptions") or {}).items():
                if isinstance(value, bool) and value != base.get(name):
                    out.append(_("%(assumption)s: %(value)s (scheme “%(name)s”).")
                               % {"assumption": assumption_label(name, _), "name": s["name"],
                                  "value": _plain(value, self.fmt, _)})
        return out

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


def _signed_share(f: Formatter, x: float) -> str:
    """Return a lift as a signed percentage, one decimal below 10 % (``+4 %``, ``+2,5 %``)."""
    return f.lift(x, 1 if abs(x) < 0.1 and round(x * 100, 1) != round(x * 100) else 0)


# Assumptions that are shares (printed as percentages, like the gross margin beside them)
# and changes (signed percentages).
SHARE_ASSUMPTIONS = ("enrollment", "redemption_rate", "goal_gradient", "endowed_progress")
LIFT_ASSUMPTIONS = ("visit_lift", "spend_lift", "retention_lift", "acquisition_lift")


def _range_cells(value: Any, f: Formatter, _: Callable[[str], str], name: str = "") -> list[str]:
    """Return low/likely/high cells for a range, or the single value in the middle cell."""
    def cell(v: Any) -> str:
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            if name in SHARE_ASSUMPTIONS:
                return f.percent(v)
            if name in LIFT_ASSUMPTIONS:
                return f.lift(v)
        return _plain(v, f, _)

    if isinstance(value, dict) and {"low", "likely", "high"} <= value.keys():
        return [cell(value["low"]), cell(value["likely"]), cell(value["high"])]
    return ["", cell(value), ""]


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

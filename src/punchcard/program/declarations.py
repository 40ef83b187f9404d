"""The declaration of every program-file key, per section and per scheme kind."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import yaml

from punchcard.program.containers import Key, _List, _Obj, _Range, _SegRange
from punchcard.program.kinds import kinds
from punchcard.program.converters import SLUG, _currency, _encoding, _locale, _slug_hint
from punchcard.program.types import (
    Business, FixedCosts, ForecastSettings, Response, Reward, Sales, SalesFormat,
    SiteSettings, Tier, TuneRange,
)
from punchcard.program.problems import INVALID, _show
from punchcard.program.types import DEFAULT_SEGMENT_SPLIT, SEGMENT_NAMES
from punchcard.program.value_types import (Allowance, Bool, _Date, _Image, Num, _SalesPaths, Str,
                                           _Type)
from punchcard.program.yaml_marks import _Ctx, _find


# Upper limits far above any real setting, so that a typo (`stamps: 1000000000`, a
# reward of 1e308) is an error at its line rather than figures that mean nothing.
MAX_MONEY = 1e12  # as for one row of sales (punchcard.ingest.parse.MAX_AMOUNT)
MAX_COUNT = 1_000_000  # stamps, points thresholds, head starts
MAX_DAYS = 36_525  # a hundred years
MAX_LIFT = 10.0  # a lift of +1,000 %
SHARE = Num(0, 1, example=0.25)
MONEY = Num(0, MAX_MONEY, example=0)
POSITIVE = Num(0, MAX_MONEY, min_exclusive=True, example=10)
DAYS = Num(1, MAX_DAYS, integer=True, example=30)
MONTHS = Num(1, 1200, integer=True, example=12)

ASSUMPTION_KEYS = (
    Key("enrollment", _SegRange(Num(0, 1)),
        "Share of identified customers who join the scheme; one value for everyone, or one per segment "
        "`{light, medium, heavy}` (new customers take the average).", 0.4),
    Key("visit_lift", _SegRange(Num(-1, MAX_LIFT)),
        "Relative change in members' visit rate (0.05 = 5 % more visits); one value, split over light, "
        "medium and heavy buyers by `segment_split`, or one per segment `{light, medium, heavy}`.", 0.0),
    Key("spend_lift", _SegRange(Num(-1, MAX_LIFT)),
        "Relative change in members' basket size (plain, or per segment as `visit_lift`).", 0.0),
    Key("retention_lift", _SegRange(Num(-1, 1)),
        "Relative cut in members' probability of dropping out (plain, or per segment as `visit_lift`).", 0.0),
    Key("redemption_rate", _Range(Num(0, 1)),
        "Share of earned rewards that are actually claimed.", 1.0),
    Key("frequency_bias", Num(0, 100, example=1),
        "How strongly enrollment favours frequent customers (0 = every customer as likely to join).",
        0.0),
    Key("goal_gradient", _Range(Num(0, 0.9)),
        "Largest cut in the time between purchases as a stamp card nears its reward "
        "(0 = off; Kivetz et al. 2006 found about 0.2).", 0.0),
    Key("post_reward_reset", Bool(),
        "Whether the purchase pace falls back to normal once a reward is earned.", True),
    Key("endowed_progress", _Range(Num(0, MAX_LIFT)),
        "Relative lift in card completion from a `head_start` (0 = off).", 0.0),
    Key("displacement", _Range(Num(0, 1)),
        "Share of free items (rewards of `type: item`) that replace a purchase the customer would have "
        "paid for; each costs `cost + displacement × (value − cost)` (docs/method.md).",
        {"low": 0.5, "likely": 0.8, "high": 1.0}),
    Key("acquisition_lift", _Range(Num(0, MAX_LIFT)),
        "Extra new customers the scheme brings, relative to the shop's own rate of new customers "
        "(0.1 = 10 % more); they all join. Default 0: no evidence that loyalty schemes win customers "
        "(docs/forecast.md).", 0.0),
    Key("segment_split", _Obj(tuple(Key(k, Num(0, example=1), f"Multiplier for {k} buyers.", w)
                                    for k, w in zip(SEGMENT_NAMES, DEFAULT_SEGMENT_SPLIT)),
                              build=lambda d: tuple(float(d.get(k, w)) for k, w in zip(SEGMENT_NAMES,
                                                                                      DEFAULT_SEGMENT_SPLIT)),
                              what="mapping {light, medium, heavy}"),
        "Multipliers that split a plain lift over light, medium and heavy buyers (terciles of purchase "
        "frequency); the default follows the evidence that heavy buyers change least (docs/forecast.md).",
        {"light": 1.5, "medium": 1.0, "heavy": 0.5}),
)
ASSUMPTIONS = _Obj(ASSUMPTION_KEYS, what="mapping of assumptions")

ROLES = ("customer", "date", "amount", "unit_price", "order", "items", "product", "store",
         "birthday")
_ROLE_DOCS = {
    "customer": "Customer id; empty cells are anonymous sales.",
    "date": "Date or date-time of the sale.",
    "amount": "Money paid on the row (negative for a return).",
    "unit_price": "Price per item, for line-item exports without an amount.",
    "order": "Receipt or order number: rows sharing it are one transaction.",
    "items": "Number of items on the row.",
    "product": "Product name or code.",
    "store": "Store or till.",
    "birthday": "Customer's birthday (for `birthday` schemes).",
}
_HEADER = Str(what="column header", example='"Kundenummer"')


# The reasons a row can be rejected for (``ingest.REASONS``, kept in step by a test): the
# program file may accept some of them (``sales.accept``) so that `--strict` can gate CI.
REJECTION_REASONS = {
    "empty_line": "A line with no values.",
    "missing_date": "A row without a date.",
    "bad_date": "A date that cannot be read.",
    "missing_amount": "A row without an amount.",
    "bad_amount": "An amount that cannot be read.",
    "bad_items": "A quantity that cannot be read.",
    "zero_amount": "A line of amount zero.",
    "duplicate_line": "A line repeated from another file of the same input.",
    "outside_window": "A row outside `sales.window`.",
    "date_outlier": "A date far from all the others (docs/data.md).",
}
_ALLOW = Allowance()


def _window_order(values: dict, nodes: dict, node: yaml.Node, path: str, ctx: _Ctx) -> None:
    start, end = values.get("start"), values.get("end")
    if start and end and start > end:
        ctx.report(nodes["end"], f"{path}.end", f"the window ends ({end}) before it starts ({start})",
                   "swap `start` and `end`")


SALES = _Obj((
    Key("path", _SalesPaths(),
        "Sales export: a file, a list of files or a glob, relative to this file "
        "(.csv, .csv.gz or .parquet); or a URL (s3://, gs://, abfs://, file://) that the "
        "workers of a Dask cluster read (build --scheduler, docs/scale.md)."),
    Key("columns", _Obj(tuple(Key(r, _HEADER, _ROLE_DOCS[r], None) for r in ROLES),
                        build=lambda d: {k: v for k, v in d.items() if v is not None},
                        what="mapping of roles to headers"),
        "Export header for each role; roles left out are detected.", {}),
    Key("format", _Obj((
        Key("delimiter", Str(pattern=r"(?s:.)", what="single character", example='";"'),
            "Field separator.", None),
        Key("decimal", Str(choices=(".", ",")), "Decimal mark.", None),
        Key("thousands", Str(pattern=r"(?s:.)", what="single character", example='" "'),
            "Thousands separator.", None),
        Key("date_format", Str(pattern=r".*%.*", what="strftime pattern", example='"%d.%m.%Y"'),
            "Date format, e.g. `%d.%m.%Y`; needed when day and month order is ambiguous.", None),
        Key("encoding", Str(convert=_encoding, what="text encoding", example="cp1252"),
            "Text encoding, e.g. `utf-8` or `cp1252`.", None),
        Key("zero_amount", Str(choices=("keep", "reject")),
            "Zero-amount sales: `keep` them as visits with no revenue, or `reject` them.", "keep"),
    ), build=lambda d: SalesFormat(**d), what="mapping of format settings"),
        "How the export is written; anything left out is sniffed.", {}),
    Key("window", _Obj((
        Key("start", _Date(), "First day analysed.", None),
        Key("end", _Date(), "Last day analysed.", None),
    ), build=lambda d: (d.get("start"), d.get("end")), checks=(_window_order,),
        what="mapping with start and end"),
        "Only analyse this period; rows outside it count as rejected.", None),
    Key("cancel_prefix", Str(example='"C"'),
        "Order numbers starting with this text are cancellations (returns).", None),
    Key("accept", _Obj(tuple(Key(r, _ALLOW, doc, None) for r, doc in REJECTION_REASONS.items()),
                       build=lambda d: {k: v for k, v in d.items() if v is not None},
                       what="mapping of rejection reasons to what is accepted"),
        "Rejected rows a build accepts without a warning (so `--strict` passes): per reason, "
        "`any`, a share of the rows read such as `0.1%`, or a number of rows; "
        "e.g. `{zero_amount: any, bad_date: 0.1%}`.", None),
), build=lambda d: Sales(paths=d["path"][1], declared=d["path"][0],
                         **{k: v for k, v in d.items() if k != "path" and v is not None}))

BUSINESS = _Obj((
    Key("gross_margin", Num(0, 1, example=0.65),
        "Share of revenue kept after the cost of goods sold."),
    Key("horizon_months", Num(1, 60, integer=True, example=12), "Forecast horizon in months.", 12),
    Key("fixed_costs", _Obj((
        Key("setup", MONEY, "One-off cost of launching the scheme.", 0.0),
        Key("monthly", MONEY, "Running cost per month (software, staff time).", 0.0),
        Key("per_member_year", MONEY, "Cost per member per year (cards, app seats).", 0.0),
    ), build=lambda d: FixedCosts(**d), what="mapping of costs"),
        "Costs added to every scheme, in the program's currency.", {}),
), build=lambda d: Business(**d))

FORECAST = _Obj((
    Key("draws", Num(1, 100000, integer=True, example=200),
        "Monte Carlo draws of the ranged assumptions.", 200),
    Key("max_customers", Num(1, 100_000_000, integer=True, example=10000),
        "Customers simulated at most; a larger base is sampled and weighted.", 10000),
    Key("model", Str(choices=("auto", "bgnbd", "mbgnbd", "pareto_nbd", "nbd")),
        "Purchase model: `auto` (the best on the holdout check) or one of `bgnbd`, `mbgnbd`, "
        "`pareto_nbd`, `nbd`.", "auto"),
), build=lambda d: ForecastSettings(**d))

SITE = _Obj((
    Key("title", Str(example='"Loyalty options"'), "Site title (default: the program's name).",
        None),
    Key("logo", _Image(), "Logo image (PNG, JPEG, GIF, WebP or SVG) in this file's folder or "
        "below it, relative to this file.", None),
    Key("primary_color", Str(pattern=r"#(?:[0-9a-fA-F]{3}){1,2}", what="colour like #1f6feb",
                              example='"#1f6feb"',
                              hint="quote it: YAML reads an unquoted `#` as a comment"),
        "Accent colour, `#rgb` or `#rrggbb`.", None),
    Key("footer", Str(example='"Prepared for …"'), "Text at the foot of every page.", None),
), build=lambda d: SiteSettings(**d))

REWARD_TYPE = Str(choices=("discount", "item"))
COST = Key("cost", MONEY, "What one redeemed reward costs the business "
            "(default: value × (1 − gross_margin)).", None)

REWARD = _Obj((
    Key("value", POSITIVE, "What the reward is worth to the customer."),
    COST,
    Key("type", Str(choices=("item", "discount")),
        "`item`: a free product; `discount`: money off, capped at the bill.", "item"),
), build=lambda d: Reward(**d), what="mapping with value, cost and type")

TIER = _Obj((
    Key("name", Str(example="Gold"), "Tier name shown in the report."),
    Key("min_spend", MONEY, "Spend in the trailing window needed to reach the tier."),
    Key("discount", SHARE, "Discount on every transaction in the tier (0.05 = 5 %).", 0.0),
    Key("multiplier", Num(0, 1000, example=1.5), "Points multiplier in the tier.", 1.0),
    Key("perk_cost_year", MONEY, "Cost of the tier's perks per member per year.", 0.0),
), build=lambda d: Tier(**d), what="tier")
TIERS = _List(TIER, unique="name", what="list of tiers", max_items=20,
              max_hint="a tier ladder has a few steps; merge some")
WINDOW_MONTHS = Key("window_months", Num(1, 120, integer=True, example=12),
                     "Trailing months of spend that decide a member's tier.", 12)
MIN_PURCHASE = Key("min_purchase", MONEY, "Smallest bill that qualifies.", 0.0)


@dataclass(frozen=True)
class _KindName(_Type):
    """The `kind:` of a scheme: one of the kinds declared in ``schemes/`` (found when first read)."""

    def _names(self) -> Str:
        return Str(choices=tuple(kinds()))

    def label(self) -> str:
        return self._names().label()

    def load(self, node: yaml.Node, path: str, ctx: _Ctx) -> Any:
        return self._names().load(node, path, ctx)

    def schema(self) -> dict:
        return self._names().schema()


_ID = Str(pattern=SLUG, what="slug", hint=_slug_hint("scheme id"))
SCHEME_COMMON = (
    Key("id", _ID, "Short name used in file names and links (a slug)."),
    Key("name", Str(example='"Tenth coffee free"'), "Name shown in the report.",
        default_doc="the id"),
    Key("kind", _KindName(), "Scheme kind; decides the other keys."),
    Key("description", Str(example='"…"'), "A sentence or two shown with the scheme.", None),
    Key("assumptions", ASSUMPTIONS, "Overrides of the program's assumptions for this scheme.", {}),
)
_COMMON_NAMES = frozenset(k.name for k in SCHEME_COMMON) | {"tune"}


# --- `tune:` (punchcard tune): the parameters a kind lets `tune` search (``Kind.tunable``) ---


def _tune_range_order(values: dict, nodes: dict, node: yaml.Node, path: str, ctx: _Ctx) -> None:
    for name, vals in values.items():
        if vals is None:
            continue
        if len(vals) > 3:
            ctx.report(nodes[name], f"{path}.{name}", f"expected [min, max] or [min, max, step], found "
                       f"{len(vals)} numbers", f"write e.g. `{name}: [{vals[0]}, {vals[1]}]`")
        elif vals[0] > vals[1]:
            ctx.report(nodes[name], f"{path}.{name}", f"the range ends ({vals[1]}) below its start ({vals[0]})",
                       f"write the smaller number first: `{name}: [{vals[1]}, {vals[0]}]`")
        elif len(vals) == 3 and vals[2] <= 0:
            ctx.report(nodes[name], f"{path}.{name}", f"the step must be above 0, found {vals[2]}",
                       f"write e.g. `{name}: [{vals[0]}, {vals[1]}, 1]`")


def _tune_key(tunable: tuple[tuple[str, bool, str], ...]) -> Key:
    """Return the `tune:` key of a kind whose ``tunable`` parameters are (path, whole numbers only, what it is)."""
    keys = tuple(Key(name, _List(Num(0, integer=whole, example=1), min_items=2, what="[min, max, step] list"),
                     doc + " Searched from min to max by step.", None)
                 for name, whole, doc in tunable)
    return Key("tune", _Obj(keys, build=lambda d: {k: TuneRange(*v) for k, v in d.items() if v is not None},
                            checks=(_tune_range_order,), what="mapping of parameters to [min, max, step]"),
               "Parameters `punchcard tune` searches, each `[min, max]` or `[min, max, step]` "
               "(none: the kind's defaults, docs/forecast.md §7).", None)


def _scheme_builder(kind: str) -> Callable[[dict], dict]:
    def build(values: dict) -> dict:
        params = {k: v for k, v in values.items() if k not in _COMMON_NAMES}
        if params.get("tiers"):
            params["tiers"] = tuple(sorted(params["tiers"], key=lambda t: t.min_spend))
        common = {k: v for k, v in values.items() if k in _COMMON_NAMES}
        return {**common, "kind": kind, "params": kinds()[kind].params(**params)}
    return build


@dataclass(frozen=True)
class _SchemeType(_Type):
    """A scheme mapping: its `kind` decides which keys are valid."""

    def objects(self) -> dict[str, _Obj]:
        return {kind: _Obj(SCHEME_COMMON + spec.keys + ((_tune_key(spec.tunable),) if spec.tunable else ()),
                           build=_scheme_builder(kind),
                           checks=spec.checks, schema_extra=spec.schema_extra)
                for kind, spec in kinds().items()}

    def label(self) -> str:
        return "scheme"

    def load(self, node: yaml.Node, path: str, ctx: _Ctx) -> Any:
        if not isinstance(node, yaml.MappingNode):
            return ctx.report(node, path, f"expected a scheme (a mapping with id, kind, …), "
                              f"found {_show(ctx.scalar(node, path))}",
                              "write the scheme's keys indented under `- `")
        kind_node = _find(node, "kind")
        if kind_node is None:
            return ctx.report(node, f"{path}.kind", "`kind` is missing",
                              "add `kind:` with one of " + ", ".join(kinds()))
        kind = _KindName().load(kind_node, f"{path}.kind", ctx)
        if kind is INVALID:
            return kind
        return self.objects()[kind].load(node, path, ctx)

    def schema(self) -> dict:
        common = _Obj(SCHEME_COMMON).schema()
        branches = [{"if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]},
                     "then": {**obj.schema(), "description": kinds()[kind].doc}}
                    for kind, obj in self.objects().items()]
        return {"type": "object", "properties": common["properties"],
                "required": common["required"], "allOf": branches}


_PROGRAM_ID = Str(pattern=SLUG, what="slug", hint=_slug_hint("program id"))
PROGRAM = _Obj((
    Key("id", _PROGRAM_ID, "Short name of the program: its folder in the site (a slug).",
        default_doc="the file's stem"),
    Key("name", Str(example='"Kaffebar — loyalty options 2027"'), "Title of the report.",
        default_doc="the id"),
    Key("locale", Str(convert=_locale, what="locale", example="nb-NO"),
        "Report language and number, date and currency formats (e.g. `nb-NO`, `pt-BR`).",
        "en-GB"),
    Key("currency", Str(convert=_currency, what="ISO 4217 currency code", example="NOK"),
        "Currency of the sales export (ISO 4217, e.g. `NOK`)."),
    Key("sales", SALES, "The sales export and how to read it."),
    Key("business", BUSINESS, "Margin, forecast horizon and fixed costs."),
    Key("assumptions", ASSUMPTIONS, "Behavioural assumptions for every scheme; "
        "a scheme's own `assumptions` override them.", {}),
    Key("forecast", FORECAST, "Monte Carlo settings.", {}),
    Key("site", SITE, "Branding of the generated site.", {}),
    Key("response", _Obj((
        Key("generosity_elasticity", _Range(Num(0)),
            "How the visit lift grows with generosity: lift = visit_lift × (generosity ÷ the "
            "scheme's own)^elasticity. An assumption with no default; `punchcard tune` names a "
            "single best variant only when it is given.", None),
    ), build=lambda d: Response(**d), what="mapping of response assumptions"),
        "How members respond to a more generous scheme (used by `punchcard tune`).", {}),
    Key("schemes", _List(_SchemeType(), unique="id", what="list of schemes", max_items=100,
                         max_hint="a decision compares a handful of schemes; split them into "
                         "several program files"),
        "The candidate schemes to compare."),
))

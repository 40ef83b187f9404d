"""The declaration of every program-file key, per section and per scheme kind."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import yaml

from punchcard.program.containers import Check, Key, _List, _Obj, _Range
from punchcard.program.converters import SLUG, _currency, _encoding, _locale, _slug_hint
from punchcard.program.types import (
    KIND_PARAMS, Business, FixedCosts, ForecastSettings, Reward, Sales, SalesFormat,
    SiteSettings, Tier,
)
from punchcard.program.problems import INVALID, _show
from punchcard.program.value_types import _Bool, _Date, _File, _Num, _SalesPaths, _Str, _Type
from punchcard.program.yaml_marks import _Ctx, _find


_SHARE = _Num(0, 1, example=0.25)
_MONEY = _Num(0, example=0)
_POSITIVE = _Num(0, min_exclusive=True, example=10)
_DAYS = _Num(1, integer=True, example=30)

ASSUMPTION_KEYS = (
    Key("enrollment", _Range(_Num(0, 1)),
        "Share of identified customers who join the scheme.", 0.4),
    Key("visit_lift", _Range(_Num(-1)),
        "Relative change in members' visit rate (0.05 = 5 % more visits).", 0.0),
    Key("spend_lift", _Range(_Num(-1)),
        "Relative change in members' basket size.", 0.0),
    Key("retention_lift", _Range(_Num(-1, 1)),
        "Relative cut in members' probability of dropping out.", 0.0),
    Key("redemption_rate", _Range(_Num(0, 1)),
        "Share of earned rewards that are actually claimed.", 1.0),
    Key("frequency_bias", _Num(0, example=1),
        "How strongly enrollment favours frequent customers (0 = every customer as likely to join).",
        0.0),
    Key("goal_gradient", _Range(_Num(0, 0.9)),
        "Largest cut in the time between purchases as a stamp card nears its reward "
        "(0 = off; Kivetz et al. 2006 found about 0.2).", 0.0),
    Key("post_reward_reset", _Bool(),
        "Whether the purchase pace falls back to normal once a reward is earned.", True),
    Key("endowed_progress", _Range(_Num(0)),
        "Relative lift in card completion from a `head_start` (0 = off).", 0.0),
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
_HEADER = _Str(what="column header", example='"Kundenummer"')


def _window_order(values: dict, nodes: dict, node: yaml.Node, path: str, ctx: _Ctx) -> None:
    start, end = values.get("start"), values.get("end")
    if start and end and start > end:
        ctx.report(nodes["end"], f"{path}.end", f"the window ends ({end}) before it starts ({start})",
                   "swap `start` and `end`")


SALES = _Obj((
    Key("path", _SalesPaths(),
        "Sales export: a file, a list of files or a glob, relative to this file "
        "(.csv, .csv.gz or .parquet)."),
    Key("columns", _Obj(tuple(Key(r, _HEADER, _ROLE_DOCS[r], None) for r in ROLES),
                        build=lambda d: {k: v for k, v in d.items() if v is not None},
                        what="mapping of roles to headers"),
        "Export header for each role; roles left out are detected.", {}),
    Key("format", _Obj((
        Key("delimiter", _Str(pattern=r"(?s:.)", what="single character", example='";"'),
            "Field separator.", None),
        Key("decimal", _Str(choices=(".", ",")), "Decimal mark.", None),
        Key("thousands", _Str(pattern=r"(?s:.)", what="single character", example='" "'),
            "Thousands separator.", None),
        Key("date_format", _Str(pattern=r".*%.*", what="strftime pattern", example='"%d.%m.%Y"'),
            "Date format, e.g. `%d.%m.%Y`; needed when day and month order is ambiguous.", None),
        Key("encoding", _Str(convert=_encoding, what="text encoding", example="cp1252"),
            "Text encoding, e.g. `utf-8` or `cp1252`.", None),
    ), build=lambda d: SalesFormat(**d), what="mapping of format settings"),
        "How the export is written; anything left out is sniffed.", {}),
    Key("window", _Obj((
        Key("start", _Date(), "First day analysed.", None),
        Key("end", _Date(), "Last day analysed.", None),
    ), build=lambda d: (d.get("start"), d.get("end")), checks=(_window_order,),
        what="mapping with start and end"),
        "Only analyse this period; rows outside it count as rejected.", None),
    Key("cancel_prefix", _Str(example='"C"'),
        "Order numbers starting with this text are cancellations (returns).", None),
), build=lambda d: Sales(paths=d["path"][1], declared=d["path"][0],
                         **{k: v for k, v in d.items() if k != "path" and v is not None}))

BUSINESS = _Obj((
    Key("gross_margin", _Num(0, 1, example=0.65),
        "Share of revenue kept after the cost of goods sold."),
    Key("horizon_months", _Num(1, 60, integer=True, example=12), "Forecast horizon in months.", 12),
    Key("fixed_costs", _Obj((
        Key("setup", _MONEY, "One-off cost of launching the scheme.", 0.0),
        Key("monthly", _MONEY, "Running cost per month (software, staff time).", 0.0),
        Key("per_member_year", _MONEY, "Cost per member per year (cards, app seats).", 0.0),
    ), build=lambda d: FixedCosts(**d), what="mapping of costs"),
        "Costs added to every scheme, in the program's currency.", {}),
), build=lambda d: Business(**d))

FORECAST = _Obj((
    Key("draws", _Num(1, 100000, integer=True, example=200),
        "Monte Carlo draws of the ranged assumptions.", 200),
    Key("max_customers", _Num(1, integer=True, example=10000),
        "Customers simulated at most; a larger base is sampled and weighted.", 10000),
), build=lambda d: ForecastSettings(**d))

SITE = _Obj((
    Key("title", _Str(example='"Loyalty options"'), "Site title (default: the program's name).",
        None),
    Key("logo", _File(), "Logo image, relative to this file.", None),
    Key("primary_color", _Str(pattern=r"#(?:[0-9a-fA-F]{3}){1,2}", what="colour like #1f6feb",
                              example='"#1f6feb"',
                              hint="quote it: YAML reads an unquoted `#` as a comment"),
        "Accent colour, `#rgb` or `#rrggbb`.", None),
    Key("footer", _Str(example='"Prepared for …"'), "Text at the foot of every page.", None),
), build=lambda d: SiteSettings(**d))

_REWARD_TYPE = _Str(choices=("discount", "item"))
_COST = Key("cost", _MONEY, "What one redeemed reward costs the business "
            "(default: value × (1 − gross_margin)).", None)

REWARD = _Obj((
    Key("value", _POSITIVE, "What the reward is worth to the customer."),
    _COST,
    Key("type", _Str(choices=("item", "discount")),
        "`item`: a free product; `discount`: money off, capped at the bill.", "item"),
), build=lambda d: Reward(**d), what="mapping with value, cost and type")

TIER = _Obj((
    Key("name", _Str(example="Gold"), "Tier name shown in the report."),
    Key("min_spend", _MONEY, "Spend in the trailing window needed to reach the tier."),
    Key("discount", _SHARE, "Discount on every transaction in the tier (0.05 = 5 %).", 0.0),
    Key("multiplier", _Num(0, example=1.5), "Points multiplier in the tier.", 1.0),
    Key("perk_cost_year", _MONEY, "Cost of the tier's perks per member per year.", 0.0),
), build=lambda d: Tier(**d), what="tier")
TIERS = _List(TIER, unique="name", what="list of tiers")
_WINDOW_MONTHS = Key("window_months", _Num(1, integer=True, example=12),
                     "Trailing months of spend that decide a member's tier.", 12)
_MIN_PURCHASE = Key("min_purchase", _MONEY, "Smallest bill that qualifies.", 0.0)


@dataclass(frozen=True)
class KindSpec:
    """A scheme kind: what it is, its keys, and checks across them."""

    doc: str
    keys: tuple[Key, ...]
    checks: tuple[Check, ...] = ()
    schema_extra: tuple[tuple[str, Any], ...] = ()


def _head_start_below_stamps(values: dict, nodes: dict, node: yaml.Node, path: str,
                             ctx: _Ctx) -> None:
    head, stamps = values.get("head_start", 0), values["stamps"]
    if head >= stamps:
        ctx.report(nodes["head_start"], f"{path}.head_start",
                   f"head_start {head} must be less than stamps {stamps}",
                   f"lower `head_start` below {stamps}, e.g. `head_start: {min(2, stamps - 1)}`")


def _rate_or_value(values: dict, nodes: dict, node: yaml.Node, path: str, ctx: _Ctx) -> None:
    given = [k for k in ("rate", "value") if values.get(k) is not None]
    if len(given) != 1:
        found = "both" if given else "neither"
        ctx.report(node, path, f"a coupon needs exactly one of `rate` and `value`, found {found}",
                   "give either `rate: 0.2` (a share of the bill) or `value: 30` (money off)")


KINDS: dict[str, KindSpec] = {
    "stamp_card": KindSpec(
        "A stamp per qualifying purchase; a reward when the card is full.", (
            Key("stamps", _Num(1, integer=True, example=9), "Stamps needed for a reward."),
            Key("counter", _Str(choices=("visits", "items", "spend")),
                "What earns stamps: each visit, each item, or each currency unit spent.",
                "visits"),
            _MIN_PURCHASE,
            Key("reward", REWARD, "The reward for a full card."),
            Key("expiry_days", _DAYS, "Days an earned reward stays valid (none = never expires).",
                None),
            Key("head_start", _Num(0, integer=True, example=2),
                "Stamps already on every new card (endowed progress).", 0),
        ), checks=(_head_start_below_stamps,)),
    "points": KindSpec(
        "Points per currency unit, redeemed as money off.", (
            Key("earn_per_unit", _POSITIVE, "Points earned per currency unit paid."),
            Key("point_value", _POSITIVE, "Money off per point redeemed."),
            Key("min_redeem", _Num(1, integer=True, example=100),
                "Smallest balance that is redeemed."),
            Key("redeem_step", _Num(1, integer=True, example=100),
                "Points are redeemed in multiples of this.", None, "`min_redeem`"),
            Key("expiry_months", _Num(1, integer=True, example=12),
                "Months without a purchase after which the balance lapses (none = never).", None),
            _MIN_PURCHASE,
            Key("tiers", TIERS, "Optional tiers whose `multiplier` scales the points earned.",
                None),
            _WINDOW_MONTHS,
        )),
    "tiers": KindSpec(
        "Status tiers by trailing spend, each with a discount and perks.", (
            Key("tiers", TIERS, "The tiers (sorted by `min_spend` when read)."),
            _WINDOW_MONTHS,
        )),
    "member_discount": KindSpec(
        "A flat discount on every member purchase.", (
            Key("rate", _SHARE, "Discount as a share of the bill (0.1 = 10 %)."),
            Key("cashback", _Bool(),
                "Pay the discount as credit at the next purchase instead of at once.", False),
            Key("expiry_days", _DAYS, "Days cashback credit stays valid (none = never).", None),
        )),
    "welcome_offer": KindSpec(
        "A voucher for new customers, used at their second purchase.", (
            Key("value", _POSITIVE, "Voucher value."),
            Key("type", _REWARD_TYPE, "`discount`: money off; `item`: a free product.",
                "discount"),
            _COST,
            _MIN_PURCHASE,
            Key("expiry_days", _DAYS, "Days the voucher stays valid (none = never).", 60),
            Key("new_after_days", _Num(0, integer=True, example=90),
                "A customer is new if first seen at least this many days after the data starts.",
                90),
        )),
    "birthday": KindSpec(
        "A yearly birthday voucher.", (
            Key("value", _POSITIVE, "Voucher value."),
            Key("type", _REWARD_TYPE, "`discount`: money off; `item`: a free product.",
                "discount"),
            _COST,
            Key("window_days", _DAYS, "Days after the birthday the voucher can be used.", 30),
        )),
    "coupons": KindSpec(
        "Periodic coupons for recently active members; give `rate` or `value`.", (
            Key("every_days", _DAYS, "Days between coupon rounds."),
            Key("active_days", _DAYS, "Members with a purchase in this many days get a coupon."),
            Key("valid_days", _DAYS, "Days a coupon stays valid."),
            Key("rate", _SHARE, "Discount as a share of the bill (instead of `value`).", None),
            Key("value", _POSITIVE, "Money off, capped at the bill (instead of `rate`).", None),
            _COST,
            _MIN_PURCHASE,
        ), checks=(_rate_or_value,),
        schema_extra=(("oneOf", [{"required": ["rate"]}, {"required": ["value"]}]),)),
    "perks": KindSpec(
        "Non-monetary benefits: their costs only; benefits come through the lifts.", (
            Key("cost_per_member_year", _MONEY, "Cost per member per year.", 0.0),
            Key("cost_per_event", _MONEY, "Cost per member of one member event (drinks, a gift).", 0.0),
            Key("events_per_year", _MONEY, "Member events per year; each costs `cost_per_event` per member.", 0.0),
        )),
}

_KIND = _Str(choices=tuple(KINDS))
_ID = _Str(pattern=SLUG, what="slug", hint=_slug_hint("scheme id"))
SCHEME_COMMON = (
    Key("id", _ID, "Short name used in file names and links (a slug)."),
    Key("name", _Str(example='"Tenth coffee free"'), "Name shown in the report.",
        default_doc="the id"),
    Key("kind", _KIND, "Scheme kind; decides the other keys."),
    Key("description", _Str(example='"…"'), "A sentence or two shown with the scheme.", None),
    Key("assumptions", ASSUMPTIONS, "Overrides of the program's assumptions for this scheme.", {}),
)
_COMMON_NAMES = frozenset(k.name for k in SCHEME_COMMON)


def _scheme_builder(kind: str) -> Callable[[dict], dict]:
    def build(values: dict) -> dict:
        params = {k: v for k, v in values.items() if k not in _COMMON_NAMES}
        if params.get("tiers"):
            params["tiers"] = tuple(sorted(params["tiers"], key=lambda t: t.min_spend))
        common = {k: v for k, v in values.items() if k in _COMMON_NAMES}
        return {**common, "kind": kind, "params": KIND_PARAMS[kind](**params)}
    return build


@dataclass(frozen=True)
class _SchemeType(_Type):
    """A scheme mapping: its `kind` decides which keys are valid."""

    def objects(self) -> dict[str, _Obj]:
        return {kind: _Obj(SCHEME_COMMON + spec.keys, build=_scheme_builder(kind),
                           checks=spec.checks, schema_extra=spec.schema_extra)
                for kind, spec in KINDS.items()}

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
                              "add `kind:` with one of " + ", ".join(KINDS))
        kind = _KIND.load(kind_node, f"{path}.kind", ctx)
        if kind is INVALID:
            return kind
        return self.objects()[kind].load(node, path, ctx)

    def schema(self) -> dict:
        common = _Obj(SCHEME_COMMON).schema()
        branches = [{"if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]},
                     "then": {**obj.schema(), "description": KINDS[kind].doc}}
                    for kind, obj in self.objects().items()]
        return {"type": "object", "properties": common["properties"],
                "required": common["required"], "allOf": branches}


_PROGRAM_ID = _Str(pattern=SLUG, what="slug", hint=_slug_hint("program id"))
PROGRAM = _Obj((
    Key("id", _PROGRAM_ID, "Short name of the program: its folder in the site (a slug).",
        default_doc="the file's stem"),
    Key("name", _Str(example='"Kaffebar — loyalty options 2027"'), "Title of the report.",
        default_doc="the id"),
    Key("locale", _Str(convert=_locale, what="locale", example="nb-NO"),
        "Report language and number, date and currency formats (e.g. `nb-NO`, `pt-BR`).",
        "en-GB"),
    Key("currency", _Str(convert=_currency, what="ISO 4217 currency code", example="NOK"),
        "Currency of the sales export (ISO 4217, e.g. `NOK`)."),
    Key("sales", SALES, "The sales export and how to read it."),
    Key("business", BUSINESS, "Margin, forecast horizon and fixed costs."),
    Key("assumptions", ASSUMPTIONS, "Behavioural assumptions for every scheme; "
        "a scheme's own `assumptions` override them.", {}),
    Key("forecast", FORECAST, "Monte Carlo settings.", {}),
    Key("site", SITE, "Branding of the generated site.", {}),
    Key("schemes", _List(_SchemeType(), unique="id", what="list of schemes"),
        "The candidate schemes to compare."),
))

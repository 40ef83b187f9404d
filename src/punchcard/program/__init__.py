"""Stage 1: program files (YAML) → a typed, validated ``Program``.

The dataclasses in ``types`` are the contract every later stage reads. The loader and
validation (file/line/column/key messages, "did you mean"), the JSON Schema and the
reference docs are all built from one declaration of the keys: ``declarations`` for the
sections, and each scheme kind's ``KIND`` (``kinds``: one module per kind in
``punchcard/schemes/``, found there when first needed).
"""

from __future__ import annotations

from punchcard.program.containers import Check, Key, _List, _Obj, _Range
from punchcard.program.converters import SLUG
from punchcard.program.declarations import (
    ASSUMPTION_KEYS, ASSUMPTIONS, BUSINESS, COST, DAYS, FORECAST, MAX_COUNT, MAX_DAYS, MAX_MONEY,
    MIN_PURCHASE, MONEY, MONTHS, POSITIVE, PROGRAM, REWARD, REWARD_TYPE, ROLES, SALES, SCHEME_COMMON, SHARE, SITE, TIER, TIERS, WINDOW_MONTHS,
)
from punchcard.program.kinds import Kind, kind, kinds
from punchcard.program.load import find_programs, load_program
from punchcard.program.types import (
    Assumptions, Business, FixedCosts, ForecastSettings, Program, Range, Reward, Sales, SalesFormat,
    Scheme, SegmentRange, SiteSettings, Tier, is_url,
)
from punchcard.program.problems import INVALID, REQUIRED, Problem
from punchcard.program.reference import reference_markdown
from punchcard.program.schema import program_json_schema
from punchcard.program.value_types import Bool, Num, Str

__all__ = [
    # types
    "Range", "SegmentRange", "SalesFormat", "Sales", "is_url", "FixedCosts", "Business", "Assumptions",
    "ForecastSettings", "SiteSettings", "Reward", "Tier", "Scheme", "Program",
    # scheme kinds
    "Kind", "kind", "kinds",
    # loading, schema, reference
    "find_programs", "load_program", "program_json_schema", "reference_markdown",
    # problems and key declarations (what a kind's KIND declares its keys with)
    "Problem", "INVALID", "REQUIRED", "Key", "Check", "SLUG", "Num", "Str", "Bool",
    "ASSUMPTION_KEYS", "ASSUMPTIONS", "ROLES", "SALES", "BUSINESS", "FORECAST", "SITE",
    "REWARD", "REWARD_TYPE", "COST", "TIER", "TIERS", "WINDOW_MONTHS", "MIN_PURCHASE",
    "MONEY", "POSITIVE", "SHARE", "DAYS", "MONTHS", "SCHEME_COMMON", "PROGRAM",
    "MAX_COUNT", "MAX_DAYS", "MAX_MONEY",
]

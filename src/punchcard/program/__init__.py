"""Stage 1: program files (YAML) → a typed, validated ``Program``.

The dataclasses in ``model`` are the contract every later stage reads. The loader and
validation (file/line/column/key messages, "did you mean"), the JSON Schema and the
reference docs are all built from one declaration of the keys, in ``keys``.
"""

from __future__ import annotations

from punchcard.program.containers import Check, Key, _List, _Obj, _Range
from punchcard.program.converters import SLUG
from punchcard.program.declarations import (
    ASSUMPTION_KEYS, ASSUMPTIONS, BUSINESS, FORECAST, KINDS, PROGRAM, REWARD, ROLES, SALES,
    SCHEME_COMMON, SITE, TIER, TIERS, KindSpec,
)
from punchcard.program.load import find_programs, load_program
from punchcard.program.types import (
    KIND_PARAMS, Assumptions, BirthdayParams, Business, CouponsParams, FixedCosts,
    ForecastSettings, MemberDiscountParams, PerksParams, PointsParams, Program, Range, Reward,
    Sales, SalesFormat, Scheme, SchemeParams, SiteSettings, StampCardParams, Tier, TiersParams,
    WelcomeOfferParams,
)
from punchcard.program.problems import INVALID, REQUIRED, Problem
from punchcard.program.reference import reference_markdown
from punchcard.program.schema import program_json_schema

__all__ = [
    # model
    "Range", "SalesFormat", "Sales", "FixedCosts", "Business", "Assumptions",
    "ForecastSettings", "SiteSettings", "Reward", "Tier", "StampCardParams", "PointsParams",
    "TiersParams", "MemberDiscountParams", "WelcomeOfferParams", "BirthdayParams",
    "CouponsParams", "PerksParams", "SchemeParams", "KIND_PARAMS", "Scheme", "Program",
    # loading, schema, reference
    "find_programs", "load_program", "program_json_schema", "reference_markdown",
    # problems and key declarations
    "Problem", "INVALID", "REQUIRED", "Key", "Check", "KindSpec", "SLUG",
    "ASSUMPTION_KEYS", "ASSUMPTIONS", "ROLES", "SALES", "BUSINESS", "FORECAST", "SITE",
    "REWARD", "TIER", "TIERS", "KINDS", "SCHEME_COMMON", "PROGRAM",
]

"""The program-file dataclasses: the contract every later stage reads."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal


@dataclass(frozen=True)
class Range:
    """A number or a triangular range {low, likely, high}; a fixed number has all three equal."""

    low: float
    likely: float
    high: float

    @classmethod
    def fixed(cls, x: float) -> "Range":
        """Return the range that is exactly ``x``."""
        return cls(float(x), float(x), float(x))

    @property
    def is_fixed(self) -> bool:
        return self.low == self.likely == self.high

    @property
    def mean(self) -> float:
        """Mean of the triangular distribution."""
        return (self.low + self.likely + self.high) / 3.0


SEGMENT_NAMES = ("light", "medium", "heavy")
#: How a plain lift is split over light / medium / heavy buyers by default: heavy buyers
#: change least (Liu 2007, Journal of Marketing; docs/forecast.md "Segments"). The three
#: average to 1, so over three equal segments the plain lift is the average lift per member.
DEFAULT_SEGMENT_SPLIT = (1.5, 1.0, 0.5)


@dataclass(frozen=True)
class SegmentRange:
    """A lift given per buyer segment: light, medium and heavy buyers, each a Range.

    ``low``, ``likely`` and ``high`` are the averages over the three (equal-sized) segments,
    so code that reads a plain Range reads the average.
    """

    light: Range
    medium: Range
    heavy: Range

    @property
    def parts(self) -> tuple[Range, Range, Range]:
        return (self.light, self.medium, self.heavy)

    @property
    def low(self) -> float:
        return sum(r.low for r in self.parts) / 3.0

    @property
    def likely(self) -> float:
        return sum(r.likely for r in self.parts) / 3.0

    @property
    def high(self) -> float:
        return sum(r.high for r in self.parts) / 3.0

    @property
    def is_fixed(self) -> bool:
        return all(r.is_fixed for r in self.parts)

    @property
    def mean(self) -> float:
        return sum(r.mean for r in self.parts) / 3.0


@dataclass(frozen=True)
class SalesFormat:
    delimiter: str | None = None
    decimal: str | None = None
    thousands: str | None = None
    date_format: str | None = None
    encoding: str | None = None
    zero_amount: str = "keep"  # keep: a visit with no revenue; reject: dropped


def is_url(path) -> bool:
    """Return whether a sales path is a URL (``s3://…``, ``gs://…``, ``abfs://…``, ``file://…``):
    a file the workers of a Dask cluster read through fsspec (docs/scale.md)."""
    return isinstance(path, str) and bool(_URL.match(path))


_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


@dataclass(frozen=True)
class Sales:
    paths: tuple[Path | str, ...]  # files (resolved); a URL stays the text written (``is_url``)
    columns: dict[str, str] = field(default_factory=dict)
    format: SalesFormat = SalesFormat()
    window: tuple[date | None, date | None] | None = None
    cancel_prefix: str | None = None
    declared: tuple[str, ...] = ()  # the paths as written in the program file
    # rejection reason -> ("any", None) | ("share", 0.001) | ("rows", 14): accepted silently
    accept: dict[str, tuple[str, float | None]] = field(default_factory=dict)


@dataclass(frozen=True)
class FixedCosts:
    setup: float = 0.0
    monthly: float = 0.0
    per_member_year: float = 0.0


@dataclass(frozen=True)
class Business:
    gross_margin: float
    horizon_months: int = 12
    fixed_costs: FixedCosts = FixedCosts()


@dataclass(frozen=True)
class Assumptions:
    enrollment: Range | SegmentRange = Range.fixed(0.4)
    visit_lift: Range | SegmentRange = Range.fixed(0.0)
    spend_lift: Range | SegmentRange = Range.fixed(0.0)
    retention_lift: Range | SegmentRange = Range.fixed(0.0)
    redemption_rate: Range = Range.fixed(1.0)
    frequency_bias: float = 0.0
    goal_gradient: Range = Range.fixed(0.0)
    post_reward_reset: bool = True
    endowed_progress: Range = Range.fixed(0.0)
    # share of free items that replace a paid one (docs/method.md, "Free items")
    displacement: Range = Range(0.5, 0.8, 1.0)
    # extra new customers the scheme brings, relative to the shop's own arrivals (docs/forecast.md)
    acquisition_lift: Range = Range.fixed(0.0)
    # multipliers of a plain visit/spend/retention lift for light, medium and heavy buyers
    segment_split: tuple[float, float, float] = DEFAULT_SEGMENT_SPLIT


@dataclass(frozen=True)
class ForecastSettings:
    draws: int = 200
    max_customers: int = 10000
    model: str = "auto"  # auto | bgnbd | mbgnbd | pareto_nbd | nbd


@dataclass(frozen=True)
class SiteSettings:
    title: str | None = None
    logo: Path | None = None
    primary_color: str | None = None
    footer: str | None = None


# --- scheme kinds -------------------------------------------------------------------


@dataclass(frozen=True)
class Reward:
    value: float
    cost: float | None = None
    type: Literal["item", "discount"] = "item"


@dataclass(frozen=True)
class Tier:
    name: str
    min_spend: float
    discount: float = 0.0
    multiplier: float = 1.0
    perk_cost_year: float = 0.0


@dataclass(frozen=True)
class TuneRange:
    """One parameter's search range for `punchcard tune`: min, max and step (None: see forecast/tune.py)."""

    min: float
    max: float
    step: float | None = None


@dataclass(frozen=True)
class Scheme:
    id: str
    name: str
    kind: str
    params: Any  # the frozen dataclass of its kind (``KIND.params`` in schemes/<kind>.py)
    assumptions: Assumptions = Assumptions()
    description: str | None = None
    tune: dict[str, TuneRange] | None = None  # parameter path → range (None: the kind's defaults)


@dataclass(frozen=True)
class Response:
    """How members' response grows with the scheme's generosity (an assumption, off unless given)."""

    generosity_elasticity: Range | None = None


@dataclass(frozen=True)
class Program:
    path: Path
    id: str
    name: str
    locale: str
    currency: str
    sales: Sales
    business: Business
    schemes: tuple[Scheme, ...]
    assumptions: Assumptions = Assumptions()
    forecast: ForecastSettings = ForecastSettings()
    site: SiteSettings = SiteSettings()
    # business and assumption keys still marked `# TODO: check` (as `punchcard init` writes
    # its defaults): the site says at the top that it is built on values nobody checked
    unchecked: tuple[str, ...] = ()
    response: Response = Response()

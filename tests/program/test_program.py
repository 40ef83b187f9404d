"""Program files: loading, defaults, error messages, JSON Schema and reference docs."""

from __future__ import annotations

import dataclasses
import textwrap
from datetime import date
from pathlib import Path

import jsonschema
import pytest
import yaml

from punchcard import program as pg
from punchcard.errors import PunchcardError
from punchcard.program import (
    Assumptions, Range, find_programs, load_program, program_json_schema, reference_markdown,
)
from punchcard.schemes.coupons import CouponsParams
from punchcard.schemes.points import PointsParams
from punchcard.schemes.stamp_card import StampCardParams
from tests.helpers import ROOT



# A small valid program; the line numbers in the error tests below count from here.
VALID = """\
name: Kaffebar
currency: NOK
sales:
  path: data/sales.csv
business:
  gross_margin: 0.68
schemes:
  - id: tiende
    kind: stamp_card
    stamps: 9
    reward: {value: 49}
"""


def write(tmp_path: Path, text: str, name: str = "kaffebar.yaml") -> Path:
    """Write a program file next to an (empty) sales file and return its path."""
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "sales.csv").write_text("customer,date,amount\n")
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def error_of(path: Path) -> str:
    """Load ``path``, expecting failure, and return the message."""
    with pytest.raises(PunchcardError) as info:
        load_program(path)
    assert info.value.exit_code == 1
    return info.value.message


def plain_yaml(path: Path):
    """Load YAML as an editor sees it (dates stay text), for JSON Schema validation."""

    class Loader(yaml.SafeLoader):
        pass

    Loader.yaml_implicit_resolvers = {
        k: [r for r in v if r[0] != "tag:yaml.org,2002:timestamp"]
        for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return yaml.load(path.read_text(encoding="utf-8"), Loader)


def validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(program_json_schema())


# --- valid files ------------------------------------------------------------------------


def test_minimal_program_fills_defaults(tmp_path):
    p = load_program(write(tmp_path, VALID))
    assert p.id == "kaffebar"  # the file's stem
    assert p.locale == "en-GB"
    assert p.currency == "NOK"
    assert p.sales.paths == ((tmp_path / "data" / "sales.csv").resolve(),)
    assert p.sales.declared == ("data/sales.csv",)
    assert p.business.horizon_months == 12
    assert p.forecast == pg.ForecastSettings(200, 10000)
    assert p.assumptions == Assumptions()
    (scheme,) = p.schemes
    assert scheme.name == "tiende"  # defaults to the id
    assert scheme.params == StampCardParams(stamps=9, reward=pg.Reward(49.0))
    assert scheme.params.reward.cost is None  # later stages derive it from gross_margin


FULL = """\
id: oslo-2027
name: Kaffebar Grünerløkka
locale: nb_NO
currency: NOK
sales:
  path: ["data/b.csv", "data/a*.csv"]
  columns: {customer: Kundenummer, date: Dato, amount: Beløp}
  format: {delimiter: ";", decimal: ",", date_format: "%d.%m.%Y", encoding: cp1252}
  window: {start: 2025-01-01, end: "2025-12-31"}
  cancel_prefix: C
business:
  gross_margin: 0.68
  horizon_months: 24
  fixed_costs: {setup: 15000, monthly: 990}
assumptions:
  enrollment: {low: 0.25, likely: 0.40, high: 0.55}
  visit_lift: 0.04
  redemption_rate: 0.85
forecast: {draws: 50}
site: {title: Kaffebar, primary_color: "#1f6feb", logo: logo.png}
schemes:
  - id: tiende
    kind: stamp_card
    stamps: 9
    head_start: 2
    expiry_days: 365
    reward: {value: 49, cost: 14}
    assumptions:
      visit_lift: {low: 0.0, likely: 0.05, high: 0.12}
      goal_gradient: 0.2
  - id: poeng
    name: Poeng
    kind: points
    earn_per_unit: 1
    point_value: 0.1
    min_redeem: 500
    tiers:
      - {name: Gull, min_spend: 5000, multiplier: 2}
      - {name: Basis, min_spend: 0}
  - id: kupong
    kind: coupons
    every_days: 30
    active_days: 60
    valid_days: 14
    value: 35
"""


def test_full_program_round_trips(tmp_path):
    for name in ("a1.csv", "a2.csv", "b.csv"):
        (tmp_path / "data").mkdir(exist_ok=True)
        (tmp_path / "data" / name).write_text("x\n")
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    p = load_program(write(tmp_path, FULL))
    assert p.id == "oslo-2027"
    assert p.locale == "nb-NO"  # normalised from nb_NO
    data = (tmp_path / "data").resolve()
    assert p.sales.paths == (data / "a1.csv", data / "a2.csv", data / "b.csv")  # sorted
    assert p.sales.declared == ("data/b.csv", "data/a*.csv")
    assert p.sales.columns == {"customer": "Kundenummer", "date": "Dato", "amount": "Beløp"}
    assert p.sales.format == pg.SalesFormat(";", ",", None, "%d.%m.%Y", "cp1252")
    assert p.sales.window == (date(2025, 1, 1), date(2025, 12, 31))
    assert p.sales.cancel_prefix == "C"
    assert p.business == pg.Business(0.68, 24, pg.FixedCosts(15000.0, 990.0, 0.0))
    assert p.forecast.draws == 50 and p.forecast.max_customers == 10000
    assert p.site.logo == (tmp_path / "logo.png").resolve()
    assert p.site.primary_color == "#1f6feb"
    assert p.assumptions == Assumptions(
        enrollment=Range(0.25, 0.40, 0.55), visit_lift=Range.fixed(0.04),
        redemption_rate=Range.fixed(0.85))

    tiende, poeng, kupong = p.schemes
    # The scheme's overrides replace the program's values; everything else is inherited.
    assert tiende.assumptions == dataclasses.replace(
        p.assumptions, visit_lift=Range(0.0, 0.05, 0.12), goal_gradient=Range.fixed(0.2))
    assert tiende.params.head_start == 2 and tiende.params.reward == pg.Reward(49.0, 14.0)
    assert poeng.assumptions == p.assumptions
    assert isinstance(poeng.params, PointsParams)
    assert [t.name for t in poeng.params.tiers] == ["Basis", "Gull"]  # sorted by min_spend
    assert poeng.params.tiers[1].multiplier == 2.0 and poeng.params.redeem_step is None
    assert kupong.params == CouponsParams(30, 60, 14, value=35.0)
    assert validator().is_valid(plain_yaml(p.path))


def test_find_programs_sorts_yaml_and_yml(tmp_path):
    for name in ("b.yml", "a.yaml", "notes.txt"):
        (tmp_path / name).write_text("")
    assert find_programs(tmp_path) == [tmp_path / "a.yaml", tmp_path / "b.yml"]


# --- one test per kind of mistake: file, line, key path and fix all named ---------------


def test_typo_key_suggests_the_right_one(tmp_path):
    path = write(tmp_path, VALID.replace("    stamps: 9", "    stmps: 9"))
    msg = error_of(path)
    assert msg.splitlines()[0] == f"{path}: 2 problems"  # the typo, and `stamps` missing
    assert f"{path}:10:5: schemes[0].stmps: unknown key `stmps`" in msg
    assert "did you mean `stamps`?" in msg
    assert f"{path}:8:5: schemes[0].stamps: `stamps` is missing" in msg


def test_unknown_key_without_close_match_lists_valid_keys(tmp_path):
    msg = error_of(write(tmp_path, VALID + "colour: red\n"))
    assert "kaffebar.yaml:12:1: colour: unknown key `colour`" in msg
    assert "Valid keys here: id, name, locale, currency, sales" in msg


def test_wrong_type(tmp_path):
    msg = error_of(write(tmp_path, VALID.replace("gross_margin: 0.68", "gross_margin: high")))
    assert "kaffebar.yaml:6:17: business.gross_margin: expected a number from 0 to 1, " \
        'found "high"' in msg
    assert "Fix: set `gross_margin` to a number from 0 to 1, e.g. `gross_margin: 0.65`" in msg


def test_negative_stamps(tmp_path):
    msg = error_of(write(tmp_path, VALID.replace("stamps: 9", "stamps: -3")))
    assert "kaffebar.yaml: 1 problem\n" in msg
    assert ("kaffebar.yaml:10:13: schemes[0].stamps: expected a whole number from 1 to 1,000,000, "
            "found -3") in msg
    assert "Fix: set `stamps` to a whole number from 1 to 1,000,000, e.g. `stamps: 9`" in msg


def test_unknown_kind_lists_kinds(tmp_path):
    msg = error_of(write(tmp_path, VALID.replace("kind: stamp_card", "kind: stampcard")))
    assert 'kaffebar.yaml:9:11: schemes[0].kind: "stampcard" is not a valid `kind`' in msg
    assert "did you mean `stamp_card`?" in msg
    assert "stamp_card, points, tiers, member_discount, welcome_offer, birthday, coupons, " \
        "perks" in msg


def test_yaml_syntax_error_keeps_line_and_column(tmp_path):
    msg = error_of(write(tmp_path, VALID.replace("reward: {value: 49}", "reward: {value: 49")))
    assert msg.startswith("kaffebar.yaml: 1 problem") or "kaffebar.yaml: 1 problem" in msg
    assert "kaffebar.yaml:12:1: YAML syntax error" in msg
    assert "Fix: correct the YAML here" in msg


def test_missing_sales_file_named_at_the_path_line(tmp_path):
    msg = error_of(write(tmp_path, VALID.replace("data/sales.csv", "data/salg.csv")))
    resolved = (tmp_path / "data" / "salg.csv").resolve()
    assert f"kaffebar.yaml:4:9: sales.path: sales file not found: {resolved}" in msg
    assert "Fix: correct `path` (it is read relative to the program file's folder" in msg


def test_glob_matching_nothing(tmp_path):
    msg = error_of(write(tmp_path, VALID.replace("data/sales.csv", "[data/sales.csv, 'x/*.csv']")))
    assert "kaffebar.yaml:4:26: sales.path[1]: no file matches" in msg


def test_bad_range(tmp_path):
    text = VALID + "assumptions:\n  enrollment: {low: 0.5, likely: 0.2, high: 0.6}\n"
    msg = error_of(write(tmp_path, text))
    assert "kaffebar.yaml:13:15: assumptions.enrollment: a range needs low ≤ likely ≤ high, " \
        "found low 0.5, likely 0.2, high 0.6" in msg
    assert "Fix: reorder the three values, e.g. `enrollment: {low: 0.2, likely: 0.5, " \
        "high: 0.6}`" in msg


def test_range_out_of_bounds(tmp_path):
    text = VALID + "assumptions:\n  redemption_rate: {low: 0.5, likely: 0.9, high: 1.2}\n"
    msg = error_of(write(tmp_path, text))
    assert "kaffebar.yaml:13:50: assumptions.redemption_rate.high: expected a number from 0 " \
        "to 1, found 1.2" in msg


def test_bad_scheme_id_cannot_escape_the_site(tmp_path):
    msg = error_of(write(tmp_path, VALID.replace("id: tiende", "id: ../../x")))
    assert 'kaffebar.yaml:8:9: schemes[0].id: expected a slug, found "../../x"' in msg
    assert "lower-case letters, digits, `-` and `_`" in msg and "e.g. `id: x`" in msg


def test_file_stem_that_is_no_slug_needs_an_id(tmp_path):
    msg = error_of(write(tmp_path, VALID, name="Kaffebar Oslo.yaml"))
    assert 'Kaffebar Oslo.yaml:1:1: id: the file name "Kaffebar Oslo" cannot be the program id' \
        in msg
    assert "Fix: add `id: kaffebar-oslo` at the top" in msg
    assert load_program(write(tmp_path, "id: oslo\n" + VALID, name="Kaffebar Oslo.yaml")).id \
        == "oslo"


# --- cross-key rules and value checks ----------------------------------------------------


def test_all_problems_reported_together(tmp_path):
    text = VALID.replace("currency: NOK", "currency: nok").replace("stamps: 9", "stamps: 0")
    msg = error_of(write(tmp_path, text + "locale: xx-QQ\n"))
    lines = msg.splitlines()
    assert lines[0].endswith("kaffebar.yaml: 3 problems") and len(lines) == 4
    assert "currency: \"nok\": not an ISO 4217 currency code. Fix: did you mean `NOK`?" in msg
    assert "locale: \"xx-QQ\": not a locale Babel knows" in msg


@pytest.mark.parametrize("locale, stored", [("nb-NO", "nb-NO"), ("nb_NO", "nb-NO"),
                                            ("pt-BR", "pt-BR"), ("de", "de")])
def test_locale_normalised(tmp_path, locale, stored):
    assert load_program(write(tmp_path, f"locale: {locale}\n" + VALID)).locale == stored


def test_head_start_below_stamps(tmp_path):
    msg = error_of(write(tmp_path, VALID + "    head_start: 9\n"))
    assert "kaffebar.yaml:12:17: schemes[0].head_start: head_start 9 must be less than stamps 9" \
        in msg


@pytest.mark.parametrize("extra, found", [("", "neither"), ("    rate: 0.1\n    value: 5\n", "both")])
def test_coupons_need_rate_or_value(tmp_path, extra, found):
    text = VALID + "  - id: c\n    kind: coupons\n    every_days: 7\n    active_days: 30\n" \
        "    valid_days: 7\n" + extra
    msg = error_of(write(tmp_path, text))
    assert f"kaffebar.yaml:12:5: schemes[1]: a coupon needs exactly one of `rate` and `value`, " \
        f"found {found}" in msg


def test_duplicate_scheme_ids(tmp_path):
    msg = error_of(write(tmp_path, VALID + "  - {id: tiende, kind: perks}\n"))
    assert 'kaffebar.yaml:12:10: schemes[1].id: id "tiende" is already used by schemes[0]' in msg


def test_unquoted_colour_is_a_comment(tmp_path):
    msg = error_of(write(tmp_path, VALID + "site:\n  primary_color: #1f6feb\n"))
    assert "kaffebar.yaml:13:17: site.primary_color: the value is empty" in msg
    assert 'put the value in quotes, e.g. `primary_color: "#…"`' in msg


def test_duplicate_key(tmp_path):
    msg = error_of(write(tmp_path, VALID + "currency: EUR\n"))
    assert "kaffebar.yaml:12:1: currency: `currency` is given twice (first on line 2)" in msg


def test_null_means_never_where_allowed(tmp_path):
    p = load_program(write(tmp_path, VALID + "    expiry_days:\n"))
    assert p.schemes[0].params.expiry_days is None


# --- one declaration: dataclass defaults, JSON Schema and docs agree ---------------------


def plain(value):
    """A dataclass default as the declaration writes it."""
    if isinstance(value, Range):
        return value.low if value.is_fixed else {"low": value.low, "likely": value.likely, "high": value.high}
    return value


@pytest.mark.parametrize("obj, cls", [
    (pg.ASSUMPTIONS, Assumptions), (pg.FORECAST, pg.ForecastSettings), (pg.SITE, pg.SiteSettings),
    (pg.BUSINESS, pg.Business), (pg.REWARD, pg.Reward), (pg.TIER, pg.Tier),
    *[(pg._Obj(spec.keys), spec.params) for spec in pg.kinds().values()],
])
def test_declared_defaults_match_dataclasses(obj, cls):
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in obj.keys:
        f = fields.pop(key.name)
        if f.default is dataclasses.MISSING:
            assert key.required, key.name
        elif isinstance(key.type, pg._Obj):
            assert key.type.build({}) == f.default, key.name
        else:
            assert key.default == plain(f.default), key.name
    assert not fields, f"keys not declared: {sorted(fields)}"


def test_schema_is_valid_2020_12():
    jsonschema.Draft202012Validator.check_schema(program_json_schema())


def test_schema_accepts_valid_and_rejects_typo(tmp_path):
    doc = plain_yaml(write(tmp_path, VALID))
    assert list(validator().iter_errors(doc)) == []
    doc["schemes"][0]["stmps"] = 9
    (error,) = validator().iter_errors(doc)
    assert "'stmps' was unexpected" in error.message
    doc["schemes"][0]["kind"] = "stampcard"
    assert not validator().is_valid(doc)


def test_reference_docs_up_to_date():
    committed = (ROOT / "docs" / "program-reference.md").read_text(encoding="utf-8")
    assert committed == reference_markdown(), (
        "docs/program-reference.md is stale; regenerate it with "
        "`.venv/bin/python -m punchcard.program > docs/program-reference.md`")


EXAMPLES = sorted((ROOT / "programs").glob("*.y*ml")) if (ROOT / "programs").is_dir() else []


@pytest.mark.skipif(not EXAMPLES, reason="no programs/*.yaml yet")
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_programs_are_valid(path):
    errors = [f"{e.json_path}: {e.message}" for e in validator().iter_errors(plain_yaml(path))]
    assert errors == []
    assert load_program(path).schemes


@pytest.mark.parametrize("text, where, message", [
    ("name: a\x1f\n", ":1:8: ", "cannot appear in YAML"),
    ("", ":1:1: ", "the file is empty"),
    ("- a\n- b\n", ":1:1: ", "expected a mapping of keys"),
])
def test_unreadable_files(tmp_path, text, where, message):
    msg = error_of(write(tmp_path, text))
    assert f"kaffebar.yaml{where}" in msg and message in msg and "Fix: " in msg


# --- sales.accept (rejections a build accepts, for --strict in CI) ----------------------


def test_sales_accept_loads_any_share_and_count(tmp_path):
    text = VALID.replace("  path: data/sales.csv\n", "  path: data/sales.csv\n"
                         "  accept: {zero_amount: any, bad_date: 0.1%, duplicate_line: 14}\n")
    prog = load_program(write(tmp_path, text))
    assert prog.sales.accept == {"zero_amount": ("any", None), "bad_date": ("share", 0.001),
                                 "duplicate_line": ("rows", 14)}


@pytest.mark.parametrize("value, found", [("0.001", "0.001"), ("some", '"some"'), ("-3", "-3")])
def test_sales_accept_rejects_other_values(tmp_path, value, found):
    text = VALID.replace("  path: data/sales.csv\n", "  path: data/sales.csv\n"
                         f"  accept: {{zero_amount: {value}}}\n")
    msg = error_of(write(tmp_path, text))
    assert f"sales.accept.zero_amount: expected an allowance (`any`, a percentage such as `0.1%`, " \
        f"or a whole number of rows), found {found}" in msg


def test_sales_accept_unknown_reason_suggests(tmp_path):
    text = VALID.replace("  path: data/sales.csv\n", "  path: data/sales.csv\n"
                         "  accept: {zero_amounts: any}\n")
    assert "did you mean `zero_amount`?" in error_of(write(tmp_path, text))


def test_accept_names_every_rejection_reason():
    from punchcard.ingest.rows import REASONS
    from punchcard.program.declarations import REJECTION_REASONS

    assert tuple(REJECTION_REASONS) == REASONS


def test_lift_per_segment_and_segment_split(tmp_path):
    # light buyers a range, medium a number, heavy nothing; the split of plain lifts overridden
    p = load_program(write(tmp_path, VALID + textwrap.dedent("""\
        assumptions:
          visit_lift: {light: {low: 0.02, likely: 0.06, high: 0.1}, medium: 0.03, heavy: 0}
          segment_split: {light: 1, medium: 1, heavy: 1}
        """)))
    lift = p.assumptions.visit_lift
    assert lift == pg.SegmentRange(Range(0.02, 0.06, 0.1), Range.fixed(0.03), Range.fixed(0.0))
    assert lift.likely == pytest.approx(0.03)  # the average over three equal segments: (0.06 + 0.03 + 0) / 3
    assert p.assumptions.segment_split == (1.0, 1.0, 1.0)
    assert load_program(write(tmp_path, VALID)).assumptions.segment_split == (1.5, 1.0, 0.5)
    schema = pg.program_json_schema()
    doc = yaml.safe_load(VALID + "assumptions:\n  visit_lift: {light: 0.1, medium: 0.05, heavy: 0}\n")
    jsonschema.validate(doc, schema)


def test_lift_per_segment_needs_all_three(tmp_path):
    msg = error_of(write(tmp_path, VALID + "assumptions:\n  visit_lift: {light: 0.1, medium: 0.05}\n"))
    assert "heavy" in msg and "visit_lift" in msg


def test_enrollment_per_segment_and_acquisition_lift(tmp_path):
    # enrollment per segment like the lifts: light a range, medium and heavy numbers
    p = load_program(write(tmp_path, VALID + textwrap.dedent("""\
        assumptions:
          enrollment: {light: {low: 0.3, likely: 0.5, high: 0.7}, medium: 0.4, heavy: 0.2}
          acquisition_lift: {low: 0, likely: 0.05, high: 0.1}
        """)))
    e = p.assumptions.enrollment
    assert e == pg.SegmentRange(Range(0.3, 0.5, 0.7), Range.fixed(0.4), Range.fixed(0.2))
    assert e.likely == pytest.approx((0.5 + 0.4 + 0.2) / 3)
    assert p.assumptions.acquisition_lift == Range(0.0, 0.05, 0.1)
    # the plain form keeps today's meaning; acquisition_lift defaults to none
    plain = load_program(write(tmp_path, VALID)).assumptions
    assert plain.enrollment == Range.fixed(0.4) and plain.acquisition_lift == Range.fixed(0.0)
    doc = yaml.safe_load(VALID + "assumptions:\n  enrollment: {light: 0.5, medium: 0.4, heavy: 0.2}\n")
    jsonschema.validate(doc, pg.program_json_schema())


def test_enrollment_per_segment_needs_all_three_shares(tmp_path):
    msg = error_of(write(tmp_path, VALID + "assumptions:\n  enrollment: {light: 0.5, heavy: 0.2}\n"))
    assert "medium" in msg and "enrollment" in msg
    msg = error_of(write(tmp_path, VALID + "assumptions:\n  enrollment: {light: 1.5, medium: 0.4, heavy: 0.2}\n"))
    assert "enrollment" in msg and "light" in msg

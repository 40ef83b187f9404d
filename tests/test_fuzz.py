"""Fuzzing: random bytes, CSV dialects and YAML thrown at `validate` and `build`.

Every outcome must be exit 0, or exit 1 with an ``Error:`` message — never a traceback
(an exception escaping the CLI), a hang, or a partly written site.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from punchcard import cli

pytestmark = pytest.mark.slow  # hypothesis runs the CLI hundreds of times

FUZZ = settings(max_examples=40, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

PROGRAM = """\
name: Fuzz
currency: EUR
sales:
  path: sales.csv
business: {gross_margin: 0.5}
forecast: {draws: 2}
schemes:
  - {id: card, name: Card, kind: stamp_card, stamps: 5, reward: {value: 5}}
"""


def _check(result) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"uncaught {type(result.exception).__name__}: {result.exception}")
    assert result.exit_code in (0, 1), result.output
    if result.exit_code == 1:
        assert "Error:" in result.output


def _run_build(folder: Path) -> None:
    out = folder / "site"
    result = CliRunner().invoke(cli.cli, ["build", str(folder / "p.yaml"), "--out", str(out),
                                          "--quiet"])
    _check(result)
    leftovers = [p.name for p in folder.iterdir() if ".tmp-" in p.name or ".old-" in p.name]
    assert not leftovers, leftovers
    if result.exit_code == 1:
        assert not out.exists(), "a failed build left a site behind"


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes_as_sales_file(data):
    folder = Path(tempfile.mkdtemp())
    try:
        (folder / "p.yaml").write_text(PROGRAM)
        (folder / "sales.csv").write_bytes(data)
        _run_build(folder)
    finally:
        shutil.rmtree(folder)


cell = st.one_of(
    st.sampled_from(["", "12", "12,50", "1.234,56", "1 234,50", "kr 49,00", "R$ 12,50",
                     "-5", "0", "abc", "2025-01-02", "02.01.2025", "13/13/2025", "1/2/2025",
                     "C1001", "x@y.z", "3"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=8),
)


@FUZZ
@given(
    header=st.lists(st.sampled_from(["customer", "date", "amount", "items", "order", "Kunde",
                                     "Dato", "Beløp", "x", ""]), min_size=1, max_size=5),
    rows=st.lists(st.lists(cell, min_size=1, max_size=5), max_size=25),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]),
)
def test_random_csv_dialects(header, rows, delimiter, encoding):
    folder = Path(tempfile.mkdtemp())
    try:
        text = "\n".join(delimiter.join(r) for r in [header, *rows]) + "\n"
        (folder / "p.yaml").write_text(PROGRAM)
        (folder / "sales.csv").write_bytes(text.encode(encoding, errors="replace"))
        _run_build(folder)
    finally:
        shutil.rmtree(folder)


yaml_scalar = st.one_of(st.integers(-5, 50), st.floats(allow_nan=True), st.booleans(),
                        st.none(), st.text(max_size=12),
                        st.sampled_from(["stamp_card", "points", "../x", "nb-NO", "EUR"]))
yaml_value = st.recursive(
    yaml_scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.sampled_from(
                                ["name", "kind", "id", "stamps", "reward", "value", "low",
                                 "likely", "high", "path", "schemes", "sales", "business",
                                 "gross_margin", "currency", "locale", "rate", "tiers"]),
                                inner, max_size=5)),
    max_leaves=12,
)


@FUZZ
@given(st.one_of(st.text(max_size=300), yaml_value))
def test_random_yaml_to_validate(doc):
    import yaml

    folder = Path(tempfile.mkdtemp())
    try:
        text = doc if isinstance(doc, str) else yaml.safe_dump(doc, allow_unicode=True)
        (folder / "p.yaml").write_text(text, encoding="utf-8")
        (folder / "sales.csv").write_text("customer,date,amount\na,2025-01-01,10\n")
        _check(CliRunner().invoke(cli.cli, ["validate", str(folder / "p.yaml")]))
    finally:
        shutil.rmtree(folder)


@FUZZ
@given(st.dictionaries(st.sampled_from(["stamps", "counter", "min_purchase", "expiry_days",
                                        "head_start", "reward"]),
                       yaml_scalar, max_size=4))
def test_random_scheme_keys_build(keys):
    import yaml

    folder = Path(tempfile.mkdtemp())
    try:
        scheme = {"id": "card", "name": "Card", "kind": "stamp_card", "stamps": 5,
                  "reward": {"value": 5}, **keys}
        doc = yaml.safe_load(PROGRAM)
        doc["schemes"] = [scheme]
        (folder / "p.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
        (folder / "sales.csv").write_text(
            "customer,date,amount\n" + "".join(f"c{i % 7},2025-0{1 + i % 9}-1{i % 10},{10 + i}\n"
                                             for i in range(60)))
        _run_build(folder)
    finally:
        shutil.rmtree(folder)

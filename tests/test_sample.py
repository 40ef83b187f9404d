"""Tests for sample.py: reproducible, chunk-independent, dialect-faithful synthetic exports."""

from __future__ import annotations

import csv
import gzip
import io
import re
import shlex
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from punchcard.errors import PunchcardError
from punchcard.sample import BLOCK, DIALECTS, PROFILES, SampleSummary, _money, generate

REPO = Path(__file__).resolve().parent.parent
PROGRAMS = REPO / "programs"


def read_rows(path: Path, dialect: str) -> list[list[str]]:
    """Return the rows (header first) of a generated file, decoded as the dialect says."""
    raw = path.read_bytes()
    if path.name.endswith(".gz"):
        raw = gzip.decompress(raw)
    text = raw.decode(DIALECTS[dialect].encoding)
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=DIALECTS[dialect].delimiter))


def parse_amount(text: str, dialect: str) -> Decimal:
    """Return the exact amount written in the dialect's style."""
    d = DIALECTS[dialect]
    sign = -1 if text.startswith("-") else 1
    text = text.lstrip("-").removeprefix(d.amount_prefix)
    if d.thousands:
        text = text.replace(d.thousands, "")
    return sign * Decimal(text.replace(d.decimal, "."))


def check_totals(summary: SampleSummary, rows: list[list[str]], dialect: str) -> None:
    """Assert that the parsed rows hold exactly what the summary reports."""
    body = rows[1:]
    assert len(body) == summary.rows
    assert len({r[0] for r in body if r[0]}) == summary.customers
    assert sum(parse_amount(r[2], dialect) for r in body) == Decimal(str(summary.revenue))


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    a = generate(tmp_path / "a.csv", customers=300, seed=5, profile="bookshop")
    b = generate(tmp_path / "b.csv", customers=300, seed=5, profile="bookshop")
    c = generate(tmp_path / "c.csv", customers=300, seed=6, profile="bookshop")
    assert a.path.read_bytes() == b.path.read_bytes()
    assert a.path.read_bytes() != c.path.read_bytes()
    assert (a.rows, a.customers, a.revenue) == (b.rows, b.customers, b.revenue)


def test_chunking_and_compression_do_not_change_the_content(tmp_path: Path) -> None:
    n = 3 * BLOCK + 17  # several random-stream blocks and a ragged last one
    kw = dict(customers=n, profile="shoes", dialect="nb", order_lines=True, birthdays=True)
    one = generate(tmp_path / "one.csv", chunk_customers=1, **kw)
    many = generate(tmp_path / "many.csv", chunk_customers=2 * BLOCK, **kw)
    whole = generate(tmp_path / "whole.csv.gz", chunk_customers=10 * BLOCK, **kw)
    assert one.path.read_bytes() == many.path.read_bytes()
    assert gzip.decompress(whole.path.read_bytes()) == one.path.read_bytes()
    assert (one.rows, one.customers, one.revenue) == (whole.rows, whole.customers, whole.revenue)
    orders = [r[4] for r in read_rows(one.path, "nb")[1:]]
    starts = [o for i, o in enumerate(orders) if i == 0 or o != orders[i - 1]]
    assert len(starts) == len(set(starts)), "an order number is reused across transactions"


DATE_RE = {
    "%Y-%m-%d": r"\d{4}-\d{2}-\d{2}",
    "%d.%m.%Y": r"\d{2}\.\d{2}\.\d{4}",
    "%d/%m/%Y": r"\d{2}/\d{2}/\d{4}",
    "%m/%d/%Y": r"\d{2}/\d{2}/\d{4}",
}


@pytest.mark.parametrize("dialect", list(DIALECTS))
def test_dialect_writes_what_it_says(tmp_path: Path, dialect: str) -> None:
    d = DIALECTS[dialect]
    s = generate(tmp_path / "x.csv", customers=600, dialect=dialect, profile="shoes",
                 birthdays=True, start=date(2025, 1, 1))
    raw = s.path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") == (d.encoding == "utf-8-sig")
    assert (b"\r\n" in raw) == (d.line_terminator == "\r\n")
    rows = read_rows(s.path, dialect)
    assert tuple(rows[0]) == d.headers
    assert raw.decode(d.encoding).splitlines()[0] == d.delimiter.join(d.headers)
    body = rows[1:]
    assert all(len(r) == 6 for r in body)
    sep = re.escape(d.thousands or "")
    prefix = re.escape(d.amount_prefix)
    whole = rf"\d{{1,3}}({sep}\d{{3}})*" if d.thousands else r"\d+"
    money = re.compile(rf"-?{prefix}{whole}{re.escape(d.decimal)}\d{{2}}")
    assert all(money.fullmatch(r[2]) for r in body), [r[2] for r in body[:5]]
    big = [r[2] for r in body if abs(parse_amount(r[2], dialect)) >= 1000]
    assert all((d.thousands or "") in a for a in big)
    date_re = re.compile(DATE_RE[d.date_format])
    assert all(date_re.fullmatch(r[1]) for r in body)
    days = {datetime.strptime(r[1], d.date_format).date() for r in body}
    assert min(days) >= date(2025, 1, 1) and max(days) <= date(2025, 12, 31)
    assert all(not r[5] or date_re.fullmatch(r[5]) for r in body)
    check_totals(s, rows, dialect)


@pytest.mark.parametrize(("dialect", "expected"), [
    ("iso", ["-1234567.89", "1000.00", "0.99"]),
    ("nb", ["-1 234 567,89", "1 000,00", "0,99"]),
    ("sv", ["-1\u00a0234\u00a0567,89", "1\u00a0000,00", "0,99"]),
    ("pl", ["-1234567,89", "1000,00", "0,99"]),
    ("pt-BR", ["-R$ 1.234.567,89", "R$ 1.000,00", "R$ 0,99"]),
    ("en-US", ["-1,234,567.89", "1,000.00", "0.99"]),
])
def test_amount_text(dialect: str, expected: list[str]) -> None:
    cents = pl.DataFrame({"c": [-123456789, 100000, 99]})
    text = cents.select(_money(pl.col("c"), DIALECTS[dialect]).alias("t"))["t"]
    assert text.to_list() == expected


def test_cp1252_file_is_not_utf8(tmp_path: Path) -> None:
    s = generate(tmp_path / "nb.csv", customers=50, dialect="nb")
    raw = s.path.read_bytes()
    assert "Beløp".encode("cp1252") in raw
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")


def test_anonymous_sales_and_returns_appear(tmp_path: Path) -> None:
    s = generate(tmp_path / "x.csv", customers=3000, profile="bookshop",
                 anonymous_share=0.2, return_share=0.03)
    body = read_rows(s.path, "iso")[1:]
    anonymous = [r for r in body if not r[0]]
    returns = [r for r in body if r[2].startswith("-")]
    assert 0.17 < len(anonymous) / len(body) < 0.23
    assert 0.02 < len(returns) / len(body) < 0.04
    assert all(int(r[3]) < 0 for r in returns) and all(int(r[3]) > 0 for r in body
                                                        if not r[2].startswith("-"))
    assert all(float(r[2]) != 0 for r in body)
    none = generate(tmp_path / "y.csv", customers=300, anonymous_share=0.0, return_share=0.0)
    assert all(r[0] and not r[2].startswith("-") for r in read_rows(none.path, "iso")[1:])


def test_order_lines_share_an_order_number(tmp_path: Path) -> None:
    s = generate(tmp_path / "w.csv", customers=500, profile="webshop", order_lines=True)
    body = read_rows(s.path, "iso")[1:]
    by_order: dict[str, set[tuple[str, str]]] = {}
    for r in body:
        by_order.setdefault(r[4], set()).add((r[0], r[1]))
    assert len(by_order) < len(body)  # several lines per order
    assert all(len(v) == 1 for v in by_order.values())  # one customer and day per order
    assert all("@" in r[0] for r in body if r[0])


def test_birthday_is_one_date_per_customer(tmp_path: Path) -> None:
    s = generate(tmp_path / "b.csv", customers=400, birthdays=True)
    body = read_rows(s.path, "iso")[1:]
    seen: dict[str, str] = {}
    for r in body:
        if r[0]:
            assert seen.setdefault(r[0], r[5]) == r[5]
        else:
            assert r[5] == ""
    known = [b for b in seen.values() if b]
    assert 0.5 < len(known) / len(seen) < 0.9
    assert all(date(1930, 1, 1) < date.fromisoformat(b) < date(2008, 1, 1) for b in known)


def test_profiles_have_their_rhythm(tmp_path: Path) -> None:
    per_customer = {}
    for name in PROFILES:
        s = generate(tmp_path / f"{name}.csv", customers=1500, profile=name,
                     anonymous_share=0.0, return_share=0.0, order_lines=True)
        per_customer[name] = len({r[4] for r in read_rows(s.path, "iso")[1:]}) / s.customers
    assert per_customer["cafe"] > per_customer["carwash"] > per_customer["shoes"]
    assert per_customer["bookshop"] > per_customer["shoes"]
    wash = read_rows(tmp_path / "carwash.csv", "iso")[1:]
    assert len({r[2] for r in wash}) <= 6  # four programmes and two extras


def test_bad_arguments_say_how_to_fix_them(tmp_path: Path) -> None:
    with pytest.raises(PunchcardError, match="use one of"):
        generate(tmp_path / "x.csv", customers=10, dialect="klingon")
    with pytest.raises(PunchcardError, match="use one of"):
        generate(tmp_path / "x.csv", customers=10, profile="casino")
    with pytest.raises(PunchcardError, match=r"\.csv\.gz"):
        generate(tmp_path / "x.parquet", customers=10)
    with pytest.raises(PunchcardError, match="share"):
        generate(tmp_path / "x.csv", customers=10, anonymous_share=1.5)
    assert not list(tmp_path.iterdir())


# --- the committed example data are what their commands produce -----------------------

FLAGS = {"--customers": ("customers", int), "--days": ("days", int),
         "--start": ("start", date.fromisoformat), "--seed": ("seed", int),
         "--dialect": ("dialect", str), "--profile": ("profile", str),
         "--anonymous-share": ("anonymous_share", float),
         "--returns-share": ("return_share", float), "-o": ("out", Path)}
SWITCHES = {"--birthdays": "birthdays", "--order-lines": "order_lines"}


def sample_command(program: Path) -> dict:
    """Return the generate() arguments of the `punchcard sample-data` comment in a program."""
    for line in program.read_text(encoding="utf-8").splitlines():
        words = shlex.split(line.lstrip("# ")) if line.startswith("#") else []
        if words[:2] == ["punchcard", "sample-data"]:
            args, i = {}, 2
            while i < len(words):
                if words[i] in SWITCHES:
                    args[SWITCHES[words[i]]] = True
                    i += 1
                else:
                    name, convert = FLAGS[words[i]]
                    args[name] = convert(words[i + 1])
                    i += 2
            return args
    raise AssertionError(f"{program.name} has no '# punchcard sample-data …' comment")


EXAMPLES = sorted(PROGRAMS.glob("*.yaml"))


def test_there_are_five_examples() -> None:
    assert [p.stem for p in EXAMPLES] == ["biltvatt-goteborg", "bookshop-manchester",
                                          "kaffebar-oslo", "loja-sao-paulo", "obuwie-krakow"]


@pytest.mark.parametrize("program", EXAMPLES, ids=lambda p: p.stem)
def test_example_data_is_what_its_command_makes(tmp_path: Path, program: Path) -> None:
    args = sample_command(program)
    committed = REPO / args.pop("out")
    assert f"path: data/{committed.name}" in program.read_text(encoding="utf-8")
    s = generate(tmp_path / committed.name, **args)
    # compare the content: gzip bytes may differ between zlib builds, the CSV must not
    assert gzip.decompress(s.path.read_bytes()) == gzip.decompress(committed.read_bytes())
    assert s.rows <= 60_000
    check_totals(s, read_rows(s.path, args["dialect"]), args["dialect"])


def test_the_documented_command_runs_through_the_cli(tmp_path: Path) -> None:
    from punchcard.cli import cli
    from click.testing import CliRunner

    program = PROGRAMS / "obuwie-krakow.yaml"
    line = next(x for x in program.read_text(encoding="utf-8").splitlines()
                if x.startswith("# punchcard sample-data"))
    words = shlex.split(line.removeprefix("# punchcard "))
    out = tmp_path / "out.csv.gz"
    words[words.index("-o") + 1] = str(out)
    result = CliRunner().invoke(cli, words)
    assert result.exit_code == 0, result.output
    committed = REPO / sample_command(program)["out"]
    assert gzip.decompress(out.read_bytes()) == gzip.decompress(committed.read_bytes())

"""Hostile and unlucky sales files and program files: empty, binary, broken gzip, a pipe,
a folder, odd line endings, thousands of columns — each a message naming the file."""

from __future__ import annotations

import gzip
import os

import pytest

from tests.adversarial.running import edit, fails, invoke, succeeds
from tests.helpers import write_program


def _sales(program):
    return program.parent / "sales.csv"


def test_empty_sales_file(program):
    _sales(program).write_bytes(b"")
    fails(invoke("validate", program), "sales.csv", "Fix:")


def test_header_only(program):
    _sales(program).write_text("customer,date,amount,items\n")
    fails(invoke("validate", program), "sales.csv", "no rows")


def test_only_a_byte_order_mark(program):
    _sales(program).write_bytes(b"\xef\xbb\xbf")
    fails(invoke("validate", program), "sales.csv")


def test_binary_file_posing_as_csv(program):
    _sales(program).write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40)
    fails(invoke("validate", program), "sales.csv")


def test_nul_bytes_in_cells(program):
    sales = _sales(program)
    sales.write_bytes(sales.read_bytes().replace(b"kunde-0003", b"kunde\x00003"))
    text = invoke("validate", program)
    assert text.exit_code in (0, 1)
    clean_text = fails(text, code=text.exit_code)
    assert "kunde" not in clean_text


def test_truncated_gzip(program):
    data = gzip.compress(_sales(program).read_bytes())
    (program.parent / "sales.csv.gz").write_bytes(data[: len(data) // 2])
    edit(program, "path: sales.csv", "path: sales.csv.gz")
    fails(invoke("validate", program), "sales.csv.gz")


def test_gzip_that_is_not_gzip(program):
    (program.parent / "sales.csv.gz").write_bytes(b"this is not gzip at all\n" * 10)
    edit(program, "path: sales.csv", "path: sales.csv.gz")
    fails(invoke("validate", program), "sales.csv.gz")


def test_utf16_export(program):
    sales = _sales(program)
    sales.write_bytes(sales.read_text().encode("utf-16"))
    fails(invoke("validate", program), "sales.csv")


def test_duplicate_headers(program):
    sales = _sales(program)
    lines = sales.read_text().splitlines()
    sales.write_text("\n".join(["customer,date,amount,amount"] + lines[1:]) + "\n")
    result = invoke("validate", program)
    fails(result, "sales.csv", code=result.exit_code)


def test_sales_path_is_a_folder(program):
    (program.parent / "data").mkdir()
    edit(program, "path: sales.csv", "path: data")
    fails(invoke("validate", program, "--no-data"), "sales.path", "not found")


def test_sales_path_is_a_named_pipe(program):
    os.mkfifo(program.parent / "pipe.csv")
    edit(program, "path: sales.csv", "path: pipe.csv")
    fails(invoke("validate", program, "--no-data"), "sales.path", "not found")


def test_sales_path_is_a_link_loop(program):
    os.symlink(program.parent / "loop.csv", program.parent / "loop.csv")
    edit(program, "path: sales.csv", "path: loop.csv")
    fails(invoke("validate", program, "--no-data"), "sales.path")


def test_glob_that_matches_nothing(program):
    edit(program, "path: sales.csv", 'path: "exports/*.csv"')
    fails(invoke("validate", program, "--no-data"), "no file matches")


@pytest.mark.slow
def test_ten_thousand_columns(program):
    sales = _sales(program)
    lines = sales.read_text().splitlines()
    pad = "," + ",".join(f"x{i}" for i in range(10_000))
    sales.write_text("\n".join([lines[0] + pad] + [line + "," * 10_000 for line in lines[1:]]) + "\n")
    succeeds(invoke("validate", program))


def test_old_mac_line_endings(program):
    sales = _sales(program)
    sales.write_bytes(sales.read_bytes().replace(b"\n", b"\r"))
    result = invoke("validate", program)
    fails(result, code=result.exit_code)


def test_a_single_sale(program):
    _sales(program).write_text("customer,date,amount,items\nkunde-1@example.no,2025-01-01,10.00,1\n")
    out = program.parent.parent / "site"
    result = invoke("build", program, "--out", out)
    text = fails(result, code=result.exit_code)
    assert "kunde-1" not in text


def test_only_anonymous_sales(program):
    sales = _sales(program)
    lines = sales.read_text().splitlines()
    sales.write_text("\n".join([lines[0]] + ["," + line.split(",", 1)[1] for line in lines[1:]]) + "\n")
    result = invoke("build", program, "--out", program.parent.parent / "site")
    fails(result, code=result.exit_code)


def test_corrupt_parquet(program):
    (program.parent / "sales.parquet").write_bytes(b"PAR1" + b"\x00" * 100 + b"PAR1")
    edit(program, "path: sales.csv", "path: sales.parquet")
    fails(invoke("validate", program), "sales.parquet")


def test_program_file_is_a_folder(tmp_path):
    (tmp_path / "p.yaml").mkdir()
    fails(invoke("validate", tmp_path / "p.yaml"), "p.yaml", code=2)


def test_program_with_tabs_for_indentation(program):
    program.write_text(program.read_text().replace("  path: sales.csv", "\tpath: sales.csv"))
    fails(invoke("validate", program, "--no-data"), "cafe.yaml:", "YAML")


def test_program_with_a_nul_character(program):
    program.write_bytes(program.read_bytes().replace(b"Test", b"Te\x00st"))
    fails(invoke("validate", program, "--no-data"), "cafe.yaml:", "cannot appear in YAML")


def test_program_in_latin1(program):
    program.write_bytes(program.read_text().encode("latin-1"))
    fails(invoke("validate", program, "--no-data"), "cafe.yaml", "not UTF-8")


def test_program_is_a_json_list(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text('["name", "currency"]\n')
    fails(invoke("validate", path), "list.yaml:1:1", "expected a mapping")


def test_program_with_a_python_tag(program):
    program.write_text("x: !!python/object/apply:os.system ['touch pwned']\n" + program.read_text())
    fails(invoke("validate", program, "--no-data"), "cafe.yaml:1:")
    assert not (program.parent / "pwned").exists()


def test_program_with_a_huge_integer(program):
    edit(program, "stamps: 9", "stamps: " + "9" * 5000)
    fails(invoke("validate", program, "--no-data"), "schemes[0].stamps")


def test_two_programs_with_one_id(tmp_path):
    a = write_program(tmp_path / "a")
    b = write_program(tmp_path / "b")
    fails(invoke("build", a, b, "--out", tmp_path / "site"), "share the id 'cafe'")

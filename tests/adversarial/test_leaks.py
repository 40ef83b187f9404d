"""Leaks: nothing personal in a shown cell or an error, no formula in a download, no file
from outside the program's folder published."""

from __future__ import annotations

import csv
import io
import json
import os

import pytest

from punchcard.site.downloads import csv_text
from tests.adversarial.running import edit, fails, invoke, succeeds
from tests.helpers import write_program

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def _build(tmp_path, program, *extra):
    out = tmp_path / "site"
    succeeds(invoke("build", program, "--out", out, "--quiet", *extra))
    return out


@pytest.mark.parametrize("name", ["=HYPERLINK(\"http://evil\",\"x\")", "+1+1", "-2+3", "@SUM(A1)",
                                  "\tTAB", "\rCR"])
def test_formula_in_a_scheme_name_is_defused_in_results_csv(tmp_path, name):
    program = write_program(tmp_path / "p", scheme_name=json.dumps(name))
    out = _build(tmp_path, program)
    raw = (out / "cafe" / "results.csv").read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(raw)))
    names = [r[1] for r in rows[1:]]
    assert "'" + name in names
    assert not any(cell.startswith(("=", "+", "@")) for r in rows for cell in r)


def test_negative_numbers_stay_numbers_in_results_csv():
    assert csv_text("-12.5") == "'-12.5"  # as text it would be defused …
    from punchcard.site.downloads import results_csv
    from punchcard.site.fmt import Formatter

    res = {"schemes": [{"id": "a", "name": "A", "kind": "perks", "rank": 1,
                        "backtest": {"total_cost": -12.5}}]}
    text = results_csv(res, Formatter("en-GB", "GBP"))
    assert "-12.5" in text and "'-12.5" not in text  # … but numbers never pass through it


def test_email_in_an_unmapped_column_is_masked(tmp_path):
    folder = tmp_path / "p"
    program = write_program(folder)
    sales = folder / "sales.csv"
    lines = sales.read_text().splitlines()
    lines = [lines[0] + ",note"] + [line + ",ok" for line in lines[1:]]
    lines.append("kunde-0007@example.no,2025-99-99,10.00,1,contact ola.nordmann@example.com +47 912 34 567")
    sales.write_text("\n".join(lines) + "\n")
    out = _build(tmp_path, program)
    for path in out.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".json", ".csv"):
            text = path.read_text(encoding="utf-8-sig")
            assert "ola.nordmann" not in text and "912 34 567" not in text, path
    examples = json.loads((out / "cafe" / "results.json").read_text())["data"]["rejected_examples"]
    assert any("contact ••••" in ex["text"] for ex in examples["bad_date"])


@pytest.mark.parametrize("cell, shown", [
    ("ola@example.com", "••••"),
    ("ring 22 33 44 55", "ring ••••"),
    ("card 4111-1111-1111-1111", "card ••••"),
    ("x" * 500, "x" * 39 + "…"),
    ("table 12", "table 12"),
])
def test_shown_cells_masked_by_pattern(cell, shown):
    from punchcard.ingest.quality import shown_cell

    assert shown_cell(cell, kept=False) == shown


def test_an_error_shows_at_most_one_masked_line(tmp_path):
    folder = tmp_path / "p"
    program = write_program(folder)
    sales = folder / "sales.csv"
    lines = sales.read_text().splitlines()
    body = [line.replace("2025-", "20X5-").replace("2026-", "20X6-") for line in lines[1:]]
    sales.write_text(lines[0] + "\n" + "\n".join(body) + "\n")
    edit(program, "  path: sales.csv", '  path: sales.csv\n  format: {date_format: "%Y-%m-%d"}')
    text = fails(invoke("validate", program), "sales.csv: line 2", "column 'date'", "bad_date")
    assert "@example.no" not in text
    assert text.count("20X") <= 3  # the value and one example line, nothing more
    assert len(text) < 1000


def test_error_value_is_cut_and_masked(tmp_path):
    folder = tmp_path / "p"
    program = write_program(folder)
    sales = folder / "sales.csv"
    lines = sales.read_text().splitlines()
    body = [line.rsplit(",", 2)[0] + ",pay ola@example.com " + "z" * 300 + ",1" for line in lines[1:]]
    sales.write_text(lines[0] + "\n" + "\n".join(body) + "\n")
    text = fails(invoke("validate", program), "column 'amount'")
    assert "ola@example.com" not in text and "z" * 50 not in text


def test_logo_symlink_to_a_file_outside_the_folder(tmp_path):
    secret = tmp_path / "secret.png"
    secret.write_bytes(PNG + b"private")
    program = write_program(tmp_path / "p")
    os.symlink(secret, program.parent / "logo.png")
    edit(program, "currency: NOK", "currency: NOK\nsite: {logo: logo.png}")
    fails(invoke("build", program, "--out", tmp_path / "site"), "site.logo",
          "outside the program's folder", "a link to", "copy the image into the program's folder")
    assert not (tmp_path / "site").exists()


def test_absolute_logo_outside_the_folder_is_an_error_not_dropped(tmp_path):
    logo = tmp_path / "elsewhere" / "logo.png"
    logo.parent.mkdir()
    logo.write_bytes(PNG)
    program = write_program(tmp_path / "p")
    edit(program, "currency: NOK", f"currency: NOK\nsite: {{logo: {json.dumps(str(logo))}}}")
    fails(invoke("validate", program, "--no-data"), "site.logo", "outside the program's folder")


def test_absolute_logo_inside_the_folder_is_published(tmp_path):
    program = write_program(tmp_path / "p")
    (program.parent / "img").mkdir()
    logo = program.parent / "img" / "brand.png"
    logo.write_bytes(PNG)
    edit(program, "currency: NOK", f"currency: NOK\nsite: {{logo: {json.dumps(str(logo))}}}")
    out = _build(tmp_path, program)
    assert (out / "cafe" / "logo.png").read_bytes() == PNG
    assert json.loads((out / "cafe" / "results.json").read_text())["program"]["site"]["logo"] == "img/brand.png"


@pytest.mark.parametrize("content, problem", [
    (b"#!/bin/sh\necho not an image\n", "not a PNG, JPEG, GIF, WebP or SVG image"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "with a script"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "with a script"),
])
def test_logo_that_is_not_a_safe_image(tmp_path, content, problem):
    program = write_program(tmp_path / "p")
    (program.parent / "logo.png").write_bytes(content)
    edit(program, "currency: NOK", "currency: NOK\nsite: {logo: logo.png}")
    fails(invoke("validate", program, "--no-data"), "site.logo", problem)


def test_logo_that_is_a_folder(tmp_path):
    program = write_program(tmp_path / "p")
    (program.parent / "logo.png").mkdir()
    edit(program, "currency: NOK", "currency: NOK\nsite: {logo: logo.png}")
    fails(invoke("validate", program, "--no-data"), "site.logo", "not a regular file")


def test_logo_device_file(tmp_path):
    program = write_program(tmp_path / "p")
    os.symlink("/dev/zero", program.parent / "logo.png")
    edit(program, "currency: NOK", "currency: NOK\nsite: {logo: logo.png}")
    fails(invoke("validate", program, "--no-data"), "site.logo", "outside the program's folder")


def test_clean_svg_logo_is_fine(tmp_path):
    program = write_program(tmp_path / "p")
    (program.parent / "logo.svg").write_text('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>')
    edit(program, "currency: NOK", "currency: NOK\nsite: {logo: logo.svg}")
    succeeds(invoke("validate", program, "--no-data"))


def test_html_in_the_footer_and_title_is_escaped(tmp_path):
    program = write_program(tmp_path / "p")
    edit(program, "currency: NOK", 'currency: NOK\nsite: {title: "<img src=x onerror=alert(1)>", '
         'footer: "<script>alert(2)</script>"}')
    out = _build(tmp_path, program)
    for page in out.rglob("*.html"):
        text = page.read_text()
        assert "<script>alert(2)" not in text and "<img src=x" not in text, page


def test_javascript_url_in_the_colour_is_refused(tmp_path):
    program = write_program(tmp_path / "p")
    edit(program, "currency: NOK", 'currency: NOK\nsite: {primary_color: "javascript:alert(1)"}')
    fails(invoke("validate", program, "--no-data"), "site.primary_color", "quote it")


def test_results_json_holds_no_raw_customer_id(tmp_path):
    program = write_program(tmp_path / "p")
    out = _build(tmp_path, program)
    text = (out / "cafe" / "results.json").read_text()
    assert "@example.no" not in text and "kunde-" not in text


def test_validate_output_holds_no_customer_id(tmp_path):
    program = write_program(tmp_path / "p")
    text = succeeds(invoke("validate", program))
    assert "kunde-" not in text

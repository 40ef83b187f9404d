"""`punchcard init`'s starter program."""

from __future__ import annotations

import json

import pytest
import yaml

from punchcard.errors import PunchcardError
from punchcard.starter import write_starter
from tests.helpers import real_file

KINDS = ("stamp_card", "points", "tiers", "member_discount", "welcome_offer", "birthday",
         "coupons", "perks")


def test_starter(tmp_path):
    sales = tmp_path / "data" / "salg.csv"
    sales.parent.mkdir()
    sales.write_bytes("Kundenummer;Dato;Beløp\n1;31.01.2024;kr 49,00\n".encode("cp1252"))
    out = write_starter(sales, tmp_path / "programs" / "kaffe.yaml").path
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=")
    doc = yaml.safe_load(text)
    assert doc["sales"]["path"] == "../data/salg.csv"
    assert doc["sales"]["columns"] == {"customer": "Kundenummer", "date": "Dato", "amount": "Beløp"}
    assert doc["sales"]["format"] == {"delimiter": ";", "decimal": ",", "encoding": "cp1252",
                                      "date_format": "%d.%m.%Y"}
    assert doc["locale"] == "nb-NO" and doc["currency"] == "NOK"
    assert [s["kind"] for s in doc["schemes"]] == ["stamp_card"]
    for kind in KINDS[1:]:
        assert f"#   kind: {kind}" in text
    with pytest.raises(PunchcardError, match="--force"):
        write_starter(sales, out)
    assert write_starter(sales, out, force=True).path == out
    from punchcard.program import load_program

    assert load_program(out).sales.columns["customer"] == "Kundenummer"


def test_ambiguous_dates_need_and_accept_a_date_format(tmp_path):
    from click.testing import CliRunner

    from punchcard import cli

    sales = tmp_path / "sales.csv"
    sales.write_text("customer,date,amount\na,01/02/2025,10\nb,03/04/2025,12\n")
    out = tmp_path / "p.yaml"
    result = CliRunner().invoke(cli.cli, ["init", str(sales), "-o", str(out)])
    assert result.exit_code == 1
    assert "--date-format" in result.output
    result = CliRunner().invoke(cli.cli, ["init", str(sales), "-o", str(out),
                                          "--date-format", "%d/%m/%Y"])
    assert result.exit_code == 0, result.output
    assert 'date_format: "%d/%m/%Y"' in out.read_text()
    assert (tmp_path / "schema.json").is_file()


@pytest.mark.slow
def test_a_site_built_on_inits_defaults_says_so(tmp_path):
    # init on a real export, then build it untouched: every page opens with the note that
    # the values marked `# TODO: check` were never checked; removing the marks removes it
    from bs4 import BeautifulSoup
    from click.testing import CliRunner

    from punchcard import cli

    program = tmp_path / "programs" / "cdnow.yaml"
    result = CliRunner().invoke(cli.cli, ["init", str(real_file("cdnow_sample.csv")), "-o", str(program)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "site"
    result = CliRunner().invoke(cli.cli, ["build", str(program), "--out", str(out), "--draws", "20",
                                          "--quiet"])
    assert result.exit_code == 0, result.output
    page = BeautifulSoup((out / "cdnow" / "index.html").read_text(encoding="utf-8"), "html.parser")
    note = page.select_one("main > p.unchecked").get_text(" ", strip=True)
    assert "gross_margin, horizon_months, fixed_costs, enrollment, visit_lift" in note
    assert "the ranking mostly follows cost" in note
    assert json.loads((out / "cdnow" / "results.json").read_text())["program"]["unchecked"][0] == \
        "business.gross_margin"
    # the verdict's share and the tile beside it: one figure, one number (3.7 % here)
    card = page.select_one(".ranking > li")
    reached = json.loads((out / "cdnow" / "results.json").read_text())["schemes"][0]["backtest"][
        "rewarded_within_year_share"]
    shown = f"{reached * 100:.1f}%"
    facts = {dt.get_text(strip=True): dd.get_text(strip=True) for dt, dd in
             zip(card.select("dt"), card.select("dd"))}
    assert facts["Members rewarded within a year"] == shown
    assert f"{shown} of your customers would use a reward within a year" in card.get_text(" ", strip=True)

    program.write_text(program.read_text(encoding="utf-8").replace("# TODO: check", "# checked"),
                       encoding="utf-8")
    result = CliRunner().invoke(cli.cli, ["build", str(program), "--out", str(out), "--draws", "20",
                                          "--quiet"])
    page = BeautifulSoup((out / "cdnow" / "index.html").read_text(encoding="utf-8"), "html.parser")
    assert page.select_one("p.unchecked") is None

"""`punchcard init`'s starter program."""

from __future__ import annotations

import pytest
import yaml

from punchcard.errors import PunchcardError
from punchcard.starter import write_starter

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

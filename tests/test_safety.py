"""Hardening: escaped program strings, ids that cannot escape the site, safe YAML."""

from click.testing import CliRunner

from punchcard import cli
from tests.helpers import write_program


def test_script_in_scheme_name_is_escaped(tmp_path):
    evil = "<script>alert(1)</script>"
    program = write_program(tmp_path / "programs", name=f"Shop {evil}",
                            scheme_name=f'"{evil}"')
    out = tmp_path / "site"
    result = CliRunner().invoke(cli.cli, ["build", str(program), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    for page in out.rglob("*.html"):
        assert "<script>alert" not in page.read_text(), page


def test_id_cannot_escape_the_output_folder(tmp_path):
    program = write_program(tmp_path / "programs")
    program.write_text("id: ../../x\n" + program.read_text())
    result = CliRunner().invoke(cli.cli, ["validate", str(program)])
    assert result.exit_code == 1
    assert "id" in result.output


def test_scheme_id_cannot_escape(tmp_path):
    program = write_program(tmp_path / "programs")
    program.write_text(program.read_text().replace("id: points", "id: ../points"))
    result = CliRunner().invoke(cli.cli, ["validate", str(program)])
    assert result.exit_code == 1
    assert 'schemes[1].id: expected a slug, found "../points"' in result.output


def test_yaml_is_loaded_safely(tmp_path):
    program = write_program(tmp_path / "programs")
    program.write_text("x: !!python/object/apply:os.system ['echo hacked']\n"
                       + program.read_text())
    result = CliRunner().invoke(cli.cli, ["validate", str(program)])
    assert result.exit_code == 1
    assert "hacked" not in result.output
    assert "x: unknown key `x`" in result.output  # read as plain data, the tag never run


def test_out_refuses_a_foreign_folder(tmp_path):
    program = write_program(tmp_path / "programs")
    out = tmp_path / "important"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    result = CliRunner().invoke(cli.cli, ["build", str(program), "--out", str(out)])
    assert result.exit_code == 1
    assert "did not build" in result.output
    assert (out / "notes.txt").read_text() == "keep me"

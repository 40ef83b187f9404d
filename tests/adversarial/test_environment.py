"""The environment: garbage in PUNCHCARD_* variables, a broken template override, other
time zones, locales and hash seeds (the site stays byte-identical)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.adversarial.running import fails, invoke, run, succeeds


@pytest.mark.parametrize("name, value, fragment", [
    ("PUNCHCARD_SEED", "abc", "--seed"),
    ("PUNCHCARD_DRAWS", "0", "--draws"),
    ("PUNCHCARD_DRAWS", "1e9", "--draws"),
    ("PUNCHCARD_THREADS", "100000", "--threads"),
    ("PUNCHCARD_TEMPLATES", "/no/such/folder", "--templates"),
])
def test_garbage_in_environment_variables(program, tmp_path, name, value, fragment):
    fails(invoke("build", program, "--out", tmp_path / "site", env={name: value}), fragment, code=2)


def test_template_override_with_a_syntax_error(program, tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "program.html").write_text("{% extends 'base.html' %}{% block content %}{{ oops(}}{% endblock %}")
    fails(invoke("build", program, "--out", tmp_path / "site", "--templates", templates),
          "program.html", "Fix:")
    assert not (tmp_path / "site").exists()


def test_template_override_that_reads_something_missing(program, tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "program.html").write_text("{% extends 'base.html' %}{% block content %}"
                                            "{{ results.nope.deeper }}{% endblock %}")
    fails(invoke("build", program, "--out", tmp_path / "site", "--templates", templates),
          "program.html", "Fix:")


def test_template_override_that_is_not_utf8(program, tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "program.html").write_bytes(b"\xff\xfe{{ x }}")
    fails(invoke("build", program, "--out", tmp_path / "site", "--templates", templates),
          "program.html")


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_other_time_zone_locale_and_hash_seed_give_the_same_bytes(program, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    succeeds(run("build", program, "--out", a, "--quiet", timeout=120, SOURCE_DATE_EPOCH="1767225600"))
    succeeds(run("build", program, "--out", b, "--quiet", timeout=120, TZ="Pacific/Kiritimati",
                 LC_ALL="C", LANG="C", PYTHONHASHSEED="12345", SOURCE_DATE_EPOCH="1767225600"))
    assert _tree(a) == _tree(b)


@pytest.mark.parametrize("value, ok", [("", True), ("  ", True), ("yesterday", False),
                                       ("99999999999999999999", False)])
def test_source_date_epoch_that_is_not_a_time(program, tmp_path, value, ok):
    result = invoke("build", program, "--out", tmp_path / "site", "--quiet",
                    env={"SOURCE_DATE_EPOCH": value})
    if ok:
        succeeds(result)
    else:
        fails(result, "SOURCE_DATE_EPOCH=", "is not a Unix time", "Fix: unset it")
        assert not (tmp_path / "site").exists()

"""Resources: a full disk, YAML bombs, deep nesting, huge ids and cells — each a message
naming the path and the fix, found before the long work starts."""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

import pytest

from tests.adversarial.running import edit, fails, invoke, succeeds
from tests.helpers import write_program


def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device", "/full/disk/site/cafe/index.html")


def test_disk_full_while_rendering(tmp_path, program, monkeypatch):
    from punchcard import site as render

    out = tmp_path / "site"
    succeeds(invoke("build", program, "--out", out, "--quiet"))
    before = (out / "cafe" / "results.json").read_bytes()
    monkeypatch.setattr(render, "render_site", _enospc)
    text = fails(invoke("build", program, "--out", out, "--force"),
                 "No space left on device", "free some space", "nothing was changed")
    assert "index.html" in text  # the path the write failed on
    assert (out / "cafe" / "results.json").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".site")] == []


def test_disk_full_for_schema(tmp_path):
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    fails(invoke("schema", "-o", "/dev/full"), "/dev/full", "No space left on device",
          "free some disk space")


def test_sample_data_into_a_file_posing_as_a_folder(tmp_path):
    (tmp_path / "notafolder").write_text("x")
    fails(invoke("sample-data", "-o", tmp_path / "notafolder" / "sales.csv", "--customers", "5"),
          "notafolder", "Fix:")


def test_out_on_a_read_only_place(tmp_path, program):
    locked = tmp_path / "ro"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if (locked / "probe").parent.stat().st_mode and _writable(locked):
            pytest.skip("running as a user who may write anywhere (root)")
        fails(invoke("build", program, "--out", locked / "site"), str(locked), "Fix:")
    finally:
        locked.chmod(0o700)


def _writable(folder: Path) -> bool:
    try:
        (folder / "probe").write_text("x")
    except OSError:
        return False
    (folder / "probe").unlink()
    return True


MERGE_BOMB = "a: &a {x: 1, y: 2}\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} {{<<: [*{chr(97 + i)}, *{chr(97 + i)}], z{i}: 1}}\n" for i in range(22))


def test_merge_key_bomb_is_refused_fast(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(MERGE_BOMB + "schemes: {<<: [*w, *w]}\n")
    assert path.stat().st_size < 1000
    t = time.monotonic()
    fails(invoke("validate", path), "bomb.yaml", "merges (`<<`) expand to more than 100,000 values",
          "Fix: write the keys out")
    assert time.monotonic() - t < 10


def test_billion_laughs(tmp_path):
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        prev = chr(96 + i)
        lines.append(f"{chr(97 + i)}: &{chr(97 + i)} [" + ",".join([f"*{prev}"] * 9) + "]")
    lines.append("name: *i")
    path = tmp_path / "laughs.yaml"
    path.write_text("\n".join(lines) + "\n")
    fails(invoke("validate", path), "laughs.yaml", "expand to more than")


def test_hundred_thousand_brackets(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("name: " + "[" * 100_000 + "]" * 100_000 + "\n")
    fails(invoke("validate", path), "deep.yaml:1:", "nested more than 64 levels deep")


def test_deep_block_mappings(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("".join("  " * i + f"k{i}:\n" for i in range(200)) + "  " * 200 + "x: 1\n")
    fails(invoke("validate", path), "deep.yaml:", "nested more than 64 levels deep")


def test_alias_chain_deeper_than_the_limit(tmp_path):
    lines = ["a0: &a0 [1]"] + [f"a{i}: &a{i} [*a{i - 1}]" for i in range(1, 3000)]
    path = tmp_path / "chain.yaml"
    path.write_text("\n".join(lines) + "\nname: *a2999\n")
    fails(invoke("validate", path), "chain.yaml", "levels deep")


def test_alias_that_contains_itself(tmp_path):
    path = tmp_path / "loop.yaml"
    path.write_text("name: &a [1, *a]\n")
    fails(invoke("validate", path), "loop.yaml:1:", "refers to the value that contains it")


def test_merge_of_itself(tmp_path):
    path = tmp_path / "loop.yaml"
    path.write_text("sales: &s {path: x.csv, <<: *s}\n")
    fails(invoke("validate", path), "loop.yaml:1:", "refers to the value that contains it")


def test_program_file_too_big(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_text("name: x\n" + "# padding\n" * 150_000)
    fails(invoke("validate", path), "huge.yaml:1:1:", "a program file may be at most 1,000,000")


def test_three_hundred_character_program_id_refused_before_the_work(tmp_path, program):
    edit(program, "name: Test café", "id: " + "a" * 300 + "\nname: Test café")
    t = time.monotonic()
    text = fails(invoke("build", program, "--out", tmp_path / "site"), "cafe.yaml:1:", "at most 80 characters")
    assert "building" not in text  # refused before any sales file was read
    assert time.monotonic() - t < 10
    assert not (tmp_path / "site").exists()


def test_long_file_stem_without_id(tmp_path):
    program = write_program(tmp_path / "programs", stem="b" * 120)
    fails(invoke("validate", program), "cannot be the program id", "id: " + "b" * 80)


def test_three_hundred_character_scheme_id(tmp_path, program):
    edit(program, "id: points", "id: " + "p" * 300)
    fails(invoke("validate", program), "schemes[1].id", "at most 80 characters")


def test_fifty_megabyte_id_cell_is_refused_fast(tmp_path, program):
    sales = program.parent / "sales.csv"
    lines = sales.read_text().splitlines()
    lines.insert(5, "x" * 50_000_000 + ",2025-03-01,10.00,1")
    sales.write_text("\n".join(lines) + "\n")
    t = time.monotonic()
    text = fails(invoke("validate", program), "sales.csv: line 6, column 'customer'",
                 "a customer id of 50,000,000 bytes", "check the export's quoting")
    assert "xxxx" not in text
    assert time.monotonic() - t < 30


def test_stray_quote_at_line_2002_is_reported_there_without_rows(tmp_path, program):
    sales = program.parent / "sales.csv"
    lines = sales.read_text().splitlines()
    lines = lines[:1] + (lines[1:] * 5)[:2999]
    lines[2001] = '"' + lines[2001]  # line 2,002 of the file: a quote that never closes
    sales.write_text("\n".join(lines) + "\n")
    text = fails(invoke("validate", program), "sales.csv: line 2002: a quote", "never closes",
                 "Fix: remove the stray quote")
    assert "kunde-" not in text and len(text) < 400


def test_reader_errors_never_quote_rows():
    from punchcard.ingest.dialect import engine_reason

    exc = ValueError("could not parse `kunde-0001@example.no,2025-01-01,1` as dtype str\nmore")
    assert engine_reason(exc) == "could not parse `…` as dtype str"


def test_long_order_id(tmp_path):
    folder = tmp_path / "p"
    program = write_program(folder)
    sales = folder / "sales.csv"
    rows = sales.read_text().splitlines()
    out = ["order," + rows[0]] + [f"o{i}," + r for i, r in enumerate(rows[1:])]
    out[9] = "y" * 5000 + "," + rows[8]
    sales.write_text("\n".join(out) + "\n")
    edit(program, "  path: sales.csv", "  path: sales.csv\n  columns: {order: order}")
    fails(invoke("validate", program), "line 10, column 'order'", "an order id of 5,000 bytes")


def test_ten_thousand_schemes(tmp_path, program):
    text = program.read_text()
    head, schemes = text.split("schemes:\n")
    many = "".join(f"  - {{id: s{i}, kind: member_discount, rate: 0.05}}\n" for i in range(10_000))
    program.write_text(head + "schemes:\n" + many)
    fails(invoke("validate", program, "--no-data"), "schemes", "10,000 items", "at most 100",
          "split them into several program files")


def test_fifty_tiers(program):
    tiers = ", ".join(f"{{name: T{i}, min_spend: {i * 100}, discount: 0.01}}" for i in range(50))
    edit(program, "  - id: discount\n", f"  - id: tiered\n    kind: tiers\n    tiers: [{tiers}]\n  - id: discount\n")
    fails(invoke("validate", program, "--no-data"), "schemes[2].tiers", "at most 20")


def test_disk_really_full(tmp_path, program):
    import subprocess

    disk = tmp_path / "full"
    disk.mkdir()
    mounted = os.geteuid() == 0 and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(disk)], capture_output=True).returncode == 0
    if not mounted:
        pytest.skip("cannot mount a 200 kB tmpfs here (needs root)")
    try:
        fails(invoke("build", program, "--out", disk / "site"), "No space left on device",
              f"free some space on the disk that holds {disk}", "nothing was changed")
        assert list(disk.iterdir()) == []  # the half-written hidden folder was removed
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)

"""Output paths and serving: --out that is a link, a loop, a file, a foreign folder or far
too long; serve on a busy port or a bad address; --self-contained and --check together."""

from __future__ import annotations

import os
import socket

import pytest

from tests.adversarial.running import fails, invoke, run, succeeds


def test_out_as_a_dangling_symlink(tmp_path, program):
    link = tmp_path / "site"
    os.symlink(tmp_path / "nowhere" / "real-site", link)
    fails(invoke("build", program, "--out", link), "is a symbolic link to", "which does not exist",
          "remove the link")
    assert not (tmp_path / "nowhere").exists()


def test_out_as_a_symlink_loop(tmp_path, program):
    os.symlink(tmp_path / "b", tmp_path / "a")
    os.symlink(tmp_path / "a", tmp_path / "b")
    fails(invoke("build", program, "--out", tmp_path / "a"), str(tmp_path / "a"), "remove the link")


def test_out_as_a_symlink_to_a_real_site_is_followed(tmp_path, program):
    real = tmp_path / "releases" / "site"
    real.parent.mkdir()
    succeeds(invoke("build", program, "--out", real, "--quiet"))
    os.symlink(real, tmp_path / "current")
    succeeds(invoke("build", program, "--out", tmp_path / "current", "--quiet", "--force"))
    assert (tmp_path / "current").is_symlink() and (real / "cafe" / "index.html").is_file()


def test_out_is_a_file(tmp_path, program):
    (tmp_path / "site").write_text("a file")
    # click refuses a file where a folder is wanted (usage error, exit 2)
    fails(invoke("build", program, "--out", tmp_path / "site"), "site", code=2)
    assert (tmp_path / "site").read_text() == "a file"


def test_out_under_a_file(tmp_path, program):
    (tmp_path / "file").write_text("a file")
    fails(invoke("build", program, "--out", tmp_path / "file" / "site"), "file", "Fix:")


def test_out_is_the_programs_own_folder(tmp_path, program):
    fails(invoke("build", program, "--out", program.parent), "punchcard did not build",
          "Choose an empty or new folder")
    assert program.is_file()


def test_out_is_the_filesystem_root(program):
    fails(invoke("build", program, "--out", "/"), "did not build")


def test_out_name_too_long(tmp_path, program):
    fails(invoke("build", program, "--out", tmp_path / ("s" * 300)), "File name too long",
          "shorter")


def test_out_inside_an_existing_site(tmp_path, program):
    out = tmp_path / "site"
    succeeds(invoke("build", program, "--out", out, "--quiet"))
    fails(invoke("build", program, "--out", out / "cafe"), "punchcard did not build")


def test_serve_on_a_busy_port(tmp_path, program):
    out = tmp_path / "site"
    succeeds(invoke("build", program, "--out", out, "--quiet"))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        fails(invoke("serve", out, "--port", port), f"cannot serve on 127.0.0.1:{port}",
              "Address already in use", "choose another port with --port")


def test_serve_on_an_unknown_address(tmp_path):
    (tmp_path / "site").mkdir()
    fails(invoke("serve", tmp_path / "site", "--bind", "no-such-host.invalid", "--port", "0"),
          "cannot serve on no-such-host.invalid:0", "another --bind")


def test_serve_a_missing_folder(tmp_path):
    fails(invoke("serve", tmp_path / "missing"), "does not exist", code=2)


def test_serve_port_out_of_range(tmp_path):
    (tmp_path / "site").mkdir()
    fails(invoke("serve", tmp_path / "site", "--port", "70000"), "70000", code=2)


def test_self_contained_writes_the_site_too_and_check_agrees(tmp_path, program):
    out = tmp_path / "site"
    succeeds(invoke("build", program, "--out", out, "--self-contained", "--quiet"))
    assert (out / "cafe.html").is_file()  # the single file for e-mail …
    assert (out / "cafe" / "index.html").is_file() and (out / "cafe" / "results.json").is_file()
    text = succeeds(invoke("build", program, "--out", out, "--check"))  # … and --check agrees
    assert "up to date" in text


def test_check_on_a_missing_site(tmp_path, program):
    fails(invoke("build", program, "--out", tmp_path / "site", "--check"), "is stale",
          "not built yet")


@pytest.mark.slow
def test_build_through_the_console_script_on_a_dangling_link(tmp_path, program):
    os.symlink(tmp_path / "gone", tmp_path / "site")
    fails(run("build", program, "--out", tmp_path / "site", timeout=120), "which does not exist")

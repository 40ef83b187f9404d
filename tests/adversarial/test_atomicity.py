"""Atomicity and leftovers: a kill at any moment loses nothing, and the next build cleans up.

Each case is one way a build can be cut short: kill -9 while rendering, between the two
renames of a swap, while a cp1252 export is transcoded; Ctrl-C at any stage; two builds
into one --out at once.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from punchcard.site import write
from tests.adversarial.running import fails, invoke, run, start, succeeds, write_forecast_program
from tests.helpers import SECRET_IDS, write_program


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _hidden(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(".site."))


def _built(tmp_path: Path, program: Path) -> Path:
    out = tmp_path / "site"
    succeeds(invoke("build", program, "--out", out, "--quiet"))
    return out


def test_leftover_tmp_folders_of_a_killed_build_are_swept(tmp_path, program):
    out = _built(tmp_path, program)
    for name in (".site.tmp-abc123", ".site.tmp-zzz"):  # what kill -9 during rendering leaves
        (tmp_path / name / "cafe").mkdir(parents=True)
        (tmp_path / name / "cafe" / "index.html").write_text("half a page")
    succeeds(invoke("build", program, "--out", out, "--quiet", "--force"))
    assert _hidden(tmp_path) == []
    assert (out / "cafe" / "index.html").is_file()


def test_kill_between_the_two_renames_is_repaired(tmp_path, program):
    out = _built(tmp_path, program)
    before = _tree(out)
    # the fallback swap's state after `out -> .old` and before `.tmp -> out`
    os.replace(out, tmp_path / ".site.old-k1ll3d")
    (tmp_path / ".site.tmp-n3w").mkdir()
    (tmp_path / ".site.tmp-n3w" / "index.html").write_text("new, never swapped in")
    assert not out.exists()
    # the next build puts the old site back first, so the unchanged program is reused
    text = succeeds(invoke("build", program, "--out", out))
    assert "unchanged since the last build" in text
    assert _tree(out) == before
    assert _hidden(tmp_path) == []


def test_swap_is_one_step_when_the_system_offers_it(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "x").write_text("a")
    (b / "x").write_text("b")
    if not write._exchange(a, b):
        pytest.skip("no renameat2(RENAME_EXCHANGE) here: the documented two-rename fallback is used")
    assert (a / "x").read_text() == "b" and (b / "x").read_text() == "a"


def test_fallback_swap_without_exchange(tmp_path, monkeypatch):
    monkeypatch.setattr(write, "_exchange", lambda a, b: False)
    out = tmp_path / "site"
    write.atomic_site(out, lambda tmp: (tmp / "index.html").write_text("one"))
    write.atomic_site(out, lambda tmp: (tmp / "index.html").write_text("two"))
    assert (out / "index.html").read_text() == "two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_failed_render_leaves_no_tmp_folder(tmp_path):
    out = tmp_path / "site"
    write.atomic_site(out, lambda tmp: (tmp / "index.html").write_text("good"))

    def interrupted(tmp: Path) -> None:
        (tmp / "index.html").write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write.atomic_site(out, interrupted)
    assert (out / "index.html").read_text() == "good"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


@pytest.mark.slow
def test_kill_9_during_a_build_then_rebuild(tmp_path, program):
    out = _built(tmp_path, program)
    before = _tree(out)
    proc = start("build", program, "--out", out, "--force", "--quiet")
    deadline = time.monotonic() + 30
    while proc.poll() is None and time.monotonic() < deadline:
        if any(p.name.startswith(".site.tmp-") for p in tmp_path.iterdir()):
            break  # rendering has started
        time.sleep(0.005)
    proc.kill()
    proc.communicate(timeout=30)
    assert out.is_dir() and (out / write.MARKER).is_file()  # never missing, never half
    assert _tree(out) == before
    succeeds(run("build", program, "--out", out, "--quiet", timeout=120))
    assert _hidden(tmp_path) == []


@pytest.mark.slow
def test_two_builds_into_one_out_at_once(tmp_path, program):
    out = tmp_path / "site"
    procs = [start("build", program, "--out", out, "--force", "--quiet") for _ in range(2)]
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr
        assert "internal error" not in stderr and "Traceback" not in stderr
    assert (out / "cafe" / "results.json").is_file()
    assert _hidden(tmp_path) == []


def test_a_build_waiting_on_the_lock_says_so(tmp_path, program, monkeypatch):
    out = tmp_path / "site"
    monkeypatch.setattr(write, "LOCK_WAIT_S", 0.2)
    with write.locked(out):
        result = invoke("build", program, "--out", out)
    fails(result, "another punchcard build is writing this folder", str(tmp_path),
          "build into another --out")
    assert not out.exists()


@pytest.mark.slow
@pytest.mark.parametrize("after", ["", "fitting the customer model", "simulating"])
def test_ctrl_c_at_any_stage_exits_130(tmp_path, after):
    # SIGINT once the build's -v log shows the stage: loading (at once), fitting, simulating
    # (where numba used to turn it into "SystemError: CPUDispatcher(...)").
    program = write_forecast_program(tmp_path / "programs", draws=4000)
    out = tmp_path / "site"
    proc = start("build", program, "--out", out, "--force", "-v")
    log = []
    if after:
        for line in proc.stderr:
            log.append(line)
            if after in line:
                break
    time.sleep(0.3)
    if proc.poll() is not None:
        pytest.skip("the build finished before the interrupt")
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    stderr = "".join(log) + stderr
    assert proc.returncode == 130, stderr
    assert stderr.rstrip().endswith("Aborted.")
    assert "internal error" not in stderr and "Traceback" not in stderr
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".site.tmp-")]


@pytest.mark.slow
def test_kill_while_transcoding_leaves_no_plaintext(tmp_path):
    folder = tmp_path / "programs"
    program = write_program(folder)
    text = (folder / "sales.csv").read_text(encoding="utf-8")
    # a cp1252 export big enough to be caught while it is transcoded
    body = text.split("\n", 1)[1].replace(",2025", ",2025").replace("kunde", "kündé")
    (folder / "sales.csv").write_bytes(("customer,date,amount,items\n" + body * 400).encode("cp1252"))
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    proc = start("build", program, "--out", tmp_path / "site", TMPDIR=str(tmpdir))
    # kill -9 the moment the process holds a file in TMPDIR open: the transcoded copy
    seen, deadline = False, time.monotonic() + 60
    while not seen and proc.poll() is None and time.monotonic() < deadline:
        try:
            links = [os.readlink(f"/proc/{proc.pid}/fd/{fd}") for fd in os.listdir(f"/proc/{proc.pid}/fd")]
        except OSError:
            links = []
        seen = any(link.startswith(str(tmpdir)) for link in links)
    proc.kill()
    proc.communicate(timeout=30)
    leaked = [p for p in tmpdir.rglob("*") if p.is_file()
              and any(ident.replace("kunde", "kündé").encode() in p.read_bytes() for ident in SECRET_IDS[:3])]
    assert not leaked
    assert not list(tmpdir.glob("punchcard-*/*"))
    if not seen:
        pytest.skip("the copy was not caught open (no /proc here, or the build was too quick)")


def test_transcoded_copy_has_no_name_on_disk(tmp_path, monkeypatch):
    from punchcard.ingest import sources

    with sources.private_folder() as tmp:
        (tmp_path / "x.csv").write_bytes("id,date,amount\nkündé-1,2025-01-01,1\n".encode("cp1252"))
        from punchcard.ingest.dialect import Dialect
        path = sources.transcode(tmp_path / "x.csv", Dialect("cp1252", ",", ".", None, None), tmp)
        assert "kündé-1" in path.read_text(encoding="utf-8")
        assert list(tmp.iterdir()) == []  # no name in any folder
    assert not tmp.exists()


def test_rebuild_after_interrupted_rebuild_is_clean(tmp_path, program, monkeypatch):
    out = _built(tmp_path, program)
    from punchcard import site as render

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(render, "render_site", boom)
    result = invoke("build", program, "--out", out, "--force")
    fails(result, "Aborted.", code=130)
    assert _hidden(tmp_path) == []
    assert (out / "cafe" / "index.html").is_file()


@pytest.mark.slow
def test_sigterm_is_handled_like_ctrl_c(tmp_path):
    program = write_forecast_program(tmp_path / "programs", draws=4000)
    out = tmp_path / "site"
    proc = start("build", program, "--out", out, "--force", "-v")
    for line in proc.stderr:
        if "fitting the customer model" in line:
            break
    time.sleep(0.3)
    if proc.poll() is not None:
        pytest.skip("the build finished before the signal")
    proc.terminate()
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert stderr.rstrip().endswith("Aborted.")
    assert "internal error" not in stderr and "Traceback" not in stderr
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".site.")]

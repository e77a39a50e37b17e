"""Collecting from QEMU: real binaries, and faults injected by stand-in binaries."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from generator.app.collecting import gather_all
from generator.app.settings import Sources
from generator.collect.launcher import QEMU_ARGS
from generator.collect.records import build_of, find_baseline
from generator.collect.snapshot import load_snapshot
from tests.conftest import BUILDS, FIXTURES, ROOT, TESTS, Result

FAKE = TESTS / "fakes" / "fake_qemu.py"


def monitor_stdio_lines(binary: str) -> list[str]:
    """`help` as QEMU prints it on a plain -monitor stdio, without QMP: every line."""
    out = subprocess.run(
        [binary, *QEMU_ARGS, "-monitor", "stdio"],
        input="help\nquit\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    # Between the echoed `help` and the next prompt; the echo uses escapes.
    body = out.split("\n", 2)[2].split("(qemu)")[0]
    return body.replace("\r", "").removesuffix("\n").split("\n")


def monitor_stdio_help(binary: str) -> list[str]:
    """The lines that start an entry."""
    return [line for line in monitor_stdio_lines(binary) if line and line[0] not in "\t["]


def test_live_x86_and_arm_concurrently(qemu_x86: str, qemu_arm: str) -> None:
    x86, arm = gather_all(Sources(qemu=[qemu_x86, qemu_arm], timeout=60))
    assert (x86.target, arm.target) == ("x86_64", "aarch64")
    for snap, binary in ((x86, qemu_x86), (arm, qemu_arm)):
        assert len(snap.commands) == len(monitor_stdio_help(binary))
        version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
        assert f"version {snap.version}" in version
        cont = next(e for e in snap.commands if e.name == "cont")
        assert cont.aliases == ("c",)
    assert "mce" in {e.name for e in x86.commands}
    assert "mce" not in {e.name for e in arm.commands}
    assert "lapic" in {e.name for e in x86.info} - {e.name for e in arm.info}


def test_collect_writes_a_snapshot_and_reads_it_back(
    qemu_x86: str, tmp_path: Path, cli: Callable[..., Result]
) -> None:
    out = tmp_path / "x86.json"
    assert cli("collect", "--qemu", qemu_x86, "-o", out).status == 0
    doc = json.loads(out.read_text())
    assert doc["format"] == 2 and doc["target"] == "x86_64"
    assert doc["variant"] == "qemu-system-x86_64"
    assert re.fullmatch(r"\d+\.\d+\.\d+", doc["version"])
    # The lines as QEMU printed them (CRLF made LF), one JSON string each.
    assert "cont|c  -- resume emulation" in doc["help"]
    assert doc["help"] == monitor_stdio_lines(qemu_x86)
    snap = load_snapshot(str(out))
    assert {"cont", "help", "info", "quit"} <= {e.name for e in snap.commands}
    assert "block" in {e.name for e in snap.info}


def test_live_matches_its_record(qemu_x86: str, cli: Callable[..., Result], tmp_path: Path) -> None:
    """Collecting a recorded build again gives its record byte for byte; a build not
    recorded (a newer point release) lists the commands of its baseline."""
    out = tmp_path / "x86.json"
    assert cli("collect", "--qemu", "qemu-system-x86_64", "-o", out).status == 0
    live = load_snapshot(str(out))
    found = find_baseline(build_of(live, {}), str(BUILDS), {})
    assert found.build is not None and found.snapshot is not None, found.why_none
    if found.build == build_of(live, {}):
        assert out.read_text() == (BUILDS / f"{found.build.slug}.json").read_text()
    else:
        assert [e.names for e in live.commands] == [e.names for e in found.snapshot.commands]


def test_collect_names_for_shell_use(qemu_arm: str, cli: Callable[..., Result]) -> None:
    result = cli("collect", "--qemu", qemu_arm, "--names")
    lines = result.out.splitlines()
    assert "cont c" in lines and "help ?" in lines and "info version" in lines
    assert "mce" not in lines


def test_collect_from_saved_text(cli: Callable[..., Result], tmp_path: Path) -> None:
    out = tmp_path / "s.json"
    result = cli(
        "collect",
        "--from-text",
        FIXTURES / "qemu-7.2-aarch64.help.txt",
        "--info-text",
        FIXTURES / "qemu-7.2-aarch64.info.txt",
        "--qemu-version",
        "7.2.22",
        "--target",
        "aarch64",
        "-o",
        out,
    )
    assert result.status == 0, result.err
    snap = load_snapshot(str(out))
    recorded = load_snapshot(str(BUILDS / "debian-7.2.22-aarch64.json"))
    assert (snap.commands, snap.info, snap.target) == (recorded.commands, recorded.info, "aarch64")


@pytest.mark.parametrize(
    "edit",
    [
        lambda t: "\ufeff" + t,
        lambda t: t.replace("\n", "\r\n"),
        lambda t: "\ufeff" + t.replace("\n", "\r\n"),
    ],
    ids=["byte-order mark", "crlf", "both"],
)
def test_from_text_drops_a_byte_order_mark_and_reads_crlf_as_lf(
    edit: Callable[[str], str], cli: Callable[..., Result], tmp_path: Path
) -> None:
    """As an editor on another system may save QEMU's text: the snapshot is the same."""
    snaps: list[dict[str, object]] = []
    for name, change in (("plain", str), ("edited", edit)):
        paths = []
        for kind in ("help", "info"):
            path = tmp_path / f"{name}.{kind}.txt"
            text = (FIXTURES / f"qemu-7.2-x86_64.{kind}.txt").read_text()
            path.write_text(change(text), newline="")
            paths.append(path)
        out = tmp_path / f"{name}.json"
        result = cli("collect", "--from-text", paths[0], "--info-text", paths[1], "-o", out)
        assert result.status == 0, result.err
        snaps.append({**json.loads(out.read_text()), "binary": "the help file"})
    assert snaps[1] == snaps[0]


def test_collect_from_text_the_parser_rejects(cli: Callable[..., Result], tmp_path: Path) -> None:
    bad = tmp_path / "help.txt"
    bad.write_text("cont|c  -- resume emulation\n\tok\nst op -- x\nbell!  -- y\n")
    result = cli("collect", "--from-text", bad)
    assert result.status == 2
    assert result.err == f"hmp-perms: {bad}:4: 'bell!' is not a command name ([A-Za-z0-9_?-]+)\n"


@pytest.mark.parametrize("char", ["\x07", "\x1b", "\r", "\x85", "\u2028", "\u202e", "\ufeff"])
@pytest.mark.parametrize("where", ["stop\x00  -- stop", "stop  -- stop\x00 it", "\t\x00more help"])
def test_a_listing_line_holds_printable_text_only(
    cli: Callable[..., Result], tmp_path: Path, char: str, where: str
) -> None:
    """QEMU's text reaches terminals and CI pages: a control character, a line break
    other than LF, a bidi override is refused with its line, whatever follows it."""
    bad = tmp_path / "help.txt"
    bad.write_text("cont|c  -- resume emulation\n" + where.replace("\x00", char) + "\n", newline="")
    result = cli("collect", "--from-text", bad)
    assert (result.status, result.out) == (2, "")
    assert result.err.startswith(f"hmp-perms: {bad}:2: holds the control character U+"), result.err


# -- faults ------------------------------------------------------------------


def fake_binary(tmp_path: Path, mode: str) -> tuple[str, Path]:
    """A stand-in QEMU in `mode`, and the file it writes its PID to."""
    pidfile = tmp_path / f"{mode}.pid"
    script = tmp_path / f"fake-qemu-{mode}"
    script.write_text(
        f'#!/bin/sh\nFAKE_QEMU_PIDFILE={pidfile} exec {sys.executable} {FAKE} {mode} "$@"\n'
    )
    script.chmod(0o755)
    return str(script), pidfile


def assert_gone(pidfile: Path) -> None:
    if not pidfile.exists():
        return
    pid = int(pidfile.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def one_line(result: Result) -> str:
    assert result.status == 2
    assert result.out == ""
    assert "Traceback" not in result.err
    lines = result.err.splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_binary_not_found(cli: Callable[..., Result], private_tmp: Path) -> None:
    line = one_line(cli("collect", "--qemu", "qemu-system-nosuchtarget"))
    assert line.startswith("hmp-perms: qemu-system-nosuchtarget: not found on PATH")


def test_binary_path_missing(cli: Callable[..., Result], tmp_path: Path, private_tmp: Path) -> None:
    line = one_line(cli("collect", "--qemu", tmp_path / "nope"))
    assert line == f"hmp-perms: {tmp_path / 'nope'}: no such file"


def test_binary_not_executable(
    cli: Callable[..., Result], tmp_path: Path, private_tmp: Path
) -> None:
    plain = tmp_path / "qemu-plain"
    plain.write_text("not a program\n")
    line = one_line(cli("collect", "--qemu", plain))
    assert line == f"hmp-perms: {plain}: is not an executable file"


def test_real_qemu_that_exits_at_once_shows_its_stderr(
    qemu_x86: str, tmp_path: Path, cli: Callable[..., Result], private_tmp: Path
) -> None:
    wrapper = tmp_path / "qemu-with-unknown-option"
    wrapper.write_text(f'#!/bin/sh\nexec {qemu_x86} -no-such-option "$@"\n')
    wrapper.chmod(0o755)
    line = one_line(cli("collect", "--qemu", wrapper))
    assert f"{wrapper}: exited before it connected (exit status 1)" in line
    assert "QEMU said:" in line and "-no-such-option" in line


# mode: the line the user sees, with {binary} for the stand-in's path
FAKE_FAULTS = {
    "exit": "hmp-perms: {binary}: exited before it connected (exit status 1)"
    " (QEMU said: fake qemu: -machine none: unsupported machine type)",
    "garbage": "hmp-perms: {binary}: help:1: '%%%' is not a command name ([A-Za-z0-9_?-]+)",
    "bad-reply": "hmp-perms: {binary}: unexpected reply to 'help': 42",
}


@pytest.mark.parametrize("mode", FAKE_FAULTS)
def test_fake_qemu_fault_gives_one_line(
    mode: str, tmp_path: Path, cli: Callable[..., Result], private_tmp: Path
) -> None:
    """A stand-in QEMU that exits at once, prints garbage or replies with the wrong type."""
    binary, pidfile = fake_binary(tmp_path, mode)
    line = one_line(cli("collect", "--qemu", binary, "--timeout", "20"))
    assert line == FAKE_FAULTS[mode].format(binary=binary)
    assert_gone(pidfile)


@pytest.mark.slow  # waits out a timeout or fuzzes: left out of the fast run
def test_fake_qemu_that_hangs_is_killed_at_the_timeout(
    tmp_path: Path, cli: Callable[..., Result], private_tmp: Path
) -> None:
    binary, pidfile = fake_binary(tmp_path, "hang")
    start = time.monotonic()
    line = one_line(cli("collect", "--qemu", binary, "--timeout", "1"))
    assert line == f"hmp-perms: {binary}: no answer within 1 s"
    assert time.monotonic() - start < 30
    assert_gone(pidfile)


def test_fake_qemu_that_dies_mid_conversation(
    tmp_path: Path, cli: Callable[..., Result], private_tmp: Path
) -> None:
    binary, pidfile = fake_binary(tmp_path, "die-mid")
    line = one_line(cli("collect", "--qemu", binary, "--timeout", "20"))
    assert line.startswith(f"hmp-perms: {binary}: connection failed")
    assert "(QEMU said: fake qemu: dying mid-conversation)" in line
    assert_gone(pidfile)


def test_every_failing_binary_gets_its_line(
    tmp_path: Path, cli: Callable[..., Result], private_tmp: Path
) -> None:
    exiting, _ = fake_binary(tmp_path, "exit")
    result = cli("collect", "--qemu", exiting, "--qemu", "qemu-system-nosuchtarget")
    assert result.status == 2
    assert len(result.err.splitlines()) == 2


def test_ctrl_c_during_collection_leaves_nothing_behind(tmp_path: Path) -> None:
    binary, pidfile = fake_binary(tmp_path, "hang")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "generator", "collect", "--qemu", binary, "--timeout", "60"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not (pidfile.exists() and pidfile.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.05)  # the file exists a moment before its PID is in it
    assert pidfile.exists(), "the stand-in QEMU never started"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert err == "hmp-perms: interrupted\n"
    assert out == ""
    assert_gone(pidfile)
    assert list(scratch.iterdir()) == []


def test_environment_picks_the_default_binary(
    qemu_arm: str, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HMP_PERMS_QEMU", qemu_arm)
    names = cli("collect", "--names").out.splitlines()
    assert "cont c" in names and "mce" not in names


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", ":1: invalid JSON: Expecting property name"),
        ('{"format": 2, "binary": "q"}', ": not a snapshot: 'package' must be a string"),
        ('{"format": 9}', ": snapshot format 9 is not one this version reads (2)"),
    ],
)
def test_bad_snapshot_file(
    tmp_path: Path, cli: Callable[..., Result], content: str, message: str
) -> None:
    path = tmp_path / "snap.json"
    path.write_text(content)
    result = cli("check", "--snapshot", path)
    assert (result.status, result.out) == (2, "")
    assert result.err.startswith(f"hmp-perms: {path}{message}")
    assert len(result.err.splitlines()) == 1

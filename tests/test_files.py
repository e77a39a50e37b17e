"""Reading and writing the files the user names: bounded reads, atomic writes, odd paths."""

from __future__ import annotations

import contextlib
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from generator.core import files
from generator.core.files import MAX_BYTES
from generator.core.model import HelpEntry
from tests.conftest import (
    BUILDS,
    FIXTURES,
    ROOT,
    TABLE,
    Result,
    format_help,
    hmp_perms,
    one_error,
    read_only_bwrap,
)

HELP = FIXTURES / "qemu-7.2-x86_64.help.txt"


@contextlib.contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


# -- -o / --out: what is at the path ---------------------------------------------------


def test_output_to_stdout_with_a_dash() -> None:
    result = hmp_perms("collect", "--from-text", HELP, "-o", "-")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(b'{\n "format": 2,') and result.stderr == b""


@pytest.mark.parametrize("kind", ["device", "fifo"])
def test_output_to_what_is_not_a_regular_file_is_refused(
    kind: str, tmp_path: Path, cli: Callable[..., Result]
) -> None:
    if kind == "fifo":
        target = tmp_path / "fifo"
        os.mkfifo(target)
    else:
        target = Path("/dev/null")
    before = os.stat(target)
    one_error(
        cli("collect", "--from-text", HELP, "-o", target),
        f"hmp-perms: {target}: not a regular file; name a file to write, or - for stdout",
    )
    after = os.stat(target)
    assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode)


def test_output_through_a_symlink(tmp_path: Path, cli: Callable[..., Result]) -> None:
    real = tmp_path / "real.json"
    real.write_text("old\n")
    real.chmod(0o640)
    link = tmp_path / "link.json"
    link.symlink_to("real.json")
    assert cli("collect", "--from-text", HELP, "-o", link).status == 0
    assert link.is_symlink() and os.readlink(link) == "real.json"
    assert real.read_text().startswith('{\n "format": 2,')
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.json", "real.json"]


def test_output_to_a_dangling_symlink_creates_its_target(
    tmp_path: Path, cli: Callable[..., Result]
) -> None:
    link = tmp_path / "link.json"
    link.symlink_to("new.json")
    assert cli("collect", "--from-text", HELP, "-o", link).status == 0
    assert link.is_symlink() and (tmp_path / "new.json").read_text().startswith("{")


def test_hard_link_is_replaced_and_said(tmp_path: Path, cli: Callable[..., Result]) -> None:
    first = tmp_path / "a.json"
    first.write_text("old\n")
    other = tmp_path / "b.json"
    os.link(first, other)
    result = cli("collect", "--from-text", HELP, "-o", first)
    assert result.status == 0
    assert result.err == (
        f"hmp-perms: warning: {first}: had 1 other hard link(s); replaced, they keep the old"
        " content\n"
    )
    assert first.read_text().startswith("{") and other.read_text() == "old\n"


def test_new_file_honours_the_umask_and_old_one_keeps_its_mode(
    tmp_path: Path, cli: Callable[..., Result]
) -> None:
    new = tmp_path / "new.json"
    with umask(0o077):
        assert cli("collect", "--from-text", HELP, "-o", new).status == 0
    assert stat.S_IMODE(new.stat().st_mode) == 0o600
    old = tmp_path / "old.json"
    old.write_text("x")
    old.chmod(0o604)
    with umask(0o077):
        assert cli("collect", "--from-text", HELP, "-o", old).status == 0
    assert stat.S_IMODE(old.stat().st_mode) == 0o604


def test_output_into_a_directory_or_under_a_file(
    tmp_path: Path, cli: Callable[..., Result]
) -> None:
    one_error(
        cli("collect", "--from-text", HELP, "-o", tmp_path),
        f"hmp-perms: {tmp_path}: is a directory; name a file to write",
    )
    plain = tmp_path / "file"
    plain.write_text("x")
    one_error(
        cli("import-perl", FIXTURES / "nothing.pm", "-o", plain / "x.yaml"),
        "cannot read",
    )
    one_error(
        cli("collect", "--from-text", HELP, "-o", plain / "x.json"),
        f"hmp-perms: {plain}/x.json: cannot write: Not a directory",
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_output_into_a_read_only_directory(tmp_path: Path, cli: Callable[..., Result]) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    target = folder / "x.json"
    if os.geteuid() != 0:
        folder.chmod(0o555)
        result = cli("collect", "--from-text", HELP, "-o", target)
        folder.chmod(0o755)
        one_error(result, f"hmp-perms: {target}: cannot write in {folder}: Permission denied")
        return
    # root writes into any mode: make the directory read-only for real, in a mount namespace
    run = subprocess.run(
        [
            *read_only_bwrap(folder),
            sys.executable,
            "-m",
            "generator",
            "collect",
            "--from-text",
            str(HELP),
            "-o",
            str(target),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (run.returncode, run.stdout) == (2, "")
    assert run.stderr == (f"hmp-perms: {target}: cannot write in {folder}: Read-only file system\n")
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("name", ["x" * 255, "\u00e9" * 127 + "x"], ids=["ascii", "utf-8"])
@pytest.mark.parametrize("exists", [False, True], ids=["new", "replaced"])
def test_the_longest_file_name_is_written(
    name: str, exists: bool, tmp_path: Path, cli: Callable[..., Result]
) -> None:
    """A name of 255 bytes, the most a folder holds: its temp file's name, longer by the
    temp suffix, was too long ("cannot write in DIR: File name too long")."""
    target = tmp_path / name
    assert len(os.fsencode(target.name)) == 255
    if exists:
        target.write_text("old\n")
    result = cli("collect", "--from-text", HELP, "-o", target)
    assert (result.status, result.err) == (0, ""), result.err
    assert target.read_text().startswith("{")
    assert [p.name for p in tmp_path.iterdir()] == [name]


# -- reading: size, kind ----------------------------------------------------------


def test_from_text_dev_zero_is_capped(cli: Callable[..., Result]) -> None:
    one_error(
        cli("collect", "--from-text", "/dev/zero"),
        f"/dev/zero: more than {MAX_BYTES >> 20} MiB, the limit for any input",
    )


def test_a_file_over_the_limit_is_refused_and_one_at_it_read_whole(
    tmp_path: Path, cli: Callable[..., Result]
) -> None:
    big = tmp_path / "big.txt"
    big.write_bytes(b"")
    os.truncate(big, MAX_BYTES + 1)  # sparse: no disk needed
    one_error(
        cli("collect", "--from-text", big),
        f"{big}: more than {MAX_BYTES >> 20} MiB, the limit for any input",
    )
    os.truncate(big, MAX_BYTES)
    result = cli("collect", "--from-text", big)  # read whole: refused for what it holds
    assert "more than" not in result.err and "control character" in result.err


#: More entries than a pipe's 64 KiB buffer holds: a reader that took one read would miss some.
MANY = [
    HelpEntry(name, (), "[arg]", f"filler help for {name}")
    for name in ["help", "info", "quit", *(f"cmd{i:05}" for i in range(4000))]
]
NAMES = sorted(e.name for e in MANY)


def test_from_text_reads_a_fifo_whole(tmp_path: Path, cli: Callable[..., Result]) -> None:
    text = format_help(MANY)
    assert len(text) > 2 * 65536
    fifo = tmp_path / "help.fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=fifo.write_text, args=(text,), daemon=True)
    writer.start()
    result = cli("collect", "--names", "--from-text", fifo)
    writer.join(10)
    assert (result.status, result.err) == (0, "")
    assert sorted(result.out.splitlines()) == NAMES


def from_process_substitution(command: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``collect --names --from-text <(COMMAND)``, as bash runs it; COMMAND sees `args` as
    ``$1``, ``$2``..."""
    script = f'exec "$0" -m generator collect --names --from-text <({command})'
    return subprocess.run(
        ["bash", "-c", script, sys.executable, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_from_text_reads_a_process_substitution_whole(tmp_path: Path) -> None:
    saved = tmp_path / "help.txt"
    saved.write_text(format_help(MANY))
    run = from_process_substitution('cat "$1"', str(saved))
    assert (run.returncode, run.stderr) == (0, "")
    assert sorted(run.stdout.splitlines()) == NAMES


@pytest.mark.parametrize(
    ("size", "error"),
    [
        (MAX_BYTES, "holds the control character U+0000"),  # read whole, refused for what it holds
        (MAX_BYTES + 1, f"more than {MAX_BYTES >> 20} MiB, the limit for any input"),
    ],
    ids=["at-the-limit", "over-the-limit"],
)
def test_a_pipe_over_the_limit_is_refused_and_one_at_it_read_whole(size: int, error: str) -> None:
    run = from_process_substitution('head -c "$1" /dev/zero', str(size))
    assert (run.returncode, run.stdout) == (2, "")
    [line] = run.stderr.splitlines()
    assert line.startswith("hmp-perms: /dev/fd/") and error in line, line


@pytest.mark.parametrize(
    ("command", "good", "bad"),
    [
        (
            ("collect", "--from-text"),
            "cont|c  -- r\u00e9sum\u00e9\nstop  -- ok\n",
            b"quit -- \xff\n",
        ),
        (("lint", "--table"), TABLE.read_text(), b"# \xc3(\n"),
        (("check", "--snapshot"), (BUILDS / "debian-7.2.22-x86_64.json").read_text(), b"\x80"),
    ],
    ids=["saved-text", "table", "snapshot"],
)
def test_not_utf8_text_names_the_line_of_the_first_bad_byte(
    command: tuple[str, str], good: str, bad: bytes, tmp_path: Path, cli: Callable[..., Result]
) -> None:
    """Valid UTF-8, some of it beyond ASCII, up to the bad byte; more bad bytes follow it."""
    path = tmp_path / "input"
    path.write_bytes(good.encode() + bad + b"\xfe\nmore\n")
    line = good.count("\n") + 1
    one_error(cli(*command, path), f"hmp-perms: {path}:{line}: not UTF-8 text")


def test_a_directory_is_not_a_file(tmp_path: Path, cli: Callable[..., Result]) -> None:
    one_error(cli("lint", "--table", tmp_path), f"{tmp_path}: cannot read: Is a directory")


@pytest.mark.parametrize(
    "write",
    [
        pytest.param(lambda path: files.write_atomic(path, "x" * 1000), id="new-file"),
        pytest.param(lambda path: files.ensure_writable(path), id="ensure-writable"),
    ],
)
def test_a_signal_as_a_temp_file_is_made_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write: Callable[[Path], object]
) -> None:
    # Fault injected: the signal lands during the open that makes the temp file, and its
    # handler raises as that open returns (before any caller holds the name).
    real_open = os.open

    def interrupted(path: str, flags: int, mode: int = 0o777, **kwargs: object) -> int:
        fd = real_open(path, flags, mode)
        if os.fspath(path).endswith(".tmp"):
            os.close(fd)
            raise KeyboardInterrupt
        return fd

    monkeypatch.setattr(os, "open", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write(tmp_path / "kept")
    assert list(tmp_path.iterdir()) == []


def test_a_temp_file_is_unfinished_until_renamed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whoever ends the run early finds the temp file being written in UNFINISHED."""
    seen: list[set[str]] = []
    real_fsync = os.fsync

    def watched(fd: int) -> None:
        with files.UNFINISHED_LOCK:
            seen.append(set(files.UNFINISHED))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", watched)
    files.write_atomic(tmp_path / "out.txt", "x\n")
    [unfinished] = seen
    [tmp] = unfinished
    assert os.path.dirname(tmp) == str(tmp_path) and tmp.endswith(".tmp")
    assert not files.UNFINISHED
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


# -- no state between runs ---------------------------------------------------------------


def test_no_command_writes_to_home_or_the_cache(tmp_path: Path) -> None:
    home, cache, out = tmp_path / "home", tmp_path / "cache", tmp_path / "out"
    home.mkdir()
    cache.mkdir()
    env = {"HOME": str(home), "XDG_CACHE_HOME": str(cache)}
    snapshot = BUILDS / "debian-7.2.22-x86_64.json"
    for args, statuses in (
        (("lint",), {0}),
        (("check", "--snapshot", snapshot), {0, 1}),
        (("sync", "--snapshot", snapshot), {0, 1}),
        (("generate", "--out", out), {0}),
        (("generate", "--check"), {0}),
        (("suggest", "cont", "info status"), {0}),
    ):
        result = hmp_perms(*args, env=env)
        assert result.returncode in statuses, (args, result.stderr)
        assert b"Traceback" not in result.stderr
    assert list(home.iterdir()) == [] and list(cache.iterdir()) == []
    assert out.is_dir()

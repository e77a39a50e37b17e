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
from tests.conftest import (
    FIXTURES,
    ROOT,
    Result,
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


def test_output_to_dev_null_leaves_the_device(cli: Callable[..., Result]) -> None:
    before = os.stat("/dev/null")
    result = cli("collect", "--from-text", HELP, "-o", "/dev/null")
    assert result.status == 0, result.err
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev
    assert stat.S_IMODE(after.st_mode) == stat.S_IMODE(before.st_mode)


@pytest.mark.parametrize("target", ["-", "/dev/stdout"])
def test_output_to_stdout_through_a_pipe(target: str) -> None:
    result = hmp_perms("collect", "--from-text", HELP, "-o", target)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(b'{\n "format": 2,') and result.stderr == b""
    assert os.path.islink("/dev/stdout")


def test_output_to_a_fifo_is_written_not_replaced(
    tmp_path: Path, cli: Callable[..., Result]
) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    result = cli("collect", "--from-text", HELP, "-o", fifo)
    reader.join(60)
    assert result.status == 0, result.err
    assert got and got[0].startswith(b'{\n "format": 2,')
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


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


# -- reading: size, kind, FIFOs ----------------------------------------------------------


def test_from_text_dev_zero_is_capped(cli: Callable[..., Result]) -> None:
    one_error(
        cli("collect", "--from-text", "/dev/zero"),
        f"/dev/zero: more than {MAX_BYTES >> 20} MiB, the limit for any input",
    )


def test_a_fifo_with_no_writer_does_not_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    result = hmp_perms("collect", "--from-text", fifo)  # times out if it hangs
    assert result.returncode in (0, 1, 2) and b"Traceback" not in result.stderr


def test_a_directory_is_not_a_file(tmp_path: Path, cli: Callable[..., Result]) -> None:
    one_error(cli("lint", "--table", tmp_path), f"{tmp_path}: is a directory, not a file")


@pytest.mark.parametrize(
    "write",
    [
        pytest.param(lambda path: files.write_cached(str(path), b"x" * 1000), id="cache"),
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


def test_the_cache_folder_is_private_and_never_relative(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The XDG spec: a relative XDG_CACHE_HOME is invalid and ignored (it would put the
    # cache in whatever folder the tool runs in, the project's own).
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", "relative")
    folder = files.cache_folder("records")
    assert folder == str(tmp_path / "home" / ".cache" / "hmp-perms" / "records")
    assert not (tmp_path / "relative").exists()
    for made in (Path(folder), Path(folder).parent):  # hmp-perms/ too, as docs/files.md says
        assert stat.S_IMODE(made.stat().st_mode) == 0o700, made

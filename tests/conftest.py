"""Shared test helpers: real QEMU binaries, fixtures, and the command line in-process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from generator.cli.main import main
from generator.core.model import HelpEntry

ROOT = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent
FIXTURES = TESTS / "fixtures"
TABLE = ROOT / "data" / "hmp-commands.yaml"
BUILDS = ROOT / "data" / "builds"
TEMPLATES = ROOT / "templates"
GENERATED = ROOT / "generated"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        help="rewrite tests/golden/* from the current code instead of comparing",
    )


# The Debian package of each binary the tests run, where its name is not the binary's;
# every qemu-system-* comes with qemu-system.
PACKAGES = {
    "bwrap": "bubblewrap",
    "node": "nodejs",
    "setsid": "util-linux",
    "unshare": "util-linux",
}


def need_binary(name: str) -> str:
    """The path of `name`; outside CI a missing binary skips, in CI it fails."""
    path = shutil.which(name)
    if path is None:
        package = "qemu-system" if name.startswith("qemu-system-") else PACKAGES.get(name, name)
        missing = f"{name} is not installed (apt-get install {package})"
        if os.environ.get("CI"):
            pytest.fail(f"{missing}, and CI must run every test")
        pytest.skip(missing)
    return path


def copy_project(dest: Path) -> Path:
    """The project's files as the working tree has them (tracked or new, not ignored)."""
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        target = dest / name
        if source.is_symlink():  # generator/shipped/ links to templates/ and data/
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(os.readlink(source))
        elif source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return dest


def tool(name: str) -> str:
    """A command-line tool from the test extras: beside this interpreter, else on PATH.

    They are declared test dependencies (`pip install -e '.[test]'`), so a missing
    one fails rather than skips.
    """
    beside = Path(sys.executable).parent / name
    path = str(beside) if beside.exists() else shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[test]'")
    return path


def read_only_bwrap(folder: Path) -> list[str]:
    """A bwrap command line (to prefix a command) that sees `folder` read-only: root
    writes into any mode, so only a read-only mount refuses it. Skips outside CI when
    bwrap cannot make a mount namespace here."""
    bwrap = need_binary("bwrap")
    args = [bwrap, "--bind", "/", "/", "--ro-bind", str(folder), str(folder), "--dev", "/dev"]
    if subprocess.run([*args, "true"], capture_output=True).returncode != 0:
        if os.environ.get("CI"):
            pytest.fail("bwrap cannot make a mount namespace here, and CI must run this test")
        pytest.skip("bwrap cannot make a mount namespace here")
    return args


@pytest.fixture
def qemu_x86() -> str:
    return need_binary("qemu-system-x86_64")


@pytest.fixture
def qemu_arm() -> str:
    return need_binary("qemu-system-aarch64")


@pytest.fixture
def perl() -> str:
    return need_binary("perl")


@dataclass
class Result:
    status: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run ``hmp-perms ARGS`` in-process; returns exit status, stdout and stderr."""

    def run(*args: str) -> Result:
        status = main([str(a) for a in args])
        captured = capsys.readouterr()
        return Result(status, captured.out, captured.err)

    return run


@pytest.fixture
def table_copy(tmp_path: Path) -> Path:
    """A private copy of the committed table (and its suggestion rules), in a folder
    named like the real one."""
    folder = tmp_path / "data"
    folder.mkdir()
    path = folder / "hmp-commands.yaml"
    shutil.copyfile(TABLE, path)
    shutil.copyfile(TABLE.parent / "suggest-rules.yaml", folder / "suggest-rules.yaml")
    return path


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A temp folder of the test's own, to prove nothing is left in it."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.setenv("TMPDIR", str(folder))
    yield folder
    assert list(folder.iterdir()) == [], "a temporary file or folder was left behind"


def hmp_perms(
    *args: str | bytes | Path, env: dict[str, str] | None = None, **kw: object
) -> subprocess.CompletedProcess[bytes]:
    """The command line as a separate process (``python -m generator``)."""
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        [sys.executable, "-m", "generator", *args],
        cwd=ROOT,
        capture_output=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        **kw,
    )


def one_error(result: Result, *parts: str) -> None:
    assert (result.status, result.out) == (2, ""), result
    assert len(result.err.splitlines()) == 1, result.err
    for part in parts:
        assert part in result.err, result.err


def records(folder: Path) -> Path:
    """An empty records folder in `folder` (sync --write never makes one)."""
    path = folder / "b"
    path.mkdir(exist_ok=True)
    return path


def format_help(entries: Sequence[HelpEntry], prefix: str = "") -> str:
    """Entries printed as QEMU prints them (sorted by the whole ``name|alias`` string, as
    its `strcmp` does): the inverse of `parse_help`, which reads the result back."""
    return "".join(
        f"{prefix}{'|'.join(e.names)} {e.params} -- {e.help}\n"
        for e in sorted(entries, key=lambda e: "|".join(e.names))
    )


def run_ensure_deps(path: Path) -> subprocess.CompletedProcess[str]:
    """``scripts/ensure-deps`` with `path` as its whole PATH, the system's python3 (not
    this venv's) and id linked into it."""
    for name in ("python3", "id"):
        found = shutil.which(name, path=os.defpath)
        assert found is not None, name
        (path / name).symlink_to(found)
    return subprocess.run(
        ["/bin/sh", str(ROOT / "scripts" / "ensure-deps")],
        env={"PATH": str(path)},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def need_root(why: str) -> None:
    """Outside CI a test that needs root skips when not root; in CI it fails."""
    if os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail(f"{why}, and CI must run this test as root")
        pytest.skip(why)

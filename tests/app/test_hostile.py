"""Hostile input and odd environments: every failure is one line and exit 2, nothing half-written."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.cli import main
from generator.files import MAX_BYTES
from tests.conftest import BUILDS, FIXTURES, ROOT, TABLE, TEMPLATES, Result, read_only_bwrap

HELP = FIXTURES / "qemu-7.2-x86_64.help.txt"
SNAPSHOT = BUILDS / "debian-7.2.22-x86_64.json"


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


@contextlib.contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


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


# -- unforeseen errors, broken pipes, encodings, Ctrl-C ----------------------------------


def test_internal_error_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Result]
) -> None:
    import generator.cli

    def broken(args: object) -> int:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setitem(generator.cli.COMMANDS, "lint", broken)
    monkeypatch.delenv("HMP_PERMS_DEBUG", raising=False)
    one_error(cli("lint"), "hmp-perms: internal error: RuntimeError: boom second line")
    monkeypatch.setenv("HMP_PERMS_DEBUG", "1")
    result = cli("lint")
    assert result.status == 2 and result.err.startswith("Traceback")
    assert result.err.endswith("rerun with HMP_PERMS_DEBUG=1 for a traceback and report it)\n")


def test_broken_pipe_is_quiet() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "generator", "collect", "--from-text", str(HELP)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(120) == 128 + signal.SIGPIPE
    assert err == b""


def test_ascii_stdout_does_not_crash(tmp_path: Path) -> None:
    text = HELP.read_text().replace("resume emulation", "r\u00e9sum\u00e9 \u2603")
    help_file = tmp_path / "h\u00e9lp.txt"
    help_file.write_text(text)
    env = {"PYTHONIOENCODING": "ascii", "LANG": "C", "LC_ALL": "C"}
    result = hmp_perms("collect", "--from-text", help_file, env=env)
    assert result.returncode == 0, result.stderr
    assert b"r\\xe9sum\\xe9 \\u2603" in result.stdout
    missing = hmp_perms("lint", "--table", tmp_path / "\u00e9.yaml", env=env)
    assert missing.returncode == 2
    assert missing.stderr.endswith(b"\\xe9.yaml: cannot read: No such file or directory\n")


@pytest.mark.parametrize(
    ("module", "command"), [("argparse", "lint"), ("ruamel.yaml", "lint"), ("jinja2", "generate")]
)
def test_ctrl_c_during_imports_exits_130(module: str, command: str) -> None:
    """A KeyboardInterrupt raised by the import of `module`, as Ctrl-C at start-up would."""
    code = (
        "import sys, runpy\n"
        "class Interrupt:\n"
        "    def find_spec(self, name, *rest):\n"
        f"        if name == {module!r}: raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Interrupt())\n"
        f"sys.argv = ['hmp-perms', {command!r}]\n"
        "runpy.run_module('generator', run_name='__main__')\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 130
    assert "Traceback" not in run.stderr and run.stdout == ""


# -- the table: control characters, deep nesting, one rule set ---------------------------


@pytest.mark.parametrize(("char", "code"), [("\x00", "0000"), ("\x1b", "001B"), ("\ufffe", "FFFE")])
def test_control_character_in_the_table(
    table_copy: Path, cli: Callable[..., Result], char: str, code: str
) -> None:
    lines = table_copy.read_text().splitlines(keepends=True)
    lines[40] = lines[40].rstrip("\n") + char + "\n"
    table_copy.write_text("".join(lines))
    message = f"{table_copy}:41: control character U+{code}"
    lint = cli("lint", "--table", table_copy)
    assert (lint.status, lint.out) == (1, message + "\n")
    one_error(cli("check", "--table", table_copy, "--snapshot", SNAPSHOT), message)
    one_error(cli("generate", "--table", table_copy, "--out", table_copy.parent), message)


DEEP = {
    "flow": "schema: 2\nlevels: " + "[" * 40_000 + "]" * 40_000 + "\n",
    "block": "schema: 2\nlevels:\n  " + "- " * 40_000 + "x\n",
    "indented": "schema: 2\nlevels:\n" + "".join(" " * i + "- \n" for i in range(2, 60)),
}


@pytest.mark.parametrize("shape", sorted(DEEP))
@pytest.mark.parametrize("command", ["lint", "check", "generate", "sync"])
def test_deep_nesting_is_refused_before_composing(tmp_path: Path, shape: str, command: str) -> None:
    table = tmp_path / "t.yaml"
    table.write_text(DEEP[shape])
    args = ["--snapshot", str(SNAPSHOT)] if command in ("check", "sync") else []
    run = hmp_perms(command, "--table", table, *args)
    message = b": nested deeper than 20 levels; no table needs that\n"
    if command == "lint":  # a problem lint finds: stdout, exit 1
        assert run.returncode == 1, run  # not -11 (SIGSEGV)
        assert run.stdout.startswith(f"{table}:".encode()) and message in run.stdout
        return
    assert (run.returncode, run.stdout) == (2, b""), run
    assert run.stderr.startswith(f"hmp-perms: {table}:".encode()) and message in run.stderr


def test_lint_applies_the_rules_generate_needs(
    table_copy: Path, cli: Callable[..., Result]
) -> None:
    text = table_copy.read_text().replace("permission: none\n", "permission: Sys.Modify\n")
    table_copy.write_text(text)
    lint = cli("lint", "--table", table_copy)
    assert lint.status == 1
    assert "no command at level 'none'" in lint.out
    generate = cli("generate", "--table", table_copy, "--out", table_copy.parent / "out")
    one_error(generate, "no command at level 'none'")


# -- generate: everything checked before anything is written -----------------------------


def test_generate_lists_every_problem_and_writes_nothing(
    tmp_path: Path, cli: Callable[..., Result]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "hmp_perms.py").mkdir()
    (out / "stale.txt").write_text("x")
    (out / "bin.dat").write_bytes(b"\xff\xfe\x00")
    result = cli("generate", "--out", out)
    assert (result.status, result.out) == (2, "")
    assert result.err.splitlines() == [
        f"hmp-perms: {out}/hmp_perms.py: not a regular file; cannot write an output there",
        f"hmp-perms: {out}/bin.dat: no template makes it; delete it if it is stale",
        f"hmp-perms: {out}/stale.txt: no template makes it; delete it if it is stale",
        f"hmp-perms: {out}/: nothing written",
    ]
    assert sorted(p.name for p in out.iterdir()) == ["bin.dat", "hmp_perms.py", "stale.txt"]
    check = cli("generate", "--check", "--out", tmp_path / "fresh")
    assert check.status == 1
    shutil.rmtree(out / "hmp_perms.py")
    (out / "hmp_perms.py").write_bytes(b"\xff not utf-8\n")
    check = cli("generate", "--check", "--out", out)
    assert check.status == 1 and "-\\xff not utf-8\n" in check.out
    assert f"# {out}/bin.dat: no template makes it" in check.out


def test_generate_out_at_a_file(tmp_path: Path, cli: Callable[..., Result]) -> None:
    plain = tmp_path / "file"
    plain.write_text("x")
    message = f"hmp-perms: {plain}: not a directory (--out names the output directory)"
    one_error(cli("generate", "--out", plain), message)
    one_error(cli("generate", "--check", "--out", plain), message)


def test_non_utf8_table_path(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    table = os.fsencode(folder) + b"/t\xff.yaml"
    shutil.copyfile(TABLE, table)
    lint = hmp_perms("lint", "--table", table)
    assert (
        lint.returncode == 0 and lint.stdout == b"" + os.fsencode(folder) + b"/t\\udcff.yaml: ok\n"
    )
    out = tmp_path / "out"
    generate = hmp_perms("generate", "--table", table, "--out", out, "--templates", TEMPLATES)
    assert generate.returncode == 0, generate.stderr
    assert "# Table: data/t\\xff.yaml\n" in (out / "hmp_perms.py").read_text()


# -- snapshots -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            '{"format": 2, "binary": "q", "package": "", "target": "x86_64", "version": 7}',
            "'version' must be a string or null",
        ),
        ("[1, 2]", ":1: not a snapshot (a JSON object is expected)"),
        ("[" * 100_000 + "]" * 100_000, ":1: JSON nested deeper than 32 levels"),
        ('{"format": ' + "9" * 4300 + "}", ":1: JSON integer longer than 18 digits"),
        ('{\n"format": 1,\n"binary": "\\ud800"}', ":3: JSON string with a lone surrogate"),
        (
            '{"format": 2, "binary": "q", "variant": "qemu-system-x86_64", "package": "",'
            ' "target": "x86_64", "version": null, "help": "cont"}',
            "not a snapshot: 'help' must be a list of lines",
        ),
    ],
)
def test_hostile_snapshot(
    tmp_path: Path, cli: Callable[..., Result], content: str, message: str
) -> None:
    path = tmp_path / "snap.json"
    path.write_text(content)
    for args in (("check", "--snapshot", path), ("diff", path, SNAPSHOT)):
        one_error(cli(*args), message)


# -- any bytes, through the real entry point -------------------------------------------------

TEXT = st.one_of(
    st.text(max_size=300),
    st.binary(max_size=300).map(lambda b: b.decode("latin-1")),
)


def run_main(*args: str | Path) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        status = main([str(a) for a in args])
    return status, err.getvalue()


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("any-bytes")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.one_of(st.binary(max_size=400), TEXT.map(lambda t: t.encode("utf-8", "surrogatepass")))
)
def test_any_bytes_to_every_loader(scratch: Path, data: bytes) -> None:
    path = scratch / "input"
    path.write_bytes(data)
    for args in (
        ("lint", "--table", path),
        ("check", "--snapshot", path, "--table", TABLE),
        ("collect", "--from-text", path),
        ("import-perl", path, "-o", scratch / "out.yaml"),
    ):
        status, err = run_main(*args)
        assert status in (0, 1, 2), (args, err)
        assert "Traceback" not in err and "internal error" not in err, (args, err)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    prefix=st.sampled_from(["schema: 2\nlevels:\n  none: {}\n", "our $hmp_command_perms = {\n"]),
    body=st.text(alphabet=st.sampled_from(list("[]{}-:'\"#\n |>&*!? abc=,")), max_size=200),
)
def test_structured_noise_to_the_table_and_perl_loaders(
    scratch: Path, prefix: str, body: str
) -> None:
    path = scratch / "structured"
    path.write_text(prefix + body)
    for args in (("lint", "--table", path), ("import-perl", path)):
        status, err = run_main(*args)
        assert status in (0, 1, 2), (args, err)
        assert "Traceback" not in err and "internal error" not in err, (args, err)

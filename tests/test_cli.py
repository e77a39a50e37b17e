"""The command line as a user meets it: usage errors, unforeseen errors, pipes, encodings, any bytes."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.cli.main import main
from tests.conftest import (
    BUILDS,
    FIXTURES,
    ROOT,
    TABLE,
    Result,
    hmp_perms,
    one_error,
)

OLD = BUILDS / "debian-7.2.22-x86_64.json"

HELP = FIXTURES / "qemu-7.2-x86_64.help.txt"


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


# -- unforeseen errors, broken pipes, encodings, Ctrl-C ----------------------------------


def test_internal_error_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Result]
) -> None:
    import generator.cli.main

    def broken(args: object) -> int:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setitem(generator.cli.main.COMMANDS, "lint", broken)
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


@pytest.mark.slow  # waits out a timeout or fuzzes: left out of the fast run
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


@pytest.mark.slow  # waits out a timeout or fuzzes: left out of the fast run
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


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        # `-o "$REPORT"` with REPORT unset printed the report and exited 0
        (("check", "--snapshot", OLD, "-o", ""), "-o"),
        # no records were read, so the build was checked against no baseline
        (("check", "--snapshot", OLD, "--builds", ""), "--builds"),
        (("collect", "--from-text", FIXTURES / "qemu-7.2-x86_64.help.txt", "-o", ""), "-o"),
        (("generate", "--check", "--out", ""), "--out"),
    ],
)
def test_an_empty_path_is_refused_not_read_as_no_option(
    args: tuple[object, ...], flag: str, cli: Callable[..., Result]
) -> None:
    r = cli(*args)
    assert (r.status, r.out) == (2, "")
    assert flag in r.err and r.err.rstrip().endswith("an empty path"), r.err


def test_migrate_is_gone(cli: Callable[..., Result]) -> None:
    # Schema 1 tables and `migrate` were kept for a table no release ever shipped.
    result = cli("migrate", "--write")
    assert result.status == 2 and "invalid choice: 'migrate'" in result.err


# -- standard output that cannot be written ---------------------------------------------


def _to_full_stdout(*args: str | Path, unbuffered: bool = False) -> tuple[int, str]:
    """Run the command line with standard output on /dev/full; its status and stderr."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "generator", *map(str, args)],
            cwd=ROOT,
            env=env,
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    return proc.returncode, proc.stderr


@pytest.fixture(scope="module")
def table_without_one(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The table without `announce_self`: a check of any record finds an error."""
    lines = TABLE.read_text().splitlines(keepends=True)
    start = lines.index("  announce_self:\n")
    end = next(i for i in range(start + 1, len(lines)) if not lines[i].startswith("    "))
    path = tmp_path_factory.mktemp("table") / "hmp-commands.yaml"
    path.write_text("".join(lines[:start] + lines[end:]))
    return path


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "unbuffered"])
def test_a_report_of_findings_that_cannot_be_written_is_2_not_1(
    unbuffered: bool, table_without_one: Path
) -> None:
    """A check that finds errors but cannot print them did not do its job: 2, as when it
    finds none, whether the write fails mid-run (unbuffered) or at the final flush."""
    status, err = _to_full_stdout(
        "check", "--snapshot", OLD, "--table", table_without_one, unbuffered=unbuffered
    )
    assert status == 2, err
    assert err == "hmp-perms: standard output: cannot write: No space left on device\n"


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "unbuffered"])
def test_a_full_stdout_named_by_o_fails_in_one_line(unbuffered: bool) -> None:
    """`-o -` to a full disk: one line naming it; the final flush had the same bytes left
    in Python's buffer to fail on again, a second line."""
    status, err = _to_full_stdout("check", "--snapshot", OLD, "-o", "-", unbuffered=unbuffered)
    assert status == 2, err
    assert err == "hmp-perms: standard output: cannot write: No space left on device\n"


def test_a_test_needing_a_missing_binary_fails_under_ci_and_skips_elsewhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """CI never passes by skipping: with CI set, a missing binary is a failure."""
    from tests.conftest import need_binary

    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run every test"):
        need_binary("no-such-binary-anywhere")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="is not installed"):
        need_binary("no-such-binary-anywhere")


# -- error lines a terminal shows as they are -------------------------------------------


def test_an_escape_in_a_record_name_or_a_configured_path_is_shown_escaped(
    cli: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    builds = tmp_path / "builds"
    builds.mkdir()
    (builds / "debian\x1b[2J.json").write_text("{}")
    record = cli("check", "--snapshot", OLD, "--builds", builds)
    (tmp_path / "hmp-perms.toml").write_text('table = "table\\u001b[2J.yaml"\n')
    monkeypatch.chdir(tmp_path)
    configured = cli("lint")
    for result in (record, configured):
        assert result.status == 2 and result.err.count("\n") == 1, result.err
        assert "\x1b" not in result.err and "\\x1b[2J" in result.err


def test_a_usage_error_shows_an_escape_escaped(cli: Callable[..., Result]) -> None:
    result = cli("lint", "--nosuch\x1b[2J")
    assert result.status == 2 and "\x1b" not in result.err
    assert result.err.endswith("unrecognized arguments: --nosuch\\x1b[2J\n")


@pytest.mark.parametrize("command", ["check", "collect", "import-perl"])
def test_o_never_replaces_a_file_the_run_reads(
    command: str, tmp_path: Path, cli: Callable[..., Result], table_copy: Path
) -> None:
    snapshot = tmp_path / "s.json"
    snapshot.write_bytes(OLD.read_bytes())
    module = tmp_path / "m.pm"
    module.write_text(
        "package M;\nuse strict;\nour $hmp_command_perms = {\n    help => 'none',\n};\n1;\n"
    )
    text = tmp_path / "help.txt"
    text.write_text((FIXTURES / "qemu-7.2-x86_64.help.txt").read_text())
    runs = {
        "check": [
            ("--snapshot", snapshot, "-o", snapshot),
            ("--table", table_copy, "--snapshot", snapshot, "-o", table_copy),
        ],
        "collect": [("--from-text", text, "-o", text)],
        "import-perl": [(module, "-o", module)],
    }
    for args in runs[command]:
        before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
        one_error(cli(command, *args), "is an input of this run; nothing written")
        assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before

"""Reaching QEMU through wrappers and running QEMUs; signals, bounds and one-line faults.

Real QEMU binaries throughout; stand-ins (tests/fakes/) only for faults a real
QEMU will not produce on demand, named `test_standin_...`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import resource
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from qemu.qmp import QMPClient

from generator.collect.launcher import QEMU_ARGS, binary_name
from generator.collect.snapshot import load_snapshot
from tests.collect.test_collect import assert_gone, fake_binary, one_line
from tests.conftest import ROOT, TESTS, Result, need_binary

FAKES = TESTS / "fakes"
MUTE = FAKES / "mute_monitor.py"
# A private /tmp, with the project (its venv and test stand-ins) still seen, wherever
# the clone lies: CI may check it out under /tmp.
BWRAP = (
    "bwrap --ro-bind / / --dev /dev --proc /proc --tmpfs /tmp"
    f" --ro-bind {shlex.quote(str(ROOT))} {shlex.quote(str(ROOT))}"
)
MARK = "HMP_PERMS_TEST_MARK"


def hmp_perms() -> list[str]:
    """The installed console script beside this Python, as a user runs it."""
    script = Path(sys.executable).with_name("hmp-perms")
    return [str(script)] if script.exists() else [sys.executable, "-m", "generator"]


def marked(mark: str) -> list[int]:
    """Live (not zombie) processes whose environment carries `mark`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if f"{MARK}={mark}".encode() in environ.split(b"\0") and state != "Z":
            found.append(int(entry.name))
    return found


def wait_for(condition: Callable[[], bool], what: str, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def wait_gone(mark: str) -> None:
    """Orphans are reaped by init a moment after they die: allow for it, then insist."""
    deadline = time.monotonic() + 10
    while marked(mark) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marked(mark) == [], "a process hmp-perms started outlived it"


@pytest.fixture
def bwrap() -> str:
    return need_binary("bwrap")


def snapshot_facts(path: Path) -> tuple[object, ...]:
    s = load_snapshot(str(path))
    return (s.version, s.package, s.target, s.commands, s.info, s.raw_help, s.raw_info)


# -- wrappers ----------------------------------------------------------------


def test_binary_name_of_a_command() -> None:
    assert binary_name("qemu-system-x86_64") == "qemu-system-x86_64"
    assert binary_name("chroot /srv/root /usr/bin/qemu-system-s390x -L x") == (
        "/usr/bin/qemu-system-s390x"
    )
    assert binary_name("'/opt/q emu/qemu-system-arm'") == "/opt/q emu/qemu-system-arm"
    assert binary_name("podman run --rm -i IMAGE qemu") == "podman run --rm -i IMAGE qemu"


def test_bwrap_with_private_tmp_gives_the_same_snapshot_and_check(
    qemu_x86: str, bwrap: str, tmp_path: Path, cli: Callable[..., Result]
) -> None:
    wrapped = f"{bwrap} {BWRAP[len('bwrap ') :]} qemu-system-x86_64"
    for name, command in (("direct", "qemu-system-x86_64"), ("wrapped", wrapped)):
        result = cli("collect", "--qemu", command, "-o", tmp_path / f"{name}.json")
        assert result.status == 0, result.err
    assert snapshot_facts(tmp_path / "wrapped.json") == snapshot_facts(tmp_path / "direct.json")
    assert json.loads((tmp_path / "wrapped.json").read_text())["binary"] == "qemu-system-x86_64"
    direct = cli("check", "--qemu", "qemu-system-x86_64", "--format", "json")
    through = cli("check", "--qemu", wrapped, "--format", "json")
    assert (through.status, through.err) == (direct.status, direct.err)
    assert json.loads(through.out) == json.loads(direct.out)


def test_chroot_wrapper_and_aarch64_in_bwrap_concurrently(
    qemu_x86: str, qemu_arm: str, bwrap: str, cli: Callable[..., Result]
) -> None:
    result = cli(
        "collect",
        "--names",
        "--qemu",
        f"chroot / {qemu_x86}",
        "--qemu",
        f"{BWRAP} qemu-system-aarch64",
    )
    assert result.status == 0, result.err
    assert result.out.count("cont c\n") == 2 and "mce\n" in result.out


def test_quoted_path_with_a_space(
    qemu_x86: str, tmp_path: Path, cli: Callable[..., Result]
) -> None:
    folder = tmp_path / "my qemu"
    folder.mkdir()
    (folder / "qemu-system-x86_64").symlink_to(qemu_x86)
    command = shlex.quote(str(folder / "qemu-system-x86_64"))
    result = cli("collect", "--qemu", command, "-o", tmp_path / "s.json")
    assert result.status == 0, result.err
    assert load_snapshot(str(tmp_path / "s.json")).binary == str(folder / "qemu-system-x86_64")


def test_environment_takes_a_command_line(
    qemu_arm: str, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HMP_PERMS_QEMU", f"chroot / {qemu_arm}")
    names = cli("collect", "--names").out.splitlines()
    assert "cont c" in names and "mce" not in names


def test_long_tmpdir_does_not_matter(
    qemu_x86: str, tmp_path: Path, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    deep = tmp_path / ("d" * 100) / ("e" * 100)
    deep.mkdir(parents=True)
    assert len(str(deep)) > 200
    monkeypatch.setenv("TMPDIR", str(deep))
    result = cli("collect", "--qemu", qemu_x86, "--names")
    assert result.status == 0, result.err
    assert list(deep.iterdir()) == []


# -- a QEMU that already runs --------------------------------------------------


@pytest.fixture
def running_qemu(qemu_x86: str, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    sock = tmp_path / "vm.qmp"
    proc = subprocess.Popen(
        [qemu_x86, *QEMU_ARGS, "-qmp", f"unix:{sock},server=on,wait=off"],
        stdin=subprocess.DEVNULL,
    )
    try:
        wait_for(sock.exists, "QEMU's QMP socket")
        yield proc, sock
    finally:
        proc.kill()
        proc.wait()


def qmp_command(sock: Path, command: str) -> dict[str, object]:
    """One QMP command on a fresh connection, the plain way."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(30)
        s.connect(str(sock))
        stream = s.makefile("rwb")
        assert "QMP" in json.loads(stream.readline())
        for execute in ("qmp_capabilities", command):
            stream.write(json.dumps({"execute": execute}).encode() + b"\n")
            stream.flush()
            reply: dict[str, object] = json.loads(stream.readline())
            while "event" in reply:
                reply = json.loads(stream.readline())
        return reply


def test_connect_reads_a_running_qemu_and_leaves_it_running(
    qemu_x86: str,
    running_qemu: tuple[subprocess.Popen[bytes], Path],
    tmp_path: Path,
    cli: Callable[..., Result],
) -> None:
    proc, sock = running_qemu
    result = cli("collect", "--connect", sock, "-o", tmp_path / "connected.json")
    assert result.status == 0, result.err
    assert cli("collect", "--qemu", qemu_x86, "-o", tmp_path / "started.json").status == 0
    assert snapshot_facts(tmp_path / "connected.json") == snapshot_facts(tmp_path / "started.json")
    assert load_snapshot(str(tmp_path / "connected.json")).binary == str(sock)
    assert proc.poll() is None
    status = qmp_command(sock, "query-status")
    assert status["return"] == {"status": "prelaunch", "singlestep": False, "running": False}
    # check reads it too, beside a started one: the same build, so checked once
    both = cli("check", "--connect", sock, "--qemu", qemu_x86, "--format", "json")
    assert both.status == 0, both.err
    doc = json.loads(both.out)
    assert len(doc["builds"]) == 1
    assert doc["failures"] == []
    assert proc.poll() is None


@pytest.mark.slow  # waits out a timeout or fuzzes: left out of the fast run
def test_connect_to_a_busy_monitor_times_out(
    running_qemu: tuple[subprocess.Popen[bytes], Path], cli: Callable[..., Result]
) -> None:
    proc, sock = running_qemu
    with socket.socket(socket.AF_UNIX) as other:
        other.connect(str(sock))  # QEMU serves one client at a time
        line = one_line(cli("collect", "--connect", sock, "--timeout", "2"))
    assert line == (f"hmp-perms: {sock}: no answer within 2 s (is another client connected to it?)")
    assert proc.poll() is None


def test_connect_faults(tmp_path: Path, cli: Callable[..., Result]) -> None:
    missing = tmp_path / "missing.qmp"
    assert one_line(cli("collect", "--connect", missing)) == (
        f"hmp-perms: {missing}: no such socket"
    )
    stale = tmp_path / "stale.qmp"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(stale))  # bound, never listening: like a socket its QEMU left
    assert one_line(cli("collect", "--connect", stale)) == (
        f"hmp-perms: {stale}: connection refused (nothing listens there)"
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert one_line(cli("check", "--connect", f"127.0.0.1:{port}")) == (
        f"hmp-perms: 127.0.0.1:{port}: connection refused (nothing listens there)"
    )


def _fake_peer(path: Path, *lines: bytes) -> threading.Thread:
    """A QMP peer at `path` that accepts once, sends `lines` (the first as soon as it
    accepts, the rest once it is asked something) and closes."""

    def serve(server: socket.socket) -> None:
        with server, server.accept()[0] as conn:
            conn.sendall(lines[0])
            with contextlib.suppress(OSError):
                if conn.recv(4096):
                    conn.sendall(b"".join(lines[1:]))
                    conn.recv(4096)

    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen()
    thread = threading.Thread(target=serve, args=(server,), daemon=True)
    thread.start()
    return thread


GREETING = {
    "QMP": {
        "version": {"qemu": {"major": 7, "minor": 2, "micro": 0}, "package": ""},
        "capabilities": [],
    }
}
EVENT = b'{"event": "STOP", "timestamp": {"seconds": 0, "microseconds": 0}}\r\n'
FAKE_PEER_FAULTS = {
    # a 100 KB integer: past Python's limit on the digits of an integer it reads
    "huge-integer": (
        (b'{"QMP": {"version": {"qemu": {"major": 1' + b"0" * 100_000 + b"}}}}\r\n",),
        "sent an integer too long to read",
    ),
    "events-for-a-reply": (
        (json.dumps(GREETING).encode() + b"\r\n", EVENT * 1000),
        "sent events where a reply was due",
    ),
}


@pytest.mark.parametrize("case", FAKE_PEER_FAULTS)
def test_fake_qmp_peer_faults_name_what_the_peer_sent(
    case: str, tmp_path: Path, cli: Callable[..., Result]
) -> None:
    """What a QMP peer sends is untrusted; real QEMU sends neither of these. The error
    line says it once: none of qemu.qmp's own records reaches a handler of the program's."""
    path = tmp_path / "peer.qmp"
    lines, said = FAKE_PEER_FAULTS[case]
    thread = _fake_peer(path, *lines)
    seen: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.name)  # type: ignore[method-assign]
    logging.getLogger().addHandler(handler)  # as a program using hmp-perms may have
    try:
        result = cli("collect", "--connect", path, "--timeout", "10")
    finally:
        logging.getLogger().removeHandler(handler)
    thread.join(10)
    assert one_line(result) == f"hmp-perms: {path}: {said}"
    assert seen == []


@pytest.mark.slow  # waits out a timeout or fuzzes: left out of the fast run
def test_connect_to_a_socket_that_accepts_and_never_greets(
    tmp_path: Path, cli: Callable[..., Result]
) -> None:
    path = tmp_path / "silent.qmp"
    accepted: list[socket.socket] = []
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        server.listen()
        thread = threading.Thread(target=lambda: accepted.append(server.accept()[0]))
        thread.start()
        start = time.monotonic()
        line = one_line(cli("collect", "--connect", path, "--timeout", "1"))
        thread.join()
    assert line.startswith(f"hmp-perms: {path}: no answer within 1 s")
    assert time.monotonic() - start < 30
    for conn in accepted:
        conn.close()


# -- which QEMUs: --all-local -------------------------------------------------


def test_all_local_leaves_out_a_name_that_links_to_another_binary_found(
    tmp_path: Path, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    """As Debian ships `qemu-system-ppc64le` (a link to `qemu-system-ppc64`): one build.
    A link to a binary not found on PATH is a build of its own."""
    ppc64 = os.path.realpath(need_binary("qemu-system-ppc64"))
    both, alone = tmp_path / "both", tmp_path / "alone"
    both.mkdir()
    alone.mkdir()
    (both / "qemu-system-ppc64").symlink_to(ppc64)
    (both / "qemu-system-ppc64le").symlink_to("qemu-system-ppc64")
    (alone / "qemu-system-ppc64le").symlink_to(ppc64)
    for folder, kept in ((both, "qemu-system-ppc64"), (alone, "qemu-system-ppc64le")):
        monkeypatch.setenv("PATH", str(folder))
        result = cli("collect", "--all-local")
        assert result.status == 0, result.err
        labels = [line.split()[0] for line in result.out.splitlines() if not line[0].isspace()]
        assert labels == [kept]


# -- one that fails does not hide the others -------------------------------------


def test_failed_build_does_not_hide_the_ones_that_answered(
    qemu_x86: str, cli: Callable[..., Result]
) -> None:
    result = cli("collect", "--names", "--qemu", "false", "--qemu", qemu_x86)
    assert result.status == 2
    assert "cont c" in result.out.splitlines()
    assert (
        result.err == "hmp-perms: false: is no QEMU (exited before it connected (exit status 1))\n"
    )
    checked = cli("check", "--format", "json", "--qemu", qemu_x86, "--qemu", "qemu-system-nope")
    assert checked.status == 2
    assert len(json.loads(checked.out)["builds"]) == 1
    assert len(checked.err.splitlines()) == 1 and "qemu-system-nope" in checked.err


# -- faults: one line, exit 2, nothing left --------------------------------------


def run_marked(args: list[str], tmp: Path, **kwargs: object) -> tuple[Result, str]:
    """Run the real console script with a marker in its environment, TMPDIR at `tmp`."""
    mark = uuid.uuid4().hex
    env = {**os.environ, MARK: mark, "TMPDIR": str(tmp)}
    proc = subprocess.run(
        [*hmp_perms(), *args], env=env, capture_output=True, text=True, timeout=120, **kwargs
    )
    return Result(proc.returncode, proc.stdout, proc.stderr), mark


@pytest.mark.slow  # waits out a timeout or fuzzes: left out of the fast run
@pytest.mark.parametrize(
    ("command", "line"),
    [
        # stand-ins that name no QEMU are said to be none
        ("false", "is no QEMU (exited before it connected (exit status 1))"),
        ("sh -c 'exec sleep 1000'", "is no QEMU (no answer within 1 s)"),
        ("sh -c 'sleep 1000 & exec sleep 1000'", "is no QEMU (no answer within 1 s)"),
    ],
)
def test_wrapper_faults_leave_nothing_running(
    command: str,
    line: str,
    private_tmp: Path,
) -> None:
    result, mark = run_marked(["collect", "--qemu", command, "--timeout", "1"], private_tmp)
    assert one_line(result) == f"hmp-perms: {command}: {line}"
    wait_gone(mark)


def test_standin_that_forks_a_child_and_exits(tmp_path: Path, private_tmp: Path) -> None:
    binary, _ = fake_binary(tmp_path, "fork-exit")
    result, mark = run_marked(["collect", "--qemu", binary, "--timeout", "20"], private_tmp)
    assert one_line(result) == (
        f"hmp-perms: {binary}: exited before it connected (exit status 1)"
        " (QEMU said: fake qemu: -machine none: unsupported machine type)"
    )
    wait_gone(mark)


@pytest.mark.slow  # waits out a timeout or fuzzes: left out of the fast run
def test_standin_flooding_stderr_is_kept_short(tmp_path: Path, private_tmp: Path) -> None:
    binary, _ = fake_binary(tmp_path, "flood")
    result, mark = run_marked(["collect", "--qemu", binary, "--timeout", "2"], private_tmp)
    line = one_line(result)
    assert line.startswith(f"hmp-perms: {binary}: no answer within 2 s (QEMU said: fake qemu:")
    assert " bytes ...] " in line and len(line) < 6000
    wait_gone(mark)


def test_standin_printing_a_megabyte_before_it_answers_is_collected(
    tmp_path: Path, private_tmp: Path
) -> None:
    """A QEMU's output is drained as it comes: one that fills the pipe is not stalled."""
    binary, _ = fake_binary(tmp_path, "chatty")
    result, mark = run_marked(
        ["collect", "--qemu", binary, "--names", "--timeout", "20"], private_tmp
    )
    # It answered: its listing is the stand-in's own, which lacks what a QEMU lists.
    assert result.err.startswith(f"hmp-perms: {binary}: the help listing lacks"), result.err
    wait_gone(mark)


def test_standin_that_answered_gets_quit_and_time_to_exit_by_itself(
    tmp_path: Path, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, private_tmp: Path
) -> None:
    """This one takes 1 s to exit after `quit`, and marks that it exited by itself."""
    exited = tmp_path / "exited"
    monkeypatch.setenv("FAKE_QEMU_QUITFILE", str(exited))
    binary, pidfile = fake_binary(tmp_path, "slow-quit")
    result = cli("collect", "--names", "--qemu", binary)
    assert result.status == 0, result.err
    assert "quit q" in result.out.splitlines()
    assert exited.exists(), "it was killed before it could exit"
    assert_gone(pidfile)


@pytest.mark.slow  # waits out a timeout or fuzzes: left out of the fast run
def test_standin_that_never_exits_after_quit_is_killed_after_5_s(
    tmp_path: Path, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, private_tmp: Path
) -> None:
    exited = tmp_path / "exited"
    monkeypatch.setenv("FAKE_QEMU_QUITFILE", str(exited))
    binary, pidfile = fake_binary(tmp_path, "no-quit")
    start = time.monotonic()
    result = cli("collect", "--names", "--qemu", binary)
    took = time.monotonic() - start
    assert result.status == 0, result.err
    assert 5 <= took < 8
    assert not exited.exists()
    assert_gone(pidfile)


@pytest.mark.slow  # waits out a timeout or fuzzes: left out of the fast run
def test_standin_slow_to_exit_after_quit_is_still_collected_under_a_short_timeout(
    tmp_path: Path, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, private_tmp: Path
) -> None:
    monkeypatch.setenv("FAKE_QEMU_QUITFILE", str(tmp_path / "exited"))
    binary, pidfile = fake_binary(tmp_path, "no-quit")
    result = cli("collect", "--names", "--qemu", binary, "--timeout", "3")
    assert_gone(pidfile)
    assert result.status == 0, result.err
    assert "quit q" in result.out.splitlines()


# mode: (environment, the line after "hmp-perms: BINARY: ")
STANDIN_FAULTS = {
    "bad-greeting": ({}, "sent something that is not QMP: b'Welcome to the fake monitor!\\r\\n'"),
    "huge-reply": (
        {},
        "sent a QMP message over 4 MiB, this tool's limit (a listing is tens of KB)",
    ),
    "float-version": (
        {"FAKE_QEMU_VERSION": '{"qemu": {"major": 1e400, "minor": 2, "micro": 0}, "package": ""}'},
        "query-version: inf is not a version number (0 to 2^31-1)",
    ),
    "negative-version": (
        {"FAKE_QEMU_VERSION": '{"qemu": {"major": 9, "minor": -1, "micro": 0}, "package": ""}'},
        "query-version: -1 is not a version number (0 to 2^31-1)",
    ),
    "huge-version": (
        {"FAKE_QEMU_VERSION": '{"qemu": {"major": 9, "minor": 0, "micro": 1e3}, "package": ""}'},
        "query-version: 1000.0 is not a version number (0 to 2^31-1)",
    ),
    "package-type": (
        {"FAKE_QEMU_VERSION": '{"qemu": {"major": 9, "minor": 0, "micro": 0}, "package": [1]}'},
        "query-version: package [1] is not a string",
    ),
    "target-type": (
        {"FAKE_QEMU_TARGET": '{"arch": 64}'},
        "unexpected reply to query-target: {'arch': 64}",
    ),
    "target-list": ({"FAKE_QEMU_TARGET": "[]"}, "unexpected reply to query-target: []"),
}


@pytest.mark.slow  # waits out a timeout or fuzzes: left out of the fast run
@pytest.mark.parametrize("case", STANDIN_FAULTS)
def test_standin_reply_faults(
    case: str,
    tmp_path: Path,
    cli: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    private_tmp: Path,
) -> None:
    env, message = STANDIN_FAULTS[case]
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    mode = case if case in ("bad-greeting", "huge-reply") else "replies"
    binary, pidfile = fake_binary(tmp_path, mode)
    assert one_line(cli("collect", "--qemu", binary, "--timeout", "30")) == (
        f"hmp-perms: {binary}: {message}"
    )
    assert_gone(pidfile)


def test_too_few_descriptors_fails_in_one_line(qemu_x86: str, private_tmp: Path) -> None:
    """Eight: the standard three, the signal pipe, the event loop's three; none for QEMU."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (8, 8))

    start = time.monotonic()
    result, mark = run_marked(
        ["collect", "--qemu", qemu_x86, "--timeout", "10"], private_tmp, preexec_fn=limit
    )
    assert time.monotonic() - start < 60
    assert "Too many open files" in one_line(result)
    wait_gone(mark)


@pytest.mark.parametrize(
    "option", ["--info-text", "--qemu-version", "--target", "--package", "--variant"]
)
def test_from_text_options_need_from_text(option: str, cli: Callable[..., Result]) -> None:
    line = one_line(cli("collect", option, "x"))
    assert line == (
        f"hmp-perms: collect: {option}: only with --from-text; a live QEMU reports its own"
    )


# -- signals -------------------------------------------------------------------------


def default_signals() -> None:
    """In the child: the signals the tests send at their defaults, whatever this process
    inherited (a shell's background job has SIGINT ignored, and the tool keeps it so)."""
    for signum in (signal.SIGINT, signal.SIGQUIT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(signum, signal.SIG_DFL)


def start_marked(args: list[str], tmp: Path) -> tuple[subprocess.Popen[str], str]:
    mark = uuid.uuid4().hex
    env = {**os.environ, MARK: mark, "TMPDIR": str(tmp)}
    proc = subprocess.Popen(
        [*hmp_perms(), *args],
        env=env,
        preexec_fn=default_signals,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc, mark


def qemus(mark: str) -> list[int]:
    return [p for p in marked(mark) if _command(p).startswith("qemu-sys")]


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text()
    except OSError:  # gone since it was listed
        return ""


def expect_signalled(proc: subprocess.Popen[str], signum: int, mark: str) -> None:
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum
    name = "" if signum == signal.SIGINT else f" ({signal.Signals(signum).name})"
    assert (out, err) == ("", f"hmp-perms: interrupted{name}\n")
    wait_gone(mark)


SIGNALS = [signal.SIGTERM, signal.SIGHUP, signal.SIGINT]


def signal_name(signum: int) -> str:
    """SIGTERM, SIGRTMIN+3: as the tool names a signal."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"SIGRTMIN+{signum - signal.SIGRTMIN}"


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_signal_stops_every_real_qemu(
    signum: int,
    qemu_x86: str,
    qemu_arm: str,
    bwrap: str,
    private_tmp: Path,
) -> None:
    """Real QEMUs whose monitor never answers (it is moved aside), one inside bwrap."""
    mute = f"{sys.executable} {MUTE}"
    args = ["collect", "--timeout", "120"]
    for command in (qemu_x86, qemu_arm, f"{BWRAP} {qemu_x86}"):
        args += ["--qemu", f"{mute} {command}"]
    proc, mark = start_marked(args, private_tmp)
    wait_for(lambda: len(qemus(mark)) == 3, "three QEMUs")
    proc.send_signal(signum)
    expect_signalled(proc, signum, mark)


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_signal_stops_a_standin_and_its_child(
    signum: int,
    tmp_path: Path,
    private_tmp: Path,
) -> None:
    binary, pidfile = fake_binary(tmp_path, "fork-hang")
    proc, mark = start_marked(["check", "--qemu", binary, "--timeout", "120"], private_tmp)
    wait_for(pidfile.exists, "the stand-in")
    wait_for(lambda: len(marked(mark)) >= 3, "the stand-in's child")
    proc.send_signal(signum)
    expect_signalled(proc, signum, mark)


def handles_sigterm(pid: int) -> bool:
    """Whether the tool has SIGTERM in hand (blocked or caught; Python does neither)."""
    bit = 1 << (signal.SIGTERM - 1)
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return False
    fields = dict(line.split(":", 1) for line in lines if ":" in line)
    return bool((int(fields["SigBlk"], 16) | int(fields["SigCgt"], 16)) & bit)


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_signal_during_start_up(signum: int, private_tmp: Path) -> None:
    """As soon as the signals are blocked, before the imports of the command line."""
    proc, mark = start_marked(["check", "--qemu", "qemu-system-x86_64"], private_tmp)
    wait_for(lambda: proc.poll() is not None or handles_sigterm(proc.pid), "the tool's hold")
    proc.send_signal(signum)
    expect_signalled(proc, signum, mark)


# -- a closed or failing standard stream -----------------------------------------------


def _closing(*fds: int) -> Callable[[], None]:
    def close() -> None:
        for fd in fds:
            os.close(fd)

    return close


def test_a_closed_stdout_is_a_reader_that_went_away(qemu_x86: str, private_tmp: Path) -> None:
    """`hmp-perms ... >&-`: 141, nothing on stderr, no traceback; QEMU stopped."""
    args = ["collect", "--names", "--qemu", qemu_x86]
    result, mark = run_marked(args, private_tmp, preexec_fn=_closing(1))
    assert (result.status, result.err) == (128 + signal.SIGPIPE, "")
    assert marked(mark) == []


def test_a_closed_stderr_keeps_errors_off_stdout(private_tmp: Path) -> None:
    """`2>&-`: the error line goes nowhere (it went to stdout), the status still says it."""
    args = ["collect", "--qemu", "/nonexistent/qemu-system-x86_64"]
    result, _ = run_marked(args, private_tmp, preexec_fn=_closing(2))
    assert (result.status, result.out) == (2, "")
    result, _ = run_marked(["kinds"], private_tmp, preexec_fn=_closing(0, 2))
    assert result.status == 0 and result.out != ""


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize("args", [["--version"], ["--help"], ["kinds"]])
def test_a_full_stdout_fails_in_one_line(
    args: list[str], unbuffered: bool, private_tmp: Path
) -> None:
    """Buffered, what is left at the end (all of `--version`) cannot be written; unbuffered,
    the first write fails, mid-run (and argparse would ignore it for `--version`)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [*hmp_perms(), *args], env=env, stdout=full, stderr=subprocess.PIPE, text=True
        )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == "hmp-perms: standard output: cannot write: No space left on device\n"


# -- a disconnect cancelled mid-way -----------------------------------------------------


def test_fake_qmp_peer_dies_and_a_cancelled_disconnect_leaves_nothing_to_log() -> None:
    """A signal cancels a collection while it disconnects from a QEMU just killed: qemu.qmp,
    cancelled mid-way, left its reader's EOFError in a future nobody awaited, and asyncio
    logged it with a traceback ("_GatheringFuture exception was never retrieved")."""
    import gc

    from generator.collect import launcher

    async def main() -> list[str]:
        loop = asyncio.get_running_loop()
        logged: list[str] = []
        loop.set_exception_handler(lambda loop, context: logged.append(context["message"]))
        ours, theirs = socket.socketpair()
        with ours, theirs:
            theirs.sendall(json.dumps(GREETING).encode() + b"\r\n")
            client = QMPClient("fake")
            connecting = asyncio.ensure_future(client.connect(ours))
            theirs.setblocking(False)
            asked = await asyncio.wait_for(loop.sock_recv(theirs, 4096), 5)
            assert b"qmp_capabilities" in asked
            theirs.sendall(b'{"return": {}}\r\n')
            await asyncio.wait_for(connecting, 5)
            theirs.close()  # QEMU killed: the client's reader ends with EOFError
            await asyncio.sleep(0.05)
            disconnecting = asyncio.ensure_future(launcher.disconnect(client))
            await asyncio.sleep(0)
            disconnecting.cancel()
            await asyncio.gather(disconnecting, return_exceptions=True)
            assert disconnecting.cancelled()
            del client, connecting, disconnecting
            gc.collect()
            await asyncio.sleep(0)
        return logged

    assert asyncio.run(main()) == []

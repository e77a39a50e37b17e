"""Signals: at each named point of a run, through wrappers, when the tool is killed.

Every run here is the console script in a process of its own, with real QEMU
(need_binary: skipped outside CI, failed in CI when missing). The named points
are reached every time: tests/fakes/signal_at.py is the console script with one
function wrapped to send the signal right there. Stand-ins for QEMU
(tests/fakes/fake_qemu.py) are in tests named `test_fake_...`.

After each run: the exit status is 128+signal, stderr is the one line, no
traceback, nothing of the report's verdict, and no process that carries the
run's marker is alive (checked at once: the tool reaps what it killed).
The random soaks are in test_soak.py.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import termios
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.collect.test_collect import assert_gone, fake_binary
from tests.collect.test_launcher import (
    BWRAP,
    MARK,
    MUTE,
    SIGNALS,
    default_signals,
    hmp_perms,
    marked,
    qemus,
    wait_for,
)
from tests.collect.test_launcher import signal_name as name
from tests.conftest import ROOT, TESTS, Result, need_binary

# Each test starts and signals real processes, a second or more apiece: `make test`
# runs them; the fast run (`pytest -m "not slow"`) leaves them out.
pytestmark = pytest.mark.slow

HARNESS = TESTS / "fakes" / "signal_at.py"
SETSID = 'setsid -f sh -c "exec {} \\"$@\\"" sh'  # QEMU in a new session; setsid exits at once
WITHIN = 3.0  # seconds from the signal to the exit


def interrupted(signum: int) -> str:
    return "hmp-perms: interrupted" + ("" if signum == signal.SIGINT else f" ({name(signum)})")


def assert_signalled(result: Result, signum: int, mark: str) -> None:
    assert result.status == 128 + signum, result.err
    assert result.err == interrupted(signum) + "\n"
    assert "OK:" not in result.out and "FAILED" not in result.out
    assert marked(mark) == [], "a process of the run outlived it"


def environment(tmp: Path) -> tuple[dict[str, str], str]:
    mark = uuid.uuid4().hex
    return {**os.environ, MARK: mark, "TMPDIR": str(tmp), "NO_COLOR": "1"}, mark


# -- at each named point ---------------------------------------------------------------


def run_at(point: str, signum: int, args: list[str], tmp: Path) -> tuple[Result, str]:
    env, mark = environment(tmp)
    proc = subprocess.run(
        [sys.executable, str(HARNESS), point, signal.Signals(signum).name, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=default_signals,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr), mark


POINTS = ["startup", "before-spawn", "fork", "conversation", "table", "report", "output"]


@pytest.mark.parametrize("signum", SIGNALS, ids=name)
@pytest.mark.parametrize("point", POINTS)
def test_signal_at_a_named_point(
    point: str, signum: int, qemu_x86: str, qemu_arm: str, private_tmp: Path
) -> None:
    args = ["check", "--qemu", qemu_x86, "--qemu", qemu_arm, "--timeout", "60"]
    result, mark = run_at(point, signum, args, private_tmp)
    assert_signalled(result, signum, mark)
    if point == "output":  # the first half of the report was written, its verdict was not
        assert result.out != ""


@pytest.mark.parametrize("signum", SIGNALS, ids=name)
def test_signal_while_the_report_file_is_written(
    signum: int, qemu_x86: str, tmp_path: Path, private_tmp: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    args = ["check", "--qemu", qemu_x86, "-o", str(out / "report.txt")]
    result, mark = run_at("file", signum, args, private_tmp)
    assert_signalled(result, signum, mark)
    # Written whole (renamed in place as the signal came) or not at all; no temporary file.
    assert [p.name for p in out.iterdir()] in ([], ["report.txt"])


def test_signal_at_every_point_of_a_run_of_every_local_qemu(private_tmp: Path) -> None:
    need_binary("qemu-system-x86_64")
    for point in ("fork", "conversation", "table"):
        result, mark = run_at(point, signal.SIGTERM, ["check", "--all-local"], private_tmp)
        assert_signalled(result, signal.SIGTERM, mark)


def test_fake_qemu_signals_the_tool_mid_conversation(tmp_path: Path, private_tmp: Path) -> None:
    binary, pidfile = fake_binary(tmp_path, "signal-parent")
    for signum in SIGNALS:
        env, mark = environment(private_tmp)
        env["FAKE_QEMU_SIGNAL"] = signal.Signals(signum).name
        proc = subprocess.run(
            [*hmp_perms(), "check", "--qemu", binary, "--timeout", "60"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            preexec_fn=default_signals,
        )
        assert_signalled(Result(proc.returncode, proc.stdout, proc.stderr), signum, mark)
        assert_gone(pidfile)


# -- signals from outside, at a moment the test waits for -------------------------------


@dataclass
class Run:
    proc: subprocess.Popen[str]
    mark: str

    def signal(self, signum: int) -> float:
        """Send `signum`; the moment it was sent."""
        sent = time.monotonic()
        self.proc.send_signal(signum)
        return sent

    def result(self, sent: float) -> Result:
        out, err = self.proc.communicate(timeout=60)
        assert time.monotonic() - sent < WITHIN, "the run took too long to end"
        return Result(self.proc.returncode, out, err)

    def qemus_running(self, count: int) -> None:
        wait_for(lambda: len(qemus(self.mark)) >= count, f"{count} QEMU(s)")

    def adopted(self) -> None:
        """Wait until a QEMU of the run is a child of the tool without being started by it."""
        wait_for(
            lambda: any(_parent(pid) == self.proc.pid for pid in qemus(self.mark)),
            "a QEMU that came back to the tool",
        )


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError):
        return 0


def start(args: list[str], tmp: Path, ignore: int | None = None, new_session: bool = False) -> Run:
    """The tool, with the signals the tests send at their defaults (`ignore`: one ignored);
    `new_session`: leading a process group of its own, for signals sent to all of it."""

    def signals_in_child() -> None:
        default_signals()
        if ignore is not None:
            signal.signal(ignore, signal.SIG_IGN)

    env, mark = environment(tmp)
    proc = subprocess.Popen(
        [*hmp_perms(), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=new_session,
        preexec_fn=signals_in_child,
    )
    return Run(proc, mark)


def mute(qemu: str) -> str:
    """A command line for `qemu` whose monitor never answers: the run waits while it runs."""
    return f"{sys.executable} {MUTE} {qemu}"


@pytest.mark.parametrize(
    "signum",
    [signal.SIGQUIT, signal.SIGUSR1, signal.SIGALRM, signal.SIGRTMIN + 2],
    ids=name,
)
def test_any_signal_that_would_end_the_tool_stops_everything(
    signum: int, qemu_x86: str, private_tmp: Path
) -> None:
    run = start(["collect", "--timeout", "60", "--qemu", mute(qemu_x86)], private_tmp)
    run.qemus_running(1)
    assert_signalled(run.result(run.signal(signum)), signum, run.mark)


@pytest.mark.parametrize("point", ["conversation", "report"])
def test_a_second_signal_during_the_stop_changes_nothing(
    point: str, qemu_x86: str, private_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIGNAL_AT_THEN", "SIGINT")
    result, mark = run_at(point, signal.SIGTERM, ["check", "--qemu", qemu_x86], private_tmp)
    assert_signalled(result, signal.SIGTERM, mark)


def test_an_ignored_sighup_stays_ignored(qemu_x86: str, private_tmp: Path) -> None:
    """As under nohup: the parent ignores SIGHUP, so the run goes on through one."""
    run = start(
        ["collect", "--timeout", "60", "--qemu", mute(qemu_x86)],
        private_tmp,
        ignore=signal.SIGHUP,
    )
    run.qemus_running(1)
    run.signal(signal.SIGHUP)
    time.sleep(0.3)
    assert run.proc.poll() is None
    assert_signalled(run.result(run.signal(signal.SIGTERM)), signal.SIGTERM, run.mark)


def test_ctrl_c_at_the_terminal(qemu_x86: str, qemu_arm: str, private_tmp: Path) -> None:
    """^C typed into the tool's controlling terminal: SIGINT to its foreground group."""
    master, slave = os.openpty()

    def controlling_terminal() -> None:
        default_signals()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    env, mark = environment(private_tmp)
    args = ["collect", "--timeout", "60", "--qemu", mute(qemu_x86), "--qemu", mute(qemu_arm)]
    proc = subprocess.Popen(
        [*hmp_perms(), *args],
        env=env,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,
        preexec_fn=controlling_terminal,
    )
    os.close(slave)
    try:
        wait_for(lambda: len(qemus(mark)) >= 2, "two QEMUs")
        sent = time.monotonic()
        os.write(master, b"\x03")
        proc.wait(timeout=60)
        assert time.monotonic() - sent < WITHIN
        screen = _read_all(master)
    finally:
        os.close(master)
    assert proc.returncode == 130
    assert screen.replace("^C", "").strip() == "hmp-perms: interrupted"
    assert marked(mark) == []


def _read_all(fd: int) -> str:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the other side is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")


# -- wrappers, and the tool killed --------------------------------------------------------


def test_setsid_wrapper_works(qemu_x86: str, private_tmp: Path) -> None:
    """The wrapper exits at once, QEMU answers from another session, and is stopped."""
    env, mark = environment(private_tmp)
    proc = subprocess.run(
        [*hmp_perms(), "collect", "--names", "--qemu", SETSID.format("qemu-system-x86_64")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "cont c" in proc.stdout.splitlines()
    assert marked(mark) == []


def test_setsid_wrapper_whose_qemu_never_answers(qemu_x86: str, private_tmp: Path) -> None:
    command = SETSID.format(mute(qemu_x86))
    env, mark = environment(private_tmp)
    proc = subprocess.run(
        [*hmp_perms(), "collect", "--timeout", "2", "--qemu", command],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == f"hmp-perms: {command}: no answer within 2 s\n"
    assert marked(mark) == []


# wrapper (QEMU's command line at {qemu}), and whether QEMU outlives a SIGKILL of the tool
WRAPPERS = {
    "direct": ("{qemu}", False),
    "bwrap": ("bwrap --die-with-parent {bwrap} {qemu}", False),
    "bwrap-pid-namespace": (
        "bwrap --unshare-pid --die-with-parent {bwrap} sh -c '{qemu} \"$@\" & wait' sh",
        False,
    ),
    "unshare-pid-namespace": (
        "unshare --pid --fork --kill-child sh -c '{qemu} \"$@\" & wait' sh",
        False,
    ),
    "shell-child": ("sh -c '{qemu} \"$@\" & wait' sh", True),
    "bwrap-shell-child": ("bwrap --die-with-parent {bwrap} sh -c '{qemu} \"$@\" & wait' sh", True),
    "shell-child-in-another-session": ("sh -c 'setsid {qemu} \"$@\" & wait' sh", True),
    "setsid": (SETSID.format("{qemu}"), True),
}


def wrapped(case: str, qemu: str) -> str:
    template, _ = WRAPPERS[case]
    if "bwrap" in template:
        need_binary("bwrap")
    if "unshare" in template:
        need_binary("unshare")
    return template.replace("{bwrap}", BWRAP[len("bwrap ") :]).replace("{qemu}", mute(qemu))


@pytest.mark.parametrize("case", WRAPPERS)
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=name)
def test_signal_stops_everything_a_wrapper_started(
    case: str, signum: int, qemu_x86: str, private_tmp: Path
) -> None:
    run = start(["collect", "--timeout", "60", "--qemu", wrapped(case, qemu_x86)], private_tmp)
    run.qemus_running(1)
    if case == "setsid":
        run.adopted()
    assert_signalled(run.result(run.signal(signum)), signum, run.mark)


@pytest.mark.parametrize("case", WRAPPERS)
def test_what_a_sigkill_of_the_tool_leaves(case: str, qemu_x86: str, private_tmp: Path) -> None:
    """What docs/processes.md says: the kernel kills each direct child (PR_SET_PDEATHSIG);
    what a wrapper started itself outlives the tool unless the wrapper ties it to its own
    life (bwrap --die-with-parent for its child, a PID namespace for all of them)."""
    _, outlives = WRAPPERS[case]
    run = start(["collect", "--timeout", "60", "--qemu", wrapped(case, qemu_x86)], private_tmp)
    run.qemus_running(1)
    if case == "setsid":
        run.adopted()
    run.signal(signal.SIGKILL)
    run.proc.communicate(timeout=60)
    if outlives:
        time.sleep(0.5)
        left = qemus(run.mark)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        assert len(left) == 1
    else:
        wait_for(lambda: qemus(run.mark) == [], "QEMU to die with the tool", limit=5)

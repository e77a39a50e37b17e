"""The soaks: many runs of `check --all-local`, each signalled at a random moment.

Marked slow. Each run must exit 128+signal with the one line, no traceback, no
verdict, within 3 s of the signal, and leave no process. A run whose signal
came before the tool's handlers existed (the interpreter's own start-up, see
docs/processes.md) is counted apart and must only leave nothing behind. The
counts are printed.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest

from tests.collect.test_launcher import SIGNALS, handles_sigterm, marked, wait_for
from tests.collect.test_launcher import signal_name as name
from tests.collect.test_signals import SETSID, WITHIN, interrupted, start
from tests.conftest import need_binary


@dataclass
class Outcome:
    signum: int
    delay: float
    armed: bool  # the tool held the signals when this one was sent
    status: int
    out: str
    err: str
    seconds: float  # from the signal to the exit
    left: list[int]

    def good(self) -> bool:
        return (
            self.status == 128 + self.signum
            and self.err == interrupted(self.signum) + "\n"
            and "OK:" not in self.out
            and self.seconds < WITHIN
            and not self.left
        )

    def before_the_tool(self) -> bool:
        """It came before the tool blocked the signals: in the interpreter's own start-up,
        where Python's defaults apply (see docs/processes.md). Nothing had been started,
        so nothing is left."""
        return not self.armed and not self.left and self.seconds < WITHIN

    def summary(self) -> str:
        said = self.err.strip().splitlines()[-1:] if self.err else []
        verdict = " (printed OK)" if "OK:" in self.out else ""
        return (
            f"{name(self.signum)} at {self.delay * 1000:.0f} ms: status {self.status}{verdict}"
            + (f", stderr ends {said[0]!r}" if said else "")
        )


def _up(proc: subprocess.Popen[str]) -> bool:
    return proc.poll() is not None or handles_sigterm(proc.pid)


def soak(args: list[str], runs: int, tmp: Path) -> list[Outcome]:
    outcomes = []
    for i in range(runs):
        signum = SIGNALS[i % len(SIGNALS)]
        run = start(args, tmp, new_session=True)
        proc, mark = run.proc, run.mark
        delay = random.uniform(0, 0.3)
        time.sleep(delay)
        handlers = handles_sigterm(proc.pid)
        sent = time.monotonic()
        os.killpg(proc.pid, signum)
        out, err = proc.communicate(timeout=60)
        seconds = time.monotonic() - sent
        left = marked(mark)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        outcomes.append(Outcome(signum, delay, handlers, proc.returncode, out, err, seconds, left))
    return outcomes


def report(what: str, outcomes: list[Outcome]) -> str:
    good = [o for o in outcomes if o.good()]
    early = [o for o in outcomes if not o.good() and o.before_the_tool()]
    bad = [o for o in outcomes if not o.good() and not o.before_the_tool()]
    slowest = max(o.seconds for o in good) if good else 0.0
    lines = [
        f"{what}: {len(outcomes)} runs, {len(good)} as specified (slowest exit"
        f" {slowest:.2f} s after the signal), {len(early)} signalled before the tool"
        f" held the signals, {len(bad)} wrong"
    ]
    lines += [f"  early: {o.summary()}" for o in early]
    lines += [f"  WRONG: {o}" for o in bad]
    return "\n".join(lines)


@pytest.mark.slow
@pytest.mark.parametrize("wrapper", ["direct", "setsid"])
def test_soak_random_signals_during_check_all_local(
    wrapper: str, private_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """60 runs of `check --all-local`, SIGTERM, SIGHUP and SIGINT to the process group at
    a random moment 0-300 ms after the start; also with QEMU behind a setsid wrapper."""
    need_binary("qemu-system-x86_64")
    need_binary("setsid")
    args = ["check", "--all-local"]
    if wrapper == "setsid":
        args += ["--qemu", SETSID.format("qemu-system-x86_64")]
    outcomes = soak(args, 60, private_tmp)
    with capsys.disabled():
        print("\n" + report(f"check --all-local ({wrapper})", outcomes))
    assert all(o.good() or o.before_the_tool() for o in outcomes), report(wrapper, outcomes)
    assert all("Traceback" not in o.err for o in outcomes if o.armed)


@pytest.mark.slow
def test_soak_sigint_during_start_up(private_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """30 runs: SIGINT 0-60 ms after the tool holds the signals, among the start-up imports."""
    need_binary("qemu-system-x86_64")
    outcomes = []
    for _ in range(30):
        run = start(["check", "--all-local"], private_tmp)
        proc, mark = run.proc, run.mark
        wait_for(partial(_up, proc), "the tool's hold on the signals")
        delay = random.uniform(0, 0.06)
        time.sleep(delay)
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        seconds = time.monotonic() - sent
        outcomes.append(
            Outcome(signal.SIGINT, delay, True, proc.returncode, out, err, seconds, marked(mark))
        )
    with capsys.disabled():
        print("\n" + report("SIGINT during start-up", outcomes))
    assert all(o.good() for o in outcomes), report("SIGINT during start-up", outcomes)

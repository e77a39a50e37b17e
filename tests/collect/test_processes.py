"""processes and signals on their own: spawning, registering, killing, reaping, routing.

What needs a process that dies, or one armed as the console script arms, runs
in a Python of its own (`python_script`); the rest runs here, unarmed, as a
library caller would.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from generator.collect import processes, signals
from tests.collect.test_launcher import wait_for
from tests.conftest import ROOT


def status_field(pid: int, field: str) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return line.split()[1]
    raise AssertionError(f"no {field} for {pid}")


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def start_sleep(seconds: int = 60) -> processes.Child:
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        return processes.spawn(["sleep", str(seconds)], devnull, devnull, devnull)
    finally:
        os.close(devnull)


def python_script(code: str, **kwargs: object) -> subprocess.Popen[str]:
    return subprocess.Popen(  # type: ignore[no-any-return]
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,  # type: ignore[call-overload]
    )


def test_a_child_is_registered_in_a_session_of_its_own_with_no_signal_blocked() -> None:
    child = start_sleep()
    try:
        assert processes._CHILDREN[child.pid] is child
        assert os.getsid(child.pid) == child.pid
        assert int(status_field(child.pid, "SigBlk"), 16) == 0
        assert int(status_field(child.pid, "SigCgt"), 16) == 0
    finally:
        assert processes.reap_all(5)
    assert child.pid not in processes._CHILDREN
    assert child.returncode == -signal.SIGKILL
    assert not alive(child.pid)


def test_wait_reports_the_exit_through_a_pidfd_or_by_polling(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        fast = processes.spawn(["sh", "-c", "exit 3"], devnull, devnull, devnull)

        def no_pidfd(pid: int, flags: int = 0) -> int:
            raise OSError("no pidfd here")

        monkeypatch.setattr(os, "pidfd_open", no_pidfd)
        polled = processes.spawn(["sh", "-c", "kill -TERM $$"], devnull, devnull, devnull)
    finally:
        os.close(devnull)

    async def both() -> list[int]:
        return list(await asyncio.gather(fast.wait(), polled.wait()))

    assert asyncio.run(both()) == [3, -signal.SIGTERM]
    for child in (fast, polled):
        child.kill()
        child.release()


def test_spawn_refuses_once_a_signal_came() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        acted: list[int] = []
        with signals.Route(loop, acted.append):
            os.kill(os.getpid(), signal.SIGTERM)
            with pytest.raises(processes.Stopped):
                start_sleep()
            await asyncio.sleep(0.05)
        assert acted == [signal.SIGTERM]

    asyncio.run(main())
    assert processes._CHILDREN == {}


def test_a_route_makes_a_signal_an_event_and_puts_things_back() -> None:
    before = {s: signal.getsignal(s) for s in signals.HANDLED}

    async def main() -> tuple[int, ...]:
        loop = asyncio.get_running_loop()
        acted: list[int] = []
        done = asyncio.Event()

        def act(signum: int) -> None:
            acted.append(signum)
            done.set()

        with signals.Route(loop, act):
            os.kill(os.getpid(), signal.SIGHUP)  # nothing is raised here
            os.kill(os.getpid(), signal.SIGTERM)  # the first one counts
            await asyncio.wait_for(done.wait(), 5)
        return tuple(acted)

    assert asyncio.run(main()) == (signal.SIGHUP,)
    assert signals.caught() == signal.SIGHUP
    assert {s: signal.getsignal(s) for s in signals.HANDLED} == before
    assert signal.set_wakeup_fd(-1) == -1


def test_a_route_leaves_a_signal_its_caller_handles() -> None:
    seen: list[int] = []
    previous = signal.signal(signal.SIGUSR1, lambda signum, frame: seen.append(signum))
    try:

        async def main() -> None:
            loop = asyncio.get_running_loop()
            with signals.Route(loop, lambda s: pytest.fail("acted on a signal not its own")):
                os.kill(os.getpid(), signal.SIGUSR1)
                await asyncio.sleep(0.05)

        asyncio.run(main())
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert seen == [signal.SIGUSR1]
    assert signals.caught() is None


def test_the_kernel_kills_a_child_whose_parent_died() -> None:
    """PR_SET_PDEATHSIG, set in the child before exec."""
    parent = python_script(
        """
        import os, sys
        from generator.collect import processes
        child = processes.spawn(["sleep", "60"], 1, 2, 2)
        print(child.pid, flush=True)
        sys.stdin.read()
        """,
        stdin=subprocess.PIPE,
    )
    assert parent.stdout is not None
    pid = int(parent.stdout.readline())
    assert alive(pid)
    parent.kill()
    parent.communicate(timeout=30)
    wait_for(lambda: not alive(pid), "the child to die with its parent", limit=5)


def test_an_armed_run_gets_back_and_kills_what_a_child_left_in_another_session() -> None:
    """The child subreaper: `setsid -f` exits at once; its child comes back to us."""
    script = python_script(
        """
        import os, time
        from generator.collect import processes, signals
        signals.arm()
        child = processes.spawn(["setsid", "-f", "sleep", "60"], 1, 2, 2)
        deadline = time.monotonic() + 10
        while not processes.adopted() and time.monotonic() < deadline:
            time.sleep(0.01)
        left = processes.adopted()
        print(*left, os.getsid(left[0]) == left[0], flush=True)
        print(processes.reap_all(5), processes.adopted(), processes._CHILDREN, flush=True)
        """
    )
    out, err = script.communicate(timeout=60)
    assert script.returncode == 0, err
    adopted, reaped = out.splitlines()
    pid, other_session = adopted.split()
    assert other_session == "True"
    assert reaped == "True [] {}"
    assert not alive(int(pid))


def test_children_the_process_had_before_are_not_its_to_kill() -> None:
    script = python_script(
        """
        import subprocess
        from generator.collect import processes, signals
        signals.arm()
        own = subprocess.Popen(["sleep", "60"])
        child = processes.spawn(["true"], 1, 2, 2)
        print(processes.reap_all(5), processes.adopted(), own.poll(), flush=True)
        own.kill()
        """
    )
    out, err = script.communicate(timeout=60)
    assert (script.returncode, out) == (0, "True [] None\n"), err


def test_a_signalled_swallowed_by_a_finalizer_is_raised_again() -> None:
    script = python_script(
        """
        import gc, os, signal, sys
        from generator.collect import signals
        signals.arm()

        class Victim:
            def __del__(self):
                os.kill(os.getpid(), signal.SIGTERM)  # Signalled raised in here is lost

        try:
            Victim()
            for _ in range(10**6):
                pass
            print("went on", flush=True)
        except signals.Signalled as exc:
            print("stopped", exc.signum, flush=True)
        """
    )
    out, err = script.communicate(timeout=60)
    assert (out, err) == (f"stopped {int(signal.SIGTERM)}\n", "")


def test_blocked_keeps_a_signal_pending_until_the_block_ends() -> None:
    script = python_script(
        """
        import os, signal
        from generator.collect import signals
        signals.arm()
        try:
            with signals.blocked():
                os.kill(os.getpid(), signal.SIGHUP)
                print("inside", signals.caught(), flush=True)
        except signals.Signalled as exc:
            print("after", exc.signum, flush=True)
        """
    )
    out, err = script.communicate(timeout=60)
    assert (out, err) == (f"inside None\nafter {int(signal.SIGHUP)}\n", "")


def test_two_signals_pending_together_come_lowest_number_first() -> None:
    """docs/processes.md: the first signal the tool sees decides; two held back across a
    fork are delivered in the kernel's order (SIGINT before SIGTERM), not in sending order."""
    script = python_script(
        """
        import os, signal
        from generator.collect import signals
        signals.arm()
        try:
            with signals.blocked():
                os.kill(os.getpid(), signal.SIGTERM)
                os.kill(os.getpid(), signal.SIGINT)
        except signals.Signalled as exc:
            print("after", exc.signum, signals.caught(), flush=True)
        """
    )
    out, err = script.communicate(timeout=60)
    assert (out, err) == (f"after {int(signal.SIGINT)} {int(signal.SIGINT)}\n", "")


def test_reap_all_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    child = start_sleep()
    monkeypatch.setattr(processes.Child, "kill", lambda self: None)  # it will not die
    start = time.monotonic()
    assert processes.reap_all(0.2) is False
    assert time.monotonic() - start < 2
    monkeypatch.undo()
    assert processes.reap_all(5)
    assert not alive(child.pid)

"""processes on their own: starting, killing and reaping, through its public functions.

What needs a process that dies, or one set up as the console script sets it up,
runs in a Python of its own (`python_script`); the rest runs here, as a library
caller would.
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

from generator.collect import processes
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


def start_sleep(seconds: int = 60) -> subprocess.Popen[bytes]:
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


def test_a_child_runs_in_a_session_of_its_own_and_reap_all_kills_it() -> None:
    child = start_sleep()
    assert os.getsid(child.pid) == child.pid
    assert int(status_field(child.pid, "SigBlk"), 16) == 0
    assert int(status_field(child.pid, "SigCgt"), 16) == 0
    assert processes.reap_all(5)
    assert child.returncode == -signal.SIGKILL
    assert not alive(child.pid)


def test_wait_gives_the_exit_status() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        exits = processes.spawn(["sh", "-c", "exit 3"], devnull, devnull, devnull)
        killed = processes.spawn(["sh", "-c", "kill -TERM $$"], devnull, devnull, devnull)
    finally:
        os.close(devnull)

    async def both() -> list[int]:
        return list(await asyncio.gather(processes.wait(exits), processes.wait(killed)))

    assert asyncio.run(both()) == [3, -signal.SIGTERM]
    assert processes.reap_all(5)


def test_a_child_of_the_console_gets_the_given_signal_mask_back() -> None:
    """The console blocks its signals for the whole run; QEMU starts with the mask the
    tool was given (here SIGUSR2 blocked, as a parent may leave it)."""
    script = python_script(
        """
        import signal
        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM, signal.SIGINT])
        from generator.collect import processes
        processes.child_mask = {signal.SIGUSR2}  # the mask the tool was given
        child = processes.spawn(["sleep", "60"], 1, 2, 2)
        with open(f"/proc/{child.pid}/status") as f:
            print(*[line.split()[1] for line in f if line.startswith("SigBlk:")], flush=True)
        print(processes.reap_all(5), flush=True)
        """
    )
    out, err = script.communicate(timeout=60)
    assert script.returncode == 0, err
    blocked, reaped = out.split()
    assert int(blocked, 16) == 1 << (signal.SIGUSR2 - 1)
    assert reaped == "True"


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


def test_a_child_whose_tool_died_before_it_execs_exits_127() -> None:
    """The tool dies in the child's first moment, before PR_SET_PDEATHSIG is set: the
    kernel will not kill the child then, so it must not run `true`. A subreaper above the
    tool gets the orphan back and reads its status."""
    script = python_script(
        """
        import ctypes, os, signal, time
        ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
        tool = os.fork()
        if tool == 0:
            from generator.collect import processes
            def tool_dies():  # in the child, between fork and exec
                parent = os.getppid()
                os.kill(parent, signal.SIGKILL)
                while os.getppid() == parent:
                    time.sleep(0.001)
            os.register_at_fork(after_in_child=tool_dies)
            processes.spawn(["true"], 1, 2, 2)
            os._exit(3)  # not reached: the child killed this process
        status = {}
        while len(status) < 2:
            pid, code = os.waitpid(-1, 0)
            status[pid] = os.waitstatus_to_exitcode(code)
        print(status.pop(tool), *status.values(), flush=True)
        """
    )
    out, err = script.communicate(timeout=60)
    assert (script.returncode, out) == (0, f"{-signal.SIGKILL} 127\n"), err


def test_the_library_does_not_make_its_caller_a_child_subreaper(qemu_x86: str) -> None:
    """Only the console script does: a program that calls the library keeps its orphans'
    fate as it was."""
    script = python_script(
        f"""
        import asyncio, ctypes
        from generator.collect.launcher import collect_all
        collected = asyncio.run(collect_all([{qemu_x86!r}], 30))
        subreaper = ctypes.c_int(-1)
        ctypes.CDLL(None).prctl(37, ctypes.byref(subreaper), 0, 0, 0)  # PR_GET_CHILD_SUBREAPER
        print(len(collected.snapshots), collected.errors, subreaper.value, flush=True)
        """
    )
    out, err = script.communicate(timeout=60)
    assert (script.returncode, out) == (0, "1 [] 0\n"), err


def test_an_armed_run_gets_back_and_kills_what_a_child_left_in_another_session() -> None:
    """The child subreaper: `setsid -f` exits at once; its child comes back to us."""
    script = python_script(
        """
        import os, time
        from generator.collect import processes
        processes.child_mask = set()
        child = processes.spawn(["setsid", "-f", "sleep", "60"], 1, 2, 2)
        def left_in_another_session():
            return [pid for pid in processes.adopted() if os.getsid(pid) == pid]

        deadline = time.monotonic() + 10
        while not left_in_another_session() and time.monotonic() < deadline:
            time.sleep(0.01)
        left = processes.adopted()
        print(*left, os.getsid(left[0]) == left[0], flush=True)
        print(processes.reap_all(5), processes.adopted(), flush=True)
        """
    )
    out, err = script.communicate(timeout=60)
    assert script.returncode == 0, err
    adopted, reaped = out.splitlines()
    pid, other_session = adopted.split()
    assert other_session == "True"
    assert reaped == "True []"
    assert not alive(int(pid))


def test_children_the_process_had_before_are_not_its_to_kill() -> None:
    script = python_script(
        """
        import subprocess
        from generator.collect import processes
        processes.child_mask = set()
        own = subprocess.Popen(["sleep", "60"])
        child = processes.spawn(["true"], 1, 2, 2)
        print(processes.reap_all(5), processes.adopted(), own.poll(), flush=True)
        own.kill()
        """
    )
    out, err = script.communicate(timeout=60)
    assert (script.returncode, out) == (0, "True [] None\n"), err


def test_reap_all_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    child = start_sleep()
    monkeypatch.setattr(processes, "kill", lambda child: None)  # it will not die
    start = time.monotonic()
    assert processes.reap_all(0.2) is False
    assert time.monotonic() - start < 2
    monkeypatch.undo()
    assert processes.reap_all(5)
    assert not alive(child.pid)

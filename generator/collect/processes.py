"""The processes this tool starts: registered under `LOCK`, killed and reaped by pid,
with what came back to it as a child subreaper (docs/processes.md)."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from subprocess import Popen

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36

#: Held while a child is started and registered, and for good once a signal ends the run.
LOCK = threading.Lock()
_children: dict[int, Popen[bytes]] = {}  # each leads a process group (and session)
_foreign: set[int] = set()  # children this process had before it started any
#: The console's: each child gets it back, and the first makes this a child subreaper.
child_mask: Iterable[int] | None = None
_subreaper: bool | None = None  # None: not tried


async def wait(child: Popen[bytes]) -> int:
    """`child`'s exit status (negative: the signal that killed it), reaped by its pid."""
    import asyncio  # 15 ms of start-up; the caller's event loop has it loaded

    while (code := child.poll()) is None:
        try:  # woken the moment it exits: QEMU quits in a few ms, a poll would add up to 20
            fd = os.pidfd_open(child.pid)
        except OSError:  # an old kernel, a seccomp filter: polled instead
            await asyncio.sleep(0.02)
            continue
        loop, exited = asyncio.get_running_loop(), asyncio.Event()
        loop.add_reader(fd, exited.set)
        try:
            await exited.wait()
        finally:
            loop.remove_reader(fd)
            os.close(fd)
    return code


def kill(child: Popen[bytes]) -> None:
    """SIGKILL `child`'s process group, and `child` while unreaped (its pid is still ours)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signal.SIGKILL)
    if child.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(child.pid, signal.SIGKILL)


async def stop(child: Popen[bytes], grace: float) -> None:
    """Give `child` `grace` seconds to exit, then kill its group, reap it and forget it."""
    import asyncio

    if grace > 0:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wait(child), grace)
    kill(child)
    await wait(child)
    _children.pop(child.pid, None)


def spawn(argv: Sequence[str], output: int, keep: int, at: int) -> Popen[bytes]:
    """Start `argv` in a session of its own, registered before a signal is acted on,
    `output` as its stdout and stderr and `keep` at descriptor `at`."""
    import ctypes  # with subprocess, 6 ms of start-up for the commands that start nothing
    import subprocess

    global _subreaper
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    prctl.argtypes = [ctypes.c_int, *[ctypes.c_ulong] * 4]
    parent = os.getpid()
    mask = child_mask

    def in_child() -> None:  # between fork and exec: only what must happen here
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # it died before the line above: so must this
            os._exit(127)
        if keep != at:
            os.dup2(keep, at)
            os.close(keep)
        signal.set_wakeup_fd(-1)  # a signal now is the child's own, not the tool's
        if mask is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)

    with LOCK:
        if mask is not None and _subreaper is None:
            _foreign.update(_children_of_this_process())
            _subreaper = prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
        child = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=output,
            pass_fds=sorted({at, keep}),  # whatever the parent has at `at` is replaced
            preexec_fn=in_child,
            start_new_session=True,
        )
        _children[child.pid] = child
    return child


def _children_of_this_process() -> set[int]:
    found: set[int] = set()
    for task in os.listdir("/proc/self/task"):
        path = f"/proc/self/task/{task}/children"  # gone with its thread; CONFIG_PROC_CHILDREN
        with contextlib.suppress(OSError), open(path) as f:
            found.update(int(pid) for pid in f.read().split())
    return found


def adopted() -> list[int]:
    """Children that came back to this subreaper."""
    if not _subreaper:
        return []
    return sorted(_children_of_this_process() - set(_children) - _foreign)


def reap_all(within: float) -> bool:
    """SIGKILL and reap by pid every child and adopted process, with its group, for up to
    `within` seconds; True when none is left. Never waitpid(-1): others here wait for theirs."""
    deadline = time.monotonic() + within
    while True:
        for child in list(_children.values()):
            kill(child)
            if child.poll() is not None:
                _children.pop(child.pid, None)
        left = []
        for pid in adopted():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                if os.getpgid(pid) == pid != os.getpgrp():  # a group it leads: its members too
                    os.killpg(pid, signal.SIGKILL)
                os.kill(pid, signal.SIGKILL)  # still ours (unreaped): the pid cannot be reused
            with contextlib.suppress(ChildProcessError):
                if os.waitpid(pid, os.WNOHANG)[0] != pid:
                    left.append(pid)
        if not _children and not left:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)

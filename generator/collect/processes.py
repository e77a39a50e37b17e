"""The processes this tool starts: spawned, registered, killed and reaped by pid.

Entry points: `spawn` (start one child, registered before a signal can be
acted on; the kernel kills it if this process dies), `Child` (its exit, through
a pidfd, and its stop), `kill_all` and `reap_all` (stop every child, and what came back to
this process as a child subreaper), `StreamEnds` (a child's output, bounded).
See docs/processes.md for what holds when.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from typing import TYPE_CHECKING

from generator.collect import signals

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable, Sequence

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
KEEP = 2048  # bytes kept of each end of a child's output


class Stopped(Exception):
    """`spawn` refused: a signal came, so nothing more is started."""


#: Children started and not yet released, by pid: `kill_all` ends each one's group.
_CHILDREN: dict[int, Child] = {}
#: Children this process had when it became a subreaper: not ours to kill.
_FOREIGN: set[int] = set()
_PRCTL: list[Callable[..., int]] = []
_SUBREAPER: list[bool] = []  # [True] once this process is a child subreaper


class Child:
    """A process `spawn` started: its exit is watched through a pidfd, by its pid only."""

    def __init__(self, popen: subprocess.Popen[bytes]) -> None:
        self.popen = popen
        self.pid = popen.pid  # also its process group: it leads a session of its own
        try:
            self._pidfd: int | None = os.pidfd_open(self.pid)
        except OSError:  # an old kernel, a seccomp filter: polled instead
            self._pidfd = None
        self._exit: asyncio.Future[int] | None = None

    @property
    def returncode(self) -> int | None:
        return self.popen.returncode

    def poll(self) -> int | None:
        """Its exit status (negative: the signal that killed it), reaping it by pid."""
        code = self.popen.poll()
        if code is not None:
            self._done(code)
        return code

    async def wait(self) -> int:
        while self.poll() is None:
            await asyncio.shield(self._watch())
        assert self.returncode is not None
        return self.returncode

    def _watch(self) -> asyncio.Future[int]:
        loop = asyncio.get_running_loop()
        if self._exit is None or self._exit.get_loop() is not loop:
            self._exit = loop.create_future()
            if self._pidfd is not None:
                loop.add_reader(self._pidfd, self.poll)
            else:
                self._poll_later()
        return self._exit

    def _poll_later(self) -> None:
        if self._exit is not None and not self._exit.done() and self.poll() is None:
            self._exit.get_loop().call_later(0.02, self._poll_later)

    def _done(self, code: int) -> None:
        if self._pidfd is not None:
            if self._exit is not None and not self._exit.get_loop().is_closed():
                self._exit.get_loop().remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = None
        if self._exit is not None and not self._exit.done():
            self._exit.set_result(code)

    def kill(self) -> None:
        """SIGKILL its process group, and itself while it is unreaped (its pid is still ours)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(self.pid, signal.SIGKILL)

    def release(self) -> None:
        """Forget it: it is reaped and its group was killed."""
        _CHILDREN.pop(self.pid, None)

    async def stop(self, grace: float) -> None:
        """Give it `grace` seconds to exit, then kill its process group, whatever it left.

        What it started in another session is killed when the collection ends.
        """
        if self.returncode is None and grace > 0:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self.wait(), grace)
        self.kill()
        await self.wait()  # if this is cancelled, `reap_all` at the end of a collection reaps it
        self.release()


def spawn(argv: Sequence[str], output: int, keep: int, at: int) -> Child:
    """Start `argv`, registered before any signal can be acted on; a `Stopped` once one came.

    The child leads a session of its own (a Ctrl-C at the terminal reaches only
    this process), has `output` as stdout and stderr and `keep` at descriptor
    `at`, and gets SIGKILL from the kernel if this process dies first. The
    handled signals are blocked from before the fork until the child is
    registered; the child restores the mask before it execs.
    """
    import subprocess  # asyncio has imported it

    prctl = _prctl()
    if signals.armed() and not _SUBREAPER:  # the console script's run, not a library caller's
        _become_subreaper(prctl)
    parent = os.getpid()
    with signals.blocked() as mask:
        if signals.caught() is not None:
            raise Stopped

        def in_child() -> None:  # between fork and exec: only what must happen here
            prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            if os.getppid() != parent:  # it died before the line above: so must this
                os._exit(127)
            if keep != at:
                os.dup2(keep, at)
                os.close(keep)
            for signum in signals.HANDLED:
                if signals.ours(signum):
                    signal.signal(signum, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)

        popen = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=output,
            pass_fds=sorted({at, keep}),  # whatever the parent has at `at` is replaced in the child
            preexec_fn=in_child,
            start_new_session=True,
        )
        return _register(popen)


def _register(popen: subprocess.Popen[bytes]) -> Child:
    child = Child(popen)
    _CHILDREN[child.pid] = child
    return child


def _prctl() -> Callable[..., int]:
    """libc's prctl(2), loaded once (ctypes is imported only when something is started)."""
    if not _PRCTL:
        import ctypes

        fn = ctypes.CDLL(None, use_errno=True).prctl
        fn.argtypes = [ctypes.c_int, *[ctypes.c_ulong] * 4]
        fn.restype = ctypes.c_int
        _PRCTL.append(fn)
    return _PRCTL[0]


def _become_subreaper(prctl: Callable[..., int]) -> None:
    """What a wrapper started and left (in another session, too) comes back to us to kill."""
    _FOREIGN.update(_children())
    _SUBREAPER.append(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)


def _children() -> set[int]:
    """Every child of this process (any thread's), from /proc."""
    found: set[int] = set()
    tasks = os.listdir("/proc/self/task")
    if os.path.exists(f"/proc/self/task/{tasks[0]}/children"):  # CONFIG_PROC_CHILDREN
        for task in tasks:
            try:
                with open(f"/proc/self/task/{task}/children") as f:
                    found.update(int(pid) for pid in f.read().split())
            except FileNotFoundError:  # a thread that has ended
                continue
        return found
    me = os.getpid()
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) == me:
                    found.add(int(entry))
        except (OSError, ValueError, IndexError):
            continue
    return found


def adopted() -> list[int]:
    """Children that came back to this subreaper: not started by `spawn`, nor there before."""
    if not any(_SUBREAPER):
        return []
    return sorted(_children() - set(_CHILDREN) - _FOREIGN)


def _kill_adopted(pid: int) -> None:
    try:
        group = os.getpgid(pid)
        if group == pid and group != os.getpgrp():  # a group it made: its members too
            os.killpg(group, signal.SIGKILL)
        os.kill(pid, signal.SIGKILL)  # still ours (unreaped): the pid cannot be reused
    except (ProcessLookupError, PermissionError):
        pass


def kill_all() -> None:
    """SIGKILL every child not released (its whole group) and every adopted one; no waiting."""
    for child in list(_CHILDREN.values()):
        child.kill()
    for pid in adopted():
        _kill_adopted(pid)


def reap_all(within: float) -> bool:
    """Kill and reap, by pid, every child and adopted process, for up to `within` seconds.

    True when none is left. Never waitpid(-1): that would take exit statuses from
    whoever else waits for a child of this process.
    """
    import time

    deadline = time.monotonic() + within
    while True:
        kill_all()
        for child in list(_CHILDREN.values()):
            if child.poll() is not None:
                child.release()
        left = [pid for pid in adopted() if not _reaped(pid)]
        if not _CHILDREN and not left:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)


def _reaped(pid: int) -> bool:
    try:
        return os.waitpid(pid, os.WNOHANG)[0] == pid
    except ChildProcessError:
        return True


class StreamEnds:
    """The first and the last few KB of a pipe, read to its end: a child's output, bounded."""

    def __init__(self) -> None:
        self.head = b""
        self.tail = b""
        self.skipped = 0
        self._transport: asyncio.ReadTransport | None = None
        self._reading: asyncio.Future[None] | None = None

    async def start(self, fd: int) -> None:
        """Read the pipe `fd` (now owned here) in the background."""
        reader = asyncio.StreamReader()
        loop = asyncio.get_running_loop()
        pipe = os.fdopen(fd, "rb", buffering=0)
        try:
            self._transport, _ = await loop.connect_read_pipe(
                lambda: asyncio.StreamReaderProtocol(reader), pipe
            )
        except BaseException:
            pipe.close()
            raise
        self._reading = asyncio.ensure_future(self._read(reader))

    async def _read(self, stream: asyncio.StreamReader) -> None:
        while chunk := await stream.read(65536):
            room = KEEP - len(self.head)
            self.head += chunk[:room]
            rest = self.tail + chunk[room:] if room < len(chunk) else self.tail
            self.skipped += max(0, len(rest) - KEEP)
            self.tail = rest[-KEEP:]

    async def settle(self) -> None:
        """Take what is left; give up soon if something outside the group keeps it open."""
        if self._reading is not None:
            with contextlib.suppress(TimeoutError, OSError):
                await asyncio.wait_for(asyncio.shield(self._reading), 1.0)

    def close(self) -> None:
        if self._reading is not None:
            self._reading.cancel()
        if self._transport is not None:
            self._transport.close()

    def text(self) -> str:
        gap = f" [... {self.skipped} bytes ...] " if self.skipped else ""
        return (self.head + gap.encode() + self.tail).decode("utf-8", "replace")

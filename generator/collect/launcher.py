"""Collect stage: ask real QEMU builds for their HMP commands (`collect_all`).

QEMU gets its QMP monitor as one end of a socketpair at descriptor 3, so wrappers
that pass descriptors on work; a running QEMU is read through its socket (`--connect`)
and left as it was. Every failure is one `CollectError` line and leaves no process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shlex
import shutil
import socket
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from qemu.qmp import QMPError

from generator.collect import monitor, processes
from generator.core.errors import CollectError, HmpPermsError
from generator.core.model import Snapshot

DEFAULT_BINARY = "qemu-system-x86_64"
BINARY_ENV = "HMP_PERMS_QEMU"
QEMU_ARGS = ("-machine", "none", "-nodefaults", "-no-user-config", "-display", "none", "-S")
MONITOR_FD = 3  # where QEMU finds its QMP connection; `podman run --preserve-fds=1` passes it
QUIT_GRACE = 5.0  # seconds QEMU gets to exit after `quit` (never more than --timeout)
REAP_GRACE = 1.0  # seconds to kill and reap what a wrapper left when a collection ends
KEEP = 2048  # bytes kept of each end of a child's output
NOT_FOUND = "not found on PATH"  # the use case may add an install hint
T = TypeVar("T")

# qemu.qmp logs every failure it raises; the error the user sees says it once.
logging.getLogger("qemu.qmp").addHandler(logging.NullHandler())
logging.getLogger("qemu.qmp").propagate = False


def default_binary() -> str:
    return os.environ.get(BINARY_ENV) or DEFAULT_BINARY


def local_binaries() -> list[str]:
    """Every ``qemu-system-*`` on PATH, first found per name, sorted; a name that is a link
    to another one found (Debian's ``qemu-system-ppc64le``) is the same build, left out."""
    found: dict[str, str] = {}
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        with contextlib.suppress(OSError):
            for name in os.listdir(folder or "."):
                path = os.path.join(folder or ".", name)
                if name.startswith("qemu-system-") and name not in found and shutil.which(path):
                    found[name] = os.path.realpath(path)
    real = {path: name for name, path in found.items() if os.path.basename(path) == name}
    return sorted(name for name, path in found.items() if real.get(path, name) == name)


def binary_name(command: str) -> str:
    """The name a snapshot keeps: the command's last `qemu-system-*` word, else all of it."""
    try:
        words = shlex.split(command)
    except ValueError:
        return command
    qemus = [w for w in words if os.path.basename(w).startswith("qemu-system-")]
    return words[0] if len(words) == 1 else qemus[-1] if qemus else command


@dataclass
class Collected(Generic[T]):
    """What a run collected: a snapshot per build that answered, an error per one that did not."""

    snapshots: list[Snapshot] = field(default_factory=list)
    errors: list[HmpPermsError] = field(default_factory=list)
    side: T | None = None  # what the work done alongside returned


async def collect_all(
    commands: Sequence[str],
    timeout: float,
    alongside: Callable[[], T] | None = None,
    addresses: Sequence[str] = (),
) -> Collected[T]:
    """Snapshots of every command started and address connected, in the order given.
    `alongside` (loading the table) runs while QEMU comes up; if it raises, every QEMU
    is stopped and the exception passes on."""
    started = [asyncio.Event() for _ in commands]
    jobs = [
        asyncio.ensure_future(collect(c, timeout, e))
        for c, e in zip(commands, started, strict=True)
    ]
    jobs += [asyncio.ensure_future(connect(a, timeout)) for a in addresses]
    try:
        if started:
            await asyncio.wait([asyncio.ensure_future(e.wait()) for e in started])
        side = alongside() if alongside is not None else None
        results = await asyncio.gather(*jobs, return_exceptions=True)
    except BaseException:
        for job in jobs:
            job.cancel()  # each stops its QEMU
        if jobs:
            await asyncio.wait(jobs)
        raise
    finally:
        processes.reap_all(REAP_GRACE)  # what a wrapper left behind
    collected: Collected[T] = Collected(side=side)
    for result in results:
        if isinstance(result, Snapshot):
            collected.snapshots.append(result)
        elif isinstance(result, HmpPermsError):
            collected.errors.append(result)
        else:
            raise result
    return collected


async def collect(command: str, timeout: float, started: asyncio.Event | None = None) -> Snapshot:
    """Start QEMU by `command`, ask for its listings, version and target, and stop it;
    `started` is set once QEMU runs, or has failed to start."""
    started = started or asyncio.Event()
    proc: subprocess.Popen[bytes] | None = None
    output: _Output | None = None  # its stdout and stderr
    said = ""  # what it printed there
    ours: socket.socket | None = None  # this end of QEMU's monitor
    client = monitor.Client(command)
    answered = False  # QEMU was asked to quit and may take a moment to exit
    ended: int | None = None  # QEMU's status, if it ended by itself
    try:
        async with asyncio.timeout(timeout):
            try:
                ours, theirs = socket.socketpair()
                with theirs:
                    proc, read_end = _start(command, theirs)
                output = _Output(read_end)
            except (OSError, subprocess.SubprocessError) as exc:  # before QEMU's exec
                why = f"cannot start: {getattr(exc, 'strerror', None) or exc}"
                raise CollectError(command, why) from None
            finally:
                started.set()
            try:
                await monitor.greeted(client, command, proc, ours)
                snapshot = await monitor.ask(client, binary_name(command), command)
                with contextlib.suppress(QMPError, OSError, EOFError):
                    await client.execute("quit")
                answered = True
                return snapshot
            finally:
                ended = proc.returncode  # by itself, before it was stopped
                await monitor.disconnect(client)
                await processes.stop(proc, min(QUIT_GRACE, timeout) if answered else 0.0)
    except TimeoutError:
        detail = f"no answer within {timeout:g} s"
    except (QMPError, OSError, EOFError, ValueError) as exc:
        detail = monitor.describe(client.broken or exc)
        if ended is not None:
            detail += f" ({monitor.ending(ended)})"
    except CollectError as exc:
        if proc is None:
            raise
        detail = exc.detail
    finally:
        started.set()
        if output is not None:
            said = output.close()
        if ours is not None:
            ours.close()
    # A command that names no QEMU (`/bin/true`, `cat`) is said to be none, and what it
    # printed is its own, not QEMU's.
    words = shlex.split(command)  # it was split to start it
    if any("qemu" in os.path.basename(w) for w in words):
        raise CollectError(command, detail, said)
    program = os.path.basename(words[0])
    raise CollectError(command, f"is no QEMU ({detail})", said, speaker=program)


def _start(command: str, monitor_end: socket.socket) -> tuple[subprocess.Popen[bytes], int]:
    """Start `command`, its QMP monitor on `monitor_end`; the child and the read end of
    the pipe its stdout and stderr go to."""
    try:
        words = shlex.split(command)
    except ValueError as exc:
        raise CollectError(command, f"cannot split the command line: {exc}") from None
    if not words:
        raise CollectError(command, "empty command")
    program = shutil.which(words[0])
    if program is None:
        if os.sep not in words[0]:
            raise CollectError(command, NOT_FOUND)
        why = "is not an executable file" if os.path.exists(words[0]) else "no such file"
        raise CollectError(command, why)
    argv = [program, *words[1:], *QEMU_ARGS, "-chardev", f"socket,id=hmp-perms,fd={MONITOR_FD}"]
    # `-qmp chardev:ID` is read alike from 7.2 to 11.1, where `-mon chardev=ID,mode=control`
    # is deprecated (and `-object monitor-qmp` new).
    argv += ["-qmp", "chardev:hmp-perms"]
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    try:
        return processes.spawn(argv, write_end, monitor_end.fileno(), MONITOR_FD), read_end
    except BaseException:
        os.close(read_end)
        raise
    finally:
        os.close(write_end)


class _Output:
    """A child's stdout and stderr, drained as it writes (a full pipe would stall it), of
    which the first and last `KEEP` bytes are kept."""

    def __init__(self, fd: int) -> None:
        self.fd, self.head, self.tail, self.skipped = fd, b"", b"", 0
        asyncio.get_running_loop().add_reader(fd, self._read)

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except BlockingIOError:  # nothing more for now
                return
            if not chunk:  # every writer is gone: nothing more to wait for
                asyncio.get_running_loop().remove_reader(self.fd)
                return
            room = KEEP - len(self.head)
            self.head += chunk[:room]
            rest = self.tail + chunk[max(room, 0) :]
            self.skipped += max(0, len(rest) - KEEP)
            self.tail = rest[-KEEP:]

    def close(self) -> str:
        """What it printed, once it has stopped (the pipe is closed here); a process
        outside its group that holds the pipe open is not waited for."""
        self._read()
        asyncio.get_running_loop().remove_reader(self.fd)
        os.close(self.fd)
        gap = f" [... {self.skipped} bytes ...] ".encode() if self.skipped else b""
        return (self.head + gap + self.tail).decode("utf-8", "replace")


async def connect(address: str, timeout: float) -> Snapshot:
    """Read the monitor of a QEMU that already runs, at a UNIX socket path or HOST:PORT:
    only `help`, `info`, `query-version` and `query-target`, so it is left as it was."""
    client = monitor.Client(address)
    host, _, port = address.rpartition(":")
    target: str | tuple[str, int] = address
    if host and port.isdigit() and not os.path.exists(address):
        target = (host.strip("[]"), int(port))
    try:
        async with asyncio.timeout(timeout):
            await client.connect(target)
            try:
                return await monitor.ask(client, address, address)
            finally:
                await monitor.disconnect(client)
    except TimeoutError:
        why = f"no answer within {timeout:g} s (is another client connected to it?)"
        raise CollectError(address, why) from None
    except (QMPError, OSError, EOFError, ValueError) as exc:
        raise CollectError(address, monitor.describe(client.broken or exc)) from None

"""Collect stage: ask real QEMU builds for their HMP commands.

Entry point: `collect_all`. The only module
that talks to QEMU.

A QEMU this tool starts gets its QMP monitor as an inherited descriptor: one
end of a socketpair, at descriptor 3 in the child. Nothing is put on disk, so
the same works through any wrapper command that passes descriptors on
(`chroot`, `bwrap`, `podman run --preserve-fds=1`). A QEMU that already runs is
read through its own QMP socket (`--connect`) and left as it was.

Whatever goes wrong, the caller gets a `CollectError` of one line naming what
the user typed (with the start of QEMU's own stderr), and no process this
module started, nor anything those started, is left running (`processes`).
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
from typing import TYPE_CHECKING, Generic, TypeVar

from qemu.qmp import QMPError

from generator.collect import monitor, processes
from generator.core.errors import CollectError, HmpPermsError

if TYPE_CHECKING:
    from generator.core.model import Snapshot

DEFAULT_BINARY = "qemu-system-x86_64"
BINARY_ENV = "HMP_PERMS_QEMU"
QEMU_ARGS = ("-machine", "none", "-nodefaults", "-no-user-config", "-display", "none", "-S")
MONITOR_FD = 3  # where QEMU finds its QMP connection; `podman run --preserve-fds=1` passes it
T = TypeVar("T")
QUIT_GRACE = 5.0  # seconds QEMU gets to exit after `quit` (never more than --timeout)
REAP_GRACE = 1.0  # seconds to kill and reap what a wrapper left when a collection ends
KEEP = 2048  # bytes kept of each end of a child's output

# qemu.qmp logs every failure it raises; the error the user sees says it once.
logging.getLogger("qemu.qmp").addHandler(logging.NullHandler())
logging.getLogger("qemu.qmp").propagate = False


def default_binary() -> str:
    return os.environ.get(BINARY_ENV) or DEFAULT_BINARY


def local_binaries() -> list[str]:
    """Every ``qemu-system-*`` on PATH, first found per name, sorted.

    A name that is a link to another binary found (Debian's ``qemu-system-ppc64le``
    is ``qemu-system-ppc64``) is the same build, so it is left out.
    """
    found: dict[str, str] = {}
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        try:
            names = os.listdir(folder or ".")
        except OSError:
            continue
        for name in names:
            path = os.path.join(folder or ".", name)
            if (
                name.startswith("qemu-system-")
                and name not in found
                and os.path.isfile(path)
                and os.access(path, os.X_OK)
            ):
                found[name] = os.path.realpath(path)
    real = {path: name for name, path in found.items() if os.path.basename(path) == name}
    return sorted(name for name, path in found.items() if real.get(path, name) == name)


def split_command(command: str) -> list[str]:
    """`command` split as a shell would (quotes, backslashes), or a `CollectError`."""
    try:
        words = shlex.split(command)
    except ValueError as exc:
        raise CollectError(command, f"cannot split the command line: {exc}") from None
    if not words:
        raise CollectError(command, "empty command")
    return words


def binary_name(command: str) -> str:
    """The name a snapshot keeps: the command's last `qemu-system-*` word, else all of it."""
    try:
        words = shlex.split(command)
    except ValueError:
        return command
    if len(words) == 1:
        return words[0]
    for word in reversed(words):
        if os.path.basename(word).startswith("qemu-system-"):
            return word
    return command


def resolve_program(command: str, program: str) -> str:
    """The path to run for `program`, the first word of `command`, or a `CollectError`."""
    if os.sep in program:
        path = program
        if not os.path.exists(path):
            raise CollectError(command, "no such file")
    else:
        found = shutil.which(program)
        if found is None:
            raise CollectError(command, NOT_FOUND)
        path = found
    if os.path.isdir(path) or not os.access(path, os.X_OK):
        raise CollectError(command, "is not an executable file")
    return path


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

    `alongside` is called once every QEMU is started: QEMU needs a while to
    come up, and work that does not need it (imports, loading the table) is
    done in that wait instead of after it. If it raises, every QEMU is stopped
    and the exception passes on.
    """
    started = [asyncio.Event() for _ in commands]
    jobs = [
        asyncio.ensure_future(collect(c, timeout, e))
        for c, e in zip(commands, started, strict=True)
    ]
    jobs += [asyncio.ensure_future(connect(a, timeout)) for a in addresses]
    try:
        if started:
            await asyncio.wait([asyncio.ensure_future(e.wait()) for e in started])
        # While QEMU starts up: the parser's imports, then the caller's own work.
        import generator.collect.helptext
        import generator.core.model

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
        if isinstance(result, generator.core.model.Snapshot):
            collected.snapshots.append(result)
        elif isinstance(result, HmpPermsError):
            collected.errors.append(result)
        else:
            raise result
    return collected


#: How a program that is not on PATH is said to be missing (the use case may add a hint).
NOT_FOUND = "not found on PATH"


def _failed(command: str, proc: processes.Child | None, detail: str, stderr: str) -> CollectError:
    """A failed conversation as its one line. A command that names no QEMU (`/bin/true`,
    `cat`) is said to be none, and what it printed is its own, not QEMU's."""
    try:
        words = shlex.split(command)
    except ValueError:
        words = [command]
    if proc is None or any("qemu" in os.path.basename(w) for w in words):
        return CollectError(command, detail, stderr)
    program = os.path.basename(words[0])
    return CollectError(command, f"is no QEMU ({detail})", stderr, speaker=program)


async def collect(command: str, timeout: float, started: asyncio.Event | None = None) -> Snapshot:
    """Start QEMU by `command`, ask for its listings, version and target, and stop it.

    `started` is set once QEMU runs, or has failed to start.
    """
    started = started or asyncio.Event()
    proc: processes.Child | None = None
    stderr = StreamEnds()
    graceful = False  # QEMU was asked to quit and may take a moment to exit
    status: int | None = None  # how QEMU ended, if it ended by itself
    client = monitor.Client(command)
    ours: socket.socket | None = None
    try:
        async with asyncio.timeout(timeout):
            words = split_command(command)
            program = resolve_program(command, words[0])
            try:
                ours, theirs = socket.socketpair()
                with theirs:
                    proc = await _spawn([program, *words[1:]], theirs, stderr)
            except OSError as exc:
                raise CollectError(command, f"cannot start: {exc.strerror or exc}") from None
            finally:
                started.set()
            try:
                await monitor.greeted(client, command, proc, ours)
                snapshot = await monitor.ask(client, binary_name(command), command)
                with contextlib.suppress(QMPError, OSError, EOFError):
                    await client.execute("quit")
                graceful = True
                return snapshot
            finally:
                status = proc.returncode
                await monitor.disconnect(client)
                await proc.stop(min(QUIT_GRACE, timeout) if graceful else 0.0)
                await stderr.settle()
    except TimeoutError:
        raise _failed(command, proc, f"no answer within {timeout:g} s", stderr.text()) from None
    except (QMPError, OSError, EOFError, ValueError) as exc:
        what = monitor.describe(client.broken or exc)
        if status is not None:
            what += f" ({monitor.ending(status)})"
        raise _failed(command, proc, what, stderr.text()) from None
    except CollectError as exc:
        if proc is not None:
            raise _failed(command, proc, exc.detail, exc.stderr or stderr.text()) from None
        raise
    finally:
        started.set()
        stderr.close()
        if ours is not None:
            ours.close()


async def connect(address: str, timeout: float) -> Snapshot:
    """Read the monitor of a QEMU that already runs, at a UNIX socket path or HOST:PORT.

    Only `help`, `info`, `query-version` and `query-target`: the QEMU is left
    running as it was.
    """
    client = monitor.Client(address)
    host, _, port = address.rpartition(":")
    target: str | tuple[str, int] = address
    if host and port.isdigit() and not os.path.exists(address):
        target = (host.strip("[]"), int(port))
    try:
        async with asyncio.timeout(timeout):
            try:
                await client.connect(target)
            except QMPError as exc:
                cause = getattr(exc, "exc", exc)
                if isinstance(cause, FileNotFoundError):
                    raise CollectError(address, "no such socket") from None
                if isinstance(cause, ConnectionRefusedError):
                    raise CollectError(
                        address, "connection refused (nothing listens there)"
                    ) from None
                raise
            try:
                return await monitor.ask(client, address, address)
            finally:
                await monitor.disconnect(client)
    except TimeoutError:
        raise CollectError(
            address,
            f"no answer within {timeout:g} s (is another client connected to it?)",
        ) from None
    except (QMPError, OSError, EOFError, ValueError) as exc:
        raise CollectError(address, monitor.describe(client.broken or exc)) from None


async def _spawn(argv: list[str], sock: socket.socket, stderr: StreamEnds) -> processes.Child:
    """Start `argv` in a session of its own, `sock` at descriptor 3 (see `processes.spawn`).

    Its stdout and stderr go to a pipe that `stderr` reads; the end of the
    process is its exit (a pidfd), not the end of every copy of that pipe
    that a child of a wrapper may keep.
    """
    read_end, write_end = os.pipe()
    try:
        await stderr.start(read_end)
    except BaseException:
        os.close(write_end)
        raise
    argv = [
        *argv,
        *QEMU_ARGS,
        "-chardev",
        f"socket,id=hmp-perms,fd={MONITOR_FD}",
        # QMP on that chardev: `-qmp chardev:ID` is read alike from 7.2 to 11.1, where
        # `-mon chardev=ID,mode=control` is deprecated (and `-object monitor-qmp` new).
        "-qmp",
        "chardev:hmp-perms",
    ]
    try:
        return processes.spawn(argv, write_end, sock.fileno(), MONITOR_FD)
    except subprocess.SubprocessError as exc:  # the child failed before exec
        raise OSError(str(exc)) from None
    finally:
        os.close(write_end)


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

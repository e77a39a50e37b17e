"""Collect stage: ask real QEMU builds for their HMP commands (`collect_all`), started
with their QMP monitor at descriptor 3 or reached at a socket (`--connect`). Replies are
untrusted: bounded, checked for type, and every failure is one `CollectError` line."""

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
from typing import Any, Generic, TypeVar

from qemu.qmp import ExecuteError, QMPClient, QMPError
from qemu.qmp.message import DeserializationError

from generator.collect import processes
from generator.collect.helptext import parse_help
from generator.collect.snapshot import validate_snapshot
from generator.core.errors import CollectError, HmpPermsError
from generator.core.model import Snapshot, Version, is_command_name

DEFAULT_BINARY = "qemu-system-x86_64"
BINARY_ENV = "HMP_PERMS_QEMU"
QEMU_ARGS = ("-machine", "none", "-nodefaults", "-no-user-config", "-display", "none", "-S")
MONITOR_FD = 3  # where QEMU finds its QMP connection; `podman run --preserve-fds=1` passes it
QUIT_GRACE = 5.0  # seconds QEMU gets to exit after `quit` (never more than --timeout)
REAP_GRACE = 1.0  # seconds to kill and reap what a wrapper left when a collection ends
KEEP = 2048  # bytes kept of each end of a child's output
MAX_MESSAGE = 4 * 1024 * 1024  # bytes of one QMP message; a listing is tens of KB
NOT_FOUND = "not found on PATH"  # the use case may add an install hint
T = TypeVar("T")

# qemu.qmp logs each failure it raises; the error line says it once, so its records stop here.
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
    """Snapshots of every command started and address connected, in order; `alongside`
    (loading the table) runs while QEMU comes up, and if it raises every QEMU is stopped."""
    jobs = [asyncio.ensure_future(collect(c, timeout)) for c in commands]
    jobs += [asyncio.ensure_future(connect(a, timeout)) for a in addresses]
    try:
        await asyncio.sleep(0)  # each job runs up to its first wait: its QEMU is started
        side = alongside() if alongside is not None else None
        results = await asyncio.gather(*jobs, return_exceptions=True)
    except BaseException:
        for job in jobs:
            job.cancel()  # each stops its QEMU
        await asyncio.gather(*jobs, return_exceptions=True)
        raise
    finally:
        processes.reap_all(REAP_GRACE)  # what a wrapper left behind
    for result in results:
        if not isinstance(result, (Snapshot, HmpPermsError)):
            raise result  # a bug, not a build that failed
    snapshots = [r for r in results if isinstance(r, Snapshot)]
    return Collected(snapshots, [r for r in results if isinstance(r, HmpPermsError)], side)


async def collect(command: str, timeout: float) -> Snapshot:
    """Start QEMU by `command`, ask for its listings, version and target, and stop it."""
    proc, ours, output = _start(command)
    client = QMPClient(f"hmp-perms {command}", readbuflen=MAX_MESSAGE)
    broken: Exception | None = None  # why the connection broke
    answered = False  # QEMU was asked to quit and may take a moment to exit
    ended: int | None = None  # QEMU's status, if it ended by itself
    try:
        async with asyncio.timeout(timeout):
            try:
                await greeted(client, command, proc, ours)
                snapshot = await ask(client, binary_name(command), command)
                with contextlib.suppress(QMPError, OSError, EOFError):
                    await client.execute("quit")
                answered = True
            finally:
                ended = proc.returncode  # by itself, before it was stopped
                broken = await disconnect(client)
    except TimeoutError:
        detail = f"no answer within {timeout:g} s"
    except (QMPError, OSError, EOFError, ValueError) as exc:
        detail = describe(broken or exc)
        if ended is not None:
            detail += f" ({ending(ended)})"
    except CollectError as exc:
        detail = exc.detail
    finally:
        # The time to exit is QEMU's own, after the answer `timeout` bounds.
        await processes.stop(proc, min(QUIT_GRACE, timeout) if answered else 0.0)
        said = output.close()
        ours.close()
    if answered:
        return snapshot
    # A command that names no QEMU (`cat`) is said to be none; what it printed is its own.
    words = shlex.split(command)  # it was split to start it
    if any("qemu" in os.path.basename(w) for w in words):
        raise CollectError(command, detail, said)
    program = os.path.basename(words[0])
    raise CollectError(command, f"is no QEMU ({detail})", said, speaker=program)


def _start(command: str) -> tuple[subprocess.Popen[bytes], socket.socket, _Output]:
    """Start `command`: the child, this end of its QMP monitor, and what it prints."""
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
    # `-qmp chardev:ID` is read alike from 7.2 to 11.1 (which deprecates `-mon`).
    argv += ["-qmp", "chardev:hmp-perms"]
    with contextlib.ExitStack() as on_failure:
        try:
            ours, theirs = socket.socketpair()
            on_failure.callback(ours.close)
            with theirs:
                read_end, write_end = os.pipe()
                on_failure.callback(os.close, read_end)
                try:
                    proc = processes.spawn(argv, write_end, theirs.fileno(), MONITOR_FD)
                finally:
                    os.close(write_end)
        except (OSError, subprocess.SubprocessError) as exc:  # before QEMU's exec
            why = f"cannot start: {getattr(exc, 'strerror', None) or exc}"
            raise CollectError(command, why) from None
        on_failure.pop_all()
    os.set_blocking(read_end, False)
    return proc, ours, _Output(read_end)


class _Output:
    """A child's stdout and stderr, drained as it writes (a full pipe would stall it), of
    which the first and last `KEEP` bytes are kept."""

    def __init__(self, fd: int) -> None:
        self.fd, self.head, self.tail, self.skipped = fd, b"", b"", 0
        asyncio.get_running_loop().add_reader(fd, self._read)

    def _read(self) -> None:
        with contextlib.suppress(BlockingIOError):  # nothing more for now
            while chunk := os.read(self.fd, 65536):
                room = KEEP - len(self.head)
                self.head += chunk[:room]
                rest = self.tail + chunk[max(room, 0) :]
                self.skipped += max(0, len(rest) - KEEP)
                self.tail = rest[-KEEP:]
            asyncio.get_running_loop().remove_reader(self.fd)  # every writer is gone

    def close(self) -> str:
        """What it printed; a process outside its group holding the pipe is not waited for."""
        self._read()
        asyncio.get_running_loop().remove_reader(self.fd)
        os.close(self.fd)
        gap = f" [... {self.skipped} bytes ...] ".encode() if self.skipped else b""
        return (self.head + gap + self.tail).decode("utf-8", "replace")


async def connect(address: str, timeout: float) -> Snapshot:
    """Read the monitor of a QEMU that already runs, at a UNIX socket path or HOST:PORT:
    only `help`, `info`, `query-version` and `query-target`, so it is left as it was."""
    client = QMPClient(f"hmp-perms {address}", readbuflen=MAX_MESSAGE)
    broken: Exception | None = None  # why the connection broke
    host, _, port = address.rpartition(":")
    target: str | tuple[str, int] = address
    if host and port.isdigit() and not os.path.exists(address):
        target = (host.strip("[]"), int(port))
    try:
        async with asyncio.timeout(timeout):
            await client.connect(target)
            try:
                return await ask(client, address, address)
            finally:
                broken = await disconnect(client)
    except TimeoutError:
        why = f"no answer within {timeout:g} s (is another client connected to it?)"
        raise CollectError(address, why) from None
    except (QMPError, OSError, EOFError, ValueError) as exc:
        raise CollectError(address, describe(broken or exc)) from None


async def disconnect(client: QMPClient) -> Exception | None:
    """Close the connection; what qemu.qmp raises here says why it broke. A cancel lets it
    finish first: cancelled mid-way it leaves a failure that asyncio logs as a traceback."""

    async def closing() -> Exception | None:
        try:
            await client.disconnect()
        except Exception as exc:
            return exc
        return None

    task = asyncio.ensure_future(closing())
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait({task}, timeout=1.0)  # a second cancel ends it
        raise


async def ask(client: QMPClient, binary: str, name: str) -> Snapshot:
    """The snapshot `client`'s QEMU gives: `help`, `info`, its version and target."""

    def unexpected(what: str, reply: object) -> CollectError:
        return CollectError(name, f"unexpected reply to {what}: {reply!r:.80}")

    async def hmp(command_line: str) -> str:
        reply = await client.execute("human-monitor-command", {"command-line": command_line})
        if not isinstance(reply, str):
            raise unexpected(repr(command_line), reply)
        return reply.replace("\r\n", "\n")

    help_text = await hmp("help")
    commands = parse_help(help_text, f"{name}: help")
    info_text = await hmp("info")
    info = parse_help(info_text, f"{name}: info", prefix="info ")
    reply: Any = await client.execute("query-version")
    try:
        parts = [reply["qemu"][key] for key in ("major", "minor", "micro")]
        package = reply["package"]
    except (KeyError, TypeError, IndexError):
        raise unexpected("query-version", reply) from None
    for part in parts:
        if type(part) is not int or not 0 <= part < 2**31:
            why = f"query-version: {part!r:.40} is not a version number (0 to 2^31-1)"
            raise CollectError(name, why)
    if not isinstance(package, str):
        raise CollectError(name, f"query-version: package {package!r:.40} is not a string")
    reply = await client.execute("query-target")
    target = reply.get("arch") if isinstance(reply, dict) else None
    if not isinstance(target, str) or not is_command_name(target):
        raise unexpected("query-target", reply)
    base = os.path.basename(binary)  # the binary's own name tells a machine (-microvm)
    qemu = base.startswith("qemu-system-") and is_command_name(base)
    snapshot = Snapshot(
        binary=binary,
        version=Version(*parts),
        package=package.strip(),
        target=target,
        commands=commands,
        info=info,
        raw_help=help_text,
        raw_info=info_text,
        variant=base if qemu else f"qemu-system-{target}",
        packages=(package.strip(),),
        source="live",
    )
    validate_snapshot(snapshot)  # an empty or truncated answer is a failed build
    return snapshot


def describe(exc: BaseException) -> str:
    """A one-line reason for a failed QMP conversation."""
    cause: BaseException = exc
    while isinstance(getattr(cause, "exc", None), BaseException):
        cause = cause.exc  # type: ignore[attr-defined]
    if isinstance(cause, DeserializationError):
        return f"sent something that is not QMP: {cause.raw!r:.80}"
    if isinstance(cause, ValueError) and "integer string conversion" in str(cause):
        return "sent an integer too long to read"  # json's limit on digits
    if isinstance(cause, ValueError) and "limit" in str(cause):
        return f"sent a QMP message over {MAX_MESSAGE // 2**20} MiB, this tool's limit (a listing is tens of KB)"
    if isinstance(cause, AssertionError):  # qemu.qmp's check of the capabilities reply
        return "sent events where a reply was due"
    if isinstance(cause, EOFError):
        return "connection failed: closed by QEMU"
    if isinstance(cause, FileNotFoundError):
        return "no such socket"
    if isinstance(cause, ConnectionRefusedError):
        return "connection refused (nothing listens there)"
    if isinstance(exc, ExecuteError):
        return f"QMP error: {exc}"
    return f"connection failed: {str(cause) or repr(cause)}"


async def greeted(
    client: QMPClient, command: str, proc: subprocess.Popen[bytes], sock: socket.socket
) -> None:
    """Connect `client` past QMP's greeting on `sock`; a `CollectError` if QEMU exits
    first, unless with status 0: a wrapper (`setsid -f`) may have handed QEMU on."""
    connecting = asyncio.ensure_future(client.connect(sock))
    exited = asyncio.ensure_future(processes.wait(proc))
    try:
        await asyncio.wait({connecting, exited}, return_when=asyncio.FIRST_COMPLETED)
        if not connecting.done() and proc.returncode == 0:
            await asyncio.wait({connecting})
    finally:
        for task in (connecting, exited):
            task.cancel()
        await asyncio.gather(connecting, exited, return_exceptions=True)
    if connecting.done() and not connecting.cancelled() and connecting.exception() is None:
        return
    if proc.returncode is None:  # the connection closed: QEMU may be exiting, and say why
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(processes.wait(proc)), 1.0)
    if proc.returncode is None:
        connecting.result()  # raises the reason
    raise CollectError(command, f"exited before it connected ({ending(proc.returncode)})")


def ending(status: int) -> str:
    """How a process ended, as the error line says it."""
    return f"exit status {status}" if status >= 0 else f"killed by signal {-status}"

"""The QMP conversation with one QEMU: what it is asked, how its replies are checked.

Entry points: `Client` (a QMP client with bounded messages), `greeted` (past
the greeting of a QEMU just started), `ask` (the snapshot a connected QEMU
gives), `disconnect`, `describe` and `ending` (one line for a failure).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import TYPE_CHECKING, Any

from qemu.qmp import ExecuteError, QMPClient

from generator.core.errors import CollectError

if TYPE_CHECKING:
    from generator.collect.processes import Child
    from generator.core.model import Snapshot

MAX_MESSAGE = 4 * 1024 * 1024  # bytes of one QMP message; a listing is tens of KB


class Client(QMPClient):
    """A QMP client with bounded messages that remembers why its connection broke."""

    def __init__(self, name: str) -> None:
        super().__init__(f"hmp-perms {name}", readbuflen=MAX_MESSAGE)
        self.broken: BaseException | None = None


DISCONNECT_WITHIN = 1.0  # seconds a cancelled disconnect still gets to finish


async def disconnect(client: Client) -> None:
    """Close the connection; qemu.qmp raises here the reason a command only saw as a break.

    A cancel (a timeout, a library caller's Ctrl-C) lets the disconnect finish
    first, for up to DISCONNECT_WITHIN, and then passes on: qemu.qmp cancelled in the
    middle leaves behind the future of its reader's failure, which asyncio then logs on
    stderr, traceback and all ("_GatheringFuture exception was never retrieved").
    """
    closing = asyncio.ensure_future(_disconnect(client))
    try:
        await asyncio.shield(closing)
    except asyncio.CancelledError:
        await asyncio.wait({closing}, timeout=DISCONNECT_WITHIN)  # a second cancel ends it
        raise


async def _disconnect(client: Client) -> None:
    try:
        await client.disconnect()
    except Exception as exc:
        client.broken = exc


async def ask(client: QMPClient, binary: str, name: str) -> Snapshot:
    """The snapshot `client`'s QEMU gives: `help`, `info`, its version and target."""
    from generator.collect.helptext import parse_help
    from generator.core.model import Snapshot, packages_with, variant_of

    async def hmp(command_line: str) -> str:
        reply = await client.execute("human-monitor-command", {"command-line": command_line})
        if not isinstance(reply, str):
            raise CollectError(name, f"unexpected reply to {command_line!r}: {reply!r:.80}")
        return reply

    help_text = await hmp("help")
    commands = parse_help(help_text, f"{name}: help")
    info_text = await hmp("info")
    info = parse_help(info_text, f"{name}: info", prefix="info ")
    version, package = _version(name, await client.execute("query-version"))
    target = _target(name, await client.execute("query-target"))
    return Snapshot(
        binary=binary,
        version=version,
        package=package,
        target=target,
        commands=commands,
        info=info,
        raw_help=help_text.replace("\r\n", "\n"),
        raw_info=info_text.replace("\r\n", "\n"),
        variant=variant_of(binary, target),
        packages=packages_with(package),
        source="live",
    )


def _version(name: str, reply: Any) -> tuple[Any, str]:
    """query-version's release and package string, each checked for its type."""
    from generator.core.model import Version

    try:
        qemu = reply["qemu"]
        parts = [qemu[key] for key in ("major", "minor", "micro")]
        package = reply["package"]
    except (KeyError, TypeError, IndexError):
        raise CollectError(name, f"unexpected reply to query-version: {reply!r:.80}") from None
    for part in parts:
        if type(part) is not int or not 0 <= part < 2**31:
            raise CollectError(
                name, f"query-version: {part!r:.40} is not a version number (0 to 2^31-1)"
            )
    if not isinstance(package, str):
        raise CollectError(name, f"query-version: package {package!r:.40} is not a string")
    return Version(*parts), package.strip()


def _target(name: str, reply: Any) -> str:
    """query-target's architecture name, checked to be one."""
    from generator.core.model import is_command_name

    arch = reply.get("arch") if isinstance(reply, dict) else None
    if not isinstance(arch, str) or not is_command_name(arch):
        raise CollectError(name, f"unexpected reply to query-target: {reply!r:.80}")
    return arch


def describe(exc: BaseException) -> str:
    """A one-line reason for a failed QMP conversation."""
    from qemu.qmp.message import DeserializationError

    cause: BaseException = exc
    while isinstance(getattr(cause, "exc", None), BaseException):
        cause = cause.exc  # type: ignore[attr-defined]
    if isinstance(cause, DeserializationError):
        return f"sent something that is not QMP: {cause.raw!r:.80}"
    if isinstance(cause, ValueError) and "limit" in str(cause):
        return f"sent a QMP message over {MAX_MESSAGE // 2**20} MiB, this tool's limit (a listing is tens of KB)"
    if isinstance(cause, EOFError):
        return "connection failed: closed by QEMU"
    if isinstance(exc, ExecuteError):
        return f"QMP error: {exc}"
    return f"connection failed: {cause}" if str(cause) else f"connection failed: {cause!r}"


async def greeted(client: QMPClient, command: str, proc: Child, sock: socket.socket) -> None:
    """Connect `client` past QMP's greeting on `sock`; a `CollectError` if QEMU exits first.

    A wrapper that exits 0 may have handed QEMU on (`setsid -f`, a script that
    daemonizes): whoever holds the monitor then answers, or closes it.
    """
    connecting = asyncio.ensure_future(client.connect(sock))
    exited = asyncio.ensure_future(proc.wait())
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
    if proc.returncode is None:
        # The connection closed: most likely QEMU is exiting; let its status tell why.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(proc.wait()), 1.0)
    if proc.returncode is None:
        connecting.result()  # raises the reason
    assert proc.returncode is not None
    raise CollectError(command, f"exited before it connected ({ending(proc.returncode)})")


def ending(status: int) -> str:
    """How a process ended, as the error line says it."""
    return f"exit status {status}" if status >= 0 else f"killed by signal {-status}"

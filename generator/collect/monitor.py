"""The QMP conversation with one QEMU. Its replies are untrusted: messages are bounded,
every reply is checked for its type, and every failure is one line (`describe`)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
from typing import Any

from qemu.qmp import ExecuteError, QMPClient
from qemu.qmp.message import DeserializationError

from generator.collect import processes
from generator.collect.helptext import parse_help
from generator.core.errors import CollectError
from generator.core.model import Snapshot, Version, is_command_name

MAX_MESSAGE = 4 * 1024 * 1024  # bytes of one QMP message; a listing is tens of KB
DISCONNECT_WITHIN = 1.0  # seconds a cancelled disconnect still gets to finish


class Client(QMPClient):
    """A QMP client with bounded messages that remembers why its connection broke."""

    def __init__(self, name: str) -> None:
        super().__init__(f"hmp-perms {name}", readbuflen=MAX_MESSAGE)
        self.broken: BaseException | None = None


async def disconnect(client: Client) -> None:
    """Close the connection, keeping in `client.broken` the reason qemu.qmp raises here.
    A cancel lets it finish first: qemu.qmp cancelled mid-way leaves a failure nobody
    awaits, which asyncio logs with a traceback."""

    async def closing() -> None:
        try:
            await client.disconnect()
        except Exception as exc:
            client.broken = exc

    task = asyncio.ensure_future(closing())
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait({task}, timeout=DISCONNECT_WITHIN)  # a second cancel ends it
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
    return Snapshot(
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
    if proc.returncode is None:
        # The connection closed: most likely QEMU is exiting; let its status tell why.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(processes.wait(proc)), 1.0)
    if proc.returncode is None:
        connecting.result()  # raises the reason
    raise CollectError(command, f"exited before it connected ({ending(proc.returncode)})")


def ending(status: int) -> str:
    """How a process ended, as the error line says it."""
    return f"exit status {status}" if status >= 0 else f"killed by signal {-status}"

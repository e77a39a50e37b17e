"""Collect stage: start real QEMU binaries and ask them for their HMP commands.

Entry point: `collect_snapshots`. The only module that talks to QEMU.

QEMU runs with no guest and connects, as a client, to a QMP socket this
module listens on in a private temporary directory. Whatever goes wrong, the
caller gets a `CollectError` naming the binary (with QEMU's own stderr), and
no process, socket or directory is left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import tempfile
from collections.abc import Callable, Sequence
from typing import IO, TYPE_CHECKING, TypeVar

from qemu.qmp import QMPClient, QMPError

from generator.errors import CollectError, ErrorList, HmpPermsError

if TYPE_CHECKING:
    from generator.model import Snapshot

DEFAULT_BINARY = "qemu-system-x86_64"
BINARY_ENV = "HMP_PERMS_QEMU"
QEMU_ARGS = ("-machine", "none", "-nodefaults", "-no-user-config", "-display", "none", "-S")
T = TypeVar("T")
QUIT_GRACE = 5.0  # seconds QEMU gets to exit after `quit` before it is killed


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


def resolve_binary(binary: str) -> str:
    """The path to run for `binary`, or a `CollectError` saying why there is none."""
    if os.sep in binary:
        path = binary
        if not os.path.exists(path):
            raise CollectError(binary, "no such file")
    else:
        found = shutil.which(binary)
        if found is None:
            hint = ""
            if binary.startswith("qemu-system-"):
                hint = " (install it: apt-get install qemu-system-x86 qemu-system-arm)"
            raise CollectError(binary, f"not found on PATH{hint}")
        path = found
    if os.path.isdir(path) or not os.access(path, os.X_OK):
        raise CollectError(binary, "is not an executable file")
    return path


def collect_snapshots(binaries: Sequence[str], timeout: float) -> list[Snapshot]:
    """Collect from every binary at once; raise one `ErrorList` for all that failed."""
    return asyncio.run(collect_all(binaries, timeout))[0]


async def collect_all(
    binaries: Sequence[str], timeout: float, alongside: Callable[[], T] | None = None
) -> tuple[list[Snapshot], T | None]:
    """The snapshots, and the result of `alongside`, called once every QEMU is started.

    QEMU needs a while to come up; work that does not need it (imports, loading
    the table) is done in that wait instead of after it.
    """
    started = [asyncio.Event() for _ in binaries]
    jobs = [
        asyncio.ensure_future(collect(b, timeout, e))
        for b, e in zip(binaries, started, strict=True)
    ]
    if started:
        await asyncio.wait([asyncio.ensure_future(e.wait()) for e in started])
    # While QEMU starts up: the parser's imports, then the caller's own work.
    import generator.helptext
    import generator.model

    try:
        side = alongside() if alongside is not None else None
    except BaseException:
        for job in jobs:
            job.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)  # each stops its QEMU
        raise
    results = await asyncio.gather(*jobs, return_exceptions=True)
    problems: list[HmpPermsError] = []
    snapshots: list[Snapshot] = []
    for result in results:
        if isinstance(result, generator.model.Snapshot):
            snapshots.append(result)
        elif isinstance(result, HmpPermsError):
            problems.append(result)
        else:
            raise result
    if problems:
        raise ErrorList(problems)
    return snapshots, side


async def collect(binary: str, timeout: float, started: asyncio.Event | None = None) -> Snapshot:
    """Start `binary`, ask for its listings, version and target, and stop it.

    `started` is set once QEMU runs, or has failed to start.
    """
    started = started or asyncio.Event()
    try:
        path = resolve_binary(binary)
    except CollectError:
        started.set()
        raise
    tmpdir = tempfile.mkdtemp(prefix="hmp-perms-")  # mode 0700
    client = QMPClient(f"hmp-perms {binary}")
    proc: asyncio.subprocess.Process | None = None
    graceful = False  # QEMU was asked to quit and may take a moment to exit
    with open(os.path.join(tmpdir, "stderr"), "w+b") as stderr:
        try:
            socket_path = os.path.join(tmpdir, "qmp.sock")
            await client.start_server(socket_path)
            try:
                proc = await asyncio.create_subprocess_exec(
                    path,
                    *QEMU_ARGS,
                    "-qmp",
                    f"unix:{socket_path}",
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=stderr,
                    stderr=stderr,
                    start_new_session=True,  # Ctrl-C reaches us; we stop QEMU ourselves
                )
            except OSError as exc:
                raise CollectError(binary, f"cannot start: {exc.strerror}") from None
            finally:
                started.set()
            try:
                async with asyncio.timeout(timeout):
                    snapshot = await _converse(client, proc, binary, stderr)
                graceful = True
                return snapshot
            except TimeoutError:
                raise CollectError(
                    binary, f"no answer within {timeout:g} s", _read(stderr)
                ) from None
            except (QMPError, OSError, EOFError) as exc:
                raise _failure(binary, proc, stderr, f"connection failed: {exc}") from None
        finally:
            started.set()
            await _stop(client, proc, QUIT_GRACE if graceful else 0.0)
            shutil.rmtree(tmpdir, ignore_errors=True)


async def _converse(
    client: QMPClient, proc: asyncio.subprocess.Process, binary: str, stderr: IO[bytes]
) -> Snapshot:
    from generator.helptext import parse_help
    from generator.model import Snapshot, Version

    accept = asyncio.ensure_future(client.accept())
    exited = asyncio.ensure_future(proc.wait())
    try:
        await asyncio.wait({accept, exited}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (accept, exited):
            task.cancel()
        await asyncio.gather(accept, exited, return_exceptions=True)
    if not accept.done() or accept.cancelled():
        raise _failure(binary, proc, stderr, "exited before it connected")
    accept.result()

    async def hmp(command_line: str) -> str:
        reply = await client.execute("human-monitor-command", {"command-line": command_line})
        if not isinstance(reply, str):
            raise CollectError(binary, f"unexpected reply to {command_line!r}: {reply!r:.80}")
        return reply

    help_text = await hmp("help")
    commands = parse_help(help_text, f"{binary}: help")
    info_text = await hmp("info")
    info = parse_help(info_text, f"{binary}: info", prefix="info ")
    version_reply = await client.execute("query-version")
    target_reply = await client.execute("query-target")
    with contextlib.suppress(QMPError, OSError, EOFError):
        await client.execute("quit")
    try:
        qemu = version_reply["qemu"]  # type: ignore[index]
        version = Version(int(qemu["major"]), int(qemu["minor"]), int(qemu["micro"]))
        package = str(version_reply["package"]).strip()  # type: ignore[index]
        target = str(target_reply["arch"])  # type: ignore[index]
    except (KeyError, TypeError, ValueError):
        raise CollectError(
            binary, f"unexpected reply to query-version/query-target: {version_reply!r:.80}"
        ) from None
    return Snapshot(
        binary=binary,
        version=version,
        package=package,
        target=target,
        commands=commands,
        info=info,
        raw_help=help_text.replace("\r\n", "\n"),
        raw_info=info_text.replace("\r\n", "\n"),
        source="live",
    )


def _read(stderr: IO[bytes]) -> str:
    stderr.flush()
    stderr.seek(0)
    return stderr.read(4096).decode("utf-8", "replace")


def _failure(
    binary: str, proc: asyncio.subprocess.Process, stderr: IO[bytes], what: str
) -> CollectError:
    status = proc.returncode
    if status is not None:
        what += f" (exit status {status})" if status >= 0 else f" (killed by signal {-status})"
    return CollectError(binary, what, _read(stderr))


async def _stop(client: QMPClient, proc: asyncio.subprocess.Process | None, grace: float) -> None:
    """Disconnect, give QEMU `grace` seconds to exit, then kill its process group."""
    with contextlib.suppress(Exception):
        await client.disconnect()
    if proc is None or proc.returncode is not None:
        return
    with contextlib.suppress(TimeoutError, asyncio.CancelledError):
        await asyncio.wait_for(asyncio.shield(proc.wait()), grace)
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()

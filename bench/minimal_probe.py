"""The floor for any qemu.qmp tool: start QEMU as hmp-perms does, ask `help`, quit.

No error handling, no parsing, no output beyond the byte count: the least a
tool can do to get QEMU's command list, with its monitor handed over the same
way (one end of a socketpair at descriptor 3). `bench/run.py` times it as a
baseline.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys

from qemu.qmp import QMPClient


async def probe(binary: str) -> int:
    ours, theirs = socket.socketpair()
    fd = theirs.fileno()

    def to_fd_3() -> None:
        if fd != 3:
            os.dup2(fd, 3)

    proc = await asyncio.create_subprocess_exec(
        binary,
        "-machine",
        "none",
        "-nodefaults",
        "-no-user-config",
        "-display",
        "none",
        "-S",
        "-chardev",
        "socket,id=qmp,fd=3",
        "-qmp",
        "chardev:qmp",
        pass_fds=(3, fd),
        preexec_fn=to_fd_3,
    )
    theirs.close()
    client = QMPClient("probe")
    await client.connect(ours)
    text = await client.execute("human-monitor-command", {"command-line": "help"})
    await client.execute("quit")
    with contextlib.suppress(EOFError):  # QEMU closed first: it quit
        await client.disconnect()
    await proc.wait()
    return len(str(text))


if __name__ == "__main__":
    print(asyncio.run(probe(sys.argv[1] if len(sys.argv) > 1 else "qemu-system-x86_64")))

"""The floor for any qemu.qmp tool: start QEMU as hmp-perms does, ask `help`, quit.

No error handling, no parsing, no output beyond the byte count: the least a
tool can do to get QEMU's command list. `bench/run.py` times it as a baseline.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile

from qemu.qmp import QMPClient


async def probe(binary: str) -> int:
    with tempfile.TemporaryDirectory() as folder:
        sock = os.path.join(folder, "qmp.sock")
        client = QMPClient("probe")
        await client.start_server(sock)
        proc = await asyncio.create_subprocess_exec(
            binary,
            "-machine",
            "none",
            "-nodefaults",
            "-no-user-config",
            "-display",
            "none",
            "-S",
            "-qmp",
            f"unix:{sock}",
        )
        await client.accept()
        text = await client.execute("human-monitor-command", {"command-line": "help"})
        await client.execute("quit")
        await client.disconnect()
        await proc.wait()
        return len(str(text))


if __name__ == "__main__":
    print(asyncio.run(probe(sys.argv[1] if len(sys.argv) > 1 else "qemu-system-x86_64")))

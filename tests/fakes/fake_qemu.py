"""A stand-in for QEMU that fails on demand, for faults a real QEMU will not produce.

Usage: fake_qemu.py MODE [QEMU's arguments...]; it writes its PID to
$FAKE_QEMU_PIDFILE when that is set. Modes:
  hang      never connects
  exit      prints an error to stderr and exits 1 at once
  die-mid   connects, negotiates, then dies at the first command
  garbage   connects and answers `help` with text no parser can place
  bad-reply connects and answers `help` with a number instead of text
"""

import json
import os
import socket
import sys
import time


def messages(sock: socket.socket):  # type: ignore[no-untyped-def]
    """JSON objects as they arrive; QMP clients need not end them with a newline."""
    decoder = json.JSONDecoder()
    buffer = ""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return
        buffer += chunk.decode()
        while buffer.strip():
            try:
                obj, end = decoder.raw_decode(buffer.lstrip())
            except json.JSONDecodeError:
                break
            buffer = buffer.lstrip()[end:]
            yield obj


def serve(mode: str, args: list[str]) -> None:
    assert "socket,id=hmp-perms,fd=3" in args, args  # the monitor hmp-perms passes
    sock = socket.socket(fileno=3)

    def send(obj: object) -> None:
        sock.sendall(json.dumps(obj).encode() + b"\r\n")

    send(
        {
            "QMP": {
                "version": {"qemu": {"major": 7, "minor": 2, "micro": 0}, "package": ""},
                "capabilities": [],
            }
        }
    )
    for msg in messages(sock):
        reply_id = msg.get("id")
        if msg["execute"] == "qmp_capabilities":
            send({"return": {}, "id": reply_id})
            continue
        if mode == "die-mid":
            sys.stderr.write("fake qemu: dying mid-conversation\n")
            sys.stderr.flush()
            os._exit(3)
        if msg["execute"] == "human-monitor-command":
            text = "%%% this is not help output %%%\r\n" if mode == "garbage" else 42
            send({"return": text, "id": reply_id})
        else:
            send({"return": {}, "id": reply_id})


def main() -> None:
    mode, args = sys.argv[1], sys.argv[2:]
    pidfile = os.environ.get("FAKE_QEMU_PIDFILE")
    if pidfile:
        with open(pidfile, "w") as f:
            f.write(str(os.getpid()))
    if mode == "hang":
        time.sleep(600)
    elif mode == "exit":
        sys.stderr.write("fake qemu: -machine none: unsupported machine type\n")
        sys.exit(1)
    else:
        serve(mode, args)


if __name__ == "__main__":
    main()

"""A stand-in for QEMU that fails on demand, for faults a real QEMU will not produce.

Usage: fake_qemu.py MODE [QEMU's arguments...]; it talks QMP on descriptor 3,
as hmp-perms passes it, and writes its PID to $FAKE_QEMU_PIDFILE when that is
set. Modes:
  hang          never connects
  exit          prints an error to stderr and exits 1 at once
  fork-exit     starts a child that sleeps, then exits 1 at once
  fork-hang     starts a child that sleeps, then never connects
  flood         writes to stderr without end, never connects
  chatty        writes 1 MB to stderr, then answers sensibly
  die-mid       connects, negotiates, then dies at the first command
  garbage       connects and answers `help` with text no parser can place
  bad-reply     connects and answers `help` with a number instead of text
  bad-greeting  greets with a line that is not JSON
  huge-reply    answers `help` with a 5 MiB line
  replies       answers sensibly; query-version and query-target return the raw
                JSON in $FAKE_QEMU_VERSION and $FAKE_QEMU_TARGET when set
  signal-parent answers `help`, then sends its parent (hmp-perms) the signal
                named in $FAKE_QEMU_SIGNAL (SIGTERM when unset), and waits
  slow-quit     answers with a listing a QEMU could give; after `quit`, takes 1 s
                to exit, and creates $FAKE_QEMU_QUITFILE as it exits by itself
  no-quit       the same, but never exits after `quit`
"""

import json
import os
import signal
import socket
import sys
import time

HELP = "cont|c  -- resume emulation\r\ninfo [subcommand] -- show various information\r\n"
INFO = "info version  -- show the version of QEMU\r\n"
WHOLE_HELP = "help|? [cmd] -- show the help\r\n" + HELP + "quit|q  -- quit the emulator\r\n"


def messages(sock: socket.socket):  # type: ignore[no-untyped-def]
    """JSON objects as they arrive; QMP clients need not end them with a newline."""
    decoder = json.JSONDecoder()
    buffer = ""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:  # hmp-perms closed it with a reply unread: as EOF
            return
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

    if mode == "bad-greeting":
        sock.sendall(b"Welcome to the fake monitor!\r\n")
        time.sleep(600)
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
        command = msg["execute"]
        if command == "qmp_capabilities":
            send({"return": {}, "id": reply_id})
            continue
        if command == "quit" and mode in ("slow-quit", "no-quit"):
            send({"return": {}, "id": reply_id})
            time.sleep(1 if mode == "slow-quit" else 600)
            open(os.environ["FAKE_QEMU_QUITFILE"], "w").close()
            sys.exit(0)
        if mode == "die-mid":
            sys.stderr.write("fake qemu: dying mid-conversation\n")
            sys.stderr.flush()
            os._exit(3)
        raw = {
            "query-version": os.environ.get("FAKE_QEMU_VERSION"),
            "query-target": os.environ.get("FAKE_QEMU_TARGET"),
        }.get(command)
        if raw is not None:
            sock.sendall(
                b'{"return": %s, "id": %s}\r\n' % (raw.encode(), json.dumps(reply_id).encode())
            )
        elif command == "human-monitor-command":
            line = msg["arguments"]["command-line"]
            text: object = HELP if line == "help" else INFO
            if line == "help" and mode in ("slow-quit", "no-quit"):
                text = WHOLE_HELP
            if mode == "garbage":
                text = "%%% this is not help output %%%\r\n"
            elif mode == "bad-reply":
                text = 42
            elif mode == "huge-reply":
                text = "x" * (5 * 1024 * 1024)
            send({"return": text, "id": reply_id})
            if mode == "signal-parent":
                name = os.environ.get("FAKE_QEMU_SIGNAL", "SIGTERM")
                os.kill(os.getppid(), signal.Signals[name])
                time.sleep(600)
        elif command == "query-version":
            send(
                {
                    "return": {"qemu": {"major": 7, "minor": 2, "micro": 0}, "package": ""},
                    "id": reply_id,
                }
            )
        elif command == "query-target":
            send({"return": {"arch": "x86_64"}, "id": reply_id})
        else:
            send({"return": {}, "id": reply_id})


def main() -> None:
    mode, args = sys.argv[1], sys.argv[2:]
    pidfile = os.environ.get("FAKE_QEMU_PIDFILE")
    if pidfile:
        with open(pidfile, "w") as f:
            f.write(str(os.getpid()))
    if mode.startswith("fork-") and os.fork() == 0:
        time.sleep(600)  # a child in the stand-in's process group
        os._exit(0)
    if mode in ("hang", "fork-hang"):
        time.sleep(600)
    elif mode in ("exit", "fork-exit"):
        sys.stderr.write("fake qemu: -machine none: unsupported machine type\n")
        sys.exit(1)
    elif mode == "flood":
        while True:
            sys.stderr.write("fake qemu: warning: " + "x" * 4000 + "\n")
    elif mode == "chatty":
        for _ in range(250):
            sys.stderr.write("fake qemu: warning: " + "x" * 4000 + "\n")
        sys.stderr.flush()
        serve("replies", args)
    else:
        serve(mode, args)


if __name__ == "__main__":
    main()

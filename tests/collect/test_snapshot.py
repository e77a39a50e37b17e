"""Snapshot files and recorded builds: what their fields and listings may hold."""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import (
    BUILDS,
    Result,
    one_error,
)

OLD = BUILDS / "debian-7.2.22-x86_64.json"
ESCAPES = {
    "title": "\x1b]0;owned\x07",
    "clear screen": "\x1b[2J",
    "cursor up, erase line": "\x1b[1A\x1b[2K",
    "bidi override": "\u202e",
    # these passed the load check and reached generated/*.pm, .py and .md
    "arabic letter mark": "\u061c",
    "shaping control": "\u206e",
    "tag characters": "\U000e0041\U000e0042",
}


def _with_help_line(line: str) -> dict[str, object]:
    doc = json.loads(OLD.read_text())
    doc["help"] = [*doc["help"], line]
    return doc


@pytest.mark.parametrize("escape", ESCAPES.values(), ids=ESCAPES.keys())
def test_a_snapshot_whose_help_holds_an_escape_is_refused(
    escape: str, tmp_path: Path, cli: Callable[..., Result]
) -> None:
    snap = tmp_path / "snap.json"
    doc = _with_help_line(f"zz_new  -- looks harmless{escape}")
    snap.write_text(json.dumps(doc))
    number = len(doc["help"])  # type: ignore[arg-type]
    result = cli("check", "--snapshot", snap)
    assert (result.status, result.out) == (2, "")
    assert result.err.startswith(f"hmp-perms: {snap}: help:{number}: holds the control character")
    assert not any(c in result.err for c in escape if not c.isprintable())


def test_a_record_whose_help_holds_an_escape_is_refused(
    tmp_path: Path, cli: Callable[..., Result]
) -> None:
    """The baseline is read from the records: its text is refused like a snapshot's."""
    builds = tmp_path / "builds"
    builds.mkdir()
    (builds / OLD.name).write_text(json.dumps(_with_help_line("zz_new  -- \x1b[2J")))
    result = cli("check", "--snapshot", OLD, "--builds", builds)
    assert (result.status, result.out) == (2, "")
    assert "holds the control character U+001B" in result.err
    assert str(builds / OLD.name) in result.err and "\x1b" not in result.err


@pytest.fixture
def fake_peer(tmp_path: Path) -> Iterator[Path]:
    """A QMP peer on a UNIX socket whose `help` holds an escape sequence: a fault no
    real QEMU produces on demand (a compromised or patched one might)."""
    path = tmp_path / "qmp.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    replies = {
        "qmp_capabilities": {},
        "query-version": {"qemu": {"major": 7, "minor": 2, "micro": 22}, "package": ""},
        "query-target": {"arch": "x86_64"},
    }

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            conn.sendall(b'{"QMP": {"version": {}, "capabilities": []}}\r\n')
            decoder, buffer = json.JSONDecoder(), ""
            while chunk := conn.recv(65536):  # QMP clients need not end a message with a newline
                buffer += chunk.decode()
                while buffer.strip():
                    try:
                        msg, end = decoder.raw_decode(buffer.lstrip())
                    except ValueError:
                        break
                    buffer = buffer.lstrip()[end:]
                    if msg["execute"] == "human-monitor-command":
                        reply: object = "cont|c  -- resume\r\ninfo  -- \x1b]0;owned\x07\r\n"
                    else:
                        reply = replies[msg["execute"]]
                    answer = {"return": reply, "id": msg.get("id")}
                    conn.sendall(json.dumps(answer).encode() + b"\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield path
    server.close()
    thread.join(5)


def test_a_fake_peer_whose_help_holds_an_escape_is_refused(
    fake_peer: Path, cli: Callable[..., Result]
) -> None:
    result = cli("check", "--connect", fake_peer, "--timeout", "10")
    assert (result.status, result.out) == (2, "")
    assert result.err.startswith(f"hmp-perms: {fake_peer}: help:2: holds the control character")
    assert "\x1b" not in result.err and len(result.err.splitlines()) == 1
    assert os.path.exists(fake_peer)


# -- snapshots -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            '{"format": 2, "binary": "q", "package": "", "target": "x86_64", "version": 7}',
            "'version' must be a string or null",
        ),
        ("[1, 2]", ":1: not a snapshot (a JSON object is expected)"),
        ("[" * 100_000 + "]" * 100_000, ":1: invalid JSON: maximum recursion depth exceeded"),
        ('{"format": ' + "9" * 5000 + "}", ":1: invalid JSON: Exceeds the limit (4300 digits)"),
        ('{\n"format": 2,\n"binary": x}', ":3: invalid JSON: Expecting value"),
        (
            '{"format": 2, "binary": "\\ud800", "variant": "qemu-system-x86_64", "package": "",'
            ' "target": "x86_64", "version": null, "help": ["cont  -- resume"]}',
            "binary holds the control character U+D800",
        ),
        (
            '{"format": 2, "binary": "q", "variant": "qemu-system-x86_64", "package": "",'
            ' "target": "x86_64", "version": null, "help": "cont"}',
            "not a snapshot: 'help' must be a list of lines",
        ),
    ],
)
def test_hostile_snapshot(
    tmp_path: Path, cli: Callable[..., Result], content: str, message: str
) -> None:
    path = tmp_path / "snap.json"
    path.write_text(content)
    for args in (("check", "--snapshot", path), ("diff", path, OLD)):
        one_error(cli(*args), message)

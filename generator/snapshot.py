"""Snapshots on disk: the JSON that ``collect -o`` writes, and saved help text.

Entry points: `snapshot_to_json`, `load_snapshot`, `snapshot_from_text`.

A snapshot keeps the raw text it was parsed from; loading one parses that text
again, so a snapshot written by an older parser is read by the current one.
"""

from __future__ import annotations

import json
from typing import Any

from generator.errors import HmpPermsError
from generator.helptext import parse_help
from generator.model import HelpEntry, Snapshot, Version
from generator.writer import read_json, read_text

FORMAT = 1


def _entry_json(e: HelpEntry) -> dict[str, Any]:
    return {"name": e.name, "aliases": list(e.aliases), "params": e.params, "help": e.help}


def snapshot_to_json(snap: Snapshot) -> str:
    doc = {
        "format": FORMAT,
        "binary": snap.binary,
        "version": str(snap.version) if snap.version else None,
        "package": snap.package,
        "target": snap.target,
        "commands": [_entry_json(e) for e in snap.commands],
        "info": [_entry_json(e) for e in snap.info],
        "raw": {"help": snap.raw_help, "info": snap.raw_info},
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def load_snapshot(path: str) -> Snapshot:
    doc = read_json(path)
    if not isinstance(doc, dict):
        raise HmpPermsError(f"{path}:1: not a snapshot (a JSON object is expected)")
    try:
        if doc["format"] != FORMAT:
            raise HmpPermsError(f"{path}: snapshot format {doc['format']!r} is not {FORMAT}")
        if doc["version"] is not None and not isinstance(doc["version"], str):
            raise TypeError(f"'version' {doc['version']!r} is not a string")
        version = Version.parse(doc["version"]) if doc["version"] else None
        raw_help, raw_info = str(doc["raw"]["help"]), str(doc["raw"]["info"])
        binary, package, target = str(doc["binary"]), str(doc["package"]), str(doc["target"])
    except (KeyError, TypeError, ValueError) as exc:
        raise HmpPermsError(f"{path}: not a snapshot: missing or bad field {exc}") from None
    return Snapshot(
        binary=binary,
        version=version,
        package=package,
        target=target,
        commands=parse_help(raw_help, f"{path}: raw help"),
        info=parse_help(raw_info, f"{path}: raw info", prefix="info "),
        raw_help=raw_help,
        raw_info=raw_info,
        source=path,
    )


def snapshot_from_text(
    help_path: str,
    info_path: str | None = None,
    version: str | None = None,
    target: str = "x86_64",
    package: str = "",
) -> Snapshot:
    """A snapshot from ``help`` (and ``info``) output saved elsewhere, e.g. by ``qm monitor``."""

    try:
        parsed_version = Version.parse(version) if version else None
    except ValueError as exc:
        raise HmpPermsError(f"--qemu-version: {exc}") from None
    raw_help = read_text(help_path).replace("\r\n", "\n")
    raw_info = read_text(info_path).replace("\r\n", "\n") if info_path else ""
    return Snapshot(
        binary=help_path,
        version=parsed_version,
        package=package,
        target=target,
        commands=parse_help(raw_help, help_path),
        info=parse_help(raw_info, info_path, prefix="info ") if info_path else (),
        raw_help=raw_help,
        raw_info=raw_info,
        source=help_path,
    )

"""Snapshots on disk: the JSON that ``collect -o`` and recorded builds hold, and saved text.

Entry points: `snapshot_to_json`, `load_snapshot`, `snapshot_from_text`,
`validate_snapshot`.

A snapshot holds what QEMU printed, line by line, and what identifies the
build (binary, variant, version, package string, target); the parsed commands
are derived from that text on every load, so a file written by an older
parser is read by the current one, and a diff of two files shows exactly the
lines QEMU printed differently.
"""

from __future__ import annotations

import json
import re
from typing import Any

from generator.collect.helptext import parse_help
from generator.core.errors import HmpPermsError
from generator.core.files import read_json, read_text
from generator.core.model import Snapshot, Version, packages_with, variant_agrees
from generator.core.text import describe_char, unprintable

FORMAT = 2
#: Commands every QEMU's monitor has; a listing without them is not a real one.
CORE_COMMANDS = ("help", "info", "quit")
TARGET_RE = re.compile(r"[a-z][a-z0-9_]*")
VARIANT_RE = re.compile(r"qemu-system-[A-Za-z0-9_.-]+")
MAX_FIELD = 4096


def _lines(text: str) -> list[str]:
    """Listing text as the list of its lines (LF ends, final newline implied)."""
    return text.removesuffix("\n").split("\n") if text else []


def _text(lines: list[str]) -> str:
    return "\n".join(lines) + "\n" if lines else ""


def snapshot_to_json(snap: Snapshot) -> str:
    doc = {
        "format": FORMAT,
        "binary": snap.binary,
        "variant": snap.variant,
        "version": str(snap.version) if snap.version else None,
        "package": snap.package,
        **({"packages": list(snap.packages)} if len(snap.packages) > 1 else {}),
        "target": snap.target,
        "help": _lines(snap.raw_help),
        "info": _lines(snap.raw_info) if snap.raw_info else None,
    }
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


def _field(path: str, doc: dict[str, Any], key: str) -> str:
    """A string field; what it may hold `validate_snapshot` checks, once."""
    value = doc.get(key)
    if not isinstance(value, str):
        raise HmpPermsError(f"{path}: not a snapshot: {key!r} must be a string, not {value!r:.40}")
    return value


def _check_field(where: str, key: str, value: str, pattern: re.Pattern[str] | None) -> None:
    bad = unprintable(value)
    if bad:
        raise HmpPermsError(
            f"{where}: {key} holds the control character {describe_char(bad[0])}: {value[:40]!r}"
        )
    if len(value) > MAX_FIELD:
        raise HmpPermsError(f"{where}: {key} is {len(value)} characters long")
    if pattern is not None and not pattern.fullmatch(value):
        raise HmpPermsError(f"{where}: {key} {value!r:.60} is not a {key} QEMU could report")


def _listing(path: str, doc: dict[str, Any], key: str) -> str | None:
    value = doc.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not set(map(type, value)) <= {str}:
        raise HmpPermsError(f"{path}: not a snapshot: {key!r} must be a list of lines")
    text = _text(value)
    if text.count("\n") != len(value):  # a line that holds a line break: say which
        number = next(n for n, line in enumerate(value, 1) if "\n" in line)
        raise HmpPermsError(f"{path}: {key} line {number} holds a line break")
    return text  # what else a line may hold, `parse_help` decides


def load_snapshot(path: str) -> Snapshot:
    """The snapshot file `path`, every field checked and both listings parsed."""
    doc = read_json(path)
    if not isinstance(doc, dict):
        raise HmpPermsError(f"{path}:1: not a snapshot (a JSON object is expected)")
    fmt = doc.get("format")
    if type(fmt) is not int or fmt != FORMAT:
        raise HmpPermsError(
            f"{path}: snapshot format {fmt!r:.20} is not one this version reads ({FORMAT})"
        )
    binary = _field(path, doc, "binary")
    package = _field(path, doc, "package")
    target = _field(path, doc, "target")
    version_text = doc.get("version")
    if version_text is None:
        version = None
    else:
        if not isinstance(version_text, str):
            raise HmpPermsError(f"{path}: not a snapshot: 'version' must be a string or null")
        try:
            version = Version.parse(version_text)
        except ValueError as exc:
            raise HmpPermsError(f"{path}: version: {exc}") from None
    variant = _field(path, doc, "variant")
    packages = doc.get("packages", [package])
    if not isinstance(packages, list) or not all(isinstance(p, str) for p in packages):
        raise HmpPermsError(f"{path}: not a snapshot: 'packages' must be a list of strings")
    raw_help = _listing(path, doc, "help")
    if raw_help is None:
        raise HmpPermsError(f"{path}: not a snapshot: 'help' is missing")
    raw_info = _listing(path, doc, "info")
    snap = Snapshot(
        binary=binary,
        version=version,
        package=package,
        target=target,
        commands=parse_help(raw_help, f"{path}: help"),
        info=parse_help(raw_info, f"{path}: info", prefix="info ") if raw_info else (),
        raw_help=raw_help,
        raw_info=raw_info or "",
        variant=variant,
        packages=packages_with(package, packages),
        source=path,
    )
    if raw_info is not None and not raw_info:
        raise HmpPermsError(f"{path}: the info listing is empty")
    validate_snapshot(snap)
    return snap


def validate_snapshot(snap: Snapshot) -> None:
    """Refuse a snapshot no real QEMU could have produced, before anything reports on it.

    Its fields reach terminals, Markdown tables and CI annotations, so they are
    printable single lines; and a listing without `help`, `info` and `quit` is
    an empty or truncated answer, never a clean result.
    """
    where = snap.source or snap.binary
    _check_field(where, "binary", snap.binary, None)
    _check_field(where, "package", snap.package, None)
    for other in snap.packages:
        _check_field(where, "packages", other, None)
    _check_field(where, "target", snap.target, TARGET_RE)
    _check_field(where, "variant", snap.variant, VARIANT_RE)
    if not variant_agrees(snap.variant, snap.target):
        raise HmpPermsError(
            f"{where}: binary {snap.variant} cannot be a build of target {snap.target}:"
            f" it is qemu-system-{snap.target}, or that with a byte-order suffix (el, eb, le)"
            " and a machine (-microvm)"
        )
    names = {e.name for e in snap.commands}  # aliases only where a name is not there
    missing = [
        c
        for c in CORE_COMMANDS
        if c not in names and not any(c in e.aliases for e in snap.commands)
    ]
    if missing:
        what = "is empty" if not snap.commands else f"lacks {', '.join(missing)}"
        raise HmpPermsError(
            f"{where}: the help listing {what}: not the answer of a working QEMU"
            f" (every QEMU lists {', '.join(CORE_COMMANDS)})"
        )
    if snap.source == "live" and not snap.info:
        raise HmpPermsError(f"{where}: the info listing is empty")


def snapshot_from_text(
    help_path: str,
    info_path: str | None = None,
    version: str | None = None,
    target: str = "x86_64",
    package: str = "",
    variant: str = "",
) -> Snapshot:
    """A snapshot from ``help`` (and ``info``) output saved elsewhere, e.g. by ``qm monitor``."""

    try:
        parsed_version = Version.parse(version) if version else None
    except ValueError as exc:
        raise HmpPermsError(f"--qemu-version: {exc}") from None
    if not TARGET_RE.fullmatch(target):
        raise HmpPermsError(f"--target: {target!r} is not a QEMU target name")
    if variant and not VARIANT_RE.fullmatch(variant):
        raise HmpPermsError(f"--variant: {variant!r} is not a qemu-system-* binary name")

    def saved(path: str) -> str:
        # An editor may have added a byte-order mark; QMP never sends one.
        return read_text(path).removeprefix("\ufeff").replace("\r\n", "\n")

    raw_help = saved(help_path)
    raw_info = saved(info_path) if info_path else ""
    if info_path and not raw_info.strip():
        raise HmpPermsError(f"{info_path}: the info listing is empty")
    snap = Snapshot(
        binary=help_path,
        version=parsed_version,
        package=package,
        target=target,
        commands=parse_help(raw_help, help_path),
        info=parse_help(raw_info, info_path, prefix="info ") if info_path else (),
        raw_help=raw_help,
        raw_info=raw_info,
        variant=variant or f"qemu-system-{target}",
        packages=packages_with(package),
        source=help_path,
    )
    validate_snapshot(snap)
    return snap

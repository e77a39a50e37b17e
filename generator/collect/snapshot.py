"""Snapshot files (``collect -o``, the records) and saved text. A snapshot keeps QEMU's
lines as printed, parsed on every load: a later parser reads an old file, and a diff of
two files shows exactly the lines QEMU printed differently."""

from __future__ import annotations

import json
import re
from typing import Any

from generator.collect.helptext import parse_help
from generator.core.errors import HmpPermsError
from generator.core.files import read_json, read_text
from generator.core.model import Snapshot, Version
from generator.core.text import describe_char, unprintable

FORMAT = 2
CORE_COMMANDS = ("help", "info", "quit")  # a listing without them is not a real one
TARGET_RE = re.compile(r"[a-z][a-z0-9_]*")
VARIANT_RE = re.compile(r"qemu-system-[A-Za-z0-9_.-]+")
#: What a binary's name may add to its target: a byte order (`mips64el`), a machine.
_VARIANT_SUFFIX = re.compile(r"(?:el|eb|le)?(?:-[a-z0-9]+)?")
MAX_FIELD = 4096


def snapshot_to_json(snap: Snapshot) -> str:
    doc = {
        "format": FORMAT,
        "binary": snap.binary,
        "variant": snap.variant,
        "version": str(snap.version) if snap.version else None,
        "package": snap.package,
        **({"packages": list(snap.packages)} if len(snap.packages) > 1 else {}),
        "target": snap.target,
        "help": snap.raw_help.splitlines(),  # a parsed listing breaks lines only at \n
        "info": snap.raw_info.splitlines() or None,
    }
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


def _field(path: str, doc: dict[str, Any], key: str, kind: type, what: str) -> Any:
    """`doc[key]` if it is a `kind` (a list: of strings), or None where `what` allows null."""
    value = doc.get(key)
    if value is None and what.endswith("or null"):
        return None
    strings = not isinstance(value, list) or all(isinstance(v, str) for v in value)
    if not isinstance(value, kind) or not strings:
        raise HmpPermsError(f"{path}: not a snapshot: {key!r} must be {what}")
    return value


def load_snapshot(path: str) -> Snapshot:
    """The snapshot file `path`, its fields checked and both listings parsed."""
    doc = read_json(path)
    if not isinstance(doc, dict):
        raise HmpPermsError(f"{path}:1: not a snapshot (a JSON object is expected)")
    fmt = doc.get("format")
    if type(fmt) is not int or fmt != FORMAT:
        raise HmpPermsError(
            f"{path}: snapshot format {fmt!r:.20} is not one this version reads ({FORMAT})"
        )
    version = _field(path, doc, "version", str, "a string or null")
    binary, package, target, variant = (
        _field(path, doc, key, str, "a string")
        for key in ("binary", "package", "target", "variant")
    )
    doc.setdefault("packages", [package])
    packages = _field(path, doc, "packages", list, "a list of strings")
    help_lines = _field(path, doc, "help", list, "a list of lines")
    info_lines = _field(path, doc, "info", list, "a list of lines or null")
    if info_lines == []:
        raise HmpPermsError(f"{path}: the info listing is empty")
    try:
        parsed = Version.parse(version) if version is not None else None
    except ValueError as exc:
        raise HmpPermsError(f"{path}: version: {exc}") from None
    raw_help = "".join(line + "\n" for line in help_lines)
    raw_info = "".join(line + "\n" for line in info_lines or ())
    snap = Snapshot(
        binary=binary,
        version=parsed,
        package=package,
        target=target,
        commands=parse_help(raw_help, f"{path}: help"),
        info=parse_help(raw_info, f"{path}: info", prefix="info ") if raw_info else (),
        raw_help=raw_help,
        raw_info=raw_info,
        variant=variant,
        packages=tuple(sorted({package, *packages})),
        source=path,
    )
    validate_snapshot(snap)
    return snap


def variant_agrees(variant: str, target: str) -> bool:
    """Whether binary `variant` can be a build of `target` (not ``x86``)."""
    base = "qemu-system-" + target
    return variant.startswith(base) and _VARIANT_SUFFIX.fullmatch(variant[len(base) :]) is not None


def validate_snapshot(snap: Snapshot) -> None:
    """Refuse a snapshot no real QEMU could have produced: its fields reach terminals and
    CI pages, and a listing without `CORE_COMMANDS` is an empty or truncated answer."""
    where = snap.binary if snap.source in ("", "live") else snap.source
    fields = [("binary", snap.binary), ("package", snap.package)]
    fields += [("packages", p) for p in snap.packages]
    fields += [("target", snap.target), ("variant", snap.variant)]
    for key, value in fields:
        bad = unprintable(value)
        if bad:
            raise HmpPermsError(
                f"{where}: {key} holds the control character {describe_char(bad[0])}:"
                f" {value[:40]!r}"
            )
        if len(value) > MAX_FIELD:
            raise HmpPermsError(f"{where}: {key} is {len(value)} characters long")
        pattern = {"target": TARGET_RE, "variant": VARIANT_RE}.get(key)
        if pattern and not pattern.fullmatch(value):
            raise HmpPermsError(f"{where}: {key} {value!r:.60} is not a {key} QEMU could report")
    if not variant_agrees(snap.variant, snap.target):
        raise HmpPermsError(
            f"{where}: binary {snap.variant} cannot be a build of target {snap.target}:"
            f" it is qemu-system-{snap.target}, or that with a byte-order suffix (el, eb, le)"
            " and a machine (-microvm)"
        )
    names = {n for e in snap.commands for n in (e.name, *e.aliases)}
    missing = [c for c in CORE_COMMANDS if c not in names]
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

    def saved(path: str) -> str:  # an editor may have added a byte-order mark; QMP never does
        return read_text(path).removeprefix("\ufeff").replace("\r\n", "\n")

    raw_help, raw_info = saved(help_path), saved(info_path) if info_path else ""
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
        packages=(package,),
        source=help_path,
    )
    validate_snapshot(snap)
    return snap

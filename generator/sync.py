"""Sync stage: bring the table's recorded commands up to date with QEMU.

Entry point: `sync_table`. Adds a stub for each command or info subcommand
QEMU has and the table lacks (with a `todo`, so `lint` and `check` fail until a
person chooses its level), refreshes recorded params and help, never removes
an entry. Uses ruamel.yaml's round-trip mode, so comments and the order and
bytes of untouched entries survive.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError

from generator.compare import expectation
from generator.errors import HmpPermsError
from generator.model import HelpEntry, Snapshot, fold_space
from generator.table import check_text, load_table
from generator.writer import read_text, write_atomic


def round_trip_yaml() -> YAML:
    """The one ruamel configuration that rewrites the table without reformatting it."""
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    return yaml


def sync_table(path: str, snapshots: Sequence[Snapshot], write: bool) -> tuple[list[str], bool]:
    """What changed (one line each) and whether the table was rewritten."""
    yaml = round_trip_yaml()
    text = read_text(path)
    check_text(path, text)  # nothing deep or odd reaches the recursive composer
    try:
        doc: Any = yaml.load(text)
    except YAMLError as exc:
        raise HmpPermsError(f"{path}: invalid YAML; run `hmp-perms lint` ({exc})") from None
    if not isinstance(doc, CommentedMap):
        raise HmpPermsError(f"{path}:1: the table must be a mapping at the top")
    changes: list[str] = []
    newest = sorted(snapshots, key=lambda s: (s.version is not None, s.version), reverse=True)
    for key, prefix, pick in (("commands", "", _commands), ("info", "info ", _info)):
        section = doc.get(key)
        if section is None:
            section = doc[key] = CommentedMap()
        if not isinstance(section, CommentedMap):
            raise HmpPermsError(f"{path}: '{key}' must be a mapping; run `hmp-perms lint`")
        present: dict[str, tuple[HelpEntry, Snapshot]] = {}
        for snap in newest:
            for e in pick(snap):
                present.setdefault(e.name, (e, snap))
        aliases = {
            a for v in section.values() if isinstance(v, dict) for a in v.get("aliases") or ()
        }
        for name, (qemu, snap) in sorted(present.items()):
            if name in aliases:
                continue  # `check` reports the alias mismatch; a person decides
            entry = section.get(name)
            if entry is None:
                stub = CommentedMap()
                stub["params"] = fold_space(qemu.params)
                stub["help"] = fold_space(qemu.help)
                stub["todo"] = (
                    f"new in {snap.label}: choose a permission, write a rationale, remove this line"
                )
                section.insert(_sorted_position(section, name), name, stub)
                changes.append(f"+ {prefix}{name}: added a stub ({fold_space(qemu.help)})")
                continue
            if not isinstance(entry, CommentedMap):
                raise HmpPermsError(
                    f"{path}: {prefix}{name} must be a mapping; run `hmp-perms lint`"
                )
            for part in ("params", "help"):
                actual = fold_space(getattr(qemu, part))
                recorded = entry.get(part)
                if recorded is None or fold_space(str(recorded)) != actual:
                    entry[part] = actual
                    changes.append(f"~ {prefix}{name}: {part} {recorded!r} -> {actual!r}")
        gone = [name for name in section if name not in present and name not in aliases]
        changes += _gone(path, prefix, gone, snapshots)
    written = False
    if write and any(not line.startswith("?") for line in changes):
        out = io.StringIO()
        yaml.dump(doc, out)
        written = write_atomic(path, out.getvalue())
    return changes, written


def _commands(snap: Snapshot) -> tuple[HelpEntry, ...]:
    return snap.commands


def _info(snap: Snapshot) -> tuple[HelpEntry, ...]:
    return snap.info if snap.raw_info else ()


def _sorted_position(section: CommentedMap, name: str) -> int:
    """Where `name` goes among keys kept in code-point order."""
    for i, key in enumerate(section):
        if str(key) > name:
            return i
    return len(section)


def _gone(path: str, prefix: str, names: list[str], snapshots: Sequence[Snapshot]) -> list[str]:
    """Entries no binary has: kept, each with the table's own explanation when it has one."""
    if not names:
        return []
    try:
        table = load_table(path)
    except HmpPermsError:
        table = None  # stubs awaiting a level; explain without it
    lines = []
    entries = (table.info if prefix else table.commands) if table else {}
    for name in names:
        reasons = []
        for snap in snapshots:
            entry = entries.get(name)
            why = expectation(entry, snap, table)[1] if entry and table else ""
            reasons.append(f"{snap.label}: {why or 'not listed'}")
        lines.append(f"? {prefix}{name}: kept, not in any binary checked ({'; '.join(reasons)})")
    return lines

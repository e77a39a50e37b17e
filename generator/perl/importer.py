"""Perl import stage: the module `reader` reads, checked and written as a table in its
order (docs/table.md). Entry point: `import_perl`."""

from __future__ import annotations

import io
import re
from collections.abc import Collection, Mapping
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from generator.core.errors import HmpPermsError, Location
from generator.core.model import is_command_name
from generator.core.text import one_line
from generator.perl.reader import Entry, read_module

#: QEMU's short forms (hmp-commands.hx), folded into their commands.
KNOWN_ALIASES = {"?": "help", "c": "cont", "p": "print", "q": "quit", "s": "stop"}
ALIAS_HELP = re.compile(r"(?:short-form of|alias for) '([A-Za-z0-9_?-]+)'")
LEVEL_NAME = re.compile(r"[A-Za-z0-9_.-]+")  # the table loader's rule
#: Proxmox's levels, least to most privileged: others go between Sys.Modify and root,
#: in file order (fail closed: the most privileged level comes last).
LEVEL_ORDER = {"none": 0, "Sys.Modify": 1, "root": 3}
#: A rationale written as "root-only: ...", naming the level it argues for.
ARGUES_FOR = re.compile(r"([\w.]+)-only\b")
TODO = "imported without a comment above it: write a rationale, remove this line"


def import_perl(
    path: str,
    text: str,
    curated: Mapping[str, tuple[str, str]],
    recorded: Collection[str],
    vendor: tuple[str, str] | None = None,
) -> tuple[str, list[str]]:
    """The table as YAML text, and notes for the user. `curated`: a name's level and
    rationale in the curated table; `recorded`: every name a recorded build has;
    `vendor` (name, package pattern) marks the names no build has."""
    module = read_module(path, text)
    entries, notes = list(module.perms), list[str]()
    _check(path, entries)
    doc = CommentedMap(schema=2)
    levels = sorted(dict.fromkeys(e.value for e in entries), key=lambda lv: LEVEL_ORDER.get(lv, 2))
    doc["levels"] = CommentedMap((lv, CommentedMap()) for lv in levels)
    doc["default"] = levels[-1]
    if vendor:
        doc["vendors"] = CommentedMap({vendor[0]: CommentedMap(package=vendor[1])})
    if "$hmp_info_perms" not in text:  # no per-subcommand levels: `info` judges them all
        doc["info-subcommands"] = "inherit"
    commands = doc["commands"] = CommentedMap()
    aliases = _aliases(path, entries, notes)
    borrowed, unrecorded = [], []
    for e in entries:
        if e.key in aliases:
            continue
        names = [e.key, *sorted(a for a, owner in aliases.items() if owner == e.key)]
        item = commands[e.key] = CommentedMap(permission=e.value)
        if len(names) > 1:
            item["aliases"] = CommentedSeq(names[1:])
            item["aliases"].fa.set_flow_style()
        if e.key not in recorded:
            unrecorded.append(e.key)
            if vendor:
                item["vendor"] = vendor[0]
        marked = [n for n in names if n in module.deprecated]
        if marked:
            since = module.deprecated[marked[0]]
            item["deprecated"] = CommentedMap(since=since) if since else CommentedMap()
            item["deprecated"].fa.set_flow_style()
        rationale = one_line(" ".join(e.above))
        if rationale and (m := ARGUES_FOR.match(rationale)) and m[1] != e.value:
            notes.append(
                f"{path}:{e.line}: the comment above {e.key!r} says {m[0]}, its level is"
                f" {e.value!r}: kept as its rationale; review which one is meant"
            )
        if not rationale and curated.get(e.key, ("", ""))[0] == e.value:
            item["rationale"], item["borrowed"] = curated[e.key][1], True
            borrowed.append(e.key)
        else:
            item["rationale" if rationale else "todo"] = rationale or TODO
        if e.after:
            item["note"] = one_line(e.after)
    for name in module.deprecated:
        if name not in commands and name not in aliases:
            notes.append(
                f"{path}:{module.sentence_line}: {name!r} is named deprecated but is not in"
                " the hash: not imported"
            )
    if borrowed:
        notes.append(
            f"{path}: no comment above {', '.join(borrowed)}: each takes the curated table's"
            " rationale for the same level"
        )
    if unrecorded:
        marked_as = f": marked as vendor {vendor[0]}'s" if vendor else " (--vendor NAME marks them)"
        notes.append(f"{path}: no recorded build has {', '.join(unrecorded)}{marked_as}")
    out = io.StringIO()
    out.write(
        f"# Imported from {Path(path).name} by hmp-perms import-perl; review every rationale.\n"
    )
    yaml = YAML()
    yaml.width = 4096
    yaml.dump(doc, out)
    return out.getvalue(), notes


def _check(path: str, entries: list[Entry]) -> None:
    if not entries:
        raise HmpPermsError(f"{path}: the permission hash is empty")
    seen: dict[str, int] = {}
    for e in entries:
        where = Location(path, e.line)
        if not is_command_name(e.key):
            raise HmpPermsError(f"{e.key[:60]!r} is not a QEMU command name", where)
        if not LEVEL_NAME.fullmatch(e.value):
            raise HmpPermsError(f"level {e.value[:60]!r} of {e.key!r} is not a plain name", where)
        if e.key in seen:
            raise HmpPermsError(f"{e.key!r} is listed twice (first on line {seen[e.key]})", where)
        seen[e.key] = e.line


def _aliases(path: str, entries: list[Entry], notes: list[str]) -> dict[str, str]:
    """Alias -> its command, for the short forms at their command's level."""
    by_name = {e.key: e for e in entries}
    found = {}
    for e in entries:
        m = ALIAS_HELP.search(e.after)
        target = m[1] if m and m[1] != e.key else KNOWN_ALIASES.get(e.key)
        if target is None or target not in by_name or target in found:
            continue
        if by_name[target].value != e.value:
            notes.append(
                f"{path}:{e.line}: {e.key!r} looks like an alias of {target!r} but has level"
                f" {e.value!r}, not {by_name[target].value!r}: kept as an entry of its own"
            )
            continue
        found[e.key] = target
    return found

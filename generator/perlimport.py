"""Import stage: a Perl permission hash (Proxmox's ``HMPPerms`` style) as a table.

Entry point: `import_perl`. Reads lines of the form ``name => 'level', # help``
inside ``our $hmp_command_perms = { ... };``, with ``# reason`` comment lines
above an entry. Refuses any line it cannot read, naming it, rather than guess.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from generator.errors import HmpPermsError, SourceInfo
from generator.model import is_command_name
from generator.writer import read_text

HASH_START = re.compile(r"^\s*our\s+\$(\w+)\s*=\s*\{\s*$")
HASH_END = re.compile(r"^\s*\}\s*;\s*$")
ENTRY = re.compile(
    r"""^\s*(?:'(?P<q>[^'\\]*)'|(?P<b>[A-Za-z_][A-Za-z0-9_]*))\s*=>\s*
        '(?P<level>[^'\\]*)'\s*,?\s*(?:\#\s?(?P<help>.*))?$""",
    re.X,
)
COMMENT = re.compile(r"^\s*#\s?(?P<text>.*)$")
#: QEMU's short forms (hmp-commands.hx), folded into their commands.
KNOWN_ALIASES = {"?": "help", "c": "cont", "p": "print", "q": "quit", "s": "stop"}
ALIAS_HELP = re.compile(r"(?:short-form of|alias for) '([A-Za-z0-9_?-]+)'")
#: Proxmox's levels, least to most privileged; others follow in file order.
KNOWN_LEVELS = ("none", "Sys.Modify", "root")


@dataclass
class _Perm:
    name: str
    level: str
    help: str
    reason: str
    line: int
    aliases: list[str] = field(default_factory=list)


def import_perl(path: str) -> tuple[str, list[str]]:
    """The table as YAML text, and notes for the user (aliases not folded, ...)."""
    perms = _parse(path, read_text(path))
    notes: list[str] = []
    by_name = {p.name: p for p in perms}
    for p in list(perms):
        target = KNOWN_ALIASES.get(p.name)
        m = ALIAS_HELP.search(p.help)
        if m and m[1] != p.name:
            target = m[1]
        if target is None or target not in by_name:
            continue
        owner = by_name[target]
        if owner.level != p.level:
            notes.append(
                f"{path}:{p.line}: {p.name!r} looks like an alias of {target!r} but has level"
                f" {p.level!r}, not {owner.level!r}: kept as an entry of its own"
            )
            continue
        owner.aliases.append(p.name)
        perms.remove(p)
    return _dump(path, perms), notes


def _parse(path: str, text: str) -> list[_Perm]:
    perms: list[_Perm] = []
    seen: dict[str, int] = {}
    inside = False
    found = False
    reason: list[str] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not inside:
            if HASH_START.match(line):
                inside = found = True
            continue
        if HASH_END.match(line):
            inside = False
            continue
        if not line.strip():
            reason = []
            continue
        m = COMMENT.match(line)
        if m:
            reason.append(m["text"].strip())
            continue
        m = ENTRY.match(line)
        if m is None:
            raise HmpPermsError(
                f"cannot read this line of the permission hash: {line.strip()[:60]!r}",
                SourceInfo(path, lineno),
            )
        name = m["q"] if m["q"] is not None else m["b"]
        if not is_command_name(name):
            raise HmpPermsError(f"{name!r} is not a QEMU command name", SourceInfo(path, lineno))
        if name in seen:
            raise HmpPermsError(
                f"{name!r} is listed twice (first on line {seen[name]})", SourceInfo(path, lineno)
            )
        seen[name] = lineno
        perms.append(_Perm(name, m["level"], (m["help"] or "").strip(), " ".join(reason), lineno))
        reason = []
    if not found:
        raise HmpPermsError(f"{path}: no 'our $hash = {{' permission hash found")
    if inside:
        raise HmpPermsError(f"{path}: the permission hash is not closed with '}};'")
    if not perms:
        raise HmpPermsError(f"{path}: the permission hash is empty")
    return perms


def _dump(path: str, perms: list[_Perm]) -> str:
    levels = [lv for lv in KNOWN_LEVELS if any(p.level == lv for p in perms)]
    for p in perms:
        if p.level not in levels:
            levels.append(p.level)
    if "root" in levels:  # fail closed: the most privileged level comes last
        levels.remove("root")
        levels.append("root")
    doc = CommentedMap()
    doc["schema"] = 2
    doc["levels"] = CommentedMap((lv, CommentedMap()) for lv in levels)
    doc["default"] = levels[-1]
    commands = CommentedMap()
    source = Path(path).name
    for p in sorted(perms, key=lambda p: p.name):
        entry = CommentedMap()
        entry["permission"] = p.level
        if p.aliases:
            seq = CommentedSeq(sorted(p.aliases))
            seq.fa.set_flow_style()
            entry["aliases"] = seq
        entry["rationale"] = p.reason or f"no reason given in {source}; review this level"
        commands[p.name] = entry
    doc["commands"] = commands
    out = io.StringIO()
    yaml = YAML()
    yaml.width = 4096
    yaml.dump(doc, out)
    return (
        f"# Imported from {source} by hmp-perms import-perl; review every rationale.\n"
        + out.getvalue()
    )

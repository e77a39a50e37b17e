"""Import stage: a Perl permission hash (Proxmox's ``HMPPerms`` style) as a table.

Entry point: `import_perl`. The module is read as Perl reads it, by PPI in a
perl subprocess (`generator.perl.ppi`), never run: the one statement
``our $hmp_command_perms = { name => 'level', ... };``, with the comment lines
just above an entry as its rationale and the ``# help`` comment at its end.
Anything PPI cannot prove is refused, naming its line, rather than guessed.
Here the names and levels are checked and the table written.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from generator.core.errors import HmpPermsError, SourceInfo
from generator.core.files import read_text
from generator.core.model import is_command_name
from generator.core.text import one_line
from generator.perl.ppi import read_hash

#: QEMU's short forms (hmp-commands.hx), folded into their commands.
KNOWN_ALIASES = {"?": "help", "c": "cont", "p": "print", "q": "quit", "s": "stop"}
ALIAS_HELP = re.compile(r"(?:short-form of|alias for) '([A-Za-z0-9_?-]+)'")
#: What a table accepts as a level name (the table loader's rule), checked here so
#: that a bad one is reported at its line of the Perl module.
LEVEL_NAME = re.compile(r"[A-Za-z0-9_.-]+")
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
    """The table as YAML text, and notes for the user (aliases not folded, ...).

    The use case loads the text with the table loader before it writes it: what
    import-perl writes, `lint` passes.
    """
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
    for entry in read_hash(path, text).entries:
        where = SourceInfo(path, entry.line)
        if not is_command_name(entry.key):
            raise HmpPermsError(f"{entry.key[:60]!r} is not a QEMU command name", where)
        if not LEVEL_NAME.fullmatch(entry.level):
            raise HmpPermsError(
                f"level {entry.level[:60]!r} of {entry.key!r} is not a plain name ([A-Za-z0-9_.-]+)",
                where,
            )
        if entry.key in seen:
            raise HmpPermsError(
                f"{entry.key!r} is listed twice (first on line {seen[entry.key]})", where
            )
        seen[entry.key] = entry.line
        reason = " ".join(r for r in map(_clean, entry.comments) if r)
        perms.append(_Perm(entry.key, entry.level, _clean(entry.help), reason, entry.line))
    if not perms:
        raise HmpPermsError(f"{path}: the permission hash is empty")
    return perms


def _clean(text: str) -> str:
    """Comment text on one line, with nothing a table string may not hold (`text`)."""
    return one_line(text)


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

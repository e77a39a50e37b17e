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
from generator.files import read_text
from generator.model import is_command_name
from generator.table.loader import load_table

#: The one hash read: Proxmox's name for it. Perl whitespace is space and tab here;
#: anything else outside a comment is refused, not guessed at.
VARIABLE = "hmp_command_perms"
HASH_START = re.compile(r"^[ \t]*our[ \t]+\$hmp_command_perms[ \t]*=[ \t]*\{[ \t]*\r?$")
HASH_END = re.compile(r"^[ \t]*\}[ \t]*;[ \t]*\r?$")
ENTRY = re.compile(
    r"""^[ \t]*(?:'(?P<q>[^'\\]*)'|(?P<b>[A-Za-z_][A-Za-z0-9_]*))[ \t]*=>[ \t]*
        '(?P<level>[^'\\]*)'[ \t]*,?[ \t]*(?:\#[ \t]?(?P<help>[^\r]*))?\r?$""",
    re.X,
)
#: What Perl never runs: POD from a line starting ``=word`` to ``=cut``, all
#: after ``__END__``/``__DATA__``, and the body of a here-document.
POD_START = re.compile(r"^=[A-Za-z]")
POD_END = re.compile(r"^=cut\b")
END_OF_CODE = re.compile(r"^__(?:END|DATA)__\b")
HEREDOC = re.compile(r"""<<(~?)[ \t]*(?:"([^"\n]*)"|'([^'\n]*)'|([A-Za-z_]\w*))""")
#: Code elsewhere that could change the hash after it is defined.
WRITE = re.compile(
    r"(?:\bdelete\b|\blocal\b|\bundef\b)[^;]*\bhmp_command_perms\b"
    r"|\bhmp_command_perms\b(?:[ \t]*->[ \t]*\{[^}]*\})?[ \t]*(?:[-+.|&/*x]|\*\*|//|\|\||&&)?=(?![=~>])"
)
_ODD = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
COMMENT = re.compile(r"^[ \t]*#[ \t]?(?P<text>.*)$")
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


def import_perl(path: str, output: str | None = None) -> tuple[str, list[str]]:
    """The table as YAML text, and notes for the user (aliases not folded, ...).

    The text is loaded with the table loader before it is returned, as `output`
    (or ``<stdout>``): what import-perl writes, `lint` passes.
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
    text = _dump(path, perms)
    load_table(output or "<stdout>", text)
    return text, notes


class _Outside:
    """Which lines outside the hash Perl would compile; lines end at LF only, as Perl's do."""

    def __init__(self) -> None:
        self.pod = False
        self.ended = False
        self.heredocs: list[tuple[str, bool]] = []

    def is_code(self, line: str) -> bool:
        if self.heredocs:
            ender, indented = self.heredocs[0]
            body = line.rstrip("\r")
            if (body.lstrip(" \t") if indented else body) == ender:
                self.heredocs.pop(0)
            return False
        if self.pod:
            self.pod = not POD_END.match(line)
            return False
        if POD_START.match(line):  # a statement may start here: outside the hash
            self.pod = not POD_END.match(line)
            return False
        if END_OF_CODE.match(line):
            self.ended = True
            return False
        if not line.lstrip(" \t").startswith("#"):
            for m in HEREDOC.finditer(line.split("#", 1)[0]):
                ender = next(g for g in (m[2], m[3], m[4]) if g is not None)
                self.heredocs.append((ender, bool(m[1])))
        return True


def _parse(path: str, text: str) -> list[_Perm]:
    perms: list[_Perm] = []
    seen: dict[str, int] = {}
    inside = False
    found = 0
    reason: list[str] = []
    outside = _Outside()
    for lineno, line in enumerate(text.split("\n"), 1):
        if not inside:
            if not outside.is_code(line):
                if outside.ended:
                    break
                continue
            if HASH_START.match(line):
                if found:
                    raise HmpPermsError(
                        f"${VARIABLE} is defined again (first on line {found})",
                        SourceInfo(path, lineno),
                    )
                inside, found = True, lineno
            elif not line.lstrip().startswith("#") and WRITE.search(line):
                raise HmpPermsError(
                    f"${VARIABLE} is changed outside its definition; cannot import it safely",
                    SourceInfo(path, lineno),
                )
            continue
        if HASH_END.match(line):
            inside = False
            continue
        if not line.strip(" \t\r"):
            reason = []
            continue
        m = COMMENT.match(line)
        if m:
            reason.append(_clean(m["text"]))
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
        help_text = _clean(m["help"] or "")
        perms.append(_Perm(name, m["level"], help_text, " ".join(r for r in reason if r), lineno))
        reason = []
    if not found:
        raise HmpPermsError(f"{path}: no 'our ${VARIABLE} = {{' permission hash found")
    if inside:
        raise HmpPermsError(f"{path}: the permission hash is not closed with '}};'")
    if not perms:
        raise HmpPermsError(f"{path}: the permission hash is empty")
    return perms


def _clean(text: str) -> str:
    """Comment text on one line: control characters and odd line breaks become spaces."""
    return " ".join(_ODD.sub(" ", text).split())


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

"""What changed between two snapshots (`diff_snapshots`): under `check`'s baseline
findings and ``hmp-perms diff``."""

from __future__ import annotations

from typing import NamedTuple

from generator.core.model import HelpEntry, Snapshot
from generator.core.text import one_line


class Change(NamedTuple):
    kind: str  # added, removed, aliases, params, help
    name: str  # "cont" or "info usbhost"
    before: str = ""
    after: str = ""


def entry_text(e: HelpEntry) -> str:
    """An entry's params and help on one line, as findings quote them (``params -- help``,
    or the help alone when it takes none)."""
    params, text = one_line(e.params), one_line(e.help)
    return f"{params} -- {text}" if params else text


def diff_snapshots(a: Snapshot, b: Snapshot) -> list[Change]:
    """What changed from `a` to `b`: commands, and info subcommands when both list them."""
    changes: list[Change] = []
    sections = [("", a.commands, b.commands)]
    if a.raw_info and b.raw_info:
        sections.append(("info ", a.info, b.info))
    for prefix, old, new in sections:
        before = {e.name: e for e in old}
        after = {e.name: e for e in new}
        for name in sorted(before.keys() | after.keys()):
            label, x, y = prefix + name, before.get(name), after.get(name)
            if x is None:
                changes.append(Change("added", label, after=entry_text(after[name])))
            elif y is None:
                changes.append(Change("removed", label, before=entry_text(x)))
            else:
                for part, old_text, new_text in (
                    ("aliases", ", ".join(x.aliases), ", ".join(y.aliases)),
                    ("params", one_line(x.params), one_line(y.params)),
                    ("help", one_line(x.help), one_line(y.help)),
                ):
                    if old_text != new_text:
                        changes.append(Change(part, label, old_text, new_text))
    return changes

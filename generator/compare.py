"""Compare stage: snapshots against the table, and snapshots against each other.

Entry points: `check_drift` and `diff_snapshots`. Pure: values in, findings out;
the command line decides what is fatal and how it is shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from generator.errors import SourceInfo
from generator.model import Entry, HelpEntry, Snapshot, Table, fold_space

ERROR, WARNING, INFO = "error", "warning", "info"


@dataclass(frozen=True)
class Finding:
    """One thing a person may need to act on."""

    kind: str
    severity: str
    name: str  # "cont", or "info usbhost" for an info subcommand
    binary: str
    version: str
    target: str
    message: str
    hint: str = ""
    source: SourceInfo | None = None  # the table entry, for table-side findings
    before: str | None = None
    after: str | None = None

    @property
    def id(self) -> str:
        """Stable across runs: kind, name and target."""
        return f"{self.kind}:{self.name}:{self.target}"


@dataclass(frozen=True)
class Report:
    snapshots: tuple[Snapshot, ...]
    findings: tuple[Finding, ...]
    table_path: str = ""
    #: per snapshot label, every name checked (commands, then "info X")
    checked: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    def exit_status(self, strict: bool = False) -> int:
        if self.count(ERROR) or (strict and self.count(WARNING)):
            return 1
        return 0


def expectation(entry: Entry, snap: Snapshot, table: Table) -> tuple[bool | None, str]:
    """Should `snap` have `entry`? True, False (with why not) or None (cannot tell, why)."""
    if entry.since is not None or entry.until is not None:
        if snap.version is None:
            return None, "its QEMU version is unknown"
        if entry.since is not None and snap.version < entry.since:
            return False, f"it was added in QEMU {entry.since.short()}"
        if entry.until is not None and snap.version >= entry.until:
            return False, f"it is gone from QEMU {entry.until.short()} on"
    if entry.targets is not None and snap.target not in entry.targets:
        return False, f"it exists only for {', '.join(entry.targets)}"
    if entry.vendor is not None:
        pattern = table.vendors.get(entry.vendor)
        if pattern is None or not pattern.search(snap.package):
            return False, f"it exists only in {entry.vendor} builds"
    if entry.config is not None:
        return None, f"it needs the build option {entry.config}"
    return True, ""


def _same(a: str | None, b: str) -> bool:
    return a is None or a.split() == b.split()


def check_drift(snapshots: Sequence[Snapshot], table: Table) -> Report:
    findings: list[Finding] = []
    checked: dict[str, tuple[str, ...]] = {}
    for snap in snapshots:
        names = [e.name for e in snap.commands]
        findings += _check_section(snap, table, snap.commands, table.commands, "")
        if snap.raw_info:
            findings += _check_section(snap, table, snap.info, table.info, "info ")
            names += [f"info {e.name}" for e in snap.info]
        checked[snap.label] = tuple(names)
    return Report(tuple(snapshots), tuple(findings), table.path, checked)


def _check_section(
    snap: Snapshot,
    table: Table,
    present: Iterable[HelpEntry],
    entries: Mapping[str, Entry],
    prefix: str,
) -> list[Finding]:
    what = "info subcommand" if prefix else "command"
    version = str(snap.version) if snap.version else "unknown"

    def finding(kind: str, severity: str, name: str, message: str, **kw: object) -> Finding:
        return Finding(
            kind,
            severity,
            prefix + name,
            snap.binary,
            version,
            snap.target,
            message,
            **kw,  # type: ignore[arg-type]
        )

    out: list[Finding] = []
    by_alias = {alias: e for e in entries.values() for alias in e.aliases}
    seen: set[str] = set()
    for qemu in present:
        entry = entries.get(qemu.name)
        if entry is None:
            owner = by_alias.get(qemu.name)
            if owner is not None:
                seen.add(owner.name)
                out.append(
                    finding(
                        "alias-mismatch",
                        ERROR,
                        qemu.name,
                        f"QEMU lists {qemu.name!r} as a command of its own; the table has it as an"
                        f" alias of {owner.name!r}",
                        hint="make it an entry of its own with a level and a rationale",
                        source=owner.info,
                    )
                )
                continue
            kind = "unassigned-info" if prefix else "unassigned-command"
            out.append(
                finding(
                    kind,
                    ERROR,
                    qemu.name,
                    f"{what} {prefix}{qemu.name} has no permission in the table"
                    f" ({qemu.params} -- {fold_space(qemu.help)})".replace("  ", " "),
                    source=_place_for(entries, qemu.name),
                    hint="run `hmp-perms sync --write` (it adds the entry at this line),"
                    " then choose its level and write a rationale",
                )
            )
            continue
        seen.add(entry.name)
        if not prefix and tuple(sorted(qemu.aliases)) != tuple(sorted(entry.aliases)):
            out.append(
                finding(
                    "alias-mismatch",
                    ERROR,
                    qemu.name,
                    f"aliases differ: QEMU has [{', '.join(qemu.aliases)}],"
                    f" the table has [{', '.join(entry.aliases)}]",
                    hint="fix `aliases` in the table; each alias gets the command's level",
                    source=entry.info,
                    before=", ".join(entry.aliases),
                    after=", ".join(qemu.aliases),
                )
            )
        expected, why = expectation(entry, snap, table)
        if expected is False:
            out.append(
                finding(
                    f"unexpected-{'info' if prefix else 'command'}",
                    WARNING,
                    qemu.name,
                    f"QEMU has {prefix}{qemu.name}, but the table says it should not: {why}",
                    hint="correct since/until/targets/vendor in the table",
                    source=entry.info,
                )
            )
        for part in ("params", "help"):
            recorded, actual = getattr(entry, part), getattr(qemu, part)
            if not _same(recorded, actual):
                out.append(
                    finding(
                        f"changed-{part}",
                        WARNING,
                        qemu.name,
                        f"{part} of {prefix}{qemu.name} changed since the table recorded it",
                        hint="review the rationale, then `hmp-perms sync --write` records the new text",
                        source=entry.info,
                        before=fold_space(recorded or ""),
                        after=fold_space(actual),
                    )
                )
    for entry in entries.values():
        if entry.name in seen:
            continue
        expected, why = expectation(entry, snap, table)
        if expected:
            out.append(
                finding(
                    f"missing-{'info' if prefix else 'command'}",
                    WARNING,
                    entry.name,
                    f"the table expects {prefix}{entry.name} here, but QEMU does not have it",
                    hint="if it was removed, set `until`; if it is target- or build-specific,"
                    " set `targets` or `config`",
                    source=entry.info,
                )
            )
        else:
            out.append(
                finding(
                    "absent-explained",
                    INFO,
                    entry.name,
                    f"{prefix}{entry.name} is absent, as expected: {why}",
                    source=entry.info,
                )
            )
    return out


def _place_for(entries: Mapping[str, Entry], name: str) -> SourceInfo | None:
    """Where an entry for `name` belongs: the line of the entry it would precede."""
    after = [e.info for n, e in entries.items() if n > name]
    if after:
        return min(after)
    return max((e.info for e in entries.values()), default=None)


@dataclass(frozen=True)
class Change:
    kind: str  # added, removed, aliases, params, help
    name: str  # "cont" or "info usbhost"
    before: str = ""
    after: str = ""


def diff_snapshots(a: Snapshot, b: Snapshot) -> list[Change]:
    """What changed from `a` to `b`: commands and info subcommands, by name."""
    changes: list[Change] = []
    for prefix, old, new in (("", a.commands, b.commands), ("info ", a.info, b.info)):
        before = {e.name: e for e in old}
        after = {e.name: e for e in new}
        for name in sorted(before.keys() | after.keys()):
            x, y = before.get(name), after.get(name)
            label = prefix + name
            if x is None and y is not None:
                changes.append(Change("added", label, after=f"{y.params} -- {fold_space(y.help)}"))
            elif y is None and x is not None:
                changes.append(
                    Change("removed", label, before=f"{x.params} -- {fold_space(x.help)}")
                )
            elif x is not None and y is not None:
                if x.aliases != y.aliases:
                    changes.append(
                        Change("aliases", label, ", ".join(x.aliases), ", ".join(y.aliases))
                    )
                for part in ("params", "help"):
                    old_text, new_text = getattr(x, part), getattr(y, part)
                    if not _same(old_text, new_text):
                        changes.append(
                            Change(part, label, fold_space(old_text), fold_space(new_text))
                        )
    return changes

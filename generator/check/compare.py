"""Compare stage: snapshots against the table, and snapshots against each other.

Entry points: `check_drift` and `diff_snapshots`. Pure: values in, findings out;
the command line decides what is fatal and how it is shown. Each build is
checked against the table (is every command decided?) and against its
baseline, the recorded build it is compared with (what moved since?).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from generator.collect.records import Baseline
from generator.errors import SourceInfo
from generator.model import Build, Entry, HelpEntry, Snapshot, Table, fold_space

if TYPE_CHECKING:
    from generator.suggest.rules import Suggestion

    #: Suggests a level for a command the table does not decide (None: no suggestion).
    Advisor = Callable[[str, HelpEntry | None, bool], Suggestion | None]

#: How QEMU's help marks a deprecated command (10.2: `wavcapture`, `stopcapture`).
DEPRECATED_MARK = "(deprecated)"

ERROR, WARNING, INFO = "error", "warning", "info"


@dataclass(frozen=True)
class Finding:
    """One thing a person may need to act on, about one build."""

    kind: str
    severity: str
    name: str  # "cont", or "info usbhost" for an info subcommand
    binary: str
    version: str
    target: str
    message: str
    hint: str = ""
    source: SourceInfo | None = None  # the table entry it is about, or where it belongs
    before: str | None = None
    after: str | None = None
    build: str = ""  # the build's slug: flavour, version, target, variant
    against: str = ""  # what `before` is: "table", or the baseline build's slug

    @property
    def id(self) -> str:
        """Unique in a run and stable across runs: kind, name and build."""
        return f"{self.kind}:{self.name}:{self.build}"


@dataclass(frozen=True)
class Checked:
    """One build as the check saw it: the snapshot, which build it is, its baseline."""

    snapshot: Snapshot
    build: Build
    baseline: Baseline


@dataclass(frozen=True)
class Report:
    checked_builds: tuple[Checked, ...]
    findings: tuple[Finding, ...]
    table_path: str = ""
    #: per build slug, every name checked (commands, then "info X")
    checked: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: one line per binary or file that could not be read: the run cannot be clean
    failures: tuple[str, ...] = ()

    @property
    def snapshots(self) -> tuple[Snapshot, ...]:
        return tuple(c.snapshot for c in self.checked_builds)

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    def exit_status(self, strict: bool = False) -> int:
        if self.failures:
            return 2
        if self.count(ERROR) or (strict and self.count(WARNING)):
            return 1
        return 0


def check_drift(
    builds: Sequence[Checked],
    table: Table,
    failures: Sequence[str] = (),
    advise: Advisor | None = None,
) -> Report:
    """Each build against the table (coverage) and against its baseline (drift).

    `advise` suggests a level for a command the table does not decide; the
    suggestion goes into that finding's hint.
    """
    findings: list[Finding] = []
    checked: dict[str, tuple[str, ...]] = {}
    for item in builds:
        snap = item.snapshot
        names = [e.name for e in snap.commands]
        findings += _check_section(item, table, snap.commands, table.commands, "", advise)
        if snap.raw_info:
            findings += _check_section(item, table, snap.info, table.info, "info ", advise)
            names += [f"info {e.name}" for e in snap.info]
        findings += _check_baseline(item, table)
        checked[item.build.slug] = tuple(names)
    return Report(tuple(builds), tuple(findings), table.path, checked, tuple(failures))


def _maker(item: Checked) -> Callable[..., Finding]:
    snap = item.snapshot

    def finding(kind: str, severity: str, name: str, message: str, **kw: Any) -> Finding:
        return Finding(
            kind,
            severity,
            name,
            snap.binary,
            str(snap.version) if snap.version else "unknown",
            snap.target,
            message,
            build=item.build.slug,
            **kw,
        )

    return finding


def _check_section(
    item: Checked,
    table: Table,
    present: Iterable[HelpEntry],
    entries: Mapping[str, Entry],
    prefix: str,
    advise: Advisor | None,
) -> list[Finding]:
    what = "info subcommand" if prefix else "command"
    finding = _maker(item)
    out: list[Finding] = []
    by_alias = {alias: e for e in entries.values() for alias in e.aliases}
    for qemu in present:
        name = prefix + qemu.name
        entry = entries.get(qemu.name)
        if entry is None:
            owner = by_alias.get(qemu.name)
            if owner is not None:
                out.append(
                    finding(
                        "alias-mismatch",
                        ERROR,
                        name,
                        f"QEMU lists {qemu.name!r} as a command of its own; the table has it as an"
                        f" alias of {owner.name!r}",
                        hint="make it an entry of its own with a level and a rationale",
                        source=owner.info,
                    )
                )
                continue
            hint = (
                "run `hmp-perms sync --write` (it adds the entry at this line),"
                " then choose its level and write a rationale"
            )
            suggestion = advise(qemu.name, qemu, bool(prefix)) if advise else None
            if suggestion is not None:
                from generator.suggest.rules import hint_for

                hint += "; " + hint_for(suggestion)
            out.append(
                finding(
                    f"unassigned-{'info' if prefix else 'command'}",
                    ERROR,
                    name,
                    f"{what} {qemu.name} has no permission in the table ({_text(qemu)})",
                    source=_place_for(entries, qemu.name),
                    hint=hint,
                )
            )
            continue
        if not prefix and sorted(qemu.aliases) != sorted(entry.aliases):
            out.append(
                finding(
                    "alias-mismatch",
                    ERROR,
                    name,
                    f"aliases differ: QEMU has [{', '.join(qemu.aliases)}],"
                    f" the table has [{', '.join(entry.aliases)}]",
                    hint="fix `aliases` in the table; each alias gets the command's level",
                    source=entry.info,
                    before=", ".join(entry.aliases),
                    after=", ".join(qemu.aliases),
                    against="table",
                )
            )
        if entry.deprecated is None and DEPRECATED_MARK in qemu.help.lower():
            out.append(
                finding(
                    "deprecated-unmarked",
                    WARNING,
                    name,
                    f"QEMU's help marks {name} deprecated; the table does not",
                    hint="add `deprecated: {since: X.Y}` to the entry",
                    source=entry.info,
                    after=fold_space(qemu.help),
                )
            )
    return out


def _check_baseline(item: Checked, table: Table) -> list[Finding]:
    """What moved since the baseline: added, removed, params or help changed."""
    finding = _maker(item)
    base = item.baseline
    if base.snapshot is None or base.build is None:
        return [
            finding(
                "no-baseline",
                INFO,
                "",
                f"no recorded build to compare with: {base.why_none}",
                hint="`hmp-perms sync --write` records this build"
                if item.build.version is not None
                else "a build is recorded under its version: give --qemu-version with --from-text",
            )
        ]
    if (
        base.build == item.build
        and base.snapshot.raw_help == item.snapshot.raw_help
        and (base.snapshot.raw_info == item.snapshot.raw_info or not item.snapshot.raw_info)
    ):
        return []  # the build is recorded exactly as it is: the common case, made cheap
    against = base.build.slug
    out: list[Finding] = []
    for change in diff_snapshots(base.snapshot, item.snapshot):
        prefix, _, key = change.name.rpartition(" ")
        entries = table.info if prefix else table.commands
        entry = entries.get(key)
        source = entry.info if entry else _place_for(entries, key)
        kind = "info" if prefix else "command"
        if change.kind == "added":
            out.append(
                finding(
                    f"added-{kind}",
                    INFO,
                    change.name,
                    f"{change.name} is new since {against}",
                    source=source,
                    after=change.after,
                    against=against,
                )
            )
        elif change.kind == "removed":
            out.append(
                finding(
                    f"removed-{kind}",
                    WARNING,
                    change.name,
                    f"{change.name} is gone since {against}",
                    hint="keep the entry while a build you support has it",
                    source=source,
                    before=change.before,
                    against=against,
                )
            )
        elif change.kind in ("params", "help"):
            out.append(
                finding(
                    f"changed-{change.kind}",
                    WARNING,
                    change.name,
                    f"{change.kind} of {change.name} changed since {against}",
                    hint="review the rationale; `hmp-perms sync --write` records this build",
                    source=source,
                    before=change.before,
                    after=change.after,
                    against=against,
                )
            )
        # Aliases are checked against the table, where a difference is an error.
    return out


def _text(e: HelpEntry) -> str:
    return f"{fold_space(e.params)} -- {fold_space(e.help)}".strip()


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
    """What changed from `a` to `b`: commands, and info subcommands when both list them."""
    changes: list[Change] = []
    sections = [("", a.commands, b.commands)]
    if a.raw_info and b.raw_info:
        sections.append(("info ", a.info, b.info))
    for prefix, old, new in sections:
        before = {e.name: e for e in old}
        after = {e.name: e for e in new}
        for name in sorted(before.keys() | after.keys()):
            x, y = before.get(name), after.get(name)
            label = prefix + name
            if x is None and y is not None:
                changes.append(Change("added", label, after=_text(y)))
            elif y is None and x is not None:
                changes.append(Change("removed", label, before=_text(x)))
            elif x is not None and y is not None:
                if x.aliases != y.aliases:
                    changes.append(
                        Change("aliases", label, ", ".join(x.aliases), ", ".join(y.aliases))
                    )
                for part in ("params", "help"):
                    old_text, new_text = fold_space(getattr(x, part)), fold_space(getattr(y, part))
                    if old_text != new_text:
                        changes.append(Change(part, label, old_text, new_text))
    return changes

"""Check stage: each build against the table (is every command decided?) and against
its baseline (what moved since?).

Entry point: `check_drift`, pure: values in, a `Report` out; `kinds` says how
severe each finding is and what is fatal.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import NamedTuple

from generator.check.diff import diff_snapshots, entry_text
from generator.check.kinds import KINDS, Policy
from generator.core.errors import Location
from generator.core.model import Baseline, Build, Entry, HelpEntry, Snapshot, Table
from generator.core.text import one_line

#: A hint for a command the table does not decide (a suggested level), or None.
Advisor = Callable[[str, HelpEntry | None, bool], str | None]

#: How QEMU's help marks a deprecated command: 10.2's `stopcapture` says
#: "(deprecated)", 11.1's `wavcapture` "(deprecated, default frequency=44100)".
DEPRECATED_MARK = re.compile(r"\(deprecated[,)]", re.IGNORECASE)


class Checked(NamedTuple):
    """One build as the check sees it: made by the use case, read by the report."""

    snapshot: Snapshot
    build: Build
    baseline: Baseline
    folded: tuple[Snapshot, ...] = ()  # the same build given again, with the same listing
    #: the command that records this build, as the user gave it, for hints to copy
    sync: str = "hmp-perms sync --write"

    @property
    def packages(self) -> tuple[str, ...]:
        return tuple(sorted({p for s in (self.snapshot, *self.folded) for p in s.packages}))

    @property
    def binaries(self) -> tuple[str, ...]:
        """Each binary started or connected to, each snapshot file read, in order."""
        return tuple(dict.fromkeys(s.given for s in (self.snapshot, *self.folded)))


class Finding(NamedTuple):
    """One thing a person may need to act on, about one build (or the table alone)."""

    kind: str  # a `kinds.KINDS` id
    severity: str  # the kind's, after the run's policy
    name: str  # "cont", "info usbhost", or the build's name for a finding about the build
    message: str
    build: str = ""  # the build's name; empty for a finding about the table alone
    binary: str = ""
    version: str = ""
    target: str = ""
    hint: str = ""
    source: Location | None = None  # the table entry it is about, or where it belongs
    before: str | None = None
    after: str | None = None
    against: str = ""  # what `before` is: "table", or the baseline build's name

    @property
    def id(self) -> str:
        """Unique in a run, stable across runs: ``kind:name:build`` (table alone: ``kind:name``)."""
        return f"{self.kind}:{self.name}:{self.build}" if self.build else f"{self.kind}:{self.name}"


class Report(NamedTuple):
    checked_builds: tuple[Checked, ...]
    findings: tuple[Finding, ...]
    policy: Policy = Policy()
    table_path: str = ""
    #: per build name, every name checked (commands, then "info X")
    checked: Mapping[str, tuple[str, ...]] = MappingProxyType({})
    #: one line per binary or file that could not be read: the run cannot be clean
    failures: tuple[str, ...] = ()

    @property
    def snapshots(self) -> tuple[Snapshot, ...]:
        return tuple(c.snapshot for c in self.checked_builds)

    def tally(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    def fatal(self, finding: Finding) -> bool:
        return self.policy.fatal(finding.severity)

    @property
    def exit_status(self) -> int:
        """0 clean, 1 a fatal finding, 2 a build that could not be read."""
        if self.failures:
            return 2
        return 1 if any(self.fatal(f) for f in self.findings) else 0


def check_drift(
    builds: Sequence[Checked],
    table: Table,
    failures: Sequence[str] = (),
    advise: Advisor | None = None,
    policy: Policy | None = None,
) -> Report:
    """Each build against the table (coverage) and its baseline (drift); `advise` hints
    a level for a command the table does not decide."""
    policy = policy or Policy()
    # A stub left in the table is a finding about the table, beside every other one.
    findings = [
        Finding(
            "todo",
            policy.severity_of("todo"),
            name,
            f"{name} awaits a decision: a stub, with no permission yet",
            hint=KINDS["todo"].hint_for(),
            source=where,
        )
        for name, where in sorted(table.todo.items())
        if policy.reports("todo")
    ]
    checked: dict[str, tuple[str, ...]] = {}
    for item in builds:
        snap = item.snapshot
        found = _check_section(snap.commands, table.commands, "", advise, table.todo, item.sync)
        names = [e.name for e in snap.commands]
        if snap.raw_info:
            found += _check_section(snap.info, table.info, "info ", advise, table.todo, item.sync)
            names += [f"info {e.name}" for e in snap.info]
        found += _check_baseline(item, table)
        version = str(snap.version) if snap.version else "unknown"
        findings += [
            f._replace(
                severity=policy.severity_of(f.kind),
                build=item.build.slug,
                binary=snap.binary,
                version=version,
                target=snap.target,
                hint=f.hint or KINDS[f.kind].hint_for(item.sync),
            )
            for f in found
            if policy.reports(f.kind)
        ]
        checked[item.build.slug] = tuple(names)
    return Report(tuple(builds), tuple(findings), policy, table.path, checked, tuple(failures))


def _found(
    kind: str,
    name: str,
    message: str,
    source: Location | None,
    *,
    hint: str = "",
    before: str | None = None,
    after: str | None = None,
    against: str = "",
) -> Finding:
    """A finding of one build; `check_drift` adds its severity, build and default hint."""
    return Finding(kind, "", name, message, "", "", "", "", hint, source, before, after, against)


def _check_section(
    present: Iterable[HelpEntry],
    entries: Mapping[str, Entry],
    prefix: str,
    advise: Advisor | None,
    todo: Mapping[str, Location],
    sync: str,
) -> list[Finding]:
    found = []
    what = "info subcommand" if prefix else "command"
    by_alias = {alias: e for e in entries.values() for alias in e.aliases}
    for qemu in present:
        name = prefix + qemu.name
        entry = entries.get(qemu.name)
        if entry is None and name in todo:
            continue  # stubbed: its `todo` finding says what to do
        if entry is None:
            owner = by_alias.get(qemu.name)
            if owner is not None:
                found.append(
                    _found(
                        "alias-mismatch",
                        name,
                        f"QEMU lists {qemu.name!r} as a command of its own; the table has it as an"
                        f" alias of {owner.name!r}",
                        owner.where,
                    )
                )
                continue
            kind_id = "unassigned-info" if prefix else "unassigned-command"
            suggestion = advise(qemu.name, qemu, bool(prefix)) if advise else None
            found.append(
                _found(
                    kind_id,
                    name,
                    f"{what} {qemu.name} has no permission in the table ({entry_text(qemu)})",
                    place_for(entries, qemu.name),
                    hint=f"{KINDS[kind_id].hint_for(sync)}; {suggestion}" if suggestion else "",
                )
            )
            continue
        if not prefix and sorted(qemu.aliases) != sorted(entry.aliases):
            found.append(
                _found(
                    "alias-mismatch",
                    name,
                    f"aliases differ: QEMU has [{', '.join(qemu.aliases)}],"
                    f" the table has [{', '.join(entry.aliases)}]",
                    entry.where,
                    before=", ".join(entry.aliases),
                    after=", ".join(qemu.aliases),
                    against="table",
                )
            )
        if entry.deprecated is None and DEPRECATED_MARK.search(qemu.help):
            found.append(
                _found(
                    "deprecated-unmarked",
                    name,
                    f"QEMU's help marks {name} deprecated; the table does not",
                    entry.where,
                    after=one_line(qemu.help),
                )
            )
    return found


def _check_baseline(item: Checked, table: Table) -> list[Finding]:
    """What moved since the baseline: added, removed, params or help changed."""
    base = item.baseline
    if base.snapshot is None or base.build is None:
        unknown = "a build is recorded under its version: give --qemu-version with --from-text"
        message = f"no recorded build to compare with: {base.why_none}"
        hint = "" if item.build.version is not None else unknown
        return [_found("no-baseline", item.build.slug, message, None, hint=hint)]
    if (
        base.build == item.build
        and base.snapshot.raw_help == item.snapshot.raw_help
        and (base.snapshot.raw_info == item.snapshot.raw_info or not item.snapshot.raw_info)
    ):
        return []  # the build is recorded exactly as it is: the common case, made cheap
    against = base.build.slug
    found = []
    for change in diff_snapshots(base.snapshot, item.snapshot):
        if change.kind not in _CHANGES:
            continue  # aliases are checked against the table, where a difference is an error
        prefix, _, key = change.name.rpartition(" ")
        entries = table.info if prefix else table.commands
        entry = entries.get(key)
        command_kind, info_kind, message, newer = _CHANGES[change.kind]
        found.append(
            _found(
                info_kind if prefix else command_kind,
                change.name,
                (newer if base.newer_than(item.build) else message).format(
                    name=change.name, against=against
                ),
                entry.where if entry else place_for(entries, key),
                before=change.before if change.kind != "added" else None,
                after=change.after if change.kind != "removed" else None,
                against=against,
            )
        )
    return found


#: A baseline change: its kind for a command and for an info subcommand, its message
#: against an older (or the same) release, and against a newer one.
# fmt: off
_CHANGES = {
    "added": ("added-command", "added-info", "{name} is new since {against}", "{name} is not in the newer {against}"),
    "removed": ("removed-command", "removed-info", "{name} is gone since {against}", "{name} is only in the newer {against}"),
    "params": ("changed-params", "changed-params", "params of {name} changed since {against}", "params of {name} differ from the newer {against}"),
    "help": ("changed-help", "changed-help", "help of {name} changed since {against}", "help of {name} differs from the newer {against}"),
}
# fmt: on


def place_for(entries: Mapping[str, Entry], name: str) -> Location | None:
    """Where an entry for `name` belongs: the line of the entry it would precede."""
    after = [e.where for n, e in entries.items() if n > name]
    if after:
        return min(after)
    return max((e.where for e in entries.values()), default=None)

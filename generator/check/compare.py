"""Check stage: each build against the table (is every command decided?) and against
its baseline (what moved since?), in `check_drift`: values in, a `Report` out."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
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
    #: for a build outside the config's scope, the pattern that would take it in
    widen: str = ""

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
    name: str  # "cont", "info usbhost", or the build's name for a finding about the build
    message: str
    source: Location | None = None  # the table entry it is about, or where it belongs
    hint: str = ""
    before: str | None = None
    after: str | None = None
    against: str = ""  # what `before` is: "table", or the baseline build's name
    severity: str = ""  # the kind's, after the run's policy
    build: str = ""  # the build's name; empty for a finding about the table alone
    binary: str = ""
    version: str = ""
    target: str = ""

    @property
    def id(self) -> str:
        """Unique in a run, stable across runs: ``kind:name:build`` (table alone: ``kind:name``)."""
        return f"{self.kind}:{self.name}:{self.build}" if self.build else f"{self.kind}:{self.name}"


class Report(NamedTuple):
    checked_builds: tuple[Checked, ...]
    findings: tuple[Finding, ...]
    policy: Policy = Policy()
    table_path: str = ""
    #: one line per binary or file that could not be read: the run cannot be clean
    failures: tuple[str, ...] = ()

    def of(self, build: str) -> list[Finding]:
        """The findings of one build (by name), or with "" those about the table alone."""
        return [f for f in self.findings if f.build == build]

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
    stub = "awaits a decision: a stub, with no permission yet"
    findings = [
        Finding("todo", name, f"{name} {stub}", where, KINDS["todo"].hint_for())
        for name, where in sorted(table.todo.items())
    ]
    for item in builds:
        snap = item.snapshot
        found = _check_section(snap.commands, table, False, advise, item.sync)
        found += _check_section(snap.info, table, True, advise, item.sync)
        found += _check_baseline(item, table)
        if item.widen:
            outside = f"{item.build.slug} is outside the scope ({item.widen!r} takes it in)"
            hint = f"add {item.widen!r} to [scope] patterns if the product ships this build"
            found.append(Finding("out-of-scope", item.build.slug, outside, hint=hint))
        version = str(snap.version) if snap.version else "unknown"
        findings += [
            f._replace(
                build=item.build.slug,
                binary=snap.binary,
                version=version,
                target=snap.target,
                hint=f.hint or KINDS[f.kind].hint_for(item.sync),
            )
            for f in found
        ]
    findings = [
        f._replace(severity=policy.severity_of(f.kind)) for f in findings if policy.reports(f.kind)
    ]
    return Report(tuple(builds), tuple(findings), policy, table.path, tuple(failures))


def _check_section(
    present: Sequence[HelpEntry], table: Table, info: bool, advise: Advisor | None, sync: str
) -> list[Finding]:
    found = []
    entries = table.info if info else table.commands
    by_alias = {alias: e for e in entries.values() for alias in e.aliases}
    for qemu in present:
        name = f"info {qemu.name}" if info else qemu.name
        entry, owner = entries.get(qemu.name), by_alias.get(qemu.name)
        if entry is not None:
            if not info and sorted(qemu.aliases) != sorted(entry.aliases):
                before, after = ", ".join(entry.aliases), ", ".join(qemu.aliases)
                message = f"aliases differ: QEMU has [{after}], the table has [{before}]"
                found.append(
                    Finding(
                        "alias-mismatch", name, message, entry.where, "", before, after, "table"
                    )
                )
            if entry.deprecated is None and DEPRECATED_MARK.search(qemu.help):
                message = f"QEMU's help marks {name} deprecated; the table does not"
                unmarked = Finding("deprecated-unmarked", name, message, entry.where)
                found.append(unmarked._replace(after=one_line(qemu.help)))
        elif name in table.todo or (owner is None and info and table.inherit_info):
            pass  # a stub's `todo` finding says what to do; under `inherit`, `info` decides
        elif owner is not None:
            message = (
                f"QEMU lists {qemu.name!r} as a command of its own; the table has it as an"
                f" alias of {owner.name!r}"
            )
            found.append(Finding("alias-mismatch", name, message, owner.where))
        else:
            kind = "unassigned-info" if info else "unassigned-command"
            what = "info subcommand" if info else "command"
            message = f"{what} {qemu.name} has no permission in the table ({entry_text(qemu)})"
            suggestion = advise(qemu.name, qemu, info) if advise else None
            hint = KINDS[kind].hint_for(sync) + (f"; {suggestion}" if suggestion else "")
            where = place_for(entries, qemu.name)
            if where is None:  # the section has no entry yet: no line to point at
                section = "an `info:` section" if info else "the `commands:` section"
                hint = hint.replace("at this line", f"in {section} at the end of the table")
            found.append(Finding(kind, name, message, where, hint))
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


def _check_baseline(item: Checked, table: Table) -> list[Finding]:
    """What moved since the baseline: added, removed, params or help changed."""
    base, old, snap = item.baseline, item.baseline.snapshot, item.snapshot
    if old is None or base.build is None:
        message = f"no recorded build to compare with: {base.why_none}"
        hint = ""
        if item.build.version is None:
            hint = "a build is recorded under its version: give --qemu-version with --from-text"
        elif not snap.package and snap.source != "live":
            message = "without --package the build is upstream's and has no recorded baseline"
            hint = "give --package (with --from-text or --from-source) to name it"
        return [Finding("no-baseline", item.build.slug, message, hint=hint)]
    unchanged = old.raw_help == snap.raw_help and snap.raw_info in ("", old.raw_info)
    if base.build == item.build and unchanged:
        return []  # the build is recorded exactly as it is: the common case, made cheap
    found = []
    for change in diff_snapshots(old, snap):
        if change.kind == "aliases":
            continue  # checked against the table, where a difference is an error
        prefix, _, key = change.name.rpartition(" ")
        entries = table.info if prefix else table.commands
        entry = entries.get(key)
        command_kind, info_kind, older, newer = _CHANGES[change.kind]
        if info_kind == "added-info" and table.inherit_info and entry is None:
            info_kind = "review-info"
        message = newer if base.newer_than(item.build) else older
        found.append(
            Finding(
                info_kind if prefix else command_kind,
                change.name,
                message.format(name=change.name, against=base.build.slug),
                entry.where if entry else place_for(entries, key),
                before=change.before if change.kind != "added" else None,
                after=change.after if change.kind != "removed" else None,
                against=base.build.slug,
            )
        )
    return found


def place_for(entries: Mapping[str, Entry], name: str) -> Location | None:
    """Where an entry for `name` belongs: the line of the entry it would precede."""
    after = [e.where for n, e in entries.items() if n > name]
    return min(after) if after else max((e.where for e in entries.values()), default=None)

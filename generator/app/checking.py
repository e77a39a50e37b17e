"""Use case: check the builds a run is given against the table and their baselines.

Entry points: `check_builds` and `diff_files`.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from generator.app.collecting import gather, given_as
from generator.app.settings import DEFAULT_BUILDS, DEFAULT_TABLE, Settings, Sources
from generator.core.errors import ErrorList, HmpPermsError
from generator.core.files import read_text

# What a check needs once its QEMUs answer is imported while they start (`load`).
if TYPE_CHECKING:
    from generator.check.compare import Advisor, Report
    from generator.check.diff import Change
    from generator.check.kinds import Policy
    from generator.core.model import Build, HelpEntry, Snapshot, Table
    from generator.suggest.rules import Advisor as SuggestFn


class CheckRun(NamedTuple):
    report: Report
    errors: tuple[HmpPermsError, ...]  # one per build that could not be read

    @property
    def exit_status(self) -> int:
        """The builds that answered are reported; each that did not fails the run."""
        return 2 if self.errors else self.report.exit_status


def check_builds(sources: Sources, settings: Settings, policy: Policy) -> CheckRun:
    # The table is read before any QEMU starts, so a missing one costs no QEMU; it is
    # parsed while they start up, which hides the cost, and so is its loader imported
    # (ruamel.yaml: a fifth of a check's own time). A stub is a finding, not a stop.
    text = read_text(settings.table)

    def load() -> Table:
        import generator.check.compare
        import generator.collect.records  # noqa: F401
        from generator.table.loader import load_table

        return load_table(settings.table, text, allow_todo=True)

    collected = gather(sources, load, settings.builds)
    table = collected.side
    assert table is not None
    if collected.errors and not collected.snapshots:
        raise ErrorList(collected.errors)
    from generator.check.compare import check_drift
    from generator.collect.records import find_baseline
    from generator.core.model import Checked

    where = "" if settings.config is not None else _paths_given(settings)
    checked = [
        Checked(
            group[0],
            build,
            find_baseline(build, settings.builds, table.vendors),
            tuple(group[1:]),
            f"hmp-perms sync {given_as(group[0], sources)}{where} --write",
        )
        for build, group in distinct_builds(collected.snapshots, table)
    ]
    failures = [str(e) for e in collected.errors]
    report = check_drift(checked, table, failures, _advisor(table, settings.rules), policy)
    return CheckRun(report, tuple(collected.errors))


def _paths_given(settings: Settings) -> str:
    """The table and records options a hint repeats, when they are not the defaults."""
    given = [
        ("--table", settings.table, DEFAULT_TABLE),
        ("--builds", settings.builds, DEFAULT_BUILDS),
    ]
    return "".join(
        f" {flag} {shlex.quote(value)}" for flag, value, default in given if value != default
    )


def distinct_builds(
    snapshots: Sequence[Snapshot], table: Table
) -> list[tuple[Build, list[Snapshot]]]:
    """Each build once, with every snapshot given of it: a build given twice (a path and
    its name, a record and the binary, two packagings of one release) is checked once,
    so every finding id stays unique, and the report names every package and binary."""
    from generator.collect.records import build_of

    groups: dict[Build, list[Snapshot]] = {}
    for snap in snapshots:
        build = build_of(snap, table.vendors)
        group = groups.setdefault(build, [])
        if group and not group[0].same_listing(snap):
            raise HmpPermsError(
                f"{group[0].binary} and {snap.binary} are both build {build.slug} but list"
                " different commands; check them in separate runs"
            )
        group.append(snap)
    return list(groups.items())


def _advisor(table: Table, rules: str | None) -> Advisor:
    """Hints with a suggested level. The suggester is imported, and its rules read,
    only when a command needs one: a clean check never pays for it."""
    loaded: dict[str, SuggestFn | None] = {}

    def advise(name: str, entry: HelpEntry | None, is_info: bool) -> str | None:
        from generator.suggest.rules import advisor, hint_for

        if "rules" not in loaded:
            loaded["rules"] = advisor(table, rules)
        suggest = loaded["rules"]
        return hint_for(suggest(name, entry, is_info)) if suggest is not None else None

    return advise


def diff_files(old: str, new: str) -> tuple[list[Change], str, str]:
    """What changed between two snapshot files, with their labels."""
    from generator.check.diff import diff_snapshots
    from generator.collect.snapshot import load_snapshot

    a, b = load_snapshot(old), load_snapshot(new)
    return diff_snapshots(a, b), a.label, b.label

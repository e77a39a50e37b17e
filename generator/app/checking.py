"""Use case: check the builds a run is given against the table and their baselines
(`check_builds`)."""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from generator.app.collecting import gather, given_as
from generator.app.settings import Settings, Sources
from generator.check.compare import Checked, Report, check_drift
from generator.check.kinds import Policy
from generator.collect.records import build_of, find_baseline
from generator.core.errors import ErrorList, HmpPermsError
from generator.core.files import read_text
from generator.core.model import Build, Snapshot, Table


def check_builds(
    sources: Sources, settings: Settings, policy: Policy
) -> tuple[Report, list[HmpPermsError]]:
    """The report of the builds that answered, and an error for each that did not."""
    # Read before any QEMU starts (a missing table costs no QEMU), parsed while they start.
    text = read_text(settings.table)

    def load() -> Table:
        # ruamel.yaml and the loader take about 30 ms to import: hidden under QEMU's start.
        from generator.table.loader import load_table

        return load_table(settings.table, text, allow_todo=True)

    collected = gather(sources, load, settings.builds)
    table = collected.side
    assert table is not None
    if settings.scope is not None:
        settings.scope.verify(table.vendors, settings.builds)
    if collected.errors and not collected.snapshots:
        raise ErrorList(collected.errors)
    # A hint repeats the table, records and rules options given, unless a config names them.
    where = "".join(
        f" --{key} {shlex.quote(getattr(settings, key))}"
        for key in ("table", "builds", "rules")
        if getattr(settings, key) != getattr(Settings(), key) and settings.config is None
    )
    checked = [
        Checked(
            group[0],
            build,
            find_baseline(build, settings.builds, table.vendors),
            tuple(group[1:]),
            f"hmp-perms sync {given_as(group[0], sources)}{where} --write",
            _widen(build, settings),
        )
        for build, group in distinct_builds(collected.snapshots, table)
    ]
    # The suggester brings RE2 and the YAML reader (about 25 ms): imported once QEMU runs.
    from generator.suggest.rules import advisor, hint_for

    suggest = advisor(table, settings.rules_path)  # reads the rules when a command needs a hint
    advise = None if suggest is None else (lambda n, e, i: hint_for(suggest(n, e, i)))
    failures = [str(e) for e in collected.errors]
    report = check_drift(checked, table, failures, advise, policy)
    return report, collected.errors


def distinct_builds(
    snapshots: Sequence[Snapshot], table: Table
) -> list[tuple[Build, list[Snapshot]]]:
    """Each build once, with every snapshot given of it: finding ids stay unique and the
    report names every package and binary."""
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


def _widen(build: Build, settings: Settings) -> str:
    """For a build outside the scope, the pattern that takes in its release of its
    flavour and variant, any patch level (``debian-11.1.*-x86_64``); else ''."""
    if settings.scope is None or settings.scope.covers(build.slug):
        return ""
    if build.version is None:
        return build.slug
    return f"{build.flavour}-{build.version.major}.{build.version.minor}.*-{build.machine}"

"""What the templates are given: the table and the recorded builds as plain, sorted data.

Entry point: `template_context`. Pure. The API description text is built here,
once (`generate_description`); every output that carries it gets this text.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from generator.model import ROOT, UNPRIVILEGED, Build, Entry, HelpEntry, Snapshot, Table, Version
from generator.text import one_line


def description_lines(table: Table) -> dict[str, list[str]]:
    """Every name (aliases included) by level, each list sorted by code point."""
    by_level: dict[str, list[str]] = {}
    for entry in table.commands.values():
        level = table.level_of(entry)
        by_level.setdefault(level, []).extend(entry.names)
    for names in by_level.values():
        names.sort()
    return by_level


def generate_description(table: Table) -> str:
    """The API description text, in the format of Proxmox's ``generate_description()``."""
    # The loader saw to it that both levels have commands (`DESCRIBED_LEVELS`).
    by_level = description_lines(table)
    text = (
        "The following commands do not require any additional privilege: "
        + ", ".join(by_level.pop(UNPRIVILEGED, []))
        + "\n\n"
    )
    root = by_level.pop(ROOT, [])
    for level in sorted(by_level):
        text += f"The following commands require '{level}': " + ", ".join(by_level[level]) + "\n\n"
    text += "The following commands are root-only: " + ", ".join(root) + "\n"
    deprecated = deprecated_names(table)
    if deprecated:
        text += "\nThe following commands are deprecated: " + ", ".join(deprecated) + "\n"
    return text


def deprecated_names(table: Table) -> list[str]:
    return sorted(n for e in table.commands.values() if e.deprecated for n in e.names)


def recorded_facts(
    records: Sequence[tuple[Build, Snapshot]],
) -> tuple[dict[str, str], dict[str, str]]:
    """From the recorded builds: each name's newest help text, and where it is present.

    Names are commands (aliases included) and ``info NAME``. Presence is one
    compact line per flavour and version: ``debian 7.2.22: all 33`` when every
    recorded build of that release has it, else the targets that do (or the
    ones that do not, when that is the shorter list).
    """
    Release = tuple[str, Version]
    releases: dict[Release, set[str]] = {}
    # Builds mostly print the same listings, parsed once into the same tuples (62
    # records print 8 help and 14 info listings): work once per distinct listing, and
    # note only which builds print it.
    printed: dict[int, tuple[tuple[HelpEntry, ...], str, int, dict[Release, set[str]]]] = {}
    for rank, (build, snap) in enumerate(records):  # oldest first: the newest help wins
        release = (build.flavour, build.version or Version(0, 0))
        releases.setdefault(release, set()).add(build.machine)
        for listing, prefix in ((snap.commands, ""), (snap.info, "info ")):
            _, _, _, where = printed.setdefault(id(listing), (listing, prefix, rank, {}))
            printed[id(listing)] = (listing, prefix, rank, where)
            where.setdefault(release, set()).add(build.machine)
    help_text: dict[str, str] = {}
    newest: dict[str, int] = {}
    have: dict[str, dict[Release, set[str]]] = {}
    for listing, prefix, rank, where in printed.values():
        for e in listing:
            for name in (prefix + n for n in (e.names if not prefix else (e.name,))):
                if rank > newest.get(name, -1):
                    help_text[name], newest[name] = one_line(e.help), rank
                mine = have.setdefault(name, {})
                for release, machines in where.items():
                    mine.setdefault(release, set()).update(machines)
    labels = {r: f"{r[0]} {r[1].short() if r[1] != Version(0, 0) else 'unknown'}" for r in releases}
    order = {release: i for i, release in enumerate(sorted(releases))}
    presence = {}
    for name, by_release in have.items():
        parts = []
        for release in sorted(by_release, key=order.__getitem__):
            present, every = by_release[release], releases[release]
            absent = every - present
            label = labels[release]
            if not absent:
                parts.append(f"{label}: all {len(every)}")
            elif len(absent) < len(present):
                parts.append(f"{label}: all but {', '.join(sorted(absent))}")
            else:
                parts.append(f"{label}: {', '.join(sorted(present))}")
        presence[name] = "; ".join(parts)
    return help_text, presence


def in_scope(
    table: Table,
    records: Sequence[tuple[Build, Snapshot]],
    covers: Callable[[str], bool],
    vendors: Collection[str],
) -> tuple[Table, list[tuple[Build, Snapshot]]]:
    """The table and records a product's outputs show: the recorded builds `covers`
    names, and exactly the names and aliases those builds have, plus every entry of
    the `vendors` listed (their builds are rarely recorded). A deprecation newer than
    every build in scope is not the product's: 10.2's `wavcapture` is not deprecated
    in a product that ships 10.0."""
    kept = [(build, snap) for build, snap in records if covers(build.slug)]
    names = {n for _, snap in kept for e in snap.commands for n in e.names}
    info = {e.name for _, snap in kept for e in snap.info}
    newest = max((b.version for b, _ in kept if b.version is not None), default=None)

    def shown(entry: Entry, present: set[str]) -> Entry | None:
        if entry.deprecated is not None and (newest is None or newest < entry.deprecated):
            entry = entry._replace(deprecated=None)
        if entry.vendor is not None and entry.vendor in vendors:
            return entry
        if entry.name not in present:
            return None
        return entry._replace(aliases=tuple(a for a in entry.aliases if a in present))

    commands = {n: e for n, e in ((n, shown(e, names)) for n, e in table.commands.items()) if e}
    subcommands = {n: e for n, e in ((n, shown(e, info)) for n, e in table.info.items()) if e}
    return table._replace(commands=commands, info=subcommands), kept


def template_context(
    table: Table, records: Sequence[tuple[Build, Snapshot]] = ()
) -> dict[str, object]:
    commands = [table.commands[name] for name in sorted(table.commands)]
    help_text, presence = recorded_facts(records)
    permissions = sorted(
        (name, table.level_of(entry)) for entry in commands for name in entry.names
    )
    return {
        "table": table,
        "source": table.label,
        "digest": table.digest,
        "levels": table.levels,
        "default": table.default,
        "commands": commands,
        "permissions": permissions,
        "info": sorted((name, table.level_of(e)) for name, e in table.info.items()),
        "deprecated": sorted(
            (n, e.deprecated.short()) for e in commands if e.deprecated for n in e.names
        ),
        "info_deprecated": sorted(
            (name, e.deprecated.short()) for name, e in table.info.items() if e.deprecated
        ),
        "description": generate_description(table),
        "builds": [build.slug for build, _ in records],
        "inheriting": [
            table.info[n] for n in sorted(table.info) if table.info[n].permission is None
        ],
        "info_level": table.level_of(table.commands["info"])
        if "info" in table.commands
        else table.default,
        "index": sorted(
            [(name, table.level_of(e)) for e in commands for name in e.names]
            + [(f"info {n}", table.level_of(e)) for n, e in table.info.items()]
        ),
        "help": help_text,
        "presence": presence,
        "by_level": {
            level: {
                "commands": [e for e in commands if table.level_of(e) == level],
                # info subcommands with a level of their own; the rest inherit `info`'s
                "info": [
                    table.info[n] for n in sorted(table.info) if table.info[n].permission == level
                ],
            }
            for level in table.levels
        },
    }

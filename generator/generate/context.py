"""Generate stage: what the templates are given (`template_context`), the table and
records as sorted data; `in_scope` narrows both to a product's builds."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Sequence

from generator.core.model import Build, Entry, HelpEntry, Snapshot, Table, Version
from generator.core.text import one_line


def generate_description(table: Table) -> str:
    """The API description text, in the format of Proxmox's ``generate_description()``:
    the least privileged level's commands first, the most privileged's last (``root-only``
    for Proxmox's `root`, ``admin-only`` for a level named `admin`), each by position."""
    by_level: dict[str, list[str]] = {}
    for entry in table.commands.values():
        by_level.setdefault(table.level_of(entry), []).extend(entry.names)
    least, most = table.levels[0], table.levels[-1]
    free, top = sorted(by_level.pop(least, [])), sorted(by_level.pop(most, []))
    text = f"The following commands do not require any additional privilege: {', '.join(free)}\n\n"
    for level in sorted(by_level):
        names = ", ".join(sorted(by_level[level]))
        text += f"The following commands require '{level}': {names}\n\n"
    text += f"The following commands are {most}-only: {', '.join(top)}\n"
    deprecated = sorted(n for e in table.commands.values() if e.deprecated for n in e.names)
    if deprecated:
        text += f"\nThe following commands are deprecated: {', '.join(deprecated)}\n"
    return text


#: A flavour and version: one release, each of its targets a build.
_Release = tuple[str, Version]


def recorded_facts(
    records: Sequence[tuple[Build, Snapshot]],
) -> tuple[dict[str, str], dict[str, str]]:
    """Each name's (``info NAME`` too) newest help, as a comment shows it, and where it is
    present: per release, ``debian 7.2.22: all 33``, else the shorter list of who has it."""
    releases: dict[_Release, set[str]] = {}
    # Records mostly hold the same listings, loaded into the same tuples (92 records, 32
    # distinct listings): each is read once, with the builds that print it, in the order
    # of the newest build that does.
    printers: dict[int, tuple[tuple[HelpEntry, ...], str, list[tuple[_Release, str]]]] = {}
    for build, snap in records:  # oldest first
        release = (build.flavour, build.version or Version(0, 0))
        releases.setdefault(release, set()).add(build.machine)
        for listing, prefix in ((snap.commands, ""), (snap.info, "info ")):
            key = id(listing)  # records hold every listing: no id is reused
            printers[key] = printers.pop(key, (listing, prefix, []))
            printers[key][2].append((release, build.machine))
    newest: dict[str, HelpEntry] = {}
    printed_by: dict[str, tuple[int, ...]] = {}
    for key, (listing, prefix, _) in printers.items():  # the newest help wins
        for e in listing:
            for name in e.names if not prefix else (prefix + e.name,):
                newest[name] = e
                printed_by[name] = (*printed_by.get(name, ()), key)
    # QEMU's first line of help, less a parenthesis it leaves open: what a comment shows.
    first = {n: re.sub(r"\s*\([^)]*$", "", e.help.split("\n", 1)[0]) for n, e in newest.items()}
    # Most names are printed by the same few sets of listings: one line per such set.
    lines = {
        keys: _presence_line((b for k in keys for b in printers[k][2]), releases)
        for keys in set(printed_by.values())
    }
    help_text = {name: one_line(line) for name, line in first.items()}
    return help_text, {name: lines[keys] for name, keys in printed_by.items()}


def _presence_line(
    printers: Iterable[tuple[_Release, str]], releases: dict[_Release, set[str]]
) -> str:
    """Where a name is present, from the builds that print it."""
    by_release: dict[_Release, set[str]] = {}
    for release, machine in printers:
        by_release.setdefault(release, set()).add(machine)
    parts = []
    for (flavour, version), present in sorted(by_release.items()):
        every = releases[flavour, version]
        absent = every - present
        label = f"{flavour} {version.short() if version != Version(0, 0) else 'unknown'}"
        if not absent:
            parts.append(f"{label}: all {len(every)}")
        elif len(absent) < len(present):
            parts.append(f"{label}: all but {', '.join(sorted(absent))}")
        else:
            parts.append(f"{label}: {', '.join(sorted(present))}")
    return "; ".join(parts)


def in_scope(
    table: Table,
    records: Sequence[tuple[Build, Snapshot]],
    covers: Callable[[str], bool],
    vendors: Collection[str],
) -> tuple[Table, list[tuple[Build, Snapshot]]]:
    """The table and records a product shows: the builds `covers` names, the names and
    aliases they have, every entry of `vendors`; a deprecation newer than every build
    in scope is dropped."""
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

    commands = {n: s for n, e in table.commands.items() if (s := shown(e, names))}
    subcommands = {n: s for n, e in table.info.items() if (s := shown(e, info))}
    return table._replace(commands=commands, info=subcommands), kept


def template_context(
    table: Table, records: Sequence[tuple[Build, Snapshot]] = ()
) -> dict[str, object]:
    commands = [table.commands[name] for name in sorted(table.commands)]
    subcommands = [table.info[name] for name in sorted(table.info)]
    help_text, presence = recorded_facts(records)
    permissions = sorted((name, table.level_of(e)) for e in commands for name in e.names)
    info = [(e.name, table.level_of(e)) for e in subcommands]
    info_entry = table.commands.get("info")
    return {
        "table": table,
        "source": table.label,
        "digest": table.digest,
        "levels": table.levels,
        "default": table.default,
        "commands": commands,
        "entries": list(table.commands.values()),  # in the table's order
        "permissions": permissions,
        "info": info,
        "deprecated": sorted(
            (n, e.deprecated.since()) for e in commands if e.deprecated for n in e.names
        ),
        "info_deprecated": [(e.name, e.deprecated.since()) for e in subcommands if e.deprecated],
        "description": generate_description(table),
        "builds": [build.slug for build, _ in records],
        "inheriting": [e for e in subcommands if e.permission is None],
        "info_level": table.level_of(info_entry) if info_entry else table.default,
        "index": sorted(permissions + [(f"info {name}", level) for name, level in info]),
        "help": help_text,
        "presence": presence,
        "by_level": {
            level: {
                "commands": [e for e in commands if table.level_of(e) == level],
                # info subcommands with a level of their own; the rest inherit `info`'s
                "info": [e for e in subcommands if e.permission == level],
            }
            for level in table.levels
        },
    }

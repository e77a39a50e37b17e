"""What the templates are given: the table and the recorded builds as plain, sorted data.

Entry point: `template_context`. Pure. The API description text is built here,
once (`generate_description`); every output that carries it gets this text.
"""

from __future__ import annotations

from collections.abc import Sequence

from generator.model import ROOT, UNPRIVILEGED, Build, Snapshot, Table
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
    help_text: dict[str, str] = {}
    have: dict[str, dict[str, set[str]]] = {}
    releases: dict[str, set[str]] = {}
    # Builds of one release mostly print the same listings, parsed once into the
    # same tuples: fold their text once per listing, not once per build.
    folded: dict[int, list[tuple[str, str]]] = {}
    for build, snap in records:  # oldest first, so the newest help wins
        release = f"{build.flavour} {build.version.short() if build.version else 'unknown'}"
        where = build.slug.removeprefix(f"{build.flavour}-{build.version or 'unknown'}-")
        releases.setdefault(release, set()).add(where)
        for listing, prefix in ((snap.commands, ""), (snap.info, "info ")):
            if id(listing) not in folded:
                folded[id(listing)] = [
                    (prefix + n, one_line(e.help))
                    for e in listing
                    for n in (e.names if not prefix else (e.name,))
                ]
            for name, text in folded[id(listing)]:
                help_text[name] = text
                have.setdefault(name, {}).setdefault(release, set()).add(where)
    presence = {}
    for name, by_release in have.items():
        parts = []
        for release in sorted(by_release, key=_release_key):
            present, every = by_release[release], releases[release]
            absent = every - present
            if not absent:
                parts.append(f"{release}: all {len(every)}")
            elif len(absent) < len(present):
                parts.append(f"{release}: all but {', '.join(sorted(absent))}")
            else:
                parts.append(f"{release}: {', '.join(sorted(present))}")
        presence[name] = "; ".join(parts)
    return help_text, presence


def _release_key(release: str) -> tuple[str, tuple[int, ...]]:
    flavour, _, version = release.partition(" ")
    return flavour, tuple(int(p) for p in version.split(".") if p.isdigit())


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
        "help": help_text,
        "presence": presence,
        "by_level": {
            level: {
                "commands": [e for e in commands if table.level_of(e) == level],
                "info": [
                    table.info[n]
                    for n in sorted(table.info)
                    if table.level_of(table.info[n]) == level
                ],
            }
            for level in table.levels
        },
    }

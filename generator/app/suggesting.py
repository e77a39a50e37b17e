"""Use case: suggest levels for commands (`suggest_for`)."""

from __future__ import annotations

from collections.abc import Sequence

from generator.app.settings import Settings
from generator.collect.records import load_records
from generator.collect.snapshot import load_snapshot
from generator.core.errors import HmpPermsError
from generator.core.model import is_command_name
from generator.suggest.rules import describe_from, load_rules, suggest
from generator.table.loader import load_table


def suggest_for(
    queries: Sequence[str], settings: Settings, snapshots: Sequence[str]
) -> list[tuple[str, str, str]]:
    """(name, level, reason) for each command name or ``info NAME``, from the text of
    the snapshots given, else of the records."""
    parsed = []
    for query in queries:
        words = query.split()
        is_info = len(words) == 2 and words[0] == "info"
        if len(words) != 1 + is_info or not is_command_name(words[-1]):
            raise HmpPermsError(f"suggest: {query!r} is not a command name or 'info NAME'")
        parsed.append((words[-1], is_info))
    table = load_table(settings.table)
    rules = load_rules(settings.rules_path, table.levels)
    if snapshots:
        described = describe_from(load_snapshot(path) for path in snapshots)
    else:
        described = describe_from(s for _, s in load_records(settings.builds, table.vendors))
    out = []
    for name, is_info in parsed:
        key = f"info {name}" if is_info else name
        s = suggest(rules, table, name, described.get(key), is_info)
        out.append((key, s.level, s.reason))
    return out

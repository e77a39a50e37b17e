"""Use case: suggest levels for commands (`suggest_for`), or measure the rules against
the table (`evaluate_rules`)."""

from __future__ import annotations

from collections.abc import Sequence

from generator.app.settings import Settings
from generator.collect.records import load_records
from generator.collect.snapshot import load_snapshot
from generator.core.errors import HmpPermsError
from generator.core.model import HelpEntry, Table, is_command_name
from generator.suggest.evaluate import Evaluation, evaluate
from generator.suggest.rules import describe_from, load_rules, suggest
from generator.table.loader import load_table


def parse_query(text: str) -> tuple[str, bool]:
    """A command name or ``info NAME``, as (name, is_info)."""
    words = text.split()
    is_info = len(words) == 2 and words[0] == "info"
    name = words[-1] if words else ""
    if len(words) != 1 + is_info or not is_command_name(name):
        raise HmpPermsError(f"suggest: {text!r} is not a command name or 'info NAME'")
    return name, is_info


def _described(settings: Settings, snapshots: Sequence[str], table: Table) -> dict[str, HelpEntry]:
    """QEMU's text for each name: of the snapshots given, else of the records."""
    if snapshots:
        return describe_from(load_snapshot(path) for path in snapshots)
    return describe_from(s for _, s in load_records(settings.builds, table.vendors))


def suggest_for(
    queries: Sequence[str], settings: Settings, snapshots: Sequence[str]
) -> list[tuple[str, str, str]]:
    """(name, level, reason) for each query, from the records' text (or the snapshots')."""
    parsed = [parse_query(q) for q in queries]
    table = load_table(settings.table)
    rules = load_rules(settings.rules_path, table.levels)
    described = _described(settings, snapshots, table)
    out = []
    for name, is_info in parsed:
        key = f"info {name}" if is_info else name
        s = suggest(rules, table, name, described.get(key), is_info)
        out.append((key, s.level, s.reason))
    return out


def evaluate_rules(settings: Settings, snapshots: Sequence[str]) -> tuple[Evaluation, str]:
    """Every table entry's suggestion compared with its decision; and the rules' path."""
    table = load_table(settings.table)
    rules = load_rules(settings.rules_path, table.levels)
    return evaluate(table, rules, _described(settings, snapshots, table)), settings.rules_path

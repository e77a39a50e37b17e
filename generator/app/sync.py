"""Use case: accept an upgrade (`sync_table`): record the builds given, and stub each command
the table does not decide with a `todo` that `lint` and `check` fail on. Entries are never
changed: the stubbed text must load with the same decisions, or nothing is written."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from generator.app.settings import Settings
from generator.check.diff import entry_text
from generator.collect.records import build_of, record_path, record_snapshots
from generator.core.errors import HmpPermsError, Location
from generator.core.files import ensure_writable, read_text, write_atomic
from generator.core.model import HelpEntry, Snapshot, Table
from generator.core.text import yaml_string
from generator.suggest.rules import Advisor, advisor, suggestion_comment
from generator.table.edit import insert_entries, table_lock
from generator.table.loader import load_for_edit, load_table

MAX_COMMENT = 160  # characters of QEMU's text quoted in a stub's comment
#: What the first character of each line `sync_table` reports means.
MARKS = (
    "(+ a stub added to the table, ? an entry none of these builds has, kept;"
    " @ where a build is recorded)"
)


def sync_table(settings: Settings, snapshots: Sequence[Snapshot], write: bool) -> list[str]:
    """Stub every undecided command of `snapshots`, with a level the rules suggest; with
    `write`, record them and save. Returns what to tell the user: each change, what its
    marks mean, what was written."""
    with table_lock(settings.table) if write else contextlib.nullcontext():
        return _plan(settings, read_text(settings.table), snapshots, write)


def _plan(settings: Settings, text: str, snapshots: Sequence[Snapshot], write: bool) -> list[str]:
    path, builds_dir = settings.table, settings.builds
    table, layout = load_for_edit(path, text)
    advise = advisor(table, settings.rules_path)
    changes = []
    newest = sorted(snapshots, key=lambda s: (s.version is not None, s.version), reverse=True)
    planned = {}
    for section, prefix in (("commands", ""), ("info", "info ")):
        stubs = _stubs(table, newest, prefix)
        changes += [
            f"+ {prefix}{name}: stub added, awaiting a decision ({_quote(qemu)})"
            for name, (qemu, _) in sorted(stubs.items())
        ]
        planned[section] = [
            (name, _stub_fields(qemu, snap, table, advise, bool(prefix)))
            for name, (qemu, snap) in stubs.items()
        ]
    # The later section first: lines added below shift nothing above, so the loader's
    # positions hold for every edit; a section the table lacks goes at the end.
    at = {name: s.line for name, s in layout.sections.items()}
    new_text = text
    for section in sorted(planned, key=lambda s: at.get(s, layout.lines), reverse=True):
        new_text = insert_entries(path, new_text, layout, section, planned[section])
    changes += _gone(table, snapshots)
    if new_text != text:
        try:  # the same rules, or nothing; the text's lines were never written: none named
            stubbed = load_table(path, new_text, allow_todo=True)
        except HmpPermsError as exc:
            raise HmpPermsError(
                f"{path}: with the stubs added the table would not load ({exc.message}): its"
                " layout defeats the line editor; add the entries by hand; nothing written"
            ) from None
        if _decisions(table) != _decisions(stubbed) or not table.todo.keys() <= stubbed.todo.keys():
            raise HmpPermsError(f"{path}: sync would change entries it must keep; nothing written")
    for snap in snapshots:  # a build that cannot be recorded is refused on a dry run too
        record = record_path(snap, builds_dir, table.vendors)
        changes.append(f"@ {record}: {snap.label}")
    lines = [*changes, MARKS] if changes else []
    if not write:
        return [*lines, "(dry run: add --write to record the builds and add the stubs)"]
    if new_text != text:
        ensure_writable(path)  # the table too, before any record is written
    for record, changed in record_snapshots(snapshots, builds_dir, table.vendors):
        lines.append(f"{record}: {'recorded' if changed else 'unchanged'}")
    done = "stubs added; choose a level and write a rationale for each"
    return [*lines, f"{path}: {done if write_atomic(path, new_text) else 'unchanged'}"]


def _decisions(table: Table) -> object:
    """Everything the table decides, without line numbers (which a stub shifts)."""
    entries = [
        (prefix + name, entry._replace(where=Location(table.path, 0)))
        for prefix, section in (("", table.commands), ("info ", table.info))
        for name, entry in section.items()
        if prefix + name not in table.todo
    ]
    return [table.levels, table.default, dict(table.vendors), dict(table.descriptions), entries]


def _stubs(
    table: Table, newest: Sequence[Snapshot], prefix: str
) -> dict[str, tuple[HelpEntry, Snapshot]]:
    """Names the builds have and the table neither decides nor has stubbed yet."""
    entries = table.info if prefix else table.commands
    aliases = {a for e in entries.values() for a in e.aliases}
    found: dict[str, tuple[HelpEntry, Snapshot]] = {}
    for snap in newest:
        if prefix and (table.inherit_info or not snap.raw_info):
            continue  # `info` decides every subcommand, or the build says nothing of them
        for qemu in snap.info if prefix else snap.commands:
            name = qemu.name
            if name in entries or name in aliases or prefix + name in table.todo:
                continue  # an alias QEMU made a command of its own: `check` reports it
            found.setdefault(name, (qemu, snap))
    return found


def _stub_fields(
    qemu: HelpEntry, snap: Snapshot, table: Table, advise: Advisor | None, is_info: bool
) -> list[str]:
    """QEMU's text and a suggested level as comments, then the `todo` that `lint` refuses:
    a suggestion is never a decision."""
    build = build_of(snap, table.vendors).slug
    fields = [f"# QEMU {build}: {_quote(qemu)}"]
    if advise is not None:
        fields.append(suggestion_comment(advise(qemu.name, qemu, is_info)))
    if is_info:
        fields.append(
            "# a bare key inherits the level of `info`; give it `permission:` and"
            " `rationale:` to override"
        )
    if qemu.aliases:
        fields.append(f"aliases: [{', '.join(yaml_string(a) for a in qemu.aliases)}]")
    fields.append(
        "todo: "
        + yaml_string(f"new in {build}: choose a permission, write a rationale, remove this line")
    )
    return fields


def _quote(qemu: HelpEntry) -> str:
    """QEMU's params and help on one printable line, safe inside a YAML comment."""
    text = "".join(c if c.isprintable() else "?" for c in entry_text(qemu))  # one line
    return text if len(text) <= MAX_COMMENT else text[: MAX_COMMENT - 3] + "..."


def _gone(table: Table, snapshots: Sequence[Snapshot]) -> list[str]:
    """Entries none of the builds given has: kept, and said, so a person can look."""
    lines = []
    for prefix, entries in (("", table.commands), ("info ", table.info)):
        present: set[str] = set()
        for snap in snapshots:
            if prefix and not snap.raw_info:
                present.update(entries)  # no info listing: nothing is known to be gone
            for e in snap.info if prefix else snap.commands:
                present.update(e.names)
        for name in sorted(entries):
            if name not in present and entries[name].vendor is None:
                lines.append(f"? {prefix}{name}: kept; none of the builds given has it")
    return lines

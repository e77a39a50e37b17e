"""Table stage: where each section and entry stands in the table's text (`index_layout`,
which the loader calls), and new entries added there as whole lines (`insert_entries`),
every other byte kept; a flow-style section is refused, never approximated."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import NamedTuple

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from generator.core.errors import HmpPermsError, Location

EDITED = ("commands", "info")  # the sections `sync` adds entries to
LOCK_WAIT = 30.0  # seconds to wait for another `sync --write` on the same table
_DOCUMENT_MARK = re.compile(r"(?:\.\.\.|---)(?:[ \t].*)?\r?\n?")
# A key that needs no quotes: it cannot be read as anything but this string.
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
#: YAML 1.1 and 1.2 read these (in any case) as booleans or null.
_YAML_WORDS = frozenset(("y", "n", "yes", "no", "on", "off", "true", "false", "null"))


class Section(NamedTuple):
    """Where a section `sync` adds entries to stands (0-based lines)."""

    line: int  # its key's line
    style: str  # "block", "flow" (`{...}`), "null" (no entries yet)
    key_col: int = 2  # the column of its entries' keys
    field_col: int = 4  # the column of their fields
    entries: tuple[tuple[str, int, int], ...] = ()  # (name, key line, first line after its text)
    end: int = 0  # the first line after the section's own text
    null_word: tuple[int, int] | None = None  # the columns of `null` or `~` on the key's line


class Layout(NamedTuple):
    """The position index of a table's text; only `sync` edits against it."""

    line_end: str  # "\n" or "\r\n": as the file's first line ends
    lines: int
    append_at: int  # where a section the table lacks is added
    sections: Mapping[str, Section]


def split_lines(text: str) -> list[str]:
    """Lines with their ends, split at LF only (as YAML and git see them)."""
    return [line for line in re.split(r"(?<=\n)", text) if line]


def _content_end(node: Node) -> int:
    """The first line after a node's own text: a comment line before it may be
    part of a block scalar (`|` text may hold `# ...` lines, `|+` keeps blank ones)."""
    while not getattr(node, "flow_style", False) and node.value:
        if isinstance(node, MappingNode):
            node = node.value[-1][1]
        elif isinstance(node, SequenceNode):
            node = node.value[-1]
        else:
            break
    end = node.end_mark
    return int(end.line if end.column == 0 else end.line + 1)


def _entry_end(key: ScalarNode, value: Node) -> int:
    """The first line after an entry's text. A bare key (`usbhost:`) ends on its own
    line, wherever a composer puts the end of the empty value."""
    if isinstance(value, ScalarNode) and value.value == "" and not value.style:
        return int(key.start_mark.line + 1)
    return max(int(key.start_mark.line) + 1, _content_end(value))


def index_layout(text: str, root: MappingNode) -> Layout:
    lines = split_lines(text)
    line_end = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    # Where a section the table lacks goes: after the document's content, before a
    # document end (`...`) or a next document (`---`) if one follows it.
    marks = (n for n in range(_content_end(root), len(lines)) if _DOCUMENT_MARK.fullmatch(lines[n]))
    append_at = next(marks, len(lines))
    sections = {}
    for key, value in root.value:
        if isinstance(key, ScalarNode) and key.value in EDITED:
            sections[key.value] = _section(key, value, len(lines))
    return Layout(line_end, len(lines), append_at, sections)


def _section(key: ScalarNode, value: Node, total: int) -> Section:
    line = key.start_mark.line
    if isinstance(value, MappingNode) and value.flow_style:
        return Section(line, "flow")
    if isinstance(value, MappingNode):
        entries = tuple((str(k.value), k.start_mark.line, _entry_end(k, v)) for k, v in value.value)
        key_col = value.value[0][0].start_mark.column  # a block mapping has an entry
        field_col = next(
            (
                v.value[0][0].start_mark.column
                for _, v in value.value
                if isinstance(v, MappingNode) and v.value and not v.flow_style
            ),
            key_col + 2,
        )
        end = value.end_mark.line if value.end_mark.column == 0 else total
        return Section(line, "block", key_col, field_col, entries, min(end, total))
    # The loader took the table, so this is `info:` with nothing under it yet, or `info:
    # null` or `info: ~`, the word on the key's line.
    word = None
    if value.value and value.start_mark.line == line:
        word = (value.start_mark.column, value.end_mark.column)
    return Section(line, "null", end=line + 1, null_word=word)


def yaml_key(name: str) -> str:
    """A command name as a mapping key that every YAML reader reads as that string."""
    if _PLAIN_KEY.fullmatch(name) and name.lower() not in _YAML_WORDS:
        return name
    return "'" + name.replace("'", "''") + "'"


def insert_entries(
    path: str,
    text: str,
    layout: Layout,
    section: str,
    entries: Sequence[tuple[str, Sequence[str]]],
) -> str:
    """`text` with a new entry in `section` for each (name, field lines), before the first
    that sorts after it and its comments, or after the last. `layout` is of `text`, or of
    a text that differs only below this section (so edit the later section first)."""
    if not entries:
        return text
    lines = split_lines(text)
    eol = layout.line_end
    inserts: dict[int, list[str]] = {}
    found = layout.sections.get(section)
    if found is None:  # its key goes in first, and the entries after it as below a key
        inserts[layout.append_at] = [f"{section}:{eol}"]
        found = Section(layout.append_at - 1, "null", end=layout.append_at)
    elif found.style == "flow":
        raise HmpPermsError(
            f"'{section}' is written in flow style ({{...}}); entries can only be added"
            " to a block mapping: rewrite it in block style",
            Location(path, found.line + 1),
        )
    elif found.null_word is not None:  # `info: null`: the word goes, the entries follow
        row = lines[found.line]
        start, end = found.null_word
        head, rest = row[:start], row[end:]
        if not rest.strip():
            head, rest = head.rstrip(" \t"), rest.lstrip(" \t")
        lines[found.line] = head + rest
    end_line = min(found.end, len(lines))
    for name, fields in sorted(entries):
        after = [line for n, line, _ in found.entries if n > name]
        at = min(after) if after else end_line
        # Never back into the text of the entry above: back over the comments no deeper
        # than the entries' keys (a deeper one belongs to the key above), and at the
        # section's end over blank lines too.
        floor = max([found.line + 1] + [end for _, line, end in found.entries if line < at])
        while at > floor and (
            (
                (above := lines[at - 1]).strip().startswith("#")
                and len(above) - len(above.lstrip(" ")) <= found.key_col
            )
            or (not after and not above.strip())
        ):
            at -= 1
        block = [f"{' ' * found.key_col}{yaml_key(name)}:{eol}"]
        block += [f"{' ' * found.field_col}{field}{eol}" for field in fields]
        inserts.setdefault(at, []).extend(block)
    if len(lines) in inserts and lines and not lines[-1].endswith("\n"):
        lines[-1] += eol  # only a last line that gets lines after it gains an end
    for at in sorted(inserts, reverse=True):
        lines[at:at] = inserts[at]
    return "".join(lines)


@contextlib.contextmanager
def table_lock(path: str) -> Iterator[None]:
    """Hold an advisory lock on the table's folder while its text is read and replaced
    (the file is replaced by a rename: a lock on it would guard the old copy)."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise HmpPermsError(f"{folder}: cannot lock: {exc.strerror}") from None
    try:
        deadline = time.monotonic() + LOCK_WAIT
        while True:
            with contextlib.suppress(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            if time.monotonic() > deadline:
                raise HmpPermsError(
                    f"{path}: another hmp-perms is rewriting this table; tried for {LOCK_WAIT:g} s"
                )
            time.sleep(0.05)
        yield
    finally:
        os.close(fd)

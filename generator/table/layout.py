"""Table stage: where each section and entry stands in the table's text.

Entry point: `index_layout`, which the loader calls; `edit` inserts lines at its positions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from generator.core.yamlnodes import is_null

EDITED = ("commands", "info")  # the sections `sync` adds entries to
_DOCUMENT_MARK = re.compile(r"(?:\.\.\.|---)(?:[ \t].*)?\r?\n?")


class Section(NamedTuple):
    """Where a section `sync` adds entries to stands (0-based lines)."""

    line: int  # its key's line
    style: str  # "block", "flow" (`{...}`), "null" (no entries yet), "other" (not a mapping)
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
    first = text.find("\n")
    line_end = "\r\n" if first > 0 and text[first - 1] == "\r" else "\n"
    # Where a section the table lacks goes: after the document's content, before a
    # document end (`...`) or a next document (`---`) if one follows it.
    append_at = len(lines)
    for number in range(_content_end(root), len(lines)):
        if _DOCUMENT_MARK.fullmatch(lines[number]):
            append_at = number
            break
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
        key_col, field_col = 2, 4
        if value.value:
            key_col = value.value[0][0].start_mark.column
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
    if is_null(value):
        # `info:` with nothing under it yet; `info: null` or `info: ~` on the key's line
        word = None
        if value.value and value.start_mark.line == line:
            word = (value.start_mark.column, value.end_mark.column)
        return Section(line, "null", end=line + 1, null_word=word)
    return Section(line, "other")

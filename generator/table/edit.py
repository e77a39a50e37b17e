"""Edit the table's text in place: add entries, and nothing else.

Entry points: `insert_entries` and `table_lock`.

The loader knows the line of every key, so a change is made by inserting
whole lines at those positions; every other byte (comments, quoting,
indentation, CRLF line ends, a byte-order mark) stays as it was. Where a change
cannot be made that way (a section in flow style), the edit is refused, never
approximated.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import time
from collections.abc import Iterator, Sequence

from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from generator.errors import HmpPermsError, SourceInfo

LOCK_WAIT = 30.0  # seconds to wait for another `sync --write` on the same table
# A key that needs no quotes: it cannot be read as anything but this string.
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_YAML_WORDS = frozenset(
    ["y", "n", "yes", "no", "on", "off", "true", "false", "null"]
)  # YAML 1.1 and 1.2 read these (in any case) as booleans or null


def split_lines(text: str) -> list[str]:
    """Lines with their ends, split at LF only (as YAML and git see them)."""
    return [line for line in re.split(r"(?<=\n)", text) if line]


def line_end(text: str) -> str:
    first = text.find("\n")
    return "\r\n" if first > 0 and text[first - 1] == "\r" else "\n"


def yaml_key(name: str) -> str:
    """A command name as a mapping key that every YAML reader reads as that string."""
    if _PLAIN_KEY.fullmatch(name) and name.lower() not in _YAML_WORDS:
        return name
    return "'" + name.replace("'", "''") + "'"


def yaml_string(text: str) -> str:
    """A single-quoted YAML scalar on one line."""
    return "'" + " ".join(text.split()).replace("'", "''") + "'"


def _root(path: str, text: str) -> MappingNode:
    from generator.table.loader import compose, yaml_error

    try:
        root = compose(path, text)
    except MarkedYAMLError as exc:
        raise yaml_error(path, exc) from None
    if not isinstance(root, MappingNode):
        raise HmpPermsError("the table must be a mapping at the top", SourceInfo(path, 1))
    return root


def _section(root: MappingNode, name: str) -> tuple[ScalarNode, Node] | None:
    for key, value in root.value:
        if isinstance(key, ScalarNode) and key.value == name:
            return key, value
    return None


def section_line(path: str, text: str, name: str) -> int | None:
    """The line of a top-level key, or None when the table has none."""
    found = _section(_root(path, text), name)
    return None if found is None else int(found[0].start_mark.line)


def _is_comment_or_blank(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


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


def insert_entries(
    path: str, text: str, section: str, entries: Sequence[tuple[str, Sequence[str]]]
) -> str:
    """`text` with a new entry in `section` for each (name, field lines), in name order.

    Each entry goes before the first entry whose name sorts after it (before the
    comments just above that one), or after the section's last entry; field
    lines are indented like the table's own fields and end like its lines.
    """
    from generator.table.loader import is_null

    if not entries:
        return text
    lines = split_lines(text)
    eol = line_end(text)
    root = _root(path, text)
    found = _section(root, section)
    key_col, field_col = 2, 4
    existing: list[tuple[str, int, int]] = []  # (name, line, first line after its text)
    if found is None:
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += eol
        lines.append(f"{section}:{eol}")
        section_line = len(lines) - 1
        end_line = len(lines)
    else:
        skey, svalue = found
        section_line = skey.start_mark.line
        if isinstance(svalue, MappingNode):
            if svalue.flow_style:
                raise HmpPermsError(
                    f"'{section}' is written in flow style ({{...}}); entries can only be added"
                    " to a block mapping: rewrite it in block style",
                    SourceInfo(path, section_line + 1),
                )
            existing = [
                (str(k.value), k.start_mark.line, max(k.start_mark.line + 1, _content_end(v)))
                for k, v in svalue.value
            ]
            if existing:
                key_col = svalue.value[0][0].start_mark.column
                for _, v in svalue.value:
                    if isinstance(v, MappingNode) and v.value and not v.flow_style:
                        field_col = v.value[0][0].start_mark.column
                        break
                else:
                    field_col = key_col + 2
            end_line = svalue.end_mark.line if svalue.end_mark.column == 0 else len(lines)
        elif is_null(svalue):
            end_line = section_line + 1  # `info:` with nothing under it yet
            if svalue.value and svalue.start_mark.line == section_line:
                # `info: null` or `info: ~`: the word goes, the entries follow the colon
                row = lines[section_line]
                head, rest = row[: svalue.start_mark.column], row[svalue.end_mark.column :]
                if not rest.strip():
                    head, rest = head.rstrip(" \t"), rest.lstrip(" \t")
                lines[section_line] = head + rest
        else:
            raise HmpPermsError(
                f"'{section}' must be a mapping; run `hmp-perms lint`",
                SourceInfo(path, section_line + 1),
            )
        end_line = min(end_line, len(lines))
    inserts: dict[int, list[str]] = {}
    for name, fields in sorted(entries):
        after = [line for n, line, _ in existing if n > name]
        at = min(after) if after else end_line
        # Never back into the text of the entry above: only real comments are passed.
        floor = max([section_line + 1] + [end for _, line, end in existing if line < at])
        if after:
            while at > floor and lines[at - 1].strip().startswith("#"):
                at -= 1
        else:
            while (
                at > floor
                and _is_comment_or_blank(lines[at - 1])
                and (not lines[at - 1].strip() or _indent(lines[at - 1]) <= key_col)
            ):
                at -= 1
        block = [f"{' ' * key_col}{yaml_key(name)}:{eol}"]
        block += [f"{' ' * field_col}{field}{eol}" for field in fields]
        inserts.setdefault(at, []).extend(block)
    if len(lines) in inserts and lines and not lines[-1].endswith("\n"):
        lines[-1] += eol  # only a last line that gets lines after it gains an end
    out: list[str] = []
    for i in range(len(lines) + 1):
        out += inserts.get(i, [])
        if i < len(lines):
            out.append(lines[i])
    return "".join(out)


@contextlib.contextmanager
def table_lock(path: str) -> Iterator[None]:
    """Hold an advisory lock on the table's folder while its text is read and replaced.

    The folder, not the file: the file is replaced by a rename, so a lock on it
    would guard the old copy. Nothing is created, so nothing is left behind.
    """
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise HmpPermsError(f"{folder}: cannot lock: {exc.strerror}") from None
    try:
        deadline = time.monotonic() + LOCK_WAIT
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise HmpPermsError(
                        f"{path}: another hmp-perms is rewriting this table; tried for"
                        f" {LOCK_WAIT:g} s"
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)

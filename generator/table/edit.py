"""Table stage: add entries to the table's text, and nothing else.

Entry points: `insert_entries` (whole lines at the loader's positions, every other byte
kept; a flow-style section is refused, never approximated) and `table_lock`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import time
from collections.abc import Iterator, Sequence

from generator.core.errors import HmpPermsError, Location
from generator.table.layout import Layout, Section, split_lines

LOCK_WAIT = 30.0  # seconds to wait for another `sync --write` on the same table
# A key that needs no quotes: it cannot be read as anything but this string.
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
#: YAML 1.1 and 1.2 read these (in any case) as booleans or null.
_YAML_WORDS = frozenset(("y", "n", "yes", "no", "on", "off", "true", "false", "null"))


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
    """`text` with a new entry in `section` for each (name, field lines), in name order.

    `layout` is of `text`, or of a text that differs only below this section (so edit
    the later section first). Each entry goes before the first that sorts after it
    (and the comments above that one), or after the last."""
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
    elif found.style == "other":
        raise HmpPermsError(
            f"'{section}' must be a mapping; run `hmp-perms lint`",
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

"""Parse stage: QEMU's ``help`` / ``info`` listing into `HelpEntry` values; pure.

One entry per command, ``name[|alias...] params -- help``, help continued on lines
that start with a tab, params (``drive_add``) on lines that start with ``[``. A line
holds printable text only, and an entry at most `MAX_ENTRY` characters (QEMU's longest
is 734), so no later stage is handed megabytes as one command.
"""

from __future__ import annotations

import functools

from generator.core.errors import HmpPermsError, Location
from generator.core.model import HelpEntry, is_command_name
from generator.core.text import describe_char, unprintable

SEPARATOR = " -- "
MAX_ENTRY = 4096  # characters of one entry, its lines and their line breaks


def parse_help(text: str, source: str = "<help>", prefix: str = "") -> tuple[HelpEntry, ...]:
    """A ``help`` listing's entries (with ``prefix="info "``, an ``info`` one's), sorted
    by name; a line that starts no entry and continues none is an error at its line."""
    try:
        return _parse_listing(text, prefix)
    except HmpPermsError as exc:
        line = exc.where.line if exc.where else 1
        raise HmpPermsError(exc.message, Location(source, line)) from None


def _bad(message: str, line: int) -> HmpPermsError:
    return HmpPermsError(message, Location("", line))  # `parse_help` names the file


@functools.lru_cache(maxsize=64)
def _parse_listing(text: str, prefix: str) -> tuple[HelpEntry, ...]:
    """`parse_help` without the source's name: a listing many builds print is parsed once."""
    entries: dict[str, HelpEntry] = {}
    seen: dict[str, int] = {}
    start, head = 0, ""  # the entry being read: its line and its name field
    params: list[str] = []
    help_lines: list[str] | None = None  # None until " -- " was seen

    def finish(end: int) -> None:  # take the entry of lines `start` to `end`
        if not head:
            return
        names = head.split("|")
        if len("\n".join(lines[start - 1 : end])) - len(prefix) > MAX_ENTRY:
            raise _bad(
                f"entry {names[0][:40]!r} is over {MAX_ENTRY} characters long:"
                " no QEMU prints one so long",
                start,
            )
        if help_lines is None:
            raise _bad(f"entry {head!r} has no ' -- ' before its help", start)
        params_text = "\n".join(params)
        # 7.2 repeats some names in params ("nbd_server_add nbd_server_add [-w] ...").
        first, _, after = params_text.partition(" ")
        if first == names[0]:
            params_text = after
        entries[names[0]] = HelpEntry(
            names[0], tuple(names[1:]), params_text, "\n".join(help_lines), start
        )

    text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    while lines and not lines[-1]:
        lines.pop()  # the listing's final newline(s)
    # One scan clears the common case; a line is looked at only when it might fail.
    clean = unprintable(text, "\n\t") is None
    for lineno, line in enumerate(lines, 1):
        body = line.lstrip("\t")
        bad = None if clean and "\t" not in body else unprintable(body)
        if bad:  # help text reaches terminals and CI pages
            raise _bad(
                f"holds the control character {describe_char(bad[0])}, which no listing may hold",
                lineno,
            )
        if line.startswith("\t"):
            if help_lines is None:
                raise _bad("tab-indented line does not continue any help text", lineno)
            help_lines.append(line)
            continue
        if not line.strip():
            if line == "" and help_lines is not None and help_lines[-1] != "":
                # Help that ends in a newline (s390x `dump-skeys`) leaves an empty line.
                help_lines.append("")
                continue
            raise _bad("blank line inside the listing", lineno)
        if line.startswith("["):
            if not head or help_lines is not None:
                raise _bad("line starting with '[' does not continue any params", lineno)
            params_part, sep, help_part = line.partition(SEPARATOR)
            params.append(params_part)
            help_lines = [help_part] if sep else None
            continue
        finish(lineno - 1)
        if not line.startswith(prefix):
            raise _bad(f"line does not start with {prefix!r}: {line[:60]!r}", lineno)
        line = line[len(prefix) :]
        start = lineno
        head, _, rest = line.partition(" ")
        if not head:
            raise _bad(f"line starts with a space: {line[:60]!r}", lineno)
        for n in head.split("|"):
            if not is_command_name(n):
                raise _bad(f"{n!r} is not a command name ([A-Za-z0-9_?-]+)", lineno)
            if n in seen:
                raise _bad(f"{n!r} is listed twice (first on line {seen[n]})", lineno)
            seen[n] = lineno
        # rest is "params -- help": empty params leave rest starting with " -- ".
        params_part, sep, help_part = (" " + rest).partition(SEPARATOR)
        params = [params_part[1:]]
        help_lines = [help_part] if sep else None
    finish(len(lines))
    return tuple(entries[name] for name in sorted(entries))

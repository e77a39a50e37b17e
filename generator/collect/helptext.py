"""Parse stage: QEMU's ``help`` / ``info`` listing into `HelpEntry` values.

Entry point: `parse_help`. Pure: text in, entries out.

QEMU prints one entry per command, ``name[|alias...] params -- help``, built
from ``hmp-commands.hx``. The strings there may hold ``\\n\\t\\t\\t``, so an
entry can go on over more lines: help goes on on lines that start with a tab,
params (``drive_add``) on lines that start at column 0 with ``[``. Empty params
leave two spaces before ``--``. Help text that ends in a newline leaves one empty
line after its entry. Over QMP the lines end in CRLF. The ``info``
listing is the same with every entry prefixed ``info ``. A line holds printable
text only, after the TABs that start a continuation line: anything else is
refused with its line, here, whichever way the listing came.

An entry is bounded: QEMU's longest (``dump-guest-memory`` in 10.0, its help
over twelve lines) is 734 characters, and one over `MAX_ENTRY` is refused with
the line it starts on, so no later stage (the suggester's patterns, reports)
is handed megabytes as one command's text.
"""

from __future__ import annotations

import functools

from generator.core.errors import HmpPermsError, Location
from generator.core.model import HelpEntry, is_command_name
from generator.core.text import describe_char, unprintable

SEPARATOR = " -- "
#: Characters of one entry, all its lines and their line breaks: over five times
#: the longest QEMU prints (734), far under what would slow anything down.
MAX_ENTRY = 4096


def parse_help(text: str, source: str = "<help>", prefix: str = "") -> tuple[HelpEntry, ...]:
    """Parse a ``help`` listing (or, with ``prefix="info "``, an ``info`` one).

    Every line must be placed: a line that starts no entry and continues none
    is an error naming its line, never dropped. Entries come back sorted by
    name; a name or alias outside ``[A-Za-z0-9_?-]+`` is an error.
    """
    try:
        return _parse_listing(text, prefix)
    except HmpPermsError as exc:
        line = exc.where.line if exc.where else 1
        raise HmpPermsError(exc.message, Location(source, line)) from None


@functools.lru_cache(maxsize=64)
def _parse_listing(text: str, prefix: str) -> tuple[HelpEntry, ...]:
    """`parse_help` without the source's name, so that the many builds that print the
    same listing (62 recorded builds print 8 different ones) parse it once."""
    source = ""  # named by `parse_help`
    entries: dict[str, HelpEntry] = {}
    seen: dict[str, int] = {}
    # The entry being read: its line, its name field, params lines, help lines.
    start = 0
    head = ""
    params: list[str] = []
    help_lines: list[str] | None = None  # None until " -- " was seen
    size = 0  # characters of the entry so far

    def grow(line: str, lineno: int) -> None:
        nonlocal size
        size += len(line) + (1 if lineno > start else 0)
        if size > MAX_ENTRY:
            name = (head or line).partition(" ")[0].split("|")[0]
            raise HmpPermsError(
                f"entry {name[:40]!r} is over {MAX_ENTRY} characters long:"
                " no QEMU prints one so long",
                Location(source, start),
            )

    def finish() -> None:
        if not head:
            return
        if help_lines is None:
            raise HmpPermsError(
                f"entry {head!r} has no ' -- ' before its help", Location(source, start)
            )
        names = head.split("|")
        params_text = "\n".join(params)
        # Some builds repeat the name in params (7.2: "nbd_server_add
        # nbd_server_add [-w] ..."); drop it so params compare across releases.
        first, _, after = params_text.partition(" ")
        if first == names[0]:
            params_text = after
        entries[names[0]] = HelpEntry(
            names[0], tuple(names[1:]), params_text, "\n".join(help_lines), start
        )

    text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    # One scan of the whole text clears the common case; a line is looked at only when
    # the text holds something unprintable, or the line a TAB past its start.
    clean = unprintable(text, "\n\t") is None
    for lineno, line in enumerate(lines, 1):
        body = line.lstrip("\t")
        bad = None if clean and "\t" not in body else unprintable(body)
        if bad:
            # Help text reaches terminals and CI pages: only the TABs that start a
            # continuation line are more than printable text.
            raise HmpPermsError(
                f"holds the control character {describe_char(bad[0])}, which no listing may hold",
                Location(source, lineno),
            )
        if line.startswith("\t"):
            if help_lines is None:
                raise HmpPermsError(
                    "tab-indented line does not continue any help text", Location(source, lineno)
                )
            grow(line, lineno)
            help_lines.append(line)
            continue
        if not line.strip():
            if line == "" and all(not rest for rest in lines[lineno:]):
                break  # the listing's final newline(s)
            if line == "" and help_lines is not None and help_lines[-1] != "":
                # Help text that itself ends in a newline (s390x `dump-skeys`,
                # `migration_mode`) leaves one empty line after its entry.
                grow(line, lineno)
                help_lines.append("")
                continue
            raise HmpPermsError("blank line inside the listing", Location(source, lineno))
        if line.startswith("["):
            if not head or help_lines is not None:
                raise HmpPermsError(
                    "line starting with '[' does not continue any params",
                    Location(source, lineno),
                )
            grow(line, lineno)
            params_part, sep, help_part = line.partition(SEPARATOR)
            params.append(params_part)
            if sep:
                help_lines = [help_part]
            continue
        finish()
        if prefix:
            if not line.startswith(prefix):
                raise HmpPermsError(
                    f"line does not start with {prefix!r}: {line[:60]!r}",
                    Location(source, lineno),
                )
            line = line[len(prefix) :]
        start, size, head = lineno, 0, ""
        grow(line, lineno)
        head, _, rest = line.partition(" ")
        if not head:
            raise HmpPermsError(
                f"line starts with a space: {line[:60]!r}", Location(source, lineno)
            )
        for n in head.split("|"):
            if not is_command_name(n):
                raise HmpPermsError(
                    f"{n!r} is not a command name ([A-Za-z0-9_?-]+)", Location(source, lineno)
                )
            if n in seen:
                raise HmpPermsError(
                    f"{n!r} is listed twice (first on line {seen[n]})", Location(source, lineno)
                )
            seen[n] = lineno
        # rest is "params -- help": empty params leave rest starting with " -- ".
        params_part, sep, help_part = (" " + rest).partition(SEPARATOR)
        params = [params_part[1:]]
        help_lines = [help_part] if sep else None
    finish()
    return tuple(entries[name] for name in sorted(entries))

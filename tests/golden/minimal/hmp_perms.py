# Generated from minimal/table.yaml by hmp-perms; do not edit.
# Table sha256: 678fa2238c0d4ebad7465fc3f0fbc2e69fd8026c20289d2b4b812cdcbfe749a6
# Change the table, then run: hmp-perms generate
"""Who may run which QEMU human-monitor (HMP) command.

Standard library only: copy this file anywhere and import it.

``required_permission(line)`` gives the level a command line needs, reading
the command name exactly as QEMU's HMP parser does; anything the table does
not know gets ``DEFAULT_PERMISSION``, the most privileged level.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

__all__ = [
    "DEFAULT_PERMISSION",
    "DEPRECATED",
    "DESCRIPTION",
    "INFO_DEPRECATED",
    "INFO_PERMISSIONS",
    "LEVELS",
    "PERMISSIONS",
    "TABLE_SHA256",
    "command_name",
    "generate_description",
    "required_permission",
]

TABLE_SHA256: Final = '678fa2238c0d4ebad7465fc3f0fbc2e69fd8026c20289d2b4b812cdcbfe749a6'

#: Every level, least to most privileged.
LEVELS: Final[tuple[str, ...]] = ('none', 'Sys.Modify', 'root')

#: What anything the table does not know needs: fail closed.
DEFAULT_PERMISSION: Final = 'root'

# Every command and alias -> its level; PERMISSIONS is its read-only view.
_PERMISSIONS: Final[dict[str, str]] = {
    # Writes a host file.
    'backup': 'root',
    # Resumes the guest.
    'cont': 'Sys.Modify',
    'c': 'Sys.Modify',
    # Opens host files.
    'drive_add': 'root',
    # Counterpart of drive_add.
    'drive_del': 'root',
    # Prints the command reference.
    'help': 'none',
    '?': 'none',
    # Read-only queries.
    'info': 'none',
    # Writes a host file.
    'wavcapture': 'root',
}

# Every info subcommand -> its level (inherited from ``info`` unless overridden).
_INFO_PERMISSIONS: Final[dict[str, str]] = {
    'capture': 'none',
    'status': 'none',
    'usbhost': 'root',
}

#: Every command and alias -> its level.
PERMISSIONS: Final[Mapping[str, str]] = MappingProxyType(_PERMISSIONS)

#: Every info subcommand -> its level.
INFO_PERMISSIONS: Final[Mapping[str, str]] = MappingProxyType(_INFO_PERMISSIONS)

#: Deprecated commands (aliases included) -> the QEMU release that deprecated them.
DEPRECATED: Final[Mapping[str, str]] = MappingProxyType(
    {
        'wavcapture': '10.2',
    }
)

#: Deprecated info subcommands -> the QEMU release that deprecated them.
INFO_DEPRECATED: Final[Mapping[str, str]] = MappingProxyType(
    {
        'capture': '10.2',
    }
)

# QEMU skips and stops at C-locale isspace() only, ends a name at "/" too, and
# reads a C string, so a NUL ends the line. It reads at most 255 characters.
_NAME: Final = re.compile(r"[ \t\n\v\f\r]*([^ \t\n\v\f\r/\x00]{0,255})")


def _split(line: str) -> tuple[str, int]:
    """The name and where it ends; ValueError for a blank line."""
    match = _NAME.match(line)
    assert match is not None  # the pattern matches every string
    name, end = match.group(1), match.end()
    if not name and (end == len(line) or line[end] == "\x00"):
        raise ValueError("blank command line")
    return name, end


def command_name(line: str) -> str:
    """The command name as QEMU's HMP parser reads it: ``x/10i $pc`` is ``x``.

    Raises ValueError for a blank line. The name may be empty (``/x``), which
    no command has.
    """
    return _split(line)[0]


def required_permission(line: str) -> str:
    """The level needed to run `line`; ``DEFAULT_PERMISSION`` for anything unknown."""
    # _split inlined, as this runs on every request; a blank line finds nothing.
    match = _NAME.match(line)
    assert match is not None
    name = match.group(1)
    level = _PERMISSIONS.get(name, DEFAULT_PERMISSION)
    if name != "info":
        return level
    try:
        sub = command_name(line[match.end() :])
    except ValueError:
        return level  # plain `info` lists the subcommands
    return _INFO_PERMISSIONS.get(sub, DEFAULT_PERMISSION)


def generate_description() -> str:
    """The API description text: which commands need which level."""
    by_level: dict[str, list[str]] = {}
    for name in sorted(PERMISSIONS):
        by_level.setdefault(PERMISSIONS[name], []).append(name)
    none = by_level.pop("none")
    root = by_level.pop("root")
    text = "The following commands do not require any additional privilege: "
    text += ", ".join(none) + "\n\n"
    for level in sorted(by_level):
        text += f"The following commands require '{level}': " + ", ".join(by_level[level]) + "\n\n"
    text += "The following commands are root-only: " + ", ".join(root) + "\n"
    if DEPRECATED:
        text += "\nThe following commands are deprecated: " + ", ".join(sorted(DEPRECATED)) + "\n"
    return text


DESCRIPTION: Final = generate_description()

"""Foundation: the data the stages pass on, frozen and free of I/O (`NamedTuple`s:
every run imports them all, and one costs a seventh of a dataclass)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple

from generator.core.errors import Location

#: What QEMU accepts as a command name, and so all this tool passes on.
NAME_RE = re.compile(r"[A-Za-z0-9_?-]+")


def is_command_name(text: str) -> bool:
    return NAME_RE.fullmatch(text) is not None


class Version(NamedTuple):
    """A QEMU release, MAJOR.MINOR[.MICRO]."""

    major: int
    minor: int
    micro: int = 0

    @classmethod
    def parse(cls, text: str) -> Version:
        m = re.fullmatch(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(?:\.(0|[1-9][0-9]*))?", text.strip())
        if m is None:
            raise ValueError(f"{text!r} is not a version (MAJOR.MINOR[.MICRO])")
        return cls(int(m[1]), int(m[2]), int(m[3] or 0))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.micro}"

    def since(self) -> str:
        """A deprecation's release as outputs name it: ``''`` for `EVERY_RELEASE`."""
        return "" if self == EVERY_RELEASE else self.short()

    def short(self) -> str:
        """``9.0`` for 9.0.0: how releases are named."""
        return f"{self.major}.{self.minor}" if self.micro == 0 else str(self)


#: A deprecation with no release given (``deprecated: {}``): it holds in every release.
EVERY_RELEASE = Version(0, 0)


class HelpEntry(NamedTuple):
    """One command as QEMU's ``help`` (or ``info``) lists it."""

    name: str
    aliases: tuple[str, ...]
    params: str
    help: str
    line: int = 0  # 1-based line in the text it was parsed from

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


class Snapshot(NamedTuple):
    """What one QEMU binary says about its monitor."""

    binary: str
    version: Version | None  # None: unknown (text captured elsewhere, version not given)
    package: str
    target: str
    commands: tuple[HelpEntry, ...]
    info: tuple[HelpEntry, ...]
    raw_help: str
    raw_info: str
    variant: str  # the binary's name, e.g. qemu-system-x86_64-microvm
    packages: tuple[str, ...]  # every package recorded with this listing, sorted
    source: str = ""  # where it was read from: a snapshot file, a text file, or live

    @property
    def given(self) -> str:
        """The base name of the file or folder it was read from, else the binary."""
        if self.source in ("", "live"):
            return self.binary
        return os.path.basename(self.source.rstrip("/")) or self.source

    def same_listing(self, other: Snapshot) -> bool:
        return (self.raw_help, self.raw_info) == (other.raw_help, other.raw_info)

    @property
    def label(self) -> str:
        return f"{self.given} ({self.version or 'unknown version'} {self.target})"


class Build(NamedTuple):
    """Which build a snapshot is of: flavour, version and binary variant."""

    flavour: str  # a table vendor, "debian", or "upstream"
    version: Version | None
    variant: str  # the binary's name: qemu-system-x86_64-microvm is not qemu-system-x86_64

    @property
    def machine(self) -> str:
        """What tells builds of one release apart: ``x86_64-microvm``."""
        return self.variant.removeprefix("qemu-system-")

    @property
    def slug(self) -> str:
        """The build's name in finding ids and record names: ``debian-10.0.13-x86_64-microvm``."""
        return f"{self.flavour}-{self.version or 'unknown'}-{self.machine}"


class Baseline(NamedTuple):
    """What a build is compared with: a record, or why there is none."""

    snapshot: Snapshot | None
    build: Build | None
    why_none: str = ""

    def newer_than(self, build: Build) -> bool:
        """A point release older than every record is compared with the lowest above it."""
        mine, theirs = self.build.version if self.build else None, build.version
        return mine is not None and theirs is not None and mine > theirs


class Entry(NamedTuple):
    """One command or info subcommand of the table: decisions only."""

    name: str
    where: Location
    permission: str | None  # None: an info subcommand inheriting `info`'s level
    rationale: str
    aliases: tuple[str, ...] = ()
    vendor: str | None = None
    follows: str | None = None
    deprecated: Version | None = None
    borrowed: bool = False  # the rationale was lent on import by the curated table
    note: str = ""  # the module's comment after the entry, written there instead of help

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


class Table(NamedTuple):
    """The loaded permission table."""

    path: str
    label: str  # the path as generated files name it: no absolute paths
    digest: str  # sha256 of the file's bytes
    levels: tuple[str, ...]  # least to most privileged
    default: str
    vendors: Mapping[str, re.Pattern[str]]
    commands: Mapping[str, Entry]
    info: Mapping[str, Entry] = MappingProxyType({})
    todo: Mapping[str, Location] = MappingProxyType({})  # stubs awaiting a decision ("info X")
    descriptions: Mapping[str, str] = MappingProxyType({})  # level -> what it allows
    inherit_info: bool = False  # `info-subcommands: inherit`

    def level_of(self, entry: Entry) -> str:
        """An entry's effective level; info subcommands inherit `info`'s."""
        if entry.permission is not None:
            return entry.permission
        parent = self.commands.get("info")
        return parent.permission or self.default if parent else self.default

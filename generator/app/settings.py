"""Where a run finds its inputs and puts its outputs, and what it collects from.

`Paths` holds every file and folder a use case reads or writes; `Sources` the
builds a run is given. The command line fills both from its options.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

DEFAULT_TABLE = "data/hmp-commands.yaml"
DEFAULT_BUILDS = "data/builds"
DEFAULT_TEMPLATES = "templates"
DEFAULT_OUT = "generated"
DEFAULT_TIMEOUT = 30.0


@dataclass(frozen=True)
class Paths:
    table: str = DEFAULT_TABLE
    builds: str = DEFAULT_BUILDS
    rules: str | None = None  # None: suggest-rules.yaml beside the table
    templates: str = DEFAULT_TEMPLATES
    out: str = DEFAULT_OUT


@dataclass(frozen=True)
class Sources:
    """The builds a run is given: QEMUs to start, to connect to, snapshot files."""

    qemu: Sequence[str] = ()  # command lines
    connect: Sequence[str] = ()  # QMP socket addresses
    snapshots: Sequence[str] = ()  # snapshot files
    all_local: bool = False  # every qemu-system-* on PATH too
    timeout: float = DEFAULT_TIMEOUT

"""Use case: start using hmp-perms in a repository (`init`): a config, a table, rules, and
the recorded builds the tool ships."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from generator.app.importing import import_perl_table
from generator.app.settings import (
    CONFIG_NAME,
    DEFAULT_BUILDS,
    DEFAULT_TABLE,
    RULES_NAME,
    SHIPPED,
    find_config,
)
from generator.core.errors import HmpPermsError
from generator.core.files import read_text, write_atomic
from generator.table.edit import split_lines
from generator.table.loader import load_for_edit

RULES = str(Path(DEFAULT_TABLE).parent / RULES_NAME)


def init(folder: Path, from_perl: str | None = None, vendor: str | None = None) -> list[str]:
    """Write the starting files into `folder`, all of them or none; refuse if any is
    already there. Returns what was written. `vendor` is for the import of `from_perl`."""
    table = _curated(vendor) if from_perl is None else import_perl_table(from_perl, None, vendor)[0]
    vendors = (
        f'["{vendor}"]' if vendor else "[]   # vendors the table declares (init --vendor NAME)"
    )
    files = {
        CONFIG_NAME: read_text(SHIPPED / "init-config.toml").replace("@VENDORS@", vendors),
        DEFAULT_TABLE: table,
        RULES: read_text(SHIPPED / "data" / RULES_NAME),
    }
    records = sorted((SHIPPED / "data" / "builds").glob("*.json"))
    if (governing := find_config(folder)) is not None:
        raise HmpPermsError(f"{governing}: already configures {folder}; init writes nothing")
    for name in (*files, DEFAULT_BUILDS):
        if os.path.lexists(folder / name):
            raise HmpPermsError(f"{folder / name}: already there; init writes nothing over it")
    builds = folder / DEFAULT_BUILDS
    # What to remove if a write fails (nothing half-done is left): what was not there.
    made = [path for path in (builds.parent, builds) if not path.exists()]
    try:
        builds.mkdir(parents=True)
        for name, text in files.items():
            write_atomic(folder / name, text)
            made.append(folder / name)
        for record in records:
            shutil.copyfile(record, builds / record.name)
    except (OSError, HmpPermsError) as exc:
        for path in reversed(made):
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
        if isinstance(exc, HmpPermsError):
            raise
        raise HmpPermsError(f"{folder}: init failed: {exc.strerror}; nothing written") from None
    return [*files, f"{DEFAULT_BUILDS}/ ({len(records)} recorded builds)"]


def _curated(vendor: str | None) -> str:
    """The curated table, less every vendor's entries and declarations but `vendor`'s:
    a product ships no vendor's commands it did not ask for."""
    path = SHIPPED / "data" / "hmp-commands.yaml"
    text = read_text(path)
    table, layout = load_for_edit(str(path), text)
    if vendor is not None and vendor not in table.vendors:
        raise HmpPermsError(
            f"--vendor {vendor}: the curated table knows no such vendor"
            f" (it knows {', '.join(sorted(table.vendors))})"
        )
    lines = split_lines(text)
    drop: set[int] = set()
    for section, entries in (("commands", table.commands), ("info", table.info)):
        for name, start, end in layout.sections[section].entries:
            if entries[name].vendor not in (None, vendor):
                drop.update(range(start, end))
    if vendor is None:  # the declarations too: one line each under `vendors:`
        start = next(i for i, line in enumerate(lines) if line.startswith("vendors:"))
        end = next(i for i in range(start + 1, len(lines)) if not lines[i].startswith(" "))
        drop.update(range(start, end))
    return "".join(line for i, line in enumerate(lines) if i not in drop)

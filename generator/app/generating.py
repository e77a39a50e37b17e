"""Use case: render the templates with the table and the records; compare or write.

Entry point: `generate`.
"""

from __future__ import annotations

from typing import NamedTuple

from generator.app.settings import Settings
from generator.collect.records import load_records
from generator.core.errors import HmpPermsError
from generator.generate.context import in_scope
from generator.generate.outputs import check_files, check_outputs, write_files, write_outputs
from generator.generate.render import render_templates
from generator.table.loader import load_table


class Generated(NamedTuple):
    diffs: tuple[str, ...] = ()  # with `check`: a unified diff per stale, missing or extra file
    written: tuple[str, ...] = ()  # without: the files that changed


def generate(settings: Settings, check: bool) -> Generated:
    """Every template, or the ones the config maps to paths, rendered for the product's
    scope; compared with what is there (`check`) or written where it changed."""
    table = load_table(settings.table)
    records = load_records(settings.builds, table.vendors)
    if settings.scope is not None:
        table, records = in_scope(table, records, settings.scope.covers, settings.scope.vendors)
    outputs = render_templates(table, settings.templates, records)
    if settings.outputs is None:
        if check:
            return Generated(diffs=tuple(check_outputs(outputs, settings.out)))
        names = write_outputs(outputs, settings.out)
        return Generated(written=tuple(f"{settings.out}/{name}" for name in names))
    unknown = sorted(set(settings.outputs) - set(outputs))
    if unknown:
        raise HmpPermsError(
            f"{settings.config}: [generate] outputs: no template makes {', '.join(unknown)}"
            f" (the templates make {', '.join(sorted(outputs))})"
        )
    files = {path: outputs[name] for name, path in settings.outputs.items()}
    if check:
        return Generated(diffs=tuple(check_files(files)))
    return Generated(written=tuple(write_files(files)))

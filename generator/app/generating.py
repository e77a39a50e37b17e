"""Use case: render the templates with the table and the records; compare or write.

Entry point: `generate`.
"""

from __future__ import annotations

from dataclasses import dataclass

from generator.app.settings import Paths
from generator.collect.records import load_records
from generator.generate.outputs import check_outputs, write_outputs
from generator.generate.render import render_templates
from generator.table.loader import load_table


@dataclass(frozen=True)
class Generated:
    diffs: tuple[str, ...] = ()  # with `check`: a unified diff per stale, missing or extra file
    written: tuple[str, ...] = ()  # without: the names of the files that changed


def generate(paths: Paths, check: bool) -> Generated:
    table = load_table(paths.table)
    outputs = render_templates(table, paths.templates, load_records(paths.builds, table.vendors))
    if check:
        return Generated(diffs=tuple(check_outputs(outputs, paths.out)))
    return Generated(written=tuple(write_outputs(outputs, paths.out)))

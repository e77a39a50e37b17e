"""Use case: render the templates with the table and the records; compare or write.

Entry point: `generate`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
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
        _refuse_inputs((f"{settings.out}/{name}" for name in outputs), settings)
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
    _refuse_inputs(files, settings)
    if check:
        return Generated(diffs=tuple(check_files(files)))
    return Generated(written=tuple(write_files(files)))


def _refuse_inputs(outputs: Iterable[str], settings: Settings) -> None:
    """No output is an input of the run, whether the config or an option named either:
    an output mapped onto the table would replace the table."""
    table = Path(settings.table).resolve()
    files = {
        table: "the table",
        Path(settings.rules).resolve() if settings.rules else table.parent / "suggest-rules.yaml": (
            "the suggestion rules"
        ),
    }
    if settings.config is not None:
        files[Path(settings.config).resolve()] = "the config file"
    folders = {
        Path(settings.builds).resolve(): "the records folder",
        Path(settings.templates).resolve(): "the templates folder",
    }
    for output in outputs:
        path = Path(output).resolve()
        what = files.get(path) or next(
            (n for f, n in folders.items() if path.is_relative_to(f)), ""
        )
        if what:
            raise HmpPermsError(f"{output}: is {what}, an input of this run; nothing written")

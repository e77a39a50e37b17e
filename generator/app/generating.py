"""Use case: render the templates with the table and the records; compare or write them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import NamedTuple

from generator.app.settings import Settings
from generator.collect.records import load_records
from generator.core.errors import HmpPermsError
from generator.core.files import refuse_inputs
from generator.core.model import Build, Snapshot, Table
from generator.generate.context import in_scope
from generator.generate.outputs import check_files, check_outputs, write_files, write_outputs
from generator.generate.render import render_templates
from generator.table.loader import load_table


class Generated(NamedTuple):
    #: with `check`: a unified diff per stale, missing or extra file, by its path
    diffs: Mapping[str, str] = MappingProxyType({})
    written: tuple[str, ...] = ()  # without: the files that changed
    #: decided commands the scope leaves out that recorded builds newer than it have
    left_out: tuple[str, ...] = ()


def generate(settings: Settings, check: bool) -> Generated:
    """Every template, or the ones the config maps to paths, rendered for the product's
    scope; compared with what is there (`check`) or written where it changed."""
    table = load_table(settings.table)
    records = load_records(settings.builds, table.vendors)
    left_out: tuple[str, ...] = ()
    if settings.scope is not None:
        settings.scope.verify(table.vendors, settings.builds)
        scoped, kept = in_scope(table, records, settings.scope.covers, settings.scope.vendors)
        left_out = _newer_than(kept, records, table, scoped)
        table, records = scoped, kept
    outputs = render_templates(table, settings.templates, records)
    mapped, out = settings.outputs, settings.out
    unknown = sorted(set(mapped or ()) - set(outputs))
    if unknown:
        raise HmpPermsError(
            f"{settings.config}: [generate] outputs: no template makes {', '.join(unknown)}"
            f" (the templates make {', '.join(sorted(outputs))})"
        )
    if mapped is None:  # every output into the folder the tool owns
        files = {f"{out}/{name}": text for name, text in outputs.items()}
    else:
        files = {path: outputs[name] for name, path in mapped.items()}
    # No output is an input of the run, whether the config or an option named either.
    inputs = {settings.table: "the table", settings.rules_path: "the suggestion rules"}
    if settings.config is not None:
        inputs[settings.config] = "the config file"
    folders = {settings.builds: "the records folder", settings.templates: "the templates folder"}
    refuse_inputs(files, inputs, folders)
    if check:
        diffs = check_outputs(outputs, out) if mapped is None else check_files(files)
        return Generated(diffs, (), left_out)
    written = write_outputs(outputs, out) if mapped is None else write_files(files)
    return Generated({}, tuple(written), left_out)


def _newer_than(
    kept: Sequence[tuple[Build, Snapshot]],
    records: Sequence[tuple[Build, Snapshot]],
    table: Table,
    scoped: Table,
) -> tuple[str, ...]:
    """The decided commands and info subcommands that a recorded build newer than every
    build in scope, of a flavour and variant in scope, has and the scoped outputs do not:
    an upgrade the scope has not taken in."""
    newest = max((b.version for b, _ in kept if b.version is not None), default=None)
    shipped = {(b.flavour, b.variant) for b, _ in kept}
    newer = [
        s
        for b, s in records
        if (b.flavour, b.variant) in shipped and b.version and (not newest or b.version > newest)
    ]
    names = {e.name for s in newer for e in s.commands} & set(table.commands)
    info = {e.name for s in newer for e in s.info} & set(table.info)
    return tuple(
        sorted(n for n in names - set(scoped.commands) if table.commands[n].permission)
        + sorted(f"info {n}" for n in info - set(scoped.info))
    )

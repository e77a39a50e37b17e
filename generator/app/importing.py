"""Use case: a Perl permission hash as a table, loaded with the table's rules before it
is written (`import_perl_table`)."""

from __future__ import annotations

from generator.app.settings import SHIPPED
from generator.collect.records import load_records
from generator.core.errors import HmpPermsError
from generator.core.files import read_text, write_atomic
from generator.perl.importer import import_perl
from generator.table.loader import load_table

CURATED = SHIPPED / "data" / "hmp-commands.yaml"


def import_perl_table(
    source: str, output: str | None, vendor: str | None = None
) -> tuple[str, list[str]]:
    """The table's text and notes for the user; written to `output` when given, after
    it loads: `lint` passes it once its `todo`s are decided. The curated table lends
    rationales and vendors' package patterns; the shipped records, the names builds have."""
    curated = load_table(str(CURATED))
    if vendor is not None and vendor not in curated.vendors:
        known = ", ".join(curated.vendors) or "none"
        raise HmpPermsError(
            f"--vendor {vendor}: no package pattern known for it (known: {known});"
            " import without --vendor and declare it in the table's vendors:"
        )
    records = load_records(str(CURATED.parent / "builds"), curated.vendors)
    recorded = {name for _, snap in records for e in snap.commands for name in e.names}
    text, notes = import_perl(
        source,
        read_text(source),
        {n: (curated.level_of(e), e.rationale) for e in curated.commands.values() for n in e.names},
        recorded,
        (vendor, curated.vendors[vendor].pattern) if vendor else None,
    )
    # A problem names the table it would be, at its line, and the module it came from.
    load_table(f"{output or '<stdout>'} (from {source})", text, allow_todo=True)
    if output:
        write_atomic(output, text)
    return text, notes

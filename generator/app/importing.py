"""Use case: a Perl permission hash as a table, loaded with the table's rules before
it is written.

Entry point: `import_perl_table`.
"""

from __future__ import annotations

from generator.core.files import write_atomic
from generator.perl.importer import import_perl
from generator.table.loader import load_table


def import_perl_table(source: str, output: str | None) -> tuple[str, list[str]]:
    """The table's text and notes for the user; written to `output` when given.

    What import-perl writes, `lint` passes: the text is loaded first."""
    text, notes = import_perl(source)
    # A problem names the table it would be, at its line, and the module it came from.
    load_table(f"{output or '<stdout>'} (from {source})", text)
    if output:
        write_atomic(output, text)
    return text, notes

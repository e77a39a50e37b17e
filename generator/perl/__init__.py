"""Perl import stage: a Perl permission hash as a table. Entry point: `importer.import_perl`."""

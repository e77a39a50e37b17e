"""Table stage: ``data/hmp-commands.yaml`` read and validated into a `Table`.

Entry point: `loader.load_table` (and `loader.lint_table`, the same rules as a
list). `edit` changes the table's text in place at the lines the loader found.
"""

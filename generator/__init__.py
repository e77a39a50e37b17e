"""hmp-perms: keep a QEMU human-monitor permission table honest.

One package per stage, below an application layer and a thin command line
(docs/architecture.md):

- ``collect``: start or connect to real QEMU builds, read their listings; the records
- ``table``: read and validate ``data/hmp-commands.yaml``
- ``suggest``: propose a level from QEMU's text
- ``check``: builds against the table and their baselines; the report formats
- ``generate``: the table through ``templates/*.j2``
- ``perl``: a Perl permission hash as a table
- ``app``: the use cases; ``cli``: the command line over them
"""

__version__ = "0.2.0"

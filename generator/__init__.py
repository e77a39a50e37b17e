"""hmp-perms: keep a QEMU human-monitor permission table honest.

The pipeline, one module per stage:

- ``launcher.collect_snapshots``: start real QEMU binaries, ask for ``help``/``info``
- ``helptext.parse_help``: turn that text into entries
- ``table.load_table``: read and validate ``data/hmp-commands.yaml``
- ``compare.check_drift``: snapshot(s) + table -> findings
- ``report.format_report``: findings -> text, json, junit, github, markdown
- ``render.render_templates``: table -> ``generated/*``
- ``cli.main``: the thin command line over all of it
"""

__version__ = "0.1.0"

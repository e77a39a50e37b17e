"""Collect stage: what a QEMU build says about its monitor, as a `Snapshot`.

Entry point: `launcher.collect_all` (start or connect, ask, stop). Beside it:
`processes` (children started, registered, killed and reaped), `monitor` (the
QMP conversation),
`helptext.parse_help` (the listing parser, pure), `snapshot` (snapshot files and
saved text) and `records` (recorded builds in ``data/builds/``, build names, and
the baseline each build is compared with).
"""

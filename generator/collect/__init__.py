"""Collect stage: what a QEMU build says about its monitor, as a `Snapshot`: started or
connected to (`launcher`), read from saved text, snapshot files (`snapshot`) or QEMU's
source (`source`), and recorded in ``data/builds/`` (`records`)."""

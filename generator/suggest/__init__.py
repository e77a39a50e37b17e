"""Suggest stage: a level for a command from QEMU's text. Entry point: `rules.suggest`."""

"""Suggest stage: propose a level for a command from what QEMU says about it.

Entry point: `rules.suggest`, with the rules read by `rules.load_rules`.
"""

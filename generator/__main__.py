"""``python -m generator`` runs the command line."""

from generator.cli.console import run

run()

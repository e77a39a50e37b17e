"""``python -m generator`` runs the command line."""

from generator.console import run

run()

"""``python -m generator`` runs the command line."""

import os

try:
    from generator.cli import run
except KeyboardInterrupt:  # Ctrl-C while starting: no traceback
    os._exit(130)

run()

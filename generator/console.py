"""The console script: signal handlers first, then the command line.

Entry point: `run`. SIGTERM and SIGHUP are handled like Ctrl-C: every QEMU
started is stopped (its whole process group), and the exit status is
128+signal (SIGINT 130, SIGHUP 129, SIGTERM 143). The handlers are installed
before the slow imports, so a signal during start-up exits the same way.
This module imports only what Python has loaded anyway.
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType
from typing import NoReturn

HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Signalled(KeyboardInterrupt):
    """A signal that ends the run; a KeyboardInterrupt, so asyncio lets it through."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


_caught: list[int] = []


def _on_signal(signum: int, frame: FrameType | None) -> None:
    # The first signal ends the run; one that comes while it cleans up must not
    # break off the cleanup (the exit status already says what happened).
    if not _caught:
        _caught.append(signum)
        raise Signalled(signum)


def install_handlers() -> None:
    for signum in HANDLED:
        signal.signal(signum, _on_signal)


def interrupted(exc: KeyboardInterrupt) -> int:
    """Stop whatever QEMU runs, say why on stderr, and give the exit status: 128+signal."""
    signum = exc.signum if isinstance(exc, Signalled) else signal.SIGINT
    launcher = sys.modules.get("generator.collect.launcher")
    if launcher is not None:
        launcher.kill_started()
    what = "" if signum == signal.SIGINT else f" ({signal.Signals(signum).name})"
    import contextlib

    with contextlib.suppress(KeyboardInterrupt, OSError):  # a late signal, a closed stderr
        print(f"hmp-perms: interrupted{what}", file=sys.stderr)
    return 128 + signum


def run() -> NoReturn:
    """`hmp-perms`: `cli.main`, then a hard exit.

    Freeing every object of ruamel.yaml, Jinja2 and asyncio at interpreter exit
    takes about 10 ms, more than the check itself (mypy skips it the same way).
    Output is flushed first; files are already closed.
    """
    install_handlers()
    try:
        from generator.cli import main

        status = main()
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BrokenPipeError:
            status = status or 1
    except KeyboardInterrupt as exc:
        status = interrupted(exc)
    os._exit(status)

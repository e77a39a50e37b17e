"""The console script: signal handlers first, then the command line, then one exit status.

Entry point: `run`. SIGTERM, SIGHUP and every other signal that would end the
process (`signals.HANDLED`) are handled like Ctrl-C: every process started is
stopped, one line says so on stderr, and the exit status is 128+signal (SIGINT
130, SIGHUP 129, SIGTERM 143), whenever the signal comes after the handlers
are in place (docs/processes.md says what holds where).
The handlers are installed before the command line is imported; this module
imports only what Python has loaded anyway, and `signals`.
"""

from __future__ import annotations

import os
import signal
import sys

from generator.collect import signals

TYPE_CHECKING = False  # typing is not imported before the handlers are in place
if TYPE_CHECKING:
    from typing import NoReturn

STOP_WITHIN = 0.5  # seconds to kill and reap what still runs (nothing, after a collection)


def interrupted(exc: KeyboardInterrupt) -> int:
    """Stop whatever still runs, say why on stderr, and give the exit status: 128+signal."""
    signals.hold()  # the run ends here: a further signal changes nothing
    signum = exc.signum if isinstance(exc, signals.Signalled) else int(signal.SIGINT)
    processes = sys.modules.get("generator.collect.processes")
    if processes is not None:  # else nothing was started
        processes.reap_all(STOP_WITHIN)
    what = "" if signum == signal.SIGINT else f" ({signals.name(signum)})"
    import contextlib

    with contextlib.suppress(OSError, ValueError):  # a closed stderr: the status still tells
        print(f"hmp-perms: interrupted{what}", file=sys.stderr)
    return 128 + signum


def run() -> NoReturn:
    """`hmp-perms`: `cli.main`, then a hard exit.

    Freeing every object of ruamel.yaml, Jinja2 and asyncio at interpreter exit
    takes about 10 ms, more than the check itself (mypy skips it the same way).
    Output is flushed first; files are already closed.
    """
    status = 2
    try:
        signals.arm()
        from generator.cli import main

        status = main()
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BrokenPipeError:
            status = status or 1
        signals.hold()
    except KeyboardInterrupt as exc:
        status = interrupted(exc)
    first = signals.caught()
    if first is not None and status != 128 + first:
        # Its Signalled was lost (swallowed by code that catches everything): still signalled.
        status = interrupted(signals.Signalled(first))
    os._exit(status)

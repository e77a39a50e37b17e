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

import contextlib
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
    with contextlib.suppress(OSError, ValueError):  # a closed stderr: the status still tells
        print(f"hmp-perms: interrupted{what}", file=sys.stderr)
    return 128 + signum


def _standard_descriptors() -> None:
    """Give a closed stdin, stdout or stderr a descriptor again, before anything is opened.

    Else the first pipe or socket of the run would take its number (a QMP socket at
    descriptor 2 would get whatever is written to stderr), and Python, which set
    `sys.stdout` to None, would send `print(file=sys.stderr)` to stdout. A closed
    stdout is a reader that is gone (a pipe whose read end is closed: the first
    write ends the run with status 141); a closed stdin or stderr is /dev/null.
    """
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
            continue
        except OSError:
            pass
        if fd == 1:
            gone, end = os.pipe()
            os.close(gone)
        else:
            end = os.open(os.devnull, os.O_RDONLY if fd == 0 else os.O_WRONLY)
        if end != fd:
            os.dup2(end, fd, inheritable=False)
            os.close(end)
        if fd == 1 and sys.stdout is None:
            sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115 - for the whole run
        if fd == 2 and sys.stderr is None:
            sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115 - for the whole run


def _exit_status(exc: SystemExit) -> int:
    """The status `sys.exit(code)` gives, as Python would make it (a text: said, then 1)."""
    if exc.code is None or isinstance(exc.code, int):
        return exc.code or 0
    with contextlib.suppress(OSError, ValueError):
        print(exc.code, file=sys.stderr)
    return 1


def _flushed(status: int) -> int:
    """`status` once what is left in stdout's buffer is written; a failed write changes it.

    A reader that went away: 141, as `exits.guarded` says it. Any other failure (a full
    disk): one line, and 2, whatever the command found (its output is lost, as when the
    write fails mid-run).
    """
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        return status or 128 + signal.SIGPIPE
    except OSError as exc:
        with contextlib.suppress(OSError, ValueError):
            print(f"hmp-perms: standard output: cannot write: {exc.strerror}", file=sys.stderr)
        return 2
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    return status


def run() -> NoReturn:
    """`hmp-perms`: `cli.main`, then a hard exit.

    Freeing every object of ruamel.yaml, Jinja2 and asyncio at interpreter exit
    takes about 10 ms, more than the check itself (mypy skips it the same way).
    Output is flushed first; files are already closed.
    """
    status = 2
    try:
        signals.arm()
        _standard_descriptors()
        from generator.cli.main import main

        try:
            status = main()
        except SystemExit as exc:  # argparse's --help, --version and usage errors
            status = _exit_status(exc)
        status = _flushed(status)
        signals.hold()
    except KeyboardInterrupt as exc:
        status = interrupted(exc)
    first = signals.caught()
    if first is not None and status != 128 + first:
        # Its Signalled was lost (swallowed by code that catches everything): still signalled.
        status = interrupted(signals.Signalled(first))
    os._exit(status)

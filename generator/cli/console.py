"""The console script: the signals it handles blocked first, then the command line, one exit status.

Entry point: `run`. Every signal in `HANDLED` ends the run as Ctrl-C does: every
process started is killed, one line says so on stderr, and the exit status is
128+signal. A signal is an event, never an exception raised into the code that
runs: the signals are blocked in the main thread (and so in every thread it
starts) from this module's first statement, and delivered only to a watcher
thread, which ends the run. docs/processes.md says what holds when.
"""

from __future__ import annotations

import signal

#: Every catchable signal whose default action ends the process, but SIGPIPE and
#: SIGXFSZ (Python ignores them: a write fails instead) and the faults a process
#: raises on itself (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT).
HANDLED = (
    signal.SIGINT,
    signal.SIGTERM,
    signal.SIGHUP,
    signal.SIGQUIT,
    signal.SIGUSR1,
    signal.SIGUSR2,
    signal.SIGALRM,
    signal.SIGVTALRM,
    signal.SIGPROF,
    signal.SIGIO,
    signal.SIGPWR,
    signal.SIGSTKFLT,
    signal.SIGXCPU,
    *range(signal.SIGRTMIN, signal.SIGRTMAX + 1),
)
#: The signal mask this process was given, which each child gets back before it execs.
GIVEN_MASK = signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED)

import contextlib  # noqa: E402 - the signals are blocked first
import os  # noqa: E402
import select  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
from typing import NoReturn  # noqa: E402

from generator.cli.main import main  # noqa: E402
from generator.collect import processes  # noqa: E402
from generator.core import files  # noqa: E402

STOP_WITHIN = 2.0  # seconds to kill and reap every process once a signal came
_wakeup = -1  # read end of the pipe that Python's C-level handler writes each signal to
_caught: set[int] = set()  # the signals this run handles (not those its parent ignored)
_stopping = False  # the run is being ended for a signal


def run() -> NoReturn:
    """`hmp-perms`: the command line, then a hard exit (freeing every object of
    ruamel.yaml, Jinja2 and asyncio at interpreter exit would take about 10 ms)."""
    _standard_descriptors()
    _watch_signals()
    processes.setup(GIVEN_MASK)
    try:
        status = main()
    except SystemExit as exc:  # argparse's --help, --version and usage errors
        status = _exit_status(exc)
    if not _signalled():  # else the report is cut where the signal found it
        status = _flushed(status)
    with processes.LOCK:  # held for good by a watcher ending the run
        _end_if_signalled()
        os._exit(status)


def _watch_signals() -> None:
    """From now on each handled signal is written to a pipe by Python's C-level handler,
    in the one thread that does not block it: the watcher, which ends the run. A signal
    the parent set to be ignored (`nohup` ignores SIGHUP) stays ignored."""
    global _wakeup
    _wakeup, write_end = os.pipe()
    os.set_blocking(_wakeup, False)
    os.set_blocking(write_end, False)
    for signum in HANDLED:
        if signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, _recorded)
            _caught.add(signum)
    signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    threading.Thread(target=_watcher, name="signals", daemon=True).start()


def _recorded(signum: int, frame: object) -> None:
    """The Python-level handler: nothing to do, the watcher acts on the signal."""


def _watcher() -> NoReturn:
    signal.pthread_sigmask(signal.SIG_UNBLOCK, HANDLED)  # delivered here, and only here
    while True:
        select.select([_wakeup], [], [])
        with processes.LOCK:
            _end_if_signalled()


def _signalled() -> bool:
    """Whether a signal came: being acted on, in the pipe, or sent and not yet delivered."""
    return _stopping or bool(select.select([_wakeup], [], [], 0)[0] or _pending())


def _pending() -> set[int]:
    return {int(s) for s in signal.sigpending()} & _caught


def _end_if_signalled() -> None:
    """With `processes.LOCK` held: if a signal came, end the run for the first one."""
    global _stopping
    if not _signalled():
        return
    _stopping = True
    if not select.select([_wakeup], [], [], 0)[0] and _pending():
        taken = signal.sigtimedwait(_caught, 0)  # not delivered yet: take it here
        if taken is not None:
            _end(taken.si_signo)
    select.select([_wakeup], [], [], 1.0)  # delivered meanwhile: its number is on its way
    _end(os.read(_wakeup, 1)[0])


def _end(signum: int) -> NoReturn:
    """Silence the main thread's output, kill and reap every process started, remove
    every temporary file being written, say why on stderr and exit with 128+signal."""
    stderr = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    processes.reap_all(STOP_WITHIN)
    with files.UNFINISHED_LOCK:  # never released: no temporary file appears after
        for path in files.UNFINISHED:
            with contextlib.suppress(OSError):
                os.unlink(path)
        what = "" if signum == signal.SIGINT else f" ({signal_name(signum)})"
        with contextlib.suppress(OSError):  # a closed stderr: the status still tells
            os.write(stderr, f"hmp-perms: interrupted{what}\n".encode())
        os._exit(128 + signum)


def signal_name(signum: int) -> str:
    """SIGTERM, SIGRTMIN+3."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"SIGRTMIN+{signum - signal.SIGRTMIN}"


def _standard_descriptors() -> None:
    """Give a closed stdin, stdout or stderr a descriptor again, before anything is opened:
    else the first pipe of the run would take its number. A closed stdout is a reader
    that is gone (the first write ends the run with status 141); stdin or stderr, /dev/null.
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
    """The status `sys.exit(code)` gives, as Python makes it (a text: said, then 1)."""
    if exc.code is None or isinstance(exc.code, int):
        return exc.code or 0
    with contextlib.suppress(OSError, ValueError):
        print(exc.code, file=sys.stderr)
    return 1


def _flushed(status: int) -> int:
    """`status` once stdout's buffer is written: a reader gone is 141, as `exits.guarded`
    says it; any other failure (a full disk) is one line and 2, whatever the command found."""
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

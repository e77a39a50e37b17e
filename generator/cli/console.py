"""The console script (`run`): the handled signals blocked first, then the command line.

A signal is an event, never an exception: blocked in every thread, it is delivered only to
a watcher thread, which kills what the run started and exits with 128+signal in one line
(docs/processes.md)."""

from __future__ import annotations

import signal

#: Every catchable signal whose default action ends the process, but SIGPIPE and
#: SIGXFSZ (Python ignores them: a write fails instead) and the faults a process
#: raises on itself (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT).
HANDLED = (
    signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
    signal.SIGUSR2, signal.SIGALRM, signal.SIGVTALRM, signal.SIGPROF, signal.SIGIO,
    signal.SIGPWR, signal.SIGSTKFLT, signal.SIGXCPU, *range(signal.SIGRTMIN, signal.SIGRTMAX + 1),
)  # fmt: skip
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


def run() -> NoReturn:
    """`hmp-perms`: the command line, then a hard exit (freeing every object of
    ruamel.yaml, Jinja2 and asyncio at interpreter exit would take about 10 ms)."""
    _standard_descriptors()
    _watch_signals()
    processes.child_mask = GIVEN_MASK
    status = main()
    with processes.LOCK:  # held for good by a watcher ending the run
        _end_if_signalled()
        os._exit(status)


def _watch_signals() -> None:
    """Python's C-level handler writes each handled signal to a pipe, in the watcher, the
    one thread that does not block them. A signal the parent ignores (`nohup`) stays so."""
    global _wakeup
    _wakeup, write_end = os.pipe()
    os.set_blocking(write_end, False)
    for signum in HANDLED:
        if signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, lambda signum, frame: None)  # the watcher acts on it
            _caught.add(signum)
    signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    threading.Thread(target=_watcher, name="signals", daemon=True).start()


def _watcher() -> NoReturn:
    signal.pthread_sigmask(signal.SIG_UNBLOCK, HANDLED)  # delivered here, and only here
    while True:
        select.select([_wakeup], [], [])
        with processes.LOCK:
            _end_if_signalled()


def _end_if_signalled() -> None:
    """With `processes.LOCK` held: if a signal came, end the run for the first one."""
    if not select.select([_wakeup], [], [], 0)[0]:  # none delivered
        if not signal.sigpending() & _caught:
            return
        taken = signal.sigtimedwait(_caught, 0)  # sent, not delivered yet: take it here
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
        try:
            name = f" ({signal.Signals(signum).name})" if signum != signal.SIGINT else ""
        except ValueError:
            name = f" (SIGRTMIN+{signum - signal.SIGRTMIN})"
        with contextlib.suppress(OSError):  # a closed stderr: the status still tells
            os.write(stderr, f"hmp-perms: interrupted{name}\n".encode())
        os._exit(128 + signum)


def _standard_descriptors() -> None:
    """Give a closed stdin, stdout or stderr a descriptor before anything is opened, else
    the run's first pipe would take its number: stdout a pipe with no reader (`>&-` is a
    reader gone: the first write ends the run with 141), stdin and stderr /dev/null."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            if fd != 1:
                os.open(os.devnull, os.O_RDWR)  # the lowest free number: `fd`
                continue
            gone, end = os.pipe()
            os.close(gone)
            os.dup2(end, 1, inheritable=False)
            os.close(end)
    if sys.stdout is None:
        sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115 - for the whole run
    if sys.stderr is None:
        sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115 - for the whole run

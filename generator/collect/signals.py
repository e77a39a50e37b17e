"""What a signal does to a run. See docs/processes.md.

Entry points: `arm` (the console script's first act), `Route` (while an event
loop runs, a signal is an event it acts on), `blocked` (hold signals back
across a fork), `throw` and `hold` (how a run ends once one came), `name`.

Every signal in HANDLED ends the run: the first one is recorded and decides
the exit status, 128+signal. Where the main thread is when it comes decides
how the run ends:

- inside a `Route` (an event loop collecting): nothing is raised. The C-level
  handler writes the signal's number to the route's socket
  (`signal.set_wakeup_fd`), which wakes the loop; the loop calls the route's
  action (the launcher kills every child at once and stops its tasks), and
  the launcher raises `Signalled` from its own code once its work is done;
- after `defer`, until the route starts (asyncio.run setting up its loop):
  recorded only; the route acts on it as it starts;
- anywhere else, once `arm` has run (start-up imports, the check, writing
  the output): `Signalled`, a KeyboardInterrupt, is raised at the next
  bytecode, once, as Python raises KeyboardInterrupt for SIGINT, so every
  `finally` cleans up. One swallowed in a finalizer or a fork hook
  ("Exception ignored in ...") is raised again at the next function call;
- after `hold` (the run is ending): recorded only; the exit status says it.

This module imports only what Python has loaded by then (and `signal`), so the
console script can arm before anything slow.
"""

from __future__ import annotations

import contextlib
import signal
import sys

TYPE_CHECKING = False  # typing is not imported: this module runs before the handlers exist
if TYPE_CHECKING:
    import asyncio
    import socket
    from collections.abc import Callable, Iterator
    from types import FrameType, TracebackType
    from typing import Any

#: Every catchable signal whose default action ends the process, but SIGPIPE and
#: SIGXFSZ (Python ignores them: a write fails instead) and the faults a process
#: raises on itself (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT).
HANDLED: tuple[int, ...] = (
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


class Signalled(KeyboardInterrupt):
    """A signal that ends the run; a KeyboardInterrupt, so that every `finally` runs."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class _State:
    first: int | None = None  # the first signal
    armed = False  # the console script's handlers stay for the whole run
    route = False  # an event loop takes signals as events
    deferred = False  # an event loop is about to take them
    raised = False  # a Signalled is on its way up
    held = False  # the run is ending: record only

    def reset(self) -> None:
        self.first = None
        self.route = self.deferred = self.raised = self.held = False


_STATE = _State()


def _on_signal(signum: int, frame: FrameType | None) -> None:
    s = _STATE
    if s.first is None:
        s.first = signum
    if s.route or s.deferred or s.raised or s.held or not s.armed:
        return
    s.raised = True
    raise Signalled(s.first)


def _take_over(signum: int, owned: tuple[Any, ...]) -> Any:
    """Put `_on_signal` on `signum` if its handler is one of `owned`; the one it had, or None."""
    previous = signal.getsignal(signum)
    if previous not in owned:
        return None
    signal.signal(signum, _on_signal)
    return previous


def arm() -> None:
    """The console script's handlers: for the whole run, HANDLED end it (see above).

    A signal the parent set to be ignored (`nohup` ignores SIGHUP) stays ignored.
    """
    with blocked():  # all at once: one that comes meanwhile is raised as the block ends
        _STATE.armed = True
        for signum in HANDLED:
            _take_over(signum, (signal.SIG_DFL, signal.default_int_handler))
        _HOOKS.append(sys.unraisablehook)
        sys.unraisablehook = _unraisable


_HOOKS: list[Callable[[sys.UnraisableHookArgs], Any]] = []  # the hook before ours


def _unraisable(info: sys.UnraisableHookArgs) -> None:
    if isinstance(info.exc_value, Signalled) and not _STATE.held:
        # Swallowed by a finalizer or a fork hook: raised again at the next call made
        # outside this hook (nothing is printed without one).
        _STATE.raised = False
        sys.setprofile(_again)
        return
    _HOOKS[0](info)


def _again(frame: FrameType, event: str, arg: object) -> None:
    if frame.f_code is _unraisable.__code__:
        return  # still in the hook: an exception here would be lost as well
    sys.setprofile(None)
    if _STATE.first is not None and not (_STATE.raised or _STATE.held or _STATE.route):
        _STATE.raised = True
        raise Signalled(_STATE.first)


def armed() -> bool:
    """Whether the console script armed the handlers (this process is the tool's)."""
    return _STATE.armed


def caught() -> int | None:
    """The first signal of this run (of this route, when nothing armed), if one came."""
    return _STATE.first


def ours(signum: int) -> bool:
    """Whether `signum` is handled here now (a child sets it back to the default)."""
    return signal.getsignal(signum) is _on_signal


def defer() -> None:
    """Until a `Route` starts, a signal is only recorded (no exception inside asyncio.run)."""
    if _STATE.armed:
        _STATE.deferred = True


def hold() -> None:
    """From now on a signal is only recorded: the run is ending and its status will say it."""
    _STATE.held = True


def throw() -> None:
    """Raise `Signalled` for the signal recorded, if any (and mark it raised)."""
    if _STATE.first is not None:
        _STATE.raised = True
        raise Signalled(_STATE.first)


def name(signum: int) -> str:
    """SIGTERM, SIGRTMIN+3."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"SIGRTMIN+{signum - signal.SIGRTMIN}"


@contextlib.contextmanager
def blocked() -> Iterator[set[int]]:
    """HANDLED held back in this thread for the block (they stay pending, then arrive);
    gives the mask from before, which a child restores."""
    mask: set[int] = set(signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED))
    try:
        yield mask
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


class Route:
    """While `loop` runs: a signal is recorded, wakes the loop and is acted on there.

    The C-level handler writes the signal's number to a socket (`signal.set_wakeup_fd`);
    the loop reads it and calls `act(signum)` once. Nothing is raised into the loop.
    Without `arm` (a library caller, a test in-process) the route takes the
    signals that nobody handles, for its own duration only.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, act: Callable[[int], None]) -> None:
        self._loop, self._act = loop, act
        self._previous: dict[int, Any] = {}
        self._told = False

    def __enter__(self) -> Route:
        import socket

        self._r, self._w = socket.socketpair()
        self._r.setblocking(False)
        self._w.setblocking(False)
        with blocked():
            if not _STATE.armed:
                _STATE.reset()
                for signum in HANDLED:
                    previous = _take_over(signum, (signal.SIG_DFL,))
                    if previous is not None:
                        self._previous[signum] = previous
            _STATE.route, _STATE.deferred = True, False
            self._wakeup = signal.set_wakeup_fd(self._w.fileno(), warn_on_full_buffer=False)
        self._loop.add_reader(self._r.fileno(), self._read)
        if _STATE.first is not None:
            self._loop.call_soon(self._tell)
        return self

    def _read(self) -> None:
        _take(self._r)
        self._tell()

    def _tell(self) -> None:
        if _STATE.first is not None and not self._told:
            self._told = True
            self._act(_STATE.first)

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._loop.remove_reader(self._r.fileno())
        with blocked():
            signal.set_wakeup_fd(self._wakeup)
            _take(self._r)
            _STATE.route = False
            for signum, handler in self._previous.items():
                signal.signal(signum, handler)
        self._r.close()
        self._w.close()


def _take(sock: socket.socket) -> None:
    """Record the first handled signal among the numbers the C handler wrote."""
    while True:
        try:
            data = sock.recv(512)
        except OSError:  # BlockingIOError: nothing more
            return
        if not data:
            return
        for signum in data:  # the wakeup socket gets every signal with a Python handler
            if _STATE.first is None and ours(signum):
                _STATE.first = signum

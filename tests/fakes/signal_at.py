"""Run the console script in this process with a signal sent to it at one named point.

Usage: signal_at.py POINT SIGNAL [hmp-perms arguments...], e.g.
``signal_at.py fork SIGTERM check --qemu qemu-system-x86_64``. This is
`hmp-perms` itself (`generator.cli.console.run`), with one function wrapped so that
the process sends itself SIGNAL the first time that function is reached: the
signal comes exactly there, every run (the main thread waits there for the
watcher thread to act). Points:

  startup       while the command line (generator.cli.main) is being imported
  before-spawn  as the first QEMU is about to be started
  fork          once the first QEMU is forked, before it is registered
  conversation  once the first QEMU has answered `help`
  table         while the table is loaded (alongside QEMU's start-up)
  report        after the check, before the report is formatted
  output        in the middle of writing the report to stdout
  file          while the -o file is written (its temporary file is open)

With $SIGNAL_AT_THEN set to a signal's name, that signal follows while the run
stops (as every process is being killed).
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
import time
from typing import Any

POINT, SIGNUM = sys.argv[1], int(signal.Signals[sys.argv[2]])
sys.argv[:] = ["hmp-perms", *sys.argv[3:]]
fired: list[int] = []


def fire(signum: int = SIGNUM) -> None:
    """Send the signal, and stay here while the tool's watcher thread acts on it."""
    if signum not in fired:
        fired.append(signum)
        os.kill(os.getpid(), signum)
        time.sleep(0.5)


def wrap(module_name: str, attribute: str) -> None:
    module = importlib.import_module(module_name)
    original = getattr(module, attribute)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if POINT in ("conversation", "fork"):  # once the answer is in, the child forked
            result = original(*args, **kwargs)
            fire()
            return result
        fire()
        return original(*args, **kwargs)

    setattr(module, attribute, wrapper)


class _Finder:
    """Sends the signal when generator.cli.main is looked up: inside the start-up imports."""

    @staticmethod
    def find_spec(name: str, path: object = None, target: object = None) -> None:
        if name == "generator.cli.main":
            fire()


class _HalfWriter:
    """stdout that sends the signal halfway through the first write."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        half = len(text) // 2
        self._stream.write(text[:half])
        self._stream.flush()
        fire()
        return half + int(self._stream.write(text[half:]))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


if POINT == "startup":
    sys.meta_path.insert(0, _Finder)
elif POINT == "before-spawn":
    wrap("generator.collect.processes", "spawn")
elif POINT == "fork":
    wrap("subprocess", "Popen")
elif POINT == "conversation":
    wrap("generator.collect.helptext", "parse_help")
elif POINT == "table":
    wrap("generator.table.loader", "load_table")
elif POINT == "report":
    wrap("generator.check.report", "format_report")
elif POINT == "output":
    sys.stdout = _HalfWriter(sys.stdout)
elif POINT == "file":
    wrap("os", "fsync")
else:
    raise SystemExit(f"signal_at.py: no point {POINT!r}")
if "SIGNAL_AT_THEN" in os.environ:
    processes = importlib.import_module("generator.collect.processes")
    reap_all = getattr(processes, "reap_all")  # noqa: B009 - replaced just below

    def then(within: float) -> bool:
        if fired:  # the run is stopping (reap_all also ends every normal collection)
            fire(signal.Signals[os.environ["SIGNAL_AT_THEN"]])
        return bool(reap_all(within))

    setattr(processes, "reap_all", then)  # noqa: B010

from generator.cli.console import run  # noqa: E402 - after the points are in place

run()

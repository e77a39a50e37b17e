"""How a command ends (`guarded`): one line on stderr, and 2 for bad input or a bug (the
traceback only under ``HMP_PERMS_DEBUG=1``), 141 for a reader of stdout gone, 2 for a full
stdout. A signal's 128+signal is the console script's."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import sys
import traceback
from collections.abc import Callable
from typing import Any, TextIO, cast

from generator.core.errors import HmpPermsError
from generator.core.text import terminal


def guarded(command: Callable[[], int]) -> int:
    """Run `command` and flush its output; its status, or the status of what stopped it."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):  # what the terminal cannot show: \xe9
            stream.reconfigure(errors="backslashreplace")
    stdout = sys.stdout
    sys.stdout = cast(TextIO, _Output(stdout))
    try:
        try:
            status = command()
        except SystemExit as exc:  # argparse's --help, --version and usage errors
            status = int(exc.code or 0)
        sys.stdout.flush()
        return status
    except HmpPermsError as exc:
        error(str(exc))
        return 2
    except BrokenPipeError:
        return 128 + signal.SIGPIPE  # as SIGPIPE ends `cat`
    except Exception as exc:
        if os.environ.get("HMP_PERMS_DEBUG", "") not in ("", "0"):
            traceback.print_exc()
        detail = " ".join(str(exc).split())[:300]
        error(
            f"internal error: {type(exc).__name__}{': ' + detail if detail else ''}"
            " (a bug: rerun with HMP_PERMS_DEBUG=1 for a traceback and report it)"
        )
        return 2
    finally:
        sys.stdout = stdout
        with contextlib.suppress(OSError, ValueError):  # what a failed run left: said already
            stdout.flush()


class _Output:
    """Standard output during a command: a failed write (a full disk) is an `HmpPermsError`,
    which argparse does not swallow as it does an OSError."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def write(self, text: str) -> int:
        return cast(int, self._checked(self._stream.write, text))

    def flush(self) -> None:
        self._checked(self._stream.flush)

    @staticmethod
    def _checked(call: Callable[..., object], *args: object) -> object:
        try:
            return call(*args)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise HmpPermsError(f"standard output: cannot write: {exc.strerror}") from None


def error(text: str) -> None:
    """``hmp-perms: text`` on stderr, each line of it so prefixed and escaped for the
    terminal: a name may hold an escape."""
    lines = [f"hmp-perms: {terminal(line)}\n" for line in text.split("\n")]
    with contextlib.suppress(OSError, ValueError):  # stderr gone: the status still tells
        sys.stderr.write("".join(lines))

"""How a run ends: every way it can fail mapped to one stderr line and one exit status.

Entry point: `guarded`. The one place that maps what ends a command to its
status: 2 for bad input (`HmpPermsError`, its one line) and for a bug (one
``internal error`` line, the traceback only under ``HMP_PERMS_DEBUG=1``),
141 when the reader of standard output went away, as SIGPIPE would. A
signal is the console script's to handle (`console`): 128+signal.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from typing import Any, TextIO, cast

from generator.core.errors import HmpPermsError


def guarded(command: Callable[[], int]) -> int:
    """Run `command`; return its status, or the status of what stopped it."""
    _tolerant_output()
    stdout = sys.stdout
    sys.stdout = cast(TextIO, _Output(stdout))
    try:
        return command()
    except HmpPermsError as exc:
        error(str(exc))
        return 2
    except BrokenPipeError:
        _silence_stdout()
        return 128 + 13  # as if SIGPIPE had ended it, as it ends `cat`
    except Exception as exc:
        if os.environ.get("HMP_PERMS_DEBUG", "") not in ("", "0"):
            import traceback

            traceback.print_exc()
        detail = " ".join(str(exc).split())[:300]
        error(
            f"internal error: {type(exc).__name__}{': ' + detail if detail else ''}"
            " (a bug: rerun with HMP_PERMS_DEBUG=1 for a traceback and report it)"
        )
        return 2
    finally:
        sys.stdout = stdout


class _Output:
    """Standard output during a command: a write that fails (a full disk) is bad output,
    one line and 2, whether it fails there (unbuffered, or a full buffer) or at the final
    flush (`console`); a reader gone is still `BrokenPipeError`, 141. Everything else is
    the stream's own."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise _cannot_write(exc) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise _cannot_write(exc) from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _cannot_write(exc: OSError) -> HmpPermsError:
    return HmpPermsError(f"standard output: cannot write: {exc.strerror}")


def error(text: str) -> None:
    """``hmp-perms: text`` on stderr, each line of it so prefixed."""
    with contextlib.suppress(OSError, ValueError):  # stderr gone: the status still tells
        print(f"hmp-perms: {text}".replace("\n", "\nhmp-perms: "), file=sys.stderr)


def _tolerant_output() -> None:
    """Text the terminal's encoding cannot show is escaped (``\\xe9``), not a crash."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(OSError, ValueError):
                reconfigure(errors="backslashreplace")


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass

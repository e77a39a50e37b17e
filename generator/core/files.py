"""Files: read text and JSON with one clear error, write whole or not at all.

Entry points: `read_text`, `read_json` and `write_atomic`. The only module
that touches files the user names, and the user's cache (`cache_folder`,
`read_cached`, `write_cached`).

Reading is bounded: at most `MAX_BYTES` from a regular file, a pipe or a
character device, never a hang on a FIFO nobody writes to. Writing replaces
a regular file through a temp file and a rename (a symlink is followed to the
file it names), and writes straight into what cannot be replaced: ``-``
(standard output), ``/dev/stdout`` and other open descriptors, ``/dev/null``
and other character devices, FIFOs.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from generator.core.errors import HmpPermsError, SourceInfo

#: The most any input may hold: a listing is tens of KB, a table a few hundred.
MAX_BYTES = 16 * 1024 * 1024
#: The deepest nesting a JSON input may have (a snapshot needs three levels).
MAX_JSON_DEPTH = 32
#: The longest integer a JSON input may hold (a snapshot's are one digit).
MAX_JSON_DIGITS = 18

#: A name for a descriptor this process already has open: write into it, never replace it.
_OPEN_FD = re.compile(r"/(?:dev/fd|proc/self/fd|proc/thread-self/fd)/(\d+)")
_STD_FD = {"-": 1, "/dev/stdout": 1, "/dev/stderr": 2}

#: Temporary files being written now; whoever ends the run early removes them.
UNFINISHED: set[str] = set()
UNFINISHED_LOCK = threading.Lock()


def read_bytes(path: str | Path, regular: bool = False) -> bytes:
    """The bytes of a file, pipe or character device (`regular`: of a regular file only);
    at most `MAX_BYTES`."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        raise HmpPermsError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise HmpPermsError(f"{path}: is a directory, not a file")
        if regular and not stat.S_ISREG(mode):
            raise HmpPermsError(f"{path}: cannot read: not a regular file")
        if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)):
            raise HmpPermsError(f"{path}: cannot read: not a file, pipe or character device")
        # Opened without blocking so a FIFO with no writer cannot hang the open;
        # reading it then ends at once. A pipe with a writer is read as it comes.
        os.set_blocking(fd, True)
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, min(1 << 20, MAX_BYTES + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > MAX_BYTES:
                raise HmpPermsError(
                    f"{path}: more than {MAX_BYTES >> 20} MiB, the limit for any input"
                )
        return b"".join(chunks)
    except OSError as exc:
        raise HmpPermsError(f"{path}: cannot read: {exc.strerror}") from None
    finally:
        os.close(fd)


def read_text(path: str | Path, data: bytes | None = None) -> str:
    """A UTF-8 file's text (from `data`, its bytes, when they were read already); a
    `HmpPermsError` naming the file (and line) when it is not."""
    if data is None:
        data = read_bytes(path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise HmpPermsError("not UTF-8 text", SourceInfo(str(path), line)) from None


# A JSON string, an opening or closing bracket, or a long run of digits outside a string.
_JSON_TOKEN = re.compile(
    rf'"(?:[^"\\\n]|\\.)*"|[\[{{]|[\]}}]|(?<![\w.])-?\d{{{MAX_JSON_DIGITS + 1},}}'
)
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _short_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_JSON_DIGITS:
        raise ValueError("integer too long")
    return int(digits)


_SCALARS = frozenset((str, int, float, bool, type(None)))


def _depth(value: object) -> int:
    """How deeply lists and objects nest in a parsed JSON value (a scalar is 0)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        )
        if children is None:
            continue
        deepest = max(deepest, level)
        if set(map(type, children)) <= _SCALARS:
            continue  # a list of lines: nothing nests below it (tested at C speed)
        stack.extend((child, level + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def read_json(path: str | Path, data: bytes | None = None) -> object:
    """A JSON file's value (from `data`, as `read_text`), read within bounds that no hostile
    file can get past.

    Refused, each as ``file:line: what``: more than `MAX_BYTES`, nesting deeper
    than `MAX_JSON_DEPTH`, an integer longer than `MAX_JSON_DIGITS` digits, a
    lone surrogate (``"\\ud800"``, which no UTF-8 file can hold), invalid JSON.
    """
    text = read_text(path, data)
    if not _SURROGATE_ESCAPE.search(text):
        # The common case, a well-formed file, costs one C parse and a walk; any doubt
        # (an error, a long integer, deep nesting) goes to the scan below, which says where.
        try:
            value = json.loads(text, parse_int=_short_int)
        except (ValueError, RecursionError):
            pass
        else:
            if _depth(value) <= MAX_JSON_DEPTH:
                return value

    def fail(pos: int, message: str) -> HmpPermsError:
        return HmpPermsError(message, SourceInfo(str(path), text.count("\n", 0, pos) + 1))

    depth = 0
    for token in _JSON_TOKEN.finditer(text):
        first = token[0][0]
        if first in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise fail(token.start(), f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        elif first in "]}":
            depth = max(depth - 1, 0)
        elif first == '"':
            if "\\u" in token[0] and _SURROGATE.search(_json_string(token[0])):
                raise fail(token.start(), "JSON string with a lone surrogate (not Unicode text)")
        else:
            raise fail(token.start(), f"JSON integer longer than {MAX_JSON_DIGITS} digits")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise HmpPermsError(f"invalid JSON: {exc.msg}", SourceInfo(str(path), exc.lineno)) from None
    except (RecursionError, ValueError) as exc:  # pragma: no cover - the scan above refuses these
        raise HmpPermsError(f"invalid JSON: {exc}", SourceInfo(str(path), 1)) from None


def _json_string(token: str) -> str:
    try:
        return str(json.loads(token))
    except ValueError:
        return ""  # json.loads of the whole text reports it


def write_atomic(path: str | Path, content: str) -> bool:
    """Write `content` to `path` whole or not at all; False when it already held exactly that.

    A regular file is replaced through a temp file in its directory and a
    rename, keeping its permission bits (and its owner, where allowed); a new
    one gets the umask's. A symlink is followed and the file it names is
    replaced. A file with other hard links is replaced too, which parts it from
    them: a warning says so. What cannot be replaced (``-``, descriptors such
    as ``/dev/stdout``, character devices, FIFOs) is written straight into.
    """
    name = str(path)
    try:
        data = content.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise HmpPermsError(f"{name}: cannot write: {exc.reason}") from None
    fd_match = _OPEN_FD.fullmatch(name)
    fd = _STD_FD.get(name, int(fd_match[1]) if fd_match else None)
    if fd is not None:
        _write_fd(name, fd, data)
        return True
    st = _target(name)
    if st is not None and not stat.S_ISREG(st.st_mode):
        _write_special(name, data)
        return True
    real = os.path.realpath(name)
    if st is not None:
        if st.st_size == len(data) and _same_content(real, data):
            return False
        if st.st_nlink > 1:
            print(
                f"hmp-perms: warning: {name}: had {st.st_nlink - 1} other hard link(s);"
                " replaced, they keep the old content",
                file=sys.stderr,
            )
    _replace(name, real, data, st)
    return True


def _target(name: str) -> os.stat_result | None:
    """What `name` is now: None when new; refused when nothing can be written there."""
    try:
        st = os.stat(name)
    except FileNotFoundError:
        return None  # a new file, or a symlink to one
    except OSError as exc:
        raise HmpPermsError(f"{name}: cannot write: {exc.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise HmpPermsError(f"{name}: is a directory; name a file to write")
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode)):
        raise HmpPermsError(f"{name}: not a regular file, FIFO or character device")
    return st


def ensure_writable(path: str | Path) -> None:
    """Fail now where `write_atomic(path, ...)` would fail for the kind of file or its
    folder, so that a command writing several files can check them all first."""
    name = str(path)
    if name in _STD_FD or _OPEN_FD.fullmatch(name):
        return
    st = _target(name)
    if st is not None and not stat.S_ISREG(st.st_mode):
        return  # written into, not replaced
    folder = os.path.dirname(os.path.realpath(name))
    with _temp_file(folder, "hmp-perms", name) as (fd, _):
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _replace(name: str, real: str, data: bytes, old: os.stat_result | None) -> None:
    with _temp_file(os.path.dirname(real), os.path.basename(real), name) as (fd, tmp):
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
                if old is not None and (old.st_uid, old.st_gid) != (os.geteuid(), os.getegid()):
                    with contextlib.suppress(PermissionError):
                        os.fchown(f.fileno(), old.st_uid, old.st_gid)
                mode = old.st_mode & 0o777 if old is not None else 0o666 & ~_umask()
                os.fchmod(f.fileno(), mode)
            os.replace(tmp, real)
        except OSError as exc:
            raise HmpPermsError(f"{name}: cannot write: {exc.strerror}") from None


@contextlib.contextmanager
def _temp_file(folder: str, base: str, where: str) -> Iterator[tuple[int, str]]:
    """A new file in `folder` (mode 0600), its descriptor and its name, removed at the end
    unless it was renamed away. It is named before it is made (``O_EXCL``), so that a
    signal raised as the open returns, where `tempfile.mkstemp` would not yet have given
    the name, removes it too. Not made: `where`'s error, one line."""
    # `base` is cut to leave room for the rest: a name of 255 bytes is a file's own.
    base = os.fsdecode(os.fsencode(base)[:200])
    tmp = os.path.join(folder, f".{base}.{os.urandom(8).hex()}.tmp")
    with UNFINISHED_LOCK:
        UNFINISHED.add(tmp)
    try:
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        except OSError as exc:  # nothing made, or another's: nothing to remove
            raise HmpPermsError(f"{where}: cannot write in {folder}: {exc.strerror}") from None
        except BaseException:
            _remove(tmp)
            raise
        try:
            yield fd, tmp
        finally:
            _remove(tmp)  # already gone when renamed
    finally:
        with UNFINISHED_LOCK:
            UNFINISHED.discard(tmp)


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


# -- the user's cache ------------------------------------------------------------------


def cache_folder(name: str) -> str | None:
    """This tool's cache folder `name` (``$XDG_CACHE_HOME/hmp-perms/NAME``, else
    ``~/.cache/hmp-perms/NAME``), made private when new; None when it cannot be made.
    What is kept there is derived from inputs, so no cache is never an error. A relative
    ``XDG_CACHE_HOME`` is ignored, as the XDG spec says (it would be the current folder's)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.path.join(base, "hmp-perms", name)
    try:
        # makedirs gives its mode to the last folder only: hmp-perms/ is made first.
        os.makedirs(os.path.dirname(folder), mode=0o700, exist_ok=True)
        os.makedirs(folder, mode=0o700, exist_ok=True)
    except OSError:
        return None
    return folder


def read_cached(path: str) -> bytes | None:
    """A cache file's bytes; None when it is not there, cannot be read, is not a regular
    file (a FIFO there would hang the read) or is over `MAX_BYTES`."""
    try:
        return read_bytes(path, regular=True)
    except HmpPermsError:
        return None


def write_cached(path: str, data: bytes) -> None:
    """Replace a cache file whole (a temp file and a rename, nothing left on a signal);
    a cache that cannot be written is left as it was."""
    try:
        with _temp_file(os.path.dirname(path), "hmp-perms", path) as (fd, tmp):
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
    except (HmpPermsError, OSError):
        pass


def _same_content(path: str, data: bytes) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(len(data) + 1) == data
    except OSError:
        return False


def _write_special(name: str, data: bytes) -> None:
    try:
        fd = os.open(name, os.O_WRONLY | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        raise HmpPermsError(f"{name}: cannot write: {exc.strerror}") from None
    try:
        _write_fd(name, fd, data)
    finally:
        os.close(fd)


def _write_fd(name: str, fd: int, data: bytes) -> None:
    """Write all of `data` to an open descriptor; standard output and error through Python's
    when they are not that descriptor (captured), else once what they hold is flushed: a
    write that fails must leave nothing in their buffer for the final flush to fail on."""
    stream = {1: sys.stdout, 2: sys.stderr}.get(fd)
    try:
        if stream is not None:
            stream.flush()
        if stream is not None and _fileno(stream) != fd:
            raw = getattr(stream, "buffer", None)
            if raw is None:  # a text-only stream (io.StringIO)
                stream.write(data.decode("utf-8"))
                return
            raw.write(data)
            raw.flush()
            return
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise HmpPermsError(f"{name}: cannot write: {exc.strerror}") from None


def _fileno(stream: object) -> int | None:
    try:
        return stream.fileno()  # type: ignore[attr-defined, no-any-return]
    except (AttributeError, OSError, ValueError):  # io.StringIO, a capture, closed
        return None

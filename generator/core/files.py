"""Foundation: read text and JSON with one clear ``file:line`` error (the parser's own,
caught at the edge), write whole or not at all."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType

from generator.core.errors import HmpPermsError, Location
from generator.core.text import terminal

#: The most any input may hold: ``--from-text /dev/zero`` must not fill the memory.
MAX_BYTES = 16 * 1024 * 1024

#: Temporary files being written now; whoever ends the run early removes them.
UNFINISHED: set[str] = set()
UNFINISHED_LOCK = threading.Lock()


def read_bytes(path: str | Path, untrusted: bool = False) -> bytes:
    """The bytes of a file or pipe, at most `MAX_BYTES`. An `untrusted` file (of a QEMU
    source tree) must be a regular file, not a symbolic link, so it can neither hang the
    run nor make it print another file."""
    flags = os.O_RDONLY | os.O_CLOEXEC | (os.O_NOFOLLOW | os.O_NONBLOCK if untrusted else 0)
    try:
        with open(os.open(path, flags), "rb") as f:
            info = os.fstat(f.fileno())
            if untrusted and not stat.S_ISREG(info.st_mode):
                raise HmpPermsError(f"{path}: not a regular file")
            data = f.read(min(info.st_size, MAX_BYTES) + 1)  # no buffer of the limit's size
            if len(data) > info.st_size:  # a pipe or device (size 0), or a file that grew
                data += f.read(MAX_BYTES + 1 - len(data))
    except OSError as exc:
        why = "a symbolic link" if exc.errno == errno.ELOOP and untrusted else exc.strerror
        raise HmpPermsError(f"{path}: cannot read: {why}") from None
    if len(data) > MAX_BYTES:
        raise HmpPermsError(f"{path}: more than {MAX_BYTES >> 20} MiB, the limit for any input")
    return data


def read_text(path: str | Path, untrusted: bool = False) -> str:
    """A UTF-8 file's text, else an error at the line of the first bad byte."""
    data = read_bytes(path, untrusted)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise HmpPermsError("not UTF-8 text", Location(str(path), line)) from None


def read_json(path: str | Path) -> object:
    """A JSON file's value; invalid JSON (also nesting past the recursion limit, an integer
    past the digit limit) is one error naming the line."""
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise HmpPermsError(f"invalid JSON: {exc.msg}", Location(str(path), exc.lineno)) from None
    except (RecursionError, ValueError) as exc:
        raise HmpPermsError(f"invalid JSON: {exc}", Location(str(path), 1)) from None


def write_atomic(path: str | Path, content: str) -> bool:
    """Write `content` to `path` (``-``: stdout) whole or not at all, through a temp file
    and a rename; False when it already held exactly that."""
    name = str(path)
    try:
        data = content.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise HmpPermsError(f"{name}: cannot write: {exc.reason}") from None
    if name == "-":
        sys.stdout.write(content)
        return True
    old = _target(name)
    real = os.path.realpath(name)
    if old is not None:
        if old.st_size == len(data) and read_bytes(real) == data:
            return False
        if old.st_nlink > 1:
            print(
                f"hmp-perms: warning: {terminal(name)}: had {old.st_nlink - 1} other hard link(s);"
                " replaced, they keep the old content",
                file=sys.stderr,
            )
    with _temp_file(real, name) as (fd, tmp):
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
                if old is not None:
                    os.fchmod(f.fileno(), stat.S_IMODE(old.st_mode))
            os.replace(tmp, real)
        except OSError as exc:
            raise HmpPermsError(f"{name}: cannot write: {exc.strerror}") from None
    return True


def refuse_inputs(
    outputs: Iterable[str | Path],
    inputs: Mapping[str, str],
    folders: Mapping[str, str] = MappingProxyType({}),
) -> None:
    """No output of a run may be one of its `inputs` (path -> what it is, or '') or lie in
    one of its input `folders`: writing it would replace what the run reads."""
    files = {Path(path).resolve(): what for path, what in inputs.items()}
    within = {Path(path).resolve(): what for path, what in folders.items()}
    for output in outputs:
        path = Path(output).resolve()
        what = files.get(path, next((w for f, w in within.items() if path.is_relative_to(f)), None))
        if what is not None:
            named = f"{what}, " if what else ""
            raise HmpPermsError(f"{output}: is {named}an input of this run; nothing written")


def ensure_writable(path: str | Path) -> None:
    """Fail now where `write_atomic` would, so a command writing several files checks
    them all first."""
    name = str(path)
    if name != "-":
        _target(name)
        with _temp_file(os.path.realpath(name), name) as (fd, _):
            os.close(fd)


def _target(name: str) -> os.stat_result | None:
    """The regular file at `name` (None when there is none yet); anything else is refused."""
    try:
        st = os.stat(name)
    except FileNotFoundError:
        return None  # a new file, or a symlink to one
    except OSError as exc:
        raise HmpPermsError(f"{name}: cannot write: {exc.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise HmpPermsError(f"{name}: is a directory; name a file to write")
    if not stat.S_ISREG(st.st_mode):
        raise HmpPermsError(f"{name}: not a regular file; name a file to write, or - for stdout")
    return st


@contextlib.contextmanager
def _temp_file(real: str, name: str) -> Iterator[tuple[int, str]]:
    """A new file beside `real` (descriptor, name), in `UNFINISHED` from before it is made
    until it is renamed away or removed."""
    folder, base = os.path.split(real)
    # The base is cut to leave room for the rest: a name of 255 bytes is a file's own.
    base = os.fsdecode(os.fsencode(base)[:200])
    tmp = os.path.join(folder, f".{base}.{os.urandom(8).hex()}.tmp")
    with UNFINISHED_LOCK:
        UNFINISHED.add(tmp)
    try:
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
        except OSError as exc:
            raise HmpPermsError(f"{name}: cannot write in {folder}: {exc.strerror}") from None
        yield fd, tmp
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)  # already gone when renamed
        with UNFINISHED_LOCK:
            UNFINISHED.discard(tmp)

"""Files: read text with one clear error, write whole or not at all.

Entry points: `read_text` and `write_atomic`. The only module that writes files.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from generator.errors import HmpPermsError, SourceInfo


def read_text(path: str | Path) -> str:
    """A UTF-8 file's text; a `HmpPermsError` naming the file (and line) when it is not."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise HmpPermsError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise HmpPermsError("not UTF-8 text", SourceInfo(str(path), line)) from None


def write_atomic(path: str | Path, content: str) -> bool:
    """Write `content` to `path` through a temp file and a rename.

    Returns False, touching nothing, when the file already holds exactly that.
    """
    try:
        return _replace(Path(path), content.encode("utf-8"))
    except OSError as exc:
        raise HmpPermsError(f"{path}: cannot write: {exc.strerror or exc}") from None


def _replace(target: Path, data: bytes) -> bool:
    try:
        if target.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileNotFoundError):
            os.chmod(tmp, target.stat().st_mode & 0o777 if target.exists() else 0o644)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return True

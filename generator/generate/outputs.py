"""The output folder: what is stale in it, and writing what changed.

Entry points: `check_outputs` (unified diffs against what is on disk) and
`write_outputs` (atomic writes, everything checked first).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path

from generator.errors import ErrorList, HmpPermsError
from generator.files import read_bytes, write_atomic


def _extra_files(outputs: Mapping[str, str], out_dir: str) -> list[Path]:
    root = Path(out_dir)
    if not root.is_dir():
        return []
    return sorted(
        p
        for p in root.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.name not in outputs
    )


def _out_dir_problem(out_dir: str) -> HmpPermsError | None:
    """Why `out_dir` cannot hold the outputs, if it cannot."""
    path = Path(out_dir)
    if path.exists() and not path.is_dir():
        return HmpPermsError(f"{out_dir}: not a directory (--out names the output directory)")
    return None


def _unwritable(out_dir: str) -> HmpPermsError | None:
    """An error if no file can be created in `out_dir` (or where it would be created)."""
    path = Path(out_dir).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    if not path.is_dir():
        return HmpPermsError(f"{out_dir}: cannot create it: {path} is not a directory")
    if not os.access(path, os.W_OK | os.X_OK):
        return HmpPermsError(f"{out_dir}: cannot write in {path}: permission denied")
    return None


def _current(path: Path) -> str | None:
    """What an output file holds now (None if it is missing); odd bytes shown, not fatal."""
    if not path.exists() and not path.is_symlink():
        return None
    return read_bytes(path).decode("utf-8", errors="backslashreplace")


def check_outputs(outputs: Mapping[str, str], out_dir: str) -> list[str]:
    """A unified diff for each stale, missing or extra file; empty when all are current."""
    problem = _out_dir_problem(out_dir)
    if problem is not None:
        raise problem
    diffs = []
    for name, content in sorted(outputs.items()):
        current = _current(Path(out_dir) / name)
        if current == content:
            continue
        diffs.append(
            "".join(
                difflib.unified_diff(
                    (current or "").splitlines(keepends=True),
                    content.splitlines(keepends=True),
                    f"a/{out_dir}/{name}" if current is not None else "/dev/null",
                    f"b/{out_dir}/{name}",
                )
            )
        )
    for path in _extra_files(outputs, out_dir):
        old = (_current(path) or "").splitlines(keepends=True)
        diffs.append(
            f"# {out_dir}/{path.name}: no template makes it\n"
            + "".join(difflib.unified_diff(old, [], f"a/{out_dir}/{path.name}", "/dev/null"))
        )
    return diffs


def write_outputs(outputs: Mapping[str, str], out_dir: str) -> list[str]:
    """Write what changed; return those names.

    Everything is checked first: a file no template makes (named, never
    deleted), an output path taken by a directory or a device, an output
    directory that is a file. Any problem, and nothing is written.
    """
    problems: list[HmpPermsError] = []
    problem = _out_dir_problem(out_dir) or _unwritable(out_dir)
    if problem is not None:
        raise problem
    for name in sorted(outputs):
        path = Path(out_dir) / name
        if (path.exists() or path.is_symlink()) and not path.is_file():
            problems.append(
                HmpPermsError(f"{out_dir}/{name}: not a regular file; cannot write an output there")
            )
    for path in _extra_files(outputs, out_dir):
        problems.append(
            HmpPermsError(f"{out_dir}/{path.name}: no template makes it; delete it if it is stale")
        )
    if problems:
        problems.append(HmpPermsError(f"{out_dir}/: nothing written"))
        raise ErrorList(problems)
    try:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HmpPermsError(f"{out_dir}: cannot create the directory: {exc.strerror}") from None
    return [
        name
        for name, content in sorted(outputs.items())
        if write_atomic(Path(out_dir) / name, content)
    ]

"""The output folder: what is stale in it, and writing what changed.

Entry points: `check_outputs` and `write_outputs` for the folder the tool owns
(every template's output, and nothing else, in it), `check_files` and
`write_files` for outputs mapped to paths in the user's tree. Checks print
unified diffs; writes are atomic, everything checked first.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from generator.core.errors import ErrorList, HmpPermsError
from generator.core.files import ensure_writable, read_bytes, write_atomic


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


def _diff(name: str, current: str | None, content: str | None) -> str:
    """`current` to `content` as a unified diff; None: a file that is missing, or must go."""
    import difflib  # only a stale output needs it

    return "".join(
        difflib.unified_diff(
            (current or "").splitlines(keepends=True),
            (content or "").splitlines(keepends=True),
            f"a/{name}" if current is not None else "/dev/null",
            f"b/{name}" if content is not None else "/dev/null",
        )
    )


def check_files(files: Mapping[str, str]) -> list[str]:
    """A unified diff for each file (path -> content) that is stale or missing."""
    diffs = []
    for name, content in sorted(files.items()):
        current = _current(Path(name))
        if current != content:
            diffs.append(_diff(name, current, content))
    return diffs


def write_files(files: Mapping[str, str]) -> list[str]:
    """Write each file (path -> content) that changed; return those paths.

    Every path is checked first (a directory or a device in its place, a folder
    that is missing or cannot be written); any problem, and nothing is written."""
    problems = []
    for name in sorted(files):
        path = Path(name)
        if (path.exists() or path.is_symlink()) and not path.is_file():
            problems.append(
                HmpPermsError(f"{name}: not a regular file; cannot write an output there")
            )
        elif not path.parent.is_dir():
            problems.append(HmpPermsError(f"{name}: its folder {path.parent} does not exist"))
        else:
            try:
                ensure_writable(path)
            except HmpPermsError as exc:
                problems.append(exc)
    if problems:
        raise ErrorList([*problems, HmpPermsError("nothing written")])
    return [name for name, content in sorted(files.items()) if write_atomic(name, content)]


def check_outputs(outputs: Mapping[str, str], out_dir: str) -> list[str]:
    """A unified diff for each stale, missing or extra file; empty when all are current."""
    problem = _out_dir_problem(out_dir)
    if problem is not None:
        raise problem
    diffs = check_files({f"{out_dir}/{name}": content for name, content in outputs.items()})
    for path in _extra_files(outputs, out_dir):
        name = f"{out_dir}/{path.name}"
        diffs.append(f"# {name}: no template makes it\n" + _diff(name, _current(path), None))
    return diffs


def write_outputs(outputs: Mapping[str, str], out_dir: str) -> list[str]:
    """Write what changed into the folder the tool owns; return those names.

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

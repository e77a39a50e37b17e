"""Generate stage: the outputs compared with what is there, or written where they changed:
into the folder the tool owns (`*_outputs`) or mapped into the user's tree (`*_files`)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from pathlib import Path

from generator.core.errors import ErrorList, HmpPermsError
from generator.core.files import ensure_writable, read_bytes, write_atomic


def _extra_files(outputs: Mapping[str, str], out_dir: str) -> list[str]:
    """The files in `out_dir` no template makes (dot files aside), by path."""
    root = Path(out_dir)
    if root.exists() and not root.is_dir():
        raise HmpPermsError(f"{out_dir}: not a directory (--out names the output directory)")
    if not root.is_dir():
        return []
    return sorted(
        f"{out_dir}/{p.name}"
        for p in root.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.name not in outputs
    )


def _diff(name: str, content: str | None) -> str:
    """What `name` holds (odd bytes shown, not fatal) to `content`, as a unified diff."""
    path = Path(name)
    there = path.exists() or path.is_symlink()
    current = read_bytes(path).decode("utf-8", "backslashreplace") if there else None
    if current == content:
        return ""
    return "".join(
        difflib.unified_diff(
            (current or "").splitlines(keepends=True),
            (content or "").splitlines(keepends=True),
            f"a/{name}" if current is not None else "/dev/null",
            f"b/{name}" if content is not None else "/dev/null",
        )
    )


def check_files(files: Mapping[str, str]) -> dict[str, str]:
    """A unified diff for each file (path -> content) that is stale or missing, by path."""
    diffs = {name: _diff(name, content) for name, content in sorted(files.items())}
    return {name: diff for name, diff in diffs.items() if diff}


def write_files(
    files: Mapping[str, str],
    nothing: str = "nothing written",
    also: Sequence[HmpPermsError] = (),
) -> list[str]:
    """Write each file (path -> content) that changed; return those paths. Every path is
    checked first; any problem (`also` counts), and nothing is written."""
    problems = []
    for name in sorted(files):
        path = Path(name)
        try:
            if (path.exists() or path.is_symlink()) and not path.is_file():
                raise HmpPermsError(f"{name}: not a regular file; cannot write an output there")
            if not path.parent.is_dir():
                raise HmpPermsError(f"{name}: its folder {path.parent} does not exist")
            ensure_writable(path)
        except HmpPermsError as exc:
            problems.append(exc)
    if problems or also:
        raise ErrorList([*problems, *also, HmpPermsError(nothing)])
    return [name for name, content in sorted(files.items()) if write_atomic(name, content)]


def check_outputs(outputs: Mapping[str, str], out_dir: str) -> dict[str, str]:
    """A unified diff for each stale, missing or extra file, by path."""
    diffs = check_files({f"{out_dir}/{name}": content for name, content in outputs.items()})
    for name in _extra_files(outputs, out_dir):
        diffs[name] = f"# {name}: no template makes it\n" + _diff(name, None)
    return diffs


def write_outputs(outputs: Mapping[str, str], out_dir: str) -> list[str]:
    """Write what changed into the folder the tool owns; return those paths. A file no
    template makes is named, never deleted, and nothing is written."""
    extra = [
        HmpPermsError(f"{name}: no template makes it; delete it if it is stale")
        for name in _extra_files(outputs, out_dir)
    ]
    try:
        Path(out_dir).mkdir(exist_ok=True)  # its parent must exist: a typo makes no tree
    except OSError as exc:
        raise HmpPermsError(f"{out_dir}: cannot create the directory: {exc.strerror}") from None
    files = {f"{out_dir}/{name}": content for name, content in outputs.items()}
    return write_files(files, f"{out_dir}/: nothing written", extra)

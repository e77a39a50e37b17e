"""Render stage: the table through ``templates/*.j2`` into ``generated/``.

Entry points: `render_templates` (in memory), `check_outputs` (diffs against
what is on disk) and `write_outputs` (atomic writes of what changed).

Every ``templates/NAME.j2`` renders to ``generated/NAME``; files whose name
starts with ``_`` are shared macros, not outputs. Templates get plain data,
already sorted by code point, and turn values into literals only through the
filters below, never by pasting raw text into code.
"""

from __future__ import annotations

import difflib
import os
import re
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateError

from generator.errors import ErrorList, HmpPermsError
from generator.files import read_bytes, write_atomic
from generator.model import Build, Snapshot, Table, fold_space

SUFFIX = ".j2"
#: PEP 263: a comment on line 1 or 2 that names the codec Python decodes the file with.
ENCODING_DECLARATION = re.compile(r"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)", re.ASCII)
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]")


def one_line(text: str) -> str:
    """Any text as a single line: control characters and line breaks become spaces."""
    return " ".join(_CONTROL.sub(" ", text).split())


def comment(text: str, prefix: str = "# ", width: int = 79) -> str:
    """Text as comment lines; nothing in it can end the comment."""
    lines = textwrap.wrap(one_line(text), width - len(prefix), break_on_hyphens=False) or [""]
    return "\n".join((prefix + line).rstrip() for line in lines)


# Markdown: what could start markup (emphasis, links, code, strikethrough),
# end a table cell, or escape the escaping; `_` inside a word starts nothing.
_MD_SPECIAL = re.compile(r"[\\`*\[\]|~]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_MD_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def markdown(text: str) -> str:
    """Text for one Markdown table cell: one line, no markup, no HTML, no cell break."""
    text = _MD_SPECIAL.sub(lambda m: "\\" + m[0], one_line(text))
    return re.sub("[&<>]", lambda m: _MD_HTML[m[0]], text)


def markdown_code(text: str) -> str:
    """Text as a Markdown code span that fits in a table cell.

    Inside a code span nothing is markup, but GFM still ends a cell at `|`
    unless it is escaped, and the fence must be longer than any backtick run.
    """
    text = one_line(text).replace("|", "\\|")
    fence = "`" * (max((len(r) for r in re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def html_comment(text: str) -> str:
    """Text inside ``<!-- -->``: no `--`, so nothing in it ends the comment."""
    while "--" in text:
        text = text.replace("--", "- -")
    return text


def perl_string(text: str) -> str:
    """A Perl single-quoted literal: only backslash and quote are special there."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def python_string(text: str) -> str:
    return repr(text)


def description_lines(table: Table) -> dict[str, list[str]]:
    """Every name (aliases included) by level, each list sorted by code point."""
    by_level: dict[str, list[str]] = {}
    for entry in table.commands.values():
        level = table.level_of(entry)
        by_level.setdefault(level, []).extend(entry.names)
    for names in by_level.values():
        names.sort()
    return by_level


def generate_description(table: Table) -> str:
    """The API description text, in the format of Proxmox's ``generate_description()``."""
    by_level = description_lines(table)
    for needed in ("none", "root"):
        if not by_level.get(needed):
            raise HmpPermsError(
                f"{table.path}: the description needs at least one command at level {needed!r}"
            )
    text = (
        "The following commands do not require any additional privilege: "
        + ", ".join(by_level.pop("none"))
        + "\n\n"
    )
    root = by_level.pop("root")
    for level in sorted(by_level):
        text += f"The following commands require '{level}': " + ", ".join(by_level[level]) + "\n\n"
    text += "The following commands are root-only: " + ", ".join(root) + "\n"
    deprecated = deprecated_names(table)
    if deprecated:
        text += "\nThe following commands are deprecated: " + ", ".join(deprecated) + "\n"
    return text


def deprecated_names(table: Table) -> list[str]:
    return sorted(n for e in table.commands.values() if e.deprecated for n in e.names)


def recorded_facts(
    records: Sequence[tuple[Build, Snapshot]],
) -> tuple[dict[str, str], dict[str, str]]:
    """From the recorded builds: each name's newest help text, and where it is present.

    Names are commands (aliases included) and ``info NAME``. Presence is one
    compact line per flavour and version: ``debian 7.2.22: all 33`` when every
    recorded build of that release has it, else the targets that do (or the
    ones that do not, when that is the shorter list).
    """
    help_text: dict[str, str] = {}
    have: dict[str, dict[str, set[str]]] = {}
    releases: dict[str, set[str]] = {}
    # Builds of one release mostly print the same listings, parsed once into the
    # same tuples: fold their text once per listing, not once per build.
    folded: dict[int, list[tuple[str, str]]] = {}
    for build, snap in records:  # oldest first, so the newest help wins
        release = f"{build.flavour} {build.version.short() if build.version else 'unknown'}"
        where = build.slug.removeprefix(f"{build.flavour}-{build.version or 'unknown'}-")
        releases.setdefault(release, set()).add(where)
        for listing, prefix in ((snap.commands, ""), (snap.info, "info ")):
            if id(listing) not in folded:
                folded[id(listing)] = [
                    (prefix + n, fold_space(e.help))
                    for e in listing
                    for n in (e.names if not prefix else (e.name,))
                ]
            for name, text in folded[id(listing)]:
                help_text[name] = text
                have.setdefault(name, {}).setdefault(release, set()).add(where)
    presence = {}
    for name, by_release in have.items():
        parts = []
        for release in sorted(by_release, key=_release_key):
            present, every = by_release[release], releases[release]
            absent = every - present
            if not absent:
                parts.append(f"{release}: all {len(every)}")
            elif len(absent) < len(present):
                parts.append(f"{release}: all but {', '.join(sorted(absent))}")
            else:
                parts.append(f"{release}: {', '.join(sorted(present))}")
        presence[name] = "; ".join(parts)
    return help_text, presence


def _release_key(release: str) -> tuple[str, tuple[int, ...]]:
    flavour, _, version = release.partition(" ")
    return flavour, tuple(int(p) for p in version.split(".") if p.isdigit())


def template_context(
    table: Table, records: Sequence[tuple[Build, Snapshot]] = ()
) -> dict[str, object]:
    commands = [table.commands[name] for name in sorted(table.commands)]
    help_text, presence = recorded_facts(records)
    permissions = sorted(
        (name, table.level_of(entry)) for entry in commands for name in entry.names
    )
    return {
        "table": table,
        "source": table.label,
        "digest": table.digest,
        "levels": table.levels,
        "default": table.default,
        "commands": commands,
        "permissions": permissions,
        "info": sorted((name, table.level_of(e)) for name, e in table.info.items()),
        "deprecated": sorted(
            (n, e.deprecated.short()) for e in commands if e.deprecated for n in e.names
        ),
        "info_deprecated": sorted(
            (name, e.deprecated.short()) for name, e in table.info.items() if e.deprecated
        ),
        "description": generate_description(table),
        "builds": [build.slug for build, _ in records],
        "help": help_text,
        "presence": presence,
        "by_level": {
            level: {
                "commands": [e for e in commands if table.level_of(e) == level],
                "info": [
                    table.info[n]
                    for n in sorted(table.info)
                    if table.level_of(table.info[n]) == level
                ],
            }
            for level in table.levels
        },
    }


def environment(templates_dir: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(templates_dir),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters.update(
        comment=comment,
        perl=perl_string,
        py=python_string,
        one_line=one_line,
        md=markdown,
        md_code=markdown_code,
        html_comment=html_comment,
    )
    return env


def render_templates(
    table: Table, templates_dir: str, records: Sequence[tuple[Build, Snapshot]] = ()
) -> dict[str, str]:
    """Output name -> content, for every template in `templates_dir`."""
    root = Path(templates_dir)
    if not root.is_dir():
        raise HmpPermsError(f"{templates_dir}: no such templates directory")
    names = sorted(
        p.name for p in root.iterdir() if p.name.endswith(SUFFIX) and not p.name.startswith("_")
    )
    if not names:
        raise HmpPermsError(f"{templates_dir}: no *{SUFFIX} templates")
    env = environment(templates_dir)
    context = template_context(table, records)
    outputs = {}
    for name in names:
        try:
            outputs[name.removesuffix(SUFFIX)] = env.get_template(name).render(context)
        except TemplateError as exc:
            line = getattr(exc, "lineno", None) or _template_line(exc, name)
            where = f"{templates_dir}/{name}" + (f":{line}" if line else "")
            raise HmpPermsError(f"{where}: {exc.message or exc}") from None
    for name, content in outputs.items():
        for number, line in enumerate(content.split("\n", 2)[:2], 1):
            if ENCODING_DECLARATION.match(line):
                raise HmpPermsError(
                    f"{templates_dir}/{name}{SUFFIX}: line {number} of its output would declare a"
                    f" source encoding (PEP 263): {line[:60]!r}; keep table text off lines 1-2"
                )
    return outputs


def _template_line(exc: BaseException, name: str) -> int | None:
    """The template line a render-time error came from: Jinja puts it in the traceback."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.endswith("/" + name):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


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

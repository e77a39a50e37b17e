"""Use cases' inputs: where a run reads and writes (`Settings`, from `settings_for`) and what
it checks (`Sources`). docs/config.md says how the config is found and read."""

from __future__ import annotations

import fnmatch
import functools
import os
import re
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from generator.core.errors import ErrorList, HmpPermsError, Location
from generator.core.files import read_text

CONFIG_NAME = "hmp-perms.toml"
DEFAULT_TABLE = "data/hmp-commands.yaml"
DEFAULT_BUILDS = "data/builds"
DEFAULT_TEMPLATES = "templates"
DEFAULT_OUT = "generated"
DEFAULT_TIMEOUT = 30.0
RULES_NAME = "suggest-rules.yaml"  # beside the table, unless named
#: The templates, table and rules this package ships (`init` copies them).
SHIPPED = Path(__file__).resolve().parent.parent / "shipped"


class Scope(NamedTuple):
    """What the product ships: recorded builds by name pattern, and vendors' entries."""

    patterns: tuple[str, ...] = ()
    vendors: tuple[str, ...] = ()
    where: Mapping[str, Location] = MappingProxyType({})  # each pattern's and vendor's line

    def covers(self, build: str) -> bool:
        return any(fnmatch.fnmatchcase(build, p) for p in self.patterns)

    def verify(self, vendors: Collection[str], builds: str) -> None:
        """A scope never narrows silently: a pattern that matches no recorded build, or a
        vendor the table does not declare, is an error (a typo would empty the outputs)."""
        if not Path(builds).is_dir():
            return  # reported by whatever reads the records
        names = [p.stem for p in Path(builds).glob("*.json")]
        problems = [
            (p, f"patterns: {p!r} matches no recorded build in {builds}/")
            for p in self.patterns
            if not fnmatch.filter(names, p)
        ]
        declared = ", ".join(sorted(vendors)) or "none"
        problems += [
            (v, f"vendors: {v!r} is not a vendor the table declares (it declares {declared})")
            for v in self.vendors
            if v not in vendors
        ]
        if problems:
            raise ErrorList([HmpPermsError(f"[scope] {m}", self.where.get(i)) for i, m in problems])


class Settings(NamedTuple):
    table: str = DEFAULT_TABLE
    builds: str = DEFAULT_BUILDS
    rules: str | None = None  # None: suggest-rules.yaml beside the table
    templates: str = DEFAULT_TEMPLATES
    out: str = DEFAULT_OUT
    #: template name -> where its output goes; None: every template into `out`
    outputs: Mapping[str, str] | None = None
    scope: Scope | None = None  # None: every table entry
    ignore: tuple[str, ...] = ()  # finding kinds left out of reports
    severity: Mapping[str, str] = MappingProxyType({})  # finding kind -> severity
    config: str | None = None  # the file these came from

    @property
    def rules_path(self) -> str:
        """The rules file: the one given, else `RULES_NAME` beside the table."""
        return self.rules or os.path.join(os.path.dirname(self.table), RULES_NAME)


class Sources(NamedTuple):
    """The builds a run is given: QEMUs to start, to connect to, snapshot files."""

    qemu: Sequence[str] = ()  # command lines
    connect: Sequence[str] = ()  # QMP socket addresses
    snapshots: Sequence[str] = ()  # snapshot files
    all_local: bool = False  # every qemu-system-* on PATH too
    timeout: float = DEFAULT_TIMEOUT


def find_config(start: Path) -> Path | None:
    """``hmp-perms.toml`` in `start` or a parent up to the repository root (the first
    folder holding ``.git``, a folder or a file), never beyond: a folder above the
    repository is not the repository's. Outside any repository, in `start` only."""
    folders = [start, *start.parents]
    root = next((i for i, f in enumerate(folders) if os.path.lexists(f / ".git")), 0)
    return next((f / CONFIG_NAME for f in folders[: root + 1] if (f / CONFIG_NAME).is_file()), None)


def settings_for(config: str | None, paths: Mapping[str, str | None]) -> Settings:
    """The settings of a run: the config file's (`config`, else the one found from the
    current folder up), then each path given on the command line over it (`paths`:
    table, builds, rules, templates, out)."""
    if config is not None:
        settings = _read_config(Path(config))
    elif (found := find_config(Path.cwd())) is not None:
        # A config names the templates a run executes: one found by looking is read only
        # when the user or root owns it, as git refuses a repository another user owns.
        if (owner := found.stat().st_uid) not in (os.geteuid(), 0):
            raise HmpPermsError(
                f"{found}: owned by another user (uid {owner}); hmp-perms reads a config it"
                " finds only when you or root own it (name it with --config to read it anyway)"
            )
        settings = _read_config(found)
    elif Path(DEFAULT_TEMPLATES).is_dir():
        settings = Settings()
    else:
        settings = Settings(templates=str(SHIPPED / "templates"))
    given: dict[str, Any] = {k: v for k, v in paths.items() if v is not None}
    # --out puts every output into that folder, under its template's name
    return settings._replace(**given, outputs=None if "out" in given else settings.outputs)


#: Every key, by table ("" the top level): its type, as the error names it.
_KEYS: dict[str, dict[str, str]] = {
    "": {"table": "path", "builds": "path", "rules": "path"},
    "generate": {"templates": "path", "outputs": "table of paths"},
    "scope": {"patterns": "list of strings", "vendors": "list of strings"},
    "check": {"ignore": "list of strings", "severity": "table of strings"},
}


def _read_config(path: Path) -> Settings:
    import tomllib  # 6 ms to import: only when there is a config to read

    name = str(path)
    text = read_text(path)
    try:
        doc = tomllib.loads(text)
    except RecursionError:
        raise HmpPermsError("not TOML: nested too deep", Location(name, 1)) from None
    except tomllib.TOMLDecodeError as exc:
        number = re.search(r"line (\d+)", str(exc))  # else "at end of document"
        where = Location(name, int(number[1]) if number else max(1, len(text.splitlines())))
        raise HmpPermsError(f"not TOML: {exc}", where) from None
    line = functools.partial(_line_of, name, text)
    for table, keys in _KEYS.items():
        section = doc.get(table, {}) if table else doc
        if not isinstance(section, dict):
            raise HmpPermsError(f"[{table}] must be a table", line(table))
        for key, value in section.items():
            if not table and key in _KEYS:
                continue
            what = f"[{table}] {key}" if table else key
            if key not in keys:
                raise HmpPermsError(
                    f"{what}: unknown key (known: {', '.join(keys)})", line(table, key)
                )
            if not _has_type(value, keys[key]):
                no_nul = " (not empty, no NUL)" if "path" in keys[key] else ""
                raise HmpPermsError(f"{what}: must be a {keys[key]}{no_nul}", line(table, key))
    generate, scope, check = (doc.get(table, {}) for table in ("generate", "scope", "check"))
    folder = path.resolve().parent

    def at(value: str) -> str:
        """From the config's folder; relative to the current folder below it (CI annotations)."""
        full = folder / value
        return str(full.relative_to(Path.cwd())) if full.is_relative_to(Path.cwd()) else str(full)

    outputs = generate.get("outputs")
    if outputs is not None:
        _check_outputs(outputs, folder, line("generate", "outputs"))
        outputs = {k: at(v) for k, v in outputs.items()}
    lists = {key: tuple(scope.get(key, ())) for key in ("patterns", "vendors")}
    places = {item: line("scope", key, item) for key, items in lists.items() for item in items}
    templates = generate.get("templates")
    return Settings(
        table=at(doc.get("table", DEFAULT_TABLE)),
        builds=at(doc.get("builds", DEFAULT_BUILDS)),
        rules=at(doc["rules"]) if "rules" in doc else None,
        templates=at(templates) if templates else str(SHIPPED / "templates"),
        out=at(DEFAULT_OUT),
        outputs=outputs,
        scope=Scope(lists["patterns"], lists["vendors"], places) if scope else None,
        ignore=tuple(check.get("ignore", ())),
        severity=dict(check.get("severity", {})),
        config=name,
    )


def _check_outputs(outputs: Mapping[str, str], folder: Path, where: Location) -> None:
    """Each output a file of its own in the config's tree (`generate` refuses one that is
    an input, however either was given)."""
    taken: dict[Path, str] = {}
    for template, value in outputs.items():
        what = f"[generate] outputs: {template!r} goes to {value!r}"
        if Path(value).is_absolute():
            raise HmpPermsError(f"{what}, an absolute path: give it relative to this file", where)
        target = (folder / value).resolve()
        if not target.is_relative_to(folder):
            raise HmpPermsError(f"{what}, outside this file's folder {folder}", where)
        if target.is_dir():
            raise HmpPermsError(f"{what}, which is a folder: name the file in it", where)
        if target in taken:
            raise HmpPermsError(f"{what}, where {taken[target]!r} goes too", where)
        taken[target] = template


def _has_type(value: object, kind: str) -> bool:
    if kind == "path":
        return isinstance(value, str) and value != "" and "\0" not in value
    if kind == "list of strings":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if kind == "table of paths":
        return isinstance(value, dict) and all(_has_type(v, "path") for v in value.values())
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())


def _line_of(name: str, text: str, table: str, key: str = "", item: str = "") -> Location:
    """Where `key` of `[table]` stands (tomllib keeps no lines): its first line there, or
    the first line from there that quotes `item`, one of its values."""
    lines = text.splitlines()
    patterns = [
        rf"^\s*\[\[?\s*{re.escape(table)}\s*\]" if table else "",  # [t] or [[t]]
        rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=" if key else "",
        rf"([\"']){re.escape(item)}\1" if item else "",
    ]
    at = 0
    for pattern in filter(None, patterns):
        at = next((i for i in range(at, len(lines)) if re.search(pattern, lines[i])), at)
    return Location(name, at + 1)

"""Table stage: ``data/hmp-commands.yaml`` read as YAML nodes, so that every problem
names its line, and validated into a `Table` (`load_table`)."""

from __future__ import annotations

import difflib
import hashlib
import re
from pathlib import Path

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode

from generator.core.errors import ErrorList, HmpPermsError, Location
from generator.core.files import read_text
from generator.core.model import (
    EVERY_RELEASE,
    Entry,
    Table,
    Version,
    is_command_name,
)
from generator.core.yamlnodes import NodeReader, is_null
from generator.table.edit import Layout, index_layout

SCHEMA = 2
LEVEL_RE = re.compile(r"[A-Za-z0-9_.-]+")
VENDOR_RE = re.compile(r"[a-z][a-z0-9_-]*")
TOP_KEYS = ("schema", "levels", "default", "vendors", "info-subcommands", "commands", "info")
LEVEL_KEYS = ("description",)
VENDOR_KEYS = ("package", "description")
#: `todo` is left by `sync --write` on a new entry: an error until a person removes it.
#: `borrowed` and `note` are written by `import-perl` (docs/table.md).
COMMAND_KEYS = (
    *("permission", "rationale", "aliases", "vendor", "follows", "deprecated", "todo"),
    *("borrowed", "note"),
)
#: QEMU's facts, which live in the recorded builds, not in the table.
FACT_KEYS = ("params", "help", "since", "until", "targets", "config")
INFO_KEYS = tuple(k for k in COMMAND_KEYS if k not in ("aliases", "follows", "borrowed", "note"))
DEPRECATED_KEYS = ("since",)


def table_label(path: str) -> str:
    """How generated files name the table: its folder and name, never an absolute path
    (bytes that are not UTF-8 shown escaped)."""
    label = "/".join(Path(path).resolve().parts[-2:])
    return label.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def lint_table(path: str) -> list[HmpPermsError]:
    """Every problem in the table at `path`, in file order (an unreadable file raises)."""
    text = read_text(path)
    try:
        _Loader(path, text).load()
    except HmpPermsError as exc:
        return exc.problems if isinstance(exc, ErrorList) else [exc]
    return []


def load_table(path: str, text: str | None = None, allow_todo: bool = False) -> Table:
    """The table at `path` (or `text`, named `path`); an `ErrorList` of every problem.

    With `allow_todo` (`sync`, `check`) an entry awaiting a decision is left out of the
    entries and named in `Table.todo` instead."""
    return _Loader(path, text, allow_todo).load()[0]


def load_for_edit(path: str, text: str) -> tuple[Table, Layout]:
    """The table as `load_table` with `allow_todo` gives it, and where its text stands."""
    return _Loader(path, text, allow_todo=True).load()


class _Loader(NodeReader):
    def __init__(self, path: str, text: str | None = None, allow_todo: bool = False) -> None:
        super().__init__(path, text)
        self.allow_todo = allow_todo
        self.todo: dict[str, Location] = {}
        self.levels: tuple[str, ...] = ()
        self.vendors: dict[str, re.Pattern[str]] = {}

    def known(self, name: str, keys: tuple[str, ...]) -> str:
        if name in FACT_KEYS and "todo" in keys:
            return "QEMU's facts come from recorded builds; the table holds decisions"
        return super().known(name, keys)

    def load(self) -> tuple[Table, Layout]:
        text, root = self.document("the table")
        top = {k: v for k, (_, v) in self.mapping(root, "table", TOP_KEYS).items()}
        for required in ("schema", "levels", "default", "commands"):
            if required not in top:
                self.problem(None, f"missing top-level key {required!r}")
        schema = self.scalar(top["schema"], "schema") if "schema" in top else None
        if schema is not None and schema != str(SCHEMA):
            raise HmpPermsError(
                f"schema {schema!r} is not one this version reads ({SCHEMA})",
                self.where(top["schema"]),
            )
        descriptions = self.load_levels(top["levels"]) if "levels" in top else {}
        self.levels = tuple(descriptions)
        default = self.load_default(top["default"]) if "default" in top else ""
        self.vendors = self.load_vendors(top["vendors"]) if "vendors" in top else {}
        policy = None
        if (node := top.get("info-subcommands")) is not None:
            policy = self.scalar(node, "info-subcommands")
            if policy not in (None, "decide", "inherit"):
                self.problem(node, f"info-subcommands: {policy!r} is not 'decide' or 'inherit'")
        commands = self.load_entries(top.get("commands"), is_info=False)
        info = self.load_entries(top.get("info"), is_info=True)
        self.check_commands(commands)
        if "levels" in top:
            self.check_unused_levels(top["levels"], [*commands.values(), *info.values()])
        if self.problems:
            self.problems.sort(key=lambda p: p.where or Location(self.path, 0))
            raise ErrorList(self.problems)
        return Table(
            path=self.path,
            label=table_label(self.path),
            digest=hashlib.sha256(text.encode("utf-8")).hexdigest(),
            levels=self.levels,
            default=default,
            vendors=self.vendors,
            commands=commands,
            info=info,
            todo=self.todo,
            descriptions={k: v for k, v in descriptions.items() if v},
            inherit_info=policy == "inherit",
        ), index_layout(text, root)

    def load_levels(self, node: Node) -> dict[str, str]:
        """Each level, least to most privileged, with its description ('' when none)."""
        levels = {}
        for name, (key, value) in self.mapping(node, "levels").items():
            if not LEVEL_RE.fullmatch(name):
                self.problem(key, f"level {name!r} is not a plain name ([A-Za-z0-9_.-]+)")
                continue
            description = self.mapping(value, f"level {name!r}", LEVEL_KEYS).get("description")
            levels[name] = ""
            if description is not None and not is_null(description[1]):
                levels[name] = self.scalar(description[1], f"level {name!r}: description") or ""
        if not levels:
            self.problem(node, "levels: declare at least one level")
        return levels

    def load_default(self, node: Node) -> str:
        default, levels = self.scalar(node, "default"), self.levels
        if default is not None and levels and default not in levels:
            self.problem(node, f"default {default!r} is not a declared level ({', '.join(levels)})")
        elif default is not None and levels and default != levels[-1]:
            self.problem(
                node,
                f"default {default!r} must be the most privileged level, {levels[-1]!r}:"
                " what the table does not know must fail closed",
            )
        return default or ""

    def load_vendors(self, node: Node) -> dict[str, re.Pattern[str]]:
        vendors = {}
        for name, (key, value) in self.mapping(node, "vendors").items():
            if not VENDOR_RE.fullmatch(name):
                self.problem(key, f"vendor {name!r} is not a plain lower-case name")
            fields = self.mapping(value, f"vendor {name!r}", VENDOR_KEYS)
            if "package" not in fields:
                self.problem(
                    key,
                    f"vendor {name!r} needs 'package', a regex for query-version's package string",
                )
                continue
            pattern = self.scalar(fields["package"][1], f"vendor {name!r}: package")
            if pattern is None:
                continue
            try:
                vendors[name] = re.compile(pattern)
            except re.error as exc:
                self.problem(
                    fields["package"][1], f"vendor {name!r}: package is not a regex: {exc}"
                )
        return vendors

    def load_entries(self, node: Node | None, is_info: bool) -> dict[str, Entry]:
        entries = {}
        for name, (key, value) in self.mapping(node, "info" if is_info else "commands").items():
            if (entry := self.load_entry(name, key, value, is_info)) is not None:
                entries[name] = entry
        return entries

    def load_entry(self, name: str, key: ScalarNode, node: Node, is_info: bool) -> Entry | None:
        what = f"info {name!r}" if is_info else repr(name)
        if not is_command_name(name):
            self.problem(key, f"{what} is not a QEMU command name ([A-Za-z0-9_?-]+)")
            return None
        keys = INFO_KEYS if is_info else COMMAND_KEYS
        values = {k: v for k, (_, v) in self.mapping(node, what, keys).items()}

        def text(field: str) -> str | None:
            return self.scalar(values[field], f"{what}: {field}") if field in values else None

        todo = text("todo")
        if todo is not None:
            if self.allow_todo:
                self.todo[f"info {name}" if is_info else name] = self.where(key)
            else:
                self.problem(key, f"{what}: {todo}")
            return None
        permission = text("permission")
        if permission is None and not is_info:
            self.problem(
                key,
                f"{what} has no permission: choose one of {', '.join(self.levels)}"
                " and write its rationale",
            )
        elif permission is not None and self.levels and permission not in self.levels:
            self.problem(
                values["permission"],
                f"{what}: permission {permission!r} is not a declared level"
                f" ({', '.join(self.levels)})",
            )
        rationale = (text("rationale") or "").strip()
        if not rationale and (permission is not None or not is_info):
            self.problem(key, f"{what} has no rationale: say why it needs its level")
        aliases = self.names(values["aliases"], f"{what}: aliases") if "aliases" in values else ()
        for alias in aliases:
            if not is_command_name(alias):
                self.problem(
                    values["aliases"], f"{what}: alias {alias!r} is not a QEMU command name"
                )
        borrowed = text("borrowed")
        if borrowed not in (None, "true", "false"):
            self.problem(values["borrowed"], f"{what}: borrowed is 'true' or 'false'")
        vendor = text("vendor")
        if vendor is not None and vendor not in self.vendors:
            known = ", ".join(self.vendors) or "none declared"
            self.problem(values["vendor"], f"{what}: unknown vendor {vendor!r} ({known})")
        deprecated = None
        if "deprecated" in values:  # with no release (an imported module's): every release
            dep = self.mapping(values["deprecated"], f"{what}: deprecated", DEPRECATED_KEYS)
            since = dep["since"][1] if "since" in dep else None
            release = self.scalar(since, f"{what}: deprecated since") if since is not None else None
            try:
                deprecated = Version.parse(release) if release is not None else EVERY_RELEASE
            except ValueError as exc:
                self.problem(since, f"{what}: deprecated since: {exc}")
        return Entry(
            name=name,
            where=self.where(key),
            permission=permission,
            rationale=rationale,
            aliases=aliases,
            vendor=vendor,
            follows=text("follows"),
            deprecated=deprecated,
            borrowed=borrowed == "true",
            note=text("note") or "",
        )

    def check_unused_levels(self, node: Node, entries: list[Entry]) -> None:
        """A level no entry uses while entries use an undeclared one like it: a misspelt
        declaration, said at its own line too."""
        used = {e.permission for e in entries if e.permission is not None}
        undeclared = sorted(used - set(self.levels))
        if not isinstance(node, MappingNode) or not undeclared:
            return
        for key, _ in node.value:
            name = str(key.value)
            close = difflib.get_close_matches(name, undeclared, n=1)
            if name not in used and close:
                count = sum(1 for e in entries if e.permission == close[0])
                self.problem(
                    key,
                    f"level {name!r} is used by no entry, while {count} use {close[0]!r},"
                    " which is not declared: a misspelling?",
                )

    def check_commands(self, commands: dict[str, Entry]) -> None:
        """Rules across entries: names and aliases unique, `follows` consistent."""
        owner = {entry.name: entry for entry in commands.values()}
        for entry in commands.values():
            for alias in entry.aliases:
                other = owner.get(alias)
                if other is None:
                    owner[alias] = entry
                    continue
                kind = "command" if other.name == alias else f"an alias of {other.name!r}"
                self.problem(
                    entry.where,
                    f"alias {alias!r} of {entry.name!r} collides with {kind} ({other.where})",
                )
        for entry in commands.values():
            target = commands.get(entry.follows) if entry.follows is not None else entry
            if target is None:
                self.problem(
                    entry.where,
                    f"{entry.name!r} follows {entry.follows!r}, which is not in the table",
                )
            elif entry.permission and target.permission not in (None, entry.permission):
                self.problem(
                    entry.where,
                    f"{entry.name!r} follows {entry.follows!r} but is at {entry.permission!r},"
                    f" not {target.permission!r} ({target.where})",
                )

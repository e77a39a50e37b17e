"""Suggest stage: `suggest` (pure) with `load_rules`, and `advisor` for `sync` and
`check`: a level for a command from what QEMU says about it (docs/suggest.md)."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

from generator.core.errors import ErrorList, Location
from generator.core.model import HelpEntry, Snapshot, Table, Version
from generator.core.text import one_line, yaml_comment
from generator.core.yamlnodes import NodeReader
from generator.suggest.engine import EngineError, Pattern, escape

FIELDS = ("params", "help", "name")
RULE_KEYS = ("id", "field", "words", "regex", "unless", "level", "reason", "reveals-host")
UNLESS_KEYS = ("field", "words", "regex")


@dataclass(frozen=True)
class Suggestion:
    level: str
    reason: str


@dataclass(frozen=True)
class Matcher:
    """A pattern (RE2: linear in the text) over one field of a command."""

    field: str  # params, help or name
    pattern: Pattern

    def search(self, name: str, entry: HelpEntry | None) -> str | None:
        """The text matched in `field`, as QEMU wrote it."""
        if entry is None and self.field != "name":
            return None
        text = name if self.field == "name" else one_line(getattr(entry, self.field))
        span = self.pattern.search(text)
        if span is None:
            return None
        start, end = span
        if self.field == "help":
            return text[start:end]
        # A parameter (or the name) is shown whole: 'new-image-file', not 'file'.
        start = text.rfind(" ", 0, start) + 1
        end = text.find(" ", end)
        return text[start : end if end >= 0 else len(text)].strip("[]")


@dataclass(frozen=True)
class Rule:
    id: str
    matcher: Matcher
    unless: Matcher | None
    level: str
    reason: str  # a template: {match} is the matched text
    reveals_host: bool
    where: Location


#: The rules of a file, in its order.
Rules = tuple[Rule, ...]


def matches(
    rules: Rules, name: str, entry: HelpEntry | None, is_info: bool
) -> dict[str, Suggestion]:
    """Each rule that applies to a command, by id (an info subcommand: only `reveals-host`
    ones); each is searched once, the costly part."""
    found = {}
    for rule in rules:
        if is_info and not rule.reveals_host:
            continue
        text = rule.matcher.search(name, entry)
        if text is not None and (rule.unless is None or rule.unless.search(name, entry) is None):
            found[rule.id] = Suggestion(rule.level, rule.reason.format(match=repr(text)))
    return found


def suggest(
    rules: Rules, table: Table, name: str, entry: HelpEntry | None, is_info: bool = False
) -> Suggestion:
    """A level and its evidence for `name` (without ``info ``); with no QEMU text
    (`entry` None) only rules on the name apply."""
    found = matches(rules, name, entry, is_info).values()
    if found:
        # The most privileged level wins; among equals (max keeps the first), the first rule.
        return max(found, key=lambda s: table.levels.index(s.level))
    if entry is None:
        what = f"info {name}" if is_info else name
        return Suggestion(
            table.default,
            f"no QEMU text describes {what}, and no rule matches its name: the default",
        )
    if is_info:
        parent = table.commands.get("info")
        return Suggestion(
            table.level_of(parent) if parent else table.default,
            "an info subcommand: inherits info's level (no rule says it reveals the host)",
        )
    return Suggestion(table.default, "no rule matched: the default")


def suggestion_comment(suggestion: Suggestion) -> str:
    """The suggestion as one YAML comment line, for a stub `sync --write` adds."""
    return yaml_comment(f"suggested: {suggestion.level}: {suggestion.reason}")


def hint_for(suggestion: Suggestion) -> str:
    """The suggestion as a hint for `check`'s finding about an unassigned command."""
    return one_line(f"suggested level: {suggestion.level} ({suggestion.reason})")


def describe_from(snapshots: Iterable[Snapshot]) -> dict[str, HelpEntry]:
    """Each command's text by name and alias (``info NAME``); the newest build's wins."""
    described: dict[str, HelpEntry] = {}
    for snap in sorted(snapshots, key=lambda s: s.version or Version(-1, 0), reverse=True):
        entries = [(n, e) for e in snap.commands for n in e.names]
        entries += [(f"info {n}", e) for e in snap.info for n in e.names]
        for key, entry in entries:
            described.setdefault(key, entry)  # of equal versions, the first given
    return described


def load_rules(path: str, levels: tuple[str, ...]) -> Rules:
    """The rules at `path`; an `ErrorList` of every problem, each `file:line: message`."""
    reader = NodeReader(path)
    _, root = reader.document("the rules file")
    top = reader.mapping(root, "rules file", ("rules",))
    node = top["rules"][1] if "rules" in top else None
    seen: dict[str, Rule] = {}
    if node is None:
        reader.problem(None, "missing top-level key 'rules'")
    elif not isinstance(node, SequenceNode):
        reader.problem(node, "rules must be a list")
    elif not node.value:
        reader.problem(node, "rules is empty")
    else:
        for item in node.value:
            rule = _rule(reader, item, levels)
            if rule is not None and rule.id in seen:
                first = seen[rule.id].where
                reader.problem(item, f"rule id {rule.id!r} is used twice (first at {first})")
            elif rule is not None:
                seen[rule.id] = rule
    if reader.problems:
        raise ErrorList(reader.problems)
    return tuple(seen.values())


class _Keys:
    """A rule's (or its `unless`'s) values by key, each problem named after the rule."""

    def __init__(self, reader: NodeReader, node: Node, what: str, keys: tuple[str, ...]) -> None:
        self.reader, self.node, self.what = reader, node, what
        self.values = {k: v for k, (_, v) in reader.mapping(node, what, keys).items()}

    def text(self, key: str, needed: bool = True) -> str | None:
        if key in self.values:
            return self.reader.scalar(self.values[key], f"{self.what}: {key}")
        if needed:
            self.reader.problem(self.node, f"{self.what} needs {key!r}")
        return None

    def problem(self, key: str, message: str) -> None:
        self.reader.problem(self.values.get(key, self.node), f"{self.what}: {key} {message}")


def _rule(reader: NodeReader, node: Node, levels: tuple[str, ...]) -> Rule | None:
    if not isinstance(node, MappingNode):
        reader.problem(node, "a rule must be a mapping")
        return None
    before = len(reader.problems)
    keys = _Keys(reader, node, "a rule", RULE_KEYS)
    rule_id = keys.text("id")
    keys.what = f"rule {rule_id!r}" if rule_id else "a rule"
    matcher = _matcher(keys)
    unless = None
    if isinstance(sub := keys.values.get("unless"), MappingNode):
        unless = _matcher(_Keys(reader, sub, f"{keys.what}: unless", UNLESS_KEYS))
    elif sub is not None:
        keys.problem("unless", "must be a mapping")
    level = keys.text("level")
    if level is not None and level not in levels:
        keys.problem("level", f"{level!r} is not a declared level ({', '.join(levels)})")
    reason = keys.text("reason")
    if reason is not None:
        try:
            reason.format(match="")
        except (KeyError, IndexError, ValueError, AttributeError):
            keys.problem("reason", "may hold only the placeholder {match}")
        else:
            if not reason.isprintable():  # printed on one tab-separated line, and in a comment
                keys.problem("reason", "must be one line of printable text")
    reveals = keys.text("reveals-host", needed=False)
    if reveals not in (None, "true", "false"):
        keys.problem("reveals-host", "must be true or false")
    if len(reader.problems) > before or not rule_id or not matcher or not level or not reason:
        return None
    return Rule(rule_id, matcher, unless, level, reason, reveals == "true", reader.where(node))


def _matcher(keys: _Keys) -> Matcher | None:
    field = keys.text("field")
    if field is not None and field not in FIELDS:
        keys.problem("field", f"{field!r} is not one of {', '.join(FIELDS)}")
        field = None
    if ("words" in keys.values) == ("regex" in keys.values):
        keys.reader.problem(keys.node, f"{keys.what}: give either 'words' or 'regex'")
        return None
    kind = "words" if "words" in keys.values else "regex"
    source = keys.text("regex") if kind == "regex" else None
    if kind == "words":
        before = len(keys.reader.problems)
        words = keys.reader.names(keys.values["words"], f"{keys.what}: words")
        if len(keys.reader.problems) > before:
            return None
        if not words or any(not w.strip() for w in words):
            # an empty word matches at every non-word position: every command
            keys.problem(
                "words", "holds an empty word, which matches anything" if words else "is empty"
            )
            return None
        # A word stands between non-word characters (or an end). RE2 has no
        # look-around, so the neighbours are matched and the word is group 1.
        source = r"(?:^|\W)(" + "|".join(escape(w) for w in words) + r")(?:\W|$)"
    if source is None:
        return None
    try:
        pattern = Pattern(source, group=1 if kind == "words" else 0)
    except EngineError as exc:
        hint = ""  # what to write instead, for the Python syntax RE2 refuses
        if any(op in str(exc) for op in ("(?=", "(?!", "(?<=", "(?<!")):
            hint = r"; RE2 has no look-around: use \b, or an 'unless' for the exception"
        elif re.search(r"escape sequence: \\[1-9]", str(exc)) or "(?P=" in source:
            hint = "; RE2 has no back-reference"
        keys.problem(kind, f"does not compile (RE2: {exc}){hint}")
        return None
    if pattern.matches_empty():
        # 'x*' matched every command, at its first character: each got this level
        keys.problem(kind, "can match no characters at all, so it matches any text")
        return None
    return Matcher(field, pattern) if field is not None else None


Advisor = Callable[[str, "HelpEntry | None", bool], Suggestion]


def advisor(table: Table, rules_path: str) -> Advisor | None:
    """Suggest with the rules of `rules_path`, read on first use (a clean check never
    reads them); None when there is no rules file."""
    if not os.path.exists(rules_path):
        return None
    rules = functools.cache(lambda: load_rules(rules_path, table.levels))
    return lambda name, entry, is_info: suggest(rules(), table, name, entry, is_info)

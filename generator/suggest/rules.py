"""Suggest stage: a level for a command from what QEMU says about it.

Entry points: `suggest` (pure) with `load_rules`; `advisor` for `sync` and `check`.
Each rule reads one field with words or a regex and names a level; the most
privileged match wins, no match gets the default, and an info subcommand inherits
`info`'s level unless a ``reveals-host`` rule matches it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from generator.core.errors import ErrorList, Location
from generator.core.model import HelpEntry, Snapshot, Table, Version
from generator.core.text import one_line, yaml_comment
from generator.core.yamlnodes import NodeReader
from generator.suggest.engine import EngineError, Pattern, compile_pattern, escape


def default_rules_path(table_path: str) -> str:
    """Where a table's rules live unless told otherwise: beside it."""
    return os.path.join(os.path.dirname(table_path), "suggest-rules.yaml")


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
        """The text this matches in `field`, shown as QEMU wrote it; None when it does not."""
        if self.field == "name":
            text = name
        elif entry is None:
            return None
        else:
            text = one_line(entry.params if self.field == "params" else entry.help)
        m = self.pattern.search(text)
        if m is None:
            return None
        if self.field == "help":
            return m.text
        # A parameter (or the name) is shown whole: 'new-image-file', not 'file'.
        start = text.rfind(" ", 0, m.start) + 1
        end = text.find(" ", m.end)
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

    def apply(self, name: str, entry: HelpEntry | None) -> Suggestion | None:
        found = self.matcher.search(name, entry)
        if found is None:
            return None
        if self.unless is not None and self.unless.search(name, entry) is not None:
            return None
        return Suggestion(self.level, self.reason.format(match=repr(found)))


@dataclass(frozen=True)
class Scale:
    """What a suggestion needs from the table: its levels, default and `info`'s level."""

    levels: tuple[str, ...]  # least to most privileged
    default: str
    info_level: str

    @classmethod
    def of(cls, table: Table) -> Scale:
        parent = table.commands.get("info")
        info_level = table.level_of(parent) if parent is not None else table.default
        return cls(table.levels, table.default, info_level)

    def rank(self, level: str) -> int:
        return self.levels.index(level)


@dataclass(frozen=True)
class Rules:
    path: str
    rules: tuple[Rule, ...]


def matches(rules: Rules, name: str, entry: HelpEntry | None, is_info: bool) -> list[Rule]:
    """The rules that apply to a command (an info subcommand: only `reveals-host` ones)."""
    return [
        rule
        for rule in rules.rules
        if (rule.reveals_host or not is_info) and rule.apply(name, entry) is not None
    ]


def suggest(
    rules: Rules, scale: Scale, name: str, entry: HelpEntry | None, is_info: bool = False
) -> Suggestion:
    """A level and its evidence for `name` (without ``info ``); with no QEMU text
    (`entry` None) only rules on the name apply."""
    found = [  # each rule applied once: a search is the costly part
        s
        for rule in rules.rules
        if (rule.reveals_host or not is_info) and (s := rule.apply(name, entry)) is not None
    ]
    if found:
        # The most privileged level wins; among equals, the first rule in the file.
        top = max(scale.rank(s.level) for s in found)
        return next(s for s in found if scale.rank(s.level) == top)
    if entry is None:
        what = f"info {name}" if is_info else name
        return Suggestion(
            scale.default,
            f"no QEMU text describes {what}, and no rule matches its name: the default",
        )
    if is_info:
        return Suggestion(
            scale.info_level,
            "an info subcommand: inherits info's level (no rule says it reveals the host)",
        )
    return Suggestion(scale.default, "no rule matched: the default")


def suggestion_comment(suggestion: Suggestion) -> str:
    """The suggestion as one YAML comment line, for a stub `sync --write` adds."""
    return yaml_comment(f"suggested: {suggestion.level}: {suggestion.reason}")


def hint_for(suggestion: Suggestion) -> str:
    """The suggestion as a hint for `check`'s finding about an unassigned command."""
    return one_line(f"suggested level: {suggestion.level} ({suggestion.reason})")


def describe_from(snapshots: Iterable[Snapshot]) -> dict[str, HelpEntry]:
    """Each command's text by name and alias (``info NAME``); the newest build's wins."""
    described: dict[str, HelpEntry] = {}
    newest: dict[str, Version] = {}
    unknown = Version(-1, 0)
    for snap in snapshots:
        version = snap.version or unknown
        entries = [(n, e) for e in snap.commands for n in e.names]
        entries += [(f"info {n}", e) for e in snap.info for n in e.names]
        for key, entry in entries:
            if key not in described or version > newest[key]:
                described[key] = entry
                newest[key] = version
    return described


def load_rules(path: str, levels: tuple[str, ...]) -> Rules:
    """The rules at `path`; an `ErrorList` of every problem, each `file:line: message`."""
    reader = NodeReader(path)
    _, root = reader.document("the rules file")
    top = reader.mapping(root, "rules file", ("rules",))
    node = top["rules"][1] if "rules" in top else None
    if not isinstance(node, SequenceNode):
        reader.problem(node, "rules must be a list" if node else "missing top-level key 'rules'")
        raise ErrorList(reader.problems)
    seen: dict[str, Rule] = {}
    for item in node.value:
        rule = _rule(reader, item, levels)
        if rule is not None and rule.id in seen:
            reader.problem(
                item, f"rule id {rule.id!r} is used twice (first at {seen[rule.id].where})"
            )
        elif rule is not None:
            seen[rule.id] = rule
    if not node.value:
        reader.problem(node, "rules is empty")
    if reader.problems:
        raise ErrorList(reader.problems)
    return Rules(path, tuple(seen.values()))


def _rule(reader: NodeReader, node: Node, levels: tuple[str, ...]) -> Rule | None:
    if not isinstance(node, MappingNode):
        reader.problem(node, "a rule must be a mapping")
        return None
    fields = reader.mapping(node, "a rule", RULE_KEYS)
    before = len(reader.problems)
    for key in ("id", "field", "level", "reason"):
        if key not in fields:
            reader.problem(node, f"a rule needs {key!r}")
    rule_id = reader.scalar(fields["id"][1], "rule id") if "id" in fields else None
    what = f"rule {rule_id!r}" if rule_id else "a rule"

    def text(key: str) -> str | None:
        return reader.scalar(fields[key][1], f"{what}: {key}") if key in fields else None

    matcher = _matcher(reader, node, fields, what)
    unless = None
    if "unless" in fields:
        before_unless = len(reader.problems)
        sub = reader.mapping(fields["unless"][1], f"{what}: unless", UNLESS_KEYS)
        if len(reader.problems) == before_unless:  # not a mapping: said once, not thrice
            if "field" not in sub:
                reader.problem(fields["unless"][1], f"{what}: unless needs 'field'")
            unless = _matcher(reader, fields["unless"][1], sub, f"{what}: unless")
    level = text("level")
    if level is not None and level not in levels:
        reader.problem(
            fields["level"][1],
            f"{what}: level {level!r} is not a declared level ({', '.join(levels)})",
        )
    reason = text("reason")
    if reason is not None:
        try:
            reason.format(match="")
        except (KeyError, IndexError, ValueError, AttributeError):
            reader.problem(
                fields["reason"][1], f"{what}: reason may hold only the placeholder {{match}}"
            )
            reason = None
    if reason is not None and not reason.isprintable():
        # printed as one tab-separated line and quoted in a YAML comment by sync
        reader.problem(fields["reason"][1], f"{what}: reason must be one line of printable text")
        reason = None
    reveals = text("reveals-host")
    if reveals not in (None, "true", "false"):
        reader.problem(fields["reveals-host"][1], f"{what}: reveals-host must be true or false")
    if len(reader.problems) > before or None in (rule_id, matcher, level, reason):
        return None
    assert rule_id is not None and matcher is not None and level is not None
    assert reason is not None
    return Rule(rule_id, matcher, unless, level, reason, reveals == "true", reader.where(node))


def _matcher(
    reader: NodeReader,
    node: Node,
    fields: dict[str, tuple[ScalarNode, Node]],
    what: str,
) -> Matcher | None:
    field = reader.scalar(fields["field"][1], f"{what}: field") if "field" in fields else None
    if field is not None and field not in FIELDS:
        reader.problem(
            fields["field"][1], f"{what}: field {field!r} is not one of {', '.join(FIELDS)}"
        )
        field = None
    has_words, has_regex = "words" in fields, "regex" in fields
    if has_words == has_regex:
        reader.problem(node, f"{what}: give either 'words' or 'regex'")
        return None
    if has_words:
        value = fields["words"][1]
        before = len(reader.problems)
        words = reader.names(value, f"{what}: words")
        if len(reader.problems) > before:
            return None
        if not words:
            reader.problem(value, f"{what}: words is empty")
            return None
        if any(not w.strip() for w in words):
            # an empty word matches at every non-word position: every command
            reader.problem(value, f"{what}: words holds an empty word, which matches anything")
            return None
        # A word stands between non-word characters (or an end). RE2 has no
        # look-around, so the neighbours are matched and the word is group 1.
        alternatives = "|".join(escape(w) for w in words)
        source, group = r"(?:^|\W)(" + alternatives + r")(?:\W|$)", 1
    else:
        value = fields["regex"][1]
        text = reader.scalar(value, f"{what}: regex")
        if text is None:
            return None
        source, group = text, 0
    try:
        pattern = compile_pattern(source, group=group)
    except EngineError as exc:
        kind = "words" if has_words else "regex"
        hint = _hint(str(exc), source)
        reader.problem(value, f"{what}: {kind} does not compile (RE2: {exc}){hint}")
        return None
    if pattern.matches_empty():
        # 'x*' matched every command, at its first character: each got this level
        reader.problem(
            value, f"{what}: regex can match no characters at all, so it matches any text"
        )
        return None
    return Matcher(field, pattern) if field is not None else None


def _hint(reason: str, source: str) -> str:
    """What to write instead, for the Python syntax RE2 refuses."""
    if any(op in reason for op in ("(?=", "(?!", "(?<=", "(?<!")):
        return r"; RE2 has no look-around: use \b, or an 'unless' for the exception"
    if re.search(r"escape sequence: \\[1-9]", reason) or "(?P=" in source:
        return "; RE2 has no back-reference"
    return ""


Advisor = Callable[[str, "HelpEntry | None", bool], Suggestion]


def advisor(table: Table, rules_path: str | None = None) -> Advisor | None:
    """Suggest with the table's rules, read on first use (a clean check never reads
    them); None when there is no rules file."""
    path = rules_path or default_rules_path(table.path)
    if not os.path.exists(path):
        return None
    scale = Scale.of(table)
    loaded: list[Rules] = []

    def advise(name: str, entry: HelpEntry | None, is_info: bool) -> Suggestion:
        if not loaded:
            loaded.append(load_rules(path, table.levels))
        return suggest(loaded[0], scale, name, entry, is_info)

    return advise

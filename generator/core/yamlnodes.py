"""Foundation: YAML read as nodes that know their line, for the table and the rules
(`NodeReader`). No tag is resolved; the C composer is ten times faster when installed."""

from __future__ import annotations

import re

from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.events import CollectionEndEvent, CollectionStartEvent, StreamEndEvent
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from generator.core.errors import HmpPermsError, Location
from generator.core.files import read_text
from generator.core.text import describe_char, unprintable

try:
    from ruamel.yaml.cyaml import CBaseLoader as Loader
except ImportError:  # pragma: no cover - without ruamel.yaml.clib
    from ruamel.yaml.loader import BaseLoader

    class Loader(BaseLoader):  # type: ignore[no-redef]
        max_depth = None  # the pure composer asks its loader for one


#: Nesting no table needs (it has four levels): refused from the parser's events, which
#: keep their own stack, as the C composer recurses once per level and a file nested
#: 40,000 deep crashes the process.
MAX_DEPTH = 20
#: A CR is whitespace only before an LF: any other line break would move every line.
_LONE_CR = re.compile("\r(?!\n)")


def is_null(node: Node) -> bool:
    """An empty value (`key:`), or a plain null; with no tags resolved, by its text."""
    if not isinstance(node, ScalarNode):
        return False
    return str(node.tag).endswith(":null") or (
        not node.style and node.value in ("", "~", "null", "Null", "NULL")
    )


def compose(path: str, text: str) -> Node | None:
    """The document's node tree, plain scalars left strings (`since: 9.10` is not 9.1);
    a control character or nesting past `MAX_DEPTH` is refused before composing."""
    bad = unprintable(text.removeprefix("\ufeff"), "\t\n\r") or _LONE_CR.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        raise HmpPermsError(f"control character {describe_char(bad[0])}", Location(path, line))
    try:
        events, depth = Loader(text), 0
        while not isinstance(event := events.get_event(), StreamEndEvent):
            if isinstance(event, CollectionStartEvent):
                depth += 1
            elif isinstance(event, CollectionEndEvent):
                depth -= 1
            if depth > MAX_DEPTH:
                raise HmpPermsError(
                    f"nested deeper than {MAX_DEPTH} levels; no table needs that",
                    Location(path, event.start_mark.line + 1),
                )
        return Loader(text).get_single_node()  # type: ignore[no-any-return]
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = exc.problem or exc.context or "cannot be parsed"
        where = Location(path, mark.line + 1 if mark is not None else 1)
        raise HmpPermsError(f"invalid YAML: {reason}", where) from None


class NodeReader:
    """Reads a composed YAML file's nodes; collects every problem as `file:line: message`."""

    def __init__(self, path: str, text: str | None = None) -> None:
        self.path = path
        self.text = text  # None: read it from `path`
        self.problems: list[HmpPermsError] = []

    def where(self, node: Node) -> Location:
        return Location(self.path, node.start_mark.line + 1)

    def problem(self, at: Node | Location | None, message: str) -> None:
        if not isinstance(at, Location):
            at = self.where(at) if at is not None else Location(self.path, 1)
        self.problems.append(HmpPermsError(message, at))

    def known(self, name: str, keys: tuple[str, ...]) -> str:
        """What an unknown key's problem says after it: the keys that are known."""
        return f"known: {', '.join(keys)}"

    def mapping(
        self, node: Node | None, what: str, keys: tuple[str, ...] | None = None
    ) -> dict[str, tuple[ScalarNode, Node]]:
        """A mapping's items by key (none for a missing or empty node); reports duplicates,
        odd keys and unknown keys."""
        if not isinstance(node, MappingNode):
            if node is not None and not is_null(node):
                self.problem(node, f"{what} must be a mapping")
            return {}
        items: dict[str, tuple[ScalarNode, Node]] = {}
        for key, value in node.value:
            if not isinstance(key, ScalarNode):
                self.problem(key, f"{what}: a key must be a plain name")
                continue
            name = str(key.value)
            if name in items:
                first = items[name][0].start_mark.line + 1
                self.problem(key, f"{what}: duplicate key {name!r} (first on line {first})")
                continue
            if keys is not None and name not in keys:
                self.problem(key, f"{what}: unknown key {name!r} ({self.known(name, keys)})")
                continue
            items[name] = (key, value)
        return items

    def scalar(self, node: Node, what: str) -> str | None:
        if not isinstance(node, ScalarNode) or is_null(node):
            self.problem(node, f"{what} must be a single value")
            return None
        value = str(node.value)
        bad = unprintable(value, "\t\n")  # an escape in a quoted string ("\e", "\x85")
        if bad:
            self.problem(node, f"{what} holds the control character {describe_char(bad[0])}")
            return None
        return value

    def names(self, node: Node, what: str) -> tuple[str, ...]:
        if not isinstance(node, SequenceNode):
            self.problem(node, f"{what} must be a list")
            return ()
        texts = [self.scalar(item, what) for item in node.value]
        return tuple(t for t in texts if t is not None)

    def document(self, what: str) -> tuple[str, MappingNode]:
        """The file's text and its top node, which must be a mapping."""
        text = read_text(self.path) if self.text is None else self.text
        root = compose(self.path, text)
        if not isinstance(root, MappingNode):
            raise HmpPermsError(f"{what} must be a mapping at the top", Location(self.path, 1))
        return text, root

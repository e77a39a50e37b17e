"""The suggest stage's regular expressions: RE2, whose matching time is linear in the text.

Entry points: `compile_pattern` (a `Pattern`, or `EngineError` with RE2's reason)
and `escape`.

A rules file is data that anyone may hand to `hmp-perms suggest`, and QEMU's help
text is input too, so neither may make matching slow: Python's `re` backtracks,
and ``(a+)+$`` against forty ``a`` and a ``!`` never ends. RE2 (Google's
``google-re2`` binding) never backtracks; the price is its syntax, which has no
look-around and no back-reference, and whose ``\\w`` and ``\\b`` know ASCII word
characters only (see docs/suggest.md).

RE2 logs a pattern it cannot compile to stderr from C++ unless its options say
not to; every pattern here is compiled with ``log_errors`` off, so the one line
that reports a bad rule is the tool's own. The binding has no type hints: this
module is the only one that touches it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import re2  # type: ignore[import-untyped]


class EngineError(ValueError):
    """A pattern RE2 cannot take; the message is RE2's reason, on one line."""


@dataclass(frozen=True)
class Found:
    """Where a pattern matched, in characters of the searched text."""

    start: int
    end: int
    text: str


class Pattern:
    """A compiled RE2 pattern; `search` reports group `group` (0: the whole match)."""

    def __init__(self, source: str, regexp: Any, group: int) -> None:
        self.source = source
        self._regexp = regexp
        self._group = group

    @property
    def groups(self) -> int:
        """How many of its groups capture (none unless a group was asked for)."""
        return int(self._regexp.groups)

    def search(self, text: str) -> Found | None:
        m = self._regexp.search(text)
        if m is None:
            return None
        start, end = (int(i) for i in m.span(self._group))
        return Found(start, end, text[start:end])

    def matches_empty(self) -> bool:
        """Whether it can match zero characters: then it matches (nearly) any text.

        An empty match sees only its neighbours, so it is tried between each pair
        of: the text's end, a word character, another character, a line break.
        """
        return any(
            self._regexp.search(left + right, len(left), len(left)) is not None
            for left in _SIDES
            for right in _SIDES
        )

    def __repr__(self) -> str:
        return f"Pattern({self.source!r})"


_SIDES = ("", "a", " ", "\n")


def _options(ignore_case: bool, capture: bool) -> Any:
    options = re2.Options()
    options.log_errors = False  # a bad pattern is reported once, by the caller
    options.case_sensitive = not ignore_case
    # Groups make every search run RE2's NFA over the match for their spans:
    # 40 rules like '(.)*.{1000}' took 7 s on one 4 KiB entry. Without groups
    # a search is its DFA, built once per pattern.
    options.never_capture = not capture
    return options


def compile_pattern(source: str, *, ignore_case: bool = True, group: int = 0) -> Pattern:
    """`source` compiled by RE2 (UTF-8, leftmost-first like Perl's and Python's engines).

    Its groups capture only when `group` asks for one; for 0 they are plain parentheses.
    """
    try:
        regexp = re2.compile(source, _options(ignore_case, capture=group > 0))
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "RE2 cannot compile it"
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        reason = " ".join(str(reason).split())
        # RE2 quotes the pattern back; a long one is cut, the message stays one short line.
        raise EngineError(reason if len(reason) <= 200 else reason[:199] + "…") from None
    if group > int(regexp.groups):
        raise EngineError(f"has no group {group}")
    return Pattern(source, regexp, group)


def escape(text: str) -> str:
    """`text` as an RE2 pattern that matches it literally."""
    return str(re2.escape(text))

"""Suggest stage: its regular expressions, in RE2, whose matching time is linear in the text.

Entry points: `compile_pattern` (a `Pattern`, or `EngineError` with RE2's reason) and
`escape`. QEMU's text is untrusted, so no pattern may backtrack (Python's ``(a+)+$``
never ends on forty ``a`` and a ``!``); RE2 has no look-around or back-reference
(docs/suggest.md). This module alone touches the untyped binding.
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
        """Whether it can match zero characters, so (nearly) any text: an empty match
        sees only its neighbours, so each pair of kinds of neighbour is tried."""
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
    options.log_errors = False  # else RE2 prints to stderr from C++: the caller reports it
    options.case_sensitive = not ignore_case
    # Groups make every search run RE2's NFA over the match for their spans:
    # 40 rules like '(.)*.{1000}' took 7 s on one 4 KiB entry. Without groups
    # a search is its DFA, built once per pattern.
    options.never_capture = not capture
    return options


def compile_pattern(source: str, *, ignore_case: bool = True, group: int = 0) -> Pattern:
    """`source` compiled by RE2; its groups capture only when `group` asks for one."""
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

"""Suggest stage: its patterns, in RE2, linear in the text: QEMU's text is untrusted and
Python's ``(a+)+$`` never ends on forty ``a`` and a ``!``. Only here is the untyped binding."""

from __future__ import annotations

import re2  # type: ignore[import-untyped]


class EngineError(ValueError):
    """A pattern RE2 cannot take; the message is RE2's reason, on one line."""


class Pattern:
    """`source` compiled by RE2, in any case; `search` gives the span of group `group`
    (0: the whole match), the only group that captures."""

    def __init__(self, source: str, group: int = 0) -> None:
        options = re2.Options()
        options.log_errors = False  # else RE2 prints to stderr from C++: the caller reports it
        options.case_sensitive = False
        # Groups make every search run RE2's NFA over the match for their spans:
        # 40 rules like '(.)*.{1000}' took 7 s on one 4 KiB entry. Without groups
        # a search is its DFA, built once per pattern.
        options.never_capture = group == 0
        try:
            self._regexp = re2.compile(source, options)
        except re2.error as exc:
            reason = " ".join(bytes(exc.args[0]).decode("utf-8", "replace").split())
            # RE2 quotes the pattern back; a long one is cut, the message stays one short line.
            raise EngineError(reason if len(reason) <= 200 else reason[:199] + "…") from None
        self.group = group
        self.groups = int(self._regexp.groups)  # how many groups capture

    def search(self, text: str) -> tuple[int, int] | None:
        m = self._regexp.search(text)
        return None if m is None else (int(m.start(self.group)), int(m.end(self.group)))

    def matches_empty(self) -> bool:
        """Whether it can match zero characters, so (nearly) any text: an empty match
        sees only its neighbours, so each pair of kinds of neighbour is tried."""
        sides = ("", "a", " ", "\n")
        return any(
            self._regexp.search(left + right, len(left), len(left)) is not None
            for left in sides
            for right in sides
        )


def escape(text: str) -> str:
    """`text` as an RE2 pattern that matches it literally."""
    return str(re2.escape(text))

"""Suggest stage, measured: every table entry's suggestion against its decision.

Entry points: `evaluate` (pure) and `format_evaluation` (``suggest --evaluate``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from generator.core.model import HelpEntry, Table
from generator.core.text import one_line
from generator.suggest.rules import Rules, Suggestion, suggest

#: The share of described commands (and, apart, info subcommands) that must agree.
AGREEMENT_BAR = 0.85
PARTS = (("commands", False), ("info subcommands", True))


@dataclass(frozen=True)
class Verdict:
    """One table entry: its decision and the suggestion made without looking at it."""

    name: str  # an info subcommand as "info NAME"
    is_info: bool
    described: bool  # whether QEMU's text describes it
    decided: str
    rationale: str
    suggestion: Suggestion

    @property
    def agrees(self) -> bool:
        return self.decided == self.suggestion.level


@dataclass(frozen=True)
class Evaluation:
    levels: tuple[str, ...]
    verdicts: tuple[Verdict, ...]

    def select(self, *, described: bool, is_info: bool) -> list[Verdict]:
        return [v for v in self.verdicts if (v.described, v.is_info) == (described, is_info)]

    def confusion(self, verdicts: Iterable[Verdict]) -> dict[tuple[str, str], int]:
        """Counts by (decided level, suggested level), every pair of levels present."""
        cells = {(d, s): 0 for d in self.levels for s in self.levels}
        for v in verdicts:
            cells[v.decided, v.suggestion.level] += 1
        return cells

    def bars(self) -> list[tuple[str, bool]]:
        """Each bar the rules must meet, described, and whether it is met."""
        top = self.levels[-1]  # no decision at the most privileged level suggested lower
        under = sum(v.decided == top != v.suggestion.level for v in self.verdicts)
        out = [(f"root decisions suggested lower: {under} (must be 0)", not under)]
        for label, is_info in PARTS:
            share = agreement(self.select(described=True, is_info=is_info))
            bar = f"{percent(share)} (at least {percent(AGREEMENT_BAR)})"
            out.append((f"agreement on described {label}: {bar}", share >= AGREEMENT_BAR))
        return out

    @property
    def passed(self) -> bool:
        return all(ok for _, ok in self.bars())


def agreement(verdicts: list[Verdict]) -> float:
    """The share whose suggestion equals the decision (0.0 for none: nothing was shown)."""
    return sum(v.agrees for v in verdicts) / len(verdicts) if verdicts else 0.0


def percent(share: float) -> str:
    return f"{share * 100:.1f}%"


def evaluate(table: Table, rules: Rules, described: Mapping[str, HelpEntry]) -> Evaluation:
    """Suggest a level for every table entry from QEMU's text alone; compare with the table."""
    verdicts = []
    for section, is_info in ((table.commands, False), (table.info, True)):
        for name, entry in sorted(section.items()):
            key = f"info {name}" if is_info else name
            text = described.get(key)
            rationale = entry.rationale if entry.permission is not None else "inherits info's level"
            suggestion = suggest(rules, table, name, text, is_info)
            decided = table.level_of(entry)
            verdicts.append(Verdict(key, is_info, text is not None, decided, rationale, suggestion))
    return Evaluation(table.levels, tuple(verdicts))


def format_evaluation(ev: Evaluation, table_label: str, rules_label: str) -> str:
    """The report of `suggest --evaluate`: agreement, confusion, every disagreement, the bars."""

    def agreeing(part: list[Verdict]) -> str:
        agree = sum(v.agrees for v in part)
        return f"{agree} of {len(part)} agree ({percent(agreement(part))})"

    def disagreements(part: list[Verdict]) -> list[str]:
        return [
            line
            for v in part
            if not v.agrees
            for line in (
                f"  {v.name}: decided {v.decided}, suggested {v.suggestion.level}",
                f"    table:   {one_line(v.rationale)}",
                f"    suggest: {one_line(v.suggestion.reason)}",
            )
        ]

    head = "decided \\ suggested"
    first = max(len(head), *(len(level) for level in ev.levels)) + 2
    width = max(len(level) for level in ev.levels) + 2
    out = [f"suggestions from {rules_label} against the decisions in {table_label}"]
    for label, is_info in PARTS:
        part = ev.select(described=True, is_info=is_info)
        cells = ev.confusion(part)
        out += ["", f"{label} that QEMU's text describes: {agreeing(part)}"]
        out.append(f"  {head:<{first}}" + "".join(s.rjust(width) for s in ev.levels))
        for d in ev.levels:
            out.append(
                f"  {d:<{first}}" + "".join(str(cells[d, s]).rjust(width) for s in ev.levels)
            )
        out += disagreements(part)
    out += ["", "with no QEMU text (the name only):"]
    for label, is_info in PARTS:
        part = ev.select(described=False, is_info=is_info)
        out.append(f"  {label}: {agreeing(part)}")
        out += disagreements(part)
    out += ["", "bars:", *(f"  {'ok  ' if ok else 'MISS'} {text}" for text, ok in ev.bars())]
    out.append("PASS" if ev.passed else "FAIL")
    return "\n".join(out) + "\n"

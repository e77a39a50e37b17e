"""`make evaluate`: measure the suggestion rules against the table's decisions.

Suggests a level for every table entry from QEMU's text alone (the recorded builds',
or the snapshots given) and compares it with the decision: the agreement, the
confusion matrix and every disagreement. Exits 1 below a bar (docs/suggest.md),
2 on bad input.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NamedTuple

from generator.app.settings import settings_for
from generator.collect.records import load_records
from generator.collect.snapshot import load_snapshot
from generator.core.errors import HmpPermsError
from generator.core.text import one_line, terminal
from generator.suggest.rules import Suggestion, describe_from, load_rules, suggest
from generator.table.loader import load_table

#: The share of described commands (and, apart, info subcommands) that must agree.
AGREEMENT_BAR = 0.85
PARTS = (("commands", False), ("info subcommands", True))


class Verdict(NamedTuple):
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


def percent(share: float) -> str:
    return f"{share * 100:.1f}%"


def agreeing(part: list[Verdict]) -> tuple[str, float]:
    """'N of M agree (P%)' and the share (0.0 for none: nothing was shown)."""
    agree = sum(v.agrees for v in part)
    share = agree / len(part) if part else 0.0
    return f"{agree} of {len(part)} agree ({percent(share)})", share


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


def evaluate(args: argparse.Namespace) -> tuple[str, bool]:
    """The report, and whether every bar is met."""
    paths = {"table": args.table, "builds": args.builds, "rules": args.rules}
    settings = settings_for(args.config, paths)
    table = load_table(settings.table)
    rules = load_rules(settings.rules_path, table.levels)
    if args.snapshot:
        described = describe_from(load_snapshot(path) for path in args.snapshot)
    else:
        described = describe_from(s for _, s in load_records(settings.builds, table.vendors))
    verdicts: list[Verdict] = []
    for section, is_info in ((table.commands, False), (table.info, True)):
        for name, entry in sorted(section.items()):
            key = f"info {name}" if is_info else name
            text = described.get(key)
            rationale = entry.rationale if entry.permission is not None else "inherits info's level"
            s = suggest(rules, table, name, text, is_info)
            decided = table.level_of(entry)
            verdicts.append(Verdict(key, is_info, text is not None, decided, rationale, s))

    def select(described: bool, is_info: bool) -> list[Verdict]:
        return [v for v in verdicts if (v.described, v.is_info) == (described, is_info)]

    levels = table.levels
    top = levels[-1]  # no decision at the most privileged level suggested lower
    under = sum(v.decided == top != v.suggestion.level for v in verdicts)
    bars = [(f"root decisions suggested lower: {under} (must be 0)", not under)]
    head = "decided \\ suggested"
    first = max(len(head), *map(len, levels)) + 2
    width = max(map(len, levels)) + 2
    out = [f"suggestions from {settings.rules_path} against the decisions in {settings.table}"]
    for label, is_info in PARTS:
        part = select(True, is_info)
        counts, share = agreeing(part)
        bar = f"{percent(share)} (at least {percent(AGREEMENT_BAR)})"
        bars.append((f"agreement on described {label}: {bar}", share >= AGREEMENT_BAR))
        out += ["", f"{label} that QEMU's text describes: {counts}"]
        out.append(f"  {head:<{first}}" + "".join(s.rjust(width) for s in levels))
        for d in levels:
            row = [sum((v.decided, v.suggestion.level) == (d, s) for v in part) for s in levels]
            out.append(f"  {d:<{first}}" + "".join(str(n).rjust(width) for n in row))
        out += disagreements(part)
    out += ["", "with no QEMU text (the name only):"]
    for label, is_info in PARTS:
        part = select(False, is_info)
        out.append(f"  {label}: {agreeing(part)[0]}")
        out += disagreements(part)
    passed = all(ok for _, ok in bars)
    out += ["", "bars:", *(f"  {'ok  ' if ok else 'MISS'} {text}" for text, ok in bars)]
    out.append("PASS" if passed else "FAIL")
    return "\n".join(out) + "\n", passed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="evaluate_rules", description=__doc__.splitlines()[0])
    parser.add_argument("--table", help="the permission table (default: as hmp-perms finds it)")
    parser.add_argument("--builds", help="the recorded builds whose text is used")
    parser.add_argument("--rules", help="the rules (default suggest-rules.yaml beside the table)")
    parser.add_argument("--snapshot", action="append", default=[], help="use this text instead")
    parser.add_argument("--config", help="the config file (default: hmp-perms.toml, as found)")
    args = parser.parse_args(argv)
    try:
        report, passed = evaluate(args)
    except HmpPermsError as exc:
        for line in str(exc).split("\n"):  # a name may hold an escape: shown escaped
            print(f"evaluate_rules: {terminal(line)}", file=sys.stderr)
        return 2
    sys.stdout.write(report)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())

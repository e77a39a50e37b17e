"""Check stage: the finding kinds as data (`KINDS`), the one list the comparer, reports
and docs read, and a run's `Policy` over them."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import NamedTuple

from generator.core.errors import HmpPermsError
from generator.core.text import md_cell, md_code

ERROR, WARNING, INFO = "error", "warning", "info"
#: Least to most severe.
SEVERITIES = (INFO, WARNING, ERROR)

TABLE, BASELINE = "table", "baseline"


class Kind(NamedTuple):
    id: str
    severity: str  # the default
    against: str  # TABLE or BASELINE
    meaning: str
    hint: str  # `{sync}` stands for the command that records the build

    def hint_for(self, sync: str = "hmp-perms sync --write") -> str:
        return self.hint.format(sync=sync)


_SYNC = "`{sync}` records this build"
_KEEP = "keep the entry while a build you support has it"
#: Every kind a check can report, in the order the docs list them.
# fmt: off
KINDS: Mapping[str, Kind] = {k.id: k for k in (
    Kind("unassigned-command", ERROR, TABLE, "QEMU has a command the table does not decide", "run `{sync}` (it adds the entry at this line), then choose its level and write a rationale"),
    Kind("unassigned-info", ERROR, TABLE, "QEMU has an info subcommand the table does not list", "run `{sync}` (it adds the entry at this line, and a bare entry inherits the level of `info`)"),
    Kind("review-info", WARNING, BASELINE, "an info subcommand the baseline does not have and the table does not list: it takes the level of `info` (`info-subcommands: inherit`)", "review that it should; to give it another level, list it under `info:` with a `permission` and a `rationale`"),
    Kind("todo", ERROR, TABLE, "an entry of the table awaits a decision (a stub `sync --write` added)", "choose its permission, write its rationale, remove the `todo` line"),
    Kind("alias-mismatch", ERROR, TABLE, "QEMU's aliases of a command differ from the table's, or QEMU lists a table alias as a command of its own", "fix `aliases` in the table; each alias gets the command's level"),
    Kind("deprecated-unmarked", WARNING, TABLE, "QEMU's help says a command is deprecated; the table does not", "add `deprecated: {{since: X.Y}}` to the entry"),
    Kind("added-command", INFO, BASELINE, "a command the baseline does not have", _SYNC),
    Kind("added-info", INFO, BASELINE, "an info subcommand the baseline does not have", _SYNC),
    Kind("removed-command", WARNING, BASELINE, "a command the baseline has and this build does not", _KEEP),
    Kind("removed-info", WARNING, BASELINE, "an info subcommand the baseline has and this build does not", _KEEP),
    Kind("changed-params", WARNING, BASELINE, "a command's parameters differ from the baseline's", "review the rationale; " + _SYNC),
    Kind("changed-help", WARNING, BASELINE, "a command's help text differs from the baseline's", "review the rationale; " + _SYNC),
    Kind("out-of-scope", WARNING, TABLE, "a build outside the config's [scope]: the generated outputs leave out what only it has", "add the pattern to [scope] patterns in hmp-perms.toml if the product ships this build"),
    Kind("no-baseline", INFO, BASELINE, "no recorded build of this flavour and variant to compare with", _SYNC),
)}
# fmt: on


class Policy(NamedTuple):
    """How a run treats each kind: its severity, whether it is reported, what fails.
    `Policy.of` refuses an unknown kind and any choice that would let an error pass."""

    severity: Mapping[str, str] = MappingProxyType({})
    ignore: frozenset[str] = frozenset()
    strict: bool = False

    @classmethod
    def of(
        cls,
        severity: Mapping[str, str] | None = None,
        ignore: Iterable[str] = (),
        strict: bool = False,
        where: str = "",
    ) -> Policy:
        severity, ignored = dict(severity or {}), frozenset(ignore)
        for kind_id in sorted(ignored | severity.keys()):
            level = severity.get(kind_id)
            if kind_id not in KINDS:
                problem = f"unknown finding kind {kind_id!r} (`hmp-perms kinds` lists them)"
            elif level is not None and level not in SEVERITIES:
                problem = f"{kind_id}: severity {level!r} is not one of {', '.join(SEVERITIES)}"
            elif KINDS[kind_id].severity == ERROR and level not in (None, ERROR):
                problem = f"{kind_id} is an error and stays one: the check fails closed"
            elif KINDS[kind_id].severity == ERROR and kind_id in ignored:
                problem = f"{kind_id} is an error and cannot be ignored: the check fails closed"
            else:
                continue
            raise HmpPermsError(f"{where}: {problem}" if where else problem)
        return cls(severity, ignored, strict)

    def severity_of(self, kind_id: str) -> str:
        return self.severity.get(kind_id, KINDS[kind_id].severity)

    def reports(self, kind_id: str) -> bool:
        return kind_id not in self.ignore

    def fatal(self, severity: str) -> bool:
        """Whether a finding of `severity` fails the run: the one place `--strict` acts."""
        return severity == ERROR or (self.strict and severity == WARNING)


def format_kinds(fmt: str, policy: Policy | None = None) -> str:
    """The registry as text (one line a kind), JSON or a Markdown table (for the docs)."""
    policy = policy or Policy()
    rows = [(k, policy.severity_of(k.id)) for k in KINDS.values()]
    if fmt == "json":
        doc = [dict(k._asdict(), severity=severity, hint=k.hint_for()) for k, severity in rows]
        return json.dumps(doc, indent=2) + "\n"
    if fmt == "markdown":
        lines = ["| kind | severity | against | meaning |", "|---|---|---|---|"]
        lines += [
            f"| {md_code(k.id)} | {severity} | {k.against} | {md_cell(k.meaning)} |"
            for k, severity in rows
        ]
        return "\n".join(lines) + "\n"
    width = max(len(k.id) for k in KINDS.values())
    return "".join(f"{k.id:<{width}}  {severity:<7}  {k.meaning}\n" for k, severity in rows)

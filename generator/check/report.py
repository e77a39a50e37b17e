"""Check stage: a `Report` (or a snapshot diff) as text, json, junit, github or markdown.

Entry points: `format_report` and `format_diff`, pure. Every format lists every finding
with its build and follows `Report.fatal`; text reaches a format only through its
escaper in `generator.core.text`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from generator.check.compare import Checked, Finding, Report
from generator.check.diff import Change
from generator.check.kinds import ERROR, INFO, SEVERITIES, WARNING
from generator.core.text import (
    github_message,
    github_property,
    md_cell,
    md_code,
    terminal,
    xml_attr,
    xml_text,
)

_COLOURS = {ERROR: "\033[1;31m", WARNING: "\033[33m", INFO: "\033[2m"}
_RESET = "\033[0m"


def format_report(report: Report, fmt: str, colour: bool = False) -> str:
    if fmt == "text":
        return _text(report, colour)
    return _FORMATTERS[fmt](report)


def _summary(report: Report) -> str:
    errors, warnings = report.tally(ERROR), report.tally(WARNING)
    verdict = "FAILED" if report.exit_status else "OK"
    binaries = ", ".join(s.label for s in report.snapshots) or "nothing"
    failed = f", {len(report.failures)} failed to run" if report.failures else ""
    return f"{verdict}: {errors} error(s), {warnings} warning(s){failed} checking {binaries}"


def _baseline(item: Checked) -> str:
    base = item.baseline.build
    if base is None:
        return "no baseline"
    return "baseline: itself" if base == item.build else f"baseline: {base.slug}"


def _mine(report: Report, item: Checked) -> list[Finding]:
    return [f for f in report.findings if f.build == item.build.slug]


def _table_side(report: Report) -> list[Finding]:
    """Findings about the table alone, which no build has."""
    return [f for f in report.findings if not f.build]


def _text(report: Report, colour: bool) -> str:
    lines: list[str] = []

    def show(findings: Sequence[Finding], indent: str) -> None:
        for severity in reversed(SEVERITIES):
            for f in (f for f in findings if f.severity == severity):
                tag = f"{severity}:"
                if colour:
                    tag = f"{_COLOURS[severity]}{tag}{_RESET}"
                where = f"{f.source}: " if f.source else ""
                lines.append(f"{indent}{tag} {terminal(where + f.message)}")
                if f.before is not None:
                    lines.append(f"{indent}    {terminal(f'{f.against}: {f.before}')}")
                if f.after is not None:
                    lines.append(f"{indent}    {terminal(f'{f.build}: {f.after}')}")
                if f.hint:
                    lines.append(f"{indent}    -> {terminal(f.hint)}")

    show(_table_side(report), "")
    for item in report.checked_builds:
        snap = item.snapshot
        lines.append(
            terminal(
                f"{snap.label}: {len(snap.commands)} commands, {len(snap.info)} info"
                f" subcommands; {item.build.slug}, {_baseline(item)}"
            )
        )
        if len(item.binaries) > 1 or len(item.packages) > 1:
            packages = "; ".join(item.packages) or "none"
            lines.append(
                terminal(f"  one build: {', '.join(item.binaries)} (packages: {packages})")
            )
        show(_mine(report, item), "  ")
    lines += [f"  failed: {terminal(failure)}" for failure in report.failures]
    lines.append(terminal(_summary(report)))
    return "\n".join(lines) + "\n"


def finding_json(f: Finding) -> dict[str, object]:
    return {
        "id": f.id,
        "kind": f.kind,
        "severity": f.severity,
        "name": f.name,
        "build": f.build or None,
        "binary": f.binary or None,
        "version": f.version or None,
        "target": f.target or None,
        "against": f.against or None,
        "message": f.message,
        "hint": f.hint or None,
        "file": f.source.file if f.source else None,
        "line": f.source.line if f.source else None,
        "before": f.before,
        "after": f.after,
    }


def _json(report: Report) -> str:
    doc = {
        "status": "failed" if report.exit_status else "ok",
        "exit_status": report.exit_status,
        "table": report.table_path,
        "builds": [
            {
                "build": c.build.slug,
                "flavour": c.build.flavour,
                "binary": c.snapshot.binary,
                "variant": c.build.variant,
                "version": str(c.snapshot.version) if c.snapshot.version else None,
                "package": c.snapshot.package,
                "packages": list(c.packages),
                "binaries": list(c.binaries),
                "target": c.snapshot.target,
                "baseline": c.baseline.build.slug if c.baseline.build else None,
                "commands": len(c.snapshot.commands),
                "info": len(c.snapshot.info),
            }
            for c in report.checked_builds
        ],
        "failures": list(report.failures),
        "counts": {sev: report.tally(sev) for sev in reversed(SEVERITIES)},
        "findings": [finding_json(f) for f in report.findings],
    }
    return json.dumps(doc, indent=2) + "\n"


def _junit_case(report: Report, suite: str, name: str, findings: Sequence[Finding]) -> str:
    """One test case: a failure for each fatal finding, the others as output or skips."""
    body = []
    for f in findings:
        if report.fatal(f):
            text = xml_text(f"{f.message}\n{f.hint}".strip())
            body.append(
                f"      <failure type={xml_attr(f.kind)} message={xml_attr(f.message)}>"
                f"{text}</failure>"
            )
        elif f.severity == WARNING:
            body.append(f"      <system-out>{xml_text('warning: ' + f.message)}</system-out>")
        else:
            body.append(f"      <skipped message={xml_attr(f.message)}/>")
    head = f"    <testcase classname={xml_attr(suite)} name={xml_attr(name)}>"
    return head + ("\n" + "\n".join(body) + "\n    " if body else "") + "</testcase>"


def _junit_suite(name: str, properties: Sequence[tuple[str, str]], cases: Sequence[str]) -> str:
    failures = sum(1 for c in cases if "<failure" in c)
    head = [
        f'  <testsuite name={xml_attr(name)} tests="{len(cases)}" failures="{failures}" errors="0">'
    ]
    if properties:
        head.append("    <properties>")
        head += [f"      <property name={xml_attr(k)} value={xml_attr(v)}/>" for k, v in properties]
        head.append("    </properties>")
    return "\n".join([*head, *cases, "  </testsuite>"])


def _junit(report: Report) -> str:
    """One suite per build (its properties: every binary and package), one test case per
    command checked and per finding's name; the table's findings in a suite of their own."""
    suites: list[tuple[str, list[tuple[str, str]], list[str]]] = []
    table_side = _table_side(report)
    if table_side:
        cases = [_junit_case(report, "table", n, fs) for n, fs in _by_name(table_side).items()]
        suites.append(("table", [], cases))
    for item in report.checked_builds:
        by_name = _by_name(_mine(report, item))
        names = list(report.checked.get(item.build.slug, ()))
        names += sorted(n for n in by_name if n not in names)
        slug = item.build.slug
        cases = [_junit_case(report, slug, n, by_name.get(n, [])) for n in names]
        properties = [("binary", b) for b in item.binaries]
        properties += [("package", p) for p in item.packages]
        suites.append((f"{slug}: {item.snapshot.label}", properties, cases))
    total = sum(len(cases) for _, _, cases in suites)
    failed = sum(1 for _, _, cases in suites for c in cases if "<failure" in c)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<testsuites name="hmp-perms check" tests="{total}" failures="{failed}" errors="0">',
    ]
    out += [_junit_suite(name, properties, cases) for name, properties, cases in suites]
    out.append("</testsuites>")
    return "\n".join(out) + "\n"


def _by_name(findings: Sequence[Finding]) -> dict[str, list[Finding]]:
    by_name: dict[str, list[Finding]] = {}
    for f in findings:
        by_name.setdefault(f.name, []).append(f)
    return by_name


_GITHUB_LEVEL = {ERROR: "error", WARNING: "warning", INFO: "notice"}


def _github(report: Report) -> str:
    """GitHub Actions workflow commands; table-side findings point at the entry's line."""
    lines = []
    for f in report.findings:
        level = "error" if report.fatal(f) else _GITHUB_LEVEL[f.severity]
        title = f"{f.kind} {f.name}" + (f" ({f.build})" if f.build else "")
        props = [f"title={github_property(title)}"]
        if f.source:
            props[:0] = [f"file={github_property(f.source.file)}", f"line={f.source.line}"]
        message = f"{f.build} ({f.binary}): {f.message}" if f.build else f.message
        if f.before is not None:
            message += f"\n{f.against}: {f.before}"
        if f.after is not None:
            message += f"\n{f.build}: {f.after}"
        if f.hint:
            message += f"\n{f.hint}"
        lines.append(f"::{level} {','.join(props)}::{github_message(message)}")
    if not lines:  # a clean run says so once, rather than nothing at all
        lines.append(f"::notice title=hmp-perms check::{github_message(_summary(report))}")
    return "".join(line + "\n" for line in lines)


def _markdown(report: Report) -> str:
    lines = ["## HMP permission check", "", md_cell(_summary(report)), ""]
    lines += [
        "| build | binary | package | baseline | commands | info | errors | warnings |",
        "|---|---|---|---|---:|---:|---:|---:|",
    ]
    for item in report.checked_builds:
        s = item.snapshot
        mine = _mine(report, item)
        errors = sum(1 for f in mine if f.severity == ERROR)
        warnings = sum(1 for f in mine if f.severity == WARNING)
        binaries = ", ".join(md_code(b) for b in item.binaries)
        packages = "; ".join(md_cell(p) for p in item.packages)
        lines.append(
            f"| {md_code(item.build.slug)} | {binaries} | {packages} | {md_cell(_baseline(item))}"
            f" | {len(s.commands)} | {len(s.info)} | {errors} | {warnings} |"
        )
    for failure in report.failures:
        lines.append(f"| failed | {md_cell(failure)} | | | | | | |")
    if report.findings:
        lines += [
            "",
            "| severity | finding | command | build | details |",
            "|---|---|---|---|---|",
        ]
        for f in report.findings:
            details = md_cell(f.message)
            if f.before is not None:
                details += f" ({md_cell(f.against)}: {md_code(f.before)})"
            if f.after is not None:
                details += f" (now: {md_code(f.after)})"
            if report.fatal(f) and f.hint:
                details += f"; {md_cell(f.hint)}"
            if f.source:
                details += f" ({md_cell(str(f.source))})"
            build = md_code(f.build) if f.build else "table"
            lines.append(
                f"| {f.severity} | {md_code(f.kind)} | {md_code(f.name)} | {build} | {details} |"
            )
    return "\n".join(lines) + "\n"


_FORMATTERS: dict[str, Callable[[Report], str]] = {
    "json": _json,
    "junit": _junit,
    "github": _github,
    "markdown": _markdown,
}


def format_diff(changes: Sequence[Change], a_label: str, b_label: str, fmt: str) -> str:
    if fmt == "markdown":
        lines = [f"## HMP changes: {md_cell(a_label)} -> {md_cell(b_label)}", ""]
        if not changes:
            return "\n".join([*lines, "No changes."]) + "\n"
        lines += ["| change | command | before | after |", "|---|---|---|---|"]
        lines += [
            f"| {c.kind} | {md_code(c.name)} | {md_cell(c.before)} | {md_cell(c.after)} |"
            for c in changes
        ]
        return "\n".join(lines) + "\n"
    lines = [terminal(f"{a_label} -> {b_label}: {len(changes)} change(s)")]
    for c in changes:
        if c.kind == "added":
            lines.append(f"  + {terminal(f'{c.name}: {c.after}')}")
        elif c.kind == "removed":
            lines.append(f"  - {terminal(f'{c.name}: {c.before}')}")
        else:
            lines.append(f"  ~ {terminal(f'{c.name}: {c.kind} changed')}")
            lines.append(f"      before: {terminal(c.before)}")
            lines.append(f"      after:  {terminal(c.after)}")
    return "\n".join(lines) + "\n"

"""Check stage: a `Report` (or a snapshot diff) as text, json, junit, github or markdown.
QEMU's text reaches a format only through its escaper in `generator.core.text`."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence

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


def format_report(report: Report, fmt: str, colour: bool = False) -> str:
    if fmt == "text":
        return _text(report, colour)
    return {"json": _json, "junit": _junit, "github": _github, "markdown": _markdown}[fmt](report)


def _summary(report: Report) -> str:
    errors, warnings = report.tally(ERROR), report.tally(WARNING)
    verdict = "FAILED" if report.exit_status else "OK"
    binaries = ", ".join(c.snapshot.label for c in report.checked_builds) or "nothing"
    failed = f", {len(report.failures)} failed to run" if report.failures else ""
    return f"{verdict}: {errors} error(s), {warnings} warning(s){failed} checking {binaries}"


def _baseline(item: Checked) -> str:
    base = item.baseline.build
    if base is None:
        return "no baseline"
    return "baseline: itself" if base == item.build else f"baseline: {base.slug}"


def _quoted(f: Finding) -> list[str]:
    """The text a finding quotes: the table's or the baseline's before, the build's after."""
    before = [f"{f.against}: {f.before}"] if f.before is not None else []
    return before + ([f"{f.build}: {f.after}"] if f.after is not None else [])


def _text(report: Report, colour: bool) -> str:
    lines: list[str] = []

    def show(findings: Sequence[Finding], indent: str) -> None:
        for f in sorted(findings, key=lambda f: -SEVERITIES.index(f.severity)):  # worst first
            tag = f"{_COLOURS[f.severity]}{f.severity}:\033[0m" if colour else f"{f.severity}:"
            where = f"{f.source}: " if f.source else ""
            lines.append(f"{indent}{tag} {terminal(where + f.message)}")
            lines.extend(f"{indent}    {terminal(q)}" for q in _quoted(f))
            if f.hint:
                lines.append(f"{indent}    -> {terminal(f.hint)}")

    show(report.of(""), "")
    for item in report.checked_builds:
        snap = item.snapshot
        size = f"{len(snap.commands)} commands, {len(snap.info)} info subcommands"
        lines.append(terminal(f"{snap.label}: {size}; {item.build.slug}, {_baseline(item)}"))
        if len(item.binaries) > 1 or len(item.packages) > 1:
            packages = "; ".join(item.packages) or "none"
            binaries = ", ".join(item.binaries)
            lines.append(terminal(f"  one build: {binaries} (packages: {packages})"))
        show(report.of(item.build.slug), "  ")
    lines += [f"  failed: {terminal(failure)}" for failure in report.failures]
    lines.append(terminal(_summary(report)))
    return "\n".join(lines) + "\n"


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
        "findings": [
            {
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
            for f in report.findings
        ],
    }
    return json.dumps(doc, indent=2) + "\n"


def _junit(report: Report) -> str:
    """One suite per build (its properties: every binary and package), one test case per
    command checked and per other name a finding has; the table's findings in a suite of
    their own."""
    # Each suite: its class name, its name, its properties, its commands, its findings.
    suites: list[tuple[str, str, list[tuple[str, str]], list[str], list[Finding]]] = []
    if report.of(""):
        suites.append(("table", "table", [], [], report.of("")))
    for item in report.checked_builds:
        snap, slug = item.snapshot, item.build.slug
        names = [e.name for e in snap.commands] + [f"info {e.name}" for e in snap.info]
        properties = [("binary", b) for b in item.binaries]
        properties += [("package", p) for p in item.packages]
        suites.append((slug, f"{slug}: {snap.label}", properties, names, report.of(slug)))
    out, tests, failures = [], 0, 0
    for classname, name, properties, names, findings in suites:
        cases: dict[str, list[Finding]] = {n: [] for n in names}
        for f in sorted(findings, key=lambda f: f.name):  # other names after, sorted
            cases.setdefault(f.name, []).append(f)
        failed = sum(any(map(report.fatal, fs)) for fs in cases.values())
        tests, failures = tests + len(cases), failures + failed
        counts = f'tests="{len(cases)}" failures="{failed}" errors="0"'
        out.append(f"  <testsuite name={xml_attr(name)} {counts}>")
        if properties:
            out.append("    <properties>")
            out += [f'      <property name="{k}" value={xml_attr(v)}/>' for k, v in properties]
            out.append("    </properties>")
        for case, fs in cases.items():
            body = []
            for f in fs:
                if report.fatal(f):
                    text = xml_text(f"{f.message}\n{f.hint}".strip())
                    body.append(
                        f"      <failure type={xml_attr(f.kind)} message={xml_attr(f.message)}>"
                        f"{text}</failure>"
                    )
                elif f.severity == WARNING:
                    body.append(
                        f"      <system-out>{xml_text('warning: ' + f.message)}</system-out>"
                    )
                else:
                    body.append(f"      <skipped message={xml_attr(f.message)}/>")
            head = f"    <testcase classname={xml_attr(classname)} name={xml_attr(case)}>"
            out.append(head + ("\n" + "\n".join(body) + "\n    " if body else "") + "</testcase>")
        out.append("  </testsuite>")
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<testsuites name="hmp-perms check" tests="{tests}" failures="{failures}" errors="0">'
    )
    return "\n".join([head, *out, "</testsuites>"]) + "\n"


def _github(report: Report) -> str:
    """GitHub Actions workflow commands; table-side findings point at the entry's line."""
    lines = []
    for f in report.findings:
        level = "error" if report.fatal(f) else "notice" if f.severity == INFO else f.severity
        title = f"{f.kind} {f.name}" + (f" ({f.build})" if f.build else "")
        props = [f"title={github_property(title)}"]
        if f.source:
            props[:0] = [f"file={github_property(f.source.file)}", f"line={f.source.line}"]
        message = f"{f.build} ({f.binary}): {f.message}" if f.build else f.message
        message = "\n".join([message, *_quoted(f), *([f.hint] if f.hint else [])])
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
        counts = Counter(f.severity for f in report.of(item.build.slug))
        binaries = ", ".join(md_code(b) for b in item.binaries)
        packages = "; ".join(md_cell(p) for p in item.packages)
        lines.append(
            f"| {md_code(item.build.slug)} | {binaries} | {packages} | {md_cell(_baseline(item))}"
            f" | {len(s.commands)} | {len(s.info)} | {counts[ERROR]} | {counts[WARNING]} |"
        )
    lines += [f"| failed | {md_cell(failure)} | | | | | | |" for failure in report.failures]
    if report.findings:
        lines += ["", "| severity | finding | command | build | details |", "|---|---|---|---|---|"]
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

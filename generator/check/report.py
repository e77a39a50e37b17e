"""Format stage: a `Report` (or a snapshot diff) as text, json, junit, github or markdown.

Entry points: `format_report` and `format_diff`. Pure: they return strings.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence

from generator.check.compare import ERROR, INFO, WARNING, Change, Checked, Finding, Report
from generator.model import fold_space

FORMATS = ("text", "json", "junit", "github", "markdown")
_COLOURS = {ERROR: "\033[1;31m", WARNING: "\033[33m", INFO: "\033[2m"}
_RESET = "\033[0m"
# Characters XML 1.0 cannot carry at all, even escaped.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def escape(text: str) -> str:
    """XML character data. (xml.sax.saxutils would import urllib: 20 ms per run.)"""
    text = _XML_INVALID.sub("\ufffd", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def quoteattr(text: str) -> str:
    """An XML attribute value, quotes included."""
    return '"' + escape(text).replace('"', "&quot;").replace("\n", "&#10;") + '"'


def use_colour(stream_isatty: bool) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (no-color.org)."""
    return stream_isatty and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def format_report(
    report: Report, fmt: str, verbose: bool = False, strict: bool = False, colour: bool = False
) -> str:
    # Every format lists every finding: a count always matches the list it counts.
    # (`verbose` is kept for old command lines; info findings are always shown.)
    findings = list(report.findings)
    if fmt == "json":
        return _json(report, findings, strict)
    if fmt == "junit":
        return _junit(report, findings, strict)
    if fmt == "github":
        return _github(findings, strict)
    if fmt == "markdown":
        return _markdown(report, findings, strict)
    return _text(report, findings, strict, colour)


def _summary(report: Report, strict: bool) -> str:
    errors, warnings = report.count(ERROR), report.count(WARNING)
    verdict = "FAILED" if report.exit_status(strict) else "OK"
    binaries = ", ".join(s.label for s in report.snapshots) or "nothing"
    failed = f", {len(report.failures)} failed to run" if report.failures else ""
    return f"{verdict}: {errors} error(s), {warnings} warning(s){failed} checking {binaries}"


def _baseline(item: Checked) -> str:
    base = item.baseline.build
    if base is None:
        return "no baseline"
    return "baseline: itself" if base == item.build else f"baseline: {base.slug}"


def _mine(findings: Sequence[Finding], item: Checked) -> list[Finding]:
    return [f for f in findings if f.build == item.build.slug]


def _text(report: Report, findings: Sequence[Finding], strict: bool, colour: bool) -> str:
    lines: list[str] = []
    for item in report.checked_builds:
        snap = item.snapshot
        mine = _mine(findings, item)
        lines.append(
            f"{snap.label}: {len(snap.commands)} commands, {len(snap.info)} info subcommands;"
            f" {item.build.slug}, {_baseline(item)}"
        )
        for severity in (ERROR, WARNING, INFO):
            for f in (f for f in mine if f.severity == severity):
                tag = f"{severity}:"
                if colour:
                    tag = f"{_COLOURS[severity]}{tag}{_RESET}"
                where = f"{f.source}: " if f.source else ""
                lines.append(f"  {tag} {where}{f.message}")
                if f.before is not None:
                    lines.append(f"      {f.against}: {f.before}")
                if f.after is not None:
                    lines.append(f"      {f.build}: {f.after}")
                if f.hint:
                    lines.append(f"      -> {f.hint}")
    lines += [f"  failed: {failure}" for failure in report.failures]
    lines.append(_summary(report, strict))
    return "\n".join(lines) + "\n"


def finding_json(f: Finding) -> dict[str, object]:
    return {
        "id": f.id,
        "kind": f.kind,
        "severity": f.severity,
        "name": f.name,
        "build": f.build,
        "binary": f.binary,
        "version": f.version,
        "target": f.target,
        "against": f.against or None,
        "message": f.message,
        "hint": f.hint or None,
        "file": f.source.file if f.source else None,
        "line": f.source.line if f.source else None,
        "before": f.before,
        "after": f.after,
    }


def _json(report: Report, findings: Sequence[Finding], strict: bool) -> str:
    doc = {
        "status": "failed" if report.exit_status(strict) else "ok",
        "exit_status": report.exit_status(strict),
        "table": report.table_path,
        "builds": [
            {
                "build": c.build.slug,
                "flavour": c.build.flavour,
                "binary": c.snapshot.binary,
                "variant": c.build.variant,
                "version": str(c.snapshot.version) if c.snapshot.version else None,
                "package": c.snapshot.package,
                "target": c.snapshot.target,
                "baseline": c.baseline.build.slug if c.baseline.build else None,
                "commands": len(c.snapshot.commands),
                "info": len(c.snapshot.info),
            }
            for c in report.checked_builds
        ],
        "failures": list(report.failures),
        "counts": {sev: report.count(sev) for sev in (ERROR, WARNING, INFO)},
        "findings": [finding_json(f) for f in findings],
    }
    return json.dumps(doc, indent=2) + "\n"


def _junit(report: Report, findings: Sequence[Finding], strict: bool) -> str:
    """One suite per build, one test case per command checked and per table-side finding."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>']
    suites = []
    total_cases = total_failures = 0
    for item in report.checked_builds:
        snap = item.snapshot
        mine = _mine(findings, item)
        by_name: dict[str, list[Finding]] = {}
        for f in mine:
            by_name.setdefault(f.name or "(build)", []).append(f)
        names = list(report.checked.get(item.build.slug, ()))
        names += sorted(n for n in by_name if n not in names)
        cases = []
        failures = 0
        for name in names:
            case = f"    <testcase classname={quoteattr(item.build.slug)} name={quoteattr(name)}>"
            body = []
            for f in by_name.get(name, []):
                fatal = f.severity == ERROR or (strict and f.severity == WARNING)
                text = escape(f"{f.message}\n{f.hint}".strip())
                if fatal:
                    body.append(
                        f"      <failure type={quoteattr(f.kind)} message={quoteattr(f.message)}>"
                        f"{text}</failure>"
                    )
                elif f.severity == WARNING:
                    body.append(f"      <system-out>{escape('warning: ' + f.message)}</system-out>")
                else:
                    body.append(f"      <skipped message={quoteattr(f.message)}/>")
            if any("<failure" in b for b in body):
                failures += 1
            cases.append(case + ("\n" + "\n".join(body) + "\n    " if body else "") + "</testcase>")
        total_cases += len(cases)
        total_failures += failures
        suites.append(
            f"  <testsuite name={quoteattr(f'{item.build.slug}: {snap.label}')}"
            f' tests="{len(cases)}"'
            f' failures="{failures}" errors="0">\n' + "\n".join(cases) + "\n  </testsuite>"
        )
    out.append(
        f'<testsuites name="hmp-perms check" tests="{total_cases}" failures="{total_failures}"'
        ' errors="0">'
    )
    out += suites
    out.append("</testsuites>")
    return "\n".join(out) + "\n"


def _gh_escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def _github(findings: Sequence[Finding], strict: bool) -> str:
    """GitHub Actions workflow commands; table-side findings point at the entry's line."""
    lines = []
    for f in findings:
        level = {ERROR: "error", WARNING: "warning", INFO: "notice"}[f.severity]
        if strict and f.severity == WARNING:
            level = "error"
        props = [f"title={_gh_escape(f'{f.kind} {f.name} ({f.build})', True)}"]
        if f.source:
            props[:0] = [f"file={_gh_escape(f.source.file, True)}", f"line={f.source.line}"]
        message = f"{f.build} ({f.binary}): {f.message}"
        if f.before is not None:
            message += f"\n{f.against}: {f.before}"
        if f.after is not None:
            message += f"\n{f.build}: {f.after}"
        if f.hint:
            message += f"\n{f.hint}"
        lines.append(f"::{level} {','.join(props)}::{_gh_escape(message)}")
    return "".join(line + "\n" for line in lines)


def _md_cell(text: str) -> str:
    return fold_space(text).replace("|", "\\|")


def _markdown(report: Report, findings: Sequence[Finding], strict: bool) -> str:
    lines = ["## HMP permission check", "", _summary(report, strict), ""]
    lines += [
        "| build | binary | baseline | commands | info | errors | warnings |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for item in report.checked_builds:
        s = item.snapshot
        mine = _mine(report.findings, item)
        errors = sum(1 for f in mine if f.severity == ERROR)
        warnings = sum(1 for f in mine if f.severity == WARNING)
        lines.append(
            f"| {item.build.slug} | `{_md_cell(s.binary)}` | {_baseline(item)} | {len(s.commands)}"
            f" | {len(s.info)} | {errors} | {warnings} |"
        )
    for failure in report.failures:
        lines.append(f"| failed | {_md_cell(failure)} | | | | | |")
    if findings:
        lines += [
            "",
            "| severity | finding | command | build | details |",
            "|---|---|---|---|---|",
        ]
        for f in findings:
            details = f.message
            if f.before is not None:
                details += f" ({f.against}: `{f.before}`)"
            if f.after is not None:
                details += f" (now: `{f.after}`)"
            if f.severity == ERROR and f.hint:
                details += f"; {f.hint}"
            where = f" ({f.source})" if f.source else ""
            lines.append(
                f"| {f.severity} | {f.kind} | `{_md_cell(f.name)}` | {f.build}"
                f" | {_md_cell(details + where)} |"
            )
    return "\n".join(lines) + "\n"


def format_diff(changes: Sequence[Change], a_label: str, b_label: str, fmt: str) -> str:
    if fmt == "markdown":
        lines = [f"## HMP changes: {a_label} -> {b_label}", ""]
        if not changes:
            return "\n".join([*lines, "No changes."]) + "\n"
        lines += ["| change | command | before | after |", "|---|---|---|---|"]
        lines += [
            f"| {c.kind} | `{_md_cell(c.name)}` | {_md_cell(c.before)} | {_md_cell(c.after)} |"
            for c in changes
        ]
        return "\n".join(lines) + "\n"
    lines = [f"{a_label} -> {b_label}: {len(changes)} change(s)"]
    for c in changes:
        if c.kind == "added":
            lines.append(f"  + {c.name}: {c.after}")
        elif c.kind == "removed":
            lines.append(f"  - {c.name}: {c.before}")
        else:
            lines.append(f"  ~ {c.name}: {c.kind} changed")
            lines.append(f"      before: {c.before}")
            lines.append(f"      after:  {c.after}")
    return "\n".join(lines) + "\n"

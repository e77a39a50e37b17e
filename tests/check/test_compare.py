"""The drift check: builds against the table (coverage) and against their baselines (drift)."""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from generator.check.compare import Checked, check_drift
from generator.check.report import format_report
from generator.cli.main import use_colour
from generator.collect.records import build_of, find_baseline
from generator.collect.snapshot import load_snapshot
from generator.table.loader import load_table
from tests.conftest import BUILDS, FIXTURES, TABLE, Result

OLD = BUILDS / "debian-7.2.22-x86_64.json"
NEW = BUILDS / "debian-10.0.13-x86_64.json"
OLD_ID = "debian-7.2.22-x86_64"
NEW_ID = "debian-10.0.13-x86_64"
FORMATS = ("text", "json", "junit", "github", "markdown")


def drop_entry(path: Path, section: str, name: str) -> str:
    """Remove one entry (its key line and the lines indented under it) from a table file."""
    lines = path.read_text().splitlines(keepends=True)
    start = lines.index(f"{section}:\n")
    key = next(
        i for i in range(start, len(lines)) if re.match(rf"  '?{re.escape(name)}'?:", lines[i])
    )
    end = key + 1
    while end < len(lines) and lines[end].startswith("    "):
        end += 1
    removed = "".join(lines[key:end])
    path.write_text("".join(lines[:key] + lines[end:]))
    return removed


def inherit_info(path: Path) -> None:
    """Give a table file `info-subcommands: inherit`."""
    path.write_text(
        path.read_text().replace("\ncommands:\n", "\ninfo-subcommands: inherit\ncommands:\n")
    )


def entry_line(path: Path, section: str, name: str) -> int:
    lines = path.read_text().splitlines()
    start = lines.index(f"{section}:")
    return next(
        n
        for n, line in enumerate(lines[start:], start + 1)
        if re.fullmatch(rf"  '?{re.escape(name)}'?:", line)
    )


def check_json(cli: Callable[..., Result], *args: object) -> tuple[int, dict[str, Any]]:
    result = cli("check", *args, "--format", "json")
    return result.status, json.loads(result.out)


# -- the committed table against every build -----------------------------------


def test_live_binaries_are_covered_and_match_their_records(
    qemu_x86: str, qemu_arm: str, cli: Callable[..., Result]
) -> None:
    status, doc = check_json(cli, "--qemu", qemu_x86, "--qemu", qemu_arm)
    assert status == 0, doc
    assert doc["findings"] == []
    assert [b["target"] for b in doc["builds"]] == ["x86_64", "aarch64"]
    assert all(b["baseline"] == b["build"] for b in doc["builds"])


def test_every_recorded_build_is_clean(cli: Callable[..., Result]) -> None:
    records = sorted(BUILDS.glob("*.json"))
    assert len(records) >= 60
    args = [a for path in records for a in ("--snapshot", path)]
    status, doc = check_json(cli, *args)
    assert status == 0
    assert doc["counts"] == {"error": 0, "warning": 0, "info": 0}
    assert [b["build"] for b in doc["builds"]] == [p.stem for p in records]
    assert all(b["baseline"] == b["build"] for b in doc["builds"])


# -- coverage: what the table must decide ----------------------------------------


def _remove_sum(path: Path) -> None:
    drop_entry(path, "commands", "sum")


def _change_alias(path: Path) -> None:
    path.write_text(path.read_text().replace("    aliases: [c]\n", "    aliases: [cc]\n", 1))


def _remove_usbhost(path: Path) -> None:
    drop_entry(path, "info", "usbhost")


# name: (table edit, {finding id: severity})
COVERAGE = {
    "entry removed": (_remove_sum, {f"unassigned-command:sum:{OLD_ID}": "error"}),
    "alias changed": (_change_alias, {f"alias-mismatch:cont:{OLD_ID}": "error"}),
    "info removed": (_remove_usbhost, {f"unassigned-info:info usbhost:{OLD_ID}": "error"}),
}


@pytest.mark.parametrize("case", COVERAGE)
def test_coverage_findings_in_every_format(
    case: str, table_copy: Path, cli: Callable[..., Result]
) -> None:
    change, expected = COVERAGE[case]
    change(table_copy)
    flags = ["--snapshot", OLD, "--table", table_copy]

    status, doc = check_json(cli, *flags)
    assert status == 1
    assert {f["id"]: f["severity"] for f in doc["findings"]} == expected
    assert doc["exit_status"] == 1 and doc["status"] == "failed"
    (finding,) = doc["findings"]
    assert (finding["build"], finding["target"], finding["version"]) == (OLD_ID, "x86_64", "7.2.22")
    assert finding["hint"]
    section = "info" if finding["name"].startswith("info ") else "commands"
    name = finding["name"].removeprefix("info ")
    lines = table_copy.read_text().splitlines()
    if f"  {name}:" in lines:
        assert finding["line"] == entry_line(table_copy, section, name)
    else:  # where `sync --write` would put it: before the next name in order
        assert lines[finding["line"] - 1].strip() > name

    junit = cli("check", *flags, "--format", "junit")
    assert junit.status == 1
    root = ET.fromstring(junit.out)
    failed = [tc.get("name") for tc in root.iter("testcase") if tc.find("failure") is not None]
    assert failed == [finding["name"]]
    assert int(root.get("failures", "-1")) == 1
    assert int(root.get("tests", "0")) >= 108
    assert {s.get("name", "").split(":")[0] for s in root.iter("testsuite")} == {OLD_ID}

    gh = cli("check", *flags, "--format", "github")
    (line,) = gh.out.splitlines()
    assert line.startswith(
        f"::error file={table_copy},line={finding['line']},"
        f"title={finding['kind']} {finding['name']} ({OLD_ID})::{OLD_ID} (qemu-system-x86_64): "
    )

    md = cli("check", *flags, "--format", "markdown")
    assert f"| error | `{finding['kind']}` | `{finding['name']}` | `{OLD_ID}` |" in md.out
    package = json.loads(OLD.read_text())["package"]
    # a snapshot file is named by its base name, not the path it was given by
    assert f"| `{OLD_ID}` | `{OLD.name}` | {package} | baseline: itself |" in md.out
    assert f"checking {OLD.name} (7.2.22 x86_64)" in md.out

    text = cli("check", *flags)
    assert text.status == 1
    assert "error:" in text.out and "->" in text.out
    if finding["kind"].startswith("unassigned"):  # a suggested level, in every format
        suggestion = finding["hint"].split("; ", 1)[1]
        assert suggestion.startswith("suggested level: ")
        for out in (text.out, md.out, gh.out, junit.out):
            assert suggestion.replace("'", "&apos;")[:40] in out.replace("'", "&apos;")


def test_deprecated_in_qemu_but_not_in_the_table(
    tmp_path: Path, cli: Callable[..., Result]
) -> None:
    """QEMU 10.2 marks `wavcapture` "(deprecated)" in its help; no recorded build does
    yet, so the record of 10.0 is given the marker as 10.2 prints it."""
    doc = json.loads(NEW.read_text())
    doc["help"] = [
        line.replace("record a sound to a wav file", "record a sound to a wav file (deprecated)")
        for line in doc["help"]
    ]
    doc["help"] = [
        line.replace("stop capture", "stop capture (deprecated)") for line in doc["help"]
    ]
    marked = tmp_path / "marked.json"
    marked.write_text(json.dumps(doc))
    table = tmp_path / "data" / "hmp-commands.yaml"
    table.parent.mkdir()
    # The committed table marks both deprecated; take the mark off one of them.
    text = TABLE.read_text()
    stop = re.search(r"  stopcapture:\n(    .*\n)*?    deprecated: .*\n", text)
    assert stop is not None
    table.write_text(text.replace(stop[0], re.sub(r"    deprecated: .*\n", "", stop[0])))
    empty = tmp_path / "builds"
    empty.mkdir()
    status, report = check_json(cli, "--snapshot", marked, "--table", table, "--builds", empty)
    ids = {f["id"]: f["severity"] for f in report["findings"]}
    assert ids.pop(f"deprecated-unmarked:stopcapture:{NEW_ID}") == "warning"
    assert ids == {f"no-baseline:{NEW_ID}:{NEW_ID}": "info"}
    assert status == 0
    assert cli("check", "--snapshot", marked, "--table", table, "--strict").status == 1


# -- drift: what moved since the baseline ----------------------------------------


def listed_names(path: Path) -> dict[str, str]:
    """Name -> the text after it, straight from a record's lines (not through the parser)."""
    doc = json.loads(path.read_text())
    found: dict[str, str] = {}
    for key, prefix in (("help", ""), ("info", "info ")):
        for line in doc[key]:
            if line and not line.startswith(("\t", "[")):
                head = line.removeprefix(prefix).split(" ", 1)[0]
                found[prefix + head.split("|")[0]] = line
    return found


def test_upgrade_from_7_2_to_10_0_reports_exactly_what_qemu_changed(
    tmp_path: Path, cli: Callable[..., Result]
) -> None:
    only_old = tmp_path / "builds"
    only_old.mkdir()
    shutil.copy(OLD, only_old)
    status, doc = check_json(cli, "--snapshot", NEW, "--builds", only_old)
    assert status == 0  # drift is a warning; the table covers both releases
    assert doc["builds"][0]["baseline"] == OLD_ID
    ids = [f["id"] for f in doc["findings"]]
    assert len(ids) == len(set(ids))
    by_kind: dict[str, set[str]] = {}
    for f in doc["findings"]:
        by_kind.setdefault(f["kind"], set()).add(f["name"])
        assert f["build"] == NEW_ID and f["id"] == f"{f['kind']}:{f['name']}:{NEW_ID}"
        assert f["against"] == OLD_ID or f["kind"].startswith("added")

    old, new = listed_names(OLD), listed_names(NEW)
    added, removed = new.keys() - old.keys(), old.keys() - new.keys()
    assert by_kind.pop("added-command") | by_kind.pop("added-info") == added
    assert by_kind.pop("removed-command") | by_kind.pop("removed-info") == removed
    # What QEMU's changelog says moved between 7.2 and 10.0 on x86_64:
    assert added == {"one-insn-per-tb", "xen-event-inject", "xen-event-list", "info cryptodev"}
    assert removed == {"singlestep", "info profile", "info rdma"}
    assert by_kind.pop("changed-params") == {
        "dump-guest-memory",
        "migrate",
        "watchdog_action",
        "info qtree",
    }
    changed_help = by_kind.pop("changed-help")
    assert {"dump-guest-memory", "migrate", "info qtree"} <= changed_help
    for name in changed_help:
        assert " ".join(old[name].split()) != " ".join(new[name].split())
    assert by_kind == {}
    migrate = next(f for f in doc["findings"] if f["id"] == f"changed-params:migrate:{NEW_ID}")
    assert (migrate["before"], migrate["after"]) == ("[-d] [-b] [-i] [-r] uri", "[-d] [-r] uri")


def test_sync_accepts_the_upgrade_and_both_releases_are_then_clean(
    tmp_path: Path, table_copy: Path, cli: Callable[..., Result]
) -> None:
    builds = tmp_path / "builds"
    builds.mkdir()
    shutil.copy(OLD, builds)
    kept = table_copy.read_text()
    drop_entry(table_copy, "commands", "one-insn-per-tb")
    drop_entry(table_copy, "info", "cryptodev")
    # `singlestep` follows `one-insn-per-tb`: point it elsewhere while that is undecided.
    table_copy.write_text(table_copy.read_text().replace("    follows: one-insn-per-tb\n", ""))
    before = table_copy.read_text()
    flags = ["--table", table_copy, "--builds", builds]

    status, doc = check_json(cli, "--snapshot", NEW, *flags)
    assert status == 1
    assert {f["id"] for f in doc["findings"] if f["severity"] == "error"} == {
        f"unassigned-command:one-insn-per-tb:{NEW_ID}",
        f"unassigned-info:info cryptodev:{NEW_ID}",
    }

    dry = cli("sync", "--snapshot", NEW, *flags)
    assert dry.status == 0 and "dry run" in dry.out
    assert table_copy.read_text() == before and sorted(builds.iterdir()) == [builds / OLD.name]

    synced = cli("sync", "--snapshot", NEW, *flags, "--write")
    assert synced.status == 0, synced.err
    assert "+ one-insn-per-tb: stub added" in synced.out
    assert "+ info cryptodev: stub added" in synced.out
    assert (builds / NEW.name).read_text() == NEW.read_text()
    stubbed = table_copy.read_text()
    # Only lines were added; every line of the table before is still there, in order.
    added = [line for line in stubbed.splitlines() if line not in before.splitlines()]
    assert any("todo:" in line for line in added) and len(added) == 9
    lint = cli("lint", "--table", table_copy)
    assert lint.status == 1 and "one-insn-per-tb" in lint.out + lint.err

    # A person decides: the stubs become the entries they were.
    decided = re.sub(
        r"  one-insn-per-tb:\n(    .*\n)+",
        "  one-insn-per-tb:\n    permission: Sys.Modify\n    rationale: Changes how TCG translates"
        " guest code for this VM only.\n",
        stubbed,
    )
    decided = re.sub(r"  cryptodev:\n(    .*\n)+", "  cryptodev:\n", decided)
    table_copy.write_text(decided)
    both = ["--snapshot", OLD, "--snapshot", NEW]
    status, doc = check_json(cli, *both, *flags)
    assert (status, doc["counts"]) == (0, {"error": 0, "warning": 0, "info": 0})
    assert cli("check", *both, *flags, "--strict").status == 0
    assert kept  # the committed table was never touched
    assert TABLE.read_text() == kept


def test_no_recorded_build_is_an_info_finding_and_coverage_still_counts(
    tmp_path: Path, cli: Callable[..., Result]
) -> None:
    snap = tmp_path / "s.json"
    made = cli("collect", "--from-text", FIXTURES / "qemu-7.2-x86_64.help.txt", "-o", snap)
    assert made.status == 0, made.err
    status, doc = check_json(cli, "--snapshot", snap)
    assert status == 0
    (finding,) = doc["findings"]
    assert finding["id"] == "no-baseline:upstream-unknown-x86_64:upstream-unknown-x86_64"
    assert "its QEMU version is unknown" in finding["message"]


def test_saved_text_without_a_package_is_said_to_have_no_baseline(
    tmp_path: Path, cli: Callable[..., Result]
) -> None:
    snap = tmp_path / "s.json"
    help_text = FIXTURES / "qemu-7.2-x86_64.help.txt"
    assert (
        cli("collect", "--from-text", help_text, "--qemu-version", "7.2.22", "-o", snap).status == 0
    )
    (finding,) = check_json(cli, "--snapshot", snap)[1]["findings"]
    assert finding["kind"] == "no-baseline"
    assert finding["message"] == (
        "without --package the build is upstream's and has no recorded baseline"
    )
    assert finding["hint"].startswith("give --package")


def test_ids_are_unique_across_two_versions_of_one_target(
    table_copy: Path, cli: Callable[..., Result]
) -> None:
    _remove_sum(table_copy)
    flags = ["--snapshot", OLD, "--snapshot", NEW, "--table", table_copy]
    status, doc = check_json(cli, *flags)
    assert status == 1
    ids = [f["id"] for f in doc["findings"]]
    assert f"unassigned-command:sum:{OLD_ID}" in ids and f"unassigned-command:sum:{NEW_ID}" in ids
    assert len(ids) == len(set(ids))
    assert doc["counts"]["error"] == sum(1 for f in doc["findings"] if f["severity"] == "error")
    root = ET.fromstring(cli("check", *flags, "--format", "junit").out)
    assert [s.get("name", "").split(":")[0] for s in root.iter("testsuite")] == [OLD_ID, NEW_ID]
    md = cli("check", *flags, "--format", "markdown").out
    assert f"| `sum` | `{OLD_ID}` |" in md and f"| `sum` | `{NEW_ID}` |" in md


def test_failed_collection_is_never_clean(cli: Callable[..., Result]) -> None:
    for fmt in FORMATS:
        result = cli("check", "--qemu", "qemu-system-nosuchtarget", "--format", fmt)
        assert result.status == 2
        assert "qemu-system-nosuchtarget: not found on PATH" in result.err


def test_colour_only_on_a_terminal_without_no_color() -> None:
    assert use_colour(True, {"TERM": "xterm"}) and not use_colour(False, {"TERM": "xterm"})
    assert not use_colour(True, {"TERM": "xterm", "NO_COLOR": "1"})
    assert not use_colour(True, {"TERM": "dumb"})
    table = load_table(str(TABLE))
    snap = load_snapshot(str(NEW))
    build = build_of(snap, table.vendors)
    only_old = find_baseline(build_of(load_snapshot(str(OLD)), table.vendors), str(BUILDS), {})
    report = check_drift([Checked(snap, build, only_old)], table)
    assert "\033[" in format_report(report, "text", colour=True)
    assert "\033[" not in format_report(report, "text", colour=False)


# -- diff ------------------------------------------------------------------------


def test_diff_between_two_releases(cli: Callable[..., Result]) -> None:
    text = cli("diff", OLD, NEW)
    assert text.status == 0
    assert "  - singlestep: [on|off] -- run emulation in singlestep mode" in text.out
    assert "  + info cryptodev: show the crypto devices" in text.out
    assert "  ~ migrate: params changed\n      before: [-d] [-b] [-i] [-r] uri\n" in text.out
    md = cli("diff", OLD, NEW, "--format", "markdown")
    assert "| removed | `singlestep` |" in md.out
    same = cli("diff", OLD, OLD, "--format", "markdown")
    assert "No changes." in same.out


def test_a_format_1_snapshot_is_refused_naming_its_format(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    """Format 1 (parsed entries beside the raw text) was read until 0.1.0 dropped it."""
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"format": 1, "binary": "qemu-system-x86_64", "raw": {}}))
    result = cli("check", "--snapshot", old)
    assert (result.status, result.out) == (2, "")
    assert result.err == f"hmp-perms: {old}: snapshot format 1 is not one this version reads (2)\n"


def test_standin_that_fails_does_not_hide_the_findings_of_other_builds(
    table_copy: Path, cli: Callable[..., Result]
) -> None:
    """`false` stands in for a QEMU that exits at once, beside two recorded builds."""
    _remove_sum(table_copy)
    flags = ["--snapshot", OLD, "--snapshot", NEW, "--qemu", "false", "--table", table_copy]
    result = cli("check", *flags, "--format", "json")
    assert result.status == 2
    doc = json.loads(result.out)
    assert [f["id"] for f in doc["findings"]] == [
        f"unassigned-command:sum:{OLD_ID}",
        f"unassigned-command:sum:{NEW_ID}",
    ]
    assert doc["failures"] == ["false: is no QEMU (exited before it connected (exit status 1))"]
    assert (doc["status"], doc["exit_status"]) == ("failed", 2)
    assert result.err == (
        "hmp-perms: false: is no QEMU (exited before it connected (exit status 1))\n"
    )
    for fmt in FORMATS:
        out = cli("check", *flags, "--format", fmt)
        assert out.status == 2 and "sum" in out.out


def test_check_output_file_holds_the_report_and_the_status_stays(
    table_copy: Path, tmp_path: Path, cli: Callable[..., Result]
) -> None:
    _remove_sum(table_copy)
    out = tmp_path / "junit.xml"
    args = ("check", "--table", table_copy, "--snapshot", OLD, "--format", "junit")
    result = cli(*args, "-o", out)
    assert result.status == 1 and result.out == "" and result.err == ""
    assert out.read_text() == cli(*args).out
    assert ET.parse(out).getroot().get("failures") == "1"


@pytest.mark.parametrize("where", ["dir", "missing-parent-in-proc"])
def test_check_output_that_cannot_be_written_is_one_line(
    tmp_path: Path, cli: Callable[..., Result], where: str
) -> None:
    target = tmp_path if where == "dir" else Path("/proc/no-such-dir/report.xml")
    result = cli("check", "--snapshot", OLD, "-o", target)
    assert result.status == 2 and result.out == ""
    assert result.err.startswith(f"hmp-perms: {target}: ")
    assert len(result.err.splitlines()) == 1


def test_one_build_given_twice_is_checked_once(
    qemu_x86: str, cli: Callable[..., Result], tmp_path: Path
) -> None:
    snap = tmp_path / "x86.json"
    assert cli("collect", "--qemu", qemu_x86, "-o", snap).status == 0
    status, doc = check_json(
        cli, "--snapshot", snap, "--qemu", qemu_x86, "--qemu", "qemu-system-x86_64"
    )
    assert status == 0
    assert len(doc["builds"]) == 1
    changed = json.loads(snap.read_text())
    changed["help"] = [line for line in changed["help"] if not line.startswith("sum ")]
    snap.write_text(json.dumps(changed))
    result = cli("check", "--snapshot", snap, "--qemu", qemu_x86)
    assert result.status == 2 and len(result.err.splitlines()) == 1
    assert "list different commands" in result.err


def test_verbose_flag_is_gone(cli: Callable[..., Result]) -> None:
    # `-v` changed nothing and was kept only for old command lines: now a usage error.
    result = cli("check", "-v", "--snapshot", BUILDS / "debian-10.0.13-x86_64.json")
    assert result.status == 2 and "unrecognized arguments: -v" in result.err


def test_unassigned_info_message_names_the_subcommand_once(
    table_copy: Path, cli: Callable[..., Result]
) -> None:
    _remove_usbhost(table_copy)
    _, doc = check_json(cli, "--snapshot", OLD, "--table", table_copy)
    (finding,) = doc["findings"]
    assert finding["message"].startswith("info subcommand usbhost has no permission")


def test_deprecated_with_more_in_the_parentheses_counts(
    table_copy: Path, cli: Callable[..., Result]
) -> None:
    """11.1 prints `wavcapture`'s mark as "(deprecated, default frequency=44100 ...)"."""
    text = table_copy.read_text()
    entry = re.search(r"  wavcapture:\n(    .*\n)*?    deprecated: .*\n", text)
    assert entry is not None
    table_copy.write_text(text.replace(entry[0], re.sub(r"    deprecated: .*\n", "", entry[0])))
    eleven = BUILDS / "debian-11.1.3-x86_64.json"
    _, report = check_json(cli, "--snapshot", eleven, "--table", table_copy)
    kinds = {f["id"]: f["kind"] for f in report["findings"]}
    assert kinds == {"deprecated-unmarked:wavcapture:debian-11.1.3-x86_64": "deprecated-unmarked"}


def test_under_inherit_a_new_info_subcommand_is_a_warning_to_review(
    table_copy: Path, tmp_path: Path, cli: Callable[..., Result]
) -> None:
    inherit_info(table_copy)
    drop_entry(table_copy, "info", "cryptodev")  # new in 10.0
    drop_entry(table_copy, "info", "usbhost")  # in 7.2 and 10.0: info's level, nothing to say
    only_old = tmp_path / "builds"
    only_old.mkdir()
    shutil.copy(OLD, only_old)
    status, doc = check_json(cli, "--table", table_copy, "--snapshot", NEW, "--builds", only_old)
    assert status == 0, doc
    info = [(f["kind"], f["name"], f["severity"]) for f in doc["findings"] if "info " in f["name"]]
    assert ("review-info", "info cryptodev", "warning") in info
    assert not [f for f in info if f[0] == "unassigned-info" or f[1] == "info usbhost"]


def test_an_unassigned_info_subcommand_without_a_section_says_where_sync_puts_it(
    table_copy: Path, cli: Callable[..., Result]
) -> None:
    text = table_copy.read_text()
    table_copy.write_text(text[: text.index("\ninfo:\n")] + "\n")
    result = cli("check", "--snapshot", OLD, "--table", table_copy, "--format", "json")
    unassigned = [f for f in json.loads(result.out)["findings"] if f["kind"] == "unassigned-info"]
    assert unassigned and all(f["line"] is None for f in unassigned)
    assert all("in an `info:` section at the end of the table" in f["hint"] for f in unassigned)
    assert not any("at this line" in f["hint"] for f in unassigned)

"""The drift check: real QEMU and recorded snapshots against the table, drift made on purpose."""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from generator.compare import check_drift
from generator.report import format_report, use_colour
from generator.snapshot import load_snapshot
from generator.sync import round_trip_yaml
from generator.table import load_table

from .conftest import FIXTURES, TABLE, Result

X86 = FIXTURES / "qemu-7.2-x86_64.json"
ARM = FIXTURES / "qemu-7.2-aarch64.json"


def edit(path: Path, change: Callable[[Any], None]) -> None:
    yaml = round_trip_yaml()
    doc = yaml.load(path.read_text())
    change(doc)
    out = io.StringIO()
    yaml.dump(doc, out)
    path.write_text(out.getvalue())


def test_live_binaries_have_no_unassigned_command(
    qemu_x86: str, qemu_arm: str, cli: Callable[..., Result]
) -> None:
    result = cli("check", "--qemu", qemu_x86, "--qemu", qemu_arm, "--format", "json")
    doc = json.loads(result.out)
    assert result.status == 0, result.out
    assert [f for f in doc["findings"] if f["severity"] == "error"] == []
    assert [b["target"] for b in doc["binaries"]] == ["x86_64", "aarch64"]


def test_recorded_snapshots_are_clean(cli: Callable[..., Result]) -> None:
    result = cli("check", "--snapshot", X86, "--snapshot", ARM)
    assert result.status == 0
    assert result.out.splitlines()[-1].startswith("OK: 0 error(s), 0 warning(s)")


def _remove_command(doc: Any) -> None:
    del doc["commands"]["sum"]


def _change_alias(doc: Any) -> None:
    doc["commands"]["cont"]["aliases"][0] = "cc"


def _remove_info(doc: Any) -> None:
    del doc["info"]["usbhost"]


def _alter_help(doc: Any) -> None:
    doc["commands"]["balloon"]["help"] = "request VM to change its memory"


def _contradict_targets(doc: Any) -> None:
    doc["commands"]["mce"]["targets"] = ["aarch64"]


def _contradict_until(doc: Any) -> None:
    doc["commands"]["cont"]["until"] = "7.0"


# name: (edit, {finding id: severity}, exit status, exit status with --strict)
DRIFT = {
    "entry removed": (_remove_command, {"unassigned-command:sum:x86_64": "error"}, 1, 1),
    "alias changed": (_change_alias, {"alias-mismatch:cont:x86_64": "error"}, 1, 1),
    "info removed": (_remove_info, {"unassigned-info:info usbhost:x86_64": "error"}, 1, 1),
    "help altered": (_alter_help, {"changed-help:balloon:x86_64": "warning"}, 0, 1),
    "targets contradicted": (
        _contradict_targets,
        {"unexpected-command:mce:x86_64": "warning"},
        0,
        1,
    ),
    "until contradicted": (_contradict_until, {"unexpected-command:cont:x86_64": "warning"}, 0, 1),
}


def entry_lines(path: Path, section: str) -> dict[str, int]:
    """Each entry of a section of the table file, by name, with its line."""
    lines = path.read_text().splitlines()
    start = lines.index(f"{section}:")
    found = {}
    for number, line in enumerate(lines[start + 1 :], start + 2):
        if line and not line.startswith((" ", "#")):
            break
        m = re.fullmatch(r"  '?([^' ]+)'?:", line)
        if m:
            found[m[1]] = number
    return found


def expected_line(path: Path, finding: dict[str, Any]) -> int:
    """The entry's line; for a name the table lacks, the line of the entry it would precede."""
    section = "info" if finding["name"].startswith("info ") else "commands"
    name = finding["name"].removeprefix("info ")
    lines = entry_lines(path, section)
    if name in lines:
        return lines[name]
    return min(line for other, line in lines.items() if other > name)


@pytest.mark.parametrize("case", DRIFT)
@pytest.mark.parametrize("strict", [False, True], ids=["default", "strict"])
def test_drift_in_every_format(
    case: str, strict: bool, table_copy: Path, cli: Callable[..., Result]
) -> None:
    change, expected, status, strict_status = DRIFT[case]
    edit(table_copy, change)
    flags = ["--snapshot", X86, "--table", table_copy] + (["--strict"] if strict else [])
    want = strict_status if strict else status

    js = cli("check", *flags, "--format", "json")
    assert js.status == want
    doc = json.loads(js.out)
    assert {f["id"]: f["severity"] for f in doc["findings"]} == expected
    assert doc["exit_status"] == want and doc["status"] == ("failed" if want else "ok")
    (finding,) = doc["findings"]
    assert finding["target"] == "x86_64" and finding["version"] == "7.2.22"
    assert finding["hint"]

    fatal = {i for i, sev in expected.items() if sev == "error" or strict}
    junit = cli("check", *flags, "--format", "junit")
    assert junit.status == want
    root = ET.fromstring(junit.out)
    failed = [tc.get("name") for tc in root.iter("testcase") if tc.find("failure") is not None]
    assert failed == [i.split(":")[1] for i in fatal]
    assert int(root.get("failures", "-1")) == len(fatal)
    assert int(root.get("tests", "0")) >= 108

    gh = cli("check", *flags, "--format", "github")
    assert gh.status == want
    (line,) = gh.out.splitlines()
    level = "error" if fatal else "warning"
    name = finding["name"]
    assert finding["file"] == str(table_copy)
    assert finding["line"] == expected_line(table_copy, finding)
    assert line.startswith(
        f"::{level} file={table_copy},line={finding['line']},"
        f"title={finding['kind']} {name} (x86_64)::qemu-system-x86_64 (7.2.22 x86_64): "
    )

    md = cli("check", *flags, "--format", "markdown")
    assert md.status == want
    assert f"| {finding['severity']} | {finding['kind']} | `{name}` | x86_64 |" in md.out

    text = cli("check", *flags)
    assert text.status == want
    assert f"{finding['severity']}:" in text.out and "->" in text.out


def test_changed_help_shows_before_and_after(table_copy: Path, cli: Callable[..., Result]) -> None:
    edit(table_copy, _alter_help)
    out = cli("check", "--snapshot", X86, "--table", table_copy).out
    assert "      table: request VM to change its memory\n" in out
    assert "      qemu:  request VM to change its memory allocation (in MB)\n" in out


def test_whitespace_only_changes_are_not_drift(
    table_copy: Path, cli: Callable[..., Result]
) -> None:
    edit(
        table_copy,
        lambda d: d["commands"]["balloon"].__setitem__(
            "help", "  request VM to change\tits memory allocation   (in MB) "
        ),
    )
    assert cli("check", "--snapshot", X86, "--table", table_copy).status == 0


def test_explained_absences_only_with_verbose(cli: Callable[..., Result]) -> None:
    quiet = cli("check", "--snapshot", ARM, "--format", "json")
    loud = cli("check", "--snapshot", ARM, "--format", "json", "-v")
    ids = {f["id"] for f in json.loads(loud.out)["findings"]}
    assert json.loads(quiet.out)["findings"] == []
    assert "absent-explained:mce:aarch64" in ids
    assert "absent-explained:info lapic:aarch64" in ids


def test_targets_contradiction_also_warns_where_it_is_missing(
    table_copy: Path, cli: Callable[..., Result]
) -> None:
    edit(table_copy, _contradict_targets)
    doc = json.loads(cli("check", "--snapshot", ARM, "--table", table_copy, "--format", "json").out)
    assert [f["id"] for f in doc["findings"]] == ["missing-command:mce:aarch64"]


def test_from_text_snapshot_finds_what_the_live_binary_finds(
    qemu_x86: str, table_copy: Path, tmp_path: Path, cli: Callable[..., Result]
) -> None:
    edit(table_copy, _remove_command)
    edit(table_copy, _remove_info)
    live_json = tmp_path / "live.json"
    assert cli("collect", "--qemu", qemu_x86, "-o", live_json).status == 0
    raw = json.loads(live_json.read_text())
    (tmp_path / "help.txt").write_text(raw["raw"]["help"].replace("\n", "\r\n"))
    (tmp_path / "info.txt").write_text(raw["raw"]["info"])
    text_json = tmp_path / "text.json"
    made = cli(
        "collect",
        "--from-text",
        tmp_path / "help.txt",
        "--info-text",
        tmp_path / "info.txt",
        "--qemu-version",
        raw["version"],
        "--target",
        "x86_64",
        "--package",
        raw["package"],
        "-o",
        text_json,
    )
    assert made.status == 0

    def findings(*source: object) -> list[tuple[str, str, str]]:
        result = cli("check", *source, "--table", table_copy, "--format", "json", "-v")
        assert result.status == 1
        return [(f["id"], f["severity"], f["message"]) for f in json.loads(result.out)["findings"]]

    live = findings("--qemu", qemu_x86)
    assert ("unassigned-command:sum:x86_64", "error") in [f[:2] for f in live]
    assert findings("--snapshot", text_json) == live


def test_failed_collection_is_never_clean(cli: Callable[..., Result]) -> None:
    for fmt in ("text", "json", "junit", "github", "markdown"):
        result = cli("check", "--qemu", "qemu-system-nosuchtarget", "--format", fmt)
        assert (result.status, result.out) == (2, "")
        assert "qemu-system-nosuchtarget: not found on PATH" in result.err


def test_colour_only_on_a_terminal_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert use_colour(True) and not use_colour(False)
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_colour(True)
    report = check_drift([load_snapshot(str(X86))], load_table(str(TABLE)))
    assert "\033[" in format_report(report, "text", verbose=True, colour=True)
    assert "\033[" not in format_report(report, "text", verbose=True, colour=False)


def test_unknown_version_cannot_explain_or_contradict(
    tmp_path: Path, cli: Callable[..., Result]
) -> None:
    snap = tmp_path / "s.json"
    cli("collect", "--from-text", FIXTURES / "qemu-7.2-x86_64.help.txt", "-o", snap)
    doc = json.loads(cli("check", "--snapshot", snap, "--format", "json", "-v").out)
    by_id = {f["id"]: f for f in doc["findings"]}
    assert (
        "its QEMU version is unknown" in by_id["absent-explained:one-insn-per-tb:x86_64"]["message"]
    )
    assert not any(f["kind"].startswith("unexpected") for f in doc["findings"])


# -- sync ------------------------------------------------------------------------


def test_sync_write_adds_a_stub_and_keeps_every_other_byte(
    table_copy: Path, cli: Callable[..., Result]
) -> None:
    original = table_copy.read_text()
    edit(table_copy, _remove_command)
    edit(table_copy, _alter_help)
    edit(table_copy, _remove_info)
    drifted = table_copy.read_text()

    dry = cli("sync", "--snapshot", X86, "--table", table_copy)
    assert dry.status == 0 and "dry run" in dry.out
    assert table_copy.read_text() == drifted

    result = cli("sync", "--snapshot", X86, "--table", table_copy, "--write")
    assert result.status == 0
    assert "+ sum: added a stub" in result.out and "+ info usbhost: added a stub" in result.out
    assert "~ balloon: help" in result.out
    assert "? one-insn-per-tb: kept, not in any binary checked" in result.out
    synced = table_copy.read_text()

    stub = (
        "  sum:\n    params: addr size\n    help: compute the checksum of a memory region\n"
        "    todo: 'new in qemu-system-x86_64 (7.2.22 x86_64): choose a permission, write a"
        " rationale, remove this line'\n"
    )
    full = re.search(r"  sum:\n(    .*\n)+", original)
    assert full is not None
    info_stub = (
        "  usbhost:\n    params: ''\n    help: show host USB devices\n"
        "    todo: 'new in qemu-system-x86_64 (7.2.22 x86_64): choose a permission, write a"
        " rationale, remove this line'\n"
    )
    expected = original.replace(full.group(0), stub).replace(
        "  usbhost:\n    params: ''\n    help: show host USB devices\n", info_stub
    )
    assert synced == expected

    check = cli("check", "--snapshot", X86, "--table", table_copy)
    assert check.status == 2
    assert f"{table_copy}:" in check.err and "'sum': new in" in check.err
    assert cli("lint", "--table", table_copy).status == 1

    table_copy.write_text(
        synced.replace(stub, full.group(0)).replace(
            info_stub, "  usbhost:\n    params: ''\n    help: show host USB devices\n"
        )
    )
    assert cli("check", "--snapshot", X86, "--table", table_copy).status == 0
    assert table_copy.read_text() == original


def test_sync_on_a_current_table_changes_nothing(
    table_copy: Path, cli: Callable[..., Result]
) -> None:
    before = table_copy.read_bytes()
    result = cli("sync", "--snapshot", X86, "--table", table_copy, "--write")
    assert result.status == 0
    assert "+" not in result.out and "~" not in result.out
    assert table_copy.read_bytes() == before


# -- diff ------------------------------------------------------------------------


def test_diff_between_two_snapshots(cli: Callable[..., Result]) -> None:
    text = cli("diff", X86, ARM)
    assert text.status == 0
    lines = text.out.splitlines()
    assert lines[0].endswith(": 6 change(s)")
    assert any(line.startswith("  - mce: [-b] cpu bank") for line in lines)
    assert "  - info lapic: [apic-id] -- show local apic state" in text.out
    md = cli("diff", X86, ARM, "--format", "markdown")
    assert "| removed | `mce` |" in md.out
    same = cli("diff", X86, X86, "--format", "markdown")
    assert "No changes." in same.out


def test_diff_shows_changed_help(tmp_path: Path, cli: Callable[..., Result]) -> None:
    doc = json.loads(X86.read_text())
    doc["raw"]["help"] = doc["raw"]["help"].replace(
        "balloon target -- request VM", "balloon target [force] -- ask the VM"
    )
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps(doc))
    out = cli("diff", X86, newer).out
    assert (
        "  ~ balloon: params changed\n      before: target\n      after:  target [force]\n" in out
    )
    assert "  ~ balloon: help changed\n" in out


def test_bad_table_with_a_live_binary_stops_qemu(
    qemu_x86: str, tmp_path: Path, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The table loads while QEMU starts; when it is bad, QEMU is stopped all the same."""
    import tempfile

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    bad = tmp_path / "table.yaml"
    bad.write_text("schema: 1\nlevels: [\n")
    result = cli("check", "--qemu", qemu_x86, "--table", bad)
    assert (result.status, result.out) == (2, "")
    assert result.err.startswith(f"hmp-perms: {bad}:3: invalid YAML")
    assert list(scratch.iterdir()) == []
    # QEMU's command line names its socket, which lived in `scratch`.
    running = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if str(scratch).encode() in cmdline.read_bytes():
                running.append(cmdline.parent.name)
        except OSError:
            continue
    assert running == []


def test_check_output_file_holds_the_report_and_the_status_stays(
    table_copy: Path, tmp_path: Path, cli: Callable[..., Result]
) -> None:
    edit(table_copy, _remove_command)
    out = tmp_path / "reports" / "junit.xml"
    args = ("check", "--table", table_copy, "--snapshot", X86, "--format", "junit")
    result = cli(*args, "-o", out)
    assert result.status == 1 and result.out == "" and result.err == ""
    assert out.read_text() == cli(*args).out
    assert ET.parse(out).getroot().get("failures") == "1"


@pytest.mark.parametrize("where", ["dir", "missing-parent-in-proc"])
def test_check_output_that_cannot_be_written_is_one_line(
    tmp_path: Path, cli: Callable[..., Result], where: str
) -> None:
    target = tmp_path if where == "dir" else Path("/proc/no-such-dir/report.xml")
    result = cli("check", "--snapshot", X86, "-o", target)
    assert result.status == 2 and result.out == ""
    assert result.err == f"hmp-perms: {target}: cannot write: " + result.err.split(": ")[-1]
    assert len(result.err.splitlines()) == 1

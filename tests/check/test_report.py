"""The report formats: QEMU's text reaches CI pages as text, whatever it holds."""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from tests.check.test_compare import drop_entry
from tests.conftest import BUILDS, Result

OLD = BUILDS / "debian-7.2.22-x86_64.json"
MD = MarkdownIt("commonmark").enable(["table", "strikethrough", "linkify"])
#: Printable, so the load lets it through; only the format's escaping stands between it
#: and the page the CI recipes write: markup, XML's specials, a workflow command's.
PAYLOAD = (
    "<img src=x onerror=alert(1)> [click](https://example.com/x) `tick` **bold** a|b"
    ' & "q" ]]> 100%0A::error::smuggled, key:value %25'
)
#: The package string QEMU reports, which JUnit gives as a property.
PACKAGE = 'Debian 1:7.2+dfsg-7+deb12u18+b3 <x&"y">%0A'


@pytest.fixture
def hostile_snapshot(tmp_path: Path) -> Path:
    doc = json.loads(OLD.read_text())
    doc["help"] = [
        line.replace("-- compute the checksum of a memory region", f"-- {PAYLOAD}")
        if line.startswith("sum ")
        else line
        for line in doc["help"]
    ]
    assert any(PAYLOAD in line for line in doc["help"])
    doc["package"] = PACKAGE
    snap = tmp_path / "hostile.json"
    snap.write_text(json.dumps(doc))
    return snap


def test_markdown_report_shows_qemus_text_as_text(
    hostile_snapshot: Path, table_copy: Path, cli: Callable[..., Result]
) -> None:
    """`check --format markdown` passed `<img …>`, links and backticks from QEMU's help
    into the summary page; now every cell is text or one code span."""
    drop_entry(table_copy, "commands", "sum")
    result = cli(
        "check", "--snapshot", hostile_snapshot, "--table", table_copy, "--format", "markdown"
    )
    assert result.status == 1, result.err
    tokens = MD.parse(result.out)
    for token in tokens:
        assert "html" not in token.type, token
        for child in token.children or []:
            assert child.type in ("text", "code_inline", "softbreak"), (child.type, child.content)
    shown = "".join(
        child.content for token in tokens for child in token.children or [] if child.content
    )
    assert "<img src=x onerror=alert(1)>" in shown and "[click](https://example.com/x)" in shown


def test_junit_carries_qemus_text_as_text(
    hostile_snapshot: Path, table_copy: Path, cli: Callable[..., Result]
) -> None:
    drop_entry(table_copy, "commands", "sum")
    result = cli(
        "check", "--snapshot", hostile_snapshot, "--table", table_copy, "--format", "junit"
    )
    assert result.status == 1, result.err
    suites = ET.fromstring(result.out)
    [failure] = suites.findall(".//testcase[@name='sum']/failure")
    assert PAYLOAD in failure.get("message", "") and PAYLOAD in (failure.text or "")
    assert [p.get("value") for p in suites.iter("property") if p.get("name") == "package"] == [
        PACKAGE
    ]


def _unescape(text: str, codes: str) -> str:
    """What the runner reads from a workflow command's escaped text."""
    return re.sub(f"%({codes})", lambda m: chr(int(m[1], 16)), text)


def test_github_commands_carry_qemus_text_inside_their_own_line(
    hostile_snapshot: Path, table_copy: Path, tmp_path: Path, cli: Callable[..., Result]
) -> None:
    """One workflow command per finding, whatever QEMU's text holds; a property (here the
    table's path) escapes `:` and `,` too."""
    table = tmp_path / "x:y,z" / "hmp-commands.yaml"
    table.parent.mkdir()
    shutil.copyfile(table_copy, table)
    drop_entry(table, "commands", "sum")
    args = ("check", "--snapshot", hostile_snapshot, "--table", table, "--format")
    findings = json.loads(cli(*args, "json").out)["findings"]
    result = cli(*args, "github")
    assert result.status == 1, result.err
    lines = result.out.splitlines()
    assert len(lines) == len(findings) == 2
    for line in lines:
        command = re.fullmatch(r"::(error|warning) (?P<props>[^:]*)::(?P<message>.*)", line)
        assert command, line
        props = dict(p.split("=", 1) for p in command["props"].split(","))
        assert _unescape(props["file"], "25|0D|0A|3A|2C") == str(table)
        assert PAYLOAD in _unescape(command["message"], "25|0D|0A")


@pytest.mark.parametrize("fmt", ["text", "json", "junit", "github", "markdown"])
def test_every_format_names_every_finding_and_its_build(
    fmt: str, hostile_snapshot: Path, table_copy: Path, cli: Callable[..., Result]
) -> None:
    drop_entry(table_copy, "commands", "sum")
    result = cli("check", "--snapshot", hostile_snapshot, "--table", table_copy, "--format", fmt)
    assert result.status == 1, result.err
    assert "debian-7.2.22-x86_64" in result.out
    assert "sum" in result.out


def test_a_clean_run_prints_one_github_notice(cli: Callable[..., Result]) -> None:
    result = cli("check", "--snapshot", OLD, "--format", "github")
    assert result.status == 0
    (line,) = result.out.splitlines()
    assert line.startswith("::notice title=hmp-perms check::OK: 0 error(s), 0 warning(s)")


@pytest.mark.parametrize("fmt", ["text", "json", "junit", "github", "markdown"])
def test_a_stub_left_in_the_table_is_a_finding_beside_the_others(
    fmt: str, table_copy: Path, tmp_path: Path, cli: Callable[..., Result]
) -> None:
    """A `todo` stopped `check` with one line (exit 2), hiding every other finding."""
    text = table_copy.read_text()
    stub = "  sum:\n    todo: 'new in debian-7.2.22-x86_64: choose a permission'\n"
    start = text.index("  sum:\n")
    end = text.index("\n  ", start + 1) + 1
    table_copy.write_text(text[:start] + stub + text[end:])
    drop_entry(table_copy, "commands", "xp")
    line = table_copy.read_text().splitlines().index("  sum:") + 1
    result = cli("check", "--snapshot", OLD, "--table", table_copy, "--format", fmt)
    assert result.status == 1, result.err
    assert result.err == ""
    if fmt == "json":
        findings = {f["id"]: (f["severity"], f["line"]) for f in json.loads(result.out)["findings"]}
        assert findings == {
            "todo:sum": ("error", line),
            "unassigned-command:xp:debian-7.2.22-x86_64": (
                "error",
                findings["unassigned-command:xp:debian-7.2.22-x86_64"][1],
            ),
        }
    else:
        assert "sum" in result.out and "xp" in result.out

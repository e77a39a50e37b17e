"""The report formats: QEMU's text reaches CI pages as text, whatever it holds."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from tests.check.test_compare import drop_entry
from tests.conftest import BUILDS, Result

OLD = BUILDS / "debian-7.2.22-x86_64.json"
MD = MarkdownIt("commonmark").enable(["table", "strikethrough", "linkify"])
#: Printable, so the load lets it through; only the format's escaping stands between it
#: and the page the CI recipes write.
PAYLOAD = "<img src=x onerror=alert(1)> [click](https://example.com/x) `tick` **bold** a|b"


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

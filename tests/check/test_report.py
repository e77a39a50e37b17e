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

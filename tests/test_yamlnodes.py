"""YAML read as nodes: what is refused before anything composes the text."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import (
    BUILDS,
    hmp_perms,
)

SNAPSHOT = BUILDS / "debian-7.2.22-x86_64.json"


DEEP = {
    "flow": "schema: 2\nlevels: " + "[" * 40_000 + "]" * 40_000 + "\n",
    "block": "schema: 2\nlevels:\n  " + "- " * 40_000 + "x\n",
    "indented": "schema: 2\nlevels:\n" + "".join(" " * i + "- \n" for i in range(2, 60)),
}


@pytest.mark.parametrize("shape", sorted(DEEP))
@pytest.mark.parametrize("command", ["lint", "check", "generate", "sync"])
def test_deep_nesting_is_refused_before_composing(tmp_path: Path, shape: str, command: str) -> None:
    table = tmp_path / "t.yaml"
    table.write_text(DEEP[shape])
    args = ["--snapshot", str(SNAPSHOT)] if command in ("check", "sync") else []
    run = hmp_perms(command, "--table", table, *args)
    message = b": nested deeper than 20 levels; no table needs that\n"
    if command == "lint":  # a problem lint finds: stdout, exit 1
        assert run.returncode == 1, run  # not -11 (SIGSEGV)
        assert run.stdout.startswith(f"{table}:".encode()) and message in run.stdout
        return
    assert (run.returncode, run.stdout) == (2, b""), run
    assert run.stderr.startswith(f"hmp-perms: {table}:".encode()) and message in run.stderr

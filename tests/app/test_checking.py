"""The check use case: what it reads before QEMU starts, and how builds fold into one."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Result


def test_a_missing_table_is_said_before_any_qemu_starts_fake(
    tmp_path: Path, cli: Callable[..., Result]
) -> None:
    """`check --all-local` with no table started 32 QEMUs first. A stand-in binary that
    leaves a mark when it runs shows none was started."""
    mark = tmp_path / "started"
    fake = tmp_path / "qemu-system-fake"
    fake.write_text(f"#!{sys.executable}\nopen({str(mark)!r}, 'w').close()\n")
    fake.chmod(0o755)
    missing = tmp_path / "nowhere.yaml"
    result = cli("check", "--qemu", fake, "--table", missing)
    assert (result.status, result.out) == (2, "")
    assert result.err == f"hmp-perms: {missing}: cannot read: No such file or directory\n"
    assert not mark.exists()

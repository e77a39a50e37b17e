"""The check use case: what it reads before QEMU starts, and how builds fold into one."""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

from tests.check.test_compare import drop_entry
from tests.conftest import BUILDS, Result


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


def test_a_hint_repeats_how_the_build_was_given(
    table_copy: Path, cli: Callable[..., Result], qemu_x86: str
) -> None:
    """The hint said `hmp-perms sync --write`, which with no build given records the
    default QEMU, not the one checked: now it can be copied as it stands."""
    drop_entry(table_copy, "commands", "sum")
    wrapper = f"env LC_ALL=C {qemu_x86}"
    result = cli("check", "--qemu", wrapper, "--table", table_copy, "--format", "json")
    (finding,) = [
        f for f in json.loads(result.out)["findings"] if f["kind"] == "unassigned-command"
    ]
    assert finding["hint"].startswith(
        f"run `hmp-perms sync --qemu {shlex.quote(wrapper)} --table {table_copy} --write`"
    )
    snapshot = BUILDS / "debian-7.2.22-x86_64.json"
    result = cli("check", "--snapshot", snapshot, "--table", table_copy, "--format", "json")
    (finding,) = json.loads(result.out)["findings"]
    assert f"`hmp-perms sync --snapshot {snapshot} --table {table_copy} --write`" in finding["hint"]

"""The check use case: what it reads before QEMU starts, and how builds fold into one."""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.check.test_compare import drop_entry
from tests.conftest import BUILDS, ROOT, Result


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
    """The hint's `sync` names the build checked and the table, records and rules given,
    so that copied as it stands it stubs what the check found, suggested alike."""
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
    rules = ROOT / "data" / "suggest-rules.yaml"
    options = ("--table", table_copy, "--rules", rules, "--format", "json")
    result = cli("check", "--snapshot", snapshot, *options)
    (finding,) = json.loads(result.out)["findings"]
    sync = f"hmp-perms sync --snapshot {snapshot} --table {table_copy} --rules {rules} --write"
    assert f"`{sync}`" in finding["hint"]


def test_a_program_that_is_no_qemu_is_said_to_be_none(cli: Callable[..., Result]) -> None:
    """`--qemu /bin/true` or `/bin/cat` were reported as a QEMU, `cat`'s complaint
    labelled "QEMU said"."""
    true = cli("check", "--qemu", "/bin/true", "--timeout", "10")
    assert (true.status, true.out) == (2, "")
    assert true.err == (
        "hmp-perms: /bin/true: is no QEMU (exited before it connected (exit status 0))\n"
    )
    cat = cli("check", "--qemu", "/bin/cat", "--timeout", "10")
    assert cat.err.startswith("hmp-perms: /bin/cat: is no QEMU (")
    assert "(cat said: " in cat.err and "QEMU said" not in cat.err


def test_the_install_hint_is_for_names_debian_ships(
    cli: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name Debian ships (some Debian build of it is recorded) gets the command that
    installs it; one it does not (a typo), none."""
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing is installed here
    shipped = cli("check", "--qemu", "qemu-system-hexagon", "--builds", BUILDS)
    assert shipped.err == (
        "hmp-perms: qemu-system-hexagon: not found on PATH"
        " (Debian ships it: apt-get install qemu-system)\n"
    )
    typo = cli("check", "--qemu", "qemu-system-x86-64", "--builds", BUILDS)
    assert typo.err == "hmp-perms: qemu-system-x86-64: not found on PATH\n"

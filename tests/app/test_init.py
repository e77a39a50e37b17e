"""hmp-perms init: a repository that owns a table starts with one command."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import BUILDS, ROOT, Result

PROXMOX_STYLE = """\
package PVE::API2::Qemu::HMPPerms;
use strict;
our $hmp_command_perms = {
    # lists commands
    help => 'none',
    info => 'none',
    # resumes the VM
    cont => 'Sys.Modify',
    # stops the VM
    quit => 'root',
};
1;
"""


def test_init_then_lint_and_check_from_a_subfolder(
    tmp_path: Path, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, qemu_x86: str
) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    monkeypatch.chdir(tmp_path)
    made = cli("init")
    assert made.status == 0, made.err
    written = [line.removeprefix("wrote ") for line in made.out.splitlines()]
    assert written == [
        "hmp-perms.toml",
        "data/hmp-commands.yaml",
        "data/suggest-rules.yaml",
        f"data/builds/ ({len(list(BUILDS.glob('*.json')))} recorded builds)",
    ]
    assert sorted(p.name for p in (tmp_path / "data" / "builds").iterdir()) == sorted(
        p.name for p in BUILDS.glob("*.json")
    )
    table = (tmp_path / "data" / "hmp-commands.yaml").read_text()
    assert "vendor:" not in table and "\nvendors:" not in table  # no vendor's entries unasked
    assert "\n  backup:" not in table and "\n  cont:" in table
    deep = tmp_path / "src" / "deep"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    lint = cli("lint")
    assert (lint.status, lint.out) == (0, f"{tmp_path}/data/hmp-commands.yaml: ok\n")
    check = cli("check", "--qemu", qemu_x86)
    assert check.status == 0, check.out + check.err
    assert "no recorded build" not in check.out, check.out  # init shipped its records
    again = cli("init")
    assert (again.status, again.out) == (2, "")
    assert again.err == (
        f"hmp-perms: {tmp_path}/hmp-perms.toml: already configures {deep}; init writes nothing\n"
    )


def test_init_refuses_to_write_over_anything(
    tmp_path: Path, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "hmp-commands.yaml").write_text("mine\n")
    monkeypatch.chdir(tmp_path)
    result = cli("init")
    assert (result.status, result.out) == (2, "")
    assert "data/hmp-commands.yaml: already there; init writes nothing over it" in result.err
    assert (tmp_path / "data" / "hmp-commands.yaml").read_text() == "mine\n"
    assert not (tmp_path / "hmp-perms.toml").exists()


def test_init_from_a_perl_module(
    tmp_path: Path, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    module = tmp_path / "HMPPerms.pm"
    module.write_text(PROXMOX_STYLE)
    monkeypatch.chdir(tmp_path)
    result = cli("init", "--from-perl", module)
    assert result.status == 0, result.err
    assert cli("lint").status == 0
    text = (tmp_path / "data" / "hmp-commands.yaml").read_text()
    assert "quit:\n    permission: root\n    rationale: stops the VM" in text
    snap = cli("check", "--snapshot", BUILDS / "debian-7.2.22-x86_64.json", "--format", "json")
    assert snap.status == 1  # the three-entry table decides little of a real QEMU


def test_init_on_a_full_disk_leaves_nothing_and_can_be_run_again(tmp_path: Path) -> None:
    """A write that fails half-way (here: a file size limit, as a full disk fails it)
    removes what init had written, so the same init works once there is room."""
    import resource

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192))

    init = [sys.executable, "-m", "generator", "init"]
    failed = subprocess.run(
        init, cwd=tmp_path, capture_output=True, text=True, preexec_fn=small_files, timeout=60
    )
    assert (failed.returncode, failed.stdout) == (2, ""), failed
    assert len(failed.stderr.splitlines()) == 1, failed.stderr
    assert list(tmp_path.iterdir()) == []
    again = subprocess.run(init, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "data" / "hmp-commands.yaml").exists()


def test_the_examples_init_writes_work_when_uncommented(
    tmp_path: Path, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    assert cli("init").status == 0
    config = tmp_path / "hmp-perms.toml"
    lines = config.read_text().splitlines(keepends=True)
    examples = [line for line in lines if re.match(r"# [a-z]+ = ", line)]
    assert len(examples) == 6, examples  # rules, outputs, patterns, vendors, ignore, severity
    config.write_text("".join(ln.removeprefix("# ") if ln in examples else ln for ln in lines))
    assert cli("lint").status == 0
    check = cli("check", "--snapshot", BUILDS / "debian-11.1.3-x86_64.json")
    assert check.status == 0, check.out + check.err
    generated = cli("generate")
    assert (generated.status, generated.err) == (0, ""), generated.err
    assert (tmp_path / "HMPPerms.pm").exists()


def test_init_with_a_vendor_keeps_that_vendors_entries(
    tmp_path: Path, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli("init", "--vendor", "pve").status == 0
    assert (tmp_path / "data" / "hmp-commands.yaml").read_text() == (
        ROOT / "data" / "hmp-commands.yaml"
    ).read_text()
    assert '\nvendors = ["pve"]' in (tmp_path / "hmp-perms.toml").read_text().replace("# ", "")
    unknown = cli("init", "--vendor", "nosuch")
    assert unknown.status == 2 and "knows no such vendor (it knows pve)" in unknown.err

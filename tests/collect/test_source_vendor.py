"""A vendor's tree reads like QEMU's own: Proxmox's patches add `backup`, `backup_cancel`
and `info backup` to the `.hx` files, and a `pve-qemu-kvm` package string makes the
snapshot a `pve` build that the table's `vendor: pve` entries cover (docs/collect.md,
"A vendor's tree")."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from tests.collect.test_source import INFO, listed, tree
from tests.conftest import Result, records

BACKUP = """\
    {
        .name       = "backup",
        .args_type  = "directory:-d,backupfile:s,speed:o?,devlist:s?",
        .params     = "backupfile [speed [devlist]]",
        .help       = "create a VM backup (VMA format).",
        .cmd        = hmp_backup,
        .coroutine  = true,
    },
    {
        .name       = "backup_cancel",
        .params     = "",
        .help       = "cancel the current VM backup",
    },
"""
INFO_BACKUP = '    { .name = "backup", .params = "", .help = "show backup status" },\n'


def test_a_vendor_tree_is_a_vendor_build_its_entries_cover(
    tmp_path: Path, cli: Callable[..., Result], table_copy: Path
) -> None:
    folder = tree(tmp_path / "pve-qemu", BACKUP, INFO + INFO_BACKUP, "10.0.2")
    doc = listed(cli, folder, "--package", "pve-qemu-kvm 10.0.2-1")
    assert "backup backupfile [speed [devlist]] -- create a VM backup (VMA format)." in doc["help"]  # type: ignore[operator]
    assert "info backup  -- show backup status" in doc["info"]  # type: ignore[operator]
    snapshot, builds = tmp_path / "snapshot.json", records(tmp_path)
    check = ("check", "--snapshot", snapshot, "--table", table_copy, "--format", "json")
    result = cli(*check)
    assert result.status == 0, result.out + result.err
    (build,) = json.loads(result.out)["builds"]
    assert (build["build"], build["flavour"]) == ("pve-10.0.2-x86_64", "pve")
    synced = cli(
        "sync", "--snapshot", snapshot, "--table", table_copy, "--builds", builds, "--write"
    )
    assert synced.status == 0, synced.err
    assert [p.name for p in builds.iterdir()] == ["pve-10.0.2-x86_64.json"]

    # The vendor's entries are what covers them: without those the same build fails.
    table_copy.write_text(
        re.sub(r"^  backup(_cancel)?:\n(    .*\n)+", "", table_copy.read_text(), flags=re.M)
    )
    result = cli(*check)
    assert result.status == 1, result.out + result.err
    unassigned = {
        (f["kind"], f["name"])
        for f in json.loads(result.out)["findings"]
        if f["severity"] == "error"
    }
    assert unassigned == {
        ("unassigned-command", "backup"),
        ("unassigned-command", "backup_cancel"),
        ("unassigned-info", "info backup"),
    }

"""Recorded builds: every record reads back as QEMU printed it; baselines are chosen right."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from generator.collect.helptext import format_help
from generator.collect.records import build_of, find_baseline, load_records
from generator.collect.snapshot import load_snapshot
from generator.model import Build, Version
from generator.table.loader import load_table
from tests.conftest import BUILDS, TABLE, Result

RECORDS = sorted(BUILDS.glob("*.json"))


def test_every_debian_release_is_recorded_for_every_target() -> None:
    records = load_records(str(BUILDS), load_table(str(TABLE)).vendors)
    by_version: dict[str, set[str]] = {}
    for build, _ in records:
        assert build.flavour == "debian"
        by_version.setdefault(str(build.version), set()).add(build.slug.split("-", 2)[2])
    assert len(records) == len(RECORDS)
    # The releases are the versions the folder's file names give.
    assert sorted(by_version) == sorted({p.name.split("-")[1] for p in RECORDS})
    for targets in by_version.values():
        assert {"x86_64", "x86_64-microvm", "aarch64", "s390x", "ppc64", "riscv64"} <= targets
    # Debian 13 dropped the cris and nios2 targets (QEMU removed them in 9.1 and 9.2).
    assert by_version["7.2.22"] - by_version["10.0.13"] == {"cris", "nios2"}


@pytest.mark.parametrize("record", RECORDS, ids=[p.stem for p in RECORDS])
def test_every_recorded_listing_parses_to_what_qemu_printed(record: Path) -> None:
    """Printed again from the parsed entries, each listing is the lines QEMU printed.

    The one difference allowed is 7.2's name repeated at the start of some params
    (`nbd_server_add nbd_server_add [-w] ...`), which the parser drops on purpose.
    """
    doc = json.loads(record.read_text())
    snap = load_snapshot(str(record))
    for key, entries, prefix in (("help", snap.commands, ""), ("info", snap.info, "info ")):
        printed = format_help(entries, prefix).removesuffix("\n").split("\n")
        lines = doc[key]
        assert len(printed) == len(lines)
        for mine, qemus in zip(printed, lines, strict=True):
            if mine != qemus:
                name, rest = mine.removeprefix(prefix).split(" ", 1)
                space = "" if rest.startswith(" -- ") else " "
                assert qemus == f"{prefix}{name} {name}{space}{rest}", record.name


def test_help_that_ends_in_a_newline_keeps_it() -> None:
    """s390x prints an empty line after `dump-skeys` and `migration_mode`."""
    s390x = sorted(BUILDS.glob("debian-*-s390x.json"))
    assert s390x
    for record in s390x:
        snap = load_snapshot(str(record))
        by_name = {e.name: e for e in snap.commands}
        assert by_name["dump-skeys"].help == "Save guest storage keys into file 'filename'.\n"
        assert by_name["migration_mode"].help == "Enables or disables migration mode\n"
        assert by_name["dumpdtb"].help.endswith("'filename'")


def build(
    version: str | None, variant: str = "qemu-system-x86_64", flavour: str = "debian"
) -> Build:
    return Build(flavour, Version.parse(version) if version else None, "x86_64", variant)


@pytest.mark.parametrize(
    ("wanted", "baseline"),
    [
        (build("10.0.13"), "debian-10.0.13-x86_64"),  # itself
        (build("11.0.0"), "debian-10.0.13-x86_64"),  # the newest not above it
        (build("9.2.0"), "debian-7.2.22-x86_64"),
        (build("10.0.12"), "debian-7.2.22-x86_64"),
        (build("7.2.21"), None),  # nothing this old
        (build("10.0.13", "qemu-system-x86_64-microvm"), "debian-10.0.13-x86_64-microvm"),
        (build("10.0.13", flavour="upstream"), None),  # another flavour
        (build(None), None),
    ],
)
def test_baseline_is_the_newest_record_not_above_the_build(
    wanted: Build, baseline: str | None
) -> None:
    found = find_baseline(wanted, str(BUILDS), {})
    assert (found.build.slug if found.build else None) == baseline
    if baseline is None:
        assert found.snapshot is None and found.why_none


def test_a_record_under_another_name_is_refused(tmp_path: Path, cli: Callable[..., Result]) -> None:
    shutil.copy(BUILDS / "debian-7.2.22-x86_64.json", tmp_path / "debian-7.2.22-aarch64.json")
    result = cli("check", "--snapshot", BUILDS / "debian-7.2.22-aarch64.json", "--builds", tmp_path)
    assert (result.status, result.out) == (2, "")
    assert result.err == (
        f"hmp-perms: {tmp_path}/debian-7.2.22-aarch64.json: holds build debian-7.2.22-x86_64;"
        " name it debian-7.2.22-x86_64.json\n"
    )


def test_vendor_builds_are_their_own_flavour() -> None:
    table = load_table(str(TABLE))
    snap = load_snapshot(str(BUILDS / "debian-10.0.13-x86_64.json"))
    assert build_of(snap, table.vendors).flavour == "debian"
    pve = snap.__class__(**{**snap.__dict__, "package": "pve-qemu-kvm_10.0.2-4"})
    assert build_of(pve, table.vendors).slug == "pve-10.0.13-x86_64"
    plain = snap.__class__(**{**snap.__dict__, "package": ""})
    assert build_of(plain, table.vendors).slug == "upstream-10.0.13-x86_64"

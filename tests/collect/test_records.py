"""Recorded builds: every record reads back as QEMU printed it; baselines are chosen right."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from generator.collect.records import build_of, find_baseline, load_records
from generator.collect.snapshot import load_snapshot, variant_agrees
from generator.core.model import Build, Version
from generator.table.loader import load_table
from tests.conftest import BUILDS, FIXTURES, TABLE, Result, format_help

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
    return Build(flavour, Version.parse(version) if version else None, variant)


@pytest.mark.parametrize(
    ("wanted", "baseline"),
    [
        (build("10.0.13"), "debian-10.0.13-x86_64"),  # itself
        (build("11.1.3"), "debian-11.1.3-x86_64"),
        (build("10.0.14"), "debian-10.0.13-x86_64"),  # its series: the highest not above it
        # its series, though only above it: 10.0.2's listings are 10.0.13's byte for byte,
        # and 7.2.22 would repeat every 7.2-to-10.0 change as drift
        (build("10.0.2"), "debian-10.0.13-x86_64"),
        (build("7.2.21"), "debian-7.2.22-x86_64"),
        (build("11.0.0"), "debian-10.0.13-x86_64"),  # no 11.0: the highest release below it
        (build("9.2.0"), "debian-7.2.22-x86_64"),
        (build("12.0.0"), "debian-11.1.3-x86_64"),
        (build("6.0.0"), None),  # nothing in its series or below it
        (build("10.0.13", "qemu-system-x86_64-microvm"), "debian-10.0.13-x86_64-microvm"),
        (build("10.0.13", flavour="upstream"), None),  # another flavour
        (build(None), None),
    ],
)
def test_baseline_is_chosen_in_the_series_first(wanted: Build, baseline: str | None) -> None:
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
    pve = snap._replace(package="pve-qemu-kvm_10.0.2-4")
    assert build_of(pve, table.vendors).slug == "pve-10.0.13-x86_64"
    plain = snap._replace(package="")
    assert build_of(plain, table.vendors).slug == "upstream-10.0.13-x86_64"


@pytest.mark.parametrize(
    ("variant", "target", "agrees"),
    [
        ("qemu-system-x86_64", "x86_64", True),
        ("qemu-system-x86_64-microvm", "x86_64", True),
        ("qemu-system-mips64el", "mips64", True),  # QEMU 11.1 reports the byte order less
        ("qemu-system-mips64el", "mips64el", True),  # QEMU 10.0 and before
        ("qemu-system-sh4eb", "sh4", True),
        ("qemu-system-ppc64le", "ppc64", True),
        ("qemu-system-x86_64", "x86", False),
        ("qemu-system-ppc64le", "ppc", False),
        ("qemu-system-mips64el", "mips", False),
        ("qemu-system-x86_64", "x86_64-microvm", False),
    ],
)
def test_a_variant_agrees_with_its_target(variant: str, target: str, agrees: bool) -> None:
    assert variant_agrees(variant, target) is agrees


def test_a_build_whose_target_is_no_target_of_its_binary_is_refused(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    """Target `x86` from `qemu-system-x86_64` was named debian-7.2.22-x86_64 and took the
    x86_64 record's place."""
    help_text = FIXTURES / "qemu-7.2-x86_64.help.txt"
    result = cli(
        "collect", "--from-text", help_text, "--qemu-version", "7.2.22", "--target", "x86",
        "--variant", "qemu-system-x86_64", "-o", tmp_path / "x.json",
    )  # fmt: skip
    assert (result.status, result.out) == (2, "")
    assert result.err == (
        f"hmp-perms: {help_text}: binary qemu-system-x86_64 cannot be a build of target x86:"
        " it is qemu-system-x86, or that with a byte-order suffix (el, eb, le) and a machine"
        " (-microvm)\n"
    )
    assert not (tmp_path / "x.json").exists()


def test_a_record_whose_target_is_no_target_of_its_binary_is_refused(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    doc = json.loads((BUILDS / "debian-7.2.22-x86_64.json").read_text())
    doc["target"] = "x86"
    (tmp_path / "debian-7.2.22-x86_64.json").write_text(json.dumps(doc))
    result = cli("check", "--snapshot", BUILDS / "debian-7.2.22-x86_64.json", "--builds", tmp_path)
    assert (result.status, result.out) == (2, "")
    assert result.err.startswith(f"hmp-perms: {tmp_path}/debian-7.2.22-x86_64.json: binary")
    assert len(result.err.splitlines()) == 1


@pytest.mark.parametrize(
    "stray", ["debian-07.2.22-x86_64.json", "debian-7.2-x86_64.json", "notes.json"]
)
def test_a_json_file_named_for_no_build_is_refused(
    stray: str, cli: Callable[..., Result], tmp_path: Path
) -> None:
    """`debian-07.2.22-x86_64.json` beside the records ended every x86_64 check with
    `internal error: ValueError`."""
    shutil.copy(BUILDS / "debian-7.2.22-x86_64.json", tmp_path)
    (tmp_path / stray).write_text("{}")
    (tmp_path / ".gitkeep").write_text("")  # not a record: no .json
    for command in ("check", "generate"):
        args = ["--snapshot", BUILDS / "debian-7.2.22-x86_64.json"] if command == "check" else []
        extra = ["--check"] if command == "generate" else []
        result = cli(command, *args, *extra, "--builds", tmp_path)
        assert (result.status, result.out) == (2, ""), command
        assert result.err == (
            f"hmp-perms: {tmp_path}/{stray}: not named for a build"
            " (FLAVOUR-X.Y.Z-VARIANT.json, as debian-7.2.22-x86_64.json)\n"
        )


def _point_release(tmp_path: Path, edit: Callable[[str], str] = lambda line: line) -> Path:
    """10.0.13's record as a 10.0.2 build would print it (Debian's listings are the same
    byte for byte), each help line passed through `edit`."""
    doc = json.loads((BUILDS / "debian-10.0.13-x86_64.json").read_text())
    doc["version"] = "10.0.2"
    doc["package"] = "Debian 1:10.0.2+ds-2+deb13u1~bpo12+1"
    doc["help"] = [edit(line) for line in doc["help"]]
    path = tmp_path / "point.json"
    path.write_text(json.dumps(doc))
    return path


def test_a_point_release_is_compared_with_its_series(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    result = cli("check", "--snapshot", _point_release(tmp_path), "--strict", "--format", "json")
    assert result.status == 0, result.out
    (entry,) = json.loads(result.out)["builds"]
    assert (entry["build"], entry["baseline"]) == ("debian-10.0.2-x86_64", "debian-10.0.13-x86_64")
    assert json.loads(result.out)["findings"] == []


def test_a_newer_baseline_words_its_findings_so(cli: Callable[..., Result], tmp_path: Path) -> None:
    point = _point_release(tmp_path, lambda line: line.replace("-- resume emulation", "-- go on"))
    result = cli("check", "--snapshot", point, "--format", "json")
    (finding,) = json.loads(result.out)["findings"]
    assert finding["id"] == "changed-help:cont:debian-10.0.2-x86_64"
    assert finding["message"] == "help of cont differs from the newer debian-10.0.13-x86_64"
    assert (finding["before"], finding["after"]) == ("resume emulation", "go on")


SID = "Debian 1:11.1.3+ds-1"
BACKPORT = "Debian 1:11.1.3+ds-1~bpo13+1"


def _packaged(tmp_path: Path, package: str) -> Path:
    """11.1.3's record as another packaging of the same release prints it."""
    doc = json.loads((BUILDS / "debian-11.1.3-x86_64.json").read_text())
    doc["package"] = package
    doc.pop("packages", None)
    path = tmp_path / f"{package.rsplit(':', 1)[-1]}.json"
    path.write_text(json.dumps(doc))
    return path


def test_a_record_holds_the_variant_never_the_path_or_wrapper_it_ran_through(
    qemu_x86: str, table_copy: Path, tmp_path: Path, cli: Callable[..., Result]
) -> None:
    builds = tmp_path / "builds"
    builds.mkdir()
    command = f"env LC_ALL=C {qemu_x86}"
    result = cli("sync", "--qemu", command, "--table", table_copy, "--builds", builds, "--write")
    assert result.status == 0, result.err
    (record,) = builds.iterdir()
    assert record.name.endswith("-x86_64.json")
    assert json.loads(record.read_text())["binary"] == "qemu-system-x86_64"


def test_two_packages_with_one_listing_are_one_build_naming_both(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    """sid's and trixie-backports' 11.1.3 share a build name: the report showed one
    build and one package string, and nothing said the other was folded in."""
    sid, backport = _packaged(tmp_path, SID), _packaged(tmp_path, BACKPORT)
    args = ("check", "--snapshot", sid, "--snapshot", backport)
    doc = json.loads(cli(*args, "--format", "json").out)
    (entry,) = doc["builds"]
    assert entry["packages"] == sorted([SID, BACKPORT])
    assert entry["binaries"] == [sid.name, backport.name]
    text = cli(*args).out
    assert SID in text and BACKPORT in text
    markdown = cli(*args, "--format", "markdown").out
    junit = cli(*args, "--format", "junit").out
    assert "| Debian 1:11.1.3+ds-1; Debian 1:11.1.3+ds-1\\~bpo13+1 |" in markdown
    for package in (SID, BACKPORT):
        assert f'<property name="package" value="{package}"/>' in junit


def test_a_record_keeps_every_package_recorded_for_its_listing(
    cli: Callable[..., Result], tmp_path: Path, table_copy: Path
) -> None:
    builds = tmp_path / "builds"
    builds.mkdir()
    sid, backport = _packaged(tmp_path, SID), _packaged(tmp_path, BACKPORT)
    sync = ("sync", "--table", table_copy, "--builds", builds, "--write")
    assert cli(*sync, "--snapshot", sid).status == 0
    assert cli(*sync, "--snapshot", backport).status == 0  # a second packaging: added
    record = builds / "debian-11.1.3-x86_64.json"
    doc = json.loads(record.read_text())
    assert (doc["package"], doc["packages"]) == (SID, sorted([SID, BACKPORT]))
    assert load_snapshot(str(record)).packages == tuple(sorted([SID, BACKPORT]))
    assert cli(*sync, "--snapshot", sid).status == 0
    assert json.loads(record.read_text()) == doc  # recorded again: unchanged

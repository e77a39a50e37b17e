"""Recorded builds: one snapshot file per build in ``data/builds/``, named for its slug
(``debian-7.2.22-x86_64.json``), so a baseline is chosen from the folder listing."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence

from generator.collect.snapshot import load_snapshot, snapshot_to_json
from generator.core.errors import HmpPermsError
from generator.core.files import ensure_writable, write_atomic
from generator.core.model import Baseline, Build, Snapshot, Version

SUFFIX = ".json"
_RECORD_NAME = re.compile(
    r"(?P<flavour>[a-z][a-z0-9_-]*?)-(?P<version>(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*)){2})"
    r"-(?P<machine>[A-Za-z0-9_.-]+)\.json"
)


def build_of(snap: Snapshot, vendors: Mapping[str, re.Pattern[str]]) -> Build:
    """`snap`'s build, of the first vendor whose pattern matches its package, else Debian
    or upstream."""
    upstream = "debian" if snap.package.startswith("Debian ") else "upstream"
    flavour = next((v for v in sorted(vendors) if vendors[v].search(snap.package)), upstream)
    return Build(flavour, snap.version, snap.variant)


def _records_in(folder: str) -> dict[str, Build]:
    """Every record file in `folder` and the build its name claims. A missing folder (a typo)
    or a `.json` file named for no build is refused: baselines would be skipped silently."""
    try:
        names = sorted(os.listdir(folder))
    except FileNotFoundError:
        raise HmpPermsError(
            f"{folder}: no such folder of recorded builds (`hmp-perms init` makes one)"
        ) from None
    except OSError as exc:
        raise HmpPermsError(f"{folder}: cannot list recorded builds: {exc.strerror}") from None
    found = {}
    for name in names:
        if not name.endswith(SUFFIX):
            continue  # a README, a .gitkeep
        m = _RECORD_NAME.fullmatch(name)
        if m is None:
            raise HmpPermsError(
                f"{os.path.join(folder, name)}: not named for a build"
                " (FLAVOUR-X.Y.Z-VARIANT.json, as debian-7.2.22-x86_64.json)"
            )
        variant = "qemu-system-" + m["machine"]
        found[name] = Build(m["flavour"], Version.parse(m["version"]), variant)
    return found


def find_baseline(build: Build, folder: str, vendors: Mapping[str, re.Pattern[str]]) -> Baseline:
    """The record of the same flavour and variant that `build` is compared with: in its
    own major.minor series, the highest not above it (itself, when recorded), else the
    lowest above it; with none in its series, the highest release below it. So 10.0.2
    is compared with 10.0.13, not with 7.2.22. Only that one file is read."""
    v = build.version
    if v is None:
        return Baseline(None, None, "its QEMU version is unknown")
    mine = {
        r.version: file
        for file, r in _records_in(folder).items()
        if (r.flavour, r.variant) == (build.flavour, build.variant) and r.version
    }
    series = [r for r in mine if (r.major, r.minor) == (v.major, v.minor)]
    chosen = (
        max((r for r in series if r <= v), default=None)
        or min(series, default=None)
        or max((r for r in mine if r < v), default=None)
    )
    if chosen is None:
        why = f"no {build.flavour} {build.variant} of {v.major}.{v.minor} or before is recorded"
        return Baseline(None, None, why)
    recorded, snap = _load_record(os.path.join(folder, mine[chosen]), vendors)
    return Baseline(snap, recorded)


def _load_record(path: str, vendors: Mapping[str, re.Pattern[str]]) -> tuple[Build, Snapshot]:
    """A record, which must be named after the build it holds, or baselines go wrong."""
    snap = load_snapshot(path)
    build = build_of(snap, vendors)
    expected = build.slug + SUFFIX
    if os.path.basename(path) != expected:
        raise HmpPermsError(f"{path}: holds build {build.slug}; name it {expected}")
    return build, snap


def load_records(
    folder: str, vendors: Mapping[str, re.Pattern[str]]
) -> list[tuple[Build, Snapshot]]:
    """Every recorded build, oldest version first."""
    records = [_load_record(os.path.join(folder, file), vendors) for file in _records_in(folder)]
    return sorted(records, key=lambda r: (r[0].version or Version(0, 0), r[0].slug))


def record_path(snap: Snapshot, folder: str, vendors: Mapping[str, re.Pattern[str]]) -> str:
    """Where `snap` is recorded; a build of unknown version cannot be."""
    build = build_of(snap, vendors)
    if build.version is None:
        raise HmpPermsError(
            f"{snap.binary}: cannot record a build whose QEMU version is unknown"
            " (give --qemu-version)"
        )
    return os.path.join(folder, build.slug + SUFFIX)


def record_snapshots(
    snapshots: Sequence[Snapshot], folder: str, vendors: Mapping[str, re.Pattern[str]]
) -> list[tuple[str, bool]]:
    """Write each build as a record; (path, whether it changed) for each. Two packagings
    of one release that list the same commands are one record naming both packages; a
    new listing replaces the record."""
    merged: dict[str, Snapshot] = {}
    for snap in snapshots:
        path = record_path(snap, folder, vendors)
        # A record names the binary, never the path or wrapper it was run through.
        snap = snap._replace(binary=snap.variant)
        before = merged.get(path)
        if before is not None and not before.same_listing(snap):
            raise HmpPermsError(
                f"{path}: two builds given list different commands; record them in separate runs"
            )
        if before is None and os.path.isfile(path):
            before = load_snapshot(path)  # a new listing replaces it
        if before is not None and before.same_listing(snap):
            snap = snap._replace(
                package=before.package,
                packages=tuple(sorted({*before.packages, *snap.packages})),
            )
        merged[path] = snap
    planned = [(path, snapshot_to_json(snap)) for path, snap in merged.items()]
    if planned:  # the folder must be there: it is never made here
        _records_in(folder)
    for path, _ in planned:
        ensure_writable(path)  # every record, before the first is written
    return [(path, write_atomic(path, text)) for path, text in planned]

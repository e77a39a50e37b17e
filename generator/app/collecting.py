"""Use case: collect the builds a run is given (`gather`, `gather_all`) or the snapshot
saved text or source makes (`collect`); save one (`save_snapshot`) or list them (`listing`)."""

from __future__ import annotations

import asyncio
import glob
import os
import shlex
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from generator.app.settings import Sources
from generator.collect.launcher import (
    NOT_FOUND,
    Collected,
    binary_name,
    collect_all,
    default_binary,
    local_binaries,
)
from generator.collect.snapshot import (
    load_snapshot,
    snapshot_from_text,
    snapshot_to_json,
)
from generator.collect.source import snapshot_from_source
from generator.core.errors import CollectError, ErrorList, HmpPermsError
from generator.core.files import write_atomic
from generator.core.model import Snapshot
from generator.core.text import one_line, terminal

T = TypeVar("T")


def _with_install_hint(error: HmpPermsError, records: str | None) -> HmpPermsError:
    """A missing `qemu-system-*` that Debian ships (a Debian build of it is recorded)
    gets the command that installs it; any other name, none."""
    if not isinstance(error, CollectError) or error.detail != NOT_FOUND or records is None:
        return error
    machine = os.path.basename(error.binary).removeprefix("qemu-system-")
    debian = f"debian-*-{glob.escape(machine)}.json"
    if machine == os.path.basename(error.binary) or not glob.glob(debian, root_dir=records):
        return error
    return CollectError(error.binary, f"{NOT_FOUND} (Debian ships it: apt-get install qemu-system)")


def gather(
    sources: Sources, alongside: Callable[[], T] | None = None, records: str | None = None
) -> Collected[T]:
    """A snapshot per build that answered and an error per one that did not, plus the
    result of `alongside`, done while QEMU starts up (nothing given: the default QEMU)."""
    snaps = [load_snapshot(path) for path in sources.snapshots]
    commands = list(sources.qemu)
    if sources.all_local:
        commands += [b for b in local_binaries() if b not in commands]
        if not commands:
            raise HmpPermsError("--all-local: no qemu-system-* binary on PATH")
    if not commands and not snaps and not sources.connect:
        commands = [default_binary()]
    if not commands and not sources.connect:
        return Collected(snaps, [], alongside() if alongside else None)
    result: Collected[T] = asyncio.run(
        collect_all(commands, sources.timeout, alongside, sources.connect)
    )
    result.errors[:] = [_with_install_hint(e, records) for e in result.errors]
    result.snapshots[:0] = snaps
    return result


def given_as(snap: Snapshot, sources: Sources) -> str:
    """The options that name `snap`'s build again, as the user gave it: for a hint to
    copy (``--qemu 'chroot /srv/trixie qemu-system-x86_64'``, ``--snapshot F``)."""
    if snap.source != "live":
        return f"--snapshot {shlex.quote(snap.source or snap.binary)}"
    if snap.binary in sources.connect:
        return f"--connect {shlex.quote(snap.binary)}"
    command = next((c for c in sources.qemu if binary_name(c) == snap.binary), snap.binary)
    return f"--qemu {shlex.quote(command)}"


def gather_all(sources: Sources, records: str | None = None) -> list[Snapshot]:
    """Every build given, or one `ErrorList` naming each that failed."""
    result: Collected[None] = gather(sources, None, records)
    if result.errors:
        raise ErrorList(result.errors)
    return result.snapshots


#: What describes saved text (``--from-text``) or source (``--from-source``), which a
#: live QEMU reports itself.
TEXT_OPTIONS: tuple[str, ...] = ("info_text", "qemu_version", "target", "package", "variant")
TEXT_OPTIONS += ("from_source", "define")


def collect(
    sources: Sources, from_text: str | None, saved: Mapping[str, Any], records: str | None = None
) -> Collected[None]:
    """The builds given, or the one snapshot saved text or source makes (`saved`:
    `TEXT_OPTIONS`)."""
    from_source = saved.get("from_source")
    if saved.get("define") and from_source is None:
        raise HmpPermsError("collect: --define: only with --from-source")
    if (from_text or from_source) and (sources.qemu or sources.all_local or sources.connect):
        raise HmpPermsError(
            "collect: --from-text and --from-source exclude --qemu, --connect and --all-local"
        )
    version, target, package = saved.get("qemu_version"), saved.get("target"), saved.get("package")
    if from_source is not None:
        if from_text or saved.get("info_text") or saved.get("variant"):
            raise HmpPermsError(
                "collect: --from-source excludes --from-text, --info-text, --variant"
            )
        defines = tuple(saved.get("define") or ())
        return Collected([snapshot_from_source(from_source, target, version, package, defines)])
    if from_text is not None:
        info, variant = saved.get("info_text"), saved.get("variant") or ""
        text = snapshot_from_text(
            from_text, info, version, target or "x86_64", package or "", variant
        )
        return Collected([text])
    given = [f"--{o.replace('_', '-')}" for o in TEXT_OPTIONS if saved.get(o) is not None]
    if given:
        raise HmpPermsError(
            f"collect: {', '.join(given)}: only with --from-text; a live QEMU reports its own"
        )
    return gather(sources, None, records)


def save_snapshot(collected: Collected[None], path: str) -> None:
    if collected.errors:
        raise ErrorList(collected.errors)
    if len(collected.snapshots) != 1:
        raise HmpPermsError("collect: -o takes one binary; run it once per binary")
    write_atomic(path, snapshot_to_json(collected.snapshots[0]))


def listing(snapshots: list[Snapshot], names_only: bool) -> list[str]:
    """What `collect` prints: each build's commands and info subcommands."""
    lines = []
    for snap in snapshots:
        if names_only:
            lines += [" ".join(e.names) for e in snap.commands]
            lines += [f"info {e.name}" for e in snap.info]
            continue
        lines.append(f"{snap.label}{' ' + snap.package if snap.package else ''}")
        lines.append(f"  {len(snap.commands)} commands:")
        lines += [f"    {'|'.join(e.names):<32} {one_line(e.help)}" for e in snap.commands]
        lines.append(f"  {len(snap.info)} info subcommands:")
        lines += [f"    info {e.name:<27} {one_line(e.help)}" for e in snap.info]
    return [terminal(line) for line in lines]

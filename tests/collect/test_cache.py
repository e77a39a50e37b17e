"""The cache of parsed records: a run gets from it exactly what reading the records gives."""

from __future__ import annotations

import hashlib
import json
import marshal
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from generator.collect import cache
from generator.collect.records import load_records
from generator.collect.snapshot import load_snapshot
from generator.core import files
from generator.core.errors import HmpPermsError
from generator.core.model import Snapshot
from tests.conftest import BUILDS, ROOT

SOME = ("debian-7.2.22-x86_64.json", "debian-10.0.13-x86_64.json", "debian-10.0.13-aarch64.json")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache folder of the test's own."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder))
    return folder


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The records read in full (not from the cache), in order."""
    seen: list[str] = []

    def counted(path: str, data: bytes | None = None) -> Snapshot:
        seen.append(os.path.basename(path))
        return load_snapshot(path, data)

    monkeypatch.setattr(cache, "load_snapshot", counted)
    return seen


def folder_of(tmp_path: Path, names: tuple[str, ...] = SOME) -> Path:
    folder = tmp_path / "builds"
    folder.mkdir()
    for name in names:
        shutil.copy(BUILDS / name, folder)
    return folder


def snapshots(folder: Path) -> list[Snapshot]:
    return [snap for _, snap in load_records(str(folder), {})]


def cache_file(home: Path) -> Path:
    (found,) = (home / "hmp-perms" / "records").iterdir()
    return found


def test_a_second_run_reads_no_record_and_gets_the_same(
    tmp_path: Path, home: Path, reads: list[str]
) -> None:
    folder = folder_of(tmp_path, tuple(sorted(p.name for p in BUILDS.glob("*.json"))))
    first = snapshots(folder)
    assert len(reads) == len(first) == len(list(BUILDS.glob("*.json")))
    reads.clear()
    second = snapshots(folder)
    assert reads == []
    assert second == first == [load_snapshot(s.source) for s in first]
    # Builds that print one listing share one tuple, as when the records are parsed.
    for part in ("commands", "info"):
        assert len({id(getattr(s, part)) for s in second}) == len(
            {getattr(s, part) for s in second}
        )
    assert oct(cache_file(home).parent.stat().st_mode & 0o777) == "0o700"


def test_a_changed_record_is_read_again(tmp_path: Path, home: Path, reads: list[str]) -> None:
    folder = folder_of(tmp_path)
    snapshots(folder)
    path = folder / "debian-10.0.13-aarch64.json"
    doc = json.loads(path.read_text())
    doc["package"] = "Debian 1:10.0.13+ds-0+deb13u99"
    doc["help"][0] = doc["help"][0].replace("print the help", "show the help")
    path.write_text(json.dumps(doc, indent=1))
    reads.clear()
    again = {s.variant: s for s in snapshots(folder)}
    assert reads == [path.name]
    assert again["qemu-system-aarch64"] == load_snapshot(str(path))
    assert again["qemu-system-aarch64"].package == "Debian 1:10.0.13+ds-0+deb13u99"
    reads.clear()
    snapshots(folder)
    assert reads == []


def test_a_record_made_invalid_is_refused_whatever_the_cache_holds(
    tmp_path: Path, home: Path
) -> None:
    folder = folder_of(tmp_path)
    snapshots(folder)
    path = folder / "debian-7.2.22-x86_64.json"
    doc = json.loads(path.read_text())
    doc["help"][3] += "\x1b[2J"
    path.write_text(json.dumps(doc))
    with pytest.raises(HmpPermsError, match="control character U\\+001B"):
        snapshots(folder)


def _kept(home: Path) -> tuple[bytes, Any]:
    """The code digest a cache file holds, and what it keeps."""
    code = cache.code_digest()
    assert code is not None
    return code, cache.unpack(cache_file(home).read_bytes(), code)


def _crafted(folder: Path) -> bytes:
    """A cache file with the right code digest whose record has fields of the wrong types."""
    code = cache.code_digest()
    assert code is not None
    key = hashlib.sha256((folder / SOME[0]).read_bytes()).digest()
    fields = (1, None, 2, 3, 4, (), b"no listing", None)
    return cache.pack(code, ({key: fields}, {}))


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda good, folder: b"", id="empty"),
        pytest.param(lambda good, folder: b"\x00garbage" * 100, id="garbage"),
        pytest.param(lambda good, folder: good[: len(good) // 2], id="torn"),
        pytest.param(lambda good, folder: cache.pack(b"other" * 8, ({}, {})), id="other-code"),
        pytest.param(lambda good, folder: marshal.dumps([1, 2, 3]), id="not-a-cache"),
        pytest.param(lambda good, folder: good[:-1] + b"x", id="not-its-digest"),
        pytest.param(lambda good, folder: _crafted(folder), id="wrong-types"),
    ],
)
def test_a_spoilt_cache_file_is_no_cache(
    tmp_path: Path, home: Path, reads: list[str], spoil: Callable[[bytes, Path], bytes]
) -> None:
    folder = folder_of(tmp_path)
    expected = snapshots(folder)
    good = cache_file(home).read_bytes()
    cache_file(home).write_bytes(spoil(good, folder))
    reads.clear()
    assert snapshots(folder) == expected
    assert reads, "a spoilt cache gave records"
    assert cache_file(home).read_bytes() == good  # rewritten whole
    reads.clear()
    assert snapshots(folder) == expected
    assert reads == []


def test_without_a_cache_folder_records_are_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reads: list[str]
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", "/dev/null")  # no folder can be made there
    folder = folder_of(tmp_path)
    for _ in range(2):
        reads.clear()
        got = sorted(snapshots(folder), key=lambda s: s.source)
        assert got == [load_snapshot(str(folder / n)) for n in sorted(SOME)]
        assert sorted(reads) == sorted(SOME)


def test_the_code_digest_covers_collect_and_the_layers_below(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "generator"
    for source in [*ROOT.glob("generator/*.py"), *ROOT.glob("generator/*/*.py")]:
        target = package / source.relative_to(ROOT / "generator")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)
    monkeypatch.setattr(cache, "__file__", str(package / "collect" / "cache.py"))
    digests = [cache.code_digest()]
    for changed, counts in (
        ("text.py", True),
        ("collect/helptext.py", True),
        ("check/compare.py", False),  # another stage: it cannot change how a record reads
        ("generate/render.py", False),
    ):
        with (package / changed).open("a") as f:
            f.write("\n# changed\n")
        digests.append(cache.code_digest())
        assert (digests[-1] != digests[-2]) == counts, changed


def test_an_interrupted_cache_write_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Fault injected: the rename is where a signal would land last.
    def interrupted(src: str, dst: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        files.write_cached(str(tmp_path / "kept"), b"x" * 100_000)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_a_cache_file_that_is_no_file_is_no_cache(
    tmp_path: Path, home: Path, reads: list[str], kind: str
) -> None:
    folder = folder_of(tmp_path)
    expected = snapshots(folder)
    path = cache_file(home)
    path.unlink()
    if kind == "fifo":
        os.mkfifo(path)  # opened for reading as a file is, it would wait for a writer
    else:
        path.mkdir()
    reads.clear()
    assert snapshots(folder) == expected
    assert sorted(reads) == sorted(SOME)


def test_a_record_read_in_full_gets_its_own_listing_not_the_caches(
    tmp_path: Path, home: Path, reads: list[str]
) -> None:
    # A cache whose listing fails the checks (no entries): each record that prints it is
    # read in full, and must come back with the listing parsed from its bytes.
    folder = folder_of(tmp_path)
    expected = snapshots(folder)
    code, (records, listings) = _kept(home)
    help_keys = {fields[6] for fields in records.values()}
    spoilt = {k: (text, ()) if k in help_keys else (text, e) for k, (text, e) in listings.items()}
    cache_file(home).write_bytes(cache.pack(code, (records, spoilt)))
    reads.clear()
    assert snapshots(folder) == expected
    assert sorted(reads) == sorted(SOME)
    reads.clear()
    assert snapshots(folder) == expected  # and the cache was mended
    assert reads == []


Kept = dict[bytes, Any]
Change = Callable[[Kept, Kept], None]


def _field(i: int, value: Callable[[Any], object]) -> Change:
    def change(records: Kept, listings: Kept) -> None:
        for key, fields in records.items():
            records[key] = (*fields[:i], value(fields[i]), *fields[i + 1 :])

    return change


def _entries(value: Callable[[tuple[Any, ...]], tuple[Any, ...]]) -> Change:
    def change(records: Kept, listings: Kept) -> None:
        for key, (text, entries) in listings.items():
            listings[key] = (text, tuple(value(e) for e in entries))

    return change


def _texts(records: Kept, listings: Kept) -> None:
    for key, (text, entries) in listings.items():
        listings[key] = (text.replace(" -- ", " -- see ", 1), entries)


def _swapped(records: Kept, listings: Kept) -> None:
    for key, fields in records.items():
        records[key] = (*fields[:6], fields[7], fields[6])


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(_field(1, lambda v: tuple(map(str, v))), id="version-strings"),
        pytest.param(_field(1, lambda v: v[:2]), id="version-short"),
        pytest.param(_field(1, lambda v: (True, False, False)), id="version-bools"),
        pytest.param(_field(1, lambda v: "10.0.13"), id="version-text"),
        pytest.param(_field(5, lambda v: v[0]), id="packages-text"),
        pytest.param(_field(5, lambda v: (*v, "x\x1b[2J")), id="packages-escape"),
        pytest.param(_field(0, lambda v: 1), id="binary-int"),
        pytest.param(_entries(lambda e: (1, 2, 3, 4, 5)), id="entries-ints"),
        pytest.param(_entries(lambda e: (e[0], "ab", *e[2:])), id="aliases-text"),
        pytest.param(_entries(lambda e: (*e[:3], e[3] + "\x1b[31m", e[4])), id="help-escape"),
        pytest.param(_entries(lambda e: (f"{e[0]} x", *e[1:])), id="name-not-a-name"),
        pytest.param(_entries(lambda e: e[:4]), id="entries-short"),
        pytest.param(_texts, id="text-not-its-key"),
        pytest.param(_swapped, id="help-and-info-swapped"),
    ],
)
def test_a_cache_of_the_wrong_shapes_sends_each_record_to_a_full_read(
    tmp_path: Path,
    home: Path,
    reads: list[str],
    change: Change,
) -> None:
    folder = folder_of(tmp_path)
    expected = snapshots(folder)
    code, (records, listings) = _kept(home)
    change(records, listings)
    cache_file(home).write_bytes(cache.pack(code, (records, listings)))
    reads.clear()
    assert snapshots(folder) == expected
    assert sorted(reads) == sorted(SOME)


def test_a_cache_file_that_claims_a_huge_tuple_is_no_cache(tmp_path: Path, home: Path) -> None:
    # Five bytes that marshal reads as a tuple of 2**31-1 items: it allocates 16 GiB
    # for them before it finds the file ends (a minute and all the memory, or a
    # MemoryError where memory is limited, as here).
    folder = folder_of(tmp_path)
    expected = snapshots(folder)
    cache_file(home).write_bytes(b"(\xff\xff\xff\x7f")
    limited = (
        "import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30));"
        "from generator.collect.records import load_records;"
        "print(len(load_records(sys.argv[1], {})))"
    )
    run = subprocess.run(
        [sys.executable, "-c", limited, str(folder)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (run.returncode, run.stderr) == (0, "")
    assert run.stdout == f"{len(expected)}\n"
    assert snapshots(folder) == expected

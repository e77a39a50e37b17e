"""Recorded builds kept parsed between runs, each keyed by the digest of its bytes.

Entry point: `ParsedRecords` (`load` each record of a folder, then `save`).

Reading a record is a bounded JSON read, every field checked, and both of its
listings parsed and checked: over the 92 committed records, most of what
``generate --check`` spends. What that gives depends on nothing but the
record's bytes and this code, so it is kept in the user's cache
(``$XDG_CACHE_HOME/hmp-perms/records/``), one file per records folder: each
record under the SHA-256 of its bytes, each listing once, shared by every
record that prints it (as in memory, where later stages count on that). The
file holds the digest of the source of `collect` and of the layers below it,
which are all the code that decides what a record reads as; written by other
code, torn, or unreadable, it is no cache. A record whose bytes are not there
is read in full, and the file is rewritten with exactly the records read.

The cache is the user's own (its folder made 0700), trusted as far as
Jinja's compiled templates beside it; what it gives back still passes
`validate_snapshot`, and anything odd in it sends the record to a full read.
"""

from __future__ import annotations

import hashlib
import itertools
import marshal
import os
import sys
from pathlib import Path
from typing import Any

from generator.collect.snapshot import load_snapshot, validate_snapshot
from generator.core.errors import HmpPermsError
from generator.core.files import cache_folder, read_bytes, read_cached, write_cached
from generator.core.model import NAME_RE, HelpEntry, Snapshot, Version, packages_with
from generator.core.text import unprintable

#: The layout of a cache file (`pack`); part of its code digest.
FORMAT = 2

#: A listing as kept: its text, and its entries as plain tuples.
_Kept = tuple[str, tuple[tuple[Any, ...], ...]]


def code_digest() -> bytes | None:
    """The digest of what decides a record's reading: the source of every module of
    `collect` and of the layers below it (``generator/*.py``), and the Python that runs
    them. None (no cache) where the source cannot be read."""
    here = Path(__file__)
    if here.suffix != ".py":
        return None  # run from compiled files only: no source to tell versions apart
    digest = hashlib.sha256(f"{FORMAT} {sys.implementation.cache_tag}".encode())
    try:
        for folder in (here.parent, here.parent.parent):
            for source in sorted(folder.glob("*.py")):
                digest.update(source.name.encode() + b"\0" + source.read_bytes() + b"\0")
    except OSError:
        return None
    return digest.digest()


def pack(code: bytes, kept: tuple[dict[bytes, Any], dict[bytes, Any]]) -> bytes:
    """A cache file: the code digest, the SHA-256 of the marshal dump of `kept`, the dump."""
    dump = marshal.dumps(kept)
    return code + hashlib.sha256(dump).digest() + dump


def unpack(data: bytes, code: bytes) -> object:
    """What `pack` was given, when `data` is a file it wrote with `code`; else None.

    The dump is read only once its digest matches: marshal trusts the sizes it reads
    (five bytes can claim a tuple of 2**31 items, 16 GiB allocated before the end of
    the file is found), so a torn or foreign file must never reach it."""
    size = len(code) + 32
    view = memoryview(data)
    if len(data) <= size or view[: len(code)] != code:
        return None
    if hashlib.sha256(view[size:]).digest() != view[len(code) : size]:
        return None
    try:
        return marshal.loads(view[size:])
    except (EOFError, ValueError, TypeError, MemoryError):
        return None


class ParsedRecords:
    """The records of one folder: from the cache when their bytes are there, else read."""

    def __init__(self, folder: str) -> None:
        self._path: str | None = None
        self._code = b""
        self._records: dict[bytes, tuple[Any, ...]] = {}  # record digest -> its fields
        self._listings: dict[bytes, _Kept] = {}  # listing digest -> text and entries
        self._read: dict[bytes, tuple[Any, ...]] = {}  # the records this run read
        #: listings in memory, by digest and prefix ("" for help, "info " for info)
        self._made: dict[tuple[bytes, str], tuple[str, tuple[HelpEntry, ...]]] = {}
        self._changed = False
        cache = cache_folder("records")
        code = code_digest()
        if cache is None or code is None:
            return
        name = hashlib.sha256(os.path.abspath(folder).encode()).hexdigest()[:32]
        self._path, self._code = os.path.join(cache, name), code
        kept = unpack(read_cached(self._path) or b"", code)
        if type(kept) is tuple and len(kept) == 2 and _all(dict, kept):
            self._records, self._listings = kept

    def load(self, path: str) -> Snapshot:
        """The snapshot record `path` holds: `load_snapshot`'s, from the cache when it can."""
        data = read_bytes(path)
        if self._path is None:
            return load_snapshot(path, data)
        key = hashlib.sha256(data).digest()
        fields = self._records.get(key)
        snap = None
        if fields is not None:
            try:
                snap = self._snapshot(path, fields)
                validate_snapshot(snap)
            except (HmpPermsError, TypeError, ValueError, KeyError, IndexError, AttributeError):
                snap = None  # not what this code wrote: read the record itself
        if snap is None or fields is None:
            snap = load_snapshot(path, data)
            help_key = self._keep(snap.raw_help, "", snap.commands)
            info_key = self._keep(snap.raw_info, "info ", snap.info) if snap.raw_info else None
            fields = (
                snap.binary,
                tuple(snap.version) if snap.version is not None else None,
                snap.package,
                snap.target,
                snap.variant,
                snap.packages,
                help_key,
                info_key,
            )
            # One listing, one tuple, whether it came from the cache or was parsed.
            snap = snap._replace(
                commands=self._listing(help_key, "")[1],
                info=self._listing(info_key, "info ")[1] if info_key is not None else (),
            )
            self._changed = True
        self._read[key] = fields
        return snap

    def save(self) -> None:
        """Keep exactly the records read, when that is not what the cache holds."""
        if self._path is None or (not self._changed and self._read.keys() == self._records.keys()):
            return
        listings = {
            key: self._listings[key]
            for fields in self._read.values()
            for key in fields[6:8]
            if key is not None
        }
        write_cached(self._path, pack(self._code, (self._read, listings)))

    def _keep(self, text: str, prefix: str, entries: tuple[HelpEntry, ...]) -> bytes:
        """The key of a listing just parsed, which replaces what the cache holds under it
        when that is not the same (the cache was spoilt: the parsed listing is the truth)."""
        key = hashlib.sha256(f"{prefix}\n{text}".encode()).digest()
        kept = (text, tuple(tuple(e) for e in entries))
        if self._listings.get(key) != kept:
            self._listings[key] = kept
        if self._made.get((key, prefix)) != (text, entries):  # else keep the one tuple made
            self._made[key, prefix] = (text, entries)
        return key

    def _listing(self, key: bytes, prefix: str) -> tuple[str, tuple[HelpEntry, ...]]:
        made = self._made.get((key, prefix))
        if made is None:
            text, entries = self._listings[key]
            if not _is_listing(key, prefix, text, entries):
                raise ValueError("not a listing this code kept")
            made = self._made[key, prefix] = (text, tuple(map(HelpEntry._make, entries)))
        return made

    def _snapshot(self, path: str, fields: tuple[Any, ...]) -> Snapshot:
        if type(fields) is not tuple or len(fields) != 8:
            raise ValueError("not the fields of a record")
        binary, version, package, target, variant, packages, help_key, info_key = fields
        if not (
            _all(str, (binary, package, target, variant))
            and (version is None or (type(version) is tuple and len(version) == 3))
            and _all(int, version or ())
            and type(packages) is tuple
            and _all(str, packages)
            and packages == packages_with(package, packages)
            and type(help_key) is bytes
            and type(info_key) in (bytes, type(None))
        ):
            raise ValueError("not the fields of a record")
        raw_help, commands = self._listing(help_key, "")
        raw_info, info = self._listing(info_key, "info ") if info_key is not None else ("", ())
        return Snapshot(
            binary=binary,
            version=Version(*version) if version is not None else None,
            package=package,
            target=target,
            commands=commands,
            info=info,
            raw_help=raw_help,
            raw_info=raw_info,
            variant=variant,
            packages=tuple(packages),
            source=path,
        )


def _all(kind: type, values: Any) -> bool:
    """Whether every one of `values` is exactly of type `kind` (a bool is no int)."""
    return set(map(type, values)) <= {kind}


def _is_listing(key: bytes, prefix: str, text: Any, entries: Any) -> bool:
    """Whether a listing from the cache is one `_keep` could have kept under `key`: the
    text that digest is of, and entries of the types and names `parse_help` gives."""
    if not (
        type(text) is str
        and type(entries) is tuple
        and entries
        and _all(tuple, entries)
        and set(map(len, entries)) == {len(HelpEntry._fields)}
        and hashlib.sha256(f"{prefix}\n{text}".encode()).digest() == key
        and _printable(text)
    ):
        return False
    names, aliases, params, helps, lines = zip(*entries, strict=True)
    if not (_all(str, names) and _all(tuple, aliases) and _all(int, lines)):
        return False
    every = [*names, *itertools.chain.from_iterable(aliases)]
    return (
        _all(str, every)
        and _all(str, params + helps)
        and all(every)
        and NAME_RE.fullmatch("".join(every)) is not None  # each a name, none empty
        and list(names) == sorted(set(names))
        and _printable("".join(params + helps))
    )


def _printable(text: str) -> bool:
    """Whether `text` holds nothing `unprintable` but line breaks and TABs; what Python
    calls printable holds none of that (a scan at C speed, the regex only on doubt)."""
    text = text.replace("\n", "").replace("\t", "")
    return text.isprintable() or unprintable(text) is None

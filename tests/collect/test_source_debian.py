"""`collect --from-source` against real builds: Debian's source packages of 7.2.22 and
10.0.13 list, for every target Debian builds, what the recorded builds print, byte for
byte; 10.2.2, which no suite here builds, checks against the table with nothing
unassigned.

The source packages are fetched with `apt-get source --download-only` through an apt
configuration of the test's own (`deb-src` lines, lists and archives in CACHE), and only
the two `.hx` files and VERSION are taken from each; CACHE is kept between runs, so only
the first downloads anything.
"""

from __future__ import annotations

import fcntl
import json
import os
import pwd
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from generator.collect.source import snapshot_from_source
from tests.collect.test_point_release import MIRROR, must
from tests.conftest import BUILDS, Result, need_binary

pytestmark = pytest.mark.slow

CACHE = Path("/var/tmp/hmp-perms-test-debian-source")
SUITES = ("bookworm", "trixie", "sid")
#: Each release and the Debian source version holding it (7.2.22's orig tarball is 7.2.0:
#: the point releases are patches of Debian's, none of them touching the `.hx` files).
RELEASES = {
    "7.2.22": "1:7.2+dfsg-7+deb12u18",
    "10.0.13": "1:10.0.13+ds-0+deb13u1",
    "10.2.2": "1:10.2.2+ds-1",
}
FILES = ("hmp-commands.hx", "hmp-commands-info.hx", "VERSION")


def fetch(release: str, folder: Path) -> None:
    """`release`'s `.hx` files and VERSION in `folder`, from Debian's source package."""
    apt = CACHE / "apt"
    for sub in ("lists/partial", "cache/archives/partial", "parts"):
        (apt / sub).mkdir(parents=True, exist_ok=True)
    keyring = "/usr/share/keyrings/debian-archive-keyring.gpg"
    lines = [f"deb-src [signed-by={keyring}] {MIRROR} {suite} main\n" for suite in SUITES]
    (apt / "sources.list").write_text("".join(lines))
    settings = {
        "Dir::Etc::sourcelist": apt / "sources.list",
        "Dir::Etc::sourceparts": apt / "parts",
        "Dir::State::lists": apt / "lists",
        "Dir::Cache": apt / "cache",
        "Acquire::Check-Valid-Until": "false",  # bookworm's Release has expired here
        "APT::Sandbox::User": pwd.getpwuid(os.getuid()).pw_name,
    }
    (apt / "apt.conf").write_text("".join(f'{k} "{v}";\n' for k, v in settings.items()))
    packages = CACHE / "packages"
    packages.mkdir(exist_ok=True)
    env: list[str | Path] = ["env", "-C", packages, f"APT_CONFIG={apt / 'apt.conf'}"]
    must(*env, "apt-get", "update", "-q")
    must(*env, "apt-get", "source", "-q", "--download-only", f"qemu={RELEASES[release]}")
    upstream = RELEASES[release].split(":")[1].rsplit("-", 1)[0]
    (orig,) = packages.glob(f"qemu_{upstream}.orig.tar.*")
    (debian,) = packages.glob(f"qemu_{RELEASES[release].split(':')[1]}.debian.tar.*")
    patches = must("tar", "-xOf", debian, "--wildcards", "debian/patches/*")
    assert "hmp-commands" not in patches, f"{debian}: a patch changes the .hx files"
    partial = folder.with_name(folder.name + ".partial")
    partial.mkdir(parents=True, exist_ok=True)
    only = ["--strip-components=1", "--no-same-owner", "--wildcards", "--no-wildcards-match-slash"]
    must("tar", "-xf", orig, "-C", partial, *only, *(f"*/{name}" for name in FILES))
    partial.rename(folder)


@pytest.fixture(scope="module")
def trees() -> Iterator[dict[str, Path]]:
    need_binary("apt-get")
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE.with_name(CACHE.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one run at a time fetches, or reads
        for release in RELEASES:
            if not (CACHE / release / "VERSION").is_file():
                fetch(release, CACHE / release)
        yield {release: CACHE / release for release in RELEASES}


RECORDED = sorted(
    (release, path)
    for release in ("7.2.22", "10.0.13")
    for path in BUILDS.glob(f"debian-{release}-*.json")
    if not path.stem.endswith("-microvm")  # a machine's variant: the source knows no machine
)


@pytest.mark.parametrize(("release", "record"), RECORDED, ids=[p.stem for _, p in RECORDED])
def test_the_source_lists_what_the_recorded_build_prints(
    trees: dict[str, Path], cli: Callable[..., Result], tmp_path: Path, release: str, record: Path
) -> None:
    recorded = json.loads(record.read_text())
    out = tmp_path / "source.json"
    tree, target = trees[release], recorded["target"]
    result = cli(
        "collect", "--from-source", tree, "--target", target, "--qemu-version", release, "-o", out
    )
    assert (result.status, result.err) == (0, "")
    made = json.loads(out.read_text())
    assert (made["help"], made["info"]) == (recorded["help"], recorded["info"])
    start = time.perf_counter()
    snapshot_from_source(str(tree), target)
    assert time.perf_counter() - start < 0.1  # pure: no compiler, no QEMU


def test_a_release_only_its_source_shows_checks_with_nothing_unassigned(
    trees: dict[str, Path], cli: Callable[..., Result], tmp_path: Path
) -> None:
    snapshots = []
    for target in ("x86_64", "aarch64", "s390x"):
        out = tmp_path / f"{target}.json"
        assert (
            cli("collect", "--from-source", trees["10.2.2"], "--target", target, "-o", out).status
            == 0
        )
        snapshots += ["--snapshot", str(out)]
    result = cli("check", *snapshots, "--format", "json")
    doc = json.loads(result.out)
    assert [b["build"] for b in doc["builds"]] == [
        f"upstream-10.2.2-{t}" for t in ("x86_64", "aarch64", "s390x")
    ]
    assert [f for f in doc["findings"] if f["severity"] != "info"] == [], result.out
    assert result.status == 0, result.out + result.err

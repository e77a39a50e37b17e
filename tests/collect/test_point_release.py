"""A point release is checked against its own series: Debian bookworm-backports' QEMU
10.0.2, run from a bookworm root of its own, is compared with the recorded 10.0.13
builds (their listings are the same) and checks clean under --strict.

The root is bootstrapped with debootstrap, its QEMU installed from the suite, and each
binary run through bubblewrap with the root as `/`, as scripts/record-debian does. The
root is kept in CACHE between runs and reused while it works, so only the first run
downloads anything.
"""

from __future__ import annotations

import fcntl
import json
import os
import shlex
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import conftest
from tests.conftest import BUILDS, hmp_perms, need_binary

pytestmark = pytest.mark.slow

CACHE = Path("/var/tmp/hmp-perms-test-point-release")
MIRROR = "http://deb.debian.org/debian"
SUITE = "bookworm-backports"
# What bookworm-backports carries; a newer upload there makes a fresh root fail to
# install, and this test is to be moved to it (and to its series' recorded release).
DEBIAN_VERSION = "1:10.0.2+ds-2+deb13u1~bpo12+1"
VERSION = "10.0.2"
BASELINE = "10.0.13"
# The split packages holding the four binaries: 10.0 has s390x in a package of its own.
PACKAGES = ("qemu-system-x86", "qemu-system-arm", "qemu-system-s390x", "qemu-system-mips")
MACHINES = ("x86_64", "aarch64", "s390x", "mips64el")
# Downloading a base system or QEMU may be slow; a hung mirror still ends.
SLOW = 1800


def need_root() -> None:
    conftest.need_root("debootstrap needs root")


def run(*args: str | Path, timeout: float = SLOW) -> subprocess.CompletedProcess[str]:
    """Run a command in a session of its own, its output kept; on a timeout the whole
    session is killed (debootstrap and apt leave children behind otherwise)."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C"}
    proc = subprocess.Popen(
        [str(a) for a in args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"{shlex.join(map(str, args))} took over {timeout}s:\n{out[-6000:]}")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out)


def must(*args: str | Path) -> str:
    result = run(*args)
    if result.returncode != 0:
        pytest.fail(
            f"{shlex.join(map(str, args))} failed ({result.returncode}):\n{result.stdout[-6000:]}"
        )
    return result.stdout


def works(root: Path) -> bool:
    return root.is_dir() and run("chroot", root, "apt-get", "--version", timeout=60).returncode == 0


def installed(root: Path) -> bool:
    """Every package of PACKAGES is installed in `root`, at DEBIAN_VERSION."""
    status = "${db:Status-Abbrev}${Version}\n"
    query = run("chroot", root, "dpkg-query", "-W", "-f", status, *PACKAGES, timeout=60)
    want = [f"ii {DEBIAN_VERSION}"] * len(PACKAGES)
    return query.returncode == 0 and query.stdout.splitlines() == want


def prepare(root: Path) -> None:
    """Bootstrap `root` unless it already works, then install the suite's QEMU in it
    unless it is there. A root is bootstrapped beside it and moved in only once whole;
    debootstrap's mounts stay in a mount namespace of its own, so a half-made root
    holds none and can be removed."""
    if not works(root):
        partial = root.with_name(root.name + ".partial")
        for folder in (root, partial):
            if folder.exists():
                shutil.rmtree(folder)
        debootstrap = need_binary("debootstrap")
        private = ["unshare", "--mount", "--propagation", "private"]
        must(*private, debootstrap, "--variant=minbase", "bookworm", partial, MIRROR)
        partial.rename(root)
    (root / "etc/apt/sources.list.d" / f"{SUITE}.list").write_text(f"deb {MIRROR} {SUITE} main\n")
    if not installed(root):
        pinned = [f"{name}={DEBIAN_VERSION}" for name in PACKAGES]
        must("chroot", root, "dpkg", "--configure", "-a")
        must("chroot", root, "apt-get", "update", "-q")
        install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "-t", SUITE]
        must("chroot", root, *install, *pinned)
        assert installed(root), (
            f"{root}: {PACKAGES} are not all at {DEBIAN_VERSION} after installing"
        )


@pytest.fixture(scope="module")
def backports_root() -> Iterator[Path]:
    need_root()
    need_binary("debootstrap")
    need_binary("bwrap")
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    # One run at a time prepares the cached root, or reads it.
    with open(CACHE.with_name(CACHE.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        prepare(CACHE)
        yield CACHE


def in_root(bwrap: str, root: Path, binary: str) -> list[str]:
    """`binary` of `root` run with `root` as `/`, as scripts/record-debian runs it."""
    mounts = shlex.split("--dev-bind /dev /dev --proc /proc --tmpfs /tmp --die-with-parent")
    return [bwrap, "--bind", str(root), "/", *mounts, binary]


def test_point_release_checks_against_its_series(backports_root: Path) -> None:
    bwrap = need_binary("bwrap")
    probe = run(*in_root(bwrap, backports_root, "/bin/true"), timeout=60)
    if probe.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(
                f"bwrap cannot run the root here, and CI must run this test:\n{probe.stdout}"
            )
        pytest.skip(f"bwrap cannot run the root here: {probe.stdout.strip()}")
    qemus: list[str] = []
    for machine in MACHINES:
        binary = f"/usr/bin/qemu-system-{machine}"
        qemus += ["--qemu", shlex.join(in_root(bwrap, backports_root, binary))]

    result = hmp_perms("check", "--strict", "--format", "json", "--timeout", "60", *qemus)

    out, err = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == 0, out + err
    doc = json.loads(out)
    assert (doc["failures"], doc["findings"]) == ([], []), out
    builds = {b["variant"]: b for b in doc["builds"]}
    assert sorted(builds) == sorted(f"qemu-system-{m}" for m in MACHINES), out
    for machine in MACHINES:
        build = builds[f"qemu-system-{machine}"]
        assert "bpo12" in build["package"], build
        assert build["package"] == f"Debian {DEBIAN_VERSION}", build
        assert (build["build"], build["version"]) == (f"debian-{VERSION}-{machine}", VERSION), build
        assert build["baseline"] == f"debian-{BASELINE}-{machine}", build
        assert (BUILDS / f"{build['baseline']}.json").is_file(), build

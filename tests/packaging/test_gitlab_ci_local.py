"""The GitLab recipe on a CI engine: gitlab-ci-local runs examples/ci/gitlab-ci.yml
as .gitlab-ci.yml of a git repository holding only what `hmp-perms init` wrote.

Its shell executor runs every job on this machine and ignores `image:`, so each
matrix row collects this machine's Debian 12 QEMU and runs the recipe's apt-get
here (as root). What this proves is the pipeline's structure (the matrix, the
stages and needs, artifacts handed from the collect jobs to the check job, the
JUnit report), the jobs' exit statuses and the recipe's own commands, hmp-perms
installed from the session's wheel through HMP_PERMS_SPEC; not the images.

No record is added: the repository is as on the day it adopts the recipe, with
the records `init` copied, which survive git and the copy each job gets (a missing
records folder is an error).

The source jobs run as a schedule runs them, reading a QEMU-like tree from a local
git repository named by QEMU_GIT: nothing is fetched from gitlab.com.

gitlab-ci-local comes from the npm registry and builds a native module (re2), so
installing it needs g++ and make; its shell isolation needs rsync. It is kept in
CACHE between runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests import conftest
from tests.conftest import BUILDS, need_binary
from tests.packaging.test_ci import (
    BIN,
    GITLAB,
    KNOWN,
    MESSAGE,
    NEW,
    REQUIRE,
    load,
    qemu_repository,
    session_wheel,
)

pytestmark = pytest.mark.slow

VERSION = "4.60.1"  # runs on Node 20
CACHE = Path(f"/var/tmp/hmp-perms-test-gitlab-ci-local-{VERSION}")
FLAGS = ("--force-shell-executor", "--shell-isolation", "--concurrency", "1")
# Ours, for reading the log: no color, no padding after job names. A fresh --home
# keeps the variables of ~/.gitlab-ci-local out.
QUIET = ("--no-color", "--max-job-name-padding", "0")
INSTALL_TIMEOUT = 1200  # npm builds re2 from source: minutes on two cores
PIPELINE_TIMEOUT = 1200  # seven jobs, each with apt-get update and a pip install
GIT = ["git", "-c", "user.name=hmp-perms tests", "-c", "user.email=tests@example.invalid"]


def processes_of(session: int, mark: str) -> dict[int, str]:
    """Live processes in `session`, or carrying `mark` in their environment: pid ->
    name."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            environ = (proc / "environ").read_bytes()
        except OSError:  # gone meanwhile
            continue
        name, rest = stat.split(" (", 1)[1].rsplit(") ", 1)
        state, _, _, sid = rest.split()[:4]
        if state != "Z" and (int(sid) == session or mark.encode() in environ):
            found[int(proc.name)] = name
    return found


def run(args: list[str], cwd: Path, env: dict[str, str], timeout: float) -> tuple[int, str]:
    """`args` in a session of its own, its output (stdout and stderr) kept. Whatever it
    leaves running is killed and fails the test; a timeout kills it all and fails."""
    mark = f"hmp-perms-test-{uuid.uuid4()}"
    proc = subprocess.Popen(
        args,
        cwd=cwd,
        env={**env, "HMP_PERMS_TEST_MARK": mark},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"{args[0]} took over {timeout}s:\n{out[-6000:]}")
    finally:
        deadline = time.monotonic() + 5  # a child may still be on its way out
        while (left := processes_of(proc.pid, mark)) and time.monotonic() < deadline:
            time.sleep(0.1)
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    assert not left, f"{args[0]} left processes running: {left}\n{out[-6000:]}"
    return proc.returncode, out


def environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "HMP_PERMS_SPEC"}


def works(binary: Path) -> bool:
    if not binary.is_file():
        return False
    status, out = run([str(binary), "--version"], CACHE.parent, environment(), 60)
    return status == 0 and out.strip() == VERSION


@pytest.fixture(scope="module")
def gitlab_ci_local() -> Path:
    """gitlab-ci-local VERSION, installed with npm into CACHE unless it is there."""
    binary = CACHE / "node_modules" / ".bin" / "gitlab-ci-local"
    need_binary("node")
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    with open(CACHE.with_name(CACHE.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not works(binary):
            npm = need_binary("npm")
            for tool in ("g++", "make"):  # node-gyp builds re2
                need_binary(tool)
            partial = CACHE.with_name(CACHE.name + ".partial")
            for folder in (CACHE, partial):
                if folder.exists():
                    shutil.rmtree(folder)
            partial.mkdir()
            args = [npm, "install", "--prefix", str(partial), "--no-audit", "--no-fund"]
            status, out = run(
                [*args, f"gitlab-ci-local@{VERSION}"], partial, environment(), INSTALL_TIMEOUT
            )
            assert status == 0, out[-6000:]
            partial.rename(CACHE)
            assert works(binary), f"{binary} does not run after installing"
    return binary


@pytest.fixture(scope="module")
def adopter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository holding only what `hmp-perms init` and `generate` write, and
    the recipe."""
    repo = tmp_path_factory.mktemp("adopter")
    hmp_perms = str(BIN / "hmp-perms")
    for args in (["git", "init", "-q", "-b", "main"], [hmp_perms, "init"], [hmp_perms, "generate"]):
        subprocess.run(args, cwd=repo, check=True, capture_output=True, timeout=60)
    shutil.copyfile(GITLAB, repo / ".gitlab-ci.yml")
    subprocess.run([*GIT, "add", "-A"], cwd=repo, check=True, timeout=60)
    subprocess.run([*GIT, "commit", "-qm", "hmp-perms"], cwd=repo, check=True, timeout=60)
    listed = subprocess.run(
        ["git", "ls-files"], cwd=repo, check=True, capture_output=True, text=True, timeout=60
    ).stdout.split()
    records = [name for name in listed if name.startswith("data/builds/")]
    assert len(records) == len(list(BUILDS.glob("*.json")))
    assert [name for name in listed if name not in records] == [
        ".gitlab-ci.yml",
        "data/hmp-commands.yaml",
        "data/suggest-rules.yaml",
        "generated/HMPPerms.pm",
        "generated/hmp-commands.md",
        "generated/hmp-perms-description.txt",
        "generated/hmp_perms.py",
        "hmp-perms.toml",
    ]
    return repo


def collect_jobs() -> list[str]:
    """The collect jobs' names, as gitlab-ci-local writes them: one per combination
    of each matrix entry's values."""
    return matrix_jobs("collect")


def matrix_jobs(job: str) -> list[str]:
    """A matrix job's names, as gitlab-ci-local writes them: one per combination of
    each matrix entry's values."""
    names = []
    for entry in load(GITLAB)[job]["parallel"]["matrix"]:
        values = [v if isinstance(v, list) else [v] for v in entry.values()]
        names += [f"{job}: [{','.join(c)}]" for c in itertools.product(*values)]
    return names


def pipeline(
    binary: Path,
    repo: Path,
    home: Path,
    *variables: str,
    jobs: tuple[str, ...] = (),
    timeout: float = PIPELINE_TIMEOUT,
) -> tuple[int, str]:
    """The pipeline, or only `jobs`, with these variables."""
    home.mkdir(exist_ok=True)
    given = [a for v in variables for a in ("--variable", v)]
    args = [str(binary), *FLAGS, *QUIET, "--home", str(home), *given, *jobs]
    return run(args, repo, environment(), timeout)


def summary(out: str) -> dict[str, str]:
    """The closing lines: job name -> PASS, FAIL or WARN."""
    return {m[2]: m[1] for m in re.finditer(r"^ (PASS|FAIL|WARN) +(.+?) *$", out, re.M)}


def job_output(out: str, job: str) -> list[str]:
    return [
        line.removeprefix(f"{job} > ") for line in out.splitlines() if line.startswith(f"{job} > ")
    ]


def job_commands(out: str, job: str) -> list[str]:
    return [
        line.removeprefix(f"{job} $ ") for line in out.splitlines() if line.startswith(f"{job} $ ")
    ]


def copy(repo: Path, into: Path) -> Path:
    shutil.copytree(repo, into, symlinks=True)
    return into


def need_root() -> None:
    conftest.need_root("the shell executor runs the recipe's apt-get here, which needs root")


def test_gitlab_pipeline_passes_on_gitlab_ci_local(
    gitlab_ci_local: Path, adopter: Path, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    need_root()
    need_binary("rsync")
    for entry in load(GITLAB)["collect"]["parallel"]["matrix"]:
        for target in entry["TARGET"]:
            need_binary(f"qemu-system-{target}")
    wheel = session_wheel(tmp_path_factory)
    repo = copy(adopter, tmp_path / "repo")

    status, out = pipeline(gitlab_ci_local, repo, tmp_path / "home", f"HMP_PERMS_SPEC={wheel}")

    assert status == 0, out[-8000:]
    jobs = collect_jobs()
    assert len(jobs) == 6
    assert summary(out) == dict.fromkeys([*jobs, "check"], "PASS"), out[-8000:]
    for job in [*jobs, "check"]:
        commands = job_commands(out, job)
        assert commands[0] == REQUIRE and any("pip install" in c for c in commands), commands
    # Each collect job's artifact reached the check job, and its reports are left.
    snapshots = sorted(p.name for p in (repo / "snapshots").iterdir())
    assert snapshots == sorted(
        f"{d}-{t}.json" for d in ("bookworm", "trixie") for t in ("x86_64", "aarch64", "s390x")
    )
    junit = repo / load(GITLAB)["check"]["artifacts"]["reports"]["junit"]
    assert junit.name == "hmp-perms-junit.xml"
    root = ET.parse(junit).getroot()
    # Both rows of a target collect this machine's build: one build, one suite each.
    assert len(root.findall("testsuite")) == 3
    cases = root.findall(".//testcase")
    assert len(cases) > 300 and not [c for c in cases if c.find("failure") is not None]
    assert (repo / "hmp-perms.md").read_text().startswith("## HMP permission check\n\nOK: ")
    assert job_output(out, "check")[-1].startswith("OK: 0 error(s), 0 warning(s) checking ")


def test_gitlab_pipeline_without_the_spec_stops_each_collect_job_in_one_line(
    gitlab_ci_local: Path, adopter: Path, tmp_path: Path
) -> None:
    need_binary("rsync")
    repo = copy(adopter, tmp_path / "repo")

    status, out = pipeline(gitlab_ci_local, repo, tmp_path / "home", timeout=300)

    assert status != 0, out[-8000:]
    jobs = collect_jobs()
    assert summary(out) == dict.fromkeys(jobs, "FAIL"), out[-8000:]  # check never ran
    for job in jobs:
        assert job_commands(out, job) == [REQUIRE], out[-8000:]
        (line,) = job_output(out, job)
        assert line.endswith(f": {MESSAGE}"), line
    assert not (repo / "hmp-perms-junit.xml").exists() and not (repo / "snapshots").exists()


def test_gitlab_source_jobs_name_a_new_command_on_a_schedule(
    gitlab_ci_local: Path, adopter: Path, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """A scheduled pipeline's source jobs read QEMU_GIT's tree: the targets whose
    build has a command the table lacks fail naming it with its suggested level; the
    target whose build has only known commands passes."""
    need_root()
    need_binary("rsync")
    wheel = session_wheel(tmp_path_factory)
    repo = copy(adopter, tmp_path / "repo")
    url = qemu_repository(tmp_path / "qemu", KNOWN + NEW)  # NEW: x86 and arm only
    jobs = matrix_jobs("source")
    assert jobs == ["source: [x86_64]", "source: [aarch64]", "source: [s390x]"]

    variables = (f"HMP_PERMS_SPEC={wheel}", f"QEMU_GIT={url}", "CI_PIPELINE_SOURCE=schedule")
    status, out = pipeline(gitlab_ci_local, repo, tmp_path / "home", *variables, jobs=tuple(jobs))

    assert status != 0, out[-8000:]
    # (gitlab-ci-local also warns, WARN, that CI_PIPELINE_SOURCE is predefined)
    assert {job: result for job, result in summary(out).items() if job in jobs} == {
        "source: [x86_64]": "FAIL",
        "source: [aarch64]": "FAIL",
        "source: [s390x]": "PASS",
    }, out[-8000:]
    for target in ("x86_64", "aarch64"):
        lines = job_output(out, f"source: [{target}]")
        errors = [n for n, line in enumerate(lines) if line.startswith("  error: ")]
        assert len(errors) == 1, out[-8000:]
        at = errors[0]
        assert "command frobnicate has no permission in the table" in lines[at], lines
        assert lines[at + 1].endswith("suggested level: root (params name a host path ('path'))"), (
            lines
        )
        assert lines[-1].startswith("FAILED: 1 error(s)"), lines
    assert job_output(out, "source: [s390x]")[-1].startswith("OK: 0 error(s)")

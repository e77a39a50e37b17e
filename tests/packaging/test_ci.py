"""The CI recipes in examples/ci/: valid for their linters, and their commands do what they say.

The commands are read out of the recipes, not copied, so a test cannot drift
from them: each collect step runs against the real QEMU binaries, then the
check step merges their snapshots into one check, in a scratch workspace
holding the table, as a runner would after downloading the artifacts.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.conftest import ROOT, TABLE, need_binary, tool

GITHUB = ROOT / "examples" / "ci" / "github-workflow.yml"
GITLAB = ROOT / "examples" / "ci" / "gitlab-ci.yml"
INSTALLED = "/opt/hmp-perms/bin/"  # where the recipes install hmp-perms in a build job
BIN = Path(sys.executable).parent  # where it is installed here
TARGETS = ("x86_64", "aarch64")


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load(path.read_text())
    return data


def step(job: dict[str, Any], name: str) -> dict[str, Any]:
    steps: list[dict[str, Any]] = job["steps"]
    found = [s for s in steps if s.get("name") == name]
    assert len(found) == 1, f"no single step {name!r}"
    return found[0]


def uses(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in job["steps"] if str(s.get("uses", "")).startswith(action + "@")]


def shell(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A script as both CI systems run bash: stop at the first failing command."""
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env={**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def here(script: str) -> str:
    assert INSTALLED in script or "hmp-perms" in script
    return script.replace(INSTALLED, f"{BIN}/")


# -- the linters -------------------------------------------------------------------


def test_github_workflow_passes_actionlint() -> None:
    result = subprocess.run(
        [tool("actionlint"), "-no-color", str(GITHUB)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and result.stdout == "", result.stdout + result.stderr


@pytest.mark.parametrize(
    ("path", "schema"),
    [
        (GITHUB, ["vendor.github-workflows"]),
        (GITLAB, ["vendor.gitlab-ci", "--data-transform", "gitlab-ci"]),
    ],
    ids=["github", "gitlab"],
)
def test_recipe_matches_its_schema(path: Path, schema: list[str]) -> None:
    result = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", *schema, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_github_reports_survive_a_failing_check() -> None:
    check = load(GITHUB)["jobs"]["check"]
    names = [s.get("name") or s.get("uses") for s in check["steps"]]
    junit = [s for s in uses(check, "actions/upload-artifact") if "junit" in s["with"]["path"]]
    assert len(junit) == 1 and junit[0]["if"] == "always()"
    assert names.index(junit[0]["uses"]) > names.index("Check")


def test_gitlab_reports_survive_a_failing_check() -> None:
    artifacts = load(GITLAB)["check"]["artifacts"]
    assert artifacts["when"] == "always"
    assert artifacts["reports"]["junit"] in artifacts["paths"]


def test_every_collect_job_uploads_a_distinct_artifact() -> None:
    collect = load(GITHUB)["jobs"]["collect"]
    (upload,) = uses(collect, "actions/upload-artifact")
    matrix = collect["strategy"]["matrix"]
    names = {
        upload["with"]["name"]
        .replace("${{ matrix.debian }}", debian)
        .replace("${{ matrix.target }}", target)
        for debian in matrix["debian"]
        for target in matrix["target"]
    }
    assert len(names) == len(matrix["debian"]) * len(matrix["target"])
    (download,) = uses(load(GITHUB)["jobs"]["check"], "actions/download-artifact")
    prefix = download["with"]["pattern"].removesuffix("*")
    assert all(n.startswith(prefix) for n in names) and download["with"]["merge-multiple"]


# -- the commands, on real QEMU ------------------------------------------------------


@dataclass
class Workspace:
    root: Path
    snapshots: list[Path]


def github_collect(workspace: Path, target: str) -> Path:
    collect = load(GITHUB)["jobs"]["collect"]
    assert target in collect["strategy"]["matrix"]["target"]
    values = {"debian": "bookworm", "target": target}
    script = re.sub(
        r"\$\{\{ matrix\.(\w+) \}\}", lambda m: values[m[1]], step(collect, "Collect")["run"]
    )
    assert "${{" not in script
    before = set(workspace.iterdir())
    result = shell(here(script), workspace, {})
    assert result.returncode == 0, result.stderr
    (made,) = set(workspace.iterdir()) - before
    (upload,) = uses(collect, "actions/upload-artifact")
    assert made.name == upload["with"]["path"].replace("${{ matrix.debian }}", "bookworm").replace(
        "${{ matrix.target }}", target
    )
    return made


def gitlab_collect(workspace: Path, target: str) -> Path:
    collect = load(GITLAB)["collect"]
    (entry,) = [e for e in collect["parallel"]["matrix"] if e["TARGET"] == target]
    (line,) = [line for line in collect["script"] if "hmp-perms collect" in line]
    env = {"DEBIAN": entry["DEBIAN"][0], "TARGET": target, "PACKAGE": entry["PACKAGE"]}
    before = set(workspace.rglob("*.json"))
    result = shell(here(line), workspace, env)
    assert result.returncode == 0, result.stderr
    (made,) = set(workspace.rglob("*.json")) - before
    assert any(
        made.relative_to(workspace).as_posix().startswith(p) for p in collect["artifacts"]["paths"]
    )
    return made


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    """Snapshots made by each recipe's own collect command from real QEMU binaries."""
    for target in TARGETS:
        need_binary(f"qemu-system-{target}")
    out: dict[str, list[Path]] = {}
    for name, collect in (("github", github_collect), ("gitlab", gitlab_collect)):
        workspace = tmp_path_factory.mktemp(f"collect-{name}")
        out[name] = [collect(workspace, target) for target in TARGETS]
    return out


def workspace(tmp_path: Path, snapshots: list[Path], into: str, table: str) -> Path:
    """A checkout (the table and the recorded builds) with every job's snapshot in `into`."""
    (tmp_path / "data").mkdir(parents=True)
    (tmp_path / "data" / "hmp-commands.yaml").write_text(table)
    shutil.copytree(ROOT / "data" / "builds", tmp_path / "data" / "builds")
    (tmp_path / into).mkdir(parents=True, exist_ok=True)
    for snap in snapshots:
        shutil.copyfile(snap, tmp_path / into / snap.name)
    return tmp_path


def without_balloon() -> str:
    """The committed table without the `balloon` command: what an upgrade that adds it looks like."""
    text = TABLE.read_text()
    changed = re.sub(r"^  balloon:\n(?:    .*\n)+", "", text, count=1, flags=re.M)
    assert changed != text
    return changed


def junit_failures(path: Path) -> tuple[int, list[str]]:
    root = ET.parse(path).getroot()
    cases = root.findall(".//testcase")
    failed = [
        f"{c.get('classname')}: {c.get('name')}" for c in cases if c.find("failure") is not None
    ]
    return len(cases), failed


def run_github_check(ws: Path) -> tuple[subprocess.CompletedProcess[str], str]:
    summary = ws / "step-summary.md"
    summary.write_text("")
    script = step(load(GITHUB)["jobs"]["check"], "Check")["run"]
    result = shell(script, ws, {"GITHUB_STEP_SUMMARY": str(summary)})
    return result, summary.read_text()


def github_download_path() -> str:
    (download,) = uses(load(GITHUB)["jobs"]["check"], "actions/download-artifact")
    return str(download["with"]["path"])


def run_gitlab_check(ws: Path) -> subprocess.CompletedProcess[str]:
    script = "\n".join(
        line for line in load(GITLAB)["check"]["script"] if "pip install" not in line
    )
    return shell(script, ws, {})


def test_github_check_passes_on_current_table(
    tmp_path: Path, collected: dict[str, list[Path]]
) -> None:
    ws = workspace(tmp_path, collected["github"], github_download_path(), TABLE.read_text())
    result, summary = run_github_check(ws)
    assert result.returncode == 0, result.stderr
    (notice,) = result.stdout.splitlines()  # one notice, no error or warning annotation
    assert notice.startswith("::notice title=hmp-perms check::OK: 0 error(s)")
    assert result.stderr == ""
    tests, failed = junit_failures(ws / "hmp-perms-junit.xml")
    assert tests > 300 and failed == []
    assert summary.startswith("## HMP permission check\n\nOK: 0 error(s)")
    assert "qemu-system-x86_64" in summary and "qemu-system-aarch64" in summary


def test_github_check_fails_with_annotations_summary_and_junit(
    tmp_path: Path, collected: dict[str, list[Path]]
) -> None:
    ws = workspace(tmp_path, collected["github"], github_download_path(), without_balloon())
    result, summary = run_github_check(ws)
    assert result.returncode == 1, result.stderr
    line = next(
        n for n, t in enumerate(without_balloon().splitlines(), 1) if t == "  block_job_cancel:"
    )
    annotations = result.stdout.splitlines()
    titles = sorted(a.split("::")[1] for a in annotations)
    assert [re.sub(r"\(\S+-(\w+)\)$", r"(\1)", t) for t in titles] == [
        f"error file=data/hmp-commands.yaml,line={line},title=unassigned-command balloon ({t})"
        for t in sorted(TARGETS)
    ]
    assert all(" balloon (debian-" in t for t in titles)  # named by build
    _, failed = junit_failures(ws / "hmp-perms-junit.xml")
    assert len(failed) == 2 and all(f.endswith(": balloon") for f in failed)
    assert "FAILED: 2 error(s)" in summary and "| `balloon` |" in summary


def test_github_check_refuses_a_bad_snapshot_in_one_line(
    tmp_path: Path, collected: dict[str, list[Path]]
) -> None:
    ws = workspace(tmp_path, collected["github"], github_download_path(), TABLE.read_text())
    bad = ws / github_download_path() / "snapshot-broken.json"
    bad.write_text('{"format": 1,')
    result, summary = run_github_check(ws)
    assert result.returncode == 2
    assert result.stderr.startswith(f"hmp-perms: snapshots/{bad.name}")
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
    assert not (ws / "hmp-perms-junit.xml").exists() and summary == ""


def test_gitlab_check_refuses_a_bad_snapshot_in_one_line(
    tmp_path: Path, collected: dict[str, list[Path]]
) -> None:
    into = load(GITLAB)["collect"]["artifacts"]["paths"][0]
    ws = workspace(tmp_path, collected["gitlab"], into, TABLE.read_text())
    (ws / into / "broken.json").write_text("[]")
    result = run_gitlab_check(ws)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("hmp-perms: snapshots/broken.json")
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
    assert not (ws / "hmp-perms-junit.xml").exists() and not (ws / "hmp-perms.md").exists()


def test_gitlab_check_passes_then_fails_with_junit(
    tmp_path: Path, collected: dict[str, list[Path]]
) -> None:
    into = load(GITLAB)["collect"]["artifacts"]["paths"][0]
    ok = workspace(tmp_path / "ok", collected["gitlab"], into, TABLE.read_text())
    result = run_gitlab_check(ok)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].startswith("OK: 0 error(s)")
    assert junit_failures(ok / "hmp-perms-junit.xml")[1] == []
    failing = workspace(tmp_path / "failing", collected["gitlab"], into, without_balloon())
    result = run_gitlab_check(failing)
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines()[-1].startswith("FAILED: 2 error(s)")
    assert len(junit_failures(failing / "hmp-perms-junit.xml")[1]) == 2
    assert "| `balloon` |" in (failing / "hmp-perms.md").read_text()


def test_ensure_deps_names_each_missing_package_once(tmp_path: Path) -> None:
    """With bubblewrap missing (and no apt-get to install it), scripts/ensure-deps
    prints the one apt-get command that installs it, naming it once, and fails."""
    qemus = ("qemu-system-x86_64", "qemu-system-aarch64", "qemu-system-s390x", "qemu-system-ppc64")
    for name in qemus:
        (tmp_path / name).symlink_to(need_binary(name))
    for name in ("perl", "python3", "id"):  # the system's python3, not this venv's
        found = shutil.which(name, path=os.defpath)
        assert found is not None, name
        (tmp_path / name).symlink_to(found)
    result = subprocess.run(
        ["/bin/sh", str(ROOT / "scripts" / "ensure-deps")],
        env={"PATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1, result
    assert result.stderr.splitlines() == [
        "missing: bubblewrap",
        "run: sudo apt-get update && sudo apt-get install -y --no-install-recommends bubblewrap",
    ]

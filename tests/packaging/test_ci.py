"""The CI recipes in examples/ci/: valid for their linters, and their commands do what they say.

The recipes are for a repository that `hmp-perms init` set up, which holds no
hmp-perms sources: each job installs hmp-perms into a venv from the variable
HMP_PERMS_SPEC, and stops at its first line when it is unset. The commands are
read out of the recipes, not copied, so a test cannot drift from them:

- each collect command runs against the real QEMU binaries, then the check
  command merges their snapshots into one check, in a workspace holding what
  `init` writes and the project's records, as a runner would after
  downloading the artifacts. These use the hmp-perms installed in this venv:
  they test the commands, not the install;
- the check job's lint commands pass on a current checkout and fail on a stale
  generated file;
- each source job's commands read a QEMU tree the test writes, from a local git
  repository named by QEMU_GIT (never gitlab.com), and fail naming the command
  the table lacks, with its suggested level;
- the GitHub jobs run step by step as the runner would, installing the wheel
  built once per session (`python -m build --wheel`) through HMP_PERMS_SPEC
  (slow). The whole GitLab pipeline runs on gitlab-ci-local in
  test_gitlab_ci_local.py.
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

from tests.conftest import ROOT, copy_project, need_binary, run_ensure_deps, tool

GITHUB = ROOT / "examples" / "ci" / "github-workflow.yml"
GITLAB = ROOT / "examples" / "ci" / "gitlab-ci.yml"
BIN = Path(sys.executable).parent  # where hmp-perms is installed here
TARGETS = ("x86_64", "aarch64")
GIT = ["git", "-c", "user.name=hmp-perms tests", "-c", "user.email=tests@example.invalid"]
#: Every job's first command: an unset or empty HMP_PERMS_SPEC stops it with one line.
REQUIRE = (
    ': "${HMP_PERMS_SPEC:?set HMP_PERMS_SPEC to a pip requirement for hmp-perms'
    ' (hmp-perms==X, a VCS URL or a wheel)}"'
)
#: What the shell prints then, after its own prefix (`bash: line 1: `).
MESSAGE = (
    "HMP_PERMS_SPEC: set HMP_PERMS_SPEC to a pip requirement for hmp-perms"
    " (hmp-perms==X, a VCS URL or a wheel)"
)
INSTALL = '"$HMP_PERMS_SPEC"'  # what every pip line installs


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


def environment(path: str, **extra: str) -> dict[str, str]:
    """This process's environment without HMP_PERMS_SPEC, with `path` as PATH."""
    env = {k: v for k, v in os.environ.items() if k != "HMP_PERMS_SPEC"}
    return {**env, "PATH": path, **extra}


def without_bin(path: str) -> str:
    """PATH without this venv's bin: what a runner has before installing hmp-perms."""
    return os.pathsep.join(p for p in path.split(os.pathsep) if Path(p) != BIN)


def shell(
    script: str, cwd: Path, env: dict[str, str], strict: bool = True
) -> subprocess.CompletedProcess[str]:
    """A script as both CI systems run bash: stop at the first failing command (with
    `strict` false, as GitHub's default shell, `bash -e`, runs a step)."""
    flags = ["--noprofile", "--norc", "-eo", "pipefail"] if strict else ["-e"]
    return subprocess.run(
        ["bash", *flags, "-c", script],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )


def here(script: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`script` with this venv's hmp-perms on PATH, as the install steps leave it."""
    return shell(script, cwd, environment(f"{BIN}{os.pathsep}{os.environ['PATH']}", **env))


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


# -- the shape: HMP_PERMS_SPEC, the install, the reports ----------------------------


def test_every_job_first_requires_hmp_perms_spec() -> None:
    github = load(GITHUB)
    assert github["env"] == {"HMP_PERMS_SPEC": "${{ vars.HMP_PERMS_SPEC }}"}
    assert sorted(github["jobs"]) == ["check", "collect", "source"]
    for job in github["jobs"].values():
        assert job["steps"][0] == {"name": "Require HMP_PERMS_SPEC", "run": REQUIRE}
    gitlab = load(GITLAB)
    for name in ("collect", "check", "source"):
        assert gitlab[name]["before_script"][0] == REQUIRE
    assert "variables" not in gitlab  # no default


@pytest.mark.parametrize("value", [None, ""], ids=["unset", "empty"])
@pytest.mark.parametrize("sh", ["bash", "sh"])
def test_a_missing_spec_stops_the_job_in_one_line(
    tmp_path: Path, value: str | None, sh: str
) -> None:
    env = environment(os.environ["PATH"])
    if value is not None:
        env["HMP_PERMS_SPEC"] = value
    script = f"{REQUIRE}\necho installing"
    result = subprocess.run(
        [sh, "-e", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.endswith(f": {MESSAGE}"), line
    env["HMP_PERMS_SPEC"] = "hmp-perms==0.2.0"
    given = subprocess.run(
        [sh, "-e", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert (given.returncode, given.stdout, given.stderr) == (0, "installing\n", "")


def pip_lines(script: str) -> list[str]:
    return [line for line in script.splitlines() if re.search(r"\bpip\S*\s+install\b", line)]


def test_every_job_installs_hmp_perms_from_the_spec_into_a_venv() -> None:
    """Each job makes a venv and installs HMP_PERMS_SPEC into it, and nothing else:
    the repository holds no hmp-perms sources to install."""
    jobs = load(GITHUB)["jobs"]
    installs = {name: step(job, "Install hmp-perms")["run"] for name, job in jobs.items()}
    assert installs["collect"] == installs["check"] == installs["source"]
    assert installs["collect"].splitlines() == [
        'python3 -m venv "$RUNNER_TEMP/hmp-perms"',
        f'"$RUNNER_TEMP/hmp-perms/bin/pip" install --quiet {INSTALL}',
        'echo "$RUNNER_TEMP/hmp-perms/bin" >> "$GITHUB_PATH"',
    ]
    for name, job in jobs.items():
        order = [s.get("name") for s in job["steps"]]
        work = {"collect": "Collect", "check": "Check", "source": "Check the source"}[name]
        assert order.index("Install hmp-perms") < order.index(work)
        runs = "\n".join(s.get("run", "") for s in job["steps"])
        assert pip_lines(runs) == [f'"$RUNNER_TEMP/hmp-perms/bin/pip" install --quiet {INSTALL}']
    gitlab = load(GITLAB)
    venv = [
        "python3 -m venv .hmp-perms-venv",
        f".hmp-perms-venv/bin/pip install --quiet {INSTALL}",
        'export PATH="$PWD/.hmp-perms-venv/bin:$PATH"',
    ]
    for name in ("collect", "check", "source"):
        assert gitlab[name]["before_script"][-3:] == venv
        lines = gitlab[name]["before_script"] + gitlab[name]["script"]
        assert pip_lines("\n".join(lines)) == [venv[1]]


def test_the_check_takes_its_table_and_records_from_the_config() -> None:
    """hmp-perms.toml names the table and the records: no path is given."""
    jobs = load(GITHUB)["jobs"]
    github = [step(jobs["check"], "Check")["run"], step(jobs["source"], "Check the source")["run"]]
    gitlab = ["\n".join(load(GITLAB)[name]["script"]) for name in ("check", "source")]
    for script in github + gitlab:
        assert "hmp-perms check" in script
        assert not re.search(r"--(table|builds|config|rules)\b", script), script


def test_the_builds_are_one_list_every_job_takes() -> None:
    """The builds to check are written once in each recipe: the collect jobs run
    them all, the source jobs their targets."""
    jobs = load(GITHUB)["jobs"]
    matrix = jobs["collect"]["strategy"]["matrix"]
    assert sorted(matrix) == ["debian", "target"]  # no per-target table to keep in step
    assert jobs["source"]["strategy"]["matrix"] == {"target": matrix["target"]}
    gitlab = load(GITLAB)
    builds = gitlab[".builds"]
    assert gitlab["collect"]["parallel"]["matrix"] == [builds]
    assert gitlab["source"]["parallel"]["matrix"] == [{"TARGET": builds["TARGET"]}]
    for path in (GITHUB, GITLAB):
        text = path.read_text()
        assert all(text.count(t) == 1 for t in ("aarch64", "s390x", "trixie")), path


def test_the_check_job_lints_the_table_and_its_outputs_first() -> None:
    lines = ["hmp-perms lint", "hmp-perms generate --check"]
    check = load(GITHUB)["jobs"]["check"]
    names = [s.get("name") for s in check["steps"]]
    assert step(check, "Lint")["run"].splitlines() == lines
    assert names.index("Lint") < names.index("Check")
    assert load(GITLAB)["check"]["script"][:2] == lines


def test_the_source_job_runs_on_the_schedule_and_by_hand_only() -> None:
    """A change in QEMU's development branch fails the nightly run, never a push."""
    github = load(GITHUB)
    assert set(github["on"]) == {"push", "pull_request", "schedule", "workflow_dispatch"}
    source = github["jobs"]["source"]
    assert (
        source["if"]
        == "github.event_name == 'schedule' || github.event_name == 'workflow_dispatch'"
    )
    assert source["env"]["QEMU_GIT"] == (
        "${{ vars.QEMU_GIT || 'https://gitlab.com/qemu-project/qemu.git' }}"
    )
    assert source["env"]["QEMU_BRANCH"] == "${{ vars.QEMU_BRANCH || 'master' }}"
    gitlab = load(GITLAB)["source"]
    assert gitlab["rules"] == [
        {"if": '$CI_PIPELINE_SOURCE == "schedule" || $CI_PIPELINE_SOURCE == "web"'}
    ]
    assert gitlab["variables"] == {
        "QEMU_GIT": "https://gitlab.com/qemu-project/qemu.git",
        "QEMU_BRANCH": "master",
        "QEMU_PACKAGE": "",
    }


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


def matrix_values(script: str, values: dict[str, str]) -> str:
    done = re.sub(r"\$\{\{ matrix\.(\w+) \}\}", lambda m: values[m[1]], script)
    assert "${{" not in done, done
    return done


def github_collect(workspace: Path, target: str) -> Path:
    collect = load(GITHUB)["jobs"]["collect"]
    assert target in collect["strategy"]["matrix"]["target"]
    values = {"debian": "bookworm", "target": target}
    before = set(workspace.iterdir())
    result = here(matrix_values(step(collect, "Collect")["run"], values), workspace)
    assert result.returncode == 0, result.stderr
    (made,) = set(workspace.iterdir()) - before
    (upload,) = uses(collect, "actions/upload-artifact")
    assert made.name == matrix_values(upload["with"]["path"], values)
    return made


def gitlab_collect(workspace: Path, target: str) -> Path:
    collect = load(GITLAB)["collect"]
    (entry,) = collect["parallel"]["matrix"]
    assert target in entry["TARGET"]
    (line,) = collect["script"]
    assert "hmp-perms collect" in line
    env = {"DEBIAN": entry["DEBIAN"][0], "TARGET": target}
    before = set(workspace.rglob("*.json"))
    result = here(line, workspace, **env)
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


def adopted(folder: Path) -> Path:
    """A checkout of a repository that adopted hmp-perms with Proxmox VE's commands: what
    `hmp-perms init --vendor pve` writes (the shipped records too), and what `generate`
    then writes."""
    folder.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [BIN / "hmp-perms", "init", "--vendor", "pve"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    result = subprocess.run(
        [BIN / "hmp-perms", "generate"], cwd=folder, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return folder.resolve()


def workspace(folder: Path, snapshots: list[Path], into: str, balloon: bool = True) -> Path:
    """An adopted checkout with every job's snapshot in `into`; without `balloon` its
    table lacks that command, as after an upgrade that adds it (outputs regenerated)."""
    ws = adopted(folder)
    if not balloon:
        table = ws / "data" / "hmp-commands.yaml"
        text = table.read_text()
        changed = re.sub(r"^  balloon:\n(?:    .*\n)+", "", text, count=1, flags=re.M)
        assert changed != text
        table.write_text(changed)
        assert here("hmp-perms generate", ws).returncode == 0
    (ws / into).mkdir(parents=True, exist_ok=True)
    for snap in snapshots:
        shutil.copyfile(snap, ws / into / snap.name)
    return ws


def junit_failures(path: Path) -> tuple[int, list[str]]:
    root = ET.parse(path).getroot()
    cases = root.findall(".//testcase")
    failed = [
        f"{c.get('classname')}: {c.get('name')}" for c in cases if c.find("failure") is not None
    ]
    return len(cases), failed


def run_github_check(ws: Path) -> tuple[subprocess.CompletedProcess[str], str]:
    summary = ws.parent / f"{ws.name}-step-summary.md"
    summary.write_text("")
    script = step(load(GITHUB)["jobs"]["check"], "Check")["run"]
    result = here(script, ws, GITHUB_STEP_SUMMARY=str(summary))
    return result, summary.read_text()


def github_download_path() -> str:
    (download,) = uses(load(GITHUB)["jobs"]["check"], "actions/download-artifact")
    return str(download["with"]["path"])


def gitlab_snapshots() -> str:
    return str(load(GITLAB)["collect"]["artifacts"]["paths"][0])


def run_gitlab_check(ws: Path) -> subprocess.CompletedProcess[str]:
    return here("\n".join(load(GITLAB)["check"]["script"]), ws)


@pytest.mark.slow  # runs the recipe's commands on real QEMU: left out of the fast run
def test_github_check_passes_on_current_table(
    tmp_path: Path, collected: dict[str, list[Path]]
) -> None:
    ws = workspace(tmp_path / "checkout", collected["github"], github_download_path())
    result, summary = run_github_check(ws)
    assert result.returncode == 0, result.stderr
    (notice,) = result.stdout.splitlines()  # one notice, no error or warning annotation
    assert notice.startswith("::notice title=hmp-perms check::OK: 0 error(s)")
    assert result.stderr == ""
    tests, failed = junit_failures(ws / "hmp-perms-junit.xml")
    assert tests > 300 and failed == []
    assert summary.startswith("## HMP permission check\n\nOK: 0 error(s)")
    assert "snapshot-bookworm-x86_64.json" in summary  # each build named by its file
    assert "snapshot-bookworm-aarch64.json" in summary
    # the config's records folder holds each build's record: its baseline is itself
    for target in TARGETS:
        assert f"| `debian-7.2.22-{target}` |" in summary
    assert summary.count("| baseline: itself |") == len(TARGETS), summary


@pytest.mark.slow  # runs the recipe's commands on real QEMU: left out of the fast run
def test_github_check_fails_with_annotations_summary_and_junit(
    tmp_path: Path, collected: dict[str, list[Path]]
) -> None:
    ws = workspace(tmp_path / "checkout", collected["github"], github_download_path(), False)
    result, summary = run_github_check(ws)
    assert result.returncode == 1, result.stderr
    table = (ws / "data" / "hmp-commands.yaml").read_text()
    line = next(n for n, t in enumerate(table.splitlines(), 1) if t == "  block_job_cancel:")
    annotations = result.stdout.splitlines()
    titles = sorted(a.split("::")[1] for a in annotations)
    # The job runs at the top of the checkout: the config's paths are the repository's.
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
    ws = workspace(tmp_path / "checkout", collected["github"], github_download_path())
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
    into = gitlab_snapshots()
    ws = workspace(tmp_path / "checkout", collected["gitlab"], into)
    (ws / into / "broken.json").write_text("[]")
    result = run_gitlab_check(ws)
    assert result.returncode == 2 and result.stdout == "data/hmp-commands.yaml: ok\n"  # lint
    assert result.stderr.startswith("hmp-perms: snapshots/broken.json")
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
    assert not (ws / "hmp-perms-junit.xml").exists() and not (ws / "hmp-perms.md").exists()


@pytest.mark.slow  # runs the recipe's commands on real QEMU: left out of the fast run
def test_gitlab_check_passes_then_fails_with_junit(
    tmp_path: Path, collected: dict[str, list[Path]]
) -> None:
    into = gitlab_snapshots()
    ok = workspace(tmp_path / "ok", collected["gitlab"], into)
    result = run_gitlab_check(ok)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].startswith("OK: 0 error(s)")
    assert junit_failures(ok / "hmp-perms-junit.xml")[1] == []
    failing = workspace(tmp_path / "failing", collected["gitlab"], into, False)
    result = run_gitlab_check(failing)
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines()[-1].startswith("FAILED: 2 error(s)")
    assert len(junit_failures(failing / "hmp-perms-junit.xml")[1]) == 2
    assert "| `balloon` |" in (failing / "hmp-perms.md").read_text()


@pytest.mark.parametrize("recipe", ["github", "gitlab"])
def test_the_lint_commands_pass_then_name_a_stale_output(tmp_path: Path, recipe: str) -> None:
    if recipe == "github":
        script = step(load(GITHUB)["jobs"]["check"], "Lint")["run"]
    else:
        script = "\n".join(load(GITLAB)["check"]["script"][:2])
    ws = adopted(tmp_path / "checkout")
    result = here(script, ws)
    assert result.returncode == 0, result.stderr
    module = ws / "generated" / "hmp_perms.py"
    module.write_text(module.read_text().replace("'quit': 'Sys.Modify'", "'quit': 'none'"))
    result = here(script, ws)
    assert result.returncode == 1
    assert "+    'quit': 'Sys.Modify'," in result.stdout and "stale" in result.stderr


# -- the source jobs, on a QEMU tree the test writes ----------------------------------

#: A QEMU source tree's command files: entries as QEMU writes them, commands the table knows.
KNOWN = """\
    {
        .name       = "help|?",
        .params     = "[cmd]",
        .help       = "show the help",
    },
    {
        .name       = "info",
        .params     = "[subcommand]",
        .help       = "show various information about the system state",
    },
    {
        .name       = "quit|q",
        .params     = "",
        .help       = "quit the emulator",
    },
"""
INFO = """\
    {
        .name       = "version",
        .params     = "",
        .help       = "show the version of QEMU",
    },
"""
#: A command no table knows, as a development branch might add it.
NEW = """\
#if defined(TARGET_I386) || defined(TARGET_ARM)
    {
        .name       = "frobnicate",
        .params     = "path",
        .help       = "write the guest's frobs to a host file",
    },
#endif
"""


def qemu_repository(folder: Path, commands: str = KNOWN) -> str:
    """A git repository holding a QEMU-like tree on branch master (other files too, which
    the job does not fetch), served as gitlab.com serves QEMU's (partial clones allowed):
    its file:// URL."""
    folder.mkdir()
    (folder / "hmp-commands.hx").write_text(commands)
    (folder / "hmp-commands-info.hx").write_text(INFO)
    (folder / "VERSION").write_text("11.0.50\n")
    (folder / "README.rst").write_text("QEMU\n")
    for args in (
        ["init", "-q", "-b", "master"],
        ["add", "-A"],
        ["commit", "-qm", "qemu"],
        ["config", "uploadpack.allowFilter", "true"],
    ):
        subprocess.run([*GIT, "-C", str(folder), *args], check=True, timeout=60)
    return folder.resolve().as_uri()


def source_script(recipe: str) -> str:
    """The source job's commands, after its install."""
    if recipe == "gitlab":
        return "\n".join(load(GITLAB)["source"]["script"])
    steps = load(GITHUB)["jobs"]["source"]["steps"]
    return "\n".join(
        step({"steps": steps}, name)["run"] for name in ("Fetch QEMU's source", "Check the source")
    )


def run_source(
    recipe: str, tmp_path: Path, url: str, target: str, package: str = ""
) -> subprocess.CompletedProcess[str]:
    """The source job's commands in an adopted checkout, with its variables as a
    schedule sets them (QEMU_GIT naming the local repository)."""
    ws = adopted(tmp_path / "checkout")
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    variables = {"QEMU_GIT": url, "QEMU_BRANCH": "master", "QEMU_PACKAGE": package}
    return here(source_script(recipe), ws, TARGET=target, RUNNER_TEMP=str(temp), **variables)


@pytest.mark.parametrize("recipe", ["github", "gitlab"])
def test_the_source_job_fails_naming_a_new_command_with_its_level(
    tmp_path: Path, recipe: str
) -> None:
    url = qemu_repository(tmp_path / "qemu", KNOWN + NEW)
    result = run_source(recipe, tmp_path, url, "aarch64")
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    (at,) = [n for n, line in enumerate(lines) if "error" in line and "frobnicate" in line]
    suggestion = "suggested level: root (params name a host path ('path'))"
    if recipe == "github":  # an annotation at the table's line, suggestion included
        assert lines[at].startswith("::error file=data/hmp-commands.yaml,line=")
        assert "title=unassigned-command frobnicate (upstream-11.0.50-aarch64)" in lines[at]
        assert lines[at].endswith(suggestion)
    else:  # the text report: the finding, then what to do
        assert lines[at].startswith("  error: data/hmp-commands.yaml:")
        assert lines[at + 1].endswith(suggestion)
        assert lines[-1].startswith("FAILED: 1 error(s)")


@pytest.mark.parametrize("recipe", ["github", "gitlab"])
def test_the_source_job_passes_when_the_table_knows_every_command(
    tmp_path: Path, recipe: str
) -> None:
    url = qemu_repository(tmp_path / "qemu")
    # NEW is for x86 and arm only: s390x's build has none of it.
    result = run_source(recipe, tmp_path, url, "s390x", "pve-qemu-kvm 11.0.50-1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "pve-11.0.50-s390x" in result.stdout  # QEMU_PACKAGE names the vendor
    assert not re.search(r"^(::error|  error:)", result.stdout, re.M)


# -- the GitHub jobs, installing the wheel -------------------------------------------


def session_wheel(factory: pytest.TempPathFactory) -> Path:
    """The hmp-perms wheel, built once per test session with `python -m build --wheel`
    from a copy of the working tree (its links included: generator/shipped/ links to
    the table and templates that `init` copies)."""
    dist = factory.getbasetemp() / "hmp-perms-wheel"
    if dist.is_dir():
        (wheel,) = dist.glob("*.whl")
        return wheel
    source = copy_project(factory.mktemp("wheel-source"))  # its links too
    partial = factory.mktemp("wheel-partial")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(partial), str(source)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    partial.rename(dist)
    (wheel,) = dist.glob("*.whl")
    return wheel


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return session_wheel(tmp_path_factory)


@dataclass
class Ran:
    name: str
    result: subprocess.CompletedProcess[str]


def github_job(
    name: str, checkout: Path, runner_temp: Path, matrix: dict[str, str], spec: str | None
) -> list[Ran]:
    """The `run` steps of a job as the runner runs them: HMP_PERMS_SPEC as the
    workflow's env sets it (`spec`), each step in its shell, the folders a step
    appends to GITHUB_PATH before PATH for the next; it stops at the first failing
    step. `uses` steps are left out (the test lays out the checkout and artifacts),
    and so is installing QEMU with apt-get: this machine has it."""
    job = load(GITHUB)["jobs"][name]
    runner_temp.mkdir()
    added: list[str] = []
    ran: list[Ran] = []
    for entry in job["steps"]:
        if "run" not in entry or entry["name"] == "Install QEMU":
            continue
        github_path = runner_temp / "github-path"
        github_path.write_text("")
        path = os.pathsep.join([*reversed(added), without_bin(os.environ["PATH"])])
        env = environment(
            path,
            RUNNER_TEMP=str(runner_temp),
            GITHUB_PATH=str(github_path),
            GITHUB_STEP_SUMMARY=str(runner_temp / "step-summary.md"),
        )
        if spec is not None:
            env["HMP_PERMS_SPEC"] = spec
        script = matrix_values(entry["run"], matrix)
        result = shell(script, checkout, env, strict=entry.get("shell") == "bash")
        ran.append(Ran(entry["name"], result))
        if result.returncode != 0:
            break
        added += github_path.read_text().splitlines()
    return ran


@pytest.mark.slow
def test_github_jobs_install_the_wheel_from_the_spec_and_check(tmp_path: Path, wheel: Path) -> None:
    """Both jobs install the wheel named by HMP_PERMS_SPEC into a venv of their own
    and run what they installed: the collect job writes its snapshot, the check job
    checks it against the checkout's table and records."""
    need_binary("qemu-system-x86_64")
    assert shutil.which("hmp-perms", path=without_bin(os.environ["PATH"])) is None
    checkout = adopted(tmp_path / "collect")
    matrix = {"debian": "bookworm", "target": "x86_64"}
    ran = github_job("collect", checkout, tmp_path / "collect-temp", matrix, str(wheel))
    assert [r.name for r in ran] == ["Require HMP_PERMS_SPEC", "Install hmp-perms", "Collect"]
    assert all(r.result.returncode == 0 for r in ran), ran[-1].result.stderr[-3000:]
    assert (tmp_path / "collect-temp" / "hmp-perms" / "bin" / "hmp-perms").is_file()
    snapshot = checkout / "snapshot-bookworm-x86_64.json"
    assert snapshot.is_file()

    checkout = adopted(tmp_path / "check")
    (checkout / github_download_path()).mkdir()
    shutil.copyfile(snapshot, checkout / github_download_path() / snapshot.name)
    ran = github_job("check", checkout, tmp_path / "check-temp", {}, str(wheel))
    assert [r.name for r in ran] == ["Require HMP_PERMS_SPEC", "Install hmp-perms", "Lint", "Check"]
    check = ran[-1].result
    assert check.returncode == 0, check.stderr
    (notice,) = check.stdout.splitlines()  # a clean run: one notice, no annotation
    assert notice.startswith("::notice title=hmp-perms check::OK")
    assert junit_failures(checkout / "hmp-perms-junit.xml")[1] == []
    summary = (tmp_path / "check-temp" / "step-summary.md").read_text()
    assert "OK: 0 error(s)" in summary and "| baseline: itself |" in summary


@pytest.mark.parametrize("name", ["collect", "check"])
def test_github_job_without_the_spec_stops_at_its_first_step(tmp_path: Path, name: str) -> None:
    checkout = adopted(tmp_path / "checkout")
    matrix = {"debian": "bookworm", "target": "x86_64"}
    (ran,) = github_job(name, checkout, tmp_path / "temp", matrix, "")
    assert ran.name == "Require HMP_PERMS_SPEC" and ran.result.returncode == 1
    (line,) = ran.result.stderr.splitlines()
    assert line.endswith(f": {MESSAGE}") and ran.result.stdout == ""


def test_ensure_deps_names_each_missing_package_once(tmp_path: Path) -> None:
    """With bubblewrap missing (and no apt-get to install it), scripts/ensure-deps
    prints the one apt-get command that installs it, naming it once, and fails."""
    qemus = ("qemu-system-x86_64", "qemu-system-aarch64", "qemu-system-s390x", "qemu-system-ppc64")
    for name in qemus:
        (tmp_path / name).symlink_to(need_binary(name))
    (tmp_path / "perl").symlink_to(need_binary("perl"))
    result = run_ensure_deps(tmp_path)
    assert result.returncode == 1, result
    assert result.stderr.splitlines() == [
        "missing: bubblewrap",
        "run: sudo apt-get update && sudo apt-get install -y --no-install-recommends bubblewrap",
    ]

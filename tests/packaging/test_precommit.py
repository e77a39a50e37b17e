"""The pre-commit hooks, run by the real `pre-commit try-repo` on scratch repositories.

pre-commit installs this project from a committed copy of it into an
environment of its own, with the dependencies from PyPI.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.conftest import ROOT, copy_project, tool
from tests.packaging.test_ci import BIN

# pre-commit builds a hook environment from the package registry: the fast run
# (`pytest -m "not slow"`) leaves it out.
pytestmark = pytest.mark.slow

GIT = ["git", "-c", "user.name=hmp-perms tests", "-c", "user.email=tests@example.invalid"]
HOOKS = ROOT / ".pre-commit-hooks.yaml"
#: Where the mapped-output example of docs/ci.md puts Proxmox's module.
MAPPED = "src/PVE/API2/Qemu/HMPPerms.pm"


def git(repo: Path, *args: str) -> None:
    subprocess.run([*GIT, "-C", str(repo), *args], check=True, capture_output=True, timeout=60)


def commit_all(repo: Path) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "-m", "snapshot")


@pytest.fixture(scope="module", autouse=True)
def _stores_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """pre-commit's hook store and virtualenv's seed data go with the run's temporary
    files, not into the user's ~/.cache."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PRE_COMMIT_HOME", str(tmp_path_factory.mktemp("pre-commit-home")))
        env.setenv("VIRTUALENV_OVERRIDE_APP_DATA", str(tmp_path_factory.mktemp("app-data")))
        yield


@pytest.fixture(scope="session")
def hooks_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This project's files, as the working tree has them, committed in a fresh repository."""
    repo = copy_project(tmp_path_factory.mktemp("hooks-repo"))
    git(repo, "init", "-q")
    commit_all(repo)
    return repo


def user_repo(root: Path, change: Callable[[Path], None] | None = None) -> Path:
    """A repository holding a table, its templates and what they generate, `change`d."""
    for folder in ("data", "templates", "generated"):
        shutil.copytree(ROOT / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    if change is not None:
        change(root)
    git(root, "init", "-q")
    commit_all(root)
    return root


def break_table(root: Path) -> None:
    table = root / "data" / "hmp-commands.yaml"
    text = table.read_text()
    table.write_text(text.replace("    permission: Sys.Modify\n", "    permission: admin\n", 1))


def make_stale(root: Path) -> None:
    module = root / "generated" / "hmp_perms.py"
    module.write_text(module.read_text().replace("'quit': 'Sys.Modify'", "'quit': 'none'"))


@pytest.fixture(scope="module")
def runs(
    hooks_repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[Path, subprocess.CompletedProcess[str]]]:
    """`pre-commit try-repo` with every hook, on a good, a broken and a stale repository.

    try-repo installs the hooks into a fresh store each time (about ten
    seconds), so the three run side by side.
    """
    cases = {"good": None, "broken": break_table, "stale": make_stale}
    started = {}
    for name, change in cases.items():
        repo = user_repo(tmp_path_factory.mktemp(name), change)
        command = [
            tool("pre-commit"),
            "try-repo",
            str(hooks_repo),
            "--all-files",
            "--color",
            "never",
        ]
        started[name] = (
            repo,
            command,
            subprocess.Popen(
                command, cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            ),
        )
    done = {}
    for name, (repo, command, process) in started.items():
        out, err = process.communicate(timeout=600)
        done[name] = (repo, subprocess.CompletedProcess(command, process.returncode, out, err))
    return done


def hooks() -> dict[str, dict[str, Any]]:
    return {h["id"]: h for h in YAML(typ="safe").load(HOOKS.read_text())}


def test_hooks_file_offers_both_hooks_on_their_files() -> None:
    offered = hooks()
    assert sorted(offered) == ["hmp-perms-generate-check", "hmp-perms-lint"]
    assert all(h["language"] == "python" and h["pass_filenames"] is False for h in offered.values())
    lint = re.compile(offered["hmp-perms-lint"]["files"])
    check = re.compile(offered["hmp-perms-generate-check"]["files"])
    # Everything the commands read runs both: the recorded builds feed the scope
    # and generated/ (presence, help), the rules the suggestions.
    for path in (
        "hmp-perms.toml",
        "data/hmp-commands.yaml",
        "data/suggest-rules.yaml",
        "data/builds/debian-10.0.13-s390x.json",
        "templates/x.j2",
    ):
        assert lint.search(path) and check.search(path), path
    assert check.search("generated/hmp_perms.py") and not lint.search("generated/hmp_perms.py")
    for path in ("README.md", "data/other.yaml", "sub/hmp-perms.toml"):
        assert not lint.search(path) and not check.search(path), path


def hook_lines(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    return {
        line.split(".", 1)[0]: line.rsplit(".", 1)[-1]
        for line in result.stdout.splitlines()
        if line.startswith("hmp-perms ") and "..." in line
    }


def test_hooks_pass_on_a_good_repository(runs: dict[str, tuple[Path, Any]]) -> None:
    _, result = runs["good"]
    assert result.returncode == 0, result.stdout + result.stderr
    assert hook_lines(result) == {
        "hmp-perms lint": "Passed",
        "hmp-perms generate --check": "Passed",
    }


def test_broken_table_fails_both_hooks_with_the_tool_message(
    runs: dict[str, tuple[Path, Any]],
) -> None:
    repo, result = runs["broken"]
    assert result.returncode == 1
    assert hook_lines(result) == {
        "hmp-perms lint": "Failed",
        "hmp-perms generate --check": "Failed",
    }
    table = (repo / "data" / "hmp-commands.yaml").read_text().splitlines()
    line = table.index("    permission: admin") + 1
    problem = (
        f"data/hmp-commands.yaml:{line}: 'announce_self': permission 'admin' is not a declared"
        " level (none, Sys.Modify, root)"
    )
    assert f"\n{problem}\n" in result.stdout  # lint: the problem as is
    assert f"\nhmp-perms: {problem}\n" in result.stdout  # generate: the same line, exit 2
    assert "exit code: 2" in result.stdout and "Traceback" not in result.stdout


def test_stale_output_fails_the_generate_hook_with_a_diff(
    runs: dict[str, tuple[Path, Any]],
) -> None:
    _, result = runs["stale"]
    assert result.returncode == 1
    assert hook_lines(result) == {
        "hmp-perms lint": "Passed",
        "hmp-perms generate --check": "Failed",
    }
    assert "-    'quit': 'none',\n+    'quit': 'Sys.Modify',\n" in result.stdout
    assert "hmp-perms: stale: generated/hmp_perms.py; run: hmp-perms generate" in result.stdout


def documented_config(hooks_repo: Path) -> str:
    """docs/ci.md's .pre-commit-config.yaml for an output mapped outside generated/,
    pointing at `hooks_repo`."""
    blocks: list[str] = re.findall(
        r"```yaml\n(.*?)```", (ROOT / "docs" / "ci.md").read_text(), re.S
    )
    (block,) = [b for b in blocks if "files:" in b and "hmp-perms-generate-check" in b]
    head = subprocess.run(
        ["git", "-C", str(hooks_repo), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    return block.replace("<where you keep hmp-perms>", str(hooks_repo)).replace(
        "<tag or commit>", head
    )


def test_documented_files_keep_the_hook_s_own_and_add_the_mapped_output(
    hooks_repo: Path,
) -> None:
    (hook,) = [
        h
        for r in YAML(typ="safe").load(documented_config(hooks_repo))["repos"]
        for h in r["hooks"]
        if "files" in h
    ]
    own = hooks()[hook["id"]]["files"]
    assert hook["files"] == own.removesuffix(")$") + "|" + re.escape(MAPPED) + ")$"


def test_a_stale_mapped_output_fails_the_hook_given_its_path(
    hooks_repo: Path, tmp_path: Path
) -> None:
    """With docs/ci.md's `files:`, committing a hand-edited output that hmp-perms.toml
    maps outside generated/ runs the generate hook, which fails with the diff; with the
    hook's own `files:` it is skipped."""
    repo = tmp_path / "adopter"
    (repo / "src" / "PVE" / "API2" / "Qemu").mkdir(parents=True)
    for args in (["init"], ["generate"]):
        if args == ["generate"]:
            config = repo / "hmp-perms.toml"
            example = '# outputs = { "HMPPerms.pm" = "HMPPerms.pm" }'
            mapped = f'outputs = {{ "HMPPerms.pm" = "{MAPPED}" }}'
            config.write_text(config.read_text().replace(example, mapped, 1))
        result = subprocess.run(
            [BIN / "hmp-perms", *args], cwd=repo, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
    module = repo / MAPPED
    edited = module.read_text().replace("quit => 'Sys.Modify'", "quit => 'none'")
    assert edited != module.read_text()
    module.write_text(edited)
    git(repo, "init", "-q")
    commit_all(repo)
    run = [tool("pre-commit"), "run", "hmp-perms-generate-check", "--color", "never"]

    (repo / ".pre-commit-config.yaml").write_text(documented_config(hooks_repo))
    result = subprocess.run(
        [*run, "--files", MAPPED], cwd=repo, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert hook_lines(result) == {"hmp-perms generate --check": "Failed"}
    assert "\n-    quit => 'none'," in result.stdout
    assert "\n+    quit => 'Sys.Modify'," in result.stdout

    own = re.sub(r"\n\s*files:.*", "", documented_config(hooks_repo))
    (repo / ".pre-commit-config.yaml").write_text(own)
    result = subprocess.run(
        [*run, "--files", MAPPED], cwd=repo, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "(no files to check)Skipped" in result.stdout

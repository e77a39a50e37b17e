"""The distribution: `python -m build` makes an sdist and a wheel that works on its own.

The wheel is built from the sdist (as `build` does), installed into a fresh
venv with its dependencies from PyPI, and run in a scratch directory that
holds only a table, templates, generated files and a snapshot.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from generator import __version__
from tests.conftest import BUILDS, ROOT, copy_project

# It builds the wheel and installs it, from the package registry: the fast run
# (`pytest -m "not slow"`) leaves it out.
pytestmark = pytest.mark.slow


@dataclass
class Built:
    wheel: Path
    sdist: Path
    venv: Path


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    source = copy_project(tmp_path_factory.mktemp("source"))
    dist = tmp_path_factory.mktemp("dist")
    result = run(sys.executable, "-m", "build", "--outdir", dist, source)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    venv = tmp_path_factory.mktemp("venv")
    # A fresh venv without pip of its own (ensurepip takes seconds): this pip installs into it.
    result = run(sys.executable, "-m", "venv", "--without-pip", venv)
    assert result.returncode == 0, result.stderr
    python = venv / "bin" / "python"
    result = run(sys.executable, "-m", "pip", "--python", python, "install", "--quiet", wheel)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return Built(wheel, sdist, venv)


def test_wheel_holds_only_the_package(built: Built) -> None:
    names = zipfile.ZipFile(built.wheel).namelist()
    info = f"hmp_perms-{__version__}.dist-info/"
    assert all(n.startswith(("generator/", info)) for n in names), names
    assert "generator/py.typed" in names and "generator/cli/main.py" in names
    assert "generator/shipped/data/builds/debian-10.0.13-x86_64.json" in names  # what init copies
    assert not any("test" in n.split("/")[0] or n.endswith(".pyc") for n in names)
    top = zipfile.ZipFile(built.wheel).read(info + "top_level.txt").decode().split()
    assert top == ["generator"]


def test_wheel_metadata_claims_nothing_untrue(built: Built) -> None:
    metadata = (
        zipfile.ZipFile(built.wheel).read(f"hmp_perms-{__version__}.dist-info/METADATA").decode()
    )
    headers = metadata.split("\n\n", 1)[0].splitlines()
    assert f"Version: {__version__}" in headers
    assert any(h.startswith("Classifier: Topic :: System :: Emulators") for h in headers)
    assert any(h.startswith("Keywords: ") and "qemu" in h for h in headers)
    # The licence is MIT, its text carried in the wheel; there is no public home to name.
    assert "License-Expression: MIT" in headers and "License-File: LICENSE" in headers
    licence = zipfile.ZipFile(built.wheel).read(
        f"hmp_perms-{__version__}.dist-info/licenses/LICENSE"
    )
    assert licence == (ROOT / "LICENSE").read_bytes()
    assert not any(h.startswith(("Project-URL", "Home-page")) for h in headers)


def test_sdist_carries_what_tests_and_readme_need(built: Built) -> None:
    with tarfile.open(built.sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    for needed in (
        "README.md",
        "CHANGELOG.md",
        "LICENSE",
        "Makefile",
        "pyproject.toml",
        ".pre-commit-hooks.yaml",
        "data/hmp-commands.yaml",
        "schema/hmp-commands.schema.json",
        "templates/hmp_perms.py.j2",
        "generated/hmp-commands.md",
        "examples/ci/github-workflow.yml",
        "examples/ci/gitlab-ci.yml",
        "tests/conftest.py",
        "tests/fixtures/qemu-7.2-x86_64.help.txt",
        "tests/golden/minimal/table.yaml",
        "scripts/ensure-deps",
    ):
        assert needed in names, needed
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)


def test_installed_wheel_does_the_job_in_a_scratch_directory(built: Built, tmp_path: Path) -> None:
    for folder in ("data", "templates", "generated"):
        shutil.copytree(
            ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copyfile(BUILDS / "debian-7.2.22-x86_64.json", tmp_path / "snapshot.json")
    hmp_perms = built.venv / "bin" / "hmp-perms"

    version = run(hmp_perms, "--version", cwd=tmp_path)
    assert (version.returncode, version.stdout) == (0, f"hmp-perms {__version__}\n")
    lint = run(hmp_perms, "lint", cwd=tmp_path)
    assert (lint.returncode, lint.stdout) == (0, "data/hmp-commands.yaml: ok\n"), lint.stderr
    generate = run(hmp_perms, "generate", "--check", cwd=tmp_path)
    assert (generate.returncode, generate.stdout, generate.stderr) == (0, "", "")
    check = run(hmp_perms, "check", "--snapshot", "snapshot.json", cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.splitlines()[-1].startswith("OK: 0 error(s)")
    module = run(built.venv / "bin" / "python", "-m", "generator", "--version", cwd=tmp_path)
    assert module.stdout == version.stdout
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    init = run(hmp_perms, "init", cwd=fresh)
    assert init.returncode == 0, init.stderr
    assert (fresh / "hmp-perms.toml").read_text().startswith("# hmp-perms: where")
    lint = run(hmp_perms, "lint", cwd=fresh)
    assert (lint.returncode, lint.stdout) == (0, "data/hmp-commands.yaml: ok\n"), lint.stderr

    bad = run(hmp_perms, "check", "--snapshot", "missing.json", cwd=tmp_path)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.startswith("hmp-perms: missing.json: ") and len(bad.stderr.splitlines()) == 1

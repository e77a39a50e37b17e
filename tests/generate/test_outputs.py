"""The output folder: everything checked before anything is written."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from tests.conftest import (
    TABLE,
    TEMPLATES,
    Result,
    hmp_perms,
    one_error,
)

# -- generate: everything checked before anything is written -----------------------------


def test_generate_lists_every_problem_and_writes_nothing(
    tmp_path: Path, cli: Callable[..., Result]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "hmp_perms.py").mkdir()
    (out / "stale.txt").write_text("x")
    (out / "bin.dat").write_bytes(b"\xff\xfe\x00")
    result = cli("generate", "--out", out)
    assert (result.status, result.out) == (2, "")
    assert result.err.splitlines() == [
        f"hmp-perms: {out}/hmp_perms.py: not a regular file; cannot write an output there",
        f"hmp-perms: {out}/bin.dat: no template makes it; delete it if it is stale",
        f"hmp-perms: {out}/stale.txt: no template makes it; delete it if it is stale",
        f"hmp-perms: {out}/: nothing written",
    ]
    assert sorted(p.name for p in out.iterdir()) == ["bin.dat", "hmp_perms.py", "stale.txt"]
    check = cli("generate", "--check", "--out", tmp_path / "fresh")
    assert check.status == 1
    shutil.rmtree(out / "hmp_perms.py")
    (out / "hmp_perms.py").write_bytes(b"\xff not utf-8\n")
    check = cli("generate", "--check", "--out", out)
    assert check.status == 1 and "-\\xff not utf-8\n" in check.out
    assert f"# {out}/bin.dat: no template makes it" in check.out


def test_generate_out_at_a_file(tmp_path: Path, cli: Callable[..., Result]) -> None:
    plain = tmp_path / "file"
    plain.write_text("x")
    message = f"hmp-perms: {plain}: not a directory (--out names the output directory)"
    one_error(cli("generate", "--out", plain), message)
    one_error(cli("generate", "--check", "--out", plain), message)


def test_non_utf8_table_path(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    table = os.fsencode(folder) + b"/t\xff.yaml"
    shutil.copyfile(TABLE, table)
    lint = hmp_perms("lint", "--table", table)
    assert (
        lint.returncode == 0 and lint.stdout == b"" + os.fsencode(folder) + b"/t\\udcff.yaml: ok\n"
    )
    out = tmp_path / "out"
    generate = hmp_perms("generate", "--table", table, "--out", out, "--templates", TEMPLATES)
    assert generate.returncode == 0, generate.stderr
    assert "# Table: data/t\\xff.yaml\n" in (out / "hmp_perms.py").read_text()


def test_generate_makes_the_out_folder_but_no_tree_above_it(
    tmp_path: Path, cli: Callable[..., Result]
) -> None:
    """A typo in --out must not quietly create a tree of folders."""
    typo = tmp_path / "no" / "such"
    one_error(cli("generate", "--out", typo), f"{typo}: cannot create the directory")
    assert not (tmp_path / "no").exists()
    assert cli("generate", "--out", tmp_path / "new").status == 0

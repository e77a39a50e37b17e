"""hmp-perms.toml: found from where the user stands, paths relative to it, options over it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import BUILDS, TABLE, Result, need_root, one_error
from tests.proxmox_levels import PROXMOX_LEVELS

OLD = BUILDS / "debian-7.2.22-x86_64.json"
PVE = """\
table = "hmp/hmp-commands.yaml"
builds = "hmp/builds"

[generate]
outputs = { "HMPPerms.pm" = "src/PVE/API2/Qemu/HMPPerms.pm", "hmp-perms-description.txt" = "hmp/description.txt" }

[scope]
patterns = ["debian-10.0.*-x86_64", "debian-10.0.*-aarch64"]
vendors = ["pve"]
"""


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A product's repository: table and records under hmp/, sources under src/."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "hmp").mkdir()
    shutil.copytree(BUILDS, tmp_path / "hmp" / "builds")
    shutil.copy(TABLE, tmp_path / "hmp")
    shutil.copy(TABLE.parent / "suggest-rules.yaml", tmp_path / "hmp")
    (tmp_path / "src" / "PVE" / "API2" / "Qemu").mkdir(parents=True)
    (tmp_path / "hmp-perms.toml").write_text(PVE)
    monkeypatch.chdir(tmp_path / "src")
    yield tmp_path


def proxmox_description() -> str:
    """What Proxmox VE's own HMPPerms::generate_description() returns: its levels, by
    its algorithm (sorted names; none first, root last, other levels between)."""
    by_level: dict[str, list[str]] = {}
    for name in sorted(PROXMOX_LEVELS):
        by_level.setdefault(PROXMOX_LEVELS[name], []).append(name)
    none, root = by_level.pop("none"), by_level.pop("root")
    text = f"The following commands do not require any additional privilege: {', '.join(none)}\n\n"
    for level in sorted(by_level):
        text += f"The following commands require '{level}': {', '.join(by_level[level])}\n\n"
    return text + f"The following commands are root-only: {', '.join(root)}\n"


def test_a_product_generates_its_two_outputs_in_scope(
    repo: Path, cli: Callable[..., Result], perl: str
) -> None:
    """As a drop-in, the module changed Proxmox's published description by four names
    its QEMU does not have; scoped, it is Proxmox's description byte for byte."""
    before = {p for p in repo.rglob("*") if p.is_file()}
    result = cli("generate")
    assert result.status == 0, result.err
    module = repo / "src" / "PVE" / "API2" / "Qemu" / "HMPPerms.pm"
    description = repo / "hmp" / "description.txt"
    assert {p for p in repo.rglob("*") if p.is_file()} - before == {module, description}
    assert cli("generate", "--check").status == 0
    assert description.read_text() == proxmox_description()
    printed = subprocess.run(
        [
            perl,
            "-e",
            f'require "{module}"; print PVE::API2::Qemu::HMPPerms::generate_description()',
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert printed == proxmox_description()


def test_without_a_scope_every_entry_is_listed(repo: Path, cli: Callable[..., Result]) -> None:
    config = repo / "hmp-perms.toml"
    config.write_text(PVE.split("[scope]")[0])
    assert cli("generate").status == 0
    text = (repo / "hmp" / "description.txt").read_text()
    for name in ("singlestep", "migration_mode", "dump-skeys", "trace-file", "clear"):
        assert f" {name}," in text or f" {name}\n" in text, name


def test_out_puts_every_output_in_one_folder(repo: Path, cli: Callable[..., Result]) -> None:
    out = repo / "out"
    assert cli("generate", "--out", out).status == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["HMPPerms.pm", "hmp-commands.md", "hmp-perms-description.txt", "hmp_perms.py"]
    )


def test_options_override_the_config(repo: Path, cli: Callable[..., Result]) -> None:
    other = repo / "elsewhere"
    other.mkdir()
    for name in ("debian-10.0.13-x86_64.json", "debian-10.0.13-aarch64.json"):  # the scope's
        shutil.copy(BUILDS / name, other)
    result = cli("check", "--snapshot", OLD, "--builds", other, "--format", "json")
    (build,) = json.loads(result.out)["builds"]
    assert build["baseline"] is None  # the folder given, not hmp/builds
    assert (
        json.loads(cli("check", "--snapshot", OLD, "--format", "json").out)["builds"][0]["baseline"]
        == "debian-7.2.22-x86_64"
    )


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('tabel = "t.yaml"\n', 1, "tabel: unknown key (known: table, builds, rules)"),
        ("table = 5\n", 1, "table: must be a path"),
        ('\n[generate]\nout = "x"\n', 3, "[generate] out: unknown key (known: templates, outputs)"),
        ('[scope]\npatterns = "debian-*"\n', 2, "[scope] patterns: must be a list of strings"),
        ('[check]\nseverity = { "x" = 1 }\n', 2, "[check] severity: must be a table of strings"),
        ("[check]\nignore = [\n", 2, "not TOML"),
        # an array of tables was put at line 1, above its header
        ('table = "t.yaml"\n[[generate]]\n', 2, "[generate] must be a table"),
    ],
)
def test_a_bad_config_is_one_line_naming_the_key(
    text: str, line: int, message: str, tmp_path: Path, cli: Callable[..., Result]
) -> None:
    config = tmp_path / "hmp-perms.toml"
    config.write_text(text)
    result = cli("lint", "--config", config)
    assert (result.status, result.out) == (2, "")
    assert result.err.startswith(f"hmp-perms: {config}:{line}: {message}"), result.err
    assert len(result.err.splitlines()) == 1


@pytest.mark.parametrize(
    ("check", "refused"),
    [
        ('severity = { "unassigned-command" = "warning" }', "unassigned-command is an error"),
        ('ignore = ["alias-mismatch"]', "alias-mismatch is an error and cannot be ignored"),
        ('ignore = ["no-such-kind"]', "unknown finding kind 'no-such-kind'"),
    ],
)
def test_check_settings_fail_closed(
    check: str, refused: str, repo: Path, cli: Callable[..., Result]
) -> None:
    (repo / "hmp-perms.toml").write_text(PVE + "\n[check]\n" + check + "\n")
    result = cli("check", "--snapshot", OLD)
    assert (result.status, result.out) == (2, "")
    assert refused in result.err and str(repo / "hmp-perms.toml") in result.err


def test_check_settings_ignore_and_raise(repo: Path, cli: Callable[..., Result]) -> None:
    """11.1.3 against a 10.0.13 baseline only: its changed help is left out, its new
    commands are warnings (and so fail under --strict)."""
    builds = repo / "hmp" / "builds"
    for record in builds.glob("debian-11.1.3-*.json"):
        record.unlink()
    check = '[check]\nignore = ["changed-help"]\nseverity = { "added-command" = "warning" }\n'
    (repo / "hmp-perms.toml").write_text(PVE + "\n" + check)
    result = cli("check", "--snapshot", BUILDS / "debian-11.1.3-x86_64.json", "--format", "json")
    kinds = {(f["kind"], f["severity"]) for f in json.loads(result.out)["findings"]}
    assert ("added-command", "warning") in kinds
    assert not any(kind == "changed-help" for kind, _ in kinds)
    listed = {k["id"]: k["severity"] for k in json.loads(cli("kinds", "--format", "json").out)}
    assert listed["added-command"] == "warning"


@pytest.mark.parametrize("command", ["check", "generate", "sync"])
def test_a_missing_records_folder_is_an_error(
    command: str, repo: Path, cli: Callable[..., Result]
) -> None:
    """`check --builds /nonexistent` said 'no recorded build' and exited 0: a typo
    switched drift detection off. And sync --write made the folder wherever it ran."""
    missing = repo / "typo"
    args = {
        "check": ["--snapshot", OLD],
        "generate": ["--check"],
        "sync": ["--snapshot", OLD, "--write"],
    }
    result = cli(command, *args[command], "--builds", missing)
    assert (result.status, result.out) == (2, "")
    assert result.err == (
        f"hmp-perms: {missing}: no such folder of recorded builds (`hmp-perms init` makes one)\n"
    )
    assert not missing.exists()


@pytest.mark.parametrize(
    ("target", "refused"),
    [
        # generate replaced the table with the Perl module, and exited 0
        ("hmp/hmp-commands.yaml", "is the table, an input of this run"),
        ("hmp/suggest-rules.yaml", "is the suggestion rules, an input of this run"),
        ("hmp-perms.toml", "is the config file, an input of this run"),
        ("hmp/builds/debian-7.2.22-x86_64.json", "is the records folder, an input"),
        # these wrote outside the tree
        ("../escaped.pm", "outside this file's folder"),
        ("/nonexistent/escaped.pm", "an absolute path"),
        ("link.pm", "outside this file's folder"),
        ("src", "which is a folder"),
    ],
)
def test_an_output_that_is_an_input_or_outside_the_tree_is_refused(
    target: str, refused: str, repo: Path, cli: Callable[..., Result]
) -> None:
    (repo / "link.pm").symlink_to(repo.parent / "outside.pm")
    config = repo / "hmp-perms.toml"
    config.write_text(PVE.replace('"src/PVE/API2/Qemu/HMPPerms.pm"', json.dumps(target)))
    before = {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()}
    result = cli("generate")
    assert (result.status, result.out) == (2, "")
    if "an input" not in refused:  # an input is refused whichever way it was given
        assert result.err.startswith(f"hmp-perms: {config}:5: [generate] outputs: 'HMPPerms.pm'")
    assert refused in result.err and len(result.err.splitlines()) == 1, result.err
    assert {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()} == before
    assert not (repo.parent / "outside.pm").exists() and not (repo.parent / "escaped.pm").exists()


def test_two_outputs_to_one_file_are_refused(repo: Path, cli: Callable[..., Result]) -> None:
    config = repo / "hmp-perms.toml"
    config.write_text(
        PVE.replace('"hmp/description.txt"', '"src/PVE/../PVE/API2/Qemu/HMPPerms.pm"')
    )
    result = cli("generate")
    assert result.status == 2
    assert result.err == (
        f"hmp-perms: {config}:5: [generate] outputs: 'hmp-perms-description.txt' goes to"
        " 'src/PVE/../PVE/API2/Qemu/HMPPerms.pm', where 'HMPPerms.pm' goes too\n"
    )


def test_a_config_above_the_repository_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Result]
) -> None:
    """The search stops at the first folder holding .git (a folder, or a worktree's file):
    a config in a folder above the clone is someone else's."""
    (tmp_path / "hmp-perms.toml").write_text('table = "planted.yaml"\n')
    clone = tmp_path / "clone"
    (clone / "data").mkdir(parents=True)
    shutil.copy(TABLE, clone / "data")
    (clone / ".git").write_text("gitdir: elsewhere\n")
    monkeypatch.chdir(clone / "data")
    assert cli("lint", "--table", "hmp-commands.yaml").status == 0
    monkeypatch.chdir(clone)
    assert cli("lint").out == "data/hmp-commands.yaml: ok\n"
    (clone / "hmp-perms.toml").write_text('table = "data/hmp-commands.yaml"\n')
    monkeypatch.chdir(clone / "data")
    assert cli("lint").out == "hmp-commands.yaml: ok\n"  # the clone's own config


def test_outside_a_repository_only_the_current_folder_is_searched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Result]
) -> None:
    (tmp_path / "hmp-perms.toml").write_text('table = "planted.yaml"\n')
    (tmp_path / "work" / "data").mkdir(parents=True)
    shutil.copy(TABLE, tmp_path / "work" / "data")
    monkeypatch.chdir(tmp_path / "work")
    assert cli("lint").out == "data/hmp-commands.yaml: ok\n"
    monkeypatch.chdir(tmp_path)
    one_error(cli("lint"), "planted.yaml")


def test_a_config_another_user_owns_is_refused(repo: Path, cli: Callable[..., Result]) -> None:
    """As git refuses a repository another user owns: its templates would run as you."""
    need_root("giving a file to another user needs root")
    os.chown(repo / "hmp-perms.toml", 4321, -1)
    one_error(cli("lint"), "hmp-perms.toml: owned by another user (uid 4321)")
    assert cli("lint", "--config", repo / "hmp-perms.toml").status == 0  # named: trusted
    os.chown(repo / "hmp-perms.toml", 0, -1)  # root's: read
    assert cli("lint").status == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("table = " + "[" * 500 + "]" * 500 + "\n", "hmp-perms.toml:1: not TOML: nested too deep"),
        ('table = "a\\u0000b"\n', "hmp-perms.toml:1: table: must be a path (not empty, no NUL)"),
        (
            '[generate]\noutputs = { "x" = "\\u0000" }\n',
            "hmp-perms.toml:2: [generate] outputs: must be a table of paths (not empty, no NUL)",
        ),
    ],
)
def test_a_config_that_is_no_config_is_one_line(
    repo: Path, cli: Callable[..., Result], text: str, message: str
) -> None:
    (repo / "hmp-perms.toml").write_text(text)
    one_error(cli("lint"), message)


@pytest.mark.parametrize(
    ("option", "refused"),
    [
        (("--table", "../src/PVE/API2/Qemu/HMPPerms.pm"), "is the table"),
        (("--out", "../hmp/builds"), "is the records folder"),
        (("--out", "../hmp", "--table", "../hmp/hmp_perms.py"), "is the table"),
    ],
)
def test_an_output_is_never_an_input_however_either_was_given(
    repo: Path, cli: Callable[..., Result], option: tuple[str, ...], refused: str
) -> None:
    module = repo / "src" / "PVE" / "API2" / "Qemu" / "HMPPerms.pm"
    shutil.copy(TABLE, module)  # a table where the config maps an output
    shutil.copy(TABLE, repo / "hmp" / "hmp_perms.py")
    before = {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()}
    result = cli("generate", *option)
    one_error(result, refused, "nothing written")
    assert {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize("command", [("lint",), ("check", "--snapshot", OLD), ("generate",)])
def test_a_scope_that_names_no_recorded_build_or_vendor_is_an_error(
    repo: Path, cli: Callable[..., Result], command: tuple[str, ...]
) -> None:
    """A typo in [scope] would leave the outputs knowing only a few commands: refused."""
    config = repo / "hmp-perms.toml"
    config.write_text(PVE.replace("10.0.*-x86_64", "10.0.*-x86-64").replace('"pve"', '"pvee"'))
    before = {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()}
    result = cli(*command)
    assert (result.status, result.out) == (2, ""), result
    assert result.err.splitlines() == [
        f"hmp-perms: {config}:8: [scope] patterns: 'debian-10.0.*-x86-64' matches no"
        f" recorded build in {repo}/hmp/builds/",
        f"hmp-perms: {config}:9: [scope] vendors: 'pvee' is not a vendor the table declares"
        " (it declares pve)",
    ]
    assert {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()} == before


def test_generate_names_the_commands_a_newer_recorded_build_has_and_the_scope_leaves_out(
    repo: Path, cli: Callable[..., Result]
) -> None:
    """After an upgrade is recorded and decided, a scope still naming the old release
    leaves the new commands out of every output: generate says so, and still succeeds."""
    result = cli("generate")
    assert result.status == 0, result.err
    (line,) = result.err.splitlines()
    assert line.startswith("hmp-perms: the scope leaves out clear, ")
    assert "widen [scope] patterns" in line
    module = (repo / "src" / "PVE" / "API2" / "Qemu" / "HMPPerms.pm").read_text()
    assert "clear =>" not in module
    config = repo / "hmp-perms.toml"
    config.write_text(PVE.replace("debian-10.0.*", "debian-11.1.*"))
    widened = cli("generate")
    assert (widened.status, widened.err) == (0, "")
    assert "clear =>" in (repo / "src" / "PVE" / "API2" / "Qemu" / "HMPPerms.pm").read_text()


@pytest.mark.parametrize("form", ["text", "json", "junit", "github", "markdown"])
def test_check_of_a_build_outside_the_scope_names_the_pattern_that_takes_it_in(
    repo: Path, cli: Callable[..., Result], form: str
) -> None:
    result = cli("check", "--snapshot", BUILDS / "debian-11.1.3-x86_64.json", "--format", form)
    assert result.status == 0, result.err
    assert "outside the scope" in result.out
    pattern = "debian-11.1.*-x86_64".replace("*", "\\*" if form == "markdown" else "*")
    assert pattern in result.out
    inside = cli("check", "--snapshot", BUILDS / "debian-10.0.13-x86_64.json", "--format", form)
    assert "outside the scope" not in inside.out

"""The table: the committed data, every loader rule, lint, round trip, import-perl."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from generator.table.loader import lint_table, load_table
from tests.conftest import (
    BUILDS,
    TABLE,
    Result,
    one_error,
)
from tests.generate.test_render import load_module
from tests.proxmox_levels import PROXMOX_LEVELS

SNAPSHOT = BUILDS / "debian-7.2.22-x86_64.json"

GOOD = """\
schema: 2
levels:
  none: {}
  Sys.Modify: {}
  root: {}
default: root
vendors:
  pve: {package: '^pve-qemu-kvm'}
commands:
  cont:
    permission: Sys.Modify
    aliases: [c]
    rationale: resumes the guest
  chardev-add:
    permission: root
    rationale: opens host files
  chardev-remove:
    permission: root
    follows: chardev-add
    rationale: pairs with chardev-add
  singlestep:
    permission: Sys.Modify
    rationale: slows the guest
  backup:
    permission: root
    vendor: pve
    deprecated: {since: '10.2'}
    rationale: writes files
  info:
    permission: none
    rationale: reads state
info:
  usbhost:
  via:
    rationale: guest device state
"""


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "table.yaml"
    path.write_text(text)
    return str(path)


def test_committed_table_is_clean() -> None:
    assert lint_table(str(TABLE)) == []


def test_every_proxmox_name_keeps_its_level() -> None:
    table = load_table(str(TABLE))
    levels = {name: table.level_of(e) for e in table.commands.values() for name in e.names}
    assert len(PROXMOX_LEVELS) == 119
    assert {name: levels.get(name) for name in PROXMOX_LEVELS} == PROXMOX_LEVELS


def test_proxmox_aliases_are_aliases_not_entries() -> None:
    table = load_table(str(TABLE))
    for alias, command in {
        "?": "help",
        "c": "cont",
        "p": "print",
        "q": "quit",
        "s": "stop",
    }.items():
        assert alias not in table.commands
        assert alias in table.commands[command].aliases


def test_every_command_has_a_rationale_in_its_own_words() -> None:
    table = load_table(str(TABLE))
    for entry in table.commands.values():
        assert len(entry.rationale.split()) >= 3, entry.name
        assert "root-only:" not in entry.rationale, entry.name


def test_good_table_loads_with_positions(tmp_path: Path) -> None:
    table = load_table(write(tmp_path, GOOD))
    cont = table.commands["cont"]
    assert (cont.where.line, cont.aliases, cont.permission) == (10, ("c",), "Sys.Modify")
    assert str(table.commands["backup"].deprecated) == "10.2.0"
    assert table.level_of(table.commands["backup"]) == "root"
    assert table.info["usbhost"].permission is None
    assert table.default == "root" and table.levels == ("none", "Sys.Modify", "root")


def test_plain_yaml_values_stay_strings(tmp_path: Path) -> None:
    """No YAML 1.1 or 1.2 type guessing: `since: 9.10` is release 9.10, not the float 9.1."""
    text = GOOD.replace("since: '10.2'", "since: 9.10").replace(
        "rationale: writes files", "rationale: 1_000"
    )
    table = load_table(write(tmp_path, text.replace("  none: {}", "  none: {description: off}")))
    backup = table.commands["backup"]
    assert (str(backup.deprecated), backup.rationale) == ("9.10.0", "1_000")
    assert table.descriptions == {"none": "off"}


def swap(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new, 1)


BAD = [
    (
        "duplicate top key",
        GOOD + "default: none\n",
        36,
        "duplicate key 'default' (first on line 6)",
    ),
    (
        "duplicate command",
        swap(
            "  chardev-add:\n", "  cont:\n    permission: root\n    rationale: x\n  chardev-add:\n"
        ),
        14,
        "duplicate key 'cont' (first on line 10)",
    ),
    (
        "duplicate nested key",
        swap("    rationale: resumes the guest\n", "    rationale: a\n    rationale: b\n"),
        14,
        "duplicate key 'rationale' (first on line 13)",
    ),
    ("unknown key", swap("    aliases: [c]\n", "    alias: [c]\n"), 12, "unknown key 'alias'"),
    ("unknown top key", "extra: 1\n" + GOOD, 1, "unknown key 'extra'"),
    (
        "undeclared level",
        swap("permission: Sys.Modify\n    aliases", "permission: admin\n    aliases"),
        11,
        "permission 'admin' is not a declared level",
    ),
    (
        "missing rationale",
        swap("    rationale: resumes the guest\n", ""),
        10,
        "'cont' has no rationale",
    ),
    (
        "empty rationale",
        swap("rationale: resumes the guest", "rationale: '  '"),
        10,
        "'cont' has no rationale",
    ),
    (
        "missing permission",
        swap("    permission: Sys.Modify\n    aliases", "    aliases"),
        10,
        "'cont' has no permission",
    ),
    (
        "bad name",
        swap("  chardev-add:\n", "  'chardev add':\n"),
        14,
        "'chardev add' is not a QEMU command name",
    ),
    (
        "bad alias",
        swap("aliases: [c]", "aliases: ['c;x']"),
        12,
        "alias 'c;x' is not a QEMU command name",
    ),
    (
        "alias collides with a name",
        swap("aliases: [c]", "aliases: [singlestep]"),
        10,
        "alias 'singlestep' of 'cont' collides with command",
    ),
    (
        "follows a missing command",
        swap("follows: chardev-add", "follows: nosuch"),
        17,
        "'chardev-remove' follows 'nosuch', which is not in the table",
    ),
    (
        "follows another level",
        swap("follows: chardev-add", "follows: cont"),
        17,
        "'chardev-remove' follows 'cont' but is at 'root', not 'Sys.Modify'",
    ),
    (
        "a fact in the table",
        swap(
            "    rationale: slows the guest\n", "    rationale: slows the guest\n    since: '7.0'\n"
        ),
        24,
        "unknown key 'since' (QEMU's facts come from recorded builds",
    ),
    (
        "schema 1",
        swap("schema: 2", "schema: 1"),
        1,
        "schema '1' is not one this version reads (2)",
    ),
    ("unknown vendor", swap("vendor: pve", "vendor: rhel"), 26, "unknown vendor 'rhel'"),
    (
        "unknown info policy",
        swap("default: root", "default: root\ninfo-subcommands: always"),
        7,
        "info-subcommands: 'always' is not 'decide' or 'inherit'",
    ),
    (
        "borrowed not a boolean",
        swap("slows the guest\n", "slows the guest\n    borrowed: yes\n"),
        24,
        "borrowed is 'true' or 'false'",
    ),
    (
        "unknown schema",
        swap("schema: 2", "schema: 3"),
        1,
        "schema '3' is not one this version reads (2)",
    ),
    ("not YAML", swap("  cont:\n", "  cont: [\n"), 12, "invalid YAML"),
    ("not a mapping", "- a\n- b\n", 1, "must be a mapping at the top"),
    (
        "default not most privileged",
        swap("default: root", "default: none"),
        6,
        "default 'none' must be the most privileged level",
    ),
    (
        "info override without rationale",
        swap("  usbhost:\n", "  usbhost:\n    permission: root\n"),
        33,
        "info 'usbhost' has no rationale",
    ),
    (
        "todo left by sync",
        swap("    rationale: writes files\n", "    rationale: writes files\n    todo: choose\n"),
        24,
        "'backup': choose",
    ),
    (
        "level description not text",
        swap("  root: {}", "  root: {description: [a, b]}"),
        5,
        "level 'root': description must be a single value",
    ),
    (
        "bad vendor regex",
        swap("package: '^pve-qemu-kvm'", "package: '(['"),
        8,
        "package is not a regex",
    ),
]


def test_level_descriptions_are_kept(tmp_path: Path) -> None:
    text = swap("  none: {}", "  none: {description: anyone}").replace(
        "  root: {}", "  root: {description: }"
    )
    assert load_table(write(tmp_path, text)).descriptions == {"none": "anyone"}


@pytest.mark.parametrize(("text", "line", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_each_bad_table_is_refused_at_the_line_to_edit(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = write(tmp_path, text)
    problems = lint_table(path)
    assert problems, "the loader accepted a bad table"
    assert any(p.where and p.where.line == line and message in p.message for p in problems), [
        str(p) for p in problems
    ]
    assert all(str(p).startswith(f"{path}:") for p in problems)


def test_lint_prints_every_problem(tmp_path: Path, cli: Callable[..., Result]) -> None:
    text = swap("rationale: resumes the guest", "rationale: ''").replace("vendor: pve", "vendor: x")
    path = write(tmp_path, text)
    result = cli("lint", "--table", path)
    assert result.status == 1
    assert result.out.splitlines() == [
        f"{path}:10: 'cont' has no rationale: say why it needs its level",
        f"{path}:26: 'backup': unknown vendor 'x' (pve)",
    ]


def test_lint_clean_table(tmp_path: Path, cli: Callable[..., Result]) -> None:
    result = cli("lint", "--table", write(tmp_path, GOOD))
    assert (result.status, result.out.endswith(": ok\n")) == (0, True)


@pytest.mark.parametrize("command", ["check", "generate", "sync"])
def test_bad_table_is_one_line_per_problem_and_exit_2(
    tmp_path: Path, cli: Callable[..., Result], command: str
) -> None:
    path = write(tmp_path, swap("  cont:\n", "  cont: [\n"))
    args = ["--snapshot", str(BUILDS / "debian-7.2.22-x86_64.json")]
    result = cli(command, "--table", path, *([] if command == "generate" else args))
    assert result.status == 2
    assert result.out == ""
    assert (
        result.err.startswith(f"hmp-perms: {path}:11: invalid YAML") or "invalid YAML" in result.err
    )
    assert "Traceback" not in result.err


def test_missing_table_file(tmp_path: Path, cli: Callable[..., Result]) -> None:
    path = tmp_path / "none.yaml"
    result = cli("lint", "--table", path)
    assert (result.status, result.out) == (2, "")
    assert result.err == f"hmp-perms: {path}: cannot read: No such file or directory\n"


def test_pure_python_composer_gives_the_same_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without ruamel.yaml.clib the loader falls back to the pure-Python composer."""

    fast = load_table(str(TABLE))
    monkeypatch.setitem(sys.modules, "ruamel.yaml.cyaml", None)
    slow = load_table(str(TABLE))
    assert slow == fast
    assert lint_table(str(TABLE)) == []


# -- the table: control characters, deep nesting, one rule set ---------------------------


@pytest.mark.parametrize(("char", "code"), [("\x00", "0000"), ("\x1b", "001B"), ("\ufffe", "FFFE")])
def test_control_character_in_the_table(
    table_copy: Path, cli: Callable[..., Result], char: str, code: str
) -> None:
    lines = table_copy.read_text().splitlines(keepends=True)
    lines[40] = lines[40].rstrip("\n") + char + "\n"
    table_copy.write_text("".join(lines))
    message = f"{table_copy}:41: control character U+{code}"
    lint = cli("lint", "--table", table_copy)
    assert (lint.status, lint.out) == (1, message + "\n")
    one_error(cli("check", "--table", table_copy, "--snapshot", SNAPSHOT), message)
    one_error(cli("generate", "--table", table_copy, "--out", table_copy.parent), message)


@pytest.mark.parametrize(
    ("escape", "code"),
    [("\\e[31m", "001B"), ("\\x85", "0085"), ("\\r", "000D"), ("\\u202e", "202E")],
)
def test_a_quoted_escape_may_not_bring_in_a_control_character(
    escape: str, code: str, tmp_path: Path, cli: Callable[..., Result]
) -> None:
    path = write(tmp_path, swap("rationale: resumes the guest", f'rationale: "resumes{escape}"'))
    lint = cli("lint", "--table", path)
    assert lint.status == 1
    assert f"{path}:13: 'cont': rationale holds the control character U+{code}\n" in lint.out
    assert all(c.isprintable() for c in lint.out.replace("\n", ""))


def test_a_quoted_escape_may_bring_in_a_tab_or_a_line_break(tmp_path: Path) -> None:
    path = write(
        tmp_path, swap("rationale: resumes the guest", 'rationale: "resumes\\tthe\\nguest"')
    )
    assert load_table(path).commands["cont"].rationale == "resumes\tthe\nguest"


def test_a_lone_cr_in_the_table_is_refused_and_crlf_read(
    tmp_path: Path, cli: Callable[..., Result]
) -> None:
    """A CR alone would be a line break to YAML and move every line number after it."""
    path = write(tmp_path, swap("rationale: resumes the guest", "rationale: resumes\rthe guest"))
    lint = cli("lint", "--table", path)
    assert (lint.status, lint.out) == (1, f"{path}:13: control character U+000D\n")
    cont = load_table(write(tmp_path, GOOD.replace("\n", "\r\n"))).commands["cont"]
    assert (cont.where.line, cont.rationale) == (10, "resumes the guest")


ROLES = """\
schema: 2
levels:
  viewer: {}
  operator: {}
  admin: {}
default: admin
commands:
  info:
    permission: viewer
    rationale: Read-only queries.
  stop:
    permission: operator
    rationale: Pauses the guest.
  quit:
    permission: admin
    rationale: Ends the VM.
"""


def test_levels_are_any_names_ordered_least_to_most_privileged(
    tmp_path: Path, cli: Callable[..., Result]
) -> None:
    """A web API's own roles: the description takes the least and the most privileged
    level by position, and what the table does not know needs the last one."""
    table = tmp_path / "roles.yaml"
    table.write_text(ROLES)
    assert cli("lint", "--table", table).status == 0
    out = tmp_path / "out"
    out.mkdir()
    config = tmp_path / "hmp-perms.toml"
    (tmp_path / "b").mkdir()
    config.write_text(
        'table = "roles.yaml"\nbuilds = "b"\n'
        '[generate]\noutputs = { "hmp_perms.py" = "out/hmp_perms.py" }\n'
    )
    result = cli("generate", "--config", config)
    assert result.status == 0, result.err
    assert [p.name for p in out.iterdir()] == ["hmp_perms.py"]
    module = load_module(out / "hmp_perms.py", "roles")
    assert module.required_permission("nosuch") == "admin"
    assert module.required_permission("info") == "viewer"
    assert module.DESCRIPTION == (
        "The following commands do not require any additional privilege: info\n\n"
        "The following commands require 'operator': stop\n\n"
        "The following commands are admin-only: quit\n"
    )
    unordered = ROLES.replace("default: admin", "default: viewer")
    table.write_text(unordered)
    lint = cli("lint", "--table", table)
    assert lint.status == 1
    assert f"{table}:6: default 'viewer' must be the most privileged level, 'admin'" in lint.out


@pytest.mark.parametrize("schema", ["schema: 0x1\n", "schema: 1.0\n", "schema: [1]\n", ""])
def test_a_table_of_another_schema_is_refused_at_its_line(
    schema: str, tmp_path: Path, cli: Callable[..., Result]
) -> None:
    table = tmp_path / "t.yaml"
    table.write_text(schema + "levels:\n  none: {}\n  root: {}\ndefault: root\ncommands: {}\n")
    result = cli("lint", "--table", table)
    assert result.status != 0
    assert f"{table}:1: " in result.out + result.err


def test_a_misspelt_level_is_said_at_its_own_line(
    tmp_path: Path, cli: Callable[..., Result]
) -> None:
    """A typo under `levels:` was reported only at each of the 69 entries using it."""
    text = TABLE.read_text().replace("  Sys.Modify:", "  Sys.Modfy:", 1)
    table = tmp_path / "t.yaml"
    table.write_text(text)
    line = (
        text.splitlines().index(next(x for x in text.splitlines() if x.startswith("  Sys.Modfy:")))
        + 1
    )
    result = cli("lint", "--table", table)
    assert result.status == 1
    first = result.out.splitlines()[0]
    used = sum(1 for x in text.splitlines() if x.strip() == "permission: Sys.Modify")
    assert first == (
        f"{table}:{line}: level 'Sys.Modfy' is used by no entry, while {used} use"
        " 'Sys.Modify', which is not declared: a misspelling?"
    )

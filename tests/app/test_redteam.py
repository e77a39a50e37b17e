"""Hostile and careless inputs found in a review; each test is a break that was fixed."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from generator.table.loader import load_table
from tests.check.test_compare import drop_entry
from tests.conftest import BUILDS, FIXTURES, ROOT, Result, read_only_bwrap
from tests.suggest.test_rules import RULE

OLD = BUILDS / "debian-7.2.22-x86_64.json"


def _entry_before(path: Path, section: str, name: str) -> str:
    """The name of the entry just above where `name` sorts in `section`."""
    table = load_table(str(path))
    entries = table.info if section == "info" else table.commands
    return max(n for n in entries if n < name)


def _set_rationale(path: Path, section: str, name: str, block: str) -> None:
    """Give one entry a rationale written as the YAML block `block` (lines indented by 4)."""
    text = path.read_text()
    start = text.index(f"\n{section}:\n")
    key = re.compile(rf"(?m)^  {re.escape(name)}:\n(?:    .*\n)*").search(text, start)
    assert key is not None
    fields = [ln for ln in key[0].splitlines(keepends=True)[1:] if "rationale:" not in ln]
    entry = f"  {name}:\n" + "".join(fields) + block
    path.write_text(text[: key.start()] + entry + text[key.end() :])


@pytest.mark.parametrize(
    ("section", "name", "block", "rationale"),
    [
        # a `|` text whose last line starts with `#`: text, not a comment above the next entry
        (
            "commands",
            "sum",
            "    rationale: |\n      Sends a request.\n      # not a comment: text\n",
            "Sends a request.\n# not a comment: text\n",
        ),
        # `|+` keeps the blank lines after it: the section's end is after them
        ("info", "vnc", "    rationale: |+\n      Shows state.\n\n\n", "Shows state.\n\n\n"),
    ],
)
def test_sync_write_never_edits_the_text_of_the_entry_above(
    section: str,
    name: str,
    block: str,
    rationale: str,
    table_copy: Path,
    tmp_path: Path,
    cli: Callable[..., Result],
) -> None:
    drop_entry(table_copy, section, name)
    above = _entry_before(table_copy, section, name)
    _set_rationale(table_copy, section, above, block)
    before = load_table(str(table_copy))
    entries = before.info if section == "info" else before.commands
    assert entries[above].rationale == rationale.strip()  # the layout itself reads so

    result = cli(
        "sync", "--snapshot", OLD, "--table", table_copy, "--builds", tmp_path / "b", "--write"
    )
    assert result.status == 0, result.err
    after = load_table(str(table_copy), allow_todo=True)
    entries = after.info if section == "info" else after.commands
    assert entries[above].rationale == rationale.strip()
    assert block in table_copy.read_text()  # byte for byte, blank lines too
    assert (f"info {name}" if section == "info" else name) in after.todo


def test_sync_refuses_an_edit_that_would_change_a_decision(
    table_copy: Path, tmp_path: Path, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last guard: whatever the insertion does, a changed entry is never written."""
    import generator.app.sync

    real = generator.app.sync.insert_entries

    def careless(path: str, text: str, layout: object, section: str, entries: object) -> str:
        out = real(path, text, layout, section, entries)  # type: ignore[arg-type]
        return out.replace("Sends input events to the guest.", "Anything.", 1)

    drop_entry(table_copy, "commands", "sum")
    original = table_copy.read_bytes()
    monkeypatch.setattr(generator.app.sync, "insert_entries", careless)
    builds = tmp_path / "b"
    result = cli("sync", "--snapshot", OLD, "--table", table_copy, "--builds", builds, "--write")
    assert result.status == 2
    assert result.err.strip().endswith("sync would change entries it must keep; nothing written")
    assert table_copy.read_bytes() == original
    assert not builds.exists()


@pytest.mark.parametrize("null", ["null", "~", "NULL  # none decided yet"])
def test_sync_write_fills_an_info_section_written_as_null(
    null: str, table_copy: Path, tmp_path: Path, cli: Callable[..., Result]
) -> None:
    """`info: null` is a valid table (lint passes); sync must be able to stub into it."""
    text = table_copy.read_text()
    table_copy.write_text(text[: text.index("\ninfo:\n") + 1] + f"info: {null}\n")
    assert cli("lint", "--table", table_copy).status == 0

    result = cli(
        "sync", "--snapshot", OLD, "--table", table_copy, "--builds", tmp_path / "b", "--write"
    )
    assert result.status == 0, result.err
    after = table_copy.read_text()
    line = "info:   # none decided yet" if "#" in null else "info:"
    assert f"\n{line}\n  balloon:\n" in after
    assert after.startswith(text[: text.index("\ninfo:\n") + 1])
    assert "info balloon" in load_table(str(table_copy), allow_todo=True).todo


def test_sync_write_leaves_a_last_line_without_its_end_as_it_was(
    table_copy: Path, tmp_path: Path, cli: Callable[..., Result]
) -> None:
    """Stubs go above a closing comment; that comment keeps its missing newline."""
    drop_entry(table_copy, "info", "vnc")
    text = table_copy.read_text() + "# end of the table"
    table_copy.write_text(text)

    result = cli(
        "sync", "--snapshot", OLD, "--table", table_copy, "--builds", tmp_path / "b", "--write"
    )
    assert result.status == 0, result.err
    after = table_copy.read_text()
    assert after.endswith("\n# end of the table")


def test_sync_write_checks_every_record_before_writing_one(
    table_copy: Path, tmp_path: Path, cli: Callable[..., Result]
) -> None:
    """A record path taken by a directory is refused before any other record is written."""
    drop_entry(table_copy, "commands", "sum")
    original = table_copy.read_bytes()
    builds = tmp_path / "b"
    (builds / "debian-7.2.22-x86_64.json").mkdir(parents=True)
    arm = BUILDS / "debian-7.2.22-aarch64.json"
    args = ["sync", "--snapshot", arm, "--snapshot", OLD, "--table", table_copy, "--builds", builds]
    result = cli(*args, "--write")
    assert (result.status, result.out) == (2, "")
    assert (
        result.err
        == f"hmp-perms: {builds}/debian-7.2.22-x86_64.json: is a directory; name a file to write\n"
    )
    assert sorted(p.name for p in builds.iterdir()) == ["debian-7.2.22-x86_64.json"]
    assert table_copy.read_bytes() == original


def test_sync_write_to_a_table_in_a_read_only_folder_records_nothing(
    table_copy: Path, tmp_path: Path
) -> None:
    """The table cannot be written: no record is written either (a half-done sync)."""
    drop_entry(table_copy, "commands", "sum")
    original = table_copy.read_bytes()
    folder = table_copy.parent
    builds = tmp_path / "b"
    command = ["sync", "--snapshot", str(OLD), "--table", str(table_copy), "--builds", str(builds)]
    run = subprocess.run(
        [*read_only_bwrap(folder), sys.executable, "-m", "generator", *command, "--write"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (run.returncode, run.stdout) == (2, "")
    assert (
        run.stderr == f"hmp-perms: {table_copy}: cannot write in {folder}: Read-only file system\n"
    )
    assert not builds.exists()
    assert table_copy.read_bytes() == original


@pytest.mark.parametrize("schema", ["schema: 0x1\n", "schema: 1.0\n", "schema: [1]\n", ""])
def test_a_table_of_another_schema_is_refused_at_its_line(
    schema: str, tmp_path: Path, cli: Callable[..., Result]
) -> None:
    table = tmp_path / "t.yaml"
    table.write_text(schema + "levels:\n  none: {}\n  root: {}\ndefault: root\ncommands: {}\n")
    result = cli("lint", "--table", table)
    assert result.status != 0
    assert f"{table}:1: " in result.out + result.err


def test_a_build_of_unknown_version_is_refused_by_a_dry_run_too(
    table_copy: Path, tmp_path: Path, cli: Callable[..., Result]
) -> None:
    """A dry run promised a record `--write` then refused; `check` advised that sync."""
    snap = tmp_path / "s.json"
    made = cli("collect", "--from-text", FIXTURES / "qemu-7.2-x86_64.help.txt", "-o", snap)
    assert made.status == 0, made.err
    builds = tmp_path / "b"
    for write in ([], ["--write"]):
        result = cli("sync", "--snapshot", snap, "--table", table_copy, "--builds", builds, *write)
        assert (result.status, result.out) == (2, "")
        assert result.err == (
            f"hmp-perms: {FIXTURES}/qemu-7.2-x86_64.help.txt: cannot record a build whose QEMU version"
            " is unknown (give --qemu-version)\n"
        )
    assert not builds.exists()
    check = cli(
        "check", "--snapshot", snap, "--table", table_copy, "--builds", builds, "--format", "json"
    )
    assert "give --qemu-version" in check.out and "sync --write" not in check.out


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        # an empty word matched every command: each got this rule's level
        (RULE.replace("[host]", "[host, '']"), 4, "words holds an empty word"),
        (RULE.replace("[host]", "[' ']"), 4, "words holds an empty word"),
        # a reason is printed as one tab-separated line: a line break or ESC broke it
        (
            RULE.replace("reason: help speaks of the host ({match})", 'reason: "two\\nlines"'),
            6,
            "reason must be one line",
        ),
        (
            RULE.replace("reason: help speaks of the host ({match})", 'reason: "\\e[31mred"'),
            6,
            "reason holds the control character U+001B",
        ),
        # one mistake was said three times over
        (RULE + "    unless: 5\n", 7, "unless must be a mapping"),
        (RULE.replace("[host]", "host"), 4, "words must be a list"),
    ],
)
def test_a_rule_that_would_match_anything_or_print_raw_text_is_refused_once(
    tmp_path: Path, cli: Callable[..., Result], text: str, line: int, message: str
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n" + text)
    r = cli("suggest", "--rules", path, "cont")
    assert (r.status, r.out) == (2, "")
    assert r.err.startswith(f"hmp-perms: {path}:{line}: rule 'r1': {message}"), r.err
    assert r.err.count("\n") == 1, r.err


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        # `-o "$REPORT"` with REPORT unset printed the report and exited 0
        (("check", "--snapshot", OLD, "-o", ""), "-o"),
        # no records were read, so the build was checked against no baseline
        (("check", "--snapshot", OLD, "--builds", ""), "--builds"),
        (("collect", "--from-text", FIXTURES / "qemu-7.2-x86_64.help.txt", "-o", ""), "-o"),
        (("generate", "--check", "--out", ""), "--out"),
    ],
)
def test_an_empty_path_is_refused_not_read_as_no_option(
    args: tuple[object, ...], flag: str, cli: Callable[..., Result]
) -> None:
    r = cli(*args)
    assert (r.status, r.out) == (2, "")
    assert flag in r.err and r.err.rstrip().endswith("an empty path"), r.err


def test_sync_refusing_a_flow_style_section_names_its_line_in_the_file(
    table_copy: Path, tmp_path: Path, cli: Callable[..., Result]
) -> None:
    """The commands' stubs were added first, so the line named was that of a text never
    written (18 lines below `info: {}`)."""
    text = table_copy.read_text()
    table_copy.write_text(text[: text.index("\ninfo:\n") + 1] + "info: {}\n")
    drop_entry(table_copy, "commands", "sum")
    original = table_copy.read_bytes()
    line = original.decode().splitlines().index("info: {}") + 1
    result = cli(
        "sync", "--snapshot", OLD, "--table", table_copy, "--builds", tmp_path / "b", "--write"
    )
    assert (result.status, result.out) == (2, "")
    assert result.err.startswith(f"hmp-perms: {table_copy}:{line}: 'info' is written in flow")
    assert result.err.count("\n") == 1
    assert table_copy.read_bytes() == original


def test_sync_a_layout_the_stubs_would_break_is_refused_without_a_bogus_line(
    table_copy: Path, tmp_path: Path, cli: Callable[..., Result]
) -> None:
    """An explicit key (`? name`) is valid YAML; a stub above it was indented like its
    name and broke the text, and the error named a line of that unwritten text."""
    drop_entry(table_copy, "commands", "announce_self")
    text = table_copy.read_text().replace("\n  backup:\n", "\n  ? backup\n  :\n", 1)
    table_copy.write_text(text)
    assert cli("lint", "--table", table_copy).status == 0
    result = cli(
        "sync", "--snapshot", OLD, "--table", table_copy, "--builds", tmp_path / "b", "--write"
    )
    assert (result.status, result.out) == (2, "")
    assert result.err.startswith(f"hmp-perms: {table_copy}: with the stubs added the table")
    assert result.err.endswith("add the entries by hand; nothing written\n")
    assert result.err.count("\n") == 1
    assert table_copy.read_text() == text
    assert not (tmp_path / "b").exists()


def test_migrate_is_gone(cli: Callable[..., Result]) -> None:
    # Schema 1 tables and `migrate` were kept for a table no release ever shipped.
    result = cli("migrate", "--write")
    assert result.status == 2 and "invalid choice: 'migrate'" in result.err

"""Rewriting the table: sync adds lines and changes no other byte; the lock."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from generator.table.loader import load_table
from tests.check.test_compare import drop_entry, inherit_info
from tests.conftest import BUILDS, FIXTURES, ROOT, TABLE, Result, read_only_bwrap, records

OLD = BUILDS / "debian-7.2.22-x86_64.json"


def _crlf(text: str) -> str:
    return text.replace("\n", "\r\n")


def _four_spaces(text: str) -> str:
    return re.sub(r"(?m)^( +)", lambda m: m[1] * 2, text)


def _bom(text: str) -> str:
    return "\ufeff" + text


def _markers(text: str) -> str:
    return "---\n" + text + "...\n"


def _block_lists(text: str) -> str:
    return re.sub(r"(?m)^    aliases: \[(.*)\]$", lambda m: "    aliases:\n      - " + m[1], text)


def _tab_comment(text: str) -> str:
    return text.replace("default: root\n", "default: root\t# fail closed\n")


LAYOUTS = {
    "crlf": _crlf,
    "four spaces": _four_spaces,
    "byte-order mark": _bom,
    "document markers": _markers,
    "block lists": _block_lists,
    "tab before a comment": _tab_comment,
}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_sync_write_adds_lines_and_keeps_every_other_byte(
    layout: str, table_copy: Path, tmp_path: Path, cli: Callable[..., Result]
) -> None:
    drop_entry(table_copy, "commands", "sum")
    drop_entry(table_copy, "info", "usbhost")
    text = LAYOUTS[layout](table_copy.read_text())
    table_copy.write_bytes(text.encode())
    assert load_table(str(table_copy)).commands.keys()  # the layout itself is a valid table

    builds = records(tmp_path)
    result = cli("sync", "--snapshot", OLD, "--table", table_copy, "--builds", builds, "--write")
    assert result.status == 0, result.err
    after = table_copy.read_bytes().decode()
    eol = "\r\n" if layout == "crlf" else "\n"
    old_lines = text.split(eol)
    new_lines = after.split(eol)
    added = list(new_lines)
    for line in old_lines:  # every old line is kept, in order; what is left was added
        added.remove(line)
    assert [n for n in new_lines if n in old_lines] == [o for o in old_lines if o in new_lines]
    indent = "    " if layout == "four spaces" else "  "
    keys = [line for line in added if not line.startswith(indent * 2)]
    assert keys == [f"{indent}sum:", f"{indent}usbhost:"]
    assert added[0] == keys[0] and len(added) == 9  # the info stub says how it inherits
    assert "\r" not in after.replace("\r\n", "") and (
        layout != "crlf" or "\n" not in after.replace("\r\n", "")
    )
    stubbed = load_table(str(table_copy), allow_todo=True)
    assert set(stubbed.todo) == {"sum", "info usbhost"}
    assert (builds / OLD.name).read_text() == OLD.read_text()


def test_stub_keys_are_read_as_the_names_qemu_gave(
    table_copy: Path, tmp_path: Path, cli: Callable[..., Result]
) -> None:
    """Names YAML would read as booleans, nulls or numbers are quoted; odd text is made safe."""
    doc = json.loads(OLD.read_text())
    odd = ["on", "null", "1", "?x", "Yes", "e1", "0x1f"]
    doc["help"] += [f"{name}  -- an odd one # 'quoted' \"twice\" & more" for name in odd]
    snap = tmp_path / "odd.json"
    snap.write_text(json.dumps(doc))
    result = cli(
        "sync", "--snapshot", snap, "--table", table_copy, "--builds", records(tmp_path), "--write"
    )
    assert result.status == 0, result.err
    text = table_copy.read_text()
    assert set(load_table(str(table_copy), allow_todo=True).todo) == set(odd)
    strict_reader = YAML(typ="safe", pure=True)  # YAML 1.2, with type resolution
    commands = strict_reader.load(text)["commands"]
    assert set(odd) <= {k for k in commands if isinstance(k, str)}


def test_a_lone_surrogate_in_a_snapshot_is_refused(
    table_copy: Path, tmp_path: Path, cli: Callable[..., Result]
) -> None:
    doc = json.loads(OLD.read_text())
    doc["help"].append("odd  -- \ud800")
    snap = tmp_path / "odd.json"
    snap.write_text(json.dumps(doc))
    before = table_copy.read_bytes()
    result = cli(
        "sync", "--snapshot", snap, "--table", table_copy, "--builds", records(tmp_path), "--write"
    )
    assert (result.status, result.out) == (2, "")
    assert result.err == (
        f"hmp-perms: {snap}: help:{len(doc['help'])}: holds the control character U+D800,"
        " which no listing may hold\n"
    )
    assert table_copy.read_bytes() == before


def test_sync_refuses_a_section_it_cannot_edit_in_place(
    tmp_path: Path, cli: Callable[..., Result]
) -> None:
    table = tmp_path / "t.yaml"
    text = (
        "schema: 2\nlevels: {none: {}, root: {}}\ndefault: root\n"
        "commands: {help: {permission: none, rationale: lists commands},"
        " quit: {permission: root, rationale: ends the VM}}\n"
    )
    table.write_text(text)
    result = cli(
        "sync", "--snapshot", OLD, "--table", table, "--builds", records(tmp_path), "--write"
    )
    assert result.status == 2
    assert result.err == (
        f"hmp-perms: {table}:4: 'commands' is written in flow style ({{...}}); entries can only"
        " be added to a block mapping: rewrite it in block style\n"
    )
    assert table.read_text() == text and not any(records(tmp_path).iterdir())


def test_sync_on_a_current_table_changes_nothing(
    table_copy: Path, tmp_path: Path, cli: Callable[..., Result]
) -> None:
    before = table_copy.read_bytes()
    result = cli(
        "sync", "--snapshot", OLD, "--table", table_copy, "--builds", records(tmp_path), "--write"
    )
    assert result.status == 0
    assert not any(line.startswith("+") for line in result.out.splitlines())
    assert f"{table_copy}: unchanged" in result.out
    assert table_copy.read_bytes() == before


@pytest.mark.slow  # waits out a timeout or fuzzes: left out of the fast run
def test_concurrent_syncs_lose_nothing(table_copy: Path, tmp_path: Path) -> None:
    """Two `sync --write` at once, each adding its own stub: both stubs land, every time."""
    for name in ("sum", "xp"):
        drop_entry(table_copy, "commands", name)
    pristine = table_copy.read_text()
    snaps = []
    for keep in ("sum", "xp"):
        doc = json.loads(OLD.read_text())
        gone = "xp" if keep == "sum" else "sum"
        doc["help"] = [line for line in doc["help"] if not line.startswith(f"{gone} ")]
        path = tmp_path / f"{keep}.json"
        path.write_text(json.dumps(doc))
        snaps.append(path)
    for _ in range(6):
        table_copy.write_text(pristine)
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "generator",
                    "sync",
                    "--snapshot",
                    str(snap),
                    "--table",
                    str(table_copy),
                    "--builds",
                    str(records(tmp_path)),
                    "--write",
                ],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for snap in snaps
        ]
        for proc in procs:
            _, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
        assert set(load_table(str(table_copy), allow_todo=True).todo) == {"sum", "xp"}


SCHEMA_1 = """\
schema: 1
levels:
  none: {}
  root: {}
default: root
commands:
  help:
    permission: none
    params: ''
    rationale: lists commands
"""


def test_a_schema_1_table_is_refused_with_one_line(
    tmp_path: Path, cli: Callable[..., Result]
) -> None:
    table = tmp_path / "t.yaml"
    table.write_text(SCHEMA_1)
    result = cli("lint", "--table", table)
    assert result.status == 1
    assert result.out == f"{table}:1: schema '1' is not one this version reads (2)\n"


def test_the_committed_table_is_schema_2() -> None:
    assert re.search(r"(?m)^schema: 2$", TABLE.read_text())


def test_a_stub_carries_a_suggestion_and_is_still_no_decision(
    table_copy: Path, tmp_path: Path, cli: Callable[..., Result]
) -> None:
    drop_entry(table_copy, "commands", "dump-guest-memory")
    drop_entry(table_copy, "commands", "system_reset")
    result = cli(
        "sync", "--snapshot", OLD, "--table", table_copy, "--builds", records(tmp_path), "--write"
    )
    assert result.status == 0, result.err
    text = table_copy.read_text()
    dump = re.search(r"  dump-guest-memory:\n((?:    .*\n)+)", text)
    reset = re.search(r"  system_reset:\n((?:    .*\n)+)", text)
    assert dump is not None and reset is not None
    assert "    # suggested: root: params name a host path ('filename')\n" in dump[1]
    assert "    # suggested: Sys.Modify: " in reset[1]
    lint = cli("lint", "--table", table_copy)
    assert lint.status == 1
    assert "'dump-guest-memory': new in debian-7.2.22-x86_64" in lint.out
    out = tmp_path / "out"
    generate = cli("generate", "--table", table_copy, "--builds", records(tmp_path), "--out", out)
    assert (generate.status, generate.out) == (2, "")  # a stub is no decision to render
    assert "dump-guest-memory" in generate.err and not out.exists()


def test_a_stub_quotes_qemus_text_on_one_line_at_most_160_characters_unprintable_as_marks(
    table_copy: Path, tmp_path: Path, cli: Callable[..., Result]
) -> None:
    doc = json.loads(OLD.read_text())
    edge = "x" * 159 + "."  # quoted whole
    doc["help"] += ["zz_edge  -- " + edge, "zz_long a b -- over", "\t" + "two lines " * 20]
    doc["help"] += ["zz_odd  -- private \ue000, unassigned \u0378, no-break\u00a0space"]
    snap = tmp_path / "long.json"
    snap.write_text(json.dumps(doc))
    result = cli(
        "sync", "--snapshot", snap, "--table", table_copy, "--builds", records(tmp_path), "--write"
    )
    assert result.status == 0, result.err
    long = ("a b -- over " + "two lines " * 20)[:157] + "..."
    for name, quote in (("zz_edge", edge), ("zz_long", long)):
        assert len(quote) == 160
        assert f"+ {name}: stub added, awaiting a decision ({quote})\n" in result.out
        assert f"  {name}:\n    # QEMU debian-7.2.22-x86_64: {quote}\n" in table_copy.read_text()
    odd = "private ?, unassigned ?, no-break space"
    assert f"+ zz_odd: stub added, awaiting a decision ({odd})\n" in result.out


def test_sync_suggests_with_the_rules_the_config_names(
    table_copy: Path, tmp_path: Path, cli: Callable[..., Result]
) -> None:
    drop_entry(table_copy, "commands", "system_reset")
    rules = tmp_path / "elsewhere" / "rules.yaml"
    rules.parent.mkdir()
    rules.write_text(
        "rules:\n  - id: named\n    field: name\n    words: [system_reset]\n"
        "    level: none\n    reason: named in the config's rules\n"
    )
    config = tmp_path / "hmp-perms.toml"
    config.write_text(f'table = "{table_copy}"\nrules = "{rules}"\n')
    args = ("sync", "--config", config, "--snapshot", OLD, "--builds", records(tmp_path))
    result = cli(*args, "--write")
    assert result.status == 0, result.err
    assert "    # suggested: none: named in the config's rules\n" in table_copy.read_text()


def test_stubs_go_before_a_document_end_marker(tmp_path: Path, cli: Callable[..., Result]) -> None:
    """A table that ends with `...` and has no `info:`: the section was appended after
    the marker, where YAML reads no document, and the sync refused."""
    table = tmp_path / "t.yaml"
    head = "---\nschema: 2\nlevels:\n  none: {}\n  root: {}\ndefault: root\ncommands:\n"
    entries = "".join(
        f"  {name}:\n    permission: {level}\n    rationale: decided\n"
        for name, level in (("help", "none"), ("info", "none"), ("quit", "root"))
    )
    table.write_text(head + entries + "...\n")
    snapshot = tmp_path / "snap.json"
    help_text = tmp_path / "help.txt"
    help_text.write_text("help [cmd] -- show the help\ninfo [cmd] -- show\nquit  -- quit\n")
    info_text = tmp_path / "info.txt"
    info_text.write_text("info version  -- show the version\n")
    made = cli(
        "collect", "--from-text", help_text, "--info-text", info_text,
        "--qemu-version", "7.2.22", "-o", snapshot,
    )  # fmt: skip
    assert made.status == 0, made.err
    result = cli(
        "sync", "--snapshot", snapshot, "--table", table, "--builds", records(tmp_path), "--write"
    )
    assert result.status == 0, result.err
    text = table.read_text()
    assert text.startswith(head + entries) and text.endswith("...\n")
    assert text.index("info:\n  version:\n") < text.index("...\n")
    stubbed = load_table(str(table), allow_todo=True)
    assert set(stubbed.todo) == {"info version"}


def test_sync_composes_the_table_twice(
    table_copy: Path, tmp_path: Path, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parsed once to plan the stubs, once more to prove the result: no more."""
    import generator.core.yamlnodes as loader

    drop_entry(table_copy, "commands", "sum")
    drop_entry(table_copy, "info", "usbhost")
    calls: list[str] = []
    real = loader.compose

    def counted(path: str, text: str) -> object:
        calls.append(path)
        return real(path, text)

    monkeypatch.setattr(loader, "compose", counted)
    result = cli(
        "sync", "--snapshot", OLD, "--table", table_copy, "--builds", records(tmp_path), "--write"
    )
    assert result.status == 0, result.err
    assert calls.count(str(table_copy)) == 2, calls


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
        "sync", "--snapshot", OLD, "--table", table_copy, "--builds", records(tmp_path), "--write"
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
    builds = records(tmp_path)
    result = cli("sync", "--snapshot", OLD, "--table", table_copy, "--builds", builds, "--write")
    assert result.status == 2
    assert result.err.strip().endswith("sync would change entries it must keep; nothing written")
    assert table_copy.read_bytes() == original
    assert not any(builds.iterdir())


@pytest.mark.parametrize("null", ["null", "~", "NULL  # none decided yet"])
def test_sync_write_fills_an_info_section_written_as_null(
    null: str, table_copy: Path, tmp_path: Path, cli: Callable[..., Result]
) -> None:
    """`info: null` is a valid table (lint passes); sync must be able to stub into it."""
    text = table_copy.read_text()
    table_copy.write_text(text[: text.index("\ninfo:\n") + 1] + f"info: {null}\n")
    assert cli("lint", "--table", table_copy).status == 0

    result = cli(
        "sync", "--snapshot", OLD, "--table", table_copy, "--builds", records(tmp_path), "--write"
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
        "sync", "--snapshot", OLD, "--table", table_copy, "--builds", records(tmp_path), "--write"
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
    builds = records(tmp_path)
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


@pytest.mark.parametrize("failing", ["/bin/false", "qemu-system-nosuchtarget"])
def test_sync_write_changes_nothing_unless_every_build_answered(
    failing: str,
    qemu_x86: str,
    table_copy: Path,
    tmp_path: Path,
    cli: Callable[..., Result],
    private_tmp: Path,
) -> None:
    drop_entry(table_copy, "commands", "sum")  # the build that answers would add it
    original = table_copy.read_bytes()
    builds = records(tmp_path)
    args = ["--qemu", qemu_x86, "--qemu", failing, "--table", table_copy, "--builds", builds]
    result = cli("sync", *args, "--write")
    assert (result.status, result.out) == (2, "")
    assert result.err.startswith(f"hmp-perms: {failing}: "), result.err
    assert len(result.err.splitlines()) == 1, result.err
    assert table_copy.read_bytes() == original
    assert list(builds.iterdir()) == []


def test_sync_write_to_a_table_in_a_read_only_folder_records_nothing(
    table_copy: Path, tmp_path: Path
) -> None:
    """The table cannot be written: no record is written either (a half-done sync)."""
    drop_entry(table_copy, "commands", "sum")
    original = table_copy.read_bytes()
    folder = table_copy.parent
    builds = records(tmp_path)
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
    assert not any(builds.iterdir())
    assert table_copy.read_bytes() == original


def test_a_build_of_unknown_version_is_refused_by_a_dry_run_too(
    table_copy: Path, tmp_path: Path, cli: Callable[..., Result]
) -> None:
    """A dry run promised a record `--write` then refused; `check` advised that sync."""
    snap = tmp_path / "s.json"
    made = cli("collect", "--from-text", FIXTURES / "qemu-7.2-x86_64.help.txt", "-o", snap)
    assert made.status == 0, made.err
    builds = records(tmp_path)
    for write in ([], ["--write"]):
        result = cli("sync", "--snapshot", snap, "--table", table_copy, "--builds", builds, *write)
        assert (result.status, result.out) == (2, "")
        assert result.err == (
            f"hmp-perms: {FIXTURES}/qemu-7.2-x86_64.help.txt: cannot record a build whose QEMU version"
            " is unknown (give --qemu-version)\n"
        )
    assert not any(builds.iterdir())
    check = cli(
        "check", "--snapshot", snap, "--table", table_copy, "--builds", builds, "--format", "json"
    )
    assert "give --qemu-version" in check.out and "sync --write" not in check.out


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
        "sync", "--snapshot", OLD, "--table", table_copy, "--builds", records(tmp_path), "--write"
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
        "sync", "--snapshot", OLD, "--table", table_copy, "--builds", records(tmp_path), "--write"
    )
    assert (result.status, result.out) == (2, "")
    assert result.err.startswith(f"hmp-perms: {table_copy}: with the stubs added the table")
    assert result.err.endswith("add the entries by hand; nothing written\n")
    assert result.err.count("\n") == 1
    assert table_copy.read_text() == text
    assert not any(records(tmp_path).iterdir())


def test_an_info_stub_says_how_it_inherits(
    table_copy: Path, tmp_path: Path, cli: Callable[..., Result]
) -> None:
    drop_entry(table_copy, "info", "usbhost")
    result = cli(
        "sync", "--snapshot", OLD, "--table", table_copy, "--builds", records(tmp_path), "--write"
    )
    assert result.status == 0, result.err
    stub = re.search(r"  usbhost:\n((?:    .*\n)+)", table_copy.read_text())
    assert stub is not None
    assert (
        "    # a bare key inherits the level of `info`; give it `permission:` and `rationale:`"
        " to override\n" in stub[1]
    )
    assert "(+ a stub added to the table" in result.out  # the marks are explained


def test_under_inherit_sync_adds_no_info_stub(
    table_copy: Path, tmp_path: Path, cli: Callable[..., Result]
) -> None:
    inherit_info(table_copy)
    drop_entry(table_copy, "info", "usbhost")
    drop_entry(table_copy, "commands", "cont")
    args = ("sync", "--snapshot", OLD, "--table", table_copy, "--builds", records(tmp_path))
    result = cli(*args, "--write")
    assert result.status == 0, result.err
    assert "+ cont: stub added" in result.out and "usbhost" not in result.out
    assert "  usbhost:" not in table_copy.read_text()


def test_comments_indented_under_a_bare_key_stay_with_it(
    table_copy: Path, tmp_path: Path, cli: Callable[..., Result]
) -> None:
    drop_entry(table_copy, "info", "usbhost")  # its stub goes below usb, before usernet
    under = "  usb:\n    # QEMU 7.2: show guest USB devices\n"
    table_copy.write_text(table_copy.read_text().replace("  usb:\n", under, 1))
    args = ("sync", "--snapshot", OLD, "--table", table_copy, "--builds", records(tmp_path))
    assert cli(*args, "--write").status == 0
    text = table_copy.read_text()
    assert under + "  usbhost:\n" in text

"""Generation: goldens, the generated module's answers, Perl, QEMU itself, and injection."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st
from qemu.qmp import QMPClient

from generator.collect.launcher import QEMU_ARGS
from generator.collect.records import build_of, load_records
from generator.collect.snapshot import load_snapshot
from generator.core.model import Build, Snapshot, Table
from generator.generate.render import render_templates
from generator.table.loader import lint_table, load_table
from tests.conftest import BUILDS, GENERATED, ROOT, TABLE, TEMPLATES, TESTS, Result

GOLDEN = TESTS / "golden"
C_SPACE = " \t\n\v\f\r"


def load_module(path: Path, name: str = "hmp_perms_under_test") -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def perms() -> ModuleType:
    return load_module(GENERATED / "hmp_perms.py")


# -- goldens -----------------------------------------------------------------------


CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "table.yaml").exists())


@pytest.mark.parametrize("case", CASES)
def test_goldens(case: str, request: pytest.FixtureRequest) -> None:
    """Each template on small tables against tests/golden/CASE/; `make golden` rewrites them."""
    folder = GOLDEN / case
    table = load_table(str(folder / "table.yaml"))
    outputs = render_templates(table, str(TEMPLATES), golden_records(folder, table))
    assert sorted(outputs) == [
        "HMPPerms.pm",
        "hmp-commands.md",
        "hmp-perms-description.txt",
        "hmp_perms.py",
    ]
    if request.config.getoption("--update-goldens"):
        for name, content in outputs.items():
            (folder / name).write_text(content)
    for name, content in outputs.items():
        assert (folder / name).read_text() == content, f"{case}/{name} differs; run `make golden`"


def golden_records(folder: Path, table: Table) -> list[tuple[Build, Snapshot]]:
    """The recorded builds a golden case names in its builds.txt (none without one)."""
    listing = folder / "builds.txt"
    names = listing.read_text().split() if listing.exists() else []
    snaps = [load_snapshot(str(BUILDS / name)) for name in names]
    return [(build_of(s, table.vendors), s) for s in snaps]


def committed_outputs() -> dict[str, str]:
    table = load_table(str(TABLE))
    return render_templates(table, str(TEMPLATES), load_records(str(BUILDS), table.vendors))


def test_committed_outputs_are_current() -> None:
    """generated/ is the golden of the committed table (`hmp-perms generate --check` too)."""
    outputs = committed_outputs()
    assert sorted(outputs) == sorted(p.name for p in GENERATED.iterdir() if p.is_file())
    for name, content in outputs.items():
        assert (GENERATED / name).read_text() == content, f"{name} is stale; run `make generate`"


def test_golden_modules_answer_as_their_tables_say() -> None:
    minimal = load_module(GOLDEN / "minimal" / "hmp_perms.py", "golden_minimal")
    assert minimal.required_permission("info usbhost") == "root"  # the override
    assert minimal.required_permission("info status") == "none"
    assert minimal.required_permission("c") == "Sys.Modify"
    assert dict(minimal.DEPRECATED) == {"stopcapture": "", "wavcapture": "10.2"}
    assert dict(minimal.INFO_DEPRECATED) == {"capture": "10.2"}
    four = load_module(GOLDEN / "four-levels" / "hmp_perms.py", "golden_four")
    assert four.DESCRIPTION.splitlines()[2:5:2] == [
        "The following commands require 'Sys.Modify': q, quit, s, stop",
        "The following commands require 'VM.Monitor': p, print",
    ]
    assert "deprecated" not in four.DESCRIPTION
    inherit = load_module(GOLDEN / "inherit" / "hmp_perms.py", "golden_inherit")
    assert inherit.required_permission("info usbhost") == "Sys.Modify"  # the level of info
    assert minimal.required_permission("info nosuch") == "root"  # decide: fail closed


def test_output_is_deterministic_and_names_no_absolute_path(tmp_path: Path) -> None:
    copy = tmp_path / "data" / "hmp-commands.yaml"
    copy.parent.mkdir()
    shutil.copyfile(TABLE, copy)
    table = load_table(str(copy))
    first = render_templates(table, str(TEMPLATES), load_records(str(BUILDS), table.vendors))
    assert first == committed_outputs()
    for content in first.values():
        assert str(tmp_path) not in content and str(ROOT) not in content


def test_every_output_but_the_text_has_the_header() -> None:
    table = load_table(str(TABLE))
    for name, content in committed_outputs().items():
        if name.endswith(".txt"):
            assert content.startswith("The following commands do not require")
            continue
        prefix = "# "
        if name.endswith(".md"):  # one HTML comment, first thing in the file
            assert content.startswith("<!--\n")
            content, prefix = content.removeprefix("<!--\n").split("\n-->\n", 1)[0], ""
        lines = content.splitlines()
        if name.endswith(".pm"):  # Perl needs its package line first, Proxmox's `use` next
            assert lines[:4] == ["package PVE::API2::Qemu::HMPPerms;", "", "use v5.36;", ""]
            lines = lines[4:]
        assert lines[:2] == [
            f"{prefix}Generated by hmp-perms; do not edit.",
            f"{prefix}Change the table, then run: hmp-perms generate",
        ]
        assert f"{prefix}Table: data/hmp-commands.yaml" in lines
        assert f"{prefix}Table sha256: {table.digest}" in lines


# -- the generated module ----------------------------------------------------------


def test_module_answers_match_the_table(perms: ModuleType) -> None:
    table = load_table(str(TABLE))
    expected = {n: table.level_of(e) for e in table.commands.values() for n in e.names}
    assert dict(perms.PERMISSIONS) == expected
    for name, level in expected.items():
        assert perms.required_permission(name) == level
        if name != "info":  # `info some` asks for an unknown info subcommand
            assert perms.required_permission(f"  {name} some args") == level
    for name, entry in table.info.items():
        assert perms.INFO_PERMISSIONS[name] == table.level_of(entry)
        assert perms.required_permission(f"info {name}") == table.level_of(entry)
    assert perms.DEFAULT_PERMISSION == "root" == perms.LEVELS[-1]
    assert dict(perms.DEPRECATED) == {"stopcapture": "10.2", "wavcapture": "10.2"}
    assert dict(perms.INFO_DEPRECATED) == {"capture": "10.2"}


def test_module_mappings_are_read_only(perms: ModuleType) -> None:
    with pytest.raises(TypeError):
        perms.PERMISSIONS["quit"] = "none"
    with pytest.raises(TypeError):
        perms.INFO_PERMISSIONS["usbhost"] = "none"


@pytest.mark.parametrize(
    ("line", "name", "level"),
    [
        ("x/10i $pc", "x", "Sys.Modify"),
        ("\tinfo  usbhost", "info", "none"),
        ("info", "info", "none"),
        ("info   ", "info", "none"),
        ("info registers -a", "info", "none"),
        ("info nosuch", "info", "root"),
        ("info/x usbhost", "info", "root"),
        ("help?", "help?", "root"),
        ("?", "?", "none"),
        ("quit\x1c", "quit\x1c", "root"),  # \x1c is whitespace to Python, not to C
        ("quit\u00a0now", "quit\u00a0now", "root"),  # no-break space does not end a name
        ("\v\f\r\nc", "c", "Sys.Modify"),
        ("cont\x00; quit", "cont", "Sys.Modify"),  # QEMU reads a C string
        ("/10x 0", "", "root"),
        ("CONT", "CONT", "root"),
        ("a" * 300, "a" * 255, "root"),
        ("s" + " " * 300 + "x", "s", "Sys.Modify"),
    ],
)
def test_odd_lines(perms: ModuleType, line: str, name: str, level: str) -> None:
    assert perms.command_name(line) == name
    assert perms.required_permission(line) == level


@pytest.mark.parametrize("line", ["", "   ", "\t\n", "\x00quit", "  \x00 quit"])
def test_blank_lines(perms: ModuleType, line: str) -> None:
    with pytest.raises(ValueError, match="blank"):
        perms.command_name(line)
    assert perms.required_permission(line) == "root"


def qemu_get_command_name(line: str) -> str | None:
    """A direct transcription of get_command_name() in QEMU's monitor/hmp.c."""
    p = 0
    while p < len(line) and line[p] in C_SPACE:
        p += 1
    if p == len(line) or line[p] == "\0":
        return None
    start = p
    while p < len(line) and line[p] not in "\0/" and line[p] not in C_SPACE:
        p += 1
    return line[start:p][:255]


LINE = st.text(
    st.sampled_from(
        [*list(C_SPACE), "/", "\x00", "\x1c", "\xa0", "\u2003", "a", "b", "?", "-", "_", "1", "i"]
    ),
    max_size=40,
) | st.text(max_size=300)


@given(line=LINE)
def test_command_name_follows_qemu(perms: ModuleType, line: str) -> None:
    module = perms
    expected = qemu_get_command_name(line)
    if expected is None:
        with pytest.raises(ValueError):
            module.command_name(line)
    else:
        assert module.command_name(line) == expected


def test_module_imports_alone_in_a_bare_interpreter(tmp_path: Path) -> None:
    shutil.copyfile(GENERATED / "hmp_perms.py", tmp_path / "hmp_perms.py")
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import hmp_perms as h\n"
        "assert not any(m.split('.')[0] in ('generator', 'jinja2', 'ruamel', 'qemu') for m in sys.modules)\n"
        "print(h.required_permission('x/10i $pc'), h.required_permission('drive_add 0'),"
        " h.required_permission('help'), h.DESCRIPTION == h.generate_description())\n"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code, str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out == "Sys.Modify root none True\n"


def test_description_text_matches_the_module(perms: ModuleType) -> None:
    text = (GENERATED / "hmp-perms-description.txt").read_text()
    assert perms.DESCRIPTION == perms.generate_description() == text
    lines = text.split("\n")
    assert (
        lines[0]
        == "The following commands do not require any additional privilege: ?, clear, help, info"
    )
    assert lines[2].startswith("The following commands require 'Sys.Modify': announce_self, ")
    assert lines[4].startswith("The following commands are root-only: backup, block_stream, ")
    assert text.endswith("\n\nThe following commands are deprecated: stopcapture, wavcapture\n")


# -- Perl --------------------------------------------------------------------------


def test_perl_module_compiles(perl: str) -> None:
    result = subprocess.run(
        [perl, "-c", str(GENERATED / "HMPPerms.pm")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "syntax OK" in result.stderr


def perl_answers(perl: str, module: Path) -> tuple[str, dict[str, str]]:
    script = (
        "require $ARGV[0]; my $h = $PVE::API2::Qemu::HMPPerms::hmp_command_perms;"
        ' print join(\'\', map { "$_=$h->{$_}\\n" } sort keys %$h), "--\\n";'
        " print PVE::API2::Qemu::HMPPerms::generate_description();"
    )
    out = subprocess.run(
        [perl, "-e", script, str(module)], capture_output=True, text=True, check=True
    ).stdout
    pairs, description = out.split("--\n", 1)
    return description, dict(line.split("=", 1) for line in pairs.splitlines())


def test_perl_module_is_a_drop_in(perl: str, perms: ModuleType) -> None:
    description, table = perl_answers(perl, GENERATED / "HMPPerms.pm")
    assert description == (GENERATED / "hmp-perms-description.txt").read_text()
    assert table == dict(perms.PERMISSIONS)
    text = (GENERATED / "HMPPerms.pm").read_text()
    assert text.startswith("package PVE::API2::Qemu::HMPPerms;\n")
    assert "our $hmp_command_perms = {\n" in text


# -- against QEMU itself ------------------------------------------------------------


async def unknown_command_replies(binary: str, lines: list[str]) -> list[str]:
    folder = tempfile.mkdtemp(prefix="hmp-perms-test-")
    sock = os.path.join(folder, "qmp.sock")
    client = QMPClient("differential")
    await client.start_server(sock)
    proc = await asyncio.create_subprocess_exec(
        binary,
        *QEMU_ARGS,
        "-qmp",
        f"unix:{sock}",
        stdout=asyncio.subprocess.DEVNULL,
    )
    try:
        await asyncio.wait_for(client.accept(), 60)
        replies = []
        for line in lines:
            reply = await client.execute("human-monitor-command", {"command-line": line})
            replies.append(str(reply))
        return replies
    finally:
        await client.disconnect()
        proc.kill()
        await proc.wait()
        shutil.rmtree(folder, ignore_errors=True)


def random_lines(rng: random.Random, real: set[str], count: int) -> list[str]:
    spaces = [" ", "\t", "\n", "\v", "\f", "\r", "  "]
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789_-?.:,=+%#'\"\\$!\x1c\x1f\u00a0\u00e9\u2003"
    lines: list[str] = []
    while len(lines) < count:
        lead = "".join(rng.choice(spaces) for _ in range(rng.randrange(3)))
        length = rng.choice([0, 1, 2, 3, 5, 8, 20, 254, 255, 256, 300])
        chars = alphabet if length < 30 else alphabet[:40]  # long names stay ASCII
        name = "".join(rng.choice(chars) for _ in range(length))
        tail = rng.choice(["", "", "/10i $pc", "/x", " 0x1000", "\t-f arg", "/", " "])
        line = lead + name + tail
        expected = qemu_get_command_name(line)
        if expected is not None and expected.split("|")[0] in real:
            continue  # never run a real command
        lines.append(line)
    return lines


def test_command_name_agrees_with_qemu(qemu_x86: str, perms: ModuleType) -> None:
    from generator.app.collecting import gather_all
    from generator.app.settings import Sources

    (snap,) = gather_all(Sources(qemu=[qemu_x86], timeout=60))
    real = {n for e in snap.commands for n in e.names} | set(perms.PERMISSIONS)
    lines = random_lines(random.Random(20261126), real, 300)
    replies = asyncio.run(unknown_command_replies(qemu_x86, lines))
    checked = 0
    for line, reply in zip(lines, replies, strict=True):
        if qemu_get_command_name(line) is None:
            assert reply == "", (line, reply)  # QEMU ignores a blank line
            with pytest.raises(ValueError):
                perms.command_name(line)
            continue
        match = re.fullmatch(r"unknown command: '(.*)'\r?\n", reply, re.DOTALL)
        assert match, (line, reply)
        quoted = match.group(1).lstrip(C_SPACE)  # QEMU quotes from the line's start
        assert perms.command_name(line) == quoted[:255], (line, reply)
        assert perms.required_permission(line) == "root"
        checked += 1
    assert checked >= 250


# -- injection -----------------------------------------------------------------------

HOSTILE = [
    'it\'s "quoted" and \\back\\slashed',
    "line one\nimport os; os.system('touch PWNED')\n# line three",
    "{{ 7 * 7 }} and {% raw %} and {# not a comment #}",
    '\'\'\'""" ); die(\'x\'); print("""',
    "ends with a backslash \\",
    "a tab\there, ]]> and <!-- --> and `code` and [a](link) and *stars* and | pipes",
    "__END__\n=pod\n=cut",
]


def hostile_table(tmp_path: Path) -> Path:
    """A table whose text, and a recorded build whose help, try to break out of the outputs."""
    from ruamel.yaml import YAML

    yaml = YAML()
    doc = {
        "schema": 2,
        "levels": {"none": {}, "Sys.Modify": {}, "root": {}},
        "default": "root",
        "commands": {
            "help": {"permission": "none", "rationale": HOSTILE[0]},
            "cont": {"permission": "Sys.Modify", "aliases": ["c"], "rationale": HOSTILE[1]},
            "quit": {"permission": "Sys.Modify", "rationale": HOSTILE[2]},
            "drive_add": {"permission": "root", "rationale": HOSTILE[3]},
            "wavcapture": {
                "permission": "root",
                "rationale": HOSTILE[4],
                "deprecated": {"since": "10.2"},
            },
            "o": {"permission": "root", "rationale": HOSTILE[5]},
            "x": {"permission": "Sys.Modify", "rationale": HOSTILE[6]},
        },
        "info": {"usbhost": None},
    }
    folder = tmp_path / "we'''ird\"\"\"{{x}}"
    folder.mkdir()
    path = folder / "table.yaml"
    with path.open("w") as f:
        yaml.dump(doc, f)
    assert lint_table(str(path)) == []
    # A listing line holds printable text only (its load refuses the rest); all of that
    # may reach a comment.
    texts = [" ".join(re.split(r"[\r\n\t]", t)) for t in HOSTILE]
    names = ["help", "cont|c", "quit", "drive_add", "wavcapture", "o", "info"]
    record = {
        "format": 2,
        "binary": "qemu-system-x86_64",
        "variant": "qemu-system-x86_64",
        "version": "10.2.0",
        "package": "",
        "target": "x86_64",
        "help": sorted(f"{n}  -- {texts[i % len(texts)]}" for i, n in enumerate(names)),
        "info": ["info usbhost  -- " + texts[1]],
    }
    builds = folder / "builds"
    builds.mkdir()
    (builds / "upstream-10.2.0-x86_64.json").write_text(json.dumps(record))
    return path


def test_hostile_text_renders_harmlessly(tmp_path: Path, cli: Callable[..., Result]) -> None:
    table = hostile_table(tmp_path)
    out = tmp_path / "out"
    made = cli("generate", "--table", table, "--builds", table.parent / "builds", "--out", out)
    assert made.status == 0, made.err
    work = tmp_path / "work"
    work.mkdir()
    shutil.copyfile(out / "hmp_perms.py", work / "hmp_perms.py")
    code = (
        "import sys; sys.path.insert(0, '.'); import hmp_perms as h\n"
        "print(sorted(h.PERMISSIONS.items())); print(h.DESCRIPTION == open(sys.argv[1]).read())\n"
        "print(hasattr(h, 'PWNED'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", code, str(out / "hmp-perms-description.txt")],
        cwd=work,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "[('c', 'Sys.Modify'), ('cont', 'Sys.Modify'), ('drive_add', 'root'), ('help', 'none'),"
        " ('o', 'root'), ('quit', 'Sys.Modify'), ('wavcapture', 'root'), ('x', 'Sys.Modify')]",
        "True",
        "False",
    ]
    assert not (work / "PWNED").exists()
    payloads = ["import os", "PWNED = True", "die('x')", "{{ 7 * 7 }}", "=pod", "__END__", "return"]
    for name in ("hmp_perms.py", "HMPPerms.pm"):
        for line in (out / name).read_text().splitlines():
            for payload in payloads:
                if payload in line and not line.lstrip().startswith("return"):
                    # table text reaches the file only on comment lines
                    assert "#" in line.split(payload)[0], (name, line)


def test_hostile_text_in_perl(tmp_path: Path, perl: str, cli: Callable[..., Result]) -> None:
    table = hostile_table(tmp_path)
    out = tmp_path / "out"
    made = cli("generate", "--table", table, "--builds", table.parent / "builds", "--out", out)
    assert made.status == 0, made.err
    check = subprocess.run([perl, "-c", str(out / "HMPPerms.pm")], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    description, pairs = perl_answers(perl, out / "HMPPerms.pm")
    assert description == (out / "hmp-perms-description.txt").read_text()
    assert pairs == {
        "c": "Sys.Modify",
        "cont": "Sys.Modify",
        "drive_add": "root",
        "help": "none",
        "o": "root",
        "quit": "Sys.Modify",
        "wavcapture": "root",
        "x": "Sys.Modify",
    }


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("  cont:\n", '  "cont\'":\n', "is not a QEMU command name"),
        ("  root: {}\n", '  "ro\'ot": {}\n', "is not a plain name"),
        ("aliases: [c]", "aliases: ['c\"']", "is not a QEMU command name"),
    ],
)
def test_quotes_in_names_and_levels_are_rejected(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    from tests.table.test_loader import GOOD

    path = tmp_path / "t.yaml"
    path.write_text(GOOD.replace(old, new))
    assert any(message in p.message for p in lint_table(str(path)))


# -- generate and generate --check ----------------------------------------------------


def test_generate_then_check(tmp_path: Path, cli: Callable[..., Result]) -> None:
    out = tmp_path / "generated"
    first = cli("generate", "--out", out)
    templates = sorted(p.name for p in TEMPLATES.glob("[!_]*.j2"))
    assert first.status == 0 and len(first.out.splitlines()) == len(templates) == 4
    stamps = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    second = cli("generate", "--out", out)
    assert second.out == ""
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == stamps
    assert cli("generate", "--check", "--out", out).status == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(stamps)  # no temp file left


def test_check_reports_stale_missing_and_extra_without_touching(
    tmp_path: Path, cli: Callable[..., Result]
) -> None:
    out = tmp_path / "generated"
    cli("generate", "--out", out)
    module = out / "hmp_perms.py"
    module.write_text(module.read_text().replace("'quit': 'Sys.Modify'", "'quit': 'none'"))
    (out / "HMPPerms.pm").unlink()
    (out / "old.txt").write_text("left over\n")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    result = cli("generate", "--check", "--out", out)
    assert result.status == 1
    stale = ", ".join(f"{out}/{name}" for name in ("HMPPerms.pm", "hmp_perms.py", "old.txt"))
    assert result.err == f"hmp-perms: stale: {stale}; run: hmp-perms generate\n"
    assert "-    'quit': 'none',\n+    'quit': 'Sys.Modify',\n" in result.out
    assert f"--- /dev/null\n+++ b/{out}/HMPPerms.pm\n" in result.out
    assert f"--- a/{out}/old.txt\n+++ /dev/null\n" in result.out
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    refused = cli("generate", "--out", out)
    assert refused.status == 2 and "old.txt: no template makes it" in refused.err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # nothing written
    (out / "old.txt").unlink()
    assert cli("generate", "--out", out).status == 0
    assert cli("generate", "--check", "--out", out).status == 0


def test_a_new_template_is_a_new_output(tmp_path: Path, cli: Callable[..., Result]) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    (templates / "root-only.txt.j2").write_text(
        "{% for name, level in permissions if level == 'root' %}{{ name }}\n{% endfor %}"
    )
    out = tmp_path / "generated"
    assert cli("generate", "--templates", templates, "--out", out).status == 0
    names = (out / "root-only.txt").read_text().split()
    assert "drive_add" in names and "quit" not in names


def test_a_misspelt_variable_fails(tmp_path: Path, cli: Callable[..., Result]) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    (templates / "bad.txt.j2").write_text("line one\n{{ comands }}\n")
    result = cli("generate", "--templates", templates, "--out", tmp_path / "out")
    assert result.status == 2
    assert result.err == f"hmp-perms: {templates}/bad.txt.j2:2: 'comands' is undefined\n"
    assert not (tmp_path / "out").exists()


# -- PEP 263: no header may declare the module's source encoding ---------------------

# Each escapes a comment once the file is decoded with the codec it names.
ENCODING_PAYLOADS = (
    "a\\u000a    'quit': 'none',\\u000a    'pwned': __import__('os').mkdir('PWNED'),"
    " b\\x0a    'quit': 'none',\\x0a    'pwned2': __import__('os').mkdir('PWNED2'),"
    " c+AAo-    'quit': 'none',+AAo-    'pwned3': __import__('os').mkdir('PWNED3'),"
)


@pytest.mark.parametrize(
    "folder",
    [
        "coding:raw_unicode_escape",
        "coding=latin-1",
        "-*- coding: utf-7 -*-",
        "x coding: unicode_escape",
    ],
)
def test_no_table_path_or_text_declares_an_encoding(
    tmp_path: Path, cli: Callable[..., Result], folder: str
) -> None:
    from ruamel.yaml import YAML

    doc = {
        "schema": 2,
        "levels": {"none": {}, "root": {}},
        "default": "root",
        "commands": {
            "help": {"permission": "none", "rationale": "coding: raw_unicode_escape"},
            "quit": {"permission": "root", "rationale": "-*- coding: utf-7 -*-"},
            "x": {"permission": "root", "rationale": ENCODING_PAYLOADS},
        },
    }
    (tmp_path / folder).mkdir()
    table = tmp_path / folder / "coding=latin-1"
    with table.open("w") as f:
        YAML().dump(doc, f)
    out = tmp_path / "out"
    result = cli("generate", "--table", table, "--out", out)
    assert result.status == 0, result.err
    pep263 = re.compile(r"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)", re.ASCII)
    for name in ("hmp_perms.py", "HMPPerms.pm"):
        head = (out / name).read_text().splitlines()[:2]
        assert not any(pep263.match(line) for line in head), (name, head)
    work = tmp_path / "work"
    work.mkdir()
    shutil.copyfile(out / "hmp_perms.py", work / "hmp_perms.py")
    code = "import hmp_perms as h; print(dict(h.PERMISSIONS))"
    run = subprocess.run(
        [sys.executable, "-I", "-c", "import sys; sys.path.insert(0, '.'); " + code],
        cwd=work,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == "{'help': 'none', 'quit': 'root', 'x': 'root'}\n"
    assert sorted(p.name for p in work.iterdir()) == ["__pycache__", "hmp_perms.py"]


def test_a_template_that_would_declare_an_encoding_is_refused(
    tmp_path: Path, cli: Callable[..., Result], table_copy: Path
) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "bad.py.j2").write_text("{{ ('from ' ~ source) | comment }}\n")
    folder = tmp_path / "coding:raw_unicode_escape"
    table_copy.parent.rename(folder)
    table = folder / table_copy.name
    out = tmp_path / "out"
    result = cli("generate", "--table", table, "--templates", templates, "--out", out)
    assert (result.status, result.out) == (2, "")
    assert result.err.startswith(f"hmp-perms: {templates}/bad.py.j2: line 1 of its output would")
    assert len(result.err.splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize("line", [b"info", None, 5, ["info"]])
def test_only_str_lines_are_judged(perms: ModuleType, line: object) -> None:
    kind = type(line).__name__
    with pytest.raises(TypeError, match=rf"^required_permission\(\) takes a str, not {kind}$"):
        perms.required_permission(line)
    with pytest.raises(TypeError, match=rf"^command_name\(\) takes a str, not {kind}$"):
        perms.command_name(line)


def test_generated_holds_only_what_templates_make() -> None:
    """Nothing tracked under generated/ (no cache, no leftover) that no template renders."""
    expected = sorted(render_templates(load_table(str(TABLE)), str(TEMPLATES)))
    if (ROOT / ".git").exists():
        listed = subprocess.run(
            ["git", "ls-files", "generated/"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.split()
        tracked = sorted(name.removeprefix("generated/") for name in listed)
    else:  # an unpacked release: every file present must be an output
        tracked = sorted(p.name for p in GENERATED.iterdir() if p.name != "__pycache__")
    assert tracked == expected

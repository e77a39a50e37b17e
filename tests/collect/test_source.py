"""`collect --from-source`: what a target's build would list, read from small `.hx` trees
the tests write (nothing of QEMU's own is kept here; tests/collect/test_source_debian.py
reads Debian's source packages)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Result, one_error

CORE = """\
HXCOMM the commands every QEMU has
    {
        .name       = "help|?",
        .args_type  = "name:S?",
        .params     = "[cmd]",
        .help       = "show the help",
        .cmd        = hmp_help,
        .flags      = "p",
    },

SRST
``help`` [*cmd*]
#if this is documentation, not C
ERST

    {
        .name       = "info",
        .params     = "[subcommand]",
        .help       = "show various information about the system state",
        .sub_table  = hmp_info_cmds,
    },
    {
        .name       = "quit|q",
        .params     = "",
        .help       = "quit the emulator",
    },
"""
INFO = """\
/* BEGIN deprecated */
#if defined(TARGET_I386) || defined(TARGET_SH4) || \\
    defined(TARGET_PPC)
    {
        .name       = "tlb",
        .params     = "",
        .help       = "show virtual to physical memory mappings",
    },
#elif defined TARGET_S390X && !defined(CONFIG_SLIRP)
    {   .name = "skeys", .params = "address", .help = "Display the value of a storage key", },
#else
    {   .name = "other", .params = "", .help = "what the other targets have", },
#endif
    {
        .name       = "version",
        .params     = "",
        .help       = "show the version of QEMU",
    },
"""


def tree(folder: Path, commands: str = "", info: str = INFO, version: str = "10.2.50") -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "hmp-commands.hx").write_text(CORE + commands)
    (folder / "hmp-commands-info.hx").write_text(info)
    (folder / "VERSION").write_text(version + "\n")
    return folder


def listed(cli: Callable[..., Result], folder: Path, *args: str) -> dict[str, object]:
    """The snapshot `collect --from-source` writes for `folder`."""
    out = folder.parent / "snapshot.json"
    result = cli("collect", "--from-source", folder, "-o", out, *args)
    assert (result.status, result.err) == (0, ""), result.err
    doc: dict[str, object] = json.loads(out.read_text())
    return doc


NETDEV = """\
    {
        .name       = "netdev_add",
        .params     = "[user|tap"
#ifdef CONFIG_SLIRP
                      "|slirp"
#endif
                      "],id=str",
        .help       = "add host network device\\n\\t\\t\\t"
                      "(\\"quoted\\")",
    },
"""


def test_the_listing_is_what_help_prints_sorted_as_qemu_sorts(
    tmp_path: Path, cli: Callable[..., Result]
) -> None:
    folder = tree(tmp_path / "qemu", NETDEV)
    doc = listed(cli, folder, "--target", "x86_64")
    assert doc["help"] == [
        "help|? [cmd] -- show the help",
        "info [subcommand] -- show various information about the system state",
        "netdev_add [user|tap|slirp],id=str -- add host network device",
        '\t\t\t("quoted")',
        "quit|q  -- quit the emulator",
    ]
    assert doc["info"] == [
        "info tlb  -- show virtual to physical memory mappings",
        "info version  -- show the version of QEMU",
    ]
    assert (doc["version"], doc["target"], doc["variant"]) == (
        "10.2.50",
        "x86_64",
        "qemu-system-x86_64",
    )
    assert doc["binary"] == f"source:{folder}"  # it says it was read from source


@pytest.mark.parametrize(
    ("target", "defines", "info"),
    [
        ("ppc64", [], "tlb"),
        ("s390x", [], "other"),
        ("s390x", ["--define", "CONFIG_SLIRP=n"], "skeys"),
        ("aarch64", [], "other"),
    ],
)
def test_conditions_are_resolved_for_the_target_and_its_config(
    tmp_path: Path, cli: Callable[..., Result], target: str, defines: list[str], info: str
) -> None:
    doc = listed(cli, tree(tmp_path / "qemu"), "--target", target, *defines)
    assert [line.split()[1] for line in doc["info"]] == [info, "version"]  # type: ignore[attr-defined]


def test_qemu_version_and_package_name_the_build(
    tmp_path: Path, cli: Callable[..., Result]
) -> None:
    folder = tree(tmp_path / "qemu")
    package = "pve-qemu-kvm 10.2.50-1"
    doc = listed(cli, folder, "--qemu-version", "10.2.1", "--package", package)
    assert (doc["version"], doc["package"]) == ("10.2.1", package)
    result = cli("check", "--snapshot", tmp_path / "snapshot.json", "--format", "json")
    (build,) = json.loads(result.out)["builds"]
    assert build["build"] == "pve-10.2.1-x86_64"


def test_a_new_command_fails_check_naming_it_with_a_suggestion(
    tmp_path: Path, cli: Callable[..., Result]
) -> None:
    new = '    { .name = "dump_keys", .params = "filename", .help = "write the keys to a file" },\n'
    listed(cli, tree(tmp_path / "qemu", new))
    result = cli("check", "--snapshot", tmp_path / "snapshot.json", "--format", "json")
    assert result.status == 1, result.out + result.err
    (finding,) = [f for f in json.loads(result.out)["findings"] if f["severity"] == "error"]
    assert (finding["kind"], finding["name"]) == ("unassigned-command", "dump_keys")
    assert "suggested level: root (params name a host path ('filename'))" in finding["hint"]


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("#if CONFIG_NEW > 1", "#if CONFIG_NEW > 1: cannot be evaluated"),
        ("#if defined(CONFIG_NEW)", "#if defined(CONFIG_NEW): CONFIG_NEW is not a name"),
        ("#ifdef TARGET_NEW", "#ifdef TARGET_NEW: TARGET_NEW is not a name"),
        ("#if (defined(CONFIG_SLIRP)", "#if (defined(CONFIG_SLIRP): cannot be evaluated"),
        ("#if", "#if: cannot be evaluated"),
        ("#include <stdio.h>", "#include <stdio.h>: a directive this reader does not follow"),
        ("#endif", "#endif: a directive this reader does not follow"),
    ],
)
def test_a_condition_the_reader_cannot_evaluate_is_exit_2_naming_its_line(
    tmp_path: Path, cli: Callable[..., Result], condition: str, message: str
) -> None:
    folder = tree(tmp_path / "qemu", f"{condition}\n#endif\n" if "#if" in condition else condition)
    result = cli("collect", "--from-source", folder)
    line = CORE.count("\n") + 1
    assert (result.status, result.out) == (2, "")
    assert result.err.startswith(f"hmp-perms: {folder}/hmp-commands.hx:{line}: {message}")


def test_define_sets_a_name_the_table_does_not_know(
    tmp_path: Path, cli: Callable[..., Result]
) -> None:
    new = '#ifdef CONFIG_NEW\n    { .name = "new", .params = "", .help = "new" },\n#endif\n'
    folder = tree(tmp_path / "qemu", new)
    on = listed(cli, folder, "--define", "CONFIG_NEW=y")
    assert "new  -- new" in on["help"]  # type: ignore[operator]
    off = listed(cli, folder, "--define", "CONFIG_NEW=n")
    assert "new  -- new" not in off["help"]  # type: ignore[operator]
    bad = cli("collect", "--from-source", folder, "--define", "CONFIG_NEW")
    assert bad.err == "hmp-perms: --define CONFIG_NEW: CONFIG_NAME=y or CONFIG_NAME=n expected\n"


@pytest.mark.parametrize(
    "entry",
    [
        '{ .name = "evil", .params = "", .help = "\x1b[2Jcleared" },',
        '{ .name = "evil", .params = "", .help = "right\u202eleft" },',
        '{ .name = "evil;rm -rf", .params = "", .help = "shell" },',
        '{ .name = "evil", .params = "", .help = "octal \\033[2J" },',
        '{ .name = "evil", .help = "no params" },',
        '{ .name = "evil", .params = "", .help = "unclosed" },\n"stray"',
    ],
)
def test_hostile_hx_text_is_refused_naming_its_line(
    tmp_path: Path, cli: Callable[..., Result], entry: str
) -> None:
    """The `.hx` text is QEMU's: what no QEMU could print is refused at its line, and
    nothing of it reaches the terminal raw."""
    folder = tree(tmp_path / "qemu", entry + "\n")
    result = cli("collect", "--from-source", folder)
    assert (result.status, result.out) == (2, "")
    assert result.err.startswith(f"hmp-perms: {folder}/hmp-commands.hx:")
    assert "\x1b" not in result.err and "\u202e" not in result.err


def test_markup_in_hx_text_is_escaped_like_what_qemu_prints(
    tmp_path: Path, cli: Callable[..., Result]
) -> None:
    new = '{ .name = "dump_keys", .params = "filename", .help = "<b>|`x`|</b>" },\n'
    listed(cli, tree(tmp_path / "qemu", new))
    result = cli("check", "--snapshot", tmp_path / "snapshot.json", "--format", "markdown")
    assert result.status == 1
    assert "<b>" not in result.out and "|`x`|" not in result.out


def test_from_source_excludes_a_live_qemu_and_saved_text(
    tmp_path: Path, cli: Callable[..., Result]
) -> None:
    folder = tree(tmp_path / "qemu")
    live = cli("collect", "--from-source", folder, "--qemu", "qemu-system-x86_64")
    assert live.status == 2 and "exclude --qemu" in live.err
    text = cli("collect", "--from-source", folder, "--variant", "qemu-system-x86_64-microvm")
    assert text.status == 2 and "--from-source excludes" in text.err
    define = cli("collect", "--define", "CONFIG_SLIRP=n", "--qemu", "qemu-system-x86_64")
    assert (
        define.status == 2
        and define.err == "hmp-perms: collect: --define: only with --from-source\n"
    )


@pytest.mark.parametrize("planted", ["link", "fifo"])
def test_a_tree_file_that_is_no_regular_file_is_refused_and_not_followed(
    tmp_path: Path, cli: Callable[..., Result], planted: str
) -> None:
    """The tree is QEMU's text, untrusted: VERSION linked to a secret would print it in
    the error, a FIFO would hang the run."""
    folder = tree(tmp_path / "qemu")
    secret = tmp_path / "secret"
    secret.write_text("TOKEN=hunter2\n")
    (folder / "VERSION").unlink()
    if planted == "link":
        (folder / "VERSION").symlink_to(secret)
    else:
        os.mkfifo(folder / "VERSION")
    result = cli("collect", "--from-source", folder, "--target", "x86_64")
    expected = "a symbolic link" if planted == "link" else "not a regular file"
    one_error(result, f"{folder}/VERSION", expected)
    assert "hunter2" not in result.err


def test_a_version_file_that_holds_no_version_is_not_repeated(
    tmp_path: Path, cli: Callable[..., Result]
) -> None:
    folder = tree(tmp_path / "qemu", version="TOKEN=hunter2")
    one_error(cli("collect", "--from-source", folder, "--target", "x86_64"), "not a QEMU version")
    assert "hunter2" not in cli("collect", "--from-source", folder, "--target", "x86_64").err

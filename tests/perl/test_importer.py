"""import-perl against the real perl: it imports what Perl sees, or refuses the file."""

from __future__ import annotations

import os
import subprocess
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from generator.table.loader import load_table
from tests.conftest import GENERATED, TABLE, Result
from tests.proxmox_levels import PROXMOX_LEVELS

# Prints the hash named by its package as "name<TAB>level" lines, or UNDEFINED.
DRIVER = r"""
use strict;
my ($file, $package) = @ARGV;
my $ok = do $file;
die "compile: $@" if $@;
no strict 'refs';
my $perms = ${"${package}::hmp_command_perms"};
if (ref($perms) ne 'HASH') { print "UNDEFINED\n"; exit 0; }
print "$_\t$perms->{$_}\n" for sort keys %$perms;
"""

HEAD = "package Hostile;\nuse strict;\nuse warnings;\n\n"
HASH = (
    "our $hmp_command_perms = {\n"
    "    help => 'none', # show the help\n"
    "    # reads state\n"
    "    info => 'none',\n"
    "    quit => 'root',\n"
    "};\n"
)
TAIL = "\n1;\n"
FAKE = "our $hmp_command_perms = {\n    migrate => 'none',\n    logfile => 'none',\n};\n"


def hidden_by_separator(sep: str) -> str:
    """A comment that some splitters would end early, ahead of an entry Perl never sees."""
    return HASH.replace(
        "    # reads state\n",
        f"    # reads state{sep}    migrate => 'none', gdbserver => 'none',\n",
    )


HOSTILE = {
    "plain": HEAD + HASH + TAIL,
    "vertical-tab": HEAD + hidden_by_separator("\v") + TAIL,
    "form-feed": HEAD + hidden_by_separator("\f") + TAIL,
    "file-separator": HEAD + hidden_by_separator("\x1c") + TAIL,
    "next-line": HEAD + hidden_by_separator("\x85") + TAIL,
    "line-separator": HEAD + hidden_by_separator("\u2028") + TAIL,
    "paragraph-separator": HEAD + hidden_by_separator("\u2029") + TAIL,
    "crlf": (HEAD + HASH + TAIL).replace("\n", "\r\n"),
    "other-hash-first": HEAD + FAKE.replace("hmp_command_perms", "other") + HASH + TAIL,
    "after-end": HEAD + HASH + TAIL + "__END__\n" + FAKE,
    "after-data": HEAD + HASH + TAIL + "__DATA__\n" + FAKE,
    "in-pod": HEAD + "=pod\n\n" + FAKE + "\n=cut\n\n" + HASH + TAIL,
    "in-pod-head": HEAD + "=head1 OLD\n\n" + FAKE + "\n=cut\n\n" + HASH + TAIL,
    "only-in-pod": HEAD + "=pod\n\n" + FAKE + "\n=cut\n" + TAIL,
    "in-heredoc": HEAD + "my $doc = <<'EOT';\n" + FAKE + "EOT\n" + HASH + TAIL,
    "in-heredoc-quoted": HEAD
    + 'our $hmp_command_perms;\nmy $doc = <<"EOT";\n'
    + FAKE
    + "EOT\n"
    + HASH
    + TAIL,
    "in-heredoc-indented": HEAD
    + "my $doc = <<~'EOT';\n"
    + textwrap.indent(FAKE, "  ")
    + "  EOT\n"
    + HASH
    + TAIL,
    "only-in-heredoc": HEAD + "my $doc = <<EOT;\n" + FAKE + "EOT\n" + TAIL,
    "changed-later": HEAD + HASH + "$hmp_command_perms->{migrate} = 'none';\n" + TAIL,
    "deleted-later": HEAD + HASH + "delete $hmp_command_perms->{quit};\n" + TAIL,
    "defined-twice": HEAD + HASH + FAKE.replace("our ", "") + TAIL,
    "redeclared": HEAD + HASH + FAKE + TAIL,
    "pod-inside": HEAD + HASH.replace("    quit", "=pod\n\n=cut\n    quit") + TAIL,
    "end-inside": HEAD + HASH.replace("    quit", "__END__\n    quit") + TAIL,
    "double-quoted-level": HEAD + HASH.replace("'root'", '"root"') + TAIL,
    "odd-space": HEAD + HASH.replace("    quit", "\x1c   quit") + TAIL,
}


def perl_hash(perl: str, path: Path, package: str) -> dict[str, str] | None:
    """What Perl itself holds in the hash after compiling `path`; None if undefined."""
    run = subprocess.run([perl, "-e", DRIVER, str(path), package], capture_output=True, timeout=60)
    if run.returncode != 0:
        return None  # Perl cannot compile it: no hash to match
    out = run.stdout.decode("utf-8", "surrogateescape")
    if out == "UNDEFINED\n":
        return None
    return dict(line.split("\t", 1) for line in out.splitlines())


def imported_hash(cli: Callable[..., Result], source: Path, out: Path) -> dict[str, str] | None:
    result = cli("import-perl", source, "-o", out)
    if result.status != 0:
        assert result.status == 2 and result.out == ""
        assert len(result.err.splitlines()) == 1 and "Traceback" not in result.err
        return None
    table = load_table(str(out))
    return {n: table.level_of(e) for e in table.commands.values() for n in e.names}


@pytest.mark.perl
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_import_perl_sees_what_perl_sees(
    tmp_path: Path, perl: str, cli: Callable[..., Result], case: str
) -> None:
    source = tmp_path / "Hostile.pm"
    source.write_bytes(HOSTILE[case].encode("utf-8"))
    ours = imported_hash(cli, source, tmp_path / "out.yaml")
    theirs = perl_hash(perl, source, "Hostile")
    # Refusing is always allowed; importing something Perl does not hold never is.
    if ours is not None:
        assert ours == theirs
    assert "migrate" not in (ours or {}) and "logfile" not in (ours or {})


@pytest.mark.perl
def test_the_generated_perl_module_imports_back_to_the_table(
    tmp_path: Path, cli: Callable[..., Result]
) -> None:
    """The module `generate` writes, read back: every command, alias, level and rationale
    of the table (its info subcommands, vendors and marks are not in Proxmox's format)."""
    out = tmp_path / "table.yaml"
    result = cli("import-perl", GENERATED / "HMPPerms.pm", "-o", out)
    assert (result.status, result.err) == (0, ""), result.err
    table, back = load_table(str(TABLE)), load_table(str(out))
    assert {
        name: (table.level_of(e), e.aliases, " ".join(e.rationale.split()))
        for name, e in table.commands.items()
    } == {name: (back.level_of(e), e.aliases, e.rationale) for name, e in back.commands.items()}


@pytest.mark.perl
def test_the_plain_cases_import(tmp_path: Path, cli: Callable[..., Result]) -> None:
    """The cases whose text Perl never runs are imported, not merely refused."""
    expected = {"help": "none", "info": "none", "quit": "root"}
    refused = []
    for case in ("plain", "crlf", "vertical-tab", "line-separator", "other-hash-first",
                 "after-end", "after-data", "in-pod", "in-pod-head", "in-heredoc",
                 "in-heredoc-quoted", "in-heredoc-indented"):  # fmt: skip
        source = tmp_path / f"{case}.pm"
        source.write_bytes(HOSTILE[case].encode("utf-8"))
        if imported_hash(cli, source, tmp_path / f"{case}.yaml") != expected:
            refused.append(case)
    assert refused == []


def proxmox_module() -> str:
    """A module in the layout of Proxmox's HMPPerms.pm, with its 119 names and levels."""
    lines = [
        "package PVE::API2::Qemu::HMPPerms;",
        "",
        "use strict;",
        "use warnings;",
        "",
        "# List of monitor commands and associated required permission.",
        "our $hmp_command_perms = {",
    ]
    for name, level in sorted(PROXMOX_LEVELS.items()):
        key = name if name.isidentifier() else f"'{name}'"
        lines.append(f"    {key} => '{level}', # the {name} command")
    lines += [
        "};",
        "",
        "sub generate_description {",
        "    my $cmd_by_priv = {};",
        "    for my $cmd (sort keys $hmp_command_perms->%*) {",
        "        push $cmd_by_priv->{$hmp_command_perms->{$cmd}}->@*, $cmd;",
        "    }",
        "    return $cmd_by_priv;",
        "}",
        "",
        "1;",
        "",
    ]
    return "\n".join(lines)


@pytest.mark.perl
def test_proxmox_layout_imports_as_perl_reads_it(
    tmp_path: Path, perl: str, cli: Callable[..., Result]
) -> None:
    source = tmp_path / "HMPPerms.pm"
    source.write_text(proxmox_module())
    ours = imported_hash(cli, source, tmp_path / "out.yaml")
    assert ours == perl_hash(perl, source, "PVE::API2::Qemu::HMPPerms") == PROXMOX_LEVELS


@pytest.mark.perl
def test_real_proxmox_patch(tmp_path: Path, perl: str, cli: Callable[..., Result]) -> None:
    """Proxmox's own module, cut from its patch mail (pve-devel, July 2025) when it is at hand."""
    patch = os.environ.get("HMP_PERMS_PVE_PATCH")
    if not patch:
        pytest.skip("set HMP_PERMS_PVE_PATCH to the patch adding PVE/API2/Qemu/HMPPerms.pm")
    text = Path(patch).read_text(encoding="utf-8")
    start = text.index("+++ b/src/PVE/API2/Qemu/HMPPerms.pm")
    body = text[text.index("\n@@", start) :].split("\n")[2:]
    module = []
    for line in body:
        if not line.startswith("+"):
            break
        module.append(line[1:])
    source = tmp_path / "HMPPerms.pm"
    source.write_text("\n".join(module) + "\n")
    ours = imported_hash(cli, source, tmp_path / "out.yaml")
    assert ours == perl_hash(perl, source, "PVE::API2::Qemu::HMPPerms") == PROXMOX_LEVELS
